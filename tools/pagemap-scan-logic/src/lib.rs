// SPDX-License-Identifier: GPL-2.0

//! Host build of the pure logic of the PAGEMAP_SCAN Rust module.
//!
//! `fs/proc/pagemap_scan/logic.rs` (argument validation, category matching and the
//! output bounce buffer) is plain `core` code. This crate compiles that very
//! file, not a copy, with the ABI types of the userspace crate
//! (`tools/pagemap-scan`), which are laid out like the kernel crate's
//! (`kernel::pagemap_scan`), so that `cargo test` checks it in seconds
//! against models of the C code in `fs/proc/task_mmu.c`.
//!
//! It does so once per machine geometry (page size, PMD size, `size_t`
//! width): each geometry module expands [`geometry!`], which loads
//! `logic.rs` and the tests again with that geometry's constants.

// Loading the same files once per geometry is the point.
#![allow(clippy::duplicate_mod)]

/// `struct page_region` and `struct pm_scan_arg`, which `logic.rs` takes
/// from its parent module.
pub use pagemap_scan::abi::{
    PageRegion, PmScanArg, PAGE_IS_ACCESSED, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_HUGE,
    PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED,
    PAGE_IS_WRITTEN, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING,
};

/// The instance of `logic.rs` for one machine, expanded at the top of a
/// geometry's file: `PAGE_SHIFT`, the PMD shift (C's bounce buffer has one
/// entry per page of a PMD) and `SIZE_MAX`, and the output, back-out and
/// category tests, which hold for every geometry.
macro_rules! geometry {
    ($page_shift:expr, $pmd_shift:expr, $size_max:expr) => {
        pub use crate::{
            PageRegion, PmScanArg, PAGE_IS_ACCESSED, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_HUGE,
            PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED,
            PAGE_IS_WPALLOWED, PAGE_IS_WRITTEN, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING,
        };
        /// `PAGE_SHIFT`.
        pub const PAGE_SHIFT: u32 = $page_shift;
        /// `PAGEMAP_WALK_SIZE >> PAGE_SHIFT`.
        pub const BOUNCE_ENTRIES: u64 = 1 << ($pmd_shift - $page_shift);
        /// `SIZE_MAX`.
        pub const SIZE_MAX: u64 = $size_max;

        // The kernel module is the user of these items; here only the tests
        // are.
        #[allow(dead_code)]
        #[path = "../../../fs/proc/pagemap_scan/logic.rs"]
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
        #[path = "tests/mod.rs"]
        mod tests;
    };
}

pub mod arm64_16k;
pub mod arm64_64k;
pub mod i386;
pub mod x86_64;
