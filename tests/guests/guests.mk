# tests/guests/guests.mk - the test guests: multiboot (v1) 32-bit ELF kernels.
#
#   make guests     build $(O)/guests/<name>.elf for every name in GUESTS
#
# Each guest is tests/guests/<name>.c linked with the runtime in
# tests/guests/lib/ (see docs/adding-a-guest.md).  Included by the top
# Makefile, which sets O.

GUESTS		:= hello portio pit exceptions demo bench_pio bench_cpu sensitive usermode hostile smc btfault segload difftest cpumodel window paging_basic paging relocate pae aspace churn bench_paging descriptors cx8flags gdtshare

GUEST_CC	?= gcc
GUEST_LD	?= ld
# i686 without SSE/MMX/x87 code generation: nothing in a guest sets up
# CR4.OSFXSR, and no floating point is needed.  No libgcc: no 64-bit
# division in guest code.
GUEST_CFLAGS	:= -m32 -march=i686 -mgeneral-regs-only -std=gnu11 \
		   -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
		   -fno-asynchronous-unwind-tables -fcf-protection=none \
		   -nostdlib -O2 -g -Wall -Wextra -Itests/guests/lib -MMD -MP
GUEST_LDFLAGS	:= -m elf_i386 -T tests/guests/lib/guest.ld -nostdlib \
		   -z max-page-size=0x1000 -z noexecstack --build-id=none

GUEST_LIB_SRCS	:= $(wildcard tests/guests/lib/*.c tests/guests/lib/*.S)
GUEST_LIB_OBJS	:= $(patsubst tests/guests/%,$(O)/guests/%.o,$(GUEST_LIB_SRCS))
GUEST_OBJS	:= $(GUESTS:%=$(O)/guests/%.c.o)
GUEST_ELFS	:= $(GUESTS:%=$(O)/guests/%.elf)

# Keep the objects (make would delete them as intermediates).
.SECONDARY: $(GUEST_OBJS) $(GUEST_LIB_OBJS)

guests: $(GUEST_ELFS)

$(O)/guests/%.c.o: tests/guests/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(O)/guests/%.S.o: tests/guests/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

# The loader scans only the first 8 KiB for the multiboot header (multiboot
# spec 3.1.1): refuse an image where the linker put it further out.
$(O)/guests/%.elf: $(O)/guests/%.c.o $(GUEST_LIB_OBJS) tests/guests/lib/guest.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB_OBJS)
	@head -c 8192 $@ | od -An -v -tx4 -w4 | grep -q '^ *1badb002$$' || \
		{ echo "$@: no multiboot header in the first 8 KiB" >&2; \
		  rm -f $@; exit 1; }

-include $(wildcard $(O)/guests/*.d $(O)/guests/lib/*.d)
