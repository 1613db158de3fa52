/* SPDX-License-Identifier: MIT */
/*
 * fuzz-elffile.c - an ELF file from the target (its executable, a library,
 * their debug files) read the way leaktrap reads it: a module of the
 * module table whose file is the input (a memfd, as a map_files handle
 * would be), its build-id checked (modules_file_matches), the allocator
 * found in its symbol table (allocsyms_find/explain), and addresses in it
 * symbolized with libdwfl (symbolize.c: symbols, then source lines by the
 * line table or by walking the compile units).  A second pass serves the
 * same bytes from memory, as the vDSO is.  The parsing is libelf/libdw's;
 * what is fuzzed is that leaktrap copes with whatever they return.
 * Oracle: every symbolized frame names the module, and every allocator
 * function found lies in the module's executable segments.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "leaktrap/allocsyms.h"
#include "leaktrap/modules.h"
#include "leaktrap/symbolize.h"

enum { START = 0x400000 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsetenv("DEBUGINFOD_URLS");    /* no network from a fuzzed build-id */
	return 0;
}

static void symbolize_some(struct modules *mods, struct module *m,
			   const struct allocsym *syms, size_t n_syms)
{
	struct symbolizer *sym = symbolizer_create(mods);
	if (!sym)
		return;
	uint64_t step = (m->end - m->start) / 16 + 1;
	for (unsigned i = 0; i < 16 + n_syms; i++) {
		struct report_frame f = { .pc = i < 16 ? m->start + i * step
						       : syms[i - 16].addr + 1 };
		if (symbolizer_frame(sym, &f, 1) == 0 && modules_find(mods, f.pc - 1))
			FUZZ_CHECK(f.module && !strcmp(f.module, m->path));
		free(f.function);
		free(f.module);
		free(f.file);
	}
	symbolizer_destroy(sym);
}

static void one_pass(struct modules *mods, struct module *m)
{
	struct allocsym *syms = NULL;
	size_t n = 0;
	char why[512];
	if (allocsyms_find(mods, NULL, &syms, &n) == 0) {
		for (size_t i = 0; i < n; i++)   /* never a probe outside its code */
			FUZZ_CHECK(syms[i].addr >= m->img.text_start &&
				   syms[i].addr < m->img.text_end);
		if (!n)
			FUZZ_CHECK(allocsyms_explain(mods, NULL, why, sizeof(why)) == why);
	} else {
		syms = NULL, n = 0;
	}
	symbolize_some(mods, m, syms, n);
	allocsyms_free(syms, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct module m = { .path = (char *)"/nonexistent/leaktrap-fuzz.so", .fd = -1 };
	struct module *v[1] = { &m };
	struct modules mods = { .pid = getpid(), .rootfd = -1, .same_root = 1,
				.root_prefix = (char *)"", .v = v, .n = 1, .cap = 1 };
	m.owner = &mods;
	m.start = START, m.end = START + (size + 0xfff) / 0x1000 * 0x1000 + 0x1000;
	m.first_end = m.end;
	if (elfimage_parse(data, size, START, &m.img) < 0)
		m.img.bias = START;
	for (unsigned i = 0; i < m.img.n_notes && !m.build_id_len; i++) {
		uint64_t off = m.img.note_addr[i] - START, len = m.img.note_size[i];
		if (m.img.note_addr[i] >= START && off < size)
			m.build_id_len = elfimage_build_id(data + off,
				len < size - off ? len : size - off, m.build_id,
				sizeof(m.build_id));
	}

	/* the file, as map_files or the root would give it */
	int fd = memfd_create("elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		(void)modules_file_matches(&m, fd);
		m.fd = fd, m.state = MODULE_FILE, m.source = "map_files";
		one_pass(&mods, &m);
	}
	close(fd);

	/* the same bytes from memory (the vDSO's way) */
	m.fd = -1, m.state = MODULE_MEMORY, m.source = "memory";
	m.image = malloc(size ? size : 1);
	if (m.image) {
		memcpy(m.image, data, size);
		m.image_len = size;
		one_pass(&mods, &m);
		free(m.image);
	}
	return 0;
}
