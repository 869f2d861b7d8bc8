// SPDX-License-Identifier: GPL-2.0
//! Memory mappings for tests and samples: anonymous, memfd-backed (shmem)
//! and hugetlb mappings whose pages are touched through atomics, so one
//! mapping can be shared between threads.

use std::io;
use std::ops::Range;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The system page size.
pub fn page_size() -> u64 {
    static PS: OnceLock<u64> = OnceLock::new();
    *PS.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            n as u64
        } else {
            4096
        }
    })
}

/// Size of a PMD-mapped transparent huge page (2 MiB on x86-64).
pub fn pmd_size() -> u64 {
    page_size() * (page_size() / 8)
}

/// An owned `mmap` region, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; every access
// through the API is an atomic load or store, so sharing it between
// threads cannot race.
unsafe impl Send for Mapping {}
// SAFETY: as above, `&Mapping` only allows atomic accesses.
unsafe impl Sync for Mapping {}

fn mmap(len: usize, prot: i32, flags: i32, fd: i32) -> io::Result<*mut u8> {
    // SAFETY: requesting a fresh mapping at an address of the kernel's
    // choosing (no MAP_FIXED) cannot affect existing memory.
    let p = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(p as *mut u8)
    }
}

impl Mapping {
    /// `pages` private anonymous read-write pages, with transparent huge
    /// pages disabled (`MADV_NOHUGEPAGE`) so page-granular tests are exact.
    pub fn anon(pages: usize) -> io::Result<Mapping> {
        let m = Self::anon_thp_allowed(pages)?;
        m.madvise(0..pages, libc::MADV_NOHUGEPAGE)?;
        Ok(m)
    }

    /// `pages` private anonymous read-write pages, THP left to the system
    /// policy.
    pub fn anon_thp_allowed(pages: usize) -> io::Result<Mapping> {
        let len = pages * page_size() as usize;
        let ptr = mmap(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
        )?;
        Ok(Mapping { ptr, len })
    }

    /// Anonymous read-write memory of `len` bytes starting at a multiple of
    /// `align` (a power of two), with `MADV_HUGEPAGE` applied: the shape
    /// a THP needs.
    pub fn anon_aligned_huge(len: usize, align: usize) -> io::Result<Mapping> {
        let total = len + align;
        let base = mmap(
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
        )?;
        let addr = base as usize;
        let aligned = (addr + align - 1) & !(align - 1);
        let head = aligned - addr;
        let tail = total - head - len;
        // SAFETY: both ranges lie inside the mapping just created and not
        // yet shared with anyone.
        unsafe {
            if head > 0 {
                libc::munmap(base as *mut libc::c_void, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
        }
        let m = Mapping {
            ptr: aligned as *mut u8,
            len,
        };
        m.madvise(0..m.pages(), libc::MADV_HUGEPAGE)?;
        Ok(m)
    }

    /// `pages` shared pages of a fresh memfd (shmem: reported as
    /// `PAGE_IS_FILE`).
    pub fn memfd(pages: usize) -> io::Result<Mapping> {
        let len = pages * page_size() as usize;
        // SAFETY: the name is a NUL-terminated literal.
        let fd = unsafe { libc::memfd_create(c"pagemap-scan".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a file descriptor we just created and own.
        let r = unsafe { libc::ftruncate(fd, len as libc::off_t) };
        let res = if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            mmap(
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
            )
        };
        // SAFETY: closing our own descriptor; the mapping keeps the file.
        unsafe { libc::close(fd) };
        Ok(Mapping { ptr: res?, len })
    }

    /// `len` bytes of private hugetlb memory (default huge page size).
    /// Fails with `ENOMEM` when no huge pages are reserved.
    pub fn hugetlb(len: usize) -> io::Result<Mapping> {
        let ptr = mmap(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB,
            -1,
        )?;
        Ok(Mapping { ptr, len })
    }

    /// Start address.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length mapping (never produced by the constructors).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of base pages.
    pub fn pages(&self) -> usize {
        self.len / page_size() as usize
    }

    /// Address of page `i`.
    pub fn page(&self, i: usize) -> u64 {
        self.addr() + i as u64 * page_size()
    }

    /// The whole mapping as an address range.
    pub fn range(&self) -> Range<u64> {
        self.addr()..self.addr() + self.len as u64
    }

    /// Pages `pages` as an address range.
    pub fn page_range(&self, pages: Range<usize>) -> Range<u64> {
        self.page(pages.start)..self.page(pages.end)
    }

    fn word(&self, i: usize, byte_offset: usize) -> &AtomicU64 {
        assert!(i < self.pages(), "page {i} out of range");
        assert!(byte_offset.is_multiple_of(8) && byte_offset < page_size() as usize);
        let off = i * page_size() as usize + byte_offset;
        // SAFETY: `off` is inside the mapping (checked above), 8-byte
        // aligned (pages are aligned), and the memory stays mapped for the
        // lifetime of `&self`; it is only ever accessed atomically.
        unsafe { AtomicU64::from_ptr(self.ptr.add(off) as *mut u64) }
    }

    /// Store `value` in the first word of page `i` (faults the page in for
    /// writing).
    pub fn write(&self, i: usize, value: u64) {
        self.word(i, 0).store(value, Ordering::Relaxed);
    }

    /// Store `value` at `byte_offset` (a multiple of 8) of page `i`.
    pub fn write_at(&self, i: usize, byte_offset: usize, value: u64) {
        self.word(i, byte_offset).store(value, Ordering::Relaxed);
    }

    /// Load the first word of page `i` (a read fault maps the zero page on
    /// untouched anonymous memory).
    pub fn read(&self, i: usize) -> u64 {
        self.word(i, 0).load(Ordering::Relaxed)
    }

    /// `madvise(advice)` on pages `pages`.
    pub fn madvise(&self, pages: Range<usize>, advice: i32) -> io::Result<()> {
        let r = self.page_range(pages);
        // SAFETY: the range lies inside our mapping; the advice values used
        // here (NOHUGEPAGE, HUGEPAGE, PAGEOUT, DONTNEED) never make memory
        // we hand out references to invalid: DONTNEED refills with zeros.
        let ret = unsafe {
            libc::madvise(
                r.start as *mut libc::c_void,
                (r.end - r.start) as usize,
                advice,
            )
        };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region this value owns; no
        // reference into it can outlive `self`.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anon_read_write() {
        let m = Mapping::anon(4).unwrap();
        assert_eq!(m.pages(), 4);
        assert_eq!(m.addr() % page_size(), 0);
        assert_eq!(m.read(2), 0);
        m.write(2, 42);
        m.write_at(3, 8, 7);
        assert_eq!(m.read(2), 42);
        assert_eq!(
            m.page_range(1..3).end - m.page_range(1..3).start,
            2 * page_size()
        );
    }

    #[test]
    fn aligned() {
        let m = Mapping::anon_aligned_huge(pmd_size() as usize, pmd_size() as usize).unwrap();
        assert_eq!(m.addr() % pmd_size(), 0);
        m.write(0, 1);
    }

    #[test]
    fn memfd_shared() {
        let m = Mapping::memfd(2).unwrap();
        m.write(1, 5);
        assert_eq!(m.read(1), 5);
    }
}
