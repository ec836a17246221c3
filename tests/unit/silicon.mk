# test-bt-silicon: the binary translator's output run on this machine's CPU
# (tests/unit/test-bt-silicon.c, docs/testing.md).  bt/*.c and the
# monitor's decoder are built for userland into their own object directory,
# over the userland Zydis library ($(ZYDIS_LIB), monitor/zydis.mk).

SILICON_OBJDIR	:= $(O)/tests/silicon-obj
SILICON_OBJS	:= $(patsubst bt/%.c,$(SILICON_OBJDIR)/bt-%.o,$(wildcard bt/*.c)) \
		   $(SILICON_OBJDIR)/monitor-decode.o
SILICON_CFLAGS	:= -Ibt -Imonitor $(ZYDIS_DEFS) $(ZYDIS_INC)

$(UNIT_OBJDIR)/test-bt-silicon.o: UNIT_CFLAGS += $(SILICON_CFLAGS)
$(UNIT_OBJDIR)/test-bt-silicon.o: | $(ZYDIS_NEEDED)
$(O)/tests/unit/test-bt-silicon: $(SILICON_OBJS) $(ZYDIS_LIB)

$(SILICON_OBJDIR)/bt-%.o: bt/%.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(SILICON_CFLAGS) -MMD -MP -c -o $@ $<

$(SILICON_OBJDIR)/monitor-decode.o: monitor/decode.c | $(ZYDIS_NEEDED)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(SILICON_CFLAGS) -MMD -MP -c -o $@ $<

-include $(SILICON_OBJS:.o=.d)
