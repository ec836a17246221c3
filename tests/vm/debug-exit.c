// SPDX-License-Identifier: GPL-2.0
/*
 * debug-exit: end the sandbox VM with a status the host can read.
 *
 * QEMU's isa-debug-exit device (iobase 0xf4) makes QEMU exit with
 * (value << 1) | 1, so the host sees an odd code whenever the sandbox ended
 * on purpose; a crash or a kernel panic gives an even one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	unsigned long code = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;

	if (ioperm(0xf4, 4, 1)) {
		perror("debug-exit: ioperm");
		return 1;
	}
	outl(code, 0xf4);
	fprintf(stderr,
		"debug-exit: the isa-debug-exit device did not stop the VM\n");
	return 1;
}
