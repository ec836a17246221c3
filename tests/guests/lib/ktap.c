/*
 * ktap.c - numbering, counting and printing of KTAP results.
 */
#include <stdarg.h>

#include "guest.h"
#include "ktap.h"
#include "printf.h"

static int planned, ran, failed;

void ktap_plan(int n)
{
	planned = n;
	printf("KTAP version 1\n1..%d\n", n);
}

static void result(int pass, const char *directive, const char *fmt, va_list ap)
{
	ran++;
	if (!pass)
		failed++;
	printf("%sok %d ", pass ? "" : "not ", ran);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	printf("\n");
}

int ktap_ok(int pass, const char *file, int line, const char *expr,
	    const char *fmt, ...)
{
	va_list ap;

	if (!pass)
		printf("# %s:%d: %s\n", file, line, expr);
	va_start(ap, fmt);
	result(pass, NULL, fmt, ap);
	va_end(ap);
	return pass;
}

int ktap_ok_eq(uint32_t actual, uint32_t expected, const char *file, int line,
	       const char *expr, const char *fmt, ...)
{
	int pass = actual == expected;
	va_list ap;

	if (!pass)
		printf("# %s:%d: %s: got 0x%x, expected 0x%x\n", file, line,
		       expr, actual, expected);
	va_start(ap, fmt);
	result(pass, NULL, fmt, ap);
	va_end(ap);
	return pass;
}

void ktap_skip(const char *reason, const char *fmt, ...)
{
	char directive[80];
	va_list ap;

	snprintf(directive, sizeof(directive), "SKIP %s", reason);
	va_start(ap, fmt);
	result(1, directive, fmt, ap);
	va_end(ap);
}

void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int ktap_failures(void)
{
	return failed;
}

void ktap_finish(void)
{
	if (ran != planned) {
		printf("# planned %d tests, ran %d\n", planned, ran);
		exit(1);
	}
	exit(failed ? 1 : 0);
}
