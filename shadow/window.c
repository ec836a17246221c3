// SPDX-License-Identifier: GPL-2.0
/*
 * The translator's window among the guest's mappings (docs/translator.md,
 * "Where the window sits").
 *
 * With guest paging on, every shadow maps the window's 4 MiB with fixed
 * PDEs (mmu.c, map_window()), which hide whatever the guest maps there.
 * So the window must sit in a 4 MiB slot that the guest's page
 * directories leave empty: the known ones are those of the cached
 * contexts, the current one among them, each traced while it is cached
 * (spt.c).  This file tells which slots they map, notices a traced write
 * to a page directory at the window's slot, picks a new slot, and moves
 * the window's PDEs in every shadow; monitor/window.c decides when, and
 * moves the translator with it.
 *
 * A slot's guest entries: one PDE with 32-bit paging (4 MiB), two PDEs of
 * the page directory the slot's PDPTE names with PAE (2 MiB each).
 */
#include "internal.h"

#define SLOTS	   1024
#define SLOT_SHIFT 22
#define PAE_ADDR   0x000ffffffffff000ULL

static bool pae(const struct sh_state *s)
{
	return s->paging.cr4 & SH_CR4_PAE;
}

static u32 slot_of(u32 lin)
{
	return lin >> SLOT_SHIFT;
}

/* Does the guest page directory of context @c map anything in @slot? */
static bool ctx_maps(const struct bt86_xdata *x, const struct sh_ctx *c,
		     u32 slot)
{
	const struct sh_state *s = sh_state(x);
	u64 e0 = 0, e1 = 0, pd;

	if (!pae(s)) {
		sh_guest_entry(x, (u64)c->cr3 + slot * 4, 4, &e0);
		return e0 & GPTE_P;
	}
	if (!(c->pdpte[slot >> 8] & GPTE_P))
		return false;
	pd = (c->pdpte[slot >> 8] & PAE_ADDR) + (slot & 255) * 16;
	sh_guest_entry(x, pd, 8, &e0);
	sh_guest_entry(x, pd + 8, 8, &e1);
	return (e0 | e1) & GPTE_P;
}

/* Drop the cached contexts other than the current one that map @slot. */
static void drop_mapping(struct bt86_xdata *x, u32 slot)
{
	struct sh_state *s = sh_state(x);
	u32 i;

	for (i = 0; i < SH_CTXS; i++)
		if (s->ctx[i].used && i != s->cur &&
		    ctx_maps(x, &s->ctx[i], slot))
			sh_ctx_drop(x, i);
}

/*
 * Is the window in the guest's way?  A cached context that is not current
 * and maps the window's slot is dropped rather than moving the window:
 * nothing runs on it, and it is looked at again when the guest loads it
 * (a page directory the guest freed and reuses for data would otherwise
 * move the window at random).  True if the current one maps the slot: the
 * window must move.
 */
bool shadow_window_busy(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	u32 slot = slot_of(x->sh.window_low);

	if (!s->active || !x->sh.window_low || s->cur == SH_NONE)
		return false;
	drop_mapping(x, slot);
	return ctx_maps(x, &s->ctx[s->cur], slot);
}

/* Does any cached context other than the current one map @slot? */
static bool others_map(const struct bt86_xdata *x, u32 slot)
{
	const struct sh_state *s = sh_state(x);
	u32 i;

	for (i = 0; i < SH_CTXS; i++)
		if (s->ctx[i].used && i != s->cur &&
		    ctx_maps(x, &s->ctx[i], slot))
			return true;
	return false;
}

/*
 * A new place for the window: the highest slot that no cached page
 * directory maps; failing that, the highest one the current directory
 * leaves free, the other contexts that map it dropped.  Slot 0 is never
 * taken (a window at 0 would mean none).  False if there is no such slot.
 */
bool shadow_window_pick(struct bt86_xdata *x, u32 *low)
{
	struct sh_state *s = sh_state(x);
	const struct sh_ctx *cur = &s->ctx[s->cur];
	u32 slot, fallback = 0;

	for (slot = SLOTS - 1; slot; slot--) {
		if (ctx_maps(x, cur, slot))
			continue;
		if (!fallback)
			fallback = slot;
		if (!others_map(x, slot)) {
			*low = slot << SLOT_SHIFT;
			return true;
		}
	}
	if (!fallback)
		return false;
	drop_mapping(x, fallback);
	*low = fallback << SLOT_SHIFT;
	return true;
}

static void reload_cr3(void)
{
	u64 cr3;

	asm volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/*
 * Every shadow maps the window at @low from now on.  Within the same GiB
 * its two fixed PDEs move in each page directory that holds them (the
 * guest's entries at the old place are linked again at their first hidden
 * fault); to another GiB, which holds them is part of each directory's
 * role, so every shadow goes and the current one is built again.
 */
void shadow_window_move(struct bt86_xdata *x, u32 low)
{
	struct sh_state *s = sh_state(x);
	u32 old = x->sh.window_low, i, k;

	x->sh.window_low = low;
	if (!s->active || !old)
		return;
	if (old >> 30 != low >> 30) {
		sh_rebuild(x);
		return;
	}
	for (i = 0; i < s->ntables; i++) {
		const struct sh_page *sp = &s->sp[i];
		u32 from = (old >> 21) & 511, to = (low >> 21) & 511;

		if (sp->kind != SH_PD || !(sp->role & ROLE_WINDOW))
			continue;
		for (k = 0; k < 2; k++)
			*sh_entry(s, sh_ref(i, from + k)) = 0;
		for (k = 0; k < 2; k++) {
			u64 *p = sh_entry(s, sh_ref(i, to + k));

			sh_unlink(x, i, to + k);
			*p = x->sh.window_pde[k] | SPDE_FIXED;
		}
	}
	s->flush = 0;
	s->stats.flushes++;
	reload_cr3();
}

/*
 * The guest wrote [off, off + len) of traced frame @gfn (spt.c): if a
 * cached page directory's entry for the window's slot is among those
 * bytes, look at the slot again before guest code runs.
 */
void sh_window_written(struct bt86_xdata *x, u32 gfn, u32 off, u32 len)
{
	struct sh_state *s = sh_state(x);
	u32 slot = slot_of(x->sh.window_low), at, size, found[32], n, i;

	if (!x->sh.window_low || !s->active)
		return;
	at = pae(s) ? (slot & 255) * 16 : slot * 4;
	size = pae(s) ? 16 : 4;
	if (off + len <= at || off >= at + size)
		return;
	n = sh_shadows_of(s, gfn, found, 32);
	for (i = 0; i < n; i++)
		if (s->sp[found[i]].kind == SH_PD)
			x->bt.window_check = 1;
}

/*
 * A page fault in the window's 4 MiB (mmu.c): the guest's own #PF if its
 * page tables map nothing there.  If they do, the window is in the way:
 * it moves before guest code runs again (monitor/window.c), and the
 * access is made again, to the guest's page.
 */
long sh_window_fault(struct bt86_xdata *x, u32 lin, unsigned int acc)
{
	struct sh_state *s = sh_state(x);
	struct sh_walk w;

	if (!sh_walk(&s->env, &s->paging, lin, acc | SH_ACC_PEEK, &w)) {
		s->stats.guest_faults++;
		x->sh.pf_addr = lin;
		return raise_fault(x, FAULT(VEC_PF, w.error));
	}
	if (!shadow_window_busy(x))
		return exit_unsupported(x, BT86_UNSUPPORTED_SHADOW,
					(u64)BT86_SHADOW_BUG << 32 | lin);
	x->bt.window_check = 1;
	return 0;
}
