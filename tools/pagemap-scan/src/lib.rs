// SPDX-License-Identifier: GPL-2.0
//! Userspace access to the `PAGEMAP_SCAN` ioctl of `/proc/PID/pagemap`
//! (Linux 6.7+), and to userfaultfd asynchronous write-protection, the
//! write-tracking mechanism it pairs with.
//!
//! * [`abi`]: the raw UAPI (`struct pm_scan_arg`, `struct page_region`,
//!   `PAGE_IS_*`, `PM_SCAN_*`, the ioctl number) and [`abi::pagemap_scan_raw`].
//! * [`Pagemap`] / [`Scan`]: a builder for one scan, [`Scan::run`] for a single
//!   ioctl and [`Scan::regions`] for an iterator covering the whole range.
//! * [`WriteTracker`]: userfaultfd WP_ASYNC registration and atomic
//!   "harvest" (report written pages and write-protect them again).
//! * [`probe()`]: which of these the running kernel supports.
//! * [`harvest_check`]: an exact oracle for tests that harvest while
//!   another thread writes (no write lost, no false positive).
//! * [`maps`], [`mem`]: `/proc/PID/maps` parsing, anonymous and hugetlb
//!   mappings for tests and samples, and the page, PMD and hugetlb sizes of
//!   the running system (nothing assumes x86-64's 4 KiB pages).
//!
//! ## The `walk_end` contract
//!
//! The kernel writes `walk_end`, the address where the walk stopped. When the
//! output vector fills up or `max_pages` is reached, the scan is continued by
//! issuing the ioctl again from `walk_end`. The C implementation has a defect:
//! once its internal bounce buffer (`PMD_SIZE / PAGE_SIZE` entries, at most
//! `vec_len`: 512 with 4 KiB pages as on x86-64, 8192 on arm64 with 64 KiB
//! pages, see [`mem::pmd_size`]) has been flushed within one call, a later
//! successful walk does not update `walk_end`, so the kernel can return a
//! `walk_end` *below* the end of regions it already returned. Restarting
//! there would report those regions twice. [`Regions`] therefore restarts at
//! `max(walk_end, end of the last region returned)`, which is always
//! correct: every address below the last region's end has been examined.
//! [`Regions::stale_walk_end_events`] counts how often that clipping was
//! needed.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod abi;
pub mod error;
pub mod harvest_check;
pub mod maps;
pub mod mem;
pub mod probe;
mod scan;
pub mod uffd;

pub use abi::{
    category_names, pagemap_scan, pagemap_scan_raw, PageRegion, PmScanArg, PAGEMAP_SCAN,
    PAGE_IS_ACCESSED, PAGE_IS_ALL, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_HUGE, PAGE_IS_PFNZERO,
    PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED, PAGE_IS_WRITTEN,
    PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING,
};
pub use error::errno;
pub use mem::page_size;
pub use probe::{probe, Features, Support};
pub use scan::{c_bounce_buffer_len, Pagemap, Regions, Scan, DEFAULT_VEC_CAPACITY};
pub use uffd::WriteTracker;
