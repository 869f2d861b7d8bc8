// SPDX-License-Identifier: GPL-2.0
//! predump: what checkpoint/restore (CRIU) asks PAGEMAP_SCAN when dumping
//! memory.
//!
//! 1. Which pages hold data: present or swapped, but not the shared zero
//!    page (`PAGE_IS_PFNZERO`: nothing to save).
//! 2. Swapped pages (`PAGE_IS_SWAPPED`) after `MADV_PAGEOUT` (needs swap).
//! 3. Iterative pre-dump: write `4` to `/proc/self/clear_refs` to clear the
//!    soft-dirty bits, let the program run, then dump only pages that are
//!    `PAGE_IS_SOFT_DIRTY` (needs `CONFIG_MEM_SOFT_DIRTY`).
//!
//!    Without soft-dirty (every arm64 kernel: the architecture has no
//!    soft-dirty bits; or a kernel built without it) the sample says so,
//!    checks that no page is ever reported soft-dirty, and runs the same
//!    iterations with what works there: userfaultfd asynchronous
//!    write-protection, where a harvest (`PAGE_IS_WRITTEN` with
//!    `PM_SCAN_WP_MATCHING`) reports the pages written since the previous
//!    one and write-protects them again in the same walk. (Unlike
//!    soft-dirty, only the process itself can set that up.)
//!
//! Every answer is compared with what the program did; the exit status is
//! 1 on any mismatch. Parts the kernel cannot do are reported as SKIP
//! (failures with `PAGEMAP_SCAN_REQUIRE_ALL=1`), but for soft-dirty on an
//! architecture without it, which is a NOTE: there the absence is the
//! right answer, and the fallback is checked instead.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::collections::BTreeSet;

use pagemap_scan::mem::Mapping;
use pagemap_scan::probe::{check_pagemap_scan, soft_dirty, swap_active};
use pagemap_scan::{
    category_names, PageRegion, Pagemap, WriteTracker, PAGE_IS_FILE, PAGE_IS_PFNZERO,
    PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED,
};
use sample_check::{must, page_set, region_pages, runs, Checker};

const P: u64 = PAGE_IS_PRESENT;
const S: u64 = PAGE_IS_SWAPPED;
const Z: u64 = PAGE_IS_PFNZERO;
const SD: u64 = PAGE_IS_SOFT_DIRTY;

fn show(m: &Mapping, what: &str, regions: &[PageRegion]) {
    let ps = pagemap_scan::page_size();
    let parts: Vec<String> = regions
        .iter()
        .map(|r| {
            let a = (r.start - m.addr()) / ps;
            let b = (r.end - m.addr()) / ps;
            format!("[{a}-{}] {}", b - 1, category_names(r.categories))
        })
        .collect();
    println!(
        "  {what}: {}",
        if parts.is_empty() {
            "(none)".into()
        } else {
            parts.join(", ")
        }
    );
}

/// Regions as (first page, end page, categories) relative to `m`.
fn rel(m: &Mapping, regions: &[PageRegion]) -> Vec<(usize, usize, u64)> {
    let ps = pagemap_scan::page_size();
    regions
        .iter()
        .map(|r| {
            (
                ((r.start - m.addr()) / ps) as usize,
                ((r.end - m.addr()) / ps) as usize,
                r.categories,
            )
        })
        .collect()
}

fn set(r: std::ops::Range<usize>) -> BTreeSet<usize> {
    r.collect()
}

fn content(p: usize) -> u64 {
    0xc0de_0000 + p as u64
}

/// The pages each pre-dump iteration writes.
fn iterations() -> Vec<Vec<usize>> {
    vec![vec![5, 10, 11, 12, 40, 63, 70], vec![1], vec![]]
}

/// Step 3 with soft-dirty: `clear_refs`, write, dump the soft-dirty pages.
fn soft_dirty_predump(c: &mut Checker, pm: &Pagemap, m: &Mapping) {
    let dirty_scan = pm
        .scan(m.range())
        .category_mask(SD)
        .category_anyof_mask(P | S)
        .return_mask(SD);
    for (iter, subset) in iterations().into_iter().enumerate() {
        must(
            c,
            "clear_refs",
            std::fs::write("/proc/self/clear_refs", "4"),
        );
        let clean = must(c, "scan", dirty_scan.collect());
        c.eq(
            &format!("iteration {iter}: clean after clear_refs"),
            region_pages(m, &clean),
            BTreeSet::new(),
        );
        for &p in &subset {
            m.write(p, content(p));
        }
        let dirty = must(c, "scan", dirty_scan.collect());
        show(m, &format!("iteration {iter}: soft-dirty"), &dirty);
        c.eq(
            &format!("iteration {iter}: exactly the pages written"),
            region_pages(m, &dirty),
            subset.iter().copied().collect(),
        );
        c.ok(
            &format!("iteration {iter}: regions carry only SOFT_DIRTY"),
            dirty.iter().all(|r| r.categories == SD),
            || format!("{:?}", rel(m, &dirty)),
        );
    }
}

/// Without soft-dirty: `clear_refs` is accepted, and written pages are
/// never `PAGE_IS_SOFT_DIRTY`, before or after it.
fn check_no_soft_dirty(c: &mut Checker, pm: &Pagemap, m: &Mapping) {
    let sd_scan = pm.scan(m.range()).category_mask(SD).return_mask(SD);
    let before = must(c, "scan", sd_scan.collect());
    c.eq(
        "no page is soft-dirty (kernel without soft-dirty)",
        region_pages(m, &before),
        BTreeSet::new(),
    );
    let cleared = std::fs::write("/proc/self/clear_refs", "4");
    c.ok("clear_refs 4 is accepted", cleared.is_ok(), || {
        format!("{cleared:?}")
    });
    m.write(5, content(5));
    let after = must(c, "scan", sd_scan.collect());
    c.eq(
        "a page written after clear_refs is not soft-dirty either",
        region_pages(m, &after),
        BTreeSet::new(),
    );
}

/// Step 3 with userfaultfd asynchronous write-protection instead of
/// soft-dirty: registering write-protects the range (the first "clear"),
/// each harvest reports the written pages and write-protects them again.
fn uffd_wp_predump(c: &mut Checker, m: &Mapping) {
    let wt = match WriteTracker::new() {
        Ok(wt) => wt,
        Err(e) => return c.skip("uffd-wp pre-dump", &e.to_string()),
    };
    must(c, "register for uffd-wp", wt.register(m.range()));
    for (iter, subset) in iterations().into_iter().enumerate() {
        let clean = must(c, "peek", wt.peek(m.range()));
        c.eq(
            &format!("uffd-wp iteration {iter}: nothing written since the last harvest"),
            page_set(m, &clean),
            BTreeSet::new(),
        );
        for &p in &subset {
            m.write(p, content(p));
        }
        let written = must(c, "harvest", wt.harvest(m.range()));
        println!(
            "  uffd-wp iteration {iter}: written {}",
            runs(&page_set(m, &written))
        );
        c.eq(
            &format!("uffd-wp iteration {iter}: exactly the pages written"),
            page_set(m, &written),
            subset.iter().copied().collect(),
        );
    }
    must(c, "unregister", wt.unregister(m.range()));
}

fn main() {
    let mut c = Checker::new("predump");
    if let Err(e) = check_pagemap_scan() {
        c.fatal(e);
    }
    let pm = must(&c, "open /proc/self/pagemap", Pagemap::open_self());
    let n = 128;
    let m = must(&c, "mmap", Mapping::anon(n));
    println!("predump: {n} anonymous pages at {:#x}", m.addr());

    // 1. Data pages.
    println!("step 1: write pages 0-63, read page 100");
    for p in 0..64 {
        m.write(p, content(p));
    }
    let _ = m.read(100);
    let all = must(
        &c,
        "scan",
        pm.scan(m.range())
            .category_anyof_mask(P | S)
            .return_mask(P | S | Z | PAGE_IS_FILE)
            .collect(),
    );
    show(&m, "present or swapped", &all);
    c.eq(
        "present pages and the zero page",
        rel(&m, &all),
        vec![(0, 64, P), (100, 101, P | Z)],
    );
    let dump_scan = pm
        .scan(m.range())
        .category_mask(Z)
        .category_inverted(Z)
        .category_anyof_mask(P | S)
        .return_mask(0);
    let dump = must(&c, "scan", dump_scan.collect());
    show(&m, "pages to dump (present|swapped, not pfnzero)", &dump);
    c.eq(
        "dump set is the written pages",
        region_pages(&m, &dump),
        set(0..64),
    );

    // 2. Swap.
    println!("step 2: MADV_PAGEOUT pages 32-47");
    if !swap_active() {
        c.skip("swapped pages", "no active swap area in /proc/swaps");
    } else if let Err(e) = m.madvise(32..48, libc::MADV_PAGEOUT) {
        c.skip("swapped pages", &format!("MADV_PAGEOUT: {e}"));
    } else {
        let sw = must(
            &c,
            "scan",
            pm.scan(m.range()).category_mask(S).return_mask(S).collect(),
        );
        show(&m, "swapped", &sw);
        let swapped = region_pages(&m, &sw);
        c.ok("some pages were swapped out", !swapped.is_empty(), || {
            "MADV_PAGEOUT swapped nothing".into()
        });
        c.ok(
            "only paged-out pages are swapped",
            swapped.is_subset(&set(32..48)),
            || runs(&swapped),
        );
        let present = must(
            &c,
            "scan",
            pm.scan(m.range()).category_mask(P).return_mask(P).collect(),
        );
        let present = region_pages(&m, &present);
        c.ok(
            "present and swapped are disjoint",
            present.is_disjoint(&swapped),
            || runs(&present.intersection(&swapped).copied().collect()),
        );
        let dump = must(&c, "scan", dump_scan.collect());
        c.eq(
            "dump set unchanged by swapping",
            region_pages(&m, &dump),
            set(0..64),
        );
    }

    // 3. Pre-dump iterations: soft-dirty, or uffd-wp where there is none.
    println!("step 3: clear, write a subset, dump the pages written");
    let sd = soft_dirty();
    match sd.support.reason() {
        None => soft_dirty_predump(&mut c, &pm, &m),
        Some(why) => {
            println!("  soft-dirty is not available: {why}");
            check_no_soft_dirty(&mut c, &pm, &m);
            match &sd.architecture_lacks {
                Some(arch) => c.note(
                    "soft-dirty pre-dump",
                    &format!("{arch} has no soft-dirty bits; using uffd-wp instead"),
                ),
                None => c.skip("soft-dirty pre-dump", why),
            }
            println!("step 3b: the same with userfaultfd write-protection (PAGE_IS_WRITTEN)");
            uffd_wp_predump(&mut c, &m);
        }
    }

    // The data survived everything.
    let bad: BTreeSet<usize> = (0..64).filter(|&p| m.read(p) != content(p)).collect();
    c.ok("page contents intact", bad.is_empty(), || runs(&bad));
    c.finish();
}
