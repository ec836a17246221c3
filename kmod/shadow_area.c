// SPDX-License-Identifier: GPL-2.0
/*
 * The memory of shadow paging (docs/shadow-paging.md), in both modes:
 *
 *   - guest RAM by guest-physical address, above 4 GiB, where the monitor
 *     reads and writes guest page tables and guest memory whatever the
 *     guest's paging does (the low 4 GiB shows the guest's linear view);
 *   - guest RAM's own PTEs (the identity map used while guest paging is
 *     off), where the monitor finds each guest frame's host frame and
 *     write-protects frames it traces;
 *   - a pool of zeroed pages, with an array of their frames, that the
 *     monitor carves into its own data and the shadow page tables;
 *   - the PDPT whose first four entries map the low 4 GiB: the monitor
 *     points them at the current shadow's page directories while guest
 *     paging is on, and back at the identity map when it is off.
 *
 * Everything is allocated at the first RUN, charged to the caller's memory
 * cgroup like the rest of the VM, and freed with the VM.  The monitor's
 * mappings of it are supervisor-only and never executable.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "bt86.h"
#include "xdata.h"

/* Guest RAM's PTEs: one PT page per 2 MiB of RAM, up to 8 MiB of VA. */
#define SH_GPT_OFFSET (144ULL << 20)

static const u64 sh_data = BT86_PTE_P | BT86_PTE_RW | BT86_PTE_A | BT86_PTE_D |
			   BT86_PTE_NX;

static int bt86_shadow_map_phys(struct bt86_vm *vm, u64 base)
{
	unsigned int i;
	unsigned long j;
	int ret;

	for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++) {
		struct bt86_memslot *slot = &vm->memslots[i];

		for (j = 0; j < slot->npages; j++) {
			ret = bt86_mmu_map_page(
				&vm->mmu,
				base + ((slot->gfn + j) << PAGE_SHIFT),
				page_to_pfn(slot->pages[j]), sh_data);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int bt86_shadow_alloc_pool(struct bt86_vm *vm, u64 base, u64 ram_end)
{
	unsigned long pool = sh_pool_pages(ram_end >> PAGE_SHIFT);
	unsigned long pfn_pages = DIV_ROUND_UP(pool * sizeof(u64), PAGE_SIZE);
	unsigned long i;
	u64 *pfns;
	int ret;

	vm->sh_pages = kvcalloc(pool + pfn_pages, sizeof(struct page *),
				GFP_KERNEL_ACCOUNT);
	if (!vm->sh_pages)
		return -ENOMEM;
	for (i = 0; i < pool + pfn_pages; i++) {
		vm->sh_pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!vm->sh_pages[i])
			return -ENOMEM;
		vm->sh_npages++;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	vm->sh_pool_pages = pool;
	for (i = 0; i < pool; i++) {
		ret = bt86_mmu_map_page(&vm->mmu,
					base + SH_POOL_OFFSET + i * PAGE_SIZE,
					page_to_pfn(vm->sh_pages[i]), sh_data);
		if (ret)
			return ret;
		pfns = page_address(vm->sh_pages[pool + i / (PAGE_SIZE / 8)]);
		pfns[i % (PAGE_SIZE / 8)] = page_to_pfn(vm->sh_pages[i]);
	}
	for (i = 0; i < pfn_pages; i++) {
		ret = bt86_mmu_map_page(&vm->mmu,
					base + SH_PFNS_OFFSET + i * PAGE_SIZE,
					page_to_pfn(vm->sh_pages[pool + i]),
					sh_data);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * At the first RUN, with vm->lock held and guest RAM's identity map built.
 * On failure the caller frees the VM's monitor world, this included.
 */
int bt86_shadow_build_vm(struct bt86_vm *vm, u64 ram_end)
{
	u64 base = bt86_monitor_base();
	unsigned long pdpt;
	int ret;

	ret = bt86_shadow_map_phys(vm, base + SH_PHYS_OFFSET);
	if (!ret)
		ret = bt86_mmu_map_leaf_tables(&vm->mmu, base + SH_GPT_OFFSET,
					       ram_end, sh_data);
	if (!ret)
		ret = bt86_shadow_alloc_pool(vm, base, ram_end);
	if (ret)
		return ret;
	/* The low 4 GiB: PDPT entries 0-3 under the root's entry 0. */
	pdpt = bt86_mmu_table_pfn(&vm->mmu, 0, 3);
	if (!pdpt)
		return -EINVAL;
	return bt86_mmu_map_page(&vm->mmu, base + SH_PDPT_OFFSET, pdpt,
				 sh_data);
}

/* The addresses the monitor needs, once the vCPU's world is built. */
void bt86_shadow_build_vcpu(struct bt86_vcpu *vcpu, struct bt86_xdata *x)
{
	struct bt86_vm *vm = vcpu->vm;
	u64 base = bt86_monitor_base();
	unsigned int i;

	x->sh.pool = base + SH_POOL_OFFSET;
	x->sh.pfns = base + SH_PFNS_OFFSET;
	x->sh.phys = base + SH_PHYS_OFFSET;
	x->sh.gpt = base + SH_GPT_OFFSET;
	x->sh.low_pdpt = base + SH_PDPT_OFFSET;
	x->sh.pool_pages = vm->sh_pool_pages;
	x->sh.window_low = 0;
	if (!x->bt.enabled)
		return;
	/* Every shadow maps the translator's window as the identity map does. */
	x->sh.window_low = x->bt.window_low;
	for (i = 0; i < 2; i++)
		x->sh.window_pde[i] = bt86_mmu_entry(
			&vm->mmu, (u64)x->bt.window_low + i * PMD_SIZE, 2);
}

/* The VM is being destroyed: nothing runs on these pages any more. */
void bt86_shadow_free_vm(struct bt86_vm *vm)
{
	unsigned long i;

	for (i = 0; i < vm->sh_npages; i++)
		__free_page(vm->sh_pages[i]);
	kvfree(vm->sh_pages);
	vm->sh_pages = NULL;
	vm->sh_npages = 0;
	vm->sh_pool_pages = 0;
}
