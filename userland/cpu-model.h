/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's CPU model: what CPUID shows under every engine (bt86 through
 * BT86_SET_CPUID, KVM through KVM_SET_CPUID2, native QEMU through the -cpu
 * option cpu_model__qemu_cpu() spells), so that one guest sees one CPU.
 * docs/vcpu.md, "The CPU model", says which features and why.
 */
#ifndef BT86_CPU_MODEL_H
#define BT86_CPU_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct cpu_model_leaf {
	uint32_t function;
	uint32_t eax, ebx, ecx, edx;
};

/* The model's leaves (none is indexed by ECX); returns how many. */
size_t cpu_model__leaves(const struct cpu_model_leaf **leaves);

/* The equivalent qemu-system-i386 -cpu argument, for native runs. */
const char *cpu_model__qemu_cpu(void);

#endif
