#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make check`: every suite on the C implementation, then the
# same on the Rust module, in one boot.
. /pmscan/guest-lib.sh
cd /tmp

run_ksft pagemap_ioctl c /pmscan/bin/pagemap_ioctl
run_ksft pagemap_ioctl rust /pmscan/bin/pagemap_ioctl
unload_rust
exit 0
