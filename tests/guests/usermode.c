/*
 * usermode - a ring-0 kernel that runs ring-3 tasks and takes system calls.
 *
 * Cases (Intel SDM Vol. 3A unless noted):
 *   tasks      user_run() tasks return values, exit through SYS_EXIT, run at
 *              CPL 3 with the user segments, one after another (6.12.1: IRET
 *              to an outer level pops SS:ESP)
 *   syscalls   INT 0x80 through a DPL 3 gate (6.12.1.1): write, getpid, a
 *              custom call through user_syscall_hook that sees EBX/ECX/EDX and
 *              returns EAX, the other registers preserved, -ENOSYS
 *   faults     at ring 3: CLI, HLT, IN give #GP(0) (IOPL 0: Vol. 1 "I/O
 *              Privilege Level", Vol. 2 CLI, HLT), UD2 #UD, DIV #DE, INT3 #BP
 *              through a DPL 3 gate, INT3 and INT n through DPL 0 gates
 *              #GP(n * 8 + 2) (6.12.1.1, 6.13: EXT 0, IDT bit set); each
 *              frame is a ring-3 frame (CS RPL 3, SS, ESP at the fault,
 *              EFLAGS as the task had them) at the top of the TSS's ESP0
 *              stack (6.12.1, Figure 6-4); the handler resumes the task or
 *              ends it
 *   nesting    a system call during which the kernel enables interrupts takes
 *              PIT interrupts on the same ring-0 stack; a ring-3 loop takes
 *              them with ring-3 frames
 *   EFLAGS     IRET to ring 3 sets DF/CF and IOPL (Vol. 2 IRET: CPL 0 may
 *              change IOPL and IF); with IOPL 3 ring 3 may use IN/OUT and CLI
 *              and a fault frame shows its IF = 0; POPF at ring 3 cannot change
 *              IOPL, nor IF at IOPL 0 (Vol. 2 POPF)
 *   segments   IRET to ring 3 nulls DS/ES/FS/GS whose (data or non-conforming
 *              code) DPL is below 3, and keeps the others whatever their RPL
 *              (Vol. 2 IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL; 3A 5.8.6)
 *   far call   ring 3 calls its own code segment far and returns with LRET
 *              (Vol. 2 CALL: far call to the same privilege level)
 *
 * Nothing printed depends on timing or addresses; counts are only compared.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

/* user.c's ring-0 stack: at least this big, topped by user_tss.esp0. */
#define RING0_STACK_MIN 8192

/*
 * The same segment, RPL aside.  A selector read at ring 0 (MOV from CS)
 * shows RPL 1 under a VMM that runs guest ring 0 at CPL 1 (bt86 --accel
 * tae): that leak is the sensitive guest's subject, not this one's.
 */
#define SAME_SEG(a, b) ((((a) ^ (b)) & 0xfffc) == 0)

/* Our own system calls, handled by user_syscall_hook. */
#define SYS_ARGS      0x1234 /* returns EBX + ECX + EDX + 1 */
#define SYS_SET_FLAGS 0x1001 /* EFLAGS = (EFLAGS & ~EBX) | ECX */
#define SYS_GET_FLAGS 0x1002 /* returns the EFLAGS the kernel saw */
#define SYS_SET_SEGS  0x1003 /* DS = ES = EBX, FS = ECX, GS = EDX */
#define SYS_TICK_WAIT 0x1004 /* enable interrupts until a tick arrives */
#define ENOSYS	      38

#define TICK_HZ	    1000
#define DIVISOR	    (PIT_HZ / TICK_HZ)
#define SPIN_BOUND  200000000u /* ring-3 loop iterations at most */
#define WAIT_RELOAD 2000       /* PIT reloads (about 2 s) at most */

#define TASK_DONE 0x600d /* what a probe task returns when resumed */

/* --- the fault handler ----------------------------------------------------- */

/* What the last trap looked like, and where the handler ran. */
static struct {
	struct trap_frame f;
	uint32_t frame_eip_addr; /* &f->eip: where the CPU's frame lies */
	uint32_t handler_fp;	 /* the handler's own frame address */
	uint16_t handler_cs;
	int hits;
} seen;

/* Where a fault resumes the task; 0: end the task with abort_value. */
static uint32_t resume_eip;
static int abort_value;

/* ESP just before a probe's faulting instruction (set at ring 3). */
uint32_t fault_esp __attribute__((used));

static void reset(uint32_t resume, int abort_with)
{
	memset(&seen, 0, sizeof(seen));
	resume_eip = resume;
	abort_value = abort_with;
}

static void on_fault(struct trap_frame *f)
{
	seen.f = *f;
	seen.frame_eip_addr = (uint32_t)&f->eip;
	seen.handler_fp = (uint32_t)__builtin_frame_address(0);
	seen.handler_cs = read_cs();
	seen.hits++;
	if (resume_eip)
		f->eip = resume_eip;
	else
		user_abort(f, abort_value);
}

/* A vector that must not be entered: end the task, show it in the result. */
static void must_not_happen(struct trap_frame *f)
{
	seen.f = *f;
	seen.hits++;
	user_abort(f, 0xbad);
}

/*
 * Was the last trap a ring-3 fault with @vector and @error at @eip, seen
 * by a ring-0 handler running on the TSS's ESP0 stack, with @flags (IF,
 * CF) as the task had them?  Says what is wrong on a diagnostic line.
 */
static int ring3_frame_ok(int vector, uint32_t error, uint32_t eip,
			  uint32_t flags)
{
	const struct trap_frame *f = &seen.f;
	uint32_t esp0 = user_tss.esp0;
	int good = 1;

	if (seen.hits != 1 || f->vector != (uint32_t)vector ||
	    f->error_code != error || f->eip != eip) {
		ktap_diag("%d hits, vector %u error %#x eip %#x", seen.hits,
			  f->vector, f->error_code, f->eip);
		good = 0;
	}
	if (f->cs != SEL_UCODE || (f->ss & 0xffff) != SEL_UDATA ||
	    f->esp != fault_esp) {
		ktap_diag("frame cs %#x ss %#x esp %#x, task esp %#x", f->cs,
			  f->ss, f->esp, fault_esp);
		good = 0;
	}
	if ((f->eflags & (EFLAGS_IF | EFLAGS_CF)) != flags) {
		ktap_diag("frame eflags %#x, want IF|CF = %#x", f->eflags,
			  flags);
		good = 0;
	}
	/* SS, ESP, EFLAGS, CS, EIP: five dwords below ESP0 (Figure 6-4). */
	if (seen.frame_eip_addr != esp0 - 20 || seen.handler_fp >= esp0 ||
	    seen.handler_fp < esp0 - RING0_STACK_MIN ||
	    !SAME_SEG(seen.handler_cs, SEL_KCODE)) {
		ktap_diag("frame at %#x, handler fp %#x cs %#x, esp0 %#x",
			  seen.frame_eip_addr, seen.handler_fp, seen.handler_cs,
			  esp0);
		good = 0;
	}
	return good;
}

/* --- system calls of our own ------------------------------------------------ */

static struct trap_frame hook_seen;
static uint32_t kernel_flags_seen;
static volatile uint32_t ticks, ticks_user, ticks_in_syscall, bad_frames;
static uint32_t syscall_frame; /* the SYS_TICK_WAIT frame's address */

static int wait_for_tick(void)
{
	uint16_t prev = pit_read_count(), now;
	uint32_t polls = 0, start = ticks;
	int reloads = 0;

	while (ticks == start) {
		if (reloads >= WAIT_RELOAD || ++polls > WAIT_RELOAD * 10000u)
			return 0;
		asm volatile("sti; nop; cli" : : : "memory");
		now = pit_read_count();
		if (now > prev)
			reloads++;
		prev = now;
	}
	return 1;
}

static void syscall_hook(struct trap_frame *f)
{
	hook_seen = *f;
	switch (f->eax) {
	case SYS_ARGS:
		f->eax = f->ebx + f->ecx + f->edx + 1;
		break;
	case SYS_SET_FLAGS:
		f->eflags = (f->eflags & ~f->ebx) | f->ecx;
		f->eax = 0;
		break;
	case SYS_GET_FLAGS:
		kernel_flags_seen = f->eflags;
		f->eax = f->eflags;
		break;
	case SYS_SET_SEGS:
		f->ds = f->es = f->ebx;
		f->fs = f->ecx;
		f->gs = f->edx;
		break;
	case SYS_TICK_WAIT:
		syscall_frame = (uint32_t)f;
		f->eax = wait_for_tick();
		syscall_frame = 0;
		break;
	default:
		f->eax = (uint32_t)-ENOSYS;
	}
}

/* IRQ 0: count ticks, and those that interrupted ring 3 or a system call. */
static void timer_irq(struct trap_frame *f)
{
	uint32_t esp0 = user_tss.esp0;

	ticks++;
	if ((f->cs & 3) == 3) {
		ticks_user++;
		if (f->cs != SEL_UCODE || (f->ss & 0xffff) != SEL_UDATA ||
		    (uint32_t)&f->eip != esp0 - 20 || !(f->eflags & EFLAGS_IF))
			bad_frames++;
	} else if (syscall_frame) {
		ticks_in_syscall++;
		/* Nested below the system call's frame, same stack, CPL 0. */
		if (f->cs != SEL_KCODE || (uint32_t)f >= syscall_frame ||
		    (uint32_t)f < esp0 - RING0_STACK_MIN)
			bad_frames++;
	}
	pic_eoi(PIT_IRQ);
}

/* IRQ 7 without IRQ 7 in service is spurious (8259A): no EOI. */
static void irq7(struct trap_frame *f)
{
	(void)f;
	if (pic_get_isr() & (1 << 7))
		pic_eoi(7);
}

/* --- tasks ------------------------------------------------------------------ */

static int return_seven(void *arg)
{
	(void)arg;
	return 7;
}

static NOINLINE void exit_deep(int v)
{
	sys_exit(v);
}

static int exit_from_nested_call(void *arg)
{
	(void)arg;
	exit_deep(0x55);
	return 1;
}

static int segments_task(void *arg)
{
	(void)arg;
	return read_cs() | read_ss() << 16;
}

static int square_task(void *arg)
{
	int n = (int)arg;

	return n * n;
}

static void test_tasks(void)
{
	int sum = 0, n, v;

	ok_eq(user_run(return_seven, NULL), 7,
	      "task: return value comes back from user_run");
	ok_eq(user_run(exit_from_nested_call, NULL), 0x55,
	      "task: SYS_EXIT from a nested call ends the task");
	v = user_run(segments_task, NULL);
	ok(v == (SEL_UCODE | SEL_UDATA << 16) && SAME_SEG(read_cs(), SEL_KCODE),
	   "task: runs with CS 0x1b and SS 0x23 (CPL 3); back in the kernel");
	for (n = 1; n <= 5; n++)
		sum += user_run(square_task, (void *)n);
	ok_eq(sum, 1 + 4 + 9 + 16 + 25,
	      "task: five tasks in a row, each its argument");
}

static const char hello[] = "# hello from ring 3\n";

static int write_task(void *arg)
{
	(void)arg;
	return sys_write(hello, sizeof(hello) - 1);
}

static int getpid_task(void *arg)
{
	(void)arg;
	return user_syscall(SYS_GETPID, 0, 0, 0);
}

/* SYS_ARGS with the callee-saved registers holding marks. */
static int args_task(void *arg)
{
	uint32_t eax = SYS_ARGS, ebx = 0x11111111, ecx = 0x22222222;
	uint32_t edx = 0x33333333, esi = 0x44444444, edi = 0x55555555;

	(void)arg;
	asm volatile("int $0x80"
		     : "+a"(eax), "+b"(ebx), "+c"(ecx), "+d"(edx), "+S"(esi),
		       "+D"(edi)
		     :
		     : "memory");
	if (ebx != 0x11111111 || ecx != 0x22222222 || edx != 0x33333333 ||
	    esi != 0x44444444 || edi != 0x55555555)
		return -1;
	return eax;
}

static int unknown_task(void *arg)
{
	(void)arg;
	return user_syscall(0x7777, 0, 0, 0);
}

static void test_syscalls(void)
{
	ok_eq(user_run(write_task, NULL), sizeof(hello) - 1,
	      "syscall: write prints from ring 3, returns the length");
	ok_eq(user_run(getpid_task, NULL), 1, "syscall: getpid returns 1");

	user_syscall_hook = syscall_hook;
	ok_eq(user_run(args_task, NULL), 0x66666667,
	      "syscall: EBX/ECX/EDX arrive, EAX returns, others preserved");
	ok(hook_seen.vector == 0x80 && hook_seen.cs == SEL_UCODE &&
		   (hook_seen.ss & 0xffff) == SEL_UDATA &&
		   hook_seen.ebx == 0x11111111 && hook_seen.ecx == 0x22222222 &&
		   hook_seen.edx == 0x33333333,
	   "syscall: the hook sees a ring-3 frame and the arguments");
	ok_eq(user_run(unknown_task, NULL), -ENOSYS,
	      "syscall: an unknown number returns -ENOSYS");
}

/* --- faults at ring 3 -------------------------------------------------------- */

/*
 * A ring-3 probe, an asm function called from probe_task: run @setup,
 * record ESP, set CF, run the instruction(s) @insn at NAME_insn; NAME_end
 * follows them.  May clobber EAX, ECX, EDX and the flags.
 */
#define PROBE(name, setup, insn)                                   \
	asm(".pushsection .text\n"                                 \
	    ".globl " #name "\n" #name ":\n\t" setup "\n\t"        \
	    "movl %esp, fault_esp\n\t"                             \
	    "stc\n" #name "_insn:\n\t" insn "\n" #name "_end:\n\t" \
	    "ret\n"                                                \
	    ".popsection");                                        \
	void name(void);                                           \
	extern char name##_insn[], name##_end[]

PROBE(probe_cli, "", "cli");
PROBE(probe_hlt, "", "hlt");
PROBE(probe_in, "", "inb $0x80, %al");
PROBE(probe_ud2, "", "ud2");
PROBE(probe_div0, "xorl %ecx, %ecx; xorl %edx, %edx", "divl %ecx");
PROBE(probe_int3, "", "int3");
PROBE(probe_int40, "", "int $0x40");

static int probe_task(void *fn)
{
	((void (*)(void))fn)();
	return TASK_DONE;
}

/* Run @fn at ring 3; a fault resumes at @resume (0: ends the task). */
static int run_probe(void (*fn)(void), uint32_t resume, int abort_with)
{
	reset(resume, abort_with);
	return user_run(probe_task, (void *)fn);
}

static void expect_gp0(const char *what, void (*fn)(void), char *insn,
		       char *end)
{
	int v = run_probe(fn, (uint32_t)end, 0);

	ok(ring3_frame_ok(VEC_GP, 0, (uint32_t)insn, EFLAGS_IF | EFLAGS_CF) &&
		   v == TASK_DONE,
	   "ring 3 %s: #GP(0), ring-3 frame on the ESP0 stack, resumed", what);
}

static void test_faults(void)
{
	int v;

	trap_set_handler(VEC_GP, on_fault);
	trap_set_handler(VEC_UD, on_fault);
	trap_set_handler(VEC_DE, on_fault);
	trap_set_handler(VEC_BP, on_fault);
	trap_set_handler(0x40, must_not_happen);

	expect_gp0("CLI", probe_cli, probe_cli_insn, probe_cli_end);
	expect_gp0("HLT", probe_hlt, probe_hlt_insn, probe_hlt_end);
	expect_gp0("IN", probe_in, probe_in_insn, probe_in_end);

	v = run_probe(probe_ud2, (uint32_t)probe_ud2_end, 0);
	ok(ring3_frame_ok(VEC_UD, 0, (uint32_t)probe_ud2_insn,
			  EFLAGS_IF | EFLAGS_CF) &&
		   v == TASK_DONE,
	   "ring 3 UD2: #UD, ring-3 frame on the ESP0 stack, resumed");

	/* A faulting DIV changes no flag: CF is still the task's. */
	v = run_probe(probe_div0, 0, 0xde);
	ok(ring3_frame_ok(VEC_DE, 0, (uint32_t)probe_div0_insn,
			  EFLAGS_IF | EFLAGS_CF) &&
		   v == 0xde,
	   "ring 3 DIV by 0: #DE at the DIV, handler ends the task");

	/* INT3 through a DPL 3 gate: a trap, EIP after it (6.5). */
	idt_set_gate(VEC_BP, idt_stub(VEC_BP), GATE_INTR32, 3);
	v = run_probe(probe_int3, 0, 0x33);
	ok(ring3_frame_ok(VEC_BP, 0, (uint32_t)probe_int3_end,
			  EFLAGS_IF | EFLAGS_CF) &&
		   v == 0x33,
	   "ring 3 INT3, DPL 3 gate: #BP after the INT3, task ended");

	/* Through a DPL 0 gate: #GP(3 * 8 + 2) at the INT3 (6.12.1.1). */
	idt_set_gate(VEC_BP, idt_stub(VEC_BP), GATE_INTR32, 0);
	v = run_probe(probe_int3, (uint32_t)probe_int3_end, 0);
	ok(ring3_frame_ok(VEC_GP, 3 * 8 + 2, (uint32_t)probe_int3_insn,
			  EFLAGS_IF | EFLAGS_CF) &&
		   v == TASK_DONE,
	   "ring 3 INT3, DPL 0 gate: #GP(0x1a) at the INT3, resumed");

	v = run_probe(probe_int40, (uint32_t)probe_int40_end, 0);
	ok(ring3_frame_ok(VEC_GP, 0x40 * 8 + 2, (uint32_t)probe_int40_insn,
			  EFLAGS_IF | EFLAGS_CF) &&
		   v == TASK_DONE,
	   "ring 3 INT 0x40, DPL 0 gate: #GP(0x202) at the INT, resumed");
}

/* --- interrupts during a system call and at ring 3 ------------------------------ */

static int tick_wait_task(void *arg)
{
	(void)arg;
	return user_syscall(SYS_TICK_WAIT, 0, 0, 0);
}

static int spin_task(void *arg)
{
	uint32_t i;

	(void)arg;
	for (i = 0; i < SPIN_BOUND && ticks_user < 3; i++)
		asm volatile("" : : : "memory");
	return TASK_DONE;
}

static void test_interrupts(void)
{
	int v;

	pic_unmask(PIT_IRQ);
	v = user_run(tick_wait_task, NULL);
	ok(v == 1 && ticks_in_syscall > 0,
	   "nested: a system call with interrupts on takes a timer interrupt");

	v = user_run(spin_task, NULL);
	pic_mask(PIT_IRQ);
	ok(v == TASK_DONE && ticks_user > 0,
	   "nested: timer interrupts arrive while ring 3 loops");
	ok_eq(bad_frames, 0,
	      "nested: ring-3 frames at ESP0, ring-0 frames below the call");
}

/* --- EFLAGS through IRET ------------------------------------------------------- */

static uint32_t flags_after[2];

/* The kernel sets DF and CF in the frame: ring 3 sees them after IRET. */
static int df_task(void *arg)
{
	uint32_t eax = SYS_SET_FLAGS, fl;

	(void)arg;
	asm volatile("int $0x80\n\t"
		     "pushfl\n\t"
		     "popl %1\n\t"
		     "cld"
		     : "+a"(eax), "=r"(fl)
		     : "b"(EFLAGS_DF | EFLAGS_CF), "c"(EFLAGS_DF | EFLAGS_CF)
		     : "memory", "cc");
	flags_after[0] = fl;
	eax = SYS_SET_FLAGS;
	asm volatile("int $0x80\n\t"
		     "pushfl\n\t"
		     "popl %1"
		     : "+a"(eax), "=r"(fl)
		     : "b"(EFLAGS_DF | EFLAGS_CF), "c"(0)
		     : "memory", "cc");
	flags_after[1] = fl;
	return TASK_DONE;
}

/* Ring 3 sets DF itself: the kernel's frame shows it. */
static int std_task(void *arg)
{
	uint32_t eax = SYS_GET_FLAGS;

	(void)arg;
	asm volatile("std\n\t"
		     "int $0x80\n\t"
		     "cld"
		     : "+a"(eax)
		     :
		     : "memory", "cc");
	return eax;
}

static void test_iret_flags(void)
{
	uint32_t v;

	v = user_run(df_task, NULL);
	ok(v == TASK_DONE &&
		   (flags_after[0] & (EFLAGS_DF | EFLAGS_CF)) ==
			   (EFLAGS_DF | EFLAGS_CF) &&
		   !(flags_after[1] & (EFLAGS_DF | EFLAGS_CF)),
	   "IRET: ring 3 gets DF and CF from the frame, then loses them");
	ok(flags_after[0] & EFLAGS_IF, "IRET: ring 3 still has IF set");

	v = user_run(std_task, NULL);
	ok((v & EFLAGS_DF) && (v & EFLAGS_IF) && !(v & EFLAGS_IOPL),
	   "IRET: the kernel sees ring 3's DF in the frame");
}

/* --- IOPL through IRET ---------------------------------------------------------- */

static uint32_t iopl_seen[4];
static uint8_t iopl_io_value, iopl_io_after_popf;

PROBE(probe_cli_ud2, "", "cli; ud2");

/*
 * Get IOPL 3 from the kernel, use IN/OUT on the testdev byte port, CLI
 * then fault (the frame must show IF = 0), STI; POPF cannot drop IOPL at
 * CPL 3, so IN/OUT still work after it.  Then give IOPL back and check that
 * POPF neither raises IOPL nor clears IF.  IOPL is judged by what I/O does,
 * not by PUSHF: under trap-and-emulate PUSHF shows the real IOPL, and the
 * sensitive guest is where that is tested.
 */
static int iopl_task(void *arg)
{
	uint32_t fl;

	(void)arg;
	user_syscall(SYS_SET_FLAGS, EFLAGS_IOPL, EFLAGS_IOPL, 0);
	iopl_seen[0] = read_eflags();
	outb(TESTDEV_IOPORT_BYTE, 0x5a);
	iopl_io_value = inb(TESTDEV_IOPORT_BYTE);

	probe_cli_ud2();
	sti();

	write_eflags(read_eflags() & ~EFLAGS_IOPL);
	iopl_seen[1] = read_eflags();
	outb(TESTDEV_IOPORT_BYTE, 0x33);
	iopl_io_after_popf = inb(TESTDEV_IOPORT_BYTE);

	user_syscall(SYS_SET_FLAGS, EFLAGS_IOPL, 0, 0);
	fl = read_eflags();
	write_eflags(fl | EFLAGS_IOPL);
	iopl_seen[2] = read_eflags();
	write_eflags(fl & ~EFLAGS_IF);
	iopl_seen[3] = read_eflags();
	return TASK_DONE;
}

static void test_iopl(void)
{
	int v;

	outb(TESTDEV_IOPORT_BYTE, 0);
	reset((uint32_t)probe_cli_ud2_end, 0);
	v = user_run(iopl_task, NULL);
	ok(v == TASK_DONE && iopl_io_value == 0x5a,
	   "IRET: IOPL 3 from the frame lets ring 3 use IN and OUT");
	ok(ring3_frame_ok(VEC_UD, 0, (uint32_t)probe_cli_ud2_insn + 1,
			  EFLAGS_CF),
	   "IRET: ring 3 with IOPL 3 clears IF, a fault frame shows IF = 0");
	ok(iopl_io_after_popf == 0x33,
	   "POPF at CPL 3 leaves IOPL 3 unchanged: IN and OUT still work");
	ok(!(iopl_seen[2] & EFLAGS_IOPL) && (iopl_seen[3] & EFLAGS_IF),
	   "POPF at CPL 3, IOPL 0: IOPL stays 0, IF stays set, no fault");

	expect_gp0("IN in the next task (IOPL 0 again)", probe_in,
		   probe_in_insn, probe_in_end);
}

/* --- data segment registers after IRET ---------------------------------------- */

static uint32_t segs_after[4];

/* The kernel loads @sel_des, @sel_fs, @sel_gs into the frame; read them. */
static int segs_task(void *arg)
{
	const uint32_t *sel = arg;
	uint32_t a = SYS_SET_SEGS, b = sel[0], c = sel[1], d = sel[2];

	asm volatile("int $0x80\n\t"
		     "movl %%ds, %%eax\n\t"
		     "movl %%es, %%ebx\n\t"
		     "movl %%fs, %%ecx\n\t"
		     "movl %%gs, %%edx\n\t"
		     "pushl $0x23\n\t"
		     "popl %%ds\n\t"
		     "pushl $0x23\n\t"
		     "popl %%es"
		     : "+a"(a), "+b"(b), "+c"(c), "+d"(d)
		     :
		     : "memory");
	segs_after[0] = a & 0xffff;
	segs_after[1] = b & 0xffff;
	segs_after[2] = c & 0xffff;
	segs_after[3] = d & 0xffff;
	return TASK_DONE;
}

static void test_segments(void)
{
	static const uint32_t kernel_segs[3] = { SEL_KDATA, SEL_KDATA,
						 SEL_KCODE };
	static const uint32_t user_segs[3] = { SEL_UDATA, SEL_UDATA & ~3,
					       SEL_UDATA };
	int v;

	v = user_run(segs_task, (void *)kernel_segs);
	ok(v == TASK_DONE && !segs_after[0] && !segs_after[1],
	   "IRET to ring 3 nulls DS and ES holding the DPL 0 data segment");
	ok(v == TASK_DONE && !segs_after[2],
	   "IRET to ring 3 nulls FS holding the DPL 0 data segment");
	ok(v == TASK_DONE && !segs_after[3],
	   "IRET to ring 3 nulls GS holding the DPL 0 code segment");

	v = user_run(segs_task, (void *)user_segs);
	ok(v == TASK_DONE && segs_after[0] == SEL_UDATA &&
		   segs_after[1] == SEL_UDATA && segs_after[3] == SEL_UDATA,
	   "IRET to ring 3 keeps DS, ES, GS holding the DPL 3 segment");
	ok_eq(segs_after[2], SEL_UDATA & ~3,
	      "IRET to ring 3 keeps FS = 0x20 (DPL 3, RPL 0)");
}

/* --- far call at ring 3 -------------------------------------------------------- */

uint32_t far_frame[2] __attribute__((used));
uint32_t far_cs __attribute__((used));

asm(".pushsection .text\n"
    "far_target:\n\t"
    "movl (%esp), %eax\n\t"
    "movl %eax, far_frame\n\t"
    "movl 4(%esp), %eax\n\t"
    "movl %eax, far_frame + 4\n\t"
    "movl %cs, %eax\n\t"
    "movl %eax, far_cs\n\t"
    "lret\n"
    ".popsection");
extern char far_ret[];

static int far_call_task(void *arg)
{
	uint32_t before, after;

	(void)arg;
	asm volatile("movl %%esp, %0\n\t"
		     "lcall %2, $far_target\n"
		     "far_ret:\n\t"
		     "movl %%esp, %1"
		     : "=r"(before), "=r"(after)
		     : "i"(SEL_UCODE)
		     : "eax", "memory");
	return before == after ? TASK_DONE : -1;
}

static void test_far_call(void)
{
	int v = user_run(far_call_task, NULL);

	ok(v == TASK_DONE && far_frame[0] == (uint32_t)far_ret &&
		   (far_frame[1] & 0xffff) == SEL_UCODE &&
		   (far_cs & 0xffff) == SEL_UCODE,
	   "ring 3 far CALL to its own code segment and LRET");
}

int main(void)
{
	ktap_plan(34);
	pic_init();
	trap_set_handler(IRQ_VECTOR(PIT_IRQ), timer_irq);
	trap_set_handler(IRQ_VECTOR(7), irq7);
	pit_start(PIT_MODE_RATE, DIVISOR);
	user_init();

	test_tasks();
	test_syscalls();
	test_faults();
	test_interrupts();
	test_iret_flags();
	test_iopl();
	test_segments();
	test_far_call();

	pic_set_imr(0xffff);
	ktap_finish();
}
