/*
 * testdev.h - ports of the test devices.
 *
 * The bt86 launcher's --testdev and QEMU's "-device pc-testdev" provide:
 *   0xe0-0xe3  one 32-bit register; an access of size s at 0xe0+k reads or
 *              replaces bytes k..k+s-1 of it (byte lanes)
 *   0xe8-0xeb  another such register, accessed a byte at a time
 * The launcher and QEMU's "-device isa-debug-exit,iobase=0xf4,iosize=4"
 * provide the exit port: writing v ends the VM with status (v << 1) | 1.
 * Port 0x80 is the POST diagnostic port: writes go nowhere, cheaply.
 */
#ifndef GUEST_TESTDEV_H
#define GUEST_TESTDEV_H

#define TESTDEV_IOPORT	    0xe0
#define TESTDEV_IOPORT_BYTE 0xe8
#define DEBUG_EXIT_PORT	    0xf4
#define POST_PORT	    0x80

/* Written (outl) to TESTDEV_IOPORT around a benchmark's timed loop. */
#define BENCH_MARK_BEGIN 0xb86b0001
#define BENCH_MARK_END	 0xb86b0002

#endif /* GUEST_TESTDEV_H */
