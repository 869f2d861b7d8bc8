#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write rust-project.json for an editor: the handler and the walk API
resolved against the configured tree (KVER, KVARIANT from the environment).

    make rust-analyzer        (runs the tree's `make rust-analyzer` first)

The tree's own generator describes its crates (core, macros, bindings,
uapi, kernel: the overlay's copies of rust/kernel/ are part of `kernel`
there) but cannot find a crate root outside a Makefile it reads. This
keeps the tree's library crates, drops its samples and drivers, and adds
the handler, fs/proc/pagemap_scan_rs.rs of this checkout, as a module
(`--cfg MODULE`) that depends on them. Go-to-definition on `kernel::`
lands in the tree's copy of the abstractions: edit them here, in the
checkout, and `make kernel` copies them over.
"""

import json
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def setting(name):
    return subprocess.run([os.path.join(REPO, "tools/kver.sh"), name], check=True,
                          capture_output=True, text=True).stdout.strip()


def main():
    kout = setting("KOUT")
    src = os.path.join(kout, "rust-project.json")
    with open(src) as f:
        project = json.load(f)
    crates = project["crates"]
    keep = {"core", "alloc", "std", "proc_macro", "compiler_builtins", "macros",
            "build_error", "ffi", "bindings", "uapi", "kernel", "pin_init",
            "pin_init_internal", "zerocopy", "zerocopy_derive", "proc_macro2",
            "quote", "syn"}
    index = {}
    kept = []
    for i, c in enumerate(crates):
        if c["display_name"] in keep:
            index[i] = len(kept)
            kept.append(c)
    for c in kept:
        c["deps"] = [dict(d, crate=index[d["crate"]]) for d in c["deps"] if d["crate"] in index]
    by_name = {c["display_name"]: i for i, c in enumerate(kept)}
    if "kernel" not in by_name:
        sys.exit(f"{src}: no kernel crate (is CONFIG_RUST set?)")
    kernel = kept[by_name["kernel"]]
    deps = [{"crate": by_name[n], "name": n} for n in ("core", "kernel", "macros", "bindings", "uapi", "ffi")
            if n in by_name]
    kept.append({
        "display_name": "pagemap_scan_rs",
        "root_module": os.path.join(REPO, "fs/proc/pagemap_scan_rs.rs"),
        "edition": kernel.get("edition", "2021"),
        "deps": deps,
        "cfg": [c for c in kernel["cfg"] if c != "test"] + ["MODULE"],
        "env": {"RUST_MODFILE": "This is only for rust-analyzer"},
        "is_workspace_member": True,
        "is_proc_macro": False,
    })
    project["crates"] = kept
    out = os.path.join(REPO, "rust-project.json")
    with open(out, "w") as f:
        json.dump(project, f, indent=1, sort_keys=True)
    print(f"wrote {out}: {len(kept)} crates, from {src}")


if __name__ == "__main__":
    main()
