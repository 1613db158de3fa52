/* SPDX-License-Identifier: MIT */
/*
 * test-maps.c - the /proc/PID/maps parser and the look-ups over it:
 * fields, anonymous and special mappings, paths with spaces and
 * " (deleted)", malformed lines, maps_find at boundaries, and gap finding
 * (near a library, never right above the heap, within reach).
 */
#include <errno.h>
#include <string.h>

#include "leaktrap/maps.h"
#include "test.h"

static const char *sample =
	"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1311 /usr/bin/app\n"
	"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1311 /usr/bin/app\n"
	"55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7f1000000000-7f1000028000 r--p 00000000 fe:01 77 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1000028000-7f100017d000 r-xp 00028000 fe:01 77 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1000200000-7f1000201000 rw-s 00000000 00:05 9 /dev/shm/my file (deleted)\n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";

static void test_fields(void)
{
	struct maps m;
	TEST_ASSERT(maps_parse(sample, &m) == 0);
	TEST_ASSERT_EQ_U64(m.n, 8);
	TEST_ASSERT_EQ_U64(m.v[1].start, 0x55d0c0a01000ULL);
	TEST_ASSERT_EQ_U64(m.v[1].end, 0x55d0c0a02000ULL);
	TEST_ASSERT_EQ_U64(m.v[1].offset, 0x1000);
	TEST_ASSERT_EQ_U64(m.v[1].inode, 1311);
	TEST_ASSERT_EQ_U64(m.v[1].prot, MAP_R | MAP_X);
	TEST_ASSERT_STREQ(m.v[1].path, "/usr/bin/app");
	TEST_ASSERT_STREQ(m.v[2].path, "[heap]");
	TEST_ASSERT_EQ_U64(m.v[2].prot, MAP_R | MAP_W);
	TEST_ASSERT_STREQ(m.v[5].path, "/dev/shm/my file (deleted)");
	TEST_ASSERT_EQ_U64(m.v[5].prot, MAP_R | MAP_W | MAP_SHARED_);
	TEST_ASSERT(strstr(m.text, "[vsyscall]") != NULL);
	maps_release(&m);
	TEST_ASSERT(m.n == 0 && m.v == NULL);
}

static void test_anonymous(void)
{
	struct maps m;
	TEST_ASSERT(maps_parse("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n", &m) == 0);
	TEST_ASSERT_EQ_U64(m.n, 1);
	TEST_ASSERT(m.v[0].path == NULL);
	maps_release(&m);
	TEST_ASSERT(maps_parse("", &m) == 0);
	TEST_ASSERT_EQ_U64(m.n, 0);
	maps_release(&m);
}

static void test_malformed(void)
{
	static const char *bad[] = {
		"garbage\n",
		"1000-2000 r-xp\n",
		"2000-1000 r-xp 00000000 00:00 0 /x\n",          /* end before start */
		"1000-2000 r-xpq 00000000 00:00 0 /x\n",          /* 5 permission chars */
		"1000-2000 r-xp 00000000 00:00 0 /ok\nbad line\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct maps m = { .n = 12345 };
		TEST_ASSERT(maps_parse(bad[i], &m) == -EINVAL);
		TEST_ASSERT_EQ_U64(m.n, 12345);          /* canary: untouched */
	}
}

static void test_find(void)
{
	struct maps m;
	TEST_ASSERT(maps_parse(sample, &m) == 0);
	TEST_ASSERT(maps_find(&m, 0x55d0c0a01000ULL) == &m.v[1]);
	TEST_ASSERT(maps_find(&m, 0x55d0c0a01fffULL) == &m.v[1]);
	TEST_ASSERT(maps_find(&m, 0x55d0c0a00fffULL) == &m.v[0]);
	TEST_ASSERT(maps_find(&m, 0x55d0c0a02000ULL) == NULL);
	TEST_ASSERT(maps_find(&m, 0x1000) == NULL);
	TEST_ASSERT(maps_find(&m, 0xffffffffff600010ULL) == &m.v[7]);
	maps_release(&m);
}

static void test_gap(void)
{
	struct maps m;
	const uint64_t reach = 1ULL << 30;
	TEST_ASSERT(maps_parse(sample, &m) == 0);
	/* near libc: the page right below it */
	uint64_t g = maps_find_gap(&m, 0x7f1000030000ULL, 0x7f1000030001ULL, 4096, reach);
	TEST_ASSERT_EQ_U64(g, 0x7f1000000000ULL - 4096);
	/* near the executable's end: the gap between it and the heap */
	g = maps_find_gap(&m, 0x55d0c0a01000ULL, 0x55d0c0a01001ULL, 4096, reach);
	TEST_ASSERT_EQ_U64(g, 0x55d0c0a02000ULL);
	/* near the heap's end: never right above the heap (brk grows there) */
	g = maps_find_gap(&m, 0x55d0c1a20000ULL, 0x55d0c1a20001ULL, 4096, reach);
	TEST_ASSERT_EQ_U64(g, 0x55d0c1a00000ULL - 4096);
	/* nothing within a tiny reach when the neighbours are mapped */
	g = maps_find_gap(&m, 0x7f1000030000ULL, 0x7f1000030001ULL, 4096, 4096);
	TEST_ASSERT_EQ_U64(g, 0);
	maps_release(&m);
}

int main(void)
{
	test_fields();
	test_anonymous();
	test_malformed();
	test_find();
	test_gap();
	return test_summary();
}
