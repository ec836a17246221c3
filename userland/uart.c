// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A UART (National Semiconductor PC16550D datasheet).
 *
 * Registers by offset from the base, DLAB = LCR bit 7:
 *
 *   0  RBR (read) / THR (write)      DLL when DLAB = 1
 *   1  IER                           DLM when DLAB = 1
 *   2  IIR (read) / FCR (write)
 *   3  LCR    4  MCR    5  LSR    6  MSR    7  SCR
 *
 * Interrupt identification, highest priority first: receiver line status
 * (overrun), received data (at the FIFO trigger level; below it, the
 * character timeout identification), transmitter holding register empty,
 * modem status.  The character timeout is reported at once instead of after
 * four character times: the guest cannot tell the difference except by
 * timing, and it must drain the FIFO either way.
 */
#include <string.h>

#include "ioport.h"
#include "pic.h"
#include "uart.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI	 0x08

#define IIR_NO_INT  0x01
#define IIR_MSI	    0x00
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO    0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80
#define MSR_DELTAS 0x0f

static const int fifo_trigger[4] = { 1, 4, 8, 14 };

static bool uart__fifo_on(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static int uart__rx_capacity(const struct uart *u)
{
	return uart__fifo_on(u) ? UART_FIFO_SIZE : 1;
}

/* The pending interrupt of highest priority, as IIR bits 3:0. */
static uint8_t uart__iir_id(const struct uart *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr & LSR_OE))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count) {
		if (uart__fifo_on(u) && u->rx_count < fifo_trigger[u->fcr >> 6])
			return IIR_TIMEOUT;
		return IIR_RDI;
	}
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void uart__update_irq(struct uart *u)
{
	bool level = uart__iir_id(u) != IIR_NO_INT;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->pic)
		pic__set_irq(u->pic, u->irq, level);
}

/* --- the receive FIFO ---------------------------------------------------- */

static void uart__rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count >= uart__rx_capacity(u)) {
		u->lsr |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

static uint8_t uart__rx_pop(struct uart *u)
{
	uint8_t byte;

	if (!u->rx_count)
		return 0;
	byte = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	if (!--u->rx_count)
		u->lsr &= ~LSR_DR;
	if (u->rx_ready && !(u->mcr & MCR_LOOP))
		u->rx_ready(u->rx_opaque);
	return byte;
}

static void uart__rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->lsr &= ~LSR_DR;
	if (u->rx_ready)
		u->rx_ready(u->rx_opaque);
}

int uart__rx_space(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return 0; /* the receiver listens to the transmitter */
	return uart__rx_capacity(u) - u->rx_count;
}

size_t uart__receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && uart__rx_space(u) > 0) {
		uart__rx_push(u, buf[n++]);
		u->rx_bytes++;
	}
	uart__update_irq(u);
	return n;
}

/* --- modem lines ---------------------------------------------------------- */

/* Set MSR's line bits; changes set the delta bits. */
static void uart__set_msr_lines(struct uart *u, uint8_t lines)
{
	uint8_t changed = (u->msr ^ lines) & 0xf0;

	if (changed & MSR_CTS)
		u->msr |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr |= MSR_DDSR;
	if (changed & MSR_DCD)
		u->msr |= MSR_DDCD;
	if ((u->msr & MSR_RI) && !(lines & MSR_RI))
		u->msr |= MSR_TERI; /* trailing edge of RI */
	u->msr = (u->msr & MSR_DELTAS) | lines;
}

/* In loopback the outputs feed the inputs; else a cable is attached. */
static void uart__update_msr(struct uart *u)
{
	uint8_t lines = MSR_CTS | MSR_DSR | MSR_DCD;

	if (u->mcr & MCR_LOOP) {
		lines = 0;
		if (u->mcr & MCR_RTS)
			lines |= MSR_CTS;
		if (u->mcr & MCR_DTR)
			lines |= MSR_DSR;
		if (u->mcr & MCR_OUT1)
			lines |= MSR_RI;
		if (u->mcr & MCR_OUT2)
			lines |= MSR_DCD;
	}
	uart__set_msr_lines(u, lines);
}

/* --- registers ------------------------------------------------------------ */

static void uart__transmit(struct uart *u, uint8_t byte)
{
	u->tx_bytes++;
	if (u->mcr & MCR_LOOP)
		uart__rx_push(u, byte);
	else if (u->tx)
		u->tx(u->tx_opaque, byte);
	/* Sent at once: the holding register is empty again. */
	u->thre_pending = true;
}

static void uart__write(struct uart *u, int reg, uint8_t val)
{
	switch (reg) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB)
			u->divisor = (u->divisor & 0xff00) | val;
		else
			uart__transmit(u, val);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (u->divisor & 0xff) | val << 8;
			break;
		}
		/* Enabling THRI with the holding register empty fires it. */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = true;
		u->ier = val & 0x0f;
		break;
	case UART_IIR:
		/* Switching the FIFOs on or off empties them. */
		if ((val ^ u->fcr) & FCR_ENABLE)
			val |= FCR_CLEAR_RX | FCR_CLEAR_TX;
		if (val & FCR_CLEAR_RX)
			uart__rx_clear(u);
		u->fcr = val & 0xc9;
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & 0x1f;
		uart__update_msr(u);
		if (u->rx_ready)
			u->rx_ready(u->rx_opaque);
		break;
	case UART_LSR:
		break; /* factory test only */
	case UART_MSR:
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
}

static uint8_t uart__read(struct uart *u, int reg)
{
	uint8_t val = 0, id;

	switch (reg) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB)
			return u->divisor & 0xff;
		return uart__rx_pop(u);
	case UART_IER:
		if (u->lcr & LCR_DLAB)
			return u->divisor >> 8;
		return u->ier;
	case UART_IIR:
		id = uart__iir_id(u);
		/* Reading IIR clears a THRE interrupt it reports. */
		if (id == IIR_THRI)
			u->thre_pending = false;
		return id | (uart__fifo_on(u) ? IIR_FIFO : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		val = u->lsr | LSR_THRE | LSR_TEMT;
		u->lsr &= ~LSR_OE;
		return val;
	case UART_MSR:
		val = u->msr;
		u->msr &= ~MSR_DELTAS;
		return val;
	case UART_SCR:
		return u->scr;
	}
	return val;
}

void uart__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data)
{
	struct uart *u = dev;
	int reg = port - u->base;

	if (is_write) {
		uart__write(u, reg, *data);
	} else {
		*data = uart__read(u, reg);
	}
	uart__update_irq(u);
}

void uart__init(struct uart *uart, uint16_t base, int irq, struct pic *pic)
{
	memset(uart, 0, sizeof(*uart));
	uart->base = base;
	uart->irq = irq;
	uart->pic = pic;
	uart->divisor = 12; /* 9600 baud */
	uart->lcr = 0x03;   /* 8N1 */
	uart->msr = MSR_CTS | MSR_DSR | MSR_DCD;
}

int uart__register(struct uart *uart, struct ioport_bus *bus)
{
	return ioport__register(bus, uart->base, 8, uart__io, uart, "uart");
}
