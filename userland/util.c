// SPDX-License-Identifier: GPL-2.0
/* Launcher messages: one line each on stderr, prefixed "bt86: ". */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

bool pr_msg_midline;

void pr_msg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf so that the line is written in one piece. */
	fprintf(stderr, "%sbt86: %s\n", pr_msg_midline ? "\n" : "", line);
	pr_msg_midline = false;
}
