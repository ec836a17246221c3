/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor is freestanding: this stands in for the kernel's
 * <linux/types.h> so that the shared uapi header (kmod/uapi/bt86.h) builds
 * here with the same layouts.
 */
#ifndef BT86_MONITOR_LINUX_TYPES_H
#define BT86_MONITOR_LINUX_TYPES_H

#include <stdint.h>

typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int32_t __s32;
typedef int64_t __s64;

#endif
