/* SPDX-License-Identifier: MIT */
/*
 * compat.c - the fallbacks for kernels without PTRACE_SEIZE and friends
 * (compat.h, docs/kernels.md).  Most of it is the no-seize mode: which
 * SIGSTOP stops are ours, holding group-stopped threads until SIGCONT, and
 * taking a SIGSTOP of ours that is still pending before a detach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leaktrap/compat.h"
#include "leaktrap/error.h"
#include "leaktrap/procfs.h"

#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

unsigned compat_flags;

static const struct {
	const char *name;
	unsigned flags;
} names[] = {
	{ "no-seize", COMPAT_NO_SEIZE },
	{ "no-cma", COMPAT_NO_CMA },
	{ "no-procmem", COMPAT_NO_PROCMEM | COMPAT_NO_CMA },
	{ "no-sigmask", COMPAT_NO_SIGMASK },
	{ "no-openat2", COMPAT_NO_OPENAT2 },
	{ "all", COMPAT_ALL },
};
enum { N_NAMES = sizeof(names) / sizeof(names[0]) };

int compat_parse(const char *spec, unsigned *flags_ret, const char **bad_ret)
{
	unsigned flags = 0;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ",");
		unsigned i;
		for (i = 0; i < N_NAMES; i++)
			if (strlen(names[i].name) == len && !strncmp(p, names[i].name, len))
				break;
		if (len && i == N_NAMES) {
			*bad_ret = p;
			return -EINVAL;
		}
		if (len)
			flags |= names[i].flags;
		p += len + (p[len] == ',');
	}
	*flags_ret = flags;
	return 0;
}

const char *compat_describe(char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < N_NAMES; i++) {
		/* single flags only: "no-procmem" also stands for its no-cma */
		unsigned f = names[i].flags & ~(names[i].flags & COMPAT_NO_PROCMEM ?
						COMPAT_NO_CMA : 0);
		if (names[i].flags == COMPAT_ALL || !(compat_flags & f))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* strace's test: PTRACE_SEIZE of ourselves fails with EPERM where SEIZE
 * exists (3.4+), with ESRCH or EIO where it does not. */
static int seize_works(void)
{
	return ptrace(PTRACE_SEIZE, getpid(), NULL, NULL) < 0 && errno == EPERM;
}

int compat_init(void)
{
	const char *env = getenv("LEAKTRAP_COMPAT"), *bad;
	unsigned flags = 0;
	char buf[128];
	if (env && compat_parse(env, &flags, &bad) < 0) {
		lt_error("invalid LEAKTRAP_COMPAT: unknown fallback '%.*s' (known: no-seize, "
			 "no-cma, no-procmem, no-sigmask, no-openat2, all)",
			 (int)strcspn(bad, ","), bad);
		return -EINVAL;
	}
	compat_flags = flags;
	if (!compat_has(COMPAT_NO_SEIZE) && !seize_works())
		compat_flags |= COMPAT_NO_SEIZE;
	if (compat_flags)
		lt_debug("kernel fallbacks in use: %s", compat_describe(buf, sizeof(buf)));
	return 0;
}

/* ---- what no-seize mode knows about each thread ------------------------ */

struct ent {
	pid_t tid;
	pid_t tgid;             /* while held */
	unsigned char owed;     /* a SIGSTOP of ours is on its way */
	unsigned char held;     /* group-stopped, kept stopped until SIGCONT */
	unsigned char opts_pending;
	unsigned long opts;     /* set at the first stop after PTRACE_ATTACH */
	int held_status;
};

static struct ent *ents;        /* open addressing by tid; tid 0 = free */
static unsigned ents_cap, n_ents, n_held;

/* Stops reported by compat_waitpid() before any real one: threads taken
 * out of a hold by compat_interrupt(). */
static struct { pid_t tid; int status; } *queued;
static unsigned n_queued, cap_queued;

static unsigned slot_of(pid_t tid) { return ((unsigned)tid * 2654435761u) & (ents_cap - 1); }

static struct ent *ent_find(pid_t tid)
{
	if (!ents_cap)
		return NULL;
	for (unsigned i = slot_of(tid);; i = (i + 1) & (ents_cap - 1))
		if (ents[i].tid == tid)
			return &ents[i];
		else if (!ents[i].tid)
			return NULL;
}

static void ent_put(struct ent *tab, unsigned cap, const struct ent *e)
{
	unsigned i = ((unsigned)e->tid * 2654435761u) & (cap - 1);
	while (tab[i].tid)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

/* The entry of tid, created on first sight: a thread we have never seen
 * stop was just attached (PTRACE_ATTACH or auto-attached at clone/fork),
 * which queues a SIGSTOP for it. */
static struct ent *ent_get(pid_t tid)
{
	struct ent *e = ent_find(tid);
	if (e)
		return e;
	if ((n_ents + 1) * 2 > ents_cap) {
		unsigned ncap = ents_cap ? ents_cap * 2 : 64;
		struct ent *tab = calloc(ncap, sizeof(*tab));
		if (!tab)
			return NULL;
		for (unsigned i = 0; i < ents_cap; i++)
			if (ents[i].tid)
				ent_put(tab, ncap, &ents[i]);
		free(ents);
		ents = tab, ents_cap = ncap;
	}
	struct ent fresh = { .tid = tid, .owed = 1 };
	ent_put(ents, ents_cap, &fresh);
	n_ents++;
	return ent_find(tid);
}

static void ent_del(pid_t tid)
{
	struct ent *e = ent_find(tid);
	if (!e)
		return;
	n_held -= e->held;
	unsigned i = (unsigned)(e - ents);
	ents[i].tid = 0;
	n_ents--;
	for (i = (i + 1) & (ents_cap - 1); ents[i].tid; i = (i + 1) & (ents_cap - 1)) {
		struct ent moved = ents[i];
		ents[i].tid = 0;
		ent_put(ents, ents_cap, &moved);
	}
	for (unsigned q = 0; q < n_queued; q++)
		if (queued[q].tid == tid)
			queued[q--] = queued[--n_queued];
}

void compat_reset(void)
{
	free(ents);
	free(queued);
	ents = NULL, queued = NULL;
	ents_cap = n_ents = n_held = n_queued = cap_queued = 0;
}

/* ---- telling our SIGSTOPs from the target's ----------------------------- */

static int is_stop_sig(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Our tkill() (si_pid 0 when we are outside the target's pid namespace),
 * PTRACE_ATTACH's SIGSTOP (SI_KERNEL, or SI_USER from pid 0 on old
 * kernels) and the one of an auto-attached new task (SI_USER, pid 0).  A
 * SIGSTOP sent by anyone else carries their pid and is the target's. */
static int stop_is_ours(const struct ent *e, const siginfo_t *si)
{
	if (si->si_code == SI_TKILL && si->si_pid == getpid())
		return 1;
	if (!e->owed)
		return 0;
	return si->si_pid == 0 &&
	       (si->si_code == SI_TKILL || si->si_code == SI_KERNEL || si->si_code == SI_USER);
}

#define EVENT_STOP_STATUS(sig) ((PTRACE_EVENT_STOP << 16) | ((sig) << 8) | 0x7f)

/* Make a stop of a PTRACE_ATTACHed thread look like a SEIZEd one's. */
static void normalize(pid_t tid, int *status)
{
	if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
		ent_del(tid);
		return;
	}
	struct ent *e = ent_get(tid);
	if (!WIFSTOPPED(*status) || !e)
		return;
	if (e->held) {          /* woken without us (old kernels: SIGCONT
				 * wakes a group-stopped tracee): not held */
		e->held = 0;
		n_held--;
	}
	if (e->opts_pending) {
		(void)ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)e->opts);
		e->opts_pending = 0;
	}
	int sig = WSTOPSIG(*status);
	if ((*status >> 16) != 0 || !is_stop_sig(sig))
		return;
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0) {
		if (errno == EINVAL)    /* no siginfo: a group-stop */
			*status = EVENT_STOP_STATUS(sig);
		return;
	}
	if (sig == SIGSTOP && stop_is_ours(e, &si)) {
		e->owed = 0;
		*status = EVENT_STOP_STATUS(SIGTRAP);
	}
}

/* SIGCONT pending for the process of a held thread: the group-stop is
 * over; resume every held thread of that process (one of them will take
 * the SIGCONT and report it). */
static void poll_held(void)
{
	for (unsigned i = 0; n_held && i < ents_cap; i++) {
		if (!ents[i].tid || !ents[i].held)
			continue;
		unsigned long long pend = procfs_status_num(ents[i].tid, "ShdPnd", 16) |
					  procfs_status_num(ents[i].tid, "SigPnd", 16);
		if (!(pend & (1ULL << (SIGCONT - 1))))
			continue;
		pid_t tgid = ents[i].tgid;
		for (unsigned j = 0; j < ents_cap; j++)
			if (ents[j].tid && ents[j].held && ents[j].tgid == tgid) {
				ents[j].held = 0;
				n_held--;
				(void)ptrace(PTRACE_CONT, ents[j].tid, NULL, NULL);
			}
	}
}

pid_t compat_waitpid(pid_t pid, int *status, int options)
{
	if (!compat_has(COMPAT_NO_SEIZE))
		return waitpid(pid, status, options);
	for (unsigned q = 0; q < n_queued; q++)
		if (pid == -1 || queued[q].tid == pid) {
			pid_t tid = queued[q].tid;
			*status = queued[q].status;
			queued[q] = queued[--n_queued];
			return tid;
		}
	pid_t r = waitpid(pid, status, options);
	if (r > 0) {
		normalize(r, status);
	} else if (r < 0 && errno == EINTR && n_held) {
		poll_held();
		errno = EINTR;
	}
	return r;
}

/* ---- requests ----------------------------------------------------------- */

int compat_seize(pid_t tid, unsigned long options)
{
	if (!compat_has(COMPAT_NO_SEIZE)) {
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) == 0)
			return 0;
		if (errno != EIO)
			return -errno;
		compat_flags |= COMPAT_NO_SEIZE;    /* 3.1-3.3: SEIZE_DEVEL only */
		lt_debug("PTRACE_SEIZE refused (EIO): attaching with PTRACE_ATTACH");
	}
	if (ptrace(PTRACE_ATTACH, tid, NULL, NULL) < 0)
		return -errno;
	ent_del(tid);                   /* a reused tid starts afresh */
	struct ent *e = ent_get(tid);
	if (e)
		e->opts = options, e->opts_pending = 1;
	return 0;
}

int compat_seize_stop(pid_t tid, unsigned long options)
{
	int err = compat_seize(tid, options);
	if (err || compat_has(COMPAT_NO_SEIZE))
		return err;
	return ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 ? -errno : 0;
}

int compat_interrupt(pid_t tid)
{
	if (!compat_has(COMPAT_NO_SEIZE))
		return ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 ? -errno : 0;
	struct ent *e = ent_find(tid);
	if (e && e->held) {
		/* already in its ptrace-stop: report that stop again */
		if (n_queued == cap_queued) {
			unsigned ncap = cap_queued ? cap_queued * 2 : 16;
			void *q = realloc(queued, ncap * sizeof(*queued));
			if (!q)
				return -ENOMEM;
			queued = q, cap_queued = ncap;
		}
		e->held = 0;
		n_held--;
		queued[n_queued].tid = tid, queued[n_queued++].status = e->held_status;
		return 0;
	}
	if (syscall(SYS_tkill, tid, SIGSTOP) < 0)
		return -errno;
	if ((e = ent_get(tid)))
		e->owed = 1;
	return 0;
}

int compat_listen(pid_t tid, int status)
{
	if (!compat_has(COMPAT_NO_SEIZE))
		return ptrace(PTRACE_LISTEN, tid, NULL, NULL) < 0 ? -errno : 0;
	struct ent *e = ent_get(tid);
	if (!e)
		return -ENOMEM;
	if (!e->held)
		n_held++;
	e->held = 1, e->held_status = status;
	e->tgid = (pid_t)procfs_status_num(tid, "Tgid", 10);
	return 0;
}

static int sigstop_pending(pid_t tid)
{
	return !!(procfs_status_num(tid, "SigPnd", 16) & (1ULL << (SIGSTOP - 1)));
}

/* Let a pending SIGSTOP be reported (before the thread runs any code) and
 * swallow it if it is ours.  Signals met on the way are delivered; the
 * last one is returned for PTRACE_DETACH to deliver.  -ESRCH: gone. */
static int take_pending_stop(pid_t tid, int sig)
{
	for (int tries = 0; tries < 16 && sigstop_pending(tid); tries++) {
		int status;
		siginfo_t si;
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig) < 0)
			return sig;
		sig = 0;
		pid_t r;
		while ((r = waitpid(tid, &status, __WALL)) < 0 && errno == EINTR)
			;
		if (r < 0 || !WIFSTOPPED(status))
			return -ESRCH;
		if ((status >> 16) != 0)
			continue;
		int got = WSTOPSIG(status);
		if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0)
			return 0;           /* a group-stop: detaching keeps it */
		struct ent *e = ent_find(tid);
		if (got == SIGSTOP && e && stop_is_ours(e, &si))
			e->owed = 0;
		else if (!(got == SIGTRAP && si.si_code == SI_KERNEL))
			sig = got;          /* the target's; our int3's trap is not */
	}
	return sig;
}

/* In a group-stop (no siginfo), which resuming would end. */
static int in_group_stop(pid_t tid)
{
	siginfo_t si;
	return ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0 && errno == EINVAL;
}

int compat_detach(pid_t tid, int sig)
{
	if (compat_has(COMPAT_NO_SEIZE)) {
		struct ent *e = ent_find(tid);
		/* a group-stopped thread is left as it is: a SIGSTOP of ours
		 * still pending changes nothing, and SIGCONT discards it */
		if ((!e || !e->held) && !in_group_stop(tid))
			sig = take_pending_stop(tid, sig);
		ent_del(tid);
		if (sig < 0)
			return sig;
	}
	return ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig) < 0 ? -errno : 0;
}

int compat_get_sigmask(pid_t tid, unsigned long long *mask)
{
	if (compat_has(COMPAT_NO_SIGMASK))
		return -ENOSYS;
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(*mask), mask) == 0)
		return 0;
	if (errno != EIO && errno != EINVAL)
		return -errno;
	compat_flags |= COMPAT_NO_SIGMASK;      /* before 3.11 */
	return -ENOSYS;
}

int compat_set_sigmask(pid_t tid, unsigned long long mask)
{
	if (compat_has(COMPAT_NO_SIGMASK))
		return -ENOSYS;
	return ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0 ? -errno : 0;
}
