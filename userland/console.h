/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of the serial console: stdin feeds the UART, stdout shows
 * what the guest transmits.  A terminal on stdin is put in raw mode (output
 * processing kept, as QEMU does) and restored on every exit path; there
 * Ctrl-A starts an escape like QEMU's: Ctrl-A x quits, Ctrl-A Ctrl-A sends
 * one Ctrl-A, Ctrl-A h prints the keys.
 */
#ifndef BT86_CONSOLE_H
#define BT86_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

struct console {
	int in_fd, out_fd;
	bool is_tty;	 /* escapes are only read from a terminal */
	bool out_is_tty; /* stdout is a terminal (see pr_msg_midline) */
	bool raw;	 /* the terminal is in raw mode now */
	bool eof;	 /* stdin ended: stop reading it */
	bool escape;	 /* Ctrl-A seen, waiting for the command key */
	struct termios saved;
};

enum console_action {
	CONSOLE_NONE,
	CONSOLE_QUIT,
};

void console__init(struct console *con, int in_fd, int out_fd);
/* Raw mode when stdin is a terminal; returns 0 or -errno. */
int console__start(struct console *con);
/* Put the terminal back as it was; safe to call more than once. */
void console__restore(struct console *con);

/*
 * Filter bytes typed by the user: escapes are taken out, the bytes for the
 * guest are compacted in place; *len is updated.  Returns CONSOLE_QUIT on
 * Ctrl-A x (bytes before it are kept).
 */
enum console_action console__filter(struct console *con, uint8_t *buf,
				    size_t *len);

/* The guest's output. */
void console__write(void *opaque, uint8_t byte);

#endif
