// SPDX-License-Identifier: GPL-2.0
/* The port bus: registration rules, routing, unclaimed ports. */
#include <errno.h>

#include "kselftest_harness.h"
#include "ioport.h"

struct probe {
	int calls;
	uint16_t port;
	int size;
	bool is_write;
	uint32_t value;
};

static void probe_io(void *dev, uint16_t port, int size, bool is_write,
		     uint32_t *data)
{
	struct probe *p = dev;

	p->calls++;
	p->port = port;
	p->size = size;
	p->is_write = is_write;
	if (is_write)
		p->value = *data;
	else
		*data = 0x12345678;
}

FIXTURE(bus)
{
	struct ioport_bus bus;
	struct probe a, b;
};

FIXTURE_SETUP(bus)
{
	memset(&self->a, 0, sizeof(self->a));
	memset(&self->b, 0, sizeof(self->b));
	ASSERT_EQ(0, ioport__init(&self->bus));
	ASSERT_EQ(0, ioport__register(&self->bus, 0x40, 4, probe_io, &self->a,
				      "a"));
	ASSERT_EQ(0, ioport__register(&self->bus, 0x20, 2, probe_io, &self->b,
				      "b"));
}

FIXTURE_TEARDOWN(bus)
{
	ioport__exit(&self->bus);
}

TEST_F(bus, overlap_rejected)
{
	EXPECT_EQ(-EBUSY,
		  ioport__register(&self->bus, 0x43, 1, probe_io, NULL, "x"));
	EXPECT_EQ(-EBUSY,
		  ioport__register(&self->bus, 0x3e, 3, probe_io, NULL, "x"));
	EXPECT_EQ(-EBUSY, ioport__register(&self->bus, 0x00, 0x100, probe_io,
					   NULL, "x"));
	EXPECT_EQ(-EBUSY,
		  ioport__register(&self->bus, 0x21, 1, probe_io, NULL, "x"));
	/* Adjacent ranges are fine. */
	EXPECT_EQ(0,
		  ioport__register(&self->bus, 0x44, 1, probe_io, NULL, "c"));
	EXPECT_EQ(0,
		  ioport__register(&self->bus, 0x3f, 1, probe_io, NULL, "d"));
}

TEST_F(bus, bad_ranges_rejected)
{
	EXPECT_EQ(-EINVAL,
		  ioport__register(&self->bus, 0x100, 0, probe_io, NULL, "x"));
	EXPECT_EQ(-EINVAL,
		  ioport__register(&self->bus, 0xfffe, 4, probe_io, NULL, "x"));
	EXPECT_EQ(0, ioport__register(&self->bus, 0xfffc, 4, probe_io, NULL,
				      "top"));
}

TEST_F(bus, routes_to_owner)
{
	uint32_t v = 0xabcd;

	EXPECT_TRUE(ioport__access(&self->bus, 0x42, 2, true, &v));
	EXPECT_EQ(1, self->a.calls);
	EXPECT_EQ(0x42, self->a.port);
	EXPECT_EQ(2, self->a.size);
	EXPECT_EQ(0xabcd, self->a.value);
	EXPECT_EQ(0, self->b.calls);

	/* Reads are masked to the access size. */
	EXPECT_TRUE(ioport__access(&self->bus, 0x21, 1, false, &v));
	EXPECT_EQ(0x78, v);
	EXPECT_TRUE(ioport__access(&self->bus, 0x20, 2, false, &v));
	EXPECT_EQ(0x5678, v);
	EXPECT_EQ(2, self->b.calls);
	/* Writes are masked too. */
	v = 0xffffff12;
	ioport__access(&self->bus, 0x40, 1, true, &v);
	EXPECT_EQ(0x12, self->a.value);
}

TEST_F(bus, unclaimed_reads_all_ones_and_counted)
{
	uint32_t v = 0;

	EXPECT_FALSE(ioport__access(&self->bus, 0x1234, 1, false, &v));
	EXPECT_EQ(0xff, v);
	EXPECT_FALSE(ioport__access(&self->bus, 0x1234, 2, false, &v));
	EXPECT_EQ(0xffff, v);
	EXPECT_FALSE(ioport__access(&self->bus, 0x1234, 4, false, &v));
	EXPECT_EQ(0xffffffff, v);
	v = 5;
	EXPECT_FALSE(ioport__access(&self->bus, 0x44, 1, true, &v));
	EXPECT_EQ(3, self->bus.unclaimed[0x1234]);
	EXPECT_EQ(1, self->bus.unclaimed[0x44]);
	EXPECT_EQ(0, self->bus.unclaimed[0x40]);
	EXPECT_EQ(0, self->a.calls);
}

TEST_F(bus, find)
{
	ASSERT_NE(NULL, ioport__find(&self->bus, 0x43));
	EXPECT_STREQ("a", ioport__find(&self->bus, 0x43)->name);
	EXPECT_STREQ("b", ioport__find(&self->bus, 0x20)->name);
	EXPECT_EQ(NULL, ioport__find(&self->bus, 0x44));
	EXPECT_EQ(NULL, ioport__find(&self->bus, 0x1f));
}

TEST_HARNESS_MAIN
