// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 PIT (Intel 8254 datasheet, order no. 231164).
 *
 * Parts: time (ticks elapsed since a count was loaded), the counter modes
 * (count and OUT as functions of ticks), channel 0's interrupt edges, the
 * control word (mode set, counter latch, read-back), the counter ports and
 * port 0x61.
 *
 * Counting is binary even when the BCD bit is set (it is only reported back
 * in the status byte); no PC software of interest counts in BCD.
 */
#include <string.h>

#include "ioport.h"
#include "pic.h"
#include "pit.h"
#include "util.h"

#define PIT_BASE    0x40
#define PIT_CONTROL 0x43
#define PORT_61	    0x61

#define P61_GATE2   0x01
#define P61_SPEAKER 0x02
#define P61_REFRESH 0x10
#define P61_OUT2    0x20

#define NSEC 1000000000ULL

static uint64_t pit__now(struct pit *pit)
{
	return pit->clock ? pit->clock(pit->clock_opaque) : clock_now_ns();
}

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (unsigned __int128)ns * PIT_HZ / NSEC;
}

/* The clock value at which tick number ticks begins (rounded up). */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return ((unsigned __int128)ticks * NSEC + PIT_HZ - 1) / PIT_HZ;
}

/* --- one counter ------------------------------------------------------ */

static uint32_t channel__period(const struct pit_channel *c)
{
	uint32_t n = c->reload ? c->reload : 0x10000;

	/* Modes 2 and 3 need a count of at least 2. */
	if ((c->mode == 2 || c->mode == 3) && n < 2)
		n = 2;
	return n;
}

/* Is the counter stopped by a low gate? */
static bool channel__gated_off(const struct pit_channel *c)
{
	return !c->gate &&
	       (c->mode == 0 || c->mode == 2 || c->mode == 3 || c->mode == 4);
}

/* Is the counter counting down from its load (modes 1/5: triggered)? */
static bool channel__running(const struct pit_channel *c)
{
	if (!c->counting)
		return false;
	if (c->mode == 1 || c->mode == 5)
		return c->armed;
	return true;
}

static uint64_t channel__ticks(const struct pit_channel *c, uint64_t now)
{
	if (channel__gated_off(c) && (c->mode == 0 || c->mode == 4))
		return c->paused_ticks;
	return now > c->load_ns ? ns_to_ticks(now - c->load_ns) : 0;
}

static uint16_t channel__count(const struct pit_channel *c, uint64_t now)
{
	uint32_t n = channel__period(c), phase, high;
	uint64_t t;

	if (!channel__running(c))
		return c->reload;
	t = channel__ticks(c, now);
	switch (c->mode) {
	case 2:
		if (!c->gate)
			return n;
		return n - t % n;
	case 3:
		if (!c->gate)
			return n & ~1u;
		phase = t % n;
		high = (n + 1) / 2;
		if (phase >= high)
			phase -= high;
		return (n - 2 * phase) & 0xfffe;
	default: /* 0, 1, 4, 5: count down, wrapping */
		return (n - t) & 0xffff;
	}
}

static bool channel__out(const struct pit_channel *c, uint64_t now)
{
	uint32_t n = channel__period(c);
	uint64_t t;

	if (!c->counting)
		return c->mode != 0;
	if (!channel__running(c))
		return true;
	t = channel__ticks(c, now);
	switch (c->mode) {
	case 0:
	case 1:
		return t >= n;
	case 2:
		return !c->gate || t % n != n - 1;
	case 3:
		return !c->gate || t % n < (n + 1) / 2;
	default: /* 4, 5: one tick low at terminal count */
		return t != n;
	}
}

/*
 * The tick of the last rising OUT edge at or before t (0: none yet), and
 * of the next one after t (0: none coming).
 */
static uint64_t channel__last_edge(const struct pit_channel *c, uint64_t t)
{
	uint32_t n = channel__period(c);

	switch (c->mode) {
	case 0:
		return t >= n ? n : 0;
	case 2:
	case 3:
		return t / n * n;
	case 4:
		return t >= n + 1 ? n + 1 : 0;
	default:
		return 0;
	}
}

static uint64_t channel__next_edge(const struct pit_channel *c, uint64_t t)
{
	uint32_t n = channel__period(c);

	switch (c->mode) {
	case 0:
		return t < n ? n : 0;
	case 2:
	case 3:
		return (t / n + 1) * n;
	case 4:
		return t < n + 1 ? n + 1 : 0;
	default:
		return 0;
	}
}

static void channel__load(struct pit_channel *c, uint16_t count, uint64_t now)
{
	c->reload = count;
	c->counting = true;
	c->null_count = false;
	c->load_ns = now;
	c->paused_ticks = 0;
	c->irq_tick = 0;
	c->armed = false;
}

static void channel__set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	if (!gate) {
		if (c->mode == 0 || c->mode == 4)
			c->paused_ticks = channel__ticks(c, now);
		c->gate = false;
		return;
	}
	c->gate = true;
	if (c->mode == 0 || c->mode == 4) {
		/* Resume where the count stopped. */
		c->load_ns = now - ticks_to_ns(c->paused_ticks);
	} else if (c->counting) {
		/* Modes 1, 2, 3, 5: a rising gate (re)starts the count. */
		c->load_ns = now;
		c->armed = true;
		c->irq_tick = 0;
	}
}

/* --- channel 0's interrupt ------------------------------------------------ */

void pit__update(struct pit *pit)
{
	struct pit_channel *c = &pit->ch[0];
	uint64_t edge;

	if (!channel__running(c) || channel__gated_off(c))
		return;
	edge = channel__last_edge(c, channel__ticks(c, pit__now(pit)));
	if (edge && edge != c->irq_tick) {
		/* Edges missed while the host was busy are merged into one. */
		c->irq_tick = edge;
		pit->irqs++;
		if (pit->pic)
			pic__pulse_irq(pit->pic, 0);
	}
}

uint64_t pit__next_event(struct pit *pit)
{
	struct pit_channel *c = &pit->ch[0];
	uint64_t edge;

	if (!channel__running(c) || channel__gated_off(c))
		return 0;
	edge = channel__next_edge(c, channel__ticks(c, pit__now(pit)));
	return edge ? c->load_ns + ticks_to_ns(edge) : 0;
}

static void pit__changed(struct pit *pit, int channel)
{
	if (channel == 0 && pit->changed)
		pit->changed(pit->changed_opaque);
}

/* --- the control word ------------------------------------------------------ */

static void channel__latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return;
	c->count_latched = true;
	c->latch_msb_next = false;
	c->latched_count = channel__count(c, now);
}

static void channel__latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status_latched = true;
	c->latched_status = channel__out(c, now) << 7 | c->null_count << 6 |
			    c->rw << 4 | c->mode << 1 | c->bcd;
}

static void pit__read_back(struct pit *pit, uint8_t val, uint64_t now)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (!(val & (2 << i)))
			continue;
		if (!(val & 0x20))
			channel__latch_count(&pit->ch[i], now);
		if (!(val & 0x10))
			channel__latch_status(&pit->ch[i], now);
	}
}

static void pit__control(struct pit *pit, uint8_t val)
{
	uint64_t now = pit__now(pit);
	struct pit_channel *c;
	uint8_t mode;

	if ((val >> 6) == 3) {
		pit__read_back(pit, val, now);
		return;
	}
	c = &pit->ch[val >> 6];
	if (!(val & 0x30)) {
		channel__latch_count(c, now);
		return;
	}
	mode = (val >> 1) & 7;
	c->mode = mode > 5 ? mode - 4 : mode;
	c->rw = (val >> 4) & 3;
	c->bcd = val & 1;
	c->counting = false;
	c->null_count = true;
	c->write_msb_next = false;
	c->read_msb_next = false;
	c->count_latched = false;
	c->armed = false;
	pit__changed(pit, val >> 6);
}

/* --- the counter ports and port 0x61 ---------------------------------------- */

static void pit__write_counter(struct pit *pit, int i, uint8_t val)
{
	struct pit_channel *c = &pit->ch[i];
	uint64_t now = pit__now(pit);

	switch (c->rw) {
	case 1:
		channel__load(c, val, now);
		break;
	case 2:
		channel__load(c, val << 8, now);
		break;
	case 3:
		if (!c->write_msb_next) {
			c->write_lsb = val;
			c->write_msb_next = true;
			/* Mode 0 stops counting at the first byte. */
			if (c->mode == 0)
				c->counting = false;
			return;
		}
		c->write_msb_next = false;
		channel__load(c, val << 8 | c->write_lsb, now);
		break;
	default:
		return; /* no control word yet */
	}
	pit__changed(pit, i);
}

static uint8_t pit__read_counter(struct pit *pit, int i)
{
	struct pit_channel *c = &pit->ch[i];
	uint16_t count;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->latched_status;
	}
	if (c->count_latched) {
		count = c->latched_count;
		msb = c->rw == 2 || (c->rw == 3 && c->latch_msb_next);
		if (c->rw == 3 && !c->latch_msb_next)
			c->latch_msb_next = true;
		else
			c->count_latched = false;
		return msb ? count >> 8 : count & 0xff;
	}
	count = channel__count(c, pit__now(pit));
	msb = c->rw == 2 || (c->rw == 3 && c->read_msb_next);
	if (c->rw == 3)
		c->read_msb_next = !c->read_msb_next;
	return msb ? count >> 8 : count & 0xff;
}

static uint8_t pit__read_61(struct pit *pit)
{
	uint64_t now = pit__now(pit);
	uint8_t val = pit->port61 & (P61_GATE2 | P61_SPEAKER);

	/* The DRAM refresh bit toggles every 15.085 us. */
	if ((now / 15085) & 1)
		val |= P61_REFRESH;
	if (channel__out(&pit->ch[2], now))
		val |= P61_OUT2;
	return val;
}

void pit__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data)
{
	struct pit *pit = dev;
	uint8_t val = *data;

	if (port == PORT_61) {
		if (is_write) {
			pit->port61 = val & (P61_GATE2 | P61_SPEAKER);
			channel__set_gate(&pit->ch[2], val & P61_GATE2,
					  pit__now(pit));
		} else {
			*data = pit__read_61(pit);
		}
	} else if (port == PIT_CONTROL) {
		if (is_write)
			pit__control(pit, val);
		else
			*data = 0xff; /* the control word is write-only */
	} else if (is_write) {
		pit__write_counter(pit, port - PIT_BASE, val);
	} else {
		*data = pit__read_counter(pit, port - PIT_BASE);
	}
}

uint16_t pit__count(struct pit *pit, int channel)
{
	return channel__count(&pit->ch[channel], pit__now(pit));
}

bool pit__output(struct pit *pit, int channel)
{
	return channel__out(&pit->ch[channel], pit__now(pit));
}

void pit__init(struct pit *pit, struct pic *pic,
	       uint64_t (*clock)(void *opaque), void *clock_opaque)
{
	memset(pit, 0, sizeof(*pit));
	pit->pic = pic;
	pit->clock = clock;
	pit->clock_opaque = clock_opaque;
	/* Channels 0 and 1 have their gates tied high. */
	pit->ch[0].gate = true;
	pit->ch[1].gate = true;
}

int pit__register(struct pit *pit, struct ioport_bus *bus)
{
	int ret = ioport__register(bus, PIT_BASE, 4, pit__io, pit, "pit");

	if (!ret)
		ret = ioport__register(bus, PORT_61, 1, pit__io, pit, "port61");
	return ret;
}
