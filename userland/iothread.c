// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O thread: everything that happens to the machine without the guest
 * asking.  It sleeps in poll() on
 *
 *   stdin      bytes for the UART (only while its FIFO has room)
 *   timer_fd   the PIT's channel 0 edge is due: raise IRQ 0
 *   wake_fd    something changed (PIT reprogrammed, FIFO drained, stop)
 *   signal_fd  SIGINT, SIGTERM or SIGHUP: stop with 128 + signal
 *
 * and after each wakeup re-arms the timer for the PIT's next edge.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util.h"
#include "vm.h"

enum {
	FD_WAKE,
	FD_TIMER,
	FD_SIGNAL,
	FD_STDIN,
	NR_FDS
};

void iothread__wake(struct vm *vm)
{
	uint64_t one = 1;

	if (vm->wake_fd >= 0 && write(vm->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: a wakeup is pending */
}

static void drain(int fd)
{
	uint64_t buf[16];

	if (read(fd, buf, sizeof(buf)) < 0)
		return;
}

/* Arm the timer for the PIT's next edge (0: disarm).  Lock held. */
static void iothread__arm_timer(struct vm *vm)
{
	uint64_t next = pit__next_event(&vm->pit);
	struct itimerspec its = { 0 };

	if (next) {
		its.it_value.tv_sec = next / 1000000000ULL;
		its.it_value.tv_nsec = next % 1000000000ULL;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(vm->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void iothread__stdin(struct vm *vm)
{
	struct console *con = &vm->console;
	uint8_t buf[UART_FIFO_SIZE];
	enum console_action act;
	size_t len;
	ssize_t n;
	int space;

	pthread_mutex_lock(&vm->lock);
	space = uart__rx_space(&vm->uart);
	pthread_mutex_unlock(&vm->lock);
	if (space <= 0)
		return;
	n = read(con->in_fd, buf, space);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		con->eof = true; /* the guest keeps running */
		return;
	}
	len = n;
	act = console__filter(con, buf, &len);
	pthread_mutex_lock(&vm->lock);
	/* Only this thread fills the FIFO: what we read still fits. */
	uart__receive(&vm->uart, buf, len);
	if (act == CONSOLE_QUIT) {
		stop__request(&vm->stop, STOP_QUIT, 0);
		vm__kick(vm);
	}
	pthread_mutex_unlock(&vm->lock);
}

static void iothread__signal(struct vm *vm)
{
	struct signalfd_siginfo si;

	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	pthread_mutex_lock(&vm->lock);
	stop__request(&vm->stop, STOP_SIGNAL, si.ssi_signo);
	vm__kick(vm);
	pthread_mutex_unlock(&vm->lock);
}

static void *iothread__main(void *arg)
{
	struct vm *vm = arg;
	struct pollfd fds[NR_FDS];
	int nfds;

	for (;;) {
		pthread_mutex_lock(&vm->lock);
		if (vm->stop.reason != STOP_NONE) {
			pthread_mutex_unlock(&vm->lock);
			break;
		}
		iothread__arm_timer(vm);
		nfds = FD_STDIN;
		if (!vm->console.eof && uart__rx_space(&vm->uart) > 0)
			nfds = NR_FDS;
		pthread_mutex_unlock(&vm->lock);

		fds[FD_WAKE] =
			(struct pollfd){ .fd = vm->wake_fd, .events = POLLIN };
		fds[FD_TIMER] =
			(struct pollfd){ .fd = vm->timer_fd, .events = POLLIN };
		fds[FD_SIGNAL] = (struct pollfd){ .fd = vm->signal_fd,
						  .events = POLLIN };
		fds[FD_STDIN] = (struct pollfd){ .fd = vm->console.in_fd,
						 .events = POLLIN };
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_msg("I/O thread: poll failed: %s", strerror(errno));
			break;
		}
		if (fds[FD_WAKE].revents)
			drain(vm->wake_fd);
		if (fds[FD_TIMER].revents) {
			drain(vm->timer_fd);
			pthread_mutex_lock(&vm->lock);
			pit__update(&vm->pit);
			pthread_mutex_unlock(&vm->lock);
		}
		if (fds[FD_SIGNAL].revents)
			iothread__signal(vm);
		if (nfds == NR_FDS && fds[FD_STDIN].revents)
			iothread__stdin(vm);
	}
	return NULL;
}

int iothread__start(struct vm *vm)
{
	sigset_t stop_signals;
	int ret;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	vm->signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
	if (vm->wake_fd < 0 || vm->timer_fd < 0 || vm->signal_fd < 0) {
		pr_msg("cannot create the I/O thread's descriptors: %s",
		       strerror(errno));
		return -1;
	}
	ret = console__start(&vm->console);
	if (ret)
		pr_msg("cannot put the terminal in raw mode: %s; going on",
		       strerror(-ret));
	ret = pthread_create(&vm->io_thread, NULL, iothread__main, vm);
	if (ret) {
		console__restore(&vm->console);
		pr_msg("cannot start the I/O thread: %s", strerror(ret));
		return -1;
	}
	vm->io_started = true;
	return 0;
}

void iothread__stop(struct vm *vm)
{
	if (vm->io_started) {
		pthread_mutex_lock(&vm->lock);
		stop__request(&vm->stop, STOP_ERROR, 0);
		pthread_mutex_unlock(&vm->lock);
		iothread__wake(vm);
		pthread_join(vm->io_thread, NULL);
		vm->io_started = false;
	}
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	if (vm->timer_fd >= 0)
		close(vm->timer_fd);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	vm->wake_fd = vm->timer_fd = vm->signal_fd = -1;
}
