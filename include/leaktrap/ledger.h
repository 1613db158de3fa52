/* SPDX-License-Identifier: MIT */
/*
 * ledger.h - the table of live blocks allocated while tracing, keyed by
 * address, with running totals.  Pure: fed by events, no I/O.
 *
 * Counting rules (docs/report-format.md):
 *   allocs        every block that appeared (malloc, calloc, the new block
 *                 of a realloc, memalign family, ...)
 *   frees         every traced block that went away (free, the old block of
 *                 a successful realloc)
 *   frees_unknown frees of addresses never seen (allocated before attach)
 */
#ifndef LEAKTRAP_LEDGER_H
#define LEAKTRAP_LEDGER_H

#include <stdint.h>

struct ledger;

struct ledger_block {
	uint64_t addr;
	uint64_t size;
	uint64_t time_ns;   /* CLOCK_MONOTONIC time of the allocation */
	uint32_t stack_id;
	uint32_t tid;
};

struct ledger_totals {
	uint64_t allocs;
	uint64_t frees;
	uint64_t frees_unknown;
	uint64_t live_blocks;
	uint64_t live_bytes;
};

struct ledger *ledger_create(void);
void ledger_destroy(struct ledger *lg);   /* accepts NULL */

/* A block appeared.  If addr is already live (its free was not seen),
 * the old entry is replaced and counted as freed.
 * Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int ledger_alloc(struct ledger *lg, const struct ledger_block *b);

/* addr was freed.  Returns 0 if it was live, -ENOENT if it was unknown
 * (counted in frees_unknown).  addr 0 is a no-op returning 0. */
int ledger_free(struct ledger *lg, uint64_t addr);

/* Remove addr without counting anything (a realloc in flight takes its
 * old block out; see ledger_alloc/ledger_free/ledger_restore for the
 * outcome).  Returns 0 and fills *b_ret, or -ENOENT. */
int ledger_take(struct ledger *lg, uint64_t addr, struct ledger_block *b_ret);

/* Put back a block removed by ledger_take (the realloc failed). */
__attribute__((warn_unused_result))
int ledger_restore(struct ledger *lg, const struct ledger_block *b);

/* Count a free of a block that ledger_take removed (realloc succeeded). */
void ledger_count_free(struct ledger *lg, int was_known);

void ledger_totals(const struct ledger *lg, struct ledger_totals *t_ret);

/* Call fn for every live block, in no particular order; stops early and
 * returns fn's value if it is non-zero. */
int ledger_foreach(const struct ledger *lg,
		   int (*fn)(const struct ledger_block *b, void *arg), void *arg);

#endif
