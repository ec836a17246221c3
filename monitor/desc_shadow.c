// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping the shadow GDT and LDT (vcpu.c derives their slots) exact while
 * the guest changes its own tables, and the shadow LDT in LDTR.
 *
 * Tracing.  The pages that hold the guest's GDT (the slots the shadow
 * keeps, 0 to 495) and its LDT (up to 8192 descriptors) are traced for
 * TRACE_DESC (page_trace.c): write-protected.  A guest write there
 * faults.  A plain MOV to memory is emulated; for anything else the page is
 * opened and the writing instruction runs once, alone, natively under TF
 * (x->bt.native: under bt, ring-0 code from the cache is done by
 * bt_emulate() instead, which may run it natively too), so that guest
 * memory gets exactly what the instruction writes.  At the next trap (its
 * #DB, or its fault) the page is closed again and every shadow slot over
 * it derived again.  A segment register loaded before keeps its
 * hidden part: vcpu.c then runs it from a stale slot, as the CPU would.
 * The monitor's own writes to guest memory (accessed and busy bits, task
 * state, stack frames: guest_write()) go through write_tables() below.
 *
 * The tables are linear ranges; what is traced is the guest frame of each
 * of their pages.  With guest paging off the frame is the page itself
 * (desc_frame()); shadow paging makes desc_frame() walk the guest's page
 * tables and calls desc_tables_changed() when their mappings change.
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
#include "emulate.h"
#include "page_trace.h"

#define CR0_WP		      (1ULL << 16)
#define GUEST_GDT_TRACE_LIMIT (GUEST_GDT_SLOTS * 8 - 1)
#define LDT_TRACE_LIMIT	      (SHADOW_LDT_SLOTS * 8 - 1)

/*
 * The guest frame that holds linear page @lin.  Guest paging is off:
 * linear is physical.
 */
static u32 desc_frame(struct bt86_xdata *x, u32 lin)
{
	(void)x;
	return lin >> 12;
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

static bool is_open(const struct bt86_xdata *x, u32 gfn)
{
	unsigned int i;

	for (i = 0; i < x->desc.nopen; i++)
		if (x->desc.open[i] == gfn)
			return true;
	return false;
}

/* TRACE_DESC (page_trace.c): a table page not opened for a write. */
bool desc_page_traced(struct bt86_xdata *x, u32 gfn)
{
	return (in_table(&x->desc.gdt, gfn) || in_table(&x->desc.ldt, gfn)) &&
	       !is_open(x, gfn);
}

/* Trace the table at [base, base + limit] (@on), or none; untrace the old. */
static void trace_table(struct bt86_xdata *x, struct bt86_desc_trace *t,
			bool on, u32 base, u32 limit)
{
	struct bt86_desc_trace old = *t;
	unsigned int i, n = 0;

	if (on)
		n = (unsigned int)((((u64)base & 0xfff) + limit) >> 12) + 1;
	t->base = base;
	t->limit = limit;
	t->npages = n;
	t->lo = 0xffffffffu;
	t->hi = 0;
	for (i = 0; i < n; i++) {
		/* the linear space wraps at 4 GiB */
		u32 gfn = desc_frame(x, (base & ~0xfffu) + i * 4096);

		t->gfn[i] = gfn;
		t->lo = gfn < t->lo ? gfn : t->lo;
		t->hi = gfn > t->hi ? gfn : t->hi;
	}
	if (old.npages == n) {
		for (i = 0; i < n && old.gfn[i] == t->gfn[i]; i++)
			;
		if (i == n)
			return;
	}
	for (i = 0; i < old.npages; i++)
		trace_sync(x, old.gfn[i]);
	for (i = 0; i < n; i++)
		trace_sync(x, t->gfn[i]);
}

/* GDTR or LDTR changed (or their pages' frames): trace the new tables. */
void desc_tables_changed(struct bt86_xdata *x)
{
	const struct bt86_dtable *gdt = &x->sregs.gdt;
	u32 ldt_limit = x->desc.ldt_slots * 8 - 1;

	trace_table(x, &x->desc.gdt, true, gdt->base,
		    gdt->limit < GUEST_GDT_TRACE_LIMIT ? gdt->limit
						       : GUEST_GDT_TRACE_LIMIT);
	trace_table(x, &x->desc.ldt, x->desc.ldt_slots, x->sregs.ldt.base,
		    ldt_limit < LDT_TRACE_LIMIT ? ldt_limit : LDT_TRACE_LIMIT);
}

/*
 * Guest-physical bytes [gpa, gpa + len) of table @t (@ti: 0 for the GDT,
 * 4 for the LDT) may have changed: derive the shadow slots over them again.
 */
static void rederive(struct bt86_xdata *x, const struct bt86_desc_trace *t,
		     u16 ti, u32 gpa, u32 len)
{
	u64 end = (u64)gpa + len; /* exclusive */
	unsigned int k;

	if (!t->npages || (u32)((end - 1) >> 12) < t->lo || gpa >> 12 > t->hi)
		return;
	for (k = 0; k < t->npages; k++) {
		u64 page = (u64)t->gfn[k] << 12;
		u64 from = gpa > page ? gpa : page;
		u64 to = end < page + 4096 ? end : page + 4096;
		/* table offsets of the written bytes in this page */
		long at = (long)k * 4096 - (long)(t->base & 0xfff);
		long first = at + (long)(from - page);
		long last = at + (long)(to - page) - 1;
		long slot;

		if (from >= to || last < 0 || first > (long)t->limit)
			continue;
		if (first < 0)
			first = 0;
		if (last > (long)t->limit)
			last = t->limit;
		for (slot = first / 8; slot <= last / 8; slot++)
			vcpu_resync_slot(x, (u16)(slot << 3) | ti);
	}
}

static void tables_written(struct bt86_xdata *x, u32 gpa, u32 len)
{
	rederive(x, &x->desc.gdt, 0, gpa, len);
	rederive(x, &x->desc.ldt, 4, gpa, len);
}

/* Could [gpa, gpa + len) hold part of a traced table? */
static bool may_touch(const struct bt86_desc_trace *t, u32 gpa, u32 len)
{
	return t->npages && (gpa + len - 1) >> 12 >= t->lo &&
	       gpa >> 12 <= t->hi;
}

/*
 * guest_write() for the monitor: true if it wrote [gpa, gpa + len) itself
 * because a traced table may be there.  The pages stay protected (CR0.WP
 * off around the copy: the monitor runs with interrupts off) and the
 * shadow slots over the bytes follow.
 */
bool desc_guest_write(struct bt86_xdata *x, u32 gpa, const void *src, u32 len)
{
	u64 cr0;

	if (!len || (!may_touch(&x->desc.gdt, gpa, len) &&
		     !may_touch(&x->desc.ldt, gpa, len)))
		return false;
	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~CR0_WP) : "memory");
	mon_memcpy((void *)(uintptr_t)gpa, src, len);
	asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	tables_written(x, gpa, len);
	return true;
}

static bool is_sreg(const ZydisDecodedOperand *op)
{
	return op->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       op->reg.value >= ZYDIS_REGISTER_ES &&
	       op->reg.value <= ZYDIS_REGISTER_GS;
}

/*
 * The common case at once: a MOV of a general register or an immediate to
 * memory (how kernels write descriptors, and what a neighbour in the page
 * mostly does) is emulated; guest_write() takes care of the tables.  False:
 * the instruction runs itself.  Not under the guest's own TF, whose #DB
 * must follow the instruction, nor in a rewritten sequence of the
 * translator (its registers are not the guest's there).
 */
static bool emulate_store(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	u32 v;

	if ((x->regs.eflags & EFLAGS_TF) ||
	    (bt_from_tc(x) && x->bt.kind != BT_MAP_INSN) ||
	    decode_current(x, d) || d->insn.mnemonic != ZYDIS_MNEMONIC_MOV ||
	    d->ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY ||
	    d->ops[0].size > 32 || is_sreg(&d->ops[1]))
		return false;
	if (operand_read(x, d, &d->ops[1], &v) ||
	    operand_write(x, d, &d->ops[0], v))
		return false; /* the CPU's checks passed; let it say why */
	skip(x, d);
	return true;
}

/*
 * A guest write to a traced table page at @gpa faulted: emulate it, or
 * open the page and let the instruction write it, alone (see the top of
 * the file).
 */
long desc_write_fault(struct bt86_xdata *x, u32 gpa)
{
	u32 gfn = gpa >> 12;
	long ret;

	if (x->desc.nopen == DESC_OPEN_MAX)
		return exit_unsupported(x, BT86_UNSUPPORTED_DESC, gpa);
	count_emulated(x, BT86_EMUL_DESC_WRITE);
	bt_code_write(x, gpa, 1); /* translations in the page go */
	if (!x->desc.stepping && emulate_store(x))
		return 0;
	x->desc.open[x->desc.nopen++] = gfn;
	x->desc.stepping = 1;
	trace_sync(x, gfn);
	if (bt_from_tc(x)) {
		ret = bt_emulate(x);
		if (!x->bt.native)
			desc_step_end(x); /* emulated: through guest_write() */
		return ret;
	}
	x->bt.native = 1;
	return 0;
}

/* The writing instruction is done (or faulted): close its pages. */
void desc_step_end(struct bt86_xdata *x)
{
	unsigned int i, n = x->desc.nopen;

	x->desc.nopen = 0;
	x->desc.stepping = 0;
	for (i = 0; i < n; i++) {
		trace_sync(x, x->desc.open[i]);
		tables_written(x, x->desc.open[i] << 12, 4096);
	}
}

/*
 * Every trap from guest code (but the host's events) while an instruction
 * writes a table page: it is done, unless it is faulting on one more such
 * page (a write across a page boundary, or a PUSHA).
 */
void desc_trap(struct bt86_xdata *x)
{
	u64 cr2 = x->guest_cr2;

	if (!x->desc.stepping)
		return;
	if (x->vector == VEC_PF && (x->error & 3) == 3 &&
	    cr2 < 0x100000000ULL && desc_page_traced(x, (u32)cr2 >> 12))
		return;
	desc_step_end(x);
}

/* The host set the registers: no instruction is half way. */
void desc_reset(struct bt86_xdata *x)
{
	if (!x->desc.stepping)
		return;
	desc_step_end(x);
	x->bt.native = 0;
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
