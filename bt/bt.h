/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The binary translator (docs/translator.md).
 *
 * Guest ring-0 code is translated, one block at a time, into a translation
 * cache (TC) that runs at CPL 1 in compatibility mode.  The TC sits in the
 * monitor window below 4 GiB together with the per-vCPU page that
 * translated code reaches through %gs.  The monitor owns the metadata
 * (blocks, the map from TC addresses back to guest EIPs, the lookup hash)
 * above 4 GiB, where guest code cannot reach it.
 *
 * This header is shared by the monitor and by userland (unit tests, the
 * fuzzer and the silicon test): nothing here depends on the monitor's
 * world.  Guest memory is read through struct bt_env.
 */
#ifndef BT86_BT_H
#define BT86_BT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t bt_u8;
typedef uint16_t bt_u16;
typedef uint32_t bt_u32;
typedef uint64_t bt_u64;

/*
 * The vector translated code uses to call the monitor ("int $0x1f"): a
 * vector no CPU raises (reserved, SDM 3A table 6-1), behind a DPL 1 gate
 * so that CPL 1 reaches it and CPL 3 takes #GP.
 */
#define BT_CALLOUT_VECTOR 0x1f

/*
 * The per-vCPU page, the first page of the window (%gs base).  Guest ring-0
 * code can write it (it is below 4 GiB and supervisor), so everything in
 * it is guest-controlled input: the monitor reads only the IF bit of
 * vif and the statistics counter, and trusts neither.
 */
#define BT_VP_VIF \
	0x00 /* u8: 0x02 when the virtual IF is 1 (EFLAGS bits 15:8) */
#define BT_VP_VIOPL 0x01 /* u8: the virtual IOPL << 4 (EFLAGS bits 15:8) */
#define BT_VP_WANT \
	0x04 /* u32: nonzero when the monitor wants STI to call out */
#define BT_VP_TARGET   0x08 /* u32: the guest EIP of an indirect branch */
#define BT_VP_JUMP     0x0c /* u32: its translation, for the final jmp */
#define BT_VP_SAVE_EAX 0x10
#define BT_VP_SAVE_EBX 0x14
#define BT_VP_SAVE_ECX 0x18
#define BT_VP_IND_HITS 0x20 /* u32: indirect branches found in the fast table */
#define BT_VP_GUEST_GS \
	0x24 /* u32: the hardware selector of the guest's GS (its shadow slot \
	      * or stale copy), loaded around a %gs memory operand */
#define BT_VP_SEL_TMP 0x28 /* u8: a selector's bits 7:0, for a segment load */
#define BT_VP_SEL     0x40 /* u32[6]: the guest's ES CS SS DS FS GS selectors */
#define BT_VP_POPF    0x100 /* u8[256]: POPFD needs the monitor, by bits 15:8 */
/*
 * Whether a segment load must call out, by selector (bt_cache_init()):
 * SEL_HI[bits 15:8] is 0, 0x100 or 0x200 (index below 480, 480-511,
 * above), SEL_CHECK[that + bits 7:0] nonzero for RPL 1 and index >= 496.
 */
#define BT_VP_SEL_HI	0x400 /* u32[256] */
#define BT_VP_SEL_CHECK 0x800 /* u8[768] */
/*
 * Checked translation (bt/check.c): the limit each segment register's
 * accesses are checked against (ES CS SS DS FS GS; 0xffffffff: none), and
 * scratch for the checks.
 */
#define BT_VP_LIMIT	0xc00 /* u32[6] */
#define BT_VP_CHK_EDX	0xc18
#define BT_VP_CHK_EA	0xc1c  /* u32[BT_MAX_CHECKS]: effective addresses */
#define BT_VP_FAST	0x1000 /* the fast indirect table: {eip, tc address} */
#define BT_FAST_ENTRIES 4096
#define BT_FAST_SHIFT	10     /* the slot: (eip ^ eip >> 10) mod entries */
#define BT_VP_SIZE	0x9000 /* nine pages: %gs limit is BT_VP_SIZE - 1 */

/*
 * The fast table's slot for a guest EIP.  Function entries are aligned
 * (Linux's to 16 bytes), so the EIP's low bits alone would leave most
 * slots unused: higher bits are folded in.  The indirect-branch routine
 * (cache.c) computes the same.
 */
static inline unsigned int bt_fast_slot(unsigned int eip)
{
	return (eip ^ (eip >> BT_FAST_SHIFT)) % BT_FAST_ENTRIES;
}

/* Why translated code called the monitor (struct bt_map.kind). */
enum bt_map_kind {
	BT_MAP_INSN,	 /* a guest instruction starts here: state is exact */
	BT_MAP_EXIT,	 /* an exit stub: go to the guest EIP, then chain */
	BT_MAP_CALLOUT,	 /* emulate the guest instruction at the EIP */
	BT_MAP_STEP,	 /* run the guest instruction natively, once */
	BT_MAP_STI,	 /* after STI with an interrupt waiting */
	BT_MAP_IND_MISS, /* indirect branch not in the fast table */
	BT_MAP_DEAD,	 /* an invalidated block's first bytes */
	BT_MAP_LIMIT,	 /* a bound check failed (arg: the insn's TC offset) */
};

/* One entry of a block's map, sorted by tc_off. */
struct bt_map {
	bt_u32 tc_off;	  /* offset in the TC */
	bt_u32 guest_eip; /* the guest EIP this TC address stands for */
	bt_u32 arg;	  /* BT_MAP_EXIT: TC offset of the rel32 to patch;
			   * BT_MAP_LIMIT: TC offset of the checked insn */
	bt_u8 kind;	  /* enum bt_map_kind */
	bt_u8 shadow;	  /* an STI just ran: interrupts wait one insn */
	bt_u8 flags;	  /* BT_MAPF_* */
	bt_u8 pad;
};

/*
 * The hardware %gs holds the guest's GS at this entry, not the window's (a
 * %gs memory operand, translate.c): the guest resumes at the entry before
 * it, which loads the guest's GS again.
 */
#define BT_MAPF_GUEST_GS 1

/* What a translation depends on besides its EIP. */
struct bt_key {
	bt_u32 cs_base;
	bt_u32 cs_limit;
	bt_u16 cs_sel;
	bt_u16 pad;
};

#define BT_BLOCK_DEAD 1

struct bt_block {
	bt_u32 eip;	  /* guest EIP (an offset in CS) */
	bt_u32 lin_start; /* guest linear range of its code */
	bt_u32 lin_end;	  /* exclusive */
	struct bt_key key;
	bt_u32 tc_off; /* its code in the TC */
	bt_u32 tc_len;
	bt_u32 map_first; /* its entries in bt_cache.map */
	bt_u32 map_count;
	bt_u32 hash_next; /* next block in the same hash chain, or BT_NONE */
	/* the (at most two) guest pages its code is in, and their chains */
	bt_u32 page[2];
	bt_u32 page_next[2]; /* (block << 1 | slot) of the next, or BT_NONE */
	bt_u32 ninsns;	     /* guest instructions translated */
	bt_u32 flags;	     /* BT_BLOCK_* */
};

#define BT_NONE 0xffffffffu

/* Counters (docs/launcher.md, "Reading --stats"). */
struct bt_stats {
	bt_u64 blocks;	      /* blocks translated */
	bt_u64 insns;	      /* guest instructions translated */
	bt_u64 lookups;	      /* monitor lookups of a guest EIP */
	bt_u64 lookup_hits;   /* ... that found a translation */
	bt_u64 chained;	      /* direct branches patched to their target */
	bt_u64 ind_misses;    /* indirect branches the fast table missed */
	bt_u64 callouts[8];   /* by enum bt_callout_kind */
	bt_u64 invalidated;   /* blocks invalidated by writes to their code */
	bt_u64 write_faults;  /* guest writes to pages holding translations */
	bt_u64 retranslated;  /* instructions made callouts after faulting */
	bt_u64 flushes;	      /* the TC filled up and was emptied */
	bt_u64 native_steps;  /* guest instructions run natively, one by one */
	bt_u64 refused;	      /* instructions the translator would not copy */
	bt_u64 slots_checked; /* code slots walked at TLB flushes (bt_pages.c) */
	bt_u64 slots_kept;    /* ... and kept without a walk */
};

/* What a block's translation calls out for (bt_stats.callouts). */
enum bt_callout_kind {
	BT_CO_EMULATE, /* a sensitive instruction emulated by the monitor */
	BT_CO_EXIT,    /* a direct branch to an untranslated target */
	BT_CO_IND,     /* an indirect branch missing the fast table */
	BT_CO_STEP,    /* an instruction run natively */
	BT_CO_STI,     /* STI with an interrupt waiting */
	BT_CO_DEAD,    /* a jump into an invalidated block */
	BT_CO_LIMIT,   /* a bound check of checked translation failed */
	BT_CO_COUNT
};

/* How the translator reads guest code: returns how many bytes it got. */
struct bt_env {
	void *opaque;
	bt_u32 (*fetch)(void *opaque, bt_u32 lin, bt_u8 *buf, bt_u32 len);
	/* true if the instruction at @eip must be a callout (adaptive) */
	bool (*hot)(void *opaque, bt_u32 eip);
};

/*
 * One translation cache and its metadata.  tc points at a writable alias
 * of the code; tc_low is where translated code sees it (below 4 GiB).
 */
struct bt_cache {
	bt_u8 *tc;
	bt_u32 tc_low;
	bt_u32 tc_size;
	bt_u32 tc_used;
	bt_u32 prologue_end;   /* shared routines before it survive a flush */
	bt_u32 ind_lookup;     /* TC offset of the indirect-branch routine */
	bt_u32 ind_miss;       /* TC offset of its call out */
	bt_u32 window_low;     /* the per-vCPU page, as %gs sees it: offset 0 */
	bt_u16 gs_sel;	       /* the selector of the window's segment */
	bt_u32 gs_sel_const;   /* TC offset of a copy of it (read through CS) */
	bt_u32 checked;	       /* emit bound checks (bt/check.c) */
	bt_u32 loads_call_out; /* every inline segment load calls out */
	struct bt_block *blocks;
	bt_u32 nblocks, max_blocks;
	struct bt_map *map;
	bt_u32 nmap, max_map;
	bt_u32 *hash;	   /* BT_HASH_SIZE heads */
	bt_u32 *page_hash; /* BT_PAGE_HASH heads: blocks by guest page */
	struct bt_stats stats;
	void *scratch;	       /* a struct decoded_insn for the translator */
	bt_u8 *window;	       /* writable alias of the per-vCPU page */
	struct bt_map special; /* what bt_map_find() returns for the prologue */
};

#define BT_HASH_SIZE	  65536
#define BT_PAGE_HASH	  16384
#define BT_MAX_INSNS	  48   /* guest instructions per block, at most */
#define BT_MAX_BLOCK_CODE 1024 /* TC bytes one block may need, at most */
/* A block takes no more instructions once fewer TC bytes than this are left:
 * the longest translation of one (a segment load, about 90) and a jump. */
#define BT_INSN_ROOM  112
#define BT_CHECK_ROOM 384 /* ... plus this with checked translation */
#define BT_MAX_CHECKS 3	  /* bound checks before one instruction */

/* Results of bt_translate() */
#define BT_OK	  0
#define BT_EFULL  -1 /* no room: flush and try again */
#define BT_EFETCH -2 /* no byte of code could be read at the EIP */

/* The first GDT index that is not the guest's (the monitor's slots). */
#define BT_GUEST_GDT_SLOTS 496

/* cache.c */
void bt_cache_init(struct bt_cache *c);
void bt_cache_flush(struct bt_cache *c);
struct bt_block *bt_lookup(struct bt_cache *c, const struct bt_key *k,
			   bt_u32 eip);
bt_u32 bt_block_addr(const struct bt_cache *c, const struct bt_block *b);
const struct bt_map *bt_map_find(struct bt_cache *c, bt_u32 tc_addr,
				 struct bt_block **block);
void bt_fast_clear(struct bt_cache *c);
void bt_fast_insert(struct bt_cache *c, bt_u32 eip, const struct bt_block *b);
void bt_chain(struct bt_cache *c, const struct bt_map *exit,
	      const struct bt_block *to);
bt_u32 bt_invalidate_range(struct bt_cache *c, bt_u32 lin, bt_u32 len);
void bt_block_insert(struct bt_cache *c, struct bt_block *b);
void bt_kill_block(struct bt_cache *c, struct bt_block *b);
void bt_revive(struct bt_cache *c, struct bt_block *dead,
	       const struct bt_block *to);
bool bt_in_tc(const struct bt_cache *c, bt_u32 addr);
void bt_loads_call_out(struct bt_cache *c, bool on);

/* translate.c */
int bt_translate(struct bt_cache *c, const struct bt_env *env,
		 const struct bt_key *k, bt_u32 eip, struct bt_block **out);

#endif /* BT86_BT_H */
