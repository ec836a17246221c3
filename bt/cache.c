// SPDX-License-Identifier: GPL-2.0
/*
 * The translation cache: space, the lookup from guest EIP to block, the map
 * from TC address back to guest EIP, chaining, invalidation and flushing
 * (docs/translator.md).
 *
 * Blocks are carved from the TC in order, so their descriptors are sorted
 * by TC offset and a TC address finds its block by binary search.  Nothing
 * is freed one by one: an invalidated block stays where it is, its first
 * bytes turned into a call out, until the whole cache is flushed.
 */
#include "emit.h"

static bt_u32 rd32(const bt_u8 *p)
{
	return p[0] | (bt_u32)p[1] << 8 | (bt_u32)p[2] << 16 |
	       (bt_u32)p[3] << 24;
}

static void wr32(bt_u8 *p, bt_u32 v)
{
	p[0] = (bt_u8)v;
	p[1] = (bt_u8)(v >> 8);
	p[2] = (bt_u8)(v >> 16);
	p[3] = (bt_u8)(v >> 24);
}

bool bt_in_tc(const struct bt_cache *c, bt_u32 addr)
{
	return addr >= c->tc_low && addr - c->tc_low < c->tc_used;
}

bt_u32 bt_block_addr(const struct bt_cache *c, const struct bt_block *b)
{
	return c->tc_low + b->tc_off;
}

/* --- the fast indirect-branch table (in the per-vCPU page) ---------------- */

/* Empty entries send the branch to the miss call out (a hit on them is a miss). */
void bt_fast_clear(struct bt_cache *c)
{
	bt_u8 *t = c->window + BT_VP_FAST;
	unsigned int i;

	for (i = 0; i < BT_FAST_ENTRIES; i++) {
		wr32(t + 8 * i, 0);
		wr32(t + 8 * i + 4, c->tc_low + c->ind_miss);
	}
}

void bt_fast_insert(struct bt_cache *c, bt_u32 eip, const struct bt_block *b)
{
	bt_u8 *t = c->window + BT_VP_FAST + 8 * bt_fast_slot(eip);

	wr32(t, eip);
	wr32(t + 4, bt_block_addr(c, b));
}

/*
 * The indirect-branch routine: the guest EIP is in %gs:TARGET, the guest's
 * registers and flags are live.  EAX, EBX, ECX are saved in the window and
 * the flags in AX (LAHF, SETO; restored with ADD $0x7f / SAHF, which sets
 * OF exactly when AL was 1).  A hit jumps to the translation with every
 * register restored; a miss calls the monitor, which translates and fills
 * the table.  After the routine: the window's selector (c->gs_sel), which
 * translated code reads through CS to load %gs again after an instruction
 * that ran with the guest's GS (translate.c).
 */
static void emit_prologue(struct bt_cache *c)
{
	struct emit e = {
		.buf = c->tc, .base_low = c->tc_low, .pos = 0, .end = 256
	};
	static const bt_u8 seto_al[3] = { 0x0f, 0x90, 0xc0 };
	static const bt_u8 mov_ecx_ebx[2] = { 0x89, 0xd9 };
	static const bt_u8 shr_ecx[3] = { 0xc1, 0xe9, BT_FAST_SHIFT };
	static const bt_u8 xor_ecx_ebx[2] = { 0x31, 0xd9 };
	static const bt_u8 and_ecx[6] = { 0x81,
					  0xe1,
					  (BT_FAST_ENTRIES - 1) & 0xff,
					  (BT_FAST_ENTRIES - 1) >> 8,
					  0,
					  0 };
	static const bt_u8 restore_flags[3] = { 0x04, 0x7f, 0x9e };
	bt_u32 jne_at, miss;

	c->ind_lookup = e.pos;
	emit_store_gs(&e, REG_EAX, BT_VP_SAVE_EAX);
	emit_u8(&e, 0x9f); /* lahf */
	emit_bytes(&e, seto_al, 3);
	emit_store_gs(&e, REG_EBX, BT_VP_SAVE_EBX);
	emit_load_gs(&e, REG_EBX, BT_VP_TARGET);
	emit_store_gs(&e, REG_ECX, BT_VP_SAVE_ECX);
	/* ecx = bt_fast_slot(ebx) */
	emit_bytes(&e, mov_ecx_ebx, 2);
	emit_bytes(&e, shr_ecx, 3);
	emit_bytes(&e, xor_ecx_ebx, 2);
	emit_bytes(&e, and_ecx, 6);
	/* cmp %ebx, %gs:FAST(,%ecx,8) */
	emit_u8(&e, 0x65);
	emit_u8(&e, 0x39);
	emit_u8(&e, 0x1c);
	emit_u8(&e, 0xcd);
	emit_u32(&e, BT_VP_FAST);
	emit_u8(&e, 0x75); /* jne miss */
	jne_at = e.pos;
	emit_u8(&e, 0);
	emit_gs_modrm(&e, 0xff, 0, BT_VP_IND_HITS); /* incl %gs:HITS */
	/* mov %gs:FAST+4(,%ecx,8), %ebx */
	emit_u8(&e, 0x65);
	emit_u8(&e, 0x8b);
	emit_u8(&e, 0x1c);
	emit_u8(&e, 0xcd);
	emit_u32(&e, BT_VP_FAST + 4);
	emit_store_gs(&e, REG_EBX, BT_VP_JUMP);
	emit_load_gs(&e, REG_ECX, BT_VP_SAVE_ECX);
	emit_load_gs(&e, REG_EBX, BT_VP_SAVE_EBX);
	emit_bytes(&e, restore_flags, 3);
	emit_load_gs(&e, REG_EAX, BT_VP_SAVE_EAX);
	emit_gs_modrm(&e, 0xff, 4, BT_VP_JUMP); /* jmp *%gs:JUMP */
	miss = e.pos;
	c->tc[jne_at] = (bt_u8)(miss - (jne_at + 1));
	emit_load_gs(&e, REG_ECX, BT_VP_SAVE_ECX);
	emit_load_gs(&e, REG_EBX, BT_VP_SAVE_EBX);
	emit_bytes(&e, restore_flags, 3);
	emit_load_gs(&e, REG_EAX, BT_VP_SAVE_EAX);
	c->ind_miss = e.pos;
	emit_callout(&e);
	if (e.pos & 1)
		emit_u8(&e, 0xcc);
	c->gs_sel_const = e.pos;
	emit_u8(&e, (bt_u8)c->gs_sel);
	emit_u8(&e, (bt_u8)(c->gs_sel >> 8));
	c->prologue_end = (e.pos + 15) & ~15u;
}

/* --- blocks and lookup ---------------------------------------------------- */

static bt_u32 hash_of(const struct bt_key *k, bt_u32 eip)
{
	return (eip ^ k->cs_base ^ ((bt_u32)k->cs_sel << 7)) % BT_HASH_SIZE;
}

static bool same_key(const struct bt_key *a, const struct bt_key *b)
{
	return a->cs_base == b->cs_base && a->cs_limit == b->cs_limit &&
	       a->cs_sel == b->cs_sel;
}

void bt_cache_flush(struct bt_cache *c)
{
	unsigned int i;

	c->tc_used = c->prologue_end;
	c->nblocks = 0;
	c->nmap = 0;
	for (i = 0; i < BT_HASH_SIZE; i++)
		c->hash[i] = BT_NONE;
	for (i = 0; i < BT_PAGE_HASH; i++)
		c->page_hash[i] = BT_NONE;
	bt_fast_clear(c);
}

/*
 * What an inline segment load checks (translate.c): SEL_HI by the
 * selector's bits 15:8 (0: every index below BT_GUEST_GDT_SLOTS, 0x200:
 * none, 0x100: the byte where they begin), SEL_CHECK by that plus bits
 * 7:0, nonzero for RPL 1 and for the monitor's indexes, or for every
 * selector while c->loads_call_out.
 */
static void sel_tables(struct bt_cache *c)
{
	const bt_u32 first = BT_GUEST_GDT_SLOTS << 3; /* the first such sel */
	bt_u8 *w = c->window;
	bt_u32 i;

	for (i = 0; i < 256; i++) {
		bt_u32 cls = 1;

		if ((i << 8) + 0xff < first)
			cls = 0;
		else if (i << 8 >= first)
			cls = 2;
		wr32(w + BT_VP_SEL_HI + 4 * i, cls << 8);
	}
	for (i = 0; i < 256; i++) {
		bt_u8 rpl1 = (i & 3) == 1;

		w[BT_VP_SEL_CHECK + i] = rpl1 || c->loads_call_out;
		w[BT_VP_SEL_CHECK + 0x100 + i] =
			rpl1 || ((first & 0xff00) | i) >= first ||
			c->loads_call_out;
		w[BT_VP_SEL_CHECK + 0x200 + i] = 1;
	}
}

/*
 * Every inline segment load calls out (@on), so that the monitor sees
 * each one first (monitor/desc_lazy.c), or only those SEL_CHECK picks.
 */
void bt_loads_call_out(struct bt_cache *c, bool on)
{
	c->loads_call_out = on;
	sel_tables(c);
}

void bt_cache_init(struct bt_cache *c)
{
	emit_prologue(c);
	sel_tables(c);
	bt_cache_flush(c);
}

struct bt_block *bt_lookup(struct bt_cache *c, const struct bt_key *k,
			   bt_u32 eip)
{
	bt_u32 i;

	for (i = c->hash[hash_of(k, eip)]; i != BT_NONE;
	     i = c->blocks[i].hash_next) {
		struct bt_block *b = &c->blocks[i];

		if (b->eip == eip && same_key(&b->key, k))
			return b;
	}
	return NULL;
}

/*
 * The map entry for a TC address, or NULL if the address is inside a
 * rewritten sequence (or not in the TC at all).  *block gets the block.
 */
const struct bt_map *bt_map_find(struct bt_cache *c, bt_u32 addr,
				 struct bt_block **block)
{
	bt_u32 off = addr - c->tc_low, lo = 0, hi = c->nblocks, i;
	struct bt_block *b;

	*block = NULL;
	if (!bt_in_tc(c, addr))
		return NULL;
	if (off == c->ind_miss) {
		c->special = (struct bt_map){ .tc_off = off,
					      .kind = BT_MAP_IND_MISS };
		return &c->special;
	}
	while (lo < hi) { /* the last block starting at or before off */
		bt_u32 mid = (lo + hi) / 2;

		if (c->blocks[mid].tc_off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	b = &c->blocks[lo - 1];
	if (off - b->tc_off >= b->tc_len)
		return NULL;
	*block = b;
	if (b->flags & BT_BLOCK_DEAD) {
		if (off != b->tc_off)
			return NULL;
		c->special = (struct bt_map){ .tc_off = off,
					      .guest_eip = b->eip,
					      .kind = BT_MAP_DEAD };
		return &c->special;
	}
	for (i = 0; i < b->map_count; i++) {
		const struct bt_map *m = &c->map[b->map_first + i];

		if (m->tc_off == off)
			return m;
		if (m->tc_off > off)
			break;
	}
	return NULL;
}

/* An exit stub was taken and its target is now translated: jump there. */
void bt_chain(struct bt_cache *c, const struct bt_map *exit,
	      const struct bt_block *to)
{
	wr32(c->tc + exit->arg,
	     bt_block_addr(c, to) - (c->tc_low + exit->arg + 4));
	c->stats.chained++;
}

static void hash_remove(struct bt_cache *c, struct bt_block *b)
{
	bt_u32 idx = (bt_u32)(b - c->blocks);
	bt_u32 *p = &c->hash[hash_of(&b->key, b->eip)];

	while (*p != BT_NONE) {
		if (*p == idx) {
			*p = b->hash_next;
			return;
		}
		p = &c->blocks[*p].hash_next;
	}
}

/* The fast table's entry for @b, if it has one, goes (the rest stay). */
static void fast_forget(struct bt_cache *c, const struct bt_block *b)
{
	bt_u8 *t = c->window + BT_VP_FAST + 8 * bt_fast_slot(b->eip);

	if (rd32(t) == b->eip && rd32(t + 4) == bt_block_addr(c, b)) {
		wr32(t, 0);
		wr32(t + 4, c->tc_low + c->ind_miss);
	}
}

/*
 * Nothing may run the block again: its entry becomes a call out (branches
 * chained to it land there), and lookups no longer find it.
 */
void bt_kill_block(struct bt_cache *c, struct bt_block *b)
{
	if (b->flags & BT_BLOCK_DEAD)
		return;
	b->flags |= BT_BLOCK_DEAD;
	hash_remove(c, b);
	fast_forget(c, b);
	c->tc[b->tc_off] = 0xcd;
	c->tc[b->tc_off + 1] = BT_CALLOUT_VECTOR;
	c->stats.invalidated++;
}

/* A branch into a dead block went through it: send it on to @to. */
void bt_revive(struct bt_cache *c, struct bt_block *dead,
	       const struct bt_block *to)
{
	c->tc[dead->tc_off] = 0xe9;
	wr32(c->tc + dead->tc_off + 1,
	     bt_block_addr(c, to) - (bt_block_addr(c, dead) + 5));
}

/*
 * Blocks by guest page: every block is on the chain of each page its code
 * is in (one or two), so that a write to a page finds exactly its blocks.
 * A chain link is (block index << 1 | which of the block's two pages).
 */
static bt_u32 page_bucket(bt_u32 gfn)
{
	return (gfn ^ (gfn >> 12)) % BT_PAGE_HASH;
}

static void page_insert(struct bt_cache *c, struct bt_block *b)
{
	bt_u32 idx = (bt_u32)(b - c->blocks), slot;

	b->page[0] = b->lin_start >> 12;
	b->page[1] = (b->lin_end - 1) >> 12;
	for (slot = 0; slot < 2; slot++) {
		bt_u32 *head = &c->page_hash[page_bucket(b->page[slot])];

		b->page_next[slot] = BT_NONE;
		if (slot && b->page[1] == b->page[0])
			break;
		b->page_next[slot] = *head;
		*head = idx << 1 | slot;
	}
}

/* A new block: found by its EIP (the hash) and by its guest pages. */
void bt_block_insert(struct bt_cache *c, struct bt_block *b)
{
	bt_u32 h = hash_of(&b->key, b->eip);

	b->hash_next = c->hash[h];
	c->hash[h] = (bt_u32)(b - c->blocks);
	page_insert(c, b);
}

/* Does @b's code overlap [lin, lin + len)?  Modulo 2^32: either may end at 4 GiB. */
static bool overlaps(const struct bt_block *b, bt_u32 lin, bt_u32 len)
{
	return b->lin_start - lin < len ||
	       lin - b->lin_start < b->lin_end - b->lin_start;
}

/*
 * Kills the blocks of page @gfn's chain that overlap [lin, lin + len), and
 * drops every dead block it meets from the chain.
 */
static bt_u32 invalidate_page(struct bt_cache *c, bt_u32 gfn, bt_u32 lin,
			      bt_u32 len)
{
	bt_u32 *link = &c->page_hash[page_bucket(gfn)], n = 0;

	while (*link != BT_NONE) {
		struct bt_block *b = &c->blocks[*link >> 1];
		bt_u32 slot = *link & 1;

		if (b->page[slot] == gfn && !(b->flags & BT_BLOCK_DEAD) &&
		    overlaps(b, lin, len)) {
			bt_kill_block(c, b);
			n++;
		}
		if (b->page[slot] == gfn && (b->flags & BT_BLOCK_DEAD))
			*link = b->page_next[slot];
		else
			link = &b->page_next[slot];
	}
	return n;
}

/* Kills every block with code in [lin, lin + len); returns how many. */
bt_u32 bt_invalidate_range(struct bt_cache *c, bt_u32 lin, bt_u32 len)
{
	bt_u64 pages = (((bt_u64)(lin & 0xfff) + len - 1) >> 12) + 1, i;
	bt_u32 n = 0;

	if (!len)
		return 0;
	for (i = 0; i < pages && i < (1u << 20); i++) /* may wrap at 4 GiB */
		n += invalidate_page(c, ((lin >> 12) + (bt_u32)i) & 0xfffff,
				     lin, len);
	return n;
}
