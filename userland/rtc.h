/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MC146818 real-time clock and CMOS memory at 0x70 (index, bit 7 the
 * NMI mask) and 0x71 (data).  Time and date come from the host clock plus
 * an offset the guest may change by writing them; 128 bytes of NVRAM hold
 * the rest, with the PC's memory-size bytes derived from the guest RAM.
 * No RTC interrupt (IRQ 8) is generated yet.
 */
#ifndef BT86_RTC_H
#define BT86_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct ioport_bus;

struct rtc {
	uint8_t index;
	bool nmi_disabled;
	uint8_t cmos[128];
	int64_t offset; /* guest time - host time, seconds */
	/* Wall clock in nanoseconds since the epoch; NULL: the host's. */
	uint64_t (*clock)(void *opaque);
	void *clock_opaque;
};

void rtc__init(struct rtc *rtc, uint64_t ram_size,
	       uint64_t (*clock)(void *opaque), void *clock_opaque);
int rtc__register(struct rtc *rtc, struct ioport_bus *bus);

void rtc__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data);

#endif
