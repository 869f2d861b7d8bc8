#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the PAGEMAP_SCAN test programs and relay their output (busybox sh).
#
#   run_all.sh [--impl c|rust|both] [--fuzz "ARGS"] [--only suite|badinput|fuzz|huge1g]...
#
# Defaults: with the guest's implementation switch present, the suite and the
# bad-input table run once per implementation (--impl both) and the fuzzer
# compares C with Rust ("--impl-a c --impl-b rust --cases 20000 --time 110").
# Without the switch (host), they run against the built-in C and the fuzzer
# runs in --self mode. pagemap_scan_huge1g runs when it was built
# (PMSCAN_HUGE_1G=1), on hugetlb pages of PMSCAN_HUGE_SIZE (default 1G;
# 512M with arm64's 64K pages). The exit status is non-zero when any
# program failed.
# Environment: PMSCAN_EXT2_DIR, PMSCAN_HUGETLBFS, PMSCAN_BIN (binary dir),
# PMSCAN_HUGE_SIZE.

BIN=${PMSCAN_BIN:-$(dirname "$0")}
SWITCH=/sys/kernel/mm/pagemap_scan/impl
IMPL=
FUZZ=
ONLY=

while [ $# -gt 0 ]; do
	case "$1" in
	--impl) IMPL=$2; shift 2 ;;
	--fuzz) FUZZ=$2; shift 2 ;;
	--only) ONLY="$ONLY $2"; shift 2 ;;
	*) echo "usage: $0 [--impl c|rust|both] [--fuzz ARGS] [--only NAME]..." >&2; exit 2 ;;
	esac
done

if [ -e "$SWITCH" ]; then
	: "${IMPL:=both}"
	: "${FUZZ:=--impl-a c --impl-b rust --cases 20000 --time 110}"
else
	# No switch (host): the built-in C. An explicit --impl is passed on
	# so that asking for rust fails loudly instead of testing C.
	: "${IMPL:=none}"
	: "${FUZZ:=--self --cases 20000 --time 110}"
fi

want() {
	[ -z "$ONLY" ] && return 0
	case " $ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

FAILED=
run() {
	name=$1; shift
	echo "# ==== $name $*"
	"$BIN/$name" "$@"
	rc=$?
	echo "# ==== $name exit status $rc"
	[ $rc -eq 0 ] || FAILED="$FAILED $name($*)"
}

impls() {
	case "$IMPL" in
	both) echo "c rust" ;;
	none) echo "-" ;;
	*) echo "$IMPL" ;;
	esac
}

for impl in $(impls); do
	if [ "$impl" = - ]; then set --; else set -- --impl "$impl"; fi
	want suite && run pagemap_scan_test "$@"
	want badinput && run pagemap_scan_badinput "$@"
	if [ -x "$BIN/pagemap_scan_huge1g" ] && want huge1g; then
		run pagemap_scan_huge1g "$@" --size "${PMSCAN_HUGE_SIZE:-1G}"
	fi
done
# shellcheck disable=SC2086
want fuzz && run pagemap_scan_difffuzz $FUZZ
[ -e "$SWITCH" ] && echo c > "$SWITCH" 2>/dev/null

if [ -n "$FAILED" ]; then
	echo "# run_all: FAILED:$FAILED"
	exit 1
fi
echo "# run_all: all passed"
exit 0
