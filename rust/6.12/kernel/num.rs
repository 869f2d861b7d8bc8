// SPDX-License-Identifier: GPL-2.0

//! Numerical helpers: the lossless integer casts of later kernels'
//! `kernel::num::casts`, for Linux 6.12, which has no `kernel::num`.
//!
//! Only the part the walk abstractions and the PAGEMAP_SCAN handler use,
//! with the same paths, names and signatures as upstream's, so that code
//! written against the newer tree builds here unchanged.

pub mod casts {
    //! Lossless integer casts (upstream: `rust/kernel/num/casts.rs`).

    use core::mem::size_of;

    /// Losslessly converts a [`usize`] into a [`u64`], in `const` context:
    /// a `usize` fits into a `u64` on every architecture the kernel
    /// supports.
    #[inline]
    pub const fn usize_as_u64(value: usize) -> u64 {
        crate::static_assert!(size_of::<u64>() >= size_of::<usize>());
        value as u64
    }

    /// Losslessly converts a [`u32`] into a [`usize`], in `const` context.
    #[inline]
    pub const fn u32_as_usize(value: u32) -> usize {
        crate::static_assert!(size_of::<usize>() >= size_of::<u32>());
        value as usize
    }

    /// Converts the constant `N` into a [`u32`], which it must fit (a
    /// build error otherwise).
    #[inline]
    pub const fn usize_into_u32<const N: usize>() -> u32 {
        const { assert!(N <= u32::MAX as usize) };
        N as u32
    }

    /// A guaranteed lossless conversion into `Self` from `T`, for the
    /// conversions that the standard library's [`From`] leaves out because
    /// they are not portable beyond the kernel's architectures.
    pub trait FromSafeCast<T> {
        /// Creates a `Self` from `value`, losslessly.
        fn from_safe_cast(value: T) -> Self;
    }

    impl FromSafeCast<usize> for u64 {
        #[inline]
        fn from_safe_cast(value: usize) -> Self {
            usize_as_u64(value)
        }
    }

    impl FromSafeCast<u32> for usize {
        #[inline]
        fn from_safe_cast(value: u32) -> Self {
            u32_as_usize(value)
        }
    }

    /// The reverse of [`FromSafeCast`].
    pub trait IntoSafeCast<T> {
        /// Converts `self` into a `T`, losslessly.
        fn into_safe_cast(self) -> T;
    }

    impl<S, T: FromSafeCast<S>> IntoSafeCast<T> for S {
        #[inline]
        fn into_safe_cast(self) -> T {
            T::from_safe_cast(self)
        }
    }

    /// Conversions that are only lossless for the current pointer size.
    pub mod arch {
        /// As [`FromSafeCast`](super::FromSafeCast), for conversions only
        /// some architectures allow.
        pub trait FromSafeCastArch<T> {
            /// Creates a `Self` from `value`, losslessly.
            fn from_safe_cast_arch(value: T) -> Self;
        }

        /// The reverse of [`FromSafeCastArch`].
        pub trait IntoSafeCastArch<T> {
            /// Converts `self` into a `T`, losslessly.
            fn into_safe_cast_arch(self) -> T;
        }

        impl<S, T: FromSafeCastArch<S>> IntoSafeCastArch<T> for S {
            #[inline]
            fn into_safe_cast_arch(self) -> T {
                T::from_safe_cast_arch(self)
            }
        }

        /// A [`u64`] fits into a [`usize`] on 64-bit architectures.
        #[cfg(CONFIG_64BIT)]
        #[inline]
        pub const fn u64_as_usize(value: u64) -> usize {
            value as usize
        }

        #[cfg(CONFIG_64BIT)]
        impl FromSafeCastArch<u64> for usize {
            #[inline]
            fn from_safe_cast_arch(value: u64) -> Self {
                u64_as_usize(value)
            }
        }
    }
}
