// SPDX-License-Identifier: GPL-2.0
/*
 * The binary translator (bt/) on hand-written 32-bit code: what each class
 * of guest instruction becomes in the translation cache, byte for byte, as
 * bt/translate.c documents it; the map from TC addresses back to guest
 * EIPs; classification (bt/classify.c), including what it assumes about
 * Zydis's hidden operands; and the cache (bt/cache.c): lookup, chaining,
 * killing and reviving blocks, invalidation, running out of room, the fast
 * indirect-branch table.  Every block translated here also goes through
 * rig_check_block() (btrig.h): its code decodes, its map is consistent.
 */
#include "kselftest_harness.h"
#include "btrig.h"

#define E	 RIG_GUEST_BASE /* the guest EIP of the first test code */
#define TC_SIZE	 0x40000
#define MAX_MAP	 8192
#define MAX_BLKS 1024
#define GUEST	 0x10000

/* The rewrites' fixed parts (translate.c), %gs offsets from bt.h. */
#define SAVE_EAX     0x65, 0x89, 0x05, BT_VP_SAVE_EAX, 0, 0, 0
#define STORE_TARGET 0x65, 0x89, 0x05, BT_VP_TARGET, 0, 0, 0
#define LOAD_EAX     0x65, 0x8b, 0x05, BT_VP_SAVE_EAX, 0, 0, 0
#define SAVE_ECX     0x65, 0x89, 0x0d, BT_VP_SAVE_ECX, 0, 0, 0
#define LOAD_ECX     0x65, 0x8b, 0x0d, BT_VP_SAVE_ECX, 0, 0, 0
#define POP_TARGET   0x65, 0x8f, 0x05, BT_VP_TARGET, 0, 0, 0
#define CALLOUT	     0xcd, BT_CALLOUT_VECTOR
#define CLI_SEQ	     0x65, 0xc6, 0x05, BT_VP_VIF, 0, 0, 0, 0x00
#define STI_SEQ                                                           \
	0x65, 0xc6, 0x05, BT_VP_VIF, 0, 0, 0, 0x02, SAVE_ECX, 0x65, 0x8b, \
		0x0d, BT_VP_WANT, 0, 0, 0, 0xe3, 9, LOAD_ECX, CALLOUT,    \
		LOAD_ECX
#define STI_LEN 40
#define STI_AT	31 /* the call out inside it */
#define PUSHF_SEQ                                                              \
	SAVE_EAX, 0x9c, 0x8b, 0x04, 0x24, 0x25, 0xff, 0xfc, 0xff, 0xff, 0x65,  \
		0x0a, 0x25, BT_VP_VIF, 0, 0, 0, 0x65, 0x0a, 0x25, BT_VP_VIOPL, \
		0, 0, 0, 0x9d, 0x50, LOAD_EAX
#define PUSHF_LEN 39

FIXTURE(bt)
{
	struct rig r;
};

FIXTURE_SETUP(bt)
{
	ASSERT_TRUE(rig_init(&self->r, TC_SIZE, MAX_MAP, MAX_BLKS, GUEST));
}

FIXTURE_TEARDOWN(bt)
{
	EXPECT_TRUE(rig_intact(&self->r));
	rig_free(&self->r);
}

/* Translates CS:eip, which must work, and checks the block. */
static struct bt_block *xlate(struct __test_metadata *_metadata, struct rig *r,
			      bt_u32 eip)
{
	struct bt_block *b = NULL;
	bt_u32 used = r->c.tc_used;

	ASSERT_EQ(BT_OK, bt_translate(&r->c, &r->env, &r->key, eip, &b));
	ASSERT_NE(NULL, b);
	ASSERT_EQ(eip, b->eip);
	ASSERT_EQ(used, b->tc_off);
	ASSERT_EQ(used + b->tc_len, r->c.tc_used);
	ASSERT_LE(r->c.tc_used, r->c.tc_size);
	ASSERT_EQ(b, bt_lookup(&r->c, &r->key, eip));
	rig_check_block(_metadata, r, b);
	ASSERT_TRUE(rig_intact(r));
	return b;
}

static void expect_bytes(struct __test_metadata *_metadata, const bt_u8 *got,
			 const bt_u8 *want, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != want[i]) {
			TH_LOG("%s: byte %zu is %02x, want %02x", what, i,
			       got[i], want[i]);
			break;
		}
	ASSERT_EQ(n, i);
}

/* Guest code at CS:eip. */
#define PUT(eip, ...)                                      \
	do {                                               \
		static const bt_u8 c_[] = { __VA_ARGS__ }; \
		rig_code(&self->r, (eip), c_, sizeof(c_)); \
	} while (0)

/* The TC holds these bytes at offset off. */
#define TC_IS(off, ...)                                                       \
	do {                                                                  \
		const bt_u8 w_[] = { __VA_ARGS__ };                           \
		expect_bytes(_metadata, TCP(&self->r, (off)), w_, sizeof(w_), \
			     "TC");                                           \
	} while (0)

/* Map entry i of block b is (kind, guest eip) at block offset off. */
#define MAP_IS(b, i, k, eip, off)                                   \
	do {                                                        \
		const struct bt_map *m_ = MAPE(&self->r, (b), (i)); \
		ASSERT_GT((b)->map_count, (i));                     \
		EXPECT_EQ((k), m_->kind);                           \
		EXPECT_EQ((bt_u32)(eip), m_->guest_eip);            \
		EXPECT_EQ((b)->tc_off + (off), m_->tc_off);         \
	} while (0)

/* The TC address the rel32 at TC offset off jumps to. */
static bt_u32 rel32_dest(struct rig *r, bt_u32 off)
{
	return TCA(r, off) + 4 + rig_rd32(TCP(r, off));
}

/* The TC address of the indirect-branch routine. */
#define IND_LOOKUP (TCA(&self->r, self->r.c.ind_lookup))

/* --- the cache as bt_cache_init() leaves it --------------------------- */

TEST_F(bt, prologue_and_empty_cache)
{
	struct rig *r = &self->r;
	struct bt_cache *c = &r->c;
	struct bt_block *b = (struct bt_block *)1;
	const struct bt_map *m;
	bt_u32 off, jmp_gs_at = 0;
	unsigned int i;

	EXPECT_EQ(0, c->ind_lookup);
	EXPECT_EQ(0, c->prologue_end % 16);
	EXPECT_LE(c->ind_miss + 2, c->prologue_end);
	EXPECT_EQ(c->prologue_end, c->tc_used);
	EXPECT_EQ(0, c->nblocks);
	EXPECT_EQ(0, c->nmap);
	for (i = 0; i < BT_HASH_SIZE; i++)
		ASSERT_EQ(BT_NONE, c->hash[i]);
	/* the routine decodes up to its call out, which ends it */
	for (off = 0; off < c->ind_miss; off += r->d.insn.length) {
		ASSERT_EQ(0,
			  decode_insn(TCP(r, off), c->ind_miss - off, &r->d));
		if (r->d.insn.mnemonic == ZYDIS_MNEMONIC_JMP)
			jmp_gs_at = off;
	}
	EXPECT_EQ(c->ind_miss, off);
	TC_IS(c->ind_miss, CALLOUT);
	/* the hit path ends with jmp *%gs:JUMP */
	TC_IS(jmp_gs_at, 0x65, 0xff, 0x25, BT_VP_JUMP, 0, 0, 0);

	EXPECT_FALSE(bt_in_tc(c, c->tc_low - 1));
	EXPECT_TRUE(bt_in_tc(c, c->tc_low));
	EXPECT_TRUE(bt_in_tc(c, c->tc_low + c->tc_used - 1));
	EXPECT_FALSE(bt_in_tc(c, c->tc_low + c->tc_used));
	/* the prologue has no map, but its call out is the miss */
	EXPECT_EQ(NULL, bt_map_find(c, c->tc_low, &b));
	EXPECT_EQ(NULL, b);
	m = bt_map_find(c, TCA(r, c->ind_miss), &b);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(BT_MAP_IND_MISS, m->kind);
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(NULL, bt_map_find(c, c->tc_low + c->tc_used, &b));
	EXPECT_EQ(NULL, bt_map_find(c, 0, &b));
}

/* --- IDENT ---------------------------------------------------------------- */

TEST_F(bt, ident_copied_exactly)
{
	static const bt_u8 code[] = {
		0x55,				    /* push %ebp */
		0x89, 0xe5,			    /* mov %esp,%ebp */
		0x83, 0xec, 0x10,		    /* sub $16,%esp */
		0x8b, 0x45, 0x08,		    /* mov 8(%ebp),%eax */
		0x8d, 0x04, 0x85, 0,	0x10, 0, 0, /* lea 0x1000(,%eax,4) */
		0xf0, 0x0f, 0xb1, 0x0a, /* lock cmpxchg %ecx,(%edx) */
		0xf3, 0xa5,		/* rep movsl */
		0x0f, 0x31,		/* rdtsc */
		0x64, 0x8b, 0x00,	/* mov %fs:(%eax),%eax */
		0x26, 0x89, 0x08,	/* mov %ecx,%es:(%eax) */
		0x36, 0x8b, 0x03,	/* mov %ss:(%ebx),%eax */
		0x66, 0x0f, 0x6f, 0xc1, /* movdqa %xmm1,%xmm0 */
		0x0f, 0x0b,		/* ud2 */
		0xc9,			/* leave */
		0xf4,			/* hlt */
	};
	static const bt_u32 lens[] = {
		1, 2, 3, 3, 7, 4, 2, 2, 3, 3, 3, 4, 2, 1
	};
	struct rig *r = &self->r;
	struct bt_block *b;
	bt_u32 off = 0;
	unsigned int i;

	rig_code(r, E, code, sizeof(code));
	b = xlate(_metadata, r, E);
	expect_bytes(_metadata, TCP(r, b->tc_off), code, sizeof(code) - 1,
		     "IDENT copy");
	TC_IS(b->tc_off + sizeof(code) - 1, CALLOUT);
	EXPECT_EQ(sizeof(code) + 1, b->tc_len);
	EXPECT_EQ(14, b->ninsns);
	EXPECT_EQ(15, b->map_count);
	for (i = 0; i < 14; i++) {
		MAP_IS(b, i, BT_MAP_INSN, E + off, off);
		off += lens[i];
	}
	MAP_IS(b, 14, BT_MAP_CALLOUT, E + off, off);
	/* the HLT is emulated from guest memory: not part of the block */
	EXPECT_EQ(E, b->lin_start);
	EXPECT_EQ(E + off, b->lin_end);
	EXPECT_EQ(0, r->c.stats.refused);
	EXPECT_EQ(1, r->c.stats.blocks);
	EXPECT_EQ(14, r->c.stats.insns);
}

/* --- direct branches ------------------------------------------------------ */

TEST_F(bt, jmp_to_exit_stub)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0xeb, 0x10); /* jmp .+0x12 */
	b = xlate(_metadata, r, E);
	TC_IS(b->tc_off, 0xe9);
	TC_IS(b->tc_off + 5, CALLOUT);
	EXPECT_EQ(7, b->tc_len);
	EXPECT_EQ(TCA(r, b->tc_off + 5), rel32_dest(r, b->tc_off + 1));
	/* the jmp's entry stands for its target: nothing else happened */
	ASSERT_EQ(2, b->map_count);
	MAP_IS(b, 0, BT_MAP_INSN, E + 0x12, 0);
	MAP_IS(b, 1, BT_MAP_EXIT, E + 0x12, 5);
	EXPECT_EQ(b->tc_off + 1, MAPE(r, b, 1)->arg);
	EXPECT_EQ(1, b->ninsns);
	EXPECT_EQ(E + 2, b->lin_end);

	PUT(E + 0x100, 0xe9, 0xf0, 0xff, 0xff, 0xff); /* jmp .-11 */
	b = xlate(_metadata, r, E + 0x100);
	MAP_IS(b, 0, BT_MAP_INSN, E + 0x100 + 5 - 16, 0);
	MAP_IS(b, 1, BT_MAP_EXIT, E + 0x100 + 5 - 16, 5);
}

TEST_F(bt, jcc_every_condition)
{
	struct rig *r = &self->r;
	unsigned int cc, form;

	for (form = 0; form < 2; form++)
		for (cc = 0; cc < 16; cc++) {
			bt_u32 eip = E + 0x100 * (form * 16 + cc), len;
			struct bt_block *b;
			bt_u8 code[6];

			if (form == 0) { /* jcc rel8 */
				code[0] = 0x70 | cc;
				code[1] = 0x20;
				len = 2;
			} else { /* jcc rel32, backwards */
				code[0] = 0x0f;
				code[1] = 0x80 | cc;
				code[2] = 0x00;
				code[3] = 0xff;
				code[4] = 0xff;
				code[5] = 0xff;
				len = 6;
			}
			rig_code(r, eip, code, len);
			b = xlate(_metadata, r, eip);
			/* jcc rel32 -> taken stub; jmp rel32 -> fall-through */
			TC_IS(b->tc_off, 0x0f);
			EXPECT_EQ(0x80 | cc, *TCP(r, b->tc_off + 1));
			TC_IS(b->tc_off + 6, 0xe9);
			TC_IS(b->tc_off + 11, CALLOUT, CALLOUT);
			EXPECT_EQ(15, b->tc_len);
			EXPECT_EQ(TCA(r, b->tc_off + 11),
				  rel32_dest(r, b->tc_off + 2));
			EXPECT_EQ(TCA(r, b->tc_off + 13),
				  rel32_dest(r, b->tc_off + 7));
			ASSERT_EQ(3, b->map_count);
			MAP_IS(b, 0, BT_MAP_INSN, eip, 0);
			MAP_IS(b, 1, BT_MAP_EXIT,
			       form ? eip + len - 0x100 : eip + len + 0x20, 11);
			MAP_IS(b, 2, BT_MAP_EXIT, eip + len, 13);
			EXPECT_EQ(b->tc_off + 2, MAPE(r, b, 1)->arg);
			EXPECT_EQ(b->tc_off + 7, MAPE(r, b, 2)->arg);
		}
}

TEST_F(bt, call_pushes_guest_return_address)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0x90, 0xe8, 0x00, 0x01, 0x00, 0x00); /* nop; call .+0x105 */
	b = xlate(_metadata, r, E);
	TC_IS(b->tc_off, 0x90, 0x68, (E + 6) & 0xff, ((E + 6) >> 8) & 0xff,
	      ((E + 6) >> 16) & 0xff, (E + 6) >> 24, 0xe9);
	TC_IS(b->tc_off + 11, CALLOUT);
	EXPECT_EQ(TCA(r, b->tc_off + 11), rel32_dest(r, b->tc_off + 7));
	ASSERT_EQ(4, b->map_count);
	MAP_IS(b, 0, BT_MAP_INSN, E, 0);
	MAP_IS(b, 1, BT_MAP_INSN, E + 1, 1);
	/* after the push: the guest is at the target */
	MAP_IS(b, 2, BT_MAP_INSN, E + 6 + 0x100, 6);
	MAP_IS(b, 3, BT_MAP_EXIT, E + 6 + 0x100, 11);
	EXPECT_EQ(b->tc_off + 7, MAPE(r, b, 3)->arg);
	EXPECT_EQ(2, b->ninsns);
}

TEST_F(bt, ret_through_the_fast_table)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0xc3); /* ret */
	b = xlate(_metadata, r, E);
	TC_IS(b->tc_off, POP_TARGET, 0xe9);
	EXPECT_EQ(IND_LOOKUP, rel32_dest(r, b->tc_off + 8));
	EXPECT_EQ(12, b->tc_len);
	ASSERT_EQ(1, b->map_count);
	MAP_IS(b, 0, BT_MAP_INSN, E, 0);

	PUT(E + 0x10, 0xc2, 0x08, 0x01); /* ret $0x108 */
	b = xlate(_metadata, r, E + 0x10);
	TC_IS(b->tc_off, POP_TARGET, 0x8d, 0xa4, 0x24, 0x08, 0x01, 0, 0, 0xe9);
	EXPECT_EQ(IND_LOOKUP, rel32_dest(r, b->tc_off + 15));
	ASSERT_EQ(1, b->map_count);
	EXPECT_EQ(E + 0x13, b->lin_end);

	PUT(E + 0x20, 0xf3, 0xc3); /* rep ret: the AMD idiom, a plain ret */
	b = xlate(_metadata, r, E + 0x20);
	TC_IS(b->tc_off, POP_TARGET, 0xe9);
}

TEST_F(bt, loop_jecxz_keep_rel8_over_a_jmp)
{
	static const struct {
		bt_u8 code[3];
		bt_u32 len;
	} cases[] = {
		{ { 0xe2, 0x40 }, 2 },	     /* loop */
		{ { 0xe1, 0x40 }, 2 },	     /* loope */
		{ { 0xe0, 0x40 }, 2 },	     /* loopne */
		{ { 0xe3, 0x40 }, 2 },	     /* jecxz */
		{ { 0x67, 0xe3, 0x40 }, 3 }, /* jcxz */
		{ { 0x67, 0xe2, 0xf0 }, 3 }, /* loop with %cx, backwards */
	};
	struct rig *r = &self->r;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bt_u32 eip = E + 0x100 * i, len = cases[i].len;
		bt_u32 target =
			eip + len + (bt_u32)(int8_t)cases[i].code[len - 1];
		struct bt_block *b;

		rig_code(r, eip, cases[i].code, len);
		b = xlate(_metadata, r, eip);
		/* the instruction, rel8 = 5: over the fall-through jmp */
		expect_bytes(_metadata, TCP(r, b->tc_off), cases[i].code,
			     len - 1, "loop prefix and opcode");
		EXPECT_EQ(5, *TCP(r, b->tc_off + len - 1));
		TC_IS(b->tc_off + len, 0xe9);
		TC_IS(b->tc_off + len + 5, 0xe9);
		TC_IS(b->tc_off + len + 10, CALLOUT, CALLOUT);
		EXPECT_EQ(TCA(r, b->tc_off + len + 10),
			  rel32_dest(r, b->tc_off + len + 1));
		EXPECT_EQ(TCA(r, b->tc_off + len + 12),
			  rel32_dest(r, b->tc_off + len + 6));
		ASSERT_EQ(4, b->map_count);
		MAP_IS(b, 0, BT_MAP_INSN, eip, 0);
		MAP_IS(b, 1, BT_MAP_INSN, target, len + 5);
		MAP_IS(b, 2, BT_MAP_EXIT, eip + len, len + 10);
		MAP_IS(b, 3, BT_MAP_EXIT, target, len + 12);
	}
}

/* --- indirect branches ------------------------------------------------------- */

TEST_F(bt, indirect_jmp_and_call)
{
	static const struct {
		bt_u8 code[8];
		bt_u32 len;
		bt_u8 load[8]; /* how the target is read into %eax */
		bt_u32 load_len;
		bool call;
	} cases[] = {
		/* jmp *%eax */
		{ { 0xff, 0xe0 }, 2, { 0x8b, 0xc0 }, 2, false },
		/* jmp *%esp */
		{ { 0xff, 0xe4 }, 2, { 0x8b, 0xc4 }, 2, false },
		/* jmp *0x1000(,%eax,4) */
		{ { 0xff, 0x24, 0x85, 0, 0x10, 0, 0 },
		  7,
		  { 0x8b, 0x04, 0x85, 0, 0x10, 0, 0 },
		  7,
		  false },
		/* jmp *%es:(%eax) */
		{ { 0x26, 0xff, 0x20 }, 3, { 0x26, 0x8b, 0x00 }, 3, false },
		/* jmp *(%bx) (16-bit addressing) */
		{ { 0x67, 0xff, 0x27 }, 3, { 0x67, 0x8b, 0x07 }, 3, false },
		/* notrack jmp *%edx: the DS prefix stays */
		{ { 0x3e, 0xff, 0xe2 }, 3, { 0x3e, 0x8b, 0xc2 }, 3, false },
		/* bnd jmp *%eax: the F2 prefix goes */
		{ { 0xf2, 0xff, 0xe0 }, 3, { 0x8b, 0xc0 }, 2, false },
		/* call *%ebx */
		{ { 0xff, 0xd3 }, 2, { 0x8b, 0xc3 }, 2, true },
		/* call *0x2000 */
		{ { 0xff, 0x15, 0, 0x20, 0, 0 },
		  6,
		  { 0x8b, 0x05, 0, 0x20, 0, 0 },
		  6,
		  true },
		/* call *%fs:4(%eax) */
		{ { 0x64, 0xff, 0x50, 0x04 },
		  4,
		  { 0x64, 0x8b, 0x40, 0x04 },
		  4,
		  true },
		/* call *(%esp) */
		{ { 0xff, 0x14, 0x24 }, 3, { 0x8b, 0x04, 0x24 }, 3, true },
	};
	static const bt_u8 save[] = { SAVE_EAX },
			   tail[] = { STORE_TARGET, LOAD_EAX };
	struct rig *r = &self->r;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bt_u32 eip = E + 0x100 * i, at, next = eip + cases[i].len;
		struct bt_block *b;

		rig_code(r, eip, cases[i].code, cases[i].len);
		b = xlate(_metadata, r, eip);
		at = b->tc_off;
		expect_bytes(_metadata, TCP(r, at), save, 7, "save %eax");
		expect_bytes(_metadata, TCP(r, at + 7), cases[i].load,
			     cases[i].load_len, "load the target");
		at += 7 + cases[i].load_len;
		expect_bytes(_metadata, TCP(r, at), tail, 14, "%eax back");
		at += 14;
		MAP_IS(b, 0, BT_MAP_INSN, eip, 0);
		MAP_IS(b, 1, BT_MAP_INSN, eip, 7);
		if (cases[i].call) {
			TC_IS(at, 0x68, next & 0xff, (next >> 8) & 0xff,
			      (next >> 16) & 0xff, next >> 24);
			ASSERT_EQ(3, b->map_count);
			MAP_IS(b, 2, BT_MAP_INSN, eip, at - b->tc_off);
			at += 5;
		} else {
			ASSERT_EQ(2, b->map_count);
		}
		TC_IS(at, 0xe9);
		EXPECT_EQ(IND_LOOKUP, rel32_dest(r, at + 1));
		EXPECT_EQ(at + 5 - b->tc_off, b->tc_len);
	}
}

/* --- CLI, STI, PUSHFD: inline on the virtual flags ---------------------- */

TEST_F(bt, cli_sti_pushfd_inline)
{
	struct rig *r = &self->r;
	struct bt_block *b, *fb;
	bt_u32 at;

	/* cli; sti; nop; pushfl; hlt */
	PUT(E, 0xfa, 0xfb, 0x90, 0x9c, 0xf4);
	b = xlate(_metadata, r, E);
	at = b->tc_off;
	TC_IS(at, CLI_SEQ, STI_SEQ, 0x90, PUSHF_SEQ, CALLOUT);
	EXPECT_EQ(8 + STI_LEN + 1 + PUSHF_LEN + 2, b->tc_len);
	ASSERT_EQ(7, b->map_count);
	MAP_IS(b, 0, BT_MAP_INSN, E, 0);
	MAP_IS(b, 1, BT_MAP_INSN, E + 1, 8);
	/* the call out when an interrupt waits: the guest is past the STI */
	MAP_IS(b, 2, BT_MAP_STI, E + 2, 8 + STI_AT);
	/* the NOP is in the STI's shadow */
	MAP_IS(b, 3, BT_MAP_INSN, E + 2, 8 + STI_LEN);
	EXPECT_EQ(1, MAPE(r, b, 3)->shadow);
	MAP_IS(b, 4, BT_MAP_INSN, E + 3, 8 + STI_LEN + 1);
	/* after saving %eax: the PUSHFD has not happened */
	MAP_IS(b, 5, BT_MAP_INSN, E + 3, 8 + STI_LEN + 1 + 7);
	MAP_IS(b, 6, BT_MAP_CALLOUT, E + 4, 8 + STI_LEN + 1 + PUSHF_LEN);
	for (unsigned int i = 0; i < 7; i++) {
		if (i != 3)
			EXPECT_EQ(0, MAPE(r, b, i)->shadow);
	}
	EXPECT_EQ(4, b->ninsns);
	/* JECXZ skips the call out to the restore of %ecx */
	ASSERT_EQ(0, decode_insn(TCP(r, at + 8 + 22), 2, &r->d));
	EXPECT_EQ(ZYDIS_MNEMONIC_JECXZ, r->d.insn.mnemonic);
	EXPECT_EQ(8 + 22 + 2 + 9, 8 + STI_LEN - 7);
	/* nothing stops inside the sequences */
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, at + 1), &fb));
	EXPECT_EQ(b, fb);
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, at + 8 + 8), &fb));
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, at + 8 + STI_AT + 2), &fb));
	EXPECT_EQ(NULL,
		  bt_map_find(&r->c, TCA(r, at + 8 + STI_LEN + 1 + 8), &fb));
}

/*
 * STI holds interrupts until the next instruction is done, whatever that
 * instruction is: in "sti; hlt" (every idle loop) the HLT's call out must
 * carry the shadow, or an interrupt taken just before it is lost to the
 * HLT (the wakeup the idiom exists for).
 */
TEST_F(bt, sti_shadow_on_a_callout_or_step)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0xfb, 0xf4); /* sti; hlt */
	b = xlate(_metadata, r, E);
	ASSERT_EQ(3, b->map_count);
	MAP_IS(b, 2, BT_MAP_CALLOUT, E + 1, STI_LEN);
	EXPECT_EQ(1, MAPE(r, b, 2)->shadow);

	PUT(E + 0x100, 0xfb, 0x2e, 0x8b, 0x00); /* sti; mov %cs:(%eax),%eax */
	b = xlate(_metadata, r, E + 0x100);
	ASSERT_EQ(3, b->map_count);
	MAP_IS(b, 2, BT_MAP_STEP, E + 0x101, STI_LEN);
	EXPECT_EQ(1, MAPE(r, b, 2)->shadow);

	/* both entries of a %gs operand's rewrite are in the shadow */
	PUT(E + 0x200, 0xfb, 0x65, 0x8b, 0x00, 0xf4); /* mov %gs:(%eax),%eax */
	b = xlate(_metadata, r, E + 0x200);
	ASSERT_EQ(5, b->map_count);
	MAP_IS(b, 2, BT_MAP_INSN, E + 0x201, STI_LEN);
	MAP_IS(b, 3, BT_MAP_INSN, E + 0x201, STI_LEN + 7);
	EXPECT_EQ(1, MAPE(r, b, 2)->shadow);
	EXPECT_EQ(1, MAPE(r, b, 3)->shadow);
	EXPECT_EQ(0, MAPE(r, b, 4)->shadow);
}

/*
 * POPFD: the real POPFD sets everything but IF and IOPL at CPL 1, so the
 * rewrite writes the virtual IF and calls out only when the popped bits
 * 15:8 need the monitor (%gs:POPF table) or IF goes to 1 with an interrupt
 * waiting.  PUSH Sreg pushes the guest's selector from the window.
 */
TEST_F(bt, popfd_and_push_sreg_inline)
{
	static const bt_u8 sregs[][2] = { { 0x06 },	  { 0x0e },
					  { 0x16 },	  { 0x1e },
					  { 0x0f, 0xa0 }, { 0x0f, 0xa8 } };
	struct rig *r = &self->r;
	struct bt_block *b;
	unsigned int i;

	PUT(E, 0x9d, 0xf4); /* popfl; hlt */
	b = xlate(_metadata, r, E);
	TC_IS(b->tc_off, SAVE_ECX, 0x8b, 0x0c, 0x24, 0x0f, 0xb6, 0xcd, 0x65,
	      0x0f, 0xb6, 0x89, BT_VP_POPF & 0xff, BT_VP_POPF >> 8, 0, 0, 0xe3,
	      9, LOAD_ECX, CALLOUT, 0x0f, 0xb6, 0x4c, 0x24, 0x01, 0x83, 0xe1,
	      0x02, 0x65, 0x88, 0x0d, BT_VP_VIF, 0, 0, 0, 0x74, 19, 0x65, 0x83,
	      0x3d, BT_VP_WANT, 0, 0, 0, 0, 0x74, 9, LOAD_ECX, CALLOUT,
	      LOAD_ECX, 0x9d, CALLOUT);
	ASSERT_EQ(5, b->map_count);
	MAP_IS(b, 0, BT_MAP_INSN, E, 0);
	MAP_IS(b, 1, BT_MAP_INSN, E, 7);
	MAP_IS(b, 2, BT_MAP_CALLOUT, E, 30);
	MAP_IS(b, 3, BT_MAP_CALLOUT, E, 66);
	MAP_IS(b, 4, BT_MAP_CALLOUT, E + 1, 76);
	EXPECT_EQ(1, b->ninsns);

	for (i = 0; i < 6; i++) {
		bt_u32 eip = E + 0x100 + 0x10 * i,
		       len = sregs[i][0] == 0x0f ? 2 : 1;

		rig_code(r, eip, sregs[i], len);
		r->mem[eip + len - r->base] = 0xf4;
		b = xlate(_metadata, r, eip);
		TC_IS(b->tc_off, 0x65, 0xff, 0x35);
		EXPECT_EQ(BT_VP_SEL + 4 * i, rig_rd32(TCP(r, b->tc_off + 3)));
		ASSERT_EQ(2, b->map_count);
		MAP_IS(b, 0, BT_MAP_INSN, eip, 0);
		MAP_IS(b, 1, BT_MAP_CALLOUT, eip + len, 7);
	}
}

/* A direct branch past the CS limit faults at the branch: run natively. */
TEST_F(bt, branch_past_the_cs_limit_steps)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	r->key.cs_limit = E + 0xfff;
	PUT(E, 0x90, 0xe9, 0x00, 0x10, 0, 0);		   /* jmp E + 0x1006 */
	PUT(E + 0x10, 0x90, 0xe8, 0x00, 0x10, 0, 0);	   /* call */
	PUT(E + 0x20, 0x90, 0x0f, 0x84, 0x00, 0x10, 0, 0); /* je */
	PUT(E + 0x30, 0x90, 0x7f, 0x7f); /* jg .+0x81, inside */
	b = xlate(_metadata, r, E);
	MAP_IS(b, 1, BT_MAP_STEP, E + 1, 1);
	b = xlate(_metadata, r, E + 0x10);
	MAP_IS(b, 1, BT_MAP_STEP, E + 0x11, 1);
	b = xlate(_metadata, r, E + 0x20);
	MAP_IS(b, 1, BT_MAP_STEP, E + 0x21, 1);
	b = xlate(_metadata, r, E + 0x30);
	MAP_IS(b, 1, BT_MAP_INSN, E + 0x31, 1);
	MAP_IS(b, 2, BT_MAP_EXIT, E + 0x33 + 0x7f, 12);
}

/* --- sensitive instructions: call outs ----------------------------------- */

static const struct insn_case {
	const char *name;
	bt_u8 code[8];
	bt_u32 len;
} callouts[] = {
	{ "popfw", { 0x66, 0x9d }, 2 },
	{ "int1 (icebp)", { 0xf1 }, 1 },
	{ "push %ds, 16-bit", { 0x66, 0x1e }, 2 },
	{ "pushfw", { 0x66, 0x9c }, 2 },
	{ "mov (%eax),%ss", { 0x8e, 0x10 }, 2 },
	{ "mov %ax,%ss", { 0x8e, 0xd0 }, 2 },
	{ "mov %ax,%gs", { 0x8e, 0xe8 }, 2 },
	{ "mov %gs:(%eax),%ds", { 0x65, 0x8e, 0x18 }, 3 },
	{ "mov %cs:(%eax),%es", { 0x2e, 0x8e, 0x00 }, 3 },
	{ "mov %gs,(%eax)", { 0x8c, 0x28 }, 2 },
	{ "mov %ds,(%eax)", { 0x8c, 0x18 }, 2 },
	{ "pop %ss", { 0x17 }, 1 },
	{ "pop %gs", { 0x0f, 0xa9 }, 2 },
	{ "popw %gs", { 0x66, 0x0f, 0xa9 }, 3 },
	{ "lar", { 0x0f, 0x02, 0xc1 }, 3 },
	{ "lsl", { 0x0f, 0x03, 0xc1 }, 3 },
	{ "verr", { 0x0f, 0x00, 0xe0 }, 3 },
	{ "verw", { 0x0f, 0x00, 0x28 }, 3 },
	{ "sgdt", { 0x0f, 0x01, 0x00 }, 3 },
	{ "sidt", { 0x0f, 0x01, 0x08 }, 3 },
	{ "sldt", { 0x0f, 0x00, 0xc0 }, 3 },
	{ "str", { 0x0f, 0x00, 0xc8 }, 3 },
	{ "smsw %eax", { 0x0f, 0x01, 0xe0 }, 3 },
	{ "smsw (%eax)", { 0x0f, 0x01, 0x20 }, 3 },
	{ "lds", { 0xc5, 0x00 }, 2 },
	{ "les", { 0xc4, 0x00 }, 2 },
	{ "lfs", { 0x0f, 0xb4, 0x00 }, 3 },
	{ "lgs", { 0x0f, 0xb5, 0x00 }, 3 },
	{ "lss", { 0x0f, 0xb2, 0x00 }, 3 },
	{ "iret", { 0xcf }, 1 },
	{ "iretw", { 0x66, 0xcf }, 2 },
	{ "ljmp $8,$0x1000", { 0xea, 0, 0x10, 0, 0, 0x08, 0 }, 7 },
	{ "lcall $8,$0x1000", { 0x9a, 0, 0x10, 0, 0, 0x08, 0 }, 7 },
	{ "ljmp *(%eax)", { 0xff, 0x28 }, 2 },
	{ "lcall *(%eax)", { 0xff, 0x18 }, 2 },
	{ "lret", { 0xcb }, 1 },
	{ "lret $4", { 0xca, 0x04, 0 }, 3 },
	{ "int $0x80", { 0xcd, 0x80 }, 2 },
	{ "int $0x1f", { 0xcd, 0x1f }, 2 },
	{ "int3", { 0xcc }, 1 },
	{ "into", { 0xce }, 1 },
	{ "in %dx,%al", { 0xec }, 1 },
	{ "in $0x71,%eax", { 0xe5, 0x71 }, 2 },
	{ "out %al,$0x80", { 0xe6, 0x80 }, 2 },
	{ "out %eax,%dx", { 0xef }, 1 },
	{ "out %ax,%dx", { 0x66, 0xef }, 2 },
	{ "insb", { 0x6c }, 1 },
	{ "insl", { 0x6d }, 1 },
	{ "insw", { 0x66, 0x6d }, 2 },
	{ "outsb", { 0x6e }, 1 },
	{ "rep outsl", { 0xf3, 0x6f }, 2 },
	{ "outsw", { 0x66, 0x6f }, 2 },
	{ "hlt", { 0xf4 }, 1 },
	{ "mov %eax,%cr0", { 0x0f, 0x22, 0xc0 }, 3 },
	{ "mov %cr3,%eax", { 0x0f, 0x20, 0xd8 }, 3 },
	{ "mov %eax,%cr4", { 0x0f, 0x22, 0xe0 }, 3 },
	{ "mov %cr2,%edx", { 0x0f, 0x20, 0xd2 }, 3 },
	{ "mov %eax,%dr7", { 0x0f, 0x23, 0xf8 }, 3 },
	{ "mov %dr6,%eax", { 0x0f, 0x21, 0xf0 }, 3 },
	{ "lgdt", { 0x0f, 0x01, 0x10 }, 3 },
	{ "lidt", { 0x0f, 0x01, 0x18 }, 3 },
	{ "lldt", { 0x0f, 0x00, 0xd0 }, 3 },
	{ "ltr", { 0x0f, 0x00, 0xd8 }, 3 },
	{ "lmsw", { 0x0f, 0x01, 0xf0 }, 3 },
	{ "clts", { 0x0f, 0x06 }, 2 },
	{ "rdmsr", { 0x0f, 0x32 }, 2 },
	{ "wrmsr", { 0x0f, 0x30 }, 2 },
	{ "invlpg", { 0x0f, 0x01, 0x38 }, 3 },
	{ "wbinvd", { 0x0f, 0x09 }, 2 },
	{ "invd", { 0x0f, 0x08 }, 2 },
	{ "sysenter", { 0x0f, 0x34 }, 2 },
	{ "sysexit", { 0x0f, 0x35 }, 2 },
};

/* What runs natively, alone (BT_MAP_STEP). */
static const struct insn_case steps[] = {
	/* memory through %cs (the TC's), branches through %gs and %cs */
	{ "mov %cs:(%eax),%eax", { 0x2e, 0x8b, 0x00 }, 3 },
	{ "xlat %cs:(%ebx)", { 0x2e, 0xd7 }, 2 },
	{ "jmp *%gs:(%eax)", { 0x65, 0xff, 0x20 }, 3 },
	{ "jmp *%cs:4(%eax)", { 0x2e, 0xff, 0x60, 0x04 }, 4 },
	{ "call *%gs:0x10", { 0x65, 0xff, 0x15, 0x10, 0, 0, 0 }, 7 },
	{ "call *%cs:(%eax)", { 0x2e, 0xff, 0x10 }, 3 },
	/* 16-bit near branches: IP wraps at 64K */
	{ "jmpw", { 0x66, 0xe9, 0x10, 0 }, 4 },
	{ "jmpw short", { 0x66, 0xeb, 0x10 }, 3 },
	{ "callw", { 0x66, 0xe8, 0x10, 0 }, 4 },
	{ "retw", { 0x66, 0xc3 }, 2 },
	{ "retw $4", { 0x66, 0xc2, 0x04, 0 }, 4 },
	{ "jew", { 0x66, 0x0f, 0x84, 0x10, 0 }, 5 },
	{ "jew short", { 0x66, 0x74, 0x10 }, 3 },
	{ "jmpw *%ax", { 0x66, 0xff, 0xe0 }, 3 },
	{ "callw *(%eax)", { 0x66, 0xff, 0x10 }, 3 },
	/* what the CPU refuses or that needs EFLAGS.TF */
	{ "syscall", { 0x0f, 0x05 }, 2 },
	{ "sysret", { 0x0f, 0x07 }, 2 },
	{ "xbegin", { 0xc7, 0xf8, 0, 0, 0, 0 }, 6 },
	{ "xabort", { 0xc6, 0xf8, 0x01 }, 3 },
	{ "xend", { 0x0f, 0x01, 0xd5 }, 3 },
	/* undecodable */
	{ "0f 04", { 0x0f, 0x04 }, 2 },
	{ "lock hlt", { 0xf0, 0xf4 }, 2 },
	{ "mov %ax,%cs", { 0x8e, 0xc8 }, 2 },
	{ "ff /7", { 0xff, 0xff }, 2 },
	{ "lock nop", { 0xf0, 0x90 }, 2 },
};

/* Two NOPs, then the instruction: the block stops there with a call out. */
static void expect_stop(struct __test_metadata *_metadata, struct rig *r,
			const struct insn_case *ic, bt_u32 eip, bool step)
{
	static const bt_u8 want[] = { 0x90, 0x90, CALLOUT, 0xcc };
	bt_u64 refused = r->c.stats.refused;
	const struct bt_map *m;
	struct bt_block *b;

	r->mem[eip - r->base] = 0x90;
	r->mem[eip + 1 - r->base] = 0x90;
	rig_code(r, eip + 2, ic->code, ic->len);
	b = xlate(_metadata, r, eip);
	expect_bytes(_metadata, TCP(r, b->tc_off), want, sizeof(want),
		     ic->name);
	ASSERT_EQ(5, b->tc_len);
	ASSERT_EQ(3, b->map_count);
	m = MAPE(r, b, 2);
	if (m->kind != (step ? BT_MAP_STEP : BT_MAP_CALLOUT))
		TH_LOG("%s: map kind %u, want %s", ic->name, m->kind,
		       step ? "STEP" : "CALLOUT");
	ASSERT_EQ(step ? BT_MAP_STEP : BT_MAP_CALLOUT, m->kind);
	ASSERT_EQ(eip + 2, m->guest_eip);
	ASSERT_EQ(b->tc_off + 2, m->tc_off);
	ASSERT_EQ(2, b->ninsns);
	ASSERT_EQ(eip + 2, b->lin_end);
	ASSERT_EQ(refused + step, r->c.stats.refused);
}

TEST_F(bt, sensitive_instructions_call_out)
{
	unsigned int i;

	for (i = 0; i < sizeof(callouts) / sizeof(callouts[0]); i++)
		expect_stop(_metadata, &self->r, &callouts[i], E + 0x20 * i,
			    false);
}

TEST_F(bt, cs_operands_16bit_branches_and_oddities_step)
{
	unsigned int i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		expect_stop(_metadata, &self->r, &steps[i], E + 0x20 * i, true);
}

/*
 * A %gs memory operand names the guest's GS, while translated code's %gs
 * is the window: the instruction runs between a load of the guest's GS
 * (its hardware selector, from the window) and a load of the window's
 * selector, read through CS from the copy after the indirect-branch
 * routine.  Two entries: the load, and the instruction itself, flagged.
 * Before, these were native steps, whose single-step #DB QEMU's TCG
 * (MTTCG) takes without the arithmetic flags when the instruction is an
 * atomic it cannot do in parallel (a misaligned XCHG, a LOCK prefix):
 * difftest case 2542.
 */
static const struct insn_case gs_mems[] = {
	{ "mov %gs:(%eax),%eax", { 0x65, 0x8b, 0x00 }, 3 },
	{ "mov %gs:0x10,%eax", { 0x65, 0xa1, 0x10, 0, 0, 0 }, 6 },
	{ "incl %gs:(%ebx)", { 0x65, 0xff, 0x03 }, 3 },
	{ "pushl %gs:(%eax)", { 0x65, 0xff, 0x30 }, 3 },
	{ "popl %gs:4(%esp)", { 0x65, 0x8f, 0x44, 0x24, 0x04 }, 5 },
	{ "movsl %gs:(%esi),%es:(%edi)", { 0x65, 0xa5 }, 2 },
	{ "rep movsb %gs:(%esi),%es:(%edi)", { 0xf3, 0x65, 0xa4 }, 3 },
	{ "xchg %ecx,%gs:0x891f(%eax)",
	  { 0x65, 0x87, 0x88, 0x1f, 0x89, 0, 0 },
	  7 },
	{ "lock addl $1,%gs:2(%ebx)",
	  { 0xf0, 0x65, 0x83, 0x43, 0x02, 0x01 },
	  6 },
	{ "cmpxchg8b %gs:(%edi)", { 0x65, 0x0f, 0xc7, 0x0f }, 4 },
	{ "mov %gs:(%bx,%si),%ax", { 0x65, 0x67, 0x66, 0x8b, 0x00 }, 5 },
};

TEST_F(bt, gs_operands_run_with_the_guest_gs)
{
	static const bt_u8 load[] = {
		0x65, 0x8e, 0x2d, BT_VP_GUEST_GS, 0, 0, 0
	};
	struct rig *r = &self->r;
	bt_u32 k = TCA(r, r->c.gs_sel_const);
	const bt_u8 back[] = { 0x2e, 0x8e, 0x2d, k, k >> 8, k >> 16, k >> 24 };
	unsigned int i;

	/* the copy of the window's selector, in the routine's part */
	ASSERT_GE(r->c.prologue_end, r->c.gs_sel_const + 2);
	EXPECT_EQ(RIG_GS_SEL & 0xff, *TCP(r, r->c.gs_sel_const));
	EXPECT_EQ(RIG_GS_SEL >> 8, *TCP(r, r->c.gs_sel_const + 1));
	for (i = 0; i < sizeof(gs_mems) / sizeof(gs_mems[0]); i++) {
		const struct insn_case *ic = &gs_mems[i];
		bt_u32 eip = E + 0x20 * i, len = ic->len;
		struct bt_block *b;

		r->mem[eip - r->base] = 0x90;
		rig_code(r, eip + 1, ic->code, len);
		r->mem[eip + 1 + len - r->base] = 0xf4;
		b = xlate(_metadata, r, eip);
		ASSERT_EQ(2, b->ninsns);
		EXPECT_EQ(0x90, *TCP(r, b->tc_off));
		expect_bytes(_metadata, TCP(r, b->tc_off + 1), load,
			     sizeof(load), ic->name);
		expect_bytes(_metadata, TCP(r, b->tc_off + 8), ic->code, len,
			     ic->name);
		expect_bytes(_metadata, TCP(r, b->tc_off + 8 + len), back,
			     sizeof(back), ic->name);
		ASSERT_EQ(4, b->map_count);
		MAP_IS(b, 1, BT_MAP_INSN, eip + 1, 1);
		EXPECT_EQ(0, MAPE(r, b, 1)->flags);
		MAP_IS(b, 2, BT_MAP_INSN, eip + 1, 8);
		EXPECT_EQ(BT_MAPF_GUEST_GS, MAPE(r, b, 2)->flags);
		MAP_IS(b, 3, BT_MAP_CALLOUT, eip + 1 + len, 8 + len + 7);
	}
	EXPECT_EQ(0, r->c.stats.refused);
}

/*
 * MOV DS/ES/FS and POP DS/ES/FS inline: ECX saved, the selector read as the
 * instruction reads it (into CX: from its register, its memory operand
 * with its segment override and address size, the top of the stack), the
 * two table lookups, a JECXZ over the call out, the instruction itself,
 * then its selector into the window.  Entries: the start, the read, the
 * call out, the instruction.
 */
static const struct {
	const char *name;
	bt_u8 code[8], read[10];
	bt_u32 len, read_len, sreg;
} loads[] = {
	{ "mov %ax,%ds", { 0x8e, 0xd8 }, { 0x66, 0x89, 0xc1 }, 2, 3, 3 },
	{ "mov %cx,%es", { 0x8e, 0xc1 }, { 0 }, 2, 0, 0 },
	{ "mov %si,%fs", { 0x8e, 0xe6 }, { 0x66, 0x89, 0xf1 }, 2, 3, 4 },
	{ "mov %eax,%ds (66)",
	  { 0x66, 0x8e, 0xd8 },
	  { 0x66, 0x89, 0xc1 },
	  3,
	  3,
	  3 },
	{ "mov 4(%ebx),%ds",
	  { 0x8e, 0x5b, 0x04 },
	  { 0x66, 0x8b, 0x4b, 0x04 },
	  3,
	  4,
	  3 },
	{ "mov (%ecx),%es", { 0x8e, 0x01 }, { 0x66, 0x8b, 0x09 }, 2, 3, 0 },
	{ "mov 0x12345678(,%eax,4),%es",
	  { 0x8e, 0x04, 0x85, 0x78, 0x56, 0x34, 0x12 },
	  { 0x66, 0x8b, 0x0c, 0x85, 0x78, 0x56, 0x34, 0x12 },
	  7,
	  8,
	  0 },
	{ "mov %es:(%bx,%si),%fs",
	  { 0x26, 0x67, 0x8e, 0x20 },
	  { 0x26, 0x67, 0x66, 0x8b, 0x08 },
	  4,
	  5,
	  4 },
	{ "mov %ds:%ss:(%bx,%si),%ds, prefixes twice",
	  { 0x3e, 0x67, 0x36, 0x67, 0x8e, 0x18 },
	  { 0x36, 0x67, 0x66, 0x8b, 0x08 },
	  6,
	  5,
	  3 },
	{ "pop %ds", { 0x1f }, { 0x66, 0x8b, 0x0c, 0x24 }, 1, 4, 3 },
	{ "popw %es", { 0x66, 0x07 }, { 0x66, 0x8b, 0x0c, 0x24 }, 2, 4, 0 },
	{ "pop %fs", { 0x0f, 0xa1 }, { 0x66, 0x8b, 0x0c, 0x24 }, 2, 4, 4 },
};

TEST_F(bt, segment_loads_inline)
{
	static const bt_u8 check[] = { 0x65,
				       0x88,
				       0x0d,
				       BT_VP_SEL_TMP,
				       0,
				       0,
				       0, /* mov %cl,TMP */
				       0x0f,
				       0xb6,
				       0xcd, /* movzbl %ch,%ecx */
				       0x65,
				       0x8b,
				       0x0c,
				       0x8d,
				       BT_VP_SEL_HI & 0xff,
				       BT_VP_SEL_HI >> 8,
				       0,
				       0, /* mov SEL_HI(,%ecx,4),%ecx */
				       0x65,
				       0x8a,
				       0x0d,
				       BT_VP_SEL_TMP,
				       0,
				       0,
				       0, /* mov TMP,%cl */
				       0x65,
				       0x0f,
				       0xb6,
				       0x89,
				       BT_VP_SEL_CHECK & 0xff,
				       BT_VP_SEL_CHECK >> 8,
				       0,
				       0, /* movzbl SEL_CHECK(%ecx),%ecx */
				       0xe3,
				       9,
				       LOAD_ECX,
				       CALLOUT,
				       LOAD_ECX };
	static const bt_u8 save[] = { SAVE_ECX };
	struct rig *r = &self->r;
	unsigned int i;

	for (i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		bt_u32 eip = E + 0x20 * i, at, n = loads[i].sreg;
		const bt_u8 store[] = { 0x65,
					0x8c,
					(bt_u8)(n << 3 | 5),
					(bt_u8)(BT_VP_SEL + 4 * n),
					0,
					0,
					0 };
		struct bt_block *b;

		rig_code(r, eip, loads[i].code, loads[i].len);
		r->mem[eip + loads[i].len - r->base] = 0xf4;
		b = xlate(_metadata, r, eip);
		at = b->tc_off;
		expect_bytes(_metadata, TCP(r, at), save, 7, loads[i].name);
		at += 7;
		expect_bytes(_metadata, TCP(r, at), loads[i].read,
			     loads[i].read_len, loads[i].name);
		at += loads[i].read_len;
		expect_bytes(_metadata, TCP(r, at), check, sizeof(check),
			     loads[i].name);
		at += sizeof(check);
		expect_bytes(_metadata, TCP(r, at), loads[i].code, loads[i].len,
			     loads[i].name);
		at += loads[i].len;
		expect_bytes(_metadata, TCP(r, at), store, 7, loads[i].name);
		ASSERT_EQ(5, b->map_count);
		MAP_IS(b, 0, BT_MAP_INSN, eip, 0);
		MAP_IS(b, 1, BT_MAP_INSN, eip, 7);
		MAP_IS(b, 2, BT_MAP_CALLOUT, eip, 7 + loads[i].read_len + 42);
		MAP_IS(b, 3, BT_MAP_INSN, eip, 7 + loads[i].read_len + 51);
		MAP_IS(b, 4, BT_MAP_CALLOUT, eip + loads[i].len,
		       7 + loads[i].read_len + 51 + loads[i].len + 7);
	}
}

/* MOV r, Sreg: the guest's selector from the window, zero extended. */
TEST_F(bt, segment_reads_inline)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	/* mov %ds,%eax; mov %ss,%esi; mov %cs,%ax; mov %gs,%edi; hlt */
	PUT(E, 0x8c, 0xd8, 0x8c, 0xd6, 0x66, 0x8c, 0xc8, 0x8c, 0xef, 0xf4);
	b = xlate(_metadata, r, E);
	TC_IS(b->tc_off, 0x65, 0x0f, 0xb7, 0x05, BT_VP_SEL + 12, 0, 0, 0, 0x65,
	      0x0f, 0xb7, 0x35, BT_VP_SEL + 8, 0, 0, 0, 0x66, 0x65, 0x8b, 0x05,
	      BT_VP_SEL + 4, 0, 0, 0, 0x65, 0x0f, 0xb7, 0x3d, BT_VP_SEL + 20, 0,
	      0, 0, CALLOUT);
	ASSERT_EQ(5, b->map_count);
	MAP_IS(b, 1, BT_MAP_INSN, E + 2, 8);
	MAP_IS(b, 2, BT_MAP_INSN, E + 4, 16);
	MAP_IS(b, 3, BT_MAP_INSN, E + 7, 24);
	MAP_IS(b, 4, BT_MAP_CALLOUT, E + 9, 32);
}

/*
 * The window moved (monitor/window.c): bt_cache_init() at the new address
 * empties the cache and writes its routine again there, and what is
 * translated afterwards is, byte for byte, what a cache made there from the
 * start holds: translated code embeds absolute TC addresses (the
 * indirect-branch routine, the copy of the window's selector after a %gs
 * operand, the fast table's entries).
 */
TEST_F(bt, cache_moved_with_its_window)
{
	static const bt_u8 code[] = {
		0x65, 0x8b, 0x00, /* mov %gs:(%eax),%eax */
		0xff, 0xe0,	  /* jmp *%eax */
	};
	const bt_u32 moved = RIG_WINDOW_LOW - 0x400000;
	struct rig *r = &self->r, *fresh = malloc(sizeof(*fresh));
	struct bt_block *b;
	bt_u8 before[256];
	bt_u32 before_len;
	unsigned int i;

	ASSERT_NE(NULL, fresh);
	rig_code(r, E, code, sizeof(code));
	b = xlate(_metadata, r, E);
	bt_fast_insert(&r->c, E, b);
	before_len = b->tc_len;
	ASSERT_GE(sizeof(before), before_len);
	memcpy(before, TCP(r, b->tc_off), before_len);
	r->c.tc_low = moved + (RIG_TC_LOW - RIG_WINDOW_LOW);
	r->c.window_low = moved;
	bt_cache_init(&r->c);
	EXPECT_EQ(0, r->c.nblocks);
	EXPECT_EQ(r->c.prologue_end, r->c.tc_used);
	EXPECT_EQ(NULL, bt_lookup(&r->c, &r->key, E));
	for (i = 0; i < BT_FAST_ENTRIES; i++)
		ASSERT_EQ(TCA(r, r->c.ind_miss),
			  rig_rd32(r->c.window + BT_VP_FAST + 8 * i + 4));
	b = xlate(_metadata, r, E);

	ASSERT_TRUE(rig_init(fresh, TC_SIZE, MAX_MAP, MAX_BLKS, GUEST));
	fresh->c.tc_low = r->c.tc_low;
	fresh->c.window_low = moved;
	bt_cache_init(&fresh->c);
	rig_code(fresh, E, code, sizeof(code));
	xlate(_metadata, fresh, E);
	EXPECT_EQ(fresh->c.tc_used, r->c.tc_used);
	EXPECT_EQ(0, memcmp(fresh->c.tc, r->c.tc, r->c.tc_used));
	/* and it is not what the cache held before the move */
	ASSERT_EQ(before_len, b->tc_len);
	EXPECT_NE(0, memcmp(before, TCP(r, b->tc_off), before_len));
	rig_free(fresh);
	free(fresh);
}

/* Code that cannot be fetched whole: the guest buffer's end, CS limit. */
TEST_F(bt, step_past_the_end_of_code)
{
	struct rig *r = &self->r;
	struct bt_block *b;
	bt_u32 last = E + GUEST - 3;

	/* mov $imm32,%eax with only three bytes readable */
	PUT(last - 1, 0x90, 0xb8, 0x01, 0x02);
	b = xlate(_metadata, r, last - 1);
	ASSERT_EQ(2, b->map_count);
	MAP_IS(b, 1, BT_MAP_STEP, last, 1);

	/* nothing readable at all: a block of one STEP */
	b = xlate(_metadata, r, E + GUEST + 0x100);
	ASSERT_EQ(1, b->map_count);
	MAP_IS(b, 0, BT_MAP_STEP, E + GUEST + 0x100, 0);
	TC_IS(b->tc_off, CALLOUT, 0xcc, 0xcc, 0xcc);
	EXPECT_EQ(5, b->tc_len);
	EXPECT_EQ(0, b->ninsns);
	EXPECT_EQ(b->lin_start + 1, b->lin_end);

	/* an instruction across the CS limit */
	r->key.cs_limit = E + 0x102;
	PUT(E + 0x100, 0x90, 0xb8, 0x01, 0x02, 0x03, 0x04);
	b = xlate(_metadata, r, E + 0x100);
	ASSERT_EQ(2, b->map_count);
	MAP_IS(b, 1, BT_MAP_STEP, E + 0x101, 1);

	/* the last instruction ends at the limit; the next is past it */
	r->key.cs_limit = E + 0x201;
	PUT(E + 0x200, 0x90, 0x90, 0x90);
	b = xlate(_metadata, r, E + 0x200);
	ASSERT_EQ(3, b->map_count);
	MAP_IS(b, 2, BT_MAP_STEP, E + 0x202, 2);
	EXPECT_EQ(E + 0x202, b->lin_end);

	/* EIP past the limit */
	b = xlate(_metadata, r, E + 0x300);
	ASSERT_EQ(1, b->map_count);
	MAP_IS(b, 0, BT_MAP_STEP, E + 0x300, 0);
	EXPECT_EQ(5, r->c.stats.refused);
}

/* env.hot(): an instruction that faulted too often becomes a call out. */
TEST_F(bt, hot_instruction_calls_out)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0x90, 0x89, 0x08, 0x90, 0xc3); /* nop; mov %ecx,(%eax) */
	r->have_hot = true;
	r->hot_eip = E + 1;
	b = xlate(_metadata, r, E);
	ASSERT_EQ(2, b->map_count);
	MAP_IS(b, 1, BT_MAP_CALLOUT, E + 1, 1);
	EXPECT_EQ(0, r->c.stats.refused);

	/* STEP stays STEP */
	PUT(E + 0x100, 0x90, 0x2e, 0x8b, 0x00);
	r->hot_eip = E + 0x101;
	b = xlate(_metadata, r, E + 0x100);
	MAP_IS(b, 1, BT_MAP_STEP, E + 0x101, 1);
}

/* A code segment with a base: map EIPs are offsets, lin_* linear. */
TEST_F(bt, cs_base_offsets)
{
	struct rig *r = &self->r;
	struct bt_block *b;
	bt_u32 eip = 0x200;

	r->key.cs_base = E + 0x1000;
	/* nop; call .+0x10 */
	PUT(eip, 0x90, 0xe8, 0x10, 0, 0, 0);
	b = xlate(_metadata, r, eip);
	EXPECT_EQ(E + 0x1200, b->lin_start);
	EXPECT_EQ(E + 0x1206, b->lin_end);
	TC_IS(b->tc_off + 1, 0x68, 0x06, 0x02, 0, 0);
	MAP_IS(b, 0, BT_MAP_INSN, 0x200, 0);
	MAP_IS(b, 2, BT_MAP_INSN, 0x216, 6);
	MAP_IS(b, 3, BT_MAP_EXIT, 0x216, 11);
}

/* --- classification and Zydis's hidden operands ------------------------- */

static struct decoded_insn cd;

/*
 * classify.c ignores segment registers Zydis reports as hidden operands
 * (the SS of every stack access) and calls out for visible ones.  That
 * only works if Zydis never reports SS as a visible (explicit or implicit)
 * operand of a plain stack instruction, and does report the segment
 * register of PUSH/POP Sreg and MOV Sreg that way.
 */
#define CLASS_OF(want, ...)                                                   \
	do {                                                                  \
		static const bt_u8 b_[] = { __VA_ARGS__ };                    \
		ASSERT_EQ(0, decode_insn(b_, sizeof(b_), &cd));               \
		ASSERT_EQ(sizeof(b_), cd.insn.length);                        \
		EXPECT_EQ(want, bt_classify(&cd));                            \
		EXPECT_EQ(want == CLASS_CALLOUT || want == CLASS_PUSH_SREG || \
				  want == CLASS_LOAD_SREG ||                  \
				  want == CLASS_READ_SREG,                    \
			  visible_sreg());                                    \
	} while (0)

static bool visible_sreg(void)
{
	unsigned int i;

	for (i = 0; i < cd.insn.operand_count; i++)
		if (cd.ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    cd.ops[i].reg.value >= ZYDIS_REGISTER_ES &&
		    cd.ops[i].reg.value <= ZYDIS_REGISTER_GS &&
		    cd.ops[i].visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			return true;
	return false;
}

TEST(classify_stack_instructions_hidden_ss)
{
	CLASS_OF(CLASS_IDENT, 0x50);		       /* push %eax */
	CLASS_OF(CLASS_IDENT, 0x5d);		       /* pop %ebp */
	CLASS_OF(CLASS_IDENT, 0x6a, 0x01);	       /* push $1 */
	CLASS_OF(CLASS_IDENT, 0x68, 1, 2, 3, 4);       /* push $imm32 */
	CLASS_OF(CLASS_IDENT, 0xff, 0x30);	       /* pushl (%eax) */
	CLASS_OF(CLASS_IDENT, 0x8f, 0x00);	       /* popl (%eax) */
	CLASS_OF(CLASS_IDENT, 0x36, 0xff, 0x30);       /* pushl %ss:(%eax) */
	CLASS_OF(CLASS_IDENT, 0x60);		       /* pushal */
	CLASS_OF(CLASS_IDENT, 0x61);		       /* popal */
	CLASS_OF(CLASS_IDENT, 0xc8, 0x10, 0, 0);       /* enter $16,$0 */
	CLASS_OF(CLASS_IDENT, 0xc9);		       /* leave */
	CLASS_OF(CLASS_IDENT, 0x8b, 0x44, 0x24, 4);    /* mov 4(%esp),%eax */
	CLASS_OF(CLASS_CALL, 0xe8, 0, 0, 0, 0);	       /* call */
	CLASS_OF(CLASS_CALL_IND, 0xff, 0xd0);	       /* call *%eax */
	CLASS_OF(CLASS_CALL_IND, 0xff, 0x54, 0x24, 4); /* call *4(%esp) */
	CLASS_OF(CLASS_RET, 0xc3);		       /* ret */
	CLASS_OF(CLASS_RET, 0xc2, 0x08, 0);	       /* ret $8 */
	CLASS_OF(CLASS_PUSHF, 0x9c);		       /* pushfl */
	CLASS_OF(CLASS_POPF, 0x9d);		       /* popfl: inline */

	CLASS_OF(CLASS_PUSH_SREG, 0x1e);	     /* push %ds */
	CLASS_OF(CLASS_LOAD_SREG, 0x07);	     /* pop %es */
	CLASS_OF(CLASS_LOAD_SREG, 0x1f);	     /* pop %ds */
	CLASS_OF(CLASS_LOAD_SREG, 0x0f, 0xa1);	     /* pop %fs */
	CLASS_OF(CLASS_LOAD_SREG, 0x66, 0x1f);	     /* popw %ds */
	CLASS_OF(CLASS_PUSH_SREG, 0x16);	     /* push %ss */
	CLASS_OF(CLASS_CALLOUT, 0x17);		     /* pop %ss */
	CLASS_OF(CLASS_CALLOUT, 0x0f, 0xa9);	     /* pop %gs */
	CLASS_OF(CLASS_LOAD_SREG, 0x8e, 0xd8);	     /* mov %ax,%ds */
	CLASS_OF(CLASS_LOAD_SREG, 0x8e, 0x00);	     /* mov (%eax),%es */
	CLASS_OF(CLASS_LOAD_SREG, 0x36, 0x8e, 0x20); /* mov %ss:(%eax),%fs */
	CLASS_OF(CLASS_CALLOUT, 0x65, 0x8e, 0x18);   /* mov %gs:(%eax),%ds */
	CLASS_OF(CLASS_CALLOUT, 0x8e, 0xd0);	     /* mov %ax,%ss */
	CLASS_OF(CLASS_CALLOUT, 0x8e, 0xe8);	     /* mov %ax,%gs */
	CLASS_OF(CLASS_READ_SREG, 0x8c, 0xd0);	     /* mov %ss,%eax */
	CLASS_OF(CLASS_READ_SREG, 0x66, 0x8c, 0xc8); /* mov %cs,%ax */
	CLASS_OF(CLASS_READ_SREG, 0x8c, 0xee);	     /* mov %gs,%esi */
	CLASS_OF(CLASS_CALLOUT, 0x8c, 0x18);	     /* mov %ds,(%eax) */
}

/* CPUID is not sensitive, but the guest must see the CPU model. */
TEST(classify_cpuid_calls_out)
{
	static const bt_u8 cpuid[] = { 0x0f, 0xa2 };
	struct decoded_insn cd;

	ASSERT_EQ(0, decode_insn(cpuid, sizeof(cpuid), &cd));
	EXPECT_EQ(CLASS_CALLOUT, bt_classify(&cd));
}

TEST(classify_branches)
{
	CLASS_OF(CLASS_JMP, 0xeb, 0x00);
	CLASS_OF(CLASS_JMP, 0xe9, 0, 0, 0, 0);
	CLASS_OF(CLASS_JMP, 0xf2, 0xe9, 0, 0, 0, 0); /* bnd jmp */
	CLASS_OF(CLASS_JCC, 0x74, 0x00);
	CLASS_OF(CLASS_JCC, 0x2e, 0x74, 0x00); /* with a "not taken" hint */
	CLASS_OF(CLASS_JCC, 0x0f, 0x8f, 0, 0, 0, 0);
	CLASS_OF(CLASS_LOOP, 0xe2, 0x00);
	CLASS_OF(CLASS_LOOP, 0xe3, 0x00);
	CLASS_OF(CLASS_LOOP, 0x67, 0xe3, 0x00);
	CLASS_OF(CLASS_JMP_IND, 0xff, 0xe0);
	CLASS_OF(CLASS_JMP_IND, 0x3e, 0xff, 0x20); /* %ds: stays IDENT-able */
	CLASS_OF(CLASS_JMP_IND, 0x64, 0xff, 0x20); /* %fs: too */
	CLASS_OF(CLASS_CLI, 0xfa);
	CLASS_OF(CLASS_STI, 0xfb);
	/* ordinary instructions that look special */
	CLASS_OF(CLASS_IDENT, 0x0f, 0x0b);	 /* ud2: faults natively */
	CLASS_OF(CLASS_IDENT, 0x65, 0x8d, 0x00); /* lea %gs:(%eax): no access */
}

/* --- the map --------------------------------------------------------------- */

TEST_F(bt, map_find_boundaries)
{
	struct rig *r = &self->r;
	struct bt_block *b1, *b2, *fb;
	const struct bt_map *m;

	/* mov $1,%eax; sti; ret */
	PUT(E, 0xb8, 1, 0, 0, 0, 0xfb, 0xc3);
	b1 = xlate(_metadata, r, E);
	PUT(E + 0x100, 0x90, 0xf4);
	b2 = xlate(_metadata, r, E + 0x100);
	ASSERT_EQ(b1 + 1, b2);
	ASSERT_EQ(b1->tc_off + b1->tc_len, b2->tc_off);

	m = bt_map_find(&r->c, TCA(r, b1->tc_off), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(BT_MAP_INSN, m->kind);
	EXPECT_EQ(E, m->guest_eip);
	EXPECT_EQ(b1, fb);
	/* inside the copied MOV */
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, b1->tc_off + 1), &fb));
	EXPECT_EQ(b1, fb);
	m = bt_map_find(&r->c, TCA(r, b1->tc_off + 5), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(E + 5, m->guest_eip);
	/* inside the STI sequence, then its call out */
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, b1->tc_off + 5 + 8), &fb));
	m = bt_map_find(&r->c, TCA(r, b1->tc_off + 5 + STI_AT), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(BT_MAP_STI, m->kind);
	EXPECT_EQ(E + 6, m->guest_eip);
	/* the RET, in the shadow */
	m = bt_map_find(&r->c, TCA(r, b1->tc_off + 5 + STI_LEN), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(E + 6, m->guest_eip);
	EXPECT_EQ(1, m->shadow);
	/* the last byte of b1, the first of b2 */
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, b2->tc_off - 1), &fb));
	EXPECT_EQ(b1, fb);
	m = bt_map_find(&r->c, TCA(r, b2->tc_off), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(E + 0x100, m->guest_eip);
	EXPECT_EQ(b2, fb);
	/* b2's padding, and past the used TC */
	m = bt_map_find(&r->c, TCA(r, b2->tc_off + 3), &fb);
	EXPECT_EQ(NULL, m);
	EXPECT_EQ(b2, fb);
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, r->c.tc_used), &fb));
	EXPECT_EQ(NULL, fb);
}

TEST_F(bt, block_ends_after_max_insns)
{
	struct rig *r = &self->r;
	struct bt_block *b;
	unsigned int i;

	memset(r->mem, 0x90, 200);
	b = xlate(_metadata, r, E);
	EXPECT_EQ(BT_MAX_INSNS, b->ninsns);
	ASSERT_EQ(BT_MAX_INSNS + 2, b->map_count);
	for (i = 0; i < BT_MAX_INSNS; i++) {
		ASSERT_EQ(0x90, *TCP(r, b->tc_off + i));
		MAP_IS(b, i, BT_MAP_INSN, E + i, i);
	}
	/* the fall-through: a jmp to a stub */
	MAP_IS(b, BT_MAX_INSNS, BT_MAP_INSN, E + BT_MAX_INSNS, BT_MAX_INSNS);
	MAP_IS(b, BT_MAX_INSNS + 1, BT_MAP_EXIT, E + BT_MAX_INSNS,
	       BT_MAX_INSNS + 5);
	TC_IS(b->tc_off + BT_MAX_INSNS, 0xe9);
	EXPECT_EQ(b->tc_off + BT_MAX_INSNS + 1,
		  MAPE(r, b, BT_MAX_INSNS + 1)->arg);
	EXPECT_EQ(E + BT_MAX_INSNS, b->lin_end);
}

/* Long rewrites: the block stops while its code still has room. */
TEST_F(bt, block_ends_before_its_code_room)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	memset(r->mem, 0xfb, 200); /* sti; sti; ... */
	b = xlate(_metadata, r, E);
	EXPECT_GT(BT_MAX_INSNS, b->ninsns);
	EXPECT_LT(BT_MAX_BLOCK_CODE - BT_INSN_ROOM, b->ninsns * STI_LEN);
	EXPECT_GE(BT_MAX_BLOCK_CODE - BT_INSN_ROOM, (b->ninsns - 1) * STI_LEN);
	EXPECT_EQ(b->ninsns * STI_LEN + 5 + 2, b->tc_len);

	memset(r->mem + 0x400, 0x9c, 200); /* pushfl; ... */
	b = xlate(_metadata, r, E + 0x400);
	EXPECT_LT(BT_MAX_BLOCK_CODE - BT_INSN_ROOM, b->ninsns * PUSHF_LEN);
	EXPECT_EQ(b->ninsns * PUSHF_LEN + 5 + 2, b->tc_len);
}

/* --- the cache ------------------------------------------------------------ */

TEST_F(bt, lookup_by_eip_and_key)
{
	struct rig *r = &self->r;
	struct bt_key k = r->key;
	struct bt_block *a, *b, *c2, *d;

	PUT(E, 0xc3);
	PUT(E + 0x1000, 0xc3); /* the same hash chain as E */
	PUT(E + 0x2000, 0xc3);
	a = xlate(_metadata, r, E);
	b = xlate(_metadata, r, E + 0x1000);
	c2 = xlate(_metadata, r, E + 0x2000);
	EXPECT_EQ(a, bt_lookup(&r->c, &k, E));
	EXPECT_EQ(b, bt_lookup(&r->c, &k, E + 0x1000));
	EXPECT_EQ(c2, bt_lookup(&r->c, &k, E + 0x2000));
	EXPECT_EQ(NULL, bt_lookup(&r->c, &k, E + 1));
	EXPECT_EQ(NULL, bt_lookup(&r->c, &k, E + 0x3000));
	/* every part of the key counts */
	k.cs_sel = 0x18;
	EXPECT_EQ(NULL, bt_lookup(&r->c, &k, E));
	k = r->key;
	k.cs_limit = 0xfffff;
	EXPECT_EQ(NULL, bt_lookup(&r->c, &k, E));
	k = r->key;
	k.cs_base = 0x1000;
	EXPECT_EQ(NULL, bt_lookup(&r->c, &k, E - 0x1000));
	EXPECT_EQ(NULL, bt_lookup(&r->c, &k, E));
	/* the same EIP under another selector: another block */
	r->key.cs_sel = 0x18;
	d = xlate(_metadata, r, E);
	EXPECT_NE(a, d);
	r->key.cs_sel = 0x10;
	EXPECT_EQ(a, bt_lookup(&r->c, &r->key, E));

	EXPECT_EQ(4, r->c.nblocks);
	bt_cache_flush(&r->c);
	EXPECT_EQ(0, r->c.nblocks);
	EXPECT_EQ(0, r->c.nmap);
	EXPECT_EQ(r->c.prologue_end, r->c.tc_used);
	EXPECT_EQ(NULL, bt_lookup(&r->c, &r->key, E));
	EXPECT_EQ(NULL, bt_lookup(&r->c, &r->key, E + 0x1000));
}

/* A branch to a block that is already translated jumps straight to it. */
TEST_F(bt, chained_when_translated)
{
	struct rig *r = &self->r;
	struct bt_block *to, *from, *both;

	PUT(E + 0x40, 0x90, 0xc3);
	to = xlate(_metadata, r, E + 0x40);
	PUT(E, 0xeb, 0x3e); /* jmp E + 0x40 */
	from = xlate(_metadata, r, E);
	EXPECT_EQ(1, r->c.stats.chained);
	ASSERT_EQ(1, from->map_count);
	EXPECT_EQ(5, from->tc_len);
	TC_IS(from->tc_off, 0xe9);
	EXPECT_EQ(bt_block_addr(&r->c, to), rel32_dest(r, from->tc_off + 1));

	/* je E + 0x40 with the fall-through E + 0x40 too: no stub at all */
	PUT(E + 0x3e, 0x74, 0x00);
	both = xlate(_metadata, r, E + 0x3e);
	EXPECT_EQ(3, r->c.stats.chained);
	ASSERT_EQ(1, both->map_count);
	EXPECT_EQ(bt_block_addr(&r->c, to), rel32_dest(r, both->tc_off + 2));
	EXPECT_EQ(bt_block_addr(&r->c, to), rel32_dest(r, both->tc_off + 7));
}

/* An exit stub taken: bt_chain() patches the branch to the new block. */
TEST_F(bt, bt_chain_patches_the_exit)
{
	struct rig *r = &self->r;
	struct bt_block *from, *to;
	const struct bt_map *exit;

	PUT(E, 0x75, 0x10); /* jne E + 0x12 */
	from = xlate(_metadata, r, E);
	exit = MAPE(r, from, 2); /* the fall-through's */
	ASSERT_EQ(BT_MAP_EXIT, exit->kind);
	ASSERT_EQ(E + 2, exit->guest_eip);
	PUT(E + 2, 0x90, 0xc3);
	to = xlate(_metadata, r, E + 2);
	bt_chain(&r->c, exit, to);
	EXPECT_EQ(1, r->c.stats.chained);
	EXPECT_EQ(bt_block_addr(&r->c, to), rel32_dest(r, exit->arg));
	/* the taken edge still goes to its stub */
	exit = MAPE(r, from, 1);
	EXPECT_EQ(TCA(r, exit->tc_off), rel32_dest(r, exit->arg));
}

TEST_F(bt, kill_and_revive)
{
	struct rig *r = &self->r;
	struct bt_block *a, *b, *a2, *fb;
	const struct bt_map *m;

	PUT(E, 0x90, 0x90, 0xc3);
	PUT(E + 0x10, 0x90, 0xc3);
	a = xlate(_metadata, r, E);
	b = xlate(_metadata, r, E + 0x10);
	bt_kill_block(&r->c, a);
	EXPECT_EQ(1, r->c.stats.invalidated);
	EXPECT_EQ(BT_BLOCK_DEAD, a->flags & BT_BLOCK_DEAD);
	TC_IS(a->tc_off, CALLOUT);
	EXPECT_EQ(NULL, bt_lookup(&r->c, &r->key, E));
	EXPECT_EQ(b, bt_lookup(&r->c, &r->key, E + 0x10));
	/* its first bytes say DEAD; nothing else in it maps */
	m = bt_map_find(&r->c, TCA(r, a->tc_off), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(BT_MAP_DEAD, m->kind);
	EXPECT_EQ(E, m->guest_eip);
	EXPECT_EQ(a, fb);
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, a->tc_off + 2), &fb));
	EXPECT_EQ(a, fb);
	EXPECT_EQ(NULL, bt_map_find(&r->c, TCA(r, a->tc_off + 1), &fb));
	/* killing twice counts once */
	bt_kill_block(&r->c, a);
	EXPECT_EQ(1, r->c.stats.invalidated);

	/* a new translation of the same code; the dead one jumps there */
	a2 = xlate(_metadata, r, E);
	EXPECT_NE(a, a2);
	bt_revive(&r->c, a, a2);
	TC_IS(a->tc_off, 0xe9);
	EXPECT_EQ(bt_block_addr(&r->c, a2), rel32_dest(r, a->tc_off + 1));
	m = bt_map_find(&r->c, TCA(r, a->tc_off), &fb);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(BT_MAP_DEAD, m->kind);
	/* a branch to E translated now goes to the new block */
	PUT(E + 0x20, 0xeb, 0xde); /* jmp E */
	b = xlate(_metadata, r, E + 0x20);
	EXPECT_EQ(bt_block_addr(&r->c, a2), rel32_dest(r, b->tc_off + 1));
}

TEST_F(bt, invalidate_range_kills_overlapping_blocks)
{
	struct rig *r = &self->r;
	struct bt_block *a, *b, *c2;
	const bt_u8 *fast = r->c.window + BT_VP_FAST + 8 * bt_fast_slot(E);

	PUT(E, 0x90, 0x90, 0x90, 0xc3); /* [E, E + 4) */
	PUT(E + 4, 0x90, 0xc3);		/* [E + 4, E + 6) */
	PUT(E + 0x100, 0xc3);		/* [E + 0x100, E + 0x101) */
	a = xlate(_metadata, r, E);
	b = xlate(_metadata, r, E + 4);
	c2 = xlate(_metadata, r, E + 0x100);
	EXPECT_EQ(E + 4, a->lin_end);
	EXPECT_EQ(E + 6, b->lin_end);
	bt_fast_insert(&r->c, E, a);
	bt_fast_insert(&r->c, E + 0x100, c2);
	ASSERT_NE(bt_fast_slot(E), bt_fast_slot(E + 0x100));

	/* between them: nothing, and the fast table stays */
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E + 6, 0xfa));
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E - 0x10, 0x10));
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E + 0x101, 0x1000));
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E + 1, 0)); /* empty */
	EXPECT_EQ(E, rig_rd32(fast));
	/* the last byte of a */
	EXPECT_EQ(1, bt_invalidate_range(&r->c, E + 3, 1));
	EXPECT_TRUE(a->flags & BT_BLOCK_DEAD);
	EXPECT_FALSE(b->flags & BT_BLOCK_DEAD);
	EXPECT_FALSE(c2->flags & BT_BLOCK_DEAD);
	EXPECT_EQ(0, rig_rd32(fast));
	EXPECT_EQ(TCA(r, r->c.ind_miss), rig_rd32(fast + 4));
	/* only a's entry went */
	EXPECT_EQ(E + 0x100, rig_rd32(r->c.window + BT_VP_FAST +
				      8 * bt_fast_slot(E + 0x100)));
	/* a is dead already: only b and c count */
	EXPECT_EQ(2, bt_invalidate_range(&r->c, E, 0x1000));
	EXPECT_TRUE(c2->flags & BT_BLOCK_DEAD);
	EXPECT_EQ(3, r->c.stats.invalidated);
	EXPECT_EQ(NULL, bt_lookup(&r->c, &r->key, E + 0x100));
}

/*
 * A block whose code crosses a page boundary is on both pages' chains: a
 * write to the second page finds it, and only writes to its own bytes
 * kill it.
 */
TEST_F(bt, invalidate_range_across_a_page_boundary)
{
	struct rig *r = &self->r;
	struct bt_block *a, *d;

	PUT(E + 0x1000, 0xc3);		   /* [E + 0x1000, E + 0x1001) */
	PUT(E + 0x1ffe, 0x90, 0x90, 0xc3); /* [E + 0x1ffe, E + 0x2001) */
	a = xlate(_metadata, r, E + 0x1000);
	d = xlate(_metadata, r, E + 0x1ffe);
	EXPECT_EQ(E + 0x2001, d->lin_end);
	EXPECT_EQ((E + 0x1000) >> 12, d->page[0]);
	EXPECT_EQ((E + 0x2000) >> 12, d->page[1]);
	/* the second page, past its code; the first, before it */
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E + 0x2001, 0xfff));
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E + 0x1001, 0xffd));
	/* its last byte, on the second page */
	EXPECT_EQ(1, bt_invalidate_range(&r->c, E + 0x2000, 1));
	EXPECT_TRUE(d->flags & BT_BLOCK_DEAD);
	EXPECT_FALSE(a->flags & BT_BLOCK_DEAD);
	/* dead blocks leave the chains; the live one stays findable */
	EXPECT_EQ(0, bt_invalidate_range(&r->c, E + 0x1ffe, 0x1000));
	EXPECT_EQ(1, bt_invalidate_range(&r->c, E + 0x1000, 0x2000));
	EXPECT_TRUE(a->flags & BT_BLOCK_DEAD);
}

/* The last page of the linear address space: lin + len wraps to 0. */
TEST_F(bt, invalidate_range_at_the_top_of_memory)
{
	struct rig *r = &self->r;
	struct bt_block *a, *b;

	r->base = 0xfffff000;
	r->size = 0x1000;
	rig_code(r, 0xfffffff0, (const bt_u8[]){ 0x90, 0xc3 }, 2);
	rig_code(r, 0xfffffffe, (const bt_u8[]){ 0x90, 0xc3 }, 2);
	a = xlate(_metadata, r, 0xfffffff0);
	b = xlate(_metadata, r, 0xfffffffe);
	EXPECT_EQ(0xfffffff2, a->lin_end);
	EXPECT_EQ(0, b->lin_end); /* ends at 4 GiB */
	EXPECT_EQ(0, bt_invalidate_range(&r->c, 0xfffffff2, 12));
	EXPECT_EQ(1, bt_invalidate_range(&r->c, 0xffffffff, 1));
	EXPECT_TRUE(b->flags & BT_BLOCK_DEAD);
	EXPECT_EQ(1, bt_invalidate_range(&r->c, 0xfffff000, 0x1000));
	EXPECT_TRUE(a->flags & BT_BLOCK_DEAD);
}

/* Translates c3s at increasing EIPs until the cache is full. */
static unsigned int fill(struct __test_metadata *_metadata, struct rig *r)
{
	unsigned int n;

	for (n = 0; n < 100000; n++) {
		struct bt_cache before = r->c;
		struct bt_block *b = NULL;
		int ret;

		r->mem[n] = 0xc3;
		ret = bt_translate(&r->c, &r->env, &r->key, E + n, &b);
		if (ret == BT_EFULL) {
			/* nothing changed */
			ASSERT_EQ(before.tc_used, r->c.tc_used);
			ASSERT_EQ(before.nblocks, r->c.nblocks);
			ASSERT_EQ(before.nmap, r->c.nmap);
			ASSERT_EQ(before.stats.blocks, r->c.stats.blocks);
			ASSERT_EQ(NULL, bt_lookup(&r->c, &r->key, E + n));
			ASSERT_TRUE(rig_intact(r));
			return n;
		}
		ASSERT_EQ(BT_OK, ret);
		rig_check_block(_metadata, r, b);
	}
	ASSERT_TRUE(false);
	return 0;
}

static void refill_after_flush(struct __test_metadata *_metadata, struct rig *r,
			       unsigned int n)
{
	struct bt_block *b;

	bt_cache_flush(&r->c);
	ASSERT_EQ(0, r->c.nblocks);
	ASSERT_EQ(r->c.prologue_end, r->c.tc_used);
	ASSERT_EQ(NULL, bt_lookup(&r->c, &r->key, E));
	ASSERT_EQ(BT_OK, bt_translate(&r->c, &r->env, &r->key, E + n, &b));
	rig_check_block(_metadata, r, b);
	ASSERT_EQ(n, fill(_metadata, r) + 1);
}

TEST(full_tc)
{
	struct rig r;
	unsigned int n;

	ASSERT_TRUE(rig_init(&r, 4096, MAX_MAP, MAX_BLKS, GUEST));
	n = fill(_metadata, &r);
	EXPECT_LT(0, n);
	/* it refuses while a block of the worst size might not fit */
	EXPECT_LT(r.c.tc_size, r.c.tc_used + BT_MAX_BLOCK_CODE);
	EXPECT_GE(r.c.tc_size, r.c.tc_used + BT_MAX_BLOCK_CODE - 12);
	refill_after_flush(_metadata, &r, n);
	EXPECT_TRUE(rig_intact(&r));
	rig_free(&r);
}

TEST(full_map)
{
	struct rig r;
	bt_u32 reserve = 3 * BT_MAX_INSNS + 8;

	ASSERT_TRUE(rig_init(&r, TC_SIZE, reserve + 5, MAX_BLKS, GUEST));
	/* each block of one RET takes one entry */
	EXPECT_EQ(6, fill(_metadata, &r));
	refill_after_flush(_metadata, &r, 6);
	EXPECT_TRUE(rig_intact(&r));
	rig_free(&r);
}

TEST(full_blocks)
{
	struct rig r;

	ASSERT_TRUE(rig_init(&r, TC_SIZE, MAX_MAP, 3, GUEST));
	EXPECT_EQ(3, fill(_metadata, &r));
	refill_after_flush(_metadata, &r, 3);
	EXPECT_TRUE(rig_intact(&r));
	rig_free(&r);
}

TEST_F(bt, fast_table)
{
	struct rig *r = &self->r;
	const bt_u8 *t = r->c.window + BT_VP_FAST;
	struct bt_block *a, *b;
	unsigned int i;
	bt_u32 other = E + 0x14; /* an EIP in the same slot as E + 0x13 */

	while (bt_fast_slot(other) != bt_fast_slot(E + 0x13))
		other++;
	ASSERT_LT(other, E + GUEST);

	for (i = 0; i < BT_FAST_ENTRIES; i++) {
		ASSERT_EQ(0, rig_rd32(t + 8 * i));
		ASSERT_EQ(TCA(r, r->c.ind_miss), rig_rd32(t + 8 * i + 4));
	}
	PUT(E + 0x13, 0xc3);
	PUT(other, 0xc3);
	a = xlate(_metadata, r, E + 0x13);
	b = xlate(_metadata, r, other);
	/* the translator itself leaves the table alone */
	for (i = 0; i < BT_FAST_ENTRIES; i++)
		ASSERT_EQ(0, rig_rd32(t + 8 * i));
	bt_fast_insert(&r->c, E + 0x13, a);
	i = bt_fast_slot(E + 0x13);
	EXPECT_EQ(E + 0x13, rig_rd32(t + 8 * i));
	EXPECT_EQ(bt_block_addr(&r->c, a), rig_rd32(t + 8 * i + 4));
	EXPECT_EQ(0, rig_rd32(t + 8 * (i + 1)));
	/* the same slot: the newer wins */
	bt_fast_insert(&r->c, other, b);
	EXPECT_EQ(other, rig_rd32(t + 8 * i));
	EXPECT_EQ(bt_block_addr(&r->c, b), rig_rd32(t + 8 * i + 4));
	bt_fast_clear(&r->c);
	EXPECT_EQ(0, rig_rd32(t + 8 * i));
	EXPECT_EQ(TCA(r, r->c.ind_miss), rig_rd32(t + 8 * i + 4));
	bt_fast_insert(&r->c, E + 0x13, a);
	bt_cache_flush(&r->c);
	EXPECT_EQ(0, rig_rd32(t + 8 * i));
	/* nothing else in the window is the translator's but the tables of
	 * segment loads */
	for (i = 0; i < BT_VP_FAST; i++)
		if ((i < BT_VP_SEL_HI || i >= BT_VP_SEL_HI + 0x400) &&
		    (i < BT_VP_SEL_CHECK || i >= BT_VP_SEL_CHECK + 0x300))
			ASSERT_EQ(0, r->c.window[i]);
}

/*
 * The tables an inline segment load looks its selector up in, for every
 * selector: a call out exactly for RPL 1 and for the monitor's indexes
 * (BT_GUEST_GDT_SLOTS on), as the translated lookup computes it.
 */
TEST_F(bt, segment_load_tables)
{
	const bt_u8 *w = self->r.c.window;
	bt_u32 sel;

	for (sel = 0; sel <= 0xffff; sel++) {
		bt_u32 hi = rig_rd32(w + BT_VP_SEL_HI + 4 * (sel >> 8));
		bool want = (sel & 3) == 1 || (sel >> 3) >= BT_GUEST_GDT_SLOTS;

		ASSERT_GE(0x200, hi);
		ASSERT_EQ(want, w[BT_VP_SEL_CHECK + hi + (sel & 0xff)] != 0);
	}
}

TEST_HARNESS_MAIN
