/* SPDX-License-Identifier: MIT */
/*
 * trapnet.c - x86_64 code of the trap net (src/trapnet.c): a SIGTRAP
 * handler placed in a scratch page.  The kernel runs it only when a
 * breakpoint of ours traps with no tracer attached (leaktrap was killed):
 * the thread then waits in nanosleep for the guardian, which rewrites the
 * saved pc in the signal frame and makes the thread return through
 * rt_sigreturn.  A SIGTRAP that is not ours, or 5 s without a guardian,
 * restores SIG_DFL and raises SIGTRAP again: what would have happened
 * without the handler.  Source (GNU as), assembled into the bytes below:
 *
 *   handler:                          # rdi sig, rsi siginfo, rdx ucontext
 *      cmpl  $0x80, 8(%rsi)           # si_code SI_KERNEL: a breakpoint trap
 *      jne   foreign
 *      mov   $500, %r9d               # wait up to 5 s for the guardian
 *   park:
 *      mov   $35, %eax                # nanosleep(&ten_ms, NULL)
 *      lea   ten_ms(%rip), %rdi
 *      xor   %esi, %esi
 *      syscall
 *      dec   %r9d
 *      jnz   park
 *   foreign:
 *      mov   $13, %eax                # rt_sigaction(SIGTRAP, &dfl, NULL, 8)
 *      mov   $5, %edi
 *      lea   dfl(%rip), %rsi
 *      xor   %edx, %edx
 *      mov   $8, %r10d
 *      syscall
 *      mov   $39, %eax                # tgkill(getpid(), gettid(), SIGTRAP)
 *      syscall
 *      mov   %rax, %rdi
 *      mov   $186, %eax
 *      syscall
 *      mov   %rax, %rsi
 *      mov   $5, %edx
 *      mov   $234, %eax
 *      syscall
 *      ret                            # to the restorer: the trap is then fatal
 *   restorer:
 *      mov   $15, %eax                # rt_sigreturn
 *      syscall
 *      .balign 8
 *   ten_ms: .quad 0, 10000000
 *   dfl:    .quad 0, 0, 0, 0          # struct sigaction: SIG_DFL
 *
 * Any breakpoint trap parks (the guardian tells ours from the target's
 * own: it leaves the pc of a trap not ours as it is, and the target's own
 * int3 then runs on as if handled; without a guardian it dies after 5 s).
 */
#include <signal.h>

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

#include "leaktrap/arch.h"

const uint8_t arch_trapnet_code[ARCH_TRAPNET_LEN] = {
	0x81, 0x7e, 0x08, 0x80, 0x00, 0x00, 0x00, 0x75, 0x1b, 0x41, 0xb9, 0xf4,
	0x01, 0x00, 0x00, 0xb8, 0x23, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x3d, 0x4d,
	0x00, 0x00, 0x00, 0x31, 0xf6, 0x0f, 0x05, 0x41, 0xff, 0xc9, 0x75, 0xeb,
	0xb8, 0x0d, 0x00, 0x00, 0x00, 0xbf, 0x05, 0x00, 0x00, 0x00, 0x48, 0x8d,
	0x35, 0x43, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x41, 0xba, 0x08, 0x00, 0x00,
	0x00, 0x0f, 0x05, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89,
	0xc7, 0xb8, 0xba, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc6, 0xba,
	0x05, 0x00, 0x00, 0x00, 0xb8, 0xea, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3,
	0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x90, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x80, 0x96, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* rt_sigframe: [sp] restorer address, then the ucontext, whose
 * uc_mcontext (offset 40) holds rsp at 120 and rip at 128. */
uint64_t arch_trapnet_saved_pc_slot(uint64_t sp) { return sp + 8 + 40 + 128; }
uint64_t arch_trapnet_saved_sp_slot(uint64_t sp) { return sp + 8 + 40 + 120; }

void arch_trapnet_sigreturn(struct arch_regs *regs, uint64_t restorer)
{
	regs->r.rip = restorer;
	regs->r.rsp += 8;                   /* as the handler's ret would */
	regs->r.orig_rax = (uint64_t)-1;    /* no restart of the nanosleep */
}

void arch_trapnet_sigaction(uint64_t out[4], uint64_t handler, uint64_t restorer)
{
	out[0] = handler;
	out[1] = (uint64_t)(SA_SIGINFO | SA_RESTORER | SA_RESTART);
	out[2] = restorer;
	out[3] = ~0ULL;                     /* every signal blocked while parked */
}
