// SPDX-License-Identifier: GPL-2.0
/*
 * The binary translator's output on the real CPU (docs/testing.md).
 *
 * A 64-bit process installs 32-bit segments in its LDT (modify_ldt(2)) and
 * runs small guest snippets in compatibility mode at CPL 3, twice: natively
 * from a guest code segment with a base and a limit, and translated by bt/
 * from a translation cache (TC) below 4 GiB, %gs on a window page laid out
 * as BT_VP_*.  The processor enforces every segment limit in both runs.
 *
 * The translated code's call outs ("int $0x1f") take #GP at CPL 3, which
 * arrives here as SIGSEGV; the handler plays the monitor's part
 * (monitor/bt_run.c): an exit stub's target is translated and chained, an
 * indirect branch's miss fills the fast table, and the guest's HLT (a
 * call out) ends the run.  In the native run HLT is a #GP too, and CLI/STI
 * (#GP at IOPL 0) are emulated on a virtual IF.  Both runs must end with
 * the same registers, arithmetic flags, EIP and memory; a fault in
 * translated code must stop at a TC address whose map entry names the
 * guest instruction that faults natively, with the same state.
 *
 * Checked translation (bt/check.c) runs the same way with the segments'
 * real limits in BT_VP_LIMIT, as the monitor fills it with the limits it
 * truncated (monitor/truncate.c): where the CPU raises #GP or #SS for a
 * limit, the check must call out (BT_MAP_LIMIT) at that instruction, with
 * the same registers, and nowhere else; segments with "truncated" limits
 * (DS, a page-granular DS, SS) probe the edges.
 */
#include <asm/ldt.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "bt.h"
#include "decode.h"

/* --- the low region: everything 32-bit code sees, below 4 GiB ----------- */

#define OFF_STUB   0x0000 /* the 32-bit entry stub */
#define OFF_CTX	   0x1000 /* struct ctx */
#define OFF_CODE   0x4000 /* guest CS base */
#define CODE_SIZE  0x1000
#define OFF_DATA   0x6000 /* guest DS base */
#define DATA_SIZE  0x4000
#define OFF_GUARD  0xb000 /* PROT_NONE: stack faults */
#define OFF_STACK  0xc000
#define STACK_SIZE 0x2000
#define OFF_WINDOW 0x10000 /* the per-vCPU page (BT_VP_SIZE) */
#define OFF_TC	   0x20000
#define TC_SIZE	   0x40000
#define LOW_SIZE   (OFF_TC + TC_SIZE)

/* The readable bytes after DS's limit, so a load there faults only for
 * the limit. */
_Static_assert(OFF_DATA + DATA_SIZE < OFF_GUARD, "data limit below guard");
_Static_assert(OFF_WINDOW + BT_VP_SIZE <= OFF_TC, "per-vCPU page below TC");

/* LDT slots; selectors have TI = 1 and RPL 3. */
enum {
	LDT_TC_CS,
	LDT_GUEST_CS,
	LDT_DATA,
	LDT_SMALL,
	LDT_WINDOW,
	LDT_GS,
	LDT_TRUNC,    /* DS base, limit TRUNC_LIM: as if cut below a window */
	LDT_TRUNC_G,  /* DS base, page granular, TRUNC_G_PAGES pages */
	LDT_TRUNC_SS, /* base 0, page granular, ends inside the stack */
	LDT_NP,	      /* data, not present */
	LDT_EMPTY,    /* never set: a load of it faults */
	LDT_COUNT
};
#define SEL(slot)     ((slot) << 3 | 7)
#define TC_SEL	      SEL(LDT_TC_CS)
#define GUEST_SEL     SEL(LDT_GUEST_CS)
#define DATA_SEL      SEL(LDT_DATA)
#define SMALL_SEL     SEL(LDT_SMALL) /* DS base + 0x100, limit 0xff */
#define WINDOW_SEL    SEL(LDT_WINDOW)
#define GS_SEL	      SEL(LDT_GS) /* the guest's GS: DS base + 0x800, limit 0x3ff */
#define SMALL_OFF     0x100
#define SMALL_LIM     0xff
#define GS_OFF	      0x800
#define GS_LIM	      0x3ff
#define TRUNC_SEL     SEL(LDT_TRUNC)
#define TRUNC_LIM     0x27ff
#define TRUNC_G_SEL   SEL(LDT_TRUNC_G)
#define TRUNC_G_PAGES 3 /* byte limit 0x2fff */
#define TRUNC_SS_SEL  SEL(LDT_TRUNC_SS)
/* The truncated stack ends at this offset in the low region (exclusive). */
#define TRUNC_SS_END (OFF_STACK + 0x1000)
#define NP_SEL	     SEL(LDT_NP)
#define EMPTY_SEL    SEL(LDT_EMPTY)
#define RPL1(sel)    (((sel) & ~3) | 1)

/* What the stub loads (offsets used by the stub's code below). */
struct ctx {
	uint32_t esp;				    /* 0 */
	uint32_t ss;				    /* 4 */
	uint32_t pad;				    /* 8 */
	uint32_t eflags;			    /* 12 */
	uint32_t ds, es, gs;			    /* 16, 20, 24 */
	uint32_t eax, ecx, edx, ebx, ebp, esi, edi; /* 28 ... 52 */
	uint32_t target_eip, target_cs;		    /* 56, 60: m16:32 */
	uint32_t scratch[8];			    /* 64 ... 96: stub stack */
};
_Static_assert(offsetof(struct ctx, eflags) == 12, "stub layout");
_Static_assert(offsetof(struct ctx, edi) == 52, "stub layout");
_Static_assert(offsetof(struct ctx, target_eip) == 56, "stub layout");
_Static_assert(sizeof(struct ctx) == 96, "stub layout");

/*
 * The entry, copied into the low region and run in the flat 32-bit code
 * segment with %edi = the ctx: flags from a scratch stack in the ctx (the
 * guest's stack is not touched), the segments, the registers, then a far
 * jump through the ctx, whose address is patched into the last
 * instruction (36 ff 2d disp32: ljmp *%ss:disp32).
 */
extern const unsigned char stub32_start[], stub32_jmp[],
	stub32_end[] __attribute__((visibility("hidden")));
asm(".pushsection .rodata.bt_silicon, \"a\"\n"
    ".code32\n"
    "stub32_start:\n"
    "	lea 96(%edi), %esp\n"
    "	pushl %ss:12(%edi)\n"
    "	popfl\n"
    "	mov %ss:16(%edi), %ds\n"
    "	mov %ss:20(%edi), %es\n"
    "	mov %ss:24(%edi), %gs\n"
    "	mov %ss:4(%edi), %ss\n"
    "	mov %ss:0(%edi), %esp\n"
    "	mov %ss:28(%edi), %eax\n"
    "	mov %ss:32(%edi), %ecx\n"
    "	mov %ss:36(%edi), %edx\n"
    "	mov %ss:40(%edi), %ebx\n"
    "	mov %ss:44(%edi), %ebp\n"
    "	mov %ss:48(%edi), %esi\n"
    "	mov %ss:52(%edi), %edi\n"
    "stub32_jmp:\n"
    "	ljmpl *%ss:0x12345678\n"
    "stub32_end:\n"
    ".code64\n"
    ".popsection");

/* From 64-bit code: lretq to the stub (rdi = ctx, rsi = stub, rdx = CS). */
void enter32(uint64_t ctx, uint64_t stub, uint64_t cs)
	__attribute__((noreturn, visibility("hidden")));
asm(".pushsection .text\n"
    "enter32:\n"
    "	push %rdx\n"
    "	push %rsi\n"
    "	lretq\n"
    ".popsection");

/* --- the guest snippets ---------------------------------------------------
 * 32-bit code assembled into .rodata and copied to guest EIP 0 (st.eip) of
 * the code segment: a label is at (label - name_start) from it.  Each ends
 * with HLT (a call out in the TC, #GP natively) or faults before it.
 */
#define GUEST(name, code)                                             \
	extern const unsigned char name##_start[],                    \
		name##_end[] __attribute__((visibility("hidden")));   \
	asm(".pushsection .rodata.bt_silicon, \"a\"\n.code32\n" #name \
	    "_start:\n" code "\n" #name "_end:\n.code64\n.popsection")

/* Arithmetic and flags, every flag image pushed with PUSHFD. */
GUEST(alu, "add $0x7fffffff, %eax\n"
	   "pushfl\n"
	   "adc %ebx, %ecx\n"
	   "pushfl\n"
	   "sbb %edx, %esi\n"
	   "pushfl\n"
	   "imul %ecx, %eax\n"
	   "mov %eax, %edi\n"
	   "mul %ebx\n"
	   "pushfl\n"
	   "or $1, %ecx\n"
	   "xor %edx, %edx\n"
	   "div %ecx\n"
	   "shl $3, %eax\n"
	   "rcl $5, %edx\n"
	   "ror %cl, %ebx\n"
	   "shld $7, %edx, %eax\n"
	   "sar %cl, %esi\n"
	   "pushfl\n"
	   "bsf %eax, %ebp\n"
	   "bswap %esi\n"
	   "setc %bl\n"
	   "setnz %bh\n"
	   "cmovs %eax, %edi\n"
	   "lahf\n"
	   "xadd %eax, %edx\n"
	   "neg %edi\n"
	   "not %ebp\n"
	   "inc %ebp\n"
	   "dec %esi\n"
	   "bt $3, %eax\n"
	   "bts %ecx, %edx\n"
	   "pushfl\n"
	   "cwtl\n"
	   "cltd\n"
	   "daa\n"
	   "aam $10\n"
	   "stc\n"
	   "cmc\n"
	   "pushfl\n"
	   "std\n"
	   "pushfl\n"
	   "cld\n"
	   "popl %ecx\n"
	   "sub %ecx, %edx\n"
	   "hlt");

/* Memory operands: every addressing form, overrides, 16-bit addressing. */
GUEST(mem, "mov $0x200, %ebx\n"
	   "mov $3, %esi\n"
	   "movl $0x11223344, 0x100\n"
	   "mov 0x100, %eax\n"
	   "mov %eax, (%ebx)\n"
	   "mov %eax, 8(%ebx)\n"
	   "addl $0x1000, 0x300(%ebx)\n"
	   "mov %ebx, 0x20(%ebx,%esi,4)\n"
	   "mov (%ebx,%esi,8), %ecx\n"
	   "lea 0x10(%ebx,%esi,2), %edx\n"
	   "incl 0x400(,%esi,4)\n"
	   "movzbl 0x101, %edi\n"
	   "movswl 0x102, %ebp\n"
	   "movw $0xbeef, 0x120\n"
	   "movb $0x7f, %es:0x121\n"
	   "xchg %eax, 0x124\n"
	   "lock addl $5, 0x128\n"
	   "cmpxchg %ecx, 0x12c\n"
	   "mov $0x140, %edi\n"
	   "cmpxchg8b (%edi)\n"
	   "mov $0x40, %bx\n"
	   "mov $4, %si\n"
	   "mov (%bx,%si), %ax\n"
	   "addw %ax, 2(%bx,%si)\n"
	   "push %ebp\n"
	   "mov %esp, %ebp\n"
	   "movl $0x55, -4(%ebp)\n"
	   "mov -4(%ebp), %edx\n"
	   "addl $0x66, -8(%ebp,%esi,1)\n"
	   "pop %ebp\n"
	   "mov (%esp), %ecx\n"
	   "movl $7, 4(%esp)\n"
	   "mov $0x100, %ebx\n"
	   "mov $3, %al\n"
	   "xlat\n"
	   "movl %ss:8(%esp), %esi\n"
	   "notl %ds:0x104\n"
	   "hlt");

/* Truncated limits: the last dword of DS, then one byte across. */
GUEST(t_load, "mov (%ebx), %eax\n"
	      "movb $0x5a, 3(%ebx)\n"
	      "add %eax, %ecx\n"
	      "movw 2(%ebx), %dx\n"		/* the last two bytes: fine */
	      "t_load_at: movl 2(%ebx), %edx\n" /* two bytes past: #GP */
	      "hlt");

/* A REP STOS running into the limit: the CPU faults at the element, the
 * check before the first. */
GUEST(t_rep, "mov $0x27f0, %edi\n"
	     "mov $0x20, %ecx\n"
	     "mov $0x77, %al\n"
	     "rep stosb\n" /* to 0x280f: #GP at 0x2800 */
	     "hlt");

/* Downwards from ES:4, 16 bytes: the offset wraps to 0xffffffff. */
GUEST(t_repdown, "std\n"
		 "mov $4, %edi\n"
		 "mov $0x10, %ecx\n"
		 "mov $0x33, %al\n"
		 "t_repdown_at: rep stosb\n" /* #GP past offset 0 */
		 "cld\n"
		 "hlt");

/* The same within the limit, downwards (DF) and upwards, then MOVS. */
GUEST(t_rep_ok, "mov $0x27ff, %edi\n"
		"mov $0x40, %ecx\n"
		"std\n"
		"mov $0x11, %al\n"
		"rep stosb\n"
		"cld\n"
		"mov $0x2000, %esi\n"
		"mov $0x2400, %edi\n"
		"mov $0x100, %ecx\n"
		"rep movsl\n"
		"mov $0x10, %edi\n"
		"mov $0x8, %ecx\n"
		"std\n"
		"rep stosb\n" /* downwards from 0x10: 0x10..0x9, fine */
		"cld\n"
		"hlt");

/* The stack: pops up to the truncated end of SS, then one more. */
GUEST(t_stack, "pop %eax\n"
	       "pop %ebx\n"
	       "push %ebx\n"
	       "pop %ebx\n"
	       "t_stack_at: pop %ecx\n" /* reads past SS's limit: #SS */
	       "hlt");

/* A PUSH across the truncated end of SS from above it: #SS at the push. */
GUEST(t_push, "add $1, %edx\n"
	      "t_push_at: push %edx\n"
	      "hlt");

/* String instructions, both directions, with REP prefixes. */
GUEST(str, "cld\n"
	   "mov $0x100, %esi\n"
	   "mov $0x800, %edi\n"
	   "mov $37, %ecx\n"
	   "rep movsb\n"
	   "mov $0x1000, %edi\n"
	   "mov $0xdeadbeef, %eax\n"
	   "mov $20, %ecx\n"
	   "rep stosl\n"
	   "mov $0x100, %esi\n"
	   "mov $0x800, %edi\n"
	   "mov $40, %ecx\n"
	   "repe cmpsb\n"
	   "pushfl\n"
	   "push %ecx\n"
	   "mov $0x1000, %edi\n"
	   "mov $0x50, %ecx\n"
	   "mov $0xef, %al\n"
	   "repne scasb\n"
	   "pushfl\n"
	   "push %edi\n"
	   "std\n"
	   "mov $0x13f, %esi\n"
	   "mov $0x1fff, %edi\n"
	   "mov $16, %ecx\n"
	   "rep movsb\n"
	   "cld\n"
	   "lodsl\n"
	   "movsw\n"
	   "stosb\n"
	   "mov $0x2000, %edi\n"
	   "mov $0x10, %ecx\n"
	   "rep stosw\n"
	   "hlt");

/* The stack: PUSH/POP of every kind, PUSHA/POPA, ENTER/LEAVE. */
GUEST(stack, "push $0x12345678\n"
	     "push %eax\n"
	     "pushl 0x100\n"
	     "pushfl\n"
	     "pushal\n"
	     "xor %eax, %eax\n"
	     "popal\n"
	     "pop %ecx\n"
	     "popl 0x104\n"
	     "pop %edx\n"
	     "enter $16, $0\n"
	     "mov %esp, %esi\n"
	     "movl $0x99, -8(%ebp)\n"
	     "leave\n"
	     "push %ebp\n"
	     "mov %esp, %ebp\n"
	     "enter $8, $2\n"
	     "leave\n"
	     "push %esp\n"
	     "pop %edi\n"
	     "pushw $0x1234\n"
	     "popw %ax\n"
	     "push $-3\n"
	     "pushfl\n"
	     "popl 0x108\n"
	     "pop %ebp\n"
	     "pop %ebp\n"
	     "hlt");

/*
 * Control flow: direct calls and returns (the fast table), indirect calls
 * through a register and memory, a jump table, LOOP/LOOPNE/JECXZ, a JCC
 * chain over several values, RET imm16, the call/pop EIP idiom.
 */
GUEST(flow, "mov $5, %ecx\n"
	    "xor %eax, %eax\n"
	    "flow_loop:\n"
	    "call flow_fn\n"
	    "add %eax, %ebx\n"
	    "loop flow_loop\n"
	    "mov $(flow_fn2 - flow_start), %edx\n"
	    "call *%edx\n"
	    "movl $(flow_fn - flow_start), 0x200\n"
	    "call *0x200\n"
	    "push $(flow_fn - flow_start)\n"
	    "call *(%esp)\n"
	    "ss call *(%esp)\n"
	    "pop %edx\n"
	    "mov $0x80, %bx\n"
	    "mov $0x80, %si\n"
	    "movl $(flow_j16 - flow_start), 0x100\n"
	    "jmp *(%bx,%si)\n"
	    "flow_j16: add %eax, %ebp\n"
	    "movl $(flow_jes - flow_start), %es:0x10\n"
	    "jmp *%es:0x10\n"
	    "flow_jes: add %eax, %ebx\n"
	    "movl $(flow_c0 - flow_start), 0x300\n"
	    "movl $(flow_c1 - flow_start), 0x304\n"
	    "movl $(flow_c2 - flow_start), 0x308\n"
	    "mov $7, %esi\n"
	    "flow_sw:\n"
	    "mov %esi, %eax\n"
	    "xor %edx, %edx\n"
	    "mov $3, %ecx\n"
	    "div %ecx\n"
	    "jmp *0x300(,%edx,4)\n"
	    "flow_c0: add %eax, %ebp\n"
	    "jmp flow_next\n"
	    "flow_c1: add $0x10, %ebp\n"
	    "jmp flow_next\n"
	    "flow_c2: add $0x100, %ebp\n"
	    "flow_next: dec %esi\n"
	    "jnz flow_sw\n"
	    "call flow_pic\n"
	    "flow_pic: pop %eax\n"
	    "mov $8, %ecx\n"
	    "xor %edx, %edx\n"
	    "flow_l2: inc %edx\n"
	    "cmp $5, %edx\n"
	    "loopne flow_l2\n"
	    "jecxz flow_z\n"
	    "or $0x1000, %ebx\n"
	    "flow_z:\n"
	    "mov $-9, %esi\n"
	    "xor %edi, %edi\n"
	    "flow_cls:\n"
	    "shl $4, %edi\n"
	    "cmp $2, %esi\n"
	    "jge 1f\n"
	    "or $1, %edi\n"
	    "1: cmp $-5, %esi\n"
	    "jbe 2f\n"
	    "or $2, %edi\n"
	    "2: test $1, %esi\n"
	    "jz 3f\n"
	    "or $4, %edi\n"
	    "3: test %esi, %esi\n"
	    "js 4f\n"
	    "jp 4f\n"
	    "or $8, %edi\n"
	    "4: add $3, %esi\n"
	    "cmp $6, %esi\n"
	    "jl flow_cls\n"
	    "push $0x11\n"
	    "push $0x22\n"
	    "call flow_fn3\n"
	    "hlt\n"
	    "flow_fn: inc %eax\n"
	    "ret\n"
	    "flow_fn2: shl $1, %ebx\n"
	    "add %eax, %ebx\n"
	    "ret\n"
	    "flow_fn3: ret $8\n");

/*
 * The flags across indirect branches: the fast-table lookup saves and
 * restores them (LAHF/SETO, ADD/SAHF) on its hit and miss paths.  Every
 * PUSHFD image must be the entry flags.
 */
GUEST(indf, "call indf_fn\n"
	    "pushfl\n"
	    "mov $(indf_j - indf_start), %edx\n"
	    "jmp *%edx\n"
	    "indf_j: pushfl\n"
	    "call *%edx\n" /* back to indf_j once */
	    "hlt\n"
	    "indf_fn: pushfl\n"
	    "ret\n");

/* 16-bit counts: JCXZ and LOOP with an address-size prefix use CX. */
GUEST(cx16, "mov $0x10000, %ecx\n"
	    "jcxz cx16_z\n"
	    "or $1, %ebx\n"
	    "cx16_z: mov $0x10003, %ecx\n"
	    "cx16_l: inc %eax\n"
	    "addr16 loop cx16_l\n"
	    "jecxz cx16_done\n"
	    "or $2, %ebx\n"
	    "cx16_done: hlt");

/* More instructions than one block takes (BT_MAX_INSNS). */
GUEST(longblock, ".rept 60\n"
		 "add $0x1234567, %eax\n"
		 "rol $3, %eax\n"
		 "xor %eax, %ebx\n"
		 ".endr\n"
		 "hlt");

/*
 * CLI/STI on the virtual IF; PUSHFD shows it (and the virtual IOPL).  EDX,
 * ESI and EDI get the IF and IOPL bits of PUSHFD images: natively those
 * are the real IF (always 1 at CPL 3) and IOPL 0, translated the virtual
 * ones.  The images are wiped off the stack and the flags recomputed, so
 * nothing else may differ.
 */
GUEST(clisti, "cli\n"
	      "pushfl\n"
	      "pop %edx\n"
	      "movl $0, -4(%esp)\n"
	      "and $0x200, %edx\n"
	      "sti\n"
	      "pushfl\n"
	      "pop %esi\n"
	      "movl $0, -4(%esp)\n"
	      "and $0x200, %esi\n"
	      "pushfl\n"
	      "pop %edi\n"
	      "movl $0, -4(%esp)\n"
	      "and $0x3000, %edi\n"
	      "cli\n"
	      "add $1, %ecx\n"
	      "sti\n"
	      "add $2, %ecx\n"
	      "cli\n"
	      "sti\n"
	      "clisti_last: cmp %eax, %ecx\n"
	      "hlt");

/*
 * POPFD: arithmetic flags inline; IF only on the virtual IF (EDX: natively
 * POPFD leaves the real IF alone); IOPL changes call out (EDI: the
 * translated PUSHFD shows the virtual IOPL).  With an interrupt waiting,
 * every POPFD that sets IF calls out.
 */
GUEST(popf, "push $0xad7\n" /* every arithmetic flag, IF */
	    "popfl\n"
	    "pushfl\n"
	    "pop %ebx\n"
	    "push $0x446\n" /* IF clear, DF ZF PF */
	    "popfl\n"
	    "pushfl\n"
	    "pop %edx\n"
	    "movl $0, -4(%esp)\n"
	    "and $0x200, %edx\n"
	    "cld\n"
	    "push $0x203\n" /* IF set again, CF */
	    "popfl\n"
	    "pushfl\n"
	    "pop %esi\n"
	    "push $0x3202\n" /* IOPL 3 */
	    "popfl\n"
	    "pushfl\n"
	    "pop %edi\n"
	    "movl $0, -4(%esp)\n"
	    "and $0x3000, %edi\n"
	    "push $0x3a93\n" /* IOPL stays 3 */
	    "popfl\n"
	    "pushfl\n"
	    "pop %eax\n"
	    "movl $0, -4(%esp)\n"
	    "push $0x286\n" /* IOPL 0 again */
	    "popfl\n"
	    "and $0xcd5, %eax\n"
	    "hlt");

/* PUSH Sreg: the guest's selectors (each slot cleared first: some CPUs
 * write only 16 bits of it). */
GUEST(sreg, "movl $0, -4(%esp)\n"
	    "push %es\n"
	    "movl $0, -4(%esp)\n"
	    "push %cs\n"
	    "movl $0, -4(%esp)\n"
	    "push %ss\n"
	    "movl $0, -4(%esp)\n"
	    "push %ds\n"
	    "movl $0, -4(%esp)\n"
	    "push %fs\n"
	    "movl $0, -4(%esp)\n"
	    "push %gs\n"
	    "pop %eax\n"
	    "pop %ebx\n"
	    "pop %ecx\n"
	    "pop %edx\n"
	    "pop %esi\n"
	    "pop %edi\n"
	    "hlt");

/* Faults: each stops at a known instruction, with state to compare. */
GUEST(f_dslimit, "mov $0x3ffc, %ebx\n"
		 "mov (%ebx), %eax\n" /* the last dword in DS: fine */
		 "add $7, %ecx\n"
		 "f_dslimit_at: mov 1(%ebx), %edx\n" /* 0x3ffd..0x4000: #GP */
		 "hlt");

GUEST(f_replimit, "add $1, %eax\n"
		  "xor %esi, %esi\n"
		  "mov $0xf0, %edi\n"
		  "mov $0x40, %ecx\n"
		  "f_replimit_at: rep movsb\n" /* ES limit 0xff: #GP at 0x100 */
		  "hlt");

GUEST(f_null, "mov $5, %eax\n"
	      "f_null_at: mov %es:(%ebx), %eax\n" /* ES = 0: #GP */
	      "hlt");

GUEST(f_nullstos, "mov $0x10, %edi\n"
		  "sub $1, %edx\n"
		  "f_nullstos_at: stosb\n" /* ES = 0: #GP */
		  "hlt");

GUEST(f_indcall, "mov $0x1234, %eax\n"
		 "f_indcall_at: call *0x5000\n" /* beyond DS: #GP */
		 "hlt");

GUEST(f_pushf, "mov $0x77, %eax\n"
	       "add %eax, %eax\n"
	       "f_pushf_at: pushfl\n" /* ESP at the guard page: #PF */
	       "hlt");

GUEST(f_ret, "mov $9, %ecx\n"
	     "f_ret_at: ret\n" /* ESP in the guard page: #PF */
	     "hlt");

GUEST(f_callind, "mov $(f_callind_fn - f_callind_start), %edx\n"
		 "mov $0x55, %eax\n"
		 "f_callind_at: call *%edx\n" /* ESP at the guard page: #PF */
		 "hlt\n"
		 "f_callind_fn: ret");

GUEST(f_call, "mov $9, %ecx\n"
	      "f_call_at: call f_call_fn\n" /* ESP at the guard page: #PF */
	      "hlt\n"
	      "f_call_fn: ret");

GUEST(f_ud2, "mov $3, %ebx\n"
	     "f_ud2_at: ud2\n"
	     "hlt");

GUEST(f_div0, "xor %ecx, %ecx\n"
	      "mov $1, %eax\n"
	      "f_div0_at: div %ecx\n"
	      "hlt");

/*
 * What the translator runs natively, one instruction at a time (STEP):
 * %cs operands, branches through %gs, 16-bit near branches.
 */
GUEST(steps, "mov %cs:(steps_data - steps_start), %eax\n"
	     "add %eax, %ebx\n"
	     "movl $(steps_gsjmp - steps_start), %gs:0x40\n"
	     "mov $0x40, %ecx\n"
	     "jmp *%gs:(%ecx)\n"
	     "steps_gsjmp: movzbl %gs:1(%ecx), %ecx\n"
	     "callw steps_fn16\n"
	     "add %eax, %edx\n"
	     "data16 jmp steps_on\n"
	     "steps_fn16: inc %eax\n"
	     "retw\n"
	     "steps_on: sub %ecx, %esi\n"
	     "hlt\n"
	     "steps_data: .long 0xfeedface");

/*
 * Memory through the guest's GS, which the translation loads around each
 * instruction (the window's %gs is put back after it): loads, stores,
 * misaligned XCHG and LOCK ADD, a string move from GS with REP and DF.
 * Every PUSHFD image must be the native one (the flags pass through the
 * two MOVs to GS untouched).
 */
GUEST(gsops, "mov $0x10, %ebx\n"
	     "movl %eax, %gs:(%ebx)\n"
	     "add %gs:4(%ebx), %ecx\n"
	     "pushfl\n"
	     "xchg %ecx, %gs:0x22(%ebx)\n"
	     "pushfl\n"
	     "lock addl $7, %gs:0x31(%ebx)\n"
	     "pushfl\n"
	     "lock xaddw %dx, %gs:0x47(%ebx)\n"
	     "pushfl\n"
	     "incl %gs:0x3fc\n"
	     "pushfl\n"
	     "std\n"
	     "mov $0x140, %esi\n"
	     "mov $0x200, %edi\n"
	     "mov $9, %ecx\n"
	     "rep movsb %gs:(%esi), %es:(%edi)\n"
	     "pushfl\n"
	     "cld\n"
	     "pushl %gs:0x60\n"
	     "popl %gs:0x64\n"
	     "movzbl %gs:0x80, %edx\n"
	     "hlt");

/*
 * Segment loads, inline in the translation (ES and DS: a 64-bit signal
 * handler would run with a 32-bit FS, so FS stays the process's): from a
 * register, from memory, POP (32 and 16 bits); each read back with MOV and
 * PUSH, the new base used.  EAX = SMALL_SEL, EBX = DATA_SEL, ECX = DATA_SEL
 * with RPL 1 (which calls out: the monitor's part runs it natively).
 */
GUEST(segld, "mov %eax, %es\n"
	     "mov %es, %edi\n"
	     "movl %es:0x10, %esi\n"
	     "push %ebx\n"
	     "pop %es\n"
	     "push %es\n"
	     "movw %ax, 0x20\n"
	     "movw 0x20, %es\n"
	     "movw %es, %dx\n"
	     "pushw %bx\n"
	     "popw %es\n"
	     "push %es\n"
	     "mov %ecx, %ds\n"
	     "mov %ds, %ebp\n"
	     "addl %es:0x14, %esi\n"
	     "mov %ebx, %ds\n"
	     "movl $0, -4(%esp)\n"
	     "push %ds\n"
	     "push %eax\n"
	     "pop %ds\n"
	     "movl (%ebx), %ecx\n"
	     "mov %ebx, %ds\n"
	     "hlt");

/* Loads that fault, at the load with everything as before it. */
GUEST(f_ldempty, "add $3, %eax\n"
		 "f_ldempty_at: mov %edx, %es\n" /* an empty LDT slot: #GP */
		 "hlt");

GUEST(f_ldnp, "add $3, %eax\n"
	      "f_ldnp_at: mov %edx, %ds\n" /* not present: #NP */
	      "hlt");

GUEST(f_ldmem, "mov $0x3fff, %ebx\n"
	       "f_ldmem_at: movw (%ebx), %es\n" /* across DS's limit: #GP */
	       "hlt");

GUEST(f_ldpop, "mov $7, %ecx\n"
	       "f_ldpop_at: pop %ds\n" /* the stack's guard page: #PF */
	       "hlt");

GUEST(f_ldrpl1, "add $3, %eax\n"
		"f_ldrpl1_at: mov %edx, %es\n" /* RPL 1, empty: calls out */
		"hlt");

/* Through the guest's GS: past its limit, and a null GS. */
GUEST(f_gslimit, "mov $0x3f0, %ebx\n"
		 "mov %gs:(%ebx), %eax\n"
		 "add $7, %ecx\n"
		 "f_gslimit_at: mov %gs:0xe(%ebx), %edx\n" /* 0x3fe..0x401 */
		 "hlt");

GUEST(f_gsnull, "mov $5, %eax\n"
		"f_gsnull_at: xchg %eax, %gs:(%ebx)\n" /* GS = 0: #GP */
		"hlt");

/* Off the end of CS: an instruction across the limit, and EIP past it. */
GUEST(straddle, "add $1, %eax\n"
		"straddle_at: mov $0x12345678, %ebx\n"
		"hlt");

GUEST(offend, "add $1, %eax\n"
	      "nop\n"
	      "offend_end_at:");

GUEST(f_bound, "movl $10, 0x180\n"
	       "movl $20, 0x184\n"
	       "mov $15, %eax\n"
	       "bound %eax, 0x180\n"
	       "mov $30, %eax\n"
	       "f_bound_at: bound %eax, 0x180\n" /* #BR */
	       "hlt");

/* Bytes from @a to @b, two labels of the same assembled section. */
static uint32_t span(const void *a, const void *b)
{
	return (uint32_t)((uintptr_t)b - (uintptr_t)a);
}

/*
 * Direct branches to a target past CS's limit: #GP at the branch, nothing
 * done (no return address pushed, ECX not counted down).
 */
GUEST(f_jmpfar, "add $1, %eax\n"
		"f_jmpfar_at: .byte 0xe9\n" /* jmp .+0x2005 */
		".long 0x2000\n"
		"hlt");

GUEST(f_callfar, "add $1, %eax\n"
		 "f_callfar_at: .byte 0xe8\n" /* call .+0x2005 */
		 ".long 0x2000\n"
		 "hlt");

GUEST(f_jccfar, "or $1, %eax\n"
		".byte 0x0f, 0x84\n" /* jz .+0x2006: not taken, fine */
		".long 0x2000\n"
		"xor %eax, %eax\n"
		"f_jccfar_at: .byte 0x0f, 0x84\n" /* jz .+0x2006: #GP */
		".long 0x2000\n"
		"hlt");

GUEST(f_loopfar, "mov $3, %ecx\n"
		 "f_loopfar_at: .byte 0xe2, 0x7f\n" /* loop .+0x81 */
		 "hlt");

/* POPFD from a stack whose last two bytes are on an unmapped page. */
GUEST(f_popf, "mov $0x77, %ecx\n"
	      "f_popf_at: popfl\n"
	      "hlt");

#define GUEST_EIP(label, name) span(name##_start, label)
extern const unsigned char t_load_at[], t_stack_at[], t_repdown_at[],
	t_push_at[] __attribute__((visibility("hidden")));
extern const unsigned char f_dslimit_at[], f_replimit_at[], f_null_at[],
	f_nullstos_at[], f_indcall_at[], f_pushf_at[], f_ret_at[], f_call_at[],
	f_ud2_at[], f_div0_at[], f_bound_at[], clisti_last[], straddle_at[],
	offend_end_at[], f_jmpfar_at[], f_callfar_at[], f_jccfar_at[],
	f_loopfar_at[], f_popf_at[], f_gslimit_at[], f_gsnull_at[],
	f_ldempty_at[], f_ldnp_at[], f_ldmem_at[], f_ldpop_at[], f_ldrpl1_at[],
	f_callind_at[] __attribute__((visibility("hidden")));

/* --- state ---------------------------------------------------------------- */

enum {
	RUN_NATIVE,
	RUN_BT
};
enum {
	END_NONE,
	END_HLT,
	END_FAULT,
	END_LOST,
	END_LIMIT /* a bound check of checked translation called out */
};

enum {
	R_EAX,
	R_ECX,
	R_EDX,
	R_EBX,
	R_ESP,
	R_EBP,
	R_ESI,
	R_EDI,
	NREGS
};
static const char *const reg_names[NREGS] = { "eax", "ecx", "edx", "ebx",
					      "esp", "ebp", "esi", "edi" };
static const int greg_of[NREGS] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX,
				    REG_RSP, REG_RBP, REG_RSI, REG_RDI };

/* CF PF AF ZF SF DF OF: what user mode sees of EFLAGS, IF/IOPL/RF aside. */
#define FLAGS_MASK 0xcd5u
#define EFLAGS_TF  0x100u

/* How a run ended. */
struct outcome {
	int end;	 /* END_* */
	const char *why; /* END_LOST: what went wrong */
	uint32_t regs[NREGS];
	uint32_t eip; /* guest EIP (from the map when translated) */
	uint32_t eflags;
	int signo;
	int trapno;
	uint32_t err;
	uint64_t cr2;
	uint32_t tc_rip;      /* translated: where it stopped in the TC */
	int map_kind;	      /* translated: the map entry's kind there */
	bool stepped;	      /* translated: it ended in a native step */
	uint8_t vif;	      /* the virtual IF at the end */
	uint32_t sti_eips[8]; /* where STI call outs (WANT) resumed */
	unsigned int nsti;
	uint8_t data[DATA_SIZE];
	uint8_t stack[STACK_SIZE];
};

/* How a run starts. */
struct start {
	uint32_t regs[NREGS]; /* ESP: an offset in the low region */
	uint32_t eflags;
	uint32_t eip;
	uint32_t es, gs;
	uint32_t ds; /* 0: DATA_SEL */
	uint32_t ss; /* 0: the process's own */
	uint8_t vif, viopl;
	uint32_t want;
};

static struct {
	uint8_t *low;
	uint32_t low32;
	struct ctx *ctx;
	struct bt_cache c;
	struct bt_env env;
	struct bt_key key;
	struct decoded_insn scratch;
	sigjmp_buf jb;
	int mode;
	struct outcome *out;
	uint8_t nvif;		      /* the native run's virtual IF */
	unsigned int native_emulated; /* CLI/STI emulated natively */
	unsigned int exits, ind_misses, translated, steps, popf_callouts;
	unsigned int limit_steps; /* REPs stepped after a failed check */
	bool stepping;		  /* a STEP entry: the guest runs natively */
	uint16_t guest_gs; /* the guest's GS (translated: the window's) */
	unsigned int sreg_callouts;
} S;

/* MOV Sreg, r/m or POP DS/ES/FS/GS at guest EIP @eip (any prefixes). */
static bool is_sreg_load(uint32_t eip)
{
	const uint8_t *p = S.low + OFF_CODE + eip;

	while (*p == 0x66 || *p == 0x67 || *p == 0x26 || *p == 0x2e ||
	       *p == 0x36 || *p == 0x3e || *p == 0x64 || *p == 0x65)
		p++;
	return p[0] == 0x8e || p[0] == 0x1f || p[0] == 0x07 ||
	       (p[0] == 0x0f && (p[1] == 0xa1 || p[1] == 0xa9));
}

static uint8_t *window(void)
{
	return S.low + OFF_WINDOW;
}

static uint32_t window_u32(uint32_t off)
{
	uint32_t v;

	memcpy(&v, window() + off, 4);
	return v;
}

static void window_set_u32(uint32_t off, uint32_t v)
{
	memcpy(window() + off, &v, 4);
}

static bt_u32 fetch_code(void *opaque, bt_u32 lin, bt_u8 *buf, bt_u32 len)
{
	uint32_t base = S.low32 + OFF_CODE;

	if (lin < base || lin - base >= CODE_SIZE)
		return 0;
	if (len > CODE_SIZE - (lin - base))
		len = CODE_SIZE - (lin - base);
	memcpy(buf, S.low + OFF_CODE + (lin - base), len);
	return len;
}

/* The translation of guest @eip, made if missing (as block_for()). */
static struct bt_block *block_for(uint32_t eip)
{
	struct bt_block *b = bt_lookup(&S.c, &S.key, eip);

	if (b)
		return b;
	if (bt_translate(&S.c, &S.env, &S.key, eip, &b) != BT_OK)
		return NULL;
	S.translated++;
	return b;
}

/* --- the signal handler: the monitor's part -------------------------------- */

static void __attribute__((noreturn))
finish(const ucontext_t *uc, int signo, int end, uint32_t eip, const char *why)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	struct outcome *o = S.out;
	int i;

	o->end = end;
	o->why = why;
	for (i = 0; i < NREGS; i++)
		o->regs[i] = (uint32_t)g[greg_of[i]];
	o->eip = eip;
	o->eflags = (uint32_t)g[REG_EFL];
	o->signo = signo;
	o->trapno = (int)g[REG_TRAPNO];
	o->err = (uint32_t)g[REG_ERR];
	o->cr2 = (uint64_t)g[REG_CR2];
	if (end == END_HLT) /* #GP natively, a call out translated */
		o->trapno = o->err = 0;
	siglongjmp(S.jb, 1);
}

static void native_trap(ucontext_t *uc, int signo)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint32_t eip = (uint32_t)g[REG_RIP];
	uint8_t op = eip < CODE_SIZE ? S.low[OFF_CODE + eip] : 0;

	if (signo == SIGSEGV && g[REG_TRAPNO] == 13 && !g[REG_ERR]) {
		if (op == 0xf4)
			finish(uc, signo, END_HLT, eip, NULL);
		if (op == 0xfa || op == 0xfb) { /* CLI, STI: trap and emulate */
			S.nvif = op == 0xfb ? 0x02 : 0;
			S.native_emulated++;
			g[REG_RIP] = eip + 1;
			if (op == 0xfb && S.out->nsti < 8 &&
			    window_u32(BT_VP_WANT))
				S.out->sti_eips[S.out->nsti++] = eip + 1;
			return;
		}
	}
	finish(uc, signo, END_FAULT, eip, NULL);
}

/* Resume translated code at the translation of guest @eip. */
static void resume_at(ucontext_t *uc, uint32_t eip, struct bt_block **to)
{
	*to = block_for(eip);
	if (!*to)
		finish(uc, SIGSEGV, END_LOST, eip, "no translation");
	uc->uc_mcontext.gregs[REG_RIP] = bt_block_addr(&S.c, *to);
}

/* What the monitor keeps in the window for POPFD (monitor/bt_run.c). */
static void window_popf_table(unsigned int iopl)
{
	unsigned int b;

	for (b = 0; b < 256; b++)
		window()[BT_VP_POPF + b] = (b & 0x01) || ((b >> 4) & 3) != iopl;
}

/*
 * The monitor's POPFD at guest CPL 0: the arithmetic flags and DF for
 * real, IF and IOPL virtual.  SS is flat: ESP is the address.
 */
static void emulate_popf(ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint32_t v;

	memcpy(&v, (void *)(uintptr_t)(uint32_t)g[REG_RSP], 4);
	g[REG_EFL] = (g[REG_EFL] & ~(greg_t)FLAGS_MASK) | (v & FLAGS_MASK);
	g[REG_RSP] = (uint32_t)g[REG_RSP] + 4;
	window()[BT_VP_VIF] = v & 0x200 ? 0x02 : 0;
	window()[BT_VP_VIOPL] = (v >> 8) & 0x30;
	window_popf_table((v >> 12) & 3);
	S.popf_callouts++;
}

static void bt_trap(ucontext_t *uc, int signo)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint32_t rip = (uint32_t)g[REG_RIP];
	const uint8_t *tc = S.c.tc + (rip - S.c.tc_low);
	const struct bt_map *m;
	struct bt_block *b, *to;
	struct bt_map stub;
	uint32_t target;

	m = bt_map_find(&S.c, rip, &b);
	S.out->tc_rip = rip;
	S.out->map_kind = m ? m->kind : -1;
	if (!(signo == SIGSEGV && g[REG_TRAPNO] == 13 &&
	      g[REG_ERR] == (BT_CALLOUT_VECTOR << 3 | 2) && tc[0] == 0xcd &&
	      tc[1] == BT_CALLOUT_VECTOR)) {
		/* A real fault: where the map says it is. */
		finish(uc, signo, END_FAULT, m ? m->guest_eip : 0xffffffff,
		       NULL);
	}
	if (!m)
		finish(uc, signo, END_LOST, 0xffffffff, "call out off the map");
	switch (m->kind) {
	case BT_MAP_EXIT:
		stub = *m;
		S.exits++;
		resume_at(uc, stub.guest_eip, &to);
		bt_chain(&S.c, &stub, to);
		return;
	case BT_MAP_IND_MISS:
		target = window_u32(BT_VP_TARGET);
		S.ind_misses++;
		resume_at(uc, target, &to);
		bt_fast_insert(&S.c, target, to);
		return;
	case BT_MAP_STI:
		if (S.out->nsti < 8)
			S.out->sti_eips[S.out->nsti++] = m->guest_eip;
		resume_at(uc, m->guest_eip, &to);
		return;
	case BT_MAP_STEP:
		/* Run the guest's instruction natively, with TF: SIGTRAP */
		S.steps++;
		S.stepping = true;
		g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffLL) | GUEST_SEL;
		/* sigreturn keeps the selectors but CS and SS: load GS here */
		asm volatile("mov %0, %%gs" : : "r"(S.guest_gs));
		g[REG_RIP] = m->guest_eip;
		g[REG_EFL] |= EFLAGS_TF;
		return;
	case BT_MAP_CALLOUT:
		if (m->guest_eip < CODE_SIZE &&
		    S.low[OFF_CODE + m->guest_eip] == 0xf4)
			finish(uc, signo, END_HLT, m->guest_eip, NULL);
		if (m->guest_eip < CODE_SIZE &&
		    S.low[OFF_CODE + m->guest_eip] == 0x9d) {
			emulate_popf(uc);
			resume_at(uc, m->guest_eip + 1, &to);
			return;
		}
		if (m->guest_eip < CODE_SIZE && is_sreg_load(m->guest_eip)) {
			/* the monitor emulates it at CPL 0; at CPL 3 the CPU
			 * does the same: run it natively, as a STEP */
			S.sreg_callouts++;
			S.stepping = true;
			g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffLL) | GUEST_SEL;
			asm volatile("mov %0, %%gs" : : "r"(S.guest_gs));
			g[REG_RIP] = m->guest_eip;
			g[REG_EFL] |= EFLAGS_TF;
			return;
		}
		finish(uc, signo, END_LOST, m->guest_eip,
		       "unexpected call out");
	case BT_MAP_LIMIT:
		/*
		 * The check says the CPU would fault here.  A REP's check
		 * covers its whole count in both directions: the monitor
		 * finds out, here the instruction runs natively, one element
		 * a step, until the check passes (or the CPU faults).
		 */
		if (m->guest_eip < CODE_SIZE &&
		    !decode_insn(S.low + OFF_CODE + m->guest_eip,
				 CODE_SIZE - m->guest_eip, &S.scratch) &&
		    (S.scratch.insn.attributes &
		     (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
		      ZYDIS_ATTRIB_HAS_REPNE))) {
			S.limit_steps++;
			S.stepping = true;
			g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffLL) | GUEST_SEL;
			g[REG_RIP] = m->guest_eip;
			g[REG_EFL] |= EFLAGS_TF;
			return;
		}
		finish(uc, signo, END_LIMIT, m->guest_eip, NULL);
	default:
		finish(uc, signo, END_LOST, m->guest_eip,
		       "unexpected map kind");
	}
}

/*
 * After a native step: back to translated code, or its fault.  What the
 * step loaded goes to the window, as the monitor's window_update() does:
 * DS and ES as they are now (signal delivery leaves them alone).
 */
static void step_trap(ucontext_t *uc, int signo)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint32_t eip = (uint32_t)g[REG_RIP];
	struct bt_block *to;
	uint16_t ds, es;

	S.stepping = false;
	if (signo != SIGTRAP || g[REG_TRAPNO] != 1) {
		S.out->stepped = true;
		finish(uc, signo, END_FAULT, eip, NULL);
	}
	asm volatile("mov %%ds, %0; mov %%es, %1" : "=r"(ds), "=r"(es));
	window_set_u32(BT_VP_SEL + 0, es);
	window_set_u32(BT_VP_SEL + 12, ds);
	g[REG_EFL] &= ~(greg_t)EFLAGS_TF;
	g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffLL) | TC_SEL;
	asm volatile("mov %0, %%gs" : : "r"((uint16_t)WINDOW_SEL));
	resume_at(uc, eip, &to);
}

static void on_signal(int signo, siginfo_t *si, void *p)
{
	ucontext_t *uc = p;
	greg_t *g = uc->uc_mcontext.gregs;
	uint16_t cs = (uint16_t)g[REG_CSGSFS];

	if (S.out && cs == GUEST_SEL && S.mode == RUN_NATIVE)
		native_trap(uc, signo);
	else if (S.out && cs == GUEST_SEL && S.mode == RUN_BT && S.stepping)
		step_trap(uc, signo);
	else if (S.out && cs == TC_SEL && S.mode == RUN_BT &&
		 bt_in_tc(&S.c, (uint32_t)g[REG_RIP]))
		bt_trap(uc, signo);
	else if (S.out && cs == TC_SEL)
		finish(uc, signo, END_LOST, (uint32_t)g[REG_RIP],
		       "fault outside the TC (the entry stub?)");
	else
		signal(signo, SIG_DFL); /* a bug of the test itself: crash */
}

/* --- setup and runs ------------------------------------------------------- */

static int set_ldt_present(int slot, uint32_t base, uint32_t limit, int code,
			   int pages, int present)
{
	struct user_desc d = {
		.entry_number = slot,
		.base_addr = base,
		.limit = limit,
		.seg_32bit = 1,
		.contents = code ? MODIFY_LDT_CONTENTS_CODE
				 : MODIFY_LDT_CONTENTS_DATA,
		.read_exec_only = 0,
		.limit_in_pages = pages,
		.seg_not_present = !present,
		.useable = 1,
	};

	return (int)syscall(SYS_modify_ldt, 1, &d, sizeof(d));
}

static int set_ldt(int slot, uint32_t base, uint32_t limit, int code, int pages)
{
	return set_ldt_present(slot, base, limit, code, pages, 1);
}

/* Sets everything up; NULL, or why the machine cannot run the test. */
static const char *setup(void)
{
	static char why[160];
	static uint8_t altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_sigaction = on_signal,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };
	uint32_t disp;
	void *p;

	p = mmap(NULL, LOW_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(why, sizeof(why), "mmap(MAP_32BIT, RWX): %s",
			 strerror(errno));
		return why;
	}
	S.low = p;
	S.low32 = (uint32_t)(uintptr_t)p;
	if (mprotect(S.low + OFF_GUARD, 0x1000, PROT_NONE))
		return "mprotect of the guard page failed";
	if (set_ldt(LDT_TC_CS, 0, 0xfffff, 1, 1)) {
		snprintf(why, sizeof(why),
			 "modify_ldt(2) refused a 32-bit code segment: %s "
			 "(seccomp, or a kernel without "
			 "CONFIG_MODIFY_LDT_SYSCALL)",
			 strerror(errno));
		return why;
	}
	if (set_ldt(LDT_GUEST_CS, S.low32 + OFF_CODE, CODE_SIZE - 1, 1, 0) ||
	    set_ldt(LDT_DATA, S.low32 + OFF_DATA, DATA_SIZE - 1, 0, 0) ||
	    set_ldt(LDT_SMALL, S.low32 + OFF_DATA + SMALL_OFF, SMALL_LIM, 0,
		    0) ||
	    set_ldt(LDT_WINDOW, S.low32 + OFF_WINDOW, BT_VP_SIZE - 1, 0, 0) ||
	    set_ldt(LDT_GS, S.low32 + OFF_DATA + GS_OFF, GS_LIM, 0, 0) ||
	    set_ldt(LDT_TRUNC, S.low32 + OFF_DATA, TRUNC_LIM, 0, 0) ||
	    set_ldt(LDT_TRUNC_G, S.low32 + OFF_DATA, TRUNC_G_PAGES - 1, 0, 1) ||
	    set_ldt(LDT_TRUNC_SS, 0, ((S.low32 + TRUNC_SS_END) >> 12) - 1, 0,
		    1) ||
	    set_ldt_present(LDT_NP, S.low32 + OFF_DATA, DATA_SIZE - 1, 0, 0, 0))
		return "modify_ldt(2) refused a data segment";
	if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL) ||
	    sigaction(SIGILL, &sa, NULL) || sigaction(SIGFPE, &sa, NULL) ||
	    sigaction(SIGBUS, &sa, NULL) || sigaction(SIGTRAP, &sa, NULL))
		return "sigaction failed";

	memcpy(S.low + OFF_STUB, stub32_start, span(stub32_start, stub32_end));
	S.ctx = (struct ctx *)(S.low + OFF_CTX);
	disp = S.low32 + OFF_CTX + offsetof(struct ctx, target_eip);
	memcpy(S.low + OFF_STUB + span(stub32_start, stub32_jmp) + 3, &disp, 4);

	S.c = (struct bt_cache){ .tc = S.low + OFF_TC,
				 .tc_low = S.low32 + OFF_TC,
				 .tc_size = TC_SIZE,
				 .window = window(),
				 .window_low = S.low32 + OFF_WINDOW,
				 .gs_sel = WINDOW_SEL,
				 .scratch = &S.scratch,
				 .max_blocks = 1024,
				 .max_map = 65536 };
	S.c.blocks = calloc(S.c.max_blocks, sizeof(*S.c.blocks));
	S.c.map = calloc(S.c.max_map, sizeof(*S.c.map));
	S.c.hash = calloc(BT_HASH_SIZE, sizeof(*S.c.hash));
	S.c.page_hash = calloc(BT_PAGE_HASH, sizeof(*S.c.page_hash));
	if (!S.c.blocks || !S.c.map || !S.c.hash || !S.c.page_hash)
		return "out of memory";
	bt_cache_init(&S.c);
	S.env = (struct bt_env){ .fetch = fetch_code };
	S.key = (struct bt_key){ .cs_base = S.low32 + OFF_CODE,
				 .cs_limit = CODE_SIZE - 1,
				 .cs_sel = GUEST_SEL };
	return NULL;
}

/* The snippet at guest EIP @at (it may run past CS's limit). */
static void load_guest_at(const unsigned char *start, const unsigned char *end,
			  uint32_t at)
{
	memset(S.low + OFF_CODE, 0xf4, OFF_DATA - OFF_CODE);
	memcpy(S.low + OFF_CODE + at, start, span(start, end));
}

/*
 * The limit a segment register's accesses are checked against in checked
 * translation: what the monitor puts in BT_VP_LIMIT for a segment it
 * truncated; the flat segments of the process are not checked.
 */
static uint32_t check_limit(uint32_t sel)
{
	switch (sel) {
	case DATA_SEL:
		return DATA_SIZE - 1;
	case SMALL_SEL:
		return SMALL_LIM;
	case GS_SEL:
		return GS_LIM;
	case TRUNC_SEL:
		return TRUNC_LIM;
	case TRUNC_G_SEL:
		return TRUNC_G_PAGES * 0x1000 - 1;
	case TRUNC_SS_SEL:
		return S.low32 + TRUNC_SS_END - 1;
	case WINDOW_SEL:
		return BT_VP_SIZE - 1;
	default:
		return 0xffffffff;
	}
}

/* Checked translation from now on, in a fresh cache, or back. */
static void set_checked(bool on)
{
	if (!!S.c.checked == on)
		return;
	bt_cache_flush(&S.c);
	S.c.checked = on;
}

/* Runs the loaded guest from st->eip natively or translated. */
static void run(struct outcome *o, int mode, const struct start *st)
{
	struct ctx *x = S.ctx;
	struct bt_block *b;
	unsigned int i;
	uint16_t ds, es, gs, ss, fs;
	uint32_t sel[6];

	memset(o, 0, sizeof(*o));
	o->map_kind = -1;
	for (i = 0; i < DATA_SIZE; i++)
		S.low[OFF_DATA + i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < STACK_SIZE; i++)
		S.low[OFF_STACK + i] = (uint8_t)(i * 13 + 5);
	window()[BT_VP_VIF] = st->vif;
	window()[BT_VP_VIOPL] = st->viopl;
	window_set_u32(BT_VP_WANT, st->want);
	window_set_u32(BT_VP_IND_HITS, 0);
	window_popf_table(st->viopl >> 4);
	asm volatile("mov %%ss, %0; mov %%fs, %1" : "=r"(ss), "=r"(fs));
	sel[0] = st->es;
	sel[1] = GUEST_SEL;
	sel[2] = st->ss ? st->ss : ss;
	sel[3] = st->ds ? st->ds : DATA_SEL;
	sel[4] = fs;
	sel[5] = st->gs;
	for (i = 0; i < 6; i++) {
		window_set_u32(BT_VP_SEL + 4 * i, sel[i]);
		window_set_u32(BT_VP_LIMIT + 4 * i, check_limit(sel[i]));
	}
	window_set_u32(BT_VP_GUEST_GS, st->gs);
	S.guest_gs = (uint16_t)st->gs;
	S.nvif = st->vif;

	*x = (struct ctx){ .eflags = st->eflags,
			   .ss = sel[2],
			   .ds = sel[3],
			   .es = st->es,
			   .gs = mode == RUN_BT ? WINDOW_SEL : st->gs,
			   .eax = st->regs[R_EAX],
			   .ecx = st->regs[R_ECX],
			   .edx = st->regs[R_EDX],
			   .ebx = st->regs[R_EBX],
			   .ebp = st->regs[R_EBP],
			   .esi = st->regs[R_ESI],
			   .edi = st->regs[R_EDI] };
	x->esp = S.low32 + st->regs[R_ESP];
	if (mode == RUN_BT) {
		b = block_for(st->eip);
		if (!b) {
			o->end = END_LOST;
			o->why = "the entry did not translate";
			return;
		}
		bt_fast_insert(&S.c, st->eip, b);
		x->target_eip = bt_block_addr(&S.c, b);
		x->target_cs = TC_SEL;
	} else {
		x->target_eip = st->eip;
		x->target_cs = GUEST_SEL;
	}

	asm volatile("mov %%ds, %0; mov %%es, %1; mov %%gs, %2"
		     : "=r"(ds), "=r"(es), "=r"(gs));
	S.mode = mode;
	S.stepping = false;
	S.out = o;
	if (!sigsetjmp(S.jb, 1))
		enter32(S.low32 + OFF_CTX, S.low32 + OFF_STUB, TC_SEL);
	S.out = NULL;
	asm volatile("mov %0, %%ds; mov %1, %%es; mov %2, %%gs"
		     :
		     : "r"(ds), "r"(es), "r"(gs));

	memcpy(o->data, S.low + OFF_DATA, DATA_SIZE);
	memcpy(o->stack, S.low + OFF_STACK, STACK_SIZE);
	o->vif = mode == RUN_BT ? window()[BT_VP_VIF] : S.nvif;
}

static const char *end_name(int end)
{
	static const char *const names[] = { "none", "hlt", "fault", "lost",
					     "limit check" };

	return names[end];
}

static void report(const char *what, const struct outcome *o)
{
	int i;

	fprintf(stderr,
		"#   %s: %s%s%s eip %#x eflags %#x sig %d trap %d err %#x "
		"cr2 %#llx tc %#x kind %d\n#  ",
		what, end_name(o->end), o->why ? " " : "", o->why ? o->why : "",
		o->eip, o->eflags, o->signo, o->trapno, o->err,
		(unsigned long long)o->cr2, o->tc_rip, o->map_kind);
	for (i = 0; i < NREGS; i++)
		fprintf(stderr, " %s %#x", reg_names[i], o->regs[i]);
	fprintf(stderr, "\n");
}

/* Where two byte arrays first differ, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* The translated run must end exactly as the native one; regs in @skip
 * (a bit per register) are checked by the caller. */
static bool same(const struct outcome *n, const struct outcome *t,
		 unsigned int skip)
{
	bool ok = true;
	long d;
	int i;

	if (t->end == END_LIMIT) {
		/* the check's verdict: #GP(0) or #SS(0) right here */
		if (n->end != END_FAULT || n->eip != t->eip ||
		    (n->trapno != 13 && n->trapno != 12) || n->err ||
		    ((n->eflags ^ t->eflags) & FLAGS_MASK) ||
		    t->map_kind != BT_MAP_LIMIT)
			ok = false;
	} else if (n->end != t->end || n->eip != t->eip ||
		   ((n->eflags ^ t->eflags) & FLAGS_MASK) ||
		   n->signo != t->signo || n->trapno != t->trapno ||
		   n->err != t->err || n->cr2 != t->cr2) {
		ok = false;
	}
	for (i = 0; i < NREGS; i++)
		if (!(skip & 1u << i) && n->regs[i] != t->regs[i])
			ok = false;
	d = first_diff(n->data, t->data, DATA_SIZE);
	if (d >= 0) {
		fprintf(stderr, "#   data differs at DS:%#lx\n", d);
		ok = false;
	}
	d = first_diff(n->stack, t->stack, STACK_SIZE);
	if (d >= 0) {
		fprintf(stderr, "#   stack differs at %#lx\n", d + OFF_STACK);
		ok = false;
	}
	if (t->end == END_FAULT && t->map_kind != BT_MAP_INSN &&
	    !(S.c.checked && t->map_kind == BT_MAP_LIMIT) &&
	    !(t->stepped &&
	      (t->map_kind == BT_MAP_STEP || t->map_kind == BT_MAP_LIMIT ||
	       t->map_kind == BT_MAP_CALLOUT))) {
		fprintf(stderr, "#   the fault is not at a map INSN entry\n");
		ok = false;
	}
	if (!ok || n->end == END_LOST || t->end == END_LOST) {
		report("native", n);
		report("translated", t);
	}
	return ok && n->end != END_LOST;
}

static struct outcome native_out, bt_out, warm_out;

/*
 * The snippet natively, then translated twice: cold (every exit stub and
 * fast-table miss goes through the handler) and warm (the chained
 * translation runs on its own); both must match the native run.
 */
#define COMPARE(st, skip)                                        \
	do {                                                     \
		run(&native_out, RUN_NATIVE, st);                \
		run(&bt_out, RUN_BT, st);                        \
		ASSERT_TRUE(same(&native_out, &bt_out, skip));   \
		run(&warm_out, RUN_BT, st);                      \
		ASSERT_TRUE(same(&native_out, &warm_out, skip)); \
	} while (0)

/* The same with checked translation (a fresh cache), then unchecked. */
#define COMPARE_CHECKED(st, skip)   \
	do {                        \
		set_checked(true);  \
		COMPARE(st, skip);  \
		set_checked(false); \
	} while (0)

#define SETUP(name)                                         \
	do {                                                \
		const char *why_ = setup();                 \
		if (why_)                                   \
			SKIP(return, "%s", why_);           \
		load_guest_at(name##_start, name##_end, 0); \
	} while (0)

/* Registers with something in them; ESP is an offset in the low region. */
static struct start default_start(void)
{
	struct start st = {
		.regs = { 0x13579bdf, 0x2468ace0, 0x0f1e2d3c, 0x4b5a6978,
			  OFF_STACK + STACK_SIZE - 0x100, 0x8796a5b4,
			  0xc3d2e1f0, 0x11223344 },
		.eflags = 0x202,
		.es = DATA_SEL,
		.gs = GS_SEL,
		.vif = 0x02,
	};

	return st;
}

/* --- the tests ------------------------------------------------------------ */

TEST(alu_flags)
{
	struct start st = default_start();
	uint32_t seed = 12345;
	int i, r;

	SETUP(alu);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	COMPARE_CHECKED(&st, 0);
	/* Random inputs and flags through the same (warm) translation. */
	for (i = 0; i < 16; i++) {
		for (r = 0; r < NREGS; r++) {
			seed = seed * 1103515245u + 12345u;
			if (r != R_ESP)
				st.regs[r] = seed ^ (seed >> 13);
		}
		st.eflags = 0x202 | (seed & 0x8d5); /* CF PF AF ZF SF OF */
		COMPARE(&st, 0);
	}
}

TEST(memory_operands)
{
	struct start st = default_start();

	SETUP(mem);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	COMPARE_CHECKED(&st, 0);
}

TEST(string_ops)
{
	struct start st = default_start();

	SETUP(str);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	st.eflags |= 0x400; /* DF set at entry */
	COMPARE(&st, 0);
	COMPARE_CHECKED(&st, 0);
	st.eflags &= ~0x400u;
	COMPARE_CHECKED(&st, 0);
}

TEST(stack_ops)
{
	struct start st = default_start();

	SETUP(stack);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	COMPARE_CHECKED(&st, 0);
}

TEST(control_flow)
{
	struct start st = default_start();

	SETUP(flow);
	st.es = SMALL_SEL; /* not DS: an ES override must stay one */
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	/* The returns of the loop found their targets in the fast table. */
	EXPECT_LT(0, window_u32(BT_VP_IND_HITS));
	EXPECT_LT(0, S.ind_misses);
	EXPECT_LT(0, S.exits);
	EXPECT_LT(0, S.c.stats.chained);
	COMPARE_CHECKED(&st, 0);
}

TEST(indirect_branch_flags)
{
	struct start st = default_start();
	uint32_t seed = 777;
	int i;

	SETUP(indf);
	for (i = 0; i < 64; i++) { /* every CF PF AF ZF SF OF combination */
		seed = seed * 1103515245u + 12345u;
		st.eflags = 0x202 | (i & 1) | (i & 2) << 1 | (i & 4) << 2 |
			    (i & 8) << 3 | (i & 16) << 3 | (i & 32) << 6;
		st.regs[R_EAX] = seed;
		COMPARE(&st, 0);
		ASSERT_EQ(END_HLT, native_out.end);
	}
	EXPECT_LT(0, window_u32(BT_VP_IND_HITS));
	set_checked(true);
	for (i = 0; i < 64; i++) {
		st.eflags = 0x202 | (i & 1) | (i & 2) << 1 | (i & 4) << 2 |
			    (i & 8) << 3 | (i & 16) << 3 | (i & 32) << 6;
		COMPARE(&st, 0);
	}
}

TEST(cx_loops)
{
	struct start st = default_start();

	SETUP(cx16);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_EQ(0x10000, native_out.regs[R_ECX]);
	EXPECT_EQ(2, native_out.regs[R_EBX] & 3);
	COMPARE_CHECKED(&st, 0);
}

TEST(long_block)
{
	struct start st = default_start();

	SETUP(longblock);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_LE(4, S.translated); /* 181 instructions, 48 a block at most */
	COMPARE_CHECKED(&st, 0);
}

TEST(cli_sti_virtual_if)
{
	struct start st = default_start();
	const unsigned int if_regs = 1u << R_EDX | 1u << R_ESI | 1u << R_EDI;

	SETUP(clisti);
	st.viopl = 0x30; /* IOPL 3 in the translated PUSHFD image */
	COMPARE(&st, if_regs);
	EXPECT_EQ(END_HLT, native_out.end);
	/* Natively PUSHFD shows the real IF and IOPL (Robin & Irvine)... */
	EXPECT_EQ(0x200, native_out.regs[R_EDX]);
	EXPECT_EQ(0x200, native_out.regs[R_ESI]);
	EXPECT_EQ(0, native_out.regs[R_EDI]);
	EXPECT_EQ(6, S.native_emulated); /* 3 CLI and 3 STI trapped */
	/* ... translated, the virtual ones. */
	EXPECT_EQ(0, bt_out.regs[R_EDX]);
	EXPECT_EQ(0x200, bt_out.regs[R_ESI]);
	EXPECT_EQ(0x3000, bt_out.regs[R_EDI]);
	EXPECT_EQ(0x02, bt_out.vif);
	EXPECT_EQ(native_out.vif, bt_out.vif);

	/* An interrupt waiting: each STI calls out, at the next insn. */
	st.want = 1;
	COMPARE(&st, if_regs);
	EXPECT_EQ(3, native_out.nsti);
	EXPECT_EQ(native_out.nsti, bt_out.nsti);
	EXPECT_EQ(0, memcmp(native_out.sti_eips, bt_out.sti_eips,
			    sizeof(bt_out.sti_eips)));
	EXPECT_EQ(GUEST_EIP(clisti_last, clisti), bt_out.sti_eips[2]);
	COMPARE_CHECKED(&st, if_regs);
}

/* A fault: natively and translated at the same instruction, same state. */
static void check_fault(struct __test_metadata *_metadata,
			const struct start *st, uint32_t at, int signo,
			int trapno)
{
	COMPARE(st, 0);
	EXPECT_EQ(END_FAULT, native_out.end);
	EXPECT_EQ(at, native_out.eip);
	EXPECT_EQ(signo, native_out.signo);
	EXPECT_EQ(trapno, native_out.trapno);
	EXPECT_TRUE(bt_in_tc(&S.c, bt_out.tc_rip));
	if (!bt_out.stepped)
		EXPECT_EQ(BT_MAP_INSN, bt_out.map_kind);
	/* Checked: a limit fault is the check's verdict, others the CPU's. */
	COMPARE_CHECKED(st, 0);
	EXPECT_EQ(at, native_out.eip);
	if (bt_out.end == END_LIMIT) {
		EXPECT_EQ(BT_MAP_LIMIT, bt_out.map_kind);
	} else if (!bt_out.stepped) {
		EXPECT_EQ(BT_MAP_INSN, bt_out.map_kind);
	}
}

TEST(fault_ds_limit)
{
	struct start st = default_start();

	SETUP(f_dslimit);
	check_fault(_metadata, &st, GUEST_EIP(f_dslimit_at, f_dslimit), SIGSEGV,
		    13);
	EXPECT_EQ(0, native_out.err);
}

TEST(fault_rep_movs_es_limit)
{
	struct start st = default_start();

	SETUP(f_replimit);
	st.es = SMALL_SEL;
	check_fault(_metadata, &st, GUEST_EIP(f_replimit_at, f_replimit),
		    SIGSEGV, 13);
	/* stopped in the middle, at the limit */
	EXPECT_EQ(SMALL_LIM + 1, native_out.regs[R_EDI]);
	EXPECT_EQ(0x40 - (SMALL_LIM + 1 - 0xf0), native_out.regs[R_ECX]);
}

TEST(fault_null_segment)
{
	struct start st = default_start();

	SETUP(f_null);
	st.es = 0;
	check_fault(_metadata, &st, GUEST_EIP(f_null_at, f_null), SIGSEGV, 13);
	EXPECT_EQ(5, bt_out.regs[R_EAX]);
}

TEST(fault_null_segment_stos)
{
	struct start st = default_start();

	SETUP(f_nullstos);
	st.es = 0;
	check_fault(_metadata, &st, GUEST_EIP(f_nullstos_at, f_nullstos),
		    SIGSEGV, 13);
}

TEST(fault_indirect_call_operand)
{
	struct start st = default_start();

	SETUP(f_indcall);
	check_fault(_metadata, &st, GUEST_EIP(f_indcall_at, f_indcall), SIGSEGV,
		    13);
	EXPECT_EQ(0x1234, bt_out.regs[R_EAX]); /* EAX as the guest left it */
}

TEST(fault_pushfd_page)
{
	struct start st = default_start();

	SETUP(f_pushf);
	st.regs[R_ESP] = OFF_STACK; /* the next push hits the guard page */
	check_fault(_metadata, &st, GUEST_EIP(f_pushf_at, f_pushf), SIGSEGV,
		    14);
	EXPECT_EQ(S.low32 + OFF_STACK - 4, native_out.cr2);
	EXPECT_EQ(0xee, bt_out.regs[R_EAX]);
}

TEST(fault_ret_page)
{
	struct start st = default_start();

	SETUP(f_ret);
	st.regs[R_ESP] = OFF_GUARD + 0x800;
	check_fault(_metadata, &st, GUEST_EIP(f_ret_at, f_ret), SIGSEGV, 14);
	EXPECT_EQ(S.low32 + OFF_GUARD + 0x800, native_out.cr2);
}

TEST(fault_indirect_call_page)
{
	struct start st = default_start();

	SETUP(f_callind);
	st.regs[R_ESP] = OFF_STACK;
	check_fault(_metadata, &st, GUEST_EIP(f_callind_at, f_callind), SIGSEGV,
		    14);
	EXPECT_EQ(0x55, bt_out.regs[R_EAX]);
}

TEST(fault_call_page)
{
	struct start st = default_start();

	SETUP(f_call);
	st.regs[R_ESP] = OFF_STACK;
	check_fault(_metadata, &st, GUEST_EIP(f_call_at, f_call), SIGSEGV, 14);
}

TEST(fault_ud2)
{
	struct start st = default_start();

	SETUP(f_ud2);
	check_fault(_metadata, &st, GUEST_EIP(f_ud2_at, f_ud2), SIGILL, 6);
}

TEST(fault_divide)
{
	struct start st = default_start();

	SETUP(f_div0);
	check_fault(_metadata, &st, GUEST_EIP(f_div0_at, f_div0), SIGFPE, 0);
}

TEST(fault_bound)
{
	struct start st = default_start();

	SETUP(f_bound);
	check_fault(_metadata, &st, GUEST_EIP(f_bound_at, f_bound), SIGSEGV, 5);
}

TEST(native_steps)
{
	struct start st = default_start();

	SETUP(steps);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_EQ(0xfeedface, native_out.regs[R_EAX] - 1);
	EXPECT_LE(5, S.steps); /* %cs, jmp *%gs, callw, retw (and jmpw) */
}

TEST(segment_loads)
{
	struct start st = default_start();

	SETUP(segld);
	st.regs[R_EAX] = SMALL_SEL;
	st.regs[R_EBX] = DATA_SEL;
	st.regs[R_ECX] = RPL1(DATA_SEL);
	S.sreg_callouts = 0;
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_EQ(SMALL_SEL, native_out.regs[R_EDI]);
	EXPECT_EQ(SMALL_SEL, native_out.regs[R_EDX] & 0xffff);
	EXPECT_EQ(RPL1(DATA_SEL), native_out.regs[R_EBP]);
	/* the RPL 1 load called out, twice (cold and warm); no other did */
	EXPECT_EQ(2, S.sreg_callouts);
	EXPECT_EQ(0, S.steps);
}

TEST(fault_segment_load_empty)
{
	struct start st = default_start();

	SETUP(f_ldempty);
	st.regs[R_EDX] = EMPTY_SEL;
	check_fault(_metadata, &st, GUEST_EIP(f_ldempty_at, f_ldempty), SIGSEGV,
		    13);
	EXPECT_EQ(EMPTY_SEL & ~7u, native_out.err & ~7u);
	EXPECT_EQ(st.regs[R_EAX] + 3, bt_out.regs[R_EAX]);
}

TEST(fault_segment_load_not_present)
{
	struct start st = default_start();

	SETUP(f_ldnp);
	st.regs[R_EDX] = NP_SEL;
	check_fault(_metadata, &st, GUEST_EIP(f_ldnp_at, f_ldnp), SIGBUS, 11);
	EXPECT_EQ(NP_SEL & ~7u, native_out.err & ~7u);
}

TEST(fault_segment_load_operand)
{
	struct start st = default_start();

	SETUP(f_ldmem);
	check_fault(_metadata, &st, GUEST_EIP(f_ldmem_at, f_ldmem), SIGSEGV,
		    13);
	EXPECT_EQ(0, native_out.err);
	EXPECT_EQ(st.regs[R_ECX], bt_out.regs[R_ECX]); /* ECX: its own */
}

TEST(fault_segment_load_pop)
{
	struct start st = default_start();

	SETUP(f_ldpop);
	st.regs[R_ESP] = OFF_GUARD + 0x10;
	check_fault(_metadata, &st, GUEST_EIP(f_ldpop_at, f_ldpop), SIGSEGV,
		    14);
	EXPECT_EQ(7, bt_out.regs[R_ECX]);
}

TEST(fault_segment_load_rpl1)
{
	struct start st = default_start();

	SETUP(f_ldrpl1);
	st.regs[R_EDX] = RPL1(EMPTY_SEL);
	check_fault(_metadata, &st, GUEST_EIP(f_ldrpl1_at, f_ldrpl1), SIGSEGV,
		    13);
	EXPECT_TRUE(bt_out.stepped);
	EXPECT_EQ(BT_MAP_CALLOUT, bt_out.map_kind);
}

TEST(gs_operands)
{
	struct start st = default_start();
	uint32_t seed = 4242;
	int i;

	SETUP(gsops);
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_EQ(0, S.steps);
	/* it read the guest's GS, not the window */
	EXPECT_EQ(native_out.data[GS_OFF + 0x80], native_out.regs[R_EDX]);
	for (i = 0; i < 16; i++) {
		seed = seed * 1103515245u + 12345u;
		st.eflags = 0x202 | (seed & 0x8d5);
		st.regs[R_EAX] = seed;
		st.regs[R_EDX] = seed >> 7;
		COMPARE(&st, 0);
	}
}

/* A fault of the guest's instruction has the guest's GS loaded: its map
 * entry is the flagged one, and the guest resumes at the entry before.
 * (Run again unchecked: check_fault() ends with a checked run.) */
static void check_gs_fault(struct __test_metadata *_metadata,
			   const struct start *st)
{
	const struct bt_map *m;
	struct bt_block *b;

	COMPARE(st, 0);
	m = bt_map_find(&S.c, bt_out.tc_rip, &b);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(BT_MAPF_GUEST_GS, m->flags);
	EXPECT_EQ(m[-1].guest_eip, m->guest_eip);
	EXPECT_EQ(BT_MAP_INSN, m[-1].kind);
}

TEST(fault_gs_limit)
{
	struct start st = default_start();

	SETUP(f_gslimit);
	check_fault(_metadata, &st, GUEST_EIP(f_gslimit_at, f_gslimit), SIGSEGV,
		    13);
	EXPECT_EQ(0, native_out.err);
	check_gs_fault(_metadata, &st);
}

TEST(fault_gs_null)
{
	struct start st = default_start();

	SETUP(f_gsnull);
	st.gs = 0;
	check_fault(_metadata, &st, GUEST_EIP(f_gsnull_at, f_gsnull), SIGSEGV,
		    13);
	EXPECT_EQ(5, bt_out.regs[R_EAX]);
	check_gs_fault(_metadata, &st);
}

/* An instruction across CS's limit: #GP at it, fetched natively. */
TEST(fault_insn_across_cs_limit)
{
	struct start st = default_start();
	uint32_t at = GUEST_EIP(straddle_at, straddle);

	SETUP(straddle);
	st.eip = CODE_SIZE - 3 - at; /* 3 of the mov's 5 bytes in CS */
	load_guest_at(straddle_start, straddle_end, st.eip);
	check_fault(_metadata, &st, st.eip + at, SIGSEGV, 13);
	EXPECT_EQ(st.regs[R_EAX] + 1, bt_out.regs[R_EAX]);
}

/* Code that runs to the end of CS: #GP at EIP = limit + 1. */
TEST(fault_eip_past_cs_limit)
{
	struct start st = default_start();

	SETUP(offend);
	st.eip = CODE_SIZE - GUEST_EIP(offend_end_at, offend);
	load_guest_at(offend_start, offend_end, st.eip);
	check_fault(_metadata, &st, CODE_SIZE, SIGSEGV, 13);
}

TEST(popfd)
{
	struct start st = default_start();
	const unsigned int virt = 1u << R_EDX | 1u << R_EDI;

	SETUP(popf);
	COMPARE(&st, virt);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_EQ(0x200, native_out.regs[R_EDX]); /* the real IF */
	EXPECT_EQ(0, bt_out.regs[R_EDX]);	  /* the virtual one */
	EXPECT_EQ(0, native_out.regs[R_EDI]);
	EXPECT_EQ(0x3000, bt_out.regs[R_EDI]);
	EXPECT_EQ(4, S.popf_callouts); /* IOPL 0 -> 3 -> 0, twice */
	EXPECT_EQ(0x02, bt_out.vif);

	/* An interrupt waiting: every POPFD that sets IF calls out. */
	st.want = 1;
	S.popf_callouts = 0;
	COMPARE(&st, virt);
	EXPECT_EQ(10, S.popf_callouts);
	COMPARE_CHECKED(&st, virt);
}

TEST(push_sreg)
{
	struct start st = default_start();

	SETUP(sreg);
	st.es = SMALL_SEL;
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	EXPECT_EQ(GS_SEL, native_out.regs[R_EAX]);
	EXPECT_EQ(DATA_SEL, native_out.regs[R_ECX]);
	EXPECT_EQ(GUEST_SEL, native_out.regs[R_ESI]);
	EXPECT_EQ(SMALL_SEL, native_out.regs[R_EDI]);
	COMPARE_CHECKED(&st, 0);
}

TEST(fault_jmp_past_cs_limit)
{
	struct start st = default_start();

	SETUP(f_jmpfar);
	check_fault(_metadata, &st, GUEST_EIP(f_jmpfar_at, f_jmpfar), SIGSEGV,
		    13);
}

TEST(fault_call_past_cs_limit)
{
	struct start st = default_start();

	SETUP(f_callfar);
	check_fault(_metadata, &st, GUEST_EIP(f_callfar_at, f_callfar), SIGSEGV,
		    13);
	EXPECT_EQ(S.low32 + st.regs[R_ESP], bt_out.regs[R_ESP]); /* no push */
}

TEST(fault_jcc_past_cs_limit)
{
	struct start st = default_start();

	SETUP(f_jccfar);
	check_fault(_metadata, &st, GUEST_EIP(f_jccfar_at, f_jccfar), SIGSEGV,
		    13);
}

TEST(fault_loop_past_cs_limit)
{
	struct start st = default_start();

	SETUP(f_loopfar);
	st.eip = CODE_SIZE - 0x80; /* the target is past the limit */
	load_guest_at(f_loopfar_start, f_loopfar_end, st.eip);
	check_fault(_metadata, &st, st.eip + GUEST_EIP(f_loopfar_at, f_loopfar),
		    SIGSEGV, 13);
	EXPECT_EQ(3, bt_out.regs[R_ECX]); /* not counted down */
}

TEST(fault_popfd_page)
{
	struct start st = default_start();

	SETUP(f_popf);
	st.regs[R_ESP] = OFF_GUARD - 2; /* bytes 2 and 3 on the guard page */
	check_fault(_metadata, &st, GUEST_EIP(f_popf_at, f_popf), SIGSEGV, 14);
	EXPECT_EQ(S.low32 + OFF_GUARD, native_out.cr2);
	EXPECT_EQ(0x77, bt_out.regs[R_ECX]);
	EXPECT_EQ(0x02, bt_out.vif); /* the virtual IF untouched */
}

/* --- truncated limits: the CPU and the checked translation agree -------- */

/*
 * The last bytes below a truncated DS limit load and store; one more byte
 * faults: natively, translated (the CPU checks the limit on the copied
 * MOV) and checked (the check calls out at that MOV, registers intact).
 */
static void truncated_load(struct __test_metadata *_metadata, uint32_t ds,
			   uint32_t limit)
{
	struct start st = default_start();
	uint32_t at = GUEST_EIP(t_load_at, t_load);

	st.ds = ds;
	st.regs[R_EBX] = limit - 3;
	COMPARE(&st, 0);
	EXPECT_EQ(END_FAULT, native_out.end);
	EXPECT_EQ(at, native_out.eip);
	EXPECT_EQ(13, native_out.trapno);
	EXPECT_EQ(0, native_out.err);
	EXPECT_EQ(0x5a, S.low[OFF_DATA + limit]); /* the last byte written */
	COMPARE_CHECKED(&st, 0);
	EXPECT_EQ(END_LIMIT, bt_out.end);
	EXPECT_EQ(at, bt_out.eip);
	EXPECT_EQ(END_LIMIT, warm_out.end);
	/* a limit one dword further: no fault anywhere */
	st.regs[R_EBX] = limit - 7;
	COMPARE_CHECKED(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
}

TEST(truncated_ds_byte_granular)
{
	SETUP(t_load);
	truncated_load(_metadata, TRUNC_SEL, TRUNC_LIM);
}

TEST(truncated_ds_page_granular)
{
	SETUP(t_load);
	truncated_load(_metadata, TRUNC_G_SEL, TRUNC_G_PAGES * 0x1000 - 1);
}

/*
 * REP STOS across the limit: the CPU stores up to the limit and faults at
 * the first element past it (EDI, ECX there).  The check, covering the
 * whole count, fails before the first element; run natively element by
 * element after it (as the monitor resolves it) the REP ends exactly as
 * on the CPU.
 */
TEST(truncated_rep_stos)
{
	struct start st = default_start();

	SETUP(t_rep);
	st.es = TRUNC_SEL;
	check_fault(_metadata, &st, GUEST_EIP(t_rep_start, t_rep) + 12, SIGSEGV,
		    13);
	EXPECT_EQ(TRUNC_LIM + 1, native_out.regs[R_EDI]);
	EXPECT_EQ(0x20 - (TRUNC_LIM + 1 - 0x27f0), native_out.regs[R_ECX]);
	EXPECT_TRUE(bt_out.stepped);
	EXPECT_EQ(BT_MAP_LIMIT, bt_out.map_kind);
	EXPECT_LT(0, S.limit_steps);
}

/*
 * REP STOS downwards past offset 0: the CPU faults at the element that
 * wraps; the check sees the wrap before the first (its downward end).
 */
TEST(truncated_rep_stos_wraps_down)
{
	struct start st = default_start();

	SETUP(t_repdown);
	st.es = TRUNC_SEL;
	check_fault(_metadata, &st, GUEST_EIP(t_repdown_at, t_repdown), SIGSEGV,
		    13);
	EXPECT_EQ(0xffffffff, native_out.regs[R_EDI]);
	EXPECT_EQ(0x10 - 5, native_out.regs[R_ECX]);
	EXPECT_TRUE(bt_out.stepped);
	EXPECT_EQ(BT_MAP_LIMIT, bt_out.map_kind);
}

/* REP within the limit: no verdict, whichever way DF points. */
TEST(truncated_rep_within)
{
	struct start st = default_start();

	SETUP(t_rep_ok);
	st.es = TRUNC_SEL;
	st.ds = TRUNC_SEL;
	COMPARE(&st, 0);
	EXPECT_EQ(END_HLT, native_out.end);
	COMPARE_CHECKED(&st, 0);
	EXPECT_EQ(END_HLT, bt_out.end);
	/* the downward REP from 0x27ff is a false alarm until half done */
	EXPECT_LT(0, S.limit_steps);
}

/* POP at the truncated end of SS: #SS(0), and the check's verdict. */
TEST(truncated_ss_pop)
{
	struct start st = default_start();
	uint32_t at = GUEST_EIP(t_stack_at, t_stack);

	SETUP(t_stack);
	st.ss = TRUNC_SS_SEL;
	st.regs[R_ESP] = TRUNC_SS_END - 8;
	COMPARE(&st, 0);
	EXPECT_EQ(END_FAULT, native_out.end);
	EXPECT_EQ(at, native_out.eip);
	EXPECT_EQ(SIGBUS, native_out.signo);
	EXPECT_EQ(12, native_out.trapno);
	COMPARE_CHECKED(&st, 0);
	EXPECT_EQ(END_LIMIT, bt_out.end);
	EXPECT_EQ(at, bt_out.eip);
}

/* PUSH across the truncated end of SS from above: #SS(0) at the push. */
TEST(truncated_ss_push)
{
	struct start st = default_start();
	uint32_t at = GUEST_EIP(t_push_at, t_push);

	SETUP(t_push);
	st.ss = TRUNC_SS_SEL;
	st.regs[R_ESP] = TRUNC_SS_END + 2;
	COMPARE(&st, 0);
	EXPECT_EQ(END_FAULT, native_out.end);
	EXPECT_EQ(at, native_out.eip);
	EXPECT_EQ(12, native_out.trapno);
	COMPARE_CHECKED(&st, 0);
	EXPECT_EQ(END_LIMIT, bt_out.end);
	EXPECT_EQ(at, bt_out.eip);
	EXPECT_EQ(st.regs[R_EDX] + 1, bt_out.regs[R_EDX]);
	/* 4 bytes lower the push fits: no verdict */
	st.regs[R_ESP] = TRUNC_SS_END - 2;
	COMPARE_CHECKED(&st, 0);
	EXPECT_EQ(END_HLT, bt_out.end);
}

TEST_HARNESS_MAIN
