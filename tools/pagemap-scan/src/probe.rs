// SPDX-License-Identifier: GPL-2.0
//! What the running kernel supports: `PAGEMAP_SCAN`, userfaultfd WP_ASYNC,
//! soft-dirty tracking, THP and swap.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;

use crate::abi::{PAGE_IS_PRESENT, PAGE_IS_WRITTEN};
use crate::error::{annotate, errno};
use crate::mem::{page_size, Mapping};
use crate::scan::Pagemap;
use crate::uffd::{
    supported_features, UFFD_FEATURE_WP_ASYNC, UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
    UFFD_FEATURE_WP_UNPOPULATED,
};

/// Whether a feature is usable, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// Usable.
    Yes,
    /// Not usable; the string names the cause.
    No(String),
}

impl Support {
    /// True for [`Support::Yes`].
    pub fn is_yes(&self) -> bool {
        matches!(self, Support::Yes)
    }

    /// The cause, for [`Support::No`].
    pub fn reason(&self) -> Option<&str> {
        match self {
            Support::Yes => None,
            Support::No(s) => Some(s),
        }
    }
}

impl fmt::Display for Support {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Support::Yes => f.write_str("yes"),
            Support::No(why) => write!(f, "no ({why})"),
        }
    }
}

/// The result of [`probe`].
#[derive(Clone, Debug)]
pub struct Features {
    /// The `PAGEMAP_SCAN` ioctl on `/proc/self/pagemap`.
    pub pagemap_scan: Support,
    /// userfaultfd with `UFFD_FEATURE_WP_ASYNC` and `WP_UNPOPULATED`.
    pub uffd_wp_async: Support,
    /// `UFFD_FEATURE_WP_HUGETLBFS_SHMEM` (uffd-wp on shmem/hugetlb).
    pub uffd_wp_hugetlbfs_shmem: bool,
    /// All userfaultfd features the kernel reports (0 if none).
    pub uffd_features: u64,
    /// Soft-dirty bits (`CONFIG_MEM_SOFT_DIRTY`), checked through the
    /// pagemap read interface (bit 55), independently of `PAGEMAP_SCAN`.
    pub soft_dirty: Support,
    /// The transparent huge page mode (`always`, `madvise`, `never`), if any.
    pub thp: Option<String>,
    /// Whether a swap area is active (`/proc/swaps`).
    pub swap: bool,
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "PAGEMAP_SCAN ioctl:         {}", self.pagemap_scan)?;
        writeln!(f, "userfaultfd WP_ASYNC:       {}", self.uffd_wp_async)?;
        writeln!(
            f,
            "uffd WP_HUGETLBFS_SHMEM:    {}",
            if self.uffd_wp_hugetlbfs_shmem {
                "yes"
            } else {
                "no"
            }
        )?;
        writeln!(f, "userfaultfd features:       {:#x}", self.uffd_features)?;
        writeln!(f, "soft-dirty:                 {}", self.soft_dirty)?;
        writeln!(
            f,
            "transparent huge pages:     {}",
            self.thp.as_deref().unwrap_or("not available")
        )?;
        write!(
            f,
            "swap:                       {}",
            if self.swap { "active" } else { "none" }
        )
    }
}

/// Explain a `PAGEMAP_SCAN` failure in words.
pub fn explain_scan_error(e: &io::Error) -> String {
    match errno(e) {
        Some(libc::ENOTTY) => "the kernel has no PAGEMAP_SCAN ioctl (ENOTTY): Linux 6.7 or newer \
                               with CONFIG_PROC_PAGE_MONITOR is required"
            .to_string(),
        Some(libc::EINVAL) => format!(
            "the kernel rejected the PAGEMAP_SCAN argument (EINVAL): kernel too old or ABI \
             mismatch ({e})"
        ),
        Some(libc::ENOENT) => "no such file: /proc is not mounted or the kernel lacks \
                               CONFIG_PROC_PAGE_MONITOR (no /proc/PID/pagemap)"
            .to_string(),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            format!("permission denied ({e}): ptrace read access to the process is required")
        }
        _ => format!("PAGEMAP_SCAN failed: {e}"),
    }
}

/// Check that `PAGEMAP_SCAN` works: a page written just before must be
/// reported present. The error names the cause and keeps the errno.
pub fn check_pagemap_scan() -> io::Result<()> {
    let pm = Pagemap::open_self().map_err(|e| {
        let why = explain_scan_error(&e);
        annotate(e, format!("cannot open /proc/self/pagemap: {why}"))
    })?;
    let m = Mapping::anon(1)?;
    m.write(0, 1);
    let (regions, _) = pm
        .scan(m.range())
        .category_mask(PAGE_IS_PRESENT)
        .return_mask(PAGE_IS_PRESENT)
        .vec_capacity(4)
        .run()
        .map_err(|e| {
            let why = explain_scan_error(&e);
            annotate(e, why)
        })?;
    if regions.len() != 1 || regions[0].start != m.addr() || regions[0].end != m.range().end {
        return Err(io::Error::other(format!(
            "PAGEMAP_SCAN misreports a freshly written page: {regions:?}"
        )));
    }
    Ok(())
}

/// Check userfaultfd WP_ASYNC end to end: register a page, write it, and
/// expect a `PAGE_IS_WRITTEN` report.
fn check_wp_async(features: u64) -> Support {
    let need = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
    if features & need != need {
        return Support::No(format!(
            "userfaultfd features {features:#x} lack WP_ASYNC/WP_UNPOPULATED: Linux 6.7+ \
             with CONFIG_PTE_MARKER_UFFD_WP is required"
        ));
    }
    let run = || -> io::Result<bool> {
        let wt = crate::uffd::WriteTracker::new()?;
        let m = Mapping::anon(1)?;
        wt.register(m.range())?;
        m.write(0, 1);
        let (r, _) = wt
            .pagemap()
            .scan(m.range())
            .category_mask(PAGE_IS_WRITTEN)
            .return_mask(PAGE_IS_WRITTEN)
            .vec_capacity(1)
            .run()?;
        Ok(r.len() == 1)
    };
    match run() {
        Ok(true) => Support::Yes,
        Ok(false) => Support::No("a write to a registered page was not reported".into()),
        Err(e) => Support::No(e.to_string()),
    }
}

/// Bit 55 of a `/proc/PID/pagemap` entry: pte is soft-dirty.
const PM_SOFT_DIRTY: u64 = 1 << 55;
/// Bit 63 of a `/proc/PID/pagemap` entry: page present.
const PM_PRESENT: u64 = 1 << 63;

/// The 64-bit `/proc/self/pagemap` entry of `addr`, read with `pread`.
pub fn pagemap_entry(addr: u64) -> io::Result<u64> {
    let f = File::open("/proc/self/pagemap")?;
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, addr / page_size() * 8)?;
    Ok(u64::from_ne_bytes(b))
}

/// Soft-dirty support: a freshly written page carries the soft-dirty bit
/// iff the kernel has `CONFIG_MEM_SOFT_DIRTY`.
pub fn check_soft_dirty() -> Support {
    let run = || -> io::Result<Support> {
        let m = Mapping::anon(1)?;
        m.write(0, 1);
        let e = pagemap_entry(m.addr())?;
        if e & PM_PRESENT == 0 {
            return Ok(Support::No("probe page not present".into()));
        }
        if e & PM_SOFT_DIRTY == 0 {
            return Ok(Support::No(
                "written pages carry no soft-dirty bit: kernel built without \
                 CONFIG_MEM_SOFT_DIRTY"
                    .into(),
            ));
        }
        Ok(Support::Yes)
    };
    run().unwrap_or_else(|e| Support::No(format!("cannot read /proc/self/pagemap: {e}")))
}

/// The bracketed mode of `/sys/kernel/mm/transparent_hugepage/enabled`.
pub fn thp_mode() -> Option<String> {
    let s = fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let a = s.find('[')?;
    let b = s[a..].find(']')?;
    Some(s[a + 1..a + b].to_string())
}

/// Whether `/proc/swaps` lists an active swap area.
pub fn swap_active() -> bool {
    fs::read_to_string("/proc/swaps")
        .map(|s| s.lines().skip(1).any(|l| !l.trim().is_empty()))
        .unwrap_or(false)
}

/// The category bits beyond [`PAGE_IS_ALL`](crate::PAGE_IS_ALL) that the
/// running kernel accepts ([`PAGE_IS_GUARD`](crate::PAGE_IS_GUARD),
/// [`PAGE_IS_ACCESSED`](crate::PAGE_IS_ACCESSED)): an empty scan with the
/// bit in its `return_mask` fails with `EINVAL` where the kernel does not
/// know it. 0 when the scan cannot be issued at all.
pub fn extra_categories(pm: &crate::Pagemap) -> u64 {
    [crate::PAGE_IS_GUARD, crate::PAGE_IS_ACCESSED]
        .into_iter()
        .filter(|&bit| pm.scan(0..0).return_mask(bit).vec_capacity(0).run().is_ok())
        .fold(0, |m, bit| m | bit)
}

/// Probe everything; never fails, causes are in the [`Support::No`] values.
pub fn probe() -> Features {
    let pagemap_scan = match check_pagemap_scan() {
        Ok(()) => Support::Yes,
        Err(e) => Support::No(e.to_string()),
    };
    let (uffd_features, uffd_wp_async) = match supported_features() {
        Ok(f) => (f, check_wp_async(f)),
        Err(e) => (0, Support::No(e.to_string())),
    };
    let uffd_wp_async = match (&pagemap_scan, uffd_wp_async) {
        (Support::No(_), Support::Yes) => {
            Support::No("userfaultfd has WP_ASYNC but PAGEMAP_SCAN is missing".into())
        }
        (_, s) => s,
    };
    Features {
        pagemap_scan,
        uffd_wp_async,
        uffd_wp_hugetlbfs_shmem: uffd_features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM != 0,
        uffd_features,
        soft_dirty: check_soft_dirty(),
        thp: thp_mode(),
        swap: swap_active(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_enotty() {
        let s = explain_scan_error(&io::Error::from_raw_os_error(libc::ENOTTY));
        assert!(s.contains("6.7"));
    }

    #[test]
    fn support_display() {
        assert_eq!(Support::Yes.to_string(), "yes");
        assert_eq!(Support::No("x".into()).to_string(), "no (x)");
        assert_eq!(Support::No("x".into()).reason(), Some("x"));
    }
}
