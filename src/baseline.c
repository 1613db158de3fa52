/* SPDX-License-Identifier: MIT */
/*
 * baseline.c - reading an earlier JSON report (json-c) into a table of
 * stack signatures -> live bytes, and filtering a new report against it.
 * A signature is the list of "function@module-basename" of the frames
 * ("?" for an unknown part).  Pure: no tracing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "leaktrap/baseline.h"

struct entry {
	char *sig;
	unsigned long long bytes;
};

struct baseline {
	struct entry *v;
	size_t n;
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

/* One element of "stacks": {"bytes": int, "frames": [...]} */
static int add_stack(struct baseline *b, struct json_object *st)
{
	struct json_object *bytes, *frames;
	if (!json_object_object_get_ex(st, "bytes", &bytes) ||
	    !json_object_is_type(bytes, json_type_int) ||
	    !json_object_object_get_ex(st, "frames", &frames) ||
	    !json_object_is_type(frames, json_type_array))
		return -EINVAL;
	char *sig = json_signature(frames);
	if (!sig)
		return -ENOMEM;
	b->v[b->n].sig = sig;
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
	b->v = calloc(n ? n : 1, sizeof(*b->v));
	if (!b->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int e = add_stack(b, json_object_array_get_idx(stacks, i));
		if (e)
			return e == -ENOMEM ? e : bad(err, errlen, name, "a stack without bytes or frames");
	}
	qsort(b->v, b->n, sizeof(*b->v), cmp_entry);
	return 0;
}

int baseline_parse(const char *name, const char *json, struct baseline **b_ret,
		   char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	struct json_object *root = json_tokener_parse_verbose(json, &jerr);
	if (!root) {
		char what[128];
		snprintf(what, sizeof(what), "not JSON: %s", json_tokener_error_desc(jerr));
		return bad(err, errlen, name, what);
	}
	struct baseline *b = calloc(1, sizeof(*b));
	int e = b ? fill(b, name, root, err, errlen) : -ENOMEM;
	json_object_put(root);
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
	struct entry key = { signature_of(rs), 0 };
	unsigned long long sum = 0;
	if (!key.sig)
		return 0;
	struct entry *e = bsearch(&key, b->v, b->n, sizeof(*b->v), cmp_entry);
	/* equal signatures sit next to each other: sum them */
	while (e && e > b->v && !strcmp(e[-1].sig, key.sig))
		e--;
	for (; e && e < b->v + b->n && !strcmp(e->sig, key.sig); e++)
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
