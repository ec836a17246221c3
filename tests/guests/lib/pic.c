/*
 * pic.c - 8259A set-up and control.  The command words are those of the
 * Intel 8259A datasheet: ICW1-ICW4 start the controller, OCW1 is the IMR,
 * OCW2 carries the EOI, OCW3 selects which register a read returns.
 */
#include "pic.h"
#include "trap.h"
#include "x86.h"

#define ICW1_INIT     0x10
#define ICW1_ICW4     0x01 /* ICW4 follows */
#define ICW4_8086     0x01
#define OCW2_EOI      0x20 /* non-specific EOI */
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b

void pic_init(void)
{
	/* ICW1: edge triggered, cascaded, ICW4 needed. */
	outb(PIC1_CMD, ICW1_INIT | ICW1_ICW4);
	outb(PIC2_CMD, ICW1_INIT | ICW1_ICW4);
	/* ICW2: vector base (the low 3 bits are the IRQ number). */
	outb(PIC1_DATA, IRQ_BASE);
	outb(PIC2_DATA, IRQ_BASE + 8);
	/* ICW3: master has a slave on IR2; the slave's identity is 2. */
	outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ);
	outb(PIC2_DATA, PIC_CASCADE_IRQ);
	/* ICW4: 8086 mode, normal EOI. */
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	/* OCW1: everything masked but the cascade line. */
	pic_set_imr(0xffff & ~(1 << PIC_CASCADE_IRQ));
}

void pic_set_imr(uint16_t mask)
{
	outb(PIC1_DATA, mask & 0xff);
	outb(PIC2_DATA, mask >> 8);
}

uint16_t pic_get_imr(void)
{
	return inb(PIC1_DATA) | inb(PIC2_DATA) << 8;
}

void pic_mask(int irq)
{
	pic_set_imr(pic_get_imr() | 1 << irq);
}

void pic_unmask(int irq)
{
	uint16_t imr = pic_get_imr() & ~(1 << irq);

	if (irq >= 8)
		imr &= ~(1 << PIC_CASCADE_IRQ);
	pic_set_imr(imr);
}

static uint16_t pic_read_ocw3(uint8_t ocw3)
{
	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	return inb(PIC1_CMD) | inb(PIC2_CMD) << 8;
}

uint16_t pic_get_irr(void)
{
	return pic_read_ocw3(OCW3_READ_IRR);
}

uint16_t pic_get_isr(void)
{
	return pic_read_ocw3(OCW3_READ_ISR);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, OCW2_EOI);
	outb(PIC1_CMD, OCW2_EOI);
}
