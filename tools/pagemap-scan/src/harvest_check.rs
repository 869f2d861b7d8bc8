// SPDX-License-Identifier: GPL-2.0
//! An exact oracle for write tracking under concurrency: a writer thread
//! stores into tracked pages while another thread harvests them
//! (`PM_SCAN_WP_MATCHING`), and afterwards every harvest report is checked
//! against what the writer did.
//!
//! ## Time line
//!
//! Harvests are numbered `0..H`. The harvesting thread publishes epoch
//! `k + 1` on an [`EpochClock`] right after harvest `k` returned. The writer
//! reads the epoch before each store (`started`) and again after it
//! (`completed`), and [`WriteLog::record`]s both. So a store tagged
//! `(b, a)` began after harvest `b - 1` had returned and completed before
//! harvest `a + 1` began.
//!
//! ## What a correct kernel may report
//!
//! * **No write is lost.** A completed store leaves its page writable and
//!   un-protected, so some harvest `j >= b` reports the page.
//! * **A report needs a store.** Every harvest write-protects what it
//!   reports, so a page that harvest `j - 1` did not report was protected
//!   when that harvest looked at it (and one it reported was protected by
//!   it). A report of page `p` by harvest `j` therefore needs a write fault
//!   on `p` after harvest `j - 1` looked at it and before harvest `j` did:
//!   a store with `b <= j` and `a >= j - 1`. This is exact about one store
//!   reported twice: the async uffd-wp fault un-protects the page, a harvest
//!   reports and re-protects it before the store retires, the retried store
//!   faults again and the next harvest reports the page again. Such a
//!   store's `(b, a)` spans both harvests, so both reports are justified; a
//!   report with no store in flight since the previous harvest is not.
//! * **Migration on C.** A page that was written and is write-protected
//!   while it is a *writable* migration entry loses its uffd-wp bit when the
//!   C kernel's `remove_migration_pte()` restores it, so C reports it again
//!   with no write at all. Where [`Policy::migration_drops_wp`] says so, a
//!   report that no store justifies is *excused* (not a false positive) only
//!   if the page was really moved in the window: its `/proc/self/pagemap`
//!   entry (PFN, or migration entry) changed between the snapshot taken
//!   before harvest `i` and the one taken after harvest `j`, or, where PFNs
//!   are hidden (not `CAP_SYS_ADMIN`) or the migration failed and put the
//!   page back, the system's migration counters moved in that window.
//!   Everything else is a false positive.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, Ordering};

/// The harvest epoch: harvest `k` publishes `k + 1` when it has returned.
#[derive(Default)]
pub struct EpochClock(AtomicU32);

impl EpochClock {
    /// A clock at epoch 0 (before the first harvest returned).
    pub fn new() -> EpochClock {
        EpochClock(AtomicU32::new(0))
    }

    /// The current epoch.
    pub fn now(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    /// Publish that harvest `k` has returned (epoch becomes `k + 1`).
    pub fn harvest_done(&self, k: usize) {
        self.0.store(k as u32 + 1, Ordering::SeqCst);
    }
}

/// What the writer thread did: per page, the `(started, completed)` epochs
/// of its stores, consecutive repeats folded.
pub struct WriteLog {
    stores: Vec<Vec<(u32, u32)>>,
    count: u64,
}

impl WriteLog {
    /// An empty log for `pages` pages.
    pub fn new(pages: usize) -> WriteLog {
        WriteLog {
            stores: vec![Vec::new(); pages],
            count: 0,
        }
    }

    /// A store to `page` that read epoch `started` before and `completed`
    /// after it.
    pub fn record(&mut self, page: usize, started: u32, completed: u32) {
        self.count += 1;
        let v = &mut self.stores[page];
        if v.last() != Some(&(started, completed)) {
            v.push((started, completed));
        }
    }

    /// Stores recorded.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// How the kernel under test treats write-protected migration entries.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The kernel drops uffd-wp of a writable migration entry when the
    /// migration ends (the C implementation does, see the module docs).
    pub migration_drops_wp: bool,
}

impl Policy {
    /// The policy of the running kernel's PAGEMAP_SCAN: the Rust module
    /// (`/sys/kernel/mm/pagemap_scan/impl` says `rust`) keeps such pages
    /// protected; C, or a kernel without the module, does not.
    pub fn of_running_kernel() -> Policy {
        let rust = std::fs::read_to_string("/sys/kernel/mm/pagemap_scan/impl")
            .map(|s| s.trim() == "rust")
            .unwrap_or(false);
        Policy {
            migration_drops_wp: !rust,
        }
    }
}

/// Where each page of a range is, read from `/proc/self/pagemap`, and the
/// system's migration counters, at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Per page: the pagemap entry's frame and present/swap bits
    /// (soft-dirty and exclusive bits masked out); `None` if unreadable.
    pub frames: Option<Vec<u64>>,
    /// `pgmigrate_success + thp_migration_success` from `/proc/vmstat`.
    pub migrated: u64,
    /// `pgmigrate_fail + thp_migration_fail`: a failed migration puts the
    /// page back where it was, through the same restore path.
    pub migrate_failed: u64,
}

/// Frame bits (0..55), swap bit 62, present bit 63.
const PM_KEEP: u64 = ((1 << 55) - 1) | (1 << 62) | (1 << 63);

impl Snapshot {
    /// Snapshot `pages` pages from `addr` (page aligned).
    pub fn take(addr: u64, pages: usize) -> Snapshot {
        let ps = crate::mem::page_size();
        let frames = File::open("/proc/self/pagemap").ok().and_then(|f| {
            let mut buf = vec![0u8; pages * 8];
            f.read_exact_at(&mut buf, addr / ps * 8).ok()?;
            let v: Vec<u64> = buf
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap()) & PM_KEEP)
                .collect();
            // Without CAP_SYS_ADMIN every present frame reads 0: useless.
            let any_frame = v.iter().any(|e| e & ((1 << 55) - 1) != 0);
            any_frame.then_some(v)
        });
        let (migrated, migrate_failed) = vmstat_migrations().unwrap_or((0, 0));
        Snapshot {
            frames,
            migrated,
            migrate_failed,
        }
    }
}

fn vmstat_migrations() -> io::Result<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/vmstat")?;
    let (mut ok, mut failed) = (0, 0);
    for line in s.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        match k {
            "pgmigrate_success" | "thp_migration_success" => ok += v,
            "pgmigrate_fail" | "thp_migration_fail" => failed += v,
            _ => {}
        }
    }
    Ok((ok, failed))
}

/// The harvests: `reports[k]` is the set of pages harvest `k` reported;
/// `snaps[k]` was taken before harvest `k`, `snaps[H]` after the last.
#[derive(Clone, Default)]
pub struct HarvestLog {
    reports: Vec<BTreeSet<usize>>,
    snaps: Vec<Snapshot>,
}

impl HarvestLog {
    /// An empty log.
    pub fn new() -> HarvestLog {
        HarvestLog::default()
    }

    /// Snapshot before the next harvest (and once after the last one).
    pub fn snapshot(&mut self, addr: u64, pages: usize) {
        self.snaps.push(Snapshot::take(addr, pages));
    }

    /// The pages the next harvest reported.
    pub fn push(&mut self, pages: BTreeSet<usize>) {
        self.reports.push(pages);
    }

    /// Harvests logged.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// No harvest logged.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// Pages reported, summed over all harvests.
    pub fn pages_reported(&self) -> usize {
        self.reports.iter().map(|r| r.len()).sum()
    }

    /// The page moved (or a migration ran) between the snapshot before
    /// harvest `from` and the one after harvest `to`.
    fn moved(&self, page: usize, from: usize, to: usize) -> bool {
        let w = &self.snaps[from..=(to + 1).min(self.snaps.len() - 1)];
        let (first, last) = (&w[0], &w[w.len() - 1]);
        if last.migrate_failed != first.migrate_failed {
            return true;
        }
        let frames: Option<Vec<u64>> = w
            .iter()
            .map(|s| s.frames.as_ref().map(|f| f[page]))
            .collect();
        match frames {
            Some(f) => f.windows(2).any(|p| p[0] != p[1]),
            None => last.migrated != first.migrated,
        }
    }
}

/// The result of [`check`].
#[derive(Debug, Default)]
pub struct Verdict {
    /// `(page, started, completed)` of stores no harvest reported.
    pub lost: Vec<(usize, u32, u32)>,
    /// `(page, harvest, previous report)` reports no store justifies and no
    /// migration excuses.
    pub spurious: Vec<(usize, usize, Option<usize>)>,
    /// `(page, harvest)` reports with no store, excused by a migration.
    pub excused: Vec<(usize, usize)>,
    /// Reports justified only by a store that was in flight across an
    /// earlier report of the same page (one store reported twice).
    pub retried: usize,
}

impl Verdict {
    /// No write lost, no false positive.
    pub fn ok(&self) -> bool {
        self.lost.is_empty() && self.spurious.is_empty()
    }
}

/// Check the harvests against the writes (see the module docs).
///
/// # Panics
///
/// If the logs do not fit together: `harvests` must have one snapshot
/// more than reports, and `writes` must cover the pages reported.
pub fn check(writes: &WriteLog, harvests: &HarvestLog, policy: Policy) -> Verdict {
    let h = harvests.reports.len();
    assert_eq!(
        harvests.snaps.len(),
        h + 1,
        "one snapshot before each harvest, one after"
    );
    let mut v = Verdict::default();
    for (p, stores) in writes.stores.iter().enumerate() {
        let rep: Vec<usize> = (0..h)
            .filter(|&j| harvests.reports[j].contains(&p))
            .collect();
        for &(b, a) in stores {
            if !rep.iter().any(|&j| j >= b as usize) {
                v.lost.push((p, b, a));
            }
        }
        let mut prev: Option<usize> = None;
        for &j in &rep {
            let justified = stores
                .iter()
                .any(|&(b, a)| b as usize <= j && a as usize + 1 >= j);
            if justified {
                // Every justifying store began before the previous report
                // returned: one store reported twice.
                let fresh = stores.iter().any(|&(b, a)| {
                    b as usize <= j && a as usize + 1 >= j && prev.is_none_or(|i| b as usize > i)
                });
                if !fresh {
                    v.retried += 1;
                }
            } else if policy.migration_drops_wp && harvests.moved(p, prev.unwrap_or(0), j) {
                v.excused.push((p, j));
            } else {
                v.spurious.push((p, j, prev));
            }
            prev = Some(j);
        }
    }
    for r in &harvests.reports {
        if let Some(&p) = r.iter().next_back() {
            assert!(p < writes.stores.len(), "page {p} reported beyond the log");
        }
    }
    v
}

/// Negative control of [`check`] on real logs: add to the last harvest a
/// report of a page that no store touched near it, and tell whether the
/// check calls it a false positive (it must). `None` if every page had a
/// store in flight at the end, so no such page exists.
pub fn catches_fabricated_report(writes: &WriteLog, harvests: &HarvestLog) -> Option<bool> {
    let last = harvests.reports.len().checked_sub(1)?;
    let page = (0..writes.stores.len()).find(|&p| {
        !harvests.reports[last].contains(&p)
            && writes.stores[p].iter().all(|&(_, a)| a as usize + 1 < last)
    })?;
    let mut forged = harvests.clone();
    forged.reports[last].insert(page);
    let strict = Policy {
        migration_drops_wp: false,
    };
    let v = check(writes, &forged, strict);
    Some(v.spurious.iter().any(|&(p, j, _)| p == page && j == last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snaps(n: usize, pages: usize) -> Vec<Snapshot> {
        (0..n)
            .map(|_| Snapshot {
                frames: Some(vec![1 << 63 | 100; pages]),
                migrated: 0,
                migrate_failed: 0,
            })
            .collect()
    }

    fn log(reports: &[&[usize]], pages: usize) -> HarvestLog {
        HarvestLog {
            reports: reports
                .iter()
                .map(|r| r.iter().copied().collect())
                .collect(),
            snaps: snaps(reports.len() + 1, pages),
        }
    }

    const C: Policy = Policy {
        migration_drops_wp: true,
    };
    const RUST: Policy = Policy {
        migration_drops_wp: false,
    };

    #[test]
    fn a_store_retiring_during_the_harvest_that_reported_it_is_reported_again() {
        // Harvest 0 reported the fault, the store retired before harvest 0
        // returned: the page is writable again for harvest 1.
        let mut w = WriteLog::new(1);
        w.record(0, 0, 0);
        assert!(check(&w, &log(&[&[0], &[0]], 1), RUST).ok());
        // ...but not for harvest 2 when harvest 1 did not see it.
        assert!(!check(&w, &log(&[&[0], &[], &[0]], 1), RUST).ok());
    }

    #[test]
    fn the_negative_control_finds_and_catches_a_quiet_page() {
        let mut w = WriteLog::new(3);
        w.record(0, 0, 0);
        w.record(1, 2, 3);
        let l = log(&[&[0], &[], &[1], &[1]], 3);
        assert_eq!(catches_fabricated_report(&w, &l), Some(true));
        let mut busy = WriteLog::new(1);
        busy.record(0, 3, 3);
        assert_eq!(
            catches_fabricated_report(&busy, &log(&[&[], &[], &[], &[0]], 1)),
            None
        );
    }

    #[test]
    fn one_store_one_report() {
        let mut w = WriteLog::new(2);
        w.record(0, 1, 1);
        let v = check(&w, &log(&[&[], &[0], &[]], 2), C);
        assert!(v.ok(), "{v:?}");
    }

    #[test]
    fn lost_write() {
        let mut w = WriteLog::new(1);
        w.record(0, 2, 2);
        let v = check(&w, &log(&[&[], &[0], &[]], 1), C);
        assert_eq!(v.lost, vec![(0, 2, 2)]);
    }

    #[test]
    fn store_in_flight_across_two_harvests_may_be_reported_twice() {
        // Started in epoch 1, retired in epoch 3: harvests 1 and 3 both
        // saw its faults.
        let mut w = WriteLog::new(1);
        w.record(0, 1, 3);
        let v = check(&w, &log(&[&[], &[0], &[], &[0]], 1), RUST);
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.retried, 1);
    }

    #[test]
    fn a_report_with_no_write_since_the_previous_one_is_a_false_positive() {
        // The old check's failure: reported by harvests 1 and 3, the only
        // store retired in epoch 1. The second report is wrong.
        let mut w = WriteLog::new(1);
        w.record(0, 1, 1);
        let v = check(&w, &log(&[&[], &[0], &[], &[0]], 1), RUST);
        assert_eq!(v.spurious, vec![(0, 3, Some(1))]);
        // A page never written but reported.
        let w = WriteLog::new(2);
        let v = check(&w, &log(&[&[1]], 2), C);
        assert_eq!(v.spurious, vec![(1, 0, None)]);
    }

    #[test]
    fn migration_excuses_only_a_moved_page_and_only_where_the_kernel_drops_wp() {
        let mut w = WriteLog::new(2);
        w.record(0, 0, 0);
        w.record(1, 0, 0);
        let mut l = log(&[&[0, 1], &[], &[0, 1]], 2);
        // Page 0 moved between the snapshots before harvests 1 and 2.
        l.snaps[2].frames.as_mut().unwrap()[0] = 1 << 63 | 200;
        let v = check(&w, &l, C);
        assert_eq!(v.excused, vec![(0, 2)]);
        assert_eq!(v.spurious, vec![(1, 2, Some(0))]);
        let v = check(&w, &l, RUST);
        assert!(v.excused.is_empty());
        assert_eq!(v.spurious.len(), 2);
    }

    #[test]
    fn hidden_frames_fall_back_to_the_migration_counters() {
        let mut w = WriteLog::new(1);
        w.record(0, 0, 0);
        let mut l = log(&[&[0], &[], &[0]], 1);
        for s in &mut l.snaps {
            s.frames = None;
        }
        assert_eq!(check(&w, &l, C).spurious.len(), 1);
        // Counters only grow: a migration between harvests 1 and 2.
        for s in &mut l.snaps[2..] {
            s.migrated = 1;
        }
        let v = check(&w, &l, C);
        assert!(v.ok() && v.excused == vec![(0, 2)], "{v:?}");
    }
}
