/* SPDX-License-Identifier: MIT */
/*
 * test-reach.c - the reachability graph (reach-graph.c) on synthetic
 * memory images: memcheck's nine pointer-chain cases (leak-cases.c), a
 * cycle, a tree, root exclusions (block slack, freed ranges), the glibc
 * free-chunk filter, the four heuristics, the kind/heuristic parsers, and
 * the index against brute force with many blocks.
 */
#include <errno.h>
#include <stdlib.h>

#include "leaktrap/reach.h"
#include "test.h"

enum { HEAP = 0x100000, ROOTS = 0x900000, MAXB = 64 };

/* A heap image of 16-byte blocks 32 bytes apart, and a root area. */
struct image {
	uint64_t heap[MAXB * 4];
	uint64_t roots[64];
	struct reach_node nodes[MAXB];
	size_t n;
};

static uint64_t blk(unsigned i) { return HEAP + (uint64_t)i * 32; }

static unsigned add(struct image *im, uint64_t size)
{
	unsigned i = (unsigned)im->n++;
	im->nodes[i] = (struct reach_node){ blk(i), size, 24 };
	return i;
}

/* word w of block i */
static void set(struct image *im, unsigned i, unsigned w, uint64_t v)
{
	im->heap[i * 4 + w] = v;
}

static struct reach_graph *run(struct image *im, const struct reach_range *freed,
			       size_t n_freed, const struct reach_env *env, unsigned heur)
{
	struct reach_graph *g = NULL;
	if (!TEST_ASSERT(reach_graph_create(im->nodes, im->n, freed, n_freed, &g) == 0))
		return NULL;
	TEST_ASSERT(reach_feed_contents(g, HEAP, im->heap, sizeof(im->heap)) == 0);
	TEST_ASSERT(reach_feed_roots(g, HEAP, im->heap, sizeof(im->heap)) == 0);
	TEST_ASSERT(reach_feed_roots(g, ROOTS, im->roots, sizeof(im->roots)) == 0);
	TEST_ASSERT(reach_classify(g, env, heur) == 0);
	return g;
}

static unsigned kind(struct reach_graph *g, unsigned i)
{
	return reach_result_of(g, i)->kind;
}

/* memcheck/tests/leak-cases.c: (y) = interior pointer. */
static void test_nine_cases(void)
{
	struct image im = { 0 };
	unsigned a[10], b[10], r = 0;
	for (unsigned c = 1; c <= 9; c++) {
		a[c] = add(&im, 16);
		b[c] = c == 2 || c == 4 || c >= 6 ? add(&im, 16) : 0;
	}
	im.roots[r++] = blk(a[1]);                 /* 1 p ---> A */
	im.roots[r++] = blk(a[2]);                 /* 2 p ---> A ---> B */
	set(&im, a[2], 0, blk(b[2]));
	/* 3: A alone */
	set(&im, a[4], 0, blk(b[4]));              /* 4 A ---> B */
	im.roots[r++] = blk(a[5]) + 8;             /* 5 p -?-> A */
	im.roots[r++] = blk(a[6]);                 /* 6 p ---> A -?-> B */
	set(&im, a[6], 1, blk(b[6]) + 4);
	im.roots[r++] = blk(a[7]) + 8;             /* 7 p -?-> A ---> B */
	set(&im, a[7], 0, blk(b[7]));
	im.roots[r++] = blk(a[8]) + 8;             /* 8 p -?-> A -?-> B */
	set(&im, a[8], 0, blk(b[8]) + 8);
	set(&im, a[9], 0, blk(b[9]) + 8);          /* 9 A -?-> B */
	struct reach_graph *g = run(&im, NULL, 0, NULL, REACH_H_ALL);
	if (!g)
		return;
	TEST_ASSERT_EQ_U64(kind(g, a[1]), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, a[2]), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, b[2]), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, a[3]), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(kind(g, a[4]), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(reach_result_of(g, a[4])->indirect, 16);
	TEST_ASSERT_EQ_U64(kind(g, b[4]), REACH_INDIRECT);
	TEST_ASSERT_EQ_U64(kind(g, a[5]), REACH_POSSIBLE);
	TEST_ASSERT_EQ_U64(kind(g, a[6]), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, b[6]), REACH_POSSIBLE);
	TEST_ASSERT_EQ_U64(kind(g, a[7]), REACH_POSSIBLE);
	TEST_ASSERT_EQ_U64(kind(g, b[7]), REACH_POSSIBLE);
	TEST_ASSERT_EQ_U64(kind(g, a[8]), REACH_POSSIBLE);
	TEST_ASSERT_EQ_U64(kind(g, b[8]), REACH_POSSIBLE);
	TEST_ASSERT_EQ_U64(kind(g, a[9]), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(kind(g, b[9]), REACH_INDIRECT);
	struct reach_summary s;
	reach_summarize(g, &s);
	/* leak-cases-summary: 48/3 definite, 32/2 indirect, 96/6 possible,
	 * 64/4 reachable */
	TEST_ASSERT_EQ_U64(s.bytes[REACH_DEFINITE], 48);
	TEST_ASSERT_EQ_U64(s.blocks[REACH_DEFINITE], 3);
	TEST_ASSERT_EQ_U64(s.bytes[REACH_INDIRECT], 32);
	TEST_ASSERT_EQ_U64(s.blocks[REACH_POSSIBLE], 6);
	TEST_ASSERT_EQ_U64(s.blocks[REACH_REACHABLE], 4);
	reach_graph_destroy(g);
}

/* A leaked cycle A -> B -> C -> A: one definite leader (the lowest
 * address), the rest indirect; a leaked tree: the root holds it all. */
static void test_cycle_and_tree(void)
{
	struct image im = { 0 };
	unsigned x = add(&im, 16), y = add(&im, 16), z = add(&im, 16);
	set(&im, x, 0, blk(y));
	set(&im, y, 0, blk(z));
	set(&im, z, 0, blk(x));
	unsigned t[7];
	for (unsigned i = 0; i < 7; i++)
		t[i] = add(&im, 16);
	/* t[3] is the root: children t[1], t[5]; grandchildren 0,2,4,6 */
	set(&im, t[3], 0, blk(t[1]));
	set(&im, t[3], 1, blk(t[5]));
	set(&im, t[1], 0, blk(t[0]));
	set(&im, t[1], 1, blk(t[2]));
	set(&im, t[5], 0, blk(t[4]));
	set(&im, t[5], 1, blk(t[6]));
	struct reach_graph *g = run(&im, NULL, 0, NULL, REACH_H_ALL);
	if (!g)
		return;
	TEST_ASSERT_EQ_U64(kind(g, x), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(reach_result_of(g, x)->indirect, 32);
	TEST_ASSERT_EQ_U64(kind(g, y), REACH_INDIRECT);
	TEST_ASSERT_EQ_U64(kind(g, z), REACH_INDIRECT);
	/* t[0] is reached first (lowest address) only as leader of nothing;
	 * t[1] then absorbs it, t[3] absorbs t[1] with what it held */
	for (unsigned i = 0; i < 7; i++)
		TEST_ASSERT_EQ_U64(kind(g, t[i]), i == 3 ? REACH_DEFINITE : REACH_INDIRECT);
	TEST_ASSERT_EQ_U64(reach_result_of(g, t[3])->indirect, 6 * 16);
	reach_graph_destroy(g);
}

/* Roots exclude each block's usable extent (its slack past size) and the
 * ranges freed in the window; a root pointer at the header of a free glibc
 * chunk right after a block is the allocator's, not a pointer into it. */
static int free_chunk_at;
static int is_free_chunk(void *arg, uint64_t chunk)
{
	(void)arg;
	return chunk == (uint64_t)free_chunk_at;
}

static void test_exclusions(void)
{
	struct image im = { 0 };
	unsigned a = add(&im, 16), b = add(&im, 16), c = add(&im, 16), d = add(&im, 16);
	unsigned e = add(&im, 20);       /* usable 24: its last word is the next chunk's header */
	set(&im, a, 2, blk(b));         /* in a's slack (usable 24): not a root */
	set(&im, c, 3, blk(d));         /* past a's usable extent: a root word */
	/* block 5's slot is freed memory holding a stale pointer to c */
	struct reach_range freed = { blk(5), blk(5) + 32 };
	im.heap[5 * 4] = blk(c);
	im.roots[0] = blk(e) + 16;      /* = e's usable end - 8: a chunk header */
	free_chunk_at = (int)(blk(e) + 16);
	struct reach_env env = { .is_free_chunk = is_free_chunk };
	struct reach_graph *g = run(&im, &freed, 1, &env, REACH_H_ALL);
	if (!g)
		return;
	TEST_ASSERT_EQ_U64(kind(g, a), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(kind(g, b), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(kind(g, c), REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(kind(g, d), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, e), REACH_DEFINITE);
	reach_graph_destroy(g);
	free_chunk_at = 0;              /* not a free chunk: interior pointer */
	g = run(&im, &freed, 1, &env, REACH_H_ALL);
	if (g)
		TEST_ASSERT_EQ_U64(kind(g, e), REACH_POSSIBLE);
	reach_graph_destroy(g);
}

/* Registers and other values; zero-sized blocks count as one byte. */
static void test_values(void)
{
	struct image im = { 0 };
	unsigned a = add(&im, 16), z = add(&im, 0);
	uint64_t regs[3] = { 7, blk(a), blk(z) };
	struct reach_graph *g = NULL;
	TEST_ASSERT(reach_graph_create(im.nodes, im.n, NULL, 0, &g) == 0);
	TEST_ASSERT(reach_feed_values(g, regs, 3) == 0);
	TEST_ASSERT(reach_lookup(g, blk(z)) == 1);
	TEST_ASSERT(reach_lookup(g, blk(z) + 1) == -1);
	TEST_ASSERT(reach_classify(g, NULL, REACH_H_ALL) == 0);
	TEST_ASSERT_EQ_U64(kind(g, a), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, z), REACH_REACHABLE);
	reach_graph_destroy(g);
}

static int is_vtable(void *arg, uint64_t addr)
{
	(void)arg;
	return addr == 0x7000 || addr == 0x7100;
}

/* mc_leakcheck.c heuristic_reachedness(), each alone and all off. */
static void test_heuristics(void)
{
	for (int on = 0; on < 2; on++) {
		struct image im = { 0 };
		/* stdstring: len, capacity, refcount, chars; ptr at +24 */
		im.nodes[0] = (struct reach_node){ HEAP, 24 + 7 + 1, 32 };
		im.heap[0] = 5, im.heap[1] = 7;
		im.n = 1;
		/* length64: word0 == size - 8, ptr at +8 */
		im.nodes[1] = (struct reach_node){ HEAP + 64, 40, 40 };
		im.heap[8] = 32;
		/* newarray: (size - 8) % word0 == 0, ptr at +8 */
		im.nodes[2] = (struct reach_node){ HEAP + 128, 8 + 3 * 8, 32 };
		im.heap[16] = 3;
		/* multiple inheritance: word0 and *ptr are vtables */
		im.nodes[3] = (struct reach_node){ HEAP + 192, 32, 40 };
		im.heap[24] = 0x7000, im.heap[26] = 0x7100;
		/* an interior pointer no heuristic accepts */
		im.nodes[4] = (struct reach_node){ HEAP + 256, 32, 40 };
		im.heap[32] = 1000;
		im.n = 5;
		im.roots[0] = HEAP + 24;
		im.roots[1] = HEAP + 64 + 8;
		im.roots[2] = HEAP + 128 + 8;
		im.roots[3] = HEAP + 192 + 16;
		im.roots[4] = HEAP + 256 + 8;
		struct reach_env env = { .is_vtable = is_vtable };
		struct reach_graph *g = run(&im, NULL, 0, &env, on ? REACH_H_ALL : 0);
		if (!g)
			return;
		unsigned want = on ? REACH_REACHABLE : REACH_POSSIBLE;
		for (unsigned i = 0; i < 4; i++)
			TEST_ASSERT_EQ_U64(kind(g, i), want);
		TEST_ASSERT_EQ_U64(kind(g, 4), REACH_POSSIBLE);
		if (on) {
			TEST_ASSERT_EQ_U64(reach_result_of(g, 0)->heuristic, REACH_H_STDSTRING);
			TEST_ASSERT_EQ_U64(reach_result_of(g, 1)->heuristic, REACH_H_LENGTH64);
			TEST_ASSERT_EQ_U64(reach_result_of(g, 2)->heuristic, REACH_H_NEWARRAY);
			TEST_ASSERT_EQ_U64(reach_result_of(g, 3)->heuristic,
					   REACH_H_MULTIPLEINHERITANCE);
			struct reach_summary s;
			reach_summarize(g, &s);
			TEST_ASSERT_EQ_U64(s.h_blocks[REACH_H_STDSTRING], 1);
			TEST_ASSERT_EQ_U64(s.h_bytes[REACH_H_STDSTRING], 32);
		}
		reach_graph_destroy(g);
	}
}

static void test_parsers(void)
{
	unsigned m = 0;
	TEST_ASSERT(reach_parse_kinds("definite,possible", &m) == 0);
	TEST_ASSERT_EQ_U64(m, REACH_MASK_DEFAULT);
	TEST_ASSERT(reach_parse_kinds("all", &m) == 0);
	TEST_ASSERT_EQ_U64(m, REACH_MASK_ALL);
	TEST_ASSERT(reach_parse_kinds("none", &m) == 0);
	TEST_ASSERT_EQ_U64(m, 0);
	TEST_ASSERT(reach_parse_kinds("reachable", &m) == 0);
	TEST_ASSERT_EQ_U64(m, 1u << REACH_REACHABLE);
	TEST_ASSERT(reach_parse_kinds("definite,", &m) == -EINVAL);
	TEST_ASSERT(reach_parse_kinds("lost", &m) == -EINVAL);
	TEST_ASSERT(reach_parse_kinds("", &m) == -EINVAL);
	TEST_ASSERT(reach_parse_heuristics("stdstring,newarray", &m) == 0);
	TEST_ASSERT_EQ_U64(m, (1u << REACH_H_STDSTRING) | (1u << REACH_H_NEWARRAY));
	TEST_ASSERT(reach_parse_heuristics("none", &m) == 0);
	TEST_ASSERT_EQ_U64(m, 0);
	TEST_ASSERT(reach_parse_heuristics("all", &m) == 0);
	TEST_ASSERT_EQ_U64(m, REACH_H_ALL);
	TEST_ASSERT(reach_parse_heuristics("none,stdstring", &m) == -EINVAL);
	TEST_ASSERT_STREQ(reach_kind_name(REACH_INDIRECT), "indirect");
	TEST_ASSERT_STREQ(reach_heuristic_name(REACH_H_MULTIPLEINHERITANCE),
			  "multipleinheritance");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The index against brute force: 200k blocks over two far-apart areas,
 * some spanning pages and region boundaries. */
static void test_index(void)
{
	enum { N = 200000 };
	struct reach_node *nodes = malloc(N * sizeof(*nodes));
	if (!TEST_ASSERT(nodes))
		return;
	uint64_t s = 88172645463325252ULL, a = 0x55553ff00000ULL;
	for (size_t i = 0; i < N; i++) {
		if (i == N / 2)
			a = 0x7f0000000000ULL;
		uint64_t size = rnd(&s) % 5 == 0 ? rnd(&s) % 20000 : rnd(&s) % 200;
		nodes[N - 1 - i] = (struct reach_node){ a, size, size };
		a += ((size ? size : 1) + 15 + (rnd(&s) % 4) * 16) & ~15ULL;
	}
	struct reach_graph *g = NULL;
	if (!TEST_ASSERT(reach_graph_create(nodes, N, NULL, 0, &g) == 0)) {
		free(nodes);
		return;
	}
	unsigned bad = 0;
	for (size_t i = 0; i < N; i++) {
		uint64_t ext = nodes[i].size ? nodes[i].size : 1;
		long k0 = reach_lookup(g, nodes[i].addr);
		long k1 = reach_lookup(g, nodes[i].addr + ext - 1);
		long k2 = reach_lookup(g, nodes[i].addr + ext);     /* the gap */
		/* sorted index i' = N - 1 - i (addresses were assigned descending) */
		bad += k0 != (long)(N - 1 - i) || k1 != k0 ||
		       (k2 != -1 && (size_t)k2 != N - i);
	}
	TEST_ASSERT_EQ_U64(bad, 0);
	TEST_ASSERT(reach_lookup(g, 0x1000) == -1);
	TEST_ASSERT(reach_lookup(g, 0x6000000000ULL) == -1);
	reach_graph_destroy(g);
	free(nodes);
}

/* More root words than one batch of candidates (1M): the batch is matched
 * mid-feed and the rest at classification. */
static void test_batches(void)
{
	enum { W = (1 << 20) + 4096 };
	struct image im = { 0 };
	for (unsigned i = 0; i < 10; i++)
		add(&im, 16);
	uint64_t *w = calloc(W, sizeof(*w));
	if (!TEST_ASSERT(w))
		return;
	for (size_t i = 0; i < W; i += 3)
		w[i] = blk(7);                  /* the same start, over and over */
	w[12345] = blk(3) + 8;                  /* first batch: interior */
	w[W - 2] = blk(9);                      /* last batch */
	struct reach_graph *g = NULL;
	if (TEST_ASSERT(reach_graph_create(im.nodes, im.n, NULL, 0, &g) == 0)) {
		TEST_ASSERT(reach_feed_roots(g, ROOTS, w, W * sizeof(*w)) == 0);
		TEST_ASSERT(reach_classify(g, NULL, REACH_H_ALL) == 0);
		TEST_ASSERT_EQ_U64(reach_root_words(g), W);
		for (unsigned i = 0; i < 10; i++)
			TEST_ASSERT_EQ_U64(kind(g, i), i == 7 || i == 9 ? REACH_REACHABLE :
					   i == 3 ? REACH_POSSIBLE : REACH_DEFINITE);
	}
	reach_graph_destroy(g);
	free(w);
}

/* Contents never fed are read through env->read, unless the range was
 * reported untouched (zeros, nothing read). */
static unsigned reads;
static int read_cb(void *arg, uint64_t addr, void *buf, size_t len)
{
	(void)arg;
	reads++;
	memset(buf, 0, len);
	if (addr == blk(0))
		((uint64_t *)buf)[1] = blk(1);  /* block 0 holds block 1 */
	return 0;
}

static void test_missing_contents(void)
{
	struct image im = { 0 };
	add(&im, 16), add(&im, 16), add(&im, 16);
	uint64_t root = blk(0) | 0, pad = 0;
	struct reach_graph *g = NULL;
	if (!TEST_ASSERT(reach_graph_create(im.nodes, im.n, NULL, 0, &g) == 0))
		return;
	reach_feed_untouched(g, blk(2), 32);    /* block 2: never touched */
	TEST_ASSERT(reach_feed_values(g, &root, 1) == 0);
	TEST_ASSERT(reach_feed_values(g, &pad, 1) == 0);
	struct reach_env env = { .read = read_cb };
	TEST_ASSERT(reach_classify(g, &env, REACH_H_ALL) == 0);
	TEST_ASSERT_EQ_U64(reads, 2);           /* blocks 0 and 1, not 2 */
	TEST_ASSERT_EQ_U64(kind(g, 0), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, 1), REACH_REACHABLE);
	TEST_ASSERT_EQ_U64(kind(g, 2), REACH_DEFINITE);
	reach_graph_destroy(g);
}

int main(void)
{
	test_missing_contents();
	test_batches();
	test_nine_cases();
	test_cycle_and_tree();
	test_exclusions();
	test_values();
	test_heuristics();
	test_parsers();
	test_index();
	return test_summary();
}
