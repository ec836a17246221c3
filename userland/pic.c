// SPDX-License-Identifier: GPL-2.0
/*
 * The 8259A PIC pair (Intel 8259A datasheet, order no. 231468).
 *
 * The file has three parts: one chip's priority logic (which request wins,
 * does it beat what is in service), the pair (cascade through IR2, the
 * acknowledge cycle, the INT output), and the port interface (ICW1-4,
 * OCW1-3, poll, ELCR).
 *
 * Every value written by the guest is accepted: a real 8259A has no invalid
 * programming, only useless ones.
 */
#include <string.h>

#include "ioport.h"
#include "pic.h"

#define PIC_MASTER_CMD 0x20
#define PIC_SLAVE_CMD  0xa0
#define PIC_ELCR       0x4d0

#define ICW1_IC4  0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define ICW1	  0x10
#define OCW3	  0x08
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
#define OCW3_RIS  0x01
#define OCW3_RR	  0x02
#define OCW3_POLL 0x04
#define OCW3_SMM  0x20
#define OCW3_ESMM 0x40

#define CASCADE_IRQ 2

/* --- one chip ------------------------------------------------------------ */

/* The level-triggered inputs: ELCR, or all of them with ICW1.LTIM. */
static uint8_t chip__level(const struct i8259 *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* Priority (0 highest) of the best bit in mask, 8 if none. */
static int chip__priority(const struct i8259 *c, uint8_t mask)
{
	int p;

	for (p = 0; p < 8; p++)
		if (mask & (1 << ((p + c->priority_add) & 7)))
			return p;
	return 8;
}

/* The IRQ this chip would present to its INT output, or -1. */
static int chip__pending(const struct i8259 *c)
{
	int req = chip__priority(c, c->irr & ~c->imr);
	uint8_t in_service = c->isr;
	int cur;

	if (req == 8)
		return -1;
	/* Special mask mode: masked in-service levels do not block. */
	if (c->special_mask)
		in_service &= ~c->imr;
	/* Special fully nested: the slave may interrupt its own level. */
	if (c->special_fully_nested && c->is_master)
		in_service &= ~(1 << CASCADE_IRQ);
	cur = chip__priority(c, in_service);
	if (req >= cur)
		return -1;
	return (req + c->priority_add) & 7;
}

/* Drive one input line; edges latch IRR, levels follow it. */
static void chip__set_line(struct i8259 *c, int irq, int level)
{
	uint8_t bit = 1 << irq;

	if (chip__level(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* Acknowledge irq: move it from IRR to ISR (unless auto-EOI). */
static void chip__ack_irq(struct i8259 *c, int irq)
{
	uint8_t bit = 1 << irq;

	if (!(chip__level(c) & bit))
		c->irr &= ~bit;
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (irq + 1) & 7;
	} else {
		c->isr |= bit;
	}
}

/* The highest-priority in-service IRQ, or -1. */
static int chip__highest_isr(const struct i8259 *c)
{
	int p = chip__priority(c, c->isr);

	return p == 8 ? -1 : (p + c->priority_add) & 7;
}

/* --- the pair ------------------------------------------------------------- */

/* Recompute the cascade input and the INT output; notify a rising INT. */
static void pic__update(struct pic *pic)
{
	struct i8259 *master = &pic->chip[0];
	bool slave_int = chip__pending(&pic->chip[1]) >= 0;
	bool was = pic->output;

	/* IR2 follows the slave's INT output as a level. */
	if (slave_int)
		master->irr |= 1 << CASCADE_IRQ;
	else
		master->irr &= ~(1 << CASCADE_IRQ);
	pic->output = chip__pending(master) >= 0;
	if (pic->output && !was && pic->notify)
		pic->notify(pic->notify_opaque);
}

void pic__set_irq(struct pic *pic, int irq, int level)
{
	if (irq < 0 || irq > 15 || irq == CASCADE_IRQ)
		return;
	chip__set_line(&pic->chip[irq >> 3], irq & 7, level);
	pic__update(pic);
}

void pic__pulse_irq(struct pic *pic, int irq)
{
	pic__set_irq(pic, irq, 1);
	pic__set_irq(pic, irq, 0);
}

bool pic__has_interrupt(const struct pic *pic)
{
	return pic->output;
}

uint8_t pic__ack(struct pic *pic)
{
	struct i8259 *master = &pic->chip[0], *slave = &pic->chip[1];
	int irq = chip__pending(master), sirq;
	uint8_t vector;

	if (irq < 0) {
		/* The request went away before INTA: spurious IRQ 7. */
		pic->spurious++;
		vector = master->vector_base | 7;
	} else if (irq == CASCADE_IRQ && !master->single) {
		sirq = chip__pending(slave);
		chip__ack_irq(master, irq);
		if (sirq < 0) {
			pic->spurious++;
			vector = slave->vector_base | 7;
		} else {
			chip__ack_irq(slave, sirq);
			vector = slave->vector_base | sirq;
		}
	} else {
		chip__ack_irq(master, irq);
		vector = master->vector_base | irq;
	}
	pic__update(pic);
	return vector;
}

/* --- the ports ------------------------------------------------------------ */

static void chip__icw1(struct i8259 *c, uint8_t val)
{
	c->icw4_needed = val & ICW1_IC4;
	c->single = val & ICW1_SNGL;
	c->ltim = val & ICW1_LTIM;
	c->isr = 0;
	c->imr = 0;
	c->priority_add = 0;
	c->special_mask = false;
	c->special_fully_nested = false;
	c->auto_eoi = false;
	c->rotate_on_auto_eoi = false;
	c->read_isr = false;
	c->poll = false;
	c->init_step = 2;
	/* Lines already high count as level-triggered requests only. */
	c->irr = c->lines & chip__level(c);
}

static void chip__eoi(struct i8259 *c, int irq, bool rotate)
{
	if (irq < 0)
		return;
	c->isr &= ~(1 << irq);
	if (rotate)
		c->priority_add = (irq + 1) & 7;
}

static void chip__ocw2(struct i8259 *c, uint8_t val)
{
	int level = val & 7;

	switch (val >> 5) {
	case 0: /* clear rotate in auto-EOI mode */
		c->rotate_on_auto_eoi = false;
		break;
	case 4: /* set rotate in auto-EOI mode */
		c->rotate_on_auto_eoi = true;
		break;
	case 1: /* non-specific EOI */
		chip__eoi(c, chip__highest_isr(c), false);
		break;
	case 5: /* rotate on non-specific EOI */
		chip__eoi(c, chip__highest_isr(c), true);
		break;
	case 3: /* specific EOI */
		chip__eoi(c, level, false);
		break;
	case 7: /* rotate on specific EOI */
		chip__eoi(c, level, true);
		break;
	case 6: /* set priority: level becomes the lowest */
		c->priority_add = (level + 1) & 7;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void chip__ocw3(struct i8259 *c, uint8_t val)
{
	if (val & OCW3_POLL)
		c->poll = true;
	if (val & OCW3_RR)
		c->read_isr = val & OCW3_RIS;
	if (val & OCW3_ESMM)
		c->special_mask = val & OCW3_SMM;
}

static void chip__write_data(struct i8259 *c, uint8_t val)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = val & 0xf8;
		c->init_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		c->auto_eoi = val & ICW4_AEOI;
		c->special_fully_nested = val & ICW4_SFNM;
		c->init_step = 0;
		break;
	default:
		c->imr = val; /* OCW1 */
		break;
	}
}

/* A poll read: the pending IRQ acknowledged as by INTA, or 0. */
static uint8_t pic__poll(struct pic *pic, int index)
{
	struct i8259 *c = &pic->chip[index];
	int irq = chip__pending(c);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip__ack_irq(c, irq);
	return 0x80 | irq;
}

static uint8_t pic__read(struct pic *pic, int index, bool data)
{
	struct i8259 *c = &pic->chip[index];

	if (c->poll)
		return pic__poll(pic, index);
	if (data)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void pic__write(struct pic *pic, int index, bool data, uint8_t val)
{
	struct i8259 *c = &pic->chip[index];

	if (data)
		chip__write_data(c, val);
	else if (val & ICW1)
		chip__icw1(c, val);
	else if (val & OCW3)
		chip__ocw3(c, val);
	else
		chip__ocw2(c, val);
}

static void pic__elcr_io(struct pic *pic, int index, bool is_write,
			 uint32_t *data)
{
	struct i8259 *c = &pic->chip[index];

	if (is_write) {
		c->elcr = *data & c->elcr_mask;
		/* Inputs now level triggered show their line in IRR. */
		c->irr = (c->irr & ~chip__level(c)) |
			 (c->lines & chip__level(c));
	} else
		*data = c->elcr;
}

void pic__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data)
{
	struct pic *pic = dev;
	int i;

	/* Wider accesses touch consecutive ports, one byte each. */
	for (i = 0; i < size; i++) {
		uint16_t p = port + i;
		uint32_t byte = (*data >> (8 * i)) & 0xff;

		if (p == PIC_ELCR || p == PIC_ELCR + 1) {
			pic__elcr_io(pic, p - PIC_ELCR, is_write, &byte);
		} else if ((p & ~1) == PIC_MASTER_CMD ||
			   (p & ~1) == PIC_SLAVE_CMD) {
			int index = (p & ~1) == PIC_SLAVE_CMD;

			if (is_write)
				pic__write(pic, index, p & 1, byte);
			else
				byte = pic__read(pic, index, p & 1);
		} else {
			byte = 0xff;
		}
		if (!is_write) {
			*data &= ~(0xffu << (8 * i));
			*data |= (byte & 0xff) << (8 * i);
		}
	}
	pic__update(pic);
}

void pic__init(struct pic *pic)
{
	memset(pic, 0, sizeof(*pic));
	pic->chip[0].is_master = true;
	/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge. */
	pic->chip[0].elcr_mask = 0xf8;
	pic->chip[1].elcr_mask = 0xde;
}

int pic__register(struct pic *pic, struct ioport_bus *bus)
{
	int ret;

	ret = ioport__register(bus, PIC_MASTER_CMD, 2, pic__io, pic, "pic1");
	if (!ret)
		ret = ioport__register(bus, PIC_SLAVE_CMD, 2, pic__io, pic,
				       "pic2");
	if (!ret)
		ret = ioport__register(bus, PIC_ELCR, 2, pic__io, pic, "elcr");
	return ret;
}
