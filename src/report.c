/* SPDX-License-Identifier: MIT */
/*
 * report.c - building and releasing the leak report model.
 *
 * report_build() sums the ledger's live blocks per stack id in an array
 * indexed by id (ids are dense), keeps the stacks that still hold blocks,
 * sorts them (bytes desc, blocks desc, id asc), truncates to the top N and
 * copies the kept stacks' program counters into unsymbolized frames.  A
 * block whose stack id the table does not know (a caller bug) is summed
 * into one extra stack with id UINT32_MAX and no frames, so the stacks
 * always add up to the totals.
 *
 * It does not symbolize, and leaves pid, command, duration_s, end_reason,
 * threads and functions for the caller to fill in.  report_release() frees
 * everything the model owns: command, the stacks and the frames' strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/report.h"

struct sums {
	struct report_stack *by_id;  /* n_ids + 1 (the last: unknown ids) */
	uint32_t n_ids;
};

static int sum_block(const struct ledger_block *b, void *arg)
{
	struct sums *s = arg;
	uint32_t i = b->stack_id < s->n_ids ? b->stack_id : s->n_ids;

	s->by_id[i].bytes += b->size;
	s->by_id[i].blocks++;
	return 0;
}

static int cmp_stack(const void *pa, const void *pb)
{
	const struct report_stack *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->blocks != b->blocks)
		return a->blocks > b->blocks ? -1 : 1;
	if (a->stack_id != b->stack_id)
		return a->stack_id < b->stack_id ? -1 : 1;
	return 0;
}

/* Move the stacks with live blocks to the front of s->by_id; their count. */
static unsigned compact(struct sums *s)
{
	unsigned n = 0;

	for (uint32_t i = 0; i <= s->n_ids; i++) {
		if (s->by_id[i].blocks == 0)
			continue;
		s->by_id[n] = s->by_id[i];
		s->by_id[n].stack_id = i < s->n_ids ? i : UINT32_MAX;
		n++;
	}
	return n;
}

static int copy_frames(struct report_stack *rs, const struct stacks *st)
{
	unsigned n = 0;
	const uint64_t *pcs = stacks_get(st, rs->stack_id, &n);

	rs->n_frames = 0;
	rs->frames = NULL;
	if (!pcs || n == 0)
		return 0;
	rs->frames = calloc(n, sizeof(*rs->frames));
	if (!rs->frames)
		return -ENOMEM;
	rs->n_frames = n;
	for (unsigned i = 0; i < n; i++)
		rs->frames[i].pc = pcs[i];
	return 0;
}

/* Trim the array to the n kept stacks (it was sized by stack count). */
static struct report_stack *shrink(struct report_stack *a, unsigned n)
{
	struct report_stack *small;

	if (n == 0) {
		free(a);
		return NULL;
	}
	small = realloc(a, n * sizeof(*a));
	return small ? small : a;
}

static int copy_all_frames(struct report *rep, const struct stacks *st)
{
	for (unsigned i = 0; i < rep->n_stacks; i++) {
		if (copy_frames(&rep->stacks[i], st) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int group(const struct ledger *lg, const struct stacks *st,
		 struct sums *s)
{
	s->n_ids = stacks_count(st);
	s->by_id = calloc((size_t)s->n_ids + 1, sizeof(*s->by_id));
	if (!s->by_id)
		return -ENOMEM;
	ledger_foreach(lg, sum_block, s);
	return 0;
}

int report_build(const struct ledger *lg, const struct stacks *st,
		 unsigned top, struct report *rep_ret)
{
	struct sums s;
	unsigned n;

	memset(rep_ret, 0, sizeof(*rep_ret));
	if (group(lg, st, &s) < 0)
		return -ENOMEM;
	n = compact(&s);
	qsort(s.by_id, n, sizeof(*s.by_id), cmp_stack);
	ledger_totals(lg, &rep_ret->totals);
	rep_ret->total_stacks = n;
	rep_ret->n_stacks = top != 0 && top < n ? top : n;
	rep_ret->stacks = shrink(s.by_id, rep_ret->n_stacks);
	if (copy_all_frames(rep_ret, st) < 0) {
		report_release(rep_ret);
		return -ENOMEM;
	}
	return 0;
}

static void release_stack(struct report_stack *rs)
{
	for (unsigned i = 0; i < rs->n_frames; i++) {
		free(rs->frames[i].function);
		free(rs->frames[i].module);
		free(rs->frames[i].file);
	}
	free(rs->frames);
}

void report_release(struct report *rep)
{
	if (!rep)
		return;
	for (unsigned i = 0; i < rep->n_stacks; i++)
		release_stack(&rep->stacks[i]);
	free(rep->stacks);
	free(rep->command);
	memset(rep, 0, sizeof(*rep));
}
