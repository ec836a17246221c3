/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The crosspage data block: everything the world switch touches while the
 * CPU is between the host's and the monitor's address spaces, and the
 * guest state the monitor owns while a vCPU runs.
 *
 * One block per vCPU, XDATA_SIZE bytes, naturally aligned, mapped at the
 * same virtual address in the host (its direct-map address) and in the
 * monitor's page tables.  Trap entry finds it from the stack pointer
 * (every monitor stack lives inside it): x = rsp & ~(XDATA_SIZE - 1).
 *
 *   0x0000  struct bt86_xdata (fields below), then the monitor TSS
 *   0x1000  the monitor IDT (256 16-byte gates)
 *   0x2000  the cross GDT: the host's GDT copied, plus the monitor's slots
 *   0x3000  the guest GDT: shadow of the guest's, plus the monitor's slots
 *   0x4000  the main stack (TSS.RSP0, monitor C code), top at 0x6000
 *   0x6000  IST stack for #DF (IST1), top at 0x7000
 *   0x7000  IST stack for NMI (IST2), top at 0x8000
 *   0x8000  IST stack for #MC (IST4), top at 0x9000
 *   0x9000  the monitor's own per-vCPU data (decoder buffers), to 0x10000;
 *           the guest's FXSAVE image at 0xa000, the CPUID model at 0xb000
 *  0x10000  the shadow LDT: 8192 descriptors, the guest's LDT whitelisted
 *           (monitor/desc_shadow.c), to 0x20000
 *
 * The IST numbers match Linux's (DF 1, NMI 2, MCE 4).  This header is
 * shared by the module's C and assembly and by the monitor: offsets are
 * plain numbers here, and world.c checks each against the struct.
 */
#ifndef BT86_XDATA_H
#define BT86_XDATA_H

#define XDATA_ORDER	 5
#define XDATA_SIZE	 0x20000
#define XDATA_TSS	 0x0f00 /* 104-byte 64-bit TSS */
#define XDATA_IDT	 0x1000
#define XDATA_CROSS_GDT	 0x2000
#define XDATA_GUEST_GDT	 0x3000
#define XDATA_STACK_TOP	 0x6000
#define XDATA_DF_STACK	 0x7000
#define XDATA_NMI_STACK	 0x8000
#define XDATA_MC_STACK	 0x9000
#define XDATA_MONITOR	 0x9000
#define XDATA_MONITOR_SZ 0x7000
#define XDATA_FPU	 0xa000	 /* 512-byte FXSAVE image, 16-byte aligned */
#define XDATA_CPUID	 0xb000	 /* struct bt86_xcpuid */
#define XDATA_SHADOW_LDT 0x10000 /* 64 KiB: every LDT selector's slot */

/*
 * GDT slots.  Both GDTs hold GDT_SLOTS descriptors; the monitor's own
 * selectors sit in the last slots of both, so they stay valid across the
 * switch between them.  The guest's descriptors keep their own indices in
 * the guest GDT (a guest selector means the same slot), so a guest GDT may
 * use slots 0 to GUEST_GDT_SLOTS - 1; the few slots before the monitor's
 * hold stale descriptors: segments the guest loaded before changing or
 * dropping their GDT entry (the CPU keeps the old descriptor, SDM 3A §3.4.3).
 */
#define GDT_SLOTS	 512
#define GUEST_GDT_SLOTS	 496
#define STALE_SLOT_FIRST 496 /* 6 slots: CS SS DS ES FS GS */
#define MON_CS		 (504 << 3)
#define MON_DS		 (505 << 3)
#define MON_TSS_SEL	 (506 << 3) /* 16 bytes: slots 506 and 507 */
#define HOST_GDT_COPY	 16 /* host GDT entries copied to the cross GDT */
/* BT mode: the code segment translated code runs in, and its %gs. */
/* The translator's call out, int $0x1f (bt/bt.h says why this vector). */
#define BT_CALLOUT_VECTOR 0x1f
#define BT_CS_SLOT	  502
#define BT_GS_SLOT	  503
#define BT_CS_SEL	  ((BT_CS_SLOT << 3) | 1)
#define BT_GS_SEL	  ((BT_GS_SLOT << 3) | 1)
/*
 * The shadow LDT's descriptor (16 bytes in IA-32e mode: slots 508 and 509,
 * DPL 0), in the guest GDT only: the monitor loads LDTR with it while a
 * guest LDT is in use (monitor/desc_shadow.c).
 */
#define SHADOW_LDT_SLOT	 508
#define SHADOW_LDT_SEL	 (SHADOW_LDT_SLOT << 3)
#define SHADOW_LDT_SLOTS 8192

/*
 * BT mode: each vCPU's window below 4 GiB (docs/translator.md).  vCPU n's
 * is the 4 MiB under BT_WINDOW_TOP - n * BT_WINDOW_SIZE: the per-vCPU
 * page (%gs) at its start, the translation cache at BT_TC_OFFSET.  The
 * monitor reaches both, and the metadata, through aliases above 4 GiB.
 */
#define BT_WINDOW_TOP	0x100000000ULL
#define BT_WINDOW_SIZE	0x400000
#define BT_WINDOW_PAGES 9 /* BT_VP_SIZE (bt/bt.h) */
#define BT_TC_OFFSET	0x10000
#define BT_TC_SIZE	0x200000
/*
 * The metadata: block descriptors and the map are about seven times the
 * TC they describe (docs/translator.md, "Flush when full"), so that the
 * TC, not the map, is what fills first.
 */
#define BT_META_SIZE 0x1000000

/*
 * Shadow paging's memory (docs/shadow-paging.md), per VM, in both modes:
 * a pool of zeroed pages the monitor carves into its own data and the
 * shadow page tables, sized from guest RAM by sh_pool_pages() below (the
 * module allocates that many, the monitor checks that its carving fits).
 * Monitor addresses, offsets from the monitor base:
 */
#define SH_PFNS_OFFSET (128ULL << 20) /* u64[pool_pages]: each page's frame */
#define SH_PDPT_OFFSET (136ULL << 20) /* the PDPT that maps the low 4 GiB */
#define SH_POOL_OFFSET (256ULL << 20) /* the pool, page i at + i * 4096 */
#define SH_PHYS_OFFSET (4ULL << 30)   /* guest RAM by guest-physical address */
#define SH_TABLES_MIN  512	      /* shadow table pages, at least ... */
#define SH_TABLES_MAX  8192	      /* ... and at most (32 MiB) */
#define SH_META_FIXED  64	      /* pages: state, hashes, contexts */
/* Bytes per guest frame: flags, reverse map. */
#define SH_META_GFN 8
/* Bytes per table page: its descriptor, reference blocks, leaves' frames. */
#define SH_META_TABLE 2624

#ifndef __ASSEMBLY__
/* Shadow table pages for @gfns guest frames: one per 16 frames, bounded. */
static inline unsigned long long sh_table_pages(unsigned long long gfns)
{
	unsigned long long n = gfns / 16;

	return n < SH_TABLES_MIN   ? SH_TABLES_MIN
	       : n > SH_TABLES_MAX ? SH_TABLES_MAX
				   : n;
}

static inline unsigned long long sh_pool_pages(unsigned long long gfns)
{
	unsigned long long t = sh_table_pages(gfns);

	return SH_META_FIXED +
	       (gfns * SH_META_GFN + t * SH_META_TABLE + 4095) / 4096 + t;
}
#endif

/* struct bt86_xdata offsets used by switch.S */
#define XD_HOST_RSP	0x000
#define XD_HOST_CR0	0x008
#define XD_HOST_CR3	0x010
#define XD_HOST_CR4	0x018
#define XD_MON_CR0	0x020
#define XD_MON_CR3	0x028
#define XD_MON_CR4	0x030
#define XD_HOST_FS_BASE 0x038
#define XD_HOST_GS_BASE 0x040
#define XD_MON_ENTRY	0x048 /* monitor_entry() in the monitor image */
#define XD_HOST_GDT	0x050 /* 10-byte descriptor-table pointers */
#define XD_HOST_IDT	0x060
#define XD_CROSS_GDTR	0x070
#define XD_GUEST_GDTR	0x080
#define XD_MON_IDTR	0x090
#define XD_HOST_TR	0x0a0 /* 16-bit selectors */
#define XD_HOST_LDT	0x0a2
#define XD_HOST_DS	0x0a4
#define XD_HOST_ES	0x0a6
#define XD_HOST_SS	0x0a8
#define XD_HOST_FS	0x0aa
#define XD_HOST_GS	0x0ac
#define XD_GUEST_DS	0x0b0 /* the hardware selectors the guest runs with */
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
#define XD_EXIT		0x168 /* XEXIT_* */
#define XD_NMI_PENDING	0x16c
#define XD_MCE_PENDING	0x170
#define XD_MON_CALL	0x174 /* XMON_*: why monitor_entry() is called */
#define XD_GUEST_CR2	0x178 /* CR2 at the last guest trap */
/* A monitor fault: vector, error, RIP, CS, RFLAGS, RSP, SS, CR2 (8 u64) */
#define XD_FAULT 0x180

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

/* XD_EXIT: why the switch came back to the host. */
#define XEXIT_GUEST	1 /* the monitor wants the host: see exit_reason */
#define XEXIT_MON_FAULT 2 /* an exception inside the monitor or switch */

/* XD_MON_CALL */
#define XMON_ENTER 1 /* from the host: load the guest state */
#define XMON_TRAP  2 /* a trap from guest code: see the frame */

/* Vectors whose exceptions push an error code (SDM 3A, table 6-1). */
#define ERRCODE_VECTORS 0x60227d00 /* 8 10 11 12 13 14 17 21 29 30 */

#ifndef __ASSEMBLY__
#ifdef __KERNEL__
#include <linux/types.h>
#endif
/* The monitor defines u16, u32, u64, __packed and __aligned itself. */
#include "uapi/bt86.h"

struct bt86_desc_ptr {
	u16 limit;
	u64 base;
} __packed __aligned(16);

struct bt86_gprs {
	u64 rax, rcx, rdx, rbx, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

/*
 * A pending port I/O exit, filled by the monitor.  For IN the module's
 * RUN returns, the launcher fills the data, and the monitor completes the
 * instruction at the next entry (io_pending).
 */
struct bt86_xio {
	u8 direction; /* BT86_EXIT_IO_IN / _OUT */
	u8 size;      /* 1, 2 or 4 */
	u16 port;
	u32 count; /* > 1 for string I/O */
};

/* No external interrupt waits (bt86_vcpu_ext.irq_vector). */
#define XIRQ_NONE 0xffffffffu

/* The virtual CPU's state beyond struct bt86_regs and bt86_sregs. */
struct bt86_vcpu_ext {
	u32 dr[8]; /* DR0-DR7 as the guest wrote them */
	u32 sysenter_cs, sysenter_esp, sysenter_eip;
	u32 irq_vector; /* in/out: XIRQ_NONE or a vector to deliver */
	u32 irq_window; /* in: exit once an interrupt can be taken */
	u32 shadow;	/* STI/MOV SS: interrupts held one insn */
	u32 step;	/* the monitor set TF to end the shadow */
	u32 pad;
	u64 pat;
	u64 unsupported[3]; /* BT86_INTERNAL_UNSUPPORTED data[] */
	/* The last traps, for the dump when the VM stops (main.c). */
	struct bt86_trap_record {
		u32 vector, error, eip, cs, esp, eflags;
	} trace[4];
	u32 trace_next;
	u32 ring3_view;	  /* the shadow GDT shows guest ring-3 code */
	u32 fpu_active;	  /* the guest's FPU state is in the FPU now */
	u32 fpu_saved;	  /* XDATA_FPU holds the guest's FPU state */
	u64 user_code[8]; /* shadow slots holding DPL 3 code, a bitmap */
};

/* A guest access to non-RAM guest-physical memory, for the launcher. */
struct bt86_xmmio {
	u64 phys;
	u8 data[8];
	u32 len;
	u8 is_write;
	u8 pending; /* a read waits for the launcher's data */
	u8 pad[2];
};

/* Counters the monitor keeps (the module adds them to its own). */
struct bt86_mon_stats {
	u64 emulated[32];   /* BT86_EMUL_* */
	u64 exceptions[32]; /* delivered to the guest, by vector */
	u64 software_interrupts, external_interrupts;
	u64 tsc_guest;	/* TSC cycles spent running guest code */
	u64 tsc_resume; /* TSC at the last return into guest code */
	struct bt86_bt_stats bt;
	struct bt86_shadow_stats shadow;
};

/*
 * BT mode.  The module fills the addresses; the rest is the monitor's
 * (monitor/bt_run.c).
 */
struct bt86_xbt {
	u64 window;	/* monitor VA of the per-vCPU page (RW alias) */
	u64 tc;		/* monitor VA of the translation cache (RW alias) */
	u64 meta;	/* monitor VA of the metadata (BT_META_SIZE bytes) */
	u64 gpt;	/* guest RAM's PTEs (both modes): gfn n's at gpt + 8n */
	u32 enabled;	/* guest ring 0 runs translated */
	u32 window_low; /* the per-vCPU page as guest code sees it */
	u32 tc_low;	/* the translation cache as guest code sees it */
	u32 ready;	/* the monitor set up its cache */
	/* where guest code stopped */
	u32 rip;      /* a TC address inside a rewritten sequence */
	u32 midseq;   /* the guest stopped at rip, not at a guest EIP */
	u32 stepping; /* single-stepping rip to the next guest EIP */
	u32 native;   /* run the next guest instruction natively */
	u32 enter;    /* resume at this TC address (0: run natively) */
	u32 kind;     /* the map entry of the last trap from the TC */
	u32 arg;
	u32 block;	/* its block, or BT_NO_BLOCK */
	u32 shadow;	/* it follows an STI: interrupts wait one insn */
	u32 resume_tc;	/* the TC address of the last trap's guest insn ... */
	u32 resume_eip; /* ... and its EIP: resume there, not in a new block */
	u32 popf_iopl;	/* the IOPL the POPFD table was made for */
	u32 fast_sel;	/* the CS the fast table holds translations for */
	u32 fast_base;
	/* segments truncated below the window (monitor/truncate.c) */
	u32 checked;	  /* BT86_VM_BT_CHECKED: translate with bound checks */
	u32 untruncated;  /* the shadow GDT shows untruncated limits, ... */
	u32 step_eip;	  /* ... for one native step of the insn at this */
	u32 step_cs;	  /* CS:EIP */
	u32 step_faulted; /* the last trap came from that step, not its #DB */
	/* where the window is (monitor/window.c) */
	u32 window_home;  /* the module's place for it, used with paging off */
	u32 window_check; /* the guest's mappings changed: is its slot free? */
};
#define BT_NO_BLOCK 0xffffffffu

/* The guest's CPU model (BT86_SET_CPUID), at XDATA_CPUID. */
struct bt86_xcpuid {
	u32 nent; /* 0: CPUID shows the host's */
	u32 pad[7];
	struct bt86_cpuid_entry e[BT86_CPUID_MAX_ENTRIES];
};

/*
 * Shadow paging: what the module gives the monitor (kmod/shadow_area.c).
 * The rest of shadow paging's state is the monitor's, in the pool.
 */
struct bt86_xshadow {
	u64 pool;	   /* monitor VA of the pool (pool_pages pages) */
	u64 pfns;	   /* monitor VA of u64[pool_pages]: their frames */
	u64 phys;	   /* monitor VA of guest-physical 0 ([0, ram_end)) */
	u64 gpt;	   /* monitor VA of guest RAM's PTEs: gfn n's at +8n */
	u64 low_pdpt;	   /* monitor VA of the PDPT mapping the low 4 GiB */
	u64 window_pde[2]; /* BT: the PDEs of the window's 4 MiB */
	u32 pool_pages;
	u32 window_low; /* BT: the window's first address, else 0 */
	/* the monitor's */
	u32 pf_addr; /* the linear address of the #PF being raised (CR2) */
	u32 pad;
};

/*
 * The guest's GDT or LDT as the monitor traces it: the linear range
 * [base, base + limit] that holds the shadowed descriptors, and the guest
 * frame each of its pages maps to, 0xffffffff for none
 * (monitor/desc_shadow.c).
 */
#define DESC_TRACE_PAGES 17 /* 64 KiB, not page aligned */
struct bt86_desc_trace {
	u32 base, limit;
	u32 npages; /* 0: nothing traced */
	u32 lo, hi; /* the lowest and highest frame in gfn[] */
	u32 gfn[DESC_TRACE_PAGES];
};

/* The shadow descriptor tables' own state (monitor/vcpu.c, desc_shadow.c). */
struct bt86_xdesc {
	struct bt86_desc_trace gdt, ldt;
	u32 ldt_slots;	  /* shadow LDT slots derived from the guest's LDT */
	u32 ldt_hw_limit; /* LDTR holds the shadow LDT with this limit + 1 */
	/* 64-slot runs of the shadow LDT with ring-3 code */
	u64 ldt_user[SHADOW_LDT_SLOTS / 64 / 64];
	/* CS SS DS ES FS GS as the monitor loaded them for guest code */
	u16 hw_sel[6];
	/* the lazy GDT (monitor/desc_lazy.c) */
	u32 lazy;   /* its frames are not traced now */
	u32 misses; /* writes in a row to its frames that missed it */
};

struct bt86_xdata {
	/* the switch (offsets above) */
	u64 host_rsp;
	u64 host_cr0, host_cr3, host_cr4;
	u64 mon_cr0, mon_cr3, mon_cr4;
	u64 host_fs_base, host_gs_base;
	u64 mon_entry;
	struct bt86_desc_ptr host_gdt, host_idt, cross_gdtr, guest_gdtr;
	struct bt86_desc_ptr mon_idtr;
	u16 host_tr, host_ldt, host_ds, host_es, host_ss, host_fs, host_gs;
	u16 pad0;
	u16 guest_ds, guest_es, guest_fs, guest_gs;
	struct bt86_gprs gpr;
	u64 vector, error, rip, cs, rflags, rsp, ss;
	u32 exit;
	u32 nmi_pending;
	u32 mce_pending;
	u32 mon_call;
	u64 guest_cr2;
	/* A monitor fault, kept apart from the guest's trap frame above. */
	u64 fault_vector, fault_error, fault_rip, fault_cs, fault_rflags;
	u64 fault_rsp, fault_ss, fault_cr2;

	/* between the module and the monitor */
	u64 io_page;	  /* monitor VA of the run area's I/O data page */
	u64 ram_end;	  /* guest RAM is [0, ram_end), contiguous */
	u32 exit_reason;  /* BT86_EXIT_* when exit == XEXIT_GUEST */
	u32 state_loaded; /* 0: the monitor must load regs/sregs */
	u32 io_pending;	  /* an IN waits for the launcher's data */
	u32 debug_fault;  /* tests: the monitor faults on purpose */
	struct bt86_xio io;
	struct bt86_exception_info {
		u32 vector, error_code, eip, cr2;
	} exception;
	struct bt86_regs regs;	 /* the guest's architectural state ... */
	struct bt86_sregs sregs; /* ... kept by the monitor while it runs */
	struct bt86_vcpu_ext v;	 /* ... and the rest of its virtual CPU */
	struct bt86_xmmio mmio;	 /* a pending MMIO exit */
	struct bt86_mon_stats stats;
	struct bt86_xbt bt;
	struct bt86_xshadow sh;
	struct bt86_xdesc desc;
};

/*
 * A trap from guest context that belongs to the host: an NMI, a machine
 * check, or an external interrupt (every vector from 32 up but 0x80, the
 * one the guest reaches with INT through a DPL 3 gate).  The monitor sends
 * these back and the module forwards them with "int $vector".
 */
static inline bool bt86_is_host_event(u64 vector)
{
	return vector == 2 || vector == 18 || (vector >= 32 && vector != 0x80);
}

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
