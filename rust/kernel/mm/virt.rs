// SPDX-License-Identifier: GPL-2.0

//! Virtual memory areas.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::{bindings, error::Error, mm::Mm, prelude::*, types::Opaque};

/// The flags of a VMA (`vm_flags_t`).
pub type VmFlags = bindings::vm_flags_t;

/// `VM_PFNMAP`: raw PFNs without `struct page`, never touched by a walk.
pub const VM_PFNMAP: VmFlags = bindings::VM_PFNMAP as VmFlags;
/// `VM_SOFTDIRTY`: the whole VMA counts as soft-dirty (zero when
/// `CONFIG_MEM_SOFT_DIRTY` is off).
pub const VM_SOFTDIRTY: VmFlags = bindings::VM_SOFTDIRTY as VmFlags;

/// A VMA, borrowed while the mmap lock (or the page table walk holding it)
/// keeps it alive.
///
/// # Invariants
///
/// The `vm_area_struct` is valid and its `vm_mm` is valid for the lifetime
/// of every reference to a `VmaRef`; the mmap lock of its mm is held, at
/// least for reading.
#[repr(transparent)]
pub struct VmaRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRef {
    /// Borrows a `VmaRef` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid VMA whose mmap lock is held for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a VmaRef {
        // SAFETY: transparent wrapper; validity is the caller's promise.
        unsafe { &*ptr.cast::<VmaRef>() }
    }

    /// The raw pointer.
    ///
    /// A cast rather than `Opaque::get()`, whose shared instance the module
    /// would call out of line on every access.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::vm_area_struct {
        // `Self` and `Opaque<T>` are transparent wrappers of `T`, and
        // `Opaque` allows mutation through a shared reference.
        core::ptr::from_ref(self).cast_mut().cast()
    }

    /// The address space of the VMA.
    #[inline]
    pub fn mm(&self) -> &Mm {
        // SAFETY: `vm_mm` of a live VMA is a valid mm that outlives it.
        unsafe { Mm::from_raw((*self.as_raw()).vm_mm) }
    }

    /// The VMA flags.
    #[inline]
    pub fn flags(&self) -> VmFlags {
        // SAFETY: the VMA is valid; flags only change under the mmap write
        // lock, which cannot be held while we hold it for reading.
        unsafe { bindings::vma_flags(self.as_raw()) }
    }

    /// Whether the VMA maps raw PFNs (`VM_PFNMAP`).
    #[inline]
    pub fn is_pfnmap(&self) -> bool {
        self.flags() & VM_PFNMAP != 0
    }

    /// Whether the whole VMA is soft-dirty (`VM_SOFTDIRTY`).
    #[inline]
    pub fn is_soft_dirty(&self) -> bool {
        self.flags() & VM_SOFTDIRTY != 0
    }

    /// Whether the VMA is a hugetlbfs mapping.
    #[inline]
    pub fn is_hugetlb(&self) -> bool {
        // SAFETY: the VMA is valid.
        unsafe { bindings::is_vm_hugetlb_page(self.as_raw()) }
    }

    /// Whether the VMA is registered with userfaultfd in write-protect mode.
    #[inline]
    pub fn userfaultfd_wp(&self) -> bool {
        // SAFETY: the VMA is valid.
        unsafe { bindings::userfaultfd_wp(self.as_raw()) }
    }

    /// Whether the VMA is registered for asynchronous uffd write-protect
    /// and keeps the write-protection of unpopulated entries in pte markers:
    /// the condition under which a scan may write-protect pages.
    #[inline]
    pub fn userfaultfd_wp_async_with_markers(&self) -> bool {
        // SAFETY: the VMA is valid; the context is stable under the mmap lock.
        unsafe {
            bindings::userfaultfd_wp_async(self.as_raw())
                && bindings::userfaultfd_wp_use_markers(self.as_raw())
        }
    }

    /// Write-protects (or unprotects) `[start, start + len)` with uffd-wp,
    /// installing pte markers on unpopulated entries (`uffd_wp_range()`),
    /// which notifies MMU notifier subscribers itself.
    ///
    /// `EINVAL` unless the range is page aligned, lies inside this VMA and
    /// the VMA is registered for uffd-wp (C would warn), and for a hugetlb
    /// VMA, whose VMA lock C would take for writing: inside a walk of it,
    /// which holds that lock for reading, that deadlocks (a walk protects
    /// hugetlb holes with [`PteHole::make_uffd_wp`] instead). The mmap read
    /// lock is held by the type invariant.
    ///
    /// Crate private: called from inside a walk's closure, with the PTE
    /// table or huge PMD of the range locked, it would take that lock
    /// again. A walker reaches it through [`PteHole::make_uffd_wp`], where
    /// no page table lock is held.
    ///
    /// [`PteHole::make_uffd_wp`]: crate::mm::pagewalk::PteHole::make_uffd_wp
    #[inline]
    pub(crate) fn uffd_wp_range(&self, start: usize, len: usize, enable: bool) -> Result<usize> {
        let page_mask = crate::mm::PAGE_SIZE - 1;
        if len == 0
            || (start | len) & page_mask != 0
            || start < self.start()
            || start.saturating_add(len) > self.end()
            || !self.userfaultfd_wp()
            || self.is_hugetlb()
        {
            return Err(EINVAL);
        }
        // SAFETY: the VMA is valid, its mmap lock is held, and the range
        // lies inside it (checked above).
        let ret = unsafe { bindings::uffd_wp_range(self.as_raw(), start as _, len as _, enable) };
        if ret < 0 {
            Err(Error::from_errno(ret as i32))
        } else {
            Ok(ret as usize)
        }
    }

    /// The first address of the VMA.
    #[inline]
    pub fn start(&self) -> usize {
        // SAFETY: the VMA is valid and its bounds are stable under the lock.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// The end (exclusive) of the VMA.
    #[inline]
    pub fn end(&self) -> usize {
        // SAFETY: as in `start`.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// Flushes the TLB entries of `[start, end)` in this VMA's mm.
    #[inline]
    pub fn flush_tlb_range(&self, start: usize, end: usize) {
        // SAFETY: the VMA is valid; flushing any range is harmless.
        unsafe { bindings::flush_tlb_range(self.as_raw(), start as _, end as _) };
    }
}
