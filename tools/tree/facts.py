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

The source read is the pristine one (the overlay's patches reversed). A
fact that cannot be read is an error, never a default.
"""

import os
import re
import sys

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


def main():
    ksrc = drift.kver_setting("KSRC")
    if not os.path.exists(os.path.join(ksrc, "Makefile")):
        fail(f"no tree at {ksrc}")
    tree = drift.Tree(ksrc)
    try:
        facts = {
            "PMSCAN_TREE_ID": drift.kver_setting("TREE_ID"),
            "PMSCAN_TREE_RELEASE": release(tree),
            "PMSCAN_TREE_UNKNOWN_IOCTL": unknown_ioctl(tree),
            "PMSCAN_TREE_CATEGORY_BITS": category_bits(tree),
            "PMSCAN_TREE_WRITTEN_GATED": written_gated(tree),
        }
    finally:
        tree.close()
    print("# What the tree's C answers, read from its source (tools/tree/facts.py).")
    for k, v in facts.items():
        print(f"export {k}='{v}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
