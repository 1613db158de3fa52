/* SPDX-License-Identifier: MIT */
/*
 * regions.c - traced anonymous mappings (see regions.h): a sorted array of
 * disjoint ranges.  Programs make few mappings, so insertion by memmove
 * is fine and lookups are a binary search.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/regions.h"

struct regions {
	struct region *v;
	size_t n, cap;
	struct region_totals t;
};

struct regions *regions_create(void)
{
	return calloc(1, sizeof(struct regions));
}

void regions_destroy(struct regions *r)
{
	if (!r)
		return;
	free(r->v);
	free(r);
}

/* The first range ending after addr. */
static size_t first_after(const struct regions *r, uint64_t addr)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int reserve(struct regions *r)
{
	if (r->n < r->cap)
		return 0;
	size_t ncap = r->cap ? r->cap * 2 : 16;
	struct region *v = realloc(r->v, ncap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v, r->cap = ncap;
	return 0;
}

static void insert_at(struct regions *r, size_t at, const struct region *reg)
{
	memmove(&r->v[at + 1], &r->v[at], (r->n - at) * sizeof(*r->v));
	r->v[at] = *reg;
	r->n++;
	r->t.live_bytes += reg->end - reg->start;
}

static void remove_at(struct regions *r, size_t at)
{
	r->t.live_bytes -= r->v[at].end - r->v[at].start;
	r->n--;
	memmove(&r->v[at], &r->v[at + 1], (r->n - at) * sizeof(*r->v));
}

int regions_unmap(struct regions *r, uint64_t start, uint64_t end, int count,
		  uint64_t *removed_ret)
{
	uint64_t removed = 0;
	if (removed_ret)
		*removed_ret = 0;
	if (end <= start)
		return 0;
	size_t i = first_after(r, start);
	/* a hole in the middle of one range: it becomes two */
	if (i < r->n && r->v[i].start < start && r->v[i].end > end) {
		if (reserve(r) < 0)
			return -ENOMEM;
		struct region tail = r->v[i];
		tail.start = end;
		r->t.live_bytes -= r->v[i].end - start;
		r->v[i].end = start;
		insert_at(r, i + 1, &tail);
		removed = end - start;
	} else {
		while (i < r->n && r->v[i].start < end) {
			struct region *g = &r->v[i];
			uint64_t lo = g->start > start ? g->start : start;
			uint64_t hi = g->end < end ? g->end : end;
			removed += hi - lo;
			if (lo == g->start && hi == g->end) {
				remove_at(r, i);
				continue;
			}
			r->t.live_bytes -= hi - lo;
			if (lo == g->start)
				g->start = hi;          /* head cut off */
			else
				g->end = lo;            /* tail cut off */
			i++;
		}
	}
	if (removed && count)
		r->t.unmaps++;
	if (removed_ret)
		*removed_ret = removed;
	return 0;
}

int regions_map(struct regions *r, const struct region *reg, int remap)
{
	if (reg->end <= reg->start)
		return 0;
	if (regions_unmap(r, reg->start, reg->end, 0, NULL) < 0 || reserve(r) < 0)
		return -ENOMEM;
	insert_at(r, first_after(r, reg->start), reg);
	if (remap)
		r->t.remaps++;
	else
		r->t.maps++;
	return 0;
}

const struct region *regions_find(const struct regions *r, uint64_t addr)
{
	size_t i = first_after(r, addr);
	return i < r->n && r->v[i].start <= addr ? &r->v[i] : NULL;
}

void regions_totals(const struct regions *r, struct region_totals *t_ret)
{
	*t_ret = r->t;
	t_ret->live_regions = r->n;
}

const struct region *regions_all(const struct regions *r, size_t *n_ret)
{
	*n_ret = r->n;
	return r->v;
}
