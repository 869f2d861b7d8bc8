// SPDX-License-Identifier: GPL-2.0
//! write-watch: Wine's `GetWriteWatch` / `ResetWriteWatch` on top of
//! userfaultfd async write-protection and PAGEMAP_SCAN.
//!
//! Windows lets a program allocate memory with `MEM_WRITE_WATCH` and later
//! ask which pages were written (`GetWriteWatch`, optionally resetting the
//! pages it returns, with a maximum count) or reset everything
//! (`ResetWriteWatch`). Wine implements this on Linux 6.7+ exactly like
//! below: the allocation is registered for uffd-wp async;
//! `GetWriteWatch` is a PAGEMAP_SCAN for `PAGE_IS_WRITTEN` with `max_pages`
//! set to the count and `PM_SCAN_WP_MATCHING` when resetting;
//! `ResetWriteWatch` write-protects the range again.
//!
//! Every step is checked; the exit status is 1 on any mismatch.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::collections::BTreeSet;
use std::io;

use pagemap_scan::mem::{page_size, Mapping};
use pagemap_scan::WriteTracker;
use sample_check::{must, runs, Checker};

/// A `MEM_WRITE_WATCH` allocation.
struct WatchedAlloc {
    mem: Mapping,
}

/// The write-watch "API", as Wine's ntdll provides it.
struct WriteWatch {
    tracker: WriteTracker,
}

impl WriteWatch {
    /// `VirtualAlloc(MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH)`.
    fn alloc(&self, pages: usize) -> io::Result<WatchedAlloc> {
        let mem = Mapping::anon(pages)?;
        self.tracker.register(mem.range())?;
        Ok(WatchedAlloc { mem })
    }

    /// `GetWriteWatch(flags, base + first, pages, addresses, &count, ...)`:
    /// up to `count` addresses of written pages, in address order;
    /// with `reset`, those pages (and only those) are watched afresh.
    fn get(
        &self,
        a: &WatchedAlloc,
        pages: std::ops::Range<usize>,
        reset: bool,
        count: u64,
    ) -> io::Result<Vec<u64>> {
        let ps = page_size();
        let scan = self
            .tracker
            .scan(a.mem.page_range(pages))
            .wp_matching(reset)
            .limit(count);
        let mut out = Vec::new();
        for r in scan.regions() {
            let r = r?;
            out.extend((r.start..r.end).step_by(ps as usize));
        }
        Ok(out)
    }

    /// `ResetWriteWatch(base + first, pages)`.
    fn reset(&self, a: &WatchedAlloc, pages: std::ops::Range<usize>) -> io::Result<()> {
        self.tracker.reset(a.mem.page_range(pages))
    }
}

/// Addresses as page indices of `a`.
fn idx(a: &WatchedAlloc, addrs: &[u64]) -> BTreeSet<usize> {
    addrs
        .iter()
        .map(|x| ((x - a.mem.addr()) / page_size()) as usize)
        .collect()
}

fn set(v: &[usize]) -> BTreeSet<usize> {
    v.iter().copied().collect()
}

fn main() {
    let mut c = Checker::new("write-watch");
    let ww = WriteWatch {
        tracker: must(&c, "userfaultfd write tracking", WriteTracker::new()),
    };
    let n = 256;
    let a = must(&c, "allocating watched memory", ww.alloc(n));
    println!(
        "write-watch: {n} pages at {:#x}, granularity {} bytes",
        a.mem.addr(),
        page_size()
    );
    macro_rules! get {
        ($pages:expr, $reset:expr, $count:expr) => {
            must(&c, "GetWriteWatch", ww.get(&a, $pages, $reset, $count))
        };
    }

    let got = get!(0..n, false, 1000);
    println!("fresh allocation: written = {}", runs(&idx(&a, &got)));
    c.eq("nothing written after allocation", idx(&a, &got), set(&[]));

    let written = [3, 7, 8, 100, 255];
    for &p in &written {
        a.mem.write(p, 0x5757);
        a.mem.write_at(p, 64, 1); // a second write to the same page
    }
    let got = get!(0..n, false, 1000);
    println!(
        "after writing {}: {}",
        runs(&set(&written)),
        runs(&idx(&a, &got))
    );
    c.eq(
        "GetWriteWatch reports the written pages",
        idx(&a, &got),
        set(&written),
    );
    let addrs: Vec<u64> = written.iter().map(|&p| a.mem.page(p)).collect();
    c.eq("addresses are page aligned and ordered", got.clone(), addrs);
    let got = get!(0..n, false, 1000);
    c.eq(
        "without reset they stay reported",
        idx(&a, &got),
        set(&written),
    );

    let got = get!(0..64, false, 1000);
    println!("sub-range pages 0-63: {}", runs(&idx(&a, &got)));
    c.eq(
        "a sub-range sees only its pages",
        idx(&a, &got),
        set(&[3, 7, 8]),
    );

    let got = get!(0..n, true, 2);
    println!("reset with count 2: {}", runs(&idx(&a, &got)));
    c.eq("count limits the result", idx(&a, &got), set(&[3, 7]));
    let got = get!(0..n, false, 1000);
    println!("after that reset: {}", runs(&idx(&a, &got)));
    c.eq(
        "only the returned pages were reset",
        idx(&a, &got),
        set(&[8, 100, 255]),
    );

    let got = get!(0..n, true, 1000);
    c.eq("reset returns the rest", idx(&a, &got), set(&[8, 100, 255]));
    let got = get!(0..n, false, 1000);
    c.eq("then nothing is written", idx(&a, &got), set(&[]));

    for p in 10..20 {
        a.mem.write(p, 1);
    }
    a.mem.write(200, 1);
    must(&c, "ResetWriteWatch", ww.reset(&a, 0..64));
    let got = get!(0..n, false, 1000);
    println!(
        "ResetWriteWatch(0-63) after writing 10-19 200: {}",
        runs(&idx(&a, &got))
    );
    c.eq(
        "ResetWriteWatch clears its range only",
        idx(&a, &got),
        set(&[200]),
    );

    let _ = a.mem.read(30);
    let got = get!(0..n, true, 1000);
    c.eq("reads are not writes", idx(&a, &got), set(&[200]));

    // Heavy use: every other page written, fetched 7 at a time with reset,
    // as a garbage collector scanning its card table would.
    let many: BTreeSet<usize> = (0..n).step_by(2).collect();
    for &p in &many {
        a.mem.write(p, 2);
    }
    let mut seen = BTreeSet::new();
    let mut sizes = Vec::new();
    let mut twice = BTreeSet::new();
    loop {
        let got = idx(&a, &get!(0..n, true, 7));
        if got.is_empty() || sizes.len() > n {
            break;
        }
        sizes.push(got.len());
        twice.extend(seen.intersection(&got).copied());
        seen.extend(got);
    }
    let calls = sizes.len();
    c.ok(
        "every batch but the last has exactly 7 pages",
        sizes.iter().rev().skip(1).all(|&s| s == 7) && sizes.last().is_some_and(|&s| s <= 7),
        || format!("{sizes:?}"),
    );
    c.ok("no page returned twice", twice.is_empty(), || runs(&twice));
    println!(
        "{} written pages fetched in {calls} batches of 7",
        seen.len()
    );
    c.eq("batched GetWriteWatch sees every page once", seen, many);

    must(&c, "unregister", ww.tracker.unregister(a.mem.range()));
    c.finish();
}
