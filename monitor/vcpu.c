// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's architectural state (x->regs, x->sregs) and the hardware
 * state the guest really runs with (x->gpr, the trap frame, the selectors),
 * and the shadow GDT between them.
 *
 * Guest ring 0 runs at CPL 1 and ring 3 at CPL 3.  The real EFLAGS.IF is
 * always 1 (host interrupts must stop the guest) and the real IOPL is 0 (so
 * I/O and CLI/STI trap); the guest's own IF and IOPL live in x->regs.
 *
 * The shadow GDT and the shadow LDT keep the guest's indices: guest
 * selector s names slot s >> 3 of the shadow of its table, built from the
 * guest's descriptor through a whitelist (code and data only, L stripped,
 * accessed preset, DPL 0 compressed to 1; system descriptors and gates
 * never copied: notes/architecture.md §1).  A loaded segment whose guest
 * descriptor no longer matches what the CPU cached (the guest changed its
 * table after loading it) runs from a stale slot holding the cached
 * descriptor, as the real CPU would keep it.  desc_shadow.c keeps the
 * shadows in step with the guest's writes and loads LDTR.
 */
#include "bt_monitor.h"
#include "shadow.h"

#define DESC_TYPE_SHIFT 40
#define DESC_A		(1ULL << 40)
#define DESC_BIT_CODE	(1ULL << 43)
#define DESC_BIT_S	(1ULL << 44)
#define DESC_DPL_SHIFT	45
#define DESC_BIT_P	(1ULL << 47)
#define DESC_L		(1ULL << 53)

static u64 *guest_gdt(struct bt86_xdata *x)
{
	return (u64 *)((u8 *)x + XDATA_GUEST_GDT);
}

static u64 *shadow_ldt(struct bt86_xdata *x)
{
	return (u64 *)((u8 *)x + XDATA_SHADOW_LDT);
}

unsigned int vcpu_cpl(const struct bt86_xdata *x)
{
	return x->sregs.cs.selector & 3;
}

/* The hardware privilege level guest code at @cpl runs at. */
static unsigned int hw_rpl(unsigned int cpl)
{
	return cpl == 3 ? 3 : 1;
}

/*
 * A guest descriptor as the shadow GDT may hold it, or 0 (not present);
 * with its limit cut below the translator's window (truncate.c).
 */
static u64 shadow_desc(const struct bt86_xdata *x, u64 d)
{
	if (!(d & DESC_BIT_P) || !(d & DESC_BIT_S))
		return 0;
	d &= ~DESC_L;
	d |= DESC_A;
	if (!((d >> DESC_DPL_SHIFT) & 3))
		d |= 1ULL << DESC_DPL_SHIFT;
	return truncate_desc(x, d);
}

/* The descriptor a segment's hidden part describes, shadowed. */
static u64 segment_desc(const struct bt86_xdata *x,
			const struct bt86_segment *s)
{
	u32 limit = s->g ? s->limit >> 12 : s->limit;
	u64 d = (limit & 0xffffULL) | ((u64)(s->base & 0xffffff) << 16) |
		((u64)(s->type & 0xf) << DESC_TYPE_SHIFT) |
		((u64)(s->s & 1) << 44) |
		((u64)(s->dpl & 3) << DESC_DPL_SHIFT) |
		((u64)(s->present & 1) << 47) |
		((u64)((limit >> 16) & 0xf) << 48) | ((u64)(s->avl & 1) << 52) |
		((u64)(s->db & 1) << 54) | ((u64)(s->g & 1) << 55) |
		((u64)(s->base >> 24) << 56);

	return shadow_desc(x, d);
}

/* The guest's own descriptor for selector @sel (GDT or LDT), or 0. */
static u64 guest_desc(struct bt86_xdata *x, u16 sel)
{
	const struct bt86_segment *ldt = &x->sregs.ldt;
	u32 off = sel & ~7u, base = x->sregs.gdt.base;
	u32 limit = x->sregs.gdt.limit;
	u64 d;

	if (sel & 4) {
		if (ldt->unusable || !ldt->present)
			return 0;
		base = ldt->base;
		limit = ldt->limit;
	} else if (!(sel >> 3)) {
		return 0;
	}
	if (off + 7 > limit || guest_read(x, base + off, &d, 8))
		return 0;
	return d;
}

/* The shadow slot guest selector @sel names, or NULL if it has none. */
static u64 *shadow_slot_of(struct bt86_xdata *x, u16 sel)
{
	unsigned int i = sel >> 3;

	if (sel & 4)
		return i < x->desc.ldt_slots ? &shadow_ldt(x)[i] : NULL;
	return i && i < GUEST_GDT_SLOTS ? &guest_gdt(x)[i] : NULL;
}

/*
 * Guest ring 3's code segments are present in the shadow GDT only while
 * guest ring 3 runs.  Guest ring 0 runs at CPL 1, where an IRET or far RET
 * to ring 3 would run natively and drop the IF and IOPL it pops (CPL 1 >
 * IOPL 0, SDM 2A "IRET"); with the ring-3 code segments not present, those
 * returns raise #NP instead and the monitor performs them exactly (iret.c).
 */
static bool is_user_code(u64 d)
{
	return d && DESC_CODE(d) && DESC_DPL(d) == 3;
}

/*
 * Which slots hold ring-3 code, whose presence follows the view: a bitmap
 * of the GDT's slots, and of the LDT's 64-slot runs (cleared only when the
 * LDT is rebuilt).
 */
static void note_user_code(struct bt86_xdata *x, u16 sel, bool user)
{
	unsigned int i = sel >> 3;
	u64 bit = 1ULL << (i % 64);

	if (sel & 4) {
		if (user)
			x->desc.ldt_user[i / 4096] |= 1ULL << (i / 64 % 64);
	} else if (user) {
		x->v.user_code[i / 64] |= bit;
	} else {
		x->v.user_code[i / 64] &= ~bit;
	}
}

/*
 * Guest descriptor @g as slot @sel of the shadow shows it now.  A code or
 * data descriptor whose accessed bit is clear is shown not present (and
 * not accessed): its first load faults, and the monitor sets the bit in
 * the guest's table as the CPU would (vcpu_first_load(), SDM 3A §3.4.5.1).
 */
static u64 shadow_slot(struct bt86_xdata *x, u16 sel, u64 g)
{
	u64 d = shadow_desc(x, g);
	bool user = d && (g & DESC_A) && is_user_code(d);

	note_user_code(x, sel, user);
	if (d && !(g & DESC_A))
		return d & ~(DESC_A | DESC_BIT_P);
	if (user && !x->v.ring3_view)
		d &= ~DESC_BIT_P;
	return d;
}

/*
 * The LDT's ring-3 code in the marked runs: present code, DPL 3, accessed
 * (shadow_slot() leaves P as the only bit that tells the views apart).
 */
#define USER_CODE_BITS \
	(DESC_BIT_S | DESC_BIT_CODE | DESC_A | (3ULL << DESC_DPL_SHIFT))

static void ldt_set_view(struct bt86_xdata *x, bool ring3)
{
	u64 *ldt = shadow_ldt(x);
	unsigned int w, run, i, end;
	u64 runs;

	for (w = 0; w < 2; w++) {
		for (runs = x->desc.ldt_user[w]; runs; runs &= runs - 1) {
			run = w * 64 + __builtin_ctzll(runs);
			end = run * 64 + 64;
			if (end > x->desc.ldt_slots)
				end = x->desc.ldt_slots;
			for (i = run * 64; i < end; i++) {
				if ((ldt[i] & USER_CODE_BITS) != USER_CODE_BITS)
					continue;
				if (ring3)
					ldt[i] |= DESC_BIT_P;
				else
					ldt[i] &= ~DESC_BIT_P;
			}
		}
	}
}

/* Show or hide guest ring 3's code segments. */
static void shadow_set_view(struct bt86_xdata *x, bool ring3)
{
	u64 *gdt = guest_gdt(x);
	unsigned int w, b;

	if (x->v.ring3_view == ring3)
		return;
	x->v.ring3_view = ring3;
	for (w = 0; w < 8; w++)
		for (b = 0; x->v.user_code[w] >> b; b++)
			if ((x->v.user_code[w] >> b) & 1)
				gdt[w * 64 + b] ^= DESC_BIT_P;
	ldt_set_view(x, ring3);
}

/* Rebuild the guest part of the shadow GDT from the guest's GDT. */
static void shadow_gdt_build(struct bt86_xdata *x)
{
	u64 *gdt = guest_gdt(x);
	unsigned int i;

	for (i = 0; i < GUEST_GDT_SLOTS; i++)
		gdt[i] = shadow_slot(x, i << 3, guest_desc(x, i << 3));
}

/*
 * The hardware selector for a loaded guest segment: its own when the shadow
 * slot holds what the CPU cached, else a stale slot with the cached copy.
 */
static u16 hw_selector(struct bt86_xdata *x, const struct bt86_segment *s,
		       unsigned int stale, unsigned int rpl)
{
	u64 want = segment_desc(x, s);
	u64 *slot = shadow_slot_of(x, s->selector);

	if (s->unusable || !want)
		return 0;
	if (slot && *slot == want)
		return (s->selector & ~3) | rpl;
	guest_gdt(x)[STALE_SLOT_FIRST + stale] = want;
	return ((STALE_SLOT_FIRST + stale) << 3) | rpl;
}

/*
 * Point every hardware selector at the right slot for the cached state.
 * Stale slots not needed now are emptied: a guest selector naming one
 * must fault as past the guest's GDT limit (trap.c turns the #NP into #GP).
 */
static void load_selectors(struct bt86_xdata *x)
{
	struct bt86_sregs *sr = &x->sregs;
	unsigned int rpl = hw_rpl(vcpu_cpl(x)), i;

	shadow_set_view(x, vcpu_cpl(x) == 3);
	for (i = 0; i < 6; i++)
		guest_gdt(x)[STALE_SLOT_FIRST + i] = 0;

	x->cs = hw_selector(x, &sr->cs, 0, rpl);
	x->ss = hw_selector(x, &sr->ss, 1, rpl);
	x->guest_ds = hw_selector(x, &sr->ds, 2, sr->ds.selector & 3);
	x->guest_es = hw_selector(x, &sr->es, 3, sr->es.selector & 3);
	x->guest_fs = hw_selector(x, &sr->fs, 4, sr->fs.selector & 3);
	x->guest_gs = hw_selector(x, &sr->gs, 5, sr->gs.selector & 3);
}

/*
 * The shadow LDT from the guest's LDT as x->sregs.ldt describes it: one
 * slot for every descriptor inside the guest's limit (at most 8192).
 */
static void shadow_ldt_build(struct bt86_xdata *x)
{
	const struct bt86_segment *l = &x->sregs.ldt;
	u64 *ldt = shadow_ldt(x);
	unsigned int i, old = x->desc.ldt_slots, n = 0;

	if (!l->unusable && l->present)
		n = ((l->limit > 0xffff ? 0xffff : l->limit) + 1) / 8;
	x->desc.ldt_slots = n;
	x->desc.ldt_user[0] = 0;
	x->desc.ldt_user[1] = 0;
	for (i = 0; i < n; i++)
		ldt[i] = shadow_slot(x, (i << 3) | 4,
				     guest_desc(x, (i << 3) | 4));
	for (; i < old; i++)
		ldt[i] = 0;
}

/*
 * Every slot of both shadows derived again: the guest's tables moved to
 * other frames, or what the shadow makes of a descriptor changed (the
 * translator's window moved: truncate.c).
 */
void vcpu_reshadow(struct bt86_xdata *x)
{
	shadow_gdt_build(x);
	shadow_ldt_build(x);
}

/* LGDT (and the truncation's changes): the shadows follow, and tracing. */
void vcpu_reload_gdt(struct bt86_xdata *x)
{
	vcpu_reshadow(x);
	desc_tables_changed(x);
}

/* LLDT or a task switch loaded x->sregs.ldt: the shadow LDT follows it. */
void vcpu_reload_ldt(struct bt86_xdata *x)
{
	shadow_ldt_build(x);
	desc_tables_changed(x);
}

/* Guest state -> the hardware frame: before every return to guest code. */
void vcpu_sync_to_hw(struct bt86_xdata *x)
{
	const struct bt86_regs *r = &x->regs;
	u64 flags;

	desc_load_ldtr(x);
	load_selectors(x);
	x->gpr.rax = r->eax;
	x->gpr.rcx = r->ecx;
	x->gpr.rdx = r->edx;
	x->gpr.rbx = r->ebx;
	x->gpr.rbp = r->ebp;
	x->gpr.rsi = r->esi;
	x->gpr.rdi = r->edi;
	x->rsp = r->esp;
	x->rip = r->eip;
	/*
	 * Guest ring 0 runs from the translation cache (bt_run.c), with %gs
	 * on the window; the guest's GS is loaded only around its %gs
	 * operands.
	 */
	if (x->bt.midseq || x->bt.enter) {
		x->rip = x->bt.midseq ? x->bt.rip : x->bt.enter;
		x->cs = BT_CS_SEL;
		bt_window_gs(x, x->guest_gs);
		x->guest_gs = BT_GS_SEL;
	}
	/* IF and IOPL are virtual; V86 and VIF/VIP do not exist here. */
	flags = (r->eflags & ~(EFLAGS_IOPL | EFLAGS_VM | EFLAGS_RF |
			       EFLAGS_VIF | EFLAGS_VIP)) |
		EFLAGS_IF | 2;
	if (x->v.step || x->bt.stepping || x->bt.native)
		flags |= EFLAGS_TF;
	x->rflags = flags;
	x->desc.hw_sel[0] = (u16)x->cs;
	x->desc.hw_sel[1] = (u16)x->ss;
	x->desc.hw_sel[2] = x->guest_ds;
	x->desc.hw_sel[3] = x->guest_es;
	x->desc.hw_sel[4] = x->guest_fs;
	x->desc.hw_sel[5] = x->guest_gs;
}

/* At the first entry, or after the host changed the state. */
void vcpu_load(struct bt86_xdata *x)
{
	shadow_load(x);
	vcpu_reload_gdt(x);
	bt_load(x);
	x->state_loaded = 1;
}

/*
 * A segment the guest may have reloaded natively (MOV Sreg, far JMP): a
 * hardware selector other than the one the monitor loaded (@loaded) names
 * the guest slot the CPU loaded, and the guest's descriptor there is what
 * it loaded (the tables are traced: desc_shadow.c).  The same selector
 * means unchanged, even if the guest's selector is the same as before:
 * the monitor may have loaded a stale slot.  @cpl >= 0 for CS and SS,
 * whose RPL is the guest's CPL, not the CPU's.
 */
static void save_segment(struct bt86_xdata *x, struct bt86_segment *s, u16 hw,
			 u16 loaded, int cpl)
{
	unsigned int slot = hw >> 3;
	u16 sel;
	u64 d;

	if (hw == loaded)
		return;
	/*
	 * A null selector, loaded by the guest (its RPL is the guest's) or
	 * left by the monitor for an unusable segment: the return to CPL 1
	 * nulls a null one with RPL 0 (SDM 2A "IRET"), so 0 keeps what is
	 * known.
	 */
	if (!(hw & ~3)) {
		if (cpl < 0 && (hw || !s->unusable || (s->selector & ~3))) {
			mon_memset(s, 0, sizeof(*s));
			s->selector = hw;
			s->unusable = 1;
		}
		return;
	}
	if (!(hw & 4) && slot >= GUEST_GDT_SLOTS)
		return;
	sel = cpl >= 0 ? (hw & ~3) | cpl : hw;
	d = guest_desc(x, sel);
	if (d)
		segment_from_desc(s, sel, d);
}

/*
 * The EFLAGS image of the trap frame, as far as the monitor can trust it;
 * @old is the guest's EFLAGS before the trap.
 *
 * QEMU 7.2's TCG (the sandbox's CPU) computes the flags CMPXCHG8B leaves
 * alone from a stale lazy-flags state, and after a CMPXCHG8B right behind
 * a return from the monitor the next event's frame carries the last ADD's
 * operand or the like: 0xc22013c2 was seen under Linux, with reserved bits
 * and TF set (fixed in QEMU 8.1 by "target/i386: Inline cmpxchg8b";
 * docs/testing.md).  Taken as the guest's, that TF single-steps the guest
 * for ever, an NT makes its next IRET a task return, a DF runs its string
 * copies backwards.  So:
 *  - the reserved bits are the CPU's constants (SDM 1 §3.4.3);
 *  - VM, VIF and VIP cannot change in compatibility mode: the guest's own;
 *  - a frame with a reserved bit set is junk: TF, DF, NT, AC and ID stay
 *    what they were (the arithmetic flags are QEMU's guess, natively too);
 *  - translated code sets TF only through the monitor (POPF and IRET that
 *    set it are call outs), so a TF from there is junk too, unless the CPU
 *    single-stepped (DR6.BS).
 */
static u32 frame_eflags(const struct bt86_xdata *x, u32 old)
{
	const u32 frozen = EFLAGS_VM | EFLAGS_VIF | EFLAGS_VIP;
	const u32 system = EFLAGS_TF | EFLAGS_DF | EFLAGS_NT | EFLAGS_AC |
			   EFLAGS_ID;
	u32 frame = (u32)x->rflags;
	bool stepped = x->vector == VEC_DB && (dr6_read() & DR6_BS);

	if (frame & EFLAGS_RESERVED)
		frame = (frame & ~system) | (old & system);
	else if (bt_from_tc(x) && !stepped)
		frame = (frame & ~EFLAGS_TF) | (old & EFLAGS_TF);
	return (frame & ~(EFLAGS_RESERVED | frozen)) | (old & frozen) | 2;
}

/*
 * The hardware frame -> guest state, at every trap from guest code.  Guest
 * code at CPL 3 is guest ring 3, anything else guest ring 0.
 */
void vcpu_sync_from_hw(struct bt86_xdata *x)
{
	struct bt86_regs *r = &x->regs;
	struct bt86_sregs *sr = &x->sregs;
	u32 virt = EFLAGS_IF | EFLAGS_IOPL;
	int cpl = (x->cs & 3) == 3 ? 3 : 0;

	r->eax = x->gpr.rax;
	r->ecx = x->gpr.rcx;
	r->edx = x->gpr.rdx;
	r->ebx = x->gpr.rbx;
	r->ebp = x->gpr.rbp;
	r->esi = x->gpr.rsi;
	r->edi = x->gpr.rdi;
	r->esp = x->rsp;
	r->eip = x->rip;
	if (x->v.step || x->bt.stepping || x->bt.native)
		virt |= EFLAGS_TF; /* the monitor's TF, not the guest's */
	r->eflags = (frame_eflags(x, r->eflags) & ~virt) | (r->eflags & virt);
	save_segment(x, &sr->cs, x->cs, x->desc.hw_sel[0], cpl);
	save_segment(x, &sr->ss, x->ss, x->desc.hw_sel[1], cpl);
	save_segment(x, &sr->ds, x->guest_ds, x->desc.hw_sel[2], -1);
	save_segment(x, &sr->es, x->guest_es, x->desc.hw_sel[3], -1);
	save_segment(x, &sr->fs, x->guest_fs, x->desc.hw_sel[4], -1);
	save_segment(x, &sr->gs, x->guest_gs, x->desc.hw_sel[5], -1);
	if (x->bt.enabled)
		bt_sync_from_hw(x);
}

/*
 * Derive @sel's shadow slot from the guest's descriptor again; true if it
 * changed.  desc_shadow.c calls it for every descriptor the guest writes;
 * trap.c for a selector that faulted, in case guest memory changed behind
 * the tracing (a device model's DMA), so that the instruction runs again.
 */
bool vcpu_resync_slot(struct bt86_xdata *x, u16 sel)
{
	u64 *slot = shadow_slot_of(x, sel);
	u64 d;

	if (!slot)
		return false;
	d = shadow_slot(x, sel, guest_desc(x, sel));
	if (*slot == d)
		return false;
	*slot = d;
	return true;
}

/*
 * #NP or #SS(@sel) because the guest's descriptor has its accessed bit
 * clear (shadow_slot()): this load would succeed on the guest's CPU, which
 * checks P last, and set the bit (SDM 3A §3.4.5.1).  Set it in the guest's
 * table (the slot follows through desc_shadow.c); true if the instruction
 * should run again.  Ring-3 code seen from ring 0 stays hidden: iret.c
 * does that load, and sets the bit itself.
 */
bool vcpu_first_load(struct bt86_xdata *x, u16 sel)
{
	u64 *slot = shadow_slot_of(x, sel);
	u64 g = guest_desc(x, sel), d = shadow_desc(x, g);

	if (!slot || !d || (g & DESC_A) ||
	    *slot != (d & ~(DESC_A | DESC_BIT_P)))
		return false;
	if (is_user_code(d) && !x->v.ring3_view)
		return false;
	count_emulated(x, BT86_EMUL_ACCESSED);
	desc_set_accessed(x, sel);
	vcpu_resync_slot(x, sel);
	return true;
}

/* Change the guest's EFLAGS bits in @mask to @value's (bit 1 reads as 1). */
void vcpu_set_eflags(struct bt86_xdata *x, u32 value, u32 mask)
{
	x->regs.eflags = (x->regs.eflags & ~mask) | (value & mask) | 2;
}

/* The 32-bit general register with hardware encoding @index (EAX = 0). */
u32 *vcpu_gpr32(struct bt86_xdata *x, unsigned int index)
{
	static const u8 map[8] = {
		offsetof(struct bt86_regs, eax),
		offsetof(struct bt86_regs, ecx),
		offsetof(struct bt86_regs, edx),
		offsetof(struct bt86_regs, ebx),
		offsetof(struct bt86_regs, esp),
		offsetof(struct bt86_regs, ebp),
		offsetof(struct bt86_regs, esi),
		offsetof(struct bt86_regs, edi),
	};

	return (u32 *)((u8 *)&x->regs + map[index & 7]);
}
