// SPDX-License-Identifier: GPL-2.0
/* The serial console's host side: raw terminal mode and the Ctrl-A escapes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "util.h"

void console__init(struct console *con, int in_fd, int out_fd)
{
	memset(con, 0, sizeof(*con));
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->is_tty = isatty(in_fd);
	con->out_is_tty = isatty(out_fd);
}

int console__start(struct console *con)
{
	struct termios t;

	if (!con->is_tty)
		return 0;
	if (tcgetattr(con->in_fd, &con->saved) < 0)
		return -errno;
	t = con->saved;
	/* cfmakeraw(), but keep output processing ("\n" -> "\r\n"). */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(con->in_fd, TCSANOW, &t) < 0)
		return -errno;
	con->raw = true;
	return 0;
}

void console__restore(struct console *con)
{
	if (!con->raw)
		return;
	tcsetattr(con->in_fd, TCSANOW, &con->saved);
	con->raw = false;
}

static void console__help(struct console *con)
{
	static const char help[] =
		"\r\nbt86 console: C-a x  quit    C-a C-a  send C-a    C-a h  this help\r\n";

	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0)
		return;
}

enum console_action console__filter(struct console *con, uint8_t *buf,
				    size_t *len)
{
	size_t in, out = 0;

	if (!con->is_tty)
		return CONSOLE_NONE;
	for (in = 0; in < *len; in++) {
		uint8_t c = buf[in];

		if (!con->escape) {
			if (c == CONSOLE_ESCAPE)
				con->escape = true;
			else
				buf[out++] = c;
			continue;
		}
		con->escape = false;
		if (c == 'x' || c == 'X') {
			*len = out;
			return CONSOLE_QUIT;
		}
		if (c == CONSOLE_ESCAPE)
			buf[out++] = c;
		else if (c == 'h' || c == 'H' || c == '?')
			console__help(con);
		/* Other keys after Ctrl-A are dropped, as in QEMU. */
	}
	*len = out;
	return CONSOLE_NONE;
}

void console__write(void *opaque, uint8_t byte)
{
	struct console *con = opaque;
	ssize_t n;

	do {
		n = write(con->out_fd, &byte, 1);
	} while (n < 0 && errno == EINTR);
	if (con->out_is_tty)
		pr_msg_midline = byte != '\n';
}
