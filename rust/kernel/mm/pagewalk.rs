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
    error::code::EINVAL,
    error::Error,
    ffi::{c_int, c_ulong, c_void},
    mm::{virt::VmaRef, MmWithUser, MmapReadGuard},
    prelude::*,
};
use compat::NotThreadSafe;
use core::marker::PhantomData;
use core::ops::ControlFlow;
use hugetlb::{HugetlbEntry, HugetlbLock, VmaHugetlb};
use notifier::MmuNotifierRange;
use pgtable::{PmdHugeLock, PteInfo, PteQuery, PteTable};
use uffd::VmaUffdWp;

/// The C `struct vm_area_struct` of `vma`: what [`VmaRef::as_ptr`] returns,
/// always inlined. That one goes through `Opaque::get()`, which a module
/// calls out of line (a call per PMD of a THP scan, per batch of a
/// harvest).
#[inline(always)]
pub(crate) fn vma_raw(vma: &VmaRef) -> *mut bindings::vm_area_struct {
    // `VmaRef` is a `repr(transparent)` `Opaque<vm_area_struct>`, itself
    // `repr(transparent)` over the struct's storage in an `UnsafeCell`:
    // the same pointer as `Opaque::get()`'s, as valid to write through.
    core::ptr::from_ref(vma).cast_mut().cast()
}

pub(crate) mod compat;
pub mod hugetlb;
#[cfg(CONFIG_KUNIT)]
pub mod kunit;
pub mod notifier;
pub mod pgtable;
pub mod uffd;

/// The size of the range one PMD entry maps.
pub const PMD_SIZE: usize = bindings::PMD_SIZE;

/// Whether the current task has a fatal signal pending: a long walk loop
/// checks it between passes, as C does.
#[inline]
pub fn fatal_signal_pending() -> bool {
    // SAFETY: reads the current task's signal state.
    unsafe { bindings::fatal_signal_pending_current() }
}

impl MmWithUser {
    /// Takes the mmap lock for reading; fails with `EINTR` when a fatal
    /// signal arrives while waiting (upstream only has the unkillable
    /// `mmap_read_lock()`, which a scan of another task's mm must not use).
    #[inline]
    pub fn mmap_read_lock_killable(&self) -> Result<MmapReadGuard<'_>> {
        // SAFETY: the mm is valid and has users by the type invariant.
        let ret = unsafe { bindings::mmap_read_lock_killable(self.as_raw()) };
        // Tested here rather than by `to_result()`, which is not inlined
        // across crates: this runs once per walk.
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: the lock was just taken, and `mmap_read_unlock()` runs
        // on drop, on this task (`NotThreadSafe`).
        Ok(MmapReadGuard {
            mm: self,
            _nts: NotThreadSafe,
        })
    }
}

impl MmWithUser {
    /// The size of the address space (`mm->task_size`): user addresses lie
    /// below it.
    #[inline]
    pub fn task_size(&self) -> usize {
        // SAFETY: the mm is valid by the type invariant; `task_size` is set
        // when the mm is set up for an executable and read without a lock,
        // as C does.
        unsafe { bindings::mm_task_size(self.as_raw()) as usize }
    }
}

impl MmapReadGuard<'_> {
    /// `addr` without the tag bits of this address space (LAM on x86), as
    /// `untagged_addr_remote()` computes it: the mmap lock keeps the untag
    /// mask from changing.
    #[inline]
    pub fn untagged_addr(&self, addr: usize) -> usize {
        // SAFETY: the mm is valid and its mmap lock held by the guard.
        unsafe { bindings::untagged_addr_remote(self.mm.as_raw(), addr as _) as usize }
    }
}

mod private {
    pub trait Sealed {}
}

/// How a walk treats the page tables it finds: the [`PageWalk::Mode`] of a
/// walker, and a type parameter of everything its callbacks get.
///
/// A [`ReadOnly`] walk changes no entry's protection (it may split a
/// transparent huge page, as C walkers may): what its callbacks get has no
/// write-protect method, so a walker that looks cannot protect by mistake
/// (a compile error). A [`Protecting`] walk may write-protect entries for
/// userfaultfd: [`MmapReadGuard::walk_page_range`] tells MMU notifier
/// subscribers about the change around it, and it only descends into VMAs
/// registered for uffd-wp ([`VmaRef::as_uffd_wp_vma`]). Code generic over
/// the mode reaches the protecting methods through `protecting()` (on
/// [`PteTable`], [`PmdHugeLock`], [`HugetlbLock`] and [`PteHole`]), which
/// is `None` in a read-only walk: a constant, so the branch costs nothing.
///
/// [`VmaRef::as_uffd_wp_vma`]: crate::mm::virt::VmaRef::as_uffd_wp_vma
pub trait WalkMode: private::Sealed + Sized + 'static {
    /// Whether the walk may write-protect ([`Protecting`]).
    const PROTECTING: bool;

    #[doc(hidden)]
    fn ptes<'t, 'a, Q: PteQuery>(
        t: &'t mut PteTable<'a, Q, Self>,
    ) -> Option<&'t mut PteTable<'a, Q, Protecting>>;

    #[doc(hidden)]
    fn huge<'t, 'a>(h: &'t PmdHugeLock<'a, Self>) -> Option<&'t PmdHugeLock<'a, Protecting>>;

    #[doc(hidden)]
    fn hugetlb<'t, 'e, 'a>(
        l: &'t HugetlbLock<'e, 'a, Self>,
    ) -> Option<&'t HugetlbLock<'e, 'a, Protecting>>;

    #[doc(hidden)]
    fn hole<'t, 'a>(h: &'t PteHole<'a, Self>) -> Option<&'t PteHole<'a, Protecting>>;
}

/// The mode of a walk that write-protects nothing (see [`WalkMode`]).
pub enum ReadOnly {}

/// The mode of a walk that may write-protect entries for userfaultfd (see
/// [`WalkMode`]).
pub enum Protecting {}

impl private::Sealed for ReadOnly {}
impl private::Sealed for Protecting {}

impl WalkMode for ReadOnly {
    const PROTECTING: bool = false;

    #[inline(always)]
    fn ptes<'t, 'a, Q: PteQuery>(
        _: &'t mut PteTable<'a, Q, Self>,
    ) -> Option<&'t mut PteTable<'a, Q, Protecting>> {
        None
    }

    #[inline(always)]
    fn huge<'t, 'a>(_: &'t PmdHugeLock<'a, Self>) -> Option<&'t PmdHugeLock<'a, Protecting>> {
        None
    }

    #[inline(always)]
    fn hugetlb<'t, 'e, 'a>(
        _: &'t HugetlbLock<'e, 'a, Self>,
    ) -> Option<&'t HugetlbLock<'e, 'a, Protecting>> {
        None
    }

    #[inline(always)]
    fn hole<'t, 'a>(_: &'t PteHole<'a, Self>) -> Option<&'t PteHole<'a, Protecting>> {
        None
    }
}

impl WalkMode for Protecting {
    const PROTECTING: bool = true;

    #[inline(always)]
    fn ptes<'t, 'a, Q: PteQuery>(
        t: &'t mut PteTable<'a, Q, Self>,
    ) -> Option<&'t mut PteTable<'a, Q, Protecting>> {
        Some(t)
    }

    #[inline(always)]
    fn huge<'t, 'a>(h: &'t PmdHugeLock<'a, Self>) -> Option<&'t PmdHugeLock<'a, Protecting>> {
        Some(h)
    }

    #[inline(always)]
    fn hugetlb<'t, 'e, 'a>(
        l: &'t HugetlbLock<'e, 'a, Self>,
    ) -> Option<&'t HugetlbLock<'e, 'a, Protecting>> {
        Some(l)
    }

    #[inline(always)]
    fn hole<'t, 'a>(h: &'t PteHole<'a, Self>) -> Option<&'t PteHole<'a, Protecting>> {
        Some(h)
    }
}

/// What a callback tells the walk: go on (`Continue`), or stop here
/// (`Break`: [`MmapReadGuard::walk_page_range`] returns `Ok(Break(()))`,
/// a stop that is not an error); an error stops the walk too and is what
/// the walk returns.
pub type WalkResult = Result<ControlFlow<()>>;

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
/// Each callback returns a [`WalkResult`]: go on, stop, or fail.
#[vtable]
pub trait PageWalk: Sized {
    /// Whether the walk may write-protect: [`ReadOnly`] or [`Protecting`].
    type Mode: WalkMode;

    /// Decides whether to walk the VMA covering `[start, end)`. In a
    /// [`Protecting`] walk, a VMA this lets through is walked only if it is
    /// registered for uffd-wp and does not map raw PFNs
    /// ([`VmaRef::as_uffd_wp_vma`]), else skipped after this call (whose
    /// effects on the walker stay). Only the registration is checked, not
    /// its mode: a walker that must not protect a VMA registered for
    /// synchronous uffd-wp, or one without `UFFD_FEATURE_WP_UNPOPULATED`
    /// (C's PAGEMAP_SCAN requires async mode with markers), skips it here.
    ///
    /// [`VmaRef::as_uffd_wp_vma`]: crate::mm::virt::VmaRef::as_uffd_wp_vma
    fn test_walk(&mut self, _vma: &VmaRef, _start: usize, _end: usize) -> Result<VmaAction> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called for every present PMD covering `[start, end)`.
    fn pmd_entry(
        &mut self,
        _pmd: &mut PmdEntry<'_, Self::Mode>,
        _start: usize,
        _end: usize,
    ) -> WalkResult {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called for unpopulated ranges; `hole` is `None` outside any VMA.
    fn pte_hole(
        &mut self,
        _start: usize,
        _end: usize,
        _hole: Option<&PteHole<'_, Self::Mode>>,
    ) -> WalkResult {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called for every hugetlb entry covering `[start, end)`.
    fn hugetlb_entry(
        &mut self,
        _entry: &mut HugetlbEntry<'_, Self::Mode>,
        _start: usize,
        _end: usize,
    ) -> WalkResult {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The private data of a running walk: the walker, the range announced to
/// MMU notifier subscribers (a [`Protecting`] walk), and whether a callback
/// stopped the walk.
struct WalkCtx<'w, W> {
    walker: &'w mut W,
    notified: (usize, usize),
    stopped: bool,
}

/// The errno a callback's `Break` is carried through the C walk as (any
/// negative value stops it); the walk tells it from a real `ECANCELED` by
/// [`WalkCtx::stopped`].
const STOP: c_int = -(bindings::ECANCELED as c_int);

/// An unpopulated range `[start, end)` of a VMA, found by the walk (or, for
/// a read-only walker without `test_walk`, a whole `VM_PFNMAP` VMA, which
/// the walk does not descend into).
///
/// # Invariants
///
/// `[start, end)` lies inside `vma`, which the walk holds (mmap lock). If
/// `vma` is hugetlb, the walk holds its hugetlb VMA lock for reading, if it
/// has one (holes of hugetlb VMAs are only reported by
/// `walk_hugetlb_range()`; a private mapping without a reserve map has no
/// such lock, and shares no page tables either). If `M` is [`Protecting`],
/// `vma` is registered for uffd-wp and does not map raw PFNs (the walk
/// skipped it otherwise), and an MMU notifier protection-change range
/// covering `notified`, which contains the range, is active.
pub struct PteHole<'a, M: WalkMode> {
    vma: &'a VmaRef,
    start: usize,
    end: usize,
    notified: (usize, usize),
    _mode: PhantomData<M>,
}

impl<'a, M: WalkMode> PteHole<'a, M> {
    /// The VMA.
    #[inline]
    pub fn vma(&self) -> &'a VmaRef {
        self.vma
    }

    /// The hole with its write-protect method, in a [`Protecting`] walk;
    /// `None` in a [`ReadOnly`] one.
    #[inline(always)]
    pub fn protecting(&self) -> Option<&PteHole<'a, Protecting>> {
        M::hole(self)
    }
}

impl PteHole<'_, Protecting> {
    /// Write-protects `[start, end)` (inside the hole) for userfaultfd,
    /// installing uffd-wp markers: one per huge page in a hugetlb VMA,
    /// through `uffd_wp_range()` elsewhere.
    ///
    /// In a hugetlb VMA a huge page cannot be protected in part: the whole
    /// huge pages the range touches are, as C's
    /// `pagemap_scan_hugetlb_hole_wp()` does; where they reach past what
    /// the walk announced to MMU notifier subscribers (PMD-aligned bounds:
    /// a 1 GiB page can), the rest is announced for the time of the change.
    ///
    /// Only a [`Protecting`] walk's holes have the method, and such a walk
    /// only descends into VMAs registered for uffd-wp. `EINVAL` for a range
    /// that is empty or outside the hole, or, outside hugetlb VMAs, not
    /// page aligned (in a hugetlb VMA it is widened to huge pages).
    ///
    /// # Examples
    ///
    /// A protecting walk does not descend into a VMA that is not registered
    /// for uffd-wp (the hole is not reported); in a registered one an empty
    /// range, a range reaching out of the hole or an unaligned one get
    /// `EINVAL`, and the hole stays a hole:
    ///
    /// ```
    /// use kernel::mm::pagewalk::kunit::{Backing, TestMapping};
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // Walks the mapping and calls `make_uffd_wp()` on the range `range`
    /// // makes of each hole: the holes found, the calls that returned
    /// // `want`, and the bytes of the holes.
    /// fn attempt(
    ///     map: &TestMapping,
    ///     range: impl Fn(usize, usize) -> (usize, usize),
    ///     want: Result,
    /// ) -> Result<(usize, usize, usize)> {
    ///     let (mut holes, mut got, mut bytes) = (0, 0, 0);
    ///     let mut walker = HoleWalker::protecting(|start, end, hole| {
    ///         if let Some(hole) = hole {
    ///             let (s, e) = range(start, end);
    ///             holes += 1;
    ///             got += usize::from(hole.make_uffd_wp(s, e) == want);
    ///             bytes += end - start;
    ///         }
    ///         Ok(())
    ///     });
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     Ok((holes, got, bytes))
    /// }
    ///
    /// let map = TestMapping::new(4 * PAGE_SIZE, Backing::Pages, false)?;
    /// let len = map.end() - map.start();
    /// let whole = |s: usize, e: usize| (s, e);
    /// assert_eq!(attempt(&map, whole, Ok(()))?, (0, 0, 0));
    ///
    /// map.register_uffd_wp()?;
    /// let bad: [fn(usize, usize) -> (usize, usize); 5] = [
    ///     |s, _| (s, s),
    ///     |s, e| (e, s),
    ///     |s, e| (s - PAGE_SIZE, e),
    ///     |s, e| (s, e + PAGE_SIZE),
    ///     |s, e| (s + 1, e),
    /// ];
    /// for range in bad {
    ///     let (h, got, bytes) = attempt(&map, range, Err(EINVAL))?;
    ///     assert!(h >= 1 && got == h && bytes == len);
    /// }
    /// // The correct call succeeds (and installs nothing: an anonymous VMA
    /// // only gets markers with `UFFD_FEATURE_WP_UNPOPULATED`).
    /// let (h, got, bytes) = attempt(&map, whole, Ok(()))?;
    /// assert!(h >= 1 && got == h && bytes == len);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// In a hugetlb VMA the huge pages a range touches are protected whole,
    /// also a PUD-sized page of which the walk covers a PMD's worth (C does
    /// the same):
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{pud_size, Backing, TestMapping},
    ///     PMD_SIZE,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // Protects each hole of `[start, end)`: the holes found and the
    /// // calls that succeeded.
    /// fn protect(map: &TestMapping, (start, end): (usize, usize)) -> Result<(usize, usize)> {
    ///     let (mut holes, mut got) = (0, 0);
    ///     let mut walker = HugetlbWalker::protecting(
    ///         |_, _, _| Ok(()),
    ///         |s, e, hole| {
    ///             if let Some(hole) = hole {
    ///                 holes += 1;
    ///                 got += usize::from(hole.make_uffd_wp(s, e).is_ok());
    ///             }
    ///             Ok(())
    ///         },
    ///     );
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(start, end, &mut walker)?;
    ///     Ok((holes, got))
    /// }
    ///
    /// // Reads `[start, end)`: the holes and the entries that are not empty.
    /// fn read(map: &TestMapping) -> Result<(usize, usize)> {
    ///     let (mut holes, mut entries) = (0, 0);
    ///     let mut walker = HugetlbWalker::new(
    ///         |entry, _, _| {
    ///             entries += usize::from(!entry.get(false).huge_is_none());
    ///             Ok(())
    ///         },
    ///         |_, _, hole| {
    ///             holes += usize::from(hole.is_some());
    ///             Ok(())
    ///         },
    ///     );
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     Ok((holes, entries))
    /// }
    ///
    /// // A PUD-sized page (1 GiB), which every architecture with 4 KiB
    /// // pages has here; arm64 with 64 KiB pages has no PUD level.
    /// if Backing::HugetlbPud.free_pages().is_some() {
    ///     let big = TestMapping::new(pud_size(), Backing::HugetlbPud, false)?;
    ///     big.register_uffd_wp()?;
    ///     assert_eq!(read(&big)?, (1, 0));
    ///     assert_eq!(protect(&big, (big.start(), big.start() + PMD_SIZE))?, (1, 1));
    ///     // The whole page has its marker now: an entry, no hole.
    ///     assert_eq!(read(&big)?, (0, 1));
    /// } else {
    ///     assert_ne!(PAGE_SIZE, 4096);
    /// }
    ///
    /// // A PMD-sized page: protecting one small page of it protects it
    /// // whole (a marker).
    /// let map = TestMapping::new(PMD_SIZE, Backing::HugetlbPmd, false)?;
    /// map.register_uffd_wp()?;
    /// assert_eq!(protect(&map, (map.start(), map.start() + PAGE_SIZE))?, (1, 1));
    /// assert_eq!(read(&map)?, (0, 1));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn make_uffd_wp(&self, start: usize, end: usize) -> Result {
        if start >= end || start < self.start || end > self.end {
            return Err(EINVAL);
        }
        let vma = self.vma;
        if let Some(huge) = vma.as_hugetlb_vma() {
            // A huge page is protected whole, as C's
            // pagemap_scan_hugetlb_hole_wp() does: a 1 GiB page can reach
            // past the range the walk announced to MMU notifiers (widened
            // to PMD boundaries), so the rest is announced here, for the
            // time of the change. The huge pages lie inside the VMA: it
            // starts and ends at huge page boundaries.
            let mask = huge.huge_page_size() - 1;
            let (start, end) = (start & !mask, end.saturating_add(mask) & !mask);
            let _wider = (start < self.notified.0 || end > self.notified.1)
                // SAFETY: the walk holds the mmap lock of the VMA's mm for
                // as long as this hole exists (type invariant).
                .then(|| unsafe { MmuNotifierRange::protection(huge, start, end) });
            // SAFETY: the range is inside the hugetlb VMA, which is
            // registered for uffd-wp (`Protecting`), whose mmap lock and
            // hugetlb VMA lock the walk holds; MMU notifiers know of the
            // change of the whole range (the walk's range and `_wider`).
            unsafe { huge.hugetlb_make_uffd_wp_holes(start, end) }
        } else {
            // SAFETY: a `Protecting` walk only reports holes of VMAs
            // registered for uffd-wp that do not map raw PFNs (type
            // invariant).
            let vma = unsafe { VmaUffdWp::from_vma_unchecked(vma) };
            // SAFETY: the walk holds the mmap lock (type invariant).
            unsafe { vma.uffd_wp_range(start, end - start, true) }.map(|_| ())
        }
    }
}

/// A PMD found by the walk, in a VMA the walk holds, for the part
/// `[start, end)` of its range that the walk covers.
///
/// Its PTE table or huge entry is only lent to closures
/// ([`PmdEntry::with_ptes`], [`PmdEntry::view`], [`PmdEntry::with_huge`]),
/// which take `&mut self`: a closure cannot lock the PMD again, ask for a
/// retry, or reach the scheduling point [`PmdEntry::cond_resched`] while
/// a lock is held, and the lock is released when it returns.
///
/// (The 6.12 kernel's doctests cannot be `compile_fail`: the misuses are
/// proven compile errors by `tools/testing/compile_fail/`, run by
/// `make lint`.)
///
/// # Invariants
///
/// `pmdp` is a valid PMD of `vma` mapping `[start, end)` (inside one PMD
/// and inside `vma`; `start < end`, both page aligned) and `walk` is the
/// running `mm_walk`; both are valid for `'a`. If `M` is [`Protecting`],
/// `vma` is registered for uffd-wp and does not map raw PFNs, and an MMU
/// notifier protection-change range covering `[start, end)` is active.
pub struct PmdEntry<'a, M: WalkMode> {
    pmdp: *mut bindings::pmd_t,
    walk: *mut bindings::mm_walk,
    vma: &'a VmaRef,
    start: usize,
    end: usize,
    _mode: PhantomData<M>,
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

/// What [`PmdEntry::with_ptes`] found under a PMD.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ptes<R> {
    /// The PTE table was locked and lent: what the closure returned.
    Table(R),
    /// The PMD maps a transparent huge page (or is a huge swap entry): no
    /// PTE table, and retrying would find the same. Handle it with
    /// [`PmdEntry::with_huge`] or split it with [`PmdEntry::split_huge`].
    Huge,
    /// No table any more (the PMD is empty or changing): the walk should
    /// retry the PMD ([`PmdEntry::again`]).
    Gone,
}

impl<'a, M: WalkMode> PmdEntry<'a, M> {
    /// The VMA, borrowed from the entry: the borrow ends before
    /// [`PmdEntry::with_ptes`], [`PmdEntry::view`] or
    /// [`PmdEntry::with_huge`] (which take `&mut self`) can lock anything,
    /// so the VMA taken from this entry cannot be used (to zap its range,
    /// reach its mm's mmap lock, ...) while the entry lends a page table
    /// lock. That makes the common misuse a compile error; it does not make
    /// every one impossible: see "Lock discipline" in
    /// Documentation/rust-pagemap-scan.rst.
    #[inline]
    pub fn vma(&self) -> &VmaRef {
        self.vma
    }

    /// The range of the PMD the walk covers.
    #[inline]
    pub fn range(&self) -> (usize, usize) {
        (self.start, self.end)
    }

    /// Locks the PMD if it maps a transparent huge page (or a THP
    /// migration entry), reads its state and runs `f` with the locked
    /// entry; `None` (without calling `f`) if it points to a PTE table (or
    /// is empty). With `file`, [`PteInfo::maps_file`] is evaluated too.
    ///
    /// [`PteInfo::maps_file`]: crate::mm::pagewalk::pgtable::PteInfo::maps_file
    #[inline]
    pub fn with_huge<R>(
        &mut self,
        file: bool,
        f: impl FnOnce(&PmdHugeLock<'a, M>) -> R,
    ) -> Option<R> {
        #[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
        {
            let mut info = 0u8;
            // SAFETY: valid PMD of a valid VMA mapping `start` by the type
            // invariant; `info` is a valid byte to write.
            let ptl = unsafe {
                bindings::pmd_huge_lock_info(
                    vma_raw(self.vma),
                    self.start as _,
                    self.pmdp,
                    file,
                    &mut info,
                )
            };
            if ptl.is_null() {
                return None;
            }
            let addr = self.start & !(PMD_SIZE - 1);
            let (pmdp, vma) = (self.pmdp, self.vma);
            // A huge PMD is protected whole: only by a walk over all of it.
            let whole = self.start == addr && self.end == addr + PMD_SIZE;
            // SAFETY: the helper returned the held lock of a huge PMD of
            // `vma`, which maps the PMD-aligned `addr` (a huge PMD only
            // exists where the whole PMD range is inside the VMA), and its
            // state; the guard takes the lock over. With `M` =
            // `Protecting`, the VMA is registered for uffd-wp and the walk's
            // notifier range, widened to PMD boundaries, covers the whole
            // PMD (type invariant).
            let huge = unsafe { PmdHugeLock::new(pmdp, ptl, vma, addr, whole, info) };
            Some(f(&huge))
        }
        #[cfg(not(CONFIG_TRANSPARENT_HUGEPAGE))]
        {
            let _ = (file, f);
            None
        }
    }

    /// Splits a transparent huge page mapped by this PMD into a PTE table
    /// (nothing if there is none any more), so that a part of it can be
    /// handled page by page. Takes the PMD lock and notifies MMU notifier
    /// subscribers itself.
    #[inline]
    pub fn split_huge(&mut self) {
        #[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
        {
            // SAFETY: the VMA is valid under the mmap lock the walk holds,
            // the PMD is its entry for `start` (type invariant), and
            // `split_huge_pmd()` takes the PMD lock and checks the PMD.
            unsafe { bindings::split_huge_pmd(vma_raw(self.vma), self.pmdp, self.start as _) };
        }
    }

    /// What the PMD maps, for a walker that changes nothing and looks at no
    /// page: the PTE table for `[start, end)` (inside this PMD's walked
    /// range), locked and in lazy MMU mode, its entries read as `Q` says and
    /// lent to `f`; or the state of a transparent huge page (or THP
    /// migration entry) from one read of the PMD, without its lock: a
    /// split or a migration first invalidates the PMD, which keeps it
    /// present and huge (the rule `mm/debug_vm_pgtable.c` states) with its
    /// soft-dirty (x86) and uffd-wp bits, so the read is a state the
    /// entry had, as under the lock; an entry that looks like the huge zero
    /// page is read again under the lock (its PFN is compared after the
    /// read). [`PteInfo::maps_file`] is never set: no page is looked at.
    /// One helper call for either. `EINVAL` (without calling `f`) if the
    /// range is not page aligned or not inside this PMD's walked range: a
    /// caller's error, which retrying would not mend.
    ///
    /// # Examples
    ///
    /// As for [`PmdEntry::with_ptes`], a bad range locks nothing:
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{Backing, TestMapping},
    ///     pgtable::Classes,
    ///     PmdView,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// let map = TestMapping::new(4 * PAGE_SIZE, Backing::Pages, true)?;
    /// let (mut calls, mut refused, mut tables) = (0, 0, 0);
    /// let mut guard = map.mm().mmap_read_lock_killable()?;
    /// let _ = guard.walk_page_range(map.start(), map.end(), &mut PmdWalker::new(|pmd, start, end| {
    ///     calls += 1;
    ///     let bad = [
    ///         (start - PAGE_SIZE, end),
    ///         (start, end + PAGE_SIZE),
    ///         (start, start),
    ///         (end, start),
    ///         (start + 1, end),
    ///     ];
    ///     for (s, e) in bad {
    ///         let r = pmd.view::<Classes, _>(s, e, |_| ());
    ///         refused += usize::from(matches!(r, Err(e) if e == EINVAL));
    ///     }
    ///     if let PmdView::Table(()) = pmd.view::<Classes, _>(start, end, |_| ())? {
    ///         tables += 1;
    ///     }
    ///     Ok(())
    /// }))?;
    /// drop(guard);
    /// assert!(calls >= 1);
    /// assert_eq!(refused, 5 * calls);
    /// assert_eq!(tables, calls);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// [`PteInfo::maps_file`]: crate::mm::pagewalk::pgtable::PteInfo::maps_file
    #[inline]
    pub fn view<Q: PteQuery, R>(
        &mut self,
        start: usize,
        end: usize,
        f: impl FnOnce(&mut PteTable<'a, Q, M>) -> R,
    ) -> Result<PmdView<R>> {
        if !self.range_ok(start, end) {
            return Err(EINVAL);
        }
        #[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
        {
            let mut ptl: *mut bindings::spinlock_t = core::ptr::null_mut();
            let mut huge: crate::ffi::c_int = -1;
            // SAFETY: valid PMD of the VMA's mm; the walk holds the mmap
            // lock; `ptl` and `huge` are valid to write.
            let ptep = unsafe {
                bindings::pte_table_lock_or_huge(
                    (*vma_raw(self.vma)).vm_mm,
                    self.pmdp,
                    start as _,
                    &mut ptl,
                    &mut huge,
                )
            };
            if !ptep.is_null() {
                // SAFETY: mapped, locked and in lazy MMU mode by the
                // helper; `[start, end)` is inside the range this PMD maps
                // (checked), so inside one PMD and the VMA, and covered by
                // the walk's notifier range if `M` is `Protecting` (type
                // invariant).
                let mut t = unsafe { PteTable::new(ptep, ptl, self.vma, start, end) };
                return Ok(PmdView::Table(f(&mut t)));
            }
            Ok(match u8::try_from(huge) {
                Ok(info) => PmdView::Huge(PteInfo::from_raw(info)),
                Err(_) => PmdView::Gone,
            })
        }
        #[cfg(not(CONFIG_TRANSPARENT_HUGEPAGE))]
        Ok(match self.with_ptes(start, end, f)? {
            Ptes::Table(r) => PmdView::Table(r),
            Ptes::Huge | Ptes::Gone => PmdView::Gone,
        })
    }

    /// Whether `[start, end)` is a non-empty, page aligned part of the
    /// range this PMD maps in the walk. (A table's entries are addressed
    /// from its start: an unaligned one would pair addresses with the
    /// wrong entries.)
    #[inline]
    fn range_ok(&self, start: usize, end: usize) -> bool {
        // The walked range itself, what walkers pass: right by the type
        // invariant (and the compiler sees the same values: no check).
        if start == self.start && end == self.end {
            return true;
        }
        self.start <= start
            && start < end
            && end <= self.end
            && (start | end) & (crate::page::PAGE_SIZE - 1) == 0
    }

    /// Maps and locks the PTE table for `[start, end)` (inside this PMD's
    /// walked range), in lazy MMU mode, and lends it to `f`; its entries
    /// are read as `Q` says: [`Ptes::Table`] with what `f` returned. When
    /// there is no PTE table, `f` is not called, and the two reasons are
    /// told apart: [`Ptes::Huge`] if the PMD maps a transparent huge page
    /// (or is a huge swap entry): retrying would find it again, so handle
    /// it ([`PmdEntry::with_huge`], [`PmdEntry::split_huge`]);
    /// [`Ptes::Gone`] if the table went away (the PMD is empty or
    /// changing): ask the walk to retry with [`PmdEntry::again`]. `EINVAL`
    /// (without calling `f`) if the range is not page aligned or not
    /// inside: retrying would not mend that.
    ///
    /// # Examples
    ///
    /// A range reaching outside the walked part of the PMD, an empty or an
    /// unaligned one, is refused before anything is locked: the table can
    /// be locked right after, and its pages are all there.
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{Backing, TestMapping},
    ///     pgtable::Classes,
    ///     Ptes, PMD_SIZE,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// let map = TestMapping::new(4 * PAGE_SIZE, Backing::Pages, true)?;
    /// let (mut calls, mut refused, mut present) = (0, 0, 0);
    /// let mut guard = map.mm().mmap_read_lock_killable()?;
    /// let _ = guard.walk_page_range(map.start(), map.end(), &mut PmdWalker::new(|pmd, start, end| {
    ///     calls += 1;
    ///     let bad = [
    ///         (start - PAGE_SIZE, end),
    ///         (start, end + PAGE_SIZE),
    ///         (start, start),
    ///         (end, start),
    ///         (start + 1, end),
    ///     ];
    ///     for (s, e) in bad {
    ///         let r = pmd.with_ptes::<Classes, _>(s, e, |_| ());
    ///         refused += usize::from(r == Err(EINVAL));
    ///     }
    ///     let pages = pmd.with_ptes::<Classes, _>(start, end, |t| {
    ///         let mut n = 0;
    ///         while let Some(run) = t.next_run() {
    ///             if run.info.is_present() {
    ///                 n += (run.end - run.addr) / PAGE_SIZE;
    ///             }
    ///         }
    ///         n
    ///     })?;
    ///     if let Ptes::Table(n) = pages {
    ///         present += n;
    ///     }
    ///     Ok(())
    /// }))?;
    /// drop(guard);
    /// assert!(calls >= 1);
    /// assert_eq!(refused, 5 * calls);
    /// assert_eq!(present, 4);
    ///
    /// // A PMD that maps a transparent huge page has no PTE table: that is
    /// // `Huge`, exactly where `with_huge()` finds the huge page, never
    /// // `Gone`, after which a walker would retry (forever, on a THP).
    /// let thp = TestMapping::new(2 * PMD_SIZE, Backing::Pages, true)?;
    /// let (mut pmds, mut gone, mut differ) = (0, 0, 0);
    /// let mut guard = thp.mm().mmap_read_lock_killable()?;
    /// let _ = guard.walk_page_range(thp.start(), thp.end(), &mut PmdWalker::new(|pmd, start, end| {
    ///     pmds += 1;
    ///     let mapped = pmd.with_huge(false, |_| ()).is_some();
    ///     let r = pmd.with_ptes::<Classes, _>(start, end, |_| ())?;
    ///     gone += usize::from(r == Ptes::Gone);
    ///     differ += usize::from(mapped != (r == Ptes::Huge));
    ///     Ok(())
    /// }))?;
    /// drop(guard);
    /// assert!(pmds >= 2);
    /// assert_eq!(gone, 0);
    /// assert_eq!(differ, 0);
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn with_ptes<Q: PteQuery, R>(
        &mut self,
        start: usize,
        end: usize,
        f: impl FnOnce(&mut PteTable<'a, Q, M>) -> R,
    ) -> Result<Ptes<R>> {
        if !self.range_ok(start, end) {
            return Err(EINVAL);
        }
        let mut ptl: *mut bindings::spinlock_t = core::ptr::null_mut();
        // SAFETY: valid PMD of the VMA's mm; the walk holds the mmap lock.
        let ptep = unsafe {
            bindings::pte_table_lock((*vma_raw(self.vma)).vm_mm, self.pmdp, start as _, &mut ptl)
        };
        if ptep.is_null() {
            // SAFETY: valid PMD (type invariant); read without its lock, the
            // answer may be stale at once: a huge PMD split meanwhile shows
            // a table on the next try, which is all `Huge` promises.
            let huge = unsafe { bindings::pmd_maps_huge(self.pmdp) };
            return Ok(if huge { Ptes::Huge } else { Ptes::Gone });
        }
        // SAFETY: mapped, locked and in lazy MMU mode above; `[start, end)`
        // is inside the range this PMD maps (checked above), so covered by
        // the walk's notifier range if `M` is `Protecting`, in a VMA
        // registered for uffd-wp (type invariant).
        let mut t = unsafe { PteTable::new(ptep, ptl, self.vma, start, end) };
        Ok(Ptes::Table(f(&mut t)))
    }

    /// Asks the walk to call `pmd_entry` for this PMD again.
    #[inline]
    pub fn again(&mut self) {
        // SAFETY: the running walk, by the type invariant; only this
        // callback touches its action field now.
        unsafe { (*self.walk).action = bindings::page_walk_action_ACTION_AGAIN };
    }

    /// Gives the CPU to another task if one should run (`cond_resched()`),
    /// as C walkers do after each PTE table. Takes `&mut self`, so it cannot
    /// be reached while a PTE table or huge PMD lock lent by this entry is
    /// held; the walk itself holds only the mmap lock here (a sleeping
    /// lock).
    #[inline]
    pub fn cond_resched(&mut self) {
        // SAFETY: `cond_resched()` has no memory-safety precondition. The
        // walk holds no spinlock here and this entry lends none now
        // (`&mut self`); a spinlock the caller took itself would make this
        // a sleep in atomic context, which `CONFIG_DEBUG_ATOMIC_SLEEP`
        // reports (see "Lock discipline" in rust-pagemap-scan.rst).
        unsafe { bindings::cond_resched() };
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
        // A protecting walk decides on every VMA itself.
        test_walk: if W::HAS_TEST_WALK || W::Mode::PROTECTING {
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
    unsafe fn ctx<'w>(walk: *mut bindings::mm_walk) -> &'w mut WalkCtx<'w, W> {
        // SAFETY: `private` is the `&mut WalkCtx<W>` the walk was started
        // with, not used elsewhere while a callback runs.
        unsafe { &mut *(*walk).private.cast::<WalkCtx<'w, W>>() }
    }

    /// A callback's result as the walk wants it: 0 to go on, a negative
    /// errno to stop ([`STOP`] for a `Break`, noted in the context).
    #[inline(always)]
    fn errno(c: &mut WalkCtx<'_, W>, r: WalkResult) -> c_int {
        match r {
            Ok(ControlFlow::Continue(())) => 0,
            Ok(ControlFlow::Break(())) => {
                c.stopped = true;
                STOP
            }
            Err(e) => e.to_errno(),
        }
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
        let (c, vma) = unsafe { (Self::ctx(walk), VmaRef::from_raw((*walk).vma)) };
        if W::HAS_TEST_WALK {
            match c.walker.test_walk(vma, start as usize, end as usize) {
                Ok(VmaAction::Walk) => {}
                Ok(VmaAction::Skip) => return 1,
                Err(e) => return e.to_errno(),
            }
        }
        // INVARIANT: the callbacks of a protecting walk only get VMAs
        // registered for uffd-wp that do not map raw PFNs.
        if W::Mode::PROTECTING && vma.as_uffd_wp_vma().is_none() {
            return 1;
        }
        0
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
        let (c, vma) = unsafe { (Self::ctx(walk), VmaRef::from_raw((*walk).vma)) };
        let (start, end) = (start as usize, end as usize);
        // INVARIANT: the walk's PMD and walk, valid during this callback;
        // the walk hands each PMD the part of the walked range inside it
        // and inside the VMA: not empty, and page aligned, as the walked
        // range is (`walk_page_range()` refuses another) and PMDs and VMAs
        // are. A protecting walk only gets here for VMAs `test_walk` found
        // registered for uffd-wp, with its notifier range (the whole walked
        // range) active.
        let mut pmd = PmdEntry {
            pmdp,
            walk,
            vma,
            start,
            end,
            _mode: PhantomData,
        };
        let r = c.walker.pmd_entry(&mut pmd, start, end);
        Self::errno(c, r)
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
        let (c, vma) = unsafe {
            let vma = (*walk).vma;
            (
                Self::ctx(walk),
                (!vma.is_null()).then(|| VmaRef::from_raw(vma)),
            )
        };
        let (start, end) = (start as usize, end as usize);
        // INVARIANT: with a VMA, the walk reports holes inside it; in a
        // hugetlb VMA only from `walk_hugetlb_range()`, which holds the
        // hugetlb VMA lock. (A read-only walker without `test_walk` also
        // gets the whole of a `VM_PFNMAP` VMA as a hole: inside it, not
        // hugetlb. A protecting walk has `test_walk`, which let only VMAs
        // registered for uffd-wp through, under its active notifier range.)
        let hole = vma.map(|vma| PteHole {
            vma,
            start,
            end,
            notified: c.notified,
            _mode: PhantomData,
        });
        let r = c.walker.pte_hole(start, end, hole.as_ref());
        Self::errno(c, r)
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
        let (start, end) = (start as usize, end as usize);
        // SAFETY: called by the walk started with our ops, inside a hugetlb
        // VMA, with the hugetlb VMA lock held, for the entry of the huge
        // page containing `[start, end)`; in a protecting walk the VMA is
        // registered for uffd-wp (`test_walk`) and the notifier range
        // covers the walked range; `walk->mm` is the walked VMA's mm.
        let (c, mut entry) = unsafe {
            // `walk_hugetlb_range()`, the only caller, runs for hugetlb VMAs
            // only: no check per entry (it cost 4% of a hugetlb scan).
            let vma = VmaHugetlb::from_raw((*walk).vma);
            (
                Self::ctx(walk),
                HugetlbEntry::new(ptep, (*walk).mm, vma, start, end),
            )
        };
        let r = c.walker.hugetlb_entry(&mut entry, start, end);
        Self::errno(c, r)
    }
}

impl MmapReadGuard<'_> {
    /// Walks the page tables of `[start, end)` with `walker`.
    ///
    /// A [`ReadOnly`] walker changes nothing. A [`Protecting`] walker may
    /// write-protect entries: MMU notifier subscribers (KVM, IOMMU, HMM) are
    /// told that the protection of the range (widened to PMD boundaries, as
    /// a huge page is protected whole) changes before the walk, and that the
    /// change is over after it; the walk skips the VMAs that are not
    /// registered for uffd-wp.
    ///
    /// `Ok(Continue(()))` when the walk reached the end, `Ok(Break(()))`
    /// when a callback stopped it; the first error a callback returned, or
    /// the walk's own: `EINVAL` for an empty or unaligned range (before
    /// anything is called or announced).
    ///
    /// # Examples
    ///
    /// Both modes refuse an empty, reversed or unaligned range without
    /// calling the walker; a page aligned range is walked even where no VMA
    /// is (the walker only sees a hole without a VMA there), and a callback
    /// can stop the walk:
    ///
    /// ```
    /// use core::{cell::Cell, ops::ControlFlow};
    /// use kernel::mm::pagewalk::{
    ///     kunit::{Backing, TestMapping},
    ///     PageWalk, PmdEntry, ReadOnly, WalkResult,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// /// Counts the PMDs it is called for, and stops at the first.
    /// struct Stopper(usize);
    ///
    /// #[vtable]
    /// impl PageWalk for Stopper {
    ///     type Mode = ReadOnly;
    ///
    ///     fn pmd_entry(&mut self, _: &mut PmdEntry<'_, ReadOnly>, _: usize, _: usize) -> WalkResult {
    ///         self.0 += 1;
    ///         Ok(ControlFlow::Break(()))
    ///     }
    /// }
    ///
    /// let map = TestMapping::new(4 * PAGE_SIZE, Backing::Pages, true)?;
    /// map.register_uffd_wp()?;
    /// let (start, end) = (map.start(), map.end());
    /// let bad = [(start, start), (end, start), (start + 1, end), (start, end - 1)];
    /// let (calls, mut refused, mut gaps) = (Cell::new(0), 0, 0);
    /// let count = |_: usize| {
    ///     calls.set(calls.get() + 1);
    ///     Ok(())
    /// };
    /// let mut walker = PmdWalker::new(|_, s, _| count(s));
    /// let mut protecting = PmdWalker::protecting(|_, s, _| count(s));
    /// let mut guard = map.mm().mmap_read_lock_killable()?;
    /// for (s, e) in bad {
    ///     let r = guard.walk_page_range(s, e, &mut walker);
    ///     refused += usize::from(r == Err(EINVAL));
    ///     let r = guard.walk_page_range(s, e, &mut protecting);
    ///     refused += usize::from(r == Err(EINVAL));
    /// }
    /// let refused_calls = calls.get();
    /// // The walkers work: the mapping is populated.
    /// let good = guard.walk_page_range(start, end, &mut walker);
    /// let good_protecting = guard.walk_page_range(start, end, &mut protecting);
    /// // Below the first mapping of the test's address space is no VMA.
    /// let mut gap = HoleWalker::new(|_, _, hole| {
    ///     gaps += usize::from(hole.is_none());
    ///     Ok(())
    /// });
    /// let gap_walk = guard.walk_page_range(start - PAGE_SIZE, start, &mut gap);
    /// // A callback that stops the walk: it is called once.
    /// let mut stopper = Stopper(0);
    /// let stopped = guard.walk_page_range(start, end, &mut stopper);
    /// drop(guard);
    /// assert_eq!(good, Ok(ControlFlow::Continue(())));
    /// assert_eq!(good_protecting, Ok(ControlFlow::Continue(())));
    /// assert_eq!(gap_walk, Ok(ControlFlow::Continue(())));
    /// assert_eq!(stopped, Ok(ControlFlow::Break(())));
    /// assert_eq!(stopper.0, 1);
    /// assert_eq!(refused, 2 * bad.len());
    /// assert_eq!(refused_calls, 0);
    /// assert!(calls.get() >= 2);
    /// assert_eq!(gaps, 1);
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn walk_page_range<W: PageWalk>(
        &mut self,
        start: usize,
        end: usize,
        walker: &mut W,
    ) -> Result<ControlFlow<()>> {
        Self::check_range(start, end)?;
        if !W::Mode::PROTECTING {
            return Self::walk(self.mm, start, end, walker, (0, 0));
        }
        // Widened to PMD boundaries: a huge PMD is changed whole. (At the
        // very top of the address space, where no user VMA is, `end`
        // itself.)
        let notified = (
            start & !(PMD_SIZE - 1),
            end.checked_next_multiple_of(PMD_SIZE).unwrap_or(end),
        );
        let mm = self.mm;
        let _change = self.protection_change(notified.0, notified.1);
        Self::walk(mm, start, end, walker, notified)
    }

    /// A walk covers whole pages: callbacks pair entries with addresses.
    #[inline]
    fn check_range(start: usize, end: usize) -> Result {
        if start >= end || (start | end) & (crate::page::PAGE_SIZE - 1) != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// The walk itself, of a range checked by [`Self::check_range`], under
    /// the protection change notifier of `notified` for a protecting
    /// walker. The caller takes `&mut self`, so a callback holding a page
    /// table lock cannot start another walk with the same guard (which
    /// would lock the same tables). The mmap read lock of `mm` is held (the
    /// guard's invariant).
    #[inline]
    fn walk<W: PageWalk>(
        mm: &MmWithUser,
        start: usize,
        end: usize,
        walker: &mut W,
        notified: (usize, usize),
    ) -> Result<ControlFlow<()>> {
        let mut ctx = WalkCtx {
            walker,
            notified,
            stopped: false,
        };
        // SAFETY: the mmap read lock is held (type invariant of the guard),
        // the ops match `W`, `ctx` is exclusively borrowed for the duration
        // of the walk, and for a protecting walker the caller started a
        // protection change notifier for the whole range.
        let ret = unsafe {
            bindings::walk_page_range(
                mm.as_raw(),
                start as _,
                end as _,
                &Ops::<W>::OPS,
                (&mut ctx as *mut WalkCtx<'_, W>).cast::<c_void>(),
            )
        };
        if ctx.stopped {
            Ok(ControlFlow::Break(()))
        } else if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(ControlFlow::Continue(()))
        }
    }
}
