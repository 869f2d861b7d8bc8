// SPDX-License-Identifier: GPL-2.0

//! The crate items the walk abstractions and [`crate::pagemap_scan`] use
//! whose place or shape differs between the kernel trees, named once: the
//! Linux 6.12 version of `rust/kernel/mm/pagewalk/compat.rs`, copied over it
//! into the 6.12 tree only, with the same items.
//!
//! 6.12 keeps `ARef` and the byte-copy marker traits in `kernel::types`,
//! has no `NotThreadSafe` (the backport in `kernel::mm` stands for it) and
//! spells a user pointer as a plain `usize`.

pub(crate) use crate::mm::NotThreadSafe;
pub(crate) use crate::types::{ARef, AsBytes, FromBytes};
use crate::uaccess::UserPtr;

/// A user pointer from an address.
#[inline]
pub(crate) fn user_ptr(addr: usize) -> UserPtr {
    addr
}
