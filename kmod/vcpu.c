// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU object and its fd: register state, a pending interrupt, and the
 * run area that userland maps.
 *
 * A vCPU belongs to its VM and is freed with it (as in KVM): closing a vCPU
 * fd only drops the VM reference the fd holds, and the id stays taken.  Each
 * vCPU ioctl takes vcpu->mutex, so RUN (next issue) never races with a
 * GET/SET of the same vCPU.
 *
 * Parts: the run area (pages, mmap, fault), the ioctls, creation and freeing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bt86.h"
#include "xdata.h"

/* --- the run area --------------------------------------------------------- */

unsigned long bt86_vcpu_mmap_size(void)
{
	BUILD_BUG_ON(sizeof(struct bt86_run) > BT86_RUN_IO_DATA_OFFSET);
	return BT86_RUN_PAGES * PAGE_SIZE;
}

static int bt86_run_pages_alloc(struct bt86_vcpu *vcpu)
{
	unsigned int i;

	for (i = 0; i < BT86_RUN_PAGES; i++) {
		vcpu->run_pages[i] =
			alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!vcpu->run_pages[i])
			return -ENOMEM;
	}
	vcpu->run = page_address(vcpu->run_pages[0]);
	return 0;
}

/* Drops our reference; a page still mapped or pinned by userland lives on. */
static void bt86_run_pages_free(struct bt86_vcpu *vcpu)
{
	unsigned int i;

	for (i = 0; i < BT86_RUN_PAGES; i++)
		if (vcpu->run_pages[i])
			__free_page(vcpu->run_pages[i]);
}

/* Hands out the run pages one by one; the mapping takes its own reference. */
static vm_fault_t bt86_run_fault(struct vm_fault *vmf)
{
	struct bt86_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff >= BT86_RUN_PAGES)
		return VM_FAULT_SIGBUS;
	page = vcpu->run_pages[array_index_nospec(vmf->pgoff, BT86_RUN_PAGES)];
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct bt86_run_vm_ops = {
	.fault = bt86_run_fault,
};

/*
 * The run area is shared with the module, so a private (copy-on-write)
 * mapping would silently stop seeing the module's writes: refuse it.
 * VM_DONTEXPAND keeps mremap() from growing the mapping past the area.
 */
static int bt86_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct bt86_vcpu *vcpu = file->private_data;

	if (!bt86_vm_is_caller_mm(vcpu->vm))
		return -EIO;
	if (vma->vm_pgoff || vma_pages(vma) > BT86_RUN_PAGES)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &bt86_run_vm_ops;
	return 0;
}

/* --- the ioctls ----------------------------------------------------------- */

static long bt86_vcpu_get_regs(struct bt86_vcpu *vcpu, void __user *argp)
{
	if (copy_to_user(argp, &vcpu->regs, sizeof(vcpu->regs)))
		return -EFAULT;
	return 0;
}

/* Copied once; only the checked copy is stored. */
static long bt86_vcpu_set_regs(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_regs regs;

	if (copy_from_user(&regs, argp, sizeof(regs)))
		return -EFAULT;
	if (bt86_check_regs(&regs))
		return -EINVAL;
	vcpu->regs = regs;
	vcpu->state_dirty = true;
	return 0;
}

static long bt86_vcpu_get_sregs(struct bt86_vcpu *vcpu, void __user *argp)
{
	if (copy_to_user(argp, &vcpu->sregs, sizeof(vcpu->sregs)))
		return -EFAULT;
	return 0;
}

static long bt86_vcpu_set_sregs(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_sregs sregs;

	if (copy_from_user(&sregs, argp, sizeof(sregs)))
		return -EFAULT;
	if (bt86_check_sregs(&sregs))
		return -EINVAL;
	vcpu->sregs = sregs;
	vcpu->state_dirty = true;
	return 0;
}

/*
 * Queue one external interrupt.  It stays pending until the monitor delivers
 * it to the guest; a second one before that is refused with -EBUSY, so the
 * launcher's PIC model keeps ownership of anything not yet taken.
 */
static long bt86_vcpu_interrupt(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_interrupt irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.vector > 255)
		return -EINVAL;
	if (vcpu->pending_vector != BT86_NO_VECTOR)
		return -EBUSY;
	vcpu->pending_vector = irq.vector;
	return 0;
}

static long bt86_vcpu_run(struct bt86_vcpu *vcpu, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	return bt86_world_run(vcpu);
}

static long bt86_vcpu_get_stats(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_vcpu_stats st;

	bt86_world_stats(vcpu, &st);
	if (copy_to_user(argp, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

/* The guest's CPU model: kept here, copied into the monitor's world. */
static long bt86_vcpu_set_cpuid(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_cpuid __user *uc = argp;
	struct bt86_xcpuid *c;
	struct bt86_cpuid hdr;
	u32 i;

	if (copy_from_user(&hdr, uc, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > BT86_CPUID_MAX_ENTRIES || hdr.pad)
		return -EINVAL;
	if (vcpu->x)
		return -EBUSY; /* the guest has run: its CPU cannot change */
	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	if (copy_from_user(c->e, uc->entries, hdr.nent * sizeof(c->e[0]))) {
		kfree(c);
		return -EFAULT;
	}
	for (i = 0; i < hdr.nent; i++) {
		if (c->e[i].flags & ~BT86_CPUID_INDEXED || c->e[i].pad) {
			kfree(c);
			return -EINVAL;
		}
	}
	c->nent = hdr.nent;
	kfree(vcpu->cpuid);
	vcpu->cpuid = c;
	return 0;
}

static long bt86_vcpu_test_monitor_fault(struct bt86_vcpu *vcpu,
					 unsigned long arg)
{
	if (arg)
		return -EINVAL;
	return bt86_world_arm_fault(vcpu);
}

static long bt86_vcpu_do_ioctl(struct bt86_vcpu *vcpu, unsigned int cmd,
			       unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case BT86_RUN:
		return bt86_vcpu_run(vcpu, arg);
	case BT86_GET_REGS:
		return bt86_vcpu_get_regs(vcpu, argp);
	case BT86_SET_REGS:
		return bt86_vcpu_set_regs(vcpu, argp);
	case BT86_GET_SREGS:
		return bt86_vcpu_get_sregs(vcpu, argp);
	case BT86_SET_SREGS:
		return bt86_vcpu_set_sregs(vcpu, argp);
	case BT86_INTERRUPT:
		return bt86_vcpu_interrupt(vcpu, argp);
	case BT86_GET_VCPU_STATS:
		return bt86_vcpu_get_stats(vcpu, argp);
	case BT86_SET_CPUID:
		return bt86_vcpu_set_cpuid(vcpu, argp);
	case BT86_TEST_MONITOR_FAULT:
		return bt86_vcpu_test_monitor_fault(vcpu, arg);
	default:
		return -ENOTTY;
	}
}

static long bt86_vcpu_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct bt86_vcpu *vcpu = file->private_data;
	long ret;

	if (!bt86_vm_is_caller_mm(vcpu->vm))
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	ret = bt86_vcpu_do_ioctl(vcpu, cmd, arg);
	mutex_unlock(&vcpu->mutex);
	return ret;
}

static int bt86_vcpu_release(struct inode *inode, struct file *file)
{
	struct bt86_vcpu *vcpu = file->private_data;

	bt86_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations bt86_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = bt86_vcpu_release,
	.unlocked_ioctl = bt86_vcpu_ioctl,
	.mmap = bt86_vcpu_mmap,
	.llseek = noop_llseek,
};

/* --- creation and freeing ------------------------------------------------- */

static struct bt86_vcpu *bt86_vcpu_alloc(struct bt86_vm *vm, unsigned int id)
{
	struct bt86_vcpu *vcpu;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	vcpu->pending_vector = BT86_NO_VECTOR;
	bt86_reset_state(&vcpu->regs, &vcpu->sregs);
	vcpu->state_dirty = true;
	if (bt86_run_pages_alloc(vcpu)) {
		bt86_vcpu_free(vcpu);
		return NULL;
	}
	return vcpu;
}

/* Called by the VM's destruction, or when creating the fd failed. */
void bt86_vcpu_free(struct bt86_vcpu *vcpu)
{
	bt86_world_free_vcpu(vcpu);
	bt86_run_pages_free(vcpu);
	kfree(vcpu->cpuid);
	mutex_destroy(&vcpu->mutex);
	kfree(vcpu);
}

/*
 * BT86_CREATE_VCPU, with vm->lock held.  The vCPU is complete before its fd
 * exists: another thread may use (or close) the fd as soon as it is
 * installed.
 */
int bt86_vcpu_create(struct bt86_vm *vm, unsigned long id)
{
	struct bt86_vcpu *vcpu;
	int fd;

	if (id >= BT86_MAX_VCPUS)
		return -EINVAL;
	id = array_index_nospec(id, BT86_MAX_VCPUS);
	if (vm->vcpus[id])
		return -EEXIST;

	vcpu = bt86_vcpu_alloc(vm, id);
	if (!vcpu)
		return -ENOMEM;

	bt86_vm_get(vm);
	fd = anon_inode_getfd("bt86-vcpu", &bt86_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0)
		goto put_vm;
	vm->vcpus[id] = vcpu;
	return fd;

put_vm:
	/* Not the last reference: the caller's VM fd holds one. */
	bt86_vm_put(vm);
	bt86_vcpu_free(vcpu);
	return fd;
}
