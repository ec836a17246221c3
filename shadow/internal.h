/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to shadow/: the state shadow paging keeps in the module's pool
 * (docs/shadow-paging.md, "Data structures").
 *
 * The pool is carved once (pool.c):
 *
 *   SH_META_FIXED pages   struct sh_state
 *   per guest frame       struct sh_gfn (trace flags, reverse map head)
 *   per table page        struct sh_page, SH_REFS_PER_TABLE struct
 *                         sh_refs (reference list blocks), and the guest
 *                         frame each of its 512 entries maps (u32)
 *   the rest              shadow table pages, zeroed when taken
 *
 * A shadow table page is named by its index among the table pages; a
 * shadow entry by a "ref", (index << 9) | entry number.
 */
#ifndef BT86_SHADOW_INTERNAL_H
#define BT86_SHADOW_INTERNAL_H

#include "shadow.h"

#define SH_NONE		  0xffffffffu
#define SH_NO_GFN	  0xfffffffeu /* an empty PD: no guest table */
#define SH_REFS_PER_TABLE 16
#define SH_HASH		  4096 /* chains of shadow pages by guest frame */
#define SH_CTXS		  64   /* address spaces cached, by CR3 */

/* Host page-table entry bits of the shadow (SDM 3A §4.5, IA-32e). */
#define SPTE_P	  (1ULL << 0)
#define SPTE_W	  (1ULL << 1)
#define SPTE_U	  (1ULL << 2)
#define SPTE_A	  (1ULL << 5)
#define SPTE_D	  (1ULL << 6)
#define SPTE_NX	  (1ULL << 63)
#define SPTE_ADDR 0x000ffffffffff000ULL
/*
 * Software bits, in bits the CPU ignores: a leaf made writable and
 * supervisor-only for a guest with CR0.WP = 0; a PDE that is not a link
 * to a shadow page table (the translator's window); a PDE's target, as a
 * table index in bits 62:52 and 11:10.
 */
#define SPTE_WP0      (1ULL << 9)
#define SPDE_FIXED    (1ULL << 9)
#define SPDE_LINK     (SPTE_P | SPTE_W | SPTE_U | SPTE_A)
#define SPDE_INDEX(e) ((u32)((((e) >> 52) & 0x7ff) | (((e) >> 10) & 3) << 11))
#define SPDE_INDEX_BITS(i) \
	((((u64)(i)&0x7ff) << 52) | (((u64)(i) >> 11 & 3) << 10))

/* What a shadow page shadows (struct sh_page.kind). */
enum sh_kind {
	SH_FREE,
	SH_PD,	  /* a guest page directory (32-bit: a quarter of it) */
	SH_PT,	  /* a guest page table (32-bit: half of it) */
	SH_LARGE, /* a guest 4 MiB (2 MiB) page, as 4 KiB entries */
};

/*
 * The role: what, besides the guest frame, the shadow's entries depend on.
 * 32-bit: the quarter of a PD, the half of a PT; the rights of the PDE
 * above a PT (folded into every entry, so that one shadow serves every
 * PDE with the same rights); a large page's D flag.
 */
#define ROLE_PART(r) ((r)&3) /* PD quarter, PT half */
#define ROLE_W	     (1u << 2)
#define ROLE_U	     (1u << 3)
#define ROLE_D	     (1u << 4)
#define ROLE_NX	     (1u << 5)
#define ROLE_PAE     (1u << 6)
#define ROLE_WINDOW  (1u << 7) /* a PD holding the translator's window */

struct sh_gfn {
	u32 rmap; /* refs of the writable shadow leaves mapping it */
	u16 nsp;  /* shadow pages of kind PD or PT keyed by it */
	u8 trace; /* TRACE_* */
	u8 flood; /* traced writes since a shadow of it was last used */
};

struct sh_page {
	u32 gfn;
	u16 role;
	u8 kind;
	u8 pad;
	u32 hnext;   /* next in its hash chain, SH_NONE at the end */
	u32 parents; /* PT, LARGE: refs of the PDEs linking it */
	u32 nparents;
	u32 users; /* PD: contexts using it */
	u32 fnext; /* next free page */
	u32 pad2;
};

/* A block of a reference list (see pool.c). */
struct sh_refs {
	u32 ref[7];
	u32 next;
};

/*
 * A mapping opened for a natively stepped write: shadow leaf @ref, or the
 * identity map's PTE of @gfn (ref SH_NONE, guest paging off).
 */
#define SH_STEP_MAX 4
struct sh_step {
	u32 ref;
	u32 gfn;
	u32 lin;
	u32 pad;
	u64 old;
};

/* One cached address space. */
struct sh_ctx {
	u32 cr3;   /* the guest's CR3 (page directory, or PDPT with PAE) */
	u32 pd[4]; /* its shadow PDs per GiB, SH_NONE where none */
	u32 used;
	u64 stamp;    /* when it was last current */
	u64 pdpte[4]; /* PAE: the PDPTEs it was built from */
};

struct sh_state {
	u32 ready;
	u32 active; /* guest paging is on: the low 4 GiB is the shadow's */
	u32 gfns;   /* guest frames: [0, gfns) is RAM */
	u32 ntables;
	struct sh_gfn *gfn;
	struct sh_page *sp;
	struct sh_refs *refs;
	u32 *leaf_gfn; /* by ref: the guest frame a shadow leaf maps */
	u32 nrefs;
	u32 refs_free;
	u8 *tables;	 /* table page 0 */
	const u64 *pfns; /* host frame of pool page i */
	u32 table_first; /* pool index of table page 0 */
	u32 sp_free;
	u32 sp_used;
	u32 cur; /* the current context, SH_NONE while paging is off */
	u64 clock;
	u32 hash[SH_HASH];
	struct sh_ctx ctx[SH_CTXS];
	u64 ident_pdpte[4]; /* the identity map's, for paging off */
	struct sh_paging paging;
	struct sh_walk_env env;
	u32 flush; /* a live shadow entry lost rights: flush the TLB */
	u32 smxp;  /* CR4.SMEP and SMAP, if this CPU has them */
	/*
	 * A write to traced pages run natively (mmu.c): the mappings opened
	 * for it, SH_STEP_MAX at most (a write across pages); step_keep: a
	 * trap during it may open one more.
	 */
	u32 nsteps;
	u32 step_keep;
	struct sh_step steps[SH_STEP_MAX];
	/* the last hidden fault, to catch one that repeats */
	u32 last_lin, last_eip, last_trap, repeats;
	struct bt86_shadow_stats stats;
};

static inline struct sh_state *sh_state(const struct bt86_xdata *x)
{
	return (struct sh_state *)(uintptr_t)x->sh.pool;
}

static inline u64 *sh_table(const struct sh_state *s, u32 idx)
{
	return (u64 *)(s->tables + (u64)idx * 4096);
}

static inline u64 sh_table_phys(const struct sh_state *s, u32 idx)
{
	return s->pfns[s->table_first + idx] << 12;
}

static inline u64 *sh_entry(const struct sh_state *s, u32 ref)
{
	return sh_table(s, ref >> 9) + (ref & 511);
}

static inline u32 sh_ref(u32 idx, u32 e)
{
	return idx << 9 | e;
}

static inline bool sh_ram(const struct sh_state *s, u64 gfn)
{
	return gfn < s->gfns;
}

/* pool.c */
void sh_pool_init(struct bt86_xdata *x);
bool sh_pool_fits(const struct bt86_xdata *x);
u32 sh_page_alloc(struct sh_state *s);
void sh_page_free(struct sh_state *s, u32 idx);
bool sh_refs_add(struct sh_state *s, u32 *list, u32 ref);
void sh_refs_del(struct sh_state *s, u32 *list, u32 ref);
void sh_refs_clear(struct sh_state *s, u32 *list);
u32 sh_refs_first(struct sh_state *s, u32 list);
/* Call @fn for each ref; @fn may delete the ref it is given. */
void sh_refs_each(struct sh_state *s, u32 list,
		  void (*fn)(struct bt86_xdata *x, u32 ref),
		  struct bt86_xdata *x);

/* trace.c */
u64 *sh_ident_pte(const struct bt86_xdata *x, u32 gfn);
void sh_rmap_add(struct bt86_xdata *x, u32 gfn, u32 ref, u64 *spte);
void sh_rmap_del(struct bt86_xdata *x, u32 gfn, u32 ref);

/* spt.c */
u64 sh_host_pfn(const struct bt86_xdata *x, u32 gfn);
u32 sh_find(struct sh_state *s, u32 gfn, u8 kind, u16 role);
u32 sh_shadows_of(struct sh_state *s, u32 gfn, u32 *found, u32 max);
u32 sh_get(struct bt86_xdata *x, u32 gfn, u8 kind, u16 role);
void sh_set_leaf(struct bt86_xdata *x, u32 ref, u64 spte, u32 gfn);
u64 sh_guest_entry_gpa(const struct sh_page *sp, u32 e);
bool sh_pde_target(const struct bt86_xdata *x, const struct sh_page *pd, u32 e,
		   u64 gpde, u8 *kind, u32 *gfn, u16 *role);
bool sh_link(struct bt86_xdata *x, u32 pd, u32 e, u32 child);
void sh_unlink(struct bt86_xdata *x, u32 pd, u32 e);
void sh_release(struct bt86_xdata *x, u32 idx);
void sh_resync(struct bt86_xdata *x, u32 idx, u32 first, u32 last);
u64 sh_leaf(struct bt86_xdata *x, const struct sh_page *sp, u32 e, u64 gpte);
bool sh_guest_entry(const struct bt86_xdata *x, u64 gpa, unsigned int len,
		    u64 *v);

/* mmu.c */
void sh_zap_all(struct bt86_xdata *x);
void sh_ctx_drop(struct bt86_xdata *x, u32 i);
void sh_rebuild(struct bt86_xdata *x);

/* window.c */
void sh_window_written(struct bt86_xdata *x, u32 gfn, u32 off, u32 len);
long sh_window_fault(struct bt86_xdata *x, u32 lin, unsigned int acc);

/* ptwrite.c */
long sh_emulate_pt_write(struct bt86_xdata *x, u32 lin,
			 const struct sh_walk *w);

#endif /* BT86_SHADOW_INTERNAL_H */
