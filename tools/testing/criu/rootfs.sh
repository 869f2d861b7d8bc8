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
# only when that image is missing. Variables: KCACHE, KARCH (x86_64, the
# default, or arm64: the guest's architecture), CRIU_MIRROR (default: the
# first Debian mirror of the machine's apt sources), CRIU_SUITE (sid).
#
# A foreign architecture (arm64 on this x86-64 machine) is bootstrapped
# with --foreign: debootstrap downloads every package and unpacks the
# required ones, and cannot run maintainer scripts here. The others (criu,
# its libraries) are unpacked here with dpkg-deb. Nothing the suite uses
# needs configuring: criu and its libraries are plain files, found by the
# dynamic loader's default paths.
set -euo pipefail

KCACHE=${KCACHE:-$HOME/.cache/pmscan}
SUITE=${CRIU_SUITE:-sid}
KARCH=${KARCH:-x86_64}
case "$KARCH" in
x86_64) DEBARCH=amd64 ;;
arm64) DEBARCH=arm64 ;;
*) echo "KARCH=$KARCH: x86_64 or arm64" >&2; exit 2 ;;
esac
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
key=$( { cat "$0"; echo "$SUITE $INCLUDE $MIRROR $MOUNTPOINTS $DEBARCH"; } | sha256sum | cut -c1-16)
dir=$KCACHE/criu-rootfs
img=$dir/$DEBARCH-$key.ext2
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
foreign=()
[ "$DEBARCH" = "$(dpkg --print-architecture)" ] || foreign=(--arch="$DEBARCH" --foreign)
log "debootstrap --variant=minbase --include=$INCLUDE ${foreign[*]} $SUITE from $MIRROR"
if ! debootstrap --variant=minbase --include="$INCLUDE" ${foreign[@]+"${foreign[@]}"} \
	"$SUITE" "$work/root" "$MIRROR" > "$work/debootstrap.log" 2>&1; then
	tail -30 "$work/debootstrap.log" >&2
	log "debootstrap failed"
	exit 1
fi
for m in $MOUNTPOINTS; do
	mkdir -p "$work/root/$m"
done
if [ ${#foreign[@]} = 0 ]; then
	# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
	versions=$(chroot "$work/root" dpkg-query -W -f='${Package} ${Version}, ' criu busybox libc6 2>/dev/null || true)
else
	# The packages the first stage left packed (criu among them).
	for deb in "$work/root/var/cache/apt/archives"/*.deb; do
		dpkg-deb -x "$deb" "$work/root"
	done
	# The first stage leaves /proc a link to the host's, for its second
	# stage: the guest mounts its own there.
	if [ -L "$work/root/proc" ]; then
		rm "$work/root/proc"
		mkdir "$work/root/proc"
	fi
	[ -L "$work/root/bin" ] && [ -x "$work/root/usr/sbin/criu" ] ||
		{ log "foreign root filesystem: no usr/sbin/criu, or /bin is not a link"; exit 1; }
	# Not configured: the versions are those of the unpacked .debs.
	versions=$(for p in criu busybox libc6; do
		ls "$work/root/var/cache/apt/archives/" | sed -n "s/^${p}_\([^_]*\)_.*/$p \1, /p"
	done | tr -d '\n' | sed 's/%3a/:/g')
	rm -rf "$work/root/debootstrap"
fi
rm -rf "$work/root/var/cache/apt/archives"/*.deb "$work/root/var/lib/apt/lists"/*
size=$(du -sm "$work/root" | cut -f1)
# Room for the directory blocks and inodes, not for writes: the guest
# mounts it read-only.
truncate -s $(( size * 5 / 4 + 64 ))M "$work/rootfs.ext2"
mkfs.ext2 -q -F -d "$work/root" "$work/rootfs.ext2"
mv "$work/rootfs.ext2" "$img"
# Older images of other inputs (for this architecture) are not needed any
# more.
find "$dir" -maxdepth 1 -name "$DEBARCH-*.ext2" ! -name "$DEBARCH-$key.ext2" -delete
find "$dir" -maxdepth 1 -name '????????????????.ext2' -delete
log "built $img (${size} MiB: ${versions%, }) in $((SECONDS - t0)) s"
echo "$img"
