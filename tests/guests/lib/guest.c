/*
 * guest.c - the beginning and the end of a test guest's life.
 */
#include "guest.h"

uint32_t multiboot_magic;
const struct multiboot_info *multiboot_info;

/* Called once by entry.S, on our stack, before main(). */
void guest_start(uint32_t magic, const struct multiboot_info *mbi);

void guest_start(uint32_t magic, const struct multiboot_info *mbi)
{
	multiboot_magic = magic;
	multiboot_info = mbi;
	gdt_init();
	idt_init();
	serial_init();
}

const char *multiboot_cmdline(void)
{
	if (multiboot_magic != MULTIBOOT_BOOTLOADER_MAGIC || !multiboot_info ||
	    !(multiboot_info->flags & MULTIBOOT_INFO_CMDLINE) ||
	    !multiboot_info->cmdline)
		return "";
	return (const char *)multiboot_info->cmdline;
}

void exit(int code)
{
	outl(DEBUG_EXIT_PORT, code);
	/* Without a debug-exit device the write does nothing: stop here. */
	for (;;) {
		cli();
		hlt();
	}
}
