/*
 * printf.c - one formatter, format(), writing through a small sink so that
 * the same code serves printf (COM1) and snprintf (a buffer).
 */
#include <stdint.h>

#include "printf.h"
#include "serial.h"

struct sink {
	char *buf; /* NULL: COM1 */
	size_t size;
	size_t len; /* characters produced so far */
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

/* Emit digits (most significant first) with sign/prefix, padding, width. */
static void put_field(struct sink *s, const char *digits, int ndigits,
		      const char *prefix, int width, int left, int zero)
{
	int plen = 0, pad;

	while (prefix[plen])
		plen++;
	pad = width - ndigits - plen;
	if (!left && !zero)
		for (; pad > 0; pad--)
			sink_put(s, ' ');
	while (*prefix)
		sink_put(s, *prefix++);
	if (!left && zero)
		for (; pad > 0; pad--)
			sink_put(s, '0');
	while (ndigits--)
		sink_put(s, *digits++);
	for (; pad > 0; pad--)
		sink_put(s, ' ');
}

/* Convert @v in @base (10 or 16) into the end of buf[20]; return start. */
static char *utoa(char *end, uint64_t v, int base, int upper)
{
	const char *xd = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	uint32_t v32 = (uint32_t)v;

	do {
		if (base == 16) {
			*--end = xd[v & 15];
			v >>= 4;
		} else {
			/* decimal is 32-bit only: no __udivdi3 */
			*--end = '0' + v32 % 10;
			v32 /= 10;
			v = v32;
		}
	} while (v);
	return end;
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	char buf[24], *end = buf + sizeof(buf), *p;
	const char *prefix, *str;
	int left, zero, alt, width, lng;
	uint64_t u;
	int32_t d;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		left = zero = alt = width = lng = 0;
		for (;; fmt++) {
			if (fmt[1] == '-')
				left = 1;
			else if (fmt[1] == '0')
				zero = 1;
			else if (fmt[1] == '#')
				alt = 1;
			else
				break;
		}
		while (fmt[1] >= '0' && fmt[1] <= '9')
			width = width * 10 + (*++fmt - '0');
		while (fmt[1] == 'l') {
			lng++;
			fmt++;
		}
		prefix = "";
		switch (*++fmt) {
		case 'd':
		case 'i':
			d = va_arg(ap, int32_t);
			u = d < 0 ? -(uint32_t)d : (uint32_t)d;
			prefix = d < 0 ? "-" : "";
			p = utoa(end, u, 10, 0);
			put_field(s, p, end - p, prefix, width, left, zero);
			break;
		case 'u':
			p = utoa(end, va_arg(ap, uint32_t), 10, 0);
			put_field(s, p, end - p, prefix, width, left, zero);
			break;
		case 'x':
		case 'X':
			u = lng >= 2 ? va_arg(ap, uint64_t)
				     : va_arg(ap, uint32_t);
			p = utoa(end, u, 16, *fmt == 'X');
			prefix = alt ? "0x" : "";
			put_field(s, p, end - p, prefix, width, left, zero);
			break;
		case 'p':
			p = utoa(end, (uint32_t)va_arg(ap, void *), 16, 0);
			put_field(s, p, end - p, "0x", width, left, zero);
			break;
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			put_field(s, buf, 1, prefix, width, left, 0);
			break;
		case 's':
			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			for (d = 0; str[d]; d++)
				;
			put_field(s, str, d, prefix, width, left, 0);
			break;
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return;
		default: /* unknown: print it as written */
			sink_put(s, '%');
			sink_put(s, *fmt);
			break;
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	format(&s, fmt, ap);
	return s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
