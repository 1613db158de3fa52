/* SPDX-License-Identifier: MIT */
/*
 * symbolize.c - libdwfl symbolization from a maps snapshot: modules are
 * reported with dwfl_linux_proc_maps_report() from the snapshot's text, ELF
 * files are opened by path, debug info found the standard way (build-id,
 * .gnu_debuglink, /usr/lib/debug).  Frames are looked up at pc - 1 when pc
 * is a return address, as eu-stack does.
 */
#define _GNU_SOURCE
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/symbolize.h"

struct symbolizer {
	Dwfl *dwfl;
};

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer_create(const struct maps *maps)
{
	struct symbolizer *sym = calloc(1, sizeof(*sym));
	if (!sym || !(sym->dwfl = dwfl_begin(&callbacks))) {
		free(sym);
		return NULL;
	}
	FILE *f = fmemopen(maps->text, strlen(maps->text), "r");
	dwfl_report_begin(sym->dwfl);
	if (f) {
		(void)dwfl_linux_proc_maps_report(sym->dwfl, f);
		fclose(f);
	}
	dwfl_report_end(sym->dwfl, NULL, NULL);
	return sym;
}

void symbolizer_destroy(struct symbolizer *sym)
{
	if (!sym)
		return;
	dwfl_end(sym->dwfl);
	free(sym);
}

static int set_str(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

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

static int fill_source(Dwfl_Module *mod, Dwarf_Addr at, struct report_frame *f)
{
	Dwfl_Line *line = dwfl_module_getsrc(mod, at);
	int lineno = 0;
	const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (!file) {
		Dwarf_Line *l = line_by_cu_walk(mod, at);
		if (!l || !(file = dwarf_linesrc(l, NULL, NULL)) || dwarf_lineno(l, &lineno))
			return 0;
	}
	f->line = lineno;
	return set_str(&f->file, file);
}

int symbolizer_frame(struct symbolizer *sym, struct report_frame *f,
		     int is_return_address)
{
	Dwarf_Addr at = f->pc - (is_return_address && f->pc ? 1 : 0);
	Dwfl_Module *mod = dwfl_addrmodule(sym->dwfl, at);
	if (!mod)
		return 0;
	const char *mainfile = NULL;
	const char *modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					       &mainfile, NULL);
	int err = set_str(&f->module, mainfile ? mainfile : modname);
	GElf_Off off = 0;
	GElf_Sym s;
	const char *name = dwfl_module_addrinfo(mod, at, &off, &s, NULL, NULL, NULL);
	if (!err && name) {
		/* "_IO_puts@@GLIBC_2.2.5" -> "_IO_puts" */
		f->function = strndup(name, strcspn(name, "@"));
		err = f->function ? 0 : -ENOMEM;
		f->offset = off + (f->pc - at);
	}
	return err ? err : fill_source(mod, at, f);
}

int symbolize_report(struct symbolizer *sym, struct report *rep)
{
	for (unsigned i = 0; i < rep->n_stacks; i++) {
		struct report_stack *s = &rep->stacks[i];
		for (unsigned j = 0; j < s->n_frames; j++) {
			int err = symbolizer_frame(sym, &s->frames[j], 1);
			if (err)
				return err;
		}
	}
	return 0;
}
