/*
 * user.c - ring-3 tasks and INT 0x80 system calls (user.h).
 *
 * user_run() enters ring 3 the way a kernel does: an IRET whose frame names
 * a DPL 3 code segment, with SS:ESP of the user stack (SDM Vol. 3A, 6.12.1:
 * IRET to a less privileged level pops SS:ESP too).  The way back is an
 * INT 0x80 (or a trap a handler ends with user_abort()): the CPU switches
 * to the TSS's SS0:ESP0, and the handler returns through user_resume,
 * which picks up the kernel stack user_run() left.
 */
#include "guest.h"
#include "user.h"

struct tss32 user_tss __attribute__((aligned(128)));
void (*user_syscall_hook)(struct trap_frame *f);

static uint8_t ring0_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[16384] __attribute__((aligned(16)));

/* user_run()'s kernel ESP while the user task runs; user_resume uses it. */
uint32_t user_saved_esp;
int user_exit_value;

int user_run_asm(int (*fn)(void *), void *arg, uint32_t user_esp);
void user_resume(void);

/*
 * user_run_asm(fn, arg, user_esp): save the callee-saved registers and the
 * kernel ESP, put fn and arg on the user stack, IRET to user_trampoline at
 * ring 3.  user_resume (reached by an IRET to ring 0 from a trap handler)
 * restores them and returns user_exit_value.
 */
asm(".text\n"
    ".globl user_run_asm\n"
    "user_run_asm:\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	movl %esp, user_saved_esp\n"
    "	movl 20(%esp), %eax\n" /* fn */
    "	movl 24(%esp), %edx\n" /* arg */
    "	movl 28(%esp), %ecx\n" /* user stack top */
    "	subl $8, %ecx\n"
    "	movl %eax, 0(%ecx)\n"
    "	movl %edx, 4(%ecx)\n"
    "	pushl $0x23\n" /* SS: SEL_UDATA */
    "	pushl %ecx\n"  /* ESP */
    "	pushfl\n"
    "	orl $0x200, (%esp)\n" /* ring 3 runs with interrupts on */
    "	pushl $0x1b\n"	      /* CS: SEL_UCODE */
    "	pushl $user_trampoline\n"
    "	movw $0x23, %ax\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	movw %ax, %fs\n"
    "	movw %ax, %gs\n"
    "	iret\n"
    /* ring 3: fn(arg), then exit with its value */
    "user_trampoline:\n"
    "	popl %eax\n"
    "	call *%eax\n"
    "	movl %eax, %ebx\n"
    "	movl $1, %eax\n"
    "	int $0x80\n"
    "	ud2\n"
    ".globl user_resume\n"
    "user_resume:\n"
    "	movw $0x10, %ax\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	movw %ax, %fs\n"
    "	movw %ax, %gs\n"
    "	movl user_saved_esp, %esp\n"
    "	movl user_exit_value, %eax\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	ret\n");

int user_run(int (*fn)(void *arg), void *arg)
{
	uint32_t flags = read_eflags();
	int v = user_run_asm(fn, arg,
			     (uint32_t)(user_stack + sizeof(user_stack)));

	/* Back with the interrupt flag user_run() was called with. */
	write_eflags(flags);
	return v;
}

/*
 * End the user task from a trap taken at ring 3: IRET to ring 0 at
 * user_resume (an IRET to the same level pops only EIP, CS and EFLAGS).
 */
void user_abort(struct trap_frame *f, int v)
{
	user_exit_value = v;
	f->eip = (uint32_t)user_resume;
	f->cs = SEL_KCODE;
	f->eflags &= ~0x200u; /* IF: user_run() restores the caller's */
	f->ds = f->es = f->fs = f->gs = SEL_KDATA;
}

static void syscall_handler(struct trap_frame *f)
{
	switch (f->eax) {
	case SYS_EXIT:
		user_abort(f, (int)f->ebx);
		return;
	case SYS_WRITE: {
		const char *p = (const char *)f->ecx;
		uint32_t i;

		for (i = 0; i < f->edx; i++)
			serial_putc(p[i]);
		f->eax = f->edx;
		return;
	}
	case SYS_GETPID:
		f->eax = 1;
		return;
	default:
		if (user_syscall_hook) {
			user_syscall_hook(f);
			return;
		}
		f->eax = (uint32_t)-38; /* -ENOSYS */
	}
}

void user_init(void)
{
	user_tss.ss0 = SEL_KDATA;
	user_tss.esp0 = (uint32_t)(ring0_stack + sizeof(ring0_stack));
	/* An I/O map base past the TSS limit: no I/O bitmap (SDM 3A 18.5.2). */
	user_tss.iomap_base = sizeof(user_tss);
	gdt[SEL_TSS >> 3] = seg_desc((uint32_t)&user_tss, sizeof(user_tss) - 1,
				     DESC_P | DESC_TSS32, 0);
	ltr(SEL_TSS);
	trap_set_handler(0x80, syscall_handler);
	idt_set_gate(0x80, idt_stub(0x80), GATE_INTR32, 3);
}

int user_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	sys_write(buf, n);
	return n;
}
