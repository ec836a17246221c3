/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The i8042 keyboard controller at 0x60 (data) and 0x64 (status/command),
 * with a keyboard that answers its commands but never types (the console is
 * the UART).  What matters to guests today: the self-tests, the
 * configuration byte, and the reset line (output port bit 0, pulsed by
 * command 0xfe), which stops the VM with a reset request.
 */
#ifndef BT86_I8042_H
#define BT86_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "stop.h"

#define I8042_QUEUE 16

struct ioport_bus;
struct pic;

struct i8042 {
	uint8_t config;	     /* the command byte */
	uint8_t output_port; /* bit 0 reset (active low), bit 1 A20 */
	uint8_t status_cmd;  /* status bit 3: last write was a command */
	uint8_t pending_cmd; /* controller command awaiting its data */
	uint8_t kbd_cmd;     /* keyboard command awaiting its argument */
	uint8_t queue[I8042_QUEUE];
	bool queue_aux[I8042_QUEUE]; /* byte came from the aux port */
	int q_head, q_count;
	uint8_t scancode_set;
	bool kbd_disabled, aux_disabled;
	struct pic *pic; /* may be NULL in tests */
	struct stop_request *stop;
};

void i8042__init(struct i8042 *kbc, struct pic *pic, struct stop_request *stop);
int i8042__register(struct i8042 *kbc, struct ioport_bus *bus);

void i8042__io(void *dev, uint16_t port, int size, bool is_write,
	       uint32_t *data);

#endif
