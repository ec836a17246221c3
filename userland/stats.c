// SPDX-License-Identifier: GPL-2.0
/* --stats: the table printed on stderr when the VM stops. */
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "vm.h"

#define TOP_PORTS 10

int stats__init(struct vm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->port_exits = calloc(IOPORT_COUNT, sizeof(*st->port_exits));
	return st->port_exits ? 0 : -1;
}

void stats__exit(struct vm_stats *st)
{
	free(st->port_exits);
	st->port_exits = NULL;
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

/* The n ports with the most counts, in top[] (fewer if fewer were used). */
static int top_ports(const uint64_t *counts, uint16_t *top, int n)
{
	int found = 0, i, j;

	for (i = 0; i < IOPORT_COUNT; i++) {
		if (!counts[i])
			continue;
		for (j = found; j > 0 && counts[top[j - 1]] < counts[i]; j--)
			if (j < n)
				top[j] = top[j - 1];
		if (j < n) {
			top[j] = i;
			if (found < n)
				found++;
		}
	}
	return found;
}

static const char *port_name(struct vm *vm, uint16_t port)
{
	const struct ioport_range *r = ioport__find(&vm->bus, port);

	return r ? r->name : "(unclaimed)";
}

static void stats__print_ports(struct vm *vm, FILE *f)
{
	uint16_t top[TOP_PORTS];
	uint64_t total = 0;
	int n, i;

	n = top_ports(vm->stats.port_exits, top, TOP_PORTS);
	fprintf(f, "  I/O exits by port (top %d)\n", TOP_PORTS);
	for (i = 0; i < n; i++)
		fprintf(f, "    0x%04x  %-12s %12llu\n", top[i],
			port_name(vm, top[i]),
			(unsigned long long)vm->stats.port_exits[top[i]]);
	for (i = 0; i < IOPORT_COUNT; i++)
		total += vm->bus.unclaimed[i];
	fprintf(f, "  unclaimed port accesses     %12llu\n",
		(unsigned long long)total);
	n = top_ports(vm->bus.unclaimed, top, TOP_PORTS);
	for (i = 0; i < n; i++)
		fprintf(f, "    0x%04x  %-12s %12llu\n", top[i], "",
			(unsigned long long)vm->bus.unclaimed[top[i]]);
}

void stats__print(struct vm *vm, FILE *f)
{
	const struct vm_stats *st = &vm->stats;
	uint64_t wall = st->end_ns - st->start_ns, total = 0;
	int i;

	for (i = 0; i < EXIT_NR; i++)
		total += st->exits[i];
	fprintf(f, "bt86 statistics\n");
	fprintf(f, "  backend                     %12s (--accel %s)\n",
		vm->backend.ops ? vm->backend.ops->name : "none",
		options__accel_name(vm->opts->accel));
	fprintf(f, "  guest RAM                   %12llu KiB\n",
		(unsigned long long)(vm->opts->mem >> 10));
	fprintf(f, "  wall time                   %12.3f ms\n", ms(wall));
	fprintf(f, "  in the run call             %12.3f ms\n", ms(st->run_ns));
	fprintf(f, "  in the launcher             %12.3f ms\n",
		ms(wall > st->run_ns ? wall - st->run_ns : 0));
	fprintf(f, "  exits                       %12llu\n",
		(unsigned long long)total);
	for (i = 0; i < EXIT_NR; i++)
		if (st->exits[i])
			fprintf(f, "    %-25s %12llu\n", exit_reason_names[i],
				(unsigned long long)st->exits[i]);
	stats__print_ports(vm, f);
	fprintf(f, "  MMIO reads / writes         %12llu / %llu\n",
		(unsigned long long)st->mmio_reads,
		(unsigned long long)st->mmio_writes);
	fprintf(f, "  interrupts injected         %12llu\n",
		(unsigned long long)st->irqs_injected);
	fprintf(f, "  PIT IRQ 0 edges             %12llu\n",
		(unsigned long long)vm->pit.irqs);
	fprintf(f, "  spurious PIC acknowledges   %12llu\n",
		(unsigned long long)vm->pic.spurious);
	fprintf(f, "  HLT waits                   %12llu\n",
		(unsigned long long)st->halt_waits);
	fprintf(f, "  serial bytes out / in       %12llu / %llu\n",
		(unsigned long long)vm->uart.tx_bytes,
		(unsigned long long)vm->uart.rx_bytes);
	fprintf(f, "  POST code writes (last)     %12llu (0x%02x)\n",
		(unsigned long long)vm->post.writes, vm->post.last);
	if (vm->backend.ops && vm->backend.ops->print_stats)
		vm->backend.ops->print_stats(&vm->backend, f);
}
