// SPDX-License-Identifier: GPL-2.0
/*
 * A VM fd: CREATE_VCPU, unknown ioctls, and the rule that only the creating
 * process (its mm) may use a VM or its vCPUs: a forked child gets EIO.
 */
#include "api.h"

FIXTURE(vm)
{
	int dev;
	int vm;
};

FIXTURE_SETUP(vm)
{
	OPEN_DEV_OR_SKIP(self->dev);
	self->vm = CREATE_VM(self->dev);
}

FIXTURE_TEARDOWN(vm)
{
	close(self->vm);
	close(self->dev);
}

TEST_F(vm, create_vcpu)
{
	int vcpu = __create_vcpu(self->vm, 0);

	ASSERT_LE(0, vcpu);
	EXPECT_EQ(FD_CLOEXEC, fcntl(vcpu, F_GETFD));
	EXPECT_EQ(O_RDWR, fcntl(vcpu, F_GETFL) & O_ACCMODE);
	close(vcpu);
}

TEST_F(vm, create_vcpu_bad_id)
{
	EXPECT_EQ(-EINVAL, __create_vcpu(self->vm, BT86_MAX_VCPUS));
	EXPECT_EQ(-EINVAL, __create_vcpu(self->vm, 0x80000000UL));
	EXPECT_EQ(-EINVAL, __create_vcpu(self->vm, -1UL));
}

TEST_F(vm, create_vcpu_twice)
{
	int vcpu = CREATE_VCPU(self->vm, 0);

	EXPECT_EQ(-EEXIST, __create_vcpu(self->vm, 0));
	/* The vCPU belongs to the VM: closing its fd does not free the id. */
	close(vcpu);
	EXPECT_EQ(-EEXIST, __create_vcpu(self->vm, 0));
}

TEST_F(vm, unknown_ioctl)
{
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vm, _IO(BT86IO, 0x7f), 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vm, BT86_GET_API_VERSION, 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vm, BT86_CREATE_VM, 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vm, BT86_RUN, 0));
}

TEST_F(vm, bad_region_pointer)
{
	EXPECT_EQ(-EFAULT, raw_ioctl(self->vm, BT86_SET_MEMORY_REGION, 0));
	EXPECT_EQ(-EFAULT, raw_ioctl(self->vm, BT86_SET_MEMORY_REGION,
				     0xffff800000000000UL));
}

/* --- a forked child may not use its parent's VM -------------------------- */

struct inherited {
	int vm;
	int vcpu;
	void *ram;
};

/* Exit status 0 when every call failed with EIO, else the failing step. */
static int child_uses_vm(void *arg)
{
	struct inherited *in = arg;
	struct bt86_memory_region mr = {
		.slot = 1,
		.memory_size = PAGE,
		.userspace_addr = (uintptr_t)in->ram,
	};
	struct bt86_regs regs;
	struct bt86_interrupt irq = { .vector = 32 };

	if (raw_ioctl_p(in->vm, BT86_SET_MEMORY_REGION, &mr) != -EIO)
		return 1;
	if (raw_ioctl(in->vm, BT86_CREATE_VCPU, 0) != -EIO)
		return 2;
	if (raw_ioctl_p(in->vcpu, BT86_GET_REGS, &regs) != -EIO)
		return 3;
	if (raw_ioctl(in->vcpu, BT86_RUN, 0) != -EIO)
		return 4;
	if (raw_ioctl_p(in->vcpu, BT86_INTERRUPT, &irq) != -EIO)
		return 5;
	if (mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, in->vcpu,
		 0) != MAP_FAILED ||
	    errno != EIO)
		return 6;
	/* Unknown ioctls too: the mm check comes first. */
	if (raw_ioctl(in->vm, _IO(BT86IO, 0x7f), 0) != -EIO)
		return 7;
	return 0;
}

TEST_F(vm, forked_child_gets_eio)
{
	long pinned = read_counter("pinned_pages");
	struct inherited in = { .vm = self->vm };
	struct bt86_interrupt irq = { .vector = 32 };

	in.ram = ALLOC_RAM(PAGE);
	SET_MEMORY_REGION(self->vm, 0, 0, PAGE, in.ram);
	in.vcpu = CREATE_VCPU(self->vm, 0);

	EXPECT_EQ(0, in_child(child_uses_vm, &in));

	/* The child's exit closed its copies; the parent's VM is intact. */
	EXPECT_EQ(pinned + 1, read_counter("pinned_pages"));
	EXPECT_EQ(0, raw_ioctl_p(in.vcpu, BT86_INTERRUPT, &irq));
	EXPECT_EQ(-EEXIST, __create_vcpu(self->vm, 0));
	close(in.vcpu);
}

TEST_HARNESS_MAIN
