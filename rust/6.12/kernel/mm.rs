// SPDX-License-Identifier: GPL-2.0

//! Memory management (6.12 backport of the upstream `kernel::mm` subset).
//!
//! Linux 6.12 has no `kernel::mm`. This file carries the part of upstream's
//! `rust/kernel/mm.rs` (Linux 6.14 and later) that the page table walk
//! abstractions are written against, with upstream's names and shapes: the
//! address space [`Mm`], an address space with users [`MmWithUser`] (an
//! [`ARef<MmWithUser>`] owns a user reference) and the mmap read lock
//! [`MmapReadGuard`]. It is copied only into the 6.12 tree; on newer trees
//! the same modules hang off upstream's own `kernel::mm`.
//!
//! `virt` is 6.12's own (a backport too); `pagewalk` is common to every tree.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::{
    bindings,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};

pub mod pagewalk;
pub mod virt;

/// Marks a type as neither `Send` nor `Sync` (upstream's
/// `kernel::types::NotThreadSafe`, which 6.12 lacks).
#[allow(non_camel_case_types)]
pub(crate) type NotThreadSafe = PhantomData<*mut ()>;
/// The value of [`NotThreadSafe`].
#[allow(non_upper_case_globals)]
pub(crate) const NotThreadSafe: NotThreadSafe = PhantomData;

/// A wrapper for the kernel's `struct mm_struct`.
///
/// An `Mm` may have no users left (`mm_users` zero): its VMAs and page
/// tables may be gone. Use [`Mm::mmget_not_zero`] to get an [`MmWithUser`]
/// before touching them.
///
/// # Invariants
///
/// Values of this type are always refcounted using `mmgrab`.
#[repr(transparent)]
pub struct Mm {
    mm: Opaque<bindings::mm_struct>,
}

// SAFETY: It is safe to call `mmdrop` on another thread than where `mmgrab` was called.
unsafe impl Send for Mm {}
// SAFETY: All methods on `Mm` can be called in parallel from several threads.
unsafe impl Sync for Mm {}

// SAFETY: By the type invariants, this type is always refcounted.
unsafe impl AlwaysRefCounted for Mm {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The pointer is valid since self is a reference.
        unsafe { bindings::mmgrab(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller is giving up their refcount.
        unsafe { bindings::mmdrop(obj.cast().as_ptr()) };
    }
}

/// A wrapper for the kernel's `struct mm_struct` with a non-zero `mm_users`.
///
/// # Invariants
///
/// Values of this type are always refcounted using `mmget`. The value of
/// `mm_users` is non-zero.
#[repr(transparent)]
pub struct MmWithUser {
    mm: Mm,
}

// SAFETY: It is safe to call `mmput` on another thread than where `mmget` was called.
unsafe impl Send for MmWithUser {}
// SAFETY: All methods on `MmWithUser` can be called in parallel from several threads.
unsafe impl Sync for MmWithUser {}

// SAFETY: By the type invariants, this type is always refcounted.
unsafe impl AlwaysRefCounted for MmWithUser {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The pointer is valid since self is a reference.
        unsafe { bindings::mmget(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller is giving up their refcount.
        unsafe { bindings::mmput(obj.cast().as_ptr()) };
    }
}

// Make all `Mm` methods available on `MmWithUser`.
impl Deref for MmWithUser {
    type Target = Mm;

    #[inline]
    fn deref(&self) -> &Mm {
        &self.mm
    }
}

impl Mm {
    /// Returns a raw pointer to the inner `mm_struct`.
    ///
    /// A cast rather than `Opaque::get()`, which the module would call out
    /// of line on 6.12.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::mm_struct {
        // `Self` and `Opaque<T>` are transparent wrappers of `T`, and
        // `Opaque` allows mutation through a shared reference.
        core::ptr::from_ref(self).cast_mut().cast()
    }

    /// Obtain a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// The caller must ensure that `ptr` points at an `mm_struct`, and that
    /// it is not deallocated during the lifetime 'a.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::mm_struct) -> &'a Mm {
        // SAFETY: Caller promises that the pointer is valid for 'a. Layouts
        // are compatible due to repr(transparent).
        unsafe { &*ptr.cast() }
    }

    /// Calls `mmget_not_zero` and returns a handle if it succeeds.
    #[inline]
    pub fn mmget_not_zero(&self) -> Option<ARef<MmWithUser>> {
        // SAFETY: The pointer is valid since self is a reference.
        let success = unsafe { bindings::mmget_not_zero(self.as_raw()) };

        if success {
            // SAFETY: We just created an `mmget` refcount.
            Some(unsafe { ARef::from_raw(NonNull::new_unchecked(self.as_raw().cast())) })
        } else {
            None
        }
    }
}

impl MmWithUser {
    /// Obtain a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// The caller must ensure that `ptr` points at an `mm_struct`, and that
    /// `mm_users` remains non-zero for the duration of the lifetime 'a.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::mm_struct) -> &'a MmWithUser {
        // SAFETY: Caller promises that the pointer is valid for 'a. The
        // layout is compatible due to repr(transparent).
        unsafe { &*ptr.cast() }
    }
}

/// A guard for the mmap read lock.
///
/// # Invariants
///
/// This `MmapReadGuard` guard owns the mmap read lock.
pub struct MmapReadGuard<'a> {
    mm: &'a MmWithUser,
    // `mmap_read_lock` and `mmap_read_unlock` must be called on the same thread
    _nts: NotThreadSafe,
}

impl Drop for MmapReadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: We hold the read lock by the type invariants.
        unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
    }
}
