# The binary translator (bt/) built for userland, as $(O)/bt/libbt.a: bt/*.c
# and the monitor's decoder (monitor/decode.c) with the launcher's flags,
# and Zydis's mnemonic names.
# The unit tests (tests/unit/test-bt*.c) and "bt86 translate" link it, with
# Zydis ($(ZYDIS_LIB), monitor/zydis.mk) after it.  The monitor builds the
# same sources freestanding (monitor/monitor.mk); bt/ must compile both ways.
#
# Included from the top Makefile after monitor/monitor.mk (which defines the
# ZYDIS_* variables) and before userland/userland.mk (which links $(BT_LIB)).

BT_O		:= $(O)/bt
BT_LIB		:= $(BT_O)/libbt.a
BT_LIB_OBJS	:= $(patsubst bt/%.c,$(BT_O)/%.o,$(wildcard bt/*.c)) \
		   $(BT_O)/decode.o $(BT_O)/zydis-mnemonic.o
# What a userland file needs to include bt.h, classify.h or decode.h.
BT_INC		:= -Ibt -Imonitor $(ZYDIS_DEFS) $(ZYDIS_INC)
BT_CFLAGS	:= $(HOST_CFLAGS) $(BT_INC)

.PHONY: bt-lib
bt-lib: $(BT_LIB)

$(BT_LIB): $(BT_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BT_O)/%.o: bt/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) $(BT_CFLAGS) -MMD -MP -c -o $@ $<

$(BT_O)/decode.o: monitor/decode.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) $(BT_CFLAGS) -MMD -MP -c -o $@ $<

# ZydisMnemonicGetString(), for tools that print instructions without
# objdump (the monitor has no use for it).
$(BT_O)/zydis-mnemonic.o: $(ZYDIS_DIR)/src/Mnemonic.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(ZYDIS_SRC_CFLAGS) -MMD -MP -c -o $@ $<

-include $(BT_LIB_OBJS:.o=.d)
