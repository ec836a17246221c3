// SPDX-License-Identifier: GPL-2.0
/*
 * Task switches and LTR.  Long mode has no hardware task switching (SDM 3A
 * §7.7: a task gate, a far transfer to a TSS or an IRET with NT raise #GP
 * in IA-32e mode), yet a 32-bit guest may rely on it: Linux i386 takes #DF
 * through a task gate so that a kernel stack overflow still reaches a
 * handler.  So the monitor performs the switch itself, as SDM 3A §7.3
 * describes it: save the state in the current TSS, mark the busy bits and
 * the back link, load the new TSS's state, set CR0.TS.
 *
 * Only 32-bit TSSs are switched to; a 16-bit TSS (80286 tasks) gets #TS.
 */
#include "shadow.h"

/* The 32-bit TSS (SDM 3A §7.2.1, figure 7-2). */
struct tss32 {
	u32 link, esp0, ss0, esp1, ss1, esp2, ss2;
	u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u32 es, cs, ss, ds, fs, gs, ldt;
	u16 trap, iomap_base;
} __packed;

#define TSS32_MIN_LIMIT 0x67
#define TSS_DYNAMIC	offsetof(struct tss32, eip) /* saved from here ... */
#define TSS_DYNAMIC_END offsetof(struct tss32, ldt) /* ... to here */

/* The dynamic fields of the outgoing task into its TSS (SDM 3A §7.2.1). */
static void save_task(struct bt86_xdata *x, u32 eip, u32 eflags)
{
	struct bt86_regs *r = &x->regs;
	struct bt86_sregs *sr = &x->sregs;
	struct tss32 t;

	t.eip = eip;
	t.eflags = eflags;
	t.eax = r->eax;
	t.ecx = r->ecx;
	t.edx = r->edx;
	t.ebx = r->ebx;
	t.esp = r->esp;
	t.ebp = r->ebp;
	t.esi = r->esi;
	t.edi = r->edi;
	t.es = sr->es.selector;
	t.cs = sr->cs.selector;
	t.ss = sr->ss.selector;
	t.ds = sr->ds.selector;
	t.fs = sr->fs.selector;
	t.gs = sr->gs.selector;
	guest_write(x, sr->tr.base + TSS_DYNAMIC, (u8 *)&t + TSS_DYNAMIC,
		    TSS_DYNAMIC_END - TSS_DYNAMIC);
}

/* The new task's LDTR: null, or an LDT descriptor in the GDT. */
static fault_t load_task_ldt(struct bt86_xdata *x, u16 sel)
{
	fault_t f;
	u64 d;

	if (!(sel & ~3)) {
		mon_memset(&x->sregs.ldt, 0, sizeof(x->sregs.ldt));
		x->sregs.ldt.unusable = 1;
		vcpu_reload_ldt(x);
		return 0;
	}
	f = desc_fetch(x, sel, &d);
	if (f || (sel & 4) || DESC_S(d) || DESC_TYPE(d) != SYS_LDT)
		return FAULT(VEC_TS, sel & 0xfffc);
	if (!DESC_P(d))
		return FAULT(VEC_TS, sel & 0xfffc);
	segment_from_desc(&x->sregs.ldt, sel, d);
	vcpu_reload_ldt(x);
	return 0;
}

/*
 * The new task's segments, checked in its own context: faults here are
 * #TS (or #NP/#SS) taken by the new task (SDM 3A §7.3, step 13).
 */
static fault_t load_task_segments(struct bt86_xdata *x, const struct tss32 *t)
{
	unsigned int cpl = t->cs & 3;
	struct bt86_segment ss;
	fault_t f;
	u64 d;

	f = segment_check_code(x, (u16)t->cs, &d, VEC_TS);
	if (f)
		return f;
	if (DESC_CONFORMING(d) ? DESC_DPL(d) > cpl : DESC_DPL(d) != cpl)
		return FAULT(VEC_TS, t->cs & 0xfffc);
	desc_set_accessed(x, (u16)t->cs);
	segment_from_desc(&x->sregs.cs, (u16)t->cs, d);
	f = segment_load_ss(x, (u16)t->ss, cpl, VEC_TS, &ss);
	if (f)
		return f;
	x->sregs.ss = ss;
	f = segment_load_data(x, SR_DS, (u16)t->ds, cpl, VEC_TS);
	if (!f)
		f = segment_load_data(x, SR_ES, (u16)t->es, cpl, VEC_TS);
	if (!f)
		f = segment_load_data(x, SR_FS, (u16)t->fs, cpl, VEC_TS);
	if (!f)
		f = segment_load_data(x, SR_GS, (u16)t->gs, cpl, VEC_TS);
	return f;
}

static fault_t check_new_tss(u16 sel, u64 d, enum task_reason why)
{
	unsigned int type = DESC_TYPE(d);
	unsigned int want = why == TASK_IRET ? SYS_TSS32_BUSY : SYS_TSS32_AVAIL;
	u32 vector = why == TASK_IRET ? VEC_TS : VEC_GP;

	if ((sel & 4) || DESC_S(d))
		return FAULT(vector, sel & 0xfffc);
	if (type == (want & ~8u))
		return FAULT(VEC_TS, sel & 0xfffc); /* a 16-bit TSS */
	if (type != want)
		return FAULT(vector, sel & 0xfffc);
	if (!DESC_P(d))
		return FAULT(VEC_NP, sel & 0xfffc);
	if (desc_limit(d) < TSS32_MIN_LIMIT)
		return FAULT(VEC_TS, sel & 0xfffc);
	return 0;
}

/*
 * Switch to the task whose TSS descriptor is @d (selector @sel).  @next_eip
 * is the EIP the outgoing task resumes at.  Returns a fault to deliver
 * (in the new task's context when the switch got that far).
 */
fault_t task_switch(struct bt86_xdata *x, u16 sel, u64 d, enum task_reason why,
		    u32 next_eip)
{
	u16 old_tr = x->sregs.tr.selector;
	u32 eflags = x->regs.eflags;
	struct tss32 t;
	fault_t f;

	f = check_new_tss(sel, d, why);
	if (f)
		return f;
	if (guest_read(x, desc_base(d), &t, sizeof(t)))
		return FAULT(VEC_TS, sel & 0xfffc);

	/* The outgoing task. */
	if (why == TASK_IRET)
		eflags &= ~EFLAGS_NT;
	if (!x->sregs.tr.unusable) {
		save_task(x, next_eip, eflags);
		if (why == TASK_JMP || why == TASK_IRET)
			desc_write_type(x, old_tr, x->sregs.tr.type & ~2u);
	}

	/* The incoming one: link, busy, TR, CR0.TS. */
	if (why == TASK_CALL || why == TASK_INT) {
		t.eflags |= EFLAGS_NT;
		guest_write(x, desc_base(d), &old_tr, 2);
	}
	if (why != TASK_IRET)
		desc_write_type(x, sel, SYS_TSS32_BUSY);
	segment_from_desc(&x->sregs.tr, sel, d);
	x->sregs.tr.type = SYS_TSS32_BUSY;
	x->sregs.cr0 |= CR0_TS;
	fpu_deactivate(x);
	/* The new address space, if paging is on (SDM 3A §7.3, step 9). */
	if (x->sregs.cr0 & CR0_PG)
		shadow_set_cr3(x, t.cr3);
	else
		x->sregs.cr3 = t.cr3;
	x->stats.emulated[BT86_EMUL_TASK]++;

	x->regs.eip = t.eip;
	x->regs.eflags = (t.eflags & ~EFLAGS_VM) | 2;
	x->regs.eax = t.eax;
	x->regs.ecx = t.ecx;
	x->regs.edx = t.edx;
	x->regs.ebx = t.ebx;
	x->regs.esp = t.esp;
	x->regs.ebp = t.ebp;
	x->regs.esi = t.esi;
	x->regs.edi = t.edi;
	f = load_task_ldt(x, (u16)t.ldt);
	if (!f)
		f = load_task_segments(x, &t);
	return f;
}

/* LTR at guest ring 0 (SDM 2A "LTR"): an available TSS, marked busy. */
fault_t emulate_ltr(struct bt86_xdata *x, u16 sel)
{
	unsigned int type;
	fault_t f;
	u64 d;

	if (!(sel & ~3))
		return FAULT_GP0;
	if (sel & 4)
		return FAULT(VEC_GP, sel & 0xfffc);
	f = desc_fetch(x, sel, &d);
	if (f)
		return f;
	type = DESC_TYPE(d);
	if (DESC_S(d) || (type != SYS_TSS32_AVAIL && type != SYS_TSS16_AVAIL))
		return FAULT(VEC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return FAULT(VEC_NP, sel & 0xfffc);
	desc_write_type(x, sel, type | 2);
	segment_from_desc(&x->sregs.tr, sel, d);
	x->sregs.tr.type = type | 2;
	return 0;
}
