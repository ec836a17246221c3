# The ioctl API tests of bt86.ko (kselftest harness), one static program per
# topic.  The sandbox runs every program in build/tests/api/ (tests/vm/exec
# copies them to /tests/api/); without the module each test reports SKIP.
#
# One program per file: kselftest_harness.h keeps its test list in static
# variables, so the tests of one program must live in one translation unit.

API_TESTS	:= device vm memory vcpu state lifetime world cpu
API_TEST_BINS	:= $(API_TESTS:%=$(O)/tests/api/%_test)

# The harness's EXPECT_EQ(1, x) compares an int with whatever x is.
API_TEST_CFLAGS	:= -Wno-sign-compare

.PHONY: api-tests
api-tests: $(API_TEST_BINS)

tests: api-tests

$(O)/tests/api/%_test: tests/api/%_test.c tests/api/api.h kmod/uapi/bt86.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(API_TEST_CFLAGS) -I$(KSELFTEST_INC) -o $@ $< $(HOST_LDFLAGS)
