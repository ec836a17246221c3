/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor's side of the binary translator (docs/translator.md):
 *   bt_run.c      entering translated code, traps and call outs from it
 *   bt_pages.c    keeping translations coherent with the guest pages and
 *                 mappings their code came from
 *   bt_emulate.c  the instructions translated code calls out for
 */
#ifndef BT86_BT_MONITOR_H
#define BT86_BT_MONITOR_H

#include "bt.h"
#include "decode.h"
#include "monitor.h"

/* Linear pages of translated code the monitor keeps records of. */
#define BT_CODE_PAGES 8192
#define BT_CODE_HASH  1024

/* One linear page that holds translated code, and its guest frame. */
struct bt_code_page {
	u32 lin; /* page address, | 1 if the mapping was global */
	u32 gfn;
	u32 lnext, gnext; /* hash chains by linear page and by frame */
	u32 uprev, unext; /* the records in use, oldest first; free list */
};

/* bt_code_tlb(): what a TLB flush drops */
#define BT_TLB_PAGE	 0 /* INVLPG of one page */
#define BT_TLB_NONGLOBAL 1 /* MOV to CR3 */
#define BT_TLB_ALL	 2 /* paging mode changes, CR4.PGE */

/* Write faults at one EIP before its instruction becomes a call out. */
#define BT_HOT_FAULTS 3
#define BT_HOT_SLOTS  256

/*
 * The monitor's metadata, at x->bt.meta (above 4 GiB, BT_META_SIZE bytes):
 * this header, then the block descriptors, the map and the hash.
 */
struct bt_meta {
	struct bt_cache cache;
	struct decoded_insn scratch;
	struct bt_env env;
	u32 hot_eip[BT_HOT_SLOTS];
	u8 hot_count[BT_HOT_SLOTS];
	/* the linear pages holding translated code (bt_pages.c) */
	u32 code_ready, code_free, code_used, code_last;
	u32 code_lhash[BT_CODE_HASH];
	u32 code_ghash[BT_CODE_HASH];
	struct bt_code_page code[BT_CODE_PAGES];
	/* the lazy GDT (desc_lazy.c): as derived, and as read now */
	u64 gdt_seen[GUEST_GDT_SLOTS];
	u64 gdt_now[GUEST_GDT_SLOTS];
};

static inline struct bt_meta *bt_meta(const struct bt86_xdata *x)
{
	return (struct bt_meta *)(uintptr_t)x->bt.meta;
}

static inline struct bt_cache *bt_cache(const struct bt86_xdata *x)
{
	return &bt_meta(x)->cache;
}

static inline bool bt_from_tc(const struct bt86_xdata *x)
{
	return x->bt.enabled && x->cs == BT_CS_SEL;
}

/* bt_run.c */
void bt_load(struct bt86_xdata *x);
void bt_sync_from_hw(struct bt86_xdata *x);
void bt_window_gs(struct bt86_xdata *x, u16 hw);
void bt_prepare(struct bt86_xdata *x);
long bt_callout(struct bt86_xdata *x);
long bt_trap_midseq(struct bt86_xdata *x);
void bt_export_stats(struct bt86_xdata *x);

/* bt_pages.c */
void bt_trace_block(struct bt86_xdata *x, const struct bt_block *b);
void bt_untrace_all(struct bt86_xdata *x);
bool bt_code_write(struct bt86_xdata *x, u32 lin, u32 len);
bool bt_code_write_gfn(struct bt86_xdata *x, u32 gfn);
long bt_code_write_done(struct bt86_xdata *x);
long bt_write_fault(struct bt86_xdata *x, u32 addr);
void bt_code_tlb(struct bt86_xdata *x, u32 lin, unsigned int how);
void bt_before_native_write(struct bt86_xdata *x, const struct decoded_insn *d);
bool bt_is_hot(void *opaque, bt_u32 eip);

/* bt_emulate.c */
long bt_emulate(struct bt86_xdata *x);

#endif /* BT86_BT_MONITOR_H */
