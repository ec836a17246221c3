// SPDX-License-Identifier: GPL-2.0
/*
 * The RTC/CMOS with a fixed wall clock: BCD and binary, 12-hour mode,
 * setting the time, the memory-size bytes, NVRAM, the NMI bit.
 */
#include "kselftest_harness.h"
#include "rtc.h"

/* 2024-02-29 13:45:07 UTC, a Thursday. */
#define T0 1709214307ULL

static uint64_t fake_clock(void *opaque)
{
	return *(uint64_t *)opaque;
}

static uint8_t cmos(struct rtc *rtc, uint8_t index)
{
	uint32_t v = index;

	rtc__io(rtc, 0x70, 1, true, &v);
	rtc__io(rtc, 0x71, 1, false, &v);
	return v;
}

static void cmos_write(struct rtc *rtc, uint8_t index, uint8_t val)
{
	uint32_t v = index;

	rtc__io(rtc, 0x70, 1, true, &v);
	v = val;
	rtc__io(rtc, 0x71, 1, true, &v);
}

FIXTURE(rtc)
{
	struct rtc rtc;
	uint64_t now;
};

FIXTURE_SETUP(rtc)
{
	self->now = T0 * 1000000000ULL + 1000;
	rtc__init(&self->rtc, 64ULL << 20, fake_clock, &self->now);
}

FIXTURE_TEARDOWN(rtc)
{
}

TEST_F(rtc, bcd_time_and_date)
{
	struct rtc *rtc = &self->rtc;

	EXPECT_EQ(0x07, cmos(rtc, 0x00));
	EXPECT_EQ(0x45, cmos(rtc, 0x02));
	EXPECT_EQ(0x13, cmos(rtc, 0x04));
	EXPECT_EQ(0x05, cmos(rtc, 0x06)); /* Thursday: 5 */
	EXPECT_EQ(0x29, cmos(rtc, 0x07));
	EXPECT_EQ(0x02, cmos(rtc, 0x08));
	EXPECT_EQ(0x24, cmos(rtc, 0x09));
	EXPECT_EQ(0x20, cmos(rtc, 0x32));
	EXPECT_EQ(0x80, cmos(rtc, 0x0d)); /* valid RAM and time */
	self->now += 60ULL * 1000000000ULL;
	EXPECT_EQ(0x46, cmos(rtc, 0x02));
}

TEST_F(rtc, binary_mode)
{
	struct rtc *rtc = &self->rtc;

	cmos_write(rtc, 0x0b, 0x06); /* binary, 24h */
	EXPECT_EQ(7, cmos(rtc, 0x00));
	EXPECT_EQ(45, cmos(rtc, 0x02));
	EXPECT_EQ(13, cmos(rtc, 0x04));
	EXPECT_EQ(29, cmos(rtc, 0x07));
	EXPECT_EQ(24, cmos(rtc, 0x09));
	EXPECT_EQ(20, cmos(rtc, 0x32));
	EXPECT_EQ(0x06, cmos(rtc, 0x0b));
}

TEST_F(rtc, twelve_hour_mode)
{
	struct rtc *rtc = &self->rtc;

	cmos_write(rtc, 0x0b, 0x00);		   /* BCD, 12h */
	EXPECT_EQ(0x81, cmos(rtc, 0x04));	   /* 1 PM */
	self->now -= 13ULL * 3600 * 1000000000ULL; /* 00:45 */
	EXPECT_EQ(0x12, cmos(rtc, 0x04));	   /* 12 AM */
	self->now += 12ULL * 3600 * 1000000000ULL; /* 12:45 */
	EXPECT_EQ(0x92, cmos(rtc, 0x04));	   /* 12 PM */
	cmos_write(rtc, 0x0b, 0x04);		   /* binary, 12h */
	EXPECT_EQ(0x8c, cmos(rtc, 0x04));
}

TEST_F(rtc, guest_sets_the_time)
{
	struct rtc *rtc = &self->rtc;

	cmos_write(rtc, 0x0b, 0x82); /* SET, BCD, 24h */
	cmos_write(rtc, 0x04, 0x08); /* 08 h */
	cmos_write(rtc, 0x09, 0x99); /* year 99 */
	cmos_write(rtc, 0x32, 0x19); /* century 19 */
	cmos_write(rtc, 0x0b, 0x02);
	EXPECT_EQ(0x08, cmos(rtc, 0x04));
	EXPECT_EQ(0x45, cmos(rtc, 0x02));
	EXPECT_EQ(0x99, cmos(rtc, 0x09));
	EXPECT_EQ(0x19, cmos(rtc, 0x32));
	/* And it keeps running. */
	self->now += 3600ULL * 1000000000ULL;
	EXPECT_EQ(0x09, cmos(rtc, 0x04));
}

TEST_F(rtc, memory_size_bytes)
{
	struct rtc *rtc = &self->rtc;
	uint64_t ext = (64 << 10) - 1024; /* KiB above 1 MiB */
	uint64_t high = (64 - 16) * 16;	  /* 64 KiB units above 16 MiB */

	EXPECT_EQ(640 & 0xff, cmos(rtc, 0x15));
	EXPECT_EQ(640 >> 8, cmos(rtc, 0x16));
	EXPECT_EQ(ext & 0xff, cmos(rtc, 0x17));
	EXPECT_EQ(ext >> 8, cmos(rtc, 0x18));
	EXPECT_EQ(ext & 0xff, cmos(rtc, 0x30));
	EXPECT_EQ(ext >> 8, cmos(rtc, 0x31));
	EXPECT_EQ(high & 0xff, cmos(rtc, 0x34));
	EXPECT_EQ(high >> 8, cmos(rtc, 0x35));

	/* Large memory saturates the 16-bit KiB count. */
	rtc__init(rtc, 3ULL << 30, fake_clock, &self->now);
	EXPECT_EQ(0xff, cmos(rtc, 0x17));
	EXPECT_EQ(0xff, cmos(rtc, 0x18));
	high = ((3ULL << 30) - (16 << 20)) >> 16;
	EXPECT_EQ(high & 0xff, cmos(rtc, 0x34));
	EXPECT_EQ(high >> 8, cmos(rtc, 0x35));
}

TEST_F(rtc, nvram_and_nmi_bit)
{
	struct rtc *rtc = &self->rtc;

	cmos_write(rtc, 0x40, 0xa5);
	cmos_write(rtc, 0x7f, 0x5a);
	EXPECT_EQ(0xa5, cmos(rtc, 0x40));
	EXPECT_EQ(0x5a, cmos(rtc, 0x7f));
	/* Bit 7 of the index masks NMI and does not select a register. */
	EXPECT_EQ(0xa5, cmos(rtc, 0xc0));
	EXPECT_TRUE(rtc->nmi_disabled);
	EXPECT_EQ(0x5a, cmos(rtc, 0xff));
	/* Register D is read-only, C clears on read. */
	cmos_write(rtc, 0x0d, 0x00);
	EXPECT_EQ(0x80, cmos(rtc, 0x0d));
	EXPECT_EQ(0x00, cmos(rtc, 0x0c));
}

TEST_F(rtc, update_in_progress)
{
	struct rtc *rtc = &self->rtc;

	EXPECT_EQ(0x26, cmos(rtc, 0x0a));
	self->now = T0 * 1000000000ULL + 999900000ULL;
	EXPECT_EQ(0xa6, cmos(rtc, 0x0a));
}

TEST_HARNESS_MAIN
