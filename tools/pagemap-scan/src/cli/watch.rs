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
//! written once. Kernels without soft-dirty, among them every arm64 kernel
//! (the architecture has no soft-dirty bits), get a refusal that says so.
//!
//! Intervals (and the final summary) go to stdout, status messages to
//! stderr. SIGINT, SIGTERM and SIGHUP end the watch with a summary; they
//! are forwarded to a COMMAND started by `watch -- COMMAND`, whose exit
//! status becomes ours (128+N when signal N killed it).

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pagemap_scan::maps;
use pagemap_scan::probe::{check_pagemap_scan, soft_dirty, SoftDirty};
use pagemap_scan::{
    errno, page_size, Pagemap, PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY,
    PAGE_IS_SWAPPED,
};
use serde::Serialize;

use super::args::WatchOpts;
use super::fmt::{hex, term_safe, Size};
use super::report::clip;
use super::{check_target, describe, error_message, CliError};

/// The last terminating signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Catch SIGINT, SIGTERM and SIGHUP into [`SIGNAL`] instead of dying.
fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `sa` is fully initialized (zeroed, then the handler and
        // an empty mask set); the handler only stores to an atomic, which
        // is async-signal-safe. Exec resets it to the default in children.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn pending_signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Send `sig` to the child (if it has not been reaped yet).
fn signal_child(c: &Child, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; the child is not
    // reaped yet (we own its `Child` and only reap through it), so its pid
    // cannot have been reused.
    unsafe {
        libc::kill(c.id() as libc::pid_t, sig);
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGKILL => "SIGKILL".into(),
        n => format!("signal {n}"),
    }
}

/// The shell convention: the exit code, or 128+N for death by signal N.
pub fn exit_code(st: ExitStatus) -> i32 {
    st.code()
        .or_else(|| st.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

fn describe_status(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(s)) => format!("was killed by {}", signal_name(s)),
        _ => st.to_string(),
    }
}

fn status(msg: &str) {
    error_message(msg);
}

/// Stop the child: `sig`, then SIGKILL if it is still running after
/// `grace`. Returns its exit status.
fn stop_child(c: &mut Child, sig: i32, grace: Duration) -> io::Result<ExitStatus> {
    if let Some(st) = c.try_wait()? {
        return Ok(st);
    }
    signal_child(c, sig);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Some(st) = c.try_wait()? {
            return Ok(st);
        }
        sleep(Duration::from_millis(10));
    }
    status(&format!(
        "command (pid {}) still running {} ms after {}: sending SIGKILL",
        c.id(),
        grace.as_millis(),
        signal_name(sig)
    ));
    c.kill()?;
    c.wait()
}

fn clear_refs(pid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "4")
}

/// Whether `pid` is still the process that was watched, alive: the child
/// not exited (not even a zombie: `try_wait` reaps it), or for a PID the
/// same start time (the PID was not reused) and not a zombie.
fn same_process_alive(
    pid: u32,
    started_at: Option<u64>,
    child: &mut Option<Child>,
) -> io::Result<bool> {
    if let Some(c) = child {
        return Ok(c.try_wait()?.is_none());
    }
    Ok(started_at.is_some()
        && super::start_time(pid) == started_at
        && super::check_target(pid).is_ok())
}

/// True for errors meaning the process is gone.
fn gone(e: &io::Error) -> bool {
    matches!(errno(e), Some(libc::ESRCH) | Some(libc::ENOENT))
}

/// One written region.
#[derive(Serialize)]
struct Written {
    #[serde(serialize_with = "hex")]
    start: u64,
    #[serde(serialize_with = "hex")]
    end: u64,
    pages: u64,
    #[serde(serialize_with = "lossy")]
    vma: std::ffi::OsString,
}

fn lossy<S: serde::Serializer>(p: &std::ffi::OsString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Written regions of the process with the name of their VMA, or `None`
/// when the process has exited.
fn scan_written(pm: &Pagemap, pid: u32, o: &WatchOpts) -> Result<Option<Vec<Written>>, CliError> {
    let vmas = match maps::read(Some(pid)) {
        Ok(v) => v,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(describe(&e, pid, "reading maps of")),
    };
    let ps = page_size();
    let mut out = Vec::new();
    for vma in vmas.iter().filter(|v| !v.is_kernel_gate()) {
        let Some(r) = clip(vma.start, vma.end, o.range) else {
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
                Ok(reg) => out.push(Written {
                    start: reg.start,
                    end: reg.end,
                    pages: reg.pages(ps),
                    vma: vma.name().to_owned(),
                }),
                Err(e) if gone(&e) => return Ok(None),
                Err(e) => return Err(describe(&e, pid, "PAGEMAP_SCAN on")),
            }
        }
    }
    if vmas.is_empty() {
        // A zombie (or an exiting process) has no maps left.
        return Ok(None);
    }
    Ok(Some(out))
}

#[derive(Serialize)]
struct IntervalJson<'a> {
    interval: u64,
    elapsed_ms: u128,
    pid: u32,
    pages: u64,
    bytes: u64,
    regions: &'a [Written],
}

fn print_interval(
    w: &mut impl Write,
    n: u64,
    elapsed: Duration,
    pid: u32,
    regions: &[Written],
    o: &WatchOpts,
) -> io::Result<()> {
    let ps = page_size();
    let pages: u64 = regions.iter().map(|r| r.pages).sum();
    if o.json {
        let doc = IntervalJson {
            interval: n,
            elapsed_ms: elapsed.as_millis(),
            pid,
            pages,
            bytes: pages * ps,
            regions,
        };
        serde_json::to_writer(&mut *w, &doc)?;
        writeln!(w)?;
    } else {
        writeln!(
            w,
            "[{n}] +{:.2}s pid {pid}: {pages} pages ({}) written in {} regions",
            elapsed.as_secs_f64(),
            Size {
                bytes: pages * ps,
                kib: o.kib
            },
            regions.len()
        )?;
        for r in regions {
            write!(
                w,
                "    {:x}-{:x} {:>8}  ",
                r.start,
                r.end,
                Size {
                    bytes: r.pages * ps,
                    kib: o.kib
                }
            )?;
            w.write_all(&term_safe(r.vma.as_bytes()))?;
            writeln!(w)?;
        }
    }
    w.flush()
}

/// Why the watch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// `--count` intervals done.
    Count,
    /// The watched process exited (a PID, or the command: its status).
    Exited(Option<ExitStatus>),
    /// We received this signal.
    Signal(i32),
}

/// What the summary reports.
#[derive(Default, Serialize)]
struct Summary {
    pid: u32,
    intervals: u64,
    elapsed_ms: u128,
    /// Written pages summed over the intervals (a page written in two
    /// intervals counts twice).
    written_pages: u64,
    /// The most pages written in one interval.
    max_pages_per_interval: u64,
    /// How often the process executed a new program meanwhile.
    execs: u64,
    /// `count`, `exited` or `signal`.
    end: &'static str,
    /// The exit status of COMMAND (128+N if signal N killed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_status: Option<i32>,
}

fn print_summary(w: &mut impl Write, s: &Summary, o: &WatchOpts) -> io::Result<()> {
    if o.json {
        serde_json::to_writer(&mut *w, &serde_json::json!({ "summary": s }))?;
        writeln!(w)?;
    } else {
        writeln!(
            w,
            "summary: pid {}: {} intervals in {:.2}s, {} pages ({}) written in total, at most {} \
             in one interval",
            s.pid,
            s.intervals,
            s.elapsed_ms as f64 / 1000.0,
            s.written_pages,
            Size {
                bytes: s.written_pages * page_size(),
                kib: o.kib
            },
            s.max_pages_per_interval
        )?;
    }
    w.flush()
}

/// The refusal when soft-dirty is missing, naming the cause (a kernel
/// option, or an architecture without soft-dirty bits, such as arm64) and
/// what works instead. There is no fallback inside `watch`: the other
/// write-tracking mechanism, userfaultfd write-protection, can only be set
/// up by the process itself.
fn no_soft_dirty(sd: &SoftDirty) -> CliError {
    let why = sd.support.reason().unwrap_or_default();
    let cause = match &sd.architecture_lacks {
        // The reason names the architecture and the option it cannot have.
        Some(_) => why.to_string(),
        None => format!(
            "{why}; soft-dirty needs CONFIG_MEM_SOFT_DIRTY=y, which also needs \
             architecture support"
        ),
    };
    CliError::Runtime(format!(
        "watch cannot track another process's writes on this kernel: it needs soft-dirty \
         bits, which this kernel does not provide ({cause}). \
         What works instead: exact write tracking with userfaultfd write-protection from \
         inside the process (the WriteTracker API; see the write-watch sample in \
         samples/pagemap_scan), or repeated snapshots of its memory with `pagemap-scan PID`."
    ))
}

/// Sleep for one interval in small steps; stop early when the child exits
/// or a signal arrives.
fn wait_interval(d: Duration, child: &mut Option<Child>) -> io::Result<Option<End>> {
    let deadline = Instant::now() + d;
    loop {
        if let Some(sig) = pending_signal() {
            return Ok(Some(End::Signal(sig)));
        }
        if let Some(c) = child {
            if let Some(st) = c.try_wait()? {
                return Ok(Some(End::Exited(Some(st))));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

/// The watch loop proper; returns why it ended.
fn watch_loop(
    pid: u32,
    o: &WatchOpts,
    child: &mut Option<Child>,
    sum: &mut Summary,
    w: &mut impl Write,
) -> Result<End, CliError> {
    let mut pm = Pagemap::open(pid).map_err(|e| describe(&e, pid, "opening"))?;
    clear_refs(pid).map_err(|e| describe(&e, pid, "clearing soft-dirty bits (clear_refs) of"))?;
    let started_at = super::start_time(pid);
    let start = Instant::now();
    let interval = Duration::from_millis(o.interval);
    loop {
        if o.count.is_some_and(|c| sum.intervals >= c) {
            return Ok(End::Count);
        }
        if let Some(end) = wait_interval(interval, child)? {
            return Ok(end);
        }
        let Some(regions) = scan_written(&pm, pid, o)? else {
            // The pagemap is bound to the address space it was opened on:
            // after an execve() it answers ESRCH although the process
            // lives on. Then watch the new program (from a fresh
            // clear_refs: its pages are all new) instead of ending.
            if !same_process_alive(pid, started_at, child)? {
                return Ok(End::Exited(None));
            }
            match Pagemap::open(pid).and_then(|p| clear_refs(pid).map(|()| p)) {
                Ok(p) => pm = p,
                Err(e) if gone(&e) => return Ok(End::Exited(None)),
                Err(e) => return Err(describe(&e, pid, "reopening the pagemap of")),
            }
            sum.execs += 1;
            status(&format!(
                "process {pid} executed a new program ({}): watching it from here",
                String::from_utf8_lossy(&term_safe(super::report::comm(pid).as_bytes()))
            ));
            continue;
        };
        match clear_refs(pid) {
            Ok(()) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(describe(&e, pid, "clearing soft-dirty bits of")),
        }
        sum.intervals += 1;
        sum.elapsed_ms = start.elapsed().as_millis();
        let pages = regions.iter().map(|r| r.pages).sum();
        sum.written_pages += pages;
        sum.max_pages_per_interval = sum.max_pages_per_interval.max(pages);
        print_interval(w, sum.intervals, start.elapsed(), pid, &regions, o)?;
    }
}

/// Run `pagemap-scan watch ...`.
pub fn run(o: &WatchOpts, w: &mut impl Write) -> Result<(), CliError> {
    check_pagemap_scan().map_err(|e| CliError::Runtime(e.to_string()))?;
    let sd = soft_dirty();
    if !sd.support.is_yes() {
        return Err(no_soft_dirty(&sd));
    }
    if let Some(pid) = o.pid {
        check_target(pid)?;
    }
    catch_signals();
    let (pid, mut child) = match o.pid {
        Some(p) => (p, None),
        None => {
            let cmd = &o.command;
            let c = Command::new(&cmd[0]).args(&cmd[1..]).spawn().map_err(|e| {
                error_message(&format!(
                    "cannot run {}: {e}",
                    String::from_utf8_lossy(&term_safe(OsStr::as_bytes(&cmd[0])))
                ));
                // As env, nice and timeout: 127 not found, 126 found but
                // not runnable.
                CliError::Exit(if e.kind() == io::ErrorKind::NotFound {
                    127
                } else {
                    126
                })
            })?;
            (c.id(), Some(c))
        }
    };
    let mut sum = Summary {
        pid,
        ..Summary::default()
    };
    let started = Instant::now();
    let result = watch_loop(pid, o, &mut child, &mut sum, w);
    let grace = Duration::from_millis(o.grace);
    // Whatever happened, the command must not outlive us.
    let (end, err) = match result {
        Ok(end) => (end, None),
        Err(e) => (End::Count, Some(e)),
    };
    let mut code = 0;
    let mut end = end;
    if let Some(c) = child.as_mut() {
        let st = match end {
            End::Exited(Some(st)) => st,
            End::Signal(sig) => {
                status(&format!(
                    "received {}: forwarding it to the command (pid {pid})",
                    signal_name(sig)
                ));
                stop_child(c, sig, grace)?
            }
            _ => {
                let running = c.try_wait()?.is_none();
                if running && err.is_none() {
                    status(&format!(
                        "stopping the command (pid {pid}) after {} intervals: SIGTERM",
                        sum.intervals
                    ));
                }
                let st = stop_child(c, libc::SIGTERM, grace)?;
                if !running {
                    // It exited on its own just as we finished.
                    end = End::Exited(Some(st));
                }
                st
            }
        };
        if let End::Exited(_) | End::Signal(_) = end {
            status(&format!("command (pid {pid}) {}", describe_status(st)));
            code = exit_code(st);
            sum.exit_status = Some(code);
        }
    } else {
        match end {
            End::Exited(_) => status(&format!("process {pid} exited")),
            End::Signal(sig) => code = 128 + sig,
            End::Count => {}
        }
    }
    if let Some(e) = err {
        return Err(e);
    }
    sum.end = match end {
        End::Count => "count",
        End::Exited(_) => "exited",
        End::Signal(_) => "signal",
    };
    sum.elapsed_ms = started.elapsed().as_millis();
    print_summary(w, &sum, o)?;
    if code != 0 {
        return Err(CliError::Exit(code));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGKILL)), 137);
        assert_eq!(
            describe_status(ExitStatus::from_raw(libc::SIGTERM)),
            "was killed by SIGTERM"
        );
    }

    #[test]
    fn refusal_names_the_cause() {
        let arm64 = SoftDirty {
            support: pagemap_scan::Support::No(
                "the aarch64 architecture has no soft-dirty bits: its kernels cannot have \
                 CONFIG_MEM_SOFT_DIRTY"
                    .into(),
            ),
            architecture_lacks: Some("aarch64".into()),
            vma_flag: Some(false),
        };
        let CliError::Runtime(m) = no_soft_dirty(&arm64) else {
            panic!()
        };
        assert!(m.contains("aarch64 architecture has no soft-dirty"), "{m}");
        assert!(m.contains("What works instead"), "{m}");
        assert!(!m.contains("needs CONFIG_MEM_SOFT_DIRTY=y"), "{m}");
        let config = SoftDirty {
            support: pagemap_scan::Support::No("kernel built without it".into()),
            architecture_lacks: None,
            vma_flag: Some(false),
        };
        let CliError::Runtime(m) = no_soft_dirty(&config) else {
            panic!()
        };
        assert!(m.contains("needs CONFIG_MEM_SOFT_DIRTY=y"), "{m}");
    }

    fn sh(script: &str) -> Child {
        let c = Command::new("sh").args(["-c", script]).spawn().unwrap();
        // Let the shell install its trap.
        sleep(Duration::from_millis(150));
        c
    }

    #[test]
    fn stop_child_terms_then_kills() {
        let mut c = sh("trap 'exit 7' TERM; while :; do sleep 0.05; done");
        let st = stop_child(&mut c, libc::SIGTERM, Duration::from_secs(5)).unwrap();
        assert_eq!(st.code(), Some(7), "SIGTERM was not sent first");
        let mut c = sh("trap '' TERM; while :; do sleep 0.05; done");
        let t = Instant::now();
        let st = stop_child(&mut c, libc::SIGTERM, Duration::from_millis(200)).unwrap();
        assert_eq!(st.signal(), Some(libc::SIGKILL));
        assert!(t.elapsed() >= Duration::from_millis(200));
    }
}
