#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of the criu suite, sourced by guest-check.sh after guest-lib.sh.
#
# CRIU 4.2 (Debian sid) runs chrooted in the read-only root filesystem the
# host attached as $CRIU_DEV (tools/testing/criu/rootfs.sh). criu_suite IMPL
# checkpoints and restores criu_pages with IMPL serving PAGEMAP_SCAN:
#
#   criu check; criu_pages set up; criu pre-dump --track-mem; the
#   program's phase-2 writes; criu dump --track-mem --prev-images-dir;
#   criu restore; the restored program verifies every page.
#
# Memory tracking needs soft-dirty bits, which arm64 has not: there CRIU
# refuses --track-mem and pre-dump, and the round trip is one dump after
# the phase-2 writes (CRIU's PAGEMAP_SCAN collects the pages to dump, as
# on x86), then the restore.
#
# The C run repeats the round trip with CRIU_FAULT=135 (CRIU reads
# /proc/PID/pagemap with pread() instead of PAGEMAP_SCAN). The Rust run
# requires that Rust served the dumps' ioctls, repeats the round trip with
# CRIU_FAULT=135 (with Rust serving the reads too: they must be Rust's) and
# compares the pagemap images: Rust's PAGEMAP_SCAN dump with C's and with
# the pread() one, and the two pread() dumps with each other. Every step is one test of the suite line
#   suite: criu impl=IMPL pass=N fail=N skip=0
#
# On a kernel with guard regions (MADV_GUARD_INSTALL: 7.3, not 6.12)
# criu_pages has a guard segment and lists its guard regions; CRIU collects
# them with PAGEMAP_SCAN (PAGE_IS_GUARD) at the dump, even with
# CRIU_FAULT=135, and restores them from the mm image. Each round trip
# then also checks the dump's mm image against the list, and the pread()
# run allows exactly those ioctls.

CRIU_ROOT=/mnt/criu
CRIU_DEV=${CRIU_DEV:-/dev/vdc}
# Seconds for one criu command, and for the program to reach a state.
CRIU_TIMEOUT=${CRIU_TIMEOUT:-900}
CRIU_KHP=/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs

cstep() {
	if [ "$1" = 0 ]; then
		c_pass=$((c_pass + 1))
		echo "ok - criu $c_impl: $2"
	else
		c_fail=$((c_fail + 1))
		echo "not ok - criu $c_impl: $2"
	fi
}

# criu_mount: the root filesystem with proc, sys, cgroup2, dev, devpts and
# tmpfs on /run (CRIU's kerndat cache), /tmp and /work (images, program).
criu_mounted=0
criu_mount() {
	[ $criu_mounted = 1 ] && return 0
	[ -b "$CRIU_DEV" ] || { echo "# criu: no root filesystem disk $CRIU_DEV"; return 1; }
	mkdir -p $CRIU_ROOT /dev/pts
	mount -t ext2 -o ro "$CRIU_DEV" $CRIU_ROOT || return 1
	mount -t proc proc $CRIU_ROOT/proc &&
		mount -t sysfs sysfs $CRIU_ROOT/sys &&
		mount -t cgroup2 cgroup2 $CRIU_ROOT/sys/fs/cgroup &&
		mount --bind /dev $CRIU_ROOT/dev &&
		mount -t devpts -o newinstance,ptmxmode=0666 devpts $CRIU_ROOT/dev/pts &&
		mount -t tmpfs tmpfs $CRIU_ROOT/run &&
		mount -t tmpfs tmpfs $CRIU_ROOT/tmp &&
		mount -t tmpfs tmpfs $CRIU_ROOT/work &&
		cp /pmscan/bin/criu_pages $CRIU_ROOT/work/ &&
		ip link set lo up || return 1
	criu_mounted=1
	echo "# criu: $(chroot $CRIU_ROOT criu --version | tr '\n' ' ')"
}

criu_umount() {
	[ $criu_mounted = 1 ] || return 0
	for m in work tmp run dev/pts dev sys/fs/cgroup sys proc; do
		umount $CRIU_ROOT/$m
	done
	umount $CRIU_ROOT
	criu_mounted=0
}

# Seconds since boot (the guest's wall clock can step).
criu_now() { cut -d. -f1 /proc/uptime; }

# criu_wait FILE SECONDS PID: wait for process PID to create FILE; give up
# when it is gone (or a zombie).
criu_wait() {
	i=0
	while [ ! -f "$1" ]; do
		[ $i -lt $(($2 * 10)) ] || return 1
		grep -qs '^State:[^Z]*$' "/proc/$3/status" || [ -f "$1" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# criu_cmd LOG CRIU-ARGS...: run criu in the root filesystem (the
# arguments name its log file, LOG is where the guest sees it); on failure
# print the errors of the log. $CRIU_FAULT passes through.
criu_cmd() {
	clog=$1
	shift
	t0=$(criu_now)
	timeout "$CRIU_TIMEOUT" chroot $CRIU_ROOT criu "$@" -v4 > "$clog.out" 2>&1
	crc=$?
	echo "# criu $1: exit $crc in $(($(criu_now) - t0)) s"
	if [ $crc -ne 0 ]; then
		cat "$clog.out"
		grep -E 'Error|Warn' "$clog" | tail -20
	fi
	return $crc
}

# criu_roundtrip NAME: the round trip in /work/NAME, images in pre/ and
# dump/. Sets rt_calls and rt_reads: the ioctls and the pagemap reads Rust
# served during pre-dump and dump.
criu_roundtrip() {
	rt=$1
	d=/work/$rt
	hd=$CRIU_ROOT$d
	rt_calls=0
	mkdir -p "$hd/pre" "$hd/dump"
	rt0=$(criu_now)
	pre_calls=0
	settle_memory
	# Standard streams opened inside the root filesystem: CRIU dumps
	# files on the mounts it can see from there.
	# shellcheck disable=SC2016 # expanded by the guest's sh
	chroot $CRIU_ROOT /bin/sh -c \
		'exec /work/criu_pages "$0" < /dev/null > "$0/program.log" 2>&1' "$d" &
	pid=$!
	criu_wait "$hd/ready" "$CRIU_TIMEOUT" $pid
	ok=$?
	guards=0 what=""
	grep -qs '^guard ' "$hd/segments" && guards=1 what=", guard regions"
	cstep $ok "$rt: criu_pages set up (THP, huge zero page, 4K, holes, swap, file mappings$what; unix sockets, pipe, eventfd, memfd, SysV shm)"
	if [ $ok != 0 ]; then
		cat "$hd/program.log"
		kill -9 $pid 2>/dev/null
		wait $pid
		return 1
	fi
	grep '^#' "$hd/program.log"
	before=$(rust_calls)
	reads_before=$(rust_reads)
	if [ "$criu_track" = 1 ]; then
		criu_cmd "$hd/pre/pre-dump.log" pre-dump -t $pid -D "$d/pre" -o pre-dump.log --track-mem
		cstep $? "$rt: criu pre-dump --track-mem"
		pre_calls=$(($(rust_calls) - before))
	fi

	kill -USR1 $pid
	criu_wait "$hd/phase2" "$CRIU_TIMEOUT" $pid
	cstep $? "$rt: writes after the pre-dump"

	if [ "$criu_track" = 1 ]; then
		criu_cmd "$hd/dump/dump.log" dump -t $pid -D "$d/dump" -o dump.log \
			--prev-images-dir ../pre --track-mem
	else
		criu_cmd "$hd/dump/dump.log" dump -t $pid -D "$d/dump" -o dump.log
	fi
	ok=$?
	rt_calls=$(($(rust_calls) - before))
	rt_reads=$(($(rust_reads) - reads_before))
	cstep $ok "$rt: criu dump$criu_dump_args"
	if [ $ok != 0 ]; then
		kill -9 $pid 2>/dev/null
		wait $pid
		return 1
	fi
	wait $pid
	if [ $guards = 1 ]; then
		criu_guards "$rt"
		cstep $? "$rt: the dump's mm image has the $(wc -l < "$hd/guards") guard regions$dups"
	fi

	criu_cmd "$hd/dump/restore.log" restore -D "$d/dump" -o restore.log -d
	ok=$?
	[ $ok = 0 ] && [ -d /proc/$pid ] || ok=1
	cstep $ok "$rt: criu restore (pid $pid back)"
	[ $ok = 0 ] || return 1

	kill -USR2 $pid
	criu_wait "$hd/result" "$CRIU_TIMEOUT" $pid
	grep -q '^ok ' "$hd/result" 2>/dev/null
	ok=$?
	grep -E '^# (checked|all|files)|word|hole' "$hd/program.log"
	cstep $ok "$rt: restored process verified every page and its files: $(cat "$hd/result" 2>/dev/null)"
	# With 64K pages the page images of a round trip (its THPs are 512
	# MiB each) would leave the next one no room in the guest's memory:
	# only the pagemap and mm images, which the suite compares, are kept.
	if [ "${KPAGES:-4K}" = 64K ]; then
		wait $pid 2>/dev/null
		rm -f "$hd"/pre/pages-*.img "$hd"/dump/pages-*.img
	fi
	echo "# criu: $rt round trip in $(($(criu_now) - rt0)) s, $rt_calls ioctls and $rt_reads pagemap reads served by Rust ($pre_calls ioctls in the pre-dump)"
}

# The process's pagemap image (pagemap-PID.img), the one PAGEMAP_SCAN
# fills: the shared memory ones (pagemap-shmem-ID.img: the memfd, the SysV
# segment) are not, and their IDs differ between round trips.
criu_img() { ls "$CRIU_ROOT/work/$1/$2"/pagemap-[0-9]*.img 2>/dev/null; }

# criu_guards RUN: the guard regions the dump of RUN recorded in its mm
# image (VMA entries, field 14, of status VMA_AREA_GUARD, 7=0x10000) are
# the program's list at the dump (DIR/guards). Sets dups: a note when an
# entry is there twice (C's walk_end, see criu_pages.c), which only the
# Rust runs, and C with the fix of patches/upstream (0001), must not have.
criu_guards() {
	mm=$(ls "$CRIU_ROOT/work/$1/dump"/mm-*.img 2>/dev/null)
	dups=""
	[ -n "$mm" ] || { echo "# criu: $1: no mm image"; return 1; }
	/pmscan/bin/criu_pages --decode "$mm" --sub 14 |
		sed -n 's/^ 1=\(0x[0-9a-f]*\) 2=\(0x[0-9a-f]*\) .* 7=0x10000\( .*\)\{0,1\}$/\1-\2/p' \
		> /tmp/criu-guards.txt
	sort /tmp/criu-guards.txt | uniq -d > /tmp/criu-guards-dup.txt
	ndup=$(wc -l < /tmp/criu-guards-dup.txt)
	echo "# criu: $1: $(wc -l < /tmp/criu-guards.txt) guard entries in the mm image, $ndup twice"
	[ "$ndup" = 0 ] || dups=" ($ndup entries twice)"
	sort -u /tmp/criu-guards.txt > /tmp/criu-guards-u.txt
	sort "$CRIU_ROOT/work/$1/guards" > /tmp/criu-guards-want.txt
	if ! cmp -s /tmp/criu-guards-u.txt /tmp/criu-guards-want.txt; then
		echo "# criu: $1: guard regions recorded (<) and expected (>):"
		diff /tmp/criu-guards-u.txt /tmp/criu-guards-want.txt | head -20
		return 1
	fi
	[ "$ndup" = 0 ] || { [ "$c_impl" = c ] && ! c_has_fix walk_end_flush; }
}

# criu_guard_calls RUN: the PAGEMAP_SCAN calls with which CRIU collects
# the guard regions at the dump of RUN (the pre-dump does not), on Rust:
# 1000 regions per call (walk_end is the end when a call got them all).
criu_guard_calls() {
	r=$(wc -l < "$CRIU_ROOT/work/$1/guards")
	[ "$r" -gt 0 ] || r=1
	echo $(((r + 999) / 1000))
}

# criu_decode RUN STAGE [--only|--skip LO-HI]: the entries of a pagemap
# image, one per line (fields: 1 vaddr, 2 compat nr_pages, 4 flags
# 1 PARENT 2 LAZY 4 PRESENT, 5 nr_pages).
criu_decode() {
	img=$(criu_img "$1" "$2")
	shift 2
	[ -n "$img" ] && /pmscan/bin/criu_pages --decode "$img" "$@"
}

# criu_same A B: the pagemap images of the pre-dumps and of the dumps of
# round trips A and B are byte for byte the same (one process: one
# pagemap-PID.img each; the PIDs differ, the contents must not).
criu_same() {
	same=0
	for st in $criu_stages; do
		a=$(criu_img "$1" $st)
		b=$(criu_img "$2" $st)
		if [ -z "$a" ] || [ -z "$b" ]; then
			echo "# criu: $st pagemap image of $1 or $2 missing"
			same=1
		elif ! cmp "$a" "$b"; then
			echo "# criu: $st pagemap images of $1 and $2 differ:"
			criu_decode "$1" $st > /tmp/criu-a.txt
			criu_decode "$2" $st > /tmp/criu-b.txt
			diff /tmp/criu-a.txt /tmp/criu-b.txt | head -40
			same=1
		fi
	done
	return $same
}

# criu_merge: decoded pagemap entries (criu_decode) with each run of
# entries that continue one another (field 1 the vaddr, field 5 the pages)
# and agree on every other field printed as one entry. CRIU splits a run
# where a page pipe buffer fills: a dump of other pages before it (the
# pread() path's huge zero pages) moves the split, not the pages.
criu_merge() {
	ps=$(awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps)
	awk -v ps="$ps" '
	function out() { if (have) printf " 1=%s%s 5=0x%x\n", vs, rest, nr; have = 0 }
	!/ 1=0x[0-9a-f]* / || !/ 5=0x[0-9a-f]*$/ { out(); print; next }
	{
		v = 0; n = 0; r = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^1=/) { w = substr($i, 3); v = w + 0 }
			else if ($i ~ /^5=/) n = substr($i, 3) + 0
			else r = r " " $i
		}
		if (have && r == rest && v == va + nr * ps) { nr += n; next }
		out(); va = v; vs = w; nr = n; rest = r; have = 1
	}
	END { out() }'
}

# criu_covered A B: every page of the decoded entries in file A lies in an
# entry of file B with the same other fields (B's runs merged first: the
# pread() path dumps the huge zero pages beside a written THP, and CRIU
# makes one entry of them). Prints the entries of A that are not.
criu_covered() {
	criu_merge < "$2" > "$2.merged"
	awk -v ps="$(awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps)" '
	function parse(line) {
		v = 0; n = 0; r = ""
		k = split(line, f, " ")
		for (i = 1; i <= k; i++) {
			if (f[i] ~ /^1=/) v = substr(f[i], 3) + 0
			else if (f[i] ~ /^5=/) n = substr(f[i], 3) + 0
			else r = r " " f[i]
		}
	}
	FNR == NR { if ($0 ~ / 1=0x/ && $0 ~ / 5=0x/) { parse($0); bs[++nb] = v; be[nb] = v + n * ps; br[nb] = r }; next }
	!/ 1=0x/ || !/ 5=0x/ { next }
	{
		parse($0)
		for (j = 1; j <= nb; j++)
			if (br[j] == r && bs[j] <= v && v + n * ps <= be[j]) next
		print; bad = 1
	}
	END { exit bad }' "$2.merged" "$1"
}

# criu_same_hugezero A B: the same comparison, but of the entries outside
# the huge zero page segment (runs split apart merged, criu_merge); inside
# it, A's pages must be among B's (criu_covered).
# CRIU's pread() path (B) recognises only the 4K zero page's PFN and so
# dumps the pages mapped to the huge zero page, which PAGEMAP_SCAN reports
# as PFNZERO and CRIU skips.
criu_same_hugezero() {
	same=0
	hz=$(sed -n 's/^hugezero //p' "$CRIU_ROOT/work/$1/segments")
	for st in $criu_stages; do
		criu_decode "$1" $st --skip "$hz" | criu_merge > /tmp/criu-a.txt
		criu_decode "$2" $st --skip "$hz" | criu_merge > /tmp/criu-b.txt
		if [ -z "$hz" ] || ! cmp /tmp/criu-a.txt /tmp/criu-b.txt; then
			echo "# criu: $st pagemap images of $1 and $2 differ outside the huge zero page ($hz):"
			diff /tmp/criu-a.txt /tmp/criu-b.txt | head -40
			same=1
		fi
		criu_decode "$1" $st --only "$hz" > /tmp/criu-a.txt
		criu_decode "$2" $st --only "$hz" > /tmp/criu-b.txt
		if ! criu_covered /tmp/criu-a.txt /tmp/criu-b.txt; then
			echo "# criu: $st: pages of $1 in the huge zero page segment missing in $2"
			same=1
		fi
		echo "# criu: $st: huge zero page segment: $(($(wc -l < /tmp/criu-a.txt) - 1)) entries from $1, $(($(wc -l < /tmp/criu-b.txt) - 1)) from $2"
	done
	return $same
}

# criu_suite c|rust: the round trips with IMPL serving PAGEMAP_SCAN
criu_suite() {
	c_impl=$1 c_pass=0 c_fail=0
	s0=$(criu_now)
	if ! criu_mount || ! select_impl "$c_impl"; then
		echo "# criu: cannot set up the root filesystem or select $c_impl"
		echo "suite: criu impl=$c_impl pass=0 fail=1 skip=0"
		return
	fi
	# Same layout in every run (the pagemap images are compared) and no
	# THP collapse behind the dumps.
	aslr=$(cat /proc/sys/kernel/randomize_va_space)
	echo 0 > /proc/sys/kernel/randomize_va_space
	khp=$(cat $CRIU_KHP)
	echo 86400000 > $CRIU_KHP
	# CRIU caches what the kernel supports (PAGEMAP_SCAN included).
	rm -f $CRIU_ROOT/run/criu.kdat
	suite_before=$(rust_served)

	chroot $CRIU_ROOT criu check > /tmp/criu-check.out 2>&1
	ok=$?
	cat /tmp/criu-check.out
	grep -q 'Looks good' /tmp/criu-check.out || ok=1
	cstep $ok "criu check"
	# Memory tracking (soft-dirty): pre-dump and incremental dump, or
	# one dump where the architecture has no soft-dirty bits.
	if chroot $CRIU_ROOT criu check --feature mem_dirty_track > /dev/null 2>&1; then
		criu_track=1 criu_stages="pre dump"
		criu_dump_args=" --track-mem --prev-images-dir"
	else
		criu_track=0 criu_stages=dump criu_dump_args=""
		if [ "${KARCH:-x86_64}" = x86_64 ]; then
			cstep 1 "criu check --feature mem_dirty_track (x86_64 has soft-dirty)"
		else
			echo "# criu: no memory tracking ($KARCH has no soft-dirty bits): no pre-dump, one dump"
		fi
	fi

	criu_roundtrip "$c_impl"
	if [ "$c_impl" = rust ]; then
		[ "$rt_calls" -gt 0 ]
		cstep $? "Rust served CRIU's PAGEMAP_SCAN ioctls ($rt_calls in pre-dump and dump)"
		export CRIU_FAULT=135
		criu_roundtrip pread
		unset CRIU_FAULT
		if [ $guards = 1 ]; then
			gcalls=$(criu_guard_calls pread)
			[ "$rt_calls" -eq "$gcalls" ]
			cstep $? "CRIU_FAULT=135: pre-dump and dump read pagemap without PAGEMAP_SCAN but to collect guard regions ($rt_calls ioctls, $gcalls expected)"
		else
			[ "$rt_calls" -eq 0 ]
			cstep $? "CRIU_FAULT=135: pre-dump and dump read pagemap without PAGEMAP_SCAN ($rt_calls ioctls)"
		fi
		criu_same c rust
		cstep $? "pagemap images: Rust == C"
		criu_same_hugezero c pread
		cstep $? "pagemap images: C == pread() (but for the huge zero page pread() dumps)"
		for r in rust pread; do
			if [ "${KPAGES:-4K}" = 64K ]; then
				echo "# criu: pages-1.img not kept with 64K pages"
			elif cmp "$CRIU_ROOT/work/c/dump/pages-1.img" "$CRIU_ROOT/work/$r/dump/pages-1.img" >/dev/null; then
				echo "# criu: dump pages-1.img of c and $r identical"
			else
				echo "# criu: dump pages-1.img of c and $r differ (not compared)"
			fi
		done
		[ "$rt_reads" -gt 0 ]
		cstep $? "CRIU_FAULT=135: Rust served CRIU's pagemap reads ($rt_reads)"
		criu_same cread pread
		cstep $? "pagemap images of the pread() dumps: Rust == C"
	else
		# The pread() path on C: the oracle of the Rust run's.
		export CRIU_FAULT=135
		criu_roundtrip cread
		unset CRIU_FAULT
		calls=$(($(rust_served) - suite_before))
		[ "$calls" -eq 0 ]
		cstep $? "no ioctl or read served by Rust in the C run ($calls)"
	fi
	echo "$khp" > $CRIU_KHP
	echo "$aslr" > /proc/sys/kernel/randomize_va_space
	echo "# criu: suite on $c_impl in $(($(criu_now) - s0)) s"
	echo "suite: criu impl=$c_impl pass=$c_pass fail=$c_fail skip=0"
}
