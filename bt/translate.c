// SPDX-License-Identifier: GPL-2.0
/*
 * Translating one block of guest ring-0 code (docs/translator.md).
 *
 * A block starts at a guest EIP and runs to the first instruction that
 * changes the flow, calls the monitor, or after BT_MAX_INSNS instructions.
 * Its translation is laid out as
 *
 *   main code     each guest instruction copied (IDENT) or rewritten
 *   exit stubs    "int $0x1f" per branch target not yet translated; the
 *                 monitor translates the target and patches the branch to
 *                 jump there directly (chaining)
 *
 * and every TC address where a guest instruction starts, or where the
 * guest state is exact, gets an entry in the block's map, so that a fault
 * or interrupt in translated code is delivered at the right guest EIP.
 * Between two such entries (the inside of a rewritten sequence) the
 * monitor never stops: it resumes the sequence or single-steps to its end.
 */
#include "check.h"

/* A branch out of the block whose target is resolved at the end. */
struct pending_exit {
	bt_u32 rel32;  /* offset of the rel32 in the TC */
	bt_u32 target; /* guest EIP */
};

#define MAX_EXITS 4

struct tblock {
	struct bt_cache *c;
	const struct bt_env *env;
	const struct bt_key *key;
	struct bt_block *b;
	struct emit e;
	struct decoded_insn *d;
	struct pending_exit exits[MAX_EXITS];
	unsigned int nexits;
	bool shadow_next; /* the next map entry follows an STI */
};

static void add_map_at(struct tblock *t, bt_u32 tc_off, enum bt_map_kind kind,
		       bt_u32 eip, bt_u32 arg)
{
	struct bt_cache *c = t->c;
	struct bt_map *m = &c->map[c->nmap++];

	m->tc_off = tc_off;
	m->guest_eip = eip;
	m->arg = arg;
	m->kind = (bt_u8)kind;
	m->shadow = 0;
	m->flags = 0;
	m->pad = 0;
	if (t->shadow_next) { /* whatever the next insn is: sti; hlt */
		m->shadow = 1;
		t->shadow_next = false;
	}
	t->b->map_count++;
}

static void add_map(struct tblock *t, enum bt_map_kind kind, bt_u32 eip,
		    bt_u32 arg)
{
	add_map_at(t, t->e.pos, kind, eip, arg);
}

/* add_map() for a later entry of the same guest instruction: the STI
 * shadow of its first entry holds at each. */
static void add_map_again(struct tblock *t, enum bt_map_kind kind, bt_u32 eip)
{
	struct bt_cache *c = t->c;
	bt_u8 shadow = c->map[c->nmap - 1].shadow;

	add_map(t, kind, eip, 0);
	c->map[c->nmap - 1].shadow = shadow;
}

static bt_u32 ind_lookup_addr(const struct tblock *t)
{
	return t->c->tc_low + t->c->ind_lookup;
}

/* A branch to guest @target: chained now if translated, else a stub. */
static void branch_to(struct tblock *t, bt_u32 rel32, bt_u32 target)
{
	t->exits[t->nexits].rel32 = rel32;
	t->exits[t->nexits].target = target;
	t->nexits++;
}

static void emit_exit_jmp(struct tblock *t, bt_u32 target)
{
	branch_to(t, emit_jmp(&t->e, 0), target);
}

/* --- rewrites ------------------------------------------------------------ */

static bt_u32 next_eip(const struct tblock *t, bt_u32 eip)
{
	return eip + t->d->insn.length;
}

static bt_u32 branch_target(const struct tblock *t, bt_u32 eip)
{
	return next_eip(t, eip) + (bt_u32)t->d->ops[0].imm.value.s;
}

/* call rel32: push the guest's return address, then jump. */
static void emit_call(struct tblock *t, bt_u32 eip)
{
	emit_push_imm(&t->e, next_eip(t, eip));
	add_map(t, BT_MAP_INSN, branch_target(t, eip), 0);
	emit_exit_jmp(t, branch_target(t, eip));
}

/* jcc rel: the taken and the fall-through edge, both to stubs. */
static void emit_cond(struct tblock *t, bt_u32 eip)
{
	bt_u8 cc = t->d->insn.opcode & 0xf;

	branch_to(t, emit_jcc(&t->e, cc, 0), branch_target(t, eip));
	emit_exit_jmp(t, next_eip(t, eip));
}

/*
 * LOOP/LOOPcc/JECXZ have only a rel8 form: the original instruction (its
 * 67 prefix kept) jumps over the fall-through jmp to the taken one.
 */
static void emit_loop(struct tblock *t, const bt_u8 *bytes, bt_u32 eip)
{
	emit_bytes(&t->e, bytes, t->d->insn.length - 1u);
	emit_u8(&t->e, 5);
	emit_exit_jmp(t, next_eip(t, eip));
	add_map(t, BT_MAP_INSN, branch_target(t, eip), 0);
	emit_exit_jmp(t, branch_target(t, eip));
}

/* ret [imm16]: the return address into the window, then the lookup. */
static void emit_ret(struct tblock *t)
{
	emit_gs_modrm(&t->e, 0x8f, 0, BT_VP_TARGET); /* popl %gs:TARGET */
	if (t->d->insn.operand_count &&
	    t->d->ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		/* lea imm32(%esp), %esp: no flags touched */
		static const bt_u8 lea[3] = { 0x8d, 0xa4, 0x24 };

		emit_bytes(&t->e, lea, 3);
		emit_u32(&t->e, (bt_u32)t->d->ops[0].imm.value.u & 0xffff);
	}
	emit_jmp(&t->e, ind_lookup_addr(t));
}

/*
 * jmp/call *r/m32: the operand is read into EAX (saved first) with the
 * original addressing, so a fault reading it is a fault of the guest's
 * instruction with nothing changed yet.  Only segment overrides other
 * than GS/CS (classify.c sends those to STEP) and 67 are kept.
 */
static void emit_indirect(struct tblock *t, const bt_u8 *bytes, bt_u32 eip,
			  bool call)
{
	const ZydisDecodedInstruction *in = &t->d->insn;
	bt_u32 modrm_at = in->raw.modrm.offset, i;

	emit_store_gs(&t->e, REG_EAX, BT_VP_SAVE_EAX);
	add_map(t, BT_MAP_INSN, eip, 0);
	for (i = 0; i + 1 < modrm_at; i++) {
		bt_u8 p = bytes[i];

		if (p == 0x26 || p == 0x36 || p == 0x3e || p == 0x64 ||
		    p == 0x67)
			emit_u8(&t->e, p);
	}
	emit_u8(&t->e, 0x8b); /* mov r/m32, %eax */
	emit_u8(&t->e, bytes[modrm_at] & 0xc7);
	emit_bytes(&t->e, bytes + modrm_at + 1, in->length - modrm_at - 1u);
	emit_store_gs(&t->e, REG_EAX, BT_VP_TARGET);
	emit_load_gs(&t->e, REG_EAX, BT_VP_SAVE_EAX);
	if (call) {
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_push_imm(&t->e, next_eip(t, eip));
	}
	emit_jmp(&t->e, ind_lookup_addr(t));
}

/* CLI and STI change only the virtual IF (a byte store: flags intact). */
static void emit_cli(struct tblock *t)
{
	emit_movb_gs(&t->e, BT_VP_VIF, 0);
}

/*
 * STI: the virtual IF, then a call out if the monitor has an interrupt
 * waiting (BT_VP_WANT), tested with JECXZ to leave the flags alone.  The
 * next instruction's map entry is marked: STI holds interrupts for one
 * instruction (SDM 2B "STI").
 */
static void emit_sti(struct tblock *t, bt_u32 eip)
{
	emit_movb_gs(&t->e, BT_VP_VIF, 0x02);
	emit_store_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	emit_load_gs(&t->e, REG_ECX, BT_VP_WANT);
	emit_u8(&t->e, 0xe3); /* jecxz over the call out */
	emit_u8(&t->e, 9);
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map(t, BT_MAP_STI, next_eip(t, eip), 0);
	emit_callout(&t->e);
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	t->shadow_next = true;
}

/*
 * PUSHFD: the real flags with the virtual IF and IOPL (real IF is always
 * 1, real IOPL 0; a TF the monitor set to step is hidden).  The final
 * POPFD restores the arithmetic flags the AND/OR changed; at CPL 1 with
 * IOPL 0 it leaves IF and IOPL alone (SDM 2B "POPF").  Only the first
 * PUSHFD can fault; everything after it touches the same stack slot.
 */
static void emit_pushf(struct tblock *t, bt_u32 eip)
{
	static const bt_u8 load_top[3] = { 0x8b, 0x04,
					   0x24 }; /* mov (%esp),%eax */

	emit_store_gs(&t->e, REG_EAX, BT_VP_SAVE_EAX);
	add_map(t, BT_MAP_INSN, eip, 0);
	emit_u8(&t->e, 0x9c); /* pushfl */
	emit_bytes(&t->e, load_top, 3);
	emit_u8(&t->e, 0x25); /* and $~(IF|TF), %eax */
	emit_u32(&t->e, ~0x300u);
	emit_gs_modrm(&t->e, 0x0a, 4, BT_VP_VIF);   /* or %gs:VIF, %ah */
	emit_gs_modrm(&t->e, 0x0a, 4, BT_VP_VIOPL); /* or %gs:VIOPL, %ah */
	emit_u8(&t->e, 0x9d);			    /* popfl */
	emit_u8(&t->e, 0x50);			    /* pushl %eax */
	emit_load_gs(&t->e, REG_EAX, BT_VP_SAVE_EAX);
}

/*
 * POPFD: the real POPFD sets everything but IF and IOPL at CPL 1 (SDM 2B
 * "POPF"), so only the virtual IF needs writing.  Bits 15:8 of the popped
 * value index a table the monitor keeps (BT_VP_POPF): nonzero when they
 * set TF or change IOPL, which the monitor does.  The flags are free to
 * use until the final POPFD loads them.  If IF becomes 1 with an
 * interrupt waiting, the monitor does the POPFD and delivers it.
 */
static void emit_popf(struct tblock *t, bt_u32 eip)
{
	static const bt_u8 load_hi[5] = { 0x0f, 0xb6, 0x4c, 0x24, 0x01 };
	/* mov (%esp), %ecx; movzbl %ch, %ecx */
	static const bt_u8 load_all[6] = { 0x8b, 0x0c, 0x24, 0x0f, 0xb6, 0xcd };
	static const bt_u8 need[4] = { 0x65, 0x0f, 0xb6, 0x89 };
	static const bt_u8 and_if[3] = { 0x83, 0xe1, 0x02 };
	bt_u32 jz_at;

	emit_store_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map(t, BT_MAP_INSN, eip, 0);
	/* The 4 bytes POPFD reads: a fault is the guest's, here at the map
	 * entry, not at the final POPFD with the virtual IF written. */
	emit_bytes(&t->e, load_all, 6);
	emit_bytes(&t->e, need, 4); /* movzbl %gs:POPF(%ecx), %ecx */
	emit_u32(&t->e, BT_VP_POPF);
	emit_u8(&t->e, 0xe3); /* jecxz over the call out */
	emit_u8(&t->e, 9);
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map(t, BT_MAP_CALLOUT, eip, 0);
	emit_callout(&t->e);
	emit_bytes(&t->e, load_hi, 5); /* movzbl 1(%esp), %ecx */
	emit_bytes(&t->e, and_if, 3);  /* and $2, %ecx */
	emit_gs_modrm(&t->e, 0x88, REG_ECX, BT_VP_VIF); /* mov %cl, VIF */
	emit_u8(&t->e, 0x74);				/* jz: IF stays 0 */
	jz_at = t->e.pos;
	emit_u8(&t->e, 0);
	emit_gs_modrm(&t->e, 0x83, 7, BT_VP_WANT); /* cmpl $0, WANT */
	emit_u8(&t->e, 0);
	emit_u8(&t->e, 0x74); /* jz: nothing waits */
	emit_u8(&t->e, 9);
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map(t, BT_MAP_CALLOUT, eip, 0);
	emit_callout(&t->e);
	if (!t->e.overflow)
		t->e.buf[jz_at] = (bt_u8)(t->e.pos - (jz_at + 1));
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	emit_u8(&t->e, 0x9d); /* popfl */
}

/* PUSH Sreg (32-bit): the guest's selector, zero-extended, from the window. */
static void emit_push_sreg(struct tblock *t)
{
	emit_gs_modrm(&t->e, 0xff, 6,
		      BT_VP_SEL +
			      4 * (t->d->ops[0].reg.value - ZYDIS_REGISTER_ES));
}

/*
 * An instruction with a %gs memory operand.  In translated code %gs is the
 * window's, so the guest's own GS is loaded around the instruction: its
 * hardware selector (the monitor keeps it at BT_VP_GUEST_GS), then the
 * window's again from the copy after the indirect-branch routine, read
 * through CS (flat).  MOV to GS changes no flag (SDM 2A "MOV").  The
 * guest's instruction has an entry of its own, flagged: a fault there
 * is the instruction's, with the guest's GS loaded, and the guest resumes
 * at the entry before, which loads it again.
 */
static void emit_gs_mem(struct tblock *t, const bt_u8 *bytes, bt_u32 eip)
{
	struct bt_cache *c = t->c;

	emit_gs_modrm(&t->e, 0x8e, 5, BT_VP_GUEST_GS); /* mov %gs:m, %gs */
	add_map_again(t, BT_MAP_INSN, eip);
	c->map[c->nmap - 1].flags = BT_MAPF_GUEST_GS;
	emit_bytes(&t->e, bytes, t->d->insn.length);
	emit_u8(&t->e, 0x2e); /* mov %cs:gs_sel, %gs */
	emit_u8(&t->e, 0x8e);
	emit_u8(&t->e, 0x2d);
	emit_u32(&t->e, c->tc_low + c->gs_sel_const);
}

/*
 * Checked translation (check.c): the bound checks before the instruction
 * at @eip.  Map entries: INSN at their start, LIMIT at the call out taken
 * when one fails (arg: the TC offset of the instruction, whose own entry
 * the caller adds next).  An STI's shadow marks all three.
 */
static void emit_checks(struct tblock *t, bt_u32 eip, const bt_u8 *bytes)
{
	bool shadow = t->shadow_next;
	bt_u32 start = t->e.pos, fail;

	if (!t->c->checked)
		return;
	fail = bt_emit_checks(&t->e, t->d, bytes);
	if (fail == BT_NONE)
		return;
	add_map_at(t, start, BT_MAP_INSN, eip, 0);
	t->shadow_next = shadow;
	add_map_at(t, fail, BT_MAP_LIMIT, eip, t->e.pos);
	t->shadow_next = shadow;
}

/*
 * The guest's prefixes a copy of its memory operand keeps, once each: the
 * segment override (the last one counts) and the address size.
 */
static void emit_operand_prefixes(struct tblock *t, const bt_u8 *bytes,
				  bt_u32 opcode_at)
{
	bt_u8 seg = 0, addr16 = 0;
	bt_u32 i;

	for (i = 0; i < opcode_at; i++) {
		bt_u8 p = bytes[i];

		if (p == 0x26 || p == 0x36 || p == 0x3e || p == 0x64)
			seg = p;
		else if (p == 0x67)
			addr16 = p;
	}
	if (seg)
		emit_u8(&t->e, seg);
	if (addr16)
		emit_u8(&t->e, addr16);
}

/*
 * MOV DS/ES/FS, r/m16 and POP DS/ES/FS.  The instruction itself runs: at
 * CPL 1 on the shadow GDT the CPU checks and loads what a CPU at CPL 0
 * would, with two exceptions the translation tests first (BT_VP_SEL_HI,
 * BT_VP_SEL_CHECK): RPL 1 over a DPL 0 descriptor, which the shadow's DPL
 * 1 lets through (SDM 3A "Privilege Level Checking When Accessing Data
 * Segments": DPL >= max(CPL, RPL)), and indexes from BT_GUEST_GDT_SLOTS
 * on, which name the monitor's slots.  Those call out.  The selector is
 * read as the instruction reads it (a register, its memory operand, the
 * top of the stack), so a fault there is the instruction's, at its second
 * entry, with nothing changed (ECX is only saved); a fault of the load
 * itself (#GP, #NP, #SS, an LDT selector) is at its last, where the monitor
 * emulates it (emulate_load_sreg()).  The new selector then goes to the window
 * (BT_VP_SEL), where PUSH and MOV from Sreg read it.  No step changes a
 * flag: MOV, MOVZX, JECXZ, MOV Sreg.
 */
static void emit_load_sreg(struct tblock *t, const bt_u8 *bytes, bt_u32 eip)
{
	static const bt_u8 top[4] = { 0x66, 0x8b, 0x0c, 0x24 };
	static const bt_u8 ch[3] = { 0x0f, 0xb6, 0xcd };
	static const bt_u8 hi[4] = { 0x65, 0x8b, 0x0c, 0x8d };
	static const bt_u8 check[4] = { 0x65, 0x0f, 0xb6, 0x89 };
	const ZydisDecodedInstruction *in = &t->d->insn;
	bt_u32 n = t->d->ops[0].reg.value - ZYDIS_REGISTER_ES;
	bt_u32 modrm_at = in->raw.modrm.offset;
	bt_u8 modrm = bytes[modrm_at];

	emit_store_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map_again(t, BT_MAP_INSN, eip); /* the read may fault */
	if (in->mnemonic == ZYDIS_MNEMONIC_POP) {
		emit_bytes(&t->e, top, 4); /* mov (%esp), %cx */
	} else if ((modrm >> 6) == 3) {
		if ((modrm & 7) != REG_ECX) { /* mov %r16, %cx */
			emit_u8(&t->e, 0x66);
			emit_u8(&t->e, 0x89);
			emit_u8(&t->e,
				(bt_u8)(0xc0 | (modrm & 7) << 3 | REG_ECX));
		}
	} else { /* mov m16, %cx: the guest's operand */
		emit_operand_prefixes(t, bytes, modrm_at - 1);
		emit_u8(&t->e, 0x66);
		emit_u8(&t->e, 0x8b);
		emit_u8(&t->e, (bt_u8)((modrm & 0xc7) | REG_ECX << 3));
		emit_bytes(&t->e, bytes + modrm_at + 1,
			   in->length - modrm_at - 1u);
	}
	emit_gs_modrm(&t->e, 0x88, REG_ECX, BT_VP_SEL_TMP); /* mov %cl, m */
	emit_bytes(&t->e, ch, 3); /* movzbl %ch, %ecx */
	emit_bytes(&t->e, hi, 4); /* mov %gs:SEL_HI(,%ecx,4), %ecx */
	emit_u32(&t->e, BT_VP_SEL_HI);
	emit_gs_modrm(&t->e, 0x8a, REG_ECX, BT_VP_SEL_TMP); /* mov m, %cl */
	emit_bytes(&t->e, check, 4); /* movzbl %gs:SEL_CHECK(%ecx), %ecx */
	emit_u32(&t->e, BT_VP_SEL_CHECK);
	emit_u8(&t->e, 0xe3); /* jecxz over the call out */
	emit_u8(&t->e, 9);
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map_again(t, BT_MAP_CALLOUT, eip);
	emit_callout(&t->e);
	emit_load_gs(&t->e, REG_ECX, BT_VP_SAVE_ECX);
	add_map_again(t, BT_MAP_INSN, eip);
	emit_bytes(&t->e, bytes, in->length);
	emit_gs_modrm(&t->e, 0x8c, (bt_u8)n, BT_VP_SEL + 4 * n);
}

/*
 * MOV r32/r16, Sreg: the guest's selector from the window (the hardware's
 * may name a stale slot, and CS and SS show RPL 1), zero extended into a
 * 32-bit register (SDM 2A "MOV": so do P6 and later processors; the
 * monitor's emulation does too).
 */
static void emit_read_sreg(struct tblock *t, const bt_u8 *bytes)
{
	const ZydisDecodedInstruction *in = &t->d->insn;
	bt_u32 n = t->d->ops[1].reg.value - ZYDIS_REGISTER_ES;
	bt_u8 r = bytes[in->raw.modrm.offset] & 7;

	if (in->operand_width == 16) {
		emit_u8(&t->e, 0x66);
		emit_gs_modrm(&t->e, 0x8b, r, BT_VP_SEL + 4 * n);
		return;
	}
	emit_u8(&t->e, 0x65); /* movzwl %gs:SEL[n], %r32 */
	emit_u8(&t->e, 0x0f);
	emit_u8(&t->e, 0xb7);
	emit_u8(&t->e, (bt_u8)(r << 3 | 5));
	emit_u32(&t->e, BT_VP_SEL + 4 * n);
}

/* --- the block --------------------------------------------------------- */

/* Reads and decodes the instruction at @eip; false if it cannot be. */
static bool fetch_insn(struct tblock *t, bt_u32 eip, bt_u8 *bytes)
{
	const struct bt_key *k = t->key;
	bt_u32 got, len = 15;

	if (eip > k->cs_limit)
		return false;
	if (k->cs_limit - eip < 14)
		len = k->cs_limit - eip + 1;
	got = t->env->fetch(t->env->opaque, k->cs_base + eip, bytes, len);
	return got && decode_insn(bytes, got, t->d) == 0;
}

/* Translates one instruction; returns false when it ends the block. */
static bool translate_insn(struct tblock *t, bt_u32 eip)
{
	bt_u8 bytes[15];
	enum bt_class cls = CLASS_STEP;

	if (fetch_insn(t, eip, bytes))
		cls = bt_classify(t->d);
	/*
	 * A direct branch to a target past CS's limit takes #GP at the
	 * branch itself, before it pushes or counts (SDM 2A "JMP", "CALL",
	 * "Jcc", "LOOP"); the rewrite would fault at the target instead.
	 */
	if ((cls == CLASS_JMP || cls == CLASS_JCC || cls == CLASS_CALL ||
	     cls == CLASS_LOOP) &&
	    branch_target(t, eip) > t->key->cs_limit)
		cls = CLASS_STEP;
	if (cls != CLASS_STEP && t->env->hot &&
	    t->env->hot(t->env->opaque, eip))
		cls = CLASS_CALLOUT;
	/*
	 * Checked translation keeps each segment's limit in the window
	 * (BT_VP_LIMIT): a segment load goes through the monitor, which
	 * refreshes it.
	 */
	if (cls == CLASS_LOAD_SREG && t->c->checked)
		cls = CLASS_CALLOUT;
	if (cls == CLASS_STEP || cls == CLASS_CALLOUT) {
		add_map(t, cls == CLASS_STEP ? BT_MAP_STEP : BT_MAP_CALLOUT,
			eip, 0);
		emit_callout(&t->e);
		if (cls == CLASS_STEP)
			t->c->stats.refused++;
		return false;
	}
	t->b->ninsns++;
	t->b->lin_end = t->key->cs_base + next_eip(t, eip);
	emit_checks(t, eip, bytes);
	switch (cls) {
	case CLASS_CLI:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_cli(t);
		return true;
	case CLASS_STI:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_sti(t, eip);
		return true;
	case CLASS_PUSHF:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_pushf(t, eip);
		return true;
	case CLASS_POPF:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_popf(t, eip);
		return true;
	case CLASS_PUSH_SREG:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_push_sreg(t);
		return true;
	case CLASS_GS_MEM:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_gs_mem(t, bytes, eip);
		return true;
	case CLASS_LOAD_SREG:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_load_sreg(t, bytes, eip);
		return true;
	case CLASS_READ_SREG:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_read_sreg(t, bytes);
		return true;
	case CLASS_JMP:
		add_map(t, BT_MAP_INSN, branch_target(t, eip), 0);
		emit_exit_jmp(t, branch_target(t, eip));
		return false;
	case CLASS_JCC:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_cond(t, eip);
		return false;
	case CLASS_CALL:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_call(t, eip);
		return false;
	case CLASS_LOOP:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_loop(t, bytes, eip);
		return false;
	case CLASS_RET:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_ret(t);
		return false;
	case CLASS_JMP_IND:
	case CLASS_CALL_IND:
		add_map(t, BT_MAP_INSN, eip, 0);
		emit_indirect(t, bytes, eip, cls == CLASS_CALL_IND);
		return false;
	default: /* CLASS_IDENT */
		add_map(t, BT_MAP_INSN, eip, 0);
		if (t->d->insn.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B) {
			/*
			 * QEMU 7.2's TCG computes the flags CMPXCHG8B keeps
			 * from a stale lazy-flags state, which after a return
			 * from the monitor turns EFLAGS into junk (TF, DF,
			 * reserved bits: monitor/vcpu.c, frame_eflags()).  A
			 * JMP ends TCG's block and brings that state up to
			 * date; a CPU just jumps to the next instruction.
			 */
			emit_u8(&t->e, 0xeb); /* jmp .+2 */
			emit_u8(&t->e, 0);
			add_map_again(t, BT_MAP_INSN, eip);
		}
		emit_bytes(&t->e, bytes, t->d->insn.length);
		return true;
	}
}

/* Resolve the block's exits: chain to translated targets, else stubs. */
static void emit_exits(struct tblock *t)
{
	struct bt_cache *c = t->c;
	unsigned int i;

	for (i = 0; i < t->nexits; i++) {
		struct pending_exit *x = &t->exits[i];
		struct bt_block *to = bt_lookup(c, t->key, x->target);
		bt_u32 dest;

		if (to) {
			dest = bt_block_addr(c, to);
			c->stats.chained++;
		} else {
			dest = emit_addr(&t->e);
			add_map(t, BT_MAP_EXIT, x->target, x->rel32);
			emit_callout(&t->e);
		}
		bt_u32 rel = dest - (c->tc_low + x->rel32 + 4);

		t->e.buf[x->rel32] = (bt_u8)rel;
		t->e.buf[x->rel32 + 1] = (bt_u8)(rel >> 8);
		t->e.buf[x->rel32 + 2] = (bt_u8)(rel >> 16);
		t->e.buf[x->rel32 + 3] = (bt_u8)(rel >> 24);
	}
}

/* Room for one more block of the worst size? */
static bool cache_has_room(const struct bt_cache *c)
{
	return c->nblocks < c->max_blocks &&
	       c->nmap + 3 * BT_MAX_INSNS + 2 * MAX_EXITS <= c->max_map &&
	       c->tc_used + BT_MAX_BLOCK_CODE <= c->tc_size;
}

int bt_translate(struct bt_cache *c, const struct bt_env *env,
		 const struct bt_key *k, bt_u32 eip, struct bt_block **out)
{
	struct tblock t = { .c = c, .env = env, .key = k };
	struct bt_block *b;
	bt_u32 e = eip;
	unsigned int n = 0;

	if (!cache_has_room(c))
		return BT_EFULL;
	t.d = (struct decoded_insn *)c->scratch;
	b = &c->blocks[c->nblocks];
	*b = (struct bt_block){ .eip = eip,
				.key = *k,
				.tc_off = c->tc_used,
				.map_first = c->nmap,
				.hash_next = BT_NONE };
	b->lin_start = k->cs_base + eip;
	b->lin_end = b->lin_start + 1;
	t.b = b;
	t.e = (struct emit){ .buf = c->tc,
			     .base_low = c->tc_low,
			     .pos = c->tc_used,
			     .end = c->tc_used + BT_MAX_BLOCK_CODE };
	/*
	 * Each instruction needs at most ~90 bytes (a segment load from a
	 * memory operand with every prefix), and its bound checks at most
	 * BT_CHECK_ROOM more; the block stops while there is room for one
	 * more and its exit stubs.
	 */
	for (;;) {
		bool more = translate_insn(&t, e);

		n++;
		if (!more)
			break;
		e = next_eip(&t, e);
		if (n >= BT_MAX_INSNS ||
		    t.e.end - t.e.pos <
			    BT_INSN_ROOM + (c->checked ? BT_CHECK_ROOM : 0)) {
			add_map(&t, BT_MAP_INSN, e, 0);
			emit_exit_jmp(&t, e);
			break;
		}
	}
	emit_exits(&t);
	if (t.e.overflow)
		return BT_EFULL;
	/* At least 5 bytes: an invalidated block's entry becomes a jmp. */
	while (t.e.pos - b->tc_off < 5)
		emit_u8(&t.e, 0xcc);
	b->tc_len = t.e.pos - b->tc_off;
	c->tc_used = t.e.pos;
	c->nblocks++;
	c->stats.blocks++;
	c->stats.insns += b->ninsns;
	bt_block_insert(c, b);
	*out = b;
	return BT_OK;
}
