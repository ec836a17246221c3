// SPDX-License-Identifier: GPL-2.0
/*
 * Traced guest pages: guest-physical pages whose writes the monitor must
 * see before guest code goes on, write-protected in the monitor's page
 * tables.  A page is traced for one or more reasons:
 *
 *   TRACE_CODE  it holds code of a live translation (bt_pages.c)
 *   TRACE_DESC  it holds part of the guest's GDT or LDT (desc_shadow.c)
 *
 * Each owner keeps its own record of its pages and calls trace_sync() when
 * a page's reason comes or goes; the page is writable only with no reason
 * left.  A write fault on a traced page goes to the owner: the descriptor
 * tables first (their handler also drops translations in the page, and
 * re-protects it after the write), else the translator's.
 *
 * With guest paging off, guest-physical is linear and the PTEs written here
 * are guest RAM's own, which the module maps for the monitor at x->bt.gpt
 * in both modes.  Shadow paging replaces trace_sync()'s body (protect every
 * shadow PTE that maps the frame) and nothing else: the owners speak in
 * guest frames.
 */
#include "bt_monitor.h"
#include "page_trace.h"

#define PTE_RW (1ULL << 1)

static u64 *ram_pte(struct bt86_xdata *x, u32 gfn)
{
	return (u64 *)(uintptr_t)(x->bt.gpt + 8ULL * gfn);
}

static void invlpg(u32 addr)
{
	asm volatile("invlpg (%0)" : : "r"((u64)addr) : "memory");
}

unsigned int trace_reasons(struct bt86_xdata *x, u32 gfn)
{
	unsigned int r = 0;

	if (x->bt.ready && bt_page_traced(x, gfn))
		r |= TRACE_CODE;
	if (desc_page_traced(x, gfn))
		r |= TRACE_DESC;
	return r;
}

void trace_sync(struct bt86_xdata *x, u32 gfn)
{
	u64 *pte;

	if ((u64)gfn << 12 >= x->ram_end || !x->bt.gpt)
		return;
	pte = ram_pte(x, gfn);
	if (trace_reasons(x, gfn))
		*pte &= ~PTE_RW;
	else
		*pte |= PTE_RW;
	invlpg(gfn << 12);
}

long trace_write_fault(struct bt86_xdata *x, u32 gpa)
{
	unsigned int r = trace_reasons(x, gpa >> 12);

	if (r & TRACE_DESC)
		return desc_write_fault(x, gpa);
	if (r & TRACE_CODE)
		return bt_write_fault(x, gpa);
	return -1;
}
