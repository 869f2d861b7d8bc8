// SPDX-License-Identifier: GPL-2.0
//! The man page and the shell completions, generated from the command
//! line's definition, completed with what `clap` does not know.

use std::io::{self, Write};

use clap_mangen::Man;
use pagemap_scan::abi::CATEGORY_NAMES;

/// One page, pagemap-scan(1), with every subcommand's options in it (no
/// pagemap-scan-watch(1) and the like exist to refer to), the exit status,
/// watch's signals, examples and related pages.
pub fn render(out: &mut impl Write) -> io::Result<()> {
    let cmd = super::args::command();
    let man = Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_name();
        writeln!(
            out,
            ".SH \"{}\"",
            format!("pagemap-scan {name}").to_uppercase()
        )?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            for para in about.to_string().split("\n\n") {
                writeln!(out, ".PP\n{}", escape(para))?;
            }
        }
        let args: Vec<_> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
            .collect();
        for a in args {
            let mut head = match (a.get_short(), a.get_long()) {
                (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR, \\fB\\-\\-{l}\\fR"),
                (None, Some(l)) => format!("\\fB\\-\\-{l}\\fR"),
                (Some(s), None) => format!("\\fB\\-{s}\\fR"),
                (None, None) => String::new(),
            };
            if let Some(v) = a.get_value_names().and_then(|v| v.first()) {
                if head.is_empty() {
                    head = format!("\\fI{v}\\fR");
                } else if a.get_action().takes_values() {
                    head = format!("{head} \\fI{v}\\fR");
                }
            }
            writeln!(out, ".TP\n{head}")?;
            if let Some(h) = a.get_long_help().or(a.get_help()) {
                writeln!(out, "{}", escape(&h.to_string()))?;
            }
        }
    }
    out.write_all(EXTRA.as_bytes())?;
    man.render_version_section(out)?;
    Ok(())
}

/// Roff-safe text: a leading dot or quote would be a request, a
/// backslash an escape.
fn escape(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = l.replace('\\', "\\\\").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
0
Success.
.TP
1
A runtime error for at least one PID (no such process, a kernel thread or
zombie, permission denied, kernel too old, a process that exited during the
scan), or standard output could not be written (a closed pipe ends the
output quietly, with status 0).
.TP
2
A usage error.
.PP
\fBwatch \-\- \fICOMMAND\fR exits with the command's status, 128+N if signal
N killed it, 127 if the command was not found and 126 if it could not be
run.
.SH SIGNALS
\fBwatch\fR catches SIGINT, SIGTERM and SIGHUP: it prints its summary and
exits. A \fICOMMAND\fR started by \fBwatch \-\-\fR gets the signal
forwarded, and SIGKILL if it is still running \fB\-\-grace\fR milliseconds
later; when \fB\-\-count\fR intervals are done, the command gets SIGTERM,
then SIGKILL after the grace period. Watching a PID, \fBwatch\fR exits
128+N on signal N. A process that executes a new program (execve) is
followed: \fBwatch\fR reopens its pagemap and goes on.
.SH EXAMPLES
.TP
\fBpagemap\-scan $(pidof firefox)\fR
Each VMA of the process, like \fBpmap \-x\fR, with present, swapped,
file\-backed, huge and zero\-page memory.
.TP
\fBpagemap\-scan \-\-not\-file \-\-present \-r 1234\fR
The anonymous resident memory of process 1234, region by region.
.TP
\fBpagemap\-scan \-A \-\-totals\fR
One line per process with user memory, totals only.
.TP
\fBpagemap\-scan \-\-json \-\-range 7f0000000000\-7f1000000000 self\fR
A JSON document for part of the caller's own address space.
.TP
\fBpagemap\-scan watch \-\-interval 500 \-\- make \-j4\fR
The pages a build writes, every half second (needs soft\-dirty bits:
CONFIG_MEM_SOFT_DIRTY, which arm64 kernels cannot have).
.SH "SEE ALSO"
\fBpmap\fR(1), \fBproc_pid_pagemap\fR(5), \fBproc_pid_smaps\fR(5),
\fBuserfaultfd\fR(2), \fBmadvise\fR(2), and the kernel's
Documentation/admin\-guide/mm/pagemap.rst (PAGEMAP_SCAN).
"#;

/// Bash completion: clap's, with PIDs (and `self`) where a PID goes and
/// the category names after `--return`, instead of file names.
pub fn bash(out: &mut impl Write) -> io::Result<()> {
    let mut generated = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::Bash,
        &mut super::args::command(),
        "pagemap-scan",
        &mut generated,
    );
    out.write_all(&generated)?;
    let names: Vec<&str> = CATEGORY_NAMES.iter().map(|(_, n)| *n).collect();
    write!(
        out,
        r#"
_pagemap_scan_complete() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
    if [[ $prev == --return ]]; then
        local done=${{cur%,*}} last=${{cur##*,}}
        [[ $cur == *,* ]] && done="$done," || done=""
        COMPREPLY=( $(compgen -P "$done" -W "{names} all" -- "$last") )
        return
    fi
    _pagemap-scan "$@"
    case $prev in
    --range|--interval|--count|--grace) return ;;
    esac
    if [[ $cur != -* ]]; then
        local pids
        pids=$(cd /proc && ls -d [0-9]* 2>/dev/null)
        COMPREPLY+=( $(compgen -W "self $pids" -- "$cur") )
    fi
}}
complete -F _pagemap_scan_complete -o nosort -o bashdefault pagemap-scan
"#,
        names = names.join(" ")
    )
}
