// SPDX-License-Identifier: GPL-2.0
/*
 * Guest writes to its page tables (and descriptor tables), done by the
 * monitor (docs/shadow-paging.md, "Guest page-table writes"): the forms a
 * kernel uses on page-table entries, decoded with Zydis and done through
 * the guest-physical alias, whose write resyncs exactly the shadow entries
 * (or descriptor slots) the written bytes feed.
 *
 *   MOV m, r/imm          set_pte, pte_clear; PAE set_pte in two halves
 *   XCHG m, r             ptep_get_and_clear
 *   AND/OR m, r/imm       clear_bit/set_bit with a constant bit number
 *   BTR/BTS/BTC m, imm    test_and_clear_bit (ptep_test_and_clear_young)
 *   CMPXCHG m, r          cmpxchg on an entry
 *   CMPXCHG8B m64         PAE's set_pte_atomic and 64-bit cmpxchg
 *
 * with or without LOCK (one vCPU: the monitor's write is atomic for the
 * guest).  Flags as SDM 2A/2B give them; those the SDM leaves undefined
 * (AF after AND/OR; OF, SF, AF, PF after BT*) keep their values.  Anything
 * else is stepped natively by the caller.
 */
#include "emulate.h"
#include "internal.h"

#define FLAGS_ARITH 0x8d5u /* OF SF ZF AF PF CF */
#define EFL_PF	    (1u << 2)
#define EFL_AF	    (1u << 4)
#define EFL_ZF	    (1u << 6)
#define EFL_SF	    (1u << 7)
#define EFL_OF	    (1u << 11)

static u32 mask_of(u32 size)
{
	return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* SF, ZF, PF of @r as a @size-byte result. */
static u32 szp(u32 r, u32 size)
{
	u32 f = 0, b = r & 0xff;

	r &= mask_of(size);
	if (!r)
		f |= EFL_ZF;
	if (r >> (size * 8 - 1))
		f |= EFL_SF;
	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	if (!(b & 1))
		f |= EFL_PF;
	return f;
}

/* The flags of CMP @a, @b (a - b), as CMPXCHG sets them. */
static u32 sub_flags(u32 a, u32 b, u32 size)
{
	u32 m = mask_of(size), r = (a - b) & m, top = size * 8 - 1;
	u32 f = szp(r, size);

	if ((a & m) < (b & m))
		f |= EFLAGS_CF;
	if ((((a ^ b) & (a ^ r)) >> top) & 1)
		f |= EFL_OF;
	if ((a ^ b ^ r) & 0x10)
		f |= EFL_AF;
	return f;
}

static bool gpr(const ZydisDecodedOperand *op)
{
	ZydisRegisterClass c = ZydisRegisterGetClass(op->reg.value);

	return op->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       (c == ZYDIS_REGCLASS_GPR8 || c == ZYDIS_REGCLASS_GPR16 ||
		c == ZYDIS_REGCLASS_GPR32);
}

/* A register or immediate source operand's value. */
static bool source(struct bt86_xdata *x, const ZydisDecodedOperand *op, u32 *v)
{
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		*v = (u32)op->imm.value.u;
		return true;
	}
	if (!gpr(op))
		return false;
	*v = reg_read(x, op->reg.value);
	return true;
}

/* What an instruction does besides its write: flags, a register. */
struct effects {
	u32 flags, fmask;
	ZydisRegister reg; /* ZYDIS_REGISTER_NONE: none */
	u32 value;
	bool edx_eax; /* CMPXCHG8B: EDX:EAX gets the old value */
};

/*
 * What the instruction @d writes to its memory operand @old: *new, and
 * its other effects in *e.  False if this file does not do it.
 */
static bool compute(struct bt86_xdata *x, const struct decoded_insn *d,
		    u32 size, u64 old, u64 *new, struct effects *e)
{
	const ZydisDecodedOperand *src = &d->ops[1];
	u32 *flags = &e->flags, *fmask = &e->fmask;
	u32 v, bit;

	mon_memset(e, 0, sizeof(*e));
	e->reg = ZYDIS_REGISTER_NONE;
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
		if (!source(x, src, &v))
			return false;
		*new = v;
		return true;
	case ZYDIS_MNEMONIC_XCHG:
		if (!gpr(src))
			return false;
		*new = reg_read(x, src->reg.value);
		e->reg = src->reg.value;
		e->value = (u32)old;
		return true;
	case ZYDIS_MNEMONIC_AND:
	case ZYDIS_MNEMONIC_OR:
		if (!source(x, src, &v))
			return false;
		*new = (d->insn.mnemonic == ZYDIS_MNEMONIC_AND ? old & v
							       : old | v) &
		       mask_of(size);
		*flags = szp((u32) * new, size);
		*fmask = FLAGS_ARITH & ~EFL_AF;
		return true;
	case ZYDIS_MNEMONIC_BTR:
	case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTC:
		/* An immediate bit number is taken modulo the operand size. */
		if (src->type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
			return false;
		bit = (u32)src->imm.value.u & (size * 8 - 1);
		*flags = (old >> bit) & 1 ? EFLAGS_CF : 0;
		*fmask = EFLAGS_CF;
		*new = d->insn.mnemonic == ZYDIS_MNEMONIC_BTR
			       ? old & ~(1ULL << bit)
		       : d->insn.mnemonic == ZYDIS_MNEMONIC_BTS
			       ? old | (1ULL << bit)
			       : old ^ (1ULL << bit);
		return true;
	case ZYDIS_MNEMONIC_CMPXCHG:
		if (!gpr(src))
			return false;
		v = x->regs.eax & mask_of(size);
		*flags = sub_flags(v, (u32)old, size);
		*fmask = FLAGS_ARITH;
		if (v == (u32)old) {
			*new = reg_read(x, src->reg.value);
		} else {
			*new = old;
			e->reg = size == 1   ? ZYDIS_REGISTER_AL
				 : size == 2 ? ZYDIS_REGISTER_AX
					     : ZYDIS_REGISTER_EAX;
			e->value = (u32)old;
		}
		return true;
	case ZYDIS_MNEMONIC_CMPXCHG8B:
		*fmask = EFL_ZF;
		if (old == ((u64)x->regs.edx << 32 | x->regs.eax)) {
			*flags = EFL_ZF;
			*new = (u64)x->regs.ecx << 32 | x->regs.ebx;
		} else {
			*new = old;
			e->edx_eax = true;
		}
		return true;
	default:
		return false;
	}
}

/*
 * The write that faulted at @lin (walk @w), done here; -1 if it is not one
 * of the forms above or not the faulting write within one page.
 */
long sh_emulate_pt_write(struct bt86_xdata *x, u32 lin, const struct sh_walk *w)
{
	struct decoded_insn *d = insn_buffer(x);
	const ZydisDecodedOperand *m = &d->ops[0];
	struct effects e;
	u32 at, size;
	u64 gpa, old = 0, new;

	if (decode_current(x, d) || !d->insn.operand_count ||
	    m->type != ZYDIS_OPERAND_TYPE_MEMORY)
		return -1;
	size = m->size / 8;
	if (size != 1 && size != 2 && size != 4 &&
	    !(size == 8 && d->insn.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B))
		return -1;
	if (d->insn.mnemonic != ZYDIS_MNEMONIC_CMPXCHG8B &&
	    d->insn.operand_count < 2)
		return -1;
	/* The write must be the one that faulted, within its page. */
	if (mem_address(x, d, m, size, true, &at) || (at ^ lin) & ~0xfffu ||
	    ((at + size - 1) ^ lin) & ~0xfffu)
		return -1;
	gpa = (w->gpa & ~0xfffULL) | (at & 0xfff);
	mon_memcpy(&old, (const void *)(uintptr_t)(x->sh.phys + gpa), size);
	if (!compute(x, d, size, old, &new, &e))
		return -1;
	/* Through guest_store(): the shadows of the page follow. */
	if (new != old && guest_store(x, at, &new, size, guest_acc(x)))
		return -1;
	if (e.reg != ZYDIS_REGISTER_NONE)
		reg_write(x, e.reg, e.value);
	if (e.edx_eax) {
		x->regs.eax = (u32)old;
		x->regs.edx = (u32)(old >> 32);
	}
	vcpu_set_eflags(x, e.flags, e.fmask);
	skip(x, d);
	return 0;
}
