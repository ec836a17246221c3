/*
 * bench_cpu - the cost of CPU operations a VMM must virtualize, for
 * `make bench`.
 *
 * The command line picks one operation and a count,
 * "op=OP iterations=N" (e.g. bt86 run --append "op=clisti iterations=1000"),
 * N defaulting to 100000:
 *
 *	int80      a ring-3 task makes N SYS_GETPID system calls (INT 0x80
 *		   through a DPL 3 gate, the kernel handler returns at once,
 *		   IRET back to ring 3)
 *	clisti     N CLI/STI pairs at ring 0
 *	exception  N UD2 at ring 0, each delivered through the guest's IDT to
 *		   a #UD handler that skips it (IRET back)
 *	lidt       N LIDT of the current IDT at ring 0
 *	cr0        N MOV to CR0 of its current value at ring 0
 *
 * The loop runs between two writes of a marker to the test device, as in
 * bench_pio.  The guest checks that every operation did what it should
 * (each system call returned 1, each UD2 reached the handler, IDTR and CR0
 * are unchanged) and prints one line that depends only on OP and N.
 */
#include "guest.h"

#define DEFAULT_ITERATIONS 100000

/* The value of "KEY=" on the command line, or NULL. */
static const char *arg(const char *key)
{
	const char *s = multiboot_cmdline();
	size_t len = strlen(key);

	for (; *s; s++) {
		if ((s == multiboot_cmdline() || s[-1] == ' ') &&
		    strncmp(s, key, len) == 0 && s[len] == '=')
			return s + len + 1;
	}
	return NULL;
}

static uint32_t iterations(void)
{
	const char *s = arg("iterations");
	uint32_t n;

	if (!s)
		return DEFAULT_ITERATIONS;
	n = strtou(&s);
	return n ? n : DEFAULT_ITERATIONS;
}

/* Does the value at @s (up to a blank or the end) equal @word? */
static int value_is(const char *s, const char *word)
{
	size_t len = strlen(word);

	return strncmp(s, word, len) == 0 && (s[len] == '\0' || s[len] == ' ');
}

/* --- int80: system calls from ring 3 ------------------------------------- */

/* Ring 3: N getpid calls; returns how many did not return 1. */
static int getpid_loop(void *arg)
{
	uint32_t n = (uint32_t)arg, i;
	int wrong = 0;

	for (i = 0; i < n; i++)
		if (user_syscall(SYS_GETPID, 0, 0, 0) != 1)
			wrong++;
	return wrong;
}

static int bench_int80(uint32_t n)
{
	int wrong;

	user_init();
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	wrong = user_run(getpid_loop, (void *)n);
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	if (wrong)
		printf("bench_cpu: %d of %u getpid calls did not return 1\n",
		       wrong, n);
	return wrong != 0;
}

/* --- clisti: CLI/STI pairs at ring 0 -------------------------------------- */

static int bench_clisti(uint32_t n)
{
	uint32_t i;

	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++) {
		cli();
		sti();
	}
	cli();
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	return 0;
}

/* --- exception: #UD delivered through the guest's IDT ---------------------- */

static uint32_t ud_hits;

static void skip_ud2(struct trap_frame *f)
{
	ud_hits++;
	f->eip += 2;
}

static int bench_exception(uint32_t n)
{
	uint32_t i;

	trap_set_handler(VEC_UD, skip_ud2);
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		asm volatile("ud2" : : : "memory");
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	if (ud_hits != n) {
		printf("bench_cpu: %u UD2 reached the handler %u times\n", n,
		       ud_hits);
		return 1;
	}
	return 0;
}

/* --- lidt: reload the IDTR with its current value -------------------------- */

static int bench_lidt(uint32_t n)
{
	struct dtr cur, after;
	uint32_t i;

	sidt(&cur);
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		lidt(&cur);
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	sidt(&after);
	if (after.base != cur.base || after.limit != cur.limit) {
		printf("bench_cpu: IDTR %08x/%04x after LIDT of %08x/%04x\n",
		       after.base, after.limit, cur.base, cur.limit);
		return 1;
	}
	return 0;
}

/* --- cr0: MOV to CR0 of its current value ---------------------------------- */

static int bench_cr0(uint32_t n)
{
	uint32_t cr0 = read_cr0(), i;

	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	if (read_cr0() != cr0) {
		printf("bench_cpu: CR0 %08x after MOV of %08x\n", read_cr0(),
		       cr0);
		return 1;
	}
	return 0;
}

static const struct {
	const char *name;
	int (*run)(uint32_t n);
	const char *what;
} ops[] = {
	{ "int80", bench_int80, "INT 0x80 getpid round trips from ring 3" },
	{ "clisti", bench_clisti, "CLI/STI pairs at ring 0" },
	{ "exception", bench_exception,
	  "#UD (UD2) delivered to the guest IDT" },
	{ "lidt", bench_lidt, "LIDT of the current IDT at ring 0" },
	{ "cr0", bench_cr0, "MOV to CR0 of its current value at ring 0" },
};

int main(void)
{
	const char *op = arg("op");
	uint32_t n = iterations();
	size_t i;

	/*
	 * Every IRQ masked: SeaBIOS leaves the timer unmasked in native runs,
	 * and the ring-3 task and the STI run with interrupts enabled.
	 */
	pic_init();
	for (i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!value_is(op, ops[i].name))
			continue;
		if (ops[i].run(n))
			return 1;
		printf("bench_cpu: %u %s\n", n, ops[i].what);
		return 0;
	}
	printf("bench_cpu: give op=int80|clisti|exception|lidt|cr0 [iterations=N]\n");
	return 1;
}
