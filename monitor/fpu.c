// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's x87/SSE state, switched lazily.
 *
 * The module enters the monitor's world between kernel_fpu_begin() and
 * kernel_fpu_end(): the launcher's FPU state is saved, and the FPU is the
 * monitor's until it goes back.  Every entry starts with CR0.TS set, so the
 * guest's first FPU instruction raises #NM (SDM 3A §2.5, CR0.TS).  If the
 * guest's own CR0 says TS or EM, that #NM is the guest's; otherwise the
 * monitor loads the guest's state (FXRSTOR, or FNINIT the first time),
 * clears TS and lets the instruction run again.  Before the monitor goes
 * back to the host it saves the guest's state (FXSAVE) and sets TS.
 *
 * Only x87 and SSE state moves (FXSAVE): a 32-bit guest that enables
 * CR4.OSXSAVE and AVX would lose its upper halves across exits.
 */
#include "monitor.h"

static void *fpu_image(struct bt86_xdata *x)
{
	return (u8 *)x + XDATA_FPU;
}

static void set_ts(bool on)
{
	u64 cr0;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = on ? cr0 | CR0_TS : cr0 & ~(u64)CR0_TS;
	asm volatile("mov %0, %%cr0" : : "r"(cr0));
}

/* #NM with the guest's CR0.TS and EM clear: give the guest its FPU. */
void fpu_activate(struct bt86_xdata *x)
{
	set_ts(false);
	if (x->v.fpu_saved)
		asm volatile("fxrstor %0" : : "m"(*(u8(*)[512])fpu_image(x)));
	else
		asm volatile("fninit");
	x->v.fpu_active = 1;
}

/* Keep the guest's FPU state and let its next FPU use trap again. */
void fpu_deactivate(struct bt86_xdata *x)
{
	if (!x->v.fpu_active)
		return;
	asm volatile("fxsave %0" : "=m"(*(u8(*)[512])fpu_image(x)));
	x->v.fpu_saved = 1;
	x->v.fpu_active = 0;
	set_ts(true);
}
