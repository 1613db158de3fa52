/* SPDX-License-Identifier: MIT */
/*
 * target.h - the traced process as the tracer sees it: its threads, their
 * shadow stacks of hijacked return addresses, the probes, the scratch pages.
 * Shared by the modules that call ptrace (tracee, inject, scratch, probes,
 * session, detach).  Everything here is owned by the single ptrace thread.
 */
#ifndef LEAKTRAP_TARGET_H
#define LEAKTRAP_TARGET_H

#include <stdint.h>
#include <sys/types.h>

#include "leaktrap/arch.h"
#include "leaktrap/ledger.h"
#include "leaktrap/maps.h"
#include "leaktrap/mem.h"

struct modules;

/* ---- probes ----------------------------------------------------------- */

/* What an allocator entry point means; names in allocsyms.c. */
enum probe_kind {
	PK_MALLOC,          /* size = arg0 */
	PK_CALLOC,          /* size = arg0 * arg1 */
	PK_REALLOC,         /* ptr = arg0, size = arg1 */
	PK_REALLOCARRAY,    /* ptr = arg0, size = arg1 * arg2 */
	PK_FREE,            /* ptr = arg0 */
	PK_POSIX_MEMALIGN,  /* *arg0 = block, size = arg2, returns 0 */
	PK_MEMALIGN,        /* memalign/aligned_alloc: size = arg1 */
	PK_VALLOC,          /* size = arg0 */
	PK_PVALLOC,         /* size = arg0 */
	PK_RALLOCX,         /* jemalloc: ptr = arg0, size = arg1, never frees
	                     * on size 0, NULL = failed (ptr kept) */
	PK_MMAP,            /* --mmap: anonymous private mappings, len arg1 */
	PK_MUNMAP,          /* addr = arg0, len = arg1 */
	PK_MREMAP,          /* old = arg0, old_len = arg1, new_len = arg2 */
	PK_UNWIND,          /* _Unwind_RaiseException: an exception starts;
	                     * hijacked returns are put back first */
	PK_DLSTATE,         /* _dl_debug_state: the dynamic linker's list of
	                     * objects changes (dlopen, dlclose) */
	PK_COUNT
};

struct probe {
	uint64_t addr;
	enum probe_kind kind;
	char *name;                   /* first name seen at addr */
	char *module;                 /* object path */
	uint8_t orig[ARCH_BP_MAX_LEN];/* bytes the breakpoint replaced */
	uint64_t slot_addr;           /* XOL slot, 0 for SKIP */
	struct arch_probe_plan plan;
	int armed;                    /* breakpoint bytes are in place */
	int arming;                   /* about to be: published to the guardian */
};

/* ---- scratch pages ---------------------------------------------------- */

enum { SCRATCH_MAX = 16, SCRATCH_PAGE = 4096 };

struct scratch_page {
	uint64_t addr;
	unsigned used;                /* bytes handed out */
	uint8_t image[SCRATCH_PAGE];  /* what we wrote there */
};

/* ---- threads ---------------------------------------------------------- */

enum { SHADOW_MAX = 64 };

/* One hijacked return: what to restore and what the call was.  probe is
 * NULL for a signal handler's return (a signal frame pushed while the
 * thread was inside an allocator call): calls above it are outermost. */
struct shadow {
	uint64_t orig_ret;
	uint64_t entry_sp;            /* sp at the entry stop (ret slot) */
	uint64_t ret_slot;            /* where the return address was */
	uint64_t args[4];
	const struct probe *probe;    /* NULL: a signal handler's frame */
	uint32_t stack_id;
	int took_old;                 /* realloc: old block taken out */
	int old_known;
	struct ledger_block old;
};

enum thread_state {
	TS_RUNNING,     /* resumed by us */
	TS_STOPPED,     /* in a ptrace-stop we have not resumed */
	TS_LISTENING,   /* group-stopped, resumed with PTRACE_LISTEN */
};

struct thread {
	pid_t tid;
	enum thread_state state;
	int status;             /* wait status of the current stop */
	int stop_sig;           /* signal to pass on when leaving this stop */
	int passthrough;        /* a child sharing our mm: never record */
	int vfork_child;        /* ... whose parent waits until it leaves */
	int zombie;             /* exited, not reaped (a leader whose threads
	                         * run on): nothing to stop or detach */
	int exiting;            /* reported PTRACE_EVENT_EXIT */
	int sigframe_in_scratch;/* a signal was delivered while the pc was in
	                         * a scratch page: its frame returns there */
	int entering_handler;   /* single-stepped into a signal handler: the
	                         * next SIGTRAP stop is at its first insn */
	unsigned n_shadow;
	struct shadow shadow[SHADOW_MAX];
};

/* ---- the target ------------------------------------------------------- */

struct target {
	pid_t pid;
	struct mem mem;
	struct maps maps;             /* latest snapshot */
	struct modules *mods;         /* its ELF objects and their files, for
	                               * symbols (modules.h) */
	char comm[32];

	struct thread **threads;      /* open-addressing table by tid */
	unsigned threads_cap, n_threads, max_threads;

	struct probe *probes;         /* the first n_sorted sorted by addr, then
	                               * those added later (dlopen) in any
	                               * order; never moved (pointers stay) */
	unsigned n_probes, n_sorted, cap_probes;

	struct scratch_page *scratch[SCRATCH_MAX];
	unsigned n_scratch;
	uint64_t trampoline;          /* return trampoline (a breakpoint) */
	uint64_t syscall_insn;        /* a syscall instruction to inject at */
	uint64_t trapnet, trapnet_sa; /* SIGTRAP handler and its sigaction in
	                               * a scratch page (trapnet.h), or 0 */
	int trapnet_installed;
};

/* thread table (tracee.c) */
struct thread *target_thread(const struct target *t, pid_t tid);
/* Adds a thread record in state TS_RUNNING; returns it or NULL (ENOMEM). */
struct thread *target_add_thread(struct target *t, pid_t tid);
void target_del_thread(struct target *t, pid_t tid);
/* Iterate: for (i = 0; (th = target_next_thread(t, &i)); ) */
struct thread *target_next_thread(const struct target *t, unsigned *iter);
/* Any thread in a ptrace-stop, or NULL. */
struct thread *target_stopped_thread(const struct target *t);

/* probe lookup (probes.c): the probe at addr, or NULL */
const struct probe *target_probe_at(const struct target *t, uint64_t addr);
/* The probe whose XOL slot contains addr, or NULL. */
const struct probe *target_probe_by_slot(const struct target *t, uint64_t addr);

#endif
