#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host side of `make check`: boot the guest once, run tools/testing/guest-check.sh,
# collect the suite lines and print the final "N passed, N failed".
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PAYLOAD=$1
FUZZ_CASES=${2:-20000}
. "$REPO/tools/kver.sh"
OUTDIR=$(dirname "$PAYLOAD")
log=$OUTDIR/check-console.log
result=$OUTDIR/check-output.txt

echo "FUZZ_CASES=$FUZZ_CASES" > "$PAYLOAD/config.sh"
echo "FUZZ_ONLY=${FUZZ_ONLY:-0}" >> "$PAYLOAD/config.sh"
echo "KVARIANT=$KVARIANT" >> "$PAYLOAD/config.sh"
# The tree (6.12 or 7.3), the architecture and its base page size.
echo "KVER=$KVER" >> "$PAYLOAD/config.sh"
echo "KARCH=$KARCH" >> "$PAYLOAD/config.sh"
echo "KPAGES=$KPAGES" >> "$PAYLOAD/config.sh"
# Whether the kernel crate's doctests (KUnit) ran at boot: a kernel built
# with them must report them.
if grep -qx 'CONFIG_RUST_KERNEL_DOCTESTS=y' "$KOUT/.config"; then
	echo "KUNIT_DOCTESTS=1" >> "$PAYLOAD/config.sh"
else
	echo "KUNIT_DOCTESTS=0" >> "$PAYLOAD/config.sh"
fi
echo "PERMS_SCANS=${PERMS_SCANS:-200000}" >> "$PAYLOAD/config.sh"
echo "STRESS_ONLY=${STRESS_ONLY:-0}" >> "$PAYLOAD/config.sh"
echo "KUNIT_ONLY=${KUNIT_ONLY:-0}" >> "$PAYLOAD/config.sh"
echo "STRESS_SECONDS=${STRESS_SECONDS:-30}" >> "$PAYLOAD/config.sh"
echo "FUZZ_SEED=${FUZZ_SEED:-}" >> "$PAYLOAD/config.sh"
# FUZZ_TIME=S caps the fuzzer at S seconds; a run that stops there before
# FUZZ_CASES cases fails. Unset, every case asked for runs, and the guest's
# time limit grows with the count (0.5 s a case: 2.5 times the debug
# kernel's measured rate).
echo "FUZZ_TIME=${FUZZ_TIME:-0}" >> "$PAYLOAD/config.sh"
if [ -z "${CHECK_TIMEOUT:-}" ]; then
	if [ -n "${FUZZ_TIME:-}" ] && [ "${FUZZ_TIME%.*}" -gt 0 ] 2>/dev/null; then
		CHECK_TIMEOUT=$((3000 + ${FUZZ_TIME%.*}))
	else
		CHECK_TIMEOUT=$((3000 + FUZZ_CASES / 2))
	fi
fi
echo "FUZZ_NOISE=${FUZZ_NOISE:-0}" >> "$PAYLOAD/config.sh"
# The criu suite (tools/testing/criu/): CRIU runs from a Debian root
# filesystem image, built once and cached in $KCACHE, attached as a third
# disk. Not in the fuzzer-only and stress-only runs.
CRIU_SUITE=${CRIU_SUITE:-1}
if [ "${FUZZ_ONLY:-0}" = 1 ] || [ "${STRESS_ONLY:-0}" = 1 ] || [ "${KUNIT_ONLY:-0}" = 1 ]; then
	CRIU_SUITE=0
fi
vmdisks=()
criu_failed=0
if [ "$CRIU_SUITE" = 1 ]; then
	t0=$SECONDS
	if criu_img=$(KCACHE=$KCACHE KARCH=$KARCH "$REPO/tools/testing/criu/rootfs.sh"); then
		vmdisks=(--disk "$criu_img")
		echo "criu root filesystem ready in $((SECONDS - t0)) s: $criu_img"
	else
		echo "criu root filesystem could not be built"
		CRIU_SUITE=0 criu_failed=1
	fi
fi
echo "CRIU_SUITE=$CRIU_SUITE" >> "$PAYLOAD/config.sh"
tree=$(tree_banner)
echo "$tree"
# Static checks on the host first, then the guest. The lint builds the
# handler as a module, which a kernel with it built in cannot take.
if [ "$KVARIANT" = builtin ]; then
	: > "$result"
else
	"$REPO/tools/lint.sh" > "$result"
fi
# What the build exports for the handler (nothing when built in).
"$REPO/tools/testing/exports.sh" >> "$result"
# Has the tree's C moved since the module was reviewed against it?
python3 "$REPO/tools/tree/drift.py" >> "$result"
# Host unit and property tests of the scan logic (the module's logic.rs).
cargo test --manifest-path "$REPO/tools/pagemap-scan-logic/Cargo.toml" > "$OUTDIR/logic-tests.txt" 2>&1
lrc=$?
lres=$(grep '^test result:' "$OUTDIR/logic-tests.txt" | tail -1)
lpass=$(echo "$lres" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
lfail=$(echo "$lres" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
lpass=${lpass:-0} lfail=${lfail:-0}
if [ $lrc -ne 0 ] && [ "$lfail" -eq 0 ]; then lfail=1; tail -20 "$OUTDIR/logic-tests.txt"; fi
[ "$lpass" -gt 0 ] || lfail=$((lfail + 1))
echo "suite: scan-logic impl=host pass=$lpass fail=$lfail skip=0" >> "$result"
[ "$criu_failed" = 0 ] || echo "suite: criu impl=host pass=0 fail=1 skip=0" >> "$result"
cat "$result"
"$REPO/tools/vm/run.sh" --payload "$PAYLOAD" --log "$log" --timeout "$CHECK_TIMEOUT" \
	${vmdisks[@]+"${vmdisks[@]}"} "$REPO/tools/testing/guest-check.sh" | tee -a "$result"
vmrc=${PIPESTATUS[0]}

passed=0 failed=0 bad_lines=0
# Parse strictly: a console line can carry a kernel message after the
# counts; a suite line that does not parse counts as a failure.
while IFS= read -r line; do
	counts=$(printf '%s\n' "$line" |
		sed -n 's/^suite: [^ ]* impl=[^ ]* pass=\([0-9][0-9]*\) fail=\([0-9][0-9]*\) skip=\([0-9][0-9]*\).*/\1 \2 \3/p')
	if [ -z "$counts" ]; then
		echo "unparsable result line: $line"
		bad_lines=$((bad_lines + 1))
		continue
	fi
	set -- $counts
	passed=$((passed + $1))
	failed=$((failed + $2 + $3))
done < <(grep -a '^suite: ' "$result" | tr -d '\r')
failed=$((failed + bad_lines))
# Every result line the guest printed must have reached the host intact.
want=$(sed -n 's/^PMSCAN-SUITES: \([0-9]*\).*/\1/p' "$result" | tr -d '\r' | tail -1)
got=$(grep -a '^suite: ' "$result" | grep -vc ' impl=host ')
if [ -n "$want" ] && [ "$got" -ne "$want" ]; then
	echo "the guest printed $want result lines, $got arrived"
	failed=$((failed + 1))
fi

echo
echo "=== summary (console log: $log)"
echo "$tree"
grep -a '^suite: ' "$result" | tr -d '\r'
if [ "$vmrc" -ne 0 ]; then
	echo "vm run failed with status $vmrc (timeout, crash or kernel splat)"
	failed=$((failed + 1))
fi
if ! grep -aq '^suite: ' "$result"; then
	echo "no suite ran"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
