/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TLB instructions shadow paging uses, in one place: built for the
 * monitor they are the CPU's; built for tests/unit/test-shadow.c, where
 * there is no TLB to flush, they do nothing.
 */
#ifndef BT86_SHADOW_HW_H
#define BT86_SHADOW_HW_H

#include <stdint.h>

#ifdef BT86_SHADOW_UNIT_TEST
static inline void sh_hw_invlpg(uint64_t addr)
{
	(void)addr;
}

static inline void sh_hw_flush(void)
{
}
#else
static inline void sh_hw_invlpg(uint64_t addr)
{
	asm volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

/* Reload CR3: every non-global translation goes (the monitor has none). */
static inline void sh_hw_flush(void)
{
	uint64_t cr3;

	asm volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}
#endif

#endif /* BT86_SHADOW_HW_H */
