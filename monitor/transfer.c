// SPDX-License-Identifier: GPL-2.0
/*
 * Far JMP and far CALL that cannot run natively, and SYSENTER/SYSEXIT.
 *
 * A far transfer to a guest code segment runs natively at CPL 1 (the
 * shadow descriptor has DPL 1).  One through a call gate, a task gate or a
 * TSS finds a not-present shadow slot: system descriptors are never copied
 * into the shadow GDT, because in IA-32e mode an 8-byte call gate and its
 * neighbour would form a 16-byte 64-bit gate into the monitor (SDM 3A
 * §5.8.3.1, notes/architecture.md §1).  The #NP brings it here, and this
 * file does what a 32-bit CPU does (SDM 2A "CALL", "JMP"; SDM 3A §5.8.5-6).
 *
 * SYSENTER with the guest's IA32_SYSENTER_CS set faults in the monitor's
 * world (its SYSENTER_CS is 0, or AMD refuses SYSENTER in long mode), and
 * SYSEXIT needs CPL 0: both are done here (SDM 2B "SYSENTER", "SYSEXIT").
 */
#include "monitor.h"

#define GATE_PARAMS(g) ((unsigned int)((g) >> 32) & 0x1f)

/* A flat 4 GiB segment of @type and @dpl, as SYSENTER/SYSEXIT load them. */
static void flat_segment(struct bt86_segment *s, u16 sel, u8 type, u8 dpl)
{
	mon_memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->db = 1;
	s->g = 1;
}

/* Push the return address of a far CALL onto the current stack. */
static fault_t push_return(struct bt86_xdata *x, const struct bt86_segment *ss,
			   u32 *esp, unsigned int size, u32 next_eip)
{
	fault_t f = stack_push(x, ss, esp, x->sregs.cs.selector, size,
			       FAULT(VEC_SS, 0));

	if (!f)
		f = stack_push(x, ss, esp, next_eip, size, FAULT(VEC_SS, 0));
	return f;
}

static void land(struct bt86_xdata *x, u16 sel, u64 d, unsigned int cpl,
		 u32 eip, unsigned int size)
{
	desc_set_accessed(x, sel);
	segment_from_desc(&x->sregs.cs, (sel & ~3) | cpl, d);
	x->regs.eip = size == 2 ? eip & 0xffff : eip;
}

/* JMP/CALL to a code segment: same privilege only (SDM 3A §5.8.2). */
static fault_t to_code(struct bt86_xdata *x, u16 sel, u64 d, u32 off, bool call,
		       unsigned int size, u32 next_eip)
{
	unsigned int cpl = vcpu_cpl(x);
	u32 esp = x->regs.esp;
	fault_t f;

	if (DESC_CONFORMING(d) ? DESC_DPL(d) > cpl
			       : ((sel & 3) > cpl || DESC_DPL(d) != cpl))
		return FAULT(VEC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return FAULT(VEC_NP, sel & 0xfffc);
	if (call) {
		f = push_return(x, &x->sregs.ss, &esp, size, next_eip);
		if (f)
			return f;
		x->regs.esp = esp;
	}
	land(x, sel, d, cpl, off, size);
	return 0;
}

/*
 * CALL through a call gate to a more privileged level: the stack from the
 * TSS, the old SS:ESP, the gate's parameter count of words copied from the
 * old stack, then CS:EIP (SDM 3A §5.8.5, figure 5-13).
 */
static fault_t gate_call_inner(struct bt86_xdata *x, u64 gate, u16 cs, u64 d,
			       unsigned int size, u32 next_eip)
{
	unsigned int new_cpl = DESC_DPL(d), n = GATE_PARAMS(gate), i;
	struct bt86_segment ss;
	u32 esp, params[31];
	u16 ss_sel;
	fault_t f;

	f = tss_stack(x, new_cpl, &ss_sel, &esp, 0);
	if (!f)
		f = segment_load_ss(x, ss_sel, new_cpl, VEC_TS, &ss);
	if (f)
		return f;
	for (i = 0; i < n; i++) {
		u32 at = x->regs.esp + i * size;

		params[i] = 0;
		if (!segment_offset_ok(&x->sregs.ss, at, size))
			return FAULT(VEC_SS, 0);
		guest_read(x, x->sregs.ss.base + at, &params[i], size);
	}
	f = stack_push(x, &ss, &esp, x->sregs.ss.selector, size,
		       FAULT(VEC_SS, ss_sel & 0xfffc));
	if (!f)
		f = stack_push(x, &ss, &esp, x->regs.esp, size,
			       FAULT(VEC_SS, ss_sel & 0xfffc));
	for (i = n; !f && i > 0; i--)
		f = stack_push(x, &ss, &esp, params[i - 1], size,
			       FAULT(VEC_SS, ss_sel & 0xfffc));
	if (!f)
		f = stack_push(x, &ss, &esp, x->sregs.cs.selector, size,
			       FAULT(VEC_SS, ss_sel & 0xfffc));
	if (!f)
		f = stack_push(x, &ss, &esp, next_eip, size,
			       FAULT(VEC_SS, ss_sel & 0xfffc));
	if (f)
		return f;
	x->sregs.ss = ss;
	x->regs.esp = esp;
	land(x, cs, d, new_cpl, (u32)((gate & 0xffff) | ((gate >> 48) << 16)),
	     size);
	return 0;
}

/* JMP/CALL through a call gate (SDM 3A §5.8.4-5.8.5). */
static fault_t through_call_gate(struct bt86_xdata *x, u16 sel, u64 gate,
				 bool call, u32 next_eip)
{
	unsigned int cpl = vcpu_cpl(x);
	unsigned int size = DESC_TYPE(gate) == SYS_CALL32 ? 4 : 2;
	u32 off = (u32)((gate & 0xffff) | ((gate >> 48) << 16));
	u16 cs = (u16)(gate >> 16);
	u32 esp = x->regs.esp;
	fault_t f;
	u64 d;

	if (DESC_DPL(gate) < cpl || DESC_DPL(gate) < (sel & 3u))
		return FAULT(VEC_GP, sel & 0xfffc);
	if (!DESC_P(gate))
		return FAULT(VEC_NP, sel & 0xfffc);
	f = segment_check_code(x, cs, &d, VEC_GP);
	if (f)
		return f;
	if (DESC_DPL(d) > cpl)
		return FAULT(VEC_GP, cs & 0xfffc);
	x->stats.emulated[BT86_EMUL_GATE]++;
	if (!call) {
		if (!DESC_CONFORMING(d) && DESC_DPL(d) != cpl)
			return FAULT(VEC_GP, cs & 0xfffc);
		land(x, cs, d, cpl, off, size);
		return 0;
	}
	if (!DESC_CONFORMING(d) && DESC_DPL(d) < cpl)
		return gate_call_inner(x, gate, cs, d, size, next_eip);
	f = push_return(x, &x->sregs.ss, &esp, size, next_eip);
	if (f)
		return f;
	x->regs.esp = esp;
	land(x, cs, d, cpl, off, size);
	return 0;
}

/* JMP/CALL to a TSS or through a task gate (SDM 3A §7.3). */
static fault_t to_task(struct bt86_xdata *x, u16 sel, u64 d, bool call,
		       u32 next_eip)
{
	unsigned int cpl = vcpu_cpl(x);
	enum task_reason why = call ? TASK_CALL : TASK_JMP;
	fault_t f;

	if (DESC_DPL(d) < cpl || DESC_DPL(d) < (sel & 3u))
		return FAULT(VEC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return FAULT(VEC_NP, sel & 0xfffc);
	if (DESC_TYPE(d) == SYS_TASK_GATE) {
		sel = (u16)(d >> 16);
		f = desc_fetch(x, sel, &d);
		if (f)
			return f;
	}
	return task_switch(x, sel, d, why, next_eip);
}

/*
 * A far JMP or CALL to @sel:@off with operand size @opsize (16 or 32);
 * @next_eip is the instruction after it.
 */
long far_transfer(struct bt86_xdata *x, u16 sel, u32 off, bool call,
		  unsigned int opsize, u32 next_eip)
{
	fault_t f;
	u64 d;

	if (!(sel & ~3))
		return raise_fault(x, FAULT_GP0);
	f = desc_fetch(x, sel, &d);
	if (f)
		return raise_fault(x, f);
	if (DESC_S(d)) {
		f = DESC_CODE(d) ? to_code(x, sel, d, off, call, opsize / 8,
					   next_eip)
				 : FAULT(VEC_GP, sel & 0xfffc);
	} else {
		switch (DESC_TYPE(d)) {
		case SYS_CALL16:
		case SYS_CALL32:
			f = through_call_gate(x, sel, d, call, next_eip);
			break;
		case SYS_TASK_GATE:
		case SYS_TSS16_AVAIL:
		case SYS_TSS32_AVAIL:
			f = to_task(x, sel, d, call, next_eip);
			break;
		default:
			f = FAULT(VEC_GP, sel & 0xfffc);
		}
	}
	return f ? raise_fault(x, f) : 0;
}

long emulate_sysenter(struct bt86_xdata *x)
{
	u16 cs = x->v.sysenter_cs & 0xfffc;

	if (!cs)
		return raise_fault(x, FAULT_GP0);
	x->stats.emulated[BT86_EMUL_SYSENTER]++;
	vcpu_set_eflags(x, 0, EFLAGS_VM | EFLAGS_IF | EFLAGS_RF);
	flat_segment(&x->sregs.cs, cs, 0xb, 0);
	flat_segment(&x->sregs.ss, cs + 8, 0x3, 0);
	x->regs.esp = x->v.sysenter_esp;
	x->regs.eip = x->v.sysenter_eip;
	return 0;
}

long emulate_sysexit(struct bt86_xdata *x)
{
	u16 cs = x->v.sysenter_cs & 0xfffc;

	if (!cs || vcpu_cpl(x) != 0)
		return raise_fault(x, FAULT_GP0);
	x->stats.emulated[BT86_EMUL_SYSENTER]++;
	flat_segment(&x->sregs.cs, (cs + 16) | 3, 0xb, 3);
	flat_segment(&x->sregs.ss, (cs + 24) | 3, 0x3, 3);
	x->regs.esp = x->regs.ecx;
	x->regs.eip = x->regs.edx;
	return 0;
}
