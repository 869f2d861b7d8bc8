#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Measure what a change to the Rust module would buy, without touching the
# module: C vs the module as it is vs variants of it, in one boot.
#
#   tools/bench/experiment.sh PAYLOAD NAME=PATCH[+PATCH...]...
#   e.g. tools/bench/experiment.sh out/default/payload \
#          fe=tools/bench/experiments/bounce-from-elem.patch
#
# Every variant is the current fs/proc/pagemap_scan_rs.rs (+ pagemap_scan/logic.rs)
# with the patches applied, built out of tree against the existing kernel
# build (a module build only: the kernel is not rebuilt) as the module
# pagemap_scan_rs_NAME registering the handler "rust-NAME"; "base" is the
# unpatched source built the same way. The guest alternates c, rust-base and
# the variants (reloading modules), EXP_ROUNDS rounds of EXP_REPS reps of
# every workload in EXP_WORKLOADS at EXP_SCALE, on the icount clock unless
# EXP_CLOCK=normal. Output in EXP_OUT (default out/bench/experiment): the
# raw guest output and table.txt (instructions per operation on icount:
# 1 ns = 1 instruction).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
OUT=${EXP_OUT:-$REPO/out/bench/experiment}
CLOCK=${EXP_CLOCK:-icount}
[ $# -ge 1 ] || { echo "usage: $0 PAYLOAD NAME=PATCH[+PATCH...]..." >&2; exit 2; }
PAYLOAD=$1
shift

mkdir -p "$OUT"
snap=$OUT/payload
rm -rf "$snap"
cp -a "$PAYLOAD" "$snap"
gcc -static -O2 -Wall -isystem "$KOUT/usr-headers/include" -o "$snap/bin/pagemap_bench" \
	"$REPO/tools/bench/pagemap_bench.c"

# build NAME [PATCH...]: the variant module pagemap_scan_rs_NAME.
build() {
	local name=$1 dir=$OUT/variants/$1 p
	shift
	rm -rf "$dir"
	mkdir -p "$dir/pagemap_scan"
	cp "$REPO/fs/proc/pagemap_scan/logic.rs" "$dir/pagemap_scan/"
	cp "$REPO/fs/proc/pagemap_scan_rs.rs" "$dir/pagemap_scan_rs.rs"
	for p in "$@"; do
		patch -s -d "$dir" -p1 < "$p" || { echo "experiment: $p does not apply" >&2; exit 1; }
	done
	sed -e "s/name: \"pagemap_scan_rs\"/name: \"pagemap_scan_rs_$name\"/" \
	    -e "s/Registration::new(c_str!(\"rust\"))/Registration::new(c_str!(\"rust-$name\"))/" \
	    "$dir/pagemap_scan_rs.rs" > "$dir/pagemap_scan_rs_$name.rs"
	rm "$dir/pagemap_scan_rs.rs"
	grep -q "rust-$name" "$dir/pagemap_scan_rs_$name.rs" || { echo "experiment: cannot rename the handler" >&2; exit 1; }
	echo "obj-m := pagemap_scan_rs_$name.o" > "$dir/Kbuild"
	make -s -C "$KSRC" O="$KOUT" ARCH=x86_64 LLVM="$KLLVM" M="$dir" modules
	cp "$dir/pagemap_scan_rs_$name.ko" "$snap/"
}

impls="c rust-base"
build base
for spec in "$@"; do
	name=${spec%%=*}
	IFS=+ read -r -a patches <<< "${spec#*=}"
	build "$name" "${patches[@]}"
	impls="$impls rust-$name"
done

cat > "$snap/exp-config.sh" <<EOF
WORKLOADS="${EXP_WORKLOADS:-ioctl1 anon4k sparse wp thp hugetlb vec1 file maxpages}"
ROUNDS=${EXP_ROUNDS:-2}
REPS=${EXP_REPS:-1}
SCALE=${EXP_SCALE:-0.2}
IMPLS="$impls"
EOF
cat > "$OUT/guest.sh" <<'EOF'
#!/bin/sh
SYSFS=/sys/kernel/mm/pagemap_scan
use() {
	if [ "$1" != c ] && [ "$(cat $SYSFS/impl)" != "$1" ]; then
		for m in $(sed -n 's/^\(pagemap_scan_rs[a-z_0-9]*\) .*/\1/p' /proc/modules); do rmmod $m; done
		insmod /pmscan/pagemap_scan_rs_${1#rust-}.ko || echo "pmbench-error insmod $1"
	fi
	echo $1 > $SYSFS/impl
	[ "$(cat $SYSFS/impl)" = "$1" ] || echo "pmbench-error cannot use $1"
}
. /pmscan/exp-config.sh
for w in $WORKLOADS; do
	for i in $IMPLS; do use $i; pagemap_bench --workload $w --reps 1 --scale 0.05 --impl-label $i > /dev/null; done
	r=1
	while [ $r -le $ROUNDS ]; do
		for i in $IMPLS; do use $i; pagemap_bench --workload $w --reps $REPS --scale $SCALE --impl-label $i; done
		r=$((r + 1))
	done
done
EOF
while pgrep -f '^qemu-system-x86_64 |/qemu-system-x86_64 ' >/dev/null; do
	echo "[experiment] waiting for another QEMU to finish" >&2
	sleep 10
done
flag=()
[ "$CLOCK" = icount ] && flag=(--icount)
"$REPO/tools/vm/run.sh" --payload "$snap" "${flag[@]}" --log "$OUT/console.log" \
	--timeout "${EXP_TIMEOUT:-1800}" "$OUT/guest.sh" > "$OUT/raw.txt" || true
grep -a pmbench-error "$OUT/raw.txt" >&2 || true

python3 - "$OUT/raw.txt" "$CLOCK" $impls <<'EOF' | tee "$OUT/table.txt"
import re, statistics, sys
path, clock, impls = sys.argv[1], sys.argv[2], sys.argv[3:]
d, pages, calls, order = {}, {}, {}, []
for l in open(path, errors="replace"):
    if not l.startswith("pmbench "):
        continue
    kv = dict(re.findall(r"(\w+)=(\S+)", l))
    w, i = kv["workload"], kv["impl"]
    if w not in order:
        order.append(w)
    d.setdefault((w, i), []).append(int(kv["ns"]) / int(kv["iters"]))
    pages[w] = int(kv["pages"])
    calls[w] = int(kv["calls"]) / int(kv["iters"])
unit = "instructions (icount)" if clock == "icount" else "ns (normal clock)"
print(f"median {unit} per operation; x: ratio to C; closes: share of the base-C gap the variant removes")
head = f"{'workload':9} {'pages':>6} {'ioctls':>6}" + "".join(f" {i:>12}" for i in impls)
head += "".join(f" {i + ' x':>12}" for i in impls[1:]) + "".join(f" {i + ' closes':>18}" for i in impls[2:])
print(head)
for w in order:
    med = {i: statistics.median(d[(w, i)]) for i in impls if (w, i) in d}
    if "c" not in med or "rust-base" not in med:
        continue
    c, b = med["c"], med["rust-base"]
    row = f"{w:9} {pages[w]:6} {calls[w]:6.0f}" + "".join(f" {med.get(i, float('nan')):12.0f}" for i in impls)
    row += "".join(f" {med.get(i, float('nan')) / c:12.3f}" for i in impls[1:])
    row += "".join(f" {((b - med[i]) / (b - c) if b != c and i in med else 0):18.1%}" for i in impls[2:])
    print(row)
EOF
