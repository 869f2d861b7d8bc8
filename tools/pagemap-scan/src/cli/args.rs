// SPDX-License-Identifier: GPL-2.0
//! Hand-written command-line parsing.

use std::ops::Range;

use pagemap_scan::abi::{category_from_name, CATEGORY_NAMES};
use pagemap_scan::PAGE_IS_ALL;

/// What to scan and how to filter.
#[derive(Debug, PartialEq, Eq)]
pub struct ScanOpts {
    pub pid: u32,
    pub range: Option<Range<u64>>,
    pub mask: u64,
    pub inverted: u64,
    pub any: bool,
    pub return_mask: u64,
    pub json: bool,
}

/// The process to watch.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    Pid(u32),
    Cmd(Vec<String>),
}

/// Options of `watch`.
#[derive(Debug, PartialEq, Eq)]
pub struct WatchOpts {
    pub target: Target,
    pub interval_ms: u64,
    pub count: u64,
    pub range: Option<Range<u64>>,
    pub json: bool,
}

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Probe,
    Scan(ScanOpts),
    Watch(WatchOpts),
}

/// Split `--name=value` into its parts.
fn split_eq(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((n, v)) if n.starts_with("--") => (n, Some(v)),
        _ => (arg, None),
    }
}

struct Args {
    items: Vec<String>,
    pos: usize,
}

impl Args {
    fn next(&mut self) -> Option<String> {
        let a = self.items.get(self.pos).cloned();
        self.pos += 1;
        a
    }

    /// The value of option `name`: inline (`--name=v`) or the next argument.
    fn value(&mut self, name: &str, inline: Option<&str>) -> Result<String, String> {
        match inline {
            Some(v) => Ok(v.to_string()),
            None => self
                .next()
                .ok_or_else(|| format!("option {name} needs a value")),
        }
    }

    fn rest(&mut self) -> Vec<String> {
        let r = self.items[self.pos.min(self.items.len())..].to_vec();
        self.pos = self.items.len();
        r
    }
}

fn parse_hex(s: &str) -> Result<u64, String> {
    let t = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(t, 16).map_err(|_| format!("bad hexadecimal address {s:?}"))
}

/// `A-B` in hexadecimal (`0x` optional), like `/proc/PID/maps`.
pub fn parse_range(s: &str) -> Result<Range<u64>, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("bad range {s:?}: expected START-END in hexadecimal"))?;
    let (a, b) = (parse_hex(a)?, parse_hex(b)?);
    if a >= b {
        return Err(format!("bad range {s:?}: start must be below end"));
    }
    Ok(a..b)
}

fn parse_pid(s: &str) -> Result<u32, String> {
    if s == "self" {
        return Ok(std::process::id());
    }
    match s.parse::<u32>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!(
            "bad PID {s:?}: expected a positive number or `self`"
        )),
    }
}

fn parse_num(name: &str, s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("option {name}: bad number {s:?}"))
}

/// Parse a comma-separated category list (or `all`).
pub fn parse_categories(s: &str) -> Result<u64, String> {
    if s == "all" {
        return Ok(PAGE_IS_ALL);
    }
    let mut m = 0;
    for name in s.split(',').filter(|n| !n.is_empty()) {
        m |= category_from_name(name).ok_or_else(|| {
            let known: Vec<_> = CATEGORY_NAMES.iter().map(|(_, n)| *n).collect();
            format!(
                "unknown category {name:?} (known: {}, all)",
                known.join(", ")
            )
        })?;
    }
    Ok(m)
}

/// Parse the arguments after the program name.
pub fn parse(argv: Vec<String>) -> Result<Command, String> {
    let mut args = Args {
        items: argv,
        pos: 0,
    };
    match args.items.first().map(String::as_str) {
        None => return Err("missing PID (or a subcommand: watch, probe)".into()),
        Some("watch") => {
            args.pos = 1;
            return parse_watch(args);
        }
        Some("probe") => {
            if args.items.len() > 1 {
                return Err("probe takes no arguments".into());
            }
            return Ok(Command::Probe);
        }
        _ => {}
    }
    let mut opts = ScanOpts {
        pid: 0,
        range: None,
        mask: 0,
        inverted: 0,
        any: false,
        return_mask: PAGE_IS_ALL,
        json: false,
    };
    let mut pid = None;
    while let Some(arg) = args.next() {
        let (name, inline) = split_eq(&arg);
        match name {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--json" => opts.json = true,
            "--any" => opts.any = true,
            "--range" => opts.range = Some(parse_range(&args.value(name, inline)?)?),
            "--return" => opts.return_mask = parse_categories(&args.value(name, inline)?)?,
            _ if name.starts_with("--not-") => {
                let bit = category_from_name(&name[6..])
                    .ok_or_else(|| format!("unknown option {name}"))?;
                opts.mask |= bit;
                opts.inverted |= bit;
            }
            _ if name.starts_with("--") => {
                let bit = category_from_name(&name[2..])
                    .ok_or_else(|| format!("unknown option {name}"))?;
                opts.mask |= bit;
            }
            _ if name.starts_with('-') && name.len() > 1 => {
                return Err(format!("unknown option {name}"))
            }
            _ => {
                if pid.is_some() {
                    return Err(format!("unexpected argument {arg:?}"));
                }
                pid = Some(parse_pid(&arg)?);
            }
        }
    }
    if opts.any && opts.inverted != 0 {
        return Err("--any cannot be combined with --not-CATEGORY".into());
    }
    opts.pid = pid.ok_or("missing PID")?;
    Ok(Command::Scan(opts))
}

fn parse_watch(mut args: Args) -> Result<Command, String> {
    let mut pid = None;
    let mut cmd = None;
    let mut opts = WatchOpts {
        target: Target::Pid(0),
        interval_ms: 1000,
        count: 0,
        range: None,
        json: false,
    };
    while let Some(arg) = args.next() {
        let (name, inline) = split_eq(&arg);
        match name {
            "-h" | "--help" => return Ok(Command::Help),
            "--" => {
                let rest = args.rest();
                if rest.is_empty() {
                    return Err("watch: missing command after --".into());
                }
                cmd = Some(rest);
            }
            "--json" => opts.json = true,
            "--interval" => {
                opts.interval_ms = parse_num(name, &args.value(name, inline)?)?;
                if opts.interval_ms == 0 {
                    return Err("--interval must be at least 1 ms".into());
                }
            }
            "--count" => opts.count = parse_num(name, &args.value(name, inline)?)?,
            "--range" => opts.range = Some(parse_range(&args.value(name, inline)?)?),
            _ if name.starts_with('-') && name.len() > 1 => {
                return Err(format!("watch: unknown option {name}"))
            }
            _ => {
                if pid.is_some() {
                    return Err(format!("watch: unexpected argument {arg:?}"));
                }
                pid = Some(parse_pid(&arg)?);
            }
        }
    }
    opts.target = match (pid, cmd) {
        (Some(_), Some(_)) => return Err("watch: give either a PID or -- COMMAND, not both".into()),
        (Some(p), None) => Target::Pid(p),
        (None, Some(c)) => Target::Cmd(c),
        (None, None) => return Err("watch: missing PID or -- COMMAND".into()),
    };
    Ok(Command::Watch(opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pagemap_scan::{PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_WRITTEN};

    fn p(s: &str) -> Result<Command, String> {
        parse(s.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn scan_options() {
        let Command::Scan(o) = p("42 --present --not-written --range 0x1000-2000 --json").unwrap()
        else {
            panic!()
        };
        assert_eq!(o.pid, 42);
        assert_eq!(o.mask, PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
        assert_eq!(o.inverted, PAGE_IS_WRITTEN);
        assert_eq!(o.range, Some(0x1000..0x2000));
        assert!(o.json);
        assert_eq!(o.return_mask, PAGE_IS_ALL);
        let Command::Scan(o) = p("7 --soft-dirty --return=present,soft_dirty --any").unwrap()
        else {
            panic!()
        };
        assert_eq!(o.mask, PAGE_IS_SOFT_DIRTY);
        assert_eq!(o.return_mask, PAGE_IS_PRESENT | PAGE_IS_SOFT_DIRTY);
        assert!(o.any);
    }

    #[test]
    fn scan_errors() {
        assert!(p("").is_err());
        assert!(p("--present").is_err());
        assert!(p("12 13").is_err());
        assert!(p("x").is_err());
        assert!(p("0").is_err());
        assert!(p("1 --bogus").is_err());
        assert!(p("1 --range").is_err());
        assert!(p("1 --range 2000-1000").is_err());
        assert!(p("1 --range zz-1000").is_err());
        assert!(p("1 --return nope").is_err());
        assert!(p("1 --any --not-present").is_err());
        assert!(p("1 -x").is_err());
        assert_eq!(p("1 --help"), Ok(Command::Help));
        assert_eq!(p("probe"), Ok(Command::Probe));
        assert!(p("probe 1").is_err());
    }

    #[test]
    fn watch_options() {
        let Command::Watch(o) = p("watch 99 --interval 250 --count 3").unwrap() else {
            panic!()
        };
        assert_eq!(o.target, Target::Pid(99));
        assert_eq!(o.interval_ms, 250);
        assert_eq!(o.count, 3);
        let Command::Watch(o) = p("watch --count=2 -- sh -c true").unwrap() else {
            panic!()
        };
        assert_eq!(
            o.target,
            Target::Cmd(vec!["sh".into(), "-c".into(), "true".into()])
        );
        assert_eq!(o.count, 2);
        assert!(p("watch").is_err());
        assert!(p("watch --").is_err());
        assert!(p("watch 1 -- true").is_err());
        assert!(p("watch 1 --interval 0").is_err());
        assert!(p("watch 1 --interval x").is_err());
    }
}
