/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bt86.ko private header: the objects of the module and the functions one
 * file offers the others, grouped by the file that defines them.
 *
 * Objects and who owns them:
 *   struct bt86_vm       one per BT86_CREATE_VM; refcounted (kref).  The VM
 *                        fd holds one reference, every vCPU fd another; it
 *                        is destroyed when the last of those fds closes.
 *   struct bt86_memslot  guest-physical -> pinned host pages; owned by the VM.
 *   struct bt86_vcpu     owned by the VM (freed with it, as in KVM); its fd
 *                        only holds a VM reference.
 */
#ifndef BT86_PRIV_H
#define BT86_PRIV_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "uapi/bt86.h"
#include "monitor.h"

struct bt86_xdata;

/*
 * The run area a vCPU fd maps: page 0 holds struct bt86_run, page 1 the data
 * of port I/O exits (run->io.data_offset points there).
 */
#define BT86_RUN_PAGES		2
#define BT86_RUN_IO_DATA_OFFSET PAGE_SIZE

/* No vector is pending in bt86_vcpu.pending_vector. */
#define BT86_NO_VECTOR (-1)

struct bt86_memslot {
	u64 gfn;	      /* first guest frame */
	unsigned long npages; /* 0: the slot is empty */
	unsigned long userspace_addr;
	struct page **pages; /* npages pinned pages */
};

struct bt86_vcpu {
	struct bt86_vm *vm;
	unsigned int id;
	struct mutex mutex; /* serializes this vCPU's ioctls */
	struct page *run_pages[BT86_RUN_PAGES];
	struct bt86_run *run; /* page_address(run_pages[0]) */

	/* Guest state, as userland last set it (the monitor owns it later). */
	struct bt86_regs regs;
	struct bt86_sregs sregs;
	int pending_vector; /* BT86_NO_VECTOR or 0..255 */

	/* The monitor world (world.c), built at the first RUN. */
	struct bt86_xdata *x; /* crosspage data: monitor GDT/IDT/TSS, stacks */
	bool dead;	      /* the monitor faulted: RUN fails with -EIO */
	bool state_dirty; /* regs/sregs set by userland since the last RUN */
	struct bt86_vcpu_stats stats;
	/* BT mode: the window, translation cache and metadata (btarea.c) */
	struct page **bt_pages;
	unsigned int bt_npages;
	/* time accounting for the stats (world.c) */
	u64 tsc_trips;	  /* TSC cycles inside the monitor's world */
	u64 run_ns;	  /* inside BT86_RUN */
	u64 last_exit_ns; /* when BT86_RUN last returned, or 0 */
};

struct bt86_vm {
	struct kref ref;
	struct mm_struct *mm; /* creator's mm, held with mmgrab() */
	unsigned int mode;    /* BT86_MODE_BT or BT86_MODE_TAE */
	struct mutex lock;    /* guards memslots[] and vcpus[] */
	struct bt86_memslot memslots[BT86_MAX_MEMORY_SLOTS];
	struct bt86_vcpu *vcpus[BT86_MAX_VCPUS];

	/* The monitor address space and image (world.c, at the first RUN). */
	bool world_built;
	struct bt86_mmu mmu;
	struct bt86_monitor_image image;
};

/* main.c: module-wide counters, shown in /sys/class/misc/bt86/ */
extern atomic_long_t bt86_live_vms;
extern atomic_long_t bt86_pinned_pages;

/* vm.c */
int bt86_vm_create(unsigned long mode);
void bt86_vm_get(struct bt86_vm *vm);
void bt86_vm_put(struct bt86_vm *vm);
bool bt86_vm_is_caller_mm(const struct bt86_vm *vm);

/* memory.c (callers hold vm->lock) */
int bt86_set_memory_region(struct bt86_vm *vm,
			   const struct bt86_memory_region *mr);
void bt86_memslots_release(struct bt86_vm *vm);
struct page *bt86_gfn_to_page(struct bt86_vm *vm, u64 gfn);

/* vcpu.c (callers hold vm->lock) */
int bt86_vcpu_create(struct bt86_vm *vm, unsigned long id);
void bt86_vcpu_free(struct bt86_vcpu *vcpu);
unsigned long bt86_vcpu_mmap_size(void);

/* world.c */
int bt86_world_check(void);
int bt86_world_run(struct bt86_vcpu *vcpu);
int bt86_world_arm_fault(struct bt86_vcpu *vcpu);
void bt86_world_free_vcpu(struct bt86_vcpu *vcpu);
void bt86_world_free_vm(struct bt86_vm *vm);
void bt86_world_stats(struct bt86_vcpu *vcpu, struct bt86_vcpu_stats *st);

/* btarea.c (callers hold vm->lock) */
int bt86_btarea_map_vm(struct bt86_vm *vm, u64 ram_end);
u64 bt86_btarea_gpt(void);
int bt86_btarea_build(struct bt86_vcpu *vcpu, struct bt86_xdata *x);
void bt86_btarea_free(struct bt86_vcpu *vcpu);

/* state.c */
void bt86_reset_state(struct bt86_regs *regs, struct bt86_sregs *sregs);
int bt86_check_regs(const struct bt86_regs *regs);
int bt86_check_sregs(const struct bt86_sregs *sregs);

#endif /* BT86_PRIV_H */
