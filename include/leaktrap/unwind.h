/* SPDX-License-Identifier: MIT */
/*
 * unwind.h - stack capture and remote unwinding.  A capture is the
 * registers plus one copy of the top of the stack taken at the allocator's
 * entry stop (before the return address is hijacked); unwinding runs on the
 * copy with libunwind's remote API and custom accessors, after the thread
 * has been resumed.  Memory outside the copy (unwind tables) is read from
 * the target through a small page cache.
 */
#ifndef LEAKTRAP_UNWIND_H
#define LEAKTRAP_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "leaktrap/arch.h"
#include "leaktrap/mem.h"

enum { UNWIND_COPY = 16384, UNWIND_COPY_PEEK = 256, UNWIND_MAX_DEPTH = 256 };

struct capture {
	struct arch_regs regs;
	uint64_t sp;
	size_t len;                 /* valid bytes in stack[] */
	uint8_t stack[UNWIND_COPY];
};

struct unwinder;

/* An unwinder for the process behind mem (kept, not owned). */
struct unwinder *unwinder_create(struct mem *mem);
void unwinder_destroy(struct unwinder *uw);   /* accepts NULL */

/* Fill cap from a thread stopped at a function entry: regs given, stack
 * copied from sp.  Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int unwind_capture(struct mem *mem, const struct arch_regs *regs, struct capture *cap);

/* The return addresses of the callers of the function cap was taken at
 * the entry of, innermost first: pcs[0] is the address the function
 * returns to.  Returns the number of frames stored (<= max). */
/* Objects were loaded or unloaded: re-read the mappings now and drop
 * every cached unwind table. */
void unwinder_flush(struct unwinder *uw);
unsigned unwinder_unwind(struct unwinder *uw, const struct capture *cap,
			 uint64_t *pcs, unsigned max);

#endif
