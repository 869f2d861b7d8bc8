#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make check`: every suite on the C implementation, then the
# same on the Rust module, in one boot; then the reliability tests and the
# differential fuzzer. config.sh selects FUZZ_ONLY / STRESS_ONLY runs.
. /pmscan/guest-lib.sh
. /pmscan/guest-criu.sh
. /pmscan/config.sh
# The answers of the tree's C that the suites follow (tools/tree/facts.py).
. /pmscan/tree-facts.sh
echo "tree under test: $PMSCAN_TREE_ID (kernel $(uname -r), ${KARCH:-x86_64}, ${KPAGES:-4K} pages)"
# The biggest hugetlb page the guest reserves (tools/vm/run.sh): 1 GiB
# (PUD) with 4K pages, 512 MiB (PMD) with arm64's 64K pages, which have no
# PUD-level page with 48-bit addresses.
HUGE_BIG=1G
[ "${KPAGES:-4K}" != 64K ] || HUGE_BIG=512M
cd /tmp
# The crate's tests fail instead of skipping when a feature is missing.
export PAGEMAP_SCAN_REQUIRE_ALL=1

if [ "${KUNIT_ONLY:-0}" = 1 ]; then
	# The kernel crate's doctests only (make check-debug-kunit).
	if [ "${KUNIT_DOCTESTS:-0}" = 1 ]; then
		kunit_suite rust_doctests_kernel
	else
		echo "suite: rust_doctests_kernel impl=kunit pass=0 fail=1 skip=0"
		echo "# this kernel was built without CONFIG_RUST_KERNEL_DOCTESTS"
	fi
	exit 0
fi

if [ "${STRESS_ONLY:-0}" = 1 ]; then
	stress_run "$STRESS_SECONDS"
	unload_rust
	exit 0
fi

if [ "${FUZZ_ONLY:-0}" != 1 ]; then
	# KUnit: the kernel crate's doctests ran at boot (not configured in
	# 6.12's debug variant, see tools/kconfig/debug.config; 7.3's runs
	# them under lockdep and KASAN, tools/kconfig/7.3-debug.config).
	[ "${KUNIT_DOCTESTS:-1}" = 0 ] || kunit_suite rust_doctests_kernel

	# The hook by itself, with a C handler, before any other handler
	# is loaded.
	# (Not on the builtin kernel, whose Rust handler is registered from
	# boot: a second handler cannot register, by design.)
	if [ "$KVARIANT" = builtin ]; then
		echo "# builtin kernel: no hook_ctest, unload_race, unload_blocked (module lifecycle)"
	elif [ -f /pmscan/pagemap_scan_ctest.ko ] && select_impl c; then
		/pmscan/bin/hook_ctest /pmscan/pagemap_scan_ctest.ko > /tmp/hook_ctest.out 2>&1
		rc=$?
		cat /tmp/hook_ctest.out
		emit_suite hook_ctest c /tmp/hook_ctest.out $rc
	fi

	for impl in c rust; do
		run_ksft pagemap_ioctl $impl /pmscan/bin/pagemap_ioctl
		# Upstream's other PAGEMAP_SCAN tests, on the trees that have
		# them (7.3): guard markers, uffd read-write protection.
		if [ -x /pmscan/bin/guard-regions ]; then
			run_ksft guard_regions_pagemap_scan $impl /pmscan/bin/guard-regions -t pagemap_scan
			run_ksft guard_regions_pagemap $impl /pmscan/bin/guard-regions -t pagemap
		fi
		# Upstream tests that read() pagemap (vm_util.c), served by
		# the Rust handler too.
		# arm64 has no soft-dirty bits (no HAVE_ARCH_SOFT_DIRTY): the
		# upstream test would skip all of it. The suites of this
		# project check instead that nothing is reported soft-dirty.
		if [ "${KARCH:-x86_64}" = x86_64 ]; then
			run_ksft soft_dirty $impl /pmscan/bin/soft-dirty
		else
			echo "# soft_dirty ($impl): not run, $KARCH has no soft-dirty bits"
		fi
		run_ksft madv_populate $impl /pmscan/bin/madv_populate
		if [ -x /pmscan/bin/uffd-unit-tests ]; then
			run_ksft uffd_rwp_pagemap $impl /pmscan/bin/uffd-unit-tests -f rwp-pagemap
			run_ksft uffd_rwp_mprotect $impl /pmscan/bin/uffd-unit-tests -f rwp-mprotect
		fi
		run_ksft walk_end $impl /pmscan/bin/walk_end
		# The selftest of the C fixes (patches/upstream): the behaviour
		# the Rust walk has; C passes it only with the series applied
		# (CFIXED=1), and then it runs on C too.
		if [ "$impl" = rust ] || { c_has_fix walk_end_flush &&
			c_has_fix walk_end_thp && c_has_fix merge_flush &&
			c_has_fix migration_wp; }; then
			run_ksft pagemap_scan_walk $impl /pmscan/bin/pagemap_scan_walk
		fi
		run_ksft pass_boundary $impl /pmscan/bin/pass_boundary
		# C write-protecting a writable migration entry is the very
		# thing CONFIG_PAGE_TABLE_CHECK warns about: C's side of this
		# pin runs on the default kernel only, unless the C has the
		# fix (patches/upstream, 0004).
		if [ "$impl" = rust ] || [ "$KVARIANT" != debug ] ||
			c_has_fix migration_wp; then
			run_ksft migrate_wp $impl /pmscan/bin/migrate_wp
		fi
		# Read-only scans against THP splits, migrations and collapses
		# (the Rust walk reads a THP's PMD without its lock).
		run_ksft thp_race $impl /pmscan/bin/thp_race "${THP_RACE_SECONDS:-15}"
		run_ksft pagemap_scan_test $impl /pmscan/bin/pagemap_scan_test --impl $impl
		# The biggest hugetlb page: the guest must have one (a skip
		# fails).
		run_ksft pagemap_scan_huge1g $impl /pmscan/bin/pagemap_scan_huge1g --impl $impl \
			--size $HUGE_BIG
		run_ksft pagemap_scan_badinput $impl /pmscan/bin/pagemap_scan_badinput --impl $impl
		run_ksft perms $impl /pmscan/bin/perms "${PERMS_SCANS:-200000}"
		run_libtest pagemap-scan-crate $impl /pmscan/bin/pagemap-scan-tests --test-threads=1
		run_programs samples $impl /pmscan/bin/write-watch \
			/pmscan/bin/dirty-harvest /pmscan/bin/predump
	done
	# CRIU checkpoints and restores a process through C, then Rust.
	if [ "${CRIU_SUITE:-0}" = 1 ]; then
		criu_suite c
		criu_suite rust
		criu_umount
	fi
	if [ "$KVARIANT" != builtin ]; then
		unload_under_load 20
		# A scan sleeping in a user fault pins the module: rmmod fails fast.
		run_ksft unload_blocked rust /pmscan/bin/unload_blocked pagemap_scan_rs
	fi
	stress_run "$STRESS_SECONDS"
fi

# The two copies the fuzzer compares must not diverge behind its back:
# keep khugepaged from collapsing one copy and not the other, and proactive
# compaction from migrating pages of one copy, meanwhile (the stress test
# above runs with both active). The fuzzer still re-checks and reports what
# the kernel does on its own.
KHP=/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs
CPRO=/proc/sys/vm/compaction_proactiveness
khp=$(cat $KHP)
cpro=$(cat $CPRO)
if [ "${FUZZ_NOISE:-0}" = 1 ]; then
	# Test of the fuzzer's own guards: khugepaged and compaction as busy
	# as they get, so the copies do change behind the fuzzer's back.
	echo 1 > $KHP
	echo 100 > $CPRO
else
	echo 86400000 > $KHP
	echo 0 > $CPRO
fi
run_ksft difffuzz rust-vs-c /pmscan/bin/pagemap_scan_difffuzz \
	--impl-a c --impl-b rust --cases "$FUZZ_CASES" --time "${FUZZ_TIME:-0}" \
	${FUZZ_SEED:+--seed "$FUZZ_SEED"}
echo "$khp" > $KHP
echo "$cpro" > $CPRO
unload_rust
exit 0
