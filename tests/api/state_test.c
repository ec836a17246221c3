// SPDX-License-Identifier: GPL-2.0
/*
 * Validation of SET_REGS and SET_SREGS: one variant per rule of
 * docs/ioctl-api.md, each changing the reset state in one way.  A rejected
 * state must leave the vCPU as it was; an accepted one must read back as set.
 */
#include "api.h"

#define CR0_PE	       (1u << 0)
#define CR0_ET	       (1u << 4)
#define CR0_NW	       (1u << 29)
#define CR0_CD	       (1u << 30)
#define CR0_PG	       (1u << 31)
#define CR0_KNOWN      0xe005003fu
#define CR4_ALLOWED    0x7fcu
#define EFER_NXE       (1ull << 11)
#define EFLAGS_ALLOWED 0x3d7fd7u /* everything but 3,5,15,17,22-31 */

FIXTURE(state)
{
	int dev;
	int vm;
	int vcpu;
};

/* mutate() turns the reset state into the state to try. */
FIXTURE_VARIANT(state)
{
	void (*mutate)(struct bt86_regs * r, struct bt86_sregs * s);
	int sregs;  /* 1: try SET_SREGS, 0: SET_REGS */
	int expect; /* 0 or -EINVAL */
};

FIXTURE_SETUP(state)
{
	OPEN_DEV_OR_SKIP(self->dev);
	self->vm = CREATE_VM(self->dev);
	self->vcpu = CREATE_VCPU(self->vm, 0);
}

FIXTURE_TEARDOWN(state)
{
	close(self->vcpu);
	close(self->vm);
	close(self->dev);
}

#define STATE_CASE(name, is_sregs, result, body)                              \
	static void mutate_##name(struct bt86_regs *r, struct bt86_sregs *s)  \
	{                                                                     \
		body;                                                         \
	}                                                                     \
	FIXTURE_VARIANT_ADD(state, name)                                      \
	{                                                                     \
		.mutate = mutate_##name, .sregs = is_sregs, .expect = result, \
	}

#define BAD_REGS(name, body)   STATE_CASE(name, 0, -EINVAL, body)
#define GOOD_REGS(name, body)  STATE_CASE(name, 0, 0, body)
#define BAD_SREGS(name, body)  STATE_CASE(name, 1, -EINVAL, body)
#define GOOD_SREGS(name, body) STATE_CASE(name, 1, 0, body)

/* --- EFLAGS --------------------------------------------------------------- */
BAD_REGS(eflags_bit1_clear, r->eflags = 0);
BAD_REGS(eflags_bit3, r->eflags |= 1u << 3);
BAD_REGS(eflags_bit5, r->eflags |= 1u << 5);
BAD_REGS(eflags_bit15, r->eflags |= 1u << 15);
BAD_REGS(eflags_bit22, r->eflags |= 1u << 22);
BAD_REGS(eflags_bit31, r->eflags |= 1u << 31);
BAD_REGS(eflags_vm86, r->eflags |= 1u << 17);
GOOD_REGS(eflags_all_allowed, r->eflags = EFLAGS_ALLOWED);

/* --- CR0, CR4, EFER ------------------------------------------------------- */
BAD_SREGS(cr0_real_mode, s->cr0 = CR0_ET);
BAD_SREGS(cr0_pg_without_pe, s->cr0 = CR0_PG | CR0_ET);
BAD_SREGS(cr0_nw_without_cd, s->cr0 |= CR0_NW);
BAD_SREGS(cr0_reserved_bit6, s->cr0 |= 1u << 6);
BAD_SREGS(cr0_reserved_bit17, s->cr0 |= 1u << 17);
BAD_SREGS(cr0_reserved_bit28, s->cr0 |= 1u << 28);
GOOD_SREGS(cr0_nw_with_cd, s->cr0 |= CR0_NW | CR0_CD);
GOOD_SREGS(cr0_all_known, s->cr0 = CR0_KNOWN);
BAD_SREGS(cr4_vme, s->cr4 = 1u << 0);
BAD_SREGS(cr4_pvi, s->cr4 = 1u << 1);
BAD_SREGS(cr4_umip, s->cr4 = 1u << 11);
BAD_SREGS(cr4_pcide, s->cr4 = 1u << 17);
BAD_SREGS(cr4_smep, s->cr4 = 1u << 20);
GOOD_SREGS(cr4_all_allowed, s->cr4 = CR4_ALLOWED);
BAD_SREGS(efer_sce, s->efer = 1u << 0);
BAD_SREGS(efer_lme, s->efer = 1u << 8);
BAD_SREGS(efer_lma, s->efer = 1u << 10);
BAD_SREGS(efer_high, s->efer = EFER_NXE | 1ull << 32);
GOOD_SREGS(pae_paging_nx, s->cr0 |= CR0_PG; s->cr4 = 0x20; s->efer = EFER_NXE);

/* --- any segment ---------------------------------------------------------- */
BAD_SREGS(seg_g1_limit_low_bits, s->ds.limit = 0xfffff000);
BAD_SREGS(seg_g0_limit_too_big, s->ds.g = 0; s->ds.limit = 0x100000);
GOOD_SREGS(seg_g0_limit_max, s->ds.g = 0; s->ds.limit = 0xfffff);
BAD_SREGS(seg_dpl_4, s->es.dpl = 4);
BAD_SREGS(seg_type_16, s->es.type = 16);
BAD_SREGS(seg_present_2, s->fs.present = 2);
BAD_SREGS(seg_unusable_2, s->gs.unusable = 2);
BAD_SREGS(tr_limit_g_mismatch, s->tr.g = 1);
GOOD_SREGS(all_dpl3, s->cs.dpl = s->ss.dpl = s->ds.dpl = s->es.dpl = 3;
	   s->fs.dpl = s->gs.dpl = 3);

/* --- CS ------------------------------------------------------------------- */
BAD_SREGS(cs_unusable, s->cs.unusable = 1);
BAD_SREGS(cs_not_present, s->cs.present = 0);
BAD_SREGS(cs_system, s->cs.s = 0);
BAD_SREGS(cs_data, s->cs.type = 0x3);
GOOD_SREGS(cs_exec_only_conforming, s->cs.type = 0xc);

/* --- SS ------------------------------------------------------------------- */
BAD_SREGS(ss_not_present, s->ss.present = 0);
BAD_SREGS(ss_system, s->ss.s = 0);
BAD_SREGS(ss_code, s->ss.type = 0xb);
BAD_SREGS(ss_read_only, s->ss.type = 0x1);
GOOD_SREGS(ss_expand_down, s->ss.type = 0x7);
GOOD_SREGS(ss_unusable, s->ss.unusable = 1; s->ss.present = 0);

/* --- DS ES FS GS ---------------------------------------------------------- */
BAD_SREGS(ds_not_present, s->ds.present = 0);
BAD_SREGS(es_system, s->es.s = 0);
BAD_SREGS(fs_exec_only_code, s->fs.type = 0x9);
BAD_SREGS(gs_exec_only_conforming, s->gs.type = 0xd);
GOOD_SREGS(ds_readable_code, s->ds.type = 0xb);
GOOD_SREGS(es_read_only, s->es.type = 0x1);
GOOD_SREGS(data_unusable, s->ds.unusable = s->es.unusable = 1;
	   s->fs.unusable = s->gs.unusable = 1; s->gs.present = 0);

/* --- TR and LDT ----------------------------------------------------------- */
BAD_SREGS(tr_available_tss, s->tr.type = 0x9);
BAD_SREGS(tr_ldt_type, s->tr.type = 0x2);
BAD_SREGS(tr_code_data, s->tr.s = 1);
BAD_SREGS(tr_not_present, s->tr.present = 0);
GOOD_SREGS(tr_busy_tss16, s->tr.type = 0x3);
GOOD_SREGS(tr_unusable, s->tr.unusable = 1);
BAD_SREGS(ldt_tss_type, s->ldt.unusable = 0; s->ldt.present = 1;
	  s->ldt.type = 0xb);
BAD_SREGS(ldt_code_data, s->ldt.unusable = 0; s->ldt.present = 1;
	  s->ldt.type = 0x2; s->ldt.s = 1);
BAD_SREGS(ldt_not_present, s->ldt.unusable = 0; s->ldt.type = 0x2);
GOOD_SREGS(ldt_usable, s->ldt.unusable = 0; s->ldt.present = 1;
	   s->ldt.type = 0x2; s->ldt.limit = 0xfff; s->ldt.base = 0x4000);

TEST_F(state, set)
{
	struct bt86_regs regs0 = { 0 }, regs, regs_out = { 0 };
	struct bt86_sregs sregs0 = { 0 }, sregs, sregs_out = { 0 };
	long ret;

	GET_REGS(self->vcpu, &regs0);
	GET_SREGS(self->vcpu, &sregs0);
	regs = regs0;
	sregs = sregs0;
	variant->mutate(&regs, &sregs);

	if (variant->sregs)
		ret = raw_ioctl_p(self->vcpu, BT86_SET_SREGS, &sregs);
	else
		ret = raw_ioctl_p(self->vcpu, BT86_SET_REGS, &regs);
	ASSERT_EQ(variant->expect, ret);

	GET_REGS(self->vcpu, &regs_out);
	GET_SREGS(self->vcpu, &sregs_out);
	if (variant->expect) {
		/* Rejected: nothing changed. */
		EXPECT_EQ(0, memcmp(&regs0, &regs_out, sizeof(regs0)));
		EXPECT_EQ(0, memcmp(&sregs0, &sregs_out, sizeof(sregs0)));
	} else {
		EXPECT_EQ(0, memcmp(&regs, &regs_out, sizeof(regs)));
		EXPECT_EQ(0, memcmp(&sregs, &sregs_out, sizeof(sregs)));
	}
}

TEST_HARNESS_MAIN
