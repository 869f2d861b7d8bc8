// SPDX-License-Identifier: GPL-2.0
//! What the running kernel supports: `PAGEMAP_SCAN`, userfaultfd WP_ASYNC,
//! soft-dirty tracking (and whether its architecture can have it at all),
//! THP, hugetlb sizes and swap.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;

use crate::abi::{PAGE_IS_PRESENT, PAGE_IS_WRITTEN};
use crate::error::{annotate, errno};
use crate::mem::{hugetlb_sizes, page_size, pmd_size, HugetlbSize, Mapping};
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
    /// pagemap read interface (bit 55), independently of `PAGEMAP_SCAN`
    /// (details, such as an architecture without them: [`soft_dirty`]).
    pub soft_dirty: Support,
    /// The kernel's architecture (`uname -m`).
    pub machine: String,
    /// The base page size.
    pub page_size: u64,
    /// What one PMD maps, the size of a PMD-mapped THP.
    pub pmd_size: u64,
    /// The hugetlb page sizes and their pools, smallest first.
    pub hugetlb: Vec<HugetlbSize>,
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
        writeln!(f, "architecture:               {}", self.machine)?;
        writeln!(f, "page size:                  {}", kib(self.page_size))?;
        writeln!(f, "PMD (THP) size:             {}", kib(self.pmd_size))?;
        let huge: Vec<String> = self
            .hugetlb
            .iter()
            .map(|h| format!("{} ({} free of {})", kib(h.size), h.free, h.total))
            .collect();
        writeln!(
            f,
            "hugetlb page sizes:         {}",
            if huge.is_empty() {
                "none".to_string()
            } else {
                huge.join(", ")
            }
        )?;
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

/// `bytes` as `4K`, `2M`, `16G` (powers of two, as page sizes are).
fn kib(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => format!("{}G", b >> 30),
        b if b >= 1 << 20 && b.is_multiple_of(1 << 20) => format!("{}M", b >> 20),
        b if b.is_multiple_of(1024) => format!("{}K", b >> 10),
        b => format!("{b}B"),
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

/// The architectures whose kernels can have soft-dirty bits
/// (`HAVE_ARCH_SOFT_DIRTY`, what `CONFIG_MEM_SOFT_DIRTY` depends on), as
/// `uname -m` names them: x86-64, 64-bit powerpc, s390 and (Linux 7.x)
/// riscv. arm64 (`aarch64`) is not one of them: no arm64 kernel tracks
/// soft-dirty pages.
pub const SOFT_DIRTY_MACHINES: [&str; 5] = ["x86_64", "ppc64", "ppc64le", "s390x", "riscv64"];

/// The machine (architecture) of the running kernel, as `uname -m` prints
/// it: `x86_64`, `aarch64`, ... (empty if `uname(2)` fails).
pub fn machine() -> String {
    // SAFETY: utsname is plain data; all-zero bytes are a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let bytes: Vec<u8> = u
        .machine
        .iter()
        .take_while(|&&c| c != 0)
        // c_char is i8 on x86-64, u8 on arm64: no cast fits both.
        .map(|&c| c.to_ne_bytes()[0])
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What the running kernel does about soft-dirty bits: [`soft_dirty`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftDirty {
    /// Whether written pages are reported soft-dirty (pagemap bit 55,
    /// `PAGE_IS_SOFT_DIRTY`); the reason names the cause when not.
    pub support: Support,
    /// When soft-dirty is missing because the kernel's architecture cannot
    /// have it at all (arm64): the architecture (`uname -m`). Such a kernel
    /// never sets `PAGE_IS_SOFT_DIRTY`, and no configuration changes that:
    /// tests check that absence instead of asking for the feature. `None`
    /// when soft-dirty works, or is missing for another reason (a kernel
    /// of an architecture that has it, built without it).
    pub architecture_lacks: Option<String>,
    /// Whether a new mapping carries `sd` in its smaps `VmFlags` (the
    /// kernel marks every new VMA soft-dirty when, and only when, it
    /// tracks soft-dirty); `None` when smaps could not be read.
    pub vma_flag: Option<bool>,
}

/// Soft-dirty support, from two observations of a fresh anonymous page
/// written once: its smaps `VmFlags` (`sd`: the kernel has
/// `CONFIG_MEM_SOFT_DIRTY`), and its `/proc/self/pagemap` entry (bit 55: it
/// is reported soft-dirty). A kernel without soft-dirty is told apart by
/// its architecture: [`SoftDirty::architecture_lacks`] for arm64 and every
/// other architecture not in [`SOFT_DIRTY_MACHINES`].
pub fn soft_dirty() -> SoftDirty {
    // A `clear_refs` by another thread between the write and the reads
    // could hide the bit: an inconsistent answer is asked again.
    let mut observed = observe_soft_dirty();
    for _ in 0..2 {
        if !matches!(observed, Ok((Some(true), false))) {
            break;
        }
        observed = observe_soft_dirty();
    }
    let (vma_flag, bit) = match observed {
        Ok(o) => o,
        Err(e) => {
            return SoftDirty {
                support: Support::No(format!(
                    "cannot probe soft-dirty through /proc/self/pagemap: {e}"
                )),
                architecture_lacks: None,
                vma_flag: None,
            }
        }
    };
    classify_soft_dirty(vma_flag, bit, machine())
}

/// [`SoftDirty`] from what was observed: `sd` in a new mapping's
/// `VmFlags` (`None`: unknown), bit 55 on a written page, and the machine.
fn classify_soft_dirty(vma_flag: Option<bool>, bit: bool, arch: String) -> SoftDirty {
    let (support, architecture_lacks) = match (vma_flag, bit) {
        (_, true) => (Support::Yes, None),
        (Some(true), false) => (
            Support::No(
                "new mappings are soft-dirty (smaps VmFlags `sd`) but a written page's \
                 pagemap entry has no soft-dirty bit"
                    .into(),
            ),
            None,
        ),
        _ if !arch.is_empty() && !SOFT_DIRTY_MACHINES.contains(&arch.as_str()) => (
            Support::No(format!(
                "the {arch} architecture has no soft-dirty bits: its kernels cannot have \
                 CONFIG_MEM_SOFT_DIRTY (no HAVE_ARCH_SOFT_DIRTY), so PAGE_IS_SOFT_DIRTY is \
                 never reported"
            )),
            Some(arch),
        ),
        _ => (
            Support::No(
                "written pages carry no soft-dirty bit: kernel built without \
                 CONFIG_MEM_SOFT_DIRTY"
                    .into(),
            ),
            None,
        ),
    };
    SoftDirty {
        support,
        architecture_lacks,
        vma_flag,
    }
}

/// `(sd in VmFlags, bit 55 set)` of a fresh anonymous page written once.
fn observe_soft_dirty() -> io::Result<(Option<bool>, bool)> {
    let m = Mapping::anon(1)?;
    // Flags no other mapping has (VM_DONTDUMP), so that it merges with no
    // neighbour: a caller's own mapping must not grow by our written page.
    m.madvise(0..1, libc::MADV_DONTDUMP)?;
    m.write(0, 1);
    let e = pagemap_entry(m.addr())?;
    let flag = crate::maps::vm_flags_at(None, m.addr())
        .ok()
        .flatten()
        .map(|f| f.iter().any(|x| x == "sd"));
    if e & PM_PRESENT == 0 {
        return Err(io::Error::other("probe page not present"));
    }
    Ok((flag, e & PM_SOFT_DIRTY != 0))
}

/// Soft-dirty support: a freshly written page carries the soft-dirty bit
/// iff the kernel has `CONFIG_MEM_SOFT_DIRTY` (see [`soft_dirty`], which
/// also tells whether the architecture lacks it).
pub fn check_soft_dirty() -> Support {
    soft_dirty().support
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
        machine: machine(),
        page_size: page_size(),
        pmd_size: pmd_size(),
        hugetlb: hugetlb_sizes(),
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
    fn soft_dirty_is_consistent() {
        let sd = soft_dirty();
        assert_eq!(check_soft_dirty().is_yes(), sd.support.is_yes());
        if sd.support.is_yes() {
            assert_eq!(sd.architecture_lacks, None);
        }
        if let Some(arch) = &sd.architecture_lacks {
            assert!(!SOFT_DIRTY_MACHINES.contains(&arch.as_str()));
            assert_eq!(sd.vma_flag, Some(false), "{sd:?}");
        }
        // Every reason names the kernel option, so that a message built on
        // it says what is missing.
        if let Some(why) = sd.support.reason() {
            assert!(why.contains("CONFIG_MEM_SOFT_DIRTY") || why.contains("VmFlags"));
        }
        let m = machine();
        assert!(!m.is_empty());
        if cfg!(target_arch = "aarch64") {
            assert!(m.starts_with("aarch64"), "{m}");
        }
        assert_eq!(kib(4096), "4K");
        assert_eq!(kib(64 << 10), "64K");
        assert_eq!(kib(512 << 20), "512M");
        assert_eq!(kib(16 << 30), "16G");
    }

    #[test]
    fn soft_dirty_classification() {
        // arm64: no `sd`, no bit: the architecture, not the configuration.
        let sd = classify_soft_dirty(Some(false), false, "aarch64".into());
        assert_eq!(sd.architecture_lacks.as_deref(), Some("aarch64"));
        let why = sd.support.reason().unwrap();
        assert!(
            why.contains("aarch64") && why.contains("CONFIG_MEM_SOFT_DIRTY"),
            "{why}"
        );
        // x86-64 built without it: the configuration.
        let sd = classify_soft_dirty(Some(false), false, "x86_64".into());
        assert_eq!(sd.architecture_lacks, None);
        assert!(sd
            .support
            .reason()
            .unwrap()
            .contains("kernel built without CONFIG_MEM_SOFT_DIRTY"));
        // Smaps unreadable: the bit and the machine decide.
        assert_eq!(
            classify_soft_dirty(None, false, "aarch64".into()).architecture_lacks,
            Some("aarch64".into())
        );
        assert!(classify_soft_dirty(None, true, "x86_64".into())
            .support
            .is_yes());
        assert!(classify_soft_dirty(Some(true), true, "x86_64".into())
            .support
            .is_yes());
        // A soft-dirty VMA whose written page has no bit: not usable, and
        // not the architecture's doing.
        let sd = classify_soft_dirty(Some(true), false, "aarch64".into());
        assert!(!sd.support.is_yes() && sd.architecture_lacks.is_none());
    }

    #[test]
    fn support_display() {
        assert_eq!(Support::Yes.to_string(), "yes");
        assert_eq!(Support::No("x".into()).to_string(), "no (x)");
        assert_eq!(Support::No("x".into()).reason(), Some("x"));
    }
}
