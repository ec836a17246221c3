/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the bt86 ioctl API tests (kselftest harness).
 *
 * As in KVM's selftests, each call has a raw form that returns 0 (or the
 * ioctl's non-negative result) or -errno, for bad-input tests, and a checked
 * form in capitals that ASSERTs success and gives the result (a failed
 * ASSERT prints the -errno it got).  The checked forms are macros because
 * the harness's ASSERT needs the test's _metadata.
 *
 * Every test opens /dev/bt86 through OPEN_DEV_OR_SKIP: without the module
 * the test is reported as SKIP, not FAIL.
 */
#ifndef BT86_API_TEST_H
#define BT86_API_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bt86.h"
#include "kselftest_harness.h"

#define BT86_DEV   "/dev/bt86"
#define BT86_SYSFS "/sys/class/misc/bt86/"
#define PAGE	   4096UL
#define GIB	   (1ULL << 30)

/* The harness reports a test child that exits with 255 as SKIP. */
#define HARNESS_SKIP_STATUS 255

/*
 * Open /dev/bt86 into fd, or end the test as SKIP when the module is not
 * loaded.  A SKIP in a fixture's setup would still run the body, so the
 * test child exits here.
 */
#define OPEN_DEV_OR_SKIP(fd)                                             \
	do {                                                             \
		(fd) = open(BT86_DEV, O_RDWR | O_CLOEXEC);               \
		if ((fd) < 0 && errno == ENOENT)                         \
			SKIP(_exit(HARNESS_SKIP_STATUS),                 \
			     BT86_DEV " absent: bt86.ko is not loaded"); \
		ASSERT_LE(0, (fd));                                      \
	} while (0)

static inline long raw_ioctl(int fd, unsigned long req, unsigned long arg)
{
	long ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

static inline long raw_ioctl_p(int fd, unsigned long req, const void *arg)
{
	return raw_ioctl(fd, req, (unsigned long)arg);
}

static inline int __create_vm(int dev, unsigned long mode)
{
	return raw_ioctl(dev, BT86_CREATE_VM, mode);
}

static inline int __create_vcpu(int vm, unsigned long id)
{
	return raw_ioctl(vm, BT86_CREATE_VCPU, id);
}

static inline int __set_memory_region(int vm, uint32_t slot, uint32_t flags,
				      uint64_t gpa, uint64_t size,
				      uint64_t uaddr)
{
	struct bt86_memory_region mr = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
	};

	return raw_ioctl_p(vm, BT86_SET_MEMORY_REGION, &mr);
}

#define CREATE_VM(dev)                                     \
	({                                                 \
		int __fd = __create_vm(dev, BT86_MODE_BT); \
		ASSERT_LE(0, __fd); /* -errno */           \
		__fd;                                      \
	})

#define CREATE_VCPU(vm, id)                       \
	({                                        \
		int __fd = __create_vcpu(vm, id); \
		ASSERT_LE(0, __fd); /* -errno */  \
		__fd;                             \
	})

#define SET_MEMORY_REGION(vm, slot, gpa, size, uaddr)                        \
	do {                                                                 \
		int __r = __set_memory_region(vm, slot, 0, gpa, size,        \
					      (uint64_t)(uintptr_t)(uaddr)); \
		ASSERT_EQ(0, __r); /* -errno */                              \
	} while (0)

/* Anonymous memory for guest RAM, writable and not yet touched. */
#define ALLOC_RAM(size)                                               \
	({                                                            \
		void *__p = mmap(NULL, size, PROT_READ | PROT_WRITE,  \
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); \
		ASSERT_NE(MAP_FAILED, __p);                           \
		__p;                                                  \
	})

#define GET_REGS(vcpu, regs) \
	ASSERT_EQ(0, raw_ioctl_p(vcpu, BT86_GET_REGS, regs))
#define SET_REGS(vcpu, regs) \
	ASSERT_EQ(0, raw_ioctl_p(vcpu, BT86_SET_REGS, regs))
#define GET_SREGS(vcpu, sregs) \
	ASSERT_EQ(0, raw_ioctl_p(vcpu, BT86_GET_SREGS, sregs))
#define SET_SREGS(vcpu, sregs) \
	ASSERT_EQ(0, raw_ioctl_p(vcpu, BT86_SET_SREGS, sregs))

/* A module-wide counter from /sys/class/misc/bt86/, or -1. */
static inline long read_counter(const char *name)
{
	char path[128];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), BT86_SYSFS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/*
 * Wait up to timeout_ms for a counter to reach want; returns its last value.
 * Releases run synchronously on close, so this normally returns at once.
 */
static inline long wait_counter(const char *name, long want, int timeout_ms)
{
	long value = read_counter(name);

	while (value != want && timeout_ms > 0) {
		usleep(10 * 1000);
		timeout_ms -= 10;
		value = read_counter(name);
	}
	return value;
}

/* Run fn(arg) in a forked child; returns its exit status (or -1). */
static inline int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif /* BT86_API_TEST_H */
