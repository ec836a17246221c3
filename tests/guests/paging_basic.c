/*
 * paging_basic - 32-bit two-level paging as a ring-0 kernel uses it.
 *
 * Cases (Intel SDM Vol. 3A, chapter 4 "Paging", 32-bit paging):
 *   on/off     CR0.PG turns paging on with an identity map of the first
 *              8 MiB (4.3), and off again (guest linear = physical); tables
 *              changed while paging was off are what counts when it is on
 *              again
 *   mapping    a page mapped at a second linear address shows the same
 *              memory; not-present PTEs and PDEs, read-only pages and
 *              supervisor pages fault with CR2 = the linear address and
 *              the error code of 4.7 (P, W/R, U/S); no A/D flags are set
 *              in the leaf by a faulting access; a page of non-RAM is
 *              MMIO
 *   A/D        a read sets A in the PDE and the PTE, a write D in the PTE
 *              (4.8); a 4 MiB page's PDE gets both
 *   CR0.WP     with WP = 0 ring 0 writes read-only pages (and sets D),
 *              with WP = 1 it faults (4.6)
 *   TLB        a not-present PTE made present is used without INVLPG; a
 *              remapped PTE after INVLPG, a global one (CR4.PGE) too;
 *              CR3 writes switch between two page directories that share
 *              their low page tables (4.10.4)
 *   PSE        4 MiB pages (CR4.PSE, 4.3)
 *   ring 3     user pages read and written from ring 3; supervisor,
 *              read-only and not-present pages fault with U/S = 1
 *   code       code run from a page mapped at another linear address,
 *              rewritten through the identity map, remapped with INVLPG,
 *              and different under the two page directories
 *   emulated   LGDT, LIDT and REP OUTSB from unmapped memory take #PF with
 *              CR2 (what a hypervisor emulates must fault as the CPU does)
 *   kernel     Linux's layout: the first 4 MiB again at 0xc0000000 through
 *              a 4 MiB page, page tables written and code run through it;
 *              a page directory that maps itself (its PDEs read and written
 *              as PTEs); a PDE turned from a page table into a 4 MiB page
 *              and back; PTEs write-protected with LOCK BTR as fork does,
 *              changed with LOCK OR/AND, CMPXCHG and REP MOVSL
 *   many       100 page directories sharing their kernel page tables,
 *              switched round-robin; 256 page tables touched in every 2 MiB
 *              of a GiB, twice; a page table rewritten 64 times after its
 *              address space was last used, then used again; a cached
 *              address space's page directory rewritten as data, then
 *              made another directory at the same CR3; the current page
 *              directory written 64 times
 *   WP=0       a ring-0 write to a read-only user page with WP = 0, then
 *              ring 3 reads it and still may not write it
 *   IRQs       PIT interrupts with paging on, at ring 0 and at ring 3 (a
 *              switch to the TSS's ring-0 stack through the page tables)
 *   SMEP/SMAP  (when the CPU has them: the lines are the same without) a
 *              ring-0 fetch from a user page faults with I/D under SMEP; a
 *              ring-0 read of a user page faults under SMAP unless STAC
 *              set EFLAGS.AC, and again after CLAC (4.6)
 *   random     seeds of random steps on a small paging world (two page
 *              directories, four page tables, 4 KiB and 4 MiB pages, random
 *              flags, CR0.WP flips, CR3 switches, every change followed by
 *              a CR3 reload): each ring-0 and ring-3 access's fault, error
 *              code, CR2 and data, and the A/D flags read back, folded into
 *              a digest that is printed (the same everywhere, as
 *              difftest's); the same with PAE paging (64-bit entries,
 *              2 MiB pages); seeds=N steps=N on the command line (3, 1500),
 *              rtrace=N prints the first N values folded
 *   PAE        PAE paging (4.4): 64-bit entries with A and D, 2 MiB pages,
 *              a quarter without PDPTE, two PDPTs switched, a PTE written
 *              in halves (Linux's set_pte) and by CMPXCHG8B, no-execute
 *              pages with EFER.NXE (when the CPU has NX: the line is the
 *              same without), and back to 32-bit paging
 *
 * Nothing printed depends on addresses or timing.
 */
#include "guest.h"

#define PDE_PS PTE_PS

/* Linear addresses the tests map; none near the top of the 4 GiB. */
#define LIN_DATA  0x40000000u /* page_a or page_b, by PTE 0 of pt_data */
#define LIN_NP	  0x40003000u /* a not-present PTE in pt_data */
#define LIN_RO	  0x40004000u /* page_ro, read-only */
#define LIN_SUP	  0x40005000u /* page_sup, supervisor */
#define LIN_USER  0x40006000u /* page_user, user and writable */
#define LIN_GLOB  0x40007000u /* global, page_a then page_b */
#define LIN_FRESH 0x40008000u /* A/D start clear */
#define LIN_PT	  0x40009000u /* pt_data itself */
#define LIN_NXC	  0x4000a000u /* PAE: code, NX or not */
#define LIN_NOPDE 0x44000000u /* a not-present PDE */
#define LIN_CODE  0x50000000u /* code pages */
#define LIN_BIG	  0x80000000u /* a 4 MiB page at physical 4 MiB */
#define LIN_KERN  0xc0000000u /* physical 0 - 4 MiB again, as Linux maps it */
#define LIN_SELF  0xb0000000u /* the page directory, mapped as a page table */
#define LIN_MANY  0x40000000u /* 1 GiB of page tables, for test_many() */
#define NR_SPACES 100
#define PHYS_BIG  0x00400000u

#define PAGE __attribute__((aligned(4096)))

static uint32_t pd1[1024] PAGE, pd2[1024] PAGE;
static uint32_t pt_low[2][1024] PAGE; /* identity map of 0 - 8 MiB */
static uint32_t pt_data[1024] PAGE, pt_data2[1024] PAGE;
static uint32_t pt_code[1024] PAGE, pt_code2[1024] PAGE;
static uint8_t page_a[4096] PAGE, page_b[4096] PAGE, page_c[4096] PAGE;
static uint8_t page_ro[4096] PAGE, page_sup[4096] PAGE, page_user[4096] PAGE;
static uint8_t page_fresh[4096] PAGE;
static uint8_t code1[4096] PAGE, code2[4096] PAGE;
/* test_random(): its own page directories, tables and pages; PAE too */
static uint64_t rnd_pdpt[2][4] __attribute__((aligned(32)));
static uint64_t rnd_pae_pd[2][512] PAGE, rnd_pae_pt[4][512] PAGE;
static uint32_t rnd_pd[2][1024] PAGE, rnd_pt[4][1024] PAGE;
static uint8_t rnd_page[8][4096] PAGE;
/* test_pae(): PDPTs, page directories and tables with 64-bit entries */
static uint64_t pae_pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pdpt2[4] __attribute__((aligned(32)));
static uint64_t pae_pd0[512] PAGE, pae_pd1[512] PAGE, pae_pd1b[512] PAGE;
static uint64_t pae_pd3[512] PAGE;
static uint64_t pae_pt_low[4][512] PAGE;
static uint64_t pae_pt_data[512] PAGE, pae_pt_data2[512] PAGE;
/* test_many(): page directories, and 256 page tables for 1 GiB */
static uint32_t spaces[NR_SPACES][1024] PAGE;
static uint32_t many_pt[256][1024] PAGE;

/* --- page faults ----------------------------------------------------------- */

static volatile uint32_t pb_faults, pb_cr2, pb_err;
/* Where a page fault resumes: set by each probe just before its access. */
uint32_t pb_resume __attribute__((used));

static void pb_pf_handler(struct trap_frame *f)
{
	pb_faults++;
	pb_cr2 = read_cr2();
	pb_err = f->error_code;
	f->eip = pb_resume;
}

/* Read (write) a u32 at @lin; true if that page-faulted. */
static int probe_read(uint32_t lin, uint32_t *out)
{
	uint32_t before = pb_faults, v = 0xdeadbeef;

	asm volatile("movl $1f, pb_resume\n\t"
		     "movl (%1), %0\n"
		     "1:"
		     : "+r"(v)
		     : "r"(lin)
		     : "memory");
	if (out)
		*out = v;
	return pb_faults != before;
}

static int probe_write(uint32_t lin, uint32_t v)
{
	uint32_t before = pb_faults;

	asm volatile("movl $1f, pb_resume\n\t"
		     "movl %1, (%0)\n"
		     "1:"
		     :
		     : "r"(lin), "r"(v)
		     : "memory");
	return pb_faults != before;
}

/* A fault at @lin with error code @err, and the count it bumped. */
static int faulted(uint32_t before, uint32_t lin, uint32_t err)
{
	if (pb_faults == before + 1 && pb_cr2 == lin && pb_err == err)
		return 1;
	ktap_diag("faults %u (want %u), cr2 %x (want %x), error %x (want %x)",
		  pb_faults - before, 1, pb_cr2, lin, pb_err, err);
	return 0;
}

/* --- tables ---------------------------------------------------------------- */

static uint32_t phys(const void *p)
{
	return (uint32_t)p; /* the guest image is identity-mapped */
}

static void build_tables(void)
{
	int i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 1024; j++)
			pt_low[i][j] = ((i * 1024 + j) << 12) | PTE_P | PTE_W |
				       PTE_U;
	/* Page 0 stays unmapped: a null pointer faults. */
	pt_low[0][0] = 0;
	pd1[0] = phys(pt_low[0]) | PTE_P | PTE_W | PTE_U;
	pd1[1] = phys(pt_low[1]) | PTE_P | PTE_W | PTE_U;
	pd1[LIN_DATA >> 22] = phys(pt_data) | PTE_P | PTE_W | PTE_U;
	pd1[LIN_CODE >> 22] = phys(pt_code) | PTE_P | PTE_W;

	pt_data[0] = phys(page_a) | PTE_P | PTE_W;
	pt_data[(LIN_RO >> 12) & 1023] = phys(page_ro) | PTE_P | PTE_U;
	pt_data[(LIN_SUP >> 12) & 1023] = phys(page_sup) | PTE_P | PTE_W;
	pt_data[(LIN_USER >> 12) & 1023] = phys(page_user) | PTE_P | PTE_W |
					   PTE_U;
	pt_data[(LIN_FRESH >> 12) & 1023] = phys(page_fresh) | PTE_P | PTE_W;
	pt_data[(LIN_PT >> 12) & 1023] = phys(pt_data) | PTE_P | PTE_W;
	pt_code[0] = phys(code1) | PTE_P;

	/* pd2: the same low tables (as every process shares the kernel's) */
	pd2[0] = pd1[0];
	pd2[1] = pd1[1];
	pd2[LIN_DATA >> 22] = phys(pt_data2) | PTE_P | PTE_W | PTE_U;
	pd2[LIN_CODE >> 22] = phys(pt_code2) | PTE_P | PTE_W;
	pt_data2[0] = phys(page_c) | PTE_P | PTE_W;
	pt_code2[0] = phys(code2) | PTE_P;
}

static uint32_t *pte_of(uint32_t *pt, uint32_t lin)
{
	return &pt[(lin >> 12) & 1023];
}

/* mov $value, %eax; ret */
static void put_code(uint8_t *page, uint32_t value)
{
	page[0] = 0xb8;
	memcpy(page + 1, &value, 4);
	page[5] = 0xc3;
}

static uint32_t call_at(uint32_t lin)
{
	return ((uint32_t(*)(void))lin)();
}

/* --- the cases ------------------------------------------------------------ */

static void test_on(void)
{
	uint32_t v;

	build_tables();
	write_cr3(phys(pd1));
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	ok((read_cr0() & CR0_PG) && read_cr3() == phys(pd1),
	   "CR0.PG set, CR3 holds the page directory");
	page_a[16] = 0x5a;
	ok(!probe_read(LIN_DATA + 16, &v) && (v & 0xff) == 0x5a,
	   "a page mapped twice shows the same bytes");
	ok(!probe_write(LIN_DATA + 32, 0x12345678) &&
		   *(volatile uint32_t *)(page_a + 32) == 0x12345678,
	   "a write through the second mapping lands in the page");
}

static void test_faults(void)
{
	uint32_t before, v;

	before = pb_faults;
	ok(probe_read(LIN_NP + 8, &v) && faulted(before, LIN_NP + 8, 0),
	   "read of a not-present PTE: #PF, error 0");
	before = pb_faults;
	ok(probe_write(LIN_NP + 12, 1) && faulted(before, LIN_NP + 12, PF_W),
	   "write to a not-present PTE: #PF, error 2");
	before = pb_faults;
	ok(probe_read(LIN_NOPDE, &v) && faulted(before, LIN_NOPDE, 0),
	   "read under a not-present PDE: #PF, error 0");
	before = pb_faults;
	ok(probe_write(LIN_RO, 1) && faulted(before, LIN_RO, PF_P | PF_W),
	   "ring-0 write to a read-only page (WP=1): #PF, error 3");
	ok(!(*pte_of(pt_data, LIN_RO) & PTE_D),
	   "the faulting write did not set D");
	ok(!probe_read(0x1000, &v), "identity-mapped low memory reads");
	/* A page of non-RAM (the PCI hole): the device side answers. */
	*pte_of(pt_data, LIN_NP) = 0xe0000000u | PTE_P | PTE_W;
	ok(!probe_read(LIN_NP + 0x10, &v) && !probe_write(LIN_NP + 0x10, v),
	   "a page mapped to non-RAM is read and written without a fault");
	*pte_of(pt_data, LIN_NP) = 0;
	invlpg(LIN_NP);
	before = pb_faults;
	ok(probe_read(0, &v) && faulted(before, 0, 0),
	   "the null page is not present");
}

static void test_accessed_dirty(void)
{
	uint32_t *pte = pte_of(pt_data, LIN_FRESH), v;

	ok(!(*pte & (PTE_A | PTE_D)), "a fresh PTE has A and D clear");
	probe_read(LIN_FRESH, &v);
	ok((*pte & (PTE_A | PTE_D)) == PTE_A, "a read sets A, not D");
	ok(pd1[LIN_FRESH >> 22] & PTE_A, "and A in the PDE");
	probe_write(LIN_FRESH + 4, 7);
	ok((*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "a write sets D");
	/* Clearing both, then a write: both come back (after INVLPG). */
	*pte &= ~(PTE_A | PTE_D);
	invlpg(LIN_FRESH);
	probe_write(LIN_FRESH + 8, 9);
	ok((*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	   "cleared A and D are set again by a write");
	*pte &= ~(PTE_A | PTE_D);
	invlpg(LIN_FRESH);
	probe_read(LIN_FRESH, &v);
	ok((*pte & (PTE_A | PTE_D)) == PTE_A, "cleared, then read: A only");
}

static void test_wp(void)
{
	uint32_t *pte = pte_of(pt_data, LIN_RO), before;

	write_cr0(read_cr0() & ~CR0_WP);
	ok(!probe_write(LIN_RO + 4, 0xabcd) &&
		   *(volatile uint32_t *)(page_ro + 4) == 0xabcd,
	   "WP=0: ring 0 writes a read-only page");
	ok(*pte & PTE_D, "WP=0: the write set D");
	write_cr0(read_cr0() | CR0_WP);
	before = pb_faults;
	ok(probe_write(LIN_RO + 4, 1) && faulted(before, LIN_RO + 4, 3) &&
		   *(volatile uint32_t *)(page_ro + 4) == 0xabcd,
	   "WP=1 again: the write faults");
}

static void test_tlb(void)
{
	uint32_t *pte = pte_of(pt_data, LIN_NP), v, i;
	int good = 1;

	page_b[0] = 0xbb;
	page_a[0] = 0xaa;
	*pte = phys(page_b) | PTE_P | PTE_W;
	ok(!probe_read(LIN_NP, &v) && (v & 0xff) == 0xbb,
	   "a not-present PTE made present is used without INVLPG");
	*pte = 0;
	invlpg(LIN_NP);

	probe_read(LIN_DATA, &v);
	*pte_of(pt_data, LIN_DATA) = phys(page_b) | PTE_P | PTE_W;
	invlpg(LIN_DATA);
	ok(!probe_read(LIN_DATA, &v) && (v & 0xff) == 0xbb,
	   "INVLPG after a remap: the new page");
	*pte_of(pt_data, LIN_DATA) = phys(page_a) | PTE_P | PTE_W;
	invlpg(LIN_DATA);

	/* The PT page itself, mapped writable, changed through that map. */
	probe_write(LIN_PT + ((LIN_NP >> 12) & 1023) * 4,
		    phys(page_b) | PTE_P | PTE_W);
	ok(!probe_read(LIN_NP, &v) && (v & 0xff) == 0xbb,
	   "a PTE written through a mapping of its page table");
	probe_write(LIN_PT + ((LIN_NP >> 12) & 1023) * 4, 0);
	invlpg(LIN_NP);
	ok(probe_read(LIN_NP, &v), "and cleared that way: not present");

	/* Two address spaces sharing their low page tables. */
	page_c[0] = 0xcc;
	for (i = 0; i < 20; i++) {
		write_cr3(phys(i & 1 ? pd1 : pd2));
		probe_read(LIN_DATA, &v);
		if ((v & 0xff) != (i & 1 ? 0xaa : 0xcc))
			good = 0;
	}
	ok(good, "CR3 switches between two page directories, 20 times");
	write_cr3(phys(pd1));

	/* A global page (CR4.PGE), remapped and INVLPG'd. */
	write_cr4(read_cr4() | CR4_PGE);
	*pte_of(pt_data, LIN_GLOB) = phys(page_a) | PTE_P | PTE_W | PTE_G;
	probe_read(LIN_GLOB, &v);
	*pte_of(pt_data, LIN_GLOB) = phys(page_b) | PTE_P | PTE_W | PTE_G;
	invlpg(LIN_GLOB);
	ok(!probe_read(LIN_GLOB, &v) && (v & 0xff) == 0xbb,
	   "a global page remapped after INVLPG");
	*pte_of(pt_data, LIN_GLOB) = 0;
	write_cr4(read_cr4() & ~CR4_PGE);
	ok(probe_read(LIN_GLOB, &v), "clearing CR4.PGE flushes it");
}

static void test_pse(void)
{
	uint32_t *pde = &pd1[LIN_BIG >> 22], v;

	*(volatile uint32_t *)(PHYS_BIG + 0x123450) = 0x600d;
	write_cr4(read_cr4() | CR4_PSE);
	*pde = PHYS_BIG | PDE_PS | PTE_P | PTE_W;
	ok(!probe_read(LIN_BIG + 0x123450, &v) && v == 0x600d,
	   "a 4 MiB page maps its 4 MiB");
	ok((*pde & (PTE_A | PTE_D)) == PTE_A, "a read sets A in its PDE");
	ok(!probe_write(LIN_BIG + 0x3ff000, 0x77) &&
		   *(volatile uint32_t *)(PHYS_BIG + 0x3ff000) == 0x77,
	   "a write to its last page");
	ok((*pde & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "sets D in its PDE");
	*pde = PHYS_BIG | PDE_PS | PTE_P;
	invlpg(LIN_BIG + 0x3ff000);
	invlpg(LIN_BIG + 0x123000);
	ok(probe_write(LIN_BIG + 0x123450, 1) && pb_err == (PF_P | PF_W) &&
		   pb_cr2 == LIN_BIG + 0x123450,
	   "made read-only: a write faults, error 3");
	*pde = 0;
	invlpg(LIN_BIG + 0x123000);
	invlpg(LIN_BIG + 0x3ff000);
	write_cr4(read_cr4() & ~CR4_PSE);
}

/* --- ring 3 -------------------------------------------------------------- */

static uint32_t user_val;

static int user_probe(void *arg)
{
	uint32_t what = (uint32_t)arg, before = pb_faults;

	switch (what) {
	case 0: /* read and write a user page */
		if (probe_read(LIN_USER, &user_val) ||
		    probe_write(LIN_USER + 4, 0x3333))
			return -1;
		return 1;
	case 1:
		probe_read(LIN_SUP, &user_val);
		break;
	case 2:
		probe_write(LIN_RO + 8, 5);
		break;
	case 3:
		probe_read(LIN_NP, &user_val);
		break;
	case 4:
		probe_write(LIN_SUP + 12, 5);
		break;
	}
	return pb_faults - before;
}

static void test_user(void)
{
	*(volatile uint32_t *)page_user = 0x4444;
	ok(user_run(user_probe, (void *)0) == 1 && user_val == 0x4444 &&
		   *(volatile uint32_t *)(page_user + 4) == 0x3333,
	   "ring 3 reads and writes a user page");
	ok(user_run(user_probe, (void *)1) == 1 && pb_cr2 == LIN_SUP &&
		   pb_err == (PF_U | PF_P),
	   "ring 3 read of a supervisor page: #PF, error 5");
	ok(user_run(user_probe, (void *)2) == 1 && pb_cr2 == LIN_RO + 8 &&
		   pb_err == (PF_U | PF_W | PF_P),
	   "ring 3 write to a read-only page: #PF, error 7");
	ok(user_run(user_probe, (void *)3) == 1 && pb_cr2 == LIN_NP &&
		   pb_err == PF_U,
	   "ring 3 read of a not-present page: #PF, error 4");
	ok(user_run(user_probe, (void *)4) == 1 && pb_cr2 == LIN_SUP + 12 &&
		   pb_err == (PF_U | PF_W | PF_P),
	   "ring 3 write to a supervisor page: #PF, error 7");
}

/* --- code ---------------------------------------------------------------- */

static void test_code(void)
{
	int i, good = 1;

	put_code(code1, 0x1111);
	put_code(code2, 0x2222);
	ok(call_at(LIN_CODE) == 0x1111, "code runs from a second mapping");
	put_code(code1, 0x1112);
	ok(call_at(LIN_CODE) == 0x1112,
	   "rewritten through the identity map, it runs the new code");
	*pte_of(pt_code, LIN_CODE) = phys(code2) | PTE_P;
	invlpg(LIN_CODE);
	ok(call_at(LIN_CODE) == 0x2222, "remapped with INVLPG: other code");
	*pte_of(pt_code, LIN_CODE) = phys(code1) | PTE_P;
	invlpg(LIN_CODE);
	for (i = 0; i < 10; i++) {
		write_cr3(phys(i & 1 ? pd2 : pd1));
		if (call_at(LIN_CODE) != (i & 1 ? 0x2222u : 0x1112u))
			good = 0;
	}
	write_cr3(phys(pd1));
	ok(good, "the same address runs each directory's code");
}

/* --- a kernel's layout ---------------------------------------------------- */

/* A kernel-side view of physical memory, through the 4 MiB page at 3 GiB. */
static void *kern(const void *p)
{
	return (void *)(LIN_KERN + phys(p));
}

static void test_kernel(void)
{
	uint32_t *kpte = kern(pte_of(pt_data, LIN_NP)), v, i;
	int good;

	write_cr4(read_cr4() | CR4_PSE);
	pd1[LIN_KERN >> 22] = 0 | PDE_PS | PTE_P | PTE_W;
	pd2[LIN_KERN >> 22] = pd1[LIN_KERN >> 22];
	page_b[0] = 0xbb;
	*kpte = phys(page_b) | PTE_P | PTE_W;
	ok(!probe_read(LIN_NP, &v) && (v & 0xff) == 0xbb,
	   "a PTE written through a 4 MiB kernel mapping");
	*kpte = 0;
	invlpg(LIN_NP);
	ok(probe_read(LIN_NP, &v), "and cleared through it");
	put_code(code1, 0x3333);
	ok(call_at((uint32_t)kern(code1)) == 0x3333,
	   "code runs through the kernel mapping");
	put_code(kern(code1), 0x3334);
	ok(call_at(LIN_CODE) == 0x3334 &&
		   call_at((uint32_t)kern(code1)) == 0x3334,
	   "code written there runs new at both addresses");

	/* The page directory as a page table: its PDEs are PTEs there. */
	pd1[LIN_SELF >> 22] = phys(pd1) | PTE_P | PTE_W;
	ok(!probe_read(LIN_SELF + (LIN_DATA >> 22) * 4096, &v) &&
		   v == pt_data[0],
	   "a page directory that maps itself shows its page tables");
	probe_write(LIN_SELF + (LIN_SELF >> 22) * 4096 + (LIN_BIG >> 22) * 4,
		    PHYS_BIG | PDE_PS | PTE_P | PTE_W);
	*(volatile uint32_t *)(PHYS_BIG + 0x10) = 0x4b1d;
	ok(!probe_read(LIN_BIG + 0x10, &v) && v == 0x4b1d,
	   "a PDE written through the self-map is used");
	pd1[LIN_BIG >> 22] = 0;
	invlpg(LIN_BIG + 0x10);
	pd1[LIN_SELF >> 22] = 0;
	invlpg(LIN_SELF + (LIN_DATA >> 22) * 4096);
	invlpg(LIN_SELF + (LIN_SELF >> 22) * 4096);

	/* A PDE from page table to 4 MiB page and back. */
	probe_read(LIN_DATA, &v);
	pd1[LIN_DATA >> 22] = PHYS_BIG | PDE_PS | PTE_P | PTE_W;
	write_cr3(phys(pd1));
	ok(!probe_read(LIN_DATA + 0x10, &v) && v == 0x4b1d,
	   "a PDE turned into a 4 MiB page");
	pd1[LIN_DATA >> 22] = phys(pt_data) | PTE_P | PTE_W | PTE_U;
	write_cr3(phys(pd1));
	page_a[0] = 0xa1;
	ok(!probe_read(LIN_DATA, &v) && (v & 0xff) == 0xa1,
	   "and back into a page table");

	/* fork: every PTE of a table made read-only with LOCK BTR. */
	for (i = 0; i < 16; i++)
		pt_data[16 + i] = phys(page_fresh) | PTE_P | PTE_W;
	for (i = 0; i < 16; i++)
		probe_write(LIN_DATA + (16 + i) * 4096, i);
	for (i = 0; i < 16; i++)
		asm volatile("lock btrl $1, %0"
			     : "+m"(*(uint32_t *)kern(&pt_data[16 + i]))
			     :
			     : "memory");
	write_cr3(phys(pd1));
	good = 1;
	for (i = 0; i < 16; i++) {
		uint32_t before = pb_faults;

		if (!probe_write(LIN_DATA + (16 + i) * 4096, 1) ||
		    !faulted(before, LIN_DATA + (16 + i) * 4096, PF_P | PF_W))
			good = 0;
		if (probe_read(LIN_DATA + (16 + i) * 4096, &v))
			good = 0;
	}
	ok(good, "PTEs write-protected with LOCK BTR fault on writes");

	/* Linux's set_bit/clear_bit with constants, cmpxchg, string moves. */
	good = 1;
	asm volatile("lock orb $2, %0"
		     : "+m"(*(uint8_t *)kern(&pt_data[16]))
		     :
		     : "memory");
	if (probe_write(LIN_DATA + 16 * 4096, 1))
		good = 0;
	asm volatile("lock andb $0xfd, %0"
		     : "+m"(*(uint8_t *)kern(&pt_data[16]))
		     :
		     : "memory");
	invlpg(LIN_DATA + 16 * 4096);
	if (!probe_write(LIN_DATA + 16 * 4096, 1))
		good = 0;
	{
		uint32_t want = pt_data[17], got;

		asm volatile("lock cmpxchgl %2, %1"
			     : "=a"(got), "+m"(*(uint32_t *)kern(&pt_data[17]))
			     : "r"(0), "a"(want)
			     : "memory", "cc");
		invlpg(LIN_DATA + 17 * 4096);
		if (got != want || !probe_read(LIN_DATA + 17 * 4096, &v))
			good = 0;
	}
	{
		uint32_t src[2] = { phys(page_b) | PTE_P | PTE_W,
				    phys(page_c) | PTE_P | PTE_W };
		uint32_t n = 2, *to = kern(&pt_data[18]);
		const uint32_t *from = src;

		page_b[0] = 0x1b;
		page_c[0] = 0x1c;
		asm volatile("cld; rep movsl"
			     : "+S"(from), "+D"(to), "+c"(n)
			     :
			     : "memory");
		invlpg(LIN_DATA + 18 * 4096);
		invlpg(LIN_DATA + 19 * 4096);
		if (probe_read(LIN_DATA + 18 * 4096, &v) ||
		    (v & 0xff) != 0x1b ||
		    probe_read(LIN_DATA + 19 * 4096, &v) || (v & 0xff) != 0x1c)
			good = 0;
	}
	ok(good, "PTEs changed by LOCK OR/AND, CMPXCHG and REP MOVSL");
	for (i = 0; i < 16; i++)
		pt_data[16 + i] = 0;
	write_cr3(phys(pd1));
	write_cr4(read_cr4() & ~CR4_PSE);
}

/* --- many tables and address spaces ---------------------------------------- */

static void test_many(void)
{
	uint32_t i, j, v, round;
	int good = 1;

	/* 100 address spaces: the kernel's tables, LIN_DATA differs. */
	for (i = 0; i < NR_SPACES; i++) {
		memcpy(spaces[i], pd1, sizeof(pd1));
		spaces[i][LIN_DATA >> 22] = phys(many_pt[i]) | PTE_P | PTE_W;
		memset(many_pt[i], 0, 4096);
		many_pt[i][i] = phys(page_c) | PTE_P | PTE_W;
	}
	for (i = 0; i < 1024; i++)
		((uint32_t *)page_c)[i] = i * 3;
	for (round = 0; round < 3; round++)
		for (i = 0; i < NR_SPACES; i++) {
			write_cr3(phys(spaces[i]));
			if (probe_read(LIN_DATA + i * 4096 + i * 4, &v) ||
			    v != i * 3 || probe_read(LIN_DATA, &v) != (i != 0))
				good = 0;
		}
	write_cr3(phys(pd1));
	ok(good, "100 address spaces, round-robin three times");

	/* A page table rewritten 64 times while nobody uses it. */
	write_cr3(phys(spaces[7]));
	probe_read(LIN_DATA + 7 * 4096, &v);
	write_cr3(phys(pd1));
	for (i = 0; i < 64; i++)
		many_pt[7][(i * 5) % 1024] =
			i & 1 ? 0 : phys(page_b) | PTE_P | PTE_W;
	many_pt[7][7] = phys(page_b) | PTE_P | PTE_W;
	page_b[0x1c] = 0x77;
	write_cr3(phys(spaces[7]));
	ok(!probe_read(LIN_DATA + 7 * 4096 + 0x1c, &v) && (v & 0xff) == 0x77,
	   "a page table rewritten 64 times, then used again");
	write_cr3(phys(pd1));

	/*
	 * A cached address space's page directory freed and reused (a fork
	 * after the last child's exit): data first, then another directory
	 * at the same CR3.
	 */
	write_cr3(phys(spaces[9]));
	good = !probe_read(LIN_DATA + 9 * 4096 + 9 * 4, &v) && v == 27;
	write_cr3(phys(pd1));
	memset(spaces[9], 0x5a, 4096);
	good = good && spaces[9][LIN_DATA >> 22] == 0x5a5a5a5au;
	memcpy(spaces[9], pd1, sizeof(pd1));
	spaces[9][LIN_DATA >> 22] = phys(many_pt[10]) | PTE_P | PTE_W;
	write_cr3(phys(spaces[9]));
	good = good && !probe_read(LIN_DATA + 10 * 4096 + 10 * 4, &v) &&
	       v == 30 && probe_read(LIN_DATA + 9 * 4096, &v);
	ok(good, "a cached page directory rewritten as data, then another "
		 "directory at that CR3");
	/* The current one written 64 times: it stays exact. */
	for (i = 0; i < 64; i++)
		spaces[9][(LIN_MANY >> 22) + i % 4] =
			i & 1 ? 0 : phys(many_pt[12]) | PTE_P | PTE_W;
	spaces[9][LIN_MANY >> 22] = phys(many_pt[11]) | PTE_P | PTE_W;
	good = !probe_read(LIN_MANY + 11 * 4096 + 20, &v) && v == 15;
	good = good && !probe_read(LIN_MANY + 0x800000 + 12 * 4096 + 8, &v) &&
	       v == 6;
	ok(good && probe_read(LIN_MANY + 0x400000 + 12 * 4096, &v),
	   "the current page directory rewritten 64 times stays exact");
	memcpy(spaces[9], pd1, sizeof(pd1));
	spaces[9][LIN_DATA >> 22] = phys(many_pt[9]) | PTE_P | PTE_W;
	write_cr3(phys(pd1));

	/* 256 page tables for a GiB, every 2 MiB touched, twice. */
	for (i = 0; i < 256; i++) {
		for (j = 0; j < 1024; j += 512)
			many_pt[i][j] = phys(page_c) | PTE_P | PTE_W;
		spaces[0][(LIN_MANY >> 22) + i] = phys(many_pt[i]) | PTE_P |
						  PTE_W;
	}
	write_cr3(phys(spaces[0]));
	good = 1;
	for (round = 0; round < 2; round++)
		for (i = 0; i < 512; i++)
			if (probe_read(LIN_MANY + i * 0x200000 + 8, &v) ||
			    v != 6)
				good = 0;
	write_cr3(phys(pd1));
	ok(good, "512 shadow page tables for a GiB, twice");
}

/* --- CR0.WP = 0 and ring 3 ------------------------------------------------- */

static int user_ro(void *arg)
{
	uint32_t before = pb_faults;

	(void)arg;
	if (probe_read(LIN_RO + 4, &user_val))
		return -1;
	probe_write(LIN_RO + 4, 9);
	return pb_faults - before;
}

static void test_wp_user(void)
{
	write_cr0(read_cr0() & ~CR0_WP);
	probe_write(LIN_RO + 4, 0x5151);
	ok(user_run(user_ro, 0) == 1 && user_val == 0x5151 &&
		   pb_err == (PF_U | PF_W | PF_P),
	   "WP=0: after ring 0 wrote a read-only user page, ring 3 reads it, a write faults");
	write_cr0(read_cr0() | CR0_WP);
}

/* --- random paging ------------------------------------------------------------ */

#define RND_BASE  0x60000000u /* 4 PDEs of 4 MiB from here */
#define RND_STEPS 1500

static uint32_t rnd_state;

/* xorshift32 (Marsaglia 2003) */
static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

static uint32_t digest, rnd_trace, rnd_folds;

/* rtrace=N: the first N values folded, as diagnostics. */
static void fold(uint32_t v)
{
	if (rnd_folds++ < rnd_trace)
		ktap_diag("fold %u: %08x", rnd_folds, v);
	digest = (digest ^ v) * 16777619u;
}

static uint32_t rnd_flags(void)
{
	static const uint32_t bits[] = { PTE_W, PTE_U, PTE_A, PTE_D };
	uint32_t f = rnd(8) ? PTE_P : 0, i;

	for (i = 0; i < 4; i++)
		if (rnd(2))
			f |= bits[i];
	return f;
}

static uint32_t rnd_user_val;

/* Ring 3: a read (@arg's bit 0 clear) or a write at @arg; 1 if it faulted. */
static int rnd_user(void *arg)
{
	uint32_t lin = (uint32_t)arg & ~3u;

	rnd_user_val = 0;
	if ((uint32_t)arg & 1)
		return probe_write(lin, 0x3333);
	return probe_read(lin, &rnd_user_val);
}

static void rnd_step(void)
{
	uint32_t op = rnd(16), d = rnd(2), slot = rnd(4), e = rnd(16);
	uint32_t lin = RND_BASE + slot * 0x400000 + e * 4096 + rnd(1024) * 4;
	uint32_t v = 0, before = pb_faults, cr0;
	int faulted;

	switch (op) {
	case 0: /* a PTE */
		rnd_pt[rnd(4)][e] = phys(rnd_page[rnd(8)]) | rnd_flags();
		break;
	case 1: /* a PDE: a page table, a 4 MiB page, or nothing */
		if (rnd(3) == 0)
			rnd_pd[d][(RND_BASE >> 22) + slot] = PHYS_BIG | PDE_PS |
							     rnd_flags();
		else
			rnd_pd[d][(RND_BASE >> 22) + slot] =
				phys(rnd_pt[rnd(4)]) | rnd_flags();
		break;
	case 2:
		write_cr3(phys(rnd_pd[d]));
		return;
	case 3:
		cr0 = read_cr0() ^ CR0_WP;
		write_cr0(cr0);
		fold(cr0 & CR0_WP);
		return;
	case 4: /* the flags a walk left */
		fold(rnd_pt[rnd(4)][e] & (PTE_A | PTE_D));
		fold(rnd_pd[d][(RND_BASE >> 22) + slot] & (PTE_A | PTE_D));
		return;
	case 5: /* an access from ring 3 */
		faulted = user_run(rnd_user, (void *)(lin | rnd(2)));
		fold(faulted);
		if (faulted)
			fold(pb_err | (pb_cr2 == (lin & ~3u)) << 8);
		else
			fold(rnd_user_val);
		return;
	default: /* an access */
		if (op & 1)
			faulted = probe_write(lin, rnd_state);
		else
			faulted = probe_read(lin, &v);
		fold(faulted);
		if (faulted)
			fold(pb_err | (pb_cr2 == lin) << 8 |
			     (pb_faults - before) << 9);
		else if (!(op & 1))
			fold(v);
		return;
	}
	/* Every change is flushed: no stale TLB entry may differ between CPUs. */
	write_cr3(read_cr3());
}

static uint32_t rnd_seeds = 3, rnd_steps = RND_STEPS;

/* seeds=N steps=N from the command line. */
static void rnd_options(void)
{
	const char *p = multiboot_cmdline();

	while (p && *p) {
		if (!strncmp(p, "seeds=", 6)) {
			p += 6;
			rnd_seeds = strtou(&p);
		} else if (!strncmp(p, "steps=", 6)) {
			p += 6;
			rnd_steps = strtou(&p);
		} else if (!strncmp(p, "rtrace=", 7)) {
			p += 7;
			rnd_trace = strtou(&p);
		} else {
			p++;
		}
	}
}

static void test_random(void)
{
	uint32_t seed, i;

	write_cr4(read_cr4() | CR4_PSE);
	for (seed = 1; seed <= rnd_seeds; seed++) {
		memcpy(rnd_pd[0], pd1, sizeof(pd1));
		memcpy(rnd_pd[1], pd1, sizeof(pd1));
		memset(rnd_pt, 0, sizeof(rnd_pt));
		for (i = 0; i < 8; i++)
			memset(rnd_page[i], i * 0x11, 4096);
		memset((void *)PHYS_BIG, 0x5a, 0x400000);
		rnd_state = seed * 0x9e3779b9u;
		digest = 2166136261u;
		rnd_folds = 0;
		write_cr3(phys(rnd_pd[0]));
		for (i = 0; i < rnd_steps; i++)
			rnd_step();
		write_cr0(read_cr0() | CR0_WP);
		write_cr3(phys(pd1));
		ok(1, "random paging, seed %u: digest %08x", seed, digest);
	}
	write_cr4(read_cr4() & ~CR4_PSE);
}

/* --- device interrupts ------------------------------------------------------- */

#define TICK_DIVISOR (PIT_HZ / 1000)
#define WAIT_RELOADS 2000	/* PIT reloads (about 2 s) at most */
#define SPIN_BOUND   200000000u /* ring-3 loop iterations at most */

static volatile uint32_t ticks, user_ticks;

static void tick(struct trap_frame *f)
{
	ticks++;
	if ((f->cs & 3) == 3)
		user_ticks++;
	pic_eoi(0);
}

/* Open short interrupt windows until @n more ticks, bounded by reloads. */
static int wait_ticks(uint32_t n)
{
	uint16_t prev = pit_read_count(), now;
	uint32_t polls = 0, until = ticks + n;
	int reloads = 0;

	while ((int32_t)(ticks - until) < 0) {
		if (reloads >= WAIT_RELOADS || ++polls > WAIT_RELOADS * 10000u)
			return 0;
		asm volatile("sti; nop; cli" : : : "memory");
		now = pit_read_count();
		if (now > prev)
			reloads++;
		prev = now;
	}
	return 1;
}

static int user_spin(void *arg)
{
	uint32_t i;

	(void)arg;
	for (i = 0; i < SPIN_BOUND && user_ticks < 3; i++)
		asm volatile("" : : : "memory");
	return user_ticks >= 3;
}

static void test_irq(void)
{
	trap_set_handler(IRQ_VECTOR(0), tick);
	pit_start(PIT_MODE_RATE, TICK_DIVISOR);
	pic_unmask(0);
	ok(wait_ticks(5), "PIT interrupts with paging on, at ring 0");
	ok(user_run(user_spin, 0) == 1,
	   "and at ring 3, onto the TSS's stack through the page tables");
	pic_mask(0);
}

/* --- SMEP and SMAP ---------------------------------------------------------- */

#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)

static uint32_t cpuid7_ebx(void)
{
	uint32_t a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
	if (a < 7)
		return 0;
	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(7), "c"(0));
	return b;
}

/* Jump to @lin (mov $value, %eax; ret there); true if the fetch faulted. */
static int probe_jump(uint32_t lin, uint32_t *value);

/*
 * Everything the guest image holds becomes supervisor (or user again),
 * but page_user and code1: under SMEP and SMAP ring 0 may neither run
 * from user pages nor touch them.
 */
static void image_user(int user)
{
	extern char _end[];
	uint32_t p;

	for (p = 0x100; p < ((uint32_t)_end + 4095) >> 12; p++) {
		if (p == phys(page_user) >> 12 || p == phys(code1) >> 12)
			continue;
		pt_low[0][p] = (pt_low[0][p] & ~PTE_U) | (user ? PTE_U : 0);
	}
	write_cr3(phys(pd1));
}

static void test_smxp(void)
{
	uint32_t ebx = cpuid7_ebx(), v, before;
	int good = 1;

	image_user(0);
	if (ebx & (1u << 7)) {
		/* code1 at its identity address: a user page */
		put_code(code1, 0x7777);
		write_cr4(read_cr4() | CR4_SMEP);
		before = pb_faults;
		if (!probe_jump(phys(code1), &v) ||
		    !faulted(before, phys(code1), 0x11))
			good = 0;
		write_cr4(read_cr4() & ~CR4_SMEP);
		if (probe_jump(phys(code1), &v) || v != 0x7777)
			good = 0;
	}
	ok(good, "SMEP: a ring-0 fetch from a user page faults, I/D set");
	good = 1;
	if (ebx & (1u << 20)) {
		page_user[0] = 0x5a;
		write_cr4(read_cr4() | CR4_SMAP);
		before = pb_faults;
		if (!probe_read(phys(page_user), &v) ||
		    !faulted(before, phys(page_user), PF_P))
			good = 0;
		asm volatile("stac" : : : "memory");
		if (probe_read(phys(page_user), &v) || (v & 0xff) != 0x5a)
			good = 0;
		asm volatile("clac" : : : "memory");
		before = pb_faults;
		if (!probe_write(phys(page_user), 1) ||
		    !faulted(before, phys(page_user), PF_P | PF_W))
			good = 0;
		write_cr4(read_cr4() & ~CR4_SMAP);
	}
	image_user(1);
	ok(good, "SMAP: ring 0 reads a user page only between STAC and CLAC");
}

/* --- PAE paging ----------------------------------------------------------- */

#define MSR_EFER 0xc0000080u
#define EFER_NXE (1u << 11)

static uint64_t *pae_pte(uint64_t *pt, uint32_t lin)
{
	return &pt[(lin >> 12) & 511];
}

static void pae_tables(void)
{
	int i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 512; j++)
			pae_pt_low[i][j] = (uint64_t)(i * 512 + j) << 12 |
					   PTE_P | PTE_W | PTE_U;
		pae_pd0[i] = phys(pae_pt_low[i]) | PTE_P | PTE_W | PTE_U;
	}
	pae_pt_low[0][0] = 0;
	pae_pd1[0] = phys(pae_pt_data) | PTE_P | PTE_W | PTE_U;
	pae_pd1[2] = PHYS_BIG | PDE_PS | PTE_P | PTE_W;
	pae_pd1b[0] = phys(pae_pt_data2) | PTE_P | PTE_W | PTE_U;
	pae_pd3[0] = 0 | PDE_PS | PTE_P | PTE_W;
	pae_pd3[1] = 0x200000 | PDE_PS | PTE_P | PTE_W;
	*pae_pte(pae_pt_data, LIN_DATA) = phys(page_a) | PTE_P | PTE_W;
	*pae_pte(pae_pt_data, LIN_RO) = phys(page_ro) | PTE_P;
	*pae_pte(pae_pt_data, LIN_FRESH) = phys(page_fresh) | PTE_P | PTE_W;
	*pae_pte(pae_pt_data2, LIN_DATA) = phys(page_c) | PTE_P | PTE_W;
	/* PDPTEs: P only (R/W, U/S and A are reserved there). */
	pae_pdpt[0] = phys(pae_pd0) | PTE_P;
	pae_pdpt[1] = phys(pae_pd1) | PTE_P;
	pae_pdpt[3] = phys(pae_pd3) | PTE_P;
	pae_pdpt2[0] = pae_pdpt[0];
	pae_pdpt2[1] = phys(pae_pd1b) | PTE_P;
	pae_pdpt2[3] = pae_pdpt[3];
}

static int cpu_has_nx(void)
{
	uint32_t a, b, c, d;

	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(0x80000000u));
	if (a < 0x80000001u)
		return 0;
	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(0x80000001u));
	return (d >> 20) & 1;
}

/* Jump to @lin (mov $value, %eax; ret there); true if the fetch faulted. */
static int probe_jump(uint32_t lin, uint32_t *value)
{
	uint32_t before = pb_faults, v = 0;

	asm volatile("movl $1f, pb_resume\n\t"
		     "pushl $1f\n\t"
		     "jmp *%1\n"
		     "1:"
		     : "+a"(v)
		     : "r"(lin)
		     : "memory");
	if (pb_faults != before)
		asm volatile("addl $4, %%esp" : : : "memory");
	*value = v;
	return pb_faults != before;
}

/* No-execute pages: the lines read the same on a CPU without NX. */
static void test_nx(void)
{
	uint64_t *pte = pae_pte(pae_pt_data, LIN_NXC);
	uint32_t lin = LIN_NXC, v, before;
	int good = 1;

	if (!cpu_has_nx()) {
		ok(1, "PAE: with EFER.NXE an NX page faults on fetch, I/D set");
		ok(1,
		   "PAE: NX in the PDE covers its table; off again, it runs");
		return;
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	put_code(code2, 0x5555);
	*pte = phys(code2) | PTE_P | PTE_NX;
	before = pb_faults;
	if (!probe_jump(lin, &v) || !faulted(before, lin, 0x11))
		good = 0;
	if (probe_read(lin, &v) || (v & 0xff) != 0xb8)
		good = 0; /* data reads are fine */
	ok(good, "PAE: with EFER.NXE an NX page faults on fetch, I/D set");
	good = 1;
	*pte = phys(code2) | PTE_P;
	pae_pd1[0] |= PTE_NX;
	invlpg(lin);
	before = pb_faults;
	if (!probe_jump(lin, &v) || !faulted(before, lin, 0x11))
		good = 0;
	pae_pd1[0] &= ~PTE_NX;
	invlpg(lin);
	if (probe_jump(lin, &v) || v != 0x5555)
		good = 0;
	ok(good, "PAE: NX in the PDE covers its table; off again, it runs");
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_NXE);
}

static void test_pae(void)
{
	uint64_t *pte = pae_pte(pae_pt_data, LIN_FRESH);
	uint32_t v, i, before;
	uint64_t *kpte;
	int good = 1;

	write_cr0(read_cr0() & ~CR0_PG);
	pae_tables();
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3(phys(pae_pdpt));
	write_cr0(read_cr0() | CR0_PG);
	page_a[0] = 0xa7;
	ok((read_cr4() & CR4_PAE) && !probe_read(LIN_DATA, &v) &&
		   (v & 0xff) == 0xa7,
	   "PAE: paging on, a 4 KiB page mapped twice");
	probe_write(LIN_FRESH + 8, 1);
	ok((*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D) &&
		   (pae_pd1[0] & (PTE_A | PTE_D)) == PTE_A,
	   "PAE: a write sets A and D in the PTE, A in the PDE");
	*(volatile uint32_t *)(PHYS_BIG + 0x100) = 0x2b;
	ok(!probe_write(0x40400000 + 0x104, 3) &&
		   !probe_read(0x40400000 + 0x100, &v) && v == 0x2b &&
		   (pae_pd1[2] & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	   "PAE: a 2 MiB page maps, its PDE gets A and D");
	before = pb_faults;
	ok(probe_write(0x80001000, 1) && faulted(before, 0x80001000, PF_W),
	   "PAE: a GiB without PDPTE: #PF, error 2");
	before = pb_faults;
	ok(probe_write(LIN_RO, 1) && faulted(before, LIN_RO, PF_P | PF_W),
	   "PAE: a read-only page: #PF, error 3");

	/* Two PDPTs. */
	page_c[0] = 0xcc;
	for (i = 0; i < 10; i++) {
		write_cr3(phys(i & 1 ? pae_pdpt : pae_pdpt2));
		probe_read(LIN_DATA, &v);
		if ((v & 0xff) != (i & 1 ? 0xa7 : 0xcc))
			good = 0;
	}
	write_cr3(phys(pae_pdpt));
	ok(good, "PAE: CR3 switches between two PDPTs");

	/* set_pte: the high half first, then the low one, plain MOVs. */
	kpte = (uint64_t *)(0xc0000000u + phys(pae_pte(pae_pt_data, LIN_NP)));
	page_b[0] = 0xb5;
	((volatile uint32_t *)kpte)[1] = 0;
	((volatile uint32_t *)kpte)[0] = phys(page_b) | PTE_P | PTE_W;
	ok(!probe_read(LIN_NP, &v) && (v & 0xff) == 0xb5,
	   "PAE: a PTE written in two halves through the kernel map");
	{
		uint32_t lo = (uint32_t)*kpte, hi = 0;

		asm volatile("lock cmpxchg8b %0"
			     : "+m"(*kpte), "+a"(lo), "+d"(hi)
			     : "b"(0), "c"(0)
			     : "memory", "cc");
	}
	invlpg(LIN_NP);
	before = pb_faults;
	ok(probe_read(LIN_NP, &v) && faulted(before, LIN_NP, 0),
	   "PAE: a PTE cleared by CMPXCHG8B");
	test_nx();

	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PAE);
	write_cr3(phys(pd1));
	write_cr0(read_cr0() | CR0_PG);
	page_a[0] = 0xa8;
	ok(!(read_cr4() & CR4_PAE) && !probe_read(LIN_DATA, &v) &&
		   (v & 0xff) == 0xa8,
	   "back to 32-bit paging");
}

/*
 * The same with PAE paging: 64-bit entries, 2 MiB pages.  No reserved
 * bits: QEMU 7.2's TCG reports their #PF without the P flag, where SDM 3A
 * §4.7 (and bt86) set it with RSVD (docs/shadow-paging.md, "Limits").
 */
static uint64_t rnd_flags64(void)
{
	return rnd_flags();
}

static void rnd_step_pae(void)
{
	uint32_t op = rnd(16), d = rnd(2), slot = rnd(4), e = rnd(16);
	uint32_t lin = RND_BASE + slot * 0x200000 + e * 4096 + rnd(1024) * 4;
	uint32_t pde = (RND_BASE >> 21) % 512 + slot, v = 0, before = pb_faults;
	int faulted;

	switch (op) {
	case 0:
		rnd_pae_pt[rnd(4)][e] = phys(rnd_page[rnd(8)]) | rnd_flags64();
		break;
	case 1:
		if (rnd(3) == 0)
			rnd_pae_pd[d][pde] = PHYS_BIG | PDE_PS | rnd_flags64();
		else
			rnd_pae_pd[d][pde] = phys(rnd_pae_pt[rnd(4)]) |
					     rnd_flags64();
		break;
	case 2:
		write_cr3(phys(rnd_pdpt[d]));
		return;
	case 3:
		write_cr0(read_cr0() ^ CR0_WP);
		fold(read_cr0() & CR0_WP);
		return;
	case 4:
		fold((uint32_t)rnd_pae_pt[rnd(4)][e] & (PTE_A | PTE_D));
		fold((uint32_t)rnd_pae_pd[d][pde] & (PTE_A | PTE_D));
		return;
	case 5:
		faulted = user_run(rnd_user, (void *)(lin | rnd(2)));
		fold(faulted);
		if (faulted)
			fold(pb_err | (pb_cr2 == (lin & ~3u)) << 8);
		else
			fold(rnd_user_val);
		return;
	default:
		if (op & 1)
			faulted = probe_write(lin, rnd_state);
		else
			faulted = probe_read(lin, &v);
		fold(faulted);
		if (faulted)
			fold(pb_err | (pb_cr2 == lin) << 8 |
			     (pb_faults - before) << 9);
		else if (!(op & 1))
			fold(v);
		return;
	}
	write_cr3(read_cr3());
}

static void test_random_pae(void)
{
	uint32_t seed, i, d;

	write_cr0(read_cr0() & ~CR0_PG);
	pae_tables();
	write_cr4(read_cr4() | CR4_PAE);
	for (seed = 1; seed <= rnd_seeds; seed++) {
		for (d = 0; d < 2; d++) {
			memset(rnd_pdpt[d], 0, sizeof(rnd_pdpt[d]));
			memset(rnd_pae_pd[d], 0, 4096);
			rnd_pdpt[d][0] = phys(pae_pd0) | PTE_P;
			rnd_pdpt[d][1] = phys(rnd_pae_pd[d]) | PTE_P;
		}
		memset(rnd_pae_pt, 0, sizeof(rnd_pae_pt));
		for (i = 0; i < 8; i++)
			memset(rnd_page[i], i * 0x11, 4096);
		memset((void *)PHYS_BIG, 0x5a, 0x200000);
		rnd_state = seed * 0x85ebca6bu;
		digest = 2166136261u;
		rnd_folds = 0;
		write_cr3(phys(rnd_pdpt[0]));
		write_cr0(read_cr0() | CR0_PG);
		for (i = 0; i < rnd_steps; i++)
			rnd_step_pae();
		write_cr0((read_cr0() | CR0_WP) & ~CR0_PG);
		ok(1, "random PAE paging, seed %u: digest %08x", seed, digest);
	}
	write_cr4(read_cr4() & ~CR4_PAE);
	write_cr3(phys(pd1));
	write_cr0(read_cr0() | CR0_PG);
}

/* --- emulated instructions ------------------------------------------------ */

static void test_emulated(void)
{
	uint32_t before = pb_faults;
	struct dtr *bad = (struct dtr *)(LIN_NP + 0x10);

	asm volatile("movl $1f, pb_resume\n\t"
		     "lgdt (%0)\n"
		     "1:"
		     :
		     : "r"(bad)
		     : "memory");
	ok(faulted(before, LIN_NP + 0x10, 0), "LGDT from a not-present page");
	before = pb_faults;
	asm volatile("movl $1f, pb_resume\n\t"
		     "lidt (%0)\n"
		     "1:"
		     :
		     : "r"(bad)
		     : "memory");
	ok(faulted(before, LIN_NP + 0x10, 0), "LIDT from a not-present page");
	before = pb_faults;
	{
		uint32_t src = LIN_NP + 0x20, n = 4;

		asm volatile("movl $1f, pb_resume\n\t"
			     "cld; rep outsb\n"
			     "1:"
			     : "+S"(src), "+c"(n)
			     : "d"(POST_PORT)
			     : "memory");
	}
	ok(faulted(before, LIN_NP + 0x20, 0),
	   "REP OUTSB from a not-present page");
}

static void test_off(void)
{
	uint32_t v;

	write_cr0(read_cr0() & ~CR0_PG);
	page_a[0] = 0xa0;
	ok(!(read_cr0() & CR0_PG) && !probe_read(phys(page_a), &v) &&
		   (v & 0xff) == 0xa0,
	   "paging off: linear is physical again");
	page_b[0] = 0xb0;
	*pte_of(pt_data, LIN_DATA) = phys(page_b) | PTE_P | PTE_W;
	write_cr0(read_cr0() | CR0_PG);
	ok(!probe_read(LIN_DATA, &v) && (v & 0xff) == 0xb0,
	   "a PTE changed while paging was off counts when it is on again");
	write_cr0(read_cr0() & ~CR0_PG);
}

int main(void)
{
	rnd_options();
	ktap_plan(77 + 2 * rnd_seeds);
	pic_init(); /* all masked: ring 3 runs with IF = 1 */
	trap_set_handler(VEC_PF, pb_pf_handler);
	user_init();
	test_on();
	test_faults();
	test_accessed_dirty();
	test_wp();
	test_tlb();
	test_pse();
	test_user();
	test_code();
	test_emulated();
	test_kernel();
	test_many();
	test_wp_user();
	test_random();
	test_irq();
	test_smxp();
	test_pae();
	test_random_pae();
	test_off();
	ktap_finish();
}
