/*
 * pic.h - the two cascaded 8259A interrupt controllers of the PC.
 *
 * pic_init() remaps IRQ 0-7 to vectors 0x20-0x27 and IRQ 8-15 to 0x28-0x2f
 * (away from the CPU's exception vectors) and masks every IRQ; a guest then
 * unmasks the lines it wants and sends an EOI from each handler.
 */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

#include <stdint.h>

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21 /* IMR outside the init sequence */
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define PIC_CASCADE_IRQ 2 /* the slave hangs on the master's IR2 */

void pic_init(void);
void pic_mask(int irq);
void pic_unmask(int irq);
/* Both IMRs: bits 0-7 master, 8-15 slave; a set bit masks the IRQ. */
void pic_set_imr(uint16_t mask);
uint16_t pic_get_imr(void);
/* Interrupt request / in-service registers, read through OCW3. */
uint16_t pic_get_irr(void);
uint16_t pic_get_isr(void);
/* End of interrupt for @irq (and for the cascade when irq >= 8). */
void pic_eoi(int irq);

#endif /* GUEST_PIC_H */
