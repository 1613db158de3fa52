/* SPDX-License-Identifier: MIT */
/*
 * trapnet.h - the trap net: a SIGTRAP handler leaktrap installs in the
 * target, in its scratch page, for one case only: leaktrap was killed
 * while a thread sat in one of our breakpoint stops, or a thread ran into
 * a breakpoint before the guardian could seize it.  The kernel then
 * delivers a SIGTRAP that used to kill the target; the handler parks the
 * thread instead (up to 5 s) and the guardian moves it back to the
 * original code (guardian.c).  While leaktrap is attached the handler
 * never runs for our traps (the tracer swallows them); a SIGTRAP of the
 * target's own sent by a process restores SIG_DFL in the handler and is
 * raised again, so it still ends the process as before (an int3 of the
 * target's own ends it after the 5 s wait).  Installed only when the target
 * has no SIGTRAP handler of its own (SIG_DFL); removed at detach.
 * Code and frame layout: arch/<cpu>/trapnet.c.
 */
#ifndef LEAKTRAP_TRAPNET_H
#define LEAKTRAP_TRAPNET_H

#include "leaktrap/target.h"

/* Reserve scratch space near the trampoline and write the handler into
 * the page image (after the probes are planned; th stopped).  Not having
 * a net is not an error. */
void trapnet_prepare(struct target *t, struct thread *th);

/* Install the handler (the pages are written, every thread is stopped).
 * LEAKTRAP_NO_TRAPNET=1 disables it (measurements). */
void trapnet_install(struct target *t, struct thread *th);

/* Put SIG_DFL back in the process whose memory is m, through its stopped
 * thread th, unless the process has installed a handler of its own since.
 * Returns 0 or a negative errno. */
int trapnet_remove(struct target *t, struct mem *m, struct thread *th);

#endif
