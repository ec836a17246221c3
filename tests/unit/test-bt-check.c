// SPDX-License-Identifier: GPL-2.0
/*
 * Checked translation (bt/check.c, docs/translator.md "Checked
 * translation"): the bound checks the translator puts before translated
 * memory accesses when bt_cache.checked is set, byte for byte for the
 * common forms; which accesses of which instructions get one; their map
 * entries; and that without the option nothing changes.  Every block also
 * goes through rig_check_block(), whose rig_check_checks() verifies each
 * check sequence against the guest's operands.  test-bt-silicon runs the
 * checks on the real CPU.
 */
#include "kselftest_harness.h"
#include "btrig.h"

#define E	 RIG_GUEST_BASE
#define TC_SIZE	 0x40000
#define MAX_MAP	 8192
#define MAX_BLKS 1024
#define GUEST	 0x10000

#define LE32(v)                                                \
	((v)&0xff), (((v) >> 8) & 0xff), (((v) >> 16) & 0xff), \
		(((v) >> 24) & 0xff)
#define GS(op, modrm, disp) 0x65, (op), (modrm), LE32(disp)
#define SAVE_ECX	    GS(0x89, 0x0d, BT_VP_SAVE_ECX)
#define LOAD_ECX	    GS(0x8b, 0x0d, BT_VP_SAVE_ECX)
#define SAVE_EAX	    GS(0x89, 0x05, BT_VP_SAVE_EAX)
#define LOAD_EAX	    GS(0x8b, 0x05, BT_VP_SAVE_EAX)
#define SAVE_EDX	    GS(0x89, 0x15, BT_VP_CHK_EDX)
#define LOAD_EDX	    GS(0x8b, 0x15, BT_VP_CHK_EDX)
#define STORE_EA(i)	    GS(0x89, 0x0d, BT_VP_CHK_EA + 4 * (i))
#define LOAD_EA(i)	    GS(0x8b, 0x0d, BT_VP_CHK_EA + 4 * (i))
#define FLAGS_TO_AX	    0x9f, 0x0f, 0x90, 0xc0 /* lahf; seto %al */
#define AX_TO_FLAGS	    0x04, 0x7f, 0x9e	   /* add $0x7f,%al; sahf */
#define CMP_LIMIT(seg)	    GS(0x3b, 0x0d, BT_VP_LIMIT + 4 * (seg))
#define JA(rel)		    0x0f, 0x87, LE32(rel)
#define JB(rel)		    0x0f, 0x82, LE32(rel)
#define RESTORE		    AX_TO_FLAGS, LOAD_EAX, LOAD_ECX
#define RESTORE_EDX	    AX_TO_FLAGS, LOAD_EAX, LOAD_EDX, LOAD_ECX
#define CALLOUT		    0xcd, BT_CALLOUT_VECTOR
#define S_ES		    0
#define S_SS		    2
#define S_DS		    3

FIXTURE(chk)
{
	struct rig r;
};

FIXTURE_SETUP(chk)
{
	ASSERT_TRUE(rig_init(&self->r, TC_SIZE, MAX_MAP, MAX_BLKS, GUEST));
	self->r.c.checked = 1;
}

FIXTURE_TEARDOWN(chk)
{
	EXPECT_TRUE(rig_intact(&self->r));
	rig_free(&self->r);
}

static struct bt_block *xlate(struct __test_metadata *_metadata, struct rig *r,
			      bt_u32 eip)
{
	struct bt_block *b = NULL;

	ASSERT_EQ(BT_OK, bt_translate(&r->c, &r->env, &r->key, eip, &b));
	ASSERT_NE(NULL, b);
	ASSERT_LE(r->c.tc_used, r->c.tc_size);
	rig_check_block(_metadata, r, b);
	ASSERT_TRUE(rig_intact(r));
	return b;
}

static void expect_bytes(struct __test_metadata *_metadata, const bt_u8 *got,
			 const bt_u8 *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != want[i]) {
			TH_LOG("byte %zu is %02x, want %02x", i, got[i],
			       want[i]);
			break;
		}
	ASSERT_EQ(n, i);
}

#define PUT(eip, ...)                                      \
	do {                                               \
		static const bt_u8 c_[] = { __VA_ARGS__ }; \
		rig_code(&self->r, (eip), c_, sizeof(c_)); \
	} while (0)

#define TC_IS(off, ...)                                                        \
	do {                                                                   \
		const bt_u8 w_[] = { __VA_ARGS__ };                            \
		expect_bytes(_metadata, TCP(&self->r, (off)), w_, sizeof(w_)); \
	} while (0)

#define MAP_IS(b, i, k, eip, off)                                   \
	do {                                                        \
		const struct bt_map *m_ = MAPE(&self->r, (b), (i)); \
		ASSERT_GT((b)->map_count, (i));                     \
		EXPECT_EQ((k), m_->kind);                           \
		EXPECT_EQ((bt_u32)(eip), m_->guest_eip);            \
		EXPECT_EQ((b)->tc_off + (off), m_->tc_off);         \
	} while (0)

/* The accesses bt_checks_of() finds in the guest bytes. */
static unsigned int checks_of(struct __test_metadata *_metadata,
			      const bt_u8 *code, size_t n, struct bt_check *c)
{
	struct decoded_insn d;

	ASSERT_EQ(0, decode_insn(code, n, &d));
	return bt_checks_of(&d, c);
}

#define CHECKS(c, ...)                                     \
	({                                                 \
		static const bt_u8 k_[] = { __VA_ARGS__ }; \
		checks_of(_metadata, k_, sizeof(k_), (c)); \
	})

/*
 * mov (%ebx), %eax: the offset of DS:(%ebx) checked at its first and its
 * last byte against DS's limit, then the MOV itself.
 */
TEST_F(chk, load_byte_for_byte)
{
	struct bt_block *b;

	PUT(E, 0x8b, 0x03, 0xf4); /* mov (%ebx),%eax; hlt */
	b = xlate(_metadata, &self->r, E);
	TC_IS(b->tc_off, SAVE_ECX, 0x8d, 0x8c, 0x23,
	      LE32(0), /* lea 0x0(%ebx),%ecx */
	      STORE_EA(0), SAVE_EAX, FLAGS_TO_AX, LOAD_EA(0), CMP_LIMIT(S_DS),
	      JA(90 - 52),	   /* to the fail path */
	      0x8d, 0x89, LE32(3), /* lea 3(%ecx),%ecx: the last byte */
	      CMP_LIMIT(S_DS), JA(90 - 71), RESTORE, 0xeb,
	      19,		    /* over the fail path */
	      RESTORE, CALLOUT,	    /* 90: the fail path */
	      0x8b, 0x03, CALLOUT); /* 109: the MOV; the HLT */
	EXPECT_EQ(113, b->tc_len);
	EXPECT_EQ(4, b->map_count);
	MAP_IS(b, 0, BT_MAP_INSN, E, 0);
	MAP_IS(b, 1, BT_MAP_LIMIT, E, 107);
	EXPECT_EQ(b->tc_off + 109, MAPE(&self->r, b, 1)->arg);
	MAP_IS(b, 2, BT_MAP_INSN, E, 109);
	MAP_IS(b, 3, BT_MAP_CALLOUT, E + 2, 111);
}

/* Without the option the same code is translated as it always was. */
TEST_F(chk, unchecked_is_unchanged)
{
	struct bt_block *b;

	self->r.c.checked = 0;
	PUT(E, 0x8b, 0x03, 0x50, 0xf3, 0xab, 0xf4);
	b = xlate(_metadata, &self->r, E);
	TC_IS(b->tc_off, 0x8b, 0x03, 0x50, 0xf3, 0xab, CALLOUT);
	EXPECT_EQ(4, b->map_count);
}

/* push %eax: SS:-4(%esp), four bytes; a byte store: one comparison. */
TEST_F(chk, push_and_byte_store)
{
	struct bt_block *b;

	PUT(E, 0x50, 0x88, 0x41, 0x10, 0xf4); /* push %eax; mov %al,16(%ecx) */
	b = xlate(_metadata, &self->r, E);
	TC_IS(b->tc_off, SAVE_ECX, 0x8d, 0x8c, 0x24,
	      LE32(0xfffffffc), /* lea -4(%esp),%ecx */
	      STORE_EA(0), SAVE_EAX, FLAGS_TO_AX, LOAD_EA(0), CMP_LIMIT(S_SS),
	      JA(90 - 52), 0x8d, 0x89, LE32(3), CMP_LIMIT(S_SS), JA(90 - 71),
	      RESTORE, 0xeb, 19, RESTORE, CALLOUT, 0x50);
	/* the byte store: lea 16(%ecx), one comparison, no second */
	TC_IS(b->tc_off + 110, SAVE_ECX, 0x8d, 0x8c, 0x21, LE32(16),
	      STORE_EA(0), SAVE_EAX, FLAGS_TO_AX, LOAD_EA(0), CMP_LIMIT(S_DS),
	      JA(71 - 52), RESTORE, 0xeb, 19, RESTORE, CALLOUT, 0x88, 0x41,
	      0x10, CALLOUT);
	EXPECT_EQ(7, b->map_count);
	MAP_IS(b, 3, BT_MAP_INSN, E + 1, 110);
	MAP_IS(b, 4, BT_MAP_LIMIT, E + 1, 110 + 88);
	MAP_IS(b, 5, BT_MAP_INSN, E + 1, 110 + 90);
}

/*
 * rep stosl: n = ECX elements of ES:(%edi), checked for both directions
 * (DF is not at hand), unless ES has no limit to check (-1) or n = 0.
 */
TEST_F(chk, rep_stos_range)
{
	struct bt_block *b;

	PUT(E, 0xf3, 0xab, 0xf4);
	b = xlate(_metadata, &self->r, E);
	TC_IS(b->tc_off, SAVE_ECX, 0x8d, 0x8c, 0x27, LE32(0), /* (%edi) */
	      STORE_EA(0), SAVE_EDX, SAVE_EAX, FLAGS_TO_AX,
	      GS(0x83, 0x3d, BT_VP_LIMIT + 4 * S_ES), 0xff, /* cmpl $-1 */
	      0x74, 121 - 49,				    /* je pass */
	      GS(0x8b, 0x15, BT_VP_SAVE_ECX),		    /* n */
	      0x85, 0xd2, 0x74, 121 - 60,		    /* n = 0 */
	      0x4a,					    /* n - 1 */
	      0x81, 0xfa, LE32(0x3fffffff), JA(147 - 73),   /* fits */
	      0xc1, 0xe2, 2,				    /* *4 */
	      LOAD_EA(0), 0x39, 0xd1, JB(147 - 91),	    /* E < */
	      0x01, 0xd1, JB(147 - 99),			    /* wraps */
	      0x83, 0xc1, 3, JB(147 - 108),		    /* last */
	      CMP_LIMIT(S_ES), JA(147 - 121),		    /* limit */
	      RESTORE_EDX, 0xeb, 173 - 147,		    /* 121: pass */
	      RESTORE_EDX, CALLOUT,			    /* 147 */
	      0xf3, 0xab, CALLOUT);			    /* 173 */
	MAP_IS(b, 1, BT_MAP_LIMIT, E, 171);
	MAP_IS(b, 2, BT_MAP_INSN, E, 173);
}

/* 16-bit addressing: the guest's own ModRM under a 67 prefix. */
TEST_F(chk, addr16_modrm)
{
	struct bt_block *b;

	PUT(E, 0x66, 0x67, 0x8b, 0x40, 0x04, 0xf4); /* mov 4(%bx,%si),%ax */
	b = xlate(_metadata, &self->r, E);
	TC_IS(b->tc_off, SAVE_ECX, 0x67, 0x8d, 0x48, 0x04, /* lea 4(%bx,%si) */
	      STORE_EA(0), SAVE_EAX, FLAGS_TO_AX, LOAD_EA(0), CMP_LIMIT(S_DS),
	      JA(86 - 48), 0x8d, 0x89, LE32(1), CMP_LIMIT(S_DS), JA(86 - 67),
	      RESTORE, 0xeb, 19, RESTORE, CALLOUT, 0x66, 0x67, 0x8b, 0x40,
	      0x04);
}

/* Which accesses get a check, with which offset and segment. */
TEST_F(chk, accesses_of_instructions)
{
	struct bt_check c[BT_MAX_CHECKS];

	/* none: registers, LEA, NOP m, prefetch, %gs and %cs operands */
	EXPECT_EQ(0, CHECKS(c, 0x01, 0xd8));			 /* add */
	EXPECT_EQ(0, CHECKS(c, 0x8d, 0x04, 0x85, LE32(0x1000))); /* lea */
	EXPECT_EQ(0, CHECKS(c, 0x0f, 0x1f, 0x40, 0x00));	 /* nopl */
	EXPECT_EQ(0, CHECKS(c, 0x0f, 0x18, 0x08)); /* prefetcht0 */
	EXPECT_EQ(0, CHECKS(c, 0x65, 0x8b, 0x00)); /* mov %gs:(%eax) */
	EXPECT_EQ(0, CHECKS(c, 0x2e, 0x8b, 0x00)); /* mov %cs:(%eax) */
	EXPECT_EQ(0, CHECKS(c, 0xd7));		   /* xlat: [ebx+al] */

	/* moffs: an absolute offset */
	ASSERT_EQ(1, CHECKS(c, 0xa1, LE32(0x12345678)));
	EXPECT_EQ(CHECK_LEA32, c[0].form);
	EXPECT_EQ(8, c[0].base);
	EXPECT_EQ(8, c[0].index);
	EXPECT_EQ(0x12345678, c[0].disp);
	EXPECT_EQ(S_DS, c[0].seg);
	EXPECT_EQ(4, c[0].size);

	/* an override and a SIB */
	ASSERT_EQ(1, CHECKS(c, 0x26, 0x89, 0x4c, 0xb3, 0x08));
	EXPECT_EQ(S_ES, c[0].seg);
	EXPECT_EQ(3, c[0].base);
	EXPECT_EQ(6, c[0].index);
	EXPECT_EQ(4, c[0].scale);
	EXPECT_EQ(8, c[0].disp);

	/* EBP-based: SS */
	ASSERT_EQ(1, CHECKS(c, 0x8b, 0x45, 0xf8));
	EXPECT_EQ(S_SS, c[0].seg);
	EXPECT_EQ(0xfffffff8, c[0].disp);

	/* push m32: the operand, then the stack slot below ESP */
	ASSERT_EQ(2, CHECKS(c, 0xff, 0x33));
	EXPECT_EQ(S_DS, c[0].seg);
	EXPECT_EQ(S_SS, c[1].seg);
	EXPECT_EQ(4, c[1].base);
	EXPECT_EQ(0xfffffffc, c[1].disp);

	/* pop 4(%esp): the stack at ESP, the operand after ESP moved */
	ASSERT_EQ(2, CHECKS(c, 0x8f, 0x44, 0x24, 0x04));
	EXPECT_EQ(8, c[0].disp);
	EXPECT_EQ(0, c[1].disp);

	/* pushal, popal: 32 bytes */
	ASSERT_EQ(1, CHECKS(c, 0x60));
	EXPECT_EQ(32, c[0].size);
	EXPECT_EQ(0xffffffe0, c[0].disp);
	ASSERT_EQ(1, CHECKS(c, 0x61));
	EXPECT_EQ(32, c[0].size);
	EXPECT_EQ(0, c[0].disp);

	/* leave reads at EBP; enter pushes EBP; call, ret, pushfd, push ds */
	ASSERT_EQ(1, CHECKS(c, 0xc9));
	EXPECT_EQ(5, c[0].base);
	ASSERT_EQ(1, CHECKS(c, 0xc8, 0x10, 0x00, 0x00));
	EXPECT_EQ(0xfffffffc, c[0].disp);
	ASSERT_EQ(1, CHECKS(c, 0xe8, LE32(0)));
	EXPECT_EQ(0xfffffffc, c[0].disp);
	ASSERT_EQ(1, CHECKS(c, 0xc3));
	EXPECT_EQ(0, c[0].disp);
	ASSERT_EQ(1, CHECKS(c, 0x9c));
	ASSERT_EQ(1, CHECKS(c, 0x1e));
	EXPECT_EQ(S_SS, c[0].seg);

	/* strings: MOVS both operands, REP MOVS/STOS over the count,
	 * REPE CMPS and 16-bit addresses their first element */
	ASSERT_EQ(2, CHECKS(c, 0xa4));
	EXPECT_EQ(S_ES, c[0].seg);
	EXPECT_EQ(7, c[0].base);
	EXPECT_EQ(S_DS, c[1].seg);
	EXPECT_EQ(6, c[1].base);
	EXPECT_FALSE(c[0].rep);
	ASSERT_EQ(2, CHECKS(c, 0xf3, 0xa5));
	EXPECT_TRUE(c[0].rep);
	EXPECT_TRUE(c[1].rep);
	ASSERT_EQ(2, CHECKS(c, 0xf3, 0xa6));
	EXPECT_FALSE(c[0].rep);
	ASSERT_EQ(1, CHECKS(c, 0x67, 0xf3, 0xaa));
	EXPECT_EQ(CHECK_DI16, c[0].form);
	EXPECT_FALSE(c[0].rep);
	ASSERT_EQ(1, CHECKS(c, 0x67, 0xac));
	EXPECT_EQ(CHECK_SI16, c[0].form);

	/* wide operands: cmpxchg8b 8 bytes, fxsave 512 */
	ASSERT_EQ(1, CHECKS(c, 0x0f, 0xc7, 0x0e));
	EXPECT_EQ(8, c[0].size);
	ASSERT_EQ(1, CHECKS(c, 0x0f, 0xae, 0x00));
	EXPECT_EQ(512, c[0].size);
}

/*
 * Every rewrite that touches the stack gets its check first: CALL's push,
 * RET's pop, an indirect CALL's operand and push, PUSHFD, POPFD, PUSH
 * Sreg; branches without memory get none.  rig_check_block() checks the
 * sequences and the rewrites after them.
 */
TEST_F(chk, rewrites_are_checked)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0xe8, LE32(0x10));	 /* call +0x10 */
	PUT(E + 0x15, 0xc3);		 /* ret */
	PUT(E + 0x20, 0xff, 0x53, 0x04); /* call *4(%ebx) */
	PUT(E + 0x30, 0x9c, 0x1e, 0x9d, 0xfa, 0xfb, 0x74, 0x02, 0xf4);
	b = xlate(_metadata, r, E);
	EXPECT_EQ(BT_MAP_LIMIT, MAPE(r, b, 1)->kind);
	b = xlate(_metadata, r, E + 0x15);
	EXPECT_EQ(BT_MAP_LIMIT, MAPE(r, b, 1)->kind);
	b = xlate(_metadata, r, E + 0x20);
	EXPECT_EQ(BT_MAP_LIMIT, MAPE(r, b, 1)->kind);
	b = xlate(_metadata, r, E + 0x30);
	/* pushfd, push ds, popfd checked; cli, sti, jz not */
	EXPECT_EQ(6, b->ninsns);
}

/* An STI's shadow marks the next instruction's check entries too. */
TEST_F(chk, sti_shadow_marks_the_checks)
{
	struct rig *r = &self->r;
	struct bt_block *b;

	PUT(E, 0xfb, 0x8b, 0x03, 0xf4); /* sti; mov (%ebx),%eax; hlt */
	b = xlate(_metadata, r, E);
	EXPECT_EQ(BT_MAP_STI, MAPE(r, b, 1)->kind);
	EXPECT_EQ(1, MAPE(r, b, 2)->shadow);
	EXPECT_EQ(BT_MAP_LIMIT, MAPE(r, b, 3)->kind);
	EXPECT_EQ(1, MAPE(r, b, 3)->shadow);
	EXPECT_EQ(1, MAPE(r, b, 4)->shadow);
	EXPECT_EQ(0, MAPE(r, b, 5)->shadow);
}

/*
 * Blocks keep room for the checks: one of memory-heavy instructions ends
 * before its code runs out, and every instruction's checks fit.
 */
TEST_F(chk, block_room)
{
	struct rig *r = &self->r;
	struct bt_block *b;
	unsigned int i;

	for (i = 0; i < 200; i += 2) {
		r->mem[i] = 0xf3; /* rep movsl */
		r->mem[i + 1] = 0xa5;
	}
	b = xlate(_metadata, r, E);
	EXPECT_GT(BT_MAX_INSNS, b->ninsns);
	EXPECT_LE(2, b->ninsns);
	EXPECT_GE(BT_MAX_BLOCK_CODE, b->tc_len);
}

TEST_HARNESS_MAIN
