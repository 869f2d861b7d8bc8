// SPDX-License-Identifier: GPL-2.0
//! The baseline `pagemap-scan` is measured against: read
//! `/proc/PID/pagemap` (8 bytes per page) for every VMA and print the runs
//! of pages with equal present/swapped/zero-page state, one line each,
//! through a buffered writer. Zero-page detection needs the PFN (root).
//!
//! cargo run --release --example read-pagemap -- PID > /dev/null

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;

use pagemap_scan::maps;
use pagemap_scan::mem::page_size;

const PM_PRESENT: u64 = 1 << 63;
const PM_SWAP: u64 = 1 << 62;
const PFN_MASK: u64 = (1 << 55) - 1;
/// Entries read per `pread` (a count of pages, whatever their size).
const BATCH: usize = 4096;

fn main() -> io::Result<()> {
    let pid: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("usage: read-pagemap PID");
    let ps = page_size();
    let pm = File::open(format!("/proc/{pid}/pagemap"))?;
    // The PFN of the zero page, from our own mapping of it.
    let zero = {
        let m = pagemap_scan::mem::Mapping::anon(1)?;
        // SAFETY: the page is mapped and readable; it is only read.
        let _ = unsafe { std::ptr::read_volatile(m.addr() as *const u8) };
        let mut b = [0u8; 8];
        File::open("/proc/self/pagemap")?.read_exact_at(&mut b, m.addr() / ps * 8)?;
        u64::from_ne_bytes(b) & PFN_MASK
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut buf = vec![0u8; 8 * BATCH];
    let mut regions = 0u64;
    for v in maps::read(Some(pid))?
        .iter()
        .filter(|v| !v.is_kernel_gate())
    {
        let mut run: Option<(u64, u64, u8)> = None;
        let mut addr = v.start;
        while addr < v.end {
            let n = (((v.end - addr) / ps) as usize).min(BATCH);
            let b = &mut buf[..n * 8];
            pm.read_exact_at(b, addr / ps * 8)?;
            for (i, e) in b.chunks_exact(8).enumerate() {
                let e = u64::from_ne_bytes(e.try_into().unwrap());
                let state = (e & PM_PRESENT != 0) as u8
                    | ((e & PM_SWAP != 0) as u8) << 1
                    | ((e & PM_PRESENT != 0 && e & PFN_MASK == zero) as u8) << 2;
                let a = addr + i as u64 * ps;
                match &mut run {
                    Some((_, end, s)) if *s == state => *end = a + ps,
                    _ => {
                        if let Some((s, e, st)) = run.take() {
                            if st != 0 {
                                writeln!(out, "{s:x}-{e:x} {st}")?;
                                regions += 1;
                            }
                        }
                        run = Some((a, a + ps, state));
                    }
                }
            }
            addr += n as u64 * ps;
        }
        if let Some((s, e, st)) = run {
            if st != 0 {
                writeln!(out, "{s:x}-{e:x} {st}")?;
                regions += 1;
            }
        }
    }
    writeln!(out, "{regions} regions")?;
    out.flush()
}
