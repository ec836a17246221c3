// SPDX-License-Identifier: GPL-2.0
/*
 * Guest descriptors and segment loads, as a 32-bit protected-mode CPU does
 * them (SDM 3A, chapter 3 and §5.5-5.8; SDM 2A/2B "MOV", "POP", "LDS").
 *
 * The guest's GDT is read from guest memory at GDTR; the emulated
 * instructions (far transfers, IRET, task switches, MOV SS) load segments
 * through these helpers, with the architectural checks and the faults a
 * real CPU raises.  Loaded segments live in x->sregs; vcpu.c maps them to
 * hardware selectors in the shadow GDT and LDT.
 */
#include "monitor.h"

#define SEL_TI	 4u
#define SEL_RPL	 3u
#define SEL_MASK 0xfffcu /* the selector part of an error code */

u32 desc_base(u64 d)
{
	return ((d >> 16) & 0xffffff) | (u32)((d >> 56) << 24);
}

/* The byte-granular limit. */
u32 desc_limit(u64 d)
{
	u32 limit = (d & 0xffff) | (((d >> 48) & 0xf) << 16);

	return (d >> 55) & 1 ? (limit << 12) | 0xfff : limit;
}

/* The table @sel indexes, as base and limit; false if the table is empty. */
static bool table_of(struct bt86_xdata *x, u16 sel, u32 *base, u32 *limit)
{
	if (sel & SEL_TI) {
		if (x->sregs.ldt.unusable || !x->sregs.ldt.present)
			return false;
		*base = x->sregs.ldt.base;
		*limit = x->sregs.ldt.limit;
	} else {
		*base = x->sregs.gdt.base;
		*limit = x->sregs.gdt.limit;
	}
	return true;
}

/*
 * Read the descriptor @sel names.  A null selector or one beyond its
 * table's limit is #GP(selector) (SDM 3A §3.4.3); the caller decides what
 * a null selector means before calling.  Memory outside guest RAM reads as
 * the open bus: all ones, which is never a valid descriptor.  With guest
 * paging, a table page that is not mapped is the guest's #PF (the CPU
 * reads descriptor tables with supervisor rights whatever the CPL).
 */
fault_t desc_fetch(struct bt86_xdata *x, u16 sel, u64 *d)
{
	u32 base, limit, off = sel & ~7u;

	if (!table_of(x, sel, &base, &limit) || off + 7 > limit)
		return FAULT(VEC_GP, sel & SEL_MASK);
	return guest_load(x, base + off, d, 8, 0);
}

/* Rewrite the type field of @sel's descriptor in guest memory (busy bits). */
int desc_write_type(struct bt86_xdata *x, u16 sel, unsigned int type)
{
	u32 base, limit, off = sel & ~7u;
	u8 access;

	if (!table_of(x, sel, &base, &limit) || off + 7 > limit ||
	    guest_read(x, base + off + 5, &access, 1))
		return -1;
	access = (access & 0xf0) | (type & 0xf);
	return guest_write(x, base + off + 5, &access, 1);
}

/* The CPU sets the accessed bit of a segment it loads (SDM 3A §3.4.5.1). */
void desc_set_accessed(struct bt86_xdata *x, u16 sel)
{
	u32 base, limit, off = sel & ~7u;
	u8 access;

	if (!table_of(x, sel, &base, &limit) || off + 7 > limit ||
	    guest_read(x, base + off + 5, &access, 1) || (access & 1))
		return;
	access |= 1;
	guest_write(x, base + off + 5, &access, 1);
}

/* The hidden part the CPU loads from descriptor @d for selector @sel. */
void segment_from_desc(struct bt86_segment *s, u16 sel, u64 d)
{
	s->selector = sel;
	s->base = desc_base(d);
	s->limit = desc_limit(d);
	s->g = (d >> 55) & 1;
	s->type = DESC_TYPE(d);
	if (DESC_S(d))
		s->type |= 1; /* loading sets the accessed bit */
	s->s = DESC_S(d);
	s->dpl = DESC_DPL(d);
	s->present = DESC_P(d);
	s->avl = (d >> 52) & 1;
	s->db = (d >> 54) & 1;
	s->unusable = 0;
}

struct bt86_segment *sreg_of(struct bt86_xdata *x, enum sreg r)
{
	switch (r) {
	case SR_ES:
		return &x->sregs.es;
	case SR_CS:
		return &x->sregs.cs;
	case SR_SS:
		return &x->sregs.ss;
	case SR_FS:
		return &x->sregs.fs;
	case SR_GS:
		return &x->sregs.gs;
	default:
		return &x->sregs.ds;
	}
}

static void segment_set_null(struct bt86_segment *s, u16 sel)
{
	mon_memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->unusable = 1;
}

/*
 * DS/ES/FS/GS load at privilege @cpl (SDM 2A "MOV", protected mode): a null
 * selector makes the register unusable; otherwise the descriptor must be a
 * data or readable code segment, and unless it is conforming code,
 * DPL >= max(CPL, RPL).  @vector: #GP for MOV and friends, #TS in a task
 * switch.
 */
fault_t segment_load_data(struct bt86_xdata *x, enum sreg r, u16 sel,
			  unsigned int cpl, u32 vector)
{
	unsigned int rpl = sel & SEL_RPL;
	fault_t f;
	u64 d;

	if (!(sel & ~SEL_RPL)) {
		segment_set_null(sreg_of(x, r), sel);
		return 0;
	}
	f = desc_fetch(x, sel, &d);
	if (f)
		return FAULT(vector, sel & SEL_MASK);
	if (!DESC_S(d) || (DESC_CODE(d) && !(DESC_TYPE(d) & 2)))
		return FAULT(vector, sel & SEL_MASK);
	if (!DESC_CONFORMING(d) && (DESC_DPL(d) < cpl || DESC_DPL(d) < rpl))
		return FAULT(vector, sel & SEL_MASK);
	if (!DESC_P(d))
		return FAULT(VEC_NP, sel & SEL_MASK);
	desc_set_accessed(x, sel);
	segment_from_desc(sreg_of(x, r), sel, d);
	return 0;
}

/*
 * SS load at privilege @cpl: a writable data segment with RPL = DPL = CPL
 * (SDM 2A "MOV"); not present is #SS, not #NP.  The result goes to @out
 * (the caller commits it when the whole instruction succeeds).
 */
fault_t segment_load_ss(struct bt86_xdata *x, u16 sel, unsigned int cpl,
			u32 vector, struct bt86_segment *out)
{
	fault_t f;
	u64 d;

	if (!(sel & ~SEL_RPL))
		return FAULT(vector, 0);
	f = desc_fetch(x, sel, &d);
	if (f)
		return FAULT(vector, sel & SEL_MASK);
	if ((sel & SEL_RPL) != cpl || !DESC_S(d) || DESC_CODE(d) ||
	    !(DESC_TYPE(d) & 2) || DESC_DPL(d) != cpl)
		return FAULT(vector, sel & SEL_MASK);
	if (!DESC_P(d))
		return FAULT(VEC_SS, sel & SEL_MASK);
	desc_set_accessed(x, sel);
	segment_from_desc(out, sel, d);
	return 0;
}

/*
 * The common checks of a code segment a far transfer lands in: not null,
 * within the table, a code segment, present.  Privilege rules differ by
 * instruction and are the caller's.
 */
fault_t segment_check_code(struct bt86_xdata *x, u16 sel, u64 *d, u32 vector)
{
	fault_t f;

	if (!(sel & ~SEL_RPL))
		return FAULT(vector, 0);
	f = desc_fetch(x, sel, d);
	if (f)
		return FAULT(vector, sel & SEL_MASK);
	if (!DESC_CODE(*d))
		return FAULT(vector, sel & SEL_MASK);
	if (!DESC_P(*d))
		return FAULT(VEC_NP, sel & SEL_MASK);
	return 0;
}

/*
 * Is [off, off + len) inside segment @s (SDM 3A §5.3: expand-down data
 * segments hold the offsets above the limit, up to 64 KiB or 4 GiB)?
 */
bool segment_offset_ok(const struct bt86_segment *s, u32 off, u32 len)
{
	u32 last = off + len - 1;
	u32 top = s->db ? 0xffffffffu : 0xffffu;
	bool expand_down = s->s && !(s->type & 8) && (s->type & 4);

	if (s->unusable)
		return false;
	if (last < off && len)
		return false; /* wraps around the offset space */
	if (expand_down)
		return off > s->limit && last <= top;
	return last <= s->limit;
}

/*
 * After a return to an outer level (IRET, far RET): data segment registers
 * the new CPL may not use become null (SDM 2A "IRET", RETURN-TO-OUTER-
 * PRIVILEGE-LEVEL): data or non-conforming code with DPL < CPL.
 */
void segment_null_outer(struct bt86_xdata *x, unsigned int cpl)
{
	static const enum sreg regs[] = { SR_ES, SR_DS, SR_FS, SR_GS };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		struct bt86_segment *s = sreg_of(x, regs[i]);
		bool conforming = s->s && (s->type & 0xc) == 0xc;

		if (!s->unusable && !conforming && s->dpl < cpl)
			segment_set_null(s, 0);
	}
}
