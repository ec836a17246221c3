// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM backend: the same guest, devices and run loop as bt86, with the
 * CPU virtualized by hardware through /dev/kvm.  No in-kernel irqchip: the
 * launcher's PIC decides, and KVM_INTERRUPT injects when the guest is ready
 * (Documentation/virt/kvm/api.rst, "request_interrupt_window").
 *
 * A kick sets run->immediate_exit and signals the vCPU thread: if the vCPU
 * is inside KVM_RUN the signal gets it out, if it is about to enter,
 * immediate_exit makes KVM_RUN return at once, so no wakeup is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "cpu-model.h"
#include "util.h"

#define KVM_DEV	     "/dev/kvm"
#define KVM_TSS_ADDR 0xfffbd000

struct kvm_backend {
	int sys_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t vcpu_thread;
	int nr_slots;
};

static int kvm__fail(const char *what, const char *ioctl_name)
{
	int err = errno;

	pr_msg("kvm: %s failed (%s): %s", what, ioctl_name, strerror(err));
	return -err;
}

static int kvm__create(struct backend *b, int mode)
{
	struct kvm_backend *k = calloc(1, sizeof(*k));
	int version;

	if (!k)
		return -ENOMEM;
	k->sys_fd = k->vm_fd = k->vcpu_fd = -1;
	b->priv = k;
	k->sys_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		int err = errno;

		if (err == ENOENT)
			pr_msg("%s not found: KVM is not available on this host",
			       KVM_DEV);
		else if (err == EACCES || err == EPERM)
			pr_msg("%s: permission denied (add yourself to the kvm group or run as root)",
			       KVM_DEV);
		else
			pr_msg("cannot open %s: %s", KVM_DEV, strerror(err));
		return -err;
	}
	version = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_msg("kvm: API version %d, this launcher needs %d", version,
		       KVM_API_VERSION);
		return -EINVAL;
	}
	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		return kvm__fail("creating the VM", "KVM_CREATE_VM");
	/* Intel VMX needs three pages for a real-mode TSS; park them high. */
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return kvm__fail("placing the TSS", "KVM_SET_TSS_ADDR");
	return 0;
}

static int kvm__add_memory(struct backend *b, uint64_t gpa, uint64_t size,
			   void *host)
{
	struct kvm_backend *k = b->priv;
	struct kvm_userspace_memory_region region = {
		.slot = k->nr_slots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return kvm__fail("registering guest memory",
				 "KVM_SET_USER_MEMORY_REGION");
	k->nr_slots++;
	return 0;
}

/*
 * MSRs whose KVM defaults would make the CPU differ from bt86's and native
 * QEMU's (docs/vcpu.md, "The CPU model"):
 *   IA32_APIC_BASE  KVM resets it to "enabled" and then shows CPUID.1:EDX.APIC;
 *                   the platform has no local APIC
 *   IA32_BIOS_SIGN_ID  microcode revision 1 (bits 63:32), as bt86 and QEMU
 *   MSR_PLATFORM_INFO  no CPUID faulting (KVM offers it; Linux would list
 *                   "cpuid_fault" among the flags)
 */
static int kvm__set_msrs(struct kvm_backend *k)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} msrs = { .hdr.nmsrs = 3,
		   .e = { { .index = 0x1b, .data = 0 },
			  { .index = 0x8b, .data = 1ULL << 32 },
			  { .index = 0xce, .data = 0 } } };

	if (ioctl(k->vcpu_fd, KVM_SET_MSRS, &msrs) != 3)
		return kvm__fail("setting the model's MSRs", "KVM_SET_MSRS");
	return 0;
}

/*
 * The guest's CPU model (cpu-model.c), the same as under bt86; KVM shows
 * exactly these leaves.
 */
static int kvm__set_cpuid(struct kvm_backend *k)
{
	const struct cpu_model_leaf *leaves;
	size_t i, n = cpu_model__leaves(&leaves);
	struct kvm_cpuid2 *cpuid;
	int ret;

	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = n;
	for (i = 0; i < n; i++) {
		cpuid->entries[i].function = leaves[i].function;
		cpuid->entries[i].eax = leaves[i].eax;
		cpuid->entries[i].ebx = leaves[i].ebx;
		cpuid->entries[i].ecx = leaves[i].ecx;
		cpuid->entries[i].edx = leaves[i].edx;
	}
	ret = ioctl(k->vcpu_fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (ret < 0)
		return kvm__fail("setting the guest CPUID", "KVM_SET_CPUID2");
	return kvm__set_msrs(k);
}

static int kvm__create_vcpu(struct backend *b)
{
	struct kvm_backend *k = b->priv;
	int size;

	k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
	if (k->vcpu_fd < 0)
		return kvm__fail("creating the vCPU", "KVM_CREATE_VCPU");
	size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return kvm__fail("sizing the run area",
				 "KVM_GET_VCPU_MMAP_SIZE");
	k->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      k->vcpu_fd, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		return kvm__fail("mapping the run area", "mmap");
	}
	k->run_size = size;
	k->vcpu_thread = pthread_self();
	return kvm__set_cpuid(k);
}

static void kvm__flat_segment(struct kvm_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3; /* execute/read accessed, r/w accessed */
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

static int kvm__set_boot_cpu(struct backend *b, const struct boot_cpu *cpu)
{
	struct kvm_backend *k = b->priv;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rax = cpu->eax,
		.rbx = cpu->ebx,
		.rcx = cpu->ecx,
		.rdx = cpu->edx,
		.rsi = cpu->esi,
		.rdi = cpu->edi,
		.rsp = cpu->esp,
		.rbp = cpu->ebp,
		.rip = cpu->eip,
		.rflags = cpu->eflags,
	};

	if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return kvm__fail("reading the segment registers",
				 "KVM_GET_SREGS");
	kvm__flat_segment(&sregs.cs, boot_cpu_code_sel(cpu), true);
	kvm__flat_segment(&sregs.ds, boot_cpu_data_sel(cpu), false);
	if (cpu->gdt_limit) {
		sregs.gdt.base = cpu->gdt_base;
		sregs.gdt.limit = cpu->gdt_limit;
	}
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = cpu->cr0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return kvm__fail("setting the segment registers",
				 "KVM_SET_SREGS");
	if (ioctl(k->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return kvm__fail("setting the registers", "KVM_SET_REGS");
	return 0;
}

static void kvm__translate_exit(struct kvm_backend *k, struct vcpu_exit *e)
{
	struct kvm_run *run = k->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->reason = EXIT_IO;
		e->io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
		e->io.size = run->io.size;
		e->io.port = run->io.port;
		e->io.count = run->io.count;
		e->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		e->reason = EXIT_MMIO;
		e->mmio.addr = run->mmio.phys_addr;
		e->mmio.len = run->mmio.len;
		e->mmio.is_write = run->mmio.is_write;
		e->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		e->reason = EXIT_IRQ_WINDOW;
		break;
	case KVM_EXIT_INTR:
		e->reason = EXIT_INTR;
		break;
	case KVM_EXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		e->reason = EXIT_FAIL_ENTRY;
		e->code = run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		e->reason = EXIT_INTERNAL_ERROR;
		e->code = run->internal.suberror;
		e->ndata = 0;
		e->data = NULL;
		break;
	default:
		e->reason = EXIT_UNKNOWN;
		e->code = run->exit_reason;
		break;
	}
}

static int kvm__run(struct backend *b, struct vcpu_exit *e)
{
	struct kvm_backend *k = b->priv;
	int ret = ioctl(k->vcpu_fd, KVM_RUN, 0);
	int err = errno;

	/* A kick that arrives from now on makes the next KVM_RUN return. */
	__atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	e->ready_for_interrupt = k->run->ready_for_interrupt_injection;
	e->if_flag = k->run->if_flag;
	if (ret < 0) {
		if (err == EINTR || err == EAGAIN) {
			e->reason = EXIT_INTR;
			return 0;
		}
		pr_msg("kvm: running the guest failed (KVM_RUN): %s",
		       strerror(err));
		return -err;
	}
	kvm__translate_exit(k, e);
	return 0;
}

static int kvm__inject(struct backend *b, uint8_t vector)
{
	struct kvm_backend *k = b->priv;
	struct kvm_interrupt irq = { .irq = vector };

	if (ioctl(k->vcpu_fd, KVM_INTERRUPT, &irq) < 0)
		return kvm__fail("injecting an interrupt", "KVM_INTERRUPT");
	return 0;
}

static void kvm__set_irq_window(struct backend *b, bool on)
{
	struct kvm_backend *k = b->priv;

	k->run->request_interrupt_window = on;
}

static void kvm__kick(struct backend *b)
{
	struct kvm_backend *k = b->priv;

	if (k->run)
		backend__kick_thread(&k->run->immediate_exit, k->vcpu_thread);
}

static void dump_segment(struct cpu_dump *d, int i, const struct kvm_segment *s)
{
	d->seg[i].sel = s->selector;
	d->seg[i].base = s->base;
	d->seg[i].limit = s->limit;
}

static int kvm__get_cpu(struct backend *b, struct cpu_dump *d)
{
	struct kvm_backend *k = b->priv;
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(k->vcpu_fd, KVM_GET_REGS, &r) < 0)
		return kvm__fail("reading the registers", "KVM_GET_REGS");
	if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return kvm__fail("reading the segment registers",
				 "KVM_GET_SREGS");
	*d = (struct cpu_dump){
		.eax = r.rax,
		.ebx = r.rbx,
		.ecx = r.rcx,
		.edx = r.rdx,
		.esi = r.rsi,
		.edi = r.rdi,
		.esp = r.rsp,
		.ebp = r.rbp,
		.eip = r.rip,
		.eflags = r.rflags,
		.cr0 = s.cr0,
		.cr2 = s.cr2,
		.cr3 = s.cr3,
		.cr4 = s.cr4,
		.gdt_base = s.gdt.base,
		.gdt_limit = s.gdt.limit,
		.idt_base = s.idt.base,
		.idt_limit = s.idt.limit,
	};
	dump_segment(d, 0, &s.cs);
	dump_segment(d, 1, &s.ds);
	dump_segment(d, 2, &s.es);
	dump_segment(d, 3, &s.fs);
	dump_segment(d, 4, &s.gs);
	dump_segment(d, 5, &s.ss);
	return 0;
}

static void kvm__destroy(struct backend *b)
{
	struct kvm_backend *k = b->priv;

	if (!k)
		return;
	if (k->run)
		munmap(k->run, k->run_size);
	if (k->vcpu_fd >= 0)
		close(k->vcpu_fd);
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	free(k);
	b->priv = NULL;
}

const struct backend_ops kvm_backend_ops = {
	.name = "kvm",
	.create = kvm__create,
	.add_memory = kvm__add_memory,
	.create_vcpu = kvm__create_vcpu,
	.set_boot_cpu = kvm__set_boot_cpu,
	.run = kvm__run,
	.inject = kvm__inject,
	.set_irq_window = kvm__set_irq_window,
	.kick = kvm__kick,
	.get_cpu = kvm__get_cpu,
	.destroy = kvm__destroy,
};
