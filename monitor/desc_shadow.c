// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping the shadow GDT and LDT (vcpu.c derives their slots) exact while
 * the guest changes its own tables, and the shadow LDT in LDTR
 * (docs/vcpu.md, "The shadow GDT and LDT").
 *
 * Tracing.  The guest frames that hold the guest's GDT (the slots the
 * shadow keeps, 0 to 495) and its LDT (up to 8192 descriptors) are traced
 * for TRACE_DESC (shadow/trace.c), the same write protection as shadowed
 * page tables and translated code: a frame may be traced for any mix of
 * them.  A guest write there faults, and shadow paging's traced-write path
 * (shadow/mmu.c) does it: emulated for the forms kernels use on table
 * entries, else run natively alone on a mapping opened for one
 * instruction.  Either way the bytes land through the guest-physical
 * alias or the step ends, and desc_written() derives every shadow slot
 * over them again.  The monitor's own writes (accessed and busy bits, task
 * state, stack frames) go through guestmem.c, which calls it too.  A
 * segment register loaded before keeps its hidden part: vcpu.c then runs
 * it from a stale slot, as the CPU would.
 *
 * The tables are linear ranges; what is traced is the guest frame each of
 * their pages maps to now (the identity with guest paging off).  The
 * frames are looked up again where a TLB would be refilled: LGDT, LLDT
 * and task switches, MOV to CR3, INVLPG, paging mode changes
 * (desc_remapped()), and when a descriptor load's #NP finds the guest's
 * descriptor changed (trap.c): a page mapped where nothing was needs no
 * INVLPG (SDM 3A §4.10.4.3).
 *
 * LDTR.  While the guest has an LDT, LDTR holds the shadow LDT (xdata at
 * XDATA_SHADOW_LDT) through the 16-byte system descriptor in slots 508-509
 * of the guest GDT, with the guest's limit, so that guest code at CPL 1
 * and 3 loads LDT selectors natively and a selector past the limit faults
 * as on the guest's CPU.  The descriptor has DPL 0: no guest selector can
 * use it.  The world switch clears LDTR at every entry; desc_load_ldtr()
 * loads it again before guest code runs.
 */
#include "bt_monitor.h"
#include "shadow.h"

#define GUEST_GDT_TRACE_LIMIT (GUEST_GDT_SLOTS * 8 - 1)
#define LDT_TRACE_LIMIT	      (SHADOW_LDT_SLOTS * 8 - 1)
#define NO_FRAME	      0xffffffffu

/*
 * The guest frame linear page @lin maps to for the CPU's descriptor-table
 * accesses (supervisor, SDM 3A §4.6), or NO_FRAME: not mapped, not RAM.
 */
static u32 desc_frame(struct bt86_xdata *x, u32 lin)
{
	u64 gpa;

	if (guest_lin_to_phys(x, lin, 0, &gpa, NULL) ||
	    !guest_gfn_ram(x, gpa >> 12))
		return NO_FRAME;
	return (u32)(gpa >> 12);
}

static bool in_table(const struct bt86_desc_trace *t, u32 gfn)
{
	unsigned int i;

	if (!t->npages || gfn < t->lo || gfn > t->hi)
		return false;
	for (i = 0; i < t->npages; i++)
		if (t->gfn[i] == gfn)
			return true;
	return false;
}

/* Look up the frames of [base, base + limit] (@on), or of no table. */
static void table_frames(struct bt86_xdata *x, struct bt86_desc_trace *t,
			 bool on, u32 base, u32 limit)
{
	unsigned int i, n = 0;

	if (on)
		n = (unsigned int)((((u64)base & 0xfff) + limit) >> 12) + 1;
	t->base = base;
	t->limit = limit;
	t->npages = n;
	t->lo = NO_FRAME;
	t->hi = 0;
	for (i = 0; i < n; i++) {
		/* the linear space wraps at 4 GiB */
		u32 gfn = desc_frame(x, (base & ~0xfffu) + i * 4096);

		t->gfn[i] = gfn;
		if (gfn == NO_FRAME)
			continue;
		t->lo = gfn < t->lo ? gfn : t->lo;
		t->hi = gfn > t->hi ? gfn : t->hi;
	}
}

static bool same_frames(const struct bt86_desc_trace *a,
			const struct bt86_desc_trace *b)
{
	unsigned int i;

	if (a->npages != b->npages)
		return false;
	for (i = 0; i < a->npages; i++)
		if (a->gfn[i] != b->gfn[i])
			return false;
	return true;
}

/* Frames of @old that neither table holds now lose TRACE_DESC. */
static void untrace_old(struct bt86_xdata *x, const struct bt86_desc_trace *old)
{
	unsigned int i;

	for (i = 0; i < old->npages; i++) {
		u32 gfn = old->gfn[i];

		if (gfn != NO_FRAME && !in_table(&x->desc.gdt, gfn) &&
		    !in_table(&x->desc.ldt, gfn))
			trace_del(x, gfn, TRACE_DESC);
	}
}

static void trace_new(struct bt86_xdata *x, const struct bt86_desc_trace *t)
{
	unsigned int i;

	for (i = 0; i < t->npages; i++)
		if (t->gfn[i] != NO_FRAME)
			trace_add(x, t->gfn[i], TRACE_DESC);
}

/* Does @gfn hold part of the GDT, and none of the LDT? */
bool desc_gdt_only_frame(struct bt86_xdata *x, u32 gfn)
{
	return in_table(&x->desc.gdt, gfn) && !in_table(&x->desc.ldt, gfn);
}

/* The GDT's frames traced (@on) or not (desc_lazy.c); the LDT's stay. */
void desc_trace_gdt(struct bt86_xdata *x, bool on)
{
	const struct bt86_desc_trace *t = &x->desc.gdt;
	unsigned int i;

	for (i = 0; i < t->npages; i++) {
		if (t->gfn[i] == NO_FRAME || in_table(&x->desc.ldt, t->gfn[i]))
			continue;
		if (on)
			trace_add(x, t->gfn[i], TRACE_DESC);
		else
			trace_del(x, t->gfn[i], TRACE_DESC);
	}
}

/*
 * Trace the frames of the guest's GDT and LDT as they are mapped now;
 * true if any of them changed (the slots over them must be derived again).
 */
static bool retrace(struct bt86_xdata *x)
{
	const struct bt86_dtable *gdt = &x->sregs.gdt;
	struct bt86_desc_trace old_gdt, old_ldt;
	u32 ldt_limit = x->desc.ldt_slots * 8 - 1;

	desc_lazy_leave(x); /* the frames may change: traced, and exact */
	old_gdt = x->desc.gdt;
	old_ldt = x->desc.ldt;

	table_frames(x, &x->desc.gdt, true, gdt->base,
		     gdt->limit < GUEST_GDT_TRACE_LIMIT
			     ? gdt->limit
			     : GUEST_GDT_TRACE_LIMIT);
	table_frames(x, &x->desc.ldt, x->desc.ldt_slots, x->sregs.ldt.base,
		     ldt_limit < LDT_TRACE_LIMIT ? ldt_limit : LDT_TRACE_LIMIT);
	if (same_frames(&old_gdt, &x->desc.gdt) &&
	    same_frames(&old_ldt, &x->desc.ldt))
		return false;
	untrace_old(x, &old_gdt);
	untrace_old(x, &old_ldt);
	trace_new(x, &x->desc.gdt);
	trace_new(x, &x->desc.ldt);
	return true;
}

/* GDTR or LDTR changed (vcpu.c has derived the slots): trace the tables. */
void desc_tables_changed(struct bt86_xdata *x)
{
	retrace(x);
}

/*
 * Where the CPU would walk the guest's paging afresh (see the top): if a
 * table page maps another frame now, trace the new frames and derive
 * every slot again.
 */
void desc_remapped(struct bt86_xdata *x)
{
	if (retrace(x))
		vcpu_reshadow(x);
}

static bool lin_in_table(const struct bt86_desc_trace *t, u32 lin)
{
	return t->npages &&
	       (lin & ~0xfffu) - (t->base & ~0xfffu) < t->npages * 4096u;
}

/* INVLPG of @lin: the CPU walks for that page again. */
void desc_invlpg(struct bt86_xdata *x, u32 lin)
{
	if (lin_in_table(&x->desc.gdt, lin) || lin_in_table(&x->desc.ldt, lin))
		desc_remapped(x);
}

/*
 * Guest-physical bytes [gpa, gpa + len) of table @t (@ti: 0 for the GDT,
 * 4 for the LDT) may have changed: derive the shadow slots over them again.
 */
static bool rederive(struct bt86_xdata *x, const struct bt86_desc_trace *t,
		     u16 ti, u64 gpa, u32 len)
{
	u64 end = gpa + len; /* exclusive */
	unsigned int k;
	bool hit = false;

	if (!t->npages || (end - 1) >> 12 < t->lo || gpa >> 12 > t->hi)
		return false;
	for (k = 0; k < t->npages; k++) {
		u64 page = (u64)t->gfn[k] << 12;
		u64 from = gpa > page ? gpa : page;
		u64 to = end < page + 4096 ? end : page + 4096;
		/* table offsets of the written bytes in this page */
		long at = (long)k * 4096 - (long)(t->base & 0xfff);
		long first = at + (long)(from - page);
		long last = at + (long)(to - page) - 1;
		long slot;

		if (t->gfn[k] == NO_FRAME || from >= to || last < 0 ||
		    first > (long)t->limit)
			continue;
		if (first < 0)
			first = 0;
		if (last > (long)t->limit)
			last = t->limit;
		hit = true;
		for (slot = first / 8; slot <= last / 8; slot++)
			vcpu_resync_slot(x, (u16)(slot << 3) | ti);
	}
	return hit;
}

/*
 * Guest-physical [gpa, gpa + len) of a TRACE_DESC frame was written (by
 * the monitor, or by a natively stepped guest instruction).
 */
void desc_written(struct bt86_xdata *x, u64 gpa, u32 len)
{
	bool hit;

	if (!len)
		return;
	hit = rederive(x, &x->desc.gdt, 0, gpa, len);
	hit |= rederive(x, &x->desc.ldt, 4, gpa, len);
	desc_lazy_note(x, (u32)(gpa >> 12), hit);
}

/* The shadow LDT's system descriptor: 16 bytes, type 2, DPL 0, present. */
static void ldt_descriptor(struct bt86_xdata *x, u32 limit)
{
	u64 *gdt = (u64 *)((u8 *)x + XDATA_GUEST_GDT);
	u64 base = (u64)(uintptr_t)x + XDATA_SHADOW_LDT;

	gdt[SHADOW_LDT_SLOT] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			       ((u64)SYS_LDT << 40) | (1ULL << 47) |
			       ((u64)((limit >> 16) & 0xf) << 48) |
			       (((base >> 24) & 0xff) << 56);
	gdt[SHADOW_LDT_SLOT + 1] = base >> 32;
}

/*
 * Before guest code runs: LDTR holds the shadow LDT with the guest's
 * limit, or is null when the guest has no LDT (an LDT selector then
 * faults with #GP(selector), as with the guest's null LDTR).
 */
void desc_load_ldtr(struct bt86_xdata *x)
{
	u32 size = x->desc.ldt_slots * 8;
	u16 want = size ? SHADOW_LDT_SEL : 0, cur;

	asm volatile("sldt %0" : "=r"(cur));
	if (cur == want && size == x->desc.ldt_hw_limit)
		return;
	if (size)
		ldt_descriptor(x, size - 1);
	asm volatile("lldt %0" : : "r"(want) : "memory");
	x->desc.ldt_hw_limit = size;
}
