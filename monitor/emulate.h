/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to emulate*.c: the decoded instruction and its operands.
 *
 * An emulated instruction is decoded once (emulate.c) into the per-vCPU
 * buffer, and the handlers read its operands through these helpers.  A
 * handler returns 0 to resume the guest or 1 to go to the host, and uses
 * skip() to move EIP past the instruction when it completes.
 */
#ifndef BT86_EMULATE_H
#define BT86_EMULATE_H

#include "decode.h"
#include "monitor.h"

static inline struct decoded_insn *insn_buffer(struct bt86_xdata *x)
{
	return (struct decoded_insn *)((u8 *)x + XDATA_MONITOR);
}

/* The instruction completed: EIP moves past it. */
void skip(struct bt86_xdata *x, const struct decoded_insn *d);

const ZydisDecodedOperand *find_operand(const struct decoded_insn *d,
					ZydisOperandType type);
/* The segment register Zydis's @r names (DS for anything else). */
enum sreg zydis_sreg(ZydisRegister r);
u32 reg_read(struct bt86_xdata *x, ZydisRegister r);
void reg_write(struct bt86_xdata *x, ZydisRegister r, u32 value);

/*
 * A memory operand's segment and offset, with the segment's checks for an
 * access of @len bytes (#GP(0), or #SS(0) through SS).  *lin gets the
 * linear address.
 */
fault_t mem_address(struct bt86_xdata *x, const struct decoded_insn *d,
		    const ZydisDecodedOperand *op, u32 len, bool write,
		    u32 *lin);
fault_t mem_read(struct bt86_xdata *x, const struct decoded_insn *d,
		 const ZydisDecodedOperand *op, void *buf, u32 len);
fault_t mem_write(struct bt86_xdata *x, const struct decoded_insn *d,
		  const ZydisDecodedOperand *op, const void *buf, u32 len);
/* A register or memory operand of up to 4 bytes. */
fault_t operand_read(struct bt86_xdata *x, const struct decoded_insn *d,
		     const ZydisDecodedOperand *op, u32 *value);
fault_t operand_write(struct bt86_xdata *x, const struct decoded_insn *d,
		      const ZydisDecodedOperand *op, u32 value);

/* emulate.c: the instruction at CS:EIP, decoded into @d (0, or DECODE_E*) */
int decode_current(struct bt86_xdata *x, struct decoded_insn *d);
long emulate_decoded(struct bt86_xdata *x, struct decoded_insn *d,
		     bool callout);
long emulate_load_sreg(struct bt86_xdata *x, struct decoded_insn *d, bool pop);
/* bt_emulate.c */
long emulate_load_far(struct bt86_xdata *x, struct decoded_insn *d);

/* Finish the instruction or deliver its fault. */
long complete(struct bt86_xdata *x, const struct decoded_insn *d, fault_t f);

/* emulate_io.c */
long emulate_port_io(struct bt86_xdata *x, struct decoded_insn *d);
long emulate_mmio(struct bt86_xdata *x, u32 addr);
void emulate_complete_io(struct bt86_xdata *x);
void emulate_complete_mmio(struct bt86_xdata *x);
bool io_allowed(struct bt86_xdata *x, u16 port, unsigned int size);

/* emulate_sys.c */
long emulate_system(struct bt86_xdata *x, struct decoded_insn *d);
long emulate_store_table(struct bt86_xdata *x, struct decoded_insn *d);

#endif /* BT86_EMULATE_H */
