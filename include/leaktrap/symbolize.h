/* SPDX-License-Identifier: MIT */
/*
 * symbolize.h - turning captured pcs into function+offset, module, module
 * offset and source file:line with libdwfl, at report time only.  The
 * objects and their files come from the module table (modules.h), opened
 * while the target was alive, so a report can be symbolized after the
 * target exited, and for a target in a container or running a deleted
 * binary.  Results are cached per (build-id, address in the object).
 */
#ifndef LEAKTRAP_SYMBOLIZE_H
#define LEAKTRAP_SYMBOLIZE_H

#include "leaktrap/modules.h"
#include "leaktrap/report.h"

struct symbolizer;

/* A symbolizer over the objects of mods (kept, not owned: mods must
 * outlive it; make a new one when mods->generation changes).  Keeping one
 * across reports keeps its cache.  NULL on failure. */
struct symbolizer *symbolizer_create(struct modules *mods);
void symbolizer_destroy(struct symbolizer *sym);   /* accepts NULL */

/* Fill f's function/offset/module/module_offset/file/line from f->pc
 * (strings malloc'd, owned by f).  is_return_address: f->pc follows a
 * call, so the call site (pc - 1) is what is looked up.  Returns 0 or
 * -ENOMEM; unknown parts stay NULL (module_offset is set with module). */
__attribute__((warn_unused_result))
int symbolizer_frame(struct symbolizer *sym, struct report_frame *f,
		     int is_return_address);

/* The same for a pc captured when the module table's generation was gen
 * (0: now): an object unloaded and replaced since still answers for it. */
__attribute__((warn_unused_result))
int symbolizer_frame_at(struct symbolizer *sym, struct report_frame *f,
			int is_return_address, unsigned gen);

/* Symbolize every frame of a report (each stack at its mods_gen). */
__attribute__((warn_unused_result))
int symbolize_report(struct symbolizer *sym, struct report *rep);

#endif
