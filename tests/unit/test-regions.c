/* SPDX-License-Identifier: MIT */
/*
 * test-regions.c - unit tests for the traced mappings (--mmap): map,
 * whole unmap, head and tail trims, a hole punched in the middle (a
 * split keeping the stack), an unmap spanning several ranges, MAP_FIXED
 * replacing part of a range, and the counters.
 */
#include "leaktrap/regions.h"
#include "test.h"

enum { P = 4096 };

static struct region reg(uint64_t start, uint64_t pages, uint32_t stack)
{
	return (struct region){ .start = start, .end = start + pages * P,
				.time_ns = 1, .stack_id = stack, .tid = 1 };
}

static void check(const struct regions *r, uint64_t maps, uint64_t unmaps,
		  uint64_t live, uint64_t bytes)
{
	struct region_totals t;
	regions_totals(r, &t);
	TEST_ASSERT_EQ_U64(t.maps, maps);
	TEST_ASSERT_EQ_U64(t.unmaps, unmaps);
	TEST_ASSERT_EQ_U64(t.live_regions, live);
	TEST_ASSERT_EQ_U64(t.live_bytes, bytes);
}

int main(void)
{
	struct regions *r = regions_create();
	uint64_t removed;
	size_t n;
	TEST_ASSERT(r != NULL);

	struct region a = reg(0x10000, 8, 1);
	TEST_ASSERT(regions_map(r, &a, 0) == 0);
	check(r, 1, 0, 1, 8 * P);

	/* a hole in the middle: two ranges, both from stack 1 */
	TEST_ASSERT(regions_unmap(r, 0x10000 + 2 * P, 0x10000 + 4 * P, 1, &removed) == 0);
	TEST_ASSERT_EQ_U64(removed, 2 * P);
	check(r, 1, 1, 2, 6 * P);
	const struct region *v = regions_all(r, &n);
	TEST_ASSERT_EQ_U64(n, 2);
	TEST_ASSERT_EQ_U64(v[0].start, 0x10000);
	TEST_ASSERT_EQ_U64(v[0].end, 0x10000 + 2 * P);
	TEST_ASSERT_EQ_U64(v[1].start, 0x10000 + 4 * P);
	TEST_ASSERT_EQ_U64(v[1].end, 0x10000 + 8 * P);
	TEST_ASSERT_EQ_U64(v[1].stack_id, 1);

	/* the head of the second range, then its tail */
	TEST_ASSERT(regions_unmap(r, 0x10000 + 4 * P, 0x10000 + 5 * P, 1, &removed) == 0);
	TEST_ASSERT_EQ_U64(removed, P);
	TEST_ASSERT(regions_unmap(r, 0x10000 + 7 * P, 0x10000 + 9 * P, 1, &removed) == 0);
	TEST_ASSERT_EQ_U64(removed, P);
	check(r, 1, 3, 2, 4 * P);
	TEST_ASSERT(regions_find(r, 0x10000 + 5 * P) != NULL);
	TEST_ASSERT(regions_find(r, 0x10000 + 7 * P) == NULL);
	TEST_ASSERT(regions_find(r, 0x10000 + 3 * P) == NULL);

	/* nothing traced there: not counted */
	TEST_ASSERT(regions_unmap(r, 0x900000, 0x900000 + P, 1, &removed) == 0);
	TEST_ASSERT_EQ_U64(removed, 0);
	check(r, 1, 3, 2, 4 * P);

	/* MAP_FIXED over the end of one range and the start of the next */
	struct region b = reg(0x10000 + P, 5, 2);
	TEST_ASSERT(regions_map(r, &b, 0) == 0);
	v = regions_all(r, &n);
	TEST_ASSERT_EQ_U64(n, 3);
	TEST_ASSERT_EQ_U64(v[0].end, 0x10000 + P);
	TEST_ASSERT_EQ_U64(v[1].stack_id, 2);
	TEST_ASSERT_EQ_U64(v[2].start, 0x10000 + 6 * P);
	check(r, 2, 3, 3, 7 * P);

	/* one munmap over all of them */
	TEST_ASSERT(regions_unmap(r, 0, 0x100000, 1, &removed) == 0);
	TEST_ASSERT_EQ_U64(removed, 7 * P);
	check(r, 2, 4, 0, 0);

	struct region c = reg(0x40000, 2, 3);
	TEST_ASSERT(regions_map(r, &c, 1) == 0);
	struct region_totals t;
	regions_totals(r, &t);
	TEST_ASSERT_EQ_U64(t.remaps, 1);
	check(r, 2, 4, 1, 2 * P);
	regions_destroy(r);
	regions_destroy(NULL);
	return test_summary();
}
