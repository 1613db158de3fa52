/* SPDX-License-Identifier: MIT */
/*
 * symbolize.h - turning captured pcs into function+offset, module and
 * source file:line with libdwfl, at report time only.  Modules come from a
 * /proc/PID/maps snapshot taken while the target was alive, so a report can
 * be symbolized after the target exited.
 */
#ifndef LEAKTRAP_SYMBOLIZE_H
#define LEAKTRAP_SYMBOLIZE_H

#include "leaktrap/maps.h"
#include "leaktrap/report.h"

struct symbolizer;

/* A symbolizer over the modules of a maps snapshot (text is copied). */
struct symbolizer *symbolizer_create(const struct maps *maps);
void symbolizer_destroy(struct symbolizer *sym);   /* accepts NULL */

/* Fill f's function/offset/module/file/line from f->pc (strings malloc'd,
 * owned by f).  is_return_address: f->pc follows a call, so the call site
 * (pc - 1) is what is looked up.  Returns 0 or -ENOMEM; unknown parts stay
 * NULL. */
__attribute__((warn_unused_result))
int symbolizer_frame(struct symbolizer *sym, struct report_frame *f,
		     int is_return_address);

/* Symbolize every frame of a report. */
__attribute__((warn_unused_result))
int symbolize_report(struct symbolizer *sym, struct report *rep);

#endif
