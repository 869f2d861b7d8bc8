#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the root filesystem the criu suite runs CRIU from: Debian
# sid, minbase, with criu and busybox, packed read-only into an ext2 image.
#
#   tools/testing/criu/rootfs.sh     prints the image path on stdout
#
# The image is cached in $KCACHE/criu-rootfs/<hash>.ext2, the hash covering
# this script, the suite, the package list and the mirror: debootstrap runs
# only when that image is missing. Variables: KCACHE, CRIU_MIRROR (default:
# the first Debian mirror of the machine's apt sources), CRIU_SUITE (sid).
set -euo pipefail

KCACHE=${KCACHE:-$HOME/.cache/pmscan}
SUITE=${CRIU_SUITE:-sid}
INCLUDE=criu,busybox
# Mount point of the tmpfs the guest puts the test program and the images on.
MOUNTPOINTS="work"

log() { printf '[criu-rootfs] %s\n' "$*" >&2; }

# The Debian mirror apt uses here (deb822 .sources or one-line .list).
apt_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
			-e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' "$f" |
			grep -E '/debian/?$' | head -1) || true
		if [ -n "$uri" ]; then
			echo "${uri%/}"
			return
		fi
	done
	echo http://deb.debian.org/debian
}

MIRROR=${CRIU_MIRROR:-$(apt_mirror)}
key=$( { cat "$0"; echo "$SUITE $INCLUDE $MIRROR $MOUNTPOINTS"; } | sha256sum | cut -c1-16)
dir=$KCACHE/criu-rootfs
img=$dir/$key.ext2
if [ -f "$img" ]; then
	log "cached: $img"
	echo "$img"
	exit 0
fi

command -v debootstrap >/dev/null || { log "debootstrap missing (run tools/setup.sh)"; exit 1; }
mkdir -p "$dir"
work=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$SECONDS
log "debootstrap --variant=minbase --include=$INCLUDE $SUITE from $MIRROR"
if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/root" "$MIRROR" \
	> "$work/debootstrap.log" 2>&1; then
	tail -30 "$work/debootstrap.log" >&2
	log "debootstrap failed"
	exit 1
fi
for m in $MOUNTPOINTS; do
	mkdir -p "$work/root/$m"
done
rm -rf "$work/root/var/cache/apt/archives"/*.deb "$work/root/var/lib/apt/lists"/*
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
versions=$(chroot "$work/root" dpkg-query -W -f='${Package} ${Version}, ' criu busybox libc6 2>/dev/null || true)
size=$(du -sm "$work/root" | cut -f1)
# Room for the directory blocks and inodes, not for writes: the guest
# mounts it read-only.
truncate -s $(( size * 5 / 4 + 64 ))M "$work/rootfs.ext2"
mkfs.ext2 -q -F -d "$work/root" "$work/rootfs.ext2"
mv "$work/rootfs.ext2" "$img"
# Older images of other inputs are not needed any more.
find "$dir" -maxdepth 1 -name '*.ext2' ! -name "$key.ext2" -delete
log "built $img (${size} MiB: ${versions%, }) in $((SECONDS - t0)) s"
echo "$img"
