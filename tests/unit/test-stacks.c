/* SPDX-License-Identifier: MIT */
/*
 * test-stacks.c - unit tests for stack interning: identical lists share an
 * id, lists differing in content or length do not, ids are dense, the
 * zero-length stack, a stack larger than an arena chunk, and 100k stacks
 * whose frame pointers must stay valid and unchanged while the table grows.
 */
#include <errno.h>
#include <stdlib.h>

#include "leaktrap/stacks.h"
#include "test.h"

static uint32_t intern(struct stacks *st, const uint64_t *pcs, unsigned n)
{
	uint32_t id = UINT32_MAX;

	TEST_ASSERT(stacks_intern(st, pcs, n, &id) == 0);
	return id;
}

static int frames_equal(const struct stacks *st, uint32_t id,
			const uint64_t *pcs, unsigned n)
{
	unsigned got_n = 12345;
	const uint64_t *got = stacks_get(st, id, &got_n);

	return got && got_n == n &&
	       (n == 0 || memcmp(got, pcs, n * sizeof(*pcs)) == 0);
}

static void test_sharing(void)
{
	static const struct {
		uint64_t pcs[4];
		unsigned n;
		uint32_t id;
	} cases[] = {
		{ { 1, 2, 3 }, 3, 0 },
		{ { 1, 2 }, 2, 1 },          /* a prefix */
		{ { 1, 2, 3, 0 }, 4, 2 },    /* longer, trailing zero */
		{ { 3, 2, 1 }, 3, 3 },       /* same pcs, other order */
		{ { 1, 2, 3 }, 3, 0 },       /* repeat */
		{ { 0 }, 0, 4 },             /* the unknown stack */
		{ { 1, 2 }, 2, 1 },          /* repeat */
		{ { 0 }, 0, 4 },             /* repeat */
		{ { 0 }, 1, 5 },             /* one zero pc is not empty */
	};
	struct stacks *st = stacks_create();

	TEST_ASSERT(st != NULL);
	TEST_ASSERT_EQ_U64(stacks_count(st), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t copy[4];

		memcpy(copy, cases[i].pcs, sizeof(copy));
		TEST_ASSERT_EQ_U64(intern(st, copy, cases[i].n), cases[i].id);
		copy[0] = 0xdeadbeef;   /* the table must own its copy */
		TEST_ASSERT(frames_equal(st, cases[i].id, cases[i].pcs,
					 cases[i].n));
	}
	TEST_ASSERT_EQ_U64(stacks_count(st), 6);
	stacks_destroy(st);
	stacks_destroy(NULL);
}

static void test_empty_and_unknown(void)
{
	struct stacks *st = stacks_create();
	unsigned n = 99;

	TEST_ASSERT(stacks_get(st, 0, &n) == NULL);
	TEST_ASSERT_EQ_U64(intern(st, NULL, 0), 0);
	TEST_ASSERT(stacks_get(st, 0, &n) != NULL);
	TEST_ASSERT_EQ_U64(n, 0);
	TEST_ASSERT(stacks_get(st, 1, &n) == NULL);
	TEST_ASSERT(stacks_get(st, UINT32_MAX, &n) == NULL);
	stacks_destroy(st);
}

static void test_huge_stack(void)
{
	struct stacks *st = stacks_create();
	unsigned n = 100000;
	uint64_t *pcs = malloc(n * sizeof(*pcs));
	uint64_t small[2] = { 7, 8 };

	for (unsigned i = 0; i < n; i++)
		pcs[i] = 0x400000 + i;
	TEST_ASSERT_EQ_U64(intern(st, small, 2), 0);
	TEST_ASSERT_EQ_U64(intern(st, pcs, n), 1);
	TEST_ASSERT_EQ_U64(intern(st, pcs, n - 1), 2);
	TEST_ASSERT_EQ_U64(intern(st, pcs, n), 1);
	TEST_ASSERT(frames_equal(st, 1, pcs, n));
	TEST_ASSERT(frames_equal(st, 0, small, 2));
	free(pcs);
	stacks_destroy(st);
}

#define MANY 100000u

static unsigned many_len(unsigned i)
{
	return i % 64 + 1;
}

static void many_pcs(unsigned i, uint64_t *pcs)
{
	for (unsigned f = 0; f < many_len(i); f++)
		pcs[f] = 0x7f0000001000ull + (uint64_t)i * 64 + f;
}

static void test_many(void)
{
	struct stacks *st = stacks_create();
	const uint64_t **ptrs = calloc(MANY, sizeof(*ptrs));
	uint64_t pcs[64], bad_id = 0, bad_ptr = 0, bad_frames = 0;

	for (unsigned i = 0; i < MANY; i++) {
		uint32_t id = 0;
		unsigned n = 0;

		many_pcs(i, pcs);
		bad_id += stacks_intern(st, pcs, many_len(i), &id) != 0 || id != i;
		ptrs[i] = stacks_get(st, i, &n);
	}
	TEST_ASSERT_EQ_U64(bad_id, 0);
	TEST_ASSERT_EQ_U64(stacks_count(st), MANY);
	for (unsigned i = 0; i < MANY; i++) {
		uint32_t id = 0;
		unsigned n = 0;

		many_pcs(i, pcs);
		bad_id += stacks_intern(st, pcs, many_len(i), &id) != 0 || id != i;
		bad_ptr += stacks_get(st, i, &n) != ptrs[i];
		bad_frames += n != many_len(i) ||
			      memcmp(ptrs[i], pcs, n * sizeof(*pcs)) != 0;
	}
	TEST_ASSERT_EQ_U64(bad_id, 0);
	TEST_ASSERT_EQ_U64(bad_ptr, 0);
	TEST_ASSERT_EQ_U64(bad_frames, 0);
	TEST_ASSERT_EQ_U64(stacks_count(st), MANY);
	free(ptrs);
	stacks_destroy(st);
}

int main(void)
{
	test_sharing();
	test_empty_and_unknown();
	test_huge_stack();
	test_many();
	return test_summary();
}
