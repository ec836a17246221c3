/*
 * bench_paging - the cost of paging operations a VMM must virtualize, for
 * `make bench` (the nanobenchmarks of Adams & Agesen, ASPLOS 2006:
 * pgfault, ptemod, a CR3 switch, fork).
 *
 * "op=OP iterations=N" picks one, all at ring 0 with 32-bit paging on:
 *
 *	pf      N reads of a not-present page, each a #PF delivered to the
 *		guest's handler, which steps over the 2-byte MOV and IRETs
 *	ptemod  N times: a PTE pointed at the other of two frames, INVLPG, a
 *		read through it (the frame's tag checked)
 *	cr3     N MOV CR3, alternately to two address spaces, each followed by
 *		a read of a page that maps another frame in each (checked)
 *	fork    N forks of a 16-page address space: a page directory and table
 *		for the child sharing the pages copy-on-write (read-only in
 *		both), MOV CR3 to it, a write to each page (16 #PF, each
 *		copying the page), MOV CR3 back, the child's frames and tables
 *		freed
 *
 * The loop runs between the BENCH_MARK_BEGIN and _END writes to the test
 * device, as in bench_cpu.  The guest checks that every operation did its
 * work and prints "bench_paging: op=OP iterations=N cycles=0xC", C the
 * TSC cycles the loop took (RDTSC after the first marker and before the
 * second); tests/bench shows them beside the wall-time figures.  An
 * unknown op: status 3.
 */
#include "guest.h"

#define DEFAULT_ITERATIONS 10000
#define T_LIN		   0x40000000u
#define FORK_BASE	   0x40400000u
#define FORK_PAGES	   16

static uint32_t *pd_a, *pd_b;
static volatile uint32_t pf_hits;
static uint64_t tsc_begin, tsc_end;

/* The loop's bounds: the test-device markers and the TSC. */
static void mark_begin(void)
{
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	tsc_begin = rdtsc();
}

static void mark_end(void)
{
	tsc_end = rdtsc();
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
}

static const char *arg(const char *key)
{
	const char *s = multiboot_cmdline();
	size_t len = strlen(key);

	for (; *s; s++)
		if ((s == multiboot_cmdline() || s[-1] == ' ') &&
		    strncmp(s, key, len) == 0 && s[len] == '=')
			return s + len + 1;
	return NULL;
}

static int value_is(const char *s, const char *word)
{
	size_t len = strlen(word);

	return s && strncmp(s, word, len) == 0 &&
	       (s[len] == '\0' || s[len] == ' ');
}

static uint32_t frame_new(uint32_t tag)
{
	uint32_t *p = page_alloc();

	p[0] = tag;
	return (uint32_t)p;
}

/* --- pf ------------------------------------------------------------------------- */

static void skip_mov(struct trap_frame *f)
{
	pf_hits++;
	f->eip += 2; /* movl (%eax), %ecx: 8b 08 */
}

static int bench_pf(uint32_t n)
{
	uint32_t i;

	trap_set_handler(VEC_PF, skip_mov);
	mark_begin();
	for (i = 0; i < n; i++)
		asm volatile("movl (%%eax), %%ecx"
			     :
			     : "a"(T_LIN)
			     : "ecx", "memory");
	mark_end();
	trap_set_handler(VEC_PF, paging_pf_handler);
	if (pf_hits != n) {
		printf("bench_paging: %u reads, %u page faults\n", n, pf_hits);
		return 1;
	}
	return 0;
}

/* --- ptemod ---------------------------------------------------------------------- */

static int bench_ptemod(uint32_t n)
{
	uint32_t f[2] = { frame_new(0), frame_new(1) }, i, wrong = 0;
	uint32_t *pte;

	map_page(pd_a, T_LIN, f[1], PTE_W);
	pte = pte_slot(pd_a, T_LIN);
	mark_begin();
	for (i = 0; i < n; i++) {
		*pte = f[i & 1] | PTE_P | PTE_W;
		invlpg(T_LIN);
		wrong += *(volatile uint32_t *)T_LIN != (i & 1);
	}
	mark_end();
	if (wrong) {
		printf("bench_paging: %u of %u reads after a PTE change wrong\n",
		       wrong, n);
		return 1;
	}
	return 0;
}

/* --- cr3 ---------------------------------------------------------------------------- */

static int bench_cr3(uint32_t n)
{
	uint32_t i, wrong = 0;

	map_page(pd_a, T_LIN, frame_new(0), PTE_W);
	map_page(pd_b, T_LIN, frame_new(1), PTE_W);
	mark_begin();
	for (i = 0; i < n; i++) {
		write_cr3((uint32_t)(i & 1 ? pd_b : pd_a));
		wrong += *(volatile uint32_t *)T_LIN != (i & 1);
	}
	mark_end();
	write_cr3((uint32_t)pd_a);
	if (wrong) {
		printf("bench_paging: %u of %u reads after MOV CR3 wrong\n",
		       wrong, n);
		return 1;
	}
	return 0;
}

/* --- fork ----------------------------------------------------------------------------- */

static uint32_t *child_pt;
static volatile uint32_t cow_faults;

/* Copy-on-write in the child: every shared page is copied. */
static void cow_fault(struct trap_frame *f)
{
	uint32_t cr2 = read_cr2(), i = (cr2 - FORK_BASE) / PAGE_SIZE, frame;

	if (f->error_code != (PF_P | PF_W) || cr2 < FORK_BASE ||
	    i >= FORK_PAGES) {
		printf("Bail out! #PF error 0x%x cr2 %08x at %08x\n",
		       f->error_code, cr2, f->eip);
		exit(1);
	}
	frame = (uint32_t)page_alloc();
	memcpy((void *)frame, (void *)PTE_FRAME(child_pt[i]), PAGE_SIZE);
	child_pt[i] = frame | PTE_P | PTE_W;
	invlpg(cr2);
	cow_faults++;
}

static int bench_fork(uint32_t n)
{
	uint32_t *parent_pt = page_alloc(), *pd, i, p, wrong = 0;
	volatile uint32_t *page;

	pd_a[FORK_BASE >> 22] = (uint32_t)parent_pt | PTE_P | PTE_W;
	for (p = 0; p < FORK_PAGES; p++)
		parent_pt[p] = frame_new(p) | PTE_P; /* read-only already */
	write_cr3((uint32_t)pd_a);
	trap_set_handler(VEC_PF, cow_fault);
	mark_begin();
	for (i = 0; i < n; i++) {
		/* fork: the child shares every page, read-only */
		pd = pd_new();
		child_pt = page_alloc();
		pd[FORK_BASE >> 22] = (uint32_t)child_pt | PTE_P | PTE_W;
		for (p = 0; p < FORK_PAGES; p++)
			child_pt[p] = parent_pt[p];
		write_cr3((uint32_t)pd);
		for (p = 0; p < FORK_PAGES; p++) {
			page = (volatile uint32_t *)(FORK_BASE + p * PAGE_SIZE);
			page[1] = i;
			wrong += page[0] != p;
		}
		write_cr3((uint32_t)pd_a);
		/* exit: the copies, the table, the directory */
		for (p = 0; p < FORK_PAGES; p++)
			page_free((void *)PTE_FRAME(child_pt[p]));
		page_free(child_pt);
		page_free(pd);
	}
	mark_end();
	trap_set_handler(VEC_PF, paging_pf_handler);
	for (p = 0; p < FORK_PAGES; p++)
		wrong += ((uint32_t *)PTE_FRAME(parent_pt[p]))[1] != 0;
	if (wrong || cow_faults != n * FORK_PAGES) {
		printf("bench_paging: %u wrong words, %u copy-on-write faults "
		       "for %u forks\n",
		       wrong, cow_faults, n);
		return 1;
	}
	return 0;
}

int main(void)
{
	const char *op = arg("op"), *s = arg("iterations");
	uint32_t n = s ? strtou(&s) : 0;
	int bad;

	if (!n)
		n = DEFAULT_ITERATIONS;
	pic_init();
	pd_a = paging_init();
	pd_b = pd_new();
	paging_enable(pd_a);

	if (value_is(op, "pf"))
		bad = bench_pf(n);
	else if (value_is(op, "ptemod"))
		bad = bench_ptemod(n);
	else if (value_is(op, "cr3"))
		bad = bench_cr3(n);
	else if (value_is(op, "fork"))
		bad = bench_fork(n);
	else {
		printf("bench_paging: op=pf|ptemod|cr3|fork iterations=N\n");
		return 1;
	}
	if (bad)
		return 1;
	printf("bench_paging: op=%s iterations=%u cycles=0x%llx\n",
	       value_is(op, "pf")	? "pf"
	       : value_is(op, "ptemod") ? "ptemod"
	       : value_is(op, "cr3")	? "cr3"
					: "fork",
	       n, (unsigned long long)(tsc_end - tsc_begin));
	return 0;
}
