// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow page tables (docs/shadow-paging.md, "Shadow pages").
 *
 * A shadow page is a host page table built from a guest one and kept
 * exact: every entry is what the guest's entries say now, or less (not
 * present, read-only), never more.  "Less" is what makes the guest's A and
 * D flags and its traced pages work: a leaf is present only once the
 * guest's A flag is set, writable only once its D flag is set and its page
 * is not traced, so the CPU faults where the monitor must act.
 *
 * The kinds (internal.h):
 *   SH_PD     a guest page directory.  32-bit paging: one per GiB quarter
 *             of it (256 guest PDEs of 4 MiB = 512 host PDEs of 2 MiB).
 *             Its entries link shadow PTs, made lazily at hidden faults.
 *   SH_PT     a guest page table.  32-bit: one per half (512 of its 1024
 *             PTEs = one host PT), with the rights of the PDE that links it
 *             folded into every leaf, so that every PDE with those rights
 *             shares it (Linux puts the same kernel page tables in every
 *             page directory).  Filled at once.
 *   SH_LARGE  a guest 4 MiB (PAE: 2 MiB) page as 4 KiB leaves: host
 *             frames of guest RAM are not contiguous.  Filled at once.
 *
 * Shadow pages are found by (guest frame, kind, role) in a hash; a PT is
 * freed when the last PDE linking it goes, a PD with its context (mmu.c).
 */
#include "internal.h"

#define PAE_ADDR 0x000ffffffffff000ULL

static u32 hash_of(u32 gfn)
{
	return (gfn * 0x9e3779b1u) >> (32 - 12);
}

u64 sh_host_pfn(const struct bt86_xdata *x, u32 gfn)
{
	return (*sh_ident_pte(x, gfn) & SPTE_ADDR) >> 12;
}

/* A guest paging-structure entry by guest-physical address. */
bool sh_guest_entry(const struct bt86_xdata *x, u64 gpa, unsigned int len,
		    u64 *v)
{
	const struct sh_state *s = sh_state(x);

	*v = 0;
	if (!sh_ram(s, gpa >> 12))
		return false;
	mon_memcpy(v, (const void *)(uintptr_t)(x->sh.phys + gpa), len);
	return true;
}

/* --- leaves --------------------------------------------------------------- */

/* The guest frame a leaf maps, or SH_NONE if the shadow maps nothing. */
static u32 leaf_gfn(const struct sh_state *s, const struct sh_page *sp, u32 e,
		    u64 gpte)
{
	u64 gfn;

	if (sp->kind == SH_LARGE)
		gfn = (u64)sp->gfn + e +
		      ((sp->role & ROLE_PAE) ? 0 : ROLE_PART(sp->role) * 512);
	else if (!(gpte & GPTE_P) || !(gpte & GPTE_A))
		return SH_NONE;
	else
		gfn = (gpte & PAE_ADDR) >> 12;
	return sh_ram(s, gfn) ? (u32)gfn : SH_NONE;
}

/*
 * The shadow leaf for entry @e of @sp (a PT or LARGE page) when the guest
 * entry is @gpte (PT only): present once A is set, writable once D is set
 * and the page is not traced; user and NX as the guest's rights say.  The
 * guest's PCD/PWT and PAT bits are not copied: guest RAM is host RAM, and
 * host RAM is write-back (docs/shadow-paging.md).
 */
u64 sh_leaf(struct bt86_xdata *x, const struct sh_page *sp, u32 e, u64 gpte)
{
	const struct sh_state *s = sh_state(x);
	u32 gfn = leaf_gfn(s, sp, e, gpte);
	bool w, u, d, nx;
	u64 spte;

	if (gfn == SH_NONE)
		return 0;
	/* Reserved bits: the walk faults (RSVD), so the CPU must too. */
	if (sp->kind == SH_PT && (sp->role & ROLE_PAE) &&
	    (gpte & (s->env.rsvd_high | (s->paging.nxe ? 0 : GPTE_NX))))
		return 0;
	if (sp->kind == SH_LARGE) {
		w = sp->role & ROLE_W;
		u = sp->role & ROLE_U;
		d = sp->role & ROLE_D;
		nx = sp->role & ROLE_NX;
	} else {
		w = (sp->role & ROLE_W) && (gpte & GPTE_W);
		u = (sp->role & ROLE_U) && (gpte & GPTE_U);
		d = gpte & GPTE_D;
		nx = (sp->role & ROLE_NX) ||
		     (s->paging.nxe && (sp->role & ROLE_PAE) &&
		      (gpte & GPTE_NX));
	}
	spte = (sh_host_pfn(x, gfn) << 12) | SPTE_P | SPTE_A | SPTE_D;
	if (u)
		spte |= SPTE_U;
	if (w && d && !s->gfn[gfn].trace)
		spte |= SPTE_W;
	if (nx)
		spte |= SPTE_NX;
	return spte;
}

/*
 * Set shadow leaf @ref to @spte, which maps @gfn; the reverse map follows,
 * and a live entry that loses rights or changes asks for a TLB flush.
 */
void sh_set_leaf(struct bt86_xdata *x, u32 ref, u64 spte, u32 gfn)
{
	struct sh_state *s = sh_state(x);
	u64 *p = sh_entry(s, ref), old = *p;

	if (old == spte)
		return;
	if (old & SPTE_W)
		sh_rmap_del(x, s->leaf_gfn[ref], ref);
	*p = spte;
	s->leaf_gfn[ref] = gfn;
	if (spte & SPTE_W)
		sh_rmap_add(x, gfn, ref, p);
	if ((old & SPTE_P) && (((old ^ spte) & ~(SPTE_W | SPTE_U)) ||
			       (old & ~spte & (SPTE_W | SPTE_U))))
		s->flush = 1;
}

/* Where the guest entry behind entry @e of @sp is. */
u64 sh_guest_entry_gpa(const struct sh_page *sp, u32 e)
{
	u64 base = (u64)sp->gfn << 12;

	if (sp->role & ROLE_PAE)
		return base + e * 8;
	if (sp->kind == SH_PD)
		return base + ROLE_PART(sp->role) * 1024 + (e / 2) * 4;
	return base + ROLE_PART(sp->role) * 2048 + e * 4;
}

/* Recompute leaves [first, last] of a PT or LARGE page from the guest. */
static void resync_leaves(struct bt86_xdata *x, u32 idx, u32 first, u32 last)
{
	struct sh_state *s = sh_state(x);
	const struct sh_page *sp = &s->sp[idx];
	unsigned int len = (sp->role & ROLE_PAE) ? 8 : 4;
	u64 gpte = 0, spte;
	u32 e;

	for (e = first; e <= last; e++) {
		if (sp->kind == SH_PT)
			sh_guest_entry(x, sh_guest_entry_gpa(sp, e), len,
				       &gpte);
		spte = sh_leaf(x, sp, e, gpte);
		sh_set_leaf(x, sh_ref(idx, e), spte,
			    spte ? leaf_gfn(s, sp, e, gpte) : SH_NONE);
	}
}

/* --- links ---------------------------------------------------------------- */

/* PDE @e of shadow PD @pd links shadow page @child. */
bool sh_link(struct bt86_xdata *x, u32 pd, u32 e, u32 child)
{
	struct sh_state *s = sh_state(x);

	if (!sh_refs_add(s, &s->sp[child].parents, sh_ref(pd, e)))
		return false;
	s->sp[child].nparents++;
	*sh_entry(s, sh_ref(pd, e)) = sh_table_phys(s, child) | SPDE_LINK |
				      SPDE_INDEX_BITS(child);
	return true;
}

void sh_unlink(struct bt86_xdata *x, u32 pd, u32 e)
{
	struct sh_state *s = sh_state(x);
	u64 *p = sh_entry(s, sh_ref(pd, e)), spde = *p;
	u32 child;

	if (!(spde & SPTE_P) || (spde & SPDE_FIXED))
		return;
	child = SPDE_INDEX(spde);
	*p = 0;
	s->flush = 1;
	sh_refs_del(s, &s->sp[child].parents, sh_ref(pd, e));
	if (!--s->sp[child].nparents)
		sh_release(x, child);
}

/* --- shadow pages ----------------------------------------------------------- */

u32 sh_find(struct sh_state *s, u32 gfn, u8 kind, u16 role)
{
	u32 i;

	for (i = s->hash[hash_of(gfn)]; i != SH_NONE; i = s->sp[i].hnext)
		if (s->sp[i].gfn == gfn && s->sp[i].kind == kind &&
		    s->sp[i].role == role)
			return i;
	return SH_NONE;
}

/* The shadow page for (@gfn, @kind, @role), made if missing; or SH_NONE. */
u32 sh_get(struct bt86_xdata *x, u32 gfn, u8 kind, u16 role)
{
	struct sh_state *s = sh_state(x);
	u32 idx = sh_find(s, gfn, kind, role), h = hash_of(gfn);
	struct sh_page *sp;

	if (idx != SH_NONE)
		return idx;
	idx = sh_page_alloc(s);
	if (idx == SH_NONE)
		return SH_NONE;
	sp = &s->sp[idx];
	sp->gfn = gfn;
	sp->kind = kind;
	sp->role = role;
	sp->hnext = s->hash[h];
	s->hash[h] = idx;
	/* Its guest table is traced before its leaves are computed. */
	if (kind != SH_LARGE && sh_ram(s, gfn) && !s->gfn[gfn].nsp++)
		trace_add(x, gfn, TRACE_PT);
	if (kind != SH_PD)
		resync_leaves(x, idx, 0, 511);
	return idx;
}

static void hash_remove(struct sh_state *s, u32 idx)
{
	u32 *link = &s->hash[hash_of(s->sp[idx].gfn)];

	while (*link != idx)
		link = &s->sp[*link].hnext;
	*link = s->sp[idx].hnext;
}

/* Free shadow page @idx: its leaves, or its links (and what they held). */
void sh_release(struct bt86_xdata *x, u32 idx)
{
	struct sh_state *s = sh_state(x);
	struct sh_page *sp = &s->sp[idx];
	u32 e;

	if (sp->kind == SH_PD) {
		for (e = 0; e < 512; e++)
			sh_unlink(x, idx, e);
	} else {
		for (e = 0; e < 512; e++)
			sh_set_leaf(x, sh_ref(idx, e), 0, SH_NONE);
		sh_refs_clear(s, &sp->parents);
	}
	hash_remove(s, idx);
	if (sp->kind != SH_LARGE && sh_ram(s, sp->gfn) &&
	    !--s->gfn[sp->gfn].nsp) {
		s->gfn[sp->gfn].flood = 0;
		trace_del(x, sp->gfn, TRACE_PT);
	}
	sh_page_free(s, idx);
}

/* --- following the guest ------------------------------------------------- */

/*
 * What guest PDE @gpde asks shadow PDE @e of PD @pd to link: a PT or LARGE
 * page (kind, frame, role), or nothing (false).
 */
bool sh_pde_target(const struct bt86_xdata *x, const struct sh_page *pd, u32 e,
		   u64 gpde, u8 *kind, u32 *gfn, u16 *role)
{
	const struct sh_state *s = sh_state(x);
	bool pae = pd->role & ROLE_PAE;
	u16 r = pae ? ROLE_PAE : (u16)(e & 1);

	if (!(gpde & GPTE_P) || !(gpde & GPTE_A))
		return false;
	if (gpde & GPTE_W)
		r |= ROLE_W;
	if (gpde & GPTE_U)
		r |= ROLE_U;
	if (pae && s->paging.nxe && (gpde & GPTE_NX))
		r |= ROLE_NX;
	if ((gpde & GPTE_PS) && (pae || (s->paging.cr4 & SH_CR4_PSE))) {
		u64 base = pae ? gpde & 0x000fffffffe00000ULL
			       : (gpde & 0xffc00000u) |
					   ((u64)((gpde >> 13) & 0xff) << 32);

		/* Reserved bits set: the walk faults, nothing to shadow. */
		if (pae ? (gpde & (s->env.rsvd_high | 0x1fe000ULL))
			: (gpde & (1u << 21)))
			return false;
		if (gpde & GPTE_D)
			r |= ROLE_D;
		*kind = SH_LARGE;
		*gfn = (u32)(base >> 12);
		*role = r;
		return base >> 12 < s->gfns;
	}
	if (pae && (gpde & s->env.rsvd_high))
		return false;
	if (!sh_ram(s, (gpde & PAE_ADDR) >> 12))
		return false;
	*kind = SH_PT;
	*gfn = (u32)((gpde & PAE_ADDR) >> 12);
	*role = r;
	return true;
}

/* Recompute the links [first, last] of PD @idx: drop what the guest dropped. */
static void resync_links(struct bt86_xdata *x, u32 idx, u32 first, u32 last)
{
	struct sh_state *s = sh_state(x);
	const struct sh_page *pd = &s->sp[idx];
	unsigned int len = (pd->role & ROLE_PAE) ? 8 : 4;
	const struct sh_page *child;
	u64 spde, gpde;
	u32 e, gfn;
	u16 role;
	u8 kind;

	for (e = first; e <= last; e++) {
		spde = *sh_entry(s, sh_ref(idx, e));
		if (!(spde & SPTE_P) || (spde & SPDE_FIXED))
			continue;
		child = &s->sp[SPDE_INDEX(spde)];
		sh_guest_entry(x, sh_guest_entry_gpa(pd, e), len, &gpde);
		if (sh_pde_target(x, pd, e, gpde, &kind, &gfn, &role) &&
		    child->kind == kind && child->gfn == gfn &&
		    child->role == role)
			continue;
		sh_unlink(x, idx, e);
	}
}

void sh_resync(struct bt86_xdata *x, u32 idx, u32 first, u32 last)
{
	struct sh_state *s = sh_state(x);

	if (s->sp[idx].kind == SH_PD)
		resync_links(x, idx, first, last);
	else if (s->sp[idx].kind != SH_FREE)
		resync_leaves(x, idx, first, last);
}

/*
 * The guest-physical bytes [off, off + len) of a traced page changed:
 * the shadow entries @sp has for them, [*first, *last]; false if none.
 */
static bool entries_of(const struct sh_page *sp, u32 off, u32 len, u32 *first,
		       u32 *last)
{
	u32 lo, hi, end = off + len - 1;

	if (sp->role & ROLE_PAE) {
		*first = off / 8;
		*last = end / 8;
		return true;
	}
	if (sp->kind == SH_PD) {
		lo = ROLE_PART(sp->role) * 1024;
		hi = lo + 1023;
	} else {
		lo = ROLE_PART(sp->role) * 2048;
		hi = lo + 2047;
	}
	if (end < lo || off > hi)
		return false;
	off = off < lo ? lo : off;
	end = end > hi ? hi : end;
	if (sp->kind == SH_PD) {
		*first = (off - lo) / 4 * 2;
		*last = (end - lo) / 4 * 2 + 1;
	} else {
		*first = (off - lo) / 4;
		*last = (end - lo) / 4;
	}
	return true;
}

/* The shadow PDs and PTs of guest frame @gfn, at most @max of them. */
u32 sh_shadows_of(struct sh_state *s, u32 gfn, u32 *found, u32 max)
{
	u32 i, n = 0;

	for (i = s->hash[hash_of(gfn)]; i != SH_NONE && n < max;
	     i = s->sp[i].hnext)
		if (s->sp[i].gfn == gfn && s->sp[i].kind != SH_LARGE)
			found[n++] = i;
	return n;
}

/* Resync what guest-physical [gpa, gpa + len), within one page, feeds. */
void shadow_pt_written(struct bt86_xdata *x, u64 gpa, u32 len)
{
	struct sh_state *s = sh_state(x);
	u32 gfn = (u32)(gpa >> 12), off = gpa & 4095, first, last, i, n;
	u32 found[32]; /* at most 4 PDs and 16 PT roles per frame */

	if (!len || !sh_ram(s, gfn) || !s->gfn[gfn].nsp)
		return;
	/*
	 * The shadows of this page first: resyncing one may free others
	 * (a PD dropping a PT), the hash chain with them.
	 */
	n = sh_shadows_of(s, gfn, found, 32);
	for (i = 0; i < n; i++) {
		const struct sh_page *sp = &s->sp[found[i]];

		if (sp->kind == SH_FREE || sp->kind == SH_LARGE ||
		    sp->gfn != gfn || !entries_of(sp, off, len, &first, &last))
			continue;
		sh_resync(x, found[i], first, last);
	}
	sh_window_written(x, gfn, off, len);
}
