/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bt86 user API: the ioctls of /dev/bt86, of a VM file descriptor and of a
 * vCPU file descriptor.  The kernel module and the launcher both include this
 * header; it is the only contract between them.
 *
 * The shape follows KVM (Documentation/virt/kvm/api.rst): /dev/bt86 creates
 * VMs, a VM fd registers guest memory and creates vCPUs, a vCPU fd runs the
 * guest and exposes a shared bt86_run page through mmap().  Every address and
 * register here is the guest's: a 32-bit x86 protected-mode CPU.
 *
 * docs/ioctl-api.md lists each call with its errors.
 */
#ifndef _UAPI_BT86_H
#define _UAPI_BT86_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * 2: BT86_CREATE_VM takes flags (BT86_VM_*) beside the mode, and the
 * translator's bound-check call outs and truncation counters exist.
 */
#define BT86_API_VERSION 2

#define BT86IO 0xB8

/* Limits a launcher can rely on. */
#define BT86_MAX_MEMORY_SLOTS 32
#define BT86_MAX_VCPUS	      1
#define BT86_MAX_GUEST_PHYS   0x100000000ULL /* 4 GiB of guest-physical space */

/* --- ioctls of /dev/bt86 ------------------------------------------------ */

/* Returns BT86_API_VERSION. */
#define BT86_GET_API_VERSION _IO(BT86IO, 0x00)
/* arg: one of BT86_MODE_*, ORed with BT86_VM_* flags; returns a VM fd. */
#define BT86_CREATE_VM _IO(BT86IO, 0x01)
/* Returns the size to mmap() on a vCPU fd (the bt86_run area). */
#define BT86_GET_VCPU_MMAP_SIZE _IO(BT86IO, 0x02)

/* How guest ring 0 runs. */
#define BT86_MODE_BT   0 /* binary translation (the default) */
#define BT86_MODE_TAE  1 /* trap-and-emulate only (teaching) */
#define BT86_MODE_MASK 0xff

/*
 * Flags of BT86_CREATE_VM, above the mode; any other bit is EINVAL.
 * BT86_VM_BT_CHECKED (BT86_MODE_BT only): translated code checks every
 * memory access against the truncated segment limits itself, as a CPU
 * that enforces segment limits would (QEMU's TCG does not; see
 * docs/translator.md, "Checked translation").  For tests.
 */
#define BT86_VM_BT_CHECKED (1u << 8)
#define BT86_VM_FLAGS	   BT86_VM_BT_CHECKED

/* --- ioctls of a VM fd -------------------------------------------------- */

/*
 * Map memory_size bytes of the caller's memory at userspace_addr into guest
 * physical space at guest_phys_addr.  The pages are pinned until the slot is
 * deleted (memory_size == 0) or the VM is closed.  All three values must be
 * page aligned; slots may not overlap.
 */
struct bt86_memory_region {
	__u32 slot;
	__u32 flags; /* must be 0 */
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
};

#define BT86_SET_MEMORY_REGION _IOW(BT86IO, 0x10, struct bt86_memory_region)
/* arg: vCPU id (0 .. BT86_MAX_VCPUS-1); returns a new vCPU fd. */
#define BT86_CREATE_VCPU _IO(BT86IO, 0x11)

/* --- ioctls of a vCPU fd ------------------------------------------------ */

/* General registers of the 32-bit guest. */
struct bt86_regs {
	__u32 eax, ecx, edx, ebx;
	__u32 esp, ebp, esi, edi;
	__u32 eip, eflags;
};

/*
 * A segment register with its hidden (descriptor cache) part.  limit is the
 * byte-granular limit, as KVM has it: with g = 1 its low 12 bits are all ones.
 */
struct bt86_segment {
	__u32 base;
	__u32 limit;
	__u16 selector;
	__u8 type; /* descriptor type field, bits 3:0 */
	__u8 s;	   /* 1: code/data, 0: system */
	__u8 dpl;
	__u8 present;
	__u8 db;
	__u8 g;
	__u8 avl;
	__u8 unusable; /* null selector loaded */
	__u8 padding[2];
};

struct bt86_dtable {
	__u32 base;
	__u16 limit;
	__u16 padding;
};

/* Segment and system state of the 32-bit guest. */
struct bt86_sregs {
	struct bt86_segment cs, ds, es, fs, gs, ss;
	struct bt86_segment tr, ldt;
	struct bt86_dtable gdt, idt;
	__u32 cr0, cr2, cr3, cr4;
	__u64 efer; /* only EFER.NXE is meaningful (PAE guests) */
};

/* A device interrupt for the guest: the vector its PIC delivered. */
struct bt86_interrupt {
	__u32 vector;
};

#define BT86_RUN       _IO(BT86IO, 0x20)
#define BT86_GET_REGS  _IOR(BT86IO, 0x21, struct bt86_regs)
#define BT86_SET_REGS  _IOW(BT86IO, 0x22, struct bt86_regs)
#define BT86_GET_SREGS _IOR(BT86IO, 0x23, struct bt86_sregs)
#define BT86_SET_SREGS _IOW(BT86IO, 0x24, struct bt86_sregs)
#define BT86_INTERRUPT _IOW(BT86IO, 0x25, struct bt86_interrupt)

/*
 * Instructions the monitor emulates, for bt86_vcpu_stats.emulated[]: the
 * privileged and sensitive instructions that trap from guest code.
 */
enum bt86_emul {
	BT86_EMUL_CLI,
	BT86_EMUL_STI,
	BT86_EMUL_HLT,
	BT86_EMUL_IN,
	BT86_EMUL_OUT,
	BT86_EMUL_INS,
	BT86_EMUL_OUTS,
	BT86_EMUL_LGDT,
	BT86_EMUL_LIDT,
	BT86_EMUL_LLDT,
	BT86_EMUL_LTR,
	BT86_EMUL_SGDT_SIDT, /* SGDT SIDT SLDT STR SMSW: trap with UMIP */
	BT86_EMUL_MOV_SS,    /* MOV SS, POP SS, LSS */
	BT86_EMUL_MOV_CR,
	BT86_EMUL_MOV_DR,
	BT86_EMUL_CLTS_LMSW,
	BT86_EMUL_RDMSR,
	BT86_EMUL_WRMSR,
	BT86_EMUL_INVLPG,
	BT86_EMUL_WBINVD, /* WBINVD and INVD */
	BT86_EMUL_IRET,
	BT86_EMUL_RETF,
	BT86_EMUL_INT,	    /* INT n through the monitor's DPL 0 gates */
	BT86_EMUL_GATE,	    /* far CALL/JMP through a call gate */
	BT86_EMUL_TASK,	    /* task switches (gates, TSS, IRET with NT) */
	BT86_EMUL_SYSENTER, /* SYSENTER and SYSEXIT */
	BT86_EMUL_MMIO,	    /* an access to guest-physical non-RAM */
	BT86_EMUL_CPUID,    /* the CPU model's answer (translated ring 0) */
	/* an access stopped by a segment truncated below the BT window */
	BT86_EMUL_TRUNCATED,
	BT86_EMUL_DESC_WRITE, /* a guest write to its GDT or LDT (traced) */
	BT86_EMUL_ACCESSED,   /* a descriptor's accessed bit set at a load */
	BT86_EMUL_COUNT
};

/* The binary translator's counters (BT86_MODE_BT; docs/translator.md). */
struct bt86_bt_stats {
	__u64 blocks;	   /* blocks translated */
	__u64 insns;	   /* guest instructions translated */
	__u64 tc_used;	   /* bytes of the translation cache in use now */
	__u64 tc_size;	   /* its size */
	__u64 lookups;	   /* guest EIPs the monitor looked up */
	__u64 lookup_hits; /* ... that had a translation */
	__u64 chained;	   /* direct branches patched to jump to their target */
	__u64 ind_hits;	   /* indirect branches found by translated code */
	__u64 ind_misses;  /* ... that needed the monitor */
	__u64 callouts[8]; /* calls to the monitor, by BT86_BT_CALLOUT_* */
	__u64 invalidated; /* blocks dropped because their code was written */
	__u64 write_faults; /* guest writes to pages holding translated code */
	__u64 retranslated; /* instructions turned into call outs (adaptive) */
	__u64 flushes;	    /* the cache filled up and was emptied */
	__u64 native_steps; /* guest ring-0 instructions run natively, alone */
	__u64 refused;	    /* instructions the translator would not copy */
	__u64 relocations;  /* the window moved out of the guest's mappings */
	__u64 window;	/* where it is now: its first guest linear address */
	__u64 lazy_gdt; /* times the GDT stopped being traced (a write flood) */
	/* TLB flushes: 2 MiB slots of translated code walked / kept unwalked */
	__u64 slots_checked;
	__u64 slots_kept;
};

/* bt86_bt_stats.callouts[] */
enum bt86_bt_callout {
	BT86_BT_CALLOUT_EMULATE, /* a sensitive instruction emulated */
	BT86_BT_CALLOUT_EXIT,	 /* a direct branch to an untranslated target */
	BT86_BT_CALLOUT_IND,	 /* an indirect branch the fast table missed */
	BT86_BT_CALLOUT_STEP,	 /* an instruction run natively */
	BT86_BT_CALLOUT_STI,	 /* STI with an interrupt waiting */
	BT86_BT_CALLOUT_DEAD,	 /* a jump into invalidated code */
	BT86_BT_CALLOUT_LIMIT,	 /* a bound check failed (BT86_VM_BT_CHECKED) */
	BT86_BT_CALLOUT_COUNT
};

/*
 * Shadow paging (docs/shadow-paging.md): counters since the vCPU's
 * creation, and the pool's use now.
 */
struct bt86_shadow_stats {
	__u64 hidden_faults; /* #PFs the guest never saw: shadow entries made */
	__u64 guest_faults;  /* #PFs delivered to the guest */
	__u64 mmio_faults;   /* accesses to non-RAM through guest paging */
	__u64 pt_writes;     /* guest writes to traced page tables */
	__u64 pt_emulated;   /* ... done by the monitor (the rest stepped) */
	__u64 cr3_writes;    /* address space switches with paging on */
	__u64 cr3_hits;	     /* ... that found their shadow cached */
	__u64 invlpg;	     /* INVLPGs with paging on */
	__u64 flushes;	     /* full TLB flushes for shadow changes */
	__u64 zaps;	     /* every shadow dropped (mode changes, reclaim) */
	__u64 evictions;     /* cached address spaces dropped for room */
	__u64 unshadowed;    /* page tables dropped after a write flood */
	__u64 pages_used;    /* shadow table pages in use now */
	__u64 pages_max;     /* ... of the pool's */
	__u64 contexts;	     /* address spaces cached now */
	__u64 pages_peak;    /* shadow table pages in use at most, so far */
};

/* Counters of one vCPU since its creation. */
struct bt86_vcpu_stats {
	__u64 world_switches; /* round trips host -> monitor -> host */
	__u64 guest_traps;    /* traps from guest code the monitor saw */
	__u64 host_irqs;      /* host interrupts taken in guest context */
	__u64 host_nmis;      /* NMIs forwarded to the host */
	__u64 host_mces;      /* machine checks forwarded to the host */
	__u64 host_state_mismatches; /* host state not restored exactly */
	__u64 exits[16];	     /* returns to userland, by BT86_EXIT_* */
	/* where the time went, in nanoseconds */
	__u64 guest_ns;	      /* running guest code */
	__u64 monitor_ns;     /* in the monitor's world, guest code aside */
	__u64 kernel_ns;      /* in BT86_RUN outside the monitor's world */
	__u64 userland_ns;    /* between BT86_RUN calls: the launcher */
	__u64 emulated[32];   /* by BT86_EMUL_* */
	__u64 exceptions[32]; /* exceptions delivered to the guest, by vector */
	__u64 software_interrupts; /* INT n, INT3, INTO delivered */
	__u64 external_interrupts; /* BT86_INTERRUPT vectors delivered */
	__u64 reserved[6];
	struct bt86_bt_stats bt;
	struct bt86_shadow_stats shadow;
};

#define BT86_GET_VCPU_STATS _IOR(BT86IO, 0x26, struct bt86_vcpu_stats)

/*
 * The CPU model the guest's CPUID shows (the shape of KVM_SET_CPUID2).  Each
 * entry answers CPUID with EAX = function (and ECX = index when flags has
 * BT86_CPUID_INDEXED); a function past the highest basic or extended leaf
 * gets the highest basic leaf's answer, any other missing one zeros, as an
 * Intel CPU does (SDM 2A, CPUID).  Until it is set, CPUID shows the host's.
 * Set before the first RUN.  Under BT86_MODE_TAE guest ring 0 runs CPUID
 * natively (it does not trap), so only the translator's guests see it there
 * in ring 0; guest ring 3 always runs CPUID natively.
 */
#define BT86_CPUID_MAX_ENTRIES 64
#define BT86_CPUID_INDEXED     1u /* flags: ECX selects among entries */

struct bt86_cpuid_entry {
	__u32 function, index, flags;
	__u32 eax, ebx, ecx, edx;
	__u32 pad; /* must be 0 */
};

struct bt86_cpuid {
	__u32 nent; /* at most BT86_CPUID_MAX_ENTRIES */
	__u32 pad;  /* must be 0 */
	struct bt86_cpuid_entry entries[];
};

#define BT86_SET_CPUID _IOW(BT86IO, 0x27, struct bt86_cpuid)

/*
 * For tests only: make the monitor fault on purpose at the next guest trap,
 * to prove that a monitor bug ends the VM with a dump, not the host.
 */
#define BT86_TEST_MONITOR_FAULT _IO(BT86IO, 0x30)

/*
 * run->internal.suberror of BT86_EXIT_INTERNAL_ERROR: the monitor faulted.
 * data[]: vector, error code, RIP, CS, RFLAGS, RSP, SS, CR2 of the fault,
 * then the guest's EIP, CS, EFLAGS and ESP at its last entry.
 */
#define BT86_INTERNAL_MONITOR_FAULT 1
/*
 * run->internal.suberror: the guest did something this version of bt86
 * cannot run.  data[0] says what (BT86_UNSUPPORTED_*), data[1] the guest's
 * EIP, data[2] a detail (the value written, the address).
 */
#define BT86_INTERNAL_UNSUPPORTED 2
#define BT86_UNSUPPORTED_PAGING	  1 /* (no longer used: was CR0.PG) */
#define BT86_UNSUPPORTED_REALMODE 2 /* CR0.PE cleared */
#define BT86_UNSUPPORTED_V86	  3 /* IRET or task switch to virtual-8086 */
#define BT86_UNSUPPORTED_LDT	  4 /* (no longer used: was a guest LDT) */
#define BT86_UNSUPPORTED_MMIO	  6 /* non-RAM access by a complex insn */
#define BT86_UNSUPPORTED_SHADOW	  8 /* shadow paging: data[2] below */
/*
 * BT86_UNSUPPORTED_SHADOW: data[2] is BT86_SHADOW_* << 32 | the linear
 * address concerned.
 */
#define BT86_SHADOW_WINDOW \
	1		    /* no 4 MiB slot left for the translator's window */
#define BT86_SHADOW_STUCK 3 /* a hidden fault that does not go away (bug) */
#define BT86_SHADOW_BUG	  4 /* a shadow that cannot be built (bug) */
/* one instruction wrote more traced pages than the monitor opens at once */
#define BT86_SHADOW_TRACE 5
/*
 * Translated code stopped where the translator's map has no entry;
 * data[2]: why << 32 | the TC address.  Why: a map kind (a call out the
 * monitor does not know), BT86_BT_LOST_FAULT | vector (an exception inside
 * a rewritten sequence), BT86_BT_LOST_ESCAPED (guest ring 0 ran code
 * outside the cache with the cache's CS: it rewrote the per-vCPU page).
 */
#define BT86_UNSUPPORTED_BT  7
#define BT86_BT_LOST_FAULT   0x100
#define BT86_BT_LOST_ESCAPED 0x200

/* --- the shared run area (mmap of a vCPU fd) ---------------------------- */

#define BT86_EXIT_UNKNOWN	 0
#define BT86_EXIT_IO		 1 /* port I/O for the launcher */
#define BT86_EXIT_HLT		 2 /* guest executed HLT */
#define BT86_EXIT_SHUTDOWN	 3 /* triple fault */
#define BT86_EXIT_INTR		 4 /* a signal or immediate_exit */
#define BT86_EXIT_MMIO		 5 /* access to guest-physical non-RAM */
#define BT86_EXIT_INTERNAL_ERROR 6 /* monitor bug; see internal */
#define BT86_EXIT_IRQ_WINDOW	 7 /* after request_interrupt_window */
#define BT86_EXIT_EXCEPTION	 8 /* a guest exception not handled yet */

#define BT86_EXIT_IO_IN	 0
#define BT86_EXIT_IO_OUT 1

struct bt86_run {
	/* in: written by the launcher */
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 padding1[6];

	/* out: written by the module */
	__u32 exit_reason;
	__u8 ready_for_interrupt_injection;
	__u8 if_flag;
	__u8 padding2[2];

	union {
		/* BT86_EXIT_IO: data lives at (char *)run + data_offset */
		struct {
			__u8 direction;
			__u8 size; /* 1, 2 or 4 */
			__u16 port;
			__u32 count;
			__u64 data_offset;
		} io;
		/* BT86_EXIT_MMIO */
		struct {
			__u64 phys_addr;
			__u8 data[8];
			__u32 len;
			__u8 is_write;
			__u8 padding[3];
		} mmio;
		/* BT86_EXIT_EXCEPTION */
		struct {
			__u32 vector;
			__u32 error_code;
			__u32 eip;
			__u32 cr2;
		} exception;
		/* BT86_EXIT_INTERNAL_ERROR */
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 data[16];
		} internal;
		char padding[256];
	};
};

#endif /* _UAPI_BT86_H */
