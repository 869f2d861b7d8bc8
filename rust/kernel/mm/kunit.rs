// SPDX-License-Identifier: GPL-2.0

//! KUnit support for the tests of the page table walk abstractions.
//!
//! A KUnit test (a doctest of this crate, say) runs in a kthread that has no
//! address space, so it has no page tables to walk. [`TestMapping`] maps
//! anonymous memory into the address space the running test gets from
//! `kunit_vm_mmap()`, and the closure walkers ([`PmdWalker`],
//! [`HoleWalker`], [`HugetlbWalker`]) spare each test a walker type of its
//! own. The address space goes away with the test's kthread.
//!
//! Used by the doctests that check the run-time refusals (`EINVAL`, `EPERM`)
//! of [`PmdEntry`], [`PteHole`], [`PteTable`], [`PmdHugeLock`] and
//! [`HugetlbLock`].
//!
//! [`PteTable`]: crate::mm::pgtable::PteTable
//! [`PmdHugeLock`]: crate::mm::pgtable::PmdHugeLock
//! [`HugetlbLock`]: crate::mm::hugetlb::HugetlbLock
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h)

use crate::{
    bindings,
    error::Error,
    mm::{
        hugetlb::HugetlbEntry,
        pagemap_scan::user_ptr,
        pagewalk::{PageWalk, PmdEntry, PteHole},
        MmWithUser,
    },
    prelude::*,
    uaccess::UserSlice,
};
use core::ptr::NonNull;

// Where `ARef` lives differs between the trees.
#[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
use crate::sync::aref::ARef;
#[cfg(not(CONFIG_PAGEMAP_SCAN_GUARD_RWP))]
use crate::types::ARef;

/// What backs a [`TestMapping`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backing {
    /// Small pages (or transparent huge pages, where the kernel's THP
    /// setting and the alignment allow them).
    Pages,
    /// hugetlb pages of 2 MiB.
    Hugetlb2M,
    /// hugetlb pages of 1 GiB.
    Hugetlb1G,
}

impl Backing {
    /// log2 of the hugetlb page size; 0 for small pages.
    fn huge_shift(self) -> u32 {
        match self {
            Backing::Pages => 0,
            Backing::Hugetlb2M => 21,
            Backing::Hugetlb1G => 30,
        }
    }
}

/// Private anonymous read-write memory in the address space of the running
/// KUnit test, with a user reference on that address space.
///
/// The mapping is never unmapped before the test ends (KUnit tears the
/// address space down with the test's kthread), so its range stays valid
/// for the test.
///
/// # Invariants
///
/// `[start, start + len)` was mapped into `mm`, the address space of the
/// current task (a KUnit test's kthread), and is page aligned.
pub struct TestMapping {
    mm: ARef<MmWithUser>,
    start: usize,
    len: usize,
}

impl TestMapping {
    /// Maps `len` bytes (a multiple of the page size of `backing`) for the
    /// running KUnit test; with `populate`, every page is faulted in for
    /// writing at once (`MAP_POPULATE`). Without it, hugetlb memory is not
    /// reserved either (`MAP_NORESERVE`): a test that only walks its holes
    /// needs no free huge page (the guest has no 1 GiB page to spare).
    ///
    /// `EINVAL` outside a KUnit test; the errors of `vm_mmap()` (`ENOMEM`
    /// when no hugetlb page is free, for example).
    pub fn new(len: usize, backing: Backing, populate: bool) -> Result<Self> {
        let mut mm: *mut bindings::mm_struct = core::ptr::null_mut();
        let shift = backing.huge_shift();
        // SAFETY: `mm` is valid to write; the helper checks that a KUnit
        // test runs.
        let ret = unsafe { bindings::kunit_mmap_anon(len as _, shift, populate, &mut mm) };
        if ret < 0 {
            // Said here: a test failing for want of memory (hugetlb pages
            // not reserved at boot, say) is not a failure of what it tests.
            pr_warn!("TestMapping: cannot map {len:#x} bytes of {backing:?}: errno {ret}\n");
            return Err(Error::from_errno(ret as i32));
        }
        let Some(mm) = NonNull::new(mm.cast::<MmWithUser>()) else {
            pr_warn!("TestMapping: the test has no address space\n");
            return Err(EINVAL);
        };
        // SAFETY: the helper took a user reference on the address space
        // for us (`mmget()`), which the `ARef` now owns.
        let mm = unsafe { ARef::from_raw(mm) };
        // INVARIANT: `vm_mmap()` returned a page aligned range of the
        // current task's address space.
        Ok(TestMapping {
            mm,
            start: ret as usize,
            len,
        })
    }

    /// The address space.
    #[inline]
    pub fn mm(&self) -> &MmWithUser {
        &self.mm
    }

    /// The first address.
    #[inline]
    pub fn start(&self) -> usize {
        self.start
    }

    /// The end address (exclusive).
    #[inline]
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    /// Registers the VMA of the mapping for userfaultfd write-protection,
    /// without a userfaultfd context: the write-protect methods then act on
    /// it, and a write to a protected page fails (`SIGBUS` from the fault,
    /// [`TestMapping::write`] returns `EFAULT`) instead of waiting for a
    /// handler.
    pub fn register_uffd_wp(&self) -> Result {
        // SAFETY: the mapping is in the current task's address space (type
        // invariant), a KUnit test's private one, which the helper checks
        // again; the flag only changes how faults on the VMA are handled.
        crate::error::to_result(unsafe { bindings::kunit_mark_uffd_wp(self.start as _) })
    }

    /// Writes `byte` to the user address `addr` (`copy_to_user()`): `EFAULT`
    /// if the page cannot be written, e.g. because it is write-protected in
    /// a VMA registered by [`TestMapping::register_uffd_wp`].
    pub fn write(&self, addr: usize, byte: u8) -> Result {
        UserSlice::new(user_ptr(addr), 1)
            .writer()
            .write_slice(&[byte])
    }
}

/// The owner of the closure walkers' vtables: the kernel itself, as for the
/// crate's other `#[vtable]` implementations, but public, since the walkers
/// are (newer trees ask every `#[vtable]` implementation for one).
#[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
pub struct KernelCrate;

#[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
impl crate::ModuleMetadata for KernelCrate {
    const NAME: &'static crate::str::CStr = c"rust_kernel";

    const THIS_MODULE: crate::ThisModule = {
        // SAFETY: a null module pointer stands for the built-in kernel;
        // `try_module_get()` and `module_put()` accept it.
        unsafe { crate::ThisModule::from_ptr(core::ptr::null_mut()) }
    };
}

/// A walker that only has a `pmd_entry` callback: `f`.
pub struct PmdWalker<F>(F);

impl<F: FnMut(&mut PmdEntry<'_>, usize, usize) -> Result> PmdWalker<F> {
    /// The walker calling `f` for each PMD.
    #[inline]
    pub fn new(f: F) -> Self {
        PmdWalker(f)
    }
}

#[vtable]
impl<F: FnMut(&mut PmdEntry<'_>, usize, usize) -> Result> PageWalk for PmdWalker<F> {
    #[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
    type OwnerModule = KernelCrate;

    fn pmd_entry(&mut self, pmd: &mut PmdEntry<'_>, start: usize, end: usize) -> Result {
        (self.0)(pmd, start, end)
    }
}

/// A walker that calls `f` for each hole. (It has a `pmd_entry` callback
/// too, doing nothing: a walk without one does not descend the page tables
/// of a VMA, so it reports no hole below the top level, which on x86-64
/// always "exists".)
pub struct HoleWalker<F>(F);

impl<F: FnMut(usize, usize, Option<&PteHole<'_>>) -> Result> HoleWalker<F> {
    /// The walker calling `f` for each hole.
    #[inline]
    pub fn new(f: F) -> Self {
        HoleWalker(f)
    }
}

#[vtable]
impl<F: FnMut(usize, usize, Option<&PteHole<'_>>) -> Result> PageWalk for HoleWalker<F> {
    #[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
    type OwnerModule = KernelCrate;

    fn pmd_entry(&mut self, _pmd: &mut PmdEntry<'_>, _start: usize, _end: usize) -> Result {
        Ok(())
    }

    fn pte_hole(&mut self, start: usize, end: usize, hole: Option<&PteHole<'_>>) -> Result {
        (self.0)(start, end, hole)
    }
}

/// A walker of hugetlb VMAs: `f` for each hugetlb entry, `h` for each hole
/// (a walk only reports the holes of a hugetlb VMA to a walker that has a
/// `hugetlb_entry` callback).
pub struct HugetlbWalker<F, H>(F, H);

impl<F, H> HugetlbWalker<F, H>
where
    F: FnMut(&mut HugetlbEntry<'_>, usize, usize) -> Result,
    H: FnMut(usize, usize, Option<&PteHole<'_>>) -> Result,
{
    /// The walker calling `f` for each hugetlb entry and `h` for each hole.
    #[inline]
    pub fn new(f: F, h: H) -> Self {
        HugetlbWalker(f, h)
    }
}

#[vtable]
impl<F, H> PageWalk for HugetlbWalker<F, H>
where
    F: FnMut(&mut HugetlbEntry<'_>, usize, usize) -> Result,
    H: FnMut(usize, usize, Option<&PteHole<'_>>) -> Result,
{
    #[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
    type OwnerModule = KernelCrate;

    fn hugetlb_entry(&mut self, entry: &mut HugetlbEntry<'_>, start: usize, end: usize) -> Result {
        (self.0)(entry, start, end)
    }

    fn pte_hole(&mut self, start: usize, end: usize, hole: Option<&PteHole<'_>>) -> Result {
        (self.1)(start, end, hole)
    }
}
