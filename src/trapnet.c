/* SPDX-License-Identifier: MIT */
/*
 * trapnet.c - the trap net (see trapnet.h): building the handler image,
 * installing and removing it with injected rt_sigaction calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/error.h"
#include "leaktrap/inject.h"
#include "leaktrap/procfs.h"
#include "leaktrap/scratch.h"
#include "leaktrap/trapnet.h"

enum { SA_WORDS = 4, MAX_BYTES = ARCH_TRAPNET_LEN + 8 * SA_WORDS };

static int has_own_handler(pid_t pid)
{
	unsigned long long bit = 1ULL << (SIGTRAP - 1);
	return (procfs_status_num(pid, "SigCgt", 16) & bit) ||
	       (procfs_status_num(pid, "SigIgn", 16) & bit);
}

void trapnet_prepare(struct target *t, struct thread *th)
{
	const char *off = getenv("LEAKTRAP_NO_TRAPNET");
	if ((off && *off && strcmp(off, "0")) || !t->trampoline || has_own_handler(t->pid))
		return;
	size_t sa_off = ARCH_TRAPNET_LEN, len = sa_off + 8 * SA_WORDS;
	uint64_t base = 0, slot, prev = 0;
	for (size_t done = 0; done < len; done += ARCH_SLOT_SIZE) {
		if (scratch_reserve(t, th, t->trampoline, &slot) < 0 ||
		    (prev && slot != prev + ARCH_SLOT_SIZE))
			return;             /* no room in one piece: no net */
		if (!base)
			base = slot;
		prev = slot;
	}
	uint8_t img[MAX_BYTES];
	memcpy(img, arch_trapnet_code, ARCH_TRAPNET_LEN);
	uint64_t sa[SA_WORDS];
	arch_trapnet_sigaction(sa, base, base + ARCH_TRAPNET_RESTORER);
	memcpy(img + sa_off, sa, sizeof(sa));
	scratch_fill(t, base, img, len);
	t->trapnet = base;
	t->trapnet_sa = base + sa_off;
}

void trapnet_install(struct target *t, struct thread *th)
{
	if (!t->trapnet || !th)
		return;
	uint64_t args[6] = { SIGTRAP, t->trapnet_sa, 0, 8, 0, 0 };
	long res = -1;
	if (inject_syscall(t, th, arch_sysno(ARCH_SYS_RT_SIGACTION), args, &res) < 0 || res != 0) {
		lt_debug("cannot install the trap net in pid %d", (int)t->pid);
		return;
	}
	t->trapnet_installed = 1;
	lt_debug("trap net installed at 0x%llx", (unsigned long long)t->trapnet);
}

int trapnet_remove(struct target *t, struct mem *m, struct thread *th)
{
	struct arch_regs regs;
	long res = -1;
	int err;
	if (!t->trapnet_installed)
		return 0;
	if ((err = arch_get_regs(th->tid, &regs)) < 0)
		return err;
	/* The current action, read into the thread's stack just below its red
	 * zone: dead memory by the ABI, where a signal frame would go too.
	 * Not far below: on a sigaltstack in the heap that would be live data.
	 * If it cannot be read, the disposition is left alone: it may be the
	 * process's own since. */
	uint64_t buf = (arch_regs_sp(&regs) - 128 - 64) & ~15ULL, handler = 0;
	uint64_t get[6] = { SIGTRAP, 0, buf, 8, 0, 0 };
	if ((err = inject_syscall(t, th, arch_sysno(ARCH_SYS_RT_SIGACTION), get, &res)) < 0)
		return err;
	if (res != 0)
		return (int)res;
	if ((err = mem_read(m, buf, &handler, sizeof(handler))) < 0)
		return err;
	if (handler != t->trapnet)
		return 0;                   /* the process installed its own since */
	uint64_t set[6] = { SIGTRAP, t->trapnet + ARCH_TRAPNET_DFL, 0, 8, 0, 0 };
	if ((err = inject_syscall(t, th, arch_sysno(ARCH_SYS_RT_SIGACTION), set, &res)) < 0)
		return err;
	return res == 0 ? 0 : (int)res;
}
