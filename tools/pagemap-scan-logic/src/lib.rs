// SPDX-License-Identifier: GPL-2.0

//! Host build of the pure logic of the PAGEMAP_SCAN Rust module.
//!
//! `pagemap_scan/logic.rs` (argument validation, category matching and the
//! output bounce buffer) is plain `core` code. This crate compiles that very
//! file, not a copy, next to a `PageRegion` and a `PmScanArg` laid out like
//! the kernel crate's (`kernel::mm::pagemap_scan`), so that `cargo test`
//! checks it in seconds against models of the C code in `fs/proc/task_mmu.c`.

/// `struct page_region`: one output region, as in the kernel crate.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PageRegion {
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Categories of all its pages.
    pub categories: u64,
}

/// `struct pm_scan_arg`, laid out like the kernel crate's
/// `kernel::mm::pagemap_scan::PmScanArg`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PmScanArg {
    pub size: u64,
    pub flags: u64,
    pub start: u64,
    pub end: u64,
    pub walk_end: u64,
    pub vec: u64,
    pub vec_len: u64,
    pub max_pages: u64,
    pub category_inverted: u64,
    pub category_mask: u64,
    pub category_anyof_mask: u64,
    pub return_mask: u64,
}

// The kernel module is the user of these items; here only the tests are.
#[allow(dead_code)]
#[path = "../../../pagemap_scan/logic.rs"]
mod logic;

/// The host's bounce buffer: a `Vec`, with its capacity as room.
impl logic::RegionBuf for Vec<PageRegion> {
    fn room(&self) -> usize {
        self.capacity()
    }

    fn put(&mut self, i: usize, r: PageRegion) -> bool {
        if i < self.len() {
            self[i] = r;
            true
        } else if i == self.len() && i < self.capacity() {
            self.push(r);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests;
