/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 6.12 spellings of the names rust/helpers/mm_walk.c is written
 * against (those of the current kernel): the uffd bit without the _wp
 * suffix (it serves uffd-wp and uffd-rwp there), softleaf predicates over
 * swap entries, nestable lazy MMU mode, __rust_helper. Only the 6.12 tree
 * gets this file; it changes no behaviour: every name maps onto the 6.12
 * function the 6.12 helpers called.
 *
 * 6.12 itself already spells softleaf_t and softleaf_from_pte().
 */
#ifndef _RUST_HELPERS_MM_COMPAT_H
#define _RUST_HELPERS_MM_COMPAT_H

#include <linux/huge_mm.h>
#include <linux/pgtable.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>

/* 6.12 has no inlinable helpers: a helper is a plain function. */
#ifndef __rust_helper
#define __rust_helper
#endif

/* The uffd bit (uffd-wp only on 6.12). */
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

/* No uffd read-write protection on 6.12. */
static inline bool userfaultfd_rwp(struct vm_area_struct *vma)
{
	return false;
}

/* Nestable lazy MMU mode: 6.12 enters and leaves the arch mode directly. */
#define lazy_mmu_mode_enable()		arch_enter_lazy_mmu_mode()
#define lazy_mmu_mode_disable()		arch_leave_lazy_mmu_mode()

/* softleaf_t is swp_entry_t on 6.12. */
#define softleaf_from_pmd(pmd)		pmd_to_swp_entry(pmd)
#define softleaf_is_migration(e)	is_migration_entry(e)
#define softleaf_is_migration_write(e)	is_writable_migration_entry(e)
#define softleaf_is_hwpoison(e)		is_hwpoison_entry(e)
#define softleaf_is_marker(e)		is_pte_marker_entry(e)
#define softleaf_has_pfn(e)		is_pfn_swap_entry(e)
#define softleaf_to_folio(e)		pfn_swap_entry_folio(e)
#define softleaf_is_device_private_write(e) is_writable_device_private_entry(e)
#define pmd_is_migration_entry(pmd)	is_migration_entry(pmd_to_swp_entry(pmd))

/* No guard markers on 6.12. */
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
#endif

/*
 * 6.12 has writable device-exclusive entries; a uffd-wp entry must not
 * cache write permission.
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

#endif /* _RUST_HELPERS_MM_COMPAT_H */
