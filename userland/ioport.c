// SPDX-License-Identifier: GPL-2.0
/*
 * The port I/O bus: a sorted array of claimed ranges searched by bisection,
 * and per-port access counters for --stats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ioport.h"

int ioport__init(struct ioport_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	bus->accesses = calloc(IOPORT_COUNT, sizeof(*bus->accesses));
	bus->unclaimed = calloc(IOPORT_COUNT, sizeof(*bus->unclaimed));
	if (!bus->accesses || !bus->unclaimed) {
		ioport__exit(bus);
		return -ENOMEM;
	}
	return 0;
}

void ioport__exit(struct ioport_bus *bus)
{
	free(bus->ranges);
	free(bus->accesses);
	free(bus->unclaimed);
	memset(bus, 0, sizeof(*bus));
}

int ioport__register(struct ioport_bus *bus, uint16_t base, uint16_t len,
		     ioport_fn fn, void *dev, const char *name)
{
	uint32_t end = (uint32_t)base + len;
	struct ioport_range *r;
	int i;

	if (!len || end > IOPORT_COUNT || !fn)
		return -EINVAL;
	for (i = 0; i < bus->nr_ranges; i++) {
		r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < end)
			return -EBUSY;
		if (r->base > base)
			break;
	}
	r = realloc(bus->ranges, (bus->nr_ranges + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	bus->ranges = r;
	memmove(&r[i + 1], &r[i], (bus->nr_ranges - i) * sizeof(*r));
	r[i] = (struct ioport_range){ base, len, fn, dev, name };
	bus->nr_ranges++;
	return 0;
}

const struct ioport_range *ioport__find(const struct ioport_bus *bus,
					uint16_t port)
{
	int lo = 0, hi = bus->nr_ranges - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct ioport_range *r = &bus->ranges[mid];

		if (port < r->base)
			hi = mid - 1;
		else if (port >= r->base + r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool ioport__access(struct ioport_bus *bus, uint16_t port, int size,
		    bool is_write, uint32_t *data)
{
	uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	const struct ioport_range *r = ioport__find(bus, port);

	bus->accesses[port]++;
	if (!r) {
		bus->unclaimed[port]++;
		if (!is_write)
			*data = mask;
		return false;
	}
	if (is_write)
		*data &= mask;
	r->fn(r->dev, port, size, is_write, data);
	if (!is_write)
		*data &= mask;
	return true;
}
