/* SPDX-License-Identifier: MIT */
/*
 * detach.c - leaving the target exactly as it was (DESIGN.md 7.1): stop
 * every thread, put every original byte back, move each thread off our
 * breakpoints, trampoline and slots (draining a SIGTRAP of ours still
 * queued behind the interrupt stop), write back every hijacked return
 * address, unmap the scratch pages unless a thread can still return into
 * them (a signal frame saved there, a call emulated in a slot), and detach
 * each thread with the signal it was about to receive.  Also cleans fork
 * children, which inherit a copy of all of that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "leaktrap/compat.h"
#include "leaktrap/guardian.h"
#include "leaktrap/inject.h"
#include "leaktrap/probes.h"
#include "leaktrap/procfs.h"
#include "leaktrap/scratch.h"
#include "leaktrap/session.h"
#include "leaktrap/tracee.h"
#include "leaktrap/trapnet.h"

#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

/* ---- stopping everything ----------------------------------------------- */

enum { STOP_ALL_TIMEOUT_S = 10 };

/* A vfork child is left running (its parent cannot stop until it leaves
 * our memory); a zombie has nothing left to stop. */
static int must_stop(const struct thread *th)
{
	return th->state != TS_STOPPED && !th->vfork_child && !th->zombie;
}

static int all_stopped(const struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));)
		if (must_stop(th))
			return 0;
	for (unsigned i = 0; i < s->n_children; i++)
		if (!s->children[i].stopped || !s->children[i].from_parent)
			return 0;
	return 1;
}

static void interrupt_running(struct session *s, int vfork_children_too)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));)
		if (th->state != TS_STOPPED && !th->zombie &&
		    (!th->vfork_child || vfork_children_too))
			(void)compat_interrupt(th->tid);
}

/* Threads we wait for that no longer run: gone without a wait status we
 * could see, or a zombie leader whose other threads run on. */
static void prune(struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));) {
		char state[16];
		if (!must_stop(th))
			continue;
		if (procfs_status(th->tid, "State", state, sizeof(state)) < 0) {
			session_reap(s, th->tid);
			it = 0;                 /* the table changed */
		} else if (state[0] == 'Z' || state[0] == 'X') {
			th->zombie = 1;
		}
	}
}

static void note_stop(struct session *s, struct thread *th, int status)
{
	th->state = TS_STOPPED, th->status = status;
	if ((status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP)
		th->stop_sig = WSTOPSIG(status);
	else if ((status >> 16) != 0 && (status >> 16) != PTRACE_EVENT_STOP)
		session_note_event(s, th->tid, status);
}

static void take_stop(struct session *s, pid_t tid, int status)
{
	struct thread *th = target_thread(&s->t, tid);
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		session_note_exit(s, tid, status);
		session_reap(s, tid);
	} else if (!th)
		session_unknown_stop(s, tid, status);
	else if (th->vfork_child && !s->stopping_children)
		session_handle_stop(s, tid, status);  /* runs on until it leaves */
	else
		note_stop(s, th, status);
}

static void report_unstopped(const struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));) {
		char state[32] = "?";
		if (!must_stop(th))
			continue;
		procfs_status(th->tid, "State", state, sizeof(state));
		lt_warn("thread %d of pid %d did not stop within %d s (state %s); detaching "
			"the others: the breakpoint bytes and the thread's hijacked return "
			"addresses are restored through memory, leaktrap's scratch page stays "
			"mapped, the thread is left running", (int)th->tid, (int)s->t.pid,
			STOP_ALL_TIMEOUT_S + 1, state);
	}
	for (unsigned i = 0; i < s->n_children; i++)
		if (!s->children[i].stopped || !s->children[i].from_parent)
			lt_warn("forked child %d of pid %d: %s never came; leaving it",
				(int)s->children[i].pid, (int)s->t.pid,
				s->children[i].stopped ? "the fork event" : "its first stop");
}

/* Collect one stop per thread, keeping every thread stopped; new threads
 * and fork children reported meanwhile are handled on the way.  Bounded:
 * after STOP_ALL_TIMEOUT_S the vfork children are stopped too, and what
 * still does not stop is reported and left. */
static void stop_all(struct session *s)
{
	double deadline = session_now() + STOP_ALL_TIMEOUT_S;
	interrupt_running(s, 0);
	session_set_tick(50000);
	while (!all_stopped(s)) {
		int status;
		pid_t tid = compat_waitpid(-1, &status, __WALL);
		if (tid > 0) {
			take_stop(s, tid, status);
			continue;
		}
		if (errno != EINTR)
			break;              /* nothing left to wait for */
		prune(s);
		if (session_now() < deadline)
			continue;
		if (s->stopping_children) {
			report_unstopped(s);
			break;
		}
		s->stopping_children = 1;   /* a vfork child that never leaves */
		interrupt_running(s, 1);
		deadline = session_now() + 1;
	}
	session_set_tick(0);
}

/* ---- putting one thread back ------------------------------------------- */

/* SigPnd is the thread's private queue, where int3's SIGTRAP goes. */
static int sigtrap_pending(pid_t tid)
{
	return !!(procfs_status_num(tid, "SigPnd", 16) & (1ULL << (SIGTRAP - 1)));
}

/* The thread executed our breakpoint but was stopped by the interrupt
 * first: let the queued SIGTRAP be reported now (before any instruction
 * runs) and swallow it, unless it turns out not to be ours. */
static void drain_sigtrap(struct session *s, struct thread *th)
{
	if ((th->status >> 16) == 0 || !sigtrap_pending(th->tid))
		return;
	for (int tries = 0; tries < 8; tries++) {
		int status;
		siginfo_t si;
		if (ptrace(PTRACE_CONT, th->tid, NULL, NULL) < 0)
			return;
		pid_t r;
		while ((r = compat_waitpid(th->tid, &status, __WALL)) < 0 && errno == EINTR)
			;
		if (r < 0 || !WIFSTOPPED(status))
			return;
		th->status = status;
		if ((status >> 16) != 0)
			continue;               /* a stray interrupt stop */
		if (WSTOPSIG(status) != SIGTRAP) {
			th->stop_sig = WSTOPSIG(status);
			continue;
		}
		if (ptrace(PTRACE_GETSIGINFO, th->tid, NULL, &si) == 0 &&
		    si.si_code != SI_KERNEL)
			th->stop_sig = SIGTRAP;     /* the target's own */
		return;
	}
}

/* Write back the hijacked return addresses still on the thread's stack.
 * A slot still holding the trampoline is ours whatever sp says (a handler
 * on an alternate signal stack can be running above it). */
static void restore_returns(struct session *s, struct mem *m, const struct shadow *sh,
			    unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t word;
		if (mem_read(m, sh[i].entry_sp, &word, sizeof(word)) ||
		    word != s->t.trampoline)
			continue;           /* frame gone, or the slot reused */
		if (mem_write_data(m, sh[i].entry_sp, &sh[i].orig_ret, sizeof(word)))
			lt_warn("cannot restore a return address of pid %d", (int)m->pid);
	}
}

/* A pc inside a slot becomes the equivalent pc in the original code. */
static int leave_slot(struct session *s, struct arch_regs *regs)
{
	const struct probe *p = target_probe_by_slot(&s->t, arch_regs_pc(regs));
	if (!p)
		return 0;
	for (unsigned i = 0; i < p->plan.n_exits; i++)
		if (p->slot_addr + p->plan.exits[i].off == arch_regs_pc(regs)) {
			arch_regs_set_pc(regs, p->plan.exits[i].pc);
			return 1;
		}
	return -1;      /* mid-slot: it must finish there, keep the page */
}

/* Returns 1 if the thread still needs the scratch page. */
static int fix_thread(struct session *s, struct thread *th)
{
	struct arch_regs regs;
	if (arch_get_regs(th->tid, &regs) < 0) {
		/* not stopped (it did not stop in time) or gone: its hijacked
		 * returns can still be written back, memory needs no stop */
		restore_returns(s, &s->t.mem, th->shadow, th->n_shadow);
		session_abandon_calls(s, th, 0);
		return th->state != TS_STOPPED && !th->zombie;
	}
	uint64_t pc = arch_regs_pc(&regs), bp = arch_trap_pc_to_bp(pc);
	int ours = (bp == s->t.trampoline && bp) || target_probe_at(&s->t, bp);
	int needs_page = 0;
	if (ours)
		drain_sigtrap(s, th);
	else if (th->entering_handler)
		th->entering_handler = 0;   /* our step into a handler */
	else if ((th->status >> 16) == 0 && WSTOPSIG(th->status) == SIGTRAP)
		th->stop_sig = SIGTRAP;     /* the target's own trap */
	if (ours && bp != s->t.trampoline) {
		arch_regs_set_pc(&regs, bp);        /* re-run the restored insn */
	} else if (s->t.trampoline && (ours || pc == s->t.trampoline)) {
		if (session_finish_return(s, th, &regs) < 0)
			lt_warn("thread %d: return address lost", (int)th->tid);
	} else {
		needs_page = leave_slot(s, &regs) < 0;
	}
	restore_returns(s, &s->t.mem, th->shadow, th->n_shadow);
	session_abandon_calls(s, th, 0);
	if (arch_regs_pc(&regs) != pc && arch_set_regs(th->tid, &regs) < 0)
		lt_warn("cannot move thread %d off leaktrap's code", (int)th->tid);
	return needs_page || th->sigframe_in_scratch;
}

/* ---- the scratch pages ------------------------------------------------- */

/* Every thread is past its exit event: the address space goes away. */
static int all_exiting(const struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));)
		if (!th->exiting && !th->zombie)
			return 0;
	return 1;
}

static void unmap_scratch(struct session *s, int needed)
{
	struct thread *th = inject_pick_thread(&s->t);
	if (!s->t.n_scratch)
		return;
	if (!th && all_exiting(s))
		return;
	if (!th) {
		lt_warn("left leaktrap's scratch page mapped in pid %d: no thread is in a "
			"state to unmap it through (it only jumps back to the original code)%s",
			(int)s->t.pid, s->t.trapnet_installed ?
			"; its SIGTRAP handler there stays installed (a breakpoint of the "
			"process's own then ends it after 5 s, not at once)" : "");
		return;
	}
	if (s->t.trapnet_installed && trapnet_remove(&s->t, &s->t.mem, th) < 0) {
		lt_warn("left leaktrap's scratch page mapped in pid %d: its SIGTRAP handler "
			"there could not be removed", (int)s->t.pid);
		return;
	}
	s->t.trapnet_installed = 0;
	if (needed) {
		lt_warn("left leaktrap's scratch page mapped in pid %d: a thread may still "
			"return into it (it only jumps back to the original code)", (int)s->t.pid);
		return;
	}
	if (scratch_unmap_all(&s->t, th) < 0)
		lt_warn("cannot unmap leaktrap's scratch page from pid %d", (int)s->t.pid);
}

/* ---- detaching --------------------------------------------------------- */

static void detach_threads(struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it)); it = 0) {
		if (th->state == TS_STOPPED)
			(void)compat_detach(th->tid, th->stop_sig);
		target_del_thread(&s->t, th->tid);
	}
}

int session_detach(struct session *s)
{
	int needs_page = 0, err = 0;
	s->detaching = 1;
	stop_all(s);
	if (s->reach)
		session_reach_scan(s);      /* before anything is restored */
	struct thread *any = target_stopped_thread(&s->t);
	if (any && !s->execd) {
		err = probes_disarm(&s->t, any->tid);
		if (err)
			lt_error_errno(err, "cannot restore the code of pid %d", (int)s->t.pid);
		guard_debug_crash("detach");
		unsigned it = 0;
		for (struct thread *th; (th = target_next_thread(&s->t, &it));)
			needs_page |= fix_thread(s, th);
		unmap_scratch(s, needs_page);
	}
	detach_threads(s);
	guard_publish_detached();
	return err;
}

/* ---- fork children ----------------------------------------------------- */

void session_release_child(struct session *s, struct session_child *c)
{
	struct mem m;
	struct thread th = { .tid = c->pid, .state = TS_STOPPED };
	if (mem_open(&m, c->pid) < 0)
		m = (struct mem){ .pid = c->pid, .fd = -1 };  /* POKEDATA, vm_writev */
	{
		if (probes_restore_bytes(&s->t, &m, c->pid) < 0)
			lt_warn("cannot restore the code of forked child %d", (int)c->pid);
		restore_returns(s, &m, c->shadow, c->n_shadow);
		int refs = c->sigframe_in_scratch;
		if (trapnet_remove(&s->t, &m, &th) < 0)
			refs = 1;               /* the handler must keep its page */
		for (unsigned i = 0; !refs && i < s->t.n_scratch; i++) {
			uint64_t args[6] = { s->t.scratch[i]->addr, SCRATCH_PAGE, 0, 0, 0, 0 };
			long res;
			if (inject_syscall(&s->t, &th, arch_sysno(ARCH_SYS_MUNMAP), args, &res) < 0)
				break;
		}
		mem_close(&m);
	}
	(void)compat_detach(c->pid, 0);
}
