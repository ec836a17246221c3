/* SPDX-License-Identifier: GPL-2.0 */
/*
 * backend-bt86.h - the bt86 backend's private state, shared by its two
 * files: backend-bt86.c (the ioctls) and backend-bt86-report.c (--stats and
 * the plain-words report of an internal error).
 */
#ifndef BT86_BACKEND_BT86_H
#define BT86_BACKEND_BT86_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "backend.h"

struct bt86_run;

struct bt86_backend {
	int sys_fd, vm_fd, vcpu_fd;
	struct bt86_run *run;
	size_t run_size;
	pthread_t vcpu_thread;
	int nr_slots;
};

void bt86__print_stats(struct backend *b, FILE *f);
void bt86__report_internal(struct backend *b, const struct vcpu_exit *e);

#endif
