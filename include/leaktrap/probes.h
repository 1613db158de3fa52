/* SPDX-License-Identifier: MIT */
/*
 * probes.h - the probe table: one breakpoint per allocator entry address,
 * each with its out-of-line slot.  Preparing a probe changes nothing that a
 * thread can reach; arming writes the breakpoint bytes; disarming puts the
 * original bytes back.
 */
#ifndef LEAKTRAP_PROBES_H
#define LEAKTRAP_PROBES_H

#include "leaktrap/allocsyms.h"
#include "leaktrap/target.h"

/* Build t->probes from syms: read each entry's first bytes, reserve a slot
 * (mapping scratch pages through th, which must be stopped), plan the
 * relocation.  A probe that cannot be relocated is an error (-ENOTSUP,
 * message already printed): probing only some of the allocator would make
 * the report wrong.  Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int probes_prepare(struct target *t, struct thread *th,
		   const struct allocsym *syms, size_t n);

/* Write the slots, then the breakpoints (every thread stopped).
 * On error everything written is undone.  Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int probes_arm(struct target *t, pid_t stopped_tid);

/* Write back the original bytes of every armed probe into memory m (the
 * target's, or a fork child's copy of it).  Returns 0 or the first error. */
int probes_restore_bytes(const struct target *t, struct mem *m, pid_t stopped_tid);

/* Restore the bytes in the target and mark every probe disarmed. */
int probes_disarm(struct target *t, pid_t stopped_tid);

void probes_release(struct target *t);

#endif
