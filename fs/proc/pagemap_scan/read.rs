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
            pgtable::{Frames, PteFrame, PteTable},
            PageWalk, PmdEntry, PteHole, Ptes, ReadOnly, WalkResult, PMD_SIZE,
        },
        virt::VmaRef,
        Mm,
    },
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
/// Frames read from a page table per helper call.
const FRAME_BATCH: usize = 64;

/// The walker of one piece: fills `buf` with the entries of the pages
/// walked, in address order; `pos` of them are filled.
struct PagemapWalk<'b> {
    buf: &'b mut [u64],
    pos: usize,
    show_pfn: bool,
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

impl PagemapWalk<'_> {
    /// Appends `entry`; `Break` once the buffer is full (as C's
    /// `add_to_pagemap()` ends the walk with `PM_END_OF_BUFFER`).
    #[inline]
    fn add(&mut self, entry: u64) -> ControlFlow<()> {
        let Some(e) = self.buf.get_mut(self.pos) else {
            return ControlFlow::Break(());
        };
        *e = entry;
        self.pos += 1;
        if self.pos >= self.buf.len() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Appends `n` copies of `entry`.
    #[inline]
    fn add_n(&mut self, entry: u64, n: usize) -> ControlFlow<()> {
        for _ in 0..n {
            self.add(entry)?;
        }
        ControlFlow::Continue(())
    }

    /// The entry of a page table entry (of a PTE table or of a huge PMD),
    /// with `flags` from its VMA.
    #[inline]
    fn entry(&self, f: &PteFrame, flags: u64) -> u64 {
        let info = f.info();
        let mut flags = flags;
        let mut frame = 0;
        if info.is_present() {
            if self.show_pfn {
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
            if self.show_pfn {
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
        if f.has_page() {
            if info.maps_file() {
                flags |= PM_FILE;
            }
            if f.mapped_exclusively() {
                flags |= PM_MMAP_EXCLUSIVE;
            }
        }
        (frame & PM_PFRAME_MASK) | flags
    }

    /// The entries of a locked PTE table.
    fn ptes(&mut self, table: &mut PteTable<'_, Frames, ReadOnly>, flags: u64) -> ControlFlow<()> {
        let mut out = [PteFrame::default(); FRAME_BATCH];
        while let Some((_, frames)) = table.next_frames(&mut out) {
            for f in frames {
                let e = self.entry(f, flags);
                self.add(e)?;
            }
        }
        ControlFlow::Continue(())
    }
}

#[vtable]
impl PageWalk for PagemapWalk<'_> {
    type Mode = ReadOnly;

    fn pmd_entry(&mut self, pmd: &mut PmdEntry<'_, ReadOnly>, start: usize, end: usize) -> WalkResult {
        let flags = vma_flags(pmd.vma());
        // A transparent huge page, locked: the entries of its pages walked.
        let thp = pmd.with_huge(false, |huge| {
            let mut out = [PteFrame::default(); FRAME_BATCH];
            let mut first = (start & (PMD_SIZE - 1)) >> PAGE_SHIFT;
            let last = first + (end - start) / PAGE_SIZE;
            while first < last {
                let n = core::cmp::min(FRAME_BATCH, last - first);
                for f in huge.frames(first, &mut out[..n]) {
                    let e = self.entry(f, flags);
                    self.add(e)?;
                }
                first += n;
            }
            ControlFlow::Continue(())
        });
        if let Some(r) = thp {
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
        let entry = hole.map_or(0, |h| vma_flags(h.vma()));
        Ok(self.add_n(entry, (end - start) / PAGE_SIZE))
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
        let mut frame = 0;
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
                frame = f.pfn().unwrap_or(0) + index as u64;
            }
        } else if info.swp_uffd_wp_any() {
            // Neither a swap entry's frame nor its soft-dirty bit: C shows
            // only whether it is write-protected.
            flags |= PM_UFFD_WP;
        }
        let step = u64::from(self.show_pfn && flags & PM_PRESENT != 0);
        let r = (0..(end - start) / PAGE_SIZE).try_for_each(|_| {
            let e = (frame & PM_PFRAME_MASK) | flags;
            frame += step;
            self.add(e)
        });
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
    // The offset is compared as C's unsigned arithmetic does.
    let pos = r.pos() as u64;
    let mut count = r.count();
    if pos % PM_ENTRY_BYTES as u64 != 0 || count % PM_ENTRY_BYTES != 0 {
        return Err(EINVAL);
    }
    if count == 0 {
        return Ok(0);
    }
    let show_pfn = r.opener_has_sys_admin();
    let mut buf = KVec::from_elem(0u64, PIECE_ENTRIES, GFP_KERNEL)?;

    let task_size = mm.task_size();
    let svpfn = pos / PM_ENTRY_BYTES as u64;
    let mut end_vaddr = task_size;
    let mut start = end_vaddr;
    if svpfn <= (u64::MAX >> PAGE_SHIFT) {
        let guard = mm.mmap_read_lock_killable()?;
        start = guard.untagged_addr((svpfn << PAGE_SHIFT) as usize);
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

    let mut copied = 0usize;
    while count != 0 && start < end_vaddr {
        let mut end = start.wrapping_add(PMD_SIZE) & !(PMD_SIZE - 1);
        if end < start || end > end_vaddr {
            end = end_vaddr;
        }
        let mut walker = PagemapWalk {
            buf: &mut buf,
            pos: 0,
            show_pfn,
        };
        let mut guard = mm.mmap_read_lock_killable()?;
        let _ = guard.walk_page_range(start, end, &mut walker)?;
        drop(guard);
        start = end;
        let len = core::cmp::min(count, walker.pos * PM_ENTRY_BYTES);
        r.write_entries(copied, &buf, len)?;
        copied += len;
        count -= len;
    }
    r.advance(copied);
    Ok(copied)
}
