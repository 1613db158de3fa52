/* SPDX-License-Identifier: MIT */
/*
 * unwind.c - libunwind over a stack copy (DESIGN.md 5: 15 us instead of
 * 1.7 ms for the stock _UPT accessors without caching).  Registers come
 * from the capture, stack memory from the copy, anything else from a
 * direct-mapped cache of target pages (unwind tables are read-only).
 *
 * Unwind tables are found without any file: for the object containing a
 * pc, the ELF and program headers are read from the target's memory (the
 * first page of its offset-0 mapping), PT_GNU_EH_FRAME gives the loaded
 * .eh_frame_hdr, and its binary search table is handed to libunwind's
 * dwarf_search_unwind_table() as a remote table.  So a target in a
 * container, or running a deleted binary, unwinds like any other.  The
 * per-mapping table info is cached; the maps snapshot behind it is
 * re-read (at most ten times a second) when a pc is in no known mapping.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <signal.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leaktrap/ehframe.h"
#include "leaktrap/elfimage.h"
#include "leaktrap/error.h"
#include "leaktrap/maps.h"
#include "leaktrap/unwind.h"

/* Exported by libunwind (the generic remote library) but not declared. */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

enum { PAGE = 4096, CACHE_PAGES = 256 };

struct page_cache_entry {
	uint64_t page;      /* address + 1, 0 = empty */
	uint8_t data[PAGE];
};

/* The unwind table answering for one mapping. */
struct unwind_table {
	uint64_t start, end;      /* the mapping */
	int ok;                   /* 0: no unwind information there */
	unw_dyn_info_t di;
	/* an object without .eh_frame_hdr (static, gcc -static): a search
	 * table built from its .eh_frame, served to libunwind at a made-up
	 * address no target memory has (SYNTH_BASE and up) */
	struct ehframe_entry *synth;
	size_t n_synth;
	uint64_t synth_addr;
};

#define SYNTH_BASE (1ULL << 63)

struct unwinder {
	struct mem *mem;
	unw_addr_space_t as;
	const struct capture *cap;  /* the capture being unwound */
	struct maps maps;           /* snapshot for finding objects */
	double maps_time;           /* when it was read (CLOCK_MONOTONIC s), 0 */
	struct unwind_table *tables;
	size_t n_tables, cap_tables, last;
	struct page_cache_entry cache[CACHE_PAGES];
};

/* ---- target memory ----------------------------------------------------- */

static struct page_cache_entry *cached_page(struct unwinder *uw, uint64_t page)
{
	struct page_cache_entry *e = &uw->cache[(page / PAGE) % CACHE_PAGES];
	if (e->page == page + 1)
		return e;
	if (mem_read(uw->mem, page, e->data, PAGE)) {
		e->page = 0;
		return NULL;
	}
	e->page = page + 1;
	return e;
}

/* len bytes at addr through the page cache.  Returns 0 or -EFAULT. */
/* Above sp, this far: the thread's stack (the main thread's is 8 MiB). */
enum { STACK_UNCACHED = 8 << 20 };

static int cached_read(struct unwinder *uw, uint64_t addr, void *buf, size_t len)
{
	while (len) {
		uint64_t page = addr & ~(uint64_t)(PAGE - 1);
		size_t n = page + PAGE - addr < len ? page + PAGE - addr : len;
		const struct page_cache_entry *e = cached_page(uw, page);
		if (e)
			memcpy(buf, e->data + (addr - page), n);
		else if (mem_read(uw->mem, addr, buf, n))
			return -EFAULT;
		addr += n, buf = (uint8_t *)buf + n, len -= n;
	}
	return 0;
}

/* ---- unwind tables from memory ----------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A newer maps snapshot, at most ten times a second (a pc in no mapping
 * is usually a wrong frame, not a new library); the tables go with the
 * old one.  Returns 1 if the snapshot was replaced. */
static int refresh_maps(struct unwinder *uw)
{
	struct maps m;
	double t = now_s();
	if (t - uw->maps_time < 0.1 || maps_read(uw->mem->pid, &m) < 0)
		return 0;
	maps_release(&uw->maps);
	uw->maps = m, uw->maps_time = t;
	for (size_t i = 0; i < uw->n_tables; i++)
		free(uw->tables[i].synth);
	uw->n_tables = uw->last = 0;
	unw_flush_cache(uw->as, 0, 0);
	return 1;
}

/* The offset-0 mapping of the object that mapping m belongs to. */
static const struct map_entry *object_start(const struct maps *maps,
					    const struct map_entry *m)
{
	for (size_t i = (size_t)(m - maps->v) + 1; m->path && i-- > 0;) {
		const struct map_entry *e = &maps->v[i];
		if (!e->path)
			continue;       /* a .bss or a gap between segments */
		if (e->inode != m->inode || strcmp(e->path, m->path))
			return NULL;
		if (e->offset == 0)
			return e;
	}
	return NULL;
}

/* The runtime address and size of the .eh_frame section of the object
 * whose offset-0 mapping is first (its file: the mapped inode through
 * map_files, else the path in the target's root). */
static int find_eh_frame(const struct unwinder *uw, const struct map_entry *first,
			 uint64_t bias, uint64_t *addr_ret, uint64_t *size_ret)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)uw->mem->pid, first->start, first->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = -ENOENT;
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)uw->mem->pid, first->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	(void)elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
			GElf_Shdr sh;
			const char *name;
			if (!gelf_getshdr(scn, &sh) ||
			    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
			    strcmp(name, ".eh_frame") || !sh.sh_addr)
				continue;
			*addr_ret = sh.sh_addr + bias, *size_ret = sh.sh_size;
			err = 0;
			break;
		}
	}
	elf_end(elf);
	close(fd);
	return err;
}

enum { EH_FRAME_MAX = 64 << 20 };

/* The search table of an object without .eh_frame_hdr, from .eh_frame. */
static int synth_table(struct unwinder *uw, const struct map_entry *first,
		       const struct elfimage *img, struct unwind_table *t)
{
	uint64_t eh = 0, size = 0;
	int err = find_eh_frame(uw, first, img->bias, &eh, &size);
	if (err)
		return err;
	if (size > EH_FRAME_MAX)
		return -EFBIG;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	if (!(err = mem_read(uw->mem, eh, buf, size)))
		err = ehframe_build_table(buf, size, eh, &t->synth, &t->n_synth);
	free(buf);
	if (err)
		return err;
	t->synth_addr = SYNTH_BASE + ((uint64_t)(t - uw->tables) << 32);
	memset(&t->di, 0, sizeof(t->di));
	t->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	t->di.start_ip = t->start, t->di.end_ip = t->end;
	t->di.u.rti.segbase = eh;
	t->di.u.rti.table_data = t->synth_addr;
	t->di.u.rti.table_len = t->n_synth * sizeof(struct ehframe_entry) / sizeof(unw_word_t);
	lt_debug("%s has no .eh_frame_hdr: %zu FDEs indexed from .eh_frame", first->path,
		 t->n_synth);
	return 0;
}

/* Fill t->di for the object starting at first; 0 or a negative errno. */
static int load_table(struct unwinder *uw, const struct map_entry *first,
		      struct unwind_table *t)
{
	uint8_t buf[PAGE], hdr[EHFRAME_HDR_MAX];
	struct elfimage img;
	struct ehframe_table eh;
	size_t len = first->end - first->start < PAGE ? first->end - first->start : PAGE;
	int err = cached_read(uw, first->start, buf, len);
	if (err || (err = elfimage_parse(buf, len, first->start, &img)) < 0)
		return err;
	if (!img.eh_frame_hdr || img.eh_frame_hdr_size < 4)
		return synth_table(uw, first, &img, t);
	len = img.eh_frame_hdr_size < sizeof(hdr) ? img.eh_frame_hdr_size : sizeof(hdr);
	if ((err = cached_read(uw, img.eh_frame_hdr, hdr, len)) ||
	    (err = ehframe_parse_hdr(hdr, len, img.eh_frame_hdr, img.eh_frame_hdr_size,
				     &eh)))
		return err;
	memset(&t->di, 0, sizeof(t->di));
	t->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	t->di.start_ip = t->start, t->di.end_ip = t->end;
	t->di.u.rti.segbase = eh.hdr;
	t->di.u.rti.table_data = eh.table;
	t->di.u.rti.table_len = eh.fde_count * 8 / sizeof(unw_word_t);
	return 0;
}

static struct unwind_table *add_table(struct unwinder *uw, const struct map_entry *m)
{
	if (uw->n_tables == uw->cap_tables) {
		size_t ncap = uw->cap_tables ? uw->cap_tables * 2 : 32;
		struct unwind_table *v = realloc(uw->tables, ncap * sizeof(*v));
		if (!v)
			return NULL;
		uw->tables = v, uw->cap_tables = ncap;
	}
	struct unwind_table *t = &uw->tables[uw->n_tables++];
	const struct map_entry *first = object_start(&uw->maps, m);
	t->synth = NULL, t->n_synth = 0;
	t->start = m->start, t->end = m->end;
	t->ok = (m->prot & MAP_X) && first && load_table(uw, first, t) == 0;
	return t;
}

/* The table for ip, loaded if new; NULL if ip is in no mapping. */
static struct unwind_table *table_for(struct unwinder *uw, uint64_t ip)
{
	struct unwind_table *t = uw->n_tables ? &uw->tables[uw->last] : NULL;
	if (t && ip >= t->start && ip < t->end)
		return t;
	for (size_t i = 0; i < uw->n_tables; i++)
		if (ip >= uw->tables[i].start && ip < uw->tables[i].end) {
			uw->last = i;
			return &uw->tables[i];
		}
	const struct map_entry *m = maps_find(&uw->maps, ip);
	if (!m && refresh_maps(uw))
		m = maps_find(&uw->maps, ip);
	if (!m || !(t = add_table(uw, m)))
		return NULL;
	uw->last = (size_t)(t - uw->tables);
	return t;
}

/* ---- libunwind accessors ----------------------------------------------- */

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct unwinder *uw = arg;
	const struct unwind_table *t = table_for(uw, ip);
	if (!t || !t->ok)
		return -UNW_ENOINFO;
	unw_dyn_info_t di = t->di;   /* libunwind may not modify ours */
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* only called for dynamic (JIT-registered) info, which is not used */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
		      int write, void *arg)
{
	struct unwinder *uw = arg;
	const struct capture *cap = uw->cap;
	if (write)
		return -UNW_EINVAL;
	if (addr >= SYNTH_BASE) {
		size_t i = (size_t)((addr - SYNTH_BASE) >> 32);
		uint64_t off = (addr - SYNTH_BASE) & 0xffffffffu;
		if (i >= uw->n_tables || !uw->tables[i].synth)
			return -UNW_EINVAL;
		size_t len = uw->tables[i].n_synth * sizeof(struct ehframe_entry);
		*val = 0;
		if (off < len)
			memcpy(val, (const uint8_t *)uw->tables[i].synth + off,
			       len - off < sizeof(*val) ? len - off : sizeof(*val));
		return 0;
	}
	if (addr >= cap->sp && addr - cap->sp + sizeof(*val) <= cap->len) {
		memcpy(val, cap->stack + (addr - cap->sp), sizeof(*val));
		return 0;
	}
	/* the stack beyond the copy changes from one capture to the next:
	 * read it live, never through the page cache (meant for unwind
	 * tables, which do not change) */
	if (addr >= cap->sp && addr - cap->sp < STACK_UNCACHED)
		return mem_read(uw->mem, addr, val, sizeof(*val)) ? -UNW_EINVAL : 0;
	return cached_read(uw, addr, val, sizeof(*val)) ? -UNW_EINVAL : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
		      int write, void *arg)
{
	const struct unwinder *uw = arg;
	uint64_t v;
	if (write || arch_unw_reg(&uw->cap->regs, reg, &v))
		return -UNW_EBADREG;
	*val = v;
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
			int write, void *arg)
{
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			 size_t len, unw_word_t *off, void *arg)
{
	return -UNW_ENOINFO;        /* symbolize.c names frames, at report time */
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

/* ---- the unwinder ------------------------------------------------------ */

struct unwinder *unwinder_create(struct mem *mem)
{
	struct unwinder *uw = calloc(1, sizeof(*uw));
	if (!uw)
		return NULL;
	uw->mem = mem;
	uw->as = unw_create_addr_space(&accessors, 0);
	if (!uw->as || maps_read(mem->pid, &uw->maps) < 0) {
		unwinder_destroy(uw);
		return NULL;
	}
	unw_set_caching_policy(uw->as, UNW_CACHE_GLOBAL);
	return uw;
}

void unwinder_destroy(struct unwinder *uw)
{
	if (!uw)
		return;
	if (uw->as)
		unw_destroy_addr_space(uw->as);
	maps_release(&uw->maps);
	for (size_t i = 0; i < uw->n_tables; i++)
		free(uw->tables[i].synth);
	free(uw->tables);
	free(uw);
}

int unwind_capture(struct mem *mem, const struct arch_regs *regs, struct capture *cap)
{
	cap->regs = *regs;
	cap->sp = arch_regs_sp(regs);
	/* through PEEKDATA (no-procmem) a word costs a system call: copy a
	 * little, the unwinder reads the rest of the stack on demand while
	 * the thread is still stopped (session.c) */
	size_t want = mem_through_ptrace(mem) ? UNWIND_COPY_PEEK : sizeof(cap->stack);
	ssize_t n = mem_read_partial(mem, cap->sp, cap->stack, want);
	if (n < 0)
		return (int)n;
	cap->len = (size_t)n;
	return 0;
}

/* libunwind's global cache takes its lock with every signal blocked: two
 * rt_sigprocmask calls per frame, measured at a quarter of leaktrap's own
 * time per traced allocation.  leaktrap unwinds on its one thread and its
 * signal handlers never unwind, so while unwinder_unwind() runs the mask
 * changes are skipped (this definition of sigprocmask, which libunwind
 * imports, interposes on libc's); every other caller gets the real one. */
static int unwinding;

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	static int (*real)(int, const sigset_t *, sigset_t *);
	if (unwinding) {
		if (old)
			sigemptyset(old);
		return 0;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sigprocmask");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(how, set, old);
}

void unwinder_flush(struct unwinder *uw)
{
	uw->maps_time = 0;
	(void)refresh_maps(uw);
}

unsigned unwinder_unwind(struct unwinder *uw, const struct capture *cap,
			 uint64_t *pcs, unsigned max)
{
	unw_cursor_t c;
	unsigned n = 0;
	uw->cap = cap;
	unwinding = 1;
	if (unw_init_remote(&c, uw->as, uw) < 0)
		max = 0;
	while (n < max && unw_step(&c) > 0) {
		unw_word_t ip;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		pcs[n++] = ip;
	}
	unwinding = 0;
	return n;
}
