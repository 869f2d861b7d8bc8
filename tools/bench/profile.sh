#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Where does PAGEMAP_SCAN spend its time, in C and in Rust? A sampling
# profile of the guest (normal clock) through QEMU's gdbstub.
#
#   tools/bench/profile.sh PAYLOAD [WORKLOAD...]
#
# Boots the guest once (tools/vm/run.sh, with -gdb added by a wrapper
# qemu-system-x86_64 first on PATH) and runs, for every workload, a
# pagemap_bench run on C and one on Rust of PROF_REPS reps (default 10,
# about 1 s each at PROF_SCALE=1). tools/bench/pcsample.py samples the
# vCPUs' instruction pointers at PROF_HZ (default 200) meanwhile; the host
# timestamps the guest's "pmbench" lines, and the samples between the end
# of a run's first rep and its last one (no setup, no warm-up) are that
# run's profile. tools/bench/prof_report.py symbolizes them with vmlinux and
# the module (its load address from /proc/modules) and prints, per run, the
# functions with the most samples and how many fall in the Rust helpers.
# Output in PROF_OUT (default out/bench/profile).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
OUT=${PROF_OUT:-$REPO/out/bench/profile}
[ $# -ge 1 ] || { echo "usage: $0 PAYLOAD [WORKLOAD...]" >&2; exit 2; }
PAYLOAD=$1
shift
# pcsample.py reads x86-64's rip (register 16) and prof_report.py places
# the module at its /proc/modules address, which on arm64 is its PLTs':
# on arm64, tools/bench/steptrace.sh counts exactly instead.
if [ "$KARCH" != x86_64 ]; then
	echo "profile: x86_64 guests only (ARCH=$KARCH: use tools/bench/steptrace.sh)" >&2
	exit 2
fi
WORKLOADS=${*:-anon4k sparse vec1 file}
PORT=${PROF_PORT:-$((20000 + RANDOM % 20000))}

mkdir -p "$OUT"
. "$REPO/tools/bench/gdbstub.sh"
snap=$OUT/payload
snapshot_payload "$PAYLOAD" "$OUT" "$KOUT"
cp "$KOUT/vmlinux" "$OUT/vmlinux"

cat > "$OUT/guest.sh" <<EOF
#!/bin/sh
. /pmscan/guest-lib.sh
insmod \$MODULE || exit 1
echo "pmprof-module \$(grep '^pagemap_scan_rs ' /proc/modules)"
for w in $WORKLOADS; do
	for impl in c rust; do
		echo \$impl > \$SYSFS/impl
		echo "pmprof-run \$w \$impl"
		PMBENCH_SCALE=${PROF_SCALE:-1} pagemap_bench --workload \$w --reps ${PROF_REPS:-10} --impl-label \$impl
	done
done
rmmod pagemap_scan_rs
EOF

wrap=$(gdbstub_qemu "$PORT")
trap 'rm -rf "$wrap"' EXIT

while pgrep -f '^qemu-system-x86_64 |/qemu-system-x86_64 ' >/dev/null; do
	echo "[profile] waiting for another QEMU to finish" >&2
	sleep 10
done
python3 "$REPO/tools/bench/pcsample.py" "127.0.0.1:$PORT" "$OUT/samples.txt" --hz "${PROF_HZ:-200}" &
sampler=$!
# Timestamp the console lines as they come: from the console log, which
# run.sh writes unbuffered (its filtered stdout comes in blocks).
: > "$OUT/console.log"
PATH="$wrap:$PATH" "$REPO/tools/vm/run.sh" --payload "$snap" --log "$OUT/console.log" \
	--timeout "${PROF_TIMEOUT:-1800}" "$OUT/guest.sh" >/dev/null &
vm=$!
tail -n +1 -F --pid=$vm "$OUT/console.log" 2>/dev/null |
	while IFS= read -r line; do
		printf '%s %s\n' "$(date +%s.%N)" "$line"
	done > "$OUT/output.txt"
wait $vm || true
wait $sampler || true
python3 "$REPO/tools/bench/prof_report.py" "$OUT" | tee "$OUT/report.txt"
