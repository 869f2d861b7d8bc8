#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make check`: every suite on the C implementation, then the
# same on the Rust module, in one boot.
. /pmscan/guest-lib.sh
. /pmscan/config.sh
cd /tmp
# The crate's tests fail instead of skipping when a feature is missing.
export PAGEMAP_SCAN_REQUIRE_ALL=1

# KUnit: the kernel crate's doctests ran at boot (CONFIG_RUST_KERNEL_DOCTESTS).
kunit=$(dmesg | sed -n 's/.*# rust_doctests_kernel: pass:\([0-9]*\) fail:\([0-9]*\) skip:\([0-9]*\).*/\1 \2 \3/p' | tail -1)
if [ -n "$kunit" ]; then
	set -- $kunit
	echo "suite: rust_doctests_kernel impl=kunit pass=$1 fail=$2 skip=$3"
else
	echo "suite: rust_doctests_kernel impl=kunit pass=0 fail=1 skip=0"
fi

if [ "${FUZZ_ONLY:-0}" != 1 ]; then
	for impl in c rust; do
		run_ksft pagemap_ioctl $impl /pmscan/bin/pagemap_ioctl
		run_ksft walk_end $impl /pmscan/bin/walk_end
		run_libtest pagemap-scan-crate $impl \
			/pmscan/bin/pagemap-scan-tests --test-threads=1
		run_programs samples $impl /pmscan/bin/write-watch \
			/pmscan/bin/dirty-harvest /pmscan/bin/predump
	done
	unload_under_load 20
fi
unload_rust
exit 0
