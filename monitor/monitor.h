/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the monitor's C files.  The monitor is freestanding
 * (no libc, no kernel headers): gcc's <stdint.h> and <stddef.h>, and the
 * stand-ins in monitor/include/linux/ for the shared uapi header, are the
 * only outside headers it may use.
 *
 * The files:
 *   main.c      monitor_entry(): every entry from the host and every trap
 *   vcpu.c      the guest's architectural state in and out of the hardware
 *               frame, and the shadow GDT
 *   guestmem.c  reads and writes of guest memory, bounds-checked
 *   emulate.c   the instructions trap-and-emulate handles (tae)
 */
#ifndef BT86_MONITOR_H
#define BT86_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#define __packed     __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))

/* The crosspage data block the module shares with the monitor. */
#include "xdata.h"

/* EFLAGS bits (SDM 1, §3.4.3) */
#define EFLAGS_CF   (1u << 0)
#define EFLAGS_IF   (1u << 9)
#define EFLAGS_DF   (1u << 10)
#define EFLAGS_IOPL (3u << 12)
#define EFLAGS_NT   (1u << 14)
#define EFLAGS_RF   (1u << 16)
#define EFLAGS_VM   (1u << 17)

/* main.c */
long monitor_entry(struct bt86_xdata *x);

/* vcpu.c */
void vcpu_load(struct bt86_xdata *x);
void vcpu_save(struct bt86_xdata *x);
void vcpu_reload_gdt(struct bt86_xdata *x);
unsigned int vcpu_cpl(const struct bt86_xdata *x);
int vcpu_load_ss(struct bt86_xdata *x, u16 sel);
u32 *vcpu_gpr32(struct bt86_xdata *x, unsigned int index);

/* guestmem.c */
bool guest_range_ok(const struct bt86_xdata *x, u32 addr, u32 len);
int guest_read(const struct bt86_xdata *x, u32 addr, void *dst, u32 len);
int guest_write(const struct bt86_xdata *x, u32 addr, const void *src, u32 len);
void *mon_memcpy(void *dst, const void *src, size_t n);

/* emulate.c */
long emulate_trap(struct bt86_xdata *x);
void emulate_complete_io(struct bt86_xdata *x);

#endif /* BT86_MONITOR_H */
