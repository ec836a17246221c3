/*
 * cx8flags - EFLAGS stays the guest's after a CMPXCHG8B behind a trap.
 *
 * QEMU 7.2's TCG computes the flags CMPXCHG8B leaves alone from its stale
 * lazy-flags state: right after an IRET (as a VMM's return into guest code
 * is) that is "EFLAGS is CC_SRC", and CC_SRC holds the last ADD's source
 * operand.  The image the CPU pushes for the next event then carries that
 * operand's bits: reserved ones, TF, NT, AC (QEMU 8.1 fixed it, "target/
 * i386: Inline cmpxchg8b").  A VMM that took that image as the guest's
 * EFLAGS would single-step its guest for ever, or turn its next IRET into
 * a task return.  bt86 takes TF, DF, NT, AC and ID from such a frame (one
 * with reserved bits) as they were, and no TF from translated code
 * (monitor/vcpu.c, frame_eflags()); its translator ends TCG's block before
 * each CMPXCHG8B, so translated ring 0 meets no junk at all.
 *
 * The probe, at ring 0 and at ring 3, interrupts off: SGDT (which a VMM
 * traps: bt calls it out from translated ring 0, and CR4.UMIP makes it
 * fault at CPL 1 and 3), ADD of 0xc0044100 (bits 31 and 30, AC, NT, TF),
 * a CMPXCHG8B whose comparison fails, SGDT again, PUSHF.  Natively nothing
 * traps between the ADD and the PUSHF, and a JMP before the first SGDT
 * leaves TCG's lazy flags in a state that gives no junk, so a CPU, TCG
 * included, shows none of those bits and takes no #DB.
 *
 * Checked, per ring: the PUSHF image has no reserved bit, TF, NT, AC or
 * ID; no single-step #DB arrived.  The arithmetic flags are not printed:
 * after that CMPXCHG8B they are QEMU's guess, natively too.
 */
#include "guest.h"

#define EFLAGS_NT (1u << 14)
#define EFLAGS_AC (1u << 18)
#define EFLAGS_ID (1u << 21)
/* TF, NT, AC, ID and the bits reserved as 0 (SDM Vol. 1, 3.4.3) */
#define JUNK_BITS (EFLAGS_TF | EFLAGS_NT | EFLAGS_AC | EFLAGS_ID | 0xffc08028u)
#define ROUNDS	  20

struct probe {
	uint32_t lo, hi; /* CMPXCHG8B's operand, never EDX:EAX = 0 */
	uint8_t gdtr[8]; /* what SGDT stores */
};

uint32_t cx8_probe(struct probe *p);
asm(".pushsection .text\n"
    ".globl cx8_probe\n"
    "cx8_probe:\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	movl 12(%esp), %esi\n"
    "	xorl %eax, %eax\n"
    "	xorl %edx, %edx\n"
    "	xorl %ebx, %ebx\n"
    "	xorl %ecx, %ecx\n"
    "	cmpl %eax, %eax\n"
    "	jmp 1f\n"
    "1:	sgdt 8(%esi)\n"
    "	addl $0xc0044100, %ecx\n"
    "	cmpxchg8b (%esi)\n"
    "	sgdt 8(%esi)\n"
    "	pushfl\n"
    "	popl %eax\n"
    "	cmpl %ecx, %ecx\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	ret\n"
    ".popsection\n");

static struct probe probe = { 0x11111111, 0x22222222, { 0 } };
static int steps;

/* A single-step #DB: count it and stop stepping. */
static void on_db(struct trap_frame *f)
{
	steps++;
	f->eflags &= ~EFLAGS_TF;
}

/* ROUNDS probes; the union of the junk bits their PUSHF showed. */
static int rounds(void *arg)
{
	uint32_t seen = 0;
	int i;

	(void)arg;
	for (i = 0; i < ROUNDS; i++)
		seen |= cx8_probe(&probe) & JUNK_BITS;
	return (int)seen;
}

static void check(const char *ring, uint32_t seen)
{
	ok(seen == 0,
	   "%s: PUSHF after CMPXCHG8B shows no reserved bit, TF, NT, AC or ID",
	   ring);
	if (seen)
		ktap_diag("bits %08x", seen);
	ok(steps == 0, "%s: no single-step trap", ring);
	if (steps)
		ktap_diag("%d #DB", steps);
	steps = 0;
}

int main(void)
{
	ktap_plan(4);
	trap_set_handler(VEC_DB, on_db);
	check("ring 0", (uint32_t)rounds(NULL));
	pic_init(); /* ring 3 runs with IF = 1: nothing may arrive */
	user_init();
	check("ring 3", (uint32_t)user_run(rounds, NULL));
	ktap_finish();
}
