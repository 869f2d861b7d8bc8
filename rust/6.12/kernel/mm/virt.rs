// SPDX-License-Identifier: GPL-2.0

//! Virtual memory (6.12 backport of the upstream `kernel::mm::virt` subset).
//!
//! [`VmaRef`] is a VMA borrowed while the mmap read lock (or stronger) is
//! held, with upstream's accessors; the walk abstractions add their own
//! methods to it in the common modules (`uffd`, `hugetlb`).
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::{bindings, mm::MmWithUser, types::Opaque};

/// A wrapper for the kernel's `struct vm_area_struct` with read access.
///
/// # Invariants
///
/// The caller must hold the mmap read lock or the vma read lock.
#[repr(transparent)]
pub struct VmaRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRef {
    /// Access a virtual memory area given a raw pointer.
    ///
    /// # Safety
    ///
    /// Callers must ensure that `vma` is valid for the duration of 'a, and
    /// that the mmap or vma read lock (or stronger) is held for at least the
    /// duration of 'a.
    #[inline]
    pub unsafe fn from_raw<'a>(vma: *const bindings::vm_area_struct) -> &'a Self {
        // SAFETY: The caller ensures that the invariants are satisfied for
        // the duration of 'a.
        unsafe { &*vma.cast() }
    }

    /// Returns a raw pointer to this area.
    ///
    /// A cast rather than `Opaque::get()`, which the module would call out
    /// of line on 6.12.
    #[inline]
    pub fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        // `Self` and `Opaque<T>` are transparent wrappers of `T`, and
        // `Opaque` allows mutation through a shared reference.
        core::ptr::from_ref(self).cast_mut().cast()
    }

    /// Access the underlying `mm_struct`.
    #[inline]
    pub fn mm(&self) -> &MmWithUser {
        // SAFETY: By the type invariants, this `vm_area_struct` is valid and
        // we hold the mmap/vma read lock or stronger. This implies that the
        // underlying mm has a non-zero value of `mm_users`.
        unsafe { MmWithUser::from_raw((*self.as_ptr()).vm_mm) }
    }

    /// Returns the flags associated with the virtual memory area.
    ///
    /// The possible flags are a combination of the constants in [`flags`].
    #[inline]
    pub fn flags(&self) -> vm_flags_t {
        // SAFETY: By the type invariants, the caller holds at least the mmap
        // read lock, so this access is not a data race.
        unsafe { bindings::vma_flags(self.as_ptr()) }
    }

    /// Returns the (inclusive) start address of the virtual memory area.
    #[inline]
    pub fn start(&self) -> usize {
        // SAFETY: By the type invariants, the caller holds at least the mmap
        // read lock, so this access is not a data race.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// Returns the (exclusive) end address of the virtual memory area.
    #[inline]
    pub fn end(&self) -> usize {
        // SAFETY: By the type invariants, the caller holds at least the mmap
        // read lock, so this access is not a data race.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }
}

/// The integer type used for vma flags.
#[doc(inline)]
pub use bindings::vm_flags_t;

/// The possible flags for [`VmaRef`] that the walk abstractions test.
pub mod flags {
    use super::vm_flags_t;
    use crate::bindings;

    /// Page-ranges managed without `struct page`, just pure PFN.
    pub const PFNMAP: vm_flags_t = bindings::VM_PFNMAP as vm_flags_t;

    /// This vma is for a hugetlb mapping.
    pub const HUGETLB: vm_flags_t = bindings::VM_HUGETLB as vm_flags_t;

    /// Not soft dirty clean area (zero without `CONFIG_MEM_SOFT_DIRTY`).
    pub const SOFTDIRTY: vm_flags_t = bindings::VM_SOFTDIRTY as vm_flags_t;
}
