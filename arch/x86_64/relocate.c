/* SPDX-License-Identifier: MIT */
/*
 * relocate.c - x86_64 relocator: plans an execute-out-of-line (XOL) slot for
 * the first instruction of a probed function (arch_plan_probe, see arch.h
 * and DESIGN.md 2.3-2.4).
 *
 * The instruction is decoded with capstone and classified through a table
 * indexed by capstone instruction id.  The slot is thread-independent and
 * self-contained: it executes the equivalent of the displaced instruction and
 * then continues at the original code with an absolute `jmp [rip+0]`, so no
 * single-step and no per-thread state are needed.  Forms produced:
 *
 *   plain:        <insn, RIP-relative disp32 re-based>; jmp [rip+0]; .quad next
 *   jmp rel:      jmp [rip+0]; .quad target
 *   jcc rel:      j!cc +14; jmp [rip+0]; .quad target; jmp [rip+0]; .quad next
 *   call rel32:   push [rip+X]; jmp [rip+Y]; .quad next; .quad target
 *   call r/m:     push [rip+X]; jmp r/m (same operand, ModRM reg 2 -> 4);
 *                 .quad next
 *   jmp r/m, ret: <insn, re-based>  (never falls through)
 *
 * where next = addr + insn_len, the original return address for calls.
 * endbr64/endbr32 and nops are planned as SKIP (no slot).
 *
 * What it does not do: it never emulates an instruction (the tracer does
 * SKIP), never single-steps, and refuses what it cannot relocate exactly:
 * traps and system calls, ud*, hlt, in/out, far transfers, jrcxz/jecxz/loop*,
 * xbegin, lock and CS/DS/ES/SS prefixes (like the kernel's is_prefix_bad),
 * 0x66 on branches, EIP-relative (0x67) addressing, indirect calls whose
 * operand uses rsp (our push would change it), and any other control
 * transfer or privileged instruction the table does not handle.  The call
 * forms push the original return address with a plain store, so they are
 * not compatible with a user shadow stack (CET shstk).
 *
 * Not thread-safe: the capstone handle is opened lazily on first use and
 * shared; call from one thread (the tracer's).  No I/O.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#include "leaktrap/arch.h"

/* How the displaced instruction becomes a slot; index of the emit table. */
enum rclass {
	RC_COPY = 0,   /* copy (re-based), then jump back; table default */
	RC_SKIP,       /* no effect: the tracer advances pc */
	RC_JMP,        /* rel: absolute jump; r/m: copy, no jump back */
	RC_JCC,        /* inverted short jcc over two absolute jumps */
	RC_CALL,       /* push the original return address, then jump */
	RC_RET,        /* copy, no jump back */
	RC_BAD_TRAP,   /* enters the kernel or a debugger */
	RC_BAD_FAULT,  /* faults on purpose or needs privilege */
	RC_BAD_RCX,    /* rcx-conditional branch */
	RC_BAD_FAR,    /* far transfer */
	RC_BAD_TSX,    /* xbegin: relative abort address */
	RC_BAD_UNSURE, /* control transfer or privileged, not in the table */
	RC_NCLASSES
};

static const uint8_t class_of_id[X86_INS_ENDING] = {
	[X86_INS_NOP] = RC_SKIP, [X86_INS_ENDBR64] = RC_SKIP,
	[X86_INS_ENDBR32] = RC_SKIP,
	[X86_INS_JMP] = RC_JMP,
	[X86_INS_JO] = RC_JCC, [X86_INS_JNO] = RC_JCC, [X86_INS_JB] = RC_JCC,
	[X86_INS_JAE] = RC_JCC, [X86_INS_JE] = RC_JCC, [X86_INS_JNE] = RC_JCC,
	[X86_INS_JBE] = RC_JCC, [X86_INS_JA] = RC_JCC, [X86_INS_JS] = RC_JCC,
	[X86_INS_JNS] = RC_JCC, [X86_INS_JP] = RC_JCC, [X86_INS_JNP] = RC_JCC,
	[X86_INS_JL] = RC_JCC, [X86_INS_JGE] = RC_JCC, [X86_INS_JLE] = RC_JCC,
	[X86_INS_JG] = RC_JCC,
	[X86_INS_CALL] = RC_CALL,
	[X86_INS_RET] = RC_RET,
	[X86_INS_INT3] = RC_BAD_TRAP, [X86_INS_INT] = RC_BAD_TRAP,
	[X86_INS_INT1] = RC_BAD_TRAP, [X86_INS_INTO] = RC_BAD_TRAP,
	[X86_INS_SYSCALL] = RC_BAD_TRAP, [X86_INS_SYSENTER] = RC_BAD_TRAP,
	[X86_INS_SYSEXIT] = RC_BAD_TRAP, [X86_INS_SYSRET] = RC_BAD_TRAP,
	[X86_INS_IRET] = RC_BAD_TRAP, [X86_INS_IRETD] = RC_BAD_TRAP,
	[X86_INS_IRETQ] = RC_BAD_TRAP,
	[X86_INS_UD0] = RC_BAD_FAULT, [X86_INS_UD2] = RC_BAD_FAULT,
	[X86_INS_UD2B] = RC_BAD_FAULT, [X86_INS_HLT] = RC_BAD_FAULT,
	[X86_INS_IN] = RC_BAD_FAULT, [X86_INS_OUT] = RC_BAD_FAULT,
	[X86_INS_INSB] = RC_BAD_FAULT, [X86_INS_INSW] = RC_BAD_FAULT,
	[X86_INS_INSD] = RC_BAD_FAULT, [X86_INS_OUTSB] = RC_BAD_FAULT,
	[X86_INS_OUTSW] = RC_BAD_FAULT, [X86_INS_OUTSD] = RC_BAD_FAULT,
	[X86_INS_JCXZ] = RC_BAD_RCX, [X86_INS_JECXZ] = RC_BAD_RCX,
	[X86_INS_JRCXZ] = RC_BAD_RCX, [X86_INS_LOOP] = RC_BAD_RCX,
	[X86_INS_LOOPE] = RC_BAD_RCX, [X86_INS_LOOPNE] = RC_BAD_RCX,
	[X86_INS_LJMP] = RC_BAD_FAR, [X86_INS_LCALL] = RC_BAD_FAR,
	[X86_INS_RETF] = RC_BAD_FAR, [X86_INS_RETFQ] = RC_BAD_FAR,
	[X86_INS_XBEGIN] = RC_BAD_TSX,
};

static const char *const class_why[RC_NCLASSES] = {
	[RC_BAD_TRAP] = "traps into the kernel or a debugger",
	[RC_BAD_FAULT] = "faults on purpose or needs privilege",
	[RC_BAD_RCX] = "rcx-conditional branch (jrcxz/loop) is not relocated",
	[RC_BAD_FAR] = "far control transfer",
	[RC_BAD_TSX] = "xbegin has a relative abort address",
	[RC_BAD_UNSURE] = "control transfer or privileged instruction "
			  "that the relocator does not handle",
};

/* Legacy prefix bytes; 0 ends the prefix run. */
enum {
	PF_OTHER = 1 << 0,   /* f2, f3, fs, gs: harmless */
	PF_LOCK = 1 << 1,
	PF_SEG_BAD = 1 << 2, /* cs, ds, es, ss */
	PF_OPSIZE = 1 << 3,  /* 0x66 */
	PF_ADDRSIZE = 1 << 4 /* 0x67 */
};

static const uint8_t prefix_bits[256] = {
	[0xf0] = PF_LOCK, [0xf2] = PF_OTHER, [0xf3] = PF_OTHER,
	[0x2e] = PF_SEG_BAD, [0x36] = PF_SEG_BAD, [0x3e] = PF_SEG_BAD,
	[0x26] = PF_SEG_BAD, [0x64] = PF_OTHER, [0x65] = PF_OTHER,
	[0x66] = PF_OPSIZE, [0x67] = PF_ADDRSIZE,
};

enum {
	ABS_JMP_LEN = 14, /* ff 25 00 00 00 00 + .quad */
	PUSH_RIP_LEN = 6, /* ff 35 disp32 */
	JCC8_LEN = 2,
	MAX_INSN_LEN = 15
};

/* The largest form is call r/m: push + insn + quad; jcc has 3 exits. */
_Static_assert(ARCH_SLOT_SIZE >= PUSH_RIP_LEN + MAX_INSN_LEN + ABS_JMP_LEN,
	       "every slot form fits in ARCH_SLOT_SIZE");
_Static_assert(ARCH_MAX_EXITS >= 3, "the jcc form has three exits");

/* Everything the emitters need about one decoded instruction. */
struct reloc {
	const cs_insn *insn;
	const uint8_t *code;      /* the original bytes */
	uint64_t addr, slot_addr;
	unsigned len;
	unsigned pfx;             /* PF_* bits of the legacy prefixes */
	unsigned disp_off;        /* offset of a RIP-relative disp32, or 0 */
	struct arch_probe_plan *plan;
};

static csh cs_handle;
static bool cs_ready;

/* Open the shared capstone handle on first use. */
static int cs_get(csh *handle_ret)
{
	if (!cs_ready) {
		if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs_handle) != CS_ERR_OK)
			return -ENOMEM;
		if (cs_option(cs_handle, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
			cs_close(&cs_handle);
			return -ENOMEM;
		}
		cs_ready = true;
	}
	*handle_ret = cs_handle;
	return 0;
}

static int refuse(struct arch_probe_plan *plan, const char *why)
{
	plan->kind = ARCH_PROBE_REFUSE;
	plan->slot_len = 0;
	plan->n_exits = 0;
	snprintf(plan->why, sizeof(plan->why), "%s", why);
	return 0;
}

/* ---- slot emission ------------------------------------------------------ */

static void put_bytes(struct arch_probe_plan *plan, const void *p, unsigned n)
{
	memcpy(plan->slot + plan->slot_len, p, n);
	plan->slot_len += n;
}

static void put_u64(struct arch_probe_plan *plan, uint64_t v)
{
	put_bytes(plan, &v, sizeof(v)); /* x86_64 is little-endian */
}

/* ff /op [rip+disp32] reading the quad at slot offset quad_off. */
static void put_rip_op(struct arch_probe_plan *plan, uint8_t modrm,
		       unsigned quad_off)
{
	int32_t disp = (int32_t)quad_off - (int32_t)(plan->slot_len + 6);
	uint8_t op[2] = { 0xff, modrm };

	put_bytes(plan, op, sizeof(op));
	put_bytes(plan, &disp, sizeof(disp));
}

/* jmp qword ptr [rip+0]; .quad target */
static void put_abs_jmp(struct arch_probe_plan *plan, uint64_t target)
{
	put_rip_op(plan, 0x25, plan->slot_len + 6);
	put_u64(plan, target);
}

static void add_exit(struct arch_probe_plan *plan, unsigned off, uint64_t pc)
{
	plan->exits[plan->n_exits].off = (uint16_t)off;
	plan->exits[plan->n_exits].pc = pc;
	plan->n_exits++;
}

/* Re-base the disp32 of a copy placed at slot offset where (in buf). */
static int rebase_disp(const struct reloc *r, uint8_t *buf, unsigned where)
{
	int32_t old, new32;
	int64_t moved = (int64_t)(r->addr - (r->slot_addr + where));
	int64_t disp;

	memcpy(&old, r->code + r->disp_off, sizeof(old));
	disp = (int64_t)old + moved;
	if (disp < INT32_MIN || disp > INT32_MAX)
		return -ERANGE;
	new32 = (int32_t)disp;
	memcpy(buf + r->disp_off, &new32, sizeof(new32));
	return 0;
}

/* Append the instruction, with modrm replacing its ModRM byte if nonzero;
 * a RIP-relative displacement keeps its effective address. */
static int put_insn(const struct reloc *r, uint8_t modrm)
{
	uint8_t buf[MAX_INSN_LEN];
	int err;

	memcpy(buf, r->code, r->len);
	if (modrm)
		buf[r->insn->detail->x86.encoding.modrm_offset] = modrm;
	if (r->disp_off) {
		err = rebase_disp(r, buf, r->plan->slot_len);
		if (err)
			return err;
	}
	put_bytes(r->plan, buf, r->len);
	return 0;
}

/* ---- the forms, one per class --------------------------------------------- */

static int emit_copy(const struct reloc *r)
{
	uint64_t next = r->addr + r->len;
	int err;

	add_exit(r->plan, 0, r->addr);
	err = put_insn(r, 0);
	if (err)
		return err;
	add_exit(r->plan, r->plan->slot_len, next);
	put_abs_jmp(r->plan, next);
	return 0;
}

/* ret, jmp r/m: the copy never falls through, so no jump back. */
static int emit_verbatim(const struct reloc *r)
{
	add_exit(r->plan, 0, r->addr);
	return put_insn(r, 0);
}

static int emit_skip(const struct reloc *r)
{
	r->plan->kind = ARCH_PROBE_SKIP;
	return 0;
}

/* Target of a rel8/rel32 branch, from the bytes, cross-checked with
 * capstone.  Returns false when they disagree or the form is unexpected. */
static bool rel_target(const struct reloc *r, uint64_t *target_ret)
{
	const cs_x86 *x = &r->insn->detail->x86;
	unsigned off = x->encoding.imm_offset, size = x->encoding.imm_size;
	int64_t rel;

	if (off + size != r->len || x->op_count != 1 ||
	    x->operands[0].type != X86_OP_IMM)
		return false;
	if (size == 1)
		rel = (int8_t)r->code[off];
	else if (size == 4)
		rel = (int32_t)((uint32_t)r->code[off] |
				(uint32_t)r->code[off + 1] << 8 |
				(uint32_t)r->code[off + 2] << 16 |
				(uint32_t)r->code[off + 3] << 24);
	else
		return false;
	*target_ret = r->addr + r->len + (uint64_t)rel;
	return *target_ret == (uint64_t)x->operands[0].imm;
}

static bool is_rel_branch(const struct reloc *r)
{
	return r->insn->detail->x86.operands[0].type == X86_OP_IMM;
}

static int emit_jmp(const struct reloc *r)
{
	uint64_t target;

	if (!is_rel_branch(r))
		return emit_verbatim(r);
	if (!rel_target(r, &target))
		return refuse(r->plan, "capstone and the bytes disagree on "
				       "the jump target");
	add_exit(r->plan, 0, r->addr);
	put_abs_jmp(r->plan, target);
	return 0;
}

/* Condition code (low nibble of 7x / 0f 8x), or -1. */
static int jcc_condition(const struct reloc *r)
{
	const cs_x86 *x = &r->insn->detail->x86;
	unsigned off = x->encoding.imm_offset;

	if (x->encoding.imm_size == 1 && off >= 1 &&
	    (r->code[off - 1] & 0xf0) == 0x70)
		return r->code[off - 1] & 0x0f;
	if (x->encoding.imm_size == 4 && off >= 2 && r->code[off - 2] == 0x0f &&
	    (r->code[off - 1] & 0xf0) == 0x80)
		return r->code[off - 1] & 0x0f;
	return -1;
}

static int emit_jcc(const struct reloc *r)
{
	int cc = jcc_condition(r);
	uint64_t target, next = r->addr + r->len;
	uint8_t skip[JCC8_LEN] = { 0, ABS_JMP_LEN };

	if (cc < 0 || !rel_target(r, &target))
		return refuse(r->plan, "unexpected conditional jump encoding");
	skip[0] = (uint8_t)(0x70 | (cc ^ 1));
	add_exit(r->plan, 0, r->addr);
	put_bytes(r->plan, skip, sizeof(skip));
	add_exit(r->plan, r->plan->slot_len, target);
	put_abs_jmp(r->plan, target);
	add_exit(r->plan, r->plan->slot_len, next);
	put_abs_jmp(r->plan, next);
	return 0;
}

/* push [rip+X]; jmp [rip+Y]; .quad next; .quad target.  A thread stopped
 * after the push has "made the call": it maps to the target. */
static int emit_call_rel(const struct reloc *r, uint64_t target)
{
	unsigned quads = 2 * PUSH_RIP_LEN;

	add_exit(r->plan, 0, r->addr);
	put_rip_op(r->plan, 0x35, quads);
	add_exit(r->plan, r->plan->slot_len, target);
	put_rip_op(r->plan, 0x25, quads + 8);
	put_u64(r->plan, r->addr + r->len);
	put_u64(r->plan, target);
	return 0;
}

/* True when the operand of an indirect call reads rsp, which our push
 * would change before the jmp evaluates it. */
static bool operand_uses_rsp(const cs_x86_op *op)
{
	if (op->type == X86_OP_REG)
		return op->reg == X86_REG_RSP;
	return op->type == X86_OP_MEM &&
	       (op->mem.base == X86_REG_RSP || op->mem.index == X86_REG_RSP);
}

/* push [rip+X]; jmp <same r/m>; .quad next.  The boundary after the push
 * is not listed in exits: the target is a register or memory value that
 * cannot be known here.  A thread stopped there must be left to finish the
 * slot (detach then keeps the scratch page mapped). */
static int emit_call_ind(const struct reloc *r)
{
	const cs_x86 *x = &r->insn->detail->x86;
	unsigned mo = x->encoding.modrm_offset;
	uint8_t modrm = mo ? r->code[mo] : 0;
	int err;

	if (!mo || ((modrm >> 3) & 7) != 2 || r->code[mo - 1] != 0xff)
		return refuse(r->plan, "unexpected indirect call encoding");
	if (operand_uses_rsp(&x->operands[0]))
		return refuse(r->plan, "indirect call through rsp");
	add_exit(r->plan, 0, r->addr);
	put_rip_op(r->plan, 0x35, PUSH_RIP_LEN + r->len);
	err = put_insn(r, (uint8_t)((modrm & ~0x38) | (4 << 3)));
	if (err)
		return err;
	put_u64(r->plan, r->addr + r->len);
	return 0;
}

static int emit_call(const struct reloc *r)
{
	uint64_t target;

	if (!is_rel_branch(r))
		return emit_call_ind(r);
	if (!rel_target(r, &target))
		return refuse(r->plan, "capstone and the bytes disagree on "
				       "the call target");
	return emit_call_rel(r, target);
}

static int (*const emit_of_class[RC_NCLASSES])(const struct reloc *) = {
	[RC_COPY] = emit_copy,
	[RC_SKIP] = emit_skip,
	[RC_JMP] = emit_jmp,
	[RC_JCC] = emit_jcc,
	[RC_CALL] = emit_call,
	[RC_RET] = emit_verbatim,
};

/* ---- analysis ----------------------------------------------------------- */

static unsigned scan_prefixes(const uint8_t *code, unsigned len)
{
	unsigned bits = 0;

	for (unsigned i = 0; i < len && prefix_bits[code[i]]; i++)
		bits |= prefix_bits[code[i]];
	return bits;
}

static bool reads_or_writes_rip(const cs_detail *d)
{
	for (unsigned i = 0; i < d->regs_read_count; i++)
		if (d->regs_read[i] == X86_REG_RIP)
			return true;
	for (unsigned i = 0; i < d->regs_write_count; i++)
		if (d->regs_write[i] == X86_REG_RIP)
			return true;
	return false;
}

/* Control transfer or privileged per capstone, or implicit RIP use. */
static bool is_unusual(const cs_insn *insn)
{
	static const uint8_t groups[] = {
		X86_GRP_JUMP, X86_GRP_CALL, X86_GRP_RET, X86_GRP_INT,
		X86_GRP_IRET, X86_GRP_PRIVILEGE, X86_GRP_BRANCH_RELATIVE,
		X86_GRP_VM,
	};

	for (size_t i = 0; i < sizeof(groups); i++)
		if (cs_insn_group(cs_handle, insn, groups[i]))
			return true;
	return reads_or_writes_rip(insn->detail);
}

static enum rclass classify(const cs_insn *insn)
{
	enum rclass c = RC_BAD_UNSURE;

	if (insn->id < X86_INS_ENDING)
		c = (enum rclass)class_of_id[insn->id];
	if (c == RC_COPY && is_unusual(insn))
		c = RC_BAD_UNSURE;
	return c;
}

static const char *prefix_problem(unsigned pfx, enum rclass c)
{
	if (pfx & PF_LOCK)
		return "lock prefix";
	if (pfx & PF_SEG_BAD)
		return "cs/ds/es/ss segment override prefix";
	if ((pfx & PF_OPSIZE) &&
	    (c == RC_JMP || c == RC_JCC || c == RC_CALL || c == RC_RET))
		return "operand-size prefix on a branch";
	return NULL;
}

static const cs_x86_op *mem_operand(const cs_x86 *x)
{
	for (unsigned i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM)
			return &x->operands[i];
	return NULL;
}

/* Find the RIP-relative disp32 (r->disp_off); NULL or a reason to refuse.
 * The field is always 4 bytes whatever capstone's disp_size says. */
static const char *find_rip_disp(struct reloc *r)
{
	const cs_x86 *x = &r->insn->detail->x86;
	const cs_x86_op *mem = mem_operand(x);
	unsigned off = x->encoding.disp_offset, mo = x->encoding.modrm_offset;
	int32_t disp;

	if (!mem || mem->mem.base == X86_REG_INVALID)
		return NULL;
	if (mem->mem.base == X86_REG_EIP || mem->mem.base == X86_REG_IP)
		return "eip-relative addressing";
	if (mem->mem.base != X86_REG_RIP)
		return NULL;
	if (!off || !mo || off + 4 > r->len || (r->code[mo] & 0xc7) != 0x05)
		return "unexpected rip-relative encoding";
	memcpy(&disp, r->code + off, sizeof(disp));
	if ((int64_t)disp != x->disp)
		return "capstone and the bytes disagree on the displacement";
	r->disp_off = off;
	return NULL;
}

static int plan_insn(struct reloc *r)
{
	enum rclass c = classify(r->insn);
	const char *why = prefix_problem(r->pfx, c);
	int err;

	if (!why)
		why = find_rip_disp(r);
	if (!why && !emit_of_class[c])
		why = class_why[c];
	if (why)
		return refuse(r->plan, why);
	r->plan->kind = ARCH_PROBE_XOL;
	err = emit_of_class[c](r);
	if (err)
		refuse(r->plan, "the slot is too far from a rip-relative target");
	return err;
}

/* "mnemonic op_str", cut to fit insn_text. */
static void describe(const cs_insn *insn, struct arch_probe_plan *plan)
{
	size_t size = sizeof(plan->insn_text);
	size_t n = strnlen(insn->mnemonic, sizeof(insn->mnemonic) - 1);

	memcpy(plan->insn_text, insn->mnemonic, n);
	if (insn->op_str[0] && n + 1 < size - 1) {
		plan->insn_text[n++] = ' ';
		for (size_t i = 0; insn->op_str[i] && n < size - 1; i++)
			plan->insn_text[n++] = insn->op_str[i];
	}
	plan->insn_text[n] = '\0';
}

/* Decode one instruction at addr; a REFUSE plan and an error if we cannot. */
static int decode(const uint8_t *code, size_t code_len, uint64_t addr,
		  cs_insn **insn_ret, struct arch_probe_plan *plan)
{
	csh handle;
	int err = cs_get(&handle);

	if (err) {
		refuse(plan, "cannot open the capstone disassembler");
		return err;
	}
	if (!code || !code_len ||
	    cs_disasm(handle, code, code_len, addr, 1, insn_ret) != 1) {
		refuse(plan, "the bytes do not decode as an x86_64 instruction");
		return -EINVAL;
	}
	return 0;
}

int arch_plan_probe(const uint8_t *code, size_t code_len, uint64_t addr,
		    uint64_t slot_addr, struct arch_probe_plan *plan_ret)
{
	struct reloc r = { .code = code, .addr = addr, .slot_addr = slot_addr,
			   .plan = plan_ret };
	cs_insn *insn = NULL;
	int err;

	memset(plan_ret, 0, sizeof(*plan_ret));
	err = decode(code, code_len, addr, &insn, plan_ret);
	if (err)
		return err;
	r.insn = insn;
	r.len = insn->size;
	r.pfx = scan_prefixes(code, r.len);
	plan_ret->insn_len = r.len;
	describe(insn, plan_ret);
	err = plan_insn(&r);
	cs_free(insn, 1);
	return err;
}
