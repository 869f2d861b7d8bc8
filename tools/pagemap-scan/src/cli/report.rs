// SPDX-License-Identifier: GPL-2.0
//! `pagemap-scan PID...`: a `pmap -x`-like summary per VMA, optionally
//! with the regions behind it, as text or JSON.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;

use pagemap_scan::maps::{self, Vma};
use pagemap_scan::probe::{check_soft_dirty, extra_categories, swap_active, Support};
use pagemap_scan::{
    page_size, Pagemap, PAGE_IS_ALL, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_HUGE, PAGE_IS_PFNZERO,
    PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED, PAGE_IS_WRITTEN,
};
use serde::Serialize;

use super::args::{AddrRange, Filter, ScanOpts};
use super::fmt::{hex, term_safe, Categories, Line, Size};
use super::{describe, note, CliError};

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
/// the kernel (written only where it is meaningful, guard where the kernel
/// has it).
const COUNTED: u64 =
    PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE | PAGE_IS_HUGE | PAGE_IS_PFNZERO;

/// Page counts of one VMA or of a whole process. Only populated pages
/// (present or swapped) are counted; `unpopulated` counts the pages of
/// matched holes, which are reported but never added to the other totals.
///
/// The kernel reports pte markers as `PAGE_IS_SWAPPED`: guard markers
/// (`MADV_GUARD_INSTALL`, with `PAGE_IS_GUARD` where the kernel has it) and
/// the uffd-wp markers of unpopulated write-protected pages. Neither holds
/// anything in swap: `guard` counts the first, `markers` both, and
/// `swapped` only the pages in swap (the VMA's smaps `Swap`, see
/// [`Target::correct_swap`]).
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
    pub guard: u64,
    pub markers: u64,
    /// Dirty pages as smaps counts them (`--dirty` only).
    pub dirty: u64,
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
        if c & PAGE_IS_GUARD != 0 {
            // A guard marker: nothing is mapped or in swap there.
            self.guard += pages;
            self.markers += pages;
            return;
        }
        self.present += n(PAGE_IS_PRESENT);
        self.swapped += n(PAGE_IS_SWAPPED);
        self.file += n(PAGE_IS_FILE);
        // The huge zero page is HUGE and PFNZERO: it is counted in Zero, and
        // Huge counts the huge pages holding memory (AnonHugePages,
        // ShmemPmdMapped, FilePmdMapped, hugetlb).
        if c & PAGE_IS_PFNZERO == 0 {
            self.huge += n(PAGE_IS_HUGE);
        }
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
        self.guard += o.guard;
        self.markers += o.markers;
        self.dirty += o.dirty;
        self.written = match (self.written, o.written) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
    }

    /// Resident memory as smaps and pmap count it (`Rss`): the present
    /// pages but those of the zero page (which `vm_normal_page()` skips).
    pub fn rss(&self) -> u64 {
        self.present - self.zero
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
pub struct VmaOut<'a> {
    pub vma: &'a Vma,
    pub range: Range<u64>,
    pub uffd_wp: bool,
    pub counts: Counts,
    /// The `--regions` list (JSON only; text is streamed).
    pub regions: Vec<RegionOut>,
}

/// What to ask the kernel for, for one VMA.
struct Plan {
    /// Categories reported in `--regions`.
    shown: u64,
    /// The kernel's `return_mask`.
    ret: u64,
}

/// True for private anonymous memory, where `PAGE_IS_FILE` cannot occur
/// (not asking for it spares the kernel a page lookup per entry).
fn is_private_anon(vma: &Vma) -> bool {
    let p = vma.path.as_bytes();
    vma.perms.ends_with('p')
        && (p.is_empty() || p == b"[heap]" || p == b"[stack]" || p.starts_with(b"[anon:"))
}

/// The plan of a run of VMAs: what depends on the VMA is what a [`Run`]
/// shares, uffd-wp registration and private anonymous memory.
fn plan(o: &ScanOpts, run: &Run<'_>, extra: u64) -> Plan {
    let uffd_wp = run.uffd_wp;
    let shown = match o.return_mask {
        Some(m) => m,
        None if uffd_wp => PAGE_IS_ALL | extra,
        // Elsewhere the kernel calls every page written and none wpallowed.
        None => (PAGE_IS_ALL | extra) & !(PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED),
    };
    let written = if uffd_wp { PAGE_IS_WRITTEN } else { 0 };
    let guard = extra & PAGE_IS_GUARD;
    let mut ret = COUNTED | guard | written | if o.regions { shown } else { 0 };
    if run.private_anon {
        ret &= !PAGE_IS_FILE;
    }
    Plan { shown, ret }
}

/// The counts and the pending `--regions` line of the VMA being scanned.
struct Acc {
    counts: Counts,
    pending: Option<RegionOut>,
}

impl Acc {
    fn new(uffd_wp: bool) -> Acc {
        Acc {
            counts: Counts::new(uffd_wp),
            pending: None,
        }
    }

    /// Add `[start, end)` of categories `c` (a region, or the part of one
    /// inside the VMA); a finished `--regions` line goes to `emit`.
    fn add(
        &mut self,
        o: &ScanOpts,
        shown: u64,
        (start, end, c): (u64, u64, u64),
        emit: &mut impl FnMut(&RegionOut),
    ) {
        let pages = (end - start) / page_size();
        self.counts.add(c, pages);
        if !o.regions {
            return;
        }
        let unpopulated = c & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED) == 0;
        // Without a filter, a hole is just the absence of pages.
        if unpopulated && o.filter.mask == 0 {
            return;
        }
        let categories = Categories(c & shown);
        match self.pending.as_mut() {
            Some(last)
                if last.end == start
                    && last.categories.0 == categories.0
                    && last.unpopulated == unpopulated =>
            {
                last.end = end;
                last.pages += pages;
            }
            _ => {
                if let Some(last) = self.pending.take() {
                    emit(&last);
                }
                self.pending = Some(RegionOut {
                    start,
                    end,
                    pages,
                    categories,
                    unpopulated,
                });
            }
        }
    }
}

/// VMAs scanned with one walk: consecutive in the address space (gaps
/// between them are fine: the kernel reports nothing where no VMA is),
/// with the same plan. One walk instead of one per VMA is what makes a
/// process with tens of thousands of small VMAs quick to scan.
struct Run<'a> {
    vmas: Vec<(&'a Vma, Range<u64>)>,
    uffd_wp: bool,
    private_anon: bool,
}

/// Why parts of a filter cannot match in this process, for stderr notes.
fn filter_notes(pid: u32, f: Filter, any: bool, uffd_vmas: usize) -> Vec<String> {
    let mut notes = Vec::new();
    let required = |bit: u64| f.mask & bit != 0 && f.inverted & bit == 0;
    if f.mask & PAGE_IS_SOFT_DIRTY != 0 {
        // Probed once (a mapping and a read of our smaps), not per PID.
        static SOFT_DIRTY: std::sync::OnceLock<Support> = std::sync::OnceLock::new();
        if let Some(why) = SOFT_DIRTY.get_or_init(check_soft_dirty).reason() {
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
        notes.push(
            "--swapped: no swap area is active (/proc/swaps), so it can only match pte \
             markers, which the kernel reports as swapped (guard pages, uffd-wp markers of \
             unpopulated pages); the Swapped column counts only pages in swap"
                .into(),
        );
    }
    notes
}

/// Read `/proc/PID/comm` (empty if unreadable; bytes that are not UTF-8
/// become U+FFFD rather than emptying the name).
pub fn comm(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/comm"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
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

/// Where [`Target::scan`] delivers its results: the regions of a VMA
/// (for `--regions`), then the VMA itself, or `skip` when the VMA matched
/// nothing and is left out.
trait Sink<'a> {
    fn region(&mut self, r: &RegionOut);
    fn vma(&mut self, v: VmaOut<'a>) -> io::Result<()>;
    fn skip(&mut self);
}

/// A process opened for scanning.
pub struct Target {
    pub pid: u32,
    pub comm: String,
    pub cmdline: Vec<u8>,
    /// The id its memory is read through (`pid`, or a live thread).
    via: u32,
    pm: Pagemap,
    vmas: Vec<Vma>,
    /// Start addresses of its uffd-wp VMAs, sorted.
    uffd: Vec<u64>,
    /// The categories beyond the base ones the kernel has (GUARD, ACCESSED).
    pub extra: u64,
    /// smaps `Swap` and dirty sizes of each VMA, read once, when a scan
    /// first reports swapped pages or for `--dirty` (smaps walks every
    /// page table).
    smaps: std::cell::OnceCell<std::collections::HashMap<u64, maps::SmapsKib>>,
}

impl Target {
    /// Check `pid`, open its pagemap, read its VMAs, print notes about
    /// filters that cannot match.
    pub fn open(pid: u32, o: &ScanOpts) -> Result<Target, CliError> {
        // Through a live thread when the leader has exited before them.
        let via = super::reader_of(pid)?;
        if via != pid {
            note(&format!(
                "pid {pid}: its main thread has exited; reading its memory through thread {via}"
            ));
        }
        let pm = Pagemap::open(via).map_err(|e| describe(&e, pid, "opening"))?;
        let vmas = maps::read(Some(via)).map_err(|e| describe(&e, pid, "reading maps of"))?;
        let mut uffd =
            maps::uffd_wp_starts(Some(via)).map_err(|e| describe(&e, pid, "reading smaps of"))?;
        uffd.sort_unstable();
        for n in filter_notes(pid, o.filter, o.any, uffd.len()) {
            note(&n);
        }
        let extra = extra_categories(&pm);
        Ok(Target {
            pid,
            comm: comm(pid),
            cmdline: cmdline(pid),
            via,
            pm,
            vmas,
            uffd,
            extra,
            smaps: std::cell::OnceCell::new(),
        })
    }

    /// What smaps has for `vma` (smaps read on the first call).
    fn smaps_of(&self, vma: &Vma) -> Result<maps::SmapsKib, CliError> {
        let m = match self.smaps.get() {
            Some(m) => m,
            None => {
                let m = maps::smaps_kib(Some(self.via))
                    .map_err(|e| describe(&e, self.pid, "reading smaps of"))?;
                self.smaps.get_or_init(|| m)
            }
        };
        Ok(m.get(&vma.start).copied().unwrap_or_default())
    }

    /// Count as swapped only what smaps says is in swap: the rest of what
    /// the kernel reported as swapped are pte markers. (For a VMA scanned
    /// in part, `--range`, at most what smaps has for the whole VMA.)
    fn correct_swap(&self, vma: &Vma, c: &mut Counts) -> Result<(), CliError> {
        if c.swapped == 0 {
            return Ok(());
        }
        let in_swap = self.smaps_of(vma)?.swap * 1024 / page_size();
        let real = c.swapped.min(in_swap);
        c.markers += c.swapped - real;
        c.swapped = real;
        Ok(())
    }

    /// One walk over a run of VMAs: the kernel's regions are cut at the
    /// VMA boundaries (it merges equal regions across them), and each VMA
    /// is handed to `sink` once its last region is in.
    fn scan_run<'a>(
        &'a self,
        o: &ScanOpts,
        run: Run<'a>,
        sink: &mut impl Sink<'a>,
    ) -> Result<(), CliError> {
        let vmas = &run.vmas;
        let p = plan(o, &run, self.extra);
        let span = vmas[0].1.start..vmas[vmas.len() - 1].1.end;
        let f = o.filter;
        // The kernel inverts the categories in category_inverted before it
        // applies either mask: `--any --present --not-file` matches pages
        // that are present or not file-backed.
        let mut scan = self
            .pm
            .scan(span)
            .return_mask(p.ret)
            .category_inverted(f.inverted);
        scan = if o.any {
            scan.category_anyof_mask(f.mask)
        } else {
            scan.category_mask(f.mask)
        };
        let mut i = 0;
        let mut acc = Acc::new(run.uffd_wp);
        for r in scan.regions() {
            let r = r.map_err(|e| describe(&e, self.pid, "PAGEMAP_SCAN on"))?;
            let mut start = r.start;
            while start < r.end && i < vmas.len() {
                let (vma, range) = &vmas[i];
                if range.end <= start {
                    let done = std::mem::replace(&mut acc, Acc::new(run.uffd_wp));
                    self.finish(o, vma, range.clone(), run.uffd_wp, done, sink)?;
                    i += 1;
                    continue;
                }
                let (s, e) = (start.max(range.start), r.end.min(range.end));
                if s < e {
                    acc.add(o, p.shown, (s, e, r.categories), &mut |x| sink.region(x));
                }
                start = e.max(start);
            }
        }
        while i < vmas.len() {
            let (vma, range) = &vmas[i];
            let done = std::mem::replace(&mut acc, Acc::new(run.uffd_wp));
            self.finish(o, vma, range.clone(), run.uffd_wp, done, sink)?;
            i += 1;
        }
        Ok(())
    }

    /// A VMA's scan is complete: its last `--regions` line, its counts
    /// (swap corrected), then the VMA itself or, when a filter matched
    /// nothing in it, nothing.
    fn finish<'a>(
        &self,
        o: &ScanOpts,
        vma: &'a Vma,
        range: Range<u64>,
        uffd_wp: bool,
        mut acc: Acc,
        sink: &mut impl Sink<'a>,
    ) -> Result<(), CliError> {
        if let Some(last) = acc.pending.take() {
            sink.region(&last);
        }
        self.correct_swap(vma, &mut acc.counts)?;
        if o.dirty {
            acc.counts.dirty = self.smaps_of(vma)?.dirty * 1024 / page_size();
        }
        if o.filter.mask != 0 && !acc.counts.matched_anything() {
            sink.skip();
            return Ok(());
        }
        sink.vma(VmaOut {
            vma,
            range,
            uffd_wp,
            counts: acc.counts,
            regions: Vec::new(),
        })?;
        Ok(())
    }

    /// The bytes of the VMAs inside `--range`: the largest size the report
    /// can print.
    fn range_size(&self, o: &ScanOpts) -> u64 {
        self.vmas
            .iter()
            .filter(|v| !v.is_kernel_gate())
            .filter_map(|v| clip(v.start, v.end, o.range))
            .map(|r| r.end - r.start)
            .sum()
    }

    /// Whether the kernel reports guard pages (`PAGE_IS_GUARD`).
    pub fn has_guard(&self) -> bool {
        self.extra & PAGE_IS_GUARD != 0
    }

    /// Whether any VMA is registered for uffd-wp (written is shown).
    pub fn has_uffd_wp(&self) -> bool {
        !self.uffd.is_empty()
    }

    /// Scan each VMA inside `--range` that the filter applies to, into
    /// `sink`: runs of VMAs that need the same scan are walked at once.
    fn scan<'a>(&'a self, o: &ScanOpts, sink: &mut impl Sink<'a>) -> Result<(), CliError> {
        let f = o.filter;
        let mut run: Option<Run<'a>> = None;
        for vma in self.vmas.iter().filter(|v| !v.is_kernel_gate()) {
            let Some(range) = clip(vma.start, vma.end, o.range) else {
                continue;
            };
            let uffd_wp = self.uffd.binary_search(&vma.start).is_ok();
            if f.mask & PAGE_IS_WRITTEN != 0 && !uffd_wp {
                continue;
            }
            let private_anon = is_private_anon(vma);
            match run.as_mut() {
                Some(r) if r.uffd_wp == uffd_wp && r.private_anon == private_anon => {
                    r.vmas.push((vma, range));
                }
                _ => {
                    if let Some(r) = run.take() {
                        self.scan_run(o, r, sink)?;
                    }
                    run = Some(Run {
                        vmas: vec![(vma, range)],
                        uffd_wp,
                        private_anon,
                    });
                }
            }
        }
        if let Some(r) = run.take() {
            self.scan_run(o, r, sink)?;
        }
        // A process that exits while it is scanned leaves its VMAs to be
        // torn down under the scans: what they returned is no report.
        match self.pm.is_alive() {
            Ok(true) => Ok(()),
            Ok(false) => Err(CliError::Runtime(format!(
                "process {} exited during the scan: its report is incomplete",
                self.pid
            ))),
            Err(e) => Err(describe(&e, self.pid, "PAGEMAP_SCAN on")),
        }
    }
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

/// One line of the `--regions` list.
fn region_line(l: &mut Line, r: &RegionOut, kib: bool) {
    l.clear();
    l.bytes(b"    ");
    l.hex(r.start);
    l.byte(b'-');
    l.hex(r.end);
    l.byte(b' ');
    let size = Size {
        bytes: r.pages * page_size(),
        kib,
    };
    l.right(8, |l| size.push(l));
    l.byte(b' ');
    l.right(8, |l| l.dec(r.pages));
    l.bytes(b" pg  ");
    r.categories.push(l);
    if r.unpopulated {
        l.bytes(b" (unpopulated)");
    }
    l.byte(b'\n');
}

/// The optional columns of a report.
#[derive(Clone, Copy)]
struct Cols {
    /// Written: the process has uffd-wp VMAs (or `--totals`).
    written: bool,
    /// Guard: the kernel reports guard pages.
    guard: bool,
    /// Dirty: `--dirty`.
    dirty: bool,
}

impl Cols {
    fn of(t: &Target, o: &ScanOpts) -> Cols {
        Cols {
            written: t.has_uffd_wp(),
            guard: t.has_guard(),
            dirty: o.dirty,
        }
    }
}

/// The size columns of a VMA or total line.
fn write_columns(
    w: &mut impl Write,
    label: &str,
    size: u64,
    c: &Counts,
    cols: Cols,
    (kib, n): (bool, usize),
) -> io::Result<()> {
    let ps = page_size();
    let sz = |pages: u64| Size {
        bytes: pages * ps,
        kib,
    };
    write!(
        w,
        "{label:<16} {:>n$} {:>n$}",
        Size { bytes: size, kib },
        sz(c.rss())
    )?;
    if cols.dirty {
        write!(w, " {:>n$}", sz(c.dirty))?;
    }
    write!(
        w,
        " {:>n$} {:>n$} {:>n$} {:>n$} {:>n$}",
        sz(c.present),
        sz(c.swapped),
        sz(c.file),
        sz(c.huge),
        sz(c.zero),
    )?;
    if cols.guard {
        write!(w, " {:>n$}", sz(c.guard))?;
    }
    if cols.written {
        match c.written {
            Some(pages) => write!(w, " {:>n$}", sz(pages))?,
            None => write!(w, " {:>n$}", "-")?,
        }
    }
    Ok(())
}

/// The text output: VMA lines, each followed by its region lines.
struct TextSink<'w, W> {
    w: &'w mut W,
    o: &'w ScanOpts,
    cols: Cols,
    /// Width of the size columns: 8, or what the largest size needs.
    width: usize,
    /// The region lines of the VMA being scanned, formatted by hand: this
    /// is the hot path of fragmented memory.
    body: Vec<u8>,
    line: Line,
    totals: Counts,
    vmas: usize,
    regions: usize,
    size: u64,
}

impl<W: Write> Sink<'_> for TextSink<'_, W> {
    fn region(&mut self, r: &RegionOut) {
        region_line(&mut self.line, r, self.o.kib);
        self.body.extend_from_slice(self.line.as_bytes());
        self.regions += 1;
    }

    fn vma(&mut self, v: VmaOut) -> io::Result<()> {
        let w = &mut *self.w;
        let len = v.range.end - v.range.start;
        write_columns(
            w,
            &format!("{:016x}", v.range.start),
            len,
            &v.counts,
            self.cols,
            (self.o.kib, self.width),
        )?;
        write!(w, " {}  ", v.vma.perms)?;
        w.write_all(&term_safe(v.vma.name().as_bytes()))?;
        writeln!(w)?;
        w.write_all(&self.body)?;
        self.body.clear();
        self.totals.merge(&v.counts);
        self.vmas += 1;
        self.size += len;
        Ok(())
    }

    fn skip(&mut self) {
        self.body.clear();
    }
}

/// Scan `t` and write the text report: a header, one line per VMA (with
/// its regions after it for `--regions`), a total line (`--quiet`: the VMA
/// and region lines only). Streamed: the regions of one VMA at a time are
/// held, as text.
pub fn write_text(w: &mut impl Write, t: &Target, o: &ScanOpts) -> Result<(), CliError> {
    let cols = Cols::of(t, o);
    // The size columns widen (all alike) when the largest value, the
    // total size, does not fit in 8 characters (exact KiB of a big mapping).
    let total = Size {
        bytes: t.range_size(o),
        kib: o.kib,
    };
    let n = total.to_string().len().max(8);
    if !o.quiet {
        write_header(w, t, o, n)?;
    }
    let mut sink = TextSink {
        w: &mut *w,
        o,
        cols,
        width: n,
        body: Vec::new(),
        line: Line::default(),
        totals: Counts::new(cols.written),
        vmas: 0,
        regions: 0,
        size: 0,
    };
    t.scan(o, &mut sink)?;
    if o.quiet {
        return Ok(());
    }
    let TextSink {
        totals,
        vmas,
        regions,
        size,
        ..
    } = sink;
    write_columns(w, "total", size, &totals, cols, (o.kib, n))?;
    write!(w, "       {vmas} VMA{}", if vmas == 1 { "" } else { "s" })?;
    if o.regions {
        write!(w, ", {regions} regions")?;
    }
    if totals.unpopulated > 0 && o.filter.mask != 0 {
        write!(
            w,
            ", {} unpopulated pages matched (not counted)",
            totals.unpopulated
        )?;
    }
    writeln!(w)?;
    Ok(())
}

/// The process name as the header shows it: the command line, else
/// `[comm]`, terminal-safe.
fn process_name(t: &Target) -> Vec<u8> {
    if t.cmdline.is_empty() {
        format!("[{}]", t.comm).into_bytes()
    } else {
        t.cmdline.clone()
    }
}

/// The lines before the VMAs: the process, the filter, the range, the
/// column names.
fn write_header(w: &mut impl Write, t: &Target, o: &ScanOpts, n: usize) -> io::Result<()> {
    write!(w, "{}:   ", t.pid)?;
    w.write_all(&term_safe(&process_name(t)))?;
    writeln!(w)?;
    if o.filter.mask != 0 {
        writeln!(w, "filter: {}", FilterText(o.filter, o.any))?;
    }
    if let Some(r) = o.range {
        writeln!(w, "range: {:x}-{:x}", r.start, r.end)?;
    }
    write_column_names(w, "Address", Cols::of(t, o), o.kib, n)?;
    writeln!(w, " Mode  Mapping")
}

/// The names of the size columns, after `first`.
fn write_column_names(
    w: &mut impl Write,
    first: &str,
    cols: Cols,
    kib: bool,
    n: usize,
) -> io::Result<()> {
    write!(
        w,
        "{first:<16} {:>n$} {:>n$}",
        if kib { "Kbytes" } else { "Size" },
        "RSS"
    )?;
    if cols.dirty {
        write!(w, " {:>n$}", "Dirty")?;
    }
    write!(
        w,
        " {:>n$} {:>n$} {:>n$} {:>n$} {:>n$}",
        "Present", "Swapped", "File", "Huge", "Zero"
    )?;
    if cols.guard {
        write!(w, " {:>n$}", "Guard")?;
    }
    if cols.written {
        write!(w, " {:>n$}", "Written")?;
    }
    Ok(())
}

/// Sums a process's counts, for `--totals`.
#[derive(Default)]
struct TotalSink {
    totals: Counts,
    vmas: usize,
    size: u64,
}

impl Sink<'_> for TotalSink {
    fn region(&mut self, _r: &RegionOut) {}

    fn vma(&mut self, v: VmaOut) -> io::Result<()> {
        self.totals.merge(&v.counts);
        self.vmas += 1;
        self.size += v.range.end - v.range.start;
        Ok(())
    }

    fn skip(&mut self) {}
}

/// `--totals`: one line for `t` (the column names first, when `first`).
pub fn write_totals_line(
    w: &mut impl Write,
    t: &Target,
    o: &ScanOpts,
    first: bool,
) -> Result<(), CliError> {
    // The same columns for every process: Written always (`-` where the
    // process has no uffd-wp VMA).
    let cols = Cols {
        written: true,
        ..Cols::of(t, o)
    };
    let n = if o.kib { 10 } else { 8 };
    let mut sink = TotalSink {
        totals: Counts::new(t.has_uffd_wp()),
        ..TotalSink::default()
    };
    t.scan(o, &mut sink)?;
    if first {
        write_column_names(w, "PID", cols, o.kib, n)?;
        writeln!(w, "     VMAs  Command")?;
    }
    write_columns(
        w,
        &t.pid.to_string(),
        sink.size,
        &sink.totals,
        cols,
        (o.kib, n),
    )?;
    write!(w, " {:>8}  ", sink.vmas)?;
    w.write_all(&term_safe(&process_name(t)))?;
    writeln!(w)?;
    Ok(())
}

fn lossy<S: serde::Serializer>(p: &OsString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Byte counts, as in JSON.
#[derive(Serialize)]
struct CountsJson {
    size: u64,
    rss: u64,
    /// smaps dirty memory (`--dirty`; `null` without it).
    dirty: Option<u64>,
    present: u64,
    swapped: u64,
    file: u64,
    huge: u64,
    zero: u64,
    written: Option<u64>,
    unpopulated: u64,
    /// Guard pages (where the kernel reports them, else 0).
    guard: u64,
    /// pte markers the kernel reports as swapped: guard pages and the
    /// uffd-wp markers of unpopulated pages (not in `swapped`).
    markers: u64,
}

impl CountsJson {
    fn new(size: u64, c: &Counts, dirty: bool) -> Self {
        let ps = page_size();
        CountsJson {
            size,
            rss: c.rss() * ps,
            dirty: dirty.then_some(c.dirty * ps),
            present: c.present * ps,
            swapped: c.swapped * ps,
            file: c.file * ps,
            huge: c.huge * ps,
            zero: c.zero * ps,
            written: c.written.map(|n| n * ps),
            unpopulated: c.unpopulated * ps,
            guard: c.guard * ps,
            markers: c.markers * ps,
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

/// The VMAs for the JSON document, with their regions.
struct JsonSink<'a> {
    vmas: Vec<VmaOut<'a>>,
    regions: Vec<RegionOut>,
}

impl<'a> Sink<'a> for JsonSink<'a> {
    fn region(&mut self, r: &RegionOut) {
        self.regions.push(*r);
    }

    fn vma(&mut self, mut v: VmaOut<'a>) -> io::Result<()> {
        v.regions = std::mem::take(&mut self.regions);
        self.vmas.push(v);
        Ok(())
    }

    fn skip(&mut self) {
        self.regions.clear();
    }
}

/// Scan `t` and write its JSON document, on one line.
pub fn write_json(w: &mut impl Write, t: &Target, o: &ScanOpts) -> Result<(), CliError> {
    let mut sink = JsonSink {
        vmas: Vec::new(),
        regions: Vec::new(),
    };
    t.scan(o, &mut sink)?;
    let vmas = sink.vmas;
    let mut totals = Counts::new(t.has_uffd_wp());
    for v in &vmas {
        totals.merge(&v.counts);
    }
    let f = o.filter;
    let (mask, anyof) = if o.any { (0, f.mask) } else { (f.mask, 0) };
    let size = vmas.iter().map(|v| v.range.end - v.range.start).sum();
    let doc = ProcessJson {
        pid: t.pid,
        comm: &t.comm,
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
        vmas: vmas
            .iter()
            .map(|v| VmaJson {
                start: v.range.start,
                end: v.range.end,
                perms: &v.vma.perms,
                offset: v.vma.offset + (v.range.start - v.vma.start),
                path: &v.vma.path,
                uffd_wp: v.uffd_wp,
                counts: CountsJson::new(v.range.end - v.range.start, &v.counts, o.dirty),
                regions: o.regions.then_some(&v.regions[..]),
            })
            .collect(),
        totals: TotalsJson {
            vmas: vmas.len(),
            regions: o
                .regions
                .then(|| vmas.iter().map(|v| v.regions.len()).sum()),
            counts: CountsJson::new(size, &totals, o.dirty),
        },
    };
    serde_json::to_writer(&mut *w, &doc).map_err(io::Error::from)?;
    writeln!(w)?;
    Ok(())
}

/// The processes of `--all`: every numeric entry of /proc, in PID order.
fn all_pids() -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// Run `pagemap-scan PID...`: each process in turn; an error about one PID
/// is reported (after the output so far) and the others are still scanned.
/// With `--all`, processes without user memory (kernel threads, zombies)
/// and those that exit meanwhile are skipped without a word.
pub fn run(o: &ScanOpts, w: &mut impl Write) -> Result<(), CliError> {
    let mut failed = false;
    let pids = if o.all { all_pids() } else { o.pids.clone() };
    let mut shown = 0;
    let mut denied = 0;
    for pid in pids {
        if o.all && super::check_target(pid).is_err() {
            continue;
        }
        let target = match Target::open(pid, o) {
            Err(_) if o.all && !std::path::Path::new(&format!("/proc/{pid}")).exists() => {
                continue;
            }
            // Not ours to read: counted, said once at the end.
            Err(CliError::Runtime(m)) if o.all && m.starts_with("permission denied") => {
                denied += 1;
                continue;
            }
            t => t,
        };
        if shown > 0 && !o.json && !o.totals && !o.quiet {
            writeln!(w)?;
        }
        let result = target.and_then(|t| {
            if o.json {
                write_json(w, &t, o)
            } else if o.totals {
                write_totals_line(w, &t, o, shown == 0)
            } else {
                write_text(w, &t, o)
            }
        });
        w.flush()?;
        match result {
            Ok(()) => shown += 1,
            Err(CliError::Runtime(_))
                if o.all && !std::path::Path::new(&format!("/proc/{pid}")).exists() => {}
            Err(CliError::Runtime(msg)) => {
                super::error_message(&msg);
                if o.json {
                    // A record for the failed PID too, so that a consumer
                    // of the JSON lines needs no stderr.
                    serde_json::to_writer(
                        &mut *w,
                        &serde_json::json!({ "pid": pid, "error": msg }),
                    )
                    .map_err(io::Error::from)?;
                    writeln!(w)?;
                }
                failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    if denied > 0 {
        note(&format!(
            "{denied} process{} not readable (permission denied): run as their owner or as \
             root to include them",
            if denied == 1 { " is" } else { "es are" }
        ));
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
        // In pages of the running system (4 KiB, 16 KiB or 64 KiB).
        let p = page_size();
        let all = AddrRange {
            start: 0,
            end: u64::MAX,
        };
        assert_eq!(clip(p, 3 * p, Some(all)), Some(p..3 * p));
        // A range inside pages 1 and 2 is widened to whole pages.
        let r = AddrRange {
            start: p + p / 2,
            end: 2 * p + 1,
        };
        assert_eq!(clip(p, 5 * p, Some(r)), Some(p..3 * p));
        assert_eq!(clip(0, 5 * p, Some(r)), Some(p..3 * p));
        assert_eq!(clip(4 * p, 5 * p, Some(r)), None);
        assert_eq!(clip(4 * p, 5 * p, None), Some(4 * p..5 * p));
        let top = u64::MAX - (p - 1);
        assert_eq!(clip(top - p, top, Some(all)), Some(top - p..top));
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
