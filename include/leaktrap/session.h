/* SPDX-License-Identifier: MIT */
/*
 * session.h - one tracing session: attach (or launch), arm the probes, run
 * the event loop that turns probe hits into ledger events, detach with
 * every byte restored.  The single ptrace thread of leaktrap.
 */
#ifndef LEAKTRAP_SESSION_H
#define LEAKTRAP_SESSION_H

#include <signal.h>

#include "leaktrap/error.h"
#include "leaktrap/ledger.h"
#include "leaktrap/stacks.h"
#include "leaktrap/target.h"
#include "leaktrap/unwind.h"

enum { SESSION_MAX_CHILDREN = 64 };

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
	struct stacks *stacks;
	struct unwinder *uw;
	unsigned depth;
	sigset_t orig_mask;             /* leaktrap's mask before blocking */

	double t_start, t_end;          /* CLOCK_MONOTONIC seconds */
	double maps_refreshed;          /* last re-read of /proc/PID/maps */
	const char *end_reason;
	int detaching;
	int stopping_children;          /* detach: vfork children stopped too */
	int execd;                      /* exec'd: old image gone */

	uint64_t n_stops;               /* ptrace stops handled */
	uint64_t max_blocks;            /* end at this many live blocks; 0: never */
	/* Called from the loop every tick_every seconds while tracing (the
	 * target keeps running; its threads wait at their next stop). */
	void (*tick)(struct session *s, void *arg);
	void *tick_arg;
	double tick_every, tick_due;

	struct session_child children[SESSION_MAX_CHILDREN];
	unsigned n_children;

	struct capture cap;
	uint64_t pcs[UNWIND_MAX_DEPTH];
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

/* Install the handlers for SIGINT/SIGTERM/SIGHUP (request a stop) and
 * SIGALRM (the loop's tick); SIGPIPE is ignored.  Call first thing. */
void session_install_signals(void);
/* In a launched child before exec: the dispositions leaktrap inherited. */
void session_restore_inherited_signals(void);

/* Run until duration_s (<= 0: no limit) passes, SIGINT/SIGTERM/SIGHUP
 * arrives (also before the call), or the target exits or exec's.
 * Sets s->end_reason. */
void session_run(struct session *s, double duration_s);

/* Detach from every thread, restoring everything (detach.c).
 * Returns 0 or a negative errno (a message has been printed). */
int session_detach(struct session *s);

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
/* Clean up and detach a fork child (the child is ptrace-stopped). */
void session_release_child(struct session *s, struct session_child *c);
double session_now(void);

#endif
