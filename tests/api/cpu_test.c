// SPDX-License-Identifier: GPL-2.0
/*
 * The virtual CPU through the ioctl API, in trap-and-emulate and binary
 * translation mode (each test runs in both: FIXTURE_VARIANT): device
 * interrupts injected with BT86_INTERRUPT and taken only when the guest's
 * virtual IF allows (STI's one-instruction shadow included), the
 * interrupt-window exit, INT n from ring 3 through a DPL 0 gate giving the
 * guest #GP(n*8+2) on its ring-0 stack, a double fault through a task
 * gate, a triple fault ending the run with BT86_EXIT_SHUTDOWN, guest paging
 * (32-bit and PAE) through the shadow page tables (the translator's window
 * moving out of the guest's mappings, or stopping the VM when they leave
 * it no place), the counters of --stats, and guest accesses to the
 * translator's window below 4 GiB (segment truncation: MMIO exits, as to
 * any address beyond RAM).  A third variant runs every test with checked
 * translation (BT86_VM_BT_CHECKED).
 *
 * Each test builds a tiny protected-mode machine in guest RAM: a GDT, a
 * TSS, an IDT, code at CODE and handlers at HANDLERS, all hand-assembled.
 */
#include <sys/mman.h>

#include "api.h"

#define RAM_SIZE (1UL << 20)
#define GDT	 0x0100
#define TSS	 0x0600
#define TSS2	 0x0700
#define IDT	 0x0800
#define CODE	 0x1000
#define HANDLERS 0x2000
#define RESULTS	 0x5000 /* what handlers write */
#define STACK	 0x8000 /* ring 3 and the first ring-0 stack */
#define STACK0	 0x9000 /* TSS.ESP0 */
#define STACK2	 0xa000 /* the double-fault task's stack */

#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1b
#define UDATA 0x23
#define TSSEL 0x28
#define TSS2S 0x30

/* movl $0x1234, RESULTS; movl (%esp), %eax; movl %eax, RESULTS+4; iret */
static const uint8_t irq_handler[] = { 0xc7, 0x05, 0x00, 0x50, 0x00, 0x00, 0x34,
				       0x12, 0x00, 0x00, 0x8b, 0x04, 0x24, 0xa3,
				       0x04, 0x50, 0x00, 0x00, 0xcf };
#define IRQ_HANDLER HANDLERS

/* movl (%esp), %eax; movl %eax, RESULTS+8; hlt (the error code) */
static const uint8_t gp_handler[] = { 0x8b, 0x04, 0x24, 0xa3, 0x08,
				      0x50, 0x00, 0x00, 0xf4 };
#define GP_HANDLER (HANDLERS + 0x100)

/* hlt: the double-fault task */
#define DF_TASK (HANDLERS + 0x200)

FIXTURE(cpu)
{
	int dev, vm, vcpu;
	uint8_t *ram;
	struct bt86_run *run;
	long run_size;
};

static uint64_t seg(uint32_t base, uint32_t limit, unsigned int type,
		    unsigned int dpl, unsigned int s, unsigned int flags)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)type << 40) | ((uint64_t)s << 44) |
	       ((uint64_t)dpl << 45) | (1ULL << 47) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static void set_gate(uint8_t *ram, int vector, uint16_t sel, uint32_t off,
		     unsigned int type, unsigned int dpl)
{
	uint64_t g = (off & 0xffff) | ((uint64_t)sel << 16) |
		     ((uint64_t)type << 40) | ((uint64_t)dpl << 45) |
		     (1ULL << 47) | ((uint64_t)(off >> 16) << 48);

	memcpy(ram + IDT + vector * 8, &g, 8);
}

static void flat(struct bt86_segment *s, uint16_t sel, unsigned int type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->dpl = sel & 3;
	s->present = 1;
	s->db = 1;
	s->g = 1;
}

/*
 * Every test runs under trap-and-emulate, under binary translation, and
 * under checked binary translation (mode & BT86_MODE_MASK is BT).
 */
FIXTURE_VARIANT(cpu)
{
	unsigned int mode;
};

FIXTURE_VARIANT_ADD(cpu, tae){
	.mode = BT86_MODE_TAE,
};

FIXTURE_VARIANT_ADD(cpu, bt){
	.mode = BT86_MODE_BT,
};
FIXTURE_VARIANT_ADD(cpu, bt_checked){
	.mode = BT86_MODE_BT | BT86_VM_BT_CHECKED,
};

FIXTURE_SETUP(cpu)
{
	uint64_t *gdt;
	uint32_t *tss;

	OPEN_DEV_OR_SKIP(self->dev);
	self->vm = __create_vm(self->dev, variant->mode);
	ASSERT_LE(0, self->vm);
	self->ram = ALLOC_RAM(RAM_SIZE);
	SET_MEMORY_REGION(self->vm, 0, 0, RAM_SIZE, self->ram);
	self->vcpu = CREATE_VCPU(self->vm, 0);
	self->run_size = raw_ioctl(self->dev, BT86_GET_VCPU_MMAP_SIZE, 0);
	self->run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpu, 0);
	ASSERT_NE(MAP_FAILED, self->run);

	gdt = (uint64_t *)(self->ram + GDT);
	gdt[1] = seg(0, 0xfffff, 0xb, 0, 1, 0xc);
	gdt[2] = seg(0, 0xfffff, 0x3, 0, 1, 0xc);
	gdt[3] = seg(0, 0xfffff, 0xb, 3, 1, 0xc);
	gdt[4] = seg(0, 0xfffff, 0x3, 3, 1, 0xc);
	gdt[5] = seg(TSS, 0x67, 0xb, 0, 0, 0); /* busy: TR holds it */
	gdt[6] = seg(TSS2, 0x67, 0x9, 0, 0, 0);
	tss = (uint32_t *)(self->ram + TSS);
	tss[1] = STACK0; /* esp0 */
	tss[2] = KDATA;	 /* ss0 */
	tss = (uint32_t *)(self->ram + TSS2);
	tss[8] = DF_TASK; /* eip */
	tss[9] = 2;	  /* eflags */
	tss[14] = STACK2; /* esp */
	tss[18] = KDATA;  /* es */
	tss[19] = KCODE;  /* cs */
	tss[20] = KDATA;  /* ss */
	tss[21] = KDATA;  /* ds */
	memcpy(self->ram + IRQ_HANDLER, irq_handler, sizeof(irq_handler));
	memcpy(self->ram + GP_HANDLER, gp_handler, sizeof(gp_handler));
	self->ram[DF_TASK] = 0xf4;
	set_gate(self->ram, 0x30, KCODE, IRQ_HANDLER, 0xe, 0);
	set_gate(self->ram, 13, KCODE, GP_HANDLER, 0xe, 0);
	set_gate(self->ram, 0x40, KCODE, IRQ_HANDLER, 0xe, 0);
}

FIXTURE_TEARDOWN(cpu)
{
	munmap(self->run, self->run_size);
	close(self->vcpu);
	close(self->vm);
	close(self->dev);
	munmap(self->ram, RAM_SIZE);
}

/* Start at CODE with @code, at guest ring @ring, on this machine's tables. */
static void start(struct __test_metadata *_metadata, FIXTURE_DATA(cpu) * self,
		  const uint8_t *code, size_t len, unsigned int ring)
{
	struct bt86_sregs s = { 0 };
	struct bt86_regs r = { 0 };

	memcpy(self->ram + CODE, code, len);
	GET_SREGS(self->vcpu, &s);
	flat(&s.cs, ring ? UCODE : KCODE, 0xb);
	flat(&s.ss, ring ? UDATA : KDATA, 0x3);
	flat(&s.ds, ring ? UDATA : KDATA, 0x3);
	s.es = s.fs = s.gs = s.ds;
	s.gdt.base = GDT;
	s.gdt.limit = 8 * 8 - 1; /* slot 7 for the window tests */
	s.idt.base = IDT;
	s.idt.limit = 256 * 8 - 1;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = TSSEL;
	s.tr.base = TSS;
	s.tr.limit = 0x67;
	s.tr.type = 0xb;
	s.tr.present = 1;
	SET_SREGS(self->vcpu, &s);
	GET_REGS(self->vcpu, &r);
	r.eip = CODE;
	r.esp = STACK;
	r.eflags = 2;
	SET_REGS(self->vcpu, &r);
}

static uint32_t result(FIXTURE_DATA(cpu) * self, unsigned int i)
{
	uint32_t v;

	memcpy(&v, self->ram + RESULTS + 4 * i, 4);
	return v;
}

static long interrupt(int vcpu, uint32_t vector)
{
	struct bt86_interrupt irq = { .vector = vector };

	return raw_ioctl_p(vcpu, BT86_INTERRUPT, &irq);
}

/* cpuid; mov %eax,RESULTS; mov %ebx,RESULTS+4; hlt (with EAX, ECX set) */
static const uint8_t cpuid_code[] = { 0x0f, 0xa2, 0xa3, 0x00, 0x50, 0x00, 0x00,
				      0x89, 0x1d, 0x04, 0x50, 0x00, 0x00, 0xf4 };

/*
 * The CPU model answers guest ring 0's CPUID under bt (a call out), with
 * Intel's rule for leaves past the highest; under tae CPUID does not trap
 * and shows the host's.  The model cannot change once the guest has run.
 */
TEST_F(cpu, cpuid_shows_the_model)
{
	struct {
		struct bt86_cpuid hdr;
		struct bt86_cpuid_entry e[3];
	} c = { .hdr.nent = 3,
		.e = { { .function = 0, .eax = 1, .ebx = 0x11 },
		       { .function = 1, .eax = 0x663, .ebx = 0x22 },
		       { .function = 4,
			 .index = 1,
			 .flags = BT86_CPUID_INDEXED,
			 .eax = 0x44 } } };
	struct bt86_regs r;
	struct bt86_vcpu_stats st;

	ASSERT_EQ(0, raw_ioctl_p(self->vcpu, BT86_SET_CPUID, &c));
	start(_metadata, self, cpuid_code, sizeof(cpuid_code), 0);
	GET_REGS(self->vcpu, &r);
	r.eax = 7; /* past the highest basic leaf: leaf 1's answer */
	SET_REGS(self->vcpu, &r);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	ASSERT_EQ(0, raw_ioctl_p(self->vcpu, BT86_GET_VCPU_STATS, &st));
	if ((variant->mode & BT86_MODE_MASK) == BT86_MODE_BT) {
		EXPECT_EQ(0x663, result(self, 0));
		EXPECT_EQ(0x22, result(self, 1));
		EXPECT_EQ(1, st.emulated[BT86_EMUL_CPUID]);
	} else {
		EXPECT_EQ(0, st.emulated[BT86_EMUL_CPUID]);
	}
	EXPECT_EQ(-EBUSY, raw_ioctl_p(self->vcpu, BT86_SET_CPUID, &c));
}

/* sti; 1: hlt; jmp 1b */
static const uint8_t sti_hlt_loop[] = { 0xfb, 0xf4, 0xeb, 0xfd };

TEST_F(cpu, interrupt_wakes_hlt)
{
	struct bt86_vcpu_stats st;

	start(_metadata, self, sti_hlt_loop, sizeof(sti_hlt_loop), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(1, self->run->if_flag);
	EXPECT_EQ(1, self->run->ready_for_interrupt_injection);

	ASSERT_EQ(0, interrupt(self->vcpu, 0x30));
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0x1234, result(self, 0));
	EXPECT_EQ(CODE + 2, result(self, 1)); /* the JMP after the HLT */

	ASSERT_EQ(0, raw_ioctl_p(self->vcpu, BT86_GET_VCPU_STATS, &st));
	EXPECT_EQ(1, st.external_interrupts);
	EXPECT_EQ(1, st.emulated[BT86_EMUL_IRET]);
	EXPECT_EQ(2, st.emulated[BT86_EMUL_HLT]);
	if ((variant->mode & BT86_MODE_MASK) == BT86_MODE_TAE) {
		EXPECT_EQ(1, st.emulated[BT86_EMUL_STI]);
		EXPECT_EQ(0, st.bt.blocks);
	} else {
		/* translated STI changes the virtual IF without a trap */
		EXPECT_EQ(0, st.emulated[BT86_EMUL_STI]);
		EXPECT_LT(0, st.bt.blocks);
		EXPECT_LT(0, st.bt.insns);
	}
	EXPECT_LT(0, st.guest_ns);
	EXPECT_LT(0, st.monitor_ns);
	EXPECT_LT(0, st.userland_ns);
	EXPECT_EQ(2, st.exits[BT86_EXIT_HLT]);
}

/*
 * A RUN that leaves before entering the guest (immediate_exit, a signal)
 * still reports the interrupt state as KVM does: with an interrupt queued
 * and not yet taken, not ready for another (the launcher would inject a
 * second one and get -EBUSY).
 */
TEST_F(cpu, interrupt_queued_across_an_immediate_exit)
{
	start(_metadata, self, sti_hlt_loop, sizeof(sti_hlt_loop), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(1, self->run->ready_for_interrupt_injection);

	ASSERT_EQ(0, interrupt(self->vcpu, 0x30));
	self->run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, raw_ioctl(self->vcpu, BT86_RUN, 0));
	EXPECT_EQ(BT86_EXIT_INTR, self->run->exit_reason);
	EXPECT_EQ(1, self->run->if_flag);
	EXPECT_EQ(0, self->run->ready_for_interrupt_injection);
	EXPECT_EQ(-EBUSY, interrupt(self->vcpu, 0x31));

	self->run->immediate_exit = 0;
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0x1234, result(self, 0));
	EXPECT_EQ(1, self->run->ready_for_interrupt_injection);
}

/* cli; out %al,$0x80; sti; nop; out %al,$0x80; hlt */
static const uint8_t sti_shadow[] = { 0xfa, 0xe6, 0x80, 0xfb,
				      0x90, 0xe6, 0x80, 0xf4 };

/* STI holds an interrupt back for one instruction (SDM 2B "STI"). */
TEST_F(cpu, interrupt_waits_for_if_and_sti_shadow)
{
	start(_metadata, self, sti_shadow, sizeof(sti_shadow), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_IO, self->run->exit_reason);
	EXPECT_EQ(0, self->run->if_flag);
	EXPECT_EQ(0, self->run->ready_for_interrupt_injection);

	ASSERT_EQ(0, interrupt(self->vcpu, 0x30));
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_IO, self->run->exit_reason);
	EXPECT_EQ(0x1234, result(self, 0));
	/* Taken after the NOP, not right after the STI. */
	EXPECT_EQ(CODE + 5, result(self, 1));
}

TEST_F(cpu, interrupt_window_exit)
{
	struct bt86_regs r = { 0 };

	start(_metadata, self, sti_shadow, sizeof(sti_shadow), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_IO, self->run->exit_reason);
	self->run->request_interrupt_window = 1;
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_IRQ_WINDOW, self->run->exit_reason);
	EXPECT_EQ(1, self->run->ready_for_interrupt_injection);
	GET_REGS(self->vcpu, &r);
	EXPECT_EQ(CODE + 5, r.eip);
	EXPECT_EQ(0, result(self, 0)); /* nothing was delivered */
}

/*
 * INT 0x40 at ring 3 through a DPL 0 gate: #GP with error code
 * 0x40 * 8 + 2 (IDT bit), on the TSS's ring-0 stack, with the ring-3 SS:ESP
 * in the frame (SDM 3A §6.12.1.1, figure 6-4).
 */
TEST_F(cpu, int_n_from_ring3_through_dpl0_gate)
{
	static const uint8_t code[] = { 0xcd, 0x40 };
	uint32_t frame[6];
	struct bt86_regs r = { 0 };

	start(_metadata, self, code, sizeof(code), 3);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0x40 * 8 + 2, result(self, 2));
	GET_REGS(self->vcpu, &r);
	EXPECT_EQ(STACK0 - sizeof(frame), r.esp);
	memcpy(frame, self->ram + STACK0 - sizeof(frame), sizeof(frame));
	EXPECT_EQ(0x202, frame[0]);
	EXPECT_EQ(CODE, frame[1]);
	EXPECT_EQ(UCODE, frame[2] & 0xffff);
	EXPECT_EQ(STACK, frame[4]);
	EXPECT_EQ(UDATA, frame[5] & 0xffff);
}

/*
 * INT3 through an empty gate is #GP(3*8+2); #GP's own gate is empty too,
 * and a contributory fault while delivering #GP is a double fault (SDM 3A
 * table 6-5), taken through a task gate as Linux i386 does.  The switch links, marks busy, sets NT and CR0.TS and
 * pushes the error code on the new task's stack (SDM 3A §7.3).
 */
TEST_F(cpu, double_fault_through_task_gate)
{
	static const uint8_t code[] = { 0xcc };
	uint64_t *gdt = (uint64_t *)(self->ram + GDT);
	struct bt86_sregs s = { 0 };
	struct bt86_regs r = { 0 };
	uint32_t err, link;

	set_gate(self->ram, 8, TSS2S, 0, 0x5, 0);
	memset(self->ram + IDT + 13 * 8, 0, 8);
	start(_metadata, self, code, sizeof(code), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	GET_SREGS(self->vcpu, &s);
	GET_REGS(self->vcpu, &r);
	EXPECT_EQ(TSS2S, s.tr.selector);
	EXPECT_EQ(DF_TASK + 1, r.eip);
	EXPECT_NE(0, r.eflags & 0x4000); /* NT */
	EXPECT_NE(0, s.cr0 & 8);	 /* TS */
	EXPECT_EQ(STACK2 - 4, r.esp);
	memcpy(&err, self->ram + STACK2 - 4, 4);
	EXPECT_EQ(0, err);
	memcpy(&link, self->ram + TSS2, 4);
	EXPECT_EQ(TSSEL, link);
	EXPECT_EQ(0xb, (gdt[6] >> 40) & 0xf); /* the new TSS is busy */
	EXPECT_EQ(0xb, (gdt[5] >> 40) & 0xf); /* the old one still is */
	/* The outgoing task's EIP: the INT3, whose delivery faulted. */
	memcpy(&link, self->ram + TSS + 0x20, 4);
	EXPECT_EQ(CODE, link);
}

/* No usable IDT at all: INT3 -> #GP -> #DF -> shutdown. */
TEST_F(cpu, triple_fault_is_a_shutdown_exit)
{
	static const uint8_t code[] = { 0xcc };
	struct bt86_sregs s = { 0 };

	start(_metadata, self, code, sizeof(code), 0);
	GET_SREGS(self->vcpu, &s);
	s.idt.limit = 0;
	SET_SREGS(self->vcpu, &s);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	EXPECT_EQ(BT86_EXIT_SHUTDOWN, self->run->exit_reason);
}

/*
 * fninit; fld1; out %al,$0x80; fld1; faddp; fistpl RESULTS; hlt: the x87
 * stack survives an exit to userland (the monitor saves and restores the
 * guest's FPU state around it).
 */
TEST_F(cpu, fpu_state_survives_exits)
{
	static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xe6, 0x80,
					0xd9, 0xe8, 0xde, 0xc1, 0xdb, 0x1d,
					0x00, 0x50, 0x00, 0x00, 0xf4 };

	start(_metadata, self, code, sizeof(code), 0);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_IO, self->run->exit_reason);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(2, result(self, 0));
}

/*
 * Guest paging through the shadow page tables: a page directory at 0xc000
 * whose page table at 0xd000 maps the first MiB to itself, but linear
 * 0x40000 to RESULTS (0x5000) and nothing at 0x80000.
 *
 *   mov $0xc000,%eax; mov %eax,%cr3; mov %cr0,%eax; or $0x80000000,%eax;
 *   mov %eax,%cr0; movl $0xabcd,0x40010; mov 0x80000,%eax; hlt
 */
static const uint8_t paging_code[] = {
	0xb8, 0x00, 0xc0, 0x00, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d,
	0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xc7, 0x05, 0x10, 0x00, 0x04,
	0x00, 0xcd, 0xab, 0x00, 0x00, 0xa1, 0x00, 0x00, 0x08, 0x00, 0xf4
};

/* #PF: mov %cr2,%eax; mov %eax,RESULTS+20; mov (%esp),%eax; mov %eax,RESULTS+24; hlt */
static const uint8_t pf_handler[] = { 0x0f, 0x20, 0xd0, 0xa3, 0x14, 0x50,
				      0x00, 0x00, 0x8b, 0x04, 0x24, 0xa3,
				      0x18, 0x50, 0x00, 0x00, 0xf4 };
#define PF_HANDLER (HANDLERS + 0x300)
#define PAGE_DIR   0xc000
#define PAGE_TABLE 0xd000

TEST_F(cpu, guest_paging_maps_and_faults_through_the_shadow)
{
	uint32_t *pd = (uint32_t *)(self->ram + PAGE_DIR);
	uint32_t *pt = (uint32_t *)(self->ram + PAGE_TABLE);
	struct bt86_vcpu_stats st;
	unsigned int i;

	start(_metadata, self, paging_code, sizeof(paging_code), 0);
	memcpy(self->ram + PF_HANDLER, pf_handler, sizeof(pf_handler));
	set_gate(self->ram, 14, KCODE, PF_HANDLER, 0xe, 0);
	pd[0] = PAGE_TABLE | 3;
	for (i = 0; i < 256; i++)
		pt[i] = i << 12 | 3;
	pt[0x40] = RESULTS | 3;
	pt[0x80] = 0;
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0xabcd, result(self, 4));  /* through the second mapping */
	EXPECT_EQ(0x80000, result(self, 5)); /* CR2 */
	EXPECT_EQ(0, result(self, 6));	     /* read, not present, ring 0 */
	EXPECT_EQ(0x60, pt[0x40] & 0x60);    /* A and D set by the write */
	EXPECT_EQ(0x20, pd[0] & 0x60);	     /* A in the PDE */
	ASSERT_EQ(0, raw_ioctl_p(self->vcpu, BT86_GET_VCPU_STATS, &st));
	EXPECT_LT(0, st.shadow.hidden_faults);
	EXPECT_EQ(1, st.shadow.guest_faults);
	EXPECT_LT(0, st.shadow.pages_used);
	EXPECT_LE(st.shadow.pages_used, st.shadow.pages_peak);
	EXPECT_LE(st.shadow.pages_peak, st.shadow.pages_max);
	EXPECT_EQ(1, st.shadow.contexts);
}

/*
 * The translator's window moves out of the guest's mappings: the page
 * directory maps 0xfffff000 (PDE 1023, where the window starts out) to
 * RESULTS when paging comes on, and the guest writes there.
 *
 *   mov $0xc000,%eax; mov %eax,%cr3; mov %cr0,%eax; or $0x80000000,%eax;
 *   mov %eax,%cr0; movl $0x5678,0xfffff010; hlt
 */
static const uint8_t top_code[] = { 0xb8, 0x00, 0xc0, 0x00, 0x00, 0x0f,
				    0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d,
				    0x00, 0x00, 0x00, 0x80, 0x0f, 0x22,
				    0xc0, 0xc7, 0x05, 0x10, 0xf0, 0xff,
				    0xff, 0x78, 0x56, 0x00, 0x00, 0xf4 };
#define TOP_TABLE 0xe000
#define PAGING_ON (CODE + 19) /* after the MOV to CR0 */

TEST_F(cpu, window_moves_out_of_the_guests_mapping)
{
	uint32_t *pd = (uint32_t *)(self->ram + PAGE_DIR);
	uint32_t *pt = (uint32_t *)(self->ram + PAGE_TABLE);
	uint32_t *top = (uint32_t *)(self->ram + TOP_TABLE);
	struct bt86_vcpu_stats st;
	unsigned int i;

	start(_metadata, self, top_code, sizeof(top_code), 0);
	pd[0] = PAGE_TABLE | 3;
	for (i = 0; i < 256; i++)
		pt[i] = i << 12 | 3;
	pd[1023] = TOP_TABLE | 3;
	top[1023] = RESULTS | 3;
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0x5678, result(self, 4));
	ASSERT_EQ(0, raw_ioctl_p(self->vcpu, BT86_GET_VCPU_STATS, &st));
	if ((variant->mode & BT86_MODE_MASK) != BT86_MODE_BT) {
		EXPECT_EQ(0, st.bt.relocations);
		return;
	}
	/* The highest slot left: the next one down. */
	EXPECT_EQ(1, st.bt.relocations);
	EXPECT_EQ(0xff800000, st.bt.window);
}

/* A page directory mapping every 4 MiB leaves the window no place. */
TEST_F(cpu, full_page_directory_stops_bt_with_a_reason)
{
	uint32_t *pd = (uint32_t *)(self->ram + PAGE_DIR);
	uint32_t *pt = (uint32_t *)(self->ram + PAGE_TABLE);
	unsigned int i;

	start(_metadata, self, top_code, sizeof(top_code), 0);
	self->ram[PAGING_ON] = 0xf4;
	for (i = 0; i < 256; i++)
		pt[i] = i << 12 | 3;
	for (i = 0; i < 1024; i++)
		pd[i] = PAGE_TABLE | 3;
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	if ((variant->mode & BT86_MODE_MASK) != BT86_MODE_BT) {
		EXPECT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
		return;
	}
	ASSERT_EQ(BT86_EXIT_INTERNAL_ERROR, self->run->exit_reason);
	EXPECT_EQ(BT86_INTERNAL_UNSUPPORTED, self->run->internal.suberror);
	EXPECT_EQ(BT86_UNSUPPORTED_SHADOW, self->run->internal.data[0]);
	EXPECT_EQ(PAGING_ON, self->run->internal.data[1]);
	EXPECT_EQ(BT86_SHADOW_WINDOW, self->run->internal.data[2] >> 32);
	EXPECT_EQ(0xffc00000, (uint32_t)self->run->internal.data[2]);
}

/*
 * PAE paging: a PDPT at 0xe000 whose first PDPTE names a page directory at
 * 0xf000; PDE 0 maps the first 2 MiB to itself, PDE 1 the page table at
 * 0xd000, whose first PTE maps linear 0x200000 to RESULTS.
 *
 *   mov $0xe000,%eax; mov %eax,%cr3; mov %cr4,%eax; or $0x20,%eax;
 *   mov %eax,%cr4; mov %cr0,%eax; or $0x80000000,%eax; mov %eax,%cr0;
 *   movl $0xabcd,0x200010; mov 0x400000,%eax; hlt
 */
static const uint8_t pae_code[] = {
	0xb8, 0x00, 0xe0, 0x00, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xe0,
	0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0x0f, 0x20, 0xc0, 0x0d, 0x00,
	0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xc7, 0x05, 0x10, 0x00, 0x20,
	0x00, 0xcd, 0xab, 0x00, 0x00, 0xa1, 0x00, 0x00, 0x40, 0x00, 0xf4
};
#define PAE_PDPT 0xe000
#define PAE_PD	 0xf000

static void pae_tables(FIXTURE_DATA(cpu) * self, uint64_t pdpte0)
{
	uint64_t *pdpt = (uint64_t *)(self->ram + PAE_PDPT);
	uint64_t *pd = (uint64_t *)(self->ram + PAE_PD);
	uint64_t *pt = (uint64_t *)(self->ram + PAGE_TABLE);

	memcpy(self->ram + PF_HANDLER, pf_handler, sizeof(pf_handler));
	set_gate(self->ram, 14, KCODE, PF_HANDLER, 0xe, 0);
	pdpt[0] = pdpte0;
	pd[0] = 0x83; /* 2 MiB page at 0: PS, W, P */
	pd[1] = PAGE_TABLE | 3;
	pt[0] = RESULTS | 3;
}

TEST_F(cpu, pae_paging_through_the_shadow)
{
	uint64_t *pd = (uint64_t *)(self->ram + PAE_PD);
	uint64_t *pt = (uint64_t *)(self->ram + PAGE_TABLE);

	start(_metadata, self, pae_code, sizeof(pae_code), 0);
	pae_tables(self, PAE_PD | 1);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0xabcd, result(self, 4));
	EXPECT_EQ(0x400000, result(self, 5)); /* CR2 */
	EXPECT_EQ(0, result(self, 6));
	EXPECT_EQ(0x60, pt[0] & 0x60);
	EXPECT_EQ(0x20, pd[1] & 0x60);
	EXPECT_EQ(0x20, pd[0] & 0x20); /* the code's 2 MiB page */
}

/* A present PDPTE with a reserved bit: MOV to CR0 is #GP(0) (SDM 3A §4.4.1). */
TEST_F(cpu, pae_bad_pdpte_is_gp)
{
	start(_metadata, self, pae_code, sizeof(pae_code), 0);
	pae_tables(self, PAE_PD | 3); /* R/W is reserved in a PDPTE */
	self->ram[RESULTS + 8] = 0xff;
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0, result(self, 2)); /* #GP(0) */
	EXPECT_EQ(0, result(self, 4)); /* the write never happened */
}

/* The MMIO exit that must come next; @data answers a read. */
static void expect_mmio(struct __test_metadata *_metadata,
			FIXTURE_DATA(cpu) * self, uint64_t phys, bool write,
			uint32_t data)
{
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_MMIO, self->run->exit_reason);
	EXPECT_EQ(phys, self->run->mmio.phys_addr);
	EXPECT_EQ(4, self->run->mmio.len);
	EXPECT_EQ(write, self->run->mmio.is_write);
	if (write) {
		EXPECT_EQ(0, memcmp(self->run->mmio.data, &data, 4));
	} else {
		memcpy(self->run->mmio.data, &data, 4);
	}
}

/*
 * movl $0x1100, 0xffc01820; movl $0x3000, 0xffc01824; push $0x1100; ret:
 * guest ring 0 forges the entry of the translator's fast table for EIP
 * 0x1100 (slot (0x1100 ^ 0x1100 >> 10) mod 4096 = 0x104 of the table at
 * 0x1000 in the per-vCPU page at 0xffc00000 below 4 GiB, writable at
 * CPL 1), then returns through it to its own code at 0x3000 (a HLT)
 * instead of a translation.
 */
static const uint8_t forge_fast_table[] = { 0xc7, 0x05, 0x20, 0x18, 0xc0, 0xff,
					    0x00, 0x11, 0x00, 0x00, 0xc7, 0x05,
					    0x24, 0x18, 0xc0, 0xff, 0x00, 0x30,
					    0x00, 0x00, 0x68, 0x00, 0x11, 0x00,
					    0x00, 0xc3 };

/*
 * The per-vCPU page is guest input: a guest that forges it stops itself.
 * With its segments truncated below the window (checked translation here,
 * the CPU's limit checks on real hardware) it cannot reach the page at
 * all: its writes go to guest-physical memory beyond RAM, and the RET
 * returns to 0x1100 (a HLT).
 */
TEST_F(cpu, forged_per_vcpu_page_stops_only_this_vm)
{
	struct bt86_regs r;

	if ((variant->mode & BT86_MODE_MASK) != BT86_MODE_BT)
		SKIP(return, "the per-vCPU page exists in BT mode only");
	start(_metadata, self, forge_fast_table, sizeof(forge_fast_table), 0);
	self->ram[0x3000] = 0xf4;
	self->ram[0x1100] = 0xf4;
	if (variant->mode & BT86_VM_BT_CHECKED) {
		expect_mmio(_metadata, self, 0xffc01820, true, 0x1100);
		expect_mmio(_metadata, self, 0xffc01824, true, 0x3000);
		ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
		ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
		GET_REGS(self->vcpu, &r);
		EXPECT_EQ(0x1101, r.eip);
		return;
	}
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_INTERNAL_ERROR, self->run->exit_reason);
	EXPECT_EQ(BT86_INTERNAL_UNSUPPORTED, self->run->internal.suberror);
	EXPECT_EQ(BT86_UNSUPPORTED_BT, self->run->internal.data[0]);
	EXPECT_EQ(BT86_BT_LOST_ESCAPED, self->run->internal.data[2] >> 32);
	EXPECT_EQ(0x3000, (uint32_t)self->run->internal.data[2]);
}

/* --- the translator's window, below 4 GiB ---------------------------------- */

/*
 * Plain BT on QEMU's TCG: the CPU checks no segment limit, so guest ring 0
 * reaches the window through a flat segment (docs/translator.md, "Known
 * limits"); on a CPU that does, the truncated limits stop it, which
 * test-bt-silicon checks on the build machine's CPU.
 */
static bool window_reachable(struct __test_metadata *_metadata,
			     const FIXTURE_VARIANT(cpu) * variant)
{
	return variant->mode == BT86_MODE_BT;
}

/* mov 0xffc00000, %eax; mov %eax, 0xffc00004; hlt: the window's start */
static const uint8_t window_flat[] = { 0xa1, 0x00, 0x00, 0xc0, 0xff, 0xa3,
				       0x04, 0x00, 0xc0, 0xff, 0xf4 };

TEST_F(cpu, window_is_beyond_ram_flat)
{
	struct bt86_vcpu_stats st;
	struct bt86_regs r;

	if (window_reachable(_metadata, variant))
		SKIP(return, "TCG checks no segment limits (bt_checked does)");
	start(_metadata, self, window_flat, sizeof(window_flat), 0);
	expect_mmio(_metadata, self, 0xffc00000, false, 0x11223344);
	expect_mmio(_metadata, self, 0xffc00004, true, 0x11223344);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	GET_REGS(self->vcpu, &r);
	EXPECT_EQ(0x11223344, r.eax);
	ASSERT_EQ(0, raw_ioctl_p(self->vcpu, BT86_GET_VCPU_STATS, &st));
	EXPECT_EQ(2, st.emulated[BT86_EMUL_MMIO]);
	if (variant->mode & BT86_VM_BT_CHECKED) {
		EXPECT_EQ(2, st.emulated[BT86_EMUL_TRUNCATED]);
		EXPECT_EQ(2, st.bt.callouts[BT86_BT_CALLOUT_LIMIT]);
	} else {
		EXPECT_EQ(0, st.emulated[BT86_EMUL_TRUNCATED]);
	}
}

/*
 * DS based at 2 GiB with a 4 GiB limit: offset 0x7fc00010 is the window
 * (an MMIO exit), offset 0x80003000 wraps to linear 0x3000, guest RAM,
 * which the truncation cut off too: it must read RAM.
 *
 *	mov $0x38, %ax; mov %ax, %ds
 *	mov 0x7fc00010, %eax; mov 0x80003000, %ebx; hlt
 */
static const uint8_t window_based[] = { 0x66, 0xb8, 0x38, 0x00, 0x8e, 0xd8,
					0xa1, 0x10, 0x00, 0xc0, 0x7f, 0x8b,
					0x1d, 0x00, 0x30, 0x00, 0x80, 0xf4 };

TEST_F(cpu, window_is_beyond_ram_based_segment)
{
	uint64_t d = seg(0x80000000, 0xfffff, 0x3, 0, 1, 0xc);
	uint32_t v = 0xcafef00d;
	struct bt86_regs r;

	if (window_reachable(_metadata, variant))
		SKIP(return, "TCG checks no segment limits (bt_checked does)");
	start(_metadata, self, window_based, sizeof(window_based), 0);
	memcpy(self->ram + 7 * 8 + GDT, &d, 8);
	memcpy(self->ram + 0x3000, &v, 4);
	expect_mmio(_metadata, self, 0xffc00010, false, 0x55667788);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	GET_REGS(self->vcpu, &r);
	EXPECT_EQ(0x55667788, r.eax);
	EXPECT_EQ(0xcafef00d, r.ebx);
}

/*
 * A segment whose own limit reaches into the window, 0xffefffff: an
 * access beyond it is the guest's own #GP(0), delivered as before
 * (gp_handler records the error code and halts); the truncation below it
 * changes nothing.  Under tae and on TCG no CPU checks it.
 *
 *	mov $0x38, %ax; mov %ax, %ds; mov 0xfff00000, %eax; hlt
 */
static const uint8_t own_limit[] = { 0x66, 0xb8, 0x38, 0x00, 0x8e, 0xd8,
				     0xa1, 0x00, 0x00, 0xf0, 0xff, 0xf4 };

TEST_F(cpu, own_limit_fault_through_truncation)
{
	uint64_t d = seg(0, 0xffeff, 0x3, 0, 1, 0xc);

	if (!(variant->mode & BT86_VM_BT_CHECKED))
		SKIP(return, "TCG checks no segment limits (bt_checked does)");
	start(_metadata, self, own_limit, sizeof(own_limit), 0);
	memcpy(self->ram + 7 * 8 + GDT, &d, 8);
	memset(self->ram + RESULTS + 8, 0xee, 4);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	EXPECT_EQ(0, result(self, 2)); /* #GP(0) */
}

/*
 * A fault of the instruction itself where the truncation also cut: FS
 * based at 2 GiB, MOVAPS from offset 0x80003001 (linear 0x3001, low memory
 * past 4 GiB of offsets, which the truncation cut off), misaligned: #GP(0)
 * for the alignment (SDM 2A "MOVAPS").  Under bt the monitor runs it
 * natively on an untruncated shadow, where it faults again: that #GP is
 * the guest's, delivered (gp_handler), not stepped again.
 *
 *	mov $0x38, %ax; mov %ax, %fs; mov $0x80003001, %eax
 *	movaps %fs:(%eax), %xmm0; hlt
 */
static const uint8_t misaligned_wrapped[] = { 0x66, 0xb8, 0x38, 0x00,
					      0x8e, 0xe0, 0xb8, 0x01,
					      0x30, 0x00, 0x80, 0x64,
					      0x0f, 0x28, 0x00, 0xf4 };

TEST_F(cpu, own_fault_of_an_untruncated_step)
{
	uint64_t d = seg(0x80000000, 0xfffff, 0x3, 0, 1, 0xc);
	struct bt86_sregs s;
	struct bt86_regs r;

	start(_metadata, self, misaligned_wrapped, sizeof(misaligned_wrapped),
	      0);
	memcpy(self->ram + 7 * 8 + GDT, &d, 8);
	GET_SREGS(self->vcpu, &s);
	s.cr4 |= 1u << 9;    /* OSFXSR: SSE instructions */
	s.cr0 &= ~(1u << 2); /* EM */
	SET_SREGS(self->vcpu, &s);
	memset(self->ram + RESULTS + 8, 0xee, 4);
	ASSERT_EQ(0, raw_ioctl(self->vcpu, BT86_RUN, 0));
	ASSERT_EQ(BT86_EXIT_HLT, self->run->exit_reason);
	GET_REGS(self->vcpu, &r);
	EXPECT_EQ(GP_HANDLER + sizeof(gp_handler), r.eip);
	EXPECT_EQ(0, result(self, 2)); /* #GP(0) */
}

TEST_HARNESS_MAIN
