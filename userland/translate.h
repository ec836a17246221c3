/* SPDX-License-Identifier: GPL-2.0 */
/*
 * "bt86 translate": the binary translator (bt/) run in userland over a
 * guest image, printing what it makes of the guest's code (docs/launcher.md,
 * "Looking at translations").  Nothing runs: blocks are translated breadth
 * first from the entry point along their exits, as the monitor would
 * translate them when the guest first reaches them.
 */
#ifndef BT86_TRANSLATE_H
#define BT86_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "options.h"

#define TRANSLATE_BLOCKS_DEFAULT 16
#define TRANSLATE_BLOCKS_MAX	 4096

struct translate_options {
	const char *kernel;
	uint64_t mem;
	uint32_t eip; /* where to start, if have_eip */
	bool have_eip;
	unsigned int blocks;
	bool hex; /* no objdump: bytes and Zydis mnemonics */
};

/* argv[0] is "translate"; the options follow. */
enum options_result translate__parse(int argc, char **argv,
				     struct translate_options *o, char *err);

/* Loads the image, translates, prints on out; returns an exit status. */
int translate__run(const struct translate_options *o, FILE *out);

extern const char translate__usage[];

#endif
