// SPDX-License-Identifier: GPL-2.0

//! The crate items the walk abstractions and [`crate::pagemap_scan`] use
//! whose place or shape differs between the kernel trees, named once.
//!
//! This file is the current kernel's version. A tree that lacks or places
//! them elsewhere (Linux 6.12) gets its own copy of this file, with the
//! same items (`rust/6.12/kernel/mm/pagewalk/compat.rs` in the checkout),
//! in place of this one: code elsewhere never tests which tree it is on.

pub(crate) use crate::sync::aref::ARef;
pub(crate) use crate::transmute::{AsBytes, FromBytes};
pub(crate) use crate::types::NotThreadSafe;
use crate::uaccess::UserPtr;

/// A user pointer from an address.
#[inline]
pub(crate) fn user_ptr(addr: usize) -> UserPtr {
    UserPtr::from_addr(addr)
}
