/* SPDX-License-Identifier: MIT */
/*
 * main.c - the command line: parse options, run one session (attach or
 * launch), detach, symbolize and write the report.  No tracing logic here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "leaktrap/error.h"
#include "leaktrap/report.h"
#include "leaktrap/session.h"
#include "leaktrap/symbolize.h"

enum format { FORMAT_TEXT, FORMAT_JSON };

struct options {
	pid_t pid;
	char **argv;            /* launch mode */
	double duration;
	unsigned top, depth;
	enum format format;
	const char *output;
};

static void usage(FILE *out)
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
"  -d, --duration SECONDS   trace this long, then detach and report\n"
"                           (default: until Ctrl-C, SIGTERM, SIGHUP, or exit)\n"
"      --depth N            frames per allocation stack (default 32, max 256)\n"
"\n"
"Report:\n"
"  -T, --top N              stacks to show, largest first (default 10, 0: all)\n"
"  -f, --format FORMAT      text (default) or json (docs/report-format.md)\n"
"  -o, --output FILE        write the report to FILE instead of stdout\n"
"\n"
"Other:\n"
"  -v, --verbose            diagnostics on stderr\n"
"  -h, --help               this help\n"
"  -V, --version            version and what was built in\n"
"\n"
"Once every breakpoint is armed leaktrap prints to stderr:\n"
"  leaktrap: attached to pid N (T threads), tracing K allocator functions\n"
"\n"
"EXIT STATUS\n"
"  0  report written            4  ptrace not permitted\n"
"  1  internal error            5  no allocator symbols in the target\n"
"  2  usage error, or COMMAND   6  the target exited while attaching\n"
"     cannot be executed\n"
"  3  no such process           7  a target leaktrap cannot trace\n"
"                                  safely (32-bit, shadow stacks, ...)\n"
"\n"
"EXAMPLES\n"
"  leaktrap -p 4242 -d 10          # trace pid 4242 for 10 s, then report\n"
"  leaktrap -p 4242                # trace until Ctrl-C\n"
"  leaktrap -- ./app --serve       # run ./app traced, report at its exit\n"
"  leaktrap -p 4242 -d 5 -f json -o leaks.json   # machine-readable report\n",
	out);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *val_ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*val_ret = v;
	return 0;
}

static int parse_seconds(const char *s, double *val_ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e9)
		return -EINVAL;
	*val_ret = v;
	return 0;
}

/* The directory of path, in buf. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", path);
	return dirname(buf);
}

/* Fail before tracing, not after, when the report cannot be written. */
static int check_output(const char *path)
{
	char buf[PATH_MAX];
	if (path && access(dir_of(path, buf, sizeof(buf)), W_OK | X_OK) < 0) {
		lt_error_errno(errno, "cannot write the report to %s", path);
		return LT_EXIT_USAGE;
	}
	return -1;
}

static int bad(const char *opt, const char *arg)
{
	lt_error("invalid value for %s: '%s' (see leaktrap --help)", opt, arg);
	return LT_EXIT_USAGE;
}

static int parse_one(int c, struct options *o)
{
	unsigned long v;
	switch (c) {
	case 'p':
		if (parse_uint(optarg, INT_MAX, &v) || v == 0)
			return bad("--pid", optarg);
		o->pid = (pid_t)v;
		return 0;
	case 'd':
		return parse_seconds(optarg, &o->duration) ? bad("--duration", optarg) : 0;
	case 'T':
		if (parse_uint(optarg, UINT_MAX, &v))
			return bad("--top", optarg);
		o->top = (unsigned)v;
		return 0;
	case 'D':
		if (parse_uint(optarg, UNWIND_MAX_DEPTH, &v) || v == 0)
			return bad("--depth", optarg);
		o->depth = (unsigned)v;
		return 0;
	case 'f':
		if (strcmp(optarg, "text") && strcmp(optarg, "json"))
			return bad("--format", optarg);
		o->format = strcmp(optarg, "json") ? FORMAT_TEXT : FORMAT_JSON;
		return 0;
	case 'o':
		o->output = optarg;
		return 0;
	case 'v':
		lt_verbose = 1;
		return 0;
	default:
		fputs("Try 'leaktrap --help' for more information.\n", stderr);
		return LT_EXIT_USAGE;
	}
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "top", required_argument, NULL, 'T' },
		{ "depth", required_argument, NULL, 'D' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;
	while ((c = getopt_long(argc, argv, "+p:d:T:f:o:vhV", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return LT_EXIT_OK;
		}
		if (c == 'V') {
			printf("leaktrap %s (%s; %s)\n", LEAKTRAP_VERSION, LEAKTRAP_ARCH,
			       LEAKTRAP_BUILT_WITH);
			return LT_EXIT_OK;
		}
		if ((rc = parse_one(c, o)))
			return rc;
	}
	if (optind < argc)
		o->argv = argv + optind;
	if ((rc = check_output(o->output)) >= 0)
		return rc;
	if (!o->pid == !o->argv) {
		lt_error(o->pid ? "give either -p PID or a command, not both"
				: "nothing to trace: give -p PID or -- COMMAND (see leaktrap --help)");
		return LT_EXIT_USAGE;
	}
	return -1;
}

/* Write through a temporary file in the same directory, then rename:
 * readers never see half a report, and a symlink planted at the
 * destination is replaced, not followed. */
static int write_report(const struct report *rep, const struct options *o)
{
	int (*writer)(const struct report *, FILE *) =
		o->format == FORMAT_JSON ? report_write_json : report_write_text;
	if (!o->output)
		return writer(rep, stdout) ? -EIO : fflush(stdout) ? -errno : 0;
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/.leaktrap-XXXXXX", dir_of(o->output, dir, sizeof(dir)));
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	mode_t mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);   /* like fopen, not mkstemp's 0600 */
	FILE *f = fdopen(fd, "w");
	int err = f ? writer(rep, f) : -errno;
	if (f && fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, o->output) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int report(struct session *s, const struct options *o)
{
	struct report rep;
	struct report_options ro = { .sort = REPORT_SORT_BYTES };
	int err = report_build(s->ledger, s->stacks, &ro, &rep);
	if (err)
		return err;
	rep.pid = s->t.pid;
	rep.command = s->t.comm[0] ? strdup(s->t.comm) : NULL;
	rep.duration_s = s->t_end - s->t_start;
	rep.end_reason = s->end_reason;
	rep.threads = s->t.max_threads;
	rep.functions = s->t.n_probes;
	struct symbolizer *sym = symbolizer_create(&s->t.maps);
	if (!sym || symbolize_report(sym, &rep) < 0)
		lt_warn("cannot symbolize the report");
	symbolizer_destroy(sym);
	report_truncate(&rep, o->top);
	err = write_report(&rep, o);
	report_release(&rep);
	return err;
}

int main(int argc, char **argv)
{
	struct options o = { .top = 10, .depth = 32 };
	static struct session s;
	session_install_signals();
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (session_init(&s, o.depth) < 0) {
		lt_error("out of memory");
		return LT_EXIT_ERROR;
	}
	sigprocmask(SIG_SETMASK, NULL, &s.orig_mask);
	rc = o.pid ? session_attach(&s, o.pid) : session_launch(&s, o.argv);
	if (rc == LT_EXIT_OK) {
		session_run(&s, o.duration);
		if (session_detach(&s) < 0 || !strcmp(s.end_reason, "error"))
			rc = LT_EXIT_ERROR;
		int err = report(&s, &o);
		if (err) {
			lt_error_errno(err, "cannot write the report%s%s",
				       o.output ? " to " : "", o.output ? o.output : "");
			rc = LT_EXIT_ERROR;
		}
	}
	session_release(&s);
	return rc;
}
