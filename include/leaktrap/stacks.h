/* SPDX-License-Identifier: MIT */
/*
 * stacks.h - interning of allocation stacks.  A stack is a list of program
 * counters, innermost first (frame 0 is the allocator's caller's return
 * address).  Identical lists share one id.  Pure: no I/O.
 */
#ifndef LEAKTRAP_STACKS_H
#define LEAKTRAP_STACKS_H

#include <stdint.h>

struct stacks;

/* An empty table, or NULL when out of memory. */
struct stacks *stacks_create(void);
/* Frees the table; accepts NULL. */
void stacks_destroy(struct stacks *st);

/* Intern pcs[0..n) and store its id in *id_ret (ids are dense: 0, 1, ...).
 * n may be 0 (an unknown stack).  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int stacks_intern(struct stacks *st, const uint64_t *pcs, unsigned n,
		  uint32_t *id_ret);

/* The frames of stack id; *n_ret receives their count.  The pointer stays
 * valid until stacks_destroy().  NULL if id is unknown. */
const uint64_t *stacks_get(const struct stacks *st, uint32_t id, unsigned *n_ret);

/* Number of distinct stacks interned so far. */
uint32_t stacks_count(const struct stacks *st);

#endif
