/*
 * relocate - a kernel mapping the top of its address space, slot after slot,
 * while its code runs: what every PC must do, and what makes bt86's
 * translator move its window (docs/translator.md, "Where the window
 * sits"): the window takes the highest 4 MiB slot the guest's page
 * directories leave empty and moves when the guest maps that slot.  Each
 * result is one the architecture guarantees (Intel SDM Vol. 3A, chapter 4):
 *
 *   top         after code ran: pages at 0xffc00000, 0xffc01000 (where a
 *               window keeps its per-vCPU page), code at 0xffc10000 (its
 *               translation cache) and 0xfffff000, read, written and run;
 *               indirect calls still return right; ring 3 gets #PF P|U on
 *               the supervisor page
 *   next slot   0xff800000-0xffbfffff mapped by a LOCK OR of the PDE (a
 *               page-table write no emulator of plain MOVs does)
 *   below       the slot below those two, not mapped: #PF with exact error
 *               codes and CR2 at ring 0 and ring 3, reads and writes
 *   spaces      three address spaces with different top mappings, switched
 *               with MOV CR3 again and again; a page directory that is not
 *               the current one gains a mapping in the highest slot all
 *               three leave empty, then the current one does
 *   large page  a 4 MiB page (CR4.PSE) in the highest empty slot
 *   full        an address space mapping every slot but one (slot 16 at
 *               0x04000000), from a page directory of its own: reads on
 *               both sides of the free slot and far above it, ring 3's #PF
 *               (error 4) in it, code and indirect calls run there
 *   paging off  back to paging off: code runs on
 *
 * Ring 0 never touches the slot where bt86's policy puts the window at
 * that moment, the highest one no page directory used so far maps (QEMU's
 * TCG checks no segment limits, so under plain --accel bt a ring-0 access
 * there would reach the window: the window guest covers that slot under
 * --bt-checked); ring 3 does, and gets its #PF.  Nothing printed depends
 * on an address or a timing.
 */
#include "guest.h"

#define NOINLINE __attribute__((noinline, noclone))

#define SLOT(n)	   ((uint32_t)(n) << 22)
#define TOP_4M	   0xffc00000u
#define TOP_VP2	   0xffc01000u
#define TOP_TC	   0xffc10000u
#define TOP_PAGE   0xfffff000u
#define NEXT_4M	   0xff800000u
#define NEXT_TOP   0xffbff000u
#define BELOW	   0xff400000u /* slot 1021 */
#define FREE_SLOT  16u	       /* the one slot the "full" space leaves */
#define KMAP_SLOTS (KMAP_END >> 22)

static uint32_t *pd_a, *pd_b, *pd_c;

/* --- frames and probes ------------------------------------------------------------ */

/* A frame whose first word is @tag and last word ~@tag. */
static uint32_t frame_new(uint32_t tag)
{
	uint32_t *p = page_alloc();

	p[0] = tag;
	p[1023] = ~tag;
	return (uint32_t)p;
}

/* A frame holding "mov $imm, %eax; ret". */
static uint32_t code_frame(uint32_t imm)
{
	uint8_t *p = page_alloc();

	p[0] = 0xb8;
	memcpy(p + 1, &imm, 4);
	p[5] = 0xc3;
	return (uint32_t)p;
}

/* The dword at @lin, or 0xdead0000 | error code when the read faults. */
static uint32_t tag_at(uint32_t lin)
{
	uint32_t v;

	if (probe_read32(lin, &v))
		return 0xdead0000u | pf_last.error_code;
	return v;
}

/* What "mov $imm, %eax; ret" at @lin returns, or 0xdead0000 | error. */
static uint32_t run_at(uint32_t lin)
{
	uint32_t v;

	if (probe_exec(lin, &v))
		return 0xdead0000u | pf_last.error_code;
	return v;
}

/* Was the last probe's fault this one: @err, at @cr2, at the probe? */
static int fault_was(uint32_t err, uint32_t cr2)
{
	int good = pf_last.vector == VEC_PF && pf_last.error_code == err &&
		   pf_last.cr2 == cr2 && pf_last.eip == probe_insn;

	if (!good)
		ktap_diag("vector %u error %#x cr2 %#x eip %#x (probe %#x)",
			  pf_last.vector, pf_last.error_code, pf_last.cr2,
			  pf_last.eip, probe_insn);
	return good;
}

/* Ring 3: one read or write, and whether it faulted. */
static struct {
	int write;
	uint32_t addr, val;
	int faulted;
} uprobe;

static int uprobe_task(void *arg)
{
	(void)arg;
	if (uprobe.write)
		uprobe.faulted = probe_write32(uprobe.addr, uprobe.val);
	else
		uprobe.faulted = probe_read32(uprobe.addr, &uprobe.val);
	return 0;
}

static int user_probe(int write, uint32_t addr)
{
	uprobe.write = write;
	uprobe.addr = addr;
	uprobe.val = 0x5eed;
	uprobe.faulted = -1;
	user_run(uprobe_task, NULL);
	return uprobe.faulted;
}

/* --- code that runs between the mappings ----------------------------------------- */

static int NOINLINE f0(int x)
{
	return x + 1;
}

static int NOINLINE f1(int x)
{
	return x * 3;
}

static int NOINLINE f2(int x)
{
	return x ^ 0x55;
}

static int NOINLINE f3(int x)
{
	return x - 7;
}

static int (*const volatile fns[4])(int) = { f0, f1, f2, f3 };

/* 256 indirect calls and returns through four functions: 1 if all right. */
static int calls_right(void)
{
	int i, acc = 1, want = 1;

	for (i = 0; i < 256; i++) {
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
	return acc == want;
}

/* The highest slot none of @n page directories maps. */
static uint32_t highest_free(uint32_t **pds, int n)
{
	uint32_t s;
	int i, used;

	for (s = 1023; s; s--) {
		for (i = 0, used = 0; i < n; i++)
			used |= pds[i][s] & PTE_P;
		if (!used)
			return s;
	}
	return 0;
}

/* --- the top slot ------------------------------------------------------------------ */

static NOINLINE void test_top(void)
{
	uint32_t f0 = frame_new(0x70c0), f1 = frame_new(0x70c1),
		 f2 = frame_new(0x70c2), c = code_frame(0x70c0de);

	ok(calls_right(), "top: indirect calls before the mappings");
	map_page(pd_a, TOP_4M, f0, PTE_W);
	map_page(pd_a, TOP_VP2, f1, PTE_W);
	map_page(pd_a, TOP_TC, c, 0);
	map_page(pd_a, TOP_PAGE, f2, PTE_W);
	ok(tag_at(TOP_4M) == 0x70c0 && tag_at(TOP_VP2) == 0x70c1 &&
		   tag_at(TOP_PAGE) == 0x70c2 &&
		   tag_at(TOP_PAGE + 0xffc) == ~0x70c2u,
	   "top: 0xffc00000, 0xffc01000 and 0xfffff000 read their frames");
	ok_eq(run_at(TOP_TC), 0x70c0de, "top: code at 0xffc10000 runs");
	ok(probe_write32(TOP_4M + 4, 0x11111111) == 0 &&
		   probe_write32(TOP_VP2 + 0xff8, 0x22222222) == 0 &&
		   probe_write32(TOP_PAGE + 8, 0x33333333) == 0 &&
		   ((uint32_t *)f0)[1] == 0x11111111 &&
		   ((uint32_t *)f1)[1022] == 0x22222222 &&
		   ((uint32_t *)f2)[2] == 0x33333333,
	   "top: writes land in the guest's frames");
	ok(calls_right(), "top: indirect calls after the mappings");
	ok(user_probe(0, TOP_PAGE) == 1 &&
		   pf_last.error_code == (PF_P | PF_U) &&
		   pf_last.cr2 == TOP_PAGE,
	   "top: ring 3 reads the supervisor page at 0xfffff000: #PF P|U");
	ok(user_probe(1, TOP_4M + 0x10) == 1 &&
		   pf_last.error_code == (PF_P | PF_W | PF_U) &&
		   pf_last.cr2 == TOP_4M + 0x10,
	   "top: ring 3 writes the supervisor page at 0xffc00000: #PF P|W|U");
}

/* --- the next slot, by a locked read-modify-write of the PDE ----------------------- */

static NOINLINE void test_next(void)
{
	uint32_t *pt = page_alloc(), f = frame_new(0x7e57),
		 c = code_frame(0x7e57c0de), pde;

	pt[(NEXT_4M >> 12) & 1023] = f | PTE_P | PTE_W;
	pt[(NEXT_TOP >> 12) & 1023] = c | PTE_P;
	pde = (uint32_t)pt | PTE_P | PTE_W | PTE_U;
	asm volatile("lock orl %1, %0"
		     : "+m"(pd_a[NEXT_4M >> 22])
		     : "r"(pde)
		     : "memory");
	ok(tag_at(NEXT_4M) == 0x7e57 && tag_at(TOP_PAGE) == 0x70c2,
	   "next slot: 0xff800000 reads its frame, 0xfffff000 still its own");
	ok_eq(run_at(NEXT_TOP), 0x7e57c0de,
	      "next slot: code at 0xffbff000 runs");
	ok(probe_write32(NEXT_4M + 0x10, 0x44444444) == 0 &&
		   ((uint32_t *)f)[4] == 0x44444444,
	   "next slot: a write lands in its frame");
	ok(calls_right(), "next slot: indirect calls after the mapping");
}

/* --- the slot below: nothing mapped ------------------------------------------------- */

static NOINLINE void test_below(void)
{
	uint32_t top = BELOW - 4, v;

	ok(probe_read32(top, &v) == 1 && fault_was(0, top),
	   "below: ring 0 reads 0xff3ffffc: #PF 0");
	ok(probe_write32(top, 1) == 1 && fault_was(PF_W, top),
	   "below: ring 0 writes 0xff3ffffc: #PF W");
	ok(probe_read32(BELOW - SLOT(1), &v) == 1 &&
		   fault_was(0, BELOW - SLOT(1)),
	   "below: ring 0 reads 0xff000000: #PF 0");
	ok(user_probe(0, top) == 1 && pf_last.error_code == PF_U &&
		   pf_last.cr2 == top,
	   "below: ring 3 reads 0xff3ffffc: #PF U");
	ok(user_probe(1, top) == 1 && pf_last.error_code == (PF_W | PF_U) &&
		   pf_last.cr2 == top,
	   "below: ring 3 writes 0xff3ffffc: #PF W|U");
	/* Ring 3 in the highest empty slot, where bt86's window now is. */
	ok(user_probe(0, BELOW) == 1 && pf_last.error_code == PF_U &&
		   pf_last.cr2 == BELOW,
	   "below: ring 3 reads 0xff400000: #PF U");
	ok(user_probe(1, BELOW + 0x10000) == 1 &&
		   pf_last.error_code == (PF_W | PF_U) &&
		   pf_last.cr2 == BELOW + 0x10000,
	   "below: ring 3 writes 0xff410000: #PF W|U");
}

/* --- address spaces with different top mappings ----------------------------------- */

/* Reads what each space should read at 0xfffff000 and 0xff800000. */
static int space_reads(uint32_t *pd, uint32_t top, uint32_t next)
{
	uint32_t v;

	write_cr3((uint32_t)pd);
	if (tag_at(TOP_PAGE) != top)
		return 0;
	if (next)
		return tag_at(NEXT_4M) == next;
	return probe_read32(NEXT_4M, &v) == 1 && fault_was(0, NEXT_4M);
}

static NOINLINE void test_spaces(void)
{
	uint32_t *pds[3], w, fb = frame_new(0x5b), fc = frame_new(0x5c),
			     fc2 = frame_new(0x5c2), fw = frame_new(0x5d),
			     fw2 = frame_new(0x5e), fw3 = frame_new(0x5f), v;
	int i, right = 0;

	pd_b = pd_new();
	pd_c = pd_new();
	map_page(pd_b, TOP_PAGE, fb, PTE_W);
	map_page(pd_c, TOP_PAGE, fc, PTE_W);
	map_page(pd_c, NEXT_4M, fc2, PTE_W);
	for (i = 0; i < 10; i++)
		right += space_reads(pd_a, 0x70c2, 0x7e57) &&
			 space_reads(pd_b, 0x5b, 0) &&
			 space_reads(pd_c, 0x5c, 0x5c2) && calls_right();
	ok_eq(right, 10,
	      "spaces: three spaces switched ten times, each "
	      "reads its own top pages");

	/* Not the current space: it maps the highest slot all three leave. */
	pds[0] = pd_a;
	pds[1] = pd_b;
	pds[2] = pd_c;
	w = SLOT(highest_free(pds, 3));
	write_cr3((uint32_t)pd_b);
	map_page(pd_c, w, fw, PTE_W);
	/* At ring 3: bt86's window is still in this space's slot. */
	ok(user_probe(0, w) == 1 && pf_last.error_code == PF_U &&
		   pf_last.cr2 == w,
	   "spaces: another space maps the highest empty slot: ring 3 here "
	   "gets #PF U there");
	write_cr3((uint32_t)pd_c);
	ok(tag_at(w) == 0x5d && calls_right(),
	   "spaces: switched to it, it reads its frame there");
	write_cr3((uint32_t)pd_b);
	ok(probe_read32(w, &v) == 1 && fault_was(0, w),
	   "spaces: switched back, ring 0 reads nothing there");
	map_page(pd_b, w, fw2, PTE_W);
	ok(tag_at(w) == 0x5e && calls_right(),
	   "spaces: this space maps it too: its own frame");
	write_cr3((uint32_t)pd_c);
	ok(tag_at(w) == 0x5d, "spaces: and the other space still its own");

	/* The current space maps the highest slot all three leave. */
	w = SLOT(highest_free(pds, 3));
	map_page(pd_c, w + 0x3ff000, fw3, PTE_W);
	ok(tag_at(w + 0x3ff000) == 0x5f && calls_right(),
	   "spaces: the current space maps the highest empty slot: its frame");
	write_cr3((uint32_t)pd_a);
	ok(probe_read32(w + 0x3ff000, &v) == 1 && fault_was(0, w + 0x3ff000) &&
		   calls_right(),
	   "spaces: the first space has nothing there");
}

/* --- a 4 MiB page in the highest empty slot ----------------------------------------- */

static NOINLINE void test_large(void)
{
	uint32_t *pds[3] = { pd_a, pd_b, pd_c }, w,
		 *frame = (uint32_t *)LFRAME(0);

	frame[0] = 0x4a;
	frame[0x3ff000 / 4] = 0x4b;
	w = SLOT(highest_free(pds, 3));
	write_cr4(read_cr4() | CR4_PSE);
	pd_a[w >> 22] = LFRAME(0) | PTE_P | PTE_W | PTE_PS;
	ok(tag_at(w) == 0x4a && tag_at(w + 0x3ff000) == 0x4b,
	   "large page: a 4 MiB page in the highest empty slot reads its frame");
	ok(probe_write32(w + 0x10010, 0x4c) == 0 &&
		   frame[0x10010 / 4] == 0x4c && calls_right(),
	   "large page: a write lands in it");
}

/* --- every slot but one ------------------------------------------------------------- */

static NOINLINE void test_full(void)
{
	uint32_t *pd = pd_new(), *pt = page_alloc(), f = frame_new(0xf0f0), s,
		 c = code_frame(0xf0c0de), v;

	for (s = 0; s < 1024; s++)
		pt[s] = (s == 1 ? c : f) | PTE_P | PTE_W;
	for (s = KMAP_SLOTS; s < 1024; s++)
		if (s != FREE_SLOT)
			pd[s] = (uint32_t)pt | PTE_P | PTE_W | PTE_U;
	write_cr3((uint32_t)pd);
	ok(tag_at(TOP_PAGE) == 0xf0f0 &&
		   tag_at(SLOT(FREE_SLOT) - 4) == ~0xf0f0u &&
		   tag_at(SLOT(FREE_SLOT + 1)) == 0xf0f0 &&
		   tag_at(0x80000000u) == 0xf0f0,
	   "full: every slot but 16 reads the frame, on both sides of it");
	ok(run_at(SLOT(FREE_SLOT + 1) + PAGE_SIZE) == 0xf0c0de &&
		   run_at(SLOT(1023) + PAGE_SIZE) == 0xf0c0de && calls_right(),
	   "full: code runs above it, and in the kernel");
	ok(user_probe(0, SLOT(FREE_SLOT)) == 1 && pf_last.error_code == PF_U &&
		   pf_last.cr2 == SLOT(FREE_SLOT),
	   "full: ring 3 reads 0x04000000: #PF U");
	ok(probe_write32(SLOT(FREE_SLOT) - 8, 0xf1) == 0 &&
		   ((uint32_t *)f)[1022] == 0xf1 &&
		   probe_read32(SLOT(200), &v) == 0 && v == 0xf0f0,
	   "full: a write below it lands in the frame");
	write_cr3((uint32_t)pd_a);
	ok(tag_at(TOP_PAGE) == 0x70c2 && calls_right(),
	   "full: back in the first space");
}

int main(void)
{
	ktap_plan(35);
	pic_init(); /* the BIOS's PIC sends IRQ 0 to vector 8: mask it */
	pd_a = paging_init();
	user_init();
	ok(calls_right(), "paging off: indirect calls");
	paging_enable(pd_a);

	test_top();
	test_next();
	test_below();
	test_spaces();
	test_large();
	test_full();

	paging_disable();
	ok(calls_right(), "paging off again: indirect calls");
	ktap_finish();
}
