# Unit tests of the launcher's devices, loaders and options: one
# kselftest-harness program per topic, tests/unit/test-*.c, built statically
# into $(O)/tests/unit/ (nothing else goes there: the runner executes every
# file in it) and linked against the launcher's library.

UNIT_SRCS	:= $(wildcard tests/unit/test-*.c)
UNIT_BINS	:= $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(UNIT_SRCS))
UNIT_OBJDIR	:= $(O)/tests/unit-obj
UNIT_OBJS	:= $(patsubst tests/unit/%.c,$(UNIT_OBJDIR)/%.o,$(UNIT_SRCS))
# The harness's ASSERT_EQ(1, unsigned_value) compares int with unsigned.
UNIT_CFLAGS	:= $(HOST_CFLAGS) -Wno-sign-compare -Iuserland -I$(KSELFTEST_INC)

.PHONY: unit-tests
.SECONDARY: $(UNIT_OBJS)
tests: unit-tests
unit-tests: $(UNIT_BINS)

$(O)/tests/unit/%: $(UNIT_OBJDIR)/%.o $(USERLAND_LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(HOST_LDFLAGS)

$(UNIT_OBJDIR)/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

-include $(UNIT_OBJS:.o=.d)

# test-decode: the monitor's decoder (monitor/decode.c) built for userland,
# over the same Zydis sources built into $(ZYDIS_LIB) (monitor/zydis.mk).
UNIT_DECODE_OBJ	:= $(UNIT_OBJDIR)/monitor-decode.o
$(UNIT_OBJDIR)/test-decode.o $(UNIT_DECODE_OBJ): UNIT_CFLAGS += -Imonitor $(ZYDIS_DEFS) $(ZYDIS_INC)
$(UNIT_OBJDIR)/test-decode.o: | $(ZYDIS_NEEDED)
$(O)/tests/unit/test-decode: $(UNIT_DECODE_OBJ) $(ZYDIS_LIB)

$(UNIT_DECODE_OBJ): monitor/decode.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

-include $(UNIT_DECODE_OBJ:.o=.d)

# test-desc-shadow: the shadow descriptor tables (monitor/vcpu.c,
# segment.c) built for userland; the test stands in for the rest of the
# monitor.
UNIT_DESC_OBJS := $(UNIT_OBJDIR)/monitor-vcpu.o $(UNIT_OBJDIR)/monitor-segment.o
$(UNIT_OBJDIR)/test-desc-shadow.o $(UNIT_DESC_OBJS): UNIT_CFLAGS += -Imonitor -Ibt -Ikmod -Ishadow $(ZYDIS_DEFS) $(ZYDIS_INC)
$(UNIT_OBJDIR)/test-desc-shadow.o: | $(ZYDIS_NEEDED)
$(O)/tests/unit/test-desc-shadow: $(UNIT_DESC_OBJS)

$(UNIT_OBJDIR)/monitor-%.o: monitor/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

-include $(UNIT_DESC_OBJS:.o=.d)

include tests/unit/silicon.mk
# test-bt, test-bt-fuzz, test-translate: the binary translator, bt/ built for userland
# ($(BT_LIB), bt/bt.mk) over the same Zydis.
UNIT_BT_TESTS	:= test-bt test-bt-check test-bt-fuzz test-translate
$(patsubst %,$(UNIT_OBJDIR)/%.o,$(UNIT_BT_TESTS)): UNIT_CFLAGS += $(BT_INC)
$(patsubst %,$(UNIT_OBJDIR)/%.o,$(UNIT_BT_TESTS)): | $(ZYDIS_NEEDED)
$(patsubst %,$(O)/tests/unit/%,$(UNIT_BT_TESTS)): $(BT_LIB) $(ZYDIS_LIB)

# Optional, not part of make check: test-bt-fuzz's checks on libFuzzer's
# inputs, with AddressSanitizer and UBSan (needs clang):
#   make bt-libfuzzer && build/tests/bt-libfuzzer -max_total_time=600
BT_LIBFUZZER	:= $(O)/tests/bt-libfuzzer
.PHONY: bt-libfuzzer
bt-libfuzzer: $(BT_LIBFUZZER)
$(BT_LIBFUZZER): tests/unit/test-bt-fuzz.c tests/unit/btrig.h $(wildcard bt/*.c bt/*.h) \
		 monitor/decode.c $(ZYDIS_LIB)
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DBT_LIBFUZZER \
		-D_GNU_SOURCE -Ikmod/uapi -I$(KSELFTEST_INC) $(BT_INC) -o $@ \
		tests/unit/test-bt-fuzz.c $(wildcard bt/*.c) monitor/decode.c $(ZYDIS_LIB)

# test-shadow: shadow paging's page-table walker (shadow/walk.c) for userland.
UNIT_SHADOW_OBJ	:= $(UNIT_OBJDIR)/shadow-walk.o
$(UNIT_OBJDIR)/test-shadow.o $(UNIT_SHADOW_OBJ): UNIT_CFLAGS += -Ishadow
$(O)/tests/unit/test-shadow: $(UNIT_SHADOW_OBJ)

$(UNIT_SHADOW_OBJ): shadow/walk.c
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

-include $(UNIT_SHADOW_OBJ:.o=.d)

# test-shadow-spt: shadow page tables (shadow/pool.c, trace.c, spt.c) for
# userland, without the TLB (BT86_SHADOW_UNIT_TEST: shadow/hw.h).
UNIT_SPT_SRCS	:= shadow/pool.c shadow/trace.c shadow/spt.c
UNIT_SPT_OBJS	:= $(patsubst shadow/%.c,$(UNIT_OBJDIR)/shadow-%.o,$(UNIT_SPT_SRCS))
UNIT_SPT_FLAGS	:= -Ishadow -Imonitor -Ikmod -DBT86_SHADOW_UNIT_TEST
$(UNIT_OBJDIR)/test-shadow-spt.o $(UNIT_SPT_OBJS): UNIT_CFLAGS += $(UNIT_SPT_FLAGS)
$(O)/tests/unit/test-shadow-spt: $(UNIT_SPT_OBJS)

$(UNIT_OBJDIR)/shadow-%.o: shadow/%.c
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

-include $(UNIT_SPT_OBJS:.o=.d)
