# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the tools that look into the guest through QEMU's gdbstub
# (profile.sh, steptrace.sh).

# snapshot_payload PAYLOAD OUT KOUT: copies PAYLOAD to OUT/payload with the
# benchmark program built against KOUT's headers, and the module to OUT
# (the symbols the reports resolve against).
snapshot_payload() {
	rm -rf "$2/payload"
	cp -a "$1" "$2/payload"
	"$KCC" -static -O2 -Wall -isystem "$3/usr-headers/include" -o "$2/payload/bin/pagemap_bench" \
		"$(dirname "${BASH_SOURCE[0]}")/pagemap_bench.c"
	cp "$2/payload/pagemap_scan_rs.ko" "$2/pagemap_scan_rs.ko"
}

# gdbstub_qemu PORT: makes a directory holding a $KQEMU (tools/kver.sh:
# qemu-system-x86_64 or qemu-system-aarch64) that runs the real one with
# "-gdb tcp:127.0.0.1:PORT" added, and prints its path; put it first on
# PATH for tools/vm/run.sh, which stays unchanged. The caller removes the
# directory.
gdbstub_qemu() {
	local dir real
	dir=$(mktemp -d)
	real=$(command -v "$KQEMU")
	printf '#!/bin/sh\nexec %s "$@" -gdb tcp:127.0.0.1:%s\n' "$real" "$1" \
		> "$dir/$KQEMU"
	chmod +x "$dir/$KQEMU"
	echo "$dir"
}

# The host's gdb for the guest's architecture.
gdb_for_guest() {
	if [ "$KARCH" = x86_64 ]; then echo gdb; else echo gdb-multiarch; fi
}
