// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPU model: a family-6 Intel-compatible 32-bit CPU with only
 * the features bt86 virtualizes correctly (docs/vcpu.md, "The CPU model").
 * Left out, and why:
 *   VME     no virtual-8086 mode in compatibility mode
 *   MCE MCA machine checks belong to the host
 *   APIC    no local APIC: the platform is a PC with two 8259As
 *   SEP     SYSENTER is emulated, but each one traps: int $0x80 is faster
 *   PAT     shadow PTEs would give the guest's PAT index the host's types
 *   MTRR PSE36 SS HTT and everything newer: not emulated
 * Leaf 1's EBX reports a 64-byte CLFLUSH line and APIC ID 0.
 */
#include "cpu-model.h"

/* CPUID.1:EDX bits (SDM 2A, CPUID, table "Feature Information") */
#define FPU   (1u << 0)
#define DE    (1u << 2)
#define PSE   (1u << 3)
#define PAE   (1u << 6)
#define TSC   (1u << 4)
#define MSR   (1u << 5)
#define CX8   (1u << 8)
#define PGE   (1u << 13)
#define CMOV  (1u << 15)
#define CLFSH (1u << 19)
#define MMX   (1u << 23)
#define FXSR  (1u << 24)
#define SSE   (1u << 25)
#define SSE2  (1u << 26)
/* CPUID.0x80000001:EDX */
#define NX (1u << 20)
/* CPUID.1:ECX bits */
#define SSE3	   (1u << 0)
#define HYPERVISOR (1u << 31)

/* Four characters as CPUID returns them in a register. */
#define STR4(a, b, c, d)                                            \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | \
	 (uint32_t)(d) << 24)

static const struct cpu_model_leaf model[] = {
	/* highest basic leaf, "GenuineIntel" in EBX, EDX, ECX */
	{ 0, 1, STR4('G', 'e', 'n', 'u'), STR4('n', 't', 'e', 'l'),
	  STR4('i', 'n', 'e', 'I') },
	/* family 6, model 6, stepping 3 */
	{ 1, 0x663, 8 << 8, SSE3 | HYPERVISOR,
	  FPU | DE | PSE | TSC | MSR | PAE | CX8 | PGE | CMOV | CLFSH | MMX |
		  FXSR | SSE | SSE2 },
	{ 0x80000000, 0x80000004, 0, 0, 0 },
	{ 0x80000001, 0, 0, 0, NX },
	/* the brand string, "bt86 virtual CPU", NUL-padded to 48 bytes */
	{ 0x80000002, STR4('b', 't', '8', '6'), STR4(' ', 'v', 'i', 'r'),
	  STR4('t', 'u', 'a', 'l'), STR4(' ', 'C', 'P', 'U') },
	{ 0x80000003, 0, 0, 0, 0 },
	{ 0x80000004, 0, 0, 0, 0 },
};

size_t cpu_model__leaves(const struct cpu_model_leaf **leaves)
{
	*leaves = model;
	return sizeof(model) / sizeof(model[0]);
}

/*
 * QEMU's qemu32 model has fpu de pse tsc msr pae mce cx8 apic sep pge cmov
 * pat mmx fxsr sse sse2, pni and hypervisor: take away what the model
 * lacks and add CLFLUSH and NX.
 */
const char *cpu_model__qemu_cpu(void)
{
	return "qemu32,vendor=GenuineIntel,family=6,model=6,stepping=3,"
	       "level=1,xlevel=0x80000004,model-id=bt86 virtual CPU,"
	       "-mce,-apic,-sep,-pat,+clflush,+nx";
}
