/*
 * entry.S - the multiboot header and the first instructions of a test guest.
 *
 * The loader jumps to _start in 32-bit protected mode with paging off,
 * interrupts off, EAX = 0x2BADB002, EBX = the multiboot information, flat
 * CS/DS/ES/FS/GS/SS of its own, and no valid stack, GDTR or IDTR (multiboot
 * spec 3.2).  We clear .bss (the stack lives there), take our stack, clear
 * EFLAGS, let guest_start() install our GDT, IDT and serial port, run
 * main() and hand its return value to exit().
 */
#include "multiboot.h"

#define STACK_SIZE	16384

	.section .multiboot, "a"
	.balign 4
multiboot_header:
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_HEADER_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	.text
	.globl _start
_start:
	cli
	cld
	movl	%eax, %esi		/* keep the loader's magic ... */
	movl	%ebx, %ebp		/* ... and info pointer */

	/* The loader need not zero .bss for us; do it before using it. */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	movl	$stack_top, %esp
	pushl	$0			/* EFLAGS = 0 (bit 1 reads as 1 anyway) */
	popfl

	pushl	%ebp
	pushl	%esi
	call	guest_start		/* guest.c */
	addl	$8, %esp

	call	main
	pushl	%eax
	call	exit			/* does not return */
1:	cli
	hlt
	jmp	1b

	.bss
	.balign 16
stack_bottom:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
