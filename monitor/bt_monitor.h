/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor's side of the binary translator (docs/translator.md):
 *   bt_run.c      entering translated code, traps and call outs from it
 *   bt_pages.c    write-protecting guest pages that hold translated code
 *   bt_emulate.c  the instructions translated code calls out for
 */
#ifndef BT86_BT_MONITOR_H
#define BT86_BT_MONITOR_H

#include "bt.h"
#include "decode.h"
#include "monitor.h"

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
	/* guest frames holding translated code (write-protected), a bitmap */
	u64 traced[(BT86_MAX_GUEST_PHYS >> 12) / 64];
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
long bt_write_fault(struct bt86_xdata *x, u32 addr);
void bt_before_native_write(struct bt86_xdata *x, const struct decoded_insn *d);
bool bt_is_hot(void *opaque, bt_u32 eip);

/* bt_emulate.c */
long bt_emulate(struct bt86_xdata *x);

#endif /* BT86_BT_MONITOR_H */
