/* SPDX-License-Identifier: MIT */
/*
 * scratch.c - the scratch pages (see scratch.h).  Slot 0 of the first page
 * is the return trampoline: a breakpoint instruction.  Knows nothing about
 * what the slots contain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "leaktrap/error.h"
#include "leaktrap/inject.h"
#include "leaktrap/scratch.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Slots this far from the code they serve keep rel32/disp32 in range. */
static const uint64_t REACH = 1ULL << 30;

static uint64_t dist(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

static long remote_mmap(struct target *t, struct thread *th, uint64_t hint, int fixed)
{
	uint64_t args[6] = { hint, SCRATCH_PAGE, PROT_READ | PROT_EXEC,
		MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED_NOREPLACE : 0),
		(uint64_t)-1, 0 };
	long res;
	int err = inject_syscall(t, th, arch_sysno(ARCH_SYS_MMAP), args, &res);
	return err ? err : res;
}

static long remote_munmap(struct target *t, struct thread *th, uint64_t addr)
{
	uint64_t args[6] = { addr, SCRATCH_PAGE, 0, 0, 0, 0 };
	long res;
	int err = inject_syscall(t, th, arch_sysno(ARCH_SYS_MUNMAP), args, &res);
	return err ? err : res;
}

/* Map a page near addr (MAP_FIXED_NOREPLACE at a gap of the maps, then a
 * plain hint for kernels before 4.17) and check it is within reach. */
static int map_page_near(struct target *t, struct thread *th, uint64_t addr,
			 uint64_t *page_ret)
{
	struct maps m;
	int err;
	if ((err = maps_read(t->pid, &m)))
		return err;
	uint64_t gap = maps_find_gap(&m, addr, addr + 1, SCRATCH_PAGE, REACH);
	maps_release(&m);
	if (!gap)
		return -ENOSPC;
	long res = remote_mmap(t, th, gap, 1);
	if (res == -EINVAL || res == -EOPNOTSUPP)
		res = remote_mmap(t, th, gap, 0);
	if (res < 0 && res > -4096)
		return (int)res;
	if (dist((uint64_t)res, addr) > REACH) {
		if (remote_munmap(t, th, (uint64_t)res) != 0)
			lt_warn("cannot unmap a misplaced scratch page");
		return -ENOSPC;
	}
	*page_ret = (uint64_t)res;
	return 0;
}

static struct scratch_page *page_in_reach(struct target *t, uint64_t addr)
{
	for (unsigned i = 0; i < t->n_scratch; i++) {
		struct scratch_page *p = t->scratch[i];
		if (p->used + ARCH_SLOT_SIZE <= SCRATCH_PAGE && dist(p->addr, addr) < REACH)
			return p;
	}
	return NULL;
}

static int add_page(struct target *t, struct thread *th, uint64_t addr,
		    struct scratch_page **page_ret)
{
	if (t->n_scratch == SCRATCH_MAX)
		return -ENOSPC;
	struct scratch_page *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int err = map_page_near(t, th, addr, &p->addr);
	if (err) {
		free(p);
		return err;
	}
	/* never-used bytes are breakpoints: a stray jump traps, not runs */
	memset(p->image, arch_bp_insn[0], sizeof(p->image));
	t->scratch[t->n_scratch++] = p;
	if (!t->trampoline) {
		memcpy(p->image, arch_bp_insn, arch_bp_len);
		t->trampoline = p->addr;
		p->used = ARCH_SLOT_SIZE;
	}
	*page_ret = p;
	return 0;
}

int scratch_reserve(struct target *t, struct thread *th, uint64_t addr,
		    uint64_t *slot_ret)
{
	struct scratch_page *p = page_in_reach(t, addr);
	int err = p ? 0 : add_page(t, th, addr, &p);
	if (err)
		return err;
	*slot_ret = p->addr + p->used;
	p->used += ARCH_SLOT_SIZE;
	return 0;
}

const struct scratch_page *scratch_page_of(const struct target *t, uint64_t addr)
{
	for (unsigned i = 0; i < t->n_scratch; i++)
		if (addr - t->scratch[i]->addr < SCRATCH_PAGE)
			return t->scratch[i];
	return NULL;
}

void scratch_fill(struct target *t, uint64_t slot, const uint8_t *code, size_t len)
{
	struct scratch_page *p = (struct scratch_page *)scratch_page_of(t, slot);
	if (p && slot - p->addr + len <= SCRATCH_PAGE)
		memcpy(p->image + (slot - p->addr), code, len);
}

int scratch_flush(struct target *t, pid_t stopped_tid)
{
	for (unsigned i = 0; i < t->n_scratch; i++) {
		struct scratch_page *p = t->scratch[i];
		int err = mem_write_text(&t->mem, stopped_tid, p->addr, p->image, SCRATCH_PAGE);
		if (err)
			return err;
	}
	return 0;
}

int scratch_unmap_all(struct target *t, struct thread *th)
{
	int first_err = 0;
	unsigned kept = 0;
	for (unsigned i = 0; i < t->n_scratch; i++) {
		long r = remote_munmap(t, th, t->scratch[i]->addr);
		if (r == 0) {
			free(t->scratch[i]);
			continue;
		}
		if (!first_err)
			first_err = (int)(r < 0 ? r : -EIO);
		t->scratch[kept++] = t->scratch[i];
	}
	t->n_scratch = kept;
	if (!kept)
		t->trampoline = 0, t->trapnet = 0, t->trapnet_installed = 0;
	return first_err;
}

void scratch_forget(struct target *t)
{
	for (unsigned i = 0; i < t->n_scratch; i++)
		free(t->scratch[i]);
	t->n_scratch = 0;
	t->trampoline = 0;
	t->trapnet = 0, t->trapnet_installed = 0;   /* exec resets handlers */
}
