// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping translations coherent with guest code (docs/translator.md).
 *
 * Every guest page that holds code of a live translation is write-
 * protected in the monitor's page tables (page_trace.c, TRACE_CODE).  A
 * guest write to it faults (CR0.WP is set in the monitor's world, so
 * guest ring 0 at CPL 1 faults too); the monitor
 * then drops every translation with code in that page, lifts the
 * protection, and lets the write happen: natively for ring 3, and for
 * translated code by running the writing instruction natively once, since
 * translating it again would protect the page again before it wrote.
 *
 * An instruction that keeps faulting this way (a loop patching itself, a
 * kernel writing data next to its code) is retranslated as a call out
 * after BT_HOT_FAULTS faults (Adams & Agesen, ASPLOS 2006): the monitor
 * drops the translations its writes hit before it runs, with no fault.
 */
#include "bt_monitor.h"
#include "emulate.h"
#include "page_trace.h"

/* Does @gfn hold translated code (TRACE_CODE, page_trace.c)? */
bool bt_page_traced(struct bt86_xdata *x, u32 gfn)
{
	return (bt_meta(x)->traced[gfn / 64] >> (gfn % 64)) & 1;
}

/* The page stays protected while it has another reason (page_trace.c). */
static void set_traced(struct bt86_xdata *x, u32 gfn, bool on)
{
	u64 bit = 1ULL << (gfn % 64);

	if (on)
		bt_meta(x)->traced[gfn / 64] |= bit;
	else
		bt_meta(x)->traced[gfn / 64] &= ~bit;
	trace_sync(x, gfn);
}

/* A new translation: protect the pages its guest code came from. */
void bt_trace_block(struct bt86_xdata *x, const struct bt_block *b)
{
	u32 gfn, last = (b->lin_end - 1) >> 12;

	for (gfn = b->lin_start >> 12; gfn <= last; gfn++)
		if ((u64)gfn << 12 < x->ram_end && !bt_page_traced(x, gfn))
			set_traced(x, gfn, true);
}

/* The cache was flushed: no page holds translated code any more. */
void bt_untrace_all(struct bt86_xdata *x)
{
	u64 *map = bt_meta(x)->traced;
	u32 w, gfns = (u32)(x->ram_end >> 12);

	for (w = 0; w < (gfns + 63) / 64; w++)
		while (map[w])
			set_traced(x, w * 64 + __builtin_ctzll(map[w]), false);
}

/*
 * Guest code (or the monitor for it) is about to write [lin, lin + len):
 * drop the translations of every traced page in it and unprotect them.
 * True if any page was traced.
 */
bool bt_code_write(struct bt86_xdata *x, u32 lin, u32 len)
{
	u32 gfn, last;
	bool hit = false;

	if (!x->bt.ready || !len || !guest_range_ok(x, lin, 1))
		return false;
	last = (lin + len - 1) >> 12;
	for (gfn = lin >> 12; gfn <= last && (u64)gfn << 12 < x->ram_end;
	     gfn++) {
		if (!bt_page_traced(x, gfn))
			continue;
		bt_invalidate_range(bt_cache(x), gfn << 12, 4096);
		set_traced(x, gfn, false);
		hit = true;
	}
	return hit;
}

/* Count a write fault at the guest EIP; retranslate it once it is hot. */
static void note_fault(struct bt86_xdata *x, u32 eip)
{
	struct bt_meta *m = bt_meta(x);
	u32 h = (eip ^ (eip >> 8)) % BT_HOT_SLOTS;

	if (m->hot_eip[h] != eip) {
		m->hot_eip[h] = eip;
		m->hot_count[h] = 0;
	}
	if (m->hot_count[h] < BT_HOT_FAULTS &&
	    ++m->hot_count[h] == BT_HOT_FAULTS) {
		/* its blocks go; the next translation makes it a call out */
		bt_invalidate_range(bt_cache(x), x->sregs.cs.base + eip, 1);
		m->cache.stats.retranslated++;
	}
}

/*
 * #PF on a write to guest RAM at @addr: -1 if the page was not traced (the
 * fault is the guest's business), else the write may now go ahead.  From
 * translated code the instruction is done by bt_emulate(), which runs it
 * natively unless it is sensitive (a PUSHFD, say, must not show the real
 * flags): translating it again would protect the page before it wrote.
 */
long bt_write_fault(struct bt86_xdata *x, u32 addr)
{
	bool from_tc = bt_from_tc(x);

	if (!bt_code_write(x, addr, 1))
		return -1;
	bt_cache(x)->stats.write_faults++;
	if (!from_tc)
		return 0;
	note_fault(x, x->regs.eip);
	return bt_emulate(x);
}

/* Before a call-out instruction runs natively: unprotect what it writes. */
void bt_before_native_write(struct bt86_xdata *x, const struct decoded_insn *d)
{
	unsigned int i;
	u32 lin;

	for (i = 0; i < d->insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &d->ops[i];

		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    !(op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		if (!mem_address(x, d, op, op->size / 8 ? op->size / 8 : 1,
				 false, &lin))
			bt_code_write(x, lin, op->size / 8 ? op->size / 8 : 1);
	}
}

/* Is the instruction at @eip hot (bt_env.hot)? */
bool bt_is_hot(void *opaque, bt_u32 eip)
{
	struct bt86_xdata *x = opaque;
	struct bt_meta *m = bt_meta(x);
	u32 h = (eip ^ (eip >> 8)) % BT_HOT_SLOTS;

	return m->hot_eip[h] == eip && m->hot_count[h] >= BT_HOT_FAULTS;
}
