/* SPDX-License-Identifier: MIT */
/*
 * report-text.c - the human-readable report, shaped like memleak's:
 *
 *   leaktrap: pid 4242 (app) traced 3.0 s: 12 allocs, 2 frees, ...
 *
 *   81920 bytes in 10 allocations from stack
 *       fibonacci+0x1f (app.c:7) [app]
 *       start_thread+0xf2 [libc.so.6]
 *
 * Source files and modules are shown by basename.  A frame without a
 * function is shown as module+offset ("app+0x11a5 [app]"); one without a
 * module as its pc and "[unknown]".  It does not wrap or truncate long
 * names, and does not symbolize.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "leaktrap/report.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void write_header(const struct report *rep, FILE *out)
{
	const struct ledger_totals *t = &rep->totals;

	fprintf(out, "leaktrap: pid %d (%s) traced %.1f s: %" PRIu64
		" allocs, %" PRIu64 " frees, %" PRIu64 " live blocks (%" PRIu64
		" bytes)\n", rep->pid, rep->command ? rep->command : "?",
		rep->duration_s, t->allocs, t->frees, t->live_blocks,
		t->live_bytes);
	if (rep->parent_pid)
		fprintf(out, "leaktrap: pid %d is a fork child of pid %d (--follow-forks)\n",
			rep->pid, rep->parent_pid);
	if (t->frees_unknown > 0)
		fprintf(out, "leaktrap: %" PRIu64 " %s allocated before "
			"tracing ignored\n", t->frees_unknown,
			plural(t->frees_unknown, "free of a block",
			       "frees of blocks"));
	if (t->live_blocks == 0)
		fputs("leaktrap: no leaks: every block allocated while "
		      "tracing was freed\n", out);
	else if (rep->filtered)
		fprintf(out, "leaktrap: %" PRIu64 " %s in %" PRIu64 " %s left after "
			"filters, suppressions and baseline\n", rep->leak_bytes,
			plural(rep->leak_bytes, "byte", "bytes"), rep->leak_blocks,
			plural(rep->leak_blocks, "block", "blocks"));
	if (rep->suppressed_stacks)
		fprintf(out, "leaktrap: %" PRIu64 " %s in %" PRIu64 " %s suppressed "
			"(%u %s)\n", rep->suppressed_bytes,
			plural(rep->suppressed_bytes, "byte", "bytes"), rep->suppressed_blocks,
			plural(rep->suppressed_blocks, "block", "blocks"),
			rep->suppressed_stacks, plural(rep->suppressed_stacks, "stack", "stacks"));
}

/* memleak -a's shape: one line per block. */
static void write_list(const struct report_stack *rs, FILE *out)
{
	for (unsigned i = 0; i < rs->n_list; i++)
		fprintf(out, "    addr = %" PRIx64 " size = %" PRIu64 " age = %.1f s\n",
			rs->list[i].addr, rs->list[i].size, (double)rs->list[i].age_ns / 1e9);
}

/* Live bytes at each interval report: a leak keeps growing. */
static void write_series(const struct report_stack *rs, FILE *out)
{
	if (!rs->n_series)
		return;
	fputs("    growth:", out);
	for (unsigned i = 0; i < rs->n_series; i++)
		fprintf(out, " %" PRIu64, rs->series[i]);
	fprintf(out, " %" PRIu64 " bytes\n", rs->bytes);
}

static void write_frame(const struct report_frame *f, FILE *out)
{
	if (f->function)
		fprintf(out, "    %s+0x%" PRIx64, f->function, f->offset);
	else if (f->module)
		fprintf(out, "    %s+0x%" PRIx64, base_name(f->module), f->module_offset);
	else
		fprintf(out, "    0x%" PRIx64, f->pc);
	if (f->file && f->line > 0)
		fprintf(out, " (%s:%d)", base_name(f->file), f->line);
	else if (f->file)
		fprintf(out, " (%s)", base_name(f->file));
	fprintf(out, " [%s]\n", f->module ? base_name(f->module) : "unknown");
}

static void write_stack(const struct report_stack *rs, FILE *out)
{
	fprintf(out, "\n%" PRIu64 " %s in %" PRIu64 " %s from stack\n",
		rs->bytes, plural(rs->bytes, "byte", "bytes"), rs->blocks,
		plural(rs->blocks, "allocation", "allocations"));
	write_list(rs, out);
	for (unsigned i = 0; i < rs->n_frames; i++)
		write_frame(&rs->frames[i], out);
	write_series(rs, out);
}

static void write_trailer(const struct report *rep, FILE *out)
{
	unsigned more = rep->total_stacks > rep->n_stacks ?
			rep->total_stacks - rep->n_stacks : 0;

	if (rep->n_stacks == 0 && more == 0)
		return;
	if (more > 0)
		fprintf(out, "\nleaktrap: %u more %s not shown (use -T to "
			"show more)\n", more, plural(more, "stack", "stacks"));
	fputc('\n', out);
}

int report_write_text(const struct report *rep, FILE *out)
{
	write_header(rep, out);
	for (unsigned i = 0; i < rep->n_stacks; i++)
		write_stack(&rep->stacks[i], out);
	write_trailer(rep, out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
