/* SPDX-License-Identifier: MIT */
/*
 * compat.h - running on kernels that lack the newer ptrace and memory
 * interfaces (docs/kernels.md).  Each fallback is taken when the kernel
 * refuses the feature at run time, or forced with the environment
 * variable LEAKTRAP_COMPAT (a comma-separated list of the names below, or
 * "all"), which is how the test suite runs every integration test once
 * more on the fallback paths.
 *
 * no-seize: PTRACE_SEIZE/INTERRUPT/LISTEN (3.4) missing.  Threads are
 *   attached with PTRACE_ATTACH and stopped with tkill(SIGSTOP).  Such a
 *   SIGSTOP stop of ours is reported by compat_waitpid() exactly like a
 *   PTRACE_INTERRUPT stop (PTRACE_EVENT_STOP, SIGTRAP), and a group-stop
 *   (which then looks like a signal-delivery-stop) like a SEIZE group-stop
 *   (PTRACE_EVENT_STOP with the stop signal), so the rest of leaktrap sees
 *   the same stops on every kernel.
 * no-cma: process_vm_readv/writev (3.2) missing: /proc/PID/mem.
 * no-procmem: /proc/PID/mem unusable too: PTRACE_PEEKDATA/POKEDATA
 *   through a stopped thread (implies no-cma).
 * no-sigmask: PTRACE_GETSIGMASK/SETSIGMASK (3.11) missing: an injected
 *   system call runs with the thread's own mask; signals that arrive are
 *   kept and delivered afterwards.
 * no-openat2: openat2 (5.6) missing: the O_NOFOLLOW component walk.
 *
 * Only the ptrace thread calls these (the state is global and unlocked).
 */
#ifndef LEAKTRAP_COMPAT_H
#define LEAKTRAP_COMPAT_H

#include <stddef.h>
#include <sys/types.h>

enum {
	COMPAT_NO_SEIZE   = 1u << 0,
	COMPAT_NO_CMA     = 1u << 1,
	COMPAT_NO_PROCMEM = 1u << 2,
	COMPAT_NO_SIGMASK = 1u << 3,
	COMPAT_NO_OPENAT2 = 1u << 4,
	COMPAT_ALL        = (1u << 5) - 1,
};

/* The fallbacks in use (forced or detected so far). */
extern unsigned compat_flags;

static inline int compat_has(unsigned flag) { return (compat_flags & flag) != 0; }

/* Parse a LEAKTRAP_COMPAT value into flags.  Returns 0 or -EINVAL (then
 * *bad_ret points at the unknown name, up to the next comma). */
int compat_parse(const char *spec, unsigned *flags_ret, const char **bad_ret);

/* Read LEAKTRAP_COMPAT and probe for PTRACE_SEIZE.  Returns 0, or -EINVAL
 * for an unknown name (reported here, once). */
int compat_init(void);

/* "no-seize,no-cma" for the fallbacks in use, "" for none. */
const char *compat_describe(char *buf, size_t len);

/* ---- ptrace ------------------------------------------------------------ */

/* Attach to tid with options, without stopping it when SEIZE works;
 * with no-seize, PTRACE_ATTACH (a SIGSTOP stop of ours follows, and the
 * options are set at the first stop).  Returns 0 or -errno. */
int compat_seize(pid_t tid, unsigned long options);

/* Attach and make tid stop: SEIZE + INTERRUPT, or ATTACH.  0 or -errno. */
int compat_seize_stop(pid_t tid, unsigned long options);

/* Make a running (or PTRACE_LISTENing) tid report a stop that looks like
 * PTRACE_INTERRUPT's.  0 or -errno (-ESRCH: gone). */
int compat_interrupt(pid_t tid);

/* Leave tid in its group-stop (status) and report the end of it the way
 * PTRACE_LISTEN does.  With no-seize the thread stays in its ptrace-stop
 * and is resumed by compat_waitpid() once SIGCONT is pending.  0 or -errno. */
int compat_listen(pid_t tid, int status);

/* waitpid() whose stops look the same with or without SEIZE (see above). */
pid_t compat_waitpid(pid_t pid, int *status, int options);

/* PTRACE_DETACH passing sig; with no-seize, a SIGSTOP of ours still
 * pending is first taken (sig is delivered on the way) so that it cannot
 * stop the process after the detach.  0 or -errno. */
int compat_detach(pid_t tid, int sig);

/* PTRACE_GETSIGMASK / SETSIGMASK; -ENOSYS with no-sigmask. */
int compat_get_sigmask(pid_t tid, unsigned long long *mask);
int compat_set_sigmask(pid_t tid, unsigned long long mask);

/* Forget everything about every tid (tests, end of a session). */
void compat_reset(void);

#endif
