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
 * names, and does not symbolize.  Names come from the target and can hold
 * any byte: control characters (a newline, a terminal escape) are written
 * as '?', so a name can neither break a line nor drive the terminal.
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

/* Write a name from the target, with every control character as '?'. */
static void put_name(const char *s, FILE *out)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void write_header(const struct report *rep, FILE *out)
{
	const struct ledger_totals *t = &rep->totals;

	fprintf(out, "leaktrap: pid %d (", rep->pid);
	put_name(rep->command ? rep->command : "?", out);
	fprintf(out, ") traced %.1f s: %" PRIu64 " allocs, %" PRIu64 " frees, %"
		PRIu64 " live blocks (%" PRIu64 " bytes)\n", rep->duration_s,
		t->allocs, t->frees, t->live_blocks, t->live_bytes);
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
	fputs("    ", out);
	if (f->function || f->module) {
		put_name(f->function ? f->function : base_name(f->module), out);
		fprintf(out, "+0x%" PRIx64, f->function ? f->offset : f->module_offset);
	} else {
		fprintf(out, "0x%" PRIx64, f->pc);
	}
	if (f->file) {
		fputs(" (", out);
		put_name(base_name(f->file), out);
		if (f->line > 0)
			fprintf(out, ":%d", f->line);
		fputc(')', out);
	}
	fputs(" [", out);
	put_name(f->module ? base_name(f->module) : "unknown", out);
	fputs("]\n", out);
}

/* valgrind's numbers: 1,234,567 */
static const char *commas(uint64_t v, char *buf)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v), j = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = 0;
	return buf;
}

static const char *const kind_phrase[REACH_KINDS] = {
	"definitely lost", "indirectly lost", "possibly lost", "still reachable"
};

/* memcheck's loss record line */
static void write_record_head(const struct report *rep, const struct report_stack *rs,
			      FILE *out)
{
	char a[32], b[32], c[32], d[32];
	if (rs->kind == REACH_DEFINITE && rs->indirect_bytes)
		fprintf(out, "\n%s (%s direct, %s indirect) bytes in %s blocks are %s in "
			"loss record %u of %u\n", commas(rs->bytes + rs->indirect_bytes, a),
			commas(rs->bytes, b), commas(rs->indirect_bytes, c),
			commas(rs->blocks, d), kind_phrase[rs->kind], rs->record, rep->n_records);
	else
		fprintf(out, "\n%s bytes in %s blocks are %s in loss record %u of %u\n",
			commas(rs->bytes, a), commas(rs->blocks, b),
			kind_phrase[rs->kind & 3], rs->record, rep->n_records);
}

static void write_stack(const struct report *rep, const struct report_stack *rs, FILE *out)
{
	if (report_has_reach(rep))
		write_record_head(rep, rs, out);
	else
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

/* The scan's note and stop time, before the records. */
static void write_reach_header(const struct report *rep, FILE *out)
{
	const struct reach_report *rr = rep->reach;
	if (!rr)
		return;
	if (!rr->done) {
		fprintf(out, "leaktrap: no reachability: %s; blocks not freed are listed as "
			"before\n", rr->note[0] ? rr->note : "the scan did not run");
		return;
	}
	fprintf(out, "leaktrap: reachability: target stopped %.3f s to scan %.1f MiB "
		"(%" PRIu64 " %s; %.3f s of CPU)\n", rr->stop_s,
		(double)rr->scanned_bytes / (1 << 20), rr->n_threads,
		plural(rr->n_threads, "thread", "threads"), rr->cpu_s);
}

/* memcheck's LEAK SUMMARY, after the records. */
static void write_summary(const struct report *rep, FILE *out)
{
	const struct reach_report *rr = rep->reach;
	const struct reach_summary *s = &rr->sum;
	char a[32], b[32];
	static const char *const label[REACH_KINDS] = {
		"   definitely lost", "   indirectly lost", "     possibly lost",
		"   still reachable"
	};
	fputs("\nLEAK SUMMARY:\n", out);
	for (unsigned k = 0; k < REACH_KINDS; k++) {
		fprintf(out, "%s: %s bytes in %s blocks\n", label[k], commas(s->bytes[k], a),
			commas(s->blocks[k], b));
		if (k != REACH_REACHABLE)
			continue;
		int any = 0;
		for (unsigned h = 1; h < REACH_HEURISTICS; h++)
			any |= s->h_blocks[h] != 0;
		if (!any)
			continue;
		fputs("                      of which reachable via heuristic:\n", out);
		for (unsigned h = 1; h < REACH_HEURISTICS; h++)
			if (s->h_blocks[h])
				fprintf(out, "                        %-19s: %s bytes in %s blocks\n",
					reach_heuristic_name(h), commas(s->h_bytes[h], a),
					commas(s->h_blocks[h], b));
	}
	fprintf(out, "        suppressed: %s bytes in %s blocks\n",
		commas(rep->suppressed_bytes, a), commas(rep->suppressed_blocks, b));
	if (!(rep->show_kinds & (1u << REACH_REACHABLE)) && s->blocks[REACH_REACHABLE])
		fputs("Reachable blocks (those to which a pointer was found) are not shown.\n"
		      "To see them, rerun with: --reachability --show-leak-kinds=all\n", out);
}

/* --mmap: the program's anonymous mappings, after the heap. */
static void write_mmap(const struct report *rep, FILE *out)
{
	const struct region_totals *t = &rep->mmap.totals;
	if (!rep->mmap.enabled)
		return;
	fprintf(out, "leaktrap: mmap: %" PRIu64 " maps, %" PRIu64 " unmaps, %" PRIu64
		" remaps, %" PRIu64 " live %s (%" PRIu64 " bytes)\n", t->maps, t->unmaps,
		t->remaps, t->live_regions, plural(t->live_regions, "mapping", "mappings"),
		t->live_bytes);
	for (unsigned i = 0; i < rep->mmap.n_stacks; i++) {
		const struct report_stack *rs = &rep->mmap.stacks[i];
		fprintf(out, "\n%" PRIu64 " %s in %" PRIu64 " %s from stack\n", rs->bytes,
			plural(rs->bytes, "byte", "bytes"), rs->blocks,
			plural(rs->blocks, "mapping", "mappings"));
		for (unsigned j = 0; j < rs->n_frames; j++)
			write_frame(&rs->frames[j], out);
	}
	if (rep->mmap.n_stacks)
		fputc('\n', out);
}

int report_write_text(const struct report *rep, FILE *out)
{
	write_header(rep, out);
	write_reach_header(rep, out);
	for (unsigned i = 0; i < rep->n_stacks; i++)
		write_stack(rep, &rep->stacks[i], out);
	write_trailer(rep, out);
	if (report_has_reach(rep))
		write_summary(rep, out);
	write_mmap(rep, out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
