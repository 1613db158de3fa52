/* SPDX-License-Identifier: MIT */
/*
 * session.c - the event loop.  Every stop of a traced thread comes
 * through session_handle_stop(): probe hits become ledger events (free at
 * entry; allocations at the hijacked return, the kernel's uretprobe
 * technique), other stops are forwarded or accounted for.  Only the
 * outermost allocator call of a thread is recorded.  Attaching, launching
 * and arming are in attach.c, detaching in detach.c.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "leaktrap/allocsyms.h"
#include "leaktrap/compat.h"
#include "leaktrap/guardian.h"
#include "leaktrap/inject.h"
#include "leaktrap/modules.h"
#include "leaktrap/probes.h"
#include "leaktrap/reach.h"
#include "leaktrap/procfs.h"
#include "leaktrap/regions.h"
#include "leaktrap/scratch.h"
#include "leaktrap/session.h"
#include "leaktrap/tracee.h"

double session_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int session_init(struct session *s, unsigned depth)
{
	memset(s, 0, sizeof(*s));
	s->t.mem.fd = -1;
	s->depth = depth < UNWIND_MAX_DEPTH ? depth : UNWIND_MAX_DEPTH;
	s->ledger = ledger_create();
	s->stacks = stacks_create();
	return s->ledger && s->stacks ? 0 : -ENOMEM;
}

void session_release(struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it)); it = 0)
		target_del_thread(&s->t, th->tid);
	free(s->t.threads);
	free(s->subs_out);
	probes_release(&s->t);
	scratch_forget(&s->t);
	maps_release(&s->t.maps);
	modules_destroy(s->t.mods);
	mem_close(&s->t.mem);
	unwinder_destroy(s->uw);
	ledger_destroy(s->ledger);
	regions_destroy(s->regions);
	free(s->stack_gen);
	stacks_destroy(s->stacks);
}

/* ---- resuming ---------------------------------------------------------- */

static void cont(struct thread *th, int sig)
{
	if (ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig) == 0)
		th->state = TS_RUNNING;
	th->stop_sig = 0;
}

/* ---- recording --------------------------------------------------------- */

/* Requested size of the call; *overflow_ret set when it overflows (the
 * call then fails without touching anything). */
static uint64_t call_size(const struct shadow *e, int *overflow_ret)
{
	uint64_t r = 0;
	*overflow_ret = 0;
	switch (e->probe->kind) {
	case PK_CALLOC:
		*overflow_ret = __builtin_mul_overflow(e->args[0], e->args[1], &r);
		return r;
	case PK_REALLOCARRAY:
		*overflow_ret = __builtin_mul_overflow(e->args[1], e->args[2], &r);
		return r;
	case PK_REALLOC:
	case PK_RALLOCX: return e->args[1];
	case PK_POSIX_MEMALIGN: return e->args[2];
	case PK_MEMALIGN: return e->args[1];
	default: return e->args[0];
	}
}

static void record_block(struct session *s, const struct shadow *e, pid_t tid,
			 uint64_t addr)
{
	int overflow;
	struct ledger_block b = {
		.addr = addr, .size = call_size(e, &overflow), .time_ns = now_ns(),
		.stack_id = e->stack_id, .tid = (uint32_t)tid,
	};
	if (ledger_alloc(s->ledger, &b) < 0)
		s->end_reason = "error";
}

/* The outcome of realloc/reallocarray: the old block was taken out of the
 * ledger at the entry (so that a thread handed the same address before we
 * see the return cannot be confused with it). */
static void finish_realloc(struct session *s, const struct shadow *e, pid_t tid,
			   uint64_t ret)
{
	int overflow;
	/* glibc: realloc(p, 0) frees p and returns NULL; rallocx never frees
	 * without a new block */
	int freed = ret != 0 || (e->probe->kind != PK_RALLOCX &&
				 call_size(e, &overflow) == 0 && !overflow);
	if (e->took_old && freed)
		ledger_count_free(s->ledger, e->old_known);
	else if (e->took_old && e->old_known && ledger_restore(s->ledger, &e->old) < 0)
		s->end_reason = "error";
	if (ret)
		record_block(s, e, tid, ret);
}

/* --mmap: what a mapping call did (regions.h has the semantics).  Only
 * private anonymous memory is traced, and not thread stacks (MAP_STACK:
 * pthread_create's); any other mapping over traced memory replaces it. */
static void apply_mapping(struct session *s, pid_t tid, const struct shadow *e,
			  uint64_t ret)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), mask = page - 1;
	uint64_t flags = e->args[3];
	int failed = ret > (uint64_t)-4096, err = 0;
	struct region reg = { .time_ns = now_ns(), .stack_id = e->stack_id,
			      .tid = (uint32_t)tid };
	if (!s->regions)
		return;
	switch (e->probe->kind) {
	case PK_MMAP:
		if (failed)
			return;
		reg.start = ret, reg.end = ret + ((e->args[1] + mask) & ~mask);
		if ((flags & (MAP_SHARED | MAP_PRIVATE)) == MAP_PRIVATE &&
		    (flags & MAP_ANONYMOUS) && !(flags & MAP_STACK))
			err = regions_map(s->regions, &reg, 0);
		else
			err = regions_unmap(s->regions, reg.start, reg.end, 0, NULL);
		break;
	case PK_MUNMAP:
		if (ret == 0)
			err = regions_unmap(s->regions, e->args[0],
					    e->args[0] + ((e->args[1] + mask) & ~mask), 1, NULL);
		break;
	case PK_MREMAP:
		if (failed || !regions_find(s->regions, e->args[0]))
			return;         /* memory leaktrap did not see mapped */
		if (!(flags & MREMAP_DONTUNMAP))
			err = regions_unmap(s->regions, e->args[0],
					    e->args[0] + ((e->args[1] + mask) & ~mask), 0, NULL);
		reg.start = ret, reg.end = ret + ((e->args[2] + mask) & ~mask);
		if (!err)
			err = regions_map(s->regions, &reg, 1);
		break;
	default:
		break;
	}
	if (err)
		s->end_reason = "error";
}

static void apply_return(struct session *s, struct thread *th,
			 const struct shadow *e, uint64_t ret)
{
	uint64_t block = ret;
	if (!e->probe)
		return;                 /* a signal handler returned */
	switch (e->probe->kind) {
	case PK_REALLOC:
	case PK_REALLOCARRAY:
	case PK_RALLOCX:
		finish_realloc(s, e, th->tid, ret);
		return;
	case PK_FREE:           /* hijacked only to see what it calls */
	case PK_UNWIND:
		return;
	case PK_MMAP:
	case PK_MUNMAP:
	case PK_MREMAP:
		apply_mapping(s, th->tid, e, ret);
		return;
	case PK_POSIX_MEMALIGN:
		if (ret != 0 || mem_read(&s->t.mem, e->args[0], &block, sizeof(block)))
			return;
		break;
	default:
		break;
	}
	if (block)
		record_block(s, e, th->tid, block);
}

void session_abandon_calls(struct session *s, struct thread *th, unsigned keep)
{
	while (th->n_shadow > keep) {
		const struct shadow *e = &th->shadow[--th->n_shadow];
		if (e->took_old && e->old_known && ledger_restore(s->ledger, &e->old) < 0)
			s->end_reason = "error";
	}
}

int session_finish_return(struct session *s, struct thread *th, struct arch_regs *regs)
{
	uint64_t sp = arch_regs_sp(regs);
	int i = (int)th->n_shadow - 1;
	while (i >= 0 && arch_sp_after_return(th->shadow[i].entry_sp) != sp)
		i--;
	if (i < 0)
		return -ENOENT;
	struct shadow e = th->shadow[i];
	session_abandon_calls(s, th, (unsigned)i + 1);  /* deeper: abandoned */
	th->n_shadow = (unsigned)i;
	apply_return(s, th, &e, arch_regs_retval(regs));
	arch_regs_set_pc(regs, e.orig_ret);
	return 0;
}

/* Hijack the return of an outermost allocation call and remember it;
 * with_stack: capture the stack (unwound by unwind_call) for a call that
 * makes a block, not for a free seen only to ignore what it calls. */
static int begin_call(struct session *s, struct thread *th, const struct arch_regs *regs,
		      const struct probe *p, int with_stack)
{
	uint64_t slot = arch_entry_ret_slot(regs), ret;
	if (th->n_shadow == SHADOW_MAX)
		return -ENOSPC;
	if (!with_stack) {
		if (mem_read(&s->t.mem, slot, &ret, sizeof(ret)))
			return -EFAULT;
	} else {
		/* unwound from the entry address, not from after the
		 * breakpoint: a one-byte first instruction (push %rbp) would
		 * look executed, its CFI row applied */
		struct arch_regs at = *regs;
		arch_regs_set_pc(&at, p->addr);
		if (unwind_capture(&s->t.mem, &at, &s->cap) < 0 || s->cap.len < sizeof(ret))
			return -EFAULT;
		memcpy(&ret, s->cap.stack + (slot - s->cap.sp), sizeof(ret));
		/* the unwinder sees the real return addresses of the signal
		 * handlers (and calls) below us, not the trampoline */
		for (unsigned i = 0; i < th->n_shadow; i++) {
			uint64_t w = th->shadow[i].entry_sp;
			if (w >= s->cap.sp && w - s->cap.sp + sizeof(ret) <= s->cap.len)
				memcpy(s->cap.stack + (w - s->cap.sp), &th->shadow[i].orig_ret,
				       sizeof(ret));
		}
	}
	/* the entry exists before the stack changes: the guardian reads it */
	struct shadow *e = &th->shadow[th->n_shadow];
	memset(e, 0, sizeof(*e));
	e->orig_ret = ret, e->entry_sp = arch_regs_sp(regs), e->probe = p;
	e->ret_slot = slot;
	th->n_shadow++;
	int err = mem_write_data(&s->t.mem, slot, &s->t.trampoline, sizeof(s->t.trampoline));
	if (err) {
		th->n_shadow--;
		return err;
	}
	e->stack_id = UINT32_MAX;
	for (unsigned i = 0; i < sizeof(e->args) / sizeof(e->args[0]); i++)
		e->args[i] = arch_regs_arg(regs, i);
	if ((p->kind == PK_REALLOC || p->kind == PK_REALLOCARRAY ||
	     p->kind == PK_RALLOCX) && e->args[0]) {
		e->took_old = 1;
		e->old_known = ledger_take(s->ledger, e->args[0], &e->old) == 0;
		if (s->reach && e->old_known)   /* its header is intact until the call */
			reach_note_free(&s->reach->freed, &s->t.mem, e->args[0]);
	}
	return 0;
}

static void check_new_stack(struct session *s, uint32_t id, const uint64_t *pcs, unsigned n)
{
	if (id + 1 != stacks_count(s->stacks))
		return;                 /* seen before */
	for (unsigned i = 0; i < n; i++)
		if (!maps_find(&s->t.maps, pcs[i])) {
			struct maps m;
			double now = session_now();
			/* a bogus outer frame makes many stacks new: at most 10/s */
			if (now - s->maps_refreshed < 0.1)
				return;
			s->maps_refreshed = now;
			if (maps_read(s->t.pid, &m) == 0) {
				maps_release(&s->t.maps);
				s->t.maps = m;
				if (modules_update(s->t.mods, &s->t.maps, &s->t.mem) < 0)
					lt_debug("cannot add the objects mapped since");
			}
			return;
		}
}

unsigned session_stack_gen(const struct session *s, uint32_t id)
{
	return id < s->cap_stack_gen ? s->stack_gen[id] : 0;
}

/* A new stack id: remember which objects were mapped (a library
 * unloaded later, another mapped in its place, must not take its frames). */
static void note_stack_gen(struct session *s, uint32_t id)
{
	if (id >= s->cap_stack_gen) {
		size_t ncap = s->cap_stack_gen ? s->cap_stack_gen * 2 : 1024;
		while (ncap <= id)
			ncap *= 2;
		unsigned *v = realloc(s->stack_gen, ncap * sizeof(*v));
		if (!v)
			return;
		memset(v + s->cap_stack_gen, 0, (ncap - s->cap_stack_gen) * sizeof(*v));
		s->stack_gen = v, s->cap_stack_gen = ncap;
	}
	s->stack_gen[id] = s->t.mods->generation;
}

static void unwind_call(struct session *s, struct shadow *e)
{
	unsigned n = unwinder_unwind(s->uw, &s->cap, s->pcs, s->depth);
	if (stacks_intern(s->stacks, s->pcs, n, &e->stack_id) < 0) {
		s->end_reason = "error";
		return;
	}
	int is_new = e->stack_id + 1 == stacks_count(s->stacks);
	check_new_stack(s, e->stack_id, s->pcs, n);
	if (is_new)
		note_stack_gen(s, e->stack_id);
}

/* Drop shadow entries whose frame is gone (a longjmp out of an allocator
 * call): the entry's return slot is below sp on the same stack.  A handler
 * running on an alternate signal stack also has sp above the entry, but on
 * another mapping: that entry is alive and stays. */
static void drop_dead(struct session *s, struct thread *th, uint64_t sp)
{
	while (th->n_shadow) {
		uint64_t entry_sp = th->shadow[th->n_shadow - 1].entry_sp, word;
		if (entry_sp > sp ||
		    maps_find(&s->t.maps, entry_sp) != maps_find(&s->t.maps, sp))
			return;
		/* the same slot: a tail call from the pending call keeps the
		 * trampoline there; a new call after a longjmp does not */
		if (entry_sp == sp && (mem_read(&s->t.mem, sp, &word, sizeof(word)) ||
				       word == s->t.trampoline))
			return;
		session_abandon_calls(s, th, th->n_shadow - 1);
	}
}

static uint64_t resume_pc(const struct probe *p)
{
	return p->plan.kind == ARCH_PROBE_XOL ? p->slot_addr : p->addr + p->plan.insn_len;
}

/* An exception starts (_Unwind_RaiseException): the unwinder must not
 * meet a hijacked return address (the trampoline has no unwind
 * information: std::terminate).  Put every original back; those calls
 * end by the exception (a throwing operator new allocated nothing). */
static void unhijack_all(struct session *s, struct thread *th)
{
	for (unsigned i = th->n_shadow; i-- > 0;) {
		const struct shadow *e = &th->shadow[i];
		uint64_t word;
		/* only where our trampoline still is: a frame left by a
		 * longjmp may be live data of newer frames now */
		if (mem_read(&s->t.mem, e->ret_slot, &word, sizeof(word)) ||
		    word != s->t.trampoline)
			continue;
		if (mem_write_data(&s->t.mem, e->ret_slot, &e->orig_ret, sizeof(e->orig_ret)))
			lt_debug("thread %d: cannot put back a return address at 0x%llx",
				 (int)th->tid, (unsigned long long)e->ret_slot);
	}
	session_abandon_calls(s, th, 0);
}

/* The dynamic linker changed its list of objects (th is stopped in
 * _dl_debug_state): objects loaded since get their allocator probed
 * before the thread goes on, probes of objects gone are forgotten, and
 * the module table and unwinder see the new mappings.  Called on every
 * hit (the list is consistent at every other one; re-reading is cheap
 * next to a dlopen). */
static void rescan_objects(struct session *s, struct thread *th)
{
	struct maps m;
	struct allocsym *syms = NULL;
	size_t n = 0;
	unsigned added = 0;
	if (maps_read(s->t.pid, &m) < 0)
		return;
	maps_release(&s->t.maps);
	s->t.maps = m;
	s->maps_refreshed = session_now();
	probes_forget_unmapped(&s->t, &s->t.maps);
	guard_publish_probes(&s->t);    /* without the probes of objects gone */
	unsigned gen = s->t.mods->generation;
	if (modules_update(s->t.mods, &s->t.maps, &s->t.mem) < 0)
		lt_debug("cannot add the objects mapped since");
	if (gen == s->t.mods->generation)
		return;
	unwinder_flush(s->uw);
	struct allocsym_options o = s->alloc;
	o.since_gen = gen;              /* the objects just added */
	if (allocsyms_find(s->t.mods, &o, &syms, &n) < 0) {
		lt_warn("cannot read the symbols of objects loaded while tracing");
		return;
	}
	if (probes_add(&s->t, th, syms, n, &added) < 0)
		lt_warn("cannot probe every allocator function of the objects loaded "
			"while tracing");
	if (added)
		lt_debug("%u allocator functions probed in objects loaded while tracing",
			 added);
	allocsyms_free(syms, n);
}

/* LEAKTRAP_DEBUG_CRASH=probe: die while th sits in a breakpoint stop that
 * waitpid has not taken yet (its SIGTRAP is then delivered to it). */
static void crash_with_trap_queued(struct thread *th, const struct arch_regs *regs,
				   const struct probe *p)
{
	struct arch_regs again = *regs;
	siginfo_t si;
	arch_regs_set_pc(&again, p->addr);
	if (arch_set_regs(th->tid, &again) == 0 && ptrace(PTRACE_CONT, th->tid, NULL, NULL) == 0)
		while (waitid(P_PID, (id_t)th->tid, &si, WSTOPPED | WNOWAIT | __WALL) < 0 &&
		       errno == EINTR)
			;
	guard_debug_crash("probe");
}

static void on_probe(struct session *s, struct thread *th, struct arch_regs *regs,
		     const struct probe *p)
{
	int hijacked = 0;
	/* Move the thread first: waitpid took its SIGTRAP, so if leaktrap died
	 * now the thread would resume after the breakpoint byte, in the middle
	 * of the displaced instruction; from the slot it runs on correctly. */
	struct arch_regs moved = *regs;
	arch_regs_set_pc(&moved, resume_pc(p));
	int moved_ok = arch_set_regs(th->tid, &moved) == 0;
	if (guard_debug_crash_at_probe())
		crash_with_trap_queued(th, regs, p);
	drop_dead(s, th, arch_regs_sp(regs));
	if (p->kind == PK_DLSTATE) {
		if (!th->passthrough)
			rescan_objects(s, th);
	} else if (p->kind == PK_UNWIND) {
		if (th->n_shadow)
			unhijack_all(s, th);
	/* outermost: no call pending, or the last thing pushed was a signal
	 * frame (a handler running on top of an interrupted call) */
	} else if (!th->passthrough &&
		   (th->n_shadow == 0 || !th->shadow[th->n_shadow - 1].probe)) {
		if (p->kind == PK_FREE && s->reach)
			reach_note_free(&s->reach->freed, &s->t.mem, arch_regs_arg(regs, 0));
		if (p->kind == PK_FREE)
			(void)ledger_free(s->ledger, arch_regs_arg(regs, 0));
		/* with --mmap a free is followed to its end: the munmap it may
		 * call is the allocator's, not the program's */
		if (p->kind == PK_MUNMAP || (p->kind == PK_FREE && s->regions))
			(void)begin_call(s, th, regs, p, 0);
		else if (p->kind != PK_FREE)
			hijacked = begin_call(s, th, regs, p, 1) == 0;
	}
	/* no-procmem: the unwinder reads through PEEKDATA, i.e. through th */
	int late = mem_through_ptrace(&s->t.mem);
	if (moved_ok && !late)
		cont(th, 0);
	if (hijacked)
		unwind_call(s, &th->shadow[th->n_shadow - 1]);
	if (moved_ok && late)
		cont(th, 0);
}

static void on_trampoline(struct session *s, struct thread *th, struct arch_regs *regs)
{
	if (session_finish_return(s, th, regs) < 0) {
		/* cannot happen unless our bookkeeping is wrong: the best guess
		 * is the innermost call; without one the thread cannot go on */
		lt_error("thread %d returned to the trampoline with no matching call",
			 (int)th->tid);
		s->end_reason = "error";
		if (!th->n_shadow)
			return;
		arch_regs_set_pc(regs, th->shadow[--th->n_shadow].orig_ret);
	}
	if (arch_set_regs(th->tid, regs) == 0)
		cont(th, 0);
}

/* Deliver the target's own signal.  If the thread is inside an allocator
 * call and the signal is caught, step into the handler (the kernel stops
 * the thread at its first instruction) so that its return can be hijacked
 * too: the handler's allocations are then outermost calls. */
static void deliver_signal(struct session *s, struct thread *th, int sig)
{
	(void)s;
	if (th->n_shadow && !th->passthrough && th->n_shadow < SHADOW_MAX && sig != SIGTRAP &&
	    (procfs_status_num(th->tid, "SigCgt", 16) & (1ULL << (sig - 1))) &&
	    ptrace(PTRACE_SINGLESTEP, th->tid, NULL, (void *)(long)sig) == 0) {
		th->state = TS_RUNNING, th->stop_sig = 0;
		th->entering_handler = 1;
		return;
	}
	cont(th, sig);
}

/* Whether the trampoline's int3 can run in the thread's current context:
 * with SIGTRAP blocked the kernel would reset a SIGTRAP handler (or
 * SIG_IGN) to SIG_DFL to deliver it (force_sig). */
static int trampoline_safe(pid_t tid)
{
	uint64_t bit = 1ULL << (SIGTRAP - 1);
	return !(procfs_status_num(tid, "SigBlk", 16) & bit) ||
	       !((procfs_status_num(tid, "SigCgt", 16) | procfs_status_num(tid, "SigIgn", 16)) & bit);
}

/* The thread stopped at the first instruction of a signal handler entered
 * inside an allocator call: hijack the handler's return like a call's. */
static void on_handler_entry(struct session *s, struct thread *th)
{
	struct arch_regs regs;
	uint64_t slot, ret;
	th->entering_handler = 0;
	if (!trampoline_safe(th->tid))
		goto out;
	if (arch_get_regs(th->tid, &regs) == 0 && th->n_shadow < SHADOW_MAX &&
	    (slot = arch_entry_ret_slot(&regs)) &&
	    mem_read(&s->t.mem, slot, &ret, sizeof(ret)) == 0) {
		/* the entry exists before the stack changes: the guardian reads it */
		struct shadow *e = &th->shadow[th->n_shadow];
		memset(e, 0, sizeof(*e));
		e->orig_ret = ret, e->entry_sp = arch_regs_sp(&regs);
		e->ret_slot = slot;
		e->stack_id = UINT32_MAX;
		th->n_shadow++;
		if (mem_write_data(&s->t.mem, slot, &s->t.trampoline, sizeof(s->t.trampoline)))
			th->n_shadow--;
	}
out:
	cont(th, 0);
}

/* A SIGTRAP signal-delivery-stop: ours (probe or trampoline) or the
 * target's own, which is forwarded. */
static void on_sigtrap(struct session *s, struct thread *th)
{
	struct arch_regs regs;
	if (arch_get_regs(th->tid, &regs) < 0)
		return;
	uint64_t bp = arch_trap_pc_to_bp(arch_regs_pc(&regs));
	const struct probe *p;
	if (bp == s->t.trampoline && bp)
		on_trampoline(s, th, &regs);
	else if ((p = target_probe_at(&s->t, bp)))
		on_probe(s, th, &regs, p);
	else
		deliver_signal(s, th, SIGTRAP);
}

/* ---- events other than probe hits -------------------------------------- */

/* A signal delivered while the thread is on the trampoline or in a slot
 * saves that pc in the signal frame: the scratch page must then outlive
 * the detach.  Signals are rare; one GETREGS each is cheap. */
static void note_signal_frame(struct session *s, struct thread *th)
{
	struct arch_regs regs;
	if (s->t.n_scratch && arch_get_regs(th->tid, &regs) == 0 &&
	    scratch_page_of(&s->t, arch_regs_pc(&regs)))
		th->sigframe_in_scratch = 1;
}

static struct session_child *find_child(struct session *s, pid_t pid)
{
	for (unsigned i = 0; i < s->n_children; i++)
		if (s->children[i].pid == pid)
			return &s->children[i];
	return NULL;
}

static struct session_child *get_child(struct session *s, pid_t pid)
{
	struct session_child *c = find_child(s, pid);
	if (c || s->n_children == SESSION_MAX_CHILDREN)
		return c;
	c = &s->children[s->n_children++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	return c;
}

static void forget_child(struct session *s, struct session_child *c)
{
	*c = s->children[--s->n_children];
}

/* Both halves of a fork are known: release a fork child, or adopt a vfork
 * child (it shares our memory) as a pass-through thread. */
static void child_ready(struct session *s, struct session_child *c)
{
	if (!c->from_parent || !c->stopped)
		return;
	if (c->vfork) {
		struct thread *th = target_add_thread(&s->t, c->pid);
		if (th) {
			th->passthrough = 1;
			th->vfork_child = c->real_vfork;
			th->sigframe_in_scratch = c->sigframe_in_scratch;
			th->state = TS_STOPPED;   /* in its first stop, which is
			 * no signal: detaching must not deliver a SIGTRAP */
			th->status = (PTRACE_EVENT_STOP << 16) | (SIGTRAP << 8) | 0x7f;
			if (!s->detaching)
				cont(th, 0);
		}
	} else if (s->subtracer && !s->detaching) {
		session_follow_child(s, c);
	} else {
		session_release_child(s, c);
	}
	forget_child(s, c);
}

/* A stop from a tid we do not know: a new thread or a fork child whose
 * first stop came before its parent's event. */
void session_unknown_stop(struct session *s, pid_t tid, int status)
{
	struct session_child *c = find_child(s, tid);
	if (!c && (pid_t)procfs_status_num(tid, "Tgid", 10) == s->t.pid) {
		struct thread *th = target_add_thread(&s->t, tid);
		if (th) {
			th->state = TS_STOPPED, th->status = status;
			if (!s->detaching)
				(void)tracee_resume(th);   /* LISTEN if group-stopped */
		}
		return;
	}
	if (!c && !(c = get_child(s, tid))) {
		(void)compat_detach(tid, 0);
		return;
	}
	c->stopped = 1;
	child_ready(s, c);
}

/* clone(CLONE_VM) without CLONE_VFORK is reported as a fork: the child
 * shares our memory all the same. */
static int shares_memory(pid_t a, pid_t b)
{
	return syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0) == 0;
}

static void on_fork_event(struct session *s, struct thread *th, int vfork)
{
	unsigned long msg = 0;
	int c_real_vfork_hint;
	if (ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &msg) < 0)
		return;
	c_real_vfork_hint = vfork;
	vfork = vfork || shares_memory(th->tid, (pid_t)msg);
	struct session_child *c = get_child(s, (pid_t)msg);
	if (!c)
		return;
	c->from_parent = 1, c->vfork = vfork, c->real_vfork = c_real_vfork_hint;
	c->sigframe_in_scratch = th->sigframe_in_scratch;
	c->n_shadow = th->n_shadow;
	memcpy(c->shadow, th->shadow, th->n_shadow * sizeof(th->shadow[0]));
	child_ready(s, c);
}

static void on_exec(struct session *s, struct thread *th)
{
	unsigned long former = 0;
	(void)ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &former);
	if (th->passthrough) {          /* a vfork child left our memory */
		pid_t tid = th->tid;
		target_del_thread(&s->t, tid);
		if (s->subtracer && !s->detaching)
			session_follow_spawned(s, tid);
		else
			(void)compat_detach(tid, 0);
		return;
	}
	if ((pid_t)former != th->tid)
		target_del_thread(&s->t, (pid_t)former);
	/* the old image, its breakpoints and scratch pages are gone */
	s->execd = 1;
	guard_publish_clean();
	for (unsigned i = 0; i < s->t.n_probes; i++)
		s->t.probes[i].armed = 0;
	scratch_forget(&s->t);
	unsigned it = 0;
	for (struct thread *o; (o = target_next_thread(&s->t, &it));)
		session_abandon_calls(s, o, 0);    /* a pending realloc's block
						    * was still live */
	if (s->follow_exec && !s->detaching && !s->end_reason) {
		s->exec_pending = 1;        /* the loop follows, th stays stopped */
		return;
	}
	if (!s->end_reason) {
		lt_error("pid %d called execve: detaching (--no-follow-exec); the report "
			 "covers the program before the exec", (int)s->t.pid);
		s->end_reason = "exec";
	}
}

void session_note_event(struct session *s, pid_t tid, int status)
{
	struct thread *th = target_thread(&s->t, tid);
	unsigned long msg = 0;
	switch (status >> 16) {
	case PTRACE_EVENT_CLONE:
		/* the new thread's own stop, and even its exit, may have been
		 * reported before this event: add it only if it is still there */
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 &&
		    !target_thread(&s->t, (pid_t)msg) && !find_child(s, (pid_t)msg) &&
		    kill((pid_t)msg, 0) == 0) {
			struct thread *nt = target_add_thread(&s->t, (pid_t)msg);
			if (nt)
				nt->passthrough = th->passthrough;
		}
		break;
	case PTRACE_EVENT_FORK:
		on_fork_event(s, th, 0);
		break;
	case PTRACE_EVENT_VFORK:
		on_fork_event(s, th, 1);
		break;
	case PTRACE_EVENT_EXEC:
		on_exec(s, th);
		break;
	case PTRACE_EVENT_EXIT:
		th->exiting = 1;
		session_abandon_calls(s, th, 0);
		if (s->reach && tid == s->t.pid && !s->end_reason) {
			s->end_reason = "target-exit";  /* scan while memory is there */
			/* the session ends before the status is reaped: take it
			 * from the event (wait format) for a launched COMMAND */
			if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0)
				s->exited = 1, s->exit_status = (int)msg;
		}
		break;
	}
}

void session_reap(struct session *s, pid_t tid)
{
	if (session_subtracer_exited(s, tid))
		return;
	struct session_child *c = find_child(s, tid);
	struct thread *th = target_thread(&s->t, tid);
	if (th)     /* killed inside a call (exit_group): a realloc's old block
		     * was never freed */
		session_abandon_calls(s, th, 0);
	target_del_thread(&s->t, tid);
	if (c)
		forget_child(s, c);         /* a child that died before its turn */
	if (tid != s->t.pid)
		return;
	if (!s->end_reason)
		s->end_reason = "target-exit";
	/* children whose parent's event will never come */
	while (s->n_children) {
		c = &s->children[0];
		if (c->stopped)
			session_release_child(s, c);
		forget_child(s, c);
	}
}

void session_note_exit(struct session *s, pid_t tid, int status)
{
	if (tid == s->t.pid)
		s->exited = 1, s->exit_status = status;
}

void session_handle_stop(struct session *s, pid_t tid, int status)
{
	s->n_stops++;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		session_note_exit(s, tid, status);
		session_reap(s, tid);
		return;
	}
	struct thread *th = target_thread(&s->t, tid);
	if (!th) {
		session_unknown_stop(s, tid, status);
		return;
	}
	th->state = TS_STOPPED, th->status = status;
	int event = status >> 16, sig = WSTOPSIG(status);
	if (th->entering_handler && event == 0 && sig == SIGTRAP) {
		on_handler_entry(s, th);
		return;
	}
	th->entering_handler = 0;   /* e.g. the frame could not be set up */
	if (event == 0 && sig == SIGTRAP) {
		on_sigtrap(s, th);
	} else if (event == 0) {
		note_signal_frame(s, th);
		deliver_signal(s, th, sig);         /* the target's own signal */
	} else if (event == PTRACE_EVENT_STOP) {
		if (tracee_is_group_stop(status))
			(void)tracee_resume(th);    /* PTRACE_LISTEN */
		else
			cont(th, 0);
	} else {
		session_note_event(s, tid, status);
		if ((th = target_thread(&s->t, tid)) && th->state == TS_STOPPED &&
		    !s->exec_pending && !(s->reach && th->exiting && tid == s->t.pid))
			cont(th, 0);    /* (the leader's exit waits for the scan) */
	}
}

/* ---- the loop ---------------------------------------------------------- */

/* The loop blocks in waitpid(): a plain blocking wait is the cheapest way
 * to take a stop (sigtimedwait + WNOHANG cost ~10 us more per stop here).
 * Signals set a flag and interrupt the wait (no SA_RESTART); a 50 ms
 * interval timer bounds the latency of a signal that lands just before the
 * wait, and of the --duration deadline. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	if (sig != SIGALRM)
		stop_signal = sig;
}

int session_stop_requested(void)
{
	return stop_signal != 0;
}

static const int handled_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGPIPE };
enum { N_HANDLED = sizeof(handled_sigs) / sizeof(handled_sigs[0]) };
static struct sigaction inherited[N_HANDLED];

/* An ignored SIGHUP/SIGINT (nohup, a shell's background job) stays
 * ignored: it is not ours to take over. */
void session_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;          /* no SA_RESTART: waits return EINTR */
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < N_HANDLED; i++) {
		sigaction(handled_sigs[i], NULL, &inherited[i]);
		if (handled_sigs[i] == SIGPIPE)
			signal(SIGPIPE, SIG_IGN);
		else if (inherited[i].sa_handler != SIG_IGN || handled_sigs[i] == SIGALRM)
			sigaction(handled_sigs[i], &sa, NULL);
	}
}

/* In a launched child: the dispositions leaktrap inherited. */
void session_restore_inherited_signals(void)
{
	for (unsigned i = 0; i < N_HANDLED; i++)
		sigaction(handled_sigs[i], &inherited[i], NULL);
}

void session_set_tick(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };
	setitimer(ITIMER_REAL, &it, NULL);
}

/* --max-blocks: leaktrap's memory grows with the live blocks; stop
 * tracing before it can hurt the host. */
static int over_limit(struct session *s)
{
	struct ledger_totals tot;
	ledger_totals(s->ledger, &tot);
	if (tot.live_blocks < s->max_blocks)
		return 0;
	lt_error("stopped tracing pid %d: %llu blocks are live, the --max-blocks limit; "
		 "detaching; the report is partial (exit status 9)", (int)s->t.pid,
		 (unsigned long long)tot.live_blocks);
	s->end_reason = "max-blocks";
	return 1;
}

/* A SIGTRAP signal-delivery-stop of a known thread is handled without
 * being taken by waitpid: its SIGTRAP stays the stop's signal until the
 * thread is resumed (PTRACE_CONT makes the stop unwaitable), so that if
 * leaktrap dies first the kernel delivers it and the trap net catches the
 * thread where it is, instead of the thread resuming after the breakpoint
 * byte in the middle of the displaced instruction (DESIGN.md 7.2).  The
 * peek costs what waitpid costs; other stops are taken as before. */
#define TRAP_UNTAKEN ((SIGTRAP << 8) | 0x7f)

static pid_t next_stop(struct session *s, int *status)
{
	siginfo_t si;
	si.si_pid = 0;
	if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | __WALL | WNOWAIT) < 0)
		return -1;
	if (si.si_code == CLD_TRAPPED && si.si_status == SIGTRAP &&
	    target_thread(&s->t, si.si_pid)) {
		*status = TRAP_UNTAKEN;
		return si.si_pid;
	}
	return waitpid(si.si_pid, status, __WALL);
}

/* The stop was handled but the thread not resumed: take it now, or the
 * next peek would return it again.  An exit that came meanwhile is
 * handled; the same stop is not handled twice. */
static void take_if_not_resumed(struct session *s, pid_t tid)
{
	struct thread *th = target_thread(&s->t, tid);
	int status;
	if (th && th->state != TS_STOPPED)
		return;
	if (waitpid(tid, &status, __WALL | WNOHANG) == tid && !WIFSTOPPED(status))
		session_handle_stop(s, tid, status);
}

void session_run(struct session *s, double duration_s)
{
	double deadline = duration_s > 0 ? s->t_start + duration_s : 0;
	s->tick_due = s->t_start + s->tick_every;
	session_set_tick(50000);
	while (!s->end_reason) {
		int status;
		if (stop_signal) {
			s->end_reason = "interrupt";
			break;
		}
		if (guard_debug_crash_in_trace() && s->n_stops >= 2000)
			guard_debug_crash("trace");
		if (s->max_blocks && over_limit(s))
			break;
		double now = session_now();
		if (deadline && now >= deadline) {
			s->end_reason = "duration";
			break;
		}
		if (s->tick && now >= s->tick_due) {
			s->tick_due = now + s->tick_every;
			s->tick(s, s->tick_arg);
			continue;
		}
		pid_t tid = compat_has(COMPAT_NO_SEIZE) ? compat_waitpid(-1, &status, __WALL)
							 : next_stop(s, &status);
		if (tid > 0) {
			session_handle_stop(s, tid, status);
			/* (no-seize: compat_waitpid took the stop already) */
			if (status == TRAP_UNTAKEN && !compat_has(COMPAT_NO_SEIZE))
				take_if_not_resumed(s, tid);
			if (s->exec_pending)
				session_follow_exec(s);
		} else if (errno == ECHILD) {
					s->end_reason = "target-exit";
		}
	}
	session_set_tick(0);
	s->t_end = session_now();
}
