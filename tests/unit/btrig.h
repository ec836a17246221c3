/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A test rig for the binary translator (bt/): a translation cache whose TC,
 * per-vCPU window and metadata arrays are each followed (and preceded) by an
 * inaccessible guard page, a guest code buffer read through a fake struct
 * bt_env, and rig_check_block(), which checks everything the translator
 * promises about one block it made.  Used by test-bt.c and test-bt-fuzz.c;
 * include it after kselftest_harness.h.
 */
#ifndef BT86_TESTS_BTRIG_H
#define BT86_TESTS_BTRIG_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bt.h"
#include "check.h"
#include "decode.h"

/* Where the monitor puts them for vCPU 0 (kmod/btarea.c). */
#define RIG_WINDOW_LOW 0xffc00000u
#define RIG_TC_LOW     0xffc10000u
/* The guest buffer's linear address. */
#define RIG_GUEST_BASE 0x00100000u
/* The window's selector (the monitor's BT_GS_SEL). */
#define RIG_GS_SEL 0xfb9
#define RIG_CANARY 0xa5

/* A buffer that ends where a PROT_NONE page begins, after one more. */
struct guarded {
	bt_u8 *map;
	size_t maplen;
	bt_u8 *p;    /* the buffer */
	size_t size; /* its length */
	size_t gap;  /* canary bytes between the first guard page and p */
};

static inline bool guarded_alloc(struct guarded *g, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (size + page - 1) / page * page;
	void *m;

	m = mmap(NULL, body + 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	g->map = m;
	g->maplen = body + 2 * page;
	g->size = size;
	g->gap = body - size;
	g->p = g->map + page + g->gap;
	memset(g->map + page, RIG_CANARY, body);
	return !mprotect(g->map, page, PROT_NONE) &&
	       !mprotect(g->map + page + body, page, PROT_NONE);
}

/* The canary bytes before the buffer are intact. */
static inline bool guarded_intact(const struct guarded *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i;

	for (i = 0; i < g->gap; i++)
		if (g->map[page + i] != RIG_CANARY)
			return false;
	return true;
}

static inline void guarded_free(struct guarded *g)
{
	if (g->map)
		munmap(g->map, g->maplen);
	g->map = NULL;
}

struct rig {
	struct bt_cache c;
	struct bt_env env;
	struct bt_key key;
	/* guest code: linear [base, base + size) */
	bt_u32 base, size;
	bt_u8 *mem;
	bt_u32 hot_eip; /* env.hot() says true for it, if have_hot */
	bool have_hot;
	unsigned long fetches;
	struct decoded_insn scratch; /* the translator's */
	struct decoded_insn d;	     /* the checks' */
	struct decoded_insn g, td;   /* rig_check_map()'s */
	struct guarded tc, window, map, blocks, hash, page_hash, guest;
};

static bt_u32 rig_fetch(void *opaque, bt_u32 lin, bt_u8 *buf, bt_u32 len)
{
	struct rig *r = opaque;
	bt_u32 off = lin - r->base;

	r->fetches++;
	if (len > 15 || off >= r->size)
		return 0;
	if (len > r->size - off)
		len = r->size - off;
	memcpy(buf, r->mem + off, len);
	return len;
}

static bool rig_hot(void *opaque, bt_u32 eip)
{
	struct rig *r = opaque;

	return r->have_hot && eip == r->hot_eip;
}

/*
 * A cache of tc_size bytes of TC, max_map map entries and max_blocks
 * blocks, over guest_size bytes of guest code (all zero), flat CS.
 */
static inline bool rig_init(struct rig *r, bt_u32 tc_size, bt_u32 max_map,
			    bt_u32 max_blocks, bt_u32 guest_size)
{
	memset(r, 0, sizeof(*r));
	if (!guarded_alloc(&r->tc, tc_size) ||
	    !guarded_alloc(&r->window, BT_VP_SIZE) ||
	    !guarded_alloc(&r->map, max_map * sizeof(struct bt_map)) ||
	    !guarded_alloc(&r->blocks, max_blocks * sizeof(struct bt_block)) ||
	    !guarded_alloc(&r->hash, BT_HASH_SIZE * sizeof(bt_u32)) ||
	    !guarded_alloc(&r->page_hash, BT_PAGE_HASH * sizeof(bt_u32)) ||
	    !guarded_alloc(&r->guest, guest_size))
		return false;
	r->c.tc = r->tc.p;
	r->c.tc_low = RIG_TC_LOW;
	r->c.tc_size = tc_size;
	r->c.window = r->window.p;
	r->c.window_low = RIG_WINDOW_LOW;
	r->c.gs_sel = RIG_GS_SEL;
	r->c.map = (struct bt_map *)r->map.p;
	r->c.max_map = max_map;
	r->c.blocks = (struct bt_block *)r->blocks.p;
	r->c.max_blocks = max_blocks;
	r->c.hash = (bt_u32 *)r->hash.p;
	r->c.page_hash = (bt_u32 *)r->page_hash.p;
	r->c.scratch = &r->scratch;
	r->base = RIG_GUEST_BASE;
	r->size = guest_size;
	r->mem = r->guest.p;
	memset(r->mem, 0, guest_size);
	memset(r->c.window, 0, BT_VP_SIZE);
	r->env.opaque = r;
	r->env.fetch = rig_fetch;
	r->env.hot = rig_hot;
	r->key = (struct bt_key){ .cs_base = 0,
				  .cs_limit = 0xffffffff,
				  .cs_sel = 0x10 };
	bt_cache_init(&r->c);
	return true;
}

static inline void rig_free(struct rig *r)
{
	guarded_free(&r->tc);
	guarded_free(&r->window);
	guarded_free(&r->map);
	guarded_free(&r->blocks);
	guarded_free(&r->hash);
	guarded_free(&r->page_hash);
	guarded_free(&r->guest);
}

/* Nothing wrote before any of the buffers. */
static inline bool rig_intact(const struct rig *r)
{
	return guarded_intact(&r->tc) && guarded_intact(&r->window) &&
	       guarded_intact(&r->map) && guarded_intact(&r->blocks) &&
	       guarded_intact(&r->hash) && guarded_intact(&r->page_hash) &&
	       guarded_intact(&r->guest);
}

/* Guest code at CS:eip. */
static inline void rig_code(struct rig *r, bt_u32 eip, const void *code,
			    size_t n)
{
	memcpy(r->mem + (r->key.cs_base + eip - r->base), code, n);
}

static inline bt_u32 rig_rd32(const bt_u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (bt_u32)p[3] << 24;
}

/* The TC bytes at TC offset off, and the TC address of an offset. */
#define TCP(r, off)   ((r)->c.tc + (off))
#define TCA(r, off)   ((r)->c.tc_low + (off))
#define MAPE(r, b, i) (&(r)->c.map[(b)->map_first + (i)])

/* Where the relative branch (jmp/jcc rel32, jcc/loop/jecxz rel8) at TC
 * offset off, decoded in *d, goes (a TC address); false if not one. */
static inline bool rig_dest_of(const struct rig *r,
			       const struct decoded_insn *d, bt_u32 off,
			       bt_u32 *dest)
{
	const ZydisDecodedInstruction *in = &d->insn;

	if (in->meta.category != ZYDIS_CATEGORY_UNCOND_BR &&
	    in->meta.category != ZYDIS_CATEGORY_COND_BR)
		return false;
	if (d->ops[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return false;
	*dest = TCA(r, off) + in->length + (bt_u32)d->ops[0].imm.value.s;
	return true;
}

static inline bool rig_branch_dest(struct rig *r, bt_u32 off, bt_u32 *dest)
{
	return rig_dest_of(r, &r->d, off, dest);
}

/*
 * What the translator does with the guest instruction at CS:eip, as
 * translate.c decides it (STEP when it cannot be fetched or decoded,
 * CALLOUT when env.hot() says so).
 */
static inline enum bt_class rig_class(struct rig *r, bt_u32 eip, bt_u8 *bytes,
				      bt_u32 *len)
{
	const struct bt_key *k = &r->key;
	bt_u32 n = 15, got;
	enum bt_class cls;

	*len = 0;
	if (eip > k->cs_limit)
		return CLASS_STEP;
	if (k->cs_limit - eip < 14)
		n = k->cs_limit - eip + 1;
	got = rig_fetch(r, k->cs_base + eip, bytes, n);
	if (!got || decode_insn(bytes, got, &r->d))
		return CLASS_STEP;
	*len = r->d.insn.length;
	cls = bt_classify(&r->d);
	/* a direct branch past CS's limit runs natively (translate.c) */
	if ((cls == CLASS_JMP || cls == CLASS_JCC || cls == CLASS_CALL ||
	     cls == CLASS_LOOP) &&
	    eip + *len + (bt_u32)r->d.ops[0].imm.value.s > k->cs_limit)
		cls = CLASS_STEP;
	if (cls != CLASS_STEP && rig_hot(r, eip))
		cls = CLASS_CALLOUT;
	return cls;
}

/* Decodes the TC instruction at offset off of block b into r->td. */
static inline void rig_decode_tc(struct __test_metadata *_metadata,
				 struct rig *r, const struct bt_block *b,
				 bt_u32 off)
{
	ASSERT_LT(off, b->tc_off + b->tc_len);
	ASSERT_EQ(0, decode_insn(TCP(r, off), b->tc_off + b->tc_len - off,
				 &r->td));
}

/*
 * The direct branch at TC offset off of block b goes to where guest EIP
 * want is translated: its own exit stub for want (whose arg is this
 * branch's rel32), or the start of a block for want.
 */
static inline void rig_check_dest(struct __test_metadata *_metadata,
				  struct rig *r, const struct bt_block *b,
				  bt_u32 off, bt_u32 want)
{
	const struct bt_map *m;
	struct bt_block *tb;
	bt_u32 dest;

	rig_decode_tc(_metadata, r, b, off);
	ASSERT_TRUE(rig_dest_of(r, &r->td, off, &dest));
	ASSERT_EQ(4, r->td.insn.raw.imm[0].size / 8);
	m = bt_map_find(&r->c, dest, &tb);
	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, tb);
	if (tb == b) {
		ASSERT_EQ(BT_MAP_EXIT, m->kind);
		ASSERT_EQ(want, m->guest_eip);
		ASSERT_EQ(off + r->td.insn.length - 4, m->arg);
	} else {
		ASSERT_EQ(dest - r->c.tc_low, tb->tc_off);
		ASSERT_EQ(want, tb->eip);
		ASSERT_EQ(r->key.cs_base, tb->key.cs_base);
		ASSERT_EQ(r->key.cs_limit, tb->key.cs_limit);
		ASSERT_EQ(r->key.cs_sel, tb->key.cs_sel);
	}
}

/* From TC offset off: the instructions up to a JMP, which goes to the
 * indirect-branch routine. */
static inline void rig_check_to_lookup(struct __test_metadata *_metadata,
				       struct rig *r, const struct bt_block *b,
				       bt_u32 off)
{
	bt_u32 dest;

	for (;;) {
		rig_decode_tc(_metadata, r, b, off);
		if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_JMP)
			break;
		off += r->td.insn.length;
	}
	ASSERT_TRUE(rig_dest_of(r, &r->td, off, &dest));
	ASSERT_EQ(TCA(r, r->c.ind_lookup), dest);
}

/* Operand a reads the same thing as operand b. */
static inline bool rig_same_operand(const ZydisDecodedOperand *a,
				    const ZydisDecodedOperand *b)
{
	if (a->type != b->type || a->size != b->size)
		return false;
	if (a->type == ZYDIS_OPERAND_TYPE_REGISTER)
		return a->reg.value == b->reg.value;
	return a->type == ZYDIS_OPERAND_TYPE_MEMORY &&
	       a->mem.segment == b->mem.segment && a->mem.base == b->mem.base &&
	       a->mem.index == b->mem.index && a->mem.scale == b->mem.scale &&
	       a->mem.disp.value == b->mem.disp.value;
}

/*
 * What the rewrite of the guest instruction in r->g, whose map entries
 * start at entry first of block b, does: JCC and LOOP test the guest's
 * condition; CALL pushes the guest return address; branches go where the
 * guest's go (rig_check_dest()); RET pops into the window (and drops its
 * immediate); indirect branches read the guest's operand into %eax, push
 * the return address for a call, and go to the lookup; STI's JECXZ skips
 * exactly the call out, POPFD's JECXZ and JZs exactly theirs; PUSH Sreg
 * pushes the guest's selector for that register from the window.
 */
static inline void rig_check_rewrite(struct __test_metadata *_metadata,
				     struct rig *r, const struct bt_block *b,
				     enum bt_class cls, bt_u32 first,
				     bt_u32 eip)
{
	const struct decoded_insn *g = &r->g;
	bt_u32 next = eip + g->insn.length, at = MAPE(r, b, first)->tc_off;
	bt_u32 target = next + (bt_u32)g->ops[0].imm.value.s, dest;

	switch (cls) {
	case CLASS_JMP:
		rig_check_dest(_metadata, r, b, at, target);
		break;
	case CLASS_JCC:
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(g->insn.mnemonic, r->td.insn.mnemonic);
		rig_check_dest(_metadata, r, b, at, target);
		rig_check_dest(_metadata, r, b, at + r->td.insn.length, next);
		break;
	case CLASS_CALL:
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(ZYDIS_MNEMONIC_PUSH, r->td.insn.mnemonic);
		ASSERT_EQ(next, (bt_u32)r->td.ops[0].imm.value.u);
		rig_check_dest(_metadata, r, b, MAPE(r, b, first + 1)->tc_off,
			       target);
		break;
	case CLASS_LOOP:
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(g->insn.mnemonic, r->td.insn.mnemonic);
		ASSERT_EQ(g->insn.address_width, r->td.insn.address_width);
		ASSERT_TRUE(rig_dest_of(r, &r->td, at, &dest));
		ASSERT_EQ(TCA(r, MAPE(r, b, first + 1)->tc_off), dest);
		rig_check_dest(_metadata, r, b, at + r->td.insn.length, next);
		rig_check_dest(_metadata, r, b, MAPE(r, b, first + 1)->tc_off,
			       target);
		break;
	case CLASS_RET:
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(ZYDIS_MNEMONIC_POP, r->td.insn.mnemonic);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[0].mem.segment);
		ASSERT_EQ(BT_VP_TARGET, r->td.ops[0].mem.disp.value);
		if (g->ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			rig_decode_tc(_metadata, r, b, at + r->td.insn.length);
			ASSERT_EQ(ZYDIS_MNEMONIC_LEA, r->td.insn.mnemonic);
			ASSERT_EQ(ZYDIS_REGISTER_ESP, r->td.ops[0].reg.value);
			ASSERT_EQ(ZYDIS_REGISTER_ESP, r->td.ops[1].mem.base);
			ASSERT_EQ(g->ops[0].imm.value.u & 0xffff,
				  r->td.ops[1].mem.disp.value);
		}
		rig_check_to_lookup(_metadata, r, b, at);
		break;
	case CLASS_JMP_IND:
	case CLASS_CALL_IND: {
		ZydisDecodedOperand op = g->ops[0];

		/*
		 * Zydis takes 3E on an indirect branch for NOTRACK alone and
		 * reports the default segment; in 32-bit code it is also
		 * the DS override the rewrite keeps, as the CPU does.
		 */
		if ((g->insn.attributes & ZYDIS_ATTRIB_HAS_NOTRACK) &&
		    op.type == ZYDIS_OPERAND_TYPE_MEMORY)
			op.mem.segment = ZYDIS_REGISTER_DS;
		at = MAPE(r, b, first + 1)->tc_off;
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(ZYDIS_MNEMONIC_MOV, r->td.insn.mnemonic);
		ASSERT_EQ(ZYDIS_REGISTER_EAX, r->td.ops[0].reg.value);
		if (!rig_same_operand(&op, &r->td.ops[1]))
			TH_LOG("guest %#x: %02x %02x %02x %02x %02x %02x: the "
			       "target is not read the same way",
			       eip, r->mem[eip + r->key.cs_base - r->base],
			       r->mem[eip + r->key.cs_base - r->base + 1],
			       r->mem[eip + r->key.cs_base - r->base + 2],
			       r->mem[eip + r->key.cs_base - r->base + 3],
			       r->mem[eip + r->key.cs_base - r->base + 4],
			       r->mem[eip + r->key.cs_base - r->base + 5]);
		ASSERT_TRUE(rig_same_operand(&op, &r->td.ops[1]));
		if (cls == CLASS_CALL_IND) {
			rig_decode_tc(_metadata, r, b,
				      MAPE(r, b, first + 2)->tc_off);
			ASSERT_EQ(ZYDIS_MNEMONIC_PUSH, r->td.insn.mnemonic);
			ASSERT_EQ(next, (bt_u32)r->td.ops[0].imm.value.u);
		}
		rig_check_to_lookup(_metadata, r, b, at);
		break;
	}
	case CLASS_STI:
		for (;; at += r->td.insn.length) {
			rig_decode_tc(_metadata, r, b, at);
			if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_JECXZ)
				break;
		}
		ASSERT_TRUE(rig_dest_of(r, &r->td, at, &dest));
		ASSERT_EQ(TCA(r, MAPE(r, b, first + 1)->tc_off + 2), dest);
		break;
	case CLASS_POPF:
		/* JECXZ skips the first call out, each JZ the second; the
		 * sequence ends with the real POPFD */
		for (;; at += r->td.insn.length) {
			bt_u32 skipped;

			rig_decode_tc(_metadata, r, b, at);
			if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_POPFD)
				break;
			if (!rig_dest_of(r, &r->td, at, &dest))
				continue;
			skipped = r->td.insn.mnemonic == ZYDIS_MNEMONIC_JECXZ
					  ? first + 2
					  : first + 3;
			ASSERT_EQ(TCA(r, MAPE(r, b, skipped)->tc_off + 2),
				  dest);
		}
		ASSERT_LT(MAPE(r, b, first + 3)->tc_off, at);
		break;
	case CLASS_GS_MEM:
		/* the guest's GS loaded, the instruction, the window's back */
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(ZYDIS_MNEMONIC_MOV, r->td.insn.mnemonic);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[0].reg.value);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[1].mem.segment);
		ASSERT_EQ(ZYDIS_REGISTER_NONE, r->td.ops[1].mem.base);
		ASSERT_EQ(BT_VP_GUEST_GS, r->td.ops[1].mem.disp.value);
		at = MAPE(r, b, first + 1)->tc_off;
		ASSERT_EQ(0, memcmp(r->mem + (r->key.cs_base + eip - r->base),
				    TCP(r, at), g->insn.length));
		rig_decode_tc(_metadata, r, b, at + g->insn.length);
		ASSERT_EQ(ZYDIS_MNEMONIC_MOV, r->td.insn.mnemonic);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[0].reg.value);
		ASSERT_EQ(ZYDIS_REGISTER_CS, r->td.ops[1].mem.segment);
		ASSERT_EQ(ZYDIS_REGISTER_NONE, r->td.ops[1].mem.base);
		ASSERT_EQ(ZYDIS_REGISTER_NONE, r->td.ops[1].mem.index);
		ASSERT_EQ(TCA(r, r->c.gs_sel_const),
			  (bt_u32)r->td.ops[1].mem.disp.value);
		ASSERT_EQ(RIG_GS_SEL,
			  TCP(r, r->c.gs_sel_const)[0] |
				  TCP(r, r->c.gs_sel_const)[1] << 8);
		ASSERT_GE(r->c.prologue_end, r->c.gs_sel_const + 2);
		break;
	case CLASS_LOAD_SREG: {
		/* the selector into CX, a JECXZ over exactly the call out,
		 * the guest's instruction, its selector into the window */
		bt_u32 n = g->ops[0].reg.value - ZYDIS_REGISTER_ES;
		bool read = false;

		for (;; at += r->td.insn.length) {
			rig_decode_tc(_metadata, r, b, at);
			if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_JECXZ)
				break;
			if (r->td.insn.mnemonic != ZYDIS_MNEMONIC_MOV ||
			    r->td.ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
			    r->td.ops[0].reg.value != ZYDIS_REGISTER_CX)
				continue;
			read = true;
			if (g->insn.mnemonic == ZYDIS_MNEMONIC_POP) {
				ASSERT_EQ(ZYDIS_REGISTER_ESP,
					  r->td.ops[1].mem.base);
				ASSERT_EQ(0, r->td.ops[1].mem.disp.value);
			} else {
				ZydisDecodedOperand op = g->ops[1];

				if (op.type == ZYDIS_OPERAND_TYPE_REGISTER)
					op.reg.value = ZYDIS_REGISTER_AX +
						       (op.reg.value -
							ZYDIS_REGISTER_AX) %
							       8;
				op.size = 16;
				ASSERT_TRUE(
					rig_same_operand(&op, &r->td.ops[1]));
			}
		}
		/* from CX itself: nothing to read */
		ASSERT_TRUE(
			read ||
			(g->ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
			 (g->ops[1].reg.value - ZYDIS_REGISTER_AX) % 8 == 1));
		ASSERT_TRUE(rig_dest_of(r, &r->td, at, &dest));
		ASSERT_EQ(TCA(r, MAPE(r, b, first + 2)->tc_off + 2), dest);
		/* the read of the selector starts at the second entry */
		ASSERT_EQ(MAPE(r, b, first)->tc_off + 7,
			  MAPE(r, b, first + 1)->tc_off);
		at = MAPE(r, b, first + 3)->tc_off;
		ASSERT_EQ(0, memcmp(r->mem + (r->key.cs_base + eip - r->base),
				    TCP(r, at), g->insn.length));
		rig_decode_tc(_metadata, r, b, at + g->insn.length);
		ASSERT_EQ(ZYDIS_MNEMONIC_MOV, r->td.insn.mnemonic);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[0].mem.segment);
		ASSERT_EQ(BT_VP_SEL + 4 * n, r->td.ops[0].mem.disp.value);
		ASSERT_EQ(g->ops[0].reg.value, r->td.ops[1].reg.value);
		break;
	}
	case CLASS_READ_SREG:
		/* the same register gets the guest's selector, from the window */
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(g->ops[0].reg.value, r->td.ops[0].reg.value);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[1].mem.segment);
		ASSERT_EQ(BT_VP_SEL +
				  4 * (g->ops[1].reg.value - ZYDIS_REGISTER_ES),
			  r->td.ops[1].mem.disp.value);
		ASSERT_EQ(16, r->td.ops[1].size);
		break;
	case CLASS_PUSH_SREG:
		/* the guest's selector, from the window */
		rig_decode_tc(_metadata, r, b, at);
		ASSERT_EQ(ZYDIS_MNEMONIC_PUSH, r->td.insn.mnemonic);
		ASSERT_EQ(ZYDIS_OPERAND_TYPE_MEMORY, r->td.ops[0].type);
		ASSERT_EQ(ZYDIS_REGISTER_GS, r->td.ops[0].mem.segment);
		ASSERT_EQ(BT_VP_SEL +
				  4 * (g->ops[0].reg.value - ZYDIS_REGISTER_ES),
			  r->td.ops[0].mem.disp.value);
		ASSERT_EQ(32, r->td.ops[0].size);
		break;
	default:
		break;
	}
}

/*
 * Checked translation: the bound checks of the guest instruction in r->g
 * (first entry at map entry @first of block b, its LIMIT entry next), as
 * check.c documents them: each access's offset computed from the guest's
 * own operand (LEA), compared with %gs:BT_VP_LIMIT for its segment (the
 * first and the last byte, or a REP's whole range), every failing branch
 * to one fail path that ends at the LIMIT call out, the passing path
 * jumping over it to the instruction (the LIMIT entry's arg, which is the
 * next entry).
 */
static inline void rig_check_checks(struct __test_metadata *_metadata,
				    struct rig *r, const struct bt_block *b,
				    bt_u32 first)
{
	struct bt_check c[BT_MAX_CHECKS];
	unsigned int n = bt_checks_of(&r->g, c), i, leas = 0, cmps[6] = { 0 };
	unsigned int want[6] = { 0 };
	const struct bt_map *lim = MAPE(r, b, first + 1);
	bt_u32 off = MAPE(r, b, first)->tc_off, fail = 0, dest;
	bool over = false, saved = false;

	ASSERT_LT(0, n);
	ASSERT_EQ(BT_MAP_LIMIT, lim->kind);
	ASSERT_EQ(MAPE(r, b, first + 2)->tc_off, lim->arg);
	for (i = 0; i < n; i++)
		want[c[i].seg] += c[i].rep || c[i].size == 1 ? 1 : 2;
	for (; off < lim->tc_off; off += r->td.insn.length) {
		const ZydisDecodedOperand *o = &r->td.ops[1];

		rig_decode_tc(_metadata, r, b, off);
		if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_LAHF)
			saved = true; /* the flags: the comparisons follow */
		if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_LEA && !saved) {
			/* the offset of access leas: the guest's operand,
			 * ESP-based stack operands moved to the bytes */
			const struct bt_check *k = &c[leas++];
			const ZydisDecodedOperand *g;
			bt_u32 disp;
			bool same;

			ASSERT_GE(n, leas);
			ASSERT_GT(r->g.insn.operand_count, k->opnd);
			g = &r->g.ops[k->opnd];
			ASSERT_EQ(ZYDIS_OPERAND_TYPE_MEMORY, g->type);
			ASSERT_EQ(ZYDIS_REGISTER_ES + k->seg, g->mem.segment);
			ASSERT_EQ(ZYDIS_REGISTER_ECX, r->td.ops[0].reg.value);
			disp = (bt_u32)g->mem.disp.value;
			if (g->mem.base == ZYDIS_REGISTER_ESP &&
			    g->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
			    (g->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
				disp -= g->size / 8; /* a push */
			else if (g->mem.base == ZYDIS_REGISTER_ESP &&
				 g->visibility !=
					 ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
				 r->g.insn.mnemonic == ZYDIS_MNEMONIC_POP)
				disp += r->g.insn.operand_width / 8; /* pop m */
			if (r->g.insn.address_width == 16 &&
			    g->mem.base == ZYDIS_REGISTER_NONE &&
			    g->mem.index == ZYDIS_REGISTER_NONE)
				/* disp16 alone: a 32-bit lea of it */
				same = o->mem.base == ZYDIS_REGISTER_NONE &&
				       o->mem.index == ZYDIS_REGISTER_NONE &&
				       (disp & 0xffff) ==
					       (bt_u32)o->mem.disp.value;
			else
				same = g->mem.base == o->mem.base &&
				       g->mem.index == o->mem.index &&
				       (g->mem.index == ZYDIS_REGISTER_NONE ||
					g->mem.scale == o->mem.scale) &&
				       ((disp ^ (bt_u32)o->mem.disp.value) &
					(r->td.insn.address_width == 16
						 ? 0xffffu
						 : 0xffffffffu)) == 0;
			if (!same)
				TH_LOG("guest %#x: %02x %02x %02x %02x %02x: "
				       "operand %u not checked as it is read",
				       MAPE(r, b, first)->guest_eip,
				       r->mem[MAPE(r, b, first)->guest_eip +
					      r->key.cs_base - r->base],
				       r->mem[MAPE(r, b, first)->guest_eip +
					      r->key.cs_base - r->base + 1],
				       r->mem[MAPE(r, b, first)->guest_eip +
					      r->key.cs_base - r->base + 2],
				       r->mem[MAPE(r, b, first)->guest_eip +
					      r->key.cs_base - r->base + 3],
				       r->mem[MAPE(r, b, first)->guest_eip +
					      r->key.cs_base - r->base + 4],
				       k->opnd);
			ASSERT_TRUE(same);
		}
		if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_CMP &&
		    r->td.ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    r->td.ops[1].mem.segment == ZYDIS_REGISTER_GS) {
			bt_u32 at = (bt_u32)r->td.ops[1].mem.disp.value;

			ASSERT_LE(BT_VP_LIMIT, at);
			ASSERT_GT(BT_VP_LIMIT + 24, at);
			ASSERT_EQ(ZYDIS_REGISTER_ECX, r->td.ops[0].reg.value);
			cmps[(at - BT_VP_LIMIT) / 4]++;
		}
		if (!rig_dest_of(r, &r->td, off, &dest))
			continue;
		if (r->td.insn.mnemonic == ZYDIS_MNEMONIC_JMP) {
			/* the passing path: over the fail path */
			ASSERT_EQ(TCA(r, lim->arg), dest);
			ASSERT_FALSE(over);
			over = true;
		} else if (r->td.insn.raw.imm[0].size == 32) {
			/* a failing check: all to one fail path */
			if (!fail)
				fail = dest;
			ASSERT_EQ(fail, dest);
		} else {
			/* REP: n = 0 or no limit skips forward */
			ASSERT_LT(TCA(r, off), dest);
			ASSERT_GT(fail ? fail : TCA(r, lim->tc_off), dest);
		}
	}
	ASSERT_EQ(n, leas);
	ASSERT_TRUE(over);
	ASSERT_NE(0, fail);
	ASSERT_LT(fail, TCA(r, lim->tc_off));
	for (i = 0; i < 6; i++)
		ASSERT_EQ(want[i], cmps[i]);
}

/* The next entry of block b's map: kind k, guest EIP eip. */
#define EXPECT_ENTRY(k_, e_)                                                \
	do {                                                                \
		ASSERT_GT(b->map_count, i);                                 \
		m = MAPE(r, b, i++);                                        \
		if (m->kind != (k_) || m->guest_eip != (bt_u32)(e_))        \
			TH_LOG("block %#x, map entry %u: kind %u eip %#x, " \
			       "want kind %u eip %#x",                      \
			       b->eip, i - 1, m->kind, m->guest_eip, (k_),  \
			       (bt_u32)(e_));                               \
		ASSERT_EQ(k_, m->kind);                                     \
		ASSERT_EQ((bt_u32)(e_), m->guest_eip);                      \
		ASSERT_EQ(shadow, m->shadow);                               \
		ASSERT_EQ(0, m->flags);                                     \
		shadow = 0;                                                 \
	} while (0)

/*
 * Checks the map of block b against the guest code, instruction by
 * instruction, as translate.c documents it: IDENT and CLI one INSN entry
 * (IDENT: at a copy of the guest bytes), STI an INSN then an STI entry (and
 * the entry after it is marked shadow), PUSHFD two INSN, POPFD two INSN
 * and two CALLOUT, PUSH Sreg one INSN, an instruction with a %gs operand
 * two INSN (the second flagged BT_MAPF_GUEST_GS, with the shadow of the
 * first), JMP one INSN for
 * its target, JCC and RET one INSN, CALL and LOOP an INSN and one for the
 * target, indirect jmp two and indirect call three INSN; then a CALLOUT or
 * STEP entry for the instruction that stopped the block, or an INSN entry
 * and a fall-through exit after BT_MAX_INSNS (or when the block's code
 * room ran short); then the EXIT entries.
 */
static inline void rig_check_map(struct __test_metadata *_metadata,
				 struct rig *r, const struct bt_block *b)
{
	bt_u32 i = 0, n, eip = b->eip, len, next, target;
	const struct bt_map *m = NULL;
	bool ended = false;
	bt_u8 bytes[15];
	int shadow = 0;

	for (n = 0; n < b->ninsns; n++) {
		enum bt_class cls = rig_class(r, eip, bytes, &len);
		struct bt_check chk[BT_MAX_CHECKS];
		bt_u32 first = i;

		ASSERT_FALSE(ended);
		r->g = r->d;
		if (r->c.checked && bt_checks_of(&r->g, chk)) {
			int sh = shadow;

			EXPECT_ENTRY(BT_MAP_INSN, eip);
			shadow = sh;
			EXPECT_ENTRY(BT_MAP_LIMIT, eip);
			shadow = sh;
			rig_check_checks(_metadata, r, b, first);
			first = i;
		}
		ASSERT_NE(CLASS_STEP, cls);
		ASSERT_NE(CLASS_CALLOUT, cls);
		next = eip + len;
		target = next + (bt_u32)r->d.ops[0].imm.value.s;
		switch (cls) {
		case CLASS_IDENT:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			ASSERT_EQ(0, memcmp(bytes, TCP(r, m->tc_off), len));
			break;
		case CLASS_CLI:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			break;
		case CLASS_STI:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			EXPECT_ENTRY(BT_MAP_STI, next);
			shadow = 1;
			break;
		case CLASS_PUSHF:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			break;
		case CLASS_POPF: /* the monitor's two ways out, mid-block */
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			EXPECT_ENTRY(BT_MAP_CALLOUT, eip);
			EXPECT_ENTRY(BT_MAP_CALLOUT, eip);
			break;
		case CLASS_PUSH_SREG:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			break;
		case CLASS_READ_SREG:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			break;
		case CLASS_LOAD_SREG: {
			int s = shadow;

			EXPECT_ENTRY(BT_MAP_INSN, eip);
			shadow = s;
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			shadow = s;
			EXPECT_ENTRY(BT_MAP_CALLOUT, eip);
			shadow = s;
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			break;
		}
		case CLASS_GS_MEM: {
			int s = shadow;

			EXPECT_ENTRY(BT_MAP_INSN, eip);
			ASSERT_GT(b->map_count, i);
			m = MAPE(r, b, i++);
			ASSERT_EQ(BT_MAP_INSN, m->kind);
			ASSERT_EQ(eip, m->guest_eip);
			ASSERT_EQ(s, m->shadow);
			ASSERT_EQ(BT_MAPF_GUEST_GS, m->flags);
			break;
		}
		case CLASS_JMP:
			EXPECT_ENTRY(BT_MAP_INSN, target);
			ended = true;
			break;
		case CLASS_CALL:
		case CLASS_LOOP:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			EXPECT_ENTRY(BT_MAP_INSN, target);
			ended = true;
			break;
		case CLASS_CALL_IND:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			/* fall through */
		case CLASS_JMP_IND:
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			/* fall through */
		default: /* JCC, RET */
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			ended = true;
			break;
		}
		rig_check_rewrite(_metadata, r, b, cls, first, eip);
		eip = next;
	}
	ASSERT_EQ(b->ninsns ? r->key.cs_base + eip : b->lin_start + 1,
		  b->lin_end);
	if (!ended) {
		enum bt_class cls = rig_class(r, eip, bytes, &len);

		ASSERT_GT(b->map_count, i);
		if (MAPE(r, b, i)->kind == BT_MAP_INSN) {
			/* the fall-through: out of instructions or room */
			EXPECT_ENTRY(BT_MAP_INSN, eip);
			rig_check_dest(_metadata, r, b, m->tc_off, eip);
			ASSERT_TRUE(b->ninsns == BT_MAX_INSNS ||
				    m->tc_off - b->tc_off >
					    BT_MAX_BLOCK_CODE - BT_INSN_ROOM -
						    (r->c.checked
							     ? BT_CHECK_ROOM
							     : 0));
		} else if (cls == CLASS_STEP) {
			EXPECT_ENTRY(BT_MAP_STEP, eip);
		} else {
			/* checked translation calls out for segment loads */
			ASSERT_TRUE(cls == CLASS_CALLOUT ||
				    (cls == CLASS_LOAD_SREG && r->c.checked));
			EXPECT_ENTRY(BT_MAP_CALLOUT, eip);
		}
	}
	ASSERT_EQ(0, shadow);
	/* the exit stubs, at most two (jcc, loop: taken and not) */
	ASSERT_GE(2, b->map_count - i);
	for (; i < b->map_count; i++)
		ASSERT_EQ(BT_MAP_EXIT, MAPE(r, b, i)->kind);
}

/*
 * Everything the translator promises about block b, just made (nothing
 * chained to it or killed yet):
 * - its code is inside the used TC, at least 5 bytes, at most
 *   BT_MAX_BLOCK_CODE; its map is inside the used map, sorted by tc_off,
 *   every entry inside the block with a valid kind, the first at its start;
 * - the code decodes (32-bit) from its start to its end, and every map
 *   entry is an instruction boundary; every relative branch lands on an
 *   instruction boundary of the block, on the indirect-branch routine, or
 *   on the start of a live block (chained when translated);
 * - EXIT, CALLOUT, STEP and STI entries sit on "int $0x1f"; an EXIT's arg
 *   is the rel32 of a branch that goes to it;
 * - the map follows the guest code (rig_check_map());
 * - bt_map_find() finds each entry and the block, and nothing at other
 *   offsets.
 * Returns the number of TC instructions decoded.
 */
static inline unsigned int rig_check_block(struct __test_metadata *_metadata,
					   struct rig *r,
					   const struct bt_block *b)
{
	struct bt_cache *c = &r->c;
	bt_u32 start = b->tc_off, end = b->tc_off + b->tc_len, off, i, prev = 0;
	static bool boundary[BT_MAX_BLOCK_CODE + 1];
	unsigned int ninsn = 0;

	ASSERT_LE(c->prologue_end, start);
	ASSERT_LE(end, c->tc_used);
	ASSERT_LE(5, b->tc_len);
	ASSERT_GE(BT_MAX_BLOCK_CODE, b->tc_len);
	ASSERT_LE(1, b->map_count);
	ASSERT_LE(b->map_first + b->map_count, c->nmap);
	ASSERT_LE(c->nmap, c->max_map);
	ASSERT_LE(c->nblocks, c->max_blocks);
	ASSERT_LE(c->tc_used, c->tc_size);
	ASSERT_GE(BT_MAX_INSNS, b->ninsns);
	ASSERT_EQ(r->key.cs_base + b->eip, b->lin_start);
	/* on the chains of the pages of its code */
	ASSERT_EQ(b->lin_start >> 12, b->page[0]);
	ASSERT_EQ((b->lin_end - 1) >> 12, b->page[1]);
	ASSERT_EQ(0, b->flags);
	ASSERT_EQ(start, MAPE(r, b, 0)->tc_off);

	/* a linear sweep of the block's code */
	memset(boundary, 0, sizeof(boundary));
	for (off = start; off < end; off += r->d.insn.length) {
		int ret = decode_insn(TCP(r, off), end - off, &r->d);
		bt_u32 dest;

		if (ret)
			TH_LOG("TC offset %#x (block at %#x): no instruction",
			       off, start);
		ASSERT_EQ(0, ret);
		boundary[off - start] = true;
		ninsn++;
		if (rig_branch_dest(r, off, &dest)) {
			bt_u32 to = dest - c->tc_low;
			struct bt_block *tb;
			const struct bt_map *m;

			if (dest == TCA(r, c->ind_lookup))
				continue;
			if (to >= start && to < end)
				continue; /* checked below */
			m = bt_map_find(c, dest, &tb);
			if (!tb || tb->tc_off != to)
				TH_LOG("TC offset %#x: branch to %#x, not a block",
				       off, dest);
			ASSERT_TRUE(tb && tb->tc_off == to);
			ASSERT_NE(NULL, m);
		}
	}
	ASSERT_EQ(end, off);
	boundary[b->tc_len] = true;
	/* relative branches inside the block land on instructions */
	for (off = start; off < end; off += r->d.insn.length) {
		bt_u32 dest;

		ASSERT_EQ(0, decode_insn(TCP(r, off), end - off, &r->d));
		if (rig_branch_dest(r, off, &dest) &&
		    dest - c->tc_low - start < b->tc_len)
			ASSERT_TRUE(boundary[dest - c->tc_low - start]);
	}

	for (i = 0; i < b->map_count; i++) {
		const struct bt_map *m = MAPE(r, b, i);
		const struct bt_map *found;
		struct bt_block *fb;

		ASSERT_LE(start, m->tc_off);
		ASSERT_GT(end, m->tc_off);
		if (i)
			ASSERT_LT(prev, m->tc_off);
		prev = m->tc_off;
		ASSERT_TRUE(boundary[m->tc_off - start]);
		found = bt_map_find(c, TCA(r, m->tc_off), &fb);
		ASSERT_EQ(m, found);
		ASSERT_EQ(b, fb);
		if (m->kind != BT_MAP_INSN) {
			ASSERT_EQ(0xcd, *TCP(r, m->tc_off));
			ASSERT_EQ(BT_CALLOUT_VECTOR, *TCP(r, m->tc_off + 1));
		}
		if (m->kind == BT_MAP_EXIT) {
			ASSERT_LE(start, m->arg);
			ASSERT_GE(end - 4, m->arg);
			ASSERT_EQ(TCA(r, m->tc_off),
				  TCA(r, m->arg) + 4 +
					  rig_rd32(TCP(r, m->arg)));
		} else if (m->kind == BT_MAP_LIMIT) {
			ASSERT_GT(b->map_count, i + 1);
			ASSERT_EQ(MAPE(r, b, i + 1)->tc_off, m->arg);
		} else {
			ASSERT_EQ(0, m->arg);
		}
	}
	rig_check_map(_metadata, r, b);
	/* nothing between the entries */
	memset(boundary, 0, sizeof(boundary));
	for (i = 0; i < b->map_count; i++)
		boundary[MAPE(r, b, i)->tc_off - start] = true;
	for (off = start; off < end; off++) {
		struct bt_block *fb;
		const struct bt_map *found = bt_map_find(c, TCA(r, off), &fb);

		ASSERT_EQ(b, fb);
		ASSERT_EQ(boundary[off - start], found != NULL);
	}
	return ninsn;
}

#endif
