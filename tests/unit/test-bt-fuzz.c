// SPDX-License-Identifier: GPL-2.0
/*
 * The binary translator (bt/) fed random code: pure random bytes, streams
 * of valid instructions biased towards the ones it rewrites (branches,
 * CLI/STI/PUSHF, sensitive instructions, odd prefixes), and mutations of
 * such streams.  Each round writes 4 KiB of guest code (invalidating what
 * was translated there, as the monitor does on a code write), picks a code
 * segment (sometimes with a base, a short limit, or a "hot" instruction),
 * and translates breadth first from its start, following exits.  Between
 * rounds it chains, kills and revives random blocks and fills the fast
 * table.  After every call it checks:
 *
 * - nothing was written outside the TC, window and metadata buffers
 *   (guard pages and canary bytes around each: btrig.h), nor in them
 *   anywhere the call may not write: the translator only appends to the
 *   TC and the map, never touches the window, and leaves the canary
 *   beyond tc_used alone;
 * - tc_used never exceeds tc_size; every result is BT_OK, or BT_EFULL
 *   with nothing changed, after which a flush lets it succeed;
 * - every block passes rig_check_block(): its TC code decodes as 32-bit
 *   code from its start to its end with every map entry on an instruction
 *   boundary and every branch on one, the map is sorted and inside the
 *   block with valid kinds, and follows the guest instructions;
 * - invalidation kills exactly the blocks overlapping the range, lookup
 *   finds every live block and no dead one, bt_map_find() of any address
 *   gives an entry at that address or NULL.
 *
 * The default run (make check) translates 200000 blocks of random bytes
 * and 100000 of each kind of stream, with seed 1, in about 2 s of CPU.
 * Environment:
 *   BT_FUZZ_BLOCKS=N   N blocks of random bytes (N/2 of each stream kind)
 *   BT_FUZZ_SEED=S     the PRNG seed (0: from the clock); printed first
 *
 * Built with -DBT_LIBFUZZER (make bt-libfuzzer, clang), the same checks
 * run on libFuzzer's inputs instead (LLVMFuzzerTestOneInput below).
 */
#include <stdio.h>
#include <time.h>

#include "kselftest_harness.h"
#include "btrig.h"

#define TC_SIZE	   0x10000 /* a flush every few hundred blocks */
#define MAX_MAP	   8192
#define MAX_BLOCKS 1024
#define GUEST	   0x10000
#define REGION	   0x400

static unsigned long long fuzz_blocks = 200000;
static unsigned long long fuzz_seed = 1;

/* --- a PRNG (splitmix64) -------------------------------------------------- */

static unsigned long long prng_state;

static bt_u64 rnd64(void)
{
	bt_u64 z = (prng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 .. n - 1 */
static bt_u32 rnd(bt_u32 n)
{
	return n ? (bt_u32)(rnd64() % n) : 0;
}

static bool chance(unsigned int percent)
{
	return rnd(100) < percent;
}

/* --- guest code --------------------------------------------------------- */

static const bt_u8 prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36,
				  0x3e, 0x26, 0x64, 0x65, 0xf0 };
/* one-byte opcodes the translator rewrites or calls out for */
static const bt_u8 special1[] = {
	0xfa, 0xfb, 0x9c, 0x9d, 0xcf, 0xe8, 0xe9, 0xeb, 0x70, 0x74, 0x75,
	0x7f, 0xe0, 0xe1, 0xe2, 0xe3, 0xc2, 0xc3, 0xca, 0xcb, 0xcd, 0xcc,
	0xce, 0xf4, 0x8e, 0x8c, 0x1e, 0x1f, 0x06, 0x07, 0x16, 0x17, 0x0e,
	0xec, 0xed, 0xee, 0xef, 0xe4, 0xe6, 0x6c, 0x6d, 0x6e, 0x6f, 0xea,
	0x9a, 0xff, 0xff, 0xff, 0xc5, 0xc4, 0xf1, 0x50, 0x58, 0x89, 0x8b,
};
/* and after 0f */
static const bt_u8 special2[] = {
	0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b,
	0x20, 0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x34, 0x35, 0xa0,
	0xa1, 0xa2, 0xa8, 0xa9, 0xb2, 0xb4, 0xb5, 0x80, 0x84, 0x8f,
};

static struct decoded_insn gd;

/* One valid instruction at p (at most room bytes); its length, or 0. */
static bt_u32 gen_insn(bt_u8 *p, bt_u32 room)
{
	bt_u8 b[15];
	unsigned int tries, n, op, i;

	for (tries = 0; tries < 8; tries++) {
		n = 0;
		if (chance(15)) {
			b[n++] = prefixes[rnd(sizeof(prefixes))];
			if (chance(30))
				b[n++] = prefixes[rnd(sizeof(prefixes))];
		}
		op = n;
		switch (rnd(10)) {
		case 0 ... 3:
			b[n++] = special1[rnd(sizeof(special1))];
			break;
		case 4 ... 5:
			b[n++] = 0x0f;
			b[n++] = special2[rnd(sizeof(special2))];
			break;
		default:
			b[n++] = (bt_u8)rnd(256);
			break;
		}
		for (i = n; i < 15; i++)
			b[i] = (bt_u8)rnd(256);
		/* ModRM of ff: mostly the branch forms */
		if (b[op] == 0xff && chance(70))
			b[n] = (bt_u8)((b[n] & 0xc7) | (2 + rnd(4)) << 3);
		/* rel32 branches: mostly near, so targets are in the code */
		if ((b[op] == 0xe8 || b[op] == 0xe9 ||
		     (b[op] == 0x0f && (b[op + 1] & 0xf0) == 0x80)) &&
		    chance(80)) {
			bt_u32 at = n + (b[op] == 0x0f), rel = rnd(600) - 300;

			if (at + 4 <= 15)
				memcpy(b + at, &rel, 4);
		}
		if (decode_insn(b, 15, &gd) || gd.insn.length > room)
			continue;
		memcpy(p, b, gd.insn.length);
		return gd.insn.length;
	}
	return 0;
}

/* n bytes of valid instructions (the last gap filled at random). */
static void gen_stream(bt_u8 *p, bt_u32 n)
{
	static const bt_u8 runs[] = { 0xfa, 0xfb, 0x9c, 0x90, 0x50 };
	bt_u32 at = 0, len;

	while (at < n) {
		if (chance(2)) {
			/* a run of CLI/STI/PUSHF/...: the long rewrites */
			for (len = 8 + rnd(56); len && at < n; len--)
				p[at++] = runs[rnd(sizeof(runs))];
			continue;
		}
		len = gen_insn(p + at, n - at);
		if (!len)
			p[at++] = (bt_u8)rnd(256);
		at += len;
	}
}

static void gen_random(bt_u8 *p, bt_u32 n)
{
	bt_u32 i;

	for (i = 0; i + 8 <= n; i += 8) {
		bt_u64 v = rnd64();

		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] = (bt_u8)rnd(256);
}

/* A few mutations of the n bytes at p. */
static void mutate(bt_u8 *p, bt_u32 n)
{
	unsigned int k = 1 + rnd(8);

	while (k--) {
		bt_u32 at = rnd(n), len = 1 + rnd(32);

		switch (rnd(5)) {
		case 0: /* a byte */
			p[at] = (bt_u8)rnd(256);
			break;
		case 1: /* a bit */
			p[at] ^= (bt_u8)(1 << rnd(8));
			break;
		case 2: /* insert a prefix */
			memmove(p + at + 1, p + at, n - at - 1);
			p[at] = prefixes[rnd(sizeof(prefixes))];
			break;
		case 3: /* delete a byte */
			memmove(p + at, p + at + 1, n - at - 1);
			break;
		default: { /* copy a chunk elsewhere */
			bt_u32 to = rnd(n);

			if (at + len > n)
				len = n - at;
			if (to + len > n)
				len = n - to;
			memmove(p + to, p + at, len);
			break;
		}
		}
	}
}

enum gen {
	GEN_RANDOM,
	GEN_STREAM,
	GEN_MUTATED
};

/* --- the checked run ---------------------------------------------------- */

struct fuzz {
	struct rig r;
	/*
	 * What the buffers must hold: copied from the cache only for what a
	 * call just appended (a new block) or after a flush, and otherwise
	 * updated with the bytes each call documents it writes.
	 */
	bt_u8 *tc_copy, *window_copy;
	struct bt_map *map_copy;
	struct bt_block *blocks_copy;
	/* counters */
	unsigned long long blocks, tc_insns, flushes, rounds, chains, kills,
		revives, invalidated;
	unsigned long long full[3]; /* BT_EFULL: blocks, map, TC */
	unsigned long long kinds[8];
};

static void wr32(bt_u8 *p, bt_u32 v)
{
	memcpy(p, &v, 4);
}

/* The buffers hold what they must (hash and page chains aside). */
static void check_copies(struct __test_metadata *_metadata, struct fuzz *f)
{
	const struct bt_cache *c = &f->r.c;
	bt_u32 i;

	for (i = 0; i < c->nblocks; i++) {
		f->blocks_copy[i].hash_next = c->blocks[i].hash_next;
		f->blocks_copy[i].page_next[0] = c->blocks[i].page_next[0];
		f->blocks_copy[i].page_next[1] = c->blocks[i].page_next[1];
	}
	ASSERT_EQ(0, memcmp(c->tc, f->tc_copy, TC_SIZE));
	ASSERT_EQ(0, memcmp(c->window, f->window_copy, BT_VP_SIZE));
	ASSERT_EQ(0, memcmp(c->map, f->map_copy, MAX_MAP * sizeof(*c->map)));
	ASSERT_EQ(0, memcmp(c->blocks, f->blocks_copy,
			    MAX_BLOCKS * sizeof(*c->blocks)));
	ASSERT_TRUE(rig_intact(&f->r));
}

/* The same near what a translation may touch: cheap, after each. */
static void check_near(struct __test_metadata *_metadata, struct fuzz *f,
		       bt_u32 used, bt_u32 nmap)
{
	const struct bt_cache *c = &f->r.c;
	bt_u32 lo = used > c->prologue_end + 256 ? used - 256 : 0;
	bt_u32 hi = used + BT_MAX_BLOCK_CODE + 64;
	bt_u32 mlo = nmap > 16 ? nmap - 16 : 0,
	       mhi = nmap + 3 * BT_MAX_INSNS + 16;

	if (hi > TC_SIZE)
		hi = TC_SIZE;
	if (mhi > MAX_MAP)
		mhi = MAX_MAP;
	ASSERT_EQ(0, memcmp(c->tc + lo, f->tc_copy + lo, hi - lo));
	ASSERT_EQ(0, memcmp(c->map + mlo, f->map_copy + mlo,
			    (mhi - mlo) * sizeof(*c->map)));
	ASSERT_EQ(0, memcmp(c->tc, f->tc_copy, c->prologue_end));
	ASSERT_TRUE(rig_intact(&f->r));
}

/* bt_fast_clear() as documented: every entry {0, the miss}. */
static void expect_fast_clear(struct fuzz *f)
{
	const struct bt_cache *c = &f->r.c;
	unsigned int i;

	for (i = 0; i < BT_FAST_ENTRIES; i++) {
		wr32(f->window_copy + BT_VP_FAST + 8 * i, 0);
		wr32(f->window_copy + BT_VP_FAST + 8 * i + 4,
		     c->tc_low + c->ind_miss);
	}
}

/* bt_kill_block() as documented: int $0x1f at its start, marked dead. */
/* A killed block's fast-table entry goes; the others stay. */
static void expect_kill(struct fuzz *f, const struct bt_block *b)
{
	const struct bt_cache *c = &f->r.c;
	bt_u8 *t = f->window_copy + BT_VP_FAST + 8 * bt_fast_slot(b->eip);
	bt_u32 eip, tc;

	memcpy(&eip, t, 4);
	memcpy(&tc, t + 4, 4);
	if (eip == b->eip && tc == bt_block_addr(c, b)) {
		wr32(t, 0);
		wr32(t + 4, c->tc_low + c->ind_miss);
	}
	f->tc_copy[b->tc_off] = 0xcd;
	f->tc_copy[b->tc_off + 1] = BT_CALLOUT_VECTOR;
	f->blocks_copy[b - f->r.c.blocks].flags |= BT_BLOCK_DEAD;
}

/*
 * Empties the cache; the TC past the prologue and the metadata become
 * canary again, so that stray writes show.  The cache gets new limits
 * within its buffers, so that each of them runs out in turn.
 */
static void flush(struct __test_metadata *_metadata, struct fuzz *f)
{
	struct bt_cache *c = &f->r.c;

	bt_cache_flush(c);
	c->tc_size = c->prologue_end + BT_MAX_BLOCK_CODE +
		     rnd(TC_SIZE - c->prologue_end - BT_MAX_BLOCK_CODE + 1);
	c->max_map = 3 * BT_MAX_INSNS + 8 + rnd(MAX_MAP - 3 * BT_MAX_INSNS - 7);
	c->max_blocks = 1 + rnd(MAX_BLOCKS);
	c->checked = rnd(2); /* every other cache: checked translation */
	ASSERT_EQ(c->prologue_end, c->tc_used);
	ASSERT_EQ(0, c->nblocks);
	ASSERT_EQ(0, c->nmap);
	expect_fast_clear(f);
	ASSERT_EQ(0, memcmp(c->window, f->window_copy, BT_VP_SIZE));
	memset(c->tc + c->prologue_end, RIG_CANARY, TC_SIZE - c->prologue_end);
	memset(c->map, RIG_CANARY, MAX_MAP * sizeof(struct bt_map));
	memset(c->blocks, RIG_CANARY, MAX_BLOCKS * sizeof(struct bt_block));
	memcpy(f->tc_copy, c->tc, TC_SIZE);
	memcpy(f->map_copy, c->map, MAX_MAP * sizeof(struct bt_map));
	memcpy(f->blocks_copy, c->blocks, MAX_BLOCKS * sizeof(struct bt_block));
	f->flushes++;
}

/*
 * Translates CS:eip (after a flush if the cache is full), checking what
 * the call wrote; NULL if it is translated already.
 */
static struct bt_block *translate(struct __test_metadata *_metadata,
				  struct fuzz *f, bt_u32 eip)
{
	struct rig *r = &f->r;
	struct bt_cache *c = &r->c;
	bt_u32 used = c->tc_used, nmap = c->nmap, nblocks = c->nblocks, i;
	struct bt_block *b = NULL;
	int ret;

	if (bt_lookup(c, &r->key, eip))
		return NULL;
	ret = bt_translate(c, &r->env, &r->key, eip, &b);
	ASSERT_LE(c->tc_used, c->tc_size);
	if (ret == BT_EFULL) {
		/* refused up front: nothing written at all */
		ASSERT_EQ(used, c->tc_used);
		ASSERT_EQ(nmap, c->nmap);
		ASSERT_EQ(nblocks, c->nblocks);
		ASSERT_EQ(NULL, bt_lookup(c, &r->key, eip));
		check_near(_metadata, f, used, nmap);
		check_copies(_metadata, f);
		/* and it was full */
		ASSERT_TRUE(nblocks == c->max_blocks ||
			    nmap + 3 * BT_MAX_INSNS + 8 > c->max_map ||
			    used + BT_MAX_BLOCK_CODE > c->tc_size);
		f->full[nblocks == c->max_blocks		   ? 0
			: nmap + 3 * BT_MAX_INSNS + 8 > c->max_map ? 1
								   : 2]++;
		flush(_metadata, f);
		ret = bt_translate(c, &r->env, &r->key, eip, &b);
		used = c->prologue_end;
		nmap = 0;
		nblocks = 0;
	}
	ASSERT_EQ(BT_OK, ret);
	ASSERT_EQ(nblocks + 1, c->nblocks);
	ASSERT_EQ(&c->blocks[nblocks], b);
	ASSERT_EQ(used, b->tc_off);
	ASSERT_EQ(used + b->tc_len, c->tc_used);
	ASSERT_GE(used + BT_MAX_BLOCK_CODE, c->tc_used);
	ASSERT_EQ(nmap, b->map_first);
	ASSERT_EQ(nmap + b->map_count, c->nmap);
	ASSERT_GE(nmap + 3 * BT_MAX_INSNS + 8, c->nmap);
	/* what it appended; anything else it wrote shows against the copy */
	memcpy(f->tc_copy + used, c->tc + used, c->tc_used - used);
	memcpy(f->map_copy + nmap, c->map + nmap,
	       (c->nmap - nmap) * sizeof(*c->map));
	f->blocks_copy[nblocks] = *b;
	check_near(_metadata, f, used, nmap);
	if (nblocks + 2 <= MAX_BLOCKS)
		ASSERT_EQ(0, memcmp(b + 1, f->blocks_copy + nblocks + 1,
				    sizeof(*b)));
	ASSERT_EQ(0, memcmp(c->window, f->window_copy, BT_VP_SIZE));
	f->tc_insns += rig_check_block(_metadata, r, b);
	f->blocks++;
	for (i = 0; i < b->map_count; i++)
		f->kinds[MAPE(r, b, i)->kind & 7]++;
	return b;
}

/* Lookup finds every live block, no dead one; bt_map_find() is sane. */
static void check_cache(struct __test_metadata *_metadata, struct fuzz *f)
{
	struct bt_cache *c = &f->r.c;
	bt_u32 i;

	for (i = 0; i < c->nblocks; i++) {
		struct bt_block *b = &c->blocks[i];
		struct bt_block *l = bt_lookup(c, &b->key, b->eip);

		ASSERT_EQ(!(b->flags & BT_BLOCK_DEAD), b == l);
		if (i)
			ASSERT_EQ(b[-1].tc_off + b[-1].tc_len, b->tc_off);
	}
	for (i = 0; i < 64; i++) {
		bt_u32 addr = c->tc_low - 16 + rnd(c->tc_used + 32);
		struct bt_block *b;
		const struct bt_map *m = bt_map_find(c, addr, &b);

		if (m)
			ASSERT_EQ(addr - c->tc_low, m->tc_off);
		if (b) {
			ASSERT_LE(b->tc_off, addr - c->tc_low);
			ASSERT_GT(b->tc_off + b->tc_len, addr - c->tc_low);
		}
		if (m && m->kind == BT_MAP_DEAD)
			ASSERT_TRUE(b && (b->flags & BT_BLOCK_DEAD));
	}
}

/* New code at [lin, lin + REGION): kill what overlaps it, nothing else. */
static void rewrite_region(struct __test_metadata *_metadata, struct fuzz *f,
			   bt_u32 lin, enum gen g)
{
	struct rig *r = &f->r;
	struct bt_cache *c = &r->c;
	bt_u8 *p = r->mem + (lin - r->base);
	bt_u32 i, n;

	n = bt_invalidate_range(c, lin, REGION);
	f->invalidated += n;
	for (i = 0; i < c->nblocks; i++) {
		const struct bt_block *b = &c->blocks[i];
		/* in 64 bits: a block may end at or past 4 GiB */
		bt_u64 end = b->lin_start +
			     (bt_u64)(bt_u32)(b->lin_end - b->lin_start);
		bool overlaps = (b->lin_start < lin + REGION && lin < end) ||
				(end > 1ULL << 32 && lin < end - (1ULL << 32));

		if (f->blocks_copy[i].flags & BT_BLOCK_DEAD)
			continue;
		ASSERT_EQ(overlaps, !!(b->flags & BT_BLOCK_DEAD));
		if (overlaps) {
			expect_kill(f, b);
			n--;
		}
	}
	ASSERT_EQ(0, n);
	check_copies(_metadata, f);
	switch (g) {
	case GEN_RANDOM:
		gen_random(p, REGION);
		break;
	case GEN_STREAM:
		gen_stream(p, REGION);
		break;
	default:
		gen_stream(p, REGION);
		mutate(p, REGION);
		break;
	}
}

/* Chain, kill, revive, fill the fast table: what the monitor does. */
static void cache_ops(struct __test_metadata *_metadata, struct fuzz *f)
{
	struct rig *r = &f->r;
	struct bt_cache *c = &r->c;
	struct bt_block *a, *b;
	unsigned int k;

	for (k = rnd(4); k && c->nblocks; k--) {
		a = &c->blocks[rnd(c->nblocks)];
		b = &c->blocks[rnd(c->nblocks)];
		if (a->flags & BT_BLOCK_DEAD) {
			if (b->flags & BT_BLOCK_DEAD)
				continue;
			bt_revive(c, a, b);
			f->tc_copy[a->tc_off] = 0xe9;
			wr32(f->tc_copy + a->tc_off + 1,
			     bt_block_addr(c, b) - (bt_block_addr(c, a) + 5));
			f->revives++;
			continue;
		}
		switch (rnd(3)) {
		case 0: { /* an exit taken: chain it */
			bt_u32 i;

			if (b->flags & BT_BLOCK_DEAD)
				break;
			for (i = 0; i < a->map_count; i++) {
				const struct bt_map *m = MAPE(r, a, i);

				if (m->kind != BT_MAP_EXIT)
					continue;
				bt_chain(c, m, b);
				wr32(f->tc_copy + m->arg,
				     bt_block_addr(c, b) -
					     (TCA(r, m->arg) + 4));
				f->chains++;
				break;
			}
			break;
		}
		case 1: { /* killed */
			const struct bt_map *m;
			struct bt_block *fb;

			bt_kill_block(c, a);
			expect_kill(f, a);
			ASSERT_NE(a, bt_lookup(c, &a->key, a->eip));
			m = bt_map_find(c, bt_block_addr(c, a), &fb);
			ASSERT_NE(NULL, m);
			ASSERT_EQ(BT_MAP_DEAD, m->kind);
			ASSERT_EQ(a->eip, m->guest_eip);
			ASSERT_EQ(a, fb);
			f->kills++;
			break;
		}
		default:
			bt_fast_insert(c, a->eip, a);
			wr32(f->window_copy + BT_VP_FAST +
				     8 * bt_fast_slot(a->eip),
			     a->eip);
			wr32(f->window_copy + BT_VP_FAST +
				     8 * bt_fast_slot(a->eip) + 4,
			     bt_block_addr(c, a));
			break;
		}
	}
	check_copies(_metadata, f);
}

/* One round: new code, a code segment, blocks breadth first. */
static void round_of(struct __test_metadata *_metadata, struct fuzz *f,
		     enum gen g, unsigned long long *left)
{
	struct rig *r = &f->r;
	bt_u32 queue[64], head = 0, tail = 0, lin, eip, n, base;

	lin = r->base + rnd(GUEST - REGION);
	rewrite_region(_metadata, f, lin, g);
	base = chance(20) ? rnd(lin) & ~15u : 0;
	r->key.cs_base = base;
	r->key.cs_sel = (bt_u16)(chance(20) ? 0x18 + 8 * rnd(4) : 0x10);
	eip = lin + rnd(16) - base;
	r->key.cs_limit = chance(15) ? eip + rnd(REGION + 64) : 0xffffffff;
	r->have_hot = chance(10);
	r->hot_eip = eip + rnd(64);
	queue[tail++] = eip;
	for (n = 8 + rnd(32); n && *left; n--) {
		struct bt_block *b;
		bt_u32 i;

		if (head == tail) /* somewhere else in the code */
			queue[tail++ % 64] = lin + rnd(REGION) - base;
		b = translate(_metadata, f, queue[head++ % 64]);
		if (!b)
			continue;
		(*left)--;
		for (i = 0; i < b->map_count && tail - head < 64; i++) {
			const struct bt_map *m = MAPE(r, b, i);
			bt_u32 t = m->guest_eip + base - lin;

			/* follow exits into the code, and a few out of it */
			if (m->kind == BT_MAP_EXIT && (t < REGION || chance(5)))
				queue[tail++ % 64] = m->guest_eip;
		}
	}
	f->rounds++;
	if (chance(50))
		cache_ops(_metadata, f);
	if (f->rounds % 4 == 0)
		check_cache(_metadata, f);
}

static bool fuzz_init(struct __test_metadata *_metadata, struct fuzz *f)
{
	struct bt_cache *c = &f->r.c;

	memset(f, 0, sizeof(*f));
	if (!rig_init(&f->r, TC_SIZE, MAX_MAP, MAX_BLOCKS, GUEST))
		return false;
	f->tc_copy = malloc(TC_SIZE);
	f->window_copy = malloc(BT_VP_SIZE);
	f->map_copy = malloc(MAX_MAP * sizeof(struct bt_map));
	f->blocks_copy = malloc(MAX_BLOCKS * sizeof(struct bt_block));
	if (!f->tc_copy || !f->window_copy || !f->map_copy || !f->blocks_copy)
		return false;
	memcpy(f->window_copy, c->window, BT_VP_SIZE);
	flush(_metadata, f);
	f->flushes = 0; /* that one was ours */
	return true;
}

static void fuzz_free(struct fuzz *f)
{
	rig_free(&f->r);
	free(f->tc_copy);
	free(f->window_copy);
	free(f->map_copy);
	free(f->blocks_copy);
}

static const char *const gen_names[] = { "random bytes", "instruction streams",
					 "mutated streams" };

static void run(struct __test_metadata *_metadata, enum gen g,
		unsigned long long blocks)
{
	static struct fuzz f;
	unsigned long long left = blocks;
	struct timespec t0, t1;
	double s;

	prng_state = fuzz_seed * 3 + g;
	ASSERT_TRUE(fuzz_init(_metadata, &f));
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	while (left)
		round_of(_metadata, &f, g, &left);
	check_cache(_metadata, &f);
	check_copies(_metadata, &f);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ksft_print_msg(
		"%s: %llu blocks in %llu rounds, %.2f s CPU; %llu TC insns "
		"decoded; map INSN %llu EXIT %llu CALLOUT %llu STEP %llu "
		"STI %llu LIMIT %llu; full: %llu blocks %llu map %llu TC; %llu "
		"chained, %llu "
		"killed, %llu revived, %llu invalidated\n",
		gen_names[g], f.blocks, f.rounds, s, f.tc_insns,
		f.kinds[BT_MAP_INSN], f.kinds[BT_MAP_EXIT],
		f.kinds[BT_MAP_CALLOUT], f.kinds[BT_MAP_STEP],
		f.kinds[BT_MAP_STI], f.kinds[BT_MAP_LIMIT], f.full[0],
		f.full[1], f.full[2], f.chains, f.kills, f.revives,
		f.invalidated);
	fflush(stdout);
	ASSERT_EQ(blocks, f.blocks);
	ASSERT_TRUE(rig_intact(&f.r));
	fuzz_free(&f);
}

#ifndef BT_LIBFUZZER

TEST(random_bytes)
{
	run(_metadata, GEN_RANDOM, fuzz_blocks);
}

TEST(instruction_streams)
{
	run(_metadata, GEN_STREAM, fuzz_blocks / 2);
}

TEST(mutated_streams)
{
	run(_metadata, GEN_MUTATED, fuzz_blocks / 2);
}

int main(int argc, char **argv)
{
	const char *s = getenv("BT_FUZZ_BLOCKS");
	/* allow 2000 blocks a second, at worst */
	int timeout;

	if (s && *s)
		fuzz_blocks = strtoull(s, NULL, 0);
	s = getenv("BT_FUZZ_SEED");
	if (s && *s)
		fuzz_seed = strtoull(s, NULL, 0);
	if (!fuzz_seed)
		fuzz_seed = (unsigned long long)time(NULL);
	timeout = 30 + (int)(fuzz_blocks / 2000);
	_random_bytes_object.timeout = timeout;
	_instruction_streams_object.timeout = timeout;
	_mutated_streams_object.timeout = timeout;
	printf("# BT_FUZZ_SEED=%llu BT_FUZZ_BLOCKS=%llu\n", fuzz_seed,
	       fuzz_blocks);
	fflush(stdout);
	return test_harness_run(argc, argv);
}

#else /* libFuzzer: the input is the guest code */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct __test_metadata md = { .name = "libfuzzer" };
	struct __test_metadata *_metadata = &md;
	static struct fuzz f;
	static bool ready;
	unsigned long long left = 16;
	bt_u32 n = size < REGION ? (bt_u32)size : REGION;

	if (!ready) {
		if (setjmp(md.env) || !fuzz_init(_metadata, &f))
			abort();
		ready = true;
	}
	md.passed = 1;
	if (setjmp(md.env)) /* a failed ASSERT */
		abort();
	prng_state = size;
	f.r.key = (struct bt_key){ .cs_limit = 0xffffffff, .cs_sel = 0x10 };
	f.r.have_hot = false;
	rewrite_region(_metadata, &f, f.r.base, GEN_RANDOM);
	memset(f.r.mem, 0, REGION);
	memcpy(f.r.mem, data, n);
	{
		bt_u32 queue[16], head = 0, tail = 0;

		queue[tail++] = f.r.base;
		while (head != tail && left) {
			struct bt_block *b =
				translate(_metadata, &f, queue[head++]);
			bt_u32 i;

			left--;
			for (i = 0; b && i < b->map_count && tail < 16; i++)
				if (MAPE(&f.r, b, i)->kind == BT_MAP_EXIT &&
				    MAPE(&f.r, b, i)->guest_eip - f.r.base < n)
					queue[tail++] =
						MAPE(&f.r, b, i)->guest_eip;
		}
	}
	check_cache(_metadata, &f);
	check_copies(_metadata, &f);
	if (!md.passed)
		abort();
	return 0;
}

#endif
