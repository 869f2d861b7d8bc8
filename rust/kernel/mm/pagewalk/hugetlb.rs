// SPDX-License-Identifier: GPL-2.0

//! hugetlbfs page table entries and their locks.
//!
//! C header: [`include/linux/hugetlb.h`](srctree/include/linux/hugetlb.h)

use crate::{
    bindings,
    mm::pagewalk::{
        pgtable::{Pte, PteFrame, PteInfo},
        vma_raw, Protecting, WalkMode,
    },
    mm::virt::VmaRef,
    prelude::*,
};
use core::marker::PhantomData;

impl Pte {
    /// An empty hugetlb entry.
    #[inline]
    pub fn huge_is_none(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::huge_pte_none(self.raw) }
    }
}

impl VmaRef {
    /// The VMA as a hugetlb VMA, if it is one (`is_vm_hugetlb_page()`):
    /// the hugetlb methods are only offered on what this returns, as
    /// upstream offers the mixed-map ones on [`as_mixedmap_vma`].
    ///
    /// [`as_mixedmap_vma`]: crate::mm::virt::VmaRef::as_mixedmap_vma
    #[inline]
    pub fn as_hugetlb_vma(&self) -> Option<&VmaHugetlb> {
        if self.is_hugetlb() {
            // SAFETY: `VmaHugetlb` is a transparent wrapper of `VmaRef`, and
            // the VMA was just found to be a hugetlb VMA, which it stays for
            // as long as it exists (`VM_HUGETLB` is set at mmap time and
            // never cleared), so the type invariant holds for the borrow.
            Some(unsafe { &*(self as *const VmaRef).cast::<VmaHugetlb>() })
        } else {
            None
        }
    }
}

/// A VMA of hugetlbfs.
///
/// # Invariants
///
/// The VMA is a hugetlb VMA (`is_vm_hugetlb_page()`): its file is on
/// hugetlbfs, so `hstate_vma()` finds the hstate of its huge pages.
#[repr(transparent)]
pub struct VmaHugetlb {
    vma: VmaRef,
}

impl core::ops::Deref for VmaHugetlb {
    type Target = VmaRef;

    #[inline]
    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}

impl VmaHugetlb {
    /// A hugetlb VMA from its raw pointer.
    ///
    /// # Safety
    ///
    /// As for [`VmaRef::from_raw`], and the VMA is a hugetlb VMA
    /// (`is_vm_hugetlb_page()`), as in the `hugetlb_entry` callback of a
    /// walk, which only `walk_hugetlb_range()` calls.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(vma: *const bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmaHugetlb` is a transparent wrapper of `VmaRef`; the
        // pointer is a valid VMA for `'a` and a hugetlb one (caller).
        unsafe { &*(VmaRef::from_raw(vma) as *const VmaRef).cast::<VmaHugetlb>() }
    }

    /// The size of the VMA's huge pages.
    #[inline]
    pub fn huge_page_size(&self) -> usize {
        // SAFETY: the VMA is valid, and a hugetlb VMA by the type invariant:
        // `hstate_vma()` reads the hstate of its hugetlbfs file.
        unsafe { bindings::vma_huge_page_size(self.as_ptr()) as usize }
    }

    /// Flushes the TLB entries of `[start, end)` of the VMA, as the
    /// architecture flushes huge pages (`flush_hugetlb_tlb_range()`, which
    /// is not `flush_tlb_range()` on arm64, powerpc and riscv). Crate
    /// private, as [`VmaRef::flush_tlb_range`]: only the guard that changed
    /// an entry (with interrupts on) flushes.
    #[inline]
    pub(crate) fn flush_hugetlb_tlb_range(&self, start: usize, end: usize) {
        // SAFETY: the VMA and its mm are valid for the borrow; a TLB flush
        // of any range of a live mm only drops cached translations. (The
        // flush must not run with interrupts disabled: that is a rule of
        // the lock discipline, not a memory-safety condition; the only
        // caller, `HugetlbLock::make_uffd_wp`, holds a plain spinlock.)
        unsafe { bindings::flush_hugetlb_tlb_range(self.as_ptr(), start as _, end as _) };
    }

    /// Write-protects the unpopulated huge pages covering `[addr, end)`
    /// with uffd-wp markers, allocating their page table entries.
    ///
    /// # Safety
    ///
    /// The caller holds the mmap lock and this VMA's hugetlb VMA lock for
    /// reading, an MMU notifier protection-change range covers the range,
    /// and `[addr, end)` lies inside the VMA, which is registered for
    /// uffd-wp; both ends are huge page aligned.
    ///
    /// Called from a walk over this hugetlb VMA (see [`PteHole`]):
    /// `uffd_wp_range()` would take the hugetlb VMA lock for writing and
    /// deadlock, so the markers are installed here entry by entry, as the
    /// walk does for populated entries.
    ///
    /// [`PteHole`]: crate::mm::pagewalk::PteHole
    pub(crate) unsafe fn hugetlb_make_uffd_wp_holes(&self, addr: usize, end: usize) -> Result {
        let psize = self.huge_page_size();
        let mut addr = addr;
        while addr < end {
            // SAFETY: the VMA is a valid hugetlb VMA under the mmap lock and
            // `addr` is huge page aligned inside it (caller).
            let ptep = unsafe {
                bindings::huge_pte_alloc(
                    (*self.as_ptr()).vm_mm,
                    self.as_ptr(),
                    addr as _,
                    psize as _,
                )
            };
            if ptep.is_null() {
                return Err(ENOMEM);
            }
            let end = addr + psize;
            // SAFETY: `ptep` is the entry of `addr` in this VMA, which is
            // registered for uffd-wp, valid under the locks the caller
            // holds; the notifier range is active. The VMA is valid (a
            // reference), so reading its `vm_mm` is, and that is its mm.
            let mut entry = unsafe {
                HugetlbEntry::<Protecting>::new(ptep, (*self.as_ptr()).vm_mm, self, addr, end)
            };
            entry.with_lock(|locked| locked.make_uffd_wp())?;
            addr += psize;
        }
        Ok(())
    }
}

/// A hugetlb page table entry found by a walk, for the huge page at
/// `[start, end)` or the part of it the walk covers.
///
/// # Invariants
///
/// `ptep` is a valid hugetlb entry of `vma` mapping the huge page that
/// contains `[start, end)` (inside `vma`), kept by the walk (mmap lock and
/// hugetlb VMA lock held) for `'a`; `mm` is `vma`'s mm. If `M` is [`Protecting`], `vma` is
/// registered for uffd-wp and an MMU notifier protection-change range
/// covering `[start, end)` is active.
pub struct HugetlbEntry<'a, M: WalkMode> {
    ptep: *mut bindings::pte_t,
    mm: *mut bindings::mm_struct,
    vma: &'a VmaHugetlb,
    start: usize,
    end: usize,
    _mode: PhantomData<M>,
}

impl<'a, M: WalkMode> HugetlbEntry<'a, M> {
    /// # Safety
    ///
    /// As in the type invariants. (`mm` is passed in, not read from `vma`
    /// per entry: a walk has it at hand.)
    #[inline]
    pub(crate) unsafe fn new(
        ptep: *mut bindings::pte_t,
        mm: *mut bindings::mm_struct,
        vma: &'a VmaHugetlb,
        start: usize,
        end: usize,
    ) -> Self {
        HugetlbEntry {
            ptep,
            mm,
            vma,
            start,
            end,
            _mode: PhantomData,
        }
    }

    /// The VMA, borrowed from the entry: the borrow ends before
    /// [`HugetlbEntry::with_lock`] (which takes `&mut self`) can lock the
    /// entry, so this VMA cannot be used under the entry's locks. (The walk
    /// holds the VMA's hugetlb VMA lock for reading for the whole callback:
    /// a zap of the VMA's range from the callback, which takes it for
    /// writing, would deadlock; the types do not prevent that, see "Lock
    /// discipline" in Documentation/rust-pagemap-scan.rst.)
    #[inline]
    pub fn vma(&self) -> &VmaHugetlb {
        self.vma
    }

    /// Whether the walk covers the whole huge page (only then can it be
    /// write-protected).
    #[inline]
    pub fn covers_page(&self) -> bool {
        let psize = self.vma.huge_page_size();
        self.start & (psize - 1) == 0 && self.end - self.start == psize
    }

    /// Reads the entry without its lock (a snapshot), with its state: the
    /// `huge_pte_*()` predicates, and with `file`, [`PteInfo::maps_file`]
    /// for a present page that is not anonymous.
    ///
    /// [`PteInfo::maps_file`]: crate::mm::pagewalk::pgtable::PteInfo::maps_file
    #[inline]
    pub fn get(&self, file: bool) -> Pte {
        let mut info = 0u8;
        // SAFETY: valid entry by the type invariant; `info` is a valid byte
        // to write. The helper looks at the flags of the page a present
        // snapshot maps, as C's pagemap_hugetlb_category() does: the struct
        // page stays valid memory even if the page is unmapped meanwhile,
        // and the answer is as stale as the snapshot.
        unsafe {
            let raw =
                bindings::huge_ptep_get_info(self.mm, self.start as _, self.ptep, file, &mut info);
            Pte::new(raw, info)
        }
    }

    /// Reads the entry without its lock (a snapshot), and only whether it
    /// is empty, present or neither ([`PteInfo::is_none`],
    /// [`PteInfo::is_present`], [`PteInfo::is_swap`]; the other predicates
    /// read as false), as [`Presence`] reads a PTE: the cheapest look, for
    /// a walker that only locates what is mapped.
    ///
    /// [`PteInfo::is_none`]: crate::mm::pagewalk::pgtable::PteInfo::is_none
    /// [`PteInfo::is_present`]: crate::mm::pagewalk::pgtable::PteInfo::is_present
    /// [`PteInfo::is_swap`]: crate::mm::pagewalk::pgtable::PteInfo::is_swap
    /// [`Presence`]: crate::mm::pagewalk::pgtable::Presence
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{pud_size, Backing, TestMapping},
    ///     PMD_SIZE,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SHIFT;
    ///
    /// // (present, none) as presence() and get() tell them, per huge page
    /// // of `size` bytes (none where the walk finds no entry: a hole).
    /// fn look(map: &TestMapping, size: usize) -> Result<[(bool, bool); 2]> {
    ///     let mut seen = [(false, true); 2];
    ///     let mut walker = HugetlbWalker::new(
    ///         |entry, start, _| {
    ///             let (p, g) = (entry.presence(), entry.get(false).info());
    ///             assert_eq!((p.is_present(), p.is_none()), (g.is_present(), g.is_none()));
    ///             assert_eq!(p.is_swap(), g.is_swap());
    ///             seen[(start - map.start()) / size] = (p.is_present(), p.is_none());
    ///             Ok(())
    ///         },
    ///         |_, _, _| Ok(()),
    ///     );
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     Ok(seen)
    /// }
    ///
    /// // Two pages of every hugetlb size below the PUD's that has a free
    /// // page: the PMD size (which must have one), and on arm64 the
    /// // contiguous-PTE and contiguous-PMD sizes, whose entries are read
    /// // and set as one.
    /// let mut sizes = 0;
    /// for shift in (PAGE_SHIFT + 1) as u32..pud_size().trailing_zeros() {
    ///     let backing = Backing::Hugetlb(shift);
    ///     let size = backing.page_size().ok_or(EINVAL)?;
    ///     if backing.free_pages().unwrap_or(0) == 0 {
    ///         assert_ne!(size, PMD_SIZE);
    ///         continue;
    ///     }
    ///     let map = TestMapping::new(2 * size, backing, false)?;
    ///     map.write(map.start() + size, 1)?;
    ///     assert_eq!(look(&map, size)?, [(false, true), (true, false)]);
    ///     sizes += 1;
    /// }
    /// // arm64 also the contiguous-PTE size, which the test guest reserves.
    /// assert!(sizes >= if cfg!(CONFIG_ARM64) { 2 } else { 1 });
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn presence(&self) -> PteInfo {
        // SAFETY: valid entry by the type invariant, of `mm`.
        let info = unsafe { bindings::huge_ptep_presence(self.mm, self.start as _, self.ptep) };
        PteInfo::from_raw(info)
    }

    /// Reads the entry under its page table lock, as a [`PteFrame`]: for
    /// a present huge page, the PFN of its first page, and whether it is
    /// mapped exclusively (its folio mapped once, through a page table no
    /// other process shares).
    #[inline]
    pub fn frame(&self) -> PteFrame {
        let mut frame = PteFrame::default();
        // SAFETY: valid entry of a valid hugetlb VMA by the type invariant;
        // the helper takes and releases the entry's page table lock (the
        // walk holds none); `frame` is a valid `struct pte_frame` to write.
        unsafe {
            bindings::huge_pte_frame(
                vma_raw(self.vma),
                self.start as _,
                self.ptep,
                (&mut frame as *mut PteFrame).cast(),
            )
        };
        frame
    }

    /// A scheduling point (`cond_resched()`), between entries: the walk
    /// holds the mmap lock and the hugetlb VMA lock for reading, which may
    /// sleep, and this entry lends no spinlock now (`&mut self`).
    #[inline]
    pub fn cond_resched(&mut self) {
        // SAFETY: `cond_resched()` has no memory-safety precondition (see
        // `PmdEntry::cond_resched`).
        unsafe { bindings::cond_resched() };
    }

    /// Takes the file's `i_mmap` lock for writing, then the entry's page
    /// table lock, runs `f` with the locked entry and releases both. The
    /// guard cannot outlive `f` (nor be leaked with the locks held), and
    /// `&mut self` keeps `f` from locking the same entry again.
    #[inline]
    pub fn with_lock<R>(&mut self, f: impl FnOnce(&HugetlbLock<'_, 'a, M>) -> R) -> R {
        // SAFETY: hugetlb VMAs are file backed (`VmaHugetlb` invariant), the
        // VMA is valid and the lock order i_mmap_rwsem -> page table lock is
        // the hugetlb one.
        let ptl = unsafe {
            bindings::i_mmap_lock_write_vma(vma_raw(self.vma));
            bindings::huge_pte_lock(vma_raw(self.vma), self.ptep)
        };
        // INVARIANT: both locks were just taken.
        let locked = HugetlbLock {
            entry: self,
            ptl,
            _not_send: PhantomData,
        };
        f(&locked)
    }
}

/// A locked hugetlb entry.
///
/// # Invariants
///
/// The current task holds the `i_mmap` lock of the VMA's file for writing
/// and the entry's page table lock `ptl`.
pub struct HugetlbLock<'e, 'a, M: WalkMode> {
    entry: &'e HugetlbEntry<'a, M>,
    ptl: *mut bindings::spinlock_t,
    _not_send: PhantomData<*mut ()>,
}

impl<'e, 'a, M: WalkMode> HugetlbLock<'e, 'a, M> {
    /// Reads the entry, as [`HugetlbEntry::get`] does; under the lock it
    /// cannot change but for the accessed and dirty bits.
    #[inline]
    pub fn get(&self, file: bool) -> Pte {
        self.entry.get(file)
    }

    /// The locked entry with its write-protect method, in a [`Protecting`]
    /// walk; `None` in a [`ReadOnly`] one.
    ///
    /// [`ReadOnly`]: crate::mm::pagewalk::ReadOnly
    #[inline(always)]
    pub fn protecting(&self) -> Option<&HugetlbLock<'e, 'a, Protecting>> {
        M::hugetlb(self)
    }
}

impl HugetlbLock<'_, '_, Protecting> {
    /// Write-protects the whole huge page for userfaultfd, deciding on the
    /// entry as read under the lock: present pages get the uffd-wp bit,
    /// migration entries the swap uffd-wp bit, empty entries a uffd-wp
    /// marker; hwpoison entries and existing markers are left alone. Then
    /// flushes the TLB for the page (if it was populated), still under the
    /// lock.
    ///
    /// Only a [`Protecting`] walk's entries have the method; `EPERM` when
    /// the walk covers only a part of the huge page (which is protected
    /// whole or not at all).
    ///
    /// # Examples
    ///
    /// A protecting walk skips a VMA not registered for uffd-wp; in a
    /// registered one, a walk that covers only a part of the huge page
    /// gets `EPERM`: the page stays unprotected and writable, and its lock
    /// can be taken again.
    ///
    /// ```
    /// use kernel::mm::pagewalk::{kunit::{Backing, TestMapping}, PMD_SIZE};
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // Calls `make_uffd_wp()` on each hugetlb entry of `[start, end)` in a
    /// // protecting walk: the entries, the calls that returned `want`, and
    /// // the entries of the mapping write-protected afterwards (read under
    /// // their lock).
    /// fn protect(map: &TestMapping, end: usize, want: Result) -> Result<(usize, usize, usize)> {
    ///     let (mut entries, mut got, mut wp) = (0, 0, 0);
    ///     let mut walker = HugetlbWalker::protecting(
    ///         |entry, _, _| {
    ///             entries += 1;
    ///             got += usize::from(entry.with_lock(|l| l.make_uffd_wp()) == want);
    ///             Ok(())
    ///         },
    ///         |_, _, _| Ok(()),
    ///     );
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), end, &mut walker)?;
    ///     let mut reader = HugetlbWalker::new(
    ///         |entry, _, _| {
    ///             wp += usize::from(entry.with_lock(|l| l.get(false).info().uffd_wp()));
    ///             Ok(())
    ///         },
    ///         |_, _, _| Ok(()),
    ///     );
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut reader)?;
    ///     Ok((entries, got, wp))
    /// }
    ///
    /// let map = TestMapping::new(PMD_SIZE, Backing::HugetlbPmd, true)?;
    /// let end = map.end();
    /// assert_eq!(protect(&map, end, Ok(()))?, (0, 0, 0));
    ///
    /// map.register_uffd_wp()?;
    /// assert_eq!(protect(&map, map.start() + PAGE_SIZE, Err(EPERM))?, (1, 1, 0));
    /// assert_eq!(map.write(map.start(), 1), Ok(()));
    ///
    /// assert_eq!(protect(&map, end, Ok(()))?, (1, 1, 1));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn make_uffd_wp(&self) -> Result {
        let e = self.entry;
        if !e.covers_page() {
            return Err(EPERM);
        }
        let vma = vma_raw(e.vma);
        let (ptep, addr) = (e.ptep, e.start);
        let pte = e.get(false);
        // SAFETY: the entry is locked (type invariant), belongs to `vma`,
        // which is registered for uffd-wp, and maps `addr`; `pte` was read
        // under the lock; the notifier range is active (`Protecting`).
        unsafe {
            if bindings::huge_pte_is_hwpoison(pte.raw) || pte.is_marker() {
                return Ok(());
            }
            if bindings::huge_pte_is_migration(pte.raw) {
                // Read-only as well as uffd-wp, as hugetlb_change_protection()
                // does: a writable migration entry would come back writable.
                let new = bindings::huge_pte_swp_mkuffd_wp_readonly(pte.raw);
                bindings::set_huge_pte_at_vma(vma, addr as _, ptep, new);
            } else if !pte.huge_is_none() {
                let old = bindings::huge_ptep_modify_prot_start(vma, addr as _, ptep);
                let new = bindings::huge_pte_mkuffd_wp(old);
                bindings::huge_ptep_modify_prot_commit(vma, addr as _, ptep, old, new);
            } else {
                let marker = bindings::make_pte_marker_uffd_wp();
                bindings::set_huge_pte_at_vma(vma, addr as _, ptep, marker);
            }
        }
        // An entry that was empty had no TLB entry to flush.
        if !pte.huge_is_none() {
            e.vma.flush_hugetlb_tlb_range(e.start, e.end);
        }
        Ok(())
    }
}

impl<M: WalkMode> Drop for HugetlbLock<'_, '_, M> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: both locks are held by the type invariant; released in
        // the reverse order of taking them.
        unsafe {
            bindings::spin_unlock(self.ptl);
            bindings::i_mmap_unlock_write_vma(vma_raw(self.entry.vma));
        }
    }
}
