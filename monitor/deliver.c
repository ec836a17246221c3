// SPDX-License-Identifier: GPL-2.0
/*
 * Events into the guest: exceptions, software interrupts and device
 * interrupts, delivered through the guest's IDT with the semantics of a
 * 32-bit protected-mode CPU (SDM 3A §6.10-6.15, SDM 2A "INT n"):
 *
 *   - the gate: in the IDT's limit, an interrupt, trap or task gate, DPL
 *     checked for INT n only, present;
 *   - its code segment: a present code segment with DPL <= CPL;
 *   - a more privileged target switches to the stack the guest's TSS holds
 *     for that level and pushes the old SS:ESP;
 *   - EFLAGS, CS, EIP and the error code follow; TF, NT, RF, VM clear, and
 *     IF too through an interrupt gate;
 *   - a fault while delivering is the second exception of SDM 3A table 6-5:
 *     serial, #DF, or a triple fault (BT86_EXIT_SHUTDOWN).
 *
 * The caller has set x->regs.eip to the EIP the guest's handler returns to:
 * the faulting instruction for faults, the next one for traps and INT n.
 */
#include "shadow.h"

#define GATE_SEL(g) ((u16)((g) >> 16))
#define GATE_OFF(g) ((u32)(((g)&0xffff) | (((g) >> 48) << 16)))
#define GATE_TYPE(g) \
	((unsigned int)((g) >> 40) & 0x1f) /* type with the S bit above it */

/* Contributory exceptions (SDM 3A table 6-4). */
static bool contributory(u32 v)
{
	return v == VEC_DE || (v >= VEC_TS && v <= VEC_GP);
}

static u32 stack_top(const struct bt86_segment *ss, u32 esp)
{
	return ss->db ? esp : esp & 0xffff;
}

/*
 * A stack access has the privilege of its stack segment, whose DPL is the
 * CPL of the code that uses it: user for a ring-3 stack (SDM 3A §4.6).
 */
static unsigned int stack_acc(const struct bt86_segment *ss)
{
	return ss->dpl == 3 ? SH_ACC_USER : 0;
}

/*
 * Write @len bytes below @esp on stack @ss, with the limit check (@fault
 * if it fails); returns the new ESP in *esp.  A stack outside guest RAM
 * takes the writes as the open bus does: they vanish; a page fault is
 * the guest's.
 */
static fault_t stack_write(struct bt86_xdata *x, const struct bt86_segment *ss,
			   u32 *esp, const void *buf, u32 len, fault_t fault)
{
	u32 top = stack_top(ss, *esp);
	u32 new_top = top - len;

	if (!ss->db)
		new_top &= 0xffff;
	fault_t f;

	if (!segment_offset_ok(ss, new_top, len))
		return fault;
	f = guest_store(x, ss->base + new_top, buf, len, stack_acc(ss));
	if (f)
		return f;
	*esp = ss->db ? new_top : (*esp & 0xffff0000) | new_top;
	return 0;
}

fault_t stack_push(struct bt86_xdata *x, const struct bt86_segment *ss,
		   u32 *esp, u32 value, unsigned int size, fault_t on_fault)
{
	return stack_write(x, ss, esp, &value, size, on_fault);
}

/* Pop @size bytes from the guest's SS:ESP (#SS(0) past the limit). */
fault_t stack_pop(struct bt86_xdata *x, u32 *esp, u32 *value, unsigned int size)
{
	const struct bt86_segment *ss = &x->sregs.ss;
	u32 top = stack_top(ss, *esp);

	fault_t f;

	if (!segment_offset_ok(ss, top, size))
		return FAULT(VEC_SS, 0);
	*value = 0;
	f = guest_load(x, ss->base + top, value, size, stack_acc(ss));
	if (f)
		return f;
	top += size;
	*esp = ss->db ? top : (*esp & 0xffff0000) | (top & 0xffff);
	return 0;
}

/* The frame an event pushes, lowest address first, 2 or 4 bytes each. */
struct frame {
	u32 word[6];
	unsigned int n, size;
};

static void frame_add(struct frame *f, u32 v)
{
	/* Pushed from the top down: the first value ends up highest. */
	unsigned int i;

	for (i = f->n; i > 0; i--)
		f->word[i] = f->word[i - 1];
	f->word[0] = v;
	f->n++;
}

static fault_t frame_push(struct bt86_xdata *x, const struct bt86_segment *ss,
			  u32 *esp, const struct frame *f, fault_t fault)
{
	u8 buf[24];
	unsigned int i;

	for (i = 0; i < f->n; i++)
		mon_memcpy(buf + i * f->size, &f->word[i], f->size);
	return stack_write(x, ss, esp, buf, f->n * f->size, fault);
}

/* The ring-@cpl stack the guest's TSS holds (SDM 3A §7.2.1, §6.12.1). */
fault_t tss_stack(struct bt86_xdata *x, unsigned int cpl, u16 *ss, u32 *esp,
		  u32 ext)
{
	const struct bt86_segment *tr = &x->sregs.tr;
	bool tss32 = (tr->type & 8) != 0;
	u32 off = tss32 ? 4 + cpl * 8 : 2 + cpl * 4;
	u32 sp_size = tss32 ? 4 : 2;
	fault_t f = FAULT(VEC_TS, (tr->selector & 0xfffc) | ext);

	fault_t pf;

	if (tr->unusable || off + sp_size + 2 - 1 > tr->limit)
		return f;
	*esp = 0;
	pf = guest_load(x, tr->base + off, esp, sp_size, 0);
	if (!pf)
		pf = guest_load(x, tr->base + off + sp_size, ss, 2, 0);
	return pf;
}

/* A task gate in the IDT: the handler is another task (SDM 3A §6.12.2). */
static fault_t deliver_task_gate(struct bt86_xdata *x, u64 gate, u32 ext,
				 bool has_error, u32 error)
{
	u16 sel = GATE_SEL(gate);
	fault_t f;
	u64 d;

	if ((sel & 4) || !(sel & ~3))
		return FAULT(VEC_TS, (sel & 0xfffc) | ext);
	f = desc_fetch(x, sel, &d);
	if (f)
		return FAULT(VEC_TS, (sel & 0xfffc) | ext);
	f = task_switch(x, sel, d, TASK_INT, x->regs.eip);
	if (f)
		return f;
	if (has_error) {
		unsigned int size = (x->sregs.tr.type & 8) ? 4 : 2;

		return stack_push(x, &x->sregs.ss, &x->regs.esp, error, size,
				  FAULT(VEC_SS, ext));
	}
	return 0;
}

/* One attempt to deliver an event; a fault it raises comes back. */
static fault_t deliver_once(struct bt86_xdata *x, u32 vector,
			    enum event_kind kind, bool has_error, u32 error)
{
	u32 ext = kind != EVENT_SOFTWARE;
	u32 idt_error = vector * 8 + 2 + ext;
	unsigned int cpl = vcpu_cpl(x), new_cpl, type;
	struct bt86_segment new_ss = x->sregs.ss;
	u32 esp = x->regs.esp, eflags = x->regs.eflags;
	struct frame fr = { .n = 0 };
	u16 sel, ss_sel;
	fault_t f;
	u64 gate, d;

	if (vector * 8 + 7 > x->sregs.idt.limit)
		return FAULT(VEC_GP, idt_error);
	f = guest_load(x, x->sregs.idt.base + vector * 8, &gate, 8, 0);
	if (f)
		return f;
	type = GATE_TYPE(gate);
	if (type != SYS_TASK_GATE && type != SYS_INT16 && type != SYS_TRAP16 &&
	    type != SYS_INT32 && type != SYS_TRAP32)
		return FAULT(VEC_GP, idt_error);
	if (kind == EVENT_SOFTWARE && DESC_DPL(gate) < cpl)
		return FAULT(VEC_GP, idt_error);
	if (!DESC_P(gate))
		return FAULT(VEC_NP, idt_error);
	if (type == SYS_TASK_GATE)
		return deliver_task_gate(x, gate, ext, has_error, error);

	sel = GATE_SEL(gate);
	f = segment_check_code(x, sel, &d, VEC_GP);
	if (f)
		return f | ext;
	if (DESC_DPL(d) > cpl)
		return FAULT(VEC_GP, (sel & 0xfffc) | ext);
	new_cpl = DESC_CONFORMING(d) ? cpl : DESC_DPL(d);
	fr.size = (type & 8) ? 4 : 2;

	if (new_cpl < cpl) {
		/* Inter-privilege: the new stack comes from the TSS. */
		f = tss_stack(x, new_cpl, &ss_sel, &esp, ext);
		if (f)
			return f;
		f = segment_load_ss(x, ss_sel, new_cpl, VEC_TS, &new_ss);
		if (f)
			return fault_vector(f) == VEC_TS
				       ? f | ext
				       : FAULT(VEC_SS, fault_error(f) | ext);
		frame_add(&fr, x->sregs.ss.selector);
		frame_add(&fr, x->regs.esp);
	}
	frame_add(&fr, eflags);
	frame_add(&fr, x->sregs.cs.selector);
	frame_add(&fr, x->regs.eip);
	if (has_error)
		frame_add(&fr, error);
	f = frame_push(x, &new_ss, &esp, &fr,
		       FAULT(VEC_SS,
			     new_cpl < cpl ? (ss_sel & 0xfffc) | ext : ext));
	if (f)
		return f;

	/* Committed: the guest is in its handler. */
	desc_set_accessed(x, sel);
	x->sregs.ss = new_ss;
	x->regs.esp = esp;
	segment_from_desc(&x->sregs.cs, (sel & ~3) | new_cpl, d);
	x->regs.eip = fr.size == 4 ? GATE_OFF(gate) : GATE_OFF(gate) & 0xffff;
	vcpu_set_eflags(x, 0, EFLAGS_TF | EFLAGS_NT | EFLAGS_RF | EFLAGS_VM);
	if (!(type & 1)) /* interrupt gate, not trap gate */
		vcpu_set_eflags(x, 0, EFLAGS_IF);
	return 0;
}

static void count_delivery(struct bt86_xdata *x, u32 vector,
			   enum event_kind kind)
{
	if (kind == EVENT_SOFTWARE)
		x->stats.software_interrupts++;
	else if (kind == EVENT_EXTERNAL)
		x->stats.external_interrupts++;
	else if (vector < 32)
		x->stats.exceptions[vector]++;
}

/*
 * Deliver an event, and what its delivery raises (SDM 3A §6.15, table
 * 6-5): contributory after contributory, or a page fault followed by a
 * contributory fault or another page fault, is a double fault; a fault
 * while delivering #DF shuts the CPU down.  Anything else is handled
 * serially: the second exception is delivered instead.
 *
 * A software interrupt's delivery faults are faults of the INT
 * instruction: they report its own EIP, @insn_len bytes before the
 * return address the INT would have pushed.
 */
static long deliver(struct bt86_xdata *x, u32 vector, enum event_kind kind,
		    bool has_error, u32 error, u32 insn_len)
{
	unsigned int tries;
	fault_t f;

	/* A page fault loads CR2 with its address as it is raised. */
	if (vector == VEC_PF && kind == EVENT_EXCEPTION)
		x->sregs.cr2 = x->sh.pf_addr;
	for (tries = 0; tries < 8; tries++) {
		u32 second;

		f = deliver_once(x, vector, kind, has_error, error);
		if (!f) {
			count_delivery(x, vector, kind);
			return 0;
		}
		second = fault_vector(f);
		if (second == VEC_PF)
			x->sregs.cr2 = x->sh.pf_addr;
		if (kind == EVENT_SOFTWARE)
			x->regs.eip -= insn_len;
		else if (vector == VEC_DF)
			break;
		if (kind != EVENT_SOFTWARE &&
		    ((contributory(vector) && contributory(second)) ||
		     (vector == VEC_PF &&
		      (contributory(second) || second == VEC_PF)))) {
			vector = VEC_DF;
			error = 0;
		} else {
			vector = second;
			error = fault_error(f);
		}
		kind = EVENT_EXCEPTION;
		has_error = (ERRCODE_VECTORS >> vector) & 1;
	}
	/* Triple fault: the CPU shuts down (SDM 3A §6.15, interrupt 8). */
	return exit_to_host(x, BT86_EXIT_SHUTDOWN);
}

long deliver_event(struct bt86_xdata *x, u32 vector, enum event_kind kind,
		   bool has_error, u32 error)
{
	return deliver(x, vector, kind, has_error, error, 0);
}

/*
 * INT n, INT3, INTO: x->regs.eip is past the instruction, which is
 * @insn_len bytes long.
 */
long deliver_software_int(struct bt86_xdata *x, u32 vector, u32 insn_len)
{
	return deliver(x, vector, EVENT_SOFTWARE, false, 0, insn_len);
}

/* A fault from an emulated instruction: x->regs.eip is that instruction. */
long raise_fault(struct bt86_xdata *x, fault_t f)
{
	u32 v = fault_vector(f);

	return deliver_event(x, v, EVENT_EXCEPTION, (ERRCODE_VECTORS >> v) & 1,
			     fault_error(f));
}

/* A device interrupt the launcher injected, if the guest takes it now. */
long deliver_pending_irq(struct bt86_xdata *x)
{
	u32 v = x->v.irq_vector;

	if (v == XIRQ_NONE || !(x->regs.eflags & EFLAGS_IF) || x->v.shadow)
		return 0;
	x->v.irq_vector = XIRQ_NONE;
	return deliver_event(x, v, EVENT_EXTERNAL, false, 0);
}
