// SPDX-License-Identifier: GPL-2.0
//! A process with fragmented memory, to measure `pagemap-scan` against
//! reading `/proc/PID/pagemap`: one anonymous mapping of N pages (default
//! 65536) whose pages alternate between written (a private page) and only
//! read (the shared zero page), i.e. N regions of different categories.
//! Prints its PID and the mapping, then sleeps until killed.
//!
//! cargo run --release --example fragmented [-- PAGES]

use std::io::Write;

use pagemap_scan::mem::Mapping;

fn main() {
    let pages: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("PAGES must be a number"))
        .unwrap_or(65536);
    let m = Mapping::anon(pages).expect("mmap");
    for i in 0..pages {
        if i % 2 == 0 {
            m.write(i, i as u64 + 1);
        } else {
            // SAFETY: page `i` is mapped and readable; it is only read.
            let _ = unsafe { std::ptr::read_volatile(m.page(i) as *const u8) };
        }
    }
    println!(
        "{} {:x}-{:x}",
        std::process::id(),
        m.range().start,
        m.range().end
    );
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}
