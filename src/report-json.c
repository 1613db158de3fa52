/* SPDX-License-Identifier: MIT */
/*
 * report-json.c - the machine-readable report (schema "leaktrap-report/1"),
 * built as a json-c tree and written pretty-printed with one trailing
 * newline.  Counts are JSON integers, program counters hex strings
 * ("0x7f..."), and unknown values null: command, a frame's function (and
 * then its offset), module (and then its module_offset), file, and line
 * when it is 0.  duration_s is written with millisecond precision.
 *
 * json-c does the string escaping.  Names come from the target (symbol
 * tables, /proc/PID/maps, DWARF) and can hold any byte: a byte that is not
 * part of valid UTF-8 is written as U+FFFD, so the report stays JSON
 * (RFC 8259 requires UTF-8).  This file does not symbolize.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "leaktrap/report.h"

#define SCHEMA "leaktrap-report/1"

/* Add val (NULL: out of memory) under key; sticky -ENOMEM in *err. */
static void add(struct json_object *obj, const char *key,
		struct json_object *val, int *err)
{
	if (!val || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		*err = -ENOMEM;
	}
}

/* Add val, or null when !present (val is then NULL, not an error). */
static void add_opt(struct json_object *obj, const char *key, int present,
		    struct json_object *val, int *err)
{
	if (present)
		add(obj, key, val, err);
	else if (json_object_object_add(obj, key, NULL) != 0)
		*err = -ENOMEM;
}

static struct json_object *new_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static struct json_object *new_hex(uint64_t v)
{
	char buf[2 + 16 + 1];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static struct json_object *new_seconds(double s)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.3f", s);
	return json_object_new_double_s(s, buf);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s[0] does not
 * start one (stray continuation bytes, overlongs, surrogates, code points
 * above U+10FFFF, truncated sequences). */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

static struct json_object *new_str_or_null(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = s ? strlen(s) : 0, n;
	if (!s)
		return NULL;
	for (n = 0; u[n] && utf8_seq(u + n); n += utf8_seq(u + n))
		;
	if (!u[n])
		return json_object_new_string(s);
	char *clean = malloc(3 * len + 1), *d = clean;  /* U+FFFD: 3 bytes */
	if (!clean)
		return NULL;
	for (size_t i = 0; u[i];) {
		size_t k = utf8_seq(u + i);
		if (k) {
			memcpy(d, u + i, k), d += k, i += k;
		} else {
			memcpy(d, "\xef\xbf\xbd", 3), d += 3, i++;
		}
	}
	*d = 0;
	struct json_object *o = json_object_new_string(clean);
	free(clean);
	return o;
}

static struct json_object *frame_json(const struct report_frame *f, int *err)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "pc", new_hex(f->pc), err);
	add_opt(o, "function", !!f->function, new_str_or_null(f->function), err);
	add_opt(o, "offset", !!f->function,
		f->function ? new_u64(f->offset) : NULL, err);
	add_opt(o, "module", !!f->module, new_str_or_null(f->module), err);
	add_opt(o, "module_offset", !!f->module,
		f->module ? new_u64(f->module_offset) : NULL, err);
	add_opt(o, "file", !!f->file, new_str_or_null(f->file), err);
	add_opt(o, "line", f->line != 0,
		f->line != 0 ? json_object_new_int64(f->line) : NULL, err);
	return o;
}

/* Append val (NULL: out of memory) to the array arr. */
static void append(struct json_object *arr, struct json_object *val, int *err)
{
	if (!val || json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		*err = -ENOMEM;
	}
}

static struct json_object *new_array(int *err)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		*err = -ENOMEM;
	return a;
}

/* "series": live bytes at each interval report, null without -i. */
static struct json_object *series_json(const struct report_stack *rs, int *err)
{
	struct json_object *a = new_array(err);
	for (unsigned i = 0; a && i < rs->n_series && *err == 0; i++)
		append(a, new_u64(rs->series[i]), err);
	return a;
}

/* "addresses": the blocks (--show-addresses), null without. */
static struct json_object *addresses_json(const struct report_stack *rs, int *err)
{
	struct json_object *a = new_array(err);
	for (unsigned i = 0; a && i < rs->n_list && *err == 0; i++) {
		struct json_object *b = json_object_new_object();
		if (b) {
			add(b, "addr", new_hex(rs->list[i].addr), err);
			add(b, "size", new_u64(rs->list[i].size), err);
			add(b, "age_s", new_seconds((double)rs->list[i].age_ns / 1e9), err);
		}
		append(a, b, err);
	}
	return a;
}

/* reach: the stack is a loss record of --reachability's scan */
static struct json_object *stack_json(const struct report_stack *rs, int reach, int *err)
{
	struct json_object *o = json_object_new_object();
	struct json_object *frames = json_object_new_array();

	if (!o || !frames) {
		json_object_put(o);
		json_object_put(frames);
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "bytes", new_u64(rs->bytes), err);
	add(o, "blocks", new_u64(rs->blocks), err);
	add(o, "oldest_s", new_seconds((double)rs->oldest_ns / 1e9), err);
	add_opt(o, "series", rs->n_series > 0, rs->n_series ? series_json(rs, err) : NULL, err);
	add_opt(o, "addresses", rs->list != NULL, rs->list ? addresses_json(rs, err) : NULL, err);
	for (unsigned i = 0; i < rs->n_frames && *err == 0; i++)
		append(frames, frame_json(&rs->frames[i], err), err);
	add(o, "frames", frames, err);
	add_opt(o, "kind", reach, reach ? json_object_new_string(reach_kind_name(rs->kind)) : NULL,
		err);
	add_opt(o, "indirect_bytes", reach, reach ? new_u64(rs->indirect_bytes) : NULL, err);
	add_opt(o, "record", reach, reach ? new_u64(rs->record) : NULL, err);
	return o;
}

static struct json_object *totals_json(const struct ledger_totals *t, int *err)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "allocs", new_u64(t->allocs), err);
	add(o, "frees", new_u64(t->frees), err);
	add(o, "frees_unknown", new_u64(t->frees_unknown), err);
	add(o, "live_blocks", new_u64(t->live_blocks), err);
	add(o, "live_bytes", new_u64(t->live_bytes), err);
	return o;
}

static struct json_object *stacks_json(const struct report *rep, int *err)
{
	struct json_object *arr = json_object_new_array();

	if (!arr) {
		*err = -ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < rep->n_stacks && *err == 0; i++)
		append(arr, stack_json(&rep->stacks[i], report_has_reach(rep), err), err);
	return arr;
}

static struct json_object *suppressed_json(const struct report *rep, int *err)
{
	struct json_object *o = json_object_new_object();
	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "stacks", new_u64(rep->suppressed_stacks), err);
	add(o, "bytes", new_u64(rep->suppressed_bytes), err);
	add(o, "blocks", new_u64(rep->suppressed_blocks), err);
	return o;
}

static struct json_object *bytes_blocks(uint64_t bytes, uint64_t blocks, int *err)
{
	struct json_object *o = json_object_new_object();
	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "bytes", new_u64(bytes), err);
	add(o, "blocks", new_u64(blocks), err);
	return o;
}

/* The names of the bits of mask (kinds or heuristics). */
static struct json_object *names_json(unsigned mask, unsigned n,
				      const char *(*name)(unsigned), int *err)
{
	struct json_object *a = new_array(err);
	for (unsigned i = 0; a && i < n; i++)
		if (mask & (1u << i))
			append(a, json_object_new_string(name(i)), err);
	return a;
}

static const char *kind_name(unsigned k) { return reach_kind_name((enum reach_kind)k); }
static const char *heur_name(unsigned h) { return reach_heuristic_name((enum reach_heuristic)h); }

/* "summary": bytes and blocks per kind (all blocks the scan classified),
 * and the reachable ones found through each heuristic. */
static struct json_object *summary_json(const struct reach_report *rr, int *err)
{
	struct json_object *o = json_object_new_object(), *h = json_object_new_object();
	if (!o || !h) {
		json_object_put(o);
		json_object_put(h);
		*err = -ENOMEM;
		return NULL;
	}
	for (unsigned k = 0; k < REACH_KINDS; k++)
		add(o, kind_name(k), bytes_blocks(rr->sum.bytes[k], rr->sum.blocks[k], err), err);
	for (unsigned i = 1; i < REACH_HEURISTICS; i++)
		if (rr->heuristics & (1u << i))
			add(h, heur_name(i), bytes_blocks(rr->sum.h_bytes[i], rr->sum.h_blocks[i],
							  err), err);
	add(o, "heuristics", h, err);
	return o;
}

/* "reachability": how the scan went (present with --reachability). */
static struct json_object *reachability_json(const struct report *rep, int *err)
{
	const struct reach_report *rr = rep->reach;
	struct json_object *o = json_object_new_object();
	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "complete", json_object_new_boolean(rr->done), err);
	add_opt(o, "note", rr->note[0] != 0, new_str_or_null(rr->note[0] ? rr->note : NULL), err);
	add(o, "stop_s", new_seconds(rr->stop_s), err);
	add(o, "cpu_s", new_seconds(rr->cpu_s), err);
	add(o, "scanned_bytes", new_u64(rr->scanned_bytes), err);
	add(o, "threads", new_u64(rr->n_threads), err);
	add(o, "records", new_u64(rep->n_records), err);
	add(o, "show_kinds", names_json(rep->show_kinds, REACH_KINDS, kind_name, err), err);
	add(o, "error_kinds", names_json(rep->error_kinds, REACH_KINDS, kind_name, err), err);
	add(o, "error_bytes", new_u64(rep->error_bytes), err);
	add(o, "error_blocks", new_u64(rep->error_blocks), err);
	add(o, "heuristics", names_json(rr->heuristics, REACH_HEURISTICS, heur_name, err), err);
	return o;
}

/* "mmap": the program's anonymous mappings (--mmap), null without. */
static struct json_object *mmap_json(const struct report *rep, int *err)
{
	const struct region_totals *t = &rep->mmap.totals;
	struct json_object *o = json_object_new_object();
	struct json_object *arr = new_array(err);
	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "maps", new_u64(t->maps), err);
	add(o, "unmaps", new_u64(t->unmaps), err);
	add(o, "remaps", new_u64(t->remaps), err);
	add(o, "live_regions", new_u64(t->live_regions), err);
	add(o, "live_bytes", new_u64(t->live_bytes), err);
	for (unsigned i = 0; i < rep->mmap.n_stacks && *err == 0; i++)
		append(arr, stack_json(&rep->mmap.stacks[i], 0, err), err);
	add(o, "stacks", arr, err);
	return o;
}

static struct json_object *report_json(const struct report *rep, int *err)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	add(o, "schema", json_object_new_string(SCHEMA), err);
	add(o, "pid", json_object_new_int64(rep->pid), err);
	add_opt(o, "parent_pid", rep->parent_pid != 0,
		rep->parent_pid ? json_object_new_int64(rep->parent_pid) : NULL, err);
	add_opt(o, "command", !!rep->command, new_str_or_null(rep->command), err);
	add(o, "duration_s", new_seconds(rep->duration_s), err);
	add_opt(o, "end_reason", !!rep->end_reason,
		new_str_or_null(rep->end_reason), err);
	add(o, "threads", json_object_new_int64(rep->threads), err);
	add(o, "functions", json_object_new_int64(rep->functions), err);
	add(o, "totals", totals_json(&rep->totals, err), err);
	add_opt(o, "interval_s", rep->interval_s > 0,
		rep->interval_s > 0 ? new_seconds(rep->interval_s) : NULL, err);
	add(o, "total_stacks", json_object_new_int64(rep->total_stacks), err);
	add(o, "leak_bytes", new_u64(rep->leak_bytes), err);
	add(o, "leak_blocks", new_u64(rep->leak_blocks), err);
	add(o, "suppressed", suppressed_json(rep, err), err);
	add(o, "stacks", stacks_json(rep, err), err);
	add_opt(o, "reachability", !!rep->reach, rep->reach ? reachability_json(rep, err) : NULL,
		err);
	add_opt(o, "summary", report_has_reach(rep),
		report_has_reach(rep) ? summary_json(rep->reach, err) : NULL, err);
	add_opt(o, "mmap", rep->mmap.enabled, rep->mmap.enabled ? mmap_json(rep, err) : NULL,
		err);
	return o;
}

int report_write_json(const struct report *rep, FILE *out)
{
	int err = 0;
	struct json_object *root = report_json(rep, &err);
	const char *text = NULL;

	if (err == 0)
		text = json_object_to_json_string_ext(root,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (err == 0 && !text)
		err = -ENOMEM;
	if (err == 0 && (fputs(text, out) == EOF || fputc('\n', out) == EOF ||
			 fflush(out) != 0 || ferror(out)))
		err = -EIO;
	json_object_put(root);
	return err;
}
