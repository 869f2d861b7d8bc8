// SPDX-License-Identifier: GPL-2.0

//! The crate items the walk abstractions and [`crate::pagemap_scan`] use
//! whose place or shape differs between the kernel trees, named once: the
//! Linux 6.12 version of `rust/kernel/mm/pagewalk/compat.rs`, copied over it
//! into the 6.12 tree only, with the same items.
//!
//! 6.12 keeps `ARef` and the byte-copy marker traits in `kernel::types`,
//! has no `NotThreadSafe` (the backport in `kernel::mm` stands for it) and
//! spells a user pointer as a plain `usize`.

// Each item is compiled where something uses it: an unused one would warn.
pub(crate) use crate::mm::NotThreadSafe;
#[cfg(CONFIG_KUNIT)]
pub(crate) use crate::types::ARef;
#[cfg(any(CONFIG_KUNIT, CONFIG_PROC_PAGE_MONITOR))]
pub(crate) use crate::types::{AsBytes, FromBytes};

/// A user pointer from an address.
#[cfg(any(CONFIG_KUNIT, CONFIG_PROC_PAGE_MONITOR))]
#[inline]
pub(crate) fn user_ptr(addr: usize) -> crate::uaccess::UserPtr {
    addr
}
