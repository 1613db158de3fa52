/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the command line: the options and their parsing.  The value
 * parsers (sizes, durations, counts) are pure and unit-tested.
 */
#ifndef LEAKTRAP_CLI_H
#define LEAKTRAP_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "leaktrap/report.h"

enum cli_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_FOLDED, FORMAT_SVG };

enum { CLI_MAX_SUPPRESSIONS = 32, CLI_MAX_DEBUGINFO_DIRS = 16 };
/* Live blocks at which tracing stops: about 1 GiB of leaktrap's memory. */
#define CLI_DEFAULT_MAX_BLOCKS 10000000UL

struct cli_options {
	pid_t pid;
	char **argv;                /* launch mode: the command */
	double duration;            /* seconds; 0: until a signal or exit */
	double interval;            /* -i: seconds between reports; 0: none */
	unsigned count;             /* -c: reports before detaching; 0: no limit */
	unsigned top, depth;
	unsigned long max_blocks;   /* stop tracing at this many live blocks; 0: no limit */
	enum cli_format format;
	const char *output;
	struct report_options report;
	double older_than;          /* seconds */
	int demangle;
	int no_follow_exec;          /* detach at execve */
	int follow_forks;            /* trace fork children too */
	int error_exitcode;         /* -1: not set */
	int have_fail_over;
	uint64_t fail_over;         /* bytes */
	const char *suppressions[CLI_MAX_SUPPRESSIONS];
	unsigned n_suppressions;
	int print_suppressions, gen_suppressions;
	const char *baseline;
	const char *debuginfo_dirs[CLI_MAX_DEBUGINFO_DIRS];
	unsigned n_debuginfo_dirs;
	int verbose;
	/* --reachability (reach.h): classify like memcheck at the end */
	int reachability;
	unsigned heuristics;        /* --leak-check-heuristics */
	unsigned show_kinds;        /* --show-leak-kinds */
	unsigned error_kinds;       /* --errors-for-leak-kinds */
	int have_kinds;             /* one of the three was given */
	const char *allocator;      /* --allocator OBJECT */
	const char *symbol_prefix;  /* --symbol-prefix PREFIX */
	int mmap;                   /* --mmap */
};

/* Parse argv into o.  Returns -1 to go on, or an exit status (0 after
 * --help/--version, LT_EXIT_USAGE after a message). */
int cli_parse(int argc, char **argv, struct cli_options *o);
void cli_usage(FILE *out);

/* "4096", "4K", "1.5M", "2G" (powers of 1024).  0 or -EINVAL. */
int cli_parse_size(const char *s, uint64_t *val_ret);
/* "1.5", "250ms", "10s", "5m", "2h" -> seconds (> 0 unless allow_zero).
 * 0 or -EINVAL. */
int cli_parse_duration(const char *s, int allow_zero, double *val_ret);
/* A decimal integer in [min, max].  0 or -EINVAL. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *val_ret);

#endif
