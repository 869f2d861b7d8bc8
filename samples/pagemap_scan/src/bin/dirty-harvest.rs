// SPDX-License-Identifier: GPL-2.0
//! dirty-harvest: the incremental-checkpoint / live-migration loop.
//!
//! Memory is registered for userfaultfd async write-protection; each round
//! the program writes random pages, then harvests: one PAGEMAP_SCAN with
//! `PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC` reports the written pages
//! and write-protects them again atomically, so nothing written after the
//! harvest is missed by the next one.
//!
//! Phase 1 (sequential) checks every round exactly: the harvest equals the
//! set of pages written (no write lost, no false positive), whatever the
//! vector size and page limit of the ioctls. Phase 2 runs a writer thread
//! concurrently with the harvests and checks, per page, that every write is
//! reported by a harvest that ended after it started, and that no harvest
//! reports a page that no store wrote since the previous harvest looked at
//! it (exact rules, including a store reported twice and C's migration
//! difference: `pagemap_scan::harvest_check`).
//!
//! Usage: dirty-harvest [--pages N] [--rounds N] [--seed N]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::collections::BTreeSet;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::Duration;

use pagemap_scan::harvest_check::{
    catches_fabricated_report, check, EpochClock, HarvestLog, Policy, WriteLog,
};
use pagemap_scan::mem::Mapping;
use pagemap_scan::{c_bounce_buffer_len, WriteTracker, DEFAULT_VEC_CAPACITY};
use sample_check::{must, page_set, region_pages, runs, Checker, Rng};

struct Opts {
    pages: usize,
    rounds: usize,
    seed: u64,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        pages: 4096,
        rounds: 12,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--pages" => o.pages = num("--pages")?.max(1) as usize,
            "--rounds" => o.rounds = num("--rounds")? as usize,
            "--seed" => o.seed = num("--seed")?,
            "-h" | "--help" => {
                println!("usage: dirty-harvest [--pages N] [--rounds N] [--seed N]");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(o)
}

fn main() {
    let mut c = Checker::new("dirty-harvest");
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("dirty-harvest: {e}");
            std::process::exit(2);
        }
    };
    let wt = must(&c, "userfaultfd write tracking", WriteTracker::new());
    let m = must(&c, "mmap", Mapping::anon(o.pages));
    must(&c, "register", wt.register(m.range()));
    println!(
        "dirty-harvest: {} pages at {:#x}, {} rounds, seed {}",
        o.pages,
        m.addr(),
        o.rounds,
        o.seed
    );
    let mut rng = Rng::new(o.seed);

    // Phase 1: exact, sequential.
    println!("phase 1: sequential rounds, exact comparison");
    let h = must(&c, "initial harvest", wt.harvest(m.range()));
    c.eq(
        "nothing written after registration",
        page_set(&m, &h),
        BTreeSet::new(),
    );
    // (vector capacity, max_pages per ioctl) per round: exercise the
    // kernel's bounce buffer (`PMD_SIZE / PAGE_SIZE` entries: 512 with
    // 4 KiB pages; 8192 with 64 KiB pages, more than the regions of the
    // default 4096 pages), tiny vectors and page limits.
    let b = c_bounce_buffer_len();
    let shapes = [
        (DEFAULT_VEC_CAPACITY, 0),
        (1, 0),
        (7, 0),
        (b, 0),
        (b + 1, 0),
        (64, 5),
        (DEFAULT_VEC_CAPACITY, 100),
        (3000, 0),
    ];
    for round in 0..o.rounds {
        let density = 1 + rng.below(60); // percent of pages written
        let mut written = BTreeSet::new();
        for p in 0..o.pages {
            if rng.below(100) < density {
                m.write(p, rng.next_u64());
                written.insert(p);
            }
        }
        let (cap, maxp) = shapes[round % shapes.len()];
        let mut it = wt
            .scan(m.range())
            .vec_capacity(cap)
            .max_pages(maxp)
            .regions();
        let regions: Vec<_> = must(&c, "harvest", it.by_ref().collect::<Result<Vec<_>, _>>());
        let got = region_pages(&m, &regions);
        println!(
            "round {round}: wrote {} pages ({density}%), harvested {} pages in {} regions \
             ({} ioctls, vec {cap}, max_pages {maxp}, {} stale walk_end)",
            written.len(),
            got.len(),
            regions.len(),
            it.calls(),
            it.stale_walk_end_events()
        );
        let lost: BTreeSet<_> = written.difference(&got).copied().collect();
        let extra: BTreeSet<_> = got.difference(&written).copied().collect();
        c.ok(
            &format!("round {round}: no write lost"),
            lost.is_empty(),
            || format!("lost {}", runs(&lost)),
        );
        c.ok(
            &format!("round {round}: no false positive"),
            extra.is_empty(),
            || format!("extra {}", runs(&extra)),
        );
        let again = must(&c, "second harvest", wt.harvest(m.range()));
        c.eq(
            &format!("round {round}: a second harvest is empty"),
            page_set(&m, &again),
            BTreeSet::new(),
        );
    }

    // Phase 2: concurrent writer, checked by the exact oracle of
    // `pagemap_scan::harvest_check` (see its docs for the rules).
    println!(
        "phase 2: writer thread concurrent with {} harvests",
        o.rounds
    );
    let n = o.pages;
    let clock = EpochClock::new();
    let stop = AtomicBool::new(false);
    let mut harvests = HarvestLog::new();
    let seed = rng.next_u64();
    let writes = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut r = Rng::new(seed);
            let mut log = WriteLog::new(n);
            while !stop.load(Ordering::SeqCst) {
                let p = r.below(n as u64) as usize;
                let started = clock.now();
                m.write(p, started.into());
                // The store is done (faulted, un-protected) before the
                // epoch is read again.
                fence(Ordering::SeqCst);
                log.record(p, started, clock.now());
            }
            log
        });
        for k in 0..o.rounds {
            std::thread::sleep(Duration::from_millis(2));
            harvests.snapshot(m.addr(), n);
            let h = must(&c, "harvest", wt.harvest(m.range()));
            harvests.push(page_set(&m, &h));
            clock.harvest_done(k);
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("writer thread")
    });
    harvests.snapshot(m.addr(), n);
    let h = must(&c, "final harvest", wt.harvest(m.range()));
    harvests.push(page_set(&m, &h));
    harvests.snapshot(m.addr(), n);
    let policy = Policy::of_running_kernel();
    let v = check(&writes, &harvests, policy);
    println!(
        "writer did {} writes; {} harvests reported {} pages; {} reports of a store \
         in flight across two harvests, {} excused by a page migration ({policy:?})",
        writes.count(),
        harvests.len(),
        harvests.pages_reported(),
        v.retried,
        v.excused.len()
    );
    c.ok("concurrent: harvests ran", writes.count() > 0, || {
        "the writer did no write".into()
    });
    c.ok("concurrent: no write lost", v.lost.is_empty(), || {
        format!(
            "(page, started, completed) {:?}",
            &v.lost[..v.lost.len().min(10)]
        )
    });
    c.ok(
        "concurrent: no false positive",
        v.spurious.is_empty(),
        || {
            format!(
                "(page, harvest, previous report) {:?}",
                &v.spurious[..v.spurious.len().min(10)]
            )
        },
    );
    // The check can fail: the same logs with one forged report of a page
    // nothing wrote near the last harvest must be called a false positive.
    c.ok(
        "concurrent: a forged report is caught (negative control)",
        catches_fabricated_report(&writes, &harvests) == Some(true),
        || format!("{:?}", catches_fabricated_report(&writes, &harvests)),
    );
    c.finish();
}
