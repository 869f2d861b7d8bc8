// SPDX-License-Identifier: GPL-2.0
//! Tests of the `pagemap-scan` command line, run on the build host (as
//! root for the permission test). The `watch` tests are shared with the
//! guest's kernel tests (`pagemap_scan_tests`), see `watch_cli`.

mod watch_cli;

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use pagemap_scan::mem::{page_size, Mapping};
use pagemap_scan::probe::{check_pagemap_scan, check_soft_dirty};
use pagemap_scan::WriteTracker;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_pagemap-scan");

fn cli<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(EXE)
        .args(args)
        .output()
        .expect("run pagemap-scan")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run and expect exit status 0; returns stdout and stderr.
fn ok<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S]) -> (String, String) {
    let o = cli(args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    (out, err)
}

fn json(args: &[&str]) -> Value {
    let (out, _) = ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn sleeper() -> Child {
    let c = Command::new("sleep")
        .arg("30")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    // Until it has exec'd.
    for _ in 0..100 {
        if std::fs::read_to_string(format!("/proc/{}/comm", c.id())).is_ok_and(|s| s == "sleep\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    c
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn scan_available(test: &str) -> bool {
    match check_pagemap_scan() {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(io::stderr(), "SKIP {test}: {e}");
            false
        }
    }
}

fn me() -> String {
    std::process::id().to_string()
}

fn range_arg(m: &Mapping) -> String {
    format!("{:x}-{:x}", m.range().start, m.range().end)
}

#[test]
fn help_and_usage_errors() {
    let o = cli(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("Usage:"));
    assert!(text(&o).0.contains("--not-present"));
    let o = cli(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    for bad in [
        &[][..],
        &["--present"],
        &["12", "--bogus"],
        &["12", "--range", "10-5"],
        &["12", "--json=no"],
        &["12", "--present=no"],
        &["12", "--any"],
        &["12", "--present", "--not-present"],
        &["12", "--return", "all"],
        &["+12"],
        &["012"],
        &["12", "-r", "--return", "bogus"],
        &["watch"],
        &["watch", "1", "--interval", "x"],
        &["watch", "1", "--", "true"],
        &["completions", "tcsh"],
    ] {
        let o = cli(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(text(&o).1.contains("--help"), "{bad:?}");
    }
    // Not UTF-8: a usage error, not a panic.
    for bad in [
        &[OsStr::from_bytes(b"\xff")][..],
        &[OsStr::new("1"), OsStr::from_bytes(b"--range=\xff")],
    ] {
        let o = cli(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o).1);
        assert!(!text(&o).1.contains("panicked"));
    }
}

#[test]
fn no_such_process() {
    let o = cli(&["1073741800"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("no such process"), "{:?}", text(&o));
}

#[test]
fn kernel_thread_is_named() {
    let is_kthread = std::fs::read_to_string("/proc/2/status")
        .is_ok_and(|s| s.lines().any(|l| l == "Kthread:\t1"));
    if !is_kthread {
        eprintln!("SKIP kernel_thread_is_named: pid 2 is not a kernel thread here");
        return;
    }
    let o = cli(&["2"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("kernel thread"), "{err}");
    assert!(!err.contains("exited"), "{err}");
}

#[test]
fn ptrace_denied_as_root_says_why() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP ptrace_denied_as_root_says_why: not root");
        return;
    }
    // A process of another user, and the CLI as root without the
    // capabilities that let root read it: the kernel denies access.
    let mut target = Command::new("sleep");
    target.arg("30");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        target.pre_exec(|| {
            if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let target = target.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut c = Command::new(EXE);
    c.arg(target.id().to_string());
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            // CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH.
            for cap in [19, 1, 2] {
                if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let o = c.output().unwrap();
    stop(target);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("root but with reduced capabilities"), "{err}");
    assert!(err.contains("uid 65534"), "{err}");
    assert!(!err.contains("run as root"), "{err}");
}

#[test]
fn summary_of_a_child_and_whole_address_space() {
    if !scan_available("summary_of_a_child_and_whole_address_space") {
        return;
    }
    let c = sleeper();
    let pid = c.id().to_string();
    let (out, _) = ok(&[&pid]);
    assert!(out.starts_with(&format!("{pid}:   sleep 30\n")), "{out}");
    assert!(out.contains("Address "), "{out}");
    assert!(out.contains(" Present "), "{out}");
    assert!(out.contains("[stack]"), "{out}");
    let total = out.lines().last().unwrap();
    assert!(total.starts_with("total "), "{out}");
    // No written column without userfaultfd; no region list by default.
    assert!(!out.contains("Written"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("    ")), "{out}");
    // The whole address space is the same as no range.
    let (all, _) = ok(&[&pid, "--range", "0-ffffffffffffffff"]);
    let vmas = |s: &str| s.lines().filter(|l| l.contains("[stack]")).count();
    assert_eq!(vmas(&all), 1, "{all}");
    assert!(all.lines().last().unwrap().contains(" VMAs"), "{all}");
    let j = json(&[&pid, "--json", "--range", "0x0-0xffffffffffffffff"]);
    assert!(j["totals"]["vmas"].as_u64().unwrap() >= 3, "{j}");
    assert!(j["totals"]["present"].as_u64().unwrap() > 0, "{j}");
    // Regions behind a flag.
    let (out, _) = ok(&[&pid, "--regions"]);
    assert!(out.lines().any(|l| l.starts_with("    ")), "{out}");
    stop(c);
}

#[test]
fn several_pids_and_partial_failure() {
    if !scan_available("several_pids_and_partial_failure") {
        return;
    }
    let (a, b) = (sleeper(), sleeper());
    let (pa, pb) = (a.id().to_string(), b.id().to_string());
    let (out, _) = ok(&[&pa, &pb]);
    assert!(out.contains(&format!("{pa}:   sleep")), "{out}");
    assert!(out.contains(&format!("{pb}:   sleep")), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("total ")).count(), 2);
    let o = cli(&[&pa, "1073741800", &pb]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("no such process: 1073741800"), "{err}");
    assert_eq!(out.lines().filter(|l| l.starts_with("total ")).count(), 2);
    // JSON: one document per line.
    let (out, _) = ok(&[&pa, &pb, "--json"]);
    let docs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1]["pid"].to_string(), pb);
    stop(a);
    stop(b);
}

#[test]
fn present_filter_and_json() {
    if !scan_available("present_filter_and_json") {
        return;
    }
    let c = sleeper();
    let pid = c.id().to_string();
    let j = json(&[&pid, "--present", "--regions", "--json"]);
    assert_eq!(j["comm"], "sleep");
    assert_eq!(j["filter"]["category_mask"], 8);
    let vmas = j["vmas"].as_array().unwrap();
    assert!(!vmas.is_empty());
    for v in vmas {
        assert!(v["present"].as_u64().unwrap() > 0, "{v}");
        for r in v["regions"].as_array().unwrap() {
            let cats = r["categories"].as_array().unwrap();
            assert!(cats.contains(&Value::from("present")), "{r}");
            assert!(!cats.contains(&Value::from("written")), "{r}");
        }
    }
    let j = json(&[&pid, "--not-present", "--json"]);
    assert_eq!(j["totals"]["present"], 0, "{j}");
    // --return narrows what --regions shows.
    let j = json(&[&pid, "--present", "-r", "--return", "file", "--json"]);
    for v in j["vmas"].as_array().unwrap() {
        for r in v["regions"].as_array().unwrap() {
            for c in r["categories"].as_array().unwrap() {
                assert_eq!(c, "file", "{r}");
            }
        }
    }
    stop(c);
}

#[test]
fn written_only_where_uffd_wp_and_holes_not_counted() {
    if !scan_available("written_only_where_uffd_wp_and_holes_not_counted") {
        return;
    }
    let ps = page_size();
    // 64 pages without userfaultfd: 2 written, 1 read (zero page), the
    // rest unpopulated.
    let plain = Mapping::anon(64).unwrap();
    plain.write(0, 1);
    plain.write(10, 1);
    // SAFETY: the page is mapped, readable, and only read.
    let _ = unsafe { std::ptr::read_volatile(plain.page(20) as *const u8) };
    let pr = range_arg(&plain);
    let j = json(&[&me(), "--range", &pr, "--regions", "--json"]);
    let v = &j["vmas"][0];
    assert_eq!(j["vmas"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(v["uffd_wp"], false);
    assert_eq!(v["size"], 64 * ps);
    assert_eq!(v["present"], 3 * ps, "{v}");
    assert_eq!(v["zero"], ps, "{v}");
    assert_eq!(v["written"], Value::Null, "{v}");
    assert_eq!(j["totals"]["present"], 3 * ps, "{j}");
    let text_regions = v["regions"].to_string();
    assert!(!text_regions.contains("written"), "{text_regions}");
    // Holes are not listed without a filter, and never counted.
    for r in v["regions"].as_array().unwrap() {
        assert_eq!(r["unpopulated"], false, "{r}");
    }
    let j = json(&[&me(), "--range", &pr, "--not-present", "--json"]);
    assert_eq!(j["totals"]["present"], 0, "{j}");
    assert_eq!(j["totals"]["unpopulated"], 61 * ps, "{j}");
    // Exact KiB.
    let (out, _) = ok(&[&me(), "--range", &pr, "-k"]);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{:016x}", plain.addr())))
        .unwrap_or_else(|| panic!("{out}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[1], (64 * ps / 1024).to_string(), "{line}");
    // RSS (the zero page is not resident memory), then Present.
    assert_eq!(f[2], (2 * ps / 1024).to_string(), "{line}");
    assert_eq!(f[3], (3 * ps / 1024).to_string(), "{line}");
    assert!(out.contains("Kbytes"), "{out}");

    let wt = match WriteTracker::new() {
        Ok(wt) => wt,
        Err(e) => {
            eprintln!("SKIP the uffd-wp part: {e}");
            return;
        }
    };
    let tracked = Mapping::anon(16).unwrap();
    wt.register(tracked.range()).unwrap();
    for i in [0, 1, 5] {
        tracked.write(i, 7);
    }
    let tr = range_arg(&tracked);
    let j = json(&[&me(), "--range", &tr, "--json", "-r"]);
    let v = &j["vmas"][0];
    assert_eq!(v["uffd_wp"], true, "{j}");
    assert_eq!(v["written"], 3 * ps, "{v}");
    assert_eq!(v["present"], 3 * ps, "{v}");
    assert!(v["regions"].to_string().contains("written"), "{v}");
    let (out, _) = ok(&[&me(), "--range", &tr]);
    assert!(out.contains("Written"), "{out}");
    // --written only looks at uffd-wp VMAs.
    let j = json(&[&me(), "--range", &pr, "--written", "--json"]);
    assert_eq!(j["totals"]["vmas"], 0, "{j}");
    let (_, err) = ok(&[&me(), "--range", &pr, "--written"]);
    assert!(err.contains("userfaultfd write-protection"), "{err}");
    let j = json(&[&me(), "--range", &tr, "--written", "--json"]);
    assert_eq!(j["totals"]["written"], 3 * ps, "{j}");
    drop(wt);
}

#[test]
fn non_utf8_mapping_name() {
    if !scan_available("non_utf8_mapping_name") {
        return;
    }
    let mut name = std::env::temp_dir().into_os_string().into_vec();
    name.extend_from_slice(format!("/pmscan-{}-", std::process::id()).as_bytes());
    name.extend_from_slice(b"\xff\xfe.bin");
    let path = std::path::PathBuf::from(std::ffi::OsString::from_vec(name.clone()));
    assert!(std::str::from_utf8(&name).is_err());
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.set_len(page_size()).unwrap();
    let ps = page_size() as usize;
    // SAFETY: a fresh shared read-only mapping of a file we own.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            ps,
            libc::PROT_READ,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&f),
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    // SAFETY: the page is mapped and readable.
    let _ = unsafe { std::ptr::read_volatile(p as *const u8) };
    let range = format!("{:x}-{:x}", p as u64, p as u64 + ps as u64);
    let o = cli(&[me().as_str(), "--range", &range]);
    let j = cli(&[me().as_str(), "--range", &range, "--json"]);
    // SAFETY: unmapping the mapping made above.
    unsafe { libc::munmap(p, ps) };
    let _ = std::fs::remove_file(&path);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    assert!(
        o.stdout.windows(name.len()).any(|w| w == name),
        "raw name missing: {}",
        text(&o).0
    );
    assert_eq!(j.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert!(v["vmas"][0]["path"].as_str().unwrap().contains('\u{fffd}'));
    assert_eq!(v["vmas"][0]["file"], page_size());
}

#[test]
fn output_errors() {
    if !scan_available("output_errors") {
        return;
    }
    // ENOSPC is an error.
    let o = Command::new(EXE)
        .arg("self")
        .stdout(File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("No space left"), "{}", text(&o).1);
    let o = Command::new(EXE)
        .arg("--help")
        .stdout(File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    // A closed pipe ends the output quietly.
    let mut c = Command::new(EXE)
        .args(["self", "--regions"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(c.stdout.take());
    let o = c.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "{}", text(&o).1);
}

#[test]
fn filters_that_cannot_match_say_why() {
    if !scan_available("filters_that_cannot_match_say_why") {
        return;
    }
    let (_, err) = ok(&["self", "--soft-dirty"]);
    match check_soft_dirty().reason() {
        Some(_) => assert!(
            err.contains("--soft-dirty cannot match") && err.contains("CONFIG_MEM_SOFT_DIRTY"),
            "{err}"
        ),
        None => assert!(!err.contains("soft-dirty"), "{err}"),
    }
    let (_, err) = ok(&["self", "--wpallowed"]);
    assert!(err.contains("--wpallowed cannot match"), "{err}");
}

#[test]
fn probe_command() {
    let o = cli(&["probe"]);
    let (out, _) = text(&o);
    assert!(out.contains("PAGEMAP_SCAN ioctl:"));
    let expect = if check_pagemap_scan().is_ok() { 0 } else { 1 };
    assert_eq!(o.status.code(), Some(expect));
}

#[test]
fn completions_and_manpage() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef pagemap-scan"),
        ("fish", "complete -c pagemap-scan"),
    ] {
        let (out, _) = ok(&["completions", shell]);
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(out.contains("not-soft-dirty"), "{shell}");
        assert!(out.contains("regions"), "{shell}");
    }
    let (out, _) = ok(&["manpage"]);
    assert!(
        out.starts_with(".ie") || out.contains(".TH pagemap-scan"),
        "{out}"
    );
    assert!(out.contains("\\-\\-regions"), "{out}");
    assert!(out.contains("watch"), "{out}");
    // One page: the subcommands' options, exit status, signals, examples,
    // related pages; no reference to pages that are never generated.
    assert!(out.contains("\\-\\-grace"), "{out}");
    for sec in [
        ".SH \"EXIT STATUS\"",
        ".SH SIGNALS",
        ".SH EXAMPLES",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(out.contains(sec), "{sec}: {out}");
    }
    assert!(!out.contains("pagemap\\-scan\\-watch(1)") && !out.contains("pagemap-scan-watch(1)"));
    // Bash: category names after --return, PIDs where a PID goes, no
    // file names for either.
    let (script, _) = ok(&["completions", "bash"]);
    let complete = |words: &str| -> String {
        let prog = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _pagemap_scan_complete pagemap-scan \"${{COMP_WORDS[COMP_CWORD]}}\" \
             \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let o = Command::new("bash").args(["-c", &prog]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let got = complete("pagemap-scan -r --return pres");
    assert_eq!(got.trim(), "present", "{got}");
    let got = complete("pagemap-scan -r --return present,sw");
    assert_eq!(got.trim(), "present,swapped", "{got}");
    let got = complete("pagemap-scan ''");
    assert!(got.lines().any(|l| l == "self"), "{got}");
    assert!(
        got.lines().any(|l| l == std::process::id().to_string()),
        "{got}"
    );
}

#[test]
fn control_characters_are_not_printed() {
    if !scan_available("control_characters_are_not_printed") {
        return;
    }
    // A program whose file name and argument carry an escape sequence
    // and a newline: the report prints `?` for each control byte.
    let dir = std::env::temp_dir().join(format!("pmscan-esc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join(std::ffi::OsStr::from_bytes(b"sl\x1b[2Jeep"));
    std::fs::copy("/bin/sleep", &prog).unwrap();
    let c = Command::new(&prog)
        .arg0(std::ffi::OsStr::from_bytes(b"x\x1b[2J\ny"))
        .arg("30")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let o = cli(&[c.id().to_string()]);
    stop(c);
    let _ = std::fs::remove_dir_all(&dir);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        !o.stdout
            .iter()
            .any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
        "{out:?}"
    );
    let header = out.lines().next().unwrap();
    assert!(header.ends_with(":   x?[2J?y 30"), "{header:?}");
    assert!(out.contains("sl?[2Jeep\n"), "{out}");
}

#[test]
fn target_exiting_during_the_scan_fails() {
    if !scan_available("target_exiting_during_the_scan_fails") {
        return;
    }
    // Many VMAs (alternating protections keep them apart), then the
    // process is killed while the CLI scans it: the report must not end
    // with exit status 0 and a total.
    let mut failed = 0;
    let mut tried = 0;
    for delay_ms in [1u64, 5, 10, 20, 40] {
        let mut c = Command::new("python3")
            .args([
                "-c",
                "import mmap,sys,time\n\
                 m=[mmap.mmap(-1,mmap.PAGESIZE*4) for _ in range(20000)]\n\
                 print('ready',flush=True)\n\
                 time.sleep(60)",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        {
            use std::io::BufRead;
            let mut r = io::BufReader::new(c.stdout.as_mut().unwrap());
            r.read_line(&mut line).unwrap();
        }
        assert_eq!(line.trim(), "ready");
        let pid = c.id();
        let scan = Command::new(EXE)
            .args(["-k", &pid.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = c.kill();
        let _ = c.wait();
        let o = scan.wait_with_output().unwrap();
        let (out, err) = text(&o);
        if o.status.code() == Some(0) {
            // Finished before the kill: a whole report.
            assert!(out.contains("total"), "{out}");
            continue;
        }
        tried += 1;
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(!out.lines().any(|l| l.starts_with("total")), "{out}");
        if err.contains("exited during the scan") || err.contains("exited") {
            failed += 1;
        }
    }
    assert!(
        tried >= 1,
        "no scan was cut by the target's exit: the test saw nothing"
    );
    assert_eq!(
        failed, tried,
        "a scan cut by the target's exit did not fail cleanly"
    );
}

#[test]
fn swapped_counts_only_swap_and_guard_is_a_column() {
    if !scan_available("swapped_counts_only_swap_and_guard_is_a_column") {
        return;
    }
    let ps = page_size() as usize;
    // Guard pages: pte markers the kernel reports as swapped (and as
    // GUARD, where it has that category).
    let g = Mapping::anon(16).unwrap();
    for i in 0..16 {
        g.write(i, 1);
    }
    // SAFETY: madvise on our own mapping; MADV_GUARD_INSTALL (102) fails
    // with EINVAL on kernels without guard regions.
    let guards = unsafe { libc::madvise(g.addr() as *mut libc::c_void, 4 * ps, 102) } == 0;
    let v = json(&["--json", "--range", &range_arg(&g), &me()]);
    let t = &v["totals"];
    assert_eq!(t["swapped"], 0, "{v}");
    if guards {
        assert_eq!(t["guard"], 4 * ps as u64, "{v}");
        assert_eq!(t["markers"], 4 * ps as u64, "{v}");
        assert_eq!(t["present"], 12 * ps as u64, "{v}");
        let (out, _) = ok(&["--range", &range_arg(&g), &me()]);
        let head = out.lines().find(|l| l.starts_with("Address")).unwrap();
        assert!(head.contains(" Guard "), "{out}");
    }
    // uffd-wp markers of unpopulated pages (WP_UNPOPULATED): also reported
    // as swapped by the kernel, and in no swap area.
    let Ok(wt) = WriteTracker::new() else {
        return;
    };
    let u = Mapping::anon(64).unwrap();
    wt.register(u.range()).unwrap();
    let v = json(&["--json", "--range", &range_arg(&u), &me()]);
    let t = &v["totals"];
    assert_eq!(t["swapped"], 0, "{v}");
    // The kernel did report markers there (else this tested nothing).
    assert!(t["markers"].as_u64().unwrap_or(0) > 0, "{v}");
    drop(wt);
}

#[test]
fn any_with_inverted_categories() {
    if !scan_available("any_with_inverted_categories") {
        return;
    }
    // `--any --present --not-file`: present pages or pages that are not
    // file-backed (the kernel inverts before the any-of mask). Private
    // anonymous memory, written: present and not file.
    let m = Mapping::anon(8).unwrap();
    for i in 0..4 {
        m.write(i, 1);
    }
    let v = json(&[
        "--json",
        "--range",
        &range_arg(&m),
        "--any",
        "--present",
        "--not-file",
        &me(),
    ]);
    assert_eq!(
        v["filter"]["category_inverted"],
        pagemap_scan::PAGE_IS_FILE,
        "{v}"
    );
    assert_eq!(v["totals"]["present"], 4 * page_size(), "{v}");
}

#[test]
fn one_walk_for_many_vmas_splits_at_vma_boundaries() {
    if !scan_available("one_walk_for_many_vmas_splits_at_vma_boundaries") {
        return;
    }
    // Three adjacent VMAs (a read-only page between two writable ones),
    // every page written: the kernel returns one region across all three
    // when it walks them at once; the report splits it per VMA.
    let ps = page_size() as usize;
    let m = Mapping::anon(8).unwrap();
    for i in 0..8 {
        m.write(i, 1);
    }
    // SAFETY: mprotect on our own mapping.
    assert_eq!(
        unsafe {
            libc::mprotect(
                (m.addr() as usize + 3 * ps) as *mut libc::c_void,
                ps,
                libc::PROT_READ,
            )
        },
        0
    );
    let v = json(&["--json", "-r", "--range", &range_arg(&m), &me()]);
    let vmas = v["vmas"].as_array().unwrap();
    assert_eq!(vmas.len(), 3, "{v}");
    let pages: Vec<u64> = vmas
        .iter()
        .map(|x| x["present"].as_u64().unwrap() / ps as u64)
        .collect();
    assert_eq!(pages, [3, 1, 4], "{v}");
    for x in vmas {
        let regions = x["regions"].as_array().unwrap();
        assert_eq!(regions.len(), 1, "{x}");
        assert_eq!(regions[0]["start"], x["start"], "{x}");
        assert_eq!(regions[0]["end"], x["end"], "{x}");
    }
}

#[test]
fn rss_totals_quiet_all_and_json_errors() {
    if !scan_available("rss_totals_quiet_all_and_json_errors") {
        return;
    }
    // RSS is smaps' Rss: present pages but the zero page.
    let m = Mapping::anon(8).unwrap();
    // smaps (and so --dirty) counts whole VMAs: flags no other test's
    // mapping has (VM_DONTCOPY) keep another thread's mapping from merging
    // into this one meanwhile.
    m.madvise(0..8, libc::MADV_DONTFORK).unwrap();
    for i in 0..5 {
        m.write(i, 1);
    }
    let _ = m.read(6); // the zero page: present, not resident memory
    let ps = page_size();
    let v = json(&["--json", "--range", &range_arg(&m), &me()]);
    assert_eq!(v["totals"]["rss"], 5 * ps, "{v}");
    assert_eq!(v["totals"]["present"], 6 * ps, "{v}");
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let head = format!("{:x}-", m.addr());
    let rss: u64 = smaps
        .split_inclusive('\n')
        .skip_while(|l| !l.starts_with(&head))
        .find_map(|l| l.strip_prefix("Rss:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert_eq!(rss * 1024, 5 * ps, "smaps Rss");
    // --dirty: pmap -x's Dirty, from smaps (the five written pages).
    let v = json(&["--json", "--dirty", "--range", &range_arg(&m), &me()]);
    assert_eq!(v["totals"]["dirty"], 5 * ps, "{v}");
    let v = json(&["--json", "--range", &range_arg(&m), &me()]);
    assert_eq!(v["totals"]["dirty"], Value::Null, "{v}");
    let (out, _) = ok(&["--dirty", "--range", &range_arg(&m), &me()]);
    assert!(out.lines().any(|l| l.contains(" Dirty ")), "{out}");
    // --totals: one header, one line per PID; -q: no header, no total.
    let c = sleeper();
    let pid = c.id().to_string();
    let (out, _) = ok(&["--totals", &me(), &pid]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("PID ") && lines[0].contains(" RSS "),
        "{out}"
    );
    assert!(
        lines[2].starts_with(&pid) && lines[2].ends_with("sleep 30"),
        "{out}"
    );
    let (out, _) = ok(&["-q", &pid]);
    assert!(
        out.lines()
            .all(|l| l.starts_with(|c: char| c.is_ascii_hexdigit())),
        "{out}"
    );
    assert!(!out.contains("total") && !out.contains("Address"), "{out}");
    // -A: every process with user memory, kernel threads skipped quietly.
    let o = cli(&["-A", "--totals"]);
    let (out, err) = text(&o);
    assert!(
        out.lines().any(|l| l.starts_with(&format!("{pid} "))),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("2 ")),
        "kthreadd listed: {out}"
    );
    assert!(!err.contains("kernel thread"), "{err}");
    // A failed PID has its JSON record too; no blank line for it in text.
    let gone = {
        let mut d = Command::new("true").spawn().unwrap();
        let p = d.id();
        d.wait().unwrap();
        p.to_string()
    };
    let o = cli(&["--json", &gone, &pid]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["pid"].to_string(), gone, "{out}");
    assert!(
        first["error"].as_str().unwrap().contains("no such process"),
        "{out}"
    );
    let o = cli(&[&gone, &pid]);
    let (out, _) = text(&o);
    assert!(!out.starts_with('\n'), "{out:?}");
    stop(c);
    // A closed standard output is an error, not a silent success.
    let o = Command::new(EXE)
        .arg(me())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = Command::new("sh")
        .args(["-c", &format!("exec {EXE} {} >&-", me())])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o).1);
    assert!(text(&o).1.contains("standard output is closed"));
}

#[test]
fn zombie_leader_with_live_threads_is_scanned_through_a_thread() {
    if !scan_available("zombie_leader_with_live_threads_is_scanned_through_a_thread") {
        return;
    }
    // A process whose main thread called pthread_exit() while another
    // thread lives: the leader is a zombie, the process and its memory are
    // not. Built with the host's C compiler.
    let dir = std::env::temp_dir().join(format!("pmscan-zl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("zl.c");
    let exe = dir.join("zl");
    std::fs::write(
        &src,
        "#include <pthread.h>\n#include <stdio.h>\n#include <unistd.h>\n\
         static void *t(void *a) { (void)a; sleep(30); return 0; }\n\
         int main(void) { pthread_t x; pthread_create(&x, 0, t, 0);\n\
         printf(\"ready\\n\"); fflush(stdout); pthread_exit(0); }\n",
    )
    .unwrap();
    let built = Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg("-lpthread")
        .status();
    if !built.is_ok_and(|s| s.success()) {
        let _ = writeln!(io::stderr(), "SKIP: no C compiler");
        return;
    }
    let mut c = Command::new(&exe).stdout(Stdio::piped()).spawn().unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        io::BufReader::new(c.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
    }
    let pid = c.id().to_string();
    // Until the leader is a zombie.
    for _ in 0..100 {
        let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if st
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = cli(&[&pid]);
    stop(c);
    let _ = std::fs::remove_dir_all(&dir);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("main thread has exited"), "{err}");
    assert!(out.lines().any(|l| l.starts_with("total")), "{out}");
    assert!(out.contains("[stack]") || out.contains("zl"), "{out}");
}
