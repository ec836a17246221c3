/*
 * difftest - differential test of the CPU's general-purpose instructions,
 * in the manner of PokeEMU (Martignoni et al., ASPLOS 2012) but with random
 * instead of path-explored inputs.
 *
 * For each test case a seeded PRNG chooses EAX..EDI (not ESP), the
 * arithmetic flags and DF, and fills a 4 KiB data area; a generator writes
 * a random sequence of instructions into a code buffer; the harness loads
 * the registers, jumps to the code, and saves the registers and EFLAGS when
 * the code jumps (or returns) back.  A digest of the final registers, the
 * defined flags, the data area and the stack the code used goes into the
 * digest of the batch, and one KTAP line per batch prints it:
 *
 *	ok 7 batch 7 ring 0: digest 0xfa262614, 10 #DE
 *
 * The same image under a correct CPU or VMM prints the same text: the
 * native run (qemu-system-i386) is the reference for kvm, tae and bt.
 *
 * What the generator emits (one "item" is an instruction with the setup it
 * needs, or a control structure with items inside):
 *   ALU       add/or/adc/sbb/and/sub/xor/cmp in every form (r/m,r; r,r/m;
 *             acc,imm; 80/81/82/83), test, inc/dec (both encodings),
 *             neg/not, mul/imul (one, two and three operands), div/idiv
 *             (mostly with guarded operands; the others may raise #DE, which
 *             the handler counts and skips), cmpxchg, cmpxchg8b, xadd
 *   shifts    rol/ror/rcl/rcr/shl/shr/sar by 1, imm8 and CL, shld/shrd
 *   bits      bt/bts/btr/btc (register and immediate offsets, memory
 *             operands with bit offsets reaching outside the operand),
 *             bsf/bsr, setcc, cmovcc, bswap
 *   moves     mov (all forms incl. moffs), movzx/movsx, xchg, lea with every
 *             32-bit and 16-bit (67) addressing form, cbw/cwde/cwd/cdq, xlat,
 *             lahf/sahf, clc/stc/cmc/cld/std, multi-byte nop
 *   BCD       daa/das/aaa/aas/aam/aad
 *   stack     push/pop of registers, immediates and memory, pushf/popf,
 *             pusha/popa, enter/leave, 16-bit forms
 *   strings   movs/stos/lods/cmps/scas, 8/16/32-bit, with and without
 *             rep/repe/repne, with DF 0 and 1
 *   control   jcc and jecxz/jcxz/loop forward over items (short and near),
 *             jmp over dead code (items or random bytes), counted backward
 *             loops (loop/loope/loopne, dec+jnz), calls to local
 *             subroutines (direct, through a register, through memory, with
 *             arguments and ret imm16, called once or twice), indirect jmp
 *             through a register, through memory, and push+ret
 *   operands  8/16/32-bit sizes, memory operands in the data area through
 *             every addressing form (absolute, base, base+disp8/32, SIB with
 *             and without base and index, data-dependent indices), segment
 *             override prefixes (ES/SS/DS/FS/GS, all flat), prefixes in
 *             either order
 *
 * Undefined results.  The digest must not depend on what the SDM leaves
 * undefined, so the generator tracks which arithmetic flags are undefined
 * at each point (after mul, div, bsf, multi-bit shifts, logic ops' AF, ...;
 * conservatively across branches and loops).  An instruction that reads
 * a flag that may be undefined (jcc, setcc, adc, daa, pushf, ...) gets a
 * CMP in front that defines all six, and the final EFLAGS are masked to
 * the flags that are defined.  BSF/BSR are followed by CMOVZ from their
 * source, so that a zero source (undefined destination) gives 0; 8/16-bit
 * shifts and rotates whose count reaches the operand size leave CF
 * undefined; SHLD/SHRD on 16 bits shift by at most 15.  Defined results
 * that differ between vendors are avoided too (AAA/AAS near AL overflow),
 * and so is a bug of QEMU 7.2, the reference (see t_misc()).
 *
 * IF and IOPL.  The case runs with the real IF and IOPL of the ring it runs
 * at, which a VMM may not show (under tae guest ring 0 runs at CPL 1 with
 * IF=1 and IOPL 0: PUSHF shows them, POPF ignores them).  So every PUSHF
 * the generator emits is followed by an AND that clears IF and IOPL in the
 * pushed image, POPF only pops images with IF=0 and IOPL=0 (ignored or
 * unchanged at every ring), and the digest keeps only the arithmetic flags
 * and DF.  The sensitive guest checks PUSHF and POPF themselves.
 *
 * Every fourth batch runs at ring 3 (user_run(), lib/user.h): the harness,
 * the generator and the code all run there.
 *
 * The command line (--append) changes the run:
 *	seed=S      the PRNG seed (default 1); each batch is seeded from
 *	            (S, batch), so batches are independent
 *	batches=N   number of batches, one KTAP line each (default 40)
 *	cases=N     test cases per batch (default 100)
 *	count=N     N cases in all: as many batches of cases= as that takes
 *	ring3=N     every Nth batch at ring 3 (default 4; 0: never)
 *	verbose=1   a "# case N: digest" line per case, to find the first case
 *	            that differs between two runs
 *	trace=N     single-step case N (TF) and print the registers after
 *	            each instruction of its code: the first line that differs
 *	            between two runs names the instruction (traced digests
 *	            differ from untraced ones: PUSHF images carry TF)
 *	first=B     start at batch B (the batches before it are not run)
 *	dump=N      print case N (counting from 0 over all batches): its
 *	            initial and final registers and the code bytes (to
 *	            objdump -D -b binary -mi386 --adjust-vma=ADDR)
 * A long run, natively and in the sandbox: make difftest-long; how to find
 * the case and the instruction behind a different digest: docs/testing.md.
 */
#include "guest.h"

#define DATA_SIZE  4096
#define CODE_SIZE  16384
#define STACK_SIZE 8192
#define CODE_ROOM  4096 /* no item starts closer to the end of the code */
#define MAX_DEPTH  192	/* bytes the code may push, at most */
#define MAX_NEST   2	/* control structures inside control structures */
#define MAX_SITES  512	/* instructions that may raise #DE, per case */
#define SHORT_BODY 64	/* bytes of items in a body reached by a rel8 */

#define DEFAULT_BATCHES 40
#define DEFAULT_CASES	100
#define DEFAULT_RING3	4

/* EFLAGS bits (Intel SDM Vol. 1, 3.4.3). */
#define F_CF	0x001u
#define F_PF	0x004u
#define F_AF	0x010u
#define F_ZF	0x040u
#define F_SF	0x080u
#define F_IF	0x200u
#define F_DF	0x400u
#define F_OF	0x800u
#define F_IOPL	0x3000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

enum {
	EAX,
	ECX,
	EDX,
	EBX,
	ESP,
	EBP,
	ESI,
	EDI
};
#define BIT(r) (1u << (r))

/*
 * The code, the data and the stack on pages of their own: QEMU (and a
 * binary translator) invalidates translated code when its page is written,
 * which must happen once per case, not on every data write.
 */
uint8_t dt_code[CODE_SIZE] __attribute__((aligned(4096)));
uint8_t dt_data[DATA_SIZE] __attribute__((aligned(4096)));
uint8_t dt_stack[STACK_SIZE] __attribute__((aligned(4096)));
#define DATA_ADDR ((uint32_t)dt_data)
#define CODE_ADDR ((uint32_t)dt_code)
#define STACK_TOP ((uint32_t)dt_stack + STACK_SIZE)

/* --- the harness ---------------------------------------------------------- */

/* The register file in and out of a case (offsets used by the asm below). */
struct regs {
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eflags;
};

struct regs dt_in, dt_out;
uint32_t dt_entry, dt_host_esp;

void dt_run(void);
extern char dt_exit[];

/*
 * dt_run(): save the caller's registers and EFLAGS, switch to the test
 * stack with dt_exit as the return address on top, load dt_in and jump to
 * dt_entry.  The code ends with a JMP to dt_exit or a RET; dt_exit saves
 * the registers and EFLAGS in dt_out (ESP as the code left it) and returns
 * to the caller.  Works at ring 0 and ring 3 alike (flat segments).
 */
asm(".text\n"
    ".globl dt_run\n"
    "dt_run:\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	pushfl\n"
    "	movl %esp, dt_host_esp\n"
    "	movl $dt_stack + 8192, %esp\n"
    "	pushl $dt_exit\n"
    "	pushl dt_in + 32\n"
    "	popfl\n"
    "	movl dt_in + 0, %eax\n"
    "	movl dt_in + 4, %ecx\n"
    "	movl dt_in + 8, %edx\n"
    "	movl dt_in + 12, %ebx\n"
    "	movl dt_in + 20, %ebp\n"
    "	movl dt_in + 24, %esi\n"
    "	movl dt_in + 28, %edi\n"
    "	jmp *dt_entry\n"
    ".globl dt_exit\n"
    "dt_exit:\n"
    "	pushfl\n"
    "	movl %eax, dt_out + 0\n"
    "	movl %ecx, dt_out + 4\n"
    "	movl %edx, dt_out + 8\n"
    "	movl %ebx, dt_out + 12\n"
    "	movl %ebp, dt_out + 20\n"
    "	movl %esi, dt_out + 24\n"
    "	movl %edi, dt_out + 28\n"
    "	popl dt_out + 32\n"
    "	movl %esp, dt_out + 16\n"
    "	movl dt_host_esp, %esp\n"
    "	popfl\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	ret\n");

_Static_assert(STACK_SIZE == 8192, "dt_run's asm knows the stack size");

/* --- command line --------------------------------------------------------- */

/* The value of "KEY=" on the command line, or NULL. */
static const char *arg(const char *key)
{
	const char *s = multiboot_cmdline();
	size_t len = strlen(key);

	for (; *s; s++) {
		if ((s == multiboot_cmdline() || s[-1] == ' ') &&
		    strncmp(s, key, len) == 0 && s[len] == '=')
			return s + len + 1;
	}
	return NULL;
}

static uint32_t arg_num(const char *key, uint32_t dflt)
{
	const char *s = arg(key);

	if (!s || *s < '0' || *s > '9')
		return dflt;
	return strtou(&s);
}

/* --- PRNG: xorshift128 (Marsaglia, "Xorshift RNGs", 2003) ----------------- */

static uint32_t rs[4];

static uint32_t r32(void)
{
	uint32_t t = rs[3], s = rs[0];

	rs[3] = rs[2];
	rs[2] = rs[1];
	rs[1] = s;
	t ^= t << 11;
	t ^= t >> 8;
	rs[0] = t ^ s ^ (s >> 19);
	return rs[0];
}

/* A state from (a, b) through the murmur3 finalizer; never all zero. */
static void seed_rng(uint32_t a, uint32_t b)
{
	uint32_t x = a * 0x9e3779b9u ^ b * 0x85ebca6bu ^ 0x5bd1e995u;
	int i;

	for (i = 0; i < 4; i++) {
		uint32_t z = (x += 0x9e3779b9u);

		z = (z ^ (z >> 16)) * 0x85ebca6bu;
		z = (z ^ (z >> 13)) * 0xc2b2ae35u;
		rs[i] = (z ^ (z >> 16)) | (i == 0);
	}
}

/* Uniform in [0, n) (a 32x32 multiply: no 64-bit division). */
static uint32_t rnd(uint32_t n)
{
	return (uint32_t)(((uint64_t)r32() * n) >> 32);
}

static int chance(uint32_t percent)
{
	return rnd(100) < percent;
}

/* Register and immediate values: edge cases more often than chance would. */
static uint32_t rand_val(void)
{
	static const uint32_t special[] = {
		0,	    1,		2,	    9,		0x0f,
		0x10,	    0x7f,	0x80,	    0x99,	0xff,
		0x100,	    0x7fff,	0x8000,	    0xffff,	0x10000,
		0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
	};

	switch (rnd(6)) {
	case 0:
		return special[rnd(sizeof(special) / sizeof(special[0]))];
	case 1:
		return rnd(64);
	case 2:
		return -rnd(64);
	case 3:
		return r32() & 0xffff;
	default:
		return r32();
	}
}

/* --- the digest: FNV-1a's prime over 32-bit words, xorshift folded --- */

#define HASH_INIT 0x811c9dc5u

static uint32_t mix(uint32_t h, uint32_t v)
{
	h = (h ^ v) * 0x01000193u;
	return h ^ (h >> 15);
}

/* --- the generator -------------------------------------------------------- */

static struct gen {
	uint8_t *p;	  /* next byte */
	uint32_t undef;	  /* arithmetic flags now undefined */
	uint32_t protect; /* registers items must not write */
	int depth;	  /* bytes the code has pushed */
	int floor;	  /* depth at the start of the current scope */
	int nest;	  /* control structures we are in */
} g;

/* Instructions that may raise #DE: where they start and how long they are. */
static struct {
	uint32_t off;
	uint32_t len;
} sites[MAX_SITES];
static int nsites;
static int gen_failed; /* the generator broke one of its own rules */

static void b1(uint32_t v)
{
	*g.p++ = (uint8_t)v;
}

static void b2(uint32_t v)
{
	b1(v);
	b1(v >> 8);
}

static void b4(uint32_t v)
{
	b2(v);
	b2(v >> 16);
}

static void imm(int size, uint32_t v)
{
	if (size == 1)
		b1(v);
	else if (size == 2)
		b2(v);
	else
		b4(v);
}

static uint32_t here(void)
{
	return (uint32_t)g.p;
}

static void fault_site(uint8_t *start)
{
	if (nsites < MAX_SITES) {
		sites[nsites].off = start - dt_code;
		sites[nsites].len = g.p - start;
		nsites++;
	} else {
		gen_failed = 1;
	}
}

/* Operand size: 1, 2 (0x66 prefix) or 4 bytes. */
static int rsize(void)
{
	uint32_t r = rnd(20);

	return r < 5 ? 1 : r < 9 ? 2 : 4;
}

/* The 32-bit register behind register code @code at operand size @size. */
static int reg32(int size, int code)
{
	return size == 1 ? (code & 3) : code;
}

static uint32_t writable(void)
{
	return 0xffu & ~g.protect & ~BIT(ESP);
}

static int can_write(int size, int code)
{
	return (writable() & BIT(reg32(size, code))) != 0;
}

/* A random register in @mask, or -1. */
static int pick(uint32_t mask)
{
	int n = 0, i;

	for (i = 0; i < 8; i++)
		n += (mask >> i) & 1;
	if (!n)
		return -1;
	i = rnd(n);
	while (i--)
		mask &= mask - 1;
	return __builtin_ctz(mask);
}

/* A register code the item may write (its 32-bit register not in @avoid). */
static int wreg(int size, uint32_t avoid)
{
	uint32_t ok = 0;
	int c;

	for (c = 0; c < 8; c++)
		if (can_write(size, c) && !(BIT(reg32(size, c)) & avoid))
			ok |= BIT(c);
	return pick(ok);
}

/* A register code to read: any, ESP included (its value is known). */
static int rreg(int size)
{
	if (size > 1 && chance(90))
		return pick(0xffu & ~BIT(ESP));
	return rnd(8);
}

static void flags(uint32_t defined, uint32_t undefined)
{
	g.undef = (g.undef & ~defined) | undefined;
}

/* Make the flags in @need defined (CMP defines all six). */
static void need(uint32_t need)
{
	int r = rnd(8);

	if (!(g.undef & need))
		return;
	switch (rnd(3)) {
	case 0:
		b1(0x83); /* cmp r32, imm8 */
		b1(0xf8 | r);
		b1(rand_val());
		break;
	case 1:
		b1(0x81); /* cmp r32, imm32 */
		b1(0xf8 | r);
		b4(rand_val());
		break;
	default:
		b1(0x39); /* cmp r/m32, r32 */
		b1(0xc0 | rnd(8) << 3 | r);
		break;
	}
	flags(F_ARITH, 0);
}

/* The flags condition code @cc (the low nibble of Jcc/SETcc/CMOVcc) reads. */
static const uint32_t cc_flags[16] = {
	F_OF,
	F_OF,
	F_CF,
	F_CF,
	F_ZF,
	F_ZF,
	F_CF | F_ZF,
	F_CF | F_ZF,
	F_SF,
	F_SF,
	F_PF,
	F_PF,
	F_SF | F_OF,
	F_SF | F_OF,
	F_ZF | F_SF | F_OF,
	F_ZF | F_SF | F_OF,
};

static void mov_imm(int r, uint32_t v)
{
	b1(0xb8 + r);
	b4(v);
}

/*
 * An r/m operand: a register (mod 3) or memory (ModRM with reg field 0,
 * SIB and displacement in b[]).  regs: the registers the address uses.
 */
struct opnd {
	int mem;
	int rm;
	uint8_t seg;
	uint8_t b[6];
	int n;
	uint32_t regs;
};

static const uint8_t seg_prefix[] = { 0x26, 0x36, 0x3e, 0x64, 0x65 };

static void put_disp(struct opnd *o, int bytes, uint32_t d)
{
	int i;

	for (i = 0; i < bytes; i++)
		o->b[o->n++] = d >> (8 * i);
}

/* A displacement for ModRM mod @mod: none, disp8 (sign-extended), disp32. */
static uint32_t rand_disp(int mod)
{
	if (mod == 1)
		return (uint32_t)(int8_t)r32();
	return mod ? rand_val() : 0;
}

/*
 * A memory operand whose bytes [EA - before, EA + size) lie in the data
 * area, in one of the addressing forms; emits the instructions that set up
 * its registers (never one in @avoid, nor a protected one).
 */
static void gen_mem(int before, int size, uint32_t avoid, struct opnd *o)
{
	uint32_t w = writable() & ~avoid, ea, disp, ival = 0;
	int lo = before, hi = DATA_SIZE - size, base, idx, scale, mod, form;

	o->mem = 1;
	o->n = 0;
	o->regs = 0;
	o->seg = chance(12) ? seg_prefix[rnd(5)] : 0;
	form = rnd(10);
	base = pick(w & ~BIT(EBP));
	idx = base < 0 ? -1 : pick(w & ~BIT(base));
	if (idx < 0)
		form = 0;
	scale = rnd(4);
	ea = lo + rnd(hi - lo + 1);
	switch (form) {
	case 1: /* [base] */
		mov_imm(base, DATA_ADDR + ea);
		o->b[o->n++] = base;
		o->regs = BIT(base);
		break;
	case 2: /* [base + disp8], EBP allowed */
		if (chance(30) && (w & BIT(EBP)))
			base = EBP;
		disp = (int8_t)r32();
		mov_imm(base, DATA_ADDR + ea - disp);
		o->b[o->n++] = 0x40 | base;
		put_disp(o, 1, disp);
		o->regs = BIT(base);
		break;
	case 3: /* [base + disp32] */
		disp = rand_val();
		mov_imm(base, DATA_ADDR + ea - disp);
		o->b[o->n++] = 0x80 | base;
		put_disp(o, 4, disp);
		o->regs = BIT(base);
		break;
	case 4: /* [base + index * scale + disp], index a known value */
		mod = rnd(3);
		disp = rand_disp(mod);
		ival = chance(50) ? rnd(256) : rand_val();
		mov_imm(idx, ival);
		mov_imm(base, DATA_ADDR + ea - (ival << scale) - disp);
		o->b[o->n++] = mod << 6 | 4;
		o->b[o->n++] = scale << 6 | idx << 3 | base;
		put_disp(o, mod == 1 ? 1 : mod ? 4 : 0, disp);
		o->regs = BIT(base) | BIT(idx);
		break;
	case 5: /* [index * scale + disp32], index a known value */
		ival = rand_val();
		mov_imm(idx, ival);
		o->b[o->n++] = 0x04;
		o->b[o->n++] = scale << 6 | idx << 3 | 5;
		put_disp(o, 4, DATA_ADDR + ea - (ival << scale));
		o->regs = BIT(idx);
		break;
	case 6: /* [index * scale + disp32], index from a data byte */
	case 7: /* [base + index * scale + disp], index from a data byte */
		if (hi - lo < (255 << scale))
			scale = 0;
		ea = lo + rnd(hi - lo - (255 << scale) + 1);
		b1(0x0f); /* movzx idx, r8 */
		b1(0xb6);
		b1(0xc0 | idx << 3 | rnd(8));
		if (form == 6) {
			o->b[o->n++] = 0x04;
			o->b[o->n++] = scale << 6 | idx << 3 | 5;
			put_disp(o, 4, DATA_ADDR + ea);
			o->regs = BIT(idx);
			break;
		}
		mod = 1 + rnd(2);
		disp = rand_disp(mod);
		mov_imm(base, DATA_ADDR + ea - disp);
		o->b[o->n++] = mod << 6 | 4;
		o->b[o->n++] = scale << 6 | idx << 3 | base;
		put_disp(o, mod == 1 ? 1 : 4, disp);
		o->regs = BIT(base) | BIT(idx);
		break;
	case 8: /* [base + disp] through a SIB without index */
		mod = rnd(3);
		disp = rand_disp(mod);
		mov_imm(base, DATA_ADDR + ea - disp);
		o->b[o->n++] = mod << 6 | 4;
		o->b[o->n++] = rnd(4) << 6 | 4 << 3 | base;
		put_disp(o, mod == 1 ? 1 : mod ? 4 : 0, disp);
		o->regs = BIT(base);
		break;
	case 9: /* AND-masked register + disp32 */
		ea = lo + rnd(hi - lo - 0x7ff + 1);
		b1(0x81); /* and r32, imm32 */
		b1(0xe0 | base);
		b4(chance(50) ? 0x7ff : 0x7ff & r32());
		flags(F_ARITH & ~F_AF, F_AF);
		o->b[o->n++] = 0x80 | base;
		put_disp(o, 4, DATA_ADDR + ea);
		o->regs = BIT(base);
		break;
	default: /* [disp32] */
		o->b[o->n++] = 0x05;
		put_disp(o, 4, DATA_ADDR + ea);
		break;
	}
}

/*
 * An r/m operand of @size: memory with @mem_pct percent, else a register
 * (one the item may write if @write), never using a register in @avoid.
 * Returns 0 if no register fits.
 */
static int gen_rm(int size, int write, uint32_t avoid, uint32_t mem_pct,
		  struct opnd *o)
{
	if (chance(mem_pct)) {
		gen_mem(0, size, avoid, o);
		return 1;
	}
	o->mem = 0;
	o->regs = 0;
	o->rm = write ? wreg(size, avoid) : rreg(size);
	if (write && o->rm < 0)
		return 0;
	/* A source in @avoid: take BL/EBX, or AL/EAX if that is EBX. */
	if (!write && (BIT(reg32(size, o->rm)) & avoid))
		o->rm = reg32(size, o->rm) == EAX ? EBX : EAX;
	return !(BIT(reg32(size, o->rm)) & avoid);
}

/*
 * One instruction: prefixes (segment and 0x66, in either order), opcode,
 * ModRM with @reg in its reg field and the r/m operand @o (NULL: none).
 * Returns where it starts.  The caller appends an immediate.
 */
static uint8_t *insn(int size, const uint8_t *op, int nop, int reg,
		     const struct opnd *o)
{
	uint8_t *start = g.p;
	int seg = o && o->mem && o->seg, swap = chance(30);
	int i;

	if (seg && swap)
		b1(o->seg);
	if (size == 2)
		b1(0x66);
	if (seg && !swap)
		b1(o->seg);
	for (i = 0; i < nop; i++)
		b1(op[i]);
	if (!o)
		return start;
	if (!o->mem) {
		b1(0xc0 | reg << 3 | o->rm);
		return start;
	}
	b1(o->b[0] | reg << 3);
	for (i = 1; i < o->n; i++)
		b1(o->b[i]);
	return start;
}

static uint8_t *insn1(int size, uint32_t op, int reg, const struct opnd *o)
{
	uint8_t b = op;

	return insn(size, &b, 1, reg, o);
}

static uint8_t *insn2(int size, uint32_t op, int reg, const struct opnd *o)
{
	uint8_t b[2] = { 0x0f, (uint8_t)op };

	return insn(size, b, 2, reg, o);
}

/* The byte (size 1) or word/dword (size 2, 4) form of an opcode. */
static uint32_t wide(uint32_t op, int size)
{
	return size == 1 ? op : op | 1;
}

/* --- instruction items ---------------------------------------------------- */

/* add/or/adc/sbb/and/sub/xor/cmp in all forms. */
static void t_alu(void)
{
	int op = rnd(8), size = rsize(), write = op != 7, r;
	uint32_t rd = op == 2 || op == 3 ? F_CF : 0;
	struct opnd o;

	switch (rnd(6)) {
	case 0: /* r/m, reg */
		if (!gen_rm(size, write, 0, 40, &o))
			return;
		r = rreg(size);
		need(rd);
		insn1(size, wide(op * 8, size), r, &o);
		break;
	case 1: /* reg, r/m */
		r = write ? wreg(size, 0) : rreg(size);
		if (r < 0 || !gen_rm(size, 0, 0, 40, &o))
			return;
		need(rd);
		insn1(size, wide(op * 8 + 2, size), r, &o);
		break;
	case 2: /* AL/AX/EAX, imm */
		if (write && !can_write(size, EAX))
			return;
		need(rd);
		insn1(size, wide(op * 8 + 4, size), 0, NULL);
		imm(size, rand_val());
		break;
	case 3: /* 80/81 /op, imm */
		if (!gen_rm(size, write, 0, 40, &o))
			return;
		need(rd);
		insn1(size, wide(0x80, size), op, &o);
		imm(size, rand_val());
		break;
	default: /* 83 /op, imm8 sign-extended; 82 /op (8-bit) */
		if (!gen_rm(size, write, 0, 40, &o))
			return;
		need(rd);
		insn1(size, size == 1 ? 0x82 : 0x83, op, &o);
		b1(rand_val());
		break;
	}
	if (op == 1 || op == 4 || op == 6) /* or, and, xor: AF undefined */
		flags(F_ARITH & ~F_AF, F_AF);
	else
		flags(F_ARITH, 0);
}

/* test r/m, reg; test acc, imm; test r/m, imm. */
static void t_test(void)
{
	int size = rsize();
	struct opnd o;

	switch (rnd(3)) {
	case 0:
		gen_rm(size, 0, 0, 40, &o);
		insn1(size, wide(0x84, size), rreg(size), &o);
		break;
	case 1:
		insn1(size, wide(0xa8, size), 0, NULL);
		imm(size, rand_val());
		break;
	default:
		gen_rm(size, 0, 0, 40, &o);
		insn1(size, wide(0xf6, size), 0, &o);
		imm(size, rand_val());
		break;
	}
	flags(F_ARITH & ~F_AF, F_AF);
}

/* inc/dec (FE/FF /0 /1 and the one-byte 40+r/48+r), neg, not. */
static void t_incdec(void)
{
	int size = rsize(), op = rnd(4), r;
	struct opnd o;

	if (op < 2 && size > 1 && chance(40)) {
		r = wreg(size, 0);
		if (r < 0)
			return;
		insn1(size, (op ? 0x48 : 0x40) + r, 0, NULL);
	} else if (op < 2) {
		if (!gen_rm(size, 1, 0, 40, &o))
			return;
		insn1(size, wide(0xfe, size), op, &o);
	} else {
		if (!gen_rm(size, 1, 0, 40, &o))
			return;
		insn1(size, wide(0xf6, size), op, &o); /* /2 not, /3 neg */
	}
	if (op < 2)
		flags(F_ARITH & ~F_CF, 0);
	else if (op == 3)
		flags(F_ARITH, 0);
}

/* mul/imul r/m (F6/F7 /4 /5), imul r, r/m (0F AF), imul r, r/m, imm. */
static void t_mul(void)
{
	int size = rsize(), r;
	struct opnd o;

	switch (rnd(3)) {
	case 0:
		if (!can_write(4, EAX) || (size > 1 && !can_write(4, EDX)))
			return;
		gen_rm(size, 0, 0, 40, &o);
		insn1(size, wide(0xf6, size), 4 + rnd(2), &o);
		break;
	case 1:
		size = size == 1 ? 4 : size;
		r = wreg(size, 0);
		if (r < 0)
			return;
		gen_rm(size, 0, 0, 40, &o);
		insn2(size, 0xaf, r, &o);
		break;
	default:
		size = size == 1 ? 4 : size;
		r = wreg(size, 0);
		if (r < 0)
			return;
		gen_rm(size, 0, 0, 40, &o);
		if (chance(50)) {
			insn1(size, 0x6b, r, &o);
			b1(rand_val());
		} else {
			insn1(size, 0x69, r, &o);
			imm(size, rand_val());
		}
		break;
	}
	flags(F_CF | F_OF, F_SF | F_ZF | F_AF | F_PF);
}

/*
 * div/idiv.  Mostly guarded: the dividend's upper half cleared (div) or
 * the sign extension of the lower (idiv), the divisor made odd, so that
 * #DE is left to INT_MIN / -1.  Unguarded ones often raise #DE, which the
 * handler counts and skips.
 */
static void t_div(void)
{
	int size = rsize(), op = 6 + rnd(2), guard = chance(75);
	struct opnd o;
	uint8_t *start;

	if (!can_write(4, EAX) || (size > 1 && !can_write(4, EDX)))
		return;
	/* A divisor register other than the dividend's. */
	if (!gen_rm(size, guard, size == 1 ? BIT(EAX) : BIT(EAX) | BIT(EDX), 40,
		    &o))
		return;
	if (guard) {
		if (op == 6) { /* div: upper half 0 */
			if (size == 1)
				b2(0x00b4); /* mov ah, 0 */
			else
				insn1(size, 0x31, EDX,
				      &(struct opnd){ .rm = EDX });
		} else { /* idiv: cbw, cwd, cdq */
			insn1(size == 4 ? 4 : 2, size == 1 ? 0x98 : 0x99, 0,
			      NULL);
		}
		insn1(size, wide(0x80, size), 1, &o); /* or r/m, 1 */
		imm(size == 1 ? 1 : size, 1);
	}
	start = insn1(size, wide(0xf6, size), op, &o);
	fault_site(start);
	flags(0, F_ARITH);
}

/* Shifts and rotates by 1, imm8 and CL (the count masked to 5 bits). */
static void t_shift(void)
{
	static const int ops[] = { 0, 1, 2, 3, 4, 5, 7 };
	int op = ops[rnd(7)], size = rsize(), kind = rnd(3), bits = size * 8;
	int rot = op < 4, count = -1; /* the masked count, -1: unknown */
	uint32_t def = 0, und = 0, c8 = 0;
	struct opnd o;

	if (!gen_rm(size, 1, 0, 35, &o))
		return;
	if (kind == 1) {
		c8 = chance(60) ? rnd(bits + 1) : rnd(256);
		count = c8 & 31;
	} else if (kind == 2 && can_write(1, ECX) && !(o.regs & BIT(ECX)) &&
		   chance(50)) {
		c8 = chance(60) ? rnd(bits + 1) : rnd(256);
		b1(0xb1); /* mov cl, imm8 */
		b1(c8);
		count = c8 & 31;
	} else if (kind == 0) {
		count = 1;
	}
	if (op == 2 || op == 3)
		need(F_CF); /* rcl/rcr rotate CF in */
	if (kind == 0)
		insn1(size, wide(0xd0, size), op, &o);
	else if (kind == 1)
		insn1(size, wide(0xc0, size), op, &o);
	else
		insn1(size, wide(0xd2, size), op, &o);
	if (kind == 1)
		b1(c8);

	if (count == 0)
		return; /* no flag changes */
	if (count < 0) {
		/*
		 * Unknown count: flags that a nonzero count defines keep
		 * their state (a zero count leaves them), the others become
		 * undefined; an 8/16-bit count may reach the size.
		 */
		und = F_OF | (rot ? 0 : F_AF) | (size < 4 ? F_CF : 0);
	} else {
		def = F_CF | (rot ? 0 : F_SF | F_ZF | F_PF);
		und = rot ? 0 : F_AF;
		if (size < 4 && count >= bits + (op == 2 || op == 3)) {
			def &= ~F_CF;
			und |= F_CF;
		}
		if (count == 1)
			def |= F_OF;
		else
			und |= F_OF;
	}
	flags(def, und);
}

/* shld/shrd by imm8 and CL; 16-bit ones shift by at most 15. */
static void t_shxd(void)
{
	int size = chance(70) ? 4 : 2, right = rnd(2), by_cl = chance(40);
	int count = -1;
	uint32_t c8 = 0;
	struct opnd o;

	if (!gen_rm(size, 1, 0, 35, &o))
		return;
	if (!by_cl || (can_write(1, ECX) && !(o.regs & BIT(ECX)) &&
		       (size == 2 || chance(50)))) {
		c8 = size == 2 ? rnd(16) | rnd(8) << 5 : rnd(256);
		count = c8 & 31;
		if (by_cl) {
			b1(0xb1); /* mov cl, imm8 */
			b1(c8);
		}
	} else if (size == 2) {
		return;
	}
	insn2(size, (right ? 0xac : 0xa4) + by_cl, rreg(size), &o);
	if (!by_cl)
		b1(c8);
	if (count == 0)
		return;
	if (count < 0)
		flags(0, F_AF | F_OF);
	else if (count == 1)
		flags(F_CF | F_SF | F_ZF | F_PF | F_OF, F_AF);
	else
		flags(F_CF | F_SF | F_ZF | F_PF, F_AF | F_OF);
}

/*
 * bt/bts/btr/btc with a register or imm8 offset.  On memory a register
 * offset may address bits outside the operand: it is set to [-256, 255]
 * (or a data byte), so the bytes touched stay within 32 of the operand.
 */
static void t_bt(void)
{
	int size = chance(70) ? 4 : 2, op = rnd(4), off;
	struct opnd o;

	if (chance(50)) { /* register offset */
		if (chance(50)) {
			off = wreg(4, 0);
			if (off < 0)
				return;
			gen_mem(32, 36, BIT(off), &o);
			if (chance(60)) {
				mov_imm(off, rnd(512) - 256);
			} else {
				b1(0x0f); /* movzx off, r8 */
				b1(0xb6);
				b1(0xc0 | off << 3 | rnd(8));
			}
		} else {
			if (!gen_rm(size, op != 0, 0, 0, &o))
				return;
			off = rreg(size);
		}
		insn2(size, 0xa3 + op * 8, off, &o);
	} else {
		if (!gen_rm(size, op != 0, 0, 40, &o))
			return;
		insn2(size, 0xba, 4 + op, &o);
		b1(chance(50) ? rnd(size * 8) : rnd(256));
	}
	flags(F_CF, F_OF | F_SF | F_AF | F_PF);
}

/* bsf/bsr, then cmovz from the source: a zero source gives 0. */
static void t_bsx(void)
{
	int size = chance(70) ? 4 : 2, r = wreg(size, 0);
	struct opnd o;

	if (r < 0)
		return;
	if (chance(40)) {
		gen_mem(0, size, BIT(r), &o);
	} else {
		o.mem = 0;
		o.regs = 0;
		o.rm = pick(0xffu & ~BIT(r));
	}
	insn2(size, 0xbc + rnd(2), r, &o);
	insn2(size, 0x44, r, &o);
	flags(F_ZF, F_CF | F_OF | F_SF | F_AF | F_PF);
}

/* setcc r/m8, cmovcc r, r/m. */
static void t_setcc(void)
{
	int cc = rnd(16), size, r;
	struct opnd o;

	if (chance(50)) {
		if (!gen_rm(1, 1, 0, 30, &o))
			return;
		need(cc_flags[cc]);
		insn2(1, 0x90 + cc, 0, &o);
	} else {
		size = chance(70) ? 4 : 2;
		r = wreg(size, 0);
		if (r < 0)
			return;
		gen_rm(size, 0, 0, 40, &o);
		need(cc_flags[cc]);
		insn2(size, 0x40 + cc, r, &o);
	}
}

/* A random 32-bit address (LEA, NOP: no memory access), any registers. */
static void rand_addr32(struct opnd *o)
{
	int mod = rnd(3), rm = rnd(8);

	o->mem = 1;
	o->n = 0;
	o->seg = 0;
	o->b[o->n++] = mod << 6 | rm;
	if (rm == 4) {
		int base = rnd(8);

		o->b[o->n++] = (rnd(256) & ~7) | base;
		if (mod == 0 && base == 5)
			put_disp(o, 4, rand_val());
	}
	if (mod == 0 && rm == 5)
		put_disp(o, 4, rand_val());
	else if (mod == 1)
		put_disp(o, 1, r32());
	else if (mod == 2)
		put_disp(o, 4, rand_val());
}

/* lea in every 32-bit and (prefix 0x67) 16-bit addressing form. */
static void t_lea(void)
{
	int size = chance(75) ? 4 : 2, r = wreg(size, 0), mod, rm;
	struct opnd o;

	if (r < 0)
		return;
	if (chance(75)) {
		rand_addr32(&o);
	} else {
		b1(0x67);
		mod = rnd(3);
		rm = rnd(8);
		o.mem = 1;
		o.n = 0;
		o.seg = 0;
		o.b[o.n++] = mod << 6 | rm;
		if ((mod == 0 && rm == 6) || mod == 2)
			put_disp(&o, 2, rand_val());
		else if (mod == 1)
			put_disp(&o, 1, r32());
	}
	insn1(size, 0x8d, r, &o);
}

/* mov in all its forms. */
static void t_mov(void)
{
	int size = rsize(), r;
	struct opnd o;

	switch (rnd(6)) {
	case 0: /* r/m, reg */
		if (!gen_rm(size, 1, 0, 50, &o))
			return;
		insn1(size, wide(0x88, size), rreg(size), &o);
		break;
	case 1: /* reg, r/m */
		r = wreg(size, 0);
		if (r < 0)
			return;
		gen_rm(size, 0, 0, 60, &o);
		insn1(size, wide(0x8a, size), r, &o);
		break;
	case 2: /* reg, imm */
		r = wreg(size, 0);
		if (r < 0)
			return;
		insn1(size, (size == 1 ? 0xb0 : 0xb8) + r, 0, NULL);
		imm(size, rand_val());
		break;
	case 3: /* r/m, imm */
		if (!gen_rm(size, 1, 0, 60, &o))
			return;
		insn1(size, wide(0xc6, size), 0, &o);
		imm(size, rand_val());
		break;
	default: /* moffs: A0-A3 */
		if (!can_write(size, EAX))
			return;
		if (chance(12))
			b1(seg_prefix[rnd(5)]);
		insn1(size, wide(0xa0, size) + 2 * rnd(2), 0, NULL);
		b4(DATA_ADDR + rnd(DATA_SIZE - size + 1));
		break;
	}
}

/* movzx/movsx r16/r32, r/m8 or r/m16. */
static void t_movx(void)
{
	int size = chance(75) ? 4 : 2, op = 0xb6 + rnd(2) + 8 * rnd(2);
	int r = wreg(size, 0);
	struct opnd o;

	if (r < 0)
		return;
	gen_rm(op & 1 ? 2 : 1, 0, 0, 40, &o);
	insn2(size, op, r, &o);
}

/* xchg r/m, reg; xchg eAX, reg; bswap; cbw/cwde/cwd/cdq. */
static void t_xchg(void)
{
	int size = rsize(), r;
	struct opnd o;

	switch (rnd(4)) {
	case 0:
		r = wreg(size, 0);
		if (r < 0 || !gen_rm(size, 1, 0, 40, &o))
			return;
		insn1(size, wide(0x86, size), r, &o);
		break;
	case 1:
		size = size == 1 ? 4 : size;
		r = wreg(size, 0);
		if (r < 0 || !can_write(4, EAX))
			return;
		insn1(size, 0x90 + r, 0, NULL);
		break;
	case 2:
		r = wreg(4, 0);
		if (r < 0)
			return;
		insn2(4, 0xc8 + r, 0, NULL);
		break;
	default:
		if (!can_write(4, EAX) || !can_write(4, EDX))
			return;
		insn1(chance(50) ? 2 : 4, 0x98 + rnd(2), 0, NULL);
		break;
	}
}

/* daa/das/aaa/aas/aam/aad. */
static void t_bcd(void)
{
	if (!can_write(4, EAX))
		return;
	switch (rnd(6)) {
	case 0:
	case 1: /* daa, das */
		need(F_AF | F_CF);
		b1(rnd(2) ? 0x27 : 0x2f);
		flags(F_CF | F_AF | F_SF | F_ZF | F_PF, F_OF);
		break;
	case 2: /* aaa */
		/*
		 * Intel adds 0x106 to AX, AMD 6 to AL and 1 to AH: they
		 * differ when AL > 0xf9 (SDM AAA; APM Vol. 3 AAA).
		 */
		b2(0x7f24); /* and al, 0x7f */
		flags(F_ARITH & ~F_AF, F_AF);
		need(F_AF);
		b1(0x37);
		flags(F_AF | F_CF, F_OF | F_SF | F_ZF | F_PF);
		break;
	case 3: /* aas: the same with AL < 6; or al, 8 */
		b2(0x080c);
		flags(F_ARITH & ~F_AF, F_AF);
		need(F_AF);
		b1(0x3f);
		flags(F_AF | F_CF, F_OF | F_SF | F_ZF | F_PF);
		break;
	case 4: /* aam imm8 (0 would be #DE) */
		b1(0xd4);
		b1(chance(50) ? 10 : 1 + rnd(255));
		flags(F_SF | F_ZF | F_PF, F_OF | F_AF | F_CF);
		break;
	default: /* aad imm8 */
		b1(0xd5);
		b1(chance(50) ? 10 : rnd(256));
		flags(F_SF | F_ZF | F_PF, F_OF | F_AF | F_CF);
		break;
	}
}

/* clc/stc/cmc/cld/std/sahf/lahf, nops. */
static void t_flagop(void)
{
	struct opnd o;

	switch (rnd(8)) {
	case 0:
		b1(0xf8 + rnd(2)); /* clc, stc */
		flags(F_CF, 0);
		break;
	case 1:
		need(F_CF);
		b1(0xf5); /* cmc */
		break;
	case 2:
		b1(0xfc + rnd(2)); /* cld, std */
		break;
	case 3:
		b1(0x9e); /* sahf */
		flags(F_SF | F_ZF | F_AF | F_PF | F_CF, 0);
		break;
	case 4:
		if (!can_write(4, EAX))
			return;
		need(F_SF | F_ZF | F_AF | F_PF | F_CF);
		b1(0x9f); /* lahf */
		break;
	case 5:
		insn1(chance(30) ? 2 : 4, 0x90, 0, NULL); /* nop, xchg ax, ax */
		break;
	default: /* 0F 1F /0: a multi-byte nop with any address */
		rand_addr32(&o);
		insn2(chance(30) ? 2 : 4, 0x1f, 0, &o);
		break;
	}
}

/* push and pop: registers, immediates, memory, 16 and 32 bits. */
static void t_pushpop(void)
{
	int size = chance(20) ? 2 : 4, r;
	struct opnd o;

	if (g.depth - g.floor >= size && (g.depth >= MAX_DEPTH || chance(50))) {
		if (chance(70)) {
			r = wreg(size, 0);
			if (r < 0)
				return;
			insn1(size, 0x58 + r, 0, NULL);
		} else {
			if (!gen_rm(size, 1, 0, 70, &o))
				return;
			insn1(size, 0x8f, 0, &o);
		}
		g.depth -= size;
		return;
	}
	if (g.depth >= MAX_DEPTH)
		return;
	switch (rnd(4)) {
	case 0:
	case 1: /* push reg, ESP included */
		insn1(size, 0x50 + rnd(8), 0, NULL);
		break;
	case 2: /* push imm8 (sign-extended), push imm */
		if (chance(50)) {
			insn1(size, 0x6a, 0, NULL);
			b1(rand_val());
		} else {
			insn1(size, 0x68, 0, NULL);
			imm(size, rand_val());
		}
		break;
	default: /* push r/m */
		gen_rm(size, 0, 0, 70, &o);
		insn1(size, 0xff, 6, &o);
		break;
	}
	g.depth += size;
}

/*
 * pushf, with IF and IOPL cleared in the pushed image: they are the real
 * ring's, which a VMM need not show (the sensitive guest tests them).
 */
static void emit_pushf(int size)
{
	need(F_ARITH);
	insn1(size, 0x9c, 0, NULL);
	insn1(size, 0x81, 4,
	      &(struct opnd){ .mem = 1, .b = { 0x24, 0x24 }, .n = 2 });
	imm(size, ~(F_IF | F_IOPL));
	flags(F_ARITH & ~F_AF, F_AF);
}

/* pushf; popf of images with IF = 0, IOPL = 0, TF = NT = AC = 0. */
static void t_pushf(void)
{
	int size = chance(20) ? 2 : 4;

	if (g.depth + 4 > MAX_DEPTH)
		return;
	switch (rnd(3)) {
	case 0: /* pushf, left on the stack for a pop */
		emit_pushf(size);
		g.depth += size;
		break;
	case 1: /* push imm; popf */
		insn1(size, 0x68, 0, NULL);
		imm(size, (r32() & (F_ARITH | F_DF)) | 2);
		insn1(size, 0x9d, 0, NULL);
		flags(F_ARITH, 0);
		break;
	default: /* pushf; xor [esp], flags; popf */
		emit_pushf(size);
		insn1(size, 0x81, 6,
		      &(struct opnd){ .mem = 1, .b = { 0x24, 0x24 }, .n = 2 });
		imm(size, r32() & (F_ARITH | F_DF));
		insn1(size, 0x9d, 0, NULL);
		flags(F_ARITH, 0);
		break;
	}
}

/* movs/cmps/stos/lods/scas with rep/repe/repne, DF as it happens to be. */
static void t_string(void)
{
	/* opcode, uses ESI, uses EDI, writes EAX, compares */
	static const uint8_t ops[5][5] = {
		{ 0xa4, 1, 1, 0, 0 }, { 0xa6, 1, 1, 0, 1 },
		{ 0xaa, 0, 1, 0, 0 }, { 0xac, 1, 0, 1, 0 },
		{ 0xae, 0, 1, 0, 1 },
	};
	const uint8_t *s = ops[rnd(5)];
	int size = rsize(), rep = chance(60), n = 0;
	uint8_t seg = s[1] && chance(20) ? seg_prefix[rnd(5)] : 0;

	if ((s[1] && !can_write(4, ESI)) || (s[2] && !can_write(4, EDI)) ||
	    (s[3] && !can_write(4, EAX)) || (rep && !can_write(4, ECX)))
		return;
	/* Start in the middle: 40 elements either way stay inside. */
	if (s[1])
		mov_imm(ESI, DATA_ADDR + 1024 + rnd(2048));
	if (s[2])
		mov_imm(EDI, DATA_ADDR + 1024 + rnd(2048));
	if (rep) {
		n = chance(10) ? 0 : rnd(41);
		mov_imm(ECX, n);
	}
	if (seg)
		b1(seg);
	if (rep)
		b1(s[4] && chance(50) ? 0xf2 : 0xf3);
	insn1(size, wide(s[0], size), 0, NULL);
	if (s[4] && (!rep || n))
		flags(F_ARITH, 0);
}

/* xlat; cmpxchg, cmpxchg8b, xadd (the second try of a pair succeeds). */
static void t_misc(void)
{
	int size = rsize(), r, i, twice = chance(50);
	struct opnd o;

	switch (rnd(4)) {
	case 0: /* xlat */
		if (!can_write(4, EBX) || !can_write(4, EAX))
			return;
		mov_imm(EBX, DATA_ADDR + rnd(DATA_SIZE - 255));
		if (chance(15))
			b1(seg_prefix[rnd(5)]);
		b1(0xd7);
		break;
	case 1: /* cmpxchg r/m, reg (a failed one loads EAX: not an address) */
		if (!can_write(4, EAX) || !gen_rm(size, 1, BIT(EAX), 50, &o))
			return;
		r = rreg(size);
		for (i = 0; i <= twice; i++)
			insn2(size, wide(0xb0, size), r, &o);
		flags(F_ARITH, 0);
		break;
	case 2: /* cmpxchg8b m64 */
		if (!can_write(4, EAX) || !can_write(4, EDX))
			return;
		gen_mem(0, 8, BIT(EAX) | BIT(EDX), &o);
		for (i = 0; i <= twice; i++) {
			/*
			 * QEMU 7.2's TCG (the native reference) computes the
			 * flags CMPXCHG8B leaves alone from a stale cc_op
			 * unless the instruction starts a translation block
			 * (fixed in QEMU 8.1 by "target/i386: Inline
			 * cmpxchg8b"); garbage even reaches EFLAGS' system
			 * bits.  A jmp to the next instruction ends the block.
			 */
			b2(0x00eb);
			insn2(4, 0xc7, 1, &o);
		}
		flags(F_ZF, 0);
		break;
	default: /* xadd r/m, reg */
		r = wreg(size, 0);
		if (r < 0 || !gen_rm(size, 1, 0, 50, &o))
			return;
		insn2(size, wide(0xc0, size), r, &o);
		flags(F_ARITH, 0);
		break;
	}
}

/* --- control structures --------------------------------------------------- */

static void gen_items(int n, int simple, int budget);

/* Pop or drop what the current scope pushed, down to @to. */
static void unwind(int to)
{
	while (g.depth > to) {
		int left = g.depth - to, r = wreg(4, 0);

		if (left >= 4 && r >= 0 && chance(50)) {
			insn1(4, 0x58 + r, 0, NULL);
			g.depth -= 4;
		} else if (left >= 2 && r >= 0 && chance(30)) {
			insn1(2, 0x58 + r, 0, NULL);
			g.depth -= 2;
		} else if (left < 128) {
			b1(0x8d); /* lea esp, [esp + disp8] */
			b1(0x64);
			b1(0x24);
			b1(left);
			g.depth = to;
		} else {
			b1(0x8d); /* lea esp, [esp + disp32] */
			b1(0xa4);
			b1(0x24);
			b4(left);
			g.depth = to;
		}
	}
}

/* A body whose pushes are popped before it ends. */
static void body(int n, int simple, int budget)
{
	int floor = g.floor;

	g.floor = g.depth;
	g.nest++;
	gen_items(n, simple, budget);
	unwind(g.floor);
	g.nest--;
	g.floor = floor;
}

static void patch8(uint8_t *at, uint32_t target)
{
	int32_t d = (int32_t)(target - (uint32_t)(at + 1));

	if (d < -128 || d > 127)
		gen_failed = 1;
	*at = (uint8_t)d;
}

static void put32(uint8_t *at, uint32_t v)
{
	at[0] = v;
	at[1] = v >> 8;
	at[2] = v >> 16;
	at[3] = v >> 24;
}

static void patch32(uint8_t *at, uint32_t target)
{
	put32(at, target - (uint32_t)(at + 4));
}

/*
 * A forward conditional branch over a body: jcc (rel8 or rel32), jecxz,
 * jcxz (0x67), loop/loope/loopne (these decrement ECX).  After the body a
 * flag is defined only if it is on both paths.
 */
static void s_branch(void)
{
	int cc = rnd(16), shrt = chance(60), kind = rnd(8);
	uint32_t undef0;
	uint8_t *at;

	if (kind == 6) { /* jecxz, jcxz */
		if (chance(30))
			b1(0x67);
		b1(0xe3);
		shrt = 1;
	} else if (kind == 7) { /* loop, loope, loopne */
		if (!can_write(4, ECX))
			return;
		cc = rnd(3);
		if (cc < 2)
			need(F_ZF);
		if (chance(20))
			b1(0x67); /* count in CX */
		b1(0xe0 + cc);
		shrt = 1;
	} else {
		need(cc_flags[cc]);
		if (shrt) {
			b1(0x70 + cc);
		} else {
			b1(0x0f);
			b1(0x80 + cc);
		}
	}
	at = g.p;
	g.p += shrt ? 1 : 4;
	undef0 = g.undef;
	body(1 + rnd(shrt ? 3 : 5), shrt, shrt ? SHORT_BODY : 0);
	if (shrt)
		patch8(at, here());
	else
		patch32(at, here());
	g.undef |= undef0;
}

/* Code that never runs: items, or random bytes (which may not decode). */
static void dead_code(void)
{
	struct gen saved = g;
	int n, nsaved = nsites;

	if (chance(30)) {
		for (n = 1 + rnd(16); n > 0; n--)
			b1(r32());
	} else {
		gen_items(1 + rnd(3), 1, SHORT_BODY);
	}
	saved.p = g.p;
	g = saved;
	nsites = nsaved;
}

/*
 * An unconditional jump over dead code: jmp rel8/rel32, jmp through a
 * register or through memory, push + ret.
 */
static void s_jump(void)
{
	uint8_t *at;
	struct opnd o;
	int r;

	switch (rnd(5)) {
	case 0:
		b1(0xeb);
		at = g.p;
		b1(0);
		dead_code();
		patch8(at, here());
		return;
	case 1:
		b1(0xe9);
		at = g.p;
		b4(0);
		dead_code();
		patch32(at, here());
		return;
	case 2: /* mov r, L; jmp r */
		r = wreg(4, 0);
		if (r < 0)
			return;
		b1(0xb8 + r);
		at = g.p;
		b4(0);
		b1(0xff);
		b1(0xe0 | r);
		break;
	case 3: /* mov [m], L; jmp [m] */
		gen_mem(0, 4, 0, &o);
		insn1(4, 0xc7, 0, &o);
		at = g.p;
		b4(0);
		insn1(4, 0xff, 4, &o);
		break;
	default: /* push L; ret */
		b1(0x68);
		at = g.p;
		b4(0);
		b1(0xc3);
		break;
	}
	dead_code();
	put32(at, here());
}

/*
 * A counted loop, 1 to 4 iterations: mov ctr, n; L: body; loop L (or
 * loope/loopne, or dec ctr; jnz L).  The counter is protected in the body.
 * The body starts with every arithmetic flag taken as undefined, which
 * covers every iteration.
 */
static void s_loop(void)
{
	int mode = rnd(4), ctr, protect = g.protect;
	uint8_t *head;
	int32_t d;

	ctr = mode < 2 ? (can_write(4, ECX) ? ECX : -1) : wreg(4, 0);
	if (ctr < 0)
		return;
	mov_imm(ctr, 1 + rnd(4));
	head = g.p;
	g.protect |= BIT(ctr);
	g.undef |= F_ARITH;
	body(1 + rnd(4), 0, 0);
	g.protect = protect;
	d = (int32_t)((uint32_t)head - (here() + 2));
	if (mode < 2 && d >= -128) {
		if (mode == 1) {
			need(F_ZF);
			d = (int32_t)((uint32_t)head - (here() + 2));
			if (d < -128)
				mode = 0;
		}
		if (d >= -128) {
			b1(mode == 0 ? 0xe2 : 0xe0 + rnd(2));
			b1(d);
			return;
		}
	}
	b1(0x48 + ctr); /* dec ctr; jnz head */
	flags(F_ARITH & ~F_CF, 0);
	d = (int32_t)((uint32_t)head - (here() + 2));
	if (d >= -128) {
		b1(0x75);
		b1(d);
	} else {
		b1(0x0f);
		b1(0x85);
		b4((uint32_t)head - (here() + 4));
	}
}

/*
 * A call to a local subroutine, once or twice, with 0-2 arguments popped by
 * RET imm16 or left to the caller: call rel32, call through a register or
 * through memory; then jmp over the subroutine.
 */
static void s_call(void)
{
	int nargs = rnd(3), calls = 1 + chance(30),
	    retimm = nargs && chance(70);
	int how = rnd(3), i, a, r, entry_depth = 0;
	uint8_t *fix[2], *rel[2], *over;
	uint32_t sub, undef_entry;
	struct opnd o;

	if (g.depth + calls * (4 * nargs + 4) + 16 > MAX_DEPTH)
		return;
	for (i = 0; i < calls; i++) {
		fix[i] = rel[i] = NULL;
		for (a = 0; a < nargs; a++) {
			if (chance(50)) {
				b1(0x50 + rnd(8));
			} else {
				b1(0x68);
				b4(rand_val());
			}
			g.depth += 4;
		}
		r = wreg(4, 0);
		if (how == 1 && r >= 0) { /* mov r, S; call r */
			b1(0xb8 + r);
			fix[i] = g.p;
			b4(0);
			b1(0xff);
			b1(0xd0 | r);
		} else if (how == 2) { /* mov [m], S; call [m] */
			gen_mem(0, 4, 0, &o);
			insn1(4, 0xc7, 0, &o);
			fix[i] = g.p;
			b4(0);
			insn1(4, 0xff, 2, &o);
		} else {
			b1(0xe8);
			rel[i] = g.p;
			b4(0);
		}
		if (g.depth + 4 > entry_depth)
			entry_depth = g.depth + 4;
		if (retimm)
			g.depth -= 4 * nargs;
	}
	b1(0xe9); /* jmp over the subroutine */
	over = g.p;
	b4(0);

	sub = here();
	undef_entry = g.undef | (calls > 1 ? F_ARITH : 0);
	{
		int depth = g.depth;

		g.depth = entry_depth;
		g.undef = undef_entry;
		body(1 + rnd(5), 0, 0);
		g.depth = depth;
	}
	if (retimm) {
		b1(0xc2);
		b2(4 * nargs);
	} else {
		b1(0xc3);
	}
	for (i = 0; i < calls; i++) {
		if (fix[i])
			put32(fix[i], sub);
		if (rel[i])
			patch32(rel[i], sub);
	}
	patch32(over, here());
}

/* enter n, 0/1; body (EBP protected); leave. */
static void s_enter(void)
{
	int n = chance(50) ? 4 * rnd(4) : rnd(64), level = chance(25);
	int depth = g.depth, protect = g.protect;

	if (!can_write(4, EBP) || g.depth + 8 + n + 32 > MAX_DEPTH)
		return;
	b1(0xc8);
	b2(n);
	b1(level);
	g.depth += 4 + 4 * level + n;
	g.protect |= BIT(EBP);
	body(1 + rnd(4), 0, 0);
	g.protect = protect;
	b1(0xc9); /* leave */
	g.depth = depth;
}

/* pusha; body; popa (16- or 32-bit). */
static void s_pusha(void)
{
	int size = chance(20) ? 2 : 4;

	if (g.depth + 8 * size + 32 > MAX_DEPTH)
		return;
	insn1(size, 0x60, 0, NULL);
	g.depth += 8 * size;
	body(1 + rnd(4), 0, 0);
	insn1(size, 0x61, 0, NULL);
	g.depth -= 8 * size;
}

/* --- items ---------------------------------------------------------------- */

static const struct {
	void (*fn)(void);
	int weight;
	int structure;
} kinds[] = {
	{ t_alu, 16, 0 },   { t_test, 3, 0 },	 { t_incdec, 5, 0 },
	{ t_mul, 4, 0 },    { t_div, 3, 0 },	 { t_shift, 8, 0 },
	{ t_shxd, 2, 0 },   { t_bt, 4, 0 },	 { t_bsx, 2, 0 },
	{ t_setcc, 4, 0 },  { t_lea, 3, 0 },	 { t_mov, 6, 0 },
	{ t_movx, 2, 0 },   { t_xchg, 3, 0 },	 { t_bcd, 2, 0 },
	{ t_flagop, 3, 0 }, { t_pushpop, 5, 0 }, { t_pushf, 2, 0 },
	{ t_string, 4, 0 }, { t_misc, 3, 0 },	 { s_branch, 5, 1 },
	{ s_jump, 2, 1 },   { s_loop, 2, 1 },	 { s_call, 2, 1 },
	{ s_enter, 1, 1 },  { s_pusha, 1, 1 },
};
#define NKINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))

static void gen_item(int simple)
{
	int total = 0, i, w;

	for (i = 0; i < NKINDS; i++)
		if (!kinds[i].structure || (!simple && g.nest < MAX_NEST))
			total += kinds[i].weight;
	w = rnd(total);
	for (i = 0; i < NKINDS; i++) {
		if (kinds[i].structure && (simple || g.nest >= MAX_NEST))
			continue;
		if (w < kinds[i].weight) {
			kinds[i].fn();
			return;
		}
		w -= kinds[i].weight;
	}
}

/*
 * @n items, fewer if the code buffer runs out or (@budget > 0) the items
 * pass @budget bytes: a simple item is at most 48 bytes, so a body reached
 * by a rel8 stays in reach.
 */
static void gen_items(int n, int simple, int budget)
{
	uint8_t *start = g.p;

	while (n-- > 0) {
		if (g.p >= dt_code + CODE_SIZE - CODE_ROOM)
			return;
		if (budget && g.p - start >= budget)
			return;
		gen_item(simple);
	}
}

/*
 * Generate one case's code; returns the ESP the code will end with.  It
 * ends with RET to dt_exit (the stack unwound) or JMP dt_exit.
 */
static uint32_t generate(void)
{
	g.p = dt_code;
	g.undef = 0;
	g.protect = 0;
	g.depth = 0;
	g.floor = 0;
	g.nest = 0;
	nsites = 0;
	gen_items(8 + rnd(17), 0, 0);
	if (chance(40)) {
		unwind(0);
		b1(0xc3);
		return STACK_TOP;
	}
	b1(0xe9);
	b4((uint32_t)dt_exit - (here() + 4));
	return STACK_TOP - 4 - g.depth;
}

/* --- #DE and unexpected exceptions ---------------------------------------- */

static uint32_t faults, fault_sig; /* this case's #DEs */
static int tracing;		   /* the case runs with TF set */
static void unexpected(struct trap_frame *f);
static uint32_t cur_batch, cur_case;

static void de_handler(struct trap_frame *f)
{
	uint32_t off = f->eip - CODE_ADDR;
	int i;

	for (i = 0; i < nsites; i++) {
		if (sites[i].off == off) {
			faults++;
			fault_sig = mix(fault_sig, off);
			f->eip += sites[i].len;
			return;
		}
	}
	printf("Bail out! difftest: #DE at %04x:%08x, not a division site "
	       "(batch %u case %u)\n",
	       f->cs, f->eip, cur_batch + 1, cur_case);
	exit(1);
}

/* trace=N: single-step case N (TF), one line per instruction of the code. */
static void db_handler(struct trap_frame *f)
{
	uint32_t off = f->eip - CODE_ADDR;
	/* ESP before the trap: in the frame from ring 3, above it at ring 0. */
	uint32_t esp = f->cs & 3 ? f->esp : (uint32_t)&f->esp;

	/*
	 * A step of the traced case, or the trap after the POPF that ended
	 * the stepping (the case's own, or dt_run's).
	 */
	if (!tracing) {
		unexpected(f);
		return;
	}
	if (off < CODE_SIZE)
		printf("# step %04x: eax=%08x ecx=%08x edx=%08x ebx=%08x "
		       "esp=%08x ebp=%08x esi=%08x edi=%08x eflags=%08x\n",
		       off, f->eax, f->ecx, f->edx, f->ebx, esp, f->ebp, f->esi,
		       f->edi, f->eflags);
}

static void unexpected(struct trap_frame *f)
{
	printf("Bail out! difftest: vector %u error 0x%x at %04x:%08x (code "
	       "offset 0x%x) eflags 0x%08x, batch %u case %u: dump=%u shows "
	       "it\n",
	       f->vector, f->error_code, f->cs, f->eip, f->eip - CODE_ADDR,
	       f->eflags, cur_batch + 1, cur_case, cur_case);
	exit(1);
}

/* --- batches -------------------------------------------------------------- */

static struct {
	uint32_t seed, batches, cases, ring3, verbose, dump, first, trace;
} opt;

static struct {
	uint32_t digest, faults, bad_esp, bad_gen;
	int ring;
} res;

/* printf at ring 0, the SYS_WRITE call at ring 3 (no port I/O there). */
#define say(...) (res.ring ? user_printf(__VA_ARGS__) : printf(__VA_ARGS__))

static void show_regs(const char *what, const struct regs *r)
{
	say("# %s eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x "
	    "esi=%08x edi=%08x eflags=%08x\n",
	    what, r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp, r->esi,
	    r->edi, r->eflags);
}

/* dump=N: the case's code and registers (before it runs: it may crash). */
static void dump_code(uint32_t len)
{
	uint32_t i;

	say("# case %u: code at 0x%08x, %u bytes; data at 0x%08x; stack top "
	    "0x%08x; undefined flags at the end 0x%03x\n",
	    cur_case, CODE_ADDR, len, DATA_ADDR, STACK_TOP, g.undef);
	show_regs("in: ", &dt_in);
	for (i = 0; i < len; i++) {
		if (i % 32 == 0)
			say("# %04x:", i);
		say(" %02x", dt_code[i]);
		if (i % 32 == 31 || i + 1 == len)
			say("\n");
	}
}

/* Run one batch at the current ring; results in res. */
static int run_batch(void *arg)
{
	uint32_t b = (uint32_t)arg, c, i, want_esp, h, len;
	uint32_t *words = (uint32_t *)dt_data;

	res.digest = HASH_INIT;
	res.faults = res.bad_esp = res.bad_gen = 0;
	seed_rng(opt.seed, b);
	for (c = 0; c < opt.cases; c++) {
		cur_case = b * opt.cases + c;
		dt_in.eax = rand_val();
		dt_in.ecx = rand_val();
		dt_in.edx = rand_val();
		dt_in.ebx = rand_val();
		dt_in.ebp = rand_val();
		dt_in.esi = rand_val();
		dt_in.edi = rand_val();
		dt_in.esp = STACK_TOP - 4;
		dt_in.eflags = (r32() & F_ARITH) | (chance(25) ? F_DF : 0) | 2;
		for (i = 0; i < DATA_SIZE / 4; i++)
			words[i] = chance(10) ? rand_val() : r32();
		gen_failed = 0;
		want_esp = generate();
		len = g.p - dt_code;
		faults = fault_sig = 0;
		if (opt.dump == cur_case)
			dump_code(len);
		tracing = opt.trace == cur_case;
		if (tracing)
			dt_in.eflags |= 0x100; /* TF: db_handler prints */
		dt_entry = CODE_ADDR;
		dt_run();
		tracing = 0;
		if (opt.dump == cur_case) {
			show_regs("out:", &dt_out);
			say("# #DE: %u\n", faults);
		}

		h = HASH_INIT;
		h = mix(h, dt_out.eax);
		h = mix(h, dt_out.ecx);
		h = mix(h, dt_out.edx);
		h = mix(h, dt_out.ebx);
		h = mix(h, dt_out.esp - STACK_TOP);
		h = mix(h, dt_out.ebp);
		h = mix(h, dt_out.esi);
		h = mix(h, dt_out.edi);
		h = mix(h, dt_out.eflags & (F_ARITH | F_DF) & ~g.undef);
		h = mix(h, faults);
		h = mix(h, fault_sig);
		for (i = 0; i < DATA_SIZE / 4; i++)
			h = mix(h, words[i]);
		for (i = dt_out.esp; i < STACK_TOP && i >= STACK_TOP - 4096;
		     i++)
			h = mix(h, *(uint8_t *)i);
		res.digest = mix(res.digest, h);
		res.faults += faults;
		if (dt_out.esp != want_esp)
			res.bad_esp++;
		res.bad_gen += gen_failed;
		if (opt.verbose)
			say("# case %u: digest 0x%08x\n", cur_case, h);
		if ((dt_out.esp != want_esp || gen_failed) &&
		    res.bad_esp + res.bad_gen == 1)
			say("# case %u: ESP 0x%08x, expected 0x%08x%s\n",
			    cur_case, dt_out.esp, want_esp,
			    gen_failed ? "; generator rule broken" : "");
	}
	return 0;
}

int main(void)
{
	uint32_t b;
	int v;

	opt.seed = arg_num("seed", 1);
	opt.batches = arg_num("batches", DEFAULT_BATCHES);
	opt.cases = arg_num("cases", DEFAULT_CASES);
	if (!opt.cases)
		opt.cases = DEFAULT_CASES;
	if (arg("count")) /* total cases: whole batches of cases= */
		opt.batches = (arg_num("count", 0) + opt.cases - 1) / opt.cases;
	opt.ring3 = arg_num("ring3", DEFAULT_RING3);
	opt.verbose = arg_num("verbose", 0);
	opt.dump = arg_num("dump", 0xffffffffu);
	opt.first = arg_num("first", 1);
	opt.trace = arg_num("trace", 0xffffffffu);

	/* Every IRQ masked: ring 3 runs with IF = 1. */
	pic_init();
	user_init();
	for (v = 1; v < 32; v++)
		if (v != VEC_NMI && v != 9 && v != 15)
			trap_set_handler(v, unexpected);
	trap_set_handler(VEC_DE, de_handler);
	trap_set_handler(VEC_DB, db_handler);

	if (opt.first < 1 || opt.first > opt.batches)
		opt.first = 1;
	ktap_plan(opt.batches - (opt.first - 1));
	for (b = opt.first - 1; b < opt.batches; b++) {
		cur_batch = b;
		res.ring = opt.ring3 && b % opt.ring3 == opt.ring3 - 1 ? 3 : 0;
		if (res.ring)
			user_run(run_batch, (void *)b);
		else
			run_batch((void *)b);
		if (res.bad_esp || res.bad_gen)
			ktap_diag("batch %u: %u cases ended with a wrong ESP, "
				  "%u broke a generator rule",
				  b + 1, res.bad_esp, res.bad_gen);
		ok(!res.bad_esp && !res.bad_gen,
		   "batch %u ring %d: digest 0x%08x, %u #DE", b + 1, res.ring,
		   res.digest, res.faults);
	}
	ktap_finish();
}
