/* SPDX-License-Identifier: MIT */
/*
 * symbolize.c - libdwfl symbolization over the module table (modules.h):
 * the target's own files, opened while it was alive, with their separate
 * debug information.  Frames are looked up at pc - 1 when pc is a return
 * address, as eu-stack does.  Every frame in a known object gets its
 * module and module offset even when nothing else is known.  Look-ups are
 * cached per (build-id, address in the object): the same code mapped
 * twice, or met again in another stack, is resolved once.
 */
#define _GNU_SOURCE
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/symbolize.h"

/* One resolved address of one object. */
struct sym_entry {
	const struct module *mod;   /* NULL: free slot */
	uint64_t rel;               /* looked-up address - the object's bias */
	char *function;             /* NULL when unknown */
	uint64_t function_offset;   /* looked-up address - function start */
	char *file;
	int line;
};

/* A Dwfl of its own for an object retired from the module table. */
struct retired_dwfl {
	const struct module *mod;
	Dwfl *dwfl;
};

struct symbolizer {
	struct modules *mods;
	Dwfl *dwfl;
	struct retired_dwfl *retired;
	size_t n_retired;
	struct sym_entry *cache;    /* open addressing, linear probing */
	size_t cap, used;
};

struct symbolizer *symbolizer_create(struct modules *mods)
{
	struct symbolizer *sym = calloc(1, sizeof(*sym));
	if (!sym || !(sym->dwfl = modules_dwfl(mods))) {
		free(sym);
		return NULL;
	}
	sym->mods = mods;
	return sym;
}

void symbolizer_destroy(struct symbolizer *sym)
{
	if (!sym)
		return;
	for (size_t i = 0; i < sym->cap; i++) {
		free(sym->cache[i].function);
		free(sym->cache[i].file);
	}
	free(sym->cache);
	for (size_t i = 0; i < sym->n_retired; i++)
		dwfl_end(sym->retired[i].dwfl);
	free(sym->retired);
	dwfl_end(sym->dwfl);
	free(sym);
}

/* ---- the cache --------------------------------------------------------- */

static int same_object(const struct module *a, const struct module *b)
{
	if (a == b)
		return 1;
	return a->build_id_len && a->build_id_len == b->build_id_len &&
	       !memcmp(a->build_id, b->build_id, a->build_id_len);
}

static size_t slot_of(const struct symbolizer *sym, const struct module *m, uint64_t rel)
{
	uint64_t h = 1469598103934665603ULL;        /* FNV-1a of the identity */
	if (!m->build_id_len)
		h ^= (uint64_t)(uintptr_t)m, h *= 1099511628211ULL;
	for (size_t i = 0; i < m->build_id_len; i++)
		h = (h ^ m->build_id[i]) * 1099511628211ULL;
	h ^= rel * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h ^ (h >> 29)) & (sym->cap - 1);
}

static struct sym_entry *cache_find(const struct symbolizer *sym,
				    const struct module *m, uint64_t rel)
{
	if (!sym->cap)
		return NULL;
	for (size_t i = slot_of(sym, m, rel);; i = (i + 1) & (sym->cap - 1)) {
		struct sym_entry *e = &sym->cache[i];
		if (!e->mod || (e->rel == rel && same_object(e->mod, m)))
			return e;
	}
}

static int cache_grow(struct symbolizer *sym)
{
	struct symbolizer old = *sym;
	sym->cap = old.cap ? old.cap * 2 : 256;
	if (!(sym->cache = calloc(sym->cap, sizeof(*sym->cache)))) {
		*sym = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.cache[i].mod)
			*cache_find(sym, old.cache[i].mod, old.cache[i].rel) = old.cache[i];
	free(old.cache);
	return 0;
}

/* ---- looking up -------------------------------------------------------- */

/* The line table entry for at by walking the compile units: libdw 0.188
 * finds CUs through .debug_aranges only, which clang does not emit. */
static Dwarf_Line *line_by_cu_walk(Dwfl_Module *mod, Dwarf_Addr at)
{
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dw && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_haspc(&cu, at - bias) > 0)
			return dwarf_getsrc_die(&cu, at - bias);
		off = next;
	}
	return NULL;
}

static int fill_source(Dwfl_Module *mod, Dwarf_Addr at, struct sym_entry *e)
{
	Dwfl_Line *line = dwfl_module_getsrc(mod, at);
	int lineno = 0;
	const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (!file) {
		Dwarf_Line *l = line_by_cu_walk(mod, at);
		if (!l || !(file = dwarf_linesrc(l, NULL, NULL)) || dwarf_lineno(l, &lineno))
			return 0;
	}
	e->line = lineno;
	return (e->file = strdup(file)) ? 0 : -ENOMEM;
}

/* The Dwfl holding m: the symbolizer's, or for a retired object one of
 * its own (made on first use); NULL on failure. */
static Dwfl *dwfl_of(struct symbolizer *sym, const struct module *m)
{
	if (!m->gen_retired)
		return sym->dwfl;
	for (size_t i = 0; i < sym->n_retired; i++)
		if (sym->retired[i].mod == m)
			return sym->retired[i].dwfl;
	struct retired_dwfl *v = realloc(sym->retired, (sym->n_retired + 1) * sizeof(*v));
	if (!v)
		return NULL;
	sym->retired = v;
	Dwfl *dwfl = modules_dwfl_one(sym->mods, (struct module *)m);
	if (dwfl)
		v[sym->n_retired++] = (struct retired_dwfl){ m, dwfl };
	return dwfl;
}

static int resolve(struct symbolizer *sym, const struct module *m, Dwarf_Addr at,
		   struct sym_entry *e)
{
	Dwfl *dwfl = dwfl_of(sym, m);
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, at) : NULL;
	GElf_Off off = 0;
	GElf_Sym s;
	const char *name = mod ? dwfl_module_addrinfo(mod, at, &off, &s, NULL, NULL, NULL)
			       : NULL;
	if (name) {
		/* "_IO_puts@@GLIBC_2.2.5" -> "_IO_puts" */
		if (!(e->function = strndup(name, strcspn(name, "@"))))
			return -ENOMEM;
		e->function_offset = off;
	}
	return mod ? fill_source(mod, at, e) : 0;
}

/* The cached result for at in m, resolved now if new; NULL on ENOMEM. */
static const struct sym_entry *lookup(struct symbolizer *sym, const struct module *m,
				      Dwarf_Addr at)
{
	uint64_t rel = at - m->img.bias;
	struct sym_entry *e = cache_find(sym, m, rel);
	if (e && e->mod)
		return e;
	if ((sym->used + 1) * 2 > sym->cap && cache_grow(sym) < 0)
		return NULL;
	e = cache_find(sym, m, rel);
	*e = (struct sym_entry){ .mod = m, .rel = rel };
	sym->used++;
	return resolve(sym, m, at, e) < 0 ? NULL : e;
}

static int set_str(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int symbolizer_frame(struct symbolizer *sym, struct report_frame *f,
		     int is_return_address)
{
	return symbolizer_frame_at(sym, f, is_return_address, 0);
}

int symbolizer_frame_at(struct symbolizer *sym, struct report_frame *f,
			int is_return_address, unsigned gen)
{
	Dwarf_Addr at = f->pc - (is_return_address && f->pc ? 1 : 0);
	const struct module *m = modules_find_at(sym->mods, at, gen);
	if (!m)
		return 0;
	const struct sym_entry *e = lookup(sym, m, at);
	if (!e || set_str(&f->module, m->path) || set_str(&f->function, e->function) ||
	    set_str(&f->file, e->file))
		return -ENOMEM;
	f->module_offset = f->pc - m->img.bias;
	f->offset = e->function_offset + (f->pc - at);
	f->line = e->line;
	return 0;
}

static int symbolize_stacks(struct symbolizer *sym, struct report_stack *stacks, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct report_stack *s = &stacks[i];
		for (unsigned j = 0; j < s->n_frames; j++) {
			int err = symbolizer_frame_at(sym, &s->frames[j], 1, s->mods_gen);
			if (err)
				return err;
		}
	}
	return 0;
}

int symbolize_report(struct symbolizer *sym, struct report *rep)
{
	int err = symbolize_stacks(sym, rep->stacks, rep->n_stacks);
	return err ? err : symbolize_stacks(sym, rep->mmap.stacks, rep->mmap.n_stacks);
}
