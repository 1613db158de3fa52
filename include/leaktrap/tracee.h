/* SPDX-License-Identifier: MIT */
/*
 * tracee.h - attaching to the threads of a process and moving them between
 * ptrace-stops and running.  Only this module, inject.c, mem.c, the session
 * and detach code and arch/ call ptrace.
 */
#ifndef LEAKTRAP_TRACEE_H
#define LEAKTRAP_TRACEE_H

#include <sys/types.h>

#include "leaktrap/target.h"

/* Options every traced thread gets; never PTRACE_O_EXITKILL. */
extern const unsigned long tracee_options;

/* PTRACE_SEIZE + PTRACE_INTERRUPT every thread of t->pid, re-reading
 * /proc/PID/task until a scan made while every known thread is stopped
 * finds nothing new.  On return every thread is in a ptrace-stop.
 * Returns 0, -ESRCH (the process is gone), -EPERM (not permitted) or
 * another negative errno; on error every seized thread is detached again. */
__attribute__((warn_unused_result))
int tracee_seize_all(struct target *t);

/* Wait for the next stop of th (which must be running or just seized),
 * recording it in th.  Returns 0, or -ESRCH if the thread is gone. */
int tracee_wait_stop(struct target *t, struct thread *th);

/* Resume a stopped thread the right way for its stop: PTRACE_LISTEN for
 * a group-stop, otherwise PTRACE_CONT passing th->stop_sig.
 * -ESRCH means the thread vanished (an event, not an error). */
int tracee_resume(struct thread *th);

/* Resume every stopped thread. */
void tracee_resume_all(struct target *t);

/* The status is a group-stop (PTRACE_EVENT_STOP with a stop signal). */
int tracee_is_group_stop(int status);

/* Detach every thread without restoring anything (only valid while no
 * byte of the target has been changed).  Threads keep their pending
 * signals. */
void tracee_detach_unchanged(struct target *t);

#endif
