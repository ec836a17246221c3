/*
 * bench_pio - the cost of a port-I/O exit, for `make bench`.
 *
 * N OUTB to port 0x80 (the POST port: nothing listens, so the time is the
 * exit itself) in a tight loop, between two writes of a marker to the test
 * device so that the launcher can time exactly the loop; the bench script
 * can also time the whole run.  N comes from the command line,
 * "iterations=N" (e.g. bt86 run --append iterations=1000000), default
 * 100000.  The output depends only on N.
 */
#include "guest.h"

#define DEFAULT_ITERATIONS 100000

static uint32_t iterations(void)
{
	const char *s = multiboot_cmdline();
	const char *key = "iterations=";
	uint32_t n;

	for (; *s; s++) {
		if (strncmp(s, key, strlen(key)) == 0) {
			s += strlen(key);
			n = strtou(&s);
			return n ? n : DEFAULT_ITERATIONS;
		}
	}
	return DEFAULT_ITERATIONS;
}

int main(void)
{
	uint32_t n = iterations(), i;

	outl(TESTDEV_IOPORT, BENCH_MARK_BEGIN);
	for (i = 0; i < n; i++)
		outb(POST_PORT, 0);
	outl(TESTDEV_IOPORT, BENCH_MARK_END);

	printf("bench_pio: %u outb to port 0x%x\n", n, POST_PORT);
	return 0;
}
