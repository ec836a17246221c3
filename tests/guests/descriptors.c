/*
 * descriptors - the GDT, the LDT and the TSS as the CPU uses them.
 *
 * A monitor that runs guest code deprivileged keeps shadow descriptor
 * tables; this guest checks that what it sees is what a real CPU shows
 * (SDM = Intel SDM Vol. 3A unless said otherwise):
 *
 *   LDT segments (§3.4.2, §3.5.1): data segments with a base and a small
 *	limit at ring 0 and ring 3 (the limit faults with #GP(0)), code
 *	segments with a base reached by far CALL, far JMP and far RET at
 *	ring 0 and ring 3 and by IRET from ring 0 to ring 3 (EIP is an
 *	offset into them), a call gate in the
 *	LDT from ring 3 to ring 0 (§5.8.3), MOV and PUSH of LDT selectors,
 *	SLDT, LAR and LSL at ring 3, a selector past the LDT limit, LDTR
 *	loaded by a task switch (§7.3) and reloaded by LLDT with a segment
 *	register keeping its descriptor.
 *   The hidden part (§3.4.3): a GDT or LDT entry changed after its
 *	selector was loaded (by MOV, by AND, by BTR, by REP MOVS at ring 0,
 *	by XCHG at ring 3) leaves the segment register as loaded; loading the
 *	selector again uses the new descriptor, and one made not present
 *	gives #NP(selector), to MOV and to LFS.
 *   Accessed and busy bits in the guest's own tables (§3.4.5.1, §7.2.2):
 *	set by MOV to FS at ring 0 and ring 3 and to SS at ring 3, by LTR
 *	(busy) and task switches (busy, then available again); a descriptor
 *	never loaded keeps A clear.  Not checked: the accessed bit of a code
 *	segment loaded by a far transfer, which a real CPU sets and QEMU 7.2
 *	TCG, the reference here, does not (it sets A only for MOV, POP and
 *	LxS loads).
 *   System descriptors in data segment registers: #GP(selector) for an
 *	LDT descriptor, a TSS and a call gate (SDM 2A "MOV").
 *   The I/O permission bitmap for ring 3 with IOPL 0 (SDM 1 §19.5.2):
 *	allowed and denied ports, a word across an allowed and a denied
 *	port, a port whose bitmap bytes reach past the TSS limit, and a map
 *	base past the limit (no bitmap).
 *   With paging on (SDM 3A §3.5.1: GDTR and LDTR hold linear addresses):
 *	a GDT and an LDT at a linear alias of their frames, edited through
 *	the alias and through another mapping of the same frame after a
 *	load, the alias remapped to another frame (INVLPG) and in another
 *	address space (MOV CR3), and the accessed bit set in the frame.
 *
 * Every value on an "ok" line is a constant; addresses appear only on the
 * "#" lines before a "not ok".
 */
#include "guest.h"
#include "pgtable.h"

#define NR_TESTS 68

#define ACC_A	    0x01 /* accessed (or busy, for a TSS: type bit 1) */
#define DESC_LDT    0x02 /* system types (SDM 3A table 3-2) */
#define TSS_AVAIL   0x09
#define TSS_BUSY    0x0b
#define GATE_CALL32 0x0c

/* This guest's GDT: the runtime's six entries, then its own. */
enum {
	G_LDT_A = 6,  /* the LDT */
	G_LDT_B,      /* a second, one-entry LDT */
	G_EDIT,	      /* DPL 0 data, its base changed after a load */
	G_GONE,	      /* DPL 0 data, made not present after a load */
	G_FRESH_DATA, /* DPL 0 data, accessed clear */
	G_FRESH_CODE, /* DPL 0 code, accessed clear */
	G_UNTOUCHED,  /* DPL 0 data never loaded */
	G_TSS2,	      /* a TSS with an I/O permission bitmap */
	G_TSS2_SHORT, /* the same TSS with a limit inside the bitmap */
	G_TSS3,	      /* a task that runs with the LDT */
	G_USER_EDIT,  /* DPL 3 data, changed by ring 3 after a load */
	G_N
};

/* The LDT. */
enum {
	L_UDATA,     /* DPL 3 data over area[8..11] */
	L_KDATA,     /* DPL 0 data over area[4..7] */
	L_KCODE,     /* DPL 0 code: offset 0x100 is ldt_kcode */
	L_UCODE,     /* DPL 3 code: offset 0x200 is ldt_ucode */
	L_GATE,	     /* call gate, DPL 3, to gate_target at ring 0 */
	L_FRESH,     /* DPL 3 data, accessed clear */
	L_EDIT,	     /* DPL 0 data, its base changed after a load */
	L_GONE,	     /* DPL 0 data, made not present after a load */
	L_LDT,	     /* an LDT descriptor: system */
	L_USTACK,    /* DPL 3 flat writable data, accessed clear: ring-3 SS */
	L_USER_EDIT, /* DPL 3 data, changed by ring 3 after a load */
	L_UGONE,     /* DPL 3 data, not present */
	L_N
};

#define GSEL(i)	     ((i) << 3)
#define LSEL(i, rpl) (((i) << 3) | 4 | (rpl))
#define KCODE_OFF    0x100
#define UCODE_OFF    0x200
#define SMALL_LIMIT  15 /* four dwords */

/* Results the traps report: vector << 16 | error code, 0 for none. */
#define TRAP(v, e) (((v) << 16) | (e))

static uint64_t my_gdt[G_N] __attribute__((aligned(8)));
static uint64_t ldt_a[L_N] __attribute__((aligned(8)));
static uint64_t ldt_b[1] __attribute__((aligned(8)));
static uint32_t area[32];
static uint32_t cells[8] __attribute__((aligned(16)));

/* A TSS with an I/O permission bitmap for ports 0-0xff and its 0xff end. */
static struct {
	struct tss32 t;
	uint8_t bitmap[0x20];
	uint8_t end;
} __attribute__((packed)) tss2 __attribute__((aligned(128)));
#define TSS2_SHORT_LIMIT (sizeof(struct tss32) + 0x1c) /* 0xe0's byte last */

static struct tss32 tss3 __attribute__((aligned(128)));
static uint8_t task_stack[1024] __attribute__((aligned(16)));
uint32_t task_value, task_runs;

static uint64_t gate(uint16_t sel, uint32_t off, int type, int dpl)
{
	return (off & 0xffff) | (uint64_t)sel << 16 |
	       (uint64_t)(0x80 | dpl << 5 | type) << 40 |
	       (uint64_t)(off >> 16) << 48;
}

static unsigned int accessed(uint64_t d)
{
	return (d >> 40) & 1;
}

static unsigned int desc_type(uint64_t d)
{
	return (d >> 40) & 0xf;
}

struct farptr {
	uint32_t off;
	uint16_t sel;
} __attribute__((packed));

/* --- code in LDT segments, and probes that may fault ---------------------------- */

/*
 * A probe runs one instruction at NAME; a fault the test expects resumes
 * at NAME_end (the handler sets EIP there).  EAX, ECX and EDX carry the
 * arguments and results.
 */
asm(".pushsection .text\n"
    /* ldt_kcode/ldt_ucode: EIP is an offset into the LDT segment */
    "ldt_kcode:\n\t"
    "call 1f\n"
    "1:\tpopl %eax\n\t"
    "lret\n"
    "ldt_kjmp:\n\t"
    "call 1f\n"
    "1:\tpopl %eax\n\t"
    "ljmp *kjmp_back_ptr\n"
    "ldt_ucode:\n\t"
    "call 1f\n"
    "1:\tpopl %eax\n\t"
    "lret\n"
    /* ldt_uentry: reached by IRET from ring 0, leaves with sys_exit */
    "ldt_uentry:\n\t"
    "call 1f\n"
    "1:\tpopl %ebx\n\t"
    "movl $1, %eax\n\t"
    "int $0x80\n\t"
    "ud2\n"
    /* gate_target (ring 0): the caller's CS from the call gate's frame */
    "gate_target:\n\t"
    "movzwl 4(%esp), %eax\n\t"
    "orl $0x6a7e0000, %eax\n\t"
    "lret\n"
    /* task_entry: the task's DS is an LDT segment */
    "task_entry:\n\t"
    "movl %ds:0, %eax\n\t"
    "movl %eax, %es:task_value\n\t"
    "incl %es:task_runs\n\t"
    "iret\n\t"
    "jmp task_entry\n"
    /* far JMP there and back: ECX -> the far pointer */
    "far_jmp:\n\t"
    "ljmp *(%ecx)\n"
    "kjmp_back:\n\t"
    "ret\n"
    "load_fs:\n\t"
    "movw %ax, %fs\n"
    "load_fs_end:\n\t"
    "ret\n"
    "load_ds:\n\t"
    "movw %ax, %ds\n"
    "load_ds_end:\n\t"
    "ret\n"
    "read_fs_mem:\n\t" /* EAX = FS:[ECX] */
    "movl %fs:(%ecx), %eax\n"
    "read_fs_mem_end:\n\t"
    "ret\n"
    "far_call:\n\t" /* ECX -> the far pointer */
    "lcall *(%ecx)\n"
    "far_call_end:\n\t"
    "ret\n"
    "load_ss:\n\t" /* SS = AX and back */
    "movw %ss, %cx\n\t"
    "movw %ax, %ss\n\t"
    "movw %cx, %ss\n"
    "load_ss_end:\n\t"
    "ret\n"
    "port_inb:\n\t"
    "inb %dx, %al\n"
    "port_inb_end:\n\t"
    "ret\n"
    "port_inw:\n\t"
    "inw %dx, %ax\n"
    "port_inw_end:\n\t"
    "ret\n"
    "port_inl:\n\t"
    "inl %dx, %eax\n"
    "port_inl_end:\n\t"
    "ret\n"
    "port_outl:\n\t"
    "outl %eax, %dx\n"
    "port_outl_end:\n\t"
    "ret\n"
    "load_far_fs:\n\t" /* FS:ECX = the far pointer at EAX */
    "lfs (%eax), %ecx\n"
    "load_far_fs_end:\n\t"
    "ret\n"
    "do_ltr:\n\t"
    "ltr %ax\n"
    "do_ltr_end:\n\t"
    "ret\n"
    ".popsection");
extern char ldt_kcode[], ldt_kjmp[], ldt_ucode[], ldt_uentry[];
extern char gate_target[], task_entry[];
extern char kjmp_back[];
void far_jmp(void), load_fs(void), load_ds(void), read_fs_mem(void);
void far_call(void), load_ss(void);
void port_inb(void), port_inw(void), port_inl(void), port_outl(void);
void do_ltr(void), load_far_fs(void);
extern char do_ltr_end[], load_far_fs_end[];
extern char load_fs_end[], load_ds_end[], read_fs_mem_end[], far_call_end[];
extern char load_ss_end[], port_inb_end[], port_inw_end[], port_inl_end[];
extern char port_outl_end[];

struct farptr kjmp_back_ptr;

struct regs {
	uint32_t eax, ecx, edx;
};

/* --- traps ------------------------------------------------------------------------ */

static volatile uint32_t fixup; /* where an expected fault resumes */
static volatile uint32_t trapped;

static void catch_fault(struct trap_frame *f)
{
	if (!fixup || trapped) {
		printf("Bail out! vector %u error %#x at %04x:%08x\n",
		       f->vector, f->error_code, f->cs, f->eip);
		exit(1);
	}
	trapped = TRAP(f->vector, f->error_code & 0xffff);
	f->eip = fixup;
	/*
	 * The runtime reloads FS from the frame on the way out: the selector
	 * a test left there may be gone from the tables by now.
	 */
	f->fs = 0;
}

/* Run probe @fn with @r; the fault it took (TRAP()), or 0. */
static uint32_t probe(void (*fn)(void), char *end, struct regs *r)
{
	trapped = 0;
	fixup = (uint32_t)end;
	asm volatile("call *%3"
		     : "+a"(r->eax), "+c"(r->ecx), "+d"(r->edx)
		     : "r"(fn)
		     : "memory", "cc");
	fixup = 0;
	return trapped;
}

static uint32_t try_fs(uint16_t sel)
{
	struct regs r = { sel, 0, 0 };

	return probe(load_fs, load_fs_end, &r);
}

/* FS:[off], or ~0 with *t the fault. */
static uint32_t fs_read(uint32_t off, uint32_t *t)
{
	struct regs r = { 0, off, 0 };

	*t = probe(read_fs_mem, read_fs_mem_end, &r);
	return *t ? ~0u : r.eax;
}

static uint32_t call_far(uint16_t sel, uint32_t off, uint32_t *t)
{
	struct farptr p = { off, sel };
	struct regs r = { 0, (uint32_t)&p, 0 };

	*t = probe(far_call, far_call_end, &r);
	return r.eax;
}

/* LFS of the far pointer 0:@sel. */
static uint32_t try_lfs(uint16_t sel)
{
	struct farptr p = { 0, sel };
	struct regs r = { (uint32_t)&p, 0, 0 };

	return probe(load_far_fs, load_far_fs_end, &r);
}

static void flat_fs(void)
{
	try_fs(SEL_KDATA);
}

/* --- set-up ----------------------------------------------------------------------- */

/*
 * QEMU TCG checks no segment limit on data accesses, against SDM 3A §5.3
 * (and KVM in the sandbox runs on TCG too): the limit tests are skipped
 * where a read past a GDT segment's limit does not fault.
 */
#define NO_LIMITS "this CPU checks no segment limits (QEMU TCG)"
static int limits_checked;

static void probe_limits(void)
{
	uint32_t t;

	try_fs(GSEL(G_EDIT));
	fs_read(4, &t);
	limits_checked = t != 0;
	flat_fs();
}

static uint64_t data_desc(void *base, uint32_t limit, int dpl, int acc)
{
	return seg_desc((uint32_t)base, limit,
			DESC_P | DESC_DPL(dpl) | DESC_S | DESC_DATA_RW | acc,
			DESC_DB);
}

static void tables_init(void)
{
	uint8_t flat = DESC_G | DESC_DB;
	struct dtr d;
	int i;

	for (i = 0; i < 32; i++)
		area[i] = 0xa0000000 + i;
	for (i = 0; i < 8; i++)
		cells[i] = 0xce110000 + i;

	for (i = 0; i < G_LDT_A; i++)
		my_gdt[i] = gdt[i];
	my_gdt[G_LDT_A] = seg_desc((uint32_t)ldt_a, sizeof(ldt_a) - 1,
				   DESC_P | DESC_LDT, 0);
	my_gdt[G_LDT_B] = seg_desc((uint32_t)ldt_b, sizeof(ldt_b) - 1,
				   DESC_P | DESC_LDT, 0);
	my_gdt[G_EDIT] = data_desc(&cells[0], 3, 0, ACC_A);
	my_gdt[G_GONE] = data_desc(&area[20], 3, 0, 0);
	my_gdt[G_FRESH_DATA] = data_desc(&area[21], 3, 0, 0);
	my_gdt[G_FRESH_CODE] = seg_desc((uint32_t)ldt_kcode - KCODE_OFF, 0xfff,
					DESC_P | DESC_S | DESC_CODE_XR,
					DESC_DB);
	my_gdt[G_UNTOUCHED] = data_desc(&area[22], 3, 0, 0);
	my_gdt[G_USER_EDIT] = data_desc(&cells[0], 3, 3, 0);

	ldt_a[L_UDATA] = data_desc(&area[8], SMALL_LIMIT, 3, 0);
	ldt_a[L_KDATA] = data_desc(&area[4], SMALL_LIMIT, 0, 0);
	ldt_a[L_KCODE] = seg_desc((uint32_t)ldt_kcode - KCODE_OFF, 0xfff,
				  DESC_P | DESC_S | DESC_CODE_XR, DESC_DB);
	ldt_a[L_UCODE] = seg_desc((uint32_t)ldt_ucode - UCODE_OFF, 0xfff,
				  DESC_P | DESC_DPL(3) | DESC_S | DESC_CODE_XR,
				  DESC_DB);
	ldt_a[L_GATE] = gate(SEL_KCODE, (uint32_t)gate_target, GATE_CALL32, 3);
	ldt_a[L_FRESH] = data_desc(&area[12], SMALL_LIMIT, 3, 0);
	ldt_a[L_EDIT] = data_desc(&cells[0], 3, 0, 0);
	ldt_a[L_GONE] = data_desc(&area[23], 3, 0, 0);
	ldt_a[L_LDT] = my_gdt[G_LDT_B];
	ldt_a[L_USTACK] = seg_desc(
		0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_S | DESC_DATA_RW, flat);
	ldt_a[L_USER_EDIT] = data_desc(&cells[0], 3, 3, 0);
	ldt_a[L_UGONE] = data_desc(&area[24], 3, 3, 0) & ~(1ULL << 47);
	ldt_b[0] = data_desc(&area[16], SMALL_LIMIT, 0, 0);

	d.limit = sizeof(my_gdt) - 1;
	d.base = (uint32_t)my_gdt;
	lgdt(&d);
	kjmp_back_ptr.off = (uint32_t)kjmp_back;
	kjmp_back_ptr.sel = SEL_KCODE;

	trap_set_handler(VEC_TS, catch_fault);
	trap_set_handler(VEC_NP, catch_fault);
	trap_set_handler(VEC_SS, catch_fault);
	trap_set_handler(VEC_GP, catch_fault);
}

/* --- ring 0: LDT segments ---------------------------------------------------------- */

static void test_ldt_ring0(void)
{
	uint32_t t, v;
	struct farptr p;
	struct regs r;

	lldt(GSEL(G_LDT_A));
	ok_eq(sldt(), GSEL(G_LDT_A), "sldt: 0x30 after LLDT 0x30");

	t = try_fs(LSEL(L_KDATA, 0));
	v = fs_read(0, &t);
	ok(!t && v == area[4] && fs_read(12, &t) == area[7] && !t,
	   "ldt data 0x0c: base and limit 15 at ring 0");
	ok_eq(read_fs(), LSEL(L_KDATA, 0), "mov r, fs: 0x0c");
	if (limits_checked) {
		fs_read(13, &t);
		ok_eq(t, TRAP(VEC_GP, 0),
		      "ldt data 0x0c: a dword at 13 is #GP(0)");
	} else {
		ktap_skip(NO_LIMITS, "ldt data 0x0c: a dword at 13 is #GP(0)");
	}

	v = call_far(LSEL(L_KCODE, 0), KCODE_OFF, &t);
	ok(!t && v == KCODE_OFF + 5,
	   "far call to ldt code 0x14:0x100 at ring 0: eip 0x105 there");

	p.off = KCODE_OFF + (uint32_t)ldt_kjmp - (uint32_t)ldt_kcode;
	p.sel = LSEL(L_KCODE, 0);
	r = (struct regs){ 0, (uint32_t)&p, 0 };
	t = probe(far_jmp, kjmp_back, &r);
	ok(!t && r.eax == p.off + 5,
	   "far jmp to ldt code 0x14 and back to 0x08 at ring 0");

	t = try_fs(LSEL(L_N, 0));
	ok_eq(t, TRAP(VEC_GP, LSEL(L_N, 0)),
	      "mov fs, 0x64 (past the ldt limit) is #GP(0x64)");

	/* Another LDT: FS keeps what it loaded from the first. */
	t = try_fs(LSEL(L_KDATA, 0));
	lldt(GSEL(G_LDT_B));
	v = fs_read(0, &t);
	ok(!t && v == area[4], "lldt 0x38: fs keeps its descriptor");
	t = try_fs(LSEL(L_KDATA, 0));
	ok_eq(t, TRAP(VEC_GP, LSEL(L_KDATA, 0)),
	      "lldt 0x38: 0x0c is past its limit, #GP(0x0c)");
	t = try_fs(LSEL(0, 0));
	v = fs_read(0, &t);
	ok(!t && v == area[16], "lldt 0x38: 0x04 is its first entry");
	lldt(GSEL(G_LDT_A));
	flat_fs();
}

/* --- ring 0: changing descriptors after a load ----------------------------------- */

static void test_edits_ring0(void)
{
	uint32_t t, v, w, n = 2;
	uint64_t nd;
	void *src, *dst;

	/* GDT, a MOV of the new descriptor */
	try_fs(GSEL(G_EDIT));
	v = fs_read(0, &t);
	my_gdt[G_EDIT] = data_desc(&cells[1], 3, 0, ACC_A);
	w = fs_read(0, &t);
	ok(v == cells[0] && w == cells[0],
	   "gdt 0x40 changed (mov): fs keeps the old base");
	try_fs(GSEL(G_EDIT));
	v = fs_read(0, &t);
	ok_eq(v, cells[1], "gdt 0x40 loaded again: the new base");
	ok_eq(read_fs(), GSEL(G_EDIT), "mov r, fs: 0x40");

	/* GDT, AND of the access byte: not present */
	t = try_fs(GSEL(G_GONE));
	asm volatile("andb $0x7f, %0" : "+m"(((uint8_t *)&my_gdt[G_GONE])[5]));
	v = fs_read(0, &t);
	ok(!t && v == area[20], "gdt 0x48 made not present (and): fs keeps it");
	t = try_fs(GSEL(G_GONE));
	ok_eq(t, TRAP(VEC_NP, GSEL(G_GONE)),
	      "gdt 0x48 loaded again: #NP(0x48)");
	ok_eq(try_lfs(GSEL(G_GONE)), TRAP(VEC_NP, GSEL(G_GONE)),
	      "lfs of 0x48: #NP(0x48)");
	flat_fs();

	/* LDT, REP MOVSL of the new descriptor */
	try_fs(LSEL(L_EDIT, 0));
	v = fs_read(0, &t);
	nd = data_desc(&cells[1], 3, 0, 0);
	src = &nd;
	dst = &ldt_a[L_EDIT];
	asm volatile("cld; rep movsl"
		     : "+S"(src), "+D"(dst), "+c"(n)
		     :
		     : "memory");
	w = fs_read(0, &t);
	ok(v == cells[0] && w == cells[0],
	   "ldt 0x34 changed (rep movsl): fs keeps the old base");
	try_fs(LSEL(L_EDIT, 0));
	ok_eq(fs_read(0, &t), cells[1], "ldt 0x34 loaded again: the new base");

	/* LDT, BTR of P */
	try_fs(LSEL(L_GONE, 0));
	asm volatile("btrl $15, %0" : "+m"(((uint32_t *)&ldt_a[L_GONE])[1]));
	v = fs_read(0, &t);
	ok(!t && v == area[23], "ldt 0x3c made not present (btr): fs keeps it");
	t = try_fs(LSEL(L_GONE, 0));
	ok_eq(t, TRAP(VEC_NP, LSEL(L_GONE, 0)),
	      "ldt 0x3c loaded again: #NP(0x3c)");
	flat_fs();
}

/* --- accessed bits, system descriptors --------------------------------------------- */

static void test_accessed(void)
{
	uint32_t t, v;

	ok(!accessed(my_gdt[G_FRESH_DATA]) && !accessed(my_gdt[G_UNTOUCHED]),
	   "gdt 0x50 and 0x60: accessed clear before any load");
	t = try_fs(GSEL(G_FRESH_DATA));
	ok(!t && accessed(my_gdt[G_FRESH_DATA]) &&
		   !accessed(my_gdt[G_UNTOUCHED]),
	   "mov fs, 0x50: 0x50 accessed, 0x60 still not");
	flat_fs();

	v = call_far(GSEL(G_FRESH_CODE), KCODE_OFF, &t);
	ok(!t && v == KCODE_OFF + 5,
	   "far call to gdt code 0x58 with a base: eip 0x105 there");

	ok_eq(try_fs(GSEL(G_LDT_A)), TRAP(VEC_GP, GSEL(G_LDT_A)),
	      "mov fs, 0x30 (an LDT descriptor) is #GP(0x30)");
	ok_eq(try_fs(SEL_TSS), TRAP(VEC_GP, SEL_TSS),
	      "mov fs, 0x28 (a busy TSS) is #GP(0x28)");
	ok_eq(try_fs(LSEL(L_GATE, 0)), TRAP(VEC_GP, LSEL(L_GATE, 0)),
	      "mov fs, 0x24 (a call gate in the ldt) is #GP(0x24)");
	ok_eq(try_fs(LSEL(L_LDT, 0)), TRAP(VEC_GP, LSEL(L_LDT, 0)),
	      "mov fs, 0x44 (an LDT descriptor in the ldt) is #GP(0x44)");
	flat_fs();
}

/* --- ring 3 -------------------------------------------------------------------------- */

static struct {
	uint32_t data, data_t, limit_t, sel, pushed, sldt;
	uint32_t lar, lsl, lar_ok, lsl_ok;
	uint32_t code, code_t, gate, gate_t, past_t, sys_t;
	uint32_t fresh_t, ss_t, gone_t, lgone_t;
	uint32_t edit_before, edit_kept, edit_after;
	uint32_t ledit_kept, ledit_after;
} u3;

static int ring3_ldt(void *arg)
{
	uint32_t t;
	uint16_t s;

	(void)arg;
	t = try_fs(LSEL(L_UDATA, 3));
	u3.data = fs_read(12, &u3.data_t);
	fs_read(16, &u3.limit_t);
	u3.sel = read_fs();
	asm volatile("pushl %%fs; popl %0" : "=r"(u3.pushed));
	u3.sldt = sldt();
	asm volatile("lar %2, %0"
		     : "=r"(u3.lar), "=@ccz"(u3.lar_ok)
		     : "r"((uint32_t)LSEL(L_UDATA, 3)));
	asm volatile("lsl %2, %0"
		     : "=r"(u3.lsl), "=@ccz"(u3.lsl_ok)
		     : "r"((uint32_t)LSEL(L_UDATA, 3)));
	u3.code = call_far(LSEL(L_UCODE, 3), UCODE_OFF, &u3.code_t);
	u3.gate = call_far(LSEL(L_GATE, 3), 0, &u3.gate_t);
	u3.past_t = try_fs(LSEL(L_N, 3));
	u3.sys_t = try_fs(LSEL(L_GATE, 3));
	u3.fresh_t = try_fs(LSEL(L_FRESH, 3));
	u3.gone_t = try_fs(LSEL(L_UGONE, 3));
	u3.lgone_t = try_lfs(LSEL(L_UGONE, 3));
	{
		struct regs r = { LSEL(L_USTACK, 3), 0, 0 };

		u3.ss_t = probe(load_ss, load_ss_end, &r);
	}

	/* a DPL 3 descriptor in the GDT, exchanged by ring 3 itself */
	try_fs(GSEL(G_USER_EDIT) | 3);
	u3.edit_before = fs_read(0, &t);
	s = (uint16_t)(uint32_t)&cells[1];
	{
		uint32_t lo = (uint32_t)(my_gdt[G_USER_EDIT] & 0xffff) |
			      (uint32_t)s << 16;

		asm volatile("xchgl %0, (%1)"
			     : "+r"(lo)
			     : "r"(&my_gdt[G_USER_EDIT])
			     : "memory");
	}
	u3.edit_kept = fs_read(0, &t);
	try_fs(GSEL(G_USER_EDIT) | 3);
	u3.edit_after = fs_read(0, &t);

	/* the same in the LDT */
	try_fs(LSEL(L_USER_EDIT, 3));
	{
		uint32_t lo = (uint32_t)(ldt_a[L_USER_EDIT] & 0xffff) |
			      (uint32_t)s << 16;

		asm volatile("xchgl %0, (%1)"
			     : "+r"(lo)
			     : "r"(&ldt_a[L_USER_EDIT])
			     : "memory");
	}
	u3.ledit_kept = fs_read(0, &t);
	try_fs(LSEL(L_USER_EDIT, 3));
	u3.ledit_after = fs_read(0, &t);
	try_fs(SEL_UDATA);
	return 0;
}

#define VEC_TO_LDT 0x81 /* ring 3 asks ring 0 to IRET into the LDT */

static uint32_t uentry_off(void)
{
	return UCODE_OFF + (uint32_t)ldt_uentry - (uint32_t)ldt_ucode;
}

static void to_ldt_code(struct trap_frame *f)
{
	f->cs = LSEL(L_UCODE, 3);
	f->eip = uentry_off();
}

static int ring3_to_ldt(void *arg)
{
	(void)arg;
	asm volatile("int %0" : : "i"(VEC_TO_LDT) : "memory");
	return -1;
}

static void test_ring3(void)
{
	int v;

	trap_set_handler(VEC_TO_LDT, to_ldt_code);
	idt_set_gate(VEC_TO_LDT, idt_stub(VEC_TO_LDT), GATE_INTR32, 3);
	v = user_run(ring3_to_ldt, NULL);
	ok_eq(v, uentry_off() + 5,
	      "iret from ring 0 to ldt code 0x1f at ring 3: eip an offset there");

	v = user_run(ring3_ldt, NULL);

	ok_eq(v, 0, "ring 3: the task ran to its end");
	ok(!u3.data_t && u3.data == area[11],
	   "ring 3: ldt data 0x07, base and dword at 12");
	if (limits_checked)
		ok_eq(u3.limit_t, TRAP(VEC_GP, 0),
		      "ring 3: ldt data 0x07, a dword at 16 is #GP(0)");
	else
		ktap_skip(NO_LIMITS,
			  "ring 3: ldt data 0x07, a dword at 16 is #GP(0)");
	ok(u3.sel == LSEL(L_UDATA, 3) &&
		   (u3.pushed & 0xffff) == LSEL(L_UDATA, 3),
	   "ring 3: mov r, fs and push fs give 0x07");
	ok_eq(u3.sldt, GSEL(G_LDT_A), "ring 3: sldt gives 0x30");
	ok(u3.lar_ok && u3.lar == 0x0040f300,
	   "ring 3: lar 0x07: 0x0040f300 (DPL 3 data, accessed)");
	ok(u3.lsl_ok && u3.lsl == SMALL_LIMIT, "ring 3: lsl 0x07: 15");
	ok(!u3.code_t && u3.code == UCODE_OFF + 5,
	   "ring 3: far call to ldt code 0x1f:0x200, eip 0x205 there");
	ok(!u3.gate_t && u3.gate == (0x6a7e0000 | SEL_UCODE),
	   "ring 3: call gate 0x27 in the ldt reaches ring 0, CS 0x1b pushed");
	ok_eq(u3.past_t, TRAP(VEC_GP, LSEL(L_N, 0)),
	      "ring 3: mov fs, 0x67 (past the ldt limit) is #GP(0x64)");
	ok_eq(u3.sys_t, TRAP(VEC_GP, LSEL(L_GATE, 0)),
	      "ring 3: mov fs, 0x27 (the call gate) is #GP(0x24)");
	ok(!u3.fresh_t && accessed(ldt_a[L_FRESH]),
	   "ring 3: mov fs, 0x2f sets its accessed bit");
	ok(!u3.ss_t && accessed(ldt_a[L_USTACK]),
	   "ring 3: mov ss, 0x4f sets its accessed bit");
	ok(u3.gone_t == TRAP(VEC_NP, LSEL(L_UGONE, 0)) &&
		   u3.lgone_t == TRAP(VEC_NP, LSEL(L_UGONE, 0)),
	   "ring 3: mov fs and lfs of 0x5f (not present): #NP(0x5c)");
	ok(u3.edit_before == cells[0] && u3.edit_kept == cells[0],
	   "ring 3: gdt 0x83 exchanged by ring 3, fs keeps the old base");
	ok_eq(u3.edit_after, cells[1],
	      "ring 3: gdt 0x83 loaded again: new base");
	ok_eq(u3.ledit_kept, cells[0],
	      "ring 3: ldt 0x57 exchanged by ring 3, fs keeps the old base");
	ok_eq(u3.ledit_after, cells[1],
	      "ring 3: ldt 0x57 loaded again: new base");
}

/* --- the TSS: busy bits, the I/O permission bitmap, a task with an LDT ------------ */

static struct {
	uint32_t echo, echo_t, out_t, denied_t, word_t, far_t, short_t, none_t;
} io3;

static uint32_t io(void (*fn)(void), char *end, uint16_t port, uint32_t *val)
{
	struct regs r = { val ? *val : 0, 0, port };
	uint32_t t = probe(fn, end, &r);

	if (val)
		*val = r.eax;
	return t;
}

static int ring3_io(void *arg)
{
	uint32_t v = 0x5eed1234;

	(void)arg;
	io3.out_t = io(port_outl, port_outl_end, TESTDEV_IOPORT, &v);
	v = 0;
	io3.echo_t = io(port_inl, port_inl_end, TESTDEV_IOPORT, &v);
	io3.echo = v;
	io3.denied_t = io(port_inb, port_inb_end, TESTDEV_IOPORT + 4, NULL);
	io3.word_t = io(port_inw, port_inw_end, TESTDEV_IOPORT + 3, NULL);
	io3.far_t = io(port_inb, port_inb_end, 0x3ff, NULL);
	return 0;
}

static int ring3_io_again(void *arg)
{
	uint32_t v = 0;

	*(uint32_t *)arg = io(port_inl, port_inl_end, TESTDEV_IOPORT, &v);
	return 0;
}

static void test_tss(void)
{
	uint32_t t;
	struct farptr p;

	tss2.t = user_tss;
	tss2.t.iomap_base = sizeof(struct tss32);
	tss2.t.ldt = 0;
	memset(tss2.bitmap, 0xff, sizeof(tss2.bitmap));
	tss2.bitmap[TESTDEV_IOPORT / 8] = 0xf0; /* 0xe0-0xe3 allowed */
	tss2.end = 0xff;
	my_gdt[G_TSS2] = seg_desc((uint32_t)&tss2, sizeof(tss2) - 1,
				  DESC_P | TSS_AVAIL, 0);
	my_gdt[G_TSS2_SHORT] = seg_desc((uint32_t)&tss2, TSS2_SHORT_LIMIT,
					DESC_P | TSS_AVAIL, 0);

	ltr(GSEL(G_TSS2));
	ok(desc_type(my_gdt[G_TSS2]) == TSS_BUSY && str() == GSEL(G_TSS2),
	   "ltr 0x68: its descriptor busy, str gives 0x68");

	user_run(ring3_io, NULL);
	ok(!io3.out_t && !io3.echo_t && io3.echo == 0x5eed1234,
	   "ring 3, IOPL 0: out/in 0xe0 allowed by the bitmap, echo");
	ok_eq(io3.denied_t, TRAP(VEC_GP, 0), "ring 3: in 0xe4 denied, #GP(0)");
	ok_eq(io3.word_t, TRAP(VEC_GP, 0),
	      "ring 3: inw 0xe3 (0xe3 allowed, 0xe4 not) is #GP(0)");
	ok_eq(io3.far_t, TRAP(VEC_GP, 0),
	      "ring 3: in 0x3ff, its bitmap byte past the limit, #GP(0)");

	/* The map base past the limit: no bitmap at all. */
	tss2.t.iomap_base = 0xffff;
	user_run(ring3_io_again, &t);
	ok_eq(t, TRAP(VEC_GP, 0),
	      "ring 3: map base past the limit, in 0xe0 #GP(0)");
	tss2.t.iomap_base = sizeof(struct tss32);
	user_run(ring3_io_again, &t);
	ok_eq(t, 0, "ring 3: map base back, in 0xe0 allowed again");

	/* The same TSS with a limit that ends at 0xe0's bitmap byte. */
	ltr(GSEL(G_TSS2_SHORT));
	user_run(ring3_io_again, &t);
	ok_eq(t, TRAP(VEC_GP, 0),
	      "ring 3: limit at 0xe0's byte, the second byte past it: #GP(0)");
	{
		struct regs r = { GSEL(G_TSS2), 0, 0 };

		t = probe(do_ltr, do_ltr_end, &r);
		ok_eq(t, TRAP(VEC_GP, GSEL(G_TSS2)),
		      "ltr 0x68 again (busy) is #GP(0x68)");
	}

	/* A task whose LDTR and DS come from its TSS. */
	memset(&tss3, 0, sizeof(tss3));
	tss3.eip = (uint32_t)task_entry;
	tss3.esp = (uint32_t)(task_stack + sizeof(task_stack));
	tss3.eflags = 2;
	tss3.cs = SEL_KCODE;
	tss3.ss = SEL_KDATA;
	tss3.ds = LSEL(L_KDATA, 0);
	tss3.es = tss3.fs = tss3.gs = SEL_KDATA;
	tss3.ldt = GSEL(G_LDT_A);
	tss3.iomap_base = sizeof(tss3);
	my_gdt[G_TSS3] = seg_desc((uint32_t)&tss3, sizeof(tss3) - 1,
				  DESC_P | TSS_AVAIL, 0);
	lldt(0);
	p.off = 0;
	p.sel = GSEL(G_TSS3);
	asm volatile("lcall *%0" : : "m"(p) : "memory");
	asm volatile("clts");
	ok(task_runs == 1 && task_value == area[4],
	   "call to task 0x78: its DS 0x0c from the LDT its TSS names");
	ok(sldt() == 0 && desc_type(my_gdt[G_TSS3]) == TSS_AVAIL,
	   "back from the task: LDTR null again, its TSS available");
	lldt(GSEL(G_LDT_A));
}

/* --- paging on: the tables at linear addresses ------------------------------------ */

#define GDT_ALIAS \
	0x40000000u /* a linear page for the GDT, far from its frame */
#define LDT_ALIAS 0x40400000u /* and one for an LDT, under another PDE */
#define P_EDIT	  G_EDIT      /* the slot edited below */

static uint32_t edit_and_load(uint64_t *slot, void *base, uint32_t *kept)
{
	uint32_t t, v;

	try_fs(GSEL(P_EDIT));
	v = fs_read(0, &t);
	*slot = data_desc(base, 3, 0, ACC_A);
	*kept = fs_read(0, &t);
	try_fs(GSEL(P_EDIT));
	(void)v;
	return fs_read(0, &t);
}

static void test_paging(void)
{
	uint64_t *f1 = page_alloc(), *f2 = page_alloc(), *f3 = page_alloc();
	uint64_t *alias = (uint64_t *)GDT_ALIAS;
	uint32_t *pd = paging_init(), *pd2, t, v, kept;
	struct dtr d, old;
	unsigned int i;

	for (i = 0; i < G_N; i++)
		f1[i] = f2[i] = my_gdt[i];
	f1[P_EDIT] = data_desc(&cells[2], 3, 0, ACC_A);
	f2[P_EDIT] = data_desc(&cells[4], 3, 0, ACC_A);
	f1[G_FRESH_DATA] = f2[G_FRESH_DATA] = data_desc(&area[25], 3, 0, 0);
	f2[G_LDT_B] = seg_desc(LDT_ALIAS, 8 * 2 - 1, DESC_P | DESC_LDT, 0);
	f3[0] = data_desc(&area[26], 3, 0, 0);
	f3[1] = data_desc(&cells[6], 3, 0, ACC_A);
	map_page(pd, GDT_ALIAS, (uint32_t)f1, PTE_W);
	map_page(pd, LDT_ALIAS, (uint32_t)f3, PTE_W);
	pd2 = pd_new();
	map_page(pd2, GDT_ALIAS, (uint32_t)f1, PTE_W);
	paging_enable(pd);

	sgdt(&old);
	d.base = GDT_ALIAS;
	d.limit = sizeof(my_gdt) - 1;
	lgdt(&d);
	try_fs(GSEL(P_EDIT));
	v = fs_read(0, &t);
	ok(!t && v == cells[2],
	   "paging: mov fs, 0x40 from a gdt at a linear alias");

	v = edit_and_load(&alias[P_EDIT], &cells[3], &kept);
	ok_eq(kept, cells[2],
	      "paging: gdt 0x40 changed through the alias: fs keeps the old base");
	ok_eq(v, cells[3], "paging: gdt 0x40 loaded again: the new base");

	v = edit_and_load(&f1[P_EDIT], &cells[1], &kept);
	ok(kept == cells[3] && v == cells[1],
	   "paging: gdt 0x40 changed through another mapping of its frame: seen at the next load");

	map_page(pd, GDT_ALIAS, (uint32_t)f2, PTE_W);
	invlpg(GDT_ALIAS);
	try_fs(GSEL(P_EDIT));
	v = fs_read(0, &t);
	ok(!t && v == cells[4],
	   "paging: the alias remapped to another frame (invlpg): its descriptor");

	f1[P_EDIT] = data_desc(&cells[5], 3, 0, ACC_A);
	v = edit_and_load(&f2[P_EDIT], &cells[0], &kept);
	ok(kept == cells[4] && v == cells[0],
	   "paging: the new frame changed through the identity map: seen, the old frame not");

	t = try_fs(GSEL(G_FRESH_DATA));
	ok(!t && accessed(f2[G_FRESH_DATA]) && !accessed(f1[G_FRESH_DATA]),
	   "paging: mov fs, 0x50 sets the accessed bit in the frame behind the alias");

	write_cr3((uint32_t)pd2);
	try_fs(GSEL(P_EDIT));
	v = fs_read(0, &t);
	ok(!t && v == cells[5],
	   "paging: mov cr3 to a space mapping the alias to the first frame: its descriptor");
	write_cr3((uint32_t)pd);
	try_fs(GSEL(P_EDIT));
	v = fs_read(0, &t);
	ok(!t && v == cells[0],
	   "paging: mov cr3 back: the second frame's descriptor");

	lldt(GSEL(G_LDT_B));
	t = try_fs(LSEL(0, 0));
	v = fs_read(0, &t);
	ok(!t && v == area[26] && accessed(f3[0]),
	   "paging: ldt at a linear alias: 0x04 loads its base, accessed set in its frame");
	try_fs(LSEL(1, 0));
	v = fs_read(0, &t);
	f3[1] = data_desc(&cells[7], 3, 0, ACC_A);
	kept = fs_read(0, &t);
	try_fs(LSEL(1, 0));
	ok(v == cells[6] && kept == cells[6] && fs_read(0, &t) == cells[7],
	   "paging: ldt 0x0c changed through another mapping: fs keeps it, loaded again new");

	flat_fs();
	lldt(GSEL(G_LDT_A));
	lgdt(&old);
	paging_disable();
}

int main(void)
{
	ktap_plan(NR_TESTS);
	pic_init(); /* ring 3 runs with IF set: no IRQ on an exception vector */
	user_init();
	tables_init();
	probe_limits();
	test_ldt_ring0();
	test_edits_ring0();
	test_accessed();
	test_ring3();
	test_tss();
	test_paging();
	ktap_finish();
}
