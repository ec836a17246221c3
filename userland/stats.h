/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What --stats prints at exit: where the time went (inside the backend's
 * run call or in the launcher), exits by reason, port I/O by port, ports
 * nobody claimed, interrupts injected.  The counters are bumped by the run
 * loop on the vCPU thread; printing happens after it stopped.
 */
#ifndef BT86_STATS_H
#define BT86_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"

struct vm;

struct vm_stats {
	uint64_t start_ns, end_ns;
	uint64_t run_ns; /* inside backend->run() */
	uint64_t exits[EXIT_NR];
	uint64_t *port_exits; /* per port, IOPORT_COUNT entries */
	uint64_t mmio_reads, mmio_writes;
	uint64_t irqs_injected;
	uint64_t halt_waits;
};

int stats__init(struct vm_stats *st);
void stats__exit(struct vm_stats *st);
void stats__print(struct vm *vm, FILE *f);

#endif
