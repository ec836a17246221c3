// SPDX-License-Identifier: GPL-2.0
/*
 * A test device compatible with the port part of QEMU's pc-testdev, so that
 * a guest runs unchanged natively under "qemu-system-i386 -device
 * pc-testdev" and under bt86 --testdev.
 *
 * Ports 0xe0-0xe3 and 0xe8-0xeb each hold one 32-bit register, byte k at
 * port base + k.  A write of size s at base + k replaces bytes k..k+s-1; a
 * read returns them.  As in QEMU, an access must be naturally aligned
 * (k a multiple of s): a misaligned write is dropped and a misaligned read
 * returns 0.  The guest uses them to check that IN and OUT of every size
 * reach the launcher intact.
 */
#include <string.h>

#include "ioport.h"
#include "sysport.h"

#define TESTDEV_PORT 0xe0
#define TESTDEV_BYTE 0xe8

void testdev__io(void *dev, uint16_t port, int size, bool is_write,
		 uint32_t *data)
{
	struct testdev *t = dev;
	int index = port >= TESTDEV_BYTE;
	int lane = port - (index ? TESTDEV_BYTE : TESTDEV_PORT), i;
	uint32_t *reg = &t->reg[index];

	if (!is_write)
		*data = 0;
	if (lane % size)
		return;
	for (i = 0; i < size; i++) {
		int shift = 8 * (lane + i);

		if (is_write) {
			*reg &= ~(0xffu << shift);
			*reg |= ((*data >> (8 * i)) & 0xff) << shift;
		} else {
			*data |= ((*reg >> shift) & 0xff) << (8 * i);
		}
	}
}

void testdev__init(struct testdev *t)
{
	memset(t, 0, sizeof(*t));
}

int testdev__register(struct testdev *t, struct ioport_bus *bus)
{
	int ret;

	ret = ioport__register(bus, TESTDEV_PORT, 4, testdev__io, t, "testdev");
	if (!ret)
		ret = ioport__register(bus, TESTDEV_BYTE, 4, testdev__io, t,
				       "testdev");
	return ret;
}
