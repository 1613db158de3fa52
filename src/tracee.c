/* SPDX-License-Identifier: MIT */
/*
 * tracee.c - the thread table and attaching: PTRACE_SEIZE every thread of
 * the process until the thread list is stable, stop them all, resume them.
 * (PTRACE_ATTACH where SEIZE is missing: the compat_* calls, compat.h.)
 * Breakpoints, injection and detaching with restoration live elsewhere.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leaktrap/compat.h"
#include "leaktrap/error.h"
#include "leaktrap/guardian.h"
#include "leaktrap/procfs.h"
#include "leaktrap/tracee.h"

const unsigned long tracee_options =
	PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;

/* ---- the thread table: open addressing keyed by tid ------------------- */

static unsigned slot_of(unsigned cap, pid_t tid) { return ((unsigned)tid * 2654435761u) & (cap - 1); }

struct thread *target_thread(const struct target *t, pid_t tid)
{
	if (!t->threads_cap)
		return NULL;
	for (unsigned i = slot_of(t->threads_cap, tid);; i = (i + 1) & (t->threads_cap - 1)) {
		struct thread *th = t->threads[i];
		if (!th || th->tid == tid)
			return th;
	}
}

static void table_put(struct thread **tab, unsigned cap, struct thread *th)
{
	unsigned i = slot_of(cap, th->tid);
	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = th;
}

static int table_grow(struct target *t)
{
	unsigned ncap = t->threads_cap ? t->threads_cap * 2 : 64;
	struct thread **tab = calloc(ncap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (unsigned i = 0; i < t->threads_cap; i++)
		if (t->threads[i])
			table_put(tab, ncap, t->threads[i]);
	free(t->threads);
	t->threads = tab, t->threads_cap = ncap;
	return 0;
}

struct thread *target_add_thread(struct target *t, pid_t tid)
{
	struct thread *th = target_thread(t, tid);
	if (th)
		return th;
	if ((t->n_threads + 1) * 2 > t->threads_cap && table_grow(t) < 0)
		return NULL;
	th = guard_thread_alloc();    /* shared with the guardian */
	if (!th)
		return NULL;
	th->tid = tid;
	th->state = TS_RUNNING;
	table_put(t->threads, t->threads_cap, th);
	if (++t->n_threads > t->max_threads)
		t->max_threads = t->n_threads;
	return th;
}

void target_del_thread(struct target *t, pid_t tid)
{
	unsigned cap = t->threads_cap, i;
	if (!cap)
		return;
	for (i = slot_of(cap, tid); t->threads[i]; i = (i + 1) & (cap - 1))
		if (t->threads[i]->tid == tid)
			break;
	if (!t->threads[i])
		return;
	guard_thread_free(t->threads[i]);
	t->threads[i] = NULL;
	t->n_threads--;
	/* re-insert the rest of the cluster (deletion without tombstones) */
	for (i = (i + 1) & (cap - 1); t->threads[i]; i = (i + 1) & (cap - 1)) {
		struct thread *th = t->threads[i];
		t->threads[i] = NULL;
		table_put(t->threads, cap, th);
	}
}

struct thread *target_next_thread(const struct target *t, unsigned *iter)
{
	while (*iter < t->threads_cap) {
		struct thread *th = t->threads[(*iter)++];
		if (th)
			return th;
	}
	return NULL;
}

struct thread *target_stopped_thread(const struct target *t)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it));)
		if (th->state == TS_STOPPED)
			return th;
	return NULL;
}

/* ---- stops ------------------------------------------------------------ */

int tracee_is_group_stop(int status)
{
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP)
		return 0;
	int sig = WSTOPSIG(status);
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Record a stop in th: signals other than our interrupt's are kept so
 * that they are delivered when the thread is resumed. */
static void note_stop(struct thread *th, int status)
{
	th->state = TS_STOPPED;
	th->status = status;
	/* no breakpoint exists yet: even a SIGTRAP is the target's own */
	if ((status >> 16) == 0)
		th->stop_sig = WSTOPSIG(status);
}

int tracee_wait_stop(struct target *t, struct thread *th)
{
	for (;;) {
		int status;
		pid_t r = compat_waitpid(th->tid, &status, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -ESRCH;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		note_stop(th, status);
		return 0;
	}
}

int tracee_resume(struct thread *th)
{
	int r;
	if (tracee_is_group_stop(th->status)) {
		r = compat_listen(th->tid, th->status);
		if (r == 0)
			th->state = TS_LISTENING;
	} else {
		r = ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)th->stop_sig) < 0 ? -errno : 0;
		if (r == 0)
			th->state = TS_RUNNING, th->stop_sig = 0;
	}
	return r;
}

void tracee_resume_all(struct target *t)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it));)
		if (th->state == TS_STOPPED)
			(void)tracee_resume(th);
}

/* ---- attaching -------------------------------------------------------- */

/* Seize one thread and stop it.  1 if it was attached, 0 if it vanished. */
static int seize_one(struct target *t, pid_t tid)
{
	int err = compat_seize_stop(tid, tracee_options);
	if (err == -ESRCH)
		return 0;
	/* EPERM: maybe a clone child auto-attached to us already */
	if (err && (err != -EPERM || (pid_t)procfs_status_num(tid, "TracerPid", 10) != getpid()))
		return err;
	struct thread *th = target_add_thread(t, tid);
	if (!th)
		return -ENOMEM;
	if (tracee_wait_stop(t, th) < 0) {
		target_del_thread(t, tid);
		return 0;
	}
	return 1;
}

static int thread_is_exiting(pid_t tid)
{
	char state[16];
	return procfs_status(tid, "State", state, sizeof(state)) < 0 ||
	       state[0] == 'Z' || state[0] == 'X';
}

/* One pass over /proc/PID/task; returns threads newly seized or -errno. */
static int scan_tasks(struct target *t)
{
	char path[64];
	int added = 0, err = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
	DIR *d = opendir(path);
	if (!d)
		return -ESRCH;
	for (struct dirent *de; !err && (de = readdir(d));) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || target_thread(t, tid))
			continue;
		int r = seize_one(t, tid);
		if (r == -EPERM && tid != t->pid && thread_is_exiting(tid))
			r = 0;              /* an exiting thread refuses: skip it */
		if (r < 0)
			err = r;
		added += r > 0;
	}
	closedir(d);
	return err ? err : added;
}

int tracee_seize_all(struct target *t)
{
	int r;
	while ((r = scan_tasks(t)) > 0)
		;
	if (r == 0 && !target_thread(t, t->pid))
		r = -ESRCH;
	if (r < 0)
		tracee_detach_unchanged(t);
	return r;
}

void tracee_detach_unchanged(struct target *t)
{
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it));) {
		if (th->state != TS_STOPPED && compat_interrupt(th->tid) == 0)
			(void)tracee_wait_stop(t, th);
		(void)compat_detach(th->tid, th->stop_sig);
	}
	it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it)); it = 0)
		target_del_thread(t, th->tid);
}
