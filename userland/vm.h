/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtual machine: guest RAM, the port bus with its devices, the backend
 * that runs the vCPU, and the two threads.
 *
 *   main thread (vCPU)        I/O thread
 *   ------------------        ----------
 *   vm__run(): inject,        polls stdin, the PIT's timerfd, a wakeup
 *   backend->run(), handle    eventfd and a signalfd; feeds the UART,
 *   the exit, wait on HLT     ticks the PIT, files stop requests
 *
 * Both take vm->lock (the device lock) around any device access.  Whoever
 * raises an interrupt or files a stop request kicks the vCPU: out of the
 * backend's run call, or out of its HLT wait.
 */
#ifndef BT86_VM_H
#define BT86_VM_H

#include <pthread.h>
#include <stdbool.h>

#include "backend.h"
#include "console.h"
#include "i8042.h"
#include "ioport.h"
#include "loader.h"
#include "options.h"
#include "pic.h"
#include "pit.h"
#include "rtc.h"
#include "stats.h"
#include "stop.h"
#include "sysport.h"
#include "uart.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ  4

struct vm {
	const struct run_options *opts;
	struct guest_ram ram;
	struct backend backend;
	bool backend_created;
	struct ioport_bus bus;

	pthread_mutex_t lock; /* the device lock */
	pthread_cond_t wake;  /* signalled by kicks (HLT wait) */
	bool halted;	      /* the vCPU waits in HLT (device lock) */
	struct stop_request stop;

	struct pic pic;
	struct pit pit;
	struct uart uart;
	struct rtc rtc;
	struct i8042 kbc;
	struct post post;
	struct debug_exit debug_exit;
	struct port92 port92;
	struct testdev testdev;

	struct console console;
	pthread_t io_thread;
	bool io_started;
	int wake_fd;   /* eventfd: the I/O thread re-checks */
	int timer_fd;  /* the PIT's channel 0 */
	int signal_fd; /* SIGINT, SIGTERM, SIGHUP */

	struct vm_stats stats;
};

/* Memory and devices; no backend yet.  Returns 0 or -1 (message printed). */
int vm__init(struct vm *vm, const struct run_options *opts);
/* Load the kernel (and initrd), create the backend, start the threads. */
int vm__boot(struct vm *vm);
/* Run until a stop request; returns the launcher's exit status. */
int vm__run(struct vm *vm);
void vm__exit(struct vm *vm);

/* Make the vCPU look at the device state again (device lock held). */
void vm__kick(struct vm *vm);

/* iothread.c */
int iothread__start(struct vm *vm);
void iothread__stop(struct vm *vm);
void iothread__wake(struct vm *vm);

#endif
