/*
 * idt.c - the IDT and the C side of trap handling.
 *
 * idt_init() points vectors 0-47 at the stubs of vectors.S through 32-bit
 * interrupt gates (IF is clear while a handler runs) with DPL 0, so INT n
 * from ring 3 gets #GP until a guest raises the gate's DPL.
 */
#include "desc.h"
#include "guest.h"
#include "printf.h"
#include "trap.h"
#include "x86.h"

#define VECTOR_STUB_SIZE 16 /* as in vectors.S */

extern char vector_stubs[];

/* An IDT gate descriptor (SDM Vol. 3A, 6.11, Figure 6-2). */
struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr; /* P, DPL, 0, type */
	uint16_t offset_hi;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static trap_handler_t *handlers[256];

static const char *const exception_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void (*idt_stub(int vector))(void)
{
	return (void (*)(void))(vector_stubs + vector * VECTOR_STUB_SIZE);
}

void idt_set_gate(int vector, void (*entry)(void), int type, int dpl)
{
	struct idt_gate *g = &idt[vector & 0xff];
	uint32_t off = (uint32_t)entry;

	g->offset_lo = off & 0xffff;
	g->selector = SEL_KCODE;
	g->zero = 0;
	g->type_attr = 0x80 | (dpl & 3) << 5 | (type & 0xf);
	g->offset_hi = off >> 16;
}

void idt_init(void)
{
	struct dtr d;
	int v;

	for (v = 0; v < NR_STUB_VECTORS; v++)
		idt_set_gate(v, idt_stub(v), GATE_INTR32, 0);
	d.limit = sizeof(idt) - 1;
	d.base = (uint32_t)idt;
	lidt(&d);
}

void trap_set_handler(int vector, trap_handler_t *fn)
{
	vector &= 0xff;
	if (!(idt[vector].type_attr & 0x80))
		idt_set_gate(vector, idt_stub(vector), GATE_INTR32, 0);
	handlers[vector] = fn;
}

void trap_dispatch(struct trap_frame *f)
{
	trap_handler_t *fn = handlers[f->vector & 0xff];
	const char *name = "";

	if (fn) {
		fn(f);
		return;
	}
	if (f->vector < 32 && exception_names[f->vector])
		name = exception_names[f->vector];
	printf("Bail out! unexpected vector %u %s error 0x%x at %04x:%08x\n",
	       f->vector, name, f->error_code, f->cs, f->eip);
	exit(1);
}
