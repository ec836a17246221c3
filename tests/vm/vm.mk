# The sandbox VM's own helper programs (see docs/sandbox.md).
SANDBOX_HELPERS := $(O)/tests/vm/debug-exit $(O)/tests/vm/paging-levels \
		   $(O)/tests/vm/switch-bench \
		   $(O)/tests/vm/timeit $(O)/tests/vm/stamp

tests: $(SANDBOX_HELPERS)

$(O)/tests/vm/%: tests/vm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $< $(HOST_LDFLAGS)
