/* SPDX-License-Identifier: MIT */
/*
 * test-ehframe.c - .eh_frame_hdr header parsing: the usual encodings
 * (what GNU ld and lld emit), other fixed-size ones, every refusal
 * (version, table encoding, omitted count or table, LEB128 and indirect
 * encodings, truncation, a table larger than its segment) with a canary
 * proving the output is untouched, and the headers of this test program
 * and of libc as loaded, whose tables must find the FDE of known code.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/ehframe.h"
#include "test.h"

static const struct ehframe_table canary = { 0xdead, 0xbeef, 0xcafe, 0xf00d };

static int parse(const uint8_t *buf, size_t len, uint64_t hdr, uint64_t seg,
		 struct ehframe_table *t)
{
	*t = canary;
	int r = ehframe_parse_hdr(buf, len, hdr, seg, t);
	if (r < 0)
		TEST_ASSERT(!memcmp(t, &canary, sizeof(*t)));
	return r;
}

static void test_gnu_ld(void)
{
	/* what GNU ld writes: version 1, pcrel|sdata4 eh_frame_ptr,
	 * udata4 fde_count, datarel|sdata4 table */
	static const uint8_t hdr[] = {
		0x01, 0x1b, 0x03, 0x3b,
		0x30, 0x01, 0x00, 0x00,     /* eh_frame = hdr + 4 + 0x130 */
		0x03, 0x00, 0x00, 0x00,     /* 3 FDEs */
	};
	struct ehframe_table t;
	TEST_ASSERT(parse(hdr, sizeof(hdr), 0x2000, 12 + 3 * 8, &t) == 0);
	TEST_ASSERT_EQ_U64(t.hdr, 0x2000);
	TEST_ASSERT_EQ_U64(t.eh_frame, 0x2000 + 4 + 0x130);
	TEST_ASSERT_EQ_U64(t.table, 0x200c);
	TEST_ASSERT_EQ_U64(t.fde_count, 3);
	/* a negative pc-relative offset: .eh_frame below the header */
	static const uint8_t below[] = {
		0x01, 0x1b, 0x03, 0x3b, 0xfc, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
	};
	TEST_ASSERT(parse(below, sizeof(below), 0x7f0000001000, 20, &t) == 0);
	TEST_ASSERT_EQ_U64(t.eh_frame, 0x7f0000001000);   /* hdr + 4 - 4 */
}

static void test_other_encodings(void)
{
	/* datarel|udata8 pointer, absptr (8-byte) count */
	static const uint8_t hdr[] = {
		0x01, 0x34, 0x00, 0x3b,
		0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct ehframe_table t;
	TEST_ASSERT(parse(hdr, sizeof(hdr), 0x1000, 20 + 16, &t) == 0);
	TEST_ASSERT_EQ_U64(t.eh_frame, 0x1100);
	TEST_ASSERT_EQ_U64(t.fde_count, 2);
	TEST_ASSERT_EQ_U64(t.table, 0x1014);
	/* eh_frame_ptr omitted, udata2 count */
	static const uint8_t omit[] = { 0x01, 0xff, 0x02, 0x3b, 0x05, 0x00 };
	TEST_ASSERT(parse(omit, sizeof(omit), 0x1000, 6 + 40, &t) == 0);
	TEST_ASSERT_EQ_U64(t.eh_frame, 0);
	TEST_ASSERT_EQ_U64(t.fde_count, 5);
	TEST_ASSERT_EQ_U64(t.table, 0x1006);
}

static void test_refused(void)
{
	static const struct {
		uint8_t b[12];
		size_t len;
		uint64_t seg;
		int want;
	} cases[] = {
		/* version 2 */
		{ { 0x02, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 1, 0, 0, 0 }, 12, 20, -EINVAL },
		/* table not datarel|sdata4 */
		{ { 0x01, 0x1b, 0x03, 0x1b, 0, 0, 0, 0, 1, 0, 0, 0 }, 12, 20, -EINVAL },
		{ { 0x01, 0x1b, 0x03, 0x33, 0, 0, 0, 0, 1, 0, 0, 0 }, 12, 20, -EINVAL },
		/* no count, no table: nothing to search */
		{ { 0x01, 0x1b, 0xff, 0x3b, 0, 0, 0, 0 }, 8, 20, -ENOENT },
		{ { 0x01, 0x1b, 0x03, 0xff, 0, 0, 0, 0, 1, 0, 0, 0 }, 12, 20, -ENOENT },
		/* zero FDEs */
		{ { 0x01, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 0, 0, 0, 0 }, 12, 20, -ENOENT },
		/* uleb128 and indirect encodings */
		{ { 0x01, 0x01, 0x03, 0x3b, 0x10, 1, 0, 0, 0 }, 9, 20, -EINVAL },
		{ { 0x01, 0x9b, 0x03, 0x3b, 0, 0, 0, 0, 1, 0, 0, 0 }, 12, 20, -EINVAL },
		/* a pc-relative count makes no sense */
		{ { 0x01, 0x1b, 0x13, 0x3b, 0, 0, 0, 0, 1, 0, 0, 0 }, 12, 20, -EINVAL },
		/* truncated header, truncated count */
		{ { 0x01, 0x1b, 0x03 }, 3, 20, -EINVAL },
		{ { 0x01, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 1, 0 }, 10, 20, -EINVAL },
		/* two FDEs need 16 bytes after the header, 15 are there */
		{ { 0x01, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 2, 0, 0, 0 }, 12, 27, -EINVAL },
		/* a count so large the table wraps */
		{ { 0x01, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, 12, 64, -EINVAL },
	};
	struct ehframe_table t;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_ASSERT_EQ_U64(parse(cases[i].b, cases[i].len, 0x1000, cases[i].seg, &t),
				   cases[i].want);
	static const uint8_t fits[] = { 0x01, 0x1b, 0x03, 0x3b, 0, 0, 0, 0, 2, 0, 0, 0 };
	TEST_ASSERT(parse(fits, sizeof(fits), 0x1000, 28, &t) == 0);
}

/* ---- real headers, as loaded ------------------------------------------- */

static void known_code(void) { }

/* Binary search of the table for pc (as libunwind does); the entry's
 * initial location, or 0. */
static uint64_t search(const struct ehframe_table *t, uint64_t pc)
{
	const int32_t *table = (const int32_t *)(uintptr_t)t->table;
	uint64_t lo = 0, hi = t->fde_count;
	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if ((int64_t)(pc - t->hdr) < table[2 * mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return hi ? t->hdr + (uint64_t)(int64_t)table[2 * (hi - 1)] : 0;
}

struct found {
	uint64_t pc;
	int checked;
};

static int each_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct found *f = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_GNU_EH_FRAME)
			continue;
		uint64_t hdr = info->dlpi_addr + ph->p_vaddr;
		struct ehframe_table t;
		TEST_ASSERT(parse((const uint8_t *)(uintptr_t)hdr, ph->p_memsz, hdr,
				  ph->p_memsz, &t) == 0);
		TEST_ASSERT(t.eh_frame != 0 && t.fde_count > 0);
		uint64_t start = search(&t, f->pc);
		if (start && start <= f->pc && f->pc - start < 4096)
			f->checked++;
	}
	return 0;
}

static void test_loaded(void)
{
	struct found f = { (uint64_t)(uintptr_t)known_code, 0 };
	dl_iterate_phdr(each_object, &f);
	TEST_ASSERT_EQ_U64(f.checked, 1);    /* found in this program only */
	f = (struct found){ (uint64_t)(uintptr_t)qsort, 0 };
	dl_iterate_phdr(each_object, &f);
	TEST_ASSERT_EQ_U64(f.checked, 1);    /* and in libc */
}

/* ehframe_build_table() over each loaded object's own .eh_frame must give
 * the very table the linker wrote into its .eh_frame_hdr. */
static int compare_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned *compared = arg;
	const ElfW(Phdr) *hdr_ph = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			hdr_ph = &info->dlpi_phdr[i];
	if (!hdr_ph || !info->dlpi_name || (*info->dlpi_name && !strstr(info->dlpi_name, "libc.so")))
		return 0;
	uint64_t hdr = info->dlpi_addr + hdr_ph->p_vaddr;
	struct ehframe_table t;
	if (parse((const uint8_t *)(uintptr_t)hdr, hdr_ph->p_memsz, hdr, hdr_ph->p_memsz, &t))
		return 0;
	/* .eh_frame runs to its zero terminator within its load segment */
	uint64_t seg_end = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && t.eh_frame >= lo && t.eh_frame < lo + ph->p_memsz)
			seg_end = lo + ph->p_memsz;
	}
	TEST_ASSERT(seg_end != 0);
	struct ehframe_entry *v = NULL;
	size_t n = 0;
	TEST_ASSERT(ehframe_build_table((const uint8_t *)(uintptr_t)t.eh_frame,
					seg_end - t.eh_frame, t.eh_frame, &v, &n) == 0);
	TEST_ASSERT_EQ_U64(n, t.fde_count);
	const int32_t *tab = (const int32_t *)(uintptr_t)t.table;
	size_t same = 0;
	for (size_t i = 0; i < n && i < t.fde_count; i++)
		same += t.eh_frame + (uint64_t)(int64_t)v[i].start == hdr + (uint64_t)(int64_t)tab[2 * i] &&
			t.eh_frame + (uint64_t)(int64_t)v[i].fde == hdr + (uint64_t)(int64_t)tab[2 * i + 1];
	TEST_ASSERT_EQ_U64(same, n);
	free(v);
	(*compared)++;
	return 0;
}

static void test_build_table(void)
{
	unsigned compared = 0;
	dl_iterate_phdr(compare_object, &compared);
	TEST_ASSERT_EQ_U64(compared, 2);     /* this program and libc */
	struct ehframe_entry *v;
	size_t n;
	static const uint8_t empty[8] = { 0 };
	TEST_ASSERT(ehframe_build_table(empty, sizeof(empty), 0x1000, &v, &n) == -ENOENT);
}

int main(void)
{
	test_build_table();
	test_gnu_ld();
	test_other_encodings();
	test_refused();
	test_loaded();
	return test_summary();
}
