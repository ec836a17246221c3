/*
 * smc - self-modifying and cross-modifying code at guest ring 0.
 *
 * A binary translator runs translations of guest code, not the code
 * itself, so every store into code it translated must make it drop the
 * stale translation (typically by write-protecting the code's pages).  A
 * real CPU sees each of these stores (Intel SDM Vol. 3A, 11.6
 * "Self-Modifying Code": a store to an instruction already fetched or
 * prefetched, even the very next one, is detected; a jump between the
 * store and the modified code is what the SDM asks for on older CPUs, and
 * every case below calls the modified code through a CALL or reaches it
 * by a jump, except the same-block cases, which test the detection itself).
 *
 * Cases, each one KTAP line:
 *   immediate  a function's MOV immediate rewritten between calls, once
 *              whole and then 200 times, some single bytes only
 *   call site  a 5-byte CALL patched as Linux's alternatives and
 *              static_call do it: the rel32 retargeted; text_poke_bp()'s
 *              INT3 dance (INT3 on the first byte, the site run while
 *              half-patched: #BP with EIP after the INT3, the handler
 *              emulates the new call; then the tail, then the first byte);
 *              a 5-byte NOP; static_call's RET0 (2e 2e 2e 31 c0); a call
 *              again
 *   same block a store to the next instruction's immediate, to its opcode,
 *              a 4-byte store over the next four instructions, a store to
 *              an instruction four instructions on: each run sees the new
 *              code
 *   loops      a loop incrementing its own ADD immediate every iteration,
 *              after and before the ADD runs (500 iterations, the sum
 *              checked, twice); a loop that turns its own backward JMP into
 *              NOPs and leaves at the iteration it was told
 *   page       a page holding code is used as a data buffer (64 rounds of
 *              writes read back), then gets new code, shifted, which runs;
 *              data writes into one half while code in the other half runs,
 *              and a code change in the middle of that is seen
 *   ring 3     a ring-3 task (user.h) writes code that ring 0 ran before
 *              and runs again: in a buffer, and a function's immediate in
 *              .text; ring 3 runs code it wrote; 50 alternating rounds (the
 *              one-CPU form of cross-modifying code; paging is off and the
 *              user segments are flat, so ring 3 can write any RAM)
 *   generated  256 small functions generated into a buffer, called,
 *              regenerated 8 times with new constants and shifted starts
 *              (new instruction boundaries inside the old ones); 256
 *              blocks chained by JMPs, relinked in other orders
 *   strings    REP STOSB and REP MOVSB (and a backwards REP MOVSL) writing
 *              code in another function, and REP MOVSB / REP STOSB writing
 *              the instructions right after themselves
 *
 * All of it runs at ring 0 with interrupts off, except the ring-3 tasks.
 * Only verdicts are printed.
 */
#include "guest.h"

#define NR(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Code was written: a jump, and a compiler barrier so that the stores are
 * emitted before it.  Called between patching code and running it.
 */
static inline void code_written(void)
{
	asm volatile("jmp 1f\n1:" : : : "memory");
}

/* Run asm routine @fn with ECX, EDX, ESI; it returns EAX. */
static uint32_t run(const void *fn, uint32_t ecx, uint32_t edx, uint32_t esi)
{
	const void *volatile target = fn;
	uint32_t eax;

	asm volatile("call *%[fn]"
		     : "=a"(eax), "+c"(ecx), "+d"(edx), "+S"(esi)
		     : [fn] "m"(target)
		     : "ebx", "edi", "memory", "cc");
	return eax;
}

static uint32_t call0(const void *fn)
{
	return ((uint32_t(*)(void))fn)();
}

/* Write @len bytes at @dst, one volatile byte at a time. */
static void poke(void *dst, const void *src, uint32_t len)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;
	uint32_t i;

	for (i = 0; i < len; i++)
		d[i] = s[i];
	code_written();
}

static void poke32(void *dst, uint32_t v)
{
	poke(dst, &v, 4);
}

static void poke8(void *dst, uint8_t v)
{
	poke(dst, &v, 1);
}

/* --- immediates rewritten between calls -------------------------------------- */

/* MOV $imm32, %eax (b8 imm32); RET. */
asm(".pushsection .text\n"
    ".globl smc_imm\n"
    "smc_imm:\n\t"
    "movl $0x11111111, %eax\n\t"
    "ret\n"
    ".popsection");
extern char smc_imm[];

static void test_immediate(void)
{
	uint32_t a, b, v, want = 0x22222222;
	int i, bad = 0;

	a = call0(smc_imm);
	poke32(smc_imm + 1, 0x22222222);
	b = call0(smc_imm);
	ok(a == 0x11111111 && b == 0x22222222,
	   "immediate: MOV imm32 rewritten between calls, the new value runs");

	for (i = 0; i < 200; i++) {
		if (i % 4 == 3) {
			/* One byte of the immediate only. */
			want = (want & ~0xff00u) | (uint32_t)(i & 0xff) << 8;
			poke8(smc_imm + 2, i & 0xff);
		} else {
			want = 0x9e3779b9u * (i + 1);
			poke32(smc_imm + 1, want);
		}
		v = call0(smc_imm);
		if (v != want && !bad++)
			ktap_diag("run %d: got %#x, expected %#x", i, v, want);
	}
	ok(!bad, "immediate: rewritten and run 200 times (every 4th a single "
		 "byte), each run sees its value");
	poke32(smc_imm + 1, 0x11111111);
}

/* --- a call site patched at run time ----------------------------------------- */

/*
 * EAX = 0x5555; the 5-byte call site (e8 rel32 at smc_site_insn); RET.
 * The targets return their own constants.
 */
asm(".pushsection .text\n"
    ".globl smc_site, smc_site_insn, smc_target_a, smc_target_b, "
    "smc_target_c\n"
    "smc_site:\n\t"
    "movl $0x5555, %eax\n"
    "smc_site_insn:\n\t"
    "call smc_target_a\n\t"
    "ret\n"
    "smc_target_a:\n\t"
    "movl $0xaaaa, %eax\n\t"
    "ret\n"
    "smc_target_b:\n\t"
    "movl $0xbbbb, %eax\n\t"
    "ret\n"
    "smc_target_c:\n\t"
    "movl $0xcccc, %eax\n\t"
    "ret\n"
    ".popsection");
extern char smc_site[], smc_site_insn[];
extern char smc_target_a[], smc_target_b[], smc_target_c[];

/* The #BP handler's record, and what it makes the half-patched site do. */
static struct {
	int hits;
	uint32_t eip;
	uint32_t emulate_eax;
} bp;

/*
 * Like Linux's poke_int3_handler(): an INT3 on the first byte of a site
 * being patched; emulate the new instruction (here: the call's result)
 * and continue after the 5-byte site.
 */
static void site_int3(struct trap_frame *f)
{
	bp.hits++;
	bp.eip = f->eip;
	if (f->eip == (uint32_t)smc_site_insn + 1) {
		f->eax = bp.emulate_eax;
		f->eip = (uint32_t)smc_site_insn + 5;
	}
}

static void call_insn(uint8_t insn[5], const void *target)
{
	uint32_t rel = (uint32_t)target - ((uint32_t)smc_site_insn + 5);

	insn[0] = 0xe8;
	memcpy(insn + 1, &rel, 4);
}

static void test_call_site(void)
{
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	static const uint8_t ret0[5] = { 0x2e, 0x2e, 0x2e, 0x31, 0xc0 };
	uint8_t insn[5];
	uint32_t rel, v, v1, v2;

	trap_set_handler(VEC_BP, site_int3);
	ok_eq(call0(smc_site), 0xaaaa, "call site: the CALL runs target A");

	rel = (uint32_t)smc_target_b - ((uint32_t)smc_site_insn + 5);
	poke32(smc_site_insn + 1, rel);
	ok_eq(call0(smc_site), 0xbbbb,
	      "call site: rel32 retargeted, the CALL runs target B");

	/* text_poke_bp(): INT3, tail, first byte; run at every step. */
	call_insn(insn, smc_target_c);
	bp.hits = 0;
	bp.emulate_eax = 0xcccc;
	poke8(smc_site_insn, 0xcc);
	v1 = call0(smc_site);
	poke(smc_site_insn + 1, insn + 1, 4);
	v2 = call0(smc_site);
	ok(bp.hits == 2 && bp.eip == (uint32_t)smc_site_insn + 1 &&
		   v1 == 0xcccc && v2 == 0xcccc,
	   "call site: INT3 on the first byte, half-patched site traps with "
	   "EIP after the INT3, the #BP handler emulates the new call");
	poke8(smc_site_insn, insn[0]);
	bp.hits = 0;
	v = call0(smc_site);
	ok(v == 0xcccc && bp.hits == 0,
	   "call site: text_poke_bp done, the new CALL runs target C, no #BP");

	poke(smc_site_insn, nop5, 5);
	ok_eq(call0(smc_site), 0x5555,
	      "call site: replaced by a 5-byte NOP, nothing called");

	poke(smc_site_insn, ret0, 5);
	ok_eq(call0(smc_site), 0,
	      "call site: replaced by static_call's RET0 (cs cs cs xor "
	      "%%eax, %%eax)");

	call_insn(insn, smc_target_a);
	poke(smc_site_insn, insn, 5);
	bp.hits = 0;
	v = call0(smc_site);
	ok(v == 0xaaaa && bp.hits == 0,
	   "call site: a CALL to target A again, after NOP and RET0");
	trap_set_handler(VEC_BP, NULL);
}

/* --- stores to the next instructions of the same block -------------------------- */

/*
 * smc_next_imm(CL): store CL into the imm8 of the very next instruction,
 * ADD $1, %eax (83 c0 01): returns 1 + CL (CL < 0x80).
 *
 * smc_next_op(CL): store CL over the next instruction's opcode, a 1-byte
 * instruction (NOP, INC EAX, DEC EAX): returns 10, 11 or 9.
 *
 * smc_next_four(ECX): a 4-byte store over the next four 1-byte
 * instructions: returns 100 plus the INC EAX minus the DEC EAX in ECX.
 *
 * smc_later(ECX): store ECX into the imm32 of a MOV four instructions on:
 * returns 100 + ECX.
 */
asm(".pushsection .text\n"
    ".globl smc_next_imm, smc_next_op, smc_next_four, smc_later\n"
    "smc_next_imm:\n\t"
    "movl $1, %eax\n\t"
    "movb %cl, 1f + 2\n"
    "1:\n\t"
    ".byte 0x83, 0xc0, 0x01\n\t" /* addl $1, %eax */
    "ret\n"
    "smc_next_op:\n\t"
    "movl $10, %eax\n\t"
    "movb %cl, 1f\n"
    "1:\n\t"
    "nop\n\t"
    "ret\n"
    "smc_next_four:\n\t"
    "movl $100, %eax\n\t"
    "movl %ecx, 1f\n"
    "1:\n\t"
    "nop\n\t"
    "nop\n\t"
    "nop\n\t"
    "nop\n\t"
    "ret\n"
    "smc_later:\n\t"
    "movl $100, %eax\n\t"
    "movl %ecx, 1f + 1\n\t"
    "addl $1, %edx\n\t"
    "leal 0(%esi), %esi\n\t"
    "xorl %edi, %edi\n\t"
    "nop\n"
    "1:\n\t"
    ".byte 0xbb\n\t" /* movl $0, %ebx */
    ".long 0\n\t"
    "addl %ebx, %eax\n\t"
    "ret\n"
    ".popsection");
extern char smc_next_imm[], smc_next_op[], smc_next_four[], smc_later[];

static void test_same_block(void)
{
	static const struct {
		uint8_t op;
		uint32_t want;
	} ops[] = { { 0x40, 11 }, { 0x48, 9 }, { 0x90, 10 }, { 0x40, 11 } };
	static const struct {
		uint32_t code, want;
	} fours[] = {
		{ 0x40404040, 104 }, { 0x48484848, 96 },  { 0x90409040, 102 },
		{ 0x90909090, 100 }, { 0x48404840, 100 }, { 0x40909090, 101 },
	};
	int i, bad = 0;
	uint32_t v, want;

	for (i = 0; i < 100; i++) {
		v = run(smc_next_imm, (i * 37 + 5) & 0x7f, 0, 0);
		want = 1 + ((i * 37 + 5) & 0x7f);
		if (v != want && !bad++)
			ktap_diag("run %d: got %u, expected %u", i, v, want);
	}
	ok(!bad, "same block: MOVB to the next instruction's imm8, 100 values, "
		 "each run sees its store");

	bad = 0;
	for (i = 0; i < 40; i++) {
		v = run(smc_next_op, ops[i % NR(ops)].op, 0, 0);
		if (v != ops[i % NR(ops)].want && !bad++)
			ktap_diag("run %d: opcode %#x got %u", i,
				  ops[i % NR(ops)].op, v);
	}
	ok(!bad, "same block: MOVB over the next instruction's opcode (INC, "
		 "DEC, NOP in turn)");

	bad = 0;
	for (i = 0; i < 60; i++) {
		v = run(smc_next_four, fours[i % NR(fours)].code, 0, 0);
		if (v != fours[i % NR(fours)].want && !bad++)
			ktap_diag("run %d: code %#x got %u", i,
				  fours[i % NR(fours)].code, v);
	}
	ok(!bad, "same block: a 4-byte store rewrites the next four "
		 "instructions");

	bad = 0;
	for (i = 0; i < 100; i++) {
		v = run(smc_later, 0x01000193u * i, 0, 0);
		if (v != 100 + 0x01000193u * i && !bad++)
			ktap_diag("run %d: got %#x", i, v);
	}
	ok(!bad, "same block: a store to the MOV four instructions ahead, 100 "
		 "values");
}

/* --- loops that modify themselves ----------------------------------------------- */

/*
 * smc_loop_after(ECX = n): EAX += imm; imm++ (imm from 0): n(n-1)/2.
 * smc_loop_before(ECX = n): imm++; EAX += imm: n(n+1)/2.
 * smc_loop_exit(ECX = k): counts EAX up; at EAX == k it turns its own
 * backward JMP (eb xx at smc_loop_jmp) into two NOPs and so falls out.
 */
asm(".pushsection .text\n"
    ".globl smc_loop_after, smc_loop_after_add, smc_loop_before, "
    "smc_loop_before_add, smc_loop_exit, smc_loop_jmp\n"
    "smc_loop_after:\n\t"
    "xorl %eax, %eax\n"
    "1:\n"
    "smc_loop_after_add:\n\t"
    ".byte 0x05\n\t" /* addl $imm32, %eax */
    ".long 0\n\t"
    "incl smc_loop_after_add + 1\n\t"
    "decl %ecx\n\t"
    "jnz 1b\n\t"
    "ret\n"
    "smc_loop_before:\n\t"
    "xorl %eax, %eax\n"
    "1:\n\t"
    "incl smc_loop_before_add + 1\n"
    "smc_loop_before_add:\n\t"
    ".byte 0x05\n\t"
    ".long 0\n\t"
    "decl %ecx\n\t"
    "jnz 1b\n\t"
    "ret\n"
    "smc_loop_exit:\n\t"
    "xorl %eax, %eax\n"
    "1:\n\t"
    "incl %eax\n\t"
    "cmpl %ecx, %eax\n\t"
    "jne smc_loop_jmp\n\t"
    "movw $0x9090, smc_loop_jmp\n"
    "smc_loop_jmp:\n\t"
    ".byte 0xeb, 1b - (. + 1)\n\t" /* jmp 1b, short */
    "ret\n"
    ".popsection");
extern char smc_loop_after[], smc_loop_after_add[];
extern char smc_loop_before[], smc_loop_before_add[];
extern char smc_loop_exit[], smc_loop_jmp[];

static void test_loops(void)
{
	static const uint32_t exits[] = { 1, 2, 7, 100, 333, 1000 };
	uint8_t jmp[2];
	uint32_t a1, a2, b1, b2, v;
	unsigned int i;
	int bad = 0;

	poke32(smc_loop_after_add + 1, 0);
	a1 = run(smc_loop_after, 500, 0, 0);
	poke32(smc_loop_after_add + 1, 0);
	a2 = run(smc_loop_after, 500, 0, 0);
	ok(a1 == 124750 && a2 == 124750,
	   "loop: ADD's immediate incremented after it runs, 500 iterations, "
	   "twice: sum 124750");
	if (a1 != 124750 || a2 != 124750)
		ktap_diag("sums %u and %u", a1, a2);

	poke32(smc_loop_before_add + 1, 0);
	b1 = run(smc_loop_before, 500, 0, 0);
	poke32(smc_loop_before_add + 1, 0);
	b2 = run(smc_loop_before, 500, 0, 0);
	ok(b1 == 125250 && b2 == 125250,
	   "loop: ADD's immediate incremented just before it runs, 500 "
	   "iterations, twice: sum 125250");
	if (b1 != 125250 || b2 != 125250)
		ktap_diag("sums %u and %u", b1, b2);

	memcpy(jmp, smc_loop_jmp, 2);
	for (i = 0; i < NR(exits); i++) {
		v = run(smc_loop_exit, exits[i], 0, 0);
		if (v != exits[i] && !bad++)
			ktap_diag("told %u, left at %u", exits[i], v);
		poke(smc_loop_jmp, jmp, 2);
	}
	ok(!bad, "loop: turns its own backward JMP into NOPs and leaves at "
		 "the iteration it was told (1 to 1000)");
}

/* --- a code page used for data, and for code again --------------------------------- */

static uint8_t page[4096] __attribute__((aligned(4096)));

/* MOV $v, %eax; RET at @p. */
static void gen_ret(uint8_t *p, uint32_t v)
{
	p[0] = 0xb8;
	memcpy(p + 1, &v, 4);
	p[5] = 0xc3;
}

static int check_page_code(uint32_t shift, uint32_t salt)
{
	int i, bad = 0;
	uint32_t v;

	for (i = 0; i < 16; i++) {
		v = call0(page + i * 256 + shift);
		if (v != salt + i * 0x1111 && !bad++)
			ktap_diag("function %d: got %#x", i, v);
	}
	return !bad;
}

static void write_page_code(uint32_t shift, uint32_t salt)
{
	int i;

	for (i = 0; i < 16; i++)
		gen_ret(page + i * 256 + shift, salt + i * 0x1111);
	code_written();
}

static void test_page_reuse(void)
{
	volatile uint32_t *w = (volatile uint32_t *)page;
	uint32_t r, i, v, sum;
	int bad = 0;

	write_page_code(0, 0x1000);
	ok(check_page_code(0, 0x1000), "page: 16 functions in a page run");

	for (r = 0; r < 64; r++) {
		for (i = 0; i < 1024; i++)
			w[i] = (i * 0x9e3779b9u) ^ (r * 0x01010101u);
		for (i = 0; i < 1024; i++)
			if (w[i] != ((i * 0x9e3779b9u) ^ (r * 0x01010101u)))
				bad++;
		for (i = 0; i < 4096; i += 7)
			((volatile uint8_t *)page)[i] = i + r;
		for (i = 0; i < 4096; i += 7)
			if (((volatile uint8_t *)page)[i] != (uint8_t)(i + r))
				bad++;
	}
	ok(!bad, "page: then a data buffer, 64 rounds of dword and byte "
		 "writes read back");

	write_page_code(3, 0x7000);
	ok(check_page_code(3, 0x7000),
	   "page: new code, 3 bytes further on, runs in the former data page");

	/* Code in the first half, data written in the second. */
	bad = 0;
	sum = 0;
	for (i = 0; i < 400; i++) {
		w[512 + i % 512] = i * 3;
		sum += w[512 + (i * 7) % 512];
		if (i == 200) {
			gen_ret(page + 3, 0xfeed);
			code_written();
		}
		v = call0(page + 3);
		if (v != (i < 200 ? 0x7000u : 0xfeedu) && !bad++)
			ktap_diag("iteration %u: got %#x", i, v);
	}
	(void)sum;
	ok(!bad, "page: data written next to running code leaves it intact; "
		 "the code changed in the middle is seen");
}

/* --- code written by ring 3 -------------------------------------------------------- */

static uint8_t xpage[4096] __attribute__((aligned(4096)));

struct ring3_write {
	uint8_t *dst;
	uint32_t value;
};

/* At ring 3: MOV $value, %eax; RET at dst, through the flat user DS. */
static int write_code_task(void *arg)
{
	struct ring3_write *w = arg;

	gen_ret(w->dst, w->value);
	return 1;
}

/* At ring 3: a new immediate for smc_imm, in the guest's .text. */
static int patch_imm_task(void *arg)
{
	*(volatile uint32_t *)(smc_imm + 1) = (uint32_t)arg;
	return 1;
}

/* At ring 3: write code and run it, at ring 3. */
static int write_and_run_task(void *arg)
{
	struct ring3_write *w = arg;
	uint32_t a, b;

	gen_ret(w->dst, w->value);
	code_written();
	a = call0(w->dst);
	gen_ret(w->dst, w->value + 1);
	code_written();
	b = call0(w->dst);
	return a == w->value && b == w->value + 1;
}

/* CPUID serializes (SDM 3A 8.1.3: what the executing CPU does). */
static void serialize(void)
{
	uint32_t a = 0, b, c = 0, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
}

static void test_ring3(void)
{
	struct ring3_write w = { xpage + 64, 0x3000 };
	uint32_t before, after, v;
	int i, bad = 0, r;

	gen_ret(xpage + 64, 0x1000);
	code_written();
	before = call0(xpage + 64);
	r = user_run(write_code_task, &w);
	serialize();
	after = call0(xpage + 64);
	ok(before == 0x1000 && r == 1 && after == 0x3000,
	   "ring 3: code that ring 0 ran, rewritten by ring 3, runs anew at "
	   "ring 0");

	before = call0(smc_imm);
	r = user_run(patch_imm_task, (void *)0x3333);
	serialize();
	after = call0(smc_imm);
	ok(before == 0x11111111 && r == 1 && after == 0x3333,
	   "ring 3: an immediate in a .text function ring 0 ran, patched by "
	   "ring 3");
	poke32(smc_imm + 1, 0x11111111);

	w.dst = xpage + 1024;
	w.value = 0x4000;
	ok_eq(user_run(write_and_run_task, &w), 1,
	      "ring 3: a task writes code and runs it, twice");
	ok_eq(call0(xpage + 1024), 0x4001,
	      "ring 3: ring 0 runs the code the task wrote");

	for (i = 0; i < 50; i++) {
		w.dst = xpage + 64 + (i % 5) * 8;
		w.value = 0x5000 + i;
		user_run(write_code_task, &w);
		serialize();
		v = call0(w.dst);
		if (v != 0x5000u + i && !bad++)
			ktap_diag("round %d: got %#x", i, v);
	}
	ok(!bad, "ring 3: 50 rounds of ring 3 writing and ring 0 running");
}

/* --- generated code ------------------------------------------------------------------ */

#define NFUNC 256

static uint8_t genbuf[2 * 4096] __attribute__((aligned(4096)));

static uint32_t gen_const(int round, int i)
{
	return (uint32_t)(round + 1) * 0x01000193u ^ (uint32_t)i * 0x9e3779b9u;
}

/* Round @round: function i at @start + i * @stride. */
static int gen_round(int round, uint32_t start, uint32_t stride)
{
	int i, bad = 0;
	uint32_t v;

	for (i = 0; i < NFUNC; i++)
		gen_ret(genbuf + start + i * stride, gen_const(round, i));
	code_written();
	for (i = 0; i < NFUNC; i++) {
		v = call0(genbuf + start + i * stride);
		if (v != gen_const(round, i) && !bad++)
			ktap_diag("round %d function %d: got %#x, expected %#x",
				  round, i, v, gen_const(round, i));
	}
	return !bad;
}

/*
 * Block i: ADD $c, %eax (05 imm32) and JMP rel32 (e9) to the block after
 * it in @order, the last one RET; an entry XOR %eax, %eax; JMP first.
 * Blocks 16 bytes apart from genbuf + 16.  Returns the expected sum.
 */
static uint32_t gen_chain(const uint8_t *order, int round)
{
	uint8_t *entry = genbuf, *p;
	uint32_t sum = 0, c, rel;
	int k, i;

	for (k = 0; k < NFUNC; k++) {
		i = order[k];
		p = genbuf + 16 + i * 16;
		c = gen_const(round, i);
		sum += c;
		p[0] = 0x05;
		memcpy(p + 1, &c, 4);
		if (k == NFUNC - 1) {
			p[5] = 0xc3;
		} else {
			rel = (uint32_t)(genbuf + 16 + order[k + 1] * 16) -
			      (uint32_t)(p + 10);
			p[5] = 0xe9;
			memcpy(p + 6, &rel, 4);
		}
	}
	entry[0] = 0x31;
	entry[1] = 0xc0;
	entry[2] = 0xe9;
	rel = (uint32_t)(genbuf + 16 + order[0] * 16) - (uint32_t)(entry + 7);
	memcpy(entry + 3, &rel, 4);
	code_written();
	return sum;
}

static void test_generated(void)
{
	static const uint32_t strides[] = { 8, 12, 16, 9, 10, 24, 11, 8 };
	static uint8_t order[NFUNC];
	int r, i, good = 1;
	uint32_t want, v;

	ok(gen_round(0, 0, 8), "generated: 256 functions return their "
			       "constants");

	for (r = 1; r <= 8; r++)
		if (!gen_round(r, r % 5, strides[r - 1]))
			good = 0;
	ok(good, "generated: regenerated 8 times, new constants, shifted "
		 "starts: every call returns the new constant");

	good = 1;
	for (r = 0; r < 4; r++) {
		for (i = 0; i < NFUNC; i++) {
			if (r == 0)
				order[i] = i;
			else if (r == 1)
				order[i] = NFUNC - 1 - i;
			else
				order[i] = (i * (r == 2 ? 97 : 45) + r) & 0xff;
		}
		want = gen_chain(order, r + 10);
		v = call0(genbuf);
		if (v != want) {
			ktap_diag("chain %d: got %#x, expected %#x", r, v,
				  want);
			good = 0;
		}
	}
	ok(good, "generated: 256 blocks chained by JMPs, relinked in 4 orders "
		 "with new constants: every sum right");
}

/* --- string instructions writing code ------------------------------------------------ */

/*
 * smc_incs: EAX = 1, then 16 INC EAX: returns 17, or less once NOPs
 * replace some.
 *
 * smc_rep_movs_next(ESI = 5 bytes of code): REP MOVSB copies them over
 * the MOV right after it, which then runs.
 *
 * smc_rep_stos_next(ECX = fill byte): EAX = the byte; REP STOSB fills
 * the 8 one-byte instructions right after it, which then run.
 */
asm(".pushsection .text\n"
    ".globl smc_incs, smc_incs_body, smc_rep_movs_next, smc_rep_stos_next\n"
    "smc_incs:\n\t"
    "movl $1, %eax\n"
    "smc_incs_body:\n\t"
    ".rept 16\n\t"
    "incl %eax\n\t"
    ".endr\n\t"
    "ret\n"
    "smc_rep_movs_next:\n\t"
    "movl $1f, %edi\n\t"
    "movl $5, %ecx\n\t"
    "cld\n\t"
    "rep movsb\n"
    "1:\n\t"
    "movl $0xdead, %eax\n\t"
    "ret\n"
    "smc_rep_stos_next:\n\t"
    "movl %ecx, %eax\n\t"
    "movl $1f, %edi\n\t"
    "movl $8, %ecx\n\t"
    "cld\n\t"
    "rep stosb\n"
    "1:\n\t"
    ".rept 8\n\t"
    "nop\n\t"
    ".endr\n\t"
    "ret\n"
    ".popsection");
extern char smc_incs[], smc_incs_body[], smc_rep_movs_next[];
extern char smc_rep_stos_next[];

static void rep_stosb(void *dst, uint8_t v, uint32_t n)
{
	asm volatile("cld; rep stosb" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

static void rep_movsb(void *dst, const void *src, uint32_t n)
{
	asm volatile("cld; rep movsb"
		     : "+D"(dst), "+S"(src), "+c"(n)
		     :
		     : "memory");
}

/* Copy @n dwords downwards from the last one (DF = 1). */
static void rep_movsl_down(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = (uint8_t *)dst + (n - 1) * 4;
	const uint8_t *s = (const uint8_t *)src + (n - 1) * 4;

	asm volatile("std; rep movsl; cld"
		     : "+D"(d), "+S"(s), "+c"(n)
		     :
		     : "memory");
}

static void test_strings(void)
{
	static const uint8_t fills[] = { 0x40, 0x48, 0x90, 0x40 };
	static const uint32_t fill_want[] = { 0x48, 0x40, 0x90, 0x48 };
	uint8_t code[8], incs[16];
	uint32_t a, b, c, v, want;
	int i, bad = 0;

	memcpy(incs, smc_incs_body, 16);
	a = call0(smc_incs);
	rep_stosb(smc_incs_body + 4, 0x90, 10);
	code_written();
	b = call0(smc_incs);
	rep_stosb(smc_incs_body, 0x90, 16);
	code_written();
	c = call0(smc_incs);
	poke(smc_incs_body, incs, 16);
	ok(a == 17 && b == 7 && c == 1,
	   "strings: REP STOSB of NOPs over INCs in a function that ran");

	memset(code, 0, sizeof(code));
	gen_ret(code, 0x1234);
	gen_ret(page + 100, 0x4321);
	code_written();
	a = call0(page + 100);
	rep_movsb(page + 100, code, 6);
	code_written();
	b = call0(page + 100);
	gen_ret(code, 0x5678);
	rep_movsl_down(page + 100, code, 2);
	code_written();
	c = call0(page + 100);
	ok(a == 0x4321 && b == 0x1234 && c == 0x5678,
	   "strings: REP MOVSB, and REP MOVSL with DF=1, copy new code over "
	   "code that ran");

	for (i = 0; i < 50; i++) {
		want = 0xc0de0000u + i * 0x10001u;
		code[0] = 0xb8;
		memcpy(code + 1, &want, 4);
		v = run(smc_rep_movs_next, 0, 0, (uint32_t)code);
		if (v != want && !bad++)
			ktap_diag("run %d: got %#x, expected %#x", i, v, want);
	}
	ok(!bad, "strings: REP MOVSB overwrites the MOV right after it, 50 "
		 "values");

	bad = 0;
	for (i = 0; i < 40; i++) {
		v = run(smc_rep_stos_next, fills[i % NR(fills)], 0, 0);
		if (v != fill_want[i % NR(fills)] && !bad++)
			ktap_diag("run %d: fill %#x got %#x", i,
				  fills[i % NR(fills)], v);
	}
	ok(!bad, "strings: REP STOSB fills the 8 instructions right after it "
		 "(INC, DEC, NOP in turn)");
}

int main(void)
{
	ktap_plan(32);
	pic_init(); /* ring 3 runs with IF = 1: every IRQ masked */
	user_init();

	test_immediate();
	test_call_site();
	test_same_block();
	test_loops();
	test_page_reuse();
	test_ring3();
	test_generated();
	test_strings();

	ktap_finish();
}
