/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers every launcher file uses: messages on stderr with the
 * "bt86: " prefix, array sizes, and the monotonic clock.
 */
#ifndef BT86_UTIL_H
#define BT86_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* Exit statuses of the launcher (see docs/launcher.md). */
#define EXIT_CLEAN    0 /* clean shutdown or reset request */
#define EXIT_LAUNCHER 2 /* usage, image or backend error */
#define EXIT_CRASH    4 /* the guest crashed (triple fault, ...) */

/*
 * One line on stderr, prefixed "bt86: "; a newline is added.  When the
 * guest's console output on the terminal stopped mid-line
 * (pr_msg_midline), the message starts on a line of its own.
 */
extern bool pr_msg_midline;
void pr_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif
