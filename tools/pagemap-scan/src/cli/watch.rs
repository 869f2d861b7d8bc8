// SPDX-License-Identifier: GPL-2.0
//! `pagemap-scan watch`: pages a process writes, interval by interval.
//!
//! A process's userfaultfd can only be created by the process itself, so
//! for another process the write-tracking source is soft-dirty
//! (`CONFIG_MEM_SOFT_DIRTY`): write `4` to `/proc/PID/clear_refs`, wait,
//! `PAGEMAP_SCAN` for `PAGE_IS_SOFT_DIRTY`, clear again. Unlike uffd-wp
//! async with `PM_SCAN_WP_MATCHING`, scanning and clearing are two steps: a
//! write landing between them is lost. A mapping created during an interval
//! is soft-dirty as a whole (the VMA flag), so its present pages count as
//! written once.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::process::{Child, Command};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pagemap_scan::maps;
use pagemap_scan::probe::{check_pagemap_scan, check_soft_dirty};
use pagemap_scan::{
    errno, page_size, PageRegion, Pagemap, PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY,
    PAGE_IS_SWAPPED,
};

use super::args::{Target, WatchOpts};
use super::fmt::{human, json_addr, json_str};
use super::report::clip;
use super::{describe, CliError};

fn clear_refs(pid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "4")
}

/// True for errors meaning the process is gone.
fn gone(e: &io::Error) -> bool {
    matches!(errno(e), Some(libc::ESRCH) | Some(libc::ENOENT))
}

/// Written regions of the process with the name of their VMA, or `None`
/// when the process has exited.
fn scan_written(
    pm: &Pagemap,
    pid: u32,
    o: &WatchOpts,
) -> Result<Option<Vec<(PageRegion, String)>>, CliError> {
    let vmas = match maps::read(Some(pid)) {
        Ok(v) => v,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(describe(&e, pid, "reading maps of")),
    };
    let mut out = Vec::new();
    for vma in vmas.iter().filter(|v| !v.is_kernel_gate()) {
        let Some(r) = clip(vma, &o.range) else {
            continue;
        };
        // Soft-dirty, backed by memory (present or swapped: a hole of a new
        // VMA is "soft-dirty" too), and not the zero page (only read).
        let scan = pm
            .scan(r)
            .category_mask(PAGE_IS_SOFT_DIRTY | PAGE_IS_PFNZERO)
            .category_inverted(PAGE_IS_PFNZERO)
            .category_anyof_mask(PAGE_IS_PRESENT | PAGE_IS_SWAPPED)
            .return_mask(PAGE_IS_SOFT_DIRTY);
        for reg in scan.regions() {
            match reg {
                Ok(reg) => out.push((reg, vma.name().to_string())),
                Err(e) if gone(&e) => return Ok(None),
                Err(e) => return Err(describe(&e, pid, "PAGEMAP_SCAN on")),
            }
        }
    }
    Ok(Some(out))
}

fn print_interval(
    n: u64,
    elapsed: Duration,
    pid: u32,
    regions: &[(PageRegion, String)],
    json: bool,
) {
    let ps = page_size();
    let pages: u64 = regions.iter().map(|(r, _)| r.pages(ps)).sum();
    let mut s = String::new();
    if json {
        let _ = write!(
            s,
            "{{\"interval\":{n},\"elapsed_ms\":{},\"pid\":{pid},\"pages\":{pages},\"bytes\":{},\"regions\":[",
            elapsed.as_millis(),
            pages * ps
        );
        for (i, (r, name)) in regions.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"start\":{},\"end\":{},\"pages\":{},\"vma\":{}}}",
                json_addr(r.start),
                json_addr(r.end),
                r.pages(ps),
                json_str(name)
            );
        }
        s.push_str("]}\n");
    } else {
        let _ = writeln!(
            s,
            "[{n}] +{:.2}s pid {pid}: {pages} pages ({}) written in {} regions",
            elapsed.as_secs_f64(),
            human(pages * ps),
            regions.len()
        );
        for (r, name) in regions {
            let _ = writeln!(
                s,
                "    {:x}-{:x} {:>7}  {name}",
                r.start,
                r.end,
                human(r.len())
            );
        }
    }
    let mut out = io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

fn status(msg: &str, json: bool) {
    if json {
        println!("{{\"event\":{}}}", json_str(msg));
    } else {
        println!("{msg}");
    }
}

/// Sleep `d`; return early with the exit status text if `child` exits.
fn wait_interval(d: Duration, child: &mut Option<Child>) -> Option<String> {
    let Some(c) = child else {
        sleep(d);
        return None;
    };
    let deadline = Instant::now() + d;
    loop {
        if let Ok(Some(st)) = c.try_wait() {
            return Some(st.to_string());
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

/// Run `pagemap-scan watch ...`.
pub fn run(o: &WatchOpts) -> Result<(), CliError> {
    check_pagemap_scan().map_err(|e| CliError::Runtime(e.to_string()))?;
    if let Some(why) = check_soft_dirty().reason() {
        return Err(CliError::Runtime(format!(
            "watch tracks another process's writes with soft-dirty bits, which this kernel \
             lacks: {why}"
        )));
    }
    let (pid, mut child) = match &o.target {
        Target::Pid(p) => (*p, None),
        Target::Cmd(cmd) => {
            let c = Command::new(&cmd[0])
                .args(&cmd[1..])
                .spawn()
                .map_err(|e| CliError::Runtime(format!("cannot run {:?}: {e}", cmd[0])))?;
            (c.id(), Some(c))
        }
    };
    let result = watch_loop(pid, o, &mut child);
    if let Some(mut c) = child {
        if let Ok(None) = c.try_wait() {
            // --count reached while the command still runs: stop it.
            let _ = c.kill();
            let _ = c.wait();
            status(
                &format!("stopped command (pid {pid}) after {} intervals", o.count),
                o.json,
            );
        }
    }
    result
}

fn watch_loop(pid: u32, o: &WatchOpts, child: &mut Option<Child>) -> Result<(), CliError> {
    let pm = Pagemap::open(pid).map_err(|e| describe(&e, pid, "opening"))?;
    clear_refs(pid).map_err(|e| describe(&e, pid, "clearing soft-dirty bits (clear_refs) of"))?;
    let start = Instant::now();
    let interval = Duration::from_millis(o.interval_ms);
    let mut n = 0;
    while o.count == 0 || n < o.count {
        if let Some(st) = wait_interval(interval, child) {
            status(&format!("command (pid {pid}) exited: {st}"), o.json);
            return Ok(());
        }
        n += 1;
        let Some(regions) = scan_written(&pm, pid, o)? else {
            status(&format!("process {pid} exited"), o.json);
            return Ok(());
        };
        match clear_refs(pid) {
            Ok(()) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(describe(&e, pid, "clearing soft-dirty bits of")),
        }
        print_interval(n, start.elapsed(), pid, &regions, o.json);
    }
    Ok(())
}
