// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O and MMIO: what the launcher's device models answer.
 *
 * IN, OUT, INS and OUTS always fault (the real IOPL is 0 and the monitor's
 * TSS has no I/O bitmap).  The guest's own rules decide (SDM 1 §18.5):
 * CPL <= the guest's IOPL, or the guest TSS's I/O permission bitmap allows
 * the ports; else #GP(0).  OUT data goes to the run area's I/O page and the
 * run returns to the launcher; IN completes at the next entry.
 *
 * With guest paging off, guest RAM is mapped and nothing else: an access
 * to any other guest-physical address page-faults in the monitor's tables.
 * A MOV to or from such an address (how drivers touch device registers)
 * becomes a BT86_EXIT_MMIO; other instructions there stop the VM with a
 * clear message.
 */
#include "emulate.h"
#include "shadow.h"

static u8 *io_data(struct bt86_xdata *x)
{
	return (u8 *)(uintptr_t)x->io_page;
}

/* The guest TSS's I/O permission bitmap for @size ports from @port. */
static bool bitmap_allows(struct bt86_xdata *x, u16 port, unsigned int size)
{
	const struct bt86_segment *tr = &x->sregs.tr;
	u16 base, bits;
	u32 at;

	/* Only a 32-bit TSS has a bitmap. */
	if (tr->unusable || !(tr->type & 8) || tr->limit < 0x67)
		return false;
	if (guest_read(x, tr->base + 0x66, &base, 2))
		return false;
	at = base + port / 8;
	if (at + 1 > tr->limit || guest_read(x, tr->base + at, &bits, 2))
		return false;
	return !((bits >> (port & 7)) & ((1u << size) - 1));
}

bool io_allowed(struct bt86_xdata *x, u16 port, unsigned int size)
{
	unsigned int iopl = (x->regs.eflags & EFLAGS_IOPL) >> IOPL_SHIFT;

	return vcpu_cpl(x) <= iopl || bitmap_allows(x, port, size);
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
			: (u16)x->regs.edx;

	if (!io_allowed(x, p, size))
		return raise_fault(x, FAULT_GP0);
	count_emulated(x, out ? BT86_EMUL_OUT : BT86_EMUL_IN);
	skip(x, d);
	if (out) {
		mon_memcpy(io_data(x), &x->regs.eax, size);
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
	bool down = x->regs.eflags & EFLAGS_DF;
	u32 *ecx = &x->regs.ecx, *ptr = out ? &x->regs.esi : &x->regs.edi;
	u32 n = rep ? *ecx : 1, i, lin;
	u16 port = (u16)x->regs.edx;
	const ZydisDecodedOperand *m;
	fault_t f;

	if (!io_allowed(x, port, size))
		return raise_fault(x, FAULT_GP0);
	if (!n) {
		skip(x, d);
		return 0;
	}
	if (n > 4096 / size)
		n = 4096 / size;
	m = find_operand(d, ZYDIS_OPERAND_TYPE_MEMORY);
	if (!m)
		return raise_fault(x, FAULT_GP0);
	/*
	 * The segment checks: the first element faults now; if the last of
	 * the piece would, move one element, and the fault comes when the
	 * guest runs the REP again.
	 */
	f = mem_address(x, d, m, size, !out, &lin);
	if (f)
		return raise_fault(x, f);
	if (n > 1) {
		u32 first = *ptr, last;

		*ptr = down ? first - (n - 1) * size : first + (n - 1) * size;
		if (mem_address(x, d, m, size, !out, &last))
			n = 1;
		*ptr = first;
	}
	/*
	 * Guest paging: the first element's page fault is raised now; at a
	 * later one the piece stops short, and the fault comes when the guest
	 * runs the REP again.  IN checks the pages it will write at the next
	 * entry now (emulate_complete_io() then cannot fault).
	 */
	for (i = 0; i < n; i++) {
		u32 at = down ? lin - i * size : lin + i * size;

		f = out ? guest_load(x, at, io_data(x) + i * size, size,
				     guest_acc(x))
			: guest_check(x, at, size, guest_acc(x) | SH_ACC_WRITE);
		if (f && !i)
			return raise_fault(x, f);
		if (f) {
			n = i;
			break;
		}
	}
	count_emulated(x, out ? BT86_EMUL_OUTS : BT86_EMUL_INS);
	x->io.count = n;
	if (out) {
		*ptr += down ? -(n * size) : n * size;
		if (rep)
			*ecx -= n;
		if (!rep || !*ecx)
			skip(x, d);
		return io_exit(x, BT86_EXIT_IO_OUT, size, port, n);
	}
	/* IN: the data lands at the next entry (emulate_complete_io). */
	return io_exit(x, BT86_EXIT_IO_IN, size, port, n);
}

long emulate_port_io(struct bt86_xdata *x, struct decoded_insn *d)
{
	switch (d->insn.mnemonic) {
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
	default:
		return emulate_string_io(x, d, true, 4);
	}
}

/*
 * Called at the next entry after an IN exit: the launcher's data is in the
 * I/O page.  IN writes AL/AX/EAX; INS stores to ES:EDI and counts down.
 */
void emulate_complete_io(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	u8 size = x->io.size;
	u32 n = x->io.count, i, lin;
	bool down, rep;

	x->io_pending = 0;
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_IN) {
		mon_memcpy(&x->regs.eax, io_data(x), size);
		return;
	}
	rep = d->insn.attributes & ZYDIS_ATTRIB_HAS_REP;
	down = x->regs.eflags & EFLAGS_DF;
	lin = x->sregs.es.base + x->regs.edi;
	for (i = 0; i < n; i++)
		guest_store(x, down ? lin - i * size : lin + i * size,
			    io_data(x) + i * size, size, guest_acc(x));
	x->regs.edi += down ? -(n * size) : n * size;
	if (rep)
		x->regs.ecx -= n;
	if (!rep || !x->regs.ecx)
		skip(x, d);
}

/* --- MMIO ------------------------------------------------------------------------ */

/* Which operand of a MOV-class instruction is memory, and which is not. */
static bool mmio_operands(const struct decoded_insn *d, unsigned int *mem,
			  unsigned int *other)
{
	switch (d->insn.mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
		break;
	default:
		return false;
	}
	if (d->ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
		*mem = 0;
		*other = 1;
	} else if (d->ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY) {
		*mem = 1;
		*other = 0;
	} else {
		return false;
	}
	return d->ops[*other].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	       d->ops[*other].reg.value < ZYDIS_REGISTER_ES ||
	       d->ops[*other].reg.value > ZYDIS_REGISTER_GS;
}

/* A guest access to guest-physical @phys, outside guest RAM. */
long emulate_mmio(struct bt86_xdata *x, u64 phys)
{
	struct decoded_insn *d = insn_buffer(x);
	u32 eip = x->sregs.cs.base + x->regs.eip, value = 0;
	unsigned int mem, other;
	u8 bytes[15];
	u32 len = sizeof(bytes);

	while (len && !guest_range_ok(x, eip, len))
		len--;
	if (!len || guest_read(x, eip, bytes, len) ||
	    decode_insn_width(bytes, len, x->sregs.cs.db ? 32 : 16, d) ||
	    !mmio_operands(d, &mem, &other))
		return exit_unsupported(x, BT86_UNSUPPORTED_MMIO, phys);
	count_emulated(x, BT86_EMUL_MMIO);
	x->mmio.phys = phys;
	x->mmio.len = d->ops[mem].size / 8;
	x->mmio.is_write = mem == 0;
	mon_memset(x->mmio.data, 0, sizeof(x->mmio.data));
	if (x->mmio.is_write) {
		operand_read(x, d, &d->ops[other], &value);
		mon_memcpy(x->mmio.data, &value, x->mmio.len);
		skip(x, d);
	} else {
		x->mmio.pending = 1;
	}
	return exit_to_host(x, BT86_EXIT_MMIO);
}

/* The launcher's answer to an MMIO read: into the destination register. */
void emulate_complete_mmio(struct bt86_xdata *x)
{
	struct decoded_insn *d = insn_buffer(x);
	u32 value = 0;
	unsigned int n = x->mmio.len;

	x->mmio.pending = 0;
	mon_memcpy(&value, x->mmio.data, n);
	if (d->insn.mnemonic == ZYDIS_MNEMONIC_MOVSX && n < 4)
		value = n == 1 ? (u32)(int8_t)value : (u32)(int16_t)value;
	reg_write(x, d->ops[0].reg.value, value);
	skip(x, d);
}
