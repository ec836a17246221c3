// SPDX-License-Identifier: GPL-2.0
/*
 * What the translator does with each guest ring-0 instruction.
 *
 * Most instructions mean the same at CPL 1 as at CPL 0 and are copied as
 * they are (IDENT).  The rest are sensitive: they read or write state that
 * differs between the guest's virtual CPU and the real one (IF, IOPL, CPL,
 * CS, the segment registers, the descriptor tables), or they would leave
 * the translation cache.  Robin & Irvine (USENIX Security 2000) list the
 * seventeen sensitive unprivileged IA-32 instructions; the privileged ones
 * trap at CPL 1 anyway but are cheaper called out than trapped.
 */
#include "classify.h"

static bool is_sreg(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS;
}

static bool is_ctrl_or_debug(ZydisRegister r)
{
	return (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15) ||
	       (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15);
}

/* Any explicit or implicit register operand naming a segment, CR or DR. */
static bool touches_system_register(const struct decoded_insn *d)
{
	unsigned int i;

	for (i = 0; i < d->insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &d->ops[i];

		if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
			continue;
		if (is_ctrl_or_debug(op->reg.value))
			return true;
		/* Hidden SS/CS operands (stack, far branches) are dealt with
		 * by mnemonic; a visible one is a segment register move. */
		if (is_sreg(op->reg.value) &&
		    op->visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			return true;
	}
	return false;
}

/* A memory operand through segment register @seg. */
static bool uses_segment(const struct decoded_insn *d, ZydisRegister seg)
{
	unsigned int i;

	for (i = 0; i < d->insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &d->ops[i];

		if (op->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    op->mem.segment == seg)
			return true;
	}
	return false;
}

/* A memory operand through %gs (the window's) or %cs (the TC's). */
static bool uses_gs_or_cs(const struct decoded_insn *d)
{
	return uses_segment(d, ZYDIS_REGISTER_GS) ||
	       uses_segment(d, ZYDIS_REGISTER_CS);
}

static bool is_data_sreg(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_DS || r == ZYDIS_REGISTER_ES ||
	       r == ZYDIS_REGISTER_FS;
}

/*
 * MOV DS/ES/FS, r/m16 and POP DS/ES/FS.  GS is the translator's, SS needs
 * the monitor (RPL 0 selectors, the interrupt shadow), a %gs or %cs
 * operand reaches the translator's segments.
 */
static bool loads_data_sreg(const struct decoded_insn *d)
{
	const ZydisDecodedOperand *op = &d->ops[0];

	return d->insn.operand_count &&
	       op->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       op->visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
	       is_data_sreg(op->reg.value) && !uses_gs_or_cs(d);
}

/* MOV r16/r32, Sreg (a memory destination calls out). */
static bool reads_sreg(const struct decoded_insn *d)
{
	return d->insn.operand_count >= 2 &&
	       d->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       !is_sreg(d->ops[0].reg.value) &&
	       d->ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       is_sreg(d->ops[1].reg.value);
}

static enum bt_class classify_branch(const struct decoded_insn *d)
{
	const ZydisDecodedOperand *op = &d->ops[0];

	if (d->insn.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return CLASS_CALLOUT;
	/* 16-bit near branches truncate EIP: rare, run natively. */
	if (d->insn.operand_width != 32)
		return CLASS_STEP;
	/* jmp/call *%gs:m, *%cs:m: the rewrite cannot keep the override */
	if (uses_gs_or_cs(d))
		return CLASS_STEP;
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_RET:
		return CLASS_RET;
	case ZYDIS_MNEMONIC_JMP:
		return op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? CLASS_JMP
								: CLASS_JMP_IND;
	case ZYDIS_MNEMONIC_CALL:
		return op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE
			       ? CLASS_CALL
			       : CLASS_CALL_IND;
	case ZYDIS_MNEMONIC_LOOP:
	case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE:
	case ZYDIS_MNEMONIC_JECXZ:
	case ZYDIS_MNEMONIC_JCXZ:
		return CLASS_LOOP;
	default:
		return CLASS_JCC;
	}
}

enum bt_class bt_classify(const struct decoded_insn *d)
{
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_CLI:
		return CLASS_CLI;
	case ZYDIS_MNEMONIC_STI:
		return CLASS_STI;
	case ZYDIS_MNEMONIC_PUSHFD:
		return CLASS_PUSHF;
	case ZYDIS_MNEMONIC_POPFD:
		return CLASS_POPF;
	case ZYDIS_MNEMONIC_PUSH:
		if (d->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    is_sreg(d->ops[0].reg.value) && d->insn.operand_width == 32)
			return CLASS_PUSH_SREG;
		break;
	case ZYDIS_MNEMONIC_POP:
		if (loads_data_sreg(d))
			return CLASS_LOAD_SREG;
		break;
	case ZYDIS_MNEMONIC_MOV:
		if (loads_data_sreg(d))
			return CLASS_LOAD_SREG;
		if (reads_sreg(d))
			return CLASS_READ_SREG;
		break;
	/* Robin & Irvine's sensitive unprivileged instructions */
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_LAR:
	case ZYDIS_MNEMONIC_LSL:
	case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW:
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_SMSW:
	case ZYDIS_MNEMONIC_LDS:
	case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
	case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
	/* privileged or IOPL-sensitive: they would trap at CPL 1 anyway */
	case ZYDIS_MNEMONIC_HLT:
	case ZYDIS_MNEMONIC_IN:
	case ZYDIS_MNEMONIC_OUT:
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_INSD:
	case ZYDIS_MNEMONIC_OUTSB:
	case ZYDIS_MNEMONIC_OUTSW:
	case ZYDIS_MNEMONIC_OUTSD:
	case ZYDIS_MNEMONIC_LGDT:
	case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_LLDT:
	case ZYDIS_MNEMONIC_LTR:
	case ZYDIS_MNEMONIC_LMSW:
	case ZYDIS_MNEMONIC_CLTS:
	case ZYDIS_MNEMONIC_RDMSR:
	case ZYDIS_MNEMONIC_WRMSR:
	case ZYDIS_MNEMONIC_INVLPG:
	case ZYDIS_MNEMONIC_WBINVD:
	case ZYDIS_MNEMONIC_INVD:
	case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT:
	case ZYDIS_MNEMONIC_INT1:
	/* not sensitive, but the guest must see its CPU model, not ours */
	case ZYDIS_MNEMONIC_CPUID:
		return CLASS_CALLOUT;
	/* what a real CPU refuses or that needs EFLAGS.TF: run natively */
	case ZYDIS_MNEMONIC_SYSCALL:
	case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_XBEGIN:
	case ZYDIS_MNEMONIC_XABORT:
	case ZYDIS_MNEMONIC_XEND:
		return CLASS_STEP;
	default:
		break;
	}
	if (touches_system_register(d))
		return CLASS_CALLOUT; /* MOV/PUSH/POP Sreg, MOV CRn/DRn */
	if (d->insn.meta.category == ZYDIS_CATEGORY_COND_BR ||
	    d->insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
	    d->insn.meta.category == ZYDIS_CATEGORY_CALL ||
	    d->insn.meta.category == ZYDIS_CATEGORY_RET)
		return classify_branch(d);
	/* %cs is the TC's flat segment, not the guest's: run natively */
	if (uses_segment(d, ZYDIS_REGISTER_CS))
		return CLASS_STEP;
	if (uses_segment(d, ZYDIS_REGISTER_GS))
		return CLASS_GS_MEM;
	return CLASS_IDENT;
}
