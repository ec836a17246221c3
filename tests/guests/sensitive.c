/*
 * sensitive - the sensitive unprivileged instructions of x86, one by one.
 *
 * Popek and Goldberg (1974): trap-and-emulate can virtualize a machine if
 * every sensitive instruction (one that reads or changes the machine's
 * privileged state, or behaves differently by privilege) is privileged,
 * that is, traps outside the most privileged mode.  Robin and Irvine
 * (USENIX Security 2000) listed 17 x86 instructions that are sensitive but
 * do not trap: SGDT, SIDT, SLDT, SMSW, PUSHF, POPF, LAR, LSL, VERR, VERW,
 * POP seg, PUSH seg, CALL far, JMP far, INT n, RET far, STR, MOV seg.
 * docs/trap-and-emulate.md explains what --accel tae does with each.
 *
 * This guest runs them, mostly at ring 0 (where a monitor that runs guest
 * ring 0 deprivileged differs), a few at ring 3, and checks each result
 * against the Intel SDM: by the manual every line is "ok" on a real CPU,
 * and it is under QEMU and under KVM.  Only constants appear on "ok" lines;
 * values that could come from a monitor (addresses, its selectors, its
 * CR0) appear only in the "#" lines before a "not ok".
 *
 * The cases, in the order printed (SDM = Intel SDM, instruction pages in
 * Vol. 2A/2B; EFLAGS in Vol. 1 3.4.3; protection in Vol. 3A):
 *
 *   PUSHF, POPF (Vol. 2B PUSHF, POPF; Vol. 3A 6.8.1 masking interrupts)
 *	pushf shows IF=0 after CLI, IF=1 after STI; POPF at CPL 0 sets
 *	IOPL=3; POPF at CPL 0 setting IF lets a pending PIT interrupt in.
 *   MOV r/PUSH/POP/MOV Sreg (Vol. 2B MOV, PUSH, POP; Vol. 3A 5.5: CPL is
 *   the RPL of CS and SS; 5.6 data segment checks)
 *	CS reads 0x08 and SS 0x10 (RPL 0), PUSH CS/SS push them, POP DS and
 *	POP SS of another DPL 0 selector work, MOV DS of 0x11 (RPL 1 over a
 *	DPL 0 descriptor) raises #GP(0x10).
 *   JMP far, CALL far, RET far (Vol. 2A JMP, CALL; Vol. 2B RET; Vol. 3A
 *   5.8.1): to a second DPL 0 code selector 0x68 and back; CS after the
 *   jump, the CS and EIP CALL pushes, RET to an RPL 0 selector.
 *   INT n (Vol. 2A INT n; Vol. 3A 6.12.1, 6.12.1.1): from ring 0 the frame
 *	holds CS 0x08, EFLAGS and EIP after the INT, and the interrupt gate
 *	clears IF in the handler.
 *   SGDT, SIDT, SLDT, LTR/STR, SMSW (Vol. 2B SGDT, SIDT, SLDT, STR, SMSW;
 *   Vol. 2A LTR): each returns what the guest loaded; LTR marks the TSS
 *   busy; SMSW agrees with MOV from CR0, as a register and in memory.
 *   LAR, LSL, VERR, VERW (Vol. 2A LAR, LSL; Vol. 2B VERR/VERW; Vol. 3A
 *   3.4.5, 3.5 descriptor types): access rights with DPL 0 (and the
 *   accessed bit clear on a never-loaded descriptor), a TSS selector, the
 *   limits, and RPL 1 over DPL 0 (0x11) being invisible to all four.
 *   Segment caching (Vol. 3A 3.4.3, the hidden part): MOV FS uses the GDT
 *   entry just written; FS keeps its descriptor after the entry changes,
 *   and its selector; no selector past the GDT limit is valid for LAR.
 *   Ring 3, with CR4.UMIP clear (Vol. 3A 2.5): SGDT, SIDT, STR and SMSW
 *   work and show the guest's values; VERR/VERW of DPL 0 data fail, of
 *   DPL 3 data succeed; INT 0x81 through a DPL 0 gate raises #GP with
 *   error code 0x81 * 8 + 2; IN and OUT work once POPF at ring 0 set IOPL=3
 *   (Vol. 1 18.5.1, I/O privilege level).
 *
 * CPUID is left out: not on the list, and its answer (vendor, hypervisor
 * bit) differs between QEMU's CPU model and KVM's, so no fixed line fits.
 */
#include "guest.h"

#define NOINLINE  __attribute__((noinline, noclone))
#define barrier() asm volatile("" : : : "memory")

#define NR_TESTS 47

/*
 * This guest's GDT: the runtime's eight entries (with the busy TSS that
 * user_init() loaded at 0x28), then descriptors of its own.
 */
#define GDT16_ENTRIES	16
#define SLOT_FRESH_CODE 8  /* DPL 0 code, never loaded: accessed bit clear */
#define SLOT_CELL	9  /* 4-byte data segment over one of cells[] */
#define SLOT_SMALL	10 /* data segment with a byte limit of 0x123 */
#define SLOT_LDT	11 /* an LDT */
#define SLOT_KDATA2	12 /* a second flat DPL 0 data segment */
#define SLOT_KCODE2	13 /* a second flat DPL 0 code segment */

#define SEL_FRESH_CODE SEL(SLOT_FRESH_CODE, 0, 0) /* 0x40 */
#define SEL_CELL       SEL(SLOT_CELL, 0, 0)	  /* 0x48 */
#define SEL_SMALL      SEL(SLOT_SMALL, 0, 0)	  /* 0x50 */
#define SEL_LDT	       SEL(SLOT_LDT, 0, 0)	  /* 0x58 */
#define SEL_KDATA2     SEL(SLOT_KDATA2, 0, 0)	  /* 0x60 */
#define SEL_KCODE2     SEL(SLOT_KCODE2, 0, 0)	  /* 0x68 */
#define SEL_KDATA_RPL1 (SEL_KDATA | 1)		  /* 0x11 */

#define DESC_LDT    0x02 /* system descriptor type: LDT */
#define SMALL_LIMIT 0x123

/* LAR's view of a descriptor: its second dword masked by 0x00f0ff00. */
#define RIGHTS_KCODE 0x00c09a00 /* G, D, P, DPL 0, code execute/read */
#define RIGHTS_KDATA 0x00c09200 /* G, D, P, DPL 0, data read/write */
#define RIGHTS_TSS   0x00008b00 /* P, DPL 0, busy 32-bit TSS */
#define RIGHTS_A     0x00000100 /* accessed */
#define TSS_LIMIT    (sizeof(struct tss32) - 1)

#define VEC_TEST	     0x81
#define INT_TEST_ERROR	     (VEC_TEST * 8 + 2) /* IDT bit set: 0x40a */
#define EFLAGS_INT_TEST	     (EFLAGS_IF | EFLAGS_FIXED | EFLAGS_CF)
#define IRR_POLLS	     5000000u /* a PIT period is ~55 ms */
#define USER_GP		     (-13)    /* user_run() value: the task got #GP */
#define USER_INT_TEST	     (-0x81)  /* ... it reached vector 0x81 */
#define UART_SCRATCH_PATTERN 0x3c

static uint64_t gdt16[GDT16_ENTRIES] __attribute__((aligned(8)));
static uint64_t ldt[2] __attribute__((aligned(8)));
static uint64_t idt_alt[64] __attribute__((aligned(8)));
static uint64_t tss_desc_after_ltr;
static struct dtr idtr0; /* the runtime's IDTR, as SIDT shows it at ring 0 */
static uint32_t cr0_at_ring0;

/* The data cells[] that the descriptors of SEL_CELL point at, in turn. */
static uint32_t cells[3] = { 0xa0a0a0a0, 0xb0b0b0b0, 0xc0c0c0c0 };

/* --- the instructions ---------------------------------------------------- */

/* SMSW r32: CR0 bits 15:0 in the low half, the high half undefined. */
static inline uint32_t smsw(void)
{
	uint32_t v;

	asm volatile("smsw %0" : "=r"(v));
	return v;
}

/* LAR, LSL: 1 and the value if ZF=1 (selector visible), else 0. */
static inline int lar(uint32_t sel, uint32_t *rights)
{
	uint32_t v = 0;
	int zf;

	asm volatile("lar %2, %0" : "+r"(v), "=@ccz"(zf) : "r"(sel));
	*rights = v;
	return zf;
}

static inline int lsl(uint32_t sel, uint32_t *limit)
{
	uint32_t v = 0;
	int zf;

	asm volatile("lsl %2, %0" : "+r"(v), "=@ccz"(zf) : "r"(sel));
	*limit = v;
	return zf;
}

static inline int verr(uint16_t sel)
{
	int zf;

	asm volatile("verr %1" : "=@ccz"(zf) : "r"(sel));
	return zf;
}

static inline int verw(uint16_t sel)
{
	int zf;

	asm volatile("verw %1" : "=@ccz"(zf) : "r"(sel));
	return zf;
}

static inline void load_fs(uint16_t sel)
{
	asm volatile("mov %0, %%fs" : : "r"(sel) : "memory");
}

/* --- traps ---------------------------------------------------------------- */

static struct trap_frame gp_seen; /* the last #GP frame */
static int gp_hits;
static uint32_t gp_resume; /* where a ring-0 #GP continues; 0: a bug */

/*
 * #GP: at ring 3 it ends the user task (user_run() returns USER_GP); at
 * ring 0 it continues at gp_resume when a test said one may come.
 */
static void gp_handler(struct trap_frame *f)
{
	gp_seen = *f;
	gp_hits++;
	if ((f->cs & 3) == 3) {
		user_abort(f, USER_GP);
		return;
	}
	if (!gp_resume) {
		printf("Bail out! unexpected #GP error 0x%x at %04x:%08x\n",
		       f->error_code, f->cs, f->eip);
		exit(1);
	}
	f->eip = gp_resume;
	gp_resume = 0;
}

/* A #GP from here on continues at @resume (an asm label). */
static void allow_gp(const char *resume)
{
	memset(&gp_seen, 0, sizeof(gp_seen));
	gp_hits = 0;
	gp_resume = (uint32_t)resume;
}

/* On a failure, show the #GP that came (if one did). */
static void diag_gp(int pass)
{
	if (!pass && gp_hits)
		ktap_diag("#GP error 0x%x at %04x:%08x", gp_seen.error_code,
			  gp_seen.cs, gp_seen.eip);
}

static struct trap_frame int_seen;
static int int_hits;
static uint32_t int_eflags_inside;

static void int_test_handler(struct trap_frame *f)
{
	int_seen = *f;
	int_hits++;
	int_eflags_inside = read_eflags();
	if ((f->cs & 3) == 3)
		user_abort(f, USER_INT_TEST);
}

static volatile uint32_t irq0_hits, irq0_eip;

static void irq0_handler(struct trap_frame *f)
{
	if (!irq0_hits++)
		irq0_eip = f->eip;
	pic_eoi(PIT_IRQ);
}

/* IRQ 7 without IRQ 7 in the ISR is spurious (8259A datasheet): no EOI. */
static void irq7_handler(struct trap_frame *f)
{
	(void)f;
	if (pic_get_isr() & (1 << 7))
		pic_eoi(7);
}

/* --- set-up ---------------------------------------------------------------- */

static void gdt16_init(void)
{
	const uint8_t flat = DESC_G | DESC_DB;
	struct dtr d;

	memcpy(gdt16, gdt, sizeof(gdt));
	gdt16[SLOT_FRESH_CODE] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_CODE_XR, flat);
	gdt16[SLOT_SMALL] = seg_desc(0, SMALL_LIMIT,
				     DESC_P | DESC_S | DESC_DATA_RW, DESC_DB);
	gdt16[SLOT_LDT] =
		seg_desc((uint32_t)ldt, sizeof(ldt) - 1, DESC_P | DESC_LDT, 0);
	gdt16[SLOT_KDATA2] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_DATA_RW, flat);
	gdt16[SLOT_KCODE2] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_CODE_XR, flat);
	ldt[1] = seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_DATA_RW, flat);

	d.limit = sizeof(gdt16) - 1;
	d.base = (uint32_t)gdt16;
	lgdt(&d);
}

/* --- PUSHF and POPF --------------------------------------------------------- */

extern char popf_if_after[], popf_if_window_end[];

/* Poll the IRR until IRQ 0 is pending (the PIC raises INTR, IF=0). */
static int irq0_pending(void)
{
	uint32_t polls;

	for (polls = 0; polls < IRR_POLLS; polls++)
		if (pic_get_irr() & (1 << PIT_IRQ))
			return 1;
	return 0;
}

static NOINLINE void test_pushf_popf(void)
{
	uint32_t fl;
	int pending, pass;

	asm volatile("sti\n\t"
		     "cli\n\t"
		     "pushfl\n\t"
		     "popl %0"
		     : "=r"(fl)
		     :
		     : "memory");
	ok_eq(fl & EFLAGS_IF, 0, "pushf: IF=0 after CLI");

	asm volatile("sti\n\t"
		     "pushfl\n\t"
		     "popl %0\n\t"
		     "cli"
		     : "=r"(fl)
		     :
		     : "memory");
	ok_eq(fl & EFLAGS_IF, EFLAGS_IF, "pushf: IF=1 after STI");

	/* POPF at CPL 0 may change IOPL (SDM 2B POPF); then back to 0. */
	asm volatile("pushfl\n\t"
		     "orl %1, (%%esp)\n\t"
		     "popfl\n\t"
		     "pushfl\n\t"
		     "popl %0\n\t"
		     "pushfl\n\t"
		     "andl %2, (%%esp)\n\t"
		     "popfl"
		     : "=r"(fl)
		     : "i"(EFLAGS_IOPL), "i"(~EFLAGS_IOPL)
		     : "memory", "cc");
	ok_eq((fl & EFLAGS_IOPL) >> 12, 3,
	      "popf: IOPL=3 at ring 0, PUSHF reads it back");

	/*
	 * With IRQ 0 pending at the PIC and IF=0, POPF of an image with IF=1
	 * enables interrupts: the interrupt arrives at an instruction
	 * boundary after the POPF (SDM 3A 6.8.1), before the CLI that ends
	 * the window of NOPs.
	 */
	irq0_hits = 0;
	trap_set_handler(IRQ_VECTOR(PIT_IRQ), irq0_handler);
	pit_start(PIT_MODE_RATE, 0); /* 65536: a period of ~55 ms */
	pic_unmask(PIT_IRQ);
	pending = irq0_pending();
	asm volatile("pushl %0\n\t"
		     "popfl\n"
		     "popf_if_after:\n\t"
		     ".rept 8\n\t"
		     "nop\n\t"
		     ".endr\n"
		     "popf_if_window_end:\n\t"
		     "cli"
		     :
		     : "i"(EFLAGS_IF | EFLAGS_FIXED)
		     : "memory", "cc");
	pic_mask(PIT_IRQ);
	pass = pending && irq0_hits && irq0_eip >= (uint32_t)popf_if_after &&
	       irq0_eip <= (uint32_t)popf_if_window_end;
	if (!pass)
		ktap_diag("IRR %s, %u IRQ 0, first at %08x, window %08x-%08x",
			  pending ? "pending" : "never pending", irq0_hits,
			  irq0_eip, (uint32_t)popf_if_after,
			  (uint32_t)popf_if_window_end);
	ok(pass, "popf: IF=1 at ring 0 lets a pending interrupt in");
}

/* --- segment registers -------------------------------------------------------- */

extern char pop_ss_insn[], pop_ss_resume[], mov_ds_insn[], mov_ds_resume[];

static NOINLINE void test_pop_ss(void)
{
	uint16_t ss, kdata = SEL_KDATA;
	int pass;

	allow_gp(pop_ss_resume);
	/* EBX keeps ESP: after a #GP the pushed selector is still there. */
	asm volatile("movl %%esp, %%ebx\n\t"
		     "pushl %1\n"
		     "pop_ss_insn:\n\t"
		     "popl %%ss\n"
		     "pop_ss_resume:\n\t"
		     "movl %%ebx, %%esp\n\t"
		     "movw %%ss, %0\n\t"
		     "movw %2, %%ss"
		     : "=&r"(ss)
		     : "i"(SEL_KDATA2), "r"(kdata)
		     : "ebx", "memory");
	gp_resume = 0;
	pass = !gp_hits && ss == SEL_KDATA2;
	if (!pass)
		ktap_diag("SS reads 0x%x", ss);
	diag_gp(pass);
	ok(pass, "pop ss: 0x60 at ring 0, SS reads 0x60");
}

static NOINLINE void test_mov_ds_rpl1(void)
{
	uint16_t sel = SEL_KDATA_RPL1, kdata = SEL_KDATA;
	int pass;

	allow_gp(mov_ds_resume);
	asm volatile("mov_ds_insn:\n\t"
		     "movw %0, %%ds\n"
		     "mov_ds_resume:\n\t"
		     "movw %1, %%ds"
		     :
		     : "r"(sel), "r"(kdata)
		     : "memory");
	gp_resume = 0;
	pass = gp_hits == 1 && gp_seen.error_code == SEL_KDATA &&
	       gp_seen.eip == (uint32_t)mov_ds_insn;
	if (!pass)
		ktap_diag("%d #GP, MOV DS at %08x", gp_hits,
			  (uint32_t)mov_ds_insn);
	diag_gp(pass);
	ok(pass, "mov ds, 0x11 (RPL 1 > DPL 0) raises #GP error 0x10");
}

static NOINLINE void test_segment_registers(void)
{
	uint32_t v;
	uint16_t ds;

	ok_eq(read_cs(), SEL_KCODE, "mov r, cs: 0x08 at ring 0 (RPL 0)");
	ok_eq(read_ss(), SEL_KDATA, "mov r, ss: 0x10 at ring 0 (RPL 0)");

	/* A 32-bit PUSH Sreg may write only 16 bits (SDM 2B PUSH). */
	asm volatile("pushl %%cs\n\tpopl %0" : "=r"(v));
	ok_eq(v & 0xffff, SEL_KCODE, "push cs: pushes 0x08");
	asm volatile("pushl %%ss\n\tpopl %0" : "=r"(v));
	ok_eq(v & 0xffff, SEL_KDATA, "push ss: pushes 0x10");

	asm volatile("pushl %1\n\t"
		     "popl %%ds\n\t"
		     "movw %%ds, %0\n\t"
		     "pushl %2\n\t"
		     "popl %%ds"
		     : "=r"(ds)
		     : "i"(SEL_KDATA2), "i"(SEL_KDATA)
		     : "memory");
	ok_eq(ds, SEL_KDATA2, "pop ds: 0x60 at ring 0, DS reads 0x60");

	test_pop_ss();
	test_mov_ds_rpl1();
}

/* --- far transfers ---------------------------------------------------------- */

extern char ljmp_target[], lcall_ret[], lret_target[];

/* Far-called with CS 0x68: EAX, EDX = the pushed CS, EIP; ECX = its CS. */
asm(".text\n"
    "far_callee:\n\t"
    "movl 4(%esp), %eax\n\t"
    "movl (%esp), %edx\n\t"
    "xorl %ecx, %ecx\n\t"
    "movw %cs, %cx\n\t"
    "lret\n");

static NOINLINE void test_far_transfers(void)
{
	uint32_t ret_cs = ~0u, ret_eip = ~0u, callee_cs = ~0u;
	uint16_t cs;
	int pass;

	allow_gp(ljmp_target);
	asm volatile("ljmp %1, $ljmp_target\n"
		     "ljmp_target:\n\t"
		     "movw %%cs, %0\n\t"
		     "ljmp %2, $1f\n"
		     "1:"
		     : "=r"(cs)
		     : "i"(SEL_KCODE2), "i"(SEL_KCODE)
		     : "memory");
	gp_resume = 0;
	pass = !gp_hits && cs == SEL_KCODE2;
	if (!pass)
		ktap_diag("CS after JMP far: 0x%x", cs);
	diag_gp(pass);
	ok(pass, "jmp far 0x68: CS reads 0x68 after the jump");

	allow_gp(lcall_ret);
	asm volatile("lcall %3, $far_callee\n"
		     "lcall_ret:"
		     : "+a"(ret_cs), "+d"(ret_eip), "+c"(callee_cs)
		     : "i"(SEL_KCODE2)
		     : "memory");
	gp_resume = 0;
	pass = !gp_hits && (ret_cs & 0xffff) == SEL_KCODE &&
	       ret_eip == (uint32_t)lcall_ret &&
	       (callee_cs & 0xffff) == SEL_KCODE2;
	if (!pass)
		ktap_diag("CALL far pushed %04x:%08x (return %08x), callee CS "
			  "0x%x",
			  ret_cs & 0xffff, ret_eip, (uint32_t)lcall_ret,
			  callee_cs & 0xffff);
	diag_gp(pass);
	ok(pass, "call far 0x68: pushes CS 0x08 and the return EIP");

	allow_gp(lret_target);
	asm volatile("movl %%esp, %%ebx\n\t"
		     "pushl %1\n\t"
		     "pushl $lret_target\n\t"
		     "lret\n"
		     "lret_target:\n\t"
		     "movl %%ebx, %%esp\n\t"
		     "movw %%cs, %0\n\t"
		     "ljmp %2, $1f\n"
		     "1:"
		     : "=r"(cs)
		     : "i"(SEL_KCODE2), "i"(SEL_KCODE)
		     : "ebx", "memory");
	gp_resume = 0;
	pass = !gp_hits && cs == SEL_KCODE2;
	if (!pass)
		ktap_diag("CS after RET far: 0x%x", cs);
	diag_gp(pass);
	ok(pass, "ret far to 0x68 at ring 0: CS reads 0x68");
}

/* --- INT n ------------------------------------------------------------------- */

extern char int_test_after[];

static NOINLINE void test_int_n(void)
{
	int pass;

	int_hits = 0;
	asm volatile("sti\n\t"
		     "pushl %0\n\t"
		     "popfl\n\t"
		     "int %1\n"
		     "int_test_after:\n\t"
		     "cli"
		     :
		     : "i"(EFLAGS_INT_TEST), "i"(VEC_TEST)
		     : "memory", "cc");
	pass = int_hits == 1 && int_seen.cs == SEL_KCODE &&
	       int_seen.eip == (uint32_t)int_test_after &&
	       int_seen.eflags == EFLAGS_INT_TEST;
	if (!pass)
		ktap_diag("%d calls, frame %04x:%08x EFLAGS %08x, INT ends at "
			  "%08x",
			  int_hits, int_seen.cs, int_seen.eip, int_seen.eflags,
			  (uint32_t)int_test_after);
	ok(pass,
	   "int 0x81 at ring 0: frame has CS 0x08, EFLAGS 0x%x, EIP after INT",
	   EFLAGS_INT_TEST);
	pass = int_hits == 1 && !(int_eflags_inside & EFLAGS_IF);
	if (!pass)
		ktap_diag("EFLAGS in the handler %08x", int_eflags_inside);
	ok(pass,
	   "int 0x81 at ring 0: interrupt gate cleared IF (PUSHF in handler)");
}

/* --- descriptor-table registers and the machine status word ------------------- */

static NOINLINE void test_tables(void)
{
	struct dtr d, alt;
	uint16_t ldtr, ldtr_null, msw_mem[2] = { 0xa5a5, 0xa5a5 };
	uint32_t msw;

	memset(&d, 0xff, sizeof(d));
	sgdt(&d);
	if (d.base != (uint32_t)gdt16 || d.limit != sizeof(gdt16) - 1)
		ktap_diag("SGDT %08x/%x, LGDT loaded %08x/%x", d.base, d.limit,
			  (uint32_t)gdt16, sizeof(gdt16) - 1);
	ok(d.base == (uint32_t)gdt16 && d.limit == sizeof(gdt16) - 1,
	   "sgdt: returns what LGDT loaded (limit 0x%x)", sizeof(gdt16) - 1);

	/* Nothing may trap between the two LIDTs: idt_alt is empty. */
	alt.limit = sizeof(idt_alt) - 1;
	alt.base = (uint32_t)idt_alt;
	memset(&d, 0xff, sizeof(d));
	lidt(&alt);
	sidt(&d);
	idt_init();
	sidt(&idtr0);
	if (d.base != alt.base || d.limit != alt.limit)
		ktap_diag("SIDT %08x/%x, LIDT loaded %08x/%x", d.base, d.limit,
			  alt.base, alt.limit);
	ok(d.base == alt.base && d.limit == alt.limit,
	   "sidt: returns what LIDT loaded (limit 0x%x)", alt.limit);

	lldt(SEL_LDT);
	ldtr = sldt();
	lldt(0);
	ldtr_null = sldt();
	if (ldtr != SEL_LDT || ldtr_null)
		ktap_diag("SLDT 0x%x, then 0x%x", ldtr, ldtr_null);
	ok(ldtr == SEL_LDT && !ldtr_null,
	   "sldt: 0x%x after LLDT 0x%x, 0 after LLDT 0", SEL_LDT, SEL_LDT);

	ok_eq((tss_desc_after_ltr >> 40) & 0xf, DESC_TSS32 | 2,
	      "ltr: marks the TSS descriptor busy (type 0xb)");
	ok_eq(str(), SEL_TSS, "str: 0x%x after LTR 0x%x", SEL_TSS, SEL_TSS);

	cr0_at_ring0 = read_cr0();
	msw = smsw();
	if ((msw & 0xffff) != (cr0_at_ring0 & 0xffff))
		ktap_diag("SMSW 0x%04x, CR0 0x%08x", msw & 0xffff,
			  cr0_at_ring0);
	ok((cr0_at_ring0 & 1) && (msw & 0xffff) == (cr0_at_ring0 & 0xffff),
	   "smsw r32: bits 15:0 equal CR0's (PE=1)");

	asm volatile("smsw %0" : "=m"(msw_mem[0]));
	if (msw_mem[0] != (cr0_at_ring0 & 0xffff) || msw_mem[1] != 0xa5a5)
		ktap_diag("SMSW m16 wrote %04x %04x, CR0 0x%08x", msw_mem[0],
			  msw_mem[1], cr0_at_ring0);
	ok(msw_mem[0] == (cr0_at_ring0 & 0xffff) && msw_mem[1] == 0xa5a5,
	   "smsw m16: writes CR0 bits 15:0, two bytes only");
}

/* --- LAR, LSL, VERR, VERW ------------------------------------------------------ */

static void check_lar(uint16_t sel, uint32_t mask, uint32_t expected,
		      const char *what)
{
	uint32_t rights;
	int valid = lar(sel, &rights);

	if (!valid || (rights & mask) != expected)
		ktap_diag("LAR 0x%02x: ZF=%d rights 0x%08x", sel, valid,
			  rights);
	ok(valid && (rights & mask) == expected, "lar 0x%02x: %s, 0x%08x", sel,
	   what, expected);
}

static void check_lsl(uint16_t sel, uint32_t expected, const char *what)
{
	uint32_t limit;
	int valid = lsl(sel, &limit);

	if (!valid || limit != expected)
		ktap_diag("LSL 0x%02x: ZF=%d limit 0x%x", sel, valid, limit);
	ok(valid && limit == expected, "lsl 0x%02x: %s, 0x%x", sel, what,
	   expected);
}

static NOINLINE void test_lar_lsl_verr_verw(void)
{
	uint32_t v;
	int zf;

	check_lar(SEL_KCODE, ~RIGHTS_A, RIGHTS_KCODE,
		  "kernel code, DPL 0 (A ignored)");
	check_lar(SEL_KDATA, ~RIGHTS_A, RIGHTS_KDATA,
		  "kernel data, DPL 0 (A ignored)");
	check_lar(SEL_FRESH_CODE, ~0u, RIGHTS_KCODE,
		  "never-loaded code, DPL 0, A clear");
	check_lar(SEL_TSS, ~0u, RIGHTS_TSS, "busy 32-bit TSS");
	zf = lar(SEL_KDATA_RPL1, &v);
	if (zf)
		ktap_diag("LAR 0x11: rights 0x%08x", v);
	ok(!zf, "lar 0x11: RPL 1 over DPL 0 is invisible (ZF=0)");

	check_lsl(SEL_KCODE, 0xffffffff, "4 GiB, page granular");
	check_lsl(SEL_SMALL, SMALL_LIMIT, "byte granular");
	check_lsl(SEL_TSS, TSS_LIMIT, "the TSS");
	zf = lsl(SEL_KDATA_RPL1, &v);
	if (zf)
		ktap_diag("LSL 0x11: limit 0x%x", v);
	ok(!zf, "lsl 0x11: RPL 1 over DPL 0 is invisible (ZF=0)");

	ok(verr(SEL_KCODE) && !verw(SEL_KCODE),
	   "verr/verw 0x08: code readable, not writable");
	ok(verr(SEL_KDATA) && verw(SEL_KDATA),
	   "verr/verw 0x10: data readable and writable");
	ok(!verr(SEL_KDATA_RPL1), "verr 0x11: RPL 1 over DPL 0 fails (ZF=0)");
	ok(!verw(SEL_KDATA_RPL1), "verw 0x11: RPL 1 over DPL 0 fails (ZF=0)");
}

/* --- the hidden part of a segment register ------------------------------------- */

static uint64_t cell_desc(int i)
{
	return seg_desc((uint32_t)&cells[i], 3, DESC_P | DESC_S | DESC_DATA_RW,
			DESC_DB);
}

static uint32_t read_fs0(void)
{
	uint32_t v;

	asm volatile("movl %%fs:0, %0" : "=r"(v) : : "memory");
	return v;
}

/* LAR every GDT selector past the limit; returns how many are valid. */
static int lar_beyond_limit(uint32_t *first)
{
	uint32_t sel, rights;
	int n = 0;

	for (sel = sizeof(gdt16); sel <= 0xfff8; sel += 8) {
		if (lar(sel, &rights)) {
			if (!n)
				*first = sel;
			n++;
		}
	}
	return n;
}

/*
 * The writes to POST_PORT do nothing but leave the guest for the VMM (an
 * I/O exit), where a monitor may copy the GDT and reload segments.
 */
static NOINLINE void test_hidden_part(void)
{
	uint32_t fresh, kept, first = 0;
	uint16_t fs;
	int beyond;

	gdt16[SLOT_CELL] = cell_desc(0);
	barrier();
	outb(POST_PORT, 0);
	gdt16[SLOT_CELL] = cell_desc(1);
	barrier();
	load_fs(SEL_CELL);
	fresh = read_fs0();
	outb(POST_PORT, 0);
	gdt16[SLOT_CELL] = cell_desc(2);
	barrier();
	outb(POST_PORT, 0);
	kept = read_fs0();
	fs = read_fs();
	beyond = lar_beyond_limit(&first);
	load_fs(SEL_KDATA);
	gdt16[SLOT_CELL] = 0;

	ok_eq(fresh, cells[1], "mov fs: loads the GDT entry just written");
	ok_eq(kept, cells[1],
	      "fs: keeps its descriptor after the entry changes");
	ok_eq(fs, SEL_CELL, "mov r, fs: 0x%x after its entry changed",
	      SEL_CELL);
	if (beyond)
		ktap_diag("%d valid, the first 0x%x", beyond, first);
	ok(!beyond, "lar: no selector past the GDT limit is valid");
}

/* --- ring 3 ------------------------------------------------------------------ */

struct ring3_view {
	struct dtr gdtr, idtr;
	uint16_t tr;
	uint32_t msw;
	int verr_kdata, verw_kdata, verr_udata, verw_udata;
};

static struct ring3_view r3;

static int ring3_look(void *arg)
{
	struct ring3_view *v = arg;

	sgdt(&v->gdtr);
	sidt(&v->idtr);
	v->tr = str();
	v->msw = smsw();
	v->verr_kdata = verr(SEL_KDATA);
	v->verw_kdata = verw(SEL_KDATA);
	v->verr_udata = verr(SEL_UDATA);
	v->verw_udata = verw(SEL_UDATA);
	return 1;
}

extern char ring3_int_insn[];

static int ring3_int(void *arg)
{
	(void)arg;
	asm volatile("ring3_int_insn:\n\t"
		     "int %0"
		     :
		     : "i"(VEC_TEST)
		     : "memory");
	return 1;
}

static int ring3_port(void *arg)
{
	(void)arg;
	outb(COM1 + UART_SCR, UART_SCRATCH_PATTERN);
	return inb(COM1 + UART_SCR);
}

static NOINLINE void test_ring3(void)
{
	int v, pass;

	memset(&r3, 0xff, sizeof(r3));
	gp_hits = 0;
	v = user_run(ring3_look, &r3);
	/* A ring-3 task that did not get to the end fails every line. */
	if (v != 1) {
		ktap_diag("the ring-3 task ended with %d", v);
		diag_gp(0);
	}
	pass = v == 1 && r3.gdtr.base == (uint32_t)gdt16 &&
	       r3.gdtr.limit == sizeof(gdt16) - 1;
	if (!pass)
		ktap_diag("SGDT %08x/%x, LGDT loaded %08x/%x", r3.gdtr.base,
			  r3.gdtr.limit, (uint32_t)gdt16, sizeof(gdt16) - 1);
	ok(pass, "ring 3: sgdt returns the guest's GDTR (CR4.UMIP=0)");
	pass = v == 1 && r3.idtr.base == idtr0.base && idtr0.limit == 0x7ff &&
	       r3.idtr.limit == idtr0.limit;
	if (!pass)
		ktap_diag("SIDT %08x/%x at ring 3, %08x/%x at ring 0",
			  r3.idtr.base, r3.idtr.limit, idtr0.base, idtr0.limit);
	ok(pass, "ring 3: sidt returns the guest's IDTR (limit 0x7ff)");
	ok_eq(v == 1 ? r3.tr : 0xffffffff, SEL_TSS, "ring 3: str returns 0x%x",
	      SEL_TSS);
	pass = v == 1 && (r3.msw & 0xffff) == (cr0_at_ring0 & 0xffff);
	if (!pass)
		ktap_diag("SMSW 0x%04x, CR0 0x%08x", r3.msw & 0xffff,
			  cr0_at_ring0);
	ok(pass, "ring 3: smsw returns CR0 bits 15:0");
	pass = v == 1 && !r3.verr_kdata && !r3.verw_kdata && r3.verr_udata &&
	       r3.verw_udata;
	if (!pass)
		ktap_diag("ZF of VERR/VERW 0x10: %d %d, 0x23: %d %d",
			  r3.verr_kdata, r3.verw_kdata, r3.verr_udata,
			  r3.verw_udata);
	ok(pass,
	   "ring 3: verr/verw fail on 0x10 (DPL 0), pass on 0x23 (DPL 3)");

	memset(&gp_seen, 0, sizeof(gp_seen));
	gp_hits = int_hits = 0;
	v = user_run(ring3_int, NULL);
	pass = v == USER_GP && gp_hits == 1 && !int_hits &&
	       gp_seen.error_code == INT_TEST_ERROR &&
	       gp_seen.cs == SEL_UCODE &&
	       gp_seen.eip == (uint32_t)ring3_int_insn;
	if (!pass)
		ktap_diag(
			"task ended with %d, %d #GP, %d at vector 0x81, INT at "
			"%08x",
			v, gp_hits, int_hits, (uint32_t)ring3_int_insn);
	diag_gp(pass);
	ok(pass, "ring 3: int 0x81 through a DPL 0 gate raises #GP error 0x%x",
	   INT_TEST_ERROR);

	/* IOPL=3 set by POPF at ring 0 reaches ring 3 through user_run(). */
	gp_hits = 0;
	write_eflags(read_eflags() | EFLAGS_IOPL);
	v = user_run(ring3_port, NULL);
	write_eflags(read_eflags() & ~EFLAGS_IOPL);
	pass = v == UART_SCRATCH_PATTERN && !gp_hits;
	if (!pass)
		ktap_diag("the ring-3 task ended with %d", v);
	diag_gp(pass);
	ok(pass, "ring 3: out/in work after POPF set IOPL=3 at ring 0");
}

int main(void)
{
	ktap_plan(NR_TESTS);

	user_init(); /* the TSS at SEL_TSS, LTR, INT 0x80 */
	tss_desc_after_ltr = gdt[SEL_TSS >> 3];
	gdt16_init();
	pic_init();
	trap_set_handler(VEC_GP, gp_handler);
	trap_set_handler(VEC_TEST, int_test_handler);
	trap_set_handler(IRQ_VECTOR(7), irq7_handler);

	test_pushf_popf();
	test_segment_registers();
	test_far_transfers();
	test_int_n();
	test_tables();
	test_lar_lsl_verr_verw();
	test_hidden_part();
	test_ring3();
	ktap_finish();
}
