// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor's instruction decoder (monitor/decode.c over Zydis), built for
 * userland: the instructions the trap-and-emulate vCPU emulates, decoded as
 * 32-bit protected-mode code, with their operands; truncated and invalid
 * input.
 */
#include "kselftest_harness.h"
#include "decode.h"

static struct decoded_insn d;

/*
 * Decodes the bytes, which must be exactly one instruction of mnemonic mn;
 * every shorter prefix of them must be reported as truncated.
 */
#define DECODE_OK(mn, ...)                                                 \
	do {                                                               \
		static const uint8_t b_[] = { __VA_ARGS__ };               \
		for (size_t n_ = 0; n_ < sizeof(b_); n_++)                 \
			ASSERT_EQ(DECODE_ETRUNC, decode_insn(b_, n_, &d)); \
		ASSERT_EQ(0, decode_insn(b_, sizeof(b_), &d));             \
		ASSERT_EQ(mn, d.insn.mnemonic);                            \
		ASSERT_EQ(sizeof(b_), d.insn.length);                      \
	} while (0)

#define DECODE_ERR(err, ...)                                     \
	do {                                                     \
		static const uint8_t b_[] = { __VA_ARGS__ };     \
		ASSERT_EQ(err, decode_insn(b_, sizeof(b_), &d)); \
	} while (0)

/* Operand i is register r of size bits, as the instruction spells it. */
#define EXPECT_REG(i, r, bits)                                         \
	do {                                                           \
		EXPECT_EQ(ZYDIS_OPERAND_TYPE_REGISTER, d.ops[i].type); \
		EXPECT_EQ(r, d.ops[i].reg.value);                      \
		EXPECT_EQ(bits, d.ops[i].size);                        \
	} while (0)

#define EXPECT_IMM(i, v, bits)                                          \
	do {                                                            \
		EXPECT_EQ(ZYDIS_OPERAND_TYPE_IMMEDIATE, d.ops[i].type); \
		EXPECT_EQ(v, d.ops[i].imm.value.u);                     \
		EXPECT_EQ(bits, d.ops[i].size);                         \
	} while (0)

/* Operand i is seg:[b + x * sc + dv], bits wide. */
#define EXPECT_MEM(i, seg, b, x, sc, dv, bits)                       \
	do {                                                         \
		EXPECT_EQ(ZYDIS_OPERAND_TYPE_MEMORY, d.ops[i].type); \
		EXPECT_EQ(seg, d.ops[i].mem.segment);                \
		EXPECT_EQ(b, d.ops[i].mem.base);                     \
		EXPECT_EQ(x, d.ops[i].mem.index);                    \
		EXPECT_EQ(sc, d.ops[i].mem.scale);                   \
		EXPECT_EQ(dv, d.ops[i].mem.disp.value);              \
		EXPECT_EQ(bits, d.ops[i].size);                      \
	} while (0)

/* The index of the first memory operand, hidden ones included, or -1. */
static int memory_operand(void)
{
	for (int i = 0; i < d.insn.operand_count; i++)
		if (d.ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			return i;
	return -1;
}

TEST(port_io)
{
	DECODE_OK(ZYDIS_MNEMONIC_IN, 0xec); /* in al, dx */
	EXPECT_EQ(2, d.insn.operand_count_visible);
	EXPECT_REG(0, ZYDIS_REGISTER_AL, 8);
	EXPECT_TRUE(d.ops[0].actions & ZYDIS_OPERAND_ACTION_WRITE);
	EXPECT_REG(1, ZYDIS_REGISTER_DX, 16);

	DECODE_OK(ZYDIS_MNEMONIC_IN, 0xe5, 0x71); /* in eax, 0x71 */
	EXPECT_REG(0, ZYDIS_REGISTER_EAX, 32);
	EXPECT_IMM(1, 0x71, 8);

	DECODE_OK(ZYDIS_MNEMONIC_OUT, 0x66, 0xef); /* out dx, ax */
	EXPECT_EQ(16, d.insn.operand_width);
	EXPECT_REG(0, ZYDIS_REGISTER_DX, 16);
	EXPECT_REG(1, ZYDIS_REGISTER_AX, 16);
	EXPECT_TRUE(d.ops[1].actions & ZYDIS_OPERAND_ACTION_READ);

	DECODE_OK(ZYDIS_MNEMONIC_OUT, 0xe6, 0x80); /* out 0x80, al */
	EXPECT_IMM(0, 0x80, 8);
	EXPECT_REG(1, ZYDIS_REGISTER_AL, 8);
}

TEST(string_io)
{
	int m;

	DECODE_OK(ZYDIS_MNEMONIC_INSB, 0xf3, 0x6c); /* rep insb */
	EXPECT_TRUE(d.insn.attributes & ZYDIS_ATTRIB_HAS_REP);
	EXPECT_EQ(32, d.insn.address_width);
	m = memory_operand();
	ASSERT_LE(0, m);
	EXPECT_MEM(m, ZYDIS_REGISTER_ES, ZYDIS_REGISTER_EDI,
		   ZYDIS_REGISTER_NONE, 0, 0, 8);

	DECODE_OK(ZYDIS_MNEMONIC_OUTSD, 0xf3, 0x6f); /* rep outsd */
	EXPECT_TRUE(d.insn.attributes & ZYDIS_ATTRIB_HAS_REP);
	EXPECT_EQ(32, d.insn.operand_width);
	m = memory_operand();
	ASSERT_LE(0, m);
	EXPECT_MEM(m, ZYDIS_REGISTER_DS, ZYDIS_REGISTER_ESI,
		   ZYDIS_REGISTER_NONE, 0, 0, 32);
}

TEST(no_operands)
{
	DECODE_OK(ZYDIS_MNEMONIC_HLT, 0xf4);
	EXPECT_EQ(0, d.insn.operand_count_visible);
	DECODE_OK(ZYDIS_MNEMONIC_CLI, 0xfa);
	EXPECT_EQ(0, d.insn.operand_count_visible);
	DECODE_OK(ZYDIS_MNEMONIC_STI, 0xfb);
	EXPECT_EQ(0, d.insn.operand_count_visible);
	/* 32-bit code: the 32-bit forms. */
	DECODE_OK(ZYDIS_MNEMONIC_PUSHFD, 0x9c);
	DECODE_OK(ZYDIS_MNEMONIC_POPFD, 0x9d);
	DECODE_OK(ZYDIS_MNEMONIC_IRETD, 0xcf);
}

TEST(descriptor_tables)
{
	/* lgdt [eax+ebx*4+0x10]: pseudo-descriptor, 16-bit limit + base */
	DECODE_OK(ZYDIS_MNEMONIC_LGDT, 0x0f, 0x01, 0x54, 0x98, 0x10);
	EXPECT_EQ(1, d.insn.operand_count_visible);
	EXPECT_MEM(0, ZYDIS_REGISTER_DS, ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_EBX,
		   4, 0x10, 48);

	/* lidt [0x1000] */
	DECODE_OK(ZYDIS_MNEMONIC_LIDT, 0x0f, 0x01, 0x1d, 0x00, 0x10, 0x00,
		  0x00);
	EXPECT_MEM(0, ZYDIS_REGISTER_DS, ZYDIS_REGISTER_NONE,
		   ZYDIS_REGISTER_NONE, 0, 0x1000, 48);
	EXPECT_TRUE(d.ops[0].mem.disp.has_displacement);

	DECODE_OK(ZYDIS_MNEMONIC_LLDT, 0x0f, 0x00, 0xd0); /* lldt ax */
	EXPECT_REG(0, ZYDIS_REGISTER_AX, 16);

	DECODE_OK(ZYDIS_MNEMONIC_LTR, 0x0f, 0x00, 0x1b); /* ltr word [ebx] */
	EXPECT_MEM(0, ZYDIS_REGISTER_DS, ZYDIS_REGISTER_EBX,
		   ZYDIS_REGISTER_NONE, 0, 0, 16);
}

TEST(control_and_segment_registers)
{
	DECODE_OK(ZYDIS_MNEMONIC_MOV, 0x0f, 0x22, 0xc0); /* mov cr0, eax */
	EXPECT_REG(0, ZYDIS_REGISTER_CR0, 32);
	EXPECT_TRUE(d.ops[0].actions & ZYDIS_OPERAND_ACTION_WRITE);
	EXPECT_REG(1, ZYDIS_REGISTER_EAX, 32);

	DECODE_OK(ZYDIS_MNEMONIC_MOV, 0x0f, 0x20, 0xd8); /* mov eax, cr3 */
	EXPECT_REG(0, ZYDIS_REGISTER_EAX, 32);
	EXPECT_REG(1, ZYDIS_REGISTER_CR3, 32);

	DECODE_OK(ZYDIS_MNEMONIC_MOV, 0x8e, 0xd8); /* mov ds, ax */
	EXPECT_REG(0, ZYDIS_REGISTER_DS, 16);
	EXPECT_REG(1, ZYDIS_REGISTER_AX, 16);
}

TEST(control_transfers)
{
	DECODE_OK(ZYDIS_MNEMONIC_INT, 0xcd, 0x80); /* int 0x80 */
	EXPECT_EQ(1, d.insn.operand_count_visible);
	EXPECT_IMM(0, 0x80, 8);

	/* ljmp 0x08:0x1000 */
	DECODE_OK(ZYDIS_MNEMONIC_JMP, 0xea, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00);
	EXPECT_EQ(ZYDIS_OPERAND_TYPE_POINTER, d.ops[0].type);
	EXPECT_EQ(0x08, d.ops[0].ptr.segment);
	EXPECT_EQ(0x1000, d.ops[0].ptr.offset);
}

TEST(truncated_and_invalid)
{
	DECODE_ERR(DECODE_ETRUNC, 0x0f);	   /* a lone escape byte */
	DECODE_OK(ZYDIS_MNEMONIC_UD2, 0x0f, 0x0b); /* valid: it raises #UD */
	DECODE_ERR(DECODE_EINVAL, 0x0f, 0x04);	   /* undefined opcode */
	DECODE_ERR(DECODE_EINVAL, 0xf0, 0xf4);	   /* lock hlt */
	DECODE_ERR(DECODE_EINVAL, 0x8e, 0xc8);	   /* mov cs, ax */
	/* 15 prefixes and an opcode: 16 bytes, one more than the limit */
	DECODE_ERR(DECODE_EINVAL, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		   0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90);
	/* only the first instruction is decoded */
	DECODE_ERR(0, 0xf4, 0xf4);
	EXPECT_EQ(1, d.insn.length);
}

TEST_HARNESS_MAIN
