/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traced guest pages (page_trace.c): write-protected guest frames and why.
 */
#ifndef BT86_PAGE_TRACE_H
#define BT86_PAGE_TRACE_H

#include "monitor.h"

#define TRACE_CODE 1u /* translated code (bt_pages.c) */
#define TRACE_DESC 2u /* the guest's GDT or LDT (desc_shadow.c) */

/* Why guest frame @gfn is traced now: TRACE_* bits, 0 if it is not. */
unsigned int trace_reasons(struct bt86_xdata *x, u32 gfn);

/* A reason for @gfn came or went: its write protection follows. */
void trace_sync(struct bt86_xdata *x, u32 gfn);

/*
 * A write to guest-physical @gpa faulted on its protection: -1 if the
 * frame is not traced (the fault is not ours), else what the owner made of
 * it (0: resume the guest).
 */
long trace_write_fault(struct bt86_xdata *x, u32 gpa);

/* The owners' side. */
bool bt_page_traced(struct bt86_xdata *x, u32 gfn);
bool desc_page_traced(struct bt86_xdata *x, u32 gfn);
long desc_write_fault(struct bt86_xdata *x, u32 gpa);

#endif /* BT86_PAGE_TRACE_H */
