/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line of "bt86 run", parsed into a struct so that main.c stays
 * a dispatcher and the parsing can be unit tested.
 */
#ifndef BT86_OPTIONS_H
#define BT86_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTIONS_ERR_LEN	    256
#define OPTIONS_MEM_DEFAULT (64ULL << 20)
#define OPTIONS_MEM_MIN	    (2ULL << 20)
#define OPTIONS_MEM_MAX	    (3ULL << 30) /* below the PCI hole */

enum accel {
	ACCEL_BT,  /* the bt86 module, binary translation */
	ACCEL_TAE, /* the bt86 module, trap-and-emulate */
	ACCEL_KVM,
};

struct run_options {
	const char *kernel;
	const char *initrd;
	const char *append;
	uint64_t mem;
	enum accel accel;
	bool stats;
	bool testdev;
	bool bt_checked; /* --bt-checked: BT86_VM_BT_CHECKED */
};

enum options_result {
	OPTIONS_OK,
	OPTIONS_HELP,  /* --help: print the usage, exit 0 */
	OPTIONS_ERROR, /* err holds one line */
};

/*
 * One option of a subcommand's command line, "--name value", "--name=value"
 * or a flag "--name", checked against the subcommand's lists (NULL-ended).
 * Advances *i past a separate value.  cmd names the subcommand in errors.
 */
struct option_arg {
	char name[32];
	const char *val; /* NULL for a flag */
};

struct option_spec {
	const char *cmd;
	const char *const *valued; /* options that take a value */
	const char *const *flags;  /* options that do not */
};

enum options_result options__next(const struct option_spec *spec, int argc,
				  char **argv, int *i, struct option_arg *a,
				  char *err);

void options__set_err(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* argv[0] is "run"; the options follow. */
enum options_result options__parse_run(int argc, char **argv,
				       struct run_options *opts, char *err);

/*
 * A memory size: bytes, or a number with a K, M or G suffix (powers of
 * 1024), rounded up to whole 4 KiB pages and between the limits above.
 */
int options__parse_mem(const char *s, uint64_t *bytes, char *err);

const char *options__accel_name(enum accel accel);

extern const char options__run_usage[];

#endif
