// SPDX-License-Identifier: GPL-2.0
//! Integration tests of PAGEMAP_SCAN against the running kernel.
//!
//! A test whose kernel feature is missing prints `SKIP <test>: <cause>` on
//! the real stderr (not captured by the harness) and returns. With
//! `PAGEMAP_SCAN_REQUIRE_ALL=1` in the environment every skip is a failure
//! instead (for guests whose kernel is expected to have everything).
//!
//! Soft-dirty is the one feature that is not a kernel option everywhere:
//! arm64 kernels cannot have it (the architecture has no soft-dirty bits,
//! see `probe::soft_dirty`). There, the tests that need it check its
//! absence instead (`PAGE_IS_SOFT_DIRTY` never reported, a scan requiring
//! it matches nothing, `watch` refuses and says why) and pass, also with
//! `PAGEMAP_SCAN_REQUIRE_ALL=1`: nothing is missing that the kernel could
//! have. On an architecture that has soft-dirty (x86-64), a kernel built
//! without it gets the same absence checks, then a skip (a failure under
//! `PAGEMAP_SCAN_REQUIRE_ALL=1`).
//!
//! Sizes come from the running system, never from x86-64's 4 KiB pages and
//! 2 MiB PMDs: the page size (`sysconf`), the PMD (THP) size
//! (`hpage_pmd_size`: 512 MiB with 64 KiB pages, so THP tests map one PMD)
//! and the hugetlb sizes (`/sys/kernel/mm/hugepages`).
//!
//! In a guest run as `pagemap-scan-tests --test-threads=1`.
#![deny(clippy::undocumented_unsafe_blocks)]

// `pagemap-scan watch` needs soft-dirty: the x86-64 guest kernel has it;
// on arm64 the watch tests check the refusal.
mod watch_cli;

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use pagemap_scan::abi::PM_SCAN_FLAGS;
use pagemap_scan::mem::{hugetlb_sizes, page_size, pmd_size, Mapping, HUGEPAGES_DIR};
use pagemap_scan::probe::{pagemap_entry, swap_active, SoftDirty};
use pagemap_scan::uffd::{supported_features, UFFD_FEATURE_WP_HUGETLBFS_SHMEM};
use pagemap_scan::*;

// ---------------------------------------------------------------- helpers

fn skip(test: &str, why: &str) {
    if std::env::var_os("PAGEMAP_SCAN_REQUIRE_ALL").is_some_and(|v| v != "0") {
        panic!("{test}: required feature missing: {why}");
    }
    // Bypass the harness's output capture so the skip is always visible.
    let _ = writeln!(io::stderr(), "SKIP {test}: {why}");
}

fn note(test: &str, what: &str) {
    let _ = writeln!(io::stderr(), "NOTE {test}: {what}");
}

/// `bytes` (a power of two) as `64K`, `2M`, `512M`, `1G`.
fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{}G", b >> 30),
        b if b >= 1 << 20 => format!("{}M", b >> 20),
        b => format!("{}K", b >> 10),
    }
}

/// `/proc/self/pagemap`, or `None` (after printing why) when the kernel
/// has no working PAGEMAP_SCAN.
fn pagemap(test: &str) -> Option<Pagemap> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let avail = AVAILABLE.get_or_init(|| probe::check_pagemap_scan().map_err(|e| e.to_string()));
    match avail {
        Ok(()) => Some(Pagemap::open_self().expect("open /proc/self/pagemap")),
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

/// A WriteTracker, or `None` (after printing why).
fn tracker(test: &str) -> Option<WriteTracker> {
    pagemap(test)?;
    match WriteTracker::new() {
        Ok(t) => Some(t),
        Err(e) => {
            skip(test, &format!("userfaultfd WP_ASYNC unavailable: {e}"));
            None
        }
    }
}

macro_rules! need {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return,
        }
    };
}

/// Regions as (first page, end page, categories) relative to `m`.
fn rel(m: &Mapping, regions: &[PageRegion]) -> Vec<(usize, usize, u64)> {
    let ps = page_size();
    regions
        .iter()
        .map(|r| {
            assert!(
                r.start >= m.addr() && r.end <= m.range().end,
                "region {:#x}-{:#x} outside the mapping {:#x}-{:#x}",
                r.start,
                r.end,
                m.addr(),
                m.range().end
            );
            (
                ((r.start - m.addr()) / ps) as usize,
                ((r.end - m.addr()) / ps) as usize,
                r.categories,
            )
        })
        .collect()
}

/// Address ranges as page index ranges relative to `m`.
fn rel_ranges(m: &Mapping, ranges: &[Range<u64>]) -> Vec<Range<usize>> {
    let ps = page_size();
    ranges
        .iter()
        .map(|r| ((r.start - m.addr()) / ps) as usize..((r.end - m.addr()) / ps) as usize)
        .collect()
}

fn pages_in(ranges: &[Range<usize>]) -> BTreeSet<usize> {
    ranges.iter().flat_map(|r| r.clone()).collect()
}

fn errno_of<T: std::fmt::Debug>(r: io::Result<T>) -> i32 {
    let e = r.expect_err("expected an error");
    errno(&e).unwrap_or_else(|| panic!("error without errno: {e}"))
}

const P: u64 = PAGE_IS_PRESENT;

/// AnonHugePages (kB) of the VMA starting at `addr`, from /proc/self/smaps.
fn anon_huge_kb(addr: u64) -> Option<u64> {
    let smaps = fs::read_to_string("/proc/self/smaps").ok()?;
    let mut in_vma = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if !first.ends_with(':') {
            in_vma = maps::parse_line(line).is_ok_and(|v| v.start == addr);
        } else if in_vma {
            if let Some(v) = line.strip_prefix("AnonHugePages:") {
                return v.trim().trim_end_matches("kB").trim().parse().ok();
            }
        }
    }
    None
}

/// An anonymous mapping of one PMD (2 MiB with 4 KiB pages, 512 MiB with
/// 64 KiB pages) backed by one THP, or `None` (after printing why).
fn thp_mapping(test: &str) -> Option<Mapping> {
    match probe::thp_mode() {
        None => {
            skip(test, "no transparent huge page support");
            return None;
        }
        Some(m) if m == "never" => {
            skip(test, "transparent huge pages disabled (enabled=never)");
            return None;
        }
        _ => {}
    }
    let m = Mapping::anon_aligned_huge(pmd_size() as usize, pmd_size() as usize).unwrap();
    m.write(0, 1);
    if anon_huge_kb(m.addr()).unwrap_or(0) < pmd_size() / 1024 {
        skip(
            test,
            &format!(
                "the kernel did not back the {} mapping with a THP",
                human(pmd_size())
            ),
        );
        return None;
    }
    Some(m)
}

// ------------------------------------------------------- basic categories

#[test]
fn present_exact() {
    let pm = need!(pagemap("present_exact"));
    let m = Mapping::anon(64).unwrap();
    for i in [0, 1, 2, 10, 20, 21, 22, 23, 24, 63] {
        m.write(i, i as u64 + 1);
    }
    let (regions, walk_end) = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P)
        .run()
        .unwrap();
    assert_eq!(
        rel(&m, &regions),
        vec![(0, 3, P), (10, 11, P), (20, 25, P), (63, 64, P)]
    );
    assert_eq!(walk_end, m.range().end);
    // The iterator gives the same.
    let it = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P)
        .collect()
        .unwrap();
    assert_eq!(it, regions);
}

#[test]
fn inverted_not_present() {
    let pm = need!(pagemap("inverted_not_present"));
    let m = Mapping::anon(16).unwrap();
    for i in [3, 4, 9] {
        m.write(i, 1);
    }
    let r = pm
        .scan(m.range())
        .category_mask(P)
        .category_inverted(P)
        .return_mask(P)
        .collect()
        .unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 3, 0), (5, 9, 0), (10, 16, 0)]);
}

#[test]
fn anyof_and_return_mask() {
    let pm = need!(pagemap("anyof_and_return_mask"));
    let m = Mapping::anon(16).unwrap();
    m.write(1, 1);
    m.write(2, 1);
    let _ = m.read(5); // zero page: present + pfnzero
    let _ = m.read(6);
    m.write(7, 1);
    // Present pages, every category reported: pfnzero splits the run.
    let all = pm
        .scan(m.range())
        .category_anyof_mask(P | PAGE_IS_SWAPPED)
        .return_mask(P | PAGE_IS_PFNZERO)
        .collect()
        .unwrap();
    assert_eq!(
        rel(&m, &all),
        vec![(1, 3, P), (5, 7, P | PAGE_IS_PFNZERO), (7, 8, P)]
    );
    // return_mask 0: adjacent matching pages merge whatever their categories.
    let merged = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(0)
        .collect()
        .unwrap();
    assert_eq!(rel(&m, &merged), vec![(1, 3, 0), (5, 8, 0)]);
    // anyof with a category nobody has: nothing.
    let none = pm
        .scan(m.range())
        .category_anyof_mask(PAGE_IS_SWAPPED | PAGE_IS_FILE)
        .return_mask(P)
        .collect()
        .unwrap();
    assert_eq!(none, vec![]);
}

#[test]
fn pfnzero_read_fault() {
    let pm = need!(pagemap("pfnzero_read_fault"));
    let m = Mapping::anon(8).unwrap();
    assert_eq!(m.read(4), 0);
    m.write(5, 9);
    let r = pm
        .scan(m.range())
        .category_mask(PAGE_IS_PFNZERO)
        .return_mask(PAGE_IS_ALL & !PAGE_IS_SOFT_DIRTY & !PAGE_IS_WRITTEN)
        .collect()
        .unwrap();
    assert_eq!(rel(&m, &r), vec![(4, 5, P | PAGE_IS_PFNZERO)]);
}

#[test]
fn file_backed_memfd() {
    let pm = need!(pagemap("file_backed_memfd"));
    let m = Mapping::memfd(8).unwrap();
    m.write(2, 1);
    m.write(3, 1);
    let r = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P | PAGE_IS_FILE)
        .collect()
        .unwrap();
    assert_eq!(rel(&m, &r), vec![(2, 4, P | PAGE_IS_FILE)]);
    let anon = Mapping::anon(2).unwrap();
    anon.write(0, 1);
    let r = pm
        .scan(anon.range())
        .category_mask(P)
        .return_mask(P | PAGE_IS_FILE)
        .collect()
        .unwrap();
    assert_eq!(rel(&anon, &r), vec![(0, 1, P)]);
}

#[test]
fn unaligned_end_and_empty_ranges() {
    let pm = need!(pagemap("unaligned_end_and_empty_ranges"));
    let m = Mapping::anon(4).unwrap();
    m.write(0, 1);
    m.write(1, 1);
    // End inside page 1 is rounded up to the end of page 1.
    let (r, walk_end) = pm
        .scan(m.addr()..m.page(1) + 8)
        .category_mask(P)
        .return_mask(P)
        .run()
        .unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 2, P)]);
    assert_eq!(walk_end, m.page(2));
    // Empty range.
    let (r, walk_end) = pm.scan(m.page(1)..m.page(1)).run().unwrap();
    assert!(r.is_empty());
    assert_eq!(walk_end, m.page(1));
    // A range with no VMA at all (just unmapped).
    let hole = {
        let h = Mapping::anon(4).unwrap();
        h.range()
    };
    let (r, walk_end) = pm
        .scan(hole.clone())
        .return_mask(PAGE_IS_ALL)
        .run()
        .unwrap();
    assert!(r.is_empty(), "regions in an unmapped range: {r:?}");
    assert_eq!(walk_end, hole.end);
}

#[test]
fn no_vec_counts_nothing() {
    let pm = need!(pagemap("no_vec_counts_nothing"));
    let m = Mapping::anon(4).unwrap();
    m.write(0, 1);
    let (r, walk_end) = pm
        .scan(m.range())
        .category_mask(P)
        .vec_capacity(0)
        .run()
        .unwrap();
    assert!(r.is_empty());
    assert_eq!(walk_end, m.range().end);
}

// ------------------------------------------------------ walk_end / limits

#[test]
fn max_pages_truncation() {
    let pm = need!(pagemap("max_pages_truncation"));
    let m = Mapping::anon(32).unwrap();
    for i in 0..10 {
        m.write(i, 1);
    }
    for i in 20..23 {
        m.write(i, 1);
    }
    let scan = pm.scan(m.range()).category_mask(P).return_mask(P);
    let (r, walk_end) = scan.clone().max_pages(4).run().unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 4, P)]);
    assert_eq!(walk_end, m.page(4));
    // The limit counts pages across regions: 10 + 2 of the next region.
    let (r, walk_end) = scan.clone().max_pages(12).run().unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 10, P), (20, 22, P)]);
    assert_eq!(walk_end, m.page(22));
    // Exactly all matching pages: the scan may stop at the last one.
    let (r, walk_end) = scan.clone().max_pages(13).run().unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 10, P), (20, 23, P)]);
    assert!(walk_end >= m.page(23) && walk_end <= m.range().end);
    // Resuming from walk_end gives the rest.
    let (r, _) = scan
        .clone()
        .range(m.page(4)..m.range().end)
        .max_pages(4)
        .run()
        .unwrap();
    assert_eq!(rel(&m, &r), vec![(4, 8, P)]);
    // The iterator in batches of 4 pages rebuilds the full regions.
    let mut it = scan.clone().max_pages(4).regions();
    let all: Vec<_> = it.by_ref().collect::<io::Result<_>>().unwrap();
    assert_eq!(rel(&m, &all), vec![(0, 10, P), (20, 23, P)]);
    assert!(it.calls() >= 4, "only {} ioctls", it.calls());
    // Without coalescing the batches are visible.
    let raw: Vec<_> = scan.max_pages(4).coalesce(false).collect().unwrap();
    assert_eq!(
        rel(&m, &raw),
        vec![(0, 4, P), (4, 8, P), (8, 10, P), (20, 22, P), (22, 23, P)]
    );
}

#[test]
fn vec_len_one_iteration() {
    let pm = need!(pagemap("vec_len_one_iteration"));
    let m = Mapping::anon(40).unwrap();
    let expect: Vec<(usize, usize, u64)> = vec![(1, 2, P), (5, 8, P), (12, 13, P), (30, 40, P)];
    for &(a, b, _) in &expect {
        for i in a..b {
            m.write(i, 1);
        }
    }
    let scan = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P)
        .vec_capacity(1);
    let (r, walk_end) = scan.run().unwrap();
    assert_eq!(rel(&m, &r), vec![(1, 2, P)]);
    // The walk stopped where the second region starts.
    assert_eq!(walk_end, m.page(5));
    let mut it = scan.regions();
    let all: Vec<_> = it.by_ref().collect::<io::Result<_>>().unwrap();
    assert_eq!(rel(&m, &all), expect);
    assert!(
        (4..=5).contains(&it.calls()),
        "{} ioctls for 4 regions",
        it.calls()
    );
}

/// More regions than the C bounce buffer (`PMD_SIZE / PAGE_SIZE` entries:
/// 512 with 4 KiB pages, 8192 with 64 KiB pages) in one ioctl.
#[test]
fn bounce_buffer_walk_end() {
    let test = "bounce_buffer_walk_end";
    let pm = need!(pagemap(test));
    let b = c_bounce_buffer_len();
    // 1500 regions with 4 KiB pages (~3 buffers), 1.5 buffers with 64 KiB
    // pages (12288 regions: 1.5 GiB of address space).
    let n = 1500.max(b * 3 / 2);
    let m = Mapping::anon(2 * n).unwrap();
    // Every other page present: written where that is cheap (16 MiB with
    // 4 KiB pages); mapped to the shared zero page by a read where it is
    // not (768 MiB of memory with 64 KiB pages), which costs nothing but
    // page tables and is just as present.
    let cheap = 2 * n as u64 * page_size() <= 64 << 20;
    for i in 0..n {
        if cheap {
            m.write(2 * i, 1);
        } else {
            let _ = m.read(2 * i);
        }
    }
    let expect: Vec<_> = (0..n).map(|i| (2 * i, 2 * i + 1, P)).collect();
    let scan = pm.scan(m.range()).category_mask(P).return_mask(P);
    // One ioctl with room for everything.
    let (r, walk_end) = scan.clone().vec_capacity(2 * n).run().unwrap();
    assert_eq!(rel(&m, &r), expect);
    let last = r.last().unwrap().end;
    if walk_end < last {
        note(
            test,
            &format!(
                "kernel returned walk_end {walk_end:#x} below the last region end {last:#x} \
                 (stale walk_end after a bounce-buffer flush)"
            ),
        );
    } else {
        assert_eq!(walk_end, m.range().end);
    }
    // A full vector (a buffer and a third: one flush, then full): the walk
    // must stop exactly after the last region.
    let full = b * 11 / 8;
    let (r, walk_end) = scan.clone().vec_capacity(full).run().unwrap();
    assert_eq!(rel(&m, &r), expect[..full].to_vec());
    assert!(
        walk_end >= r.last().unwrap().end && walk_end <= m.page(2 * full),
        "walk_end {walk_end:#x} with a full vector"
    );
    // The iterator never yields a region twice, whatever the capacity.
    for cap in [1, 7, b - 1, b, b + 1, 2 * b - 24, 8 * b - 96] {
        let mut it = scan.clone().vec_capacity(cap).coalesce(false).regions();
        let all: Vec<_> = it.by_ref().collect::<io::Result<_>>().unwrap();
        assert_eq!(rel(&m, &all), expect, "vec capacity {cap}");
        if it.stale_walk_end_events() > 0 {
            note(
                test,
                &format!(
                    "capacity {cap}: {} stale walk_end answers clipped",
                    it.stale_walk_end_events()
                ),
            );
        }
    }
}

// ------------------------------------------------------------ bad input

#[test]
fn bad_input_errno() {
    let pm = need!(pagemap("bad_input_errno"));
    let m = Mapping::anon(4).unwrap();
    let scan = || pm.scan(m.range()).return_mask(P);
    // Unaligned start.
    assert_eq!(
        errno_of(scan().range(m.addr() + 8..m.range().end).run()),
        libc::EINVAL
    );
    assert_eq!(
        errno_of(scan().range(m.addr() + 8..m.range().end).collect()),
        libc::EINVAL
    );
    // Unknown flag.
    assert_eq!(
        errno_of(scan().flags(PM_SCAN_FLAGS + 1).run()),
        libc::EINVAL
    );
    assert_eq!(errno_of(scan().flags(1 << 63).run()), libc::EINVAL);
    // Unknown category bit, in each mask. (Not bit 8: Linux 6.15 added
    // PAGE_IS_GUARD there; the 6.7-6.14 ABI rejects it.)
    assert_eq!(errno_of(scan().return_mask(1 << 20).run()), libc::EINVAL);
    assert_eq!(errno_of(scan().category_mask(1 << 21).run()), libc::EINVAL);
    assert_eq!(
        errno_of(scan().category_anyof_mask(1 << 31).run()),
        libc::EINVAL
    );
    assert_eq!(
        errno_of(scan().category_inverted(1 << 40).run()),
        libc::EINVAL
    );
    // Range beyond the user address space (from a page-aligned start below
    // 2^47, which every 64-bit user address space reaches).
    let high = 0x7fff_ffff_0000 & !(page_size() - 1);
    assert_eq!(errno_of(scan().range(high..1 << 60).run()), libc::EFAULT);
    // Wrong size field.
    let mut arg = scan().arg();
    arg.size = 88;
    // SAFETY: vec is 0 (no output buffer); the kernel rejects the size
    // before anything else.
    let r = unsafe { pagemap_scan_raw(&pm, &mut arg) };
    assert_eq!(errno_of(r), libc::EINVAL);
    // vec_len without vec.
    let mut arg = scan().arg();
    arg.vec = 0;
    arg.vec_len = 4;
    // SAFETY: vec is null, so the kernel has nowhere to write.
    let r = unsafe { pagemap_scan_raw(&pm, &mut arg) };
    assert_eq!(errno_of(r), libc::EINVAL);
    // Output vector at a kernel address.
    let mut arg = scan().arg();
    arg.vec = 0xffff_8000_0000_0000;
    arg.vec_len = 4;
    // SAFETY: a kernel address fails access_ok(); nothing of ours is
    // written.
    let r = unsafe { pagemap_scan_raw(&pm, &mut arg) };
    assert_eq!(errno_of(r), libc::EFAULT);
    // A correct raw call for comparison.
    let mut arg = scan().arg();
    // SAFETY: no output vector.
    let r = unsafe { pagemap_scan_raw(&pm, &mut arg) };
    assert_eq!(r.unwrap(), 0);
    assert_eq!(arg.walk_end, m.range().end);
}

#[test]
fn start_above_end() {
    let pm = need!(pagemap("start_above_end"));
    let m = Mapping::anon(4).unwrap();
    // access_ok(start, end - start) sees a huge length.
    assert_eq!(errno_of(pm.scan(m.page(2)..m.page(1)).run()), libc::EFAULT);
}

// --------------------------------------------------------- other process

fn spawn_sleeper() -> Option<Child> {
    for prog in ["sleep", "/bin/sleep", "/usr/bin/sleep"] {
        if let Ok(c) = Command::new(prog)
            .arg("30")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn other_process() {
    let test = "other_process";
    let _ = need!(pagemap(test));
    let Some(mut child) = spawn_sleeper() else {
        skip(test, "no `sleep` program to scan");
        return;
    };
    let pid = child.id();
    // Wait until it has exec'd (its maps name the sleep binary or busybox).
    let mut vmas = Vec::new();
    for _ in 0..200 {
        vmas = maps::read(Some(pid)).unwrap_or_default();
        if vmas.iter().any(|v| v.path == "[stack]")
            && !vmas
                .iter()
                .any(|v| v.path.to_string_lossy().contains("pagemap_scan_tests"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pm = Pagemap::open(pid).unwrap();
    assert_eq!(pm.pid(), Some(pid));
    let mut present = 0;
    for v in vmas.iter().filter(|v| !v.is_kernel_gate()) {
        for r in pm
            .scan(v.start..v.end)
            .category_mask(P)
            .return_mask(P)
            .regions()
        {
            present += r.unwrap().pages(page_size());
        }
    }
    assert!(present > 0, "no present page in pid {pid}");
    let stack = vmas.iter().find(|v| v.path == "[stack]").unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // The mm is gone: ESRCH from an already open pagemap. Its last user
    // can be another task that held it for a moment when the child died
    // (a reader of the child's /proc files takes mm_users: a test running
    // in parallel), and the mm goes when that one lets go: wait for it, up
    // to a second. (Seen once on 7.3 in the C run, 2026-12-06.)
    let mut r = pm.scan(stack.start..stack.end).run();
    for _ in 0..100 {
        if r.is_err() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        r = pm.scan(stack.start..stack.end).run();
    }
    assert_eq!(errno_of(r), libc::ESRCH);
    // No such process.
    assert_eq!(
        errno(&Pagemap::open(0x3fff_fff0).unwrap_err()),
        Some(libc::ENOENT)
    );
}

// -------------------------------------------------------- write tracking

#[test]
fn write_tracking_exact() {
    let wt = need!(tracker("write_tracking_exact"));
    let m = Mapping::anon(64).unwrap();
    wt.register(m.range()).unwrap();
    for i in [3, 7, 8] {
        m.write(i, 0xabc);
    }
    let h = wt.harvest(m.range()).unwrap();
    assert_eq!(rel_ranges(&m, &h), vec![3..4, 7..9]);
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
    // A second write to a harvested page is seen again.
    m.write(8, 1);
    m.write(63, 1);
    assert_eq!(
        rel_ranges(&m, &wt.harvest(m.range()).unwrap()),
        vec![8..9, 63..64]
    );
    // Reads are not writes.
    let _ = m.read(20);
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
    wt.unregister(m.range()).unwrap();
}

#[test]
fn write_tracking_categories() {
    let wt = need!(tracker("write_tracking_categories"));
    let m = Mapping::anon(8).unwrap();
    wt.register(m.range()).unwrap();
    m.write(2, 1);
    let r = wt
        .pagemap()
        .scan(m.range())
        .return_mask(PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN)
        .collect()
        .unwrap();
    let wa = PAGE_IS_WPALLOWED;
    assert_eq!(
        rel(&m, &r),
        vec![(0, 2, wa), (2, 3, wa | PAGE_IS_WRITTEN), (3, 8, wa)]
    );
    // Unregistered memory is not WPALLOWED.
    let other = Mapping::anon(2).unwrap();
    other.write(0, 1);
    let r = wt
        .pagemap()
        .scan(other.range())
        .category_mask(PAGE_IS_WPALLOWED)
        .return_mask(PAGE_IS_ALL)
        .collect()
        .unwrap();
    assert_eq!(r, vec![]);
}

#[test]
fn peek_and_reset() {
    let wt = need!(tracker("peek_and_reset"));
    let m = Mapping::anon(16).unwrap();
    wt.register(m.range()).unwrap();
    m.write(1, 1);
    m.write(9, 1);
    assert_eq!(
        rel_ranges(&m, &wt.peek(m.range()).unwrap()),
        vec![1..2, 9..10]
    );
    assert_eq!(
        rel_ranges(&m, &wt.peek(m.range()).unwrap()),
        vec![1..2, 9..10]
    );
    wt.reset(m.range()).unwrap();
    assert_eq!(wt.peek(m.range()).unwrap(), vec![]);
    m.write(9, 2);
    assert_eq!(rel_ranges(&m, &wt.harvest(m.range()).unwrap()), vec![9..10]);
    // Un-protecting makes every page written.
    wt.write_protect(m.page_range(4..6), false).unwrap();
    assert_eq!(rel_ranges(&m, &wt.harvest(m.range()).unwrap()), vec![4..6]);
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
}

#[test]
fn check_wpasync_on_unregistered() {
    let wt = need!(tracker("check_wpasync_on_unregistered"));
    let m = Mapping::anon(4).unwrap();
    m.write(0, 1);
    // CHECK_WPASYNC: EPERM on a VMA without uffd-wp async.
    assert_eq!(errno_of(wt.harvest(m.range())), libc::EPERM);
    // WP_MATCHING alone silently skips it.
    let (r, walk_end) = wt.scan(m.range()).check_wpasync(false).run().unwrap();
    assert_eq!(r, vec![]);
    assert_eq!(walk_end, m.range().end);
    // A registered range next to it is fine on its own, EPERM together.
    let reg = Mapping::anon(4).unwrap();
    wt.register(reg.range()).unwrap();
    reg.write(1, 1);
    assert_eq!(rel_ranges(&reg, &wt.peek(reg.range()).unwrap()), vec![1..2]);
}

#[test]
fn harvest_batches_lose_nothing() {
    let wt = need!(tracker("harvest_batches_lose_nothing"));
    let n = 2048;
    let m = Mapping::anon(n).unwrap();
    wt.register(m.range()).unwrap();
    let written: BTreeSet<usize> = (0..n).filter(|i| (i * 7919) % 5 < 2).collect();
    for &i in &written {
        m.write(i, 1);
    }
    // Small batches: max_pages 3 and a 5-entry vector, with WP_MATCHING.
    let got = wt
        .scan(m.range())
        .max_pages(3)
        .vec_capacity(5)
        .collect()
        .unwrap();
    let ranges: Vec<_> = got.iter().map(|r| r.range()).collect();
    assert_eq!(pages_in(&rel_ranges(&m, &ranges)), written);
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
    // One single ioctl with max_pages: only the reported pages are reset.
    for &i in &written {
        m.write(i, 2);
    }
    let (r, walk_end) = wt.scan(m.range()).max_pages(10).run().unwrap();
    let first: usize = r.iter().map(|r| r.pages(page_size()) as usize).sum();
    assert_eq!(first, 10);
    assert!(walk_end >= r.last().unwrap().end);
    let rest = wt.harvest(m.range()).unwrap();
    let mut all = pages_in(&rel_ranges(
        &m,
        &r.iter().map(|r| r.range()).collect::<Vec<_>>(),
    ));
    let rest = pages_in(&rel_ranges(&m, &rest));
    assert!(all.is_disjoint(&rest));
    all.extend(rest);
    assert_eq!(all, written);
}

#[test]
fn concurrent_writes_not_lost() {
    use pagemap_scan::harvest_check::{check, EpochClock, HarvestLog, Policy, WriteLog};
    use std::sync::atomic::{fence, AtomicBool, Ordering};
    let wt = need!(tracker("concurrent_writes_not_lost"));
    let n = 512;
    let m = Mapping::anon(n).unwrap();
    wt.register(m.range()).unwrap();
    let rounds = 40;
    // The exact rules are those of `harvest_check`: no write lost, and a
    // report only for a page a store wrote since the previous harvest
    // looked at it (or, on a kernel that drops uffd-wp when a migration
    // ends, one that really moved).
    let clock = EpochClock::new();
    let stop = AtomicBool::new(false);
    let mut harvests = HarvestLog::new();
    let writes = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut log = WriteLog::new(n);
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            while !stop.load(Ordering::SeqCst) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = (x % n as u64) as usize;
                let started = clock.now();
                m.write(i, x);
                fence(Ordering::SeqCst);
                log.record(i, started, clock.now());
            }
            log
        });
        for k in 0..rounds {
            std::thread::sleep(std::time::Duration::from_micros(500));
            harvests.snapshot(m.addr(), n);
            let h = wt.harvest(m.range()).unwrap();
            harvests.push(pages_in(&rel_ranges(&m, &h)));
            clock.harvest_done(k);
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap()
    });
    harvests.snapshot(m.addr(), n);
    let h = wt.harvest(m.range()).unwrap();
    harvests.push(pages_in(&rel_ranges(&m, &h)));
    harvests.snapshot(m.addr(), n);
    assert!(writes.count() > 0, "the writer did no write");
    let v = check(&writes, &harvests, Policy::of_running_kernel());
    assert!(
        v.lost.is_empty(),
        "writes lost (page, started, completed): {:?}",
        v.lost
    );
    assert!(
        v.spurious.is_empty(),
        "false positives (page, harvest, previous report): {:?}",
        v.spurious
    );
}

#[test]
fn write_tracking_shmem() {
    let test = "write_tracking_shmem";
    let wt = need!(tracker(test));
    if supported_features().unwrap_or(0) & UFFD_FEATURE_WP_HUGETLBFS_SHMEM == 0 {
        skip(test, "userfaultfd lacks WP_HUGETLBFS_SHMEM");
        return;
    }
    let m = Mapping::memfd(16).unwrap();
    wt.register(m.range()).unwrap();
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
    m.write(2, 1);
    m.write(3, 1);
    m.write(15, 1);
    assert_eq!(
        rel_ranges(&m, &wt.harvest(m.range()).unwrap()),
        vec![2..4, 15..16]
    );
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
}

// --------------------------------------------------- huge pages and swap

#[test]
fn thp_is_huge() {
    let test = "thp_is_huge";
    let pm = need!(pagemap(test));
    let m = need!(thp_mapping(test));
    let r = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P | PAGE_IS_HUGE)
        .collect()
        .unwrap();
    let n = m.pages();
    assert_eq!(rel(&m, &r), vec![(0, n, P | PAGE_IS_HUGE)]);
    // max_pages inside a THP.
    let (r, walk_end) = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P | PAGE_IS_HUGE)
        .max_pages(10)
        .run()
        .unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 10, P | PAGE_IS_HUGE)]);
    assert_eq!(walk_end, m.page(10));
}

#[test]
fn thp_write_tracking_split() {
    let test = "thp_write_tracking_split";
    let wt = need!(tracker(test));
    let m = need!(thp_mapping(test));
    let n = m.pages();
    wt.register(m.range()).unwrap();
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
    m.write(5, 1);
    m.write(300, 1);
    assert_eq!(
        rel_ranges(&m, &wt.harvest(m.range()).unwrap()),
        vec![5..6, 300..301]
    );
    // Everything written, then harvested 10 pages at a time: the kernel
    // must split or back out partially reported huge entries correctly.
    wt.write_protect(m.range(), false).unwrap();
    let (r, _) = wt.scan(m.range()).max_pages(10).run().unwrap();
    assert_eq!(rel(&m, &r), vec![(0, 10, PAGE_IS_WRITTEN)]);
    let rest = wt.harvest(m.range()).unwrap();
    assert_eq!(rel_ranges(&m, &rest), vec![10..n]);
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
}

#[test]
fn thp_unprotected_partial_harvest() {
    let test = "thp_unprotected_partial_harvest";
    let wt = need!(tracker(test));
    let m = need!(thp_mapping(test));
    let n = m.pages();
    // Register without the initial write-protection: the huge pmd stays
    // intact and every page reads as written.
    wt.register(m.range()).unwrap();
    wt.write_protect(m.range(), false).unwrap();
    let r = wt.peek(m.range()).unwrap();
    assert_eq!(rel_ranges(&m, &r), vec![0..n]);
    let mut got = BTreeSet::new();
    let mut calls = 0;
    // 100 pages a call: 6 calls for the 512 pages of a 2 MiB THP, 82 for
    // the 8192 of a 512 MiB one (64 KiB pages).
    let bound = n.div_ceil(100) + 2;
    loop {
        let (r, _) = wt.scan(m.range()).max_pages(100).run().unwrap();
        if r.is_empty() {
            break;
        }
        calls += 1;
        assert!(calls <= bound, "harvest does not converge");
        let pages = pages_in(&rel_ranges(
            &m,
            &r.iter().map(|r| r.range()).collect::<Vec<_>>(),
        ));
        assert!(got.is_disjoint(&pages), "page reported twice");
        got.extend(pages);
    }
    assert_eq!(got, (0..n).collect());
}

/// Scan and write-track `m`, one hugetlb page of `size` bytes.
fn check_hugetlb_page(test: &str, pm: &Pagemap, m: &Mapping, size: u64) {
    assert_eq!(m.len() as u64, size);
    m.write(0, 1);
    let r = pm
        .scan(m.range())
        .category_mask(P)
        .return_mask(P | PAGE_IS_HUGE | PAGE_IS_FILE)
        .collect()
        .unwrap();
    assert_eq!(r.len(), 1, "{} page: {r:?}", human(size));
    assert_eq!(r[0].range(), m.range(), "{} page", human(size));
    assert_ne!(r[0].categories & PAGE_IS_HUGE, 0, "{} page", human(size));
    // Write tracking on hugetlb: granularity is the huge page.
    if supported_features().unwrap_or(0) & UFFD_FEATURE_WP_HUGETLBFS_SHMEM == 0 {
        skip(
            test,
            "userfaultfd lacks WP_HUGETLBFS_SHMEM (hugetlb write tracking)",
        );
        return;
    }
    let wt = need!(tracker(test));
    wt.register(m.range()).unwrap();
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
    m.write(m.pages() / 2, 1);
    assert_eq!(
        wt.harvest(m.range()).unwrap(),
        vec![m.range()],
        "{} page",
        human(size)
    );
    assert_eq!(wt.harvest(m.range()).unwrap(), vec![]);
}

/// A hugetlb page of the PMD size (2 MiB with 4 KiB pages, 512 MiB with
/// 64 KiB pages), asked for by size: the default hugetlb size is not the
/// PMD size everywhere (`default_hugepagesz=`).
#[test]
fn hugetlb_is_huge() {
    let test = "hugetlb_is_huge";
    let pm = need!(pagemap(test));
    let size = pmd_size();
    let m = match Mapping::hugetlb_sized(size as usize, size) {
        Ok(m) => m,
        Err(e) => {
            skip(
                test,
                &format!(
                    "no {} hugetlb page available ({e}); reserve one in \
                     {HUGEPAGES_DIR}/hugepages-{}kB/nr_hugepages",
                    human(size),
                    size / 1024
                ),
            );
            return;
        }
    };
    check_hugetlb_page(test, &pm, &m, size);
}

/// The other hugetlb sizes below 1 GiB that have a page free: on arm64 the
/// contiguous-PTE sizes (64 KiB with 4 KiB pages, 2 MiB with 64 KiB pages)
/// and the contiguous-PMD one (32 MiB with 4 KiB pages), which the kernel
/// maps with several page-table entries per huge page. (1 GiB pages are
/// the C `pagemap_scan_huge1g` test's; 16 GiB ones would be zeroed whole.)
/// Nothing to test is a note, not a skip: the guest reserves these only
/// where it can.
#[test]
fn hugetlb_other_sizes() {
    let test = "hugetlb_other_sizes";
    let pm = need!(pagemap(test));
    let sizes = hugetlb_sizes();
    let mut tested = Vec::new();
    for h in &sizes {
        if h.size == pmd_size() || h.size >= 1 << 30 || h.available() == 0 {
            continue;
        }
        let m = match Mapping::hugetlb_sized(h.size as usize, h.size) {
            Ok(m) => m,
            Err(e) => {
                note(test, &format!("{} hugetlb page: {e}", human(h.size)));
                continue;
            }
        };
        check_hugetlb_page(test, &pm, &m, h.size);
        tested.push(human(h.size));
    }
    let all: Vec<String> = sizes
        .iter()
        .map(|h| format!("{} ({} free)", human(h.size), h.available()))
        .collect();
    if tested.is_empty() {
        note(
            test,
            &format!(
                "no page of another hugetlb size below 1G is free (sizes: {})",
                all.join(", ")
            ),
        );
    } else {
        note(test, &format!("tested {}", tested.join(", ")));
    }
}

#[test]
fn swapped_pages() {
    let test = "swapped_pages";
    let pm = need!(pagemap(test));
    if !swap_active() {
        skip(test, "no active swap area (/proc/swaps)");
        return;
    }
    let m = Mapping::anon(32).unwrap();
    for i in 0..32 {
        m.write(i, i as u64 + 0x1234);
    }
    if let Err(e) = m.madvise(0..32, libc::MADV_PAGEOUT) {
        skip(test, &format!("MADV_PAGEOUT failed: {e}"));
        return;
    }
    let r = pm
        .scan(m.range())
        .category_anyof_mask(P | PAGE_IS_SWAPPED)
        .return_mask(P | PAGE_IS_SWAPPED)
        .collect()
        .unwrap();
    let rr = rel(&m, &r);
    // Every page is either present or swapped, never both.
    let mut covered = 0;
    let mut swapped = 0;
    for &(a, b, c) in &rr {
        assert!(c == P || c == PAGE_IS_SWAPPED, "categories {c:#x}");
        covered += b - a;
        if c == PAGE_IS_SWAPPED {
            swapped += b - a;
        }
    }
    assert_eq!(covered, 32, "{rr:?}");
    assert!(swapped > 0, "MADV_PAGEOUT swapped nothing out: {rr:?}");
    // Swapped pages match SWAPPED alone; reading them back makes them present.
    let only = pm
        .scan(m.range())
        .category_mask(PAGE_IS_SWAPPED)
        .return_mask(PAGE_IS_SWAPPED)
        .collect()
        .unwrap();
    assert_eq!(
        only.iter()
            .map(|r| r.pages(page_size()) as usize)
            .sum::<usize>(),
        swapped
    );
    for i in 0..32 {
        assert_eq!(m.read(i), i as u64 + 0x1234);
    }
}

static SOFT_DIRTY_LOCK: Mutex<()> = Mutex::new(());

/// Bit 55 of a `/proc/PID/pagemap` entry: soft-dirty.
const PM_SOFT_DIRTY: u64 = 1 << 55;

/// The checks of a kernel without soft-dirty (call with
/// [`SOFT_DIRTY_LOCK`] held): written pages are never `PAGE_IS_SOFT_DIRTY`,
/// before or after `clear_refs` and new writes; a scan requiring it matches
/// nothing, one requiring it clear matches every written page; the
/// pagemap read interface agrees (bit 55 clear); and no VMA of the whole
/// process has a soft-dirty page.
fn check_no_soft_dirty(pm: &Pagemap) {
    let sd = PAGE_IS_SOFT_DIRTY;
    let m = Mapping::anon(16).unwrap();
    for i in 0..8 {
        m.write(i, 1);
    }
    let check = |when: &str| {
        let required = pm
            .scan(m.range())
            .category_mask(sd)
            .return_mask(PAGE_IS_ALL)
            .collect()
            .unwrap();
        assert_eq!(required, vec![], "{when}: pages reported soft-dirty");
        // Every written page, all categories but WRITTEN (meaningless
        // without uffd-wp): present, and nothing else.
        let all = pm
            .scan(m.range())
            .category_mask(P)
            .return_mask(PAGE_IS_ALL & !PAGE_IS_WRITTEN)
            .collect()
            .unwrap();
        assert_eq!(rel(&m, &all), vec![(0, 8, P)], "{when}");
        let clean = pm
            .scan(m.range())
            .category_mask(sd | P)
            .category_inverted(sd)
            .return_mask(sd)
            .collect()
            .unwrap();
        assert_eq!(rel(&m, &clean), vec![(0, 8, 0)], "{when}");
        for i in 0..8 {
            let e = pagemap_entry(m.page(i)).unwrap();
            assert_eq!(e & PM_SOFT_DIRTY, 0, "{when}: pagemap entry {e:#x}");
        }
    };
    check("after the first writes");
    // The kernel accepts clear_refs 4 without soft-dirty too.
    fs::write("/proc/self/clear_refs", "4").unwrap();
    for i in [0, 3, 7] {
        m.write(i, 2);
    }
    check("after clear_refs and new writes");
    for v in maps::read(None).unwrap() {
        if v.is_kernel_gate() {
            continue;
        }
        let r = pm
            .scan(v.start..v.end)
            .category_mask(sd)
            .return_mask(sd)
            .collect()
            .unwrap();
        assert_eq!(r, vec![], "soft-dirty pages in {v:?}");
    }
}

/// After [`check_no_soft_dirty`] passed: where the architecture has no
/// soft-dirty bits (arm64) the absence is what the kernel must show, and
/// the test passes, `PAGEMAP_SCAN_REQUIRE_ALL=1` or not; elsewhere the
/// kernel was built without `CONFIG_MEM_SOFT_DIRTY`, and the test is a
/// skip (a failure under `PAGEMAP_SCAN_REQUIRE_ALL=1`).
fn soft_dirty_absent(test: &str, sd: &SoftDirty) {
    let why = sd.support.reason().unwrap_or_default();
    match &sd.architecture_lacks {
        Some(arch) => note(
            test,
            &format!("{arch}: checked that soft-dirty is never reported ({why})"),
        ),
        None => skip(test, &format!("only its absence was checked: {why}")),
    }
}

#[test]
fn soft_dirty_after_clear_refs() {
    let test = "soft_dirty_after_clear_refs";
    let pm = need!(pagemap(test));
    let _g = SOFT_DIRTY_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let info = probe::soft_dirty();
    if !info.support.is_yes() {
        check_no_soft_dirty(&pm);
        soft_dirty_absent(test, &info);
        return;
    }
    let m = Mapping::anon(32).unwrap();
    for i in 0..32 {
        m.write(i, 1);
    }
    let sd = PAGE_IS_SOFT_DIRTY;
    let scan = pm.scan(m.range()).category_mask(sd).return_mask(sd);
    assert_eq!(rel(&m, &scan.collect().unwrap()), vec![(0, 32, sd)]);
    fs::write("/proc/self/clear_refs", "4").unwrap();
    assert_eq!(scan.collect().unwrap(), vec![]);
    for i in [4, 5, 6, 20] {
        m.write(i, 2);
    }
    assert_eq!(
        rel(&m, &scan.collect().unwrap()),
        vec![(4, 7, sd), (20, 21, sd)]
    );
}

#[test]
fn total_limit_resets_only_reported() {
    let wt = need!(tracker("total_limit_resets_only_reported"));
    let m = Mapping::anon(64).unwrap();
    wt.register(m.range()).unwrap();
    for i in [1, 2, 3, 10, 11, 40, 50] {
        m.write(i, 1);
    }
    // Five pages in total, fetched one page per ioctl.
    let mut it = wt.scan(m.range()).limit(5).max_pages(1).regions();
    let got: Vec<_> = it.by_ref().collect::<io::Result<_>>().unwrap();
    assert_eq!(
        rel(&m, &got),
        vec![(1, 4, PAGE_IS_WRITTEN), (10, 12, PAGE_IS_WRITTEN)]
    );
    assert_eq!(it.calls(), 5);
    assert!(it.resume_at() >= m.page(11) + page_size() && it.resume_at() <= m.page(40));
    // The rest is still reported as written.
    assert_eq!(
        rel_ranges(&m, &wt.harvest(m.range()).unwrap()),
        vec![40..41, 50..51]
    );
    // A limit larger than what is there.
    m.write(7, 1);
    let got = wt.scan(m.range()).limit(100).collect().unwrap();
    assert_eq!(rel(&m, &got), vec![(7, 8, PAGE_IS_WRITTEN)]);
}
