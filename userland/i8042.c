// SPDX-License-Identifier: GPL-2.0
/*
 * The i8042 keyboard controller (IBM PS/2 Technical Reference) and a
 * keyboard that acknowledges its commands.
 *
 * Parts: the output queue (bytes for the guest at 0x60, with OBF/AUX status
 * and IRQ 1/12), controller commands written to 0x64, and bytes written to
 * 0x60 (a controller command's argument, or a keyboard command).
 */
#include <string.h>

#include "i8042.h"
#include "ioport.h"
#include "pic.h"

#define I8042_DATA 0x60
#define I8042_CMD  0x64

#define STS_OBF	     0x01
#define STS_SYS	     0x04
#define STS_CMD	     0x08
#define STS_UNLOCKED 0x10
#define STS_AUX_OBF  0x20

#define CFG_KBD_INT 0x01
#define CFG_AUX_INT 0x02
#define CFG_SYS	    0x04
#define CFG_KBD_OFF 0x10
#define CFG_AUX_OFF 0x20
#define CFG_XLATE   0x40

#define OUT_RESET 0x01 /* active low */
#define OUT_A20	  0x02

#define KBD_ACK	   0xfa
#define KBD_BAT_OK 0xaa

/* --- the output queue ----------------------------------------------------- */

static void i8042__update_irq(struct i8042 *k)
{
	bool kbd = false, aux = false;

	if (k->q_count) {
		if (k->queue_aux[k->q_head])
			aux = k->config & CFG_AUX_INT;
		else
			kbd = k->config & CFG_KBD_INT;
	}
	if (!k->pic)
		return;
	pic__set_irq(k->pic, 1, kbd);
	pic__set_irq(k->pic, 12, aux);
}

static void i8042__queue(struct i8042 *k, uint8_t byte, bool aux)
{
	int tail;

	if (k->q_count == I8042_QUEUE)
		return;
	tail = (k->q_head + k->q_count) % I8042_QUEUE;
	k->queue[tail] = byte;
	k->queue_aux[tail] = aux;
	k->q_count++;
}

static uint8_t i8042__dequeue(struct i8042 *k)
{
	uint8_t byte;

	if (!k->q_count)
		return 0;
	byte = k->queue[k->q_head];
	k->q_head = (k->q_head + 1) % I8042_QUEUE;
	k->q_count--;
	return byte;
}

static uint8_t i8042__status(const struct i8042 *k)
{
	uint8_t sts = STS_UNLOCKED | k->status_cmd;

	if (k->config & CFG_SYS)
		sts |= STS_SYS;
	if (k->q_count) {
		sts |= STS_OBF;
		if (k->queue_aux[k->q_head])
			sts |= STS_AUX_OBF;
	}
	return sts;
}

/* --- the reset line --------------------------------------------------------- */

static void i8042__write_output_port(struct i8042 *k, uint8_t val)
{
	k->output_port = val;
	if (!(val & OUT_RESET) && k->stop)
		stop__request(k->stop, STOP_RESET_I8042, 0);
}

/* --- controller commands (port 0x64) ------------------------------------------ */

static void i8042__command(struct i8042 *k, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd < 0x40) { /* read controller RAM */
		i8042__queue(k, cmd == 0x20 ? k->config : 0, false);
		return;
	}
	if (cmd >= 0xf0) {
		/* Pulse the output lines whose bit is clear: bit 0 resets. */
		if (!(cmd & OUT_RESET) && k->stop)
			stop__request(k->stop, STOP_RESET_I8042, 0);
		return;
	}
	switch (cmd) {
	case 0x60: /* write config byte */
	case 0xd1: /* write output port */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer */
	case 0xd4: /* write to the aux device */
		k->pending_cmd = cmd;
		break;
	case 0xa7:
		k->config |= CFG_AUX_OFF;
		break;
	case 0xa8:
		k->config &= ~CFG_AUX_OFF;
		break;
	case 0xa9: /* aux interface test: passed */
	case 0xab: /* keyboard interface test: passed */
		i8042__queue(k, 0x00, false);
		break;
	case 0xaa: /* controller self-test */
		k->config |= CFG_SYS;
		i8042__queue(k, 0x55, false);
		break;
	case 0xad:
		k->config |= CFG_KBD_OFF;
		break;
	case 0xae:
		k->config &= ~CFG_KBD_OFF;
		break;
	case 0xc0: /* read input port: keyboard not locked */
		i8042__queue(k, 0x80, false);
		break;
	case 0xd0: /* read output port */
		i8042__queue(k, k->output_port, false);
		break;
	default:
		break; /* ignored, as by many real controllers */
	}
}

/* --- keyboard commands (port 0x60) -------------------------------------------- */

static void i8042__keyboard(struct i8042 *k, uint8_t val)
{
	if (k->kbd_cmd) {
		/* The argument of 0xed (LEDs), 0xf3 (rate) or 0xf0 (set). */
		uint8_t cmd = k->kbd_cmd;

		k->kbd_cmd = 0;
		i8042__queue(k, KBD_ACK, false);
		if (cmd == 0xf0) {
			if (val == 0)
				i8042__queue(k, k->scancode_set, false);
			else if (val <= 3)
				k->scancode_set = val;
		}
		return;
	}
	switch (val) {
	case 0xed:
	case 0xf3:
	case 0xf0:
		k->kbd_cmd = val;
		i8042__queue(k, KBD_ACK, false);
		break;
	case 0xee: /* echo */
		i8042__queue(k, 0xee, false);
		break;
	case 0xf2: /* identify: MF2 keyboard */
		i8042__queue(k, KBD_ACK, false);
		i8042__queue(k, 0xab, false);
		i8042__queue(k, 0x83, false);
		break;
	case 0xff: /* reset and self-test */
		k->scancode_set = 2;
		i8042__queue(k, KBD_ACK, false);
		i8042__queue(k, KBD_BAT_OK, false);
		break;
	default: /* enable, disable, defaults, ...: acknowledged */
		i8042__queue(k, KBD_ACK, false);
		break;
	}
}

static void i8042__write_data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		k->config = val;
		break;
	case 0xd1:
		i8042__write_output_port(k, val);
		break;
	case 0xd2:
		i8042__queue(k, val, false);
		break;
	case 0xd3:
		i8042__queue(k, val, true);
		break;
	case 0xd4:
		break; /* no mouse attached: the byte is lost */
	default:
		i8042__keyboard(k, val);
		break;
	}
}

void i8042__io(void *dev, uint16_t port, int size, bool is_write,
	       uint32_t *data)
{
	struct i8042 *k = dev;

	if (port == I8042_CMD) {
		if (is_write) {
			k->status_cmd = STS_CMD;
			i8042__command(k, *data);
		} else {
			*data = i8042__status(k);
		}
	} else if (is_write) {
		k->status_cmd = 0;
		i8042__write_data(k, *data);
	} else {
		*data = i8042__dequeue(k);
	}
	i8042__update_irq(k);
}

void i8042__init(struct i8042 *kbc, struct pic *pic, struct stop_request *stop)
{
	memset(kbc, 0, sizeof(*kbc));
	kbc->pic = pic;
	kbc->stop = stop;
	kbc->config = CFG_KBD_INT | CFG_SYS | CFG_XLATE;
	kbc->output_port = OUT_RESET | OUT_A20;
	kbc->scancode_set = 2;
}

int i8042__register(struct i8042 *kbc, struct ioport_bus *bus)
{
	int ret;

	ret = ioport__register(bus, I8042_DATA, 1, i8042__io, kbc, "i8042");
	if (!ret)
		ret = ioport__register(bus, I8042_CMD, 1, i8042__io, kbc,
				       "i8042");
	return ret;
}
