/*
 * guest.h - everything a test guest includes.
 *
 * A guest is a C file with an int main(void).  Before main() runs, the
 * runtime (entry.S, guest.c) has cleared .bss, set a 16 KiB stack, loaded
 * its GDT (desc.h) and an IDT whose vectors 0-47 report unexpected traps
 * (trap.h), and set up COM1 for printf (printf.h).  Interrupts are off and
 * the PIC and PIT are untouched until the guest calls pic_init() and
 * pit_start().  main()'s return value goes to exit().
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "desc.h"
#include "ktap.h"
#include "libc.h"
#include "multiboot.h"
#include "pic.h"
#include "pgtable.h"
#include "pit.h"
#include "printf.h"
#include "serial.h"
#include "testdev.h"
#include "trap.h"
#include "user.h"
#include "x86.h"

int main(void);

/*
 * End the VM through the debug-exit port: status (code << 1) | 1, so
 * exit(0) gives 1 (all passed) and exit(1) gives 3 (a test failed).
 */
void exit(int code) __attribute__((noreturn));

#endif /* GUEST_GUEST_H */
