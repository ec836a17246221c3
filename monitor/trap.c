// SPDX-License-Identifier: GPL-2.0
/*
 * What a trap from guest code becomes.  The guest's state is in x->regs
 * and x->sregs (vcpu_sync_from_hw), the hardware's vector and error code in
 * x->vector and x->error.
 *
 *   #GP        the instruction decides (emulate.c)
 *   #GP #SS    (error 0) also a segment truncated below the BT window
 *              (truncate.c)
 *   #NP        a descriptor the shadow GDT or LDT left out: a far transfer
 *              through a gate, a return to ring 3, a load that must be #GP,
 *              or a first load that sets the accessed bit
 *   #SS        (a selector) that first load into SS, else the guest's
 *   #BP #OF    INT3, INTO (monitor gates 3 and 4 are DPL 3): software
 *   0x80       INT 0x80 (DPL 3 gate): software, checked against the
 *              guest's gate
 *   #DB        the monitor's own single step (interrupt shadow), or the
 *              guest's
 *   #PF        guest paging on: shadow paging's (shadow/mmu.c); off: an
 *              access outside guest RAM (MMIO), or a write to a traced
 *              page: translated code, the guest's GDT or LDT
 *              (shadow/trace.c)
 *   0x1f       the binary translator's call out (bt_run.c)
 *   #UD        SYSENTER on AMD CPUs in long mode, STAC and CLAC of guest
 *              ring 0 (#UD at CPL 1), else the guest's
 *   #NM        FPU use: the guest's if its CR0.TS/EM says so, else the
 *              guest's FPU state is loaded (fpu.c)
 *   others     the guest's own exception, as the CPU raised it
 *
 * Host events (interrupts, NMIs, machine checks) never come here.
 */
#include "bt_monitor.h"
#include "emulate.h"
#include "shadow.h"

#define SYSENTER_OPCODE 0x340f /* 0F 34, little endian */

/*
 * The length of the INT3 (CC), INTO (CE) or INT n (CD n) that trapped: EIP
 * is past it, and vectors 3 and 4 may come from either form.
 */
static u32 soft_int_length(struct bt86_xdata *x)
{
	u8 b[2] = { 0, 0 };

	guest_read(x, x->sregs.cs.base + x->regs.eip - 2, b, 2);
	if (x->vector == 0x80 || (b[0] == 0xcd && b[1] == x->vector))
		return 2;
	return 1;
}

/* The guest was the one who should have got this exception. */
static long reflect(struct bt86_xdata *x)
{
	u32 v = (u32)x->vector;

	return deliver_event(x, v, EVENT_EXCEPTION, (ERRCODE_VECTORS >> v) & 1,
			     (u32)x->error);
}

static u16 insn_word(struct bt86_xdata *x)
{
	u16 w = 0;

	guest_read(x, x->sregs.cs.base + x->regs.eip, &w, 2);
	return w;
}

/*
 * #NP with a selector: the guest's descriptor decides.  A far JMP/CALL to
 * a system descriptor is emulated; a selector past the guest's GDT limit
 * or naming a system descriptor is #GP(selector) on a real CPU (the shadow
 * slot is merely empty); a genuinely not-present segment is the guest's
 * #NP.
 */
static long not_present(struct bt86_xdata *x)
{
	u16 sel = (u16)x->error & 0xfffc;
	u64 d;

	if (x->error & 2) /* an IDT gate: never, the monitor's are present */
		return reflect(x);
	if (vcpu_first_load(x, sel) || vcpu_resync_slot(x, sel)) {
		/* a table page may be mapped since: trace it (desc_shadow.c) */
		desc_remapped(x);
		return 0;
	}
	if (desc_fetch(x, sel, &d))
		return raise_fault(x, FAULT(VEC_GP, sel | (x->error & 1)));
	/*
	 * A system descriptor, or ring-3 code hidden from guest ring 0
	 * (vcpu.c): emulate_gp() decodes the instruction and does it (far
	 * JMP/CALL, IRET, far RET, segment loads) or raises what a real CPU
	 * would.
	 */
	if (!DESC_S(d) || DESC_P(d)) {
		x->error = sel;
		return emulate_gp(x);
	}
	return reflect(x);
}

/*
 * The #DB of the monitor's single step ends an interrupt shadow.  The CPU
 * set DR6.BS; DR6 is the host's too, so it goes back to its quiet value
 * (SDM 3A §18.2.3: the CPU never clears DR6 itself).
 */
static long debug_trap(struct bt86_xdata *x)
{
	if (x->v.step || x->bt.native) {
		dr6_reset();
		x->v.step = 0;
		x->bt.native = 0;
		if (!(x->regs.eflags & EFLAGS_TF))
			return 0; /* resume_guest() delivers the interrupt */
	}
	return reflect(x);
}

static long page_fault(struct bt86_xdata *x)
{
	u64 cr2 = x->guest_cr2;

	/* Guest paging on: hidden or the guest's (shadow/mmu.c). */
	if (shadow_active(x))
		return shadow_page_fault(x, (u32)cr2);
	if (cr2 < 0x100000000ULL && !guest_range_ok(x, (u32)cr2, 1))
		return emulate_mmio(x, (u32)cr2);
	/* A write to a traced page: translated code, the GDT or LDT. */
	if ((x->error & 3) == 3 && cr2 < 0x100000000ULL) {
		long ret = shadow_ident_write_fault(x, (u32)cr2);

		if (ret >= 0)
			return ret;
	}
	/* Guest RAM is mapped and paging is off: this is not the guest's. */
	x->exception.vector = VEC_PF;
	x->exception.error_code = (u32)x->error;
	x->exception.eip = x->regs.eip;
	x->exception.cr2 = (u32)cr2;
	return exit_to_host(x, BT86_EXIT_EXCEPTION);
}

long trap_from_guest(struct bt86_xdata *x)
{
	switch (x->vector) {
	case VEC_GP:
		return emulate_gp(x);
	case VEC_NP:
		return not_present(x);
	case VEC_SS: {
		long ret;

		/* MOV SS at ring 3 finds a descriptor never accessed */
		if ((x->error & 0xfffc) && !(x->error & 2) &&
		    vcpu_first_load(x, (u16)x->error & 0xfffc))
			return 0;
		ret = truncate_stack_fault(x);
		return ret >= 0 ? ret : reflect(x);
	}
	case VEC_BP:
	case VEC_OF:
	case 0x80:
		/* Traps: EIP is already past the INT3/INTO/INT 0x80. */
		return deliver_software_int(x, (u32)x->vector,
					    soft_int_length(x));
	case VEC_DB:
		return debug_trap(x);
	case VEC_PF:
		return page_fault(x);
	case BT_CALLOUT_VECTOR:
		/* The translator's call out, or the guest's own INT 0x1f
		 * from ring 0 run natively (the gate has DPL 1). */
		if (bt_from_tc(x))
			return bt_callout(x);
		return deliver_software_int(x, BT_CALLOUT_VECTOR, 2);
	case VEC_UD:
		if (insn_word(x) == SYSENTER_OPCODE)
			return emulate_sysenter(x);
		if (!emulate_stac_clac(x))
			return 0;
		return reflect(x);
	case VEC_NM:
		if (x->sregs.cr0 & (CR0_TS | CR0_EM))
			return reflect(x);
		fpu_activate(x);
		return 0;
	default:
		return reflect(x);
	}
}
