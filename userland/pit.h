/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 8254 programmable interval timer at 0x40-0x43, with the speaker and
 * gate port 0x61 (channel 2's gate on bit 0, its output on bit 5).
 *
 * The counters are not stepped: each one remembers when its count was loaded
 * and derives count and output from the clock, 1193182 Hz, when read.  The
 * clock is a function pointer so that tests can move time by hand.  Channel
 * 0's rising output edges raise IRQ 0: the I/O thread asks
 * pit__next_event() when the next one is due, sleeps until then and calls
 * pit__update().
 */
#ifndef BT86_PIT_H
#define BT86_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182ULL

struct ioport_bus;
struct pic;

struct pit_channel {
	uint16_t reload; /* the count written; 0 means 65536 */
	uint8_t mode;	 /* 0-5 */
	uint8_t rw;	 /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;	 /* recorded; counting is binary */
	bool counting;	 /* a count has been loaded */
	bool null_count; /* control word written, count not loaded */
	bool gate;
	bool armed; /* modes 1 and 5: triggered by the gate */
	bool write_msb_next;
	bool read_msb_next;
	uint8_t write_lsb;
	uint64_t load_ns;      /* clock value when counting started */
	uint64_t paused_ticks; /* modes 0/4 with gate low: ticks so far */
	bool count_latched;
	bool latch_msb_next;
	uint16_t latched_count;
	bool status_latched;
	uint8_t latched_status;
	uint64_t irq_tick; /* channel 0: the last edge raised */
};

struct pit {
	struct pit_channel ch[3];
	uint8_t port61;	 /* bits 0 (gate 2) and 1 (speaker data) */
	struct pic *pic; /* may be NULL in tests */
	uint64_t (*clock)(void *opaque);
	void *clock_opaque;
	/* Called when channel 0 is reprogrammed, for the timer's owner. */
	void (*changed)(void *opaque);
	void *changed_opaque;
	uint64_t irqs; /* IRQ 0 edges raised */
};

/* clock NULL: CLOCK_MONOTONIC. */
void pit__init(struct pit *pit, struct pic *pic,
	       uint64_t (*clock)(void *opaque), void *clock_opaque);
int pit__register(struct pit *pit, struct ioport_bus *bus);

/* Raise IRQ 0 if channel 0's output rose since the last call. */
void pit__update(struct pit *pit);
/* Clock value of channel 0's next rising edge, 0 if none is coming. */
uint64_t pit__next_event(struct pit *pit);

/* Current count and output of a channel (for tests and 0x61). */
uint16_t pit__count(struct pit *pit, int channel);
bool pit__output(struct pit *pit, int channel);

void pit__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data);

#endif
