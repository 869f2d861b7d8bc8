// SPDX-License-Identifier: GPL-2.0
//! `pagemap-scan PID`: regions by category, grouped per VMA.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::Range;

use pagemap_scan::abi::{category_names, CATEGORY_NAMES};
use pagemap_scan::maps::{self, Vma};
use pagemap_scan::{page_size, PageRegion, Pagemap, PAGE_IS_ALL};

use super::args::ScanOpts;
use super::fmt::{human, json_addr, json_categories, json_str};
use super::{describe, CliError};

/// One VMA with the regions found in it.
pub struct VmaRegions {
    pub vma: Vma,
    pub regions: Vec<PageRegion>,
}

/// The part of `vma` inside `range` (page aligned), if any.
pub fn clip(vma: &Vma, range: &Option<Range<u64>>) -> Option<Range<u64>> {
    let ps = page_size();
    let (mut s, mut e) = (vma.start, vma.end);
    if let Some(r) = range {
        s = s.max(r.start & !(ps - 1));
        e = e.min(r.end.div_ceil(ps) * ps);
    }
    (s < e).then_some(s..e)
}

/// Read `/proc/PID/comm` (empty if unreadable).
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

fn filter_text(o: &ScanOpts) -> String {
    if o.mask == 0 {
        return "none".into();
    }
    let mut parts = Vec::new();
    for (bit, name) in CATEGORY_NAMES {
        if o.mask & bit != 0 {
            if o.inverted & bit != 0 {
                parts.push(format!("!{name}"));
            } else {
                parts.push(name.to_string());
            }
        }
    }
    if o.any {
        format!("any of {}", parts.join(","))
    } else {
        parts.join(",")
    }
}

/// Scan every VMA of the process (inside `--range`).
fn collect(pm: &Pagemap, pid: u32, o: &ScanOpts) -> Result<Vec<VmaRegions>, CliError> {
    let vmas = maps::read(Some(pid)).map_err(|e| describe(&e, pid, "reading maps of"))?;
    let mut out = Vec::new();
    for vma in vmas.into_iter().filter(|v| !v.is_kernel_gate()) {
        let Some(r) = clip(&vma, &o.range) else {
            continue;
        };
        let mut scan = pm.scan(r).return_mask(o.return_mask);
        if o.any {
            scan = scan.category_anyof_mask(o.mask);
        } else {
            scan = scan.category_mask(o.mask).category_inverted(o.inverted);
        }
        let regions = scan
            .collect()
            .map_err(|e| describe(&e, pid, "PAGEMAP_SCAN on"))?;
        out.push(VmaRegions { vma, regions });
    }
    Ok(out)
}

struct Totals {
    vmas: usize,
    regions: usize,
    pages: u64,
    per_category: Vec<(&'static str, u64)>,
}

fn totals(data: &[VmaRegions], return_mask: u64) -> Totals {
    let ps = page_size();
    let mut t = Totals {
        vmas: 0,
        regions: 0,
        pages: 0,
        per_category: CATEGORY_NAMES
            .iter()
            .filter(|(bit, _)| return_mask & bit != 0)
            .map(|(_, n)| (*n, 0))
            .collect(),
    };
    for v in data {
        if !v.regions.is_empty() {
            t.vmas += 1;
        }
        for r in &v.regions {
            t.regions += 1;
            t.pages += r.pages(ps);
            for (name, n) in t.per_category.iter_mut() {
                let bit = pagemap_scan::abi::category_from_name(name).unwrap_or(0);
                if r.categories & bit != 0 {
                    *n += r.pages(ps);
                }
            }
        }
    }
    t
}

fn human_report(pid: u32, o: &ScanOpts, data: &[VmaRegions]) -> String {
    let ps = page_size();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "pid {pid} ({})  filter: {}  reported: {}",
        comm(pid),
        filter_text(o),
        if o.return_mask == PAGE_IS_ALL {
            "all categories".to_string()
        } else {
            category_names(o.return_mask)
        }
    );
    if let Some(r) = &o.range {
        let _ = writeln!(s, "range {:x}-{:x}", r.start, r.end);
    }
    let filtered = o.mask != 0;
    for v in data {
        if filtered && v.regions.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "{:x}-{:x} {} {:>7}  {}",
            v.vma.start,
            v.vma.end,
            v.vma.perms,
            human(v.vma.end - v.vma.start),
            v.vma.name()
        );
        if v.regions.is_empty() {
            let _ = writeln!(s, "    (nothing reported)");
        }
        for r in &v.regions {
            let _ = writeln!(
                s,
                "    {:x}-{:x} {:>7} {:>6} pg  {}",
                r.start,
                r.end,
                human(r.len()),
                r.pages(ps),
                category_names(r.categories)
            );
        }
    }
    if data.is_empty() {
        let _ = writeln!(s, "(no VMA in the range)");
    }
    let t = totals(data, o.return_mask);
    let _ = writeln!(
        s,
        "total: {} regions in {} VMAs, {} pg ({})",
        t.regions,
        t.vmas,
        t.pages,
        human(t.pages * ps)
    );
    for (name, n) in t.per_category.iter().filter(|(_, n)| *n > 0) {
        let _ = writeln!(s, "    {name:<11} {n:>9} pg {:>8}", human(n * ps));
    }
    s
}

fn json_report(pid: u32, o: &ScanOpts, data: &[VmaRegions]) -> String {
    let ps = page_size();
    let mut s = String::new();
    let _ = write!(s, "{{\"pid\":{pid},\"comm\":{},", json_str(&comm(pid)));
    match &o.range {
        Some(r) => {
            let _ = write!(
                s,
                "\"range\":[{},{}],",
                json_addr(r.start),
                json_addr(r.end)
            );
        }
        None => s.push_str("\"range\":null,"),
    }
    let (mask, anyof) = if o.any { (0, o.mask) } else { (o.mask, 0) };
    let _ = write!(
        s,
        "\"filter\":{{\"category_mask\":{mask},\"category_inverted\":{},\
         \"category_anyof_mask\":{anyof},\"return_mask\":{}}},\"page_size\":{ps},\"vmas\":[",
        o.inverted, o.return_mask
    );
    let mut first = true;
    for v in data {
        if o.mask != 0 && v.regions.is_empty() {
            continue;
        }
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(
            s,
            "{{\"start\":{},\"end\":{},\"perms\":{},\"offset\":{},\"path\":{},\"regions\":[",
            json_addr(v.vma.start),
            json_addr(v.vma.end),
            json_str(&v.vma.perms),
            json_addr(v.vma.offset),
            json_str(&v.vma.path)
        );
        for (i, r) in v.regions.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"start\":{},\"end\":{},\"pages\":{},\"categories\":{}}}",
                json_addr(r.start),
                json_addr(r.end),
                r.pages(ps),
                json_categories(r.categories)
            );
        }
        s.push_str("]}");
    }
    let t = totals(data, o.return_mask);
    let _ = write!(
        s,
        "],\"totals\":{{\"vmas\":{},\"regions\":{},\"pages\":{},\"bytes\":{},\"categories\":{{",
        t.vmas,
        t.regions,
        t.pages,
        t.pages * ps
    );
    for (i, (name, n)) in t.per_category.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{}:{n}", json_str(name));
    }
    s.push_str("}}}\n");
    s
}

/// Run `pagemap-scan PID ...`.
pub fn run(o: &ScanOpts) -> Result<(), CliError> {
    let pid = o.pid;
    let pm = Pagemap::open(pid).map_err(|e| describe(&e, pid, "opening"))?;
    let data = collect(&pm, pid, o)?;
    let text = if o.json {
        json_report(pid, o, &data)
    } else {
        human_report(pid, o, &data)
    };
    let mut out = io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    Ok(())
}
