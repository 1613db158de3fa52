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

/* Objects loaded while tracing: prepare and arm the entries of syms that
 * have no probe yet (th stopped, the others may run), after the table's
 * sorted part.  *added_ret gets how many were armed.  Returns 0 or a
 * negative errno (what was armed stays armed). */
__attribute__((warn_unused_result))
int probes_add(struct target *t, struct thread *th, const struct allocsym *syms,
	       size_t n, unsigned *added_ret);
/* Objects unloaded: probes whose address maps shows no executable code
 * at any more are marked disarmed (their bytes went with the object; a
 * detach must not write into whatever is mapped there later). */
void probes_forget_unmapped(struct target *t, const struct maps *maps);

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
