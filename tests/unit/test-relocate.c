/* SPDX-License-Identifier: MIT */
/*
 * test-relocate.c - unit tests for the x86_64 relocator (arch_plan_probe):
 * a table of first instructions (the Debian 12 glibc 2.36 allocator
 * prologues, RIP-relative forms including capstone's 0x66 disp_size quirk,
 * endbr64/nops, jmp/jcc/call/ret in every form, refusals, -ERANGE and
 * -EINVAL).  Every produced slot is decoded back with capstone at its
 * address and the absolute targets, pushed return addresses, effective
 * addresses and exits[] are checked against independently computed values.
 */
#include <errno.h>

#include <capstone/capstone.h>

#include "leaktrap/arch.h"
#include "test.h"

/* Debian 12 libc mapped at LIBC; the slot page 1 MiB above memalign. */
#define LIBC 0x7f0000000000ULL
#define A_MALLOC (LIBC + 0x98930)
#define A_FREE (LIBC + 0x98ef0)
#define A_CALLOC (LIBC + 0x996e0)
#define A_REALLOC (LIBC + 0x99130)
#define A_MEMALIGN (LIBC + 0x99610)
#define A_REALLOCARRAY (LIBC + 0x9a7e0)
#define A (A_MEMALIGN)
#define SLOT (A + 0x100000)
#define MALLOC_INITIALIZED (LIBC + 0x1da488)

/* The expected slot layout; each is decoded back and checked. */
enum shape {
	S_NONE,     /* no slot: SKIP, REFUSE, errors */
	S_COPY,     /* insn (re-based); jmp [rip+0]; .quad addr+len */
	S_VERBATIM, /* insn (re-based), nothing after: ret, jmp r/m */
	S_JMP,      /* jmp [rip+0]; .quad target */
	S_JCC,      /* j!cc +14; abs jmp target; abs jmp addr+len */
	S_CALL,     /* push [rip+X]; jmp [rip+Y]; .quad addr+len; .quad target */
	S_CALL_IND, /* push [rip+X]; jmp r/m; .quad addr+len */
};

struct reloc_case {
	const char *name;
	uint8_t code[16];
	unsigned n;              /* bytes passed; 0 means all 16 */
	uint64_t addr, slot;     /* 0 means A, SLOT */
	int ret;
	enum arch_probe_kind kind;
	unsigned len;            /* expected insn_len (0 when undecodable) */
	const char *text;        /* expected insn_text */
	enum shape shape;
	uint64_t target;         /* S_JMP, S_JCC, S_CALL */
	const char *inv;         /* S_JCC: mnemonic of the inverted jcc */
	uint64_t ea;             /* RIP-relative effective address, or 0 */
	int64_t disp;            /* expected re-based disp32 when ea != 0 */
	const char *jmp_ops;     /* S_CALL_IND without ea: op_str of the jmp */
};

static const struct reloc_case cases[] = {
	/* ---- glibc 2.36 allocator prologues ---- */
	{ "malloc", { 0x41, 0x54 }, /* push r12 */
	  .addr = A_MALLOC, .kind = ARCH_PROBE_XOL, .len = 2,
	  .text = "push r12", .shape = S_COPY },
	{ "free", { 0x48, 0x85, 0xff }, /* test rdi, rdi */
	  .addr = A_FREE, .kind = ARCH_PROBE_XOL, .len = 3,
	  .text = "test rdi, rdi", .shape = S_COPY },
	{ "calloc", { 0x41, 0x55 }, /* push r13 */
	  .addr = A_CALLOC, .kind = ARCH_PROBE_XOL, .len = 2,
	  .text = "push r13", .shape = S_COPY },
	{ "realloc", { 0x41, 0x57 }, /* push r15 */
	  .addr = A_REALLOC, .kind = ARCH_PROBE_XOL, .len = 2,
	  .text = "push r15", .shape = S_COPY },
	{ "memalign, slot 1 MiB above",
	  { 0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00 },
	  /* cmp byte ptr [rip + 0x140e71], 0 */
	  .kind = ARCH_PROBE_XOL, .len = 7,
	  .text = "cmp byte ptr [rip + 0x140e71], 0", .shape = S_COPY,
	  .ea = MALLOC_INITIALIZED, .disp = 0x40e71 },
	{ "memalign, slot 1 MiB below",
	  { 0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00 },
	  /* cmp byte ptr [rip + 0x140e71], 0 */
	  .slot = A - 0x100000, .kind = ARCH_PROBE_XOL, .len = 7,
	  .text = "cmp byte ptr [rip + 0x140e71], 0", .shape = S_COPY,
	  .ea = MALLOC_INITIALIZED, .disp = 0x240e71 },
	{ "reallocarray", { 0x48, 0x89, 0xf0 }, /* mov rax, rsi */
	  .addr = A_REALLOCARRAY, .kind = ARCH_PROBE_XOL, .len = 3,
	  .text = "mov rax, rsi", .shape = S_COPY },

	/* ---- other plain and RIP-relative instructions ---- */
	{ "sub rsp", { 0x48, 0x83, 0xec, 0x18 }, /* sub rsp, 0x18 */
	  .kind = ARCH_PROBE_XOL, .len = 4, .text = "sub rsp, 0x18",
	  .shape = S_COPY },
	{ "fs: load", { 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0 },
	  /* mov rax, qword ptr fs:[0x28] (absolute, not RIP-relative) */
	  .kind = ARCH_PROBE_XOL, .len = 9,
	  .text = "mov rax, qword ptr fs:[0x28]", .shape = S_COPY },
	{ "lea rip, negative disp", { 0x48, 0x8d, 0x35, 0x21, 0xe4, 0xfe, 0xff },
	  /* lea rsi, [rip - 0x11bdf] */
	  .kind = ARCH_PROBE_XOL, .len = 7, .text = "lea rsi, [rip - 0x11bdf]",
	  .shape = S_COPY, .ea = A + 7 - 0x11bdf, .disp = -0x111bdf },
	{ "66 89 3d: disp_size quirk",
	  { 0x66, 0x89, 0x3d, 0x11, 0x22, 0x33, 0x04 },
	  /* mov word ptr [rip + 0x4332211], di */
	  .kind = ARCH_PROBE_XOL, .len = 7,
	  .text = "mov word ptr [rip + 0x4332211], di", .shape = S_COPY,
	  .ea = A + 7 + 0x4332211, .disp = 0x4232211 },
	{ "66 0f 6f 05: disp_size quirk",
	  { 0x66, 0x0f, 0x6f, 0x05, 0x21, 0xe4, 0xfe, 0xff },
	  /* movdqa xmm0, xmmword ptr [rip - 0x11bdf]; a 2-byte re-base
	   * would leave the low half 0xe421 unchanged and be wrong */
	  .kind = ARCH_PROBE_XOL, .len = 8,
	  .text = "movdqa xmm0, xmmword ptr [rip - 0x11bdf]", .shape = S_COPY,
	  .ea = A + 8 - 0x11bdf, .disp = -0x111bdf },
	{ "bnd ret is a ret", { 0xf2, 0xc3 }, /* bnd ret */
	  .kind = ARCH_PROBE_XOL, .len = 2, .text = "bnd ret",
	  .shape = S_VERBATIM },

	/* ---- no-ops ---- */
	{ "endbr64", { 0xf3, 0x0f, 0x1e, 0xfa }, /* endbr64 */
	  .kind = ARCH_PROBE_SKIP, .len = 4, .text = "endbr64" },
	{ "nop", { 0x90, 0x41, 0x54 }, /* nop */
	  .kind = ARCH_PROBE_SKIP, .len = 1, .text = "nop" },
	{ "nop5", { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, /* nop dword ptr [rax + rax] */
	  .kind = ARCH_PROBE_SKIP, .len = 5, .text = "nop dword ptr [rax + rax]" },

	/* ---- jmp ---- */
	{ "jmp rel8", { 0xeb, 0x10 }, /* jmp 0x7f0000099622 */
	  .kind = ARCH_PROBE_XOL, .len = 2, .text = "jmp 0x7f0000099622",
	  .shape = S_JMP, .target = A + 2 + 0x10 },
	{ "jmp rel32", { 0xe9, 0x10, 0x20, 0x30, 0x00 }, /* jmp 0x7f000039b625 */
	  .kind = ARCH_PROBE_XOL, .len = 5, .text = "jmp 0x7f000039b625",
	  .shape = S_JMP, .target = A + 5 + 0x302010 },
	{ "jmp rel32 backwards, slot 1 TiB away",
	  { 0xe9, 0x00, 0xf0, 0xff, 0xff }, /* jmp 0x7f0000098615 */
	  .slot = A - 0x10000000000ULL, .kind = ARCH_PROBE_XOL, .len = 5,
	  .text = "jmp 0x7f0000098615", .shape = S_JMP,
	  .target = A + 5 - 0x1000 },
	{ "jmp [rip]", { 0xff, 0x25, 0xf2, 0x0f, 0x14, 0x00 },
	  /* jmp qword ptr [rip + 0x140ff2] */
	  .kind = ARCH_PROBE_XOL, .len = 6,
	  .text = "jmp qword ptr [rip + 0x140ff2]", .shape = S_VERBATIM,
	  .ea = A + 6 + 0x140ff2, .disp = 0x40ff2 },
	{ "jmp rax", { 0xff, 0xe0 }, /* jmp rax */
	  .kind = ARCH_PROBE_XOL, .len = 2, .text = "jmp rax",
	  .shape = S_VERBATIM },

	/* ---- jcc ---- */
	{ "je rel8", { 0x74, 0x10 }, /* je 0x7f0000099622 */
	  .kind = ARCH_PROBE_XOL, .len = 2, .text = "je 0x7f0000099622",
	  .shape = S_JCC, .target = A + 2 + 0x10, .inv = "jne" },
	{ "jb rel8 backwards", { 0x72, 0x80 }, /* jb 0x7f0000099592 */
	  .kind = ARCH_PROBE_XOL, .len = 2, .text = "jb 0x7f0000099592",
	  .shape = S_JCC, .target = A + 2 - 0x80, .inv = "jae" },
	{ "jne rel32", { 0x0f, 0x85, 0xf0, 0xff, 0xff, 0xff },
	  /* jne 0x7f0000099606 */
	  .kind = ARCH_PROBE_XOL, .len = 6, .text = "jne 0x7f0000099606",
	  .shape = S_JCC, .target = A + 6 - 0x10, .inv = "je" },
	{ "jg rel32", { 0x0f, 0x8f, 0x00, 0x01, 0x00, 0x00 },
	  /* jg 0x7f0000099716 */
	  .kind = ARCH_PROBE_XOL, .len = 6, .text = "jg 0x7f0000099716",
	  .shape = S_JCC, .target = A + 6 + 0x100, .inv = "jle" },

	/* ---- call ---- */
	{ "call rel32", { 0xe8, 0x10, 0x20, 0x30, 0x00 },
	  /* call 0x7f000039b625 */
	  .kind = ARCH_PROBE_XOL, .len = 5, .text = "call 0x7f000039b625",
	  .shape = S_CALL, .target = A + 5 + 0x302010 },
	{ "bnd call rel32, slot 1 TiB away",
	  { 0xf2, 0xe8, 0x00, 0xf0, 0xff, 0xff }, /* bnd call 0x7f0000098616 */
	  .slot = A + 0x10000000000ULL, .kind = ARCH_PROBE_XOL, .len = 6,
	  .text = "bnd call 0x7f0000098616", .shape = S_CALL,
	  .target = A + 6 - 0x1000 },
	{ "call [rip]", { 0xff, 0x15, 0xf2, 0x0f, 0x14, 0x00 },
	  /* call qword ptr [rip + 0x140ff2]; its copy sits at slot+6 */
	  .kind = ARCH_PROBE_XOL, .len = 6,
	  .text = "call qword ptr [rip + 0x140ff2]", .shape = S_CALL_IND,
	  .ea = A + 6 + 0x140ff2, .disp = 0x140ff2 - 0x100000 - 6 },
	{ "call rax", { 0xff, 0xd0 }, /* call rax */
	  .kind = ARCH_PROBE_XOL, .len = 2, .text = "call rax",
	  .shape = S_CALL_IND, .jmp_ops = "rax" },
	{ "call r11", { 0x41, 0xff, 0xd3 }, /* call r11 */
	  .kind = ARCH_PROBE_XOL, .len = 3, .text = "call r11",
	  .shape = S_CALL_IND, .jmp_ops = "r11" },
	{ "call [rax+8]", { 0xff, 0x50, 0x08 }, /* call qword ptr [rax + 8] */
	  .kind = ARCH_PROBE_XOL, .len = 3, .text = "call qword ptr [rax + 8]",
	  .shape = S_CALL_IND, .jmp_ops = "qword ptr [rax + 8]" },

	/* ---- ret ---- */
	{ "ret", { 0xc3 }, /* ret */
	  .kind = ARCH_PROBE_XOL, .len = 1, .text = "ret", .shape = S_VERBATIM },
	{ "ret imm16", { 0xc2, 0x10, 0x00 }, /* ret 0x10 */
	  .kind = ARCH_PROBE_XOL, .len = 3, .text = "ret 0x10",
	  .shape = S_VERBATIM },

	/* ---- refusals ---- */
	{ "int3", { 0xcc }, /* int3 */
	  .kind = ARCH_PROBE_REFUSE, .len = 1, .text = "int3" },
	{ "int 0x80", { 0xcd, 0x80 }, /* int 0x80 */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "int 0x80" },
	{ "int1", { 0xf1 }, /* int1 */
	  .kind = ARCH_PROBE_REFUSE, .len = 1, .text = "int1" },
	{ "syscall", { 0x0f, 0x05 }, /* syscall */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "syscall" },
	{ "sysenter", { 0x0f, 0x34 }, /* sysenter */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "sysenter" },
	{ "iretq", { 0x48, 0xcf }, /* iretq */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "iretq" },
	{ "lock", { 0xf0, 0x48, 0x0f, 0xb1, 0x0a },
	  /* lock cmpxchg qword ptr [rdx], rcx */
	  .kind = ARCH_PROBE_REFUSE, .len = 5,
	  .text = "lock cmpxchg qword ptr [rdx], rcx" },
	{ "lock, rip-relative", { 0xf0, 0xff, 0x05, 0x10, 0x20, 0x30, 0x00 },
	  /* lock inc dword ptr [rip + 0x302010] */
	  .kind = ARCH_PROBE_REFUSE, .len = 7,
	  .text = "lock inc dword ptr [rip + 0x302010]" },
	{ "ds:", { 0x3e, 0x48, 0x8b, 0x00 }, /* mov rax, qword ptr ds:[rax] */
	  .kind = ARCH_PROBE_REFUSE, .len = 4,
	  .text = "mov rax, qword ptr ds:[rax]" },
	{ "cs:", { 0x2e, 0x48, 0x8b, 0x00 }, /* mov rax, qword ptr cs:[rax] */
	  .kind = ARCH_PROBE_REFUSE, .len = 4,
	  .text = "mov rax, qword ptr cs:[rax]" },
	{ "es:", { 0x26, 0x48, 0x8b, 0x00 }, /* mov rax, qword ptr es:[rax] */
	  .kind = ARCH_PROBE_REFUSE, .len = 4,
	  .text = "mov rax, qword ptr es:[rax]" },
	{ "ss:", { 0x36, 0x48, 0x8b, 0x00 }, /* mov rax, qword ptr ss:[rax] */
	  .kind = ARCH_PROBE_REFUSE, .len = 4,
	  .text = "mov rax, qword ptr ss:[rax]" },
	{ "notrack jmp (ds prefix)", { 0x3e, 0xff, 0xe0 }, /* notrack jmp rax */
	  .kind = ARCH_PROBE_REFUSE, .len = 3, .text = "jmp rax" },
	{ "ud2", { 0x0f, 0x0b }, /* ud2 */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "ud2" },
	{ "hlt", { 0xf4 }, /* hlt */
	  .kind = ARCH_PROBE_REFUSE, .len = 1, .text = "hlt" },
	{ "in", { 0xec }, /* in al, dx */
	  .kind = ARCH_PROBE_REFUSE, .len = 1, .text = "in al, dx" },
	{ "jrcxz", { 0xe3, 0x10 }, /* jrcxz 0x7f0000099622 */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "jrcxz 0x7f0000099622" },
	{ "loop", { 0xe2, 0x10 }, /* loop 0x7f0000099622 */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "loop 0x7f0000099622" },
	{ "retf", { 0xcb }, /* retf */
	  .kind = ARCH_PROBE_REFUSE, .len = 1, .text = "retf" },
	{ "xbegin", { 0xc7, 0xf8, 0x10, 0x20, 0x30, 0x00 },
	  /* xbegin 0x7f000039b626 */
	  .kind = ARCH_PROBE_REFUSE, .len = 6, .text = "xbegin 0x7f000039b626" },
	{ "call [rsp+8]", { 0xff, 0x54, 0x24, 0x08 }, /* call qword ptr [rsp + 8] */
	  .kind = ARCH_PROBE_REFUSE, .len = 4,
	  .text = "call qword ptr [rsp + 8]" },
	{ "call rsp", { 0xff, 0xd4 }, /* call rsp */
	  .kind = ARCH_PROBE_REFUSE, .len = 2, .text = "call rsp" },
	{ "eip-relative", { 0x67, 0x8b, 0x05, 0x10, 0x20, 0x30, 0x00 },
	  /* mov eax, dword ptr [eip + 0x302010] */
	  .kind = ARCH_PROBE_REFUSE, .len = 7,
	  .text = "mov eax, dword ptr [eip + 0x302010]" },
	{ "call rel16", { 0x66, 0xe8, 0x10, 0x20 }, /* call 0xb624 (rel16) */
	  .kind = ARCH_PROBE_REFUSE, .len = 4, .text = "call 0xb624" },
	{ "vmmcall (group safety net)", { 0x0f, 0x01, 0xd9 }, /* vmmcall */
	  .kind = ARCH_PROBE_REFUSE, .len = 3, .text = "vmmcall" },
	{ "cli (group safety net)", { 0xfa }, /* cli */
	  .kind = ARCH_PROBE_REFUSE, .len = 1, .text = "cli" },

	/* ---- -ERANGE: RIP-relative target > 2 GiB from the slot ---- */
	{ "memalign, slot 3 GiB away",
	  { 0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00 },
	  /* cmp byte ptr [rip + 0x140e71], 0 */
	  .slot = A + 0xc0000000ULL, .ret = -ERANGE, .kind = ARCH_PROBE_REFUSE,
	  .len = 7, .text = "cmp byte ptr [rip + 0x140e71], 0" },
	{ "call [rip], slot 2 GiB below",
	  { 0xff, 0x15, 0xf2, 0x0f, 0x14, 0x00 },
	  /* call qword ptr [rip + 0x140ff2] */
	  .slot = A - 0x80000000ULL, .ret = -ERANGE, .kind = ARCH_PROBE_REFUSE,
	  .len = 6, .text = "call qword ptr [rip + 0x140ff2]" },

	/* ---- -EINVAL: does not decode ---- */
	{ "push es (invalid in 64-bit mode)", { 0x06 }, /* (bad) */
	  .ret = -EINVAL, .kind = ARCH_PROBE_REFUSE },
	{ "0f 04 (undefined)", { 0x0f, 0x04 }, /* (bad) */
	  .ret = -EINVAL, .kind = ARCH_PROBE_REFUSE },
	{ "truncated call", { 0xe8, 0x10, 0x20 }, .n = 3, /* call, 2 bytes short */
	  .ret = -EINVAL, .kind = ARCH_PROBE_REFUSE },
	{ "lone lock prefix", { 0xf0 }, .n = 1, /* lock (nothing follows) */
	  .ret = -EINVAL, .kind = ARCH_PROBE_REFUSE },
};

static csh cs;

/* ---- slot inspection ---------------------------------------------------- */

/* Decode the slot instruction at off; NULL (and a failure) if impossible. */
static cs_insn *slot_insn(const struct arch_probe_plan *p, uint64_t slot,
			  unsigned off)
{
	cs_insn *insn = NULL;

	if (!TEST_ASSERT(off < p->slot_len))
		return NULL;
	if (!TEST_ASSERT(cs_disasm(cs, p->slot + off, p->slot_len - off,
				   slot + off, 1, &insn) == 1))
		return NULL;
	return insn;
}

static uint64_t slot_quad(const struct arch_probe_plan *p, uint64_t off)
{
	uint64_t v = 0;

	if (TEST_ASSERT(off + 8 <= p->slot_len))
		memcpy(&v, p->slot + off, sizeof(v));
	return v;
}

static const cs_x86_op *mem_op(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	for (unsigned i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM)
			return &x->operands[i];
	return NULL;
}

/* Effective address of a RIP-relative operand, 0 if there is none. */
static uint64_t rip_ea(const cs_insn *insn)
{
	const cs_x86_op *m = mem_op(insn);

	if (!m || m->mem.base != X86_REG_RIP)
		return 0;
	return insn->address + insn->size + (uint64_t)insn->detail->x86.disp;
}

/* The quad that the "push/jmp qword ptr [rip+d]" at off reads. */
static uint64_t quad_read_by(const struct arch_probe_plan *p, uint64_t slot,
			     unsigned off, const char *mnemonic)
{
	cs_insn *insn = slot_insn(p, slot, off);
	uint64_t ea, v = 0;

	if (!insn)
		return 0;
	TEST_ASSERT_STREQ(insn->mnemonic, mnemonic);
	TEST_ASSERT_EQ_U64(insn->size, 6);
	ea = rip_ea(insn);
	if (TEST_ASSERT(ea >= slot && ea - slot + 8 <= p->slot_len))
		v = slot_quad(p, ea - slot);
	cs_free(insn, 1);
	return v;
}

static void check_exit(const struct arch_probe_plan *p, unsigned i,
		       unsigned off, uint64_t pc)
{
	if (!TEST_ASSERT(i < p->n_exits))
		return;
	TEST_ASSERT_EQ_U64(p->exits[i].off, off);
	TEST_ASSERT_EQ_U64(p->exits[i].pc, pc);
}

/* The relocated copy at off: same bytes as the original except a re-based
 * disp32, same mnemonic, and (RIP-relative) the same effective address. */
static void check_copy_at(const struct reloc_case *c,
			  const struct arch_probe_plan *p, uint64_t addr,
			  uint64_t slot, unsigned off)
{
	cs_insn *insn = slot_insn(p, slot, off);
	unsigned d;

	if (!insn)
		return;
	TEST_ASSERT_EQ_U64(insn->size, c->len);
	if (c->ea) {
		d = insn->detail->x86.encoding.disp_offset;
		TEST_ASSERT_EQ_U64(rip_ea(insn), c->ea);
		TEST_ASSERT_EQ_U64(insn->detail->x86.disp, c->disp);
		TEST_ASSERT(d > 0 && memcmp(p->slot + off, c->code, d) == 0);
		TEST_ASSERT(memcmp(p->slot + off + d + 4, c->code + d + 4,
				   c->len - d - 4) == 0);
	} else {
		TEST_ASSERT(memcmp(p->slot + off, c->code, c->len) == 0);
	}
	cs_free(insn, 1);
}

/* The original instruction's RIP-relative target, as a cross-check of the
 * table's expected effective address. */
static void check_original_ea(const struct reloc_case *c, uint64_t addr)
{
	cs_insn *insn = NULL;

	if (!c->ea)
		return;
	if (TEST_ASSERT(cs_disasm(cs, c->code, c->len, addr, 1, &insn) == 1)) {
		TEST_ASSERT_EQ_U64(rip_ea(insn), c->ea);
		cs_free(insn, 1);
	}
}

/* ---- one checker per shape ------------------------------------------------ */

static void check_copy(const struct reloc_case *c,
		       const struct arch_probe_plan *p, uint64_t addr,
		       uint64_t slot)
{
	TEST_ASSERT_EQ_U64(p->slot_len, c->len + 14);
	check_copy_at(c, p, addr, slot, 0);
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, c->len, "jmp"), addr + c->len);
	TEST_ASSERT_EQ_U64(p->n_exits, 2);
	check_exit(p, 0, 0, addr);
	check_exit(p, 1, c->len, addr + c->len);
}

static void check_verbatim(const struct reloc_case *c,
			   const struct arch_probe_plan *p, uint64_t addr,
			   uint64_t slot)
{
	TEST_ASSERT_EQ_U64(p->slot_len, c->len);
	check_copy_at(c, p, addr, slot, 0);
	TEST_ASSERT_EQ_U64(p->n_exits, 1);
	check_exit(p, 0, 0, addr);
}

static void check_jmp(const struct reloc_case *c,
		      const struct arch_probe_plan *p, uint64_t addr,
		      uint64_t slot)
{
	TEST_ASSERT_EQ_U64(p->slot_len, 14);
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, 0, "jmp"), c->target);
	TEST_ASSERT_EQ_U64(p->n_exits, 1);
	check_exit(p, 0, 0, addr);
}

/* Condition false: the inverted short jcc is taken to slot+16, which jumps
 * to addr+len.  Condition true: fall through to slot+2, jump to target. */
static void check_jcc(const struct reloc_case *c,
		      const struct arch_probe_plan *p, uint64_t addr,
		      uint64_t slot)
{
	cs_insn *insn = slot_insn(p, slot, 0);

	TEST_ASSERT_EQ_U64(p->slot_len, 30);
	if (insn) {
		TEST_ASSERT_STREQ(insn->mnemonic, c->inv);
		TEST_ASSERT_EQ_U64(insn->size, 2);
		TEST_ASSERT_EQ_U64(insn->detail->x86.operands[0].imm, slot + 16);
		cs_free(insn, 1);
	}
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, 2, "jmp"), c->target);
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, 16, "jmp"), addr + c->len);
	TEST_ASSERT_EQ_U64(p->n_exits, 3);
	check_exit(p, 0, 0, addr);
	check_exit(p, 1, 2, c->target);
	check_exit(p, 2, 16, addr + c->len);
}

static void check_call(const struct reloc_case *c,
		       const struct arch_probe_plan *p, uint64_t addr,
		       uint64_t slot)
{
	TEST_ASSERT_EQ_U64(p->slot_len, 28);
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, 0, "push"), addr + c->len);
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, 6, "jmp"), c->target);
	TEST_ASSERT_EQ_U64(p->n_exits, 2);
	check_exit(p, 0, 0, addr);
	check_exit(p, 1, 6, c->target);
}

/* push of addr+len, then the call's operand as a jmp; the boundary after
 * the push is deliberately not an exit (target unknown to the planner). */
static void check_call_ind(const struct reloc_case *c,
			   const struct arch_probe_plan *p, uint64_t addr,
			   uint64_t slot)
{
	cs_insn *insn;

	TEST_ASSERT_EQ_U64(p->slot_len, 6 + c->len + 8);
	TEST_ASSERT_EQ_U64(quad_read_by(p, slot, 0, "push"), addr + c->len);
	insn = slot_insn(p, slot, 6);
	if (insn) {
		TEST_ASSERT_STREQ(insn->mnemonic, "jmp");
		TEST_ASSERT_EQ_U64(insn->size, c->len);
		if (c->ea) {
			TEST_ASSERT_EQ_U64(rip_ea(insn), c->ea);
			TEST_ASSERT_EQ_U64(insn->detail->x86.disp, c->disp);
		} else {
			TEST_ASSERT_STREQ(insn->op_str, c->jmp_ops);
		}
		cs_free(insn, 1);
	}
	TEST_ASSERT_EQ_U64(p->n_exits, 1);
	check_exit(p, 0, 0, addr);
}

typedef void check_fn(const struct reloc_case *,
		      const struct arch_probe_plan *, uint64_t, uint64_t);

static check_fn *const checkers[] = {
	[S_COPY] = check_copy, [S_VERBATIM] = check_verbatim,
	[S_JMP] = check_jmp, [S_JCC] = check_jcc, [S_CALL] = check_call,
	[S_CALL_IND] = check_call_ind,
};

/* ---- the table ------------------------------------------------------------ */

static void check_no_slot(const struct reloc_case *c,
			  const struct arch_probe_plan *p)
{
	TEST_ASSERT_EQ_U64(p->slot_len, 0);
	TEST_ASSERT_EQ_U64(p->n_exits, 0);
	if (c->kind == ARCH_PROBE_REFUSE)
		TEST_ASSERT(p->why[0] != '\0');
	else
		TEST_ASSERT_STREQ(p->why, "");
}

static void run_case(const struct reloc_case *c)
{
	uint64_t addr = c->addr ? c->addr : A, slot = c->slot ? c->slot : SLOT;
	struct arch_probe_plan p;
	int fails = (int)test_failed;
	int ret;

	memset(&p, 0xa5, sizeof(p));
	ret = arch_plan_probe(c->code, c->n ? c->n : sizeof(c->code), addr,
			      slot, &p);
	TEST_ASSERT_EQ_U64(ret, c->ret);
	TEST_ASSERT_EQ_U64(p.kind, c->kind);
	TEST_ASSERT_EQ_U64(p.insn_len, c->len);
	TEST_ASSERT_STREQ(p.insn_text, c->text ? c->text : "");
	check_original_ea(c, addr);
	if (c->shape == S_NONE)
		check_no_slot(c, &p);
	else
		checkers[c->shape](c, &p, addr, slot);
	if ((int)test_failed != fails)
		fprintf(stderr, "  in case \"%s\" (why: \"%s\")\n", c->name, p.why);
}

/* ---- all sixteen conditions, rel8 and rel32 ------------------------------ */

static const char *const cc_names[16] = {
	"jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja",
	"js", "jns", "jp", "jnp", "jl", "jge", "jle", "jg",
};

static void check_jcc_inversion(const uint8_t *code, unsigned cc)
{
	struct arch_probe_plan p;
	cs_insn *insn;

	if (!TEST_ASSERT(arch_plan_probe(code, 16, A, SLOT, &p) == 0))
		return;
	TEST_ASSERT_EQ_U64(p.kind, ARCH_PROBE_XOL);
	TEST_ASSERT_EQ_U64(p.slot[0], 0x70 | (cc ^ 1));
	insn = slot_insn(&p, SLOT, 0);
	if (insn) {
		TEST_ASSERT_STREQ(insn->mnemonic, cc_names[cc ^ 1]);
		cs_free(insn, 1);
	}
	TEST_ASSERT(strncmp(p.insn_text, cc_names[cc], strlen(cc_names[cc])) == 0);
}

static void test_jcc_all_conditions(void)
{
	for (unsigned cc = 0; cc < 16; cc++) {
		const uint8_t rel8[16] = { (uint8_t)(0x70 | cc), 0x10 };
		const uint8_t rel32[16] = { 0x0f, (uint8_t)(0x80 | cc), 0x10 };

		check_jcc_inversion(rel8, cc);  /* j<cc> rel8 */
		check_jcc_inversion(rel32, cc); /* j<cc> rel32 */
	}
}

/* An empty buffer does not decode: -EINVAL, and the plan says REFUSE. */
static void test_empty_input(void)
{
	struct arch_probe_plan p;
	const uint8_t code[1] = { 0x90 };

	TEST_ASSERT_EQ_U64(arch_plan_probe(code, 0, A, SLOT, &p), -EINVAL);
	TEST_ASSERT_EQ_U64(p.kind, ARCH_PROBE_REFUSE);
	TEST_ASSERT(p.why[0] != '\0');
}

int main(void)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK ||
	    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
		fprintf(stderr, "cannot open capstone\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_jcc_all_conditions();
	test_empty_input();
	cs_close(&cs);
	return test_summary();
}
