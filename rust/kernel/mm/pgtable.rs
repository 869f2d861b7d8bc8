// SPDX-License-Identifier: GPL-2.0

//! Page table entries, the PTE table lock and the huge PMD lock.
//!
//! Entries are read into value types ([`Pte`], [`Pmd`]) whose predicates are
//! the architecture's `pte_*()` / `pmd_*()` functions. Writing an entry is
//! only possible through a guard that holds its page table lock.
//!
//! C header: [`include/linux/pgtable.h`](srctree/include/linux/pgtable.h)

use crate::{bindings, mm::virt::VmaRef, mm::PAGE_SIZE};
use core::{marker::PhantomData, mem::MaybeUninit};

/// A PTE value, as read from a page table at one point in time, with a
/// summary of its state.
///
/// The predicates are the architecture's `pte_*()` functions, evaluated in
/// C once per entry when the value is read (see `include/linux/pte_info.h`):
/// they are inline functions that Rust could only reach through one helper
/// call each.
///
/// # Invariants
///
/// `info` is `pte_info(raw)` as computed by the C helpers.
#[derive(Clone, Copy)]
pub struct Pte {
    pub(crate) raw: bindings::pte_t,
    info: u8,
}

impl Pte {
    /// Wraps a raw value, classifying it.
    #[inline]
    pub(crate) fn new(raw: bindings::pte_t) -> Self {
        // SAFETY: pure function of the value.
        let info = unsafe { bindings::pte_info(raw) };
        // INVARIANT: computed by the helper.
        Pte { raw, info }
    }

    #[inline]
    fn has(self, bit: u32) -> bool {
        u32::from(self.info) & bit != 0
    }

    /// No mapping, no swap entry, no marker (`pte_none()`).
    #[inline]
    pub fn is_none(self) -> bool {
        self.has(bindings::PTE_INFO_NONE)
    }

    /// Maps a page (`pte_present()`, includes PROT_NONE mappings).
    #[inline]
    pub fn is_present(self) -> bool {
        self.has(bindings::PTE_INFO_PRESENT)
    }

    /// A present PTE that is uffd write-protected.
    #[inline]
    pub fn uffd_wp(self) -> bool {
        self.has(bindings::PTE_INFO_UFFD_WP)
    }

    /// A non-present PTE (swap entry or pte marker) that carries the uffd-wp
    /// bit (`pte_swp_uffd_wp_any()`).
    #[inline]
    pub fn swp_uffd_wp_any(self) -> bool {
        self.has(bindings::PTE_INFO_SWP_UFFD_WP)
    }

    /// A swap entry, including migration entries and pte markers
    /// (`is_swap_pte()`).
    #[inline]
    pub fn is_swap(self) -> bool {
        self.has(bindings::PTE_INFO_SWAP)
    }

    /// A present PTE mapping the shared zero page.
    #[inline]
    pub fn is_zero_pfn(self) -> bool {
        self.has(bindings::PTE_INFO_ZERO_PFN)
    }

    /// A present PTE with the soft-dirty bit.
    #[inline]
    pub fn soft_dirty(self) -> bool {
        self.has(bindings::PTE_INFO_SOFT_DIRTY)
    }

    /// A swap PTE with the soft-dirty bit.
    #[inline]
    pub fn swp_soft_dirty(self) -> bool {
        self.has(bindings::PTE_INFO_SWP_SOFT_DIRTY)
    }

    /// A pte marker (no page, only information such as uffd-wp).
    #[inline]
    pub fn is_marker(self) -> bool {
        // SAFETY: pure function of the value.
        self.is_swap() && unsafe { bindings::is_pte_marker(self.raw) }
    }

    /// A swap PTE whose entry refers to a page (migration, device private)
    /// of a file rather than of anonymous memory.
    ///
    /// Only meaningful under the page table lock the value was read under.
    #[inline]
    pub fn swap_entry_is_file(self) -> bool {
        // SAFETY: pfn swap entries keep their folio locked or referenced
        // while the entry exists, and the caller holds the page table lock.
        unsafe { bindings::pte_swap_entry_is_file(self.raw) }
    }
}

/// Lazy MMU mode: batches page table updates on architectures that can
/// (paravirt). Left when dropped.
pub struct LazyMmu {
    _not_send: PhantomData<*mut ()>,
}

impl LazyMmu {
    /// Enters lazy MMU mode.
    #[inline]
    pub fn enter() -> Self {
        // SAFETY: no preconditions; paired with the leave in `drop`.
        unsafe { bindings::arch_enter_lazy_mmu_mode() };
        LazyMmu {
            _not_send: PhantomData,
        }
    }
}

impl Drop for LazyMmu {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: entered in `enter`.
        unsafe { bindings::arch_leave_lazy_mmu_mode() };
    }
}

/// The PTE table under one PMD, mapped and locked (`pte_offset_map_lock()`),
/// covering `[start, end)`.
///
/// # Invariants
///
/// `ptep` points to the PTE of `start` in a mapped PTE table whose lock
/// `ptl` is held; `[start, end)` lies within one PMD, inside `vma`.
pub struct PteTable<'a> {
    ptep: *mut bindings::pte_t,
    ptl: *mut bindings::spinlock_t,
    vma: &'a VmaRef,
    start: usize,
    end: usize,
}

impl<'a> PteTable<'a> {
    /// Builds the guard.
    ///
    /// # Safety
    ///
    /// The caller must have mapped and locked the table as described in the
    /// type invariants, and hands both over to the guard.
    #[inline]
    pub(crate) unsafe fn new(
        ptep: *mut bindings::pte_t,
        ptl: *mut bindings::spinlock_t,
        vma: &'a VmaRef,
        start: usize,
        end: usize,
    ) -> Self {
        PteTable {
            ptep,
            ptl,
            vma,
            start,
            end,
        }
    }

    /// The VMA the table maps.
    #[inline]
    pub fn vma(&self) -> &'a VmaRef {
        self.vma
    }

    /// The entries of the range, in address order.
    #[inline]
    pub fn entries(&self) -> PteIter<'_> {
        // INVARIANT: nothing read yet, `ptep` is the entry of `start`.
        PteIter {
            ptep: self.ptep,
            addr: self.start,
            next_addr: self.start,
            end: self.end,
            vma: self.vma,
            pos: 0,
            len: 0,
            vals: [MaybeUninit::uninit(); BATCH],
            info: [0; BATCH],
            _table: PhantomData,
        }
    }
}

impl Drop for PteTable<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: mapped and locked by the type invariant.
        unsafe { bindings::pte_unmap_unlock(self.ptep, self.ptl) };
    }
}

/// Entries read from the table per helper call.
const BATCH: usize = 64;

/// Iterator over the slots of a locked [`PteTable`]. Entries are read and
/// classified in batches of [`BATCH`] with one helper call; the per-entry
/// path is a few loads, the refill is out of line.
///
/// # Invariants
///
/// `ptep` is the entry of `addr` in the locked table; `vals[pos..len]` and
/// `info[pos..len]` hold the entries `ptep - (len - pos) .. ptep`, the next
/// ones to yield, which map `next_addr` onwards.
pub struct PteIter<'t> {
    ptep: *mut bindings::pte_t,
    addr: usize,
    next_addr: usize,
    end: usize,
    vma: &'t VmaRef,
    pos: usize,
    len: usize,
    vals: [MaybeUninit<bindings::pte_t>; BATCH],
    info: [u8; BATCH],
    _table: PhantomData<&'t PteTable<'t>>,
}

impl PteIter<'_> {
    /// Reads the next batch; false at the end of the range.
    #[inline(never)]
    fn refill(&mut self) -> bool {
        if self.addr >= self.end {
            return false;
        }
        let n = core::cmp::min(BATCH, (self.end - self.addr) / PAGE_SIZE);
        // SAFETY: the `n` entries from `ptep` are in the locked table (they
        // map `[addr, addr + n * PAGE_SIZE)`, inside the range), and
        // `vals`/`info` have room for `BATCH >= n` entries.
        unsafe {
            bindings::ptes_get_info(
                self.ptep,
                n as u32,
                self.vals.as_mut_ptr().cast(),
                self.info.as_mut_ptr(),
            )
        };
        // INVARIANT: `vals[..n]`/`info[..n]` now hold the entries from the
        // old `ptep`, which maps `addr`.
        self.next_addr = self.addr;
        self.ptep = self.ptep.wrapping_add(n);
        self.addr += n * PAGE_SIZE;
        self.pos = 0;
        self.len = n;
        true
    }
}

impl<'t> Iterator for PteIter<'t> {
    type Item = PteSlot<'t>;

    #[inline(always)]
    fn next(&mut self) -> Option<PteSlot<'t>> {
        if self.pos == self.len && !self.refill() {
            return None;
        }
        let i = self.pos;
        let back = self.len - i;
        // SAFETY: `i < len`, so entry `i` was written by the last refill.
        let raw = unsafe { self.vals.get_unchecked(i).assume_init() };
        // INVARIANT: entry `i` of the batch is `back` entries before `ptep`,
        // in the locked table, and maps `next_addr`.
        let slot = PteSlot {
            ptep: self.ptep.wrapping_sub(back),
            addr: self.next_addr,
            pte: Pte {
                raw,
                info: self.info[i],
            },
            vma: self.vma,
            _table: PhantomData,
        };
        self.pos = i + 1;
        self.next_addr = self.next_addr.wrapping_add(PAGE_SIZE);
        Some(slot)
    }
}

/// One PTE of a locked [`PteTable`].
///
/// # Invariants
///
/// `ptep` is the entry of `addr` in a PTE table whose lock is held for `'t`,
/// and `pte` its value as read under that lock.
pub struct PteSlot<'t> {
    ptep: *mut bindings::pte_t,
    addr: usize,
    pte: Pte,
    vma: &'t VmaRef,
    _table: PhantomData<&'t PteTable<'t>>,
}

impl PteSlot<'_> {
    /// The virtual address the entry maps.
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The entry, as read under the table lock (`ptep_get()`).
    #[inline]
    pub fn get(&self) -> Pte {
        self.pte
    }

    /// Whether the page the present entry `pte` maps belongs to a file
    /// (not anonymous, not the zero page).
    #[inline]
    pub fn maps_file_page(&self, pte: Pte) -> bool {
        // SAFETY: the VMA is valid and `pte` was read from this slot under
        // the lock we hold, so the page it maps stays mapped.
        unsafe {
            let page = bindings::vm_normal_page(self.vma.as_raw(), self.addr as _, pte.raw);
            !page.is_null() && !bindings::page_is_anon(page)
        }
    }

    /// Write-protects the entry for userfaultfd: a present page gets the
    /// uffd-wp bit, a swap entry its swap uffd-wp bit, an empty entry a
    /// uffd-wp pte marker. `pte` is the value last read from this slot. The
    /// caller flushes the TLB for the range before dropping the table.
    #[inline]
    pub fn make_uffd_wp(&self, pte: Pte) {
        let vma = self.vma.as_raw();
        let addr = self.addr as _;
        // SAFETY: the entry is locked (type invariant) and belongs to `vma`;
        // the modify_prot start/commit pair is done under that lock.
        unsafe {
            if pte.is_present() {
                let old = bindings::ptep_modify_prot_start(vma, addr, self.ptep);
                let new = bindings::pte_mkuffd_wp(old);
                bindings::ptep_modify_prot_commit(vma, addr, self.ptep, old, new);
            } else if pte.is_swap() {
                // A writable migration entry becomes read-only too (C only
                // sets the bit, which page_table_check reports).
                let new = bindings::pte_swp_mkuffd_wp_readonly(pte.raw);
                bindings::set_pte_at((*vma).vm_mm, addr, self.ptep, new);
            } else {
                let marker = bindings::make_pte_marker_uffd_wp();
                bindings::set_pte_at((*vma).vm_mm, addr, self.ptep, marker);
            }
        }
    }
}

/// A PMD value.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Pmd(bindings::pmd_t);

impl Pmd {
    /// Empty (`pmd_none()`).
    #[inline]
    pub fn is_none(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::pmd_none(self.0) }
    }

    /// Maps a huge page (`pmd_present()`).
    #[inline]
    pub fn is_present(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::pmd_present(self.0) }
    }

    /// A present huge PMD that is uffd write-protected.
    #[inline]
    pub fn uffd_wp(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::pmd_uffd_wp(self.0) }
    }

    /// A swap (migration) PMD that is uffd write-protected.
    #[inline]
    pub fn swp_uffd_wp(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::pmd_swp_uffd_wp(self.0) }
    }

    /// A present huge PMD with the soft-dirty bit.
    #[inline]
    pub fn soft_dirty(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::pmd_soft_dirty(self.0) }
    }

    /// A swap PMD with the soft-dirty bit.
    #[inline]
    pub fn swp_soft_dirty(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::pmd_swp_soft_dirty(self.0) }
    }

    /// Maps the huge zero page.
    #[inline]
    pub fn is_huge_zero(self) -> bool {
        // SAFETY: pure function of the value.
        unsafe { bindings::is_huge_zero_pmd(self.0) }
    }

    /// A swap PMD whose entry refers to a file page. Only meaningful under
    /// the PMD lock the value was read under.
    #[inline]
    pub fn swap_entry_is_file(self) -> bool {
        // SAFETY: as for `Pte::swap_entry_is_file`.
        unsafe { bindings::pmd_swap_entry_is_file(self.0) }
    }
}

/// A huge (transparent huge page) PMD, locked (`pmd_trans_huge_lock()`).
///
/// # Invariants
///
/// `pmdp` is a huge or swap PMD of `vma` whose lock `ptl` is held.
pub struct PmdHugeLock<'a> {
    pmdp: *mut bindings::pmd_t,
    ptl: *mut bindings::spinlock_t,
    vma: &'a VmaRef,
}

impl<'a> PmdHugeLock<'a> {
    /// Builds the guard.
    ///
    /// # Safety
    ///
    /// As in the type invariants; the lock is handed over to the guard.
    #[inline]
    pub(crate) unsafe fn new(
        pmdp: *mut bindings::pmd_t,
        ptl: *mut bindings::spinlock_t,
        vma: &'a VmaRef,
    ) -> Self {
        PmdHugeLock { pmdp, ptl, vma }
    }

    /// Reads the entry.
    #[inline]
    pub fn get(&self) -> Pmd {
        // SAFETY: valid PMD by the type invariant.
        Pmd(unsafe { bindings::pmdp_get(self.pmdp) })
    }

    /// Whether the present huge PMD `pmd` maps a file page.
    #[inline]
    pub fn maps_file_page(&self, addr: usize, pmd: Pmd) -> bool {
        // SAFETY: the VMA is valid; `pmd` was read under the lock we hold.
        unsafe {
            let page = bindings::vm_normal_page_pmd(self.vma.as_raw(), addr as _, pmd.0);
            !page.is_null() && !bindings::page_is_anon(page)
        }
    }

    /// Write-protects the whole huge PMD mapping `addr` for userfaultfd and
    /// flushes its TLB entries. Migration entries get the swap uffd-wp bit;
    /// other non-present entries are left alone.
    #[inline]
    pub fn make_uffd_wp(&self, addr: usize) {
        let vma = self.vma.as_raw();
        let pmd = self.get();
        // SAFETY: the PMD is locked and belongs to `vma` (type invariant).
        unsafe {
            if pmd.is_present() {
                let old = bindings::pmdp_invalidate_ad(vma, addr as _, self.pmdp);
                let new = bindings::pmd_mkuffd_wp(old);
                bindings::set_pmd_at((*vma).vm_mm, addr as _, self.pmdp, new);
            } else if bindings::pmd_is_migration_entry(pmd.0) {
                // Read-only as well as uffd-wp, as for PTEs.
                let new = bindings::pmd_swp_mkuffd_wp_readonly(pmd.0);
                bindings::set_pmd_at((*vma).vm_mm, addr as _, self.pmdp, new);
            }
        }
        self.vma.flush_tlb_range(addr, addr + crate::mm::PMD_SIZE);
    }

    /// Drops the lock and splits the huge PMD into a PTE table, so that a
    /// part of it can be handled page by page.
    #[inline]
    pub fn unlock_and_split(self, addr: usize) {
        let (pmdp, vma) = (self.pmdp, self.vma);
        drop(self);
        // SAFETY: the VMA is valid under the mmap lock the walk holds, and
        // `split_huge_pmd()` takes the PMD lock itself.
        unsafe { bindings::split_huge_pmd(vma.as_raw(), pmdp, addr as _) };
    }
}

impl Drop for PmdHugeLock<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: held by the type invariant.
        unsafe { bindings::spin_unlock(self.ptl) };
    }
}
