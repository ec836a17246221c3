// SPDX-License-Identifier: GPL-2.0
/*
 * Port 0x92, system control port A: bit 1 gates address line 20, a rising
 * bit 0 resets the machine (stopping the VM with a reset request).  The A20
 * bit is remembered and read back but guest memory is never wrapped at
 * 1 MiB: the guests bt86 runs enter in protected mode with A20 on.
 */
#include <string.h>

#include "ioport.h"
#include "sysport.h"

#define PORT92	  0x92
#define P92_RESET 0x01
#define P92_A20	  0x02

void port92__io(void *dev, uint16_t port, int size, bool is_write,
		uint32_t *data)
{
	struct port92 *p = dev;
	uint8_t val = *data;

	if (!is_write) {
		*data = p->value;
		return;
	}
	if ((val & P92_RESET) && !(p->value & P92_RESET))
		stop__request(p->stop, STOP_RESET_PORT92, 0);
	p->value = val & (P92_A20 | P92_RESET);
}

void port92__init(struct port92 *p, struct stop_request *stop)
{
	memset(p, 0, sizeof(*p));
	p->value = P92_A20;
	p->stop = stop;
}

int port92__register(struct port92 *p, struct ioport_bus *bus)
{
	return ioport__register(bus, PORT92, 1, port92__io, p, "port92");
}
