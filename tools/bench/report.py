#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tables, CSV and plot of `make bench` (tools/bench/bench.sh).

Reads OUT/raw-CLOCK.txt (the guest output of one boot per clock) and
writes OUT/results.csv, OUT/summary.csv, OUT/table.txt, OUT/table.rst and,
with matplotlib, OUT/bench.png. The unit is the time of one operation
(ns of a rep / its iterations), in microseconds.
"""
import argparse
import csv
import os
import random
import re
import statistics
import sys

CLOCK_NOTE = {
    "normal": "guest time = host wall time under QEMU TCG "
              "(varies with the host's speed and load)",
    "icount": "QEMU -icount shift=0, 1 ns of guest time per "
              "guest instruction (repeatable; counts instructions, not "
              "cache or TLB misses)",
}
LINE = re.compile(r"^pmbench (.*)$")
KV = re.compile(r"(\w+)=(\S+)")


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def ratio_ci(a, b, n=2000, seed=1):
    """Bootstrap 95% interval of median(b) / median(a)."""
    if len(a) < 2 or len(b) < 2:
        return None
    rnd = random.Random(seed)
    rs = []
    for _ in range(n):
        ma = statistics.median(rnd.choices(a, k=len(a)))
        mb = statistics.median(rnd.choices(b, k=len(b)))
        rs.append(mb / ma)
    rs.sort()
    return rs[int(0.025 * n)], rs[int(0.975 * n) - 1]


def parse(path):
    reps, env, errors, host = [], {}, [], {}
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.strip().replace("\r", "")
            m = LINE.match(line)
            if m:
                d = dict(KV.findall(m.group(1)))
                try:
                    d["rep"] = int(d["rep"])
                    d["iters"] = int(d["iters"])
                    d["pages"] = int(d["pages"])
                    d["ns"] = int(d["ns"])
                    d["wall"] = int(d.get("wall", d["ns"]))
                    d["calls"] = int(d.get("calls", 0))
                except (KeyError, ValueError):
                    errors.append("unparsable: " + line)
                    continue
                reps.append(d)
            elif line.startswith("pmbench-env "):
                env = dict(KV.findall(line))
            elif line.startswith("pmbench-host"):
                host.update(KV.findall(line))
            elif line.startswith("pmbench-error") or "WARNING" in line:
                errors.append(line)
    return reps, env, errors, host


def summarize(clock, reps):
    order = []
    by = {}
    for r in reps:
        w = r["workload"]
        if w not in order:
            order.append(w)
        by.setdefault((w, r["impl"]), []).append(r)
    rows, problems = [], []
    for w in order:
        per_op = {}
        for (ww, impl), rs in by.items():
            if ww == w:
                per_op[impl] = [r["ns"] / r["iters"] / 1000.0 for r in rs]
        base_impl = next((i for i in ("read", "softdirty") if i in per_op), None)
        c, rust = per_op.get("c"), per_op.get("rust")
        row = {"clock": clock, "workload": w,
               "pages": by.get((w, "c"), by.get((w, "rust"), [{}]))[0].get("pages", ""),
               "iters": by.get((w, "c"), [{}])[0].get("iters", "")}
        for name, xs in (("c", c), ("rust", rust), ("base", per_op.get(base_impl))):
            if xs:
                q1, med, q3 = quartiles(xs)
                row[name + "_us"] = med
                row[name + "_spread"] = (q3 - q1) / med if med else 0
                row[name + "_n"] = len(xs)
        row["base_kind"] = base_impl or ""
        if c and rust:
            row["ratio"] = row["rust_us"] / row["c_us"]
            ci = ratio_ci(c, rust)
            if ci:
                row["ratio_lo"], row["ratio_hi"] = ci
        if c and per_op.get(base_impl):
            row["base_over_c"] = row["base_us"] / row["c_us"]
        # The same work on both: per-rep digests must agree.
        checks = {}
        for impl in ("c", "rust"):
            for r in by.get((w, impl), []):
                checks.setdefault(r["rep"], {}).setdefault(impl, set()).add(r["check"])
        for rep, d in sorted(checks.items()):
            if len(d) == 2 and d["c"] != d["rust"]:
                problems.append(f"{clock}/{w} rep {rep}: C and Rust results differ "
                                f"({sorted(d['c'])} vs {sorted(d['rust'])})")
            for impl, s in d.items():
                if len(s) > 1:
                    problems.append(f"{clock}/{w} rep {rep}: {impl} results vary between runs")
        rows.append(row)
    return rows, problems


def fmt(x, nd=3):
    if x is None or x == "":
        return "-"
    if isinstance(x, float):
        if x >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{nd}g}"
    return str(x)


HEAD = ["workload", "pages", "C us/op", "Rust us/op", "Rust/C", "95% CI",
        "C IQR/med", "Rust IQR/med", "baseline us/op", "base/C", "n C/R/base"]


def table_rows(rows):
    out = []
    for r in rows:
        ci = (f"{r['ratio_lo']:.3f}-{r['ratio_hi']:.3f}" if "ratio_lo" in r else "-")
        base = fmt(r.get("base_us"))
        if r.get("base_kind") == "softdirty":
            base += " (sd)"
        out.append([
            r["workload"], str(r["pages"]), fmt(r.get("c_us")), fmt(r.get("rust_us")),
            f"{r['ratio']:.3f}" if "ratio" in r else "-", ci,
            f"{r['c_spread']:.1%}" if "c_spread" in r else "-",
            f"{r['rust_spread']:.1%}" if "rust_spread" in r else "-",
            base, f"{r['base_over_c']:.2f}" if "base_over_c" in r else "-",
            f"{r.get('c_n', 0)}/{r.get('rust_n', 0)}/{r.get('base_n', 0)}",
        ])
    return out


def text_table(rows):
    body = table_rows(rows)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(HEAD)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEAD, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)))
    return "\n".join(lines)


def rst_table(rows):
    body = table_rows(rows)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(HEAD)]
    sep = "  ".join("=" * w for w in widths)
    lines = [sep, "  ".join(h.ljust(w) for h, w in zip(HEAD, widths)).rstrip(), sep]
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip())
    lines.append(sep)
    return "\n".join(lines)


def plot(path, summaries):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: no matplotlib, no plot", file=sys.stderr)
        return False
    clocks = [c for c in summaries if summaries[c]]
    workloads = []
    for c in clocks:
        for r in summaries[c]:
            if r["workload"] not in workloads:
                workloads.append(r["workload"])
    fig, axes = plt.subplots(2, 1, figsize=(11, 8), sharex=True)
    width = 0.8 / max(1, len(clocks))
    colors = {"normal": "tab:blue", "icount": "tab:orange"}
    for k, clock in enumerate(clocks):
        by = {r["workload"]: r for r in summaries[clock]}
        xs = [i + (k - (len(clocks) - 1) / 2) * width for i in range(len(workloads))]
        ratio = [by.get(w, {}).get("ratio", float("nan")) for w in workloads]
        err = [[max(0, by.get(w, {}).get("ratio", 0) - by.get(w, {}).get("ratio_lo", by.get(w, {}).get("ratio", 0))) for w in workloads],
               [max(0, by.get(w, {}).get("ratio_hi", by.get(w, {}).get("ratio", 0)) - by.get(w, {}).get("ratio", 0)) for w in workloads]]
        axes[0].bar(xs, ratio, width, yerr=err, capsize=3, label=f"{clock} clock",
                    color=colors.get(clock))
        base = [by.get(w, {}).get("base_over_c", float("nan")) for w in workloads]
        axes[1].bar(xs, base, width, label=f"{clock} clock", color=colors.get(clock))
    axes[0].axhline(1.0, color="black", linewidth=0.8)
    axes[0].set_ylabel("Rust / C time per operation\n(median, bootstrap 95% CI)")
    axes[0].set_title("PAGEMAP_SCAN: Rust module vs built-in C (QEMU TCG guest)")
    axes[0].legend()
    axes[1].axhline(1.0, color="black", linewidth=0.8)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("baseline / C PAGEMAP_SCAN\n(read(pagemap); wp: soft-dirty)")
    axes[1].legend()
    axes[1].set_xticks(range(len(workloads)))
    axes[1].set_xticklabels(workloads)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def plot_scaling(path, summaries):
    """Time per scan against the size of the range (the scale-* workloads):
    C, Rust and read(pagemap), dense and sparse, one panel per clock."""
    clocks = [c for c in summaries
              if any(r["workload"].startswith("scale-") for r in summaries[c])]
    if not clocks:
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: no matplotlib, no scaling plot", file=sys.stderr)
        return False
    fig, axes = plt.subplots(1, len(clocks), figsize=(6 * len(clocks), 5), squeeze=False)
    for ax, clock in zip(axes[0], clocks):
        for kind, style in (("dense", "-"), ("sparse", "--")):
            rows = sorted((r for r in summaries[clock]
                           if r["workload"].startswith(f"scale-{kind}-")),
                          key=lambda r: r["pages"])
            xs = [r["pages"] for r in rows]
            for key, label, color in (("c_us", "C", "tab:blue"), ("rust_us", "Rust", "tab:red"),
                                      ("base_us", "read(pagemap)", "tab:gray")):
                ys = [r.get(key, float("nan")) for r in rows]
                ax.plot(xs, ys, style, marker="o", color=color, label=f"{label}, {kind}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("pages in the range (4K)")
        ax.set_ylabel("us per scan of the range")
        ax.set_title(f"{clock} clock: cost against range size")
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = args.out
    summaries, allreps, problems, texts, rsts = {}, [], [], [], []
    for clock in ("normal", "icount"):
        path = os.path.join(out, f"raw-{clock}.txt")
        if not os.path.exists(path):
            continue
        reps, env, errors, host = parse(path)
        for r in reps:
            r["clock"] = clock
        allreps += reps
        rows, probs = summarize(clock, reps)
        summaries[clock] = rows
        problems += [f"{clock}: {e}" for e in errors] + probs
        meta = (f"date {host.get('date', '?')}, host load average "
                f"{host.get('loadavg_before', '?')} before / {host.get('loadavg_after', '?')} after, "
                f"scale {env.get('scale', '?')}, {env.get('rounds', '?')} rounds x "
                f"{env.get('reps', '?')} reps per implementation")
        title = f"{clock} clock -- {CLOCK_NOTE[clock]}"
        texts.append(f"{title}\n{meta}\n\n{text_table(rows) if rows else '(no results)'}\n")
        rsts.append((clock, meta, rst_table(rows) if rows else ""))
    if not summaries:
        print(f"bench: no raw-*.txt in {out}", file=sys.stderr)
        return 1

    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clock", "workload", "impl", "rep", "iters", "pages", "ns",
                    "us_per_op", "wall_ns", "calls", "check"])
        for r in allreps:
            w.writerow([r["clock"], r["workload"], r["impl"], r["rep"], r["iters"],
                        r["pages"], r["ns"], f"{r['ns'] / r['iters'] / 1000:.4f}",
                        r["wall"], r["calls"], r["check"]])
    keys = ["clock", "workload", "pages", "iters", "c_us", "rust_us", "ratio", "ratio_lo",
            "ratio_hi", "c_spread", "rust_spread", "base_kind", "base_us", "base_over_c",
            "c_n", "rust_n", "base_n"]
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for rows in summaries.values():
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                            for k, v in r.items()})

    legend = ("us/op: median time of one operation (one full scan of the range, "
              "or one harvest for wp) in microseconds of guest time. Rust/C: ratio of "
              "the medians (>1: Rust slower), 95% CI by bootstrap. IQR/med: "
              "interquartile range over median of the reps. baseline: read(/proc/self/pagemap), "
              "8 bytes per page, same question; (sd) = soft-dirty: read + clear_refs. "
              "base/C: baseline over C PAGEMAP_SCAN.")
    text = "\n".join(texts) + "\n" + legend + "\n"
    if problems:
        text += "\nPROBLEMS:\n" + "\n".join("  " + p for p in problems) + "\n"
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "table.rst"), "w") as f:
        for clock, meta, t in rsts:
            f.write(f"**{clock} clock**: {CLOCK_NOTE[clock]}; {meta}.\n\n{t}\n\n")
    print(text)
    if plot(os.path.join(out, "bench.png"), summaries):
        print(f"bench: plot {os.path.join(out, 'bench.png')}")
    if plot_scaling(os.path.join(out, "scaling.png"), summaries):
        print(f"bench: scaling plot {os.path.join(out, 'scaling.png')}")
    print(f"bench: CSV {os.path.join(out, 'results.csv')}, {os.path.join(out, 'summary.csv')}")
    return 1 if any("differ" in p or "pmbench-error" in p for p in problems) else 0


if __name__ == "__main__":
    sys.exit(main())
