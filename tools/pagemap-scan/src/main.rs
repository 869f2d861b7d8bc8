// SPDX-License-Identifier: GPL-2.0
//! `pagemap-scan`: show a process's pages by PAGEMAP_SCAN category, or
//! watch which pages it writes. See `pagemap-scan --help` and
//! `pagemap-scan manpage`.
#![deny(clippy::undocumented_unsafe_blocks)]

mod cli;

fn main() {
    std::process::exit(cli::main(std::env::args_os()));
}
