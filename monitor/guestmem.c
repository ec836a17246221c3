// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory as the monitor reaches it.  With guest paging off (shadow
 * paging is a later issue), guest linear = guest physical, and guest RAM is
 * mapped at the same addresses in the monitor's low 4 GiB.  Every access is
 * checked against the RAM the module mapped ([0, ram_end)) first: an
 * address outside it would fault inside the monitor.  The module sets
 * ram_end; the guest cannot change it.
 */
#include "bt_monitor.h"

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

bool guest_range_ok(const struct bt86_xdata *x, u32 addr, u32 len)
{
	return len <= x->ram_end && addr <= x->ram_end - len;
}

int guest_read(const struct bt86_xdata *x, u32 addr, void *dst, u32 len)
{
	if (!guest_range_ok(x, addr, len))
		return -1;
	mon_memcpy(dst, (const void *)(uintptr_t)addr, len);
	return 0;
}

int guest_write(struct bt86_xdata *x, u32 addr, const void *src, u32 len)
{
	if (!guest_range_ok(x, addr, len))
		return -1;
	/* Translated code in those pages goes, and they become writable. */
	if (x->bt.enabled)
		bt_code_write(x, addr, len);
	/* The guest's GDT or LDT: their pages stay protected. */
	if (!desc_guest_write(x, addr, src, len))
		mon_memcpy((void *)(uintptr_t)addr, src, len);
	return 0;
}
