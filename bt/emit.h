/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing x86 code into the translation cache: a cursor over a bounded
 * buffer.  Every emitter checks room first; a block that runs out of room
 * is abandoned (emit.overflow) and the cache is flushed.
 *
 * Encodings follow SDM 2A/2B; %gs-relative operands use a GS prefix (65)
 * and a 32-bit displacement with no base (ModRM mod 00, r/m 101).
 */
#ifndef BT86_BT_EMIT_H
#define BT86_BT_EMIT_H

#include "bt.h"

struct emit {
	bt_u8 *buf;	 /* writable alias of the TC */
	bt_u32 base_low; /* the TC address buf[0] runs at */
	bt_u32 pos, end; /* offsets into buf */
	bool overflow;
};

static inline bool emit_room(struct emit *e, bt_u32 n)
{
	if (e->overflow || e->pos + n > e->end) {
		e->overflow = true;
		return false;
	}
	return true;
}

static inline void emit_bytes(struct emit *e, const bt_u8 *p, bt_u32 n)
{
	bt_u32 i;

	if (!emit_room(e, n))
		return;
	for (i = 0; i < n; i++)
		e->buf[e->pos++] = p[i];
}

static inline void emit_u8(struct emit *e, bt_u8 v)
{
	emit_bytes(e, &v, 1);
}

static inline void emit_u32(struct emit *e, bt_u32 v)
{
	bt_u8 b[4] = { (bt_u8)v, (bt_u8)(v >> 8), (bt_u8)(v >> 16),
		       (bt_u8)(v >> 24) };

	emit_bytes(e, b, 4);
}

/* The TC address the next byte will run at. */
static inline bt_u32 emit_addr(const struct emit *e)
{
	return e->base_low + e->pos;
}

/* op r32, %gs:disp32 forms: prefix 65, opcode, ModRM (mod 00, r/m 101). */
static inline void emit_gs_modrm(struct emit *e, bt_u8 opcode, bt_u8 reg,
				 bt_u32 disp)
{
	emit_u8(e, 0x65);
	emit_u8(e, opcode);
	emit_u8(e, (bt_u8)(((reg & 7) << 3) | 5));
	emit_u32(e, disp);
}

#define REG_EAX 0
#define REG_ECX 1
#define REG_EDX 2
#define REG_EBX 3
#define REG_ESP 4

/* mov %reg, %gs:disp */
static inline void emit_store_gs(struct emit *e, bt_u8 reg, bt_u32 disp)
{
	emit_gs_modrm(e, 0x89, reg, disp);
}

/* mov %gs:disp, %reg */
static inline void emit_load_gs(struct emit *e, bt_u8 reg, bt_u32 disp)
{
	emit_gs_modrm(e, 0x8b, reg, disp);
}

/* movb $imm, %gs:disp */
static inline void emit_movb_gs(struct emit *e, bt_u32 disp, bt_u8 imm)
{
	emit_gs_modrm(e, 0xc6, 0, disp);
	emit_u8(e, imm);
}

/* int $BT_CALLOUT_VECTOR */
static inline void emit_callout(struct emit *e)
{
	emit_u8(e, 0xcd);
	emit_u8(e, BT_CALLOUT_VECTOR);
}

/* jmp rel32 to TC address @to; returns the offset of the rel32. */
static inline bt_u32 emit_jmp(struct emit *e, bt_u32 to)
{
	bt_u32 at;

	emit_u8(e, 0xe9);
	at = e->pos;
	emit_u32(e, to - (emit_addr(e) + 4));
	return at;
}

/* jcc rel32 (0F 80+cc); returns the offset of the rel32. */
static inline bt_u32 emit_jcc(struct emit *e, bt_u8 cc, bt_u32 to)
{
	bt_u32 at;

	emit_u8(e, 0x0f);
	emit_u8(e, (bt_u8)(0x80 | (cc & 0xf)));
	at = e->pos;
	emit_u32(e, to - (emit_addr(e) + 4));
	return at;
}

/* pushl $imm32 */
static inline void emit_push_imm(struct emit *e, bt_u32 imm)
{
	emit_u8(e, 0x68);
	emit_u32(e, imm);
}

#endif /* BT86_BT_EMIT_H */
