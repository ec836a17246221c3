/*
 * paging - 32-bit two-level paging as a guest kernel uses it, each result
 * one the architecture guarantees (Intel SDM Vol. 3A, chapter 4; "4.x"
 * below).
 *
 *   maps        identity map of the kernel; the image aliased in the higher
 *               half (data and code through the alias); a page mapped where
 *               nothing was (P 0 -> 1 needs no INVLPG, 4.10.4.3, also after
 *               a fault on it); a PTE's frame changed: before INVLPG the old
 *               or the new frame (a stale TLB entry is allowed), after INVLPG
 *               or a CR3 reload the new one; unmapped and INVLPG: #PF; a PDE
 *               pointed at a new page table; two address spaces switched
 *               with MOV CR3
 *   rights      supervisor writes to read-only pages with CR0.WP = 1 (#PF
 *               P|W) and 0 (allowed, D set), also where only the PDE is
 *               read-only; ring-3 reads and writes of supervisor, read-only
 *               and not-present pages with exact error codes (4.6, 4.7),
 *               U = 0 in the PDE alone; RO -> RW and U 0 -> 1 without
 *               INVLPG: at most one spurious #PF, then the access completes
 *               (4.10.4.3)
 *   A/D         A in the PDE and PTE after a read, D after a write only, D
 *               set by a write through a TLB entry that a read created, A
 *               and D set again after software cleared them (INVLPG), no D
 *               from a faulting write, A (no D) from an instruction fetch; a
 *               not-present entry's other bits untouched by a fault (4.8)
 *   PSE         4 MiB pages (CR4.PSE, 4.3): reads and writes through one,
 *               A and D in its PDE, INVLPG at any address in it, reserved
 *               bit 21 (#PF P|RSVD), PS ignored with CR4.PSE = 0 (the PDE
 *               names a page table)
 *   global      CR4.PGE: a global 4 KiB page and a global 4 MiB page after
 *               their PTE/PDE changed: the old or the new frame after a CR3
 *               write (global entries may survive it, 4.10.2.4), the new one
 *               after INVLPG and after toggling CR4.PGE (4.10.4.1)
 *   code        a code page remapped to other code (INVLPG, CR3 reload),
 *               two address spaces with different code at one address, or
 *               sharing the page table whose code PTE changed, code
 *               rewritten through a data alias, an instruction across a page
 *               boundary: #PF at its start with CR2 = the second page, then
 *               run, then its second page remapped; an unmapped code page
 *               (#PF error 0 at ring 0, 4 at ring 3: no I/D bit without
 *               NXE, 4.7)
 *   crossing    a read across a page boundary into a not-present page, a
 *               write into a not-present and a read-only second page: #PF,
 *               CR2 in the second page, the first page unchanged
 *   delivery    INT n whose IDT gate lies on a not-present page: #PF with
 *               CR2 = the gate, error 0 (an implicit supervisor access, also
 *               from ring 3: 4.6), EIP = the INT; a #PF whose own gate is
 *               not present: #DF, error 0 (6.15, Table 6-5)
 *   self-map    a PDE that names the page directory itself: the page
 *               tables read and written through it
 *   top         pages at 0xffc00000 and 0xfffff000, the top 4 MiB (where
 *               Linux keeps its fixmap)
 *
 * Every access that may fault is a probe (pgtable.h): an unexpected #PF is
 * a "Bail out!" line, a missing one a "not ok".  Nothing printed depends on
 * an address or a timing.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

/* Linear addresses of the tests. */
#define T_BASE	    0x40000000u /* PDE 256: 4 KiB test pages */
#define T(n)	    (T_BASE + (n)*PAGE_SIZE)
#define AD_BASE	    0x40400000u /* PDE 257: a page table of its own */
#define PDE_BASE    0x40800000u /* PDE 258: replaced whole */
#define IDT_BASE    0x40c00000u /* PDE 259: IDT copies */
#define LARGE_LIN   0x80000000u /* PDE 512: 4 MiB pages */
#define LARGE2_LIN  0x80400000u /* PDE 513 */
#define HIGH_OFFSET 0xc0000000u /* the kernel image aliased at +3 GiB */
#define SELF_PDE    767u	/* 0xbfc00000: the page tables */
#define SELF_LIN    (SELF_PDE << 22)
#define TOP_4M	    0xffc00000u
#define TOP_PAGE    0xfffff000u

static uint32_t *pd_a, *pd_b;

/* --- frames with contents we can recognise ------------------------------------ */

/* A frame whose first word is @tag and last word ~@tag. */
static uint32_t frame_new(uint32_t tag)
{
	uint32_t *p = page_alloc();

	p[0] = tag;
	p[1023] = ~tag;
	return (uint32_t)p;
}

/* The tag at @lin, or 0xdead0000 | error code when the read faults. */
static uint32_t tag_at(uint32_t lin)
{
	uint32_t v;

	if (probe_read32(lin, &v))
		return 0xdead0000u | pf_last.error_code;
	return v;
}

/* "mov $imm, %eax; ret" at @p: code that probe_exec() can call. */
static void put_ret_imm(uint8_t *p, uint32_t imm)
{
	p[0] = 0xb8;
	memcpy(p + 1, &imm, 4);
	p[5] = 0xc3;
}

/* A frame holding put_ret_imm(@imm) at offset 0. */
static uint32_t code_frame(uint32_t imm)
{
	uint8_t *p = page_alloc();

	put_ret_imm(p, imm);
	return (uint32_t)p;
}

/* Was the last probe's fault this one: @err, at @cr2, at the probe? */
static int fault_was(uint32_t err, uint32_t cr2)
{
	int good = pf_last.vector == VEC_PF && pf_last.error_code == err &&
		   pf_last.cr2 == cr2 && pf_last.eip == probe_insn;

	if (!good)
		ktap_diag("vector %u error %#x cr2 %#x eip %#x (probe %#x)",
			  pf_last.vector, pf_last.error_code, pf_last.cr2,
			  pf_last.eip, probe_insn);
	return good;
}

/*
 * A reserved-bit fault: RSVD and @err.  The SDM sets P with RSVD (4.7:
 * "bit 3 ... can be set only if bit 0 is also set"), as real CPUs do;
 * QEMU 7.2's TCG, the native reference, leaves P clear.  Either passes.
 */
static int rsvd_fault_was(uint32_t err, uint32_t cr2)
{
	uint32_t e = pf_last.error_code;

	return (e == (PF_RSVD | err) || e == (PF_P | PF_RSVD | err)) &&
	       fault_was(e, cr2);
}

/* --- ring 3 ---------------------------------------------------------------------- */

enum {
	U_READ,
	U_WRITE,
	U_EXEC,
	U_INT81
};

static struct {
	int kind;
	uint32_t addr, val;
	int faulted;
} uprobe;

extern char int81_insn[];

static int uprobe_task(void *arg)
{
	(void)arg;
	switch (uprobe.kind) {
	case U_READ:
		uprobe.faulted = probe_read32(uprobe.addr, &uprobe.val);
		break;
	case U_WRITE:
		uprobe.faulted = probe_write32(uprobe.addr, uprobe.val);
		break;
	case U_EXEC:
		uprobe.faulted = probe_exec(uprobe.addr, &uprobe.val);
		break;
	case U_INT81:
		/* A probe by hand: the fault resumes at 1. */
		asm volatile("movl $1f, probe_resume\n\t"
			     "movl $int81_insn, probe_insn\n"
			     "int81_insn:\n\t"
			     "int $0x81\n\t"
			     "movl $0, probe_resume\n"
			     "1:"
			     :
			     :
			     : "memory");
		uprobe.faulted = pf_count != 0;
		break;
	}
	return 0;
}

/* One access at ring 3; returns 1 when it faulted (pf_last says how). */
static int user_probe(int kind, uint32_t addr, uint32_t *val)
{
	uprobe.kind = kind;
	uprobe.addr = addr;
	uprobe.val = val ? *val : 0;
	uprobe.faulted = -1;
	user_run(uprobe_task, NULL);
	if (val)
		*val = uprobe.val;
	return uprobe.faulted;
}

/* The last fault came from ring 3, with @err at @cr2. */
static int user_fault_was(uint32_t err, uint32_t cr2, uint32_t eip)
{
	int good = pf_last.vector == VEC_PF && pf_last.error_code == err &&
		   pf_last.cr2 == cr2 && pf_last.eip == eip &&
		   pf_last.cs == SEL_UCODE;

	if (!good)
		ktap_diag("vector %u error %#x cr2 %#x eip %#x cs %#x",
			  pf_last.vector, pf_last.error_code, pf_last.cr2,
			  pf_last.eip, pf_last.cs);
	return good;
}

/* --- maps ---------------------------------------------------------------------- */

static volatile uint32_t kernel_word = 0x5eed1234;

/* Code that is position independent: it may run through any alias. */
uint32_t alias_code(void);
asm(".text\n"
    ".globl alias_code\n"
    "alias_code:\n"
    "	movl $0xa11a5, %eax\n"
    "	ret\n");

static NOINLINE void test_maps(void)
{
	uint32_t f1 = frame_new(0x11110001), f2 = frame_new(0x22220002);
	uint32_t f3 = frame_new(0x33330003), v, *pte, a;
	volatile uint32_t *high =
		(volatile uint32_t *)((uint32_t)&kernel_word + HIGH_OFFSET);

	ok((read_cr0() & (CR0_PG | CR0_WP)) == (CR0_PG | CR0_WP) &&
		   read_cr3() == (uint32_t)pd_a && kernel_word == 0x5eed1234,
	   "paging on: CR0.PG and WP set, CR3 holds the PD, the kernel runs "
	   "identity-mapped");

	*high = 0x600dbeef;
	ok(kernel_word == 0x600dbeef && *high == 0x600dbeef &&
		   probe_exec((uint32_t)alias_code + HIGH_OFFSET, &v) == 0 &&
		   v == 0xa11a5,
	   "higher half: the image's data and code through its alias at "
	   "+3 GiB");

	/* Never mapped before: a fault, then mapped with no INVLPG. */
	ok(probe_read32(T(0), &v) == 1 && fault_was(0, T(0)),
	   "read of an unmapped page: #PF error 0, CR2, EIP at the read");
	map_page(pd_a, T(0), f1, PTE_W);
	ok_eq(tag_at(T(0)), 0x11110001,
	      "page mapped after a fault on it: visible without INVLPG");

	/* Frame changed: old or new until invalidated. */
	pte = pte_slot(pd_a, T(0));
	*pte = f2 | PTE_P | PTE_W;
	v = tag_at(T(0));
	ok(v == 0x11110001 || v == 0x22220002,
	   "frame changed without INVLPG: the old or the new frame");
	invlpg(T(0));
	ok_eq(tag_at(T(0)), 0x22220002, "frame changed, INVLPG: the new frame");
	ok_eq(tag_at(T(0) + 0xffc), ~0x22220002u,
	      "frame changed, INVLPG: the whole page is the new frame's");
	*pte = f3 | PTE_P | PTE_W;
	write_cr3(read_cr3());
	ok_eq(tag_at(T(0)), 0x33330003,
	      "frame changed, CR3 reloaded: the new frame");

	*pte = 0;
	invlpg(T(0));
	ok(probe_write32(T(0), 1) == 1 && fault_was(PF_W, T(0)) &&
		   ((uint32_t *)f3)[0] == 0x33330003,
	   "unmapped, INVLPG: a write #PF error 2, the frame unchanged");

	/* A PDE pointed at another page table: 8 pages change at once. */
	for (a = 0; a < 8; a++)
		map_page(pd_a, PDE_BASE + a * PAGE_SIZE,
			 frame_new(0x70000000 + a), PTE_W);
	for (a = 0, v = 0; a < 8; a++)
		v += tag_at(PDE_BASE + a * PAGE_SIZE) == 0x70000000 + a;
	pd_a[PDE_BASE >> 22] = 0;
	for (a = 0; a < 8; a++)
		map_page(pd_a, PDE_BASE + a * PAGE_SIZE,
			 frame_new(0x71000000 + a), PTE_W);
	write_cr3(read_cr3());
	for (a = 0; a < 8; a++)
		v += tag_at(PDE_BASE + a * PAGE_SIZE) == 0x71000000 + a;
	ok_eq(v, 16,
	      "a PDE pointed at a new page table, CR3 reloaded: all "
	      "8 pages from the new table");
	pd_a[PDE_BASE >> 22] = 0;
	write_cr3(read_cr3());
	ok(probe_read32(PDE_BASE + 3 * PAGE_SIZE, &v) == 1 &&
		   fault_was(0, PDE_BASE + 3 * PAGE_SIZE),
	   "a PDE cleared, CR3 reloaded: #PF error 0");

	/* Two address spaces, one linear address, two frames. */
	map_page(pd_a, T(1), frame_new(0xaaaa0001), PTE_W);
	map_page(pd_b, T(1), frame_new(0xbbbb0001), PTE_W);
	for (a = 0, v = 0; a < 10; a++) {
		write_cr3((uint32_t)pd_b);
		v += tag_at(T(1)) == 0xbbbb0001;
		write_cr3((uint32_t)pd_a);
		v += tag_at(T(1)) == 0xaaaa0001;
	}
	ok_eq(v, 20,
	      "MOV CR3 between two address spaces: each sees its own "
	      "frame, 10 round trips");
}

/* --- rights ---------------------------------------------------------------------- */

static NOINLINE void test_rights(void)
{
	uint32_t f = frame_new(0x4040), v, *pte, cr0 = read_cr0();
	uint32_t fu = frame_new(0x5050);
	int n;

	map_page(pd_a, T(2), f, 0); /* read-only, supervisor */
	ok(probe_write32(T(2), 1) == 1 && fault_was(PF_P | PF_W, T(2)) &&
		   tag_at(T(2)) == 0x4040,
	   "CR0.WP=1: a ring-0 write to a read-only page #PF error 3");
	write_cr0(cr0 & ~CR0_WP);
	ok(probe_write32(T(2), 0x4141) == 0 && tag_at(T(2)) == 0x4141,
	   "CR0.WP=0: a ring-0 write to a read-only page completes");
	write_cr0(cr0);
	ok(probe_write32(T(2), 0x4242) == 1 && fault_was(PF_P | PF_W, T(2)) &&
		   tag_at(T(2)) == 0x4141,
	   "CR0.WP=1 again: the write #PF error 3 again");

	/* Read-only in the PDE only: the PTE says W = 1 (4.6: all levels). */
	map_page(pd_a, AD_BASE + 0x10000, fu, PTE_W | PTE_U);
	pd_a[AD_BASE >> 22] &= ~PTE_W;
	write_cr3(read_cr3());
	ok(probe_write32(AD_BASE + 0x10000, 1) == 1 &&
		   fault_was(PF_P | PF_W, AD_BASE + 0x10000),
	   "CR0.WP=1: W = 0 in the PDE alone makes the page read-only");
	ok(user_probe(U_WRITE, AD_BASE + 0x10000, NULL) == 1 &&
		   user_fault_was(PF_P | PF_W | PF_U, AD_BASE + 0x10000,
				  probe_insn),
	   "ring 3: W = 0 in the PDE alone, a write #PF error 7");
	pd_a[AD_BASE >> 22] |= PTE_W;
	write_cr3(read_cr3());

	/* Ring 3 against supervisor, read-only and absent pages. */
	ok(user_probe(U_READ, T(2), &v) == 1 &&
		   user_fault_was(PF_P | PF_U, T(2), probe_insn),
	   "ring 3: a read of a supervisor page #PF error 5");
	ok(user_probe(U_WRITE, T(2), NULL) == 1 &&
		   user_fault_was(PF_P | PF_W | PF_U, T(2), probe_insn),
	   "ring 3: a write to a supervisor page #PF error 7");
	ok(user_probe(U_READ, T(3), &v) == 1 &&
		   user_fault_was(PF_U, T(3), probe_insn),
	   "ring 3: a read of a not-present page #PF error 4");
	map_page(pd_a, T(4), fu, PTE_U);
	write_cr0(cr0 & ~CR0_WP);
	ok(user_probe(U_READ, T(4), &v) == 0 && v == 0x5050 &&
		   user_probe(U_WRITE, T(4), NULL) == 1 &&
		   user_fault_was(PF_P | PF_W | PF_U, T(4), probe_insn),
	   "ring 3, CR0.WP=0: reads a read-only user page, a write #PF "
	   "error 7");
	write_cr0(cr0);
	map_page(pd_a, T(5), fu, PTE_U | PTE_W);
	v = 0x5151;
	ok(user_probe(U_WRITE, T(5), &v) == 0 && tag_at(T(4)) == 0x5151,
	   "ring 3: writes a user read/write page");
	pd_a[T_BASE >> 22] &= ~PTE_U;
	write_cr3(read_cr3());
	ok(user_probe(U_READ, T(5), &v) == 1 &&
		   user_fault_was(PF_P | PF_U, T(5), probe_insn) &&
		   tag_at(T(5)) == 0x5151,
	   "ring 3: U = 0 in the PDE alone, a read #PF error 5; ring 0 "
	   "reads it");
	pd_a[T_BASE >> 22] |= PTE_U;
	write_cr3(read_cr3());

	/*
	 * Rights raised without INVLPG: the TLB may still hold the old
	 * rights, so one spurious #PF is allowed, which invalidates the
	 * entry (4.10.4.1, 4.10.4.3); the access then completes.
	 */
	pte = pte_slot(pd_a, T(2));
	*pte |= PTE_W;
	n = probe_write32(T(2), 0x4343);
	if (n)
		n += probe_write32(T(2), 0x4343);
	ok(n <= 1 && tag_at(T(2)) == 0x4343,
	   "read-only to read/write without INVLPG: at most one spurious "
	   "#PF, then the write completes");
	*pte |= PTE_U;
	n = user_probe(U_READ, T(2), &v);
	if (n)
		n += user_probe(U_READ, T(2), &v);
	ok(n <= 1 && v == 0x4343,
	   "supervisor to user without INVLPG: at most one spurious #PF, "
	   "then ring 3 reads");
}

/* --- accessed and dirty ---------------------------------------------------------- */

static NOINLINE void test_ad(void)
{
	uint32_t *pde = &pd_a[AD_BASE >> 22], *pt = page_alloc();
	uint32_t x = AD_BASE, y = AD_BASE + PAGE_SIZE, z = AD_BASE + 0x2000;
	uint32_t c = AD_BASE + 0x3000, np = AD_BASE + 0x4000;
	uint32_t cr0 = read_cr0(), v;

	/* A page table of our own, its PDE with A = 0. */
	*pde = (uint32_t)pt | PTE_P | PTE_W | PTE_U;
	pt[0] = frame_new(0xad0) | PTE_P | PTE_W;
	pt[1] = frame_new(0xad1) | PTE_P | PTE_W;
	pt[2] = frame_new(0xad2) | PTE_P;
	pt[3] = code_frame(0xc0de) | PTE_P | PTE_W;
	pt[4] = 0xabcde000u | PTE_W | PTE_U | PTE_A | PTE_D;
	write_cr3(read_cr3());

	ok(tag_at(x) == 0xad0 && (pt[0] & (PTE_A | PTE_D)) == PTE_A &&
		   (*pde & PTE_A),
	   "a read sets A in the PTE and the PDE, not D");
	ok(probe_write32(x + 8, 1) == 0 &&
		   (pt[0] & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	   "a write after the read sets D (through a TLB entry with D = 0)");
	pt[0] &= ~(PTE_A | PTE_D);
	invlpg(x);
	ok(probe_write32(x + 8, 2) == 0 &&
		   (pt[0] & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	   "A and D cleared, INVLPG: a write sets both again");
	pt[0] &= ~PTE_D;
	invlpg(x);
	ok(tag_at(x) == 0xad0 && !(pt[0] & PTE_D),
	   "D cleared, INVLPG: a read leaves D clear");
	ok(probe_write32(y, 0xad1) == 0 &&
		   (pt[1] & (PTE_A | PTE_D)) == (PTE_A | PTE_D) &&
		   (pt[0] & (PTE_A | PTE_D)) == PTE_A,
	   "a write to a fresh page sets its A and D, its neighbour keeps "
	   "D clear");

	ok(probe_write32(z, 1) == 1 && fault_was(PF_P | PF_W, z) &&
		   !(pt[2] & PTE_D),
	   "a write to a read-only page #PF and leaves D clear");
	write_cr0(cr0 & ~CR0_WP);
	ok(probe_write32(z, 2) == 0 && (pt[2] & PTE_D),
	   "CR0.WP=0: the supervisor write to the read-only page sets D");
	write_cr0(cr0);

	ok(probe_exec(c, &v) == 0 && v == 0xc0de &&
		   (pt[3] & (PTE_A | PTE_D)) == PTE_A,
	   "an instruction fetch sets A, not D");
	ok(probe_read32(np, &v) == 1 && fault_was(0, np) &&
		   pt[4] == (0xabcde000u | PTE_W | PTE_U | PTE_A | PTE_D),
	   "a not-present PTE's other bits stay as software wrote them");
}

/* --- 4 MiB pages --------------------------------------------------------------- */

static volatile uint32_t large_word = 0x1a26e;

static NOINLINE void test_pse(void)
{
	uint32_t lin = LARGE_LIN + (uint32_t)&large_word, v, *pt;
	uint32_t *pde = &pd_a[LARGE_LIN >> 22];

	if (!(cpu_features() & CPUID_PSE)) {
		for (v = 0; v < 6; v++)
			ktap_skip("no PSE", "4 MiB pages");
		return;
	}
	write_cr4(read_cr4() | CR4_PSE);
	/* Physical 0-4 MiB, the kernel image, a second time at 2 GiB. */
	*pde = 0 | PTE_P | PTE_W | PTE_PS;
	write_cr3(read_cr3());
	ok(tag_at(lin) == 0x1a26e && (*pde & (PTE_A | PTE_D)) == PTE_A,
	   "PSE: a read through a 4 MiB page, A set in its PDE, not D");
	ok(probe_write32(lin, 0x1a26f) == 0 && large_word == 0x1a26f &&
		   (*pde & PTE_D) &&
		   tag_at(LARGE_LIN + (uint32_t)&kernel_word) == kernel_word,
	   "PSE: a write through the 4 MiB page sets D and reaches the "
	   "frame");

	/* INVLPG anywhere in it drops the whole large page. */
	*pde = LFRAME(0) | PTE_P | PTE_W | PTE_PS;
	((uint32_t *)LFRAME(0))[0] = 0x4001;
	((uint32_t *)(LFRAME(0) + 0x3ff000))[0] = 0x4002;
	invlpg(LARGE_LIN + 0x123000);
	ok(tag_at(LARGE_LIN) == 0x4001 &&
		   tag_at(LARGE_LIN + 0x3ff000) == 0x4002,
	   "PSE: INVLPG at one address flushes the whole 4 MiB page");

	*pde = 0 | PTE_P | PTE_PS | PDE_LARGE_RSVD21;
	invlpg(LARGE_LIN);
	ok(probe_read32(LARGE_LIN, &v) == 1 && rsvd_fault_was(0, LARGE_LIN),
	   "PSE: reserved bit 21 in a 4 MiB PDE: #PF error 9");
	ok(probe_write32(LARGE_LIN + 4, 1) == 1 &&
		   rsvd_fault_was(PF_W, LARGE_LIN + 4),
	   "PSE: a write through it: #PF error 0xb");

	/* CR4.PSE = 0: PS is ignored and the PDE names a page table. */
	pt = page_alloc();
	pt[5] = frame_new(0x9595) | PTE_P;
	*pde = (uint32_t)pt | PTE_P | PTE_W | PTE_PS;
	write_cr4(read_cr4() & ~CR4_PSE);
	write_cr3(read_cr3());
	v = tag_at(LARGE_LIN + 5 * PAGE_SIZE);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3(read_cr3());
	ok_eq(v, 0x9595,
	      "CR4.PSE=0: PS in a PDE is ignored, it names a "
	      "page table");
	*pde = 0;
	write_cr3(read_cr3());
}

/* --- global pages --------------------------------------------------------------- */

static NOINLINE void test_global(void)
{
	uint32_t g = T(8), v, *pta, *ptb, i;
	uint32_t *pdea = &pd_a[LARGE2_LIN >> 22],
		 *pdeb = &pd_b[LARGE2_LIN >> 22];

	if ((cpu_features() & (CPUID_PGE | CPUID_PSE)) !=
	    (CPUID_PGE | CPUID_PSE)) {
		for (i = 0; i < 7; i++)
			ktap_skip("no PGE", "global pages");
		return;
	}
	write_cr4(read_cr4() | CR4_PGE | CR4_PSE);
	/* The same global mappings in both address spaces, as an OS has. */
	map_page(pd_a, g, frame_new(0x61), PTE_W | PTE_G);
	pta = pte_slot(pd_a, g);
	ptb = pte_slot(pd_b, g);
	*ptb = *pta;
	*pdea = LFRAME(1) | PTE_P | PTE_W | PTE_PS | PTE_G;
	*pdeb = *pdea;
	((uint32_t *)LFRAME(1))[0] = 0x4401;
	((uint32_t *)LFRAME(2))[0] = 0x8801;
	write_cr3(read_cr3());

	for (i = 0, v = 0; i < 5; i++) {
		write_cr3((uint32_t)pd_b);
		v += tag_at(g) == 0x61 && tag_at(LARGE2_LIN) == 0x4401;
		write_cr3((uint32_t)pd_a);
		v += tag_at(g) == 0x61 && tag_at(LARGE2_LIN) == 0x4401;
	}
	ok_eq(v, 10, "global 4 KiB and 4 MiB pages read across CR3 switches");

	*pta = frame_new(0x62) | PTE_P | PTE_W | PTE_G;
	*ptb = *pta;
	*pdea = LFRAME(2) | PTE_P | PTE_W | PTE_PS | PTE_G;
	*pdeb = *pdea;
	write_cr3((uint32_t)pd_b);
	v = tag_at(g);
	ok(v == 0x61 || v == 0x62,
	   "global page changed, CR3 written: the old or the new frame");
	v = tag_at(LARGE2_LIN);
	ok(v == 0x4401 || v == 0x8801,
	   "global 4 MiB page changed, CR3 written: the old or the new frame");
	invlpg(g);
	invlpg(LARGE2_LIN + 0x200000);
	ok(tag_at(g) == 0x62 && tag_at(LARGE2_LIN) == 0x8801,
	   "global pages, INVLPG: the new frames");

	*pta = frame_new(0x63) | PTE_P | PTE_W | PTE_G;
	*ptb = *pta;
	*pdea = LFRAME(1) | PTE_P | PTE_W | PTE_PS | PTE_G;
	*pdeb = *pdea;
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	ok(tag_at(g) == 0x63 && tag_at(LARGE2_LIN) == 0x4401,
	   "global pages, CR4.PGE toggled: the new frames");

	/* A non-global neighbour must follow a plain CR3 write. */
	map_page(pd_b, T(9), frame_new(0x91), PTE_W);
	write_cr3((uint32_t)pd_b);
	v = tag_at(T(9));
	*pte_slot(pd_b, T(9)) = frame_new(0x92) | PTE_P | PTE_W;
	write_cr3((uint32_t)pd_b);
	ok(v == 0x91 && tag_at(T(9)) == 0x92,
	   "PGE on: a non-global page changed, CR3 written: the new frame");

	/* Global entries go: CR4.PGE off, the PTEs no longer global. */
	*pta &= ~PTE_G;
	*ptb &= ~PTE_G;
	*pdea = 0;
	*pdeb = 0;
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr3((uint32_t)pd_a);
	ok(probe_read32(LARGE2_LIN, &v) == 1 && fault_was(0, LARGE2_LIN),
	   "global 4 MiB page unmapped, CR4.PGE cleared: #PF");
}

/* --- code ------------------------------------------------------------------------- */

static NOINLINE void test_code(void)
{
	uint32_t c1 = code_frame(1), c2 = code_frame(2), c3 = code_frame(3);
	uint32_t x = T(12), alias = T(13), edge = T(15), v, n, i, saved;
	uint32_t *pte = pte_slot(pd_a, x);
	uint8_t *p1, *p2;

	map_page(pd_a, x, c1, 0);
	ok(probe_exec(x, &v) == 0 && v == 1, "code page: runs");
	*pte = c2 | PTE_P;
	invlpg(x);
	ok(probe_exec(x, &v) == 0 && v == 2,
	   "code page remapped to other code, INVLPG: the new code runs");
	*pte = c3 | PTE_P;
	write_cr3(read_cr3());
	ok(probe_exec(x, &v) == 0 && v == 3,
	   "code page remapped, CR3 reloaded: the new code runs");

	/* One address, different code in each address space. */
	*pte = c1 | PTE_P;
	invlpg(x);
	map_page(pd_b, x, c2, 0);
	for (i = 0, n = 0; i < 10; i++) {
		write_cr3((uint32_t)pd_b);
		n += probe_exec(x, &v) == 0 && v == 2;
		write_cr3((uint32_t)pd_a);
		n += probe_exec(x, &v) == 0 && v == 1;
	}
	ok_eq(n, 20,
	      "one code address, other code in another address "
	      "space: 10 CR3 round trips");

	/*
	 * Two address spaces sharing one page table (as every Linux process
	 * shares the kernel's): its code PTE changed without INVLPG, then a
	 * CR3 switch, which flushes it (4.10.4.1): the new code runs.
	 */
	saved = pd_b[x >> 22];
	pd_b[x >> 22] = pd_a[x >> 22];
	write_cr3((uint32_t)pd_b);
	n = probe_exec(x, &v) == 0 && v == 1;
	write_cr3((uint32_t)pd_a);
	n += probe_exec(x, &v) == 0 && v == 1;
	*pte = c2 | PTE_P;
	write_cr3((uint32_t)pd_b);
	n += probe_exec(x, &v) == 0 && v == 2;
	*pte = c3 | PTE_P;
	write_cr3((uint32_t)pd_a);
	n += probe_exec(x, &v) == 0 && v == 3;
	pd_b[x >> 22] = saved;
	*pte = c1 | PTE_P;
	write_cr3((uint32_t)pd_a);
	ok_eq(n, 4,
	      "a page table shared by two address spaces: its code PTE "
	      "changed, then a CR3 switch: the new code runs");

	/* Rewritten through a writable alias of the same frame. */
	map_page(pd_a, alias, c1, PTE_W);
	put_ret_imm((uint8_t *)alias, 0x11);
	ok(probe_exec(x, &v) == 0 && v == 0x11,
	   "code rewritten through a data alias: the new code runs");

	/*
	 * MOV EAX, imm32 / RET across edge - 1 | edge: 3 bytes before the
	 * boundary, the rest on a page not mapped yet.
	 */
	p1 = page_alloc();
	p2 = page_alloc();
	map_page(pd_a, edge - PAGE_SIZE, (uint32_t)p1, 0);
	p1[PAGE_SIZE - 3] = 0xb8;
	p1[PAGE_SIZE - 2] = 0x11;
	p1[PAGE_SIZE - 1] = 0x22;
	p2[0] = 0x33;
	p2[1] = 0x44;
	p2[2] = 0xc3;
	ok(probe_exec(edge - 3, &v) == 1 && pf_last.error_code == 0 &&
		   pf_last.cr2 == edge && pf_last.eip == edge - 3,
	   "an instruction across into a not-present page: #PF error 0, "
	   "CR2 = the second page, EIP = its start");
	map_page(pd_a, edge, (uint32_t)p2, 0);
	ok(probe_exec(edge - 3, &v) == 0 && v == 0x44332211,
	   "the second page mapped: the instruction runs");
	p1 = page_alloc();
	p1[0] = 0x77;
	p1[1] = 0x66;
	p1[2] = 0xc3;
	*pte_slot(pd_a, edge) = (uint32_t)p1 | PTE_P;
	invlpg(edge);
	ok(probe_exec(edge - 3, &v) == 0 && v == 0x66772211,
	   "its second page remapped, INVLPG: the new bytes run");

	*pte = 0;
	invlpg(x);
	ok(probe_exec(x, &v) == 1 && pf_last.error_code == 0 &&
		   pf_last.cr2 == x && pf_last.eip == x,
	   "code page unmapped: #PF error 0 (no I/D without NXE) at the "
	   "target");
	map_page(pd_a, x, c1, PTE_U);
	invlpg(x);
	ok(user_probe(U_EXEC, x, &v) == 0 && v == 0x11,
	   "ring 3 runs code on a user page");
	*pte = 0;
	invlpg(x);
	ok(user_probe(U_EXEC, x, &v) == 1 && user_fault_was(PF_U, x, x),
	   "ring 3: code page unmapped: #PF error 4 at the target");
}

/* --- accesses across a page boundary ---------------------------------------------- */

static NOINLINE void test_crossing(void)
{
	uint32_t a = T(20), b = T(21), v;
	uint32_t *f = (uint32_t *)frame_new(0xc0c0);

	f[1023] = 0x11223344;
	map_page(pd_a, a, (uint32_t)f, PTE_W);
	/* b: not mapped */
	ok(probe_read32(b - 2, &v) == 1 && pf_last.error_code == 0 &&
		   pf_last.cr2 >= b && pf_last.cr2 < b + 2 &&
		   pf_last.eip == probe_insn,
	   "a read across into a not-present page: #PF error 0, CR2 in the "
	   "second page");
	ok(probe_write32(b - 2, 0xdeadbeef) == 1 &&
		   pf_last.error_code == PF_W && pf_last.cr2 >= b &&
		   pf_last.cr2 < b + 2 && f[1023] == 0x11223344,
	   "a write across into a not-present page: #PF error 2, the first "
	   "page unchanged");
	map_page(pd_a, b, frame_new(0xc1c1), 0);
	ok(probe_write32(b - 2, 0xdeadbeef) == 1 &&
		   pf_last.error_code == (PF_P | PF_W) && pf_last.cr2 >= b &&
		   pf_last.cr2 < b + 2 && f[1023] == 0x11223344,
	   "a write across into a read-only page: #PF error 3, the first "
	   "page unchanged");
	*pte_slot(pd_a, b) |= PTE_W;
	invlpg(b);
	ok(probe_write32(b - 2, 0xdeadbeef) == 0 && (f[1023] >> 16) == 0xbeef &&
		   tag_at(b) == ((0xc1c1 & ~0xffffu) | 0xdead),
	   "the write across, both pages writable: both frames written");
}

/* --- faults while delivering an event ----------------------------------------------- */

extern char int81_k_insn[];

static NOINLINE void test_delivery(void)
{
	struct dtr old, idt;
	uint32_t lo = frame_new(0), hi = frame_new(0), base, v;
	uint32_t *pte_hi;

	sidt(&old);
	trap_set_handler(0x81, NULL); /* a present gate, DPL 0 */
	map_page(pd_a, IDT_BASE, lo, PTE_W);
	map_page(pd_a, IDT_BASE + PAGE_SIZE, hi, PTE_W);
	pte_hi = pte_slot(pd_a, IDT_BASE + PAGE_SIZE);

	/*
	 * Vectors 0-0x80 on the first page (ring 3 leaves user_run()
	 * through INT 0x80), 0x81-0xff on the second.
	 */
	base = IDT_BASE + PAGE_SIZE - 0x81 * 8;
	memcpy((void *)base, (void *)old.base, 256 * 8);
	idt.base = base;
	idt.limit = 256 * 8 - 1;
	lidt(&idt);
	*pte_hi = 0;
	invlpg(IDT_BASE + PAGE_SIZE);
	pf_count = 0;
	asm volatile("movl $1f, probe_resume\n\t"
		     "movl $int81_k_insn, probe_insn\n"
		     "int81_k_insn:\n\t"
		     "int $0x81\n\t"
		     "movl $0, probe_resume\n"
		     "1:"
		     :
		     :
		     : "memory");
	ok(pf_count == 1 && fault_was(0, base + 0x81 * 8),
	   "INT 0x81, its gate on a not-present page: #PF error 0, CR2 = "
	   "the gate, EIP = the INT");
	pf_count = 0;
	ok(user_probe(U_INT81, 0, NULL) == 1 &&
		   user_fault_was(0, base + 0x81 * 8, (uint32_t)int81_insn),
	   "the same from ring 3: #PF error 0 (the IDT read is a supervisor "
	   "access)");

	/* Vectors 0-8 on the first page: the #PF gate is on the second. */
	lidt(&old);
	*pte_hi = hi | PTE_P | PTE_W;
	invlpg(IDT_BASE + PAGE_SIZE);
	base = IDT_BASE + PAGE_SIZE - 9 * 8;
	memcpy((void *)base, (void *)old.base, 256 * 8);
	trap_set_handler(VEC_DF, paging_pf_handler);
	idt.base = base;
	lidt(&idt);
	*pte_hi = 0;
	invlpg(IDT_BASE + PAGE_SIZE);
	ok(probe_read32(T(30), &v) == 1 && pf_last.vector == VEC_DF &&
		   pf_last.error_code == 0,
	   "a #PF whose gate is on a not-present page: #DF, error 0");
	lidt(&old);
	trap_set_handler(VEC_DF, NULL);
}

/* --- the page tables mapped into themselves ------------------------------------------ */

static NOINLINE void test_selfmap(void)
{
	volatile uint32_t *ptes = (volatile uint32_t *)SELF_LIN;
	volatile uint32_t *pd = ptes + SELF_PDE * 1024;
	uint32_t lin = T(40), f1 = frame_new(0x5e1f1), f2 = frame_new(0x5e1f2);

	pd_a[SELF_PDE] = (uint32_t)pd_a | PTE_P | PTE_W;
	map_page(pd_a, lin, f1, PTE_W);
	write_cr3(read_cr3());
	ok(pd[0] == pd_a[0] && pd[SELF_PDE] == pd_a[SELF_PDE] &&
		   (ptes[lin >> 12] & ~(PTE_A | PTE_D)) == (f1 | PTE_P | PTE_W),
	   "self-map: the PD and a PTE read through the PD's own PDE");
	ok_eq(tag_at(lin), 0x5e1f1, "self-map: the page maps its frame");
	ptes[lin >> 12] = f2 | PTE_P | PTE_W;
	invlpg(lin);
	ok(tag_at(lin) == 0x5e1f2 && (*pte_slot(pd_a, lin) & PAGE_MASK) == f2,
	   "self-map: a PTE written through the self-map, INVLPG: the new "
	   "frame");
	pd[SELF_PDE] = 0;
	write_cr3(read_cr3());
	ok(pd_a[SELF_PDE] == 0 && tag_at(lin) == 0x5e1f2,
	   "self-map: the PD's own PDE cleared through itself");
}

/* --- the top of the address space ----------------------------------------------------- */

static NOINLINE void test_top(void)
{
	uint32_t f1 = frame_new(0x7091), f2 = frame_new(0x7092), v;

	map_page(pd_a, TOP_4M, f1, PTE_W);
	map_page(pd_a, TOP_PAGE, f2, PTE_W);
	ok(tag_at(TOP_4M) == 0x7091 && tag_at(TOP_PAGE) == 0x7092 &&
		   probe_write32(TOP_PAGE + 0xffc, 0x70ff) == 0 &&
		   ((uint32_t *)f2)[1023] == 0x70ff,
	   "pages at 0xffc00000 and 0xfffff000 read and written");
	*pte_slot(pd_a, TOP_PAGE) = 0;
	invlpg(TOP_PAGE);
	ok(probe_read32(TOP_PAGE, &v) == 1 && fault_was(0, TOP_PAGE),
	   "0xfffff000 unmapped: #PF error 0");
}

int main(void)
{
	ktap_plan(72);
	pic_init(); /* the BIOS's PIC sends IRQ 0 to vector 8: mask it */
	pd_a = paging_init();
	pd_b = pd_new();
	/* The image's alias in the higher half (1 MiB up to the pool). */
	for (uint32_t a = 0x100000; a < POOL_START; a += PAGE_SIZE)
		map_page(pd_a, a + HIGH_OFFSET, a, PTE_W);
	user_init();
	paging_enable(pd_a);

	test_maps();
	test_rights();
	test_ad();
	test_pse();
	test_global();
	test_code();
	test_crossing();
	test_delivery();
	test_selfmap();
	test_top();
	ktap_finish();
}
