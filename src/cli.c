/* SPDX-License-Identifier: MIT */
/*
 * cli.c - option parsing (getopt_long), value parsers, the usage text, and
 * the cross-option checks in one place after parsing.  Knows nothing
 * about tracing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "leaktrap/cli.h"
#include "leaktrap/error.h"
#include "leaktrap/reach.h"
#include "leaktrap/unwind.h"

void cli_usage(FILE *out)
{
	fputs(
"usage: leaktrap [options] -p PID\n"
"       leaktrap [options] -- COMMAND [ARG...]\n"
"\n"
"Attach to a running process (or launch one), trace every allocation with\n"
"breakpoints on the allocator, detach leaving the process as it was, and\n"
"report the blocks allocated while tracing that were never freed.\n"
"\n"
"Target:\n"
"  -p, --pid PID            attach to the process PID (all its threads)\n"
"  -- COMMAND [ARG...]      launch COMMAND traced; report when it exits\n"
"\n"
"Tracing:\n"
"  -d, --duration TIME      trace this long, then detach and report\n"
"                           (default: until Ctrl-C, SIGTERM, SIGHUP, or exit)\n"
"  -i, --interval TIME      also print a timestamped report every TIME\n"
"  -c, --count N            stop after N reports in all: N-1 interval\n"
"                           reports, then the final one (needs -i)\n"
"      --depth N            frames per allocation stack (default 32, max 256)\n"
"      --allocator OBJECT   probe the allocator in OBJECT only (a path, or a\n"
"                           file name: libjemalloc.so.2, libjemalloc.so)\n"
"      --symbol-prefix P    also probe P-prefixed names (je_malloc, ...)\n"
"      --mmap               also trace anonymous private mmap/munmap/mremap\n"
"                           by the program (reported separately)\n"
"      --no-follow-exec     detach when the target calls execve (default:\n"
"                           report the old program, trace the new one)\n"
"      --follow-forks       trace fork children too, one report per process\n"
"                           (default: fork children run on untraced)\n"
"      --max-blocks N       stop tracing (detach, partial report, exit 9) when\n"
"                           N blocks are live (default 10000000, 0: no limit)\n"
"\n"
"Report:\n"
"  -T, --top N              stacks to show (default 10, 0: all)\n"
"  -f, --format FORMAT      text (default), json, folded (flame graph input)\n"
"                           or svg (a flame graph); see docs/report-format.md\n"
"  -o, --output FILE        write the report to FILE (atomically) not stdout\n"
"      --sort KEY           bytes (default), blocks, or age (oldest first)\n"
"      --older-than TIME    only blocks at least TIME old at report time\n"
"  -z, --min-size SIZE      only blocks of at least SIZE bytes (4K, 1M...)\n"
"  -Z, --max-size SIZE      only blocks of at most SIZE bytes\n"
"  -a, --show-addresses     list each block: address, size, age\n"
"      --no-demangle        keep C++ names mangled\n"
"\n"
"Reachability (valgrind memcheck's leak kinds, attached or launched):\n"
"      --reachability       at the end, with the target stopped, scan its\n"
"                           memory and registers for pointers and classify\n"
"                           each block: definitely/indirectly/possibly lost,\n"
"                           still reachable (LEAK SUMMARY, loss records)\n"
"      --show-leak-kinds K  kinds listed: definite,indirect,possible,reachable\n"
"                           all, none (default: definite,possible)\n"
"      --errors-for-leak-kinds K\n"
"                           kinds that trip --error-exitcode (same\n"
"                           spellings, default: definite,possible)\n"
"      --leak-check-heuristics H\n"
"                           interior pointers that count as start\n"
"                           pointers: stdstring,length64,newarray,\n"
"                           multipleinheritance, all (default), none\n"
"\n"
"Symbols:\n"
"      --debuginfo-dir DIR  also look for separate debug information in DIR\n"
"                           (DIR/.build-id/xx/yyyy.debug, as /usr/lib/debug;\n"
"                           repeatable)\n"
"\n"
"CI gate:\n"
"      --error-exitcode N   exit N when leaks remain after filters and\n"
"                           suppressions\n"
"      --fail-over BYTES    only when more than BYTES leaked (exit status:\n"
"                           --error-exitcode, default 23)\n"
"      --suppressions FILE  leak:PATTERN lines to ignore (repeatable)\n"
"      --print-suppressions\n"
"                           list the suppressions that matched\n"
"      --gen-suppressions   print a suppression for each reported stack\n"
"      --baseline REPORT    report only stacks that grew beyond a JSON report\n"
"\n"
"Other:\n"
"  -v, --verbose            diagnostics on stderr\n"
"  -h, --help               this help\n"
"  -V, --version            version and what was built in\n"
"\n"
"TIME is seconds, or a number with ms, s, m or h.  Once every breakpoint is\n"
"armed leaktrap prints to stderr:\n"
"  leaktrap: attached to pid N (T threads), tracing K allocator functions\n"
"\n"
"EXIT STATUS\n"
"  0  report written            5  no allocator symbols in the target\n"
"  1  internal error            6  the target exited while attaching\n"
"  2  usage error, or COMMAND   7  a target leaktrap cannot trace\n"
"     cannot be executed           safely (32-bit, shadow stacks, ...)\n"
"  3  no such process           8  COMMAND exited non-zero or was\n"
"  4  ptrace not permitted         killed (the report was written)\n"
"                               9  --max-blocks reached: the report\n"
"                                  is partial\n"
"                               N  --error-exitcode N (23 with\n"
"                                  --fail-over alone): leaks remain\n"
"\n"
"EXAMPLES\n"
"  leaktrap -p 4242 -d 10          # trace pid 4242 for 10 s, then report\n"
"  leaktrap -p 4242                # trace until Ctrl-C\n"
"  leaktrap -p 4242 -i 5 -c 6      # a report every 5 s, detach after 30 s\n"
"  leaktrap -- ./app --serve       # run ./app traced, report at its exit\n"
"  leaktrap -p 4242 -d 5 -f json -o leaks.json   # machine-readable report\n"
"  leaktrap --error-exitcode 42 --suppressions ci.supp -- ./unit-tests\n"
"                                  # CI: fail the job on a new leak\n"
"  leaktrap -p 4242 -d 30 --reachability   # what nothing points to any more\n",
	out);
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *val_ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *s == '+' || v < min || v > max)
		return -EINVAL;
	*val_ret = v;
	return 0;
}

/* A non-negative finite number and the unit text after it. */
static int parse_number(const char *s, double *val_ret, const char **unit_ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0 || *s == '-' || *s == '+')
		return -EINVAL;
	*val_ret = v, *unit_ret = end;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *val_ret)
{
	static const char units[] = "KMGT";
	double v, mul = 1;
	const char *unit;
	if (parse_number(s, &v, &unit))
		return -EINVAL;
	if (*unit) {
		const char *u = strchr(units, unit[0] & ~0x20);
		if (!u || (unit[1] && strcmp(unit + 1, "iB") && strcmp(unit + 1, "B")))
			return -EINVAL;
		mul = ldexp(1, 10 * (int)(u - units + 1));
	}
	if (v * mul >= 18446744073709551615.0 || v * mul != floor(v * mul))
		return -EINVAL;
	*val_ret = (uint64_t)(v * mul);
	return 0;
}

int cli_parse_duration(const char *s, int allow_zero, double *val_ret)
{
	static const struct { const char *unit; double mul; } units[] = {
		{ "", 1 }, { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
	};
	double v;
	const char *unit;
	if (parse_number(s, &v, &unit))
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit, units[i].unit)) {
			v *= units[i].mul;
			if ((!allow_zero && v <= 0) || v > 1e9)
				return -EINVAL;
			*val_ret = v;
			return 0;
		}
	return -EINVAL;
}

static int bad(const char *opt, const char *arg)
{
	lt_error("invalid value for %s: '%s' (see leaktrap --help)", opt, arg);
	return LT_EXIT_USAGE;
}

enum {
	OPT_DEPTH = 256, OPT_SORT, OPT_OLDER_THAN, OPT_NO_DEMANGLE, OPT_ERROR_EXITCODE,
	OPT_FAIL_OVER, OPT_SUPPRESSIONS, OPT_PRINT_SUPPRESSIONS, OPT_GEN_SUPPRESSIONS,
	OPT_BASELINE, OPT_DEBUGINFO_DIR, OPT_REACHABILITY, OPT_SHOW_KINDS, OPT_ERROR_KINDS,
	OPT_HEURISTICS, OPT_ALLOCATOR,
	OPT_SYMBOL_PREFIX, OPT_MMAP, OPT_NO_FOLLOW_EXEC,
	OPT_FOLLOW_FORKS, OPT_MAX_BLOCKS,
};

static const struct option longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "count", required_argument, NULL, 'c' },
	{ "top", required_argument, NULL, 'T' },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "max-blocks", required_argument, NULL, OPT_MAX_BLOCKS },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
	{ "min-size", required_argument, NULL, 'z' },
	{ "max-size", required_argument, NULL, 'Z' },
	{ "show-addresses", no_argument, NULL, 'a' },
	{ "no-demangle", no_argument, NULL, OPT_NO_DEMANGLE },
	{ "no-follow-exec", no_argument, NULL, OPT_NO_FOLLOW_EXEC },
	{ "follow-forks", no_argument, NULL, OPT_FOLLOW_FORKS },
	{ "error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE },
	{ "fail-over", required_argument, NULL, OPT_FAIL_OVER },
	{ "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
	{ "print-suppressions", no_argument, NULL, OPT_PRINT_SUPPRESSIONS },
	{ "gen-suppressions", no_argument, NULL, OPT_GEN_SUPPRESSIONS },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "debuginfo-dir", required_argument, NULL, OPT_DEBUGINFO_DIR },
	{ "reachability", no_argument, NULL, OPT_REACHABILITY },
	{ "show-leak-kinds", required_argument, NULL, OPT_SHOW_KINDS },
	{ "errors-for-leak-kinds", required_argument, NULL, OPT_ERROR_KINDS },
	{ "leak-check-heuristics", required_argument, NULL, OPT_HEURISTICS },
	{ "allocator", required_argument, NULL, OPT_ALLOCATOR },
	{ "symbol-prefix", required_argument, NULL, OPT_SYMBOL_PREFIX },
	{ "mmap", no_argument, NULL, OPT_MMAP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* The long name of option c, for messages. */
static const char *name_of(int c)
{
	static char buf[32];
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == c) {
			snprintf(buf, sizeof(buf), "--%s", o->name);
			return buf;
		}
	return "option";
}

static int parse_enum(const char *arg, const char *const *names, unsigned n, int *val_ret)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(arg, names[i])) {
			*val_ret = (int)i;
			return 0;
		}
	return -EINVAL;
}

/* Options taking a number or a word. */
static int parse_value(int c, const char *arg, struct cli_options *o)
{
	static const char *const formats[] = { "text", "json", "folded", "svg" };
	static const char *const sorts[] = { "bytes", "blocks", "age" };
	unsigned long v = 0;
	int e = 0, err = 0;
	switch (c) {
	case 'p': err = cli_parse_uint(arg, 1, INT_MAX, &v); o->pid = (pid_t)v; break;
	case 'd': err = cli_parse_duration(arg, 0, &o->duration); break;
	case 'i': err = cli_parse_duration(arg, 0, &o->interval); break;
	case 'c': err = cli_parse_uint(arg, 1, UINT_MAX, &v); o->count = (unsigned)v; break;
	case 'T': err = cli_parse_uint(arg, 0, UINT_MAX, &v); o->top = (unsigned)v; break;
	case OPT_DEPTH: err = cli_parse_uint(arg, 1, UNWIND_MAX_DEPTH, &v); o->depth = (unsigned)v; break;
	case OPT_MAX_BLOCKS: err = cli_parse_uint(arg, 0, ULONG_MAX, &v); o->max_blocks = v; break;
	case 'f': err = parse_enum(arg, formats, 4, &e); o->format = (enum cli_format)e; break;
	case OPT_SORT: err = parse_enum(arg, sorts, 3, &e); o->report.sort = (enum report_sort)e; break;
	case OPT_OLDER_THAN: err = cli_parse_duration(arg, 1, &o->older_than); break;
	case 'z': err = cli_parse_size(arg, &o->report.min_size); break;
	case 'Z': err = cli_parse_size(arg, &o->report.max_size); break;
	case OPT_ERROR_EXITCODE: err = cli_parse_uint(arg, 1, 255, &v); o->error_exitcode = (int)v; break;
	case OPT_FAIL_OVER: err = cli_parse_size(arg, &o->fail_over); o->have_fail_over = 1; break;
	case OPT_SHOW_KINDS: err = reach_parse_kinds(arg, &o->show_kinds); o->have_kinds = 1; break;
	case OPT_ERROR_KINDS: err = reach_parse_kinds(arg, &o->error_kinds); o->have_kinds = 1; break;
	case OPT_HEURISTICS: err = reach_parse_heuristics(arg, &o->heuristics); o->have_kinds = 1; break;
	default: return -ENOENT;
	}
	return err ? bad(name_of(c), arg) : 0;
}

static int parse_one(int c, const char *arg, struct cli_options *o)
{
	int rc = parse_value(c, arg, o);
	if (rc != -ENOENT)
		return rc;
	switch (c) {
	case 'o': o->output = arg; return 0;
	case 'a': o->report.show_addresses = 1; return 0;
	case 'v': o->verbose = 1; return 0;
	case OPT_NO_DEMANGLE: o->demangle = 0; return 0;
	case OPT_NO_FOLLOW_EXEC: o->no_follow_exec = 1; return 0;
	case OPT_FOLLOW_FORKS: o->follow_forks = 1; return 0;
	case OPT_PRINT_SUPPRESSIONS: o->print_suppressions = 1; return 0;
	case OPT_GEN_SUPPRESSIONS: o->gen_suppressions = 1; return 0;
	case OPT_BASELINE: o->baseline = arg; return 0;
	case OPT_REACHABILITY: o->reachability = 1; return 0;
	case OPT_MMAP: o->mmap = 1; return 0;
	case OPT_ALLOCATOR:
		if (!*arg)
			return bad("--allocator", arg);
		o->allocator = arg;
		return 0;
	case OPT_SYMBOL_PREFIX:
		if (!*arg || strchr(arg, '/'))
			return bad("--symbol-prefix", arg);
		o->symbol_prefix = arg;
		return 0;
	case OPT_SUPPRESSIONS:
		if (o->n_suppressions == CLI_MAX_SUPPRESSIONS)
			return bad("--suppressions", "(too many files)");
		o->suppressions[o->n_suppressions++] = arg;
		return 0;
	case OPT_DEBUGINFO_DIR:
		if (o->n_debuginfo_dirs == CLI_MAX_DEBUGINFO_DIRS)
			return bad("--debuginfo-dir", "(too many directories)");
		o->debuginfo_dirs[o->n_debuginfo_dirs++] = arg;
		return 0;
	default:
		fputs("Try 'leaktrap --help' for more information.\n", stderr);
		return LT_EXIT_USAGE;
	}
}

/* Fail before tracing, not after, when the report cannot be written. */
static int check_output(const char *path)
{
	char buf[PATH_MAX];
	if (!path)
		return -1;
	snprintf(buf, sizeof(buf), "%s", path);
	if (access(dirname(buf), W_OK | X_OK) < 0) {
		lt_error_errno(errno, "cannot write the report to %s", path);
		return LT_EXIT_USAGE;
	}
	return -1;
}

static int usage_error(const char *msg)
{
	lt_error("%s (see leaktrap --help)", msg);
	return LT_EXIT_USAGE;
}

/* Checks between options, in one place. */
static int check_options(struct cli_options *o)
{
	if (!o->pid == !o->argv)
		return usage_error(o->pid ? "give either -p PID or a command, not both"
					  : "nothing to trace: give -p PID or -- COMMAND");
	if (o->count && !o->interval)
		return usage_error("--count needs --interval");
	if (o->report.max_size && o->report.max_size < o->report.min_size)
		return usage_error("--max-size is smaller than --min-size");
	if (o->have_kinds && !o->reachability)
		return usage_error("--show-leak-kinds, --errors-for-leak-kinds and "
				   "--leak-check-heuristics need --reachability");
	if (o->have_fail_over && o->error_exitcode < 0)
		o->error_exitcode = 23;     /* LeakSanitizer's */
	o->report.older_than_ns = (uint64_t)(o->older_than * 1e9);
	return check_output(o->output);
}

int cli_parse(int argc, char **argv, struct cli_options *o)
{
	int c, rc;
	memset(o, 0, sizeof(*o));
	o->top = 10, o->depth = 32, o->demangle = 1, o->error_exitcode = -1;
	o->heuristics = REACH_H_ALL;
	o->show_kinds = o->error_kinds = REACH_MASK_DEFAULT;
	o->max_blocks = CLI_DEFAULT_MAX_BLOCKS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:d:i:c:T:f:o:z:Z:avhV", longopts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(stdout);
			return LT_EXIT_OK;
		}
		if (c == 'V') {
			printf("leaktrap %s (%s; %s)\n", LEAKTRAP_VERSION, LEAKTRAP_ARCH,
			       LEAKTRAP_BUILT_WITH);
			return LT_EXIT_OK;
		}
		if ((rc = parse_one(c, optarg, o)))
			return rc;
	}
	if (optind < argc)
		o->argv = argv + optind;
	return check_options(o);
}
