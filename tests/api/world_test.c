// SPDX-License-Identifier: GPL-2.0
/*
 * The world switch under load: guest code at CPL 1 and CPL 3 trapping to
 * the monitor and back to userland a million times, host interrupts and
 * NMIs taken in guest context handed back to the host, every host register
 * restored exactly (the module compares them after each switch), and a
 * deliberate monitor fault ending the VM with a dump instead of the host.
 *
 * The guest is a few bytes of 32-bit code copied to guest-physical 0x1000,
 * run with paging off in flat segments.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "api.h"

#define RAM_SIZE  (1UL << 20)
#define CODE	  0x1000
#define STACK_TOP 0x8000

/* Round trips of the stress test; BT86_ROUNDTRIPS overrides. */
#define DEFAULT_ROUNDTRIPS 1000000

FIXTURE(world)
{
	int dev, vm, vcpu;
	uint8_t *ram;
	struct bt86_run *run;
	long run_size;
};

/* Every test runs under trap-and-emulate and under binary translation. */
FIXTURE_VARIANT(world)
{
	unsigned int mode;
};

FIXTURE_VARIANT_ADD(world, tae){
	.mode = BT86_MODE_TAE,
};

FIXTURE_VARIANT_ADD(world, bt){
	.mode = BT86_MODE_BT,
};

FIXTURE_SETUP(world)
{
	OPEN_DEV_OR_SKIP(self->dev);
	/* Trap-and-emulate: the mode that runs guest code today. */
	self->vm = __create_vm(self->dev, variant->mode);
	ASSERT_LE(0, self->vm);
	self->ram = ALLOC_RAM(RAM_SIZE);
	SET_MEMORY_REGION(self->vm, 0, 0, RAM_SIZE, self->ram);
	self->vcpu = CREATE_VCPU(self->vm, 0);
	self->run_size = raw_ioctl(self->dev, BT86_GET_VCPU_MMAP_SIZE, 0);
	self->run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpu, 0);
	ASSERT_NE(MAP_FAILED, self->run);
}

FIXTURE_TEARDOWN(world)
{
	munmap(self->run, self->run_size);
	close(self->vcpu);
	close(self->vm);
	close(self->dev);
	munmap(self->ram, RAM_SIZE);
}

/* Put code at CODE and start there, at guest ring @ring (0 or 3). */
static void load_code(struct __test_metadata *_metadata,
		      FIXTURE_DATA(world) * self, const uint8_t *code,
		      size_t len, unsigned int ring)
{
	struct bt86_sregs sregs;
	struct bt86_regs regs = { 0 };

	memcpy(self->ram + CODE, code, len);
	GET_SREGS(self->vcpu, &sregs);
	/* The CPL is CS's RPL; SS and CS have DPL = CPL. */
	sregs.cs.dpl = ring;
	sregs.cs.selector = (sregs.cs.selector & ~3) | ring;
	sregs.ss.dpl = ring;
	sregs.ss.selector = (sregs.ss.selector & ~3) | ring;
	sregs.ds.dpl = sregs.es.dpl = sregs.fs.dpl = sregs.gs.dpl = 3;
	SET_SREGS(self->vcpu, &sregs);
	GET_REGS(self->vcpu, &regs);
	regs.eip = CODE;
	regs.esp = STACK_TOP;
	regs.eflags = (regs.eflags & ~0x3000u) | 0x3000; /* IOPL 3 */
	SET_REGS(self->vcpu, &regs);
}

static struct bt86_vcpu_stats get_stats(struct __test_metadata *_metadata,
					int vcpu)
{
	struct bt86_vcpu_stats st;

	EXPECT_EQ(0, raw_ioctl_p(vcpu, BT86_GET_VCPU_STATS, &st));
	return st;
}

/*
 * out %al, $0x80; jmp back to the out: a port I/O exit each time (at ring
 * 3 too, where load_code() gives the guest IOPL 3).
 */
static const uint8_t out_loop[] = { 0xe6, 0x80, 0xeb, 0xfc };

static void roundtrips(struct __test_metadata *_metadata,
		       FIXTURE_DATA(world) * self, unsigned int ring)
{
	const char *env = getenv("BT86_ROUNDTRIPS");
	long n = env ? atol(env) : DEFAULT_ROUNDTRIPS, i;
	struct bt86_vcpu_stats st;
	struct timespec t0, t1;

	load_code(_metadata, self, out_loop, sizeof(out_loop), ring);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
		ASSERT_EQ(BT86_EXIT_IO, self->run->exit_reason);
		ASSERT_EQ(0x80, self->run->io.port);
		ASSERT_EQ(BT86_EXIT_IO_OUT, self->run->io.direction);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st = get_stats(_metadata, self->vcpu);
	TH_LOG("ring %u: %ld round trips in %.2f s; %llu world switches, %llu host interrupts, %llu NMIs forwarded, %llu host-state mismatches",
	       ring, n,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)st.world_switches,
	       (unsigned long long)st.host_irqs,
	       (unsigned long long)st.host_nmis,
	       (unsigned long long)st.host_state_mismatches);
	EXPECT_LE(n, st.world_switches);
	EXPECT_EQ(n, st.exits[BT86_EXIT_IO]);
	EXPECT_EQ(0, st.host_state_mismatches);
}

TEST_F_TIMEOUT(world, million_roundtrips_ring0, 600)
{
	roundtrips(_metadata, self, 0);
}

TEST_F_TIMEOUT(world, roundtrips_ring3, 600)
{
	setenv("BT86_ROUNDTRIPS", "100000", 0);
	roundtrips(_metadata, self, 3);
}

/*
 * mov $0x400000, %ecx; 1: loop 1b; out %al, $0x80; jmp back to the mov.
 * Long enough that host timer interrupts land while the guest runs.
 */
static const uint8_t spin_loop[] = { 0xb9, 0x00, 0x00, 0x40, 0x00, 0xe2,
				     0xfe, 0xe6, 0x80, 0xeb, 0xf5 };

/* Spin the guest until @enough says so or @seconds pass. */
static struct bt86_vcpu_stats
spin(struct __test_metadata *_metadata, FIXTURE_DATA(world) * self, int seconds,
     int (*enough)(const struct bt86_vcpu_stats *))
{
	struct bt86_vcpu_stats st = { 0 };
	time_t end = time(NULL) + seconds;

	load_code(_metadata, self, spin_loop, sizeof(spin_loop), 0);
	while (time(NULL) < end) {
		EXPECT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
		EXPECT_EQ(BT86_EXIT_IO, self->run->exit_reason);
		st = get_stats(_metadata, self->vcpu);
		if (enough(&st))
			break;
	}
	return st;
}

static int some_irqs(const struct bt86_vcpu_stats *st)
{
	return st->host_irqs >= 20;
}

TEST_F_TIMEOUT(world, host_interrupts_forwarded, 120)
{
	struct bt86_vcpu_stats st = spin(_metadata, self, 60, some_irqs);

	TH_LOG("%llu host interrupts forwarded in %llu world switches",
	       (unsigned long long)st.host_irqs,
	       (unsigned long long)st.world_switches);
	EXPECT_LE(20, st.host_irqs);
	EXPECT_EQ(0, st.host_state_mismatches);
}

static void kmsg(const char *line)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, line, strlen(line)) < 0)
			perror("kmsg");
		close(fd);
	}
}

static int some_nmis(const struct bt86_vcpu_stats *st)
{
	return st->host_nmis >= 3;
}

/*
 * NMIs from the other CPU: sysrq 'l' sends every CPU an NMI backtrace
 * request.  Its backtraces land in the kernel log between two markers,
 * which the sandbox suite's log check knows about.
 */
TEST_F_TIMEOUT(world, nmis_forwarded, 120)
{
	struct bt86_vcpu_stats st;
	pid_t child;

	if (access("/proc/sysrq-trigger", W_OK))
		SKIP(return, "no /proc/sysrq-trigger");
	kmsg("bt86-test: NMI backtraces begin\n");
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		for (;;) {
			int fd = open("/proc/sysrq-trigger", O_WRONLY);

			if (fd >= 0) {
				if (write(fd, "l", 1) < 0)
					_exit(1);
				close(fd);
			}
			usleep(50000);
		}
	}
	st = spin(_metadata, self, 60, some_nmis);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	kmsg("bt86-test: NMI backtraces end\n");
	TH_LOG("%llu NMIs forwarded in %llu world switches",
	       (unsigned long long)st.host_nmis,
	       (unsigned long long)st.world_switches);
	EXPECT_LE(3, st.host_nmis);
	EXPECT_EQ(0, st.host_state_mismatches);
}

/* A monitor bug ends the VM with a dump; the host and module live on. */
TEST_F(world, monitor_fault_gives_a_dump)
{
	struct bt86_run *run = self->run;

	load_code(_metadata, self, out_loop, sizeof(out_loop), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_TEST_MONITOR_FAULT, 0));
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_INTERNAL_ERROR, run->exit_reason);
	ASSERT_EQ(BT86_INTERNAL_MONITOR_FAULT, run->internal.suberror);
	EXPECT_LE(12, run->internal.ndata);
	EXPECT_EQ(14, run->internal.data[0]);	 /* a page fault ... */
	EXPECT_EQ(0, run->internal.data[3] & 3); /* ... at CPL 0 */
	EXPECT_EQ(CODE, run->internal.data[8]);	 /* guest EIP at entry */
	/* The VM is over; the vCPU says so plainly. */
	EXPECT_EQ(-EIO, raw_ioctl(self->vcpu, BT86_RUN, 0));
}

/* Guest memory writes reach the launcher's pages: the mapping is real. */
TEST_F(world, guest_writes_reach_launcher_memory)
{
	/* movl $0xb86b86b8, 0x2000; hlt */
	static const uint8_t code[] = { 0xc7, 0x05, 0x00, 0x20, 0x00, 0x00,
					0xb8, 0x86, 0x6b, 0xb8, 0xf4 };

	load_code(_metadata, self, code, sizeof(code), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0xb86b86b8, *(uint32_t *)(self->ram + 0x2000));
}

/*
 * No RAM where the guest starts: its first fetch page-faults in the
 * monitor's tables, and running code from non-RAM is not something bt86
 * emulates: the VM stops and says where.
 */
TEST_F(world, fetch_outside_ram_stops_the_vm)
{
	struct bt86_regs regs;

	load_code(_metadata, self, out_loop, sizeof(out_loop), 0);
	GET_REGS(self->vcpu, &regs);
	regs.eip = 0x200000; /* past the 1 MiB of RAM */
	SET_REGS(self->vcpu, &regs);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_INTERNAL_ERROR, self->run->exit_reason);
	EXPECT_EQ(BT86_INTERNAL_UNSUPPORTED, self->run->internal.suberror);
	EXPECT_EQ(BT86_UNSUPPORTED_MMIO, self->run->internal.data[0]);
	EXPECT_EQ(0x200000, self->run->internal.data[1]); /* EIP */
	EXPECT_EQ(0x200000, self->run->internal.data[2]); /* address */
}

/* The layout is fixed once the VM has run. */
TEST_F(world, memory_layout_fixed_after_run)
{
	load_code(_metadata, self, out_loop, sizeof(out_loop), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	EXPECT_EQ(-EBUSY, __set_memory_region(self->vm, 1, 0, 0x200000, PAGE,
					      (uint64_t)(uintptr_t)self->ram));
}

TEST_HARNESS_MAIN
