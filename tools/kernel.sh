#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare and build the pinned kernel tree for the PAGEMAP_SCAN Rust module.
#
#   tools/kernel.sh tree     unpack the tree KVER selects into $KCACHE and apply the overlay
#   tools/kernel.sh config   tinyconfig + tools/kconfig/*.config, verified
#   tools/kernel.sh build    kernel image + modules + headers (incremental)
#   tools/kernel.sh all      all of the above
#
# Variables: KVER (kernel tree: 6.12, the default, or 7.3), ARCH (x86_64,
# the default, or arm64) and KPAGES (arm64: 4K or 64K), KCACHE (cache
# directory, default ~/.cache/pmscan), KVARIANT (build flavour: "default",
# "debug" or "builtin"), JOBS. The per-tree settings are in tools/kver.sh.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/kver.sh"
JOBS=${JOBS:-$(($(nproc) + 1))}
TARBALL=$KTARBALL
export LIBCLANG_PATH=$KLIBCLANG
KMAKE=(make -C "$KSRC" O="$KOUT" ARCH="$KARCH" LLVM="$KLLVM" -j"$JOBS")

log() { printf '[kernel] %s\n' "$*" >&2; }

# Copy $1 to $2 only when the content differs, so unchanged files keep their
# mtime and do not trigger rebuilds.
sync_file() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2"
		log "overlay: updated ${2#"$KSRC"/}"
	fi
}

tree() {
	if [ ! -f "$KSRC/Makefile" ]; then
		[ -f "$TARBALL" ] || { log "missing $TARBALL (run KVER=$KVER tools/setup.sh)"; exit 1; }
		log "unpacking $TARBALL into $KSRC"
		# Into a scratch directory, then renamed: the tarball's one top
		# directory is the tree's name, KSRC may be another (CFIXED=1).
		local tmp=$KSRC.unpack
		# A tree without its Makefile is a half-done unpack.
		rm -rf "${KSRC:?}" "$tmp"
		mkdir -p "$tmp"
		tar -C "$tmp" -xf "$TARBALL"
		mv "$tmp"/* "$KSRC"
		rmdir "$tmp"
	fi
	local v
	v=$(make -s -C "$KSRC" kernelversion)
	local pv
	pv=$(dpkg-query -W -f='${Version}' "$KPKG" 2>/dev/null || echo "${KPKG_VERSION:-unknown}")
	log "kernel tree: $KSRC, version $v (package $KPKG $pv)"
	apply_overlay
}

# The overlay has two parts:
#  - new files under the tree's overlay directories of this repository
#    ($KOVERLAY: fs, rust/kernel, rust/helpers and include/ on every tree, plus
#    the per-tree $KOVERLAY_TREE, rust/6.12/ onto rust/ on 6.12) that do
#    not exist in the pristine tree (copied, stale ones removed);
#  - patches/$KVER/*.patch against pristine files. The applied set is recorded in
#    $KSRC/.pmscan/applied; when the set in the repo changes, the recorded
#    patches are reversed first, so a patch is never applied twice.
# With CFIXED=1 the upstream fix series ($KSERIES) is applied under them,
# as part of the tree itself, recorded in $KSRC/.pmscan/series.
# overlay_files BASE DIR...: the source files below BASE/DIR, relative to
# BASE: what git tracks or would track, never build output (an out-of-tree
# module build writes its objects next to its sources in fs/proc/); outside
# a git checkout, the C, header and Rust files.
overlay_files() {
	local base=$1
	shift
	if git -C "$base" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$base" && git ls-files --cached --others --exclude-standard -- "$@" |
			while read -r f; do [ -f "$f" ] && echo "$f"; done | sort -u)
	else
		(cd "$base" && find "$@" -type f \( -name '*.[ch]' -o -name '*.rs' \) | sort)
	fi
}

apply_overlay() {
	local state=$KSRC/.pmscan
	mkdir -p "$state"

	# Patches.
	local want have
	local series=()
	[ -z "$KSERIES" ] || series=("$REPO/$KSERIES"/*.patch)
	want=$(cat "${series[@]}" "$REPO/$KPATCHES"/*.patch 2>/dev/null | sha256sum | cut -d' ' -f1)
	have=$(cat "$state/applied.sha" 2>/dev/null || true)
	if [ "$want" != "$have" ]; then
		local p d
		# Top down: the overlay's patches, then the series under them.
		for d in applied series; do
			[ -d "$state/$d" ] || continue
			for p in $(ls -r "$state/$d"/*.patch 2>/dev/null); do
				log "reverting $(basename "$p")"
				patch -d "$KSRC" -p1 -R -s --no-backup-if-mismatch < "$p"
			done
			rm -rf "${state:?}/$d"
		done
		mkdir -p "$state/series" "$state/applied"
		for p in "${series[@]}"; do
			[ -f "$p" ] || continue
			log "applying $KSERIES/$(basename "$p")"
			patch -d "$KSRC" -p1 -s -N --no-backup-if-mismatch < "$p"
			cp "$p" "$state/series/"
		done
		for p in "$REPO/$KPATCHES"/*.patch; do
			[ -f "$p" ] || continue
			log "applying $(basename "$p")"
			patch -d "$KSRC" -p1 -s -N --no-backup-if-mismatch < "$p"
			cp "$p" "$state/applied/"
		done
		echo "$want" > "$state/applied.sha"
	fi

	# New files: the per-tree part first (SRC:DEST pairs, SRC/x copied to
	# DEST/x), then the common part, but for the files the tree's own part
	# has (copied once, so their mtime does not change on every run).
	local f new_manifest=$state/files.new
	: > "$new_manifest"
	local pair src dst
	declare -A tree_own=()
	for pair in ${KOVERLAY_TREE:-}; do
		src=${pair%%:*} dst=${pair#*:}
		for f in $(overlay_files "$REPO/$src" .); do
			f=${f#./}
			sync_file "$REPO/$src/$f" "$KSRC/$dst/$f"
			echo "$dst/$f" >> "$new_manifest"
			tree_own[$dst/$f]=1
		done
	done
	# shellcheck disable=SC2086 # a list of directories
	for f in $(overlay_files "$REPO" $KOVERLAY); do
		[ -z "${tree_own[$f]:-}" ] || continue
		sync_file "$REPO/$f" "$KSRC/$f"
		echo "$f" >> "$new_manifest"
	done
	sort -o "$new_manifest" "$new_manifest"
	if [ -f "$state/files" ]; then
		for f in $(comm -23 "$state/files" "$new_manifest"); do
			log "overlay: removing stale $f"
			rm -f "$KSRC/$f"
		done
	fi
	mv "$new_manifest" "$state/files"
}

config() {
	mkdir -p "$KOUT"
	local frags=() f
	for f in $KFRAGS; do
		frags+=("$REPO/$f")
	done
	local stamp=$KOUT/.pmscan-config.sha
	local want
	want=$(cat "${frags[@]}" | sha256sum | cut -d' ' -f1)
	if [ -f "$KOUT/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	log "configuring $KVER $KARCH $KPAGES $KVARIANT: tinyconfig + ${frags[*]##*/}"
	"${KMAKE[@]}" -s tinyconfig
	(cd "$KOUT" && "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KOUT" .config "${frags[@]}" >/dev/null)
	"${KMAKE[@]}" -s olddefconfig
	# Kconfig silently drops options whose dependencies are missing: check
	# that every requested option is really set as asked. Later fragments
	# override earlier ones ("# CONFIG_X is not set" asks for it unset).
	local line opt val bad=0
	declare -A want_val=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want_val[${line%%=*}]=${line#*=} ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; want_val[${opt%% *}]=n ;;
		esac
	done < <(cat "${frags[@]}")
	for opt in "${!want_val[@]}"; do
		val=${want_val[$opt]}
		if [ "$val" = n ]; then
			grep -q "^$opt=" "$KOUT/.config" || continue
		elif grep -qx "$opt=$val" "$KOUT/.config"; then
			continue
		fi
		log "ERROR: $opt=$val requested but .config has: $(grep -E "^(# )?$opt[= ]" "$KOUT/.config" || echo 'nothing')"
		bad=1
	done
	[ $bad = 0 ] || { log "config verification failed"; exit 1; }
	echo "$want" > "$stamp"
	log "config verified: $(grep -c '=y' "$KOUT/.config") options set"
}

build() {
	# One kernel build at a time on this machine, whatever the cache: a
	# second one would only halve the speed of both.
	local lock=${PMSCAN_BUILD_LOCK:-${TMPDIR:-/tmp}/pmscan-kbuild.lock}
	exec 9>"$lock"
	if ! flock -n 9; then
		log "waiting for another kernel build ($lock)"
		flock 9
	fi
	log "building $KVER $KARCH $KPAGES $KVARIANT kernel in $KOUT (-j$JOBS, LLVM=$KLLVM, libclang $LIBCLANG_PATH)"
	local t0=$SECONDS
	set -o pipefail
	"${KMAKE[@]}" "$KIMAGE_TARGET" modules 2>&1 | awk '!/^[ \t]+(CC|LD|AR|AS|RUSTC|BINDGEN|EXPORTS|HOSTCC|HOSTLD|GEN|SYNC|CALL|UPD|WRAP|RUSTDOC|OBJCOPY|MKPIGGY|VOFFSET|ZOFFSET|CPUSTR|BUILD|KSYMS|SORTTAB|MODPOST|CHKSHA1|COPY|HYPERCALLS|DESCEND|INSTALL|SYSHDR|SYSTBL|TBLSHDR|POLICY|MKELF|MKCAP|RELOCS|UNROLL|MKREQ|TEST|HDRTEST|LDS|CHK|CPP|DTC|VDSO2C|CLNG|DUMP) / { print; fflush() }'
	"${KMAKE[@]}" -s headers_install INSTALL_HDR_PATH="$KOUT/usr-headers"
	log "build done in $((SECONDS - t0)) s: $KOUT/$KIMAGE_PATH"
}

case "${1:-all}" in
tree) tree ;;
config) config ;;
build) build ;;
all) tree; config; build ;;
print-kout) echo "$KOUT" ;;
print-ksrc) echo "$KSRC" ;;
print-kmake) echo "${KMAKE[*]}" ;;
*) echo "usage: $0 tree|config|build|all" >&2; exit 2 ;;
esac
