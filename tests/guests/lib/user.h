/*
 * user.h - ring 3 for the test guests: a TSS, user tasks and system calls.
 *
 * user_init() gives the guest what a ring-3 task needs on a real CPU: a
 * 32-bit TSS (GDT slot SEL_TSS) whose SS0:ESP0 is the ring-0 stack the CPU
 * switches to when ring 3 is interrupted (SDM Vol. 3A, 6.12.1), loaded with
 * LTR, and an INT 0x80 gate with DPL 3 so ring 3 may call the kernel.
 *
 * user_run(fn, arg) runs fn(arg) at ring 3 on its own stack and returns
 * when fn returns or calls sys_exit(): the value is fn's return value or
 * sys_exit()'s argument.  Traps taken at ring 3 reach the guest's handlers
 * with a ring-3 frame (esp and ss valid); a handler may end the user task
 * with user_abort(frame, value).
 *
 * The system calls (INT 0x80, number in EAX, arguments in EBX, ECX, EDX,
 * result in EAX, as Linux i386 has them):
 *	SYS_EXIT   (1)  ebx = value for user_run()
 *	SYS_WRITE  (4)  ecx = buffer, edx = length: printed on COM1
 *	SYS_GETPID (20) returns 1 (the cheapest call, for benchmarks)
 */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include <stdint.h>

#include "trap.h"

#define SEL_TSS	   (5 << 3)
#define SYS_EXIT   1
#define SYS_WRITE  4
#define SYS_GETPID 20

/* The 32-bit TSS (SDM Vol. 3A, 7.2.1, Figure 7-2). */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __attribute__((packed));

extern struct tss32 user_tss;

/* Install the TSS and the INT 0x80 gate; call once, before user_run(). */
void user_init(void);

/* Run fn(arg) at ring 3 until it returns or exits; returns its value. */
int user_run(int (*fn)(void *arg), void *arg);

/* From a trap handler: end the current user task, user_run() returns v. */
void user_abort(struct trap_frame *f, int v);

/* Called for INT 0x80 numbers the runtime does not know (may be NULL). */
extern void (*user_syscall_hook)(struct trap_frame *f);

static inline int user_syscall(int nr, uint32_t a, uint32_t b, uint32_t c)
{
	int ret;

	asm volatile("int $0x80"
		     : "=a"(ret)
		     : "a"(nr), "b"(a), "c"(b), "d"(c)
		     : "memory");
	return ret;
}

static inline void sys_exit(int v)
{
	user_syscall(SYS_EXIT, v, 0, 0);
	for (;;)
		;
}

static inline int sys_write(const void *buf, uint32_t len)
{
	return user_syscall(SYS_WRITE, 0, (uint32_t)buf, len);
}

/* printf for ring 3: formats into a buffer and calls sys_write(). */
int user_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* GUEST_USER_H */
