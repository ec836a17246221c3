/*
 * trap.h - exceptions and interrupts as the test guests see them.
 *
 * Every vector enters through a stub in vectors.S that builds the same
 * frame on the stack and calls trap_dispatch(), which calls the handler
 * registered for that vector.  A handler may read and change the frame:
 * on return the saved registers are reloaded from it and IRET resumes at
 * frame->eip, so a handler can skip a faulting instruction, emulate it
 * (change eax, ...) or send execution elsewhere.
 *
 * A vector with no handler is a bug in the guest: the runtime prints a
 * "Bail out!" line with the vector, error code and EIP and exits with 1.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

/* Exception vectors (SDM Vol. 3A, Table 6-1). */
#define VEC_DE	0 /* divide error, fault */
#define VEC_DB	1
#define VEC_NMI 2
#define VEC_BP	3 /* INT3, trap: EIP points after it */
#define VEC_OF	4
#define VEC_BR	5
#define VEC_UD	6 /* invalid opcode, fault */
#define VEC_NM	7
#define VEC_DF	8
#define VEC_TS	10
#define VEC_NP	11
#define VEC_SS	12
#define VEC_GP	13
#define VEC_PF	14
#define VEC_MF	16
#define VEC_AC	17
#define VEC_MC	18
#define VEC_XM	19

/* The PIC's interrupts, as remapped by pic_init(). */
#define IRQ_BASE	0x20
#define IRQ_VECTOR(irq) (IRQ_BASE + (irq))
#define NR_STUB_VECTORS 48 /* gates idt_init() installs */

/*
 * The frame, lowest address first: what trap_common pushes (PUSHAL, then
 * the data segment registers), what the stub pushes (vector, and 0 when the
 * CPU pushes no error code), then what the CPU pushes (SDM Vol. 3A, 6.12.1,
 * Figure 6-4).  esp and ss exist only when the interrupt came from a less
 * privileged ring ((cs & 3) != 0).
 */
struct trap_frame {
	/* PUSHAL */
	uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
	/*
	 * PUSH of a segment register with 32-bit operand size may write only
	 * the low 16 bits (SDM Vol. 2B, PUSH): the high halves are junk.
	 */
	uint16_t gs, gs_hi, fs, fs_hi, es, es_hi, ds, ds_hi;
	uint32_t vector;
	uint32_t error_code;
	/* pushed by the CPU */
	uint32_t eip;
	uint16_t cs, cs_hi;
	uint32_t eflags;
	uint32_t esp, ss; /* only on a privilege change */
};

typedef void trap_handler_t(struct trap_frame *f);

/*
 * Call @fn for @vector from now on (NULL: none); installs an interrupt gate
 * (DPL 0) to the runtime's stub when the vector has none yet.
 */
void trap_set_handler(int vector, trap_handler_t *fn);

/* Called by vectors.S only. */
void trap_dispatch(struct trap_frame *f);

#endif /* GUEST_TRAP_H */
