/*
 * hello - the smallest test guest: a greeting, proof that the loader
 * followed the multiboot protocol, and a clean exit.
 */
#include "guest.h"

int main(void)
{
	ktap_plan(2);
	printf("Hello from a bt86 test guest\n");
	ok_eq(multiboot_magic, MULTIBOOT_BOOTLOADER_MAGIC,
	      "multiboot magic in EAX at entry");
	ok(read_cs() == SEL_KCODE && read_ds() == SEL_KDATA,
	   "running on the runtime's GDT");
	ktap_finish();
}
