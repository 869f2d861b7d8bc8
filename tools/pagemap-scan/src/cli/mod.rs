// SPDX-License-Identifier: GPL-2.0
//! The `pagemap-scan` command.

mod args;
mod fmt;
mod report;
mod watch;

use std::io;
use std::path::Path;

use pagemap_scan::{errno, probe};

use args::Command;

const HELP: &str = "\
pagemap-scan: show a process's memory by PAGEMAP_SCAN page category

USAGE
  pagemap-scan PID|self [--range A-B] [CATEGORY FILTERS] [--any]
               [--return LIST] [--json]
  pagemap-scan watch PID [--interval MS] [--count N] [--range A-B] [--json]
  pagemap-scan watch [--interval MS] [--count N] [--json] -- CMD [ARG...]
  pagemap-scan probe
  pagemap-scan --help | --version

SCAN
  Scans every VMA of /proc/PID/maps (inside --range) with the PAGEMAP_SCAN
  ioctl and prints the regions found, grouped per VMA, with their
  categories, human sizes and totals per category.

  --range A-B       only addresses A..B (hexadecimal, 0x optional)
  --written --present --swapped --file --pfnzero --huge --soft-dirty
  --wpallowed       only pages in all of these categories
  --not-CATEGORY    only pages NOT in CATEGORY (e.g. --not-present)
  --any             pages in at least one of the given categories instead
  --return LIST     categories to report, comma separated (default: all)
  --json            one JSON document instead of text

WATCH
  Prints, every interval, the pages the process wrote. The tracking uses
  soft-dirty bits (needs CONFIG_MEM_SOFT_DIRTY): clear_refs, wait, scan for
  PAGE_IS_SOFT_DIRTY, clear again. A write landing between the scan and the
  clear is missed; a mapping created during an interval counts as written.
  (Exact userfaultfd write-protect tracking is only possible from inside the
  process itself: see the write-watch sample and the WriteTracker API.)
  With -- CMD the command is started and watched until it exits; when
  --count intervals are reached first, it is killed.

  --interval MS     interval length (default 1000)
  --count N         stop after N intervals (default: until the process exits)
  --json            one JSON object per interval

PROBE
  Reports whether the kernel has PAGEMAP_SCAN, userfaultfd WP_ASYNC,
  soft-dirty, THP and swap. Exit status 1 if PAGEMAP_SCAN is missing.

EXIT STATUS
  0 success, 1 runtime error (no such process, permission denied, kernel
  too old...), 2 usage error.
";

/// A failure: a bad command line (exit 2) or a runtime error (exit 1).
#[derive(Debug)]
pub enum CliError {
    Usage(String),
    Runtime(String),
}

/// A runtime error about `what` (e.g. "opening") `/proc/PID/...`, in words
/// naming the cause.
pub fn describe(e: &io::Error, pid: u32, what: &str) -> CliError {
    let msg = match errno(e) {
        Some(libc::ENOENT) if !Path::new(&format!("/proc/{pid}")).exists() => {
            format!("no such process: {pid}")
        }
        Some(libc::ENOENT) => format!(
            "{what} /proc/{pid}/pagemap: no such file (is /proc mounted? kernel without \
             CONFIG_PROC_PAGE_MONITOR?)"
        ),
        Some(libc::ESRCH) => format!("process {pid} exited"),
        Some(libc::EACCES) | Some(libc::EPERM) => format!(
            "permission denied: {what} /proc/{pid} needs ptrace access to the process \
             (run as root or as its owner): {e}"
        ),
        Some(libc::ENOTTY) => "kernel too old: /proc/PID/pagemap has no PAGEMAP_SCAN ioctl \
                               (ENOTTY; Linux 6.7 or newer is required)"
            .to_string(),
        Some(libc::EINVAL) => format!(
            "the kernel rejected PAGEMAP_SCAN (EINVAL: kernel too old, or a category it \
             does not know): {e}"
        ),
        Some(libc::EFAULT) => {
            format!("bad address range (EFAULT): the range must lie in user space: {e}")
        }
        _ => format!("{what} pid {pid}: {e}"),
    };
    CliError::Runtime(msg)
}

fn run(argv: Vec<String>) -> Result<(), CliError> {
    match args::parse(argv).map_err(CliError::Usage)? {
        Command::Help => {
            print!("{HELP}");
            Ok(())
        }
        Command::Version => {
            println!("pagemap-scan {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Probe => {
            let f = probe();
            println!("{f}");
            match f.pagemap_scan.reason() {
                None => Ok(()),
                Some(why) => Err(CliError::Runtime(format!(
                    "PAGEMAP_SCAN unavailable: {why}"
                ))),
            }
        }
        Command::Scan(o) => report::run(&o),
        Command::Watch(o) => watch::run(&o),
    }
}

/// Run the command line `argv` (without the program name); returns the
/// exit status.
pub fn main(argv: Vec<String>) -> i32 {
    match run(argv) {
        Ok(()) => 0,
        Err(CliError::Usage(msg)) => {
            eprintln!("pagemap-scan: {msg}");
            eprintln!("Try 'pagemap-scan --help'.");
            2
        }
        Err(CliError::Runtime(msg)) => {
            eprintln!("pagemap-scan: {msg}");
            1
        }
    }
}
