/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The crosspage data block: everything the world switch touches while the
 * CPU is between the host's and the monitor's address spaces.
 *
 * One block per vCPU, XDATA_SIZE bytes, naturally aligned, mapped at the
 * same virtual address in the host (its direct-map address) and in the
 * monitor's page tables.  Trap entry finds it from the stack pointer
 * (every monitor stack lives inside it): x = rsp & ~(XDATA_SIZE - 1).
 *
 *   0x0000  struct bt86_xdata (fields below), the monitor GDT and TSS
 *   0x1000  the monitor IDT (256 16-byte gates)
 *   0x2000  the main stack (TSS.RSP0, monitor C code), top at 0x4000
 *   0x4000  IST stack for #DF (IST1), top at 0x5000
 *   0x5000  IST stack for NMI (IST2), top at 0x6000
 *   0x6000  IST stack for #MC (IST4), top at 0x7000
 *   0x7000  unused
 *
 * The IST numbers match Linux's (DF 1, NMI 2, MCE 4): between the two LTRs
 * of a switch an NMI may be delivered through either TSS.
 *
 * This header is shared by C and assembly: offsets are plain numbers here,
 * and world.c checks each against the C struct with static_assert.
 */
#ifndef BT86_XDATA_H
#define BT86_XDATA_H

#define XDATA_ORDER	3
#define XDATA_SIZE	0x8000
#define XDATA_GDT	0x0c00 /* 32 descriptors */
#define XDATA_TSS	0x0d00 /* 104-byte 64-bit TSS */
#define XDATA_IDT	0x1000
#define XDATA_STACK_TOP 0x4000
#define XDATA_DF_STACK	0x5000
#define XDATA_NMI_STACK 0x6000
#define XDATA_MC_STACK	0x7000

/*
 * Monitor GDT selectors.  0x10/0x18 equal the host's kernel CS/DS on
 * purpose: an NMI taken between the two LGDTs of a switch returns to a
 * valid CS and SS whichever GDT is loaded.
 */
#define MON_CS		0x10
#define MON_DS		0x18
#define MON_TSS_SEL	0x40
#define GUEST_GDT_FIRST 16 /* shadow CS, SS, DS, ES, FS, GS */
#define MON_GDT_ENTRIES 32

/* struct bt86_xdata offsets */
#define XD_HOST_RSP	0x000
#define XD_HOST_CR0	0x008
#define XD_HOST_CR3	0x010
#define XD_HOST_CR4	0x018
#define XD_MON_CR0	0x020
#define XD_MON_CR3	0x028
#define XD_MON_CR4	0x030
#define XD_HOST_FS_BASE 0x038
#define XD_HOST_GS_BASE 0x040
#define XD_MON_TRAP	0x048 /* monitor C trap handler, 0 if none */
#define XD_HOST_GDT	0x050 /* 10-byte descriptor-table pointers */
#define XD_HOST_GDT_RW	0x060
#define XD_HOST_IDT	0x070
#define XD_MON_GDT	0x080
#define XD_MON_IDT	0x090
#define XD_HOST_TR	0x0a0 /* 16-bit selectors */
#define XD_HOST_LDT	0x0a2
#define XD_HOST_DS	0x0a4
#define XD_HOST_ES	0x0a6
#define XD_HOST_SS	0x0a8
#define XD_HOST_FS	0x0aa
#define XD_HOST_GS	0x0ac
#define XD_GUEST_DS	0x0b0
#define XD_GUEST_ES	0x0b2
#define XD_GUEST_FS	0x0b4
#define XD_GUEST_GS	0x0b6
#define XD_GPR		0x0b8 /* 15 registers, struct bt86_gprs order */
#define XD_VECTOR	0x130 /* the trap frame, as the CPU pushed it */
#define XD_ERROR	0x138
#define XD_RIP		0x140
#define XD_CS		0x148
#define XD_RFLAGS	0x150
#define XD_RSP		0x158
#define XD_SS		0x160
#define XD_EXIT		0x168 /* enum bt86_xexit */
#define XD_NMI_PENDING	0x16c
#define XD_MCE_PENDING	0x170
#define XD_FAULT_CR2	0x178
#define XD_TRAPS	0x180
#define XD_DEBUG_FAULT	0x188 /* tests: the monitor faults on purpose */

/* GPR slots inside XD_GPR */
#define GPR_RAX 0x00
#define GPR_RCX 0x08
#define GPR_RDX 0x10
#define GPR_RBX 0x18
#define GPR_RBP 0x20
#define GPR_RSI 0x28
#define GPR_RDI 0x30
#define GPR_R8	0x38
#define GPR_R9	0x40
#define GPR_R10 0x48
#define GPR_R11 0x50
#define GPR_R12 0x58
#define GPR_R13 0x60
#define GPR_R14 0x68
#define GPR_R15 0x70

/* Why the switch came back (XD_EXIT). */
#define XEXIT_GUEST_TRAP 1 /* a trap from guest code: see the frame */
#define XEXIT_MON_FAULT	 2 /* an exception inside the monitor or switch */

/* Vectors whose exceptions push an error code (SDM 3A, table 6-1). */
#define ERRCODE_VECTORS 0x60227d00 /* 8 10 11 12 13 14 17 21 29 30 */

#ifndef __ASSEMBLY__
#ifdef __KERNEL__
#include <linux/types.h>
#endif
/* The monitor defines u16, u32, u64, __packed and __aligned itself. */

struct bt86_desc_ptr {
	u16 limit;
	u64 base;
} __packed __aligned(16);

struct bt86_gprs {
	u64 rax, rcx, rdx, rbx, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

struct bt86_xdata {
	u64 host_rsp;
	u64 host_cr0, host_cr3, host_cr4;
	u64 mon_cr0, mon_cr3, mon_cr4;
	u64 host_fs_base, host_gs_base;
	u64 mon_trap;
	struct bt86_desc_ptr host_gdt, host_gdt_rw, host_idt, mon_gdt, mon_idt;
	u16 host_tr, host_ldt, host_ds, host_es, host_ss, host_fs, host_gs;
	u16 pad0;
	u16 guest_ds, guest_es, guest_fs, guest_gs;
	struct bt86_gprs gpr;
	u64 vector, error, rip, cs, rflags, rsp, ss;
	u32 exit;
	u32 nmi_pending;
	u32 mce_pending;
	u32 pad1;
	u64 fault_cr2;
	u64 traps;
	u32 debug_fault;
	u32 pad2;
};

#ifdef __KERNEL__
/* switch.S: the crosspage code */
void bt86_world_enter(struct bt86_xdata *x);
extern const char bt86_xpage_start[], bt86_trap_stubs[], bt86_xpage_end[];
/* forward.S: 256 stubs, 16 bytes apart; stub v executes "int $v" */
extern const char bt86_int_stubs[];
typedef void (*bt86_int_stub_t)(void);
#endif
#endif

#endif /* BT86_XDATA_H */
