// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU fd: mmap of the run area, the reset state, GET/SET round trips,
 * BT86_INTERRUPT, BT86_RUN before the monitor exists, unknown ioctls and
 * bad pointers.  The validation rules of SET_REGS/SET_SREGS are in
 * state_test.c.
 */
#include "api.h"

#define BAD_PTR ((void *)0xffff800000000000UL)

FIXTURE(vcpu)
{
	int dev;
	int vm;
	int vcpu;
	long mmap_size;
};

FIXTURE_SETUP(vcpu)
{
	OPEN_DEV_OR_SKIP(self->dev);
	self->vm = CREATE_VM(self->dev);
	self->vcpu = CREATE_VCPU(self->vm, 0);
	self->mmap_size = raw_ioctl(self->dev, BT86_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, self->mmap_size);
}

FIXTURE_TEARDOWN(vcpu)
{
	close(self->vcpu);
	close(self->vm);
	close(self->dev);
}

static void *map_run(int fd, size_t len, int flags, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);
}

/* --- the run area --------------------------------------------------------- */

TEST_F(vcpu, mmap_run_area)
{
	char *run = map_run(self->vcpu, self->mmap_size, MAP_SHARED, 0);
	int i;

	ASSERT_NE(MAP_FAILED, run);
	/* Fresh pages are zero; every byte can be written. */
	for (i = 0; i < self->mmap_size; i++)
		ASSERT_EQ(0, run[i]);
	memset(run, 0x5a, self->mmap_size);
	EXPECT_EQ(0, munmap(run, self->mmap_size));
}

TEST_F(vcpu, mmap_smaller_is_fine)
{
	void *run = map_run(self->vcpu, PAGE, MAP_SHARED, 0);

	ASSERT_NE(MAP_FAILED, run);
	EXPECT_EQ(0, munmap(run, PAGE));
}

TEST_F(vcpu, mmap_bad_offset)
{
	EXPECT_EQ(MAP_FAILED, map_run(self->vcpu, PAGE, MAP_SHARED, PAGE));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(vcpu, mmap_too_long)
{
	EXPECT_EQ(MAP_FAILED,
		  map_run(self->vcpu, self->mmap_size + PAGE, MAP_SHARED, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(vcpu, mmap_private_refused)
{
	EXPECT_EQ(MAP_FAILED,
		  map_run(self->vcpu, self->mmap_size, MAP_PRIVATE, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(vcpu, mmap_cannot_grow)
{
	void *run = map_run(self->vcpu, self->mmap_size, MAP_SHARED, 0);

	ASSERT_NE(MAP_FAILED, run);
	EXPECT_EQ(MAP_FAILED, mremap(run, self->mmap_size,
				     self->mmap_size + PAGE, MREMAP_MAYMOVE));
	munmap(run, self->mmap_size);
}

/* Two mappings see the same pages: the area is shared, not copied. */
TEST_F(vcpu, run_area_is_shared)
{
	char *a = map_run(self->vcpu, self->mmap_size, MAP_SHARED, 0);
	char *b = map_run(self->vcpu, self->mmap_size, MAP_SHARED, 0);
	struct bt86_run *run = (struct bt86_run *)a;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(a, b);
	run->immediate_exit = 1;
	a[PAGE + 17] = 0x42;
	EXPECT_EQ(1, ((struct bt86_run *)b)->immediate_exit);
	EXPECT_EQ(0x42, b[PAGE + 17]);
	munmap(a, self->mmap_size);
	EXPECT_EQ(0x42, b[PAGE + 17]);
	munmap(b, self->mmap_size);
}

/* --- registers ------------------------------------------------------------ */

TEST_F(vcpu, reset_state)
{
	struct bt86_regs regs = { 0 };
	struct bt86_sregs s = { 0 };

	GET_REGS(self->vcpu, &regs);
	EXPECT_EQ(0x2, regs.eflags);
	GET_SREGS(self->vcpu, &s);
	EXPECT_EQ(0x11, s.cr0); /* PE | ET */
	EXPECT_EQ(0, s.cr4);
	EXPECT_EQ(0, s.efer);
	EXPECT_EQ(0, s.cs.base);
	EXPECT_EQ(0xffffffff, s.cs.limit);
	EXPECT_EQ(0xb, s.cs.type);
	EXPECT_EQ(1, s.cs.g);
	EXPECT_EQ(1, s.cs.db);
	EXPECT_EQ(1, s.cs.present);
	EXPECT_EQ(0x3, s.ds.type);
	EXPECT_EQ(0x3, s.ss.type);
	EXPECT_EQ(0xb, s.tr.type);
	EXPECT_EQ(0x67, s.tr.limit);
	EXPECT_EQ(0, s.tr.s);
	EXPECT_EQ(1, s.ldt.unusable);
	/* What GET returns, SET accepts. */
	SET_REGS(self->vcpu, &regs);
	SET_SREGS(self->vcpu, &s);
}

TEST_F(vcpu, regs_round_trip)
{
	struct bt86_regs in = {
		.eax = 1,
		.ecx = 2,
		.edx = 3,
		.ebx = 4,
		.esp = 0x7ff0,
		.ebp = 6,
		.esi = 7,
		.edi = 8,
		.eip = 0x100000,
		.eflags = 0x2 | 0x200 | 0x1 | 0x3000, /* IF, CF, IOPL 3 */
	};
	struct bt86_regs out = { 0 };

	SET_REGS(self->vcpu, &in);
	GET_REGS(self->vcpu, &out);
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));
}

TEST_F(vcpu, sregs_round_trip)
{
	struct bt86_sregs in = { 0 }, out = { 0 };

	GET_SREGS(self->vcpu, &in);
	in.cr0 |= 0x80000000 | 0x10000 | 0x20; /* PG WP NE */
	in.cr3 = 0x1000;
	in.cr4 = 0x20 | 0x10 | 0x80; /* PAE PSE PGE */
	in.cr2 = 0xdeadb000;
	in.efer = 1 << 11; /* NXE */
	in.gdt.base = 0x8000;
	in.gdt.limit = 0x27;
	in.idt.base = 0x9000;
	in.idt.limit = 0x7ff;
	in.fs.base = 0x12340000;
	in.fs.unusable = 1;
	in.ldt = in.tr;
	in.ldt.type = 2;
	in.ldt.selector = 0x20;
	in.ldt.unusable = 0;
	SET_SREGS(self->vcpu, &in);
	GET_SREGS(self->vcpu, &out);
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));
}

TEST_F(vcpu, bad_pointers)
{
	EXPECT_EQ(-EFAULT, raw_ioctl_p(self->vcpu, BT86_GET_REGS, BAD_PTR));
	EXPECT_EQ(-EFAULT, raw_ioctl_p(self->vcpu, BT86_SET_REGS, BAD_PTR));
	EXPECT_EQ(-EFAULT, raw_ioctl_p(self->vcpu, BT86_GET_SREGS, BAD_PTR));
	EXPECT_EQ(-EFAULT, raw_ioctl_p(self->vcpu, BT86_SET_SREGS, NULL));
	EXPECT_EQ(-EFAULT, raw_ioctl_p(self->vcpu, BT86_INTERRUPT, NULL));
}

/* --- interrupts, RUN, unknown ioctls ------------------------------------- */

static long interrupt(int vcpu, uint32_t vector)
{
	struct bt86_interrupt irq = { .vector = vector };

	return raw_ioctl_p(vcpu, BT86_INTERRUPT, &irq);
}

TEST_F(vcpu, interrupt)
{
	EXPECT_EQ(0, interrupt(self->vcpu, 0x20));
	/* One at a time: the first has not been delivered yet. */
	EXPECT_EQ(-EBUSY, interrupt(self->vcpu, 0x21));
}

TEST_F(vcpu, interrupt_vector_limits)
{
	int vm2 = CREATE_VM(self->dev);
	int vcpu2 = CREATE_VCPU(vm2, 0);

	EXPECT_EQ(-EINVAL, interrupt(self->vcpu, 256));
	EXPECT_EQ(-EINVAL, interrupt(self->vcpu, 0xffffffff));
	EXPECT_EQ(0, interrupt(self->vcpu, 255));
	EXPECT_EQ(0, interrupt(vcpu2, 0));
	close(vcpu2);
	close(vm2);
}

/* --- the CPU model (BT86_SET_CPUID) --------------------------------------- */

static long set_cpuid(int vcpu, uint32_t nent, uint32_t flags, uint32_t pad)
{
	struct {
		struct bt86_cpuid hdr;
		struct bt86_cpuid_entry e[BT86_CPUID_MAX_ENTRIES + 1];
	} c = { .hdr.nent = nent };

	c.e[0].function = 1;
	c.e[0].flags = flags;
	c.e[0].pad = pad;
	return raw_ioctl_p(vcpu, BT86_SET_CPUID, &c);
}

TEST_F(vcpu, set_cpuid_checks_its_table)
{
	EXPECT_EQ(0, set_cpuid(self->vcpu, 1, 0, 0));
	EXPECT_EQ(0, set_cpuid(self->vcpu, 1, BT86_CPUID_INDEXED, 0));
	EXPECT_EQ(0, set_cpuid(self->vcpu, 0, 0, 0)); /* back to the host's */
	EXPECT_EQ(0, set_cpuid(self->vcpu, BT86_CPUID_MAX_ENTRIES, 0, 0));
	EXPECT_EQ(-EINVAL,
		  set_cpuid(self->vcpu, BT86_CPUID_MAX_ENTRIES + 1, 0, 0));
	EXPECT_EQ(-EINVAL, set_cpuid(self->vcpu, 1, 2, 0)); /* unknown flag */
	EXPECT_EQ(-EINVAL, set_cpuid(self->vcpu, 1, 0, 1)); /* pad */
	EXPECT_EQ(-EFAULT, raw_ioctl_p(self->vcpu, BT86_SET_CPUID, BAD_PTR));
}

/* RUN takes no argument. */
TEST_F(vcpu, run_argument_must_be_zero)
{
	EXPECT_EQ(-EINVAL, raw_ioctl(self->vcpu, BT86_RUN, 1));
}

TEST_F(vcpu, unknown_ioctl)
{
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vcpu, _IO(BT86IO, 0x7f), 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vcpu, BT86_GET_API_VERSION, 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vcpu, BT86_CREATE_VCPU, 0));
	EXPECT_EQ(-ENOTTY, raw_ioctl(self->vcpu, BT86_SET_MEMORY_REGION, 0));
}

TEST_HARNESS_MAIN
