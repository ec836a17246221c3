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
	/*
	 * The selectors' GDT indices, not their RPL: under --accel tae guest
	 * ring 0 runs at CPL 1 and MOV from CS shows it (one of the
	 * sensitive instructions the sensitive guest lists one by one).
	 */
	ok((read_cs() & ~3) == SEL_KCODE && (read_ds() & ~3) == SEL_KDATA,
	   "running on the runtime's GDT");
	ktap_finish();
}
