// SPDX-License-Identifier: GPL-2.0

//! Page table entries, the PTE table lock and the huge PMD lock.
//!
//! The state of an entry is read into a [`PteInfo`] whose predicates are the
//! architecture's `pte_*()` / `pmd_*()` functions, evaluated in C. A locked
//! PTE table yields its entries as runs of equal state ([`PteTable`]), so
//! that a walker does per-run work rather than per-entry work. Writing an
//! entry is only possible through a guard that holds its page table lock.
//!
//! C header: [`include/linux/pgtable.h`](srctree/include/linux/pgtable.h)

use crate::{
    bindings,
    error::{code::EPERM, Error},
    mm::pagewalk::{vma_raw, Protecting, WalkMode},
    mm::virt::VmaRef,
    page::{PAGE_SHIFT, PAGE_SIZE},
};
use core::marker::PhantomData;

/// The state of a page table entry, in one byte (`include/linux/pte_info.h`).
///
/// The predicates are the architecture's `pte_*()` functions, evaluated in
/// C when the entry is read: they are inline functions that Rust could only
/// reach through one helper call each. What was evaluated depends on how the
/// entry was read (see [`PteQuery`]); the others read as false.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct PteInfo(u8);

impl PteInfo {
    /// Wraps the byte a C helper computed.
    #[inline]
    pub(crate) fn from_raw(info: u8) -> Self {
        PteInfo(info)
    }

    /// The `PTE_INFO_*` bits: a key for caching what a walker derives from
    /// the state.
    #[inline]
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether all of `bits` are set.
    #[inline]
    fn has(self, bits: u32) -> bool {
        u32::from(self.0) & bits == bits
    }

    /// No mapping, no swap entry, no marker (`pte_none()`).
    #[inline]
    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Maps a page (`pte_present()`, includes PROT_NONE mappings).
    #[inline]
    pub fn is_present(self) -> bool {
        self.has(bindings::PTE_INFO_PRESENT)
    }

    /// A present entry that is uffd write-protected (`pte_uffd()`: the bit
    /// serves uffd-wp and, where the tree has it, uffd-rwp).
    #[inline]
    pub fn uffd_wp(self) -> bool {
        self.has(bindings::PTE_INFO_PRESENT | bindings::PTE_INFO_UFFD)
    }

    /// A non-present entry (swap entry or pte marker) that carries the
    /// uffd bit or is a uffd-wp marker (`pte_swp_uffd_any()`).
    #[inline]
    pub fn swp_uffd_wp_any(self) -> bool {
        self.has(bindings::PTE_INFO_SWAP | bindings::PTE_INFO_UFFD)
    }

    /// A guard marker (`MADV_GUARD_INSTALL`): a non-present entry that
    /// faults with `SIGSEGV`. Never set on trees without guard markers.
    #[inline]
    pub fn is_guard(self) -> bool {
        self.has(bindings::PTE_INFO_GUARD)
    }

    /// A non-present entry that is not empty: a swap entry, a migration or
    /// device entry, or a pte marker (a softleaf entry).
    #[inline]
    pub fn is_swap(self) -> bool {
        self.has(bindings::PTE_INFO_SWAP)
    }

    /// A present entry mapping the shared zero page (the huge zero page for
    /// a PMD).
    #[inline]
    pub fn is_zero_pfn(self) -> bool {
        self.has(bindings::PTE_INFO_ZERO_PFN)
    }

    /// A present entry with the soft-dirty bit.
    #[inline]
    pub fn soft_dirty(self) -> bool {
        self.has(bindings::PTE_INFO_PRESENT | bindings::PTE_INFO_SOFT_DIRTY)
    }

    /// A swap entry with the soft-dirty bit.
    #[inline]
    pub fn swp_soft_dirty(self) -> bool {
        self.has(bindings::PTE_INFO_SWAP | bindings::PTE_INFO_SOFT_DIRTY)
    }

    /// The entry maps a page of a file (page cache, shmem) rather than an
    /// anonymous one or the zero page; for a swap entry, refers to one
    /// (migration). Only evaluated where the reader asked for it.
    #[inline]
    pub fn maps_file(self) -> bool {
        self.has(bindings::PTE_INFO_FILE)
    }
}

/// A PTE value, as read from a page table at one point in time, with its
/// [`PteInfo`].
///
/// # Invariants
///
/// `info` is the classification of `raw` by the C helper that read it.
#[derive(Clone, Copy)]
pub struct Pte {
    pub(crate) raw: bindings::pte_t,
    info: PteInfo,
}

impl Pte {
    /// Wraps a value and its classification.
    ///
    /// # Safety
    ///
    /// `info` must be the classification of `raw` by a C helper.
    #[inline]
    pub(crate) unsafe fn new(raw: bindings::pte_t, info: u8) -> Self {
        // INVARIANT: guaranteed by the caller.
        Pte {
            raw,
            info: PteInfo(info),
        }
    }

    /// The state of the entry.
    #[inline]
    pub fn info(self) -> PteInfo {
        self.info
    }

    /// A pte marker (no page, only information such as uffd-wp).
    #[inline]
    pub fn is_marker(self) -> bool {
        // SAFETY: pure function of the value.
        self.info.is_swap() && unsafe { bindings::pte_is_marker(self.raw) }
    }
}

/// What an entry maps, read in C (`struct pte_frame`): its state (every
/// predicate of [`PteInfo`] but [`PteInfo::is_zero_pfn`] for a present
/// entry of a PTE table, which has no page), the page frame or swap entry,
/// and what the page it refers to says. Read by [`PteTable::next_frames`],
/// [`PmdHugeLock::frame`] and [`HugetlbEntry::frame`].
///
/// [`PteInfo::maps_file`] is only set for an entry with a page, and
/// [`PteFrame::mapped_exclusively`] only for a present one with a page.
///
/// [`HugetlbEntry::frame`]: crate::mm::pagewalk::hugetlb::HugetlbEntry::frame
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct PteFrame(bindings::pte_frame);

impl Default for PteFrame {
    #[inline]
    fn default() -> Self {
        PteFrame(bindings::pte_frame {
            pfn: 0,
            swp_offset: 0,
            swp_type: 0,
            info: 0,
            page: 0,
        })
    }
}

impl PteFrame {
    /// The state of the entry.
    #[inline]
    pub fn info(&self) -> PteInfo {
        PteInfo(self.0.info)
    }

    /// Whether all of the `PTE_PAGE_*` `bits` are set.
    #[inline]
    fn page_has(&self, bits: u32) -> bool {
        u32::from(self.0.page) & bits == bits
    }

    /// The page frame number of a present entry, or of a non-present one
    /// that refers to a page (a migration or device entry); `None` for
    /// other entries.
    #[inline]
    pub fn pfn(&self) -> Option<u64> {
        if self.info().is_present() || self.page_has(bindings::PTE_PAGE_PFN) {
            Some(self.0.pfn)
        } else {
            None
        }
    }

    /// The swap type and offset (`swp_type()`, `swp_offset()`) of an entry
    /// that is neither empty nor present (a swap, migration or device entry,
    /// or a marker); `None` for other entries.
    #[inline]
    pub fn swap_entry(&self) -> Option<(u8, u64)> {
        if self.info().is_swap() {
            Some((self.0.swp_type, self.0.swp_offset))
        } else {
            None
        }
    }

    /// Whether the entry refers to a page with a `struct page` (a present
    /// entry `vm_normal_page()` finds a page for, or a migration or device
    /// entry); [`PteInfo::maps_file`] says whether it is a file page.
    #[inline]
    pub fn has_page(&self) -> bool {
        self.page_has(bindings::PTE_PAGE_NORMAL)
    }

    /// Whether the entry is present and its page mapped by no other entry,
    /// by the rule of the tree's `/proc/PID/pagemap` (`PM_MMAP_EXCLUSIVE`).
    #[inline]
    pub fn mapped_exclusively(&self) -> bool {
        self.page_has(bindings::PTE_PAGE_EXCLUSIVE)
    }
}

mod private {
    pub trait Sealed {}
}

/// What reading a PTE table evaluates for each entry: the less, the
/// cheaper. Implemented by [`Protection`], [`Presence`], [`Classes`],
/// [`ClassesAndFile`] and [`Frames`].
pub trait PteQuery: private::Sealed {}

/// A query that classifies each entry into a [`PteInfo`]: the table yields
/// runs of equal state ([`PteTable::next_run`]).
pub trait Classify: PteQuery {
    /// How a batch is read.
    #[doc(hidden)]
    const SOURCE: ClassSource;
}

/// How a [`Classify`] query reads a batch of entries.
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClassSource {
    /// A [`PteInfo`] byte per entry, from `ptes_query()` with this
    /// `enum pte_query` value.
    Query(bindings::pte_query),
    /// Two bits per entry, from `ptes_presence()`: not none, present.
    /// Runs are found in the bit masks, with no byte per entry.
    PresenceMasks,
}

/// Only whether each entry is write-protected for userfaultfd: the table
/// yields the runs of entries that are not
/// ([`PteTable::next_unprotected`]).
pub struct Protection;

/// Only whether each entry is empty, present or neither
/// ([`PteInfo::is_none`], [`PteInfo::is_present`], [`PteInfo::is_swap`]):
/// the other predicates read as false. No other bit of an entry is looked
/// at, so it is the cheapest classification: for a walker that only
/// locates what is mapped.
pub struct Presence;

/// Every predicate of [`PteInfo`] but [`PteInfo::maps_file`].
pub struct Classes;

/// Each entry's [`PteFrame`] (a page lookup per present entry): the table
/// yields them in order ([`PteTable::next_frames`]), not as runs.
pub struct Frames;

/// Every predicate of [`PteInfo`]; [`PteInfo::maps_file`] costs a page
/// lookup per present entry.
pub struct ClassesAndFile;

impl private::Sealed for Protection {}
impl private::Sealed for Presence {}
impl private::Sealed for Classes {}
impl private::Sealed for ClassesAndFile {}
impl private::Sealed for Frames {}
impl PteQuery for Protection {}
impl PteQuery for Presence {}
impl PteQuery for Classes {}
impl PteQuery for ClassesAndFile {}
impl PteQuery for Frames {}

impl Classify for Presence {
    const SOURCE: ClassSource = ClassSource::PresenceMasks;
}

impl Classify for Classes {
    const SOURCE: ClassSource = ClassSource::Query(bindings::pte_query_PTE_QUERY_CLASSES);
}

impl Classify for ClassesAndFile {
    const SOURCE: ClassSource = ClassSource::Query(bindings::pte_query_PTE_QUERY_FILE);
}

/// Entries read from the table per helper call: enough to make the call
/// cheap per entry, few enough that a walk stopping early (a full output)
/// reads little past its stop.
const BATCH: usize = 64;
// A batch's entries have a bit each in a `u64` (`mask`, `wp_pending`).
const _: () = assert!(BATCH <= 64);

/// Entries of the first batch of a table: a walk that stops soon after it
/// starts (a small output array, `max_pages`) reads less in vain.
const FIRST_BATCH: usize = 4;

/// The size of the batch that starts at entry `from` of a table.
#[inline(always)]
fn batch_len(from: usize) -> usize {
    if from == 0 {
        FIRST_BATCH
    } else {
        BATCH
    }
}

/// A run of consecutive entries of a [`PteTable`] with the same state.
#[derive(Clone, Copy, Debug)]
pub struct PteRun {
    /// The address the first entry maps.
    pub addr: usize,
    /// The end of the range the entries map.
    pub end: usize,
    /// The state they share, as far as the table's [`PteQuery`] evaluates.
    pub info: PteInfo,
}

/// The PTE table under one PMD, mapped and locked (`pte_offset_map_lock()`)
/// and in lazy MMU mode, covering `[start, end)`.
///
/// Its entries are read in order, in C, in batches of [`BATCH`]: as runs of
/// equal [`PteInfo`] (as far as `Q` evaluates it) for a [`Classify`] query,
/// as runs of entries that are not write-protected for [`Protection`].
///
/// A walker never owns one: [`PmdEntry::with_ptes`] and [`PmdEntry::view`]
/// lend it to a closure and unlock it (after flushing the TLB for what was
/// write-protected) when the closure returns, so it cannot be leaked with
/// the lock held or the TLB left stale.
///
/// [`PmdEntry::with_ptes`]: crate::mm::pagewalk::PmdEntry::with_ptes
/// [`PmdEntry::view`]: crate::mm::pagewalk::PmdEntry::view
///
/// # Invariants
///
/// `ptep` points to the PTE of `start` in a mapped PTE table whose lock
/// `ptl` is held, in lazy MMU mode; `[start, end)` lies within one PMD,
/// inside `vma`. The last batch read is the `len` entries from `batch` (an
/// index from `start`), read under the lock, and `batch + len <= nr`, the
/// number of entries. For a [`Classify`] query, `pos` (index of the next
/// entry to yield) is in `batch..=batch + len`, and `info[..len]` holds
/// their classification, or, for [`Presence`], bit `i` of `mask` is set if
/// entry `batch + i` is not none and bit `i` of `present` if it is present
/// (no bit at or above `len`); for [`Protection`], bit `i` of `mask` is set
/// if entry `batch + i` is not write-protected and not yielded yet, and bit
/// `i` of `last_run` only if entry `batch + i` is part of the run yielded
/// last (`last_run` is 0 for the other queries, `present` for all but
/// [`Presence`], `mask` for all but [`Presence`] and [`Protection`]); for
/// [`Frames`], `pos` is the next entry to read, `batch == pos` and
/// `len == 0`. If `M`
/// is [`Protecting`], `vma` is registered for uffd-wp and does not map raw
/// PFNs, and an MMU notifier protection-change range covering
/// `[start, end)` is active. Bit `i` of `wp_pending` (0 unless `M` is
/// [`Protecting`]) is set if entry `batch + i`, of the last batch read, is
/// still to be write-protected: before the next batch is read (`wp_pending`
/// is 0 whenever `batch` changes) and before the table is unlocked.
/// `flush_start..flush_end` (empty if equal) covers every entry
/// write-protected through the guard but those.
pub struct PteTable<'a, Q: PteQuery, M: WalkMode> {
    ptep: *mut bindings::pte_t,
    ptl: *mut bindings::spinlock_t,
    vma: &'a VmaRef,
    start: usize,
    end: usize,
    flush_start: usize,
    flush_end: usize,
    nr: usize,
    pos: usize,
    batch: usize,
    len: usize,
    info: [u8; BATCH],
    mask: u64,
    present: u64,
    last_run: u64,
    wp_pending: u64,
    _query: PhantomData<(Q, M)>,
}

/// The number of leading bytes of `bytes` equal to `b`, eight at a time.
#[inline(always)]
fn same_prefix(bytes: &[u8], b: u8) -> usize {
    let pattern = u64::from_ne_bytes([b; 8]);
    let mut n = 0;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let diff = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pattern;
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    // Indexed: the slice iterator would be a call into `core` here.
    let rest = words.remainder();
    let mut i = 0;
    while i < rest.len() && rest[i] == b {
        i += 1;
    }
    n + i
}

impl<'a, Q: PteQuery, M: WalkMode> PteTable<'a, Q, M> {
    /// Builds the guard.
    ///
    /// # Safety
    ///
    /// The caller must have mapped and locked the table and entered lazy
    /// MMU mode as described in the type invariants (`start < end`), and
    /// hands all three over to the guard; with `M` = [`Protecting`], the
    /// VMA is registered for uffd-wp and does not map raw PFNs, and a
    /// protection change notifier covers `[start, end)` for the guard's
    /// lifetime.
    #[inline]
    pub(crate) unsafe fn new(
        ptep: *mut bindings::pte_t,
        ptl: *mut bindings::spinlock_t,
        vma: &'a VmaRef,
        start: usize,
        end: usize,
    ) -> Self {
        // INVARIANT: nothing read or written yet (`pos == batch`,
        // `len == 0`, no bit in `mask`, `present`, `last_run` or
        // `wp_pending`, empty
        // flush range).
        PteTable {
            ptep,
            ptl,
            vma,
            start,
            end,
            flush_start: 0,
            flush_end: 0,
            nr: (end - start) / PAGE_SIZE,
            pos: 0,
            batch: 0,
            len: 0,
            info: [0; BATCH],
            mask: 0,
            present: 0,
            last_run: 0,
            wp_pending: 0,
            _query: PhantomData,
        }
    }

    /// The table with its write-protect method, in a [`Protecting`] walk;
    /// `None` in a [`ReadOnly`] one.
    ///
    /// [`ReadOnly`]: crate::mm::pagewalk::ReadOnly
    #[inline(always)]
    pub fn protecting(&mut self) -> Option<&mut PteTable<'a, Q, Protecting>> {
        M::ptes(self)
    }

    /// Write-protects the entries of the last batch that
    /// [`PteTable::make_uffd_wp`] left pending; before a new batch is read
    /// and before the table is unlocked.
    #[inline(always)]
    fn protect_pending(&mut self) {
        // Constant false in a read-only walk: no code.
        if M::PROTECTING && self.wp_pending != 0 {
            self.protect_pending_slow();
        }
    }

    #[inline(never)]
    fn protect_pending_slow(&mut self) {
        let mask = self.wp_pending;
        let first = self.start + self.batch * PAGE_SIZE;
        // SAFETY: `M` is `Protecting` (`wp_pending` is 0 otherwise), so the
        // VMA is registered for uffd-wp and the notifier range is active;
        // the bits of `mask` are entries of the last batch, which lies in
        // the locked table, mapping `first` onwards.
        unsafe {
            bindings::ptes_make_uffd_wp_mask(
                vma_raw(self.vma),
                first as _,
                self.ptep.wrapping_add(self.batch),
                mask,
            )
        };
        self.wp_pending = 0;
        // INVARIANT: the flush range grows to cover what was changed.
        let lo = first + mask.trailing_zeros() as usize * PAGE_SIZE;
        let hi = first + (64 - mask.leading_zeros() as usize) * PAGE_SIZE;
        self.grow_flush_range(lo, hi);
    }

    /// Makes the TLB flush range cover `[lo, hi)` too.
    #[inline(always)]
    fn grow_flush_range(&mut self, lo: usize, hi: usize) {
        if self.flush_start == self.flush_end {
            self.flush_start = lo;
            self.flush_end = hi;
        } else {
            self.flush_start = core::cmp::min(self.flush_start, lo);
            self.flush_end = core::cmp::max(self.flush_end, hi);
        }
    }
}

impl<Q: PteQuery> PteTable<'_, Q, Protecting> {
    /// Write-protects the entries mapping `[addr, end)` for userfaultfd: a
    /// present page gets the uffd-wp bit, a swap entry its swap uffd-wp bit
    /// (a writable migration entry is made read-only too), an empty entry a
    /// uffd-wp pte marker. The part of the range outside the table is
    /// ignored. The TLB is flushed for what was changed before the table is
    /// unlocked.
    ///
    /// Entries of the batch the table read last are changed together, once
    /// per batch (before the next one is read, or the table unlocked): a
    /// harvest that protects scattered pages makes one call per batch.
    ///
    /// Only the tables of a [`Protecting`] walk have the method: the walk
    /// told MMU notifier subscribers about the change, and walks only VMAs
    /// registered for uffd-wp.
    ///
    /// # Examples
    ///
    /// A protecting walk skips a VMA that is not registered for uffd-wp: no
    /// table is lent, no entry changes and the pages stay writable. In a
    /// registered VMA it protects them:
    ///
    /// ```
    /// use kernel::mm::pagewalk::{kunit::{Backing, TestMapping}, pgtable::Classes, Ptes};
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // Calls `make_uffd_wp()` on every PTE table of the mapping in a
    /// // protecting walk: the tables, the tables locked, and the
    /// // pages write-protected afterwards (read back by a second walk,
    /// // which also shows that no table was left locked).
    /// fn protect(map: &TestMapping) -> Result<(usize, usize, usize)> {
    ///     let (mut tables, mut got, mut wp) = (0, 0, 0);
    ///     let mut walker = PmdWalker::protecting(|pmd, start, end| {
    ///         let r = pmd.with_ptes::<Classes, _>(start, end, |t| t.make_uffd_wp(start, end))?;
    ///         tables += 1;
    ///         got += usize::from(r == Ptes::Table(()));
    ///         Ok(())
    ///     });
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     let mut reader = PmdWalker::new(|pmd, start, end| {
    ///         let n = pmd.with_ptes::<Classes, _>(start, end, |t| {
    ///             let mut n = 0;
    ///             while let Some(run) = t.next_run() {
    ///                 if run.info.uffd_wp() {
    ///                     n += (run.end - run.addr) / PAGE_SIZE;
    ///                 }
    ///             }
    ///             n
    ///         })?;
    ///         if let Ptes::Table(n) = n {
    ///             wp += n;
    ///         }
    ///         Ok(())
    ///     });
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut reader)?;
    ///     Ok((tables, got, wp))
    /// }
    ///
    /// let map = TestMapping::new(4 * PAGE_SIZE, Backing::Pages, true)?;
    /// assert_eq!(protect(&map)?, (0, 0, 0));
    /// assert_eq!(map.write(map.start(), 1), Ok(()));
    ///
    /// map.register_uffd_wp()?;
    /// let (t, got, wp) = protect(&map)?;
    /// assert!(t >= 1 && got == t && wp == 4);
    /// assert_eq!(map.write(map.start(), 3), Err(EFAULT));
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn make_uffd_wp(&mut self, addr: usize, end: usize) {
        let addr = core::cmp::max(addr & !(PAGE_SIZE - 1), self.start);
        let end = core::cmp::min(end, self.end);
        if addr >= end {
            return;
        }
        let first = (addr - self.start) / PAGE_SIZE;
        let n = (end - addr).div_ceil(PAGE_SIZE);
        if first >= self.batch && first + n <= self.batch + self.len {
            // INVARIANT: entries of the last batch (`n <= len <= 64`, so
            // the shifts are in range): protected before the next batch
            // is read or the table unlocked.
            self.wp_pending |= (u64::MAX >> (64 - n)) << (first - self.batch);
            return;
        }
        self.protect_pending();
        // SAFETY: the entries of `[addr, end)` are in the locked table
        // (clamped to the range above) and belong to `vma`, which is
        // registered for uffd-wp; the notifier range is active
        // (`Protecting`).
        unsafe {
            bindings::ptes_make_uffd_wp(
                vma_raw(self.vma),
                addr as _,
                self.ptep.wrapping_add(first),
                n as u32,
            )
        };
        // INVARIANT: the flush range grows to cover what was changed.
        self.grow_flush_range(addr, addr + n * PAGE_SIZE);
    }
}

impl<Q: Classify, M: WalkMode> PteTable<'_, Q, M> {
    /// Reads and classifies the next batch, from `pos`.
    #[inline(never)]
    fn refill(&mut self) {
        // INVARIANT: `wp_pending` is 0 before `batch` changes.
        self.protect_pending();
        let n = core::cmp::min(batch_len(self.pos), self.nr - self.pos);
        match Q::SOURCE {
            ClassSource::PresenceMasks => {
                let mut present = 0;
                // SAFETY: entries `pos..pos + n` are in the locked table
                // (below `nr`), and `n <= 64`.
                let mask = unsafe {
                    bindings::ptes_presence(
                        self.ptep.wrapping_add(self.pos),
                        n as u32,
                        &mut present,
                    )
                };
                // INVARIANT: the bits of the `n` entries from `pos`.
                self.mask = mask;
                self.present = present;
            }
            ClassSource::Query(query) => {
                // The helper stores nothing for an empty entry: 0.
                self.info = [0; BATCH];
                // SAFETY: entries `pos..pos + n` are in the locked table
                // (below `nr`), mapping `start + pos * PAGE_SIZE` onwards,
                // and `info` has room for `BATCH >= n` bytes.
                unsafe {
                    bindings::ptes_query(
                        vma_raw(self.vma),
                        (self.start + self.pos * PAGE_SIZE) as _,
                        self.ptep.wrapping_add(self.pos),
                        n as u32,
                        self.info.as_mut_ptr(),
                        query,
                    )
                };
                // INVARIANT: `info[..n]` classifies the entries from `pos`.
            }
        }
        self.batch = self.pos;
        self.len = n;
    }

    /// The number of entries from `batch + i` (`i < len`) that are in the
    /// state of entry `batch + i` (at least 1), as far as the batch goes,
    /// and that state.
    #[inline(always)]
    fn same_from(&self, i: usize) -> (usize, u8) {
        match Q::SOURCE {
            ClassSource::PresenceMasks => {
                // Every entry whose bits differ from entry `i`'s: the run
                // ends at the first of them from `i` on. (`0 - bit` wraps
                // on purpose: all ones for a set bit.)
                let not_none = 0u64.wrapping_sub((self.mask >> i) & 1);
                let present = 0u64.wrapping_sub((self.present >> i) & 1);
                let differ = ((self.mask ^ not_none) | (self.present ^ present)) >> i;
                let b = if present != 0 {
                    bindings::PTE_INFO_PRESENT as u8
                } else if not_none != 0 {
                    bindings::PTE_INFO_SWAP as u8
                } else {
                    0
                };
                // `i < len`: no wrap.
                let n = core::cmp::min(differ.trailing_zeros() as usize, self.len.wrapping_sub(i));
                (n, b)
            }
            ClassSource::Query(_) => {
                let b = self.info[i];
                (same_prefix(&self.info[i..self.len], b), b)
            }
        }
    }

    /// The next run of entries with the same state, in address order.
    ///
    /// # Examples
    ///
    /// [`Presence`] (bits per batch) and [`Classes`] (a byte per entry)
    /// find the same present pages, in runs that cross batches and end on
    /// their boundaries (the first batch of a table has 4 entries, the
    /// others 64):
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{Backing, TestMapping},
    ///     pgtable::{Classes, Classify, Presence},
    ///     Ptes,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // The present ranges as query `Q` tells them, adjacent runs merged
    /// // (into an array: nothing may sleep under the table's lock).
    /// fn present<Q: Classify>(map: &TestMapping) -> Result<([(usize, usize); 8], usize)> {
    ///     let (mut v, mut n) = ([(0, 0); 8], 0);
    ///     {
    ///         let mut walker = PmdWalker::new(|pmd, start, end| {
    ///             let r = pmd.with_ptes::<Q, _>(start, end, |t| -> Result {
    ///                 while let Some(run) = t.next_run() {
    ///                     if !run.info.is_present() {
    ///                         continue;
    ///                     }
    ///                     if n > 0 && v[n - 1].1 == run.addr {
    ///                         v[n - 1].1 = run.end;
    ///                     } else {
    ///                         *v.get_mut(n).ok_or(E2BIG)? = (run.addr, run.end);
    ///                         n += 1;
    ///                     }
    ///                 }
    ///                 Ok(())
    ///             })?;
    ///             if let Ptes::Table(r) = r {
    ///                 r?;
    ///             }
    ///             Ok(())
    ///         });
    ///         let mut guard = map.mm().mmap_read_lock_killable()?;
    ///         let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     }
    ///     Ok((v, n))
    /// }
    ///
    /// let map = TestMapping::new(150 * PAGE_SIZE, Backing::Pages, false)?;
    /// let pages = [0, 3, 4, 5, 6, 7, 8, 63, 64, 67, 68, 69, 70, 71, 72, 130];
    /// for i in pages {
    ///     map.write(map.start() + i * PAGE_SIZE, 1)?;
    /// }
    /// for i in 132..150 {
    ///     map.write(map.start() + i * PAGE_SIZE, 1)?;
    /// }
    /// let (runs, n) = present::<Presence>(&map)?;
    /// assert_eq!((runs, n), present::<Classes>(&map)?);
    /// let at = |i: usize| map.start() + i * PAGE_SIZE;
    /// let want = [(0, 1), (3, 9), (63, 65), (67, 73), (130, 131), (132, 150)];
    /// assert_eq!(n, want.len());
    /// for (r, w) in runs.iter().zip(want) {
    ///     assert_eq!(*r, (at(w.0), at(w.1)));
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn next_run(&mut self) -> Option<PteRun> {
        if Q::SOURCE == ClassSource::PresenceMasks {
            return self.next_run_masks();
        }
        if self.pos == self.nr {
            return None;
        }
        if self.pos == self.batch + self.len {
            self.refill();
        }
        let first = self.pos;
        let b = self.info[self.pos - self.batch];
        loop {
            let i = self.pos - self.batch;
            self.pos += same_prefix(&self.info[i..self.len], b);
            if self.pos < self.batch + self.len || self.pos == self.nr {
                break;
            }
            self.refill();
        }
        Some(PteRun {
            addr: self.start + first * PAGE_SIZE,
            end: self.start + self.pos * PAGE_SIZE,
            info: PteInfo(b),
        })
    }

    /// [`PteTable::next_run`] on the bits of [`Presence`].
    ///
    /// No sum or difference here wraps, by the type invariants: `batch <=
    /// pos <= batch + len <= nr`, `same_from()` counts within its batch,
    /// and entry `nr` would map `end`.
    #[inline(always)]
    fn next_run_masks(&mut self) -> Option<PteRun> {
        if self.pos == self.nr {
            return None;
        }
        if self.pos == self.batch.wrapping_add(self.len) {
            self.refill();
        }
        let first = self.pos;
        let (n, b) = self.same_from(self.pos.wrapping_sub(self.batch));
        self.pos = self.pos.wrapping_add(n);
        // A run that reaches the end of the batch may go on in the next.
        while self.pos == self.batch.wrapping_add(self.len) && self.pos != self.nr {
            self.refill();
            let (n, next) = self.same_from(0);
            if next != b {
                break;
            }
            self.pos = self.pos.wrapping_add(n);
        }
        Some(PteRun {
            addr: self.start.wrapping_add(first << PAGE_SHIFT),
            end: self.start.wrapping_add(self.pos << PAGE_SHIFT),
            info: PteInfo(b),
        })
    }
}

/// The frames of up to [`FRAMES_BATCH`] consecutive entries of a table
/// ([`PteTable::next_frames`]): entry `i` maps `addr() + i * PAGE_SIZE`, and
/// has a frame unless it is empty.
pub struct FrameBatch<'o> {
    addr: usize,
    len: usize,
    mask: u64,
    frames: &'o [PteFrame; FRAMES_BATCH],
}

impl FrameBatch<'_> {
    /// The address the first entry maps.
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The number of entries (at least one).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bit `i` is set if entry `i` is not empty (`pte_none()`).
    #[inline]
    pub fn non_empty(&self) -> u64 {
        self.mask
    }

    /// The frame of entry `i`; `None` if it is empty or past the batch.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&PteFrame> {
        if i < self.len && self.mask & (1 << i) != 0 {
            self.frames.get(i)
        } else {
            None
        }
    }

    /// The entries in order: each one's frame, `None` for an empty one.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = Option<&PteFrame>> + '_ {
        let mask = self.mask;
        self.frames[..self.len]
            .iter()
            .enumerate()
            .map(move |(i, f)| (mask >> i & 1 != 0).then_some(f))
    }
}

/// The most entries [`PteTable::next_frames`] reads at once.
pub const FRAMES_BATCH: usize = BATCH;

impl<M: WalkMode> PteTable<'_, Frames, M> {
    /// Reads the next entries, up to [`FRAMES_BATCH`], into `out`: a batch
    /// of consecutive entries in address order, whose empty entries cost no
    /// frame; `None` once every entry was read.
    ///
    /// # Examples
    ///
    /// Every page of a mapping written to is present, anonymous and mapped
    /// by this process only, with a PFN:
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{Backing, TestMapping},
    ///     pgtable::{Frames, PteFrame, FRAMES_BATCH},
    ///     Ptes,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // (entries, present, exclusive, with a PFN, of a file) of the mapping.
    /// fn frames(map: &TestMapping) -> Result<[usize; 5]> {
    ///     let mut n = [0; 5];
    ///     let mut walker = PmdWalker::new(|pmd, start, end| {
    ///         let r = pmd.with_ptes::<Frames, _>(start, end, |t| {
    ///             let mut out = [PteFrame::default(); FRAMES_BATCH];
    ///             let mut next = start;
    ///             while let Some(batch) = t.next_frames(&mut out) {
    ///                 assert_eq!(batch.addr(), next);
    ///                 next += batch.len() * PAGE_SIZE;
    ///                 for f in (0..batch.len()).filter_map(|i| batch.get(i)) {
    ///                     n[0] += 1;
    ///                     n[1] += usize::from(f.info().is_present());
    ///                     n[2] += usize::from(f.mapped_exclusively());
    ///                     n[3] += usize::from(f.pfn().is_some());
    ///                     n[4] += usize::from(f.info().maps_file());
    ///                 }
    ///             }
    ///             assert_eq!(next, end);
    ///         })?;
    ///         assert!(matches!(r, Ptes::Table(())));
    ///         Ok(())
    ///     });
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     Ok(n)
    /// }
    ///
    /// let map = TestMapping::new(8 * PAGE_SIZE, Backing::Pages, true)?;
    /// assert_eq!(frames(&map)?, [8, 8, 8, 8, 0]);
    /// // Unpopulated: every entry is empty (or there is no table at all).
    /// let map = TestMapping::new(8 * PAGE_SIZE, Backing::Pages, false)?;
    /// assert_eq!(frames(&map)?[0], 0);
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn next_frames<'o>(
        &mut self,
        out: &'o mut [PteFrame; FRAMES_BATCH],
    ) -> Option<FrameBatch<'o>> {
        let n = core::cmp::min(FRAMES_BATCH, self.nr - self.pos);
        if n == 0 {
            return None;
        }
        let addr = self.start + self.pos * PAGE_SIZE;
        // SAFETY: entries `pos..pos + n` are in the locked table (below
        // `nr`), mapping `addr` onwards in `vma`; `out` has room for
        // `n <= 64` frames (`PteFrame` is a transparent `struct pte_frame`).
        let mask = unsafe {
            bindings::ptes_frames(
                vma_raw(self.vma),
                addr as _,
                self.ptep.wrapping_add(self.pos),
                n as u32,
                out.as_mut_ptr().cast(),
            )
        };
        // INVARIANT: the next entry to read; `batch` follows, `len` is 0.
        // `wp_pending` is 0: with `len` 0 `make_uffd_wp()` never defers,
        // and `make_uffd_wp_last_run()` is `Protection`'s only.
        self.pos += n;
        self.batch = self.pos;
        Some(FrameBatch {
            addr,
            len: n,
            mask,
            frames: out,
        })
    }
}

impl<M: WalkMode> PteTable<'_, Protection, M> {
    /// Reads the next batch, from the end of the last one, into `mask`.
    #[inline(never)]
    fn refill_mask(&mut self) {
        // INVARIANT: `wp_pending` is 0 before `batch` changes.
        self.protect_pending();
        let from = self.batch + self.len;
        let n = core::cmp::min(batch_len(from), self.nr - from);
        // SAFETY: entries `from..from + n` are in the locked table (below
        // `nr`), and `n <= 64`.
        let mask = unsafe { bindings::ptes_unprotected(self.ptep.wrapping_add(from), n as u32) };
        // INVARIANT: `mask` has a bit for each entry of the new batch; no
        // run of it was yielded yet.
        self.batch = from;
        self.len = n;
        self.mask = mask;
        self.last_run = 0;
    }

    /// The next run of entries that are not write-protected for
    /// userfaultfd, in address order, as the range `(addr, end)` they map.
    /// Runs end at batch boundaries: a caller that wants maximal runs
    /// merges adjacent ones.
    #[inline]
    pub fn next_unprotected(&mut self) -> Option<(usize, usize)> {
        while self.mask == 0 {
            if self.batch + self.len == self.nr {
                return None;
            }
            self.refill_mask();
        }
        let m = self.mask;
        // Adding the lowest set bit carries through the lowest run of ones:
        // what is left is the mask without that run.
        let rest = m & m.wrapping_add(m & m.wrapping_neg());
        let run = m ^ rest;
        // INVARIANT: the run is yielded, and its bits (of the batch) kept.
        self.mask = rest;
        self.last_run = run;
        let first = self.batch + run.trailing_zeros() as usize;
        let past = self.batch + 64 - run.leading_zeros() as usize;
        // Cannot overflow: the bits of `mask` are below `len`, so
        // `past <= batch + len <= nr`, and entry `nr` would map `end` (type
        // invariant): neither shift nor sum wraps.
        Some((
            self.start.wrapping_add(first << PAGE_SHIFT),
            self.start.wrapping_add(past << PAGE_SHIFT),
        ))
    }
}

impl PteTable<'_, Protection, Protecting> {
    /// Write-protects the whole run [`PteTable::next_unprotected`] yielded
    /// last, as [`PteTable::make_uffd_wp`] would for its range; nothing if
    /// no run was yielded since the last batch was read, or if this method
    /// protected the run already. The cheap way for a harvest that reports
    /// a run whole.
    ///
    /// # Examples
    ///
    /// A harvest protects what it finds, so a second one finds nothing; a
    /// [`Presence`] read still sees every page present (and, as that query
    /// reads no uffd bit, none of them protected):
    ///
    /// ```
    /// use kernel::mm::pagewalk::{
    ///     kunit::{Backing, TestMapping},
    ///     pgtable::{Presence, Protection},
    ///     Ptes,
    /// };
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // The pages found not write-protected, each run protected whole.
    /// fn harvest(map: &TestMapping) -> Result<usize> {
    ///     let mut found = 0;
    ///     let mut walker = PmdWalker::protecting(|pmd, start, end| {
    ///         let r = pmd.with_ptes::<Protection, _>(start, end, |t| {
    ///             let mut n = 0;
    ///             while let Some((addr, end)) = t.next_unprotected() {
    ///                 n += (end - addr) / PAGE_SIZE;
    ///                 t.make_uffd_wp_last_run();
    ///             }
    ///             n
    ///         })?;
    ///         if let Ptes::Table(n) = r {
    ///             found += n;
    ///         }
    ///         Ok(())
    ///     });
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut walker)?;
    ///     Ok(found)
    /// }
    ///
    /// // (present, protected) pages as a Presence read tells them.
    /// fn presence(map: &TestMapping) -> Result<(usize, usize)> {
    ///     let (mut present, mut wp) = (0, 0);
    ///     let mut reader = PmdWalker::new(|pmd, start, end| {
    ///         let r = pmd.with_ptes::<Presence, _>(start, end, |t| {
    ///             let (mut p, mut w) = (0, 0);
    ///             while let Some(run) = t.next_run() {
    ///                 let n = (run.end - run.addr) / PAGE_SIZE;
    ///                 p += if run.info.is_present() { n } else { 0 };
    ///                 w += if run.info.uffd_wp() { n } else { 0 };
    ///             }
    ///             (p, w)
    ///         })?;
    ///         if let Ptes::Table((p, w)) = r {
    ///             present += p;
    ///             wp += w;
    ///         }
    ///         Ok(())
    ///     });
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut reader)?;
    ///     Ok((present, wp))
    /// }
    ///
    /// // Nine pages: more than the first batch a table reads, so runs are
    /// // protected both when the next batch is read and at the unlock.
    /// let map = TestMapping::new(9 * PAGE_SIZE, Backing::Pages, true)?;
    /// map.register_uffd_wp()?;
    /// assert_eq!(harvest(&map)?, 9);
    /// assert_eq!(harvest(&map)?, 0);
    /// assert_eq!(map.write(map.start() + 8 * PAGE_SIZE, 1), Err(EFAULT));
    /// assert_eq!(presence(&map)?, (9, 0));
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn make_uffd_wp_last_run(&mut self) {
        // INVARIANT: `last_run` holds entries of the last batch read.
        self.wp_pending |= self.last_run;
        self.last_run = 0;
    }
}

impl<Q: PteQuery, M: WalkMode> Drop for PteTable<'_, Q, M> {
    #[inline]
    fn drop(&mut self) {
        self.protect_pending();
        if self.flush_start != self.flush_end {
            // Under the lock, as C's walkers do: no CPU may keep writing
            // through a stale entry once another thread can see the
            // protected one.
            self.vma.flush_tlb_range(self.flush_start, self.flush_end);
        }
        // SAFETY: mapped, locked and in lazy MMU mode by the type invariant.
        unsafe { bindings::pte_table_unlock(self.ptep, self.ptl) };
    }
}

/// A huge (transparent huge page) PMD, locked (`pmd_trans_huge_lock()`).
///
/// Lent to a closure by [`PmdEntry::with_huge`], which unlocks it when the
/// closure returns. It carries the PMD's address, so that what it changes,
/// flushes and announces is always the range this PMD maps.
///
/// [`PmdEntry::with_huge`]: crate::mm::pagewalk::PmdEntry::with_huge
///
/// # Invariants
///
/// `pmdp` is a huge or swap PMD of `vma` mapping `[addr, addr + PMD_SIZE)`
/// (`addr` PMD aligned, the range inside `vma`) whose lock `ptl` is held,
/// and `info` its state, read under that lock; `whole` says whether the
/// walk covers all of it. If `M` is [`Protecting`], `vma` is registered for
/// uffd-wp and does not map raw PFNs, and an MMU notifier
/// protection-change range covering the whole PMD is active (a protecting
/// walk announces its range widened to PMD boundaries).
pub struct PmdHugeLock<'a, M: WalkMode> {
    pmdp: *mut bindings::pmd_t,
    ptl: *mut bindings::spinlock_t,
    vma: &'a VmaRef,
    addr: usize,
    whole: bool,
    info: PteInfo,
    _mode: PhantomData<M>,
}

impl<'a, M: WalkMode> PmdHugeLock<'a, M> {
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
        addr: usize,
        whole: bool,
        info: u8,
    ) -> Self {
        PmdHugeLock {
            pmdp,
            ptl,
            vma,
            addr,
            whole,
            info: PteInfo(info),
            _mode: PhantomData,
        }
    }

    /// The address the huge PMD maps from.
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The state of the entry when it was locked; it cannot change while
    /// locked but for the accessed and dirty bits.
    #[inline]
    pub fn info(&self) -> PteInfo {
        self.info
    }

    /// The frame of the huge PMD, as of its first page: page `i` of the PMD
    /// has the PFN (or swap offset) plus `i`. [`PteFrame::mapped_exclusively`]
    /// is the first page's; [`PmdHugeLock::pages_mapped_exclusively`] tells
    /// each page's.
    #[inline]
    pub fn frame(&self) -> PteFrame {
        let mut frame = PteFrame::default();
        // SAFETY: the PMD is locked and maps `addr` of `vma` (type
        // invariant); `frame` is a valid `struct pte_frame` to write.
        unsafe {
            bindings::pmd_frame(
                vma_raw(self.vma),
                self.addr as _,
                self.pmdp,
                (&mut frame as *mut PteFrame).cast(),
            )
        };
        frame
    }

    /// Bit `i` is set if page `first + i` of the present huge PMD (of its
    /// `PMD_SIZE / PAGE_SIZE`), for `i` below `n` (at most 64), is mapped
    /// exclusively, by the rule of the tree's `/proc/PID/pagemap`. Bits of
    /// pages past the PMD are clear.
    #[inline]
    pub fn pages_mapped_exclusively(&self, first: usize, n: usize) -> u64 {
        let pages = super::PMD_SIZE / PAGE_SIZE;
        let n = core::cmp::min(core::cmp::min(n, 64), pages.saturating_sub(first));
        if n == 0 {
            return 0;
        }
        // SAFETY: the PMD is locked and maps `addr` of `vma` (type
        // invariant); `first + n` is at most the PMD's pages, so both fit a
        // `u32`, and `n <= 64`.
        unsafe {
            bindings::pmd_pages_exclusive(
                vma_raw(self.vma),
                self.addr as _,
                self.pmdp,
                first as u32,
                n as u32,
            )
        }
    }

    /// The huge PMD with its write-protect method, in a [`Protecting`]
    /// walk; `None` in a [`ReadOnly`] one.
    ///
    /// [`ReadOnly`]: crate::mm::pagewalk::ReadOnly
    #[inline(always)]
    pub fn protecting(&self) -> Option<&PmdHugeLock<'a, Protecting>> {
        M::huge(self)
    }
}

impl PmdHugeLock<'_, Protecting> {
    /// Write-protects the whole huge PMD for userfaultfd and flushes its
    /// TLB entries. Migration entries get the swap uffd-wp bit and are made
    /// read-only; other non-present entries are left alone.
    ///
    /// Only a [`Protecting`] walk's huge PMDs have the method; `EPERM`
    /// unless the walk covers the whole PMD: the change is of all of it,
    /// and must not reach outside the walked range (a walker that wants a
    /// part protected splits the THP first).
    ///
    /// # Examples
    ///
    /// A protecting walk skips a VMA not registered for uffd-wp; in a
    /// registered VMA, a walk that covers only a part of the PMD is
    /// refused: the huge page stays huge, unprotected and writable.
    ///
    /// ```
    /// use kernel::mm::pagewalk::{kunit::{Backing, TestMapping}, PMD_SIZE};
    /// kernel::mm_test_walkers!();
    /// use kernel::page::PAGE_SIZE;
    ///
    /// // Calls `make_uffd_wp()` on each huge PMD of `[start, end)` in a
    /// // protecting walk: the huge PMDs, the calls that returned `want`,
    /// // and the huge PMDs of the mapping write-protected afterwards.
    /// fn protect(
    ///     map: &TestMapping,
    ///     (start, end): (usize, usize),
    ///     want: Result,
    /// ) -> Result<(usize, usize, usize)> {
    ///     let (mut huge, mut got, mut wp) = (0, 0, 0);
    ///     let mut walker = PmdWalker::protecting(|pmd, _, _| {
    ///         if let Some(r) = pmd.with_huge(false, |h| h.make_uffd_wp()) {
    ///             huge += 1;
    ///             got += usize::from(r == want);
    ///         }
    ///         Ok(())
    ///     });
    ///     let mut guard = map.mm().mmap_read_lock_killable()?;
    ///     let _ = guard.walk_page_range(start, end, &mut walker)?;
    ///     let mut reader = PmdWalker::new(|pmd, _, _| {
    ///         wp += usize::from(pmd.with_huge(false, |h| h.info().uffd_wp()) == Some(true));
    ///         Ok(())
    ///     });
    ///     let _ = guard.walk_page_range(map.start(), map.end(), &mut reader)?;
    ///     Ok((huge, got, wp))
    /// }
    ///
    /// // Two PMDs' worth, faulted in: one whole PMD at least is a THP
    /// // (`CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS`).
    /// let map = TestMapping::new(2 * PMD_SIZE, Backing::Pages, true)?;
    /// let thp = (map.start() + PMD_SIZE - 1) & !(PMD_SIZE - 1);
    /// let whole = (thp, thp + PMD_SIZE);
    /// assert_eq!(protect(&map, whole, Ok(()))?, (0, 0, 0));
    ///
    /// map.register_uffd_wp()?;
    /// assert_eq!(protect(&map, (thp + PAGE_SIZE, thp + PMD_SIZE), Err(EPERM))?, (1, 1, 0));
    /// assert_eq!(map.write(thp, 1), Ok(()));
    ///
    /// assert_eq!(protect(&map, whole, Ok(()))?, (1, 1, 1));
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn make_uffd_wp(&self) -> Result<(), Error> {
        if !self.whole {
            return Err(EPERM);
        }
        let vma = vma_raw(self.vma);
        let addr = self.addr;
        // SAFETY: the PMD is locked, maps `addr` and belongs to `vma`, which
        // is registered for uffd-wp (type invariant), so it is still
        // present, or still a swap entry, as `info` says; the notifier range
        // covers the whole PMD (`Protecting`).
        unsafe {
            if self.info.is_present() {
                let old = bindings::pmdp_invalidate_ad(vma, addr as _, self.pmdp);
                let new = bindings::pmd_mkuffd_wp(old);
                bindings::set_pmd_at((*vma).vm_mm, addr as _, self.pmdp, new);
            } else if self.info.is_swap() {
                let pmd = bindings::pmdp_get(self.pmdp);
                if bindings::pmd_is_migration_entry(pmd) {
                    // Read-only as well as uffd-wp, as for PTEs.
                    let new = bindings::pmd_swp_mkuffd_wp_readonly(pmd);
                    bindings::set_pmd_at((*vma).vm_mm, addr as _, self.pmdp, new);
                }
            }
        }
        self.vma.flush_tlb_range(addr, addr + super::PMD_SIZE);
        Ok(())
    }
}

impl<M: WalkMode> Drop for PmdHugeLock<'_, M> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: held by the type invariant.
        unsafe { bindings::spin_unlock(self.ptl) };
    }
}
