// SPDX-License-Identifier: GPL-2.0
//! `pagemap-scan PID...`: a `pmap -x`-like summary per VMA, optionally
//! with the regions behind it, as text or JSON.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;

use pagemap_scan::maps::{self, Vma};
use pagemap_scan::probe::{check_soft_dirty, swap_active};
use pagemap_scan::{
    page_size, Pagemap, PAGE_IS_ALL, PAGE_IS_FILE, PAGE_IS_HUGE, PAGE_IS_PFNZERO, PAGE_IS_PRESENT,
    PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED, PAGE_IS_WRITTEN,
};
use serde::Serialize;

use super::args::{AddrRange, Filter, ScanOpts};
use super::fmt::{hex, Categories, Size};
use super::{check_target, describe, note, CliError};

/// The part of the VMA `start..end` inside `range` (page aligned), if any.
/// Never overflows, even for `0-ffffffffffffffff`.
pub fn clip(start: u64, end: u64, range: Option<AddrRange>) -> Option<Range<u64>> {
    let ps = page_size();
    let (mut s, mut e) = (start, end);
    if let Some(r) = range {
        s = s.max(r.start & !(ps - 1));
        if let Some(re) = r.end.checked_next_multiple_of(ps) {
            e = e.min(re);
        }
    }
    (s < e).then_some(s..e)
}

/// Categories the summary columns are computed from; always requested from
/// the kernel (written only where it is meaningful).
const COUNTED: u64 =
    PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE | PAGE_IS_HUGE | PAGE_IS_PFNZERO;

/// Page counts of one VMA or of a whole process. Only populated pages
/// (present or swapped) are counted; `unpopulated` counts the pages of
/// matched holes, which are reported but never added to the other totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub present: u64,
    pub swapped: u64,
    pub file: u64,
    pub huge: u64,
    pub zero: u64,
    /// `None` where written means nothing (no uffd-wp registration).
    pub written: Option<u64>,
    pub unpopulated: u64,
}

impl Counts {
    /// Counts of a VMA, `uffd_wp` if it is registered for uffd-wp.
    fn new(uffd_wp: bool) -> Counts {
        Counts {
            written: uffd_wp.then_some(0),
            ..Counts::default()
        }
    }

    /// Add `pages` pages of categories `c`.
    pub fn add(&mut self, c: u64, pages: u64) {
        if c & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED) == 0 {
            self.unpopulated += pages;
            return;
        }
        let n = |bit: u64| if c & bit != 0 { pages } else { 0 };
        self.present += n(PAGE_IS_PRESENT);
        self.swapped += n(PAGE_IS_SWAPPED);
        self.file += n(PAGE_IS_FILE);
        self.huge += n(PAGE_IS_HUGE);
        self.zero += n(PAGE_IS_PFNZERO);
        if let Some(w) = self.written.as_mut() {
            *w += n(PAGE_IS_WRITTEN);
        }
    }

    /// Add the counts of another VMA.
    pub fn merge(&mut self, o: &Counts) {
        self.present += o.present;
        self.swapped += o.swapped;
        self.file += o.file;
        self.huge += o.huge;
        self.zero += o.zero;
        self.unpopulated += o.unpopulated;
        self.written = match (self.written, o.written) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
    }

    fn matched_anything(&self) -> bool {
        self.present + self.swapped + self.unpopulated > 0
    }
}

/// One region of the `--regions` list.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegionOut {
    #[serde(serialize_with = "hex")]
    pub start: u64,
    #[serde(serialize_with = "hex")]
    pub end: u64,
    pub pages: u64,
    /// The categories shown (the kernel's, restricted to the shown ones).
    pub categories: Categories,
    /// Neither present nor swapped (only listed when a filter matched it).
    pub unpopulated: bool,
}

/// One summarized VMA (clipped to `--range`).
pub struct VmaOut {
    pub vma: Vma,
    pub range: Range<u64>,
    pub uffd_wp: bool,
    pub counts: Counts,
    pub regions: Vec<RegionOut>,
}

/// What to ask the kernel for, for one VMA.
struct Plan {
    /// Categories reported in `--regions`.
    shown: u64,
    /// The kernel's `return_mask`.
    ret: u64,
}

fn plan(o: &ScanOpts, uffd_wp: bool) -> Plan {
    let shown = match o.return_mask {
        Some(m) => m,
        None if uffd_wp => PAGE_IS_ALL,
        // Elsewhere the kernel calls every page written and none wpallowed.
        None => PAGE_IS_ALL & !(PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED),
    };
    let written = if uffd_wp { PAGE_IS_WRITTEN } else { 0 };
    Plan {
        shown,
        ret: COUNTED | written | if o.regions { shown } else { 0 },
    }
}

/// Scan one VMA: counts, and the regions if `--regions`.
fn scan_vma(
    pm: &Pagemap,
    o: &ScanOpts,
    vma: Vma,
    range: Range<u64>,
    uffd_wp: bool,
) -> io::Result<VmaOut> {
    let ps = page_size();
    let p = plan(o, uffd_wp);
    let mut scan = pm.scan(range.clone()).return_mask(p.ret);
    let f = o.filter;
    if o.any {
        scan = scan.category_anyof_mask(f.mask);
    } else {
        scan = scan.category_mask(f.mask).category_inverted(f.inverted);
    }
    let mut counts = Counts::new(uffd_wp);
    let mut regions: Vec<RegionOut> = Vec::new();
    for r in scan.regions() {
        let r = r?;
        let pages = r.pages(ps);
        counts.add(r.categories, pages);
        if !o.regions {
            continue;
        }
        let unpopulated = r.categories & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED) == 0;
        // Without a filter, a hole is just the absence of pages.
        if unpopulated && f.mask == 0 {
            continue;
        }
        let categories = Categories(r.categories & p.shown);
        match regions.last_mut() {
            Some(last)
                if last.end == r.start
                    && last.categories.0 == categories.0
                    && last.unpopulated == unpopulated =>
            {
                last.end = r.end;
                last.pages += pages;
            }
            _ => regions.push(RegionOut {
                start: r.start,
                end: r.end,
                pages,
                categories,
                unpopulated,
            }),
        }
    }
    Ok(VmaOut {
        vma,
        range,
        uffd_wp,
        counts,
        regions,
    })
}

/// Why parts of a filter cannot match in this process, for stderr notes.
fn filter_notes(pid: u32, f: Filter, any: bool, uffd_vmas: usize) -> Vec<String> {
    let mut notes = Vec::new();
    let required = |bit: u64| f.mask & bit != 0 && f.inverted & bit == 0;
    if f.mask & PAGE_IS_SOFT_DIRTY != 0 {
        if let Some(why) = check_soft_dirty().reason() {
            let what = if required(PAGE_IS_SOFT_DIRTY) {
                "--soft-dirty cannot match any page"
            } else {
                "--not-soft-dirty matches every page"
            };
            notes.push(format!("{what}: no soft-dirty tracking ({why})"));
        }
    }
    if f.mask & PAGE_IS_WRITTEN != 0 && uffd_vmas == 0 {
        notes.push(format!(
            "--written/--not-written only apply to VMAs registered for userfaultfd \
             write-protection (`uw` in smaps VmFlags), and process {pid} has none: nothing \
             is scanned"
        ));
    } else if f.mask & PAGE_IS_WRITTEN != 0 {
        notes.push(
            "--written/--not-written only apply to VMAs registered for userfaultfd \
             write-protection: the other VMAs are skipped"
                .into(),
        );
    }
    if required(PAGE_IS_WPALLOWED) && uffd_vmas == 0 && !any {
        notes.push(format!(
            "--wpallowed cannot match: no VMA of process {pid} is registered for userfaultfd \
             write-protection"
        ));
    }
    if required(PAGE_IS_SWAPPED) && !any && !swap_active() {
        notes.push("--swapped cannot match: no swap area is active (/proc/swaps)".into());
    }
    notes
}

/// The scan of one process.
pub struct ProcessOut {
    pub pid: u32,
    pub comm: String,
    pub cmdline: Vec<u8>,
    pub vmas: Vec<VmaOut>,
    pub totals: Counts,
}

/// Read `/proc/PID/comm` (empty if unreadable).
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// The command line of `pid` with NULs as spaces (empty if unreadable).
fn cmdline(pid: u32) -> Vec<u8> {
    let mut c = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    while c.last() == Some(&0) {
        c.pop();
    }
    for b in c.iter_mut().filter(|b| **b == 0) {
        *b = b' ';
    }
    c
}

/// Scan every VMA of `pid` inside `--range`.
pub fn scan_process(pid: u32, o: &ScanOpts) -> Result<ProcessOut, CliError> {
    check_target(pid)?;
    let pm = Pagemap::open(pid).map_err(|e| describe(&e, pid, "opening"))?;
    let vmas = maps::read(Some(pid)).map_err(|e| describe(&e, pid, "reading maps of"))?;
    let uffd =
        maps::uffd_wp_starts(Some(pid)).map_err(|e| describe(&e, pid, "reading smaps of"))?;
    let f = o.filter;
    for n in filter_notes(pid, f, o.any, uffd.len()) {
        note(&n);
    }
    let mut out = ProcessOut {
        pid,
        comm: comm(pid),
        cmdline: cmdline(pid),
        vmas: Vec::new(),
        totals: Counts::new(!uffd.is_empty()),
    };
    for vma in vmas.into_iter().filter(|v| !v.is_kernel_gate()) {
        let Some(range) = clip(vma.start, vma.end, o.range) else {
            continue;
        };
        let uffd_wp = uffd.binary_search(&vma.start).is_ok();
        if f.mask & PAGE_IS_WRITTEN != 0 && !uffd_wp {
            continue;
        }
        let v = scan_vma(&pm, o, vma, range, uffd_wp)
            .map_err(|e| describe(&e, pid, "PAGEMAP_SCAN on"))?;
        if f.mask != 0 && !v.counts.matched_anything() {
            continue;
        }
        out.totals.merge(&v.counts);
        out.vmas.push(v);
    }
    Ok(out)
}

/// The filter as text: `present,!written`, `any of file,huge`, `none`.
struct FilterText(Filter, bool);

impl fmt::Display for FilterText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(filter, any) = *self;
        if filter.mask == 0 {
            return f.write_str("none");
        }
        if any {
            f.write_str("any of ")?;
        }
        let mut first = true;
        for (bit, name) in pagemap_scan::abi::CATEGORY_NAMES {
            if filter.mask & bit != 0 {
                let neg = if filter.inverted & bit != 0 { "!" } else { "" };
                let sep = if first { "" } else { "," };
                write!(f, "{sep}{neg}{name}")?;
                first = false;
            }
        }
        Ok(())
    }
}

/// The text report of one process.
pub fn write_text(w: &mut impl Write, p: &ProcessOut, o: &ScanOpts) -> io::Result<()> {
    let ps = page_size();
    let sz = |pages: u64| Size {
        bytes: pages * ps,
        kib: o.kib,
    };
    let with_written = p.totals.written.is_some();
    write!(w, "{}:   ", p.pid)?;
    if p.cmdline.is_empty() {
        write!(w, "[{}]", p.comm)?;
    } else {
        w.write_all(&p.cmdline)?;
    }
    writeln!(w)?;
    if o.filter.mask != 0 {
        writeln!(w, "filter: {}", FilterText(o.filter, o.any))?;
    }
    if let Some(r) = o.range {
        writeln!(w, "range: {:x}-{:x}", r.start, r.end)?;
    }
    write!(
        w,
        "{:<16} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "Address",
        if o.kib { "Kbytes" } else { "Size" },
        "Present",
        "Swapped",
        "File",
        "Huge",
        "Zero"
    )?;
    if with_written {
        write!(w, " {:>8}", "Written")?;
    }
    writeln!(w, " Mode  Mapping")?;
    for v in &p.vmas {
        let c = &v.counts;
        write!(
            w,
            "{:016x} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            v.range.start,
            Size {
                bytes: v.range.end - v.range.start,
                kib: o.kib
            },
            sz(c.present),
            sz(c.swapped),
            sz(c.file),
            sz(c.huge),
            sz(c.zero),
        )?;
        if with_written {
            match c.written {
                Some(n) => write!(w, " {:>8}", sz(n))?,
                None => write!(w, " {:>8}", "-")?,
            }
        }
        write!(w, " {}  ", v.vma.perms)?;
        w.write_all(v.vma.name().as_bytes())?;
        writeln!(w)?;
        for r in &v.regions {
            write!(
                w,
                "    {:x}-{:x} {:>8} {:>8} pg  {}",
                r.start,
                r.end,
                sz(r.pages),
                r.pages,
                r.categories
            )?;
            if r.unpopulated {
                write!(w, " (unpopulated)")?;
            }
            writeln!(w)?;
        }
    }
    let t = &p.totals;
    let size: u64 = p.vmas.iter().map(|v| v.range.end - v.range.start).sum();
    write!(
        w,
        "{:<16} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "total",
        Size {
            bytes: size,
            kib: o.kib
        },
        sz(t.present),
        sz(t.swapped),
        sz(t.file),
        sz(t.huge),
        sz(t.zero),
    )?;
    if let Some(n) = t.written {
        write!(w, " {:>8}", sz(n))?;
    }
    write!(w, "       {} VMAs", p.vmas.len())?;
    if o.regions {
        let n: usize = p.vmas.iter().map(|v| v.regions.len()).sum();
        write!(w, ", {n} regions")?;
    }
    if t.unpopulated > 0 && o.filter.mask != 0 {
        write!(
            w,
            ", {} unpopulated pages matched (not counted)",
            t.unpopulated
        )?;
    }
    writeln!(w)
}

fn lossy<S: serde::Serializer>(p: &OsString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Byte counts, as in JSON.
#[derive(Serialize)]
struct CountsJson {
    size: u64,
    present: u64,
    swapped: u64,
    file: u64,
    huge: u64,
    zero: u64,
    written: Option<u64>,
    unpopulated: u64,
}

impl CountsJson {
    fn new(size: u64, c: &Counts) -> Self {
        let ps = page_size();
        CountsJson {
            size,
            present: c.present * ps,
            swapped: c.swapped * ps,
            file: c.file * ps,
            huge: c.huge * ps,
            zero: c.zero * ps,
            written: c.written.map(|n| n * ps),
            unpopulated: c.unpopulated * ps,
        }
    }
}

#[derive(Serialize)]
struct VmaJson<'a> {
    #[serde(serialize_with = "hex")]
    start: u64,
    #[serde(serialize_with = "hex")]
    end: u64,
    perms: &'a str,
    #[serde(serialize_with = "hex")]
    offset: u64,
    #[serde(serialize_with = "lossy")]
    path: &'a OsString,
    uffd_wp: bool,
    #[serde(flatten)]
    counts: CountsJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    regions: Option<&'a [RegionOut]>,
}

#[derive(Serialize)]
struct FilterJson {
    category_mask: u64,
    category_inverted: u64,
    category_anyof_mask: u64,
    return_mask: Option<u64>,
}

#[derive(Serialize)]
struct RangeJson {
    #[serde(serialize_with = "hex")]
    start: u64,
    #[serde(serialize_with = "hex")]
    end: u64,
}

#[derive(Serialize)]
struct TotalsJson {
    vmas: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    regions: Option<usize>,
    #[serde(flatten)]
    counts: CountsJson,
}

#[derive(Serialize)]
struct ProcessJson<'a> {
    pid: u32,
    comm: &'a str,
    range: Option<RangeJson>,
    filter: FilterJson,
    page_size: u64,
    vmas: Vec<VmaJson<'a>>,
    totals: TotalsJson,
}

/// The JSON document of one process, on one line.
pub fn write_json(w: &mut impl Write, p: &ProcessOut, o: &ScanOpts) -> io::Result<()> {
    let f = o.filter;
    let (mask, anyof) = if o.any { (0, f.mask) } else { (f.mask, 0) };
    let vmas: Vec<VmaJson> = p
        .vmas
        .iter()
        .map(|v| VmaJson {
            start: v.range.start,
            end: v.range.end,
            perms: &v.vma.perms,
            offset: v.vma.offset + (v.range.start - v.vma.start),
            path: &v.vma.path,
            uffd_wp: v.uffd_wp,
            counts: CountsJson::new(v.range.end - v.range.start, &v.counts),
            regions: o.regions.then_some(&v.regions[..]),
        })
        .collect();
    let size = p.vmas.iter().map(|v| v.range.end - v.range.start).sum();
    let doc = ProcessJson {
        pid: p.pid,
        comm: &p.comm,
        range: o.range.map(|r| RangeJson {
            start: r.start,
            end: r.end,
        }),
        filter: FilterJson {
            category_mask: mask,
            category_inverted: f.inverted,
            category_anyof_mask: anyof,
            return_mask: o.return_mask,
        },
        page_size: page_size(),
        vmas,
        totals: TotalsJson {
            vmas: p.vmas.len(),
            regions: o
                .regions
                .then(|| p.vmas.iter().map(|v| v.regions.len()).sum()),
            counts: CountsJson::new(size, &p.totals),
        },
    };
    serde_json::to_writer(&mut *w, &doc)?;
    writeln!(w)
}

/// Run `pagemap-scan PID...`: each process in turn; an error about one PID
/// is reported and the others are still scanned.
pub fn run(o: &ScanOpts, w: &mut impl Write) -> Result<(), CliError> {
    let mut failed = false;
    for (i, &pid) in o.pids.iter().enumerate() {
        let p = match scan_process(pid, o) {
            Ok(p) => p,
            Err(CliError::Runtime(msg)) => {
                super::error_message(&msg);
                failed = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        if o.json {
            write_json(w, &p, o)?;
        } else {
            if i > 0 {
                writeln!(w)?;
            }
            write_text(w, &p, o)?;
        }
        // Errors about the next PID appear after this one's output.
        w.flush()?;
    }
    if failed {
        Err(CliError::Failed)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_never_overflows() {
        let all = AddrRange {
            start: 0,
            end: u64::MAX,
        };
        assert_eq!(clip(0x1000, 0x3000, Some(all)), Some(0x1000..0x3000));
        let r = AddrRange {
            start: 0x1800,
            end: 0x2001,
        };
        assert_eq!(clip(0x1000, 0x5000, Some(r)), Some(0x1000..0x3000));
        assert_eq!(clip(0x4000, 0x5000, Some(r)), None);
        assert_eq!(clip(0x4000, 0x5000, None), Some(0x4000..0x5000));
    }

    #[test]
    fn holes_are_not_counted() {
        let mut c = Counts::new(false);
        c.add(PAGE_IS_WRITTEN, 100);
        c.add(0, 7);
        c.add(PAGE_IS_PRESENT | PAGE_IS_WRITTEN | PAGE_IS_PFNZERO, 2);
        c.add(PAGE_IS_SWAPPED | PAGE_IS_FILE, 3);
        assert_eq!(
            c,
            Counts {
                present: 2,
                swapped: 3,
                file: 3,
                zero: 2,
                unpopulated: 107,
                ..Counts::default()
            }
        );
        let mut u = Counts::new(true);
        u.add(PAGE_IS_PRESENT | PAGE_IS_WRITTEN, 5);
        u.add(PAGE_IS_WRITTEN, 9);
        assert_eq!(u.written, Some(5));
        c.merge(&u);
        assert_eq!(c.written, Some(5));
        assert_eq!(c.present, 7);
    }

    #[test]
    fn filter_text() {
        let f = Filter {
            mask: PAGE_IS_PRESENT | PAGE_IS_WRITTEN,
            inverted: PAGE_IS_WRITTEN,
        };
        assert_eq!(FilterText(f, false).to_string(), "!written,present");
        assert_eq!(FilterText(Filter::default(), false).to_string(), "none");
        let f = Filter {
            mask: PAGE_IS_FILE | PAGE_IS_HUGE,
            inverted: 0,
        };
        assert_eq!(FilterText(f, true).to_string(), "any of file,huge");
    }
}
