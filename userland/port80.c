// SPDX-License-Identifier: GPL-2.0
/*
 * Port 0x80, the POST diagnostic port.  Firmware and kernels write progress
 * codes here, and Linux uses it as an I/O delay; the last code is kept and
 * read back, writes are counted for --stats.
 */
#include <string.h>

#include "ioport.h"
#include "sysport.h"

#define POST_PORT 0x80

void post__io(void *dev, uint16_t port, int size, bool is_write, uint32_t *data)
{
	struct post *post = dev;

	if (is_write) {
		post->last = *data;
		post->writes++;
	} else {
		*data = post->last;
	}
}

void post__init(struct post *post)
{
	memset(post, 0, sizeof(*post));
}

int post__register(struct post *post, struct ioport_bus *bus)
{
	return ioport__register(bus, POST_PORT, 1, post__io, post, "post");
}
