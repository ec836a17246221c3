/*
 * pit - device interrupts through the PIC to the guest's IDT.
 *
 * PIT channel 0 runs in mode 2 at about 1 kHz and raises IRQ 0 (vector
 * 0x20); the handler counts ticks and sends an EOI.  The guest checks that
 * the counter reads back sensibly through a latch command, that ticks
 * arrive and wake HLT, that masking IRQ 0 in the IMR stops them, and then
 * that the UART's "transmit holding register empty" interrupt arrives on
 * IRQ 4 with IIR saying so.  Counts and times vary from run to run, so
 * they are only compared, never printed.
 *
 * Waits are bounded by PIT reloads seen while polling the counter (about
 * 1 ms each), so a missing interrupt gives "not ok", not a hang.  Spurious
 * IRQ 7s (legal on an 8259A) are accepted and not counted as ticks.
 */
#include "guest.h"

#define TICK_HZ	     1000
#define DIVISOR	     (PIT_HZ / TICK_HZ) /* 1193 */
#define WAIT_RELOADS 2000		/* ~2 s */

static volatile uint32_t ticks, spurious, thre_hits;
static volatile uint8_t thre_iir;

static void timer_irq(struct trap_frame *f)
{
	(void)f;
	ticks++;
	pic_eoi(PIT_IRQ);
}

/* IRQ 7 without IRQ 7 in the ISR is spurious (8259A datasheet): no EOI. */
static void irq7(struct trap_frame *f)
{
	(void)f;
	if (pic_get_isr() & (1 << 7))
		pic_eoi(7);
	spurious++;
}

/* Reading IIR when it reports THRE clears that interrupt (PC16550D). */
static void uart_irq(struct trap_frame *f)
{
	(void)f;
	if (!thre_hits)
		thre_iir = inb(COM1 + UART_IIR);
	thre_hits++;
	outb(COM1 + UART_IER, 0);
	pic_eoi(COM1_IRQ);
}

/*
 * Open short interrupt windows until @cond holds or @reloads PIT reloads
 * went by.  In mode 2 the count only falls between reloads, so a count
 * higher than the previous read proves at least one reload in between.
 */
static int wait_until(int (*cond)(void), int reloads)
{
	uint16_t prev = pit_read_count(), now;
	uint32_t polls = 0;
	int seen = 0;

	while (!cond()) {
		/* The poll bound only matters if the counter is stuck. */
		if (seen >= reloads || ++polls > reloads * 10000u)
			return 0;
		asm volatile("sti; nop; cli" : : : "memory");
		now = pit_read_count();
		if (now > prev)
			seen++;
		prev = now;
	}
	return 1;
}

static uint32_t target;

static int ticks_reached(void)
{
	return ticks >= target;
}

static int never(void)
{
	return 0;
}

static int thre_seen(void)
{
	return thre_hits != 0;
}

static void test_counter(void)
{
	uint16_t c, prev = pit_read_count();
	int i, in_range = prev >= 1 && prev <= DIVISOR, fell = 0;

	for (i = 0; i < 200; i++) {
		c = pit_read_count();
		if (c < 1 || c > DIVISOR)
			in_range = 0;
		if (c < prev)
			fell = 1;
		prev = c;
	}
	ok(in_range, "latched count stays within 1..divisor (mode 2)");
	ok(fell, "latched count decreases");
}

static void test_ticks(void)
{
	uint32_t before;
	int i;

	pic_unmask(PIT_IRQ);
	target = 20;
	ok(wait_until(ticks_reached, WAIT_RELOADS),
	   "timer interrupts arrive on vector 0x20");

	/* Allow a few spurious IRQ 7 wake-ups: legal, if unlikely. */
	before = ticks;
	for (i = 0; i < 20 && ticks - before < 10; i++)
		wait_for_interrupt();
	ok(ticks - before >= 10, "HLT wakes up on timer interrupts");

	pic_mask(PIT_IRQ);
	before = ticks;
	wait_until(never, 20);
	ok(ticks == before, "no ticks while IRQ 0 is masked in the IMR");

	pic_unmask(PIT_IRQ);
	target = before + 5;
	ok(wait_until(ticks_reached, WAIT_RELOADS),
	   "ticks resume when IRQ 0 is unmasked");
}

static void test_uart_thre(void)
{
	trap_set_handler(IRQ_VECTOR(COM1_IRQ), uart_irq);
	pic_unmask(COM1_IRQ);
	outb(COM1 + UART_IER, UART_IER_THRI);
	ok(wait_until(thre_seen, WAIT_RELOADS),
	   "UART THRE interrupt arrives on IRQ 4");
	ok_eq(thre_iir & (UART_IIR_ID | UART_IIR_NO_INT), UART_IIR_THRI,
	      "IIR identifies the THRE interrupt");
	ok_eq(inb(COM1 + UART_IIR) & UART_IIR_NO_INT, UART_IIR_NO_INT,
	      "IIR shows nothing pending after the handler");
}

int main(void)
{
	ktap_plan(9);
	pic_init();
	trap_set_handler(IRQ_VECTOR(PIT_IRQ), timer_irq);
	trap_set_handler(IRQ_VECTOR(7), irq7);
	pit_start(PIT_MODE_RATE, DIVISOR);

	test_counter();
	test_ticks();
	test_uart_thre();

	pic_set_imr(0xffff);
	ktap_finish();
}
