// SPDX-License-Identifier: GPL-2.0
/*
 * Multiboot v1 (the Multiboot Specification 0.6.96): the header search, the
 * two ways of describing the image (ELF32 program headers, or the a.out
 * kludge address fields when flag 16 is set), the boot information handed
 * to the kernel, and the initial CPU state.
 *
 * Every number read from the image is the image's and may be anything: each
 * offset and length is checked against the file, each address against guest
 * RAM and the boot information area, in 64-bit arithmetic so nothing wraps.
 */
#include <elf.h>
#include <string.h>

#include "loader.h"
#include "util.h"

#define MB_MAGIC      0x1BADB002
#define MB_BOOT_MAGIC 0x2BADB002
#define MB_SEARCH     8192
#define MB_HEADER_LEN 12 /* magic, flags, checksum */
#define MB_AOUT_LEN   32 /* + the five address fields */

#define MB_FLAG_PAGE_ALIGN (1u << 0)
#define MB_FLAG_MEMINFO	   (1u << 1)
#define MB_FLAG_VIDEO	   (1u << 2)
#define MB_FLAG_AOUT	   (1u << 16)
#define MB_FLAGS_KNOWN_REQ 0x0007 /* required bits bt86 understands */

/* Flags of the boot information. */
#define MBI_MEM		(1u << 0)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)
#define MBI_LOADER_NAME (1u << 9)

/* Where the pieces of boot information go inside the info area. */
#define MBI_ADDR      (BOOT_INFO_BASE + 0x000)
#define MBI_SIZE      88
#define MBI_MMAP_ADDR (BOOT_INFO_BASE + 0x100)
#define MBI_MODS_ADDR (BOOT_INFO_BASE + 0x200)
#define MBI_NAME_ADDR (BOOT_INFO_BASE + 0x280)
#define MBI_STRINGS   (BOOT_INFO_BASE + 0x300)

#define LOW_MEM_END 0x9fc00 /* 639 KiB usable */
#define BIOS_AREA   0xf0000
#define HIGH_MEM    0x100000

#define PAGE_SIZE 4096

struct mb_header {
	uint32_t offset; /* in the file */
	uint32_t flags;
	/* The a.out kludge fields, valid with MB_FLAG_AOUT. */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

/* Where the kernel went: for the initrd placement. */
struct mb_image {
	uint32_t entry;
	uint64_t end; /* highest guest-physical byte + 1 */
};

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* the host is little endian, like the guest */
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Offset of the first multiboot magic in the search window, or -1. */
static long mb__find(const struct blob *k)
{
	size_t limit = k->size < MB_SEARCH ? k->size : MB_SEARCH;
	size_t off;

	for (off = 0; off + 4 <= limit; off += 4)
		if (le32(k->data + off) == MB_MAGIC)
			return off;
	return -1;
}

int multiboot__probe(const struct blob *kernel)
{
	return mb__find(kernel) >= 0;
}

/* --- the header --------------------------------------------------------- */

static int mb__parse_header(const struct blob *k, struct mb_header *h,
			    char *err)
{
	long off = mb__find(k);
	const uint8_t *p;
	uint32_t sum;

	if (off < 0) {
		loader__error(err, k->name,
			      "no multiboot header in the first 8 KiB");
		return -1;
	}
	if ((size_t)off + MB_HEADER_LEN > k->size) {
		loader__error(
			err, k->name,
			"truncated multiboot header at offset 0x%lx (the file ends after %zu bytes)",
			off, k->size);
		return -1;
	}
	p = k->data + off;
	h->offset = off;
	h->flags = le32(p + 4);
	sum = MB_MAGIC + h->flags + le32(p + 8);
	if (sum) {
		loader__error(
			err, k->name,
			"bad multiboot header checksum at offset 0x%lx (magic + flags + checksum = 0x%08x, must be 0)",
			off, sum);
		return -1;
	}
	if (h->flags & 0xffff & ~MB_FLAGS_KNOWN_REQ) {
		loader__error(
			err, k->name,
			"the multiboot header requires features bt86 does not provide (flags 0x%08x)",
			h->flags);
		return -1;
	}
	if (!(h->flags & MB_FLAG_AOUT))
		return 0;
	if ((size_t)off + MB_AOUT_LEN > k->size) {
		loader__error(
			err, k->name,
			"truncated multiboot header at offset 0x%lx: flag 16 needs the address fields (%d bytes)",
			off, MB_AOUT_LEN);
		return -1;
	}
	h->header_addr = le32(p + 12);
	h->load_addr = le32(p + 16);
	h->load_end_addr = le32(p + 20);
	h->bss_end_addr = le32(p + 24);
	h->entry_addr = le32(p + 28);
	return 0;
}

/* --- placing bytes in guest RAM ---------------------------------------- */

/* Is [addr, addr + len) usable for the image?  Says why not in err. */
static int mb__check_range(const struct guest_ram *ram, const char *name,
			   const char *what, uint64_t addr, uint64_t len,
			   char *err)
{
	char size[32];

	if (addr + len > ram->size) {
		loader__error(
			err, name,
			"%s (0x%llx+0x%llx) does not fit in %s of guest memory (use --mem)",
			what, (unsigned long long)addr, (unsigned long long)len,
			loader__size_str(ram->size, size, sizeof(size)));
		return -1;
	}
	if (len && addr < BOOT_INFO_END && addr + len > BOOT_INFO_BASE) {
		loader__error(
			err, name,
			"%s (0x%llx+0x%llx) overlaps the boot information area at 0x%x-0x%x",
			what, (unsigned long long)addr, (unsigned long long)len,
			BOOT_INFO_BASE, BOOT_INFO_END - 1);
		return -1;
	}
	return 0;
}

static void mb__copy(struct guest_ram *ram, uint64_t addr, const uint8_t *src,
		     uint64_t filesz, uint64_t memsz)
{
	memcpy(ram->host + addr, src, filesz);
	memset(ram->host + addr + filesz, 0, memsz - filesz);
}

/* --- ELF32 ---------------------------------------------------------------- */

static int mb__check_elf_header(const struct blob *k, const Elf32_Ehdr *eh,
				char *err)
{
	if (k->size < EI_NIDENT || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		loader__error(
			err, k->name,
			"multiboot header without the address fields (flag 16), and the file is not ELF");
		return -1;
	}
	if (eh->e_ident[EI_CLASS] == ELFCLASS64) {
		loader__error(
			err, k->name,
			"64-bit ELF: bt86 guests are 32-bit (ELF32 i386)");
		return -1;
	}
	if (k->size < sizeof(*eh)) {
		loader__error(err, k->name, "truncated ELF header (%zu bytes)",
			      k->size);
		return -1;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_386) {
		loader__error(
			err, k->name,
			"not an ELF32 little-endian i386 image (class %u, data %u, machine %u)",
			eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA],
			eh->e_machine);
		return -1;
	}
	if (eh->e_type != ET_EXEC) {
		loader__error(
			err, k->name,
			"not an executable ELF (type %u, expected ET_EXEC)",
			eh->e_type);
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf32_Phdr) || !eh->e_phnum ||
	    (uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr) >
		    k->size) {
		loader__error(
			err, k->name,
			"program headers (%u at offset 0x%x, %u bytes each) lie outside the file (%zu bytes)",
			eh->e_phnum, eh->e_phoff, eh->e_phentsize, k->size);
		return -1;
	}
	return 0;
}

static int mb__check_segment(const struct guest_ram *ram, const struct blob *k,
			     int i, const Elf32_Phdr *ph, char *err)
{
	char what[32];

	if (ph->p_filesz > ph->p_memsz) {
		loader__error(
			err, k->name,
			"segment %d has more file bytes (0x%x) than memory bytes (0x%x)",
			i, ph->p_filesz, ph->p_memsz);
		return -1;
	}
	if ((uint64_t)ph->p_offset + ph->p_filesz > k->size) {
		loader__error(
			err, k->name,
			"segment %d (file offset 0x%x+0x%x) lies outside the file (%zu bytes)",
			i, ph->p_offset, ph->p_filesz, k->size);
		return -1;
	}
	snprintf(what, sizeof(what), "segment %d", i);
	return mb__check_range(ram, k->name, what, ph->p_paddr, ph->p_memsz,
			       err);
}

static int mb__load_elf(struct guest_ram *ram, const struct blob *k,
			struct mb_image *img, char *err)
{
	Elf32_Ehdr eh;
	Elf32_Phdr ph;
	bool entry_found = false;
	int i, loaded = 0;

	memset(&eh, 0, sizeof(eh));
	memcpy(&eh, k->data, k->size < sizeof(eh) ? k->size : sizeof(eh));
	if (mb__check_elf_header(k, &eh, err))
		return -1;
	/* Check every segment before copying any. */
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, k->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (mb__check_segment(ram, k, i, &ph, err))
			return -1;
		/* The entry is virtual; the segment says where it lives. */
		if (eh.e_entry >= ph.p_vaddr &&
		    (uint64_t)eh.e_entry < (uint64_t)ph.p_vaddr + ph.p_memsz &&
		    !entry_found) {
			img->entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
			entry_found = true;
		}
	}
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, k->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		mb__copy(ram, ph.p_paddr, k->data + ph.p_offset, ph.p_filesz,
			 ph.p_memsz);
		if ((uint64_t)ph.p_paddr + ph.p_memsz > img->end)
			img->end = (uint64_t)ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded) {
		loader__error(err, k->name, "no loadable segment (PT_LOAD)");
		return -1;
	}
	if (!entry_found) {
		loader__error(
			err, k->name,
			"entry point 0x%x is not inside a loadable segment",
			eh.e_entry);
		return -1;
	}
	return 0;
}

/* --- the a.out kludge ------------------------------------------------------ */

static int mb__load_aout(struct guest_ram *ram, const struct blob *k,
			 const struct mb_header *h, struct mb_image *img,
			 char *err)
{
	uint64_t load_off, load_len, load_end, mem_end;

	if (h->load_addr > h->header_addr ||
	    h->header_addr - h->load_addr > h->offset) {
		loader__error(
			err, k->name,
			"multiboot load_addr 0x%x and header_addr 0x%x do not match the header's file offset 0x%x",
			h->load_addr, h->header_addr, h->offset);
		return -1;
	}
	load_off = h->offset - (h->header_addr - h->load_addr);
	if (!h->load_end_addr) {
		load_end = h->load_addr + (k->size - load_off);
	} else if (h->load_end_addr < h->load_addr ||
		   load_off + (h->load_end_addr - h->load_addr) > k->size) {
		loader__error(
			err, k->name,
			"multiboot load_end_addr 0x%x is below load_addr 0x%x or beyond the end of the file",
			h->load_end_addr, h->load_addr);
		return -1;
	} else {
		load_end = h->load_end_addr;
	}
	load_len = load_end - h->load_addr;
	mem_end = load_end;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < load_end) {
			loader__error(
				err, k->name,
				"multiboot bss_end_addr 0x%x is below the end of the loaded image 0x%llx",
				h->bss_end_addr, (unsigned long long)load_end);
			return -1;
		}
		mem_end = h->bss_end_addr;
	}
	if (mb__check_range(ram, k->name, "the image", h->load_addr,
			    mem_end - h->load_addr, err))
		return -1;
	if (h->entry_addr < h->load_addr || h->entry_addr >= load_end) {
		loader__error(
			err, k->name,
			"entry point 0x%x is outside the loaded image 0x%x-0x%llx",
			h->entry_addr, h->load_addr,
			(unsigned long long)load_end - 1);
		return -1;
	}
	mb__copy(ram, h->load_addr, k->data + load_off, load_len,
		 mem_end - h->load_addr);
	img->entry = h->entry_addr;
	img->end = mem_end;
	return 0;
}

/* --- boot information --------------------------------------------------------- */

static void mb__mmap_entry(uint8_t *p, uint64_t base, uint64_t len,
			   uint32_t type)
{
	put32(p, 20); /* size of the rest of the entry */
	put64(p + 4, base);
	put64(p + 12, len);
	put32(p + 20, type);
}

/* The memory map: four entries of 24 bytes; returns its length. */
static uint32_t mb__write_mmap(struct guest_ram *ram)
{
	uint8_t *p = ram->host + MBI_MMAP_ADDR;

	mb__mmap_entry(p, 0, LOW_MEM_END, 1);
	mb__mmap_entry(p + 24, LOW_MEM_END, 0xa0000 - LOW_MEM_END, 2);
	mb__mmap_entry(p + 48, BIOS_AREA, HIGH_MEM - BIOS_AREA, 2);
	mb__mmap_entry(p + 72, HIGH_MEM, ram->size - HIGH_MEM, 1);
	return 4 * 24;
}

/* Copy a string into the info area's string space; 0 if it does not fit. */
static uint32_t mb__put_string(struct guest_ram *ram, uint32_t *next,
			       const char *s)
{
	size_t len = strlen(s) + 1;
	uint32_t addr = *next;

	if (addr + len > BOOT_INFO_END)
		return 0;
	memcpy(ram->host + addr, s, len);
	*next += len;
	return addr;
}

static int mb__place_initrd(struct guest_ram *ram, const struct blob *initrd,
			    const struct mb_image *img, uint32_t *next,
			    char *err)
{
	uint64_t start = img->end < HIGH_MEM ? HIGH_MEM : img->end;
	uint8_t *mod = ram->host + MBI_MODS_ADDR;
	char size[32];
	uint32_t name;

	start = (start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	if (start + initrd->size > ram->size) {
		loader__error(
			err, initrd->name,
			"%zu bytes do not fit in %s of guest memory above the kernel (which ends at 0x%llx; use --mem)",
			initrd->size,
			loader__size_str(ram->size, size, sizeof(size)),
			(unsigned long long)img->end);
		return -1;
	}
	name = mb__put_string(ram, next, initrd->name);
	if (!name) {
		loader__error(
			err, initrd->name,
			"the file name does not fit in the boot information area");
		return -1;
	}
	memcpy(ram->host + start, initrd->data, initrd->size);
	put32(mod, start);
	put32(mod + 4, start + initrd->size);
	put32(mod + 8, name);
	put32(mod + 12, 0);
	return 0;
}

static int mb__write_info(struct guest_ram *ram, const struct blob *k,
			  const struct blob *initrd, const char *append,
			  const struct mb_image *img, char *err)
{
	uint8_t *mbi = ram->host + MBI_ADDR;
	uint32_t next = MBI_STRINGS, cmdline, flags;

	memset(ram->host + BOOT_INFO_BASE, 0, BOOT_INFO_END - BOOT_INFO_BASE);
	flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
	put32(mbi + 4, LOW_MEM_END / 1024);	       /* mem_lower, KiB */
	put32(mbi + 8, (ram->size - HIGH_MEM) / 1024); /* mem_upper, KiB */
	if (!append)
		append = "";
	cmdline = mb__put_string(ram, &next, append);
	if (!cmdline) {
		loader__error(
			err, k->name,
			"the command line (%zu bytes) does not fit in the boot information area (at most %d bytes)",
			strlen(append), BOOT_INFO_END - MBI_STRINGS - 1);
		return -1;
	}
	put32(mbi + 16, cmdline);
	if (initrd) {
		if (mb__place_initrd(ram, initrd, img, &next, err))
			return -1;
		flags |= MBI_MODS;
		put32(mbi + 20, 1); /* mods_count */
		put32(mbi + 24, MBI_MODS_ADDR);
	}
	put32(mbi + 44, mb__write_mmap(ram)); /* mmap_length */
	put32(mbi + 48, MBI_MMAP_ADDR);
	memcpy(ram->host + MBI_NAME_ADDR, "bt86", 5);
	put32(mbi + 64, MBI_NAME_ADDR);
	put32(mbi, flags);
	return 0;
}

int multiboot__load(struct guest_ram *ram, const struct blob *kernel,
		    const struct blob *initrd, const char *append,
		    struct boot_cpu *cpu, char *err)
{
	struct mb_image img = { 0 };
	struct mb_header h = { 0 };
	char size[32];
	int ret;

	if (ram->size < 2 * MiB) {
		loader__error(
			err, kernel->name,
			"%s of guest memory is too little for a multiboot kernel (at least 2 MiB)",
			loader__size_str(ram->size, size, sizeof(size)));
		return -1;
	}
	if (mb__parse_header(kernel, &h, err))
		return -1;
	if (h.flags & MB_FLAG_AOUT)
		ret = mb__load_aout(ram, kernel, &h, &img, err);
	else
		ret = mb__load_elf(ram, kernel, &img, err);
	if (ret || mb__write_info(ram, kernel, initrd, append, &img, err))
		return -1;

	memset(cpu, 0, sizeof(*cpu));
	cpu->eax = MB_BOOT_MAGIC;
	cpu->ebx = MBI_ADDR;
	cpu->eip = img.entry;
	cpu->esp = BOOT_STACK_TOP;
	cpu->eflags = 0x2;
	cpu->cr0 = 0x11; /* PE | ET */
	return 0;
}
