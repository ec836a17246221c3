// SPDX-License-Identifier: GPL-2.0
/*
 * IRET and far RET, as a 32-bit protected-mode CPU does them (SDM 2A
 * "IRET/IRETD", SDM 2B "RET").
 *
 * Guest ring 0 runs at CPL 1, so its IRET or RETF to guest ring 0 pops a
 * CS with RPL 0 < CPL 1 and faults (#GP(selector)): the monitor does the
 * return instead, with the checks the guest's ring 0 would have.  Returns
 * to ring 3 (RPL 3 > CPL 1) run natively.  IRET with EFLAGS.NT is a task
 * return, which long mode cannot do (#GP(0)): task.c does it.
 */
#include "monitor.h"

/* The EFLAGS bits IRET may change, by CPL and IOPL (SDM 2A "IRET"). */
static u32 iret_flag_mask(const struct bt86_xdata *x, unsigned int opsize)
{
	unsigned int cpl = vcpu_cpl(x);
	u32 iopl = (x->regs.eflags & EFLAGS_IOPL) >> IOPL_SHIFT;
	u32 mask = 0x00000dd5 | EFLAGS_TF | EFLAGS_NT | EFLAGS_RF | EFLAGS_AC |
		   EFLAGS_ID;

	if (cpl <= iopl)
		mask |= EFLAGS_IF;
	if (cpl == 0)
		mask |= EFLAGS_IOPL | EFLAGS_VIF | EFLAGS_VIP;
	if (opsize == 16)
		mask &= 0xffff;
	return mask;
}

/*
 * The code segment a return lands in: RPL >= CPL; non-conforming needs
 * DPL = RPL, conforming DPL <= RPL.  @d gets the descriptor.
 */
static fault_t return_cs_check(struct bt86_xdata *x, u16 cs, u64 *d)
{
	unsigned int rpl = cs & 3;
	fault_t f = segment_check_code(x, cs, d, VEC_GP);

	if (f)
		return f;
	if (rpl < vcpu_cpl(x))
		return FAULT(VEC_GP, cs & 0xfffc);
	if (DESC_CONFORMING(*d) ? DESC_DPL(*d) > rpl : DESC_DPL(*d) != rpl)
		return FAULT(VEC_GP, cs & 0xfffc);
	return 0;
}

/*
 * For a return to an outer level: pop SS:ESP after @esp and check the
 * stack segment for the new CPL.  *new_ss and *new_esp get them.
 */
static fault_t pop_outer_stack(struct bt86_xdata *x, u32 *esp,
			       unsigned int opsize, unsigned int rpl,
			       struct bt86_segment *new_ss, u32 *new_esp)
{
	u32 ss = 0;
	fault_t f;

	*new_esp = 0;
	f = stack_pop(x, esp, new_esp, opsize / 8);
	if (!f)
		f = stack_pop(x, esp, &ss, opsize / 8);
	if (f)
		return f;
	return segment_load_ss(x, (u16)ss, rpl, VEC_GP, new_ss);
}

/* Commit a return: CS:EIP, and the outer stack when the level changes. */
static void return_commit(struct bt86_xdata *x, u16 cs, u64 d, u32 eip,
			  const struct bt86_segment *ss, u32 esp)
{
	unsigned int old_cpl = vcpu_cpl(x), new_cpl = cs & 3;

	desc_set_accessed(x, cs);
	segment_from_desc(&x->sregs.cs, cs, d);
	x->regs.eip = eip;
	if (new_cpl > old_cpl) {
		x->sregs.ss = *ss;
		x->regs.esp = esp;
		segment_null_outer(x, new_cpl);
	} else {
		x->regs.esp = esp;
	}
}

static long iret_task_return(struct bt86_xdata *x, u32 next_eip)
{
	u16 link = 0;
	fault_t f;
	u64 d;

	if (x->sregs.tr.unusable || guest_read(x, x->sregs.tr.base, &link, 2))
		return raise_fault(x, FAULT(VEC_TS,
					    x->sregs.tr.selector & 0xfffc));
	/* The previous task: a busy TSS in the GDT (SDM 3A §7.3). */
	f = desc_fetch(x, link, &d);
	if (f || (link & 4) || DESC_S(d) ||
	    (DESC_TYPE(d) != SYS_TSS32_BUSY && DESC_TYPE(d) != SYS_TSS16_BUSY))
		return raise_fault(x, FAULT(VEC_TS, link & 0xfffc));
	f = task_switch(x, link, d, TASK_IRET, next_eip);
	return f ? raise_fault(x, f) : 0;
}

long emulate_iret(struct bt86_xdata *x, unsigned int opsize, u32 next_eip)
{
	u32 esp = x->regs.esp, eip = 0, cs = 0, flags = 0, new_esp;
	struct bt86_segment new_ss;
	fault_t f;
	u64 d;

	count_emulated(x, BT86_EMUL_IRET);
	if (x->regs.eflags & EFLAGS_NT)
		return iret_task_return(x, next_eip);
	f = stack_pop(x, &esp, &eip, opsize / 8);
	if (!f)
		f = stack_pop(x, &esp, &cs, opsize / 8);
	if (!f)
		f = stack_pop(x, &esp, &flags, opsize / 8);
	if (f)
		return raise_fault(x, f);
	if ((flags & EFLAGS_VM) && opsize == 32 && vcpu_cpl(x) == 0)
		return exit_unsupported(x, BT86_UNSUPPORTED_V86, flags);
	f = return_cs_check(x, (u16)cs, &d);
	if (f)
		return raise_fault(x, f);
	new_esp = esp;
	if ((cs & 3) > vcpu_cpl(x)) {
		f = pop_outer_stack(x, &esp, opsize, cs & 3, &new_ss, &new_esp);
		if (f)
			return raise_fault(x, f);
	}
	vcpu_set_eflags(x, flags, iret_flag_mask(x, opsize));
	return_commit(x, (u16)cs, d, opsize == 16 ? eip & 0xffff : eip, &new_ss,
		      new_esp);
	return 0;
}

long emulate_retf(struct bt86_xdata *x, unsigned int opsize, u16 imm)
{
	u32 esp = x->regs.esp, eip = 0, cs = 0, new_esp;
	struct bt86_segment new_ss;
	fault_t f;
	u64 d;

	count_emulated(x, BT86_EMUL_RETF);
	f = stack_pop(x, &esp, &eip, opsize / 8);
	if (!f)
		f = stack_pop(x, &esp, &cs, opsize / 8);
	if (f)
		return raise_fault(x, f);
	f = return_cs_check(x, (u16)cs, &d);
	if (f)
		return raise_fault(x, f);
	esp += imm;
	new_esp = esp;
	if ((cs & 3) > vcpu_cpl(x)) {
		f = pop_outer_stack(x, &esp, opsize, cs & 3, &new_ss, &new_esp);
		if (f)
			return raise_fault(x, f);
		new_esp += imm;
	}
	return_commit(x, (u16)cs, d, opsize == 16 ? eip & 0xffff : eip, &new_ss,
		      new_esp);
	return 0;
}
