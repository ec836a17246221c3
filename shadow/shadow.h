/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shadow paging, as the rest of the monitor sees it (docs/shadow-paging.md).
 *
 *   walk.c    the guest's page-table walker (also built for unit tests)
 *   pool.c    the module's pool carved into the monitor's data and shadow
 *             table pages; reference lists (reverse maps)
 *   trace.c   write-tracing of guest-physical pages, for page tables,
 *             translated code and descriptor tables
 *   spt.c     shadow page tables: built from the guest's, kept exact
 *   mmu.c     paging modes, the cache of address spaces keyed by CR3,
 *             hidden faults, MOV CR3, INVLPG, guest page-table writes
 *   ptwrite.c the page-table writes the monitor does for the guest
 *   window.c  the translator's window among the guest's mappings
 */
#ifndef BT86_SHADOW_H
#define BT86_SHADOW_H

#include "monitor.h"
#include "walk.h"

/* Why a guest page is write-protected (trace.c); any mix of them. */
#define TRACE_CODE 0x01 /* it holds translated code (monitor/bt_pages.c) */
#define TRACE_PT   0x02 /* it is a guest page table that is shadowed */
#define TRACE_DESC \
	0x04 /* it holds the guest's GDT or LDT (monitor/desc_shadow.c) */

/* mmu.c: the monitor's entry points */
void shadow_load(struct bt86_xdata *x);
void shadow_enter(struct bt86_xdata *x);
bool shadow_active(const struct bt86_xdata *x);
long shadow_page_fault(struct bt86_xdata *x, u32 lin);
void shadow_step_done(struct bt86_xdata *x);
void shadow_step_settle(struct bt86_xdata *x);
void shadow_step_close(struct bt86_xdata *x);
long shadow_ident_write_fault(struct bt86_xdata *x, u32 addr);
fault_t shadow_set_cr0(struct bt86_xdata *x, u32 cr0, long *stop);
fault_t shadow_set_cr3(struct bt86_xdata *x, u32 cr3);
fault_t shadow_set_cr4(struct bt86_xdata *x, u32 cr4);
void shadow_invlpg(struct bt86_xdata *x, u32 lin);
void shadow_set_efer(struct bt86_xdata *x);
void shadow_export_stats(struct bt86_xdata *x);

/*
 * mmu.c: guest linear -> guest physical for an access by the monitor on
 * the guest's behalf (guestmem.c).  0, or the #PF the guest takes, with
 * the address for its CR2 in x->sh.pf_addr.
 */
fault_t shadow_translate(struct bt86_xdata *x, u32 lin, unsigned int acc,
			 u64 *gpa);
/*
 * The monitor's own look for an access @acc: no flags set, nothing raised;
 * false if it would fault.
 */
bool shadow_peek(struct bt86_xdata *x, u32 lin, unsigned int acc, u64 *gpa,
		 bool *global);

/*
 * The page-directory entry that maps @lin now and the page table it names
 * (walk.h, sh_dir_entry()); false with guest paging off.
 */
bool shadow_dir_entry(struct bt86_xdata *x, u32 lin, u64 *pde, u32 *leaf);

/* trace.c */
u8 trace_flags(const struct bt86_xdata *x, u64 gfn);
void trace_add(struct bt86_xdata *x, u32 gfn, u8 why);
void trace_del(struct bt86_xdata *x, u32 gfn, u8 why);

/* spt.c: the monitor wrote guest-physical [gpa, gpa + len) of a PT page */
void shadow_pt_written(struct bt86_xdata *x, u64 gpa, u32 len);

/* window.c: the translator's window among the guest's mappings */
bool shadow_window_busy(struct bt86_xdata *x);
bool shadow_window_pick(struct bt86_xdata *x, u32 *low);
void shadow_window_move(struct bt86_xdata *x, u32 low);

#endif /* BT86_SHADOW_H */
