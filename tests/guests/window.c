/*
 * window - the top of the 4 GiB address space, where bt86's translator
 * keeps its window (per-vCPU page, translation cache: docs/translator.md),
 * seen from guest code with paging off, as a PC shows it.
 *
 * Guest-physical memory there is not RAM: reads return what QEMU's PC
 * returns for unassigned memory (0), writes are lost.  The guest reads and
 * writes the window's addresses for vCPU 0 (0xffc00000: the per-vCPU page,
 * 0xffc10000: the translation cache), the rest of the top 4 MiB, and what
 * lies just below them, at ring 0 and ring 3, through flat segments and
 * through segments based elsewhere (one wrapping around 4 GiB: its part
 * above 4 GiB is low memory, which must stay reachable), with byte, word
 * and dword MOVs.  Then it checks that nothing it wrote reached a monitor:
 * indirect calls and returns still work (the translator's fast table lives
 * in the per-vCPU page, which the writes covered).
 *
 * bt86 keeps its window out of reach by truncating the guest's segments
 * below it (docs/vcpu.md); a CPU that checks segment limits then faults,
 * and the monitor turns the fault into the access a PC would make.  QEMU's
 * TCG checks no limit, so in the sandbox the guest passes under bt only
 * with --bt-checked (tests/vm/suite/run runs it so).
 *
 * Last, segment-limit faults of the guest's own: a segment whose own limit
 * ends inside the top 4 MiB faults beyond it, #GP(0) through DS and #SS(0)
 * through SS (SDM 3A 5.3, 6.15), whatever the truncation below -- skipped
 * when the CPU checks no limits (QEMU's TCG, and KVM on it).
 *
 * Only MOVs touch non-RAM here: bt86 emulates those (an MMIO exit); a
 * string instruction or a read-modify-write there stops the VM with a
 * plain message (docs/vcpu.md, "When the VM stops").
 */
#include "guest.h"

#define NR(a) (sizeof(a) / sizeof((a)[0]))

/* --- our own GDT ------------------------------------------------------------- */

enum {
	GDT_BASED_K = 6, /* data, DPL 0, base 2 GiB, 4 GiB limit: wraps */
	GDT_BASED_U,	 /* the same, DPL 3 */
	GDT_HIGH_K,	 /* data, DPL 0, base 0xffb00000, limit 2 MiB */
	GDT_OWN_K,	 /* data, DPL 0, base 0, limit 0xffefffff */
	GDT_OWN_U,	 /* the same, DPL 3 (a ring-3 stack) */
	GDT_SMALL,	 /* data, DPL 0, limit 0xfff (the probe) */
	GDT_N
};

#define SEL_BASED_K (GDT_BASED_K << 3)
#define SEL_BASED_U (GDT_BASED_U << 3 | 3)
#define SEL_HIGH_K  (GDT_HIGH_K << 3)
#define SEL_OWN_K   (GDT_OWN_K << 3)
#define SEL_OWN_U   (GDT_OWN_U << 3 | 3)
#define SEL_SMALL   (GDT_SMALL << 3)

#define BASED	  0x80000000u
#define HIGH	  0xffb00000u
#define OWN_LIMIT 0xffefffffu

static uint64_t my_gdt[GDT_N] __attribute__((aligned(8)));

/* Call after user_init(): the TSS descriptor (busy since LTR) comes along. */
static void my_gdt_init(void)
{
	uint8_t rw = DESC_P | DESC_S | DESC_DATA_RW;
	struct dtr d;
	int i;

	for (i = 0; i < GDT_BASED_K; i++)
		my_gdt[i] = gdt[i];
	my_gdt[GDT_BASED_K] = seg_desc(BASED, 0xfffff, rw, DESC_G | DESC_DB);
	my_gdt[GDT_BASED_U] =
		seg_desc(BASED, 0xfffff, rw | DESC_DPL(3), DESC_G | DESC_DB);
	my_gdt[GDT_HIGH_K] = seg_desc(HIGH, 0x1ff, rw, DESC_G | DESC_DB);
	my_gdt[GDT_OWN_K] = seg_desc(0, OWN_LIMIT >> 12, rw, DESC_G | DESC_DB);
	my_gdt[GDT_OWN_U] = seg_desc(0, OWN_LIMIT >> 12, rw | DESC_DPL(3),
				     DESC_G | DESC_DB);
	my_gdt[GDT_SMALL] = seg_desc(0, 0xfff, rw, DESC_DB);
	d.limit = sizeof(my_gdt) - 1;
	d.base = (uint32_t)my_gdt;
	lgdt(&d);
	asm volatile("ljmp %0, $1f\n"
		     "1:\n\t"
		     "movw %1, %%ax\n\t"
		     "movw %%ax, %%ds\n\t"
		     "movw %%ax, %%es\n\t"
		     "movw %%ax, %%fs\n\t"
		     "movw %%ax, %%gs\n\t"
		     "movw %%ax, %%ss"
		     :
		     : "i"(SEL_KCODE), "i"(SEL_KDATA)
		     : "eax", "memory");
}

/* --- accesses: MOVs only, through FS (flat: the caller's DS) ----------------- */

static uint32_t rd32(uint16_t fs, uint32_t off)
{
	uint16_t old;
	uint32_t v;

	asm volatile("movw %%fs, %1\n\t"
		     "movw %2, %%fs\n\t"
		     "movl %%fs:(%3), %0\n\t"
		     "movw %1, %%fs"
		     : "=&r"(v), "=&r"(old)
		     : "r"(fs), "r"(off)
		     : "memory");
	return v;
}

static void wr32(uint16_t fs, uint32_t off, uint32_t v)
{
	uint16_t old;

	asm volatile("movw %%fs, %0\n\t"
		     "movw %1, %%fs\n\t"
		     "movl %2, %%fs:(%3)\n\t"
		     "movw %0, %%fs"
		     : "=&r"(old)
		     : "r"(fs), "r"(v), "r"(off)
		     : "memory");
}

/* Read, write 0xa5a5a5a5, read again: the second read, or ~0 when the
 * write stuck where a PC loses it. */
static uint32_t rw_probe(uint16_t fs, uint32_t off)
{
	uint32_t before = rd32(fs, off), after;

	wr32(fs, off, 0xa5a5a5a5);
	after = rd32(fs, off);
	return after == before ? after : 0xffffffff;
}

/* The addresses, flat; what bt86 has there for vCPU 0 under --accel bt. */
static const struct {
	uint32_t addr;
	const char *what;
} spots[] = {
	{ 0xffc00000, "the per-vCPU page (virtual IF)" },
	{ 0xffc00004, "the per-vCPU page (interrupt wanted)" },
	{ 0xffc01000, "the fast indirect-branch table" },
	{ 0xffc01ffc, "the per-vCPU page's last dword" },
	{ 0xffc10000, "the translation cache's first code" },
	{ 0xffc10400, "translated blocks" },
	{ 0xffe0fffc, "the translation cache's last dword" },
	{ 0xffe10000, "past the translation cache" },
	{ 0xfff00000, "the top 4 MiB, nothing mapped" },
	{ 0xffbffffc, "the last dword below the window" },
	{ 0xffbffffe, "a dword across the window's start" },
	{ 0xffb00000, "1 MiB below the window" },
};

static void test_flat_ring0(void)
{
	unsigned int i;
	uint32_t v;
	uint16_t w;
	int8_t sb;

	for (i = 0; i < NR(spots); i++) {
		v = rw_probe(SEL_KDATA, spots[i].addr);
		ok(v != 0xffffffff,
		   "ring 0 flat %08x, %s: reads %#x, a write is lost",
		   spots[i].addr, spots[i].what, v);
	}
	asm volatile("movzbl 0xffc00000, %0" : "=r"(v) : : "memory");
	ok_eq(v, rd32(SEL_KDATA, 0xffc00000) & 0xff,
	      "ring 0 movzbl 0xffc00000: %#x", v);
	asm volatile("movw 0xffc10002, %0" : "=r"(w) : : "memory");
	ok_eq(w, rd32(SEL_KDATA, 0xffc10000) >> 16,
	      "ring 0 movw 0xffc10002: %#x", w);
	asm volatile("movb 0xffc00001, %0" : "=q"(sb) : : "memory");
	asm volatile("movsbl 0xffc00001, %0" : "=r"(v) : : "memory");
	ok_eq(v, (uint32_t)(int32_t)sb, "ring 0 movsbl 0xffc00001: %#x", v);
}

/* --- nothing of a monitor changed ---------------------------------------------- */

static int __attribute__((noinline)) f0(int x)
{
	return x + 1;
}

static int __attribute__((noinline)) f1(int x)
{
	return x * 3;
}

static int __attribute__((noinline)) f2(int x)
{
	return x ^ 0x55;
}

static int __attribute__((noinline)) f3(int x)
{
	return x - 7;
}

static int (*const volatile fns[4])(int) = { f0, f1, f2, f3 };

static void test_unharmed(void)
{
	uint32_t a;
	int i, acc = 1, want = 1;

	/* What a translator keeps there: IF, the wanted interrupt, the
	 * indirect branch target, every fast-table slot. */
	for (a = 0xffc00000; a < 0xffc00040; a += 4)
		wr32(SEL_KDATA, a, 0xffffffff);
	for (a = 0xffc01000; a < 0xffc02000; a += 8) {
		wr32(SEL_KDATA, a, 0x100000 + (a & 0xff8));
		wr32(SEL_KDATA, a + 4, 0x100000);
	}
	for (i = 0; i < 64; i++) {
		acc = fns[i & 3](acc) & 0xffff;
		switch (i & 3) {
		case 0:
			want = want + 1;
			break;
		case 1:
			want = want * 3;
			break;
		case 2:
			want = want ^ 0x55;
			break;
		default:
			want = want - 7;
			break;
		}
		want &= 0xffff;
	}
	ok(acc == want, "64 indirect calls and returns after the writes: %#x",
	   acc);
}

/* --- ring 3, flat ---------------------------------------------------------------- */

static uint32_t ring3_results[NR(spots)];

static int ring3_flat(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < NR(spots); i++)
		ring3_results[i] = rw_probe(SEL_UDATA, spots[i].addr);
	return 0;
}

static void test_flat_ring3(void)
{
	unsigned int i;

	ok_eq(user_run(ring3_flat, NULL), 0, "ring 3 task ran to its end");
	for (i = 0; i < NR(spots); i++)
		ok(ring3_results[i] != 0xffffffff,
		   "ring 3 flat %08x, %s: reads %#x, a write is lost",
		   spots[i].addr, spots[i].what, ring3_results[i]);
}

/* --- based segments -------------------------------------------------------------- */

static volatile uint32_t low_var = 0x600dcafe;

struct based_result {
	uint32_t window, below, wrap_read, wrap_after;
};

/* Through @sel based at 2 GiB: the window, below it, and low memory
 * through the part above 4 GiB. */
static void based(uint16_t sel, struct based_result *r)
{
	uint32_t off = (uint32_t)&low_var - BASED;

	r->window = rw_probe(sel, 0xffc00000 - BASED);
	r->below = rw_probe(sel, 0xffbffffc - BASED);
	low_var = 0x600dcafe;
	r->wrap_read = rd32(sel, off);
	wr32(sel, off, 0x12345678);
	r->wrap_after = low_var;
}

static struct based_result based3;

static int ring3_based(void *arg)
{
	(void)arg;
	based(SEL_BASED_U, &based3);
	return 0;
}

static void report_based(const struct based_result *r, int ring)
{
	ok(r->window != 0xffffffff,
	   "ring %d, base 2 GiB: offset 0x7fc00000 (the window) reads %#x, a "
	   "write is lost",
	   ring, r->window);
	ok(r->below != 0xffffffff,
	   "ring %d, base 2 GiB: offset 0x7fbffffc (below it) reads %#x, a "
	   "write is lost",
	   ring, r->below);
	ok_eq(r->wrap_read, 0x600dcafe,
	      "ring %d, base 2 GiB: past 4 GiB wraps to low memory (read)",
	      ring);
	ok_eq(r->wrap_after, 0x12345678,
	      "ring %d, base 2 GiB: past 4 GiB wraps to low memory (write)",
	      ring);
}

static void test_based(void)
{
	struct based_result r;
	uint32_t v;

	based(SEL_BASED_K, &r);
	report_based(&r, 0);
	ok_eq(user_run(ring3_based, NULL), 0, "ring 3 task ran to its end");
	report_based(&based3, 3);

	v = rw_probe(SEL_HIGH_K, 0xffffc);
	ok(v != 0xffffffff,
	   "ring 0, base 0xffb00000: offset 0xffffc (below the window) reads "
	   "%#x, a write is lost",
	   v);
	v = rw_probe(SEL_HIGH_K, 0x100000);
	ok(v != 0xffffffff,
	   "ring 0, base 0xffb00000: offset 0x100000 (the window) reads %#x, "
	   "a write is lost",
	   v);
	v = rw_probe(SEL_HIGH_K, 0x1ffffc);
	ok(v != 0xffffffff,
	   "ring 0, base 0xffb00000: its last dword (in the window) reads "
	   "%#x, a write is lost",
	   v);
}

/* --- the guest's own limit faults ---------------------------------------------------- */

static struct trap_frame seen;
static int hits;
static uint32_t resume_eip;

/* Record the frame and go on at resume_eip. */
static void catch_trap(struct trap_frame *f)
{
	seen = *f;
	hits++;
	f->eip = resume_eip;
}

/*
 * An asm function: loads @seg_reg with the selector in EDX, runs @insn at
 * NAME_insn with the offset in ECX, restores the register at NAME_end
 * (where a caught fault resumes).  EAX gets what was read.
 */
#define PROBE(name, sreg, insn)                                        \
	asm(".pushsection .text\n"                                     \
	    ".globl " #name "\n" #name ":\n\t"                         \
	    "pushl %ebx\n\t"                                           \
	    "movw %" sreg ", %bx\n\t"                                  \
	    "movw %dx, %" sreg "\n" #name "_insn:\n\t" insn "\n" #name \
	    "_end:\n\t"                                                \
	    "movw %bx, %" sreg "\n\t"                                  \
	    "popl %ebx\n\t"                                            \
	    "ret\n"                                                    \
	    ".popsection");                                            \
	void name(void);                                               \
	extern char name##_insn[], name##_end[]

PROBE(ds_read, "ds", "movl (%ecx), %eax");
PROBE(ss_read, "ss", "movl %ss:(%ecx), %eax");

struct regs {
	uint32_t eax, ecx, edx;
};

static void call_asm(void (*fn)(void), struct regs *r)
{
	asm volatile("call *%3"
		     : "+a"(r->eax), "+c"(r->ecx), "+d"(r->edx)
		     : "r"(fn)
		     : "memory", "cc");
}

static struct regs ring3_regs;

static int ring3_ss_read(void *arg)
{
	(void)arg;
	call_asm(ss_read, &ring3_regs);
	return 0;
}

/* Read through @sel at @off (DS at ring 0, SS at ring 3): 0 traps or 1. */
static int limited_read(uint16_t sel, uint32_t off, int ring3, uint32_t *v)
{
	struct regs r = { 0, off, sel };

	memset(&seen, 0, sizeof(seen));
	hits = 0;
	if (ring3) {
		resume_eip = (uint32_t)ss_read_end;
		ring3_regs = r;
		user_run(ring3_ss_read, NULL);
		r = ring3_regs;
	} else {
		resume_eip = (uint32_t)ds_read_end;
		call_asm(ds_read, &r);
	}
	*v = r.eax;
	return hits;
}

static int caught(int vector, uint32_t eip)
{
	if (hits == 1 && seen.vector == (uint32_t)vector && !seen.error_code &&
	    seen.eip == eip)
		return 1;
	ktap_diag("%d traps, last vector %u error %#x at %08x", hits,
		  seen.vector, seen.error_code, seen.eip);
	return 0;
}

#define NR_OWN_TESTS 4

static void test_own_limits(void)
{
	uint32_t v;
	int i;

	trap_set_handler(VEC_GP, catch_trap);
	trap_set_handler(VEC_SS, catch_trap);
	/* Does this CPU check limits at all?  A 4 KiB segment, offset 8 KiB. */
	if (!limited_read(SEL_SMALL, 0x2000, 0, &v)) {
		for (i = 0; i < NR_OWN_TESTS; i++)
			ktap_skip(
				"this CPU checks no segment limits (QEMU TCG)",
				"own segment limits %d", i + 1);
		return;
	}
	limited_read(SEL_OWN_K, OWN_LIMIT + 1, 0, &v);
	ok(caught(VEC_GP, (uint32_t)ds_read_insn),
	   "ring 0 DS limit 0xffefffff, offset 0xfff00000: #GP(0)");
	limited_read(SEL_OWN_K, OWN_LIMIT - 1, 0, &v);
	ok(caught(VEC_GP, (uint32_t)ds_read_insn),
	   "ring 0 DS limit 0xffefffff, a dword across it: #GP(0)");
	ok(!limited_read(SEL_OWN_K, OWN_LIMIT - 3, 0, &v),
	   "ring 0 DS limit 0xffefffff, its last dword: no fault, reads %#x",
	   v);
	limited_read(SEL_OWN_U, OWN_LIMIT + 1, 1, &v);
	ok(caught(VEC_SS, (uint32_t)ss_read_insn),
	   "ring 3 SS limit 0xffefffff, offset 0xfff00000: #SS(0)");
}

/* --- paging on: the top slot is the guest's to map or leave ---------------------- */

#define TOP_SLOT	0xffc00000u
#define BELOW_TOP	0xffbff000u /* the last page of the slot below */
#define NR_PAGING_TESTS 10

/* REP STOSB of @n bytes of 0x77 at @dst; ECX and EDI after, 1 if it faulted. */
static int rep_stosb(uint32_t dst, uint32_t n, uint32_t *ecx, uint32_t *edi)
{
	uint32_t c = n, d = dst;

	pf_count = 0;
	asm volatile("movl $1f, probe_resume\n\t"
		     "movl $2f, probe_insn\n"
		     "2:\n\t"
		     "rep stosb\n\t"
		     "movl $0, probe_resume\n"
		     "1:"
		     : "+c"(c), "+D"(d)
		     : "a"(0x77)
		     : "memory");
	*ecx = c;
	*edi = d;
	return pf_count != 0;
}

/* REP MOVSB of @n bytes from @src to @dst; ECX, ESI, EDI after. */
static int rep_movsb(uint32_t src, uint32_t dst, uint32_t n, uint32_t *r)
{
	uint32_t c = n, si = src, di = dst;

	pf_count = 0;
	asm volatile("movl $1f, probe_resume\n\t"
		     "movl $2f, probe_insn\n"
		     "2:\n\t"
		     "rep movsb\n\t"
		     "movl $0, probe_resume\n"
		     "1:"
		     : "+c"(c), "+S"(si), "+D"(di)
		     :
		     : "memory");
	r[0] = c;
	r[1] = si;
	r[2] = di;
	return pf_count != 0;
}

static int pf_was(uint32_t err, uint32_t cr2)
{
	int good = pf_last.vector == VEC_PF && pf_last.error_code == err &&
		   pf_last.cr2 == cr2 && pf_last.eip == probe_insn;

	if (!good)
		ktap_diag("vector %u error %#x cr2 %#x eip %#x (probe %#x)",
			  pf_last.vector, pf_last.error_code, pf_last.cr2,
			  pf_last.eip, probe_insn);
	return good;
}

static uint8_t movs_buf[64];

/*
 * Paging on, the top 4 MiB left unmapped: every access there is the
 * guest's #PF, with the error code and CR2 its page tables give, also for
 * an access that starts below and for the elements of a REP that reach it
 * (SDM 2B "REP": a fault leaves ECX, ESI and EDI at the element); then
 * mapped, the same accesses reach the guest's page.  Under --accel bt the
 * translator's window sits there until the guest maps it (docs/translator.md).
 */
static void test_paging(void)
{
	uint32_t *pd = paging_init(), *below = page_alloc(),
		 *top = page_alloc();
	uint32_t v, c, d, r[3], i, all;

	below[0x3fc] = 0xb0b0;
	top[0] = 0x70b0;
	map_page(pd, BELOW_TOP, (uint32_t)below, PTE_W);
	paging_enable(pd);
	ok(probe_read32(TOP_SLOT, &v) == 1 && pf_was(0, TOP_SLOT),
	   "paging: ring 0 reads 0xffc00000, not mapped: #PF 0");
	ok(probe_write32(TOP_SLOT + 0x10000, 1) == 1 &&
		   pf_was(PF_W, TOP_SLOT + 0x10000),
	   "paging: ring 0 writes 0xffc10000: #PF W");
	ok(probe_read8(0xfffff000u, &v) == 1 && pf_was(0, 0xfffff000u),
	   "paging: ring 0 reads a byte at 0xfffff000: #PF 0");
	ok(probe_read32(TOP_SLOT - 2, &v) == 1 && pf_was(0, TOP_SLOT),
	   "paging: a dword across 0xffc00000 from a mapped page: #PF 0 "
	   "with CR2 0xffc00000");
	ok(rep_stosb(TOP_SLOT - 32, 64, &c, &d) && pf_was(PF_W, TOP_SLOT) &&
		   c == 32 && d == TOP_SLOT,
	   "paging: REP STOSB of 64 bytes from 0xffbfffe0: #PF W at the 33rd, "
	   "ECX 32, EDI 0xffc00000");
	for (i = 0x3f8, all = 1; i < 0x400; i++)
		all &= below[i] == 0x77777777u;
	ok(all, "paging: its first 32 bytes written");
	ok(rep_movsb(TOP_SLOT - 16, (uint32_t)movs_buf, 32, r) &&
		   pf_was(0, TOP_SLOT) && r[0] == 16 && r[1] == TOP_SLOT &&
		   r[2] == (uint32_t)movs_buf + 16 && movs_buf[15] == 0x77,
	   "paging: REP MOVSB of 32 bytes from 0xffbffff0: #PF at the 17th, "
	   "ECX 16, ESI 0xffc00000");

	map_page(pd, TOP_SLOT, (uint32_t)top, PTE_W);
	ok(probe_read32(TOP_SLOT, &v) == 0 && v == 0x70b0 &&
		   rd32(SEL_HIGH_K, 0x100000) == 0x70b0,
	   "paging: 0xffc00000 mapped: flat and based reads see its frame");
	ok(!rep_stosb(TOP_SLOT - 32, 64, &c, &d) && c == 0 &&
		   top[7] == 0x77777777u,
	   "paging: the REP STOSB across it completes");
	ok(probe_read32(0xfffff000u, &v) == 1 && pf_was(0, 0xfffff000u),
	   "paging: 0xfffff000, still not mapped: #PF 0");
	paging_disable();
}

int main(void)
{
	/* flat: ring 0, MOV forms, unharmed, ring 3; based; own limits */
	ktap_plan(NR(spots) + 3 + 1 + 1 + NR(spots) + 4 + 1 + 4 + 3 +
		  NR_OWN_TESTS + NR_PAGING_TESTS);
	pic_init();
	user_init();
	my_gdt_init();

	test_flat_ring0();
	test_unharmed();
	test_flat_ring3();
	test_based();
	test_own_limits();
	test_paging();

	ktap_finish();
}
