/* SPDX-License-Identifier: MIT */
/*
 * follow.c - --follow-forks: a fork child inherits our breakpoints and
 * hijacked returns; instead of cleaning it, hand it to a new leaktrap
 * process (a fork of this one, so it knows every probe, slot and shadow
 * entry) that traces it as its own session and writes its report into a
 * pipe.  Ptrace cannot pass a tracee on, so the child is parked on a
 * branch-to-itself written over its next instruction (its private copy of
 * the page), detached, seized by the new tracer, and put back.  If the
 * new tracer fails, the child is taken back and released clean.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leaktrap/compat.h"
#include "leaktrap/guardian.h"
#include "leaktrap/modules.h"
#include "leaktrap/reach.h"
#include "leaktrap/regions.h"
#include "leaktrap/session.h"
#include "leaktrap/tracee.h"

enum { ACK_TIMEOUT_S = 60 };

/* Subtracers that failed, in memory shared by every leaktrap process of
 * the run (mapped before the first fork): the session loop reaps a
 * subtracer that ends early without handing its status on. */
struct sub_failures {
	unsigned n;
	pid_t first;                    /* the process the first one traced */
};
static struct sub_failures *failures;

static void note_failure(pid_t traced)
{
	if (failures && __atomic_fetch_add(&failures->n, 1, __ATOMIC_SEQ_CST) == 0)
		__atomic_store_n(&failures->first, traced, __ATOMIC_SEQ_CST);
}

void session_subtracer_status(const struct session *s, int rc)
{
	if (rc == LT_EXIT_ERROR)
		note_failure(s->t.pid);
}

unsigned session_subtracer_failures(pid_t *pid_ret)
{
	unsigned n = failures ? __atomic_load_n(&failures->n, __ATOMIC_SEQ_CST) : 0;
	*pid_ret = n ? __atomic_load_n(&failures->first, __ATOMIC_SEQ_CST) : 0;
	return n;
}

struct parked {
	pid_t pid;
	struct arch_regs regs;          /* at its first stop */
	uint8_t orig[8];                /* the bytes the spin replaced */
};

static int park(struct parked *pk)
{
	struct mem m;
	int err;
	if ((err = arch_get_regs(pk->pid, &pk->regs)) || (err = mem_open(&m, pk->pid)))
		return err;
	uint64_t pc = arch_regs_pc(&pk->regs);
	err = mem_read(&m, pc, pk->orig, arch_spin_len);
	if (!err)
		err = mem_write_text(&m, pk->pid, pc, arch_spin_insn, arch_spin_len);
	mem_close(&m);
	return err;
}

/* pid is ptrace-stopped by us: put back its code and registers, unless
 * that was done already (a subtracer that died after it). */
static int unpark(struct mem *m, const struct parked *pk)
{
	uint8_t now[8];
	uint64_t pc = arch_regs_pc(&pk->regs);
	int err = mem_read(m, pc, now, arch_spin_len);
	if (err || memcmp(now, arch_spin_insn, arch_spin_len))
		return err;
	err = mem_write_text(m, pk->pid, pc, pk->orig, arch_spin_len);
	return err ? err : arch_set_regs(pk->pid, &pk->regs);
}

/* Seize a parked child and stop it; returns its stop status or -errno. */
static int seize_parked(pid_t pid, int *sig_ret)
{
	int status;
	*sig_ret = 0;
	int err = compat_seize_stop(pid, tracee_options);
	if (err)
		return err;
	for (;;) {
		if (compat_waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!WIFSTOPPED(status))
			return -ESRCH;
		if ((status >> 16) == 0) {      /* a signal for it: deliver it later */
			*sig_ret = WSTOPSIG(status);
			continue;
		}
		return status;
	}
}

/* In the new leaktrap process: this session now traces pid, a fork child
 * (c, a copy of the parent) or, with c NULL, a vfork child that has just
 * exec'd (a new image, armed from its entry point like after an exec). */
static int become_child(struct session *s, pid_t pid, const struct session_child *c,
			const struct parked *pk)
{
	struct target *t = &s->t;
	int sig = 0, status = 0, err;
	/* forget the parent: its threads, children, subtracers, blocks */
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(t, &it)); it = 0)
		target_del_thread(t, th->tid);
	s->n_children = 0;
	for (unsigned i = 0; i < s->n_subs; i++)
		close(s->subs[i].fd);
	s->n_subs = 0;
	free(s->subs_out);
	s->subs_out = NULL, s->subs_out_len = 0;
	ledger_destroy(s->ledger);
	if (!(s->ledger = ledger_create()))
		return -ENOMEM;
	if (s->reach)           /* the parent's freed ranges: not the child's */
		reach_freed_release(&s->reach->freed);
	if (s->regions) {       /* --mmap: the parent's mappings, as for blocks */
		regions_destroy(s->regions);
		if (!(s->regions = regions_create()))
			return -ENOMEM;
	}
	s->parent_pid = t->pid;
	t->pid = pid;
	s->end_reason = NULL, s->detaching = 0, s->exited = 0, s->execd = 0;
	s->exec_pending = 0, s->n_stops = 0, s->t_start = session_now(), s->t_end = 0;
	mem_close(&t->mem);
	/* no-procmem: memory is read through PEEKDATA, which needs the child
	 * traced first */
	int seized = compat_has(COMPAT_NO_PROCMEM);
	if (seized && (status = seize_parked(pid, &sig)) < 0)
		return status;
	if ((err = mem_open(&t->mem, pid)))
		return err;
	if (!c) {
		struct thread *th = target_add_thread(t, pid);
		if (!th)
			return -ENOMEM;
		if (!seized && (status = seize_parked(pid, &sig)) < 0)
			return status;
		if ((err = unpark(&t->mem, pk)))
			return err;
		th->state = TS_STOPPED, th->status = status, th->stop_sig = sig;
		s->image_end = NULL;            /* nothing recorded before */
		session_follow_exec(s);         /* arms, or ends the session */
		return 0;
	}
	struct maps maps;
	if ((err = maps_read(t->pid, &maps)))
		return err;
	maps_release(&t->maps);
	t->maps = maps;
	modules_destroy(t->mods);
	t->mods = NULL;
	if ((err = modules_create(t->pid, &t->maps, &t->mem, &t->mods)))
		return err;
	struct thread *th = target_add_thread(t, pid);
	if (!th)
		return -ENOMEM;
	/* only now take the child: from here on nothing fails before the
	 * ack but the resume */
	if (!seized && (status = seize_parked(pid, &sig)) < 0)
		return status;
	if ((err = unpark(&t->mem, pk)))
		return err;
	t->max_threads = 1;
	th->state = TS_STOPPED, th->status = status, th->stop_sig = sig;
	th->sigframe_in_scratch = c->sigframe_in_scratch;
	th->n_shadow = c->n_shadow;
	memcpy(th->shadow, c->shadow, c->n_shadow * sizeof(c->shadow[0]));
	for (unsigned i = 0; i < th->n_shadow; i++)     /* the parent's blocks */
		th->shadow[i].took_old = th->shadow[i].old_known = 0;
	return tracee_resume(th);
}

/* Let pid go as it would have without --follow-forks (it is stopped). */
static void release(struct session *s, pid_t pid, struct session_child *c)
{
	if (c)
		session_release_child(s, c);
	else
		(void)compat_detach(pid, 0);
}

/* The parent's side when the new tracer did not take the child: get it
 * back and release it clean. */
static void take_back(struct session *s, struct session_child *c, const struct parked *pk)
{
	struct mem m;
	int sig;
	if (seize_parked(pk->pid, &sig) < 0 || mem_open(&m, pk->pid) < 0) {
		lt_warn("child %d of pid %d is lost: kill it", (int)pk->pid, (int)s->t.pid);
		return;
	}
	if (unpark(&m, pk) < 0)
		lt_warn("cannot restore child %d of pid %d", (int)pk->pid, (int)s->t.pid);
	mem_close(&m);
	release(s, pk->pid, c);
	if (sig)
		(void)kill(pk->pid, sig);
}

/* Hand pid (ptrace-stopped by us) to a new leaktrap process. */
static void hand_off(struct session *s, pid_t pid, struct session_child *c)
{
	struct parked pk = { .pid = pid };
	int go[2] = { -1, -1 }, ack[2] = { -1, -1 }, rep[2] = { -1, -1 };
	if (s->n_subs == SESSION_MAX_SUBTRACERS || park(&pk) < 0) {
		release(s, pid, c);
		return;
	}
	if (!failures) {
		void *m = mmap(NULL, sizeof(*failures), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			lt_warn("cannot share memory with the tracers of fork children: "
				"their failures will not change the exit status");
		else
			failures = m;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0)
		goto fail;
	fflush(stdout);
	fflush(stderr);
	pid_t sub = fork();
	if (sub == 0) {
		char b;
		guard_disown();
		close(go[1]), close(ack[0]), close(rep[0]);
		if (read(go[0], &b, 1) != 1 || become_child(s, pid, c, &pk) < 0)
			_exit(LT_EXIT_ERROR);
		if (write(ack[1], "a", 1) != 1 || dup2(rep[1], STDOUT_FILENO) < 0)
			_exit(LT_EXIT_ERROR);
		close(rep[1]), close(ack[1]), close(go[0]);
		lt_error("following %s child %d of pid %d", c ? "fork" : "spawned",
			 (int)s->t.pid, (int)s->parent_pid);
		s->subtracer(s, s->subtracer_arg);
		_exit(LT_EXIT_ERROR);
	}
	if (sub < 0)
		goto fail;
	close(go[0]), close(ack[1]), close(rep[1]);
	go[0] = ack[1] = rep[1] = -1;
	(void)compat_detach(pid, 0);       /* it spins */
	char b = 0;
	int ok = write(go[1], "g", 1) == 1;
	double deadline = session_now() + ACK_TIMEOUT_S;
	while (ok) {                    /* the loop's tick interrupts poll */
		struct pollfd pfd = { .fd = ack[0], .events = POLLIN };
		int r = poll(&pfd, 1, 1000);
		if (r < 0 && errno != EINTR)
			ok = 0;
		else if (r > 0)
			break;
		else if (session_now() > deadline)
			ok = 0;
	}
	ok = ok && read(ack[0], &b, 1) == 1;   /* 0: the subtracer died */
	close(go[1]), close(ack[0]);
	if (!ok) {
		kill(sub, SIGKILL);
		close(rep[0]);
		take_back(s, c, &pk);
		return;
	}
	s->subs[s->n_subs++] = (struct session_subtracer){ .pid = sub, .fd = rep[0] };
	return;
fail:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0) close(go[i]);
		if (ack[i] >= 0) close(ack[i]);
		if (rep[i] >= 0) close(rep[i]);
	}
	{
		struct mem m;
		if (mem_open(&m, pid) == 0) {
			if (unpark(&m, &pk) < 0)
				lt_warn("cannot restore child %d", (int)pid);
			mem_close(&m);
		}
	}
	release(s, pid, c);
}

void session_follow_child(struct session *s, struct session_child *c)
{
	hand_off(s, c->pid, c);
}

void session_follow_spawned(struct session *s, pid_t pid)
{
	hand_off(s, pid, NULL);
}

/* Append what fd still has (its writer is gone) to s->subs_out. */
static void drain(struct session *s, int fd)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		char *v = realloc(s->subs_out, s->subs_out_len + (size_t)n);
		if (!v)
			return;
		memcpy(v + s->subs_out_len, chunk, (size_t)n);
		s->subs_out = v, s->subs_out_len += (size_t)n;
	}
}

int session_subtracer_exited(struct session *s, pid_t pid)
{
	for (unsigned i = 0; i < s->n_subs; i++)
		if (s->subs[i].pid == pid) {
			drain(s, s->subs[i].fd);
			close(s->subs[i].fd);
			memmove(&s->subs[i], &s->subs[i + 1], (s->n_subs - i - 1) * sizeof(s->subs[0]));
			s->n_subs--;
			return 1;
		}
	return 0;
}

void session_collect_subtracers(struct session *s, int stop_them, char **buf_ret,
				size_t *len_ret)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	unsigned open = s->n_subs;
	int stopped = 0;
	*buf_ret = NULL, *len_ret = 0;
	if (!s->n_subs) {
		*buf_ret = s->subs_out, *len_ret = s->subs_out_len;
		s->subs_out = NULL, s->subs_out_len = 0;
		return;
	}
	buf = s->subs_out, len = cap = s->subs_out_len;
	s->subs_out = NULL, s->subs_out_len = 0;
	/* one buffer per subtracer keeps each report whole */
	char **bufs = calloc(s->n_subs, sizeof(*bufs));
	size_t *lens = calloc(s->n_subs, sizeof(*lens)), *caps = calloc(s->n_subs, sizeof(*caps));
	if (!bufs || !lens || !caps)
		goto out;
	session_set_tick(50000);
	while (open) {
		if (!stopped && (stop_them || session_stop_requested())) {
			for (unsigned i = 0; i < s->n_subs; i++)
				(void)kill(s->subs[i].pid, SIGINT);
			stopped = 1;
		}
		struct pollfd pfd[SESSION_MAX_SUBTRACERS];
		for (unsigned i = 0; i < s->n_subs; i++)
			pfd[i] = (struct pollfd){ .fd = s->subs[i].fd, .events = POLLIN };
		if (poll(pfd, s->n_subs, -1) < 0)
			continue;               /* EINTR: look at the signals */
		for (unsigned i = 0; i < s->n_subs; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (caps[i] - lens[i] < 65536) {
				char *v = realloc(bufs[i], caps[i] + 65536);
				if (!v)
					goto out;
				bufs[i] = v, caps[i] += 65536;
			}
			ssize_t n = read(s->subs[i].fd, bufs[i] + lens[i], caps[i] - lens[i]);
			if (n > 0) {
				lens[i] += (size_t)n;
			} else if (n == 0 || errno != EINTR) {
				close(s->subs[i].fd);
				s->subs[i].fd = -1;
				open--;
			}
		}
	}
	for (unsigned i = 0; i < s->n_subs; i++) {
		if (len + lens[i] > cap) {
			char *v = realloc(buf, len + lens[i] + 1);
			if (!v)
				break;
			buf = v, cap = len + lens[i] + 1;
		}
		if (lens[i])
			memcpy(buf + len, bufs[i], lens[i]);
		len += lens[i];
	}
	*buf_ret = buf, *len_ret = len;
	buf = NULL;
out:
	session_set_tick(0);
	for (unsigned i = 0; i < s->n_subs; i++) {
		if (bufs)
			free(bufs[i]);
		if (s->subs[i].fd >= 0)
			close(s->subs[i].fd);   /* a writer left blocked gets EPIPE */
	}
	for (unsigned i = 0; i < s->n_subs; i++) {
		int status = 0;
		pid_t r;
		while ((r = waitpid(s->subs[i].pid, &status, 0)) < 0 && errno == EINTR)
			;
		if (r > 0 && WIFSIGNALED(status)) {    /* exit 1 noted itself */
			lt_warn("the tracer of a fork child (leaktrap pid %d) was killed by signal %d",
				(int)s->subs[i].pid, WTERMSIG(status));
			note_failure(0);
		}
	}
	s->n_subs = 0;
	free(bufs), free(lens), free(caps), free(buf);
}
