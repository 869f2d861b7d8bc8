// SPDX-License-Identifier: GPL-2.0
//! The `pagemap-scan` command.

mod args;
mod fmt;
mod manpage;
mod report;
mod watch;

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use clap::Parser;
use pagemap_scan::{errno, probe};

use args::{Cli, Cmd};

/// A failure and how it ends the process.
#[derive(Debug)]
pub enum CliError {
    /// A runtime error, printed with the program name (exit 1).
    Runtime(String),
    /// Writing the output failed (exit 1, silent for a closed pipe).
    Output(io::Error),
    /// Errors were already reported (exit 1).
    Failed,
    /// Exit with this status, nothing more to say (`watch -- COMMAND`).
    Exit(i32),
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Output(e)
    }
}

/// Print `pagemap-scan: msg` on stderr.
pub fn error_message(msg: &str) {
    let _ = writeln!(io::stderr(), "pagemap-scan: {msg}");
}

/// Print `pagemap-scan: note: msg` on stderr.
pub fn note(msg: &str) {
    let _ = writeln!(io::stderr(), "pagemap-scan: note: {msg}");
}

/// The fields of `/proc/PID/stat` after the command name: state is `[0]`,
/// flags `[6]`.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = s.iter().rposition(|&b| b == b')')?;
    let rest = String::from_utf8_lossy(&s[close + 1..]).into_owned();
    Some(rest.split_whitespace().map(String::from).collect())
}

/// The start time of `pid` (field 22 of `/proc/PID/stat`, clock ticks
/// since boot): with the PID, it names one process, even after the PID is
/// reused.
fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// `PF_KTHREAD` in the flags of `/proc/PID/stat`.
const PF_KTHREAD: u64 = 0x0020_0000;

/// Check that `pid` is a process with user memory: it exists, is not a
/// kernel thread, not a zombie.
pub fn check_target(pid: u32) -> Result<(), CliError> {
    reader_of(pid).map(|_| ())
}

/// A live thread of `pid` other than the leader, if any.
fn live_thread(pid: u32) -> Option<u32> {
    fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&tid| tid != pid)
        .find(|&tid| {
            fs::read(format!("/proc/{pid}/task/{tid}/stat")).is_ok_and(|s| {
                s.iter()
                    .rposition(|&b| b == b')')
                    .and_then(|c| s.get(c + 2))
                    .is_some_and(|&st| st != b'Z' && st != b'X')
            })
        })
}

/// The id through which `pid`'s memory is read (`/proc/ID/...`): `pid`
/// itself, or, when its thread-group leader has exited while other
/// threads go on (the leader is a zombie, the process is not), one of
/// those threads, which share the address space. An error for a process
/// without user memory: gone, a kernel thread, a zombie.
pub fn reader_of(pid: u32) -> Result<u32, CliError> {
    let Some(f) = stat_fields(pid) else {
        return Err(CliError::Runtime(format!("no such process: {pid}")));
    };
    let comm = report::comm(pid);
    let flags: u64 = f.get(6).and_then(|s| s.parse().ok()).unwrap_or(0);
    if flags & PF_KTHREAD != 0 {
        return Err(CliError::Runtime(format!(
            "pid {pid} ({comm}) is a kernel thread: it has no user address space to scan"
        )));
    }
    if f.first().map(String::as_str) == Some("Z") {
        if let Some(tid) = live_thread(pid) {
            return Ok(tid);
        }
        return Err(CliError::Runtime(format!(
            "pid {pid} ({comm}) is a zombie: it has exited and its memory is gone"
        )));
    }
    Ok(pid)
}

/// A `Name:` line of `/proc/PID/status` (`self` for our own).
fn status_field(pid: &str, name: &str) -> Option<String> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The effective UID in a `Uid:` line (real, effective, saved, fs).
fn effective_uid(pid: &str) -> Option<u32> {
    status_field(pid, "Uid")?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_PTRACE: u32 = 19;

/// Why opening `/proc/PID/...` was denied, in words that fit who we are.
fn permission_denied(pid: u32, what: &str, e: &io::Error) -> String {
    let owner = effective_uid(&pid.to_string())
        .map(|u| format!("uid {u}"))
        .unwrap_or_else(|| "another user".into());
    let me = effective_uid("self");
    // Root passes the check with CAP_SYS_PTRACE (the ptrace check) and
    // CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH (the 0400 mode of the files).
    let caps = status_field("self", "CapEff")
        .and_then(|c| u64::from_str_radix(&c, 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| caps & (1 << cap) != 0;
    let full = has(CAP_SYS_PTRACE) && (has(CAP_DAC_OVERRIDE) || has(CAP_DAC_READ_SEARCH));
    let why = match (me, full) {
        (Some(0), true) => "even root with CAP_SYS_PTRACE and CAP_DAC_OVERRIDE is denied: a \
                            security module (SELinux, AppArmor, Yama, Landlock) or a user \
                            namespace boundary refuses the ptrace read check"
            .to_string(),
        (Some(0), false) => format!(
            "running as root but with reduced capabilities (reading another user's process \
             needs CAP_SYS_PTRACE and CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH), and the \
             process belongs to {owner}"
        ),
        (Some(u), _) => format!(
            "it needs ptrace read access: you are uid {u}, the process belongs to {owner}; \
             run as its owner or as root"
        ),
        (None, _) => "it needs ptrace read access (run as its owner or as root)".into(),
    };
    format!("permission denied {what} /proc/{pid}: {why} ({e})")
}

/// A runtime error about `what` (e.g. "opening") `/proc/PID/...`, in words
/// naming the cause.
pub fn describe(e: &io::Error, pid: u32, what: &str) -> CliError {
    let msg = match errno(e) {
        Some(libc::ENOENT) | Some(libc::ESRCH) if !Path::new(&format!("/proc/{pid}")).exists() => {
            format!("process {pid} exited (no such process)")
        }
        Some(libc::ENOENT) => format!(
            "{what} /proc/{pid}/pagemap: no such file (is /proc mounted? kernel without \
             CONFIG_PROC_PAGE_MONITOR?)"
        ),
        Some(libc::ESRCH) => match check_target(pid) {
            Err(CliError::Runtime(m)) => m,
            _ => format!("process {pid} exited"),
        },
        Some(libc::EACCES) | Some(libc::EPERM) => permission_denied(pid, what, e),
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

fn run(cli: Cli, out: &mut impl Write) -> Result<(), CliError> {
    match cli.command {
        None => report::run(&cli.scan, out),
        Some(Cmd::Watch(o)) => watch::run(&o, out),
        Some(Cmd::Probe) => {
            let f = probe();
            writeln!(out, "{f}")?;
            match f.pagemap_scan.reason() {
                None => Ok(()),
                Some(why) => Err(CliError::Runtime(format!(
                    "PAGEMAP_SCAN unavailable: {why}"
                ))),
            }
        }
        Some(Cmd::Completions {
            shell: clap_complete::Shell::Bash,
        }) => {
            manpage::bash(out)?;
            Ok(())
        }
        Some(Cmd::Completions { shell }) => {
            clap_complete::generate(shell, &mut args::command(), "pagemap-scan", out);
            Ok(())
        }
        Some(Cmd::Manpage) => {
            manpage::render(out)?;
            Ok(())
        }
    }
}

/// Whether descriptor 1 is the read-write /dev/null that Rust's runtime
/// puts in place of a closed standard descriptor.
fn stdout_was_closed() -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    // SAFETY: fcntl(F_GETFL) on descriptor 1 only reads its status flags.
    let fl = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL) };
    if fl == -1 {
        return true;
    }
    if fl & libc::O_ACCMODE != libc::O_RDWR {
        return false;
    }
    let (Ok(out), Ok(null)) = (fs::metadata("/proc/self/fd/1"), fs::metadata("/dev/null")) else {
        return false;
    };
    out.file_type().is_char_device() && out.rdev() == null.rdev()
}

/// True for the error of writing to a closed pipe (`| head`), which ends
/// the output quietly.
fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Run the command line `argv` (with the program name); returns the exit
/// status.
pub fn main(argv: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            // Usage errors exit 2; --help/--version print to stdout, exit 0.
            let code = e.exit_code();
            return match e.print() {
                Err(err) if !is_broken_pipe(&err) => {
                    error_message(&format!("writing output: {err}"));
                    1
                }
                _ => code,
            };
        }
    };
    // A report nobody gets must not end with status 0: started with its
    // standard output closed (`>&-`), the program finds /dev/null there,
    // opened read-write by Rust's runtime, which reopens closed standard
    // descriptors so (a shell's `>/dev/null` opens it write-only).
    if stdout_was_closed() {
        error_message("standard output is closed: nothing can be reported");
        return 1;
    }
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let result = run(cli, &mut out);
    // Flush what was written, also before reporting a later error.
    let flushed = out.flush();
    let result = match (result, flushed) {
        (Ok(()), Err(e)) => Err(CliError::Output(e)),
        (r, _) => r,
    };
    match result {
        Ok(()) => 0,
        Err(CliError::Output(e)) if is_broken_pipe(&e) => 0,
        Err(CliError::Output(e)) => {
            error_message(&format!("writing output: {e}"));
            1
        }
        Err(CliError::Runtime(msg)) => {
            error_message(&msg);
            1
        }
        Err(CliError::Failed) => 1,
        Err(CliError::Exit(code)) => code,
    }
}
