// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy GDT (BT mode; docs/vcpu.md, "The lazy GDT").
 *
 * Tracing a GDT write-protects whole pages.  A GDT that shares its page
 * with data the guest keeps writing then costs a trap per write: Linux's
 * decompressor keeps its four-entry GDT in the page its heap starts in,
 * and took four million such traps to unpack the kernel.
 *
 * A CPU reads a descriptor only when it loads a segment register (SDM 3A
 * §3.4.3), so the shadow GDT must be exact only then.  After
 * LAZY_FLOOD writes in a row to the GDT's frames that miss the table's
 * bytes, and while guest ring 0 runs translated, the frames are no
 * longer traced.  Instead:
 *
 *   - every entry into the monitor compares the guest's table with the
 *     copy its shadow slots were derived from, and derives the slots that
 *     changed again (desc_lazy_sync());
 *   - every inline segment load of translated code calls out
 *     (bt_loads_call_out()), so no load runs before that comparison.
 *     Everything else that loads a segment (far transfers, IRET,
 *     exceptions, task switches) is the monitor's already.
 *
 * Native code loads segments itself: before any runs (guest ring 3,
 * ring 0 that is not translated) the GDT is traced again, and when its
 * frames are looked up again (LGDT, MOV CR3, INVLPG).
 */
#include "bt_monitor.h"
#include "shadow.h"

/* Writes in a row that miss the GDT's bytes before it goes lazy. */
#define LAZY_FLOOD 64

/* The GDT's bytes the shadow keeps (the rest is past its slots). */
static u32 gdt_bytes(const struct bt86_xdata *x)
{
	u32 n = x->desc.gdt.limit + 1;

	return n < GUEST_GDT_SLOTS * 8 ? n & ~7u : GUEST_GDT_SLOTS * 8;
}

/*
 * A write to a frame traced for the guest's tables: @hit if it reached
 * a descriptor, else it counts towards going lazy if the frame holds the
 * GDT only.
 */
void desc_lazy_note(struct bt86_xdata *x, u32 gfn, bool hit)
{
	if (hit || !desc_gdt_only_frame(x, gfn)) {
		x->desc.misses = 0;
		return;
	}
	if (x->desc.misses < LAZY_FLOOD)
		x->desc.misses++;
}

/* Entry into the monitor: the shadow follows what the guest wrote. */
bool desc_lazy_sync(struct bt86_xdata *x)
{
	struct bt_meta *m = bt_meta(x);
	u32 n = gdt_bytes(x), i;

	if (!x->desc.lazy)
		return true;
	if (guest_read(x, x->desc.gdt.base, m->gdt_now, n))
		return false;
	for (i = 0; i < n / 8; i++) {
		if (m->gdt_now[i] == m->gdt_seen[i])
			continue;
		m->gdt_seen[i] = m->gdt_now[i];
		vcpu_resync_slot(x, (u16)(i << 3));
	}
	return true;
}

/* Trace the GDT again; every slot is derived again if it could not be
 * compared. */
void desc_lazy_leave(struct bt86_xdata *x)
{
	bool synced;

	if (!x->desc.lazy)
		return;
	synced = desc_lazy_sync(x);
	x->desc.lazy = 0;
	x->desc.misses = 0;
	desc_trace_gdt(x, true);
	bt_loads_call_out(bt_cache(x), false);
	if (!synced)
		vcpu_reshadow(x);
}

static void enter(struct bt86_xdata *x)
{
	struct bt_meta *m = bt_meta(x);

	if (!x->desc.gdt.npages ||
	    guest_read(x, x->desc.gdt.base, m->gdt_seen, gdt_bytes(x)))
		return;
	x->desc.lazy = 1;
	x->stats.bt.lazy_gdt++;
	bt_loads_call_out(bt_cache(x), true);
	desc_trace_gdt(x, false);
}

/*
 * Guest code is about to run (main.c, after bt_prepare()): lazy while
 * guest ring 0 runs translated and the flood goes on; traced otherwise.
 */
void desc_lazy_update(struct bt86_xdata *x)
{
	if (!x->bt.enabled || !x->bt.ready)
		return;
	if (!x->bt.enter)
		desc_lazy_leave(x);
	else if (!x->desc.lazy && x->desc.misses >= LAZY_FLOOD)
		enter(x);
}
