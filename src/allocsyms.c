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

/* Earlier names win when several share an address. */
static const struct {
	const char *name;
	enum probe_kind kind;
} known[] = {
	{ "malloc", PK_MALLOC },
	{ "calloc", PK_CALLOC },
	{ "realloc", PK_REALLOC },
	{ "reallocarray", PK_REALLOCARRAY },
	{ "free", PK_FREE },
	{ "cfree", PK_FREE },
	{ "posix_memalign", PK_POSIX_MEMALIGN },
	{ "aligned_alloc", PK_MEMALIGN },
	{ "memalign", PK_MEMALIGN },
	{ "valloc", PK_VALLOC },
	{ "pvalloc", PK_PVALLOC },
};
enum { N_KNOWN = sizeof(known) / sizeof(known[0]) };

static int known_index(const char *name)
{
	for (int i = 0; i < N_KNOWN; i++)
		if (!strcmp(name, known[i].name))
			return i;
	return -1;
}

struct found {
	struct allocsym *v;
	size_t n, cap;
	int err;
};

static int add_sym(struct found *f, uint64_t addr, int idx, const char *module)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].addr != addr)
			continue;
		if (idx < known_index(f->v[i].name)) {     /* a better name */
			free(f->v[i].name);
			f->v[i].name = strdup(known[idx].name);
			f->v[i].kind = known[idx].kind;
		}
		return f->v[i].name ? 0 : -ENOMEM;
	}
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;
		struct allocsym *v = realloc(f->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v, f->cap = ncap;
	}
	struct allocsym *s = &f->v[f->n++];
	s->addr = addr, s->kind = known[idx].kind;
	s->name = strdup(known[idx].name);
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

static int each_module(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	struct found *f = arg;
	const struct module *m = *userdata;
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n && !f->err; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *sname = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx,
							   NULL, NULL);
		if (!sname || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    shndx == SHN_UNDEF || addr == 0)
			continue;
		int idx = known_index(sname);
		if (idx >= 0 && in_text(m, addr))
			f->err = add_sym(f, addr, idx, name);
		else if (idx >= 0)
			lt_debug("ignoring %s at 0x%llx in %s: not in its executable "
				 "segments", sname, (unsigned long long)addr, name);
	}
	return f->err ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int by_addr(const void *a, const void *b)
{
	const struct allocsym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int allocsyms_find(struct modules *mods, struct allocsym **syms_ret, size_t *n_ret)
{
	struct found f = { 0 };
	Dwfl *dwfl = modules_dwfl(mods);
	if (!dwfl)
		return -ENOMEM;
	dwfl_getmodules(dwfl, each_module, &f, 0);
	dwfl_end(dwfl);
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

const char *allocsyms_explain(struct modules *mods, char *buf, size_t len)
{
	const struct module *m = modules_allocator_home(mods);
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
