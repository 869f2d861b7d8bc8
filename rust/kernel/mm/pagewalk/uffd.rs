// SPDX-License-Identifier: GPL-2.0

//! What a page table walk asks of a VMA beyond upstream's [`VmaRef`]: its
//! kind (PFN map, hugetlb, soft-dirty) and its userfaultfd registration,
//! write-protecting ranges with uffd-wp, and TLB flushes.
//!
//! C header: [`include/linux/userfaultfd_k.h`](srctree/include/linux/userfaultfd_k.h)

use crate::{
    bindings,
    error::Error,
    mm::virt::{flags, VmaRef},
    prelude::*,
};

impl VmaRef {
    /// Whether the VMA maps raw PFNs (`VM_PFNMAP`).
    #[inline]
    pub fn is_pfnmap(&self) -> bool {
        self.flags() & flags::PFNMAP != 0
    }

    /// Whether the whole VMA is soft-dirty (`VM_SOFTDIRTY`).
    #[inline]
    pub fn is_soft_dirty(&self) -> bool {
        self.flags() & flags::SOFTDIRTY != 0
    }

    /// Whether the VMA is a hugetlbfs mapping.
    #[inline]
    pub fn is_hugetlb(&self) -> bool {
        // SAFETY: the VMA is valid.
        unsafe { bindings::is_vm_hugetlb_page(self.as_ptr()) }
    }

    /// Whether the VMA is registered with userfaultfd in write-protect mode.
    #[inline]
    pub fn userfaultfd_wp(&self) -> bool {
        // SAFETY: the VMA is valid.
        unsafe { bindings::userfaultfd_wp(self.as_ptr()) }
    }

    /// Whether the VMA is registered with userfaultfd in read-write-protect
    /// mode (`VM_UFFD_RWP`; always false on trees without it).
    #[inline]
    pub fn userfaultfd_rwp(&self) -> bool {
        // SAFETY: the VMA is valid.
        unsafe { bindings::userfaultfd_rwp(self.as_ptr()) }
    }

    /// Whether the VMA is registered for asynchronous uffd write-protect
    /// and keeps the write-protection of unpopulated entries in pte markers:
    /// the condition under which a scan may write-protect pages.
    #[inline]
    pub fn userfaultfd_wp_async_with_markers(&self) -> bool {
        // SAFETY: the VMA is valid; the context is stable under the mmap lock.
        unsafe {
            bindings::userfaultfd_wp_async(self.as_ptr())
                && bindings::userfaultfd_wp_use_markers(self.as_ptr())
        }
    }

    /// The VMA as one registered with userfaultfd in write-protect mode
    /// that does not map raw PFNs, if it is one: what the write-protect
    /// methods need, checked once (a [`Protecting`] walk only descends into
    /// such VMAs).
    ///
    /// [`Protecting`]: crate::mm::pagewalk::Protecting
    #[inline]
    pub fn as_uffd_wp_vma(&self) -> Option<&VmaUffdWp> {
        if self.userfaultfd_wp() && !self.is_pfnmap() {
            // SAFETY: just checked.
            Some(unsafe { VmaUffdWp::from_vma_unchecked(self) })
        } else {
            None
        }
    }

    /// Flushes the TLB entries of `[start, end)` in this VMA's mm. Crate
    /// private: the flush sends IPIs, which must not be done with
    /// interrupts disabled, and only the page table guards that changed
    /// entries (with interrupts on) need it.
    #[inline]
    pub(crate) fn flush_tlb_range(&self, start: usize, end: usize) {
        // SAFETY: the VMA and its mm are valid for the borrow; a flush only
        // drops cached translations, of any range. (Not with interrupts
        // disabled: a rule of the lock discipline, kept by the callers, the
        // page table guards, which hold plain spinlocks.)
        unsafe { bindings::flush_tlb_range(self.as_ptr(), start as _, end as _) };
    }
}

/// A VMA registered with userfaultfd in write-protect mode (`VM_UFFD_WP`)
/// that does not map raw PFNs: one whose entries may be write-protected
/// for userfaultfd. Obtained with [`VmaRef::as_uffd_wp_vma`].
///
/// # Invariants
///
/// The VMA has `VM_UFFD_WP` and not `VM_PFNMAP`, for the borrow: these flags
/// only change with the mmap write lock held and the VMA write-locked
/// (`vm_flags_set()` and friends; the flags a VMA read lock alone may set
/// atomically are others), which the lock a [`VmaRef`] is borrowed under
/// (mmap or VMA read lock) excludes.
#[repr(transparent)]
pub struct VmaUffdWp {
    vma: VmaRef,
}

impl core::ops::Deref for VmaUffdWp {
    type Target = VmaRef;

    #[inline]
    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}

impl VmaUffdWp {
    /// The VMA as a [`VmaUffdWp`], without checking.
    ///
    /// # Safety
    ///
    /// The VMA is registered for uffd-wp and does not map raw PFNs.
    #[inline]
    pub(crate) unsafe fn from_vma_unchecked(vma: &VmaRef) -> &VmaUffdWp {
        // SAFETY: `VmaUffdWp` is a transparent wrapper of `VmaRef`; the
        // caller vouches for the type invariant.
        unsafe { &*(vma as *const VmaRef).cast::<VmaUffdWp>() }
    }

    /// Write-protects (or unprotects) `[start, start + len)` with uffd-wp,
    /// installing pte markers on unpopulated entries (`uffd_wp_range()`),
    /// which notifies MMU notifier subscribers itself.
    ///
    /// `EINVAL` unless the range is page aligned and lies inside this VMA,
    /// and for a hugetlb VMA, whose VMA lock C would take for writing:
    /// inside a walk of it, which holds that lock for reading, that
    /// deadlocks (a walk protects hugetlb holes with
    /// [`PteHole::make_uffd_wp`] instead).
    ///
    /// Crate private: called from inside a walk's closure, with the PTE
    /// table or huge PMD of the range locked, it would take that lock
    /// again. A walker reaches it through [`PteHole::make_uffd_wp`], where
    /// no page table lock is held.
    ///
    /// [`PteHole::make_uffd_wp`]: crate::mm::pagewalk::PteHole::make_uffd_wp
    ///
    /// # Safety
    ///
    /// The caller holds the mmap lock of the VMA's mm (a [`VmaRef`] may be
    /// borrowed under the VMA's own lock only, which `uffd_wp_range()`
    /// does not accept).
    #[inline]
    pub(crate) unsafe fn uffd_wp_range(
        &self,
        start: usize,
        len: usize,
        enable: bool,
    ) -> Result<usize> {
        let page_mask = crate::page::PAGE_SIZE - 1;
        if len == 0
            || (start | len) & page_mask != 0
            || start < self.start()
            || start.saturating_add(len) > self.end()
            || self.is_hugetlb()
        {
            return Err(EINVAL);
        }
        // SAFETY: the VMA is valid, its mmap lock is held (caller), it is
        // registered for uffd-wp (type invariant: C would warn otherwise),
        // and the range lies inside it (checked above).
        let ret = unsafe { bindings::uffd_wp_range(self.as_ptr(), start as _, len as _, enable) };
        if ret < 0 {
            Err(Error::from_errno(ret as i32))
        } else {
            Ok(ret as usize)
        }
    }
}
