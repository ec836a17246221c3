// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A: scratch and divisor latch, transmit, the receive FIFO and
 * its LSR bits, interrupt identification in priority order, loopback.
 */
#include "kselftest_harness.h"
#include "pic.h"
#include "uart.h"

#define BASE 0x3f8

static void out(struct uart *u, int reg, uint8_t val)
{
	uint32_t v = val;

	uart__io(u, BASE + reg, 1, true, &v);
}

static uint8_t in(struct uart *u, int reg)
{
	uint32_t v = 0;

	uart__io(u, BASE + reg, 1, false, &v);
	return v;
}

struct sink {
	uint8_t buf[64];
	int len;
};

static void sink_tx(void *opaque, uint8_t byte)
{
	struct sink *s = opaque;

	if (s->len < (int)sizeof(s->buf))
		s->buf[s->len++] = byte;
}

FIXTURE(uart)
{
	struct uart uart;
	struct pic pic;
	struct sink sink;
};

FIXTURE_SETUP(uart)
{
	pic__init(&self->pic);
	self->pic.chip[0].vector_base = 0x20;
	uart__init(&self->uart, BASE, 4, &self->pic);
	memset(&self->sink, 0, sizeof(self->sink));
	self->uart.tx = sink_tx;
	self->uart.tx_opaque = &self->sink;
}

FIXTURE_TEARDOWN(uart)
{
}

TEST_F(uart, scratch_and_divisor_latch)
{
	struct uart *u = &self->uart;

	out(u, 7, 0x5a);
	EXPECT_EQ(0x5a, in(u, 7));
	out(u, 3, 0x83); /* DLAB, 8N1 */
	out(u, 0, 0x01); /* 115200 baud */
	out(u, 1, 0x00);
	EXPECT_EQ(0x01, in(u, 0));
	EXPECT_EQ(0x00, in(u, 1));
	EXPECT_EQ(1, u->divisor);
	out(u, 3, 0x03);
	/* With DLAB clear, offset 0 transmits and 1 is IER. */
	out(u, 0, 'A');
	out(u, 1, 0x05);
	EXPECT_EQ(0x05, in(u, 1));
	EXPECT_EQ(1, u->divisor);
	EXPECT_EQ(1, self->sink.len);
	EXPECT_EQ('A', self->sink.buf[0]);
	EXPECT_EQ(0x03, in(u, 3));
}

TEST_F(uart, lsr_and_fifo)
{
	struct uart *u = &self->uart;
	const uint8_t data[20] = "0123456789abcdefghij";

	EXPECT_EQ(0x60, in(u, 5)); /* THRE | TEMT, no data */
	/* Without the FIFO, one byte fits. */
	EXPECT_EQ(1, uart__receive(u, data, 3));
	EXPECT_EQ(0x61, in(u, 5));
	EXPECT_EQ('0', in(u, 0));
	EXPECT_EQ(0x60, in(u, 5));
	out(u, 2, 0x01); /* FIFO on */
	EXPECT_EQ(16, uart__rx_space(u));
	EXPECT_EQ(16, uart__receive(u, data, 20));
	EXPECT_EQ(0, uart__rx_space(u));
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(data[i], in(u, 0));
	EXPECT_EQ(0x60, in(u, 5));
	/* FCR bit 1 empties the receive FIFO. */
	uart__receive(u, data, 4);
	out(u, 2, 0x03);
	EXPECT_EQ(0x60, in(u, 5));
	EXPECT_EQ(16, uart__rx_space(u));
}

TEST_F(uart, overrun_in_loopback)
{
	struct uart *u = &self->uart;

	out(u, 4, 0x10); /* loopback, FIFO off */
	out(u, 0, 'x');
	out(u, 0, 'y');
	EXPECT_EQ(0, self->sink.len); /* nothing reaches the host */
	EXPECT_EQ(0x63, in(u, 5));    /* DR | OE */
	EXPECT_EQ(0x61, in(u, 5));    /* OE clears on read */
	EXPECT_EQ('x', in(u, 0));
}

TEST_F(uart, interrupt_identification_order)
{
	struct uart *u = &self->uart;
	const uint8_t data[8] = "abcdefgh";

	EXPECT_EQ(0x01, in(u, 2)); /* nothing pending */
	out(u, 1, 0x0f);	   /* all sources */
	/* Enabling THRI with the holding register empty raises it. */
	EXPECT_TRUE(u->irq_level);
	EXPECT_EQ(0x02, in(u, 2)); /* THRE */
	EXPECT_EQ(0x01, in(u, 2)); /* reading IIR cleared it */
	EXPECT_FALSE(u->irq_level);
	EXPECT_TRUE(pic__has_interrupt(&self->pic)); /* edge latched */

	/* Received data beats THRE, line status beats received data. */
	out(u, 0, 'z'); /* THRE pending again */
	uart__receive(u, data, 1);
	EXPECT_EQ(0x04, in(u, 2));
	u->lsr |= 0x02; /* an overrun */
	EXPECT_EQ(0x06, in(u, 2));
	in(u, 5);
	EXPECT_EQ(0x04, in(u, 2));
	in(u, 0);
	EXPECT_EQ(0x02, in(u, 2));
	EXPECT_EQ(0x01, in(u, 2));

	/* Modem status last: loopback changes the lines. */
	out(u, 4, 0x10 | 0x02); /* loop + RTS: DSR, DCD drop */
	EXPECT_EQ(0x00, in(u, 2));
	EXPECT_EQ(0x1a, in(u, 6) & 0xff); /* CTS, DDCD, DDSR */
	EXPECT_EQ(0x01, in(u, 2));
}

TEST_F(uart, fifo_trigger_and_timeout)
{
	struct uart *u = &self->uart;
	const uint8_t data[8] = "abcdefgh";

	out(u, 2, 0x81); /* FIFO on, trigger 8 */
	out(u, 1, 0x01);
	uart__receive(u, data, 3);
	EXPECT_EQ(0xcc, in(u, 2)); /* below trigger: timeout id */
	uart__receive(u, data, 5);
	EXPECT_EQ(0xc4, in(u, 2)); /* at trigger: received data */
	EXPECT_TRUE(u->irq_level);
	for (int i = 0; i < 8; i++)
		in(u, 0);
	EXPECT_EQ(0xc1, in(u, 2));
	EXPECT_FALSE(u->irq_level);
}

TEST_F(uart, irq_reaches_pic)
{
	struct uart *u = &self->uart;
	const uint8_t c = 'q';

	out(u, 1, 0x01);
	EXPECT_FALSE(pic__has_interrupt(&self->pic));
	uart__receive(u, &c, 1);
	ASSERT_TRUE(pic__has_interrupt(&self->pic));
	EXPECT_EQ(0x24, pic__ack(&self->pic));
	EXPECT_EQ('q', in(u, 0));
	EXPECT_FALSE(u->irq_level);
}

TEST_F(uart, loopback_modem_lines)
{
	struct uart *u = &self->uart;

	EXPECT_EQ(0xb0, in(u, 6) & 0xf0); /* DCD, DSR, CTS */
	out(u, 4, 0x10);
	EXPECT_EQ(0x00, in(u, 6) & 0xf0);
	out(u, 4, 0x1f);
	EXPECT_EQ(0xf0, in(u, 6) & 0xf0);
	out(u, 0, 'L');
	EXPECT_EQ('L', in(u, 0));
	EXPECT_EQ(0, self->sink.len);
}

TEST_HARNESS_MAIN
