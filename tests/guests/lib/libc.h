/*
 * libc.h - the few C library functions a freestanding guest needs (GCC may
 * also emit calls to memset/memcpy/memmove/memcmp on its own).
 */
#ifndef GUEST_LIBC_H
#define GUEST_LIBC_H

#include <stddef.h>
#include <stdint.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
/* Parse a decimal number at *s, advancing *s past it. */
uint32_t strtou(const char **s);

#endif /* GUEST_LIBC_H */
