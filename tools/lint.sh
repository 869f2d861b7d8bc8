#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static checks; prints "suite: lint impl=host pass=N fail=N skip=0".
#  - rustfmt (kernel .rustfmt.toml) on the module and the abstractions
#  - clippy (the kernel's CLIPPY=1 setup) on the module
#  - no `unsafe` in the module and its logic
#  - every `unsafe {` block in rust/kernel has a SAFETY comment above it
#  - misuses of the kernel::mm walk API fail to compile (compile_fail/)
#  - checkpatch --strict on the tree's kernel patches (patches/$KVER), the
#    kernel C (the hook, helpers, headers), the hook/stress/criu tests, the selftests,
#    the benchmark and the demo
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/kver.sh"
cd "$REPO"
pass=0 fail=0
result() {
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi
}

# Each file alone (rustfmt would follow a `mod` line into the tree's own
# files, or miss one that lives elsewhere in this checkout).
rs_files=(fs/proc/pagemap_scan_rs.rs fs/proc/pagemap_scan/logic.rs rust/kernel/pagemap_scan.rs
	rust/kernel/mm/pagewalk.rs rust/kernel/mm/pagewalk/*.rs
	rust/6.12/kernel/mm.rs rust/6.12/kernel/num.rs rust/6.12/kernel/mm/*.rs rust/6.12/kernel/mm/pagewalk/*.rs)
rc=0
: >/tmp/pmscan-rustfmt.out
for f in "${rs_files[@]}"; do
	rustfmt --edition 2021 --check --config-path "$KSRC/.rustfmt.toml" <"$f" >>/tmp/pmscan-rustfmt.out 2>&1 ||
		{ rc=1; echo "rustfmt: $f" >>/tmp/pmscan-rustfmt.out; }
done
[ $rc = 0 ] || cat /tmp/pmscan-rustfmt.out
result $rc "rustfmt ${rs_files[*]}"

rm -f fs/proc/pagemap_scan_rs.o
make -s -C "$KSRC" O="$KOUT" ARCH="$KARCH" LLVM="$KLLVM" M="$REPO" CLIPPY=1 modules >/tmp/pmscan-clippy.out 2>&1
rc=$?
if grep -qE '^(warning|error)' /tmp/pmscan-clippy.out; then rc=1; cat /tmp/pmscan-clippy.out; fi
result $rc "clippy on the module"

! grep -n 'unsafe' fs/proc/pagemap_scan_rs.rs fs/proc/pagemap_scan/logic.rs | grep -v 'forbid(unsafe_code)\|no `unsafe`\|free of `unsafe`'
result $? "no unsafe in the module"

missing=$(awk '
	FNR == 1 { prev = ""; prev2 = "" }
	/unsafe \{/ && $0 !~ /SAFETY/ && prev !~ /SAFETY/ && prev2 !~ /SAFETY/ && prev !~ /^ *\/\// {
		printf "%s:%d\n", FILENAME, FNR
	}
	{ prev2 = prev; prev = $0 }' rust/kernel/pagemap_scan.rs rust/kernel/mm/pagewalk.rs rust/kernel/mm/pagewalk/*.rs \
	rust/6.12/kernel/mm.rs rust/6.12/kernel/num.rs rust/6.12/kernel/mm/*.rs)
[ -z "$missing" ] || echo "unsafe blocks without SAFETY comment: $missing"
result "$([ -z "$missing" ] && echo 0 || echo 1)" "SAFETY comments on unsafe blocks"

# Misuses of the walk abstractions (nested locks, scheduling under a lock,
# leaked guards, forged guards, a leaked notifier) must not compile.
KLLVM=$KLLVM KARCH=$KARCH tools/testing/compile_fail/run.sh "$KSRC" "$KOUT" >/tmp/pmscan-compile-fail.out 2>&1
rc=$?
cat /tmp/pmscan-compile-fail.out
result $rc "compile_fail: misuses of kernel::mm are compile errors"

# Outside the git checkout: inside it checkpatch reads the patch file as a
# change to the repository.
(cd /tmp && perl "$KSRC/scripts/checkpatch.pl" --strict --no-tree --terse -q "$REPO/$KPATCHES"/*.patch) >/tmp/pmscan-cp.out 2>&1
result $? "checkpatch $KPATCHES/"
# The series for upstream (Documentation/c-fixes.rst): outside a kernel git
# tree checkpatch cannot look up the commit its Fixes: tags name.
(cd /tmp && perl "$KSRC/scripts/checkpatch.pl" --strict --no-tree --terse -q --ignore UNKNOWN_COMMIT_ID,FILE_PATH_CHANGES \
	"$REPO"/patches/upstream/*/*.patch "$REPO"/tools/testing/selftests/fixes/*/*.patch) >>/tmp/pmscan-cp.out 2>&1
result $? "checkpatch patches/upstream/ and the selftest fixes"
(cd /tmp && perl "$KSRC/scripts/checkpatch.pl" --strict --no-tree --terse -q -f "$REPO"/fs/proc/pagemap_scan.c "$REPO"/rust/helpers/mm_walk.c "$REPO"/rust/6.12/helpers/*.[ch] \
	"$REPO"/include/linux/*.h "$REPO"/tools/testing/hook/*.[ch] "$REPO"/tools/testing/hook/ctest/pagemap_scan_ctest.c \
	"$REPO"/tools/testing/stress/*.c "$REPO"/tools/testing/criu/*.c \
	"$REPO"/tools/testing/selftests/pagemap_scan/*.[ch] "$REPO"/tools/testing/selftests/upstream/mm/*.c \
	"$REPO"/tools/bench/pagemap_bench.c \
	"$REPO"/samples/demo/*.c) \
	>>/tmp/pmscan-cp.out 2>&1
result $? "checkpatch C files"
grep -v "^total: 0 errors, 0 warnings" /tmp/pmscan-cp.out

echo "suite: lint impl=host pass=$pass fail=$fail skip=0"
