// SPDX-License-Identifier: GPL-2.0
/*
 * The RTC/CMOS (Motorola MC146818A datasheet; the PC's CMOS layout).
 *
 *   0x00-0x09  seconds, alarm s, minutes, alarm m, hours, alarm h,
 *              day of week, day of month, month, year
 *   0x0a-0x0d  registers A (UIP, divider, rate), B (SET, DM, 24/12),
 *              C (interrupt flags), D (VRT)
 *   0x10-0x2d  configuration, checksummed in 0x2e-0x2f
 *   0x15-0x16  base memory in KiB        0x17-0x18  memory above 1 MiB, KiB
 *   0x30-0x31  same as 0x17-0x18         0x32       century
 *   0x34-0x35  memory above 16 MiB in 64 KiB units
 *
 * Time registers are computed on every read: from the clock, the guest's
 * offset, and register B's binary/BCD and 12/24-hour bits.
 */
#include <string.h>

#include "ioport.h"
#include "rtc.h"
#include "util.h"

#define RTC_INDEX 0x70
#define RTC_DATA  0x71

#define REG_SEC	    0x00
#define REG_MIN	    0x02
#define REG_HOUR    0x04
#define REG_WDAY    0x06
#define REG_MDAY    0x07
#define REG_MON	    0x08
#define REG_YEAR    0x09
#define REG_A	    0x0a
#define REG_B	    0x0b
#define REG_C	    0x0c
#define REG_D	    0x0d
#define REG_CENTURY 0x32

#define A_UIP	    0x80
#define B_SET	    0x80
#define B_DM_BINARY 0x04
#define B_24H	    0x02
#define D_VRT	    0x80
#define HOUR_PM	    0x80

static uint64_t rtc__now_ns(struct rtc *rtc)
{
	struct timespec ts;

	if (rtc->clock)
		return rtc->clock(rtc->clock_opaque);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static time_t rtc__guest_time(struct rtc *rtc)
{
	return (time_t)(rtc__now_ns(rtc) / 1000000000ULL) + rtc->offset;
}

static uint8_t to_bcd(int v)
{
	return (v / 10) << 4 | (v % 10);
}

static int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* A value in the format register B selects. */
static uint8_t rtc__encode(struct rtc *rtc, int v)
{
	return (rtc->cmos[REG_B] & B_DM_BINARY) ? v : to_bcd(v);
}

static int rtc__decode(struct rtc *rtc, uint8_t v)
{
	return (rtc->cmos[REG_B] & B_DM_BINARY) ? v : from_bcd(v);
}

static uint8_t rtc__encode_hour(struct rtc *rtc, int hour)
{
	int h12;

	if (rtc->cmos[REG_B] & B_24H)
		return rtc__encode(rtc, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return rtc__encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int rtc__decode_hour(struct rtc *rtc, uint8_t v)
{
	int h;

	if (rtc->cmos[REG_B] & B_24H)
		return rtc__decode(rtc, v);
	h = rtc__decode(rtc, v & ~HOUR_PM) % 12;
	return (v & HOUR_PM) ? h + 12 : h;
}

static uint8_t rtc__read_time(struct rtc *rtc, int reg)
{
	time_t t = rtc__guest_time(rtc);
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (reg) {
	case REG_SEC:
		return rtc__encode(rtc, tm.tm_sec);
	case REG_MIN:
		return rtc__encode(rtc, tm.tm_min);
	case REG_HOUR:
		return rtc__encode_hour(rtc, tm.tm_hour);
	case REG_WDAY:
		return rtc__encode(rtc, tm.tm_wday + 1);
	case REG_MDAY:
		return rtc__encode(rtc, tm.tm_mday);
	case REG_MON:
		return rtc__encode(rtc, tm.tm_mon + 1);
	case REG_YEAR:
		return rtc__encode(rtc, tm.tm_year % 100);
	default: /* REG_CENTURY */
		return rtc__encode(rtc, (tm.tm_year + 1900) / 100);
	}
}

/* The guest sets the clock: keep the difference to the host's. */
static void rtc__write_time(struct rtc *rtc, int reg, uint8_t val)
{
	time_t now = (time_t)(rtc__now_ns(rtc) / 1000000000ULL);
	time_t t = now + rtc->offset;
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (reg) {
	case REG_SEC:
		tm.tm_sec = rtc__decode(rtc, val);
		break;
	case REG_MIN:
		tm.tm_min = rtc__decode(rtc, val);
		break;
	case REG_HOUR:
		tm.tm_hour = rtc__decode_hour(rtc, val);
		break;
	case REG_MDAY:
		tm.tm_mday = rtc__decode(rtc, val);
		break;
	case REG_MON:
		tm.tm_mon = rtc__decode(rtc, val) - 1;
		break;
	case REG_YEAR:
		tm.tm_year = tm.tm_year / 100 * 100 + rtc__decode(rtc, val);
		break;
	case REG_CENTURY:
		tm.tm_year =
			(rtc__decode(rtc, val) - 19) * 100 + tm.tm_year % 100;
		break;
	default: /* day of week follows from the date */
		return;
	}
	rtc->offset = (int64_t)timegm(&tm) - now;
}

static bool rtc__is_time(int reg)
{
	return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR ||
	       (reg >= REG_WDAY && reg <= REG_YEAR) || reg == REG_CENTURY;
}

static uint8_t rtc__read(struct rtc *rtc, int reg)
{
	uint64_t ns;

	if (rtc__is_time(reg))
		return rtc__read_time(rtc, reg);
	switch (reg) {
	case REG_A:
		/* Update in progress during the last 244 us of a second. */
		ns = rtc__now_ns(rtc) % 1000000000ULL;
		return (rtc->cmos[REG_A] & ~A_UIP) |
		       (ns >= 1000000000ULL - 244000 ? A_UIP : 0);
	case REG_C: {
		uint8_t val = rtc->cmos[REG_C];

		rtc->cmos[REG_C] = 0;
		return val;
	}
	case REG_D:
		return D_VRT;
	default:
		return rtc->cmos[reg];
	}
}

static void rtc__write(struct rtc *rtc, int reg, uint8_t val)
{
	if (rtc__is_time(reg)) {
		rtc__write_time(rtc, reg, val);
		return;
	}
	switch (reg) {
	case REG_A:
		rtc->cmos[REG_A] = val & ~A_UIP;
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		rtc->cmos[reg] = val;
		break;
	}
}

void rtc__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data)
{
	struct rtc *rtc = dev;

	if (port == RTC_INDEX) {
		if (is_write) {
			rtc->index = *data & 0x7f;
			rtc->nmi_disabled = *data & 0x80;
		} else {
			*data = 0xff; /* the index port is write-only */
		}
	} else if (is_write) {
		rtc__write(rtc, rtc->index, *data);
	} else {
		*data = rtc__read(rtc, rtc->index);
	}
}

/* The PC memory-size bytes, and the configuration checksum. */
static void rtc__set_memory(struct rtc *rtc, uint64_t ram_size)
{
	uint64_t ext_kib = ram_size > MiB ? (ram_size - MiB) / KiB : 0;
	uint64_t high_64k =
		ram_size > 16 * MiB ? (ram_size - 16 * MiB) / (64 * KiB) : 0;
	unsigned int sum = 0;
	int i;

	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	if (high_64k > 0xffff)
		high_64k = 0xffff;
	rtc->cmos[0x15] = 640 & 0xff;
	rtc->cmos[0x16] = 640 >> 8;
	rtc->cmos[0x17] = rtc->cmos[0x30] = ext_kib & 0xff;
	rtc->cmos[0x18] = rtc->cmos[0x31] = ext_kib >> 8;
	rtc->cmos[0x34] = high_64k & 0xff;
	rtc->cmos[0x35] = high_64k >> 8;
	for (i = 0x10; i <= 0x2d; i++)
		sum += rtc->cmos[i];
	rtc->cmos[0x2e] = sum >> 8;
	rtc->cmos[0x2f] = sum & 0xff;
}

void rtc__init(struct rtc *rtc, uint64_t ram_size,
	       uint64_t (*clock)(void *opaque), void *clock_opaque)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->clock = clock;
	rtc->clock_opaque = clock_opaque;
	rtc->cmos[REG_A] = 0x26;  /* 32768 Hz, 1024 Hz rate */
	rtc->cmos[REG_B] = B_24H; /* BCD, 24-hour */
	rtc->cmos[0x14] = 0x02;	  /* equipment: FPU, VGA */
	rtc__set_memory(rtc, ram_size);
}

int rtc__register(struct rtc *rtc, struct ioport_bus *bus)
{
	return ioport__register(bus, RTC_INDEX, 2, rtc__io, rtc, "rtc");
}
