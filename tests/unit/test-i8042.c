// SPDX-License-Identifier: GPL-2.0
/*
 * The i8042 keyboard controller and the other reset and exit ports: self
 * tests, the configuration byte, keyboard commands, reset through 0xfe,
 * 0xd1 and port 0x92, and the debug-exit status.
 */
#include "kselftest_harness.h"
#include "i8042.h"
#include "pic.h"
#include "sysport.h"

static void out(struct i8042 *k, uint16_t port, uint8_t val)
{
	uint32_t v = val;

	i8042__io(k, port, 1, true, &v);
}

static uint8_t in(struct i8042 *k, uint16_t port)
{
	uint32_t v = 0;

	i8042__io(k, port, 1, false, &v);
	return v;
}

FIXTURE(kbc)
{
	struct i8042 kbc;
	struct pic pic;
	struct stop_request stop;
};

FIXTURE_SETUP(kbc)
{
	pic__init(&self->pic);
	self->pic.chip[0].vector_base = 0x20;
	memset(&self->stop, 0, sizeof(self->stop));
	i8042__init(&self->kbc, &self->pic, &self->stop);
}

FIXTURE_TEARDOWN(kbc)
{
}

TEST_F(kbc, self_tests)
{
	struct i8042 *k = &self->kbc;

	EXPECT_EQ(0, in(k, 0x64) & 0x01); /* output buffer empty */
	out(k, 0x64, 0xaa);
	EXPECT_EQ(0x01, in(k, 0x64) & 0x01);
	EXPECT_EQ(0x04, in(k, 0x64) & 0x04); /* system flag */
	EXPECT_EQ(0x55, in(k, 0x60));
	EXPECT_EQ(0, in(k, 0x64) & 0x01);
	out(k, 0x64, 0xab); /* keyboard interface test */
	EXPECT_EQ(0x00, in(k, 0x60));
	out(k, 0x64, 0xa9); /* aux interface test */
	EXPECT_EQ(0x00, in(k, 0x60));
	EXPECT_EQ(STOP_NONE, self->stop.reason);
}

TEST_F(kbc, config_byte)
{
	struct i8042 *k = &self->kbc;

	out(k, 0x64, 0x20);
	EXPECT_EQ(0x45, in(k, 0x60));
	out(k, 0x64, 0x60);
	EXPECT_EQ(0x08, in(k, 0x64) & 0x08); /* last write: command */
	out(k, 0x60, 0x44);		     /* keyboard IRQ off */
	EXPECT_EQ(0x00, in(k, 0x64) & 0x08);
	out(k, 0x64, 0x20);
	EXPECT_EQ(0x44, in(k, 0x60));
	out(k, 0x64, 0xad); /* disable keyboard */
	out(k, 0x64, 0x20);
	EXPECT_EQ(0x54, in(k, 0x60));
}

TEST_F(kbc, keyboard_reset_and_irq1)
{
	struct i8042 *k = &self->kbc;

	out(k, 0x60, 0xff);
	ASSERT_TRUE(pic__has_interrupt(&self->pic));
	EXPECT_EQ(0x21, pic__ack(&self->pic));
	EXPECT_EQ(0xfa, in(k, 0x60));
	EXPECT_EQ(0xaa, in(k, 0x60));
	EXPECT_EQ(0, in(k, 0x64) & 0x01);
	/* Set LEDs takes an argument, each byte acknowledged. */
	out(k, 0x60, 0xed);
	EXPECT_EQ(0xfa, in(k, 0x60));
	out(k, 0x60, 0x07);
	EXPECT_EQ(0xfa, in(k, 0x60));
	/* Get scancode set. */
	out(k, 0x60, 0xf0);
	out(k, 0x60, 0x00);
	EXPECT_EQ(0xfa, in(k, 0x60));
	EXPECT_EQ(0xfa, in(k, 0x60));
	EXPECT_EQ(0x02, in(k, 0x60));
	out(k, 0x60, 0xee);
	EXPECT_EQ(0xee, in(k, 0x60));
}

TEST_F(kbc, aux_loopback_sets_aux_obf)
{
	struct i8042 *k = &self->kbc;

	out(k, 0x64, 0xd3);
	out(k, 0x60, 0x5a);
	EXPECT_EQ(0x21, in(k, 0x64) & 0x21);
	EXPECT_EQ(0x5a, in(k, 0x60));
}

TEST_F(kbc, pulse_reset)
{
	out(&self->kbc, 0x64, 0xff); /* pulse nothing */
	EXPECT_EQ(STOP_NONE, self->stop.reason);
	out(&self->kbc, 0x64, 0xfe);
	EXPECT_EQ(STOP_RESET_I8042, self->stop.reason);
	EXPECT_EQ(0, self->stop.status);
}

TEST_F(kbc, output_port_reset)
{
	struct i8042 *k = &self->kbc;

	out(k, 0x64, 0xd0);
	EXPECT_EQ(0x03, in(k, 0x60));
	out(k, 0x64, 0xd1);
	out(k, 0x60, 0x03); /* A20 on, reset high: fine */
	EXPECT_EQ(STOP_NONE, self->stop.reason);
	out(k, 0x64, 0xd1);
	out(k, 0x60, 0x02); /* bit 0 low: reset */
	EXPECT_EQ(STOP_RESET_I8042, self->stop.reason);
}

TEST(port92_fast_reset)
{
	struct stop_request stop = { 0 };
	struct port92 p;
	uint32_t v;

	port92__init(&p, &stop);
	port92__io(&p, 0x92, 1, false, &v);
	EXPECT_EQ(0x02, v);
	v = 0x00; /* A20 off */
	port92__io(&p, 0x92, 1, true, &v);
	port92__io(&p, 0x92, 1, false, &v);
	EXPECT_EQ(0x00, v);
	EXPECT_EQ(STOP_NONE, stop.reason);
	v = 0x03;
	port92__io(&p, 0x92, 1, true, &v);
	EXPECT_EQ(STOP_RESET_PORT92, stop.reason);
}

TEST(debug_exit_status)
{
	struct stop_request stop = { 0 };
	struct debug_exit dx;
	uint32_t v;

	debug_exit__init(&dx, &stop);
	v = 0;
	debug_exit__io(&dx, 0xf4, 1, true, &v);
	EXPECT_EQ(STOP_DEBUG_EXIT, stop.reason);
	EXPECT_EQ(1, stop.status);
	/* The first request wins. */
	v = 5;
	debug_exit__io(&dx, 0xf4, 4, true, &v);
	EXPECT_EQ(1, stop.status);

	memset(&stop, 0, sizeof(stop));
	v = 0x12345; /* 32-bit write, truncated */
	debug_exit__io(&dx, 0xf4, 4, true, &v);
	EXPECT_EQ((0x12345 << 1 | 1) & 0xff, stop.status);
	memset(&stop, 0, sizeof(stop));
	v = 0x7f;
	debug_exit__io(&dx, 0xf4, 1, true, &v);
	EXPECT_EQ(0xff, stop.status);
}

TEST(post_code)
{
	struct post post;
	uint32_t v = 0x42;

	post__init(&post);
	post__io(&post, 0x80, 1, true, &v);
	v = 0x43;
	post__io(&post, 0x80, 1, true, &v);
	post__io(&post, 0x80, 1, false, &v);
	EXPECT_EQ(0x43, v);
	EXPECT_EQ(2, post.writes);
}

TEST_HARNESS_MAIN
