/*
 * aspace - hundreds of address spaces, a fork-like copy-on-write workload
 * and CR3 switches, as a Unix kernel makes them (Intel SDM Vol. 3A,
 * chapter 4).
 *
 * Every process has its own page directory, which shares the kernel's page
 * tables (the identity map, pgtable.h), and one page table of its own for
 * its user pages at USER_BASE.  Process 0 starts with no pages; a page
 * appears, zeroed, at its first touch (a not-present #PF: "demand zero").
 * fork() gives the child a copy of the parent's page table in which every
 * page is read-only in both, each frame counted once more; a write to such
 * a page faults (#PF P|W, from ring 3 or, for the kernel writing into a
 * process as a system call does, from ring 0 with CR0.WP = 1) and the
 * handler copies the frame when others still share it, or makes it
 * writable again when this was the last sharer.  The parent's TLB is
 * flushed after fork() (4.10.4: a PTE made read-only needs it).  Processes
 * exit, their frames and tables go back to the pool, and a fork takes
 * their slot, so frames once page tables come back as data and the other
 * way round.
 *
 * The workload (procs=N rounds=N seed=S, default 300, 4, 1): process 0
 * writes its pages; procs - 1 forks from random earlier processes, each
 * child writing some pages at once; then rounds of every process in turn
 * (a CR3 switch each): at ring 3 it checks all its pages against the
 * model, rewrites two of them, and the kernel writes one more for it; some
 * exit and are replaced by new forks.  Each page write stores a new
 * version of a whole page, so the model is one version per page; a
 * copy-on-write that goes wrong shows as another process's page with a
 * version it never wrote.
 *
 * The end: every page of every process read through its own address space
 * at ring 0 and compared with the model, frames counted back into the
 * pool, and one line with the fault counts and a checksum of all the
 * memory read, the same on every engine (the workload is deterministic and
 * every TLB flush it needs is there, so no fault is spurious).
 */
#include "guest.h"

#define USER_BASE    0x40000000u
#define NPAGES	     8 /* user pages per process */
#define MAX_PROCS    400
#define MAX_FRAMES   (POOL_END / PAGE_SIZE)
#define FORK_WRITES  2 /* pages a new child writes at once */
#define EXIT_PERCENT 10

struct proc {
	int alive;
	uint32_t *pd, *pt;	  /* pt: the user page table */
	uint32_t version[NPAGES]; /* the model: 0 = never written */
	/* The model of the PTEs, kept apart from them: which pages are
	 * present and which writable, to predict every fault. */
	uint8_t present[NPAGES], writable[NPAGES];
};

static struct proc procs[MAX_PROCS];
static uint16_t refs[MAX_FRAMES]; /* mappings of each pool frame */
static uint32_t nprocs, rng_state, version_next = 1;
static int current = -1; /* whose CR3 is loaded */
static struct {
	uint32_t demand, cow_copy, cow_reuse, ring0, unexpected;
	uint32_t unexpected_err, unexpected_cr2;
} faults;
static uint32_t cr3_switches, forks, exits;
static uint32_t want_demand, want_cow; /* faults the model predicts */
static uint32_t *kpd;		       /* the kernel's own PD */

static uint32_t rnd(void)
{
	/* xorshift32 (Marsaglia 2003) */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* The word @i of a page at @version: 0 for a page never written. */
static uint32_t pattern(uint32_t version, uint32_t i)
{
	return version ? (version * 2654435761u) ^ (i * 40503u + version) : 0;
}

static uint32_t arg(const char *key, uint32_t dflt)
{
	const char *s = multiboot_cmdline();
	size_t len = strlen(key);

	for (; *s; s++)
		if ((s == multiboot_cmdline() || s[-1] == ' ') &&
		    strncmp(s, key, len) == 0 && s[len] == '=') {
			s += len + 1;
			return strtou(&s);
		}
	return dflt;
}

/* --- frames and page tables --------------------------------------------------- */

static void frame_get(uint32_t frame)
{
	refs[frame / PAGE_SIZE]++;
}

static void frame_put(uint32_t frame)
{
	if (--refs[frame / PAGE_SIZE] == 0)
		page_free((void *)frame);
}

static void switch_to(int p)
{
	if (current != p) {
		write_cr3((uint32_t)procs[p].pd);
		current = p;
		cr3_switches++;
	}
}

static void proc_new(int p)
{
	struct proc *pr = &procs[p];

	memset(pr, 0, sizeof(*pr));
	pr->alive = 1;
	pr->pd = pd_new();
	pr->pt = page_alloc();
	pr->pd[USER_BASE >> 22] = (uint32_t)pr->pt | PTE_P | PTE_W | PTE_U;
}

/* Copy-on-write: both sides read-only, each frame shared once more. */
static void fork_proc(int parent, int child)
{
	struct proc *pa = &procs[parent], *ch = &procs[child];
	int i;

	proc_new(child);
	for (i = 0; i < NPAGES; i++) {
		uint32_t pte = pa->pt[i];

		if (!(pte & PTE_P))
			continue;
		pte &= ~PTE_W;
		pa->pt[i] = pte;
		ch->pt[i] = pte & ~(PTE_A | PTE_D);
		frame_get(PTE_FRAME(pte));
		ch->version[i] = pa->version[i];
	}
	for (i = 0; i < NPAGES; i++) {
		ch->present[i] = pa->present[i];
		ch->writable[i] = pa->writable[i] = 0;
	}
	/* The parent's TLB may hold its pages writable: flush it. */
	if (current == parent)
		write_cr3((uint32_t)pa->pd);
	forks++;
}

static void exit_proc(int p)
{
	struct proc *pr = &procs[p];
	int i;

	if (current == p) {
		write_cr3((uint32_t)kpd); /* off its page directory */
		current = -1;
		cr3_switches++;
	}
	for (i = 0; i < NPAGES; i++)
		if (pr->pt[i] & PTE_P)
			frame_put(PTE_FRAME(pr->pt[i]));
	page_free(pr->pt);
	page_free(pr->pd);
	pr->alive = 0;
	exits++;
}

/* --- the page fault handler --------------------------------------------------- */

/* A #PF in the user pages of the current process; else a failure. */
static void pf_handler(struct trap_frame *f)
{
	uint32_t cr2 = read_cr2(), err = f->error_code, i, *pte, frame;
	struct proc *pr = &procs[current];

	i = (cr2 - USER_BASE) / PAGE_SIZE;
	if (current < 0 || cr2 < USER_BASE || i >= NPAGES ||
	    (err & ~(PF_P | PF_W | PF_U)) || ((err & PF_P) && !(err & PF_W))) {
		faults.unexpected++;
		faults.unexpected_err = err;
		faults.unexpected_cr2 = cr2;
		if (f->cs & 3) {
			user_abort(f, -1);
			return;
		}
		printf("Bail out! #PF error 0x%x cr2 %08x at %08x in the kernel\n",
		       err, cr2, f->eip);
		exit(1);
	}
	if (!(f->cs & 3))
		faults.ring0++;
	pte = &pr->pt[i];
	if (!(err & PF_P)) {
		/* Demand zero. */
		frame = (uint32_t)page_alloc();
		frame_get(frame);
		*pte = frame | PTE_P | PTE_W | PTE_U;
		faults.demand++;
	} else if (refs[PTE_FRAME(*pte) / PAGE_SIZE] > 1) {
		/* Shared: copy it. */
		frame = (uint32_t)page_alloc();
		memcpy((void *)frame, (void *)PTE_FRAME(*pte), PAGE_SIZE);
		frame_put(PTE_FRAME(*pte));
		frame_get(frame);
		*pte = frame | PTE_P | PTE_W | PTE_U;
		faults.cow_copy++;
	} else {
		/* The last sharer: writable again. */
		*pte |= PTE_W;
		faults.cow_reuse++;
	}
	/* Not-present to present needs no flush, read-only to writable does
	 * (a spurious fault otherwise, 4.10.4.3). */
	invlpg(cr2);
}

/* --- what a process does at ring 3 ----------------------------------------------- */

/* The request to the ring-3 step, in kernel memory it may read. */
static struct {
	const uint32_t *version; /* expected versions, NPAGES */
	uint32_t write_page[2], write_version[2];
	int nwrites;
} step;

/* Ring 3: check every page, then write the pages asked; returns errors. */
static int step_task(void *arg)
{
	volatile uint32_t *page;
	uint32_t p, i, bad = 0;
	int w;

	(void)arg;
	for (p = 0; p < NPAGES; p++) {
		page = (volatile uint32_t *)(USER_BASE + p * PAGE_SIZE);
		for (i = 0; i < PAGE_SIZE / 4; i++)
			bad += page[i] != pattern(step.version[p], i);
	}
	for (w = 0; w < step.nwrites; w++) {
		page = (volatile uint32_t *)(USER_BASE +
					     step.write_page[w] * PAGE_SIZE);
		for (i = 0; i < PAGE_SIZE / 4; i++)
			page[i] = pattern(step.write_version[w], i);
	}
	return bad;
}

/* The model: process @p reads all its pages, then writes page @pg. */
static void model_read_all(struct proc *pr)
{
	int i;

	for (i = 0; i < NPAGES; i++)
		if (!pr->present[i]) {
			want_demand++;
			pr->present[i] = pr->writable[i] = 1;
		}
}

static void model_write(struct proc *pr, uint32_t pg)
{
	if (!pr->present[pg]) {
		want_demand++;
		pr->present[pg] = 1;
	} else if (!pr->writable[pg]) {
		want_cow++;
	}
	pr->writable[pg] = 1;
}

/* Kernel: write page @pg of the current process, as a system call would. */
static void kernel_write(int p, uint32_t pg)
{
	volatile uint32_t *page =
		(volatile uint32_t *)(USER_BASE + pg * PAGE_SIZE);
	uint32_t v = version_next++, i;

	model_write(&procs[p], pg);
	for (i = 0; i < PAGE_SIZE / 4; i++)
		page[i] = pattern(v, i);
	procs[p].version[pg] = v;
}

/* Run process @p: check, @nwrites page rewrites at ring 3, one by the
 * kernel when @kwrite; returns the words that were wrong. */
static int run_proc(int p, int nwrites, int kwrite)
{
	struct proc *pr = &procs[p];
	int w, bad;

	switch_to(p);
	step.version = pr->version;
	step.nwrites = nwrites;
	for (w = 0; w < nwrites; w++) {
		step.write_page[w] = rnd() % NPAGES;
		step.write_version[w] = version_next++;
	}
	bad = user_run(step_task, NULL);
	model_read_all(pr);
	for (w = 0; w < nwrites; w++) {
		pr->version[step.write_page[w]] = step.write_version[w];
		model_write(pr, step.write_page[w]);
	}
	if (kwrite)
		kernel_write(p, rnd() % NPAGES);
	return bad;
}

/* A random living process below @limit. */
static int random_proc(uint32_t limit)
{
	uint32_t p;

	do
		p = rnd() % limit;
	while (!procs[p].alive);
	return p;
}

int main(void)
{
	uint32_t rounds, r, p, i, pg, sum = 0, bad = 0, bad_final = 0;
	uint32_t free_before, in_use = 0;

	nprocs = arg("procs", 300);
	rounds = arg("rounds", 4);
	rng_state = arg("seed", 1) | 1;
	if (nprocs < 2 || nprocs > MAX_PROCS)
		nprocs = 300;

	ktap_plan(6);
	pic_init(); /* the BIOS's PIC sends IRQ 0 to vector 8: mask it */
	user_init();
	kpd = paging_init();
	trap_set_handler(VEC_PF, pf_handler);
	free_before = pages_free();
	proc_new(0);
	paging_enable(procs[0].pd);
	current = 0;

	/* Process 0 touches every page, then the forks. */
	bad += run_proc(0, 2, 0);
	for (pg = 0; pg < NPAGES; pg++)
		kernel_write(0, pg);
	for (p = 1; p < nprocs; p++) {
		fork_proc(random_proc(p), p);
		bad += run_proc(p, FORK_WRITES, 0);
	}
	ok(bad == 0 && !faults.unexpected && forks == nprocs - 1,
	   "%u processes forked, each child's pages as its parent's", nprocs);

	/* Rounds: every process runs; some exit and a fork takes the slot. */
	for (r = 0; r < rounds; r++)
		for (p = 0; p < nprocs; p++) {
			bad += run_proc(p, 2, 1);
			if (p && rnd() % 100 < EXIT_PERCENT) {
				exit_proc(p);
				fork_proc(random_proc(nprocs), p);
			}
		}
	ok(bad == 0 && !faults.unexpected,
	   "%u rounds over every process, with exits and new forks: every "
	   "page as the model says at every check",
	   rounds);
	if (faults.unexpected)
		ktap_diag("unexpected #PF: error %#x cr2 %#x",
			  faults.unexpected_err, faults.unexpected_cr2);

	/* The end: everything read back through each address space. */
	for (p = 0; p < nprocs; p++) {
		switch_to(p);
		for (pg = 0; pg < NPAGES; pg++) {
			const uint32_t *page =
				(const uint32_t *)(USER_BASE + pg * PAGE_SIZE);

			for (i = 0; i < PAGE_SIZE / 4; i++) {
				bad_final += page[i] !=
					     pattern(procs[p].version[pg], i);
				sum = sum * 31 + page[i];
			}
		}
	}
	ok(bad_final == 0 && !faults.unexpected,
	   "every page of every process read back at ring 0 through its own "
	   "address space");
	ok(faults.ring0 > 0 && faults.cow_copy > 0 && faults.cow_reuse > 0 &&
		   faults.demand > 0 && cr3_switches >= nprocs * rounds,
	   "copy-on-write faults from ring 3 and ring 0, demand-zero faults, "
	   "CR3 switches all happened");

	ok(faults.demand == want_demand &&
		   faults.cow_copy + faults.cow_reuse == want_cow,
	   "the faults the model predicts: %u demand-zero, %u copy-on-write "
	   "(%u copies, %u reuses), %u of them from ring 0",
	   want_demand, want_cow, faults.cow_copy, faults.cow_reuse,
	   faults.ring0);
	if (faults.demand != want_demand ||
	    faults.cow_copy + faults.cow_reuse != want_cow)
		ktap_diag("seen %u demand-zero, %u copy-on-write",
			  faults.demand, faults.cow_copy + faults.cow_reuse);

	/* Every frame comes back: the sharing was counted right. */
	for (p = 0; p < nprocs; p++)
		if (procs[p].alive)
			exit_proc(p);
	for (i = 0; i < MAX_FRAMES; i++)
		in_use += refs[i];
	ok(in_use == 0 && pages_free() == free_before,
	   "after every exit, every frame is back in the pool; %u forks, "
	   "%u exits, %u CR3 switches, checksum %08x",
	   forks, exits, cr3_switches, sum);
	ktap_finish();
}
