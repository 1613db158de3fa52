/* SPDX-License-Identifier: MIT */
/*
 * baseline.c - reading an earlier JSON report (json-c) into a table of
 * stack signatures -> live bytes, and filtering a new report against it.
 * A signature is the list of "function@module-basename" of the frames
 * ("?" for an unknown part).  A file may hold several reports one after
 * the other (an exec'd program, --follow-forks): the stacks of all count.
 * With --reachability a stack is a loss record of one kind: when both the
 * baseline's record and the new one have a kind, they match only if the
 * kinds are equal.  Pure: no tracing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "leaktrap/baseline.h"

struct entry {
	char *sig;
	unsigned long long bytes;
	int kind;               /* enum reach_kind, -1 without */
};

struct baseline {
	struct entry *v;
	size_t n, cap;
};

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	return slash ? slash + 1 : path;
}

/* Append "function@module\n" to a growing string; -ENOMEM on failure. */
static int append_frame(char **sig, size_t *len, const char *fn, const char *mod)
{
	const char *m = base_name(mod);
	size_t add = strlen(fn ? fn : "?") + strlen(m ? m : "?") + 3;
	char *n = realloc(*sig, *len + add);
	if (!n)
		return -ENOMEM;
	*len += (size_t)snprintf(n + *len, add, "%s@%s\n", fn ? fn : "?", m ? m : "?");
	*sig = n;
	return 0;
}

static char *signature_of(const struct report_stack *rs)
{
	char *sig = calloc(1, 1);
	size_t len = 0;
	for (unsigned i = 0; sig && i < rs->n_frames; i++)
		if (append_frame(&sig, &len, rs->frames[i].function, rs->frames[i].module)) {
			free(sig);
			return NULL;
		}
	return sig;
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	       ? json_object_get_string(v) : NULL;
}

static char *json_signature(struct json_object *frames)
{
	char *sig = calloc(1, 1);
	size_t len = 0, n = json_object_array_length(frames);
	for (size_t i = 0; sig && i < n; i++) {
		struct json_object *f = json_object_array_get_idx(frames, i);
		if (append_frame(&sig, &len, str_field(f, "function"), str_field(f, "module"))) {
			free(sig);
			return NULL;
		}
	}
	return sig;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->sig, ((const struct entry *)b)->sig);
}

static int bad(char *err, size_t errlen, const char *name, const char *what)
{
	snprintf(err, errlen, "%s: %s", name, what);
	return -EINVAL;
}

/* A loss record's "kind" name, or -1 (none, or a name not known). */
static int kind_of(const char *name)
{
	for (int k = 0; name && k < REACH_KINDS; k++)
		if (!strcmp(name, reach_kind_name((enum reach_kind)k)))
			return k;
	return -1;
}

/* One element of "stacks": {"bytes": int, "frames": [...], "kind"?: str} */
static int add_stack(struct baseline *b, struct json_object *st)
{
	struct json_object *bytes, *frames;
	if (!json_object_object_get_ex(st, "bytes", &bytes) ||
	    !json_object_is_type(bytes, json_type_int) ||
	    !json_object_object_get_ex(st, "frames", &frames) ||
	    !json_object_is_type(frames, json_type_array))
		return -EINVAL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct entry *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		b->v = v, b->cap = cap;
	}
	char *sig = json_signature(frames);
	if (!sig)
		return -ENOMEM;
	b->v[b->n].sig = sig;
	b->v[b->n].kind = kind_of(str_field(st, "kind"));
	b->v[b->n++].bytes = (unsigned long long)json_object_get_int64(bytes);
	return 0;
}

static int fill(struct baseline *b, const char *name, struct json_object *root,
		char *err, size_t errlen)
{
	struct json_object *stacks, *schema;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "schema", &schema) ||
	    !json_object_is_type(schema, json_type_string) ||
	    strncmp(json_object_get_string(schema), "leaktrap-report/", 16))
		return bad(err, errlen, name, "not a leaktrap JSON report (no \"schema\")");
	if (!json_object_object_get_ex(root, "stacks", &stacks) ||
	    !json_object_is_type(stacks, json_type_array))
		return bad(err, errlen, name, "no \"stacks\" array");
	size_t n = json_object_array_length(stacks);
	for (size_t i = 0; i < n; i++) {
		int e = add_stack(b, json_object_array_get_idx(stacks, i));
		if (e)
			return e == -ENOMEM ? e : bad(err, errlen, name, "a stack without bytes or frames");
	}
	return 0;
}

/* Every JSON value of text, one after the other (whitespace between). */
static int fill_all(struct baseline *b, const char *name, const char *text,
		    char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	size_t left = strlen(text);
	unsigned n_reports = 0;
	int e = tok ? 0 : -ENOMEM;
	while (!e) {
		size_t ws = strspn(text, " \t\r\n");
		text += ws, left -= ws;
		if (!left && n_reports)
			break;
		json_tokener_reset(tok);
		struct json_object *root = json_tokener_parse_ex(tok, text, (int)(left < INT_MAX ? left : INT_MAX));
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		if (!root) {
			char what[128];
			snprintf(what, sizeof(what), "not JSON: %s",
				 !left || jerr == json_tokener_continue ? "unexpected end of data"
				 : json_tokener_error_desc(jerr));
			return json_tokener_free(tok), bad(err, errlen, name, what);
		}
		size_t used = json_tokener_get_parse_end(tok);
		e = fill(b, name, root, err, errlen);
		json_object_put(root);
		text += used, left -= used;
		n_reports++;
	}
	json_tokener_free(tok);
	if (!e && b->n)         /* (qsort of NULL is undefined, even empty) */
		qsort(b->v, b->n, sizeof(*b->v), cmp_entry);
	return e;
}

int baseline_parse(const char *name, const char *json, struct baseline **b_ret,
		   char *err, size_t errlen)
{
	struct baseline *b = calloc(1, sizeof(*b));
	int e = b ? fill_all(b, name, json, err, errlen) : -ENOMEM;
	if (e) {
		if (e == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", name);
		baseline_destroy(b);
		return e;
	}
	*b_ret = b;
	return 0;
}

int baseline_load(const char *path, struct baseline **b_ret, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot read the baseline %s: %s", path, strerror(e));
		return -e;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[65536];
	for (size_t n; mem && (n = fread(buf, 1, sizeof(buf), f)) > 0;)
		fwrite(buf, 1, n, mem);
	fclose(f);
	if (!mem || fclose(mem)) {
		free(text);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	int e = baseline_parse(path, text, b_ret, err, errlen);
	free(text);
	return e;
}

void baseline_destroy(struct baseline *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].sig);
	free(b->v);
	free(b);
}

unsigned long long baseline_bytes(const struct baseline *b, const struct report_stack *rs)
{
	struct entry key = { .sig = signature_of(rs) };
	unsigned long long sum = 0;
	if (!key.sig)
		return 0;
	struct entry *e = b->n ? bsearch(&key, b->v, b->n, sizeof(*b->v), cmp_entry) : NULL;
	/* equal signatures sit next to each other: sum them */
	while (e && e > b->v && !strcmp(e[-1].sig, key.sig))
		e--;
	for (; e && e < b->v + b->n && !strcmp(e->sig, key.sig); e++)
		if (e->kind < 0 || rs->kind < 0 || e->kind == rs->kind)
			sum += e->bytes;
	free(key.sig);
	return sum;
}

void baseline_filter(const struct baseline *b, struct report *rep)
{
	for (unsigned i = rep->n_stacks; i-- > 0;)
		if (rep->stacks[i].bytes <= baseline_bytes(b, &rep->stacks[i]))
			report_drop_stack(rep, i);
}
