#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Per-tree settings: which kernel tree KVER selects and how it is built.
# Sourced by the tools (". tools/kver.sh"), or run to print one setting for
# the Makefile ("tools/kver.sh KSRC").
#
#   KVER      6.12 (default) or 7.3
#   KCACHE    cache directory holding every tree and build
#   KVARIANT  default, debug, or builtin (the Rust handler built into the
#             kernel, CONFIG_PAGEMAP_SCAN_RUST=y, instead of a module)
#   CFIXED    1: the tree's C with the upstream fix series applied
#             (patches/upstream/KVER, Documentation/c-fixes.rst), in a tree
#             and builds of its own; any other value: the tree as shipped
#   ARCH      x86_64 (default) or arm64: the guest's architecture, the
#             kernel cross-built with the same clang and rustc, the test
#             programs with aarch64-linux-gnu-gcc, the guest on
#             qemu-system-aarch64 (TCG). KARCH overrides it.
#   KPAGES    arm64 only: 4K (default) or 64K, the kernel's base page size
#             (CONFIG_ARM64_4K_PAGES or CONFIG_ARM64_64K_PAGES)
#
# Layout of $KCACHE (both trees side by side):
#   linux-source-6.12/   build-default/      build-debug/       (6.12)
#   linux-source-7.3/    build-7.3-default/  build-7.3-debug/   (7.3)
#   debs/                the pinned .deb of trees that are not installed
#                        with apt (7.3: trixie-backports), and its apt state
#   linux-source-KVER-cfixed/, build-*-cfixed/   the same with CFIXED=1
#   build-[7.3-]arm64-4k-VARIANT/, build-[7.3-]arm64-64k-VARIANT/
#                        the arm64 builds of the same trees (one source
#                        tree serves every architecture: builds are O=)

KVER=${KVER:-6.12}
KCACHE=${KCACHE:-$HOME/.cache/pmscan}
KVARIANT=${KVARIANT:-default}
CFIXED=${CFIXED:-0}
KARCH=${KARCH:-${ARCH:-x86_64}}
case "$KARCH" in
x86_64 | x86)
	KARCH=x86_64
	KPAGES=4K
	# The kernel's image target and where it lands in $KOUT.
	KIMAGE_TARGET=bzImage
	KIMAGE_PATH=arch/x86/boot/bzImage
	# Static test programs for the guest.
	KCC=gcc
	KQEMU=qemu-system-x86_64
	# The Rust target of the userspace crate and CLI.
	KRUST_TARGET=x86_64-unknown-linux-gnu
	KARCHTAG=""
	;;
arm64 | aarch64)
	KARCH=arm64
	KPAGES=${KPAGES:-4K}
	case "$KPAGES" in
	4K | 4k) KPAGES=4K ;;
	64K | 64k) KPAGES=64K ;;
	*) echo "KPAGES=$KPAGES: 4K or 64K on arm64" >&2; exit 2 ;;
	esac
	KIMAGE_TARGET=Image
	KIMAGE_PATH=arch/arm64/boot/Image
	KCC=aarch64-linux-gnu-gcc
	KQEMU=qemu-system-aarch64
	KRUST_TARGET=aarch64-unknown-linux-gnu
	KARCHTAG=arm64-$(echo "$KPAGES" | tr K k)-
	;;
*)
	echo "ARCH=$KARCH: unknown architecture (x86_64 or arm64)" >&2
	exit 2
	;;
esac

case "$KVER" in
6.12)
	# Installed from the machine's own apt sources (bookworm).
	KPKG=linux-source-6.12
	KTARBALL=/usr/src/linux-source-6.12.tar.xz
	KOUT=$KCACHE/build-$KARCHTAG$KVARIANT
	OUTTAG=$KARCHTAG$KVARIANT
	KLLVM=-19
	# bindgen takes the newest libclang it finds: pin the one the tree
	# was built with since the start, whatever else is installed.
	KLIBCLANG=/usr/lib/llvm-19/lib
	# Overlay directories copied into the tree (common to every tree).
	KOVERLAY="fs rust/kernel rust/helpers include"
	# Per-tree overlay, SRC:DEST: the backport of upstream's kernel::mm
	# (mm.rs, mm/virt.rs, helpers/mm.c), which 6.12 lacks, and the Rust
	# compat file of 6.12 (in place of the common one), copied from
	# rust/6.12/ onto rust/ of this tree only.
	KOVERLAY_TREE="rust/6.12:rust"
	# Sources of the upstream selftest mm/pagemap_ioctl.
	KSELFTEST_PAGEMAP="pagemap_ioctl.c vm_util.c thp_settings.c"
	;;
7.3)
	# Not in bookworm: the trixie-backports .deb, fetched by setup.sh with
	# a private apt list (the machine's sources are left alone).
	KPKG=linux-source-7.3
	KPKG_VERSION=7.3.4-1~bpo13+1
	KPKG_SHA256=703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3
	KPKG_SUITE=trixie-backports
	KTARBALL=$KCACHE/debs/$KPKG/usr/src/linux-source-7.3.tar.xz
	KOUT=$KCACHE/build-7.3-$KARCHTAG$KVARIANT
	OUTTAG=7.3-$KARCHTAG$KVARIANT
	# CONFIG_RUST_INLINE_HELPERS needs clang of rustc's LLVM major (22
	# for rustc 1.95), and the whole kernel is built with that clang.
	KLLVM=-22
	KLIBCLANG=/usr/lib/llvm-22/lib
	# The walk abstractions extend upstream's own kernel::mm (the 7.3
	# patch adds the `pub mod pagewalk` line): nothing upstream is
	# overwritten.
	KOVERLAY="fs rust/kernel rust/helpers include"
	KOVERLAY_TREE=""
	KSELFTEST_PAGEMAP="pagemap_ioctl.c vm_util.c hugepage_settings.c"
	;;
*)
	echo "KVER=$KVER: unknown kernel tree (6.12 or 7.3)" >&2
	exit 2
	;;
esac
KSRC=$KCACHE/linux-source-$KVER
KPATCHES=patches/$KVER
# The upstream fix series, applied to the C of the tree itself (under the
# overlay's patches) when CFIXED=1: a tree, builds and output of their own.
KSERIES=""
if [ "$CFIXED" = 1 ]; then
	KSERIES=patches/upstream/$KVER
	KSRC=$KSRC-cfixed
	KOUT=$KOUT-cfixed
	OUTTAG=$OUTTAG-cfixed
fi
# Config fragments: common, per architecture (and page size), per tree,
# then the variant's (and the variant's per tree, where there is one).
KFRAGS="tools/kconfig/pagemap_scan.config tools/kconfig/$KARCH.config"
[ "$KARCH" != arm64 ] || KFRAGS="$KFRAGS tools/kconfig/arm64-$(echo "$KPAGES" | tr K k).config"
KFRAGS="$KFRAGS tools/kconfig/$KVER.config"
if [ "$KVARIANT" = debug ]; then
	KFRAGS="$KFRAGS tools/kconfig/debug.config"
	[ ! -f "$(dirname "${BASH_SOURCE[0]}")/kconfig/$KVER-debug.config" ] ||
		KFRAGS="$KFRAGS tools/kconfig/$KVER-debug.config"
elif [ "$KVARIANT" = builtin ]; then
	KFRAGS="$KFRAGS tools/kconfig/builtin.config"
fi

# tree_id: "PACKAGE VERSION" of the tree under test. 6.12 is whatever
# version of the package the machine has installed (Debian serves only
# its newest), 7.3 the pinned one.
tree_id() {
	local v=${KPKG_VERSION:-}
	[ -n "$v" ] || v=$(dpkg-query -W -f='${Version}' "$KPKG" 2>/dev/null || true)
	printf '%s %s\n' "$KPKG" "${v:-not installed}"
}

# tree_banner: one line naming the exact tree, printed first by setup.sh
# (so by make run, check and bench) and by the check and bench reports.
tree_banner() {
	local v=""
	if [ -f "$KSRC/Makefile" ]; then
		v=", kernel $(make -s -C "$KSRC" kernelversion 2>/dev/null)"
	fi
	if [ -n "${KPKG_SHA256:-}" ]; then
		printf 'tree %s: %s (pinned: %s SHA256 %s)%s\n' "$KVER" "$(tree_id)" \
			"$KPKG_SUITE" "$KPKG_SHA256" "$v"
	else
		printf "tree %s: %s (Debian's current package, not pinned: it follows the mirror)%s\n" \
			"$KVER" "$(tree_id)" "$v"
	fi
	if [ -n "$KSERIES" ]; then
		printf 'tree %s: C with the fix series %s applied (CFIXED=1)\n' "$KVER" "$KSERIES"
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	[ $# = 1 ] || { echo "usage: $0 VARIABLE|TREE_ID|TREE_BANNER" >&2; exit 2; }
	case "$1" in
	TREE_ID) tree_id ;;
	TREE_BANNER) tree_banner ;;
	*) eval "printf '%s\n' \"\${$1}\"" ;;
	esac
fi
