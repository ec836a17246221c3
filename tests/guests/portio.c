/*
 * portio - port I/O round trips: every width of IN/OUT, byte lanes, string
 * I/O in both directions, and the registers of the PC devices that simply
 * store what is written to them.  Accesses stay naturally aligned: QEMU
 * drops unaligned ones to the test device (writes lost, reads 0).  Under bt86 every one of these accesses
 * leaves the guest; this guest checks that each comes back right.
 */
#include "guest.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define CMOS_NVRAM 0x40 /* first general-purpose NVRAM byte */
/* Not decoded by the bt86 launcher nor by QEMU's i386 pc machine. */
#define UNASSIGNED_PORT 0x2f0

/* REP INSB that reports where EDI and ECX end up; @backward sets DF. */
static void rep_insb(uint16_t port, void *dst, uint32_t n, int backward,
		     uint32_t *edi_end, uint32_t *ecx_end)
{
	uint32_t edi = (uint32_t)dst, ecx = n;

	if (backward)
		asm volatile("std; rep insb; cld"
			     : "+D"(edi), "+c"(ecx)
			     : "d"(port)
			     : "memory");
	else
		asm volatile("cld; rep insb"
			     : "+D"(edi), "+c"(ecx)
			     : "d"(port)
			     : "memory");
	*edi_end = edi;
	*ecx_end = ecx;
}

static void test_testdev(void)
{
	const uint8_t bytes[4] = { 0x11, 0x22, 0x33, 0x44 };
	const uint32_t dwords[3] = { 0x01020304, 0x05060708, 0xcafef00d };
	uint32_t buf32[2] = { 0, 0 };
	uint8_t buf[8];
	uint32_t edi, ecx;
	int i, same;

	outl(TESTDEV_IOPORT, 0x12345678);
	ok_eq(inl(TESTDEV_IOPORT), 0x12345678, "testdev 32-bit echo");

	outw(TESTDEV_IOPORT, 0xabcd);
	ok(inl(TESTDEV_IOPORT) == 0x1234abcd &&
		   inw(TESTDEV_IOPORT + 2) == 0x1234,
	   "testdev 16-bit write replaces the low half only");

	outb(TESTDEV_IOPORT + 3, 0x9a);
	ok(inl(TESTDEV_IOPORT) == 0x9a34abcd && inb(TESTDEV_IOPORT + 1) == 0xab,
	   "testdev byte lanes");

	/* pc-testdev refuses misaligned accesses: writes vanish, reads give 0. */
	outl(TESTDEV_IOPORT, 0x11223344);
	outw(TESTDEV_IOPORT + 1, 0xbeef);
	ok(inl(TESTDEV_IOPORT) == 0x11223344 && inw(TESTDEV_IOPORT + 1) == 0 &&
		   inl(TESTDEV_IOPORT + 2) == 0,
	   "testdev ignores misaligned accesses");

	outl(TESTDEV_IOPORT_BYTE, 0xdeadbeef);
	ok(inl(TESTDEV_IOPORT_BYTE) == 0xdeadbeef &&
		   inb(TESTDEV_IOPORT_BYTE + 2) == 0xad &&
		   inw(TESTDEV_IOPORT_BYTE + 2) == 0xdead,
	   "testdev byte-access register");

	outl(TESTDEV_IOPORT, 0);
	outsb(TESTDEV_IOPORT + 2, bytes, 4);
	ok_eq(inl(TESTDEV_IOPORT), 0x00440000,
	      "rep outsb writes each byte to the port");

	outl(TESTDEV_IOPORT, 0x11223344);
	memset(buf, 0, sizeof(buf));
	rep_insb(TESTDEV_IOPORT + 1, buf, 5, 0, &edi, &ecx);
	same = 1;
	for (i = 0; i < 5; i++)
		same &= buf[i] == 0x33;
	ok(same && buf[5] == 0 && ecx == 0 && edi == (uint32_t)&buf[5],
	   "rep insb forward: data, ECX and EDI");

	memset(buf, 0, sizeof(buf));
	rep_insb(TESTDEV_IOPORT + 3, &buf[5], 5, 1, &edi, &ecx);
	same = 1;
	for (i = 1; i <= 5; i++)
		same &= buf[i] == 0x11;
	ok(same && buf[0] == 0 && buf[6] == 0 && ecx == 0 &&
		   edi == (uint32_t)&buf[0],
	   "rep insb backward (DF=1): data, ECX and EDI");

	outsl(TESTDEV_IOPORT, dwords, 3);
	insl(TESTDEV_IOPORT, buf32, 2);
	ok(buf32[0] == 0xcafef00d && buf32[1] == 0xcafef00d,
	   "rep outsl / rep insl");
}

static void test_pc_devices(void)
{
	uint8_t a, b;

	outb(COM1 + UART_SCR, 0x5a);
	a = inb(COM1 + UART_SCR);
	outb(COM1 + UART_SCR, 0xa5);
	b = inb(COM1 + UART_SCR);
	ok(a == 0x5a && b == 0xa5, "UART scratch register");

	outb(CMOS_INDEX, CMOS_NVRAM);
	outb(CMOS_DATA, 0x5a);
	outb(CMOS_INDEX, CMOS_NVRAM + 1);
	outb(CMOS_DATA, 0xc3);
	outb(CMOS_INDEX, CMOS_NVRAM);
	a = inb(CMOS_DATA);
	outb(CMOS_INDEX, CMOS_NVRAM + 1);
	b = inb(CMOS_DATA);
	ok(a == 0x5a && b == 0xc3, "CMOS NVRAM write and read back");

	pic_init();
	pic_set_imr(0xa55a);
	a = inb(PIC1_DATA);
	b = inb(PIC2_DATA);
	pic_set_imr(0xffff);
	ok(a == 0x5a && b == 0xa5, "PIC IMR read back");

	outb(UNASSIGNED_PORT, 0);
	ok_eq(inb(UNASSIGNED_PORT), 0xff, "unassigned port reads 0xff");
	ok_eq(inw(UNASSIGNED_PORT), 0xffff, "unassigned port reads 0xffff");
	ok_eq(inl(UNASSIGNED_PORT), 0xffffffff,
	      "unassigned port reads 0xffffffff");
}

int main(void)
{
	ktap_plan(15);
	test_testdev();
	test_pc_devices();
	ktap_finish();
}
