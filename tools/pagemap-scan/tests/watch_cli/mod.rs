// SPDX-License-Identifier: GPL-2.0
//! Tests of `pagemap-scan watch`, shared by the host CLI tests (`cli`) and
//! the guest kernel tests (`pagemap_scan_tests`): watch needs soft-dirty
//! bits (`CONFIG_MEM_SOFT_DIRTY`), which the project's x86-64 guest kernel
//! has and a host may lack. Without soft-dirty, the tests check the
//! refusal. Where the architecture has no soft-dirty bits at all (arm64),
//! that refusal is the correct behaviour and the tests pass, also under
//! `PAGEMAP_SCAN_REQUIRE_ALL=1`; elsewhere (a kernel built without it) they
//! are skips, failures under `PAGEMAP_SCAN_REQUIRE_ALL=1`.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pagemap_scan::probe::{check_pagemap_scan, soft_dirty};

/// The `pagemap-scan` binary: cargo's (host), or the one installed next
/// to the test executable (guest: /pmscan/bin).
pub fn cli_exe() -> Option<PathBuf> {
    if let Some(p) = option_env!("CARGO_BIN_EXE_pagemap-scan").map(PathBuf::from) {
        if p.exists() {
            return Some(p);
        }
    }
    let p = std::env::current_exe().ok()?.with_file_name("pagemap-scan");
    p.exists().then_some(p)
}

fn require_all() -> bool {
    std::env::var_os("PAGEMAP_SCAN_REQUIRE_ALL").is_some_and(|v| v != "0")
}

fn skip(test: &str, why: &str) {
    assert!(!require_all(), "{test}: {why}");
    note_line(&format!("SKIP {test}: {why}"));
}

/// A line on the real stderr, past the harness's output capture (which
/// takes `eprintln!`), so that it is seen in the guest's log.
fn note_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The CLI, if it and soft-dirty are available. Without soft-dirty, checks
/// that `watch` refuses and names the missing option (and the architecture,
/// where that is the cause), then returns `None`: a pass where the
/// architecture has no soft-dirty (arm64), a skip elsewhere.
fn watch_cli(test: &str) -> Option<PathBuf> {
    let Some(exe) = cli_exe() else {
        skip(test, "no pagemap-scan binary next to the tests");
        return None;
    };
    if let Err(e) = check_pagemap_scan() {
        skip(test, &e.to_string());
        return None;
    }
    let sd = soft_dirty();
    if let Some(why) = sd.support.reason() {
        let o = Command::new(&exe)
            .args(["watch", "--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("CONFIG_MEM_SOFT_DIRTY"), "{err}");
        assert!(err.contains("What works instead"), "{err}");
        assert!(o.stdout.is_empty());
        match &sd.architecture_lacks {
            Some(arch) => {
                assert!(err.contains(arch.as_str()), "{err}");
                note_line(&format!(
                    "NOTE {test}: {arch} has no soft-dirty: watch refuses ({why})"
                ));
            }
            None => skip(test, &format!("only the refusal was checked: {why}")),
        }
        return None;
    }
    Some(exe)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn spawn(exe: &PathBuf, args: &[&str]) -> Child {
    Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for the first interval line of a running `watch` (so that its
/// signal handlers are installed), send it `sig`, and collect its output.
fn signal_after_first_interval(mut c: Child, sig: i32) -> Output {
    use std::io::{BufRead, BufReader, Read};
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("[1] +"), "{first}");
    kill(c.id(), sig);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut o = c.wait_with_output().unwrap();
    o.stdout = (first + &rest).into_bytes();
    o
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our
    // unreaped child.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// A temporary file name unique to this test process and `tag`.
fn tmp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pmscan-watch-{}-{tag}", std::process::id()))
}

#[test]
fn watch_exit_status_and_streams() {
    let Some(exe) = watch_cli("watch_exit_status_and_streams") else {
        return;
    };
    let o = Command::new(&exe)
        .args(["watch", "--interval", "100", "--"])
        .args(["sh", "-c", "sleep 1; exit 3"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}\n{err}");
    assert!(out.contains("[1] +"), "{out}");
    assert!(out.contains("summary: pid "), "{out}");
    // Status lines on stderr only.
    assert!(err.contains("exited with status 3"), "{err}");
    assert!(!out.contains("exited"), "{out}");
    // Killed by a signal: 128+N.
    let o = Command::new(&exe)
        .args(["watch", "--interval", "50", "--json", "--"])
        .args(["sh", "-c", "sleep 1; kill -USR1 $$"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(128 + libc::SIGUSR1), "{out}\n{err}");
    let last = out.lines().last().unwrap_or("");
    assert!(last.starts_with("{\"summary\":{"), "{out}");
    assert!(last.contains("\"exit_status\":138"), "{out}");
}

#[test]
fn watch_count_sends_sigterm_first() {
    let Some(exe) = watch_cli("watch_count_sends_sigterm_first") else {
        return;
    };
    let f = tmp("term");
    let script = format!(
        "trap 'echo TERM > {}; exit 0' TERM; while :; do sleep 0.05; done",
        f.display()
    );
    let o = Command::new(&exe)
        .args(["watch", "--interval", "100", "--count", "2", "--"])
        .args(["sh", "-c", &script])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[2] +"), "{out}");
    assert!(err.contains("SIGTERM"), "{err}");
    assert!(!err.contains("SIGKILL"), "{err}");
    let got = std::fs::read_to_string(&f).unwrap_or_default();
    let _ = std::fs::remove_file(&f);
    assert_eq!(got.trim(), "TERM", "the command did not get SIGTERM");
    // A command ignoring SIGTERM is killed after --grace.
    let start = Instant::now();
    let o = Command::new(&exe)
        .args([
            "watch",
            "--interval",
            "50",
            "--count",
            "1",
            "--grace",
            "300",
        ])
        .args([
            "--",
            "sh",
            "-c",
            "trap '' TERM; while :; do sleep 0.05; done",
        ])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("SIGKILL"), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn watch_forwards_sigterm_and_summarizes() {
    let Some(exe) = watch_cli("watch_forwards_sigterm_and_summarizes") else {
        return;
    };
    let c = spawn(
        &exe,
        &[
            "watch",
            "--interval",
            "100",
            "--",
            "sh",
            "-c",
            "trap 'exit 5' TERM; while :; do sleep 0.05; done",
        ],
    );
    let o = signal_after_first_interval(c, libc::SIGTERM);
    let (out, err) = text(&o);
    // The command got the SIGTERM (its trap exits 5) and its status is ours.
    assert_eq!(o.status.code(), Some(5), "{out}\n{err}");
    assert!(out.contains("summary: pid "), "{out}");
    assert!(err.contains("forwarding"), "{err}");
}

#[test]
fn watch_pid_sigint_prints_summary() {
    let Some(exe) = watch_cli("watch_pid_sigint_prints_summary") else {
        return;
    };
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = target.id().to_string();
    std::thread::sleep(Duration::from_millis(100));
    let c = spawn(&exe, &["watch", &pid, "--interval", "100"]);
    let o = signal_after_first_interval(c, libc::SIGINT);
    let _ = target.kill();
    let _ = target.wait();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(128 + libc::SIGINT), "{out}\n{err}");
    assert!(out.contains("[1] +"), "{out}");
    assert!(out.contains("summary: pid "), "{out}");
}

#[test]
fn watch_follows_exec() {
    let Some(exe) = watch_cli("watch_follows_exec") else {
        return;
    };
    // A command that execs (as a wrapper script or a shim does): the
    // pagemap opened before the exec answers ESRCH after it; watch goes on
    // with the new program, and does not stop or kill it.
    let o = Command::new(&exe)
        .args(["watch", "--interval", "200", "--count", "3", "--"])
        .args(["sh", "-c", "sleep 0.1; exec sleep 5"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    // (The new program's name is whatever the system calls it: busybox in
    // the guest.)
    assert!(err.contains("executed a new program ("), "{err}");
    assert!(out.contains("[3] +"), "{out}");
    assert!(!err.contains("exited"), "{err}");
    // The same for a PID: its start time shows it is the same process.
    let mut target = Command::new("sh")
        .args(["-c", "sleep 0.5; exec sleep 30"])
        .spawn()
        .unwrap();
    let pid = target.id().to_string();
    let o = Command::new(&exe)
        .args(["watch", &pid, "--interval", "200", "--count", "5", "--json"])
        .output()
        .unwrap();
    let _ = target.kill();
    let _ = target.wait();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("executed a new program"), "{err}");
    let last = out.lines().last().unwrap_or("");
    assert!(last.contains("\"execs\":1"), "{out}");
    assert!(last.contains("\"end\":\"count\""), "{out}");
}

#[test]
fn cli_huge_zero_page_is_zero_not_huge() {
    // Shared with the guest (THP always, use_zero_page): a read fault on
    // an untouched PMD-aligned anonymous range of one PMD (2 MiB with 4 KiB
    // pages, 512 MiB with 64 KiB pages) maps the huge zero page, which the
    // kernel reports HUGE and PFNZERO. The CLI counts it in Zero, not in
    // Huge (AnonHugePages is 0 there).
    let test = "cli_huge_zero_page_is_zero_not_huge";
    let Some(exe) = cli_exe() else {
        skip(test, "no pagemap-scan binary next to the tests");
        return;
    };
    if let Err(e) = check_pagemap_scan() {
        skip(test, &e.to_string());
        return;
    }
    let huge = pagemap_scan::mem::pmd_size() as usize;
    let m = pagemap_scan::mem::Mapping::anon_aligned_huge(huge, huge).unwrap();
    // SAFETY: madvise on our own mapping.
    unsafe { libc::madvise(m.addr() as *mut libc::c_void, huge, libc::MADV_HUGEPAGE) };
    let _ = m.read(0);
    let range = format!("{:x}-{:x}", m.range().start, m.range().end);
    let pid = std::process::id().to_string();
    let o = Command::new(&exe)
        .args(["--json", "--range", &range, &pid])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = &v["totals"];
    if t["zero"] != huge as u64 {
        skip(test, &format!("no huge zero page was mapped: {t}"));
        return;
    }
    assert_eq!(t["huge"], 0, "{out}");
    assert_eq!(t["present"], huge as u64, "{out}");
}

#[test]
fn watch_command_that_cannot_run() {
    let Some(exe) = watch_cli("watch_command_that_cannot_run") else {
        return;
    };
    // As env, nice and timeout: 127 for a command not found, 126 for one
    // that cannot be executed.
    let o = Command::new(&exe)
        .args(["watch", "--", "/nonexistent/command"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(127), "{out}\n{err}");
    assert!(err.contains("cannot run"), "{err}");
    let f = tmp("noexec");
    std::fs::write(&f, "not a program").unwrap();
    let o = Command::new(&exe)
        .args(["watch", "--"])
        .arg(&f)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&f);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o).1);
    let o = Command::new(&exe)
        .args(["watch", "--version"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("pagemap-scan"), "{}", text(&o).0);
}
