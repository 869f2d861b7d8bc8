// SPDX-License-Identifier: GPL-2.0

//! PAGEMAP_SCAN of `/proc/PID/pagemap`, in Rust.
//!
//! Loading this module routes the ioctl here instead of to the C code in
//! `fs/proc/task_mmu.c`; unloading routes it back. Same ABI, same results,
//! same errno as C, except for the documented corrections
//! (Documentation/rust-pagemap-scan.rst). The walk itself is built on the
//! safe `kernel::mm` abstractions: no `unsafe` here.

#![forbid(unsafe_code)]

use core::{
    marker::PhantomData,
    mem::MaybeUninit,
    ops::{ControlFlow, Deref},
};
use kernel::{
    c_str,
    mm::{
        pagewalk::{
            self,
            hugetlb::HugetlbEntry,
            pgtable::{
                Classes, ClassesAndFile, Classify, Presence, Protection, PteInfo, PteQuery,
                PteTable,
            },
            PageWalk, PmdEntry, PmdView, Protecting, PteHole, Ptes, ReadOnly, VmaAction, WalkMode,
            WalkResult,
        },
        virt::VmaRef,
        Mm, MmWithUser,
    },
    num::casts::{
        arch::{u64_as_usize, IntoSafeCastArch},
        usize_as_u64, usize_into_u32, IntoSafeCast,
    },
    pagemap_scan::{
        self, PagemapRead, RegionBuffer, RegionRoom, Registration, ScanHandler, UserArg,
    },
    prelude::*,
};

// The uapi, for `logic`.
use kernel::pagemap_scan::{
    PageRegion, PmScanArg, PAGE_IS_ACCESSED, PAGE_IS_FILE, PAGE_IS_GUARD, PAGE_IS_HUGE,
    PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_SOFT_DIRTY, PAGE_IS_SWAPPED, PAGE_IS_WPALLOWED,
    PAGE_IS_WRITTEN, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING,
};

#[path = "pagemap_scan/logic.rs"]
mod logic;
#[path = "pagemap_scan/read.rs"]
mod read;

// What `logic` takes from the kernel it runs on.
/// `PAGE_SHIFT`.
const PAGE_SHIFT: u32 = usize_into_u32::<{ kernel::page::PAGE_SHIFT }>();
/// C's bounce buffer (`PAGEMAP_WALK_SIZE >> PAGE_SHIFT`): one entry per page
/// of a PMD.
const BOUNCE_ENTRIES: u64 = usize_as_u64(pagewalk::PMD_SIZE >> kernel::page::PAGE_SHIFT);
/// `SIZE_MAX`.
const SIZE_MAX: u64 = usize_as_u64(usize::MAX);

use logic::{validate, ArgError, Args, Entry, Full, Output, RegionBuf, Semantics, VmaUffd};

/// The errno C returns for each refusal of the arguments.
impl From<ArgError> for Error {
    #[inline]
    fn from(e: ArgError) -> Error {
        match e {
            ArgError::Inval => EINVAL,
            ArgError::Fault => EFAULT,
        }
    }
}

/// The semantics of the tree this module is built for: its C code is the
/// reference.
const TREE: Semantics = if pagemap_scan::GUARD_RWP {
    Semantics::LINUX_7_3
} else {
    Semantics::LINUX_6_12
};

module! {
    type: PagemapScanModule,
    name: "pagemap_scan_rs",
    description: "PAGEMAP_SCAN ioctl of /proc/PID/pagemap implemented in Rust",
    license: "GPL",
}

struct PagemapScanModule {
    _reg: Registration<RustScan>,
}

impl kernel::Module for PagemapScanModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let reg = Registration::new(c_str!("rust"), module)?;
        pr_info!("PAGEMAP_SCAN is now served by Rust\n");
        Ok(PagemapScanModule { _reg: reg })
    }
}

impl Drop for PagemapScanModule {
    fn drop(&mut self) {
        pr_info!("PAGEMAP_SCAN goes back to C\n");
    }
}

const HPAGE_SIZE: u64 = usize_as_u64(pagewalk::PMD_SIZE);

/// Output arrays up to this many entries are buffered on the stack.
const INLINE_REGIONS: usize = 16;

struct RustScan;

/// How a walk pass ended, when it did not fail.
enum Pass {
    /// It reached the end of the range (or stopped where a hugetlb page
    /// could only be write-protected in part: `walk_end` says where).
    Done,
    /// The bounce buffer filled: copy it out and go on from `walk_end`.
    Full,
}

/// The user's output array: where the next regions go, and how many went.
struct UserVec {
    addr: usize,
    written: usize,
}

impl ScanHandler for RustScan {
    /// C's `do_pagemap_scan()`, in the same steps: read and check the
    /// arguments, set the bounce buffer aside, then loop { lock, walk,
    /// unlock, flush the buffer } and write `walk_end` back. The walk mode
    /// is decided here, once: a scan that does not write-protect runs a
    /// [`ReadOnly`] walker, which cannot.
    fn scan(mm: &Mm, uarg: UserArg) -> Result<usize> {
        let user = mm.mmget_not_zero().ok_or(ESRCH)?;
        let args = get_args(uarg)?;
        if args.wp_matching() {
            scan_walk::<Protecting>(user, uarg, args)
        } else {
            scan_walk::<ReadOnly>(user, uarg, args)
        }
    }

    const READS: bool = true;

    /// C's `pagemap_read()` ([`read::read`]).
    fn read(mm: &Mm, r: &mut PagemapRead<'_>) -> Result<usize> {
        read::read(mm, r)
    }
}

/// The scan with checked arguments, by a walker of mode `M`.
#[inline(always)]
fn scan_walk<M: WalkMode>(
    user: impl Deref<Target = MmWithUser>,
    uarg: UserArg,
    args: Args,
) -> Result<usize> {
    // A few entries fit on the stack: small arrays cost no allocation.
    let mut inline = [const { MaybeUninit::<PageRegion>::uninit() }; INLINE_REGIONS];
    let mut heap = None;
    let mut walk = ScanWalk::<M>::new(args, init_bounce_buffer(&args, &mut inline, &mut heap)?);
    let mut vec = UserVec {
        addr: u64_as_usize(args.vec),
        written: 0,
    };

    let mut walk_start = args.start;
    let ret = loop {
        if walk_start >= args.end {
            break Ok(());
        }
        let pass = walk_pass(&user, &mut walk, walk_start);
        // Copy out with the mmap lock dropped: the user array may fault.
        // All of it, as C does: if that fails, the scan ends here, before
        // another pass could protect pages it cannot report.
        if let Err(e) = flush_buffer(&mut walk, &mut vec) {
            break Err(e);
        }
        match pass {
            // Go on after a full bounce buffer, unless max_pages is reached
            // or the user array is full.
            Ok(Pass::Full) => match walk.out.walk_end {
                Some(end) if !walk.out.exhausted() => walk_start = end,
                _ => break Ok(()),
            },
            Ok(Pass::Done) => {
                if !walk.hugetlb_backout {
                    // The walk reached the end. C would keep the walk_end
                    // of an earlier internal stop here although it
                    // returned the regions after it: report the true end
                    // instead.
                    walk.out.walk_end = None;
                }
                break Ok(());
            }
            Err(e) => break Err(e),
        }
    };
    drop(user);
    writeback_args(uarg, &args, &walk, ret.map(|()| vec.written))
}

/// `pagemap_scan_get_args()`: the user's argument, copied in and checked
/// exactly as C checks it (same checks, same order, same errno).
#[inline(always)]
fn get_args(uarg: UserArg) -> Result<Args> {
    let arg = uarg.read()?;
    validate(
        &arg,
        TREE,
        |a, s| pagemap_scan::user_access_ok(a.into_safe_cast_arch(), s.into_safe_cast_arch()),
        |a| pagemap_scan::untagged_addr(a.into_safe_cast_arch()).into_safe_cast(),
    )
    .map_err(Error::from)
}

/// `pagemap_scan_init_bounce_buffer()`: room for `min(BOUNCE_ENTRIES,
/// vec_len)` regions (a PMD's worth of pages: 512 with 4 KiB pages), set
/// aside before the walk (none without an output array): on the stack in
/// `inline` if it is enough, else in `heap`.
#[inline(always)]
fn init_bounce_buffer<'a>(
    args: &Args,
    inline: &'a mut [MaybeUninit<PageRegion>; INLINE_REGIONS],
    heap: &'a mut Option<RegionRoom>,
) -> Result<Option<RegionBuffer<'a>>> {
    Ok(match Output::<RegionBuffer<'_>>::bounce_len(args) {
        0 => None,
        n if n <= INLINE_REGIONS => Some(RegionBuffer::in_place(&mut inline[..n])),
        n => Some(RegionBuffer::in_place(
            heap.insert(RegionRoom::new(n)?).as_uninit_mut(),
        )),
    })
}

/// One pass of the walk from `start` under the mmap lock (with the MMU
/// notifier range when write-protecting), as C's loop body does. A walker
/// stops the walk (`Break`) when the bounce buffer is full: that is
/// [`Pass::Full`].
#[inline(always)]
fn walk_pass<M: WalkMode>(
    user: &MmWithUser,
    walk: &mut ScanWalk<'_, M>,
    start: u64,
) -> Result<Pass> {
    if pagewalk::fatal_signal_pending() {
        return Err(EINTR);
    }
    let mut lock = user.mmap_read_lock_killable()?;
    walk.hugetlb_backout = false;
    let (start, end) = (u64_as_usize(start), u64_as_usize(walk.args.end));
    let ret = lock.walk_page_range(start, end, walk);
    drop(lock);
    Ok(match ret? {
        ControlFlow::Continue(()) => Pass::Done,
        ControlFlow::Break(()) => Pass::Full,
    })
}

/// `pagemap_scan_flush_buffer()`: copies the regions the pass found to the
/// user's array, with no lock held.
#[inline(always)]
fn flush_buffer<M: WalkMode>(walk: &mut ScanWalk<'_, M>, vec: &mut UserVec) -> Result {
    let pending = walk.out.pending();
    let n = pending.len();
    if n > 0 {
        pagemap_scan::copy_regions_to_user(vec.addr, pending)?;
        vec.addr += core::mem::size_of_val(pending);
        vec.written += n;
        walk.out.flushed(n);
    }
    Ok(())
}

/// `pagemap_scan_writeback_args()`: writes `walk_end` back (the end of the
/// range if the walk reached it) and returns the scan's result, `EFAULT`
/// if the argument cannot be written.
#[inline(always)]
fn writeback_args<M: WalkMode>(
    uarg: UserArg,
    args: &Args,
    walk: &ScanWalk<'_, M>,
    ret: Result<usize>,
) -> Result<usize> {
    // C reports its end for a walk_end of 0, which a hugetlb page at
    // address 0 that could only be protected in part would give.
    let walk_end = walk.out.walk_end.filter(|&e| e != 0).unwrap_or(args.end);
    uarg.write_walk_end(walk_end).map_err(|_| EFAULT)?;
    ret
}

/// The bounce buffer: entries are appended as the walk finds regions.
impl RegionBuf for RegionBuffer<'_> {
    #[inline]
    fn room(&self) -> usize {
        RegionBuffer::room(self)
    }

    #[inline]
    fn put(&mut self, i: usize, r: PageRegion) -> bool {
        match self.get_mut(i) {
            Some(e) => {
                *e = r;
                true
            }
            None => i == self.len() && self.push(r),
        }
    }
}

/// The categories derived from the last huge entry state looked at, and
/// whether they match: huge pages come in long stretches of the same state
/// (a populated area), so most lookups are a compare.
#[derive(Clone, Copy, Default)]
struct Memo {
    /// `PteInfo` bits and `MEMO_VALID`; 0: none.
    key: u16,
    categories: u64,
    interesting: bool,
}

const MEMO_VALID: u16 = 1 << 8;

/// How the PTE tables of the current VMA are read: decided once per VMA
/// (`test_walk`), from the scan's arguments and the VMA's registration.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum PteRead {
    /// Only whether each entry is write-protected: the PAGE_IS_WRITTEN
    /// fast path, or write-protection with no output.
    Unprotected,
    /// Only whether each entry is present or swapped ([`Presence`]).
    Presence,
    /// Every category but PAGE_IS_FILE.
    #[default]
    Classes,
    /// Every category ([`ClassesAndFile`]: a page lookup per entry).
    ClassesAndFile,
}

/// The state of one walk_page_range() pass, by a walker of mode `M`
/// (write-protecting or not: `Args::wp_matching()`).
struct ScanWalk<'b, M: WalkMode> {
    args: Args,
    interest: u64,
    vma_category: u64,
    /// The current VMA's userfaultfd registration.
    vma_uffd: VmaUffd,
    /// Depends on `vma_category` and `vma_uffd`: reset with them.
    memo: Memo,
    /// Depends on `vma_uffd`: set with it.
    pte_read: PteRead,
    /// With `pte_read` [`PteRead::Presence`], the categories of a run of
    /// empty, present and swap-like entries (by [`Seen::index`]), if it
    /// matches, once bit [`Seen::index`] of `seen_known` is set: decided
    /// once per VMA and state, so that a run costs no more than a look-up.
    seen: [Option<u64>; 3],
    /// Depends on `vma_category` and `vma_uffd`: reset with them.
    seen_known: u8,
    /// A hugetlb page could not be write-protected in part in this pass.
    hugetlb_backout: bool,
    out: Output<RegionBuffer<'b>>,
    _mode: PhantomData<M>,
}

impl<'b, M: WalkMode> ScanWalk<'b, M> {
    #[inline(always)]
    fn new(args: Args, buf: Option<RegionBuffer<'b>>) -> Self {
        ScanWalk {
            args,
            interest: args.masks_of_interest(),
            vma_category: 0,
            vma_uffd: VmaUffd::default(),
            memo: Memo::default(),
            pte_read: PteRead::default(),
            seen: [None; 3],
            seen_known: 0,
            hugetlb_backout: false,
            out: Output::new(&args, buf),
            _mode: PhantomData,
        }
    }
}

/// Go on with the walk.
const GO: WalkResult = Ok(ControlFlow::Continue(()));

/// The walk's answer to an output: go on, or stop where the output is full
/// (C's `-ENOSPC`).
#[inline(always)]
fn flow(r: core::result::Result<(), Full>) -> WalkResult {
    Ok(stop_if_full(r))
}

/// A full output stops the walk there.
#[inline(always)]
fn stop_if_full(r: core::result::Result<(), Full>) -> ControlFlow<()> {
    match r {
        Ok(()) => ControlFlow::Continue(()),
        Err(Full) => ControlFlow::Break(()),
    }
}

/// A page table entry's state, as the categories see it.
#[derive(Clone, Copy)]
struct Pte(PteInfo);

/// An entry as [`Presence`] reads it: empty, present or swap-like, no other
/// bit read (as [`Pte`] of its `PteInfo`).
#[derive(Clone, Copy)]
enum Seen {
    None,
    Present,
    Swap,
}

impl Seen {
    #[inline(always)]
    fn of(info: PteInfo) -> Self {
        if info.is_present() {
            Seen::Present
        } else if info.is_swap() {
            Seen::Swap
        } else {
            Seen::None
        }
    }

    #[inline(always)]
    fn index(self) -> usize {
        match self {
            Seen::None => 0,
            Seen::Present => 1,
            Seen::Swap => 2,
        }
    }
}

impl Entry for Seen {
    #[inline(always)]
    fn is_none(self) -> bool {
        matches!(self, Seen::None)
    }
    #[inline(always)]
    fn is_present(self) -> bool {
        matches!(self, Seen::Present)
    }
    #[inline(always)]
    fn uffd(self) -> bool {
        false
    }
    #[inline(always)]
    fn zero_pfn(self) -> bool {
        false
    }
    #[inline(always)]
    fn soft_dirty(self) -> bool {
        false
    }
    #[inline(always)]
    fn maps_file(self) -> bool {
        false
    }
    #[inline(always)]
    fn guard(self) -> bool {
        false
    }
}

impl Entry for Pte {
    #[inline(always)]
    fn is_none(self) -> bool {
        self.0.is_none()
    }
    #[inline(always)]
    fn is_present(self) -> bool {
        self.0.is_present()
    }
    #[inline(always)]
    fn uffd(self) -> bool {
        if self.0.is_present() {
            self.0.uffd_wp()
        } else {
            self.0.swp_uffd_wp_any()
        }
    }
    #[inline(always)]
    fn zero_pfn(self) -> bool {
        self.0.is_zero_pfn()
    }
    #[inline(always)]
    fn soft_dirty(self) -> bool {
        self.0.soft_dirty() || self.0.swp_soft_dirty()
    }
    #[inline(always)]
    fn maps_file(self) -> bool {
        self.0.maps_file()
    }
    #[inline(always)]
    fn guard(self) -> bool {
        self.0.is_guard()
    }
}

impl<M: WalkMode> ScanWalk<'_, M> {
    /// The categories of a huge page in an entry with state `info` in the
    /// current VMA, if it matches the scan.
    #[inline(always)]
    fn matching_huge(&mut self, info: PteInfo) -> Option<u64> {
        let key = u16::from(info.bits()) | MEMO_VALID;
        if key != self.memo.key {
            self.memo_huge(key, info);
        }
        self.memo.interesting.then_some(self.memo.categories)
    }

    /// Remembers the categories of huge entries with `info`. Out of line:
    /// the hit is what matters, and it then needs fewer registers.
    #[inline(never)]
    fn memo_huge(&mut self, key: u16, info: PteInfo) {
        let c = self.vma_category
            | PAGE_IS_HUGE
            | self.args.sem.huge_categories(self.vma_uffd, Pte(info));
        self.memo = Memo {
            key,
            categories: c,
            interesting: self.args.is_interesting_page(c),
        };
    }

    /// Whether the scan looks at `PAGE_IS_FILE`, which costs a page lookup.
    #[inline(always)]
    fn wants_file(&self) -> bool {
        self.interest & PAGE_IS_FILE != 0
    }

    /// How to read the PTE tables of a VMA with `vma_uffd`: the cheapest
    /// query that tells every category the scan needs.
    fn choose_pte_read(&self) -> PteRead {
        // Categories that a PTE gives by being present or not, or that are
        // of the VMA or of huge pages.
        const PRESENCE: u64 = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_WPALLOWED | PAGE_IS_HUGE;
        if self.args.written_fast_path(self.vma_uffd) || (M::PROTECTING && !self.out.has_vec()) {
            PteRead::Unprotected
        } else if self.wants_file() {
            PteRead::ClassesAndFile
        } else if !M::PROTECTING && self.interest & !PRESENCE == 0 {
            // The categories that depend on other bits (WRITTEN, ACCESSED,
            // PFNZERO, a page's SOFT_DIRTY, GUARD) are computed wrong but
            // never looked at: not of interest (is_interesting_page() and
            // output() look at the masks' bits only). A protecting scan
            // needs WRITTEN to protect what it reports.
            PteRead::Presence
        } else {
            PteRead::Classes
        }
    }

    /// A transparent huge page as read under its lock by
    /// [`PmdEntry::view`].
    #[inline(always)]
    fn thp_view(&mut self, info: PteInfo, start: u64, end: u64) -> WalkResult {
        let Some(categories) = self.matching_huge(info) else {
            return GO;
        };
        let mut end = end;
        flow(self.out.output(categories, start, &mut end))
    }

    /// A transparent huge page under `pmd`: `None` if there is none (or it
    /// was split), so the caller goes on with the PTE table.
    #[inline(always)]
    fn thp_entry(&mut self, pmd: &mut PmdEntry<'_, M>, start: u64, end: u64) -> Option<WalkResult> {
        let file = self.wants_file();
        // The stop before this THP: a take-back takes the output's stop at
        // the cut back too (C keeps it: patches/upstream 0002).
        let walk_end = self.out.walk_end;
        let thp = pmd.with_huge(file, |huge| {
            let Some(categories) = self.matching_huge(huge.info()) else {
                return Thp::Done(GO);
            };
            let mut end = end;
            let ret = flow(self.out.output(categories, start, &mut end));
            let Some(huge) = huge.protecting() else {
                return Thp::Done(ret);
            };
            if start == end || categories & PAGE_IS_WRITTEN == 0 {
                return Thp::Done(ret);
            }
            if end != start + HPAGE_SIZE {
                // Only a part must be write-protected: split the THP (with
                // the lock dropped) and handle its pages one by one, as if
                // there had been no THP.
                return Thp::Split(end);
            }
            Thp::Done(huge.make_uffd_wp().and(ret))
        })?;
        match thp {
            Thp::Done(ret) => Some(ret),
            Thp::Split(end) => {
                pmd.split_huge();
                self.out.backout(start, end);
                self.out.walk_end = walk_end;
                None
            }
        }
    }

    /// The PTE table under `pmd`; `Ok(None)` if there is none: it went
    /// away under us, or a THP was made there since `thp_entry()` looked
    /// (the retry handles it as a THP, as C's does).
    #[inline(always)]
    fn pte_table(
        &mut self,
        pmd: &mut PmdEntry<'_, M>,
        start: u64,
        end: u64,
    ) -> Result<Option<ControlFlow<()>>> {
        let (s, e) = (u64_as_usize(start), u64_as_usize(end));
        let tables = match self.pte_read {
            PteRead::Unprotected => {
                pmd.with_ptes::<Protection, _>(s, e, |t| self.unprotected_ptes(t))
            }
            PteRead::ClassesAndFile => {
                pmd.with_ptes::<ClassesAndFile, _>(s, e, |t| self.matching_ptes(t))
            }
            // `Presence` only in a read-only walk, which never gets here
            // (pmd_entry() views its tables).
            PteRead::Presence | PteRead::Classes => {
                pmd.with_ptes::<Classes, _>(s, e, |t| self.matching_ptes(t))
            }
        };
        Ok(match tables? {
            Ptes::Table(ret) => Some(ret),
            Ptes::Huge | Ptes::Gone => None,
        })
    }

    /// The PAGE_IS_WRITTEN fast path, and write-protection with no output:
    /// every entry that is not write-protected matches, with the same
    /// categories, whether present, swapped or empty.
    fn unprotected_ptes(&mut self, table: &mut PteTable<'_, Protection, M>) -> ControlFlow<()> {
        let categories = self.vma_category | PAGE_IS_WRITTEN;
        while let Some((addr, end)) = table.next_unprotected() {
            let (start, mut next) = (usize_as_u64(addr), usize_as_u64(end));
            let r = self.out.output(categories, start, &mut next);
            if let Some(table) = table.protecting() {
                // Written (not protected): protect what was reported.
                if next == usize_as_u64(end) {
                    table.make_uffd_wp_last_run();
                } else if next != start {
                    table.make_uffd_wp(addr, u64_as_usize(next));
                }
            }
            stop_if_full(r)?;
        }
        ControlFlow::Continue(())
    }

    /// [`Self::matching_ptes`] for [`Presence`]: each run's categories
    /// are looked up (`seen`).
    fn seen_ptes(&mut self, table: &mut PteTable<'_, Presence, M>) -> ControlFlow<()> {
        while let Some(run) = table.next_run() {
            let seen = Seen::of(run.info);
            if self.seen_known & (1 << seen.index()) == 0 {
                self.learn_seen(seen);
            }
            if let Some(categories) = self.seen[seen.index()] {
                self.report_run(table, categories, run.addr, run.end)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Decides `seen` for `e`. Out of line: the look-up is what matters.
    #[inline(never)]
    fn learn_seen(&mut self, e: Seen) {
        let c = self.vma_category | self.args.sem.page_categories(self.vma_uffd, e);
        self.seen[e.index()] = self.args.is_interesting_page(c).then_some(c);
        self.seen_known |= 1 << e.index();
    }

    /// The general path: each run of equal entries is one candidate region.
    fn matching_ptes<Q: Classify>(&mut self, table: &mut PteTable<'_, Q, M>) -> ControlFlow<()> {
        while let Some(run) = table.next_run() {
            // Runs are long already: no memo (neighbouring runs differ).
            let categories =
                self.vma_category | self.args.sem.page_categories(self.vma_uffd, Pte(run.info));
            if !self.args.is_interesting_page(categories) {
                continue;
            }
            self.report_run(table, categories, run.addr, run.end)?;
        }
        ControlFlow::Continue(())
    }

    /// Reports the matching run `[addr, end)` of `table` with `categories`
    /// and, in a write-protecting scan, write-protects what was reported if
    /// it was written (the table flushes the TLB before it is unlocked).
    /// `Break` when the output is full: the walk stops there.
    #[inline(always)]
    fn report_run<Q: PteQuery>(
        &mut self,
        table: &mut PteTable<'_, Q, M>,
        categories: u64,
        addr: usize,
        end: usize,
    ) -> ControlFlow<()> {
        let (start, mut next) = (usize_as_u64(addr), usize_as_u64(end));
        let r = self.out.output(categories, start, &mut next);
        if let Some(table) = table.protecting() {
            if categories & PAGE_IS_WRITTEN != 0 && next != start {
                table.make_uffd_wp(addr, u64_as_usize(next));
            }
        }
        stop_if_full(r)
    }
}

/// What [`ScanWalk::thp_entry`] did with a locked THP.
enum Thp {
    /// Reported (and write-protected): the walk's result for the PMD.
    Done(WalkResult),
    /// Reported up to the given end, which must be write-protected in part:
    /// split the THP and take the report back.
    Split(u64),
}

#[vtable]
impl<M: WalkMode> PageWalk for ScanWalk<'_, M> {
    type Mode = M;

    #[inline]
    fn test_walk(&mut self, vma: &VmaRef, _start: usize, _end: usize) -> Result<VmaAction> {
        let wp_allowed = vma.userfaultfd_wp_async_with_markers();
        if !wp_allowed {
            if self.args.check_wpasync() {
                return Err(EPERM);
            }
            if M::PROTECTING {
                return Ok(VmaAction::Skip);
            }
        }
        if vma.is_pfnmap() {
            return Ok(VmaAction::Skip);
        }
        let mut c = 0;
        if wp_allowed {
            c |= PAGE_IS_WPALLOWED;
        }
        if vma.is_soft_dirty() {
            c |= PAGE_IS_SOFT_DIRTY;
        }
        if !self.args.is_interesting_vma(c) {
            return Ok(VmaAction::Skip);
        }
        self.vma_category = c;
        self.vma_uffd = VmaUffd {
            wp: vma.userfaultfd_wp(),
            rwp: vma.userfaultfd_rwp(),
        };
        self.memo = Memo::default();
        self.pte_read = self.choose_pte_read();
        self.seen_known = 0;
        Ok(VmaAction::Walk)
    }

    #[inline]
    fn pmd_entry(&mut self, pmd: &mut PmdEntry<'_, M>, start: usize, end: usize) -> WalkResult {
        let (s, e) = (start, end);
        let (start, end) = (usize_as_u64(start), usize_as_u64(end));
        let table = if !M::PROTECTING && self.pte_read != PteRead::ClassesAndFile {
            // Nothing to change and no page to look at: the table or the
            // THP's state in one helper call.
            let view = match self.pte_read {
                PteRead::Unprotected => {
                    pmd.view::<Protection, _>(s, e, |t| self.unprotected_ptes(t))
                }
                PteRead::Presence => pmd.view::<Presence, _>(s, e, |t| self.seen_ptes(t)),
                _ => pmd.view::<Classes, _>(s, e, |t| self.matching_ptes(t)),
            };
            match view? {
                PmdView::Table(ret) => Some(ret),
                PmdView::Huge(info) => return self.thp_view(info, start, end),
                PmdView::Gone => None,
            }
        } else {
            if let Some(ret) = self.thp_entry(pmd, start, end) {
                return ret;
            }
            self.pte_table(pmd, start, end)?
        };
        let Some(ret) = table else {
            // The table went away under us: walk this PMD again.
            pmd.again();
            return GO;
        };
        // Long walks give the CPU away after each PTE table, with no lock
        // held, like C.
        pmd.cond_resched();
        Ok(ret)
    }

    #[inline]
    fn pte_hole(&mut self, start: usize, end: usize, hole: Option<&PteHole<'_, M>>) -> WalkResult {
        let Some(hole) = hole else {
            return GO;
        };
        let vma = hole.vma();
        // In a uffd-wp VMA an unpopulated range carries no marker, so it was
        // zapped after being protected: written. hugetlb holes are not.
        let mut categories = self.vma_category;
        if vma.userfaultfd_wp() && !vma.is_hugetlb() {
            categories |= PAGE_IS_WRITTEN;
        }
        if !self.args.is_interesting_page(categories) {
            return GO;
        }
        let (addr, mut end) = (usize_as_u64(start), usize_as_u64(end));
        let ret = flow(self.out.output(categories, addr, &mut end));
        let Some(hole) = hole.protecting() else {
            return ret;
        };
        if addr == end {
            return ret;
        }
        // In a hugetlb VMA this protects the whole huge pages the range
        // touches, as C's pagemap_scan_hugetlb_hole_wp() does.
        hole.make_uffd_wp(start, u64_as_usize(end)).and(ret)
    }

    #[inline]
    fn hugetlb_entry(
        &mut self,
        entry: &mut HugetlbEntry<'_, M>,
        start: usize,
        end: usize,
    ) -> WalkResult {
        let (start, mut end) = (usize_as_u64(start), usize_as_u64(end));
        if !M::PROTECTING {
            // Not write-protecting: a snapshot of the entry is enough. (The
            // same as thp_view(), written out: calling it from here too
            // measured 0.7% more instructions on hugetlb, icount.)
            let info = if self.pte_read == PteRead::Presence {
                // The categories that depend on other bits are not of
                // interest (choose_pte_read()).
                entry.presence()
            } else {
                entry.get(self.wants_file()).info()
            };
            let Some(categories) = self.matching_huge(info) else {
                return GO;
            };
            return flow(self.out.output(categories, start, &mut end));
        }
        let file = self.wants_file();
        let psize = usize_as_u64(entry.vma().huge_page_size());
        entry.with_lock(|locked| {
            let Some(categories) = self.matching_huge(locked.get(file).info()) else {
                return GO;
            };
            let ret = flow(self.out.output(categories, start, &mut end));
            let Some(locked) = locked.protecting() else {
                return ret;
            };
            if start == end || categories & PAGE_IS_WRITTEN == 0 {
                return ret;
            }
            if end != start + psize {
                // A hugetlb page cannot be write-protected in part: take it
                // back and go on, leaving walk_end at this page like C.
                self.out.backout(start, end);
                self.out.walk_end = Some(start);
                self.hugetlb_backout = true;
                return GO;
            }
            locked.make_uffd_wp().and(ret)
        })
    }
}
