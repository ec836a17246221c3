// SPDX-License-Identifier: GPL-2.0
/*
 * The world switch, C side: building a vCPU's monitor world, and the RUN
 * loop that enters it (docs/world-switch.md).
 *
 * The parts, in the order RUN meets them:
 *   - bt86_world_build(): once per VM, at the first RUN: the monitor page
 *     tables (host paging depth), the monitor image, the crosspage code and
 *     data, guest RAM at guest-physical = linear (what the guest sees while
 *     its paging is off) and shadow paging's memory (shadow_area.c);
 *   - the per-vCPU crosspage data: monitor GDT (with shadow descriptors of
 *     the guest's segments), TSS, IDT;
 *   - the run loop, with KVM's discipline: signals, rescheduling, the FPU,
 *     interrupts off around the switch, the MSRs and debug registers the
 *     switch must not leave to the guest, and the host interrupts, NMIs and
 *     machine checks taken in guest context handed back to the host at once
 *     with "int $vector";
 *   - the check that every host register came back exactly (paranoid mode).
 */
#include <linux/hw_breakpoint.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/tsc.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "bt86.h"
#include "monitor.h"
#include "xdata.h"

static bool check_host_state = true;
module_param(check_host_state, bool, 0644);
MODULE_PARM_DESC(check_host_state,
		 "compare every host register after each world switch");

#define CR4_LASS BIT_ULL(27)
#define CR4_FRED BIT_ULL(32)
/* A PCID no Linux address space uses (kernel 1..6, PTI user 0x801..0x806). */
#define BT86_MONITOR_PCID 0x7ff

/* The offsets switch.S uses must be the struct's. */
#define XD_CHECK(field, off) \
	static_assert(offsetof(struct bt86_xdata, field) == (off))
XD_CHECK(host_rsp, XD_HOST_RSP);
XD_CHECK(host_cr4, XD_HOST_CR4);
XD_CHECK(mon_cr0, XD_MON_CR0);
XD_CHECK(mon_cr3, XD_MON_CR3);
XD_CHECK(mon_cr4, XD_MON_CR4);
XD_CHECK(host_fs_base, XD_HOST_FS_BASE);
XD_CHECK(host_gs_base, XD_HOST_GS_BASE);
XD_CHECK(mon_entry, XD_MON_ENTRY);
XD_CHECK(host_gdt, XD_HOST_GDT);
XD_CHECK(host_idt, XD_HOST_IDT);
XD_CHECK(cross_gdtr, XD_CROSS_GDTR);
XD_CHECK(guest_gdtr, XD_GUEST_GDTR);
XD_CHECK(mon_idtr, XD_MON_IDTR);
XD_CHECK(host_tr, XD_HOST_TR);
XD_CHECK(host_ldt, XD_HOST_LDT);
XD_CHECK(host_ds, XD_HOST_DS);
XD_CHECK(host_gs, XD_HOST_GS);
XD_CHECK(guest_ds, XD_GUEST_DS);
XD_CHECK(guest_gs, XD_GUEST_GS);
XD_CHECK(gpr, XD_GPR);
XD_CHECK(gpr.r15, XD_GPR + GPR_R15);
XD_CHECK(vector, XD_VECTOR);
XD_CHECK(ss, XD_SS);
XD_CHECK(exit, XD_EXIT);
XD_CHECK(nmi_pending, XD_NMI_PENDING);
XD_CHECK(mce_pending, XD_MCE_PENDING);
XD_CHECK(mon_call, XD_MON_CALL);
XD_CHECK(guest_cr2, XD_GUEST_CR2);
XD_CHECK(fault_vector, XD_FAULT);
XD_CHECK(fault_cr2, XD_FAULT + 0x38);
static_assert(sizeof(struct bt86_xdata) <= XDATA_TSS);
static_assert(XDATA_FPU + 512 <= XDATA_CPUID);
static_assert(XDATA_CPUID + sizeof(struct bt86_xcpuid) <= XDATA_SIZE);

/* --- descriptors (SDM 3A §3.4.5, §7.2.3, §6.14.1) --------------------------- */

static u64 bt86_seg_desc(u32 base, u32 limit, u8 type, u8 s, u8 dpl, u8 p, u8 l,
			 u8 db, u8 g)
{
	return (limit & 0xffffULL) | ((u64)(base & 0xffffff) << 16) |
	       ((u64)(type & 0xf) << 40) | ((u64)s << 44) |
	       ((u64)(dpl & 3) << 45) | ((u64)p << 47) |
	       ((u64)((limit >> 16) & 0xf) << 48) | ((u64)l << 53) |
	       ((u64)db << 54) | ((u64)g << 55) | ((u64)(base >> 24) << 56);
}

/* The monitor's own slots, the same in the cross GDT and the guest GDT. */
static void bt86_monitor_slots(struct bt86_xdata *x, u64 *gdt)
{
	u64 tss = (u64)x + XDATA_TSS;

	gdt[MON_CS >> 3] = bt86_seg_desc(0, 0xfffff, 0xb, 1, 0, 1, 1, 0, 1);
	gdt[MON_DS >> 3] = bt86_seg_desc(0, 0xfffff, 0x3, 1, 0, 1, 0, 1, 1);
	/* 16-byte available 64-bit TSS descriptor (type 9). */
	gdt[MON_TSS_SEL >> 3] = bt86_seg_desc(tss, 0x67, 0x9, 0, 0, 1, 0, 0, 0);
	gdt[(MON_TSS_SEL >> 3) + 1] = tss >> 32;
}

static u64 *bt86_cross_gdt(struct bt86_xdata *x)
{
	return (u64 *)((u8 *)x + XDATA_CROSS_GDT);
}

/*
 * The cross GDT, at every entry: this CPU's GDT (the host's selectors,
 * TLS and TSS included) and the monitor's slots.  The copy of the host's
 * TSS descriptor is marked available: the way back loads TR from it.
 */
static void bt86_build_cross_gdt(struct bt86_xdata *x)
{
	u64 *gdt = bt86_cross_gdt(x);
	struct desc_ptr host;

	native_store_gdt(&host);
	memcpy(gdt, (void *)host.address,
	       min_t(size_t, host.size + 1, HOST_GDT_COPY * 8));
	gdt[GDT_ENTRY_TSS] &= ~(2ULL << 40);
	bt86_monitor_slots(x, gdt);
}

static void bt86_build_gdtrs(struct bt86_xdata *x)
{
	x->cross_gdtr.base = (u64)x + XDATA_CROSS_GDT;
	x->cross_gdtr.limit = GDT_SLOTS * 8 - 1;
	x->guest_gdtr.base = (u64)x + XDATA_GUEST_GDT;
	x->guest_gdtr.limit = GDT_SLOTS * 8 - 1;
	bt86_monitor_slots(x, (u64 *)((u8 *)x + XDATA_GUEST_GDT));
}

/* 64-bit TSS: RSP0 for traps from the guest, IST stacks, no I/O bitmap. */
static void bt86_build_tss(struct bt86_xdata *x)
{
	u8 *tss = (u8 *)x + XDATA_TSS;

	memset(tss, 0, 0x68);
	*(u64 *)(tss + 0x04) = (u64)x + XDATA_STACK_TOP;
	*(u64 *)(tss + 0x24) = (u64)x + XDATA_DF_STACK;	 /* IST1 */
	*(u64 *)(tss + 0x2c) = (u64)x + XDATA_NMI_STACK; /* IST2 */
	*(u64 *)(tss + 0x3c) = (u64)x + XDATA_MC_STACK;	 /* IST4 */
	/* An I/O map base past the limit: every port faults above IOPL. */
	*(u16 *)(tss + 0x66) = 0x68;
}

/*
 * Every gate is a 64-bit interrupt gate (IF cleared on entry) into the
 * crosspage stubs.  DPL 0 except 3, 4 and 0x80, so that a guest "int $n"
 * for other n arrives as #GP(n*8+2), never as a host interrupt vector.
 */
static void bt86_build_idt(struct bt86_xdata *x)
{
	u64 *idt = (u64 *)((u8 *)x + XDATA_IDT);
	unsigned int v;

	for (v = 0; v < 256; v++) {
		u64 addr = (u64)bt86_trap_stubs + v * 16;
		/*
		 * INT3, INTO, INT 0x80 from guest ring 3; the translator's
		 * call out (int $0x1f) from CPL 1 only.
		 */
		u64 dpl = (v == 3 || v == 4 || v == 0x80) ? 3
			  : v == BT_CALLOUT_VECTOR	  ? 1
							  : 0;
		u64 ist = v == 8 ? 1 : v == 2 ? 2 : v == 18 ? 4 : 0;

		idt[2 * v] = (addr & 0xffff) | ((u64)MON_CS << 16) |
			     (ist << 32) | (0xeULL << 40) | (dpl << 45) |
			     (1ULL << 47) | ((addr >> 16) << 48);
		idt[2 * v + 1] = addr >> 32;
	}
	x->mon_idtr.base = (u64)idt;
	x->mon_idtr.limit = 256 * 16 - 1;
}

/* --- the monitor address space ---------------------------------------------- */

static int bt86_map_range(struct bt86_mmu *mmu, u64 va, unsigned long pfn,
			  unsigned long npages, u64 flags)
{
	unsigned long i;
	int ret;

	for (i = 0; i < npages; i++) {
		ret = bt86_mmu_map_page(mmu, va + i * PAGE_SIZE, pfn + i,
					flags);
		if (ret)
			return ret;
	}
	return 0;
}

/* The crosspage code: two pages of our own text, at their host address. */
static int bt86_map_xpage_code(struct bt86_mmu *mmu)
{
	const char *p;
	int ret;

	for (p = bt86_xpage_start; p < bt86_xpage_end; p += PAGE_SIZE) {
		ret = bt86_mmu_map_page(mmu, (u64)p,
					page_to_pfn(vmalloc_to_page(p)),
					BT86_PTE_P | BT86_PTE_A);
		if (ret)
			return ret;
	}
	return 0;
}

/* Guest RAM at linear = physical, for guest CPL 1 and 3. */
static int bt86_map_guest_ram(struct bt86_vm *vm)
{
	const u64 flags = BT86_PTE_P | BT86_PTE_RW | BT86_PTE_US | BT86_PTE_A |
			  BT86_PTE_D;
	unsigned int i;
	unsigned long j;
	int ret;

	for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++) {
		struct bt86_memslot *slot = &vm->memslots[i];

		for (j = 0; j < slot->npages; j++) {
			ret = bt86_mmu_map_page(&vm->mmu,
						(slot->gfn + j) << PAGE_SHIFT,
						page_to_pfn(slot->pages[j]),
						flags);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static u64 bt86_ram_end(struct bt86_vm *vm);

/* Called with vm->lock held, at the first RUN of any vCPU. */
static int bt86_world_build_vm(struct bt86_vm *vm)
{
	int ret;

	if (vm->world_built)
		return 0;
	ret = bt86_mmu_init(&vm->mmu, bt86_host_paging_levels());
	if (ret)
		return ret;
	ret = bt86_monitor_image_load(&vm->image, &vm->mmu,
				      bt86_monitor_base());
	if (!ret)
		ret = bt86_map_xpage_code(&vm->mmu);
	if (!ret)
		ret = bt86_map_guest_ram(vm);
	if (!ret && vm->mode == BT86_MODE_BT)
		ret = bt86_btarea_map_vm(vm, bt86_ram_end(vm));
	if (!ret)
		ret = bt86_shadow_build_vm(vm, bt86_ram_end(vm));
	if (ret) {
		bt86_monitor_image_free(&vm->image);
		bt86_mmu_free(&vm->mmu);
		bt86_shadow_free_vm(vm);
		return ret;
	}
	vm->world_built = true;
	return 0;
}

void bt86_world_free_vm(struct bt86_vm *vm)
{
	if (!vm->world_built)
		return;
	bt86_monitor_image_free(&vm->image);
	bt86_mmu_free(&vm->mmu);
	bt86_shadow_free_vm(vm);
	vm->world_built = false;
}

/* Where the run area's I/O data pages appear in the monitor: past the image. */
#define BT86_MONITOR_IO_PAGES (4UL << 20)

static void bt86_unmap_range(struct bt86_mmu *mmu, u64 va, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		bt86_mmu_unmap_page(mmu, va + i * PAGE_SIZE);
}

/*
 * Guest RAM the monitor may touch: the contiguous guest-physical range
 * from 0 that memory slots cover (the launcher registers one).
 */
static u64 bt86_ram_end(struct bt86_vm *vm)
{
	u64 end = 0;
	unsigned int i;
	bool grew = true;

	while (grew) {
		grew = false;
		for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++) {
			struct bt86_memslot *slot = &vm->memslots[i];

			if (slot->npages && slot->gfn << PAGE_SHIFT == end) {
				end += (u64)slot->npages << PAGE_SHIFT;
				grew = true;
			}
		}
	}
	return min_t(u64, end, BT86_MAX_GUEST_PHYS);
}

static int bt86_world_build_vcpu(struct bt86_vcpu *vcpu)
{
	const u64 data = BT86_PTE_P | BT86_PTE_RW | BT86_PTE_A | BT86_PTE_D |
			 BT86_PTE_NX;
	struct bt86_vm *vm = vcpu->vm;
	struct bt86_xdata *x;
	struct page *pages;
	u64 io_va;
	int ret;

	if (vcpu->x)
		return 0;
	/* Naturally aligned: trap entry finds the block from RSP. */
	pages = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO, XDATA_ORDER);
	if (!pages)
		return -ENOMEM;
	x = page_address(pages);
	io_va = bt86_monitor_base() + BT86_MONITOR_IO_PAGES +
		vcpu->id * PAGE_SIZE;
	ret = bt86_map_range(&vm->mmu, (u64)x, page_to_pfn(pages),
			     1 << XDATA_ORDER, data);
	if (!ret)
		ret = bt86_mmu_map_page(&vm->mmu, io_va,
					page_to_pfn(vcpu->run_pages[1]), data);
	if (ret) {
		bt86_unmap_range(&vm->mmu, (u64)x, 1 << XDATA_ORDER);
		bt86_mmu_unmap_page(&vm->mmu, io_va);
		__free_pages(pages, XDATA_ORDER);
		return ret;
	}
	bt86_build_tss(x);
	bt86_build_idt(x);
	bt86_build_gdtrs(x);
	x->mon_entry = vm->image.entry;
	x->v.irq_vector = XIRQ_NONE;
	x->io_page = io_va;
	x->ram_end = bt86_ram_end(vm);
	if (vcpu->cpuid)
		memcpy((u8 *)x + XDATA_CPUID, vcpu->cpuid,
		       sizeof(*vcpu->cpuid));
	if (vm->mode == BT86_MODE_BT) {
		ret = bt86_btarea_build(vcpu, x);
		if (ret) {
			bt86_unmap_range(&vm->mmu, (u64)x, 1 << XDATA_ORDER);
			bt86_mmu_unmap_page(&vm->mmu, io_va);
			__free_pages(pages, XDATA_ORDER);
			return ret;
		}
	}
	bt86_shadow_build_vcpu(vcpu, x);
	vcpu->x = x;
	return 0;
}

void bt86_world_free_vcpu(struct bt86_vcpu *vcpu)
{
	if (vcpu->x)
		free_pages((unsigned long)vcpu->x, XDATA_ORDER);
	vcpu->x = NULL;
	bt86_btarea_free(vcpu);
}

/* --- guest state, handed to the monitor and back ------------------------------ */

/*
 * The monitor owns the guest's registers while it runs (monitor/vcpu.c).
 * What userland set since the last RUN goes in; the monitor reloads it.
 */
static void bt86_hand_state_to_monitor(struct bt86_vcpu *vcpu)
{
	struct bt86_xdata *x = vcpu->x;
	struct bt86_run *run = vcpu->run;

	if (vcpu->state_dirty) {
		x->regs = vcpu->regs;
		x->sregs = vcpu->sregs;
		x->state_loaded = 0;
		x->io_pending = 0;
		x->mmio.pending = 0;
		vcpu->state_dirty = false;
	}
	/* The launcher's answer to an MMIO read. */
	if (x->mmio.pending)
		memcpy(x->mmio.data, run->mmio.data, sizeof(x->mmio.data));
	x->v.irq_vector = vcpu->pending_vector == BT86_NO_VECTOR
				  ? XIRQ_NONE
				  : vcpu->pending_vector;
	x->v.irq_window = READ_ONCE(run->request_interrupt_window);
}

/*
 * The guest's registers as of the last exit, for GET_REGS/GET_SREGS, and
 * the interrupt state the launcher injects by.  As KVM (post_kvm_run_save()),
 * on every return from RUN, -EINTR before the guest ran included: with the
 * stale answer of the exit before, the launcher would inject again while
 * its last interrupt is still queued.
 */
static void bt86_take_state_from_monitor(struct bt86_vcpu *vcpu)
{
	struct bt86_xdata *x = vcpu->x;
	struct bt86_run *run = vcpu->run;

	vcpu->regs = x->regs;
	vcpu->sregs = x->sregs;
	vcpu->pending_vector = x->v.irq_vector == XIRQ_NONE
				       ? BT86_NO_VECTOR
				       : (int)x->v.irq_vector;
	run->if_flag = !!(x->regs.eflags & X86_EFLAGS_IF);
	/* IF set, no interrupt shadow, nothing queued already. */
	run->ready_for_interrupt_injection = run->if_flag && !x->v.shadow &&
					     x->v.irq_vector == XIRQ_NONE;
}

/* --- host state ------------------------------------------------------------- */

/* What the switch must give back exactly; compared in paranoid mode. */
struct bt86_host_state {
	unsigned long cr0, cr3, cr4;
	struct desc_ptr gdt, idt;
	u16 tr, ldt, ds, es, ss, fs, gs;
	u64 efer, fs_base, gs_base, kernel_gs_base, sysenter_cs, pat;
	unsigned long dr7;
};

static void bt86_read_host_state(struct bt86_host_state *h)
{
	memset(h, 0, sizeof(*h));
	h->cr0 = native_read_cr0();
	h->cr3 = __native_read_cr3();
	h->cr4 = native_read_cr4();
	native_store_gdt(&h->gdt);
	store_idt(&h->idt);
	asm volatile("str %0" : "=m"(h->tr));
	asm volatile("sldt %0" : "=m"(h->ldt));
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(ss, h->ss);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	rdmsrl(MSR_EFER, h->efer);
	rdmsrl(MSR_FS_BASE, h->fs_base);
	rdmsrl(MSR_GS_BASE, h->gs_base);
	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	rdmsrl(MSR_IA32_SYSENTER_CS, h->sysenter_cs);
	rdmsrl(MSR_IA32_CR_PAT, h->pat);
	get_debugreg(h->dr7, 7);
}

/* MSRs and debug registers the guest must not run with (§5 of the notes). */
struct bt86_msr_save {
	u64 efer, sysenter_cs, tsc_aux, debugctl;
	unsigned long dr7;
};

static void bt86_msrs_to_monitor(struct bt86_msr_save *s)
{
	rdmsrl(MSR_EFER, s->efer);
	/* SYSCALL from compat mode would enter the host (AMD): #UD instead. */
	if (s->efer & EFER_SCE)
		wrmsrl(MSR_EFER, s->efer & ~EFER_SCE);
	/* SYSENTER with a null CS is #GP, never host entry code. */
	rdmsrl(MSR_IA32_SYSENTER_CS, s->sysenter_cs);
	if (s->sysenter_cs)
		wrmsrl(MSR_IA32_SYSENTER_CS, 0);
	/* RDTSCP/RDPID at guest CPL 3 would show the host CPU number. */
	if (boot_cpu_has(X86_FEATURE_RDTSCP) ||
	    boot_cpu_has(X86_FEATURE_RDPID)) {
		rdmsrl(MSR_TSC_AUX, s->tsc_aux);
		wrmsrl(MSR_TSC_AUX, 0);
	}
	rdmsrl(MSR_IA32_DEBUGCTLMSR, s->debugctl);
	if (s->debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, 0);
	/* Host breakpoints must not fire on guest accesses. */
	get_debugreg(s->dr7, 7);
	if (s->dr7)
		set_debugreg(0, 7);
}

static void bt86_msrs_to_host(const struct bt86_msr_save *s)
{
	if (s->efer & EFER_SCE)
		wrmsrl(MSR_EFER, s->efer);
	if (s->sysenter_cs)
		wrmsrl(MSR_IA32_SYSENTER_CS, s->sysenter_cs);
	if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID))
		wrmsrl(MSR_TSC_AUX, s->tsc_aux);
	if (s->debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, s->debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	else if (s->dr7)
		set_debugreg(s->dr7, 7);
}

static bool bt86_host_state_equal(const struct bt86_host_state *a,
				  const struct bt86_host_state *b)
{
	return a->cr0 == b->cr0 && a->cr3 == b->cr3 && a->cr4 == b->cr4 &&
	       a->gdt.address == b->gdt.address && a->gdt.size == b->gdt.size &&
	       a->idt.address == b->idt.address && a->idt.size == b->idt.size &&
	       a->tr == b->tr && a->ldt == b->ldt && a->ds == b->ds &&
	       a->es == b->es && a->ss == b->ss && a->fs == b->fs &&
	       a->gs == b->gs && a->efer == b->efer &&
	       a->fs_base == b->fs_base && a->gs_base == b->gs_base &&
	       a->kernel_gs_base == b->kernel_gs_base &&
	       a->sysenter_cs == b->sysenter_cs && a->pat == b->pat &&
	       a->dr7 == b->dr7;
}

/* Per-CPU host values the switch needs: captured at every entry. */
static void bt86_prepare_entry(struct bt86_vm *vm, struct bt86_xdata *x)
{
	unsigned long cr4 = native_read_cr4();

	rdmsrl(MSR_FS_BASE, x->host_fs_base);
	rdmsrl(MSR_GS_BASE, x->host_gs_base);
	bt86_build_cross_gdt(x);
	x->mon_cr0 = native_read_cr0() | X86_CR0_TS;
	/*
	 * Guest ring 0 runs at CPL 1, which paging treats as supervisor
	 * (SDM 3A §4.6): SMEP would refuse its instruction fetches from
	 * guest (user) pages and SMAP its data accesses, so both go.
	 */
	x->mon_cr4 = (cr4 & ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE |
			      X86_CR4_CET | CR4_LASS | CR4_FRED | X86_CR4_PCE |
			      X86_CR4_VME | X86_CR4_PVI)) |
		     (boot_cpu_has(X86_FEATURE_UMIP) ? X86_CR4_UMIP : 0);
	x->mon_cr3 = bt86_mmu_root_pa(&vm->mmu) |
		     ((cr4 & X86_CR4_PCIDE) ? BT86_MONITOR_PCID : 0);
}

/* --- handing host events back ------------------------------------------------ */

/*
 * Deliver vector v through the host's IDT as if it had arrived now, with
 * interrupts still off: "int $v" from a stub table (VirtualBox's simple
 * dispatch).  The handler acknowledges the local APIC itself.
 */
static void bt86_forward_vector(unsigned int v)
{
	bt86_int_stub_t stub = (bt86_int_stub_t)(bt86_int_stubs + v * 16);

	stub();
}

static void bt86_forward_host_events(struct bt86_vcpu *vcpu)
{
	struct bt86_xdata *x = vcpu->x;

	/*
	 * A host event taken in guest context: forward it even when the
	 * monitor then faulted.  An interrupt not handed on would never be
	 * acknowledged (its local APIC in-service bit would block every
	 * lower-priority vector on this CPU for good), and an NMI taken in
	 * guest context stays blocked until the host's handler IRETs.
	 */
	if (x->mon_call == XMON_TRAP && bt86_is_host_event(x->vector)) {
		if (x->vector == 2)
			vcpu->stats.host_nmis++;
		else if (x->vector == 18)
			vcpu->stats.host_mces++;
		else
			vcpu->stats.host_irqs++;
		bt86_forward_vector(x->vector);
	}
	if (x->nmi_pending) {
		x->nmi_pending = 0;
		vcpu->stats.host_nmis++;
		bt86_forward_vector(2);
	}
	if (x->mce_pending) {
		x->mce_pending = 0;
		vcpu->stats.host_mces++;
		bt86_forward_vector(18);
	}
}

/* --- one trip through the monitor -------------------------------------------- */

/*
 * Enter the guest and come back, with interrupts off throughout the
 * switch.  Host events taken meanwhile are forwarded before interrupts are
 * enabled again.  The caller holds the FPU (kernel_fpu_begin()).
 */
static void bt86_world_trip(struct bt86_vcpu *vcpu)
{
	struct bt86_host_state before, after;
	struct bt86_xdata *x = vcpu->x;
	struct bt86_msr_save msrs;
	u64 tsc;

	if (check_host_state)
		bt86_read_host_state(&before);
	bt86_msrs_to_monitor(&msrs);
	bt86_prepare_entry(vcpu->vm, x);
	x->exit = 0;
	tsc = rdtsc();
	bt86_world_enter(x);
	vcpu->tsc_trips += rdtsc() - tsc;
	bt86_msrs_to_host(&msrs);
	vcpu->stats.world_switches++;
	if (check_host_state) {
		bt86_read_host_state(&after);
		if (!bt86_host_state_equal(&before, &after))
			vcpu->stats.host_state_mismatches++;
	}
	bt86_forward_host_events(vcpu);
}

/* A monitor fault: the VM is over; the dump goes to the launcher. */
static void bt86_report_monitor_fault(struct bt86_vcpu *vcpu)
{
	struct bt86_xdata *x = vcpu->x;
	struct bt86_run *run = vcpu->run;
	u64 *d = run->internal.data;

	vcpu->dead = true;
	run->exit_reason = BT86_EXIT_INTERNAL_ERROR;
	run->internal.suberror = BT86_INTERNAL_MONITOR_FAULT;
	d[0] = x->fault_vector;
	d[1] = x->fault_error;
	d[2] = x->fault_rip;
	d[3] = x->fault_cs;
	d[4] = x->fault_rflags;
	d[5] = x->fault_rsp;
	d[6] = x->fault_ss;
	d[7] = x->fault_cr2;
	d[8] = x->regs.eip;
	d[9] = x->sregs.cs.selector;
	d[10] = x->regs.eflags;
	d[11] = x->regs.esp;
	run->internal.ndata = 12;
	pr_err_ratelimited(
		"bt86: monitor fault: vector %llu error %#llx at %#llx (cr2 %#llx); the VM is stopped\n",
		x->fault_vector, x->fault_error, x->fault_rip, x->fault_cr2);
}

/*
 * The guest did what this bt86 cannot run: what (data[0..2]), then the
 * last four traps, oldest first, each as vector << 32 | error, cs << 32 |
 * eip, eflags << 32 | esp (docs/ioctl-api.md).
 */
static void bt86_report_unsupported(struct bt86_vcpu *vcpu)
{
	const struct bt86_xdata *x = vcpu->x;
	u64 *d = vcpu->run->internal.data;
	unsigned int i;

	vcpu->run->exit_reason = BT86_EXIT_INTERNAL_ERROR;
	vcpu->run->internal.suberror = BT86_INTERNAL_UNSUPPORTED;
	memcpy(d, x->v.unsupported, sizeof(x->v.unsupported));
	for (i = 0; i < 4; i++) {
		const struct bt86_trap_record *t =
			&x->v.trace[(x->v.trace_next + i) % 4];

		d[3 + i * 3] = (u64)t->vector << 32 | t->error;
		d[4 + i * 3] = (u64)t->cs << 32 | t->eip;
		d[5 + i * 3] = (u64)t->eflags << 32 | t->esp;
	}
	vcpu->run->internal.ndata = 15;
}

/* A port I/O exit: the monitor put OUT data in the I/O page already. */
static void bt86_report_io(struct bt86_vcpu *vcpu)
{
	struct bt86_run *run = vcpu->run;
	const struct bt86_xio *io = &vcpu->x->io;

	run->exit_reason = BT86_EXIT_IO;
	run->io.direction = io->direction;
	run->io.size = io->size;
	run->io.port = io->port;
	run->io.count = io->count;
	run->io.data_offset = BT86_RUN_IO_DATA_OFFSET;
}

/*
 * After a trip: true if RUN should return to userland (run->exit_reason
 * set), false to enter the guest again.
 */
static bool bt86_handle_exit(struct bt86_vcpu *vcpu)
{
	struct bt86_xdata *x = vcpu->x;
	struct bt86_run *run = vcpu->run;

	if (x->exit == XEXIT_MON_FAULT) {
		bt86_report_monitor_fault(vcpu);
		return true;
	}
	if (x->mon_call == XMON_TRAP)
		vcpu->stats.guest_traps++;
	switch (x->exit_reason) {
	case 0:
		return false; /* a host event, already forwarded */
	case BT86_EXIT_IO:
		bt86_report_io(vcpu);
		return true;
	case BT86_EXIT_MMIO:
		run->exit_reason = BT86_EXIT_MMIO;
		run->mmio.phys_addr = x->mmio.phys;
		run->mmio.len = x->mmio.len;
		run->mmio.is_write = x->mmio.is_write;
		memcpy(run->mmio.data, x->mmio.data, sizeof(run->mmio.data));
		return true;
	case BT86_EXIT_INTERNAL_ERROR:
		/* The guest did what this bt86 cannot run: the VM stops. */
		vcpu->dead = true;
		bt86_report_unsupported(vcpu);
		return true;
	case BT86_EXIT_EXCEPTION:
		run->exit_reason = BT86_EXIT_EXCEPTION;
		run->exception.vector = x->exception.vector;
		run->exception.error_code = x->exception.error_code;
		run->exception.eip = x->exception.eip;
		run->exception.cr2 = x->exception.cr2;
		return true;
	default:
		run->exit_reason = x->exit_reason;
		return true;
	}
}

/* --- BT86_RUN ------------------------------------------------------------------ */

static int bt86_world_build(struct bt86_vcpu *vcpu)
{
	struct bt86_vm *vm = vcpu->vm;
	int ret;

	mutex_lock(&vm->lock);
	ret = bt86_world_build_vm(vm);
	if (!ret)
		ret = bt86_world_build_vcpu(vcpu);
	mutex_unlock(&vm->lock);
	return ret;
}

/*
 * The run loop, as KVM's vcpu_run(): leave for userland on a pending
 * signal or immediate_exit (-EINTR), reschedule when asked, keep the FPU
 * across the trip, and check for work once more with interrupts off so
 * that no wakeup is lost.
 */
int bt86_world_run(struct bt86_vcpu *vcpu)
{
	struct bt86_run *run = vcpu->run;
	u64 start;
	int ret;

	if (vcpu->dead)
		return -EIO;
	ret = bt86_world_build(vcpu);
	if (ret)
		return ret;
	start = ktime_get_ns();
	if (vcpu->last_exit_ns)
		vcpu->stats.userland_ns += start - vcpu->last_exit_ns;
	run->exit_reason = BT86_EXIT_UNKNOWN;
	bt86_hand_state_to_monitor(vcpu);
	for (;;) {
		if (READ_ONCE(run->immediate_exit) || signal_pending(current)) {
			run->exit_reason = BT86_EXIT_INTR;
			ret = -EINTR;
			break;
		}
		cond_resched();
		kernel_fpu_begin();
		local_irq_disable();
		if (need_resched() || signal_pending(current)) {
			local_irq_enable();
			kernel_fpu_end();
			continue;
		}
		bt86_world_trip(vcpu);
		local_irq_enable();
		kernel_fpu_end();
		if (bt86_handle_exit(vcpu))
			break;
	}
	bt86_take_state_from_monitor(vcpu);
	if (run->exit_reason < ARRAY_SIZE(vcpu->stats.exits))
		vcpu->stats.exits[run->exit_reason]++;
	vcpu->last_exit_ns = ktime_get_ns();
	vcpu->run_ns += vcpu->last_exit_ns - start;
	return ret;
}

static u64 bt86_tsc_to_ns(u64 cycles)
{
	return tsc_khz ? mul_u64_u32_div(cycles, 1000000, tsc_khz) : 0;
}

/*
 * BT86_GET_VCPU_STATS: the module's counters, the monitor's, and the time
 * split: guest code (the monitor's TSC count), the rest of the monitor's
 * world, the rest of BT86_RUN, and the launcher between runs.
 */
void bt86_world_stats(struct bt86_vcpu *vcpu, struct bt86_vcpu_stats *st)
{
	const struct bt86_xdata *x = vcpu->x;
	u64 trips_ns = bt86_tsc_to_ns(vcpu->tsc_trips);
	unsigned int i;

	*st = vcpu->stats;
	st->kernel_ns = vcpu->run_ns > trips_ns ? vcpu->run_ns - trips_ns : 0;
	if (!x)
		return;
	st->guest_ns = bt86_tsc_to_ns(x->stats.tsc_guest);
	st->monitor_ns = trips_ns > st->guest_ns ? trips_ns - st->guest_ns : 0;
	for (i = 0; i < ARRAY_SIZE(st->emulated); i++)
		st->emulated[i] = x->stats.emulated[i];
	for (i = 0; i < ARRAY_SIZE(st->exceptions); i++)
		st->exceptions[i] = x->stats.exceptions[i];
	st->software_interrupts = x->stats.software_interrupts;
	st->external_interrupts = x->stats.external_interrupts;
	st->bt = x->stats.bt;
	st->shadow = x->stats.shadow;
}

/* BT86_TEST_MONITOR_FAULT: arm a deliberate fault for the next trap. */
int bt86_world_arm_fault(struct bt86_vcpu *vcpu)
{
	int ret = bt86_world_build(vcpu);

	if (ret)
		return ret;
	vcpu->x->debug_fault = 1;
	return 0;
}

/* Checked once at module load: the crosspage code is what switch.S says. */
int bt86_world_check(void)
{
	if (!PAGE_ALIGNED(bt86_xpage_start) ||
	    bt86_xpage_end - bt86_xpage_start != 2 * PAGE_SIZE ||
	    bt86_trap_stubs - bt86_xpage_start != PAGE_SIZE) {
		pr_err("bt86: the crosspage code is not two aligned pages\n");
		return -EINVAL;
	}
	if (native_read_cr4() & CR4_FRED) {
		pr_err("bt86: this host uses FRED, which bt86 does not support yet; boot it with fred=off\n");
		return -ENODEV;
	}
	return 0;
}
