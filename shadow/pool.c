// SPDX-License-Identifier: GPL-2.0
/*
 * The module's pool (kmod/shadow_area.c), carved into shadow paging's data
 * and its table pages (internal.h), and the reference lists that serve as
 * reverse maps.
 *
 * A reference list names shadow entries: the writable shadow leaves that
 * map one guest frame (its rmap, what write-protecting the frame must
 * visit), or the PDEs that link one shadow page table (what dropping it
 * must clear).  Most lists hold one ref, which the list head keeps itself
 * (LIST_ONE); longer ones are chains of 7-ref blocks, SH_REFS_PER_TABLE of
 * them per table page.  When the blocks run out a writable leaf is simply
 * made read-only (a later write fault makes it writable again, if blocks
 * are free by then), and a link fails, which makes its caller reclaim.
 */
#include "internal.h"

#define LIST_ONE  0x80000000u
#define REF_EMPTY 0xffffffffu

void sh_pool_init(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	u64 gfns = x->ram_end >> 12, tables = sh_table_pages(gfns);
	u8 *p = (u8 *)s + SH_META_FIXED * 4096ULL;
	u32 i;

	mon_memset(s, 0, sizeof(*s));
	s->gfns = (u32)gfns;
	s->ntables = (u32)tables;
	s->gfn = (struct sh_gfn *)p;
	p += gfns * sizeof(struct sh_gfn);
	s->sp = (struct sh_page *)p;
	p += tables * sizeof(struct sh_page);
	s->refs = (struct sh_refs *)p;
	s->nrefs = (u32)tables * SH_REFS_PER_TABLE;
	p += (u64)s->nrefs * sizeof(struct sh_refs);
	s->leaf_gfn = (u32 *)p;
	p += tables * 512 * sizeof(u32);
	/* The table pages: page aligned, after the metadata. */
	s->table_first = (u32)(((uintptr_t)p - x->sh.pool + 4095) / 4096);
	s->tables = (u8 *)(uintptr_t)(x->sh.pool + s->table_first * 4096ULL);
	s->pfns = (const u64 *)(uintptr_t)x->sh.pfns;
	mon_memset(s->gfn, 0, gfns * sizeof(struct sh_gfn));
	for (i = 0; i < s->ntables; i++) {
		s->sp[i].kind = SH_FREE;
		s->sp[i].fnext = i + 1 < s->ntables ? i + 1 : SH_NONE;
	}
	s->sp_free = 0;
	for (i = 0; i < s->nrefs; i++)
		s->refs[i].next = i + 1 < s->nrefs ? i + 2 : 0;
	s->refs_free = 1; /* block numbers are 1-based: 0 ends a chain */
	for (i = 0; i < SH_HASH; i++)
		s->hash[i] = SH_NONE;
	for (i = 0; i < SH_CTXS; i++)
		s->ctx[i].used = 0;
	s->cur = SH_NONE;
	s->stats.pages_max = s->ntables;
}

/* The carving fits what the module allocated (checked at load). */
bool sh_pool_fits(const struct bt86_xdata *x)
{
	const struct sh_state *s = sh_state(x);

	return sizeof(struct sh_state) <= SH_META_FIXED * 4096ULL &&
	       sizeof(struct sh_gfn) <= SH_META_GFN &&
	       sizeof(struct sh_page) +
			       SH_REFS_PER_TABLE * sizeof(struct sh_refs) +
			       512 * sizeof(u32) <=
		       SH_META_TABLE &&
	       s->table_first + s->ntables <= x->sh.pool_pages;
}

/* A zeroed table page, or SH_NONE when the pool is used up. */
u32 sh_page_alloc(struct sh_state *s)
{
	u32 idx = s->sp_free;

	if (idx == SH_NONE)
		return SH_NONE;
	s->sp_free = s->sp[idx].fnext;
	mon_memset(sh_table(s, idx), 0, 4096);
	mon_memset(&s->sp[idx], 0, sizeof(s->sp[idx]));
	s->sp[idx].hnext = SH_NONE;
	if (++s->sp_used > s->stats.pages_peak)
		s->stats.pages_peak = s->sp_used;
	return idx;
}

void sh_page_free(struct sh_state *s, u32 idx)
{
	s->sp[idx].kind = SH_FREE;
	s->sp[idx].fnext = s->sp_free;
	s->sp_free = idx;
	s->sp_used--;
}

/* --- reference lists ------------------------------------------------------ */

static struct sh_refs *block(struct sh_state *s, u32 n)
{
	return &s->refs[n - 1];
}

static u32 block_alloc(struct sh_state *s)
{
	u32 n = s->refs_free;
	unsigned int i;

	if (!n)
		return 0;
	s->refs_free = block(s, n)->next;
	for (i = 0; i < 7; i++)
		block(s, n)->ref[i] = REF_EMPTY;
	block(s, n)->next = 0;
	return n;
}

static void block_free(struct sh_state *s, u32 n)
{
	block(s, n)->next = s->refs_free;
	s->refs_free = n;
}

/* Add @ref to @list; false if no block was free. */
bool sh_refs_add(struct sh_state *s, u32 *list, u32 ref)
{
	u32 n, old;
	unsigned int i;

	if (!*list) {
		*list = LIST_ONE | ref;
		return true;
	}
	if (*list & LIST_ONE) {
		old = *list & ~LIST_ONE;
		n = block_alloc(s);
		if (!n)
			return false;
		block(s, n)->ref[0] = old;
		block(s, n)->ref[1] = ref;
		*list = n;
		return true;
	}
	for (n = *list; n; n = block(s, n)->next)
		for (i = 0; i < 7; i++)
			if (block(s, n)->ref[i] == REF_EMPTY) {
				block(s, n)->ref[i] = ref;
				return true;
			}
	n = block_alloc(s);
	if (!n)
		return false;
	block(s, n)->ref[0] = ref;
	block(s, n)->next = *list;
	*list = n;
	return true;
}

static bool block_empty(const struct sh_refs *b)
{
	unsigned int i;

	for (i = 0; i < 7; i++)
		if (b->ref[i] != REF_EMPTY)
			return false;
	return true;
}

void sh_refs_del(struct sh_state *s, u32 *list, u32 ref)
{
	u32 n, *link;
	unsigned int i;

	if (*list & LIST_ONE) {
		if ((*list & ~LIST_ONE) == ref)
			*list = 0;
		return;
	}
	for (link = list; (n = *link); link = &block(s, n)->next) {
		for (i = 0; i < 7; i++) {
			if (block(s, n)->ref[i] != ref)
				continue;
			block(s, n)->ref[i] = REF_EMPTY;
			if (block_empty(block(s, n))) {
				*link = block(s, n)->next;
				block_free(s, n);
			}
			return;
		}
	}
}

void sh_refs_clear(struct sh_state *s, u32 *list)
{
	u32 n = *list, next;

	if (!(n & LIST_ONE))
		for (; n; n = next) {
			next = block(s, n)->next;
			block_free(s, n);
		}
	*list = 0;
}

/* Some ref of @list, or SH_NONE if it is empty. */
u32 sh_refs_first(struct sh_state *s, u32 list)
{
	unsigned int i;
	u32 n;

	if (list & LIST_ONE)
		return list & ~LIST_ONE;
	for (n = list; n; n = block(s, n)->next)
		for (i = 0; i < 7; i++)
			if (block(s, n)->ref[i] != REF_EMPTY)
				return block(s, n)->ref[i];
	return SH_NONE;
}

void sh_refs_each(struct sh_state *s, u32 list,
		  void (*fn)(struct bt86_xdata *x, u32 ref),
		  struct bt86_xdata *x)
{
	u32 n, next, ref;
	unsigned int i;

	if (list & LIST_ONE) {
		fn(x, list & ~LIST_ONE);
		return;
	}
	for (n = list; n; n = next) {
		next = block(s, n)->next;
		for (i = 0; i < 7; i++) {
			ref = block(s, n)->ref[i];
			if (ref != REF_EMPTY)
				fn(x, ref);
		}
	}
}
