/* SPDX-License-Identifier: MIT */
/*
 * allocsyms.h - finding the allocator's entry points in a live process:
 * every STT_FUNC definition of a known allocator name in every loaded
 * object (.symtab when available, else .dynsym), keyed by address so that
 * aliases (malloc/__libc_malloc) give one probe.  Reads ELF files only;
 * never touches the target.
 */
#ifndef LEAKTRAP_ALLOCSYMS_H
#define LEAKTRAP_ALLOCSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaktrap/target.h"

struct allocsym {
	uint64_t addr;
	enum probe_kind kind;
	char *name;
	char *module;
};

/* The allocator entry points of pid, sorted by address, one per address.
 * Returns 0 (n may be 0) or a negative errno. */
__attribute__((warn_unused_result))
int allocsyms_find(pid_t pid, struct allocsym **syms_ret, size_t *n_ret);
void allocsyms_free(struct allocsym *syms, size_t n);

/* The kind for an allocator symbol name; -1 if the name is not one. */
int allocsyms_kind(const char *name);
const char *probe_kind_name(enum probe_kind kind);

#endif
