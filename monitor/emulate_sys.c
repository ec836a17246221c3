// SPDX-License-Identifier: GPL-2.0
/*
 * The system instructions of guest ring 0: control and debug registers,
 * MSRs, TLB and cache control, descriptor-table registers (SDM 2A/2B, one
 * entry each; SDM 3A chapter 2 for the registers).  They run against the
 * virtual CPU in x->sregs and x->v; nothing here touches the real ones.
 *
 * MOV to CR0, CR3 and CR4, INVLPG and EFER.NXE have their effects on the
 * shadow page tables (shadow/mmu.c).  What bt86 cannot run yet stops the
 * VM with BT86_INTERNAL_UNSUPPORTED: leaving protected mode (CR0.PE = 0),
 * PAE paging.
 */
#include "emulate.h"
#include "shadow.h"

#define CR4_DE	 (1u << 3)
#define CR4_UMIP (1u << 11)
/*
 * CR4 bits a 32-bit guest may set: VME..OSXMMEXCPT, UMIP, FSGSBASE,
 * OSXSAVE, SMEP, SMAP.  FSGSBASE has no effect outside 64-bit mode
 * (RDFSBASE and co. are #UD in protected and compatibility mode: SDM 2B
 * RDFSBASE/RDGSBASE, WRFSBASE/WRGSBASE), so the virtual bit is only kept.
 */
#define CR4_ALLOWED 0x003507ffu
#define EFER_NXE    (1u << 11)

#define MSR_TSC		     0x10
#define MSR_PLATFORM_ID	     0x17
#define MSR_APIC_BASE	     0x1b
#define MSR_BIOS_SIGN	     0x8b
#define MSR_MTRRCAP	     0xfe
#define MSR_SYSENTER_CS	     0x174
#define MSR_SYSENTER_ESP     0x175
#define MSR_SYSENTER_EIP     0x176
#define MSR_MCG_CAP	     0x179
#define MSR_MCG_STATUS	     0x17a
#define MSR_MISC_ENABLE	     0x1a0
#define MSR_PAT		     0x277
#define MSR_MTRR_DEF_TYPE    0x2ff
#define MSR_EFER	     0xc0000080u
#define APIC_BASE_BSP_ENABLE 0xfee00900u

/* --- control registers -------------------------------------------------------- */

static fault_t write_cr0(struct bt86_xdata *x, u32 v, long *stop)
{
	fault_t f = 0;

	/* PG without PE, or NW without CD: #GP(0) (SDM 3A §2.5). */
	if (((v & CR0_PG) && !(v & CR0_PE)) ||
	    ((v & (1u << 29)) && !(v & (1u << 30))))
		return FAULT_GP0;
	if (!(v & CR0_PE))
		*stop = exit_unsupported(x, BT86_UNSUPPORTED_REALMODE, v);
	else
		f = shadow_set_cr0(x, v | CR0_ET, stop);
	if (f)
		return f;
	/* The guest's TS or EM set: its next FPU use must trap to it. */
	if (x->sregs.cr0 & (CR0_TS | CR0_EM))
		fpu_deactivate(x);
	return 0;
}

static fault_t mov_cr(struct bt86_xdata *x, struct decoded_insn *d, long *stop)
{
	bool to_cr = d->ops[0].reg.value >= ZYDIS_REGISTER_CR0 &&
		     d->ops[0].reg.value <= ZYDIS_REGISTER_CR15;
	const ZydisDecodedOperand *cr = &d->ops[to_cr ? 0 : 1];
	const ZydisDecodedOperand *gpr = &d->ops[to_cr ? 1 : 0];
	unsigned int n = cr->reg.value - ZYDIS_REGISTER_CR0;
	u32 *slot, v = reg_read(x, gpr->reg.value);

	switch (n) {
	case 0:
		slot = &x->sregs.cr0;
		break;
	case 2:
		slot = &x->sregs.cr2;
		break;
	case 3:
		slot = &x->sregs.cr3;
		break;
	case 4:
		slot = &x->sregs.cr4;
		break;
	default:
		return FAULT(VEC_UD, 0);
	}
	count_emulated(x, BT86_EMUL_MOV_CR);
	if (!to_cr) {
		reg_write(x, gpr->reg.value, *slot);
		return 0;
	}
	if (n == 0)
		return write_cr0(x, v, stop);
	if (n == 3)
		return shadow_set_cr3(x, v);
	if (n == 4)
		return (v & ~cpuid_cr4_allowed(x, CR4_ALLOWED))
			       ? FAULT_GP0
			       : shadow_set_cr4(x, v);
	*slot = v;
	return 0;
}

/*
 * INVLPG m: the linear address of its operand, with no access and no
 * segment check (SDM 2A "INVLPG" raises only #UD for a register operand).
 */
static fault_t invlpg(struct bt86_xdata *x, struct decoded_insn *d)
{
	const ZydisDecodedOperand *m =
		find_operand(d, ZYDIS_OPERAND_TYPE_MEMORY);
	const struct bt86_segment *seg;
	u32 ea;

	if (!m)
		return FAULT(VEC_UD, 0);
	seg = sreg_of(x, zydis_sreg(m->mem.segment));
	ea = reg_read(x, m->mem.base) +
	     reg_read(x, m->mem.index) * (m->mem.scale ? m->mem.scale : 1) +
	     (u32)m->mem.disp.value;
	if (d->insn.address_width == 16)
		ea &= 0xffff;
	shadow_invlpg(x, seg->base + ea);
	return 0;
}

/* --- debug registers ------------------------------------------------------------ */

/*
 * The guest's DR0-DR7 are kept, not armed: the real DR7 stays 0 in the
 * monitor's world, so guest breakpoints do not fire (docs/vcpu.md).
 */
static fault_t mov_dr(struct bt86_xdata *x, struct decoded_insn *d)
{
	bool to_dr = d->ops[0].reg.value >= ZYDIS_REGISTER_DR0 &&
		     d->ops[0].reg.value <= ZYDIS_REGISTER_DR15;
	const ZydisDecodedOperand *dr = &d->ops[to_dr ? 0 : 1];
	const ZydisDecodedOperand *gpr = &d->ops[to_dr ? 1 : 0];
	unsigned int n = dr->reg.value - ZYDIS_REGISTER_DR0;
	u32 v;

	if (n > 7)
		return FAULT(VEC_UD, 0);
	/* DR4/DR5 alias DR6/DR7 unless CR4.DE (SDM 3A §18.2.2). */
	if (n == 4 || n == 5) {
		if (x->sregs.cr4 & CR4_DE)
			return FAULT(VEC_UD, 0);
		n += 2;
	}
	count_emulated(x, BT86_EMUL_MOV_DR);
	if (!to_dr) {
		v = x->v.dr[n];
		if (n == 6)
			v |= 0xffff0ff0;
		else if (n == 7)
			v |= 0x400;
		reg_write(x, gpr->reg.value, v);
		return 0;
	}
	x->v.dr[n] = reg_read(x, gpr->reg.value);
	return 0;
}

/* --- MSRs ------------------------------------------------------------------------- */

static fault_t rdmsr(struct bt86_xdata *x)
{
	u64 v;

	switch (x->regs.ecx) {
	case MSR_TSC:
		v = rdtsc();
		break;
	case MSR_APIC_BASE:
		v = APIC_BASE_BSP_ENABLE;
		break;
	case MSR_SYSENTER_CS:
		v = x->v.sysenter_cs;
		break;
	case MSR_SYSENTER_ESP:
		v = x->v.sysenter_esp;
		break;
	case MSR_SYSENTER_EIP:
		v = x->v.sysenter_eip;
		break;
	case MSR_PAT:
		v = x->v.pat;
		break;
	case MSR_EFER:
		v = x->sregs.efer;
		break;
	case MSR_MISC_ENABLE:
		v = 1; /* fast strings */
		break;
	case MSR_BIOS_SIGN:
		/* Microcode revision 1 (bits 63:32), as KVM and QEMU show. */
		v = (u64)1 << 32;
		break;
	case MSR_PLATFORM_ID:
	case MSR_MTRRCAP:
	case MSR_MCG_CAP:
	case MSR_MCG_STATUS:
	case MSR_MTRR_DEF_TYPE:
		v = 0;
		break;
	default:
		return FAULT_GP0;
	}
	count_emulated(x, BT86_EMUL_RDMSR);
	x->regs.eax = (u32)v;
	x->regs.edx = (u32)(v >> 32);
	return 0;
}

static fault_t wrmsr(struct bt86_xdata *x)
{
	u64 v = ((u64)x->regs.edx << 32) | x->regs.eax;

	switch (x->regs.ecx) {
	case MSR_SYSENTER_CS:
		x->v.sysenter_cs = (u32)v;
		break;
	case MSR_SYSENTER_ESP:
		x->v.sysenter_esp = (u32)v;
		break;
	case MSR_SYSENTER_EIP:
		x->v.sysenter_eip = (u32)v;
		break;
	case MSR_PAT:
		x->v.pat = v;
		break;
	case MSR_EFER:
		if (v & ~(u64)EFER_NXE)
			return FAULT_GP0;
		x->sregs.efer = v;
		shadow_set_efer(x);
		break;
	/* Accepted and ignored: the guest's TSC is the host's (docs/vcpu.md). */
	case MSR_TSC:
	case MSR_APIC_BASE:
	case MSR_BIOS_SIGN:
	case MSR_MCG_STATUS:
	case MSR_MTRR_DEF_TYPE:
	case MSR_MISC_ENABLE:
		break;
	default:
		return FAULT_GP0;
	}
	count_emulated(x, BT86_EMUL_WRMSR);
	return 0;
}

/* --- descriptor-table registers ------------------------------------------------ */

/* LGDT/LIDT m16&32: a 16-bit limit, then a base (24 bits with o16). */
static fault_t load_dtable(struct bt86_xdata *x, struct decoded_insn *d,
			   struct bt86_dtable *dt)
{
	const ZydisDecodedOperand *m =
		find_operand(d, ZYDIS_OPERAND_TYPE_MEMORY);
	u8 buf[6];
	fault_t f;

	if (!m)
		return FAULT(VEC_UD, 0);
	f = mem_read(x, d, m, buf, sizeof(buf));
	if (f)
		return f;
	dt->limit = buf[0] | buf[1] << 8;
	dt->base = buf[2] | buf[3] << 8 | buf[4] << 16 | (u32)buf[5] << 24;
	if (d->insn.operand_width == 16)
		dt->base &= 0xffffff;
	return 0;
}

/* LLDT (SDM 2A "LLDT"): null, or an LDT descriptor in the GDT. */
static fault_t lldt(struct bt86_xdata *x, u16 sel)
{
	fault_t f;
	u64 d;

	if (!(sel & ~3)) {
		mon_memset(&x->sregs.ldt, 0, sizeof(x->sregs.ldt));
		x->sregs.ldt.selector = sel;
		x->sregs.ldt.unusable = 1;
		vcpu_reload_ldt(x);
		return 0;
	}
	if (sel & 4)
		return FAULT(VEC_GP, sel & 0xfffc);
	f = desc_fetch(x, sel, &d);
	if (f)
		return f;
	if (DESC_S(d) || DESC_TYPE(d) != SYS_LDT)
		return FAULT(VEC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return FAULT(VEC_NP, sel & 0xfffc);
	segment_from_desc(&x->sregs.ldt, sel, d);
	vcpu_reload_ldt(x);
	return 0;
}

static fault_t selector_operand(struct bt86_xdata *x, struct decoded_insn *d,
				u16 *sel)
{
	u32 v;
	fault_t f = operand_read(x, d, &d->ops[0], &v);

	*sel = (u16)v;
	return f;
}

/*
 * The privileged instructions of guest ring 0, called for a #GP with error
 * code 0 at CPL 0.  Returns -1 if @d is none of them.
 */
long emulate_system(struct bt86_xdata *x, struct decoded_insn *d)
{
	long stop = 0;
	fault_t f = 0;
	u32 v;
	u16 sel;

	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
		if (d->ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    d->ops[1].type != ZYDIS_OPERAND_TYPE_REGISTER)
			return -1;
		if (ZydisRegisterGetClass(d->ops[0].reg.value) ==
			    ZYDIS_REGCLASS_CONTROL ||
		    ZydisRegisterGetClass(d->ops[1].reg.value) ==
			    ZYDIS_REGCLASS_CONTROL)
			f = mov_cr(x, d, &stop);
		else if (ZydisRegisterGetClass(d->ops[0].reg.value) ==
				 ZYDIS_REGCLASS_DEBUG ||
			 ZydisRegisterGetClass(d->ops[1].reg.value) ==
				 ZYDIS_REGCLASS_DEBUG)
			f = mov_dr(x, d);
		else
			return -1;
		break;
	case ZYDIS_MNEMONIC_RDMSR:
		f = rdmsr(x);
		break;
	case ZYDIS_MNEMONIC_WRMSR:
		f = wrmsr(x);
		break;
	case ZYDIS_MNEMONIC_LGDT:
		count_emulated(x, BT86_EMUL_LGDT);
		f = load_dtable(x, d, &x->sregs.gdt);
		if (!f)
			vcpu_reload_gdt(x);
		break;
	case ZYDIS_MNEMONIC_LIDT:
		count_emulated(x, BT86_EMUL_LIDT);
		f = load_dtable(x, d, &x->sregs.idt);
		break;
	case ZYDIS_MNEMONIC_LLDT:
		count_emulated(x, BT86_EMUL_LLDT);
		f = selector_operand(x, d, &sel);
		if (!f)
			f = lldt(x, sel);
		break;
	case ZYDIS_MNEMONIC_LTR:
		count_emulated(x, BT86_EMUL_LTR);
		f = selector_operand(x, d, &sel);
		if (!f)
			f = emulate_ltr(x, sel);
		break;
	case ZYDIS_MNEMONIC_INVLPG:
		count_emulated(x, BT86_EMUL_INVLPG);
		f = invlpg(x, d);
		break;
	case ZYDIS_MNEMONIC_WBINVD:
	case ZYDIS_MNEMONIC_INVD:
		/* Guest RAM is ordinary write-back host memory. */
		count_emulated(x, BT86_EMUL_WBINVD);
		break;
	case ZYDIS_MNEMONIC_CLTS:
		count_emulated(x, BT86_EMUL_CLTS_LMSW);
		x->sregs.cr0 &= ~CR0_TS;
		break;
	case ZYDIS_MNEMONIC_LMSW:
		/* The low four bits; LMSW can set PE, never clear it. */
		count_emulated(x, BT86_EMUL_CLTS_LMSW);
		f = operand_read(x, d, &d->ops[0], &v);
		if (!f)
			x->sregs.cr0 = (x->sregs.cr0 & ~0xeu) | (v & 0xf) |
				       (x->sregs.cr0 & CR0_PE);
		if (x->sregs.cr0 & (CR0_TS | CR0_EM))
			fpu_deactivate(x);
		break;
	default:
		return -1;
	}
	if (stop)
		return stop;
	return complete(x, d, f);
}

/*
 * STAC and CLAC (0F 01 CB, 0F 01 CA) of guest ring 0: #UD at CPL 1, so
 * they come here; they set and clear EFLAGS.AC, which the CPU then uses
 * for SMAP at CPL 1 as the guest's CPL 0 would (SDM 2B "STAC").  -1 if the
 * instruction is not one of them or the guest is at ring 3.
 */
int emulate_stac_clac(struct bt86_xdata *x)
{
	u8 b[3];

	if (vcpu_cpl(x) != 0 ||
	    guest_fetch(x, x->sregs.cs.base + x->regs.eip, b, 3) != 3 ||
	    b[0] != 0x0f || b[1] != 0x01 || (b[2] != 0xca && b[2] != 0xcb))
		return -1;
	vcpu_set_eflags(x, b[2] == 0xcb ? EFLAGS_AC : 0, EFLAGS_AC);
	x->regs.eip += 3;
	return 0;
}

/*
 * SGDT, SIDT, SLDT, STR, SMSW: not privileged on x86, but with CR4.UMIP in
 * the monitor's world they fault at CPL > 0, and the monitor stores the
 * guest's values instead of its own (SDM 3A §2.5: UMIP).  Without UMIP they
 * run natively and show the monitor's (docs/trap-and-emulate.md).  A guest
 * that set UMIP itself gets its #GP at ring 3.
 */
long emulate_store_table(struct bt86_xdata *x, struct decoded_insn *d)
{
	const ZydisDecodedOperand *op = &d->ops[0];
	const struct bt86_dtable *dt;
	u8 buf[6];
	u32 v;

	if (vcpu_cpl(x) > 0 && (x->sregs.cr4 & CR4_UMIP))
		return raise_fault(x, FAULT_GP0);
	count_emulated(x, BT86_EMUL_SGDT_SIDT);
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
		dt = d->insn.mnemonic == ZYDIS_MNEMONIC_SGDT ? &x->sregs.gdt
							     : &x->sregs.idt;
		v = dt->base;
		/* With o16 the top byte is stored as 0 (SDM 2B "SGDT"). */
		if (d->insn.operand_width == 16)
			v &= 0xffffff;
		mon_memcpy(buf, &dt->limit, 2);
		mon_memcpy(buf + 2, &v, 4);
		return complete(x, d, mem_write(x, d, op, buf, sizeof(buf)));
	case ZYDIS_MNEMONIC_SLDT:
		v = x->sregs.ldt.selector;
		break;
	case ZYDIS_MNEMONIC_STR:
		v = x->sregs.tr.selector;
		break;
	default: /* SMSW: all of CR0 into a 32-bit register, else 16 bits */
		v = x->sregs.cr0;
		break;
	}
	/* A 32-bit register gets the selector zero-extended. */
	return complete(x, d, operand_write(x, d, op, v));
}
