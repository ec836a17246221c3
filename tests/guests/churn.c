/*
 * churn - a long run of page-table churn against a model of memory: the
 * stress test of a shadow page table (Intel SDM Vol. 3A, chapter 4).
 *
 * NSPACES address spaces share the kernel map (pgtable.h) and each has two
 * regions of NLIN / 2 pages, in page tables of their own, over a pool of
 * NFRAMES data frames whose every word the model knows.  A seeded random
 * sequence of operations (ops=N seed=S; default 100000 and 1):
 *
 *   map, unmap, remap, protect   write one PTE of any address space (W and
 *               U random, A and D clear), flushed with INVLPG when the
 *               space is the current one, or, as often, not flushed: that
 *               page is then "stale" and not touched until a flush
 *               (4.10.4.3: the TLB may keep the old entry); other spaces
 *               need no flush, MOV CR3 to them flushes
 *   replace     a region's page table copied to a fresh one (A and D
 *               clear), or replaced by an empty one, and the old one freed
 *   switch      MOV CR3 to another space; flush: MOV CR3 to the same
 *   read, write one word at a random offset at ring 0 or (one in eight)
 *               ring 3: a mapped page gives the model's value, or takes the
 *               write and the model follows; an unmapped, read-only or
 *               supervisor page faults with the exact error code and CR2
 *               and memory stays as it was; after every access A (and, for
 *               a write, D) is set in the PTE in memory (4.8)
 *   exec        code written into a mapped frame through its physical
 *               (identity) address and run through the churned linear one
 *
 * At the end every frame is read through the identity map and compared
 * word for word with the model, and a checksum of them is printed: the same
 * on every engine, as nothing the run does is timing-dependent.  The
 * first few disagreements are shown as diagnostics with the operation's
 * number, so that a failure can be replayed with ops= set just past it.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

#define NSPACES	  16
#define NLIN	  128 /* pages per space: two regions of 64 */
#define REGION(r) ((r) ? 0x80000000u : 0x40000000u)
#define NFRAMES	  256
#define NONE	  0xffff
#define MAX_DIAGS 8

static uint32_t *pd[NSPACES];
static uint32_t *pt[NSPACES][2];
static uint32_t frame_addr[NFRAMES];
static uint32_t model[NFRAMES][PAGE_SIZE / 4];

/* The model's view of each PTE. */
static struct {
	uint16_t frame; /* NONE: not present */
	uint8_t flags;	/* PTE_W | PTE_U */
} pte_model[NSPACES][NLIN];
static uint8_t stale[NLIN]; /* of the current space: PTE changed, no flush */
static int cur;		    /* the current space */

static uint32_t rng_state, op_no, errors, diags;
static struct {
	uint32_t reads, writes, faults, execs, user, maps, unmaps, remaps,
		protects, replaces, switches, flushes, invlpgs, stale_skips;
} n;

static uint32_t rnd(void)
{
	/* xorshift32 (Marsaglia 2003) */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
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

static void error(const char *what, uint32_t lin, uint32_t got, uint32_t want)
{
	errors++;
	if (diags++ < MAX_DIAGS)
		ktap_diag("op %u (space %d): %s at %08x: got %#x, expected %#x",
			  op_no, cur, what, lin, got, want);
}

static uint32_t lin_of(uint32_t l)
{
	return REGION(l / (NLIN / 2)) + (l % (NLIN / 2)) * PAGE_SIZE;
}

static uint32_t *pte_ptr(int s, uint32_t l)
{
	return &pt[s][l / (NLIN / 2)][l % (NLIN / 2)];
}

/* After a PTE of space @s changed: flush it now, or leave it stale. */
static void changed(int s, uint32_t l)
{
	if (s != cur)
		return; /* MOV CR3 to it will flush */
	if (rnd() & 1) {
		invlpg(lin_of(l));
		stale[l] = 0;
		n.invlpgs++;
	} else {
		stale[l] = 1;
	}
}

static void flush_all(void)
{
	write_cr3((uint32_t)pd[cur]);
	memset(stale, 0, sizeof(stale));
}

/* --- page-table operations ------------------------------------------------------- */

static void set_pte(int s, uint32_t l, uint32_t f, uint8_t flags)
{
	pte_model[s][l].frame = f;
	pte_model[s][l].flags = flags;
	*pte_ptr(s, l) = f == NONE ? 0 : frame_addr[f] | flags | PTE_P;
	changed(s, l);
}

static void op_map(void)
{
	int s = rnd() % NSPACES;
	uint32_t l = rnd() % NLIN, flags = 0, r = rnd();

	/* Three in four pages writable, three in four user pages. */
	if (r & 3)
		flags |= PTE_W;
	if (r & 12)
		flags |= PTE_U;
	/* A mapped page is unmapped one time in four: some 80% are mapped. */
	if (pte_model[s][l].frame == NONE) {
		set_pte(s, l, rnd() % NFRAMES, flags);
		n.maps++;
	} else if ((r & 48) == 0) {
		set_pte(s, l, NONE, 0);
		n.unmaps++;
	} else if (r & 64) {
		set_pte(s, l, rnd() % NFRAMES, pte_model[s][l].flags);
		n.remaps++;
	} else {
		set_pte(s, l, pte_model[s][l].frame, flags);
		n.protects++;
	}
}

/* A region's page table copied to a new one, or replaced by an empty one. */
static void op_replace(void)
{
	int s = rnd() % NSPACES, r = rnd() % 2, i;
	uint32_t *old = pt[s][r], *new = page_alloc();
	int drop = rnd() % 16 == 0;

	for (i = 0; i < NLIN / 2; i++) {
		uint32_t l = r * (NLIN / 2) + i;

		if (drop)
			pte_model[s][l].frame = NONE;
		else
			new[i] = old[i] & ~(PTE_A | PTE_D);
	}
	pd[s][REGION(r) >> 22] = (uint32_t) new | PTE_P | PTE_W | PTE_U;
	pt[s][r] = new;
	/* A new table means a flush of the whole region (or a stale one). */
	if (s == cur) {
		if (rnd() & 1) {
			flush_all();
			n.flushes++;
		} else {
			for (i = 0; i < NLIN / 2; i++)
				stale[r * (NLIN / 2) + i] = 1;
		}
	}
	page_free(old);
	n.replaces++;
}

/* --- accesses ------------------------------------------------------------------------ */

/* Ring 3 does one probe for the kernel. */
static struct {
	int write;
	uint32_t addr, val, faulted;
} uacc;

static int user_access(void *arg)
{
	(void)arg;
	if (uacc.write)
		uacc.faulted = probe_write32(uacc.addr, uacc.val);
	else
		uacc.faulted = probe_read32(uacc.addr, &uacc.val);
	return 0;
}

/* The error code the access must fault with, or -1 for none. */
static int want_fault(uint32_t l, int write, int user)
{
	uint16_t f = pte_model[cur][l].frame;
	uint8_t flags = pte_model[cur][l].flags;
	int err = (write ? PF_W : 0) | (user ? PF_U : 0);

	if (f == NONE)
		return err;
	if ((user && !(flags & PTE_U)) || (write && !(flags & PTE_W)))
		return err | PF_P; /* CR0.WP = 1: ring 0 too */
	return -1;
}

static void op_access(int write)
{
	uint32_t l = rnd() % NLIN, w = rnd() % (PAGE_SIZE / 4);
	uint32_t lin = lin_of(l) + w * 4, val = rnd(), got = 0, pte;
	int user = rnd() % 8 == 0, faulted, want = want_fault(l, write, user);
	uint16_t f = pte_model[cur][l].frame;

	if (stale[l]) {
		n.stale_skips++;
		return;
	}
	if (user) {
		uacc.write = write;
		uacc.addr = lin;
		uacc.val = val;
		user_run(user_access, NULL);
		faulted = uacc.faulted;
		got = uacc.val;
		n.user++;
	} else if (write) {
		faulted = probe_write32(lin, val);
	} else {
		faulted = probe_read32(lin, &got);
	}
	write ? n.writes++ : n.reads++;
	if (want >= 0) {
		if (!faulted) {
			error(write ? "write did not fault"
				    : "read did not fault",
			      lin, 0, want);
			return;
		}
		n.faults++;
		if (pf_last.error_code != (uint32_t)want || pf_last.cr2 != lin)
			error("fault error code (cr2 in the diagnostic's address)",
			      pf_last.cr2, pf_last.error_code, want);
		return;
	}
	if (faulted) {
		error("unexpected fault, error code", lin, pf_last.error_code,
		      0);
		return;
	}
	if (write)
		model[f][w] = val;
	else if (got != model[f][w])
		error("read", lin, got, model[f][w]);
	pte = *pte_ptr(cur, l);
	if (!(pte & PTE_A) || (write && !(pte & PTE_D)))
		error(write ? "A and D after a write, PTE"
			    : "A after a read, PTE",
		      lin, pte, pte | PTE_A | (write ? PTE_D : 0));
}

static void op_exec(void)
{
	uint32_t l = rnd() % NLIN, o = rnd() % (PAGE_SIZE - 8), imm = rnd();
	uint32_t lin = lin_of(l) + o, got, i;
	uint16_t f = pte_model[cur][l].frame;
	uint8_t *code, *m;

	if (stale[l])
		return;
	n.execs++;
	if (f == NONE) {
		if (!probe_exec(lin, &got))
			error("exec of an unmapped page did not fault", lin, 0,
			      0);
		else if (pf_last.error_code != 0 || pf_last.cr2 != lin)
			error("exec fault error code", pf_last.cr2,
			      pf_last.error_code, 0);
		else
			n.faults++;
		return;
	}
	/* MOV EAX, imm32; RET, through the frame's physical address. */
	code = (uint8_t *)frame_addr[f] + o;
	m = (uint8_t *)model[f] + o;
	code[0] = 0xb8;
	memcpy(code + 1, &imm, 4);
	code[5] = 0xc3;
	for (i = 0; i < 6; i++)
		m[i] = code[i];
	if (probe_exec(lin, &got))
		error("exec faulted, error code", lin, pf_last.error_code, 0);
	else if (got != imm)
		error("exec result", lin, got, imm);
	else if (!(*pte_ptr(cur, l) & PTE_A))
		error("A after exec, PTE", lin, *pte_ptr(cur, l), PTE_A);
}

static void op_invlpg(void)
{
	uint32_t l = rnd() % NLIN;

	invlpg(lin_of(l));
	stale[l] = 0;
	n.invlpgs++;
}

static void op_switch(void)
{
	int s = rnd() % NSPACES;

	if (s == cur) {
		n.flushes++;
	} else {
		cur = s;
		n.switches++;
	}
	flush_all();
}

static NOINLINE void churn(uint32_t ops)
{
	uint32_t r;

	for (op_no = 0; op_no < ops; op_no++) {
		r = rnd() % 100;
		if (r < 30)
			op_access(0);
		else if (r < 55)
			op_access(1);
		else if (r < 85)
			op_map();
		else if (r < 88)
			op_exec();
		else if (r < 89)
			op_replace();
		else if (r < 95)
			op_switch();
		else
			op_invlpg();
	}
}

int main(void)
{
	uint32_t ops = arg("ops", 100000), i, w, sum = 0, bad = 0, free0;
	int s;

	rng_state = arg("seed", 1) | 1;
	ktap_plan(4);
	pic_init(); /* the BIOS's PIC sends IRQ 0 to vector 8: mask it */
	user_init();
	paging_init();
	for (i = 0; i < NFRAMES; i++) {
		uint32_t *p = page_alloc();

		frame_addr[i] = (uint32_t)p;
		for (w = 0; w < PAGE_SIZE / 4; w++)
			p[w] = model[i][w] = i * 0x10001u ^ w * 2654435761u;
	}
	for (s = 0; s < NSPACES; s++) {
		pd[s] = pd_new();
		for (i = 0; i < 2; i++) {
			pt[s][i] = page_alloc();
			pd[s][REGION(i) >> 22] = (uint32_t)pt[s][i] | PTE_P |
						 PTE_W | PTE_U;
		}
		for (i = 0; i < NLIN; i++)
			pte_model[s][i].frame = NONE;
	}
	free0 = pages_free();
	cur = 0;
	paging_enable(pd[0]);

	churn(ops);

	ok(errors == 0,
	   "%u operations over %d address spaces and %d frames: "
	   "every access as the model says",
	   ops, NSPACES, NFRAMES);
	ok(n.faults > 0 && n.user > 0 && n.switches > 0 && n.replaces > 0 &&
		   n.execs > 0 && n.stale_skips > 0,
	   "faults, ring-3 accesses, CR3 switches, table replacements, code "
	   "and unflushed entries all happened");
	for (i = 0; i < NFRAMES; i++) {
		const uint32_t *p = (const uint32_t *)frame_addr[i];

		for (w = 0; w < PAGE_SIZE / 4; w++) {
			bad += p[w] != model[i][w];
			sum = sum * 31 + p[w];
		}
	}
	ok(bad == 0,
	   "every word of the %d frames equals the model's; "
	   "checksum %08x",
	   NFRAMES, sum);
	ok(pages_free() == free0,
	   "%u reads, %u writes, %u faults, %u maps, %u unmaps, %u remaps, "
	   "%u protects, %u tables replaced, %u CR3 switches; no page lost",
	   n.reads, n.writes, n.faults, n.maps, n.unmaps, n.remaps, n.protects,
	   n.replaces, n.switches);
	ktap_finish();
}
