// SPDX-License-Identifier: GPL-2.0

//! x86_64: 4 KiB pages, 2 MiB PMDs (512 entries), 64-bit.

geometry!(12, 21, u64::MAX);

// Validation is modelled on x86_64's address space.
#[cfg(test)]
#[path = "tests/validate.rs"]
mod validate;
