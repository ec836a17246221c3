# Zydis, the monitor's instruction decoder (docs/monitor.md, "The decoder").
#
# tests/vm/setup fetches Debian's zydis 4.0 source package into .cache/zydis
# and the headers of libzycore-dev 1.4 into .cache/zycore; nothing of Zydis
# is in the tree.  The same four files are built twice: with the monitor's
# freestanding flags into monitor.bin, and with userland flags into
# $(O)/tests/zydis/libzydis.a for the unit tests (tests/unit/test-decode.c).
#
# ZYDIS_DIR and ZYCORE_DIR may be given on the command line; tests/vm/dkms-build
# copies both into the tree it stages, so the defaults work there too.

ZYDIS_DIR	?= $(CACHE)/zydis
ZYCORE_DIR	?= $(CACHE)/zycore
ZYDIS_FILES	:= Decoder DecoderData SharedData Register
ZYDIS_SRCS	:= $(patsubst %,$(ZYDIS_DIR)/src/%.c,$(ZYDIS_FILES))
ZYDIS_NEEDED	:= $(ZYDIS_SRCS) $(ZYDIS_DIR)/include/Zydis/Decoder.h \
		   $(ZYCORE_DIR)/include/Zycore/Defines.h
# Decoder only, full mode (ZYDIS_MINIMAL_MODE would not decode operands);
# KNC is Xeon Phi's 64-bit-only MVEX set.  Anything that includes a Zydis
# header must see the same defines.
ZYDIS_DEFS	:= -DZYDIS_STATIC_BUILD -DZYDIS_DISABLE_FORMATTER \
		   -DZYDIS_DISABLE_ENCODER -DZYDIS_DISABLE_KNC
# -isystem: warnings in Zydis's headers are not ours.
ZYDIS_INC	:= -isystem $(ZYDIS_DIR)/include -isystem $(ZYCORE_DIR)/include
# Zydis's own sources are compiled without -Wall -Wextra.
ZYDIS_SRC_CFLAGS := $(ZYDIS_DEFS) -I$(ZYDIS_DIR)/include -I$(ZYDIS_DIR)/src \
		   -I$(ZYCORE_DIR)/include

# Without ZYAN_NO_LIBC, Zycore includes libc headers (<assert.h>, ...),
# which -nostdinc does not have; with it, it uses compiler builtins.
MONITOR_ZYDIS_CFLAGS := $(filter-out -Wall -Wextra -I%,$(MONITOR_CFLAGS)) \
		   -DZYAN_NO_LIBC $(ZYDIS_SRC_CFLAGS)
MONITOR_CFLAGS	+= -DZYAN_NO_LIBC $(ZYDIS_DEFS) $(ZYDIS_INC)
MONITOR_ZYDIS_OBJS := $(patsubst %,$(MONITOR_O)/zydis/%.o,$(ZYDIS_FILES))

ZYDIS_LIB	:= $(O)/tests/zydis/libzydis.a
ZYDIS_LIB_OBJS	:= $(patsubst %,$(O)/tests/zydis/%.o,$(ZYDIS_FILES))

# Without the sources, say what to do instead of "No rule to make target".
$(ZYDIS_NEEDED):
	@echo "bt86: the Zydis decoder's sources are missing ($@)." >&2
	@echo "      Run 'make setup' to fetch them (or pass ZYDIS_DIR= and ZYCORE_DIR=)." >&2
	@exit 2

$(MONITOR_O)/zydis/%.o: $(ZYDIS_DIR)/src/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(MONITOR_CC) $(MONITOR_ZYDIS_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/tests/zydis/%.o: $(ZYDIS_DIR)/src/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(ZYDIS_SRC_CFLAGS) -MMD -MP -c -o $@ $<

$(ZYDIS_LIB): $(ZYDIS_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

-include $(MONITOR_ZYDIS_OBJS:.o=.d) $(ZYDIS_LIB_OBJS:.o=.d)
