/*
 * multiboot.h - the parts of the Multiboot Specification (version 0.6.96)
 * that the test guests use: the header the loader looks for in the first
 * 8 KiB of the image, the magic it leaves in EAX and the start of the
 * information structure it leaves at EBX.
 */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#define MULTIBOOT_HEADER_MAGIC	   0x1BADB002
#define MULTIBOOT_HEADER_MEMINFO   (1 << 1) /* ask for mem_lower/upper */
#define MULTIBOOT_HEADER_FLAGS	   MULTIBOOT_HEADER_MEMINFO
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002 /* in EAX at entry */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* multiboot_info.flags: which fields below are valid. */
#define MULTIBOOT_INFO_MEMORY  (1 << 0)
#define MULTIBOOT_INFO_CMDLINE (1 << 2)

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB below 1 MiB */
	uint32_t mem_upper; /* KiB from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline; /* physical address of a C string */
	uint32_t mods_count;
	uint32_t mods_addr;
	/* ... more fields this runtime does not use. */
};

/* What the loader passed, saved by the entry code before main(). */
extern uint32_t multiboot_magic;
extern const struct multiboot_info *multiboot_info;

/* The kernel command line, or "" when the loader passed none. */
const char *multiboot_cmdline(void);
#endif

#endif /* GUEST_MULTIBOOT_H */
