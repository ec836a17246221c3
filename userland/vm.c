// SPDX-License-Identifier: GPL-2.0
/*
 * The machine and its run loop, common to every backend.
 *
 * Parts: setting up RAM and devices (vm__init), loading and creating the
 * backend (vm__boot), the run loop with interrupt delivery and exit
 * handling (vm__run), and the end: exit status and messages.
 *
 * Interrupt delivery follows the PIC: when its INT output is asserted and
 * the backend says the guest can take an interrupt now (IF set, no
 * interrupt shadow), the acknowledge cycle picks the vector and the backend
 * injects it; otherwise the backend is asked for an interrupt window exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bt86.h"
#include "util.h"
#include "vm.h"

const char *const exit_reason_names[EXIT_NR] = {
	[EXIT_IO] = "port I/O",
	[EXIT_MMIO] = "MMIO",
	[EXIT_HLT] = "HLT",
	[EXIT_IRQ_WINDOW] = "interrupt window",
	[EXIT_INTR] = "kicked (signal)",
	[EXIT_SHUTDOWN] = "shutdown (triple fault)",
	[EXIT_FAIL_ENTRY] = "failed entry",
	[EXIT_INTERNAL_ERROR] = "internal error",
	[EXIT_EXCEPTION] = "unhandled guest exception",
	[EXIT_UNKNOWN] = "unknown",
};

/* --- setting up ------------------------------------------------------------ */

static void vm__pic_notify(void *opaque)
{
	vm__kick(opaque);
}

static void vm__wake_io(void *opaque)
{
	iothread__wake(opaque);
}

static int vm__init_devices(struct vm *vm)
{
	struct ioport_bus *bus = &vm->bus;
	int ret;

	pic__init(&vm->pic);
	vm->pic.notify = vm__pic_notify;
	vm->pic.notify_opaque = vm;
	pit__init(&vm->pit, &vm->pic, NULL, NULL);
	vm->pit.changed = vm__wake_io;
	vm->pit.changed_opaque = vm;
	uart__init(&vm->uart, COM1_BASE, COM1_IRQ, &vm->pic);
	vm->uart.tx = console__write;
	vm->uart.tx_opaque = &vm->console;
	vm->uart.rx_ready = vm__wake_io; /* wakes the I/O thread */
	vm->uart.rx_opaque = vm;
	rtc__init(&vm->rtc, vm->ram.size, NULL, NULL);
	i8042__init(&vm->kbc, &vm->pic, &vm->stop);
	post__init(&vm->post);
	debug_exit__init(&vm->debug_exit, &vm->stop);
	port92__init(&vm->port92, &vm->stop);
	testdev__init(&vm->testdev);

	ret = pic__register(&vm->pic, bus);
	if (!ret)
		ret = pit__register(&vm->pit, bus);
	if (!ret)
		ret = uart__register(&vm->uart, bus);
	if (!ret)
		ret = rtc__register(&vm->rtc, bus);
	if (!ret)
		ret = i8042__register(&vm->kbc, bus);
	if (!ret)
		ret = post__register(&vm->post, bus);
	if (!ret)
		ret = debug_exit__register(&vm->debug_exit, bus);
	if (!ret)
		ret = port92__register(&vm->port92, bus);
	if (!ret && vm->opts->testdev)
		ret = testdev__register(&vm->testdev, bus);
	if (ret)
		pr_msg("cannot register the devices' ports: %s",
		       strerror(-ret));
	return ret;
}

int vm__init(struct vm *vm, const struct run_options *opts)
{
	memset(vm, 0, sizeof(*vm));
	vm->opts = opts;
	vm->wake_fd = vm->timer_fd = vm->signal_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->wake, NULL);
	console__init(&vm->console, STDIN_FILENO, STDOUT_FILENO);

	vm->ram.size = opts->mem;
	vm->ram.host = mmap(NULL, vm->ram.size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram.host == MAP_FAILED) {
		vm->ram.host = NULL;
		pr_msg("cannot allocate %llu MiB of guest memory: %s",
		       (unsigned long long)(vm->ram.size >> 20),
		       strerror(errno));
		return -1;
	}
	if (ioport__init(&vm->bus) || stats__init(&vm->stats)) {
		pr_msg("out of memory");
		return -1;
	}
	return vm__init_devices(vm) ? -1 : 0;
}

static int vm__create_backend(struct vm *vm, const struct boot_cpu *cpu)
{
	struct backend *b = &vm->backend;
	int mode = vm->opts->accel == ACCEL_TAE ? BT86_MODE_TAE : BT86_MODE_BT;

	if (vm->opts->bt_checked)
		mode |= BT86_VM_BT_CHECKED;

	b->ops = vm->opts->accel == ACCEL_KVM ? &kvm_backend_ops
					      : &bt86_backend_ops;
	vm->backend_created = true;
	if (b->ops->create(b, mode) ||
	    b->ops->add_memory(b, 0, vm->ram.size, vm->ram.host) ||
	    b->ops->create_vcpu(b) || b->ops->set_boot_cpu(b, cpu))
		return -1;
	return 0;
}

int vm__boot(struct vm *vm)
{
	const struct run_options *o = vm->opts;
	struct boot_args args = {
		.kernel = o->kernel,
		.initrd = o->initrd,
		.append = o->append,
	};
	char err[LOADER_ERR_LEN];
	struct boot_cpu cpu;

	if (loader__load(&vm->ram, &args, &cpu, err)) {
		pr_msg("%s", err);
		return -1;
	}
	if (vm__create_backend(vm, &cpu))
		return -1;
	if (iothread__start(vm))
		return -1;
	return 0;
}

/* --- kicks ------------------------------------------------------------------ */

void vm__kick(struct vm *vm)
{
	pthread_cond_broadcast(&vm->wake);
	/* Out of the HLT wait, the vCPU looks at the devices anyway. */
	if (vm->halted)
		return;
	if (vm->backend_created && vm->backend.priv)
		vm->backend.ops->kick(&vm->backend);
}

/* --- the run loop --------------------------------------------------------------- */

/* Before entering the guest: inject or ask for a window.  Lock held. */
static int vm__deliver(struct vm *vm, const struct vcpu_exit *last)
{
	struct backend *b = &vm->backend;
	uint8_t vector;

	if (!pic__has_interrupt(&vm->pic)) {
		b->ops->set_irq_window(b, false);
		return 0;
	}
	if (last->ready_for_interrupt && last->if_flag) {
		vector = pic__ack(&vm->pic);
		if (b->ops->inject(b, vector))
			return -1;
		vm->stats.irqs_injected++;
	}
	/* More may be waiting: be told when the next can go in. */
	b->ops->set_irq_window(b, pic__has_interrupt(&vm->pic));
	return 0;
}

static void vm__handle_io(struct vm *vm, const struct vcpu_exit *e)
{
	uint32_t i, val;

	vm->stats.port_exits[e->io.port]++;
	for (i = 0; i < e->io.count; i++) {
		uint8_t *p = e->io.data + (size_t)i * e->io.size;

		val = 0;
		if (e->io.is_write)
			memcpy(&val, p, e->io.size);
		ioport__access(&vm->bus, e->io.port, e->io.size, e->io.is_write,
			       &val);
		if (!e->io.is_write)
			memcpy(p, &val, e->io.size);
	}
}

/*
 * Nothing is mapped outside RAM yet: reads give 0 and writes vanish, as
 * QEMU's PC does with unassigned memory (unassigned_mem_read(); measured
 * natively with qemu-system-i386 7.2, the reference the test guests are
 * compared with), where a real PC's bus would read all ones.
 */
static void vm__handle_mmio(struct vm *vm, const struct vcpu_exit *e)
{
	if (e->mmio.is_write) {
		vm->stats.mmio_writes++;
		return;
	}
	vm->stats.mmio_reads++;
	memset(e->mmio.data, 0, e->mmio.len < 8 ? e->mmio.len : 8);
}

/* HLT: with IF clear nothing can wake the CPU (no NMI source). */
static void vm__handle_hlt(struct vm *vm, const struct vcpu_exit *e)
{
	if (!e->if_flag) {
		stop__request(&vm->stop, STOP_HALT, 0);
		return;
	}
	vm->stats.halt_waits++;
	vm->halted = true;
	while (!pic__has_interrupt(&vm->pic) && vm->stop.reason == STOP_NONE)
		pthread_cond_wait(&vm->wake, &vm->lock);
	vm->halted = false;
}

static void vm__handle_exit(struct vm *vm, const struct vcpu_exit *e)
{
	pthread_mutex_lock(&vm->lock);
	switch (e->reason) {
	case EXIT_IO:
		vm__handle_io(vm, e);
		break;
	case EXIT_MMIO:
		vm__handle_mmio(vm, e);
		break;
	case EXIT_HLT:
		vm__handle_hlt(vm, e);
		break;
	case EXIT_IRQ_WINDOW:
	case EXIT_INTR:
		break;
	default:
		stop__request(&vm->stop, STOP_CRASH, e->reason);
		break;
	}
	pthread_mutex_unlock(&vm->lock);
}

/* The names of the exception vectors (SDM 3A, table 6-1). */
static const char *const exception_names[32] = {
	"#DE",	     "#DB", "NMI", "#BP", "#OF",
	"#BR",	     "#UD", "#NM", "#DF", "coprocessor segment overrun",
	"#TS",	     "#NP", "#SS", "#GP", "#PF",
	"vector 15", "#MF", "#AC", "#MC", "#XM",
	"#VE",	     "#CP",
};

static void vm__report_exception(struct vm *vm, const struct vcpu_exit *e)
{
	const char *name = e->exception.vector < 32 &&
					   exception_names[e->exception.vector]
				   ? exception_names[e->exception.vector]
				   : "an exception";

	pr_msg("the guest stopped: %s (vector %u, error code 0x%x) at eip %08x%s, which the %s engine cannot handle yet",
	       name, e->exception.vector, e->exception.error_code,
	       e->exception.eip,
	       e->exception.vector == 14 ? " (a page fault)" : "",
	       vm->backend.ops->name);
	if (e->exception.vector == 14)
		pr_msg("  cr2=%08x", e->exception.cr2);
}

static void vm__dump_cpu(struct vm *vm, const struct vcpu_exit *e)
{
	static const char *const segs[] = { "cs", "ds", "es", "fs", "gs", "ss" };
	struct cpu_dump d;
	int i;

	if (e->reason == EXIT_SHUTDOWN)
		pr_msg("the guest crashed: triple fault (shutdown exit)");
	else if (e->reason == EXIT_EXCEPTION)
		vm__report_exception(vm, e);
	else if (e->reason == EXIT_INTERNAL_ERROR &&
		 vm->backend.ops->report_internal)
		vm->backend.ops->report_internal(&vm->backend, e);
	else
		pr_msg("the guest crashed: %s (code 0x%llx)",
		       exit_reason_names[e->reason],
		       (unsigned long long)e->code);
	if (vm->backend.ops->get_cpu(&vm->backend, &d))
		return;
	pr_msg("  eip=%08x eflags=%08x", d.eip, d.eflags);
	pr_msg("  eax=%08x ebx=%08x ecx=%08x edx=%08x", d.eax, d.ebx, d.ecx,
	       d.edx);
	pr_msg("  esi=%08x edi=%08x ebp=%08x esp=%08x", d.esi, d.edi, d.ebp,
	       d.esp);
	pr_msg("  cr0=%08x cr2=%08x cr3=%08x cr4=%08x", d.cr0, d.cr2, d.cr3,
	       d.cr4);
	for (i = 0; i < 6; i++)
		pr_msg("  %s=%04x base=%08x limit=%08x", segs[i], d.seg[i].sel,
		       d.seg[i].base, d.seg[i].limit);
	pr_msg("  gdt=%08x/%04x idt=%08x/%04x", d.gdt_base, d.gdt_limit,
	       d.idt_base, d.idt_limit);
}

/*
 * HLT with interrupts off is how a guest without ACPI powers off (Linux's
 * machine_halt(), our guests' end); where it stopped tells a power off
 * from a kernel that gave up early (an early exception's halt loop).
 */
static void vm__report_halt(struct vm *vm)
{
	struct cpu_dump d;

	if (vm->backend.ops->get_cpu(&vm->backend, &d)) {
		pr_msg("the guest halted with interrupts disabled: clean shutdown");
		return;
	}
	pr_msg("the guest halted with interrupts disabled at %04x:%08x: clean shutdown",
	       d.seg[0].sel, d.eip);
}

/* A signal stopped the VM: where the guest was tells what a hung one did. */
static void vm__report_signal(struct vm *vm)
{
	const char *sig = sigabbrev_np(vm->stop.status);
	struct cpu_dump d;

	if (vm->backend.ops->get_cpu(&vm->backend, &d)) {
		pr_msg("terminated by SIG%s", sig);
		return;
	}
	pr_msg("terminated by SIG%s, the guest at %04x:%08x", sig, d.seg[0].sel,
	       d.eip);
}

/* The exit status for the stop request, with its one line. */
static int vm__exit_status(struct vm *vm)
{
	const struct stop_request *s = &vm->stop;

	switch (s->reason) {
	case STOP_DEBUG_EXIT:
		return s->status;
	case STOP_HALT:
		vm__report_halt(vm);
		return EXIT_CLEAN;
	case STOP_RESET_I8042:
		pr_msg("the guest requested a reset through the i8042 keyboard controller; reboot is not supported yet, so the VM stops");
		return EXIT_CLEAN;
	case STOP_RESET_PORT92:
		pr_msg("the guest requested a reset through port 0x92; reboot is not supported yet, so the VM stops");
		return EXIT_CLEAN;
	case STOP_CRASH:
		return EXIT_CRASH;
	case STOP_SIGNAL:
		vm__report_signal(vm);
		return 128 + s->status;
	case STOP_QUIT:
		pr_msg("quit (Ctrl-A x)");
		return EXIT_CLEAN;
	default:
		return EXIT_LAUNCHER;
	}
}

int vm__run(struct vm *vm)
{
	struct backend *b = &vm->backend;
	struct vcpu_exit e = { .reason = EXIT_INTR };
	uint64_t t0;
	int ret;

	vm->stats.start_ns = clock_now_ns();
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		ret = vm->stop.reason != STOP_NONE ? 1 : vm__deliver(vm, &e);
		pthread_mutex_unlock(&vm->lock);
		if (ret)
			break;

		t0 = clock_now_ns();
		ret = b->ops->run(b, &e);
		vm->stats.run_ns += clock_now_ns() - t0;
		if (ret) {
			pthread_mutex_lock(&vm->lock);
			stop__request(&vm->stop, STOP_ERROR, ret);
			pthread_mutex_unlock(&vm->lock);
			break;
		}
		vm->stats.exits[e.reason]++;
		vm__handle_exit(vm, &e);
	}
	vm->stats.end_ns = clock_now_ns();
	if (ret < 0) {
		pthread_mutex_lock(&vm->lock);
		stop__request(&vm->stop, STOP_ERROR, ret);
		pthread_mutex_unlock(&vm->lock);
	}
	if (vm->stop.reason == STOP_CRASH)
		vm__dump_cpu(vm, &e);
	iothread__stop(vm);
	console__restore(&vm->console);
	return vm__exit_status(vm);
}

void vm__exit(struct vm *vm)
{
	iothread__stop(vm);
	console__restore(&vm->console);
	if (vm->backend_created)
		vm->backend.ops->destroy(&vm->backend);
	stats__exit(&vm->stats);
	ioport__exit(&vm->bus);
	if (vm->ram.host)
		munmap(vm->ram.host, vm->ram.size);
	pthread_cond_destroy(&vm->wake);
	pthread_mutex_destroy(&vm->lock);
}
