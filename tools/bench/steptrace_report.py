#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instructions per function of the calls traced by tools/bench/steptrace.sh.

    steptrace_report.py DIR VMLINUX

Prints, for the first traced call of each implementation, its instruction
count and the functions it executed, C and Rust side by side (module
functions are marked [rs], their names demangled and shortened).
"""
import bisect
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prof_report import demangle, symbols  # noqa: E402


def main():
    d, vmlinux = sys.argv[1], sys.argv[2]
    base = None
    for line in open(f"{d}/console.log", errors="replace"):
        m = re.search(r"pmprof-module pagemap_scan_rs \d+ \d+ \S+ \S+ (0x[0-9a-f]+)", line)
        if m:
            base = int(m.group(1), 16)
    ksyms = symbols(vmlinux)
    msyms = symbols(f"{d}/pagemap_scan_rs.ko", base, text_only=True) if base else []
    syms = sorted(ksyms + [(a, "[rs]" + n) for a, n in msyms])
    addrs = [a for a, _ in syms]
    names = demangle([n[4:] for _, n in syms if n.startswith("[rs]")])

    def name(pc):
        i = bisect.bisect_right(addrs, pc) - 1
        if i < 0:
            return "?"
        n = syms[i][1]
        if n.startswith("[rs]"):
            full = names.get(n[4:], n[4:])
            full = re.sub(r"::h[0-9a-f]{16}$", "", full)
            full = re.sub(r"\b(kernel|pagemap_scan_rs|core)::", "", full)
            return "[rs] " + full[-90:]
        return n

    per = {}
    totals = {}
    for line in open(f"{d}/trace.txt"):
        f = line.split()
        impl, n = f[0], int(f[1])
        if impl in per:
            continue
        totals[impl] = n
        c = {}
        for item in f[2:]:
            pc, k = item.split(":")
            fn = name(int(pc, 16))
            c[fn] = c.get(fn, 0) + int(k)
        per[impl] = c
    print(f"instructions of one call: " +
          ", ".join(f"{i} {totals[i]}" for i in ("c", "rust") if i in totals))
    fns = sorted(set().union(*[set(c) for c in per.values()]) if per else [],
                 key=lambda k: -max(per.get(i, {}).get(k, 0) for i in per))
    print(f"{'C':>9} {'Rust':>9}  function")
    for fn in fns:
        print(f"{per.get('c', {}).get(fn, 0):>9} {per.get('rust', {}).get(fn, 0):>9}  {fn}")


if __name__ == "__main__":
    main()
