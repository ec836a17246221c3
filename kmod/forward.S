/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host events taken in guest context, delivered again in the host's world:
 * stub v executes "int $v" and returns.  From CPL 0 an INT n passes the
 * gate's DPL check and makes a kernel-mode frame, so the host's handler
 * runs as for a real interrupt (and acknowledges the local APIC).
 * "int $2" enters the NMI handler on its IST stack; its IRET ends the
 * hardware NMI blocking left over from the monitor, which never IRETs
 * into the guest after an NMI (docs/world-switch.md).
 */
#include <linux/linkage.h>

	.text
	.balign 16
SYM_CODE_START(bt86_int_stubs)
.altmacro
.macro int_stub vec
	.balign 16
	int	$\vec
	RET
.endm
	vec = 0
	.rept 256
	int_stub %vec
	vec = vec + 1
	.endr
.noaltmacro
SYM_CODE_END(bt86_int_stubs)
