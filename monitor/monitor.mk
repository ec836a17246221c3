# The monitor image: monitor/*.c and *.S into $(O)/monitor/monitor.bin, which
# kmod/monitor_blob.S embeds in bt86.ko (docs/monitor.md).
#
# A freestanding static PIE linked at 0: the module relocates it to the
# monitor's base, which depends on the host's paging depth.  The build fails
# if the link leaves any relocation but R_X86_64_RELATIVE (the only kind the
# loader applies) or if the image exceeds 2 MiB (monitor.lds asserts it).

# Not $(CC): dkms exports CC taken from the kernel's build variables, and
# when it runs under make (make check) that value can hold make's
# "Entering directory" chatter.  The blob needs no particular compiler.
MONITOR_CC	?= gcc
MONITOR_O	:= $(O)/monitor
MONITOR_BIN	:= $(MONITOR_O)/monitor.bin
MONITOR_ELF	:= $(MONITOR_O)/monitor.elf
# header.o first: the header must be the image's first bytes.
MONITOR_OBJS	:= $(MONITOR_O)/header.o \
		   $(patsubst monitor/%.c,$(MONITOR_O)/%.o,$(wildcard monitor/*.c)) \
		   $(patsubst monitor/%.S,$(MONITOR_O)/%.o,$(filter-out monitor/header.S,$(wildcard monitor/*.S)))
MONITOR_CFLAGS	:= -std=gnu11 -ffreestanding -fpie -fno-plt -fvisibility=hidden \
		   -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
		   -fno-asynchronous-unwind-tables -fno-exceptions -fno-common \
		   -fcf-protection=none -nostdlib -nostdinc \
		   -isystem $(shell $(MONITOR_CC) -print-file-name=include 2>/dev/null) \
		   -Imonitor/include -Imonitor -Ibt -Ishadow -Ikmod \
		   -O2 -Wall -Wextra -g
MONITOR_LDFLAGS	:= -static -pie --no-dynamic-linker -z norelro \
		   -z max-page-size=4096 -z noexecstack -T monitor/monitor.lds
# Zydis: ZYDIS_* variables, MONITOR_ZYDIS_OBJS, and the decoder's flags in
# MONITOR_CFLAGS.
include monitor/zydis.mk
MONITOR_OBJS	+= $(MONITOR_ZYDIS_OBJS)
# The binary translator (bt/) is part of the image; bt/bt.mk also builds it
# for userland tests.
MONITOR_BT_OBJS	:= $(patsubst bt/%.c,$(MONITOR_O)/bt/%.o,$(wildcard bt/*.c))
MONITOR_OBJS	+= $(MONITOR_BT_OBJS)
# Shadow paging (shadow/): part of the image; shadow/walk.c is also built
# for userland tests.
MONITOR_SHADOW_OBJS := $(patsubst shadow/%.c,$(MONITOR_O)/shadow/%.o,$(wildcard shadow/*.c))
MONITOR_OBJS	+= $(MONITOR_SHADOW_OBJS)

READELF		?= readelf
NM		?= nm
OBJCOPY		?= objcopy

.PHONY: monitor
monitor: $(MONITOR_BIN)

$(MONITOR_O)/%.o: monitor/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(MONITOR_CC) $(MONITOR_CFLAGS) -MMD -MP -c -o $@ $<

$(MONITOR_O)/bt/%.o: bt/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(MONITOR_CC) $(MONITOR_CFLAGS) -MMD -MP -c -o $@ $<

$(MONITOR_O)/shadow/%.o: shadow/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(MONITOR_CC) $(MONITOR_CFLAGS) -MMD -MP -c -o $@ $<

$(MONITOR_O)/%.o: monitor/%.S
	@mkdir -p $(@D)
	$(MONITOR_CC) $(MONITOR_CFLAGS) -D__ASSEMBLY__ -MMD -MP -c -o $@ $<

$(MONITOR_ELF): $(MONITOR_OBJS) monitor/monitor.lds
	$(LD) $(MONITOR_LDFLAGS) -o $@ $(MONITOR_OBJS)
	@bad=$$($(READELF) -rW $@ | awk '$$3 ~ /^R_X86_64_/ && $$3 != "R_X86_64_RELATIVE"'); \
	if [ -n "$$bad" ]; then \
		echo "monitor: $@ has relocations the loader cannot apply:" >&2; \
		echo "$$bad" >&2; rm -f $@; exit 1; fi

# objcopy stops at the last byte of data; pad to the header's file size
# (__data_end), which the loader copies.
$(MONITOR_BIN): $(MONITOR_ELF)
	$(OBJCOPY) -O binary $< $@.tmp
	@end=$$(( 0x$$($(NM) $< | awk '$$3 == "__data_end" { print $$1 }') )); \
	size=$$(stat -c %s $@.tmp); \
	if [ "$$size" -gt "$$end" ]; then \
		echo "monitor: $@ is $$size bytes, past __data_end ($$end)" >&2; \
		rm -f $@.tmp; exit 1; fi; \
	truncate -s "$$end" $@.tmp
	@mv $@.tmp $@

-include $(MONITOR_OBJS:.o=.d)
