/* SPDX-License-Identifier: MIT */
/*
 * reporting.h - turning a session's ledger into the reports the options
 * ask for: the final report, the periodic ones (-i), the growth series,
 * the live status line on a terminal, suppressions, the baseline, the CI
 * gate.  The glue between session, report model, symbolizer and writers.
 */
#ifndef LEAKTRAP_REPORTING_H
#define LEAKTRAP_REPORTING_H

#include "leaktrap/cli.h"
#include "leaktrap/session.h"

struct reporter;

/* Load what the options name (suppression files, the baseline) before
 * anything is traced.  Returns LT_EXIT_OK and *r_ret, or an exit status
 * after printing why. */
int reporter_create(const struct cli_options *o, struct reporter **r_ret);
void reporter_destroy(struct reporter *r);   /* accepts NULL */

/* Hook the periodic work (interval reports, status line) and the report
 * of an image replaced by execve into s. */
void reporter_hook(struct reporter *r, struct session *s);
/* In a leaktrap process following a fork child (--follow-forks): forget
 * the parent's earlier reports and growth series; no status line and no
 * interval reports. */
void reporter_follow_child(struct reporter *r, struct session *s);

/* Write the final report (after the reports of images replaced by
 * execve), then extra (extra_len bytes: the reports of followed fork
 * children, already formatted; not for SVG).  *leaked_ret: leaks remain
 * after filters, suppressions and the baseline (and exceed --fail-over).
 * Returns 0 or a negative errno (a message has been printed). */
int reporter_final(struct reporter *r, struct session *s, const char *extra,
		   size_t extra_len, int *leaked_ret);

#endif
