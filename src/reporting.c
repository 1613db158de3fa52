/* SPDX-License-Identifier: MIT */
/*
 * reporting.c - producing the reports a session's options ask for.  One
 * pipeline for every report: build (filters) -> symbolize -> baseline ->
 * truncate (--top) -> write; the CI gate looks at what is left before the
 * truncation.  Periodic work runs from the session's tick: interval
 * reports (which also record each stack's live bytes: the growth series)
 * and the status line on a terminal.  Knows nothing about ptrace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "leaktrap/baseline.h"
#include "leaktrap/error.h"
#include "leaktrap/reporting.h"
#include "leaktrap/suppress.h"
#include "leaktrap/symbolize.h"

/* Live bytes per stack id at one interval report. */
struct snapshot {
	uint64_t *bytes;
	uint32_t n_ids;
};

struct reporter {
	const struct cli_options *o;
	struct suppressions *supp;
	struct baseline *base;
	struct snapshot *snaps;
	unsigned n_snaps;
	int tty;                        /* stderr is a terminal: status line */
	double next_report;
	unsigned reports;
	uint64_t last_allocs, last_stops;
	double last_status;
	struct report *earlier;         /* images replaced by execve, in order */
	unsigned n_earlier;
	struct reach_report old_image;  /* --reachability: what their reports
	                                 * say (not scanned, and why) */
};

int reporter_create(const struct cli_options *o, struct reporter **r_ret)
{
	struct reporter *r = calloc(1, sizeof(*r));
	if (!r) {
		lt_error("out of memory");
		return LT_EXIT_ERROR;
	}
	r->o = o;
	r->tty = isatty(STDERR_FILENO);
	snprintf(r->old_image.note, sizeof(r->old_image.note),
		 "the target called exec: the old image's memory is gone, not scanned");
	if (o->n_suppressions && !(r->supp = suppressions_create())) {
		reporter_destroy(r);
		lt_error("out of memory");
		return LT_EXIT_ERROR;
	}
	for (unsigned i = 0; i < o->n_suppressions; i++) {
		char err[512];
		if (suppressions_load_file(r->supp, o->suppressions[i], err, sizeof(err)) < 0) {
			lt_error("%s", err);
			reporter_destroy(r);
			return LT_EXIT_USAGE;
		}
	}
	if (o->baseline) {
		char err[256];
		if (baseline_load(o->baseline, &r->base, err, sizeof(err)) < 0) {
			lt_error("%s", err);
			reporter_destroy(r);
			return LT_EXIT_USAGE;
		}
	}
	*r_ret = r;
	return LT_EXIT_OK;
}

void reporter_destroy(struct reporter *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_snaps; i++)
		free(r->snaps[i].bytes);
	free(r->snaps);
	for (unsigned i = 0; i < r->n_earlier; i++)
		report_release(&r->earlier[i]);
	free(r->earlier);
	baseline_destroy(r->base);
	suppressions_destroy(r->supp);
	free(r);
}

/* ---- the pipeline -------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void attach_series(const struct reporter *r, struct report *rep)
{
	for (unsigned i = 0; r->n_snaps && i < rep->n_stacks; i++) {
		struct report_stack *rs = &rep->stacks[i];
		rs->series = calloc(r->n_snaps, sizeof(*rs->series));
		if (!rs->series)
			return;
		rs->n_series = r->n_snaps;
		for (unsigned k = 0; k < r->n_snaps; k++)
			if (rs->stack_id < r->snaps[k].n_ids)
				rs->series[k] = r->snaps[k].bytes[rs->stack_id];
	}
}

/* reach: --reachability's scan for the end-of-session report, a not-done
 * one with its note for an image an exec replaced, NULL for the interval
 * reports (and without the option). */
static int build(struct reporter *r, struct session *s, struct report *rep,
		 const struct reach_report *reach)
{
	struct report_options ro = r->o->report;
	ro.now_ns = now_ns();
	ro.reach = s->reach ? reach : NULL;
	int err = report_build(s->ledger, s->stacks, &ro, rep);
	if (err)
		return err;
	if (s->regions && (err = report_add_mmap(rep, s->regions, s->stacks, ro.now_ns))) {
		report_release(rep);
		return err;
	}
	for (unsigned i = 0; i < rep->n_stacks; i++)
		rep->stacks[i].mods_gen = session_stack_gen(s, rep->stacks[i].stack_id);
	for (unsigned i = 0; i < rep->mmap.n_stacks; i++)
		rep->mmap.stacks[i].mods_gen = session_stack_gen(s, rep->mmap.stacks[i].stack_id);
	rep->pid = s->t.pid;
	rep->parent_pid = s->parent_pid;
	rep->command = s->t.comm[0] ? strdup(s->t.comm) : NULL;
	rep->duration_s = (s->t_end > 0 ? s->t_end : session_now()) - s->t_start;
	rep->end_reason = s->end_reason;
	rep->threads = s->t.max_threads;
	rep->functions = s->t.n_probes;
	rep->interval_s = r->o->interval;
	rep->filtered = ro.min_size || ro.max_size || ro.older_than_ns || r->base ||
			r->o->n_suppressions;
	/* no objects: an exec that could not be followed, nothing recorded */
	struct symbolizer *sym = s->t.mods ? symbolizer_create(s->t.mods) : NULL;
	if (s->t.mods && (!sym || symbolize_report(sym, rep) < 0))
		lt_warn("cannot symbolize the report");
	symbolizer_destroy(sym);
	if (r->o->demangle)
		report_demangle(rep);
	if (r->supp)
		report_apply_suppressions(rep, r->supp);
	if (r->base)
		baseline_filter(r->base, rep);
	report_select_kinds(rep, r->o->show_kinds, r->o->error_kinds);
	attach_series(r, rep);
	report_truncate(rep, r->o->top);
	return 0;
}

static int (*writer_for(enum cli_format f))(const struct report *, FILE *)
{
	switch (f) {
	case FORMAT_JSON: return report_write_json;
	case FORMAT_FOLDED: return report_write_folded;
	case FORMAT_SVG: return report_write_svg;
	default: return report_write_text;
	}
}

/* A destination that exists and is neither a regular file nor a symlink
 * (/dev/null, a FIFO, a terminal) is written in place: renaming over it
 * would replace a device with a file. */
/* The reports one after the other (JSON: one object each); an SVG file
 * holds one picture: the last report's. */
/* What one write puts out: reports (images replaced by execve first), then
 * the reports of followed fork children, already formatted. */
struct output {
	const struct report *reps;
	unsigned n;
	const char *extra;
	size_t extra_len;
};

static int write_all(const struct output *out, enum cli_format format, FILE *f)
{
	int err = 0;
	for (unsigned i = format == FORMAT_SVG ? out->n - 1 : 0; !err && i < out->n; i++)
		err = writer_for(format)(&out->reps[i], f);
	if (!err && out->extra_len && format != FORMAT_SVG &&
	    fwrite(out->extra, 1, out->extra_len, f) != out->extra_len)
		err = -EIO;
	return err;
}

static int write_in_place(const struct output *out, const struct cli_options *o)
{
	int fd = open(o->output, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	int err = write_all(out, o->format, f);
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* Write through a temporary file in the same directory, then rename:
 * readers never see half a report, and a symlink planted at the
 * destination is replaced, not followed. */
static int write_file(const struct output *out, const struct cli_options *o)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	struct stat st;
	if (lstat(o->output, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return write_in_place(out, o);
	snprintf(dir, sizeof(dir), "%s", o->output);
	snprintf(tmp, sizeof(tmp), "%s/.leaktrap-XXXXXX", dirname(dir));
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	mode_t mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);   /* like fopen, not mkstemp's 0600 */
	FILE *f = fdopen(fd, "w");
	int err = f ? write_all(out, o->format, f) : -errno;
	if (f && fclose(f) && !err)
		err = -errno;
	if (!f)
		close(fd);
	if (!err && rename(tmp, o->output) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int write_reports(const struct output *out, const struct cli_options *o)
{
	if (o->output)
		return write_file(out, o);
	int err = write_all(out, o->format, stdout);
	return err ? err : fflush(stdout) ? -errno : 0;
}

/* ---- periodic work ------------------------------------------------------- */

static void clear_status(struct reporter *r)
{
	if (r->tty && r->last_status > 0)
		fputs("\r\033[K", stderr);
}

static void snapshot(struct reporter *r, const struct report *rep, uint32_t n_ids)
{
	struct snapshot *v = realloc(r->snaps, (r->n_snaps + 1) * sizeof(*v));
	if (!v)
		return;
	r->snaps = v;
	struct snapshot *sn = &r->snaps[r->n_snaps];
	sn->n_ids = n_ids;
	sn->bytes = calloc(n_ids ? n_ids : 1, sizeof(uint64_t));
	if (!sn->bytes)
		return;
	for (unsigned i = 0; i < rep->n_stacks; i++)
		if (rep->stacks[i].stack_id < n_ids)
			sn->bytes[rep->stacks[i].stack_id] = rep->stacks[i].bytes;
	r->n_snaps++;
}

static void interval_report(struct reporter *r, struct session *s)
{
	struct report rep;
	struct cli_options o = *r->o;
	o.top = 0;                          /* snapshot every stack */
	struct reporter tmp = *r;
	tmp.o = &o;
	/* --print-suppressions credits the reports of the end (and of each
	 * image an exec replaced), not the snapshots on the way */
	int was = suppressions_freeze_counts(r->supp, 1);
	int err = build(&tmp, s, &rep, NULL);
	suppressions_freeze_counts(r->supp, was);
	if (err < 0)
		return;
	snapshot(r, &rep, stacks_count(s->stacks));
	report_truncate(&rep, r->o->top);
	rep.end_reason = "interval";
	clear_status(r);
	if (!o.output && o.format == FORMAT_TEXT) {
		time_t t = time(NULL);
		char stamp[32];
		strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&t));
		printf("[%s] leaktrap: report %u\n", stamp, r->reports + 1);
	}
	struct output out = { .reps = &rep, .n = 1 };
	if (write_reports(&out, r->o) < 0)
		lt_warn("cannot write an interval report");
	report_release(&rep);
	r->reports++;
}

static void status_line(struct reporter *r, struct session *s, double now)
{
	struct ledger_totals t;
	double dt = now - r->last_status;
	ledger_totals(s->ledger, &t);
	if (r->last_status > 0 && dt > 0)
		fprintf(stderr, "\r\033[Kleaktrap: %.0f s, %.0f allocs/s, %" PRIu64
			" live blocks (%" PRIu64 " bytes), %.0f stops/s",
			now - s->t_start, (double)(t.allocs - r->last_allocs) / dt,
			t.live_blocks, t.live_bytes, (double)(s->n_stops - r->last_stops) / dt);
	r->last_allocs = t.allocs, r->last_stops = s->n_stops, r->last_status = now;
}

static void tick(struct session *s, void *arg)
{
	struct reporter *r = arg;
	double now = session_now();
	if (r->o->interval && now >= r->next_report) {
		r->next_report += r->o->interval;
		if (r->o->count && r->reports + 1 == r->o->count) {
			s->end_reason = "count";    /* the final report is the Nth */
			return;
		}
		interval_report(r, s);
	}
	if (r->tty)
		status_line(r, s, now);
}

/* execve replaced the traced image: its report is built now (symbols from
 * the old image's objects) and written with the final one. */
static void image_end(struct session *s, void *arg)
{
	struct reporter *r = arg;
	struct report *v = realloc(r->earlier, (r->n_earlier + 1) * sizeof(*v));
	if (!v) {
		lt_warn("out of memory: the report of pid %d before its exec is lost",
			(int)s->t.pid);
		return;
	}
	r->earlier = v;
	const char *reason = s->end_reason;
	s->end_reason = "exec";
	if (build(r, s, &r->earlier[r->n_earlier], &r->old_image) == 0)
		r->n_earlier++;
	else
		lt_warn("cannot build the report of pid %d before its exec", (int)s->t.pid);
	s->end_reason = reason;
	/* the growth series are per image: stack ids start again */
	for (unsigned i = 0; i < r->n_snaps; i++)
		free(r->snaps[i].bytes);
	r->n_snaps = 0;
}

void reporter_hook(struct reporter *r, struct session *s)
{
	s->image_end = image_end;
	s->image_end_arg = r;
	if (!r->o->interval && !r->tty)
		return;
	s->tick = tick;
	s->tick_arg = r;
	s->tick_every = r->tty ? 1.0 : r->o->interval;
	if (r->o->interval && r->o->interval < s->tick_every)
		s->tick_every = r->o->interval;
	r->next_report = s->t_start + r->o->interval;
}

/* ---- the final report ---------------------------------------------------- */

void reporter_follow_child(struct reporter *r, struct session *s)
{
	for (unsigned i = 0; i < r->n_earlier; i++)
		report_release(&r->earlier[i]);
	r->n_earlier = 0;
	suppressions_reset_counts(r->supp);     /* the parent's were credited there */
	for (unsigned i = 0; i < r->n_snaps; i++)
		free(r->snaps[i].bytes);
	r->n_snaps = 0;
	r->tty = 0, r->reports = 0;
	s->tick = NULL;
	s->image_end = image_end;
	s->image_end_arg = r;
}

int reporter_final(struct reporter *r, struct session *s, const char *extra,
		   size_t extra_n, int *leaked_ret)
{
	struct report rep;
	clear_status(r);
	int err = build(r, s, &rep, s->reach ? &s->reach->rep : NULL);
	if (err) {
		lt_error_errno(err, "cannot build the report");
		return err;
	}
	*leaked_ret = 0;
	struct report *all = realloc(r->earlier, (r->n_earlier + 1) * sizeof(*all));
	if (!all) {
		report_release(&rep);
		return -ENOMEM;
	}
	r->earlier = all;
	all[r->n_earlier] = rep;
	for (unsigned i = 0; i <= r->n_earlier; i++) {
		/* with reachability: the kinds --errors-for-leak-kinds names;
		 * an image an exec replaced could not be scanned (its memory is
		 * gone): it is left out rather than counting its reachable
		 * blocks as errors */
		if (r->o->reachability && i < r->n_earlier)
			continue;
		int reach = report_has_reach(&all[i]);
		uint64_t bytes = reach ? all[i].error_bytes : all[i].leak_bytes;
		uint64_t blocks = reach ? all[i].error_blocks : all[i].leak_blocks;
		*leaked_ret |= r->o->have_fail_over ? bytes > r->o->fail_over : blocks > 0;
	}
	struct output out = { all, r->n_earlier + 1, extra, extra_n };
	err = write_reports(&out, r->o);
	if (r->o->print_suppressions && r->supp && suppressions_write_used(r->supp, stderr) < 0)
		err = -EIO;
	if (r->o->gen_suppressions &&
	    suppressions_write_generated_all(all, r->n_earlier + 1, stderr) < 0)
		err = -EIO;
	if (err)
		lt_error_errno(err, "cannot write the report%s%s",
			       r->o->output ? " to " : "", r->o->output ? r->o->output : "");
	report_release(&rep);
	return err;
}
