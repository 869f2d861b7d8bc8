#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Has the kernel tree's C changed since the module was last reviewed?

    tools/tree/drift.py [--update] [--quiet]     (KVER, KCACHE from the environment)

The Rust module reimplements C of the tree it runs on (fs/proc/task_mmu.c's
PAGEMAP_SCAN walk and the uapi it answers to) and its helpers wrap inline
C of the tree's headers. tools/tree/review/KVER.txt records, per item, a
hash of what was reviewed, and which tree version that was. This compares
the pristine C of the tree under test (the overlay's patches reversed)
with the record:

  fail  a reimplemented item (the pagemap_scan_* family, make_uffd_wp_*,
        the category helpers, do_pagemap_scan, the uapi) changed, appeared
        or disappeared: the claim "same results as C" is stale until
        someone reads the change;
  warn  other relevant C changed: mm/pagewalk.c, do_pagemap_cmd, the
        definitions the helpers and the bindings call.

Prints one line per difference and "suite: tree-drift impl=host pass=N
fail=N skip=0"; exits 1 when a fail item differs. --update rewrites the
record from the tree (after the review: see Documentation/testing.rst).
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csource  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# The C the module reimplements: a change fails the check.
TASK_MMU = "fs/proc/task_mmu.c"
UAPI = "include/uapi/linux/fs.h"
FAIL_FN = re.compile(r"^(pagemap_scan_\w+|make_uffd_wp_\w+|pagemap_(page|thp|hugetlb)_category"
                     r"|do_pagemap_scan)$")
FAIL_FIXED = [(TASK_MMU, "struct", "pagemap_scan_private"),
              (TASK_MMU, "struct", "pagemap_scan_ops"),
              (TASK_MMU, "macro", "PM_SCAN_CATEGORIES"),
              (TASK_MMU, "macro", "PM_SCAN_FLAGS"),
              (UAPI, "struct", "page_region"),
              (UAPI, "struct", "pm_scan_arg")]
UAPI_MACRO = re.compile(r"^#\s*define\s+(PAGE_IS_\w+|PM_SCAN_\w+|PAGEMAP_SCAN)\b", re.M)
# Other relevant C: a change is printed as a warning.
WARN_FIXED = [(TASK_MMU, "fn", "do_pagemap_cmd"), ("mm/pagewalk.c", "file", "-")]
# Where the definitions of the helpers' callees are looked for (--update).
SEARCH = ["include/linux/*.h", "include/linux/sched/*.h", "include/asm-generic/*.h",
          "arch/x86/include/asm/*.h", "mm/*.c", "mm/*.h", "fs/userfaultfd.c",
          "fs/hugetlbfs/inode.c"]
CALLERS = ["fs/proc/pagemap_scan.c", "rust/helpers/*.c", "rust/6.12/helpers/*.c",
           "include/linux/*.h"]
RUST = ["rust/kernel/**/*.rs", "rust/6.12/kernel/**/*.rs"]


def kver_setting(name):
    return subprocess.run([os.path.join(REPO, "tools/kver.sh"), name], check=True,
                          capture_output=True, text=True).stdout.strip()


class Tree:
    """The pristine view of KSRC: files the overlay's patches touched are
    read with the patches reversed, in a scratch copy. With series=False
    the upstream fix series of a CFIXED=1 tree is reversed too (the tree as
    shipped, which the review record is of); with series=True it is kept
    (the C that runs)."""

    def __init__(self, ksrc, series=False):
        self.ksrc = ksrc
        self.tmp = tempfile.mkdtemp(prefix="tree-drift.")
        self.pristine = {}
        self.texts = {}
        self.fuzz = []
        patches = sorted(glob.glob(os.path.join(ksrc, ".pmscan/applied/*.patch")))
        series_patches = sorted(glob.glob(os.path.join(ksrc, ".pmscan/series/*.patch")))
        if not series:
            patches = series_patches + patches
        touched = set()
        for p in patches:
            with open(p, errors="replace") as f:
                for line in f:
                    m = re.match(r"^\+\+\+ b/(\S+)", line)
                    if m:
                        touched.add(m.group(1))
        for rel in touched:
            src = os.path.join(ksrc, rel)
            if os.path.exists(src):
                os.makedirs(os.path.dirname(os.path.join(self.tmp, rel)), exist_ok=True)
                shutil.copy(src, os.path.join(self.tmp, rel))
        for p in reversed(patches):
            with open(p, "rb") as f:
                r = subprocess.run(["patch", "-R", "-p1", "-d", self.tmp, "--no-backup-if-mismatch"],
                                   stdin=f, capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"tree-drift: cannot reverse {p}:\n{r.stdout}{r.stderr}")
            inexact = [ln for ln in r.stdout.splitlines() if "fuzz" in ln or "offset" in ln]
            # Over the series (CFIXED=1), the overlay's patches are offset
            # by design: they are made against the tree as shipped.
            if inexact and not series_patches:
                self.fuzz.append((os.path.basename(p), "\n".join(inexact)))
        for rel in touched:
            self.pristine[rel] = os.path.join(self.tmp, rel)

    def read(self, rel):
        """The text of `rel` (None if absent), read once."""
        if rel not in self.texts:
            path = self.pristine.get(rel, os.path.join(self.ksrc, rel))
            try:
                with open(path, errors="replace") as f:
                    self.texts[rel] = f.read()
            except FileNotFoundError:
                self.texts[rel] = None
        return self.texts[rel]

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def item_hash(tree, rel, kind, name):
    text = tree.read(rel)
    if text is None:
        return "absent"
    if kind == "file":
        return digest(text)
    defs = csource.find(text, kind, name)
    return digest("\n\f\n".join(defs)) if defs else "absent"


def callees():
    """Names the helpers call and the Rust code calls through bindings::."""
    names, defined = set(), set()
    for pat in CALLERS:
        for path in glob.glob(os.path.join(REPO, pat)):
            if pat == "include/linux/*.h" and "pte_info" not in path and "pagemap_scan" not in path:
                continue
            with open(path) as f:
                text = f.read()
            text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
            names |= set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", text))
            defined |= set(re.findall(r"^\S.*?\b([a-z_][a-z0-9_]*)\s*\(", text, flags=re.M))
    for pat in RUST:
        for path in glob.glob(os.path.join(REPO, pat), recursive=True):
            with open(path) as f:
                names |= set(re.findall(r"bindings::([a-z_][a-z0-9_]*)\s*\(", f.read()))
    keywords = {"if", "for", "while", "switch", "return", "sizeof", "typeof", "defined",
                "__rust_helper", "unlikely", "likely", "offsetof"}
    return sorted(n for n in names - defined - keywords if not n.startswith("rust_helper_"))


def items_of(tree):
    """Every (class, file, kind, name) the record covers, from the tree."""
    out = []
    task_mmu = tree.read(TASK_MMU) or ""
    fns = sorted(set(re.findall(r"^\S[^;]*?\b(\w+)\s*\(", task_mmu, flags=re.M)))
    for name in fns:
        if FAIL_FN.match(name) and csource.find(task_mmu, "fn", name):
            out.append(("fail", TASK_MMU, "fn", name))
    out += [("fail",) + i for i in FAIL_FIXED]
    for name in sorted(set(UAPI_MACRO.findall(tree.read(UAPI) or ""))):
        out.append(("fail", UAPI, "macro", name))
    out += [("warn",) + i for i in WARN_FIXED]
    return out


def callee_items(tree):
    files = []
    for pat in SEARCH:
        files += sorted(glob.glob(os.path.join(tree.ksrc, pat)))
    texts = {}
    for path in files:
        rel = os.path.relpath(path, tree.ksrc)
        texts[rel] = tree.read(rel)
    out = []
    for name in callees():
        for rel, text in texts.items():
            if not text or name not in text:
                continue
            kind, _defs = csource.find_any(text, name)
            if kind:
                out.append(("warn", rel, kind, name))
    return out


def load_record(path):
    reviewed, rec = "?", {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("reviewed "):
                reviewed = line[len("reviewed "):]
                continue
            cls, rel, kind, name, h = line.split()
            rec[(rel, kind, name)] = (cls, h)
    return reviewed, rec


def main():
    update = "--update" in sys.argv[1:]
    quiet = "--quiet" in sys.argv[1:]
    kver = kver_setting("KVER")
    ksrc = kver_setting("KSRC")
    version = kver_setting("TREE_ID")
    record = os.path.join(REPO, "tools/tree/review", f"{kver}.txt")
    if not os.path.exists(os.path.join(ksrc, "Makefile")):
        print(f"tree-drift: no tree at {ksrc} (run make kernel KVER={kver})")
        print("suite: tree-drift impl=host pass=0 fail=1 skip=0")
        return 1
    tree = Tree(ksrc)
    try:
        if update:
            items = items_of(tree) + callee_items(tree)
            with open(record, "w") as f:
                f.write(f"# The C of the {kver} tree that the Rust module and its helpers were last\n"
                        "# reviewed against: class, file, kind, name, hash of the pristine\n"
                        "# definition(s). Written by tools/tree/drift.py --update after a\n"
                        "# review; see Documentation/testing.rst, \"When the tree moves\".\n")
                f.write(f"reviewed {version}\n")
                for cls, rel, kind, name in items:
                    f.write(f"{cls} {rel} {kind} {name} {item_hash(tree, rel, kind, name)}\n")
            print(f"tree-drift: {record}: {len(items)} items of {version}")
            return 0
        reviewed, rec = load_record(record)
        passed = failed = warned = 0
        if reviewed != version:
            print(f"tree-drift: the tree is {version}; the record is of {reviewed}")
        for name, out in tree.fuzz:
            print(f"tree-drift: warning: {name} applies to this tree only with fuzz or offsets "
                  "(tools/tree/regen-patch.sh rewrites it):\n    " + out.replace("\n", "\n    "))
        # New members of the reimplemented family fail too.
        for cls, rel, kind, name in items_of(tree):
            if (rel, kind, name) not in rec:
                rec[(rel, kind, name)] = (cls, "absent")
        for (rel, kind, name), (cls, want) in sorted(rec.items()):
            got = item_hash(tree, rel, kind, name)
            what = f"{rel} {name if kind != 'file' else '(whole file)'}"
            if got == want:
                passed += 1
                continue
            change = ("appeared" if want == "absent" else
                      "disappeared" if got == "absent" else "changed")
            if cls == "fail":
                failed += 1
                print(f"tree-drift: FAIL: {what} {change} since the review of {reviewed}: "
                      "the module reimplements it")
            else:
                warned += 1
                if not quiet:
                    print(f"tree-drift: warning: {what} {change} since the review of {reviewed}")
        print(f"tree-drift: {version}: {passed} items as reviewed, {failed} reimplemented "
              f"items changed, {warned} warnings (record {os.path.relpath(record, REPO)})")
        print(f"suite: tree-drift impl=host pass={passed} fail={failed} skip=0")
        return 1 if failed else 0
    finally:
        tree.close()


if __name__ == "__main__":
    sys.exit(main())
