/* SPDX-License-Identifier: MIT */
/*
 * arch.h - the per-CPU contract.  Everything that depends on the instruction
 * set or the ABI lives behind these declarations; the implementation for one
 * CPU lives in arch/<cpu>/.
 *
 * Porting checklist (see docs/porting.md):
 *   1. arch-regs.h: struct arch_regs (the ptrace register block).
 *   2. register glue: arch_get_regs/arch_set_regs and the pc/sp/arg/retval
 *      accessors (native; may call ptrace).
 *   3. breakpoint encoding and "pc after the trap -> probe address".
 *   4. return-address location at a function entry (x86_64: [sp]).
 *   5. the relocator: arch_plan_probe() (pure, unit-tested on byte arrays).
 *   6. syscall injection: instruction pattern, argument setup, result.
 *   7. libunwind register mapping: arch_unw_reg().
 *   8. the ELF machine of native code: arch_elf_machine.
 */
#ifndef LEAKTRAP_ARCH_H
#define LEAKTRAP_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch-regs.h" /* struct arch_regs, from arch/<cpu>/ */

/* ---- objects ---------------------------------------------------------- */

/* e_machine of the ELF objects a traceable process runs (x86_64:
 * EM_X86_64); a process with objects of another machine is refused. */
extern const unsigned arch_elf_machine;

/* ---- registers (native) ---------------------------------------------- */

/* Read/write the general registers of a ptrace-stopped thread.
 * Return 0 or a negative errno (-ESRCH: the thread vanished). */
__attribute__((warn_unused_result))
int arch_get_regs(pid_t tid, struct arch_regs *regs_ret);
__attribute__((warn_unused_result))
int arch_set_regs(pid_t tid, const struct arch_regs *regs);

uint64_t arch_regs_pc(const struct arch_regs *regs);
void arch_regs_set_pc(struct arch_regs *regs, uint64_t pc);
uint64_t arch_regs_sp(const struct arch_regs *regs);
/* Integer argument n (0-based) of a function at its first instruction. */
uint64_t arch_regs_arg(const struct arch_regs *regs, unsigned n);
/* Integer return value of a function that just returned. */
uint64_t arch_regs_retval(const struct arch_regs *regs);

/* ---- registers as leak-check roots (native; --reachability) ---------- */

enum { ARCH_ROOT_WORDS_MAX = 4096 };
/* Every register of a ptrace-stopped thread that may hold a pointer: the
 * general registers and the extended (vector) state, as 64-bit words in
 * words[ARCH_ROOT_WORDS_MAX].  *sp_ret: the stack pointer, *tp_ret: the
 * thread pointer (TLS base).  Returns the number of words or a negative
 * errno (-ESRCH: the thread is gone). */
__attribute__((warn_unused_result))
int arch_root_regs(pid_t tid, uint64_t *words, uint64_t *sp_ret, uint64_t *tp_ret);
/* Where glibc's thread control block keeps its DTV pointer (x86_64:
 * tp + 8); that pointer is ARCH_DTV_BIAS bytes into the calloc'ed DTV. */
uint64_t arch_tls_dtv_slot(uint64_t tp);
enum { ARCH_DTV_BIAS = 16 };

/* ---- breakpoints (pure) ---------------------------------------------- */

enum { ARCH_BP_MAX_LEN = 4 };
extern const uint8_t arch_bp_insn[];
extern const size_t arch_bp_len;
/* A branch to itself (x86_64: jmp .): parks a thread without a tracer. */
extern const uint8_t arch_spin_insn[];
extern const size_t arch_spin_len;
/* The probe address that a thread stopped by our breakpoint trap hit,
 * given its pc at the stop (x86_64: pc - 1). */
uint64_t arch_trap_pc_to_bp(uint64_t pc);

/* ---- return address at a function entry ------------------------------- */

/* Where the return address of a function that is at its first instruction
 * is stored in memory (x86_64: sp).  The caller reads and overwrites it. */
uint64_t arch_entry_ret_slot(const struct arch_regs *regs);
/* Stack pointer once the function has returned to its caller
 * (x86_64: entry sp + 8). */
uint64_t arch_sp_after_return(uint64_t entry_sp);
/* Bytes below sp that the ABI lets a leaf function use (x86_64: 128). */
enum { ARCH_RED_ZONE = 128 };

/* ---- the relocator (pure) --------------------------------------------- */

enum arch_probe_kind {
	ARCH_PROBE_XOL,     /* jump to the slot; it executes the displaced
	                     * instruction and jumps back by itself */
	ARCH_PROBE_SKIP,    /* emulate: the instruction has no effect
	                     * (endbr64, nop): pc = addr + insn_len */
	ARCH_PROBE_REFUSE,  /* cannot be probed safely */
};

enum { ARCH_SLOT_SIZE = 64, ARCH_MAX_EXITS = 4 };

/* One instruction boundary inside a slot and the original-code pc that is
 * equivalent to it: a thread found stopped at slot + off is moved to pc
 * when the slot goes away (detach).  exits[0] is always {0, addr}. */
struct arch_slot_exit {
	uint16_t off;
	uint64_t pc;
};

struct arch_probe_plan {
	enum arch_probe_kind kind;
	unsigned insn_len;                 /* length of the displaced insn */
	uint8_t slot[ARCH_SLOT_SIZE];      /* code to place at slot_addr */
	unsigned slot_len;
	struct arch_slot_exit exits[ARCH_MAX_EXITS];
	unsigned n_exits;
	char insn_text[64];                /* "push r12", for messages */
	char why[96];                      /* reason when kind == REFUSE */
};

/* Plan a probe at addr whose original code starts with code[0..code_len)
 * (code_len >= 16 recommended).  slot_addr is where the slot will live; it
 * must be within +-2 GiB of addr and of any RIP-relative target.
 * Pure: no I/O.  Returns 0 (plan_ret filled, possibly REFUSE with a reason),
 * -EINVAL when the bytes do not decode, -ERANGE when slot_addr is too far. */
__attribute__((warn_unused_result))
int arch_plan_probe(const uint8_t *code, size_t code_len, uint64_t addr,
		    uint64_t slot_addr, struct arch_probe_plan *plan_ret);

/* ---- syscall injection ------------------------------------------------- */

extern const uint8_t arch_syscall_insn[];
extern const size_t arch_syscall_insn_len;
enum arch_sysno { ARCH_SYS_MMAP, ARCH_SYS_MUNMAP, ARCH_SYS_RT_SIGACTION };
long arch_sysno(enum arch_sysno which);
/* Turn regs into "execute syscall nr(args) at insn_addr": pc, number,
 * arguments, and whatever disables the kernel's restart logic. */
void arch_syscall_setup(struct arch_regs *regs, uint64_t insn_addr, long nr,
			const uint64_t args[6]);
/* Result of the injected syscall (a negative errno on failure). */
long arch_syscall_result(const struct arch_regs *regs);
/* pc after the syscall instruction executed. */
uint64_t arch_syscall_pc_after(uint64_t insn_addr);

/* ---- the trap net (src/trapnet.c, DESIGN.md 7.2) ---------------------- */

/* A SIGTRAP handler for the scratch page: parks a thread that hit a
 * breakpoint with no tracer, until the guardian fixes its signal frame
 * (5 s at most); otherwise restores SIG_DFL and re-raises.  Offsets: */
enum {
	ARCH_TRAPNET_PARK_END = 0x24,  /* [0, this): a parked thread */
	ARCH_TRAPNET_RESTORER = 0x60,  /* rt_sigreturn */
	ARCH_TRAPNET_DFL = 0x78,       /* a kernel sigaction: SIG_DFL */
	ARCH_TRAPNET_LEN = 0x98,
};
extern const uint8_t arch_trapnet_code[ARCH_TRAPNET_LEN];
/* For a thread parked in the handler with stack pointer sp: where its
 * signal frame saved the interrupted pc and sp. */
uint64_t arch_trapnet_saved_pc_slot(uint64_t sp);
uint64_t arch_trapnet_saved_sp_slot(uint64_t sp);
/* Make a parked thread leave the handler through the restorer. */
void arch_trapnet_sigreturn(struct arch_regs *regs, uint64_t restorer);
/* The kernel's struct sigaction (rt_sigaction) installing the handler. */
void arch_trapnet_sigaction(uint64_t out[4], uint64_t handler, uint64_t restorer);

/* ---- unwinding --------------------------------------------------------- */

/* Value of libunwind register unw_regnum, 0 or -EINVAL if unknown. */
int arch_unw_reg(const struct arch_regs *regs, int unw_regnum, uint64_t *val_ret);

#endif
