// SPDX-License-Identifier: GPL-2.0

//! The parts of PAGEMAP_SCAN that do not touch the kernel: argument
//! validation, category matching and the output buffer with region
//! coalescing. Plain `core` code, so the same file is unit-tested on the
//! host (`tools/pagemap-scan-logic`), and free of `unsafe`.
//!
//! What depends on the machine comes from the parent module: the ABI types
//! `PageRegion` and `PmScanArg` and the `PAGE_IS_*` and `PM_SCAN_*` bits,
//! `PAGE_SHIFT`, `BOUNCE_ENTRIES` (C's bounce
//! buffer holds one entry per page of a PMD) and `SIZE_MAX`. The module
//! takes them from the kernel; the host tests instantiate this file once
//! per geometry (4K pages and 64-bit, 16K and 64K pages, 32-bit).

use super::{PageRegion, BOUNCE_ENTRIES, PAGE_SHIFT, SIZE_MAX};
use core::ops::DerefMut;

// The uapi's constants, which the parent takes from the kernel's `uapi`
// crate (the module) or the host crate's transcription (the host tests).
use super::{
    PAGE_IS_ACCESSED, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_PFNZERO, PAGE_IS_PRESENT,
    PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED, PAGE_IS_WRITTEN, PM_SCAN_CHECK_WPASYNC,
    PM_SCAN_WP_MATCHING,
};

/// What a kernel tree's PAGEMAP_SCAN reports, where the trees differ: the
/// C code of each tree is the reference, so the module takes its tree's
/// semantics as a value (`#[cfg]` picks it in one place) and the host tests
/// check both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Semantics {
    /// `PM_SCAN_CATEGORIES`: every category the tree knows; a mask bit
    /// outside it is `EINVAL`.
    pub(crate) categories: u64,
    /// `PAGE_IS_WRITTEN` only in VMAs registered for uffd-wp. 6.12 reports
    /// any entry without the uffd bit (and any empty entry) as written,
    /// whatever the VMA.
    pub(crate) written_needs_uffd_wp: bool,
}

impl Semantics {
    /// Linux 6.12.
    pub(crate) const LINUX_6_12: Semantics = Semantics {
        categories: 0xff,
        written_needs_uffd_wp: false,
    };
    /// Linux 7.3: `PAGE_IS_GUARD` and `PAGE_IS_ACCESSED`, and `WRITTEN`
    /// gated on uffd-wp VMAs.
    pub(crate) const LINUX_7_3: Semantics = Semantics {
        categories: 0x3ff,
        written_needs_uffd_wp: true,
    };

    /// Whether an entry without the uffd bit (or an empty one) in a VMA
    /// with `vma` reads as written.
    #[inline(always)]
    pub(crate) fn written_in(self, vma: VmaUffd) -> bool {
        !self.written_needs_uffd_wp || vma.wp
    }

    /// The categories of a page mapped by entry `e` in a VMA with `vma`, as
    /// `pagemap_page_category()` computes them, without the VMA's own
    /// categories (WPALLOWED, SOFT_DIRTY). `PAGE_IS_FILE` only if `e` was
    /// read asking for it.
    #[inline(always)]
    pub(crate) fn page_categories<E: Entry>(self, vma: VmaUffd, e: E) -> u64 {
        if e.is_none() {
            // No uffd bit, so not protected; never ACCESSED (not part of
            // an RWP working set).
            return if self.written_in(vma) {
                PAGE_IS_WRITTEN
            } else {
                0
            };
        }
        let mut c = if e.is_present() {
            PAGE_IS_PRESENT
        } else {
            PAGE_IS_SWAPPED
        };
        if !e.uffd() {
            if self.written_in(vma) {
                c |= PAGE_IS_WRITTEN;
            }
            if vma.rwp {
                c |= PAGE_IS_ACCESSED;
            }
        }
        if e.zero_pfn() {
            c |= PAGE_IS_PFNZERO;
        }
        if e.soft_dirty() {
            c |= PAGE_IS_SOFT_DIRTY;
        }
        if e.guard() {
            c |= PAGE_IS_GUARD;
        } else if e.maps_file() {
            c |= PAGE_IS_FILE;
        }
        c
    }

    /// The categories of a THP or hugetlb page mapped by entry `e`, but
    /// `PAGE_IS_HUGE`: as for other pages, except that an empty entry has
    /// none (`pagemap_thp_category()`, `pagemap_hugetlb_category()`).
    #[inline(always)]
    pub(crate) fn huge_categories<E: Entry>(self, vma: VmaUffd, e: E) -> u64 {
        if e.is_none() {
            return 0;
        }
        self.page_categories(vma, e)
    }
}

/// The state of a page table entry, as far as categories depend on it (the
/// kernel's `PteInfo` in the module, a model in the host tests).
pub(crate) trait Entry: Copy {
    /// `pte_none()`.
    fn is_none(self) -> bool;
    /// `pte_present()`; neither this nor `is_none()`: a swap-like entry.
    fn is_present(self) -> bool;
    /// The uffd bit: `pte_uffd()` of a present entry, `pte_swp_uffd_any()`
    /// (bit or marker) of a swap-like one.
    fn uffd(self) -> bool;
    /// A present entry of the zero page (or the huge zero page).
    fn zero_pfn(self) -> bool;
    /// The soft-dirty bit of a present or swap-like entry.
    fn soft_dirty(self) -> bool;
    /// The entry maps a file page (when read asking for it).
    fn maps_file(self) -> bool;
    /// A guard region marker (never on 6.12).
    fn guard(self) -> bool;
}

/// What a VMA's userfaultfd registration says of its pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VmaUffd {
    /// `userfaultfd_wp(vma)`.
    pub(crate) wp: bool,
    /// `userfaultfd_rwp(vma)` (never on 6.12).
    pub(crate) rwp: bool,
}

/// All flags.
pub(crate) const PM_SCAN_FLAGS: u64 = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;

/// `sizeof(struct pm_scan_arg)`.
pub(crate) const PM_SCAN_ARG_SIZE: u64 = 96;
/// `sizeof(struct page_region)`.
pub(crate) const PAGE_REGION_SIZE: u64 = 24;
/// Base page size.
pub(crate) const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;

/// Why [`validate`] refuses the arguments, as C's errno says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgError {
    /// `EINVAL`: a bad size, flag, mask or range.
    Inval,
    /// `EFAULT`: the range or the output array is not user memory.
    Fault,
}

/// `struct pm_scan_arg` as read from user space. The crate root provides
/// it (the kernel crate's `PmScanArg` in the module, a copy of that layout
/// on the host), so that the argument is validated where it was read to.
pub(crate) use super::PmScanArg as RawArgs;

/// Validated arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Args {
    /// The tree's semantics the scan follows.
    pub(crate) sem: Semantics,
    pub(crate) flags: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) vec: u64,
    pub(crate) vec_len: u64,
    pub(crate) max_pages: u64,
    pub(crate) category_inverted: u64,
    pub(crate) category_mask: u64,
    pub(crate) category_anyof_mask: u64,
    pub(crate) return_mask: u64,
}

impl Args {
    /// Whether matching pages are write-protected.
    pub(crate) fn wp_matching(&self) -> bool {
        self.flags & PM_SCAN_WP_MATCHING != 0
    }

    /// Whether a VMA without async uffd-wp is an error.
    pub(crate) fn check_wpasync(&self) -> bool {
        self.flags & PM_SCAN_CHECK_WPASYNC != 0
    }

    /// The categories the scan looks at: others need not be computed.
    pub(crate) fn masks_of_interest(&self) -> u64 {
        self.category_mask | self.category_anyof_mask | self.return_mask
    }

    /// The PAGE_IS_WRITTEN fast path in a VMA with `vma`: the scan asks
    /// only for written pages and reports only that, so the per-page work
    /// reduces to the uffd bit. On 7.3 only in uffd-wp VMAs, like C.
    pub(crate) fn written_fast_path(&self, vma: VmaUffd) -> bool {
        self.written_only() && (!self.sem.written_needs_uffd_wp || vma.wp)
    }

    /// The scan asks only for written pages and reports only that.
    pub(crate) fn written_only(&self) -> bool {
        self.category_anyof_mask == 0
            && self.category_inverted == 0
            && self.category_mask == PAGE_IS_WRITTEN
            && self.return_mask == PAGE_IS_WRITTEN
    }

    /// Whether a page with `categories` matches.
    pub(crate) fn is_interesting_page(&self, categories: u64) -> bool {
        let c = categories ^ self.category_inverted;
        if c & self.category_mask != self.category_mask {
            return false;
        }
        self.category_anyof_mask == 0 || c & self.category_anyof_mask != 0
    }

    /// Whether a VMA with `categories` (WPALLOWED, SOFT_DIRTY) can contain
    /// a matching page: only the WPALLOWED requirement is decided per VMA.
    pub(crate) fn is_interesting_vma(&self, categories: u64) -> bool {
        let required = self.category_mask & PAGE_IS_WPALLOWED;
        (categories ^ self.category_inverted) & required == required
    }
}

/// Validates `raw` in the order and with the errno of the C
/// implementation of the tree with `sem`. `access_ok(addr, size)` and
/// `untag(addr)` are the kernel's checks of user addresses.
pub(crate) fn validate(
    raw: &RawArgs,
    sem: Semantics,
    access_ok: impl Fn(u64, u64) -> bool,
    untag: impl Fn(u64) -> u64,
) -> Result<Args, ArgError> {
    if raw.size != PM_SCAN_ARG_SIZE {
        return Err(ArgError::Inval);
    }
    if raw.flags & !PM_SCAN_FLAGS != 0 {
        return Err(ArgError::Inval);
    }
    let masks =
        raw.category_inverted | raw.category_mask | raw.category_anyof_mask | raw.return_mask;
    if masks & !sem.categories != 0 {
        return Err(ArgError::Inval);
    }
    let start = untag(raw.start);
    let end = untag(raw.end);
    let vec = untag(raw.vec);
    if start % PAGE_SIZE != 0 {
        return Err(ArgError::Inval);
    }
    if !access_ok(start, end.wrapping_sub(start)) {
        return Err(ArgError::Fault);
    }
    if vec == 0 && raw.vec_len != 0 {
        return Err(ArgError::Inval);
    }
    // Where size_t is 32 bits, a longer array cannot be addressed
    // (vec_len > SIZE_MAX).
    if SIZE_MAX
        .checked_add(1)
        .is_some_and(|limit| raw.vec_len >= limit)
    {
        return Err(ArgError::Inval);
    }
    // size_mul() saturates at SIZE_MAX.
    let vec_size = core::cmp::min(raw.vec_len.saturating_mul(PAGE_REGION_SIZE), SIZE_MAX);
    if vec != 0 && !access_ok(vec, vec_size) {
        return Err(ArgError::Fault);
    }
    Ok(Args {
        sem,
        flags: raw.flags,
        start,
        // ALIGN(end, PAGE_SIZE); access_ok() above keeps it from wrapping.
        end: end.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1),
        vec,
        vec_len: raw.vec_len,
        // ULONG_MAX, which is SIZE_MAX on Linux.
        max_pages: if raw.max_pages == 0 {
            SIZE_MAX
        } else {
            raw.max_pages
        },
        category_inverted: raw.category_inverted,
        category_mask: raw.category_mask,
        category_anyof_mask: raw.category_anyof_mask,
        return_mask: raw.return_mask,
    })
}

/// The storage of the bounce buffer: entries that exist up to `len()`, and
/// room to append more without allocating, so that the buffer need not be
/// filled before the walk (most scans use few entries).
pub(crate) trait RegionBuf: DerefMut<Target = [PageRegion]> {
    /// The number of entries it can hold.
    fn room(&self) -> usize;

    /// Stores `r` at index `i <= len()`, appending it at `len()`; false if
    /// there is no room for it.
    fn put(&mut self, i: usize, r: PageRegion) -> bool;
}

/// The walk must stop: the output is full (`ENOSPC` in C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Full;

/// The bounce buffer between the walk (under the mmap lock) and the user
/// array (copied to after the lock is dropped), with the accounting of
/// `max_pages` and `vec_len`.
///
/// Adjacent regions with equal categories are merged. The walk stops when
/// a new region does not fit or `max_pages` is reached; `walk_end` then
/// says where.
pub(crate) struct Output<B> {
    /// The entries; `None` when the caller gave no user array.
    buf: Option<B>,
    /// Entries usable in `buf` now: `min(BOUNCE_ENTRIES, vec_len left)`.
    len: usize,
    /// Index of the current (last) entry, which exists in `buf` (see
    /// `reset_current`); an empty entry has `end == 0`.
    idx: usize,
    /// User array entries left.
    pub(crate) vec_left: u64,
    /// Pages reported so far.
    pub(crate) found_pages: u64,
    max_pages: u64,
    return_mask: u64,
    /// Where the walk stopped; `None` while it did not.
    pub(crate) walk_end: Option<u64>,
}

impl<B: RegionBuf> Output<B> {
    /// An output for `args`; `buf` must have room for `bounce_len(args)`
    /// entries.
    pub(crate) fn new(args: &Args, buf: Option<B>) -> Self {
        let mut out = Output {
            len: buf
                .as_ref()
                .map_or(0, |b| core::cmp::min(b.room(), Self::bounce_len(args))),
            buf,
            idx: 0,
            vec_left: args.vec_len,
            found_pages: 0,
            max_pages: args.max_pages,
            return_mask: args.return_mask,
            walk_end: None,
        };
        out.reset_current();
        out
    }

    /// Entries the bounce buffer needs for `args`: as many as C's, so that
    /// every pass stops where C's does, and the user array is written in
    /// the same pieces (a fault in it fails the same pass; an array inside
    /// the scanned range changes at the same points of the walk).
    pub(crate) fn bounce_len(args: &Args) -> usize {
        to_usize(core::cmp::min(BOUNCE_ENTRIES, args.vec_len))
    }

    /// Whether the caller gave a user array.
    pub(crate) fn has_vec(&self) -> bool {
        self.buf.is_some()
    }

    /// Makes entry 0 the current one, empty. With no room at all, there is
    /// no entry: `len` is 0 and nothing is ever stored.
    fn reset_current(&mut self) {
        if let Some(b) = self.buf.as_mut() {
            let empty = PageRegion {
                start: 0,
                end: 0,
                categories: 0,
            };
            if !b.put(0, empty) {
                self.len = 0;
            }
        }
    }

    #[inline]
    fn push_range(&mut self, categories: u64, addr: u64, end: u64) -> bool {
        let (idx, len) = (self.idx, self.len);
        let Some(b) = self.buf.as_mut() else {
            return false;
        };
        let Some(cur) = b.get_mut(idx) else {
            return false;
        };
        if addr == cur.end && categories == cur.categories {
            cur.end = end;
            return true;
        }
        let mut i = idx;
        if cur.end != 0 {
            if idx + 1 >= len {
                return false;
            }
            i += 1;
        }
        let r = PageRegion {
            start: addr,
            end,
            categories,
        };
        if !b.put(i, r) {
            return false;
        }
        self.idx = i;
        true
    }

    /// Reports `[addr, *end)` with `categories`. On `Err(Full)` the region
    /// was cut (`*end` says where it now ends, possibly at `addr`) and the
    /// walk must stop at `walk_end`.
    #[inline]
    pub(crate) fn output(&mut self, categories: u64, addr: u64, end: &mut u64) -> Result<(), Full> {
        let Some(b) = self.buf.as_mut() else {
            return Ok(());
        };
        let categories = categories & self.return_mask;
        let n_pages = (*end - addr) / PAGE_SIZE;
        // The common cases: the pages fit in max_pages, and extend the
        // current region or start a new one with room for it. Nothing is
        // changed unless one of them applies: the slow path does the rest.
        // This repeats push_range()'s decision inline, with the buffer
        // already at hand: going through push_range() measured about 1%
        // more instructions on thp and vec1 (icount).
        let total = self.found_pages.checked_add(n_pages);
        if let (Some(total), Some(cur)) = (total, b.get_mut(self.idx)) {
            if total <= self.max_pages {
                if cur.end == addr && cur.categories == categories {
                    cur.end = *end;
                    self.found_pages = total;
                    return Ok(());
                }
                let i = if cur.end != 0 { self.idx + 1 } else { self.idx };
                let r = PageRegion {
                    start: addr,
                    end: *end,
                    categories,
                };
                if i < self.len && b.put(i, r) {
                    self.idx = i;
                    self.found_pages = total;
                    return Ok(());
                }
            }
        }
        self.output_slow(categories, addr, end, n_pages)
    }

    /// [`Output::output`] when the region is new or must be cut.
    #[inline(never)]
    fn output_slow(
        &mut self,
        categories: u64,
        addr: u64,
        end: &mut u64,
        n_pages: u64,
    ) -> Result<(), Full> {
        let mut n_pages = n_pages;
        let mut ret = Ok(());
        match self.found_pages.checked_add(n_pages) {
            Some(total) if total <= self.max_pages => {}
            total => {
                // On overflow C's wrapped sum gives the same cut.
                let total = total.unwrap_or_else(|| self.found_pages.wrapping_add(n_pages));
                let too_much = total.wrapping_sub(self.max_pages);
                *end = end.wrapping_sub(too_much.wrapping_mul(PAGE_SIZE));
                n_pages = n_pages.wrapping_sub(too_much);
                ret = Err(Full);
            }
        }
        if !self.push_range(categories, addr, *end) {
            *end = addr;
            n_pages = 0;
            ret = Err(Full);
        }
        self.found_pages = self.found_pages.wrapping_add(n_pages);
        if ret.is_err() {
            self.walk_end = Some(*end);
        }
        ret
    }

    /// Takes back `[addr, end)`, the tail of the current region that was
    /// just reported, when a huge page cannot be write-protected in part.
    ///
    /// If that empties the current entry, the previous one becomes current
    /// again, so that the pages reported next (the split THP's PTEs) merge
    /// with it. C leaves the empty entry current, and the next region starts
    /// a new entry even when it continues the previous one.
    pub(crate) fn backout(&mut self, addr: u64, end: u64) {
        let idx = self.idx;
        let Some(b) = self.buf.as_mut() else {
            return;
        };
        let cur = &mut b[idx];
        if cur.start != addr {
            cur.end = addr;
        } else {
            cur.start = 0;
            cur.end = 0;
            cur.categories = 0;
            if idx > 0 {
                self.idx = idx - 1;
            }
        }
        self.found_pages = self.found_pages.wrapping_sub((end - addr) / PAGE_SIZE);
    }

    /// Number of non-empty entries.
    #[inline]
    fn filled(&self) -> usize {
        match self.buf.as_ref() {
            Some(b) if self.len > 0 => self.idx + usize::from(b[self.idx].end != b[self.idx].start),
            _ => 0,
        }
    }

    /// Whether a stop for lack of room is final, after the flush: the user
    /// array is full or `max_pages` is reached.
    pub(crate) fn exhausted(&self) -> bool {
        self.vec_left == 0 || self.found_pages == self.max_pages
    }

    /// The entries to copy to the user array now: all of them, the last
    /// one too. A region is never kept back to grow in the next pass: that
    /// pass could then write-protect pages before the copy of the region
    /// is known to succeed, and the array would be written at other
    /// points of the walk than C writes it.
    pub(crate) fn pending(&self) -> &[PageRegion] {
        let n = self.filled();
        match self.buf.as_ref() {
            Some(b) => &b[..n],
            None => &[],
        }
    }

    /// Marks the first `n` entries as copied (all that were pending): the
    /// next pass starts with an empty buffer of at most as many entries as
    /// the user array has left.
    pub(crate) fn flushed(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.vec_left -= to_u64(n);
        self.len = to_usize(core::cmp::min(to_u64(self.len), self.vec_left));
        self.idx = 0;
        self.reset_current();
    }
}

/// A count of entries (at most `BOUNCE_ENTRIES`, or a slice length) as a
/// `u64`: lossless on every target (a `usize` fits into a `u64`; the
/// conversion compiles to nothing).
#[inline(always)]
fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A count of entries bounded by a `usize` (`BOUNCE_ENTRIES`, a buffer's
/// length) as a `usize`: lossless for such values (on 64-bit targets the
/// conversion compiles to nothing).
#[inline(always)]
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
