#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-all`: `make check` on every cell of the matrix, both trees
# times x86_64, arm64 with 4K pages and arm64 with 64K pages, one after
# the other (each cell builds its own kernel on first use). Prints each
# cell's last line and time, then the sum: "N passed, N failed".
#
#   CHECK_ALL_CELLS   the cells to run, KVER:ARCH:KPAGES words (default:
#                     all six)
set -uo pipefail
cd "$(dirname "$0")/../.."

cells=${CHECK_ALL_CELLS:-"6.12:x86_64:4K 7.3:x86_64:4K 6.12:arm64:4K 7.3:arm64:4K 6.12:arm64:64K 7.3:arm64:64K"}
total_pass=0 total_fail=0
summary=()
for cell in $cells; do
	IFS=: read -r kver arch pages <<< "$cell"
	log=/tmp/check-all-$kver-$arch-$pages.log
	echo "=== make check KVER=$kver ARCH=$arch KPAGES=$pages"
	t0=$SECONDS
	make --no-print-directory check KVER="$kver" ARCH="$arch" KPAGES="$pages" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	summary+=("$(printf '%-5s %-7s %-4s %5d s  %d passed, %d failed' "$kver" "$arch" "$pages" \
		$((SECONDS - t0)) "$p" "$f")")
done
echo
echo "=== check-all"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
