// SPDX-License-Identifier: GPL-2.0
//! userfaultfd asynchronous write-protection (`UFFD_FEATURE_WP_ASYNC`,
//! Linux 6.7+) and [`WriteTracker`], which pairs it with `PAGEMAP_SCAN`.
//!
//! With WP_ASYNC the kernel resolves write faults on write-protected pages
//! itself (no fault message is delivered): it just clears the uffd-wp bit.
//! `PAGEMAP_SCAN` reports such pages as `PAGE_IS_WRITTEN`, and with
//! `PM_SCAN_WP_MATCHING` write-protects them again in the same walk, under
//! the page-table lock, so a write racing with the harvest is either
//! reported now or by the next harvest: never lost.
//!
//! The structures and ioctl numbers below transcribe
//! `include/uapi/linux/userfaultfd.h`.

use std::fs::OpenOptions;
use std::io;
use std::mem::size_of;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::abi::{io as io_nr, ior, iowr, PageRegion, PAGE_IS_WRITTEN};
use crate::error::annotate;
use crate::scan::{Pagemap, Scan};

/// `UFFD_API`.
pub const UFFD_API: u64 = 0xaa;
/// `UFFD_USER_MODE_ONLY` flag of `userfaultfd(2)`.
pub const UFFD_USER_MODE_ONLY: i32 = 1;

/// `UFFD_FEATURE_PAGEFAULT_FLAG_WP`.
pub const UFFD_FEATURE_PAGEFAULT_FLAG_WP: u64 = 1 << 0;
/// `UFFD_FEATURE_WP_HUGETLBFS_SHMEM`: uffd-wp on hugetlbfs and shmem.
pub const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
/// `UFFD_FEATURE_WP_UNPOPULATED`: write-protect unpopulated ptes too.
pub const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
/// `UFFD_FEATURE_POISON`.
pub const UFFD_FEATURE_POISON: u64 = 1 << 14;
/// `UFFD_FEATURE_WP_ASYNC`: the kernel resolves wp faults itself.
pub const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;

/// `UFFDIO_REGISTER_MODE_MISSING`.
pub const UFFDIO_REGISTER_MODE_MISSING: u64 = 1 << 0;
/// `UFFDIO_REGISTER_MODE_WP`.
pub const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
/// `UFFDIO_WRITEPROTECT_MODE_WP`.
pub const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
/// `UFFDIO_WRITEPROTECT_MODE_DONTWAKE`.
pub const UFFDIO_WRITEPROTECT_MODE_DONTWAKE: u64 = 1 << 1;

/// `struct uffdio_api`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioApi {
    /// `UFFD_API`.
    pub api: u64,
    /// Requested features in, all supported features out.
    pub features: u64,
    /// Out: bitmask of supported ioctls.
    pub ioctls: u64,
}

/// `struct uffdio_range`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioRange {
    /// Start address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

/// `struct uffdio_register`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioRegister {
    /// Range to register.
    pub range: UffdioRange,
    /// `UFFDIO_REGISTER_MODE_*`.
    pub mode: u64,
    /// Out: ioctls available on the range.
    pub ioctls: u64,
}

/// `struct uffdio_writeprotect`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioWriteprotect {
    /// Range to (un)protect.
    pub range: UffdioRange,
    /// `UFFDIO_WRITEPROTECT_MODE_*`.
    pub mode: u64,
}

/// `UFFDIO` ioctl type.
pub const UFFDIO: u8 = 0xaa;
/// `UFFDIO_API = _IOWR(0xAA, 0x3F, struct uffdio_api)`.
pub const UFFDIO_API: u64 = iowr(UFFDIO, 0x3f, size_of::<UffdioApi>());
/// `UFFDIO_REGISTER = _IOWR(0xAA, 0x00, struct uffdio_register)`.
pub const UFFDIO_REGISTER: u64 = iowr(UFFDIO, 0x00, size_of::<UffdioRegister>());
/// `UFFDIO_UNREGISTER = _IOR(0xAA, 0x01, struct uffdio_range)`.
pub const UFFDIO_UNREGISTER: u64 = ior(UFFDIO, 0x01, size_of::<UffdioRange>());
/// `UFFDIO_WRITEPROTECT = _IOWR(0xAA, 0x06, struct uffdio_writeprotect)`.
pub const UFFDIO_WRITEPROTECT: u64 = iowr(UFFDIO, 0x06, size_of::<UffdioWriteprotect>());
/// `USERFAULTFD_IOC_NEW = _IO(0xAA, 0x00)` on `/dev/userfaultfd`.
pub const USERFAULTFD_IOC_NEW: u64 = io_nr(UFFDIO, 0x00);

const _: () = assert!(UFFDIO_API == 0xc018_aa3f);
const _: () = assert!(UFFDIO_REGISTER == 0xc020_aa00);
const _: () = assert!(UFFDIO_UNREGISTER == 0x8010_aa01);
const _: () = assert!(UFFDIO_WRITEPROTECT == 0xc018_aa06);
const _: () = assert!(USERFAULTFD_IOC_NEW == 0xaa00);

/// `ioctl(fd, nr, arg)` on a plain-data argument.
///
/// # Safety
///
/// `nr` must be an ioctl whose argument is a `T` the kernel reads and/or
/// writes in place, and nothing else.
unsafe fn ioctl_on<T>(fd: RawFd, nr: u64, arg: &mut T) -> io::Result<i32> {
    // SAFETY: `arg` is a valid exclusive `T`; the caller guarantees the
    // ioctl only accesses that `T`.
    let r = unsafe { libc::ioctl(fd, nr as libc::Ioctl, arg as *mut T as *mut libc::c_void) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn userfaultfd_syscall(flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: userfaultfd(2) takes an integer and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Create a userfaultfd (`O_CLOEXEC | O_NONBLOCK`): the syscall first; on
/// `EPERM` (`vm.unprivileged_userfaultfd=0`) again with
/// `UFFD_USER_MODE_ONLY`, which suffices for WP_ASYNC; then
/// `/dev/userfaultfd`.
pub fn open_userfaultfd() -> io::Result<OwnedFd> {
    let flags = libc::O_CLOEXEC | libc::O_NONBLOCK;
    let first = match userfaultfd_syscall(flags) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    if first.raw_os_error() == Some(libc::EPERM) {
        if let Ok(fd) = userfaultfd_syscall(flags | UFFD_USER_MODE_ONLY) {
            return Ok(fd);
        }
    }
    let dev = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/userfaultfd");
    let dev = match dev {
        Ok(f) => f,
        Err(e) => {
            let msg = format!(
                "cannot create a userfaultfd (syscall: {first}; /dev/userfaultfd: {e}); \
                 CONFIG_USERFAULTFD missing or access denied"
            );
            return Err(annotate(first, msg));
        }
    };
    // SAFETY: USERFAULTFD_IOC_NEW takes the flags as an integer argument
    // and returns a new descriptor.
    let fd = unsafe {
        libc::ioctl(
            dev.as_raw_fd(),
            USERFAULTFD_IOC_NEW as libc::Ioctl,
            flags as libc::c_ulong,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(annotate(
            e,
            "USERFAULTFD_IOC_NEW on /dev/userfaultfd failed",
        ));
    }
    // SAFETY: the ioctl returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The `UFFDIO_API` handshake requesting `features`; returns the kernel's
/// answer (all features it supports, available ioctls).
pub fn uffdio_api(fd: impl AsFd, features: u64) -> io::Result<UffdioApi> {
    let mut api = UffdioApi {
        api: UFFD_API,
        features,
        ioctls: 0,
    };
    // SAFETY: UFFDIO_API reads and writes a `struct uffdio_api`.
    unsafe { ioctl_on(fd.as_fd().as_raw_fd(), UFFDIO_API, &mut api)? };
    Ok(api)
}

/// The userfaultfd features the kernel supports (a handshake with no
/// feature requested on a throw-away userfaultfd).
pub fn supported_features() -> io::Result<u64> {
    let fd = open_userfaultfd()?;
    Ok(uffdio_api(&fd, 0)?.features)
}

fn uffd_range(range: &Range<u64>) -> UffdioRange {
    UffdioRange {
        start: range.start,
        len: range.end.saturating_sub(range.start),
    }
}

/// Write tracking of this process's memory with userfaultfd WP_ASYNC and
/// `PAGEMAP_SCAN`.
///
/// ```no_run
/// # use pagemap_scan::{WriteTracker, mem::Mapping};
/// let mem = Mapping::anon(64)?;
/// let wt = WriteTracker::new()?;
/// wt.register(mem.range())?;       // tracking starts clean
/// mem.write(3, 1);
/// let written = wt.harvest(mem.range())?; // [page 3], now clean again
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteTracker {
    uffd: OwnedFd,
    pagemap: Pagemap,
    features: u64,
}

impl WriteTracker {
    /// Open a userfaultfd with `UFFD_FEATURE_WP_ASYNC |
    /// UFFD_FEATURE_WP_UNPOPULATED` (plus `WP_HUGETLBFS_SHMEM` when the
    /// kernel has it) and `/proc/self/pagemap`. Errors name what is missing.
    pub fn new() -> io::Result<WriteTracker> {
        let supported = supported_features()?;
        let required = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
        if supported & required != required {
            return Err(annotate(
                io::Error::from_raw_os_error(libc::EOPNOTSUPP),
                format!(
                    "userfaultfd lacks WP_ASYNC/WP_UNPOPULATED (features {supported:#x}): \
                     Linux 6.7+ with CONFIG_PTE_MARKER_UFFD_WP is required"
                ),
            ));
        }
        let wanted = required | (supported & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
        let uffd = open_userfaultfd()?;
        let api = uffdio_api(&uffd, wanted)
            .map_err(|e| annotate(e, format!("UFFDIO_API with features {wanted:#x}")))?;
        let pagemap =
            Pagemap::open_self().map_err(|e| annotate(e, "cannot open /proc/self/pagemap"))?;
        Ok(WriteTracker {
            uffd,
            pagemap,
            features: api.features | wanted,
        })
    }

    /// Features in effect (as answered by `UFFDIO_API`).
    pub fn features(&self) -> u64 {
        self.features
    }

    /// The userfaultfd.
    pub fn uffd(&self) -> BorrowedFd<'_> {
        self.uffd.as_fd()
    }

    /// `/proc/self/pagemap`.
    pub fn pagemap(&self) -> &Pagemap {
        &self.pagemap
    }

    /// Register `range` (page aligned, anonymous, shmem or hugetlb memory)
    /// for write-protection and write-protect it, so tracking starts with
    /// no page reported as written.
    pub fn register(&self, range: Range<u64>) -> io::Result<()> {
        let mut reg = UffdioRegister {
            range: uffd_range(&range),
            mode: UFFDIO_REGISTER_MODE_WP,
            ioctls: 0,
        };
        // SAFETY: UFFDIO_REGISTER reads and writes a `struct uffdio_register`.
        unsafe { ioctl_on(self.uffd.as_raw_fd(), UFFDIO_REGISTER, &mut reg) }.map_err(|e| {
            annotate(
                e,
                format!("UFFDIO_REGISTER(WP) of {:#x}-{:#x}", range.start, range.end),
            )
        })?;
        self.write_protect(range, true)
    }

    /// Unregister `range`; its pages are no longer tracked.
    pub fn unregister(&self, range: Range<u64>) -> io::Result<()> {
        let mut r = uffd_range(&range);
        // SAFETY: UFFDIO_UNREGISTER reads a `struct uffdio_range`.
        unsafe { ioctl_on(self.uffd.as_raw_fd(), UFFDIO_UNREGISTER, &mut r) }.map_err(|e| {
            annotate(
                e,
                format!("UFFDIO_UNREGISTER of {:#x}-{:#x}", range.start, range.end),
            )
        })?;
        Ok(())
    }

    /// `UFFDIO_WRITEPROTECT`: set (`protect`) or clear the write-protection
    /// of `range`. Clearing makes every page of it report as written.
    pub fn write_protect(&self, range: Range<u64>, protect: bool) -> io::Result<()> {
        let mut wp = UffdioWriteprotect {
            range: uffd_range(&range),
            mode: if protect {
                UFFDIO_WRITEPROTECT_MODE_WP
            } else {
                0
            },
        };
        // SAFETY: UFFDIO_WRITEPROTECT reads a `struct uffdio_writeprotect`.
        unsafe { ioctl_on(self.uffd.as_raw_fd(), UFFDIO_WRITEPROTECT, &mut wp) }.map_err(|e| {
            annotate(
                e,
                format!("UFFDIO_WRITEPROTECT of {:#x}-{:#x}", range.start, range.end),
            )
        })?;
        Ok(())
    }

    /// The harvest scan of `range`: `category_mask = return_mask =
    /// PAGE_IS_WRITTEN`, `PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC`.
    /// Adjust it (e.g. `max_pages`, `wp_matching(false)` to peek) and run it.
    pub fn scan(&self, range: Range<u64>) -> Scan<'_> {
        self.pagemap
            .scan(range)
            .category_mask(PAGE_IS_WRITTEN)
            .return_mask(PAGE_IS_WRITTEN)
            .wp_matching(true)
            .check_wpasync(true)
    }

    /// Return the written ranges of `range` and write-protect them again,
    /// atomically with respect to concurrent writers. `EPERM` if part of
    /// the range is not registered.
    pub fn harvest(&self, range: Range<u64>) -> io::Result<Vec<Range<u64>>> {
        collect_ranges(self.scan(range))
    }

    /// Return the written ranges of `range` without resetting them.
    pub fn peek(&self, range: Range<u64>) -> io::Result<Vec<Range<u64>>> {
        collect_ranges(self.scan(range).wp_matching(false))
    }

    /// Write-protect every written page of `range` again without reporting
    /// them (a `PAGEMAP_SCAN` with `PM_SCAN_WP_MATCHING` and no output
    /// vector, the kernel's fast path).
    pub fn reset(&self, range: Range<u64>) -> io::Result<()> {
        self.scan(range).vec_capacity(0).run().map(|_| ())
    }
}

fn collect_ranges(scan: Scan<'_>) -> io::Result<Vec<Range<u64>>> {
    scan.regions()
        .map(|r| r.map(|r: PageRegion| r.start..r.end))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        assert_eq!(size_of::<UffdioApi>(), 24);
        assert_eq!(size_of::<UffdioRange>(), 16);
        assert_eq!(size_of::<UffdioRegister>(), 32);
        assert_eq!(size_of::<UffdioWriteprotect>(), 24);
    }
}
