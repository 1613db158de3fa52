/* SPDX-License-Identifier: MIT */
/*
 * allocsyms.h - finding the allocator's entry points in a live process:
 * every STT_FUNC definition of a known allocator name in every loaded
 * object (.symtab when available, from the object or its separate debug
 * information, else .dynsym), keyed by address so that aliases
 * (malloc/__libc_malloc) give one probe.  Reads the files of the module
 * table only; never touches the target.
 */
#ifndef LEAKTRAP_ALLOCSYMS_H
#define LEAKTRAP_ALLOCSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaktrap/modules.h"
#include "leaktrap/target.h"

struct allocsym {
	uint64_t addr;
	enum probe_kind kind;
	char *name;             /* as defined ("je_malloc") */
	char *module;
	int rank;               /* index in the table of known names */
};

/* What to look for (the command line's --allocator, --symbol-prefix,
 * --mmap); NULL: the C allocator API, its extensions and the allocator's
 * own C++ operators, in every object. */
struct allocsym_options {
	const char *object;     /* only definitions in this object */
	const char *prefix;     /* also PREFIXmalloc, PREFIXfree, ... */
	int mmap;               /* also mmap, munmap, mremap */
	unsigned since_gen;     /* only objects the module table added after
	                         * this generation (0: all) */
};

/* The allocator entry points of the objects in mods, sorted by address,
 * one per address.  Returns 0 (n may be 0) or a negative errno. */
__attribute__((warn_unused_result))
int allocsyms_find(struct modules *mods, const struct allocsym_options *opt,
		   struct allocsym **syms_ret, size_t *n_ret);
/* Whether the object at path is the one --allocator OBJECT names: the
 * same path, the same file name, or a file name OBJECT plus a '.'
 * suffix ("libjemalloc.so" names libjemalloc.so.2). */
int allocsyms_object_matches(const char *path, const char *object);
/* Why allocsyms_find() found nothing, naming the file that should define
 * the allocator (the --allocator object, libc, or the main executable):
 * a phrase in buf. */
const char *allocsyms_explain(struct modules *mods, const struct allocsym_options *opt,
			      char *buf, size_t len);
void allocsyms_free(struct allocsym *syms, size_t n);


#endif
