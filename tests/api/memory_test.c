// SPDX-License-Identifier: GPL-2.0
/*
 * BT86_SET_MEMORY_REGION: every rule of docs/ioctl-api.md with its errno,
 * deletion, busy and overlapping slots, the slot limit, the 4 GiB edge,
 * RLIMIT_MEMLOCK, and the pinned_pages counter after each of them.
 */
#include <pthread.h>
#include <sys/resource.h>

#include "api.h"

#define RAM_PAGES   64
#define KERNEL_ADDR 0xffff800000000000ULL

FIXTURE(mem)
{
	int dev;
	int vm;
	char *ram;   /* RAM_PAGES pages, for valid regions */
	long pinned; /* pinned_pages before the test */
};

FIXTURE_SETUP(mem)
{
	OPEN_DEV_OR_SKIP(self->dev);
	self->pinned = read_counter("pinned_pages");
	self->vm = CREATE_VM(self->dev);
	self->ram = ALLOC_RAM(RAM_PAGES * PAGE);
}

/* Closing the VM unpins everything it still had. */
FIXTURE_TEARDOWN(mem)
{
	close(self->vm);
	close(self->dev);
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

static uint64_t uaddr(const void *p)
{
	return (uintptr_t)p;
}

TEST_F(mem, valid_region_pins_and_delete_unpins)
{
	SET_MEMORY_REGION(self->vm, 0, 0x100000, 16 * PAGE, self->ram);
	EXPECT_EQ(self->pinned + 16, read_counter("pinned_pages"));
	SET_MEMORY_REGION(self->vm, 0, 0, 0, 0);
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

TEST_F(mem, large_region)
{
	size_t size = 8UL << 20; /* more than one pinning chunk */
	void *big = ALLOC_RAM(size);

	SET_MEMORY_REGION(self->vm, 3, 0, size, big);
	EXPECT_EQ(self->pinned + (long)(size / PAGE),
		  read_counter("pinned_pages"));
}

TEST_F(mem, flags_must_be_zero)
{
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 0, 1, 0, PAGE,
					       uaddr(self->ram)));
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 0, 0x80000000, 0, PAGE,
					       uaddr(self->ram)));
}

TEST_F(mem, slot_out_of_range)
{
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, BT86_MAX_MEMORY_SLOTS,
					       0, 0, PAGE, uaddr(self->ram)));
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 0xffffffff, 0, 0, PAGE,
					       uaddr(self->ram)));
}

TEST_F(mem, unaligned)
{
	uint64_t ram = uaddr(self->ram);

	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, 0, 0, 0x100, PAGE, ram));
	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, 0, 0, 0, PAGE + 1, ram));
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 0, 0, 0, 0x800, ram));
	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, 0, 0, 0, PAGE, ram + 8));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

TEST_F(mem, gpa_4gib_edge)
{
	uint64_t ram = uaddr(self->ram);

	/* Ending exactly at 4 GiB is fine; one page more is not. */
	EXPECT_EQ(0, __set_memory_region(self->vm, 0, 0, 4 * GIB - PAGE, PAGE,
					 ram));
	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, 1, 0, 4 * GIB, PAGE, ram));
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 1, 0, 4 * GIB - PAGE,
					       2 * PAGE, ram));
	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, 1, 0, 0, 4 * GIB + PAGE, ram));
}

TEST_F(mem, gpa_overflow)
{
	uint64_t ram = uaddr(self->ram);

	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, 0, 0, 0xfffffffffffff000ULL,
				      2 * PAGE, ram));
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 0, 0, PAGE,
					       0xfffffffffffff000ULL, ram));
}

TEST_F(mem, userspace_not_user_address)
{
	EXPECT_EQ(-EFAULT,
		  __set_memory_region(self->vm, 0, 0, 0, PAGE, KERNEL_ADDR));
	/* A range that wraps past the top of the address space. */
	EXPECT_EQ(-EFAULT, __set_memory_region(self->vm, 0, 0, 0, 2 * PAGE,
					       0xfffffffffffff000ULL));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

TEST_F(mem, unmapped_userspace)
{
	char *p = ALLOC_RAM(4 * PAGE);

	ASSERT_EQ(0, munmap(p, 4 * PAGE));
	EXPECT_EQ(-EFAULT,
		  __set_memory_region(self->vm, 0, 0, 0, 4 * PAGE, uaddr(p)));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

/* A pin that fails part-way must unpin what it pinned. */
TEST_F(mem, partly_unmapped_userspace)
{
	size_t size = 1100 * PAGE; /* spans three pinning chunks */
	char *p = ALLOC_RAM(size);

	ASSERT_EQ(0, munmap(p + 1050 * PAGE, PAGE));
	EXPECT_EQ(-EFAULT,
		  __set_memory_region(self->vm, 0, 0, 0, size, uaddr(p)));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
	/* The slot stayed empty: the mapped part registers fine. */
	SET_MEMORY_REGION(self->vm, 0, 0, 1050 * PAGE, p);
	EXPECT_EQ(self->pinned + 1050, read_counter("pinned_pages"));
}

TEST_F(mem, read_only_userspace)
{
	char *p = ALLOC_RAM(2 * PAGE);

	ASSERT_EQ(0, mprotect(p + PAGE, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT,
		  __set_memory_region(self->vm, 0, 0, 0, 2 * PAGE, uaddr(p)));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

TEST_F(mem, delete_empty_slot)
{
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 5, 0, 0, 0, 0));
	SET_MEMORY_REGION(self->vm, 5, 0, PAGE, self->ram);
	SET_MEMORY_REGION(self->vm, 5, 0, 0, 0);
	EXPECT_EQ(-EINVAL, __set_memory_region(self->vm, 5, 0, 0, 0, 0));
}

/* Deletion looks at slot and flags only. */
TEST_F(mem, delete_ignores_addresses)
{
	SET_MEMORY_REGION(self->vm, 7, 0x2000, PAGE, self->ram);
	EXPECT_EQ(0, __set_memory_region(self->vm, 7, 0, 0x123, 0,
					 KERNEL_ADDR + 1));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

TEST_F(mem, delete_then_reuse_slot)
{
	SET_MEMORY_REGION(self->vm, 0, 0, 4 * PAGE, self->ram);
	SET_MEMORY_REGION(self->vm, 0, 0, 0, 0);
	SET_MEMORY_REGION(self->vm, 0, 0, 8 * PAGE, self->ram);
	EXPECT_EQ(self->pinned + 8, read_counter("pinned_pages"));
}

TEST_F(mem, busy_slot)
{
	SET_MEMORY_REGION(self->vm, 0, 0, PAGE, self->ram);
	EXPECT_EQ(-EBUSY, __set_memory_region(self->vm, 0, 0, 0x100000, PAGE,
					      uaddr(self->ram + PAGE)));
	EXPECT_EQ(self->pinned + 1, read_counter("pinned_pages"));
}

TEST_F(mem, overlap)
{
	uint64_t ram = uaddr(self->ram);

	SET_MEMORY_REGION(self->vm, 0, 0x10000, 0x10000, self->ram);
	/* same range, straddling either end, inside, around */
	EXPECT_EQ(-EEXIST,
		  __set_memory_region(self->vm, 1, 0, 0x10000, 0x10000, ram));
	EXPECT_EQ(-EEXIST,
		  __set_memory_region(self->vm, 1, 0, 0xf000, 0x2000, ram));
	EXPECT_EQ(-EEXIST,
		  __set_memory_region(self->vm, 1, 0, 0x1f000, 0x2000, ram));
	EXPECT_EQ(-EEXIST,
		  __set_memory_region(self->vm, 1, 0, 0x14000, PAGE, ram));
	EXPECT_EQ(-EEXIST,
		  __set_memory_region(self->vm, 1, 0, 0, 0x40000, ram));
	/* adjacent on both sides is fine */
	EXPECT_EQ(0, __set_memory_region(self->vm, 1, 0, 0xf000, PAGE, ram));
	EXPECT_EQ(0, __set_memory_region(self->vm, 2, 0, 0x20000, PAGE, ram));
}

/* Two slots may share host memory (guest-physical aliases). */
TEST_F(mem, host_alias)
{
	SET_MEMORY_REGION(self->vm, 0, 0, 4 * PAGE, self->ram);
	SET_MEMORY_REGION(self->vm, 1, 0x100000, 4 * PAGE, self->ram);
	EXPECT_EQ(self->pinned + 8, read_counter("pinned_pages"));
}

TEST_F(mem, all_slots_then_one_more)
{
	uint32_t i;

	for (i = 0; i < BT86_MAX_MEMORY_SLOTS; i++)
		SET_MEMORY_REGION(self->vm, i, i * PAGE, PAGE,
				  self->ram + i * PAGE);
	EXPECT_EQ(self->pinned + BT86_MAX_MEMORY_SLOTS,
		  read_counter("pinned_pages"));
	EXPECT_EQ(-EINVAL,
		  __set_memory_region(self->vm, BT86_MAX_MEMORY_SLOTS, 0,
				      0x1000000, PAGE, uaddr(self->ram)));
}

/* --- two threads racing for the same guest-physical range --------------- */

#define RACE_ROUNDS 300

struct racer {
	int vm;
	uint32_t slot;
	char *ram;
	int added; /* successful registrations */
	int bad;   /* results other than 0 and EEXIST */
};

/* Register 8 pages at gpa 0 in its own slot, delete, again and again. */
static void *race_slot(void *arg)
{
	struct racer *r = arg;
	int i, ret;

	for (i = 0; i < RACE_ROUNDS; i++) {
		ret = __set_memory_region(r->vm, r->slot, 0, 0, 8 * PAGE,
					  (uintptr_t)r->ram);
		if (ret == 0) {
			r->added++;
			if (__set_memory_region(r->vm, r->slot, 0, 0, 0, 0))
				r->bad++;
		} else if (ret != -EEXIST) {
			r->bad++;
		}
	}
	return NULL;
}

TEST_F(mem, racing_overlaps)
{
	struct racer r[2] = {
		{ .vm = self->vm, .slot = 0, .ram = self->ram },
		{ .vm = self->vm, .slot = 1, .ram = self->ram + 8 * PAGE },
	};
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_slot, &r[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	EXPECT_EQ(0, r[0].bad + r[1].bad);
	EXPECT_LT(0, r[0].added + r[1].added);
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

/* --- RLIMIT_MEMLOCK --------------------------------------------------------- */

#define MEMLOCK_PAGES 8
#define NOBODY	      65534

/*
 * In a child without CAP_IPC_LOCK (root's capabilities go with setuid to
 * nobody) and with RLIMIT_MEMLOCK of MEMLOCK_PAGES, pins beyond the limit
 * fail with ENOMEM.  Returns 0 or the failing step.
 */
static int child_over_memlock(void *arg)
{
	struct rlimit lim = { MEMLOCK_PAGES * PAGE, MEMLOCK_PAGES * PAGE };
	int dev = *(int *)arg;
	uint64_t ram;
	int vm;

	if (setrlimit(RLIMIT_MEMLOCK, &lim) || setuid(NOBODY))
		return 1;
	vm = __create_vm(dev, BT86_MODE_BT);
	if (vm < 0)
		return 2;
	ram = (uintptr_t)mmap(NULL, 2 * MEMLOCK_PAGES * PAGE,
			      PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (__set_memory_region(vm, 0, 0, 0, 2 * MEMLOCK_PAGES * PAGE, ram) !=
	    -ENOMEM)
		return 3;
	if (__set_memory_region(vm, 0, 0, 0, MEMLOCK_PAGES * PAGE, ram))
		return 4;
	if (__set_memory_region(vm, 1, 0, 0x100000, PAGE, ram) != -ENOMEM)
		return 5;
	/* Deleting gives the pages back to the limit. */
	if (__set_memory_region(vm, 0, 0, 0, 0, 0))
		return 6;
	if (__set_memory_region(vm, 1, 0, 0x100000, PAGE, ram))
		return 7;
	return 0;
}

TEST_F(mem, memlock_limit)
{
	EXPECT_EQ(0, in_child(child_over_memlock, &self->dev));
	EXPECT_EQ(self->pinned,
		  wait_counter("pinned_pages", self->pinned, 1000));
}

TEST_HARNESS_MAIN
