#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of `make bench`: PAGEMAP_SCAN in C and in Rust side by side, and
# the read(/proc/self/pagemap) / soft-dirty baseline, in the test guest.
#
#   tools/bench/bench.sh PAYLOAD      boot once per clock, then report
#   tools/bench/bench.sh --report     report again from out/bench/raw-*.txt
#
# The guest is booted once per clock in BENCH_CLOCKS:
#   normal  the guest clock follows the host's (QEMU TCG, wall time: depends
#           on the host's speed and load)
#   icount  QEMU -icount shift=0: the guest clock advances 1 ns per guest
#           instruction, whatever the host does (repeatable; measures
#           executed instructions, not cache misses or TLB costs)
# and runs tools/bench/guest-bench.sh. Results go to BENCH_OUT (out/bench):
#   raw-CLOCK.txt       the guest's output     console-CLOCK.log  its console
#   results.csv         every timed rep        summary.csv        medians
#   table.txt           the tables printed     table.rst          the same, for the docs
#   bench.png           the plot
#
# Environment: BENCH_SCALE (multiplies every rep's work, default 1: about 1 s
# per rep under TCG), BENCH_ROUNDS (C/Rust alternations, default 3),
# BENCH_REPS (timed reps per run, default 2), BENCH_BASE_REPS (baseline
# reps, default 3), BENCH_WORKLOADS (default: all; empty: none), BENCH_READ_WORKLOADS
# (read(pagemap) C against Rust; default anon4k sparse thp, empty: none),
# BENCH_CLOCKS (default "normal icount"), BENCH_OUT, BENCH_TIMEOUT (per boot,
# default 1500 s).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
KHDR=$KOUT/usr-headers/include
OUT=${BENCH_OUT:-$REPO/out/bench}
CLOCKS=${BENCH_CLOCKS:-normal icount}
SCALE=${BENCH_SCALE:-1}
ROUNDS=${BENCH_ROUNDS:-3}
REPS=${BENCH_REPS:-2}
BASE_REPS=${BENCH_BASE_REPS:-3}
WORKLOADS=${BENCH_WORKLOADS-anon4k thp sparse wp hugetlb vec1 vec32 file maxpages}
# read(pagemap), C against Rust: dense, sparse and THP ranges.
READ_WORKLOADS=${BENCH_READ_WORKLOADS-anon4k sparse thp}
VENV=$KCACHE/bench-venv

log() { printf '[bench] %s\n' "$*" >&2; }

# Python with matplotlib for the report and the plot, in a venv under
# KCACHE (created once; a no-op afterwards). Without it the report is
# still made, without the plot.
python_for_report() {
	if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
		echo "$VENV/bin/python"
		return
	fi
	local py
	py=$(command -v python3 || true)
	[ -n "$py" ] || { log "python3 is missing (tools/setup.sh installs it)"; exit 1; }
	if "$py" -c 'import matplotlib' 2>/dev/null; then
		echo "$py"
		return
	fi
	log "installing matplotlib into $VENV"
	if "$py" -m venv "$VENV" >&2 && "$VENV/bin/pip" install -q matplotlib >&2; then
		echo "$VENV/bin/python"
	else
		log "could not install matplotlib: no plot"
		echo "$py"
	fi
}

report() {
	local py
	py=$(python_for_report)
	"$py" "$REPO/tools/bench/report.py" --out "$OUT" "$@"
}

if [ "${1:-}" = --report ]; then
	report
	exit
fi
[ $# -eq 1 ] || { echo "usage: $0 PAYLOAD | --report" >&2; exit 2; }
PAYLOAD=$1

mkdir -p "$OUT"
# The report reads every raw-CLOCK.txt there: none may be left from an
# earlier run (BENCH_CLOCKS=icount after both, or an interrupted run).
rm -f "$OUT"/raw-*.txt "$OUT"/console-*.log
# The exact tree the numbers are of, in the log and next to the tables.
tree_banner | tee "$OUT/tree.txt" >&2
# A private copy of the payload: `make payload` elsewhere may rebuild the
# shared one while a guest boots.
snap=$OUT/payload
rm -rf "$snap"
cp -a "$PAYLOAD" "$snap"
if [ ! -x "$snap/bin/pagemap_bench" ] || [ "$REPO/tools/bench/pagemap_bench.c" -nt "$snap/bin/pagemap_bench" ]; then
	"$KCC" -static -O2 -Wall -isystem "$KHDR" -o "$snap/bin/pagemap_bench" "$REPO/tools/bench/pagemap_bench.c"
fi

rc=0
for clock in $CLOCKS; do
	case $clock in
	normal) flag=() ;;
	icount) flag=(--icount) ;;
	*) log "unknown clock $clock"; exit 2 ;;
	esac
	cat > "$snap/bench-config.sh" <<-EOF
		CLOCK=$clock
		SCALE=$SCALE
		WARM_SCALE=$(awk -v s="$SCALE" 'BEGIN { print s / 10 }')
		ROUNDS=$ROUNDS
		REPS=$REPS
		BASE_REPS=$BASE_REPS
		WORKLOADS="$WORKLOADS"
		READ_WORKLOADS="$READ_WORKLOADS"
	EOF
	# None beside a timed run. The icount clock counts instructions: another
	# VM changes the wall time of its boot, not its figures.
	waited=0
	while [ "$clock" != icount ] && pgrep -f '^qemu-system-(x86_64|aarch64) ' >/dev/null; do
		[ $waited = 0 ] && log "waiting for another QEMU to finish"
		waited=$((waited + 5))
		[ $waited -lt "${BENCH_WAIT:-3600}" ] || { log "gave up waiting"; exit 1; }
		sleep 5
	done
	log "clock $clock: booting ($(nproc) host cpus, load average $(cut -d' ' -f1-3 /proc/loadavg))"
	t0=$SECONDS
	set +e
	{
		echo "pmbench-host clock=$clock date=$(date -u +%Y-%m-%dT%H:%M:%SZ) loadavg_before=$(cut -d' ' -f1 /proc/loadavg) git=$(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" status --porcelain -- rust fs patches include | grep -q . && echo +wip) module_sha256=$(sha256sum "$snap/pagemap_scan_rs.ko" | cut -c1-12) kernel=$KVER arch=$KARCH pages=$KPAGES kernel_sha256=$(sha256sum "$KOUT/$KIMAGE_PATH" | cut -c1-12) qemu=$($KQEMU --version | sed -n 's/.*version \([^ ]*\).*/\1/p') host_cpu=\"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)\""
		"$REPO/tools/vm/run.sh" --payload "$snap" "${flag[@]}" --log "$OUT/console-$clock.log" \
			--timeout "${BENCH_TIMEOUT:-1500}" "$REPO/tools/bench/guest-bench.sh"
		echo "pmbench-status $?"
		echo "pmbench-host-end clock=$clock seconds=$((SECONDS - t0)) loadavg_after=$(cut -d' ' -f1 /proc/loadavg)"
	} | tee "$OUT/raw-$clock.txt" | grep -a --line-buffered -E '^pmbench-(workload|error|status|env)|^pagemap_bench' | grep -av 'pagemap_bench: thp: [0-9]* of' >&2
	set -e
	status=$(sed -n 's/^pmbench-status //p' "$OUT/raw-$clock.txt" | tail -1)
	log "clock $clock: done in $((SECONDS - t0)) s, status $status"
	[ "$status" = 0 ] || rc=1
done

report || rc=1
exit $rc
