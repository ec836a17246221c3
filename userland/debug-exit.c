// SPDX-License-Identifier: GPL-2.0
/*
 * The debug-exit port, compatible with QEMU's
 * "-device isa-debug-exit,iobase=0xf4,iosize=0x04": a write of any size of
 * value v ends the VM with exit status (v << 1 | 1) & 0xff, so a guest's
 * status is always odd and never confused with the launcher's own.
 */
#include <string.h>

#include "ioport.h"
#include "sysport.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_SIZE 4

void debug_exit__io(void *dev, uint16_t port, int size, bool is_write,
		    uint32_t *data)
{
	struct debug_exit *dx = dev;

	if (!is_write) {
		*data = 0xffffffff; /* nothing to read */
		return;
	}
	stop__request(dx->stop, STOP_DEBUG_EXIT, ((*data << 1) | 1) & 0xff);
}

void debug_exit__init(struct debug_exit *dx, struct stop_request *stop)
{
	memset(dx, 0, sizeof(*dx));
	dx->stop = stop;
}

int debug_exit__register(struct debug_exit *dx, struct ioport_bus *bus)
{
	return ioport__register(bus, DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE,
				debug_exit__io, dx, "debug-exit");
}
