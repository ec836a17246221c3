// SPDX-License-Identifier: GPL-2.0
/*
 * The 8259A pair: the initialization sequence Linux and the test guests use,
 * priorities, EOI kinds, masking, cascade, auto-EOI, poll, spurious IRQs.
 */
#include "kselftest_harness.h"
#include "pic.h"

static void out(struct pic *pic, uint16_t port, uint8_t val)
{
	uint32_t v = val;

	pic__io(pic, port, 1, true, &v);
}

static uint8_t in(struct pic *pic, uint16_t port)
{
	uint32_t v = 0;

	pic__io(pic, port, 1, false, &v);
	return v;
}

/* ICW1-4 as a PC BIOS or Linux programs them: vectors base, base + 8. */
static void pic_program(struct pic *pic, uint8_t base, uint8_t icw4)
{
	pic__init(pic);
	out(pic, 0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
	out(pic, 0x21, base); /* ICW2 */
	out(pic, 0x21, 0x04); /* ICW3: slave on IR2 */
	out(pic, 0x21, icw4); /* ICW4: 8086 mode */
	out(pic, 0xa0, 0x11);
	out(pic, 0xa1, base + 8);
	out(pic, 0xa1, 0x02); /* ICW3: cascade identity 2 */
	out(pic, 0xa1, icw4);
	out(pic, 0x21, 0x00); /* OCW1: unmask all */
	out(pic, 0xa1, 0x00);
}

FIXTURE(pic)
{
	struct pic pic;
};

FIXTURE_SETUP(pic)
{
	pic_program(&self->pic, 0x20, 0x01);
}

FIXTURE_TEARDOWN(pic)
{
}

TEST_F(pic, init_sequence)
{
	struct pic *pic = &self->pic;

	EXPECT_EQ(0x20, pic->chip[0].vector_base);
	EXPECT_EQ(0x28, pic->chip[1].vector_base);
	EXPECT_EQ(0, pic->chip[0].init_step);
	EXPECT_EQ(0, pic->chip[1].init_step);
	EXPECT_FALSE(pic__has_interrupt(pic));
	/* After init, the data port is the IMR. */
	out(pic, 0x21, 0xfb);
	EXPECT_EQ(0xfb, in(pic, 0x21));
	/* ICW1 clears the mask. */
	out(pic, 0x20, 0x11);
	EXPECT_EQ(0x00, pic->chip[0].imr);
	EXPECT_EQ(2, pic->chip[0].init_step);
}

TEST_F(pic, edge_irq_delivers_vector)
{
	struct pic *pic = &self->pic;

	pic__pulse_irq(pic, 0);
	ASSERT_TRUE(pic__has_interrupt(pic));
	EXPECT_EQ(0x20, pic__ack(pic));
	EXPECT_EQ(0x01, pic->chip[0].isr);
	EXPECT_EQ(0x00, pic->chip[0].irr);
	EXPECT_FALSE(pic__has_interrupt(pic));
}

TEST_F(pic, priority_order)
{
	struct pic *pic = &self->pic;

	pic__pulse_irq(pic, 5);
	pic__pulse_irq(pic, 3);
	pic__pulse_irq(pic, 1);
	EXPECT_EQ(0x21, pic__ack(pic));
	/* IRQ 1 in service blocks 3 and 5. */
	EXPECT_FALSE(pic__has_interrupt(pic));
	out(pic, 0x20, 0x20); /* non-specific EOI */
	EXPECT_EQ(0x23, pic__ack(pic));
	/* A higher priority request nests. */
	pic__pulse_irq(pic, 0);
	EXPECT_EQ(0x20, pic__ack(pic));
	EXPECT_EQ(0x09, pic->chip[0].isr);
	/* Non-specific EOI clears the highest in service (IRQ 0). */
	out(pic, 0x20, 0x20);
	EXPECT_EQ(0x08, pic->chip[0].isr);
	out(pic, 0x20, 0x20);
	EXPECT_EQ(0x25, pic__ack(pic));
}

TEST_F(pic, specific_eoi)
{
	struct pic *pic = &self->pic;

	pic__pulse_irq(pic, 3);
	EXPECT_EQ(0x23, pic__ack(pic));
	pic__pulse_irq(pic, 1);
	EXPECT_EQ(0x21, pic__ack(pic));
	out(pic, 0x20, 0x63); /* specific EOI for IRQ 3 */
	EXPECT_EQ(0x02, pic->chip[0].isr);
	out(pic, 0x20, 0x61);
	EXPECT_EQ(0x00, pic->chip[0].isr);
}

TEST_F(pic, rotation)
{
	struct pic *pic = &self->pic;

	/* Set priority: IRQ 4 lowest, so 5 is now the highest. */
	out(pic, 0x20, 0xc4);
	pic__pulse_irq(pic, 2 + 1);
	pic__pulse_irq(pic, 6);
	EXPECT_EQ(0x26, pic__ack(pic));
	/* Rotate on non-specific EOI: 6 becomes the lowest, 7 highest. */
	out(pic, 0x20, 0xa0);
	EXPECT_EQ(7, pic->chip[0].priority_add);
	pic__pulse_irq(pic, 0);
	EXPECT_EQ(0x20, pic__ack(pic));
}

TEST_F(pic, masking)
{
	struct pic *pic = &self->pic;

	out(pic, 0x21, 0x01);
	pic__pulse_irq(pic, 0);
	EXPECT_FALSE(pic__has_interrupt(pic));
	EXPECT_EQ(0x01, pic->chip[0].irr);
	out(pic, 0x21, 0x00); /* unmasking delivers the latched edge */
	EXPECT_TRUE(pic__has_interrupt(pic));
	EXPECT_EQ(0x20, pic__ack(pic));
}

TEST_F(pic, cascade)
{
	struct pic *pic = &self->pic;

	pic__pulse_irq(pic, 12);
	ASSERT_TRUE(pic__has_interrupt(pic));
	EXPECT_EQ(0x2c, pic__ack(pic));
	EXPECT_EQ(0x04, pic->chip[0].isr);
	EXPECT_EQ(0x10, pic->chip[1].isr);
	/* Masking IR2 on the master hides the whole slave. */
	out(pic, 0xa0, 0x20);
	out(pic, 0x20, 0x20);
	out(pic, 0x21, 0x04);
	pic__pulse_irq(pic, 8);
	EXPECT_FALSE(pic__has_interrupt(pic));
	out(pic, 0x21, 0x00);
	EXPECT_EQ(0x28, pic__ack(pic));
	/* Slave IRQs rank at IR2: IRQ 1 beats IRQ 8, IRQ 3 does not. */
	out(pic, 0xa0, 0x20);
	out(pic, 0x20, 0x20);
	pic__pulse_irq(pic, 3);
	pic__pulse_irq(pic, 9);
	EXPECT_EQ(0x29, pic__ack(pic));
}

TEST_F(pic, level_triggered_and_elcr)
{
	struct pic *pic = &self->pic;
	uint32_t v = 0x20; /* IRQ 5 level triggered */

	pic__io(pic, 0x4d0, 1, true, &v);
	EXPECT_EQ(0x20, in(pic, 0x4d0));
	/* IRQ 0-2 can never be level triggered. */
	v = 0xff;
	pic__io(pic, 0x4d0, 1, true, &v);
	EXPECT_EQ(0xf8, in(pic, 0x4d0));
	pic__set_irq(pic, 5, 1);
	EXPECT_EQ(0x25, pic__ack(pic));
	out(pic, 0x20, 0x20);
	/* Still high: requested again after the EOI. */
	EXPECT_TRUE(pic__has_interrupt(pic));
	pic__set_irq(pic, 5, 0);
	EXPECT_FALSE(pic__has_interrupt(pic));
}

TEST_F(pic, auto_eoi)
{
	struct pic *pic = &self->pic;

	pic_program(pic, 0x30, 0x03); /* ICW4: 8086, AEOI */
	pic__pulse_irq(pic, 4);
	EXPECT_EQ(0x34, pic__ack(pic));
	EXPECT_EQ(0x00, pic->chip[0].isr);
	/* Nothing in service: a lower priority request goes at once. */
	pic__pulse_irq(pic, 6);
	EXPECT_EQ(0x36, pic__ack(pic));
}

TEST_F(pic, spurious_irq7_and_irq15)
{
	struct pic *pic = &self->pic;
	uint32_t v = 0x20; /* IRQ 5 level */

	pic__io(pic, 0x4d0, 1, true, &v);
	pic__set_irq(pic, 5, 1);
	EXPECT_TRUE(pic__has_interrupt(pic));
	pic__set_irq(pic, 5, 0); /* gone before the acknowledge */
	EXPECT_EQ(0x27, pic__ack(pic));
	EXPECT_EQ(0x00, pic->chip[0].isr);
	EXPECT_EQ(1, pic->spurious);

	/* On the slave: spurious 15, with the master's IR2 in service. */
	v = 0x02; /* IRQ 9 level */
	pic__io(pic, 0x4d1, 1, true, &v);
	pic__set_irq(pic, 9, 1);
	EXPECT_TRUE(pic__has_interrupt(pic));
	/* Masked on the slave after the master saw the request. */
	pic->chip[1].imr = 0x02;
	EXPECT_EQ(0x2f, pic__ack(pic));
	EXPECT_EQ(0x00, pic->chip[1].isr);
	EXPECT_EQ(0x04, pic->chip[0].isr);
}

TEST_F(pic, read_irr_isr_and_poll)
{
	struct pic *pic = &self->pic;

	out(pic, 0x21, 0xff);
	pic__pulse_irq(pic, 6);
	out(pic, 0x20, 0x0a); /* OCW3: read IRR */
	EXPECT_EQ(0x40, in(pic, 0x20));
	out(pic, 0x21, 0x00);
	EXPECT_EQ(0x26, pic__ack(pic));
	out(pic, 0x20, 0x0b); /* OCW3: read ISR */
	EXPECT_EQ(0x40, in(pic, 0x20));
	out(pic, 0x20, 0x20);
	EXPECT_EQ(0x00, in(pic, 0x20));
	/* Poll: the pending IRQ, acknowledged by the read. */
	pic__pulse_irq(pic, 3);
	out(pic, 0x20, 0x0c);
	EXPECT_EQ(0x83, in(pic, 0x20));
	EXPECT_EQ(0x08, pic->chip[0].isr);
	out(pic, 0x20, 0x0c);
	EXPECT_EQ(0x00, in(pic, 0x20));
}

TEST_F(pic, special_mask_mode)
{
	struct pic *pic = &self->pic;

	pic__pulse_irq(pic, 2 + 2);
	EXPECT_EQ(0x24, pic__ack(pic));
	pic__pulse_irq(pic, 6);
	EXPECT_FALSE(pic__has_interrupt(pic));
	/* Mask the in-service level and enter special mask mode. */
	out(pic, 0x21, 0x10);
	out(pic, 0x20, 0x68);
	EXPECT_TRUE(pic__has_interrupt(pic));
	EXPECT_EQ(0x26, pic__ack(pic));
}

TEST_HARNESS_MAIN
