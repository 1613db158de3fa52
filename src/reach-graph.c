/* SPDX-License-Identifier: MIT */
/*
 * reach-graph.c - the pure half of the reachability scan (reach.h).
 *
 * Index: blocks sorted by address, plus per 1 GiB region of the address
 * space that holds blocks a bitmap of the 4 KiB pages some block covers and,
 * per page, how many blocks start before it.  A lookup is a range check, a
 * region (binary search over a handful), a bit test and a binary search
 * among the blocks that start in or just before that page.
 *
 * Mark and cliques follow memcheck's mc_leakcheck.c:
 * lc_push_without_clique_if_a_chunk_ptr (start pointer from a definite
 * predecessor -> reachable; interior or from a possible block -> possible;
 * an interior pointer a heuristic accepts counts as a start pointer), then
 * for every block still unreached, in address order, a flood that makes the
 * unreached blocks it reaches indirect and adds their size (and what they
 * held indirectly) to the leader.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "leaktrap/reach.h"

enum { REGION_SHIFT = 30, PAGE_SHIFT = 12, REGION_PAGES = 1 << (REGION_SHIFT - PAGE_SHIFT) };

struct region {
	uint64_t key;              /* addr >> REGION_SHIFT */
	uint32_t *first;           /* [REGION_PAGES + 1]: blocks starting
	                            * before each page */
	uint64_t *bits;            /* pages covered by a block */
};

struct hit {
	uint32_t idx;
	uint64_t val;
};

struct reach_graph {
	size_t n;
	uint64_t *start, *end, *size, *uend;   /* sorted by start */
	uint32_t *orig;            /* sorted index -> caller's index */
	uint32_t *rank;            /* caller's index -> sorted index */
	uint64_t lo, hi;
	struct region *regions;
	size_t n_regions;
	uint16_t *rtab;            /* (addr - lo) >> REGION_SHIFT -> region + 1,
	                            * 0: none */
	uint64_t rspan;            /* entries in rtab */
	const uint64_t **rbits;    /* region + 1 -> its bitmap; [0]: all zero */
	uint32_t *bucket;          /* counting sort by (region, page) */
	struct reach_range *ex;    /* excluded from roots: merged, sorted */
	size_t n_ex;
	uint64_t *off;             /* first word of each block in words[] */
	uint64_t *words;
	uint64_t *got;             /* content bytes copied per block */
	uint8_t *root_start;       /* a root start pointer was recorded */
	uint64_t *last_interior;   /* the last interior root value recorded */
	uint64_t *cand, *tmp;      /* candidate root words of one batch */
	uint32_t *ord;             /* and their (region, page) */
	size_t cap_cand, n_cand;
	struct hit *hits;
	size_t n_hits, cap_hits;
	struct reach_result *res;  /* sorted order */
	uint8_t *pending;
	uint32_t *stack;
	size_t sp;
	uint64_t root_words;
	const struct reach_env *env;
	unsigned heur;
};

/* ---- names ------------------------------------------------------------ */

static const char *const kind_names[REACH_KINDS] = {
	"definite", "indirect", "possible", "reachable"
};
static const char *const heur_names[REACH_HEURISTICS] = {
	"none", "stdstring", "length64", "newarray", "multipleinheritance"
};

const char *reach_kind_name(enum reach_kind k)
{
	return (unsigned)k < REACH_KINDS ? kind_names[k] : "?";
}

const char *reach_heuristic_name(enum reach_heuristic h)
{
	return (unsigned)h < REACH_HEURISTICS ? heur_names[h] : "?";
}

/* A comma list of names[first..n) or all/none. */
static int parse_list(const char *s, const char *const *names, unsigned first,
		      unsigned n, unsigned all, unsigned *mask_ret)
{
	unsigned mask = 0;
	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "all") || !strcmp(s, "none")) {
		*mask_ret = !strcmp(s, "all") ? all : 0;
		return 0;
	}
	while (*s) {
		size_t len = strcspn(s, ",");
		unsigned i;
		for (i = first; i < n; i++)
			if (strlen(names[i]) == len && !strncmp(s, names[i], len))
				break;
		if (i == n)
			return -EINVAL;
		mask |= 1u << i;
		s += len;
		if (*s == ',' && !*++s)
			return -EINVAL;
	}
	*mask_ret = mask;
	return 0;
}

int reach_parse_kinds(const char *s, unsigned *mask_ret)
{
	return parse_list(s, kind_names, 0, REACH_KINDS, REACH_MASK_ALL, mask_ret);
}

int reach_parse_heuristics(const char *s, unsigned *mask_ret)
{
	return parse_list(s, heur_names, 1, REACH_HEURISTICS, REACH_H_ALL, mask_ret);
}

/* ---- building ---------------------------------------------------------- */

static int cmp_idx_by_addr(const void *pa, const void *pb, void *arg)
{
	const struct reach_node *nodes = arg;
	uint64_t a = nodes[*(const uint32_t *)pa].addr, b = nodes[*(const uint32_t *)pb].addr;
	return a < b ? -1 : a > b;
}

static int cmp_range(const void *pa, const void *pb)
{
	const struct reach_range *a = pa, *b = pb;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Index of the first block with start >= addr. */
static size_t lower_bound(const struct reach_graph *g, uint64_t addr)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->start[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct region *find_region(const struct reach_graph *g, uint64_t key)
{
	size_t lo = 0, hi = g->n_regions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->regions[mid].key == key)
			return &g->regions[mid];
		if (g->regions[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int build_regions(struct reach_graph *g)
{
	/* the regions: every 1 GiB area a block touches, in order */
	size_t cap = 0;
	for (size_t i = 0; i < g->n; i++) {
		uint64_t k0 = g->start[i] >> REGION_SHIFT, k1 = (g->end[i] - 1) >> REGION_SHIFT;
		for (uint64_t k = k0; k <= k1; k++) {
			if (g->n_regions && g->regions[g->n_regions - 1].key >= k)
				continue;
			if (g->n_regions == cap) {
				size_t nc = cap ? cap * 2 : 4;
				struct region *r = realloc(g->regions, nc * sizeof(*r));
				if (!r)
					return -ENOMEM;
				g->regions = r, cap = nc;
			}
			struct region *r = &g->regions[g->n_regions];
			r->key = k;
			r->first = malloc((REGION_PAGES + 1) * sizeof(uint32_t));
			r->bits = calloc(REGION_PAGES / 64, sizeof(uint64_t));
			if (!r->first || !r->bits) {
				free(r->first);
				free(r->bits);
				return -ENOMEM;
			}
			g->n_regions++;
		}
	}
	for (size_t ri = 0; ri < g->n_regions; ri++) {
		struct region *r = &g->regions[ri];
		uint64_t base = r->key << REGION_SHIFT;
		size_t j = lower_bound(g, base);
		for (uint32_t p = 0; p <= REGION_PAGES; p++) {
			uint64_t ps = base + ((uint64_t)p << PAGE_SHIFT);
			while (j < g->n && g->start[j] < ps)
				j++;
			r->first[p] = (uint32_t)j;
		}
	}
	for (size_t i = 0; i < g->n; i++)
		for (uint64_t pg = g->start[i] >> PAGE_SHIFT; pg <= (g->end[i] - 1) >> PAGE_SHIFT;
		     pg++) {
			struct region *r = find_region(g, pg >> (REGION_SHIFT - PAGE_SHIFT));
			uint64_t p = pg & (REGION_PAGES - 1);
			r->bits[p / 64] |= 1ULL << (p % 64);
		}
	return 0;
}

static const uint64_t zero_bits[REGION_PAGES / 64];

/* The branch-free first step of a root word's lookup (scan_words). */
static int build_rtab(struct reach_graph *g)
{
	if (!g->n)
		return 0;
	uint64_t base = g->lo >> REGION_SHIFT;
	g->rspan = ((g->hi - 1) >> REGION_SHIFT) - base + 1;
	if (g->n_regions >= UINT16_MAX)
		return -ENOMEM;
	g->rtab = calloc(g->rspan, sizeof(uint16_t));
	g->rbits = malloc((g->n_regions + 1) * sizeof(*g->rbits));
	if (!g->rtab || !g->rbits || g->n_regions > 4096)
		return -ENOMEM;
	g->rbits[0] = zero_bits;
	for (size_t i = 0; i < g->n_regions; i++) {
		g->rtab[g->regions[i].key - base] = (uint16_t)(i + 1);
		g->rbits[i + 1] = g->regions[i].bits;
	}
	g->bucket = malloc((g->n_regions * REGION_PAGES + 1) * sizeof(uint32_t));
	return g->bucket ? 0 : -ENOMEM;
}

static int build_exclusions(struct reach_graph *g, const struct reach_range *freed,
			    size_t n_freed)
{
	size_t n = 0;
	g->ex = malloc((g->n + n_freed + 1) * sizeof(*g->ex));
	if (!g->ex)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++)
		g->ex[n++] = (struct reach_range){ g->start[i], g->uend[i] };
	for (size_t i = 0; i < n_freed; i++)
		if (freed[i].end > freed[i].start)
			g->ex[n++] = freed[i];
	qsort(g->ex, n, sizeof(*g->ex), cmp_range);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && g->ex[i].start <= g->ex[m - 1].end) {
			if (g->ex[i].end > g->ex[m - 1].end)
				g->ex[m - 1].end = g->ex[i].end;
		} else {
			g->ex[m++] = g->ex[i];
		}
	}
	g->n_ex = m;
	return 0;
}

int reach_graph_create(const struct reach_node *nodes, size_t n,
		       const struct reach_range *freed, size_t n_freed,
		       struct reach_graph **g_ret)
{
	struct reach_graph *g = calloc(1, sizeof(*g));
	if (!g || n > UINT32_MAX - 1)
		goto fail;
	g->n = n;
	size_t m = n ? n : 1;
	g->start = malloc(m * sizeof(uint64_t));
	g->end = malloc(m * sizeof(uint64_t));
	g->size = malloc(m * sizeof(uint64_t));
	g->uend = malloc(m * sizeof(uint64_t));
	g->off = malloc((m + 1) * sizeof(uint64_t));
	g->got = calloc(m, sizeof(uint64_t));
	g->orig = malloc(m * sizeof(uint32_t));
	g->rank = malloc(m * sizeof(uint32_t));
	g->root_start = calloc(m, 1);
	g->last_interior = calloc(m, sizeof(uint64_t));
	g->pending = calloc(m, 1);
	g->stack = malloc(m * sizeof(uint32_t));
	g->res = calloc(m, sizeof(*g->res));
	if (!g->start || !g->end || !g->size || !g->uend || !g->off || !g->got || !g->orig ||
	    !g->rank || !g->root_start || !g->last_interior || !g->pending || !g->stack || !g->res)
		goto fail;
	for (size_t i = 0; i < n; i++)
		g->orig[i] = (uint32_t)i;
	qsort_r(g->orig, n, sizeof(uint32_t), cmp_idx_by_addr, (void *)nodes);
	uint64_t words = 0;
	for (size_t i = 0; i < n; i++) {
		const struct reach_node *b = &nodes[g->orig[i]];
		g->rank[g->orig[i]] = (uint32_t)i;
		g->start[i] = b->addr;
		g->size[i] = b->size;
		g->end[i] = b->addr + (b->size ? b->size : 1);
		g->uend[i] = b->addr + (b->usable > b->size ? b->usable : b->size);
		g->off[i] = words;
		words += b->size / 8;
	}
	g->off[n] = words;
	g->words = calloc(words ? words : 1, sizeof(uint64_t));
	if (!g->words)
		goto fail;
	g->lo = n ? g->start[0] : 1;
	g->hi = 0;
	for (size_t i = 0; i < n; i++)
		if (g->end[i] > g->hi)
			g->hi = g->end[i];
	if (build_regions(g) < 0 || build_rtab(g) < 0 || build_exclusions(g, freed, n_freed) < 0)
		goto fail;
	*g_ret = g;
	return 0;
fail:
	reach_graph_destroy(g);
	return -ENOMEM;
}

void reach_graph_destroy(struct reach_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_regions; i++) {
		free(g->regions[i].first);
		free(g->regions[i].bits);
	}
	free(g->regions);
	free(g->start), free(g->end), free(g->size), free(g->uend);
	free(g->off), free(g->got), free(g->words), free(g->orig), free(g->rank);
	free(g->root_start), free(g->pending), free(g->stack), free(g->res);
	free(g->last_interior), free(g->cand), free(g->tmp);
	free(g->rtab), free(g->rbits), free(g->bucket), free(g->ord);
	free(g->ex), free(g->hits);
	free(g);
}

/* ---- lookup ------------------------------------------------------------ */

long reach_lookup(const struct reach_graph *g, uint64_t a)
{
	if (a < g->lo || a >= g->hi)
		return -1;
	const struct region *r = g->n_regions == 1 && g->regions[0].key == a >> REGION_SHIFT ?
				 &g->regions[0] : find_region(g, a >> REGION_SHIFT);
	if (!r)
		return -1;
	uint64_t p = (a >> PAGE_SHIFT) & (REGION_PAGES - 1);
	if (!(r->bits[p / 64] & (1ULL << (p % 64))))
		return -1;
	/* the last block starting at or before a is among
	 * [first[p] - 1, first[p + 1]) */
	size_t lo = r->first[p] ? r->first[p] - 1 : 0, hi = r->first[p + 1];
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->start[mid] <= a)
			lo = mid;
		else
			hi = mid;
	}
	if (lo < g->n && g->start[lo] <= a && a < g->end[lo])
		return (long)lo;
	return -1;
}

/* ---- feeding ----------------------------------------------------------- */

/* Copy (buf) or account as zeros (!buf) the block contents in a range. */
static void contents(struct reach_graph *g, uint64_t base, const void *buf, size_t len)
{
	uint64_t lim = base + len;
	/* blocks are disjoint, so their ends are sorted too */
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->start[mid] + (g->off[mid + 1] - g->off[mid]) * 8 <= base)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < g->n && g->start[i] < lim; i++) {
		uint64_t cs = g->start[i], ce = cs + (g->off[i + 1] - g->off[i]) * 8;
		uint64_t s = cs > base ? cs : base, e = ce < lim ? ce : lim;
		if (s >= e)
			continue;
		if (buf)
			memcpy((char *)(g->words + g->off[i]) + (s - cs),
			       (const char *)buf + (s - base), e - s);
		g->got[i] += e - s;     /* (words[] starts zeroed) */
	}
}

int reach_feed_contents(struct reach_graph *g, uint64_t base, const void *buf, size_t len)
{
	contents(g, base, buf, len);
	return 0;
}

void reach_feed_untouched(struct reach_graph *g, uint64_t base, size_t len)
{
	contents(g, base, NULL, len);
}

static int add_hit(struct reach_graph *g, uint32_t idx, uint64_t val)
{
	if (g->n_hits == g->cap_hits) {
		size_t nc = g->cap_hits ? g->cap_hits * 2 : 256;
		struct hit *h = realloc(g->hits, nc * sizeof(*h));
		if (!h)
			return -ENOMEM;
		g->hits = h, g->cap_hits = nc;
	}
	g->hits[g->n_hits++] = (struct hit){ idx, val };
	return 0;
}

/* A root value v inside block k. */
static int root_hit(struct reach_graph *g, size_t k, uint64_t v)
{
	if (v == g->start[k]) {
		if (g->root_start[k])
			return 0;
		g->root_start[k] = 1;
	} else {
		if (g->last_interior[k] == v)
			return 0;       /* the same pointer again decides nothing new */
		g->last_interior[k] = v;
	}
	return add_hit(g, (uint32_t)k, v);
}

/*
 * Root words in batches: each word that falls on a page some block covers
 * is a candidate, kept with the ordinal of its page; a batch is put in
 * page order by a counting sort and then looked up, so the lookups walk
 * the block table forward instead of missing the cache on every word.
 */
enum { CAND_BATCH = 1 << 20 };

static int grow_cand(struct reach_graph *g, size_t n)
{
	if (n <= g->cap_cand)
		return 0;
	uint64_t *c = realloc(g->cand, n * sizeof(*c));
	if (c)
		g->cand = c;
	uint64_t *t = c ? realloc(g->tmp, n * sizeof(*t)) : NULL;
	if (t)
		g->tmp = t;
	uint32_t *o = t ? realloc(g->ord, n * sizeof(*o)) : NULL;
	if (o)
		g->ord = o;
	if (!c || !t || !o)
		return -ENOMEM;
	g->cap_cand = n;
	return 0;
}

/* Match a batch of candidates against the blocks: a counting sort by
 * page ordinal puts them in address order page by page, so the lookups
 * walk the block table forward instead of jumping around it. */
static int flush_candidates(struct reach_graph *g)
{
	size_t nc = g->n_cand;
	g->n_cand = 0;
	if (!nc)
		return 0;
	uint32_t *bucket = g->bucket;
	size_t nb = g->n_regions * REGION_PAGES;
	memset(bucket, 0, (nb + 1) * sizeof(*bucket));
	for (size_t i = 0; i < nc; i++)
		bucket[g->ord[i] + 1]++;
	for (size_t j = 0; j < nb; j++)
		bucket[j + 1] += bucket[j];
	for (size_t i = 0; i < nc; i++)
		g->tmp[bucket[g->ord[i]]++] = g->cand[i];
	for (size_t i = 0; i < nc; i++) {
		uint64_t v = g->tmp[i];
		long k = reach_lookup(g, v);
		int err = k >= 0 ? root_hit(g, (size_t)k, v) : 0;
		if (err)
			return err;
	}
	return 0;
}

static int scan_words(struct reach_graph *g, const uint64_t *w, size_t n)
{
	g->root_words += n;
	if (!g->n)
		return 0;
	int err = grow_cand(g, CAND_BATCH);
	if (err)
		return err;
	/* a word is a candidate if it falls on a page some block covers:
	 * one predictable range check, then no branch */
	const uint64_t base = (g->lo >> REGION_SHIFT) << REGION_SHIFT, span = g->rspan;
	const uint16_t *rtab = g->rtab;
	const uint64_t *const *rbits = g->rbits;
	uint64_t *cand = g->cand;
	uint32_t *ord = g->ord;
	const uint64_t lo = g->lo, range = g->hi - g->lo;
	while (n) {
		size_t nc = g->n_cand, m = CAND_BATCH - nc < n ? CAND_BATCH - nc : n;
		for (size_t i = 0; i < m; i++) {
			uint64_t v = w[i], top = (v - base) >> REGION_SHIFT;
			if (v - lo >= range)
				continue;       /* most words: a predictable branch */
			uint64_t in = top < span;
			unsigned r1 = rtab[top * in] & (unsigned)-(int)in;
			uint64_t p = (v >> PAGE_SHIFT) & (REGION_PAGES - 1);
			cand[nc] = v;
			ord[nc] = (uint32_t)((r1 - 1) << (REGION_SHIFT - PAGE_SHIFT) | p);
			nc += (rbits[r1][p / 64] >> (p % 64)) & 1;
		}
		g->n_cand = nc;
		w += m, n -= m;
		if (g->n_cand == CAND_BATCH && (err = flush_candidates(g)))
			return err;
	}
	return 0;
}

int reach_feed_roots(struct reach_graph *g, uint64_t base, const void *buf, size_t len)
{
	uint64_t a = (base + 7) & ~7ULL, lim = base + len;
	/* first exclusion ending after a */
	size_t lo = 0, hi = g->n_ex;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->ex[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (a + 8 <= lim) {
		uint64_t stop = lo < g->n_ex && g->ex[lo].start < lim ? g->ex[lo].start : lim;
		if (stop > a) {
			uint64_t e = stop & ~7ULL;
			if (e > a) {
				uint64_t nw = (e - a) / 8;
				if (a + nw * 8 > lim)
					nw = (lim - a) / 8;
				int err = scan_words(g, (const uint64_t *)(const void *)
						     ((const char *)buf + (a - base)), nw);
				if (err)
					return err;
			}
		}
		if (lo >= g->n_ex || g->ex[lo].start >= lim)
			break;
		a = (g->ex[lo].end + 7) & ~7ULL;
		lo++;
	}
	return 0;
}

int reach_feed_values(struct reach_graph *g, const uint64_t *v, size_t n)
{
	return scan_words(g, v, n);
}

/* ---- marking ----------------------------------------------------------- */

static size_t n_words(const struct reach_graph *g, size_t k)
{
	return g->off[k + 1] - g->off[k];
}

static uint64_t word(const struct reach_graph *g, size_t k, size_t i)
{
	return g->words[g->off[k] + i];
}

/* memcheck's heuristic_reachedness(), in its order. */
static enum reach_heuristic heuristic(const struct reach_graph *g, size_t k, uint64_t ptr)
{
	uint64_t data = g->start[k], sz = g->size[k];
	size_t nw = n_words(g, k);
	if ((g->heur & (1u << REACH_H_STDSTRING)) && ptr == data + 24 && nw >= 2) {
		uint64_t cap = word(g, k, 1);
		if (cap < sz && 24 + cap + 1 == sz && word(g, k, 0) <= cap)
			return REACH_H_STDSTRING;
	}
	if ((g->heur & (1u << REACH_H_LENGTH64)) && ptr == data + 8 && nw >= 1) {
		uint64_t len = word(g, k, 0);
		if (len > 0 && sz - 8 == len)
			return REACH_H_LENGTH64;
	}
	if ((g->heur & (1u << REACH_H_NEWARRAY)) && ptr == data + 8 && nw >= 1) {
		uint64_t nr = word(g, k, 0);
		if (nr > 0 && (sz - 8) % nr == 0)
			return REACH_H_NEWARRAY;
	}
	if ((g->heur & (1u << REACH_H_MULTIPLEINHERITANCE)) && !(ptr & 7) &&
	    (ptr - data) / 8 < nw && nw >= 1 && g->env && g->env->is_vtable) {
		uint64_t inner = word(g, k, (ptr - data) / 8), first = word(g, k, 0);
		if (!(inner & 7) && inner >= 4096 && !(first & 7) && first >= 4096 &&
		    g->env->is_vtable(g->env->arg, inner) && g->env->is_vtable(g->env->arg, first))
			return REACH_H_MULTIPLEINHERITANCE;
	}
	return REACH_H_NONE;
}

static void push(struct reach_graph *g, size_t k)
{
	if (!g->pending[k]) {
		g->pending[k] = 1;
		g->stack[g->sp++] = (uint32_t)k;
	}
}

static void push_without_clique(struct reach_graph *g, size_t k, uint64_t ptr, int definite)
{
	struct reach_result *ex = &g->res[k];
	if (ex->kind == REACH_REACHABLE) {
		if (ex->heuristic && ptr == g->start[k])
			ex->heuristic = REACH_H_NONE;
		return;
	}
	int via_start = ptr == g->start[k];
	if (!via_start) {
		ex->heuristic = (uint8_t)heuristic(g, k, ptr);
		via_start = ex->heuristic != REACH_H_NONE;
	}
	if (via_start && definite) {
		ex->kind = REACH_REACHABLE;
		push(g, k);
	} else if (ex->kind == REACH_DEFINITE) {
		ex->kind = REACH_POSSIBLE;
		push(g, k);
	}
}

static void push_with_clique(struct reach_graph *g, size_t k, size_t clique)
{
	struct reach_result *ex = &g->res[k];
	if (ex->kind != REACH_DEFINITE || k == clique)
		return;
	push(g, k);
	ex->kind = REACH_INDIRECT;
	g->res[clique].indirect += g->size[k] + ex->indirect;
	ex->indirect = 0;
}

static void process(struct reach_graph *g, long clique)
{
	while (g->sp) {
		size_t k = g->stack[--g->sp];
		g->pending[k] = 0;
		int definite = g->res[k].kind != REACH_POSSIBLE;
		size_t nw = n_words(g, k);
		for (size_t i = 0; i < nw; i++) {
			uint64_t v = word(g, k, i);
			if (v < g->lo || v >= g->hi)
				continue;
			long t = reach_lookup(g, v);
			if (t < 0)
				continue;
			if (clique < 0)
				push_without_clique(g, (size_t)t, v, definite);
			else
				push_with_clique(g, (size_t)t, (size_t)clique);
		}
	}
}

static int load_missing(struct reach_graph *g)
{
	for (size_t k = 0; k < g->n; k++) {
		uint64_t want = n_words(g, k) * 8;
		if (g->got[k] >= want)
			continue;
		if (!g->env || !g->env->read ||
		    g->env->read(g->env->arg, g->start[k], g->words + g->off[k], want) < 0)
			memset(g->words + g->off[k], 0, want);   /* unreadable: holds nothing */
		g->got[k] = want;
	}
	return 0;
}

int reach_classify(struct reach_graph *g, const struct reach_env *env, unsigned heuristics)
{
	g->env = env;
	g->heur = heuristics;
	int err = flush_candidates(g);
	if (err)
		return err;
	load_missing(g);
	for (size_t i = 0; i < g->n_hits; i++) {
		const struct hit *h = &g->hits[i];
		/* a glibc bin/top pointer at the chunk header right after a block */
		if (h->val != g->start[h->idx] && h->val + 8 == g->uend[h->idx] && env &&
		    env->is_free_chunk && env->is_free_chunk(env->arg, h->val))
			continue;
		push_without_clique(g, h->idx, h->val, 1);
		process(g, -1);
	}
	for (size_t i = 0; i < g->n; i++)
		if (g->res[i].kind == REACH_DEFINITE) {
			push(g, i);
			process(g, (long)i);
		}
	return 0;
}

const struct reach_result *reach_result_of(const struct reach_graph *g, size_t i)
{
	return &g->res[g->rank[i]];
}

uint64_t reach_root_words(const struct reach_graph *g)
{
	return g->root_words;
}

void reach_summarize(const struct reach_graph *g, struct reach_summary *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < g->n; i++) {
		const struct reach_result *r = &g->res[i];
		s->bytes[r->kind] += g->size[i];
		s->blocks[r->kind]++;
		if (r->kind == REACH_REACHABLE && r->heuristic) {
			s->h_bytes[r->heuristic] += g->size[i];
			s->h_blocks[r->heuristic]++;
		}
	}
}

/* ---- results by address ------------------------------------------------- */

int reach_report_fill(struct reach_report *rr, const struct reach_graph *g,
		      const struct reach_node *nodes, size_t n)
{
	(void)nodes;
	rr->entries = malloc((n ? n : 1) * sizeof(*rr->entries));
	if (!rr->entries)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		rr->entries[i] = (struct reach_entry){ g->start[i], g->res[i] };
	rr->n_entries = n;
	reach_summarize(g, &rr->sum);
	return 0;
}

const struct reach_result *reach_report_find(const struct reach_report *rr, uint64_t addr)
{
	size_t lo = 0, hi = rr->n_entries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rr->entries[mid].addr == addr)
			return &rr->entries[mid].r;
		if (rr->entries[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void reach_report_release(struct reach_report *rr)
{
	free(rr->entries);
	rr->entries = NULL;
	rr->n_entries = 0;
}
