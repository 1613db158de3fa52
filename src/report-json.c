/* SPDX-License-Identifier: MIT */
/*
 * report-json.c - the machine-readable report (schema "leaktrap-report/1"),
 * built as a json-c tree and written pretty-printed with one trailing
 * newline.  Counts are JSON integers, program counters hex strings
 * ("0x7f..."), and unknown values null: command, a frame's function (and
 * then its offset), module (and then its module_offset), file, and line
 * when it is 0.  duration_s is written with millisecond precision.
 *
 * json-c does the string escaping; this file does not validate UTF-8 and
 * does not symbolize.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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

static struct json_object *new_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
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

static struct json_object *stack_json(const struct report_stack *rs, int *err)
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
		append(arr, stack_json(&rep->stacks[i], err), err);
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
