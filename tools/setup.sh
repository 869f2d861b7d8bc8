#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and booting the test kernel needs. Idempotent: when
# everything is there it only checks and returns within seconds.
set -euo pipefail

BINDGEN_VERSION=0.73.2
PKGS=(linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev qemu-system-x86
      bc flex bison libelf-dev libssl-dev cpio busybox-static e2fsprogs gzip
      python3)

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
log "toolchain: $(rustc --version), $(bindgen --version), $(clang-19 --version | head -1)"
