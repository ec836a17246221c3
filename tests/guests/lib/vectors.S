/*
 * vectors.S - one entry stub per interrupt vector and the common path.
 *
 * The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30 only
 * (SDM Vol. 3A, Table 6-1); the other stubs push a 0 in its place so that
 * every frame has the same shape (struct trap_frame in trap.h).  Stubs are
 * VECTOR_STUB_SIZE bytes apart: vector_stubs + v * VECTOR_STUB_SIZE is the
 * entry of vector v, for all 256 vectors.
 */
#define VECTOR_STUB_SIZE	16
#define KDATA			0x10	/* SEL_KDATA in desc.h */

	.text
	.balign VECTOR_STUB_SIZE
	.globl vector_stubs
vector_stubs:
	.set vec, 0
	.rept 256
	.balign VECTOR_STUB_SIZE
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || \
	    (vec == 21) || (vec == 29) || (vec == 30)
	pushl	$vec			/* the CPU pushed the error code */
	.else
	pushl	$0			/* no error code: a 0 stands in */
	pushl	$vec
	.endif
	jmp	trap_common
	.set vec, vec + 1
	.endr

/* The stack now holds vector, error code, EIP, CS, EFLAGS (, ESP, SS). */
trap_common:
	pushl	%ds
	pushl	%es
	pushl	%fs
	pushl	%gs
	pushal
	movw	$KDATA, %ax		/* a handler may run with a bad DS */
	movw	%ax, %ds
	movw	%ax, %es
	cld				/* the C ABI wants DF = 0 */
	pushl	%esp			/* struct trap_frame * */
	call	trap_dispatch
	addl	$4, %esp
	popal
	popl	%gs
	popl	%fs
	popl	%es
	popl	%ds
	addl	$8, %esp		/* vector and error code */
	iret

	.section .note.GNU-stack, "", @progbits
