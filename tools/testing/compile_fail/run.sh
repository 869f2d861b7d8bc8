#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Misuses of the mm walk abstractions that must be compile errors (the 6.12
# kernel's doctests cannot be `compile_fail`). Each case NAME.rs names the
# rustc error it must fail with ("// expect: EXXXX"); it is built as an
# out-of-tree module against the kernel build tree. Prints one TAP-ish line
# per case and exits non-zero if any case built or failed otherwise.
#
# Usage: run.sh KSRC KOUT
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KSRC=$1 KOUT=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
for case in "$HERE"/*.rs; do
	name=$(basename "$case" .rs)
	want=$(sed -n 's|^// expect: \([a-zE0-9]*\)$|\1|p' "$case")
	rm -rf "$tmp/m" && mkdir -p "$tmp/m"
	# Named as the real module: on 7.3 the mm internals the walk generics
	# call are exported to pagemap_scan_rs only (EXPORT_SYMBOL_FOR_MODULES),
	# which modpost checks for the case that must build.
	echo "obj-m := pagemap_scan_rs.o" > "$tmp/m/Kbuild"
	cat "$HERE/prelude.rs.in" "$case" > "$tmp/m/pagemap_scan_rs.rs"
	if make -s -C "$KSRC" O="$KOUT" ARCH="${KARCH:-x86_64}" LLVM="${KLLVM:--19}" M="$tmp/m" modules \
		> "$tmp/out" 2>&1; then
		if [ "$want" = build ]; then
			echo "ok - $name: builds"
		else
			echo "not ok - $name: built, but must fail with $want"
			bad=1
		fi
	elif [ "$want" = build ]; then
		echo "not ok - $name: must build:"
		grep -m5 -A5 '^error' "$tmp/out"
		bad=1
	elif [ -n "$want" ] && grep -q "error\[$want\]" "$tmp/out"; then
		echo "ok - $name: $want"
	else
		echo "not ok - $name: failed, but not with $want:"
		grep -m5 '^error' "$tmp/out"
		bad=1
	fi
done
exit $bad
