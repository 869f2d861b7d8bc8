#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test kernel in QEMU (TCG) and run a script in the guest.
#
#   tools/vm/run.sh [options] [--] [SCRIPT]
#
#   SCRIPT        shell script run as /pmscan/guest.sh in the guest; without
#                 it (or with --shell) the guest gives an interactive shell.
#   --payload DIR files copied to /pmscan in the guest (binaries in bin/).
#   --log FILE    console log (default $KCACHE/vm-console.log).
#   --timeout S   kill QEMU after S seconds (default 1200) and fail.
#   --icount      use -icount shift=0 (guest time follows instructions).
#   --disk IMG    attach IMG read-only as the next virtio disk (/dev/vdc for
#                 the first); repeatable.
#   --shell       interactive shell, no log scan.
#
# Exit status: the script's status; 124 on timeout; 3 when the console log
# has a kernel splat (WARNING:, BUG:, Oops, KASAN, lockdep report, RCU
# stall, hung task) even if the script passed.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# KVER, KCACHE, KVARIANT, ARCH, KPAGES select the kernel: $KOUT/$KIMAGE_PATH
# (tools/kver.sh), booted on qemu-system-x86_64 or qemu-system-aarch64.
. "$REPO/tools/kver.sh"
# 5G: below 4 GiB the PCI hole and the kernel leave no free 1 GiB-aligned
# gigabyte at boot, so with 3G the guest asked for its 1 GiB hugetlb page
# in vain (hugepages 1G=0); from 5G on the range above 4 GiB has one.
# arm64 with 64K pages: 16G, for upstream's pagemap_ioctl, which maps 10
# PMD-sized THPs (5 GiB there), and for the criu suite, whose process and
# dump (in tmpfs) hold 512 MiB THPs, besides the reserved hugetlb pages.
mem=5G
[ "$KARCH-$KPAGES" != arm64-64K ] || mem=16G
VM_MEM=${VM_MEM:-$mem}
VM_CPUS=${VM_CPUS:-2}
payload="" log="$KCACHE/vm-console-$OUTTAG.log" timeout=1200 icount=0 shell=0 script=""
disks=()

while [ $# -gt 0 ]; do
	case "$1" in
	--payload) payload=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--disk) disks+=("$2"); shift 2 ;;
	--shell) shell=1; shift ;;
	--) shift; script=${1:-}; shift || true ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) script=$1; shift ;;
	esac
done

bzimage=$KOUT/$KIMAGE_PATH
[ -f "$bzimage" ] || { echo "vm: no kernel at $bzimage (run make kernel KVER=$KVER ARCH=$KARCH)" >&2; exit 1; }
# The guest's busybox: the machine's own on x86_64; on arm64 Debian's
# arm64 busybox-static of the same version, fetched by tools/setup.sh. Its
# applets are listed by the machine's busybox (the arm64 one cannot run
# here); setup.sh checks that the two versions are the same.
busybox=/bin/busybox
[ "$KARCH" = x86_64 ] || busybox=$KCACHE/debs/$KARCH/busybox-static/bin/busybox
[ -x "$busybox" ] || { echo "vm: no $busybox (run make setup ARCH=$KARCH)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pmscan-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT

# initramfs: busybox, /init, the payload.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,pmscan/bin}
cp "$busybox" "$root/bin/busybox"
for app in $(/bin/busybox --list); do
	[ "$app" = busybox ] || ln -sf busybox "$root/bin/$app"
done
cp "$REPO/tools/vm/init" "$root/init"
chmod +x "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/sh" >> "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
if [ -n "$payload" ]; then
	cp -a "$payload"/. "$root/pmscan/"
fi
if [ $shell = 0 ] && [ -n "$script" ]; then
	cp "$script" "$root/pmscan/guest.sh"
	chmod +x "$root/pmscan/guest.sh"
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.cpio.gz"

# Disks: raw swap and a fresh ext2 filesystem.
truncate -s 256M "$work/swap.img"
# With 64K pages the fuzzer's file segments grow with the PMD (512M).
ext2=128M
[ "$KPAGES" != 64K ] || ext2=4G
truncate -s "$ext2" "$work/ext2.img"
mkfs.ext2 -q -F "$work/ext2.img"

# Huge pages: the PMD size and (4K pages) the PUD size on every
# architecture; on arm64 also the contiguous-PTE size (64K with 4K pages,
# 2M with 64K pages, where the PMD is 512M) and, with 4K pages, the
# contiguous-PMD one (32M).
case "$KARCH-$KPAGES" in
x86_64-*)
	console=ttyS0
	huge="hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=96"
	machine=(-cpu max)
	;;
arm64-4K)
	console=ttyAMA0
	huge="hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=96 hugepagesz=64K hugepages=64 hugepagesz=32M hugepages=4"
	;;
arm64-64K)
	# The default size (upstream's tests use it) is the contiguous-PTE
	# 2M: the suites that mean a PMD-sized page ask for 512M by name.
	console=ttyAMA0
	huge="default_hugepagesz=2M hugepagesz=512M hugepages=3 hugepagesz=2M hugepages=96"
	;;
esac
# arm64: QEMU's virt board, GICv3, every CPU feature TCG has, pointer
# authentication with QEMU's cheap algorithm instead of QARMA (same
# architecture, a fraction of the emulation cost).
[ "$KARCH" != arm64 ] || machine=(-M virt,gic-version=3 -cpu max,pauth-impdef=on)
append="console=$console panic=-1 oops=panic hung_task_panic=0 \
$huge transparent_hugepage=always loglevel=7 ${VM_APPEND:-}"
qemu=("$KQEMU" -accel tcg "${machine[@]}" -m "$VM_MEM" -smp "$VM_CPUS"
	-nographic -no-reboot -kernel "$bzimage" -initrd "$work/initramfs.cpio.gz"
	-drive "file=$work/swap.img,if=virtio,format=raw"
	-drive "file=$work/ext2.img,if=virtio,format=raw"
	-append "$append")
for d in ${disks[@]+"${disks[@]}"}; do
	qemu+=(-drive "file=$d,if=virtio,format=raw,readonly=on")
done
[ $icount = 1 ] && qemu+=(-icount shift=0)

if [ $shell = 1 ]; then
	exec "${qemu[@]}"
fi

mkdir -p "$(dirname "$log")"
echo "vm: booting $KVER $KARCH $KPAGES $bzimage (TCG, ${VM_CPUS} cpus, $VM_MEM), console log: $log" >&2
set +e
timeout --foreground -k 10 "$timeout" "${qemu[@]}" < /dev/null 2>&1 | tee "$log" | \
	awk '!/^\[ *[0-9]+\.[0-9]+\]/ { print; fflush() }'
qrc=${PIPESTATUS[0]}
set -e

rc=$(sed -n 's/^PMSCAN-EXIT: \([0-9]*\).*/\1/p' "$log" | tr -d '\r' | tail -1)
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm: FAIL: timeout after ${timeout}s" >&2
	exit 124
fi
if [ -z "$rc" ]; then
	echo "vm: FAIL: guest did not report an exit status (crash?), see $log" >&2
	exit 1
fi
splat='WARNING:|BUG:|Oops|KASAN|possible circular locking|possible recursive locking|inconsistent lock state|RCU stall|rcu_sched self-detected stall|hung task|blocked for more than|Kernel panic|general protection fault|UBSAN'
if grep -E "$splat" "$log" >/dev/null; then
	echo "vm: FAIL: kernel splat in console log:" >&2
	grep -nE "$splat" "$log" | head -20 >&2
	exit 3
fi
exit "$rc"
