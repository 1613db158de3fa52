/* SPDX-License-Identifier: MIT */
/*
 * regs.c - x86_64 native glue: register access through ptrace, the int3
 * encoding, the return-address location at a function entry, the syscall
 * ABI used for injection, and libunwind's register numbering.
 * The instruction relocator lives in relocate.c.
 */
#include <elf.h>
#include <errno.h>
#include <libunwind-x86_64.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "leaktrap/arch.h"

const unsigned arch_elf_machine = EM_X86_64;
const uint8_t arch_bp_insn[] = { 0xcc };
const size_t arch_bp_len = 1;
const uint8_t arch_spin_insn[] = { 0xeb, 0xfe };
const size_t arch_spin_len = 2;
const uint8_t arch_syscall_insn[] = { 0x0f, 0x05 };
const size_t arch_syscall_insn_len = 2;

int arch_get_regs(pid_t tid, struct arch_regs *regs_ret)
{
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs_ret->r) < 0)
		return -errno;
	return 0;
}

int arch_set_regs(pid_t tid, const struct arch_regs *regs)
{
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs->r) < 0)
		return -errno;
	return 0;
}

uint64_t arch_regs_pc(const struct arch_regs *regs) { return regs->r.rip; }
void arch_regs_set_pc(struct arch_regs *regs, uint64_t pc) { regs->r.rip = pc; }
uint64_t arch_regs_sp(const struct arch_regs *regs) { return regs->r.rsp; }
uint64_t arch_regs_retval(const struct arch_regs *regs) { return regs->r.rax; }

uint64_t arch_regs_arg(const struct arch_regs *regs, unsigned n)
{
	switch (n) {
	case 0: return regs->r.rdi;
	case 1: return regs->r.rsi;
	case 2: return regs->r.rdx;
	case 3: return regs->r.rcx;
	case 4: return regs->r.r8;
	case 5: return regs->r.r9;
	default: return 0;
	}
}

uint64_t arch_trap_pc_to_bp(uint64_t pc) { return pc - 1; }
uint64_t arch_entry_ret_slot(const struct arch_regs *regs) { return regs->r.rsp; }
uint64_t arch_sp_after_return(uint64_t entry_sp) { return entry_sp + 8; }

long arch_sysno(enum arch_sysno which)
{
	static const long nr[] = {
		[ARCH_SYS_MMAP] = SYS_mmap,
		[ARCH_SYS_MUNMAP] = SYS_munmap,
		[ARCH_SYS_RT_SIGACTION] = SYS_rt_sigaction,
	};
	return nr[which];
}

void arch_syscall_setup(struct arch_regs *regs, uint64_t insn_addr, long nr,
			const uint64_t args[6])
{
	regs->r.rip = insn_addr;
	regs->r.rax = (uint64_t)nr;
	/* orig_rax = -1: the kernel's syscall-restart logic leaves us alone */
	regs->r.orig_rax = (uint64_t)-1;
	regs->r.rdi = args[0];
	regs->r.rsi = args[1];
	regs->r.rdx = args[2];
	regs->r.r10 = args[3];
	regs->r.r8 = args[4];
	regs->r.r9 = args[5];
}

long arch_syscall_result(const struct arch_regs *regs) { return (long)regs->r.rax; }
uint64_t arch_syscall_pc_after(uint64_t insn_addr) { return insn_addr + 2; }

/* libunwind's x86_64 numbering -> offset in user_regs_struct */
static const size_t unw_reg_offset[] = {
	[UNW_X86_64_RAX] = offsetof(struct user_regs_struct, rax),
	[UNW_X86_64_RDX] = offsetof(struct user_regs_struct, rdx),
	[UNW_X86_64_RCX] = offsetof(struct user_regs_struct, rcx),
	[UNW_X86_64_RBX] = offsetof(struct user_regs_struct, rbx),
	[UNW_X86_64_RSI] = offsetof(struct user_regs_struct, rsi),
	[UNW_X86_64_RDI] = offsetof(struct user_regs_struct, rdi),
	[UNW_X86_64_RBP] = offsetof(struct user_regs_struct, rbp),
	[UNW_X86_64_RSP] = offsetof(struct user_regs_struct, rsp),
	[UNW_X86_64_R8] = offsetof(struct user_regs_struct, r8),
	[UNW_X86_64_R9] = offsetof(struct user_regs_struct, r9),
	[UNW_X86_64_R10] = offsetof(struct user_regs_struct, r10),
	[UNW_X86_64_R11] = offsetof(struct user_regs_struct, r11),
	[UNW_X86_64_R12] = offsetof(struct user_regs_struct, r12),
	[UNW_X86_64_R13] = offsetof(struct user_regs_struct, r13),
	[UNW_X86_64_R14] = offsetof(struct user_regs_struct, r14),
	[UNW_X86_64_R15] = offsetof(struct user_regs_struct, r15),
	[UNW_X86_64_RIP] = offsetof(struct user_regs_struct, rip),
};

int arch_unw_reg(const struct arch_regs *regs, int unw_regnum, uint64_t *val_ret)
{
	if (unw_regnum < 0 ||
	    (size_t)unw_regnum >= sizeof(unw_reg_offset) / sizeof(unw_reg_offset[0]))
		return -EINVAL;
	const char *base = (const char *)&regs->r;
	*val_ret = *(const uint64_t *)(const void *)(base + unw_reg_offset[unw_regnum]);
	return 0;
}

/* ---- leak-check roots ---------------------------------------------------- */

int arch_root_regs(pid_t tid, uint64_t *words, uint64_t *sp_ret, uint64_t *tp_ret)
{
	struct user_regs_struct r;
	struct iovec iov = { &r, sizeof(r) };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_PRSTATUS, &iov) < 0)
		return -errno;
	size_t n = iov.iov_len / sizeof(uint64_t);
	memcpy(words, &r, n * sizeof(uint64_t));
	*sp_ret = r.rsp;
	*tp_ret = r.fs_base;
	/* xmm/ymm/zmm and the rest: "compiler may use FP registers to store
	 * pointers" (LSan's kExtraRegs); unavailable is not an error */
	iov.iov_base = words + n;
	iov.iov_len = (ARCH_ROOT_WORDS_MAX - n) * sizeof(uint64_t);
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_X86_XSTATE, &iov) == 0)
		n += iov.iov_len / sizeof(uint64_t);
	else if (errno == ESRCH)
		return -ESRCH;
	return (int)n;
}

uint64_t arch_tls_dtv_slot(uint64_t tp) { return tp + 8; }
