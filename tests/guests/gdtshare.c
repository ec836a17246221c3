/*
 * gdtshare - a GDT that shares its page with data written all the time.
 *
 * Linux's decompressor keeps its GDT in the page where its heap starts. A
 * monitor that write-protects the GDT's page to keep a shadow GDT exact
 * sees every one of those writes; bt86 stops tracing such a GDT
 * (monitor/desc_lazy.c).  Whatever a monitor does, the CPU's rule holds
 * (SDM 3A §3.4.3): a descriptor is read when a segment register is
 * loaded, so a load right after an edit uses the new descriptor.  This
 * guest writes the rest of its GDT's page thousands of times, then edits
 * descriptors and loads them at once: at ring 0 (MOV and POP to FS, MOV
 * to DS), a descriptor made not present (#NP), at ring 3, with paging
 * off and on, and after MOV CR3.
 *
 * Every value on an "ok" line is a constant.
 */
#include "guest.h"
#include "pgtable.h"
#include "pic.h"

#define NR_TESTS 14

enum {
	G_K = GDT_ENTRIES,
	G_U,
	G_N
}; /* after the runtime's entries */
#define KSEL ((G_K) << 3)
#define USEL (((G_U) << 3) | 3)

/* One page: the GDT, then data the guest keeps writing. */
static struct {
	uint64_t gdt[G_N];
	volatile uint32_t data[(4096 - G_N * 8) / 4];
} shared __attribute__((aligned(4096)));

static uint32_t cells[4] = { 0xce110000, 0xce110001, 0xce110002, 0xce110003 };

static volatile uint32_t np_error; /* the #NP's error code, or 0 */

static uint64_t data_desc(const uint32_t *base, int dpl)
{
	return seg_desc((uint32_t)base, 3,
			DESC_P | DESC_DPL(dpl) | DESC_S | DESC_DATA_RW | 1,
			DESC_DB);
}

/* Writes next to the table: far more than any monitor's flood limit. */
static void churn(void)
{
	uint32_t i;

	for (i = 0; i < 4000; i++)
		shared.data[i % 64] += i;
}

static void load_gdt(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed))
	d = { sizeof(shared.gdt) - 1, (uint32_t)shared.gdt };

	asm volatile("lgdt %0" : : "m"(d) : "memory");
}

/* How edit_and_load() loads the descriptor it edited. */
enum load {
	BY_MOV_FS,
	BY_POP_FS,
	BY_MOV_DS
};

/*
 * Edit the ring-0 descriptor to @base, load it at once (@how) and read
 * the first dword of its segment; the register goes back to what it held.
 */
static uint32_t edit_and_load(const uint32_t *base, enum load how)
{
	uint32_t v;

	shared.gdt[G_K] = data_desc(base, 0);
	if (how == BY_MOV_FS)
		asm volatile("mov %1, %%fs\n\tmov %%fs:0, %0\n\tmov %2, %%fs"
			     : "=&r"(v)
			     : "r"(KSEL), "r"(0)
			     : "memory");
	else if (how == BY_POP_FS)
		asm volatile(
			"push %1\n\tpop %%fs\n\tmov %%fs:0, %0\n\tmov %2, %%fs"
			: "=&r"(v)
			: "r"(KSEL), "r"(0)
			: "memory");
	else
		asm volatile("mov %1, %%ds\n\tmov %%ds:0, %0\n\tmov %2, %%ds"
			     : "=&r"(v)
			     : "r"(KSEL), "r"(SEL_KDATA)
			     : "memory");
	return v;
}

static void catch_np(struct trap_frame *f)
{
	np_error = f->error_code;
	f->eip += 3; /* mov %eax, %fs: 8e e0, then a one-byte nop */
	f->fs = 0;
}

/* A descriptor made not present: the load faults with #NP(selector). */
static uint32_t edit_not_present(void)
{
	shared.gdt[G_K] = data_desc(&cells[0], 0) & ~(1ULL << 47);
	np_error = 0;
	trap_set_handler(VEC_NP, catch_np);
	asm volatile("mov %0, %%fs\n\tnop" : : "a"(KSEL) : "memory");
	trap_set_handler(VEC_NP, NULL);
	return np_error;
}

static int ring3_read(void *arg)
{
	uint32_t v;

	(void)arg;
	asm volatile("mov %1, %%fs\n\tmov %%fs:0, %0"
		     : "=&r"(v)
		     : "r"(USEL)
		     : "memory");
	return (int)v;
}

static void ring0_tests(const char *when)
{
	churn();
	ok_eq(edit_and_load(&cells[1], BY_MOV_FS), 0xce110001,
	      "%s: MOV FS right after an edit uses it", when);
	churn();
	ok_eq(edit_and_load(&cells[2], BY_POP_FS), 0xce110002,
	      "%s: POP FS right after an edit uses it", when);
	churn();
	ok_eq(edit_and_load(&cells[3], BY_MOV_DS), 0xce110003,
	      "%s: MOV DS right after an edit uses it", when);
	churn();
	ok_eq(edit_not_present(), KSEL,
	      "%s: a descriptor made not present: #NP(selector)", when);
	churn();
	ok_eq(edit_and_load(&cells[0], BY_MOV_FS), 0xce110000,
	      "%s: present again, loaded at once", when);
}

int main(void)
{
	uint32_t *pd;
	int i;

	ktap_plan(NR_TESTS);
	pic_init(); /* ring 3 runs with IF set: no IRQ on an exception vector */
	user_init();
	for (i = 0; i < GDT_ENTRIES; i++)
		shared.gdt[i] = gdt[i];
	shared.gdt[G_K] = data_desc(&cells[0], 0);
	shared.gdt[G_U] = data_desc(&cells[0], 3);
	load_gdt();

	ring0_tests("paging off");
	churn();
	shared.gdt[G_U] = data_desc(&cells[2], 3);
	ok_eq(user_run(ring3_read, NULL), 0xce110002,
	      "paging off: ring 3 loads the descriptor ring 0 just edited");
	churn();
	ok_eq(edit_and_load(&cells[3], BY_MOV_FS), 0xce110003,
	      "paging off: back from ring 3, an edit and a load");

	pd = paging_init();
	paging_enable(pd);
	ring0_tests("paging on");
	churn();
	write_cr3(read_cr3());
	ok_eq(edit_and_load(&cells[1], BY_MOV_FS), 0xce110001,
	      "paging on: after MOV CR3, an edit and a load");
	churn();
	ok_eq(shared.data[5] != 0, 1, "the data next to the table was written");
	paging_disable();

	gdt_init();
	ktap_finish();
}
