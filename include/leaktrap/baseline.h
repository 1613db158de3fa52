/* SPDX-License-Identifier: MIT */
/*
 * baseline.h - --baseline REPORT: a JSON report from an earlier run, and
 * the filter that keeps only the stacks that grew beyond it.  Stacks are
 * matched by their frames' function and module names (addresses change
 * from run to run); a frame without a function name matches any unnamed
 * frame of the same module ("?@module").
 */
#ifndef LEAKTRAP_BASELINE_H
#define LEAKTRAP_BASELINE_H

#include <stddef.h>

#include "leaktrap/report.h"

struct baseline;

/* Load a leaktrap JSON report.  Returns 0, or -EINVAL/-ENOENT/-ENOMEM
 * with a one-line message "FILE: what is wrong" in err. */
int baseline_load(const char *path, struct baseline **b_ret, char *err, size_t errlen);
/* The same from a string (tests, fuzzing); name is used in messages. */
int baseline_parse(const char *name, const char *json, struct baseline **b_ret,
		   char *err, size_t errlen);
void baseline_destroy(struct baseline *b);   /* accepts NULL */

/* Live bytes the baseline had for the stack of rs (symbolized); 0 when
 * the baseline does not know it. */
unsigned long long baseline_bytes(const struct baseline *b, const struct report_stack *rs);

/* Drop every stack of rep whose bytes did not grow beyond the baseline. */
void baseline_filter(const struct baseline *b, struct report *rep);

#endif
