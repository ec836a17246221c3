// SPDX-License-Identifier: GPL-2.0
/*
 * The multiboot loader on images built here: a valid ELF (its segments,
 * the boot information and the CPU state), the a.out kludge, an initrd,
 * and each kind of malformed image with its exact message.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "loader.h"
#include "mbimage.h"

#define IMG_CAP	 0x10000
#define RAM_SIZE (4u << 20)

static const uint8_t code[] = { 0xb0, 0x00, 0xe6, 0xf4, 0xf4 };

static uint32_t rd32(const struct guest_ram *ram, uint32_t addr)
{
	uint32_t v;

	memcpy(&v, ram->host + addr, 4);
	return v;
}

static uint64_t rd64(const struct guest_ram *ram, uint32_t addr)
{
	uint64_t v;

	memcpy(&v, ram->host + addr, 8);
	return v;
}

FIXTURE(mb)
{
	uint8_t img[IMG_CAP];
	size_t size;
	struct guest_ram ram;
	struct boot_cpu cpu;
	char err[LOADER_ERR_LEN];
};

FIXTURE_SETUP(mb)
{
	struct mbseg segs[] = {
		{ 0x100000, 0x100000, sizeof(code), 0x2000, code },
	};

	self->size = mbimage__elf(self->img, IMG_CAP, 0x100000, segs, 1);
	self->ram.size = RAM_SIZE;
	self->ram.host = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram.host);
	memset(self->ram.host + 0x100000, 0xcc, 0x3000); /* stale bytes */
	self->err[0] = 0;
}

FIXTURE_TEARDOWN(mb)
{
	munmap(self->ram.host, RAM_SIZE);
}

static int load(struct _test_data_mb *self, const struct blob *initrd,
		const char *append)
{
	struct blob k = { "k.elf", self->img, self->size };

	return multiboot__load(&self->ram, &k, initrd, append, &self->cpu,
			       self->err);
}

TEST_F(mb, valid_elf)
{
	struct guest_ram *ram = &self->ram;
	struct blob k = { "k.elf", self->img, self->size };

	ASSERT_TRUE(multiboot__probe(&k));
	ASSERT_EQ(0, load(self, NULL, "console=ttyS0 x=1"));
	EXPECT_STREQ("", self->err);
	/* CPU state per the specification. */
	EXPECT_EQ(0x2BADB002, self->cpu.eax);
	EXPECT_EQ(0x8000, self->cpu.ebx);
	EXPECT_EQ(0x100000, self->cpu.eip);
	EXPECT_EQ(0x2, self->cpu.eflags);
	EXPECT_EQ(0x11, self->cpu.cr0);
	/* The segment, and its bss cleared. */
	EXPECT_EQ(0, memcmp(ram->host + 0x100000, code, sizeof(code)));
	EXPECT_EQ(0, ram->host[0x100000 + sizeof(code)]);
	EXPECT_EQ(0, ram->host[0x101fff]);
	EXPECT_EQ(0xcc, ram->host[0x102000]);
	/* The boot information. */
	EXPECT_EQ(0x1 | 0x4 | 0x40 | 0x200, rd32(ram, 0x8000));
	EXPECT_EQ(639, rd32(ram, 0x8004));
	EXPECT_EQ((RAM_SIZE - 0x100000) / 1024, rd32(ram, 0x8008));
	EXPECT_STREQ("console=ttyS0 x=1",
		     (char *)ram->host + rd32(ram, 0x8010));
	EXPECT_STREQ("bt86", (char *)ram->host + rd32(ram, 0x8040));
	EXPECT_EQ(0, rd32(ram, 0x8014)); /* no modules */
}

TEST_F(mb, memory_map)
{
	struct guest_ram *ram = &self->ram;
	uint32_t len, addr, last;

	ASSERT_EQ(0, load(self, NULL, NULL));
	len = rd32(ram, 0x802c);
	addr = rd32(ram, 0x8030);
	ASSERT_EQ(4 * 24, len);
	/* Entry 0: usable low memory; the last: RAM above 1 MiB. */
	EXPECT_EQ(20, rd32(ram, addr));
	EXPECT_EQ(0, rd64(ram, addr + 4));
	EXPECT_EQ(0x9fc00, rd64(ram, addr + 12));
	EXPECT_EQ(1, rd32(ram, addr + 20));
	last = addr + 3 * 24;
	EXPECT_EQ(0x100000, rd64(ram, last + 4));
	EXPECT_EQ(RAM_SIZE - 0x100000, rd64(ram, last + 12));
	EXPECT_EQ(1, rd32(ram, last + 20));
	/* The BIOS area is reserved. */
	EXPECT_EQ(2, rd32(ram, addr + 2 * 24 + 20));
	/* No command line: an empty string. */
	EXPECT_STREQ("", (char *)ram->host + rd32(ram, 0x8010));
}

TEST_F(mb, initrd_module)
{
	struct guest_ram *ram = &self->ram;
	uint8_t data[5000];
	struct blob initrd = { "initrd.img", data, sizeof(data) };
	uint32_t mods, start;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i * 7;
	ASSERT_EQ(0, load(self, &initrd, NULL));
	EXPECT_EQ(0x8, rd32(ram, 0x8000) & 0x8);
	EXPECT_EQ(1, rd32(ram, 0x8014));
	mods = rd32(ram, 0x8018);
	start = rd32(ram, mods);
	EXPECT_EQ(0x102000, start); /* page after the kernel */
	EXPECT_EQ(start + sizeof(data), rd32(ram, mods + 4));
	EXPECT_STREQ("initrd.img", (char *)ram->host + rd32(ram, mods + 8));
	EXPECT_EQ(0, memcmp(ram->host + start, data, sizeof(data)));
}

TEST_F(mb, initrd_too_large)
{
	static uint8_t big[1];
	struct blob initrd = { "initrd.img", big, RAM_SIZE };

	EXPECT_EQ(-1, load(self, &initrd, NULL));
	EXPECT_STREQ(
		"initrd.img: 4194304 bytes do not fit in 4 MiB of guest memory above the kernel (which ends at 0x102000; use --mem)",
		self->err);
}

TEST_F(mb, bad_magic)
{
	struct blob k = { "k.elf", self->img, self->size };
	size_t off = mbimage__header_offset(1);

	self->img[off] ^= 1;
	EXPECT_FALSE(multiboot__probe(&k));
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ("k.elf: no multiboot header in the first 8 KiB",
		     self->err);
}

TEST_F(mb, header_beyond_8k_is_not_found)
{
	struct blob k = { "k.elf", self->img, IMG_CAP };
	size_t off = mbimage__header_offset(1);

	memset(self->img + off, 0, 12);
	mbimage__header(self->img + 8192, 3);
	EXPECT_FALSE(multiboot__probe(&k));
	mbimage__header(self->img + 8188, 3);
	EXPECT_TRUE(multiboot__probe(&k));
}

TEST_F(mb, bad_checksum)
{
	size_t off = mbimage__header_offset(1);

	self->img[off + 8]++;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: bad multiboot header checksum at offset 0x54 (magic + flags + checksum = 0x00000001, must be 0)",
		self->err);
}

TEST_F(mb, truncated_header)
{
	size_t off = mbimage__header_offset(1);

	self->size = off + 8;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: truncated multiboot header at offset 0x54 (the file ends after 92 bytes)",
		self->err);
	/* Flag 16 needs the address fields too. */
	mbimage__header(self->img + off, 0x10003);
	self->size = off + 20;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: truncated multiboot header at offset 0x54: flag 16 needs the address fields (32 bytes)",
		self->err);
}

TEST_F(mb, unsupported_required_flag)
{
	mbimage__header(self->img + mbimage__header_offset(1), 0x00000010);
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: the multiboot header requires features bt86 does not provide (flags 0x00000010)",
		self->err);
}

TEST_F(mb, elf64_rejected)
{
	self->img[EI_CLASS] = ELFCLASS64;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ("k.elf: 64-bit ELF: bt86 guests are 32-bit (ELF32 i386)",
		     self->err);
}

TEST_F(mb, not_elf_without_aout_fields)
{
	self->img[0] = 'X';
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: multiboot header without the address fields (flag 16), and the file is not ELF",
		self->err);
}

TEST_F(mb, wrong_machine_and_type)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)self->img;

	eh->e_machine = EM_ARM;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: not an ELF32 little-endian i386 image (class 1, data 1, machine 40)",
		self->err);
	eh->e_machine = EM_386;
	eh->e_type = ET_DYN;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ("k.elf: not an executable ELF (type 3, expected ET_EXEC)",
		     self->err);
}

TEST_F(mb, program_headers_outside_file)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)self->img;

	eh->e_phnum = 60000;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: program headers (60000 at offset 0x34, 32 bytes each) lie outside the file (4101 bytes)",
		self->err);
}

TEST_F(mb, segment_outside_file)
{
	Elf32_Phdr *ph = (Elf32_Phdr *)(self->img + sizeof(Elf32_Ehdr));

	ph->p_filesz = 0x1000;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: segment 0 (file offset 0x1000+0x1000) lies outside the file (4101 bytes)",
		self->err);
	/* An offset that wraps in 32 bits is caught too. */
	ph->p_offset = 0xfffff000;
	EXPECT_EQ(-1, load(self, NULL, NULL));
}

TEST_F(mb, segment_beyond_ram)
{
	struct mbseg segs[] = {
		{ 0x100000, 0x100000, sizeof(code), 0x200000, code },
	};

	self->size = mbimage__elf(self->img, IMG_CAP, 0x100000, segs, 1);
	self->ram.size = 2u << 20;
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: segment 0 (0x100000+0x200000) does not fit in 2 MiB of guest memory (use --mem)",
		self->err);
	/* And one that wraps around 4 GiB. */
	segs[0].paddr = 0xfffff000;
	self->size = mbimage__elf(self->img, IMG_CAP, 0xfffff000, segs, 1);
	self->ram.size = RAM_SIZE;
	EXPECT_EQ(-1, load(self, NULL, NULL));
}

TEST_F(mb, image_overlapping_info_area)
{
	struct mbseg segs[] = {
		{ 0x7000, 0x7000, sizeof(code), 0x1001, code },
	};

	self->size = mbimage__elf(self->img, IMG_CAP, 0x7000, segs, 1);
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: segment 0 (0x7000+0x1001) overlaps the boot information area at 0x8000-0xffff",
		self->err);
}

TEST_F(mb, entry_outside_segments)
{
	struct mbseg segs[] = {
		{ 0x100000, 0x100000, sizeof(code), 0x1000, code },
	};

	self->size = mbimage__elf(self->img, IMG_CAP, 0x200000, segs, 1);
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: entry point 0x200000 is not inside a loadable segment",
		self->err);
}

TEST_F(mb, higher_half_entry_translated)
{
	struct mbseg segs[] = {
		{ 0x100000, 0xc0100000, sizeof(code), 0x1000, code },
	};

	self->size = mbimage__elf(self->img, IMG_CAP, 0xc0100004, segs, 1);
	ASSERT_EQ(0, load(self, NULL, NULL));
	EXPECT_EQ(0x100004, self->cpu.eip);
}

/* The a.out kludge: the header says where the file goes. */
TEST_F(mb, aout_kludge)
{
	struct guest_ram *ram = &self->ram;
	uint32_t h[8];

	memset(self->img, 0, IMG_CAP);
	/* Header at file offset 0x10, loaded at 0x200000 with the file. */
	h[0] = MBI_MAGIC;
	h[1] = 0x10003;
	h[2] = -(MBI_MAGIC + h[1]);
	h[3] = 0x200010; /* header_addr */
	h[4] = 0x200000; /* load_addr */
	h[5] = 0x200100; /* load_end_addr */
	h[6] = 0x201000; /* bss_end_addr */
	h[7] = 0x200040; /* entry_addr */
	memcpy(self->img + 0x10, h, sizeof(h));
	memcpy(self->img + 0x40, code, sizeof(code));
	self->size = 0x200;
	ASSERT_EQ(0, load(self, NULL, NULL));
	EXPECT_EQ(0x200040, self->cpu.eip);
	EXPECT_EQ(0, memcmp(ram->host + 0x200040, code, sizeof(code)));
	EXPECT_EQ(0, ram->host[0x200100]); /* bss, not file bytes */
	EXPECT_EQ(0, ram->host[0x200fff]);

	/* load_end beyond the file. */
	h[5] = 0x200300;
	memcpy(self->img + 0x10, h, sizeof(h));
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: multiboot load_end_addr 0x200300 is below load_addr 0x200000 or beyond the end of the file",
		self->err);
	/* header_addr inconsistent with the header's file offset. */
	h[5] = 0x200100;
	h[3] = 0x200800;
	memcpy(self->img + 0x10, h, sizeof(h));
	EXPECT_EQ(-1, load(self, NULL, NULL));
	/* The image past the end of RAM. */
	h[3] = 0x3ffff10;
	h[4] = 0x3ffff00;
	h[5] = 0;
	h[6] = 0;
	h[7] = 0x3ffff40;
	memcpy(self->img + 0x10, h, sizeof(h));
	EXPECT_EQ(-1, load(self, NULL, NULL));
	EXPECT_STREQ(
		"k.elf: the image (0x3ffff00+0x200) does not fit in 4 MiB of guest memory (use --mem)",
		self->err);
}

/* loader__load picks the loader and names the file in every message. */
static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(data, 1, len, f);
	fclose(f);
}

TEST_F(mb, probe_picks_loader)
{
	char path[] = "/tmp/bt86-unit-XXXXXX";
	struct boot_args args = { .kernel = path };
	uint8_t bz[0x400] = { 0 };
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	write_file(path, self->img, self->size);
	EXPECT_EQ(0, loader__load(&self->ram, &args, &self->cpu, self->err));
	EXPECT_EQ(0x100000, self->cpu.eip);

	memcpy(bz + 0x202, "HdrS", 4);
	write_file(path, bz, sizeof(bz));
	EXPECT_EQ(-1, loader__load(&self->ram, &args, &self->cpu, self->err));
	EXPECT_EQ(0, strcmp(self->err + strlen(path),
			    ": not a bzImage: no 0xAA55 boot flag"));

	memset(bz, 0, sizeof(bz));
	write_file(path, bz, sizeof(bz));
	EXPECT_EQ(-1, loader__load(&self->ram, &args, &self->cpu, self->err));
	EXPECT_EQ(
		0,
		strcmp(self->err + strlen(path),
		       ": not a multiboot kernel (no multiboot header in the first 8 KiB) and not a Linux bzImage"));

	write_file(path, "", 0);
	EXPECT_EQ(-1, loader__load(&self->ram, &args, &self->cpu, self->err));
	EXPECT_EQ(0, strcmp(self->err + strlen(path), ": empty file"));
	unlink(path);

	EXPECT_EQ(-1, loader__load(&self->ram, &args, &self->cpu, self->err));
	EXPECT_EQ(0, strcmp(self->err + strlen(path),
			    ": cannot open: No such file or directory"));
}

TEST_HARNESS_MAIN
