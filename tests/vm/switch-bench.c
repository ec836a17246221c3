// SPDX-License-Identifier: GPL-2.0
/*
 * switch-bench: the cost of one world-switch round trip, as userland sees it.
 *
 *   switch-bench N
 *
 * Runs a two-instruction guest ("hlt; jmp back") at guest ring 0 under
 * trap-and-emulate and calls BT86_RUN N times: each call enters the
 * monitor, runs the guest to its HLT (a #GP at CPL 1 the monitor decodes
 * and emulates), and comes back with BT86_EXIT_HLT.  Prints "switch-bench: N round trips in NS ns" and
 * the module's counters.  The sandbox suite also kills it in the middle of
 * a long run, to prove that nothing is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bt86.h"

#define RAM  (1UL << 20)
#define CODE 0x1000

static void die(const char *what)
{
	fprintf(stderr, "switch-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const unsigned char hlt_loop[] = { 0xf4, 0xeb, 0xfd };
	long n = argc > 1 ? atol(argv[1]) : 100000, i;
	struct bt86_memory_region mr = { 0 };
	struct bt86_vcpu_stats st;
	struct bt86_regs regs;
	struct bt86_run *run;
	int dev, vm, vcpu;
	long long t0, t1;
	unsigned char *ram;

	dev = open("/dev/bt86", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("/dev/bt86");
	vm = ioctl(dev, BT86_CREATE_VM, BT86_MODE_TAE);
	if (vm < 0)
		die("BT86_CREATE_VM");
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	memcpy(ram + CODE, hlt_loop, sizeof(hlt_loop));
	mr.memory_size = RAM;
	mr.userspace_addr = (unsigned long)ram;
	if (ioctl(vm, BT86_SET_MEMORY_REGION, &mr))
		die("BT86_SET_MEMORY_REGION");
	vcpu = ioctl(vm, BT86_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("BT86_CREATE_VCPU");
	run = mmap(NULL, ioctl(dev, BT86_GET_VCPU_MMAP_SIZE, 0),
		   PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap of the run area");
	if (ioctl(vcpu, BT86_GET_REGS, &regs))
		die("BT86_GET_REGS");
	regs.eip = CODE;
	regs.esp = 0x8000;
	if (ioctl(vcpu, BT86_SET_REGS, &regs))
		die("BT86_SET_REGS");

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (ioctl(vcpu, BT86_RUN, 0))
			die("BT86_RUN");
		if (run->exit_reason != BT86_EXIT_HLT) {
			fprintf(stderr, "switch-bench: unexpected exit %u\n",
				run->exit_reason);
			return 1;
		}
	}
	t1 = now_ns();
	if (ioctl(vcpu, BT86_GET_VCPU_STATS, &st))
		die("BT86_GET_VCPU_STATS");
	printf("switch-bench: %ld round trips in %lld ns\n", n, t1 - t0);
	printf("switch-bench: %llu world switches, %llu host interrupts, %llu host-state mismatches\n",
	       (unsigned long long)st.world_switches,
	       (unsigned long long)st.host_irqs,
	       (unsigned long long)st.host_state_mismatches);
	return st.host_state_mismatches ? 1 : 0;
}
