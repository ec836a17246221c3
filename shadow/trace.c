// SPDX-License-Identifier: GPL-2.0
/*
 * Write-tracing guest-physical pages (docs/shadow-paging.md, "Tracing").
 *
 * A page is traced while anything the monitor keeps depends on its
 * contents: translated code (TRACE_CODE, monitor/bt_pages.c), a guest page
 * table that has a shadow (TRACE_PT, spt.c), a descriptor table
 * (TRACE_DESC).  A traced page is mapped read-only everywhere guest code
 * can reach it: in the identity map used while guest paging is off (its
 * PTE in the module's view of guest RAM's page tables) and in every shadow
 * leaf, which the page's reverse map lists.  Writes to it then fault, and
 * the monitor does what each reason asks (trap.c, mmu.c) before the write
 * lands.
 *
 * The reverse map lists only writable shadow leaves: read-only ones need
 * nothing when tracing starts.  Shadow leaves are made writable only for
 * untraced pages, so tracing a page is: clear the identity PTE's RW, and
 * clear RW in each leaf its reverse map names.
 */
#include "hw.h"
#include "internal.h"

#define PTE_RW (1ULL << 1)

u64 *sh_ident_pte(const struct bt86_xdata *x, u32 gfn)
{
	return (u64 *)(uintptr_t)(x->sh.gpt + 8ULL * gfn);
}

u8 trace_flags(const struct bt86_xdata *x, u64 gfn)
{
	const struct sh_state *s = sh_state(x);

	return s->ready && sh_ram(s, gfn) ? s->gfn[gfn].trace : 0;
}

static void write_protect(struct bt86_xdata *x, u32 ref)
{
	struct sh_state *s = sh_state(x);

	*sh_entry(s, ref) &= ~SPTE_W;
	s->flush = 1;
}

void trace_add(struct bt86_xdata *x, u32 gfn, u8 why)
{
	struct sh_state *s = sh_state(x);
	struct sh_gfn *g;
	u8 old;

	if (!sh_ram(s, gfn))
		return;
	g = &s->gfn[gfn];
	old = g->trace;
	g->trace |= why;
	if (old)
		return;
	*sh_ident_pte(x, gfn) &= ~PTE_RW;
	if (!s->active)
		sh_hw_invlpg((u64)gfn << 12);
	sh_refs_each(s, g->rmap, write_protect, x);
	sh_refs_clear(s, &g->rmap);
}

void trace_del(struct bt86_xdata *x, u32 gfn, u8 why)
{
	struct sh_state *s = sh_state(x);
	struct sh_gfn *g;

	if (!sh_ram(s, gfn))
		return;
	g = &s->gfn[gfn];
	if (!g->trace)
		return;
	g->trace &= ~why;
	if (g->trace)
		return;
	/* Shadow leaves become writable again at their next write fault. */
	*sh_ident_pte(x, gfn) |= PTE_RW;
	if (!s->active)
		sh_hw_invlpg((u64)gfn << 12);
}

/* A writable shadow leaf @ref maps @gfn; read-only if it cannot be listed. */
void sh_rmap_add(struct bt86_xdata *x, u32 gfn, u32 ref, u64 *spte)
{
	struct sh_state *s = sh_state(x);

	if (!sh_refs_add(s, &s->gfn[gfn].rmap, ref))
		*spte &= ~(SPTE_W | SPTE_WP0);
}

void sh_rmap_del(struct bt86_xdata *x, u32 gfn, u32 ref)
{
	struct sh_state *s = sh_state(x);

	sh_refs_del(s, &s->gfn[gfn].rmap, ref);
}
