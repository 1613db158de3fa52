/* SPDX-License-Identifier: MIT */
/*
 * allocsyms.c - allocator discovery with libdwfl over the module table
 * (modules.h: the target's own files, found in its root or through
 * map_files, with their separate debug information).
 * Every definition is probed: only the one actually called fires, and
 * wrappers calling the next definition are nested calls that the session
 * ignores (DESIGN.md 6.3).  Names and kinds are one table.
 */
#define _GNU_SOURCE
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/allocsyms.h"
#include "leaktrap/error.h"

/* What a name is for, which decides where it is probed. */
enum sym_class {
	SC_CORE,      /* the C allocator API: wherever it is defined */
	SC_EXT,       /* allocator extensions (jemalloc, tcmalloc): likewise */
	SC_CXX,       /* operator new/delete: only in an object that also
	               * defines malloc (the allocator's own, which does not
	               * go through malloc; libstdc++'s does) */
	SC_MMAP,      /* --mmap only */
	SC_GUARD,     /* exception start: only when SC_CXX probes exist */
	SC_DLSTATE,   /* the dynamic linker's rendezvous: wherever defined */
};

/* Earlier names win when several share an address. */
static const struct {
	const char *name;
	enum probe_kind kind;
	enum sym_class cls;
} known[] = {
	{ "malloc", PK_MALLOC, SC_CORE },
	{ "calloc", PK_CALLOC, SC_CORE },
	{ "realloc", PK_REALLOC, SC_CORE },
	{ "reallocarray", PK_REALLOCARRAY, SC_CORE },
	{ "free", PK_FREE, SC_CORE },
	{ "cfree", PK_FREE, SC_CORE },
	{ "posix_memalign", PK_POSIX_MEMALIGN, SC_CORE },
	{ "aligned_alloc", PK_MEMALIGN, SC_CORE },
	{ "memalign", PK_MEMALIGN, SC_CORE },
	{ "valloc", PK_VALLOC, SC_CORE },
	{ "pvalloc", PK_PVALLOC, SC_CORE },
	/* jemalloc's non-standard API (xallocx resizes in place only and
	 * sallocx/nallocx/malloc_usable_size allocate nothing: not events) */
	{ "mallocx", PK_MALLOC, SC_EXT },
	{ "rallocx", PK_RALLOCX, SC_EXT },
	{ "dallocx", PK_FREE, SC_EXT },
	{ "sdallocx", PK_FREE, SC_EXT },
	/* tcmalloc's own names (aliases of the standard ones there) */
	{ "tc_malloc", PK_MALLOC, SC_EXT },
	{ "tc_malloc_skip_new_handler", PK_MALLOC, SC_EXT },
	{ "tc_calloc", PK_CALLOC, SC_EXT },
	{ "tc_realloc", PK_REALLOC, SC_EXT },
	{ "tc_free", PK_FREE, SC_EXT },
	{ "tc_cfree", PK_FREE, SC_EXT },
	{ "tc_free_sized", PK_FREE, SC_EXT },
	{ "tc_memalign", PK_MEMALIGN, SC_EXT },
	{ "tc_posix_memalign", PK_POSIX_MEMALIGN, SC_EXT },
	{ "tc_valloc", PK_VALLOC, SC_EXT },
	{ "tc_pvalloc", PK_PVALLOC, SC_EXT },
	/* C++: every operator new takes the size first; every delete frees
	 * its first argument (sized, aligned, nothrow alike) */
	{ "_Znwm", PK_MALLOC, SC_CXX },
	{ "_Znam", PK_MALLOC, SC_CXX },
	{ "_ZnwmRKSt9nothrow_t", PK_MALLOC, SC_CXX },
	{ "_ZnamRKSt9nothrow_t", PK_MALLOC, SC_CXX },
	{ "_ZnwmSt11align_val_t", PK_MALLOC, SC_CXX },
	{ "_ZnamSt11align_val_t", PK_MALLOC, SC_CXX },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", PK_MALLOC, SC_CXX },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", PK_MALLOC, SC_CXX },
	{ "tc_new", PK_MALLOC, SC_CXX },
	{ "tc_newarray", PK_MALLOC, SC_CXX },
	{ "tc_new_nothrow", PK_MALLOC, SC_CXX },
	{ "tc_newarray_nothrow", PK_MALLOC, SC_CXX },
	{ "tc_new_aligned", PK_MALLOC, SC_CXX },
	{ "tc_newarray_aligned", PK_MALLOC, SC_CXX },
	{ "tc_new_aligned_nothrow", PK_MALLOC, SC_CXX },
	{ "tc_newarray_aligned_nothrow", PK_MALLOC, SC_CXX },
	{ "_ZdlPv", PK_FREE, SC_CXX },
	{ "_ZdaPv", PK_FREE, SC_CXX },
	{ "_ZdlPvm", PK_FREE, SC_CXX },
	{ "_ZdaPvm", PK_FREE, SC_CXX },
	{ "_ZdlPvSt11align_val_t", PK_FREE, SC_CXX },
	{ "_ZdaPvSt11align_val_t", PK_FREE, SC_CXX },
	{ "_ZdlPvmSt11align_val_t", PK_FREE, SC_CXX },
	{ "_ZdaPvmSt11align_val_t", PK_FREE, SC_CXX },
	{ "_ZdlPvRKSt9nothrow_t", PK_FREE, SC_CXX },
	{ "_ZdaPvRKSt9nothrow_t", PK_FREE, SC_CXX },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", PK_FREE, SC_CXX },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", PK_FREE, SC_CXX },
	{ "tc_delete", PK_FREE, SC_CXX },
	{ "tc_deletearray", PK_FREE, SC_CXX },
	{ "tc_delete_nothrow", PK_FREE, SC_CXX },
	{ "tc_deletearray_nothrow", PK_FREE, SC_CXX },
	{ "tc_delete_sized", PK_FREE, SC_CXX },
	{ "tc_deletearray_sized", PK_FREE, SC_CXX },
	{ "tc_delete_aligned", PK_FREE, SC_CXX },
	{ "tc_deletearray_aligned", PK_FREE, SC_CXX },
	{ "tc_delete_sized_aligned", PK_FREE, SC_CXX },
	{ "tc_deletearray_sized_aligned", PK_FREE, SC_CXX },
	{ "tc_delete_aligned_nothrow", PK_FREE, SC_CXX },
	{ "tc_deletearray_aligned_nothrow", PK_FREE, SC_CXX },
	/* --mmap */
	{ "mmap", PK_MMAP, SC_MMAP },
	{ "mmap64", PK_MMAP, SC_MMAP },
	{ "munmap", PK_MUNMAP, SC_MMAP },
	{ "mremap", PK_MREMAP, SC_MMAP },
	/* an exception unwinding through a hijacked operator new */
	{ "_Unwind_RaiseException", PK_UNWIND, SC_GUARD },
	{ "_Unwind_ForcedUnwind", PK_UNWIND, SC_GUARD },
	/* objects loaded and unloaded while traced (DESIGN.md 6.3) */
	{ "_dl_debug_state", PK_DLSTATE, SC_DLSTATE },
};
enum { N_KNOWN = sizeof(known) / sizeof(known[0]) };

/* The entry of name (with or without the --symbol-prefix; C++ names and
 * the guards are never prefixed), or -1. */
static int known_index(const char *name, const char *prefix)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	int prefixed = plen && !strncmp(name, prefix, plen);
	for (int i = 0; i < N_KNOWN; i++) {
		if (!strcmp(name, known[i].name))
			return i;
		if (prefixed && known[i].cls < SC_CXX &&
		    !strcmp(name + plen, known[i].name))
			return i;
	}
	return -1;
}

struct found {
	const struct allocsym_options *opt;
	struct allocsym *v;
	size_t n, cap;
	size_t n_cxx;           /* C++ operators among them */
	struct allocsym *guards;/* SC_GUARD definitions, added if n_cxx */
	size_t n_guards, cap_guards;
	int guards_pass;        /* since_gen: the guards of every object */
	int err;
};

static int push(struct allocsym **v, size_t *n, size_t *cap, uint64_t addr, int idx,
		const char *name, const char *module)
{
	for (size_t i = 0; i < *n; i++) {
		struct allocsym *s = &(*v)[i];
		if (s->addr != addr)
			continue;
		if (idx < s->rank) {            /* a better name */
			char *copy = strdup(name);
			if (!copy)
				return -ENOMEM;
			free(s->name);
			s->name = copy, s->kind = known[idx].kind, s->rank = idx;
		}
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct allocsym *nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv, *cap = ncap;
	}
	struct allocsym *s = &(*v)[(*n)++];
	s->addr = addr, s->kind = known[idx].kind, s->rank = idx;
	s->name = strdup(name);
	s->module = strdup(module ? module : "?");
	return s->name && s->module ? 0 : -ENOMEM;
}

/* Whether a symbol's address can be an allocator entry of m: inside the
 * object's executable segments as the loader mapped them.  A symbol table
 * is the file's word, and a damaged or hostile one can put an allocator
 * name on data, on an absolute address, or beyond the object; a probe
 * there would write into the target's data or fail the whole attach. */
static int in_text(const struct module *m, uint64_t addr)
{
	return m && addr >= m->img.text_start && addr < m->img.text_end &&
	       addr >= m->start && addr < m->end;
}

/* Whether path is the --allocator object: the same path, the same file
 * name, or a file name that starts with it and a '.' ("libjemalloc.so"
 * for libjemalloc.so.2). */
int allocsyms_object_matches(const char *path, const char *object)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(object);
	base = base ? base + 1 : path;
	return !strcmp(path, object) || !strcmp(base, object) ||
	       (!strchr(object, '/') && !strncmp(base, object, n) && base[n] == '.');
}

/* One symbol of the module: its index in known[] and address, or -1. */
static int sym_at(Dwfl_Module *mod, int i, const char *prefix, GElf_Addr *addr_ret,
		  const char **name_ret)
{
	GElf_Sym sym;
	GElf_Word shndx;
	const char *sname = dwfl_module_getsym_info(mod, i, &sym, addr_ret, &shndx,
						   NULL, NULL);
	if (!sname || GELF_ST_TYPE(sym.st_info) != STT_FUNC || shndx == SHN_UNDEF ||
	    *addr_ret == 0)
		return -1;
	*name_ret = sname;
	return known_index(sname, prefix);
}

static int each_module(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	struct found *f = arg;
	const struct allocsym_options *o = f->opt;
	const char *prefix = o ? o->prefix : NULL;
	const struct module *m = modules_of_dwfl(mod);
	const char *path = m ? m->path : name;
	int chosen = !o || !o->object || (path && allocsyms_object_matches(path, o->object));
	int old = o && o->since_gen && m && m->gen_added <= o->since_gen;
	if (old != f->guards_pass)
		return DWARF_CB_OK;
	int n = dwfl_module_getsymtab(mod), has_malloc = 0;
	GElf_Addr addr;
	const char *sname;
	for (int i = 1; i < n; i++)
		has_malloc |= sym_at(mod, i, prefix, &addr, &sname) == 0;
	for (int i = 1; i < n && !f->err; i++) {
		int idx = sym_at(mod, i, prefix, &addr, &sname);
		if (idx < 0 || (f->guards_pass && known[idx].cls != SC_GUARD))
			continue;
		if (!in_text(m, addr)) {
			lt_debug("ignoring %s at 0x%llx in %s: not in its executable "
				 "segments", sname, (unsigned long long)addr, path);
			continue;
		}
		switch (known[idx].cls) {
		case SC_GUARD:
			f->err = push(&f->guards, &f->n_guards, &f->cap_guards, addr, idx,
				      sname, path);
			continue;
		case SC_MMAP:
			if (!o || !o->mmap)
				continue;
			break;
		case SC_DLSTATE:
			break;
		case SC_CXX:
			if (!chosen || !has_malloc)
				continue;
			f->n_cxx++;
			break;
		default:
			if (!chosen)
				continue;
		}
		f->err = push(&f->v, &f->n, &f->cap, addr, idx, sname, path);
	}
	return f->err ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int by_addr(const void *a, const void *b)
{
	const struct allocsym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int allocsyms_find(struct modules *mods, const struct allocsym_options *opt,
		   struct allocsym **syms_ret, size_t *n_ret)
{
	struct found f = { .opt = opt };
	Dwfl *dwfl = modules_dwfl(mods);
	if (!dwfl)
		return -ENOMEM;
	dwfl_getmodules(dwfl, each_module, &f, 0);
	if (opt && opt->since_gen && f.n_cxx && !f.err) {
		f.guards_pass = 1;      /* new C++ operators: the guards may be old */
		dwfl_getmodules(dwfl, each_module, &f, 0);
	}
	dwfl_end(dwfl);
	for (size_t i = 0; f.n_cxx && !f.err && i < f.n_guards; i++)
		f.err = push(&f.v, &f.n, &f.cap, f.guards[i].addr, f.guards[i].rank,
			     f.guards[i].name, f.guards[i].module);
	allocsyms_free(f.guards, f.n_guards);
	size_t n_alloc = 0;
	for (size_t i = 0; i < f.n; i++)
		n_alloc += known[f.v[i].rank].cls <= SC_CXX;
	if (!f.err && !n_alloc) {       /* mmap or guards alone trace nothing */
		allocsyms_free(f.v, f.n);
		f.v = NULL, f.n = 0;
	}
	if (f.err) {
		allocsyms_free(f.v, f.n);
		return f.err;
	}
	if (f.n)
		qsort(f.v, f.n, sizeof(*f.v), by_addr);
	*syms_ret = f.v, *n_ret = f.n;
	return 0;
}

/* Whether the module's file has a symbol table at all (.symtab, from its
 * debug information, or .dynsym). */
static int has_symbols(struct modules *mods, const struct module *m)
{
	Dwfl *dwfl = modules_dwfl(mods);
	int n = dwfl ? dwfl_module_getsymtab(dwfl_addrmodule(dwfl, m->start)) : -1;
	dwfl_end(dwfl);
	return n > 1;
}

const char *allocsyms_explain(struct modules *mods, const struct allocsym_options *opt,
			      char *buf, size_t len)
{
	const struct module *m = modules_allocator_home(mods);
	if (opt && opt->object) {
		m = NULL;
		for (size_t i = 0; i < mods->n && !m; i++)
			if (allocsyms_object_matches(mods->v[i]->path, opt->object))
				m = mods->v[i];
		if (!m) {
			snprintf(buf, len, "no object named %s is mapped (--allocator)",
				 opt->object);
			return buf;
		}
	}
	if (!m) {
		snprintf(buf, len, "no ELF object is mapped");
		return buf;
	}
	if (modules_problem(m, buf, len))
		return buf;
	if (!has_symbols(mods, m))
		snprintf(buf, len, "%s has no symbol table (stripped, and no separate "
			 "debug information found)", m->path);
	else
		snprintf(buf, len, "%s defines none of the known allocator functions "
			 "(malloc, free, ...)", m->path);
	return buf;
}

void allocsyms_free(struct allocsym *syms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(syms[i].name);
		free(syms[i].module);
	}
	free(syms);
}
