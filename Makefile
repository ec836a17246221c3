# bt86 top-level Makefile.
#
#   make            build bt86.ko (against KDIR), the launcher and the test guests
#   make setup      install what is missing (packages, sandbox kernel, kselftest headers)
#   make check      setup, build, run every test; ends with "N passed, N failed"
#   make run        setup, build, boot Debian's i386 Linux to a shell under bt in the sandbox
#                   (ACCEL=kvm|tae|bt, FLAVOUR=686|686-pae); make demo: the demo guest
#   make bench      setup, build, print the benchmark tables
#   make difftest-long  setup, build, 100 000 difftest cases natively, under kvm, tae and bt
#   make dkms       prove the DKMS build for KVER (default: the sandbox kernel)
#   make dkms-install  add, build and install bt86 in the system's DKMS (root)
#   make format     reformat C sources; make lint: format and static checks
#
# The module is kbuild's business (see Kbuild); everything else is built here
# into $(O).  Each part of the tree contributes a fragment (*.mk) below.

VERSION		:= 0.1.0
O		:= build
CACHE		:= .cache

# The sandbox kernel: tests/vm/setup records its ABI (e.g. 6.1.0-56-amd64).
SANDBOX_ABI	:= $(shell cat $(CACHE)/sandbox/abi 2>/dev/null)
SANDBOX_KDIR	:= /usr/src/linux-headers-$(SANDBOX_ABI)

# KDIR: the running kernel's build tree if present, else the sandbox headers.
HOST_KDIR	:= /lib/modules/$(shell uname -r)/build
ifeq ($(origin KDIR),undefined)
  ifneq ($(wildcard $(HOST_KDIR)/Makefile),)
    KDIR	:= $(HOST_KDIR)
  else
    KDIR	:= $(SANDBOX_KDIR)
  endif
endif

CC		?= gcc
HOST_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
		   -D_GNU_SOURCE -Ikmod/uapi
# Everything that goes into the sandbox initramfs is linked statically.
HOST_LDFLAGS	:= -static -pthread
KSELFTEST_INC	:= $(CACHE)/linux-src/tools/testing/selftests

.PHONY: all setup module launcher guests tests check run demo bench difftest-long \
	dkms dkms-install \
	format lint clean distclean help
.DEFAULT_GOAL := all

all: module launcher guests tests

help:
	@sed -n '3,13p' Makefile | sed 's/^# \{0,1\}//'

setup:
	@tests/vm/setup

# --- the kernel module ----------------------------------------------------
# The monitor image goes into bt86.ko, so it is built first (kbuild only
# embeds it: see Kbuild and kmod/monitor_blob.S).
include monitor/monitor.mk
# bt/ for userland (libbt.a): the launcher and the unit tests link it.
include bt/bt.mk

module: $(MONITOR_BIN)
	@if [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "bt86: no kernel build tree at '$(KDIR)'." >&2; \
		echo "      Run 'make setup' to install the sandbox kernel's headers, or pass KDIR=." >&2; \
		exit 2; fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

include userland/userland.mk
include tests/guests/guests.mk
include tests/unit/unit.mk
include tests/api/api.mk
include tests/vm/vm.mk

# --- the jobs ---------------------------------------------------------------
# setup may only now have recorded the sandbox ABI, so read it at run time.
build-for-sandbox = $(MAKE) --no-print-directory all \
	KDIR=/usr/src/linux-headers-$$(cat $(CACHE)/sandbox/abi)

check: setup
	@$(build-for-sandbox)
	@tests/check

# make run: Debian's i386 Linux with a shell on the terminal, under ACCEL
# (bt, tae or kvm) in the sandbox VM (tests/linux/shell); FLAVOUR 686 or
# 686-pae.  make demo: the small multiboot demo guest instead.  The demo
# ends with debug-exit 0, which is status 1 (value << 1 | 1).
ACCEL		?= bt
FLAVOUR		?= 686
run: setup
	@$(build-for-sandbox)
	@tests/linux/shell $(ACCEL) --flavour $(FLAVOUR)

demo: setup
	@$(build-for-sandbox)
	@echo "bt86: booting the demo guest with --accel $(ACCEL) in the sandbox VM" \
		"(QEMU TCG, Debian's kernel); Ctrl-A x stops it"
	@tests/vm/exec --interactive --timeout 0 -- \
		bt86 run --accel $(ACCEL) --kernel /guests/demo.elf || [ $$? = 1 ]

bench: setup
	@$(build-for-sandbox)
	@tests/bench

# The difftest guest far beyond make check's 4 000 cases, compared with the
# native run (tests/guests/difftest-long; DIFFTEST_ARGS: the guest's
# command line, default "seed=2 batches=1000").
DIFFTEST_ARGS	?=
difftest-long: setup
	@$(build-for-sandbox)
	@tests/guests/difftest-long $(DIFFTEST_ARGS)

# --- DKMS -------------------------------------------------------------------
KVER		?= $(SANDBOX_ABI)
dkms:
	@tests/vm/dkms-build $(KVER)

dkms-install:
	@tests/vm/dkms-build --install $(KVER)

# --- style ------------------------------------------------------------------
C_SOURCES	= $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_SOURCES)

lint:
	@tests/lint

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf $(O)

distclean: clean
	rm -rf $(CACHE)
