#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instructions per function of the calls traced by tools/bench/steptrace.sh.

    steptrace_report.py DIR VMLINUX [--annotate SUBSTRING]

Prints, for the first traced call of each implementation, its instruction
count and the functions it executed, C and Rust side by side (module
functions are marked [rs], their names demangled and shortened). With
--annotate, also the disassembly of the module function whose mangled name
contains SUBSTRING, each instruction with the times it ran.
"""
import bisect
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prof_report import demangle, symbols  # noqa: E402


def module_base(d):
    """The address of the module's .text: from the address of its scan
    function if the trace has it, else the start of its text region
    (/proc/modules), which is .text's on x86-64."""
    for line in open(f"{d}/trace.txt"):
        if line.startswith("scanfn "):
            scanfn = int(line.split()[1], 16)
            for off, n in symbols(f"{d}/pagemap_scan_rs.ko", 0, text_only=True):
                if re.search(r"12Registration.*E4scan", n):
                    return scanfn - off
    base = None
    for line in open(f"{d}/console.log", errors="replace"):
        m = re.search(r"pmprof-module pagemap_scan_rs \d+ \d+ \S+ \S+ (0x[0-9a-f]+)", line)
        if m:
            base = int(m.group(1), 16)
    return base


def main():
    d, vmlinux = sys.argv[1], sys.argv[2]
    base = module_base(d)
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
        if f[0] == "scanfn":
            continue
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


def annotate(d, sub):
    base = module_base(d)
    rust = [line.split() for line in open(f"{d}/trace.txt") if line.startswith("rust ")]
    if base is None or not rust:
        return
    cnt = {}
    for item in rust[0][2:]:
        pc, k = item.split(":")
        cnt[int(pc, 16) - base] = int(k)
    syms = symbols(f"{d}/pagemap_scan_rs.ko", 0, text_only=True)
    rng = [(a, syms[i + 1][0] if i + 1 < len(syms) else 1 << 40)
           for i, (a, n) in enumerate(syms) if sub in n]
    if not rng:
        return
    lo, hi = rng[0]
    dis = subprocess.run(["llvm-objdump-19", "-d", "--no-show-raw-insn",
                          f"{d}/pagemap_scan_rs.ko"], capture_output=True, text=True).stdout
    print(f"\nannotated {sub} (count, .text offset, instruction):")
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if m and lo <= int(m.group(1), 16) < hi:
            a = int(m.group(1), 16)
            print(f"{cnt.get(a, 0):7d} {a:6x} {m.group(2)[:90]}")


if __name__ == "__main__":
    main()
    if len(sys.argv) > 4 and sys.argv[3] == "--annotate":
        annotate(sys.argv[1], sys.argv[4])
