/* SPDX-License-Identifier: MIT */
/*
 * reach-scan.c - gathering the root set and the blocks' contents from a
 * target whose threads are all in a ptrace-stop, for reach-graph.c.
 * Only reads: /proc/PID/maps and pagemap, the registers (arch_root_regs),
 * and memory with process_vm_readv in chunks of up to 1 MiB, skipping the
 * pages pagemap shows never touched (neither present nor swapped).
 *
 * Root memory (memcheck, mc_leakcheck.c): every readable+writable mapping
 * except devices (/dev/zero and files are fine); the mapping holding a
 * thread's sp is read from sp - ARCH_RED_ZONE when it is [stack] or sits
 * right above a PROT_NONE guard (a glibc thread stack: its TLS and TCB are
 * at the top), anything else whole.  Values: every register of every
 * thread, and glibc's DTV (the TCB points 16 bytes into it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "leaktrap/arch.h"
#include "leaktrap/error.h"
#include "leaktrap/ledger.h"
#include "leaktrap/maps.h"
#include "leaktrap/mem.h"
#include "leaktrap/reach.h"

enum {
	CHUNK = 1 << 20,        /* process_vm_readv size (best 256K-1M) */
	PAGE = 4096,
	PM_BATCH = 8192,        /* pagemap entries read at once (32 MiB) */
};

/* ---- freed ranges ------------------------------------------------------ */

void reach_note_range(struct reach_freed *f, uint64_t start, uint64_t end)
{
	if (end <= start)
		return;
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 1024;
		struct reach_range *v = realloc(f->v, nc * sizeof(*v));
		if (!v)
			return;         /* a stale pointer may then count: conservative */
		f->v = v, f->cap = nc;
	}
	f->v[f->n++] = (struct reach_range){ start, end };
}

/* glibc: the size word before the block, flags in its low 3 bits. */
static uint64_t usable_from_header(uint64_t hdr, uint64_t size, int *mmapped_ret)
{
	uint64_t csize = hdr & ~7ULL;
	int mmapped = !!(hdr & 2);
	uint64_t usable = csize - (mmapped ? 16 : 8);
	*mmapped_ret = mmapped;
	if (csize < 32 || usable < size || usable - size > (mmapped ? PAGE + 64 : 64))
		return 0;       /* not a glibc chunk as we know it */
	return usable;
}

void reach_note_free(struct reach_freed *f, struct mem *m, uint64_t addr)
{
	uint64_t hdr;
	if (!addr || (addr & 15) || mem_read(m, addr - 8, &hdr, sizeof(hdr)) < 0)
		return;
	/* only what looks like an in-use glibc heap chunk is recorded: a
	 * 16-byte multiple below 1 GiB, not mmap'ed (those go away with the
	 * free), and the next chunk's PREV_INUSE bit set */
	uint64_t csize = hdr & ~7ULL, next;
	if (csize < 32 || (csize & 15) || csize >= (1ULL << 30) || (hdr & 2) ||
	    mem_read(m, addr - 8 + csize, &next, sizeof(next)) < 0 || !(next & 1))
		return;
	reach_note_range(f, addr, addr + csize - 8);
}

void reach_freed_release(struct reach_freed *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}

/* ---- the scan ---------------------------------------------------------- */

struct scan {
	pid_t pid;
	struct mem *m;
	struct maps maps;
	int pagemap;
	uint8_t *buf;
	struct reach_graph *g;
	uint64_t scanned;
	uint64_t *root_from;    /* per mapping: where its roots start */
};

struct collect {
	struct reach_node *v;
	size_t n, cap;
};

static int collect_block(const struct ledger_block *b, void *arg)
{
	struct collect *c = arg;
	if (c->n == c->cap)
		return -ENOMEM;
	c->v[c->n++] = (struct reach_node){ b->addr, b->size, b->size };
	return 0;
}

static int cmp_node(const void *pa, const void *pb)
{
	const struct reach_node *a = pa, *b = pb;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The blocks' usable sizes from their chunk headers.  Blocks sit close
 * together: sorted by address, their headers are read through windows of
 * up to CHUNK bytes that cover as many of them as fit (one tiny read per
 * block costs a page pin each: ~1 us, 0.1 s for 100k blocks). */
static int read_usable(struct scan *sc, struct reach_node *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_node);
	for (size_t i = 0; i < n;) {
		uint64_t base = (v[i].addr - 8) & ~(uint64_t)(PAGE - 1), end = v[i].addr;
		size_t j = i;
		while (j < n && v[j].addr - base <= CHUNK)
			end = v[j++].addr;
		ssize_t got = mem_read_partial(sc->m, base, sc->buf, (size_t)(end - base));
		if (got == -ESRCH)
			return -ESRCH;
		for (; i < j; i++) {
			uint64_t hdr = 0, off = v[i].addr - 8 - base;
			int mmapped;
			if (got >= (ssize_t)(off + 8))
				memcpy(&hdr, sc->buf + off, 8);
			else if (mem_read(sc->m, v[i].addr - 8, &hdr, 8) < 0)
				hdr = 0;        /* usable = size */
			uint64_t u = usable_from_header(hdr, v[i].size, &mmapped);
			v[i].usable = u ? u : v[i].size;
		}
	}
	return 0;
}

static int feed(struct scan *sc, size_t mi, uint64_t addr, const uint8_t *buf, size_t len)
{
	int err = reach_feed_contents(sc->g, addr, buf, len);
	uint64_t from = sc->root_from[mi];
	if (!err && addr + len > from) {
		uint64_t s = addr > from ? addr : from;
		err = reach_feed_roots(sc->g, s, buf + (s - addr), len - (size_t)(s - addr));
	}
	sc->scanned += len;
	return err;
}

/* Read [a, e) in chunks; an unreadable page is skipped. */
static int read_range(struct scan *sc, size_t mi, uint64_t a, uint64_t e)
{
	while (a < e) {
		size_t len = e - a < CHUNK ? (size_t)(e - a) : CHUNK;
		ssize_t n = mem_read_partial(sc->m, a, sc->buf, len);
		if (n == -ESRCH)
			return -ESRCH;
		if (n > 0) {
			int err = feed(sc, mi, a, sc->buf, (size_t)n);
			if (err)
				return err;
			a += (uint64_t)n;
		}
		if (n < (ssize_t)len)   /* skip the page that failed */
			a = (a & ~(uint64_t)(PAGE - 1)) + PAGE;
	}
	return 0;
}

/* Only the pages the target ever touched (present or swapped out): a
 * page it never mapped holds zeros, or a file's contents it never wrote
 * to (reading those would fault in a whole sparse file mapping). */
static int read_mapping(struct scan *sc, size_t mi, uint64_t a, uint64_t e)
{
	if (sc->pagemap < 0)
		return read_range(sc, mi, a, e);
	static uint64_t pm[PM_BATCH];
	uint64_t pa = a & ~(uint64_t)(PAGE - 1);
	while (pa < e) {
		uint64_t npages = (e - pa + PAGE - 1) / PAGE;
		if (npages > PM_BATCH)
			npages = PM_BATCH;
		ssize_t r = pread(sc->pagemap, pm, npages * 8, (off_t)(pa / PAGE * 8));
		if (r < (ssize_t)(npages * 8))
			return read_range(sc, mi, pa > a ? pa : a, e);
		for (uint64_t i = 0; i < npages;) {
			if (!(pm[i] & (3ULL << 62))) {
				uint64_t s = pa + i * PAGE;
				reach_feed_untouched(sc->g, s > a ? s : a, PAGE - (s > a ? 0 : a - s));
				i++;
				continue;
			}
			uint64_t j = i;
			while (j < npages && (pm[j] & (3ULL << 62)))
				j++;
			uint64_t s = pa + i * PAGE, t = pa + j * PAGE;
			int err = read_range(sc, mi, s > a ? s : a, t < e ? t : e);
			if (err)
				return err;
			i = j;
		}
		pa += npages * PAGE;
	}
	return 0;
}

static int is_root_mapping(const struct map_entry *me)
{
	if ((me->prot & (MAP_R | MAP_W)) != (MAP_R | MAP_W))
		return 0;
	/* char/block devices can have side effects when read */
	return !me->path || strncmp(me->path, "/dev/", 5) || !strcmp(me->path, "/dev/zero") ||
	       !strncmp(me->path, "/dev/shm/", 9);
}

static int is_file(const struct map_entry *me)
{
	return me && me->path && me->path[0] == '/';
}

/* mc_leakcheck.c aligned_ptr_above_page0_is_vtable_addr(): in a readable
 * file mapping, the first non-null words (of at most 20) include two, and
 * all of them are, pointers into executable file mappings. */
static int is_vtable(void *arg, uint64_t addr)
{
	struct scan *sc = arg;
	const struct map_entry *me = maps_find(&sc->maps, addr);
	uint64_t w[21];
	if (!is_file(me) || !(me->prot & MAP_R))
		return 0;
	size_t n = (me->end - addr) / 8;
	if (n > 21)
		n = 21;
	ssize_t r = mem_read_partial(sc->m, addr, w, n * 8);
	if (r < 0)
		return 0;
	n = (size_t)r / 8;
	unsigned fns = 0;
	for (size_t i = 0; i < n; i++) {
		if (!w[i])
			continue;
		const struct map_entry *t = maps_find(&sc->maps, w[i]);
		if (!is_file(t) || !(t->prot & MAP_X))
			return 0;
		if (++fns == 2)
			return 1;
	}
	return 0;
}

/* A free glibc chunk at p: the arena's top (it ends its mapping) or a
 * binned chunk (fd->bk == p && bk->fd == p). */
static int is_free_chunk(void *arg, uint64_t p)
{
	struct scan *sc = arg;
	uint64_t c[4], fd_bk, bk_fd;
	if (mem_read(sc->m, p, c, sizeof(c)) < 0)
		return 0;
	const struct map_entry *me = maps_find(&sc->maps, p);
	if (me && p + (c[1] & ~7ULL) == me->end)
		return 1;
	return c[2] && c[3] && mem_read(sc->m, c[2] + 24, &fd_bk, 8) == 0 && fd_bk == p &&
	       mem_read(sc->m, c[3] + 16, &bk_fd, 8) == 0 && bk_fd == p;
}

static int read_target(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct scan *sc = arg;
	return mem_read(sc->m, addr, buf, len);
}

/* Registers and TLS of every thread; each thread's stack mapping starts
 * its roots at sp minus the red zone. */
static int scan_threads(struct scan *sc, const pid_t *tids, size_t n, uint64_t *n_ret)
{
	static uint64_t words[ARCH_ROOT_WORDS_MAX];
	*n_ret = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t sp, tp, dtv;
		int nw = arch_root_regs(tids[i], words, &sp, &tp);
		if (nw < 0)
			return nw;
		int err = reach_feed_values(sc->g, words, (size_t)nw);
		if (err)
			return err;
		if (tp && mem_read(sc->m, arch_tls_dtv_slot(tp), &dtv, 8) == 0 && dtv) {
			dtv -= ARCH_DTV_BIAS;
			if ((err = reach_feed_values(sc->g, &dtv, 1)))
				return err;
		}
		(*n_ret)++;
		for (size_t mi = 0; mi < sc->maps.n; mi++) {
			const struct map_entry *me = &sc->maps.v[mi];
			if (sp < me->start || sp >= me->end)
				continue;
			int stack = (me->path && !strcmp(me->path, "[stack]")) ||
				    (mi > 0 && sc->maps.v[mi - 1].end == me->start &&
				     !(sc->maps.v[mi - 1].prot & (MAP_R | MAP_W | MAP_X)));
			uint64_t from = sp - ARCH_RED_ZONE < me->start ? me->start
								       : sp - ARCH_RED_ZONE;
			if (stack && (sc->root_from[mi] == me->start || from < sc->root_from[mi]))
				sc->root_from[mi] = from;
			break;
		}
	}
	return 0;
}

/* CPU time of leaktrap's thread: the phases' own cost, whatever the load */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int scan(struct scan *sc, const pid_t *tids, size_t n_tids, const struct ledger *lg,
		const struct reach_freed *freed, unsigned heuristics, struct reach_report *rr)
{
	double t0 = now_s(), t1, t2, t3;
	struct ledger_totals t;
	ledger_totals(lg, &t);
	struct collect c = { calloc(t.live_blocks ? t.live_blocks : 1, sizeof(*c.v)), 0,
			     t.live_blocks };
	int err = c.v ? 0 : -ENOMEM;
	if (!err)
		err = ledger_foreach(lg, collect_block, &c);
	if (!err)
		err = read_usable(sc, c.v, c.n);
	if (!err)
		err = reach_graph_create(c.v, c.n, freed ? freed->v : NULL, freed ? freed->n : 0,
					 &sc->g);
	if (!err)
		err = maps_read(sc->pid, &sc->maps);
	if (!err && !(sc->root_from = malloc((sc->maps.n + 1) * sizeof(uint64_t))))
		err = -ENOMEM;
	for (size_t mi = 0; !err && mi < sc->maps.n; mi++)
		sc->root_from[mi] = sc->maps.v[mi].start;
	t1 = now_s();
	if (!err)
		err = scan_threads(sc, tids, n_tids, &rr->n_threads);
	for (size_t mi = 0; !err && mi < sc->maps.n; mi++) {
		const struct map_entry *me = &sc->maps.v[mi];
		if (is_root_mapping(me))
			err = read_mapping(sc, mi, sc->root_from[mi], me->end);
	}
	t2 = now_s();
	struct reach_env env = { sc, is_vtable, is_free_chunk, read_target };
	if (!err)
		err = reach_classify(sc->g, &env, heuristics);
	t3 = now_s();
	lt_debug("reachability (CPU time): %zu blocks indexed in %.3f s, %.1f MiB of roots and "
		 "blocks read and scanned in %.3f s, marked in %.3f s", c.n, t1 - t0,
		 (double)sc->scanned / (1 << 20), t2 - t1, t3 - t2);
	if (!err)
		err = reach_report_fill(rr, sc->g, c.v, c.n);
	if (!err) {
		rr->scanned_bytes = sc->scanned;
		rr->heuristics = heuristics;
		rr->done = 1;
	}
	free(c.v);
	return err;
}

int reach_scan(pid_t pid, struct mem *m, const pid_t *tids, size_t n_tids,
	       const struct ledger *lg, const struct reach_freed *freed,
	       unsigned heuristics, struct reach_report *rr)
{
	char path[64];
	struct scan sc = { .pid = pid, .m = m, .pagemap = -1 };
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	sc.pagemap = open(path, O_RDONLY | O_CLOEXEC);
	sc.buf = malloc(CHUNK);
	int err = sc.buf ? scan(&sc, tids, n_tids, lg, freed, heuristics, rr) : -ENOMEM;
	if (err) {
		reach_report_release(rr);
		rr->done = 0;
		snprintf(rr->note, sizeof(rr->note), "%s",
			 err == -ESRCH ? "the target went away during the reachability scan" :
			 err == -ENOMEM ? "out of memory for the reachability scan" :
			 "the reachability scan failed");
	}
	if (sc.pagemap >= 0)
		close(sc.pagemap);
	free(sc.buf);
	free(sc.root_from);
	maps_release(&sc.maps);
	reach_graph_destroy(sc.g);
	return err;
}
