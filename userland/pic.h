/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 8259A programmable interrupt controller pair of the PC: master at
 * 0x20/0x21 (IRQ 0-7), slave at 0xa0/0xa1 (IRQ 8-15) cascaded on the
 * master's IR2, and the edge/level control registers at 0x4d0/0x4d1.
 *
 * Devices drive input lines with pic__set_irq(); the run loop asks
 * pic__has_interrupt() and, once the guest can take it, runs the interrupt
 * acknowledge cycle with pic__ack() which returns the vector.
 */
#ifndef BT86_PIC_H
#define BT86_PIC_H

#include <stdbool.h>
#include <stdint.h>

struct ioport_bus;

/* One 8259A. */
struct i8259 {
	uint8_t irr;	     /* interrupt request register */
	uint8_t isr;	     /* in-service register */
	uint8_t imr;	     /* interrupt mask register */
	uint8_t lines;	     /* input line levels */
	uint8_t elcr;	     /* ELCR: 1 = level triggered */
	uint8_t elcr_mask;   /* ELCR bits that may be set */
	uint8_t vector_base; /* ICW2 & 0xf8 */
	uint8_t icw3;
	uint8_t priority_add; /* the lowest-priority IRQ is priority_add-1 */
	uint8_t init_step;    /* 0: ready, 2/3/4: expecting ICW2/3/4 */
	bool icw4_needed;
	bool single; /* ICW1.SNGL: no cascade */
	bool ltim;   /* ICW1.LTIM: all inputs level triggered */
	bool auto_eoi;
	bool rotate_on_auto_eoi;
	bool special_mask;
	bool special_fully_nested;
	bool read_isr; /* OCW3: command port reads ISR, else IRR */
	bool poll;     /* OCW3 poll command armed for the next read */
	bool is_master;
};

struct pic {
	struct i8259 chip[2]; /* 0: master, 1: slave */
	bool output;	      /* master INT line */
	/* Called (device lock held) when INT rises; may be NULL. */
	void (*notify)(void *opaque);
	void *notify_opaque;
	uint64_t spurious; /* spurious acknowledges */
};

void pic__init(struct pic *pic);
int pic__register(struct pic *pic, struct ioport_bus *bus);

/* Drive input line irq (0-15) to level. */
void pic__set_irq(struct pic *pic, int irq, int level);
/* Raise then lower an edge-triggered line. */
void pic__pulse_irq(struct pic *pic, int irq);

/* Is the master's INT output asserted? */
bool pic__has_interrupt(const struct pic *pic);
/* Interrupt acknowledge: the vector for the CPU (spurious 7/15 if none). */
uint8_t pic__ack(struct pic *pic);

/* The port handler, exposed for the unit tests. */
void pic__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data);

#endif
