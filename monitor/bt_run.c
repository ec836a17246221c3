// SPDX-License-Identifier: GPL-2.0
/*
 * Running guest ring 0 from the translation cache (docs/translator.md).
 *
 * Before the guest's ring 0 runs, bt_prepare() finds (or makes) the
 * translation of CS:EIP and the hardware frame gets CS = BT_CS_SEL (flat
 * code at DPL 1), EIP = the translation, GS = BT_GS_SEL (the per-vCPU
 * page).  The guest's own CS and GS stay in x->sregs.  Every trap from
 * translated code first goes through bt_sync_from_hw(), which maps the TC
 * address back to the guest EIP; from there the trap is handled exactly as
 * if the guest's own instruction had trapped.  A trap inside a rewritten
 * sequence (only a host interrupt can land there) leaves the guest "mid
 * sequence": it resumes where it was, single-stepping to the next guest
 * instruction boundary before anything else happens to it.
 */
#include "bt_monitor.h"

/* Inline segment loads call out for the monitor's slots (bt/translate.c). */
_Static_assert(BT_GUEST_GDT_SLOTS == GUEST_GDT_SLOTS,
	       "bt/ and the shadow GDT agree where the guest's slots end");

/* Flat 4 GiB code, DPL 1, 32-bit, readable (SDM 3A §3.4.5). */
#define BT_CS_DESC 0x00cfbb000000ffffULL

static u8 *window(const struct bt86_xdata *x)
{
	return (u8 *)(uintptr_t)x->bt.window;
}

static u32 window_u32(const struct bt86_xdata *x, u32 off)
{
	return *(volatile u32 *)(window(x) + off);
}

static bt_u32 fetch_guest(void *opaque, bt_u32 lin, bt_u8 *buf, bt_u32 len)
{
	struct bt86_xdata *x = opaque;

	/* What can be fetched, up to a page that faults or is not RAM. */
	return guest_fetch(x, lin, buf, len);
}

/* The window's pages are the per-vCPU page's. */
_Static_assert(BT_WINDOW_PAGES * 4096 == BT_VP_SIZE, "per-vCPU page size");

/* Map entries per block the metadata has room for. */
#define BT_MAP_PER_BLOCK 6

/* The cache lives in the metadata area; set it up at the first entry. */
static void cache_setup(struct bt86_xdata *x)
{
	struct bt_meta *m = bt_meta(x);
	struct bt_cache *c = &m->cache;
	u8 *p = (u8 *)(m + 1);
	u8 *end = (u8 *)m + BT_META_SIZE;

	mon_memset(m, 0, sizeof(*m));
	c->tc = (u8 *)(uintptr_t)x->bt.tc;
	c->tc_low = x->bt.tc_low;
	c->tc_size = BT_TC_SIZE;
	c->window = window(x);
	c->window_low = x->bt.window_low;
	c->gs_sel = BT_GS_SEL;
	c->checked = x->bt.checked;
	c->scratch = &m->scratch;
	c->hash = (u32 *)p;
	p += BT_HASH_SIZE * sizeof(u32);
	c->page_hash = (u32 *)p;
	p += BT_PAGE_HASH * sizeof(u32);
	/* Linux's blocks average 5.6 map entries (docs/translator.md). */
	c->max_blocks =
		(u32)((end - p) / (sizeof(struct bt_block) +
				   BT_MAP_PER_BLOCK * sizeof(struct bt_map)));
	c->max_map = BT_MAP_PER_BLOCK * c->max_blocks;
	c->map = (struct bt_map *)p;
	p += c->max_map * sizeof(struct bt_map);
	c->blocks = (struct bt_block *)p;
	m->env.opaque = x;
	m->env.fetch = fetch_guest;
	m->env.hot = bt_is_hot;
	bt_cache_init(c);
	x->bt.ready = 1;
	x->bt.fast_sel = 0xffffffff;
	x->bt.popf_iopl = 0xffffffff;
}

/* At vcpu_load: the BT slots of the shadow GDT, and a clean slate. */
void bt_load(struct bt86_xdata *x)
{
	u64 *gdt = (u64 *)((u8 *)x + XDATA_GUEST_GDT);

	if (!x->bt.enabled)
		return;
	gdt[BT_CS_SLOT] = BT_CS_DESC;
	gdt[BT_GS_SLOT] = window_gs_desc(x->bt.window_low);
	if (!x->bt.ready)
		cache_setup(x);
	x->bt.midseq = 0;
	x->bt.stepping = 0;
	x->bt.native = 0;
	x->bt.enter = 0;
	x->bt.resume_tc = 0;
	if (x->bt.untruncated) { /* the host changed the state mid-step */
		x->bt.untruncated = 0;
		vcpu_reload_gdt(x);
	}
}

/*
 * A trap from translated code: where in the guest's code it stopped.  The
 * call out is a trap (EIP past the INT), everything else stops at the
 * start of an instruction.
 */
void bt_sync_from_hw(struct bt86_xdata *x)
{
	struct bt_cache *c = bt_cache(x);
	const struct bt_map *m;
	struct bt_block *b;
	u32 rip = (u32)x->rip;

	x->bt.kind = BT_MAP_INSN;
	x->bt.block = BT_NO_BLOCK;
	x->bt.shadow = 0;
	x->bt.resume_tc = 0;
	if (!bt_from_tc(x))
		return;
	if (window(x)[BT_VP_VIF] & 0x02)
		x->regs.eflags |= EFLAGS_IF;
	else
		x->regs.eflags &= ~EFLAGS_IF;
	if (x->vector == BT_CALLOUT_VECTOR)
		rip -= 2;
	m = bt_map_find(c, rip, &b);
	if (!m) {
		x->bt.midseq = 1;
		x->bt.rip = (u32)x->rip;
		return;
	}
	/*
	 * A call out's INT reached by a step or a host interrupt, not run
	 * yet: the sequence before it may have changed the window already
	 * (a POPFD sets VIF before it calls out), so the guest is not at an
	 * instruction boundary.  Step on into the call out, which finishes
	 * the instruction; an interrupt delivered here would come before the
	 * POPFD with its IF.
	 */
	if (m->kind == BT_MAP_CALLOUT && x->vector != BT_CALLOUT_VECTOR) {
		x->bt.midseq = 1;
		x->bt.rip = (u32)x->rip;
		return;
	}
	x->bt.midseq = 0;
	x->bt.kind = m->kind;
	x->bt.arg = m->arg;
	x->bt.block = b ? (u32)(b - c->blocks) : BT_NO_BLOCK;
	x->bt.shadow = m->shadow;
	x->regs.eip = m->kind == BT_MAP_IND_MISS ? window_u32(x, BT_VP_TARGET)
						 : m->guest_eip;
	/*
	 * A guest instruction's own start: if the guest goes on there (an
	 * interrupt of the host's, #NM, a write fault), it resumes in this
	 * block rather than in a new one starting mid-way.  Where the
	 * instruction runs with the guest's GS loaded, at the entry before,
	 * which loads it (translate.c).
	 */
	if (m->kind == BT_MAP_INSN && b) {
		x->bt.resume_tc = rip;
		if (m->flags & BT_MAPF_GUEST_GS)
			x->bt.resume_tc = c->tc_low + m[-1].tc_off;
		x->bt.resume_eip = m->guest_eip;
	}
}

/*
 * Entering translated code, where %gs is the window's: the hardware
 * selector the guest's GS has now, for instructions with a %gs operand.
 */
void bt_window_gs(struct bt86_xdata *x, u16 hw)
{
	*(volatile u32 *)(window(x) + BT_VP_GUEST_GS) = hw;
}

/* The TC address to resume the guest at without a lookup, or 0. */
static u32 resume_here(struct bt86_xdata *x)
{
	struct bt_cache *c = bt_cache(x);
	struct bt_block *b;
	u32 tc = x->bt.resume_tc;

	x->bt.resume_tc = 0;
	if (!tc || x->regs.eip != x->bt.resume_eip || x->bt.block >= c->nblocks)
		return 0;
	b = &c->blocks[x->bt.block];
	if ((b->flags & BT_BLOCK_DEAD) ||
	    b->key.cs_sel != x->sregs.cs.selector ||
	    b->key.cs_base != x->sregs.cs.base ||
	    b->key.cs_limit != x->sregs.cs.limit)
		return 0;
	return tc;
}

/*
 * What translated code reads from the window besides the virtual IF: the
 * guest's selectors (PUSH Sreg), the truncated limits (checked translation)
 * and, per value of EFLAGS bits 15:8, whether a POPFD needs the monitor (it
 * sets TF or changes IOPL).
 */
static void window_update(struct bt86_xdata *x)
{
	u32 iopl = (x->regs.eflags & EFLAGS_IOPL) >> IOPL_SHIFT;
	u32 *sel = (u32 *)(window(x) + BT_VP_SEL);
	u8 *w = window(x);
	unsigned int b;

	sel[0] = x->sregs.es.selector;
	sel[1] = x->sregs.cs.selector;
	sel[2] = x->sregs.ss.selector;
	sel[3] = x->sregs.ds.selector;
	sel[4] = x->sregs.fs.selector;
	sel[5] = x->sregs.gs.selector;
	if (x->bt.checked)
		truncate_fill_limits(x, (u32 *)(w + BT_VP_LIMIT));
	w[BT_VP_VIF] = (x->regs.eflags & EFLAGS_IF) ? 0x02 : 0;
	w[BT_VP_VIOPL] = (u8)(iopl << 4);
	*(volatile u32 *)(w + BT_VP_WANT) = x->v.irq_vector != XIRQ_NONE ||
					    x->v.irq_window;
	if (x->bt.popf_iopl == iopl)
		return;
	x->bt.popf_iopl = iopl;
	for (b = 0; b < 256; b++)
		w[BT_VP_POPF + b] = (b & 0x01) || ((b >> 4) & 3) != iopl;
}

/* The translation of CS:@eip, made if missing; flushes a full cache. */
static struct bt_block *block_for(struct bt86_xdata *x, u32 eip)
{
	struct bt_meta *m = bt_meta(x);
	struct bt_cache *c = &m->cache;
	struct bt_key k = { .cs_base = x->sregs.cs.base,
			    .cs_limit = x->sregs.cs.limit,
			    .cs_sel = x->sregs.cs.selector };
	struct bt_block *b = bt_lookup(c, &k, eip);
	int ret;

	c->stats.lookups++;
	if (b) {
		c->stats.lookup_hits++;
		return b;
	}
	ret = bt_translate(c, &m->env, &k, eip, &b);
	if (ret == BT_EFULL) {
		bt_cache_flush(c);
		bt_untrace_all(x);
		c->stats.flushes++;
		ret = bt_translate(c, &m->env, &k, eip, &b);
	}
	if (ret)
		return NULL;
	bt_trace_block(x, b);
	return b;
}

/*
 * Before guest code runs: guest ring 0 (32-bit code, not single-stepped)
 * enters its translation; everything else runs natively.
 */
void bt_prepare(struct bt86_xdata *x)
{
	struct bt_cache *c = bt_cache(x);
	struct bt_block *b;

	x->bt.enter = 0;
	if (!x->bt.enabled || vcpu_cpl(x) != 0 || !x->sregs.cs.db ||
	    x->v.step || x->bt.native || (x->regs.eflags & EFLAGS_TF))
		return;
	/* The fast table holds translations for one CS only. */
	if (x->bt.fast_sel != x->sregs.cs.selector ||
	    x->bt.fast_base != x->sregs.cs.base) {
		bt_fast_clear(c);
		x->bt.fast_sel = x->sregs.cs.selector;
		x->bt.fast_base = x->sregs.cs.base;
	}
	x->bt.enter = resume_here(x);
	if (!x->bt.enter) {
		b = block_for(x, x->regs.eip);
		if (!b) {
			x->bt.native = 1;
			return;
		}
		bt_fast_insert(c, x->regs.eip, b);
		x->bt.enter = bt_block_addr(c, b);
	}
	window_update(x);
}

/* A translated branch reached an untranslated target: translate, chain. */
static long callout_exit(struct bt86_xdata *x)
{
	struct bt_cache *c = bt_cache(x);
	u64 flushes = c->stats.flushes;
	struct bt_block *to = block_for(x, x->regs.eip);
	struct bt_map exit = { .arg = x->bt.arg };

	if (to && c->stats.flushes == flushes)
		bt_chain(c, &exit, to);
	return 0;
}

/* A branch into an invalidated block: send it to the new translation. */
static long callout_dead(struct bt86_xdata *x)
{
	struct bt_cache *c = bt_cache(x);
	u32 dead = x->bt.block;
	u64 flushes = c->stats.flushes;
	struct bt_block *to = block_for(x, x->regs.eip);

	if (to && dead != BT_NO_BLOCK && c->stats.flushes == flushes)
		bt_revive(c, &c->blocks[dead], to);
	return 0;
}

/*
 * Translated code stopped where no map entry says why: a monitor bug, or
 * guest ring 0 sent itself out of the cache (it can write the per-vCPU
 * page's fast table).  The VM stops with a dump either way.
 */
static long bt_lost(struct bt86_xdata *x, u32 why)
{
	return exit_unsupported(x, BT86_UNSUPPORTED_BT,
				((u64)why << 32) | (u32)x->rip);
}

/* int $0x1f from translated code (trap.c sends the guest's own elsewhere). */
long bt_callout(struct bt86_xdata *x)
{
	struct bt_cache *c = bt_cache(x);

	switch (x->bt.kind) {
	case BT_MAP_EXIT:
		c->stats.callouts[BT_CO_EXIT]++;
		return callout_exit(x);
	case BT_MAP_IND_MISS:
		c->stats.callouts[BT_CO_IND]++;
		c->stats.ind_misses++;
		return 0; /* bt_prepare() fills the fast table */
	case BT_MAP_CALLOUT:
		c->stats.callouts[BT_CO_EMULATE]++;
		return bt_emulate(x);
	case BT_MAP_STEP:
		c->stats.callouts[BT_CO_STEP]++;
		c->stats.native_steps++;
		x->bt.native = 1;
		return 0;
	case BT_MAP_STI:
		/* STI with an interrupt waiting: it comes after one more insn */
		c->stats.callouts[BT_CO_STI]++;
		x->v.shadow = 1;
		return 0;
	case BT_MAP_DEAD:
		c->stats.callouts[BT_CO_DEAD]++;
		return callout_dead(x);
	case BT_MAP_LIMIT:
		c->stats.callouts[BT_CO_LIMIT]++;
		return truncate_check_failed(x);
	default:
		return bt_lost(x, x->bt.kind);
	}
}

/*
 * A trap that left the guest inside a rewritten sequence.  Only the
 * monitor's own single step (or a host event, handled before) may.
 */
long bt_trap_midseq(struct bt86_xdata *x)
{
	if (!bt_in_tc(bt_cache(x), x->bt.rip))
		return bt_lost(x, BT86_BT_LOST_ESCAPED);
	if (x->vector == VEC_DB && x->bt.stepping) {
		dr6_reset();
		return 0;
	}
	return bt_lost(x, BT86_BT_LOST_FAULT | (u32)x->vector);
}

/* The counters the module reports (BT86_GET_VCPU_STATS). */
void bt_export_stats(struct bt86_xdata *x)
{
	const struct bt_cache *c = bt_cache(x);
	struct bt86_bt_stats *s = &x->stats.bt;
	unsigned int i;

	if (!x->bt.ready)
		return;
	s->blocks = c->stats.blocks;
	s->insns = c->stats.insns;
	s->tc_used = c->tc_used;
	s->tc_size = c->tc_size;
	s->lookups = c->stats.lookups;
	s->lookup_hits = c->stats.lookup_hits;
	s->chained = c->stats.chained;
	s->ind_hits = window_u32(x, BT_VP_IND_HITS);
	s->ind_misses = c->stats.ind_misses;
	for (i = 0; i < BT_CO_COUNT && i < 8; i++)
		s->callouts[i] = c->stats.callouts[i];
	s->invalidated = c->stats.invalidated;
	s->write_faults = c->stats.write_faults;
	s->retranslated = c->stats.retranslated;
	s->flushes = c->stats.flushes;
	s->native_steps = c->stats.native_steps;
	s->refused = c->stats.refused;
	s->slots_checked = c->stats.slots_checked;
	s->slots_kept = c->stats.slots_kept;
	s->window = x->bt.window_low; /* relocations: window.c counts them */
}
