// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux boot-protocol loader on bzImage headers built here: the zero
 * page it fills (setup header, e820 map, command line, initrd), the 32-bit
 * entry's CPU state, and each malformed image or short memory with its
 * exact message.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "loader.h"

#define IMG_SIZE (64 * 1024)
#define SETUP	 4 /* setup sectors: the kernel starts at 5 * 512 */
#define RAM_SIZE (32u << 20)
#define BP	 0x10000 /* boot_params */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

FIXTURE(lx)
{
	uint8_t img[IMG_SIZE];
	struct guest_ram ram;
	struct boot_cpu cpu;
	char err[LOADER_ERR_LEN];
};

/* A protocol 2.15 bzImage header, as Linux 6.1 has it. */
FIXTURE_SETUP(lx)
{
	uint8_t *d = self->img;

	memset(d, 0, IMG_SIZE);
	d[0x1f1] = SETUP;
	put16(d + 0x1fe, 0xaa55);
	d[0x200] = 0xeb; /* jmp over the header, which ends at 0x26c */
	d[0x201] = 0x6a;
	memcpy(d + 0x202, "HdrS", 4);
	put16(d + 0x206, 0x020f);
	d[0x211] = 0x01; /* LOADED_HIGH */
	put32(d + 0x214, 0x100000);
	put32(d + 0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(d + 0x238, 2047);	      /* cmdline_size */
	put32(d + 0x260, 0x800000);   /* init_size: 8 MiB */
	put32(d + 0x268, 0x1234);     /* last field: kernel_info_offset */
	for (size_t i = (SETUP + 1) * 512; i < IMG_SIZE; i++)
		d[i] = i * 13;
	self->ram.size = RAM_SIZE;
	self->ram.host = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram.host);
	memset(self->ram.host + BP, 0xcc, 0x1000); /* stale bytes */
	self->err[0] = 0;
}

FIXTURE_TEARDOWN(lx)
{
	munmap(self->ram.host, self->ram.size);
}

static int load(struct _test_data_lx *self, const struct blob *initrd,
		const char *append)
{
	struct blob k = { "vmlinuz", self->img, IMG_SIZE };

	return linux__load(&self->ram, &k, initrd, append, &self->cpu,
			   self->err);
}

TEST_F(lx, entry_state_and_zero_page)
{
	const uint8_t *bp = self->ram.host + BP, *gdt;
	struct blob k = { "vmlinuz", self->img, IMG_SIZE };

	ASSERT_TRUE(linux__probe(&k));
	ASSERT_EQ(0, load(self, NULL, "console=ttyS0 quiet"));
	EXPECT_STREQ("", self->err);
	/* The 32-bit entry: ESI at boot_params, IF clear, flat segments. */
	EXPECT_EQ(BP, self->cpu.esi);
	EXPECT_EQ(0x100000, self->cpu.eip);
	EXPECT_EQ(0, self->cpu.ebx | self->cpu.edi | self->cpu.ebp);
	EXPECT_EQ(0x2, self->cpu.eflags);
	EXPECT_EQ(0x11, self->cpu.cr0);
	EXPECT_EQ(0x10, self->cpu.code_sel);
	EXPECT_EQ(0x18, self->cpu.data_sel);
	gdt = self->ram.host + self->cpu.gdt_base;
	EXPECT_EQ(0x00cf9b000000ffffULL, rd64(gdt + 0x10));
	EXPECT_EQ(0x00cf93000000ffffULL, rd64(gdt + 0x18));
	EXPECT_EQ(31, self->cpu.gdt_limit);
	/* The protected-mode code at 1 MiB. */
	EXPECT_EQ(0, memcmp(self->ram.host + 0x100000, self->img + 5 * 512,
			    IMG_SIZE - 5 * 512));
	/* The setup header copied, the rest of the page cleared. */
	EXPECT_EQ(0, memcmp(bp + 0x202, "HdrS", 4));
	EXPECT_EQ(0x1234, rd32(bp + 0x268));
	EXPECT_EQ(0, rd32(bp + 0x26c));
	EXPECT_EQ(0, rd32(bp + 0x000));
	EXPECT_EQ(0xff, bp[0x210]); /* type_of_loader */
	EXPECT_STREQ("console=ttyS0 quiet",
		     (char *)self->ram.host + rd32(bp + 0x228));
	EXPECT_EQ(0, rd32(bp + 0x218)); /* no initrd */
	EXPECT_EQ(0, rd32(bp + 0x21c));
}

TEST_F(lx, e820_map)
{
	const uint8_t *bp = self->ram.host + BP, *e;

	ASSERT_EQ(0, load(self, NULL, NULL));
	ASSERT_EQ(4, bp[0x1e8]);
	e = bp + 0x2d0;
	EXPECT_EQ(0, rd64(e));
	EXPECT_EQ(0x9fc00, rd64(e + 8));
	EXPECT_EQ(1, rd32(e + 16));
	EXPECT_EQ(2, rd32(e + 20 + 16));
	EXPECT_EQ(0xf0000, rd64(e + 40));
	EXPECT_EQ(2, rd32(e + 40 + 16));
	EXPECT_EQ(0x100000, rd64(e + 60));
	EXPECT_EQ(RAM_SIZE - 0x100000, rd64(e + 68));
	EXPECT_EQ(1, rd32(e + 76));
	EXPECT_EQ((RAM_SIZE - 0x100000) / 1024, rd32(bp + 0x1e0));
	EXPECT_STREQ("", (char *)self->ram.host + rd32(bp + 0x228));
}

TEST_F(lx, initrd_at_the_top)
{
	const uint8_t *bp = self->ram.host + BP;
	static uint8_t data[10000];
	struct blob initrd = { "initrd.img", data, sizeof(data) };
	uint32_t start;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i * 3;
	ASSERT_EQ(0, load(self, &initrd, NULL));
	start = rd32(bp + 0x218);
	EXPECT_EQ(sizeof(data), rd32(bp + 0x21c));
	EXPECT_EQ(0, start & 0xfff);
	EXPECT_EQ((RAM_SIZE - sizeof(data)) & ~0xfffu, start);
	EXPECT_EQ(0, memcmp(self->ram.host + start, data, sizeof(data)));
}

TEST_F(lx, initrd_below_initrd_addr_max)
{
	const uint8_t *bp = self->ram.host + BP;
	static uint8_t data[4096];
	struct blob initrd = { "initrd.img", data, sizeof(data) };

	put32(self->img + 0x22c, 0x1000000 - 1); /* 16 MiB */
	ASSERT_EQ(0, load(self, &initrd, NULL));
	EXPECT_EQ(0x1000000 - 4096, rd32(bp + 0x218));
}

TEST_F(lx, initrd_too_large)
{
	static uint8_t data[24u << 20];
	struct blob initrd = { "big.img", data, sizeof(data) };

	ASSERT_EQ(-1, load(self, &initrd, NULL));
	EXPECT_STREQ(
		"big.img: 25165824 bytes do not fit between the kernel (to 0x900000) and the top of 32 MiB of guest memory; use --mem",
		self->err);
}

TEST_F(lx, too_little_memory)
{
	put32(self->img + 0x260, 0x2000000); /* init_size: 32 MiB */
	ASSERT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"vmlinuz: needs at least 33 MiB of guest memory to decompress (init_size 33554432 bytes at 1 MiB); --mem gives 32 MiB",
		self->err);
}

TEST_F(lx, command_line_too_long)
{
	char line[3000];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	ASSERT_EQ(-1, load(self, NULL, line));
	EXPECT_STREQ(
		"vmlinuz: the command line is 2999 bytes; this kernel takes at most 2047",
		self->err);
}

TEST_F(lx, old_protocol)
{
	put16(self->img + 0x206, 0x0204);
	ASSERT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"vmlinuz: boot protocol 2.04 is too old (bt86 loads 2.06 and later: Linux 2.6.22 and later)",
		self->err);
}

TEST_F(lx, zimage)
{
	self->img[0x211] = 0;
	ASSERT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"vmlinuz: a zImage (loaded below 1 MiB): bt86 loads bzImages only",
		self->err);
}

TEST_F(lx, no_boot_flag)
{
	put16(self->img + 0x1fe, 0);
	ASSERT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ("vmlinuz: not a bzImage: no 0xAA55 boot flag", self->err);
}

TEST_F(lx, corrupt_header)
{
	self->img[0x201] = 0xff; /* the header would run past 0x290 */
	ASSERT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"vmlinuz: a corrupt setup header (4 setup sectors, header ends at 0x301, file of 65536 bytes)",
		self->err);
}

TEST_HARNESS_MAIN
