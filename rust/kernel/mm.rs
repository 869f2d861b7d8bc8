// SPDX-License-Identifier: GPL-2.0

//! Memory management: address spaces and their page tables.
//!
//! This is the subset a page table walk over a user address space needs:
//! the address space ([`Mm`]) with its user count and mmap read lock, VMAs
//! ([`virt::VmaRef`]), the page table walk itself ([`pagewalk`]), page table
//! entries and their locks ([`pgtable`], [`hugetlb`]) and the hook through
//! which a module serves the `PAGEMAP_SCAN` ioctl ([`pagemap_scan`]).
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::{bindings, prelude::*, types::Opaque};
use core::marker::PhantomData;

pub mod hugetlb;
pub mod pagemap_scan;
pub mod pagewalk;
pub mod pgtable;
pub mod virt;

/// The size of a base page.
pub const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// The size of the range one PMD entry maps.
pub const PMD_SIZE: usize = bindings::PMD_SIZE;

/// An address space, `struct mm_struct`.
///
/// A `&Mm` is only handed out while something keeps the `mm_struct`
/// allocated (`mmgrab()`), for example an open `/proc/PID/pagemap` file. That
/// does not keep the address space populated: use [`Mm::mmget_not_zero`] to
/// get a user reference before touching its VMAs or page tables.
///
/// # Invariants
///
/// The `mm_struct` is valid (its `mm_count` is non-zero) for the lifetime of
/// every reference to an `Mm`.
#[repr(transparent)]
pub struct Mm {
    mm: Opaque<bindings::mm_struct>,
}

impl Mm {
    /// Borrows an `Mm` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an `mm_struct` whose `mm_count` stays elevated for
    /// the lifetime `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::mm_struct) -> &'a Mm {
        // SAFETY: `Mm` is a transparent wrapper of `mm_struct`, and the
        // caller guarantees the pointee stays valid for `'a`.
        unsafe { &*ptr.cast::<Mm>() }
    }

    /// The raw pointer.
    ///
    /// A cast rather than `Opaque::get()`, whose shared instance the module
    /// would call out of line on every access.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::mm_struct {
        // `Self` and `Opaque<T>` are transparent wrappers of `T`, and
        // `Opaque` allows mutation through a shared reference.
        core::ptr::from_ref(self).cast_mut().cast()
    }

    /// Takes a user reference (`mm_users`) unless the address space already
    /// went away (the task exited).
    #[inline]
    pub fn mmget_not_zero(&self) -> Option<MmUser<'_>> {
        // SAFETY: `self.as_raw()` is valid by the type invariant.
        if unsafe { bindings::mmget_not_zero(self.as_raw()) } {
            // INVARIANT: we just took the user reference it releases.
            Some(MmUser { mm: self })
        } else {
            None
        }
    }
}

/// A user reference on an address space: its VMAs and page tables stay in
/// place until this is dropped (which calls `mmput()`).
///
/// # Invariants
///
/// The guard owns one `mm_users` reference on `mm`.
pub struct MmUser<'a> {
    mm: &'a Mm,
}

impl<'a> MmUser<'a> {
    /// Takes the mmap lock for reading; fails with `EINTR` when a fatal
    /// signal arrives while waiting.
    #[inline]
    pub fn mmap_read_lock_killable(&self) -> Result<MmapReadGuard<'_>> {
        // SAFETY: the mm is valid and has users by the type invariant.
        let ret = unsafe { bindings::mmap_read_lock_killable(self.mm.as_raw()) };
        // Tested here rather than by `to_result()`, which is not inlined
        // across crates: this runs once per walk.
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: the lock was just taken.
        Ok(MmapReadGuard {
            mm: self.mm,
            _not_send: PhantomData,
        })
    }
}

impl Drop for MmUser<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one user reference by the type invariant.
        unsafe { bindings::mmput(self.mm.as_raw()) };
    }
}

/// The mmap lock of an address space, held for reading.
///
/// VMAs found while this is held stay valid until it is dropped.
///
/// # Invariants
///
/// The current task holds `mm->mmap_lock` for reading, and `mm` has users.
pub struct MmapReadGuard<'a> {
    mm: &'a Mm,
    // `mmap_read_unlock()` must run on the task that locked.
    _not_send: PhantomData<*mut ()>,
}

impl<'a> MmapReadGuard<'a> {
    /// The address space.
    #[inline]
    pub fn mm(&self) -> &'a Mm {
        self.mm
    }

    /// Announces to MMU notifier subscribers (KVM, IOMMU, HMM) that the
    /// protection of `[start, end)` is about to change; the end of the
    /// change is announced when the returned guard is dropped. Crate
    /// private: a guard handed out could be leaked, leaving the range
    /// started forever; [`MmapReadGuard::walk_page_range_protecting`]
    /// scopes it to a walk.
    #[inline]
    pub(crate) fn protection_change(&self, start: usize, end: usize) -> MmuNotifierRange<'_> {
        let range = MmuNotifierRange {
            range: Opaque::uninit(),
            _lock: PhantomData,
        };
        // SAFETY: `range.range` is writable memory of the right type, and the
        // mm is valid with its mmap lock held (type invariant).
        unsafe {
            bindings::mmu_notifier_range_init_protection_vma(
                range.range.get(),
                self.mm.as_raw(),
                start,
                end,
            );
            bindings::mmu_notifier_invalidate_range_start(range.range.get());
        }
        // INVARIANT: initialised and started above.
        range
    }
}

impl Drop for MmapReadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the lock is held for reading by the type invariant.
        unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
    }
}

/// An MMU notifier invalidation of a range, started and not yet ended.
///
/// # Invariants
///
/// `range` was initialised and `mmu_notifier_invalidate_range_start()` was
/// called on it, under the mmap lock the lifetime refers to.
pub(crate) struct MmuNotifierRange<'a> {
    range: Opaque<bindings::mmu_notifier_range>,
    _lock: PhantomData<&'a MmapReadGuard<'a>>,
}

impl Drop for MmuNotifierRange<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: started and not yet ended, by the type invariant.
        unsafe { bindings::mmu_notifier_invalidate_range_end(self.range.get()) };
    }
}

/// Whether `[addr, addr + size)` is a range of user addresses
/// (`access_ok()`): it does not wrap and lies below the user address limit.
#[inline]
pub fn user_access_ok(addr: usize, size: usize) -> bool {
    // SAFETY: a pure computation on two integers.
    unsafe { bindings::access_ok(addr as _, size as _) }
}

/// `addr` without the tag bits of the current task's address space (LAM).
#[inline]
pub fn untagged_addr(addr: usize) -> usize {
    // SAFETY: a pure computation on the current task's untag mask.
    unsafe { bindings::untagged_addr(addr as _) as usize }
}

/// Whether the current task has a fatal signal pending.
#[inline]
pub fn fatal_signal_pending() -> bool {
    // SAFETY: reads the current task's signal state.
    unsafe { bindings::fatal_signal_pending_current() }
}
