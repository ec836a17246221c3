// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID: the guest's CPU model (BT86_SET_CPUID), answered by the monitor
 * when guest code's CPUID reaches it (a call out from translated ring-0
 * code; CPUID does not trap, so tae's ring 0 and every ring 3 run it
 * natively and see the host's).  The lookup follows an Intel CPU (SDM 2A,
 * CPUID): a basic function above the highest basic leaf, or an extended
 * one above the highest extended leaf, gets the highest basic leaf's
 * answer; a leaf the model leaves out reads as zeros.  Without a model,
 * the host's CPUID answers.
 */
#include "emulate.h"

#define CPUID_EXT 0x80000000u

static struct bt86_xcpuid *cpu_model(struct bt86_xdata *x)
{
	return (struct bt86_xcpuid *)((u8 *)x + XDATA_CPUID);
}

/* The entry for function/index, or NULL. */
static const struct bt86_cpuid_entry *model_entry(const struct bt86_xcpuid *m,
						  u32 function, u32 index)
{
	u32 i, n = m->nent < BT86_CPUID_MAX_ENTRIES ? m->nent
						    : BT86_CPUID_MAX_ENTRIES;

	for (i = 0; i < n; i++) {
		const struct bt86_cpuid_entry *e = &m->e[i];

		if (e->function == function &&
		    (!(e->flags & BT86_CPUID_INDEXED) || e->index == index))
			return e;
	}
	return NULL;
}

/* The highest leaf of function's range (basic or extended), or 0. */
static u32 model_max_leaf(const struct bt86_xcpuid *m, u32 function)
{
	const struct bt86_cpuid_entry *e =
		model_entry(m, function & CPUID_EXT, 0);

	return e ? e->eax : 0;
}

static void host_cpuid(u32 function, u32 index, u32 out[4])
{
	asm volatile("cpuid"
		     : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3])
		     : "a"(function), "c"(index));
}

void cpuid_answer(struct bt86_xdata *x, u32 function, u32 index, u32 out[4])
{
	const struct bt86_xcpuid *m = cpu_model(x);
	const struct bt86_cpuid_entry *e;
	u32 max;

	if (!m->nent) {
		host_cpuid(function, index, out);
		return;
	}
	max = model_max_leaf(m, function);
	if (function > max || (function & CPUID_EXT && !max)) {
		function = model_max_leaf(m, 0);
		index = 0;
	}
	e = model_entry(m, function, index);
	out[0] = e ? e->eax : 0;
	out[1] = e ? e->ebx : 0;
	out[2] = e ? e->ecx : 0;
	out[3] = e ? e->edx : 0;
}

/*
 * The CPUID guest ring 0 sees: the model's answer when it asks bt's
 * translator, the host's under tae, where its CPUID runs natively.
 */
static void seen_cpuid(struct bt86_xdata *x, u32 function, u32 out[4])
{
	if (x->bt.enabled)
		cpuid_answer(x, function, 0, out);
	else
		host_cpuid(function, 0, out);
}

/*
 * The CR4 bits a MOV to CR4 may set: of those the monitor supports, all but
 * the ones for features the CPUID guest ring 0 sees lacks among OSXSAVE,
 * UMIP, SMEP, SMAP and FSGSBASE (#GP, SDM 3A §2.5; CR4 bits of features a
 * CPU does not enumerate are reserved).  KVM and QEMU check these and
 * accept the older bits (VME to OSXMMEXCPT) whatever CPUID says; so does
 * bt86, so that one guest behaves the same under all three.  Under tae the
 * guest sees the host's CPUID and may set what the host has
 * (docs/trap-and-emulate.md, "CPUID and CR4 under tae").
 */
u32 cpuid_cr4_allowed(struct bt86_xdata *x, u32 supported)
{
	u32 l0[4], l1[4], l7[4] = { 0 }, allowed = supported;

	seen_cpuid(x, 0, l0);
	seen_cpuid(x, 1, l1);
	if (l0[0] >= 7)
		seen_cpuid(x, 7, l7);
	if (!(l1[2] >> 27 & 1)) /* XSAVE */
		allowed &= ~(1u << 18);
	if (!(l7[2] >> 2 & 1)) /* UMIP */
		allowed &= ~(1u << 11);
	if (!(l7[1] >> 0 & 1)) /* FSGSBASE */
		allowed &= ~(1u << 16);
	if (!(l7[1] >> 7 & 1)) /* SMEP */
		allowed &= ~(1u << 20);
	if (!(l7[1] >> 20 & 1)) /* SMAP */
		allowed &= ~(1u << 21);
	return allowed;
}

long emulate_cpuid(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 r[4];

	count_emulated(x, BT86_EMUL_CPUID);
	cpuid_answer(x, x->regs.eax, x->regs.ecx, r);
	x->regs.eax = r[0];
	x->regs.ebx = r[1];
	x->regs.ecx = r[2];
	x->regs.edx = r[3];
	skip(x, d);
	return 0;
}
