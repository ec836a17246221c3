// SPDX-License-Identifier: GPL-2.0
/*
 * stamp: run a command and print each line of its output with the time it
 * arrived, for the Linux guest's benchmark (tests/linux/bench).
 *
 *   stamp CMD [ARGS...]
 *
 * CMD's stdout and stderr go through a pipe; every line is printed as
 * "SECONDS LINE", SECONDS being CLOCK_MONOTONIC time since the fork with
 * millisecond resolution.  Carriage returns are dropped.  Exits with CMD's
 * status (128 + N when a signal N ended it).  The stamps are the host's (or
 * the sandbox's) clock, never the guest's, whose time an engine may skew.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t spawn(char **argv, int *out_fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "stamp: cannot run %s\n", argv[0]);
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* Copy the pipe to stdout, a stamp at the start of every line. */
static void relay(int fd, double start)
{
	char buf[4096];
	int at_start = 1;
	ssize_t n, i;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		double t = now_s() - start;

		for (i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			if (at_start)
				printf("%.3f ", t);
			putchar(buf[i]);
			at_start = buf[i] == '\n';
		}
		fflush(stdout);
	}
	if (!at_start)
		putchar('\n');
}

int main(int argc, char **argv)
{
	double start;
	int fd, status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: stamp CMD [ARGS...]\n");
		return 2;
	}
	start = now_s();
	pid = spawn(argv + 1, &fd);
	if (pid < 0) {
		perror("stamp");
		return 2;
	}
	relay(fd, start);
	if (waitpid(pid, &status, 0) < 0)
		return 2;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
