// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/proc/pagemap_scan/logic.rs` against models of `fs/proc/task_mmu.c`.

mod backout;
mod categories;
mod output;
mod semantics;

use super::logic::{Args, RawArgs, Semantics, PM_SCAN_ARG_SIZE};

/// x86_64 `TASK_SIZE_MAX` with 4-level paging: the first address that
/// `access_ok()` refuses.
pub(crate) const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;

/// x86_64-like `access_ok(addr, size)`: the range must not wrap and must
/// end at or below `TASK_SIZE_MAX`.
pub(crate) fn access_ok(addr: u64, size: u64) -> bool {
    addr.checked_add(size).is_some_and(|e| e <= TASK_SIZE_MAX)
}

/// `untagged_addr()` of x86_64 without LAM: the identity.
pub(crate) fn untag_none(addr: u64) -> u64 {
    addr
}

/// `untagged_addr()` of arm64 (top byte ignore): sign-extend bit 55.
/// (Only the x86_64 instance has the validation tests that use it.)
#[allow(dead_code)]
pub(crate) fn untag_tbi(addr: u64) -> u64 {
    (((addr << 8) as i64) >> 8) as u64
}

/// Arguments that pass validation: 16 pages at 64 KiB, a 10-entry array.
pub(crate) fn good_raw() -> RawArgs {
    RawArgs {
        size: PM_SCAN_ARG_SIZE,
        flags: 0,
        start: 0x1_0000,
        end: 0x2_0000,
        walk_end: 0,
        vec: 0x4_0000,
        vec_len: 10,
        max_pages: 0,
        category_inverted: 0,
        category_mask: 0,
        category_anyof_mask: 0,
        return_mask: 0,
    }
}

/// Validated arguments with the given masks (not through `validate`).
pub(crate) fn args_with_masks(inverted: u64, mask: u64, anyof: u64, ret: u64) -> Args {
    Args {
        sem: Semantics::LINUX_6_12,
        flags: 0,
        start: 0,
        end: 0,
        vec: 0,
        vec_len: 0,
        max_pages: u64::MAX,
        category_inverted: inverted,
        category_mask: mask,
        category_anyof_mask: anyof,
        return_mask: ret,
    }
}
