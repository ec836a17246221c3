// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables of the monitor world (docs/monitor.md).
 *
 * A struct bt86_mmu is one address space with the host's paging depth: the
 * monitor runs in long mode on the host's CPU, where CR4.LA57 cannot change,
 * so its CR3 must point at a PML5 on a 5-level host and at a PML4 otherwise.
 * Every table page is allocated here, zeroed, and kept on mmu->tables, so
 * that teardown frees exactly what was allocated without walking the tables.
 * The frames the leaves map belong to the caller.
 *
 * Only 4 KiB leaves.  Intermediate entries are present, writable and
 * accessed, and user if any leaf under them is (the leaf decides), never NX
 * (the leaf decides that too).  Nothing here is ever global.
 *
 * Callers serialize changes to one mmu; they also flush the monitor's TLB
 * after unmapping or changing a live mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pgtable.h>

#include "monitor.h"

#define BT86_PT_ENTRIES 512

/* What an intermediate entry always holds, besides the table's address. */
#define BT86_PTE_TABLE (BT86_PTE_P | BT86_PTE_RW | BT86_PTE_A)

unsigned int bt86_host_paging_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

u64 bt86_monitor_base(void)
{
	return pgtable_l5_enabled() ? BT86_MONITOR_BASE_L5
				    : BT86_MONITOR_BASE_L4;
}

/* The index into the table at @level (1: PT, 2: PD, ... 5: PML5). */
static unsigned int bt86_mmu_index(u64 va, unsigned int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & (BT86_PT_ENTRIES - 1);
}

static u64 *bt86_mmu_table(u64 entry)
{
	return phys_to_virt(entry & BT86_PTE_ADDR);
}

/* Bits 63:47 (4-level) or 63:56 (5-level) all equal. */
bool bt86_mmu_va_canonical(const struct bt86_mmu *mmu, u64 va)
{
	unsigned int shift = 64 - (mmu->levels == 5 ? 57 : 48);

	return (u64)((s64)(va << shift) >> shift) == va;
}

static struct page *bt86_mmu_alloc_table(struct bt86_mmu *mmu)
{
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!page)
		return NULL;
	list_add_tail(&page->lru, &mmu->tables);
	mmu->ntables++;
	return page;
}

int bt86_mmu_init(struct bt86_mmu *mmu, unsigned int levels)
{
	if (levels != 4 && levels != 5)
		return -EINVAL;
	mmu->levels = levels;
	INIT_LIST_HEAD(&mmu->tables);
	mmu->ntables = 0;
	mmu->root = bt86_mmu_alloc_table(mmu);
	return mmu->root ? 0 : -ENOMEM;
}

/* Frees every table page; the mmu must not be loaded in CR3 anywhere. */
void bt86_mmu_free(struct bt86_mmu *mmu)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &mmu->tables, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	mmu->ntables = 0;
	mmu->root = NULL;
}

phys_addr_t bt86_mmu_root_pa(const struct bt86_mmu *mmu)
{
	return page_to_phys(mmu->root);
}

/*
 * The entry at each level for @va, from the root down to the leaf:
 * entries[level], 0 where the walk stopped.  Returns the leaf's address, or
 * NULL if a table is missing.
 */
static u64 *bt86_mmu_walk(const struct bt86_mmu *mmu, u64 va, u64 *entries)
{
	u64 *table = page_address(mmu->root);
	unsigned int level;
	u64 *pte;

	for (level = mmu->levels; level >= 1; level--) {
		pte = &table[bt86_mmu_index(va, level)];
		if (entries)
			entries[level] = READ_ONCE(*pte);
		if (level == 1)
			return pte;
		if (!(READ_ONCE(*pte) & BT86_PTE_P))
			return NULL;
		table = bt86_mmu_table(*pte);
	}
	return NULL;
}

/*
 * Maps the 4 KiB page at @va to frame @pfn with @flags (BT86_PTE_*, P
 * required).  Allocates the missing tables.  -EEXIST if @va is mapped.
 */
int bt86_mmu_map_page(struct bt86_mmu *mmu, u64 va, unsigned long pfn,
		      u64 flags)
{
	u64 *table = page_address(mmu->root);
	unsigned int level;
	struct page *page;
	u64 *pte;

	if (!(flags & BT86_PTE_P) || (flags & ~BT86_PTE_FLAGS))
		return -EINVAL;
	if (!PAGE_ALIGNED(va) || !bt86_mmu_va_canonical(mmu, va))
		return -EINVAL;
	if ((u64)pfn > (BT86_PTE_ADDR >> PAGE_SHIFT))
		return -EINVAL;

	for (level = mmu->levels; level > 1; level--) {
		pte = &table[bt86_mmu_index(va, level)];
		if (!(*pte & BT86_PTE_P)) {
			page = bt86_mmu_alloc_table(mmu);
			if (!page)
				return -ENOMEM;
			WRITE_ONCE(*pte, page_to_phys(page) | BT86_PTE_TABLE);
		}
		if ((flags & BT86_PTE_US) && !(*pte & BT86_PTE_US))
			WRITE_ONCE(*pte, *pte | BT86_PTE_US);
		table = bt86_mmu_table(*pte);
	}
	pte = &table[bt86_mmu_index(va, 1)];
	if (*pte & BT86_PTE_P)
		return -EEXIST;
	WRITE_ONCE(*pte, ((u64)pfn << PAGE_SHIFT) | flags);
	return 0;
}

/* Removes the leaf for @va (the tables stay).  -ENOENT if not mapped. */
int bt86_mmu_unmap_page(struct bt86_mmu *mmu, u64 va)
{
	u64 *pte;

	if (!PAGE_ALIGNED(va) || !bt86_mmu_va_canonical(mmu, va))
		return -EINVAL;
	pte = bt86_mmu_walk(mmu, va, NULL);
	if (!pte || !(*pte & BT86_PTE_P))
		return -ENOENT;
	WRITE_ONCE(*pte, 0);
	return 0;
}

/*
 * The frame of the table at @level (1: PT, 2: PD, 3: PDPT, ...) that holds
 * @va's entry, or 0 if there is none.  BT mode maps guest RAM's page tables
 * into the monitor, which write-protects pages holding translated code
 * (docs/translator.md); shadow paging maps the PDPT of the low 4 GiB
 * (docs/shadow-paging.md).
 */
unsigned long bt86_mmu_table_pfn(const struct bt86_mmu *mmu, u64 va,
				 unsigned int level)
{
	u64 entries[6] = { 0 };

	if (!bt86_mmu_va_canonical(mmu, va) || level < 1 || level > mmu->levels)
		return 0;
	if (level == mmu->levels)
		return page_to_pfn(mmu->root);
	bt86_mmu_walk(mmu, va, entries);
	if (!(entries[level + 1] & BT86_PTE_P))
		return 0;
	return (entries[level + 1] & BT86_PTE_ADDR) >> PAGE_SHIFT;
}

unsigned long bt86_mmu_leaf_table_pfn(const struct bt86_mmu *mmu, u64 va)
{
	return bt86_mmu_table_pfn(mmu, va, 1);
}

/*
 * Map the leaf tables that map [0, @end) (one per 2 MiB) at consecutive
 * pages from @at with @flags, so that the PTE of page n is at @at + 8 * n:
 * how the monitor reaches guest RAM's mappings without a walk.
 */
int bt86_mmu_map_leaf_tables(struct bt86_mmu *mmu, u64 at, u64 end, u64 flags)
{
	unsigned long pfn;
	u64 va;
	int ret;

	for (va = 0; va < end; va += PMD_SIZE) {
		pfn = bt86_mmu_leaf_table_pfn(mmu, va);
		if (!pfn)
			return -EINVAL;
		ret = bt86_mmu_map_page(mmu, at + (va >> 9), pfn, flags);
		if (ret)
			return ret;
	}
	return 0;
}

/* @va's entry in the table at @level, or 0. */
u64 bt86_mmu_entry(const struct bt86_mmu *mmu, u64 va, unsigned int level)
{
	u64 entries[6] = { 0 };

	if (!bt86_mmu_va_canonical(mmu, va) || level < 1 || level > mmu->levels)
		return 0;
	bt86_mmu_walk(mmu, va, entries);
	return entries[level];
}

/* The leaf entry that maps @va, or 0. */
u64 bt86_mmu_lookup(const struct bt86_mmu *mmu, u64 va)
{
	u64 *pte;

	if (!bt86_mmu_va_canonical(mmu, va))
		return 0;
	pte = bt86_mmu_walk(mmu, va, NULL);
	return pte ? READ_ONCE(*pte) : 0;
}

/* --- the self-test, run at module load ---------------------------------- */

struct bt86_mmu_case {
	u64 va;
	u64 flags;
};

/* Checks one mapped @va: the leaf, and the intermediate entries above it. */
static int bt86_mmu_check(struct bt86_mmu *mmu, u64 va, unsigned long pfn,
			  u64 flags)
{
	u64 entries[6] = { 0 };
	u64 want = ((u64)pfn << PAGE_SHIFT) | flags;
	unsigned int level;

	if (!bt86_mmu_walk(mmu, va, entries) || entries[1] != want) {
		pr_err("mmu self-test: %u levels: %#llx maps %#llx, not %#llx\n",
		       mmu->levels, va, entries[1], want);
		return -EINVAL;
	}
	for (level = 2; level <= mmu->levels; level++) {
		u64 e = entries[level];

		if ((e & ~BT86_PTE_ADDR & ~BT86_PTE_US) != BT86_PTE_TABLE ||
		    ((flags & BT86_PTE_US) && !(e & BT86_PTE_US))) {
			pr_err("mmu self-test: %u levels: %#llx: level %u entry %#llx\n",
			       mmu->levels, va, level, e);
			return -EINVAL;
		}
	}
	return 0;
}

static int bt86_mmu_selftest_levels(unsigned int levels, u64 direct)
{
	const u64 kern_rx = BT86_PTE_P | BT86_PTE_A;
	const u64 kern_rw = BT86_PTE_P | BT86_PTE_RW | BT86_PTE_A | BT86_PTE_D |
			    BT86_PTE_NX;
	const u64 user_rw = kern_rw | BT86_PTE_US;
	u64 top_low = (1ULL << (levels == 5 ? 56 : 47)) - PAGE_SIZE;
	struct bt86_mmu_case cases[] = {
		{ 0, kern_rw },
		{ 0xfffff000, user_rw },
		{ top_low, user_rw | BT86_PTE_PCD | BT86_PTE_PWT },
		{ levels == 5 ? BT86_MONITOR_BASE_L5 : BT86_MONITOR_BASE_L4,
		  kern_rx },
		{ direct, kern_rw },
		{ ~0ULL & PAGE_MASK, kern_rw },
	};
	struct bt86_mmu mmu;
	unsigned int i;
	u64 entries[6];
	int ret;

	ret = bt86_mmu_init(&mmu, levels);
	if (ret)
		return ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int want = bt86_mmu_va_canonical(&mmu, cases[i].va) ? 0
								    : -EINVAL;

		/* Only the direct map's address may be non-canonical here. */
		if (want && cases[i].va != direct) {
			ret = -EINVAL;
			goto fail;
		}
		ret = bt86_mmu_map_page(&mmu, cases[i].va, 0x1234 + i,
					cases[i].flags);
		if (ret != want) {
			pr_err("mmu self-test: %u levels: map %#llx: %d, not %d\n",
			       levels, cases[i].va, ret, want);
			ret = -EINVAL;
			goto fail;
		}
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!bt86_mmu_va_canonical(&mmu, cases[i].va))
			continue;
		ret = bt86_mmu_check(&mmu, cases[i].va, 0x1234 + i,
				     cases[i].flags);
		if (ret)
			goto fail;
	}

	/* No entry above the monitor's page is user. */
	ret = -EINVAL;
	bt86_mmu_walk(&mmu, cases[3].va, entries);
	for (i = 2; i <= levels; i++) {
		if (entries[i] & BT86_PTE_US) {
			pr_err("mmu self-test: %u levels: user entry above the monitor\n",
			       levels);
			goto fail;
		}
	}
	/* What must be refused, or found unmapped. */
	if (bt86_mmu_map_page(&mmu, top_low + PAGE_SIZE, 1, kern_rw) !=
		    -EINVAL ||
	    bt86_mmu_map_page(&mmu, 0x2000 + 8, 1, kern_rw) != -EINVAL ||
	    bt86_mmu_map_page(&mmu, 0x2000, 1, kern_rw | BIT_ULL(8)) !=
		    -EINVAL ||
	    bt86_mmu_map_page(&mmu, 0x2000, 1, BT86_PTE_RW) != -EINVAL ||
	    bt86_mmu_map_page(&mmu, 0, 1, kern_rw) != -EEXIST ||
	    bt86_mmu_lookup(&mmu, 0x1000) || bt86_mmu_lookup(&mmu, 0x200000) ||
	    bt86_mmu_lookup(&mmu, top_low + PAGE_SIZE) ||
	    bt86_mmu_unmap_page(&mmu, 0xfffff000) ||
	    bt86_mmu_lookup(&mmu, 0xfffff000) ||
	    bt86_mmu_unmap_page(&mmu, 0xfffff000) != -ENOENT ||
	    !PAGE_ALIGNED(bt86_mmu_root_pa(&mmu))) {
		pr_err("mmu self-test: %u levels: a bad request was not refused\n",
		       levels);
		goto fail;
	}
	ret = 0;
fail:
	bt86_mmu_free(&mmu);
	if (ret)
		pr_err("mmu self-test failed at %u levels\n", levels);
	return ret;
}

/*
 * Builds tables at both depths (the walk is software, so a 5-level table
 * can be built on a 4-level host) and checks what they map.
 */
int bt86_mmu_selftest(void)
{
	struct page *page = alloc_page(GFP_KERNEL);
	int ret;

	if (!page)
		return -ENOMEM;
	ret = bt86_mmu_selftest_levels(4, (u64)page_address(page) & PAGE_MASK);
	if (!ret)
		ret = bt86_mmu_selftest_levels(5, (u64)page_address(page));
	__free_page(page);
	return ret;
}
