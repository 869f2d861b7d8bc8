// SPDX-License-Identifier: GPL-2.0

//! Host build of the pure logic of the PAGEMAP_SCAN Rust module.
//!
//! `pagemap_scan/logic.rs` (argument validation, category matching and the
//! output bounce buffer) is plain `core` code. This crate compiles that very
//! file, not a copy, with the ABI types of the userspace crate
//! (`tools/pagemap-scan`), which are laid out like the kernel crate's
//! (`kernel::mm::pagemap_scan`), so that `cargo test` checks it in seconds
//! against models of the C code in `fs/proc/task_mmu.c`.

/// `struct page_region` and `struct pm_scan_arg`, which `logic.rs` takes
/// from the crate root.
pub use pagemap_scan::abi::{PageRegion, PmScanArg};

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
