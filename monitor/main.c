// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's entry point.  The crosspage code (kmod/switch.S) calls it on
 * a monitor stack, in the monitor's address space, with interrupts off:
 *
 *   XMON_ENTER  the host is entering the guest: load the guest state the
 *               module handed over, finish a pending IN or MMIO read,
 *               deliver a waiting interrupt;
 *   XMON_TRAP   guest code trapped: emulate, deliver, or go to the host.
 *
 * Between the two, x->regs and x->sregs are the guest's state: traps copy
 * the hardware frame in (vcpu_sync_from_hw), and the frame is rebuilt from
 * them before guest code runs again (vcpu_sync_to_hw).
 *
 * It returns 0 to (re)enter the guest, anything else to return to the host
 * with x->exit_reason saying why (0: a host event the module forwards).
 */
#include "bt_monitor.h"
#include "shadow.h"

/*
 * An address no monitor page table maps: the guest owns [0, 4 GiB) and
 * the monitor lives far above, so 4 GiB itself is a hole.
 */
#define UNMAPPED_ADDRESS 0x100000000ULL

/* Leave for the host with @reason; x->regs/x->sregs are the guest's. */
long exit_to_host(struct bt86_xdata *x, u32 reason)
{
	x->exit_reason = reason;
	return 1;
}

/* Stop the VM: the guest did something bt86 cannot run (yet). */
long exit_unsupported(struct bt86_xdata *x, u32 what, u64 detail)
{
	x->v.unsupported[0] = what;
	x->v.unsupported[1] = x->regs.eip;
	x->v.unsupported[2] = detail;
	return exit_to_host(x, BT86_EXIT_INTERNAL_ERROR);
}

/*
 * Whether the launcher could inject an interrupt now, and whether it asked
 * to hear about it (SDM 3A §6.8.3: STI and MOV SS hold interrupts off for
 * one more instruction).
 */
static long check_irq_window(struct bt86_xdata *x)
{
	bool ready = (x->regs.eflags & EFLAGS_IF) && !x->v.shadow &&
		     x->v.irq_vector == XIRQ_NONE;

	if (x->v.irq_window && ready)
		return exit_to_host(x, BT86_EXIT_IRQ_WINDOW);
	return 0;
}

/*
 * Back into guest code: deliver a waiting interrupt if the guest takes one
 * now.  During an interrupt shadow the monitor sets TF so that the #DB
 * after the next instruction brings it back (trap.c).
 */
static long resume_guest(struct bt86_xdata *x)
{
	long ret;

	/* Inside a rewritten sequence: step on to the next guest insn. */
	if (x->bt.midseq) {
		x->bt.stepping = 1;
		truncate_before_entry(x);
		vcpu_sync_to_hw(x);
		x->stats.tsc_resume = rdtsc();
		return 0;
	}
	/* At a guest instruction: the translator's window may move now. */
	ret = window_place(x);
	if (ret)
		return ret;
	ret = deliver_pending_irq(x);
	if (ret)
		return ret;
	ret = check_irq_window(x);
	if (ret)
		return ret;
	x->v.step = x->v.shadow &&
		    (x->v.irq_vector != XIRQ_NONE || x->v.irq_window);
	bt_prepare(x);
	desc_lazy_update(x);
	truncate_before_entry(x);
	vcpu_sync_to_hw(x);
	x->stats.tsc_resume = rdtsc();
	return 0;
}

static long monitor_enter(struct bt86_xdata *x)
{
	if (!x->state_loaded)
		vcpu_load(x);
	shadow_enter(x);
	if (!desc_lazy_sync(x))
		desc_lazy_leave(x);
	emulate_complete(x);
	return resume_guest(x);
}

/* Keep the trap in the ring of recent ones (the launcher's stop dump). */
static void trace_trap(struct bt86_xdata *x)
{
	struct bt86_trap_record *t = &x->v.trace[x->v.trace_next++ % 4];

	t->vector = (u32)x->vector;
	t->error = (u32)x->error;
	t->eip = x->regs.eip;
	t->cs = x->sregs.cs.selector;
	t->esp = x->regs.esp;
	t->eflags = x->regs.eflags;
}

static long monitor_trap(struct bt86_xdata *x)
{
	long ret;

	x->stats.tsc_guest += rdtsc() - x->stats.tsc_resume;
	vcpu_sync_from_hw(x);
	truncate_after_trap(x);
	trace_trap(x);
	/* A lazy GDT (desc_lazy.c): the shadow follows it before anything. */
	if (!desc_lazy_sync(x))
		desc_lazy_leave(x);
	/*
	 * A host event: nothing to emulate.  It may have come before the
	 * instruction after an STI ran, so an interrupt shadow stays.
	 */
	if (bt86_is_host_event(x->vector)) {
		if (x->bt.shadow)
			x->v.shadow = 1;
		return exit_to_host(x, 0);
	}
	x->v.shadow = 0;
	/* A write to traced pages stepped natively is over (shadow/mmu.c). */
	shadow_step_done(x);
	if (x->bt.midseq) {
		ret = bt_trap_midseq(x);
		shadow_step_settle(x);
		return ret ? ret : resume_guest(x);
	}
	if (x->bt.stepping && x->vector == VEC_DB) {
		/* stepped out of a sequence: the guest is at an insn */
		dr6_reset();
		x->bt.stepping = 0;
		if (x->bt.shadow)
			x->v.shadow = 1; /* it follows an STI */
		return resume_guest(x);
	}
	x->bt.stepping = 0;
	/* A native step ends with its #DB (trap.c) or any other trap. */
	if (x->bt.native && x->vector != VEC_DB)
		x->bt.native = 0;
	ret = trap_from_guest(x);
	shadow_step_settle(x);
	if (ret)
		return ret;
	return resume_guest(x);
}

long monitor_entry(struct bt86_xdata *x)
{
	long ret;

	x->exit_reason = 0;
	if (x->mon_call == XMON_ENTER) {
		ret = monitor_enter(x);
	} else if (x->debug_fault) {
		/* BT86_TEST_MONITOR_FAULT: a monitor bug, on purpose. */
		x->debug_fault = 0;
		return *(volatile uint64_t *)UNMAPPED_ADDRESS;
	} else {
		ret = monitor_trap(x);
	}
	/* Back to the host: the FPU is the host's again (fpu.c). */
	if (ret) {
		fpu_deactivate(x);
		bt_export_stats(x);
		shadow_export_stats(x);
	}
	return ret;
}
