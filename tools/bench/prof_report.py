#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Symbolize and summarize a tools/bench/profile.sh run.

    prof_report.py DIR [--top N] [--addrs SUBSTRING]

--addrs also lists the hottest addresses of the functions whose name
contains SUBSTRING (module addresses as offsets in the .ko's .text, for
llvm-objdump).

DIR holds samples.txt (pcsample.py), output.txt (the guest output, each line
prefixed with the host time), vmlinux and pagemap_scan_rs.ko.
"""
import bisect
import collections
import re
import subprocess
import sys

IDLE = re.compile(r"idle|safe_halt|native_halt|mwait|cpuidle|poll_idle|do_idle")


def symbols(path, base=0, text_only=False):
    out = subprocess.run(["nm", "-n", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] not in "tTwW":
            continue
        if parts[2].startswith("$"):
            continue  # an arm64 mapping symbol ($x, $d): not a function
        syms.append((int(parts[0], 16) + base, parts[2]))
    if text_only:
        # Only .text of the module: its symbols are offsets in .text.
        sec = subprocess.run(["nm", "-n", "--defined-only", "--format=sysv", path],
                             capture_output=True, text=True, check=True).stdout
        keep = set()
        for line in sec.splitlines():
            f = [x.strip() for x in line.split("|")]
            if len(f) >= 7 and f[6] == ".text":
                keep.add(f[0])
        syms = [s for s in syms if s[1] in keep]
    return sorted(syms)


def demangle(names):
    for tool in ("llvm-cxxfilt-19", "llvm-cxxfilt", "rustfilt"):
        try:
            out = subprocess.run([tool], input="\n".join(names), capture_output=True,
                                 text=True, check=True).stdout.splitlines()
            if len(out) == len(names):
                return dict(zip(names, out))
        except (OSError, subprocess.CalledProcessError):
            pass
    res = {}
    for n in names:
        # v0 mangling: keep the last identifiers, enough to read.
        ids = re.findall(r"\d+([A-Za-z_][A-Za-z0-9_]*)", n) if n.startswith("_R") else []
        res[n] = "::".join(i for i in ids[-3:]) if ids else n
    return res


def main():
    d = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 12
    addrs_of = sys.argv[sys.argv.index("--addrs") + 1] if "--addrs" in sys.argv else None
    lines = []
    for raw in open(f"{d}/output.txt", errors="replace"):
        t, _, rest = raw.rstrip("\r\n").partition(" ")
        try:
            lines.append((float(t), rest.replace("\r", "")))
        except ValueError:
            continue
    base = None
    for _, l in lines:
        m = re.match(r"pmprof-module pagemap_scan_rs \d+ \d+ \S+ \S+ (0x[0-9a-f]+)", l)
        if m:
            base = int(m.group(1), 16)
    # Windows: from the first rep's line to the last rep's line of a run.
    windows = []
    cur = None
    for t, l in lines:
        m = re.match(r"pmprof-run (\S+) (\S+)", l)
        if m:
            cur = [m.group(1), m.group(2), []]
            windows.append(cur)
        elif l.startswith("pmbench ") and cur is not None:
            cur[2].append(t)
    windows = [(w, i, ts[0], ts[-1], len(ts) - 1) for w, i, ts in windows if len(ts) >= 2]

    ksyms = symbols(f"{d}/vmlinux")
    msyms = symbols(f"{d}/pagemap_scan_rs.ko", base, text_only=True) if base else []
    allsyms = sorted(ksyms + msyms)
    addrs = [a for a, _ in allsyms]
    mod_lo = base or 0
    mod_hi = (msyms[-1][0] + 0x1000) if msyms else 0

    def sym(rip):
        if rip < 0xffff800000000000:
            return "[user]"
        i = bisect.bisect_right(addrs, rip) - 1
        if i < 0:
            return "[?]"
        name = allsyms[i][1]
        if mod_lo <= rip < mod_hi:
            return "[rs] " + name
        return name

    samples = []
    for raw in open(f"{d}/samples.txt"):
        t, cpu, rip = raw.split()
        samples.append((float(t), int(cpu), int(rip, 16)))
    samples.sort()
    times = [s[0] for s in samples]

    names = set()
    results = []
    lo_hi = {}
    for w, impl, t0, t1, nreps in windows:
        lo, hi = bisect.bisect_left(times, t0), bisect.bisect_right(times, t1)
        lo_hi[(w, impl)] = (lo, hi)
        c = collections.Counter()
        busy = 0
        for _, cpu, rip in samples[lo:hi]:
            s = sym(rip)
            if IDLE.search(s):
                continue
            c[s] += 1
            busy += 1
        names.update(s.replace("[rs] ", "") for s in c)
        results.append((w, impl, t1 - t0, nreps, busy, c))
    dm = demangle(sorted(n for n in names if n.startswith("_R")))

    def pretty(s):
        pre = "[rs] " if s.startswith("[rs] ") else ""
        n = s[len(pre):]
        return pre + dm.get(n, n)

    print(f"module .text at {base:#x}" if base else "module base unknown")
    for w, impl, secs, nreps, busy, c in results:
        if not busy:
            continue
        helpers = sum(v for k, v in c.items() if k.startswith("rust_helper_"))
        module = sum(v for k, v in c.items() if k.startswith("[rs]"))
        user = c.get("[user]", 0)
        print(f"\n== {w} {impl}: {nreps} reps in {secs:.1f} s host time, {busy} busy samples; "
              f"user {user / busy:.1%}, module code {module / busy:.1%}, "
              f"rust_helper_* {helpers / busy:.1%}")
        for k, v in c.most_common(top):
            print(f"  {v / busy:6.1%}  {v:6d}  {pretty(k)[:110]}")
        if addrs_of:
            hot = collections.Counter()
            for _, cpu, rip in samples[lo_hi[(w, impl)][0]:lo_hi[(w, impl)][1]]:
                s_ = sym(rip)
                if addrs_of in pretty(s_):
                    off = rip - (base if s_.startswith("[rs]") else 0)
                    hot[off] += 1
            print(f"  hottest addresses in *{addrs_of}* (module: .text offsets):")
            for a, v in hot.most_common(top):
                print(f"    {a:#x} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
