// SPDX-License-Identifier: GPL-2.0
//! Memory mappings for tests and samples: anonymous, memfd-backed (shmem)
//! and hugetlb mappings whose pages are touched through atomics, so one
//! mapping can be shared between threads; and the sizes they come in, as
//! the running system has them (page, PMD, hugetlb sizes): nothing here
//! assumes x86-64's 4 KiB pages and 2 MiB PMDs.

use std::io;
use std::ops::Range;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The system page size: `sysconf(_SC_PAGESIZE)`, or the `AT_PAGESZ` the
/// kernel put in the auxiliary vector (4 KiB on x86-64, 4, 16 or 64 KiB on
/// arm64, depending on the kernel's configuration).
pub fn page_size() -> u64 {
    static PS: OnceLock<u64> = OnceLock::new();
    *PS.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            return n as u64;
        }
        // SAFETY: getauxval has no memory-safety preconditions.
        let n = unsafe { libc::getauxval(libc::AT_PAGESZ) };
        assert!(
            n.is_power_of_two(),
            "cannot determine the page size (sysconf and AT_PAGESZ failed)"
        );
        n
    })
}

/// Where the kernel says how large a PMD-mapped transparent huge page is.
pub const HPAGE_PMD_SIZE_PATH: &str = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";

/// Size of the memory one PMD entry maps, the size of a PMD-mapped
/// transparent huge page: 2 MiB on x86-64 and arm64 with 4 KiB pages,
/// 512 MiB on arm64 with 64 KiB pages. Read from
/// [`HPAGE_PMD_SIZE_PATH`]; a kernel without THP has no such file, and then
/// it is computed from the page size (a page table is one page of 8-byte
/// entries, true of every 64-bit architecture the project runs on).
pub fn pmd_size() -> u64 {
    static PMD: OnceLock<u64> = OnceLock::new();
    *PMD.get_or_init(|| {
        std::fs::read_to_string(HPAGE_PMD_SIZE_PATH)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|n| n.is_power_of_two() && *n > page_size())
            .unwrap_or_else(|| page_size() * (page_size() / 8))
    })
}

/// One hugetlb page size the kernel offers
/// (`/sys/kernel/mm/hugepages/hugepages-<N>kB/`), with its pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HugetlbSize {
    /// Page size in bytes.
    pub size: u64,
    /// `nr_hugepages`: pages in the pool.
    pub total: u64,
    /// `free_hugepages`: pages of the pool not in use.
    pub free: u64,
    /// `resv_hugepages`: free pages already promised to a mapping.
    pub reserved: u64,
}

impl HugetlbSize {
    /// Pages a new mapping can still get from the pool (free and not
    /// reserved).
    pub fn available(&self) -> u64 {
        self.free.saturating_sub(self.reserved)
    }
}

/// Where the kernel lists its hugetlb page sizes.
pub const HUGEPAGES_DIR: &str = "/sys/kernel/mm/hugepages";

/// Every hugetlb page size of the running kernel, smallest first (empty
/// without `CONFIG_HUGETLBFS`). x86-64 has 2 MiB and 1 GiB; arm64 with
/// 4 KiB pages 64 KiB (contiguous PTEs), 2 MiB (PMD), 32 MiB (contiguous
/// PMDs) and 1 GiB (PUD); with 64 KiB pages 2 MiB (contiguous PTEs),
/// 512 MiB (PMD) and 16 GiB (contiguous PMDs).
pub fn hugetlb_sizes() -> Vec<HugetlbSize> {
    let Ok(dir) = std::fs::read_dir(HUGEPAGES_DIR) else {
        return Vec::new();
    };
    let mut out: Vec<HugetlbSize> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let kib: u64 = name
                .to_str()?
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            let read = |f: &str| -> u64 {
                std::fs::read_to_string(e.path().join(f))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0)
            };
            Some(HugetlbSize {
                size: kib * 1024,
                total: read("nr_hugepages"),
                free: read("free_hugepages"),
                reserved: read("resv_hugepages"),
            })
        })
        .collect();
    out.sort_by_key(|h| h.size);
    out
}

/// The hugetlb page size of the given size in bytes, if the kernel has it.
pub fn hugetlb_size(size: u64) -> Option<HugetlbSize> {
    hugetlb_sizes().into_iter().find(|h| h.size == size)
}

/// The default hugetlb page size (`Hugepagesize` in `/proc/meminfo`), the
/// one `MAP_HUGETLB` without a size gets: the PMD size on x86-64 and arm64
/// (2 MiB with 4 KiB pages, 512 MiB with 64 KiB pages) unless the kernel
/// command line chose another (`default_hugepagesz=`).
pub fn default_hugetlb_size() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let v = s.lines().find_map(|l| l.strip_prefix("Hugepagesize:"))?;
    let kib: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The `mmap` flags asking for a hugetlb page of `size` bytes (a power of
/// two): `MAP_HUGETLB | log2(size) << MAP_HUGE_SHIFT`.
pub fn map_huge_flags(size: u64) -> i32 {
    assert!(size.is_power_of_two(), "hugetlb size {size:#x}");
    libc::MAP_HUGETLB | ((size.trailing_zeros() as i32) << libc::MAP_HUGE_SHIFT)
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

    /// `len` bytes of private hugetlb memory of the default huge page size
    /// ([`default_hugetlb_size`]). Fails with `ENOMEM` when no huge pages
    /// are reserved. Code that needs a given size (the PMD size, say: the
    /// default is not it everywhere) uses [`Mapping::hugetlb_sized`].
    pub fn hugetlb(len: usize) -> io::Result<Mapping> {
        let ptr = mmap(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB,
            -1,
        )?;
        Ok(Mapping { ptr, len })
    }

    /// `len` bytes (a multiple of `huge_size`) of private hugetlb memory
    /// in pages of `huge_size` bytes, asked for explicitly
    /// ([`map_huge_flags`]). Fails with `EINVAL` for a size the kernel does
    /// not have, `ENOMEM` when its pool has too few pages.
    pub fn hugetlb_sized(len: usize, huge_size: u64) -> io::Result<Mapping> {
        if !huge_size.is_power_of_two() || !(len as u64).is_multiple_of(huge_size) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let ptr = mmap(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | map_huge_flags(huge_size),
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
        // here (NOHUGEPAGE, HUGEPAGE, PAGEOUT, DONTNEED, DONTFORK, DONTDUMP)
        // never make memory we hand out references to invalid: DONTNEED
        // refills with zeros, DONTFORK and DONTDUMP only keep the range out
        // of a child and a core dump.
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
    use crate::errno;

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
    fn sizes_from_the_system() {
        let ps = page_size();
        assert!(ps.is_power_of_two() && ps >= 4096);
        assert!(pmd_size().is_power_of_two() && pmd_size() > ps);
        if let Ok(s) = std::fs::read_to_string(HPAGE_PMD_SIZE_PATH) {
            assert_eq!(s.trim().parse::<u64>().ok(), Some(pmd_size()));
        }
        for h in hugetlb_sizes() {
            assert!(h.size.is_power_of_two() && h.size > ps, "{h:?}");
            assert!(h.free <= h.total, "{h:?}");
        }
        if let Some(d) = default_hugetlb_size() {
            assert!(
                hugetlb_size(d).is_some(),
                "default {d} not in {HUGEPAGES_DIR}"
            );
        }
        assert_eq!(
            map_huge_flags(2 << 20),
            libc::MAP_HUGETLB | (21 << libc::MAP_HUGE_SHIFT)
        );
        assert_eq!(
            errno(&Mapping::hugetlb_sized(3 << 20, 2 << 20).unwrap_err()),
            Some(libc::EINVAL)
        );
    }

    #[test]
    fn memfd_shared() {
        let m = Mapping::memfd(2).unwrap();
        m.write(1, 5);
        assert_eq!(m.read(1), 5);
    }
}
