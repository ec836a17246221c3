// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's C side: every trap from guest code comes here, on a monitor
 * stack, in the monitor's address space, with interrupts off
 * (kmod/switch.S, bt86_trap_common).
 *
 * For now the monitor decides nothing by itself: it counts the trap and
 * sends every one back to the host, where the module forwards host events
 * and hands guest exceptions to the launcher.  The virtual CPU (issue 4)
 * will emulate privileged instructions here without leaving the monitor.
 */
#include "monitor.h"

/*
 * An address no monitor page table maps: the guest owns [0, 4 GiB) and
 * the monitor lives far above, so 4 GiB itself is a hole.
 */
#define UNMAPPED_ADDRESS 0x100000000ULL

/* Returns 0 to resume the guest, anything else to go back to the host. */
long monitor_entry(struct bt86_xdata *x)
{
	x->traps++;
	if (x->debug_fault) {
		/* BT86_TEST_MONITOR_FAULT: a monitor bug, on purpose. */
		x->debug_fault = 0;
		return *(volatile uint64_t *)UNMAPPED_ADDRESS;
	}
	return 1;
}
