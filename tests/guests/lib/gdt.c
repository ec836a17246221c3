/*
 * gdt.c - the runtime's GDT: built at start-up, loaded with LGDT, and the
 * segment registers reloaded so that no descriptor cached from the loader's
 * own GDT stays in use (SDM Vol. 3A, 3.4.3: a segment register keeps its
 * hidden part until it is loaded again).
 */
#include "desc.h"
#include "x86.h"

/*
 * Alone in its page (lib/guest.ld), as Linux keeps its gdt_page: a monitor
 * that traces writes to the GDT's page then sees no writes to anything else.
 */
uint64_t gdt[GDT_ENTRIES] __attribute__((section(".bss.gdt_page")));

uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint64_t d;

	d = limit & 0xffff;
	d |= (uint64_t)(base & 0xffffff) << 16;
	d |= (uint64_t)access << 40;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)(flags & 0xf) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

void gdt_init(void)
{
	struct dtr d;
	uint8_t flat = DESC_G | DESC_DB;

	gdt[1] = seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_CODE_XR, flat);
	gdt[2] = seg_desc(0, 0xfffff, DESC_P | DESC_S | DESC_DATA_RW, flat);
	gdt[3] = seg_desc(0, 0xfffff,
			  DESC_P | DESC_DPL(3) | DESC_S | DESC_CODE_XR, flat);
	gdt[4] = seg_desc(0, 0xfffff,
			  DESC_P | DESC_DPL(3) | DESC_S | DESC_DATA_RW, flat);

	d.limit = sizeof(gdt) - 1;
	d.base = (uint32_t)gdt;
	lgdt(&d);

	/* CS only changes through a far transfer. */
	asm volatile("ljmp %0, $1f\n"
		     "1:\n"
		     "movw %1, %%ax\n"
		     "movw %%ax, %%ds\n"
		     "movw %%ax, %%es\n"
		     "movw %%ax, %%fs\n"
		     "movw %%ax, %%gs\n"
		     "movw %%ax, %%ss\n"
		     :
		     : "i"(SEL_KCODE), "i"(SEL_KDATA)
		     : "eax", "memory");

	/* A defined, empty LDTR: LDT selectors then fault with #GP. */
	lldt(0);
}
