/* SPDX-License-Identifier: MIT */
/*
 * inject.h - running a system call inside the target: mmap and munmap of
 * the scratch pages.  Uses an existing syscall instruction of the target's
 * code, so no code is modified; the thread's registers and signal mask are
 * restored verbatim afterwards (an interrupted blocking syscall restarts).
 */
#ifndef LEAKTRAP_INJECT_H
#define LEAKTRAP_INJECT_H

#include "leaktrap/target.h"

/* Whether th's current stop allows an injection: an interrupt stop or a
 * signal-delivery-stop, not a group-stop, and not an event stop inside a
 * syscall (fork, clone, exit...: stepping would finish that syscall and
 * clobber its result). */
int inject_can_use(const struct thread *th);
/* The best stopped thread of t for an injection, or NULL.  A thread
 * stopped at a fork/clone event (the event already handled by the caller)
 * may be moved on to an interrupt stop to serve. */
struct thread *inject_pick_thread(const struct target *t);

/* Execute syscall nr(args) in th (ptrace-stopped, of t's address space).
 * *result_ret receives the syscall's return value (negative errno on
 * failure).  Returns 0, or a negative errno if the injection itself failed
 * (-ESRCH: the thread vanished; -ENOEXEC: no syscall instruction found). */
__attribute__((warn_unused_result))
int inject_syscall(struct target *t, struct thread *th, long nr,
		   const uint64_t args[6], long *result_ret);

#endif
