# SPDX-License-Identifier: GPL-2.0
#
# make            module (against Debian's linux-headers-amd64), program,
#                 selftests
# make check      everything, host unit tests (also under ASan + UBSan),
#                 selftests in the stock and the debug guest; ends with
#                 "N passed, N failed"
# make check-fast the same without the debug guest
# make demo       boot a guest and show snapset at work: a backup that
#                 completes, one killed with SIGKILL (tools/demo)
# make bench      boot the stock guest and measure snapset against its
#                 baselines (docs/benchmarks.md)
#
# KDIR=DIR builds the module against another kernel tree.

VERSION := $(shell cat VERSION)
KVER ?= $(shell tools/vm/guest-kernel)
KDIR ?= /usr/src/linux-headers-$(KVER)
BUILD := build

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Werror
USER_CFLAGS := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -Iinclude/uapi -Iinclude \
	-DSNAPSET_VERSION='"$(VERSION)"' $(CFLAGS)

# Headers of Debian's linux-source-6.1 that we build with but never commit.
LINUX_SOURCE := /usr/src/linux-source-6.1.tar.xz
KTOOLS := $(BUILD)/linux-tools
KSFT_INCLUDE := $(CURDIR)/$(KTOOLS)/tools/testing/selftests
KTOOLS_FILES := tools/testing/selftests/kselftest.h \
	tools/testing/selftests/kselftest_harness.h \
	scripts/checkpatch.pl scripts/spelling.txt \
	scripts/const_structs.checkpatch

# libsnapset: position-independent, only its snapset_writer_* exported
# (the version script). The program links its objects too: the daemon
# speaks the same protocol, snapset writer is a libsnapset client.
LIB_SONAME := libsnapset.so.1
LIB_SRCS := $(wildcard userspace/lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_LIBS := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)

PROGRAM_SRCS := $(wildcard userspace/common/*.c userspace/daemon/*.c \
	userspace/snapset/*.c) $(LIB_SRCS)
PROGRAM_LIBS := $(shell pkg-config --libs json-c blkid devmapper liburing inih \
	libsystemd uuid 2>/dev/null || \
	echo -ljson-c -lblkid -ldevmapper -luring -linih -lsystemd -luuid) -lm
PROGRAM_OBJS := $(PROGRAM_SRCS:%.c=$(BUILD)/%.o)
UNIT_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*_test.c))

.PHONY: all module program library examples selftests man unit-tests deps check \
	check-fast lint demo chaos debug-module module-6.12 install install-module \
	install-program install-man uninstall uninstall-module \
	uninstall-program dkms-source clean fuzz fuzz-build bench bench-build \
	sanitize-build

all: module program library examples selftests man

deps:
	tools/deps

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

debug-module:
	tools/vm/debug-kernel

# The module for the 6.12 guest, built apart from the 6.1 one.
module-6.12:
	tools/vm/build-module \
		/usr/src/linux-headers-$(shell tools/vm/guest-kernel 6.12) \
		$(BUILD)/6.12

program: $(BUILD)/snapset

$(BUILD)/snapset: $(PROGRAM_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROGRAM_LIBS) $(LDLIBS)

$(BUILD)/userspace/%.o: userspace/%.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/userspace/lib/%.o: USER_CFLAGS += -fPIC -fvisibility=hidden

library: $(BUILD)/$(LIB_SONAME) $(BUILD)/libsnapset.a

$(BUILD)/$(LIB_SONAME): $(LIB_OBJS) userspace/lib/libsnapset.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=userspace/lib/libsnapset.map -Wl,-z,defs \
		-o $@ $(LIB_OBJS) $(LIB_LIBS)
	ln -sf $(LIB_SONAME) $(BUILD)/libsnapset.so

$(BUILD)/libsnapset.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# Examples link the shared library as an application would; the rpath
# lets them run from the build tree.
examples: $(BUILD)/examples/wal-writer

$(BUILD)/examples/%: userspace/examples/%.c $(BUILD)/$(LIB_SONAME)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD) -lsnapset \
		-Wl,-rpath,'$$ORIGIN/..'

# Manual pages, written in scdoc (docs/man/NAME.SECTION.scd).
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(wildcard docs/man/*.scd))

man: $(MAN_PAGES)

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(@D)
	scdoc <$< >$@.tmp
	mv $@.tmp $@

$(KTOOLS)/.extracted: $(LINUX_SOURCE)
	@mkdir -p $(KTOOLS)
	tar -xJf $< -C $(KTOOLS) --strip-components=1 \
		$(addprefix linux-source-6.1/,$(KTOOLS_FILES))
	touch $@

selftests: $(KTOOLS)/.extracted
	$(MAKE) -C selftests/snapset OUTPUT=$(CURDIR)/$(BUILD)/selftests \
		KSFT_INCLUDE=$(KSFT_INCLUDE)

# Unit tests link the program's objects they test, minus main(). The
# harness's macros compare int literals with unsigned values.
$(BUILD)/tests/%_test: tests/%_test.c $(filter-out %/main.o,$(PROGRAM_OBJS)) \
		$(BUILD)/snapset $(KTOOLS)/.extracted
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -Wno-unused-parameter -Wno-sign-compare -I$(KSFT_INCLUDE) \
		-DSNAPSET_BIN='"$(CURDIR)/$(BUILD)/snapset"' \
		-DSNAPSET_SOURCE='"$(CURDIR)"' -MMD -MP \
		$(LDFLAGS) -o $@ $< $(filter %.o,$^) $(PROGRAM_LIBS) $(LDLIBS)

unit-tests: $(UNIT_TESTS)

# The program, the unit tests and the example writer (with the shared
# libsnapset) again under ASan and UBSan, in a tree of their own: make
# check runs these unit tests, and the 6.12 guest's run, daemon and
# writers selftests with this program and example (tools/sanitized turns
# any report into a failed check). The harness's headers are the main
# tree's. clang's, not gcc's: gcc 12's libubsan beside libasan writes
# its reports to stderr whatever UBSAN_OPTIONS's log_path says, where a
# test's or a daemon's redirection hides them. One shared runtime
# (-shared-libasan), so that libsnapset.so can link against it.
SANITIZE_BUILD := $(BUILD)/asan
SANITIZE_RUNTIME = $(shell clang -print-resource-dir 2>/dev/null)/lib/linux
SANITIZE_FLAGS := -fsanitize=address,undefined -shared-libasan \
	-fno-omit-frame-pointer

# The tree is made again whole when its compiler or flags change: make
# tracks neither.
sanitize-build: $(KTOOLS)/.extracted
	@built="clang $(SANITIZE_FLAGS)"; \
	if [ "$$(cat $(SANITIZE_BUILD)/.flags 2>/dev/null)" != "$$built" ]; then \
		rm -rf $(SANITIZE_BUILD) && mkdir -p $(SANITIZE_BUILD) && \
		echo "$$built" >$(SANITIZE_BUILD)/.flags; \
	fi
	$(MAKE) BUILD=$(SANITIZE_BUILD) KTOOLS=$(KTOOLS) CC=clang \
		CFLAGS="-O1 -g $(SANITIZE_FLAGS)" \
		LDFLAGS="$(SANITIZE_FLAGS) -Wl,-rpath,$(SANITIZE_RUNTIME)" \
		program unit-tests examples $(SANITIZE_BUILD)/tests/sanitizer_canary

# The sanitizers' positive control, with the flags of the tree it is in:
# tests/tools_test.sh checks that tools/sanitized catches its faults.
$(BUILD)/tests/sanitizer_canary: tests/sanitizer_canary.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(LDFLAGS) -o $@ $<

# libFuzzer targets under ASan and UBSan (clang), one per
# tests/fuzz/NAME_fuzz.c (whose head says what it feeds), each with its
# seeds in tests/fuzz/corpus-NAME. `make fuzz` runs each for
# FUZZ_SECONDS; make check runs them briefly.
FUZZ_SECONDS ?= 300
FUZZ_FLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude/uapi -Iinclude -g -O1 \
	$(WARNINGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
# One per tests/fuzz/NAME_fuzz.c, which tools/fuzz runs, each built by
# its rule below.
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/*_fuzz.c))
# How sets and records are written, and what that needs.
FUZZ_FORMAT := userspace/common/format.c userspace/lib/protocol.c \
	userspace/common/format.h userspace/lib/protocol.h
# LVM names and uuids, and what links with them.
FUZZ_LVM := userspace/common/lvm.c userspace/common/lvm_command.c \
	userspace/common/files_limit.c userspace/common/lvm.h

fuzz-build: $(FUZZERS)

$(BUILD)/fuzz/protocol_fuzz: tests/fuzz/protocol_fuzz.c userspace/lib/protocol.c \
		userspace/lib/protocol.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(LIB_LIBS)

$(BUILD)/fuzz/event_fuzz: tests/fuzz/event_fuzz.c userspace/lib/protocol.c \
		userspace/common/device.c userspace/common/format.c \
		userspace/lib/protocol.h userspace/common/device.h \
		userspace/common/format.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(LIB_LIBS) -lblkid -ldevmapper -luuid -lm

$(BUILD)/fuzz/config_fuzz: tests/fuzz/config_fuzz.c userspace/daemon/config.c \
		userspace/daemon/config.h $(FUZZ_FORMAT)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(LIB_LIBS) -linih -luuid -lm

$(BUILD)/fuzz/record_fuzz: tests/fuzz/record_fuzz.c userspace/common/module.c \
		userspace/common/module.h $(FUZZ_LVM) $(FUZZ_FORMAT)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(LIB_LIBS) -luuid -lm

$(BUILD)/fuzz/run_args_fuzz: tests/fuzz/run_args_fuzz.c \
		userspace/snapset/run_args.c userspace/snapset/run.h \
		userspace/common/spec.c userspace/common/spec.h \
		userspace/common/device.c $(FUZZ_LVM) $(FUZZ_FORMAT)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(LIB_LIBS) -lblkid \
		-ldevmapper -luuid -lm

$(BUILD)/fuzz/control_fuzz: tests/fuzz/control_fuzz.c \
		userspace/snapset/control.c userspace/snapset/control.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

fuzz: fuzz-build
	tools/fuzz $(FUZZ_SECONDS)

# Benchmarks (bench/): run in the stock guest by tools/bench.
BENCH_LIBS := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c) -lm
# What the timed programs share (bench/common.c) and what it needs.
BENCH_COMMON := bench/common.c bench/common.h \
	$(BUILD)/userspace/common/module.o $(BUILD)/userspace/common/lvm.o \
	$(BUILD)/userspace/common/lvm_command.o \
	$(BUILD)/userspace/common/files_limit.o

bench-build: $(BUILD)/bench/latency $(BUILD)/bench/report \
	$(BUILD)/bench/fanout
# Scale (issue 15 item 3): many live sets, their time and kernel memory.
bench-build: $(BUILD)/bench/scale

# The daemon at idle and the release of a killed run's LV (items 4, 5).
bench-build: $(BUILD)/bench/idle $(BUILD)/bench/release

$(BUILD)/bench/idle: bench/idle.c $(BUILD)/libsnapset.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c %.a,$^) $(BENCH_LIBS)

$(BUILD)/bench/release: bench/release.c $(BENCH_COMMON)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c %.o,$^) $(BENCH_LIBS)

$(BUILD)/bench/latency: bench/latency.c $(BENCH_COMMON) $(BUILD)/libsnapset.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(BENCH_LIBS)

$(BUILD)/bench/scale: bench/scale.c $(BENCH_COMMON)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c %.o,$^) $(BENCH_LIBS)

# Fan-out to N writers against a reference epoll notifier (bench/fanout.c).
$(BUILD)/bench/fanout: bench/fanout.c bench/fanout_ref.c bench/fanout.h \
		$(BENCH_COMMON)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c %.o,$^) $(BENCH_LIBS)

$(BUILD)/bench/report: bench/report.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ $< $(BENCH_LIBS)

bench: deps
	$(MAKE) module program bench-build
	tools/bench

check: deps
	$(MAKE) all unit-tests sanitize-build fuzz-build module-6.12 \
		debug-module bench-build
	tools/check

check-fast: deps
	$(MAKE) all unit-tests sanitize-build fuzz-build module-6.12 \
		bench-build
	tools/check --fast

lint: $(KTOOLS)/.extracted module
	tools/lint

demo: deps
	$(MAKE) module program
	tools/demo

chaos: deps
	$(MAKE) module program
	tools/chaos

PREFIX ?= /usr
LIBDIR ?= $(PREFIX)/lib/$(shell $(CC) -print-multiarch)
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/snapset
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= /lib/systemd/system
UDEVRULESDIR ?= /lib/udev/rules.d
GENERATORDIR ?= /lib/systemd/system-generators
# LOAD_AT_BOOT=1 also installs /lib/modules-load.d/snapset.conf, which
# loads the module at boot. Opt-in: the daemon's unit loads it itself.
MODULESLOADDIR ?= /lib/modules-load.d
LOAD_AT_BOOT ?=
# Where kbuild's modules_install puts the module: INSTALL_MOD_DIR, then
# the module's directory.
MODULE_DIR := /lib/modules/$(KVER)/extra

# What install-program puts, all of it, so that uninstall removes
# exactly that: the example configuration goes to the documentation, not
# /etc, which is the administrator's (the daemon runs on its defaults
# without /etc/snapset/snapset.conf). The documentation is the users':
# the test rig's and the kernels' notes stay in the source tree.
USER_DOCS := README.md docs/cli.md docs/uapi.md docs/writer-protocol.md \
	docs/design.md docs/benchmarks.md
DOCS := $(notdir $(USER_DOCS)) snapset.conf.example job.conf.example
BACKUP_UNITS := snapset-backup@.service snapset-backup@.timer
PROGRAM_FILES := $(PREFIX)/sbin/snapset $(LIBDIR)/$(LIB_SONAME) \
	$(LIBDIR)/libsnapset.so $(LIBDIR)/libsnapset.a \
	$(LIBDIR)/pkgconfig/snapset.pc $(PREFIX)/include/snapset/writer.h \
	$(UNITDIR)/snapset.service $(UDEVRULESDIR)/60-snapset.rules \
	$(addprefix $(UNITDIR)/,$(BACKUP_UNITS)) \
	$(GENERATORDIR)/snapset-jobs-generator \
	$(BASHCOMPDIR)/snapset $(MODULESLOADDIR)/snapset.conf \
	$(addprefix $(DOCDIR)/,$(DOCS))
MAN_FILES = $(foreach page,$(MAN_PAGES),\
	$(MANDIR)/man$(subst .,,$(suffix $(page)))/$(notdir $(page)))

install: install-module install-program install-man

# Debian's headers have no System.map, so kbuild skips depmod: run it
# when installing into the running system.
install-module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		modules_install
	$(if $(DESTDIR),,depmod $(KVER))

install-program:
	install -D -m 0755 $(BUILD)/snapset $(DESTDIR)$(PREFIX)/sbin/snapset
	install -D -m 0644 $(BUILD)/$(LIB_SONAME) \
		$(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libsnapset.so
	install -m 0644 $(BUILD)/libsnapset.a $(DESTDIR)$(LIBDIR)/
	install -D -m 0644 include/snapset/writer.h \
		$(DESTDIR)$(PREFIX)/include/snapset/writer.h
	for unit in snapset.service $(BACKUP_UNITS); do \
		mkdir -p $(DESTDIR)$(UNITDIR) && \
		sed 's|@SBINDIR@|$(PREFIX)/sbin|' packaging/$$unit \
			>$(DESTDIR)$(UNITDIR)/$$unit && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit || exit; \
	done
	install -D -m 0755 -t $(DESTDIR)$(GENERATORDIR) \
		packaging/snapset-jobs-generator
	install -D -m 0644 packaging/60-snapset.rules \
		$(DESTDIR)$(UDEVRULESDIR)/60-snapset.rules
	install -D -m 0644 -t $(DESTDIR)$(DOCDIR) $(USER_DOCS)
	install -D -m 0644 packaging/snapset.conf \
		$(DESTDIR)$(DOCDIR)/snapset.conf.example
	install -m 0644 packaging/job.conf $(DESTDIR)$(DOCDIR)/job.conf.example
	install -D -m 0644 packaging/snapset.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/snapset
	$(if $(filter 1 yes,$(LOAD_AT_BOOT)),install -D -m 0644 \
		packaging/modules-load.conf \
		$(DESTDIR)$(MODULESLOADDIR)/snapset.conf)
	mkdir -p $(DESTDIR)$(LIBDIR)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' userspace/lib/snapset.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/snapset.pc

install-man: man
	for page in $(MAN_PAGES); do \
		install -D -m 0644 $$page \
			$(DESTDIR)$(MANDIR)/man$${page##*.}/$${page##*/} || exit; \
	done

# Removes what install put (LOAD_AT_BOOT's file whether or not it was
# asked for), then the directories that are snapset's own when they are
# empty; directories shared with other software stay.
uninstall: uninstall-module uninstall-program

uninstall-module:
	rm -f $(DESTDIR)$(MODULE_DIR)/module/snapset.ko*
	rmdir $(DESTDIR)$(MODULE_DIR)/module $(DESTDIR)$(MODULE_DIR) \
		2>/dev/null || true
	$(if $(DESTDIR),,depmod $(KVER))

uninstall-program:
	rm -f $(addprefix $(DESTDIR),$(PROGRAM_FILES) $(MAN_FILES))
	rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PREFIX)/include/snapset \
		2>/dev/null || true

# What DKMS needs to build the module for any kernel: sources, Kbuild
# files, the UAPI header and VERSION.
DKMS_SRC := $(DESTDIR)/usr/src/snapset-$(VERSION)
DKMS_FILES := Kbuild VERSION module/Kbuild include/uapi/linux/snapset.h \
	$(filter-out %.mod.c,$(wildcard module/*.c)) \
	$(filter-out module/features.h,$(wildcard module/*.h)) \
	$(wildcard module/probes/*.c)

dkms-source:
	for f in $(DKMS_FILES); do install -D -m 0644 $$f $(DKMS_SRC)/$$f; done
	install -D -m 0755 module/probes/generate.sh \
		$(DKMS_SRC)/module/probes/generate.sh
	sed 's|@VERSION@|$(VERSION)|' packaging/dkms.conf.in \
		> $(DKMS_SRC)/dkms.conf

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)

-include $(PROGRAM_OBJS:.o=.d) $(UNIT_TESTS:=.d)
