/* SPDX-License-Identifier: MIT */
/*
 * test-ledger.c - unit tests for the live-block ledger: the counting rules
 * (alloc, free, unknown free, realloc via take + count_free or restore,
 * duplicate alloc), growth past a million blocks with exact totals,
 * foreach, and a randomized comparison against a plain array model that
 * exercises backward-shift deletion.
 */
#include <errno.h>
#include <stdlib.h>

#include "leaktrap/ledger.h"
#include "test.h"

static struct ledger_block blk(uint64_t addr, uint64_t size, uint32_t stack)
{
	return (struct ledger_block){ .addr = addr, .size = size,
				      .time_ns = addr * 3, .stack_id = stack,
				      .tid = (uint32_t)(addr & 0xffff) };
}

static void check_totals(const struct ledger *lg, uint64_t allocs,
			 uint64_t frees, uint64_t unknown, uint64_t blocks,
			 uint64_t bytes)
{
	struct ledger_totals t;

	ledger_totals(lg, &t);
	TEST_ASSERT_EQ_U64(t.allocs, allocs);
	TEST_ASSERT_EQ_U64(t.frees, frees);
	TEST_ASSERT_EQ_U64(t.frees_unknown, unknown);
	TEST_ASSERT_EQ_U64(t.live_blocks, blocks);
	TEST_ASSERT_EQ_U64(t.live_bytes, bytes);
}

static void add(struct ledger *lg, uint64_t addr, uint64_t size)
{
	struct ledger_block b = blk(addr, size, 7);

	TEST_ASSERT(ledger_alloc(lg, &b) == 0);
}

static void test_alloc_free(void)
{
	struct ledger *lg = ledger_create();

	TEST_ASSERT(lg != NULL);
	check_totals(lg, 0, 0, 0, 0, 0);
	add(lg, 0x1000, 10);
	add(lg, 0x2000, 20);
	check_totals(lg, 2, 0, 0, 2, 30);
	TEST_ASSERT(ledger_free(lg, 0x1000) == 0);
	check_totals(lg, 2, 1, 0, 1, 20);
	TEST_ASSERT(ledger_free(lg, 0x1000) == -ENOENT);   /* double free */
	TEST_ASSERT(ledger_free(lg, 0x9000) == -ENOENT);   /* never seen */
	check_totals(lg, 2, 1, 2, 1, 20);
	TEST_ASSERT(ledger_free(lg, 0) == 0);              /* free(NULL) */
	check_totals(lg, 2, 1, 2, 1, 20);
	ledger_destroy(lg);
	ledger_destroy(NULL);
}

static void test_realloc_paths(void)
{
	struct ledger *lg = ledger_create();
	struct ledger_block b = { 0 };

	add(lg, 0x1000, 10);
	/* realloc succeeded: take the old block, count it, add the new one */
	TEST_ASSERT(ledger_take(lg, 0x1000, &b) == 0);
	TEST_ASSERT_EQ_U64(b.addr, 0x1000);
	TEST_ASSERT_EQ_U64(b.size, 10);
	TEST_ASSERT_EQ_U64(b.time_ns, 0x3000);
	TEST_ASSERT_EQ_U64(b.stack_id, 7);
	check_totals(lg, 1, 0, 0, 0, 0);
	ledger_count_free(lg, 1);
	add(lg, 0x2000, 40);
	check_totals(lg, 2, 1, 0, 1, 40);
	/* realloc failed: take and put back, nothing counted */
	TEST_ASSERT(ledger_take(lg, 0x2000, &b) == 0);
	TEST_ASSERT(ledger_restore(lg, &b) == 0);
	check_totals(lg, 2, 1, 0, 1, 40);
	/* realloc of a block allocated before tracing */
	TEST_ASSERT(ledger_take(lg, 0x5000, &b) == -ENOENT);
	ledger_count_free(lg, 0);
	check_totals(lg, 2, 1, 1, 1, 40);
	TEST_ASSERT(ledger_take(lg, 0, &b) == -ENOENT);
	ledger_destroy(lg);
}

static int find_block(const struct ledger_block *b, void *arg)
{
	struct ledger_block *want = arg;

	if (b->addr != want->addr)
		return 0;
	*want = *b;
	return 1;
}

static void test_duplicate_alloc(void)
{
	struct ledger *lg = ledger_create();
	struct ledger_block b = blk(0x1000, 99, 3), found = { .addr = 0x1000 };

	add(lg, 0x1000, 10);
	TEST_ASSERT(ledger_alloc(lg, &b) == 0);   /* free of 0x1000 missed */
	check_totals(lg, 2, 1, 0, 1, 99);
	TEST_ASSERT(ledger_foreach(lg, find_block, &found) == 1);
	TEST_ASSERT_EQ_U64(found.size, 99);
	TEST_ASSERT_EQ_U64(found.stack_id, 3);
	TEST_ASSERT(ledger_free(lg, 0x1000) == 0);
	check_totals(lg, 2, 2, 0, 0, 0);
	ledger_destroy(lg);
}

struct sum {
	uint64_t blocks, bytes, calls;
};

static int sum_blocks(const struct ledger_block *b, void *arg)
{
	struct sum *s = arg;

	s->blocks++;
	s->bytes += b->size;
	return 0;
}

static int stop_after_three(const struct ledger_block *b, void *arg)
{
	struct sum *s = arg;

	return ++s->calls == 3 ? 42 : 0;
}

static void test_foreach(void)
{
	struct ledger *lg = ledger_create();
	struct sum s = { 0 };

	TEST_ASSERT(ledger_foreach(lg, sum_blocks, &s) == 0);
	TEST_ASSERT_EQ_U64(s.blocks, 0);
	for (uint64_t i = 1; i <= 10; i++)
		add(lg, i * 0x40, i);
	TEST_ASSERT(ledger_foreach(lg, sum_blocks, &s) == 0);
	TEST_ASSERT_EQ_U64(s.blocks, 10);
	TEST_ASSERT_EQ_U64(s.bytes, 55);
	TEST_ASSERT(ledger_foreach(lg, stop_after_three, &s) == 42);
	TEST_ASSERT_EQ_U64(s.calls, 3);
	ledger_destroy(lg);
}

#define MANY 1200000u

static uint64_t many_addr(uint64_t i)
{
	return 0x7f0000000000ull + i * 4096;   /* page-aligned: hash-hostile */
}

static void test_growth(void)
{
	struct ledger *lg = ledger_create();
	struct sum s = { 0 };
	uint64_t bytes = 0, odd_bytes = 0, fails = 0;

	for (uint64_t i = 0; i < MANY; i++) {
		struct ledger_block b = blk(many_addr(i), i % 100 + 1, 1);

		fails += ledger_alloc(lg, &b) != 0;
		bytes += i % 100 + 1;
		odd_bytes += i % 2 ? i % 100 + 1 : 0;
	}
	TEST_ASSERT_EQ_U64(fails, 0);
	check_totals(lg, MANY, 0, 0, MANY, bytes);
	for (uint64_t i = 0; i < MANY; i += 2)
		fails += ledger_free(lg, many_addr(i)) != 0;
	TEST_ASSERT_EQ_U64(fails, 0);
	check_totals(lg, MANY, MANY / 2, 0, MANY / 2, odd_bytes);
	TEST_ASSERT(ledger_foreach(lg, sum_blocks, &s) == 0);
	TEST_ASSERT_EQ_U64(s.blocks, MANY / 2);
	TEST_ASSERT_EQ_U64(s.bytes, odd_bytes);
	for (uint64_t i = 0; i < MANY; i++)
		fails += ledger_free(lg, many_addr(i)) != (i % 2 ? 0 : -ENOENT);
	TEST_ASSERT_EQ_U64(fails, 0);
	check_totals(lg, MANY, MANY, MANY / 2, 0, 0);
	ledger_destroy(lg);
}

/* Random operations on a small address space, checked against an array. */
#define MODEL_ADDRS 3000u

struct model {
	uint64_t size[MODEL_ADDRS];   /* 0: not live */
	struct ledger_totals t;
};

static uint64_t rng_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Each returns 1 when the ledger disagrees with the model. */
static int model_alloc(struct ledger *lg, struct model *m, unsigned a,
		       uint64_t size)
{
	struct ledger_block b = blk((a + 1) * 16ull, size, a);

	if (m->size[a]) {
		m->t.frees++;
		m->t.live_bytes -= m->size[a];
		m->t.live_blocks--;
	}
	m->size[a] = size;
	m->t.allocs++;
	m->t.live_blocks++;
	m->t.live_bytes += size;
	return ledger_alloc(lg, &b) != 0;
}

static int model_free(struct ledger *lg, struct model *m, unsigned a)
{
	int rc = ledger_free(lg, (a + 1) * 16ull);

	if (m->size[a]) {
		m->t.frees++;
		m->t.live_blocks--;
		m->t.live_bytes -= m->size[a];
		m->size[a] = 0;
		return rc != 0;
	}
	m->t.frees_unknown++;
	return rc != -ENOENT;
}

static int model_check_block(const struct ledger_block *b, void *arg)
{
	struct model *m = arg;
	uint64_t a = b->addr / 16 - 1;

	return a >= MODEL_ADDRS || m->size[a] != b->size || b->stack_id != a;
}

static void test_random_model(void)
{
	struct ledger *lg = ledger_create();
	struct model *m = calloc(1, sizeof(*m));
	uint64_t rng = 0x9e3779b97f4a7c15ull, fails = 0;

	for (unsigned step = 0; step < 400000; step++) {
		uint64_t r = rng_next(&rng);
		unsigned a = (unsigned)(r % MODEL_ADDRS);

		if ((r >> 32) % 5 < 3)
			fails += model_alloc(lg, m, a, (r >> 40) % 1000 + 1);
		else
			fails += model_free(lg, m, a);
	}
	TEST_ASSERT_EQ_U64(fails, 0);
	check_totals(lg, m->t.allocs, m->t.frees, m->t.frees_unknown,
		     m->t.live_blocks, m->t.live_bytes);
	TEST_ASSERT(ledger_foreach(lg, model_check_block, m) == 0);
	free(m);
	ledger_destroy(lg);
}

int main(void)
{
	test_alloc_free();
	test_realloc_paths();
	test_duplicate_alloc();
	test_foreach();
	test_growth();
	test_random_model();
	return test_summary();
}
