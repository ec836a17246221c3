// SPDX-License-Identifier: GPL-2.0
/*
 * The #GP path: guest code tried something CPL 1 (or IOPL 0) may not do.
 *
 * Guest ring 0 runs at CPL 1, so its privileged instructions fault; so do
 * its IRET and far RET to ring 0 (RPL 0 < CPL 1), MOV SS of its RPL 0
 * selectors, INT n through the monitor's DPL 0 gates, and port I/O and
 * CLI/STI (the real IOPL is 0).  The faulting instruction is decoded
 * (Zydis, decode.h) and done here as the guest's CPU would do it, with the
 * guest's CPL, IOPL and tables.  Anything else is the guest's own #GP and
 * goes to its IDT.
 *
 * This file: decoding, the dispatch, operand access.  The instructions
 * themselves: emulate_io.c (port I/O, MMIO), emulate_sys.c (control and
 * debug registers, MSRs, descriptor tables), iret.c, transfer.c, task.c.
 */
#include "emulate.h"

void count_emulated(struct bt86_xdata *x, unsigned int what)
{
	if (what < 32)
		x->stats.emulated[what]++;
}

void skip(struct bt86_xdata *x, const struct decoded_insn *d)
{
	u32 eip = x->regs.eip + d->insn.length;

	x->regs.eip = x->sregs.cs.db ? eip : eip & 0xffff;
}

long complete(struct bt86_xdata *x, const struct decoded_insn *d, fault_t f)
{
	if (f)
		return raise_fault(x, f);
	skip(x, d);
	return 0;
}

/* --- operands --------------------------------------------------------------- */

const ZydisDecodedOperand *find_operand(const struct decoded_insn *d,
					ZydisOperandType type)
{
	unsigned int i;

	for (i = 0; i < d->insn.operand_count; i++)
		if (d->ops[i].type == type)
			return &d->ops[i];
	return NULL;
}

/* The segment register a Zydis register names (DS for anything else). */
enum sreg zydis_sreg(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES:
		return SR_ES;
	case ZYDIS_REGISTER_CS:
		return SR_CS;
	case ZYDIS_REGISTER_SS:
		return SR_SS;
	case ZYDIS_REGISTER_FS:
		return SR_FS;
	case ZYDIS_REGISTER_GS:
		return SR_GS;
	default:
		return SR_DS;
	}
}

u32 reg_read(struct bt86_xdata *x, ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI)
		return *vcpu_gpr32(x, r - ZYDIS_REGISTER_EAX);
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI)
		return *vcpu_gpr32(x, r - ZYDIS_REGISTER_AX) & 0xffff;
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL)
		return *vcpu_gpr32(x, r - ZYDIS_REGISTER_AL) & 0xff;
	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH)
		return (*vcpu_gpr32(x, r - ZYDIS_REGISTER_AH) >> 8) & 0xff;
	if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS)
		return sreg_of(x, zydis_sreg(r))->selector;
	return 0;
}

void reg_write(struct bt86_xdata *x, ZydisRegister r, u32 value)
{
	u32 *g;

	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI) {
		*vcpu_gpr32(x, r - ZYDIS_REGISTER_EAX) = value;
	} else if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI) {
		g = vcpu_gpr32(x, r - ZYDIS_REGISTER_AX);
		*g = (*g & 0xffff0000) | (value & 0xffff);
	} else if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL) {
		g = vcpu_gpr32(x, r - ZYDIS_REGISTER_AL);
		*g = (*g & ~0xffu) | (value & 0xff);
	} else if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
		g = vcpu_gpr32(x, r - ZYDIS_REGISTER_AH);
		*g = (*g & ~0xff00u) | ((value & 0xff) << 8);
	}
}

fault_t mem_address(struct bt86_xdata *x, const struct decoded_insn *d,
		    const ZydisDecodedOperand *op, u32 len, bool write,
		    u32 *lin)
{
	const struct bt86_segment *seg =
		sreg_of(x, zydis_sreg(op->mem.segment));
	u32 ea = reg_read(x, op->mem.base) +
		 reg_read(x, op->mem.index) *
			 (op->mem.scale ? op->mem.scale : 1) +
		 (u32)op->mem.disp.value;
	fault_t f = op->mem.segment == ZYDIS_REGISTER_SS ? FAULT(VEC_SS, 0)
							 : FAULT_GP0;

	if (d->insn.address_width == 16)
		ea &= 0xffff;
	if (!segment_offset_ok(seg, ea, len))
		return f;
	/* Writes need a writable data segment (SDM 3A §5.4.1). */
	if (write && (!seg->s || (seg->type & 8) || !(seg->type & 2)))
		return f;
	*lin = seg->base + ea;
	return 0;
}

fault_t mem_read(struct bt86_xdata *x, const struct decoded_insn *d,
		 const ZydisDecodedOperand *op, void *buf, u32 len)
{
	u32 lin;
	fault_t f = mem_address(x, d, op, len, false, &lin);

	if (f)
		return f;
	/* Outside guest RAM: the open bus, all ones. */
	return guest_load(x, lin, buf, len, guest_acc(x));
}

fault_t mem_write(struct bt86_xdata *x, const struct decoded_insn *d,
		  const ZydisDecodedOperand *op, const void *buf, u32 len)
{
	u32 lin;
	fault_t f = mem_address(x, d, op, len, true, &lin);

	if (!f)
		f = guest_store(x, lin, buf, len, guest_acc(x));
	return f;
}

fault_t operand_read(struct bt86_xdata *x, const struct decoded_insn *d,
		     const ZydisDecodedOperand *op, u32 *value)
{
	*value = 0;
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		*value = reg_read(x, op->reg.value);
		return 0;
	}
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		*value = (u32)op->imm.value.u;
		return 0;
	}
	return mem_read(x, d, op, value, op->size / 8);
}

fault_t operand_write(struct bt86_xdata *x, const struct decoded_insn *d,
		      const ZydisDecodedOperand *op, u32 value)
{
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		reg_write(x, op->reg.value, value);
		return 0;
	}
	return mem_write(x, d, op, &value, op->size / 8);
}

/* --- instructions that change the flow ------------------------------------- */

/*
 * INT n through a monitor gate of DPL 0: #GP with error code n*8+2 (IDT
 * bit set, SDM 3A §6.13).  QEMU 7.2's TCG reports n*16+2 (QEMU issue
 * #1382): both forms mean the same.
 */
static long emulate_int(struct bt86_xdata *x, struct decoded_insn *d,
			bool callout)
{
	u32 n = (u32)d->ops[0].imm.value.u & 0xff;

	if (!callout && x->error != n * 8 + 2 && x->error != n * 16 + 2)
		return raise_fault(x, FAULT(VEC_GP, x->error));
	count_emulated(x, BT86_EMUL_INT);
	skip(x, d);
	return deliver_software_int(x, n, d->insn.length);
}

static long emulate_far_branch(struct bt86_xdata *x, struct decoded_insn *d,
			       bool call)
{
	const ZydisDecodedOperand *op = &d->ops[0];
	unsigned int opsize = d->insn.operand_width;
	u32 next = x->regs.eip + d->insn.length;
	u32 off = 0;
	u16 sel = 0;
	fault_t f;

	if (op->type == ZYDIS_OPERAND_TYPE_POINTER) {
		sel = op->ptr.segment;
		off = op->ptr.offset;
	} else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
		u8 buf[6];
		u32 lin;

		f = mem_address(x, d, op, opsize / 8 + 2, false, &lin);
		if (!f)
			f = guest_load(x, lin, buf, opsize / 8 + 2,
				       guest_acc(x));
		if (f)
			return raise_fault(x, f);
		mon_memcpy(&off, buf, opsize / 8);
		mon_memcpy(&sel, buf + opsize / 8, 2);
	} else {
		return raise_fault(x, FAULT(VEC_GP, x->error));
	}
	if (opsize == 16)
		next &= 0xffff;
	return far_transfer(x, sel, off, call, opsize, next);
}

/* --- MOV SS, POP SS, LSS ---------------------------------------------------- */

/*
 * Guest ring 0's SS selectors have RPL 0, and loading one at CPL 1 faults
 * (SS needs RPL = CPL): the monitor loads it with the guest's CPL.  MOV SS
 * and POP SS hold interrupts off for one instruction (SDM 3A §6.8.3).
 */
static fault_t set_ss(struct bt86_xdata *x, u16 sel, u32 esp, bool shadow)
{
	struct bt86_segment ss;
	fault_t f = segment_load_ss(x, sel, vcpu_cpl(x), VEC_GP, &ss);

	if (f)
		return f;
	count_emulated(x, BT86_EMUL_MOV_SS);
	x->sregs.ss = ss;
	x->regs.esp = esp;
	x->v.shadow = shadow;
	return 0;
}

static long emulate_mov_ss(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 sel;
	fault_t f = operand_read(x, d, &d->ops[1], &sel);

	if (!f)
		f = set_ss(x, (u16)sel, x->regs.esp, true);
	return complete(x, d, f);
}

static long emulate_pop_ss(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 esp = x->regs.esp, sel = 0;
	fault_t f = stack_pop(x, &esp, &sel, d->insn.operand_width / 8);

	if (!f)
		f = set_ss(x, (u16)sel, esp, true);
	return complete(x, d, f);
}

/* LSS r, m16:16/32: the offset goes to the register once SS loaded. */
static long emulate_lss(struct bt86_xdata *x, struct decoded_insn *d)
{
	unsigned int size = d->insn.operand_width / 8;
	u32 off = 0, lin;
	u8 buf[6];
	u16 sel;
	fault_t f = mem_address(x, d, &d->ops[1], size + 2, false, &lin);

	if (!f)
		f = guest_load(x, lin, buf, size + 2, guest_acc(x));
	if (!f) {
		mon_memcpy(&off, buf, size);
		mon_memcpy(&sel, buf + size, 2);
		f = set_ss(x, sel, x->regs.esp, false);
	}
	if (!f)
		reg_write(x, d->ops[0].reg.value, off);
	return complete(x, d, f);
}

/*
 * MOV or POP to DS, ES, FS or GS that faulted on a shadow slot (ring-3
 * code hidden from ring 0, a stale copy): the load as the guest's CPU does
 * it (SDM 2A "MOV", "POP").
 */
long emulate_load_sreg(struct bt86_xdata *x, struct decoded_insn *d, bool pop)
{
	u32 esp = x->regs.esp, sel = 0;
	fault_t f = pop ? stack_pop(x, &esp, &sel, d->insn.operand_width / 8)
			: operand_read(x, d, &d->ops[1], &sel);

	if (!f)
		f = segment_load_data(x, zydis_sreg(d->ops[0].reg.value),
				      (u16)sel, vcpu_cpl(x), VEC_GP);
	if (f)
		return raise_fault(x, f);
	x->regs.esp = esp;
	skip(x, d);
	return 0;
}

/*
 * LDS/LES/LFS/LGS r, m16:32: the segment first, then the offset.  A call
 * out, or one that faulted on a shadow slot (not present until accessed,
 * ring-3 code hidden from ring 0).
 */
long emulate_load_far(struct bt86_xdata *x, struct decoded_insn *d)
{
	static const ZydisMnemonic m[] = { ZYDIS_MNEMONIC_LES,
					   ZYDIS_MNEMONIC_LDS,
					   ZYDIS_MNEMONIC_LFS,
					   ZYDIS_MNEMONIC_LGS };
	static const enum sreg r[] = { SR_ES, SR_DS, SR_FS, SR_GS };
	unsigned int size = d->insn.operand_width / 8, i;
	u8 buf[6];
	u32 off = 0;
	u16 sel;
	fault_t f = mem_read(x, d, &d->ops[1], buf, size + 2);

	for (i = 0; i < 3 && m[i] != d->insn.mnemonic; i++)
		;
	if (!f) {
		mon_memcpy(&off, buf, size);
		mon_memcpy(&sel, buf + size, 2);
		f = segment_load_data(x, r[i], sel, vcpu_cpl(x), VEC_GP);
	}
	if (!f)
		reg_write(x, d->ops[0].reg.value, off);
	return complete(x, d, f);
}

static bool writes_data_sreg(const struct decoded_insn *d)
{
	ZydisRegister r = d->ops[0].reg.value;

	return d->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       (r == ZYDIS_REGISTER_DS || r == ZYDIS_REGISTER_ES ||
		r == ZYDIS_REGISTER_FS || r == ZYDIS_REGISTER_GS);
}

/* --- CLI, STI, HLT ---------------------------------------------------------- */

static bool iopl_allows(const struct bt86_xdata *x)
{
	return vcpu_cpl(x) <= ((x->regs.eflags & EFLAGS_IOPL) >> IOPL_SHIFT);
}

static long emulate_cli_sti(struct bt86_xdata *x, struct decoded_insn *d,
			    bool set)
{
	if (!iopl_allows(x))
		return raise_fault(x, FAULT_GP0);
	count_emulated(x, set ? BT86_EMUL_STI : BT86_EMUL_CLI);
	/* STI holds interrupts off for one more instruction (SDM 2B "STI"). */
	if (set && !(x->regs.eflags & EFLAGS_IF))
		x->v.shadow = 1;
	vcpu_set_eflags(x, set ? EFLAGS_IF : 0, EFLAGS_IF);
	skip(x, d);
	return 0;
}

/* HLT: wait for an interrupt, in the launcher, unless one waits here. */
static long emulate_hlt(struct bt86_xdata *x, struct decoded_insn *d)
{
	if (vcpu_cpl(x))
		return raise_fault(x, FAULT_GP0);
	count_emulated(x, BT86_EMUL_HLT);
	skip(x, d);
	if (x->v.irq_vector != XIRQ_NONE && (x->regs.eflags & EFLAGS_IF)) {
		x->v.shadow = 0;
		return 0;
	}
	return exit_to_host(x, BT86_EXIT_HLT);
}

/* --- the dispatch ------------------------------------------------------------ */

static bool is_far(const struct decoded_insn *d)
{
	return d->insn.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
}

static bool writes_ss(const struct decoded_insn *d)
{
	return d->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       d->ops[0].reg.value == ZYDIS_REGISTER_SS;
}

/*
 * The guest's own #GP, after one more look: a selector fault may come from
 * a shadow slot that missed a change of guest memory behind the tracing
 * (desc_shadow.c: a device model's DMA).
 */
static long guest_gp(struct bt86_xdata *x)
{
	u32 err = x->error;

	if ((err & 0xfffc) && !(err & 2) && vcpu_resync_slot(x, err & 0xfffc))
		return 0; /* run the instruction again */
	return raise_fault(x, FAULT(VEC_GP, err));
}

/* Read and decode the instruction at CS:EIP into the per-vCPU buffer. */
int decode_current(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 eip = x->sregs.cs.base + x->regs.eip;
	u8 bytes[15];
	/* Up to 15 bytes, stopping where they cannot be fetched. */
	u32 len = guest_fetch(x, eip, bytes, sizeof(bytes));

	if (!len)
		return -1;
	return decode_insn_width(bytes, len, x->sregs.cs.db ? 32 : 16, d);
}

/*
 * The decoded instruction, done as the guest's CPU would; -1 if it is none
 * of those this file knows.  @callout: the translator called the monitor
 * for it (no #GP: x->error means nothing).
 */
long emulate_decoded(struct bt86_xdata *x, struct decoded_insn *d, bool callout)
{
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_INT:
		return emulate_int(x, d, callout);
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
		return emulate_iret(x, d->insn.operand_width,
				    x->regs.eip + d->insn.length);
	case ZYDIS_MNEMONIC_RET:
		if (!is_far(d))
			break;
		return emulate_retf(
			x, d->insn.operand_width,
			d->insn.operand_count &&
					d->ops[0].type ==
						ZYDIS_OPERAND_TYPE_IMMEDIATE
				? (u16)d->ops[0].imm.value.u
				: 0);
	case ZYDIS_MNEMONIC_JMP:
	case ZYDIS_MNEMONIC_CALL:
		if (!is_far(d))
			break;
		return emulate_far_branch(
			x, d, d->insn.mnemonic == ZYDIS_MNEMONIC_CALL);
	case ZYDIS_MNEMONIC_MOV:
		if (writes_ss(d))
			return emulate_mov_ss(x, d);
		if (writes_data_sreg(d) && (x->error || callout))
			return emulate_load_sreg(x, d, false);
		break;
	case ZYDIS_MNEMONIC_POP:
		if (writes_ss(d))
			return emulate_pop_ss(x, d);
		if (writes_data_sreg(d) && (x->error || callout))
			return emulate_load_sreg(x, d, true);
		break;
	case ZYDIS_MNEMONIC_LSS:
		return emulate_lss(x, d);
	case ZYDIS_MNEMONIC_LDS:
	case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
		/* also a not-present descriptor's empty slot: #NP, not #GP */
		if (x->error || callout)
			return emulate_load_far(x, d);
		break;
	case ZYDIS_MNEMONIC_CLI:
		return emulate_cli_sti(x, d, false);
	case ZYDIS_MNEMONIC_STI:
		return emulate_cli_sti(x, d, true);
	case ZYDIS_MNEMONIC_HLT:
		return emulate_hlt(x, d);
	case ZYDIS_MNEMONIC_IN:
	case ZYDIS_MNEMONIC_OUT:
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_INSD:
	case ZYDIS_MNEMONIC_OUTSB:
	case ZYDIS_MNEMONIC_OUTSW:
	case ZYDIS_MNEMONIC_OUTSD:
		return emulate_port_io(x, d);
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_SMSW:
		return emulate_store_table(x, d);
	case ZYDIS_MNEMONIC_SYSENTER:
		return emulate_sysenter(x);
	case ZYDIS_MNEMONIC_SYSEXIT:
		return emulate_sysexit(x);
	case ZYDIS_MNEMONIC_CPUID:
		return emulate_cpuid(x, d);
	default:
		break;
	}
	/* MOV CRn/DRn, LGDT, RDMSR, ...: only guest ring 0 may. */
	if (vcpu_cpl(x) == 0 && (!x->error || callout))
		return emulate_system(x, d);
	return -1;
}

long emulate_gp(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	long ret;

	if (decode_current(x, d)) {
		ret = truncate_fault(x, NULL);
		return ret >= 0 ? ret : guest_gp(x);
	}
	ret = emulate_decoded(x, d, false);
	if (ret < 0)
		ret = truncate_fault(x, d);
	return ret >= 0 ? ret : guest_gp(x);
}

/* At entry: the launcher answered an IN or an MMIO read. */
void emulate_complete(struct bt86_xdata *x)
{
	if (x->io_pending)
		emulate_complete_io(x);
	if (x->mmio.pending)
		emulate_complete_mmio(x);
}
