#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What the C of the tree under test answers, read from its source.

    tools/tree/facts.py        (KVER, KCACHE from the environment)

Prints shell assignments (PMSCAN_TREE_*=...) for the guest: the test
programs take the answers that C owns from these instead of from a
hard-coded value or a guess from the release number, so that a stable
update of the tree that changes one is followed, not failed:

  PMSCAN_TREE_ID             package and version of the tree
  PMSCAN_TREE_RELEASE        its kernel release (the guest checks uname -r)
  PMSCAN_TREE_UNKNOWN_IOCTL  errno of an ioctl command that do_pagemap_cmd()
                             does not know (its default: return ...;
                             -ENOIOCTLCMD reaches userspace as ENOTTY)
  PMSCAN_TREE_CATEGORY_BITS  categories of the uapi (PAGE_IS_* bits): the
                             first bit pagemap_scan_get_args() refuses
  PMSCAN_TREE_WRITTEN_GATED  1 when pagemap_page_category() reports
                             PAGE_IS_WRITTEN only in uffd-wp VMAs (it tests
                             userfaultfd_wp(vma)), 0 when everywhere
  PMSCAN_TREE_C_FIXES        the fixes of the upstream series
                             (patches/upstream/KVER, c-fixes.rst) that the
                             C has, by name (FIXES below), space-separated:
                             a test expects C's documented defect where its
                             fix is missing, and C == Rust where it is there

The source read is the pristine one (the overlay's patches reversed; the
fix series of a CFIXED=1 tree kept: it is the C that runs). A fact that
cannot be read is an error, never a default.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csource  # noqa: E402
import drift  # noqa: E402


def fail(msg):
    sys.exit(f"tree-facts: {msg}")


def release(tree):
    mk = tree.read("Makefile") or ""
    parts = [re.search(r"^%s = (\S*)" % k, mk, re.M) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")]
    if not all(parts):
        fail("no VERSION/PATCHLEVEL/SUBLEVEL in the tree's Makefile")
    v, p, s = (m.group(1) for m in parts)
    return f"{v}.{p}.{s}" if s and s != "0" else f"{v}.{p}"


def unknown_ioctl(tree):
    defs = csource.find(tree.read(drift.TASK_MMU) or "", "fn", "do_pagemap_cmd")
    if len(defs) != 1:
        fail(f"do_pagemap_cmd(): {len(defs)} definitions")
    m = re.search(r"default:\s*return\s+-(E[A-Z0-9]+)\s*;", defs[0])
    if not m:
        fail("do_pagemap_cmd(): no 'default: return -E...;'")
    # vfs_ioctl() turns -ENOIOCTLCMD into -ENOTTY.
    return "ENOTTY" if m.group(1) == "ENOIOCTLCMD" else m.group(1)


def category_bits(tree):
    bits = [int(b) for b in re.findall(r"^#define\s+PAGE_IS_\w+\s+\(1\s*<<\s*(\d+)\)",
                                       tree.read(drift.UAPI) or "", re.M)]
    if not bits or sorted(bits) != list(range(len(bits))):
        fail(f"{drift.UAPI}: PAGE_IS_* bits {bits} are not 0..n-1")
    return len(bits)


def written_gated(tree):
    defs = csource.find(tree.read(drift.TASK_MMU) or "", "fn", "pagemap_page_category")
    if len(defs) != 1:
        fail(f"pagemap_page_category(): {len(defs)} definitions")
    return 1 if re.search(r"\buserfaultfd_wp\s*\(\s*vma\s*\)", defs[0]) else 0


# The fixes of the series, by patch number: the names the tests know.
FIXES = [("0001", "walk_end_flush"), ("0002", "walk_end_thp"), ("0003", "merge_flush"),
         ("0004", "migration_wp")]


def c_fixes(tree):
    """The fixes whose patch is in the tree's C. From the last patch of the
    series down, on a scratch copy: a patch that reverses exactly is there
    (and is reversed, so the one before it meets the text it was written
    against), one that applies exactly is not; anything else is an error
    (C that is neither: the tests' expectations would be a guess)."""
    kver = drift.kver_setting("KVER")
    tmp = tempfile.mkdtemp(prefix="tree-facts.")
    have = []
    try:
        for num, name in reversed(FIXES):
            pats = glob.glob(os.path.join(drift.REPO, "patches/upstream", kver, num + "-*.patch"))
            if len(pats) != 1:
                fail(f"patches/upstream/{kver}: {len(pats)} patches {num}-*")
            with open(pats[0]) as f:
                text = f.read()
            for rel in re.findall(r"^\+\+\+ b/(\S+)", text, re.M):
                dst = os.path.join(tmp, rel)
                if not os.path.exists(dst):
                    src = tree.read(rel)
                    if src is None:
                        fail(f"{os.path.basename(pats[0])}: no {rel} in the tree")
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    with open(dst, "w") as f:
                        f.write(src)

            def patch(*args):
                return subprocess.run(["patch", "-p1", "-F0", "-s", "-f", "-d", tmp,
                                       "--no-backup-if-mismatch", *args],
                                      input=text, capture_output=True, text=True).returncode

            if patch("-R", "--dry-run") == 0:
                patch("-R")
                have.insert(0, name)
            elif patch("--dry-run") != 0:
                fail(f"{os.path.basename(pats[0])} neither applies nor reverses: "
                     "cannot tell whether the C has its fix")
    finally:
        subprocess.run(["rm", "-rf", tmp], check=False)
    return " ".join(have)


def main():
    ksrc = drift.kver_setting("KSRC")
    if not os.path.exists(os.path.join(ksrc, "Makefile")):
        fail(f"no tree at {ksrc}")
    tree = drift.Tree(ksrc, series=True)
    try:
        facts = {
            "PMSCAN_TREE_ID": drift.kver_setting("TREE_ID"),
            "PMSCAN_TREE_RELEASE": release(tree),
            "PMSCAN_TREE_UNKNOWN_IOCTL": unknown_ioctl(tree),
            "PMSCAN_TREE_CATEGORY_BITS": category_bits(tree),
            "PMSCAN_TREE_WRITTEN_GATED": written_gated(tree),
            "PMSCAN_TREE_C_FIXES": c_fixes(tree),
        }
    finally:
        tree.close()
    print("# What the tree's C answers, read from its source (tools/tree/facts.py).")
    for k, v in facts.items():
        print(f"export {k}='{v}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
