/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The small system ports, one file each: port 0x80 (POST codes), the
 * debug-exit port 0xf4 (QEMU's isa-debug-exit), port 0x92 (system control
 * port A: A20 and fast reset) and QEMU's pc-testdev (--testdev).
 */
#ifndef BT86_SYSPORT_H
#define BT86_SYSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "stop.h"

struct ioport_bus;

/* port80.c */
struct post {
	uint8_t last;
	uint64_t writes;
};

void post__init(struct post *post);
int post__register(struct post *post, struct ioport_bus *bus);
void post__io(void *dev, uint16_t port, int size, bool is_write,
	      uint32_t *data);

/* debug-exit.c: a write of v stops the VM with status (v << 1 | 1) & 0xff */
struct debug_exit {
	struct stop_request *stop;
};

void debug_exit__init(struct debug_exit *dx, struct stop_request *stop);
int debug_exit__register(struct debug_exit *dx, struct ioport_bus *bus);
void debug_exit__io(void *dev, uint16_t port, int size, bool is_write,
		    uint32_t *data);

/* port92.c */
struct port92 {
	uint8_t value; /* bit 1: A20 enabled */
	struct stop_request *stop;
};

void port92__init(struct port92 *p, struct stop_request *stop);
int port92__register(struct port92 *p, struct ioport_bus *bus);
void port92__io(void *dev, uint16_t port, int size, bool is_write,
		uint32_t *data);

/* testdev.c: two 32-bit registers with byte lanes at 0xe0 and 0xe8 */
struct testdev {
	uint32_t reg[2];
};

void testdev__init(struct testdev *t);
int testdev__register(struct testdev *t, struct ioport_bus *bus);
void testdev__io(void *dev, uint16_t port, int size, bool is_write,
		 uint32_t *data);

#endif
