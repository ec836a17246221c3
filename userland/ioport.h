/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The port I/O bus.  A device registers a range of ports with one handler;
 * every guest IN or OUT of size 1, 2 or 4 is routed to the handler of the
 * range that holds its port.  Ports nobody claims read as all ones and drop
 * writes, like an ISA bus with nothing on it, but each such access is
 * counted per port so that --stats shows what the guest probed.
 */
#ifndef BT86_IOPORT_H
#define BT86_IOPORT_H

#include <stdbool.h>
#include <stdint.h>

#define IOPORT_COUNT 0x10000

/*
 * A device's port handler.  port is the accessed port (not an offset), size
 * 1, 2 or 4.  On a write *data holds the value (low size bytes); on a read
 * the handler stores the value in *data (the bus masks it to size bytes).
 */
typedef void (*ioport_fn)(void *dev, uint16_t port, int size, bool is_write,
			  uint32_t *data);

struct ioport_range {
	uint16_t base;
	uint16_t len;
	ioport_fn fn;
	void *dev;
	const char *name;
};

struct ioport_bus {
	struct ioport_range *ranges; /* sorted by base, never overlapping */
	int nr_ranges;
	uint64_t *accesses;  /* per port: every access seen */
	uint64_t *unclaimed; /* per port: accesses nobody claimed */
};

int ioport__init(struct ioport_bus *bus);
void ioport__exit(struct ioport_bus *bus);

/*
 * Claim [base, base + len).  Returns 0, -EINVAL for an empty or wrapping
 * range, -EBUSY when it overlaps a registered range, -ENOMEM.
 */
int ioport__register(struct ioport_bus *bus, uint16_t base, uint16_t len,
		     ioport_fn fn, void *dev, const char *name);

/* Route one access; returns true when a device claimed the port. */
bool ioport__access(struct ioport_bus *bus, uint16_t port, int size,
		    bool is_write, uint32_t *data);

/* The range holding port, or NULL. */
const struct ioport_range *ioport__find(const struct ioport_bus *bus,
					uint16_t port);

#endif
