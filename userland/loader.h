/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel loaders.  loader__load() reads the kernel (and initrd) file, probes
 * which boot protocol the image speaks, and lets that loader place it in
 * guest RAM and describe the boot CPU state.  Each loader works on images in
 * memory so that the unit tests can feed it hand-made ones.
 *
 * Guest-physical layout below 1 MiB (the rest of RAM is the kernel's):
 *
 *   0x00000 - 0x07fff   free (the boot stack grows down from 0x8000)
 *   0x08000 - 0x0ffff   boot information: multiboot info, memory map,
 *                       module list, boot loader name, command line
 *   0x10000 - 0x9fbff   free
 *   0x9fc00 - 0xfffff   reserved (EBDA, VGA, BIOS): reported, not enforced
 */
#ifndef BT86_LOADER_H
#define BT86_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define BOOT_INFO_BASE 0x8000
#define BOOT_INFO_END  0x10000
#define BOOT_STACK_TOP BOOT_INFO_BASE

#define LOADER_ERR_LEN 512

/* Guest RAM, guest-physical 0 .. size, as the launcher maps it. */
struct guest_ram {
	uint8_t *host;
	uint64_t size;
};

/* A file read into memory. */
struct blob {
	const char *name;
	const uint8_t *data;
	size_t size;
};

struct boot_args {
	const char *kernel;
	const char *initrd; /* may be NULL */
	const char *append; /* may be NULL */
};

/*
 * Load args->kernel into ram and fill *cpu.  On failure returns -1 with one
 * line in err, which starts with the file's name ("kernel.elf: ...").
 */
int loader__load(struct guest_ram *ram, const struct boot_args *args,
		 struct boot_cpu *cpu, char *err);

/* loader-multiboot.c */
int multiboot__probe(const struct blob *kernel);
int multiboot__load(struct guest_ram *ram, const struct blob *kernel,
		    const struct blob *initrd, const char *append,
		    struct boot_cpu *cpu, char *err);

/* loader-linux.c */
int linux__probe(const struct blob *kernel);
int linux__load(struct guest_ram *ram, const struct blob *kernel,
		const struct blob *initrd, const char *append,
		struct boot_cpu *cpu, char *err);

/* loader.c: helpers for the loaders */
void loader__error(char *err, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *loader__size_str(uint64_t bytes, char *buf, size_t len);
int loader__read_file(const char *path, struct blob *blob, char *err);
void loader__free(struct blob *blob);

#endif
