/*
 * serial.h - COM1, a 16550 UART at 0x3f8 on IRQ 4, driven by polling.
 *
 * Register offsets from the port base; DLAB (LCR bit 7) switches offsets 0
 * and 1 to the divisor latch.  (National Semiconductor PC16550D datasheet.)
 */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#define COM1	 0x3f8
#define COM1_IRQ 4

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_MSR 6 /* modem status */
#define UART_SCR 7 /* scratch */

#define UART_IER_RDI	0x01 /* received data available */
#define UART_IER_THRI	0x02 /* transmit holding register empty */
#define UART_IIR_NO_INT 0x01 /* bit 0 set: nothing pending */
#define UART_IIR_ID	0x0e /* interrupt identification bits */
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_LCR_8N1	0x03
#define UART_LCR_DLAB	0x80
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT2	0x08 /* gates the UART's IRQ line on a PC */
#define UART_LSR_DR	0x01 /* data ready */
#define UART_LSR_THRE	0x20 /* THR empty */

/* 115200 8N1, FIFOs on, all UART interrupts off (IER = 0). */
void serial_init(void);
void serial_putc(char c); /* "\n" goes out as "\r\n" */
void serial_puts(const char *s);

#endif /* GUEST_SERIAL_H */
