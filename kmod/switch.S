/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch: the crosspage code.
 *
 * These two pages of bt86.ko's text are mapped at the same virtual address
 * in the host's address space and in every monitor address space, so the
 * code here keeps running while CR3 changes under it.  Its data (saved host
 * state, the monitor GDT, IDT, TSS and stacks) is the per-vCPU crosspage
 * data block, likewise mapped at one address in both (kmod/xdata.h).
 *
 * Page 0:  bt86_world_enter (host -> guest), the common trap entry, the
 *          return path to the guest and the path back to the host.
 * Page 1:  256 trap stubs, one per vector, 16 bytes apart: the monitor IDT
 *          points every gate here.
 *
 * Interrupts are off from bt86_world_enter until the host runs again, except
 * in guest code (RFLAGS.IF=1 there, so host interrupts reach us at once).
 * NMIs and machine checks can arrive at any instruction: the monitor IDT,
 * GDT, TSS and IST stacks are loaded before CR3 changes and unloaded after
 * it changes back, and they are valid in both address spaces, so an NMI is
 * always delivered somewhere sane.  From CPL 0 it only sets a flag and
 * returns; the C side forwards it to the host with "int $2" (docs/world-switch.md).
 */
#include <linux/linkage.h>
#include <asm/msr-index.h>
#include <asm/segment.h>
#include "xdata.h"

/*
 * XDATA_FROM_IDTR reg: the crosspage data block, from the loaded IDT (the
 * monitor IDT lives in it).  Traps from CPL 0 must not derive it from RSP:
 * between the LIDT and the LTR of a switch, an NMI is delivered on the
 * *host's* NMI IST stack, since the host's TSS is still the one loaded.
 */
.macro XDATA_FROM_IDTR reg
	sub	$16, %rsp
	sidt	(%rsp)
	mov	2(%rsp), \reg
	add	$16, %rsp
	sub	$XDATA_IDT, \reg
.endm

	.section .text.bt86_xpage, "ax"
	.code64
	.balign 4096
SYM_INNER_LABEL(bt86_xpage_start, SYM_L_GLOBAL)

/*
 * void bt86_world_enter(struct bt86_xdata *x): run the guest until it traps
 * to the host.  Called with interrupts off and the MSR side of the switch
 * done (world.c); returns on the host's stack, in the host's world.
 */
SYM_FUNC_START(bt86_world_enter)
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	pushfq
	mov	%rsp, XD_HOST_RSP(%rdi)

	/* What the host owns (SDM 3A §2.4, §2.5): control and table registers. */
	mov	%cr0, %rax
	mov	%rax, XD_HOST_CR0(%rdi)
	mov	%cr3, %rax
	mov	%rax, XD_HOST_CR3(%rdi)
	mov	%cr4, %rax
	mov	%rax, XD_HOST_CR4(%rdi)
	sgdt	XD_HOST_GDT(%rdi)
	sidt	XD_HOST_IDT(%rdi)
	str	XD_HOST_TR(%rdi)
	sldt	XD_HOST_LDT(%rdi)
	mov	%ds, XD_HOST_DS(%rdi)
	mov	%es, XD_HOST_ES(%rdi)
	mov	%ss, XD_HOST_SS(%rdi)
	mov	%fs, XD_HOST_FS(%rdi)
	mov	%gs, XD_HOST_GS(%rdi)

	/*
	 * The cross GDT holds the host's descriptors and the monitor's: an
	 * NMI delivered by either IDT from here on finds its CS.  Then the
	 * monitor IDT and TSS, still in the host's address space: every NMI
	 * from here lands in our IDT, on our IST stacks.
	 */
	lgdt	XD_CROSS_GDTR(%rdi)
	lidt	XD_MON_IDTR(%rdi)
	mov	$MON_TSS_SEL, %ax
	ltr	%ax
	/*
	 * No LDT while the guest runs: the host process's LDT (modify_ldt)
	 * could hold a 64-bit code segment a guest selector with TI=1 would
	 * reach.  The monitor loads its shadow of the guest's LDT before
	 * guest code runs (monitor/desc_shadow.c).
	 */
	xor	%eax, %eax
	lldt	%ax
	lea	XDATA_STACK_TOP(%rdi), %rsp
	xor	%eax, %eax
	mov	%eax, %ss		/* a null SS is fine at CPL 0 in 64-bit mode */
	pushq	$MON_CS			/* CS: the monitor's selector */
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:
	/* CR0.TS, CR4 without SMEP/SMAP/PKE/CET, then the monitor's CR3. */
	mov	XD_MON_CR0(%rdi), %rax
	mov	%rax, %cr0
	mov	XD_MON_CR4(%rdi), %rax
	mov	%rax, %cr4
	mov	XD_MON_CR3(%rdi), %rax
	mov	%rax, %cr3
	lgdt	XD_GUEST_GDTR(%rdi)

	/* The monitor loads the guest state, or refuses it. */
	movl	$XMON_ENTER, XD_MON_CALL(%rdi)
	call	*XD_MON_ENTRY(%rdi)
	mov	%rsp, %rdi
	and	$~(XDATA_SIZE - 1), %rdi
	test	%eax, %eax
	jnz	.Lto_host
	jmp	.Lresume_guest
SYM_FUNC_END(bt86_world_enter)

/*
 * Common trap entry.  The stub pushed the vector (and 0 where the CPU
 * pushes no error code), so the stack holds, from the top: vector, error,
 * RIP, CS, RFLAGS, RSP, SS.
 */
SYM_CODE_START_LOCAL(bt86_trap_common)
	testb	$3, 24(%rsp)		/* the interrupted CS's RPL */
	jz	.Lfrom_cpl0

	/* From the guest (CPL 1 or 3): save its registers and frame. */
	push	%rcx
	mov	%rsp, %rcx
	and	$~(XDATA_SIZE - 1), %rcx
	mov	%rax, XD_GPR + GPR_RAX(%rcx)
	mov	%rdx, XD_GPR + GPR_RDX(%rcx)
	mov	%rbx, XD_GPR + GPR_RBX(%rcx)
	mov	%rbp, XD_GPR + GPR_RBP(%rcx)
	mov	%rsi, XD_GPR + GPR_RSI(%rcx)
	mov	%rdi, XD_GPR + GPR_RDI(%rcx)
	mov	%r8, XD_GPR + GPR_R8(%rcx)
	mov	%r9, XD_GPR + GPR_R9(%rcx)
	mov	%r10, XD_GPR + GPR_R10(%rcx)
	mov	%r11, XD_GPR + GPR_R11(%rcx)
	mov	%r12, XD_GPR + GPR_R12(%rcx)
	mov	%r13, XD_GPR + GPR_R13(%rcx)
	mov	%r14, XD_GPR + GPR_R14(%rcx)
	mov	%r15, XD_GPR + GPR_R15(%rcx)
	mov	%cr2, %rax		/* the guest's page-fault address */
	mov	%rax, XD_GUEST_CR2(%rcx)
	pop	%rax
	mov	%rax, XD_GPR + GPR_RCX(%rcx)
	popq	XD_VECTOR(%rcx)
	popq	XD_ERROR(%rcx)
	popq	XD_RIP(%rcx)
	popq	XD_CS(%rcx)
	popq	XD_RFLAGS(%rcx)
	popq	XD_RSP(%rcx)
	popq	XD_SS(%rcx)
	mov	%ds, XD_GUEST_DS(%rcx)
	mov	%es, XD_GUEST_ES(%rcx)
	mov	%fs, XD_GUEST_FS(%rcx)
	mov	%gs, XD_GUEST_GS(%rcx)
	mov	%rcx, %rdi
	/*
	 * An interrupt gate clears IF, TF, NT and RF but not DF (SDM 3A
	 * §6.12.1.3): guest code may have left it set, and C wants it clear.
	 */
	cld

	/* The monitor decides: 0 resumes the guest, anything else exits. */
	movl	$XMON_TRAP, XD_MON_CALL(%rdi)
	call	*XD_MON_ENTRY(%rdi)
	mov	%rsp, %rdi
	and	$~(XDATA_SIZE - 1), %rdi
	test	%eax, %eax
	jnz	.Lto_host

.Lresume_guest:				/* %rdi = x, on a monitor stack */
	mov	XD_GUEST_DS(%rdi), %ds
	mov	XD_GUEST_ES(%rdi), %es
	mov	XD_GUEST_FS(%rdi), %fs
	mov	XD_GUEST_GS(%rdi), %gs
	pushq	XD_SS(%rdi)
	pushq	XD_RSP(%rdi)
	pushq	XD_RFLAGS(%rdi)
	pushq	XD_CS(%rdi)
	pushq	XD_RIP(%rdi)
	mov	XD_GPR + GPR_RAX(%rdi), %rax
	mov	XD_GPR + GPR_RCX(%rdi), %rcx
	mov	XD_GPR + GPR_RDX(%rdi), %rdx
	mov	XD_GPR + GPR_RBX(%rdi), %rbx
	mov	XD_GPR + GPR_RBP(%rdi), %rbp
	mov	XD_GPR + GPR_RSI(%rdi), %rsi
	mov	XD_GPR + GPR_R8(%rdi), %r8
	mov	XD_GPR + GPR_R9(%rdi), %r9
	mov	XD_GPR + GPR_R10(%rdi), %r10
	mov	XD_GPR + GPR_R11(%rdi), %r11
	mov	XD_GPR + GPR_R12(%rdi), %r12
	mov	XD_GPR + GPR_R13(%rdi), %r13
	mov	XD_GPR + GPR_R14(%rdi), %r14
	mov	XD_GPR + GPR_R15(%rdi), %r15
	mov	XD_GPR + GPR_RDI(%rdi), %rdi
	iretq

.Lfrom_cpl0:
	/*
	 * CPL 0 here means the switch code or the monitor (both run with
	 * IF=0).  An NMI or #MC is the host's: note it and go back; the C
	 * side forwards it once the host's world is restored.  Returning
	 * with IRET unblocks NMIs, which is right: we are not in the guest.
	 */
	cmpq	$2, (%rsp)
	je	.Lhost_event
	cmpq	$18, (%rsp)
	je	.Lhost_event

	/*
	 * Any other exception at CPL 0 is a bug: record it apart from the
	 * guest's trap frame (which the host may still have to act on: an
	 * interrupt to forward, an NMI to unblock) and go home.
	 */
	XDATA_FROM_IDTR %rcx
	popq	XD_FAULT + 0x00(%rcx)	/* vector */
	popq	XD_FAULT + 0x08(%rcx)	/* error code */
	popq	XD_FAULT + 0x10(%rcx)	/* RIP */
	popq	XD_FAULT + 0x18(%rcx)	/* CS */
	popq	XD_FAULT + 0x20(%rcx)	/* RFLAGS */
	popq	XD_FAULT + 0x28(%rcx)	/* RSP */
	popq	XD_FAULT + 0x30(%rcx)	/* SS */
	mov	%cr2, %rax
	mov	%rax, XD_FAULT + 0x38(%rcx)
	movl	$XEXIT_MON_FAULT, XD_EXIT(%rcx)
	mov	%rcx, %rdi
	lea	XDATA_STACK_TOP(%rdi), %rsp
	jmp	.Lto_host

.Lhost_event:
	push	%rcx
	XDATA_FROM_IDTR %rcx
	cmpq	$2, 8(%rsp)
	jne	1f
	movl	$1, XD_NMI_PENDING(%rcx)
	jmp	2f
1:	movl	$1, XD_MCE_PENDING(%rcx)
2:	pop	%rcx
	add	$16, %rsp		/* vector and error code */
	iretq

.Lto_host:				/* %rdi = x; IF=0; CS = MON_CS */
	/*
	 * Back to the cross GDT (the monitor's CS is in it, and so are the
	 * host's selectors), then to the host's kernel CS.
	 */
	lgdt	XD_CROSS_GDTR(%rdi)
	pushq	$__KERNEL_CS
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:
	/* The host's address space; these pages stay mapped. */
	mov	XD_HOST_CR3(%rdi), %rax
	mov	%rax, %cr3
	mov	XD_HOST_CR4(%rdi), %rax
	mov	%rax, %cr4
	mov	XD_HOST_CR0(%rdi), %rax
	mov	%rax, %cr0

	/* The host's selectors are valid in the cross GDT's copy. */
	mov	XD_HOST_SS(%rdi), %ss
	mov	XD_HOST_DS(%rdi), %ds
	mov	XD_HOST_ES(%rdi), %es
	mov	XD_HOST_FS(%rdi), %fs
	mov	XD_HOST_GS(%rdi), %gs

	/* Loading FS and GS clobbered their bases; GS is the per-CPU base. */
	mov	%rdi, %rsi
	mov	$MSR_FS_BASE, %ecx
	mov	XD_HOST_FS_BASE(%rsi), %eax
	mov	XD_HOST_FS_BASE + 4(%rsi), %edx
	wrmsr
	mov	$MSR_GS_BASE, %ecx
	mov	XD_HOST_GS_BASE(%rsi), %eax
	mov	XD_HOST_GS_BASE + 4(%rsi), %edx
	wrmsr

	/*
	 * The host's TSS, through the cross GDT's copy of its descriptor
	 * (marked available there: LTR wants that and sets busy in our copy,
	 * never in the host's read-only GDT; SDM 3A §7.2.2).  Then the host's
	 * IDT: its gates' CS (__KERNEL_CS) is in the cross GDT.
	 */
	ltr	XD_HOST_TR(%rsi)
	lidt	XD_HOST_IDT(%rsi)
	lgdt	XD_HOST_GDT(%rsi)
	lldt	XD_HOST_LDT(%rsi)

	mov	XD_HOST_RSP(%rsi), %rsp
	popfq
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	RET
SYM_CODE_END(bt86_trap_common)

/* Page 1: the trap stubs.  Gate v of the monitor IDT points at stub v. */
	.balign 4096
SYM_INNER_LABEL(bt86_trap_stubs, SYM_L_GLOBAL)
.macro trap_stub vec
	.balign 16
	.if \vec >= 32
	pushq	$0
	.elseif !((ERRCODE_VECTORS >> \vec) & 1)
	pushq	$0
	.endif
	pushq	$\vec
	jmp	bt86_trap_common
.endm
.altmacro
	vec = 0
	.rept 256
	trap_stub %vec
	vec = vec + 1
	.endr
.noaltmacro
	.balign 4096
SYM_INNER_LABEL(bt86_xpage_end, SYM_L_GLOBAL)
