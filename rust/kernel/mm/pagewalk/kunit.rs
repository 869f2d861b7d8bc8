// SPDX-License-Identifier: GPL-2.0

//! KUnit support for the tests of the page table walk abstractions.
//!
//! A KUnit test (a doctest of this crate, say) runs in a kthread that has no
//! address space, so it has no page tables to walk. [`TestMapping`] maps
//! anonymous memory into the address space the running test gets from
//! `kunit_vm_mmap()`, and the closure walkers that
//! [`mm_test_walkers!`](crate::mm_test_walkers) declares in a test spare it
//! a walker type of its own. The address space goes away with the test's
//! kthread.
//!
//! Used by the doctests that check the run-time refusals (`EINVAL`, `EPERM`)
//! of [`PmdEntry`], [`PteHole`], [`PteTable`], [`PmdHugeLock`] and
//! [`HugetlbLock`].
//!
//! [`PmdEntry`]: crate::mm::pagewalk::PmdEntry
//! [`PteHole`]: crate::mm::pagewalk::PteHole
//! [`PteTable`]: crate::mm::pagewalk::pgtable::PteTable
//! [`PmdHugeLock`]: crate::mm::pagewalk::pgtable::PmdHugeLock
//! [`HugetlbLock`]: crate::mm::pagewalk::hugetlb::HugetlbLock
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h)

use crate::{
    bindings,
    error::Error,
    mm::{
        pagewalk::compat::{user_ptr, ARef},
        MmWithUser,
    },
    prelude::*,
    uaccess::UserSlice,
};
use core::ptr::NonNull;

use super::PMD_SIZE;

/// What backs a [`TestMapping`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backing {
    /// Small pages (or transparent huge pages, where the kernel's THP
    /// setting and the alignment allow them).
    Pages,
    /// hugetlb pages of the PMD size ([`PMD_SIZE`]: 2 MiB with 4 KiB pages,
    /// 512 MiB with arm64's 64 KiB pages).
    HugetlbPmd,
    /// hugetlb pages of the PUD size ([`pud_size()`]: 1 GiB with 4 KiB
    /// pages). arm64 with 64 KiB pages and 48-bit addresses has no such
    /// page (three levels): see [`Backing::free_pages`].
    HugetlbPud,
    /// hugetlb pages of `1 << shift` bytes: any size the architecture
    /// has, arm64's contiguous-PTE and contiguous-PMD sizes among them (a
    /// size it has not, or a shift past the word, maps nothing: `EINVAL`).
    Hugetlb(u32),
}

/// The bytes a PUD entry maps: 1 GiB with 4 KiB pages; with a folded PUD
/// level (arm64's 64 KiB pages, three levels) what a PGD entry maps.
#[inline]
pub fn pud_size() -> usize {
    // SAFETY: no precondition: returns a constant.
    unsafe { bindings::kunit_pud_size() }
}

impl Backing {
    /// log2 of the hugetlb page size; 0 for small pages.
    fn huge_shift(self) -> u32 {
        match self {
            Backing::Pages => 0,
            Backing::HugetlbPmd => PMD_SIZE.trailing_zeros(),
            Backing::HugetlbPud => pud_size().trailing_zeros(),
            Backing::Hugetlb(shift) => shift,
        }
    }

    /// The bytes of one page of this backing; `None` for a shift past
    /// the word.
    pub fn page_size(self) -> Option<usize> {
        match self {
            Backing::Pages => Some(crate::page::PAGE_SIZE),
            _ => 1usize.checked_shl(self.huge_shift()),
        }
    }

    /// The free hugetlb pages of this size, `None` where the kernel has no
    /// hugetlb size of it (no hstate: the architecture does not have it);
    /// `None` for [`Backing::Pages`].
    pub fn free_pages(self) -> Option<usize> {
        let shift = self.huge_shift();
        if shift == 0 {
            return None;
        }
        // SAFETY: no precondition: the helper refuses a shift past the
        // word, and reads the counters of the hstate of that size, if there
        // is one.
        let free = unsafe { bindings::kunit_hugetlb_free(shift) };
        usize::try_from(free).ok()
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
    /// `EINVAL` outside a KUnit test or for a hugetlb size the kernel has
    /// not; the errors of `vm_mmap()` (`ENOMEM` when no hugetlb page is
    /// free, for example).
    pub fn new(len: usize, backing: Backing, populate: bool) -> Result<Self> {
        let mut mm: *mut bindings::mm_struct = core::ptr::null_mut();
        let shift = backing.huge_shift();
        // SAFETY: `mm` is valid to write; the helper checks that a KUnit
        // test runs and refuses a shift past the word.
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

/// Declares the closure walkers `PmdWalker`, `HoleWalker` and
/// `HugetlbWalker` in the calling scope, so that their vtables belong to
/// the calling crate (a doctest's or a module's), never to a stand-in
/// owner: on trees whose `#[vtable]` asks for an owning module, the one the
/// caller's crate has (`crate::LocalModule`) is taken.
///
/// - `PmdWalker::new(f)`: only a `pmd_entry` callback, `f(pmd, start, end)`;
/// - `HoleWalker::new(f)`: `f(start, end, hole)` for each hole (with a
///   `pmd_entry` callback that does nothing: a walk without one does not
///   descend the page tables of a VMA, so it reports no hole below the top
///   level, which on x86-64 always "exists");
/// - `HugetlbWalker::new(f, h)`: `f(entry, start, end)` for each hugetlb
///   entry, `h` for each hole (a walk reports the holes of a hugetlb VMA
///   only to a walker with a `hugetlb_entry` callback).
///
/// `new` makes a [`ReadOnly`] walker, `protecting` (same arguments) a
/// [`Protecting`] one. The closures return `Result`: the walkers never stop
/// a walk but with an error.
///
/// [`ReadOnly`]: crate::mm::pagewalk::ReadOnly
/// [`Protecting`]: crate::mm::pagewalk::Protecting
#[macro_export]
macro_rules! mm_test_walkers {
    () => {
        #[allow(dead_code)]
        struct PmdWalker<F, M>(F, ::core::marker::PhantomData<M>);

        #[allow(dead_code)]
        impl<F> PmdWalker<F, $crate::mm::pagewalk::ReadOnly>
        where
            F: FnMut(
                &mut $crate::mm::pagewalk::PmdEntry<'_, $crate::mm::pagewalk::ReadOnly>,
                usize,
                usize,
            ) -> $crate::error::Result,
        {
            fn new(f: F) -> Self {
                PmdWalker(f, ::core::marker::PhantomData)
            }
        }

        #[allow(dead_code)]
        impl<F> PmdWalker<F, $crate::mm::pagewalk::Protecting>
        where
            F: FnMut(
                &mut $crate::mm::pagewalk::PmdEntry<'_, $crate::mm::pagewalk::Protecting>,
                usize,
                usize,
            ) -> $crate::error::Result,
        {
            fn protecting(f: F) -> Self {
                PmdWalker(f, ::core::marker::PhantomData)
            }
        }

        #[$crate::prelude::vtable]
        impl<F, M> $crate::mm::pagewalk::PageWalk for PmdWalker<F, M>
        where
            M: $crate::mm::pagewalk::WalkMode,
            F: FnMut(&mut $crate::mm::pagewalk::PmdEntry<'_, M>, usize, usize) -> $crate::error::Result,
        {
            type Mode = M;

            fn pmd_entry(
                &mut self,
                pmd: &mut $crate::mm::pagewalk::PmdEntry<'_, M>,
                start: usize,
                end: usize,
            ) -> $crate::mm::pagewalk::WalkResult {
                (self.0)(pmd, start, end).map(::core::ops::ControlFlow::Continue)
            }
        }

        #[allow(dead_code)]
        struct HoleWalker<F, M>(F, ::core::marker::PhantomData<M>);

        #[allow(dead_code)]
        impl<F> HoleWalker<F, $crate::mm::pagewalk::ReadOnly>
        where
            F: FnMut(
                usize,
                usize,
                Option<&$crate::mm::pagewalk::PteHole<'_, $crate::mm::pagewalk::ReadOnly>>,
            ) -> $crate::error::Result,
        {
            fn new(f: F) -> Self {
                HoleWalker(f, ::core::marker::PhantomData)
            }
        }

        #[allow(dead_code)]
        impl<F> HoleWalker<F, $crate::mm::pagewalk::Protecting>
        where
            F: FnMut(
                usize,
                usize,
                Option<&$crate::mm::pagewalk::PteHole<'_, $crate::mm::pagewalk::Protecting>>,
            ) -> $crate::error::Result,
        {
            fn protecting(f: F) -> Self {
                HoleWalker(f, ::core::marker::PhantomData)
            }
        }

        #[$crate::prelude::vtable]
        impl<F, M> $crate::mm::pagewalk::PageWalk for HoleWalker<F, M>
        where
            M: $crate::mm::pagewalk::WalkMode,
            F: FnMut(
                usize,
                usize,
                Option<&$crate::mm::pagewalk::PteHole<'_, M>>,
            ) -> $crate::error::Result,
        {
            type Mode = M;

            fn pmd_entry(
                &mut self,
                _pmd: &mut $crate::mm::pagewalk::PmdEntry<'_, M>,
                _start: usize,
                _end: usize,
            ) -> $crate::mm::pagewalk::WalkResult {
                Ok(::core::ops::ControlFlow::Continue(()))
            }

            fn pte_hole(
                &mut self,
                start: usize,
                end: usize,
                hole: Option<&$crate::mm::pagewalk::PteHole<'_, M>>,
            ) -> $crate::mm::pagewalk::WalkResult {
                (self.0)(start, end, hole).map(::core::ops::ControlFlow::Continue)
            }
        }

        #[allow(dead_code)]
        struct HugetlbWalker<F, H, M>(F, H, ::core::marker::PhantomData<M>);

        #[allow(dead_code)]
        impl<F, H> HugetlbWalker<F, H, $crate::mm::pagewalk::ReadOnly>
        where
            F: FnMut(
                &mut $crate::mm::pagewalk::hugetlb::HugetlbEntry<
                    '_,
                    $crate::mm::pagewalk::ReadOnly,
                >,
                usize,
                usize,
            ) -> $crate::error::Result,
            H: FnMut(
                usize,
                usize,
                Option<&$crate::mm::pagewalk::PteHole<'_, $crate::mm::pagewalk::ReadOnly>>,
            ) -> $crate::error::Result,
        {
            fn new(f: F, h: H) -> Self {
                HugetlbWalker(f, h, ::core::marker::PhantomData)
            }
        }

        #[allow(dead_code)]
        impl<F, H> HugetlbWalker<F, H, $crate::mm::pagewalk::Protecting>
        where
            F: FnMut(
                &mut $crate::mm::pagewalk::hugetlb::HugetlbEntry<
                    '_,
                    $crate::mm::pagewalk::Protecting,
                >,
                usize,
                usize,
            ) -> $crate::error::Result,
            H: FnMut(
                usize,
                usize,
                Option<&$crate::mm::pagewalk::PteHole<'_, $crate::mm::pagewalk::Protecting>>,
            ) -> $crate::error::Result,
        {
            fn protecting(f: F, h: H) -> Self {
                HugetlbWalker(f, h, ::core::marker::PhantomData)
            }
        }

        #[$crate::prelude::vtable]
        impl<F, H, M> $crate::mm::pagewalk::PageWalk for HugetlbWalker<F, H, M>
        where
            M: $crate::mm::pagewalk::WalkMode,
            F: FnMut(
                &mut $crate::mm::pagewalk::hugetlb::HugetlbEntry<'_, M>,
                usize,
                usize,
            ) -> $crate::error::Result,
            H: FnMut(
                usize,
                usize,
                Option<&$crate::mm::pagewalk::PteHole<'_, M>>,
            ) -> $crate::error::Result,
        {
            type Mode = M;

            fn hugetlb_entry(
                &mut self,
                entry: &mut $crate::mm::pagewalk::hugetlb::HugetlbEntry<'_, M>,
                start: usize,
                end: usize,
            ) -> $crate::mm::pagewalk::WalkResult {
                (self.0)(entry, start, end).map(::core::ops::ControlFlow::Continue)
            }

            fn pte_hole(
                &mut self,
                start: usize,
                end: usize,
                hole: Option<&$crate::mm::pagewalk::PteHole<'_, M>>,
            ) -> $crate::mm::pagewalk::WalkResult {
                (self.1)(start, end, hole).map(::core::ops::ControlFlow::Continue)
            }
        }
    };
}
