/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building multiboot ELF images in memory for the loader tests: an ELF32
 * header, program headers, a multiboot header right after them, and the
 * segments' bytes at 4 KiB-aligned file offsets.
 */
#ifndef BT86_TEST_MBIMAGE_H
#define BT86_TEST_MBIMAGE_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

#define MBI_MAGIC 0x1BADB002

struct mbseg {
	uint32_t paddr, vaddr, filesz, memsz;
	const void *data;
};

/* Offset of the multiboot header in images built here. */
static inline size_t mbimage__header_offset(int nsegs)
{
	return (sizeof(Elf32_Ehdr) + nsegs * sizeof(Elf32_Phdr) + 3) & ~3ul;
}

static inline void mbimage__header(uint8_t *p, uint32_t flags)
{
	uint32_t h[3] = { MBI_MAGIC, flags, -(MBI_MAGIC + flags) };

	memcpy(p, h, sizeof(h));
}

/* Returns the image size; buf must hold it (see the tests' buffers). */
static inline size_t mbimage__elf(uint8_t *buf, size_t cap, uint32_t entry,
				  const struct mbseg *segs, int n)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)buf;
	size_t off = 0x1000, end = 0x1000;
	int i;

	memset(buf, 0, cap);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf32_Phdr);
	eh->e_phnum = n;
	for (i = 0; i < n; i++) {
		Elf32_Phdr *ph = (Elf32_Phdr *)(buf + sizeof(*eh)) + i;

		ph->p_type = PT_LOAD;
		ph->p_offset = off;
		ph->p_vaddr = segs[i].vaddr;
		ph->p_paddr = segs[i].paddr;
		ph->p_filesz = segs[i].filesz;
		ph->p_memsz = segs[i].memsz;
		ph->p_flags = PF_R | PF_W | PF_X;
		ph->p_align = 0x1000;
		if (segs[i].data && off + segs[i].filesz <= cap)
			memcpy(buf + off, segs[i].data, segs[i].filesz);
		end = off + segs[i].filesz;
		off = (end + 0xfff) & ~0xffful;
	}
	mbimage__header(buf + mbimage__header_offset(n), 0x00000003);
	return end;
}

#endif
