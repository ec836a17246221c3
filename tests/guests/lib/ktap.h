/*
 * ktap.h - test results in KTAP (the kernel's TAP dialect,
 * Documentation/dev-tools/ktap.rst):
 *
 *	KTAP version 1
 *	1..3
 *	ok 1 first check
 *	# exceptions.c:42: f.vector == 13: got 0x6, expected 0xd
 *	not ok 2 second check
 *	ok 3 third check # SKIP no device
 *
 * ktap_plan() prints the first two lines; each ok()/ok_eq() one result;
 * ktap_finish() ends the guest: exit(0) when every planned test ran and
 * passed, exit(1) otherwise.  Names must not depend on timing or on the
 * machine, so that native, kvm, tae and bt runs print the same text.
 */
#ifndef GUEST_KTAP_H
#define GUEST_KTAP_H

#include <stdint.h>

/* The file name alone, without the directory the build ran from. */
#ifdef __FILE_NAME__
#define KTAP_FILE __FILE_NAME__
#else
#define KTAP_FILE __FILE__
#endif

void ktap_plan(int n);

/* Report one test; on failure a "# file:line: expr" line comes first. */
#define ok(cond, ...) ktap_ok(!!(cond), KTAP_FILE, __LINE__, #cond, __VA_ARGS__)

/* Like ok(actual == expected, ...) but shows both values on failure. */
#define ok_eq(actual, expected, ...)                                    \
	ktap_ok_eq((uint32_t)(actual), (uint32_t)(expected), KTAP_FILE, \
		   __LINE__, #actual " == " #expected, __VA_ARGS__)

int ktap_ok(int pass, const char *file, int line, const char *expr,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int ktap_ok_eq(uint32_t actual, uint32_t expected, const char *file, int line,
	       const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void ktap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A "# ..." diagnostic line. */
void ktap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Number of failures so far. */
int ktap_failures(void);

/* exit(0) if all planned tests ran and passed, else exit(1). */
void ktap_finish(void) __attribute__((noreturn));

#endif /* GUEST_KTAP_H */
