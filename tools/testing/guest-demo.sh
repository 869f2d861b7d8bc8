#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make run`: load the Rust module and show PAGEMAP_SCAN
# finding the pages a small program wrote.
. /pmscan/guest-lib.sh
if select_impl rust; then
	echo "demo: PAGEMAP_SCAN is served by the Rust module (impl=$(impl_now))"
else
	echo "demo: Rust module not active, using impl=$(impl_now)"
fi
before=$(rust_calls)
pmscan-demo || exit 1
echo "demo: the Rust handler served $(( $(rust_calls) - before )) PAGEMAP_SCAN ioctls"
exit 0
