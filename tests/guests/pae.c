/*
 * pae - PAE paging with execute-disable, as a 32-bit guest kernel uses it
 * (Intel SDM Vol. 3A 4.4; "4.x" below).
 *
 *   PAE        CR4.PAE with CR3 naming a 4-entry PDPT whose entries the
 *              processor loads at MOV CR3 (4.4.1); the kernel identity-mapped
 *              with 2 MiB pages; 4 KiB pages through page tables; a frame
 *              changed and INVLPG or a CR3 reload; a PDPTE pointed at another
 *              page directory, then CR3 reloaded; a not-present PDPTE (#PF);
 *              two address spaces (two PDPTs); A in the PDE and PTE, D in
 *              the PTE and in a 2 MiB page's PDE; INVLPG anywhere in a 2 MiB
 *              page; a global 2 MiB page across CR3 writes; CR0.WP and U/S
 *              error codes as with 32-bit paging
 *   reserved   bit 63 with EFER.NXE = 0, bit MAXPHYADDR of a PTE, bit 13 of
 *              a 2 MiB PDE: #PF with RSVD (4.4.2, Table 4-9)
 *   NX         EFER.NXE set with WRMSR: data reads from an XD page work, a
 *              fetch #PF P|I/D (0x11) at ring 0 and 0x15 at ring 3, CR2 =
 *              EIP = the target (4.6, 4.7); XD in a PDE covers its page
 *              table's pages; XD on a 2 MiB page; a fetch from a not-present
 *              page 0x10, a read 0; XD cleared without INVLPG: at most one
 *              spurious #PF (4.10.4.3); EFER.NXE cleared again: XD is a
 *              reserved bit
 *   modes      paging off, PAE off, 32-bit paging on (a mapping works), and
 *              back to PAE
 *
 * Needs CPUID PAE and, for the NX lines, NX (tests/guests/run-native gives
 * qemu-system-i386 a CPU with NX); without them those lines SKIP.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

#define PDE_SHIFT  21
#define PAE_RSVD13 (1ull << 13) /* reserved in a 2 MiB PDE (Table 4-9) */

/* Linear addresses: PDPT entry 1 (1-2 GiB) and 2 (2-3 GiB) for tests. */
#define T_BASE	  0x40000000u
#define T(n)	  (T_BASE + (n)*PAGE_SIZE)
#define BIG_LIN	  0x40600000u /* 2 MiB pages from here */
#define PDPT2_LIN 0x80000000u
#define NX_PT_LIN 0x41000000u /* a page table under an XD PDE */

static uint64_t *pdpt_a, *pdpt_b;
static uint64_t *kernel_pd; /* PDPT entry 0: the kernel, 2 MiB pages */
static int have_nx;

/* --- PAE page tables ---------------------------------------------------------- */

/*
 * A new PDPTE in the loaded PDPT is used after the next MOV to CR3, which
 * loads the PDPTE registers (4.4.1): until then an Intel CPU walks with the
 * old, not-present one.  (QEMU's TCG, and AMD with nested paging, read the
 * PDPT at every walk; a guest cannot count on either.)
 */
static uint64_t *pd_of(uint64_t *pdpt, uint32_t lin)
{
	uint64_t *e = &pdpt[lin >> 30];

	if (!(*e & PTE_P)) {
		*e = (uint32_t)page_alloc() | PTE_P; /* PDPTE: P, no R/W, U */
		if ((read_cr0() & CR0_PG) && (read_cr4() & CR4_PAE) &&
		    (read_cr3() & ~0x1fu) == (uint32_t)pdpt)
			write_cr3(read_cr3());
	}
	return (uint64_t *)(uint32_t)(*e & PAGE_MASK);
}

static uint64_t *pde_of(uint64_t *pdpt, uint32_t lin)
{
	return &pd_of(pdpt, lin)[(lin >> PDE_SHIFT) & 511];
}

static uint64_t *pte_of(uint64_t *pdpt, uint32_t lin)
{
	uint64_t *pde = pde_of(pdpt, lin);

	if (!(*pde & PTE_P))
		*pde = (uint32_t)page_alloc() | PTE_P | PTE_W | PTE_U;
	return &((uint64_t *)(uint32_t)(*pde & PAGE_MASK))[(lin >> 12) & 511];
}

static void map(uint64_t *pdpt, uint32_t lin, uint32_t phys, uint64_t flags)
{
	*pte_of(pdpt, lin) = phys | flags | PTE_P;
}

/* A PDPT whose first entry is the kernel's page directory. */
static uint64_t *pdpt_new(void)
{
	uint64_t *pdpt = page_alloc();

	pdpt[0] = (uint32_t)kernel_pd | PTE_P;
	return pdpt;
}

/*
 * QEMU 7.2's TCG sets A (bit 5) in the PDPTEs it walks, a bit reserved in
 * a PAE PDPTE (4.4.1, Table 4-8) that no CPU sets; KVM then fails the next
 * PDPTE load through it, at a MOV to CR0 or CR4 (4.4.1 lists them), with
 * the #GP(0) the SDM gives for a reserved bit.  Clear it before them.
 */
static void pdpt_scrub(uint64_t *pdpt)
{
	int i;

	for (i = 0; i < 4; i++)
		pdpt[i] &= ~(uint64_t)PTE_A;
}

/* MOV to CR4 with PAE paging on: the PDPTEs are loaded again. */
static void write_cr4_pae(uint32_t v)
{
	pdpt_scrub((uint64_t *)(read_cr3() & ~0x1fu));
	write_cr4(v);
}

static void pae_on(uint64_t *pdpt)
{
	pdpt_scrub(pdpt);
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((uint32_t)pdpt);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void set_nxe(int on)
{
	uint64_t efer = rdmsr(MSR_EFER);

	wrmsr(MSR_EFER, on ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE);
	write_cr3(read_cr3()); /* a WRMSR is not said to flush the TLB */
}

/* --- helpers as in paging.c ------------------------------------------------------ */

static uint32_t frame_new(uint32_t tag)
{
	uint32_t *p = page_alloc();

	p[0] = tag;
	p[1023] = ~tag;
	return (uint32_t)p;
}

static uint32_t tag_at(uint32_t lin)
{
	uint32_t v;

	if (probe_read32(lin, &v))
		return 0xdead0000u | pf_last.error_code;
	return v;
}

static void put_ret_imm(uint8_t *p, uint32_t imm)
{
	p[0] = 0xb8;
	memcpy(p + 1, &imm, 4);
	p[5] = 0xc3;
}

static uint32_t code_frame(uint32_t imm)
{
	uint8_t *p = page_alloc();

	put_ret_imm(p, imm);
	return (uint32_t)p;
}

static int fault_was(uint32_t err, uint32_t cr2, uint32_t eip)
{
	int good = pf_last.vector == VEC_PF && pf_last.error_code == err &&
		   pf_last.cr2 == cr2 && pf_last.eip == eip;

	if (!good)
		ktap_diag(
			"vector %u error %#x cr2 %#x eip %#x (want %#x at %#x)",
			pf_last.vector, pf_last.error_code, pf_last.cr2,
			pf_last.eip, err, eip);
	return good;
}

/* RSVD with @err; P too per the SDM, or not, as QEMU 7.2's TCG has it. */
static int rsvd_fault_was(uint32_t err, uint32_t cr2, uint32_t eip)
{
	if (pf_last.error_code == (PF_RSVD | err))
		return fault_was(PF_RSVD | err, cr2, eip);
	return fault_was(PF_P | PF_RSVD | err, cr2, eip);
}

/* Ring 3: one access; 1 when it faulted. */
enum {
	U_READ,
	U_WRITE,
	U_EXEC
};
static struct {
	int kind, faulted;
	uint32_t addr, val;
} uprobe;

static int uprobe_task(void *arg)
{
	(void)arg;
	if (uprobe.kind == U_READ)
		uprobe.faulted = probe_read32(uprobe.addr, &uprobe.val);
	else if (uprobe.kind == U_WRITE)
		uprobe.faulted = probe_write32(uprobe.addr, uprobe.val);
	else
		uprobe.faulted = probe_exec(uprobe.addr, &uprobe.val);
	return 0;
}

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

/* --- PAE ----------------------------------------------------------------------- */

static volatile uint32_t kernel_word = 0x9ae;

static NOINLINE void test_pae(void)
{
	uint64_t *pte, *pde, *pd2, *big;
	uint32_t v, i, f1 = frame_new(0xa1), f2 = frame_new(0xa2);
	uint32_t f3 = frame_new(0xa3);

	ok((read_cr0() & CR0_PG) && (read_cr4() & CR4_PAE) &&
		   read_cr3() == (uint32_t)pdpt_a && kernel_word == 0x9ae,
	   "PAE on: CR4.PAE, CR3 = the PDPT, the kernel runs on 2 MiB pages");

	map(pdpt_a, T(0), f1, PTE_W);
	pte = pte_of(pdpt_a, T(0));
	pde = pde_of(pdpt_a, T(0));
	ok(tag_at(T(0)) == 0xa1 && (*pte & (PTE_A | PTE_D)) == PTE_A &&
		   (*pde & PTE_A),
	   "a 4 KiB page: read, A set in the PTE and the PDE, not D");
	ok(probe_write32(T(0) + 4, 5) == 0 && (*pte & PTE_D) &&
		   ((uint32_t *)f1)[1] == 5,
	   "a write sets D and reaches the frame");
	*pte = f2 | PTE_P | PTE_W;
	invlpg(T(0));
	ok_eq(tag_at(T(0)), 0xa2, "frame changed, INVLPG: the new frame");
	*pte = f3 | PTE_P | PTE_W;
	write_cr3(read_cr3());
	ok_eq(tag_at(T(0)), 0xa3, "frame changed, CR3 reloaded: the new frame");

	/* 2 MiB pages: LFRAME(0) is 4 MiB, two of them. */
	big = pde_of(pdpt_a, BIG_LIN);
	big[0] = LFRAME(0) | PTE_P | PTE_W | PTE_PS;
	((uint32_t *)LFRAME(0))[0] = 0xb1;
	((uint32_t *)(LFRAME(0) + PAE_LPAGE))[0] = 0xb2;
	((uint32_t *)(LFRAME(0) + PAE_LPAGE - 4))[0] = 0xb1e;
	write_cr3(read_cr3());
	ok(tag_at(BIG_LIN) == 0xb1 &&
		   tag_at(BIG_LIN + PAE_LPAGE - 4) == 0xb1e &&
		   (big[0] & (PTE_A | PTE_D)) == PTE_A,
	   "a 2 MiB page: both ends read, A set in its PDE, not D");
	ok(probe_write32(BIG_LIN + 8, 7) == 0 && (big[0] & PTE_D) &&
		   ((uint32_t *)LFRAME(0))[2] == 7,
	   "a write through the 2 MiB page sets D in its PDE");
	big[0] = (LFRAME(0) + PAE_LPAGE) | PTE_P | PTE_W | PTE_PS;
	invlpg(BIG_LIN + 0x1ff000);
	ok_eq(tag_at(BIG_LIN), 0xb2,
	      "INVLPG at the end of a 2 MiB page flushes all of it");

	/* A PDPTE pointed at another page directory, loaded at MOV CR3. */
	map(pdpt_a, PDPT2_LIN, frame_new(0xc1), PTE_W);
	pd2 = page_alloc();
	pd2[0] = (uint32_t)page_alloc() | PTE_P | PTE_W | PTE_U;
	((uint64_t *)(uint32_t)(pd2[0] & PAGE_MASK))[0] = frame_new(0xc2) |
							  PTE_P | PTE_W;
	v = tag_at(PDPT2_LIN);
	pdpt_a[2] = (uint32_t)pd2 | PTE_P;
	write_cr3(read_cr3());
	ok(v == 0xc1 && tag_at(PDPT2_LIN) == 0xc2,
	   "a PDPTE pointed at another PD, CR3 reloaded: its mapping");
	pdpt_a[2] = 0;
	write_cr3(read_cr3());
	ok(probe_read32(PDPT2_LIN, &v) == 1 &&
		   fault_was(0, PDPT2_LIN, probe_insn),
	   "a not-present PDPTE: #PF error 0");

	/* Two PDPTs, one linear address. */
	map(pdpt_b, T(1), frame_new(0xbb), PTE_W);
	map(pdpt_a, T(1), frame_new(0xaa), PTE_W);
	for (i = 0, v = 0; i < 10; i++) {
		write_cr3((uint32_t)pdpt_b);
		v += tag_at(T(1)) == 0xbb;
		write_cr3((uint32_t)pdpt_a);
		v += tag_at(T(1)) == 0xaa;
	}
	ok_eq(v, 20, "two PDPTs switched with MOV CR3: 10 round trips");

	/* A global 2 MiB page, the same in both. */
	write_cr4_pae(read_cr4() | CR4_PGE);
	big[1] = LFRAME(1) | PTE_P | PTE_W | PTE_PS | PTE_G;
	*pde_of(pdpt_b, BIG_LIN + PAE_LPAGE) = big[1];
	((uint32_t *)LFRAME(1))[0] = 0x61;
	((uint32_t *)(LFRAME(1) + PAE_LPAGE))[0] = 0x62;
	write_cr3((uint32_t)pdpt_b);
	v = tag_at(BIG_LIN + PAE_LPAGE);
	write_cr3((uint32_t)pdpt_a);
	v = v == 0x61 && tag_at(BIG_LIN + PAE_LPAGE) == 0x61;
	big[1] = (LFRAME(1) + PAE_LPAGE) | PTE_P | PTE_W | PTE_PS | PTE_G;
	*pde_of(pdpt_b, BIG_LIN + PAE_LPAGE) = big[1];
	write_cr3((uint32_t)pdpt_b);
	i = tag_at(BIG_LIN + PAE_LPAGE);
	v = v && (i == 0x61 || i == 0x62);
	invlpg(BIG_LIN + PAE_LPAGE);
	ok(v && tag_at(BIG_LIN + PAE_LPAGE) == 0x62,
	   "a global 2 MiB page: old or new after CR3 writes, new after "
	   "INVLPG");
	write_cr4_pae(read_cr4() & ~CR4_PGE);
	write_cr3((uint32_t)pdpt_a);
}

static NOINLINE void test_rights(void)
{
	uint32_t f = frame_new(0x33), v = 0;

	map(pdpt_a, T(2), f, 0);
	ok(probe_write32(T(2), 1) == 1 &&
		   fault_was(PF_P | PF_W, T(2), probe_insn) &&
		   tag_at(T(2)) == 0x33,
	   "CR0.WP=1: a ring-0 write to a read-only page #PF error 3");
	ok(user_probe(U_READ, T(2), &v) == 1 &&
		   fault_was(PF_P | PF_U, T(2), probe_insn),
	   "ring 3: a read of a supervisor page #PF error 5");
	map(pdpt_a, T(3), f, PTE_U);
	ok(user_probe(U_READ, T(3), &v) == 0 && v == 0x33 &&
		   user_probe(U_WRITE, T(3), NULL) == 1 &&
		   fault_was(PF_P | PF_W | PF_U, T(3), probe_insn),
	   "ring 3: reads a read-only user page, a write #PF error 7");
}

/* --- reserved bits ----------------------------------------------------------------- */

static NOINLINE void test_reserved(void)
{
	uint64_t *pte = pte_of(pdpt_a, T(4)), *big;
	uint32_t f = frame_new(0x44), v;
	int m = cpu_maxphyaddr();

	*pte = f | PTE_P | PTE_W | PTE_NX;
	invlpg(T(4));
	ok(probe_read32(T(4), &v) == 1 && rsvd_fault_was(0, T(4), probe_insn),
	   "EFER.NXE=0: bit 63 of a PTE is reserved, a read #PF RSVD");
	/*
	 * Bit 51, not bit MAXPHYADDR: KVM with nested paging walks guest
	 * tables with the host's MAXPHYADDR, so a bit between the guest's
	 * (36 here) and the host's is not reserved there.
	 */
	*pte = f | PTE_P | PTE_W | (m < 52 ? 1ull << 51 : 0);
	invlpg(T(4));
	ok(m >= 52 || (probe_write32(T(4), 1) == 1 &&
		       rsvd_fault_was(PF_W, T(4), probe_insn)),
	   "bit 51 (above MAXPHYADDR) of a PTE is reserved, a write #PF RSVD|W");
	*pte = f | PTE_P | PTE_W;
	invlpg(T(4));
	ok_eq(tag_at(T(4)), 0x44, "the PTE without the reserved bit maps");

	big = pde_of(pdpt_a, BIG_LIN + 2 * PAE_LPAGE);
	*big = LFRAME(2) | PTE_P | PTE_W | PTE_PS | PAE_RSVD13;
	invlpg(BIG_LIN + 2 * PAE_LPAGE);
	ok(probe_read32(BIG_LIN + 2 * PAE_LPAGE, &v) == 1 &&
		   rsvd_fault_was(0, BIG_LIN + 2 * PAE_LPAGE, probe_insn),
	   "bit 13 of a 2 MiB PDE is reserved: #PF RSVD");
	*big = 0;
	invlpg(BIG_LIN + 2 * PAE_LPAGE);
}

/* --- execute-disable ----------------------------------------------------------------- */

static NOINLINE void test_nx(void)
{
	uint32_t x = T(6), v, n, c = code_frame(0x600d);
	uint64_t *pte = pte_of(pdpt_a, x), *pde, *pt, *big;

	if (!have_nx) {
		for (n = 0; n < 11; n++)
			ktap_skip("no NX", "execute-disable");
		return;
	}
	set_nxe(1);
	ok(rdmsr(MSR_EFER) & EFER_NXE,
	   "EFER.NXE set with WRMSR, read back with RDMSR");
	*pte = c | PTE_P | PTE_W | PTE_U;
	invlpg(x);
	ok(probe_exec(x, &v) == 0 && v == 0x600d, "NXE=1: code on an XD=0 page "
						  "runs");
	*pte |= PTE_NX;
	invlpg(x);
	ok(tag_at(x) == 0x600db8 && probe_exec(x, &v) == 1 &&
		   fault_was(PF_P | PF_ID, x, x),
	   "an XD page: a read works, a fetch #PF error 0x11, CR2 = EIP");
	ok(user_probe(U_EXEC, x, &v) == 1 &&
		   fault_was(PF_P | PF_ID | PF_U, x, x) &&
		   pf_last.cs == SEL_UCODE,
	   "ring 3: a fetch from the XD page #PF error 0x15");

	/* XD cleared without INVLPG: one spurious fault at most. */
	*pte &= ~PTE_NX;
	n = probe_exec(x, &v);
	if (n)
		n += probe_exec(x, &v);
	ok(n <= 1 && v == 0x600d,
	   "XD cleared without INVLPG: at most one spurious #PF, then it "
	   "runs");

	/* XD in a PDE that names a page table: all its pages. */
	pde = pde_of(pdpt_a, NX_PT_LIN);
	pt = page_alloc();
	pt[3] = c | PTE_P | PTE_W;
	*pde = (uint32_t)pt | PTE_P | PTE_W | PTE_U | PTE_NX;
	write_cr3(read_cr3());
	ok(probe_exec(NX_PT_LIN + 3 * PAGE_SIZE, &v) == 1 &&
		   fault_was(PF_P | PF_ID, NX_PT_LIN + 3 * PAGE_SIZE,
			     NX_PT_LIN + 3 * PAGE_SIZE),
	   "XD in the PDE: a fetch from a page of its table #PF 0x11");
	*pde &= ~PTE_NX;
	write_cr3(read_cr3());
	ok(probe_exec(NX_PT_LIN + 3 * PAGE_SIZE, &v) == 0 && v == 0x600d,
	   "XD cleared in the PDE, CR3 reloaded: the code runs");

	/* A 2 MiB XD page; the code at its start. */
	big = pde_of(pdpt_a, BIG_LIN + 3 * PAE_LPAGE);
	put_ret_imm((uint8_t *)LFRAME(3), 0xb16);
	*big = LFRAME(3) | PTE_P | PTE_W | PTE_PS | PTE_NX;
	invlpg(BIG_LIN + 3 * PAE_LPAGE);
	ok(probe_exec(BIG_LIN + 3 * PAE_LPAGE, &v) == 1 &&
		   fault_was(PF_P | PF_ID, BIG_LIN + 3 * PAE_LPAGE,
			     BIG_LIN + 3 * PAE_LPAGE),
	   "a 2 MiB XD page: a fetch #PF error 0x11");

	/* Not present: I/D describes the access. */
	*pte = 0;
	invlpg(x);
	ok(probe_exec(x, &v) == 1 && fault_was(PF_ID, x, x) &&
		   probe_read32(x, &v) == 1 && fault_was(0, x, probe_insn),
	   "NXE=1, not present: a fetch #PF error 0x10, a read 0");
	ok(user_probe(U_EXEC, x, &v) == 1 && fault_was(PF_ID | PF_U, x, x),
	   "ring 3, not present: a fetch #PF error 0x14");

	/* NXE off again: XD bits become reserved. */
	*pte = c | PTE_P | PTE_W | PTE_NX;
	set_nxe(0);
	ok(probe_exec(x, &v) == 1 && rsvd_fault_was(0, x, x) && *big & PTE_NX,
	   "EFER.NXE cleared: an XD bit is reserved, a fetch #PF RSVD "
	   "without I/D");
	*big = 0;
	*pte = 0;
	write_cr3(read_cr3());
}

/* --- changing paging modes ----------------------------------------------------------- */

static NOINLINE void test_modes(void)
{
	uint32_t *pd = paging_init(); /* the 32-bit kernel map, no #PF change */
	uint32_t f = frame_new(0x32b);

	map_page(pd, T(8), f, PTE_W);
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PAE);
	paging_enable(pd);
	ok(!(read_cr4() & CR4_PAE) && tag_at(T(8)) == 0x32b &&
		   tag_at(T(0)) == (0xdead0000u | 0),
	   "PAE off, 32-bit paging on: its own mappings, not PAE's");
	write_cr0(read_cr0() & ~CR0_PG);
	pae_on(pdpt_a);
	ok(tag_at(T(0)) == 0xa3 && probe_read32(T(8), &f) == 1,
	   "back to PAE: PAE's mappings again");
}

int main(void)
{
	uint32_t i;

	ktap_plan(32);
	pic_init(); /* the BIOS's PIC sends IRQ 0 to vector 8: mask it */
	if (!(cpu_features() & CPUID_PAE)) {
		printf("# no PAE: nothing to test\n");
		for (i = 0; i < 32; i++)
			ktap_skip("no PAE", "PAE");
		ktap_finish();
	}
	have_nx = !!(cpu_ext_features() & CPUID_NX);
	trap_set_handler(VEC_PF, paging_pf_handler);
	user_init();

	/* The kernel: 0 to KMAP_END identity-mapped in 2 MiB pages. */
	kernel_pd = page_alloc();
	for (i = 0; i < KMAP_END / PAE_LPAGE; i++)
		kernel_pd[i] = (uint64_t)i * PAE_LPAGE | PTE_P | PTE_W | PTE_U |
			       PTE_PS;
	pdpt_a = pdpt_new();
	pdpt_b = pdpt_new();
	pae_on(pdpt_a);

	test_pae();
	test_rights();
	test_reserved();
	test_nx();
	test_modes();
	ktap_finish();
}
