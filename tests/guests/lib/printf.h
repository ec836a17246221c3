/*
 * printf.h - formatted output to COM1 and to memory.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, with an optional '-' (left
 * align), '0' (zero pad), '#' (0x prefix for %x), a decimal field width
 * and 'l' (ignored: long is 32 bits) or 'll' (64-bit %llx only, so that
 * no 64-bit division from libgcc is needed).
 */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif /* GUEST_PRINTF_H */
