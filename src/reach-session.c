/* SPDX-License-Identifier: MIT */
/*
 * reach-session.c - running the reachability scan (reach-scan.c) from the
 * detach path: every thread of the target is in a ptrace-stop and nothing
 * has been restored yet.  A thread that did not stop (or a vfork child
 * still running in the target's memory) makes the scan unsafe: it is not
 * run, and the report says why.  Times the stop it adds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "leaktrap/error.h"
#include "leaktrap/reach.h"
#include "leaktrap/session.h"

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void session_reach_scan(struct session *s)
{
	double c0 = cpu_now();
	struct reach_state *rs = s->reach;
	struct reach_report *rr = &rs->rep;
	double t0 = session_now();
	pid_t *tids = calloc(s->t.n_threads + 1, sizeof(pid_t));
	size_t n = 0;
	if (!tids) {
		snprintf(rr->note, sizeof(rr->note), "out of memory for the reachability scan");
		goto out;
	}
	if (s->execd) {
		snprintf(rr->note, sizeof(rr->note),
			 "the target called exec: the memory the blocks lived in is gone");
		goto out;
	}
	unsigned it = 0;
	for (struct thread *th; (th = target_next_thread(&s->t, &it));) {
		if (th->zombie)
			continue;       /* no registers; its memory is the others' */
		if (th->state != TS_STOPPED) {
			snprintf(rr->note, sizeof(rr->note),
				 "thread %d did not stop: memory could change under the scan",
				 (int)th->tid);
			goto out;
		}
		if (!th->passthrough)
			tids[n++] = th->tid;
	}
	if (!n) {
		snprintf(rr->note, sizeof(rr->note), "no thread of the target is left to scan");
		goto out;
	}
	if (reach_scan(s->t.pid, &s->t.mem, tids, n, s->ledger, &rs->freed, rs->heuristics,
		       rr) == 0)
		lt_debug("reachability: %.1f MiB in %.3f s", (double)rr->scanned_bytes / (1 << 20),
			 session_now() - t0);
out:
	rr->stop_s = session_now() - t0;
	rr->cpu_s = cpu_now() - c0;
	if (!rr->done)
		lt_warn("%s; the report lists the blocks not freed without reachability",
			rr->note);
	free(tids);
}
