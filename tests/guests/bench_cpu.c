/*
 * bench_cpu - the cost of CPU operations a VMM must virtualize, and of
 * ordinary ring-0 code a binary translator must run, for `make bench`.
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
 *	pushf      N PUSHF/POPF pairs at ring 0 (IF stays 0)
 *	call       N near CALL/RET pairs to a function that only returns
 *	jmpind     N JMP *%eax, the target loaded from a 4-entry table
 *	callind    N CALL *table(,%eax,4) to 4 functions that only return
 *	kernel     N passes of ordinary compiled ring-0 C over a 16-node
 *		   linked list: per node a switch through a jump table, then
 *		   memcpy, memset, checksums, list surgery in called functions
 *	newcode    N instructions of straight-line code never run before,
 *		   run once (N a multiple of 16, at most CODE_INSNS): under a
 *		   binary translator each one is translated first
 *	rerun      the CODE_INSNS instructions of newcode's code run once,
 *		   then N more times (run from the translation cache)
 *	all        every operation above but newcode and rerun, N times each
 *		   (for the translator's counters over the whole guest)
 *
 * The loop runs between two writes of a marker to the test device, as in
 * bench_pio.  The guest checks that every operation did what it should
 * (each system call returned 1, each UD2 reached the handler, IDTR and CR0
 * are unchanged, each indirect branch reached its target, every pass of
 * the code gave the same result) and prints one line that depends only on
 * OP and N.
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

/* --- pushf: PUSHF/POPF pairs at ring 0 ------------------------------------ */

static int bench_pushf(uint32_t n)
{
	uint32_t i, before, after;

	asm volatile("pushfl; popl %0" : "=r"(before));
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		asm volatile("pushfl; popfl" : : : "memory", "cc");
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	asm volatile("pushfl; popl %0" : "=r"(after));
	/*
	 * The system flags are as they were (the arithmetic ones belong to
	 * the loop).  Not IF = 0 itself: under trap-and-emulate PUSHF shows
	 * the real IF, by design (docs/trap-and-emulate.md).
	 */
	if ((before ^ after) & ~0x8d5u) {
		printf("bench_cpu: EFLAGS %08x after %u PUSHF/POPF, %08x before\n",
		       after, n, before);
		return 1;
	}
	return 0;
}

/* --- call, jmpind, callind: direct and indirect branches ------------------ */

/*
 * bench_jmpind_loop(n) and bench_callind_loop(n): n indirect branches to
 * the targets of a 4-entry table in turn, the i-th adding (i & 3) + 1 to
 * the sum they return.  bench_ret: a function that only returns.
 */
uint32_t bench_jmpind_loop(uint32_t n);
uint32_t bench_callind_loop(uint32_t n);
void bench_ret(void);

asm(".text\n"
    "	.globl bench_ret, bench_jmpind_loop, bench_callind_loop\n"
    "bench_ret:\n"
    "	ret\n"
    "bench_jmpind_loop:\n"
    "	pushl %ebx\n"
    "	movl 8(%esp), %ecx\n"
    "	xorl %edx, %edx\n"
    "	xorl %ebx, %ebx\n"
    "1:	movl %edx, %eax\n"
    "	andl $3, %eax\n"
    "	movl bench_jmp_table(,%eax,4), %eax\n"
    "	jmp *%eax\n"
    "bench_jt0:\n"
    "	addl $1, %ebx\n"
    "	jmp 2f\n"
    "bench_jt1:\n"
    "	addl $2, %ebx\n"
    "	jmp 2f\n"
    "bench_jt2:\n"
    "	addl $3, %ebx\n"
    "	jmp 2f\n"
    "bench_jt3:\n"
    "	addl $4, %ebx\n"
    "2:	incl %edx\n"
    "	cmpl %ecx, %edx\n"
    "	jne 1b\n"
    "	movl %ebx, %eax\n"
    "	popl %ebx\n"
    "	ret\n"
    "bench_callind_loop:\n"
    "	pushl %ebx\n"
    "	movl 8(%esp), %ecx\n"
    "	xorl %edx, %edx\n"
    "	xorl %ebx, %ebx\n"
    "1:	movl %edx, %eax\n"
    "	andl $3, %eax\n"
    "	call *bench_call_table(,%eax,4)\n"
    "	incl %edx\n"
    "	cmpl %ecx, %edx\n"
    "	jne 1b\n"
    "	movl %ebx, %eax\n"
    "	popl %ebx\n"
    "	ret\n"
    "bench_ct0:\n"
    "	addl $1, %ebx\n"
    "	ret\n"
    "bench_ct1:\n"
    "	addl $2, %ebx\n"
    "	ret\n"
    "bench_ct2:\n"
    "	addl $3, %ebx\n"
    "	ret\n"
    "bench_ct3:\n"
    "	addl $4, %ebx\n"
    "	ret\n"
    ".section .rodata\n"
    "	.balign 4\n"
    "bench_jmp_table:\n"
    "	.long bench_jt0, bench_jt1, bench_jt2, bench_jt3\n"
    "bench_call_table:\n"
    "	.long bench_ct0, bench_ct1, bench_ct2, bench_ct3\n"
    ".text\n");

static int bench_call(uint32_t n)
{
	uint32_t left = n;

	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	asm volatile("1: call bench_ret\n"
		     "	decl %0\n"
		     "	jnz 1b"
		     : "+r"(left)
		     :
		     : "eax", "ecx", "edx", "memory", "cc");
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	return 0;
}

/* 1 + 2 + 3 + 4 + 1 + ...: what the table loops return for @n. */
static uint32_t table_sum(uint32_t n)
{
	uint32_t r = n % 4;

	return n / 4 * 10 + r * (r + 1) / 2;
}

static int check_sum(const char *what, uint32_t n, uint32_t sum)
{
	if (sum == table_sum(n))
		return 0;
	printf("bench_cpu: %u %s summed to %u, not %u\n", n, what, sum,
	       table_sum(n));
	return 1;
}

static int bench_jmpind(uint32_t n)
{
	uint32_t sum;

	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	sum = bench_jmpind_loop(n);
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	return check_sum("JMP *%eax", n, sum);
}

static int bench_callind(uint32_t n)
{
	uint32_t sum;

	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	sum = bench_callind_loop(n);
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	return check_sum("CALL *mem", n, sum);
}

/* --- kernel: ordinary compiled C at ring 0 --------------------------------- */

#define KNODES 16

struct knode {
	struct knode *next;
	uint32_t kind; /* what kwork() does with it: 0-7 */
	uint32_t len;  /* bytes of data used: 8-40 */
	uint32_t seq;
	uint8_t data[48];
};

static struct knode knodes[KNODES];
static struct knode *khead;
static uint8_t kbuf[64];

static __attribute__((noinline)) uint32_t kcsum(const uint8_t *p, uint32_t len)
{
	uint32_t s = 0;

	while (len--)
		s = (s << 3 | s >> 29) ^ *p++;
	return s;
}

static __attribute__((noinline)) uint32_t kadler(const uint8_t *p, uint32_t len)
{
	uint32_t a = 1, b = 0;

	while (len--) {
		a = (a + *p++) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

static __attribute__((noinline)) uint32_t kbits(uint32_t v)
{
	uint32_t n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

static __attribute__((noinline)) struct knode *kfind(uint32_t seq)
{
	struct knode *n;

	for (n = khead; n; n = n->next)
		if (n->seq == seq)
			return n;
	return NULL;
}

/* Moves @n to the head of the list (it must not be the head already). */
static __attribute__((noinline)) void kmove_to_front(struct knode *n)
{
	struct knode *p;

	for (p = khead; p->next != n; p = p->next)
		;
	p->next = n->next;
	n->next = khead;
	khead = n;
}

/* One node's work: a switch the compiler turns into a jump table. */
static __attribute__((noinline)) uint32_t kwork(struct knode *n)
{
	struct knode *m;

	switch (n->kind) {
	case 0:
		memcpy(kbuf, n->data, n->len);
		return kcsum(kbuf, n->len);
	case 1:
		return kcsum(n->data, n->len);
	case 2:
		memset(kbuf, (int)(n->seq & 0xff), n->len);
		return kbuf[n->len - 1] + n->len;
	case 3:
		n->seq += KNODES;
		return n->seq * 2654435761u;
	case 4:
		return kadler(n->data, n->len);
	case 5:
		return kbits(n->seq ^ n->len) + kbits(n->data[3]);
	case 6:
		n->data[n->seq % n->len] ^= 0x5a;
		return n->data[0];
	case 7:
		m = kfind(n->seq ^ 5);
		return m ? m->len : 0;
	default:
		return 0;
	}
}

static uint32_t kernel_pass(void)
{
	struct knode *n, *last = NULL;
	uint32_t sum = 0;

	for (n = khead; n; n = n->next) {
		sum = sum * 31 + kwork(n);
		last = n;
	}
	/* the list changes order a little on every pass */
	if (last != khead)
		kmove_to_front(last);
	return sum;
}

static int bench_kernel(uint32_t n)
{
	uint32_t i, j, sum = 0;

	for (i = 0; i < KNODES; i++) {
		knodes[i].next = i + 1 < KNODES ? &knodes[i + 1] : NULL;
		knodes[i].kind = (i * 5) % 8;
		knodes[i].len = 8 + (i * 7) % 33;
		knodes[i].seq = i;
		for (j = 0; j < sizeof(knodes[i].data); j++)
			knodes[i].data[j] = (uint8_t)(i * j + 1);
	}
	khead = &knodes[0];
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		sum = sum * 3 + kernel_pass();
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	printf("bench_cpu: kernel checksum %08x\n", sum);
	return 0;
}

/* --- newcode, rerun: straight-line code, first run and later runs --------- */

/*
 * bench_code: CODE_CHUNKS chunks of the same 18 instructions (ALU,
 * address arithmetic, loads and stores to bench_scratch, and a conditional
 * branch that is never taken, as compiled code checks something every few
 * instructions) with different immediates and offsets, every chunk the
 * same length, then a RET.  The immediates are chosen so that the
 * assembler always picks the same encodings.  The size keeps the whole
 * code and its translation well inside bt's translation cache (65536 map
 * entries: one per instruction, two per block), with room to spare.  Entering CHUNKS * k bytes before the RET runs the last k
 * chunks.  bench_code_run(entry) calls it with fixed registers and returns
 * a checksum of them.
 */
#define CODE_INSNS	 36864
#define CODE_CHUNK_INSNS 18
#define CODE_CHUNKS	 (CODE_INSNS / CODE_CHUNK_INSNS)
#define STR2(x)		 #x
#define STR(x)		 STR2(x)

uint32_t bench_scratch[64];
extern const uint8_t bench_code[], bench_code_chunk1[], bench_code_end[];
uint32_t bench_code_run(const uint8_t *entry);

asm(".set bench_code_chunks, " STR(CODE_CHUNKS));
asm(".text\n"
    "	.globl bench_code, bench_code_chunk1, bench_code_end, bench_code_run\n"
    "bench_code_run:\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	movl 20(%esp), %ebp\n"
    "	movl $0x12345678, %eax\n"
    "	movl $0x9abcdef0, %ebx\n"
    "	xorl %ecx, %ecx\n"
    "	xorl %edx, %edx\n"
    "	xorl %esi, %esi\n"
    "	xorl %edi, %edi\n"
    "	call *%ebp\n"
    "	xorl %ebx, %eax\n"
    "	xorl %edx, %eax\n"
    "	xorl %edi, %eax\n"
    "	addl %esi, %eax\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	ret\n"
    "	.balign 16\n"
    "bench_code:\n"
    "	.set ci, 0\n"
    "	.rept bench_code_chunks\n"
    "	addl $(0x01000193 + ci * 0x9e37), %eax\n"
    "	xorl %eax, %edx\n"
    "	roll $((ci & 3) + 2), %edx\n"
    "	leal (0x100000 + ci)(%eax,%edx,2), %ecx\n"
    "	movl %ecx, bench_scratch + 4 * (ci & 63)\n"
    "	subl bench_scratch + 4 * ((ci + 17) & 63), %eax\n"
    "	imull $(0x01000007 + ci * 16), %edx, %edx\n"
    "	addl %ecx, %ebx\n"
    "	rorl $((ci & 7) + 2), %ebx\n"
    "	xorl $(0x02000000 + ci), %ebx\n"
    "	movl %ebx, %esi\n"
    "	andl $(0x7ff0ffff - ci), %esi\n"
    "	addl %esi, %edi\n"
    "	notl %ecx\n"
    "	adcl %ecx, %eax\n"
    "	movzbl %bl, %ecx\n"
    "	testl %ebp, %ebp\n"
    "	{disp32} js bench_code_bad\n"
    "	.if ci == 0\n"
    "bench_code_chunk1:\n"
    "	.endif\n"
    "	.set ci, ci + 1\n"
    "	.endr\n"
    "bench_code_end:\n"
    "	ret\n"
    "bench_code_bad:\n"
    "	ud2\n");

/* Where to enter bench_code to run its last @insns instructions. */
static const uint8_t *code_entry(uint32_t insns)
{
	uint32_t start = (uint32_t)bench_code, end = (uint32_t)bench_code_end;
	uint32_t chunk = (uint32_t)bench_code_chunk1 - start;

	if (end - start != CODE_CHUNKS * chunk) {
		printf("bench_cpu: the code's chunks are not all %u bytes\n",
		       chunk);
		return NULL;
	}
	if (insns % CODE_CHUNK_INSNS || insns > CODE_INSNS) {
		printf("bench_cpu: newcode runs a multiple of %u instructions, at most %u\n",
		       (uint32_t)CODE_CHUNK_INSNS, (uint32_t)CODE_INSNS);
		return NULL;
	}
	return (const uint8_t *)(end - insns / CODE_CHUNK_INSNS * chunk);
}

static uint32_t code_run(const uint8_t *entry)
{
	memset(bench_scratch, 0, sizeof(bench_scratch));
	return bench_code_run(entry);
}

static int bench_newcode(uint32_t n)
{
	const uint8_t *entry = code_entry(n);
	uint32_t sum;

	if (!entry)
		return 1;
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	sum = code_run(entry);
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	printf("bench_cpu: code checksum %08x\n", sum);
	return 0;
}

static int bench_rerun(uint32_t n)
{
	const uint8_t *entry = code_entry(CODE_INSNS);
	uint32_t first, i, wrong = 0;

	if (!entry)
		return 1;
	first = code_run(entry);
	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		if (code_run(entry) != first)
			wrong++;
	outl(TESTDEV_IOPORT, BENCH_MARK_END);
	if (wrong) {
		printf("bench_cpu: %u of %u runs of the code differ from the first\n",
		       wrong, n);
		return 1;
	}
	printf("bench_cpu: code checksum %08x\n", first);
	return 0;
}

static int bench_all(uint32_t n);

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
	{ "pushf", bench_pushf, "PUSHF/POPF pairs at ring 0" },
	{ "call", bench_call, "near CALL/RET pairs at ring 0" },
	{ "jmpind", bench_jmpind, "JMP *%eax through a 4-entry table" },
	{ "callind", bench_callind, "CALL *mem through a 4-entry table" },
	{ "kernel", bench_kernel,
	  "passes of kernel-style C over a 16-node list" },
	{ "newcode", bench_newcode,
	  "instructions of straight-line code run for the first time" },
	{ "rerun", bench_rerun,
	  "more runs of " STR(
		  CODE_INSNS) " instructions of straight-line code" },
	{ "all", bench_all, "of every operation but newcode and rerun" },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* Every operation before newcode, @n times each. */
static int bench_all(uint32_t n)
{
	size_t i;

	for (i = 0; i < NOPS && ops[i].run != bench_newcode; i++)
		if (ops[i].run(n))
			return 1;
	return 0;
}

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
	for (i = 0; op && i < NOPS; i++) {
		if (!value_is(op, ops[i].name))
			continue;
		if (ops[i].run(n))
			return 1;
		printf("bench_cpu: %u %s\n", n, ops[i].what);
		return 0;
	}
	printf("bench_cpu: give op=OP [iterations=N], OP one of");
	for (i = 0; i < NOPS; i++)
		printf(" %s", ops[i].name);
	printf("\n");
	return 1;
}
