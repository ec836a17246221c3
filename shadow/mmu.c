// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging's life (docs/shadow-paging.md): the guest's paging modes,
 * the cache of address spaces keyed by CR3, hidden page faults, MOV to
 * CR0/CR3/CR4, INVLPG, and guest writes to its page tables.
 *
 * The monitor's page tables have the host's depth; the guest's low 4 GiB
 * is the first four entries of one PDPT (x->sh.low_pdpt).  With guest
 * paging off they point at the module's identity map of guest RAM; with
 * it on, at the four shadow page directories of the current context.
 * Switching is writing four entries and flushing the TLB.
 */
#include "bt_monitor.h"
#include "emulate.h"
#include "hw.h"
#include "internal.h"

/* Consecutive identical hidden faults before the VM stops: a monitor bug. */
#define SH_MAX_REPEATS 4
/* Reclaim until this many table pages are free, if contexts allow. */
#define SH_RECLAIM_FREE(s) ((s)->ntables / 8)
/* Traced writes to a page table between uses before it is unshadowed. */
#define SH_FLOOD 8

/* What the fault path's steps return besides 0 and a long to the host. */
#define SH_NOMEM  (-2) /* no page or reference block: reclaim */
#define SH_TRACED (-3) /* a write to a page that map() made traced */

#define WINDOW_SIZE 0x400000u

/* Stop the VM: shadow paging cannot go on (BT86_SHADOW_*). */
static long stop(struct bt86_xdata *x, u32 why, u32 lin)
{
	return exit_unsupported(x, BT86_UNSUPPORTED_SHADOW,
				(u64)why << 32 | lin);
}

static void flush_if_needed(struct sh_state *s)
{
	if (s->flush) {
		s->flush = 0;
		s->stats.flushes++;
		sh_hw_flush();
	}
}

static u64 *low_pdpt(const struct bt86_xdata *x)
{
	return (u64 *)(uintptr_t)x->sh.low_pdpt;
}

/* --- the walker's view of guest memory --------------------------------------- */

static bool env_read(void *opaque, u64 gpa, void *buf, unsigned int len)
{
	u64 v;
	bool ok = sh_guest_entry(opaque, gpa, len, &v);

	mon_memcpy(buf, &v, len);
	return ok;
}

static void env_set_bits(void *opaque, u64 gpa, u32 bits)
{
	struct bt86_xdata *x = opaque;

	/* A and D only add rights: no shadow needs to follow (spt.c). */
	if (sh_ram(sh_state(x), gpa >> 12))
		*(volatile u32 *)(uintptr_t)(x->sh.phys + gpa) |= bits;
}

/* Bits 62:MAXPHYADDR, reserved in PAE entries (CPUID 0x80000008). */
static u64 rsvd_high(void)
{
	u32 a, b, c, d, max;

	asm volatile("cpuid"
		     : "=a"(max), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(0x80000000u), "c"(0));
	a = 36;
	if (max >= 0x80000008u) {
		asm volatile("cpuid"
			     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(0x80000008u), "c"(0));
		a &= 0xff;
	}
	return ((1ULL << 63) - 1) & ~((1ULL << a) - 1);
}

/* CR4.SMEP and SMAP as this CPU has them (CPUID 7: EBX bits 7, 20). */
static u32 host_smxp(void)
{
	u32 a, b, c, d;

	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(0), "c"(0));
	if (a < 7)
		return 0;
	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(7), "c"(0));
	return ((b >> 7) & 1 ? SH_CR4_SMEP : 0) |
	       ((b >> 20) & 1 ? SH_CR4_SMAP : 0);
}

/*
 * The guest's paging registers as the walker takes them.  SMEP and SMAP
 * count only where the CPU enforces them on guest code too (set_hw_cr4()).
 */
static void sync_paging(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	struct sh_paging *p = &s->paging;

	p->cr0 = x->sregs.cr0;
	p->cr3 = x->sregs.cr3;
	p->cr4 = x->sregs.cr4 & ~((SH_CR4_SMEP | SH_CR4_SMAP) & ~s->smxp);
	p->nxe = (x->sregs.efer >> 11) & 1;
}

/*
 * The guest's CR4.SMEP and SMAP, on the real CPU while the shadow is
 * loaded: guest ring 0 runs at CPL 1, a supervisor level, on leaves whose
 * U/S is the guest's, so the CPU enforces them as the guest asked (the
 * real EFLAGS.AC is the guest's).  Never with guest paging off: the
 * identity map is all user pages.  The monitor's world keeps them until
 * the switch back to the host restores the host's CR4; the monitor itself
 * only ever touches supervisor pages.
 */
static void set_hw_cr4(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	u64 cr4, want = s->active ? x->sregs.cr4 & s->smxp : 0;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	if ((cr4 & (SH_CR4_SMEP | SH_CR4_SMAP)) == want)
		return;
	cr4 = (cr4 & ~(u64)(SH_CR4_SMEP | SH_CR4_SMAP)) | want;
	asm volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
}

/* Every entry from the host: the switch loaded the module's CR4. */
void shadow_enter(struct bt86_xdata *x)
{
	if (sh_state(x)->ready)
		set_hw_cr4(x);
}

bool shadow_active(const struct bt86_xdata *x)
{
	return sh_state(x)->active;
}

/* --- contexts ------------------------------------------------------------------ */

static bool pae(const struct sh_state *s)
{
	return s->paging.cr4 & SH_CR4_PAE;
}

/* The translator's window PDEs, in every shadow of the quarter it is in. */
static void map_window(struct bt86_xdata *x, u32 pd)
{
	struct sh_state *s = sh_state(x);
	u32 e = (x->sh.window_low >> 21) & 511, i;

	for (i = 0; i < 2; i++) {
		u64 *p = sh_entry(s, sh_ref(pd, e + i));

		if (!(*p & SPDE_FIXED))
			sh_unlink(x, pd, e + i);
		*p = x->sh.window_pde[i] | SPDE_FIXED;
	}
}

static void ctx_release(struct bt86_xdata *x, u32 i)
{
	struct sh_state *s = sh_state(x);
	struct sh_ctx *c = &s->ctx[i];
	unsigned int k;

	for (k = 0; k < 4; k++)
		if (c->pd[k] != SH_NONE && !--s->sp[c->pd[k]].users)
			sh_release(x, c->pd[k]);
	c->used = 0;
	s->stats.contexts--;
}

/* The CR3 a context is cached under. */
static u32 ctx_key(const struct sh_state *s, u32 cr3)
{
	return pae(s) ? cr3 & ~0x1fu : cr3 & GPTE_ADDR;
}

/*
 * The shadow PD for quarter @k of the context being built; SH_NONE with
 * *none for a PAE quarter the guest does not map, else only for want of
 * pages.  A page directory outside guest RAM reads as not present: its
 * shadow is an empty PD (holding the translator's window, if any).
 */
static u32 quarter_pd(struct bt86_xdata *x, unsigned int k, bool *none)
{
	struct sh_state *s = sh_state(x);
	bool window = x->sh.window_low && k == x->sh.window_low >> 30;
	u16 role = window ? ROLE_WINDOW : 0;
	u32 gfn, pd;

	*none = false;
	if (pae(s)) {
		u64 pdpte = s->paging.pdpte[k];

		if (!(pdpte & GPTE_P) && !window) {
			*none = true;
			return SH_NONE;
		}
		role |= ROLE_PAE;
		gfn = (pdpte & GPTE_P) && sh_ram(s, (pdpte & SPTE_ADDR) >> 12)
			      ? (u32)((pdpte & SPTE_ADDR) >> 12)
			      : SH_NO_GFN;
	} else {
		role |= k;
		gfn = ctx_key(s, s->paging.cr3) >> 12;
	}
	if (!sh_ram(s, gfn))
		gfn = SH_NO_GFN;
	pd = sh_get(x, gfn, SH_PD, role);
	if (pd != SH_NONE && window)
		map_window(x, pd);
	return pd;
}

static void ctx_build(struct bt86_xdata *x, u32 i)
{
	struct sh_state *s = sh_state(x);
	struct sh_ctx *c = &s->ctx[i];
	unsigned int k;
	bool none;

	c->used = 1;
	c->cr3 = ctx_key(s, s->paging.cr3);
	for (k = 0; k < 4; k++) {
		c->pdpte[k] = s->paging.pdpte[k];
		c->pd[k] = quarter_pd(x, k, &none);
		if (c->pd[k] != SH_NONE)
			s->sp[c->pd[k]].users++;
		else if (!none)
			c->used = 2; /* incomplete: not enough pages */
	}
	s->stats.contexts++;
}

/* The least recently used context other than the current one. */
static u32 ctx_victim(const struct sh_state *s)
{
	u32 i, v = SH_NONE;

	for (i = 0; i < SH_CTXS; i++)
		if (s->ctx[i].used && i != s->cur &&
		    (v == SH_NONE || s->ctx[i].stamp < s->ctx[v].stamp))
			v = i;
	return v;
}

/* Free table pages by dropping cached contexts; false if none was left. */
static bool reclaim(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	bool any = false;
	u32 v;

	while (s->ntables - s->sp_used < SH_RECLAIM_FREE(s) &&
	       (v = ctx_victim(s)) != SH_NONE) {
		ctx_release(x, v);
		s->stats.evictions++;
		any = true;
	}
	return any;
}

/* The context for the guest's CR3, built if missing; SH_NONE: no room. */
static u32 ctx_get(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	u32 key = ctx_key(s, s->paging.cr3), i, slot = SH_NONE;
	unsigned int k;

	for (i = 0; i < SH_CTXS; i++) {
		struct sh_ctx *c = &s->ctx[i];

		if (!c->used) {
			if (slot == SH_NONE)
				slot = i;
			continue;
		}
		if (c->cr3 != key)
			continue;
		for (k = 0; k < 4 && pae(s); k++)
			if (c->pdpte[k] != s->paging.pdpte[k])
				break;
		if (c->used == 1 && (!pae(s) || k == 4)) {
			s->stats.cr3_hits++;
			return i;
		}
		/* Stale PDPTEs or incomplete: build it again. */
		if (i == s->cur)
			s->cur = SH_NONE;
		ctx_release(x, i);
		if (slot == SH_NONE || slot > i)
			slot = i;
	}
	if (slot == SH_NONE) {
		slot = ctx_victim(s);
		if (slot == SH_NONE)
			return SH_NONE;
		ctx_release(x, slot);
		s->stats.evictions++;
	}
	ctx_build(x, slot);
	if (s->ctx[slot].used != 1) {
		ctx_release(x, slot);
		return SH_NONE;
	}
	return slot;
}

/* Point the low 4 GiB at context @i (or the identity map) and flush. */
static void load_hw(struct bt86_xdata *x, u32 i)
{
	struct sh_state *s = sh_state(x);
	u64 *pdpt = low_pdpt(x);
	unsigned int k;

	for (k = 0; k < 4; k++) {
		if (i == SH_NONE)
			pdpt[k] = s->ident_pdpte[k];
		else if (s->ctx[i].pd[k] == SH_NONE)
			pdpt[k] = 0;
		else
			pdpt[k] = sh_table_phys(s, s->ctx[i].pd[k]) | SPDE_LINK;
	}
	s->cur = i;
	if (i != SH_NONE) {
		s->ctx[i].stamp = ++s->clock;
		/* Its page directories are in use: not flooded. */
		for (k = 0; k < 4; k++)
			if (s->ctx[i].pd[k] != SH_NONE &&
			    sh_ram(s, s->sp[s->ctx[i].pd[k]].gfn))
				s->gfn[s->sp[s->ctx[i].pd[k]].gfn].flood = 0;
	}
	s->flush = 0;
	sh_hw_flush();
	/* Another address space: is the translator's window in its way? */
	x->bt.window_check = 1;
}

/*
 * Drop every shadow: contexts, page tables, their tracing.  Translated
 * code keeps its tracing.  The hardware keeps nothing that was freed.
 */
void sh_zap_all(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	u32 i;

	shadow_step_close(x);
	load_hw(x, SH_NONE);
	for (i = 0; i < SH_CTXS; i++)
		if (s->ctx[i].used)
			ctx_release(x, i);
	/* Nothing should be left; anything that is goes too. */
	for (i = 0; i < s->ntables; i++)
		if (s->sp[i].kind == SH_PD)
			sh_release(x, i);
	for (i = 0; i < s->ntables; i++)
		if (s->sp[i].kind != SH_FREE)
			sh_release(x, i);
	s->stats.zaps++;
}

/*
 * Make the guest's CR3 the current context; with no room, drop cached
 * contexts, then everything, and build it again.  A context needs at most
 * four pages, and the pool has SH_TABLES_MIN: it cannot fail after the
 * zap.
 */
static u32 switch_ctx(struct bt86_xdata *x)
{
	u32 i = ctx_get(x);

	if (i == SH_NONE && reclaim(x))
		i = ctx_get(x);
	if (i == SH_NONE) {
		sh_zap_all(x);
		i = ctx_get(x);
	}
	load_hw(x, i);
	return i;
}

/* The guest's paging changed mode (on, off, PSE, PAE, WP, NXE). */
static long mode_changed(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	bool on = (x->sregs.cr0 & CR0_PG) && (x->sregs.cr0 & CR0_PE);

	sync_paging(x);
	sh_zap_all(x);
	s->active = on;
	if (on && switch_ctx(x) == SH_NONE)
		return stop(x, BT86_SHADOW_BUG, 0);
	set_hw_cr4(x);
	if (x->bt.enabled)
		bt_code_tlb(x, 0, BT_TLB_MODE);
	desc_remapped(x);
	return 0;
}

/* At vcpu_load: set up once, then follow the state the host gave. */
void shadow_load(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	unsigned int k;

	if (!s->ready) {
		sh_pool_init(x);
		for (k = 0; k < 4; k++)
			s->ident_pdpte[k] = low_pdpt(x)[k];
		s->env.opaque = x;
		s->env.read = env_read;
		s->env.set_bits = env_set_bits;
		s->env.rsvd_high = rsvd_high();
		s->smxp = host_smxp();
		s->ready = sh_pool_fits(x);
		if (!s->ready)
			return;
	}
	if ((x->sregs.cr4 & SH_CR4_PAE) &&
	    !sh_load_pdptes(&s->env, &s->paging, x->sregs.cr3))
		mon_memset(s->paging.pdpte, 0, sizeof(s->paging.pdpte));
	mode_changed(x);
}

/* --- translation for the monitor's accesses ------------------------------------ */

fault_t shadow_translate(struct bt86_xdata *x, u32 lin, unsigned int acc,
			 u64 *gpa)
{
	struct sh_state *s = sh_state(x);
	struct sh_walk w;

	if (!s->active) {
		*gpa = lin;
		return 0;
	}
	if (!sh_walk(&s->env, &s->paging, lin, acc, &w)) {
		if (!(acc & SH_ACC_PEEK))
			x->sh.pf_addr = lin;
		return FAULT(VEC_PF, w.error);
	}
	*gpa = w.gpa;
	return 0;
}

bool shadow_peek(struct bt86_xdata *x, u32 lin, unsigned int acc, u64 *gpa,
		 bool *global)
{
	struct sh_state *s = sh_state(x);
	struct sh_walk w;

	if (!s->active) {
		*gpa = lin;
		return true;
	}
	if (!sh_walk(&s->env, &s->paging, lin, acc | SH_ACC_PEEK, &w))
		return false;
	*gpa = w.gpa;
	if (global)
		*global = w.global;
	return true;
}

bool shadow_dir_entry(struct bt86_xdata *x, u32 lin, u64 *pde, u32 *leaf)
{
	struct sh_state *s = sh_state(x);

	if (!s->active)
		return false;
	*pde = sh_dir_entry(&s->env, &s->paging, lin, leaf);
	return true;
}

/* --- hidden faults ---------------------------------------------------------------- */

/* Where the current shadow keeps the leaf for @lin, or SH_NONE. */
static u32 leaf_ref(const struct sh_state *s, u32 lin)
{
	u32 pd = s->ctx[s->cur].pd[lin >> 30];
	u64 spde;

	if (pd == SH_NONE)
		return SH_NONE;
	spde = *sh_entry(s, sh_ref(pd, (lin >> 21) & 511));
	if (!(spde & SPTE_P) || (spde & SPDE_FIXED))
		return SH_NONE;
	return sh_ref(SPDE_INDEX(spde), (lin >> 12) & 511);
}

/*
 * Make the current shadow map @lin as the guest's walk @w says: link the
 * right page table under the PDE, then recompute the leaf.  With CR0.WP
 * clear, a ring-0 write the guest's rights refuse gets a writable,
 * supervisor-only leaf (a later ring-3 access puts the guest's rights
 * back).  SH_NOMEM when a page or a link could not be had.
 */
static long map(struct bt86_xdata *x, u32 lin, const struct sh_walk *w,
		unsigned int acc)
{
	struct sh_state *s = sh_state(x);
	u32 pd = s->ctx[s->cur].pd[lin >> 30], e = (lin >> 21) & 511;
	u32 child, gfn, ref;
	u64 spde, spte;
	u16 role;
	u8 kind;

	if (pd == SH_NONE ||
	    !sh_pde_target(x, &s->sp[pd], e, w->pde, &kind, &gfn, &role))
		return stop(x, BT86_SHADOW_BUG, lin);
	spde = *sh_entry(s, sh_ref(pd, e));
	if (spde & SPTE_P) {
		const struct sh_page *c = &s->sp[SPDE_INDEX(spde)];

		if (c->kind != kind || c->gfn != gfn || c->role != role)
			sh_unlink(x, pd, e);
	}
	spde = *sh_entry(s, sh_ref(pd, e));
	if (!(spde & SPTE_P)) {
		child = sh_get(x, gfn, kind, role);
		if (child == SH_NONE)
			return SH_NOMEM;
		if (!sh_link(x, pd, e, child)) {
			if (!s->sp[child].nparents)
				sh_release(x, child);
			return SH_NOMEM;
		}
	}
	child = SPDE_INDEX(*sh_entry(s, sh_ref(pd, e)));
	if (kind == SH_PT)
		s->gfn[gfn].flood = 0;
	ref = sh_ref(child, (lin >> 12) & 511);
	sh_resync(x, child, ref & 511, ref & 511);
	spte = *sh_entry(s, ref);
	if ((acc & SH_ACC_WRITE) && !(acc & SH_ACC_USER) && !w->write &&
	    (spte & SPTE_P) && !s->gfn[w->gpa >> 12].trace) {
		/* CR0.WP = 0: the walk let ring 0 write a read-only page. */
		sh_set_leaf(x, ref, (spte | SPTE_W | SPTE_WP0) & ~SPTE_U,
			    (u32)(w->gpa >> 12));
		spte = *sh_entry(s, ref);
	}
	sh_hw_invlpg(lin);
	/*
	 * A write to a page that linking the table traced: the page table
	 * maps itself, and the write is a page-table write after all.
	 */
	if ((acc & SH_ACC_WRITE) && (spte & SPTE_P) && !(spte & SPTE_W) &&
	    s->gfn[w->gpa >> 12].trace)
		return SH_TRACED;
	/* The leaf must now allow the access, or the pool ran dry. */
	if (!(spte & SPTE_P) || ((acc & SH_ACC_WRITE) && !(spte & SPTE_W)) ||
	    ((acc & SH_ACC_USER) && !(spte & SPTE_U)))
		return SH_NOMEM;
	return 0;
}

/* Out of pages: drop cached contexts, else everything; the guest retries. */
static long out_of_pages(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);

	if (!reclaim(x)) {
		sh_zap_all(x);
		if (switch_ctx(x) == SH_NONE)
			return stop(x, BT86_SHADOW_BUG, 0);
	}
	flush_if_needed(s);
	return 0;
}

/*
 * A write to a traced page table or descriptor table: done for the guest,
 * or stepped natively.
 */
static long data_write(struct bt86_xdata *x, u32 lin, const struct sh_walk *w,
		       unsigned int acc);

/* A guest write to a traced page, which the walk allows. */
static long traced_write(struct bt86_xdata *x, u32 lin, const struct sh_walk *w,
			 unsigned int acc)
{
	struct sh_state *s = sh_state(x);
	u32 gfn = (u32)(w->gpa >> 12);
	u8 why = s->gfn[gfn].trace;
	long ret;

	if (why & TRACE_CODE) {
		bt_code_write_gfn(x, gfn);
		if (!(why & ~TRACE_CODE)) {
			/* Only code: the page is untraced now, map it writable. */
			ret = map(x, lin, w, acc);
			flush_if_needed(s);
			if (ret == SH_TRACED)
				return data_write(x, lin, w, acc);
			if (ret)
				return ret == SH_NOMEM ? out_of_pages(x) : ret;
			return bt_code_write_done(x);
		}
	}
	return data_write(x, lin, w, acc);
}

long shadow_page_fault(struct bt86_xdata *x, u32 lin)
{
	struct sh_state *s = sh_state(x);
	unsigned int acc = (u32)x->error &
			   (SH_ACC_WRITE | SH_ACC_USER | SH_ACC_FETCH);
	struct sh_walk w;
	long ret;

	if (x->sh.window_low && lin - x->sh.window_low < WINDOW_SIZE)
		return sh_window_fault(x, lin, acc);
	if (x->error & SH_PF_RSVD)
		return stop(x, BT86_SHADOW_BUG, lin);
	if (!sh_walk(&s->env, &s->paging, lin, acc, &w)) {
		s->stats.guest_faults++;
		x->sh.pf_addr = lin;
		return raise_fault(x, FAULT(VEC_PF, w.error));
	}
	if (!sh_ram(s, w.gpa >> 12)) {
		s->stats.mmio_faults++;
		return emulate_mmio(x, w.gpa);
	}
	if ((acc & SH_ACC_WRITE) && s->gfn[w.gpa >> 12].trace)
		return traced_write(x, lin, &w, acc);
	/* The same fault again and again: the shadow does not follow. */
	if (lin == s->last_lin && x->regs.eip == s->last_eip &&
	    x->v.trace_next == s->last_trap + 1) {
		if (++s->repeats >= SH_MAX_REPEATS)
			return stop(x, BT86_SHADOW_STUCK, lin);
	} else {
		s->last_lin = lin;
		s->last_eip = x->regs.eip;
		s->repeats = 0;
	}
	s->last_trap = x->v.trace_next;
	s->stats.hidden_faults++;
	ret = map(x, lin, &w, acc);
	flush_if_needed(s);
	if (ret == SH_TRACED)
		return traced_write(x, lin, &w, acc);
	if (ret == SH_NOMEM)
		return out_of_pages(x);
	return ret;
}

/* --- guest page-table writes -------------------------------------------------------- */

/* Context @i has a shadow of guest page directory @gfn. */
static bool ctx_has_pd(const struct sh_state *s, u32 i, u32 gfn)
{
	unsigned int k;

	for (k = 0; k < 4; k++)
		if (s->ctx[i].pd[k] != SH_NONE &&
		    s->sp[s->ctx[i].pd[k]].gfn == gfn)
			return true;
	return false;
}

/*
 * Drop the shadows of @gfn: a page written over and over without being
 * used as a page table any more (Linux freeing and reusing it; a fork
 * whose new page directory is the page the last child's was freed from).
 * Its shadow PTs lose every link; the cached address spaces whose page
 * directory it is go, to be built again at their next MOV CR3, but not
 * the current one, which the CPU is using.  True if it is untraced now.
 */
static bool unshadow(struct bt86_xdata *x, u32 gfn)
{
	struct sh_state *s = sh_state(x);
	u32 found[32], n, i, ref;
	bool any = false;

	s->gfn[gfn].flood = 0;
	for (i = 0; i < SH_CTXS; i++)
		if (s->ctx[i].used && i != s->cur && ctx_has_pd(s, i, gfn)) {
			ctx_release(x, i);
			any = true;
		}
	n = sh_shadows_of(s, gfn, found, 32);
	for (i = 0; i < n; i++) {
		const struct sh_page *sp = &s->sp[found[i]];

		/* Every PDE linking it goes; the last one frees it. */
		while (sp->kind == SH_PT && sp->gfn == gfn &&
		       (ref = sh_refs_first(s, sp->parents)) != SH_NONE) {
			sh_unlink(x, ref >> 9, ref & 511);
			any = true;
		}
	}
	if (any)
		s->stats.unshadowed++;
	return !s->gfn[gfn].trace;
}

/*
 * Can the monitor do the write itself?  Not under the guest's own TF,
 * whose #DB must follow the instruction, nor inside a sequence the
 * translator rewrote, where the registers are not the guest's yet.
 */
static bool may_emulate(const struct bt86_xdata *x)
{
	return !(x->regs.eflags & EFLAGS_TF) &&
	       (!bt_from_tc(x) || x->bt.kind == BT_MAP_INSN);
}

/*
 * Open the mapping of traced @gfn at @lin for one native step: shadow
 * leaf @ref, or with guest paging off (SH_NONE) the identity map's PTE.
 * The mappings opened before stay open if the step is still going
 * (step_keep: it faulted on this page next).
 */
static long step_open(struct bt86_xdata *x, u32 lin, u32 gfn, u32 ref)
{
	struct sh_state *s = sh_state(x);
	struct sh_step *st;
	u64 *e = ref == SH_NONE ? sh_ident_pte(x, gfn) : sh_entry(s, ref);

	if (!s->step_keep)
		shadow_step_close(x);
	s->step_keep = 0;
	if (s->nsteps == SH_STEP_MAX)
		return stop(x, BT86_SHADOW_TRACE, lin);
	st = &s->steps[s->nsteps++];
	st->ref = ref;
	st->gfn = gfn;
	st->lin = lin;
	st->old = *e;
	*e |= SPTE_W;
	flush_if_needed(s);
	sh_hw_invlpg(lin);
	x->bt.native = 1;
	return 0;
}

static long data_write(struct bt86_xdata *x, u32 lin, const struct sh_walk *w,
		       unsigned int acc)
{
	struct sh_state *s = sh_state(x);
	u32 gfn = (u32)(w->gpa >> 12), ref = SH_NONE;
	u8 why = s->gfn[gfn].trace;
	long ret;

	if (why & TRACE_DESC)
		count_emulated(x, BT86_EMUL_DESC_WRITE);
	if (why & TRACE_PT) {
		s->stats.pt_writes++;
		if (++s->gfn[gfn].flood >= SH_FLOOD && unshadow(x, gfn)) {
			ret = map(x, lin, w, acc);
			flush_if_needed(s);
			if (ret != SH_TRACED)
				return ret == SH_NOMEM ? out_of_pages(x) : ret;
			/* It maps itself: shadowed again, the write goes on. */
		}
	}
	ret = may_emulate(x) ? sh_emulate_pt_write(x, lin, w) : -1;
	if (ret >= 0) {
		if (why & TRACE_PT)
			s->stats.pt_emulated++;
		flush_if_needed(s);
		return ret;
	}
	/*
	 * Anything else runs natively, alone, on a leaf made writable for
	 * it; at the next trap the leaf is read-only again and what depends
	 * on the page follows what it wrote (shadow_step_done()).
	 */
	if (s->active) {
		ret = map(x, lin, w, acc & ~SH_ACC_WRITE);
		if (ret)
			return ret == SH_NOMEM ? out_of_pages(x) : ret;
		ref = leaf_ref(s, lin);
		if (ref == SH_NONE)
			return stop(x, BT86_SHADOW_BUG, lin);
	}
	return step_open(x, lin, gfn, ref);
}

/* Close the mappings of a native step; what depends on the pages follows. */
void shadow_step_close(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);
	unsigned int i, n = s->nsteps;

	s->nsteps = 0;
	s->step_keep = 0;
	for (i = 0; i < n; i++) {
		const struct sh_step *st = &s->steps[i];

		if (st->ref == SH_NONE)
			*sh_ident_pte(x, st->gfn) = st->old;
		else
			*sh_entry(s, st->ref) = st->old;
		sh_hw_invlpg(st->lin);
	}
	for (i = 0; i < n; i++) {
		u32 gfn = s->steps[i].gfn;
		u8 why = trace_flags(x, gfn);

		if (why & TRACE_PT)
			shadow_pt_written(x, (u64)gfn << 12, 4096);
		if (why & TRACE_DESC)
			desc_written(x, (u64)gfn << 12, 4096);
		if (why & TRACE_CODE)
			bt_code_write_gfn(x, gfn);
	}
	flush_if_needed(s);
}

/*
 * A write to a traced frame at guest-linear @lin: a #PF that a native
 * step may still be part of (a write across pages, a PUSHA).
 */
static bool traced_write_fault(struct bt86_xdata *x, u32 lin)
{
	u64 gpa;

	if (x->vector != VEC_PF || (x->error & 3) != 3 ||
	    !shadow_peek(x, lin, 0, &gpa, NULL))
		return false;
	return trace_flags(x, gpa >> 12) != 0;
}

/*
 * Every trap from guest code (main.c): a native step is over, unless it
 * faults on one more traced page, which the fault's handler then opens
 * too (shadow_step_settle() closes them if it does not).
 */
void shadow_step_done(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);

	if (!s->nsteps)
		return;
	if (s->nsteps < SH_STEP_MAX &&
	    traced_write_fault(x, (u32)x->guest_cr2)) {
		s->step_keep = 1;
		return;
	}
	shadow_step_close(x);
}

/* After the trap's handler: a step it did not go on with is over. */
void shadow_step_settle(struct bt86_xdata *x)
{
	if (sh_state(x)->step_keep)
		shadow_step_close(x);
}

/*
 * #PF on a write to guest RAM at @addr with guest paging off: -1 if the
 * frame is not traced (the fault is not the guest's either), else the
 * traced write, as with paging on.
 */
long shadow_ident_write_fault(struct bt86_xdata *x, u32 addr)
{
	struct sh_state *s = sh_state(x);
	struct sh_walk w;

	if (s->active || !trace_flags(x, addr >> 12))
		return -1;
	mon_memset(&w, 0, sizeof(w));
	w.gpa = addr;
	if (trace_flags(x, addr >> 12) & TRACE_CODE) {
		bt_code_write_gfn(x, addr >> 12);
		if (!trace_flags(x, addr >> 12))
			return bt_code_write_done(x);
	}
	return data_write(x, addr, &w, SH_ACC_WRITE);
}

/* --- the instructions --------------------------------------------------------------- */

fault_t shadow_set_cr0(struct bt86_xdata *x, u32 cr0, long *stop)
{
	struct sh_state *s = sh_state(x);
	u32 old = x->sregs.cr0;

	/* PAE paging turned on: the PDPTE registers load (SDM 3A §4.4.1). */
	if ((cr0 & CR0_PG) && !(old & CR0_PG) && (x->sregs.cr4 & SH_CR4_PAE) &&
	    !sh_load_pdptes(&s->env, &s->paging, x->sregs.cr3))
		return FAULT_GP0;
	x->sregs.cr0 = cr0;
	if ((old ^ cr0) & (CR0_PG | SH_CR0_WP))
		*stop = mode_changed(x);
	return 0;
}

/* MOV to CR3, and task switches: the new address space. */
fault_t shadow_set_cr3(struct bt86_xdata *x, u32 cr3)
{
	struct sh_state *s = sh_state(x);

	if (s->active && pae(s)) {
		/* The PDPTE registers load now (SDM 3A §4.4.1). */
		if (!sh_load_pdptes(&s->env, &s->paging, cr3))
			return FAULT_GP0;
	}
	x->sregs.cr3 = cr3;
	if (!s->active)
		return 0;
	sync_paging(x);
	s->stats.cr3_writes++;
	if (switch_ctx(x) == SH_NONE)
		return FAULT_GP0;
	if (x->bt.enabled)
		bt_code_tlb(x, 0, BT_TLB_NONGLOBAL);
	desc_remapped(x);
	return 0;
}

fault_t shadow_set_cr4(struct bt86_xdata *x, u32 cr4)
{
	struct sh_state *s = sh_state(x);
	u32 old = x->sregs.cr4;

	x->sregs.cr4 = cr4;
	if (!s->active)
		return 0;
	if ((old ^ cr4) & (SH_CR4_PSE | SH_CR4_PAE)) {
		if ((cr4 & SH_CR4_PAE) &&
		    !sh_load_pdptes(&s->env, &s->paging, x->sregs.cr3)) {
			x->sregs.cr4 = old;
			return FAULT_GP0;
		}
		mode_changed(x);
	} else if ((old ^ cr4) & (SH_CR4_PGE | SH_CR4_SMEP | SH_CR4_SMAP)) {
		/* Global pages flushed: nothing the shadow keeps is stale. */
		sync_paging(x);
		set_hw_cr4(x);
		/* SMEP changes which fetches a mapping allows (SDM 3A §4.6) */
		if (x->bt.enabled)
			bt_code_tlb(x, 0,
				    (old ^ cr4) & SH_CR4_SMEP ? BT_TLB_MODE
							      : BT_TLB_ALL);
	}
	return 0;
}

/* WRMSR to EFER: NXE changes what PAE entries mean. */
void shadow_set_efer(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);

	if (s->active && pae(s) && s->paging.nxe != ((x->sregs.efer >> 11) & 1))
		mode_changed(x);
}

void shadow_invlpg(struct bt86_xdata *x, u32 lin)
{
	struct sh_state *s = sh_state(x);

	if (!s->active)
		return;
	/*
	 * The shadow follows every guest page-table write already: it holds
	 * nothing a TLB would still hold (docs/shadow-paging.md).
	 */
	s->stats.invlpg++;
	sh_hw_invlpg(lin);
	if (x->bt.enabled)
		bt_code_tlb(x, lin, BT_TLB_PAGE);
	desc_invlpg(x, lin);
}

void shadow_export_stats(struct bt86_xdata *x)
{
	struct sh_state *s = sh_state(x);

	if (!s->ready)
		return;
	s->stats.pages_used = s->sp_used;
	x->stats.shadow = s->stats;
}

/* --- the translator's window (window.c) ------------------------------------------ */

/* Drop cached context @i, which is not the current one. */
void sh_ctx_drop(struct bt86_xdata *x, u32 i)
{
	ctx_release(x, i);
	sh_state(x)->stats.evictions++;
}

/* The window moved to another GiB: every shadow goes, the current returns. */
void sh_rebuild(struct bt86_xdata *x)
{
	sh_zap_all(x);
	switch_ctx(x);
}
