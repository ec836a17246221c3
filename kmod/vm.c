// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object and its fd.
 *
 * A VM lives as long as any fd refers to it: the VM fd holds one reference
 * and every vCPU fd another, so closing the VM fd while a vCPU fd is open
 * keeps the memory pinned and the vCPU usable until that fd closes too.
 *
 * The VM remembers the mm of the process that created it.  A child that
 * inherited the fd through fork() has another mm; every VM and vCPU call it
 * makes fails with -EIO, as KVM does, because guest memory was pinned from
 * (and is accounted to) the creator's address space.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bt86.h"

static struct bt86_vm *bt86_vm_alloc(unsigned int mode, unsigned int flags)
{
	struct bt86_vm *vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return NULL;
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	vm->mode = mode;
	vm->flags = flags;
	vm->mm = current->mm;
	mmgrab(vm->mm);
	atomic_long_inc(&bt86_live_vms);
	return vm;
}

/* Called when the last fd referring to the VM is gone: nobody else sees it. */
static void bt86_vm_destroy(struct kref *ref)
{
	struct bt86_vm *vm = container_of(ref, struct bt86_vm, ref);
	unsigned int i;

	for (i = 0; i < BT86_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			bt86_vcpu_free(vm->vcpus[i]);
	bt86_world_free_vm(vm);
	bt86_memslots_release(vm);
	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
	atomic_long_dec(&bt86_live_vms);
}

void bt86_vm_get(struct bt86_vm *vm)
{
	kref_get(&vm->ref);
}

void bt86_vm_put(struct bt86_vm *vm)
{
	kref_put(&vm->ref, bt86_vm_destroy);
}

bool bt86_vm_is_caller_mm(const struct bt86_vm *vm)
{
	return current->mm == vm->mm;
}

static int bt86_vm_release(struct inode *inode, struct file *file)
{
	bt86_vm_put(file->private_data);
	return 0;
}

/* The region is copied once; only the copy is validated and used. */
static long bt86_vm_ioctl_set_memory_region(struct bt86_vm *vm,
					    void __user *argp)
{
	struct bt86_memory_region mr;
	long ret;

	if (copy_from_user(&mr, argp, sizeof(mr)))
		return -EFAULT;
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	/*
	 * Once a vCPU has run, guest RAM is mapped in the monitor's page
	 * tables: the layout is fixed for the VM's life (for now).
	 */
	if (vm->world_built)
		ret = -EBUSY;
	else
		ret = bt86_set_memory_region(vm, &mr);
	mutex_unlock(&vm->lock);
	return ret;
}

static long bt86_vm_ioctl_create_vcpu(struct bt86_vm *vm, unsigned long id)
{
	long ret;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	ret = bt86_vcpu_create(vm, id);
	mutex_unlock(&vm->lock);
	return ret;
}

static long bt86_vm_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct bt86_vm *vm = file->private_data;

	if (!bt86_vm_is_caller_mm(vm))
		return -EIO;

	switch (cmd) {
	case BT86_SET_MEMORY_REGION:
		return bt86_vm_ioctl_set_memory_region(vm, (void __user *)arg);
	case BT86_CREATE_VCPU:
		return bt86_vm_ioctl_create_vcpu(vm, arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bt86_vm_fops = {
	.owner = THIS_MODULE,
	.release = bt86_vm_release,
	.unlocked_ioctl = bt86_vm_ioctl,
	.llseek = noop_llseek,
};

/*
 * BT86_CREATE_VM: returns the new VM's fd.  @arg is a mode and flags; a
 * bit this version does not know, or a flag the mode has no use for, is
 * refused rather than ignored.
 */
int bt86_vm_create(unsigned long arg)
{
	unsigned long mode = arg & BT86_MODE_MASK;
	unsigned long flags = arg & ~(unsigned long)BT86_MODE_MASK;
	struct bt86_vm *vm;
	int fd;

	if (mode != BT86_MODE_BT && mode != BT86_MODE_TAE)
		return -EINVAL;
	if (flags & ~(unsigned long)BT86_VM_FLAGS)
		return -EINVAL;
	if ((flags & BT86_VM_BT_CHECKED) && mode != BT86_MODE_BT)
		return -EINVAL;

	vm = bt86_vm_alloc(mode, flags);
	if (!vm)
		return -ENOMEM;

	fd = anon_inode_getfd("bt86-vm", &bt86_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		bt86_vm_put(vm);
	return fd;
}
