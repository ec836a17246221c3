// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/bt86 itself: API version, CREATE_VM, the vCPU mmap size, unknown
 * ioctls, the node's mode and the sysfs counters.
 */
#include <sys/stat.h>

#include "api.h"

FIXTURE(dev)
{
	int dev;
};

FIXTURE_SETUP(dev)
{
	OPEN_DEV_OR_SKIP(self->dev);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->dev);
}

TEST_F(dev, api_version)
{
	EXPECT_EQ(BT86_API_VERSION,
		  raw_ioctl(self->dev, BT86_GET_API_VERSION, 0));
	/* Argument-less ioctls take 0 only, so it can get a meaning later. */
	EXPECT_EQ(-EINVAL, raw_ioctl(self->dev, BT86_GET_API_VERSION, 1));
}

static void check_vm_fd(struct __test_metadata *_metadata, int fd)
{
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, close(fd));
}

TEST_F(dev, create_vm_bt)
{
	check_vm_fd(_metadata, __create_vm(self->dev, BT86_MODE_BT));
}

TEST_F(dev, create_vm_tae)
{
	check_vm_fd(_metadata, __create_vm(self->dev, BT86_MODE_TAE));
}

TEST_F(dev, create_vm_bt_checked)
{
	check_vm_fd(_metadata,
		    __create_vm(self->dev, BT86_MODE_BT | BT86_VM_BT_CHECKED));
}

TEST_F(dev, create_vm_bad_mode)
{
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, 2));
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, 0xff));
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, -1UL));
	/* flags this version does not know, or not for this mode */
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, 0x200));
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, BT86_VM_BT_CHECKED << 1));
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, 1UL << 32));
	EXPECT_EQ(-EINVAL,
		  __create_vm(self->dev, BT86_MODE_TAE | BT86_VM_BT_CHECKED));
	EXPECT_EQ(-EINVAL, __create_vm(self->dev, 2 | BT86_VM_BT_CHECKED));
}

TEST_F(dev, create_many_vms)
{
	long base = read_counter("vms");
	int fds[16];
	int i;

	for (i = 0; i < 16; i++)
		fds[i] = CREATE_VM(self->dev);
	EXPECT_EQ(base + 16, read_counter("vms"));
	for (i = 0; i < 16; i++)
		close(fds[i]);
	EXPECT_EQ(base, read_counter("vms"));
}

TEST_F(dev, vcpu_mmap_size)
{
	long size = raw_ioctl(self->dev, BT86_GET_VCPU_MMAP_SIZE, 0);

	EXPECT_GE(size, (long)sizeof(struct bt86_run));
	EXPECT_EQ(0, size % PAGE);
	/* The run structure and one page of I/O data. */
	EXPECT_EQ(2 * PAGE, size);
	EXPECT_EQ(-EINVAL, raw_ioctl(self->dev, BT86_GET_VCPU_MMAP_SIZE, 1));
}

TEST_F(dev, unknown_ioctl)
{
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->dev, _IO(BT86IO, 0x7f), 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->dev, _IO(0xAE, 0x00), 0));
	/* VM and vCPU ioctls mean nothing on /dev/bt86. */
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->dev, BT86_CREATE_VCPU, 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->dev, BT86_RUN, 0));
}

TEST_F(dev, node_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(BT86_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777);
}

TEST_F(dev, sysfs_counters)
{
	EXPECT_LE(0, read_counter("vms"));
	EXPECT_LE(0, read_counter("pinned_pages"));
	/* Read-only: nobody may reset them. */
	EXPECT_EQ(-1, open(BT86_SYSFS "vms", O_WRONLY));
}

TEST_HARNESS_MAIN
