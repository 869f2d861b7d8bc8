// SPDX-License-Identifier: GPL-2.0

//! `read()` of `/proc/PID/pagemap`: one 64-bit entry per page of the address
//! space (`Documentation/admin-guide/mm/pagemap.rst`), as C's
//! `pagemap_read()` makes them, through the same walk API as the scan.
//!
//! The read is cut into PMD-sized pieces: each is walked under the mmap
//! lock into a buffer of one entry per page, then copied out with the lock
//! dropped (the user's buffer may be in the address space read).

use core::ops::ControlFlow;
use kernel::{
    alloc::{flags::GFP_KERNEL, KVec},
    mm::{
        pagewalk::{
            hugetlb::HugetlbEntry,
            pgtable::{Frames, PmdHugeLock, PteFrame, PteTable, FRAMES_BATCH},
            PageWalk, PmdEntry, PteHole, Ptes, ReadOnly, WalkResult, PMD_SIZE,
        },
        virt::VmaRef,
        Mm,
    },
    num::casts::{arch::u64_as_usize, u32_as_usize, usize_as_u64},
    page::{PAGE_SHIFT, PAGE_SIZE},
    pagemap_scan::PagemapRead,
    prelude::*,
};

/// The size of an entry.
const PM_ENTRY_BYTES: usize = core::mem::size_of::<u64>();
/// The bits of the page frame number (or of the swap type and offset).
const PM_PFRAME_MASK: u64 = (1 << 55) - 1;
/// The entry is soft-dirty (or its VMA is).
const PM_SOFT_DIRTY: u64 = 1 << 55;
/// The page is mapped by this entry only.
const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
/// The entry is write-protected (or read-write protected) for userfaultfd.
const PM_UFFD_WP: u64 = 1 << 57;
/// The entry is a guard region marker (trees with guard markers only).
const PM_GUARD_REGION: u64 = 1 << 58;
/// The page is a file page or shared anonymous memory.
const PM_FILE: u64 = 1 << 61;
/// The entry is a swap entry (or a migration or device entry, or a marker).
const PM_SWAP: u64 = 1 << 62;
/// The page is present.
const PM_PRESENT: u64 = 1 << 63;
/// A swap entry's frame is its type in bits 0-4 and its offset above.
const PM_SWAP_OFFSET_SHIFT: u32 = 5;

/// Entries per piece of the read: the pages of one PMD.
const PIECE_ENTRIES: usize = PMD_SIZE / PAGE_SIZE;

/// The walker of one piece: fills `buf` with the entries of the pages
/// walked, in address order; `pos` of them are filled.
struct PagemapWalk<'b> {
    buf: &'b mut [u64],
    pos: usize,
    show_pfn: bool,
    /// Room for the frames of a batch, set aside once per read.
    frames: &'b mut [PteFrame; FRAMES_BATCH],
}

/// The entry flag a VMA's soft-dirty state gives each of its pages.
#[inline]
fn vma_flags(vma: &VmaRef) -> u64 {
    if vma.is_soft_dirty() {
        PM_SOFT_DIRTY
    } else {
        0
    }
}

/// The frame field of the entry of `f` (before masking), and its flags but
/// for the VMA's and for [`PM_MMAP_EXCLUSIVE`].
#[inline(always)]
fn frame_and_flags(f: &PteFrame, show_pfn: bool) -> (u64, u64) {
    let info = f.info();
    let mut flags = 0;
    let mut frame = 0;
    if info.is_present() {
        if show_pfn {
            frame = f.pfn().unwrap_or(0);
        }
        flags |= PM_PRESENT;
        if info.soft_dirty() {
            flags |= PM_SOFT_DIRTY;
        }
        if info.uffd_wp() {
            flags |= PM_UFFD_WP;
        }
    } else if let Some((swp_type, swp_offset)) = f.swap_entry() {
        if show_pfn {
            // A migration or device entry shows its PFN as the offset.
            let offset = f.pfn().unwrap_or(swp_offset);
            frame = u64::from(swp_type) | offset << PM_SWAP_OFFSET_SHIFT;
        }
        flags |= PM_SWAP;
        if info.swp_soft_dirty() {
            flags |= PM_SOFT_DIRTY;
        }
        if info.swp_uffd_wp_any() {
            flags |= PM_UFFD_WP;
        }
        if info.is_guard() {
            flags |= PM_GUARD_REGION;
        }
    }
    // Only set for an entry with a page.
    if info.maps_file() {
        flags |= PM_FILE;
    }
    (frame, flags)
}

/// The frame field of the entry of `f` for a reader who may see PFNs,
/// masked.
#[inline(always)]
fn frame_shown(f: &PteFrame) -> u64 {
    let frame = if f.info().is_present() {
        f.pfn().unwrap_or(0)
    } else {
        frame_and_flags(f, true).0
    };
    frame & PM_PFRAME_MASK
}

/// [`entry`], through `memo`: the flags of the last state seen. Neighbouring
/// pages mostly share it (a populated area), so most entries cost a compare.
#[inline(always)]
fn memo_entry<const SHOW_PFN: bool>(
    memo: &mut Option<(u16, u64)>,
    f: &PteFrame,
    vma_flags: u64,
) -> u64 {
    let key = u16::from(f.info().bits()) | u16::from(f.mapped_exclusively()) << 8;
    let fl = match *memo {
        Some((k, fl)) if k == key => fl,
        _ => {
            let fl = entry(f, vma_flags, false);
            *memo = Some((key, fl));
            fl
        }
    };
    if SHOW_PFN {
        fl | frame_shown(f)
    } else {
        fl
    }
}

/// The entry of a page table entry with frame `f`, in a VMA whose pages get
/// `vma_flags`.
#[inline(always)]
fn entry(f: &PteFrame, vma_flags: u64, show_pfn: bool) -> u64 {
    let (frame, flags) = frame_and_flags(f, show_pfn);
    // Only set for a present entry with a page.
    let excl = if f.mapped_exclusively() {
        PM_MMAP_EXCLUSIVE
    } else {
        0
    };
    (frame & PM_PFRAME_MASK) | flags | vma_flags | excl
}

impl PagemapWalk<'_> {
    /// The next `n` entries of the buffer (fewer if it fills).
    #[inline(always)]
    fn next(&mut self, n: usize) -> &mut [u64] {
        let (pos, end) = (self.pos, core::cmp::min(self.pos + n, self.buf.len()));
        self.pos = end;
        &mut self.buf[pos..end]
    }

    /// `Break` once the buffer is full: C's `add_to_pagemap()` ends the walk
    /// with `PM_END_OF_BUFFER` then.
    #[inline(always)]
    fn flow(&self) -> ControlFlow<()> {
        if self.pos >= self.buf.len() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Appends `n` entries: entry `i` has frame `frame + i * step` and
    /// `flags`, and [`PM_MMAP_EXCLUSIVE`] if bit `i` of `excl` is set
    /// (`n` at most 64 where `excl` is not 0).
    #[inline(always)]
    fn add_run(
        &mut self,
        frame: u64,
        step: u64,
        flags: u64,
        excl: u64,
        n: usize,
    ) -> ControlFlow<()> {
        let mut frame = frame;
        let all = u64::MAX >> (64 - core::cmp::min(n, 64)).min(63);
        let dst = self.next(n);
        if excl == 0 || (n <= 64 && excl & all == all) {
            // The common case: all pages alike (a THP mapped once, or not).
            let flags = flags | if excl != 0 { PM_MMAP_EXCLUSIVE } else { 0 };
            for e in dst.iter_mut() {
                *e = (frame & PM_PFRAME_MASK) | flags;
                frame = frame.wrapping_add(step);
            }
        } else {
            for (i, e) in dst.iter_mut().enumerate() {
                let x = (excl >> (i & 63) & 1) << PM_MMAP_EXCLUSIVE.trailing_zeros();
                *e = (frame & PM_PFRAME_MASK) | flags | x;
                frame = frame.wrapping_add(step);
            }
        }
        self.flow()
    }

    /// The entries of a locked PTE table.
    fn ptes(&mut self, table: &mut PteTable<'_, Frames, ReadOnly>, flags: u64) -> ControlFlow<()> {
        if self.show_pfn {
            self.ptes_shown::<true>(table, flags)
        } else {
            self.ptes_shown::<false>(table, flags)
        }
    }

    /// [`Self::ptes`], with or without the PFNs shown.
    #[inline(always)]
    fn ptes_shown<const SHOW_PFN: bool>(
        &mut self,
        table: &mut PteTable<'_, Frames, ReadOnly>,
        flags: u64,
    ) -> ControlFlow<()> {
        let mut memo = None;
        while let Some(batch) = table.next_frames(self.frames) {
            let (pos, end) = (
                self.pos,
                core::cmp::min(self.pos + batch.len(), self.buf.len()),
            );
            self.pos = end;
            let dst = &mut self.buf[pos..end];
            let mask = batch.non_empty();
            if u32_as_usize(mask.count_ones()) < batch.len() / 2 {
                // Mostly empty entries, which have the VMA's flags only: all
                // of them first, then the others.
                dst.fill(flags);
                let mut m = mask;
                while m != 0 {
                    let i = u32_as_usize(m.trailing_zeros());
                    m &= m - 1;
                    if let (Some(f), Some(e)) = (batch.get(i), dst.get_mut(i)) {
                        *e = memo_entry::<SHOW_PFN>(&mut memo, f, flags);
                    }
                }
            } else {
                for (e, f) in dst.iter_mut().zip(batch.iter()) {
                    *e = match f {
                        Some(f) => memo_entry::<SHOW_PFN>(&mut memo, f, flags),
                        None => flags,
                    };
                }
            }
            self.flow()?;
        }
        ControlFlow::Continue(())
    }

    /// The entries of `[start, end)` of a locked huge PMD.
    fn thp(
        &mut self,
        huge: &PmdHugeLock<'_, ReadOnly>,
        start: usize,
        end: usize,
        flags: u64,
    ) -> ControlFlow<()> {
        let f = huge.frame();
        let (frame0, fl) = frame_and_flags(&f, self.show_pfn);
        let info = f.info();
        // Page i shows the PMD's PFN plus i, or its swap offset plus i.
        let step: u64 = match (self.show_pfn, info.is_present(), info.is_swap()) {
            (false, _, _) => 0,
            (true, true, _) => 1,
            (true, false, true) => 1 << PM_SWAP_OFFSET_SHIFT,
            (true, false, false) => 0,
        };
        let excl_of = info.is_present() && f.has_page();
        let mut first = (start & (PMD_SIZE - 1)) >> PAGE_SHIFT;
        let last = first + (end - start) / PAGE_SIZE;
        while first < last {
            let n = core::cmp::min(64, last - first);
            let excl = if excl_of {
                huge.pages_mapped_exclusively(first, n)
            } else {
                0
            };
            let frame = frame0.wrapping_add(step.wrapping_mul(usize_as_u64(first)));
            self.add_run(frame, step, fl | flags, excl, n)?;
            first += n;
        }
        ControlFlow::Continue(())
    }
}

#[vtable]
impl PageWalk for PagemapWalk<'_> {
    type Mode = ReadOnly;

    fn pmd_entry(
        &mut self,
        pmd: &mut PmdEntry<'_, ReadOnly>,
        start: usize,
        end: usize,
    ) -> WalkResult {
        let flags = vma_flags(pmd.vma());
        // A transparent huge page (or its migration entry), locked.
        if let Some(r) = pmd.with_huge(false, |huge| self.thp(huge, start, end, flags)) {
            return Ok(r);
        }
        match pmd.with_ptes::<Frames, _>(start, end, |t| self.ptes(t, flags))? {
            Ptes::Table(r) => {
                pmd.cond_resched();
                Ok(r)
            }
            // Changed under us: walk the PMD again, as C does.
            Ptes::Huge | Ptes::Gone => {
                pmd.again();
                Ok(ControlFlow::Continue(()))
            }
        }
    }

    fn pte_hole(
        &mut self,
        start: usize,
        end: usize,
        hole: Option<&PteHole<'_, ReadOnly>>,
    ) -> WalkResult {
        // Outside any VMA: empty entries; in one (or a whole VM_PFNMAP
        // VMA, which is not walked): its soft-dirty state.
        let flags = hole.map_or(0, |h| vma_flags(h.vma()));
        self.next((end - start) / PAGE_SIZE).fill(flags);
        Ok(self.flow())
    }

    fn hugetlb_entry(
        &mut self,
        entry: &mut HugetlbEntry<'_, ReadOnly>,
        start: usize,
        end: usize,
    ) -> WalkResult {
        let mut flags = vma_flags(entry.vma());
        let f = entry.frame();
        let info = f.info();
        let (mut frame, mut step) = (0, 0);
        if info.is_present() {
            if info.maps_file() {
                flags |= PM_FILE;
            }
            if f.mapped_exclusively() {
                flags |= PM_MMAP_EXCLUSIVE;
            }
            if info.uffd_wp() {
                flags |= PM_UFFD_WP;
            }
            flags |= PM_PRESENT;
            if self.show_pfn {
                let psize = entry.vma().huge_page_size();
                let index = (start & (psize - 1)) >> PAGE_SHIFT;
                frame = f.pfn().unwrap_or(0).wrapping_add(usize_as_u64(index));
                step = 1;
            }
        } else if info.swp_uffd_wp_any() {
            // Neither a swap entry's frame nor its soft-dirty bit: C shows
            // only whether it is write-protected.
            flags |= PM_UFFD_WP;
        }
        let r = self.add_run(frame, step, flags, 0, (end - start) / PAGE_SIZE);
        entry.cond_resched();
        Ok(r)
    }
}

/// C's `pagemap_read()`, in the same steps: take a user of the mm, check
/// the offset and length, then for each PMD-sized piece { lock, walk,
/// unlock, copy out }, and move the file offset on by what was copied. An
/// error (a fatal signal while waiting for the lock, a fault copying out)
/// returns it without moving the offset, as C does, even when pieces were
/// copied.
pub(crate) fn read(mm: &Mm, r: &mut PagemapRead<'_>) -> Result<usize> {
    // An mm without users (the task exited) reads as end of file.
    let Some(mm) = mm.mmget_not_zero() else {
        return Ok(0);
    };
    let pos = r.pos();
    let mut count = r.count();
    if pos % usize_as_u64(PM_ENTRY_BYTES) != 0 || count % PM_ENTRY_BYTES != 0 {
        return Err(EINVAL);
    }
    if count == 0 {
        return Ok(0);
    }
    let show_pfn = r.opener_has_sys_admin();
    // No more than the read can take: a short read zeroes little.
    let mut buf = KVec::from_elem(
        0u64,
        core::cmp::min(PIECE_ENTRIES, count / PM_ENTRY_BYTES),
        GFP_KERNEL,
    )?;

    let task_size = mm.task_size();
    let svpfn = pos / usize_as_u64(PM_ENTRY_BYTES);
    let mut end_vaddr = task_size;
    let mut start = end_vaddr;
    if svpfn <= (u64::MAX >> PAGE_SHIFT) {
        let guard = mm.mmap_read_lock_killable()?;
        start = guard.untagged_addr(u64_as_usize(svpfn << PAGE_SHIFT));
        drop(guard);
        let end = start.wrapping_add((count / PM_ENTRY_BYTES) << PAGE_SHIFT);
        if end >= start && end < task_size {
            end_vaddr = end;
        }
    }
    // A start past the address space reads nothing.
    if start > task_size {
        start = end_vaddr;
    }

    let mut frames = [PteFrame::default(); FRAMES_BATCH];
    let mut copied = 0usize;
    let mut walked = Ok(());
    while count != 0 && start < end_vaddr {
        let mut end = start.wrapping_add(PMD_SIZE) & !(PMD_SIZE - 1);
        if end < start || end > end_vaddr {
            end = end_vaddr;
        }
        let mut walker = PagemapWalk {
            buf: &mut buf,
            pos: 0,
            show_pfn,
            frames: &mut frames,
        };
        let mut guard = mm.mmap_read_lock_killable()?;
        // C copies the piece and goes on after a failed walk, and returns
        // the last walk's error with the offset moved (no walk fails
        // here: the ranges are page aligned and the callbacks cannot).
        walked = guard.walk_page_range(start, end, &mut walker).map(|_| ());
        drop(guard);
        start = end;
        let len = core::cmp::min(count, walker.pos * PM_ENTRY_BYTES);
        r.write_entries(copied, &buf, len)?;
        copied += len;
        count -= len;
    }
    r.advance(copied);
    walked.map(|()| copied)
}
