// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing "bt86 run" options: "--opt value" and "--opt=value" forms, each
 * error as one line naming the option.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

const char options__run_usage[] =
	"usage: bt86 run --kernel FILE [options]\n"
	"\n"
	"Run a 32-bit x86 guest.  Its serial console (COM1) is this terminal;\n"
	"press Ctrl-A x to quit, Ctrl-A Ctrl-A to send Ctrl-A.\n"
	"\n"
	"  --kernel FILE     the guest: a multiboot ELF kernel\n"
	"  --initrd FILE     a multiboot module (an initrd for the kernel)\n"
	"  --append STRING   the kernel command line\n"
	"  --mem SIZE        guest RAM, bytes or with K/M/G suffix\n"
	"                    (default 64M; 2M to 3G)\n"
	"  --accel ENGINE    bt (binary translation, the default), tae\n"
	"                    (trap-and-emulate) or kvm (hardware)\n"
	"  --bt-checked      (bt) translated code checks every memory access\n"
	"                    against the segment limits truncated below the\n"
	"                    translator's window, as a CPU would; for tests\n"
	"                    on CPUs that check no limits (QEMU's TCG)\n"
	"  --stats           print run statistics on exit\n"
	"  --testdev         add QEMU's pc-testdev ports (0xe0, 0xe8)\n"
	"  --help            this text\n"
	"\n"
	"Exit status: the guest's debug-exit value v as (v << 1 | 1) & 0xff,\n"
	"0 after a clean shutdown (HLT with interrupts off, or a reset),\n"
	"2 for a launcher error, 4 when the guest crashed, 128+N on signal N.\n";

void options__set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, OPTIONS_ERR_LEN, fmt, ap);
	va_end(ap);
}

int options__parse_mem(const char *s, uint64_t *bytes, char *err)
{
	unsigned long long n, shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s)) {
		options__set_err(err,
				 "--mem: '%s' is not a size (e.g. 64M, 1G)", s);
		return -1;
	}
	errno = 0;
	n = strtoull(s, &end, 10);
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (errno || *end || n > (~0ULL >> shift)) {
		options__set_err(err,
				 "--mem: '%s' is not a size (e.g. 64M, 1G)", s);
		return -1;
	}
	n <<= shift;
	if (n < OPTIONS_MEM_MIN || n > OPTIONS_MEM_MAX) {
		options__set_err(
			err, "--mem: %s is %s (guest RAM must be 2M to 3G)", s,
			n < OPTIONS_MEM_MIN ? "too little" : "too much");
		return -1;
	}
	*bytes = (n + 4095) & ~4095ULL;
	return 0;
}

const char *options__accel_name(enum accel accel)
{
	switch (accel) {
	case ACCEL_KVM:
		return "kvm";
	case ACCEL_TAE:
		return "tae";
	default:
		return "bt";
	}
}

static int parse_accel(const char *s, enum accel *accel, char *err)
{
	if (!strcmp(s, "bt"))
		*accel = ACCEL_BT;
	else if (!strcmp(s, "tae"))
		*accel = ACCEL_TAE;
	else if (!strcmp(s, "kvm"))
		*accel = ACCEL_KVM;
	else {
		options__set_err(
			err, "--accel: unknown engine '%s' (bt, tae or kvm)",
			s);
		return -1;
	}
	return 0;
}

static bool listed(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

enum options_result options__next(const struct option_spec *spec, int argc,
				  char **argv, int *i, struct option_arg *a,
				  char *err)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
		return OPTIONS_HELP;
	if (len >= sizeof(a->name) || strncmp(arg, "--", 2)) {
		options__set_err(
			err,
			"%s: unexpected argument '%s' (see bt86 %s --help)",
			spec->cmd, arg, spec->cmd);
		return OPTIONS_ERROR;
	}
	memcpy(a->name, arg, len);
	a->name[len] = 0;
	a->val = NULL;
	if (listed(spec->valued, a->name)) {
		a->val = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
		if (!a->val) {
			options__set_err(err, "%s needs a value", a->name);
			return OPTIONS_ERROR;
		}
	} else if (!listed(spec->flags, a->name)) {
		options__set_err(err,
				 "%s: unknown option '%s' (see bt86 %s --help)",
				 spec->cmd, a->name, spec->cmd);
		return OPTIONS_ERROR;
	} else if (eq) {
		options__set_err(err, "%s takes no value", a->name);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

static int apply(struct run_options *o, const char *name, const char *val,
		 char *err)
{
	if (!strcmp(name, "--kernel"))
		o->kernel = val;
	else if (!strcmp(name, "--initrd"))
		o->initrd = val;
	else if (!strcmp(name, "--append"))
		o->append = val;
	else if (!strcmp(name, "--mem"))
		return options__parse_mem(val, &o->mem, err);
	else if (!strcmp(name, "--accel"))
		return parse_accel(val, &o->accel, err);
	else if (!strcmp(name, "--stats"))
		o->stats = true;
	else if (!strcmp(name, "--testdev"))
		o->testdev = true;
	else if (!strcmp(name, "--bt-checked"))
		o->bt_checked = true;
	return 0;
}

enum options_result options__parse_run(int argc, char **argv,
				       struct run_options *o, char *err)
{
	static const char *const valued[] = { "--kernel", "--initrd",
					      "--append", "--mem",
					      "--accel",  NULL };
	static const char *const flags[] = { "--stats", "--testdev",
					     "--bt-checked", NULL };
	static const struct option_spec spec = { "run", valued, flags };
	struct option_arg a;
	enum options_result r;
	int i;

	memset(o, 0, sizeof(*o));
	o->mem = OPTIONS_MEM_DEFAULT;
	o->accel = ACCEL_BT;
	for (i = 1; i < argc; i++) {
		r = options__next(&spec, argc, argv, &i, &a, err);
		if (r != OPTIONS_OK)
			return r;
		if (apply(o, a.name, a.val, err))
			return OPTIONS_ERROR;
	}
	if (!o->kernel) {
		options__set_err(
			err,
			"run: --kernel FILE is required (see bt86 run --help)");
		return OPTIONS_ERROR;
	}
	if (o->bt_checked && o->accel != ACCEL_BT) {
		options__set_err(err, "--bt-checked is for --accel bt, not %s",
				 options__accel_name(o->accel));
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}
