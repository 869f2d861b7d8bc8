#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and booting the test kernel of KVER (6.12 by
# default, or 7.3; see tools/kver.sh) needs. Idempotent: when everything is
# there it only checks and returns within seconds.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/kver.sh"
BINDGEN_VERSION=0.73.2
PKGS=(clang-19 lld-19 llvm-19 libclang-19-dev qemu-system-x86
      bc flex bison libelf-dev libssl-dev cpio busybox-static e2fsprogs gzip
      python3 debootstrap)
case "$KVER" in
# The tree itself is a package of the machine's apt sources.
6.12) PKGS=(linux-source-6.12 "${PKGS[@]}") ;;
# LLVM 22 (bookworm-security) matches rustc's LLVM; the tree is fetched below.
7.3) PKGS+=(clang-22 lld-22 llvm-22 libclang-22-dev) ;;
esac
# An arm64 guest (ARCH=arm64): its QEMU, the C cross compiler and static
# glibc of the test programs. The kernel is cross-built by the same clang.
[ "$KARCH" != arm64 ] || PKGS+=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross)

log() { printf '[setup] %s\n' "$*" >&2; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
else
	log "Debian packages present"
fi

# deb_mirror: the mirror the machine uses for Debian (its first
# deb.debian.org-like URI), or deb.debian.org.
deb_mirror() {
	local mirror
	mirror=$(sed -n 's/^URIs: *\(.*\/debian\)\/*$/\1/p; s/^deb  *\(\[[^]]*\] *\)\?\([^ ]*\/debian\)\/* .*/\2/p' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		2>/dev/null | head -1 || true)
	echo "${mirror:-http://deb.debian.org/debian}"
}

# fetch_tree: download the pinned linux-source .deb of a tree that the
# machine's apt sources do not carry, with a private sources list, lists
# and cache (the machine's apt configuration is not touched), check its
# SHA256 against the pin and the signed index, and extract it into
# $KCACHE/debs/$KPKG. Does nothing when the tarball is already there.
fetch_tree() {
	local dir=$KCACHE/debs deb
	[ -n "${KPKG_SHA256:-}" ] || return 0
	[ -f "$KTARBALL" ] && return 0
	log "fetching $KPKG $KPKG_VERSION from $KPKG_SUITE (private apt list in $dir/apt)"
	local t0=$SECONDS
	mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
	local mirror
	mirror=$(deb_mirror)
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $KPKG_SUITE main" \
		> "$dir/apt/sources.list"
	local apt=(apt-get -q -o Dir::Etc::sourcelist="$dir/apt/sources.list"
		-o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$dir/apt/lists"
		-o Dir::Cache="$dir/apt/cache" -o APT::Sandbox::User=root
		-o Acquire::Languages=none)
	"${apt[@]}" update >/dev/null
	local indexed
	indexed=$(apt-cache -o Dir::Etc::sourcelist="$dir/apt/sources.list" \
		-o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$dir/apt/lists" \
		-o Dir::Cache="$dir/apt/cache" show "$KPKG=$KPKG_VERSION" | sed -n 's/^SHA256: //p' | head -1)
	if [ "$indexed" != "$KPKG_SHA256" ]; then
		log "ERROR: $KPKG $KPKG_VERSION: index SHA256 '${indexed:-none}', pinned $KPKG_SHA256"
		exit 1
	fi
	(cd "$dir" && "${apt[@]}" download "$KPKG=$KPKG_VERSION" >/dev/null)
	deb=$dir/${KPKG}_${KPKG_VERSION//:/%3a}_all.deb
	if [ "$(sha256sum "$deb" | cut -d' ' -f1)" != "$KPKG_SHA256" ]; then
		log "ERROR: $deb does not have the pinned SHA256 $KPKG_SHA256"
		rm -f "$deb"
		exit 1
	fi
	rm -rf "$dir/$KPKG"
	dpkg-deb -x "$deb" "$dir/$KPKG"
	rm -f "$deb"
	[ -f "$KTARBALL" ] || { log "ERROR: $deb has no $KTARBALL"; exit 1; }
	log "$KPKG $KPKG_VERSION fetched and verified in $((SECONDS - t0)) s: $KTARBALL"
}
fetch_tree

# fetch_arch_debs: on an arm64 guest, Debian's arm64 busybox-static, of
# the very version the machine has for amd64 (its applet list is read from
# the machine's busybox), from the machine's own mirror and suite, with a
# private apt list, lists and cache for arm64 (no foreign architecture is
# added to the machine's dpkg). Extracted into $KCACHE/debs/arm64/.
fetch_arch_debs() {
	[ "$KARCH" = arm64 ] || return 0
	local dir=$KCACHE/debs/$KARCH pkg=busybox-static ver
	ver=$(dpkg-query -W -f='${Version}' "$pkg")
	if [ "$(cat "$dir/$pkg.version" 2>/dev/null)" = "$ver" ] && [ -x "$dir/$pkg/bin/busybox" ]; then
		return 0
	fi
	log "fetching $pkg:$KARCH $ver (private apt list in $dir/apt)"
	mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
	local mirror
	mirror=$(deb_mirror)
	local suite
	suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	# The suites the machine's package may come from: a point release, an
	# update, a security update.
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg arch=arm64] $mirror $suite main"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg arch=arm64] $mirror $suite-updates main"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg arch=arm64] ${mirror%/debian}/debian-security $suite-security main"
	} > "$dir/apt/sources.list"
	local apt=(apt-get -q -o Dir::Etc::sourcelist="$dir/apt/sources.list"
		-o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$dir/apt/lists"
		-o Dir::Cache="$dir/apt/cache" -o APT::Sandbox::User=root
		-o Acquire::Languages=none -o APT::Architecture=arm64
		-o APT::Architectures::=arm64)
	"${apt[@]}" update >/dev/null
	rm -f "$dir"/"$pkg"_*.deb
	(cd "$dir" && "${apt[@]}" download "$pkg=$ver" >/dev/null)
	rm -rf "${dir:?}/$pkg"
	dpkg-deb -x "$dir"/"$pkg"_*_arm64.deb "$dir/$pkg"
	rm -f "$dir"/"$pkg"_*.deb
	[ -x "$dir/$pkg/bin/busybox" ] || { log "ERROR: $pkg:arm64 has no bin/busybox"; exit 1; }
	echo "$ver" > "$dir/$pkg.version"
	log "$pkg:arm64 $ver in $dir/$pkg"
}
fetch_arch_debs
# The exact tree, first thing every make target prints.
printf '[setup] %s\n' "$(tree_banner)" >&2

if ! command -v rustup >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/rustup" ]; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v rustup >/dev/null || { log "rustup not found: install Rust with rustup first"; exit 1; }
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "installing rust-src"
	rustup component add rust-src
fi
if [ "$(bindgen --version 2>/dev/null | awk '{print $2}')" != "$BINDGEN_VERSION" ]; then
	log "installing bindgen-cli $BINDGEN_VERSION"
	cargo install --locked bindgen-cli --version "$BINDGEN_VERSION"
fi
log "toolchain ($KVER): $(rustc --version), $(bindgen --version), $(clang$KLLVM --version | head -1)"
