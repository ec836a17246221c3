// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: up to BT86_MAX_MEMORY_SLOTS slots, each mapping a page-aligned
 * range of the launcher's memory into guest-physical space.
 *
 * A slot's pages are pinned for as long as the slot exists (FOLL_LONGTERM:
 * the monitor will map them into its own page tables and read them without
 * faulting), and charged to the creator's RLIMIT_MEMLOCK.  The file has three
 * parts: checking a bt86_memory_region, pinning and unpinning, and the slot
 * table itself (add, delete, release, lookup).
 *
 * Every function here runs with vm->lock held, or during VM destruction when
 * nobody else can reach the VM.
 */
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bt86.h"

/*
 * Pages pinned per pin_user_pages_fast() call: bounds the time between
 * checks for a fatal signal when a launcher registers gigabytes.
 */
#define BT86_PIN_CHUNK 512UL

/* --- checking a region ---------------------------------------------------- */

static int bt86_check_region_id(const struct bt86_memory_region *mr)
{
	if (mr->flags)
		return -EINVAL;
	if (mr->slot >= BT86_MAX_MEMORY_SLOTS)
		return -EINVAL;
	return 0;
}

static int bt86_check_region_alignment(const struct bt86_memory_region *mr)
{
	if (!PAGE_ALIGNED(mr->guest_phys_addr) ||
	    !PAGE_ALIGNED(mr->memory_size) || !PAGE_ALIGNED(mr->userspace_addr))
		return -EINVAL;
	return 0;
}

/* guest_phys_addr + memory_size must not wrap and must stay below 4 GiB. */
static int bt86_check_region_gpa(const struct bt86_memory_region *mr)
{
	if (mr->memory_size > BT86_MAX_GUEST_PHYS ||
	    mr->guest_phys_addr > BT86_MAX_GUEST_PHYS - mr->memory_size)
		return -EINVAL;
	return 0;
}

/* access_ok() also rejects a range that wraps around. */
static int bt86_check_region_user(const struct bt86_memory_region *mr)
{
	void __user *uaddr = u64_to_user_ptr(mr->userspace_addr);

	if (!access_ok(uaddr, mr->memory_size))
		return -EFAULT;
	return 0;
}

static bool bt86_memslot_overlaps(const struct bt86_memslot *slot, u64 gfn,
				  unsigned long npages)
{
	if (!slot->npages)
		return false;
	return gfn < slot->gfn + slot->npages && slot->gfn < gfn + npages;
}

static bool bt86_any_memslot_overlaps(struct bt86_vm *vm, u64 gfn,
				      unsigned long npages)
{
	unsigned int i;

	for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++)
		if (bt86_memslot_overlaps(&vm->memslots[i], gfn, npages))
			return true;
	return false;
}

/* --- pinning -------------------------------------------------------------- */

static void bt86_unpin(struct page **pages, unsigned long npages)
{
	unpin_user_pages_dirty_lock(pages, npages, true);
	atomic_long_sub(npages, &bt86_pinned_pages);
}

/*
 * Pin npages of the caller's memory from uaddr into pages[].  All or nothing:
 * on failure whatever was pinned is unpinned again.
 */
static int bt86_pin(unsigned long uaddr, unsigned long npages,
		    struct page **pages)
{
	unsigned long done = 0;
	long ret;

	while (done < npages) {
		int chunk = min(npages - done, BT86_PIN_CHUNK);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto unpin;
		}
		ret = pin_user_pages_fast(uaddr + done * PAGE_SIZE, chunk,
					  FOLL_WRITE | FOLL_LONGTERM,
					  pages + done);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			goto unpin;
		}
		done += ret;
		atomic_long_add(ret, &bt86_pinned_pages);
		cond_resched();
	}
	return 0;

unpin:
	bt86_unpin(pages, done);
	return ret;
}

/* --- the slot table ------------------------------------------------------- */

static int bt86_memslot_fill(struct bt86_vm *vm, struct bt86_memslot *slot,
			     const struct bt86_memory_region *mr)
{
	unsigned long npages = mr->memory_size >> PAGE_SHIFT;
	struct page **pages;
	int ret;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;

	ret = account_locked_vm(vm->mm, npages, true);
	if (ret)
		goto free_pages;

	ret = bt86_pin(mr->userspace_addr, npages, pages);
	if (ret)
		goto unaccount;

	slot->gfn = mr->guest_phys_addr >> PAGE_SHIFT;
	slot->npages = npages;
	slot->userspace_addr = mr->userspace_addr;
	slot->pages = pages;
	return 0;

unaccount:
	account_locked_vm(vm->mm, npages, false);
free_pages:
	kvfree(pages);
	return ret;
}

static void bt86_memslot_clear(struct bt86_vm *vm, struct bt86_memslot *slot)
{
	bt86_unpin(slot->pages, slot->npages);
	account_locked_vm(vm->mm, slot->npages, false);
	kvfree(slot->pages);
	memset(slot, 0, sizeof(*slot));
}

/*
 * BT86_SET_MEMORY_REGION.  memory_size 0 deletes the slot (only flags and
 * slot are looked at then); otherwise the slot must be empty and the new
 * range may not overlap another slot.  docs/ioctl-api.md lists the errors.
 */
int bt86_set_memory_region(struct bt86_vm *vm,
			   const struct bt86_memory_region *mr)
{
	struct bt86_memslot *slot;
	int ret;

	ret = bt86_check_region_id(mr);
	if (ret)
		return ret;
	slot = &vm->memslots[array_index_nospec(mr->slot,
						BT86_MAX_MEMORY_SLOTS)];

	if (!mr->memory_size) {
		if (!slot->npages)
			return -EINVAL;
		bt86_memslot_clear(vm, slot);
		return 0;
	}

	ret = bt86_check_region_alignment(mr);
	if (!ret)
		ret = bt86_check_region_gpa(mr);
	if (!ret)
		ret = bt86_check_region_user(mr);
	if (ret)
		return ret;

	if (slot->npages)
		return -EBUSY;
	if (bt86_any_memslot_overlaps(vm, mr->guest_phys_addr >> PAGE_SHIFT,
				      mr->memory_size >> PAGE_SHIFT))
		return -EEXIST;

	return bt86_memslot_fill(vm, slot, mr);
}

/* Unpin every slot: the VM is being destroyed. */
void bt86_memslots_release(struct bt86_vm *vm)
{
	unsigned int i;

	for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++)
		if (vm->memslots[i].npages)
			bt86_memslot_clear(vm, &vm->memslots[i]);
}

/*
 * The pinned page backing guest frame gfn, or NULL if no slot covers it.
 * For the monitor: gfn comes from the guest and is bounds-checked here.
 */
struct page *bt86_gfn_to_page(struct bt86_vm *vm, u64 gfn)
{
	struct bt86_memslot *slot;
	unsigned int i;

	for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++) {
		slot = &vm->memslots[i];
		if (slot->npages && gfn >= slot->gfn &&
		    gfn - slot->gfn < slot->npages)
			return slot->pages[gfn - slot->gfn];
	}
	return NULL;
}
