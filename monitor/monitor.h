/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the monitor's C files.  The monitor is freestanding
 * (no libc, no kernel headers): gcc's <stdint.h> and <stddef.h>, and the
 * stand-ins in monitor/include/linux/ for the shared uapi header, are the
 * only outside headers it may use.
 *
 * The files (docs/vcpu.md tells the story):
 *   main.c       monitor_entry(): every entry from the host and every trap
 *   vcpu.c       the guest's architectural state in and out of the hardware
 *                frame, and the shadow GDT and LDT
 *   desc_shadow.c  the shadow tables kept exact as the guest writes its
 *                own (traced pages, shadow/trace.c), and LDTR
 *   desc_lazy.c  the GDT untraced while a write flood misses it (BT mode)
 *   segment.c    guest descriptors: fetching, checking, loading segments
 *   deliver.c    exceptions and interrupts through the guest's IDT, and
 *                double and triple faults
 *   iret.c       IRET and far RET back from them
 *   task.c       task switches and LTR (long mode has none: emulated)
 *   transfer.c   far JMP/CALL through call gates, SYSENTER/SYSEXIT
 *   trap.c       what a trap from guest code becomes
 *   emulate.c    the #GP path: decoding and the instruction table
 *   emulate_io.c port I/O and MMIO
 *   emulate_sys.c control/debug registers, MSRs, descriptor-table loads
 *   truncate.c   guest segments truncated below the translator's window
 *   window.c     where that window sits, and moving it
 *   fpu.c        the guest's x87/SSE state, switched lazily
 *   guestmem.c   reads and writes of guest memory, through the guest's
 *                paging when it is on (shadow/ holds shadow paging)
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
#define EFLAGS_TF   (1u << 8)
#define EFLAGS_IF   (1u << 9)
#define EFLAGS_DF   (1u << 10)
#define EFLAGS_IOPL (3u << 12)
#define EFLAGS_NT   (1u << 14)
#define EFLAGS_RF   (1u << 16)
#define EFLAGS_VM   (1u << 17)
#define EFLAGS_AC   (1u << 18)
#define EFLAGS_VIF  (1u << 19)
#define EFLAGS_VIP  (1u << 20)
#define EFLAGS_ID   (1u << 21)
#define IOPL_SHIFT  12
/* Bits 3, 5, 15 and 22-31 read as 0, bit 1 as 1 (SDM 1, §3.4.3) */
#define EFLAGS_RESERVED 0xffc08028u

/* CR0 bits (SDM 3A, §2.5) */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_PG (1u << 31)

/* Exception vectors (SDM 3A, table 6-1) */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_OF 4
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14

/*
 * A fault the guest must take, or 0: what the emulation helpers return.
 * FAULT(v, e) carries vector and error code; fault_vector()/fault_error()
 * take them apart.
 */
typedef u64 fault_t;
#define FAULT(v, e)	(((u64)1 << 63) | ((u64)(v) << 32) | (u32)(e))
#define FAULT_GP0	FAULT(VEC_GP, 0)
#define fault_vector(f) ((u32)((f) >> 32) & 0xff)
#define fault_error(f)	((u32)(f))

/* What an event delivered through the guest's IDT is (SDM 3A, §6.4). */
enum event_kind {
	EVENT_EXCEPTION, /* a fault or trap the CPU raised */
	EVENT_SOFTWARE,	 /* INT n, INT3, INTO: the gate's DPL is checked */
	EVENT_EXTERNAL,	 /* a device interrupt: EXT set in error codes */
};

/* main.c */
long monitor_entry(struct bt86_xdata *x);
long exit_to_host(struct bt86_xdata *x, u32 reason);
long exit_unsupported(struct bt86_xdata *x, u32 what, u64 detail);

/* vcpu.c */
void vcpu_load(struct bt86_xdata *x);
void vcpu_sync_from_hw(struct bt86_xdata *x);
void vcpu_sync_to_hw(struct bt86_xdata *x);
void vcpu_reload_gdt(struct bt86_xdata *x);
void vcpu_reload_ldt(struct bt86_xdata *x);
void vcpu_reshadow(struct bt86_xdata *x);
bool vcpu_resync_slot(struct bt86_xdata *x, u16 sel);
bool vcpu_first_load(struct bt86_xdata *x, u16 sel);
unsigned int vcpu_cpl(const struct bt86_xdata *x);
u32 *vcpu_gpr32(struct bt86_xdata *x, unsigned int index);
void vcpu_set_eflags(struct bt86_xdata *x, u32 value, u32 mask);

/* segment.c: descriptors as 64-bit values, as they sit in a table */
#define DESC_TYPE(d)	   ((unsigned int)((d) >> 40) & 0xf)
#define DESC_S(d)	   ((unsigned int)((d) >> 44) & 1)
#define DESC_DPL(d)	   ((unsigned int)((d) >> 45) & 3)
#define DESC_P(d)	   ((unsigned int)((d) >> 47) & 1)
#define DESC_CODE(d)	   (DESC_S(d) && (DESC_TYPE(d) & 8))
#define DESC_CONFORMING(d) (DESC_CODE(d) && (DESC_TYPE(d) & 4))
#define SYS_TSS16_AVAIL	   1
#define SYS_LDT		   2
#define SYS_TSS16_BUSY	   3
#define SYS_CALL16	   4
#define SYS_TASK_GATE	   5
#define SYS_INT16	   6
#define SYS_TRAP16	   7
#define SYS_TSS32_AVAIL	   9
#define SYS_TSS32_BUSY	   11
#define SYS_CALL32	   12
#define SYS_INT32	   14
#define SYS_TRAP32	   15

enum sreg {
	SR_ES,
	SR_CS,
	SR_SS,
	SR_DS,
	SR_FS,
	SR_GS
};

fault_t desc_fetch(struct bt86_xdata *x, u16 sel, u64 *d);
void desc_set_accessed(struct bt86_xdata *x, u16 sel);
int desc_write_type(struct bt86_xdata *x, u16 sel, unsigned int type);
u32 desc_base(u64 d);
u32 desc_limit(u64 d);
void segment_from_desc(struct bt86_segment *s, u16 sel, u64 d);
struct bt86_segment *sreg_of(struct bt86_xdata *x, enum sreg r);
fault_t segment_load_data(struct bt86_xdata *x, enum sreg r, u16 sel,
			  unsigned int cpl, u32 vector);
fault_t segment_load_ss(struct bt86_xdata *x, u16 sel, unsigned int cpl,
			u32 vector, struct bt86_segment *out);
fault_t segment_check_code(struct bt86_xdata *x, u16 sel, u64 *d, u32 vector);
bool segment_offset_ok(const struct bt86_segment *s, u32 off, u32 len);
void segment_null_outer(struct bt86_xdata *x, unsigned int cpl);

/* desc_shadow.c */
void desc_tables_changed(struct bt86_xdata *x);
void desc_remapped(struct bt86_xdata *x);
void desc_invlpg(struct bt86_xdata *x, u32 lin);
void desc_written(struct bt86_xdata *x, u64 gpa, u32 len);
void desc_load_ldtr(struct bt86_xdata *x);
bool desc_gdt_only_frame(struct bt86_xdata *x, u32 gfn);
void desc_trace_gdt(struct bt86_xdata *x, bool on);

/* desc_lazy.c */
void desc_lazy_note(struct bt86_xdata *x, u32 gfn, bool hit);
bool desc_lazy_sync(struct bt86_xdata *x);
void desc_lazy_leave(struct bt86_xdata *x);
void desc_lazy_update(struct bt86_xdata *x);

/* deliver.c */
long deliver_event(struct bt86_xdata *x, u32 vector, enum event_kind kind,
		   bool has_error, u32 error);
long deliver_software_int(struct bt86_xdata *x, u32 vector, u32 insn_len);
long raise_fault(struct bt86_xdata *x, fault_t f);
long deliver_pending_irq(struct bt86_xdata *x);
fault_t stack_push(struct bt86_xdata *x, const struct bt86_segment *ss,
		   u32 *esp, u32 value, unsigned int size, fault_t on_fault);
fault_t stack_pop(struct bt86_xdata *x, u32 *esp, u32 *value,
		  unsigned int size);
fault_t tss_stack(struct bt86_xdata *x, unsigned int cpl, u16 *ss, u32 *esp,
		  u32 ext);

/* iret.c */
long emulate_iret(struct bt86_xdata *x, unsigned int opsize, u32 next_eip);
long emulate_retf(struct bt86_xdata *x, unsigned int opsize, u16 imm);

/* task.c */
enum task_reason {
	TASK_JMP,
	TASK_CALL,
	TASK_INT,
	TASK_IRET
};
fault_t task_switch(struct bt86_xdata *x, u16 sel, u64 desc,
		    enum task_reason why, u32 next_eip);
fault_t emulate_ltr(struct bt86_xdata *x, u16 sel);

/* transfer.c */
long far_transfer(struct bt86_xdata *x, u16 sel, u32 off, bool call,
		  unsigned int opsize, u32 next_eip);
long emulate_sysenter(struct bt86_xdata *x);
long emulate_sysexit(struct bt86_xdata *x);

/* emulate_sys.c */
int emulate_stac_clac(struct bt86_xdata *x);

/* trap.c */
long trap_from_guest(struct bt86_xdata *x);

/* emulate.c */
long emulate_gp(struct bt86_xdata *x);
void emulate_complete(struct bt86_xdata *x);
void count_emulated(struct bt86_xdata *x, unsigned int what);

/* truncate.c: guest segments cut below the translator's window */
u32 window_floor(const struct bt86_xdata *x);
u64 truncate_desc(const struct bt86_xdata *x, u64 d);
void truncate_fill_limits(struct bt86_xdata *x, u32 *out);
void truncate_window_moved(struct bt86_xdata *x);
void truncate_after_trap(struct bt86_xdata *x);
void truncate_before_entry(struct bt86_xdata *x);
long truncate_stack_fault(struct bt86_xdata *x);
long truncate_check_failed(struct bt86_xdata *x);

/* window.c: where the translator's window sits */
u64 window_gs_desc(u32 base);
long window_place(struct bt86_xdata *x);

/* fpu.c */
void fpu_activate(struct bt86_xdata *x);
void fpu_deactivate(struct bt86_xdata *x);

/* guestmem.c: guest-linear memory (SH_ACC_* in shadow/walk.h) */
bool guest_gfn_ram(const struct bt86_xdata *x, u64 gfn);
unsigned int guest_acc(const struct bt86_xdata *x);
fault_t guest_load(struct bt86_xdata *x, u32 lin, void *dst, u32 len,
		   unsigned int acc);
fault_t guest_store(struct bt86_xdata *x, u32 lin, const void *src, u32 len,
		    unsigned int acc);
fault_t guest_check(struct bt86_xdata *x, u32 lin, u32 len, unsigned int acc);
bool guest_range_ok(struct bt86_xdata *x, u32 addr, u32 len);
int guest_read(struct bt86_xdata *x, u32 addr, void *dst, u32 len);
int guest_write(struct bt86_xdata *x, u32 addr, const void *src, u32 len);
u32 guest_fetch(struct bt86_xdata *x, u32 lin, void *dst, u32 len);
int guest_lin_to_phys(struct bt86_xdata *x, u32 lin, unsigned int acc, u64 *gpa,
		      bool *global);
void *mon_memcpy(void *dst, const void *src, size_t n);
void *mon_memset(void *dst, int c, size_t n);

/*
 * After the monitor's own single step: DR6 is the host's too, and the CPU
 * never clears it (SDM 3A §18.2.3), so it goes back to its quiet value.
 */
#define DR6_BS (1u << 14) /* single step (SDM 3A, §18.2.3) */

static inline u64 dr6_read(void)
{
	u64 v;

	asm volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline void dr6_reset(void)
{
	asm volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ULL));
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#endif /* BT86_MONITOR_H */
