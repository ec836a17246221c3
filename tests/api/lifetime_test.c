// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime: a VM lives as long as any fd (or run-area mapping) refers to
 * it, and whatever way a launcher ends, the module-wide counters in
 * /sys/class/misc/bt86/ return to where they were.  Ends with the
 * kill-during-use test: children that create and tear down VMs are
 * SIGKILLed at pseudo-random moments.
 */
#include <signal.h>
#include <time.h>

#include "api.h"

#define RAM_PAGES     16
#define KILL_ROUNDS   50
#define KILL_CHILDREN 2
#define SETTLE_MS     5000

FIXTURE(life)
{
	int dev;
	long vms; /* counters before the test */
	long pinned;
};

FIXTURE_SETUP(life)
{
	OPEN_DEV_OR_SKIP(self->dev);
	self->vms = read_counter("vms");
	self->pinned = read_counter("pinned_pages");
	ASSERT_LE(0, self->vms);
	ASSERT_LE(0, self->pinned);
}

FIXTURE_TEARDOWN(life)
{
	close(self->dev);
	EXPECT_EQ(self->vms, wait_counter("vms", self->vms, SETTLE_MS));
	EXPECT_EQ(self->pinned,
		  wait_counter("pinned_pages", self->pinned, SETTLE_MS));
}

/* A VM with RAM_PAGES of memory in slot 0 and vCPU 0; returns the vCPU fd. */
#define SMALL_VM(dev, vm_out)                                            \
	({                                                               \
		void *__ram = ALLOC_RAM(RAM_PAGES * PAGE);               \
		(vm_out) = CREATE_VM(dev);                               \
		SET_MEMORY_REGION(vm_out, 0, 0, RAM_PAGES *PAGE, __ram); \
		CREATE_VCPU(vm_out, 0);                                  \
	})

TEST_F(life, vcpu_fd_keeps_vm)
{
	struct bt86_regs regs = { 0 };
	int vm, vcpu;

	vcpu = SMALL_VM(self->dev, vm);
	close(vm);
	EXPECT_EQ(self->vms + 1, read_counter("vms"));
	EXPECT_EQ(self->pinned + RAM_PAGES, read_counter("pinned_pages"));
	/* The vCPU still works without its VM fd. */
	GET_REGS(vcpu, &regs);
	SET_REGS(vcpu, &regs);
	close(vcpu);
	EXPECT_EQ(self->vms, read_counter("vms"));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

TEST_F(life, vcpu_closed_first)
{
	int vm, vcpu;

	vcpu = SMALL_VM(self->dev, vm);
	close(vcpu);
	EXPECT_EQ(self->vms + 1, read_counter("vms"));
	close(vm);
	EXPECT_EQ(self->vms, read_counter("vms"));
}

TEST_F(life, run_mapping_keeps_vm)
{
	char *run;
	int vm, vcpu;

	vcpu = SMALL_VM(self->dev, vm);
	run = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	ASSERT_NE(MAP_FAILED, run);
	close(vcpu);
	close(vm);
	EXPECT_EQ(self->vms + 1, read_counter("vms"));
	run[PAGE] = 1; /* still backed */
	munmap(run, 2 * PAGE);
	EXPECT_EQ(self->vms, read_counter("vms"));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

static int child_exits(void *arg)
{
	return 0;
}

/* A child that inherited the fds and exits takes nothing with it. */
TEST_F(life, forked_child_exit_keeps_vm)
{
	int vm, vcpu;

	vcpu = SMALL_VM(self->dev, vm);
	EXPECT_EQ(0, in_child(child_exits, NULL));
	EXPECT_EQ(self->vms + 1, read_counter("vms"));
	EXPECT_EQ(self->pinned + RAM_PAGES, read_counter("pinned_pages"));
	close(vcpu);
	close(vm);
}

/* Build a VM and exit without closing anything: exit closes the fds. */
static int child_leaves_vm(void *arg)
{
	int dev = *(int *)arg;
	void *ram = mmap(NULL, RAM_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int vm = __create_vm(dev, BT86_MODE_TAE);
	int vcpu;

	if (vm < 0 ||
	    __set_memory_region(vm, 0, 0, 0, RAM_PAGES * PAGE, (uintptr_t)ram))
		return 1;
	vcpu = __create_vcpu(vm, 0);
	if (vcpu < 0 ||
	    mmap(NULL, PAGE, PROT_READ, MAP_SHARED, vcpu, 0) == MAP_FAILED)
		return 2;
	return 0;
}

TEST_F(life, exit_without_close)
{
	EXPECT_EQ(0, in_child(child_leaves_vm, &self->dev));
	EXPECT_EQ(self->vms, read_counter("vms"));
	EXPECT_EQ(self->pinned, read_counter("pinned_pages"));
}

/*
 * The run area is ordinary memory to pin_user_pages, so a launcher may even
 * register it as guest RAM; the pins and the mapping are then released in
 * whatever order the fds close.
 */
TEST_F(life, run_area_as_guest_ram)
{
	int vm = CREATE_VM(self->dev);
	int vcpu = CREATE_VCPU(vm, 0);
	char *run = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu, 0);

	ASSERT_NE(MAP_FAILED, run);
	SET_MEMORY_REGION(vm, 0, 0, 2 * PAGE, run);
	EXPECT_EQ(self->pinned + 2, read_counter("pinned_pages"));
	munmap(run, 2 * PAGE);
	close(vcpu);
	close(vm);
}

/* --- kill during use ------------------------------------------------------ */

/*
 * Create, use and tear down VMs forever, in an order that varies: a few MB
 * of guest memory in up to three slots, a vCPU with its run area mapped,
 * and fds closed in either order or not at all (left for the kill).
 */
static void churn(int dev, unsigned int seed)
{
	const size_t ram_size = 4UL << 20;
	char *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct bt86_regs regs;
	struct bt86_interrupt irq = { .vector = 0x30 };

	for (;;) {
		unsigned int r = rand_r(&seed);
		int vm = __create_vm(dev, r & 1);
		int slots = 1 + r % 3, i, vcpu;
		size_t part = ram_size / slots & ~(PAGE - 1);
		void *run;

		for (i = 0; i < slots; i++)
			__set_memory_region(vm, i, 0, i * part + 0x100000, part,
					    (uintptr_t)ram + i * part);
		vcpu = __create_vcpu(vm, 0);
		run = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   vcpu, 0);
		raw_ioctl_p(vcpu, BT86_GET_REGS, &regs);
		raw_ioctl_p(vcpu, BT86_SET_REGS, &regs);
		raw_ioctl_p(vcpu, BT86_INTERRUPT, &irq);
		raw_ioctl(vcpu, BT86_RUN, 0);
		if (r & 2)
			__set_memory_region(vm, 0, 0, 0, 0, 0);
		if (r & 4) {
			close(vm);
			close(vcpu);
		} else if (r & 8) {
			close(vcpu);
			close(vm);
		}
		if (run != MAP_FAILED && (r & 16))
			munmap(run, 2 * PAGE);
		/* Otherwise the fds and the mapping leak until the kill. */
	}
}

TEST_F_TIMEOUT(life, kill_during_use, 300)
{
	unsigned int seed = 0xb786;
	pid_t pids[KILL_CHILDREN];
	int round, i, status;
	long live, most_live = 0, rounds_live = 0;

	for (round = 0; round < KILL_ROUNDS; round++) {
		for (i = 0; i < KILL_CHILDREN; i++) {
			pids[i] = fork();
			ASSERT_LE(0, pids[i]);
			if (pids[i] == 0)
				churn(self->dev, seed + round * 7 + i);
		}
		usleep(1000 * (1 + rand_r(&seed) % 40));
		live = read_counter("vms") - self->vms;
		most_live = live > most_live ? live : most_live;
		rounds_live += live > 0;
		for (i = 0; i < KILL_CHILDREN; i++) {
			kill(pids[i], SIGKILL);
			ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
			ASSERT_TRUE(WIFSIGNALED(status));
		}
	}
	TH_LOG("%d rounds; VMs alive at the kill in %ld of them (at most %ld)",
	       KILL_ROUNDS, rounds_live, most_live);
	EXPECT_EQ(self->vms, wait_counter("vms", self->vms, SETTLE_MS));
	EXPECT_EQ(self->pinned,
		  wait_counter("pinned_pages", self->pinned, SETTLE_MS));
}

TEST_HARNESS_MAIN
