/* SPDX-License-Identifier: MIT */
/*
 * ledger.c - the table of live blocks, keyed by address, with totals.
 *
 * The blocks sit directly in an open-addressing table: power-of-two
 * capacity, Fibonacci hashing of the address, linear probing, and
 * backward-shift deletion (no tombstones, so lookups never slow down with
 * churn).  The table doubles when it would pass 3/4 full and never
 * shrinks.  Address 0 marks an empty slot; it is never a live block
 * (ledger_alloc ignores it, ledger_free treats it as free(NULL)).
 *
 * It does not know about threads, stacks or time beyond storing them, and
 * performs no I/O.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/ledger.h"

#define LEDGER_MIN_BITS 10u

struct ledger {
	struct ledger_block *slots;
	size_t mask;               /* capacity - 1 */
	unsigned bits;             /* capacity == 1 << bits */
	size_t count;              /* live blocks */
	struct ledger_totals t;    /* live_blocks is derived from count */
};

static size_t home_of(const struct ledger *lg, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> (64 - lg->bits));
}

/* The slot holding addr, or the empty slot that ends its probe run. */
static size_t probe(const struct ledger *lg, uint64_t addr)
{
	size_t i = home_of(lg, addr);

	while (lg->slots[i].addr != 0 && lg->slots[i].addr != addr)
		i = (i + 1) & lg->mask;
	return i;
}

static int table_init(struct ledger *lg, unsigned bits)
{
	lg->slots = calloc((size_t)1 << bits, sizeof(*lg->slots));
	if (!lg->slots)
		return -ENOMEM;
	lg->bits = bits;
	lg->mask = ((size_t)1 << bits) - 1;
	return 0;
}

struct ledger *ledger_create(void)
{
	struct ledger *lg = calloc(1, sizeof(*lg));

	if (lg && table_init(lg, LEDGER_MIN_BITS) < 0) {
		free(lg);
		return NULL;
	}
	return lg;
}

void ledger_destroy(struct ledger *lg)
{
	if (!lg)
		return;
	free(lg->slots);
	free(lg);
}

static int grow(struct ledger *lg)
{
	struct ledger old = *lg;

	if (lg->bits >= 8 * sizeof(size_t) - 6)
		return -ENOMEM;
	if (table_init(lg, old.bits + 1) < 0) {
		*lg = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i <= old.mask; i++) {
		if (old.slots[i].addr != 0)
			lg->slots[probe(lg, old.slots[i].addr)] = old.slots[i];
	}
	free(old.slots);
	return 0;
}

/* Insert or replace b; a replaced block is counted as freed. */
static int put(struct ledger *lg, const struct ledger_block *b)
{
	size_t i;

	if ((lg->count + 1) * 4 > (lg->mask + 1) * 3 && grow(lg) < 0)
		return -ENOMEM;
	i = probe(lg, b->addr);
	if (lg->slots[i].addr != 0) {
		lg->t.frees++;
		lg->t.live_bytes -= lg->slots[i].size;
	} else {
		lg->count++;
	}
	lg->slots[i] = *b;
	lg->t.live_bytes += b->size;
	return 0;
}

int ledger_alloc(struct ledger *lg, const struct ledger_block *b)
{
	if (b->addr == 0)
		return 0;
	if (put(lg, b) < 0)
		return -ENOMEM;
	lg->t.allocs++;
	return 0;
}

int ledger_restore(struct ledger *lg, const struct ledger_block *b)
{
	if (b->addr == 0)
		return 0;
	return put(lg, b);
}

/* Empty slot i, shifting later members of its probe run back. */
static void remove_at(struct ledger *lg, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & lg->mask;
		if (lg->slots[j].addr == 0)
			break;
		if (((j - home_of(lg, lg->slots[j].addr)) & lg->mask) >=
		    ((j - i) & lg->mask)) {
			lg->slots[i] = lg->slots[j];
			i = j;
		}
	}
	lg->slots[i].addr = 0;
}

int ledger_take(struct ledger *lg, uint64_t addr, struct ledger_block *b_ret)
{
	size_t i;

	if (addr == 0)
		return -ENOENT;
	i = probe(lg, addr);
	if (lg->slots[i].addr == 0)
		return -ENOENT;
	*b_ret = lg->slots[i];
	lg->t.live_bytes -= b_ret->size;
	lg->count--;
	remove_at(lg, i);
	return 0;
}

int ledger_free(struct ledger *lg, uint64_t addr)
{
	struct ledger_block b;

	if (addr == 0)
		return 0;
	if (ledger_take(lg, addr, &b) < 0) {
		lg->t.frees_unknown++;
		return -ENOENT;
	}
	lg->t.frees++;
	return 0;
}

void ledger_count_free(struct ledger *lg, int was_known)
{
	if (was_known)
		lg->t.frees++;
	else
		lg->t.frees_unknown++;
}

void ledger_totals(const struct ledger *lg, struct ledger_totals *t_ret)
{
	*t_ret = lg->t;
	t_ret->live_blocks = lg->count;
}

int ledger_foreach(const struct ledger *lg,
		   int (*fn)(const struct ledger_block *b, void *arg), void *arg)
{
	for (size_t i = 0; i <= lg->mask; i++) {
		int rc;

		if (lg->slots[i].addr == 0)
			continue;
		rc = fn(&lg->slots[i], arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}
