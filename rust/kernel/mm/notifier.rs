// SPDX-License-Identifier: GPL-2.0

//! MMU notifiers: telling secondary MMUs (KVM, IOMMU, HMM) that the
//! protection of a range changes.
//!
//! C header: [`include/linux/mmu_notifier.h`](srctree/include/linux/mmu_notifier.h)

use crate::{bindings, mm::MmapReadGuard, types::Opaque};
use core::marker::PhantomData;

impl MmapReadGuard<'_> {
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
