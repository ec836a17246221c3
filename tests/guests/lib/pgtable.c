/*
 * pgtable.c - the frame pool, the kernel's identity map, and the #PF probes
 * (pgtable.h).
 */
#include "guest.h"

extern char _end[];

struct pf_record pf_last;
volatile uint32_t pf_count;
/* Where the #PF handler resumes the probe that is running; 0: none. */
volatile uint32_t probe_resume;
volatile uint32_t probe_insn;

/* --- CPUID -------------------------------------------------------------------- */

uint32_t cpu_features(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return d;
}

static uint32_t cpu_ext_max(void)
{
	uint32_t a, b, c, d;

	cpuid(0x80000000u, &a, &b, &c, &d);
	return (a & 0xffff0000u) == 0x80000000u ? a : 0;
}

uint32_t cpu_ext_features(void)
{
	uint32_t a, b, c, d;

	if (cpu_ext_max() < 0x80000001u)
		return 0;
	cpuid(0x80000001u, &a, &b, &c, &d);
	return d;
}

int cpu_maxphyaddr(void)
{
	uint32_t a, b, c, d;

	if (cpu_ext_max() < 0x80000008u)
		return 36;
	cpuid(0x80000008u, &a, &b, &c, &d);
	return a & 0xff;
}

/* --- the frame pool ----------------------------------------------------------- */

static uint32_t pool_next;	/* first frame never handed out */
static uint32_t *free_list;	/* frames given back, linked through word 0 */
static uint32_t nr_free_listed; /* frames on free_list */

static uint32_t pool_start(void)
{
	uint32_t end = ((uint32_t)_end + PAGE_SIZE - 1) & PAGE_MASK;

	return end > POOL_START ? end : POOL_START;
}

void *page_alloc(void)
{
	uint32_t *p;

	if (!pool_next)
		pool_next = pool_start();
	if (free_list) {
		p = free_list;
		free_list = (uint32_t *)p[0];
		nr_free_listed--;
	} else if (pool_next < POOL_END) {
		p = (uint32_t *)pool_next;
		pool_next += PAGE_SIZE;
	} else {
		printf("Bail out! the page pool is empty\n");
		exit(1);
	}
	memset(p, 0, PAGE_SIZE);
	return p;
}

void page_free(void *page)
{
	uint32_t *p = page;

	p[0] = (uint32_t)free_list;
	free_list = p;
	nr_free_listed++;
}

uint32_t pages_free(void)
{
	if (!pool_next)
		pool_next = pool_start();
	return (POOL_END - pool_next) / PAGE_SIZE + nr_free_listed;
}

/* --- page tables ---------------------------------------------------------------- */

/* The kernel map's PDEs: one shared page table per 4 MiB of [0, KMAP_END). */
static uint32_t kmap_pde[KMAP_END / LPAGE_SIZE];

void kmap_pd_fill(uint32_t *pd)
{
	uint32_t i;

	for (i = 0; i < KMAP_END / LPAGE_SIZE; i++)
		pd[i] = kmap_pde[i];
}

uint32_t *pd_new(void)
{
	uint32_t *pd = page_alloc();

	kmap_pd_fill(pd);
	return pd;
}

uint32_t *paging_init(void)
{
	uint32_t i, a;

	if (!kmap_pde[0]) {
		for (i = 0; i < KMAP_END / LPAGE_SIZE; i++) {
			uint32_t *pt = page_alloc();

			kmap_pde[i] = (uint32_t)pt | PTE_P | PTE_W | PTE_U;
			for (a = 0; a < 1024; a++)
				pt[a] = (i * LPAGE_SIZE + a * PAGE_SIZE) |
					PTE_P | PTE_W | PTE_U;
		}
		/* Page 0 stays unmapped: a null pointer faults. */
		((uint32_t *)PTE_FRAME(kmap_pde[0]))[0] = 0;
	}
	trap_set_handler(VEC_PF, paging_pf_handler);
	return pd_new();
}

void paging_enable(uint32_t *pd)
{
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

void paging_disable(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
}

uint32_t *pte_slot(uint32_t *pd, uint32_t lin)
{
	uint32_t *pde = &pd[lin >> 22];

	if (*pde & PTE_PS)
		return NULL;
	if (!(*pde & PTE_P))
		*pde = (uint32_t)page_alloc() | PTE_P | PTE_W | PTE_U;
	return &((uint32_t *)PTE_FRAME(*pde))[(lin >> 12) & 1023];
}

void map_page(uint32_t *pd, uint32_t lin, uint32_t phys, uint32_t flags)
{
	uint32_t *pte = pte_slot(pd, lin);

	if (!pte) {
		printf("Bail out! map_page(%08x): a large page maps it\n", lin);
		exit(1);
	}
	*pte = PTE_FRAME(phys) | flags | PTE_P;
}

/* --- probes ------------------------------------------------------------------- */

void paging_pf_handler(struct trap_frame *f)
{
	uint32_t cr2 = read_cr2();

	if (!probe_resume) {
		printf("Bail out! unexpected #PF error 0x%x cr2 %08x at %04x:%08x\n",
		       f->error_code, cr2, f->cs, f->eip);
		exit(1);
	}
	pf_last.vector = f->vector;
	pf_last.error_code = f->error_code;
	pf_last.cr2 = cr2;
	pf_last.eip = f->eip;
	pf_last.cs = f->cs;
	pf_count++;
	f->eip = probe_resume;
	probe_resume = 0;
}

/*
 * One access between "probe_resume = the recovery label" and
 * "probe_resume = 0"; the handler resumes a faulting access at the label
 * with every register as it was, so the access's operands are intact.
 */
#define PROBE_ACCESS(insn, out, in)               \
	asm volatile("movl $1f, probe_resume\n\t" \
		     "movl $3f, probe_insn\n\t"   \
		     "xorl %1, %1\n"              \
		     "3:\t" insn "\n\t"           \
		     "movl $0, probe_resume\n\t"  \
		     "jmp 2f\n"                   \
		     "1:\n\t"                     \
		     "movl $1, %1\n"              \
		     "2:"                         \
		     : "=&r"(out), "=&r"(faulted) \
		     : "r"(addr), "r"(in)         \
		     : "memory", "cc")

int probe_read8(uint32_t addr, uint32_t *val)
{
	uint32_t v = 0, faulted;

	PROBE_ACCESS("movzbl (%2), %0", v, 0);
	*val = v;
	return faulted;
}

int probe_read16(uint32_t addr, uint32_t *val)
{
	uint32_t v = 0, faulted;

	PROBE_ACCESS("movzwl (%2), %0", v, 0);
	*val = v;
	return faulted;
}

int probe_read32(uint32_t addr, uint32_t *val)
{
	uint32_t v = 0, faulted;

	PROBE_ACCESS("movl (%2), %0", v, 0);
	*val = v;
	return faulted;
}

int probe_write8(uint32_t addr, uint32_t val)
{
	uint32_t dummy, faulted;
	uint32_t in = val & 0xff;

	/* "q": a register with a byte form (EAX..EDX). */
	asm volatile("movl $1f, probe_resume\n\t"
		     "movl $3f, probe_insn\n\t"
		     "xorl %1, %1\n"
		     "3:\tmovb %b3, (%2)\n\t"
		     "movl $0, probe_resume\n\t"
		     "jmp 2f\n"
		     "1:\n\t"
		     "movl $1, %1\n"
		     "2:"
		     : "=&r"(dummy), "=&r"(faulted)
		     : "r"(addr), "q"(in)
		     : "memory", "cc");
	(void)dummy;
	return faulted;
}

int probe_write16(uint32_t addr, uint32_t val)
{
	uint32_t dummy, faulted;

	PROBE_ACCESS("movw %w3, (%2)", dummy, val);
	(void)dummy;
	return faulted;
}

int probe_write32(uint32_t addr, uint32_t val)
{
	uint32_t dummy, faulted;

	PROBE_ACCESS("movl %3, (%2)", dummy, val);
	(void)dummy;
	return faulted;
}

int probe_exec(uint32_t addr, uint32_t *val)
{
	uint32_t v = 0, faulted;

	/*
	 * A fetch fault at the target leaves CALL's return address on the
	 * stack: the recovery path drops it.
	 */
	asm volatile("movl $1f, probe_resume\n\t"
		     "movl %2, probe_insn\n\t"
		     "xorl %1, %1\n\t"
		     "call *%2\n\t"
		     "movl $0, probe_resume\n\t"
		     "jmp 2f\n"
		     "1:\n\t"
		     "addl $4, %%esp\n\t"
		     "movl $1, %1\n"
		     "2:"
		     : "=&a"(v), "=&r"(faulted)
		     : "r"(addr)
		     : "memory", "cc", "ecx", "edx");
	*val = v;
	return faulted;
}
