// SPDX-License-Identifier: GPL-2.0
/*
 * bt86.ko entry points: the /dev/bt86 misc device, its three ioctls, and the
 * module-wide counters shown read-only in /sys/class/misc/bt86/.
 *
 * Everything a VM owns hangs off its fd (vm.c); this file only creates VMs.
 * Every fd this module hands out has .owner = THIS_MODULE, so the module
 * cannot be unloaded while any of them (or a mapping of a run area) exists.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "bt86.h"
#include "monitor.h"

atomic_long_t bt86_live_vms = ATOMIC_LONG_INIT(0);
atomic_long_t bt86_pinned_pages = ATOMIC_LONG_INIT(0);

static ssize_t vms_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&bt86_live_vms));
}
static DEVICE_ATTR_RO(vms);

static ssize_t pinned_pages_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&bt86_pinned_pages));
}
static DEVICE_ATTR_RO(pinned_pages);

static struct attribute *bt86_attrs[] = {
	&dev_attr_vms.attr,
	&dev_attr_pinned_pages.attr,
	NULL,
};
ATTRIBUTE_GROUPS(bt86);

/*
 * The ioctls without arguments take arg 0 only, as KVM's do, so that a value
 * can be given a meaning later without breaking old launchers.
 */
static long bt86_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case BT86_GET_API_VERSION:
		return arg ? -EINVAL : BT86_API_VERSION;
	case BT86_CREATE_VM:
		return bt86_vm_create(arg);
	case BT86_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : bt86_vcpu_mmap_size();
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bt86_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = bt86_dev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice bt86_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "bt86",
	.fops = &bt86_dev_fops,
	.groups = bt86_groups,
	.mode = 0660,
};

static int __init bt86_init(void)
{
	int ret;

	ret = bt86_world_check();
	if (ret)
		return ret;
	ret = bt86_monitor_init();
	if (ret)
		return ret;
	ret = misc_register(&bt86_dev);
	if (ret) {
		pr_err("cannot register /dev/bt86: %d\n", ret);
		return ret;
	}
	pr_info("loaded, API version %d\n", BT86_API_VERSION);
	return 0;
}

static void __exit bt86_exit(void)
{
	misc_deregister(&bt86_dev);
}

module_init(bt86_init);
module_exit(bt86_exit);

MODULE_DESCRIPTION("bt86: a software-only x86 virtual machine monitor");
MODULE_LICENSE("GPL");
