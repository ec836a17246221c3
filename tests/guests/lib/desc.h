/*
 * desc.h - segment descriptors, the GDT and the IDT.
 *
 * The runtime's GDT (flat 4 GiB segments, Intel SDM Vol. 3A, 3.4.5):
 *
 *	index  selector  what
 *	  0     0x00     null descriptor (the CPU never uses entry 0)
 *	  1     0x08     kernel code, DPL 0, 32-bit, execute/read
 *	  2     0x10     kernel data, DPL 0, 32-bit, read/write
 *	  3     0x1b     user code,   DPL 3 (selector with RPL 3)
 *	  4     0x23     user data,   DPL 3
 *	  5-7            free (null): for a TSS or a guest's own tests
 *
 * The IDT has 256 gates; idt_init() fills 0-47 (the exceptions and the 16
 * PIC interrupts at 0x20-0x2f) and trap_set_handler() any other vector.
 */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

#include <stdint.h>

#define GDT_ENTRIES 8
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE   (0x18 | 3)
#define SEL_UDATA   (0x20 | 3)
#define GDT_FREE    5 /* first free index */

/* Selector fields (SDM Vol. 3A, 3.4.2): index, table indicator, RPL. */
#define SEL(index, ti, rpl) (((index) << 3) | ((ti) << 2) | (rpl))
#define SEL_TI_LDT	    (1 << 2)

/* Access byte of a segment descriptor (SDM Vol. 3A, 3.4.5). */
#define DESC_P	     0x80 /* present */
#define DESC_DPL(n)  ((n) << 5)
#define DESC_S	     0x10 /* code or data (not system) */
#define DESC_CODE_XR 0x0a /* execute/read */
#define DESC_DATA_RW 0x02 /* read/write */
#define DESC_TSS32   0x09 /* available 32-bit TSS (system) */
/* Flags nibble: granularity (limit in 4 KiB units), default size 32-bit. */
#define DESC_G	0x8
#define DESC_DB 0x4

/* Gate types in the IDT (SDM Vol. 3A, 6.11). */
#define GATE_INTR32 0xe /* clears IF on entry */
#define GATE_TRAP32 0xf /* leaves IF alone */

/* Build an 8-byte segment descriptor; limit is the raw 20-bit field. */
uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);

extern uint64_t gdt[GDT_ENTRIES];

/* Load gdt[] into GDTR and reload CS, DS, ES, FS, GS, SS; LDTR = null. */
void gdt_init(void);

/* Point IDT gate @vector at @entry, with gate @type and @dpl. */
void idt_set_gate(int vector, void (*entry)(void), int type, int dpl);

/* The runtime's entry stub for @vector (vectors.S), for idt_set_gate(). */
void (*idt_stub(int vector))(void);

/* Install gates 0-47 to the runtime's stubs and load IDTR. */
void idt_init(void);

#endif /* GUEST_DESC_H */
