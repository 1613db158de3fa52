/* SPDX-License-Identifier: MIT */
/*
 * guardian.h - the process that finishes the detach when the tracer dies
 * (kill -9, the OOM killer, a crash), DESIGN.md 7.2.
 *
 * guard_start() forks before anything in the target is changed.  The
 * original process (the pid the user started and sees) becomes the
 * guardian: it forwards SIGINT/SIGTERM/SIGHUP to the child, waits for it
 * and exits with its status.  The child returns from guard_start() and is
 * the tracer; it gets SIGTERM (a clean detach) if the guardian dies.  The
 * guardian is never a tracer while the tracer lives.
 *
 * The tracer publishes into a shared mapping what a rescue needs, without
 * a system call on the hot path: the original bytes under every
 * breakpoint (guard_publish_probes, before they are written), its thread
 * records with their shadow stacks (allocated in the mapping by
 * guard_thread_alloc, so every push and pop is visible as it happens), and
 * whether the target is modified.  When the tracer dies with the target
 * modified, the guardian seizes every thread, writes back the bytes, moves
 * threads off the breakpoints and the trampoline, writes back the hijacked
 * return addresses and detaches.  A thread that was in a breakpoint stop
 * when the tracer died gets its SIGTRAP from the kernel before anyone can
 * intervene: that residual risk is documented in docs/leaktrap.1.
 */
#ifndef LEAKTRAP_GUARDIAN_H
#define LEAKTRAP_GUARDIAN_H

#include "leaktrap/target.h"

/* Fork the guardian; returns 0 in the tracer (the child).  Returns a
 * negative errno when no guardian could be started (the caller goes on
 * unprotected, after a warning).  Never returns in the guardian.
 * LEAKTRAP_NO_GUARDIAN=1 in the environment disables it (measurements). */
int guard_start(void);

/* The guardian's pid (leaktrap itself too: not a target), or 0. */
pid_t guard_pid(void);

/* The target's probes, scratch pages and trampoline, published before the
 * breakpoints are written: the target is modified from now on. */
void guard_publish_probes(const struct target *t);
/* Nothing of leaktrap is reachable in the target any more: arming failed
 * and was undone, or the target exec'd (the old image is gone). */
void guard_publish_clean(void);
/* Detach finished: nothing of leaktrap is left in the target. */
void guard_publish_detached(void);

/* Thread records live in the shared mapping while a guardian runs (plain
 * calloc/free otherwise, or when the mapping is full). */
struct thread *guard_thread_alloc(void);
void guard_thread_free(struct thread *th);
/* In a leaktrap process forked from the tracer (--follow-forks): stop
 * using the guardian's shared memory, whose records stay the tracer's;
 * this process's threads are allocated privately, and it has no guardian. */
void guard_disown(void);

/* Testing aid: LEAKTRAP_DEBUG_CRASH=PHASE[:SIG] makes the tracer die of
 * signal SIG (SEGV, ABRT or KILL; default SEGV) at PHASE: "attach" (the
 * breakpoints just written), "trace" (after 2000 stops), "detach" (every
 * thread stopped, bytes restored, threads not yet fixed) or "report"
 * (after the detach), "probe" (see below).  Returns only when PHASE is not
 * the one chosen. */
void guard_debug_crash(const char *phase);
/* The same test for the loop, cheap enough for every iteration; and for
 * "probe": at the first probe hit, the thread in its breakpoint stop. */
int guard_debug_crash_in_trace(void);
int guard_debug_crash_at_probe(void);

#endif
