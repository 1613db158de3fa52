/* SPDX-License-Identifier: MIT */
/*
 * regions.h - the anonymous private mappings the program made while traced
 * (--mmap): address ranges, each with the stack of the call that made it.
 * Pure: fed by events, no I/O.
 *
 * Semantics (docs/report-format.md, "mmap"):
 *   map     a new range; whatever traced range it overlaps (MAP_FIXED)
 *           is removed first, as the kernel does
 *   unmap   removes [start, end) from every traced range it touches: a
 *           range wholly inside goes, one partly inside is trimmed, one
 *           with a hole punched in its middle becomes two ranges (both
 *           keep the original stack and time)
 *   remap   mremap: the old range goes (as unmap, unless the caller keeps
 *           it), the new range appears with the mremap call's stack
 * Ranges are page-aligned by the caller.
 */
#ifndef LEAKTRAP_REGIONS_H
#define LEAKTRAP_REGIONS_H

#include <stddef.h>
#include <stdint.h>

struct region {
	uint64_t start, end;
	uint64_t time_ns;   /* CLOCK_MONOTONIC time of the call */
	uint32_t stack_id;
	uint32_t tid;
};

struct region_totals {
	uint64_t maps;          /* mappings recorded */
	uint64_t unmaps;        /* munmap calls that removed traced bytes */
	uint64_t remaps;        /* mremap calls of traced ranges */
	uint64_t live_regions;  /* ranges now (a split makes two) */
	uint64_t live_bytes;
};

struct regions;

struct regions *regions_create(void);
void regions_destroy(struct regions *r);        /* accepts NULL */

/* A new mapping (counted in maps, or with remap in remaps: the new range
 * of an mremap).  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int regions_map(struct regions *r, const struct region *reg, int remap);
/* Remove [start, end) from the traced ranges; *removed_ret (may be NULL)
 * gets the bytes removed.  count: an munmap call (counted in unmaps when
 * it removed anything), not the kernel replacing a range.
 * Returns 0 or -ENOMEM (splitting a range needs one more entry). */
__attribute__((warn_unused_result))
int regions_unmap(struct regions *r, uint64_t start, uint64_t end, int count,
		  uint64_t *removed_ret);
/* The traced range containing addr, or NULL. */
const struct region *regions_find(const struct regions *r, uint64_t addr);

void regions_totals(const struct regions *r, struct region_totals *t_ret);
/* The ranges, sorted by start; *n_ret gets their number. */
const struct region *regions_all(const struct regions *r, size_t *n_ret);

#endif
