/* SPDX-License-Identifier: MIT */
/*
 * guardian.c - the guardian process and the state the tracer shares with
 * it (see guardian.h).  The rescue is DESIGN.md 7.1 done by a new tracer:
 * seize and stop every thread, write back every original byte, move each
 * thread off the breakpoints and the trampoline (draining a SIGTRAP of ours
 * still queued), write back the hijacked return addresses, detach.  The
 * scratch pages stay mapped: they only jump back to the original code.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "leaktrap/compat.h"
#include "leaktrap/error.h"
#include "leaktrap/guardian.h"
#include "leaktrap/mem.h"
#include "leaktrap/procfs.h"
#include "leaktrap/trapnet.h"

#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

enum { GUARD_MAX_PATCHES = 4096, GUARD_POOL = 1024 };

enum guard_state {
	GS_CLEAN,       /* nothing of ours in the target */
	GS_ARMED,       /* breakpoints, pages or hijacked returns may be there */
	GS_DETACHED,    /* the tracer finished its detach */
};

struct guard_patch {
	uint64_t addr;
	uint8_t orig[ARCH_BP_MAX_LEN];
};

struct guard_shm {
	volatile int state;
	pid_t pid;
	uint64_t trampoline;
	uint64_t trapnet, trapnet_sa;   /* 0 unless installed */
	uint64_t syscall_insn;
	unsigned n_patches, n_unpublished;
	unsigned pool_hint;
	struct guard_patch patches[GUARD_MAX_PATCHES];
	volatile unsigned char used[GUARD_POOL];
	struct thread pool[GUARD_POOL];
};

static struct guard_shm *g;
/* guard_disown(): the pool a forked leaktrap must leave alone */
static struct thread *foreign_pool;
static pid_t guardian_pid;

pid_t guard_pid(void)
{
	return guardian_pid;
}

/* ---- what the tracer publishes ----------------------------------------- */

void guard_publish_probes(const struct target *t)
{
	if (!g)
		return;
	/* the breakpoints in place or about to be, not those of objects
	 * unloaded since (their addresses may hold other code now) */
	unsigned n = 0, want = 0;
	g->n_patches = 0;               /* shrinks before entries change */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < t->n_probes; i++) {
		const struct probe *p = &t->probes[i];
		if (!p->armed && !p->arming)
			continue;
		want++;
		if (n == GUARD_MAX_PATCHES)
			continue;
		g->patches[n].addr = p->addr;
		memcpy(g->patches[n].orig, p->orig, ARCH_BP_MAX_LEN);
		n++;
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	g->n_patches = n;
	g->n_unpublished = want - n;
	g->trampoline = t->trampoline;
	g->trapnet = t->trapnet_installed ? t->trapnet : 0;
	g->trapnet_sa = t->trapnet_sa;
	g->syscall_insn = t->syscall_insn;
	g->pid = t->pid;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);   /* all of it before the state */
	g->state = GS_ARMED;
}

void guard_publish_clean(void)
{
	if (!g)
		return;
	g->state = GS_CLEAN;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	g->n_patches = 0, g->n_unpublished = 0, g->trampoline = 0, g->trapnet = 0;
}

void guard_publish_detached(void)
{
	if (g)
		g->state = GS_DETACHED;
}

struct thread *guard_thread_alloc(void)
{
	if (g)
		for (unsigned k = 0; k < GUARD_POOL; k++) {
			unsigned i = (g->pool_hint + k) % GUARD_POOL;
			if (g->used[i])
				continue;
			memset(&g->pool[i], 0, sizeof(g->pool[i]));
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			g->used[i] = 1;
			g->pool_hint = i + 1;
			return &g->pool[i];
		}
	return calloc(1, sizeof(struct thread));
}

void guard_disown(void)
{
	if (g)
		foreign_pool = g->pool;
	g = NULL;
}

void guard_thread_free(struct thread *th)
{
	if (foreign_pool && th >= foreign_pool && th < foreign_pool + GUARD_POOL)
		return;         /* the tracer's record, still in use there */
	if (g && th >= g->pool && th < g->pool + GUARD_POOL) {
		th->n_shadow = 0;
		g->used[th - g->pool] = 0;
		return;
	}
	free(th);
}

/* ---- deliberate crashes (tests) ---------------------------------------- */

static int crash_sig(const char *phase)
{
	const char *e = getenv("LEAKTRAP_DEBUG_CRASH");
	size_t n = strlen(phase);
	if (!e || strncmp(e, phase, n) || (e[n] && e[n] != ':'))
		return 0;
	if (e[n] && !strcmp(e + n + 1, "ABRT"))
		return SIGABRT;
	if (e[n] && !strcmp(e + n + 1, "KILL"))
		return SIGKILL;
	return SIGSEGV;
}

void guard_debug_crash(const char *phase)
{
	int sig = crash_sig(phase);
	static volatile uintptr_t nowhere = 16;
	if (sig == SIGSEGV)
		*(volatile int *)nowhere = 0;           /* a genuine fault */
	else if (sig == SIGABRT)
		abort();
	else if (sig)
		raise(sig);
}

int guard_debug_crash_in_trace(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = crash_sig("trace") != 0;
	return cached;
}

int guard_debug_crash_at_probe(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = crash_sig("probe") != 0;
	return cached;
}

/* ---- the rescue -------------------------------------------------------- */

struct rescued {
	pid_t tid;
	int status;             /* its stop */
	int seized;
};

struct rescue_stats {
	unsigned threads, moved, drained, returns, lost_returns, bytes_failed, caught;
	int gone, net_left;
};

static int is_patch(uint64_t addr)
{
	for (unsigned i = 0; i < g->n_patches; i++)
		if (g->patches[i].addr == addr)
			return 1;
	return 0;
}

static struct thread *record_of(pid_t tid)
{
	for (unsigned i = 0; i < GUARD_POOL; i++)
		if (g->used[i] && g->pool[i].tid == tid)
			return &g->pool[i];
	return NULL;
}

static int wait_stop(pid_t tid, int *status)
{
	pid_t r;
	while ((r = compat_waitpid(tid, status, __WALL)) < 0 && errno == EINTR)
		;
	return r == tid && WIFSTOPPED(*status) ? 0 : -ESRCH;
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Attach to one thread and stop it (PTRACE_SEIZE + INTERRUPT, or the
 * no-seize fallback), retrying while the dead tracer's hold is released.
 * Returns 0, or -ESRCH if it is gone. */
static int seize_one(pid_t tid, int *status)
{
	for (int tries = 0;; tries++) {
		char state[16];
		int err = compat_seize_stop(tid, 0);
		if (err == 0)
			break;
		if (err != -EPERM || tries == 40 ||
		    procfs_status(tid, "State", state, sizeof(state)) < 0 ||
		    state[0] == 'Z' || state[0] == 'X')
			return err;
		nap_ms(5);
	}
	return wait_stop(tid, status);
}

/* Seize every thread, re-reading the task list until a scan made with all
 * known threads stopped finds nothing new. */
static int seize_all(pid_t pid, struct rescued **out, unsigned *n_out)
{
	struct rescued *r = NULL;
	unsigned n = 0, cap = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	for (int round = 0, fresh = 1; fresh && round < 100; round++) {
		DIR *d = opendir(path);
		if (!d)
			break;
		fresh = 0;
		for (struct dirent *e; (e = readdir(d));) {
			pid_t tid = (pid_t)atoi(e->d_name);
			unsigned i;
			for (i = 0; i < n && r[i].tid != tid; i++)
				;
			if (tid <= 0 || i < n)
				continue;
			if (n == cap) {
				struct rescued *nr = realloc(r, (cap = cap ? cap * 2 : 64) * sizeof(*r));
				if (!nr)
					break;
				r = nr;
			}
			int status = 0;
			int seized = seize_one(tid, &status) == 0;
			r[n++] = (struct rescued){ tid, status, seized };
			fresh = 1;
		}
		closedir(d);
	}
	unsigned kept = 0;
	for (unsigned i = 0; i < n; i++)
		if (r[i].seized)
			r[kept++] = r[i];
	*out = r, *n_out = kept;
	return kept ? 0 : -ESRCH;
}

/* The thread executed our breakpoint but the interrupt stop came first:
 * take the queued SIGTRAP now (DESIGN.md 7.1 step 3.1).  Returns the
 * signal the thread is to receive at detach. */
static int drain(struct rescued *t, struct rescue_stats *st)
{
	int sig = (t->status >> 16) == 0 ? WSTOPSIG(t->status) : 0;
	if (sig == SIGTRAP)
		return 0;                       /* the stop is our trap: swallow it */
	if ((t->status >> 16) == 0 ||
	    !(procfs_status_num(t->tid, "SigPnd", 16) & (1ULL << (SIGTRAP - 1))))
		return sig;
	for (int tries = 0; tries < 8; tries++) {
		siginfo_t si;
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0 ||
		    wait_stop(t->tid, &t->status) < 0)
			return 0;
		if ((t->status >> 16) != 0)
			continue;
		if (WSTOPSIG(t->status) != SIGTRAP) {
			sig = WSTOPSIG(t->status);
			continue;
		}
		st->drained++;
		if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si) == 0 && si.si_code != SI_KERNEL)
			sig = SIGTRAP;              /* the target's own */
		return sig;
	}
	return sig;
}

/* The original-code pc for a thread that trapped at pc (after the trap)
 * with sp; 0 if it cannot be known.  A consumed shadow entry is marked. */
static uint64_t resume_pc_for(const struct thread *rec, uint64_t pc, uint64_t sp,
			      unsigned char *done)
{
	uint64_t bp = arch_trap_pc_to_bp(pc);
	if (is_patch(bp))
		return bp;                      /* re-run the restored insn */
	/* the trampoline's slot is breakpoints: a thread that resumed after the
	 * first one (its SIGTRAP already taken when the tracer died) trapped
	 * again further on, with the same sp */
	if (!g->trampoline || pc - g->trampoline >= ARCH_SLOT_SIZE)
		return pc;
	/* from the top down, starting with the entry just popped if the
	 * tracer died between popping it and moving the thread */
	int i = rec ? (int)(rec->n_shadow < SHADOW_MAX ? rec->n_shadow : SHADOW_MAX - 1) : -1;
	while (i >= 0 && arch_sp_after_return(rec->shadow[i].entry_sp) != sp)
		i--;
	if (i < 0)
		return 0;
	done[i] = 1;
	return rec->shadow[i].orig_ret;
}

/* A thread the trap net caught (it trapped with no tracer): its context
 * is in the signal frame at sp.  Fix the saved pc and make it return
 * from the handler.  Returns 1 if it was one. */
static int fix_caught(struct rescued *t, struct arch_regs *regs, unsigned char *done,
		      struct rescue_stats *st)
{
	uint64_t pc = arch_regs_pc(regs), sp = arch_regs_sp(regs), saved_pc, saved_sp;
	if (!g->trapnet || pc - g->trapnet >= ARCH_TRAPNET_PARK_END)
		return 0;
	struct mem m = { .pid = t->tid, .fd = -1 };
	uint64_t pc_slot = arch_trapnet_saved_pc_slot(sp);
	if (mem_read(&m, pc_slot, &saved_pc, 8) ||
	    mem_read(&m, arch_trapnet_saved_sp_slot(sp), &saved_sp, 8))
		return 0;
	uint64_t to = resume_pc_for(record_of(t->tid), saved_pc, saved_sp, done);
	lt_debug("guardian: thread %d status 0x%x caught at 0x%llx (sp 0x%llx, pc 0x%llx): "
		 "to 0x%llx", (int)t->tid, t->status, (unsigned long long)saved_pc,
		 (unsigned long long)saved_sp, (unsigned long long)pc, (unsigned long long)to);
	if (!to) {
		st->lost_returns++;
		return 0;
	}
	if (mem_write_data(&m, pc_slot, &to, 8))
		return 0;
	arch_trapnet_sigreturn(regs, g->trapnet + ARCH_TRAPNET_RESTORER);
	if (arch_set_regs(t->tid, regs) == 0)
		st->caught++;
	return 1;
}

/* Put one stopped thread back on the original code; returns the signal to
 * detach it with. */
static int fix_thread(struct rescued *t, unsigned char *done, struct rescue_stats *st)
{
	struct arch_regs regs;
	struct thread *rec = record_of(t->tid);
	int sig = (t->status >> 16) == 0 ? WSTOPSIG(t->status) : 0;
	if (arch_get_regs(t->tid, &regs) < 0 || fix_caught(t, &regs, done, st))
		return sig;
	uint64_t pc = arch_regs_pc(&regs), bp = arch_trap_pc_to_bp(pc);
	if (is_patch(bp) || (g->trampoline && bp == g->trampoline))
		sig = drain(t, st);
	uint64_t to = resume_pc_for(rec, pc, arch_regs_sp(&regs), done);
	lt_debug("guardian: thread %d status 0x%x pc 0x%llx sp 0x%llx: to 0x%llx, signal %d",
		 (int)t->tid, t->status, (unsigned long long)pc,
		 (unsigned long long)arch_regs_sp(&regs), (unsigned long long)to, sig);
	if (!to)
		st->lost_returns++;
	else
		arch_regs_set_pc(&regs, to);
	if (arch_regs_pc(&regs) != pc) {
		if (arch_set_regs(t->tid, &regs) == 0)
			st->moved++;
		else
			lt_warn("guardian: cannot move thread %d off leaktrap's code", (int)t->tid);
	}
	return sig;
}

/* Hijacked returns of one thread record still on its stack. */
static void restore_returns(struct mem *m, const struct thread *rec,
			    const unsigned char *done, struct rescue_stats *st)
{
	for (unsigned i = 0; i < rec->n_shadow && i < SHADOW_MAX; i++) {
		uint64_t word;
		if (done[i] || mem_read(m, rec->shadow[i].entry_sp, &word, sizeof(word)) ||
		    word != g->trampoline)
			continue;
		lt_debug("guardian: thread %d: return slot 0x%llx <- 0x%llx", (int)rec->tid,
			 (unsigned long long)rec->shadow[i].entry_sp,
			 (unsigned long long)rec->shadow[i].orig_ret);
		if (mem_write_data(m, rec->shadow[i].entry_sp, &rec->shadow[i].orig_ret,
				   sizeof(word)) == 0)
			st->returns++;
		else
			st->lost_returns++;
	}
}

static void rescue(struct rescue_stats *st)
{
	struct rescued *r = NULL;
	unsigned n = 0;
	struct mem m;
	memset(st, 0, sizeof(*st));
	if (seize_all(g->pid, &r, &n) < 0 || mem_open(&m, g->pid) < 0) {
		st->gone = 1;
		for (unsigned i = 0; i < n; i++)
			(void)compat_detach(r[i].tid, 0);
		free(r);
		return;
	}
	st->threads = n;
	for (unsigned i = 0; i < g->n_patches; i++) {
		/* only where our breakpoint still is: a probe of a library
		 * unloaded since may have another object's code at its address */
		uint8_t now[ARCH_BP_MAX_LEN];
		if (mem_read(&m, g->patches[i].addr, now, arch_bp_len) == 0 &&
		    memcmp(now, arch_bp_insn, arch_bp_len))
			continue;
		if (mem_write_text(&m, r[0].tid, g->patches[i].addr, g->patches[i].orig,
				   arch_bp_len))
			st->bytes_failed++;
	}
	unsigned char done[GUARD_POOL][SHADOW_MAX];
	memset(done, 0, sizeof(done));
	int *sig = calloc(n ? n : 1, sizeof(*sig));
	for (unsigned i = 0; i < n; i++) {
		struct thread *rec = record_of(r[i].tid);
		unsigned char scratch[SHADOW_MAX] = { 0 };
		int s = fix_thread(&r[i], rec ? done[rec - g->pool] : scratch, st);
		if (sig)
			sig[i] = s;
	}
	if (g->trapnet) {
		struct target t = { .pid = g->pid, .mem = m, .syscall_insn = g->syscall_insn,
			.trapnet = g->trapnet, .trapnet_sa = g->trapnet_sa, .trapnet_installed = 1 };
		struct thread th = { .tid = r[0].tid, .state = TS_STOPPED, .status = r[0].status };
		st->net_left = trapnet_remove(&t, &m, &th) < 0;
	}
	/* every record, also of threads that are gone or not seized (a vfork
	 * child sharing the memory): the stack slots are plain memory */
	for (unsigned k = 0; k < GUARD_POOL; k++)
		if (g->used[k] && g->pool[k].tid)
			restore_returns(&m, &g->pool[k], done[k], st);
	for (unsigned i = 0; i < n; i++)
		(void)compat_detach(r[i].tid, sig ? sig[i] : 0);
	mem_close(&m);
	free(sig);
	free(r);
}

/* ---- the guardian process ---------------------------------------------- */

static volatile pid_t tracer;

static void forward(int sig)
{
	if (tracer > 0)
		kill(tracer, sig);
}

static void say_rescue(const char *how, const struct rescue_stats *st)
{
	if (st->gone) {
		lt_error("the tracing process %s while attached to pid %d; the guardian "
			 "could not reach it: pid %d is gone (a thread stopped at a breakpoint "
			 "when the tracer died is killed by SIGTRAP)", how, (int)g->pid, (int)g->pid);
		return;
	}
	lt_error("the tracing process %s while attached to pid %d; the guardian detached "
		 "from its %u threads: %u breakpoints restored%s, %u threads moved off "
		 "leaktrap's code (%u queued traps removed, %u caught by the trap net), "
		 "%u return addresses written back%s; leaktrap's scratch pages stay mapped "
		 "(they only jump back to the original code)%s; no report was written", how,
		 (int)g->pid, st->threads, g->n_patches - st->bytes_failed,
		 st->bytes_failed ? " (some could not be)" : "", st->moved + st->caught,
		 st->drained, st->caught, st->returns, st->lost_returns ? " (some were lost)" : "",
		 st->net_left ? ", with leaktrap's SIGTRAP handler still installed" : "");
	if (g->n_unpublished)
		lt_warn("%u breakpoints beyond the guardian's table were not restored",
			g->n_unpublished);
}

static void guardian_main(pid_t child, const sigset_t *mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;            /* no SA_RESTART: waitpid sees EINTR */
	sigemptyset(&sa.sa_mask);
	tracer = child;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, SIG_IGN);
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* the tracing child closes stdin/stdout/stderr only at exit */
	int status;
	pid_t r;
	while ((r = waitpid(child, &status, 0)) < 0 && errno == EINTR)
		;
	tracer = 0;
	if (r < 0)
		_exit(LT_EXIT_ERROR);
	int state = g->state;
	if (WIFEXITED(status) && state != GS_ARMED)
		_exit(WEXITSTATUS(status));
	char how[96];
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "(pid %d) was killed by signal %d (%s)", (int)child,
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "(pid %d) exited with status %d", (int)child,
			 WEXITSTATUS(status));
	if (state != GS_ARMED) {
		lt_error("the tracing process %s after detaching from pid %d, which runs on "
			 "unchanged; no report was written", how, (int)g->pid);
		_exit(LT_EXIT_ERROR);
	}
	struct rescue_stats st;
	rescue(&st);
	say_rescue(how, &st);
	_exit(LT_EXIT_ERROR);
}

int guard_start(void)
{
	const char *off = getenv("LEAKTRAP_NO_GUARDIAN");
	if (off && *off && strcmp(off, "0"))
		return 0;
	void *p = mmap(NULL, sizeof(*g), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	pid_t guardian = getpid();
	sigset_t stops, old;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	/* a stop request arriving around the fork is forwarded, not lost */
	sigprocmask(SIG_BLOCK, &stops, &old);
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		int e = -errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		munmap(p, sizeof(*g));
		return e;
	}
	g = p;
	guardian_pid = guardian;
	if (child > 0)
		guardian_main(child, &old);     /* does not return */
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* the tracer: a dead guardian is a request to detach */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != guardian)
		raise(SIGTERM);
	return 0;
}
