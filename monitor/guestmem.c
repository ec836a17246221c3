// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory as the monitor reaches it (docs/shadow-paging.md).
 *
 * Guest-physical memory is guest RAM, [0, ram_end), which the module maps
 * at x->sh.phys above 4 GiB; anything else is not RAM: it reads as the
 * open bus (all ones) and writes to it vanish.  The module sets ram_end;
 * the guest cannot change it.  A write by the monitor lands through that
 * mapping, where no write protection stops it, so it first tells what the
 * page is traced for: translations of its code go, and the shadows of a
 * page table or a descriptor table follow its new entries
 * (shadow/trace.c).
 *
 * Guest-linear addresses go through the guest's paging when it is on
 * (shadow_translate(): the walker, with the guest's A and D flags and its
 * page faults), else they are guest-physical.  The functions that return
 * a fault_t give the guest's #PF to the caller, which raises it; the
 * others (guest_read(), guest_write()) say -1 and the caller decides.
 */
#include "bt_monitor.h"
#include "shadow.h"

void *mon_memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *mon_memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

/* --- guest-physical ------------------------------------------------------ */

bool guest_gfn_ram(const struct bt86_xdata *x, u64 gfn)
{
	return gfn < x->ram_end >> 12;
}

static void *phys_ptr(const struct bt86_xdata *x, u64 gpa)
{
	return (void *)(uintptr_t)(x->sh.phys + gpa);
}

/* [gpa, gpa + len) within one page: RAM is copied, the rest reads 0xff. */
static bool phys_read(const struct bt86_xdata *x, u64 gpa, void *dst, u32 len)
{
	if (!guest_gfn_ram(x, gpa >> 12)) {
		mon_memset(dst, 0xff, len);
		return false;
	}
	mon_memcpy(dst, phys_ptr(x, gpa), len);
	return true;
}

static bool phys_write(struct bt86_xdata *x, u64 gpa, const void *src, u32 len)
{
	u8 why = trace_flags(x, gpa >> 12);

	if (!guest_gfn_ram(x, gpa >> 12))
		return false;
	if (why & TRACE_CODE)
		bt_code_write_gfn(x, (u32)(gpa >> 12));
	mon_memcpy(phys_ptr(x, gpa), src, len);
	if (why & TRACE_PT)
		shadow_pt_written(x, gpa, len);
	if (why & TRACE_DESC)
		desc_written(x, gpa, len);
	return true;
}

/* --- guest-linear ---------------------------------------------------------- */

/* The bytes of [lin, lin + len) in the page of lin. */
static u32 chunk(u32 lin, u32 len)
{
	u32 room = 4096 - (lin & 4095);

	return len < room ? len : room;
}

/*
 * Guest-linear @lin to guest-physical for the monitor's own look (no flags
 * set, no fault raised): 0, or -1 if the guest's paging gives no
 * translation a supervisor access @acc (SH_ACC_FETCH for code) may use.
 * @global: the mapping is global.
 */
int guest_lin_to_phys(struct bt86_xdata *x, u32 lin, unsigned int acc, u64 *gpa,
		      bool *global)
{
	if (global)
		*global = false;
	return shadow_peek(x, lin, acc, gpa, global) ? 0 : -1;
}

/*
 * Read or write [lin, lin + len) for an access @acc (SH_ACC_*): every
 * page is translated before any byte moves, as a CPU checks an access
 * before it does it.  Non-RAM reads as all ones and takes no writes;
 * *ram says whether it was all RAM.
 */
static fault_t access(struct bt86_xdata *x, u32 lin, void *buf, u32 len,
		      unsigned int acc, bool *ram)
{
	u32 at, n;
	u64 gpa;
	fault_t f;

	*ram = true;
	for (at = 0; at < len; at += n) {
		n = chunk(lin + at, len - at);
		f = shadow_translate(x, lin + at, acc, &gpa);
		if (f)
			return f;
	}
	for (at = 0; at < len; at += n) {
		n = chunk(lin + at, len - at);
		shadow_translate(x, lin + at, acc | SH_ACC_PEEK, &gpa);
		if (acc & SH_ACC_WRITE)
			*ram &= phys_write(x, gpa, (const u8 *)buf + at, n);
		else
			*ram &= phys_read(x, gpa, (u8 *)buf + at, n);
	}
	return 0;
}

fault_t guest_load(struct bt86_xdata *x, u32 lin, void *dst, u32 len,
		   unsigned int acc)
{
	bool ram;

	return access(x, lin, dst, len, acc & ~SH_ACC_WRITE, &ram);
}

fault_t guest_store(struct bt86_xdata *x, u32 lin, const void *src, u32 len,
		    unsigned int acc)
{
	bool ram;

	return access(x, lin, (void *)src, len, acc | SH_ACC_WRITE, &ram);
}

/*
 * Whether the access @acc to [lin, lin + len) would fault, without doing
 * it or setting A and D: 0, or the #PF (its address ready for CR2).
 */
fault_t guest_check(struct bt86_xdata *x, u32 lin, u32 len, unsigned int acc)
{
	u32 at, n;
	u64 gpa;
	fault_t f;

	for (at = 0; at < len; at += n) {
		n = chunk(lin + at, len - at);
		f = shadow_translate(x, lin + at, acc | SH_ACC_PEEK, &gpa);
		if (f) {
			x->sh.pf_addr = lin + at;
			return f;
		}
	}
	return 0;
}

/*
 * An explicit access with the rights of the guest's CPL: user at ring 3;
 * at ring 0 with EFLAGS.AC, SMAP lets it reach user pages (SDM 3A §4.6).
 */
unsigned int guest_acc(const struct bt86_xdata *x)
{
	if (vcpu_cpl(x) == 3)
		return SH_ACC_USER;
	return (x->regs.eflags & EFLAGS_AC) ? SH_ACC_AC : 0;
}

/* Supervisor accesses; -1 if one faults or a byte is not RAM. */
int guest_read(struct bt86_xdata *x, u32 addr, void *dst, u32 len)
{
	bool ram;

	if (access(x, addr, dst, len, 0, &ram))
		return -1;
	return ram ? 0 : -1;
}

int guest_write(struct bt86_xdata *x, u32 addr, const void *src, u32 len)
{
	bool ram;

	if (access(x, addr, (void *)src, len, SH_ACC_WRITE, &ram))
		return -1;
	return ram ? 0 : -1;
}

/* Whether [addr, addr + len) reads without a fault and is all RAM. */
bool guest_range_ok(struct bt86_xdata *x, u32 addr, u32 len)
{
	u32 at, n;
	u64 gpa;

	if (!len)
		return true;
	if (addr + len - 1 < addr)
		return false;
	for (at = 0; at < len; at += n) {
		n = chunk(addr + at, len - at);
		if (!shadow_peek(x, addr + at, 0, &gpa, NULL) ||
		    !guest_gfn_ram(x, gpa >> 12))
			return false;
	}
	return true;
}

/*
 * Up to @len instruction bytes at @lin, fetched with the rights of the
 * guest's CPL (the translator's and the decoder's view): how many could
 * be, stopping at a page that would fault or is not RAM.
 */
u32 guest_fetch(struct bt86_xdata *x, u32 lin, void *dst, u32 len)
{
	unsigned int acc = guest_acc(x) | SH_ACC_FETCH;
	u32 at, n;
	u64 gpa;

	for (at = 0; at < len; at += n) {
		n = chunk(lin + at, len - at);
		if (shadow_translate(x, lin + at, acc | SH_ACC_PEEK, &gpa) ||
		    !guest_gfn_ram(x, gpa >> 12))
			break;
		shadow_translate(x, lin + at, acc, &gpa);
		phys_read(x, gpa, (u8 *)dst + at, n);
	}
	return at;
}
