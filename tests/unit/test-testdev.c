// SPDX-License-Identifier: GPL-2.0
/* The pc-testdev ports: one 32-bit register with byte lanes at each base. */
#include "kselftest_harness.h"
#include "ioport.h"
#include "sysport.h"

static uint32_t rd(struct ioport_bus *bus, uint16_t port, int size)
{
	uint32_t v = 0;

	ioport__access(bus, port, size, false, &v);
	return v;
}

static void wr(struct ioport_bus *bus, uint16_t port, int size, uint32_t v)
{
	ioport__access(bus, port, size, true, &v);
}

FIXTURE(testdev)
{
	struct ioport_bus bus;
	struct testdev t;
};

FIXTURE_SETUP(testdev)
{
	ASSERT_EQ(0, ioport__init(&self->bus));
	testdev__init(&self->t);
	ASSERT_EQ(0, testdev__register(&self->t, &self->bus));
}

FIXTURE_TEARDOWN(testdev)
{
	ioport__exit(&self->bus);
}

TEST_F(testdev, word_register)
{
	struct ioport_bus *bus = &self->bus;

	wr(bus, 0xe0, 4, 0x11223344);
	EXPECT_EQ(0x11223344, rd(bus, 0xe0, 4));
	EXPECT_EQ(0x44, rd(bus, 0xe0, 1));
	EXPECT_EQ(0x33, rd(bus, 0xe1, 1));
	EXPECT_EQ(0x1122, rd(bus, 0xe2, 2));
	EXPECT_EQ(0x3344, rd(bus, 0xe0, 2));
}

/* QEMU's pc-testdev refuses misaligned accesses: reads give 0, writes vanish. */
TEST_F(testdev, misaligned_access_is_ignored)
{
	struct ioport_bus *bus = &self->bus;

	wr(bus, 0xe0, 4, 0x11223344);
	EXPECT_EQ(0, rd(bus, 0xe1, 2));
	EXPECT_EQ(0, rd(bus, 0xe1, 4));
	EXPECT_EQ(0, rd(bus, 0xe2, 4));
	wr(bus, 0xe1, 2, 0xbbcc);
	wr(bus, 0xe3, 4, 0x998877dd);
	EXPECT_EQ(0x11223344, rd(bus, 0xe0, 4));
}

TEST_F(testdev, byte_lanes)
{
	struct ioport_bus *bus = &self->bus;

	wr(bus, 0xe0, 4, 0x11223344);
	wr(bus, 0xe2, 1, 0xaa);
	EXPECT_EQ(0x11aa3344, rd(bus, 0xe0, 4));
	wr(bus, 0xe0, 2, 0xbbcc);
	EXPECT_EQ(0x11aabbcc, rd(bus, 0xe0, 4));
	wr(bus, 0xe3, 1, 0xdd);
	EXPECT_EQ(0xddaabbcc, rd(bus, 0xe0, 4));
}

TEST_F(testdev, second_register_is_separate)
{
	struct ioport_bus *bus = &self->bus;

	wr(bus, 0xe0, 4, 0x01020304);
	wr(bus, 0xe8, 1, 0x55);
	wr(bus, 0xe9, 1, 0x66);
	wr(bus, 0xeb, 1, 0x77);
	EXPECT_EQ(0x77006655, rd(bus, 0xe8, 4));
	EXPECT_EQ(0x77, rd(bus, 0xeb, 1));
	EXPECT_EQ(0x01020304, rd(bus, 0xe0, 4));
	/* 0xe4-0xe7 are not ours. */
	EXPECT_EQ(0xff, rd(bus, 0xe4, 1));
	EXPECT_EQ(1, bus->unclaimed[0xe4]);
}

TEST_HARNESS_MAIN
