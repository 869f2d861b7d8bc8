// SPDX-License-Identifier: GPL-2.0

//! `backout()`: the THP split and the hugetlb partial write-protect cases of
//! `pagemap_scan_thp_entry()` / `pagemap_scan_hugetlb_entry()`, with
//! `Output` driven as `ScanWalk::thp_entry()` / `hugetlb_entry()` drive it.

use super::super::logic::{validate, Full, Output, Semantics, PAGE_SIZE};
use super::super::BOUNCE_ENTRIES;
use super::{access_ok, good_raw, untag_none};
use crate::PageRegion;

const P: u64 = PAGE_SIZE;
const HPAGE: u64 = BOUNCE_ENTRIES * P;
/// A 2 MiB-aligned address.
const S: u64 = 0x4000_0000;
const WRITTEN: u64 = 0x2;
const PRESENT: u64 = 0x8;
const HUGE: u64 = 0x40;
const THP: u64 = HUGE | PRESENT | WRITTEN;

fn output(vec_len: u64, max_pages: u64) -> Output<Vec<PageRegion>> {
    let mut raw = good_raw();
    raw.start = S - HPAGE;
    raw.end = S + 4 * HPAGE;
    raw.vec_len = vec_len;
    raw.max_pages = max_pages;
    raw.return_mask = 0xff;
    raw.flags = 1; // PM_SCAN_WP_MATCHING
    let args = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none).unwrap();
    let n = Output::<Vec<PageRegion>>::bounce_len(&args);
    Output::new(&args, (n > 0).then(|| vec![PageRegion::default(); n]))
}

fn region(start: u64, end: u64, categories: u64) -> PageRegion {
    PageRegion {
        start,
        end,
        categories,
    }
}

fn put(
    out: &mut Output<Vec<PageRegion>>,
    categories: u64,
    start: u64,
    end: u64,
) -> Result<(), Full> {
    let mut e = end;
    let r = out.output(categories, start, &mut e);
    assert_eq!(e, end, "cut");
    r
}

/// `ScanWalk::thp_entry()` for the PMD range `[start, end)`: `true` if the
/// THP was split and its pages must be walked one by one.
fn thp_entry(
    out: &mut Output<Vec<PageRegion>>,
    categories: u64,
    start: u64,
    end: u64,
) -> (bool, Result<(), Full>) {
    let mut end = end;
    let ret = out.output(categories, start, &mut end);
    if start == end || categories & WRITTEN == 0 {
        return (false, ret);
    }
    if end != start + HPAGE {
        out.backout(start, end);
        return (true, Ok(()));
    }
    (false, ret)
}

/// The PTE loop over `[start, end)` after a split.
fn ptes(
    out: &mut Output<Vec<PageRegion>>,
    categories: u64,
    start: u64,
    end: u64,
) -> Result<(), Full> {
    let mut ret = Ok(());
    let mut addr = start;
    while addr < end {
        let mut next = addr + P;
        ret = out.output(categories, addr, &mut next);
        if next == addr {
            break;
        }
        addr = next;
    }
    ret
}

/// `ScanWalk::hugetlb_entry()` with PM_SCAN_WP_MATCHING on a 2 MiB page.
fn hugetlb_entry(
    out: &mut Output<Vec<PageRegion>>,
    categories: u64,
    start: u64,
    end: u64,
) -> Result<(), Full> {
    let mut end = end;
    let ret = out.output(categories, start, &mut end);
    if start == end || categories & WRITTEN == 0 {
        return ret;
    }
    if end != start + HPAGE {
        out.backout(start, end);
        out.walk_end = Some(start);
        return Ok(());
    }
    ret
}

/// max_pages cuts a THP that starts a new region: the region is taken back
/// whole, and the PTE walk of the split THP reports the same pages again.
#[test]
fn thp_cut_by_max_pages_new_region() {
    let mut out = output(10, 2 + 100);
    put(&mut out, PRESENT, S - 4 * P, S - 2 * P).unwrap();
    let (split, ret) = thp_entry(&mut out, THP, S, S + HPAGE);
    assert!(split);
    assert_eq!(ret, Ok(()));
    // Taken back: only the earlier region is pending, found_pages as before.
    assert_eq!(out.found_pages, 2);
    assert_eq!(out.pending(), [region(S - 4 * P, S - 2 * P, PRESENT)]);
    // As if there had been no THP.
    assert_eq!(ptes(&mut out, THP, S, S + HPAGE), Err(Full));
    assert_eq!(out.found_pages, 102);
    assert_eq!(out.walk_end, Some(S + 100 * P));
    assert_eq!(
        out.pending(),
        [
            region(S - 4 * P, S - 2 * P, PRESENT),
            region(S, S + 100 * P, THP)
        ]
    );
}

/// max_pages cuts a THP that extended the current region: only the tail
/// added by the THP is taken back.
#[test]
fn thp_cut_by_max_pages_merged_region() {
    let mut out = output(10, 3 + 7);
    put(&mut out, THP, S - 3 * P, S).unwrap();
    let (split, _) = thp_entry(&mut out, THP, S, S + HPAGE);
    assert!(split);
    assert_eq!(out.found_pages, 3);
    assert_eq!(out.pending(), [region(S - 3 * P, S, THP)]);
    assert_eq!(ptes(&mut out, THP, S, S + HPAGE), Err(Full));
    assert_eq!(out.pending(), [region(S - 3 * P, S + 7 * P, THP)]);
    assert_eq!((out.found_pages, out.walk_end), (10, Some(S + 7 * P)));
}

/// The walk covers only part of the THP (restart at walk_end inside it, or
/// the scan ends inside it): no cut, still split and taken back.
#[test]
fn thp_partly_in_range() {
    // Scan ends 50 pages into the THP; the region is the first in the buffer.
    let mut out = output(10, 0);
    let (split, ret) = thp_entry(&mut out, THP, S, S + 50 * P);
    assert!(split && ret.is_ok());
    assert_eq!(out.found_pages, 0);
    assert!(out.pending().is_empty());
    // The pages go into the same entry 0, not after an empty one.
    assert_eq!(ptes(&mut out, THP, S, S + 50 * P), Ok(()));
    assert_eq!(out.pending(), [region(S, S + 50 * P, THP)]);
    assert_eq!(out.found_pages, 50);

    // Walk restarted 10 pages into the THP.
    let mut out = output(10, 0);
    put(&mut out, PRESENT, S - HPAGE, S - HPAGE + P).unwrap();
    let (split, _) = thp_entry(&mut out, THP, S + 10 * P, S + HPAGE);
    assert!(split);
    assert_eq!(out.pending().len(), 1);
    ptes(&mut out, THP, S + 10 * P, S + HPAGE).unwrap();
    assert_eq!(
        out.pending(),
        [
            region(S - HPAGE, S - HPAGE + P, PRESENT),
            region(S + 10 * P, S + HPAGE, THP)
        ]
    );
    assert_eq!(out.found_pages, 1 + BOUNCE_ENTRIES - 10);
}

/// A THP that fits whole is not taken back; one that does not fit in the
/// buffer at all is refused before any backout.
#[test]
fn thp_whole_or_refused() {
    let mut out = output(10, 0);
    assert_eq!(thp_entry(&mut out, THP, S, S + HPAGE), (false, Ok(())));
    assert_eq!(out.pending(), [region(S, S + HPAGE, THP)]);

    let mut out = output(1, 0);
    put(&mut out, PRESENT, S - P, S).unwrap();
    assert_eq!(thp_entry(&mut out, THP, S, S + HPAGE), (false, Err(Full)));
    assert_eq!((out.found_pages, out.walk_end), (1, Some(S)));
    assert_eq!(out.pending(), [region(S - P, S, PRESENT)]);
}

/// A cleared entry after a backout is reused by the next region, so a
/// buffer with one entry left still takes it.
#[test]
fn backout_frees_the_entry() {
    let mut out = output(2, 0);
    put(&mut out, PRESENT, S - HPAGE, S - HPAGE + P).unwrap();
    let (split, _) = thp_entry(&mut out, THP, S, S + 8 * P);
    assert!(split);
    // A different region, not adjacent: goes into entry 1.
    assert_eq!(
        put(&mut out, PRESENT, S + 2 * HPAGE, S + 2 * HPAGE + P),
        Ok(())
    );
    assert_eq!(
        out.pending(),
        [
            region(S - HPAGE, S - HPAGE + P, PRESENT),
            region(S + 2 * HPAGE, S + 2 * HPAGE + P, PRESENT)
        ]
    );
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 0);
}

/// hugetlb page cut by max_pages: it cannot be write-protected in part, so
/// it is taken back and the walk goes on, walk_end at the page.
#[test]
fn hugetlb_cut_by_max_pages() {
    let mut out = output(10, 1 + 300);
    put(&mut out, PRESENT, S - 2 * P, S - P).unwrap();
    assert_eq!(hugetlb_entry(&mut out, THP, S, S + HPAGE), Ok(()));
    assert_eq!(out.walk_end, Some(S));
    assert_eq!(out.found_pages, 1);
    assert_eq!(out.pending(), [region(S - 2 * P, S - P, PRESENT)]);
    // The walk goes on: the next hugetlb page is cut and taken back too,
    // and walk_end moves to it (C does the same: walk_end is the last page
    // taken back, the first one is neither reported nor protected).
    assert_eq!(
        hugetlb_entry(&mut out, THP, S + HPAGE, S + 2 * HPAGE),
        Ok(())
    );
    assert_eq!(out.walk_end, Some(S + HPAGE));
    assert_eq!(out.found_pages, 1);
    assert_eq!(out.pending(), [region(S - 2 * P, S - P, PRESENT)]);
}

/// hugetlb page that extends the current region, cut: the region gets its
/// old end back.
#[test]
fn hugetlb_cut_merged_region() {
    let mut out = output(10, BOUNCE_ENTRIES + 10);
    assert_eq!(hugetlb_entry(&mut out, THP, S, S + HPAGE), Ok(()));
    assert_eq!(out.found_pages, BOUNCE_ENTRIES);
    assert_eq!(
        hugetlb_entry(&mut out, THP, S + HPAGE, S + 2 * HPAGE),
        Ok(())
    );
    assert_eq!((out.found_pages, out.walk_end), (BOUNCE_ENTRIES, Some(S + HPAGE)));
    assert_eq!(out.pending(), [region(S, S + HPAGE, THP)]);
}

/// The scan ends inside a hugetlb page: taken back, walk_end at the page.
#[test]
fn hugetlb_partly_in_range() {
    let mut out = output(10, 0);
    assert_eq!(hugetlb_entry(&mut out, THP, S, S + HPAGE), Ok(()));
    assert_eq!(
        hugetlb_entry(&mut out, THP | 0x80, S + HPAGE, S + HPAGE + 3 * P),
        Ok(())
    );
    assert_eq!((out.found_pages, out.walk_end), (BOUNCE_ENTRIES, Some(S + HPAGE)));
    assert_eq!(out.pending(), [region(S, S + HPAGE, THP)]);
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 9);
}

/// Pages that are not WRITTEN are reported as cut, never taken back.
#[test]
fn not_written_is_kept() {
    let mut out = output(10, 5);
    assert_eq!(
        hugetlb_entry(&mut out, HUGE | PRESENT, S, S + HPAGE),
        Err(Full)
    );
    assert_eq!((out.found_pages, out.walk_end), (5, Some(S + 5 * P)));
    assert_eq!(out.pending(), [region(S, S + 5 * P, HUGE | PRESENT)]);
}

/// No user array: backout() changes nothing.
#[test]
fn backout_without_vec() {
    let mut out = output(0, 0);
    assert!(!out.has_vec());
    let mut end = S + HPAGE;
    assert_eq!(out.output(THP, S, &mut end), Ok(()));
    out.backout(S, S + HPAGE);
    assert_eq!((out.found_pages, out.walk_end), (0, None));
    assert!(out.pending().is_empty());
}

/// The direct effect on the current entry, both branches of
/// `pagemap_scan_backout_range()`.
#[test]
fn backout_branches() {
    let mut out = output(10, 0);
    put(&mut out, THP, S, S + 8 * P).unwrap();
    out.backout(S + 4 * P, S + 8 * P);
    assert_eq!(out.pending(), [region(S, S + 4 * P, THP)]);
    assert_eq!(out.found_pages, 4);
    out.backout(S, S + 4 * P);
    assert!(out.pending().is_empty());
    assert_eq!(out.found_pages, 0);
    // Nothing pending: flushed() leaves vec_left alone.
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 10);
}

/// A split THP's pages merge with the region before the THP (C starts a new
/// region here, because its backout leaves the emptied entry current).
#[test]
fn split_thp_pages_merge_with_previous_region() {
    const PW: u64 = PRESENT | WRITTEN;
    let mut out = output(16, 0);
    put(&mut out, PW, S - 2 * P, S).unwrap();
    // The THP at S is reported as a new entry, then split: taken back.
    put(&mut out, THP, S, S + HPAGE).unwrap();
    out.backout(S, S + HPAGE);
    assert_eq!(out.pending(), [region(S - 2 * P, S, PW)]);
    // Its pages, one by one, continue the previous region.
    for i in 0..3 {
        put(&mut out, PW, S + i * P, S + (i + 1) * P).unwrap();
    }
    assert_eq!(out.pending(), [region(S - 2 * P, S + 3 * P, PW)]);
    assert_eq!(out.found_pages, 5);
}

/// An internal flush copies every entry, the last one too, as C does: the
/// next pass starts an empty buffer, and a region that continues the last
/// one copied starts a new entry.
#[test]
fn flush_copies_every_entry() {
    const PW: u64 = PRESENT | WRITTEN;
    let n_bounce = BOUNCE_ENTRIES;
    let mut out = output(n_bounce + 500, 0);
    // A full bounce buffer of one-page regions ...
    for i in 0..n_bounce {
        put(&mut out, PW, S + 2 * i * P, S + (2 * i + 1) * P).unwrap();
    }
    // ... the last one could still grow, but a new one does not fit.
    let mut e = S + (2 * n_bounce + 1) * P;
    assert_eq!(out.output(PW, S + 2 * n_bounce * P, &mut e), Err(Full));
    assert_eq!(
        (e, out.walk_end),
        (S + 2 * n_bounce * P, Some(S + 2 * n_bounce * P))
    );
    let n = out.pending().len();
    assert_eq!(n as u64, n_bounce);
    out.flushed(n);
    assert!(!out.exhausted());
    assert_eq!(out.vec_left, 500);
    assert!(out.pending().is_empty());
    let last = S + 2 * (n_bounce - 1) * P;
    put(&mut out, PW, last + P, last + 2 * P).unwrap();
    assert_eq!(out.pending(), [region(last + P, last + 2 * P, PW)]);
}

/// The pass after a flush has as many entries as the user array has left,
/// at most a bounce buffer.
#[test]
fn pass_after_flush_is_cut_to_the_array() {
    const PW: u64 = PRESENT | WRITTEN;
    let n_bounce = BOUNCE_ENTRIES;
    let mut out = output(n_bounce + 2, 0);
    for i in 0..n_bounce {
        put(&mut out, PW, S + 2 * i * P, S + (2 * i + 1) * P).unwrap();
    }
    let n = out.pending().len();
    out.flushed(n);
    assert!(!out.exhausted());
    let base = S + 2 * n_bounce * P;
    put(&mut out, PW, base, base + P).unwrap();
    put(&mut out, PW, base + 2 * P, base + 3 * P).unwrap();
    let mut e = base + 5 * P;
    assert_eq!(out.output(PW, base + 4 * P, &mut e), Err(Full));
    assert_eq!(out.pending().len(), 2);
    out.flushed(2);
    assert!(out.exhausted());
}
