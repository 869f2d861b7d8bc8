#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What the kernel build exports for the Rust PAGEMAP_SCAN handler: the mm
# functions (and the hook's stand-ins for what modules do not get) that
# fs/proc/pagemap_scan.c exports to a module build of the handler, read
# from the build's Module.symvers. Built in (CONFIG_PAGEMAP_SCAN_RUST=y)
# the set must be empty; as a module it must be exactly the set
# Documentation/rust-pagemap-scan.rst lists for the tree (which depends on
# whether helpers are inlined into Rust, CONFIG_RUST_INLINE_HELPERS).
# Prints the set and "suite: exports impl=host pass=N fail=N skip=0".
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/kver.sh"
symvers=$KOUT/Module.symvers
config=$KOUT/.config

# Every symbol the overlay could export for the handler (and the ones it
# must never export: mm data, the bare TLB flush).
candidates="walk_page_range uffd_wp_range userfaultfd_wp_async pmdp_invalidate_ad
huge_pte_alloc pte_offset_map_lock vm_normal_page vm_normal_page_pmd
__pmd_trans_huge_lock __split_huge_pmd userfaultfd_wp_unpopulated
is_hugetlb_entry_migration is_hugetlb_entry_hwpoisoned huge_zero_pfn
huge_zero_folio flush_tlb_range flush_tlb_mm_range
pagemap_scan_flush_tlb_range pagemap_scan_is_huge_zero_pmd
rust_helper_flush_tlb_range rust_helper_flush_hugetlb_tlb_range
ptep_modify_prot_start ptep_modify_prot_commit huge_ptep_get"

# The set the module build needs (Documentation/rust-pagemap-scan.rst): what
# it calls itself; what rustc inlines into it of the kernel crate calls from
# vmlinux.
want_module="walk_page_range userfaultfd_wp_async pmdp_invalidate_ad"
if grep -qx CONFIG_RUST_INLINE_HELPERS=y "$config"; then
	want_module="$want_module pagemap_scan_flush_tlb_range pagemap_scan_is_huge_zero_pmd
		pte_offset_map_lock vm_normal_page vm_normal_page_pmd __pmd_trans_huge_lock
		__split_huge_pmd userfaultfd_wp_unpopulated"
	# arm64's out-of-line PTE transaction and hugetlb read.
	if grep -qx CONFIG_ARM64=y "$config"; then
		want_module="$want_module ptep_modify_prot_start ptep_modify_prot_commit huge_ptep_get"
	fi
else
	want_module="$want_module rust_helper_flush_tlb_range"
fi

pass=0 fail=0
check() {
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi
}

[ -f "$symvers" ] && [ -f "$config" ]
check $? "$symvers and $config exist"
setting=$(sed -n 's/^CONFIG_PAGEMAP_SCAN_RUST=\(.\)$/\1/p' "$config")
case "$setting" in
y) want="" ;;
m) want=$want_module ;;
*) want="" ; check 1 "CONFIG_PAGEMAP_SCAN_RUST is ${setting:-not set}, not y or m" ;;
esac

have=$(for s in $candidates; do
	awk -v s="$s" '$2 == s && $3 == "vmlinux" { print $2 " (" $4 (NF > 4 ? ", " $5 : "") ")" }' "$symvers"
done)
echo "# exported for the handler (CONFIG_PAGEMAP_SCAN_RUST=$setting):"
if [ -n "$have" ]; then printf '%s\n' "$have" | sed 's/^/#   /'; else echo "#   none"; fi
have_names=$(printf '%s\n' "$have" | awk 'NF { print $1 }' | sort)
want_names=$(printf '%s\n' $want | sort)
extra=$(comm -23 <(printf '%s\n' "$have_names") <(printf '%s\n' "$want_names") | grep . || true)
missing=$(comm -13 <(printf '%s\n' "$have_names") <(printf '%s\n' "$want_names") | grep . || true)
[ -z "$extra" ]
check $? "nothing exported beyond the documented set${extra:+ (extra: $(echo $extra))}"
[ -z "$missing" ]
check $? "the documented set is what is exported${missing:+ (missing: $(echo $missing))}"
for s in huge_zero_pfn huge_zero_folio flush_tlb_range flush_tlb_mm_range; do
	! awk -v s="$s" '$2 == s && $3 == "vmlinux"' "$symvers" | grep -q .
	check $? "$s is not exported"
done
# Only a module build names the module: the exports go to it alone where
# the tree can say so (EXPORT_SYMBOL_FOR_MODULES).
if [ "$setting" = m ] && grep -q 'define EXPORT_SYMBOL_FOR_MODULES' "$KSRC/include/linux/export.h"; then
	leak=$(printf '%s\n' "$have" | grep -v 'module:pagemap_scan_rs' || true)
	[ -z "$leak" ]
	check $? "every one is exported to pagemap_scan_rs only"
fi
helpers=$(grep -c '	rust_helper_' "$symvers")
[ "$helpers" = 0 ] ||
	echo "# (and $helpers rust_helper_* symbols: a tree without inlinable helpers exports every helper)"
echo "suite: exports impl=host pass=$pass fail=$fail skip=0"
[ "$fail" = 0 ]
