// SPDX-License-Identifier: GPL-2.0

//! `is_interesting_page()` / `is_interesting_vma()` against the C
//! expressions, and `written_only()` against its meaning.

use super::super::logic::{Args, Semantics};
use crate::{PAGE_IS_FILE, PAGE_IS_HUGE, PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED, PAGE_IS_WRITTEN};
use super::args_with_masks;
use proptest::prelude::*;

/// `pagemap_scan_is_interesting_page()`.
fn c_is_interesting_page(mut categories: u64, a: &Args) -> bool {
    categories ^= a.category_inverted;
    if (categories & a.category_mask) != a.category_mask {
        return false;
    }
    if a.category_anyof_mask != 0 && (categories & a.category_anyof_mask) == 0 {
        return false;
    }
    true
}

/// `pagemap_scan_is_interesting_vma()`.
fn c_is_interesting_vma(mut categories: u64, a: &Args) -> bool {
    let required = a.category_mask & PAGE_IS_WPALLOWED;
    categories ^= a.category_inverted;
    if (categories & required) != required {
        return false;
    }
    true
}

/// The documented meaning, bit by bit: every bit of `category_mask` and one
/// bit of `category_anyof_mask` (if any) hold, after inversion.
fn meaning(categories: u64, a: &Args) -> bool {
    let has = |bit: u32| ((categories ^ a.category_inverted) >> bit) & 1 == 1;
    let all = (0..64).filter(|b| (a.category_mask >> b) & 1 == 1).all(has);
    let anyof_bits: Vec<u32> = (0..64)
        .filter(|b| (a.category_anyof_mask >> b) & 1 == 1)
        .collect();
    all && (anyof_bits.is_empty() || anyof_bits.into_iter().any(has))
}

fn masks() -> impl Strategy<Value = Args> {
    let m = || {
        prop_oneof![3 => 0..=0xffu64, 1 => Just(0u64), 1 => prop::sample::select(vec![
            PAGE_IS_WRITTEN, PAGE_IS_WPALLOWED, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, Semantics::LINUX_6_12.categories,
        ])]
    };
    (m(), m(), m(), m()).prop_map(|(i, c, a, r)| args_with_masks(i, c, a, r))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn page_matches_c(a in masks(), c in prop_oneof![0..=0xffu64, any::<u64>()]) {
        prop_assert_eq!(a.is_interesting_page(c), c_is_interesting_page(c, &a));
        prop_assert_eq!(a.is_interesting_page(c), meaning(c, &a));
    }

    #[test]
    fn vma_matches_c(a in masks(), c in prop_oneof![0..=0xffu64, any::<u64>()]) {
        prop_assert_eq!(a.is_interesting_vma(c), c_is_interesting_vma(c, &a));
    }

    /// The per-VMA filter never drops a page that would match: a page's
    /// categories contain its VMA's (WPALLOWED, SOFT_DIRTY).
    #[test]
    fn vma_filter_is_conservative(a in masks(), page in 0..=0xffu64) {
        let vma = page & (PAGE_IS_WPALLOWED | PAGE_IS_SOFT_DIRTY);
        if a.is_interesting_page(page) {
            prop_assert!(a.is_interesting_vma(vma));
        }
    }

    /// `written_only()`'s fast path (report WRITTEN for every page that is
    /// not write-protected) gives what the general path would.
    #[test]
    fn written_only_fast_path(a in masks(), page in 0..=0xffu64) {
        if a.written_only() {
            prop_assert_eq!(a.is_interesting_page(page), page & PAGE_IS_WRITTEN != 0);
            prop_assert_eq!(page & a.return_mask, page & PAGE_IS_WRITTEN);
        }
    }
}

/// Every combination of the 8 categories against a few fixed mask sets.
#[test]
fn exhaustive_small_masks() {
    let sets = [
        (0, 0, 0, 0),
        (0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN),
        (PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, 0, 0xff),
        (0, PAGE_IS_PRESENT, PAGE_IS_FILE | PAGE_IS_HUGE, 0xff),
        (
            PAGE_IS_PFNZERO,
            PAGE_IS_PFNZERO,
            PAGE_IS_SWAPPED | PAGE_IS_SOFT_DIRTY,
            0,
        ),
        (0xff, 0xff, 0xff, 0xff),
        (0, 0, 0xff, 0xff),
        (0xff, 0, 0xff, 0xff),
    ];
    for (i, c, any, r) in sets {
        let a = args_with_masks(i, c, any, r);
        for cat in 0..=0xff {
            assert_eq!(
                a.is_interesting_page(cat),
                c_is_interesting_page(cat, &a),
                "{a:?} {cat:#x}"
            );
            assert_eq!(
                a.is_interesting_vma(cat),
                c_is_interesting_vma(cat, &a),
                "{a:?} {cat:#x}"
            );
        }
    }
}

#[test]
fn examples() {
    // No masks: everything matches.
    let a = args_with_masks(0, 0, 0, 0xff);
    assert!(a.is_interesting_page(0) && a.is_interesting_vma(0));
    // Written pages only.
    let a = args_with_masks(0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
    assert!(a.written_only());
    assert!(a.is_interesting_page(PAGE_IS_WRITTEN | PAGE_IS_PRESENT));
    assert!(!a.is_interesting_page(PAGE_IS_PRESENT));
    // Inverted: pages that are NOT written.
    let a = args_with_masks(PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
    assert!(!a.written_only());
    assert!(!a.is_interesting_page(PAGE_IS_WRITTEN));
    assert!(a.is_interesting_page(PAGE_IS_PRESENT));
    // anyof: present or swapped.
    let a = args_with_masks(0, 0, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, 0xff);
    assert!(a.is_interesting_page(PAGE_IS_SWAPPED));
    assert!(!a.is_interesting_page(PAGE_IS_FILE));
    // The VMA filter only looks at a required WPALLOWED.
    let a = args_with_masks(0, PAGE_IS_WPALLOWED | PAGE_IS_FILE, 0, 0xff);
    assert!(!a.is_interesting_vma(0));
    assert!(a.is_interesting_vma(PAGE_IS_WPALLOWED));
    let a = args_with_masks(PAGE_IS_WPALLOWED, PAGE_IS_WPALLOWED, 0, 0xff);
    assert!(a.is_interesting_vma(PAGE_IS_SOFT_DIRTY));
    assert!(!a.is_interesting_vma(PAGE_IS_WPALLOWED));
    // anyof alone never filters VMAs.
    let a = args_with_masks(0, 0, PAGE_IS_WPALLOWED, 0xff);
    assert!(a.is_interesting_vma(0));
    // Inverting a bit that is not required changes nothing per VMA.
    let a = args_with_masks(PAGE_IS_WPALLOWED, 0, 0, 0xff);
    assert!(a.is_interesting_vma(PAGE_IS_WPALLOWED) && a.is_interesting_vma(0));
}
