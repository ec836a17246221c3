/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the monitor's C files.  The monitor is freestanding
 * (no libc, no kernel headers): gcc's <stdint.h> and <stddef.h> are the only
 * outside headers it may use.
 */
#ifndef BT86_MONITOR_H
#define BT86_MONITOR_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#define __packed     __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))

/* The crosspage data block the module shares with the monitor. */
#include "../kmod/xdata.h"

long monitor_entry(struct bt86_xdata *x);

#endif /* BT86_MONITOR_H */
