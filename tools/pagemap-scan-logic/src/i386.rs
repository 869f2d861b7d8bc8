// SPDX-License-Identifier: GPL-2.0

//! i386 without PAE: 4 KiB pages, 4 MiB PMDs (1024 entries), 32-bit `size_t`.

geometry!(12, 22, u32::MAX as u64);

#[cfg(test)]
#[path = "tests/size32.rs"]
mod size32;
