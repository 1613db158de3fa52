/* SPDX-License-Identifier: MIT */
/* x86_64 register block: the ptrace PTRACE_GETREGS layout. */
#ifndef LEAKTRAP_ARCH_REGS_H
#define LEAKTRAP_ARCH_REGS_H
#include <sys/user.h>

struct arch_regs {
	struct user_regs_struct r;
};
#endif
