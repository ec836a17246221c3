/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART: COM1 at 0x3f8, IRQ 4.  Bytes the guest transmits go to an
 * output callback at once (the transmitter is always ready); bytes for the
 * guest are pushed into the 16-byte receive FIFO with uart__receive(), and
 * only as many as fit: the caller keeps the rest (flow control to the host
 * instead of overruns).
 *
 * The interrupt line follows the pending interrupt conditions as a level,
 * whatever MCR.OUT2 says, as QEMU's 16550A does.
 */
#ifndef BT86_UART_H
#define BT86_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_FIFO_SIZE 16

struct ioport_bus;
struct pic;

struct uart {
	uint16_t base;
	int irq;
	struct pic *pic; /* may be NULL in tests */

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divisor;
	bool thre_pending; /* THR-empty interrupt not yet seen */
	bool irq_level;

	uint8_t rx[UART_FIFO_SIZE];
	int rx_head, rx_count;

	/* The guest's output: one byte at a time. */
	void (*tx)(void *opaque, uint8_t byte);
	void *tx_opaque;
	/* Room appeared in the receive FIFO (the guest read a byte). */
	void (*rx_ready)(void *opaque);
	void *rx_opaque;

	uint64_t tx_bytes, rx_bytes;
};

void uart__init(struct uart *uart, uint16_t base, int irq, struct pic *pic);
int uart__register(struct uart *uart, struct ioport_bus *bus);

/* Free space in the receive FIFO. */
int uart__rx_space(const struct uart *uart);
/* Give the guest up to len bytes; returns how many were taken. */
size_t uart__receive(struct uart *uart, const uint8_t *buf, size_t len);

void uart__io(void *dev, uint16_t port, int size, bool is_write,
	      uint32_t *data);

#endif
