/* SPDX-License-Identifier: MIT */
/*
 * test-cli.c - the value parsers (sizes, durations, counts) and the
 * option checks of the command line, table-driven.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "leaktrap/cli.h"
#include "leaktrap/error.h"
#include "test.h"

static void test_sizes(void)
{
	static const struct { const char *in; int ok; uint64_t want; } cases[] = {
		{ "0", 1, 0 }, { "4096", 1, 4096 }, { "4K", 1, 4096 }, { "4k", 1, 4096 },
		{ "1.5M", 1, 1572864 }, { "2G", 1, 2147483648ULL }, { "1KiB", 1, 1024 },
		{ "1KB", 1, 1024 }, { "1T", 1, 1099511627776ULL },
		{ "", 0, 0 }, { "-1", 0, 0 }, { "+1", 0, 0 }, { "1X", 0, 0 }, { "K", 0, 0 },
		{ "1.5", 0, 0 }, { "1KX", 0, 0 }, { "nan", 0, 0 }, { "inf", 0, 0 },
		{ "99999999999T", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int r = cli_parse_size(cases[i].in, &v);
		if (!TEST_ASSERT((r == 0) == cases[i].ok))
			fprintf(stderr, "  size '%s'\n", cases[i].in);
		if (cases[i].ok)
			TEST_ASSERT_EQ_U64(v, cases[i].want);
		else
			TEST_ASSERT_EQ_U64(v, 12345);       /* canary */
	}
}

static void test_durations(void)
{
	static const struct { const char *in; int zero_ok; int ok; double want; } cases[] = {
		{ "1.5", 0, 1, 1.5 }, { "250ms", 0, 1, 0.25 }, { "10s", 0, 1, 10 },
		{ "5m", 0, 1, 300 }, { "2h", 0, 1, 7200 }, { "0", 1, 1, 0 },
		{ "0", 0, 0, 0 }, { "0s", 0, 0, 0 }, { "-1", 0, 0, 0 }, { "1d", 0, 0, 0 },
		{ "", 0, 0, 0 }, { "s", 0, 0, 0 }, { "1e10", 0, 0, 0 }, { "inf", 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v = -7;
		int r = cli_parse_duration(cases[i].in, cases[i].zero_ok, &v);
		if (!TEST_ASSERT((r == 0) == cases[i].ok))
			fprintf(stderr, "  duration '%s'\n", cases[i].in);
		TEST_ASSERT(cases[i].ok ? v == cases[i].want : v == -7);
	}
}

static void test_uints(void)
{
	unsigned long v = 99;
	TEST_ASSERT(cli_parse_uint("42", 1, 100, &v) == 0 && v == 42);
	TEST_ASSERT(cli_parse_uint("0", 1, 100, &v) == -EINVAL && v == 42);
	TEST_ASSERT(cli_parse_uint("101", 1, 100, &v) == -EINVAL);
	TEST_ASSERT(cli_parse_uint("-1", 0, 100, &v) == -EINVAL);
	TEST_ASSERT(cli_parse_uint("1x", 0, 100, &v) == -EINVAL);
	TEST_ASSERT(cli_parse_uint("", 0, 100, &v) == -EINVAL);
	TEST_ASSERT(cli_parse_uint("99999999999999999999999", 0, ~0UL, &v) == -EINVAL);
}

static int parse(struct cli_options *o, const char *const *args)
{
	static char *argv[32];      /* o->argv points into it after return */
	int argc = 0;
	argv[argc++] = (char *)"leaktrap";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	int saved = dup(STDERR_FILENO);        /* the messages are expected */
	freopen("/dev/null", "w", stderr);
	int rc = cli_parse(argc, argv, o);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	return rc;
}

static void test_options(void)
{
	struct cli_options o;
	TEST_ASSERT(parse(&o, (const char *[]){ "-p", "42", "-d", "2.5", "-i", "1s", "-c", "3",
		"-z", "1K", "-Z", "1M", "--older-than", "500ms", "--sort", "age", "-a",
		"-f", "folded", "--error-exitcode", "3", "--no-demangle", NULL }) == -1);
	TEST_ASSERT(o.pid == 42 && o.duration == 2.5 && o.interval == 1 && o.count == 3);
	TEST_ASSERT_EQ_U64(o.report.min_size, 1024);
	TEST_ASSERT_EQ_U64(o.report.max_size, 1048576);
	TEST_ASSERT_EQ_U64(o.report.older_than_ns, 500000000);
	TEST_ASSERT(o.report.sort == REPORT_SORT_AGE && o.report.show_addresses);
	TEST_ASSERT(o.format == FORMAT_FOLDED && o.error_exitcode == 3 && !o.demangle);
	TEST_ASSERT(parse(&o, (const char *[]){ "--fail-over", "10K", "-p", "1", NULL }) == -1);
	TEST_ASSERT(o.have_fail_over && o.fail_over == 10240 && o.error_exitcode == 23);
	TEST_ASSERT(parse(&o, (const char *[]){ "--", "/bin/true", "-p", NULL }) == -1);
	TEST_ASSERT(o.argv && !strcmp(o.argv[0], "/bin/true") && !strcmp(o.argv[1], "-p"));
	TEST_ASSERT(o.top == 10 && o.depth == 32 && o.format == FORMAT_TEXT);
	TEST_ASSERT(parse(&o, (const char *[]){ "--debuginfo-dir", "/a", "-p", "1",
		"--debuginfo-dir", "/b", NULL }) == -1);
	TEST_ASSERT(o.n_debuginfo_dirs == 2 && !strcmp(o.debuginfo_dirs[0], "/a") &&
		    !strcmp(o.debuginfo_dirs[1], "/b"));
}

static void test_option_errors(void)
{
	const char *const *bad[] = {
		(const char *[]){ NULL },
		(const char *[]){ "-p", "1", "--", "/bin/true", NULL },
		(const char *[]){ "-p", "1", "-c", "3", NULL },                /* -c needs -i */
		(const char *[]){ "-p", "1", "-z", "2K", "-Z", "1K", NULL },
		(const char *[]){ "-p", "1", "--sort", "size", NULL },
		(const char *[]){ "-p", "1", "-f", "xml", NULL },
		(const char *[]){ "-p", "1", "--depth", "0", NULL },
		(const char *[]){ "-p", "1", "--depth", "257", NULL },
		(const char *[]){ "-p", "1", "--error-exitcode", "0", NULL },
		(const char *[]){ "-p", "1", "--error-exitcode", "256", NULL },
		(const char *[]){ "-p", "1", "-o", "/nonexistent-dir/r.json", NULL },
		(const char *[]){ "-p", "1", "--bogus", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cli_options o;
		if (!TEST_ASSERT(parse(&o, bad[i]) == LT_EXIT_USAGE))
			fprintf(stderr, "  case %zu\n", i);
	}
}

int main(void)
{
	test_sizes();
	test_durations();
	test_uints();
	test_options();
	test_option_errors();
	return test_summary();
}
