// SPDX-License-Identifier: GPL-2.0

//! Page table walks (`walk_page_range()`).
//!
//! A walker implements [`PageWalk`]; the C `struct mm_walk_ops` with
//! trampolines for the callbacks the implementation provides is built at
//! compile time, one per walker type. Callbacks receive safe views of what
//! the walk found: the VMA, the PMD (from which the PTE table or the huge PMD
//! can be locked) and hugetlb entries.
//!
//! C header: [`include/linux/pagewalk.h`](srctree/include/linux/pagewalk.h)

use crate::build_error;
use crate::{
    bindings,
    error::Error,
    ffi::{c_int, c_ulong, c_void},
    mm::{
        hugetlb::HugetlbEntry,
        pgtable::{PmdHugeLock, PteInfo, PteQuery, PteTable},
        virt::VmaRef,
        MmapReadGuard,
    },
    prelude::*,
};
use core::marker::PhantomData;

/// What a walk does with a VMA, decided by [`PageWalk::test_walk`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VmaAction {
    /// Walk the VMA's page tables.
    Walk,
    /// Skip the VMA.
    Skip,
}

/// A page table walker.
///
/// Each callback returns `Ok(())` to go on or an error to stop the walk;
/// the error is what `walk_page_range` returns.
#[vtable]
pub trait PageWalk: Sized {
    /// Decides whether to walk the VMA covering `[start, end)`.
    fn test_walk(&mut self, _vma: &VmaRef, _start: usize, _end: usize) -> Result<VmaAction> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called for every present PMD covering `[start, end)`.
    fn pmd_entry(&mut self, _pmd: &mut PmdEntry<'_>, _start: usize, _end: usize) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called for unpopulated ranges; `vma` is `None` outside any VMA.
    fn pte_hole(&mut self, _start: usize, _end: usize, _vma: Option<&VmaRef>) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called for every hugetlb entry covering `[start, end)`.
    fn hugetlb_entry(&mut self, _entry: &HugetlbEntry<'_>, _start: usize, _end: usize) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A PMD found by the walk, in a VMA the walk holds.
///
/// # Invariants
///
/// `pmdp` is a valid PMD of `vma` covering the callback's range and `walk`
/// is the running `mm_walk`; both are valid for `'a`.
pub struct PmdEntry<'a> {
    pmdp: *mut bindings::pmd_t,
    walk: *mut bindings::mm_walk,
    vma: &'a VmaRef,
}

/// What a PMD maps, as [`PmdEntry::view`] found it.
pub enum PmdView<T> {
    /// A PTE table, locked (or what was made of it).
    Table(T),
    /// The state of a transparent huge page (or THP migration entry).
    Huge(PteInfo),
    /// Neither any more: the walk should retry the PMD
    /// ([`PmdEntry::again`]).
    Gone,
}

impl<'a> PmdEntry<'a> {
    /// The VMA.
    #[inline]
    pub fn vma(&self) -> &'a VmaRef {
        self.vma
    }

    /// Locks the PMD if it maps a transparent huge page (or a THP
    /// migration entry), reading its state; `None` if it points to a PTE
    /// table (or is empty). `addr` is the start of the walked range in the
    /// PMD; with `file`, [`PteInfo::maps_file`] is evaluated too.
    ///
    /// [`PteInfo::maps_file`]: crate::mm::pgtable::PteInfo::maps_file
    #[inline]
    pub fn lock_huge(&self, addr: usize, file: bool) -> Option<PmdHugeLock<'a>> {
        #[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
        {
            let mut info = 0u8;
            // SAFETY: valid PMD of a valid VMA by the type invariant; `info`
            // is a valid byte to write.
            let ptl = unsafe {
                bindings::pmd_huge_lock_info(
                    self.vma.as_raw(),
                    addr as _,
                    self.pmdp,
                    file,
                    &mut info,
                )
            };
            if ptl.is_null() {
                return None;
            }
            // SAFETY: the helper returned the held lock of a huge PMD of
            // `vma` and its state; the guard takes the lock over.
            Some(unsafe { PmdHugeLock::new(self.pmdp, ptl, self.vma, info) })
        }
        #[cfg(not(CONFIG_TRANSPARENT_HUGEPAGE))]
        {
            let _ = (addr, file);
            None
        }
    }

    /// What the PMD maps, for a walker that changes nothing and looks at no
    /// page: the PTE table for `[start, end)` (inside this PMD and the VMA),
    /// locked and in lazy MMU mode, its entries read as `Q` says; or the
    /// state of a transparent huge page (or THP migration entry), read once
    /// without its lock (a snapshot; [`PteInfo::maps_file`] is never set).
    /// One helper call for either.
    ///
    /// [`PteInfo::maps_file`]: crate::mm::pgtable::PteInfo::maps_file
    #[inline]
    pub fn view<Q: PteQuery>(&self, start: usize, end: usize) -> PmdView<PteTable<'a, Q>> {
        #[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
        {
            if !self.range_ok(start, end) {
                return PmdView::Gone;
            }
            let mut ptl: *mut bindings::spinlock_t = core::ptr::null_mut();
            let mut huge: crate::ffi::c_int = -1;
            // SAFETY: valid PMD of the VMA's mm; the walk holds the mmap
            // lock; `ptl` and `huge` are valid to write.
            let ptep = unsafe {
                bindings::pte_table_lock_or_huge(
                    (*self.vma.as_raw()).vm_mm,
                    self.pmdp,
                    start as _,
                    &mut ptl,
                    &mut huge,
                )
            };
            if !ptep.is_null() {
                // SAFETY: mapped, locked and in lazy MMU mode by the helper;
                // `[start, end)` is in one PMD and inside the VMA (checked).
                return PmdView::Table(unsafe { PteTable::new(ptep, ptl, self.vma, start, end) });
            }
            match u8::try_from(huge) {
                Ok(info) => PmdView::Huge(PteInfo::from_raw(info)),
                Err(_) => PmdView::Gone,
            }
        }
        #[cfg(not(CONFIG_TRANSPARENT_HUGEPAGE))]
        match self.lock_ptes(start, end) {
            Some(t) => PmdView::Table(t),
            None => PmdView::Gone,
        }
    }

    /// Whether `[start, end)` lies within this PMD and the VMA.
    #[inline]
    fn range_ok(&self, start: usize, end: usize) -> bool {
        let pmd_mask = !(crate::mm::PMD_SIZE - 1);
        start < end
            && start & pmd_mask == (end - 1) & pmd_mask
            && start >= self.vma.start()
            && end <= self.vma.end()
    }

    /// Maps and locks the PTE table for `[start, end)` (inside this PMD and
    /// the VMA), in lazy MMU mode; its entries are read as `Q` says. `None`
    /// if the range is not, or if the PMD changed under us (no table any
    /// more): the caller should then ask the walk to retry with
    /// [`PmdEntry::again`].
    #[inline]
    pub fn lock_ptes<Q: PteQuery>(&self, start: usize, end: usize) -> Option<PteTable<'a, Q>> {
        if !self.range_ok(start, end) {
            return None;
        }
        let mut ptl: *mut bindings::spinlock_t = core::ptr::null_mut();
        // SAFETY: valid PMD of the VMA's mm; the walk holds the mmap lock.
        let ptep = unsafe {
            bindings::pte_table_lock((*self.vma.as_raw()).vm_mm, self.pmdp, start as _, &mut ptl)
        };
        if ptep.is_null() {
            return None;
        }
        // SAFETY: mapped, locked and in lazy MMU mode above; `[start, end)`
        // is in one PMD and inside the VMA (checked above).
        Some(unsafe { PteTable::new(ptep, ptl, self.vma, start, end) })
    }

    /// Asks the walk to call `pmd_entry` for this PMD again.
    #[inline]
    pub fn again(&mut self) {
        // SAFETY: the running walk, by the type invariant; only this
        // callback touches its action field now.
        unsafe { (*self.walk).action = bindings::page_walk_action_ACTION_AGAIN };
    }
}

struct Ops<W: PageWalk>(PhantomData<W>);

impl<W: PageWalk> Ops<W> {
    const OPS: bindings::mm_walk_ops = bindings::mm_walk_ops {
        pmd_entry: if W::HAS_PMD_ENTRY {
            Some(Self::pmd_entry)
        } else {
            None
        },
        pte_hole: if W::HAS_PTE_HOLE {
            Some(Self::pte_hole)
        } else {
            None
        },
        hugetlb_entry: if W::HAS_HUGETLB_ENTRY {
            Some(Self::hugetlb_entry)
        } else {
            None
        },
        test_walk: if W::HAS_TEST_WALK {
            Some(Self::test_walk)
        } else {
            None
        },
        // SAFETY: all-zero is valid for the remaining fields: no callback
        // (NULL) and `PGWALK_RDLOCK`.
        ..unsafe { core::mem::zeroed() }
    };

    /// # Safety
    ///
    /// `walk` is the running walk started by [`MmapReadGuard::walk_page_range`]
    /// with a `W` as private data.
    unsafe fn walker<'w>(walk: *mut bindings::mm_walk) -> &'w mut W {
        // SAFETY: `private` is the `&mut W` the walk was started with, not
        // used elsewhere while a callback runs.
        unsafe { &mut *(*walk).private.cast::<W>() }
    }

    /// # Safety
    ///
    /// Only called by `walk_page_range()` with [`Self::OPS`], from a walk
    /// started by [`MmapReadGuard::walk_page_range`] for a `W`.
    unsafe extern "C" fn test_walk(
        start: c_ulong,
        end: c_ulong,
        walk: *mut bindings::mm_walk,
    ) -> c_int {
        // SAFETY: called by the walk started with our ops; `vma` is set and
        // valid during `test_walk`.
        let (w, vma) = unsafe { (Self::walker(walk), VmaRef::from_raw((*walk).vma)) };
        match w.test_walk(vma, start, end) {
            Ok(VmaAction::Walk) => 0,
            Ok(VmaAction::Skip) => 1,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only called by `walk_page_range()` with [`Self::OPS`], from a walk
    /// started by [`MmapReadGuard::walk_page_range`] for a `W`.
    unsafe extern "C" fn pmd_entry(
        pmdp: *mut bindings::pmd_t,
        start: c_ulong,
        end: c_ulong,
        walk: *mut bindings::mm_walk,
    ) -> c_int {
        // SAFETY: called by the walk started with our ops, inside a VMA.
        let (w, vma) = unsafe { (Self::walker(walk), VmaRef::from_raw((*walk).vma)) };
        // INVARIANT: the walk's PMD and walk, valid during this callback.
        let mut pmd = PmdEntry { pmdp, walk, vma };
        errno(w.pmd_entry(&mut pmd, start, end))
    }

    /// # Safety
    ///
    /// Only called by `walk_page_range()` with [`Self::OPS`], from a walk
    /// started by [`MmapReadGuard::walk_page_range`] for a `W`.
    unsafe extern "C" fn pte_hole(
        start: c_ulong,
        end: c_ulong,
        _depth: c_int,
        walk: *mut bindings::mm_walk,
    ) -> c_int {
        // SAFETY: called by the walk started with our ops; `vma` is NULL or
        // valid.
        let (w, vma) = unsafe {
            let vma = (*walk).vma;
            (
                Self::walker(walk),
                (!vma.is_null()).then(|| VmaRef::from_raw(vma)),
            )
        };
        errno(w.pte_hole(start, end, vma))
    }

    /// # Safety
    ///
    /// Only called by `walk_page_range()` with [`Self::OPS`], from a walk
    /// started by [`MmapReadGuard::walk_page_range`] for a `W`.
    unsafe extern "C" fn hugetlb_entry(
        ptep: *mut bindings::pte_t,
        _hmask: c_ulong,
        start: c_ulong,
        end: c_ulong,
        walk: *mut bindings::mm_walk,
    ) -> c_int {
        // SAFETY: called by the walk started with our ops, inside a hugetlb
        // VMA, with the hugetlb VMA lock held.
        let (w, entry) = unsafe {
            let vma = VmaRef::from_raw((*walk).vma);
            (Self::walker(walk), HugetlbEntry::new(ptep, vma))
        };
        errno(w.hugetlb_entry(&entry, start, end))
    }
}

/// A callback's result as the walk wants it: 0 or a negative errno.
#[inline(always)]
fn errno(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl MmapReadGuard<'_> {
    /// Walks the page tables of `[start, end)` with `walker`.
    ///
    /// Returns the first error a callback returned, or the walk's own
    /// (`EINVAL` for a bad range).
    pub fn walk_page_range<W: PageWalk>(&self, start: usize, end: usize, walker: &mut W) -> Result {
        // SAFETY: the mmap read lock is held (type invariant of the guard),
        // the ops match `W`, and `walker` is exclusively borrowed for the
        // duration of the walk.
        let ret = unsafe {
            bindings::walk_page_range(
                self.mm().as_raw(),
                start as _,
                end as _,
                &Ops::<W>::OPS,
                (walker as *mut W).cast::<c_void>(),
            )
        };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }
}
