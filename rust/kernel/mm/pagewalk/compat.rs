// SPDX-License-Identifier: GPL-2.0

//! The crate items the walk abstractions and [`crate::pagemap_scan`] use
//! whose place or shape differs between the kernel trees, named once.
//!
//! This file is the current kernel's version. A tree that lacks or places
//! them elsewhere (Linux 6.12) gets its own copy of this file, with the
//! same items (`rust/6.12/kernel/mm/pagewalk/compat.rs` in the checkout),
//! in place of this one: code elsewhere never tests which tree it is on.

// Each item is compiled where something uses it: an unused one would warn.
#[cfg(CONFIG_KUNIT)]
pub(crate) use crate::sync::aref::ARef;
#[cfg(any(CONFIG_KUNIT, CONFIG_PROC_PAGE_MONITOR))]
pub(crate) use crate::transmute::{AsBytes, FromBytes};
pub(crate) use crate::types::NotThreadSafe;

/// A user pointer from an address.
#[cfg(any(CONFIG_KUNIT, CONFIG_PROC_PAGE_MONITOR))]
#[inline]
pub(crate) fn user_ptr(addr: usize) -> crate::uaccess::UserPtr {
    crate::uaccess::UserPtr::from_addr(addr)
}
