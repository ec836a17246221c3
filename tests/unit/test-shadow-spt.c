// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow page tables in userland (shadow/pool.c, trace.c, spt.c): a 4 MiB
 * guest RAM with 32-bit page tables, a pool carved as the monitor carves
 * it, made-up host frames, and the invariants docs/shadow-paging.md
 * promises checked after every step of a random walk over links, guest
 * entry writes, tracing and releases:
 *
 *   - every present leaf is what the guest's entry (and the role) gives
 *     now: never more (exact, here, since every write is resynced);
 *   - a leaf is writable only if its page is not traced, and then it is
 *     in that page's reverse map, which names nothing else;
 *   - every PDE link is in its child's parent list, and nothing else is;
 *   - a page is traced for page tables exactly while a shadow of it exists;
 *   - the pool's count of pages in use is right, and everything freed
 *     comes back when the last link goes.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "internal.h"

#define GFNS	 1024	 /* 4 MiB of guest RAM */
#define HOST_PFN 0x40000 /* made-up host frames: guest frame n is this + n */
#define POOL_PFN 0x80000

static uint8_t guest[GFNS * 4096] __attribute__((aligned(4096)));
static u64 gpt[GFNS];
static u64 pdpt[512];
static u64 *pool_pfns;
static struct bt86_xdata x;

void *mon_memcpy(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

void *mon_memset(void *dst, int c, size_t n)
{
	return memset(dst, c, n);
}

/* The translator's window (shadow/window.c) has no part in this test. */
void sh_window_written(struct bt86_xdata *x, u32 gfn, u32 off, u32 len)
{
}

static uint32_t *gpte(u32 gfn, u32 i)
{
	return (uint32_t *)(guest + gfn * 4096) + i;
}

static struct sh_state *setup(void)
{
	u64 pages = sh_pool_pages(GFNS), i;
	void *pool = aligned_alloc(4096, pages * 4096);
	struct sh_state *s;

	memset(pool, 0, pages * 4096);
	memset(guest, 0, sizeof(guest));
	pool_pfns = calloc(pages, sizeof(u64));
	for (i = 0; i < pages; i++)
		pool_pfns[i] = POOL_PFN + i;
	for (i = 0; i < GFNS; i++)
		gpt[i] = (HOST_PFN + i) << 12 | 3;
	memset(&x, 0, sizeof(x));
	x.ram_end = GFNS * 4096ULL;
	x.sh.pool = (uintptr_t)pool;
	x.sh.pfns = (uintptr_t)pool_pfns;
	x.sh.phys = (uintptr_t)guest;
	x.sh.gpt = (uintptr_t)gpt;
	x.sh.low_pdpt = (uintptr_t)pdpt;
	x.sh.pool_pages = (u32)pages;
	sh_pool_init(&x);
	s = sh_state(&x);
	s->ready = sh_pool_fits(&x);
	s->active = 1;
	s->paging.cr0 = SH_CR0_PG | SH_CR0_WP;
	s->paging.cr4 = SH_CR4_PSE;
	return s;
}

static void teardown(void)
{
	free((void *)(uintptr_t)x.sh.pool);
	free(pool_pfns);
}

static bool in_rmap(struct sh_state *s, u32 gfn, u32 ref)
{
	u32 list = s->gfn[gfn].rmap, r;

	/* walk a copy: the list is read only */
	if (!list)
		return false;
	if (list & 0x80000000u)
		return (list & ~0x80000000u) == ref;
	for (r = list; r; r = s->refs[r - 1].next) {
		unsigned int i;

		for (i = 0; i < 7; i++)
			if (s->refs[r - 1].ref[i] == ref)
				return true;
	}
	return false;
}

static u32 rmap_len(struct sh_state *s, u32 gfn)
{
	u32 list = s->gfn[gfn].rmap, r, n = 0;
	unsigned int i;

	if (!list)
		return 0;
	if (list & 0x80000000u)
		return 1;
	for (r = list; r; r = s->refs[r - 1].next)
		for (i = 0; i < 7; i++)
			n += s->refs[r - 1].ref[i] != 0xffffffffu;
	return n;
}

/* Every invariant of the header; the first one broken, or "". */
static const char *check(struct sh_state *s)
{
	static u32 writable[GFNS], shadows[GFNS], links[SH_TABLES_MAX];
	u32 i, e, used = 0, g;

	memset(writable, 0, sizeof(writable));
	memset(shadows, 0, sizeof(shadows));
	memset(links, 0, sizeof(links));
	for (i = 0; i < s->ntables; i++) {
		const struct sh_page *sp = &s->sp[i];

		if (sp->kind == SH_FREE)
			continue;
		used++;
		if (sp->kind != SH_LARGE && sp->gfn < GFNS)
			shadows[sp->gfn]++;
		for (e = 0; e < 512; e++) {
			u32 ref = sh_ref(i, e), child;
			u64 spte = *sh_entry(s, ref), gv = 0, want;

			if (sp->kind == SH_PD) {
				if (!(spte & SPTE_P) || (spte & SPDE_FIXED))
					continue;
				child = SPDE_INDEX(spte);
				if (s->sp[child].kind == SH_FREE ||
				    s->sp[child].kind == SH_PD)
					return "a PDE links a free page or a PD";
				if ((spte & SPTE_ADDR) !=
				    sh_table_phys(s, child))
					return "a PDE's address is not its child";
				links[child]++;
				continue;
			}
			if (sp->kind == SH_PT)
				sh_guest_entry(&x, sh_guest_entry_gpa(sp, e), 4,
					       &gv);
			/* What the guest gives, or that without W (lazily). */
			want = sh_leaf(&x, sp, e, gv);
			if (spte != want && spte != (want & ~SPTE_W))
				return "a leaf is more than the guest says";
			if (!(spte & SPTE_W))
				continue;
			g = s->leaf_gfn[ref];
			if (g >= GFNS ||
			    ((spte & SPTE_ADDR) >> 12) != HOST_PFN + g)
				return "a writable leaf's frame is wrong";
			if (s->gfn[g].trace)
				return "a traced page is writable";
			if (!in_rmap(s, g, ref))
				return "a writable leaf is not in its rmap";
			writable[g]++;
		}
	}
	for (i = 0; i < s->ntables; i++)
		if (s->sp[i].kind != SH_FREE && s->sp[i].kind != SH_PD &&
		    links[i] != s->sp[i].nparents)
			return "a page's parent count is not its links";
	if (used != s->sp_used)
		return "the pool's count of pages in use is wrong";
	for (g = 0; g < GFNS; g++) {
		if (rmap_len(s, g) != writable[g])
			return "an rmap names more than the writable leaves";
		if (s->gfn[g].nsp != shadows[g])
			return "a page's shadow count is wrong";
		if (!!(s->gfn[g].trace & TRACE_PT) != !!shadows[g])
			return "a page is traced for page tables without shadows";
		if (!!(s->gfn[g].trace) == !!(gpt[g] & 2))
			return "the identity PTE's RW does not follow tracing";
	}
	return "";
}

/* A guest PT at frame 10: 8 entries of each kind the shadow tells apart. */
TEST(leaves)
{
	struct sh_state *s = setup();
	u32 pt;

	ASSERT_TRUE(s->ready);
	*gpte(10, 0) = 100 << 12 | GPTE_P | GPTE_W | GPTE_A | GPTE_D;
	*gpte(10, 1) = 101 << 12 | GPTE_P | GPTE_W | GPTE_A; /* clean */
	*gpte(10, 2) = 102 << 12 | GPTE_P | GPTE_W;	     /* not accessed */
	*gpte(10, 3) = 103 << 12 | GPTE_P | GPTE_U | GPTE_A;
	*gpte(10, 4) = 5000u << 12 | GPTE_P | GPTE_A; /* not RAM */
	*gpte(10, 5) = 10 << 12 | GPTE_P | GPTE_W | GPTE_A |
		       GPTE_D; /* itself */
	pt = sh_get(&x, 10, SH_PT, ROLE_W | ROLE_U);
	ASSERT_NE(SH_NONE, pt);
	EXPECT_EQ((HOST_PFN + 100ULL) << 12 | SPTE_P | SPTE_A | SPTE_D | SPTE_W,
		  *sh_entry(s, sh_ref(pt, 0)));
	EXPECT_EQ(0, *sh_entry(s, sh_ref(pt, 1)) & SPTE_W);
	EXPECT_NE(0, *sh_entry(s, sh_ref(pt, 1)) & SPTE_P);
	EXPECT_EQ(0, *sh_entry(s, sh_ref(pt, 2)));
	EXPECT_NE(0, *sh_entry(s, sh_ref(pt, 3)) & SPTE_U);
	EXPECT_EQ(0, *sh_entry(s, sh_ref(pt, 4)));
	/* The page table maps itself: traced, so read-only. */
	EXPECT_EQ(0, *sh_entry(s, sh_ref(pt, 5)) & SPTE_W);
	EXPECT_TRUE(s->gfn[10].trace & TRACE_PT);
	EXPECT_EQ(0, gpt[10] & 2);
	/* Without the PDE's W, nothing is writable; half 1 is another page. */
	EXPECT_NE(pt, sh_get(&x, 10, SH_PT, ROLE_U));
	EXPECT_EQ(0, *sh_entry(s, sh_ref(sh_find(s, 10, SH_PT, ROLE_U), 0)) &
			     SPTE_W);
	EXPECT_STREQ("", check(s));
	/* Tracing frame 100 takes W from its leaf through the rmap. */
	trace_add(&x, 100, TRACE_CODE);
	EXPECT_EQ(0, *sh_entry(s, sh_ref(pt, 0)) & SPTE_W);
	EXPECT_STREQ("", check(s));
	trace_del(&x, 100, TRACE_CODE);
	EXPECT_STREQ("", check(s)); /* W comes back at the next resync */
	shadow_pt_written(&x, 10 << 12, 4);
	EXPECT_NE(0, *sh_entry(s, sh_ref(pt, 0)) & SPTE_W);
	EXPECT_STREQ("", check(s));
	teardown();
}

/* Two PDs share one PT; the PT goes with the last link. */
TEST(sharing)
{
	struct sh_state *s = setup();
	u32 pd1, pd2, pt, used;

	*gpte(20, 3) = 30 << 12 | GPTE_P | GPTE_W | GPTE_A;
	*gpte(21, 3) = 30 << 12 | GPTE_P | GPTE_W | GPTE_A;
	*gpte(30, 0) = 200 << 12 | GPTE_P | GPTE_W | GPTE_A | GPTE_D;
	pd1 = sh_get(&x, 20, SH_PD, 0);
	pd2 = sh_get(&x, 21, SH_PD, 0);
	used = s->sp_used;
	pt = sh_get(&x, 30, SH_PT, ROLE_W);
	ASSERT_TRUE(sh_link(&x, pd1, 6, pt));
	ASSERT_TRUE(sh_link(&x, pd2, 6, pt));
	EXPECT_EQ(2, s->sp[pt].nparents);
	EXPECT_STREQ("", check(s));
	/* The guest drops the PDE of pd1: a write resyncs the link away. */
	*gpte(20, 3) = 0;
	shadow_pt_written(&x, 20 << 12 | 12, 4);
	EXPECT_EQ(0, *sh_entry(s, sh_ref(pd1, 6)));
	EXPECT_EQ(1, s->sp[pt].nparents);
	EXPECT_STREQ("", check(s));
	sh_release(&x, pd2);
	EXPECT_EQ(SH_FREE, s->sp[pt].kind);
	EXPECT_EQ(used - 1, s->sp_used);
	EXPECT_EQ(0, s->gfn[30].trace);
	EXPECT_EQ(0, s->gfn[200].rmap);
	EXPECT_STREQ("", check(s));
	sh_release(&x, pd1);
	EXPECT_EQ(0, s->sp_used);
	EXPECT_STREQ("", check(s));
	teardown();
}

/* A guest 4 MiB page as two shadow pages of 512 leaves. */
TEST(large)
{
	struct sh_state *s = setup();
	u32 lo, hi;

	lo = sh_get(&x, 0, SH_LARGE, 0 | ROLE_W | ROLE_D);
	hi = sh_get(&x, 0, SH_LARGE, 1 | ROLE_W | ROLE_D);
	EXPECT_EQ((HOST_PFN + 5ULL) << 12,
		  *sh_entry(s, sh_ref(lo, 5)) & SPTE_ADDR);
	EXPECT_EQ((HOST_PFN + 517ULL) << 12,
		  *sh_entry(s, sh_ref(hi, 5)) & SPTE_ADDR);
	EXPECT_NE(0, *sh_entry(s, sh_ref(hi, 5)) & SPTE_W);
	/* No D: read-only, for the first write to set D. */
	EXPECT_EQ(0, *sh_entry(s, sh_ref(sh_get(&x, 0, SH_LARGE, ROLE_W), 1)) &
			     SPTE_W);
	EXPECT_STREQ("", check(s));
	teardown();
}

static u32 rnd_state;

static u32 rnd(u32 n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

/*
 * A random walk: 8 guest PDs and 16 guest PTs in frames 16..39, data in
 * 40..63; links made as a hidden fault makes them, guest entries written
 * (and resynced), pages traced for code and not, PDs released.
 */
TEST(random_walk)
{
	struct sh_state *s = setup();
	u32 pds[8], step, i;
	const char *bad = "";

	rnd_state = 0x12345678;
	for (i = 0; i < 8; i++)
		pds[i] = sh_get(&x, 16 + i, SH_PD, 0);
	for (step = 0; step < 20000 && !*bad; step++) {
		u32 op = rnd(8), d = rnd(8), e = rnd(16), g, kind_gfn;
		u64 gpde;
		u32 gfn;
		u16 role;
		u8 kind;

		switch (op) {
		case 0: /* a guest PDE */
			*gpte(16 + d, e) = rnd(4) ? (24 + rnd(16)) << 12 |
							    GPTE_P | GPTE_A |
							    rnd(2) * GPTE_W |
							    rnd(2) * GPTE_U
						  : 0;
			shadow_pt_written(&x, (16 + d) << 12 | e * 4, 4);
			break;
		case 1: /* a guest PTE */
			g = 24 + rnd(16);
			*gpte(g, rnd(16)) = rnd(4) ? (16 + rnd(48)) << 12 |
							     GPTE_P |
							     rnd(2) * GPTE_A |
							     rnd(2) * GPTE_D |
							     rnd(2) * GPTE_W |
							     rnd(2) * GPTE_U
						   : 0;
			shadow_pt_written(&x, (u64)g << 12, 4096);
			break;
		case 2: /* code traced, or not */
		case 3:
			g = 16 + rnd(48);
			if (op == 2)
				trace_add(&x, g, TRACE_CODE);
			else
				trace_del(&x, g, TRACE_CODE);
			break;
		case 4: /* a PD dropped and made again */
			sh_release(&x, pds[d]);
			pds[d] = sh_get(&x, 16 + d, SH_PD, 0);
			break;
		default: /* a hidden fault under PDE e of PD d */
			sh_guest_entry(&x, (16 + d) << 12 | e * 4, 4, &gpde);
			if (!sh_pde_target(&x, &s->sp[pds[d]], e * 2, gpde,
					   &kind, &gfn, &role))
				break;
			kind_gfn = sh_get(&x, gfn, kind, role);
			if (kind_gfn == SH_NONE)
				break;
			if (!(*sh_entry(s, sh_ref(pds[d], e * 2)) & SPTE_P) &&
			    !sh_link(&x, pds[d], e * 2, kind_gfn) &&
			    !s->sp[kind_gfn].nparents)
				sh_release(&x, kind_gfn);
			break;
		}
		bad = check(s);
	}
	EXPECT_STREQ("", bad);
	if (*bad)
		TH_LOG("at step %u", step);
	for (i = 0; i < 8; i++)
		sh_release(&x, pds[i]);
	for (i = 0; i < s->ntables; i++)
		if (s->sp[i].kind != SH_FREE)
			sh_release(&x, i);
	EXPECT_EQ(0, s->sp_used);
	EXPECT_STREQ("", check(s));
	teardown();
}

TEST_HARNESS_MAIN
