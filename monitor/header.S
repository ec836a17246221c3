/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor image's header: the first bytes of monitor.bin, read by the
 * module's loader (kmod/monitor_image.c, struct bt86_monitor_header in
 * kmod/monitor.h, which must match this layout field by field).
 *
 * Every field but the magic and the version is an offset from the start of
 * the image.  "sym - monitor_header" assembles to a PC-relative relocation
 * that the link resolves, so the header needs no load-time relocation: the
 * loader reads it from the embedded, unrelocated blob.  The symbols other
 * than monitor_entry come from monitor.lds.
 */
#define BT86_MONITOR_VERSION 1

	.section .header, "a"
	.globl monitor_header
	.balign 8
monitor_header:
	.ascii "BT86MON\0"			/* magic */
	.long BT86_MONITOR_VERSION		/* version */
	.long monitor_header_end - monitor_header	/* header size */
	.quad monitor_entry - monitor_header	/* entry: monitor_entry() */
	.quad __text_end - monitor_header	/* [0, text_end): header, text: RX */
	.quad __rodata_end - monitor_header	/* [text_end, rodata_end): R NX */
	.quad __data_end - monitor_header	/* file size; data, bss: RW NX */
	.quad __image_end - monitor_header	/* memory size, page aligned */
	.quad __rela_start - monitor_header	/* Elf64_Rela[]: RELATIVE only */
	.quad __rela_end - monitor_header
	.quad monitor_reloc_probe - monitor_header	/* holds the base */
monitor_header_end:

/*
 * The loader checks after relocation that this quad holds the base it
 * relocated to: proof that the link produced relocations and that they were
 * applied.
 */
	.section .data.reloc_probe, "aw"
	.balign 8
	.globl monitor_reloc_probe
monitor_reloc_probe:
	.quad __image_start

	.section .note.GNU-stack, "", @progbits
