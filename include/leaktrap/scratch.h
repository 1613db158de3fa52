/* SPDX-License-Identifier: MIT */
/*
 * scratch.h - the executable pages leaktrap maps into the target: the
 * return trampoline and the out-of-line slots of the probes.  Pages are
 * mapped r-x by an injected mmap near the code they serve (so RIP-relative
 * operands and rel32 branches reach), filled with forced writes before any
 * breakpoint leads to them, and unmapped at detach once no thread can be in
 * them.
 */
#ifndef LEAKTRAP_SCRATCH_H
#define LEAKTRAP_SCRATCH_H

#include "leaktrap/target.h"

/* Reserve an ARCH_SLOT_SIZE slot within reach of addr, mapping a page
 * with th (stopped) if needed; the first page also receives the return
 * trampoline (t->trampoline).  Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int scratch_reserve(struct target *t, struct thread *th, uint64_t addr,
		    uint64_t *slot_ret);

/* Copy code into the local image of the page holding slot. */
void scratch_fill(struct target *t, uint64_t slot, const uint8_t *code, size_t len);

/* Write every page image into the target (all threads stopped). */
__attribute__((warn_unused_result))
int scratch_flush(struct target *t, pid_t stopped_tid);

/* The page containing addr, or NULL. */
const struct scratch_page *scratch_page_of(const struct target *t, uint64_t addr);

/* munmap every page in the target through th and forget them.
 * Returns 0 or the first negative errno (pages that failed stay). */
__attribute__((warn_unused_result))
int scratch_unmap_all(struct target *t, struct thread *th);

/* Forget the pages without touching the target (it exec'd or died). */
void scratch_forget(struct target *t);

#endif
