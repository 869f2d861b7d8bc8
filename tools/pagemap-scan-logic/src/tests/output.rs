// SPDX-License-Identifier: GPL-2.0

//! `Output` driven like `RustScan::scan()` drives it (and like
//! `do_pagemap_scan()` drives `pagemap_scan_output()`), against a model of
//! what the user must see.

use super::super::logic::{validate, Args, Full, Output, Semantics, PAGE_SIZE};
use super::super::{BOUNCE_ENTRIES, SIZE_MAX};
use super::{access_ok, good_raw, untag_none};

/// Entries of the bounce buffer.
const N: u64 = BOUNCE_ENTRIES;

/// The address of page `n`.
fn pg(n: u64) -> u64 {
    n * PAGE_SIZE
}
use crate::PageRegion;
use proptest::prelude::*;

/// How the walk hands a run of pages to `output()`.
#[derive(Clone, Copy, Debug)]
enum Feed {
    /// One call per page, as the PTE loop of `pte_range()` does.
    Pages,
    /// One call for the whole run, as `pte_hole()` may.
    Whole,
    /// One call per PMD (512 pages, aligned), as THPs and hugetlb do.
    Pmds,
}

/// `pages` pages at page number `page` with `categories`.
#[derive(Clone, Copy, Debug)]
struct Run {
    page: u64,
    pages: u64,
    categories: u64,
    feed: Feed,
}

#[derive(Debug)]
struct Case {
    runs: Vec<Run>,
    /// Scan range, in bytes.
    start: u64,
    end: u64,
    vec_len: u64,
    /// As passed by the user: 0 is unlimited.
    max_pages: u64,
    return_mask: u64,
}

/// What the user sees after the ioctl.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    regions: Vec<PageRegion>,
    found_pages: u64,
    walk_end: u64,
}

fn args_for(case: &Case) -> Args {
    let mut raw = good_raw();
    raw.start = case.start;
    raw.end = case.end;
    raw.vec = if case.vec_len == 0 { 0 } else { 0x1000 };
    raw.vec_len = case.vec_len;
    raw.max_pages = case.max_pages;
    raw.return_mask = case.return_mask;
    // Address checks are validate()'s tests: here any range and array do.
    validate(&raw, Semantics::LINUX_6_12, |_, _| true, untag_none).unwrap()
}

/// One `walk_page_range(walk_start, end)`: the first `Err(Full)` ends it.
fn walk(
    out: &mut Output<Vec<PageRegion>>,
    runs: &[Run],
    walk_start: u64,
    end: u64,
) -> Result<(), Full> {
    for run in runs {
        let start = (run.page * PAGE_SIZE).max(walk_start);
        let run_end = ((run.page + run.pages) * PAGE_SIZE).min(end);
        if start >= run_end {
            continue;
        }
        match run.feed {
            Feed::Pages => {
                // A PTE table per PMD: `ret` is the last page's, the loop
                // stops when a page is refused (`next == addr`).
                let mut addr = start;
                while addr < run_end {
                    let table_end =
                        ((addr / (BOUNCE_ENTRIES * PAGE_SIZE)) + 1) * BOUNCE_ENTRIES * PAGE_SIZE;
                    let table_end = table_end.min(run_end);
                    let mut ret = Ok(());
                    while addr < table_end {
                        let mut next = addr + PAGE_SIZE;
                        ret = out.output(run.categories, addr, &mut next);
                        if next == addr {
                            break;
                        }
                        assert!(ret.is_ok(), "a page was cut but not refused");
                        addr = next;
                    }
                    ret?;
                }
            }
            Feed::Whole => {
                let mut e = run_end;
                out.output(run.categories, start, &mut e)?;
                assert_eq!(e, run_end);
            }
            Feed::Pmds => {
                let mut addr = start;
                while addr < run_end {
                    let pmd_end =
                        ((addr / (BOUNCE_ENTRIES * PAGE_SIZE)) + 1) * BOUNCE_ENTRIES * PAGE_SIZE;
                    let mut e = pmd_end.min(run_end);
                    let full_end = e;
                    let r = out.output(run.categories, addr, &mut e);
                    assert!(e >= addr && e <= full_end);
                    match r {
                        Ok(()) => assert_eq!(e, full_end),
                        Err(Full) => {
                            assert_eq!(out.walk_end, Some(e));
                            return Err(Full);
                        }
                    }
                    addr = e;
                }
            }
        }
    }
    Ok(())
}

/// The loop of `RustScan::scan()`.
fn drive(case: &Case) -> Seen {
    let args = args_for(case);
    let buf = match Output::<Vec<PageRegion>>::bounce_len(&args) {
        0 => None,
        n => Some(Vec::with_capacity(n)),
    };
    // C's bounce buffer: one entry per page of a PMD.
    assert!(buf.as_ref().map_or(0, |b| b.capacity()) as u64 <= BOUNCE_ENTRIES);
    let mut out = Output::new(&args, buf);
    assert_eq!(out.has_vec(), case.vec_len != 0);
    let mut user: Vec<PageRegion> = Vec::new();
    let mut walk_start = args.start;
    let mut passes = 0;
    while walk_start < args.end {
        passes += 1;
        assert!(passes <= case.runs.len() + 2, "no progress");
        let ret = walk(&mut out, &case.runs, walk_start, args.end);
        let pending = out.pending();
        let n = pending.len();
        assert!(n as u64 <= out.vec_left);
        assert!(n as u64 <= BOUNCE_ENTRIES);
        user.extend_from_slice(pending);
        out.flushed(n);
        let more = ret.is_err() && !out.exhausted();
        if !more {
            assert!(out.pending().is_empty());
            if ret.is_ok() {
                // The true end, not an earlier stop (see the C defect test).
                out.walk_end = None;
            }
            break;
        }
        let stop = out.walk_end.expect("a full pass says where it stopped");
        assert!(stop > walk_start, "walk_end {:#x} did not advance", stop);
        walk_start = stop;
    }
    assert_eq!(out.vec_left, case.vec_len - user.len() as u64);
    // Adjacent regions with equal categories are always merged.
    for w in user.windows(2) {
        assert!(
            w[0].end != w[1].start || w[0].categories != w[1].categories,
            "unmerged {:x?}",
            w
        );
    }
    Seen {
        regions: user,
        found_pages: out.found_pages,
        walk_end: out.walk_end.unwrap_or(args.end),
    }
}

/// The runs, masked, merged, cut to `max_pages` pages and `vec_len`
/// regions; the walk ends at the first page not reported.
fn model(case: &Case) -> Seen {
    if case.vec_len == 0 {
        return Seen {
            regions: vec![],
            found_pages: 0,
            walk_end: case.end,
        };
    }
    let mut merged: Vec<PageRegion> = Vec::new();
    for r in &case.runs {
        let start = r.page * PAGE_SIZE;
        let end = start + r.pages * PAGE_SIZE;
        let categories = r.categories & case.return_mask;
        match merged.last_mut() {
            Some(last) if last.end == start && last.categories == categories => last.end = end,
            _ => merged.push(PageRegion {
                start,
                end,
                categories,
            }),
        }
    }
    let mut pages_left = if case.max_pages == 0 {
        u64::MAX
    } else {
        case.max_pages
    };
    let mut regions = Vec::new();
    let mut walk_end = case.end;
    for r in merged {
        if regions.len() as u64 == case.vec_len || pages_left == 0 {
            walk_end = r.start;
            break;
        }
        let take = ((r.end - r.start) / PAGE_SIZE).min(pages_left);
        pages_left -= take;
        let end = r.start + take * PAGE_SIZE;
        regions.push(PageRegion { end, ..r });
        if end != r.end {
            walk_end = end;
            break;
        }
    }
    let found_pages = regions.iter().map(|r| (r.end - r.start) / PAGE_SIZE).sum();
    Seen {
        regions,
        found_pages,
        walk_end,
    }
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let seen = drive(case);
    for r in &seen.regions {
        prop_assert!(r.start < r.end, "empty region {:x?}", r);
        prop_assert!(r.start % PAGE_SIZE == 0 && r.end % PAGE_SIZE == 0);
        prop_assert!(r.categories & !case.return_mask == 0);
    }
    for w in seen.regions.windows(2) {
        prop_assert!(w[0].end <= w[1].start, "not increasing: {:x?}", w);
        prop_assert!(
            w[0].end != w[1].start || w[0].categories != w[1].categories,
            "not merged: {:x?}",
            w
        );
    }
    prop_assert!(seen.regions.len() as u64 <= case.vec_len);
    if case.max_pages != 0 {
        prop_assert!(seen.found_pages <= case.max_pages);
    }
    prop_assert!(seen.walk_end >= case.start && seen.walk_end <= case.end);
    prop_assert_eq!(seen, model(case));
    Ok(())
}

fn feed() -> impl Strategy<Value = Feed> {
    prop_oneof![Just(Feed::Pages), Just(Feed::Whole), Just(Feed::Pmds)]
}

/// Categories from a small palette (so that runs merge) or anything.
fn categories() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => prop::sample::select(vec![0x0a, 0x0b, 0x4a, 0x08]),
        1 => 0..=0xffu64,
    ]
}

/// (gap before, pages, categories, feed).
type RunSpec = (u64, u64, u64, Feed);

fn run_specs() -> impl Strategy<Value = Vec<RunSpec>> {
    let gap = || prop_oneof![4 => Just(0u64), 2 => 1..4u64, 1 => 1..1500u64];
    let few = prop::collection::vec(
        (
            gap(),
            prop_oneof![4 => 1..4u64, 2 => 1..40u64, 1 => 1..1200u64],
            categories(),
            feed(),
        ),
        0..30,
    );
    // Enough regions to fill the 512-entry bounce buffer more than once.
    let many = prop::collection::vec(
        (
            prop_oneof![Just(0u64), 1..3u64],
            1..3u64,
            categories(),
            feed(),
        ),
        400..1300,
    );
    prop_oneof![3 => few, 1 => many]
}

fn case() -> impl Strategy<Value = Case> {
    let base = prop_oneof![
        Just(0u64),
        Just(1u64),
        0..(1u64 << 20),
        (1u64 << 34)..(1u64 << 35)
    ];
    let vec_len = prop_oneof![
        2 => Just(0u64),
        3 => 1..4u64,
        3 => 1..40u64,
        2 => 500..530u64,
        2 => 1000..1100u64,
        1 => Just(core::cmp::min(1u64 << 40, SIZE_MAX)),
    ];
    let max_pages = prop_oneof![
        3 => Just(0u64),
        2 => 1..10u64,
        2 => 1..3000u64,
        1 => 1..(1u64 << 40),
        1 => Just(u64::MAX),
    ];
    let return_mask = prop_oneof![Just(0u64), Just(0xffu64), 0..=0xffu64];
    (
        base,
        run_specs(),
        0..3u64,
        0..3u64,
        vec_len,
        max_pages,
        return_mask,
    )
        .prop_map(
            |(base, specs, before, after, vec_len, max_pages, return_mask)| {
                let mut page = base + before;
                let mut runs = Vec::new();
                for (gap, pages, categories, feed) in specs {
                    // The first run may start at the scan start.
                    if !runs.is_empty() || gap > 0 {
                        page += gap;
                    }
                    runs.push(Run {
                        page,
                        pages,
                        categories,
                        feed,
                    });
                    page += pages;
                }
                Case {
                    runs,
                    start: base * PAGE_SIZE,
                    end: (page + after) * PAGE_SIZE,
                    vec_len,
                    max_pages,
                    return_mask,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn output_matches_model(case in case()) {
        check(&case)?;
    }
}

fn run(page: u64, pages: u64, categories: u64, feed: Feed) -> Run {
    Run {
        page,
        pages,
        categories,
        feed,
    }
}

fn case_of(runs: Vec<Run>, vec_len: u64, max_pages: u64) -> Case {
    let end = runs.last().map_or(0x20, |r| r.page + r.pages) * PAGE_SIZE;
    Case {
        runs,
        start: 0x10 * PAGE_SIZE,
        end,
        vec_len,
        max_pages,
        return_mask: 0xff,
    }
}

#[test]
fn fixed_cases() {
    #[rustfmt::skip]
    let cases = [
        // Merging across calls and across feeds.
        case_of(vec![run(0x10, 3, 1, Feed::Pages), run(0x13, 600, 1, Feed::Pmds), run(0x26b, 2, 1, Feed::Whole)], 1, 0),
        // max_pages ends a region exactly; the next run is not reported.
        case_of(vec![run(0x10, 3, 1, Feed::Pages), run(0x20, 3, 2, Feed::Pages)], 10, 3),
        // max_pages inside a PMD-fed run.
        case_of(vec![run(0x10, 1024, 1, Feed::Pmds)], 10, 700),
        // vec_len full: the walk stops at the region that does not fit.
        case_of(vec![run(0x10, 1, 1, Feed::Pages), run(0x12, 1, 1, Feed::Pages), run(0x14, 1, 1, Feed::Whole)], 2, 0),
        // One region more than the bounce buffer holds.
        case_of((0..N + 1).map(|i| run(0x10 + 2 * i, 1, 1, Feed::Pages)).collect(), N + 88, 0),
        case_of((0..2 * N + 1).map(|i| run(0x10 + 2 * i, 1, i & 1, Feed::Whole)).collect(), 2 * N, 0),
        // No user array: nothing is counted.
        case_of(vec![run(0x10, 5, 1, Feed::Pages)], 0, 2),
    ];
    for c in &cases {
        check(c).unwrap_or_else(|e| panic!("{e}: {c:x?}"));
    }
    // Concrete results of two of them.
    let s = drive(&cases[1]);
    assert_eq!(
        s.regions,
        [PageRegion {
            start: pg(0x10),
            end: pg(0x13),
            categories: 1
        }]
    );
    assert_eq!((s.found_pages, s.walk_end), (3, pg(0x20)));
    let s = drive(&cases[4]);
    assert_eq!(s.regions.len() as u64, N + 1);
    assert_eq!(s.walk_end, cases[4].end);
}

/// After the bounce buffer filled, the next pass runs to the end without a
/// stop, and `walk_end` still holds the earlier stop: the walk_end that C
/// reports in this case (`do_pagemap_scan()` only fills in `end` when
/// walk_end is 0). `RustScan::scan()` clears it to report the true end.
#[test]
fn walk_end_of_an_earlier_stop_survives_a_full_pass() {
    let case = case_of(
        (0..513)
            .map(|i| run(0x10 + 2 * i, 1, 1, Feed::Pages))
            .collect(),
        600,
        0,
    );
    let args = args_for(&case);
    let mut out = Output::new(&args, Some(Vec::with_capacity(512)));
    assert_eq!(walk(&mut out, &case.runs, args.start, args.end), Err(Full));
    let stop = out.walk_end.unwrap();
    assert_eq!(stop, (0x10 + 2 * 512) * PAGE_SIZE);
    assert_eq!(out.pending().len(), 512);
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 600 - 512);
    assert_eq!(walk(&mut out, &case.runs, stop, args.end), Ok(()));
    assert_eq!(out.pending().len(), 1);
    assert_eq!(out.walk_end, Some(stop));
}

#[test]
fn output_cuts_at_max_pages() {
    let mut raw = good_raw();
    raw.max_pages = 5;
    let args = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none).unwrap();
    let mut out = Output::new(&args, Some(Vec::with_capacity(10)));
    let mut end = pg(0x13);
    assert_eq!(out.output(0xff, pg(0x10), &mut end), Ok(()));
    assert_eq!(out.found_pages, 3);
    // 4 pages asked, 2 left: cut, and the walk stops there.
    let mut end = pg(0x18);
    assert_eq!(out.output(0xff, pg(0x14), &mut end), Err(Full));
    assert_eq!(
        (end, out.found_pages, out.walk_end),
        (pg(0x16), 5, Some(pg(0x16)))
    );
    // Nothing left: cut to nothing.
    let mut end = pg(0x19);
    assert_eq!(out.output(0xff, pg(0x18), &mut end), Err(Full));
    assert_eq!(
        (end, out.found_pages, out.walk_end),
        (pg(0x18), 5, Some(pg(0x18)))
    );
    // The empty entry that the cut left is not reported.
    assert_eq!(
        out.pending(),
        [
            PageRegion {
                start: pg(0x10),
                end: pg(0x13),
                categories: 0
            },
            PageRegion {
                start: pg(0x14),
                end: pg(0x16),
                categories: 0
            },
        ]
    );
}

#[test]
fn output_masks_categories_with_return_mask() {
    let mut raw = good_raw();
    raw.return_mask = 0x0a;
    let args = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none).unwrap();
    let mut out = Output::new(&args, Some(Vec::with_capacity(10)));
    let mut end = pg(0x11);
    out.output(0xff, pg(0x10), &mut end).unwrap();
    // Different categories, equal once masked: one region.
    let mut end = pg(0x12);
    out.output(0x0e, pg(0x11), &mut end).unwrap();
    assert_eq!(
        out.pending(),
        [PageRegion {
            start: pg(0x10),
            end: pg(0x12),
            categories: 0x0a
        }]
    );
}

/// found_pages + n_pages overflowing: C's wrapped sum gives the right cut.
#[test]
fn output_page_count_overflow() {
    let args = validate(&good_raw(), Semantics::LINUX_6_12, access_ok, untag_none).unwrap();
    assert_eq!(args.max_pages, SIZE_MAX);
    let mut out = Output::new(&args, Some(Vec::with_capacity(10)));
    out.found_pages = SIZE_MAX - 2;
    let mut end = pg(0x15);
    assert_eq!(out.output(1, pg(0x10), &mut end), Err(Full));
    assert_eq!(
        (end, out.found_pages, out.walk_end),
        (pg(0x12), SIZE_MAX, Some(pg(0x12)))
    );
}

#[test]
fn no_vec_reports_nothing() {
    let mut raw = good_raw();
    raw.vec = 0;
    raw.vec_len = 0;
    raw.max_pages = 1;
    let args = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none).unwrap();
    assert_eq!(Output::<Vec<PageRegion>>::bounce_len(&args), 0);
    let mut out = Output::<Vec<PageRegion>>::new(&args, None);
    assert!(!out.has_vec());
    let mut end = pg(0x20);
    assert_eq!(out.output(1, pg(0x10), &mut end), Ok(()));
    assert_eq!((end, out.found_pages, out.walk_end), (pg(0x20), 0, None));
    assert!(out.pending().is_empty());
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 0);
}

#[test]
fn bounce_len_is_min_of_vec_len_and_bounce_entries() {
    for (vec_len, want) in [
        (0, 0),
        (1, 1),
        (N - 1, N - 1),
        (N, N),
        (N + 1, N),
        (SIZE_MAX, N),
    ] {
        let mut raw = good_raw();
        raw.vec_len = vec_len;
        let args = validate(&raw, Semantics::LINUX_6_12, |_, _| true, untag_none).unwrap();
        assert_eq!(Output::<Vec<PageRegion>>::bounce_len(&args) as u64, want);
    }
}

/// `flushed()` shrinks the usable buffer to the user entries left, like
/// `pagemap_scan_flush_buffer()`.
#[test]
fn flush_shrinks_buffer_to_vec_left() {
    let mut raw = good_raw();
    raw.vec_len = 3;
    raw.return_mask = 0xff;
    let args = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none).unwrap();
    let mut out = Output::new(&args, Some(Vec::with_capacity(3)));
    for (i, addr) in [0x1_0000u64, pg(0x12)].into_iter().enumerate() {
        let mut end = addr + PAGE_SIZE;
        out.output(i as u64, addr, &mut end).unwrap();
    }
    assert_eq!(out.pending().len(), 2);
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 1);
    let mut end = pg(0x15);
    assert_eq!(out.output(1, pg(0x14), &mut end), Ok(()));
    // One entry left: a second region does not fit.
    let mut end = pg(0x17);
    assert_eq!(out.output(1, pg(0x16), &mut end), Err(Full));
    assert_eq!((end, out.walk_end), (pg(0x16), Some(pg(0x16))));
    assert_eq!(
        out.pending(),
        [PageRegion {
            start: pg(0x14),
            end: pg(0x15),
            categories: 1
        }]
    );
    let n = out.pending().len();
    out.flushed(n);
    assert_eq!(out.vec_left, 0);
}
