// SPDX-License-Identifier: GPL-2.0
/*
 * Trap-and-emulate: what the monitor does with a trap from guest code.
 *
 * Guest ring 0 runs directly at CPL 1 with IOPL 0, so its privileged and
 * I/O instructions raise #GP.  This file decodes the faulting instruction
 * (Zydis, decode.h) and emulates the few a multiboot guest needs to start:
 * CLI, STI, HLT, IN, OUT, INS, OUTS (with REP), LGDT, LIDT, LLDT of the null
 * selector, and MOV SS (which faults at CPL 1 for the guest's RPL 0
 * selector).  Port I/O and HLT go out to the launcher.  Everything else —
 * other instructions, other exceptions — ends the run with
 * BT86_EXIT_EXCEPTION and the guest's state, for the launcher to print; the
 * virtual CPU of issue 4 will deliver them to the guest's IDT instead.
 *
 * Instructions that do not trap at CPL 1 run natively, with their known
 * differences from ring 0 (POPF keeping IF, PUSHF showing IOPL 0, SGDT
 * showing the monitor's GDT, ...): that is what --accel tae is for, and
 * what the sensitive guest of issue 4 will list one by one.
 */
#include "decode.h"
#include "monitor.h"

#define VECTOR_GP 13
#define VECTOR_PF 14

static struct decoded_insn *insn_buffer(struct bt86_xdata *x)
{
	return (struct decoded_insn *)((u8 *)x + XDATA_MONITOR);
}

/* Leave for the host with @reason; the guest state is saved first. */
static long exit_to_host(struct bt86_xdata *x, u32 reason)
{
	x->exit_reason = reason;
	vcpu_save(x);
	return 1;
}

static long report_exception(struct bt86_xdata *x, u32 vector, u32 error)
{
	x->exception.vector = vector;
	x->exception.error_code = error;
	x->exception.eip = (u32)x->rip;
	x->exception.cr2 = vector == VECTOR_PF ? (u32)x->guest_cr2 : 0;
	return exit_to_host(x, BT86_EXIT_EXCEPTION);
}

static void skip(struct bt86_xdata *x, const struct decoded_insn *d)
{
	x->rip = (u32)(x->rip + d->insn.length);
	x->emulated++;
}

/* --- operands --------------------------------------------------------------- */

static u32 reg_value(struct bt86_xdata *x, ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI)
		return *vcpu_gpr32(x, r - ZYDIS_REGISTER_EAX);
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI)
		return *vcpu_gpr32(x, r - ZYDIS_REGISTER_AX) & 0xffff;
	return 0;
}

static const struct bt86_segment *segment_of(struct bt86_xdata *x,
					     ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES:
		return &x->sregs.es;
	case ZYDIS_REGISTER_CS:
		return &x->sregs.cs;
	case ZYDIS_REGISTER_SS:
		return &x->sregs.ss;
	case ZYDIS_REGISTER_FS:
		return &x->sregs.fs;
	case ZYDIS_REGISTER_GS:
		return &x->sregs.gs;
	default:
		return &x->sregs.ds;
	}
}

/* The linear address of a memory operand (segment limits not checked). */
static u32 linear_address(struct bt86_xdata *x, const ZydisDecodedOperand *op,
			  unsigned int address_width)
{
	u32 ea = reg_value(x, op->mem.base) +
		 reg_value(x, op->mem.index) *
			 (op->mem.scale ? op->mem.scale : 1) +
		 (u32)op->mem.disp.value;

	if (address_width == 16)
		ea &= 0xffff;
	return segment_of(x, op->mem.segment)->base + ea;
}

static const ZydisDecodedOperand *find_operand(const struct decoded_insn *d,
					       ZydisOperandType type)
{
	unsigned int i;

	for (i = 0; i < d->insn.operand_count; i++)
		if (d->ops[i].type == type)
			return &d->ops[i];
	return NULL;
}

/* --- the instructions ----------------------------------------------------- */

static long emulate_cli_sti(struct bt86_xdata *x, struct decoded_insn *d,
			    bool set)
{
	if (set)
		x->regs.eflags |= EFLAGS_IF;
	else
		x->regs.eflags &= ~EFLAGS_IF;
	skip(x, d);
	return 0;
}

static long emulate_hlt(struct bt86_xdata *x, struct decoded_insn *d)
{
	skip(x, d);
	return exit_to_host(x, BT86_EXIT_HLT);
}

/* LGDT/LIDT m16&32: a 16-bit limit, then a base (24 bits with o16). */
static long emulate_load_dtable(struct bt86_xdata *x, struct decoded_insn *d,
				struct bt86_dtable *dt, bool gdt)
{
	const ZydisDecodedOperand *m =
		find_operand(d, ZYDIS_OPERAND_TYPE_MEMORY);
	u8 buf[6];
	u32 base;

	if (!m || guest_read(x, linear_address(x, m, d->insn.address_width),
			     buf, sizeof(buf)))
		return report_exception(x, VECTOR_GP, 0);
	base = buf[2] | buf[3] << 8 | buf[4] << 16 | (u32)buf[5] << 24;
	if (d->insn.operand_width == 16)
		base &= 0xffffff;
	dt->limit = buf[0] | buf[1] << 8;
	dt->base = base;
	skip(x, d);
	if (gdt)
		vcpu_reload_gdt(x);
	return 0;
}

/* LLDT: only the null selector (no LDT) until shadow LDTs exist. */
static long emulate_lldt(struct bt86_xdata *x, struct decoded_insn *d)
{
	const ZydisDecodedOperand *op = &d->ops[0];
	u16 sel;

	if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return report_exception(x, VECTOR_GP, 0);
	sel = reg_value(x, op->reg.value);
	if (sel & ~3)
		return report_exception(x, VECTOR_GP, sel & ~3);
	x->sregs.ldt.selector = 0;
	x->sregs.ldt.unusable = 1;
	skip(x, d);
	return 0;
}

static long emulate_mov_ss(struct bt86_xdata *x, struct decoded_insn *d)
{
	const ZydisDecodedOperand *src = &d->ops[1];
	u16 sel;

	if (src->type == ZYDIS_OPERAND_TYPE_REGISTER)
		sel = reg_value(x, src->reg.value);
	else if (src->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		 guest_read(x, linear_address(x, src, d->insn.address_width),
			    &sel, 2))
		return report_exception(x, VECTOR_GP, 0);
	if (vcpu_load_ss(x, sel))
		return report_exception(x, VECTOR_GP, sel & ~3);
	skip(x, d);
	return 0;
}

/* --- port I/O ----------------------------------------------------------------- */

static u8 *io_data(struct bt86_xdata *x)
{
	return (u8 *)(uintptr_t)x->io_page;
}

static long io_exit(struct bt86_xdata *x, u8 dir, u8 size, u16 port, u32 count)
{
	x->io.direction = dir;
	x->io.size = size;
	x->io.port = port;
	x->io.count = count;
	x->io_pending = dir == BT86_EXIT_IO_IN;
	return exit_to_host(x, BT86_EXIT_IO);
}

/* IN/OUT with AL/AX/EAX and an imm8 or DX port. */
static long emulate_in_out(struct bt86_xdata *x, struct decoded_insn *d,
			   bool out)
{
	const ZydisDecodedOperand *data = &d->ops[out ? 1 : 0];
	const ZydisDecodedOperand *port = &d->ops[out ? 0 : 1];
	u8 size = data->size / 8;
	u16 p = port->type == ZYDIS_OPERAND_TYPE_IMMEDIATE
			? (u16)port->imm.value.u
			: (u16)*vcpu_gpr32(x, 2); /* DX */
	u32 eax = *vcpu_gpr32(x, 0);

	skip(x, d);
	if (out) {
		mon_memcpy(io_data(x), &eax, size);
		return io_exit(x, BT86_EXIT_IO_OUT, size, p, 1);
	}
	return io_exit(x, BT86_EXIT_IO_IN, size, p, 1);
}

/*
 * INS/OUTS, with or without REP.  One exit moves at most a page of data; a
 * longer REP leaves EIP on the instruction with ECX counted down, so the
 * guest runs it again for the rest (its interrupt window stays open between
 * the pieces, as on a real CPU).
 */
static long emulate_string_io(struct bt86_xdata *x, struct decoded_insn *d,
			      bool out, u8 size)
{
	bool rep = d->insn.attributes & ZYDIS_ATTRIB_HAS_REP;
	bool down = x->rflags & EFLAGS_DF;
	u32 *ecx = vcpu_gpr32(x, 1), *ptr = vcpu_gpr32(x, out ? 6 : 7);
	u32 n = rep ? *ecx : 1, i, lin;
	const struct bt86_segment *seg;
	const ZydisDecodedOperand *m;

	if (!n) {
		skip(x, d);
		return 0;
	}
	if (n > 4096 / size)
		n = 4096 / size;
	m = find_operand(d, ZYDIS_OPERAND_TYPE_MEMORY);
	seg = out && m ? segment_of(x, m->mem.segment) : &x->sregs.es;
	lin = seg->base + *ptr;
	/* The whole piece must be guest RAM, whichever way it walks. */
	if (!guest_range_ok(x, down ? lin - (n - 1) * size : lin, n * size))
		return report_exception(x, VECTOR_PF, 0);
	if (out) {
		for (i = 0; i < n; i++)
			guest_read(x, down ? lin - i * size : lin + i * size,
				   io_data(x) + i * size, size);
		*ptr += down ? -(n * size) : n * size;
		if (rep)
			*ecx -= n;
		if (!rep || !*ecx)
			skip(x, d);
		return io_exit(x, BT86_EXIT_IO_OUT, size, *vcpu_gpr32(x, 2), n);
	}
	/* IN: the data lands at the next entry (emulate_complete_io). */
	return io_exit(x, BT86_EXIT_IO_IN, size, *vcpu_gpr32(x, 2), n);
}

/*
 * Called at the next entry after an IN exit: the launcher's data is in the
 * I/O page.  IN writes AL/AX/EAX; INS stores to ES:EDI and counts down.
 */
void emulate_complete_io(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	u8 size = x->io.size;
	u32 *eax = vcpu_gpr32(x, 0);
	u32 n = x->io.count, i, lin, *edi, *ecx;
	bool down, rep;

	x->io_pending = 0;
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_IN) {
		mon_memcpy(eax, io_data(x), size);
		return;
	}
	rep = d->insn.attributes & ZYDIS_ATTRIB_HAS_REP;
	down = x->rflags & EFLAGS_DF;
	edi = vcpu_gpr32(x, 7);
	ecx = vcpu_gpr32(x, 1);
	lin = x->sregs.es.base + *edi;
	for (i = 0; i < n; i++)
		guest_write(x, down ? lin - i * size : lin + i * size,
			    io_data(x) + i * size, size);
	*edi += down ? -(n * size) : n * size;
	if (rep)
		*ecx -= n;
	if (!rep || !*ecx)
		skip(x, d);
}

/* --- #GP ------------------------------------------------------------------- */

static long emulate_gp(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	u32 eip = x->sregs.cs.base + (u32)x->rip;
	u8 bytes[15];
	u32 len = sizeof(bytes);

	/* Up to 15 bytes, stopping at the end of RAM. */
	while (len && !guest_range_ok(x, eip, len))
		len--;
	if (!len || guest_read(x, eip, bytes, len) ||
	    decode_insn(bytes, len, d))
		return report_exception(x, VECTOR_GP, x->error);
	/* MOV SS faults with the selector as error code; the rest with 0. */
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_MOV &&
	    d->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    d->ops[0].reg.value == ZYDIS_REGISTER_SS)
		return emulate_mov_ss(x, d);
	if (x->error)
		return report_exception(x, VECTOR_GP, x->error);

	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_CLI:
		return emulate_cli_sti(x, d, false);
	case ZYDIS_MNEMONIC_STI:
		return emulate_cli_sti(x, d, true);
	case ZYDIS_MNEMONIC_HLT:
		return emulate_hlt(x, d);
	case ZYDIS_MNEMONIC_IN:
		return emulate_in_out(x, d, false);
	case ZYDIS_MNEMONIC_OUT:
		return emulate_in_out(x, d, true);
	case ZYDIS_MNEMONIC_INSB:
		return emulate_string_io(x, d, false, 1);
	case ZYDIS_MNEMONIC_INSW:
		return emulate_string_io(x, d, false, 2);
	case ZYDIS_MNEMONIC_INSD:
		return emulate_string_io(x, d, false, 4);
	case ZYDIS_MNEMONIC_OUTSB:
		return emulate_string_io(x, d, true, 1);
	case ZYDIS_MNEMONIC_OUTSW:
		return emulate_string_io(x, d, true, 2);
	case ZYDIS_MNEMONIC_OUTSD:
		return emulate_string_io(x, d, true, 4);
	case ZYDIS_MNEMONIC_LGDT:
		return emulate_load_dtable(x, d, &x->sregs.gdt, true);
	case ZYDIS_MNEMONIC_LIDT:
		return emulate_load_dtable(x, d, &x->sregs.idt, false);
	case ZYDIS_MNEMONIC_LLDT:
		return emulate_lldt(x, d);
	default:
		break;
	}
	return report_exception(x, VECTOR_GP, x->error);
}

/* A trap from guest code: 0 resumes the guest, 1 goes to the host. */
long emulate_trap(struct bt86_xdata *x)
{
	if (bt86_is_host_event(x->vector))
		return exit_to_host(x, 0);
	/* Only guest ring 0 is emulated; ring 3 #GP is the guest's own. */
	if (x->vector == VECTOR_GP && vcpu_cpl(x) == 0)
		return emulate_gp(x);
	return report_exception(x, (u32)x->vector, (u32)x->error);
}
