/*
 * btfault - faults and interrupts arriving inside straight-line and
 * looping ring-0 code, each verified precisely.
 *
 * A binary translator runs guest code as translated blocks; when a fault
 * or an interrupt arrives in the middle of one, it must still present the
 * guest with the exact state of the instruction boundary: the EIP of the
 * faulting instruction (a fault) or of the next one (a trap, INT n), the
 * error code, and every register and flag as the guest code had set them
 * (Intel SDM Vol. 3A, 6.5 "Exception Classifications", 6.6 "Program or
 * Task Restart").
 *
 * Faults (ring 0, interrupts off; each probe is run 20 times):
 *   each probe is an asm function that loads distinctive values into all
 *   seven general registers, runs its code and faults; the handler keeps
 *   the frame and resumes at the probe's end.  Checked: vector, error code,
 *   saved EIP (an asm label), saved CS, EFLAGS.IF = 0, ESP at the fault
 *   (just above the frame), and EAX..EDI, EBP in the frame (PUSHAL) equal
 *   to what the code had computed by then:
 *     #DE (DIV by 0) in the middle of a loop, in its 37th iteration
 *     #UD (UD2) after a few instructions
 *     #GP(0x40) MOV FS of a selector beyond the GDT limit
 *     #GP(0x28) MOV SS of a read-only data segment (2 MOV)
 *     #GP(0) a write through a read-only ES (3A 5.5, 6.15)    -- SKIP when
 *            the CPU checks no segment rights on data accesses (QEMU TCG)
 *     #SS(0x30) MOV SS of a not-present data segment (2 MOV)
 *     #SS(0) an EBP-based read below an expand-down SS limit  -- SKIP when
 *            the CPU checks no segment limits (QEMU TCG; as hostile.c)
 *     #BR (BOUND) in a loop's 1000th iteration, the counter register 1000
 *     INT3 in the middle of a block: EIP after it, execution goes on
 *     INTO with OF = 0 (nothing) and OF = 1 (#OF, EIP after it, OF and SF
 *            in the saved EFLAGS)
 *     INT 0x20..0x30, seventeen in one block with INC ESI between them:
 *            each reaches its vector with EIP after it, ESI counting, CF
 *            and DF as set
 *     a fault at a function's first instruction (EIP the function, the
 *            return address on top of the stack), at the last instruction
 *            before a JMP, at the instruction right after a CALL returns
 * Interrupts (PIT IRQ 0 at 1 kHz; waits bounded, only verdicts printed):
 *   a register-only checksum loop (IMUL, ADD/ADC, CMP/ADC, CMP/RCL: the
 *   carry flag passes from one instruction to the next) runs with IF = 1
 *   until enough ticks arrived: every interrupted EIP lies between the
 *   loop's STI and CLI, EBP (a constant the loop leaves alone) is intact
 *   in every frame, every run's result equals a C reference; the same for
 *   a loop with PUSHF/POPF (CF kept across an ADD), CLI/STI pairs and a
 *   CALL/RET, where no interrupt may arrive after a CLI up to its STI;
 *   and a loop of flag-preserving instructions (LEA, NOT, BSWAP, XCHG,
 *   LOOP) under two flag patterns, whose handler checks IF = 1 and CF, PF,
 *   AF, ZF, SF, DF, OF in each saved EFLAGS.
 * Flags through %gs (ring 0, interrupts off): XCHG, LOCK ADD, LOCK XADD on
 *   misaligned %gs operands, a REP MOVSB from %gs, and DEC then a jump
 *   then XCHG (difftest case 2542's shape), under 16 flag patterns (DF in
 *   half): CF PF AF ZF SF DF OF, the registers and the memory equal those
 *   of the same code through %ds.  A binary translator that runs %gs
 *   operands natively under TF loses the flags in the sandbox: QEMU's TCG
 *   with more than one vCPU runs a misaligned atomic alone, and drops
 *   EFLAGS when an exception (the #DB) ends that step.
 *
 * Not checked: the STI shadow (Vol. 2B STI: no interrupt before the
 * instruction after STI has run).  Native QEMU and tae keep it, but KVM in
 * the sandbox (on QEMU's emulated SVM), the reference, now and then
 * delivers an interrupt that was pending during the CLI window with EIP at
 * the instruction right after the STI.
 *
 * Under bt86 --accel tae ring 0 runs at CPL 1, where PUSHF shows the real
 * IF and POPF cannot change IF: the loops therefore never use POPF to
 * enable interrupts (STI does) nor PUSHF to read IF (the frame does).
 */
#include "guest.h"

#define NR(a) (sizeof(a) / sizeof((a)[0]))

#define RUNS 20 /* each fault probe runs this many times */

/* --- our GDT entries --------------------------------------------------------- */

#define GDT_RO	    GDT_FREE	   /* data, read-only, DPL 0 */
#define GDT_NP	    (GDT_FREE + 1) /* data, read/write, not present */
#define GDT_EXPDOWN (GDT_FREE + 2) /* data, expand-down, limit 0xfff, B=1 */
#define SEL_RO	    (GDT_RO << 3)
#define SEL_NP	    (GDT_NP << 3)
#define SEL_EXPDOWN (GDT_EXPDOWN << 3)
#define SEL_BEYOND  0x43 /* index 8: past the 8-entry GDT, RPL 3 */

#define DESC_DATA_RO   0x00
#define DESC_DATA_RWED 0x06

static void my_gdt_init(void)
{
	uint8_t flat = DESC_G | DESC_DB;
	struct dtr d;

	gdt[GDT_RO] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_DATA_RO, flat);
	gdt[GDT_NP] = seg_desc(0, 0xfffff, DESC_S | DESC_DATA_RW, flat);
	gdt[GDT_EXPDOWN] =
		seg_desc(0, 0xfff, DESC_P | DESC_S | DESC_DATA_RWED, DESC_DB);
	/* Load GDTR again: a VMM may shadow the GDT from LGDT on. */
	sgdt(&d);
	lgdt(&d);
}

/* --- probes --------------------------------------------------------------------- */

/* The general registers in PUSHAL order, without ESP. */
struct regs {
	uint32_t edi, esi, ebp, ebx, edx, ecx, eax;
};

struct regs probe_in;		 /* what a probe loads before its body */
uint32_t probe_esp;		 /* ESP after the probe's PUSHAL */
uint32_t probe_out;		 /* what a body may store */
uint32_t bounds[2] = { 1, 999 }; /* BOUND's lower and upper bound */

/*
 * An asm function: save everything, load EDI..EAX from probe_in, run
 * @body; NAME_end follows it: ESP and the segment registers back, DF = 0,
 * everything restored.  The body names its own labels.
 */
#define PROBE(name, body)                                              \
	asm(".pushsection .text\n"                                     \
	    ".globl " #name "\n" #name ":\n\t"                         \
	    "pushal\n\t"                                               \
	    "movl %esp, probe_esp\n\t"                                 \
	    "movl probe_in + 0, %edi\n\t"                              \
	    "movl probe_in + 4, %esi\n\t"                              \
	    "movl probe_in + 8, %ebp\n\t"                              \
	    "movl probe_in + 12, %ebx\n\t"                             \
	    "movl probe_in + 16, %edx\n\t"                             \
	    "movl probe_in + 20, %ecx\n\t"                             \
	    "movl probe_in + 24, %eax\n\t" body "\n" #name "_end:\n\t" \
	    "movl probe_esp, %esp\n\t"                                 \
	    "movw $0x10, %ax\n\t"                                      \
	    "movw %ax, %ss\n\t"                                        \
	    "movw %ax, %ds\n\t"                                        \
	    "movw %ax, %es\n\t"                                        \
	    "movw %ax, %fs\n\t"                                        \
	    "movw %ax, %gs\n\t"                                        \
	    "cld\n\t"                                                  \
	    "popal\n\t"                                                \
	    "ret\n"                                                    \
	    ".popsection");                                            \
	void name(void);                                               \
	extern char name##_end[]

/* #DE: ECX = 37 - ESI reaches 0 in the 37th iteration. */
PROBE(de_loop, "1:\n\t"
	       "incl %esi\n\t"
	       "movl %edi, %eax\n\t"
	       "xorl %edx, %edx\n\t"
	       "movl $37, %ecx\n\t"
	       "subl %esi, %ecx\n"
	       "de_loop_insn:\n\t"
	       "divl %ecx\n\t"
	       "addl %eax, %ebx\n\t"
	       "jmp 1b");

PROBE(ud_straight, "addl $0x100, %eax\n\t"
		   "xorl %ebx, %ecx\n\t"
		   "leal 4(%edx,%esi), %edi\n\t"
		   "notl %ebp\n"
		   "ud_straight_insn:\n\t"
		   "ud2\n\t"
		   "movl $1, probe_out");

PROBE(gp_sel, "incl %edx\n"
	      "gp_sel_insn:\n\t"
	      "movw %cx, %fs\n\t"
	      "movl $1, probe_out");

PROBE(gp_ro_ss, "decl %edi\n"
		"gp_ro_ss_insn:\n\t"
		"movw %cx, %ss\n\t"
		"movl $1, probe_out");

/* ES = ECX (read-only), then a write through it to (EBX). */
PROBE(gp_ro_write, "movw %cx, %es\n"
		   "gp_ro_write_insn:\n\t"
		   "movl %eax, %es:(%ebx)\n\t"
		   "movl $1, probe_out");

PROBE(ss_np, "negl %esi\n"
	     "ss_np_insn:\n\t"
	     "movw %cx, %ss\n\t"
	     "movl $1, probe_out");

/* SS = ECX (expand-down, limit 0xfff), then a read at SS:EBP = 0x800. */
PROBE(ss_limit, "movw %cx, %ss\n"
		"ss_limit_insn:\n\t"
		"movl (%ebp), %eax\n\t"
		"movl $1, probe_out");

/* ESI counts iterations from 1; BOUND [1, 999] fails at 1000. */
PROBE(br_loop, "1:\n\t"
	       "incl %esi\n\t"
	       "addl %esi, %eax\n"
	       "br_loop_insn:\n\t"
	       "boundl %esi, bounds\n\t"
	       "jmp 1b");

PROBE(int3_mid, "addl %ecx, %eax\n\t"
		"int3\n"
		"int3_mid_after:\n\t"
		"addl $1, %eax\n\t"
		"movl %eax, probe_out");

PROBE(into_mid, "xorl %edx, %edx\n\t"
		"into\n\t"
		"movl $0x7fffffff, %eax\n\t"
		"addl $1, %eax\n\t"
		"into\n"
		"into_mid_after:\n\t"
		"movl %eax, probe_out");

/* INC ESI (1 byte) and INT n (2 bytes) for n = 0x20..0x30. */
PROBE(int_block, "stc\n\t"
		 "std\n"
		 "int_block_ints:\n\t"
		 ".set intn_vec, 0x20\n\t"
		 ".rept 17\n\t"
		 "incl %esi\n\t"
		 "int $intn_vec\n\t"
		 ".set intn_vec, intn_vec + 1\n\t"
		 ".endr\n\t"
		 "movl %esi, probe_out");

asm(".pushsection .text\n"
    "first_insn_fn:\n\t"
    "divl %ecx\n\t"
    "ret\n"
    "helper_add:\n\t"
    "addl $0x1000, %eax\n\t"
    "ret\n"
    ".popsection");
extern char first_insn_fn[];

PROBE(call_first, "incl %ebx\n\t"
		  "call first_insn_fn\n"
		  "call_first_ret:\n\t"
		  "movl $1, probe_out");

PROBE(before_jmp, "movl $0x80000000, %eax\n\t"
		  "movl $-1, %ecx\n\t"
		  "cltd\n\t"
		  "addl $5, %esi\n"
		  "before_jmp_insn:\n\t"
		  "idivl %ecx\n\t"
		  "jmp 2f\n\t"
		  "movl $2, probe_out\n"
		  "2:\n\t"
		  "movl $1, probe_out");

PROBE(after_call, "call helper_add\n"
		  "after_call_insn:\n\t"
		  "movw %dx, %es\n\t"
		  "movl $1, probe_out");

extern char de_loop_insn[], ud_straight_insn[], gp_sel_insn[];
extern char gp_ro_ss_insn[], gp_ro_write_insn[], ss_np_insn[];
extern char ss_limit_insn[], br_loop_insn[], int3_mid_after[];
extern char into_mid_after[], int_block_ints[], call_first_ret[];
extern char before_jmp_insn[], after_call_insn[];

/* --- catching faults --------------------------------------------------------------- */

static struct trap_frame seen;
static uint32_t seen_esp; /* ESP when the fault came: just above the frame */
static uint32_t seen_top; /* the dword at that ESP */
static int hits;
static uint32_t resume_eip; /* 0: where the CPU said */

static void catch_trap(struct trap_frame *f)
{
	if (!hits++) {
		seen = *f;
		seen_esp = (uint32_t)&f->esp;
		seen_top = f->esp;
	}
	if (resume_eip)
		f->eip = resume_eip;
	f->ds = f->es = f->fs = f->gs = SEL_KDATA;
}

/* Distinctive register values; a probe's expected values start from them. */
static const struct regs marks = {
	.edi = 0xd1d1d1d1,
	.esi = 0x51515151,
	.ebp = 0xb9b9b9b9,
	.ebx = 0xb1b1b1b1,
	.edx = 0xd0d0d0d0,
	.ecx = 0xc0c0c0c0,
	.eax = 0xa0a0a0a0,
};

/* Run @fn once; a fault resumes at @resume (0: where the CPU said). */
static void run_probe(void (*fn)(void), const struct regs *in, char *resume)
{
	probe_in = *in;
	probe_out = 0;
	hits = 0;
	memset(&seen, 0, sizeof(seen));
	resume_eip = (uint32_t)resume;
	fn();
}

/*
 * Did the last probe fault once with @vector and @error at @eip, ESP
 * @esp (the probe's ESP minus @depth), CS the kernel's, IF = 0 and the
 * registers @want?  Reports the first difference on a "#" line.
 */
static int frame_is(int vector, uint32_t error, uint32_t eip, int depth,
		    const struct regs *want)
{
	static const char *const names[] = { "edi", "esi", "ebp", "ebx",
					     "edx", "ecx", "eax" };
	const uint32_t *w = (const uint32_t *)want;
	uint32_t got[7] = { seen.edi, seen.esi, seen.ebp, seen.ebx,
			    seen.edx, seen.ecx, seen.eax };
	uint32_t esp = probe_esp - depth;
	unsigned int i;

	if (hits != 1 || seen.vector != (uint32_t)vector ||
	    seen.error_code != error || seen.eip != eip) {
		ktap_diag("%d hits, vector %u error %#x eip %#x (want %u %#x "
			  "%#x)",
			  hits, seen.vector, seen.error_code, seen.eip, vector,
			  error, eip);
		return 0;
	}
	if (seen.cs != SEL_KCODE || (seen.eflags & EFLAGS_IF) ||
	    !(seen.eflags & EFLAGS_FIXED) || seen_esp != esp) {
		ktap_diag("cs %#x eflags %#x esp %#x (want esp %#x)", seen.cs,
			  seen.eflags, seen_esp, esp);
		return 0;
	}
	for (i = 0; i < NR(got); i++) {
		if (got[i] != w[i]) {
			ktap_diag("%s %#x, expected %#x", names[i], got[i],
				  w[i]);
			return 0;
		}
	}
	return 1;
}

/*
 * Run @fn RUNS times and check each run's frame; @extra, if given, checks
 * more.  Returns 1 if every run was right.
 */
static int probe_ok(void (*fn)(void), const struct regs *in, char *resume,
		    int vector, uint32_t error, uint32_t eip, int depth,
		    const struct regs *want, int (*extra)(void))
{
	int r;

	for (r = 0; r < RUNS; r++) {
		run_probe(fn, in, resume);
		if (!frame_is(vector, error, eip, depth, want) ||
		    (extra && !extra())) {
			ktap_diag("run %d of %d", r + 1, RUNS);
			return 0;
		}
	}
	return 1;
}

static int out_untouched(void)
{
	return probe_out == 0;
}

static void test_de_loop(void)
{
	struct regs in = marks, want;
	int i;

	in.esi = 0;
	in.edi = 0x12345678; /* the dividend */
	want = in;
	for (i = 1; i <= 36; i++)
		want.ebx += in.edi / (37 - i);
	want.esi = 37;
	want.eax = in.edi;
	want.edx = 0;
	want.ecx = 0;
	ok(probe_ok(de_loop, &in, de_loop_end, VEC_DE, 0,
		    (uint32_t)de_loop_insn, 0, &want, NULL),
	   "#DE: DIV by 0 in a loop's 37th iteration: EIP the DIV, ESI 37, "
	   "registers as the loop left them");
}

static void test_ud(void)
{
	struct regs want = marks;

	want.eax += 0x100;
	want.ecx ^= marks.ebx;
	want.edi = marks.edx + marks.esi + 4;
	want.ebp = ~marks.ebp;
	ok(probe_ok(ud_straight, &marks, ud_straight_end, VEC_UD, 0,
		    (uint32_t)ud_straight_insn, 0, &want, out_untouched),
	   "#UD: UD2 after four instructions: EIP the UD2, their results in "
	   "the frame, nothing after it ran");
}

static void test_selectors(void)
{
	struct regs in = marks, want;

	in.ecx = 0x55550000 | SEL_BEYOND;
	want = in;
	want.edx++;
	ok(probe_ok(gp_sel, &in, gp_sel_end, VEC_GP, SEL_BEYOND & ~3,
		    (uint32_t)gp_sel_insn, 0, &want, out_untouched),
	   "#GP(%#x): MOV FS of %#x, beyond the GDT limit", SEL_BEYOND & ~3,
	   SEL_BEYOND);

	in.ecx = 0x66660000 | SEL_RO;
	want = in;
	want.edi--;
	ok(probe_ok(gp_ro_ss, &in, gp_ro_ss_end, VEC_GP, SEL_RO,
		    (uint32_t)gp_ro_ss_insn, 0, &want, out_untouched),
	   "#GP(%#x): MOV SS of a read-only data segment", SEL_RO);

	in.ecx = 0x77770000 | SEL_NP;
	want = in;
	want.esi = -in.esi;
	ok(probe_ok(ss_np, &in, ss_np_end, VEC_SS, SEL_NP, (uint32_t)ss_np_insn,
		    0, &want, out_untouched),
	   "#SS(%#x): MOV SS of a not-present data segment", SEL_NP);
}

static uint32_t ro_target;

static void test_segment_checks(void)
{
	struct regs in = marks;

	/*
	 * QEMU TCG checks neither the W bit nor the limit of a data segment
	 * on an access (and KVM and tae in the sandbox run on TCG too), so
	 * probe first, as hostile.c does: a write that does not fault.
	 */
	in.ecx = SEL_RO;
	in.ebx = (uint32_t)&ro_target;
	run_probe(gp_ro_write, &in, gp_ro_write_end);
	if (!hits) {
		ktap_skip("this CPU checks no segment rights (QEMU TCG)",
			  "#GP(0): write through a read-only ES");
	} else {
		ok(probe_ok(gp_ro_write, &in, gp_ro_write_end, VEC_GP, 0,
			    (uint32_t)gp_ro_write_insn, 0, &in,
			    out_untouched) &&
			   ro_target == 0,
		   "#GP(0): write through a read-only ES");
	}

	in = marks;
	in.ecx = SEL_EXPDOWN;
	in.ebp = 0x800;
	run_probe(ss_limit, &in, ss_limit_end);
	if (!hits) {
		ktap_skip("this CPU checks no segment limits (QEMU TCG)",
			  "#SS(0): read below an expand-down SS limit");
	} else {
		ok(probe_ok(ss_limit, &in, ss_limit_end, VEC_SS, 0,
			    (uint32_t)ss_limit_insn, 0, &in, out_untouched),
		   "#SS(0): read below an expand-down SS limit");
	}
}

static void test_br_loop(void)
{
	struct regs in = marks, want;

	in.esi = 0;
	in.eax = 0x1000;
	want = in;
	want.esi = 1000;
	want.eax = 0x1000 + 500500;
	ok(probe_ok(br_loop, &in, br_loop_end, VEC_BR, 0,
		    (uint32_t)br_loop_insn, 0, &want, NULL),
	   "#BR: BOUND fails in a loop's 1000th iteration: EIP the BOUND, "
	   "ESI 1000, the sum so far");
}

static int int3_went_on(void)
{
	return probe_out == marks.eax + marks.ecx + 1;
}

static int into_went_on(void)
{
	return probe_out == 0x80000000 &&
	       (seen.eflags & (1u << 11 | 1u << 7)) == (1u << 11 | 1u << 7);
}

static void test_traps(void)
{
	struct regs want = marks;

	want.eax += marks.ecx;
	ok(probe_ok(int3_mid, &marks, NULL, VEC_BP, 0, (uint32_t)int3_mid_after,
		    0, &want, int3_went_on),
	   "INT3 in the middle of a block: EIP after it, registers, the "
	   "block goes on");

	want = marks;
	want.edx = 0;
	want.eax = 0x80000000;
	ok(probe_ok(into_mid, &marks, NULL, VEC_OF, 0, (uint32_t)into_mid_after,
		    0, &want, into_went_on),
	   "INTO: nothing with OF=0; #OF with OF=1, EIP after it, OF and SF "
	   "saved, the block goes on");
}

/* INT 0x20..0x30: what each of the 17 saw. */
static struct {
	uint32_t vector, eip, esi, eflags, others_bad;
} intn[17];
static int intn_hits;

static void record_intn(struct trap_frame *f)
{
	if (intn_hits < (int)NR(intn)) {
		intn[intn_hits].vector = f->vector;
		intn[intn_hits].eip = f->eip;
		intn[intn_hits].esi = f->esi;
		intn[intn_hits].eflags = f->eflags;
		intn[intn_hits].others_bad =
			f->edi != marks.edi || f->ebp != marks.ebp ||
			f->ebx != marks.ebx || f->edx != marks.edx ||
			f->ecx != marks.ecx || f->eax != marks.eax ||
			f->cs != SEL_KCODE || (uint32_t)&f->esp != probe_esp;
	}
	intn_hits++;
}

static void test_int_n(void)
{
	uint32_t want_flags = EFLAGS_CF | EFLAGS_DF, v;
	int round, k, good = 1;

	for (v = 0x20; v <= 0x30; v++)
		trap_set_handler(v, record_intn);
	for (round = 0; round < RUNS && good; round++) {
		intn_hits = 0;
		memset(intn, 0, sizeof(intn));
		run_probe(int_block, &marks, NULL);
		if (intn_hits != 17 || probe_out != marks.esi + 17) {
			ktap_diag("%d interrupts, ESI after %#x", intn_hits,
				  probe_out);
			good = 0;
		}
		for (k = 0; k < 17 && good; k++) {
			if (intn[k].vector != 0x20u + k ||
			    intn[k].eip !=
				    (uint32_t)int_block_ints + 3 * k + 3 ||
			    intn[k].esi != marks.esi + k + 1 ||
			    (intn[k].eflags & (want_flags | EFLAGS_IF)) !=
				    want_flags ||
			    intn[k].others_bad) {
				ktap_diag("INT %#x: vector %#x eip %#x esi %#x "
					  "eflags %#x others %s",
					  0x20 + k, intn[k].vector, intn[k].eip,
					  intn[k].esi, intn[k].eflags,
					  intn[k].others_bad ? "bad" : "ok");
				good = 0;
			}
		}
	}
	for (v = 0x20; v <= 0x30; v++)
		trap_set_handler(v, NULL);
	ok(good, "INT 0x20..0x30, 17 in one block: each its vector, EIP "
		 "after it, ESI counting, CF and DF kept, registers intact");
}

static void test_block_edges(void)
{
	struct regs in = marks, want;

	/* A fault at a function's first instruction. */
	in.ecx = 0;
	in.edx = 0;
	want = in;
	want.ebx++;
	ok(probe_ok(call_first, &in, call_first_end, VEC_DE, 0,
		    (uint32_t)first_insn_fn, 4, &want, out_untouched) &&
		   seen_top == (uint32_t)call_first_ret,
	   "#DE at a function's first instruction: EIP the function, its "
	   "return address on the stack");

	want = marks;
	want.eax = 0x80000000;
	want.ecx = 0xffffffff;
	want.edx = 0xffffffff;
	want.esi += 5;
	ok(probe_ok(before_jmp, &marks, before_jmp_end, VEC_DE, 0,
		    (uint32_t)before_jmp_insn, 0, &want, out_untouched),
	   "#DE at the last instruction before a JMP (IDIV overflow)");

	in = marks;
	in.edx = 0x7777000c; /* LDT selector 0x0c, LDTR null */
	want = in;
	want.eax += 0x1000;
	ok(probe_ok(after_call, &in, after_call_end, VEC_GP, 0x0c,
		    (uint32_t)after_call_insn, 0, &want, out_untouched),
	   "#GP(0xc) at the instruction right after a CALL returned: "
	   "EIP, the callee's EAX");
}

static void test_faults(void)
{
	static const int vectors[] = { VEC_DE, VEC_BR, VEC_UD, VEC_SS,
				       VEC_GP, VEC_BP, VEC_OF };
	unsigned int i;

	for (i = 0; i < NR(vectors); i++)
		trap_set_handler(vectors[i], catch_trap);
	test_de_loop();
	test_ud();
	test_selectors();
	test_segment_checks();
	test_br_loop();
	test_traps();
	test_int_n();
	test_block_edges();
}

/* --- flags through %gs ------------------------------------------------------------ */

#define FLAGS_ARITH 0xcd5u /* CF PF AF ZF SF DF OF */

static uint8_t gsbuf[64] __attribute__((aligned(16)));

/* What one flag probe leaves: the flags, two registers, the buffer. */
struct flag_out {
	uint32_t flags, ecx, edx;
	uint8_t buf[64];
};

/*
 * @insn(gs) or @insn(ds) from EFLAGS @flags (IF = 0), EBX = gsbuf, ESI and
 * EDI into it; what it leaves.  The runtime's GS is its flat data segment.
 */
#define FLAG_PROBE(name, insn)                                                 \
	static void name(int via_gs, uint32_t flags, struct flag_out *o)       \
	{                                                                      \
		uint32_t ecx = 0x11223344, edx = 0x0000ad07, f;                \
		int i;                                                         \
                                                                               \
		for (i = 0; i < 64; i++)                                       \
			gsbuf[i] = (uint8_t)(i * 37 + 1);                      \
		if (via_gs)                                                    \
			asm volatile("pushl %[fl]\n\tpopfl\n\t" insn(          \
					     gs) "\n\tpushfl\n\tpopl %[f]\n\t" \
						 "pushl $2\n\tpopfl"           \
				     : [f] "=&r"(f), "+c"(ecx), "+d"(edx)      \
				     : [fl] "r"(flags), "b"(gsbuf),            \
				       "S"(gsbuf + 40), "D"(gsbuf + 10)        \
				     : "memory", "cc");                        \
		else                                                           \
			asm volatile("pushl %[fl]\n\tpopfl\n\t" insn(          \
					     ds) "\n\tpushfl\n\tpopl %[f]\n\t" \
						 "pushl $2\n\tpopfl"           \
				     : [f] "=&r"(f), "+c"(ecx), "+d"(edx)      \
				     : [fl] "r"(flags), "b"(gsbuf),            \
				       "S"(gsbuf + 40), "D"(gsbuf + 10)        \
				     : "memory", "cc");                        \
		o->flags = f & FLAGS_ARITH;                                    \
		o->ecx = ecx;                                                  \
		o->edx = edx;                                                  \
		memcpy(o->buf, gsbuf, sizeof(o->buf));                         \
	}

#define XCHG_INSN(seg)	"xchg %%ecx, %%" #seg ":1(%%ebx)"
#define LADD_INSN(seg)	"lock addl $0x7f, %%" #seg ":3(%%ebx)"
#define LXADD_INSN(seg) "lock xaddw %%cx, %%" #seg ":5(%%ebx)"
#define MOVS_INSN(seg) \
	"mov $7, %%ecx\n\trep movsb %%" #seg ":(%%esi), %%es:(%%edi)"
#define DEC_INSN(seg)                                      \
	"decw %%dx\n\tjmp 1f\n1:\tlea 1(%%ebx), %%ecx\n\t" \
	"xchg %%ecx, %%" #seg ":1(%%ebx)"

FLAG_PROBE(probe_xchg, XCHG_INSN)
FLAG_PROBE(probe_ladd, LADD_INSN)
FLAG_PROBE(probe_lxadd, LXADD_INSN)
FLAG_PROBE(probe_movs, MOVS_INSN)
FLAG_PROBE(probe_dec, DEC_INSN)

static void test_gs_flags(void)
{
	static const struct {
		void (*fn)(int, uint32_t, struct flag_out *);
		const char *what;
	} probes[] = {
		{ probe_xchg, "misaligned XCHG" },
		{ probe_ladd, "misaligned LOCK ADD" },
		{ probe_lxadd, "misaligned LOCK XADD" },
		{ probe_movs, "REP MOVSB from %gs" },
		{ probe_dec, "DEC, JMP, misaligned XCHG" },
	};
	struct flag_out via_gs, via_ds;
	unsigned int i, p;
	int wrong = 0;

	for (p = 0; p < NR(probes); p++) {
		for (i = 0; i < 16; i++) {
			/* DF in half the patterns (REP MOVSB backwards) */
			uint32_t flags = ((i * 0x8d5u * 7) & 0x8d5u) |
					 (i & 1 ? 0x400u : 0) | EFLAGS_FIXED;

			probes[p].fn(1, flags, &via_gs);
			probes[p].fn(0, flags, &via_ds);
			if (via_gs.flags == via_ds.flags &&
			    via_gs.ecx == via_ds.ecx &&
			    via_gs.edx == via_ds.edx &&
			    !memcmp(via_gs.buf, via_ds.buf, sizeof(gsbuf)))
				continue;
			if (!wrong++)
				ktap_diag(
					"%s from flags %#x: %%gs leaves flags "
					"%#x ecx %#x edx %#x, %%ds %#x %#x %#x",
					probes[p].what, flags, via_gs.flags,
					via_gs.ecx, via_gs.edx, via_ds.flags,
					via_ds.ecx, via_ds.edx);
		}
	}
	ok(!wrong,
	   "XCHG, LOCK ADD, LOCK XADD (misaligned), REP MOVSB, DEC "
	   "then XCHG through %%gs: flags, registers, memory as through "
	   "%%ds (16 flag patterns)");
}

/* --- interrupts in running loops ---------------------------------------------------- */

#define TICK_HZ	   1000
#define DIVISOR	   (PIT_HZ / TICK_HZ)
#define EBP_MAGIC  0x5a5aa5a5 /* EBP while a loop runs */
#define MIN_TICKS  8	      /* interrupts each loop must see */
#define MAX_CHUNKS 1000	      /* loop runs at most */

/* Where interrupts may land and what their frames must show. */
struct range {
	uint32_t lo, hi;   /* EIP in [lo, hi] */
	uint32_t cli, sti; /* and not in (cli, sti] */
	uint32_t flags_mask, flags;
};

static const struct range *volatile cur_range;
static volatile struct {
	uint32_t ticks, inside, outside, bad_ebp, bad_if, bad_flags, closed;
	uint32_t first_out, first_flags, first_closed;
} irq;

static void timer_irq(struct trap_frame *f)
{
	const struct range *r = cur_range;

	irq.ticks++;
	if (r) {
		if (f->eip >= r->lo && f->eip <= r->hi) {
			irq.inside++;
		} else {
			if (!irq.outside)
				irq.first_out = f->eip;
			irq.outside++;
		}
		if (f->eip > r->cli && f->eip <= r->sti) {
			if (!irq.closed)
				irq.first_closed = f->eip;
			irq.closed++;
		}
		if (f->ebp != EBP_MAGIC)
			irq.bad_ebp++;
		if (!(f->eflags & EFLAGS_IF) || f->cs != SEL_KCODE)
			irq.bad_if++;
		if ((f->eflags & r->flags_mask) != r->flags) {
			if (!irq.bad_flags)
				irq.first_flags = f->eflags;
			irq.bad_flags++;
		}
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

static void irq_reset(const struct range *r)
{
	memset((void *)&irq, 0, sizeof(irq));
	cur_range = r;
}

/* The loops' registers, in and out. */
struct loop_state {
	uint32_t eax, ebx, ecx, edx, esi, edi, flags;
};

/*
 * irq_sum(s): the checksum loop, ECX iterations, with EBP = EBP_MAGIC.
 * irq_mix(s): PUSHF/POPF, CLI/STI and CALL/RET in a loop.
 * irq_flags(s): flag-preserving instructions under s->flags (IF = 0 in
 * it; the STI after the POPF enables interrupts); s->flags comes back as
 * the flags after the loop.
 */
asm(".pushsection .text\n"
    ".globl irq_sum, irq_mix, irq_flags\n"
    "irq_sum:\n\t"
    "pushal\n\t"
    "movl 36(%esp), %ebp\n\t"
    "pushl %ebp\n\t"
    "movl 0(%ebp), %eax\n\t"
    "movl 4(%ebp), %ebx\n\t"
    "movl 8(%ebp), %ecx\n\t"
    "movl 12(%ebp), %edx\n\t"
    "movl 16(%ebp), %esi\n\t"
    "movl 20(%ebp), %edi\n\t"
    "movl $0x5a5aa5a5, %ebp\n\t"
    "sti\n"
    "irq_sum_start:\n\t"
    "imull $0x19660d, %ebx, %ebx\n\t"
    "addl $0x3c6ef35f, %ebx\n\t"
    "addl %ebx, %eax\n\t"
    "adcl $0, %edx\n\t"
    "cmpl %ebx, %eax\n\t"
    "adcl %ebx, %esi\n\t"
    "cmpl %eax, %esi\n\t"
    "rcll $1, %edi\n\t"
    "decl %ecx\n\t"
    "jnz irq_sum_start\n"
    "irq_sum_end:\n\t"
    "cli\n\t"
    "jmp irq_store\n"

    "irq_mix:\n\t"
    "pushal\n\t"
    "movl 36(%esp), %ebp\n\t"
    "pushl %ebp\n\t"
    "movl 0(%ebp), %eax\n\t"
    "movl 4(%ebp), %ebx\n\t"
    "movl 8(%ebp), %ecx\n\t"
    "movl 12(%ebp), %edx\n\t"
    "movl 16(%ebp), %esi\n\t"
    "movl 20(%ebp), %edi\n\t"
    "movl $0x5a5aa5a5, %ebp\n\t"
    "sti\n"
    "irq_mix_start:\n\t"
    "jmp 1f\n"
    "irq_mix_helper:\n\t"
    "roll $3, %eax\n\t"
    "xorl %ecx, %eax\n\t"
    "ret\n"
    "1:\n\t"
    "btl $0, %eax\n\t"
    "pushfl\n\t"
    "addl %ebx, %eax\n\t"
    "popfl\n\t"
    "adcl %ebx, %edx\n"
    "irq_mix_cli:\n\t"
    "cli\n\t"
    "leal 1(%edx,%eax), %esi\n\t"
    "xorl %esi, %ebx\n"
    "irq_mix_sti:\n\t"
    "sti\n\t"
    "addl $7, %ebx\n\t"
    "call irq_mix_helper\n\t"
    "decl %ecx\n\t"
    "jnz 1b\n"
    "irq_mix_end:\n\t"
    "cli\n\t"
    "jmp irq_store\n"

    "irq_flags:\n\t"
    "pushal\n\t"
    "movl 36(%esp), %ebp\n\t"
    "pushl %ebp\n\t"
    "movl 0(%ebp), %eax\n\t"
    "movl 4(%ebp), %ebx\n\t"
    "movl 8(%ebp), %ecx\n\t"
    "movl 12(%ebp), %edx\n\t"
    "movl 16(%ebp), %esi\n\t"
    "movl 20(%ebp), %edi\n\t"
    "pushl 24(%ebp)\n\t"
    "movl $0x5a5aa5a5, %ebp\n\t"
    "popfl\n\t"
    "sti\n"
    "irq_flags_start:\n\t"
    "leal 1(%eax), %eax\n\t"
    "leal (%ebx,%eax,2), %ebx\n\t"
    "notl %edx\n\t"
    "bswapl %ebx\n\t"
    "xchgl %esi, %edi\n\t"
    "leal 0x11(%esi,%edx), %esi\n\t"
    "loop irq_flags_start\n"
    "irq_flags_end:\n\t"
    "cli\n\t"
    "pushfl\n\t"
    "cld\n\t"
    "popl %ebp\n\t"
    "xchgl %ebp, (%esp)\n\t" /* the state pointer; the flags on the stack */
    "popl 24(%ebp)\n\t"
    "pushl %ebp\n"

    /* The state pointer is on the stack: store the registers back. */
    "irq_store:\n\t"
    "popl %ebp\n\t"
    "movl %eax, 0(%ebp)\n\t"
    "movl %ebx, 4(%ebp)\n\t"
    "movl %ecx, 8(%ebp)\n\t"
    "movl %edx, 12(%ebp)\n\t"
    "movl %esi, 16(%ebp)\n\t"
    "movl %edi, 20(%ebp)\n\t"
    "popal\n\t"
    "ret\n"
    ".popsection");
void irq_sum(struct loop_state *s);
void irq_mix(struct loop_state *s);
void irq_flags(struct loop_state *s);
extern char irq_sum_start[], irq_sum_end[], irq_mix_start[], irq_mix_end[];
extern char irq_mix_cli[], irq_mix_sti[], irq_flags_start[];
extern char irq_flags_end[];

static void ref_sum(struct loop_state *s)
{
	uint64_t t;
	uint32_t cf;

	for (; s->ecx; s->ecx--) {
		s->ebx = s->ebx * 0x19660d + 0x3c6ef35f;
		t = (uint64_t)s->eax + s->ebx;
		s->eax = (uint32_t)t;
		s->edx += (uint32_t)(t >> 32);
		cf = s->eax < s->ebx;
		s->esi += s->ebx + cf;
		cf = s->esi < s->eax;
		s->edi = s->edi << 1 | cf;
	}
}

static void ref_mix(struct loop_state *s)
{
	uint32_t cf;

	for (; s->ecx; s->ecx--) {
		cf = s->eax & 1;
		s->eax += s->ebx;
		s->edx += s->ebx + cf;
		s->esi = s->edx + s->eax + 1;
		s->ebx ^= s->esi;
		s->ebx += 7;
		s->eax = (s->eax << 3 | s->eax >> 29) ^ s->ecx;
	}
}

static void ref_flags(struct loop_state *s)
{
	uint32_t t;

	for (; s->ecx; s->ecx--) {
		s->eax += 1;
		s->ebx += s->eax * 2;
		s->edx = ~s->edx;
		s->ebx = __builtin_bswap32(s->ebx);
		t = s->esi;
		s->esi = s->edi;
		s->edi = t;
		s->esi += s->edx + 0x11;
	}
}

static void seed(struct loop_state *s, uint32_t n, uint32_t chunk)
{
	s->eax = 0x1234567 * chunk + 1;
	s->ebx = 0x89abcdef ^ chunk;
	s->ecx = n;
	s->edx = chunk;
	s->esi = 0xfeed0000 + chunk;
	s->edi = 0x5eed;
	s->flags = 0;
}

/*
 * Run @loop on new seeds, @n iterations each, until MIN_TICKS interrupts
 * arrived inside @r or MAX_CHUNKS runs went by; compare each run with
 * @ref.  Returns the number of runs whose result was wrong.
 */
static int run_loop(void (*loop)(struct loop_state *),
		    void (*ref)(struct loop_state *), uint32_t n,
		    const struct range *r, uint32_t flags)
{
	struct loop_state s, want;
	int chunk, wrong = 0;

	irq_reset(r);
	for (chunk = 0; chunk < MAX_CHUNKS && irq.inside < MIN_TICKS; chunk++) {
		seed(&s, n, chunk);
		s.flags = flags;
		want = s;
		loop(&s);
		ref(&want);
		want.flags = s.flags; /* checked by the caller */
		if (memcmp(&s, &want, sizeof(s))) {
			if (!wrong)
				ktap_diag("run %d: eax %#x ebx %#x edx %#x "
					  "esi %#x edi %#x, expected %#x %#x "
					  "%#x %#x %#x",
					  chunk, s.eax, s.ebx, s.edx, s.esi,
					  s.edi, want.eax, want.ebx, want.edx,
					  want.esi, want.edi);
			wrong++;
		}
	}
	cur_range = NULL;
	return wrong;
}

static int frames_ok(const char *what)
{
	if (irq.outside || irq.bad_ebp || irq.bad_if || irq.closed ||
	    irq.bad_flags) {
		ktap_diag("%s: %u inside, %u outside (first %#x), %u EBP, %u "
			  "IF/CS, %u in CLI..STI (first %#x), %u flags (first "
			  "%#x)",
			  what, irq.inside, irq.outside, irq.first_out,
			  irq.bad_ebp, irq.bad_if, irq.closed, irq.first_closed,
			  irq.bad_flags, irq.first_flags);
		return 0;
	}
	return 1;
}

static void test_irq_sum(void)
{
	struct range r = {
		(uint32_t)irq_sum_start, (uint32_t)irq_sum_end, 0, 0, 0, 0
	};
	int wrong = run_loop(irq_sum, ref_sum, 20000, &r, 0);

	ok(irq.inside >= MIN_TICKS,
	   "checksum loop: timer interrupts arrive while it runs");
	ok(frames_ok("checksum"),
	   "checksum loop: every interrupted EIP inside the loop, EBP and "
	   "IF=1 in every frame");
	ok(!wrong, "checksum loop: every run's ADC/RCL checksum equals the "
		   "reference");
}

static void test_irq_mix(void)
{
	struct range r = { (uint32_t)irq_mix_start,
			   (uint32_t)irq_mix_end,
			   (uint32_t)irq_mix_cli,
			   (uint32_t)irq_mix_sti,
			   0,
			   0 };
	int wrong = run_loop(irq_mix, ref_mix, 2000, &r, 0);

	ok(irq.inside >= MIN_TICKS,
	   "PUSHF/POPF, CLI/STI, CALL loop: timer interrupts arrive");
	ok(frames_ok("mix"),
	   "PUSHF/POPF, CLI/STI, CALL loop: every EIP inside the loop or its "
	   "callee, none after a CLI up to its STI");
	ok(!wrong, "PUSHF/POPF, CLI/STI, CALL loop: every run's result equals "
		   "the reference (CF kept by POPF)");
}

static void test_irq_flags(void)
{
	static const uint32_t patterns[] = {
		0xc95, /* CF PF AF SF DF OF */
		0x040, /* ZF */
	};
	struct range r = { (uint32_t)irq_flags_start,
			   (uint32_t)irq_flags_end,
			   0,
			   0,
			   FLAGS_ARITH | EFLAGS_IF,
			   0 };
	struct loop_state s;
	unsigned int i;
	int good = 1, wrong = 0;

	for (i = 0; i < NR(patterns); i++) {
		r.flags = patterns[i] | EFLAGS_IF;
		wrong += run_loop(irq_flags, ref_flags, 20000, &r,
				  patterns[i] | EFLAGS_FIXED);
		if (irq.inside < MIN_TICKS) {
			ktap_diag("pattern %#x: %u interrupts", patterns[i],
				  irq.inside);
			good = 0;
		}
		if (!frames_ok("flags"))
			good = 0;
	}
	ok(good, "flag-preserving loop: interrupts arrive, each frame has "
		 "IF=1 and the loop's CF PF AF ZF SF DF OF (two patterns)");

	/* The flags after the loop, checked without interrupts. */
	for (i = 0; i < NR(patterns); i++) {
		seed(&s, 1000, i);
		s.flags = patterns[i] | EFLAGS_FIXED;
		irq_flags(&s);
		if ((s.flags & FLAGS_ARITH) != patterns[i]) {
			ktap_diag("pattern %#x: flags after %#x", patterns[i],
				  s.flags);
			wrong++;
		}
	}
	ok(!wrong, "flag-preserving loop: every run's result equals the "
		   "reference, the flags after it as set");
}

static void test_interrupts(void)
{
	trap_set_handler(IRQ_VECTOR(PIT_IRQ), timer_irq);
	trap_set_handler(IRQ_VECTOR(7), irq7);
	pit_start(PIT_MODE_RATE, DIVISOR);
	pic_unmask(PIT_IRQ);

	test_irq_sum();
	test_irq_mix();
	test_irq_flags();

	pic_set_imr(0xffff);
}

int main(void)
{
	ktap_plan(23);
	pic_init();
	my_gdt_init();

	test_faults();
	test_gs_flags();
	test_interrupts();

	ktap_finish();
}
