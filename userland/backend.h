/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The backend interface: what runs the guest's instructions.  Two
 * implementations share every device model: backend-kvm.c (/dev/kvm) and
 * backend-bt86.c (/dev/bt86, our own monitor).  Both return each exit in
 * the common form below; the run loop in vm.c never sees an ioctl.
 *
 * Functions returning int give 0 or a negative errno, after printing one
 * line that says what failed.
 */
#ifndef BT86_BACKEND_H
#define BT86_BACKEND_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum exit_reason {
	EXIT_IO,   /* port I/O: see exit.io */
	EXIT_MMIO, /* access outside guest RAM: see exit.mmio */
	EXIT_HLT,
	EXIT_IRQ_WINDOW,     /* the guest can take an interrupt now */
	EXIT_INTR,	     /* kicked out (signal / immediate_exit) */
	EXIT_SHUTDOWN,	     /* triple fault */
	EXIT_FAIL_ENTRY,     /* the CPU refused the guest state */
	EXIT_INTERNAL_ERROR, /* the backend could not go on */
	EXIT_EXCEPTION,	     /* a guest exception the engine cannot handle */
	EXIT_UNKNOWN,
	EXIT_NR,
};

extern const char *const exit_reason_names[EXIT_NR];

struct vcpu_exit {
	enum exit_reason reason;
	/* Valid after every exit. */
	bool ready_for_interrupt; /* an injection would be taken now */
	bool if_flag;		  /* the guest's EFLAGS.IF */
	union {
		struct {
			bool is_write;
			uint8_t size; /* 1, 2 or 4 */
			uint16_t port;
			uint32_t count; /* > 1 for string I/O */
			uint8_t *data;	/* count * size bytes, little endian */
		} io;
		struct {
			uint64_t addr;
			uint32_t len;
			bool is_write;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t vector, error_code, eip, cr2;
		} exception;
		/* FAIL_ENTRY, INTERNAL_ERROR, UNKNOWN: the backend's code,
		 * and for INTERNAL_ERROR the backend's dump, if any. */
		struct {
			uint64_t code;
			const uint64_t *data;
			uint32_t ndata;
		};
	};
};

/* How the guest starts: 32-bit flat protected mode (multiboot). */
struct boot_cpu {
	uint32_t eax, ebx, ecx, edx, esi, edi, esp, ebp;
	uint32_t eip, eflags;
	uint32_t cr0;
	/* 0: the default flat GDT slots 0x08/0x10 and no guest GDT */
	uint16_t code_sel, data_sel;
	uint32_t gdt_base;
	uint16_t gdt_limit;
};

static inline uint16_t boot_cpu_code_sel(const struct boot_cpu *cpu)
{
	return cpu->code_sel ? cpu->code_sel : 0x08;
}

static inline uint16_t boot_cpu_data_sel(const struct boot_cpu *cpu)
{
	return cpu->data_sel ? cpu->data_sel : 0x10;
}

/* A register dump for crash reports. */
struct cpu_dump {
	uint32_t eax, ebx, ecx, edx, esi, edi, esp, ebp, eip, eflags;
	uint32_t cr0, cr2, cr3, cr4;
	struct {
		uint16_t sel;
		uint32_t base, limit;
	} seg[6]; /* cs ds es fs gs ss */
	uint32_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
};

struct backend;

struct backend_ops {
	const char *name;
	/* Open the device and create a VM; mode is backend specific. */
	int (*create)(struct backend *b, int mode);
	int (*add_memory)(struct backend *b, uint64_t gpa, uint64_t size,
			  void *host);
	int (*create_vcpu)(struct backend *b);
	int (*set_boot_cpu)(struct backend *b, const struct boot_cpu *cpu);
	/* Run until the next exit; a negative errno if the run failed. */
	int (*run)(struct backend *b, struct vcpu_exit *exit);
	/* Inject an external interrupt vector (only when ready). */
	int (*inject)(struct backend *b, uint8_t vector);
	/* Ask for an EXIT_IRQ_WINDOW exit once an interrupt can be taken. */
	void (*set_irq_window)(struct backend *b, bool on);
	/* From any thread: make run() return soon (EXIT_INTR if it must). */
	void (*kick)(struct backend *b);
	int (*get_cpu)(struct backend *b, struct cpu_dump *dump);
	/* Backend statistics for --stats (may be NULL). */
	void (*print_stats)(struct backend *b, FILE *f);
	/* Explain an EXIT_INTERNAL_ERROR in plain words (may be NULL). */
	void (*report_internal)(struct backend *b, const struct vcpu_exit *e);
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	void *priv;
};

extern const struct backend_ops kvm_backend_ops;
extern const struct backend_ops bt86_backend_ops;

/*
 * Make the vCPU thread leave its run ioctl soon, from any other thread.
 * Both run areas (kvm_run, bt86_run) have an immediate_exit byte: set
 * first, it covers a signal that lands before the ioctl is entered; the
 * signal (SIGUSR1, whose handler does nothing) covers one already inside.
 */
static inline void backend__kick_thread(uint8_t *immediate_exit,
					pthread_t vcpu_thread)
{
	if (pthread_equal(pthread_self(), vcpu_thread))
		return; /* the vCPU thread looks at the devices before running */
	__atomic_store_n(immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu_thread, SIGUSR1);
}

#endif
