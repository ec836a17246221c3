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
	u32 slot, sprev, snext; /* its slot, and the slot's records */
};

/*
 * The records grouped by 2 MiB slot of linear space (the reach of a PAE
 * PDE, half a 32-bit one), with the directory entries under which every
 * record of the slot was last found mapping its frame (bt_pages.c).
 */
#define BT_CODE_SLOTS 64
#define BT_SLOT_PATHS 4
#define BT_SLOT_SHIFT 21

struct bt_code_path {
	u64 pde;  /* shadow_dir_entry() */
	u32 leaf; /* the page table they name, traced; SH_NO_TABLE: none */
	u32 valid;
};

struct bt_code_slot {
	u32 base;  /* lin >> BT_SLOT_SHIFT */
	u32 first; /* its records */
	u32 nrec, nglobal;
	u32 next_path; /* the one a new path replaces */
	struct bt_code_path path[BT_SLOT_PATHS];
};

/* bt_code_tlb(): what a TLB flush drops */
#define BT_TLB_PAGE	 0 /* INVLPG of one page */
#define BT_TLB_NONGLOBAL 1 /* MOV to CR3 */
#define BT_TLB_ALL	 2 /* CR4.PGE toggled */
#define BT_TLB_MODE	 3 /* paging mode changes: entries mean other things */

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
	struct bt_code_slot code_slot[BT_CODE_SLOTS];
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
