# The launcher, bt86: userland/*.c into $(O)/bt86.
#
# Everything but main.c goes into $(O)/userland/libbt86.a, which the unit
# tests (tests/unit/unit.mk) link against too.

USERLAND_SRCS	:= $(wildcard userland/*.c)
USERLAND_OBJS	:= $(patsubst userland/%.c,$(O)/userland/%.o,$(USERLAND_SRCS))
USERLAND_LIB	:= $(O)/userland/libbt86.a
USERLAND_CFLAGS	:= $(HOST_CFLAGS) -DBT86_VERSION='"$(VERSION)"'

launcher: $(O)/bt86

# "bt86 translate" (translate.c) runs the binary translator: bt/ and Zydis
# built for userland (bt/bt.mk).
$(O)/bt86: $(O)/userland/main.o $(USERLAND_LIB) $(BT_LIB) $(ZYDIS_LIB)
	$(CC) -o $@ $^ $(HOST_LDFLAGS)

$(O)/userland/translate.o: USERLAND_CFLAGS += $(BT_INC)
$(O)/userland/translate.o: | $(ZYDIS_NEEDED)

$(USERLAND_LIB): $(filter-out $(O)/userland/main.o,$(USERLAND_OBJS))
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/userland/%.o: userland/%.c
	@mkdir -p $(@D)
	$(CC) $(USERLAND_CFLAGS) -MMD -MP -c -o $@ $<

-include $(USERLAND_OBJS:.o=.d)
