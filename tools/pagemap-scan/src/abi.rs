// SPDX-License-Identifier: GPL-2.0
//! Raw ABI of the `PAGEMAP_SCAN` ioctl, mirroring `include/uapi/linux/fs.h`.
//!
//! Everything here is a plain transcription of the kernel UAPI; the
//! higher-level API lives in [`crate::Pagemap`] and [`crate::Scan`].

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd};

/// Page is in a VMA registered for userfaultfd async write-protection.
pub const PAGE_IS_WPALLOWED: u64 = 1 << 0;
/// Page was written since it was last write-protected (uffd-wp async).
pub const PAGE_IS_WRITTEN: u64 = 1 << 1;
/// Page is backed by a file (or shmem), i.e. not anonymous.
pub const PAGE_IS_FILE: u64 = 1 << 2;
/// Page is present in memory.
pub const PAGE_IS_PRESENT: u64 = 1 << 3;
/// Page is swapped out.
pub const PAGE_IS_SWAPPED: u64 = 1 << 4;
/// Page maps the zero page (zero PFN).
pub const PAGE_IS_PFNZERO: u64 = 1 << 5;
/// Page is part of a transparent huge page or a hugetlb page.
pub const PAGE_IS_HUGE: u64 = 1 << 6;
/// Page is soft-dirty (`CONFIG_MEM_SOFT_DIRTY`).
pub const PAGE_IS_SOFT_DIRTY: u64 = 1 << 7;
/// Page is a guard page (`MADV_GUARD_INSTALL`): Linux 6.14 and later;
/// older kernels refuse the bit (`EINVAL`), see
/// [`crate::probe::extra_categories`].
pub const PAGE_IS_GUARD: u64 = 1 << 8;
/// Page was accessed since it was read-write protected (userfaultfd
/// read-write protection, `UFFD_FEATURE_RWP`): where the kernel has it.
pub const PAGE_IS_ACCESSED: u64 = 1 << 9;

/// The category bits every kernel with `PAGEMAP_SCAN` (6.7) knows. Newer
/// ones ([`PAGE_IS_GUARD`], [`PAGE_IS_ACCESSED`]) are only accepted where
/// the kernel has them.
pub const PAGE_IS_ALL: u64 = PAGE_IS_WPALLOWED
    | PAGE_IS_WRITTEN
    | PAGE_IS_FILE
    | PAGE_IS_PRESENT
    | PAGE_IS_SWAPPED
    | PAGE_IS_PFNZERO
    | PAGE_IS_HUGE
    | PAGE_IS_SOFT_DIRTY;

/// Write-protect the pages matched (requires uffd-wp async VMAs).
pub const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
/// Fail with `EPERM` when the range contains a VMA that is not uffd-wp async.
pub const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;
/// All flags the ABI defines (`PM_SCAN_FLAGS` in the kernel).
pub const PM_SCAN_FLAGS: u64 = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;

/// Names of the category bits, in bit order, as used by the CLI and JSON.
pub const CATEGORY_NAMES: [(u64, &str); 10] = [
    (PAGE_IS_WPALLOWED, "wpallowed"),
    (PAGE_IS_WRITTEN, "written"),
    (PAGE_IS_FILE, "file"),
    (PAGE_IS_PRESENT, "present"),
    (PAGE_IS_SWAPPED, "swapped"),
    (PAGE_IS_PFNZERO, "pfnzero"),
    (PAGE_IS_HUGE, "huge"),
    (PAGE_IS_SOFT_DIRTY, "soft-dirty"),
    (PAGE_IS_GUARD, "guard"),
    (PAGE_IS_ACCESSED, "accessed"),
];

/// Comma-separated names of the category bits set in `categories`
/// (unknown bits are shown in hex, an empty set as `-`).
pub fn category_names(categories: u64) -> String {
    let mut out = Vec::new();
    for (bit, name) in CATEGORY_NAMES {
        if categories & bit != 0 {
            out.push(name.to_string());
        }
    }
    let unknown = categories & !(PAGE_IS_ALL | PAGE_IS_GUARD | PAGE_IS_ACCESSED);
    if unknown != 0 {
        out.push(format!("{unknown:#x}"));
    }
    if out.is_empty() {
        "-".to_string()
    } else {
        out.join(",")
    }
}

/// The category bit called `name` (as in [`CATEGORY_NAMES`]; `_` is
/// accepted for `-`).
pub fn category_from_name(name: &str) -> Option<u64> {
    let name = name.replace('_', "-");
    CATEGORY_NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(bit, _)| *bit)
}

/// `struct page_region`: one output region of `PAGEMAP_SCAN`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PageRegion {
    /// Start address (inclusive).
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// `PAGE_IS_*` bits of the region, restricted to the scan's `return_mask`.
    pub categories: u64,
}

impl PageRegion {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the region covers no byte.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Number of pages of `page_size` bytes the region covers.
    pub fn pages(&self, page_size: u64) -> u64 {
        self.len() / page_size
    }

    /// The region as an address range.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.start..self.end
    }
}

/// `struct pm_scan_arg`: argument of the `PAGEMAP_SCAN` ioctl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PmScanArg {
    /// Must be `size_of::<PmScanArg>()` (96).
    pub size: u64,
    /// `PM_SCAN_*` flags.
    pub flags: u64,
    /// Start of the range to scan; must be page aligned.
    pub start: u64,
    /// End of the range (exclusive); rounded up to a page by the kernel.
    pub end: u64,
    /// Written by the kernel: the address where the walk stopped.
    pub walk_end: u64,
    /// User address of a `PageRegion` array, or 0.
    pub vec: u64,
    /// Number of entries of the `vec` array.
    pub vec_len: u64,
    /// Maximum number of pages to report (0 = no limit).
    pub max_pages: u64,
    /// Categories that match when clear instead of set.
    pub category_inverted: u64,
    /// Pages must match all of these categories.
    pub category_mask: u64,
    /// Pages must match at least one of these categories (0 = ignored).
    pub category_anyof_mask: u64,
    /// Categories reported in `PageRegion::categories`.
    pub return_mask: u64,
}

impl PmScanArg {
    /// A zeroed argument with `size` filled in.
    pub fn new() -> Self {
        PmScanArg {
            size: size_of::<PmScanArg>() as u64,
            ..Default::default()
        }
    }
}

const IOC_NRBITS: u64 = 8;
const IOC_TYPEBITS: u64 = 8;
const IOC_SIZEBITS: u64 = 14;
const IOC_NRSHIFT: u64 = 0;
const IOC_TYPESHIFT: u64 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u64 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u64 = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_NONE: u64 = 0;
const IOC_WRITE: u64 = 1;
const IOC_READ: u64 = 2;

/// The generic `_IOC(dir, type, nr, size)` macro of `asm-generic/ioctl.h`.
pub const fn ioc(dir: u64, ty: u8, nr: u8, size: usize) -> u64 {
    (dir << IOC_DIRSHIFT)
        | ((ty as u64) << IOC_TYPESHIFT)
        | ((nr as u64) << IOC_NRSHIFT)
        | ((size as u64) << IOC_SIZESHIFT)
}

/// `_IO(type, nr)`.
pub const fn io(ty: u8, nr: u8) -> u64 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(type, nr, size)`.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u64 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOWR(type, nr, size)`.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u64 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// `PROCFS_IOCTL_MAGIC`.
pub const PROCFS_IOCTL_MAGIC: u8 = b'f';

/// `PAGEMAP_SCAN = _IOWR('f', 16, struct pm_scan_arg)` = `0xc0606610`.
pub const PAGEMAP_SCAN: u64 = iowr(PROCFS_IOCTL_MAGIC, 16, size_of::<PmScanArg>());

const _: () = assert!(size_of::<PmScanArg>() == 96);
const _: () = assert!(size_of::<PageRegion>() == 24);
const _: () = assert!(PAGEMAP_SCAN == 0xc060_6610);

/// Issue `PAGEMAP_SCAN` on a pagemap file descriptor with `arg` exactly as
/// given, and return the number of regions the kernel wrote to `arg.vec`
/// or the errno as an [`io::Error`]. The kernel updates `arg.walk_end`.
///
/// # Safety
///
/// `arg.vec` must be 0 or point to `arg.vec_len` writable, properly aligned
/// [`PageRegion`]s of the calling process that nothing else accesses during
/// the call: the kernel writes up to `arg.vec_len` entries there. (`arg.vec`
/// may also be an address the kernel rejects, e.g. a kernel address, which
/// yields `EFAULT` without writing.) The scanned range itself is never
/// written, only its page protections may change (`PM_SCAN_WP_MATCHING`).
pub unsafe fn pagemap_scan_raw(fd: impl AsFd, arg: &mut PmScanArg) -> io::Result<usize> {
    let fd = fd.as_fd().as_raw_fd();
    // SAFETY: `arg` is a valid, exclusive `struct pm_scan_arg` for the
    // duration of the call (the kernel reads it and writes `walk_end`); the
    // caller guarantees the validity of the output buffer `arg.vec`.
    let ret = unsafe {
        libc::ioctl(
            fd,
            PAGEMAP_SCAN as libc::Ioctl,
            arg as *mut PmScanArg as *mut libc::c_void,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// Safe form of [`pagemap_scan_raw`]: points `arg.vec`/`arg.vec_len` at
/// `out` (or at nothing when `out` is empty) and returns the number of
/// regions written to the front of `out`.
pub fn pagemap_scan(
    fd: impl AsFd,
    arg: &mut PmScanArg,
    out: &mut [PageRegion],
) -> io::Result<usize> {
    if out.is_empty() {
        arg.vec = 0;
        arg.vec_len = 0;
    } else {
        arg.vec = out.as_mut_ptr() as u64;
        arg.vec_len = out.len() as u64;
    }
    // SAFETY: `arg.vec` is null with `vec_len == 0`, or points to `out`,
    // a slice of exactly `vec_len` PageRegions that we borrow mutably for
    // the whole call.
    let n = unsafe { pagemap_scan_raw(fd, arg)? };
    if n > out.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "PAGEMAP_SCAN returned {n} regions for a buffer of {}",
                out.len()
            ),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn ioctl_numbers() {
        assert_eq!(PAGEMAP_SCAN, 0xc060_6610);
        assert_eq!(io(0xaa, 0), 0xaa00);
        assert_eq!(ior(0xaa, 1, 16), 0x8010_aa01);
    }

    #[test]
    fn layout() {
        assert_eq!(size_of::<PmScanArg>(), 96);
        assert_eq!(offset_of!(PmScanArg, walk_end), 32);
        assert_eq!(offset_of!(PmScanArg, vec), 40);
        assert_eq!(offset_of!(PmScanArg, max_pages), 56);
        assert_eq!(offset_of!(PmScanArg, return_mask), 88);
        assert_eq!(size_of::<PageRegion>(), 24);
        assert_eq!(offset_of!(PageRegion, categories), 16);
        assert_eq!(PmScanArg::new().size, 96);
    }

    #[test]
    fn category_name_roundtrip() {
        for (bit, name) in CATEGORY_NAMES {
            assert_eq!(category_from_name(name), Some(bit));
        }
        assert_eq!(category_from_name("soft_dirty"), Some(PAGE_IS_SOFT_DIRTY));
        assert_eq!(category_from_name("bogus"), None);
        assert_eq!(category_names(0), "-");
        assert_eq!(
            category_names(PAGE_IS_PRESENT | PAGE_IS_FILE),
            "file,present"
        );
        assert_eq!(category_names(1 << 9), "accessed");
        assert_eq!(category_names(1 << 10), "0x400");
        assert_eq!(PAGE_IS_ALL, 0xff);
    }

    #[test]
    fn region_helpers() {
        let r = PageRegion {
            start: 0x1000,
            end: 0x4000,
            categories: 0,
        };
        assert_eq!(r.len(), 0x3000);
        assert_eq!(r.pages(0x1000), 3);
        assert!(!r.is_empty());
        assert!(PageRegion::default().is_empty());
    }
}
