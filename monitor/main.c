// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's entry point.  The crosspage code (kmod/switch.S) calls it on
 * a monitor stack, in the monitor's address space, with interrupts off:
 *
 *   XMON_ENTER  the host is entering the guest: load the guest state the
 *               module handed over, finish a pending IN;
 *   XMON_TRAP   guest code trapped: emulate, or go back to the host.
 *
 * It returns 0 to (re)enter the guest, anything else to return to the host
 * with x->exit_reason saying why (0: a host event the module forwards).
 */
#include "monitor.h"

/*
 * An address no monitor page table maps: the guest owns [0, 4 GiB) and
 * the monitor lives far above, so 4 GiB itself is a hole.
 */
#define UNMAPPED_ADDRESS 0x100000000ULL

static long monitor_enter(struct bt86_xdata *x)
{
	if (!x->state_loaded)
		vcpu_load(x);
	if (x->io_pending)
		emulate_complete_io(x);
	return 0;
}

long monitor_entry(struct bt86_xdata *x)
{
	x->exit_reason = 0;
	if (x->mon_call == XMON_ENTER)
		return monitor_enter(x);
	x->traps++;
	if (x->debug_fault) {
		/* BT86_TEST_MONITOR_FAULT: a monitor bug, on purpose. */
		x->debug_fault = 0;
		return *(volatile uint64_t *)UNMAPPED_ADDRESS;
	}
	return emulate_trap(x);
}
