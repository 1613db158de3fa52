/* SPDX-License-Identifier: MIT */
/*
 * session.h - one tracing session: attach (or launch), arm the probes, run
 * the event loop that turns probe hits into ledger events, detach with
 * every byte restored.  The single ptrace thread of leaktrap.
 */
#ifndef LEAKTRAP_SESSION_H
#define LEAKTRAP_SESSION_H

#include <signal.h>

#include "leaktrap/allocsyms.h"
#include "leaktrap/error.h"
#include "leaktrap/ledger.h"
#include "leaktrap/regions.h"
#include "leaktrap/stacks.h"
#include "leaktrap/target.h"
#include "leaktrap/unwind.h"

enum { SESSION_MAX_CHILDREN = 64, SESSION_MAX_SUBTRACERS = 256 };

/* --follow-forks: a leaktrap process tracing a fork child, and the read
 * end of the pipe its report comes through. */
struct session_subtracer {
	pid_t pid;
	int fd;
};

/* A fork/vfork child reported by one side (parent event or child stop)
 * and waiting for the other. */
struct session_child {
	pid_t pid;
	int from_parent;        /* the parent's event was seen */
	int vfork;              /* shares our memory */
	int real_vfork;         /* and its parent waits until it execs/exits */
	int stopped;            /* the child's first stop was seen */
	int sigframe_in_scratch;/* inherited from the forking thread */
	unsigned n_shadow;
	struct shadow shadow[SHADOW_MAX];
};

struct session {
	struct target t;
	struct ledger *ledger;
	struct regions *regions;        /* --mmap: traced mappings, else NULL */
	struct stacks *stacks;
	struct unwinder *uw;
	unsigned depth;
	struct allocsym_options alloc;  /* what to probe (set before attach) */
	sigset_t orig_mask;             /* leaktrap's mask before blocking */

	double t_start, t_end;          /* CLOCK_MONOTONIC seconds */
	double maps_refreshed;          /* last re-read of /proc/PID/maps */
	const char *end_reason;
	int detaching;
	int stopping_children;          /* detach: vfork children stopped too */
	int execd;                      /* exec'd: old image gone, nothing armed */
	int follow_exec;                /* re-arm on the new image after execve */
	pid_t parent_pid;               /* a followed fork child: its parent */
	/* --follow-forks: called in a new leaktrap process (stdout is the
	 * report pipe) that now traces a fork child: run, detach, report,
	 * exit.  NULL: fork children are cleaned and let go. */
	void (*subtracer)(struct session *s, void *arg);
	void *subtracer_arg;
	struct session_subtracer subs[SESSION_MAX_SUBTRACERS];
	unsigned n_subs;
	char *subs_out;                 /* reports of subtracers that ended */
	size_t subs_out_len;
	int exec_pending;               /* an execve to follow (the loop does) */
	int exited;                     /* the leader's exit status was reaped: */
	int exit_status;                /* ... this wait status */

	uint64_t n_stops;               /* ptrace stops handled */
	uint64_t max_blocks;            /* end at this many live blocks; 0: never */
	/* Called from the loop every tick_every seconds while tracing (the
	 * target keeps running; its threads wait at their next stop). */
	void (*tick)(struct session *s, void *arg);
	void *tick_arg;
	double tick_every, tick_due;
	/* Called when the traced image is replaced by execve, before the
	 * ledger, stacks and modules are reset for the new image. */
	void (*image_end)(struct session *s, void *arg);
	void *image_end_arg;

	struct session_child children[SESSION_MAX_CHILDREN];
	unsigned n_children;

	struct capture cap;
	uint64_t pcs[UNWIND_MAX_DEPTH];

	/* --reachability (reach.h), NULL without: frees record their
	 * extent, the leader's exit ends the session while it can still be
	 * scanned, and detach scans before restoring anything. */
	struct reach_state *reach;
	/* per stack id: the module table's generation when it was first
	 * seen (symbolized against the objects mapped then) */
	unsigned *stack_gen;
	size_t cap_stack_gen;
};

/* Initialise s (depth = frames per stack).  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int session_init(struct session *s, unsigned depth);
void session_release(struct session *s);

/* Attach to a running process and arm the probes.  On failure a message
 * has been printed, the target is as it was, and an lt_exit code other
 * than LT_EXIT_OK is returned. */
enum lt_exit session_attach(struct session *s, pid_t pid);
/* Launch argv traced; probes armed before the program's entry point. */
enum lt_exit session_launch(struct session *s, char *const argv[]);
/* The target exec'd (its exec stop is taken, the thread stopped): report
 * the old image through image_end, then run the new image to its entry
 * point and arm it.  On failure end the session with reason "exec". */
void session_follow_exec(struct session *s);

/* Install the handlers for SIGINT/SIGTERM/SIGHUP (request a stop) and
 * SIGALRM (the loop's tick); SIGPIPE is ignored.  Call first thing. */
void session_install_signals(void);
/* SIGINT/SIGTERM/SIGHUP arrived: tracing should end. */
int session_stop_requested(void);
/* In a launched child before exec: the dispositions leaktrap inherited. */
void session_restore_inherited_signals(void);

/* Run until duration_s (<= 0: no limit) passes, SIGINT/SIGTERM/SIGHUP
 * arrives (also before the call), the target exits, exec's with
 * --no-follow-exec, or --max-blocks is reached (an exec is otherwise
 * followed: reported, then re-armed).  Sets s->end_reason. */
void session_run(struct session *s, double duration_s);

/* Detach from every thread, restoring everything (detach.c).
 * Returns 0 or a negative errno (a message has been printed). */
int session_detach(struct session *s);

/* With s->reach: classify the blocks while every thread is stopped
 * (reach-session.c; called by session_detach before it restores
 * anything).  A scan that cannot finish leaves a note and no result. */
void session_reach_scan(struct session *s);

/* -- shared between session.c and detach.c ------------------------------ */

/* Account for a stop that is not a probe hit and decide nothing: new
 * threads, fork/vfork children, exec, exit. */
void session_note_event(struct session *s, pid_t tid, int status);
/* A stop of a tid not in the thread table: a new thread whose parent's
 * clone event is still to come, or a fork/vfork child. */
void session_unknown_stop(struct session *s, pid_t tid, int status);
/* A thread stopped at the return trampoline with sp after the return:
 * apply the call's result and point regs at the real return address.
 * Returns 0 or -ENOENT if no shadow entry matches. */
int session_finish_return(struct session *s, struct thread *th, struct arch_regs *regs);
/* Forget th's shadow entries above the first keep (calls that will never
 * return through us); a realloc's old block goes back to the ledger. */
void session_abandon_calls(struct session *s, struct thread *th, unsigned keep);
/* The event loop's handling of one wait status (exported for detach,
 * which keeps vfork children running until they leave our memory). */
void session_handle_stop(struct session *s, pid_t tid, int status);
/* The loop's SIGALRM tick (usec, 0: off): waits return EINTR that often. */
void session_set_tick(long usec);
/* A traced task exited (its wait status was reaped): forget it; the
 * leader's exit ends the session. */
void session_reap(struct session *s, pid_t tid);
/* Remember the leader's exit status (call before session_reap). */
void session_note_exit(struct session *s, pid_t tid, int status);
/* Clean up and detach a fork child (the child is ptrace-stopped). */
void session_release_child(struct session *s, struct session_child *c);
/* --follow-forks (follow.c): hand a fork child (ptrace-stopped, still
 * armed) over to a new leaktrap process, or release it clean if that
 * fails. */
void session_follow_child(struct session *s, struct session_child *c);
/* --follow-forks: the same for a vfork child (posix_spawn, system) at its
 * exec stop: the new tracer arms its new image; detached on failure. */
void session_follow_spawned(struct session *s, pid_t pid);
/* If pid is a subtracer that exited: keep its report, forget it; 1. */
int session_subtracer_exited(struct session *s, pid_t pid);
/* Wait for every subtracer's report (asking them to stop first when
 * stop_them) and return their output concatenated in *buf_ret (malloc'd,
 * *len_ret bytes; NULL/0 if none). */
void session_collect_subtracers(struct session *s, int stop_them, char **buf_ret,
				size_t *len_ret);
/* --follow-forks: a subtracer ending with exit status rc records it (an
 * internal error, 1) where the first leaktrap sees it, however deeply the
 * forks nest and whoever reaps the subtracer. */
void session_subtracer_status(const struct session *s, int rc);
/* Subtracers that failed (exit 1, or killed by a signal) so far; *pid_ret:
 * the process the first of them traced. */
unsigned session_subtracer_failures(pid_t *pid_ret);
double session_now(void);
/* The module table's generation when stack id was first seen, 0 if
 * unknown (symbolize against the objects mapped now). */
unsigned session_stack_gen(const struct session *s, uint32_t id);

#endif
