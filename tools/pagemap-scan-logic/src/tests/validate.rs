// SPDX-License-Identifier: GPL-2.0

//! `validate()` against `pagemap_scan_get_args()`.

use super::logic::{
    validate, ArgError,
    ArgError::{Fault as EFAULT, Inval as EINVAL},
    Args, RawArgs, Semantics, PM_SCAN_ARG_SIZE,
};
use super::tests::{access_ok, good_raw, untag_none, untag_tbi, TASK_SIZE_MAX};
use core::cell::RefCell;
use proptest::prelude::*;

fn check(raw: &RawArgs) -> Result<Args, ArgError> {
    validate(raw, Semantics::LINUX_6_12, access_ok, untag_none)
}

/// One row: a change to `good_raw()` and the expected errno.
struct Row {
    name: &'static str,
    edit: fn(&mut RawArgs),
    errno: ArgError,
}

#[test]
fn good_args_pass() {
    let args = check(&good_raw()).unwrap();
    assert_eq!(args.start, 0x1_0000);
    assert_eq!(args.end, 0x2_0000);
    assert_eq!(args.vec, 0x4_0000);
    assert_eq!(args.vec_len, 10);
    assert_eq!(args.max_pages, u64::MAX);
    assert_eq!(args.flags, 0);
}

#[test]
fn errno_table() {
    #[rustfmt::skip]
    let rows = [
        // 1. size
        Row { name: "size 0", edit: |r| r.size = 0, errno: EINVAL },
        Row { name: "size 95", edit: |r| r.size = 95, errno: EINVAL },
        Row { name: "size 97", edit: |r| r.size = 97, errno: EINVAL },
        Row { name: "size 104 (walk_end + 1 field)", edit: |r| r.size = 104, errno: EINVAL },
        Row { name: "size u64::MAX", edit: |r| r.size = u64::MAX, errno: EINVAL },
        // 2. flags
        Row { name: "flag bit 2", edit: |r| r.flags = 1 << 2, errno: EINVAL },
        Row { name: "flag bit 63", edit: |r| r.flags = 1 << 63, errno: EINVAL },
        Row { name: "flags all", edit: |r| r.flags = u64::MAX, errno: EINVAL },
        // 3. masks
        Row { name: "inverted bit 8", edit: |r| r.category_inverted = 1 << 8, errno: EINVAL },
        Row { name: "mask bit 8", edit: |r| r.category_mask = 1 << 8, errno: EINVAL },
        Row { name: "anyof bit 8", edit: |r| r.category_anyof_mask = 1 << 8, errno: EINVAL },
        Row { name: "return bit 8", edit: |r| r.return_mask = 1 << 8, errno: EINVAL },
        Row { name: "return bit 63", edit: |r| r.return_mask = 1 << 63, errno: EINVAL },
        // 4. start alignment
        Row { name: "start + 1", edit: |r| r.start += 1, errno: EINVAL },
        Row { name: "start + 0xfff", edit: |r| r.start += 0xfff, errno: EINVAL },
        Row { name: "start u64::MAX", edit: |r| r.start = u64::MAX, errno: EINVAL },
        // 5. access_ok(start, end - start)
        Row { name: "end < start", edit: |r| r.end = r.start - 0x1000, errno: EFAULT },
        Row { name: "end = start - 1", edit: |r| r.end = r.start - 1, errno: EFAULT },
        Row { name: "end 0", edit: |r| r.end = 0, errno: EFAULT },
        Row { name: "end past TASK_SIZE", edit: |r| r.end = TASK_SIZE_MAX + 1, errno: EFAULT },
        Row { name: "end u64::MAX", edit: |r| r.end = u64::MAX, errno: EFAULT },
        Row { name: "start in kernel", edit: |r| { r.start = 0xffff_8000_0000_0000; r.end = r.start + 0x1000 }, errno: EFAULT },
        Row { name: "start = TASK_SIZE, end + 1", edit: |r| { r.start = TASK_SIZE_MAX; r.end = r.start + 1 }, errno: EFAULT },
        // 6. vec NULL with vec_len
        Row { name: "vec NULL, vec_len 1", edit: |r| r.vec = 0, errno: EINVAL },
        Row { name: "vec NULL, vec_len max", edit: |r| { r.vec = 0; r.vec_len = u64::MAX }, errno: EINVAL },
        // 7. access_ok(vec, size_mul(vec_len, 24))
        Row { name: "vec in kernel", edit: |r| r.vec = 0xffff_8000_0000_0000, errno: EFAULT },
        Row { name: "vec in kernel, vec_len 0", edit: |r| { r.vec = 0xffff_8000_0000_0000; r.vec_len = 0 }, errno: EFAULT },
        Row { name: "vec array past TASK_SIZE by 1", edit: |r| r.vec = TASK_SIZE_MAX - 10 * 24 + 1, errno: EFAULT },
        Row { name: "vec_len 2^62 (24 * 2^62 wraps to 0)", edit: |r| r.vec_len = 1 << 62, errno: EFAULT },
        Row { name: "vec_len u64::MAX", edit: |r| r.vec_len = u64::MAX, errno: EFAULT },
        Row { name: "vec_len u64::MAX / 24 + 1", edit: |r| r.vec_len = u64::MAX / 24 + 1, errno: EFAULT },
    ];
    for row in &rows {
        let mut raw = good_raw();
        (row.edit)(&mut raw);
        assert_eq!(check(&raw), Err(row.errno), "{}: {raw:x?}", row.name);
        assert_eq!(
            c_get_args(&raw, access_ok, untag_none).map(|_| ()),
            Err(row.errno),
            "model, {}",
            row.name
        );
    }
}

#[test]
fn errno_order_follows_c() {
    // Each row breaks two checks: the one C makes first decides the errno.
    #[rustfmt::skip]
    let rows = [
        Row { name: "size before flags", edit: |r| { r.size = 0; r.flags = 4 }, errno: EINVAL },
        Row { name: "size before range", edit: |r| { r.size = 0; r.end = 0 }, errno: EINVAL },
        Row { name: "size before vec", edit: |r| { r.size = 0; r.vec = u64::MAX }, errno: EINVAL },
        Row { name: "flags before range", edit: |r| { r.flags = 4; r.end = 0 }, errno: EINVAL },
        Row { name: "masks before range", edit: |r| { r.return_mask = 0x100; r.end = 0 }, errno: EINVAL },
        Row { name: "masks before vec", edit: |r| { r.category_mask = 0x100; r.vec = !0xfff }, errno: EINVAL },
        Row { name: "alignment before range", edit: |r| { r.start = 0xffff_8000_0000_0001; r.end = 0 }, errno: EINVAL },
        Row { name: "alignment before vec", edit: |r| { r.start += 1; r.vec = 0xffff_8000_0000_0000 }, errno: EINVAL },
        Row { name: "range before vec NULL", edit: |r| { r.end = 0; r.vec = 0 }, errno: EFAULT },
        Row { name: "range before vec access", edit: |r| { r.end = 0; r.vec_len = u64::MAX }, errno: EFAULT },
    ];
    for row in &rows {
        let mut raw = good_raw();
        (row.edit)(&mut raw);
        assert_eq!(check(&raw), Err(row.errno), "{}: {raw:x?}", row.name);
    }
}

#[test]
fn access_ok_calls_and_saturation() {
    let calls = RefCell::new(Vec::new());
    let rec = |a: u64, s: u64| {
        calls.borrow_mut().push((a, s));
        access_ok(a, s)
    };
    let mut raw = good_raw();
    raw.end = 0x2_0001;
    validate(&raw, Semantics::LINUX_6_12, rec, untag_none).unwrap();
    assert_eq!(*calls.borrow(), [(0x1_0000, 0x1_0001), (0x4_0000, 240)]);

    // size_mul() saturates: an access_ok() that accepts everything below
    // u64::MAX shows the size it was asked about.
    calls.borrow_mut().clear();
    raw.vec_len = 1 << 62;
    let rec_lax = |a: u64, s: u64| {
        calls.borrow_mut().push((a, s));
        s != u64::MAX
    };
    assert_eq!(
        validate(&raw, Semantics::LINUX_6_12, rec_lax, untag_none),
        Err(EFAULT)
    );
    assert_eq!(calls.borrow()[1], (0x4_0000, u64::MAX));

    // end < start: the size handed to access_ok() is the wrapped difference.
    calls.borrow_mut().clear();
    let mut raw = good_raw();
    raw.end = 0x1000;
    assert_eq!(
        validate(&raw, Semantics::LINUX_6_12, rec, untag_none),
        Err(EFAULT)
    );
    assert_eq!(
        *calls.borrow(),
        [(0x1_0000, 0x1000u64.wrapping_sub(0x1_0000))]
    );

    // No vec: access_ok() is asked about the range only.
    calls.borrow_mut().clear();
    let mut raw = good_raw();
    raw.vec = 0;
    raw.vec_len = 0;
    let args = validate(&raw, Semantics::LINUX_6_12, rec, untag_none).unwrap();
    assert_eq!(calls.borrow().len(), 1);
    assert_eq!((args.vec, args.vec_len), (0, 0));
}

#[test]
fn end_rounds_up() {
    for (end, want) in [
        (0x2_0000, 0x2_0000),
        (0x2_0001, 0x2_1000),
        (0x2_0fff, 0x2_1000),
        (0x1_0000, 0x1_0000),
        (0x1_0001, 0x1_1000),
        (TASK_SIZE_MAX, TASK_SIZE_MAX),
        (TASK_SIZE_MAX - 1, TASK_SIZE_MAX),
    ] {
        let mut raw = good_raw();
        raw.end = end;
        assert_eq!(check(&raw).unwrap().end, want, "end {end:#x}");
    }
    // Empty range at the very top of user space.
    let mut raw = good_raw();
    raw.start = TASK_SIZE_MAX;
    raw.end = TASK_SIZE_MAX;
    assert_eq!(check(&raw).unwrap().end, TASK_SIZE_MAX);
}

#[test]
fn max_pages_zero_is_unlimited() {
    for (max, want) in [(0, u64::MAX), (1, 1), (512, 512), (u64::MAX, u64::MAX)] {
        let mut raw = good_raw();
        raw.max_pages = max;
        assert_eq!(check(&raw).unwrap().max_pages, want);
    }
}

#[test]
fn all_valid_flags_and_masks_pass() {
    let mut raw = good_raw();
    raw.flags = 3;
    raw.category_inverted = 0xff;
    raw.category_mask = 0xff;
    raw.category_anyof_mask = 0xff;
    raw.return_mask = 0xff;
    let args = check(&raw).unwrap();
    assert!(args.wp_matching() && args.check_wpasync());
    assert_eq!(args.masks_of_interest(), 0xff);
    assert_eq!(
        (
            args.category_inverted,
            args.category_mask,
            args.category_anyof_mask,
            args.return_mask
        ),
        (0xff, 0xff, 0xff, 0xff)
    );
}

#[test]
fn vec_boundaries() {
    // The array may end exactly at TASK_SIZE_MAX.
    let mut raw = good_raw();
    raw.vec = TASK_SIZE_MAX - 10 * 24;
    assert!(check(&raw).is_ok());
    // A non-NULL vec with vec_len 0 is accepted (size 0), not dereferenced.
    raw.vec = 0x4_0000;
    raw.vec_len = 0;
    let args = check(&raw).unwrap();
    assert_eq!((args.vec, args.vec_len), (0x4_0000, 0));
}

#[test]
fn tagged_pointers_are_untagged() {
    let tag = 0x5a << 56;
    let mut raw = good_raw();
    raw.start |= tag;
    raw.end |= tag;
    raw.vec |= tag;
    // Without untagging they are kernel-half addresses.
    assert_eq!(
        validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none),
        Err(EFAULT)
    );
    let args = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_tbi).unwrap();
    assert_eq!(
        (args.start, args.end, args.vec),
        (0x1_0000, 0x2_0000, 0x4_0000)
    );
    // A tagged unaligned start is EINVAL after untagging too.
    raw.start += 8;
    assert_eq!(
        validate(&raw, Semantics::LINUX_6_12, access_ok, untag_tbi),
        Err(EINVAL)
    );
}

/// What `pagemap_scan_get_args()` leaves in `struct pm_scan_arg` on success.
#[derive(Debug, PartialEq, Eq)]
struct CArgs {
    flags: u64,
    start: u64,
    end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `pagemap_scan_get_args()` of 6.12 on a 64-bit machine, statement by
/// statement (the `UINT_MAX == SIZE_MAX` test is for 32-bit only), written
/// from the C and not from logic.rs.
fn c_get_args(
    arg: &RawArgs,
    access_ok: impl Fn(u64, u64) -> bool,
    untagged_addr: impl Fn(u64) -> u64,
) -> Result<CArgs, ArgError> {
    const PM_SCAN_FLAGS: u64 = 0b11;
    const PM_SCAN_CATEGORIES: u64 = 0b1111_1111;
    const SIZEOF_PAGE_REGION: u64 = 24;
    const PAGE: u64 = 4096;
    let mut a = CArgs {
        flags: arg.flags,
        start: arg.start,
        end: arg.end,
        vec: arg.vec,
        vec_len: arg.vec_len,
        max_pages: arg.max_pages,
        category_inverted: arg.category_inverted,
        category_mask: arg.category_mask,
        category_anyof_mask: arg.category_anyof_mask,
        return_mask: arg.return_mask,
    };
    if arg.size != 8 * 12 {
        return Err(EINVAL);
    }
    if a.flags & !PM_SCAN_FLAGS != 0 {
        return Err(EINVAL);
    }
    for m in [
        a.category_inverted,
        a.category_mask,
        a.category_anyof_mask,
        a.return_mask,
    ] {
        if m & !PM_SCAN_CATEGORIES != 0 {
            return Err(EINVAL);
        }
    }
    a.start = untagged_addr(a.start);
    a.end = untagged_addr(a.end);
    a.vec = untagged_addr(a.vec);
    if a.start & (PAGE - 1) != 0 {
        return Err(EINVAL);
    }
    if !access_ok(a.start, a.end.wrapping_sub(a.start)) {
        return Err(EFAULT);
    }
    if a.vec == 0 && a.vec_len != 0 {
        return Err(EINVAL);
    }
    // size_mul(): SIZE_MAX on overflow.
    let bytes = u128::from(a.vec_len) * u128::from(SIZEOF_PAGE_REGION);
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    if a.vec != 0 && !access_ok(a.vec, bytes) {
        return Err(EFAULT);
    }
    // ALIGN(end, PAGE_SIZE) in unsigned long arithmetic.
    a.end = ((u128::from(a.end) + u128::from(PAGE - 1)) as u64) & !(PAGE - 1);
    if a.max_pages == 0 {
        a.max_pages = !0;
    }
    Ok(a)
}

fn to_c(a: Args) -> CArgs {
    CArgs {
        flags: a.flags,
        start: a.start,
        end: a.end,
        vec: a.vec,
        vec_len: a.vec_len,
        max_pages: a.max_pages,
        category_inverted: a.category_inverted,
        category_mask: a.category_mask,
        category_anyof_mask: a.category_anyof_mask,
        return_mask: a.return_mask,
    }
}

/// Addresses around the interesting boundaries, tagged or not.
fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            0,
            0x1000,
            0x1_0000,
            TASK_SIZE_MAX - 0x1000,
            TASK_SIZE_MAX,
            TASK_SIZE_MAX + 0x1000,
            0x8000_0000_0000,
            0x00ff_ffff_ffff_f000,
            0xffff_8000_0000_0000,
            !0xfff,
            u64::MAX,
        ]),
        (0..TASK_SIZE_MAX >> 12).prop_map(|p| p << 12),
        (0..TASK_SIZE_MAX >> 12, any::<u8>()).prop_map(|(p, t)| (p << 12) | (u64::from(t) << 56)),
        0..TASK_SIZE_MAX,
        any::<u64>(),
    ]
}

/// An end relative to `start` (often in range) or anywhere.
fn end_for(start: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (0u64..0x10_0000).prop_map(move |d| start.wrapping_add(d)),
        1 => (1u64..0x2000).prop_map(move |d| start.wrapping_sub(d)),
        1 => addr(),
    ]
}

fn mask() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0..=0xffu64,
        1 => Just(0),
        1 => 0..=0x1ffu64,
        1 => any::<u64>(),
    ]
}

fn raw_args() -> impl Strategy<Value = RawArgs> {
    let size = prop_oneof![8 => Just(PM_SCAN_ARG_SIZE), 1 => 0..200u64, 1 => any::<u64>()];
    let flags = prop_oneof![8 => 0..4u64, 1 => 0..16u64, 1 => any::<u64>()];
    let vec_len = prop_oneof![
        Just(0u64),
        1..600u64,
        0..(TASK_SIZE_MAX / 24 + 2),
        prop::sample::select(vec![1 << 62, u64::MAX / 24, u64::MAX / 24 + 1, u64::MAX]),
        any::<u64>(),
    ];
    let vec = prop_oneof![1 => Just(0u64), 4 => addr()];
    let max_pages = prop_oneof![Just(0u64), 1..1000u64, any::<u64>()];
    let range = addr().prop_flat_map(|s| (Just(s), end_for(s)));
    (
        size,
        flags,
        range,
        vec,
        vec_len,
        max_pages,
        [mask(), mask(), mask(), mask()],
    )
        .prop_map(
            |(size, flags, (start, end), vec, vec_len, max_pages, m)| RawArgs {
                size,
                flags,
                start,
                end,
                walk_end: 0,
                vec,
                vec_len,
                max_pages,
                category_inverted: m[0],
                category_mask: m[1],
                category_anyof_mask: m[2],
                return_mask: m[3],
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn validate_matches_c_model(raw in raw_args(), tbi in any::<bool>()) {
        let (ours, model) = if tbi {
            (validate(&raw, Semantics::LINUX_6_12, access_ok, untag_tbi), c_get_args(&raw, access_ok, untag_tbi))
        } else {
            (validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none), c_get_args(&raw, access_ok, untag_none))
        };
        prop_assert_eq!(ours.map(to_c), model);
    }

    /// With a valid header, the checks on pointers decide alone.
    #[test]
    fn validate_pointers_match_c_model(raw in raw_args()) {
        let mut raw = raw;
        raw.size = PM_SCAN_ARG_SIZE;
        raw.flags &= 3;
        raw.category_inverted &= 0xff;
        raw.category_mask &= 0xff;
        raw.category_anyof_mask &= 0xff;
        raw.return_mask &= 0xff;
        let ours = validate(&raw, Semantics::LINUX_6_12, access_ok, untag_none);
        prop_assert_eq!(ours.map(to_c), c_get_args(&raw, access_ok, untag_none));
        if let Ok(a) = ours {
            // ALIGN() cannot wrap once access_ok() accepted the range.
            prop_assert!(a.end >= a.start && a.end % 4096 == 0 && a.end <= TASK_SIZE_MAX);
            prop_assert!(a.max_pages != 0);
        }
    }
}
