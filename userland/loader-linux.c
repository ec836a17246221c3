// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), entered at
 * the kernel's 32-bit protected-mode entry point as kvmtool and QEMU's
 * direct 32-bit boot do: no real-mode setup code runs, so the loader fills
 * the "zero page" (struct boot_params) that the setup code would have.
 *
 * Guest-physical layout (below 1 MiB, see loader.h):
 *
 *   0x10000   boot_params, 4 KiB: the image's setup header, the e820 map
 *   0x11000   the command line (at most the image's cmdline_size)
 *   0x19000   a GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18)
 *   0x100000  the protected-mode kernel (code32_start); it decompresses
 *             itself within init_size bytes from there
 *   top       the initrd, page aligned, below initrd_addr_max
 */
#include <stdio.h>
#include <string.h>

#include "loader.h"
#include "util.h"

/* Offsets in the image's first sector and in boot_params (the same). */
#define HDR_SETUP_SECTS	    0x1f1
#define HDR_BOOT_FLAG	    0x1fe /* 0xaa55 */
#define HDR_JUMP	    0x200 /* a short jump over the header */
#define HDR_MAGIC	    0x202 /* "HdrS" */
#define HDR_VERSION	    0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS	    0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_CMDLINE_SIZE    0x238
#define HDR_INIT_SIZE	    0x260

/* boot_params outside the setup header */
#define BP_ALT_MEM_K	0x1e0
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE	0x2d0
#define BP_SIZE		0x1000

#define LOADED_HIGH	 0x01	/* loadflags: protected-mode code at 1 MiB */
#define LOADER_UNDEFINED 0xff	/* type_of_loader: no assigned ID */
#define MIN_VERSION	 0x0206 /* cmdline_size; 0x020a: init_size */
#define BOOT_PARAMS_ADDR 0x10000
#define CMDLINE_ADDR	 0x11000
#define CMDLINE_MAX	 0x8000 /* to the GDT */
#define GDT_ADDR	 0x19000
#define KERNEL_ADDR	 0x100000
#define BOOT_CS		 0x10
#define BOOT_DS		 0x18
#define E820_RAM	 1
#define E820_RESERVED	 2
#define LOW_MEM_END	 0x9fc00 /* EBDA and up: reserved on a PC */
#define BIOS_AREA	 0xf0000
#define MIN_RAM		 (16 * MiB)
#define PAGE_SIZE_4K	 4096u

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

int linux__probe(const struct blob *kernel)
{
	return kernel->size >= HDR_MAGIC + 4 &&
	       !memcmp(kernel->data + HDR_MAGIC, "HdrS", 4);
}

/* What the loader needs from the image's setup header. */
struct lx_image {
	uint32_t setup_size; /* bytes before the protected-mode code */
	uint32_t hdr_end;    /* the setup header is [0x1f1, hdr_end) */
	uint32_t pm_size;    /* the protected-mode code's size */
	uint32_t init_size;  /* memory it needs from KERNEL_ADDR */
	uint32_t cmdline_max;
	uint32_t initrd_max; /* the initrd's last byte's highest address */
};

static int lx__parse(const struct blob *k, struct lx_image *img, char *err)
{
	const uint8_t *d = k->data;
	unsigned int sects, version;

	if (k->size < 0x1000 || get16(d + HDR_BOOT_FLAG) != 0xaa55) {
		loader__error(err, k->name,
			      "not a bzImage: no 0xAA55 boot flag");
		return -1;
	}
	version = get16(d + HDR_VERSION);
	if (version < MIN_VERSION) {
		loader__error(
			err, k->name,
			"boot protocol %u.%02u is too old (bt86 loads 2.06 and later: Linux 2.6.22 and later)",
			version >> 8, version & 0xff);
		return -1;
	}
	if (!(d[HDR_LOADFLAGS] & LOADED_HIGH)) {
		loader__error(
			err, k->name,
			"a zImage (loaded below 1 MiB): bt86 loads bzImages only");
		return -1;
	}
	sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
	img->setup_size = (sects + 1) * 512;
	img->hdr_end = HDR_MAGIC + d[HDR_JUMP + 1];
	if (img->setup_size >= k->size || img->hdr_end > 0x290) {
		loader__error(
			err, k->name,
			"a corrupt setup header (%u setup sectors, header ends at 0x%x, file of %zu bytes)",
			sects, img->hdr_end, k->size);
		return -1;
	}
	img->pm_size = k->size - img->setup_size;
	img->init_size = img->pm_size;
	if (version >= 0x020a && get32(d + HDR_INIT_SIZE) > img->init_size)
		img->init_size = get32(d + HDR_INIT_SIZE);
	img->cmdline_max = get32(d + HDR_CMDLINE_SIZE);
	img->initrd_max = get32(d + HDR_INITRD_ADDR_MAX);
	return 0;
}

static int lx__check_room(struct guest_ram *ram, const struct blob *k,
			  const struct lx_image *img, char *err)
{
	uint64_t need = KERNEL_ADDR + (uint64_t)img->init_size;
	char have[32], want[32];

	if (need < MIN_RAM)
		need = MIN_RAM;
	if (ram->size < need) {
		loader__error(
			err, k->name,
			"needs at least %s of guest memory to decompress (init_size %u bytes at 1 MiB); --mem gives %s",
			loader__size_str((need + MiB - 1) & ~(MiB - 1), want,
					 sizeof(want)),
			img->init_size,
			loader__size_str(ram->size, have, sizeof(have)));
		return -1;
	}
	return 0;
}

static void lx__e820(uint8_t *bp, uint64_t ram_size)
{
	static const struct {
		uint64_t start, end;
		uint32_t type;
	} map[] = {
		{ 0, LOW_MEM_END, E820_RAM },
		{ LOW_MEM_END, 0xa0000, E820_RESERVED },
		{ BIOS_AREA, KERNEL_ADDR, E820_RESERVED },
		{ KERNEL_ADDR, 0, E820_RAM }, /* end: the RAM's size */
	};
	size_t i, n = sizeof(map) / sizeof(map[0]);

	for (i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;
		uint64_t end = map[i].end ? map[i].end : ram_size;

		put64(e, map[i].start);
		put64(e + 8, end - map[i].start);
		put32(e + 16, map[i].type);
	}
	bp[BP_E820_ENTRIES] = n;
	put32(bp + BP_ALT_MEM_K, (ram_size - KERNEL_ADDR) / 1024);
}

static int lx__cmdline(struct guest_ram *ram, const struct blob *k,
		       const struct lx_image *img, const char *append,
		       uint8_t *bp, char *err)
{
	size_t len = strlen(append ? append : "");
	size_t max = img->cmdline_max < CMDLINE_MAX - 1 ? img->cmdline_max
							: CMDLINE_MAX - 1;

	if (len > max) {
		loader__error(
			err, k->name,
			"the command line is %zu bytes; this kernel takes at most %zu",
			len, max);
		return -1;
	}
	memcpy(ram->host + CMDLINE_ADDR, append ? append : "", len + 1);
	put32(bp + HDR_CMD_LINE_PTR, CMDLINE_ADDR);
	return 0;
}

/* The initrd at the highest page-aligned address it may have. */
static int lx__initrd(struct guest_ram *ram, const struct blob *initrd,
		      const struct lx_image *img, uint8_t *bp, char *err)
{
	uint64_t top = ram->size, start, kernel_end;
	char size[32];

	if ((uint64_t)img->initrd_max + 1 < top)
		top = (uint64_t)img->initrd_max + 1;
	kernel_end = KERNEL_ADDR + (uint64_t)img->init_size;
	start = top >= initrd->size ? (top - initrd->size) & ~(uint64_t)0xfff
				    : 0;
	if (start < kernel_end) {
		loader__error(
			err, initrd->name,
			"%zu bytes do not fit between the kernel (to 0x%llx) and the top of %s of guest memory; use --mem",
			initrd->size, (unsigned long long)kernel_end,
			loader__size_str(ram->size, size, sizeof(size)));
		return -1;
	}
	memcpy(ram->host + start, initrd->data, initrd->size);
	put32(bp + HDR_RAMDISK_IMAGE, start);
	put32(bp + HDR_RAMDISK_SIZE, initrd->size);
	return 0;
}

/* Flat 4 GiB code (execute/read) and data (read/write) descriptors. */
static void lx__gdt(struct guest_ram *ram, struct boot_cpu *cpu)
{
	uint8_t *gdt = ram->host + GDT_ADDR;

	memset(gdt, 0, 4 * 8);
	put64(gdt + BOOT_CS, 0x00cf9b000000ffffULL);
	put64(gdt + BOOT_DS, 0x00cf93000000ffffULL);
	cpu->gdt_base = GDT_ADDR;
	cpu->gdt_limit = 4 * 8 - 1;
	cpu->code_sel = BOOT_CS;
	cpu->data_sel = BOOT_DS;
}

int linux__load(struct guest_ram *ram, const struct blob *kernel,
		const struct blob *initrd, const char *append,
		struct boot_cpu *cpu, char *err)
{
	struct lx_image img;
	uint8_t *bp = ram->host + BOOT_PARAMS_ADDR;

	if (lx__parse(kernel, &img, err) ||
	    lx__check_room(ram, kernel, &img, err))
		return -1;
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, kernel->data + HDR_SETUP_SECTS,
	       img.hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put32(bp + HDR_CODE32_START, KERNEL_ADDR);
	memcpy(ram->host + KERNEL_ADDR, kernel->data + img.setup_size,
	       img.pm_size);
	lx__e820(bp, ram->size);
	if (lx__cmdline(ram, kernel, &img, append, bp, err) ||
	    (initrd && lx__initrd(ram, initrd, &img, bp, err)))
		return -1;

	/* The 32-bit entry's contract (boot.rst, "32-bit Boot Protocol"). */
	memset(cpu, 0, sizeof(*cpu));
	lx__gdt(ram, cpu);
	cpu->esi = BOOT_PARAMS_ADDR;
	cpu->eip = KERNEL_ADDR;
	cpu->esp = BOOT_PARAMS_ADDR; /* unused: it sets its own */
	cpu->eflags = 0x2;	     /* IF = 0 */
	cpu->cr0 = 0x11;	     /* PE | ET */
	return 0;
}
