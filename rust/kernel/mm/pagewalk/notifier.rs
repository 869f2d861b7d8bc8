// SPDX-License-Identifier: GPL-2.0

//! MMU notifiers: telling secondary MMUs (KVM, IOMMU, HMM) that the
//! protection of a range changes.
//!
//! C header: [`include/linux/mmu_notifier.h`](srctree/include/linux/mmu_notifier.h)

use crate::{bindings, mm::virt::VmaRef, mm::MmapReadGuard, types::Opaque};
use core::marker::PhantomData;

impl MmapReadGuard<'_> {
    /// Announces to MMU notifier subscribers (KVM, IOMMU, HMM) that the
    /// protection of `[start, end)` is about to change; the end of the
    /// change is announced when the returned guard is dropped. Crate
    /// private: a guard handed out could be leaked, leaving the range
    /// started forever; a protecting [`MmapReadGuard::walk_page_range`]
    /// scopes it to a walk.
    #[inline]
    pub(crate) fn protection_change(&self, start: usize, end: usize) -> MmuNotifierRange<'_> {
        // SAFETY: the mm is valid with its mmap lock held for the borrow of
        // the guard (type invariant).
        unsafe { MmuNotifierRange::start(self.mm.as_raw(), start, end) }
    }
}

impl<'a> MmuNotifierRange<'a> {
    /// Announces that the protection of `[start, end)` of the VMA's mm is
    /// about to change, until the returned guard is dropped.
    ///
    /// # Safety
    ///
    /// The caller holds the mmap lock of the VMA's mm for `'a`.
    #[inline]
    pub(crate) unsafe fn protection(vma: &'a VmaRef, start: usize, end: usize) -> Self {
        // SAFETY: the VMA is valid for `'a`, so is its mm, whose mmap lock
        // the caller holds.
        unsafe { Self::start((*vma.as_ptr()).vm_mm, start, end) }
    }

    /// # Safety
    ///
    /// `mm` is valid and its mmap lock held for `'a`.
    #[inline]
    unsafe fn start(mm: *mut bindings::mm_struct, start: usize, end: usize) -> Self {
        let range = MmuNotifierRange {
            range: Opaque::uninit(),
            _lock: PhantomData,
        };
        // SAFETY: `range.range` is writable memory of the right type, and the
        // mm is valid with its mmap lock held (caller).
        unsafe {
            bindings::mmu_notifier_range_init_protection_vma(range.range.get(), mm, start, end);
            bindings::mmu_notifier_invalidate_range_start(range.range.get());
        }
        // INVARIANT: initialised and started above.
        range
    }
}

/// An MMU notifier invalidation of a range, started and not yet ended.
///
/// # Invariants
///
/// `range` was initialised and `mmu_notifier_invalidate_range_start()` was
/// called on it, under the mmap lock held for `'a`.
pub(crate) struct MmuNotifierRange<'a> {
    range: Opaque<bindings::mmu_notifier_range>,
    _lock: PhantomData<&'a ()>,
}

impl Drop for MmuNotifierRange<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: started and not yet ended, by the type invariant.
        unsafe { bindings::mmu_notifier_invalidate_range_end(self.range.get()) };
    }
}
