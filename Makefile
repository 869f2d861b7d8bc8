# SPDX-License-Identifier: GPL-2.0
#
# Top-level targets of the PAGEMAP_SCAN-in-Rust project. The module itself is
# described by ./Kbuild; this Makefile drives setup, the kernel tree in a
# cache directory, the guest and the tests. See Documentation/pipeline.rst.

KCACHE   ?= $(HOME)/.cache/pmscan
KVARIANT ?= default
# The kernel tree: 6.12 (Debian 12's linux-source-6.12, the default) or 7.3
# (trixie-backports' linux-source-7.3, fetched by setup). Per-tree settings
# are in tools/kver.sh.
KVER     ?= 6.12
# CFIXED=1: the tree's C with the upstream fix series applied
# (patches/upstream, Documentation/c-fixes.rst), in a tree and builds of
# its own; the tests then expect C == Rust where C had a documented defect.
CFIXED   ?= 0
# The guest's architecture: x86_64 (the default) or arm64, and on arm64 the
# page size, KPAGES=4K (the default) or 64K (tools/kver.sh).
ARCH     ?= x86_64
KPAGES   ?= 4K
export KCACHE KVARIANT KVER CFIXED ARCH KPAGES

kver     = $(shell KVER=$(KVER) KCACHE=$(KCACHE) KVARIANT=$(KVARIANT) CFIXED=$(CFIXED) ARCH=$(ARCH) KPAGES=$(KPAGES) tools/kver.sh $(1))
KSRC    := $(call kver,KSRC)
KOUT    := $(call kver,KOUT)
KLLVM   := $(call kver,KLLVM)
KARCH   := $(call kver,KARCH)
# The C compiler of the guest's static test programs.
KCC     := $(call kver,KCC)
KSELFTEST_PAGEMAP := $(call kver,KSELFTEST_PAGEMAP)
OUT     ?= $(CURDIR)/out/$(call kver,OUTTAG)
PAYLOAD := $(OUT)/payload
KHDR    := $(KOUT)/usr-headers
KMAKE    = LIBCLANG_PATH=$(call kver,KLIBCLANG) $(MAKE) -C $(KSRC) O=$(KOUT) ARCH=$(KARCH) LLVM=$(KLLVM)
VMRUN    = tools/vm/run.sh
SELFTEST_MM := $(KSRC)/tools/testing/selftests/mm
ifeq ($(KSRC),)
$(error KVER=$(KVER): unknown kernel tree (6.12 or 7.3))
endif

# Fuzz budget inside `make check`; `make fuzz FUZZ_CASES=...` for more.
# With arm64's 64K pages a case maps PMD-scaled layouts (512 MiB THPs) and
# takes about four times as long: 5000 cases there.
ifeq ($(call kver,KARCH)-$(call kver,KPAGES),arm64-64K)
FUZZ_CASES ?= 5000
else
FUZZ_CASES ?= 20000
endif
DEBUG_FUZZ_CASES ?= 5000

.PHONY: all setup kernel module payload check check-debug check-perf run shell fuzz stress lint clean help

all: module

help:
	@echo "make run      set up, build, boot the guest, run the demo"
	@echo "make check    set up, build, run every test in the guest"
	@echo "make check-builtin  the same with the Rust handler built into the kernel"
	@echo "make shell    interactive guest shell (module and tests in /pmscan)"
	@echo "make fuzz     differential fuzzer, FUZZ_CASES=N (default $(FUZZ_CASES))"
	@echo "make bench    Rust vs C vs read(pagemap) benchmark, tables and plot in out/bench"
	@echo "make bench-scaling  time per scan against range size (2^12..2^20 pages), out/bench/scaling.png"
	@echo "make check-perf  regression guard: Rust/C instruction ratios within recorded bounds"
	@echo "make check-all  make check on both trees, x86_64, arm64 4K and arm64 64K"
	@echo "KVER=7.3      any target on the 7.3 tree instead of 6.12 (the default)"
	@echo "ARCH=arm64    any target on an arm64 guest (KPAGES=4K, the default, or 64K)"
	@echo "CFIXED=1      any target with the C fix series (patches/upstream) applied to the tree"

setup:
	@tools/setup.sh

kernel: setup
	@tools/kernel.sh all

# The handler as a module, built out of tree from this checkout (not for
# KVARIANT=builtin, whose kernel has it built in).
# The module's objects live beside its sources, one set for every kernel
# build: kbuild runs in the build directory with relative paths, so two
# builds of one tree that differ only in configuration (arm64 4K and 64K)
# give the same command lines, and it would take the other's objects as up
# to date. A stamp names the build they are of; another build removes them.
# Not with `make M=DIR clean`: that deletes every *.ko, *.o, *.a and .*.cmd
# under DIR, here the whole checkout with out/*/payload and the crates'
# target directories.
# $(1): the module directory, $(2): its object directories, relative to it.
MODULE_STAMP := .pmscan-module-build
MODULE_PRODUCTS := '*.o' '*.ko' '*.mod' '*.mod.c' '*.bc' '.*.cmd' modules.order Module.symvers
define module_for_this_build
	@if [ "$$(cat $(1)/$(MODULE_STAMP) 2>/dev/null)" != "$(KOUT)" ]; then \
		cd $(1) && for d in . $(2); do \
			for f in $(MODULE_PRODUCTS); do find $$d -maxdepth 1 -type f -name "$$f" -delete; done; \
		done && echo "$(KOUT)" > $(MODULE_STAMP); fi
endef

module: kernel
ifneq ($(KVARIANT),builtin)
	$(call module_for_this_build,$(CURDIR),fs/proc)
	$(KMAKE) M=$(CURDIR) modules
endif

# Everything the guest needs, in one directory copied to /pmscan.
payload: module
	@rm -rf $(PAYLOAD) && mkdir -p $(PAYLOAD)/bin
ifneq ($(KVARIANT),builtin)
	cp fs/proc/pagemap_scan_rs.ko $(PAYLOAD)/
endif
	cp tools/testing/guest-lib.sh tools/testing/guest-check.sh tools/testing/guest-demo.sh \
		tools/testing/criu/guest-criu.sh $(PAYLOAD)/
	# What the tree's C answers where a stable update may change it.
	tools/tree/facts.py > $(PAYLOAD)/tree-facts.sh
	# Upstream's pagemap_ioctl with the selftest fixes of
	# tools/testing/selftests/fixes/KVER/ (range sizes as int, which 64K
	# pages overflow), from a copy: the tree stays as shipped.
	mkdir -p $(OUT)/selftests-fixed
	cp $(SELFTEST_MM)/pagemap_ioctl.c $(OUT)/selftests-fixed/
	for p in tools/testing/selftests/fixes/$(KVER)/*.patch; do \
		patch -s -p5 -d $(OUT)/selftests-fixed < $$p || exit 1; done
	# (__FILE__ names the files it creates: the name, not the copy's path.)
	cd $(SELFTEST_MM) && $(KCC) -static -O2 -isystem $(KHDR)/include -I. -I.. -I../../../include \
		-fmacro-prefix-map=$(OUT)/selftests-fixed/= \
		-o $(PAYLOAD)/bin/pagemap_ioctl $(OUT)/selftests-fixed/pagemap_ioctl.c \
		$(filter-out pagemap_ioctl.c,$(KSELFTEST_PAGEMAP)) -lm -lpthread
	# Upstream selftests that read pagemap through vm_util.c: read() is
	# served by the Rust handler too while it is active.
	# (soft-dirty.c needs _GNU_SOURCE, as upstream's Makefile gives it.)
	cd $(SELFTEST_MM) && for t in soft-dirty madv_populate; do \
		$(KCC) -static -O2 $$(grep -q '^#define _GNU_SOURCE' $$t.c || echo -D_GNU_SOURCE) \
		-isystem $(KHDR)/include -I. -I.. -I../../../include \
		-o $(PAYLOAD)/bin/$$t $$t.c $(filter-out pagemap_ioctl.c,$(KSELFTEST_PAGEMAP)) \
		-lm -lpthread || exit 1; done
	# The selftest of the C fixes (patches/upstream, Documentation/c-fixes.rst).
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -I$(SELFTEST_MM) \
		-o $(PAYLOAD)/bin/pagemap_scan_walk tools/testing/selftests/upstream/mm/pagemap_scan_walk.c -lpthread
ifneq ($(KVER),6.12)
	# Upstream's other PAGEMAP_SCAN tests: guard regions, uffd read-write protection.
	cd $(SELFTEST_MM) && $(KCC) -static -O2 -isystem $(KHDR)/include -I. -I.. -I../../../include \
		-o $(PAYLOAD)/bin/guard-regions guard-regions.c vm_util.c hugepage_settings.c -lm -lpthread
	cd $(SELFTEST_MM) && $(KCC) -static -O2 -isystem $(KHDR)/include -I. -I.. -I../../../include \
		-o $(PAYLOAD)/bin/uffd-unit-tests uffd-unit-tests.c uffd-common.c vm_util.c \
		hugepage_settings.c -lm -lpthread
endif
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/pmscan-demo samples/demo/pagemap_scan_demo.c
	# The hook by itself: a C handler module and its test (both trees).
	$(call module_for_this_build,$(CURDIR)/tools/testing/hook/ctest,)
	$(KMAKE) M=$(CURDIR)/tools/testing/hook/ctest modules
	cp tools/testing/hook/ctest/pagemap_scan_ctest.ko $(PAYLOAD)/
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/hook_ctest tools/testing/hook/hook_ctest.c
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/unload_race tools/testing/hook/unload_race.c -lpthread
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/unload_blocked tools/testing/hook/unload_blocked.c -lpthread
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/walk_end tools/testing/hook/walk_end.c
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/pass_boundary tools/testing/hook/pass_boundary.c
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/migrate_wp tools/testing/hook/migrate_wp.c -lpthread
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/perms tools/testing/hook/perms.c
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/thp_race tools/testing/hook/thp_race.c -lpthread
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/pmscan_stress tools/testing/stress/pmscan_stress.c -lpthread
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/criu_pages tools/testing/criu/criu_pages.c \
		tools/testing/criu/criu_fds.c
	@if [ -f tools/testing/selftests/pagemap_scan/Makefile ]; then \
		$(MAKE) -s -C tools/testing/selftests/pagemap_scan KHDR=$(KHDR)/include KSRC=$(KSRC) \
			OUT=$(PAYLOAD)/bin PMSCAN_HUGE_1G=1 CC=$(KCC); fi
	@if [ -x tools/pagemap-scan/build-static.sh ]; then \
		PMSCAN_TARGET=$(call kver,KRUST_TARGET) tools/pagemap-scan/build-static.sh $(PAYLOAD)/bin; fi

check: payload
	@tools/testing/check.sh $(PAYLOAD) $(FUZZ_CASES)

run: payload
	@$(VMRUN) --payload $(PAYLOAD) --log $(OUT)/demo-console.log --timeout 600 tools/testing/guest-demo.sh

shell: payload
	@$(VMRUN) --payload $(PAYLOAD) --shell

fuzz: payload
	@FUZZ_ONLY=1 tools/testing/check.sh $(PAYLOAD) $(FUZZ_CASES)

# Rust vs C vs read(pagemap), one boot per clock (normal, icount); see
# Documentation/benchmark.rst (BENCH_* variables in tools/bench/bench.sh).
.PHONY: bench
bench: payload
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/pagemap_bench tools/bench/pagemap_bench.c
	@tools/bench/bench.sh $(PAYLOAD)

# Time per scan against range size, 2^12 to 2^20 pages, dense and sparse,
# C vs Rust vs read(pagemap), both clocks: out/bench/scaling.png.
SCALING_WORKLOADS := $(foreach k,dense sparse,$(foreach n,12 14 16 18 20,scale-$(k)-$(n)))
.PHONY: bench-scaling
bench-scaling:
	@BENCH_WORKLOADS="$(SCALING_WORKLOADS)" BENCH_READ_WORKLOADS= BENCH_ROUNDS=$${BENCH_ROUNDS:-2} \
		$(MAKE) --no-print-directory bench

# The performance regression guard: every workload once on the icount clock,
# each Rust/C ratio at or below its bound in tools/bench/guard-bounds.txt.
.PHONY: check-perf
check-perf: payload
	$(KCC) -static -O2 -Wall -isystem $(KHDR)/include -o $(PAYLOAD)/bin/pagemap_bench tools/bench/pagemap_bench.c
	@tools/bench/guard.sh $(PAYLOAD)

# Only the stress test, for DURATION seconds.
DURATION ?= 300
stress: payload
	@STRESS_ONLY=1 STRESS_SECONDS=$(DURATION) CHECK_TIMEOUT=$$(( $(DURATION) + 600 )) \
		tools/testing/check.sh $(PAYLOAD) $(FUZZ_CASES)

# The whole suite on the debug kernel (KASAN, lockdep, DEBUG_VM, ...).
# Under TCG the debug kernel is slow: interpreting ACPI AML with KASAN and
# kmemleak alone trips the soft-lockup detector, so the guest boots without
# ACPI (SMP from the MP table) and with the longest watchdog threshold.
DEBUG_VM_APPEND := acpi=off watchdog_thresh=60
check-debug:
	@VM_APPEND="$(DEBUG_VM_APPEND)" PERMS_SCANS=20000 \
		$(MAKE) --no-print-directory KVARIANT=debug FUZZ_CASES=$(DEBUG_FUZZ_CASES) check

# `make check` on every cell: both trees on x86_64, arm64 4K and arm64 64K
# (tools/testing/check-all.sh; CHECK_ALL_CELLS picks some).
.PHONY: check-all
check-all:
	@tools/testing/check-all.sh

# Only the kernel crate's KUnit doctests (the walk API's among them), on
# the debug kernel (lockdep, DEBUG_ATOMIC_SLEEP, KASAN): what CI runs on the
# 7.3 tree, where the whole debug suite would not fit its time.
.PHONY: check-debug-kunit
check-debug-kunit:
	@VM_APPEND="$(DEBUG_VM_APPEND)" KUNIT_ONLY=1 \
		$(MAKE) --no-print-directory KVARIANT=debug check

# The whole suite on the kernel with the Rust handler built in
# (CONFIG_PAGEMAP_SCAN_RUST=y: no export for it), less the module
# lifecycle tests.
.PHONY: check-builtin
check-builtin:
	@$(MAKE) --no-print-directory KVARIANT=builtin check

# rust-project.json for rust-analyzer: the handler and the walk API against
# the configured tree (tools/rust-analyzer.py).
.PHONY: rust-analyzer
rust-analyzer: kernel
	$(KMAKE) -s rust-analyzer
	@tools/rust-analyzer.py

lint: module
	@tools/lint.sh

clean:
	-$(KMAKE) M=$(CURDIR) clean
	-$(KMAKE) M=$(CURDIR)/tools/testing/hook/ctest clean
	rm -rf out
