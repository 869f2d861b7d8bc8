// SPDX-License-Identifier: GPL-2.0
//! Tests of the `pagemap-scan` command line (run on the build host; the
//! guest runs the kernel tests in `pagemap_scan_tests`).

use std::io::{self, Write};
use std::process::{Child, Command, Output, Stdio};

use pagemap_scan::probe::{check_pagemap_scan, check_soft_dirty};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pagemap-scan"))
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

fn sleeper() -> Child {
    Command::new("sleep")
        .arg("30")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sleep")
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

#[test]
fn help_and_usage_errors() {
    let o = cli(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("USAGE"));
    for bad in [
        &[][..],
        &["--present"],
        &["12", "--bogus"],
        &["12", "--range", "10-5"],
        &["watch"],
        &["watch", "1", "--interval", "x"],
    ] {
        let o = cli(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(text(&o).1.contains("--help"), "{bad:?}");
    }
}

#[test]
fn no_such_process() {
    let o = cli(&["1073741800"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("no such process"), "{:?}", text(&o));
}

#[test]
fn scan_a_child() {
    if !scan_available("scan_a_child") {
        return;
    }
    let mut c = sleeper();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let pid = c.id().to_string();
    let o = cli(&[&pid, "--present"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("[stack]"), "{out}");
    assert!(out.contains("present"), "{out}");
    assert!(out.contains("total: "), "{out}");
    let o = cli(&[&pid, "--json", "--return", "present,file"]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        out.starts_with(&format!("{{\"pid\":{pid},\"comm\":\"sleep\"")),
        "{out}"
    );
    assert!(out.trim_end().ends_with("}}}"), "{out}");
    assert!(
        out.contains("\"categories\":[\"file\",\"present\"]"),
        "{out}"
    );
    c.kill().unwrap();
    c.wait().unwrap();
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
fn watch_command() {
    if !scan_available("watch_command") {
        return;
    }
    let o = cli(&[
        "watch",
        "--interval",
        "200",
        "--count",
        "2",
        "--",
        "sh",
        "-c",
        "while :; do : > /dev/null; done",
    ]);
    let (out, err) = text(&o);
    if let Some(why) = check_soft_dirty().reason() {
        // The command must refuse with the cause, not pretend.
        assert_eq!(o.status.code(), Some(1));
        assert!(err.contains("soft-dirty"), "{err}");
        let _ = writeln!(
            io::stderr(),
            "NOTE watch_command: only the refusal was checked: {why}"
        );
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("[1] +"), "{out}");
    assert!(out.contains("[2] +"), "{out}");
    assert!(out.contains("stopped command"), "{out}");
}
