// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow descriptor tables (monitor/vcpu.c and monitor/segment.c,
 * built for userland over a fake guest RAM): the whitelist a guest
 * descriptor goes through on its way into the shadow GDT or LDT (code and
 * data only, L stripped, accessed preset, DPL 0 raised to 1, system
 * descriptors and gates never copied), the first load of a descriptor
 * whose accessed bit is clear, ring-3 code hidden from ring 0 in both
 * tables, slots derived again after a guest write, stale slots for
 * segments whose descriptor changed after the load, and a native reload
 * of the same selector seen at the next trap.
 */
#include <stdlib.h>

#include "kselftest_harness.h"
#include "bt_monitor.h"

#define RAM_SIZE  0x100000
#define GDT_BASE  0x1000
#define LDT_BASE  0x3000
#define CS_RING0  0x08
#define SEL_LDT_A 0x30 /* index 6 */

static u8 ram[RAM_SIZE];

/* --- what vcpu.c and segment.c need from the rest of the monitor ------------- */

bool guest_range_ok(struct bt86_xdata *x, u32 addr, u32 len)
{
	(void)x;
	return len <= RAM_SIZE && addr <= RAM_SIZE - len;
}

int guest_read(struct bt86_xdata *x, u32 addr, void *dst, u32 len)
{
	if (!guest_range_ok(x, addr, len))
		return -1;
	memcpy(dst, ram + addr, len);
	return 0;
}

static unsigned int guest_writes;

/* As the monitor's: the shadow follows what the monitor writes. */
int guest_write(struct bt86_xdata *x, u32 addr, const void *src, u32 len)
{
	u32 sel, i;

	if (!guest_range_ok(x, addr, len))
		return -1;
	memcpy(ram + addr, src, len);
	guest_writes++;
	for (i = 0; i < 512; i++) {
		sel = i << 3;
		if (addr < GDT_BASE + sel + 8 && addr + len > GDT_BASE + sel)
			vcpu_resync_slot(x, sel);
		if (addr < LDT_BASE + sel + 8 && addr + len > LDT_BASE + sel)
			vcpu_resync_slot(x, sel | 4);
	}
	return 0;
}

void *mon_memset(void *dst, int c, size_t n)
{
	return memset(dst, c, n);
}

void *mon_memcpy(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

void count_emulated(struct bt86_xdata *x, unsigned int what)
{
	if (what < 32)
		x->stats.emulated[what]++;
}

void bt_load(struct bt86_xdata *x)
{
	(void)x;
}

void bt_sync_from_hw(struct bt86_xdata *x)
{
	(void)x;
}

static unsigned int tables_changed;

void desc_tables_changed(struct bt86_xdata *x)
{
	(void)x;
	tables_changed++;
}

void desc_load_ldtr(struct bt86_xdata *x)
{
	(void)x;
}

void bt_window_gs(struct bt86_xdata *x, u16 sel)
{
	(void)x;
	(void)sel;
}

void shadow_load(struct bt86_xdata *x)
{
	(void)x;
}

/* No translator's window here: nothing is truncated. */
u64 truncate_desc(const struct bt86_xdata *x, u64 d)
{
	(void)x;
	return d;
}

fault_t guest_load(struct bt86_xdata *x, u32 lin, void *dst, u32 len,
		   unsigned int acc)
{
	(void)acc;
	return guest_read(x, lin, dst, len) ? FAULT(VEC_PF, 0) : 0;
}

/* --- descriptors ------------------------------------------------------------ */

#define A    0x01ULL /* accessed */
#define P    0x80ULL
#define S    0x10ULL
#define CODE 0x0aULL /* execute/read */
#define DATA 0x02ULL /* read/write */
#define DPL3 0x60ULL
#define DB   0x4ULL /* flags nibble */
#define L    0x2ULL
#define G    0x8ULL

static u64 desc(u32 base, u32 limit, u64 access, u64 flags)
{
	return (limit & 0xffff) | (u64)(base & 0xffffff) << 16 | access << 40 |
	       (u64)((limit >> 16) & 0xf) << 48 | flags << 52 |
	       (u64)(base >> 24) << 56;
}

static u64 gate(u16 sel, u32 off, u64 type, u64 dpl)
{
	return (off & 0xffff) | (u64)sel << 16 |
	       (0x80 | dpl << 5 | type) << 40 | (u64)(off >> 16) << 48;
}

/* The access byte with DPL 0 raised to 1 and the accessed bit preset. */
static u64 shadowed(u64 d)
{
	if (!((d >> 45) & 3))
		d |= 1ULL << 45;
	return d | 1ULL << 40;
}

static void put(u32 table, unsigned int i, u64 d)
{
	memcpy(ram + table + i * 8, &d, 8);
}

static u64 get(u32 table, unsigned int i)
{
	u64 d;

	memcpy(&d, ram + table + i * 8, 8);
	return d;
}

/* --- the fixture: a vCPU at guest ring 0 with a GDT and an LDT -------------- */

FIXTURE(shadow)
{
	struct bt86_xdata *x;
};

static u64 *sgdt_of(struct bt86_xdata *x)
{
	return (u64 *)((u8 *)x + XDATA_GUEST_GDT);
}

static u64 *sldt_of(struct bt86_xdata *x)
{
	return (u64 *)((u8 *)x + XDATA_SHADOW_LDT);
}

static void flat(struct bt86_segment *s, u16 sel, u8 type, u8 dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->db = 1;
	s->g = 1;
}

FIXTURE_SETUP(shadow)
{
	struct bt86_xdata *x = aligned_alloc(XDATA_SIZE, XDATA_SIZE);

	ASSERT_NE(NULL, x);
	memset(x, 0, XDATA_SIZE);
	memset(ram, 0, sizeof(ram));
	self->x = x;
	put(GDT_BASE, 1, desc(0, 0xfffff, P | S | CODE | A, G | DB));
	put(GDT_BASE, 2, desc(0, 0xfffff, P | S | DATA | A, G | DB));
	put(GDT_BASE, 6, desc(LDT_BASE, 8 * 8 - 1, P | 0x02, 0));
	x->sregs.gdt.base = GDT_BASE;
	x->sregs.gdt.limit = 32 * 8 - 1;
	flat(&x->sregs.cs, CS_RING0, 0xb, 0);
	flat(&x->sregs.ss, 0x10, 0x3, 0);
	flat(&x->sregs.ds, 0x10, 0x3, 0);
	x->sregs.es = x->sregs.fs = x->sregs.gs = x->sregs.ds;
	x->sregs.ldt.unusable = 1;
	x->sregs.tr.unusable = 1;
	vcpu_load(x);
}

FIXTURE_TEARDOWN(shadow)
{
	free(self->x);
}

/* Point LDTR at the LDT of GDT slot 6, as LLDT 0x30 would. */
static void lldt(struct bt86_xdata *x)
{
	segment_from_desc(&x->sregs.ldt, SEL_LDT_A, get(GDT_BASE, 6));
	vcpu_reload_ldt(x);
}

/* --- the whitelist ------------------------------------------------------------ */

TEST_F(shadow, code_and_data_get_dpl_1_and_accessed)
{
	u64 code = desc(0x12345678, 0xabcde, P | S | CODE | A, DB);
	u64 data = desc(0x00400000, 0xfffff, P | S | DATA | A, G | DB);
	u64 user = desc(0x1000, 0xfff, P | S | DATA | DPL3 | A, DB);

	put(GDT_BASE, 8, code);
	put(GDT_BASE, 9, data);
	put(GDT_BASE, 10, user);
	vcpu_reload_gdt(self->x);
	EXPECT_EQ(shadowed(code), sgdt_of(self->x)[8]);
	EXPECT_EQ(shadowed(data), sgdt_of(self->x)[9]);
	EXPECT_EQ(user, sgdt_of(self->x)[10]); /* DPL 3: as it is */
	EXPECT_EQ(0, sgdt_of(self->x)[0]);
}

TEST_F(shadow, l_bit_stripped)
{
	u64 l64 = desc(0, 0xfffff, P | S | CODE | A, G | L);

	put(GDT_BASE, 8, l64);
	vcpu_reload_gdt(self->x);
	EXPECT_EQ(shadowed(l64) & ~(1ULL << 53), sgdt_of(self->x)[8]);
}

TEST_F(shadow, system_descriptors_and_gates_never_copied)
{
	struct bt86_xdata *x = self->x;
	unsigned int i;

	put(GDT_BASE, 8, desc(0x5000, 0x67, P | 0x09, 0));    /* TSS */
	put(GDT_BASE, 9, desc(0x5000, 0x67, P | 0x0b, 0));    /* busy TSS */
	put(GDT_BASE, 10, desc(LDT_BASE, 0xff, P | 0x02, 0)); /* LDT */
	/* a call gate and an empty neighbour: a 16-byte gate in IA-32e */
	put(GDT_BASE, 11, gate(CS_RING0, 0x1000, 0x0c, 3));
	put(GDT_BASE, 12, 0);
	put(GDT_BASE, 13, gate(0x28, 0, 0x05, 3));	    /* task gate */
	put(GDT_BASE, 14, gate(CS_RING0, 0x1000, 0x0e, 3)); /* interrupt */
	put(GDT_BASE, 15, gate(CS_RING0, 0x1000, 0x0f, 3)); /* trap */
	put(GDT_BASE, 16, gate(CS_RING0, 0x1000, 0x04, 3)); /* 16-bit call */
	/* not present */
	put(GDT_BASE, 17, desc(0, 0xfffff, S | CODE | A, G | DB));
	vcpu_reload_gdt(x);
	for (i = 8; i <= 17; i++)
		EXPECT_EQ(0, sgdt_of(x)[i]);
	/* and in the LDT */
	put(LDT_BASE, 1, gate(CS_RING0, 0x1000, 0x0c, 3));
	put(LDT_BASE, 2, desc(LDT_BASE, 0xff, P | 0x02, 0));
	lldt(x);
	EXPECT_EQ(0, sldt_of(x)[1]);
	EXPECT_EQ(0, sldt_of(x)[2]);
}

TEST_F(shadow, only_the_guests_slots)
{
	struct bt86_xdata *x = self->x;

	/* a GDT past the shadow's 496 slots: the rest is the monitor's */
	x->sregs.gdt.limit = 0xffff;
	memset(sgdt_of(x) + GUEST_GDT_SLOTS, 0x5a,
	       (GDT_SLOTS - GUEST_GDT_SLOTS) * 8);
	put(GDT_BASE, GUEST_GDT_SLOTS, desc(0, 0xfffff, P | S | CODE | A, G));
	vcpu_reload_gdt(x);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, sgdt_of(x)[GUEST_GDT_SLOTS + 7]);
	EXPECT_FALSE(vcpu_resync_slot(x, GUEST_GDT_SLOTS << 3));
}

/* --- the accessed bit --------------------------------------------------------- */

TEST_F(shadow, first_load_sets_the_guests_accessed_bit)
{
	struct bt86_xdata *x = self->x;
	u64 fresh = desc(0x2000, 0xfff, P | S | DATA, DB);

	put(GDT_BASE, 8, fresh);
	vcpu_reload_gdt(x);
	/* not present and not accessed: the load faults */
	EXPECT_EQ(shadowed(fresh) & ~(1ULL << 40 | 1ULL << 47), sgdt_of(x)[8]);
	EXPECT_TRUE(vcpu_first_load(x, 0x40));
	EXPECT_EQ(fresh | 1ULL << 40, get(GDT_BASE, 8));
	EXPECT_EQ(shadowed(fresh), sgdt_of(x)[8]);
	EXPECT_EQ(1, x->stats.emulated[BT86_EMUL_ACCESSED]);
	/* present now: a #NP there is not a first load */
	EXPECT_FALSE(vcpu_first_load(x, 0x40));
	/* a genuinely not-present descriptor is the guest's #NP */
	put(GDT_BASE, 9, desc(0x2000, 0xfff, S | DATA, DB));
	vcpu_resync_slot(x, 0x48);
	EXPECT_FALSE(vcpu_first_load(x, 0x48));
	EXPECT_EQ(desc(0x2000, 0xfff, S | DATA, DB), get(GDT_BASE, 9));
}

TEST_F(shadow, first_load_in_the_ldt)
{
	struct bt86_xdata *x = self->x;
	u64 fresh = desc(0x2000, 0xfff, P | S | DATA | DPL3, DB);

	put(LDT_BASE, 3, fresh);
	lldt(x);
	EXPECT_EQ(8, x->desc.ldt_slots);
	EXPECT_EQ(0, sldt_of(x)[3] & (1ULL << 47));
	EXPECT_TRUE(vcpu_first_load(x, 0x1f));
	EXPECT_EQ(fresh | 1ULL << 40, get(LDT_BASE, 3));
	EXPECT_EQ(fresh | 1ULL << 40, sldt_of(x)[3]);
}

/* --- ring-3 code, hidden from ring 0 ------------------------------------------ */

TEST_F(shadow, ring3_code_hidden_from_ring0_in_both_tables)
{
	struct bt86_xdata *x = self->x;
	u64 ucode = desc(0, 0xfffff, P | S | CODE | DPL3 | A, G | DB);
	u64 fresh = desc(0, 0xfffff, P | S | CODE | DPL3, G | DB);

	put(GDT_BASE, 3, ucode);
	put(LDT_BASE, 0, ucode);
	put(LDT_BASE, 7, ucode);
	put(LDT_BASE, 5, fresh);
	vcpu_reload_gdt(x);
	lldt(x);
	vcpu_sync_to_hw(x); /* ring 0 */
	EXPECT_EQ(ucode & ~(1ULL << 47), sgdt_of(x)[3]);
	EXPECT_EQ(ucode & ~(1ULL << 47), sldt_of(x)[0]);
	EXPECT_EQ(ucode & ~(1ULL << 47), sldt_of(x)[7]);
	/* hidden: not a first load even though A is clear in the guest's */
	EXPECT_FALSE(vcpu_first_load(x, 0x2f));

	flat(&x->sregs.cs, 0x1b, 0xb, 3);
	flat(&x->sregs.ss, 0x23, 0x3, 3);
	vcpu_sync_to_hw(x); /* ring 3 */
	EXPECT_EQ(ucode, sgdt_of(x)[3]);
	EXPECT_EQ(ucode, sldt_of(x)[0]);
	EXPECT_EQ(ucode, sldt_of(x)[7]);
	/* never accessed: still the first load's fault, in either view */
	EXPECT_EQ(0, sldt_of(x)[5] & (1ULL << 47 | 1ULL << 40));
	EXPECT_EQ(0x1b, x->cs);
	EXPECT_TRUE(vcpu_first_load(x, 0x2f));
	EXPECT_EQ(fresh | 1ULL << 40, sldt_of(x)[5]);

	flat(&x->sregs.cs, CS_RING0, 0xb, 0);
	flat(&x->sregs.ss, 0x10, 0x3, 0);
	vcpu_sync_to_hw(x); /* ring 0 again */
	EXPECT_EQ(ucode & ~(1ULL << 47), sldt_of(x)[0]);
	EXPECT_EQ((fresh & ~(1ULL << 47)) | 1ULL << 40, sldt_of(x)[5]);
}

/* --- the LDT ------------------------------------------------------------------ */

TEST_F(shadow, ldt_slots_follow_the_guests_limit)
{
	struct bt86_xdata *x = self->x;
	unsigned int i;

	for (i = 0; i < 8; i++)
		put(LDT_BASE, i, desc(i << 12, 0xfff, P | S | DATA | A, DB));
	lldt(x);
	EXPECT_EQ(8, x->desc.ldt_slots);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(shadowed(get(LDT_BASE, i)), sldt_of(x)[i]);
	/* a limit of 0x0b holds one whole descriptor */
	put(GDT_BASE, 6, desc(LDT_BASE, 0x0b, P | 0x02, 0));
	lldt(x);
	EXPECT_EQ(1, x->desc.ldt_slots);
	EXPECT_EQ(0, sldt_of(x)[1]);
	/* a null LDTR: none */
	x->sregs.ldt.unusable = 1;
	vcpu_reload_ldt(x);
	EXPECT_EQ(0, x->desc.ldt_slots);
	EXPECT_EQ(0, sldt_of(x)[0]);
	/* the largest: 8192 */
	put(GDT_BASE, 6, desc(LDT_BASE, 0xfffff, P | 0x02, G));
	lldt(x);
	EXPECT_EQ(SHADOW_LDT_SLOTS, x->desc.ldt_slots);
}

/* --- changes after a load: resync, stale slots, a native reload -------------- */

TEST_F(shadow, changed_descriptor_keeps_the_loaded_segment)
{
	struct bt86_xdata *x = self->x;
	u64 before = desc(0x2000, 0xfff, P | S | DATA | A, DB);
	u64 after = desc(0x3000, 0xfff, P | S | DATA | A, DB);

	put(GDT_BASE, 8, before);
	put(LDT_BASE, 1, before);
	vcpu_reload_gdt(x);
	lldt(x);
	segment_from_desc(&x->sregs.fs, 0x40, before);
	segment_from_desc(&x->sregs.gs, 0x0c, before);
	vcpu_sync_to_hw(x);
	EXPECT_EQ(0x40, x->guest_fs);
	EXPECT_EQ(0x0c, x->guest_gs);

	/* the guest writes both descriptors */
	put(GDT_BASE, 8, after);
	put(LDT_BASE, 1, after);
	EXPECT_TRUE(vcpu_resync_slot(x, 0x40));
	EXPECT_TRUE(vcpu_resync_slot(x, 0x0c));
	EXPECT_FALSE(vcpu_resync_slot(x, 0x0c));
	EXPECT_EQ(shadowed(after), sgdt_of(x)[8]);
	EXPECT_EQ(shadowed(after), sldt_of(x)[1]);

	/* FS and GS keep what they loaded, from stale slots */
	vcpu_sync_from_hw(x);
	vcpu_sync_to_hw(x);
	EXPECT_EQ((STALE_SLOT_FIRST + 4) << 3, x->guest_fs);
	EXPECT_EQ((STALE_SLOT_FIRST + 5) << 3, x->guest_gs);
	EXPECT_EQ(shadowed(before), sgdt_of(x)[STALE_SLOT_FIRST + 4]);
	EXPECT_EQ(shadowed(before), sgdt_of(x)[STALE_SLOT_FIRST + 5]);
	EXPECT_EQ(0x2000, x->sregs.fs.base);

	/* guest code loads 0x40 again natively: the next trap sees it */
	x->guest_fs = 0x40;
	vcpu_sync_from_hw(x);
	EXPECT_EQ(0x40, x->sregs.fs.selector);
	EXPECT_EQ(0x3000, x->sregs.fs.base);
	EXPECT_EQ(0x2000, x->sregs.gs.base);
	vcpu_sync_to_hw(x);
	EXPECT_EQ(0x40, x->guest_fs);
	EXPECT_EQ(0, sgdt_of(x)[STALE_SLOT_FIRST + 4]);

	/* and a null selector loaded natively */
	x->guest_gs = 3;
	vcpu_sync_from_hw(x);
	EXPECT_TRUE(x->sregs.gs.unusable);
	EXPECT_EQ(3, x->sregs.gs.selector);
}

TEST_F(shadow, ring0_cs_and_ss_run_at_rpl_1)
{
	struct bt86_xdata *x = self->x;

	vcpu_sync_to_hw(x);
	EXPECT_EQ(CS_RING0 | 1, x->cs);
	EXPECT_EQ(0x10 | 1, x->ss);
	EXPECT_EQ(0x10, x->guest_ds);
	/* a trap: the guest's selectors keep RPL 0 */
	vcpu_sync_from_hw(x);
	EXPECT_EQ(CS_RING0, x->sregs.cs.selector);
	EXPECT_EQ(0x10, x->sregs.ss.selector);
}

TEST_HARNESS_MAIN
