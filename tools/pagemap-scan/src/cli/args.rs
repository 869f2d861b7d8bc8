// SPDX-License-Identifier: GPL-2.0
//! The command line, defined with `clap` (derive). The man page and the
//! shell completions are generated from these definitions.

use std::ffi::OsString;

use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use pagemap_scan::abi::{category_from_name, CATEGORY_NAMES};
use pagemap_scan::PAGE_IS_ALL;

const ABOUT: &str = "Show a process's memory by PAGEMAP_SCAN page category";

const LONG_ABOUT: &str = "\
Show a process's memory by PAGEMAP_SCAN page category.

Without a subcommand, every VMA of each PID (from /proc/PID/maps, inside \
--range) is scanned with the PAGEMAP_SCAN ioctl of /proc/PID/pagemap and \
summarized on one line, like `pmap -x`: size, present, swapped, \
file-backed, huge and zero-page memory, and written memory where it means \
something. --regions lists the regions behind each line.

\"present\" counts pages in memory, including mappings of the shared zero \
page (smaps Rss does not count those: Rss = present - zero). \"huge\" \
matches AnonHugePages/FilePmdMapped, \"swapped\" smaps Swap. \"written\" \
(PAGE_IS_WRITTEN) is only meaningful in VMAs registered for userfaultfd \
write-protection (`uw` in smaps VmFlags): elsewhere the kernel reports \
every page, even an unpopulated one, as written, so it is not shown there \
unless --return names it. Unpopulated pages (neither present nor swapped) \
are never counted in totals.";

const AFTER_LONG_HELP: &str = "\
Exit status: 0 success; 1 runtime error (no such process, permission \
denied, kernel too old, output error) for any PID; 2 usage error. \
`watch -- COMMAND` exits with the command's status (128+N if signal N \
killed it).";

/// `pagemap-scan`: the whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "pagemap-scan",
    version,
    propagate_version = true,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
    #[command(flatten)]
    pub scan: ScanOpts,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Print, every interval, the pages a process wrote (soft-dirty)
    ///
    /// Tracks another process's writes with soft-dirty bits (needs
    /// CONFIG_MEM_SOFT_DIRTY, which arm64 kernels cannot have): clear_refs,
    /// wait, scan for PAGE_IS_SOFT_DIRTY, clear again. A write landing
    /// between the scan and the clear is missed; a mapping created during
    /// an interval counts as written. Exact tracking with userfaultfd
    /// write-protection is only possible from inside the process (the
    /// WriteTracker API, the write-watch sample). Intervals go to stdout, status messages to
    /// stderr, and a summary is printed at the end, also on SIGINT/SIGTERM
    /// (which are forwarded to COMMAND).
    Watch(WatchOpts),
    /// Report what the running kernel supports (exit 1 without PAGEMAP_SCAN)
    Probe,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout
    Manpage,
}

/// A process: a positive PID in plain decimal (no sign, no leading zero,
/// as /proc names it) or `self`.
pub fn parse_pid(s: &str) -> Result<u32, String> {
    if s == "self" {
        return Ok(std::process::id());
    }
    let plain = s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    match s.parse::<u32>() {
        Ok(p) if p > 0 && plain => Ok(p),
        _ => Err("expected a positive number (as in /proc) or `self`".into()),
    }
}

/// An address range `START-END` (hexadecimal, `0x` optional).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrRange {
    pub start: u64,
    pub end: u64,
}

fn parse_hex(s: &str) -> Result<u64, String> {
    let t = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(t, 16).map_err(|_| format!("bad hexadecimal address {s:?}"))
}

/// Parse `START-END` in hexadecimal, like `/proc/PID/maps`.
pub fn parse_range(s: &str) -> Result<AddrRange, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or("expected START-END in hexadecimal")?;
    let (start, end) = (parse_hex(a)?, parse_hex(b)?);
    if start >= end {
        return Err("start must be below end".into());
    }
    Ok(AddrRange { start, end })
}

/// Parse a comma-separated category list (or `all`).
pub fn parse_categories(s: &str) -> Result<u64, String> {
    let mut m = 0;
    for name in s.split(',').filter(|n| !n.is_empty()) {
        m |= match name {
            "all" => PAGE_IS_ALL,
            _ => category_from_name(name).ok_or_else(|| {
                let known: Vec<_> = CATEGORY_NAMES.iter().map(|(_, n)| *n).collect();
                format!(
                    "unknown category {name:?} (known: {}, all)",
                    known.join(", ")
                )
            })?,
        };
    }
    if m == 0 {
        return Err("empty category list".into());
    }
    Ok(m)
}

/// Options of a scan (the default command).
#[derive(Debug, Args)]
pub struct ScanOpts {
    /// Processes to scan: PIDs or `self`
    #[arg(value_name = "PID", required_unless_present = "all", conflicts_with = "all",
          value_parser = parse_pid)]
    pub pids: Vec<u32>,
    /// Every process with user memory (kernel threads and zombies are
    /// skipped quietly, as are processes that exit meanwhile)
    #[arg(short = 'A', long)]
    pub all: bool,
    /// One line of totals per process instead of its VMAs
    #[arg(short, long, conflicts_with = "regions")]
    pub totals: bool,
    /// A Dirty column, as pmap -x has: smaps Private_Dirty + Shared_Dirty of
    /// each VMA (reads smaps, which walks every page table again; the whole
    /// VMA even with --range)
    #[arg(long)]
    pub dirty: bool,
    /// No header and no total line (only the VMA and region lines)
    #[arg(short, long, conflicts_with = "totals")]
    pub quiet: bool,
    /// Only addresses START-END (hexadecimal, 0x optional; 0-ffffffffffffffff is everything)
    #[arg(long, value_name = "START-END", value_parser = parse_range)]
    pub range: Option<AddrRange>,
    #[command(flatten)]
    pub filter: Filter,
    /// Match pages in at least one of the given categories instead of all
    #[arg(long, requires = "category", help_heading = "Category filters")]
    pub any: bool,
    /// Categories shown in --regions, comma separated, or `all` (default: all
    /// meaningful ones)
    #[arg(long = "return", value_name = "LIST", value_parser = parse_categories,
          requires = "regions")]
    pub return_mask: Option<u64>,
    /// List the regions of each VMA (start-end, size, pages, categories)
    #[arg(short, long)]
    pub regions: bool,
    /// Sizes in exact KiB instead of human units (4K, 1.5M)
    #[arg(short, long)]
    pub kib: bool,
    /// One JSON document per PID (a line each) instead of text
    #[arg(long)]
    pub json: bool,
}

/// Category filters: `--CATEGORY` and `--not-CATEGORY` for each category,
/// generated from the ABI's category names.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    /// Categories named by a filter flag.
    pub mask: u64,
    /// Those of `mask` given as `--not-CATEGORY`.
    pub inverted: u64,
}

/// Help text of `--CATEGORY`.
fn category_help(name: &str) -> &'static str {
    match name {
        "wpallowed" => "Only pages of VMAs registered for userfaultfd async write-protection",
        "written" => "Only pages written since write-protected (uffd-wp VMAs only)",
        "file" => "Only file-backed (or shmem) pages",
        "present" => "Only pages present in memory",
        "swapped" => "Only swapped-out pages",
        "pfnzero" => "Only pages mapping the shared zero page",
        "huge" => "Only pages of transparent or hugetlb huge pages",
        "soft-dirty" => "Only soft-dirty pages (needs CONFIG_MEM_SOFT_DIRTY; none on arm64)",
        "guard" => "Only guard pages (MADV_GUARD_INSTALL; Linux 6.14+)",
        "accessed" => {
            "Only pages accessed since read-write protected (userfaultfd RWP VMAs only, \
             where the kernel has it)"
        }
        _ => "Only pages in this category",
    }
}

/// The id and long name of `--not-CATEGORY`.
fn not_name(name: &str) -> &'static str {
    match name {
        "wpallowed" => "not-wpallowed",
        "written" => "not-written",
        "file" => "not-file",
        "present" => "not-present",
        "swapped" => "not-swapped",
        "pfnzero" => "not-pfnzero",
        "huge" => "not-huge",
        "soft-dirty" => "not-soft-dirty",
        "guard" => "not-guard",
        "accessed" => "not-accessed",
        _ => unreachable!("category {name} without a --not- flag"),
    }
}

impl Args for Filter {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let mut cmd = cmd;
        let mut ids = Vec::new();
        for (_, name) in CATEGORY_NAMES {
            let not = not_name(name);
            cmd = cmd
                .arg(
                    Arg::new(name)
                        .long(name)
                        .action(ArgAction::SetTrue)
                        .help(category_help(name))
                        .help_heading("Category filters"),
                )
                .arg(
                    Arg::new(not)
                        .long(not)
                        .action(ArgAction::SetTrue)
                        .conflicts_with(name)
                        .help(format!(
                            "Only pages NOT {name} (with --any: counts as a match when \
                             NOT {name})"
                        ))
                        .help_heading("Category filters"),
                );
            ids.push(name);
            ids.push(not);
        }
        cmd.group(ArgGroup::new("category").args(ids).multiple(true))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for Filter {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut f = Filter::default();
        for (bit, name) in CATEGORY_NAMES {
            if m.get_flag(name) {
                f.mask |= bit;
            }
            if m.get_flag(not_name(name)) {
                f.mask |= bit;
                f.inverted |= bit;
            }
        }
        Ok(f)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// Options of `watch`.
#[derive(Debug, Args)]
pub struct WatchOpts {
    /// The process to watch (or give -- COMMAND)
    #[arg(
        value_name = "PID",
        value_parser = parse_pid,
        required_unless_present = "command",
        conflicts_with = "command"
    )]
    pub pid: Option<u32>,
    /// Interval length in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
    /// Stop after N intervals (default: until the process exits); a COMMAND
    /// still running is then sent SIGTERM, and SIGKILL after --grace
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Milliseconds between SIGTERM and SIGKILL when stopping COMMAND
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub grace: u64,
    /// Only addresses START-END (hexadecimal)
    #[arg(long, value_name = "START-END", value_parser = parse_range)]
    pub range: Option<AddrRange>,
    /// Sizes in exact KiB instead of human units
    #[arg(short, long)]
    pub kib: bool,
    /// One JSON object per interval, and one for the summary
    #[arg(long)]
    pub json: bool,
    /// Run COMMAND and watch it until it exits
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// The `clap` command, for the man page and completions.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pagemap_scan::{PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_WRITTEN};

    fn p(s: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pagemap-scan").chain(s.split_whitespace()))
    }

    fn scan(s: &str) -> ScanOpts {
        let c = p(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(c.command.is_none());
        c.scan
    }

    #[test]
    fn definitions_are_consistent() {
        command().debug_assert();
    }

    #[test]
    fn scan_options() {
        let o = scan("42 --present --not-written --range 0x1000-2000 --json");
        assert_eq!(o.pids, [42]);
        assert_eq!(o.filter.mask, PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
        assert_eq!(o.filter.inverted, PAGE_IS_WRITTEN);
        assert_eq!(
            o.range,
            Some(AddrRange {
                start: 0x1000,
                end: 0x2000
            })
        );
        assert!(o.json && !o.regions && !o.kib);
        assert_eq!(o.return_mask, None);
        let o = scan("7 8 --soft-dirty --return=present,soft_dirty --any -r -k");
        assert_eq!(o.pids, [7, 8]);
        assert_eq!(o.filter.mask, PAGE_IS_SOFT_DIRTY);
        assert_eq!(o.return_mask, Some(PAGE_IS_PRESENT | PAGE_IS_SOFT_DIRTY));
        assert!(o.any && o.regions && o.kib);
        assert_eq!(scan("1 -r --return all").return_mask, Some(PAGE_IS_ALL));
        // The kernel inverts before it applies the any-of mask.
        let o = scan("1 --any --present --not-file");
        assert_eq!(o.filter.mask, PAGE_IS_PRESENT | pagemap_scan::PAGE_IS_FILE);
        assert_eq!(o.filter.inverted, pagemap_scan::PAGE_IS_FILE);
        assert!(o.any);
        let o = scan("1 --range 0-ffffffffffffffff");
        assert_eq!(o.range.unwrap().end, u64::MAX);
    }

    #[test]
    fn scan_errors() {
        for bad in [
            "",
            "--present",
            "x",
            "0",
            "1 --bogus",
            "1 --range",
            "1 --range 2000-1000",
            "1 --range zz-1000",
            "1 --return nope",
            "1 --return ,",
            "1 --any",
            "1 --return all",
            "+5",
            "007",
            "1 +5",
            "1 --present --not-present",
            "1 --json=no",
            "1 --present=no",
            "1 -x",
            "probe 1",
            "completions tcsh",
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
        assert!(p("1 --help").is_err()); // clap's "error" that prints help
        assert!(matches!(p("probe").unwrap().command, Some(Cmd::Probe)));
    }

    #[test]
    fn watch_options() {
        let Some(Cmd::Watch(o)) = p("watch 99 --interval 250 --count 3").unwrap().command else {
            panic!()
        };
        assert_eq!(o.pid, Some(99));
        assert_eq!(o.interval, 250);
        assert_eq!(o.count, Some(3));
        assert_eq!(o.grace, 2000);
        let Some(Cmd::Watch(o)) = p("watch --count=2 -- sh -c true").unwrap().command else {
            panic!()
        };
        assert_eq!(o.pid, None);
        assert_eq!(o.command, ["sh", "-c", "true"]);
        for bad in [
            "watch",
            "watch --",
            "watch 1 -- true",
            "watch 1 --interval 0",
            "watch 1 --interval x",
            "watch 1 --count 0",
            "watch 1 --json=yes",
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
    }
}
