#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The performance regression guard (issue #23): a short run of a few
# workloads on the icount clock (guest instructions: repeatable, whatever
# the host load), whose Rust/C ratios must stay at or below the bounds
# recorded in tools/bench/guard-bounds.txt for this tree. A change that
# costs instructions in the walk is then seen by `make check-perf` (and CI)
# when it is made, not a benchmark later.
#
# Usage: guard.sh PAYLOAD. Prints one line per workload, a suite line and
# "N passed, N failed"; exits non-zero on any failure (a ratio above its
# bound, a workload without a figure, C and Rust results that differ, a
# failed boot).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
[ $# -eq 1 ] || { echo "usage: $0 PAYLOAD" >&2; exit 2; }
BOUNDS=$REPO/tools/bench/guard-bounds.txt
OUT=${BENCH_OUT:-$REPO/out/bench-guard-$KVER${KARCHTAG:+-${KARCHTAG%-}}}

# The bounds of this tree and architecture: "6.12" (x86_64), or
# "6.12/arm64-4k" and the like.
key=$KVER
[ "$KARCH" = x86_64 ] || key=$KVER/${KARCHTAG%-}
workloads=$(awk -v k="$key" '$1 == k { printf "%s ", $2 }' "$BOUNDS")
[ -n "$workloads" ] || { echo "no bounds for $key in $BOUNDS" >&2; exit 2; }

# Rows read-NAME are read(pagemap) of workload NAME.
scan_workloads= read_workloads=
for w in $workloads; do
	case $w in
	read-*) read_workloads="$read_workloads ${w#read-}" ;;
	*) scan_workloads="$scan_workloads $w" ;;
	esac
done

# One round of one rep each: on the icount clock a rep repeats to 0.1%.
BENCH_OUT=$OUT BENCH_CLOCKS=icount BENCH_WORKLOADS="$scan_workloads" \
	BENCH_READ_WORKLOADS="$read_workloads" BENCH_ROUNDS=1 \
	BENCH_REPS=1 BENCH_BASE_REPS=1 "$REPO/tools/bench/bench.sh" "$1"
rc=$?

pass=0 fail=0
if [ $rc -ne 0 ]; then
	echo "not ok - bench run: failed or C and Rust results differ (see $OUT)"
	fail=$((fail + 1))
fi
for w in $workloads; do
	bound=$(awk -v k="$key" -v w="$w" '$1 == k && $2 == w { print $3 }' "$BOUNDS")
	ratio=$(awk -F, -v w="$w" '$1 == "icount" && $2 == w { print $7 }' "$OUT/summary.csv" 2>/dev/null)
	if [ -z "$ratio" ]; then
		echo "not ok - $w: no icount figure"
		fail=$((fail + 1))
	elif awk -v r="$ratio" -v b="$bound" 'BEGIN { exit !(r <= b) }'; then
		printf 'ok - %s: Rust/C %.3f <= %s\n' "$w" "$ratio" "$bound"
		pass=$((pass + 1))
	else
		printf 'not ok - %s: Rust/C %.3f > %s, the recorded bound (tools/bench/guard-bounds.txt)\n' \
			"$w" "$ratio" "$bound"
		fail=$((fail + 1))
	fi
done
echo "suite: perfguard impl=rust-vs-c pass=$pass fail=$fail skip=0"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
