// SPDX-License-Identifier: GPL-2.0

//! arm64 with 64 KiB pages: 512 MiB PMDs (8192 entries), 64-bit.

geometry!(16, 29, u64::MAX);
