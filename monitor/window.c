// SPDX-License-Identifier: GPL-2.0
/*
 * Where the translator's window sits (docs/translator.md, "Where the
 * window sits").
 *
 * The window (the per-vCPU page and the translation cache, 4 MiB) must
 * sit where the guest maps nothing, since every shadow maps it over the
 * guest's own entries.  The module places it at the top of the low 4 GiB
 * (x->bt.window_home), where it stays while guest paging is off.  With
 * paging on it sits in the highest 4 MiB slot that the guest's known page
 * directories leave empty (shadow/window.c), and moves when the current
 * one maps its slot, as VirtualBox's hypervisor area did: every shadow's
 * window PDEs, the %gs descriptor, the truncated shadow segments, and the
 * translation cache, whose code holds absolute window addresses and is
 * flushed.
 *
 * A move happens only here, before guest code runs and never inside a
 * rewritten sequence (main.c, resume_guest()), so the guest stands at one
 * of its own instructions and no TC address in the saved state survives:
 * what asks for one (a traced write to a page directory, a CR3 switch, a
 * fault in the window's range) sets x->bt.window_check and returns.
 */
#include "bt_monitor.h"
#include "emulate.h"
#include "shadow.h"

/* Data, DPL 1, present, writable, accessed, byte granular; base, limit below. */
#define BT_GS_ACCESS 0x0040b30000000000ULL

/* The window's data segment (BT_GS_SLOT): the per-vCPU page at @base. */
u64 window_gs_desc(u32 base)
{
	return BT_GS_ACCESS | (BT_VP_SIZE - 1) |
	       ((u64)(base & 0xffffff) << 16) | ((u64)(base >> 24) << 56);
}

/* The window goes to @low: its mappings, its segment, the translator. */
static void move(struct bt86_xdata *x, u32 low)
{
	struct bt_cache *c = bt_cache(x);
	u64 *gdt = (u64 *)((u8 *)x + XDATA_GUEST_GDT);

	shadow_window_move(x, low);
	x->bt.window_low = low;
	x->bt.tc_low = low + BT_TC_OFFSET;
	gdt[BT_GS_SLOT] = window_gs_desc(low);
	/* Translated code holds absolute TC addresses: it starts afresh. */
	c->tc_low = x->bt.tc_low;
	c->window_low = low;
	bt_cache_init(c);
	bt_untrace_all(x);
	x->bt.enter = 0;
	x->bt.resume_tc = 0;
	truncate_window_moved(x);
	x->stats.bt.relocations++;
}

/*
 * Before guest code runs, at one of its instruction boundaries: move the
 * window if the guest's mappings now need its slot (or, with paging off,
 * back home).  Nonzero: the VM stops, no slot being left.
 */
long window_place(struct bt86_xdata *x)
{
	u32 low;

	if (!x->bt.window_check)
		return 0;
	x->bt.window_check = 0;
	if (!x->bt.enabled || !x->bt.ready)
		return 0;
	if (!shadow_active(x)) {
		if (x->bt.window_low != x->bt.window_home)
			move(x, x->bt.window_home);
		return 0;
	}
	if (!shadow_window_busy(x))
		return 0;
	if (!shadow_window_pick(x, &low))
		return exit_unsupported(x, BT86_UNSUPPORTED_SHADOW,
					(u64)BT86_SHADOW_WINDOW << 32 |
						x->bt.window_low);
	move(x, low);
	return 0;
}

/* The REP string instructions whose elements window_access() steps. */
static bool rep_string(const struct decoded_insn *d)
{
	if (!d || d->insn.meta.category != ZYDIS_CATEGORY_STRINGOP ||
	    !(d->insn.attributes & ZYDIS_ATTRIB_HAS_REP))
		return false;
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_MOVSB:
	case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_STOSB:
	case ZYDIS_MNEMONIC_STOSW:
	case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_LODSB:
	case ZYDIS_MNEMONIC_LODSW:
	case ZYDIS_MNEMONIC_LODSD:
		return true;
	default:
		return false;
	}
}

/* Add @delta to register @r (ESI, SI, ...: its width wraps it). */
static void reg_add(struct bt86_xdata *x, ZydisRegister r, u32 delta)
{
	reg_write(x, r, reg_read(x, r) + delta);
}

/*
 * One element of a REP MOVS, STOS or LODS, done for the guest: the read,
 * the write, ESI/EDI and ECX moved on.  The instruction stays at EIP with
 * what is left, or completes (SDM 2B "REP/REPE/REPZ/REPNE/REPNZ": a REP
 * with ECX 0 does nothing more).
 */
static long rep_element(struct bt86_xdata *x, const struct decoded_insn *d)
{
	const ZydisDecodedOperand *dst = &d->ops[0], *src = &d->ops[1];
	ZydisRegister count = d->insn.address_width == 16 ? ZYDIS_REGISTER_CX
							  : ZYDIS_REGISTER_ECX;
	u32 size = dst->size / 8, step, v;
	fault_t f;

	step = (x->regs.eflags & EFLAGS_DF) ? (u32)-size : size;
	f = operand_read(x, d, src, &v);
	if (!f)
		f = operand_write(x, d, dst, v);
	if (f)
		return raise_fault(x, f);
	if (src->type == ZYDIS_OPERAND_TYPE_MEMORY)
		reg_add(x, src->mem.base, step);
	if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY)
		reg_add(x, dst->mem.base, step);
	reg_add(x, count, (u32)-1);
	if (!reg_read(x, count))
		skip(x, d);
	return 0;
}

/*
 * A guest access that the truncation cut off reached the window's range,
 * with guest paging on (truncate.c, window_hit()).  [lin, lin + len) is
 * the access (a REP string instruction's next element), @at its first
 * byte in the window, @acc its kind (SH_ACC_*); @d the instruction, NULL
 * when its fetch is the access.
 *
 * If the guest maps the window's slot, the window moves and the
 * instruction runs again.  Otherwise the guest gets the #PF its own
 * tables give the access; a REP's elements before the one that faults are
 * done here one at a time, each followed by the instruction again.
 */
long window_access(struct bt86_xdata *x, const struct decoded_insn *d, u32 lin,
		   u32 len, u32 at, unsigned int acc)
{
	fault_t f;

	if (shadow_window_busy(x)) {
		x->bt.window_check = 1;
		return 0;
	}
	f = guest_check(x, lin, len, acc);
	if (!f && rep_string(d))
		return rep_element(x, d);
	/* The slot is not mapped: @at faults, if nothing before it did. */
	if (!f)
		f = guest_check(x, at, 1, acc);
	if (!f)
		return exit_unsupported(x, BT86_UNSUPPORTED_SHADOW,
					(u64)BT86_SHADOW_BUG << 32 | at);
	return raise_fault(x, f);
}
