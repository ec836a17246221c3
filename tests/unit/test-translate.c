// SPDX-License-Identifier: GPL-2.0
/*
 * "bt86 translate" (userland/translate.c): its options, and its output for
 * a multiboot image built here, whose code has one instruction of each
 * kind the translator treats apart; with objdump when there is one.
 */
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mbimage.h"
#include "translate.h"

#define IMG_CAP 0x4000

static const uint8_t code[] = {
	0xfa,			      /* 100000 cli */
	0xfb,			      /* 100001 sti */
	0x9c,			      /* 100002 pushfl */
	0x9d,			      /* 100003 popfl: inline */
	0x85, 0xc0,		      /* 100004 test %eax,%eax */
	0x75, 0x02,		      /* 100006 jne 10000a */
	0xff, 0xe0,		      /* 100008 jmp *%eax */
	0xe8, 0x01, 0x00, 0x00, 0x00, /* 10000a call 100010 */
	0xf4,			      /* 10000f hlt */
	0xc3,			      /* 100010 ret */
};

static enum options_result parse(struct translate_options *o, char *err,
				 const char *a1, const char *a2, const char *a3,
				 const char *a4)
{
	char *argv[] = { "translate", (char *)a1, (char *)a2,
			 (char *)a3,  (char *)a4, NULL };
	int argc = 1;

	while (argv[argc])
		argc++;
	return translate__parse(argc, argv, o, err);
}

TEST(options)
{
	struct translate_options o;
	char err[OPTIONS_ERR_LEN];

	ASSERT_EQ(OPTIONS_OK, parse(&o, err, "--kernel", "k.elf", NULL, NULL));
	EXPECT_STREQ("k.elf", o.kernel);
	EXPECT_EQ(TRANSLATE_BLOCKS_DEFAULT, o.blocks);
	EXPECT_FALSE(o.have_eip);
	EXPECT_FALSE(o.hex);
	EXPECT_EQ(OPTIONS_MEM_DEFAULT, o.mem);

	ASSERT_EQ(OPTIONS_OK, parse(&o, err, "--kernel=k.elf",
				    "--eip=0xc0100000", "--blocks", "100"));
	EXPECT_TRUE(o.have_eip);
	EXPECT_EQ(0xc0100000, o.eip);
	EXPECT_EQ(100, o.blocks);
	ASSERT_EQ(OPTIONS_OK,
		  parse(&o, err, "--hex", "--mem", "8M", "--kernel=k"));
	EXPECT_TRUE(o.hex);
	EXPECT_EQ(8 << 20, o.mem);
	EXPECT_EQ(OPTIONS_HELP,
		  parse(&o, err, "--kernel", "k", "--help", NULL));

	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, NULL, NULL, NULL, NULL));
	EXPECT_STREQ(
		"translate: --kernel FILE is required (see bt86 translate --help)",
		err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--blocks", "0"));
	EXPECT_STREQ("--blocks: '0' is not a number from 1 to 4096", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--blocks", "5000"));
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--eip", "x1"));
	EXPECT_STREQ("--eip: 'x1' is not a number from 0 to 4294967295", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--eip", "0x100000000"));
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--hex=1", NULL));
	EXPECT_STREQ("--hex takes no value", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--accel", "bt"));
	EXPECT_STREQ(
		"translate: unknown option '--accel' (see bt86 translate --help)",
		err);
	EXPECT_EQ(OPTIONS_ERROR, parse(&o, err, "--kernel", NULL, NULL, NULL));
	EXPECT_STREQ("--kernel needs a value", err);
	EXPECT_EQ(OPTIONS_ERROR,
		  parse(&o, err, "--kernel", "k", "--mem", "1M"));
}

FIXTURE(image)
{
	char path[64];
	char *out;
	size_t len;
};

FIXTURE_SETUP(image)
{
	static uint8_t img[IMG_CAP];
	struct mbseg seg = { 0x100000, 0x100000, sizeof(code), sizeof(code),
			     code };
	size_t size = mbimage__elf(img, IMG_CAP, 0x100000, &seg, 1);
	int fd;

	strcpy(self->path, "/tmp/bt86-test-translate-XXXXXX");
	fd = mkstemp(self->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)size, write(fd, img, size));
	close(fd);
}

FIXTURE_TEARDOWN(image)
{
	unlink(self->path);
	free(self->out);
}

/* Runs the tool over the image; its output in self->out. */
static int run(struct __test_metadata *_metadata, FIXTURE_DATA(image) * self,
	       const char *a1, const char *a2, const char *a3, const char *a4)
{
	struct translate_options o;
	char err[OPTIONS_ERR_LEN];
	FILE *f;
	int status;

	ASSERT_EQ(OPTIONS_OK, parse(&o, err, a1, a2, a3, a4));
	o.kernel = self->path;
	o.mem = 4 << 20;
	free(self->out);
	self->out = NULL;
	f = open_memstream(&self->out, &self->len);
	ASSERT_NE(NULL, f);
	status = translate__run(&o, f);
	fclose(f);
	return status;
}

#define HAS(s)                                                   \
	do {                                                     \
		if (!strstr(self->out, s))                       \
			TH_LOG("no '%s' in:\n%s", s, self->out); \
		ASSERT_NE(NULL, strstr(self->out, s));           \
	} while (0)

/* The line after the first one that contains a has b. */
#define NEXT_LINE_HAS(a, b)                                                    \
	do {                                                                   \
		const char *l_ = strstr(self->out, a), *n_;                    \
		ASSERT_NE(NULL, l_);                                           \
		n_ = strchr(l_, '\n');                                         \
		ASSERT_NE(NULL, n_);                                           \
		n_++;                                                          \
		if (!strstr(n_, b) || strstr(n_, b) > strchr(n_, '\n'))        \
			TH_LOG("after '%s' no '%s' in:\n%s", a, b, self->out); \
		ASSERT_TRUE(strstr(n_, b) &&                                   \
			    strstr(n_, b) < strchr(n_, '\n'));                 \
	} while (0)

TEST_F(image, every_class_in_hex)
{
	ASSERT_EQ(0, run(_metadata, self, "--kernel", "x", "--hex", NULL));
	/* breadth first: entry (POPFD is inline); the JNE's two edges; the
	 * call's target; the POPFD's call out's continuation; the return */
	HAS(": entry 00100000, CS 0008");
	HAS("6 blocks, 11 guest instructions");
	HAS("block 0: guest 00100000, 6 insns");
	HAS("block 1: guest 0010000a, 1 insns");
	HAS("block 2: guest 00100008, 1 insns");
	HAS("block 3: guest 00100004, 2 insns");
	HAS("block 4: guest 00100010, 1 insns");
	HAS("block 5: guest 0010000f, 0 insns");
	/* guest instructions: address, bytes, class, mnemonic */
	HAS("  00100000  fa                      CLI       cli\n");
	HAS("  00100001  fb                      STI       sti\n");
	HAS("  00100002  9c                      PUSHF     pushfd\n");
	HAS("  00100003  9d                      POPF      popfd\n");
	HAS("  00100004  85 c0                   IDENT     test\n");
	HAS("  00100006  75 02                   JCC       jnz\n");
	HAS("  00100008  ff e0                   JMP_IND   jmp\n");
	HAS("  0010000a  e8 01 00 00 00          CALL      call\n");
	HAS("  00100010  c3                      RET       ret\n");
	HAS("  0010000f  f4                      CALLOUT   hlt\n");
	/* TC code and map entries */
	HAS("65 c6 05 00 00 00 00 00 mov                              INSN 00100000\n");
	HAS("cd 1f                   int                              STI 00100002\n");
	HAS("65 89 05 10 00 00 00    mov                              shadow INSN 00100002\n");
	HAS("9c                      pushfd                           INSN 00100002\n");
	HAS("e3 09                   jecxz\n");
	HAS("cd 1f                   int                              CALLOUT 00100003\n");
	HAS("85 c0                   test                             INSN 00100004\n");
	/* each guest instruction is followed by its own translation */
	NEXT_LINE_HAS("CLI       cli\n", "65 c6 05 00 00 00 00 00");
	NEXT_LINE_HAS("STI       sti\n", "65 c6 05 00 00 00 00 02");
	NEXT_LINE_HAS("PUSHF     pushfd\n", "shadow INSN 00100002");
	NEXT_LINE_HAS("POPF      popfd\n", "65 89 0d 18 00 00 00");
	NEXT_LINE_HAS("IDENT     test\n", "85 c0 ");
	NEXT_LINE_HAS("JCC       jnz\n", "0f 85 ");
	NEXT_LINE_HAS("JMP_IND   jmp\n", "65 89 05 10 00 00 00");
	NEXT_LINE_HAS("CALL      call\n", "68 0f 00 10 00");
	NEXT_LINE_HAS("RET       ret\n", "65 8f 05 08 00 00 00");
	/* POPFD's whole sequence is under it: its call outs, its POPFD */
	NEXT_LINE_HAS("int                              CALLOUT 00100003\n",
		      "0f b6 4c 24 01");
	NEXT_LINE_HAS("mov                              INSN 00100003\n",
		      "mov                              INSN 00100003");
	HAS("0f 85 ");
	HAS("  exit stubs\n");
	HAS("EXIT 0010000a\n");
	HAS("EXIT 00100008\n");
	HAS("68 0f 00 10 00          push                             INSN 0010000a\n");
	HAS("65 8f 05 08 00 00 00    pop                              INSN 00100010\n");
}

TEST_F(image, start_and_count)
{
	ASSERT_EQ(0, run(_metadata, self, "--kernel", "x", "--eip=0x100004",
			 "--hex"));
	HAS("block 0: guest 00100004");
	ASSERT_EQ(0,
		  run(_metadata, self, "--kernel", "x", "--blocks=1", "--hex"));
	HAS("1 blocks, 6 guest instructions");
	EXPECT_EQ(NULL, strstr(self->out, "block 1:"));
}

TEST_F(image, objdump)
{
	if (system("objdump --version >/dev/null 2>&1"))
		SKIP(return, "no objdump");
	ASSERT_EQ(0, run(_metadata, self, "--kernel", "x", NULL, NULL));
	HAS("  00100000  fa                      CLI       cli\n");
	HAS("  00100008  ff e0                   JMP_IND   jmp    *%eax\n");
	HAS("65 c6 05 00 00 00 00 00 movb   $0x0,%gs:0x0              INSN 00100000\n");
	HAS("e3 09                   jecxz  0x");
	HAS("EXIT 0010000a\n");
}

TEST(missing_kernel)
{
	struct translate_options o = { .kernel = "/nonexistent/k.elf",
				       .mem = 4 << 20,
				       .blocks = 1 };
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	ASSERT_EQ(2, translate__run(&o, f));
	fclose(f);
	EXPECT_EQ(0, len);
	free(out);
}

TEST_HARNESS_MAIN
