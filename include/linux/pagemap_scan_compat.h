/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where the C of the PAGEMAP_SCAN hook (fs/proc/pagemap_scan.c)
 * and of the Rust walk helpers (rust/helpers/mm_walk.c) meets the differences
 * between the kernel trees it is built on. The code is written against the
 * current kernel's names; each section below maps them onto an older tree's,
 * keyed by what differs, never by which tree it is:
 *
 *  - exports to named modules (EXPORT_SYMBOL_FOR_MODULES());
 *  - __rust_helper: defined by the helpers.c of trees that can inline
 *    helpers into Rust (CONFIG_RUST_INLINE_HELPERS), absent elsewhere;
 *  - the softleaf API (<linux/leafops.h>) and what arrived before it:
 *    the uffd bit without the _wp suffix (it serves uffd-wp and uffd-rwp),
 *    guard markers, nestable lazy MMU mode, read-only device-exclusive
 *    entries, folio_maybe_mapped_shared(), and pagemap_read()'s page of
 *    a huge PMD;
 *  - VMA flags as a bitmap (mk_vma_flags()).
 *
 * No mapping changes behaviour: every name maps onto the function the older
 * tree's own code calls.
 */
#ifndef _LINUX_PAGEMAP_SCAN_COMPAT_H
#define _LINUX_PAGEMAP_SCAN_COMPAT_H

#include <linux/mm.h>

/* A tree without inlinable helpers: a helper is a plain function. */
#ifndef __rust_helper
#define __rust_helper
#endif

#include <linux/huge_mm.h>
#include <linux/pgtable.h>
#include <linux/swap.h>
#include <linux/swapops.h>
/* Includes <linux/leafops.h>, the softleaf API, where there is one. */
#include <linux/userfaultfd_k.h>

#ifdef _LINUX_LEAFOPS_H

/* Device-exclusive entries carry no write permission: nothing to drop. */
static inline pte_t pte_swp_device_exclusive_readonly(pte_t pte)
{
	return pte;
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/*
 * The page of a present huge PMD, as pagemap_read() finds it: none for the
 * huge zero page; the head page's exclusivity stands for each subpage's.
 */
static inline struct page *walk_thp_page(struct vm_area_struct *vma,
					 unsigned long addr, pmd_t pmd)
{
	return vm_normal_page_pmd(vma, addr, pmd);
}

static inline struct page *walk_thp_subpage(struct page *page, unsigned int i)
{
	return page;
}

/* Whether walk_thp_subpage() is a different page for each i. */
#define WALK_THP_SUBPAGES	false
#endif
#else /* no softleaf API: the names of Linux 6.12 */

/* softleaf_t, softleaf_from_pte() and softleaf_to_pfn() are spelled already. */

/* The uffd bit (uffd-wp only). */
#define pte_uffd(pte)			pte_uffd_wp(pte)
#define pte_mkuffd(pte)			pte_mkuffd_wp(pte)
#define pte_swp_uffd(pte)		pte_swp_uffd_wp(pte)
#define pte_swp_mkuffd(pte)		pte_swp_mkuffd_wp(pte)
#define pte_swp_uffd_any(pte)		pte_swp_uffd_wp_any(pte)
#define pmd_uffd(pmd)			pmd_uffd_wp(pmd)
#define pmd_mkuffd(pmd)			pmd_mkuffd_wp(pmd)
#define pmd_swp_uffd(pmd)		pmd_swp_uffd_wp(pmd)
#define pmd_swp_mkuffd(pmd)		pmd_swp_mkuffd_wp(pmd)
#define huge_pte_uffd(pte)		huge_pte_uffd_wp(pte)
#define huge_pte_mkuffd(pte)		huge_pte_mkuffd_wp(pte)
#ifdef CONFIG_X86_64
#define _PAGE_BIT_UFFD			_PAGE_BIT_UFFD_WP
#endif

/* No uffd read-write protection. */
static inline bool userfaultfd_rwp(struct vm_area_struct *vma)
{
	return false;
}

/* No nestable lazy MMU mode: enter and leave the arch mode directly. */
#define lazy_mmu_mode_enable()		arch_enter_lazy_mmu_mode()
#define lazy_mmu_mode_disable()		arch_leave_lazy_mmu_mode()

/* softleaf_t is swp_entry_t. */
#define softleaf_from_pmd(pmd)		pmd_to_swp_entry(pmd)
#define softleaf_is_migration(e)	is_migration_entry(e)
#define softleaf_is_migration_write(e)	is_writable_migration_entry(e)
#define softleaf_is_hwpoison(e)		is_hwpoison_entry(e)
#define softleaf_is_marker(e)		is_pte_marker_entry(e)
#define softleaf_has_pfn(e)		is_pfn_swap_entry(e)
#define softleaf_to_folio(e)		pfn_swap_entry_folio(e)
#define softleaf_is_device_private_write(e) is_writable_device_private_entry(e)
#define pmd_is_migration_entry(pmd)	is_migration_entry(pmd_to_swp_entry(pmd))
#define softleaf_to_page(e)		pfn_swap_entry_to_page(e)
#define folio_maybe_mapped_shared(f)	folio_likely_mapped_shared(f)
#define softleaf_is_uffd_wp_marker(e)	pte_marker_entry_uffd_wp(e)

/* No guard markers. */
static inline bool softleaf_is_guard_marker(softleaf_t entry)
{
	return false;
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/* A PMD that maps a huge page or holds a huge swap entry. */
static inline bool pmd_is_huge(pmd_t pmd)
{
	return is_swap_pmd(pmd) || pmd_trans_huge(pmd) || pmd_devmap(pmd);
}

/*
 * The page of a present huge PMD, as this tree's pagemap_read() finds it
 * (pmd_page(): the huge zero page is a page of no anonymous folio), and the
 * exclusivity of each subpage its own.
 */
static inline struct page *walk_thp_page(struct vm_area_struct *vma,
					 unsigned long addr, pmd_t pmd)
{
	return pmd_page(pmd);
}

static inline struct page *walk_thp_subpage(struct page *page, unsigned int i)
{
	return page + i;
}

#define WALK_THP_SUBPAGES	true
#endif

/*
 * Device-exclusive entries can be writable; a uffd-wp entry must not cache
 * write permission.
 */
static inline pte_t pte_swp_device_exclusive_readonly(pte_t pte)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	pte_t newpte;

	if (!is_writable_device_exclusive_entry(entry))
		return pte;
	entry = make_readable_device_exclusive_entry(swp_offset(entry));
	newpte = swp_entry_to_pte(entry);
	if (pte_swp_soft_dirty(pte))
		newpte = pte_swp_mksoft_dirty(newpte);
	return newpte;
}

#endif /* _LINUX_LEAFOPS_H */

/* The VMA flags hugetlb_file_setup() accounts with. */
#ifdef mk_vma_flags
#define PAGEMAP_SCAN_VMA_NORESERVE	mk_vma_flags(VMA_NORESERVE_BIT)
#else
#define PAGEMAP_SCAN_VMA_NORESERVE	VM_NORESERVE
#endif

#ifndef CONFIG_RUST_INLINE_HELPERS
/* The walk helper the hook exports to a module build (rust/helpers/mm_walk.c). */
void rust_helper_flush_tlb_range(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end);
#endif

/*
 * What the hook gives a handler built as a module (IS_MODULE(
 * CONFIG_PAGEMAP_SCAN_RUST)) in place of what the kernel keeps from
 * modules; see fs/proc/pagemap_scan.c.
 */
void pagemap_scan_flush_tlb_range(struct vm_area_struct *vma,
				  unsigned long start, unsigned long end);
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
bool pagemap_scan_is_huge_zero_pmd(pmd_t pmd);
#endif

/*
 * Exports to the module build of the handler, pagemap_scan_rs, only (and
 * only in that build); a tree that cannot name the module exports to GPL
 * modules.
 */
#if IS_MODULE(CONFIG_PAGEMAP_SCAN_RUST)
#ifdef EXPORT_SYMBOL_FOR_MODULES
#define EXPORT_SYMBOL_FOR_PAGEMAP_SCAN_RS(sym) \
	EXPORT_SYMBOL_FOR_MODULES(sym, "pagemap_scan_rs")
#else
#define EXPORT_SYMBOL_FOR_PAGEMAP_SCAN_RS(sym) EXPORT_SYMBOL_GPL(sym)
#endif
#endif

#endif /* _LINUX_PAGEMAP_SCAN_COMPAT_H */
