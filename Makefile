# fleet: GNU Make build.  `make` builds bin/; `make check` installs what is
# missing, builds, runs the unit and end-to-end tests, then does it all again
# under AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/.

SANITIZER ?=
# ARCH=armhf or ARCH=arm64 cross-builds for that Debian architecture with
# Debian's cross toolchain, against a sysroot of Debian's own packages
# (packaging/sysroot.sh makes it), into build-ARCH/.
ARCH ?=
ifneq ($(ARCH),)
TRIPLET := $(shell dpkg-architecture -a$(ARCH) -qDEB_HOST_GNU_TYPE 2>/dev/null)
ifeq ($(TRIPLET),)
$(error ARCH=$(ARCH): not a Debian architecture (dpkg-architecture -L lists them))
endif
SYSROOT ?= $(CURDIR)/build-sysroot/$(ARCH)
BUILD ?= build-$(ARCH)
BIN ?= build-$(ARCH)/bin
CC := $(TRIPLET)-gcc
AR := $(TRIPLET)-ar
else ifeq ($(SANITIZER),)
BUILD ?= build
BIN ?= bin
else
BUILD ?= build-asan
BIN ?= build-asan/bin
endif

CC ?= cc
PKG_CONFIG ?= pkg-config
# With a sysroot, headers, libraries and .pc files all come from it.
# (SYSROOT may also come alone, from debian/rules in a cross package build.)
SYSROOT ?=
ifneq ($(SYSROOT),)
TRIPLET ?= $(shell $(CC) -dumpmachine)
override PKG_CONFIG := PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) \
    PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/$(TRIPLET)/pkgconfig:$(SYSROOT)/usr/share/pkgconfig pkg-config
SYSROOT_FLAGS := --sysroot=$(SYSROOT)
endif
PKGS := libczmq libzmq libsodium jansson yaml-0.1 sqlite3 libgit2 libcurl libmosquitto
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# Distribution builds set WERROR= (a newer compiler's new warning must not
# break them); development and CI keep -Werror.
WERROR ?= -Werror
WARN := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wimplicit-fallthrough -fno-common
CFLAGS ?= -O2 -g
# 64-bit file offsets and time on 32-bit ARM too (no-ops on 64-bit): files
# over 2 GiB, directories whose cookies are 64-bit, and devices that will
# still be up a pole in 2038.  No library fleet uses takes a time_t or off_t.
LFS := -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
CFLAGS += $(SYSROOT_FLAGS) -std=c11 -D_GNU_SOURCE $(LFS) $(WARN) -Icommon -Imaster -Iminion $(PKG_CFLAGS) -MMD -MP
# Each function in a section of its own, so that the linker drops what a
# program does not call (the minion is meant for a board with little flash).
CFLAGS += -ffunction-sections -fdata-sections
LDFLAGS += $(SYSROOT_FLAGS) -Wl,--as-needed -Wl,--gc-sections
LDLIBS += $(PKG_LIBS) -lpthread -lm
ifneq ($(SANITIZER),)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

COMMON_SRC := $(sort $(wildcard common/*.c))
MASTER_SRC := $(filter-out master/main.c master/fleetctl%.c,$(sort $(wildcard master/*.c)))
CTL_SRC    := $(sort $(wildcard master/fleetctl*.c))
MINION_SRC := $(filter-out minion/main.c,$(sort $(wildcard minion/*.c)))
UNIT_SRC   := $(sort $(wildcard tests/unit/check_*.c))
TOOL_SRC   := $(sort $(wildcard tests/e2e/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
MASTER_OBJ := $(call obj,$(MASTER_SRC))
CTL_OBJ    := $(call obj,$(CTL_SRC))
MINION_OBJ := $(call obj,$(MINION_SRC))
UNIT_OBJ   := $(call obj,$(UNIT_SRC))
LIBFLEET   := $(BUILD)/libfleet.a

PROGS := $(BIN)/fleet-master $(BIN)/fleet-minion $(BIN)/fleetctl
TOOLS := $(patsubst tests/e2e/%.c,$(BIN)/%,$(TOOL_SRC)) $(BIN)/fleet-swarm

.SECONDARY:

.PHONY: bench deb check-deb check-arm fuzz all deps check check-unit check-e2e check-asan demo clean format

all: $(PROGS) $(TOOLS)

# A cross build makes its Debian root first (once; see packaging/sysroot.sh).
# It is an included makefile so that make restarts once the root exists:
# the pkg-config flags above are read from the root when the Makefile is.
ifneq ($(ARCH),)
include $(SYSROOT)/.fleet-sysroot.mk
$(SYSROOT)/.fleet-sysroot.mk: packaging/sysroot.sh
	packaging/sysroot.sh $(ARCH) $(SYSROOT)
	@echo '# the root is made: see packaging/sysroot.sh' >$@
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBFLEET): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# fl_secmem.o is linked by name: nothing in fleet calls it, libzmq does
# (it stands in for libsodium's sodium_malloc/sodium_free; see the file).
SECMEM_OBJ := $(BUILD)/common/fl_secmem.o

$(BIN)/fleet-master: $(BUILD)/master/main.o $(MASTER_OBJ) $(SECMEM_OBJ) $(LIBFLEET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/fleetctl: $(CTL_OBJ) $(LIBFLEET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/fleet-minion: $(BUILD)/minion/main.o $(MINION_OBJ) $(LIBFLEET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/fleet-swarm: $(BUILD)/tests/swarm/fleet-swarm.o $(SECMEM_OBJ) $(LIBFLEET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/%: $(BUILD)/tests/e2e/%.o $(LIBFLEET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The suite list is generated from the file names, so adding
# tests/unit/check_foo.c (which defines suite_foo()) is all it takes.
$(BUILD)/tests/unit/suites.h: $(UNIT_SRC)
	@mkdir -p $(dir $@)
	@printf '%s\n' $(patsubst tests/unit/check_%.c,'FL_SUITE(%)',$(filter-out tests/unit/check_main.c,$(UNIT_SRC))) > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/tests/unit/check_main.o: $(BUILD)/tests/unit/suites.h
$(BUILD)/tests/unit/%.o: CFLAGS += $(CHECK_CFLAGS) -I$(BUILD)/tests/unit -Itests/unit

$(BUILD)/check_fleet: $(UNIT_OBJ) $(MASTER_OBJ) $(MINION_OBJ) $(SECMEM_OBJ) $(LIBFLEET)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

deps:
	@packaging/deps.sh $(ARCH)

check-unit: $(BUILD)/check_fleet
	CK_DEFAULT_TIMEOUT=$(if $(SANITIZER),60,20) $(BUILD)/check_fleet

check-e2e: $(PROGS) $(TOOLS)
	FLEET_BIN=$(CURDIR)/$(BIN) tests/e2e/run.sh

# Compiling runs on both cores; the tests run one after the other (the
# end-to-end tests start many processes of their own).
check-asan:
	$(MAKE) -j2 SANITIZER=address all build-asan/check_fleet
	$(MAKE) SANITIZER=address check-unit check-e2e

check: deps
	$(MAKE) -j2 all build/check_fleet
	$(MAKE) check-unit check-e2e
	$(MAKE) check-deb
	$(MAKE) check-arm
	$(MAKE) check-asan

# ARM under emulation: the armhf build of the whole tree runs its unit tests
# under qemu-user, then an armhf minion enrols with the native master and
# applies the example tree, and the armhf package installs into the armhf
# root with that root's dpkg.  QEMU_LD_PREFIX (inherited by every process the
# tests start) points qemu at the armhf Debian root for libraries, so the
# ARM programs the minion runs (dpkg, sh) are emulated too.
ARM_ARCH ?= armhf
ARM_QEMU = qemu-$(shell dpkg-architecture -a$(ARM_ARCH) -qDEB_HOST_GNU_CPU 2>/dev/null)-static
ARM_ROOT = $(CURDIR)/build-sysroot/$(ARM_ARCH)
check-arm: all
	$(MAKE) -j2 ARCH=$(ARM_ARCH) build-$(ARM_ARCH)/check_fleet build-$(ARM_ARCH)/bin/fleet-minion
	QEMU_LD_PREFIX=$(ARM_ROOT) CK_DEFAULT_TIMEOUT=120 $(ARM_QEMU) build-$(ARM_ARCH)/check_fleet
	QEMU_LD_PREFIX=$(ARM_ROOT) FLEET_BIN=$(CURDIR)/$(BIN) FL_SCALE=4 \
	    FL_MINION_CMD="$(ARM_QEMU) $(CURDIR)/build-$(ARM_ARCH)/bin/fleet-minion" tests/e2e/run.sh t_arm_
	$(MAKE) deb ARCH=$(ARM_ARCH)
	tests/packaging/test_deb_cross.sh dist $(ARM_ARCH) $(ARM_ROOT)

# Debian packages (debhelper) from a temporary copy of the tree, into dist/;
# lintian errors fail the build.  ARCH=armhf cross-builds fleet-minion,
# ARCH=arm64 both packages, against packaging/sysroot.sh's Debian root.
deb: deps
	ARCH=$(ARCH) SYSROOT=$(SYSROOT) packaging/build-deb.sh $(CURDIR)/dist

check-deb: deb
	tests/packaging/test_deb.sh dist

demo: deps
	$(MAKE) all
	tests/demo.sh

# Figures for docs/PERFORMANCE.md (minutes; not part of make check).
bench: all
	FLEET_BIN=$(CURDIR)/$(BIN) tests/bench/bench.sh $(BENCH_OUT)

# libFuzzer targets (clang); each runs FUZZ_SECONDS.  Not part of `make check`.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang)"; exit 2; }
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); \
	    clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	        -Icommon $(PKG_CFLAGS) -o build-fuzz/$$n $$f $(COMMON_SRC) $(PKG_LIBS) || exit 1; \
	    mkdir -p build-fuzz/$$n.corpus; \
	    echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	    build-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build-fuzz/$$n.corpus \
	        2>build-fuzz/$$n.log || { tail -30 build-fuzz/$$n.log; exit 1; }; \
	    tail -1 build-fuzz/$$n.log; \
	done

format:
	clang-format -i common/*.[ch] master/*.[ch] minion/*.[ch] tests/unit/*.[ch] tests/e2e/*.c

clean:
	rm -rf build build-asan build-fuzz build-armhf build-arm64 bin dist   # build-sysroot/ stays: slow to make

-include $(COMMON_OBJ:.o=.d) $(MASTER_OBJ:.o=.d) $(MINION_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
