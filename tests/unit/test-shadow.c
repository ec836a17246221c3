// SPDX-License-Identifier: GPL-2.0
/*
 * The guest page-table walker of shadow paging (shadow/walk.c), built for
 * userland over a 1 MiB "guest RAM": 32-bit paging with 4 KiB and 4 MiB
 * pages, PAE with 2 MiB pages and NX, the #PF error codes of SDM 3A §4.7,
 * and where the accessed and dirty flags are set (§4.8, as QEMU's TCG sets
 * them: the walk's references on the way down, the leaf's only when the
 * access is allowed).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "walk.h"

#define RAM    (1u << 20)
#define PD     0x10000
#define PT     0x11000
#define PDPT   0x12000
#define PAE_PD 0x13000
#define PAE_PT 0x14000
#define P      GPTE_P
#define W      GPTE_W
#define U      GPTE_U
#define A      GPTE_A
#define D      GPTE_D
#define PS     GPTE_PS
#define G      GPTE_G
#define MAXPHY 40

static uint8_t ram[RAM];
static unsigned int writes;

static bool mem_read(void *opaque, sh_u64 gpa, void *buf, unsigned int len)
{
	(void)opaque;
	if (gpa + len > RAM)
		return false;
	memcpy(buf, ram + gpa, len);
	return true;
}

static void mem_set_bits(void *opaque, sh_u64 gpa, sh_u32 bits)
{
	uint32_t v;

	(void)opaque;
	memcpy(&v, ram + gpa, 4);
	v |= bits;
	memcpy(ram + gpa, &v, 4);
	writes++;
}

static const struct sh_walk_env env = {
	.read = mem_read,
	.set_bits = mem_set_bits,
	.rsvd_high = ((1ULL << 63) - 1) & ~((1ULL << MAXPHY) - 1),
};

static uint32_t *e32(uint32_t gpa)
{
	return (uint32_t *)(ram + gpa);
}

static uint64_t *e64(uint32_t gpa)
{
	return (uint64_t *)(ram + gpa);
}

/* 32-bit paging: PDE 1 (4 MiB) -> PT, whose PTE 2 maps 0x5000. */
static struct sh_paging setup32(uint32_t pde_bits, uint32_t pte_bits)
{
	struct sh_paging p = { .cr0 = SH_CR0_PG | SH_CR0_WP, .cr3 = PD };

	memset(ram, 0, sizeof(ram));
	writes = 0;
	*e32(PD + 4) = PT | pde_bits;
	*e32(PT + 8) = 0x5000 | pte_bits;
	return p;
}

#define LIN 0x00402abc /* PDE 1, PTE 2, offset 0xabc */

TEST(read_sets_accessed_not_dirty)
{
	struct sh_paging p = setup32(P | W | U, P | W | U);
	struct sh_walk w;

	ASSERT_TRUE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_EQ(0x5abc, w.gpa);
	EXPECT_EQ(A, *e32(PD + 4) & (A | D));
	EXPECT_EQ(A, *e32(PT + 8) & (A | D));
	EXPECT_TRUE(w.write && w.user && !w.large && !w.nx);
	ASSERT_TRUE(sh_walk(&env, &p, LIN, SH_ACC_WRITE, &w));
	EXPECT_EQ(A | D, *e32(PT + 8) & (A | D));
	EXPECT_EQ(0,
		  *e32(PD + 4) & D); /* a PDE that references a PT has no D */
	writes = 0;
	ASSERT_TRUE(sh_walk(&env, &p, LIN, SH_ACC_WRITE, &w));
	EXPECT_EQ(0, writes); /* set already: nothing written */
}

TEST(peek_sets_nothing)
{
	struct sh_paging p = setup32(P | W, P | W);
	struct sh_walk w;

	ASSERT_TRUE(sh_walk(&env, &p, LIN, SH_ACC_WRITE | SH_ACC_PEEK, &w));
	EXPECT_EQ(0, writes);
	EXPECT_EQ(0, *e32(PT + 8) & (A | D));
}

TEST(not_present)
{
	struct sh_paging p = setup32(0, 0);
	struct sh_walk w;

	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_WRITE | SH_ACC_USER, &w));
	EXPECT_EQ(SH_PF_W | SH_PF_U, w.error);
	EXPECT_EQ(0, writes);

	/* PTE not present: the PDE was used (A set), the PTE not. */
	p = setup32(P | W, 0);
	ASSERT_FALSE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_EQ(0, w.error);
	EXPECT_EQ(A, *e32(PD + 4) & A);
}

TEST(rights)
{
	struct sh_paging p = setup32(P | W | U, P | U); /* read-only user */
	struct sh_walk w;

	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_WRITE | SH_ACC_USER, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_W | SH_PF_U, w.error);
	EXPECT_EQ(0, *e32(PT + 8) & A); /* a refused access sets no A */
	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_WRITE, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_W, w.error);
	p.cr0 &= ~SH_CR0_WP; /* ring 0 writes read-only pages */
	ASSERT_TRUE(sh_walk(&env, &p, LIN, SH_ACC_WRITE, &w));
	EXPECT_FALSE(w.write);
	EXPECT_EQ(A | D, *e32(PT + 8) & (A | D));

	/* The PDE's rights count too. */
	p = setup32(P | W, P | W | U);
	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_USER, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_U, w.error);
	ASSERT_TRUE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_FALSE(w.user);

	/* 32-bit paging has no NX: a fetch is a read, I/D stays clear. */
	p = setup32(P, 0);
	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_FETCH, &w));
	EXPECT_EQ(0, w.error);
	p.cr4 |= SH_CR4_SMEP;
	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_FETCH, &w));
	EXPECT_EQ(SH_PF_I, w.error);
}

TEST(large_pages)
{
	struct sh_paging p = setup32(0, 0);
	struct sh_walk w;

	*e32(PD + 4) = 0x00400000 | PS | P | W | G;
	/* Without CR4.PSE the PS bit means nothing: a PT at 0x400000. */
	ASSERT_FALSE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_EQ(0, w.error);
	*e32(PD + 4) &= ~A;
	p.cr4 = SH_CR4_PSE;
	ASSERT_TRUE(sh_walk(&env, &p, LIN, SH_ACC_WRITE, &w));
	EXPECT_EQ(0x402abc, w.gpa);
	EXPECT_TRUE(w.large);
	EXPECT_FALSE(w.global); /* G needs CR4.PGE */
	EXPECT_EQ(A | D, *e32(PD + 4) & (A | D));
	p.cr4 |= SH_CR4_PGE;
	ASSERT_TRUE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_TRUE(w.global);
	/* PSE-36: bits 20:13 are physical address bits 39:32. */
	*e32(PD + 4) = 0x00400000 | (0x12 << 13) | PS | P;
	ASSERT_TRUE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_EQ(0x1200402abcULL, w.gpa);
	/* Bit 21 is reserved. */
	*e32(PD + 4) = 0x00400000 | (1u << 21) | PS | P;
	ASSERT_FALSE(sh_walk(&env, &p, LIN, SH_ACC_USER, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_RSVD | SH_PF_U, w.error);
}

TEST(outside_ram_reads_not_present)
{
	struct sh_paging p = setup32(0, 0);
	struct sh_walk w;

	*e32(PD + 4) = 0x40000000 | P | W; /* a PT far outside RAM */
	ASSERT_FALSE(sh_walk(&env, &p, LIN, 0, &w));
	EXPECT_EQ(0, w.error);
	p.cr3 = 0x80000000; /* and a PD */
	ASSERT_FALSE(sh_walk(&env, &p, LIN, 0, &w));
}

/* PAE: PDPTE 0 -> PD, PDE 2 -> PT, PTE 3 maps 0x6000; PDE 3 is 2 MiB. */
static struct sh_paging setup_pae(void)
{
	struct sh_paging p = { .cr0 = SH_CR0_PG | SH_CR0_WP,
			       .cr3 = PDPT,
			       .cr4 = SH_CR4_PAE };

	memset(ram, 0, sizeof(ram));
	*e64(PDPT) = PAE_PD | P;
	*e64(PAE_PD + 2 * 8) = PAE_PT | P | W | U;
	*e64(PAE_PT + 3 * 8) = 0x6000 | P | W | U;
	*e64(PAE_PD + 3 * 8) = 0x200000ULL | PS | P | W | U;
	return p;
}

#define PAE_LIN	  0x00403123 /* PDE 2, PTE 3 */
#define PAE_LIN2M 0x00654321 /* PDE 3: 2 MiB */

TEST(pae)
{
	struct sh_paging p = setup_pae();
	struct sh_walk w;

	ASSERT_TRUE(sh_load_pdptes(&env, &p, PDPT));
	ASSERT_TRUE(sh_walk(&env, &p, PAE_LIN, SH_ACC_WRITE, &w));
	EXPECT_EQ(0x6123, w.gpa);
	EXPECT_EQ(A | D, *e64(PAE_PT + 3 * 8) & (A | D));
	EXPECT_EQ(A, *e64(PAE_PD + 2 * 8) & (A | D));
	ASSERT_TRUE(sh_walk(&env, &p, PAE_LIN2M, 0, &w));
	EXPECT_EQ(0x254321, w.gpa);
	EXPECT_TRUE(w.large);
	/* Quarter 1 has no PDPTE. */
	ASSERT_FALSE(sh_walk(&env, &p, 0x40000000, SH_ACC_WRITE, &w));
	EXPECT_EQ(SH_PF_W, w.error);
}

TEST(pae_nx)
{
	struct sh_paging p = setup_pae();
	struct sh_walk w;

	ASSERT_TRUE(sh_load_pdptes(&env, &p, PDPT));
	*e64(PAE_PT + 3 * 8) |= GPTE_NX;
	/* Without EFER.NXE bit 63 is reserved. */
	ASSERT_FALSE(sh_walk(&env, &p, PAE_LIN, 0, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_RSVD, w.error);
	p.nxe = 1;
	ASSERT_TRUE(sh_walk(&env, &p, PAE_LIN, 0, &w));
	EXPECT_TRUE(w.nx);
	ASSERT_FALSE(
		sh_walk(&env, &p, PAE_LIN, SH_ACC_FETCH | SH_ACC_USER, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_U | SH_PF_I, w.error);
	/* NX in the PDE covers the PT's pages. */
	*e64(PAE_PT + 3 * 8) &= ~GPTE_NX;
	*e64(PAE_PD + 2 * 8) |= GPTE_NX;
	ASSERT_FALSE(sh_walk(&env, &p, PAE_LIN, SH_ACC_FETCH, &w));
	/* A not-present fetch reports I/D with NXE. */
	ASSERT_FALSE(sh_walk(&env, &p, 0x40000000, SH_ACC_FETCH, &w));
	EXPECT_EQ(SH_PF_I, w.error);
	/* Address bits above MAXPHYADDR are reserved. */
	*e64(PAE_PD + 2 * 8) = PAE_PT | P | W | U | (1ULL << MAXPHY);
	ASSERT_FALSE(sh_walk(&env, &p, PAE_LIN, 0, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_RSVD, w.error);
	/* So are bits 20:13 of a 2 MiB PDE. */
	*e64(PAE_PD + 3 * 8) |= 1ULL << 13;
	ASSERT_FALSE(sh_walk(&env, &p, PAE_LIN2M, 0, &w));
	EXPECT_EQ(SH_PF_P | SH_PF_RSVD, w.error);
}

TEST(pdpte_load)
{
	struct sh_paging p = setup_pae();

	ASSERT_TRUE(sh_load_pdptes(&env, &p, PDPT));
	EXPECT_EQ(PAE_PD | P, p.pdpte[0]);
	EXPECT_EQ(0, p.pdpte[1]);
	/* A present PDPTE with a reserved bit (here R/W) is refused. */
	*e64(PDPT + 8) = PAE_PD | P | W;
	EXPECT_FALSE(sh_load_pdptes(&env, &p, PDPT));
	EXPECT_EQ(0, p.pdpte[1]); /* unchanged */
	/* A not-present one may hold anything. */
	*e64(PDPT + 8) = 0xfffffffffffffffeULL;
	EXPECT_TRUE(sh_load_pdptes(&env, &p, PDPT));
}

/*
 * The walk uses the PDPTE registers, loaded at MOV CR3 (SDM 3A §4.4.1),
 * not the PDPT in memory: a PDPTE made or changed there takes effect at
 * the next load.  (The pae guest once counted on QEMU's TCG, which reads
 * the PDPT at every walk; bt86 was right to fault.)
 */
TEST(pdpte_registers)
{
	struct sh_paging p = setup_pae();
	struct sh_walk w;

	ASSERT_TRUE(sh_load_pdptes(&env, &p, PDPT));
	/* PDPTE 1 made in memory: quarter 1 is still not present. */
	*e64(PDPT + 8) = PAE_PD | P;
	ASSERT_FALSE(
		sh_walk(&env, &p, 0x40000000 + (PAE_LIN & 0x3fffffff), 0, &w));
	EXPECT_EQ(0, w.error);
	/* PDPTE 0 cleared in memory: quarter 0 still maps. */
	*e64(PDPT) = 0;
	ASSERT_TRUE(sh_walk(&env, &p, PAE_LIN, 0, &w));
	EXPECT_EQ(0x6123, w.gpa);
	/* The next load takes both. */
	ASSERT_TRUE(sh_load_pdptes(&env, &p, PDPT));
	ASSERT_TRUE(
		sh_walk(&env, &p, 0x40000000 + (PAE_LIN & 0x3fffffff), 0, &w));
	EXPECT_EQ(0x6123, w.gpa);
	ASSERT_FALSE(sh_walk(&env, &p, PAE_LIN, 0, &w));
	EXPECT_EQ(0, w.error);
}

/*
 * The directory entry of a slot (bt_pages.c keeps translations across
 * address spaces whose entries are equal), and the page table it names,
 * or none for a large page or a hole.
 */
TEST(dir_entry)
{
	struct sh_paging p = setup32(P | W, P);
	sh_u32 leaf;

	EXPECT_EQ(PT | P | W, sh_dir_entry(&env, &p, LIN, &leaf));
	EXPECT_EQ(PT >> 12, leaf);
	/* No A bit set, nothing written: the monitor only looks. */
	EXPECT_EQ(0, writes);
	/* PS without CR4.PSE still names a table; with it, none. */
	*e32(PD + 4) = 0x00400000 | PS | P;
	sh_dir_entry(&env, &p, LIN, &leaf);
	EXPECT_EQ(0x400, leaf);
	p.cr4 = SH_CR4_PSE;
	sh_dir_entry(&env, &p, LIN, &leaf);
	EXPECT_EQ(SH_NO_TABLE, leaf);
	EXPECT_EQ(0, sh_dir_entry(&env, &p, 0, &leaf)); /* not present */
	EXPECT_EQ(SH_NO_TABLE, leaf);

	p = setup_pae();
	ASSERT_TRUE(sh_load_pdptes(&env, &p, PDPT));
	/* The PDPTE register counts, not memory (SDM 3A §4.4.1). */
	*e64(PDPT) = 0;
	EXPECT_EQ(PAE_PT | P | W | U, sh_dir_entry(&env, &p, PAE_LIN, &leaf));
	EXPECT_EQ(PAE_PT >> 12, leaf);
	sh_dir_entry(&env, &p, PAE_LIN2M, &leaf);
	EXPECT_EQ(SH_NO_TABLE, leaf);
	/* No PDPTE: no entry, whatever the memory there holds. */
	EXPECT_EQ(0, sh_dir_entry(&env, &p, 0x40000000, &leaf));
	EXPECT_EQ(SH_NO_TABLE, leaf);
}

TEST_HARNESS_MAIN
