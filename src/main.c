/* SPDX-License-Identifier: MIT */
/*
 * main.c - the program: parse the command line, run one session (attach
 * or launch), detach, write the report, choose the exit status.  Option
 * parsing is cli.c, report production reporting.c, tracing session.c.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "leaktrap/cli.h"
#include "leaktrap/compat.h"
#include "leaktrap/error.h"
#include "leaktrap/guardian.h"
#include "leaktrap/modules.h"
#include "leaktrap/reach.h"
#include "leaktrap/reporting.h"
#include "leaktrap/session.h"

/* Launch mode: say how COMMAND ended if it failed; 1 if it did. */
static int command_failed(const struct session *s, const char *cmd)
{
	if (!s->exited || (WIFEXITED(s->exit_status) && !WEXITSTATUS(s->exit_status)))
		return 0;
	if (WIFEXITED(s->exit_status))
		lt_error("'%s' exited with status %d", cmd, WEXITSTATUS(s->exit_status));
	else
		lt_error("'%s' was killed by signal %s%s", cmd,
			 sigabbrev_np(WTERMSIG(s->exit_status)) ? "SIG" : "",
			 sigabbrev_np(WTERMSIG(s->exit_status)) ?
			 sigabbrev_np(WTERMSIG(s->exit_status)) : "?");
	return 1;
}

/* Detach, collect the reports of followed fork children, report; returns
 * the exit status. */
static int finish(struct session *s, const struct cli_options *o, struct reporter *r,
		  int launched)
{
	int rc = LT_EXIT_OK;
	char *extra;
	size_t extra_len;
	if (session_detach(s) < 0 || !strcmp(s->end_reason, "error"))
		rc = LT_EXIT_ERROR;
	/* a target that exited leaves its children their own ends */
	session_collect_subtracers(s, strcmp(s->end_reason, "target-exit") != 0, &extra,
				   &extra_len);
	guard_debug_crash("report");
	int leaked = 0;
	if (reporter_final(r, s, extra, extra_len, &leaked) < 0)
		rc = LT_EXIT_ERROR;
	free(extra);
	pid_t failed;
	unsigned n_failed = s->parent_pid ? 0 : session_subtracer_failures(&failed);
	if (n_failed) {                 /* the first leaktrap answers for all */
		if (failed)
			lt_error("the tracing of fork child %d failed%s: see the messages above",
				 (int)failed, n_failed > 1 ? " (and of others)" : "");
		else
			lt_error("the tracing of %u fork %s failed: see the messages above",
				 n_failed, n_failed > 1 ? "children" : "child");
		rc = LT_EXIT_ERROR;
	}
	if (rc == LT_EXIT_OK && launched && command_failed(s, o->argv[0]))
		rc = LT_EXIT_COMMAND_FAILED;
	if (rc == LT_EXIT_OK && !strcmp(s->end_reason, "max-blocks"))
		rc = LT_EXIT_PARTIAL;
	if ((rc == LT_EXIT_OK || rc == LT_EXIT_PARTIAL) && leaked && o->error_exitcode > 0)
		rc = o->error_exitcode;
	return rc;
}

struct follow_ctx {
	struct cli_options *o;
	struct reporter *r;
};

/* --follow-forks, in the leaktrap process now tracing a fork child: its
 * report goes to stdout (the pipe to the parent's leaktrap) in the same
 * format; no interval reports. */
static void subtracer(struct session *s, void *arg)
{
	struct follow_ctx *x = arg;
	x->o->output = NULL;
	x->o->interval = 0;
	reporter_follow_child(x->r, s);
	session_run(s, 0);
	int rc = finish(s, x->o, x->r, 0);
	const char *fail = getenv("LEAKTRAP_DEBUG_FAIL");     /* tests */
	if (fail && !strcmp(fail, "subtracer"))
		rc = LT_EXIT_ERROR;
	session_subtracer_status(s, rc);
	fflush(stdout);
	_exit(rc);
}

/* Trace, detach, report; returns the exit status. */
static int run(struct session *s, struct cli_options *o, struct reporter *r)
{
	struct follow_ctx x = { o, r };
	int rc = o->pid ? session_attach(s, o->pid) : session_launch(s, o->argv);
	if (rc != LT_EXIT_OK)
		return rc;
	reporter_hook(r, s);
	s->max_blocks = o->max_blocks;
	if (o->follow_forks)
		s->subtracer = subtracer, s->subtracer_arg = &x;
	session_run(s, o->duration);
	return finish(s, o, r, !o->pid);
}

int main(int argc, char **argv)
{
	static struct cli_options o;
	static struct session s;
	struct reporter *r = NULL;
	session_install_signals();
	int rc = cli_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	lt_verbose = o.verbose;
	if (compat_init() < 0)
		return LT_EXIT_USAGE;
	for (unsigned i = 0; i < o.n_debuginfo_dirs; i++)
		if ((rc = modules_add_debuginfo_dir(o.debuginfo_dirs[i])) < 0) {
			lt_error_errno(rc, "invalid value for --debuginfo-dir: '%s'",
				       o.debuginfo_dirs[i]);
			return LT_EXIT_USAGE;
		}
	if ((rc = guard_start()) < 0)
		lt_warn("cannot start the guardian process (%s): if leaktrap is killed "
			"while attached, the target may crash", strerror(-rc));
	if ((rc = reporter_create(&o, &r)) != LT_EXIT_OK)
		return rc;
	if (session_init(&s, o.depth) < 0) {
		lt_error("out of memory");
		reporter_destroy(r);
		return LT_EXIT_ERROR;
	}
	sigprocmask(SIG_SETMASK, NULL, &s.orig_mask);
	static struct reach_state reach;
	if (o.reachability) {
		reach.heuristics = reach.rep.heuristics = o.heuristics;
		s.reach = &reach;
	}
	s.alloc.object = o.allocator;
	s.alloc.prefix = o.symbol_prefix;
	s.alloc.mmap = o.mmap;
	if (o.mmap && !(s.regions = regions_create())) {
		lt_error("out of memory");
		session_release(&s);
		reporter_destroy(r);
		return LT_EXIT_ERROR;
	}
	s.follow_exec = !o.no_follow_exec;
	rc = run(&s, &o, r);
	session_release(&s);
	reach_freed_release(&reach.freed);
	reach_report_release(&reach.rep);
	compat_reset();
	reporter_destroy(r);
	return rc;
}
