/*
 * cpumodel - the CPU the guest sees: CPUID from ring 0 must show bt86's
 * CPU model (userland/cpu-model.c), the same under every engine (native
 * QEMU runs with `bt86 cpu-model --qemu`), including what an Intel CPU
 * answers for leaves past the highest one (SDM 2A, CPUID).  (A MOV to CR4
 * setting OSXSAVE, whose feature the model lacks, should raise #GP; QEMU
 * 7.2's TCG loops on it instead, so the native run cannot check it.)  Under
 * --accel tae guest ring 0 runs CPUID natively and sees the host's CPU
 * (cpumodel.tae): CPUID does not trap.  Whatever CPUID shows, MOV to CR4
 * must accept: the last line sets CR4.FSGSBASE when CPUID.7:EBX[0] offers
 * it (under tae the host's CPU does; the model does not, and then the
 * line has nothing to set).
 */
#include <stdbool.h>

#include "guest.h"

struct regs4 {
	uint32_t a, b, c, d;
};

static struct regs4 leaf(uint32_t function)
{
	struct regs4 r;

	asm volatile("cpuid"
		     : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
		     : "a"(function), "c"(0));
	return r;
}

/*
 * CR4.FSGSBASE (bit 16) set and read back where CPUID offers it, then
 * cleared; it has no effect outside 64-bit mode (SDM 2B RDFSBASE).
 */
static bool fsgsbase_settable(struct regs4 l0)
{
	uint32_t cr4 = read_cr4();
	bool set;

	if (l0.a < 7 || !(leaf(7).b & 1))
		return true; /* not offered: nothing to set */
	write_cr4(cr4 | 1u << 16);
	set = read_cr4() & 1u << 16;
	write_cr4(cr4);
	return set && read_cr4() == cr4;
}

static bool same(struct regs4 x, struct regs4 y)
{
	return x.a == y.a && x.b == y.b && x.c == y.c && x.d == y.d;
}

int main(void)
{
	struct regs4 l0 = leaf(0), l1 = leaf(1), x0 = leaf(0x80000000);
	char brand[49];

	ktap_plan(10);
	ok(l0.a == 1 && l0.b == 0x756e6547 && l0.d == 0x49656e69 &&
		   l0.c == 0x6c65746e,
	   "leaf 0: highest basic leaf 1, GenuineIntel");
	ok(l1.a == 0x663, "leaf 1: family 6, model 6, stepping 3");
	ok(l1.b == 0x800, "leaf 1: 64-byte CLFLUSH line, APIC ID 0");
	ok(l1.c == 0x80000001, "leaf 1: SSE3 and hypervisor present");
	ok(l1.d == 0x0788a17d,
	   "leaf 1: fpu de pse tsc msr pae cx8 pge cmov clflush mmx fxsr sse sse2");
	ok(leaf(0x80000001).d == 0x00100000, "leaf 0x80000001: NX");
	ok(x0.a == 0x80000004, "leaf 0x80000000: highest extended leaf");
	for (uint32_t i = 0; i < 3; i++) {
		struct regs4 r = leaf(0x80000002 + i);

		memcpy(brand + 16 * i, &r, 16);
	}
	brand[48] = 0;
	ok(!memcmp(brand, "bt86 virtual CPU", 17), "brand string");
	ok(same(leaf(2), l1) && same(leaf(0x80000005), l1),
	   "past the highest leaves: the highest basic leaf's answer");
	ok(fsgsbase_settable(l0),
	   "mov cr4: FSGSBASE sets where CPUID.7:EBX[0] offers it");
	ktap_finish();
}
