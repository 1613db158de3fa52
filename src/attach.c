/* SPDX-License-Identifier: MIT */
/*
 * attach.c - starting a session: refuse targets that would be damaged,
 * seize every thread (attach) or launch a command and run it to its entry
 * point, find the allocator, map the scratch pages, write the slots and
 * breakpoints, and resume.  On any failure the target is left as it was.
 * The event loop is session.c.
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
#include "leaktrap/regions.h"
#include "leaktrap/procfs.h"
#include "leaktrap/scratch.h"
#include "leaktrap/session.h"
#include "leaktrap/tracee.h"

/* ---- attaching and arming ---------------------------------------------- */

static enum lt_exit explain_seize_error(pid_t pid, int err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (err == -ESRCH && access(path, F_OK) != 0) {
		lt_error("no such process: %d", (int)pid);
		return LT_EXIT_NO_PROCESS;
	}
	if (err == -ESRCH) {
		lt_error("pid %d exited while leaktrap was attaching", (int)pid);
		return LT_EXIT_TARGET_GONE;
	}
	if (err == -EPERM) {
		int scope = -1;
		FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
		if (f) {
			if (fscanf(f, "%d", &scope) != 1)
				scope = -1;
			fclose(f);
		}
		lt_error("cannot attach to pid %d: operation not permitted (another tracer "
			 "attached? otherwise run as the process's user with "
			 "kernel.yama.ptrace_scope=0 (now %d), or as root / with "
			 "CAP_SYS_PTRACE)", (int)pid, scope);
		return LT_EXIT_PERMISSION;
	}
	lt_error_errno(err, "cannot attach to pid %d", (int)pid);
	return LT_EXIT_ERROR;
}

static void read_comm(struct target *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)t->pid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(t->comm, sizeof(t->comm), f))
			t->comm[strcspn(t->comm, "\n")] = 0;
		fclose(f);
	}
}

static enum lt_exit find_allocator(struct session *s, struct allocsym **syms, size_t *n)
{
	int err = allocsyms_find(s->t.mods, &s->alloc, syms, n);
	if (err == -ESRCH) {
		lt_error("pid %d exited while leaktrap was attaching", (int)s->t.pid);
		return LT_EXIT_TARGET_GONE;
	}
	if (err) {
		lt_error_errno(err, "cannot read the symbols of pid %d", (int)s->t.pid);
		return LT_EXIT_ERROR;
	}
	if (*n == 0) {
		char why[1024];
		lt_error("no allocator functions found in pid %d: %s", (int)s->t.pid,
			 allocsyms_explain(s->t.mods, &s->alloc, why, sizeof(why)));
		return LT_EXIT_NO_ALLOCATOR;
	}
	return LT_EXIT_OK;
}

/* Every thread is stopped: find the allocator, map the scratch pages,
 * write the slots and breakpoints, resume.  On failure undo everything. */
static enum lt_exit arm(struct session *s)
{
	struct target *t = &s->t;
	struct allocsym *syms = NULL;
	size_t n = 0;
	struct thread *th = inject_pick_thread(t);
	enum lt_exit rc = LT_EXIT_ERROR;
	if (!th && target_stopped_thread(t) &&
	    tracee_is_group_stop(target_stopped_thread(t)->status)) {
		lt_error("pid %d is stopped (job control): continue it (kill -CONT) and "
			 "attach again", (int)t->pid);
		return LT_EXIT_UNSUPPORTED;
	}
	if (!th) {
		lt_error("pid %d: no thread is in a state leaktrap can work through "
			 "(all inside fork/clone/exit); try again", (int)t->pid);
		return LT_EXIT_TARGET_GONE;
	}
	if (maps_read(t->pid, &t->maps) < 0 || mem_open(&t->mem, t->pid) < 0) {
		lt_error("pid %d exited while leaktrap was attaching", (int)t->pid);
		return LT_EXIT_TARGET_GONE;
	}
	read_comm(t);
	if (modules_create(t->pid, &t->maps, &t->mem, &t->mods) < 0) {
		lt_error("cannot read the objects mapped in pid %d", (int)t->pid);
		return LT_EXIT_ERROR;
	}
	if ((rc = find_allocator(s, &syms, &n)) != LT_EXIT_OK)
		goto out_syms;
	rc = LT_EXIT_ERROR;
	if (!(s->uw = unwinder_create(&t->mem))) {
		lt_error("cannot create the unwinder");
		goto out_syms;
	}
	if (probes_prepare(t, th, syms, n) < 0)
		goto out_scratch;
	if (probes_arm(t, th->tid) < 0)
		goto out_scratch;
	allocsyms_free(syms, n);
	for (unsigned i = 0; i < t->n_probes; i++)
		lt_debug("probe %s at 0x%llx in %s: '%s', slot 0x%llx", t->probes[i].name,
			 (unsigned long long)t->probes[i].addr, t->probes[i].module,
			 t->probes[i].plan.insn_text, (unsigned long long)t->probes[i].slot_addr);
	return LT_EXIT_OK;
out_scratch:
	if (scratch_unmap_all(t, th) < 0)
		lt_warn("cannot unmap leaktrap's scratch page from pid %d", (int)t->pid);
out_syms:
	allocsyms_free(syms, n);
	return rc;
}

static void announce(struct session *s)
{
	lt_error("attached to pid %d (%u threads), tracing %u allocator functions",
		 (int)s->t.pid, s->t.n_threads, s->t.n_probes);
}

/* The ELF class of the process's executable (0 if unknown). */
static int exe_class(pid_t pid)
{
	char path[64];
	unsigned char ident[EI_NIDENT];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, ident, sizeof(ident));
	close(fd);
	return n == EI_NIDENT && !memcmp(ident, ELFMAG, SELFMAG) ? ident[EI_CLASS] : 0;
}

/* Targets that would be damaged by what leaktrap does to a process: refuse
 * them before anything is changed. */
static enum lt_exit check_target(pid_t pid)
{
	char buf[128], path[64];
	if (pid == getpid() || pid == guard_pid()) {
		lt_error("cannot trace leaktrap itself (pid %d)", (int)pid);
		return LT_EXIT_UNSUPPORTED;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (access(path, F_OK) < 0) {
		lt_error("no such process: %d", (int)pid);
		return LT_EXIT_NO_PROCESS;
	}
	procfs_status(pid, "State", buf, sizeof(buf));
	if ((buf[0] == 'Z' || buf[0] == 'X') && procfs_status_num(pid, "Threads", 10) > 1) {
		lt_error("pid %d: its main thread has exited (pthread_exit) and the other "
			 "threads run on; leaktrap cannot trace such a process yet", (int)pid);
		return LT_EXIT_UNSUPPORTED;
	}
	if (buf[0] == 'Z' || buf[0] == 'X') {
		lt_error("pid %d is a zombie: nothing left to trace", (int)pid);
		return LT_EXIT_NO_PROCESS;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (readlink(path, buf, sizeof(buf)) < 0 && errno == ENOENT) {
		lt_error("pid %d is a kernel thread: it has no heap to trace", (int)pid);
		return LT_EXIT_UNSUPPORTED;
	}
	if (exe_class(pid) == ELFCLASS32) {
		lt_error("pid %d is a 32-bit process: only 64-bit targets are supported", (int)pid);
		return LT_EXIT_UNSUPPORTED;
	}
	char foreign[PATH_MAX + 64];
	if (modules_foreign_code(pid, foreign, sizeof(foreign))) {
		lt_error("pid %d runs code of another architecture (%s; an emulator such "
			 "as qemu-user?): only native processes can be traced", (int)pid, foreign);
		return LT_EXIT_UNSUPPORTED;
	}
	procfs_status(pid, "x86_Thread_features", buf, sizeof(buf));
	if (strstr(buf, "shstk")) {
		lt_error("pid %d runs with x86 shadow stacks: leaktrap's return capture "
			 "would crash it", (int)pid);
		return LT_EXIT_UNSUPPORTED;
	}
	return LT_EXIT_OK;
}

/* A thread may have been seized at a fork/vfork/clone event stop: those
 * children are auto-attached and wait for the event to be handled. */
static void note_seize_events(struct session *s)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));) {
		int event = th->status >> 16;
		if (th->state == TS_STOPPED && (event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE))
			session_note_event(s, th->tid, th->status);
	}
}

static int all_group_stopped(const struct target *t)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it));)
		if (th->state == TS_STOPPED && !tracee_is_group_stop(th->status))
			return 0;
	return 1;
}

/* Every thread was seized in a job-control stop: keep the process stopped
 * (PTRACE_LISTEN) until SIGCONT, then stop every thread for arming before
 * any of them runs an instruction (*woke_ret 1).  Interrupted before that:
 * *woke_ret 0, the threads still listening, nothing to arm. */
static enum lt_exit wait_for_continue(struct session *s, int *woke_ret)
{
	struct target *t = &s->t;
	struct thread *woke = NULL;
	lt_error("pid %d is stopped (job control): attached, keeping it stopped; tracing "
		 "starts when it continues (SIGCONT)", (int)t->pid);
	tracee_resume_all(t);                       /* LISTEN */
	session_set_tick(50000);
	while (!woke && !session_stop_requested()) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		struct thread *th = target_thread(t, tid);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			target_del_thread(t, tid);
			if (tid == t->pid)
				break;
			continue;
		}
		if (!th) {
			(void)ptrace(PTRACE_DETACH, tid, NULL, NULL);
			continue;
		}
		th->state = TS_STOPPED, th->status = status;
		if ((status >> 16) == 0)
			th->stop_sig = WSTOPSIG(status);    /* SIGCONT, delivered later */
		if (tracee_is_group_stop(status))
			(void)tracee_resume(th);            /* still stopped */
		else
			woke = th;
	}
	session_set_tick(0);
	*woke_ret = woke != NULL;
	if (!woke && !target_thread(t, t->pid)) {
		tracee_detach_unchanged(t);
		lt_error("pid %d exited while leaktrap was attaching", (int)t->pid);
		return LT_EXIT_TARGET_GONE;
	}
	if (!woke) {
		lt_error("interrupted while pid %d was stopped: nothing was traced", (int)t->pid);
		return LT_EXIT_OK;
	}
	/* the others: their own group-stop-end trap, or our interrupt */
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it));) {
		if (th->state == TS_STOPPED)
			continue;
		(void)ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL);
		if (tracee_wait_stop(t, th) < 0) {
			target_del_thread(t, th->tid);
			it = 0;
		}
	}
	return LT_EXIT_OK;
}

enum lt_exit session_attach(struct session *s, pid_t pid)
{
	s->t.pid = pid;
	enum lt_exit check = check_target(pid);
	if (check != LT_EXIT_OK)
		return check;
	int err = tracee_seize_all(&s->t);
	if (err < 0)
		return explain_seize_error(pid, err);
	int woke = 1;
	/* without PTRACE_SEIZE there is no LISTEN to keep it stopped: arm()
	 * refuses it (exit 7), as before */
	if (!compat_has(COMPAT_NO_SEIZE) && all_group_stopped(&s->t) &&
	    (check = wait_for_continue(s, &woke)) != LT_EXIT_OK)
		return check;
	if (!woke) {                    /* SIGINT before SIGCONT: an empty report */
		s->t_start = session_now();
		return LT_EXIT_OK;
	}
	note_seize_events(s);     /* before arm() moves a thread off its event */
	enum lt_exit rc = arm(s);
	if (rc != LT_EXIT_OK) {
		tracee_detach_unchanged(&s->t);
		return rc;
	}
	s->t_start = session_now();
	announce(s);
	tracee_resume_all(&s->t);
	return LT_EXIT_OK;
}

/* ---- launching --------------------------------------------------------- */

static uint64_t read_entry(pid_t pid)
{
	char path[64];
	Elf64_auxv_t av;
	uint64_t entry = 0;
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (read(fd, &av, sizeof(av)) == sizeof(av) && av.a_type != AT_NULL)
		if (av.a_type == AT_ENTRY)
			entry = av.a_un.a_val;
	close(fd);
	return entry;
}

/* Wait for one stop of pid, forwarding its own signals.  Returns the
 * status of a ptrace event or SIGTRAP stop, or -ESRCH if it exited. */
static int wait_launch_stop(pid_t pid, int *status_ret)
{
	for (;;) {
		int status;
		if (compat_waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -ESRCH;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			*status_ret = status;
			return -ESRCH;
		}
		int sig = WSTOPSIG(status);
		if ((status >> 16) == 0 && sig != SIGTRAP) {
			(void)ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
			continue;
		}
		*status_ret = status;
		return 0;
	}
}

/* Run the new image to its entry point: the libraries are loaded. */
static int run_to_entry(struct session *s, pid_t pid)
{
	uint64_t entry = read_entry(pid);
	uint8_t orig[ARCH_BP_MAX_LEN];
	struct arch_regs regs;
	int status, err;
	if (!entry)
		return -ENOEXEC;
	if ((err = mem_open(&s->t.mem, pid)) ||
	    (err = mem_read(&s->t.mem, entry, orig, arch_bp_len)))
		return err;
	/* the guardian knows the temporary breakpoint before it exists: if
	 * leaktrap dies while the program runs to its entry (constructors,
	 * an exec'd image's loader), it puts the byte back */
	struct probe bp = { .addr = entry, .arming = 1 };
	struct target one = { .pid = pid, .probes = &bp, .n_probes = 1 };
	memcpy(bp.orig, orig, arch_bp_len);
	guard_publish_probes(&one);
	if ((err = mem_write_text(&s->t.mem, pid, entry, arch_bp_insn, arch_bp_len))) {
		guard_publish_clean();
		return err;
	}
	do {
		if (ptrace(PTRACE_CONT, pid, NULL, NULL) < 0 ||
		    (err = wait_launch_stop(pid, &status)) < 0)
			return err < 0 ? err : -errno;
		err = arch_get_regs(pid, &regs);
	} while (!err && arch_trap_pc_to_bp(arch_regs_pc(&regs)) != entry);
	if (!err)
		err = mem_write_text(&s->t.mem, pid, entry, orig, arch_bp_len);
	else if (mem_write_text(&s->t.mem, pid, entry, orig, arch_bp_len) < 0)
		lt_debug("pid %d: cannot take the entry breakpoint back", (int)pid);
	if (!err)
		guard_publish_clean();
	arch_regs_set_pc(&regs, entry);
	mem_close(&s->t.mem);
	return err ? err : arch_set_regs(pid, &regs);
}

static pid_t spawn_stopped(struct session *s, char *const argv[], int errfd[2])
{
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(errfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		pid = -errno;
		close(go[0]), close(go[1]), close(errfd[0]), close(errfd[1]);
		return pid;
	}
	if (pid == 0) {
		char c;
		close(go[1]);
		sigprocmask(SIG_SETMASK, &s->orig_mask, NULL);
		session_restore_inherited_signals();
		if (read(go[0], &c, 1) == 1)
			execvp(argv[0], argv);
		int e = errno;
		ssize_t w = write(errfd[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(go[0]), close(errfd[1]);
	int err = compat_seize(pid, tracee_options);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = err;
	}
	ssize_t w = write(go[1], "g", 1);
	(void)w;
	close(go[1]);
	return pid;
}

static enum lt_exit launch_failed(const char *cmd, int errfd)
{
	int e = 0;
	if (read(errfd, &e, sizeof(e)) == sizeof(e)) {
		lt_error_errno(e, "cannot execute '%s'", cmd);
		return LT_EXIT_USAGE;
	}
	lt_error("'%s' exited before leaktrap could attach", cmd);
	return LT_EXIT_TARGET_GONE;
}

enum lt_exit session_launch(struct session *s, char *const argv[])
{
	int errfd[2], status = 0, err;
	pid_t pid = spawn_stopped(s, argv, errfd);
	if (pid < 0) {
		lt_error_errno(-pid, "cannot launch '%s'", argv[0]);
		return LT_EXIT_ERROR;
	}
	s->t.pid = pid;
	do
		err = wait_launch_stop(pid, &status);
	while (!err && (status >> 16) != PTRACE_EVENT_EXEC &&
	       ptrace(PTRACE_CONT, pid, NULL, NULL) == 0);
	enum lt_exit rc = err ? launch_failed(argv[0], errfd[0]) : LT_EXIT_OK;
	close(errfd[0]);
	if (rc != LT_EXIT_OK)
		return rc;
	if ((err = run_to_entry(s, pid)) < 0) {
		lt_error_errno(err, "cannot run '%s' to its entry point", argv[0]);
		kill(pid, SIGKILL);     /* we started it; it may hold our int3 */
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		return LT_EXIT_TARGET_GONE;
	}
	struct thread *th = target_add_thread(&s->t, pid);
	if (!th)
		return LT_EXIT_ERROR;
	th->state = TS_STOPPED, th->status = (SIGTRAP << 8) | 0x7f;
	if ((rc = arm(s)) != LT_EXIT_OK) {
		kill(pid, SIGKILL);     /* we started it; nothing was left armed */
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		target_del_thread(&s->t, pid);
		return rc;
	}
	s->t_start = session_now();
	announce(s);
	tracee_resume_all(&s->t);
	return LT_EXIT_OK;
}

/* ---- following an exec ------------------------------------------------- */

/* Forget everything about the old image: its blocks have been reported. */
static int reset_image(struct session *s)
{
	struct target *t = &s->t;
	ledger_destroy(s->ledger);
	stacks_destroy(s->stacks);
	s->ledger = ledger_create();
	s->stacks = stacks_create();
	probes_release(t);
	scratch_forget(t);
	t->trampoline = 0, t->syscall_insn = 0;
	unwinder_destroy(s->uw);
	s->uw = NULL;
	modules_destroy(t->mods);
	t->mods = NULL;
	maps_release(&t->maps);
	memset(&t->maps, 0, sizeof(t->maps));
	mem_close(&t->mem);
	t->max_threads = t->n_threads;
	if (s->reach)           /* ranges freed in the old image: gone too */
		reach_freed_release(&s->reach->freed);
	if (s->regions) {       /* --mmap: so are its mappings */
		regions_destroy(s->regions);
		if (!(s->regions = regions_create()))
			return -ENOMEM;
	}
	return s->ledger && s->stacks ? 0 : -ENOMEM;
}

void session_follow_exec(struct session *s)
{
	pid_t pid = s->t.pid;
	s->exec_pending = 0;
	if (s->image_end)
		s->image_end(s, s->image_end_arg);      /* the old image's report */
	/* a fresh record: the tid may be the old leader's, which exited in
	 * the exec (a thread other than the leader called execve) */
	target_del_thread(&s->t, pid);
	struct thread *th = target_add_thread(&s->t, pid);
	if (!th || reset_image(s) < 0) {
		lt_error("pid %d called execve: cannot follow it (out of memory)", (int)pid);
		s->end_reason = "error";
		return;
	}
	int err = run_to_entry(s, pid);
	if (err == -ESRCH) {
		session_reap(s, pid);
		return;
	}
	if (err) {
		lt_error_errno(err, "pid %d called execve: cannot run the new program to its "
			       "entry point; detaching", (int)pid);
		s->end_reason = "exec";
		return;
	}
	th->state = TS_STOPPED, th->status = (SIGTRAP << 8) | 0x7f, th->stop_sig = 0;
	if (arm(s) != LT_EXIT_OK) {
		lt_error("pid %d called execve: cannot trace the new program; detaching",
			 (int)pid);
		s->end_reason = "exec";
		return;
	}
	s->execd = 0;
	s->t_start = session_now();
	lt_error("pid %d called execve: tracing the new program (%s), %u allocator functions",
		 (int)pid, s->t.comm, s->t.n_probes);
	tracee_resume_all(&s->t);
}
