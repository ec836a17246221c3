/*
 * segload - loads and reads of the data segment registers at ring 0, each
 * checked against the Intel SDM (Vol. 2A/2B "MOV", "POP", "PUSH"; Vol. 3A
 * 3.4 "Segment Selectors", 3.4.5.1 the accessed bit, 5.6 "Privilege Level
 * Checking When Accessing Data Segments").  A binary translator that runs
 * them inline must keep every one exact.
 *
 *   MOV DS/ES/FS from a register, from memory (32- and 16-bit addressing,
 *	a segment override) and POP DS/ES/FS (32- and 16-bit): the selector
 *	reads back (MOV r32/r16 from Sreg, PUSH Sreg), the new segment's
 *	base applies, ESP moves by the POP's size.
 *   MOV r, Sreg of all six: 32-bit destinations zero extended, 16-bit
 *	ones leave bits 31:16 alone.
 *   Null selectors 0 and 3 load into DS, ES and FS and read back with
 *	their RPL, also after the guest left for the VMM (an I/O exit).
 *   Faults, each at the loading instruction, with the registers and ESP
 *	as before it: #GP(selector) for a selector past the GDT limit, an
 *	LDT selector with a null LDTR, a TSS, an execute-only code segment,
 *	RPL 3 over DPL 0, RPL 1 over DPL 0, the selectors 0xf80-0xff8 (past
 *	the limit here; a VMM's own GDT slots live there); #NP(selector) for
 *	a not-present data segment; through MOV from a register and from
 *	memory and through POP.
 *   The accessed bit of a data descriptor never loaded is clear; the
 *	first load sets it in the GDT.
 *   Interrupts (PIT IRQ 0 at 1 kHz) arriving in a loop that loads DS, ES
 *	and FS with alternating selectors and reads each back right after
 *	its load (MOV and PUSH): no read differs from what was loaded, and
 *	every interrupt frame's DS, ES, FS is a selector the loop loads.
 *   An interrupt handler that changes DS, ES and FS in its frame: the
 *	runtime's return (POP DS/ES/FS) loads them.
 *
 * Under --accel tae ring 0 runs natively at CPL 1 on a shadow GDT whose DPL
 * 0 descriptors show DPL 1 and whose accessed bits are preset:
 * tests/guests/segload.tae holds the lines that differ there.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

/* This guest's GDT: the runtime's eight entries, then its own. */
#define GDT16_ENTRIES 16
#define SLOT_KDATA2   8	 /* a second flat DPL 0 data segment */
#define SLOT_BUF      9	 /* data over buf[], limit 0xfff */
#define SLOT_FRESH    10 /* flat data, never loaded: accessed bit clear */
#define SLOT_NP	      11 /* data, not present */
#define SLOT_XO	      12 /* DPL 0 code, execute-only */
#define SLOT_TSS      13 /* an available 32-bit TSS (system) */

#define SEL_KDATA2 (SLOT_KDATA2 << 3) /* 0x40 */
#define SEL_BUF	   (SLOT_BUF << 3)    /* 0x48 */
#define SEL_FRESH  (SLOT_FRESH << 3)  /* 0x50 */
#define SEL_NP	   (SLOT_NP << 3)     /* 0x58 */
#define SEL_XO	   (SLOT_XO << 3)     /* 0x60 */
#define SEL_TSS16  (SLOT_TSS << 3)    /* 0x68 */
#define SEL_PAST   (GDT16_ENTRIES << 3)

#define DESC_CODE_XO 0x08 /* code, execute-only */
#define DESC_A	     0x01 /* accessed (in the access byte) */

#define NR(a) (sizeof(a) / sizeof((a)[0]))

#define TICK_HZ	  1000
#define MIN_TICKS 8

static uint64_t gdt16[GDT16_ENTRIES] __attribute__((aligned(8)));
static uint8_t buf[4096] __attribute__((aligned(4096)));
static struct tss32 tss;

static void gdt16_init(void)
{
	const uint8_t flat = DESC_G | DESC_DB;
	struct dtr d;

	memcpy(gdt16, gdt, sizeof(gdt));
	gdt16[SLOT_KDATA2] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_DATA_RW, flat);
	gdt16[SLOT_BUF] = seg_desc((uint32_t)buf, sizeof(buf) - 1,
				   DESC_P | DESC_S | DESC_DATA_RW, DESC_DB);
	gdt16[SLOT_FRESH] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_DATA_RW, flat);
	gdt16[SLOT_NP] = seg_desc(0, 0xfffff, DESC_S | DESC_DATA_RW, flat);
	gdt16[SLOT_XO] =
		seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_CODE_XO, flat);
	gdt16[SLOT_TSS] = seg_desc((uint32_t)&tss, sizeof(tss) - 1,
				   DESC_P | DESC_TSS32, 0);
	d.limit = sizeof(gdt16) - 1;
	d.base = (uint32_t)gdt16;
	lgdt(&d);
}

/* --- probes: one load each, faults caught -------------------------------- */

/*
 * What a probe loads and leaves.  A probe is an asm function: it saves
 * DS, ES and FS (in SI, DI, BP) and ESP, loads probe_sel the way its name
 * says, then reads the register it loaded back (MOV r32, PUSH), reads
 * buf[0] through it (base check) and puts everything back.  Results go
 * through %ss, which no probe changes.
 */
uint32_t probe_sel, probe_esp, probe_mem[2];
uint32_t got_mov, got_push, got_word, got_esp;

#define PROBE(name, load, sreg)                                        \
	asm(".pushsection .text\n"                                     \
	    ".globl " #name "\n" #name ":\n\t"                         \
	    "pushl %ebx\n\tpushl %esi\n\tpushl %edi\n\tpushl %ebp\n\t" \
	    "movw %ds, %si\n\tmovw %es, %di\n\tmovw %fs, %bp\n\t"      \
	    "movl %esp, %ss:probe_esp\n\t"                             \
	    "movl %ss:probe_sel, %eax\n\t"                             \
	    "movl $probe_mem, %ebx\n\t"                                \
	    "pushl %eax\n\t"                                           \
	    "movl %ss:probe_mem, %ecx\n\t"                             \
	    "movl $0x1234abcd, %edx\n"                                 \
	    ".globl " #name "_insn\n" #name "_insn:\n\t" load "\n\t"   \
	    "movl %esp, %ss:got_esp\n\t"                               \
	    "movl %" #sreg ", %edx\n\t"                                \
	    "movl %edx, %ss:got_mov\n\t"                               \
	    "pushl %" #sreg "\n\t"                                     \
	    "popl %ss:got_push\n\t"                                    \
	    "movl %" #sreg ":0, %edx\n\t"                              \
	    "movl %edx, %ss:got_word\n"                                \
	    ".globl " #name "_end\n" #name "_end:\n\t"                 \
	    "movl %ss:probe_esp, %esp\n\t"                             \
	    "movw %si, %ds\n\tmovw %di, %es\n\tmovw %bp, %fs\n\t"      \
	    "popl %ebp\n\tpopl %edi\n\tpopl %esi\n\tpopl %ebx\n\t"     \
	    "ret\n"                                                    \
	    ".popsection")

PROBE(mov_ds_reg, "movw %ax, %ds", ds);
PROBE(mov_es_reg, "movw %ax, %es", es);
PROBE(mov_fs_reg, "movl %eax, %fs", fs);
PROBE(mov_ds_mem, "movw (%ebx), %ds", ds);
PROBE(mov_fs_ss_mem, "movw %ss:(%ebx), %fs", fs);
PROBE(pop_ds, "popl %ds", ds);
PROBE(pop_es, "popl %es", es);
PROBE(pop_fs, "popl %fs", fs);
PROBE(popw_ds, "popw %ds", ds);

struct probe {
	void (*fn)(void);
	const char *insn, *end;
	const char *what;
	int esp_moves; /* bytes a POP takes */
};

#define PROBE_DESC(n, what, moves)                \
	{                                         \
		n, n##_insn, n##_end, what, moves \
	}

extern char mov_ds_reg_insn[], mov_ds_reg_end[], mov_es_reg_insn[],
	mov_es_reg_end[], mov_fs_reg_insn[], mov_fs_reg_end[],
	mov_ds_mem_insn[], mov_ds_mem_end[], mov_fs_ss_mem_insn[],
	mov_fs_ss_mem_end[], pop_ds_insn[], pop_ds_end[], pop_es_insn[],
	pop_es_end[], pop_fs_insn[], pop_fs_end[], popw_ds_insn[],
	popw_ds_end[];
void mov_ds_reg(void), mov_es_reg(void), mov_fs_reg(void), mov_ds_mem(void),
	mov_fs_ss_mem(void), pop_ds(void), pop_es(void), pop_fs(void),
	popw_ds(void);

static const struct probe probes[] = {
	PROBE_DESC(mov_ds_reg, "mov %ax,%ds", 0),
	PROBE_DESC(mov_es_reg, "mov %ax,%es", 0),
	PROBE_DESC(mov_fs_reg, "mov %eax,%fs", 0),
	PROBE_DESC(mov_ds_mem, "mov (%ebx),%ds", 0),
	PROBE_DESC(mov_fs_ss_mem, "mov %ss:(%ebx),%fs", 0),
	PROBE_DESC(pop_ds, "pop %ds", 4),
	PROBE_DESC(pop_es, "pop %es", 4),
	PROBE_DESC(pop_fs, "pop %fs", 4),
	PROBE_DESC(popw_ds, "popw %ds", 2),
};

static struct trap_frame seen;
static uint32_t seen_esp;
static int hits;
static const char *resume;

static void catch_fault(struct trap_frame *f)
{
	seen = *f;
	seen_esp = (uint32_t)&f->esp; /* ring 0: no ESP in the frame */
	hits++;
	if (!resume) {
		printf("Bail out! segload: vector %u error 0x%x at %08x\n",
		       f->vector, f->error_code, f->eip);
		exit(1);
	}
	f->eip = (uint32_t)resume;
	resume = NULL;
}

/* Runs probe @p with @sel: 0, or the fault's vector (the frame in seen). */
static int run_probe(const struct probe *p, uint16_t sel)
{
	probe_sel = sel;
	probe_mem[0] = sel;
	probe_mem[1] = 0;
	got_mov = got_push = got_word = got_esp = 0xffffffff;
	hits = 0;
	resume = p->end;
	p->fn();
	resume = NULL;
	return hits ? (int)seen.vector : 0;
}

/* The dword at linear 0 (what a flat segment's offset 0 holds). */
static uint32_t linear0(void)
{
	uint32_t v;

	asm volatile("movl 0, %0" : "=r"(v));
	return v;
}

/* --- loads that succeed ---------------------------------------------------- */

static void test_loads(void)
{
	static const uint16_t sels[] = { SEL_BUF, SEL_KDATA2, SEL_UDATA,
					 SEL_KDATA };
	unsigned int i, s;
	int bad = 0;

	buf[0] = 0x5a;
	buf[1] = 0xa5;
	for (i = 0; i < NR(probes); i++) {
		const struct probe *p = &probes[i];

		for (s = 0; s < NR(sels); s++) {
			uint32_t want_word = sels[s] == SEL_BUF
						     ? *(uint32_t *)buf
						     : linear0();
			int v = run_probe(p, sels[s]);

			if (!v && got_mov == sels[s] &&
			    (got_push & 0xffff) == sels[s] &&
			    got_word == want_word &&
			    got_esp == probe_esp - 4 + p->esp_moves)
				continue;
			if (!bad++)
				ktap_diag("%s of %#x: fault %d, reads %#x "
					  "push %#x word %#x esp %#x (want "
					  "%#x)",
					  p->what, sels[s], v, got_mov,
					  got_push, got_word, got_esp,
					  probe_esp - 4 + p->esp_moves);
		}
	}
	ok(!bad, "MOV DS/ES/FS from registers and memory, POP DS/ES/FS "
		 "(32 and 16 bits): the selector reads back (MOV, PUSH), the "
		 "base applies, ESP moves by the POP");
}

/* MOV r32, Sreg zero extends; MOV r16, Sreg keeps bits 31:16. */
static void test_reads(void)
{
	uint32_t r32[6], r16[6];
	int i, bad = 0;

	asm volatile("movl $-1, %%eax\n\tmovl %%es, %%eax\n\tmovl %%eax, %0\n\t"
		     "movl $-1, %%eax\n\tmovl %%cs, %%eax\n\tmovl %%eax, %1\n\t"
		     "movl $-1, %%eax\n\tmovl %%ss, %%eax\n\tmovl %%eax, %2\n\t"
		     "movl $-1, %%eax\n\tmovl %%ds, %%eax\n\tmovl %%eax, %3\n\t"
		     "movl $-1, %%eax\n\tmovl %%fs, %%eax\n\tmovl %%eax, %4\n\t"
		     "movl $-1, %%eax\n\tmovl %%gs, %%eax\n\tmovl %%eax, %5"
		     : "=m"(r32[0]), "=m"(r32[1]), "=m"(r32[2]), "=m"(r32[3]),
		       "=m"(r32[4]), "=m"(r32[5])
		     :
		     : "eax");
	asm volatile("movl $-1, %%eax\n\tmovw %%es, %%ax\n\tmovl %%eax, %0\n\t"
		     "movl $-1, %%eax\n\tmovw %%cs, %%ax\n\tmovl %%eax, %1\n\t"
		     "movl $-1, %%eax\n\tmovw %%ss, %%ax\n\tmovl %%eax, %2\n\t"
		     "movl $-1, %%eax\n\tmovw %%ds, %%ax\n\tmovl %%eax, %3\n\t"
		     "movl $-1, %%eax\n\tmovw %%fs, %%ax\n\tmovl %%eax, %4\n\t"
		     "movl $-1, %%eax\n\tmovw %%gs, %%ax\n\tmovl %%eax, %5"
		     : "=m"(r16[0]), "=m"(r16[1]), "=m"(r16[2]), "=m"(r16[3]),
		       "=m"(r16[4]), "=m"(r16[5])
		     :
		     : "eax");
	for (i = 0; i < 6; i++) {
		uint32_t want = i == 1 ? SEL_KCODE : SEL_KDATA;

		if (r32[i] != want || r16[i] != (0xffff0000u | want)) {
			if (!bad++)
				ktap_diag("sreg %d: r32 %#x r16 %#x", i, r32[i],
					  r16[i]);
		}
	}
	ok(!bad, "MOV r32, Sreg of ES CS SS DS FS GS zero extends; MOV r16 "
		 "keeps bits 31:16");
}

/*
 * Null selectors, with their RPL, also across an exit to the VMM.  The
 * first check is tried a few times: under tae a host interrupt between the
 * load and the read is an exit too, and an exit is the second check's
 * subject (IRET back to CPL 1 nulls a null selector's RPL, SDM Vol. 2A
 * IRET "RETURN-TO-OUTER-PRIVILEGE-LEVEL"), so one unlucky interrupt must not
 * decide the first.
 */
static void null_loads(uint32_t out[6])
{
	asm volatile("movw %%ds, %%si\n\t"
		     "movl $3, %%eax\n\tmovw %%ax, %%es\n\t"
		     "xorl %%eax, %%eax\n\tmovw %%ax, %%fs\n\t"
		     "movl $1, %%eax\n\tpushl %%eax\n\tpopl %%ds\n\t"
		     "movl %%ds, %%edx\n\tmovl %%edx, %%ss:0(%0)\n\t"
		     "movl %%es, %%edx\n\tmovl %%edx, %%ss:4(%0)\n\t"
		     "movl %%fs, %%edx\n\tmovl %%edx, %%ss:8(%0)\n\t"
		     "outb %%al, $0x80\n\t"
		     "movl %%ds, %%edx\n\tmovl %%edx, %%ss:12(%0)\n\t"
		     "movl %%es, %%edx\n\tmovl %%edx, %%ss:16(%0)\n\t"
		     "movl %%fs, %%edx\n\tmovl %%edx, %%ss:20(%0)\n\t"
		     "movw %%si, %%ds\n\tmovw %%si, %%es\n\tmovw %%si, %%fs"
		     :
		     : "r"(out)
		     : "eax", "edx", "esi", "memory");
}

static void test_null(void)
{
	uint32_t v[6];
	int tries = 0;

	do
		null_loads(v);
	while (!(v[0] == 1 && v[1] == 3 && v[2] == 0) && ++tries < 8);
	if (v[0] != 1 || v[1] != 3 || v[2] != 0)
		ktap_diag("DS %#x ES %#x FS %#x", v[0], v[1], v[2]);
	ok(v[0] == 1 && v[1] == 3 && v[2] == 0,
	   "null selectors 1, 3, 0 load into DS, ES, FS and read back");
	if (v[3] != 1 || v[4] != 3 || v[5] != 0)
		ktap_diag("after the exit: DS %#x ES %#x FS %#x", v[3], v[4],
			  v[5]);
	ok(v[3] == 1 && v[4] == 3 && v[5] == 0,
	   "null selectors keep their RPL across an I/O exit");
}

/* --- loads that fault ------------------------------------------------------ */

static void test_faults(void)
{
	static const struct {
		uint16_t sel, error;
		int vector;
	} cases[] = {
		{ SEL_PAST | 1, SEL_PAST, VEC_GP },   /* past the GDT limit */
		{ 0x0c | 3, 0x0c, VEC_GP },	      /* LDT, null LDTR */
		{ SEL_TSS16, SEL_TSS16, VEC_GP },     /* a system descriptor */
		{ SEL_XO, SEL_XO, VEC_GP },	      /* execute-only code */
		{ SEL_KDATA | 3, SEL_KDATA, VEC_GP }, /* RPL 3 > DPL 0 */
		{ SEL_KDATA | 1, SEL_KDATA, VEC_GP }, /* RPL 1 > DPL 0 */
		{ 0xf80, 0xf80, VEC_GP },	      /* a VMM's slots */
		{ 0xfb0, 0xfb0, VEC_GP },
		{ 0xfb9, 0xfb8, VEC_GP },
		{ 0xff8, 0xff8, VEC_GP },
		{ SEL_NP, SEL_NP, VEC_NP }, /* not present */
	};
	unsigned int i, c;
	int bad = 0;

	for (i = 0; i < NR(probes); i++) {
		const struct probe *p = &probes[i];

		for (c = 0; c < NR(cases); c++) {
			int v = run_probe(p, cases[c].sel);
			/* the selector the probe pushed is still there */
			uint32_t esp = probe_esp - 4;

			if (v == cases[c].vector &&
			    seen.error_code == cases[c].error &&
			    seen.eip == (uint32_t)p->insn && seen_esp == esp &&
			    seen.ecx == probe_mem[0] &&
			    seen.edx == 0x1234abcd && seen.eax == probe_sel &&
			    seen.ds == SEL_KDATA && seen.es == SEL_KDATA &&
			    seen.fs == SEL_KDATA && got_mov == 0xffffffff)
				continue;
			if (!bad++)
				ktap_diag("%s of %#x: vector %d error %#x at "
					  "%08x (want %d %#x at %08x), ESP "
					  "%#x (want %#x)",
					  p->what, cases[c].sel, v,
					  seen.error_code, seen.eip,
					  cases[c].vector, cases[c].error,
					  (uint32_t)p->insn, seen_esp, esp);
		}
	}
	ok(!bad, "#GP(sel) past the limit, LDT with a null LDTR, TSS, "
		 "execute-only code, RPL 3 and RPL 1 over DPL 0, 0xf80-0xff8; "
		 "#NP(sel) not present: at the load, nothing changed (MOV from "
		 "a register and memory, POP)");
}

/* --- the accessed bit ------------------------------------------------------ */

static int accessed(unsigned int slot)
{
	return (int)(gdt16[slot] >> 40) & DESC_A;
}

static void test_accessed(void)
{
	int before = accessed(SLOT_FRESH);

	asm volatile("movw %%es, %%dx\n\t"
		     "movw %0, %%es\n\t"
		     "movw %%dx, %%es"
		     :
		     : "r"((uint16_t)SEL_FRESH)
		     : "edx", "memory");
	ok(!before && accessed(SLOT_FRESH),
	   "a data descriptor never loaded: accessed bit clear, set by the "
	   "first load (%d, then %d)",
	   before, accessed(SLOT_FRESH));
}

/* --- interrupts --------------------------------------------------------------- */

static volatile struct {
	uint32_t ticks, bad_frames, first_bad;
} irq;

static int loop_sel(uint16_t s)
{
	return s == SEL_KDATA || s == SEL_KDATA2;
}

static void timer_irq(struct trap_frame *f)
{
	irq.ticks++;
	if (!loop_sel(f->ds) || !loop_sel(f->es) || !loop_sel(f->fs)) {
		if (!irq.bad_frames++)
			irq.first_bad = (uint32_t)f->ds << 16 | f->es;
	}
	pic_eoi(0);
}

/*
 * @n times: DS, ES, FS from EAX, each read back (MOV, PUSH) at once, then
 * the two selectors swap; interrupts on.  Returns the reads that differed.
 */
static uint32_t load_loop(uint32_t n)
{
	uint32_t bad = 0;

	asm volatile("movw %%ds, %%bx\n\t"
		     "movl %[a], %%eax\n\t"
		     "movl %[b], %%esi\n\t"
		     "sti\n"
		     "1:\tmovw %%ax, %%ds\n\t"
		     "movl %%ds, %%edx\n\t"
		     "cmpl %%eax, %%edx\n\t"
		     "jne 2f\n\t"
		     "movw %%ax, %%es\n\t"
		     "pushl %%es\n\t"
		     "popl %%edx\n\t"
		     "cmpw %%ax, %%dx\n\t"
		     "jne 2f\n\t"
		     "pushl %%eax\n\t"
		     "popl %%fs\n\t"
		     "movw %%fs, %%dx\n\t"
		     "cmpw %%ax, %%dx\n\t"
		     "je 3f\n"
		     "2:\tincl %%ss:%[bad]\n"
		     "3:\txchgl %%eax, %%esi\n\t"
		     "decl %%ecx\n\t"
		     "jnz 1b\n\t"
		     "cli\n\t"
		     "movw %%bx, %%ds\n\t"
		     "movw %%bx, %%es\n\t"
		     "movw %%bx, %%fs"
		     : [bad] "+m"(bad), "+c"(n)
		     : [a] "i"(SEL_KDATA2), [b] "i"(SEL_KDATA)
		     : "eax", "ebx", "edx", "esi", "memory", "cc");
	return bad;
}

static void test_interrupts(void)
{
	uint32_t bad = 0, chunks;

	trap_set_handler(IRQ_VECTOR(PIT_IRQ), timer_irq);
	pit_start(PIT_MODE_RATE, PIT_HZ / TICK_HZ);
	pic_unmask(PIT_IRQ);
	for (chunks = 0; chunks < 1000 && irq.ticks < MIN_TICKS; chunks++)
		bad += load_loop(20000);
	pic_set_imr(0xffff);
	if (bad || irq.bad_frames || irq.ticks < MIN_TICKS)
		ktap_diag("%u reads differed, %u interrupts, %u bad frames "
			  "(the first DS:ES %08x)",
			  bad, irq.ticks, irq.bad_frames, irq.first_bad);
	ok(!bad && !irq.bad_frames && irq.ticks >= MIN_TICKS,
	   "timer interrupts in a loop of DS/ES/FS loads: every read after "
	   "a load shows it, every frame holds the loop's selectors");
}

/* A handler that changes the frame's DS, ES, FS: the return loads them. */
static void int_set_segments(struct trap_frame *f)
{
	f->ds = SEL_KDATA2;
	f->es = SEL_BUF;
	f->fs = SEL_UDATA;
}

static void test_frame_return(void)
{
	uint32_t ds, es, fs;

	trap_set_handler(0x81, int_set_segments);
	asm volatile("int $0x81\n\t"
		     "movl %%ds, %%edx\n\tmovl %%edx, %%ss:%0\n\t"
		     "movl %%es, %%edx\n\tmovl %%edx, %%ss:%1\n\t"
		     "movl %%fs, %%edx\n\tmovl %%edx, %%ss:%2\n\t"
		     "movw %3, %%dx\n\t"
		     "movw %%dx, %%ds\n\tmovw %%dx, %%es\n\tmovw %%dx, %%fs"
		     : "=m"(ds), "=m"(es), "=m"(fs)
		     : "i"(SEL_KDATA)
		     : "edx", "memory");
	trap_set_handler(0x81, NULL);
	if (ds != SEL_KDATA2 || es != SEL_BUF || fs != SEL_UDATA)
		ktap_diag("DS %#x ES %#x FS %#x", ds, es, fs);
	ok(ds == SEL_KDATA2 && es == SEL_BUF && fs == SEL_UDATA,
	   "an interrupt handler's return loads the DS, ES, FS it put in "
	   "its frame");
}

int main(void)
{
	ktap_plan(8);
	gdt16_init();
	pic_init();
	trap_set_handler(VEC_GP, catch_fault);
	trap_set_handler(VEC_NP, catch_fault);

	test_loads();
	test_reads();
	test_null();
	test_faults();
	test_accessed();
	test_interrupts();
	test_frame_return();
	ktap_finish();
}
