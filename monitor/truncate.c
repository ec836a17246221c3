// SPDX-License-Identifier: GPL-2.0
/*
 * Guest segments truncated below the translator's window (docs/vcpu.md,
 * "Segment truncation").
 *
 * Under BT86_MODE_BT the per-vCPU page and the translation cache sit in a
 * window below 4 GiB (x->bt.window_low, tc_low), where guest code with a
 * flat segment could reach them.  As VMware's monitor did in 1999, every
 * shadow descriptor of an expand-up code or data segment whose range
 * reaches the window gets a limit that ends below it, so the CPU itself
 * refuses the access (compatibility mode checks limits as legacy mode
 * does, SDM 3A §3.2.4, §5.3).  The guest's own descriptors and the hidden
 * parts in x->sregs keep the guest's limits; only the hardware sees the
 * truncated ones.
 *
 * The #GP(0) or #SS(0) such a limit raises is not the guest's: the
 * instruction is decoded, the linear range of each of its accesses
 * computed, and
 *   - an access beyond the guest's own limit is the guest's fault, as a
 *     CPU without truncation would raise it;
 *   - an access into the window's range is, with guest paging off, an
 *     access to guest-physical memory beyond RAM: an MMIO exit for a MOV,
 *     else the VM stops; with paging on, the guest's own page tables
 *     decide: its #PF, or the window moves out of its way (window_hit(),
 *     window.c);
 *   - an access the truncation cut off that does not touch the window (the
 *     part of a wrapping segment above 4 GiB, the slack below the window
 *     of a page-granular limit) runs natively once with the untruncated
 *     shadow (step_untruncated()).
 *
 * Checked translation (BT86_VM_BT_CHECKED, bt/check.c) does the CPU's part
 * in software, for QEMU's TCG, which checks no segment limit: translated
 * code compares each access with BT_VP_LIMIT, which truncate_fill_limits()
 * keeps, and calls out to truncate_check_failed() when it would fault.
 */
#include "bt_monitor.h"
#include "emulate.h"
#include "shadow.h"

#define NO_CHECK	0xffffffffu
#define MAX_ACCESSES	4
#define DESC_LIMIT_MASK (0xffffULL | 0xfULL << 48)
#define DESC_G		(1ULL << 55)

/* The lowest guest linear address the window uses; 0: there is none. */
u32 window_floor(const struct bt86_xdata *x)
{
	if (!x->bt.enabled)
		return 0;
	return x->bt.tc_low < x->bt.window_low ? x->bt.tc_low
					       : x->bt.window_low;
}

/* Where the window's 4 MiB end (4 GiB when it sits at the top). */
static u64 window_end(const struct bt86_xdata *x)
{
	return (u64)x->bt.window_low + BT_WINDOW_SIZE;
}

/*
 * The byte limit the hardware gets for an expand-up segment [base, base +
 * limit] (64-bit sum: it may wrap past 4 GiB): unchanged unless it reaches
 * @floor from below.  A limit over 1 MiB is page granular (SDM 3A §3.4.5),
 * so it ends on the last whole page below the floor.  A segment based in
 * the window or above cannot be cut at its top and keeps its limit.
 */
static u32 cut_limit(u32 base, u32 limit, u32 floor)
{
	u32 cut;

	if (!floor || base >= floor || (u64)base + limit < floor)
		return limit;
	cut = floor - 1 - base;
	if (cut <= 0xfffff)
		return cut;
	return ((cut + 1) & ~0xfffu) - 1;
}

static bool desc_expand_down(u64 d)
{
	return DESC_S(d) && !(DESC_TYPE(d) & 8) && (DESC_TYPE(d) & 4);
}

/*
 * Shadow descriptor @d as the hardware may hold it while the window is
 * mapped.  Expand-down data segments keep their limit: theirs bounds the
 * bottom, and their top is fixed at 64 KiB or 4 GiB (docs/vcpu.md).
 */
u64 truncate_desc(const struct bt86_xdata *x, u64 d)
{
	u32 floor = x->bt.untruncated ? 0 : window_floor(x);
	u32 limit, cut;

	if (!d || !floor || !DESC_S(d) || desc_expand_down(d))
		return d;
	limit = desc_limit(d);
	cut = cut_limit(desc_base(d), limit, floor);
	if (cut == limit)
		return d;
	d &= ~(DESC_LIMIT_MASK | DESC_G);
	if (cut > 0xfffff) {
		d |= DESC_G;
		cut >>= 12;
	}
	return d | (cut & 0xffff) | (u64)(cut >> 16) << 48;
}

static bool seg_expand_down(const struct bt86_segment *s)
{
	return s->s && !(s->type & 8) && (s->type & 4);
}

/* The byte limit the hardware checks for loaded guest segment @s. */
static u32 hw_limit(const struct bt86_xdata *x, const struct bt86_segment *s)
{
	if (s->unusable || !s->s || seg_expand_down(s))
		return s->limit;
	return cut_limit(s->base, s->limit, window_floor(x));
}

/*
 * BT_VP_LIMIT for checked translation, ES CS SS DS FS GS: the truncated
 * limit where truncation cut the segment, else NO_CHECK.  Where the CPU
 * checks limits it checks the guest's own limits itself; the check only
 * adds what truncation adds, so that on TCG the guest sees what it sees
 * there natively, less the window.
 */
void truncate_fill_limits(struct bt86_xdata *x, u32 *out)
{
	static const enum sreg order[6] = { SR_ES, SR_CS, SR_SS,
					    SR_DS, SR_FS, SR_GS };
	unsigned int i;

	for (i = 0; i < 6; i++) {
		const struct bt86_segment *s = sreg_of(x, order[i]);
		u32 lim = hw_limit(x, s);

		out[i] = lim == s->limit ? NO_CHECK : lim;
	}
}

/* The window moved (window.c): the shadow follows. */
void truncate_window_moved(struct bt86_xdata *x)
{
	vcpu_reload_gdt(x);
}

/* --- the accesses of one instruction --------------------------------------- */

struct access {
	enum sreg seg;
	u32 off; /* the first byte's offset */
	u64 len; /* bytes; offsets wrap at the address size */
	bool write;
	bool fetch;  /* instruction bytes, or a branch target in CS */
	bool wrap16; /* 16-bit addressing: offsets wrap at 64 KiB */
	u32 elem;    /* a REP's elements: their size (len covers them all) */
};

struct accesses {
	struct access a[MAX_ACCESSES];
	unsigned int n;
};

static void add(struct accesses *acc, struct access a)
{
	if (acc->n < MAX_ACCESSES && a.len)
		acc->a[acc->n++] = a;
}

/* Memory operands that access nothing (SDM 2B "NOP", "PREFETCHh"). */
static bool no_access(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_NOP || m == ZYDIS_MNEMONIC_PREFETCH ||
	       m == ZYDIS_MNEMONIC_PREFETCHNTA ||
	       m == ZYDIS_MNEMONIC_PREFETCHT0 ||
	       m == ZYDIS_MNEMONIC_PREFETCHT1 ||
	       m == ZYDIS_MNEMONIC_PREFETCHT2 || m == ZYDIS_MNEMONIC_PREFETCHW;
}

/*
 * Privileged instructions with a memory operand: at CPL 3 the privilege
 * check comes first (SDM 2A/2B: #GP(0) "if the current privilege level is
 * not 0"), whatever the operand.
 */
static bool privileged(const struct decoded_insn *d)
{
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_LGDT:
	case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_LLDT:
	case ZYDIS_MNEMONIC_LTR:
	case ZYDIS_MNEMONIC_LMSW:
	case ZYDIS_MNEMONIC_INVLPG:
		return true;
	default:
		return d->insn.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED;
	}
}

static bool is_stack_reg(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP;
}

/* The stack pointer as the stack's B bit sizes it (SDM 3A §3.4.5). */
static u32 stack_off(const struct bt86_xdata *x, u32 v)
{
	return x->sregs.ss.db ? v : v & 0xffff;
}

static struct access stack_access(const struct bt86_xdata *x, u32 off, u32 len,
				  bool write)
{
	return (struct access){ .seg = SR_SS,
				.off = stack_off(x, off),
				.len = len,
				.write = write,
				.wrap16 = !x->sregs.ss.db };
}

/*
 * ENTER imm16, imm8 (SDM 2A "ENTER"): EBP pushed, then for a nesting
 * level L > 0 the L - 1 frame pointers read at EBP - 4i and pushed, and
 * the new frame pointer pushed.
 */
static void add_enter(struct bt86_xdata *x, const struct decoded_insn *d,
		      struct accesses *acc)
{
	u32 level = (u32)d->ops[1].imm.value.u & 31;
	u32 size = d->insn.operand_width / 8;
	u32 pushes = level ? level + 1 : 1;

	if (level > 1)
		add(acc, stack_access(x, x->regs.ebp - (level - 1) * size,
				      (level - 1) * size, false));
	add(acc,
	    stack_access(x, x->regs.esp - pushes * size, pushes * size, true));
}

/* A memory operand's access, or a string operand's elements. */
static void add_operand(struct bt86_xdata *x, const struct decoded_insn *d,
			const ZydisDecodedOperand *op, struct accesses *acc)
{
	bool write = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
	u32 size = op->size / 8 ? op->size / 8 : 1;
	u32 ea = reg_read(x, op->mem.base) +
		 reg_read(x, op->mem.index) *
			 (op->mem.scale ? op->mem.scale : 1) +
		 (u32)op->mem.disp.value;
	struct access a = { .seg = zydis_sreg(op->mem.segment),
			    .len = size,
			    .write = write,
			    .wrap16 = d->insn.address_width == 16 };
	u32 n;

	if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
	    is_stack_reg(op->mem.base)) {
		/* PUSH writes below ESP, POP reads at it */
		add(acc, stack_access(x, write ? ea - size : ea, size, write));
		return;
	}
	/* POP m: the address is computed after ESP moved (SDM 2B "POP") */
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_POP &&
	    is_stack_reg(op->mem.base))
		ea += d->insn.operand_width / 8;
	/* XLAT reads [EBX + AL]; Zydis shows [EBX] */
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_XLAT)
		ea += x->regs.eax & 0xff;
	/*
	 * REP MOVS/STOS/LODS: every element from here on (a fault stops a
	 * REP with ESI/EDI at the element that faulted).  REPE/REPNE
	 * CMPS/SCAS stop on the data: their first element only.
	 */
	if (d->insn.meta.category == ZYDIS_CATEGORY_STRINGOP &&
	    (d->insn.attributes & ZYDIS_ATTRIB_HAS_REP)) {
		n = a.wrap16 ? x->regs.ecx & 0xffff : x->regs.ecx;
		if (!n)
			return;
		if (x->regs.eflags & EFLAGS_DF)
			ea -= (n - 1) * size;
		a.len = (u64)n * size;
		a.elem = size;
	}
	a.off = a.wrap16 ? ea & 0xffff : ea;
	add(acc, a);
}

/* The target of a near branch, or false if it has none. */
static bool branch_target(struct bt86_xdata *x, const struct decoded_insn *d,
			  u32 *target)
{
	const ZydisDecodedOperand *op = &d->ops[0];
	u32 next = x->regs.eip + d->insn.length, v = 0;

	if (d->insn.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return false;
	switch (d->insn.meta.category) {
	case ZYDIS_CATEGORY_RET:
		if (guest_read(x, x->sregs.ss.base + stack_off(x, x->regs.esp),
			       &v, 4))
			return false;
		break;
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
		if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			v = next + (u32)op->imm.value.s;
		else if (operand_read(x, d, op, &v))
			return false;
		break;
	default:
		return false;
	}
	*target = d->insn.operand_width == 16 ? v & 0xffff : v;
	return true;
}

/*
 * Every access of the instruction at CS:EIP, reads first: its fetch, its
 * memory operands (explicit and implicit: the stack, string operands),
 * and a near branch's target, which must lie within CS (SDM 2A "JMP").
 */
static void enumerate(struct bt86_xdata *x, const struct decoded_insn *d,
		      struct accesses *acc)
{
	unsigned int i, pass;
	u32 target;

	acc->n = 0;
	add(acc, (struct access){ .seg = SR_CS,
				  .off = x->regs.eip,
				  .len = d->insn.length,
				  .fetch = true });
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_ENTER) {
		add_enter(x, d, acc);
		return;
	}
	for (pass = 0; pass < 2 && !no_access(d->insn.mnemonic); pass++) {
		for (i = 0; i < d->insn.operand_count; i++) {
			const ZydisDecodedOperand *op = &d->ops[i];
			bool write = op->actions &
				     ZYDIS_OPERAND_ACTION_MASK_WRITE;

			if (op->type != ZYDIS_OPERAND_TYPE_MEMORY ||
			    op->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
			    !(op->actions &
			      (ZYDIS_OPERAND_ACTION_MASK_READ |
			       ZYDIS_OPERAND_ACTION_MASK_WRITE)) ||
			    write != (pass == 1))
				continue;
			add_operand(x, d, op, acc);
		}
	}
	if (branch_target(x, d, &target))
		add(acc, (struct access){ .seg = SR_CS,
					  .off = target,
					  .len = 1,
					  .fetch = true });
}

/*
 * Do all offsets of @a lie within [0, limit] (expand-up) or (limit, top]
 * (expand-down)?  A range that wraps at the address size is two ranges.
 */
static bool in_limit(const struct access *a, u32 limit, bool down, u32 top)
{
	u64 mod = a->wrap16 ? 0x10000 : 0x100000000ULL;
	u64 first = a->off, last = first + a->len - 1;
	bool wraps = a->len >= mod || last >= mod;

	if (a->len >= mod)
		first = 0;
	if (down)
		return !wraps && first > limit && last <= top;
	return wraps ? limit >= mod - 1 : last <= limit;
}

/* Would the guest's own segment allow the access (SDM 3A §5.3, §5.4.1)? */
static bool own_ok(struct bt86_xdata *x, const struct access *a)
{
	const struct bt86_segment *s = sreg_of(x, a->seg);
	bool code = s->type & 8, readable = s->type & 2;

	if (s->unusable || !s->present || !s->s)
		return false;
	if (!a->fetch && (a->write ? code || !readable : code && !readable))
		return false;
	return in_limit(a, s->limit, seg_expand_down(s),
			s->db ? 0xffffffffu : 0xffff);
}

/* Does the truncated shadow cut this (otherwise allowed) access off? */
static bool cut_off(struct bt86_xdata *x, const struct access *a)
{
	const struct bt86_segment *s = sreg_of(x, a->seg);
	u32 lim = hw_limit(x, s);

	return lim != s->limit && !in_limit(a, lim, false, 0);
}

/*
 * Does linear [a, a + len) (modulo 4 GiB) meet [lo, hi)?  *at: the first
 * byte it has there.
 */
static bool lin_meets(u32 a, u64 len, u32 lo, u64 hi, u32 *at)
{
	u64 end = (u64)a + len;

	if (a < hi && end > lo) {
		*at = a > lo ? a : lo;
		return true;
	}
	/* The part past 4 GiB, [0, end - 4 GiB): lo is its first byte there. */
	if (end > 0x100000000ULL && end - 0x100000000ULL > lo) {
		*at = lo;
		return true;
	}
	return false;
}

/*
 * Does the access's linear range reach the window, [floor, window_end)?
 * *at: the first byte it has there.
 */
static bool in_window(struct bt86_xdata *x, const struct access *a, u32 *at)
{
	u32 base = sreg_of(x, a->seg)->base, floor = window_floor(x);
	u64 mod = a->wrap16 ? 0x10000 : 0x100000000ULL, end = window_end(x);
	u64 len = a->len < mod ? a->len : mod;
	u64 first = len == mod ? 0 : a->off, head = mod - first;

	if (len <= head)
		return lin_meets(base + (u32)first, len, floor, end, at);
	return lin_meets(base + (u32)first, head, floor, end, at) ||
	       lin_meets(base, len - head, floor, end, at);
}

/* --- what becomes of it ----------------------------------------------------- */

/* The first element of @a: its only one, or a REP's next one in DF's direction. */
static struct access first_element(const struct bt86_xdata *x,
				   const struct access *a)
{
	struct access e = *a;

	if (a->elem && a->len > a->elem) {
		if (x->regs.eflags & EFLAGS_DF)
			e.off += (u32)(a->len - a->elem);
		e.len = a->elem;
	}
	return e;
}

static unsigned int access_kind(const struct bt86_xdata *x,
				const struct access *a)
{
	return guest_acc(x) | (a->write ? SH_ACC_WRITE : 0) |
	       (a->fetch ? SH_ACC_FETCH : 0);
}

static u32 linear(struct bt86_xdata *x, const struct access *a)
{
	u32 off = a->wrap16 ? a->off & 0xffff : a->off;

	return sreg_of(x, a->seg)->base + off;
}

/*
 * Access @hit of @acc reached the window's range, at linear @at.  With
 * guest paging off that is guest-physical memory beyond RAM, and the
 * access is what the monitor makes of any access there: an MMIO exit for
 * a MOV, else the VM stops (emulate_mmio()).
 *
 * With paging on, the guest's own page tables decide (window.c): the
 * window moves if they map its slot, else the guest gets its #PF, from an
 * access before this one if that faults first (SDM 3A §6.15: the first
 * fault wins).  A near branch's target in the window gets its #PF at the
 * branch, where a CPU would branch and fault at the target
 * (docs/translator.md, "Known limits").
 */
static long window_hit(struct bt86_xdata *x, const struct decoded_insn *d,
		       const struct accesses *acc, unsigned int hit, u32 at)
{
	struct access e;
	unsigned int i;
	fault_t f;

	if (!shadow_active(x))
		return emulate_mmio(x, linear(x, &acc->a[hit]));
	for (i = 0; i < hit; i++) {
		e = first_element(x, &acc->a[i]);
		f = guest_check(x, linear(x, &e), (u32)e.len,
				access_kind(x, &e));
		if (f)
			return raise_fault(x, f);
	}
	e = first_element(x, &acc->a[hit]);
	return window_access(x, d, linear(x, &e), (u32)e.len, at,
			     access_kind(x, &e));
}

/*
 * An access the truncation cut off outside the window: the instruction
 * runs natively once, on an untruncated shadow (x->bt.native: TF, and the
 * #DB after it ends the step).  Nothing it does reaches the window: every
 * access was checked above with the registers it will use.
 */
static long step_untruncated(struct bt86_xdata *x)
{
	x->bt.untruncated = 1;
	x->bt.step_eip = x->regs.eip;
	x->bt.step_cs = x->sregs.cs.selector;
	vcpu_reload_gdt(x);
	x->bt.native = 1;
	return 0;
}

/* Back to the truncated shadow after the untruncated step. */
static void retruncate(struct bt86_xdata *x)
{
	if (!x->bt.untruncated)
		return;
	x->bt.untruncated = 0;
	vcpu_reload_gdt(x);
}

/*
 * At every trap from guest code.  A fault of the untruncated step itself
 * (an SSE alignment #GP, say) is not the truncation's: resolve() must not
 * step it again.
 */
void truncate_after_trap(struct bt86_xdata *x)
{
	x->bt.step_faulted = x->bt.untruncated && x->vector != VEC_DB;
	retruncate(x);
}

/*
 * Before guest code runs: the untruncated shadow is for the instruction it
 * was made for, run natively, and nothing else (an interrupt delivered
 * first, the host's new state).
 */
void truncate_before_entry(struct bt86_xdata *x)
{
	if (x->bt.untruncated &&
	    (!x->bt.native || x->bt.enter || x->bt.midseq ||
	     x->regs.eip != x->bt.step_eip ||
	     x->sregs.cs.selector != x->bt.step_cs))
		retruncate(x);
}

/*
 * The accesses of @d (at CS:EIP) and what the truncation made of them.
 * Returns -1 when no access is beyond the guest's own limit or cut off by
 * the truncation (@*cut false) -- the fault, if any, is something else.
 */
static long resolve(struct bt86_xdata *x, const struct decoded_insn *d,
		    bool *cut)
{
	struct accesses acc;
	unsigned int i, first_cut = MAX_ACCESSES;
	u32 at;

	*cut = false;
	if (x->bt.step_faulted && x->regs.eip == x->bt.step_eip &&
	    x->sregs.cs.selector == x->bt.step_cs)
		return -1; /* it faulted on the untruncated shadow too */
	/* A privileged instruction at CPL 3 faults for that first. */
	if (privileged(d) && vcpu_cpl(x))
		return -1;
	enumerate(x, d, &acc);
	for (i = 0; i < acc.n; i++) {
		if (!own_ok(x, &acc.a[i]))
			return raise_fault(x, acc.a[i].seg == SR_SS
						      ? FAULT(VEC_SS, 0)
						      : FAULT_GP0);
		if (first_cut == MAX_ACCESSES && cut_off(x, &acc.a[i]))
			first_cut = i;
	}
	if (first_cut == MAX_ACCESSES)
		return -1;
	*cut = true;
	count_emulated(x, BT86_EMUL_TRUNCATED);
	for (i = 0; i < acc.n; i++)
		if (in_window(x, &acc.a[i], &at))
			return window_hit(x, d, &acc, i, at);
	return step_untruncated(x);
}

/*
 * #GP(0) or #SS(0) from guest code (@d: its instruction decoded, NULL if
 * it could not be): the truncation's, resolved, or -1 if the guest's.
 */
long truncate_fault(struct bt86_xdata *x, struct decoded_insn *d)
{
	u32 lin = x->sregs.cs.base + x->regs.eip;
	bool cut;

	if (!window_floor(x) || x->error)
		return -1;
	if (!d) {
		/*
		 * The fetch itself, from the window's range: non-RAM with
		 * paging off, else what the guest's page tables say.
		 */
		if (lin < window_floor(x) || lin >= window_end(x) ||
		    !segment_offset_ok(&x->sregs.cs, x->regs.eip, 1))
			return -1;
		if (!shadow_active(x))
			return exit_unsupported(x, BT86_UNSUPPORTED_MMIO, lin);
		return window_access(x, NULL, lin, 1, lin,
				     guest_acc(x) | SH_ACC_FETCH);
	}
	return resolve(x, d, &cut);
}

/* #SS(0): decode, then as truncate_fault(). */
long truncate_stack_fault(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);

	if (!window_floor(x) || x->error)
		return -1;
	return truncate_fault(x, decode_current(x, d) ? NULL : d);
}

/*
 * A bound check of checked translation failed (BT_MAP_LIMIT): what the
 * CPU's limit check would have raised, resolved the same way.  The check
 * is conservative (a REP's whole count, in both directions), and its
 * limits come from the guest-writable per-vCPU page: when nothing is
 * actually cut off, the guest goes on after the check (x->bt.arg: the TC
 * offset of the instruction).
 */
long truncate_check_failed(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	bool cut;
	long ret;

	if (decode_current(x, d)) {
		x->bt.native = 1; /* the CPU raises #UD or #PF itself */
		return 0;
	}
	ret = resolve(x, d, &cut);
	if (ret >= 0 || cut)
		return ret;
	x->bt.resume_tc = bt_cache(x)->tc_low + x->bt.arg;
	x->bt.resume_eip = x->regs.eip;
	return 0;
}
