/* SPDX-License-Identifier: MIT */
/*
 * suppress.c - LeakSanitizer-style suppressions: the parser of
 * "leak:PATTERN" files, LSan's template matching against report frames,
 * per-pattern counters, and the --print-suppressions and
 * --gen-suppressions writers.  The file format and the matching rules are
 * described in include/leaktrap/suppress.h.
 *
 * A file is read line by line through a buffer of the longest accepted
 * line, so an endless input (a device, a line without newlines) fails at
 * its first long line instead of being loaded into memory.  A load either
 * adds every pattern of its file or, on error, none.  Messages are
 * formatted into the caller's buffer, never printed here.  It does not
 * symbolize, demangle or look at anything but the strings of the frames.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/suppress.h"

#define UNKNOWN_MODULE "<unknown module>"
#define LEAK_PREFIX "leak:"

struct suppressions {
	struct suppression *v;
	unsigned n;
	unsigned cap;
	int frozen;          /* suppressions_freeze_counts() */
};

/* The state of one load: where we are, for messages and rollback. */
struct parse {
	struct suppressions *s;
	const char *name;
	unsigned line;
	unsigned n_before;   /* patterns present before this load */
	char *err;
	size_t errlen;
};

/* ---- the set ------------------------------------------------------------ */

void suppressions_reset_counts(struct suppressions *s)
{
	for (unsigned i = 0; s && i < s->n; i++)
		s->v[i].stacks = s->v[i].bytes = s->v[i].blocks = 0;
}

int suppressions_freeze_counts(struct suppressions *s, int frozen)
{
	int was = s ? s->frozen : 0;
	if (s)
		s->frozen = frozen;
	return was;
}

struct suppressions *suppressions_create(void)
{
	return calloc(1, sizeof(struct suppressions));
}

static void truncate_to(struct suppressions *s, unsigned n)
{
	while (s->n > n) {
		s->n--;
		free(s->v[s->n].pattern);
		free(s->v[s->n].source);
	}
}

void suppressions_destroy(struct suppressions *s)
{
	if (!s)
		return;
	truncate_to(s, 0);
	free(s->v);
	free(s);
}

unsigned suppressions_size(const struct suppressions *s)
{
	return s ? s->n : 0;
}

const struct suppression *suppressions_get(const struct suppressions *s,
					   unsigned idx)
{
	return s && idx < s->n ? &s->v[idx] : NULL;
}

static int grow(struct suppressions *s)
{
	unsigned cap = s->cap ? s->cap * 2 : 16;
	struct suppression *v;

	if (s->n < s->cap)
		return 0;
	if (s->cap >= INT_MAX / 2)
		return -ENOMEM;   /* indexes must fit suppressions_match() */
	v = reallocarray(s->v, cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

static int add(struct parse *p, const char *pattern, size_t len)
{
	struct suppression *e;

	if (grow(p->s) < 0)
		return -ENOMEM;
	e = &p->s->v[p->s->n];
	memset(e, 0, sizeof(*e));
	e->pattern = strndup(pattern, len);
	e->source = strdup(p->name);
	e->line = p->line;
	if (!e->pattern || !e->source) {
		free(e->pattern);
		free(e->source);
		return -ENOMEM;
	}
	p->s->n++;
	return 0;
}

/* ---- parsing -------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "NAME:LINE: <what>"; returns -EINVAL. */
__attribute__((format(printf, 2, 3)))
static int line_error(const struct parse *p, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	set_err(p->err, p->errlen, "%s:%u: %s", p->name, p->line, what);
	return -EINVAL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && is_blank(**b))
		(*b)++;
	while (*e > *b && is_blank((*e)[-1]))
		(*e)--;
}

/* Length of the "type" before the ':' at b (letters, digits, '_'), or 0
 * when the line does not start with such a word and a colon. */
static size_t type_length(const char *b, const char *e)
{
	size_t n = 0;

	while (b + n < e && (b[n] == '_' || (b[n] >= 'a' && b[n] <= 'z') ||
	       (b[n] >= 'A' && b[n] <= 'Z') || (b[n] >= '0' && b[n] <= '9')))
		n++;
	return b + n < e && b[n] == ':' ? n : 0;
}

/* One line, without its newline; p->line is its number. */
static int parse_line(struct parse *p, const char *b, size_t len)
{
	const char *e = b + len;
	size_t type;

	if (len > SUPPRESSIONS_MAX_LINE)
		return line_error(p, "line too long (more than %d bytes)",
				  SUPPRESSIONS_MAX_LINE);
	if (memchr(b, '\0', len))
		return line_error(p, "NUL byte in line");
	trim(&b, &e);
	if (b == e || *b == '#')
		return 0;
	type = type_length(b, e);
	if (type == 0)
		return line_error(p, "malformed line: expected 'leak:PATTERN'");
	if (type != 4 || memcmp(b, "leak", 4) != 0)
		return line_error(p, "unsupported suppression type '%.*s' (only "
				  "'leak' is supported)", type > 64 ? 64 : (int)type, b);
	b += strlen(LEAK_PREFIX);
	trim(&b, &e);
	if (b == e)
		return line_error(p, "empty pattern after 'leak:'");
	return add(p, b, (size_t)(e - b));
}

static void begin(struct parse *p, struct suppressions *s, const char *name,
		  char *err, size_t errlen)
{
	*p = (struct parse){ .s = s, .name = name, .n_before = s->n,
			     .err = err, .errlen = errlen };
}

/* Roll back a failed load; says "out of memory" for -ENOMEM. */
static int end(struct parse *p, int rc)
{
	if (rc == 0)
		return 0;
	truncate_to(p->s, p->n_before);
	if (rc == -ENOMEM)
		set_err(p->err, p->errlen, "cannot load suppressions file '%s': "
			"out of memory", p->name);
	return rc;
}

int suppressions_load_string(struct suppressions *s, const char *name,
			     const char *text, char *err, size_t errlen)
{
	struct parse p;
	int rc = 0;

	begin(&p, s, name, err, errlen);
	for (const char *b = text; rc == 0; ) {
		const char *nl = strchr(b, '\n');
		size_t len = nl ? (size_t)(nl - b) : strlen(b);

		p.line++;
		rc = parse_line(&p, b, len);
		if (!nl)
			break;
		b = nl + 1;
	}
	return end(&p, rc);
}

/* Read a line of f without its newline into buf (cap + 1 bytes at most:
 * a longer line is cut there, and so still too long for parse_line()).
 * Returns its length, or -1 at the end of the file. */
static long read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	int c = EOF;

	while (n <= cap && (c = getc(f)) != EOF && c != '\n')
		buf[n++] = (char)c;
	if (n == 0 && c == EOF)
		return -1;
	return (long)n;
}

static int io_error(const struct parse *p, int errnum)
{
	char why[128];

	snprintf(why, sizeof(why), "%s", strerror(errnum));
	if (why[0] >= 'A' && why[0] <= 'Z')
		why[0] += 'a' - 'A';       /* "no such file", git style */
	set_err(p->err, p->errlen, "cannot read suppressions file '%s': %s",
		p->name, why);
	return -errnum;
}

static int load_stream(struct parse *p, FILE *f)
{
	static const size_t cap = SUPPRESSIONS_MAX_LINE;
	char *buf = malloc(cap + 1);
	long len;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (rc == 0 && (len = read_line(f, buf, cap)) >= 0) {
		p->line++;
		rc = parse_line(p, buf, (size_t)len);
	}
	free(buf);
	if (rc == 0 && ferror(f))
		rc = io_error(p, errno ? errno : EIO);
	return rc;
}

int suppressions_load_file(struct suppressions *s, const char *path,
			   char *err, size_t errlen)
{
	struct parse p;
	FILE *f;
	int rc;

	begin(&p, s, path, err, errlen);
	errno = 0;
	f = fopen(path, "re");
	if (!f)
		return io_error(&p, errno ? errno : EIO);
	errno = 0;
	rc = load_stream(&p, f);
	fclose(f);
	return end(&p, rc);
}

/* ---- matching ------------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Where the literal t[0..n) occurs in str: at its start only if anchored. */
static const char *find_run(const char *str, const char *t, size_t n,
			    int anchored)
{
	if (anchored)
		return strncmp(str, t, n) == 0 ? str : NULL;
	return memmem(str, strlen(str), t, n);
}

/* Whether str ends with t[0..n) (is exactly it, if anchored). */
static int ends_with(const char *str, const char *t, size_t n, int anchored)
{
	size_t len = strlen(str);

	if (anchored ? len != n : len < n)
		return 0;
	return memcmp(str + len - n, t, n) == 0;
}

/* LSan's TemplateMatch(), with '$' checked against the end of str. */
static int template_match(const char *t, const char *str)
{
	int anchored = 0, star = 0;

	if (!str || !*str)
		return 0;
	if (*t == '^')
		anchored = 1, t++;
	while (*t) {
		size_t n = strcspn(t, "*$");

		if (*t == '*') {
			anchored = 0, star = 1, t++;
			continue;
		}
		if (*t == '$')
			return star || !*str;
		if (t[n] == '$')
			return ends_with(str, t, n, anchored);
		if (!(str = find_run(str, t, n, anchored)))
			return 0;
		str += n, t += n, anchored = 0, star = 0;
	}
	return 1;
}

/* A path matches by its full text or by its basename. */
static int match_path(const char *t, const char *path)
{
	const char *base;

	if (!path)
		return 0;
	base = base_name(path);
	return template_match(t, path) || (base != path && template_match(t, base));
}

static int match_module(const struct suppressions *s,
			const struct report_frame *f)
{
	const char *module = f->module ? f->module : UNKNOWN_MODULE;

	for (unsigned i = 0; i < s->n; i++) {
		if (match_path(s->v[i].pattern, module))
			return (int)i;
	}
	return -1;
}

static int match_symbol(const struct suppressions *s,
			const struct report_frame *f)
{
	for (unsigned i = 0; i < s->n; i++) {
		const char *t = s->v[i].pattern;

		if (template_match(t, f->function) || match_path(t, f->file))
			return (int)i;
	}
	return -1;
}

int suppressions_match(const struct suppressions *s,
		       const struct report_stack *st)
{
	int idx = -1;

	if (!s)
		return -1;
	for (unsigned i = 0; i < st->n_frames && idx < 0; i++) {
		idx = match_module(s, &st->frames[i]);
		if (idx < 0)
			idx = match_symbol(s, &st->frames[i]);
	}
	return idx;
}

void suppressions_count(struct suppressions *s, int idx, uint64_t bytes,
			uint64_t blocks)
{
	struct suppression *e;

	if (!s || s->frozen || idx < 0 || (unsigned)idx >= s->n)
		return;
	e = &s->v[idx];
	e->stacks++;
	e->bytes += bytes;
	e->blocks += blocks;
}

/* ---- applying them to a report -------------------------------------------- */

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void note_suppressed(struct report *rep, const struct report_stack *rs)
{
	rep->suppressed_stacks++;
	rep->suppressed_bytes += rs->bytes;
	rep->suppressed_blocks += rs->blocks;
	rep->total_stacks = rep->total_stacks ? rep->total_stacks - 1 : 0;
	rep->leak_bytes = minus(rep->leak_bytes, rs->bytes);
	rep->leak_blocks = minus(rep->leak_blocks, rs->blocks);
}

/* The kept stacks move to the front in their order (a stable partition by
 * swaps), then the suppressed ones are dropped from the end. */
void report_apply_suppressions(struct report *rep, struct suppressions *s)
{
	unsigned kept = 0;

	if (!s)
		return;
	for (unsigned i = 0; i < rep->n_stacks; i++) {
		struct report_stack rs = rep->stacks[i];
		int idx = suppressions_match(s, &rs);

		if (idx >= 0) {
			suppressions_count(s, idx, rs.bytes, rs.blocks);
			note_suppressed(rep, &rs);
			continue;
		}
		rep->stacks[i] = rep->stacks[kept];
		rep->stacks[kept++] = rs;
	}
	while (rep->n_stacks > kept)
		report_drop_stack(rep, rep->n_stacks - 1);
}

/* ---- writers ---------------------------------------------------------------- */

static int flush_status(FILE *out)
{
	return fflush(out) != 0 || ferror(out) ? -EIO : 0;
}

int suppressions_write_used(const struct suppressions *s, FILE *out)
{
	int any = 0;

	for (unsigned i = 0; s && i < s->n; i++) {
		const struct suppression *e = &s->v[i];

		if (e->stacks == 0)
			continue;
		if (!any++)
			fputs("Suppressions used:\n  count      bytes template\n",
			      out);
		fprintf(out, "%7" PRIu64 " %10" PRIu64 " %s\n", e->stacks,
			e->bytes, e->pattern);
	}
	if (!any)
		fputs("Suppressions used: none\n", out);
	return flush_status(out);
}

/* The name a generated suppression uses: the first known function, else
 * the basename of the first known module; NULL if neither is known. */
static const char *gen_name(const struct report_stack *rs)
{
	for (unsigned i = 0; i < rs->n_frames; i++) {
		const char *fn = rs->frames[i].function;

		if (fn && *fn)
			return fn;
	}
	for (unsigned i = 0; i < rs->n_frames; i++) {
		const char *mod = rs->frames[i].module;

		if (mod && *base_name(mod))
			return base_name(mod);
	}
	return NULL;
}

/* name as a pattern that matches it: '$', a leading '^', edge blanks and
 * control characters become '*'; cut to fit a line. */
static void write_pattern(const char *name, FILE *out)
{
	size_t len = strlen(name), max = SUPPRESSIONS_MAX_LINE - strlen(LEAK_PREFIX);

	len = len < max ? len : max;
	fputs(LEAK_PREFIX, out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		int edge = i == 0 || i + 1 == len;

		if (c == '$' || c < 0x20 || c == 0x7f || (i == 0 && c == '^') ||
		    (edge && c == ' '))
			c = '*';
		fputc(c, out);
	}
	fputc('\n', out);
}

static void write_generated(const char *name, uint64_t bytes, uint64_t blocks, FILE *out)
{
	fprintf(out, "# %" PRIu64 " %s in %" PRIu64 " %s%s\n", bytes,
		bytes == 1 ? "byte" : "bytes", blocks,
		blocks == 1 ? "allocation" : "allocations",
		name ? "" : " (no function or module known to suppress by)");
	if (name)
		write_pattern(name, out);
}

/* Has a stack before (r, i) in reps the pattern name? */
static int seen_before(const struct report *reps, unsigned r, unsigned i, const char *name)
{
	for (unsigned q = 0; q <= r; q++)
		for (unsigned j = 0; j < (q == r ? i : reps[q].n_stacks); j++) {
			const char *other = gen_name(&reps[q].stacks[j]);
			if (other && !strcmp(other, name))
				return 1;
		}
	return 0;
}

int suppressions_write_generated_all(const struct report *reps, unsigned n, FILE *out)
{
	int any = 0;

	for (unsigned r = 0; r < n; r++)
		for (unsigned i = 0; i < reps[r].n_stacks; i++) {
			const struct report_stack *rs = &reps[r].stacks[i];
			const char *name = gen_name(rs);
			uint64_t bytes = rs->bytes, blocks = rs->blocks;

			if (name && seen_before(reps, r, i, name))
				continue;
			/* one pattern: the bytes of every stack it matches */
			for (unsigned q = r; name && q < n; q++)
				for (unsigned j = q == r ? i + 1 : 0; j < reps[q].n_stacks; j++) {
					const char *other = gen_name(&reps[q].stacks[j]);
					if (other && !strcmp(other, name)) {
						bytes += reps[q].stacks[j].bytes;
						blocks += reps[q].stacks[j].blocks;
					}
				}
			if (any++)
				fputc('\n', out);
			write_generated(name, bytes, blocks, out);
		}
	return flush_status(out);
}

int suppressions_write_generated(const struct report *rep, FILE *out)
{
	return suppressions_write_generated_all(rep, 1, out);
}
