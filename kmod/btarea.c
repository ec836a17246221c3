// SPDX-License-Identifier: GPL-2.0
/*
 * The memory of BT mode (docs/translator.md): per vCPU, the per-vCPU page
 * and the translation cache, mapped both in the guest's low 4 GiB (where
 * translated code reaches them) and above it (where the monitor writes
 * them), and the translator's metadata, mapped above only; per VM, guest
 * RAM's own page tables, mapped so that the monitor can write-protect the
 * guest pages that hold translated code.
 *
 * The low mapping is made once, at the top of the low 4 GiB, where the
 * window stays while guest paging is off.  With paging on the monitor
 * moves the window out of the guest's mappings (monitor/window.c) by
 * linking the same two page tables from another slot of its shadows.
 *
 * Low mappings are supervisor-only: guest ring 3 (CPL 3) cannot touch them;
 * guest ring 0 (CPL 1) may read the TC and write the per-vCPU page, whose
 * contents the monitor treats as guest input.  The TC is never writable
 * below 4 GiB (CR0.WP is set in the monitor's world).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "bt86.h"
#include "xdata.h"

/* Monitor addresses, past the image and the run areas' I/O pages. */
#define BT_GPT_OFFSET	(32UL << 20) /* guest RAM's PTEs: up to 8 MiB */
#define BT_ALIAS_OFFSET (64UL << 20) /* per vCPU: 32 MiB each */
#define BT_ALIAS_STRIDE (32UL << 20)
#define BT_ALIAS_TC	0x10000
#define BT_ALIAS_META	(4UL << 20)

#define BT_TC_PAGES   (BT_TC_SIZE >> PAGE_SHIFT)
#define BT_META_PAGES (BT_META_SIZE >> PAGE_SHIFT)
#define BT_AREA_PAGES (BT_WINDOW_PAGES + BT_TC_PAGES + BT_META_PAGES)

static_assert(BT_WINDOW_PAGES * PAGE_SIZE <= BT_TC_OFFSET);
static_assert(BT_ALIAS_TC + BT_TC_SIZE <= BT_ALIAS_META);
static_assert(BT_ALIAS_META + BT_META_SIZE <= BT_ALIAS_STRIDE);
static_assert(BT_ALIAS_OFFSET + BT86_MAX_VCPUS * BT_ALIAS_STRIDE <=
	      SH_PFNS_OFFSET);

static const u64 bt_data = BT86_PTE_P | BT86_PTE_RW | BT86_PTE_A | BT86_PTE_D |
			   BT86_PTE_NX;

static u32 bt86_window_low(unsigned int id)
{
	return (u32)(BT_WINDOW_TOP - (u64)(id + 1) * BT_WINDOW_SIZE);
}

/*
 * Guest RAM's page tables, one per 2 MiB of RAM, at consecutive monitor
 * pages: the PTE of guest frame n is then at BT_GPT_OFFSET + 8 * n.
 */
int bt86_btarea_map_vm(struct bt86_vm *vm, u64 ram_end)
{
	return bt86_mmu_map_leaf_tables(&vm->mmu,
					bt86_monitor_base() + BT_GPT_OFFSET,
					ram_end, bt_data);
}

static int bt86_btarea_map(struct bt86_vcpu *vcpu, u64 alias, u32 low)
{
	struct bt86_mmu *mmu = &vcpu->vm->mmu;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < vcpu->bt_npages && !ret; i++) {
		unsigned long pfn = page_to_pfn(vcpu->bt_pages[i]);

		if (i < BT_WINDOW_PAGES) {
			ret = bt86_mmu_map_page(mmu, alias + i * PAGE_SIZE, pfn,
						bt_data);
			if (!ret)
				ret = bt86_mmu_map_page(
					mmu, low + i * PAGE_SIZE, pfn, bt_data);
		} else if (i < BT_WINDOW_PAGES + BT_TC_PAGES) {
			u64 off = BT_ALIAS_TC +
				  (u64)(i - BT_WINDOW_PAGES) * PAGE_SIZE;

			ret = bt86_mmu_map_page(mmu, alias + off, pfn, bt_data);
			/* read-only and executable for guest code */
			if (!ret)
				ret = bt86_mmu_map_page(mmu, low + off, pfn,
							BT86_PTE_P |
								BT86_PTE_A);
		} else {
			u64 off = BT_ALIAS_META +
				  (u64)(i - BT_WINDOW_PAGES - BT_TC_PAGES) *
					  PAGE_SIZE;

			ret = bt86_mmu_map_page(mmu, alias + off, pfn, bt_data);
		}
	}
	return ret;
}

/* At the first RUN of a BT-mode vCPU. */
int bt86_btarea_build(struct bt86_vcpu *vcpu, struct bt86_xdata *x)
{
	u64 alias = bt86_monitor_base() + BT_ALIAS_OFFSET +
		    vcpu->id * BT_ALIAS_STRIDE;
	u32 low = bt86_window_low(vcpu->id);
	unsigned int i;
	int ret;

	if (x->ram_end > low) {
		pr_warn_ratelimited(
			"BT86_RUN: %llu MiB of guest RAM reach the translator's window at %#x; give the guest less memory\n",
			x->ram_end >> 20, low);
		return -ENOSPC;
	}
	vcpu->bt_pages = kvcalloc(BT_AREA_PAGES, sizeof(struct page *),
				  GFP_KERNEL_ACCOUNT);
	if (!vcpu->bt_pages)
		return -ENOMEM;
	for (i = 0; i < BT_AREA_PAGES; i++) {
		vcpu->bt_pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!vcpu->bt_pages[i]) {
			bt86_btarea_free(vcpu);
			return -ENOMEM;
		}
		vcpu->bt_npages++;
	}
	ret = bt86_btarea_map(vcpu, alias, low);
	if (ret) {
		bt86_btarea_free(vcpu);
		return ret;
	}
	x->bt.window = alias;
	x->bt.tc = alias + BT_ALIAS_TC;
	x->bt.meta = alias + BT_ALIAS_META;
	x->bt.gpt = bt86_monitor_base() + BT_GPT_OFFSET;
	x->bt.window_low = low;
	x->bt.window_home = low;
	x->bt.tc_low = low + BT_TC_OFFSET;
	x->bt.checked = !!(vcpu->vm->flags & BT86_VM_BT_CHECKED);
	x->bt.enabled = 1;
	return 0;
}

/*
 * The pages go; their mappings stay in the VM's tables, which nothing runs
 * on any more (the VM is being destroyed) and which do not own them.
 */
void bt86_btarea_free(struct bt86_vcpu *vcpu)
{
	unsigned int i;

	for (i = 0; i < vcpu->bt_npages; i++)
		__free_page(vcpu->bt_pages[i]);
	kvfree(vcpu->bt_pages);
	vcpu->bt_pages = NULL;
	vcpu->bt_npages = 0;
}
