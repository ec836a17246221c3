/*
 * x86.h - one inline per instruction the test guests need.
 *
 * Port I/O (IN/OUT and their string forms), interrupt flag control, HLT,
 * descriptor-table loads and a few register reads.  Everything here runs at
 * CPL 0 in 32-bit protected mode with flat segments.
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdint.h>

/* EFLAGS bits (Intel SDM Vol. 1, 3.4.3). */
#define EFLAGS_CF    (1u << 0)
#define EFLAGS_FIXED (1u << 1) /* reserved, always reads as 1 */
#define EFLAGS_ZF    (1u << 6)
#define EFLAGS_TF    (1u << 8)
#define EFLAGS_IF    (1u << 9)
#define EFLAGS_DF    (1u << 10)
#define EFLAGS_IOPL  (3u << 12)

/* --- port I/O ------------------------------------------------------------ */

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

/* REP INS/OUTS: count elements between port and memory, ascending (DF=0). */
static inline void insb(uint16_t port, void *buf, uint32_t count)
{
	asm volatile("cld; rep insb"
		     : "+D"(buf), "+c"(count)
		     : "d"(port)
		     : "memory");
}

static inline void insw(uint16_t port, void *buf, uint32_t count)
{
	asm volatile("cld; rep insw"
		     : "+D"(buf), "+c"(count)
		     : "d"(port)
		     : "memory");
}

static inline void insl(uint16_t port, void *buf, uint32_t count)
{
	asm volatile("cld; rep insl"
		     : "+D"(buf), "+c"(count)
		     : "d"(port)
		     : "memory");
}

static inline void outsb(uint16_t port, const void *buf, uint32_t count)
{
	asm volatile("cld; rep outsb"
		     : "+S"(buf), "+c"(count)
		     : "d"(port)
		     : "memory");
}

static inline void outsw(uint16_t port, const void *buf, uint32_t count)
{
	asm volatile("cld; rep outsw"
		     : "+S"(buf), "+c"(count)
		     : "d"(port)
		     : "memory");
}

static inline void outsl(uint16_t port, const void *buf, uint32_t count)
{
	asm volatile("cld; rep outsl"
		     : "+S"(buf), "+c"(count)
		     : "d"(port)
		     : "memory");
}

/* --- interrupts and halting ---------------------------------------------- */

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void hlt(void)
{
	asm volatile("hlt" : : : "memory");
}

/*
 * Wait for one interrupt with IF=0 before and after.  STI delays interrupt
 * recognition until after the next instruction (SDM Vol. 2B, STI), so an
 * interrupt that is already pending wakes HLT instead of being lost between
 * the caller's check and the HLT.
 */
static inline void wait_for_interrupt(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

static inline void pause(void)
{
	asm volatile("pause" : : : "memory");
}

static inline uint32_t read_eflags(void)
{
	uint32_t v;

	asm volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

static inline void write_eflags(uint32_t v)
{
	asm volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc");
}

/* --- descriptor tables and segment registers ------------------------------ */

/* The 6-byte operand of LGDT/LIDT (SDM Vol. 3A, 2.4.1 and 6.10). */
struct dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static inline void lgdt(const struct dtr *d)
{
	asm volatile("lgdt %0" : : "m"(*d));
}

static inline void lidt(const struct dtr *d)
{
	asm volatile("lidt %0" : : "m"(*d));
}

static inline void lldt(uint16_t sel)
{
	asm volatile("lldt %0" : : "r"(sel));
}

static inline void ltr(uint16_t sel)
{
	asm volatile("ltr %0" : : "r"(sel));
}

static inline void sgdt(struct dtr *d)
{
	asm volatile("sgdt %0" : "=m"(*d));
}

static inline void sidt(struct dtr *d)
{
	asm volatile("sidt %0" : "=m"(*d));
}

static inline uint16_t read_cs(void)
{
	uint16_t v;

	asm volatile("mov %%cs, %0" : "=r"(v));
	return v;
}

static inline uint16_t read_ds(void)
{
	uint16_t v;

	asm volatile("mov %%ds, %0" : "=r"(v));
	return v;
}

static inline uint16_t read_ss(void)
{
	uint16_t v;

	asm volatile("mov %%ss, %0" : "=r"(v));
	return v;
}

static inline uint16_t read_fs(void)
{
	uint16_t v;

	asm volatile("mov %%fs, %0" : "=r"(v));
	return v;
}

static inline uint16_t sldt(void)
{
	uint16_t v;

	asm volatile("sldt %0" : "=r"(v));
	return v;
}

static inline uint16_t str(void)
{
	uint16_t v;

	asm volatile("str %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr0(void)
{
	uint32_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

#endif /* GUEST_X86_H */
