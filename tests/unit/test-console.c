// SPDX-License-Identifier: GPL-2.0
/* The console's Ctrl-A escapes, and plain passthrough when not a terminal. */
#include "kselftest_harness.h"
#include "console.h"

static struct console tty_console(void)
{
	struct console con = { .in_fd = -1, .out_fd = -1, .is_tty = true };

	return con;
}

TEST(plain_bytes_pass)
{
	struct console con = tty_console();
	uint8_t buf[] = "hello\r";
	size_t len = 6;

	EXPECT_EQ(CONSOLE_NONE, console__filter(&con, buf, &len));
	EXPECT_EQ(6, len);
	EXPECT_EQ(0, memcmp(buf, "hello\r", 6));
}

TEST(ctrl_a_x_quits)
{
	struct console con = tty_console();
	uint8_t buf[] = { 'a', 'b', 0x01, 'x', 'c' };
	size_t len = sizeof(buf);

	EXPECT_EQ(CONSOLE_QUIT, console__filter(&con, buf, &len));
	EXPECT_EQ(2, len); /* the bytes before it still go */
	EXPECT_EQ(0, memcmp(buf, "ab", 2));
}

TEST(ctrl_a_ctrl_a_sends_one)
{
	struct console con = tty_console();
	uint8_t buf[] = { 0x01, 0x01, 'z', 0x01, 'q', 'w' };
	size_t len = sizeof(buf);

	EXPECT_EQ(CONSOLE_NONE, console__filter(&con, buf, &len));
	/* Ctrl-A Ctrl-A -> Ctrl-A; Ctrl-A q is dropped. */
	ASSERT_EQ(3, len);
	EXPECT_EQ(0x01, buf[0]);
	EXPECT_EQ('z', buf[1]);
	EXPECT_EQ('w', buf[2]);
}

TEST(escape_split_across_reads)
{
	struct console con = tty_console();
	uint8_t a[] = { 'k', 0x01 }, b[] = { 'x' };
	size_t la = sizeof(a), lb = sizeof(b);

	EXPECT_EQ(CONSOLE_NONE, console__filter(&con, a, &la));
	EXPECT_EQ(1, la);
	EXPECT_EQ(CONSOLE_QUIT, console__filter(&con, b, &lb));
	EXPECT_EQ(0, lb);
}

TEST(not_a_terminal_passes_everything)
{
	struct console con = tty_console();
	uint8_t buf[] = { 0x01, 'x' };
	size_t len = sizeof(buf);

	con.is_tty = false;
	EXPECT_EQ(CONSOLE_NONE, console__filter(&con, buf, &len));
	EXPECT_EQ(2, len);
	EXPECT_EQ(0x01, buf[0]);
}

TEST_HARNESS_MAIN
