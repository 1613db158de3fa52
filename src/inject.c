/* SPDX-License-Identifier: MIT */
/*
 * inject.c - remote system calls (DESIGN.md section 4): find a syscall
 * instruction in an executable mapping, point a stopped thread at it with
 * the call's arguments and the restart logic disabled, single-step it with
 * every signal blocked, read the result, and put registers and signal mask
 * back exactly.  Does not decide what to map; scratch.c does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "leaktrap/compat.h"
#include "leaktrap/error.h"
#include "leaktrap/inject.h"
#include "leaktrap/tracee.h"

/* Look for the syscall instruction in one executable mapping. */
static uint64_t scan_mapping(struct mem *m, const struct map_entry *e)
{
	enum { CHUNK = 65536 };
	uint8_t *buf = malloc(CHUNK);
	uint64_t found = 0;
	for (uint64_t a = e->start; buf && !found && a < e->end; a += CHUNK - 1) {
		size_t len = e->end - a < CHUNK ? (size_t)(e->end - a) : CHUNK;
		ssize_t n = mem_read_partial(m, a, buf, len);
		if (n < (ssize_t)arch_syscall_insn_len)
			break;
		void *hit = memmem(buf, (size_t)n, arch_syscall_insn, arch_syscall_insn_len);
		if (hit)
			found = a + (uint64_t)((uint8_t *)hit - buf);
	}
	free(buf);
	return found;
}

static int find_syscall_insn(struct target *t)
{
	for (size_t i = 0; i < t->maps.n && !t->syscall_insn; i++) {
		const struct map_entry *e = &t->maps.v[i];
		/* skip our own scratch pages and anonymous code */
		if ((e->prot & MAP_X) && e->path && e->path[0] == '/')
			t->syscall_insn = scan_mapping(&t->mem, e);
	}
	return t->syscall_insn ? 0 : -ENOEXEC;
}

/* Single-step until the thread is past the syscall instruction. */
static int step_syscall(struct thread *th, uint64_t insn, struct arch_regs *regs_ret)
{
	for (int tries = 0; tries < 64; tries++) {
		int status;
		if (ptrace(PTRACE_SINGLESTEP, th->tid, NULL, NULL) < 0)
			return -errno;
		while (compat_waitpid(th->tid, &status, __WALL) < 0)
			if (errno != EINTR)
				return -ESRCH;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		int err = arch_get_regs(th->tid, regs_ret);
		if (err)
			return err;
		if (arch_regs_pc(regs_ret) == arch_syscall_pc_after(insn))
			return 0;
		if (arch_regs_pc(regs_ret) != insn)
			return -EFAULT;   /* should never happen */
		/* a stray interrupt stop, or the target's own SIGTRAP (the one
		 * signal not blocked) before the step: keep it, step again */
		if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP)
			th->stop_sig = SIGTRAP;
		else if ((status >> 16) == 0 && !th->stop_sig)
			th->stop_sig = WSTOPSIG(status);  /* no-sigmask: kept */
	}
	return -ETIMEDOUT;
}

int inject_can_use(const struct thread *th)
{
	int event = th->status >> 16;
	if (th->state != TS_STOPPED || !WIFSTOPPED(th->status) || th->exiting)
		return 0;
	if (event == PTRACE_EVENT_STOP)
		return !tracee_is_group_stop(th->status);
	return event == 0;
}

/* A thread stopped at a fork/vfork/clone/exec event has finished that
 * syscall's work: let it return to user mode, where the interrupt we
 * queue stops it before its first instruction.  Returns 0 when th is now
 * in an interrupt (or signal-delivery) stop. */
static int leave_event_stop(struct thread *th)
{
	int status;
	int err = compat_interrupt(th->tid);
	if (err)
		return err;
	if (ptrace(PTRACE_CONT, th->tid, NULL, NULL) < 0)
		return -errno;
	for (;;) {
		pid_t r = compat_waitpid(th->tid, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || !WIFSTOPPED(status))
			return -ESRCH;
		th->status = status;
		if ((status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP)
			th->stop_sig = WSTOPSIG(status);
		return inject_can_use(th) ? 0 : -EAGAIN;
	}
}

struct thread *inject_pick_thread(const struct target *t)
{
	unsigned it = 0;
	struct thread *sigstop = NULL, *event = NULL;
	for (struct thread *th; (th = target_next_thread(t, &it));) {
		int ev = th->status >> 16;
		if (th->passthrough || th->state != TS_STOPPED)
			continue;
		if (inject_can_use(th) && ev == PTRACE_EVENT_STOP)
			return th;          /* best: nothing of the target's pending */
		if (inject_can_use(th))
			sigstop = th;
		else if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK ||
			 ev == PTRACE_EVENT_CLONE || ev == PTRACE_EVENT_EXEC ||
			 ev == PTRACE_EVENT_VFORK_DONE)
			event = th;
	}
	if (sigstop || !event)
		return sigstop;
	return leave_event_stop(event) == 0 ? event : NULL;
}

int inject_syscall(struct target *t, struct thread *th, long nr,
		   const uint64_t args[6], long *result_ret)
{
	struct arch_regs saved, regs;
	/* every signal blocked but SIGTRAP: the step's trap is forced, and a
	 * forced signal that is blocked resets its handler to SIG_DFL */
	unsigned long long mask, all = ~(1ULL << (SIGTRAP - 1));
	int err, masked;
	if (!t->syscall_insn && (err = find_syscall_insn(t)))
		return err;
	if ((err = arch_get_regs(th->tid, &saved)))
		return err;
	/* no-sigmask (before 3.11): signals that arrive meanwhile are kept
	 * in th->stop_sig by step_syscall() */
	err = compat_get_sigmask(th->tid, &mask);
	if (err && err != -ENOSYS)
		return err;
	masked = !err;
	if (masked && (err = compat_set_sigmask(th->tid, all)))
		return err;
	regs = saved;
	arch_syscall_setup(&regs, t->syscall_insn, nr, args);
	err = arch_set_regs(th->tid, &regs);
	if (!err)
		err = step_syscall(th, t->syscall_insn, &regs);
	if (!err)
		*result_ret = arch_syscall_result(&regs);
	/* the thread now sits in the step's SIGTRAP stop: resume with CONT */
	th->status = (SIGTRAP << 8) | 0x7f;
	if (err != -ESRCH) {
		int e1 = arch_set_regs(th->tid, &saved);
		int e2 = masked ? compat_set_sigmask(th->tid, mask) : 0;
		if (!err && (e1 || e2))
			err = e1 ? e1 : e2;
	}
	/* from a SIGTRAP stop the kernel delivers the SIGTRAP (fatal) if
	 * leaktrap dies; an interrupt stop is harmless (DESIGN.md 7.2) */
	if (!err)
		(void)leave_event_stop(th);
	return err;
}
