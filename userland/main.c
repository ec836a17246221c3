// SPDX-License-Identifier: GPL-2.0
/*
 * bt86: the launcher.  "bt86 run" builds a PC around a 32-bit guest and runs
 * it on the bt86 module (--accel bt or tae) or on KVM (--accel kvm);
 * "bt86 translate" shows what the binary translator makes of its code.
 * This file only dispatches commands; see vm.c for the machine.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "cpu-model.h"
#include "translate.h"
#include "util.h"
#include "vm.h"

#ifndef BT86_VERSION
#define BT86_VERSION "unknown"
#endif

static const char usage[] =
	"usage: bt86 COMMAND [options]\n"
	"\n"
	"bt86 is a software-only x86 virtual machine monitor.\n"
	"\n"
	"commands:\n"
	"  run         run a guest (bt86 run --help for its options)\n"
	"  translate   show what the binary translator makes of a guest's\n"
	"              code (bt86 translate --help)\n"
	"  cpu-model   the CPU the guest sees, as CPUID leaves; with --qemu,\n"
	"              the qemu-system-i386 -cpu argument for the same CPU\n"
	"  --help      this text\n"
	"  --version   the launcher's version\n";

static void on_kick(int sig)
{
	/* Only here to interrupt the backend's run ioctl. */
}

/*
 * SIGINT, SIGTERM and SIGHUP are blocked in every thread and read by the I/O
 * thread from a signalfd, so that every stop goes through the same exit
 * path (terminal restored, statistics printed).  SIGUSR1 kicks the vCPU.
 */
static void setup_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* The I/O thread must not take the kick signal meant for the vCPU. */
static void block_kick_in_new_threads(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

/*
 * What a subcommand's parse result means before it runs: the exit status
 * for --help (0) and for an error (printed), or -1 to go on.
 */
static int parsed(enum options_result r, const char *usage, const char *err)
{
	switch (r) {
	case OPTIONS_HELP:
		fputs(usage, stdout);
		return 0;
	case OPTIONS_ERROR:
		pr_msg("%s", err);
		return EXIT_LAUNCHER;
	default:
		return -1;
	}
}

static int cmd_run(int argc, char **argv)
{
	char err[OPTIONS_ERR_LEN];
	struct run_options opts;
	struct vm vm;
	sigset_t old;
	int status = EXIT_LAUNCHER;

	status = parsed(options__parse_run(argc, argv, &opts, err),
			options__run_usage, err);
	if (status >= 0)
		return status;
	status = EXIT_LAUNCHER;
	setup_signals();
	if (vm__init(&vm, &opts))
		goto out;
	block_kick_in_new_threads(&old);
	if (vm__boot(&vm)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	status = vm__run(&vm);
	if (opts.stats)
		stats__print(&vm, stderr);
out:
	vm__exit(&vm);
	return status;
}

static int cmd_translate(int argc, char **argv)
{
	char err[OPTIONS_ERR_LEN];
	struct translate_options opts;
	int status = parsed(translate__parse(argc, argv, &opts, err),
			    translate__usage, err);

	return status >= 0 ? status : translate__run(&opts, stdout);
}

static int cmd_cpu_model(int argc, char **argv)
{
	const struct cpu_model_leaf *l;
	size_t i, n = cpu_model__leaves(&l);

	if (argc == 2 && !strcmp(argv[1], "--qemu")) {
		puts(cpu_model__qemu_cpu());
		return 0;
	}
	if (argc != 1) {
		pr_msg("usage: bt86 cpu-model [--qemu]");
		return EXIT_LAUNCHER;
	}
	printf("%-10s  %-8s  %-8s  %-8s  %-8s\n", "function", "eax", "ebx",
	       "ecx", "edx");
	for (i = 0; i < n; i++)
		printf("%08x    %08x  %08x  %08x  %08x\n", l[i].function,
		       l[i].eax, l[i].ebx, l[i].ecx, l[i].edx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_LAUNCHER;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("bt86 %s\n", BT86_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "translate"))
		return cmd_translate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cpu-model"))
		return cmd_cpu_model(argc - 1, argv + 1);
	pr_msg("unknown command '%s' (see bt86 --help)", argv[1]);
	return EXIT_LAUNCHER;
}
