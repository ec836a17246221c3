// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): the place
 * where a bzImage will be loaded and entered at its 32-bit entry point with
 * a boot_params page.  For now it only recognizes the image.
 */
#include <string.h>

#include "loader.h"

#define SETUP_HEADER_MAGIC_OFF 0x202 /* "HdrS" */

int linux__probe(const struct blob *kernel)
{
	return kernel->size >= SETUP_HEADER_MAGIC_OFF + 4 &&
	       !memcmp(kernel->data + SETUP_HEADER_MAGIC_OFF, "HdrS", 4);
}

int linux__load(struct guest_ram *ram, const struct blob *kernel,
		const struct blob *initrd, const char *append,
		struct boot_cpu *cpu, char *err)
{
	loader__error(err, kernel->name,
		      "Linux bzImage boot is not supported yet");
	return -1;
}
