/* SPDX-License-Identifier: MIT */
/*
 * report.h - the leak report model and its writers.  report_build() groups
 * the ledger's live blocks by stack; the caller symbolizes the frames; the
 * writers format the model as text or JSON.  Pure except for the FILE *
 * they write to.
 */
#ifndef LEAKTRAP_REPORT_H
#define LEAKTRAP_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "leaktrap/ledger.h"
#include "leaktrap/reach.h"
#include "leaktrap/regions.h"
#include "leaktrap/stacks.h"

struct report_frame {
	uint64_t pc;          /* a return address, looked up at pc - 1 */
	char *function;       /* NULL when unknown */
	uint64_t offset;      /* pc - function start; valid if function */
	char *module;         /* object path, NULL when unknown */
	uint64_t module_offset; /* pc in the object's own addresses (pc minus
	                         * its load bias, what addr2line -e takes);
	                         * valid if module */
	char *file;           /* source file, NULL when unknown */
	int line;             /* 0 when unknown */
};

/* One live block, listed with --show-addresses. */
struct report_block {
	uint64_t addr;
	uint64_t size;
	uint64_t age_ns;
};

struct report_stack {
	uint32_t stack_id;
	uint64_t bytes;
	uint64_t blocks;
	uint64_t oldest_ns;     /* age of the oldest block at report time */
	unsigned n_frames;
	struct report_frame *frames;
	unsigned n_list;        /* blocks in list (show_addresses), by address */
	struct report_block *list;
	unsigned n_series;      /* live bytes at each interval report (-i) */
	uint64_t *series;
	/* --reachability: a loss record, keyed by (kind, stack) */
	int kind;               /* enum reach_kind, -1 without */
	uint64_t indirect_bytes;/* definite: bytes lost through these blocks */
	unsigned record;        /* loss record number (1-based), 0 without */
	unsigned mods_gen;      /* module table generation when the stack was
	                         * first seen (0: now), for symbolizing */
};

enum report_sort { REPORT_SORT_BYTES, REPORT_SORT_BLOCKS, REPORT_SORT_AGE };

/* What report_build() keeps and how it orders it. */
struct report_options {
	uint64_t min_size;      /* blocks smaller than this are left out */
	uint64_t max_size;      /* blocks larger are left out; 0: no limit */
	uint64_t older_than_ns; /* blocks younger at now_ns are left out */
	uint64_t now_ns;        /* CLOCK_MONOTONIC time of the report */
	enum report_sort sort;
	int show_addresses;     /* fill each stack's block list */
	/* --reachability: the scan's classification (NULL or not done: a
	 * plain report).  Records are then keyed by (kind, stack) and sorted
	 * like memcheck's loss records; a block the scan did not see (an
	 * allocation still returning) counts as reachable. */
	const struct reach_report *reach;
};

struct report {
	int pid;
	int parent_pid;         /* --follow-forks: the parent of a followed fork
	                         * child; 0 otherwise */
	char *command;          /* comm of the target, NULL when unknown */
	double duration_s;
	const char *end_reason; /* set by the caller (not owned): "duration" |
	                         * "interrupt" | "target-exit" | "exec" | "error" */
	unsigned threads;       /* threads traced at the end (max seen) */
	unsigned functions;     /* allocator functions probed */
	double interval_s;      /* -i, 0 without; series are this far apart */
	struct ledger_totals totals;
	unsigned n_stacks;      /* entries in stacks[] (after --top) */
	unsigned total_stacks;  /* stacks with live blocks, before --top */
	uint64_t leak_bytes;    /* live bytes and blocks of all the stacks */
	uint64_t leak_blocks;   /* kept by filters (and suppressions), before
	                         * --top: what --error-exitcode looks at */
	int filtered;           /* filters, suppressions or a baseline applied */
	unsigned suppressed_stacks; /* dropped by report_apply_suppressions(), */
	uint64_t suppressed_bytes;  /* not in stacks[] nor in the three above; */
	uint64_t suppressed_blocks; /* zero from report_build() */
	struct report_stack *stacks; /* sorted by the options' key, then id;
	                         * with reach: memcheck's loss-record order
	                         * (total bytes ascending, kind, blocks) */
	const struct reach_report *reach; /* not owned: --reachability's scan
	                         * (done or not, with its note); NULL
	                         * without the option */
	unsigned n_records;     /* loss records of every kind */
	unsigned show_kinds;    /* kinds kept (report_select_kinds) */
	unsigned error_kinds;   /* kinds counted in error_* */
	uint64_t error_bytes;   /* blocks of error_kinds left after filters */
	uint64_t error_blocks;  /* and suppressions: what --error-exitcode
	                         * looks at with reach */
	/* --mmap: the program's anonymous mappings, apart from the heap
	 * (report_add_mmap); enabled 0 without --mmap */
	struct {
		int enabled;
		struct region_totals totals;
		unsigned n_stacks;
		struct report_stack *stacks; /* by bytes, then ranges, then id;
		                              * blocks counts ranges */
	} mmap;
};

/* Group the live blocks of lg that pass opts's filters by stack id, sort
 * (bytes, blocks or age of the oldest block, descending; then blocks, then
 * id), and copy each stack's pcs from st.  All stacks are kept: see
 * report_truncate().  Frames are left unsymbolized (function/module/file
 * NULL).  Returns 0 or -ENOMEM; on success *rep_ret must be released with
 * report_release(). */
__attribute__((warn_unused_result))
int report_build(const struct ledger *lg, const struct stacks *st,
		 const struct report_options *opts, struct report *rep_ret);
/* With reach: count the records of error_kinds in error_bytes and
 * error_blocks, then drop the records not of show_kinds (masks of
 * 1 << enum reach_kind).  Without: nothing. */
void report_select_kinds(struct report *rep, unsigned show_kinds, unsigned error_kinds);
/* Fill rep->mmap from the traced mappings: their totals, and their live
 * ranges grouped by stack id (frames from st, unsymbolized), every stack
 * kept (no filters, no --top).  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int report_add_mmap(struct report *rep, const struct regions *rg, const struct stacks *st,
		    uint64_t now_ns);
/* Set total_stacks, leak_bytes and leak_blocks from the stacks present,
 * then keep the first top stacks (0 = all; with reach, the last top: the
 * largest loss records). */
void report_truncate(struct report *rep, unsigned top);
/* Replace mangled C++ function names ("_Z...") by their demangled form;
 * names that do not demangle are kept. */
void report_demangle(struct report *rep);
/* Remove stacks[i] (its frames and list freed), keeping the order. */
void report_drop_stack(struct report *rep, unsigned i);
void report_release(struct report *rep);

/* The report holds loss records (the scan finished). */
static inline int report_has_reach(const struct report *rep)
{
	return rep->reach && rep->reach->done;
}

/* Writers.  Return 0 or a negative errno (-EIO on a write error). */
int report_write_text(const struct report *rep, FILE *out);
int report_write_json(const struct report *rep, FILE *out);
/* Folded stacks for flamegraph.pl: "outermost;...;caller BYTES" per line,
 * equal lines merged, largest first.  Also -ENOMEM. */
int report_write_folded(const struct report *rep, FILE *out);
/* A self-contained SVG flame graph of live bytes by stack, root at the
 * bottom, one <rect> per call-tree node plus one background <rect>.
 * Also -ENOMEM. */
int report_write_svg(const struct report *rep, FILE *out);

#endif
