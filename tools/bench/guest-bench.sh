#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench` (tools/bench/bench.sh): C and Rust PAGEMAP_SCAN
# side by side in one boot, plus the read(pagemap) / soft-dirty baseline,
# and read(pagemap) itself C against Rust on READ_WORKLOADS.
#
# For every workload: a warm-up run per implementation (printed as
# "pmbench-warm", not used), then ROUNDS rounds of one run per
# implementation, alternating the order (C Rust, Rust C, ...) so that a
# drift of the machine does not favour either, then the baseline. Every run
# is a fresh process with REPS timed reps. The module stays loaded; the
# switch is the sysfs file. Each run checks that the ioctls went where they
# should (the Rust handler's call counter).
. /pmscan/guest-lib.sh
. /pmscan/bench-config.sh
B=/pmscan/bin/pagemap_bench
export PMBENCH_SCALE=${SCALE:-1}
cd /tmp

echo "pmbench-env clock=${CLOCK:-?} scale=$PMBENCH_SCALE rounds=$ROUNDS reps=$REPS base_reps=$BASE_REPS kernel=$(uname -r) cpus=$(nproc) hugetlb_free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages) thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled)"

# switch IMPL: route PAGEMAP_SCAN to IMPL, loading the module once. (Not
# guest-lib's select_impl: its load_rust fails when the module is loaded
# but switched to C, so it cannot go back to Rust.)
switch() {
	if [ "$1" = rust ] && ! grep -q '^pagemap_scan_rs ' /proc/modules; then
		insmod $MODULE || return 1
	fi
	echo "$1" > $SYSFS/impl && [ "$(impl_now)" = "$1" ]
}

if ! switch rust; then
	echo "pmbench-error cannot load the Rust module"
	exit 1
fi

# run IMPL ARGS...: one benchmark process on IMPL.
run() {
	impl=$1
	shift
	if ! switch "$impl"; then
		echo "pmbench-error cannot select $impl"
		return 1
	fi
	before=$(rust_served)
	$B --impl-label "$impl" "$@"
	rc=$?
	calls=$(( $(rust_served) - before ))
	if [ $rc -ne 0 ]; then
		echo "pmbench-error $* on $impl: exit status $rc"
	fi
	if { [ "$impl" = rust ] && [ $calls -eq 0 ]; } || { [ "$impl" = c ] && [ $calls -ne 0 ]; }; then
		echo "pmbench-error $* on $impl: the Rust handler served $calls ioctls and reads"
	fi
	return $rc
}

status=0
for w in $WORKLOADS; do
	echo "pmbench-workload $w $($B --list | sed -n "s/^$w  *//p")"
	for impl in c rust; do
		run $impl --workload "$w" --reps 1 --scale "$WARM_SCALE" | sed 's/^pmbench /pmbench-warm /'
	done
	r=1
	while [ $r -le "$ROUNDS" ]; do
		if [ $((r % 2)) = 1 ]; then order="c rust"; else order="rust c"; fi
		for impl in $order; do
			run $impl --workload "$w" --reps "$REPS" || status=1
		done
		r=$((r + 1))
	done
	switch c
	$B --workload "$w" --method read --reps "$BASE_REPS" || status=1
done
# read(pagemap) itself, C against Rust: rows "read-NAME", the read() calls
# alone (--raw).
for w in $READ_WORKLOADS; do
	echo "pmbench-workload read-$w read(pagemap): $($B --list | sed -n "s/^$w  *//p")"
	for impl in c rust; do
		run $impl --workload "$w" --method read --raw --row "read-$w" --reps 1 \
			--scale "$WARM_SCALE" | sed 's/^pmbench /pmbench-warm /'
	done
	r=1
	while [ $r -le "$ROUNDS" ]; do
		if [ $((r % 2)) = 1 ]; then order="c rust"; else order="rust c"; fi
		for impl in $order; do
			run $impl --workload "$w" --method read --raw --row "read-$w" \
				--reps "$REPS" || status=1
		done
		r=$((r + 1))
	done
done
unload_rust
exit $status
