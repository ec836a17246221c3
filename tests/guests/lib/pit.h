/*
 * pit.h - the 8254 programmable interval timer.  Channel 0 drives IRQ 0;
 * its input clock runs at 1.193182 MHz on every PC.
 */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#include <stdint.h>

#define PIT_HZ	1193182
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_IRQ 0

#define PIT_MODE_RATE	2 /* rate generator: IRQ every divisor clocks */
#define PIT_MODE_SQUARE 3 /* square wave */

/* Program channel 0 in @mode (2 or 3) with @divisor (2..65536; 0 = 65536). */
void pit_start(int mode, uint32_t divisor);

/* Latch channel 0's count and read it (counter latch command). */
uint16_t pit_read_count(void);

#endif /* GUEST_PIT_H */
