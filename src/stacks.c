/* SPDX-License-Identifier: MIT */
/*
 * stacks.c - interning of allocation stacks.
 *
 * Each distinct list of program counters gets a dense id (0, 1, ...).  The
 * frames live in an arena of fixed-size chunks that never move (a stack
 * larger than a chunk gets a chunk of its own), so the pointers handed out
 * by stacks_get() stay valid until stacks_destroy().  Lookup goes through
 * an open-addressing index (linear probing, power-of-two capacity, load at
 * most 1/2) that maps a hash of the list to its id; the per-id records keep
 * the full hash, so growing the index never rehashes the frames.
 *
 * It does not symbolize, compare stacks by prefix, or ever forget a stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/stacks.h"

#define SLOT_EMPTY UINT32_MAX
#define INDEX_MIN_CAP 1024u
#define CHUNK_PCS 65536u  /* uint64_t per arena chunk (512 KiB) */

struct stack_rec {
	uint64_t hash;
	const uint64_t *pcs;
	unsigned n;
};

struct chunk {
	struct chunk *next;
	size_t used;
	size_t cap;
	uint64_t pcs[];
};

struct stacks {
	struct stack_rec *recs;   /* indexed by id */
	uint32_t n_recs;
	uint32_t cap_recs;
	uint32_t *index;          /* ids, SLOT_EMPTY when free */
	uint32_t index_mask;      /* capacity - 1 */
	struct chunk *chunks;     /* newest first; the head takes small stacks */
};

/* What stacks_get() returns for a zero-length stack: non-NULL, never read. */
static const uint64_t empty_stack[1];

static uint64_t hash_pcs(const uint64_t *pcs, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;

	for (unsigned i = 0; i < n; i++) {
		h ^= pcs[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

struct stacks *stacks_create(void)
{
	struct stacks *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->index = malloc(INDEX_MIN_CAP * sizeof(*st->index));
	if (!st->index) {
		free(st);
		return NULL;
	}
	memset(st->index, 0xff, INDEX_MIN_CAP * sizeof(*st->index));
	st->index_mask = INDEX_MIN_CAP - 1;
	return st;
}

void stacks_destroy(struct stacks *st)
{
	if (!st)
		return;
	while (st->chunks) {
		struct chunk *next = st->chunks->next;

		free(st->chunks);
		st->chunks = next;
	}
	free(st->index);
	free(st->recs);
	free(st);
}

static int rec_equal(const struct stack_rec *r, uint64_t hash,
		     const uint64_t *pcs, unsigned n)
{
	return r->hash == hash && r->n == n &&
	       (n == 0 || memcmp(r->pcs, pcs, n * sizeof(*pcs)) == 0);
}

/* The index slot holding the id of pcs, or the empty slot where it goes. */
static uint32_t *index_find(const struct stacks *st, uint64_t hash,
			    const uint64_t *pcs, unsigned n)
{
	size_t i = hash & st->index_mask;

	for (;; i = (i + 1) & st->index_mask) {
		uint32_t id = st->index[i];

		if (id == SLOT_EMPTY || rec_equal(&st->recs[id], hash, pcs, n))
			return &st->index[i];
	}
}

/* Lay out every id in index (all slots, mask + 1 of them, are rewritten). */
static void index_fill(const struct stacks *st, uint32_t *index, size_t mask)
{
	memset(index, 0xff, (mask + 1) * sizeof(*index));
	for (uint32_t id = 0; id < st->n_recs; id++) {
		size_t i = st->recs[id].hash & mask;

		while (index[i] != SLOT_EMPTY)
			i = (i + 1) & mask;
		index[i] = id;
	}
}

static int index_grow(struct stacks *st)
{
	size_t cap = ((size_t)st->index_mask + 1) * 2;
	uint32_t *index;

	if (cap - 1 > UINT32_MAX)
		return -ENOMEM;
	index = malloc(cap * sizeof(*index));
	if (!index)
		return -ENOMEM;
	index_fill(st, index, cap - 1);
	free(st->index);
	st->index = index;
	st->index_mask = (uint32_t)(cap - 1);
	return 0;
}

static int recs_reserve(struct stacks *st)
{
	struct stack_rec *recs;
	uint32_t cap;

	if (st->n_recs < st->cap_recs)
		return 0;
	if (st->cap_recs >= UINT32_MAX / 2)
		return -ENOMEM;   /* ids would collide with SLOT_EMPTY */
	cap = st->cap_recs ? st->cap_recs * 2 : 256;
	recs = realloc(st->recs, (size_t)cap * sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	st->recs = recs;
	st->cap_recs = cap;
	return 0;
}

/* A new, empty head chunk with room for cap pcs, or NULL. */
static struct chunk *chunk_new(struct stacks *st, size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap * sizeof(c->pcs[0]));

	if (!c)
		return NULL;
	c->used = 0;
	c->cap = cap;
	c->next = st->chunks;
	st->chunks = c;
	return c;
}

/* Copy pcs into the arena; the copy never moves.  NULL when out of memory. */
static const uint64_t *arena_store(struct stacks *st, const uint64_t *pcs,
				   unsigned n)
{
	struct chunk *c = st->chunks;
	uint64_t *dst;

	if (n == 0)
		return empty_stack;
	if (!c || c->cap - c->used < n) {
		c = chunk_new(st, n > CHUNK_PCS ? n : CHUNK_PCS);
		if (!c)
			return NULL;
	}
	dst = c->pcs + c->used;
	memcpy(dst, pcs, n * sizeof(*pcs));
	c->used += n;
	return dst;
}

static int stacks_add(struct stacks *st, uint64_t hash, const uint64_t *pcs,
		      unsigned n, uint32_t *slot)
{
	const uint64_t *copy;

	if (recs_reserve(st) < 0)
		return -ENOMEM;
	copy = arena_store(st, pcs, n);
	if (!copy)
		return -ENOMEM;
	st->recs[st->n_recs] = (struct stack_rec){ hash, copy, n };
	*slot = st->n_recs++;
	return 0;
}

int stacks_intern(struct stacks *st, const uint64_t *pcs, unsigned n,
		  uint32_t *id_ret)
{
	uint64_t hash = hash_pcs(pcs, n);
	uint32_t *slot;

	if (((size_t)st->n_recs + 1) * 2 > (size_t)st->index_mask + 1 &&
	    index_grow(st) < 0)
		return -ENOMEM;
	slot = index_find(st, hash, pcs, n);
	if (*slot == SLOT_EMPTY && stacks_add(st, hash, pcs, n, slot) < 0)
		return -ENOMEM;
	*id_ret = *slot;
	return 0;
}

const uint64_t *stacks_get(const struct stacks *st, uint32_t id, unsigned *n_ret)
{
	if (id >= st->n_recs) {
		*n_ret = 0;
		return NULL;
	}
	*n_ret = st->recs[id].n;
	return st->recs[id].pcs;
}

uint32_t stacks_count(const struct stacks *st)
{
	return st->n_recs;
}
