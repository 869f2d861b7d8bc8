// SPDX-License-Identifier: GPL-2.0

//! arm64 with 16 KiB pages: 32 MiB PMDs (2048 entries), 64-bit.

geometry!(14, 25, u64::MAX);
