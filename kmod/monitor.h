/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor's address space and image, as the module builds them
 * (docs/monitor.md):
 *
 *   mmu.c            page tables of the monitor world, at the host's paging
 *                    depth (4 or 5 levels), built in pages the module owns.
 *   monitor_image.c  the monitor image embedded in bt86.ko (monitor_blob.S):
 *                    validated at module load, then per VM copied into fresh
 *                    pages, relocated to the monitor base and mapped there.
 */
#ifndef BT86_MONITOR_H
#define BT86_MONITOR_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/types.h>

struct page;

/*
 * Page-table entry bits of our own, for 4-level and 5-level IA-32e paging
 * (Intel SDM vol. 3A §4.5, tables 4-15 to 4-20).  The kernel's _PAGE_* are
 * not used on purpose: these tables are never the host's.  There is no
 * global bit: monitor mappings must never be global (a global TLB entry
 * would survive the CR3 switch back to the host).  PS is not offered: only
 * 4 KiB leaves for now.
 */
#define BT86_PTE_P    BIT_ULL(0)	  /* present */
#define BT86_PTE_RW   BIT_ULL(1)	  /* writable */
#define BT86_PTE_US   BIT_ULL(2)	  /* user (CPL 3) may access */
#define BT86_PTE_PWT  BIT_ULL(3)	  /* page-level write-through */
#define BT86_PTE_PCD  BIT_ULL(4)	  /* page-level cache disable */
#define BT86_PTE_A    BIT_ULL(5)	  /* accessed */
#define BT86_PTE_D    BIT_ULL(6)	  /* dirty (leaves only) */
#define BT86_PTE_NX   BIT_ULL(63)	  /* execute disable (EFER.NXE is on) */
#define BT86_PTE_ADDR GENMASK_ULL(51, 12) /* physical address of the frame */
#define BT86_PTE_FLAGS                                           \
	(BT86_PTE_P | BT86_PTE_RW | BT86_PTE_US | BT86_PTE_PWT | \
	 BT86_PTE_PCD | BT86_PTE_A | BT86_PTE_D | BT86_PTE_NX)

/*
 * The monitor's virtual base: the start of the x86-64 "guard hole, also
 * reserved for hypervisor" (Documentation/x86/x86_64/mm.rst), which Linux
 * never maps, so no host TLB entry (global ones included) can alias a
 * monitor mapping there.
 */
#define BT86_MONITOR_BASE_L4 0xffff800000000000ULL /* 8 TiB hole, 4-level */
#define BT86_MONITOR_BASE_L5 0xff00000000000000ULL /* 4 PiB hole, 5-level */

/* The most the loader accepts, and what monitor.lds asserts. */
#define BT86_MONITOR_MAX_SIZE (2UL << 20)

/*
 * One monitor address space.  It owns its table pages (tables, on a list
 * through page->lru, root included), never the frames its leaves map.
 */
struct bt86_mmu {
	unsigned int levels; /* 4 or 5 */
	struct page *root;
	struct list_head tables;
	unsigned long ntables;
};

/* mmu.c */
unsigned int bt86_host_paging_levels(void);
u64 bt86_monitor_base(void);
int bt86_mmu_init(struct bt86_mmu *mmu, unsigned int levels);
void bt86_mmu_free(struct bt86_mmu *mmu);
bool bt86_mmu_va_canonical(const struct bt86_mmu *mmu, u64 va);
int bt86_mmu_map_page(struct bt86_mmu *mmu, u64 va, unsigned long pfn,
		      u64 flags);
int bt86_mmu_unmap_page(struct bt86_mmu *mmu, u64 va);
u64 bt86_mmu_lookup(const struct bt86_mmu *mmu, u64 va);
unsigned long bt86_mmu_leaf_table_pfn(const struct bt86_mmu *mmu, u64 va);
int bt86_mmu_map_leaf_tables(struct bt86_mmu *mmu, u64 at, u64 end, u64 flags);
unsigned long bt86_mmu_table_pfn(const struct bt86_mmu *mmu, u64 va,
				 unsigned int level);
u64 bt86_mmu_entry(const struct bt86_mmu *mmu, u64 va, unsigned int level);
phys_addr_t bt86_mmu_root_pa(const struct bt86_mmu *mmu);
int bt86_mmu_selftest(void);

/*
 * The image header (monitor/header.S must match it field by field).  All
 * offsets are from the start of the image, which is linked at 0.
 */
#define BT86_MONITOR_MAGIC   "BT86MON"
#define BT86_MONITOR_VERSION 1

struct bt86_monitor_header {
	char magic[8]; /* BT86_MONITOR_MAGIC, NUL-terminated */
	u32 version;
	u32 header_size;
	u64 entry;	/* monitor_entry() */
	u64 text_end;	/* [0, text_end): header and text, RX */
	u64 rodata_end; /* [text_end, rodata_end): rodata, relocations, R */
	u64 file_size;	/* bytes of the blob the loader copies */
	u64 mem_size;	/* [rodata_end, mem_size): data and bss, RW */
	u64 rela_start; /* Elf64_Rela[], all R_X86_64_RELATIVE */
	u64 rela_end;
	u64 reloc_probe; /* a u64 that holds the base once relocated */
};

/* One VM's copy of the monitor image. */
struct bt86_monitor_image {
	struct page **pages; /* npages, page i at base + i * PAGE_SIZE */
	unsigned long npages;
	u64 base;  /* virtual base in the monitor address space */
	u64 entry; /* virtual address of monitor_entry() */
};

/* monitor_blob.S: the image as built */
extern const u8 bt86_monitor_blob[];
extern const u8 bt86_monitor_blob_end[];

/* monitor_image.c */
int bt86_monitor_image_check(void);
int bt86_monitor_image_load(struct bt86_monitor_image *img,
			    struct bt86_mmu *mmu, u64 base);
void bt86_monitor_image_free(struct bt86_monitor_image *img);
int bt86_monitor_init(void);

#endif /* BT86_MONITOR_H */
