#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Rewrite patches/$KVER/*.patch (one patch per tree) against the pristine
# files of the tree now in $KCACHE, keeping its message: after Debian moved
# the tree and the patch applied with fuzz or offsets (tools/tree/drift.py
# says so). The content of the patched files is what the tree has now.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
patches=("$REPO/$KPATCHES"/*.patch)
[ ${#patches[@]} = 1 ] || { echo "one patch per tree expected" >&2; exit 1; }
p=${patches[0]}
cmp -s "$p" "$KSRC/.pmscan/applied/$(basename "$p")" ||
	{ echo "$p is not the patch applied in $KSRC: run make kernel first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=$(sed -n 's|^+++ b/||p' "$p")
git -C "$tmp" init -q
for f in $files; do
	mkdir -p "$tmp/$(dirname "$f")"
	cp "$KSRC/$f" "$tmp/$f"
done
patch -R -p1 -s -d "$tmp" --no-backup-if-mismatch < "$p"
git -C "$tmp" add -A
git -C "$tmp" -c user.name=tree -c user.email=tree@localhost commit -qm pristine
for f in $files; do
	cp "$KSRC/$f" "$tmp/$f"
done
git -C "$tmp" add -A
# The message: From/Date/Subject headers and the body, as in the patch.
author=$(sed -n 's/^From: //p' "$p" | head -1)
date=$(sed -n 's/^Date: //p' "$p" | head -1)
sed -n '/^Subject: \[PATCH\] /,/^---$/p' "$p" | sed '1s/^Subject: \[PATCH\] //;$d' > "$tmp/.msg"
git -C "$tmp" -c user.name="${author% <*}" -c user.email="$(echo "$author" | sed 's/.*<\(.*\)>/\1/')" \
	commit -q --date="$date" -F "$tmp/.msg"
git -C "$tmp" format-patch -q --abbrev=7 --zero-commit -1 --stdout > "$p.new"
mv "$p.new" "$p"
echo "rewrote $p against $(tree_id)"
