/*
 * demo - the guest that `make run` boots: a tiny interactive kernel.
 *
 * It explains itself, then runs on interrupts alone: the PIT ticks at
 * 100 Hz (IRQ 0), the UART raises IRQ 4 when a key arrives, and between
 * interrupts the CPU sits in HLT.  The receive handler queues keys; the
 * main loop echoes them; Ctrl-T (BSD's status key) shows the
 * uptime.  'q' ends the run with exit(0) (launcher status
 * 1).  With stdin at end of file no key ever comes and the guest just
 * keeps waiting: the launcher's Ctrl-A x ends it from outside.
 */
#include "guest.h"

#define TICK_HZ 100
#define CTRL(c) ((c)&0x1f)

static volatile uint32_t ticks;
static volatile char keys[64];
static volatile uint32_t key_head, key_tail; /* head: handler writes */

static void timer_irq(struct trap_frame *f)
{
	(void)f;
	ticks++;
	pic_eoi(PIT_IRQ);
}

/* Drain the receiver; when the queue is full, later keys are dropped. */
static void uart_irq(struct trap_frame *f)
{
	(void)f;
	while (inb(COM1 + UART_LSR) & UART_LSR_DR) {
		char c = inb(COM1 + UART_RBR);

		if (key_head - key_tail < sizeof(keys))
			keys[key_head++ % sizeof(keys)] = c;
	}
	pic_eoi(COM1_IRQ);
}

static int next_key(void)
{
	int c = -1;

	cli();
	if (key_tail != key_head)
		c = (unsigned char)keys[key_tail++ % sizeof(keys)];
	return c;
}

static void banner(void)
{
	printf("\n"
	       "bt86 demo guest\n"
	       "---------------\n"
	       "A 32-bit protected-mode kernel of a few kilobytes, running in a\n"
	       "virtual machine.  Every byte you see here went through the virtual\n"
	       "16550 UART that the bt86 launcher emulates; each key you type comes\n"
	       "back to this guest as an interrupt (IRQ 4) through the virtual 8259\n"
	       "PIC, while the virtual 8254 PIT ticks at %d Hz on IRQ 0.\n"
	       "\n"
	       "Type something: it is echoed back.\n"
	       "  Ctrl-T     time since boot, counted in PIT ticks\n"
	       "  q          quit (the guest exits with code 0)\n"
	       "  Ctrl-A x   stop the virtual machine from outside\n"
	       "\n",
	       TICK_HZ);
}

static void show_uptime(void)
{
	uint32_t t = ticks;

	printf("[%u.%02u s since boot, %u timer interrupts]\n", t / TICK_HZ,
	       t % TICK_HZ, t);
}

int main(void)
{
	int c;

	banner();
	pic_init();
	trap_set_handler(IRQ_VECTOR(PIT_IRQ), timer_irq);
	trap_set_handler(IRQ_VECTOR(COM1_IRQ), uart_irq);
	pit_start(PIT_MODE_SQUARE, PIT_HZ / TICK_HZ);
	outb(COM1 + UART_IER, UART_IER_RDI);
	pic_unmask(PIT_IRQ);
	pic_unmask(COM1_IRQ);

	for (;;) {
		c = next_key(); /* returns with IF = 0 */
		if (c < 0) {
			wait_for_interrupt();
			continue;
		}
		if (c == 'q') {
			printf("\nbye\n");
			return 0;
		}
		if (c == CTRL('T'))
			show_uptime();
		else if (c == '\r' || c == '\n')
			printf("\n");
		else if (c == 0x7f || c == '\b')
			printf("\b \b");
		else if (c >= ' ' && c < 0x7f)
			printf("%c", c);
	}
}
