// SPDX-License-Identifier: GPL-2.0
/*
 * backend-bt86-report.c - what the bt86 module says, in plain words: the
 * vCPU's counters for --stats (BT86_GET_VCPU_STATS), and why the VM stopped
 * when the module reports an internal error (docs/ioctl-api.md).
 */
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backend-bt86.h"
#include "bt86.h"
#include "util.h"

/* Names of BT86_EMUL_*, as --stats prints them. */
static const char *const emul_names[BT86_EMUL_COUNT] = {
	[BT86_EMUL_CLI] = "CLI",
	[BT86_EMUL_STI] = "STI",
	[BT86_EMUL_HLT] = "HLT",
	[BT86_EMUL_IN] = "IN",
	[BT86_EMUL_OUT] = "OUT",
	[BT86_EMUL_INS] = "INS",
	[BT86_EMUL_OUTS] = "OUTS",
	[BT86_EMUL_LGDT] = "LGDT",
	[BT86_EMUL_LIDT] = "LIDT",
	[BT86_EMUL_LLDT] = "LLDT",
	[BT86_EMUL_LTR] = "LTR",
	[BT86_EMUL_SGDT_SIDT] = "SGDT/SIDT/SLDT/STR/SMSW",
	[BT86_EMUL_MOV_SS] = "MOV/POP/LSS to SS",
	[BT86_EMUL_MOV_CR] = "MOV CRn",
	[BT86_EMUL_MOV_DR] = "MOV DRn",
	[BT86_EMUL_CLTS_LMSW] = "CLTS/LMSW",
	[BT86_EMUL_RDMSR] = "RDMSR",
	[BT86_EMUL_WRMSR] = "WRMSR",
	[BT86_EMUL_INVLPG] = "INVLPG",
	[BT86_EMUL_WBINVD] = "WBINVD/INVD",
	[BT86_EMUL_IRET] = "IRET",
	[BT86_EMUL_RETF] = "far RET",
	[BT86_EMUL_INT] = "INT n",
	[BT86_EMUL_GATE] = "call gates",
	[BT86_EMUL_TASK] = "task switches",
	[BT86_EMUL_SYSENTER] = "SYSENTER/SYSEXIT",
	[BT86_EMUL_MMIO] = "MMIO accesses",
	[BT86_EMUL_CPUID] = "CPUID",
	[BT86_EMUL_TRUNCATED] = "truncated-limit faults",
	[BT86_EMUL_DESC_WRITE] = "GDT/LDT writes",
	[BT86_EMUL_ACCESSED] = "accessed bits set",
};

static const char *const exception_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
	"#TS", "#NP", "#SS", "#GP", "#PF", "15",  "#MF", "#AC", "#MC", "#XM",
};

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void print_time(FILE *f, const struct bt86_vcpu_stats *st)
{
	uint64_t total =
		st->guest_ns + st->monitor_ns + st->kernel_ns + st->userland_ns;

	if (!total)
		total = 1;
	fprintf(f, "  time, as the module measured it\n");
	fprintf(f, "    guest code                %12.3f ms %5.1f%%\n",
		ms(st->guest_ns), 100.0 * st->guest_ns / total);
	fprintf(f, "    monitor                   %12.3f ms %5.1f%%\n",
		ms(st->monitor_ns), 100.0 * st->monitor_ns / total);
	fprintf(f, "    host kernel (run loop)    %12.3f ms %5.1f%%\n",
		ms(st->kernel_ns), 100.0 * st->kernel_ns / total);
	fprintf(f, "    userland (launcher)       %12.3f ms %5.1f%%\n",
		ms(st->userland_ns), 100.0 * st->userland_ns / total);
}

static const char *const bt_callout_names[BT86_BT_CALLOUT_COUNT] = {
	[BT86_BT_CALLOUT_EMULATE] = "emulate",
	[BT86_BT_CALLOUT_EXIT] = "branch to new code",
	[BT86_BT_CALLOUT_IND] = "indirect miss",
	[BT86_BT_CALLOUT_STEP] = "native step",
	[BT86_BT_CALLOUT_STI] = "STI with IRQ waiting",
	[BT86_BT_CALLOUT_DEAD] = "into dropped code",
	[BT86_BT_CALLOUT_LIMIT] = "bound check failed",
};

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "    %-25s %12llu\n", name, (unsigned long long)v);
}

/* The binary translator's counters (docs/launcher.md, "Reading --stats"). */
static void print_bt_stats(FILE *f, const struct bt86_bt_stats *bt)
{
	uint64_t calls = 0;
	int i;

	if (!bt->tc_size)
		return;
	for (i = 0; i < BT86_BT_CALLOUT_COUNT; i++)
		calls += bt->callouts[i];
	fprintf(f, "  binary translator\n");
	print_u64(f, "blocks translated", bt->blocks);
	print_u64(f, "guest insns translated", bt->insns);
	fprintf(f, "    %-25s %12llu of %llu KiB (%.1f%%)\n", "cache in use",
		(unsigned long long)bt->tc_used / 1024,
		(unsigned long long)bt->tc_size / 1024,
		percent(bt->tc_used, bt->tc_size));
	fprintf(f, "    %-25s %12llu, %.1f%% hit\n", "monitor lookups",
		(unsigned long long)bt->lookups,
		percent(bt->lookup_hits, bt->lookups));
	print_u64(f, "branches chained", bt->chained);
	fprintf(f, "    %-25s %12llu, %.1f%% in the cache\n",
		"indirect branches",
		(unsigned long long)(bt->ind_hits + bt->ind_misses),
		percent(bt->ind_hits, bt->ind_hits + bt->ind_misses));
	print_u64(f, "call outs", calls);
	for (i = 0; i < BT86_BT_CALLOUT_COUNT; i++)
		if (bt->callouts[i])
			fprintf(f, "      %-23s %12llu\n", bt_callout_names[i],
				(unsigned long long)bt->callouts[i]);
	print_u64(f, "writes to translated code", bt->write_faults);
	print_u64(f, "blocks invalidated", bt->invalidated);
	print_u64(f, "insns made call outs", bt->retranslated);
	print_u64(f, "cache flushes", bt->flushes);
	print_u64(f, "native steps", bt->native_steps);
	print_u64(f, "insns not copied (step)", bt->refused);
	fprintf(f, "    %-25s %12llu, now at %08llx\n", "window moves",
		(unsigned long long)bt->relocations,
		(unsigned long long)bt->window);
	print_u64(f, "GDT made lazy", bt->lazy_gdt);
	fprintf(f, "    %-25s %12llu, %.1f%% kept unwalked\n",
		"code slots at TLB flushes",
		(unsigned long long)(bt->slots_checked + bt->slots_kept),
		percent(bt->slots_kept, bt->slots_checked + bt->slots_kept));
}

/* Shadow paging's counters (docs/shadow-paging.md, "Statistics"). */
static void print_shadow_stats(FILE *f, const struct bt86_shadow_stats *sh)
{
	if (!sh->pages_max)
		return;
	fprintf(f, "  shadow paging\n");
	print_u64(f, "hidden page faults", sh->hidden_faults);
	print_u64(f, "guest page faults", sh->guest_faults);
	print_u64(f, "MMIO through paging", sh->mmio_faults);
	fprintf(f, "    %-25s %12llu, %llu emulated\n", "page-table writes",
		(unsigned long long)sh->pt_writes,
		(unsigned long long)sh->pt_emulated);
	fprintf(f, "    %-25s %12llu, %.1f%% cached\n", "CR3 switches",
		(unsigned long long)sh->cr3_writes,
		percent(sh->cr3_hits, sh->cr3_writes));
	print_u64(f, "INVLPG", sh->invlpg);
	print_u64(f, "TLB flushes", sh->flushes);
	print_u64(f, "all shadows dropped", sh->zaps);
	print_u64(f, "address spaces evicted", sh->evictions);
	print_u64(f, "page tables unshadowed", sh->unshadowed);
	print_u64(f, "address spaces cached", sh->contexts);
	fprintf(f, "    %-25s %12llu of %llu KiB (%.1f%%)\n",
		"shadow pages in use", (unsigned long long)sh->pages_used * 4,
		(unsigned long long)sh->pages_max * 4,
		percent(sh->pages_used, sh->pages_max));
	fprintf(f, "    %-25s %12llu KiB\n", "shadow pages at most",
		(unsigned long long)sh->pages_peak * 4);
}

void bt86__print_stats(struct backend *b, FILE *f)
{
	struct bt86_backend *k = b->priv;
	struct bt86_vcpu_stats st;
	uint64_t n = 0;
	int i;

	if (!k || k->vcpu_fd < 0 ||
	    ioctl(k->vcpu_fd, BT86_GET_VCPU_STATS, &st) < 0)
		return;
	fprintf(f, "bt86 module: vCPU 0\n");
	fprintf(f, "  world switches              %12llu\n",
		(unsigned long long)st.world_switches);
	fprintf(f, "  guest traps                 %12llu\n",
		(unsigned long long)st.guest_traps);
	fprintf(f, "  host interrupts / NMIs / MCEs %10llu / %llu / %llu\n",
		(unsigned long long)st.host_irqs,
		(unsigned long long)st.host_nmis,
		(unsigned long long)st.host_mces);
	print_time(f, &st);
	for (i = 0; i < BT86_EMUL_COUNT; i++)
		n += st.emulated[i];
	fprintf(f, "  instructions emulated       %12llu\n",
		(unsigned long long)n);
	for (i = 0; i < BT86_EMUL_COUNT; i++)
		if (st.emulated[i])
			fprintf(f, "    %-25s %12llu\n", emul_names[i],
				(unsigned long long)st.emulated[i]);
	fprintf(f, "  delivered to the guest\n");
	fprintf(f, "    device interrupts         %12llu\n",
		(unsigned long long)st.external_interrupts);
	fprintf(f, "    software interrupts       %12llu\n",
		(unsigned long long)st.software_interrupts);
	for (i = 0; i < 32; i++)
		if (st.exceptions[i])
			fprintf(f, "    exception %-3s (%2d)        %12llu\n",
				exception_names[i] ? exception_names[i] : "", i,
				(unsigned long long)st.exceptions[i]);
	print_bt_stats(f, &st.bt);
	print_shadow_stats(f, &st.shadow);
}

/* The monitor's last traps before the stop, oldest first. */
static void report_trace(const uint64_t *d, unsigned int ndata)
{
	unsigned int i;

	for (i = 0; 3 + i * 3 + 2 < ndata && i < 4; i++) {
		const uint64_t *t = d + 3 + i * 3;

		if (!t[1])
			continue;
		pr_msg("  trap: vector %3u error %04x at %04x:%08x esp %08x eflags %08x",
		       (unsigned int)(t[0] >> 32), (unsigned int)t[0],
		       (unsigned int)(t[1] >> 32), (unsigned int)t[1],
		       (unsigned int)t[2], (unsigned int)(t[2] >> 32));
	}
}

/* BT86_UNSUPPORTED_SHADOW: BT86_SHADOW_* << 32 | a linear address. */
static void report_shadow(uint64_t detail, unsigned int eip)
{
	unsigned int lin = (unsigned int)detail;

	switch (detail >> 32) {
	case BT86_SHADOW_WINDOW:
		pr_msg("the guest's page directory maps every 4 MiB of its address space (eip %08x): --accel bt has no place left for its translation cache, which sits at %08x; use --accel tae or kvm",
		       eip, lin);
		break;
	case BT86_SHADOW_STUCK:
		pr_msg("bt86 bug: a page fault at %08x (eip %08x) keeps coming back although the shadow page tables were fixed; please report it with this output",
		       lin, eip);
		break;
	case BT86_SHADOW_TRACE:
		pr_msg("one guest instruction (eip %08x) wrote more write-traced pages (page tables, descriptor tables, translated code) than bt86 opens for one instruction, the last at %08x",
		       eip, lin);
		break;
	default:
		pr_msg("bt86 bug: the shadow page tables could not map %08x (eip %08x, reason %llu); please report it with this output",
		       lin, eip, (unsigned long long)(detail >> 32));
	}
}

/*
 * BT86_INTERNAL_UNSUPPORTED: data[0] what, data[1] EIP, data[2] detail,
 * then the last traps.
 */
static void report_unsupported(const uint64_t *d, unsigned int ndata)
{
	unsigned int eip = (unsigned int)d[1], v = (unsigned int)d[2];

	switch (d[0]) {
	case BT86_UNSUPPORTED_SHADOW:
		report_shadow(d[2], eip);
		break;
	case BT86_UNSUPPORTED_REALMODE:
		pr_msg("the guest left protected mode (CR0=%08x at eip %08x): bt86 runs 32-bit protected-mode guests only",
		       v, eip);
		break;
	case BT86_UNSUPPORTED_V86:
		pr_msg("the guest entered virtual-8086 mode (eflags %08x at eip %08x), which bt86 does not run",
		       v, eip);
		break;
	case BT86_UNSUPPORTED_MMIO:
		pr_msg("the guest touched guest-physical %08x, which is not RAM, with an instruction bt86 cannot emulate there (eip %08x)",
		       v, eip);
		break;
	case BT86_UNSUPPORTED_BT:
		if ((d[2] >> 32) == BT86_BT_LOST_ESCAPED)
			pr_msg("guest ring-0 code left the translation cache (at %08x): it must have written the translator's per-vCPU page below 4 GiB; the VM is stopped",
			       (unsigned int)d[2]);
		else
			pr_msg("bt86 bug: translated code stopped at %08x, where the translator's map has no entry (why %#llx, guest eip %08x); please report it with this output",
			       (unsigned int)d[2],
			       (unsigned long long)(d[2] >> 32), eip);
		break;
	default:
		pr_msg("the guest did something this bt86 cannot run (reason %llu at eip %08x)",
		       (unsigned long long)d[0], eip);
	}
	report_trace(d, ndata);
}

/* BT86_INTERNAL_MONITOR_FAULT: the dump of docs/ioctl-api.md. */
static void report_monitor_fault(const uint64_t *d)
{
	pr_msg("the monitor failed (a bt86 bug, not the guest's fault); the VM is stopped");
	pr_msg("  monitor: vector %llu error 0x%llx rip %016llx cs %04llx rflags %08llx",
	       (unsigned long long)d[0], (unsigned long long)d[1],
	       (unsigned long long)d[2], (unsigned long long)d[3],
	       (unsigned long long)d[4]);
	pr_msg("  monitor: rsp %016llx ss %04llx cr2 %016llx",
	       (unsigned long long)d[5], (unsigned long long)d[6],
	       (unsigned long long)d[7]);
	pr_msg("  guest at its last entry: eip %08llx cs %04llx eflags %08llx esp %08llx",
	       (unsigned long long)d[8], (unsigned long long)d[9],
	       (unsigned long long)d[10], (unsigned long long)d[11]);
}

void bt86__report_internal(struct backend *b, const struct vcpu_exit *e)
{
	(void)b;
	if (e->code == BT86_INTERNAL_MONITOR_FAULT && e->ndata >= 12)
		report_monitor_fault(e->data);
	else if (e->code == BT86_INTERNAL_UNSUPPORTED && e->ndata >= 3)
		report_unsupported(e->data, e->ndata);
	else
		pr_msg("the bt86 module reported internal error %llu with %u words of data",
		       (unsigned long long)e->code, e->ndata);
}
