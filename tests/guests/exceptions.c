/*
 * exceptions - CPU exceptions delivered through the guest's own IDT.
 *
 * For each exception the guest makes one happen and checks what its
 * handler saw: the vector, the error code, the saved EIP (a fault points at
 * the faulting instruction, a trap after it: SDM Vol. 3A, 6.5) and that
 * execution resumes where the handler said.  The instructions' addresses
 * are asm labels, so the expected EIPs are exact.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

static struct trap_frame seen; /* copy of the last frame */
static int hits;	       /* handler calls since reset() */
static uint32_t resume_eip;    /* where record_and_resume() continues */

static void reset(uint32_t resume)
{
	memset(&seen, 0, sizeof(seen));
	hits = 0;
	resume_eip = resume;
}

/* Keep a copy of the frame and continue at resume_eip. */
static void record_and_resume(struct trap_frame *f)
{
	seen = *f;
	hits++;
	f->eip = resume_eip;
}

/* #DE: pretend the division produced 0x1234 and go on after it. */
static void emulate_div(struct trap_frame *f)
{
	record_and_resume(f);
	f->eax = 0x1234;
}

/* #UD: skip the 2-byte UD2. */
static void skip_ud2(struct trap_frame *f)
{
	seen = *f;
	hits++;
	f->eip += 2;
}

/* #BP and INT 0x80: traps, resume where the CPU said (after the INT). */
static void record(struct trap_frame *f)
{
	seen = *f;
	hits++;
	f->ebx = 0xb0b0b0b0;
}

extern char de_insn[], de_resume[], de2_insn[], de2_resume[];
extern char ud_insn[], bp_after[], int80_after[];
extern char lds_insn[], lds_resume[], lss_insn[], lss_resume[];
extern char ljmp_insn[], ljmp_resume[];

static NOINLINE void test_de(void)
{
	uint32_t eax;

	trap_set_handler(VEC_DE, emulate_div);
	reset((uint32_t)de_resume);
	asm volatile("xorl %%ecx, %%ecx\n\t"
		     "xorl %%edx, %%edx\n\t"
		     "movl $100, %%eax\n"
		     "de_insn:\n\t"
		     "divl %%ecx\n"
		     "de_resume:"
		     : "=a"(eax)
		     :
		     : "ecx", "edx");
	ok(hits == 1 && seen.vector == VEC_DE && seen.error_code == 0,
	   "#DE: divide by zero reaches vector 0 without error code");
	ok_eq(seen.eip, (uint32_t)de_insn, "#DE: saved EIP is the DIV (fault)");
	ok_eq(eax, 0x1234, "#DE: EAX set by the handler reaches the guest");

	reset((uint32_t)de2_resume);
	asm volatile("movl $0x80000000, %%eax\n\t"
		     "movl $-1, %%ecx\n\t"
		     "cltd\n"
		     "de2_insn:\n\t"
		     "idivl %%ecx\n"
		     "de2_resume:"
		     : "=a"(eax)
		     :
		     : "ecx", "edx");
	ok(hits == 1 && seen.vector == VEC_DE && seen.eip == (uint32_t)de2_insn,
	   "#DE: IDIV overflow (INT_MIN / -1)");
}

static NOINLINE void test_ud(void)
{
	uint32_t after;

	trap_set_handler(VEC_UD, skip_ud2);
	reset(0);
	asm volatile("xorl %0, %0\n"
		     "ud_insn:\n\t"
		     "ud2\n\t"
		     "movl $1, %0"
		     : "=r"(after));
	ok(hits == 1 && seen.vector == VEC_UD && seen.eip == (uint32_t)ud_insn,
	   "#UD: UD2 reaches vector 6, saved EIP is the UD2");
	ok_eq(after, 1, "#UD: handler skipped UD2, execution went on");
}

static NOINLINE void test_bp(void)
{
	uint32_t ebx;

	trap_set_handler(VEC_BP, record);
	reset(0);
	asm volatile("movl $0x11111111, %%ebx\n\t"
		     "movl $0x22222222, %%esi\n\t"
		     "movl $0x33333333, %%edi\n\t"
		     "int3\n"
		     "bp_after:"
		     : "=b"(ebx)
		     :
		     : "esi", "edi");
	ok(hits == 1 && seen.vector == VEC_BP && seen.eip == (uint32_t)bp_after,
	   "#BP: INT3 reaches vector 3, saved EIP is after it (trap)");
	ok(seen.ebx == 0x11111111 && seen.esi == 0x22222222 &&
		   seen.edi == 0x33333333,
	   "#BP: frame holds the interrupted EBX, ESI, EDI");
	ok(seen.error_code == 0 && seen.cs == SEL_KCODE &&
		   !(seen.eflags & EFLAGS_IF) && ebx == 0xb0b0b0b0,
	   "#BP: CS, EFLAGS, no error code, EBX from the handler");
}

/* Load @sel into DS; a #GP continues at lds_resume. */
static NOINLINE void load_ds(uint16_t sel)
{
	asm volatile("lds_insn:\n\t"
		     "movw %0, %%ds\n"
		     "lds_resume:\n\t"
		     :
		     : "r"(sel)
		     : "memory");
	asm volatile("movw %0, %%ds" : : "r"((uint16_t)SEL_KDATA));
}

static NOINLINE void load_ss(uint16_t sel)
{
	asm volatile("lss_insn:\n\t"
		     "movw %0, %%ss\n"
		     "lss_resume:\n\t"
		     :
		     : "r"(sel)
		     : "memory");
}

static NOINLINE void far_jump_to_data_segment(void)
{
	asm volatile("ljmp_insn:\n\t"
		     "ljmp %0, $ljmp_resume\n"
		     "ljmp_resume:\n\t"
		     :
		     : "i"(SEL_KDATA)
		     : "memory");
}

static void expect_gp(const char *what, uint32_t insn, uint32_t error_code)
{
	ok(hits == 1 && seen.vector == VEC_GP && seen.eip == insn &&
		   seen.error_code == error_code,
	   "#GP: %s, error code 0x%x", what, error_code);
}

static NOINLINE void test_gp(void)
{
	trap_set_handler(VEC_GP, record_and_resume);

	reset((uint32_t)lds_resume);
	load_ds(0x103);
	expect_gp("DS selector beyond the GDT limit", (uint32_t)lds_insn,
		  0x100);
	ok_eq(read_ds(), SEL_KDATA, "#GP: DS unchanged by the failed load");

	reset((uint32_t)lds_resume);
	load_ds(SEL(1, 1, 0));
	expect_gp("LDT selector with a null LDTR", (uint32_t)lds_insn,
		  SEL(1, 1, 0));

	reset((uint32_t)lds_resume);
	load_ds(SEL(GDT_FREE + 1, 0, 0));
	expect_gp("DS from an empty GDT entry", (uint32_t)lds_insn,
		  SEL(GDT_FREE + 1, 0, 0));

	reset((uint32_t)lss_resume);
	load_ss(0);
	expect_gp("null selector into SS", (uint32_t)lss_insn, 0);

	reset((uint32_t)ljmp_resume);
	far_jump_to_data_segment();
	expect_gp("far JMP to a data segment", (uint32_t)ljmp_insn, SEL_KDATA);
}

static NOINLINE void test_int80(void)
{
	uint32_t eax, ebx;

	trap_set_handler(0x80, record);
	reset(0);
	asm volatile("movl $0x8080, %%eax\n\t"
		     "int $0x80\n"
		     "int80_after:"
		     : "=a"(eax), "=b"(ebx));
	ok(hits == 1 && seen.vector == 0x80 &&
		   seen.eip == (uint32_t)int80_after && seen.eax == 0x8080 &&
		   eax == 0x8080 && ebx == 0xb0b0b0b0,
	   "INT 0x80 reaches a handler added with trap_set_handler");
}

int main(void)
{
	ktap_plan(16);
	test_de();
	test_ud();
	test_bp();
	test_gp();
	test_int80();
	ktap_finish();
}
