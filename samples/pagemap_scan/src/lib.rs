// SPDX-License-Identifier: GPL-2.0
//! Shared helpers of the PAGEMAP_SCAN samples: a checker that prints every
//! comparison and turns mismatches into a non-zero exit status, and helpers
//! for page sets.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::ops::Range;
use std::process::exit;

use pagemap_scan::mem::{page_size, Mapping};
use pagemap_scan::PageRegion;

/// Counts checks and mismatches; [`Checker::finish`] exits 0 only if all
/// checks passed.
pub struct Checker {
    name: &'static str,
    checks: usize,
    failures: usize,
    skips: usize,
}

impl Checker {
    /// A checker for the sample `name`.
    pub fn new(name: &'static str) -> Checker {
        Checker {
            name,
            checks: 0,
            failures: 0,
            skips: 0,
        }
    }

    /// Compare `got` with `want`, print both on mismatch.
    pub fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        self.checks += 1;
        if got == want {
            println!("  ok    {what}");
        } else {
            self.failures += 1;
            println!("  FAIL  {what}\n          got:  {got:?}\n          want: {want:?}");
        }
    }

    /// Check a condition, printing `detail` on failure.
    pub fn ok(&mut self, what: &str, cond: bool, detail: impl FnOnce() -> String) {
        self.checks += 1;
        if cond {
            println!("  ok    {what}");
        } else {
            self.failures += 1;
            println!("  FAIL  {what}: {}", detail());
        }
    }

    /// A part that cannot run on this kernel. With
    /// `PAGEMAP_SCAN_REQUIRE_ALL=1` it counts as a failure.
    pub fn skip(&mut self, what: &str, why: &str) {
        if std::env::var_os("PAGEMAP_SCAN_REQUIRE_ALL").is_some_and(|v| v != "0") {
            self.failures += 1;
            println!("  FAIL  {what}: required but unavailable: {why}");
        } else {
            self.skips += 1;
            println!("  SKIP  {what}: {why}");
        }
    }

    /// Something the sample cannot do on this system for a reason that is
    /// no failure, with `PAGEMAP_SCAN_REQUIRE_ALL=1` too: the architecture
    /// lacks the mechanism (soft-dirty on arm64). The caller checks the
    /// absence itself, and does what works instead.
    pub fn note(&mut self, what: &str, why: &str) {
        println!("  NOTE  {what}: {why}");
    }

    /// Stop at once: the sample cannot run at all (exit 1).
    pub fn fatal(&self, why: impl std::fmt::Display) -> ! {
        println!("{}: cannot run: {why}", self.name);
        exit(1)
    }

    /// Number of failures so far.
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// Print the summary and exit (1 on any mismatch).
    pub fn finish(self) -> ! {
        let verdict = if self.failures == 0 { "PASS" } else { "FAIL" };
        println!(
            "{}: {verdict}: {} checks, {} failed, {} skipped",
            self.name, self.checks, self.failures, self.skips
        );
        exit(if self.failures == 0 { 0 } else { 1 })
    }
}

/// Unwrap `r` or stop the sample with the error.
pub fn must<T, E: std::fmt::Display>(c: &Checker, what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => c.fatal(format!("{what}: {e}")),
    }
}

/// The page indices (relative to `m`) covered by `ranges`.
pub fn page_set<'a>(
    m: &Mapping,
    ranges: impl IntoIterator<Item = &'a Range<u64>>,
) -> BTreeSet<usize> {
    let ps = page_size();
    let mut s = BTreeSet::new();
    for r in ranges {
        let a = ((r.start - m.addr()) / ps) as usize;
        let b = ((r.end - m.addr()) / ps) as usize;
        s.extend(a..b);
    }
    s
}

/// The page indices (relative to `m`) covered by `regions`.
pub fn region_pages(m: &Mapping, regions: &[PageRegion]) -> BTreeSet<usize> {
    let ranges: Vec<Range<u64>> = regions.iter().map(|r| r.range()).collect();
    page_set(m, &ranges)
}

/// `pages` as compact runs: `3 7-8 100`.
pub fn runs(pages: &BTreeSet<usize>) -> String {
    let mut out = Vec::new();
    let mut it = pages.iter().copied().peekable();
    while let Some(a) = it.next() {
        let mut b = a;
        while it.peek() == Some(&(b + 1)) {
            b = it.next().unwrap_or(b);
        }
        out.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    }
    if out.is_empty() {
        "(none)".into()
    } else {
        out.join(" ")
    }
}

/// A small xorshift generator: reproducible without dependencies.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a constant).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_format() {
        let s: BTreeSet<usize> = [3, 7, 8, 100].into_iter().collect();
        assert_eq!(runs(&s), "3 7-8 100");
        assert_eq!(runs(&BTreeSet::new()), "(none)");
    }
}
