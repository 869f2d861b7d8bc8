// SPDX-License-Identifier: GPL-2.0

//! Validation where `size_t` (and `unsigned long`) is 32 bits wide.

use super::logic::{validate, ArgError::Inval as EINVAL, Semantics, PAGE_REGION_SIZE};
use super::tests::{good_raw, untag_none};
use super::SIZE_MAX;
use core::cell::RefCell;

/// An array longer than `SIZE_MAX` entries cannot be addressed: `EINVAL`,
/// after the `vec` NULL check and before `access_ok()` of the array.
#[test]
fn vec_len_above_size_max_is_einval() {
    for vec_len in [SIZE_MAX + 1, 1 << 40, u64::MAX] {
        let mut raw = good_raw();
        raw.vec_len = vec_len;
        let calls = RefCell::new(0);
        let r = validate(
            &raw,
            Semantics::LINUX_6_12,
            |_, _| {
                *calls.borrow_mut() += 1;
                true
            },
            untag_none,
        );
        assert_eq!(r, Err(EINVAL), "vec_len {vec_len:#x}");
        // Only the range was checked, not the array.
        assert_eq!(*calls.borrow(), 1);
    }
}

/// Up to `SIZE_MAX` entries go on to `access_ok()`, with the size
/// saturated at `SIZE_MAX` like `size_mul()`.
#[test]
fn array_size_saturates_at_size_max() {
    for (vec_len, size) in [
        (10, 10 * PAGE_REGION_SIZE),
        (
            SIZE_MAX / PAGE_REGION_SIZE,
            SIZE_MAX / PAGE_REGION_SIZE * PAGE_REGION_SIZE,
        ),
        (SIZE_MAX / PAGE_REGION_SIZE + 1, SIZE_MAX),
        (SIZE_MAX, SIZE_MAX),
    ] {
        let mut raw = good_raw();
        raw.vec_len = vec_len;
        let seen = RefCell::new(Vec::new());
        let r = validate(
            &raw,
            Semantics::LINUX_6_12,
            |a, s| {
                seen.borrow_mut().push((a, s));
                true
            },
            untag_none,
        );
        assert!(r.is_ok(), "vec_len {vec_len:#x}");
        assert_eq!(seen.borrow()[1], (raw.vec, size), "vec_len {vec_len:#x}");
    }
}

/// `max_pages` 0 means `ULONG_MAX`, 32 bits here.
#[test]
fn max_pages_default_is_ulong_max() {
    let args = validate(&good_raw(), Semantics::LINUX_6_12, |_, _| true, untag_none).unwrap();
    assert_eq!(args.max_pages, SIZE_MAX);
    assert_eq!(SIZE_MAX, u64::from(u32::MAX));
}
