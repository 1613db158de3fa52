/* SPDX-License-Identifier: MIT */
/*
 * probes.c - probe table construction, arming and disarming, and look-ups
 * by breakpoint address or slot address.  What a probe hit means is the
 * session's business.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/error.h"
#include "leaktrap/guardian.h"
#include "leaktrap/probes.h"
#include "leaktrap/scratch.h"
#include "leaktrap/trapnet.h"

enum { CODE_BYTES = 16, LATE_MAX = 256 };

static int plan_one(struct target *t, struct thread *th, const struct allocsym *s,
		    struct probe *p)
{
	uint8_t code[CODE_BYTES];
	int err = mem_read(&t->mem, s->addr, code, sizeof(code));
	if (err) {
		lt_error_errno(err, "cannot read %s at 0x%llx", s->name,
			       (unsigned long long)s->addr);
		return err;
	}
	p->addr = s->addr, p->kind = s->kind;
	memcpy(p->orig, code, arch_bp_len);
	if ((err = scratch_reserve(t, th, s->addr, &p->slot_addr))) {
		lt_error_errno(err, "cannot map a scratch page near %s", s->module);
		return err;
	}
	err = arch_plan_probe(code, sizeof(code), p->addr, p->slot_addr, &p->plan);
	if (!err && p->plan.kind == ARCH_PROBE_REFUSE)
		err = -ENOTSUP;
	if (err == -ENOTSUP && s->kind == PK_DLSTATE)
		lt_warn("cannot probe %s in %s: first instruction '%s' %s; allocators "
			"loaded later with dlopen will not be traced", s->name, s->module,
			p->plan.insn_text[0] ? p->plan.insn_text : "?",
			p->plan.why[0] ? p->plan.why : "cannot be relocated");
	else if (err)
		lt_error("cannot probe %s in %s at 0x%llx: first instruction '%s' %s",
			 s->name, s->module, (unsigned long long)s->addr,
			 p->plan.insn_text[0] ? p->plan.insn_text : "?",
			 p->plan.why[0] ? p->plan.why : "cannot be relocated");
	return err;
}

int probes_prepare(struct target *t, struct thread *th,
		   const struct allocsym *syms, size_t n)
{
	t->probes = calloc(n + LATE_MAX, sizeof(*t->probes));
	if (!t->probes)
		return -ENOMEM;
	t->cap_probes = (unsigned)n + LATE_MAX;
	for (size_t i = 0; i < n; i++) {
		struct probe *p = &t->probes[t->n_probes];
		p->name = strdup(syms[i].name);
		p->module = strdup(syms[i].module);
		t->n_probes++;
		if (!p->name || !p->module)
			return -ENOMEM;
		int err = plan_one(t, th, &syms[i], p);
		if (err == -ENOTSUP && p->kind == PK_DLSTATE) {
			free(p->name);          /* not needed to count right */
			free(p->module);
			memset(p, 0, sizeof(*p));
			t->n_probes--;
			continue;
		}
		if (err)
			return err;
		if (p->plan.kind == ARCH_PROBE_XOL)
			scratch_fill(t, p->slot_addr, p->plan.slot, p->plan.slot_len);
		else
			p->slot_addr = 0;
	}
	t->n_sorted = t->n_probes;
	trapnet_prepare(t, th);
	return 0;
}

int probes_add(struct target *t, struct thread *th, const struct allocsym *syms,
	       size_t n, unsigned *added_ret)
{
	struct probe **todo = calloc(n ? n : 1, sizeof(*todo));
	size_t n_todo = 0;
	int err = 0;
	*added_ret = 0;
	if (!todo)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		/* a probe of an object unloaded since is taken over by whatever
		 * is mapped at its address now (the same library loaded again) */
		struct probe *p = (struct probe *)target_probe_at(t, syms[i].addr);
		if (p && p->armed)
			continue;
		if (!p && t->n_probes == t->cap_probes) {
			lt_warn("too many allocator functions in objects loaded while "
				"tracing: %s in %s is not traced", syms[i].name, syms[i].module);
			break;
		}
		int fresh = !p;
		if (fresh)
			p = &t->probes[t->n_probes];
		free(p->name);
		free(p->module);
		memset(p, 0, sizeof(*p));
		p->name = strdup(syms[i].name);
		p->module = strdup(syms[i].module);
		if (!p->name || !p->module || (err = plan_one(t, th, &syms[i], p))) {
			free(p->name);
			free(p->module);
			memset(p, 0, sizeof(*p));
			if (!fresh)     /* stays a disarmed entry at its place */
				p->addr = syms[i].addr, p->kind = syms[i].kind;
			if (err == -ENOTSUP)
				err = 0;        /* that one stays untraced (said why) */
			else if (!err)
				err = -ENOMEM;
			continue;
		}
		if (p->plan.kind == ARCH_PROBE_XOL)
			scratch_fill(t, p->slot_addr, p->plan.slot, p->plan.slot_len);
		else
			p->slot_addr = 0;
		if (fresh)
			t->n_probes++;
		todo[n_todo++] = p;
	}
	/* slots first, then the breakpoints: a thread that meets one finds
	 * its slot ready */
	int ferr = n_todo ? scratch_flush(t, th->tid) : 0;
	if (n_todo && !ferr) {
		for (size_t i = 0; i < n_todo; i++)
			todo[i]->arming = 1;
		guard_publish_probes(t);        /* before the new breakpoints exist */
	}
	for (size_t i = 0; i < n_todo && !ferr; i++) {
		struct probe *p = todo[i];
		ferr = mem_write_text(&t->mem, th->tid, p->addr, arch_bp_insn, arch_bp_len);
		p->armed = !ferr;
		*added_ret += p->armed;
	}
	for (size_t i = 0; i < n_todo; i++)
		todo[i]->arming = 0;
	free(todo);
	return err ? err : ferr;
}

void probes_forget_unmapped(struct target *t, const struct maps *maps)
{
	for (unsigned i = 0; i < t->n_probes; i++) {
		struct probe *p = &t->probes[i];
		const struct map_entry *m = p->armed ? maps_find(maps, p->addr) : NULL;
		if (p->armed && (!m || !(m->prot & MAP_X))) {
			lt_debug("probe %s at 0x%llx: %s was unloaded", p->name,
				 (unsigned long long)p->addr, p->module);
			p->armed = 0;
		}
	}
}

int probes_arm(struct target *t, pid_t stopped_tid)
{
	int err = scratch_flush(t, stopped_tid);
	if (!err) {
		trapnet_install(t, target_thread(t, stopped_tid));
		for (unsigned i = 0; i < t->n_probes; i++)
			t->probes[i].arming = 1;
		guard_publish_probes(t);        /* before any breakpoint exists */
	}
	for (unsigned i = 0; i < t->n_probes && !err; i++) {
		struct probe *p = &t->probes[i];
		err = mem_write_text(&t->mem, stopped_tid, p->addr, arch_bp_insn, arch_bp_len);
		p->armed = !err;
	}
	for (unsigned i = 0; i < t->n_probes; i++)
		t->probes[i].arming = 0;
	if (err) {
		lt_error_errno(err, "cannot write a breakpoint into pid %d", (int)t->pid);
		struct thread *th = target_thread(t, stopped_tid);
		if (th && trapnet_remove(t, &t->mem, th) == 0)
			t->trapnet_installed = 0;
		if (probes_disarm(t, stopped_tid) == 0)
			guard_publish_clean();
	}
	guard_debug_crash("attach");
	return err;
}

int probes_restore_bytes(const struct target *t, struct mem *m, pid_t stopped_tid)
{
	int first = 0;
	for (unsigned i = 0; i < t->n_probes; i++) {
		const struct probe *p = &t->probes[i];
		if (!p->armed)
			continue;
		int err = mem_write_text(m, stopped_tid, p->addr, p->orig, arch_bp_len);
		if (err && !first)
			first = err;
	}
	return first;
}

int probes_disarm(struct target *t, pid_t stopped_tid)
{
	int err = probes_restore_bytes(t, &t->mem, stopped_tid);
	if (!err)
		for (unsigned i = 0; i < t->n_probes; i++)
			t->probes[i].armed = 0;
	return err;
}

void probes_release(struct target *t)
{
	for (unsigned i = 0; i < t->n_probes; i++) {
		free(t->probes[i].name);
		free(t->probes[i].module);
	}
	free(t->probes);
	t->probes = NULL;
	t->n_probes = 0;
}

const struct probe *target_probe_at(const struct target *t, uint64_t addr)
{
	for (unsigned i = t->n_sorted; i < t->n_probes; i++)
		if (t->probes[i].addr == addr)
			return &t->probes[i];
	unsigned lo = 0, hi = t->n_sorted;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (t->probes[mid].addr == addr)
			return &t->probes[mid];
		if (t->probes[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct probe *target_probe_by_slot(const struct target *t, uint64_t addr)
{
	for (unsigned i = 0; i < t->n_probes; i++) {
		const struct probe *p = &t->probes[i];
		if (p->slot_addr && addr - p->slot_addr < ARCH_SLOT_SIZE)
			return p;
	}
	return NULL;
}
