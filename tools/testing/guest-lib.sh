#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared guest-side helpers: implementation switch and result lines.
#
# Every suite run prints exactly one line
#   suite: <name> impl=<c|rust> pass=<n> fail=<n> skip=<n>
# A skip, a suite that runs fewer tests than it planned, a non-zero exit
# status and a run of zero tests all count as failures.

SYSFS=/sys/kernel/mm/pagemap_scan
MODULE=/pmscan/pagemap_scan_rs.ko

# c_has_fix NAME: the tree's C has fix NAME of the upstream series
# (PMSCAN_TREE_C_FIXES, tools/tree/facts.py).
c_has_fix() {
	case " ${PMSCAN_TREE_C_FIXES:-} " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}
impl_now() { cat $SYSFS/impl 2>/dev/null || echo c; }
rust_calls() { cat $SYSFS/rust_calls 2>/dev/null || echo 0; }
rust_reads() { cat $SYSFS/rust_reads 2>/dev/null || echo 0; }
# Ioctls and reads of pagemap files the Rust handler served.
rust_served() { echo $(( $(rust_calls) + $(rust_reads) )); }

# load_rust: make sure the module is loaded (a fresh load routes the ioctl
# to Rust; an already loaded one keeps its sysfs selection).
# Built into the kernel (KVARIANT=builtin), the handler is always
# registered: "loading" routes the ioctl to it.
load_rust() {
	if [ "${KVARIANT:-default}" = builtin ]; then
		echo rust > $SYSFS/impl && [ "$(impl_now)" = rust ]
		return
	fi
	grep -q '^pagemap_scan_rs ' /proc/modules && return 0
	insmod $MODULE && [ "$(impl_now)" = rust ]
}

# rmmod_busy: unload the module. A scan in flight pins it, so rmmod fails
# at once with "busy" then: route new scans to C first, then retry (up to
# 10 s of 20 ms steps) until the Rust scans in flight are done. Counts the
# busy refusals in $busy.
busy=0
rmmod_busy() {
	i=0
	echo c > $SYSFS/impl 2>/dev/null
	while ! rmmod pagemap_scan_rs 2>/dev/null; do
		grep -q '^pagemap_scan_rs ' /proc/modules || return 1
		busy=$((busy + 1))
		i=$((i + 1))
		[ $i -lt 500 ] || { rmmod pagemap_scan_rs; return 1; }
		sleep 0.02
	done
}

unload_rust() {
	if [ "${KVARIANT:-default}" = builtin ]; then
		echo c > $SYSFS/impl && [ "$(impl_now)" = c ]
		return
	fi
	grep -q '^pagemap_scan_rs ' /proc/modules || return 0
	rmmod_busy && [ "$(impl_now)" = c ]
}

# select_impl c|rust|rust-vs-c: route PAGEMAP_SCAN ioctls to that
# implementation (rust-vs-c: load the module, the program switches itself).
select_impl() {
	if [ "$1" = rust-vs-c ]; then load_rust; return; fi
	if [ "$1" = rust ]; then load_rust || return 1; fi
	echo "$1" > $SYSFS/impl 2>/dev/null || [ "$1" = c ]
	[ "$(impl_now)" = "$1" ]
}

# served_failures NAME IMPL CALLS: 1 (with a message) when the ioctls and
# reads of a run did not come from IMPL: a Rust run the handler served none
# of, or a C run it served some of (a silent fallback either way); else 0.
served_failures() {
	if [ "$2" != c ] && [ "$3" -eq 0 ]; then
		echo "# $1: the Rust handler served no ioctl or read" >&2
		echo 1
	elif [ "$2" = c ] && [ "$3" -ne 0 ]; then
		echo "# $1: the Rust handler served $3 ioctls and reads on a C run" >&2
		echo 1
	else
		echo 0
	fi
}

# emit_suite NAME IMPL FILE RC [CALLS]: turn kselftest TAP output into a suite line.
emit_suite() {
	name=$1 impl=$2 file=$3 rc=$4 calls=$5
	totals=$(grep '^# Totals:' "$file" | tail -1)
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$file" | tail -1)
	pass=$(echo "$totals" | sed -n 's/.*Totals: pass:\([0-9]*\).*/\1/p')
	fail=$(echo "$totals" | sed -n 's/.* fail:\([0-9]*\).*/\1/p')
	skip=$(echo "$totals" | sed -n 's/.* skip:\([0-9]*\).*/\1/p')
	err=$(echo "$totals" | sed -n 's/.* error:\([0-9]*\).*/\1/p')
	xfail=$(echo "$totals" | sed -n 's/.* xfail:\([0-9]*\).*/\1/p')
	pass=${pass:-0} fail=${fail:-0} skip=${skip:-0} err=${err:-0} xfail=${xfail:-0}
	fail=$((fail + err))
	if [ -z "$totals" ]; then
		echo "# $name: no kselftest totals line"
		fail=$((fail + 1))
	fi
	ran=$((pass + fail + skip + xfail))
	if [ "$ran" -eq 0 ]; then
		echo "# $name: ran no test"
		fail=$((fail + 1))
	fi
	if [ -n "$plan" ] && [ "$ran" -lt "$plan" ]; then
		echo "# $name: planned $plan tests, ran $ran"
		fail=$((fail + plan - ran))
	fi
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && [ "$skip" -eq 0 ]; then
		echo "# $name: exit status $rc"
		fail=$((fail + 1))
	fi
	if [ -n "$calls" ]; then
		fail=$((fail + $(served_failures "$name" "$impl" "$calls")))
	fi
	echo "suite: $name impl=$impl pass=$pass fail=$fail skip=$skip"
}

# run_on NAME IMPL CMD...: run CMD with IMPL serving PAGEMAP_SCAN and
# pagemap reads; sets out (its output, also printed), rc and calls (ioctls
# and reads Rust served). Fails,
# after printing a failed suite line, when IMPL cannot be selected.
run_on() {
	name=$1 impl=$2
	shift 2
	if ! select_impl "$impl"; then
		echo "# $name: cannot select implementation $impl"
		echo "suite: $name impl=$impl pass=0 fail=1 skip=0"
		return 1
	fi
	settle_memory
	before=$(rust_served)
	out=/tmp/suite.$name.$impl.out
	"$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	calls=$(( $(rust_served) - before ))
}

# settle_memory: with 64K pages a THP (and the huge zero page) is an
# order-13 block of 512 MiB, which the suites before can leave fragmented:
# drop the page cache and compact memory first. (With 4K pages a THP is
# an order-9 block: nothing is done, as before.)
settle_memory() {
	[ "${KPAGES:-4K}" = 64K ] || return 0
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo 1 > /proc/sys/vm/compact_memory
}

# run_ksft NAME IMPL CMD...: run a kselftest-style program on IMPL.
run_ksft() {
	run_on "$@" || return
	emit_suite "$name" "$impl" "$out" "$rc" "$calls"
}

# unload_under_load SECONDS: tasks scan in a loop and check every result
# while the module is loaded and unloaded over and over.
unload_under_load() {
	secs=$1
	busy=0
	unload_rust
	before=$(rust_calls)
	/pmscan/bin/unload_race "$secs" 2 > /tmp/race.out 2>&1 &
	pid=$!
	reloads=0 bad=0
	end=$(( $(date +%s) + secs - 2 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		insmod $MODULE || bad=$((bad + 1))
		sleep 0.2
		rmmod_busy || bad=$((bad + 1))
		sleep 0.1
		reloads=$((reloads + 1))
	done
	wait $pid
	rc=$?
	cat /tmp/race.out
	calls=$(( $(rust_calls) - before ))
	echo "# unload_race: $reloads load/unload cycles ($bad failed, $busy rmmod refused while scans ran), $calls scans served by Rust"
	pass=0 fail=0
	if [ $rc -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	if [ $bad -eq 0 ] && [ $reloads -gt 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	if [ $calls -gt 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	echo "suite: unload_race impl=rust pass=$pass fail=$fail skip=0"
}

# run_libtest NAME IMPL CMD...: run a Rust libtest binary on IMPL and turn
# its "test result:" line into a suite line.
run_libtest() {
	run_on "$@" || return
	res=$(grep '^test result:' "$out" | tail -1)
	pass=$(echo "$res" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
	fail=$(echo "$res" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	skip=$(echo "$res" | sed -n 's/.* \([0-9]*\) ignored.*/\1/p')
	pass=${pass:-0} fail=${fail:-0} skip=${skip:-0}
	[ -n "$res" ] || { echo "# $name: no test result line"; fail=$((fail + 1)); }
	[ $((pass + fail + skip)) -gt 0 ] || { echo "# $name: ran no test"; fail=$((fail + 1)); }
	if [ $rc -ne 0 ] && [ $fail -eq 0 ]; then fail=1; fi
	fail=$((fail + $(served_failures "$name" "$impl" "$calls")))
	echo "suite: $name impl=$impl pass=$pass fail=$fail skip=$skip"
}

# run_programs NAME IMPL PROG...: each program is one test, passed when it
# exits 0.
run_programs() {
	name=$1 impl=$2
	shift 2
	if ! select_impl "$impl"; then
		echo "suite: $name impl=$impl pass=0 fail=1 skip=0"
		return
	fi
	before=$(rust_calls)
	pass=0 fail=0 skip=0
	for p in "$@"; do
		if "$p"; then pass=$((pass + 1)); else echo "# $name: $p failed"; fail=$((fail + 1)); fi
	done
	calls=$(( $(rust_calls) - before ))
	fail=$((fail + $(served_failures "$name" "$impl" "$calls")))
	echo "suite: $name impl=$impl pass=$pass fail=$fail skip=$skip"
}

# stress_run SECONDS: pmscan_stress on the Rust module while the module is
# unloaded and reloaded in a loop (scans then alternate between C and Rust).
# On the debug kernel the module stays loaded, so every scan is Rust's: in
# a reload window C serves the scans, and C's make_uffd_wp_pte() sets the
# uffd-wp bit on a writable migration entry (the defect migrate_wp pins),
# which CONFIG_PAGE_TABLE_CHECK reports as a WARNING (seen on 7.3), failing
# the run for C's splat. Reloads under load are still tested there by
# unload_under_load, and under stress on the default kernel.
stress_run() {
	secs=$1
	busy=0
	load_rust
	before=$(rust_calls)
	/pmscan/bin/pmscan_stress "$secs" > /tmp/stress.out 2>&1 &
	pid=$!
	reloads=0 bad=0
	end=$(( $(date +%s) + secs - 1 ))
	if [ "${KVARIANT:-default}" = debug ]; then
		echo "# stress: debug kernel: no module reloads, every scan served by Rust"
		end=0
	fi
	while [ "$(date +%s)" -lt "$end" ]; do
		sleep 1
		# Built in (KVARIANT=builtin), these switch to C and back.
		unload_rust || bad=$((bad + 1))
		sleep 0.5
		load_rust || bad=$((bad + 1))
		reloads=$((reloads + 1))
	done
	wait $pid
	rc=$?
	cat /tmp/stress.out
	# 128+N: the program died of signal N (it names a catchable one).
	if [ $rc -ne 0 ]; then
		echo "# stress: pmscan_stress exit status $rc"
		# Unhandled user faults are logged at KERN_INFO, off the console
		# (debug.exception-trace, tools/vm/init).
		dmesg | grep -e pmscan_stress -e 'Out of memory' | tail -5 | sed 's/^/# stress: /'
		# Who is left to have sent a signal (the program names the sender).
		ps -o pid,ppid,args | sed 's/^/# stress: ps: /'
	fi
	calls=$(( $(rust_calls) - before ))
	echo "# stress: $reloads module reloads or switches ($bad failed, $busy rmmod refused while scans ran), $calls ioctls served by Rust"
	[ $bad -eq 0 ] || echo "not ok - module reloads failed"
	emit_suite stress rust /tmp/stress.out "$(( rc + bad ))" "$calls"
}

# kunit_suite NAME: the result of a KUnit suite that ran at boot.
kunit_suite() {
	res=$(dmesg | sed -n "s/.*# $1: pass:\([0-9]*\) fail:\([0-9]*\) skip:\([0-9]*\).*/\1 \2 \3/p" | tail -1)
	if [ -n "$res" ]; then
		set -- "$1" $res
		echo "suite: $1 impl=kunit pass=$2 fail=$3 skip=$4"
	else
		echo "# $1: no KUnit result in the kernel log"
		echo "suite: $1 impl=kunit pass=0 fail=1 skip=0"
	fi
}
