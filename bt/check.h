/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to bt/ and its tests: checked translation's bound checks
 * (check.c, docs/translator.md "Checked translation").
 */
#ifndef BT86_BT_CHECK_H
#define BT86_BT_CHECK_H

#include "classify.h"
#include "emit.h"

/* How a check computes the offset it tests. */
enum bt_check_form {
	CHECK_LEA32,   /* lea disp32(base, index, scale): Zydis's operand */
	CHECK_MODRM16, /* the instruction's own 16-bit ModRM, with 67 */
	CHECK_SI16,    /* a 16-bit string operand: [si] or [di] */
	CHECK_DI16,
};

/* One access of a guest instruction that a bound check covers. */
struct bt_check {
	enum bt_check_form form;
	bt_u8 seg;  /* BT_VP_LIMIT's index: ES CS SS DS FS GS */
	bt_u8 base; /* CHECK_LEA32: register numbers, 8 = none */
	bt_u8 index;
	bt_u8 scale; /* 1, 2, 4, 8 */
	bt_u32 disp; /* CHECK_LEA32: with the stack adjustment in it */
	bt_u32 size; /* bytes of one element */
	bt_u8 opnd;  /* the guest operand (decoded_insn.ops[]) */
	bool rep;    /* REP MOVS/STOS/LODS: ECX elements, either way */
};

/* The accesses of @d that get a check (at most BT_MAX_CHECKS). */
unsigned int bt_checks_of(const struct decoded_insn *d, struct bt_check *out);

/*
 * Emits the checks for @d (whose bytes are @bytes) at the cursor; returns
 * the TC offset of the call out taken when one fails, or BT_NONE when @d
 * needs no check (nothing emitted).
 */
bt_u32 bt_emit_checks(struct emit *e, const struct decoded_insn *d,
		      const bt_u8 *bytes);

#endif /* BT86_BT_CHECK_H */
