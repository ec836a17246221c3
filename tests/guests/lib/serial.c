/*
 * serial.c - polled output on COM1.  Under the bt86 launcher no BIOS has
 * run, so the divisor and line format are programmed here from scratch.
 */
#include "serial.h"
#include "x86.h"

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 / 1 */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, 0x07); /* enable and clear FIFOs */
	outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
}

static void serial_put_raw(char c)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		pause();
	outb(COM1 + UART_THR, c);
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_put_raw('\r');
	serial_put_raw(c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
