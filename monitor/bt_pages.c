// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping translations coherent with guest code (docs/translator.md,
 * "Coherence"; docs/shadow-paging.md, "Translated code").
 *
 * Translations are found by guest linear address, but guest code lives in
 * guest-physical pages, and with guest paging on a linear page may show
 * other code after a CR3 write or a PTE change.  So every linear page that
 * holds code of a live translation has a record: the linear page, the
 * guest frame its code came from, and whether the mapping was global.
 *
 *   - The frame is write-traced (TRACE_CODE, shadow/trace.c): a guest
 *     write to it, through any linear address, faults; the monitor drops
 *     the translations of every linear page recorded with that frame,
 *     untraces the frame, and lets the write happen: natively for ring 3,
 *     and for translated code by running the writing instruction natively
 *     once, since translating it again would protect the page before it
 *     wrote.
 *   - The mapping is checked where a TLB would be flushed (bt_code_tlb()):
 *     at INVLPG for its page, at CR3 writes unless it was global, at mode
 *     changes always.  A record whose linear page no longer maps its frame
 *     goes, with the translations of that linear page.
 *   - Checking every record at every CR3 write costs a guest walk each: a
 *     kernel whose own mappings are not global (Linux with page-table
 *     isolation) would pay ~1000 walks per system call.  So the records
 *     are grouped by 2 MiB slot, and a slot remembers the page-directory
 *     entries (sh_dir_entry()) through which all its records were found
 *     mapped, and traces the page tables those entries name.  An address
 *     space whose entry is one of them maps the slot alike as long as that
 *     table is not written (a write forgets the entry), so its records
 *     need no walk: a CR3 write costs one PDE read per slot.
 *
 * With guest paging off a linear page is its own frame and records never
 * go stale.  When the records run out, the oldest goes with its
 * translations.
 *
 * An instruction that keeps faulting this way (a loop patching itself, a
 * kernel writing data next to its code) is retranslated as a call out
 * after BT_HOT_FAULTS faults (Adams & Agesen, ASPLOS 2006): the monitor
 * drops the translations its writes hit before it runs, with no fault.
 */
#include "bt_monitor.h"
#include "emulate.h"
#include "shadow.h"

#define CODE_NONE 0xffffffffu

static struct bt_code_page *rec(struct bt_meta *m, u32 i)
{
	return &m->code[i];
}

static u32 lin_bucket(u32 lin)
{
	return (lin >> 12) % BT_CODE_HASH;
}

static u32 gfn_bucket(u32 gfn)
{
	return gfn % BT_CODE_HASH;
}

/* The records, set up at first use (bt_run.c zeroes the metadata). */
static struct bt_meta *code_meta(struct bt86_xdata *x)
{
	struct bt_meta *m = bt_meta(x);
	u32 i;

	if (m->code_ready)
		return m;

	for (i = 0; i < BT_CODE_HASH; i++) {
		m->code_lhash[i] = CODE_NONE;
		m->code_ghash[i] = CODE_NONE;
	}
	for (i = 0; i < BT_CODE_PAGES; i++)
		rec(m, i)->unext = i + 1 < BT_CODE_PAGES ? i + 1 : CODE_NONE;
	m->code_free = 0;
	m->code_used = CODE_NONE;
	m->code_last = CODE_NONE;
	m->code_ready = 1;
	return m;
}

static void chain_remove(struct bt_meta *m, u32 *head, u32 i, bool by_lin)
{
	u32 *link = head;

	while (*link != i)
		link = by_lin ? &rec(m, *link)->lnext : &rec(m, *link)->gnext;
	*link = by_lin ? rec(m, i)->lnext : rec(m, i)->gnext;
}

static bool gfn_recorded(struct bt_meta *m, u32 gfn)
{
	u32 i;

	for (i = m->code_ghash[gfn_bucket(gfn)]; i != CODE_NONE;
	     i = rec(m, i)->gnext)
		if (rec(m, i)->gfn == gfn)
			return true;
	return false;
}

/* Is a remembered path of a slot in use naming page table @gfn? */
static bool leaf_named(struct bt_meta *m, u32 gfn)
{
	u32 i, k;

	for (i = 0; i < BT_CODE_SLOTS; i++) {
		struct bt_code_slot *sl = &m->code_slot[i];

		for (k = 0; sl->nrec && k < BT_SLOT_PATHS; k++)
			if (sl->path[k].valid && sl->path[k].leaf == gfn)
				return true;
	}
	return false;
}

/* Does frame @gfn still need TRACE_CODE: code in it, or a path's table? */
static bool frame_needed(struct bt_meta *m, u32 gfn)
{
	return gfn_recorded(m, gfn) || leaf_named(m, gfn);
}

static void path_forget(struct bt86_xdata *x, struct bt_code_path *p)
{
	p->valid = 0;
	if (p->leaf != SH_NO_TABLE && !frame_needed(bt_meta(x), p->leaf))
		trace_del(x, p->leaf, TRACE_CODE);
}

/* Forget the paths of @sl, but the one through @keep if @keep_one. */
static void slot_forget_paths(struct bt86_xdata *x, struct bt_code_slot *sl,
			      bool keep_one, u64 keep)
{
	u32 k;

	for (k = 0; k < BT_SLOT_PATHS; k++) {
		struct bt_code_path *p = &sl->path[k];

		if (p->valid && !(keep_one && p->pde == keep))
			path_forget(x, p);
	}
}

/*
 * Every record of @sl maps its frame through directory entry @pde (naming
 * table @leaf): remember it, and trace the table so that a write to it
 * forgets it.
 */
static void path_remember(struct bt86_xdata *x, struct bt_code_slot *sl,
			  u64 pde, u32 leaf)
{
	struct bt_code_path *p = &sl->path[sl->next_path];

	if (leaf != SH_NO_TABLE && !guest_gfn_ram(x, leaf))
		return; /* a table outside RAM cannot be traced */
	sl->next_path = (sl->next_path + 1) % BT_SLOT_PATHS;
	if (p->valid)
		path_forget(x, p);
	p->pde = pde;
	p->leaf = leaf;
	p->valid = 1;
	if (leaf != SH_NO_TABLE)
		trace_add(x, leaf, TRACE_CODE);
}

static bool path_known(const struct bt_code_slot *sl, u64 pde)
{
	u32 k;

	for (k = 0; k < BT_SLOT_PATHS; k++)
		if (sl->path[k].valid && sl->path[k].pde == pde)
			return true;
	return false;
}

static void slot_unlink(struct bt86_xdata *x, u32 i)
{
	struct bt_meta *m = bt_meta(x);
	struct bt_code_page *r = rec(m, i);
	struct bt_code_slot *sl = &m->code_slot[r->slot];

	if (r->sprev != CODE_NONE)
		rec(m, r->sprev)->snext = r->snext;
	else
		sl->first = r->snext;
	if (r->snext != CODE_NONE)
		rec(m, r->snext)->sprev = r->sprev;
	sl->nrec--;
	sl->nglobal -= r->lin & 1;
	if (!sl->nrec)
		slot_forget_paths(x, sl, false, 0);
}

/* Forget record @i (its translations are gone or going). */
static void drop(struct bt86_xdata *x, u32 i)
{
	struct bt_meta *m = bt_meta(x);
	struct bt_code_page *r = rec(m, i);
	u32 gfn = r->gfn;

	chain_remove(m, &m->code_lhash[lin_bucket(r->lin)], i, true);
	chain_remove(m, &m->code_ghash[gfn_bucket(gfn)], i, false);
	slot_unlink(x, i);
	if (r->uprev != CODE_NONE)
		rec(m, r->uprev)->unext = r->unext;
	else
		m->code_used = r->unext;
	if (r->unext != CODE_NONE)
		rec(m, r->unext)->uprev = r->uprev;
	else
		m->code_last = r->uprev;
	r->unext = m->code_free;
	m->code_free = i;
	if (!frame_needed(m, gfn))
		trace_del(x, gfn, TRACE_CODE);
}

/* Drop the translations of @i's linear page, and the record. */
static void drop_code(struct bt86_xdata *x, u32 i)
{
	struct bt_meta *m = bt_meta(x);
	u32 lin = rec(m, i)->lin & ~0xfffu;

	m->cache.stats.invalidated +=
		bt_invalidate_range(bt_cache(x), lin, 4096);
	drop(x, i);
}

/* Room for a record: the oldest one outside [keep_lo, keep_hi) goes. */
static u32 take(struct bt86_xdata *x, u32 keep_lo, u32 keep_hi)
{
	struct bt_meta *m = bt_meta(x);
	u32 i = m->code_free;

	if (i == CODE_NONE) {
		for (i = m->code_used; i != CODE_NONE; i = rec(m, i)->unext) {
			u32 lin = rec(m, i)->lin & ~0xfffu;

			if (lin + 4096 <= keep_lo || lin >= keep_hi)
				break;
		}
		if (i == CODE_NONE)
			return CODE_NONE;
		drop_code(x, i);
		i = m->code_free;
	}
	m->code_free = rec(m, i)->unext;
	return i;
}

/* Drop every record of slot @si, with its translations. */
static void slot_drop(struct bt86_xdata *x, u32 si)
{
	struct bt_code_slot *sl = &bt_meta(x)->code_slot[si];

	while (sl->nrec)
		drop_code(x, sl->first);
}

/*
 * The slot for linear page @lin; when all are in use, the one with the
 * fewest records outside [keep_lo, keep_hi) goes (none can be in use by
 * a block that spans at most two pages).
 */
static u32 slot_get(struct bt86_xdata *x, u32 lin, u32 keep_lo, u32 keep_hi)
{
	struct bt_meta *m = bt_meta(x);
	u32 i, free = CODE_NONE, fewest = CODE_NONE;
	struct bt_code_slot *sl;

	for (i = 0; i < BT_CODE_SLOTS; i++) {
		u64 lo = (u64)m->code_slot[i].base << BT_SLOT_SHIFT;
		u64 hi = lo + (1u << BT_SLOT_SHIFT);

		sl = &m->code_slot[i];
		if (!sl->nrec) {
			if (free == CODE_NONE)
				free = i;
		} else if (sl->base == lin >> BT_SLOT_SHIFT) {
			return i;
		} else if ((hi <= keep_lo || lo >= keep_hi) &&
			   (fewest == CODE_NONE ||
			    sl->nrec < m->code_slot[fewest].nrec)) {
			fewest = i;
		}
	}
	if (free == CODE_NONE) {
		if (fewest == CODE_NONE)
			return CODE_NONE;
		slot_drop(x, fewest);
		free = fewest;
	}
	sl = &m->code_slot[free];
	sl->base = lin >> BT_SLOT_SHIFT;
	sl->first = CODE_NONE;
	sl->nglobal = 0;
	sl->next_path = 0;
	return free;
}

/*
 * Record @i joins the slot of its page.  Its mapping is the one in use
 * now: remembered paths other than the current one never checked it.
 */
static void slot_link(struct bt86_xdata *x, u32 i, u32 si)
{
	struct bt_meta *m = bt_meta(x);
	struct bt_code_page *r = rec(m, i);
	struct bt_code_slot *sl = &m->code_slot[si];
	u64 pde;
	u32 leaf;

	r->slot = si;
	r->sprev = CODE_NONE;
	r->snext = sl->first;
	if (sl->first != CODE_NONE)
		rec(m, sl->first)->sprev = i;
	sl->first = i;
	sl->nrec++;
	sl->nglobal += r->lin & 1;
	if (shadow_dir_entry(x, r->lin & ~0xfffu, &pde, &leaf))
		slot_forget_paths(x, sl, true, pde);
	else
		slot_forget_paths(x, sl, false, 0);
}

static void add(struct bt86_xdata *x, u32 lin, u32 gfn, bool global,
		const struct bt_block *b)
{
	struct bt_meta *m = code_meta(x);
	struct bt_code_page *r;
	u32 i, si;

	for (i = m->code_lhash[lin_bucket(lin)]; i != CODE_NONE;
	     i = rec(m, i)->lnext)
		if ((rec(m, i)->lin & ~0xfffu) == lin && rec(m, i)->gfn == gfn)
			return;
	/* neither can fail: a block spans at most two pages */
	si = slot_get(x, lin, b->lin_start & ~0xfffu, b->lin_end);
	if (si == CODE_NONE)
		return;
	i = take(x, b->lin_start & ~0xfffu, b->lin_end);
	if (i == CODE_NONE)
		return;
	r = rec(m, i);
	r->lin = lin | global;
	r->gfn = gfn;
	r->lnext = m->code_lhash[lin_bucket(lin)];
	m->code_lhash[lin_bucket(lin)] = i;
	r->gnext = m->code_ghash[gfn_bucket(gfn)];
	m->code_ghash[gfn_bucket(gfn)] = i;
	r->unext = CODE_NONE;
	r->uprev = m->code_last;
	if (m->code_last != CODE_NONE)
		rec(m, m->code_last)->unext = i;
	else
		m->code_used = i;
	m->code_last = i;
	slot_link(x, i, si);
	trace_add(x, gfn, TRACE_CODE);
}

/* A new translation: record and protect the pages its guest code came from. */
void bt_trace_block(struct bt86_xdata *x, const struct bt_block *b)
{
	u32 lin, last = (b->lin_end - 1) & ~0xfffu;
	bool global;
	u64 gpa;

	for (lin = b->lin_start & ~0xfffu;; lin += 4096) {
		if (!guest_lin_to_phys(x, lin, SH_ACC_FETCH, &gpa, &global) &&
		    guest_gfn_ram(x, gpa >> 12))
			add(x, lin, (u32)(gpa >> 12), global, b);
		if (lin == last)
			break;
	}
}

/* The cache was flushed: no page holds translated code any more. */
void bt_untrace_all(struct bt86_xdata *x)
{
	struct bt_meta *m = code_meta(x);

	while (m->code_used != CODE_NONE)
		drop(x, m->code_used);
}

/* Page table @gfn is about to be written: the paths naming it go. */
static void forget_leaf(struct bt86_xdata *x, u32 gfn)
{
	struct bt_meta *m = bt_meta(x);
	u32 i, k;

	for (i = 0; i < BT_CODE_SLOTS; i++) {
		struct bt_code_slot *sl = &m->code_slot[i];

		for (k = 0; sl->nrec && k < BT_SLOT_PATHS; k++)
			if (sl->path[k].valid && sl->path[k].leaf == gfn)
				path_forget(x, &sl->path[k]);
	}
}

/*
 * Guest frame @gfn is about to be written: drop the translations of every
 * linear page recorded with it.  True if there were any.
 */
bool bt_code_write_gfn(struct bt86_xdata *x, u32 gfn)
{
	struct bt_meta *m;
	u32 i, next;
	bool hit = false;

	if (!x->bt.ready || !(trace_flags(x, gfn) & TRACE_CODE))
		return false;
	m = code_meta(x);
	for (i = m->code_ghash[gfn_bucket(gfn)]; i != CODE_NONE; i = next) {
		next = rec(m, i)->gnext;
		if (rec(m, i)->gfn != gfn)
			continue;
		drop_code(x, i);
		hit = true;
	}
	forget_leaf(x, gfn);
	return hit;
}

/*
 * Guest code (or the monitor for it) is about to write [lin, lin + len):
 * drop the translations of every traced page in it.  True if any was.
 */
bool bt_code_write(struct bt86_xdata *x, u32 lin, u32 len)
{
	u32 page, last;
	bool hit = false;
	u64 gpa;

	if (!x->bt.ready || !len)
		return false;
	last = (lin + len - 1) & ~0xfffu;
	for (page = lin & ~0xfffu;; page += 4096) {
		if (!guest_lin_to_phys(x, page, 0, &gpa, NULL))
			hit |= bt_code_write_gfn(x, (u32)(gpa >> 12));
		if (page == last)
			break;
	}
	return hit;
}

/* Does record @r's linear page still map its frame, as a fetch? */
static bool still_mapped(struct bt86_xdata *x, const struct bt_code_page *r)
{
	u64 gpa;

	return !guest_lin_to_phys(x, r->lin & ~0xfffu, SH_ACC_FETCH, &gpa,
				  NULL) &&
	       gpa >> 12 == r->gfn;
}

/* INVLPG of @lin: its records are checked again. */
static void tlb_page(struct bt86_xdata *x, u32 lin)
{
	struct bt_meta *m = bt_meta(x);
	u32 i, next;

	for (i = m->code_lhash[lin_bucket(lin)]; i != CODE_NONE; i = next) {
		next = rec(m, i)->lnext;
		if ((rec(m, i)->lin & ~0xfffu) == (lin & ~0xfffu) &&
		    !still_mapped(x, rec(m, i)))
			drop_code(x, i);
	}
}

/*
 * A flush of every entry (of every non-global one with @nonglobal) for
 * slot @sl: nothing to do if the directory entry now is a remembered
 * one; else its records are checked, and the entry remembered if all of
 * them map their frames.  A global record that does not stays through a
 * CR3 write, as its TLB entry would, and the entry is not remembered.
 */
static void tlb_slot(struct bt86_xdata *x, struct bt_code_slot *sl,
		     bool nonglobal)
{
	struct bt_meta *m = bt_meta(x);
	bool paging, all = true;
	u64 pde;
	u32 i, next, leaf;

	if (nonglobal && sl->nglobal == sl->nrec)
		return;
	paging = shadow_dir_entry(x, sl->base << BT_SLOT_SHIFT, &pde, &leaf);
	if (paging && path_known(sl, pde)) {
		m->cache.stats.slots_kept++;
		return;
	}
	m->cache.stats.slots_checked++;
	for (i = sl->first; i != CODE_NONE; i = next) {
		struct bt_code_page *r = rec(m, i);

		next = r->snext;
		if (still_mapped(x, r))
			continue;
		if (nonglobal && (r->lin & 1))
			all = false;
		else
			drop_code(x, i);
	}
	if (paging && sl->nrec && all)
		path_remember(x, sl, pde, leaf);
}

/*
 * What a TLB flush would drop (shadow/mmu.c): the records of linear page
 * @lin (BT_TLB_PAGE), of every page but global ones (BT_TLB_NONGLOBAL) or
 * of every page (BT_TLB_ALL, BT_TLB_MODE) whose mapping changed go, with
 * their translations.  After a mode change the same entries mean other
 * things: no remembered path holds.
 */
void bt_code_tlb(struct bt86_xdata *x, u32 lin, unsigned int how)
{
	struct bt_meta *m;
	u32 i;

	if (!x->bt.ready)
		return;
	m = code_meta(x);
	if (how == BT_TLB_PAGE) {
		tlb_page(x, lin);
		return;
	}
	for (i = 0; i < BT_CODE_SLOTS; i++) {
		struct bt_code_slot *sl = &m->code_slot[i];

		if (!sl->nrec)
			continue;
		if (how == BT_TLB_MODE)
			slot_forget_paths(x, sl, false, 0);
		tlb_slot(x, sl, how == BT_TLB_NONGLOBAL);
	}
}

/* Count a write fault at the guest EIP; retranslate it once it is hot. */
static void note_fault(struct bt86_xdata *x, u32 eip)
{
	struct bt_meta *m = bt_meta(x);
	u32 h = (eip ^ (eip >> 8)) % BT_HOT_SLOTS;

	if (m->hot_eip[h] != eip) {
		m->hot_eip[h] = eip;
		m->hot_count[h] = 0;
	}
	if (m->hot_count[h] < BT_HOT_FAULTS &&
	    ++m->hot_count[h] == BT_HOT_FAULTS) {
		/* its blocks go; the next translation makes it a call out */
		bt_invalidate_range(bt_cache(x), x->sregs.cs.base + eip, 1);
		m->cache.stats.retranslated++;
	}
}

/*
 * A write fault on translated code was dealt with (bt_code_write_gfn()):
 * the write may now go ahead.  From translated code the instruction is
 * done by bt_emulate(), which runs it natively unless it is sensitive (a
 * PUSHFD, say, must not show the real flags): translating it again would
 * protect the page before it wrote.
 */
long bt_code_write_done(struct bt86_xdata *x)
{
	bt_cache(x)->stats.write_faults++;
	if (!bt_from_tc(x))
		return 0;
	note_fault(x, x->regs.eip);
	return bt_emulate(x);
}

/*
 * #PF on a write to guest RAM at @addr with guest paging off: -1 if the
 * page was not traced (the fault is the guest's business), else the write
 * may now go ahead.
 */
long bt_write_fault(struct bt86_xdata *x, u32 addr)
{
	if (!bt_code_write_gfn(x, addr >> 12))
		return -1;
	return bt_code_write_done(x);
}

/* Before a call-out instruction runs natively: unprotect what it writes. */
void bt_before_native_write(struct bt86_xdata *x, const struct decoded_insn *d)
{
	unsigned int i;
	u32 lin;

	for (i = 0; i < d->insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &d->ops[i];

		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    !(op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		if (!mem_address(x, d, op, op->size / 8 ? op->size / 8 : 1,
				 false, &lin))
			bt_code_write(x, lin, op->size / 8 ? op->size / 8 : 1);
	}
}

/* Is the instruction at @eip hot (bt_env.hot)? */
bool bt_is_hot(void *opaque, bt_u32 eip)
{
	struct bt86_xdata *x = opaque;
	struct bt_meta *m = bt_meta(x);
	u32 h = (eip ^ (eip >> 8)) % BT_HOT_SLOTS;

	return m->hot_eip[h] == eip && m->hot_count[h] >= BT_HOT_FAULTS;
}
