// SPDX-License-Identifier: GPL-2.0
/*
 * Instructions the translator calls out for (bt/classify.c), done with the
 * guest's CPL 0 semantics.  Most are what trap-and-emulate already does on
 * #GP (emulate.c); this file adds the sensitive instructions that never
 * trap at CPL 1 and so cannot be done right by trap-and-emulate: POPF and
 * 16-bit PUSHF, reads of CS and SS and the other segment registers, LAR,
 * LSL, VERR, VERW, and LDS/LES/LFS/LGS (Robin & Irvine 2000; SDM 2A/2B).
 */
#include "bt_monitor.h"
#include "emulate.h"

/* POPF (SDM 2B "POPF", protected mode): what the privilege allows. */
static long emulate_popf(struct bt86_xdata *x, struct decoded_insn *d)
{
	unsigned int size = d->insn.operand_width / 8;
	unsigned int cpl = vcpu_cpl(x);
	u32 esp = x->regs.esp, v = 0, mask;
	fault_t f = stack_pop(x, &esp, &v, size);

	if (f)
		return raise_fault(x, f);
	mask = EFLAGS_CF | (1u << 2) | (1u << 4) | (1u << 6) | (1u << 7) |
	       EFLAGS_TF | EFLAGS_DF | (1u << 11) | EFLAGS_NT;
	if (size == 4)
		mask |= EFLAGS_AC | EFLAGS_ID;
	if (cpl <= (x->regs.eflags & EFLAGS_IOPL) >> IOPL_SHIFT)
		mask |= EFLAGS_IF;
	if (cpl == 0)
		mask |= EFLAGS_IOPL;
	vcpu_set_eflags(x, v, mask);
	x->regs.esp = esp;
	skip(x, d);
	return 0;
}

/* The EFLAGS image PUSHF stores: RF and VM read as 0 (SDM 2B "PUSHF"). */
static long emulate_pushf(struct bt86_xdata *x, struct decoded_insn *d)
{
	unsigned int size = d->insn.operand_width / 8;
	u32 esp = x->regs.esp;
	fault_t f = stack_push(x, &x->sregs.ss, &esp,
			       x->regs.eflags & ~(EFLAGS_RF | EFLAGS_VM), size,
			       FAULT(VEC_SS, 0));

	if (f)
		return raise_fault(x, f);
	x->regs.esp = esp;
	skip(x, d);
	return 0;
}

static bool is_sreg(const ZydisDecodedOperand *op)
{
	return op->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       op->reg.value >= ZYDIS_REGISTER_ES &&
	       op->reg.value <= ZYDIS_REGISTER_GS;
}

/*
 * MOV r/m, Sreg: the guest's selector (a 32-bit register gets it zero
 * extended, memory always 16 bits: SDM 2A "MOV").
 */
static long emulate_read_sreg(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 sel = sreg_of(x, zydis_sreg(d->ops[1].reg.value))->selector;

	return complete(x, d, operand_write(x, d, &d->ops[0], sel));
}

/* PUSH Sreg: zero extended to the operand size, as QEMU and older CPUs. */
static long emulate_push_sreg(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 esp = x->regs.esp;
	fault_t f = stack_push(
		x, &x->sregs.ss, &esp,
		sreg_of(x, zydis_sreg(d->ops[0].reg.value))->selector,
		d->insn.operand_width / 8, FAULT(VEC_SS, 0));

	if (f)
		return raise_fault(x, f);
	x->regs.esp = esp;
	skip(x, d);
	return 0;
}

/*
 * LDS/LES/LFS/LGS r, m16:32: the segment first, then the offset.  Also
 * for one that faulted on an empty shadow slot (emulate.c).
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

/*
 * The descriptor LAR/LSL/VERR/VERW may look at, or 0 (ZF = 0): not null,
 * inside its table, and visible from CPL and RPL unless conforming code
 * (SDM 2A "LAR").  @sys: the system types the instruction accepts.
 */
static u64 visible_desc(struct bt86_xdata *x, u16 sel, u32 sys)
{
	unsigned int cpl = vcpu_cpl(x);
	u64 d;

	if (!(sel & ~3u) || desc_fetch(x, sel, &d))
		return 0;
	if (!DESC_S(d) && !((sys >> DESC_TYPE(d)) & 1))
		return 0;
	if (!DESC_CONFORMING(d) &&
	    (DESC_DPL(d) < cpl || DESC_DPL(d) < (sel & 3u)))
		return 0;
	return d;
}

/* LAR: TSS, LDT, call and task gates (1 2 3 4 5 9 B C); LSL: no gates. */
#define LAR_SYSTEM 0x1a3e
#define LSL_SYSTEM 0x0a0e

static long emulate_desc_query(struct bt86_xdata *x, struct decoded_insn *d)
{
	bool verify = d->insn.mnemonic == ZYDIS_MNEMONIC_VERR ||
		      d->insn.mnemonic == ZYDIS_MNEMONIC_VERW;
	const ZydisDecodedOperand *src = &d->ops[verify ? 0 : 1];
	u32 sel = 0, value = 0;
	fault_t f = operand_read(x, d, src, &sel);
	u64 desc;
	bool ok;

	if (f)
		return raise_fault(x, f);
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_LAR:
		desc = visible_desc(x, (u16)sel, LAR_SYSTEM);
		value = (u32)(desc >> 32) & 0x00f0ff00;
		break;
	case ZYDIS_MNEMONIC_LSL:
		desc = visible_desc(x, (u16)sel, LSL_SYSTEM);
		value = desc_limit(desc);
		break;
	case ZYDIS_MNEMONIC_VERR: /* data, or readable code */
		desc = visible_desc(x, (u16)sel, 0);
		if (DESC_CODE(desc) && !(DESC_TYPE(desc) & 2))
			desc = 0;
		break;
	default: /* VERW: writable data */
		desc = visible_desc(x, (u16)sel, 0);
		if (DESC_CODE(desc) || !(DESC_TYPE(desc) & 2))
			desc = 0;
		break;
	}
	ok = desc != 0;
	if (ok && !verify)
		reg_write(x, d->ops[0].reg.value,
			  d->insn.operand_width == 16 ? value & 0xffff : value);
	vcpu_set_eflags(x, ok ? 1u << 6 : 0, 1u << 6); /* ZF */
	skip(x, d);
	return 0;
}

static long emulate_soft_int(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 len = d->insn.length;

	if (d->insn.mnemonic == ZYDIS_MNEMONIC_INTO &&
	    !(x->regs.eflags & (1u << 11))) {
		skip(x, d);
		return 0;
	}
	skip(x, d);
	return deliver_software_int(
		x, d->insn.mnemonic == ZYDIS_MNEMONIC_INT3 ? VEC_BP : VEC_OF,
		len);
}

/*
 * MOVS and STOS (REP or not, 32-bit addresses) done by the monitor: when
 * one keeps writing translated code (bt_pages.c), running it natively
 * would fault on every element, or stop after each under TF.  Each element
 * is checked against its segment (SDM 2B "MOVS", "STOS"); guest_write()
 * drops the translations it overwrites.
 */
static long emulate_string_store(struct bt86_xdata *x, struct decoded_insn *d)
{
	unsigned int size = d->insn.operand_width / 8;
	bool rep = d->insn.attributes & ZYDIS_ATTRIB_HAS_REP;
	bool movs = (d->insn.mnemonic == ZYDIS_MNEMONIC_MOVSB ||
		     d->insn.mnemonic == ZYDIS_MNEMONIC_MOVSW ||
		     d->insn.mnemonic == ZYDIS_MNEMONIC_MOVSD);
	const struct bt86_segment *src = &x->sregs.ds, *dst = &x->sregs.es;
	int step = (x->regs.eflags & EFLAGS_DF) ? -(int)size : (int)size;
	u32 value = x->regs.eax;

	/* ZYDIS_MNEMONIC_MOVSD is SSE2's too */
	if (d->insn.meta.category != ZYDIS_CATEGORY_STRINGOP ||
	    d->insn.address_width != 32)
		return -1;
	if (movs && d->ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY &&
	    d->ops[1].mem.segment != ZYDIS_REGISTER_DS)
		return -1; /* a segment override: leave it to the CPU */
	while (!rep || x->regs.ecx) {
		if (!dst->present || !segment_offset_ok(dst, x->regs.edi, size))
			return raise_fault(x, FAULT_GP0);
		if (movs) {
			if (!segment_offset_ok(src, x->regs.esi, size))
				return raise_fault(x, FAULT_GP0);
			if (guest_read(x, src->base + x->regs.esi, &value,
				       size))
				value = 0xffffffff;
			x->regs.esi += step;
		}
		guest_write(x, dst->base + x->regs.edi, &value, size);
		x->regs.edi += step;
		if (!rep)
			break;
		x->regs.ecx--;
	}
	skip(x, d);
	return 0;
}

/*
 * What the translator made a call out: the guest instruction at CS:EIP,
 * decoded again from guest memory (it may have changed since).
 */
long bt_emulate(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	long ret;

	if (decode_current(x, d)) {
		x->bt.native = 1; /* the CPU raises #UD or #PF itself */
		return 0;
	}
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
		return emulate_popf(x, d);
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD:
		return emulate_pushf(x, d);
	case ZYDIS_MNEMONIC_INT1:
		/* ICEBP: a #DB trap through the guest's IDT */
		skip(x, d);
		return deliver_event(x, VEC_DB, EVENT_EXCEPTION, false, 0);
	case ZYDIS_MNEMONIC_CLI:
	case ZYDIS_MNEMONIC_STI:
		/* hot (bt_pages.c): the guest's CPL 0 allows both */
		vcpu_set_eflags(
			x,
			d->insn.mnemonic == ZYDIS_MNEMONIC_STI ? EFLAGS_IF : 0,
			EFLAGS_IF);
		skip(x, d);
		return 0;
	case ZYDIS_MNEMONIC_LDS:
	case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
		return emulate_load_far(x, d);
	case ZYDIS_MNEMONIC_LAR:
	case ZYDIS_MNEMONIC_LSL:
	case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW:
		return emulate_desc_query(x, d);
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
		return emulate_soft_int(x, d);
	case ZYDIS_MNEMONIC_MOV:
		if (is_sreg(&d->ops[1]))
			return emulate_read_sreg(x, d);
		break;
	case ZYDIS_MNEMONIC_PUSH:
		if (is_sreg(&d->ops[0]))
			return emulate_push_sreg(x, d);
		break;
	case ZYDIS_MNEMONIC_MOVSB:
	case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_STOSB:
	case ZYDIS_MNEMONIC_STOSW:
	case ZYDIS_MNEMONIC_STOSD:
		ret = emulate_string_store(x, d);
		if (ret >= 0)
			return ret;
		break;
	default:
		break;
	}
	ret = emulate_decoded(x, d, true);
	if (ret >= 0)
		return ret;
	/*
	 * An ordinary instruction made a call out because it kept writing
	 * translated code (bt_pages.c): its writes drop the translations
	 * first, then it runs natively.
	 */
	bt_before_native_write(x, d);
	x->bt.native = 1;
	return 0;
}
