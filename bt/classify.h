/* SPDX-License-Identifier: GPL-2.0 */
/* Private to bt/: how one guest instruction is translated (classify.c). */
#ifndef BT86_BT_CLASSIFY_H
#define BT86_BT_CLASSIFY_H

#include "bt.h"
#include "decode.h"

enum bt_class {
	CLASS_IDENT, /* copied as it is */
	CLASS_JMP,   /* direct near branches */
	CLASS_JCC,
	CLASS_CALL,
	CLASS_LOOP, /* LOOP, LOOPcc, JECXZ: rel8 only */
	CLASS_RET,  /* near returns and indirect branches: the fast table */
	CLASS_JMP_IND,
	CLASS_CALL_IND,
	CLASS_CLI, /* inline on the virtual IF */
	CLASS_STI,
	CLASS_PUSHF,	 /* inline: the virtual IF and IOPL in the image */
	CLASS_POPF,	 /* inline unless IOPL or TF change, or an IRQ waits */
	CLASS_PUSH_SREG, /* inline: the guest's selector from the window */
	CLASS_GS_MEM,	 /* a %gs memory operand: run with the guest's GS */
	CLASS_LOAD_SREG, /* MOV/POP to DS, ES, FS: inline, checked selector */
	CLASS_READ_SREG, /* MOV Sreg to a register: from the window */
	CLASS_CALLOUT,	 /* emulated by the monitor */
	CLASS_STEP,	 /* run natively, alone (CS operands, oddities) */
};

enum bt_class bt_classify(const struct decoded_insn *d);

#endif /* BT86_BT_CLASSIFY_H */
