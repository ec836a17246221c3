// SPDX-License-Identifier: GPL-2.0
/* The "bt86 run" command line: --mem sizes, --accel, required options. */
#include "kselftest_harness.h"
#include "options.h"

/* The end of a parse() argument list. */
#define END ((char *)NULL)

static enum options_result parse(struct run_options *o, char *err, ...)
{
	char *argv[16] = { "run" };
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, err);
	while ((a = va_arg(ap, char *)) && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	return options__parse_run(argc, argv, o, err);
}

TEST(mem_suffixes)
{
	char err[OPTIONS_ERR_LEN];
	uint64_t b;

	ASSERT_EQ(0, options__parse_mem("64M", &b, err));
	EXPECT_EQ(64ULL << 20, b);
	ASSERT_EQ(0, options__parse_mem("1G", &b, err));
	EXPECT_EQ(1ULL << 30, b);
	ASSERT_EQ(0, options__parse_mem("3g", &b, err));
	EXPECT_EQ(3ULL << 30, b);
	ASSERT_EQ(0, options__parse_mem("4096K", &b, err));
	EXPECT_EQ(4ULL << 20, b);
	ASSERT_EQ(0, options__parse_mem("2M", &b, err));
	EXPECT_EQ(2ULL << 20, b);
}

TEST(mem_plain_bytes_round_up_to_pages)
{
	char err[OPTIONS_ERR_LEN];
	uint64_t b;

	ASSERT_EQ(0, options__parse_mem("3000000", &b, err));
	EXPECT_EQ(3002368, b);
	ASSERT_EQ(0, options__parse_mem("4194304", &b, err));
	EXPECT_EQ(4194304, b);
}

TEST(mem_rejected)
{
	char err[OPTIONS_ERR_LEN];
	uint64_t b = 7;

	EXPECT_EQ(-1, options__parse_mem("0", &b, err));
	EXPECT_STREQ("--mem: 0 is too little (guest RAM must be 2M to 3G)",
		     err);
	EXPECT_EQ(-1, options__parse_mem("5G", &b, err));
	EXPECT_STREQ("--mem: 5G is too much (guest RAM must be 2M to 3G)", err);
	EXPECT_EQ(-1, options__parse_mem("abc", &b, err));
	EXPECT_STREQ("--mem: 'abc' is not a size (e.g. 64M, 1G)", err);
	EXPECT_EQ(-1, options__parse_mem("1M", &b, err));
	EXPECT_EQ(-1, options__parse_mem("64MB", &b, err));
	EXPECT_EQ(-1, options__parse_mem("-1", &b, err));
	EXPECT_EQ(-1, options__parse_mem("", &b, err));
	EXPECT_EQ(-1, options__parse_mem("99999999999999999999G", &b, err));
	EXPECT_EQ(-1, options__parse_mem("3073M", &b, err));
	EXPECT_EQ(7, b);
}

TEST(defaults)
{
	char err[OPTIONS_ERR_LEN];
	struct run_options o;

	ASSERT_EQ(OPTIONS_OK, parse(&o, err, "--kernel", "k.elf", END));
	EXPECT_STREQ("k.elf", o.kernel);
	EXPECT_EQ(64ULL << 20, o.mem);
	EXPECT_EQ(ACCEL_BT, o.accel);
	EXPECT_FALSE(o.stats);
	EXPECT_FALSE(o.testdev);
	EXPECT_FALSE(o.bt_checked);
	EXPECT_EQ(NULL, o.initrd);
	EXPECT_EQ(NULL, o.append);
}

TEST(all_options)
{
	char err[OPTIONS_ERR_LEN];
	struct run_options o;

	ASSERT_EQ(OPTIONS_OK,
		  parse(&o, err, "--kernel=k.elf", "--initrd", "i.img",
			"--append", "console=ttyS0 quiet", "--mem=128M",
			"--accel", "kvm", "--stats", "--testdev", END));
	EXPECT_STREQ("k.elf", o.kernel);
	EXPECT_STREQ("i.img", o.initrd);
	EXPECT_STREQ("console=ttyS0 quiet", o.append);
	EXPECT_EQ(128ULL << 20, o.mem);
	EXPECT_EQ(ACCEL_KVM, o.accel);
	EXPECT_TRUE(o.stats);
	EXPECT_TRUE(o.testdev);
	ASSERT_EQ(OPTIONS_OK,
		  parse(&o, err, "--kernel", "k", "--accel=tae", END));
	EXPECT_EQ(ACCEL_TAE, o.accel);
	ASSERT_EQ(OPTIONS_OK, parse(&o, err, "--bt-checked", "--kernel", "k",
				    "--accel", "bt", END));
	EXPECT_TRUE(o.bt_checked);
	EXPECT_EQ(ACCEL_BT, o.accel);
}

TEST(errors)
{
	char err[OPTIONS_ERR_LEN];
	struct run_options o;

	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, END));
	EXPECT_STREQ("run: --kernel FILE is required (see bt86 run --help)",
		     err);
	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, "--mem", "64M", END));
	EXPECT_STREQ("run: --kernel FILE is required (see bt86 run --help)",
		     err);
	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, "--kernel", END));
	EXPECT_STREQ("--kernel needs a value", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--accel", "vmx", END));
	EXPECT_STREQ("--accel: unknown engine 'vmx' (bt, tae or kvm)", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--frob", END));
	EXPECT_STREQ("run: unknown option '--frob' (see bt86 run --help)", err);
	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, "--kernel", "k", "extra", END));
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--stats=1", END));
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--mem", "0", END));
	EXPECT_EQ(OPTIONS_HELP, parse(&o, err, "--kernel", "k", "--help", END));
	/* the bound checks are the translator's: bt only */
	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, "--kernel", "k", "--bt-checked",
				       "--accel", "tae", END));
	EXPECT_STREQ("--bt-checked is for --accel bt, not tae", err);
	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, "--kernel", "k", "--accel",
				       "kvm", "--bt-checked", END));
	EXPECT_STREQ("--bt-checked is for --accel bt, not kvm", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--bt-checked=1", END));
}

TEST_HARNESS_MAIN
