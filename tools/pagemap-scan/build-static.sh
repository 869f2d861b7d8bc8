#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build static binaries of the PAGEMAP_SCAN userspace and copy them
# into OUTDIR, for a minimal guest (busybox, no shared libraries):
#
#   OUTDIR/pagemap-scan         the CLI
#   OUTDIR/pagemap-scan-tests   the kernel integration tests
#                               (run: pagemap-scan-tests --test-threads=1)
#   OUTDIR/write-watch          samples/pagemap_scan, each exits non-zero
#   OUTDIR/dirty-harvest        on a mismatch
#   OUTDIR/predump
#
# Usage: tools/pagemap-scan/build-static.sh OUTDIR
# Environment: JOBS (cargo -j), CARGO_TARGET_DIR (default
# tools/pagemap-scan/target/static), PMSCAN_TARGET (default
# x86_64-unknown-linux-gnu; aarch64-unknown-linux-gnu for an arm64 guest).
# Static glibc needs libc6-dev's libc.a (libc6-dev-arm64-cross's for arm64).
# A target whose standard library rustup did not install (the machine has
# the host's only, and no route to rustup's server) gets it built from
# rust-src (-Zbuild-std, RUSTC_BOOTSTRAP=1: the same sources, not a
# different toolchain), linked by aarch64-linux-gnu-gcc.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
TARGET=${PMSCAN_TARGET:-x86_64-unknown-linux-gnu}
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HERE/target/static}
JOBS_ARG=()
if [ -n "${JOBS:-}" ]; then JOBS_ARG=(-j "$JOBS"); fi
CARGO=(cargo --quiet)
COMMON=(--release --locked --target "$TARGET" "${JOBS_ARG[@]}")
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
	export RUSTC_BOOTSTRAP=1
	COMMON+=(-Zbuild-std=std,panic_abort)
fi
case "$TARGET" in
aarch64-unknown-linux-gnu)
	export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc}
	;;
esac
BIN=$CARGO_TARGET_DIR/$TARGET/release

log() { printf '[pagemap-scan] %s\n' "$*" >&2; }

log "building CLI and samples (static, $TARGET)"
"${CARGO[@]}" build "${COMMON[@]}" --manifest-path "$HERE/Cargo.toml" --bin pagemap-scan
"${CARGO[@]}" build "${COMMON[@]}" --manifest-path "$REPO/samples/pagemap_scan/Cargo.toml" --bins

log "building the integration test binary"
tests_exe=$("${CARGO[@]}" test "${COMMON[@]}" --manifest-path "$HERE/Cargo.toml" \
	--test pagemap_scan_tests --no-run --message-format=json |
	grep '"name":"pagemap_scan_tests"' |
	sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$tests_exe" ] || [ ! -x "$tests_exe" ]; then
	log "cannot find the pagemap_scan_tests executable in cargo's output"
	exit 1
fi

is_static() {
	if command -v readelf >/dev/null 2>&1; then
		! readelf -lW "$1" | grep -q 'program interpreter'
	else
		file -L "$1" | grep -Eq 'statically linked|static-pie'
	fi
}

copy() {
	local src=$1 name=$2
	if ! is_static "$src"; then
		log "$src is dynamically linked (RUSTFLAGS lost?)"
		exit 1
	fi
	install -m 0755 "$src" "$OUT/$name"
	log "$OUT/$name"
}

copy "$BIN/pagemap-scan" pagemap-scan
copy "$tests_exe" pagemap-scan-tests
for s in write-watch dirty-harvest predump; do
	copy "$BIN/$s" "$s"
done
