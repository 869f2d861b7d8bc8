#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Exact instruction counts of one PAGEMAP_SCAN call, C against Rust, by
# function: the guest runs a workload on C and then on Rust while gdb
# (through QEMU's gdbstub) single-steps whole calls of FUNC.
#
#   tools/bench/steptrace.sh PAYLOAD WORKLOAD [FUNC[,RSFUNC]]
#
# FUNC is a vmlinux symbol entered by both implementations (default
# do_pagemap_cmd, the ioctl: everything a call costs), or one entered by C
# only, with RSFUNC a part of the mangled name of the module function that
# does the same in Rust (e.g. pagemap_scan_pmd_entry,OpsNtCs...pmd_entry:
# see `nm pagemap_scan_rs.ko`). Output in
# STEP_OUT_DIR (default out/bench/steptrace): trace.txt (raw) and
# report.txt (instructions per function, C and Rust side by side).
# STEP_CALLS calls of each are traced (default 1) after STEP_SKIP (3).
# STEP_ARGS are more arguments of pagemap_bench, STEP_ENV variables for it
# (e.g. STEP_ARGS="--method read" STEP_ENV=PMBENCH_READ_CHUNK=512 with
# FUNC pagemap_read: one PMD's worth of read(pagemap) per call).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
[ $# -ge 2 ] || { echo "usage: $0 PAYLOAD WORKLOAD [FUNC]" >&2; exit 2; }
PAYLOAD=$1 WORKLOAD=$2 FUNC=${3:-do_pagemap_cmd}
RSFUNC=
case $FUNC in *,*) RSFUNC=${FUNC#*,} FUNC=${FUNC%%,*} ;; esac
OUT=${STEP_OUT_DIR:-$REPO/out/bench/steptrace}
PORT=${STEP_PORT:-$((20000 + RANDOM % 20000))}
mkdir -p "$OUT"

sym() { nm "$KOUT/vmlinux" | awk -v s="$1" '$3 == s { print $1 }' | head -1; }
func=$(sym "$FUNC")
[ -n "$func" ] || { echo "steptrace: no symbol $FUNC in vmlinux" >&2; exit 1; }

. "$REPO/tools/bench/gdbstub.sh"
snap=$OUT/payload
snapshot_payload "$PAYLOAD" "$OUT" "$KOUT"

# The guest waits for gdb to attach, then runs a few calls on each
# implementation; gdb kills the guest once it has traced them.
cat > "$OUT/guest.sh" <<EOF
#!/bin/sh
. /pmscan/guest-lib.sh
insmod \$MODULE || exit 1
echo "pmprof-module \$(grep '^pagemap_scan_rs ' /proc/modules)"
# Time for gdb to attach and set its breakpoints.
sleep ${STEP_WAIT:-15}
for impl in c rust; do
	echo \$impl > \$SYSFS/impl
	echo "pmstep-run $WORKLOAD \$impl"
	${STEP_ENV:-} pagemap_bench --workload $WORKLOAD --reps 1 --iters ${STEP_ITERS:-50} --warmup 1 --impl-label \$impl ${STEP_ARGS:-}
done
EOF

wrap=$(gdbstub_qemu "$PORT")
trap 'rm -rf "$wrap"' EXIT

PATH="$wrap:$PATH" "$REPO/tools/vm/run.sh" --payload "$snap" --log "$OUT/console.log" \
	--timeout "${STEP_TIMEOUT:-1800}" "$OUT/guest.sh" >/dev/null 2>&1 &
vm=$!
# Wait for the module to be loaded: its address symbolizes the trace.
for _ in $(seq 600); do
	grep -q 'pmprof-module' "$OUT/console.log" 2>/dev/null && break
	sleep 0.5
done
rsfunc=
if [ -n "$RSFUNC" ]; then
	base=$(sed -n 's/.*pmprof-module pagemap_scan_rs [0-9]* [0-9]* [^ ]* [^ ]* \(0x[0-9a-f]*\).*/\1/p' \
		"$OUT/console.log" | head -1)
	off=$(nm --defined-only "$OUT/pagemap_scan_rs.ko" | awk -v s="$RSFUNC" \
		'($2 == "t" || $2 == "T") && index($3, s) { print $1 }' | head -1)
	[ -n "$base" ] && [ -n "$off" ] || { echo "steptrace: no module function $RSFUNC" >&2; exit 1; }
	rsfunc=$(printf '%x' $((base + 0x$off)))
fi
STEP_TARGET=127.0.0.1:$PORT STEP_FUNC=$func STEP_FUNC_RS=$rsfunc STEP_OUT=$OUT/trace.txt \
	STEP_IMPL_ADDR=$(sym pagemap_scan_handler) STEP_USE_C_ADDR=$(sym pagemap_scan_use_c) \
	STEP_SKIP=${STEP_SKIP:-3} STEP_CALLS=${STEP_CALLS:-1} \
	STEP_ARCH=$KARCH timeout "${STEP_TIMEOUT:-1800}" "$(gdb_for_guest)" -q -batch -nx -x "$REPO/tools/bench/steptrace_gdb.py" \
	"$KOUT/vmlinux" > "$OUT/gdb.log" 2>&1 || true
kill "$vm" 2>/dev/null || true
pkill -f "tcp:127.0.0.1:$PORT" 2>/dev/null || true
wait "$vm" 2>/dev/null || true
python3 "$REPO/tools/bench/steptrace_report.py" "$OUT" "$KOUT/vmlinux" | tee "$OUT/report.txt"
