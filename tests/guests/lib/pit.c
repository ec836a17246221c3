/*
 * pit.c - channel 0 of the 8254.  Control word (8254 datasheet):
 * bits 7-6 channel, 5-4 access (11 = low byte then high byte; 00 = latch
 * the count), 3-1 mode, 0 binary.
 */
#include "pit.h"
#include "x86.h"

#define PIT_SEL_CH0	(0 << 6)
#define PIT_ACCESS_LOHI (3 << 4)
#define PIT_LATCH	(0 << 4)

void pit_start(int mode, uint32_t divisor)
{
	outb(PIT_CMD, PIT_SEL_CH0 | PIT_ACCESS_LOHI | (mode & 7) << 1);
	outb(PIT_CH0, divisor & 0xff);
	outb(PIT_CH0, (divisor >> 8) & 0xff);
}

uint16_t pit_read_count(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, PIT_SEL_CH0 | PIT_LATCH);
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return lo | hi << 8;
}
