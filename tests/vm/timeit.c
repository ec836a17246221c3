// SPDX-License-Identifier: GPL-2.0
/*
 * timeit: run a command and print how long it took, for benchmarks.
 *
 *   timeit CMD [ARGS...]
 *
 * Prints "timeit: NS ns status S" on stderr, NS being CLOCK_MONOTONIC
 * nanoseconds from fork to exit, and exits with CMD's status.  busybox's date
 * and time only resolve 10 ms, too coarse for differential measurements.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long start;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: timeit CMD [ARGS...]\n");
		return 2;
	}
	start = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("timeit: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("timeit: waitpid");
		return 2;
	}
	status = WIFEXITED(status) ? WEXITSTATUS(status)
				   : 128 + WTERMSIG(status);
	fprintf(stderr, "timeit: %lld ns status %d\n", now_ns() - start,
		status);
	return status;
}
