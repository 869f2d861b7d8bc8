// SPDX-License-Identifier: GPL-2.0

//! The categories of an entry on each tree, against transcriptions of the
//! trees' `pagemap_page_category()` / `pagemap_thp_category()`, and the
//! category masks `validate()` accepts.

use super::super::logic::{validate, ArgError::Inval as EINVAL, Entry, Semantics, VmaUffd};
use crate::{PAGE_IS_ACCESSED, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WRITTEN};
use super::{access_ok, good_raw, untag_none};

/// A page table entry as the C code sees it.
#[derive(Clone, Copy, Debug, Default)]
struct Pte {
    none: bool,
    present: bool,
    uffd: bool,
    zero: bool,
    soft_dirty: bool,
    file: bool,
    guard: bool,
}

impl Entry for Pte {
    fn is_none(self) -> bool {
        self.none
    }
    fn is_present(self) -> bool {
        self.present
    }
    fn uffd(self) -> bool {
        self.uffd
    }
    fn zero_pfn(self) -> bool {
        self.zero
    }
    fn soft_dirty(self) -> bool {
        self.soft_dirty
    }
    fn maps_file(self) -> bool {
        self.file
    }
    fn guard(self) -> bool {
        self.guard
    }
}

/// Every consistent entry: empty; present (zero page or not); swap-like
/// (a guard marker or not, a file page or not).
fn entries() -> Vec<Pte> {
    let mut v = vec![Pte {
        none: true,
        ..Default::default()
    }];
    for bits in 0..32u32 {
        let b = |i: u32| bits >> i & 1 == 1;
        v.push(Pte {
            present: true,
            uffd: b(0),
            zero: b(1),
            soft_dirty: b(2),
            file: b(3),
            ..Default::default()
        });
        // A guard marker has no pfn: FILE is never looked at.
        v.push(Pte {
            uffd: b(0),
            soft_dirty: b(2),
            file: b(3) && !b(4),
            guard: b(4),
            ..Default::default()
        });
    }
    v
}

fn vmas() -> [VmaUffd; 4] {
    [
        VmaUffd {
            wp: false,
            rwp: false,
        },
        VmaUffd {
            wp: true,
            rwp: false,
        },
        VmaUffd {
            wp: false,
            rwp: true,
        },
        VmaUffd {
            wp: true,
            rwp: true,
        },
    ]
}

/// 6.12's `pagemap_page_category()`: WRITTEN for any entry without the
/// uffd bit and for an empty one, whatever the VMA; no GUARD, no ACCESSED.
fn c_6_12(e: Pte) -> u64 {
    if e.none {
        return PAGE_IS_WRITTEN;
    }
    let mut c;
    if e.present {
        c = PAGE_IS_PRESENT;
        if !e.uffd {
            c |= PAGE_IS_WRITTEN;
        }
        if e.file {
            c |= PAGE_IS_FILE;
        }
        if e.zero {
            c |= PAGE_IS_PFNZERO;
        }
        if e.soft_dirty {
            c |= PAGE_IS_SOFT_DIRTY;
        }
    } else {
        c = PAGE_IS_SWAPPED;
        if !e.uffd {
            c |= PAGE_IS_WRITTEN;
        }
        if e.file {
            c |= PAGE_IS_FILE;
        }
        if e.soft_dirty {
            c |= PAGE_IS_SOFT_DIRTY;
        }
    }
    c
}

/// 7.3's `pagemap_page_category()`.
fn c_7_3(vma: VmaUffd, e: Pte) -> u64 {
    if e.none {
        return if vma.wp { PAGE_IS_WRITTEN } else { 0 };
    }
    let mut c;
    if e.present {
        c = PAGE_IS_PRESENT;
        if !e.uffd {
            if vma.wp {
                c |= PAGE_IS_WRITTEN;
            }
            if vma.rwp {
                c |= PAGE_IS_ACCESSED;
            }
        }
        if e.file {
            c |= PAGE_IS_FILE;
        }
        if e.zero {
            c |= PAGE_IS_PFNZERO;
        }
        if e.soft_dirty {
            c |= PAGE_IS_SOFT_DIRTY;
        }
    } else {
        c = PAGE_IS_SWAPPED;
        if !e.uffd {
            if vma.wp {
                c |= PAGE_IS_WRITTEN;
            }
            if vma.rwp {
                c |= PAGE_IS_ACCESSED;
            }
        }
        if e.guard {
            c |= PAGE_IS_GUARD;
        } else if e.file {
            c |= PAGE_IS_FILE;
        }
        if e.soft_dirty {
            c |= PAGE_IS_SOFT_DIRTY;
        }
    }
    c
}

#[test]
fn page_categories_6_12() {
    // 6.12 has no RWP VMAs and no guard markers.
    for vma in [vmas()[0], vmas()[1]] {
        for e in entries().into_iter().filter(|e| !e.guard) {
            assert_eq!(
                Semantics::LINUX_6_12.page_categories(vma, e),
                c_6_12(e),
                "{vma:?} {e:?}"
            );
        }
    }
}

#[test]
fn page_categories_7_3() {
    for vma in vmas() {
        for e in entries() {
            assert_eq!(
                Semantics::LINUX_7_3.page_categories(vma, e),
                c_7_3(vma, e),
                "{vma:?} {e:?}"
            );
        }
    }
}

/// A guard marker outside uffd VMAs is SWAPPED|GUARD, as
/// `MADV_GUARD_INSTALL` users see it; in a uffd-wp VMA also WRITTEN (it
/// carries no uffd-wp marker bit).
#[test]
fn guard_marker_7_3() {
    let guard = Pte {
        guard: true,
        ..Default::default()
    };
    let s = Semantics::LINUX_7_3;
    assert_eq!(
        s.page_categories(VmaUffd::default(), guard),
        PAGE_IS_SWAPPED | PAGE_IS_GUARD
    );
    assert_eq!(
        s.page_categories(
            VmaUffd {
                wp: true,
                rwp: false
            },
            guard
        ),
        PAGE_IS_SWAPPED | PAGE_IS_GUARD | PAGE_IS_WRITTEN
    );
}

/// Huge entries: an empty one has no category (but HUGE, which the caller
/// adds); others as pages (no guard markers at PMD level).
#[test]
fn huge_categories() {
    for sem in [Semantics::LINUX_6_12, Semantics::LINUX_7_3] {
        for vma in vmas() {
            for e in entries().into_iter().filter(|e| !e.guard) {
                let want = if e.none {
                    0
                } else {
                    sem.page_categories(vma, e)
                };
                assert_eq!(sem.huge_categories(vma, e), want);
            }
        }
    }
}

/// The written fast path: on 7.3 only in uffd-wp VMAs.
#[test]
fn written_fast_path_gating() {
    for sem in [Semantics::LINUX_6_12, Semantics::LINUX_7_3] {
        let mut raw = good_raw();
        raw.category_mask = PAGE_IS_WRITTEN;
        raw.return_mask = PAGE_IS_WRITTEN;
        let args = validate(&raw, sem, access_ok, untag_none).unwrap();
        assert!(args.written_fast_path(VmaUffd {
            wp: true,
            rwp: false
        }));
        assert_eq!(
            args.written_fast_path(VmaUffd::default()),
            sem == Semantics::LINUX_6_12
        );
    }
}

/// The first unknown category bit: 8 on 6.12, 10 on 7.3, in every mask.
#[test]
fn category_masks_per_tree() {
    for (sem, first_bad) in [(Semantics::LINUX_6_12, 8), (Semantics::LINUX_7_3, 10)] {
        for field in 0..4 {
            for bit in 0..64 {
                let mut raw = good_raw();
                let m = [
                    &mut raw.category_inverted,
                    &mut raw.category_mask,
                    &mut raw.category_anyof_mask,
                    &mut raw.return_mask,
                ];
                *m.into_iter().nth(field).unwrap() = 1u64 << bit;
                let r = validate(&raw, sem, access_ok, untag_none);
                if bit < first_bad {
                    assert!(r.is_ok(), "{sem:?} field {field} bit {bit}");
                } else {
                    assert_eq!(r, Err(EINVAL), "{sem:?} field {field} bit {bit}");
                }
            }
        }
    }
}
