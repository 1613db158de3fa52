/* SPDX-License-Identifier: MIT */
/*
 * fuzz-cli.c - the command line: the input's NUL-separated words are the
 * arguments after "leaktrap", parsed with cli_parse(); each word also goes
 * through the value parsers.  Oracle: cli_parse() returns -1 (go on) or an
 * exit status 0/2, and -1 only with a target; the value parsers accept
 * only what they document (a duration is positive, finite and at most
 * 1e9 s, an integer is in its range).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <unistd.h>

#include "fuzz.h"
#include "leaktrap/cli.h"
#include "leaktrap/error.h"

enum { MAX_ARGS = 64 };

/* getopt keeps a pointer into the previous argv between calls unless it
 * is reinitialized with optind = 0 (glibc); cli_parse() is called once in
 * leaktrap, many times here. */
static void reset_getopt(void)
{
	char *argv[] = { (char *)"x", NULL };
	optind = 0;
	(void)getopt(1, argv, "");
}

static void check_values(const char *s)
{
	uint64_t size;
	double d;
	unsigned long u;
	(void)cli_parse_size(s, &size);
	if (cli_parse_duration(s, 0, &d) == 0)
		FUZZ_CHECK(d > 0 && d <= 1e9 && isfinite(d));
	if (cli_parse_duration(s, 1, &d) == 0)
		FUZZ_CHECK(d >= 0 && d <= 1e9);
	if (cli_parse_uint(s, 1, 255, &u) == 0)
		FUZZ_CHECK(u >= 1 && u <= 255);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[argc++] = (char *)"leaktrap";
	for (char *p = buf; p < buf + size && argc <= MAX_ARGS; p += strlen(p) + 1) {
		argv[argc++] = p;
		check_values(p);
	}
	argv[argc] = NULL;

	/* messages and --help go to /dev/null, unless FUZZ_VERBOSE is set */
	int out = -1, err = -1, null = -1;
	if (!getenv("FUZZ_VERBOSE")) {
		fflush(stdout);
		out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 1), dup2(null, 2);
	}
	struct cli_options o;
	reset_getopt();
	opterr = 0;
	int rc = cli_parse(argc, argv, &o);
	if (null >= 0) {
		fflush(stdout);
		dup2(out, 1), dup2(err, 2);
		close(null);
	}
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	FUZZ_CHECK(rc == -1 || rc == LT_EXIT_OK || rc == LT_EXIT_USAGE);
	if (rc == -1) {
		FUZZ_CHECK(!o.pid != !o.argv);
		FUZZ_CHECK(o.depth >= 1 && o.n_suppressions <= CLI_MAX_SUPPRESSIONS);
		FUZZ_CHECK(!o.count || o.interval > 0);
	}
	free(buf);
	return 0;
}
