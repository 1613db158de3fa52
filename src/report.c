/* SPDX-License-Identifier: MIT */
/*
 * report.c - building and releasing the leak report model.
 *
 * report_build() sums the ledger's live blocks that pass the filters
 * (size, age) per stack id in an array indexed by id (ids are dense), keeps
 * the stacks that still hold blocks, sorts them by the chosen key, copies
 * the stacks' program counters into unsymbolized frames and, on request,
 * lists each stack's blocks.  report_truncate() keeps the top N.  A
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
	struct report_stack *by_id;  /* (n_ids + 1) * kinds (the last: unknown
	                              * ids); with reach, id * 4 + kind */
	uint32_t n_ids;
	unsigned kinds;              /* 1, or REACH_KINDS with reach */
	const struct report_options *opts;
	int err;
};

static uint64_t age_of(const struct ledger_block *b, const struct report_options *o)
{
	return o->now_ns > b->time_ns ? o->now_ns - b->time_ns : 0;
}

static int wanted(const struct ledger_block *b, const struct report_options *o)
{
	return b->size >= o->min_size && (!o->max_size || b->size <= o->max_size) &&
	       age_of(b, o) >= o->older_than_ns;
}

static const struct reach_report *reach_of(const struct report_options *o)
{
	return o->reach && o->reach->done ? o->reach : NULL;
}

static unsigned kind_of(const struct ledger_block *b, const struct report_options *o)
{
	const struct reach_report *rr = reach_of(o);
	const struct reach_result *r = rr ? reach_report_find(rr, b->addr) : NULL;
	return !rr ? 0 : r ? r->kind : REACH_REACHABLE;
}

static uint64_t indirect_of(const struct ledger_block *b, const struct report_options *o)
{
	const struct reach_report *rr = reach_of(o);
	const struct reach_result *r = rr ? reach_report_find(rr, b->addr) : NULL;
	return r && r->kind == REACH_DEFINITE ? r->indirect : 0;
}

static uint32_t index_of(const struct sums *s, const struct ledger_block *b)
{
	uint32_t id = b->stack_id < s->n_ids ? b->stack_id : s->n_ids;
	return id * s->kinds + kind_of(b, s->opts);
}

static int sum_block(const struct ledger_block *b, void *arg)
{
	struct sums *s = arg;
	if (!wanted(b, s->opts))
		return 0;
	struct report_stack *rs = &s->by_id[index_of(s, b)];
	uint64_t age = age_of(b, s->opts);
	rs->bytes += b->size;
	rs->indirect_bytes += indirect_of(b, s->opts);
	rs->blocks++;
	if (age > rs->oldest_ns)
		rs->oldest_ns = age;
	return 0;
}

static enum report_sort sort_key;   /* qsort has no context argument */

/* mc_leakcheck.c cmp_LossRecords: total bytes, kind (definite first),
 * blocks, ascending; then the stack id. */
static int cmp_record(const void *pa, const void *pb)
{
	const struct report_stack *a = pa, *b = pb;
	uint64_t ta = a->bytes + a->indirect_bytes, tb = b->bytes + b->indirect_bytes;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->blocks != b->blocks)
		return a->blocks < b->blocks ? -1 : 1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a == b ? 0 : a > b ? -1 : 1;
}

static int cmp_stack(const void *pa, const void *pb)
{
	const struct report_stack *a = pa, *b = pb;
	int c = sort_key == REPORT_SORT_BLOCKS ? cmp_u64_desc(a->blocks, b->blocks) :
		sort_key == REPORT_SORT_AGE ? cmp_u64_desc(a->oldest_ns, b->oldest_ns) : 0;
	if (c)
		return c;
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

	for (uint32_t i = 0; i < (s->n_ids + 1) * s->kinds; i++) {
		if (s->by_id[i].blocks == 0)
			continue;
		uint32_t id = i / s->kinds;
		s->by_id[n] = s->by_id[i];
		s->by_id[n].stack_id = id < s->n_ids ? id : UINT32_MAX;
		s->by_id[n].kind = reach_of(s->opts) ? (int)(i % s->kinds) : -1;
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
	s->kinds = reach_of(s->opts) ? REACH_KINDS : 1;
	s->by_id = calloc(((size_t)s->n_ids + 1) * s->kinds, sizeof(*s->by_id));
	if (!s->by_id)
		return -ENOMEM;
	ledger_foreach(lg, sum_block, s);
	return 0;
}

/* ---- block lists (--show-addresses) ------------------------------------ */

struct lists {
	struct report *rep;
	uint32_t *slot;      /* stack id (+1 for unknown) (* kinds + kind)
	                      * -> index in stacks */
	uint32_t n_ids;
	unsigned kinds;
	const struct report_options *opts;
};

static int list_block(const struct ledger_block *b, void *arg)
{
	struct lists *l = arg;
	uint32_t id = (b->stack_id < l->n_ids ? b->stack_id : l->n_ids) * l->kinds +
		      kind_of(b, l->opts);
	if (!wanted(b, l->opts) || l->slot[id] == UINT32_MAX)
		return 0;
	struct report_stack *rs = &l->rep->stacks[l->slot[id]];
	rs->list[rs->n_list++] = (struct report_block){ b->addr, b->size, age_of(b, l->opts) };
	return 0;
}

static int cmp_block(const void *pa, const void *pb)
{
	const struct report_block *a = pa, *b = pb;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int list_blocks(struct report *rep, const struct ledger *lg, uint32_t n_ids,
		       const struct report_options *opts)
{
	unsigned kinds = reach_of(opts) ? REACH_KINDS : 1;
	size_t n_slots = ((size_t)n_ids + 1) * kinds;
	struct lists l = { rep, calloc(n_slots, sizeof(uint32_t)), n_ids, kinds, opts };
	if (!l.slot)
		return -ENOMEM;
	memset(l.slot, 0xff, n_slots * sizeof(uint32_t));
	for (unsigned i = 0; i < rep->n_stacks; i++) {
		struct report_stack *rs = &rep->stacks[i];
		l.slot[(rs->stack_id < n_ids ? rs->stack_id : n_ids) * kinds +
		       (rs->kind > 0 ? (unsigned)rs->kind : 0)] = i;
		rs->list = calloc(rs->blocks, sizeof(*rs->list));
		if (!rs->list) {
			free(l.slot);
			return -ENOMEM;
		}
	}
	ledger_foreach(lg, list_block, &l);
	free(l.slot);
	for (unsigned i = 0; i < rep->n_stacks; i++)
		qsort(rep->stacks[i].list, rep->stacks[i].n_list, sizeof(struct report_block),
		      cmp_block);
	return 0;
}

int report_build(const struct ledger *lg, const struct stacks *st,
		 const struct report_options *opts, struct report *rep_ret)
{
	struct sums s = { .opts = opts };
	unsigned n;

	memset(rep_ret, 0, sizeof(*rep_ret));
	if (group(lg, st, &s) < 0)
		return -ENOMEM;
	n = compact(&s);
	sort_key = opts->sort;
	qsort(s.by_id, n, sizeof(*s.by_id), reach_of(opts) ? cmp_record : cmp_stack);
	ledger_totals(lg, &rep_ret->totals);
	rep_ret->n_stacks = n;
	rep_ret->reach = opts->reach;
	if (reach_of(opts)) {
		rep_ret->n_records = n;
		rep_ret->show_kinds = rep_ret->error_kinds = REACH_MASK_ALL;
		for (unsigned i = 0; i < n; i++)
			s.by_id[i].record = i + 1;
	}
	rep_ret->stacks = s.by_id;
	if (n == 0) {
		free(s.by_id);
		rep_ret->stacks = NULL;
	}
	if (copy_all_frames(rep_ret, st) < 0 ||
	    (opts->show_addresses && list_blocks(rep_ret, lg, s.n_ids, opts) < 0)) {
		report_release(rep_ret);
		return -ENOMEM;
	}
	report_truncate(rep_ret, 0);
	return 0;
}

static int cmp_mmap_stack(const void *pa, const void *pb)
{
	const struct report_stack *a = pa, *b = pb;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->blocks != b->blocks)
		return a->blocks > b->blocks ? -1 : 1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

int report_add_mmap(struct report *rep, const struct regions *rg, const struct stacks *st,
		    uint64_t now_ns)
{
	size_t n;
	const struct region *v = regions_all(rg, &n);
	uint32_t n_ids = stacks_count(st);
	rep->mmap.enabled = 1;
	regions_totals(rg, &rep->mmap.totals);
	if (!n)
		return 0;
	struct report_stack *by_id = calloc((size_t)n_ids + 1, sizeof(*by_id));
	if (!by_id)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct report_stack *rs = &by_id[v[i].stack_id < n_ids ? v[i].stack_id : n_ids];
		uint64_t age = now_ns > v[i].time_ns ? now_ns - v[i].time_ns : 0;
		rs->bytes += v[i].end - v[i].start;
		rs->blocks++;
		if (age > rs->oldest_ns)
			rs->oldest_ns = age;
	}
	unsigned k = 0;
	for (uint32_t i = 0; i <= n_ids; i++)
		if (by_id[i].blocks) {
			by_id[k] = by_id[i];
			by_id[k++].stack_id = i < n_ids ? i : UINT32_MAX;
		}
	qsort(by_id, k, sizeof(*by_id), cmp_mmap_stack);
	rep->mmap.stacks = by_id, rep->mmap.n_stacks = k;
	for (unsigned i = 0; i < k; i++)
		if (copy_frames(&by_id[i], st) < 0)
			return -ENOMEM;     /* report_release() frees what is there */
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
	free(rs->list);
	free(rs->series);
}

/* libstdc++'s demangler (C linkage, part of the C++ ABI). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static void demangle_stacks(struct report_stack *stacks, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < stacks[i].n_frames; j++) {
			struct report_frame *f = &stacks[i].frames[j];
			int status = -1;
			if (!f->function || strncmp(f->function, "_Z", 2))
				continue;
			char *d = __cxa_demangle(f->function, NULL, NULL, &status);
			if (status == 0 && d) {
				free(f->function);
				f->function = d;
			} else {
				free(d);
			}
		}
}

void report_demangle(struct report *rep)
{
	demangle_stacks(rep->stacks, rep->n_stacks);
	demangle_stacks(rep->mmap.stacks, rep->mmap.n_stacks);
}

void report_drop_stack(struct report *rep, unsigned i)
{
	if (i >= rep->n_stacks)
		return;
	release_stack(&rep->stacks[i]);
	memmove(&rep->stacks[i], &rep->stacks[i + 1],
		(rep->n_stacks - i - 1) * sizeof(rep->stacks[0]));
	rep->n_stacks--;
}

void report_select_kinds(struct report *rep, unsigned show_kinds, unsigned error_kinds)
{
	if (!rep->reach)
		return;
	rep->show_kinds = show_kinds;
	rep->error_kinds = error_kinds;
	if (!rep->reach->done)
		return;
	rep->error_bytes = rep->error_blocks = 0;
	for (unsigned i = 0; i < rep->n_stacks; i++)
		if (error_kinds & (1u << rep->stacks[i].kind)) {
			rep->error_bytes += rep->stacks[i].bytes;
			rep->error_blocks += rep->stacks[i].blocks;
		}
	for (unsigned i = rep->n_stacks; i-- > 0;)
		if (!(show_kinds & (1u << rep->stacks[i].kind)))
			report_drop_stack(rep, i);
}

void report_truncate(struct report *rep, unsigned top)
{
	rep->total_stacks = rep->n_stacks;
	rep->leak_bytes = rep->leak_blocks = 0;
	for (unsigned i = 0; i < rep->n_stacks; i++) {
		rep->leak_bytes += rep->stacks[i].bytes;
		rep->leak_blocks += rep->stacks[i].blocks;
	}
	while (top && rep->n_stacks > top)
		report_drop_stack(rep, report_has_reach(rep) ? 0 : rep->n_stacks - 1);
}

void report_release(struct report *rep)
{
	if (!rep)
		return;
	for (unsigned i = 0; i < rep->n_stacks; i++)
		release_stack(&rep->stacks[i]);
	free(rep->stacks);
	for (unsigned i = 0; i < rep->mmap.n_stacks; i++)
		release_stack(&rep->mmap.stacks[i]);
	free(rep->mmap.stacks);
	free(rep->command);
	memset(rep, 0, sizeof(*rep));
}
