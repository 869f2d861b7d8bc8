// SPDX-License-Identifier: GPL-2.0
//! `Pagemap`, the `Scan` builder and the `Regions` iterator.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};

use crate::abi::{pagemap_scan, PageRegion, PmScanArg, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING};
use crate::mem::{page_size, pmd_size};

/// Default number of `PageRegion`s per ioctl. With 4 KiB pages (x86-64,
/// arm64 4K) it is twice the C kernel's bounce buffer (`PMD_SIZE /
/// PAGE_SIZE` = 512 entries), so a single call can cross a flush; with
/// 64 KiB pages that buffer has 8192 entries (capped at `vec_len`).
pub const DEFAULT_VEC_CAPACITY: usize = 1024;

/// The number of entries of the C kernel's bounce buffer for a `vec_len`
/// at least that large: `PMD_SIZE / PAGE_SIZE` (512 with 4 KiB pages, 8192
/// with 64 KiB pages). A scan with more regions than this, and room for
/// them, flushes it within one ioctl (see the crate docs on `walk_end`).
pub fn c_bounce_buffer_len() -> usize {
    (pmd_size() / page_size()) as usize
}

/// An open `/proc/PID/pagemap`, the file `PAGEMAP_SCAN` is issued on.
#[derive(Debug)]
pub struct Pagemap {
    file: File,
    pid: Option<u32>,
}

impl Pagemap {
    /// Open `/proc/PID/pagemap` read-only. Needs ptrace-read access to
    /// the process (`EACCES`/`EPERM` otherwise, `ENOENT` if it does not exist).
    pub fn open(pid: u32) -> io::Result<Pagemap> {
        let file = File::open(format!("/proc/{pid}/pagemap"))?;
        Ok(Pagemap {
            file,
            pid: Some(pid),
        })
    }

    /// Open `/proc/self/pagemap`.
    pub fn open_self() -> io::Result<Pagemap> {
        let file = File::open("/proc/self/pagemap")?;
        Ok(Pagemap { file, pid: None })
    }

    /// The process this pagemap belongs to (`None` for `open_self`).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the address space this pagemap was opened on still exists:
    /// an empty `PAGEMAP_SCAN` (`start = end = 0`) answers `ESRCH` once it
    /// is gone (the process exited, or replaced it with `execve()`), before
    /// anything else is looked at. A scan that ran meanwhile may have seen
    /// the address space half torn down: check after it.
    pub fn is_alive(&self) -> io::Result<bool> {
        match self.scan(0..0).vec_capacity(0).run() {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A scan of `range` with everything else at the kernel's defaults:
    /// no filter, `return_mask` 0, no flags, no page limit,
    /// [`DEFAULT_VEC_CAPACITY`] output entries per ioctl.
    pub fn scan(&self, range: Range<u64>) -> Scan<'_> {
        Scan {
            pagemap: self,
            start: range.start,
            end: range.end,
            flags: 0,
            max_pages: 0,
            category_inverted: 0,
            category_mask: 0,
            category_anyof_mask: 0,
            return_mask: 0,
            vec_capacity: DEFAULT_VEC_CAPACITY,
            coalesce: true,
            limit: 0,
        }
    }
}

impl AsFd for Pagemap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Parameters of a `PAGEMAP_SCAN` call, built with chained setters.
///
/// ```no_run
/// # use pagemap_scan::*;
/// let pm = Pagemap::open_self()?;
/// // (The start must be page aligned: page_size(), not 0x1000, which is
/// // not a page boundary with 16 KiB or 64 KiB pages.)
/// for r in pm.scan(page_size()..0x7fff_0000_0000)
///     .category_mask(PAGE_IS_PRESENT)
///     .return_mask(PAGE_IS_ALL)
///     .regions()
/// {
///     let r = r?;
///     println!("{:#x}-{:#x} {}", r.start, r.end, category_names(r.categories));
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Scan<'a> {
    pagemap: &'a Pagemap,
    start: u64,
    end: u64,
    flags: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
    vec_capacity: usize,
    coalesce: bool,
    limit: u64,
}

impl<'a> Scan<'a> {
    /// The address range (start must be page aligned; the kernel rounds the
    /// end up to a page).
    pub fn range(mut self, range: Range<u64>) -> Self {
        self.start = range.start;
        self.end = range.end;
        self
    }

    /// Pages must have all of these categories (after inversion).
    pub fn category_mask(mut self, mask: u64) -> Self {
        self.category_mask = mask;
        self
    }

    /// Pages must have at least one of these categories (0: no condition).
    pub fn category_anyof_mask(mut self, mask: u64) -> Self {
        self.category_anyof_mask = mask;
        self
    }

    /// Categories that match when clear rather than set.
    pub fn category_inverted(mut self, mask: u64) -> Self {
        self.category_inverted = mask;
        self
    }

    /// Categories reported in each region (regions are split where any of
    /// them changes).
    pub fn return_mask(mut self, mask: u64) -> Self {
        self.return_mask = mask;
        self
    }

    /// Raw `PM_SCAN_*` flags (unknown bits are passed through, for tests).
    pub fn flags(mut self, flags: u64) -> Self {
        self.flags = flags;
        self
    }

    /// Set or clear `PM_SCAN_WP_MATCHING`: write-protect what is reported.
    pub fn wp_matching(mut self, on: bool) -> Self {
        self.set_flag(PM_SCAN_WP_MATCHING, on);
        self
    }

    /// Set or clear `PM_SCAN_CHECK_WPASYNC`: fail with `EPERM` on VMAs not
    /// registered for uffd-wp async.
    pub fn check_wpasync(mut self, on: bool) -> Self {
        self.set_flag(PM_SCAN_CHECK_WPASYNC, on);
        self
    }

    fn set_flag(&mut self, flag: u64, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// Report at most `n` pages per ioctl (0: unlimited). With
    /// [`Scan::regions`] this is a batch size: the iterator goes on until
    /// the whole range is covered.
    pub fn max_pages(mut self, n: u64) -> Self {
        self.max_pages = n;
        self
    }

    /// Stop [`Scan::regions`] after `n` pages in total (0: no limit). Each
    /// ioctl then asks for at most the pages still missing, so with
    /// `PM_SCAN_WP_MATCHING` exactly the pages returned are write-protected
    /// (Wine's `GetWriteWatch` with a count). [`Regions::resume_at`] tells
    /// where a follow-up scan would continue.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = n;
        self
    }

    /// Number of `PageRegion` slots passed to each ioctl (`vec_len`);
    /// 0 passes no vector at all (a walk that only write-protects).
    pub fn vec_capacity(mut self, n: usize) -> Self {
        self.vec_capacity = n;
        self
    }

    /// Whether [`Scan::regions`] merges adjacent regions with equal
    /// categories that came from different ioctl calls (default: yes, so the
    /// result does not depend on `vec_capacity`/`max_pages`/bounce-buffer
    /// boundaries).
    pub fn coalesce(mut self, on: bool) -> Self {
        self.coalesce = on;
        self
    }

    /// The ioctl argument this scan issues (without `vec`/`vec_len`).
    pub fn arg(&self) -> PmScanArg {
        PmScanArg {
            flags: self.flags,
            start: self.start,
            end: self.end,
            max_pages: self.max_pages,
            category_inverted: self.category_inverted,
            category_mask: self.category_mask,
            category_anyof_mask: self.category_anyof_mask,
            return_mask: self.return_mask,
            ..PmScanArg::new()
        }
    }

    /// The pagemap this scan runs on.
    pub fn pagemap(&self) -> &'a Pagemap {
        self.pagemap
    }

    /// Issue exactly one ioctl; return the regions written and `walk_end`.
    pub fn run(&self) -> io::Result<(Vec<PageRegion>, u64)> {
        let mut buf = vec![PageRegion::default(); self.vec_capacity];
        let mut arg = self.arg();
        let n = pagemap_scan(self.pagemap, &mut arg, &mut buf)?;
        buf.truncate(n);
        Ok((buf, arg.walk_end))
    }

    /// Iterate over all matching regions of the range, issuing as many
    /// ioctls as needed (see the crate documentation on `walk_end`).
    pub fn regions(&self) -> Regions<'a> {
        let ps = page_size();
        let end = self
            .end
            .checked_add(ps - 1)
            .map_or(self.end, |e| e & !(ps - 1));
        Regions {
            scan: self.clone(),
            next: self.start,
            end,
            buf: vec![PageRegion::default(); self.vec_capacity],
            pos: 0,
            len: 0,
            pending: None,
            error: None,
            finished: false,
            started: false,
            calls: 0,
            stale: 0,
            remaining: (self.limit > 0).then_some(self.limit),
        }
    }

    /// All regions of [`Scan::regions`], or the first error.
    pub fn collect(&self) -> io::Result<Vec<PageRegion>> {
        self.regions().collect()
    }
}

/// Iterator over the regions of a [`Scan`]; see [`Scan::regions`].
///
/// Each ioctl restarts at `max(walk_end, end of the last region returned)`
/// so regions are never reported twice, even by kernels returning a stale
/// `walk_end`. Results are checked: a kernel answer with regions out of
/// order or outside the range, or a `walk_end` outside it, or no progress,
/// ends the iteration with an `InvalidData` error. OS errors keep their
/// errno ([`io::Error::raw_os_error`]).
#[derive(Debug)]
pub struct Regions<'a> {
    scan: Scan<'a>,
    next: u64,
    end: u64,
    buf: Vec<PageRegion>,
    pos: usize,
    len: usize,
    pending: Option<PageRegion>,
    error: Option<io::Error>,
    finished: bool,
    started: bool,
    calls: usize,
    stale: usize,
    remaining: Option<u64>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Regions<'_> {
    /// Number of ioctls issued so far.
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// Where the next ioctl starts: the scanned prefix ends here.
    pub fn resume_at(&self) -> u64 {
        self.next
    }

    /// How many ioctls returned a `walk_end` below the end of the regions
    /// they returned (the C bounce-buffer defect, see the crate docs).
    pub fn stale_walk_end_events(&self) -> usize {
        self.stale
    }

    fn refill(&mut self) -> io::Result<bool> {
        // A zero-length range still gets one ioctl, so that argument errors
        // (bad flags, unaligned start) are reported.
        if self.started && self.next >= self.end {
            return Ok(false);
        }
        if self.remaining == Some(0) {
            return Ok(false);
        }
        self.started = true;
        let start = self.next;
        let mut arg = self.scan.arg();
        arg.start = start;
        if let Some(rem) = self.remaining {
            if arg.max_pages == 0 || arg.max_pages > rem {
                arg.max_pages = rem;
            }
        }
        let n = pagemap_scan(self.scan.pagemap, &mut arg, &mut self.buf)?;
        self.calls += 1;
        let walk_end = arg.walk_end;
        if walk_end < start || walk_end > self.end.max(start) {
            return Err(invalid(format!(
                "PAGEMAP_SCAN returned walk_end {walk_end:#x} outside [{start:#x}, {:#x}]",
                self.end
            )));
        }
        let mut prev_end = start;
        for r in &self.buf[..n] {
            if r.start < prev_end || r.end <= r.start || r.end > self.end {
                return Err(invalid(format!(
                    "PAGEMAP_SCAN returned region {:#x}-{:#x} out of order or outside \
                     [{prev_end:#x}, {:#x})",
                    r.start, r.end, self.end
                )));
            }
            prev_end = r.end;
        }
        if walk_end < prev_end {
            self.stale += 1;
        }
        let ps = page_size();
        let got: u64 = self.buf[..n].iter().map(|r| r.pages(ps)).sum();
        if arg.max_pages != 0 && got > arg.max_pages {
            return Err(invalid(format!(
                "PAGEMAP_SCAN returned {got} pages with max_pages {}",
                arg.max_pages
            )));
        }
        if let Some(rem) = self.remaining.as_mut() {
            *rem -= got;
        }
        let resume = walk_end.max(prev_end);
        if resume <= start && start < self.end {
            return Err(invalid(format!(
                "PAGEMAP_SCAN made no progress at {start:#x} (walk_end {walk_end:#x}, {n} regions)"
            )));
        }
        self.next = resume;
        self.pos = 0;
        self.len = n;
        Ok(true)
    }
}

impl Iterator for Regions<'_> {
    type Item = io::Result<PageRegion>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos < self.len {
                let r = self.buf[self.pos];
                self.pos += 1;
                if !self.scan.coalesce {
                    return Some(Ok(r));
                }
                match &mut self.pending {
                    Some(p) if p.end == r.start && p.categories == r.categories => p.end = r.end,
                    Some(p) => {
                        let out = *p;
                        self.pending = Some(r);
                        return Some(Ok(out));
                    }
                    None => self.pending = Some(r),
                }
                continue;
            }
            if self.finished {
                if let Some(p) = self.pending.take() {
                    return Some(Ok(p));
                }
                return self.error.take().map(Err);
            }
            match self.refill() {
                Ok(true) => {}
                Ok(false) => self.finished = true,
                Err(e) => {
                    self.finished = true;
                    self.error = Some(e);
                }
            }
        }
    }
}

impl std::iter::FusedIterator for Regions<'_> {}
