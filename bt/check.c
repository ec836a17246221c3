// SPDX-License-Identifier: GPL-2.0
/*
 * Checked translation (docs/translator.md, "Checked translation").
 *
 * On real hardware the monitor truncates the guest's segments below the
 * window (monitor/truncate.c) and the CPU refuses the accesses that would
 * reach it.  QEMU's TCG checks no segment limit, so with
 * BT86_VM_BT_CHECKED the translator does the CPU's part: before each
 * translated instruction that touches memory it compares the offset of
 * every access with the limit in %gs:BT_VP_LIMIT for the segment used,
 * and calls out (BT_MAP_LIMIT) where a CPU with those limits would fault.
 * The monitor then resolves exactly as it resolves the hardware's #GP.
 *
 *	mov  %ecx, %gs:SAVE_ECX
 *	lea  <operand i>, %ecx		for each access: its offset
 *	mov  %ecx, %gs:CHK_EA+4i	(ECX reloaded between them)
 *	mov  %eax, %gs:SAVE_EAX
 *	lahf; seto %al			the flags, as the fast-table routine
 *	mov  %gs:CHK_EA+4i, %ecx	for each access:
 *	cmp  %gs:LIMIT+4seg, %ecx; ja F	  its first byte
 *	lea  size-1(%ecx), %ecx		  its last byte
 *	cmp  %gs:LIMIT+4seg, %ecx; ja F
 *	add  $0x7f, %al; sahf		everything back
 *	mov  %gs:SAVE_EAX, %eax; mov %gs:SAVE_ECX, %ecx
 *	jmp  1f
 *  F:	(everything back); int $0x1f	BT_MAP_LIMIT
 *  1:	the instruction
 *
 * Only registers and the per-vCPU page change on the way, and all of it
 * is restored: the guest's registers and flags are exact at the call out
 * and at the instruction.  The limits are guest-writable; a forged one
 * only lets the guest reach the window as it could on TCG anyway, or
 * sends it to the monitor, which recomputes everything from its own state.
 *
 * Checked: explicit memory operands, the stack of PUSH, POP, CALL, RET,
 * ENTER (EBP's push), LEAVE, PUSHA, POPA, PUSHFD, POPFD and PUSH Sreg, and
 * string operands: REP MOVS/STOS/LODS with 32-bit addresses over all ECX
 * elements, in either direction (DF is not at hand: the check covers
 * both, and the monitor lets a false alarm go on past the check), other
 * string instructions (REPE/REPNE CMPS/SCAS, and 16-bit addresses) for
 * their first element.  Not checked: XLAT's [EBX + AL], ENTER's nested
 * frame pointers, the rest of a REPE/REPNE scan.
 */
#include "check.h"

#define REG_NONE 8

static bt_u8 gpr32(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI)
		return (bt_u8)(r - ZYDIS_REGISTER_EAX);
	return r == ZYDIS_REGISTER_NONE ? REG_NONE : 0xff;
}

/* Memory operands that access nothing (SDM 2B "NOP", "PREFETCHh"). */
static bool no_access(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_NOP || m == ZYDIS_MNEMONIC_PREFETCH ||
	       m == ZYDIS_MNEMONIC_PREFETCHNTA ||
	       m == ZYDIS_MNEMONIC_PREFETCHT0 ||
	       m == ZYDIS_MNEMONIC_PREFETCHT1 ||
	       m == ZYDIS_MNEMONIC_PREFETCHT2 || m == ZYDIS_MNEMONIC_PREFETCHW;
}

static bool is_esp(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_ESP;
}

/* How to compute @op's offset; false if it cannot be checked. */
static bool check_form(const struct decoded_insn *d,
		       const ZydisDecodedOperand *op, struct bt_check *c)
{
	bool hidden = op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN;
	bool write = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
	bt_u8 base = gpr32(op->mem.base), index = gpr32(op->mem.index);

	c->disp = (bt_u32)op->mem.disp.value;
	c->scale = op->mem.scale ? op->mem.scale : 1;
	c->base = base;
	c->index = index;
	if (hidden && is_esp(op->mem.base)) { /* PUSH below ESP, POP at it */
		c->form = CHECK_LEA32;
		c->disp -= write ? c->size : 0;
		return true;
	}
	if (d->insn.address_width == 16) {
		if (op->mem.base == ZYDIS_REGISTER_NONE &&
		    op->mem.index == ZYDIS_REGISTER_NONE) {
			c->form = CHECK_LEA32; /* a plain disp16 */
			c->disp &= 0xffff;
			return true;
		}
		if (!hidden) {
			c->form = CHECK_MODRM16;
			return d->insn.attributes & ZYDIS_ATTRIB_HAS_MODRM;
		}
		c->form = op->mem.base == ZYDIS_REGISTER_SI ? CHECK_SI16
							    : CHECK_DI16;
		return op->mem.base == ZYDIS_REGISTER_SI ||
		       op->mem.base == ZYDIS_REGISTER_DI;
	}
	if (base == 0xff || index == 0xff || index == 4)
		return false;
	c->form = CHECK_LEA32;
	/* POP m: the address is computed after ESP moved (SDM 2B "POP") */
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_POP && is_esp(op->mem.base))
		c->disp += d->insn.operand_width / 8;
	c->rep = d->insn.meta.category == ZYDIS_CATEGORY_STRINGOP &&
		 (d->insn.attributes & ZYDIS_ATTRIB_HAS_REP) &&
		 (c->size == 1 || c->size == 2 || c->size == 4);
	return true;
}

unsigned int bt_checks_of(const struct decoded_insn *d, struct bt_check *out)
{
	unsigned int i, n = 0;

	/* XLAT's [EBX + AL]: Zydis shows [EBX], and LEA cannot add AL */
	if (no_access(d->insn.mnemonic) ||
	    d->insn.mnemonic == ZYDIS_MNEMONIC_XLAT)
		return 0;
	for (i = 0; i < d->insn.operand_count && n < BT_MAX_CHECKS; i++) {
		const ZydisDecodedOperand *op = &d->ops[i];
		struct bt_check c = { 0 };

		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    op->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
		    !(op->actions & (ZYDIS_OPERAND_ACTION_MASK_READ |
				     ZYDIS_OPERAND_ACTION_MASK_WRITE)))
			continue;
		/*
		 * Not checked: %cs operands (run natively, classify.c) and
		 * %gs ones (the guest's GS is loaded around them: its
		 * limit would need checks after that load).
		 */
		if (op->mem.segment < ZYDIS_REGISTER_ES ||
		    op->mem.segment > ZYDIS_REGISTER_GS ||
		    op->mem.segment == ZYDIS_REGISTER_GS ||
		    op->mem.segment == ZYDIS_REGISTER_CS)
			continue;
		c.seg = (bt_u8)(op->mem.segment - ZYDIS_REGISTER_ES);
		c.size = op->size / 8 ? op->size / 8 : 1;
		c.opnd = (bt_u8)i;
		if (check_form(d, op, &c))
			out[n++] = c;
	}
	return n;
}

/* lea <c's offset>, %ecx */
static void emit_ea(struct emit *e, const struct decoded_insn *d,
		    const struct bt_check *c, const bt_u8 *bytes)
{
	static const bt_u8 log2[9] = { 0, 0, 1, 0, 2, 0, 0, 0, 3 };
	const ZydisDecodedInstruction *in = &d->insn;

	switch (c->form) {
	case CHECK_MODRM16:
		emit_u8(e, 0x67);
		emit_u8(e, 0x8d);
		emit_u8(e, (bt_u8)((bytes[in->raw.modrm.offset] & 0xc7) |
				   REG_ECX << 3));
		emit_bytes(e, bytes + in->raw.disp.offset,
			   in->raw.disp.size / 8);
		return;
	case CHECK_SI16:
	case CHECK_DI16: /* lea (%si), %ecx: ModRM 00 001 100; (%di): 101 */
		emit_u8(e, 0x67);
		emit_u8(e, 0x8d);
		emit_u8(e, c->form == CHECK_SI16 ? 0x0c : 0x0d);
		return;
	default:
		break;
	}
	emit_u8(e, 0x8d);
	if (c->base == REG_NONE && c->index == REG_NONE) {
		emit_u8(e, 0x0d); /* mod 00, r/m 101: disp32 */
	} else {
		/* a SIB byte: mod 10 (disp32), or 00 with no base */
		emit_u8(e, c->base == REG_NONE ? 0x0c : 0x8c);
		emit_u8(e, (bt_u8)(log2[c->scale & 15] << 6 |
				   (c->index == REG_NONE ? 4 : c->index) << 3 |
				   (c->base == REG_NONE ? 5 : c->base)));
	}
	emit_u32(e, c->disp);
}

/* Jcc rel32 to the fail path, patched at the end. */
struct fails {
	bt_u32 at[8 * BT_MAX_CHECKS];
	unsigned int n;
};

static void emit_jfail(struct emit *e, struct fails *f, bt_u8 cc)
{
	bt_u32 at = emit_jcc(e, cc, 0);

	if (f->n < sizeof(f->at) / sizeof(f->at[0]))
		f->at[f->n++] = at;
}

#define CC_B 0x2
#define CC_A 0x7

/* cmp %gs:LIMIT+4seg, %ecx; ja F */
static void emit_cmp_limit(struct emit *e, struct fails *f,
			   const struct bt_check *c)
{
	emit_gs_modrm(e, 0x3b, REG_ECX, BT_VP_LIMIT + 4u * c->seg);
	emit_jfail(e, f, CC_A);
}

/* The first and the last byte of one element at CHK_EA+4i. */
static void emit_check_one(struct emit *e, struct fails *f,
			   const struct bt_check *c, unsigned int i)
{
	emit_load_gs(e, REG_ECX, BT_VP_CHK_EA + 4 * i);
	emit_cmp_limit(e, f, c);
	if (c->size > 1) {
		emit_u8(e, 0x8d); /* lea size-1(%ecx), %ecx */
		emit_u8(e, 0x89);
		emit_u32(e, c->size - 1);
		emit_cmp_limit(e, f, c);
	}
}

/*
 * REP MOVS/STOS/LODS: n = ECX elements from E, upwards or downwards.
 * Fails unless n = 0, or E - (n-1)size does not wrap below 0 and
 * E + n*size - 1 neither wraps nor passes the limit.  NO_CHECK (-1)
 * segments skip it.
 */
static void emit_check_rep(struct emit *e, struct fails *f,
			   const struct bt_check *c, unsigned int i)
{
	static const bt_u8 test_edx[2] = { 0x85, 0xd2 };
	static const bt_u8 cmp_ecx_edx[2] = { 0x39, 0xd1 };
	static const bt_u8 add_ecx_edx[2] = { 0x01, 0xd1 };
	unsigned int k = c->size == 4 ? 2 : c->size == 2 ? 1 : 0;
	bt_u32 je1, je2;

	emit_gs_modrm(e, 0x83, 7, BT_VP_LIMIT + 4u * c->seg); /* cmpl $-1 */
	emit_u8(e, 0xff);
	emit_u8(e, 0x74); /* je pass */
	je1 = e->pos;
	emit_u8(e, 0);
	emit_load_gs(e, REG_EDX, BT_VP_SAVE_ECX); /* n: the guest's ECX */
	emit_bytes(e, test_edx, 2);
	emit_u8(e, 0x74); /* jz pass */
	je2 = e->pos;
	emit_u8(e, 0);
	emit_u8(e, 0x4a); /* dec %edx */
	if (k) {
		emit_u8(e, 0x81); /* cmp $(~0 >> k), %edx: (n-1)size fits */
		emit_u8(e, 0xfa);
		emit_u32(e, 0xffffffffu >> k);
		emit_jfail(e, f, CC_A);
		emit_u8(e, 0xc1); /* shl $k, %edx */
		emit_u8(e, 0xe2);
		emit_u8(e, (bt_u8)k);
	}
	emit_load_gs(e, REG_ECX, BT_VP_CHK_EA + 4 * i);
	emit_bytes(e, cmp_ecx_edx, 2);
	emit_jfail(e, f, CC_B); /* the downward end wraps */
	emit_bytes(e, add_ecx_edx, 2);
	emit_jfail(e, f, CC_B); /* the upward end wraps (CF) */
	if (c->size > 1) {
		emit_u8(e, 0x83); /* add $size-1, %ecx */
		emit_u8(e, 0xc1);
		emit_u8(e, (bt_u8)(c->size - 1));
		emit_jfail(e, f, CC_B);
	}
	emit_cmp_limit(e, f, c);
	if (!e->overflow) {
		e->buf[je1] = (bt_u8)(e->pos - (je1 + 1));
		e->buf[je2] = (bt_u8)(e->pos - (je2 + 1));
	}
}

/* The guest's flags, EAX, EDX and ECX back. */
static void emit_restore(struct emit *e, bool edx)
{
	static const bt_u8 restore_flags[3] = { 0x04, 0x7f, 0x9e };

	emit_bytes(e, restore_flags, 3);
	emit_load_gs(e, REG_EAX, BT_VP_SAVE_EAX);
	if (edx)
		emit_load_gs(e, REG_EDX, BT_VP_CHK_EDX);
	emit_load_gs(e, REG_ECX, BT_VP_SAVE_ECX);
}

bt_u32 bt_emit_checks(struct emit *e, const struct decoded_insn *d,
		      const bt_u8 *bytes)
{
	static const bt_u8 seto_al[3] = { 0x0f, 0x90, 0xc0 };
	struct bt_check c[BT_MAX_CHECKS];
	unsigned int n = bt_checks_of(d, c), i;
	struct fails f = { .n = 0 };
	bool edx = false;
	bt_u32 over, fail;

	if (!n)
		return BT_NONE;
	emit_store_gs(e, REG_ECX, BT_VP_SAVE_ECX);
	for (i = 0; i < n; i++) {
		if (i)
			emit_load_gs(e, REG_ECX, BT_VP_SAVE_ECX);
		emit_ea(e, d, &c[i], bytes);
		emit_store_gs(e, REG_ECX, BT_VP_CHK_EA + 4 * i);
		edx |= c[i].rep;
	}
	if (edx)
		emit_store_gs(e, REG_EDX, BT_VP_CHK_EDX);
	emit_store_gs(e, REG_EAX, BT_VP_SAVE_EAX);
	emit_u8(e, 0x9f); /* lahf */
	emit_bytes(e, seto_al, 3);
	for (i = 0; i < n; i++) {
		if (c[i].rep)
			emit_check_rep(e, &f, &c[i], i);
		else
			emit_check_one(e, &f, &c[i], i);
	}
	emit_restore(e, edx);
	emit_u8(e, 0xeb); /* jmp over the fail path */
	over = e->pos;
	emit_u8(e, 0);
	for (i = 0; i < f.n && !e->overflow; i++) {
		bt_u32 rel = e->pos - (f.at[i] + 4);

		e->buf[f.at[i]] = (bt_u8)rel;
		e->buf[f.at[i] + 1] = (bt_u8)(rel >> 8);
		e->buf[f.at[i] + 2] = (bt_u8)(rel >> 16);
		e->buf[f.at[i] + 3] = (bt_u8)(rel >> 24);
	}
	emit_restore(e, edx);
	fail = e->pos;
	emit_callout(e);
	if (!e->overflow)
		e->buf[over] = (bt_u8)(e->pos - (over + 1));
	return fail;
}
