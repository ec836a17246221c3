// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU state userland may set, and the state a vCPU starts in.
 *
 * bt86 runs 32-bit protected-mode guests only: no real mode, no virtual-8086
 * mode, no long mode.  Each rule below is one function; anything a rule
 * rejects is -EINVAL.  The monitor (next issue) loads this state into the
 * guest's world, so whatever passes here must be a state it can run.
 *
 * Parts: EFLAGS, control registers and EFER, segments, the reset state.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "bt86.h"

/* Segment descriptor type bits (the 4-bit type field). */
#define SEG_TYPE_ACCESSED BIT(0)
#define SEG_TYPE_WRITABLE BIT(1) /* data segments */
#define SEG_TYPE_READABLE BIT(1) /* code segments */
#define SEG_TYPE_CODE	  BIT(3)
#define SEG_TYPE_MAX	  0xf

/* System segment types. */
#define SYS_TYPE_LDT	    0x2
#define SYS_TYPE_TSS16_BUSY 0x3
#define SYS_TYPE_TSS32_BUSY 0xb

#define SEG_LIMIT_G_LOW	   0xfff   /* low bits implied by g = 1 */
#define SEG_LIMIT_BYTE_MAX 0xfffff /* largest limit with g = 0 */

/* --- EFLAGS --------------------------------------------------------------- */

#define EFLAGS_RESERVED_ZERO (BIT(3) | BIT(5) | BIT(15) | GENMASK(31, 22))

static int bt86_check_eflags_fixed(u32 eflags)
{
	if (!(eflags & X86_EFLAGS_FIXED) || (eflags & EFLAGS_RESERVED_ZERO))
		return -EINVAL;
	return 0;
}

/* Virtual-8086 mode is not supported. */
static int bt86_check_eflags_vm(u32 eflags)
{
	return eflags & X86_EFLAGS_VM ? -EINVAL : 0;
}

int bt86_check_regs(const struct bt86_regs *regs)
{
	int ret;

	ret = bt86_check_eflags_fixed(regs->eflags);
	if (!ret)
		ret = bt86_check_eflags_vm(regs->eflags);
	return ret;
}

/* --- control registers and EFER ------------------------------------------ */

#define CR0_KNOWN                                                         \
	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | \
	 X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | \
	 X86_CR0_PG)

/* TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT; VME and PVI are not. */
#define CR4_ALLOWED GENMASK(10, 2)

static int bt86_check_cr0_reserved(u32 cr0)
{
	return cr0 & ~CR0_KNOWN ? -EINVAL : 0;
}

/*
 * Real mode is not supported, so PE is required.  That also enforces the
 * architectural rule that PG needs PE.
 */
static int bt86_check_cr0_protected(u32 cr0)
{
	return cr0 & X86_CR0_PE ? 0 : -EINVAL;
}

/* Not-write-through without cache-disable is an invalid combination (#GP). */
static int bt86_check_cr0_cache(u32 cr0)
{
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return -EINVAL;
	return 0;
}

static int bt86_check_cr4(u32 cr4)
{
	return cr4 & ~CR4_ALLOWED ? -EINVAL : 0;
}

/* Only NXE, for PAE guests: a 32-bit guest has no use for LME or SCE. */
static int bt86_check_efer(u64 efer)
{
	return efer & ~(u64)EFER_NX ? -EINVAL : 0;
}

/* --- segments ------------------------------------------------------------- */

static bool bt86_seg_fields_in_range(const struct bt86_segment *seg)
{
	return seg->type <= SEG_TYPE_MAX && seg->dpl <= 3 && seg->s <= 1 &&
	       seg->present <= 1 && seg->db <= 1 && seg->g <= 1 &&
	       seg->avl <= 1 && seg->unusable <= 1;
}

/* limit is byte-granular: with g = 1 its low 12 bits are all ones. */
static bool bt86_seg_limit_matches_g(const struct bt86_segment *seg)
{
	if (seg->g)
		return (seg->limit & SEG_LIMIT_G_LOW) == SEG_LIMIT_G_LOW;
	return seg->limit <= SEG_LIMIT_BYTE_MAX;
}

static int bt86_check_seg_common(const struct bt86_segment *seg)
{
	if (!bt86_seg_fields_in_range(seg))
		return -EINVAL;
	if (!seg->unusable && !bt86_seg_limit_matches_g(seg))
		return -EINVAL;
	return 0;
}

static bool bt86_seg_is_code(const struct bt86_segment *seg)
{
	return seg->type & SEG_TYPE_CODE;
}

/* A present code/data (s = 1) segment. */
static bool bt86_seg_is_present_user(const struct bt86_segment *seg)
{
	return seg->present && seg->s;
}

static int bt86_check_cs(const struct bt86_segment *cs)
{
	if (cs->unusable || !bt86_seg_is_present_user(cs) ||
	    !bt86_seg_is_code(cs))
		return -EINVAL;
	return 0;
}

static int bt86_check_ss(const struct bt86_segment *ss)
{
	if (ss->unusable)
		return 0;
	if (!bt86_seg_is_present_user(ss) || bt86_seg_is_code(ss) ||
	    !(ss->type & SEG_TYPE_WRITABLE))
		return -EINVAL;
	return 0;
}

/* DS, ES, FS, GS: data, or code that can be read. */
static int bt86_check_data_seg(const struct bt86_segment *seg)
{
	if (seg->unusable)
		return 0;
	if (!bt86_seg_is_present_user(seg))
		return -EINVAL;
	if (bt86_seg_is_code(seg) && !(seg->type & SEG_TYPE_READABLE))
		return -EINVAL;
	return 0;
}

/* A present system segment of one of the given types. */
static int bt86_check_sys_seg(const struct bt86_segment *seg, u8 type1,
			      u8 type2)
{
	if (seg->unusable)
		return 0;
	if (!seg->present || seg->s)
		return -EINVAL;
	if (seg->type != type1 && seg->type != type2)
		return -EINVAL;
	return 0;
}

static int bt86_check_tr(const struct bt86_segment *tr)
{
	return bt86_check_sys_seg(tr, SYS_TYPE_TSS16_BUSY, SYS_TYPE_TSS32_BUSY);
}

static int bt86_check_ldt(const struct bt86_segment *ldt)
{
	return bt86_check_sys_seg(ldt, SYS_TYPE_LDT, SYS_TYPE_LDT);
}

static int bt86_check_segments(const struct bt86_sregs *s)
{
	const struct bt86_segment *all[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(all); i++)
		if (bt86_check_seg_common(all[i]))
			return -EINVAL;

	if (bt86_check_cs(&s->cs) || bt86_check_ss(&s->ss) ||
	    bt86_check_data_seg(&s->ds) || bt86_check_data_seg(&s->es) ||
	    bt86_check_data_seg(&s->fs) || bt86_check_data_seg(&s->gs) ||
	    bt86_check_tr(&s->tr) || bt86_check_ldt(&s->ldt))
		return -EINVAL;
	return 0;
}

int bt86_check_sregs(const struct bt86_sregs *sregs)
{
	if (bt86_check_cr0_reserved(sregs->cr0) ||
	    bt86_check_cr0_protected(sregs->cr0) ||
	    bt86_check_cr0_cache(sregs->cr0) || bt86_check_cr4(sregs->cr4) ||
	    bt86_check_efer(sregs->efer))
		return -EINVAL;
	return bt86_check_segments(sregs);
}

/* --- the reset state ------------------------------------------------------ */

/*
 * The architectural power-on state is real mode, which bt86 does not run.
 * A vCPU starts instead in flat 32-bit protected mode with paging off, the
 * state a multiboot loader hands over, so GET right after CREATE returns a
 * state that SET accepts.  The selectors follow a conventional GDT layout
 * (code 0x08, data 0x10, TSS 0x18); the launcher sets its own.
 */
#define RESET_CS_SELECTOR  0x08
#define RESET_DS_SELECTOR  0x10
#define RESET_TR_SELECTOR  0x18
#define RESET_TSS_LIMIT	   0x67 /* a 32-bit TSS without I/O bitmap */
#define RESET_DTABLE_LIMIT 0xffff

static void bt86_reset_flat_seg(struct bt86_segment *seg, u16 selector, u8 type)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->s = 1;
	seg->dpl = 0;
	seg->present = 1;
	seg->db = 1;
	seg->g = 1;
}

static void bt86_reset_segments(struct bt86_sregs *s)
{
	const u8 data = SEG_TYPE_WRITABLE | SEG_TYPE_ACCESSED;
	const u8 code = SEG_TYPE_CODE | SEG_TYPE_READABLE | SEG_TYPE_ACCESSED;

	bt86_reset_flat_seg(&s->cs, RESET_CS_SELECTOR, code);
	bt86_reset_flat_seg(&s->ds, RESET_DS_SELECTOR, data);
	bt86_reset_flat_seg(&s->es, RESET_DS_SELECTOR, data);
	bt86_reset_flat_seg(&s->fs, RESET_DS_SELECTOR, data);
	bt86_reset_flat_seg(&s->gs, RESET_DS_SELECTOR, data);
	bt86_reset_flat_seg(&s->ss, RESET_DS_SELECTOR, data);

	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = RESET_TR_SELECTOR;
	s->tr.limit = RESET_TSS_LIMIT;
	s->tr.type = SYS_TYPE_TSS32_BUSY;
	s->tr.present = 1;

	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.unusable = 1;
}

void bt86_reset_state(struct bt86_regs *regs, struct bt86_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->eflags = X86_EFLAGS_FIXED;

	memset(sregs, 0, sizeof(*sregs));
	bt86_reset_segments(sregs);
	sregs->gdt.limit = RESET_DTABLE_LIMIT;
	sregs->idt.limit = RESET_DTABLE_LIMIT;
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
}
