/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding guest instructions for the virtual CPU, with Zydis set up for
 * 32-bit protected-mode code (docs/monitor.md, "The decoder").  The same
 * decode.c is built into the monitor and, for the unit tests, into userland.
 */
#ifndef BT86_DECODE_H
#define BT86_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <Zydis/Decoder.h>

/*
 * One instruction and all its operands, the hidden ones (implicit registers,
 * flags, stack) included: about 1.1 KiB, so the caller keeps it in per-vCPU
 * data, never on a monitor stack.
 */
struct decoded_insn {
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

#define DECODE_EINVAL -1 /* not a valid instruction: the guest gets #UD */
#define DECODE_ETRUNC -2 /* the instruction runs past bytes[len - 1] */

/*
 * Decodes the instruction at bytes[0] (at most 15 bytes are read, and never
 * more than len).  Returns 0 and fills *out, or a negative DECODE_E* code.
 */
int decode_insn(const uint8_t *bytes, size_t len, struct decoded_insn *out);

/* The same for code whose default operand and address size is @width
 * (16 or 32: the D bit of its code segment). */
int decode_insn_width(const uint8_t *bytes, size_t len, unsigned int width,
		      struct decoded_insn *out);

#endif /* BT86_DECODE_H */
