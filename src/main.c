/* SPDX-License-Identifier: MIT */
/*
 * main.c - the program: parse the command line, run one session (attach
 * or launch), detach, write the report, choose the exit status.  Option
 * parsing is cli.c, report production reporting.c, tracing session.c.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "leaktrap/cli.h"
#include "leaktrap/error.h"
#include "leaktrap/guardian.h"
#include "leaktrap/modules.h"
#include "leaktrap/reporting.h"
#include "leaktrap/session.h"

/* Trace, detach, report; returns the exit status. */
static int run(struct session *s, const struct cli_options *o, struct reporter *r)
{
	int rc = o->pid ? session_attach(s, o->pid) : session_launch(s, o->argv);
	if (rc != LT_EXIT_OK)
		return rc;
	reporter_hook(r, s);
	s->max_blocks = o->max_blocks;
	session_run(s, o->duration);
	if (session_detach(s) < 0 || !strcmp(s->end_reason, "error"))
		rc = LT_EXIT_ERROR;
	guard_debug_crash("report");
	int leaked = 0;
	if (reporter_final(r, s, &leaked) < 0)
		rc = LT_EXIT_ERROR;
	if (rc == LT_EXIT_OK && !strcmp(s->end_reason, "max-blocks"))
		rc = LT_EXIT_PARTIAL;
	if ((rc == LT_EXIT_OK || rc == LT_EXIT_PARTIAL) && leaked && o->error_exitcode > 0)
		rc = o->error_exitcode;
	return rc;
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
	rc = run(&s, &o, r);
	session_release(&s);
	reporter_destroy(r);
	return rc;
}
