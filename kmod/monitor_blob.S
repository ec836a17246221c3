/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The monitor image (monitor/, built by monitor/monitor.mk before kbuild
 * runs), embedded as read-only data between two labels.  Kbuild puts the
 * image's directory on this file's include path and makes the object depend
 * on it.  kmod/monitor_image.c validates, copies and relocates it.
 */
	.section .rodata.bt86_monitor, "a"
	.balign 4096
	.globl bt86_monitor_blob
	.type bt86_monitor_blob, @object
bt86_monitor_blob:
	.incbin "monitor.bin"
	.globl bt86_monitor_blob_end
bt86_monitor_blob_end:
	.size bt86_monitor_blob, bt86_monitor_blob_end - bt86_monitor_blob
