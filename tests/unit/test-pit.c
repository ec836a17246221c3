// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 with a hand-moved clock: counts in modes 0, 2 and 3, the counter
 * latch, the read-back command, channel 2's gate and output on port 0x61,
 * and channel 0's IRQ 0 edges.
 */
#include "kselftest_harness.h"
#include "pic.h"
#include "pit.h"

/* Nanoseconds for n PIT ticks, rounded up so that n ticks have elapsed. */
static uint64_t ticks(uint64_t n)
{
	return (n * 1000000000ULL + PIT_HZ - 1) / PIT_HZ;
}

static uint64_t fake_clock(void *opaque)
{
	return *(uint64_t *)opaque;
}

static void out(struct pit *pit, uint16_t port, uint8_t val)
{
	uint32_t v = val;

	pit__io(pit, port, 1, true, &v);
}

static uint8_t in(struct pit *pit, uint16_t port)
{
	uint32_t v = 0;

	pit__io(pit, port, 1, false, &v);
	return v;
}

static uint16_t read_word(struct pit *pit, uint16_t port)
{
	uint8_t lo = in(pit, port);

	return lo | in(pit, port) << 8;
}

FIXTURE(pit)
{
	struct pit pit;
	struct pic pic;
	uint64_t now;
};

FIXTURE_SETUP(pit)
{
	self->now = 1000000000ULL;
	pic__init(&self->pic);
	/* PIC: vectors 0x20, everything unmasked. */
	self->pic.chip[0].vector_base = 0x20;
	self->pic.chip[1].vector_base = 0x28;
	pit__init(&self->pit, &self->pic, fake_clock, &self->now);
}

FIXTURE_TEARDOWN(pit)
{
}

TEST_F(pit, mode2_counts_down_and_reloads)
{
	struct pit *pit = &self->pit;

	out(pit, 0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	out(pit, 0x40, 1000 & 0xff);
	out(pit, 0x40, 1000 >> 8);
	EXPECT_EQ(1000, pit__count(pit, 0));
	self->now += ticks(100);
	EXPECT_EQ(900, pit__count(pit, 0));
	EXPECT_TRUE(pit__output(pit, 0));
	self->now += ticks(899); /* count 1: OUT low for one tick */
	EXPECT_EQ(1, pit__count(pit, 0));
	EXPECT_FALSE(pit__output(pit, 0));
	self->now += ticks(1);
	EXPECT_EQ(1000, pit__count(pit, 0));
	EXPECT_TRUE(pit__output(pit, 0));
	/* Live reads go low byte, high byte. */
	self->now += ticks(10);
	EXPECT_EQ(990, read_word(pit, 0x40));
}

TEST_F(pit, mode0_interrupt_on_terminal_count)
{
	struct pit *pit = &self->pit;

	out(pit, 0x43, 0x30); /* channel 0, lobyte/hibyte, mode 0 */
	out(pit, 0x40, 0x00);
	out(pit, 0x40, 0x01); /* 256 */
	EXPECT_FALSE(pit__output(pit, 0));
	EXPECT_EQ(self->now + ticks(256), pit__next_event(pit));
	self->now += ticks(255);
	pit__update(pit);
	EXPECT_FALSE(pic__has_interrupt(&self->pic));
	self->now += ticks(1);
	EXPECT_TRUE(pit__output(pit, 0));
	pit__update(pit);
	ASSERT_TRUE(pic__has_interrupt(&self->pic));
	EXPECT_EQ(0x20, pic__ack(&self->pic));
	/* One shot: no further edges, the count wraps on. */
	EXPECT_EQ(0, pit__next_event(pit));
	self->now += ticks(10);
	EXPECT_EQ(0xfff6, pit__count(pit, 0));
	EXPECT_TRUE(pit__output(pit, 0));
	EXPECT_EQ(1, pit->irqs);
}

TEST_F(pit, mode3_square_wave)
{
	struct pit *pit = &self->pit;

	out(pit, 0x43, 0x36); /* channel 0, lobyte/hibyte, mode 3 */
	out(pit, 0x40, 100);
	out(pit, 0x40, 0);
	EXPECT_TRUE(pit__output(pit, 0));
	self->now += ticks(10);
	EXPECT_EQ(80, pit__count(pit, 0)); /* counts by two */
	self->now += ticks(40);		   /* half period: OUT goes low */
	EXPECT_FALSE(pit__output(pit, 0));
	EXPECT_EQ(100, pit__count(pit, 0));
	self->now += ticks(50);
	EXPECT_TRUE(pit__output(pit, 0));
}

TEST_F(pit, periodic_irq0_edges)
{
	struct pit *pit = &self->pit;
	uint64_t start = self->now;

	out(pit, 0x43, 0x34);
	out(pit, 0x40, 0x9c); /* 11932: ~100 Hz */
	out(pit, 0x40, 0x2e);
	EXPECT_EQ(start + ticks(11932), pit__next_event(pit));
	self->now = pit__next_event(pit);
	pit__update(pit);
	EXPECT_EQ(1, pit->irqs);
	/* The same edge is not raised twice. */
	pit__update(pit);
	EXPECT_EQ(1, pit->irqs);
	EXPECT_EQ(start + ticks(2 * 11932), pit__next_event(pit));
	/* Missed edges merge into one. */
	self->now += ticks(5 * 11932);
	pit__update(pit);
	EXPECT_EQ(2, pit->irqs);
}

TEST_F(pit, counter_latch)
{
	struct pit *pit = &self->pit;

	out(pit, 0x43, 0x34);
	out(pit, 0x40, 0x00);
	out(pit, 0x40, 0x10); /* 4096 */
	self->now += ticks(96);
	out(pit, 0x43, 0x00); /* latch channel 0 */
	self->now += ticks(1000);
	EXPECT_EQ(4000, read_word(pit, 0x40));
	/* The latch is gone: live value again. */
	EXPECT_EQ(3000, read_word(pit, 0x40));
	/* A second latch command before reading keeps the first. */
	out(pit, 0x43, 0x00);
	self->now += ticks(5);
	out(pit, 0x43, 0x00);
	EXPECT_EQ(3000, read_word(pit, 0x40));
}

TEST_F(pit, lobyte_and_hibyte_access)
{
	struct pit *pit = &self->pit;

	out(pit, 0x43, 0x54); /* channel 1, LSB only, mode 2 */
	out(pit, 0x41, 0x12); /* 18: the DRAM refresh setting */
	EXPECT_EQ(18, pit__count(pit, 1));
	EXPECT_EQ(18, in(pit, 0x41));
	EXPECT_EQ(18, in(pit, 0x41));
	out(pit, 0x43, 0x64); /* channel 1, MSB only, mode 2 */
	out(pit, 0x41, 0x02);
	EXPECT_EQ(0x200, pit__count(pit, 1));
	EXPECT_EQ(0x02, in(pit, 0x41));
}

TEST_F(pit, read_back_status_and_count)
{
	struct pit *pit = &self->pit;

	out(pit, 0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
	/* Status before the count: null count set, OUT low. */
	out(pit, 0x43, 0xe8); /* read-back status of channel 2 */
	EXPECT_EQ(0x70, in(pit, 0x42));
	out(pit, 0x61, 0x01); /* gate 2 high */
	out(pit, 0x42, 0x00);
	out(pit, 0x42, 0x02); /* 512 */
	self->now += ticks(12);
	out(pit, 0x43, 0xc8); /* read-back count and status, ch 2 */
	self->now += ticks(100);
	EXPECT_EQ(0x30, in(pit, 0x42)); /* status first: OUT low, loaded */
	EXPECT_EQ(500, read_word(pit, 0x42));
	self->now += ticks(500);
	out(pit, 0x43, 0xe8);
	EXPECT_EQ(0xb0, in(pit, 0x42)); /* OUT high now */
}

TEST_F(pit, channel2_gate_and_port61)
{
	struct pit *pit = &self->pit;

	/* Linux's TSC calibration: gate on, speaker off, mode 0. */
	out(pit, 0x61, 0x01);
	out(pit, 0x43, 0xb0);
	out(pit, 0x42, 0xff);
	out(pit, 0x42, 0xff);
	EXPECT_EQ(0x00, in(pit, 0x61) & 0x20);
	EXPECT_EQ(0x01, in(pit, 0x61) & 0x03);
	self->now += ticks(0xffff);
	EXPECT_EQ(0x20, in(pit, 0x61) & 0x20);

	/* Gate low stops mode 0 counting; high resumes. */
	out(pit, 0x43, 0xb0);
	out(pit, 0x42, 0x00);
	out(pit, 0x42, 0x10);
	self->now += ticks(0x100);
	out(pit, 0x61, 0x00);
	self->now += ticks(0x500);
	EXPECT_EQ(0xf00, pit__count(pit, 2));
	out(pit, 0x61, 0x01);
	self->now += ticks(0x100);
	EXPECT_EQ(0xe00, pit__count(pit, 2));
}

static void count_call(void *opaque)
{
	(*(int *)opaque)++;
}

TEST_F(pit, reprogram_notifies)
{
	struct pit *pit = &self->pit;
	int calls = 0;

	pit->changed = count_call;
	pit->changed_opaque = &calls;
	out(pit, 0x43, 0x34);
	EXPECT_EQ(1, calls);
	EXPECT_EQ(0, pit__next_event(pit)); /* no count yet */
	out(pit, 0x40, 0x10);
	EXPECT_EQ(0, pit__next_event(pit)); /* half a count */
	out(pit, 0x40, 0x00);
	EXPECT_EQ(2, calls);
	EXPECT_EQ(self->now + ticks(16), pit__next_event(pit));
	/* Channel 2 is not the timer's business. */
	out(pit, 0x43, 0xb0);
	EXPECT_EQ(2, calls);
}

TEST_HARNESS_MAIN
