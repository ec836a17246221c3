// SPDX-License-Identifier: GPL-2.0
/*
 * The bt86 backend: /dev/bt86, our kernel module and monitor, through the
 * ioctls of kmod/uapi/bt86.h.  The shape is KVM's, so this file mirrors
 * backend-kvm.c; the guest state is 32-bit from the start.
 *
 * --accel bt creates the VM in BT86_MODE_BT (binary translation), --accel
 * tae in BT86_MODE_TAE (trap-and-emulate, the teaching mode).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "backend-bt86.h"
#include "bt86.h"
#include "cpu-model.h"
#include "util.h"

#define BT86_DEV "/dev/bt86"

static int bt86__fail(const char *what, const char *ioctl_name)
{
	int err = errno;

	pr_msg("%s failed (%s): %s", what, ioctl_name, strerror(err));
	return -err;
}

static int bt86__open(struct bt86_backend *k)
{
	int err;

	k->sys_fd = open(BT86_DEV, O_RDWR | O_CLOEXEC);
	if (k->sys_fd >= 0)
		return 0;
	err = errno;
	if (err == ENOENT)
		pr_msg("%s not found: the bt86 kernel module is not loaded (insmod build/bt86.ko, or try it in the sandbox with tests/vm/exec)",
		       BT86_DEV);
	else if (err == EACCES || err == EPERM)
		pr_msg("%s: permission denied (run as root or give your user access to %s)",
		       BT86_DEV, BT86_DEV);
	else
		pr_msg("cannot open %s: %s", BT86_DEV, strerror(err));
	return -err;
}

static int bt86__create(struct backend *b, int mode)
{
	struct bt86_backend *k = calloc(1, sizeof(*k));
	int version, ret;

	if (!k)
		return -ENOMEM;
	k->sys_fd = k->vm_fd = k->vcpu_fd = -1;
	b->priv = k;
	ret = bt86__open(k);
	if (ret)
		return ret;
	version = ioctl(k->sys_fd, BT86_GET_API_VERSION, 0);
	if (version < 0)
		return bt86__fail("reading the API version",
				  "BT86_GET_API_VERSION");
	if (version != BT86_API_VERSION) {
		pr_msg("%s speaks API version %d but this launcher speaks version %d: rebuild and reload the module and the launcher together",
		       BT86_DEV, version, BT86_API_VERSION);
		return -EPROTO;
	}
	k->vm_fd = ioctl(k->sys_fd, BT86_CREATE_VM, mode);
	if (k->vm_fd < 0)
		return bt86__fail("creating the VM", "BT86_CREATE_VM");
	return 0;
}

static int bt86__add_memory(struct backend *b, uint64_t gpa, uint64_t size,
			    void *host)
{
	struct bt86_backend *k = b->priv;
	struct bt86_memory_region region = {
		.slot = k->nr_slots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(k->vm_fd, BT86_SET_MEMORY_REGION, &region) < 0)
		return bt86__fail("registering guest memory",
				  "BT86_SET_MEMORY_REGION");
	k->nr_slots++;
	return 0;
}

/* The guest's CPU model (cpu-model.c), as CPUID shows it. */
static int bt86__set_cpuid(struct bt86_backend *k)
{
	const struct cpu_model_leaf *leaves;
	size_t i, n = cpu_model__leaves(&leaves);
	struct bt86_cpuid *c;
	int ret;

	c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = n;
	for (i = 0; i < n; i++) {
		c->entries[i].function = leaves[i].function;
		c->entries[i].eax = leaves[i].eax;
		c->entries[i].ebx = leaves[i].ebx;
		c->entries[i].ecx = leaves[i].ecx;
		c->entries[i].edx = leaves[i].edx;
	}
	ret = ioctl(k->vcpu_fd, BT86_SET_CPUID, c);
	free(c);
	if (ret < 0)
		return bt86__fail("setting the guest CPUID", "BT86_SET_CPUID");
	return 0;
}

static int bt86__create_vcpu(struct backend *b)
{
	struct bt86_backend *k = b->priv;
	int size;

	k->vcpu_fd = ioctl(k->vm_fd, BT86_CREATE_VCPU, 0);
	if (k->vcpu_fd < 0)
		return bt86__fail("creating the vCPU", "BT86_CREATE_VCPU");
	size = ioctl(k->sys_fd, BT86_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct bt86_run))
		return bt86__fail("sizing the run area",
				  "BT86_GET_VCPU_MMAP_SIZE");
	k->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      k->vcpu_fd, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		return bt86__fail("mapping the run area", "mmap");
	}
	k->run_size = size;
	k->vcpu_thread = pthread_self();
	return bt86__set_cpuid(k);
}

static void bt86__flat_segment(struct bt86_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->present = 1;
	s->db = 1;
	s->g = 1;
}

static int bt86__set_boot_cpu(struct backend *b, const struct boot_cpu *cpu)
{
	struct bt86_backend *k = b->priv;
	struct bt86_sregs sregs;
	struct bt86_regs regs = {
		.eax = cpu->eax,
		.ecx = cpu->ecx,
		.edx = cpu->edx,
		.ebx = cpu->ebx,
		.esp = cpu->esp,
		.ebp = cpu->ebp,
		.esi = cpu->esi,
		.edi = cpu->edi,
		.eip = cpu->eip,
		.eflags = cpu->eflags,
	};

	memset(&sregs, 0, sizeof(sregs));
	bt86__flat_segment(&sregs.cs, boot_cpu_code_sel(cpu), true);
	bt86__flat_segment(&sregs.ds, boot_cpu_data_sel(cpu), false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* No task register or LDT yet: the guest loads its own. */
	sregs.tr.type = 0xb; /* busy 32-bit TSS, as after reset */
	sregs.tr.present = 1;
	sregs.tr.limit = 0xffff;
	sregs.ldt.type = 0x2;
	sregs.ldt.present = 1;
	sregs.ldt.limit = 0xffff;
	sregs.gdt.base = cpu->gdt_base;
	sregs.gdt.limit = cpu->gdt_limit ? cpu->gdt_limit : 0xffff;
	sregs.idt.limit = 0xffff;
	sregs.cr0 = cpu->cr0;
	if (ioctl(k->vcpu_fd, BT86_SET_SREGS, &sregs) < 0)
		return bt86__fail("setting the segment registers",
				  "BT86_SET_SREGS");
	if (ioctl(k->vcpu_fd, BT86_SET_REGS, &regs) < 0)
		return bt86__fail("setting the registers", "BT86_SET_REGS");
	return 0;
}

static void bt86__translate_exit(struct bt86_backend *k, struct vcpu_exit *e)
{
	struct bt86_run *run = k->run;

	switch (run->exit_reason) {
	case BT86_EXIT_IO:
		e->reason = EXIT_IO;
		e->io.is_write = run->io.direction == BT86_EXIT_IO_OUT;
		e->io.size = run->io.size;
		e->io.port = run->io.port;
		e->io.count = run->io.count;
		e->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case BT86_EXIT_MMIO:
		e->reason = EXIT_MMIO;
		e->mmio.addr = run->mmio.phys_addr;
		e->mmio.len = run->mmio.len;
		e->mmio.is_write = run->mmio.is_write;
		e->mmio.data = run->mmio.data;
		break;
	case BT86_EXIT_HLT:
		e->reason = EXIT_HLT;
		break;
	case BT86_EXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		break;
	case BT86_EXIT_INTR:
		e->reason = EXIT_INTR;
		break;
	case BT86_EXIT_IRQ_WINDOW:
		e->reason = EXIT_IRQ_WINDOW;
		break;
	case BT86_EXIT_INTERNAL_ERROR:
		e->reason = EXIT_INTERNAL_ERROR;
		e->code = run->internal.suberror;
		e->ndata = run->internal.ndata < 16 ? run->internal.ndata : 16;
		e->data = (const uint64_t *)run->internal.data;
		break;
	case BT86_EXIT_EXCEPTION:
		e->reason = EXIT_EXCEPTION;
		e->exception.vector = run->exception.vector;
		e->exception.error_code = run->exception.error_code;
		e->exception.eip = run->exception.eip;
		e->exception.cr2 = run->exception.cr2;
		break;
	default:
		e->reason = EXIT_UNKNOWN;
		e->code = run->exit_reason;
		break;
	}
}

/* The I/O data must lie inside the run area: the module wrote the offset. */
static bool bt86__io_in_bounds(const struct bt86_backend *k,
			       const struct vcpu_exit *e)
{
	uint64_t off = k->run->io.data_offset;
	uint64_t len = (uint64_t)e->io.count * e->io.size;

	return off <= k->run_size && len <= k->run_size - off;
}

static int bt86__run(struct backend *b, struct vcpu_exit *e)
{
	struct bt86_backend *k = b->priv;
	int ret = ioctl(k->vcpu_fd, BT86_RUN, 0);
	int err = errno;

	__atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	e->ready_for_interrupt = k->run->ready_for_interrupt_injection;
	e->if_flag = k->run->if_flag;
	if (ret < 0) {
		if (err == EINTR || err == EAGAIN) {
			e->reason = EXIT_INTR;
			return 0;
		}
		if (err == ENOSPC) {
			pr_msg("the guest's RAM reaches the binary translator's window just under 4 GiB: give it less memory (--mem), or use --accel tae or kvm");
			return -err;
		}
		pr_msg("running the guest failed (BT86_RUN): %s",
		       strerror(err));
		return -err;
	}
	bt86__translate_exit(k, e);
	if (e->reason == EXIT_IO && !bt86__io_in_bounds(k, e)) {
		pr_msg("the module reported I/O data outside the run area (offset %llu, %u x %u bytes)",
		       (unsigned long long)k->run->io.data_offset, e->io.count,
		       e->io.size);
		return -EPROTO;
	}
	return 0;
}

static int bt86__inject(struct backend *b, uint8_t vector)
{
	struct bt86_backend *k = b->priv;
	struct bt86_interrupt irq = { .vector = vector };

	if (ioctl(k->vcpu_fd, BT86_INTERRUPT, &irq) < 0)
		return bt86__fail("injecting an interrupt", "BT86_INTERRUPT");
	return 0;
}

static void bt86__set_irq_window(struct backend *b, bool on)
{
	struct bt86_backend *k = b->priv;

	k->run->request_interrupt_window = on;
}

static void bt86__kick(struct backend *b)
{
	struct bt86_backend *k = b->priv;

	if (k->run)
		backend__kick_thread(&k->run->immediate_exit, k->vcpu_thread);
}

static void dump_segment(struct cpu_dump *d, int i,
			 const struct bt86_segment *s)
{
	d->seg[i].sel = s->selector;
	d->seg[i].base = s->base;
	d->seg[i].limit = s->limit;
}

static int bt86__get_cpu(struct backend *b, struct cpu_dump *d)
{
	struct bt86_backend *k = b->priv;
	struct bt86_sregs s;
	struct bt86_regs r;

	if (ioctl(k->vcpu_fd, BT86_GET_REGS, &r) < 0)
		return bt86__fail("reading the registers", "BT86_GET_REGS");
	if (ioctl(k->vcpu_fd, BT86_GET_SREGS, &s) < 0)
		return bt86__fail("reading the segment registers",
				  "BT86_GET_SREGS");
	*d = (struct cpu_dump){
		.eax = r.eax,
		.ebx = r.ebx,
		.ecx = r.ecx,
		.edx = r.edx,
		.esi = r.esi,
		.edi = r.edi,
		.esp = r.esp,
		.ebp = r.ebp,
		.eip = r.eip,
		.eflags = r.eflags,
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

static void bt86__destroy(struct backend *b)
{
	struct bt86_backend *k = b->priv;

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

const struct backend_ops bt86_backend_ops = {
	.name = "bt86",
	.create = bt86__create,
	.add_memory = bt86__add_memory,
	.create_vcpu = bt86__create_vcpu,
	.set_boot_cpu = bt86__set_boot_cpu,
	.run = bt86__run,
	.inject = bt86__inject,
	.set_irq_window = bt86__set_irq_window,
	.kick = bt86__kick,
	.get_cpu = bt86__get_cpu,
	.print_stats = bt86__print_stats,
	.report_internal = bt86__report_internal,
	.destroy = bt86__destroy,
};
