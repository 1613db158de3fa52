/* SPDX-License-Identifier: MIT */
/*
 * test-suppress.c - unit tests for the suppressions module: LSan's
 * template rules ('*', '^', '$', substring, literal '?'), matching against
 * a frame's function, module and source file (full path and basename),
 * which pattern gets the credit, the file format (comments, blanks, CRLF),
 * every malformed input with its exact "FILE:LINE: ..." message, loading
 * several files and rolling back a failed one, the counters and the
 * --print-suppressions text, the --gen-suppressions text (and that it
 * loads back and matches), and report_apply_suppressions().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leaktrap/suppress.h"
#include "test.h"

#define CANARY "canary"

struct frame_spec {
	const char *function;
	const char *module;
	const char *file;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A stack owning copies of the n specs' strings (report_release() frees). */
static struct report_stack make_stack(uint64_t bytes, uint64_t blocks,
				      const struct frame_spec *f, unsigned n)
{
	struct report_stack rs = { .bytes = bytes, .blocks = blocks,
				   .n_frames = n };

	rs.frames = n ? calloc(n, sizeof(*rs.frames)) : NULL;
	for (unsigned i = 0; i < n; i++) {
		rs.frames[i].pc = 0x1000 + i;
		rs.frames[i].function = dup_or_null(f[i].function);
		rs.frames[i].module = dup_or_null(f[i].module);
		rs.frames[i].file = dup_or_null(f[i].file);
	}
	return rs;
}

static void free_stack(struct report_stack *rs)
{
	struct report rep = { .n_stacks = 1, .stacks = malloc(sizeof(*rs)) };

	rep.stacks[0] = *rs;
	report_release(&rep);
}

static struct suppressions *load(const char *text)
{
	struct suppressions *s = suppressions_create();
	char err[256] = "";

	TEST_ASSERT(s != NULL);
	if (!TEST_ASSERT(suppressions_load_string(s, "t.supp", text, err,
						  sizeof(err)) == 0))
		fprintf(stderr, "  error: %s\n", err);
	return s;
}

/* The index matching a one-frame stack, or -1. */
static int match_frame(const char *pattern, const struct frame_spec *f)
{
	char text[512];
	struct suppressions *s;
	struct report_stack rs = make_stack(1, 1, f, 1);
	int idx;

	snprintf(text, sizeof(text), "leak:%s\n", pattern);
	s = load(text);
	idx = suppressions_match(s, &rs);
	suppressions_destroy(s);
	free_stack(&rs);
	return idx;
}

/* ---- template rules --------------------------------------------------- */

static const struct {
	const char *pattern, *str;
	int match;
} templates[] = {
	/* no anchors: substring, case-sensitive */
	{ "foo", "foo", 1 }, { "foo", "xfooy", 1 }, { "foo", "fo", 0 },
	{ "foo", "FOO", 0 }, { "aab", "aaab", 1 },
	/* '^' and '$' */
	{ "^foo", "foobar", 1 }, { "^foo", "xfoo", 0 },
	{ "foo$", "barfoo", 1 }, { "foo$", "foobar", 0 },
	{ "^foo$", "foo", 1 }, { "^foo$", "foofoo", 0 }, { "^foo$", "xfoo", 0 },
	{ "^aab", "aaab", 0 }, { "^", "x", 1 }, { "$", "x", 0 }, { "^$", "x", 0 },
	/* '$' is checked at the end of the string (LSan would say 0 here) */
	{ "ab$", "abab", 1 }, { "foo*bar$", "foo_bar_x_bar", 1 },
	{ "foo*bar$", "foo_bar_x", 0 }, { "*aab$", "aaab", 1 },
	/* what follows '$' is ignored, as in LSan; "x*$" is "x*" */
	{ "a$b", "xa", 1 }, { "a$b", "ab", 0 }, { "*$", "x", 1 },
	{ "x*$", "xyz", 1 }, { "x*$", "y", 0 },
	/* '*' */
	{ "f*o", "fxxo", 1 }, { "f*o", "fo", 1 }, { "f*o", "of", 0 },
	{ "a*b*c", "aXbYc", 1 }, { "a*b*c", "acb", 0 }, { "*", "anything", 1 },
	{ "**", "x", 1 }, { "a**b", "ab", 1 }, { "a*a", "a", 0 },
	{ "a*a", "aa", 1 }, { "^*x", "abcx", 1 }, { "^a*", "abc", 1 },
	{ "^a*", "ba", 0 }, { "^foo*bar$", "foo_bar", 1 },
	{ "^foo*bar$", "xfoo_bar", 0 }, { "^foo*bar$", "foo_barx", 0 },
	/* '?', a later '^' and the rest are literal */
	{ "?", "a", 0 }, { "a?c", "abc", 0 }, { "a?c", "xa?cx", 1 },
	{ "^^a", "^a", 1 }, { "^^a", "a", 0 }, { "a^b", "a^b", 1 },
	{ "[ab]", "a", 0 }, { "[ab]", "x[ab]", 1 },
	/* C++ names */
	{ "std::vector<int>::push_back", "std::vector<int>::push_back(int const&)", 1 },
	{ "operator new", "operator new[](unsigned long)", 1 },
	{ "^operator new(", "operator new[](unsigned long)", 0 },
	/* an empty name never matches */
	{ "*", "", 0 }, { "^", "", 0 },
};

static void test_templates(void)
{
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
		/* module "" never matches, file NULL: only the function counts */
		struct frame_spec f = { templates[i].str, "", NULL };
		int got = match_frame(templates[i].pattern, &f) == 0;

		if (!TEST_ASSERT(got == templates[i].match))
			fprintf(stderr, "  pattern \"%s\" on \"%s\": expected %d\n",
				templates[i].pattern, templates[i].str,
				templates[i].match);
	}
}

static void test_null_function(void)
{
	struct frame_spec f = { NULL, "", NULL };

	TEST_ASSERT(match_frame("*", &f) == -1);
}

/* ---- which string of which frame ---------------------------------------- */

static const struct frame_spec two_frames[] = {
	{ "leaky_alloc", "/usr/lib/libleaky.so.1", "/src/leaky/alloc.c" },
	{ "main", "/opt/app/bin/app", "/opt/app/src/main.c" },
};

static const struct {
	const char *pattern;
	int match;
} fields[] = {
	{ "leaky_alloc", 1 }, { "^leaky_alloc$", 1 }, { "^main$", 1 },
	{ "libleaky.so", 1 }, { "^libleaky.so.1$", 1 },
	{ "^/usr/lib/libleaky.so.1$", 1 }, { "^/usr/lib/", 1 }, { "^app$", 1 },
	{ "alloc.c", 1 }, { "^alloc.c$", 1 }, { "^/src/leaky/alloc.c$", 1 },
	{ "^main.c$", 1 }, { "/opt/*/main.c$", 1 },
	{ "^leaky/alloc.c$", 0 }, { "^lib/libleaky", 0 }, { "^ain", 0 },
	{ "nothing", 0 }, { "<unknown module>", 0 }, { "^leaky_alloc.c$", 0 },
};

static int match_two(const char *pattern)
{
	char text[256];
	struct suppressions *s;
	struct report_stack rs = make_stack(1, 1, two_frames, 2);
	int idx;

	snprintf(text, sizeof(text), "leak:%s\n", pattern);
	s = load(text);
	idx = suppressions_match(s, &rs);
	suppressions_destroy(s);
	free_stack(&rs);
	return idx;
}

static void test_fields(void)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int got = match_two(fields[i].pattern) == 0;

		if (!TEST_ASSERT(got == fields[i].match))
			fprintf(stderr, "  pattern \"%s\": expected %d\n",
				fields[i].pattern, fields[i].match);
	}
}

static void test_unknown_module(void)
{
	struct frame_spec f = { "fn", NULL, NULL };

	TEST_ASSERT(match_frame("<unknown module>", &f) == 0);
	TEST_ASSERT(match_frame("^<unknown module>$", &f) == 0);
	TEST_ASSERT(match_frame("^unknown", &f) == -1);
}

/* LSan's order: innermost frame first; module before function and file. */
static const struct {
	const char *text;
	int idx;
} credits[] = {
	{ "leak:main\nleak:libleaky\nleak:leaky_alloc\n", 1 },
	{ "leak:main\nleak:leaky_alloc\n", 1 },
	{ "leak:alloc.c\nleak:leaky_alloc\n", 0 },
	{ "leak:leaky_alloc\nleak:alloc.c\n", 0 },
	{ "leak:^app$\nleak:main\n", 0 },
	{ "leak:zz1\nleak:zz2\nleak:^main$\n", 2 },
	{ "leak:zz1\nleak:zz2\n", -1 },
	{ "leak:main\nleak:main\n", 0 },
};

static void test_credit(void)
{
	for (size_t i = 0; i < sizeof(credits) / sizeof(credits[0]); i++) {
		struct suppressions *s = load(credits[i].text);
		struct report_stack rs = make_stack(1, 1, two_frames, 2);

		TEST_ASSERT_EQ_U64(suppressions_match(s, &rs), credits[i].idx);
		suppressions_destroy(s);
		free_stack(&rs);
	}
}

static void test_no_frames_no_set(void)
{
	struct suppressions *s = load("leak:*\n");
	struct report_stack rs = make_stack(1, 1, NULL, 0);

	TEST_ASSERT(suppressions_match(s, &rs) == -1);
	rs = make_stack(1, 1, two_frames, 2);
	TEST_ASSERT(suppressions_match(s, &rs) == 0);
	TEST_ASSERT(suppressions_match(NULL, &rs) == -1);
	suppressions_destroy(s);
	free_stack(&rs);
}

/* ---- the format ----------------------------------------------------------- */

static void expect_patterns(const struct suppressions *s, const char *const *pat,
			    const unsigned *line, unsigned n)
{
	TEST_ASSERT_EQ_U64(suppressions_size(s), n);
	for (unsigned i = 0; i < n && i < suppressions_size(s); i++) {
		TEST_ASSERT_STREQ(suppressions_get(s, i)->pattern, pat[i]);
		TEST_ASSERT_STREQ(suppressions_get(s, i)->source, "t.supp");
		TEST_ASSERT_EQ_U64(suppressions_get(s, i)->line, line[i]);
		TEST_ASSERT_EQ_U64(suppressions_get(s, i)->stacks, 0);
	}
	TEST_ASSERT(suppressions_get(s, n) == NULL);
}

static void test_format(void)
{
	static const char text[] =
		"# comment\n"
		"\n"
		"   \t\n"
		"  # indented comment\n"
		"leak:foo\n"
		"  leak:bar  \r\n"
		"leak:  spaced\t\n"
		"leak:baz # not a comment\n"
		"\tleak:a b\n"
		"leak:last";
	static const char *const pat[] = { "foo", "bar", "spaced",
		"baz # not a comment", "a b", "last" };
	static const unsigned line[] = { 5, 6, 7, 8, 9, 10 };
	struct suppressions *s = load(text);

	expect_patterns(s, pat, line, 6);
	suppressions_destroy(s);
	s = load("");
	TEST_ASSERT_EQ_U64(suppressions_size(s), 0);
	suppressions_destroy(s);
	s = load("\n\n# only comments\n");
	TEST_ASSERT_EQ_U64(suppressions_size(s), 0);
	suppressions_destroy(s);
}

/* A line of exactly SUPPRESSIONS_MAX_LINE bytes, and one more. */
static char *long_line(size_t len)
{
	char *t = malloc(len + 2);

	memcpy(t, "leak:", 5);
	memset(t + 5, 'x', len - 5);
	t[len] = '\n';
	t[len + 1] = '\0';
	return t;
}

static void test_line_length(void)
{
	char *ok = long_line(SUPPRESSIONS_MAX_LINE);
	char *bad = long_line(SUPPRESSIONS_MAX_LINE + 1);
	struct suppressions *s = load(ok);
	char err[256] = CANARY;

	TEST_ASSERT_EQ_U64(suppressions_size(s), 1);
	TEST_ASSERT(suppressions_load_string(s, "t.supp", bad, err,
					     sizeof(err)) == -EINVAL);
	TEST_ASSERT_STREQ(err, "t.supp:1: line too long (more than 4096 bytes)");
	TEST_ASSERT_EQ_U64(suppressions_size(s), 1);
	suppressions_destroy(s);
	free(ok);
	free(bad);
}

static const struct {
	const char *text;
	const char *err;
} malformed[] = {
	{ "leak:ok\nfoo\n", "t.supp:2: malformed line: expected 'leak:PATTERN'" },
	{ "leak\n", "t.supp:1: malformed line: expected 'leak:PATTERN'" },
	{ "leak foo\n", "t.supp:1: malformed line: expected 'leak:PATTERN'" },
	{ " leak :foo\n", "t.supp:1: malformed line: expected 'leak:PATTERN'" },
	{ ":foo\n", "t.supp:1: malformed line: expected 'leak:PATTERN'" },
	{ "-leak:foo", "t.supp:1: malformed line: expected 'leak:PATTERN'" },
	{ "leak:\n", "t.supp:1: empty pattern after 'leak:'" },
	{ "# c\nleak:   \t\r\n", "t.supp:2: empty pattern after 'leak:'" },
	{ "interceptor_via_fun:foo\n", "t.supp:1: unsupported suppression type "
	  "'interceptor_via_fun' (only 'leak' is supported)" },
	{ "Leak:foo\n", "t.supp:1: unsupported suppression type 'Leak' (only "
	  "'leak' is supported)" },
	{ "leaks:foo\n", "t.supp:1: unsupported suppression type 'leaks' (only "
	  "'leak' is supported)" },
	{ "\n\n# c\nleak:a\nleak:b\nodr_violation:x", "t.supp:6: unsupported "
	  "suppression type 'odr_violation' (only 'leak' is supported)" },
	{ "leak:a\nleak:\nfoo\n", "t.supp:2: empty pattern after 'leak:'" },
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct suppressions *s = load("leak:before\n");
		char err[256] = CANARY;

		TEST_ASSERT(suppressions_load_string(s, "t.supp", malformed[i].text,
						     err, sizeof(err)) == -EINVAL);
		TEST_ASSERT_STREQ(err, malformed[i].err);
		/* nothing of the failed load is kept */
		TEST_ASSERT_EQ_U64(suppressions_size(s), 1);
		TEST_ASSERT_STREQ(suppressions_get(s, 0)->pattern, "before");
		suppressions_destroy(s);
	}
}

static void test_err_buffer(void)
{
	struct suppressions *s = suppressions_create();
	char err[12] = CANARY;

	TEST_ASSERT(suppressions_load_string(s, "t.supp", "leak:a\n", err,
					     sizeof(err)) == 0);
	TEST_ASSERT_STREQ(err, CANARY);      /* untouched on success */
	TEST_ASSERT(suppressions_load_string(s, "t.supp", "x\n", err,
					     sizeof(err)) == -EINVAL);
	TEST_ASSERT_STREQ(err, "t.supp:1: m");  /* cut, terminated */
	TEST_ASSERT(suppressions_load_string(s, "t.supp", "x\n", NULL, 0) ==
		    -EINVAL);
	TEST_ASSERT_EQ_U64(suppressions_size(s), 1);
	suppressions_destroy(s);
	suppressions_destroy(NULL);
}

/* ---- files ---------------------------------------------------------------- */

static char dir[64];

static void write_file(const char *name, const char *data, size_t len,
		       char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", dir, name);
	f = fopen(path, "w");
	TEST_ASSERT(f != NULL);
	if (!f)
		return;
	TEST_ASSERT(fwrite(data, 1, len, f) == len);
	fclose(f);
}

static void test_files(void)
{
	char a[128], b[128], err[512] = CANARY;
	struct suppressions *s = suppressions_create();

	write_file("a.supp", "# a\nleak:alpha\r\nleak:beta\n", 26, a, sizeof(a));
	write_file("b.supp", "\nleak:gamma", 11, b, sizeof(b));
	TEST_ASSERT(suppressions_load_file(s, a, err, sizeof(err)) == 0);
	TEST_ASSERT(suppressions_load_file(s, b, err, sizeof(err)) == 0);
	TEST_ASSERT_STREQ(err, CANARY);
	TEST_ASSERT_EQ_U64(suppressions_size(s), 3);
	TEST_ASSERT_STREQ(suppressions_get(s, 0)->pattern, "alpha");
	TEST_ASSERT_STREQ(suppressions_get(s, 0)->source, a);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 0)->line, 2);
	TEST_ASSERT_STREQ(suppressions_get(s, 1)->pattern, "beta");
	TEST_ASSERT_EQ_U64(suppressions_get(s, 1)->line, 3);
	TEST_ASSERT_STREQ(suppressions_get(s, 2)->pattern, "gamma");
	TEST_ASSERT_STREQ(suppressions_get(s, 2)->source, b);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 2)->line, 2);
	suppressions_destroy(s);
	unlink(a);
	unlink(b);
}

static void expect_file_error(const char *path, int rc, const char *msg)
{
	struct suppressions *s = load("leak:before\n");
	char err[512] = CANARY;

	TEST_ASSERT_EQ_U64(suppressions_load_file(s, path, err, sizeof(err)), rc);
	TEST_ASSERT_STREQ(err, msg);
	TEST_ASSERT_EQ_U64(suppressions_size(s), 1);
	suppressions_destroy(s);
}

static void test_file_errors(void)
{
	char path[128], msg[512];
	char *big = long_line(SUPPRESSIONS_MAX_LINE * 3);

	snprintf(path, sizeof(path), "%s/missing", dir);
	snprintf(msg, sizeof(msg), "cannot read suppressions file '%s': no such "
		 "file or directory", path);
	expect_file_error(path, -ENOENT, msg);
	snprintf(msg, sizeof(msg), "cannot read suppressions file '%s': is a "
		 "directory", dir);
	expect_file_error(dir, -EISDIR, msg);
	write_file("nul.supp", "leak:a\nleak:b\0c\n", 16, path, sizeof(path));
	snprintf(msg, sizeof(msg), "%s:2: NUL byte in line", path);
	expect_file_error(path, -EINVAL, msg);
	unlink(path);
	write_file("long.supp", big, strlen(big), path, sizeof(path));
	snprintf(msg, sizeof(msg), "%s:1: line too long (more than 4096 bytes)",
		 path);
	expect_file_error(path, -EINVAL, msg);
	unlink(path);
	write_file("bad.supp", "leak:a\nleak:b\nfun:c\n", 20, path, sizeof(path));
	snprintf(msg, sizeof(msg), "%s:3: unsupported suppression type 'fun' "
		 "(only 'leak' is supported)", path);
	expect_file_error(path, -EINVAL, msg);
	unlink(path);
	free(big);
}

/* ---- counters and --print-suppressions ------------------------------------ */

static char *capture(int (*fn)(const void *, FILE *), const void *arg, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*rc = fn(arg, f);
	fclose(f);
	return buf;
}

static int write_used(const void *s, FILE *f)
{
	return suppressions_write_used(s, f);
}

static void test_counters(void)
{
	struct suppressions *s = load("leak:foo\nleak:bar\nleak:baz_*\n");
	const struct suppression *e;
	char *out;
	int rc;

	out = capture(write_used, s, &rc);
	TEST_ASSERT_STREQ(out, "Suppressions used: none\n");
	free(out);
	suppressions_count(s, 0, 100, 2);
	suppressions_count(s, 0, 28, 1);
	suppressions_count(s, 2, 4096, 4);
	suppressions_count(s, -1, 1, 1);       /* ignored */
	suppressions_count(s, 3, 1, 1);        /* ignored */
	e = suppressions_get(s, 0);
	TEST_ASSERT_EQ_U64(e->stacks, 2);
	TEST_ASSERT_EQ_U64(e->bytes, 128);
	TEST_ASSERT_EQ_U64(e->blocks, 3);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 1)->stacks, 0);
	out = capture(write_used, s, &rc);
	TEST_ASSERT(rc == 0);
	TEST_ASSERT_STREQ(out, "Suppressions used:\n"
			  "  count      bytes template\n"
			  "      2        128 foo\n"
			  "      1       4096 baz_*\n");
	free(out);
	out = capture(write_used, NULL, &rc);
	TEST_ASSERT_STREQ(out, "Suppressions used: none\n");
	free(out);
	suppressions_destroy(s);
}

static void test_write_errors(void)
{
	FILE *full = fopen("/dev/full", "w");
	struct report rep = { 0 };
	struct suppressions *s = load("leak:foo\n");

	if (!full)
		return;
	TEST_ASSERT(suppressions_write_used(s, full) == -EIO);
	clearerr(full);
	rep.n_stacks = 1;
	rep.stacks = calloc(1, sizeof(*rep.stacks));
	rep.stacks[0] = make_stack(8, 1, two_frames, 2);
	TEST_ASSERT(suppressions_write_generated(&rep, full) == -EIO);
	report_release(&rep);
	suppressions_destroy(s);
	fclose(full);
}

/* ---- --gen-suppressions ---------------------------------------------------- */

static const struct frame_spec gen_fib[] = {
	{ NULL, "/app/bin/app", NULL }, { "fibonacci", "/app/bin/app", "fib.c" },
};
static const struct frame_spec gen_mod[] = {
	{ NULL, NULL, NULL }, { NULL, "/usr/lib/libfoo.so.1", NULL },
	{ NULL, "/app/bin/app", NULL },
};
static const struct frame_spec gen_anon[] = { { NULL, NULL, "x.c" } };
static const struct frame_spec gen_dollar[] = { { "weird$name", NULL, NULL } };
static const struct frame_spec gen_caret[] = { { "^caret ", NULL, NULL } };
static const struct frame_spec gen_ctl[] = { { "a\nleak:*", NULL, NULL } };

static const char gen_expected[] =
	"# 81920 bytes in 10 allocations\n"
	"leak:fibonacci\n"
	"\n"
	"# 1 byte in 1 allocation\n"
	"leak:libfoo.so.1\n"
	"\n"
	"# 16 bytes in 1 allocation (no function or module known to suppress by)\n"
	"\n"
	"# 7 bytes in 2 allocations (no function or module known to suppress by)\n"
	"\n"
	"# 32 bytes in 2 allocations\n"
	"leak:weird*name\n"
	"\n"
	"# 3 bytes in 1 allocation\n"
	"leak:*caret*\n"
	"\n"
	"# 2 bytes in 1 allocation\n"
	"leak:a*leak:*\n";

static void gen_report(struct report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->n_stacks = 7;
	rep->stacks = calloc(7, sizeof(*rep->stacks));
	rep->stacks[0] = make_stack(81920, 10, gen_fib, 2);
	rep->stacks[1] = make_stack(1, 1, gen_mod, 3);
	rep->stacks[2] = make_stack(16, 1, NULL, 0);
	rep->stacks[3] = make_stack(7, 2, gen_anon, 1);
	rep->stacks[4] = make_stack(32, 2, gen_dollar, 1);
	rep->stacks[5] = make_stack(3, 1, gen_caret, 1);
	rep->stacks[6] = make_stack(2, 1, gen_ctl, 1);
}

static int write_generated(const void *rep, FILE *f)
{
	return suppressions_write_generated(rep, f);
}

/* What was generated loads back and suppresses each named stack. */
static void check_round_trip(const struct report *rep, const char *text)
{
	struct suppressions *s = load(text);

	for (unsigned i = 0; i < rep->n_stacks; i++) {
		int named = i != 2 && i != 3;

		if (!TEST_ASSERT((suppressions_match(s, &rep->stacks[i]) >= 0) ==
				 named))
			fprintf(stderr, "  stack %u\n", i);
	}
	suppressions_destroy(s);
}

static void test_generate(void)
{
	struct report rep;
	char *out;
	int rc;

	gen_report(&rep);
	out = capture(write_generated, &rep, &rc);
	TEST_ASSERT(rc == 0);
	TEST_ASSERT_STREQ(out, gen_expected);
	check_round_trip(&rep, out);
	free(out);
	report_release(&rep);
	memset(&rep, 0, sizeof(rep));
	out = capture(write_generated, &rep, &rc);
	TEST_ASSERT(rc == 0);
	TEST_ASSERT_STREQ(out, "");
	free(out);
}

/* A name longer than a line is cut to a prefix that loads and matches. */
static void test_generate_long(void)
{
	struct report rep = { .n_stacks = 1 };
	char *name = malloc(3 * SUPPRESSIONS_MAX_LINE);
	struct frame_spec f = { name, NULL, NULL };
	struct suppressions *s;
	char *out;
	int rc;

	memset(name, 'n', 3 * SUPPRESSIONS_MAX_LINE - 1);
	name[3 * SUPPRESSIONS_MAX_LINE - 1] = '\0';
	rep.stacks = calloc(1, sizeof(*rep.stacks));
	rep.stacks[0] = make_stack(1, 1, &f, 1);
	out = capture(write_generated, &rep, &rc);
	TEST_ASSERT(rc == 0);
	TEST_ASSERT_EQ_U64(strlen(strchr(out, '\n') + 1),
			   SUPPRESSIONS_MAX_LINE + 1);
	s = load(out);
	TEST_ASSERT(suppressions_match(s, &rep.stacks[0]) == 0);
	suppressions_destroy(s);
	free(out);
	free(name);
	report_release(&rep);
}

/* ---- report_apply_suppressions -------------------------------------------- */

static const char *const names[] = { "fa", "fb", "fc", "fd", "fe" };

/* Five stacks fa..fe of 50, 40, 30, 20, 10 bytes (5..1 blocks), each with
 * a block list, as report_build(.show_addresses) makes them. */
static void five_stacks(struct report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->n_stacks = 5;
	rep->stacks = calloc(5, sizeof(*rep->stacks));
	for (unsigned i = 0; i < 5; i++) {
		struct frame_spec f[2] = { { names[i], "/lib/m.so", "m.c" },
					   { "main", "/bin/app", "app.c" } };

		rep->stacks[i] = make_stack(50 - 10 * i, 5 - i, f, 2);
		rep->stacks[i].stack_id = i;
		rep->stacks[i].n_list = 1;
		rep->stacks[i].list = calloc(1, sizeof(struct report_block));
	}
	report_truncate(rep, 0);
}

static void expect_ids(const struct report *rep, const uint32_t *ids,
		       unsigned n)
{
	TEST_ASSERT_EQ_U64(rep->n_stacks, n);
	for (unsigned i = 0; i < n && i < rep->n_stacks; i++)
		TEST_ASSERT_EQ_U64(rep->stacks[i].stack_id, ids[i]);
}

static void test_apply(void)
{
	static const uint32_t kept[] = { 0, 2, 4 };
	struct suppressions *s = load("leak:^fd$\nleak:^fb$\nleak:nomatch\n");
	struct report rep;

	five_stacks(&rep);
	report_apply_suppressions(&rep, s);
	expect_ids(&rep, kept, 3);
	TEST_ASSERT_EQ_U64(rep.suppressed_stacks, 2);
	TEST_ASSERT_EQ_U64(rep.suppressed_bytes, 60);
	TEST_ASSERT_EQ_U64(rep.suppressed_blocks, 6);
	TEST_ASSERT_EQ_U64(rep.total_stacks, 3);
	TEST_ASSERT_EQ_U64(rep.leak_bytes, 90);
	TEST_ASSERT_EQ_U64(rep.leak_blocks, 9);
	TEST_ASSERT_STREQ(rep.stacks[1].frames[0].function, "fc");
	TEST_ASSERT_EQ_U64(suppressions_get(s, 0)->bytes, 20);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 1)->bytes, 40);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 1)->stacks, 1);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 2)->stacks, 0);
	report_truncate(&rep, 2);
	TEST_ASSERT_EQ_U64(rep.total_stacks, 3);
	TEST_ASSERT_EQ_U64(rep.leak_bytes, 90);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 2);
	report_release(&rep);
	suppressions_destroy(s);
}

static void test_apply_edges(void)
{
	static const uint32_t all[] = { 0, 1, 2, 3, 4 };
	static const uint32_t last[] = { 4 };
	struct suppressions *s = load("leak:^f[abcd]$\nleak:^f?$\nleak:^f[a-d]\n");
	struct report rep;

	five_stacks(&rep);
	report_apply_suppressions(&rep, NULL);
	report_apply_suppressions(&rep, s);   /* '[' and '?' are literal */
	expect_ids(&rep, all, 5);
	TEST_ASSERT_EQ_U64(rep.suppressed_stacks, 0);
	report_release(&rep);
	suppressions_destroy(s);
	s = load("leak:^f[a-d]\nleak:^fa\nleak:^fb\nleak:^fc\nleak:^fd\n");
	five_stacks(&rep);
	report_apply_suppressions(&rep, s);
	expect_ids(&rep, last, 1);
	report_release(&rep);
	suppressions_destroy(s);
	s = load("leak:app.c\n");
	five_stacks(&rep);
	report_apply_suppressions(&rep, s);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 0);
	TEST_ASSERT_EQ_U64(rep.suppressed_stacks, 5);
	TEST_ASSERT_EQ_U64(rep.suppressed_bytes, 150);
	TEST_ASSERT_EQ_U64(rep.total_stacks, 0);
	TEST_ASSERT_EQ_U64(rep.leak_bytes, 0);
	TEST_ASSERT_EQ_U64(suppressions_get(s, 0)->stacks, 5);
	report_release(&rep);
	suppressions_destroy(s);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-suppress.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	test_templates();
	test_null_function();
	test_fields();
	test_unknown_module();
	test_credit();
	test_no_frames_no_set();
	test_format();
	test_line_length();
	test_malformed();
	test_err_buffer();
	test_files();
	test_file_errors();
	test_counters();
	test_write_errors();
	test_generate();
	test_generate_long();
	test_apply();
	test_apply_edges();
	rmdir(dir);
	return test_summary();
}
