/*
 * pgtable.h - paging for the test guests: the bits of page-table entries,
 * the control registers and instructions that manage them, a pool of page
 * frames, the kernel's identity map, and probes that catch page faults.
 *
 * 32-bit paging (Intel SDM Vol. 3A, 4.3) uses 4-byte entries: a page
 * directory (PD) of 1024 PDEs, each mapping 4 MiB (PS = 1, CR4.PSE = 1) or
 * naming a page table (PT) of 1024 PTEs of 4 KiB.  PAE paging (4.4) uses
 * 8-byte entries: a 4-entry PDPT at CR3, PDs of 512 PDEs (2 MiB each with
 * PS = 1) and PTs of 512 PTEs; bit 63 is XD when IA32_EFER.NXE = 1.
 *
 * The kernel map: linear = physical for [0, KMAP_END), with U = 1 and
 * W = 1 so that the runtime's code, data and stacks work at ring 0 and the
 * ring-3 tasks of user.h at ring 3, in 4 KiB pages whose page tables every
 * address space shares (kmap_pd_fill()); page 0 stays unmapped.  Frames
 * for page tables and test pages come from the pool, identity-mapped too,
 * so the kernel writes page tables through their physical addresses.
 *
 * Probes: probe_read() and friends make one access that may fault; the #PF
 * handler that paging_init() installs records the fault (pf_last) and
 * resumes after the probe, which returns 1 when it faulted.  A #PF outside
 * a probe, or one that arrives while another handler is wanted, is a bug:
 * the handler prints "Bail out!" with the error code, CR2 and EIP and ends
 * the guest with status 3, so a wrong mapping is a clear failure, not a
 * hang.
 */
#ifndef GUEST_PGTABLE_H
#define GUEST_PGTABLE_H

#include <stdint.h>

#include "trap.h"

#define PAGE_SIZE  4096u
#define PAGE_MASK  (~(PAGE_SIZE - 1))
#define LPAGE_SIZE (4u << 20) /* a 32-bit paging large page (PSE) */
#define PAE_LPAGE  (2u << 20) /* a PAE large page */

/* Entry bits shared by both formats (SDM 3A, Tables 4-4 to 4-11). */
#define PTE_P		 0x001u
#define PTE_W		 0x002u
#define PTE_U		 0x004u
#define PTE_PWT		 0x008u
#define PTE_PCD		 0x010u
#define PTE_A		 0x020u
#define PTE_D		 0x040u
#define PTE_PS		 0x080u /* in a PDE: maps a large page */
#define PTE_G		 0x100u
#define PTE_NX		 (1ull << 63) /* PAE, with EFER.NXE = 1 */
#define PDE_LARGE_RSVD21 (1u << 21)   /* reserved in a 4 MiB PDE (4.3) */

#define PTE_FRAME(e) ((e)&PAGE_MASK)

/* The #PF error code (SDM 3A 4.7, Figure 4-12). */
#define PF_P	0x01 /* 0: not present, 1: protection */
#define PF_W	0x02 /* the access was a write */
#define PF_U	0x04 /* the access was at CPL 3 */
#define PF_RSVD 0x08 /* a reserved bit was set */
#define PF_ID	0x10 /* an instruction fetch (PAE with NXE, or SMEP) */

#define CR0_WP	 (1u << 16)
#define CR0_PG	 (1u << 31)
#define CR4_PSE	 (1u << 4)
#define CR4_PAE	 (1u << 5)
#define CR4_PGE	 (1u << 7)
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1u << 11)

/* CPUID feature bits (SDM Vol. 2A, CPUID, Tables 3-11 and 3-8). */
#define CPUID_PSE (1u << 3)  /* leaf 1 EDX */
#define CPUID_PAE (1u << 6)  /* leaf 1 EDX */
#define CPUID_PGE (1u << 13) /* leaf 1 EDX */
#define CPUID_NX  (1u << 20) /* leaf 0x80000001 EDX */

/*
 * The identity-mapped kernel range; the frame pool inside it, from after
 * the image (at least POOL_START) to POOL_END; above that, four 4 MiB
 * frames for large pages, LFRAME(0) to LFRAME(3), never handed out.
 */
#define KMAP_END   (48u << 20)
#define POOL_START (4u << 20)
#define POOL_END   (32u << 20)
#define LFRAME(n)  (POOL_END + (n)*LPAGE_SIZE)

/* --- instructions ------------------------------------------------------------ */

static inline uint32_t read_cr2(void)
{
	uint32_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr3(void)
{
	uint32_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr4(void)
{
	uint32_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint32_t v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr3(uint32_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(uint32_t v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uint32_t addr)
{
	asm volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	asm volatile("cpuid"
		     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr"
		     :
		     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
		     : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* CPUID leaf 1 EDX, and leaf 0x80000001 EDX (0 where the leaf is absent). */
uint32_t cpu_features(void);
uint32_t cpu_ext_features(void);
/* MAXPHYADDR: CPUID 0x80000008 EAX[7:0], else 36 (SDM 3A 4.1.4). */
int cpu_maxphyaddr(void);

/* --- frames and the kernel map ------------------------------------------------ */

/* A zeroed page-aligned frame from the pool (Bail out! when it is empty). */
void *page_alloc(void);
/* Give a frame back to the pool. */
void page_free(void *page);
/* Frames in the pool not allocated now. */
uint32_t pages_free(void);

/*
 * Build the kernel's page tables (once) and install the #PF handler;
 * returns a fresh page directory holding the kernel map.  Paging stays off.
 */
uint32_t *paging_init(void);
/* A new PD with the kernel map and nothing else. */
uint32_t *pd_new(void);
/* Copy the kernel map's PDEs (shared page tables) into @pd. */
void kmap_pd_fill(uint32_t *pd);
/* Load @pd into CR3 and set CR0.PG and CR0.WP. */
void paging_enable(uint32_t *pd);
/* Clear CR0.PG (we run identity-mapped, so the next fetch is the same). */
void paging_disable(void);

/*
 * The PTE slot for @lin in @pd, allocating a page table (PDE P|W|U) when
 * there is none; NULL when a large page maps @lin.
 */
uint32_t *pte_slot(uint32_t *pd, uint32_t lin);
/* Map 4 KiB at @lin to @phys with @flags (PTE_P added); no TLB flush. */
void map_page(uint32_t *pd, uint32_t lin, uint32_t phys, uint32_t flags);

/* --- probes ------------------------------------------------------------------- */

/* The last #PF a probe caught. */
struct pf_record {
	uint32_t vector, error_code, cr2, eip;
	uint16_t cs;
};
extern struct pf_record pf_last;
extern volatile uint32_t pf_count; /* page faults caught by probes */
/* The last probe's access instruction (probe_exec: the called address). */
extern volatile uint32_t probe_insn;

/*
 * One access each; 0 when it completed, 1 when it faulted (pf_last says
 * how).  probe_read8/16/32 read @addr into *val; probe_write8/16/32 write
 * @val; probe_exec calls @addr, which must hold code that returns a value
 * in EAX (into *val) without touching the stack but for its RET.  They
 * work at ring 0 and ring 3.
 */
int probe_read8(uint32_t addr, uint32_t *val);
int probe_read16(uint32_t addr, uint32_t *val);
int probe_read32(uint32_t addr, uint32_t *val);
int probe_write8(uint32_t addr, uint32_t val);
int probe_write16(uint32_t addr, uint32_t val);
int probe_write32(uint32_t addr, uint32_t val);
int probe_exec(uint32_t addr, uint32_t *val);

/*
 * The runtime's #PF handler, for a guest that installs its own and back;
 * it may serve other vectors too (a #DF expected by a probe).
 */
void paging_pf_handler(struct trap_frame *f);

#endif /* GUEST_PGTABLE_H */
