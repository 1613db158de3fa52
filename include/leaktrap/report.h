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
#include "leaktrap/stacks.h"

struct report_frame {
	uint64_t pc;          /* a return address, looked up at pc - 1 */
	char *function;       /* NULL when unknown */
	uint64_t offset;      /* pc - function start; valid if function */
	char *module;         /* object path, NULL when unknown */
	char *file;           /* source file, NULL when unknown */
	int line;             /* 0 when unknown */
};

struct report_stack {
	uint32_t stack_id;
	uint64_t bytes;
	uint64_t blocks;
	unsigned n_frames;
	struct report_frame *frames;
};

struct report {
	int pid;
	char *command;          /* comm of the target, NULL when unknown */
	double duration_s;
	const char *end_reason; /* set by the caller (not owned): "duration" |
	                         * "interrupt" | "target-exit" | "exec" | "error" */
	unsigned threads;       /* threads traced at the end (max seen) */
	unsigned functions;     /* allocator functions probed */
	struct ledger_totals totals;
	unsigned n_stacks;      /* entries in stacks[] (after --top) */
	unsigned total_stacks;  /* stacks with live blocks, before --top */
	struct report_stack *stacks; /* sorted: bytes desc, blocks desc, id */
};

/* Group the live blocks of lg by stack id, sort largest first, keep the
 * top `top` stacks (0 = all), and copy each stack's pcs from st.
 * Frames are left unsymbolized (function/module/file NULL).
 * Returns 0 or -ENOMEM; on success *rep_ret must be released with
 * report_release(). */
__attribute__((warn_unused_result))
int report_build(const struct ledger *lg, const struct stacks *st,
		 unsigned top, struct report *rep_ret);
void report_release(struct report *rep);

/* Writers.  Return 0 or a negative errno (-EIO on a write error). */
int report_write_text(const struct report *rep, FILE *out);
int report_write_json(const struct report *rep, FILE *out);

#endif
