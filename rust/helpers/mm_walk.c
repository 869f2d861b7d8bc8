// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the page table walk abstractions in rust/kernel/mm/: thin
 * wrappers of the inline functions and macros a PAGEMAP_SCAN walk needs.
 */

/* Before hugetlb.h, whose generic flush_hugetlb_tlb_range() needs it. */
#include <asm/tlbflush.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>
#include <linux/pte_info.h>
#include <linux/sched/signal.h>
#include <linux/swapops.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

/* mm and mmap lock */
bool rust_helper_mmget_not_zero(struct mm_struct *mm)
{
	return mmget_not_zero(mm);
}

int rust_helper_mmap_read_lock_killable(struct mm_struct *mm)
{
	return mmap_read_lock_killable(mm);
}

void rust_helper_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

bool rust_helper_fatal_signal_pending_current(void)
{
	return fatal_signal_pending(current);
}

void rust_helper_cond_resched(void)
{
	cond_resched();
}

/* user pointers */
bool rust_helper_access_ok(unsigned long addr, unsigned long size)
{
	return access_ok((void __user *)addr, size);
}

unsigned long rust_helper_untagged_addr(unsigned long addr)
{
	return untagged_addr(addr);
}

/* VMAs */
bool rust_helper_userfaultfd_wp(struct vm_area_struct *vma)
{
	return userfaultfd_wp(vma);
}

bool rust_helper_userfaultfd_wp_use_markers(struct vm_area_struct *vma)
{
	return userfaultfd_wp_use_markers(vma);
}

bool rust_helper_is_vm_hugetlb_page(struct vm_area_struct *vma)
{
	return is_vm_hugetlb_page(vma);
}

/*
 * x86 hides flush_tlb_range() from modules (#ifndef MODULE), and bindgen
 * parses this file with -DMODULE: it sees the prototype, vmlinux gets the
 * definition.
 */
void rust_helper_flush_tlb_range(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end);
#ifndef MODULE
void rust_helper_flush_tlb_range(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end)
{
	flush_tlb_range(vma, start, end);
}
#endif

/* mmu notifiers */
void
rust_helper_mmu_notifier_range_init_protection_vma(struct mmu_notifier_range *range,
						   struct mm_struct *mm,
						   unsigned long start,
						   unsigned long end)
{
	mmu_notifier_range_init(range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, start, end);
}

void rust_helper_mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_start(range);
}

void rust_helper_mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_end(range);
}

/* PTEs: see include/linux/pte_info.h */
static __always_inline u8 pte_classes(pte_t pte)
{
	u8 info;

	if (pte_none(pte))
		return 0;
	if (pte_present(pte)) {
		info = PTE_INFO_PRESENT;
		if (pte_uffd_wp(pte))
			info |= PTE_INFO_UFFD_WP;
		if (pte_soft_dirty(pte))
			info |= PTE_INFO_SOFT_DIRTY;
		if (is_zero_pfn(pte_pfn(pte)))
			info |= PTE_INFO_ZERO_PFN;
		return info;
	}
	info = PTE_INFO_SWAP;
	if (pte_swp_soft_dirty(pte))
		info |= PTE_INFO_SWP_SOFT_DIRTY;
	if (pte_swp_uffd_wp_any(pte))
		info |= PTE_INFO_SWP_UFFD_WP;
	return info;
}

/* Write-protected for userfaultfd, present or not (swap entry, marker). */
static __always_inline bool pte_protected(pte_t pte)
{
	if (pte_present(pte))
		return pte_uffd_wp(pte);
	return pte_swp_uffd_wp_any(pte);
}

/* The swap entry @swp refers to a page (migration, device) of a file. */
static inline bool swp_entry_is_file(swp_entry_t swp)
{
	return is_pfn_swap_entry(swp) &&
	       !folio_test_anon(pfn_swap_entry_folio(swp));
}

static inline u8 pte_classes_file(struct vm_area_struct *vma,
				  unsigned long addr, pte_t pte)
{
	u8 info = pte_classes(pte);
	struct page *page;

	if (info & PTE_INFO_PRESENT) {
		page = vm_normal_page(vma, addr, pte);
		if (page && !PageAnon(page))
			info |= PTE_INFO_FILE;
	} else if (info && swp_entry_is_file(pte_to_swp_entry(pte))) {
		info |= PTE_INFO_FILE;
	}
	return info;
}

/*
 * Maps and locks the PTE table of @addr under @pmd, and enters lazy MMU mode
 * as the C walkers do around their PTE loops. NULL if there is no table any
 * more (the walk must retry the PMD).
 */
pte_t *rust_helper_pte_table_lock(struct mm_struct *mm, pmd_t *pmd,
				  unsigned long addr, spinlock_t **ptlp)
{
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, ptlp);

	if (pte)
		arch_enter_lazy_mmu_mode();
	return pte;
}

void rust_helper_pte_table_unlock(pte_t *pte, spinlock_t *ptl)
{
	pte_unmap_unlock(pte, ptl);
	arch_leave_lazy_mmu_mode();
}

/*
 * Reads the @nr entries from @ptep, which map @addr onwards in @vma, and
 * stores what @query asks of each in @info (PTE_INFO_* bits). The table lock
 * must be held.
 */
void rust_helper_ptes_query(struct vm_area_struct *vma, unsigned long addr,
			    pte_t *ptep, unsigned int nr, u8 *info,
			    enum pte_query query)
{
	unsigned int i;

	switch (query) {
	case PTE_QUERY_FILE:
		for (i = 0; i < nr; i++, addr += PAGE_SIZE)
			info[i] = pte_classes_file(vma, addr, ptep_get(ptep + i));
		break;
	default:
		for (i = 0; i < nr; i++)
			info[i] = pte_classes(ptep_get(ptep + i));
		break;
	}
}

/*
 * One bit per entry of the @nr (at most 64) from @ptep, set if the entry is
 * not write-protected for userfaultfd. The table lock must be held.
 */
u64 rust_helper_ptes_unprotected(pte_t *ptep, unsigned int nr)
{
	u64 mask = 0;
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (!pte_protected(ptep_get(ptep + i)))
			mask |= BIT_ULL(i);
	return mask;
}

bool rust_helper_is_pte_marker(pte_t pte)
{
	return is_pte_marker(pte);
}

pte_t rust_helper_pte_swp_mkuffd_wp(pte_t pte)
{
	return pte_swp_mkuffd_wp(pte);
}

/*
 * A swap PTE write-protected for uffd. As in change_pte_range(), a writable
 * migration or device entry becomes read-only first: an entry must not both
 * carry uffd-wp and cache write permission (page_table_check warns).
 */
static pte_t pte_swp_mkuffd_wp_readonly(pte_t pte)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	pte_t newpte = pte;

	if (is_writable_migration_entry(entry)) {
		if (folio_test_anon(pfn_swap_entry_folio(entry)))
			entry = make_readable_exclusive_migration_entry(swp_offset(entry));
		else
			entry = make_readable_migration_entry(swp_offset(entry));
		newpte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(pte))
			newpte = pte_swp_mksoft_dirty(newpte);
	} else if (is_writable_device_private_entry(entry)) {
		entry = make_readable_device_private_entry(swp_offset(entry));
		newpte = swp_entry_to_pte(entry);
	} else if (is_writable_device_exclusive_entry(entry)) {
		entry = make_readable_device_exclusive_entry(swp_offset(entry));
		newpte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(pte))
			newpte = pte_swp_mksoft_dirty(newpte);
	}
	return pte_swp_mkuffd_wp(newpte);
}

/* The same for a hugetlb migration entry (same swap entry encoding). */
pte_t rust_helper_huge_pte_swp_mkuffd_wp_readonly(pte_t pte)
{
	return pte_swp_mkuffd_wp_readonly(pte);
}

pte_t rust_helper_make_pte_marker_uffd_wp(void)
{
	return make_pte_marker(PTE_MARKER_UFFD_WP);
}

/*
 * Write-protects the @nr entries from @ptep, which map @addr onwards in @vma,
 * for userfaultfd: a present page gets the uffd-wp bit, a swap entry its swap
 * uffd-wp bit (read-only first, see above), an empty entry a uffd-wp marker.
 * The table lock must be held; the caller flushes the TLB.
 */
void rust_helper_ptes_make_uffd_wp(struct vm_area_struct *vma,
				   unsigned long addr, pte_t *ptep,
				   unsigned int nr)
{
	pte_t old, pte;

	for (; nr; nr--, ptep++, addr += PAGE_SIZE) {
		pte = ptep_get(ptep);
		if (pte_present(pte)) {
			old = ptep_modify_prot_start(vma, addr, ptep);
			ptep_modify_prot_commit(vma, addr, ptep, old,
						pte_mkuffd_wp(old));
		} else if (is_swap_pte(pte)) {
			set_pte_at(vma->vm_mm, addr, ptep,
				   pte_swp_mkuffd_wp_readonly(pte));
		} else {
			set_pte_at(vma->vm_mm, addr, ptep,
				   make_pte_marker(PTE_MARKER_UFFD_WP));
		}
	}
}

/* PMDs */
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
static __always_inline u8 pmd_classes(pmd_t pmd)
{
	u8 info;

	if (pmd_none(pmd))
		return 0;
	if (pmd_present(pmd)) {
		info = PTE_INFO_PRESENT;
		if (pmd_uffd_wp(pmd))
			info |= PTE_INFO_UFFD_WP;
		if (pmd_soft_dirty(pmd))
			info |= PTE_INFO_SOFT_DIRTY;
		if (is_huge_zero_pmd(pmd))
			info |= PTE_INFO_ZERO_PFN;
		return info;
	}
	info = PTE_INFO_SWAP;
	if (pmd_swp_uffd_wp(pmd))
		info |= PTE_INFO_SWP_UFFD_WP;
	if (pmd_swp_soft_dirty(pmd))
		info |= PTE_INFO_SWP_SOFT_DIRTY;
	return info;
}

/*
 * pmd_trans_huge_lock(), and if it locked a huge or swap PMD, its state in
 * *@info (PTE_INFO_* bits; ZERO_PFN for the huge zero page, FILE only if
 * @file).
 */
spinlock_t *rust_helper_pmd_huge_lock_info(struct vm_area_struct *vma,
					   unsigned long addr, pmd_t *pmdp,
					   bool file, u8 *info)
{
	spinlock_t *ptl = pmd_trans_huge_lock(pmdp, vma);
	struct page *page;
	pmd_t pmd;

	if (!ptl)
		return NULL;
	pmd = pmdp_get(pmdp);
	*info = pmd_classes(pmd);
	if (!file)
		return ptl;
	if (pmd_present(pmd)) {
		page = vm_normal_page_pmd(vma, addr, pmd);
		if (page && !PageAnon(page))
			*info |= PTE_INFO_FILE;
	} else if (is_swap_pmd(pmd) && swp_entry_is_file(pmd_to_swp_entry(pmd))) {
		*info |= PTE_INFO_FILE;
	}
	return ptl;
}

/*
 * rust_helper_pte_table_lock() for a walker that changes nothing and looks
 * at no page, unless @pmdp maps a transparent huge page or is a huge swap
 * entry: then NULL, and its state in *@huge (PTE_INFO_* bits), read under
 * the PMD lock as pmd_trans_huge_lock() would, so that a split or a
 * migration in progress is seen before or after, never half done. NULL
 * with *@huge = -1 if there is no table any more.
 */
pte_t *rust_helper_pte_table_lock_or_huge(struct mm_struct *mm, pmd_t *pmdp,
					  unsigned long addr, spinlock_t **ptlp,
					  int *huge)
{
	pmd_t pmd = pmdp_get_lockless(pmdp);

	if (is_swap_pmd(pmd) || pmd_trans_huge(pmd) || pmd_devmap(pmd)) {
		spinlock_t *ptl = pmd_lock(mm, pmdp);

		pmd = pmdp_get(pmdp);
		if (is_swap_pmd(pmd) || pmd_trans_huge(pmd) || pmd_devmap(pmd)) {
			*huge = pmd_classes(pmd);
			spin_unlock(ptl);
			return NULL;
		}
		/* Split (or zapped) meanwhile: look at the table. */
		spin_unlock(ptl);
	}
	*huge = -1;
	return rust_helper_pte_table_lock(mm, pmdp, addr, ptlp);
}

pmd_t rust_helper_pmdp_get(pmd_t *pmdp)
{
	return pmdp_get(pmdp);
}

bool rust_helper_pmd_is_migration_entry(pmd_t pmd)
{
	return is_migration_entry(pmd_to_swp_entry(pmd));
}

pmd_t rust_helper_pmd_mkuffd_wp(pmd_t pmd)
{
	return pmd_mkuffd_wp(pmd);
}

/* The PMD counterpart of pte_swp_mkuffd_wp_readonly(). */
pmd_t rust_helper_pmd_swp_mkuffd_wp_readonly(pmd_t pmd)
{
	swp_entry_t entry = pmd_to_swp_entry(pmd);
	pmd_t newpmd = pmd;

	if (is_writable_migration_entry(entry)) {
		if (folio_test_anon(pfn_swap_entry_folio(entry)))
			entry = make_readable_exclusive_migration_entry(swp_offset(entry));
		else
			entry = make_readable_migration_entry(swp_offset(entry));
		newpmd = swp_entry_to_pmd(entry);
		if (pmd_swp_soft_dirty(pmd))
			newpmd = pmd_swp_mksoft_dirty(newpmd);
	}
	return pmd_swp_mkuffd_wp(newpmd);
}

void rust_helper_set_pmd_at(struct mm_struct *mm, unsigned long addr,
			    pmd_t *pmdp, pmd_t pmd)
{
	set_pmd_at(mm, addr, pmdp, pmd);
}

void rust_helper_split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
				unsigned long addr)
{
	split_huge_pmd(vma, pmd, addr);
}
#endif /* CONFIG_TRANSPARENT_HUGEPAGE */

/* hugetlb */
#ifdef CONFIG_HUGETLB_PAGE
unsigned long rust_helper_vma_huge_page_size(struct vm_area_struct *vma)
{
	return huge_page_size(hstate_vma(vma));
}

/*
 * huge_ptep_get(), and the entry's state in *@info (PTE_INFO_* bits with the
 * huge_pte_*() predicates; with @file, FILE for a present page that is not
 * anonymous).
 */
pte_t rust_helper_huge_ptep_get_info(struct mm_struct *mm, unsigned long addr,
				     pte_t *ptep, bool file, u8 *info)
{
	pte_t pte = huge_ptep_get(mm, addr, ptep);
	u8 i = 0;

	if (pte_present(pte)) {
		i = PTE_INFO_PRESENT;
		if (huge_pte_uffd_wp(pte))
			i |= PTE_INFO_UFFD_WP;
		if (file && !PageAnon(pte_page(pte)))
			i |= PTE_INFO_FILE;
		if (is_zero_pfn(pte_pfn(pte)))
			i |= PTE_INFO_ZERO_PFN;
		if (pte_soft_dirty(pte))
			i |= PTE_INFO_SOFT_DIRTY;
	} else if (is_swap_pte(pte)) {
		i = PTE_INFO_SWAP;
		if (pte_swp_uffd_wp_any(pte))
			i |= PTE_INFO_SWP_UFFD_WP;
		if (pte_swp_soft_dirty(pte))
			i |= PTE_INFO_SWP_SOFT_DIRTY;
	}
	*info = i;
	return pte;
}

bool rust_helper_huge_pte_none(pte_t pte)
{
	return huge_pte_none(pte);
}

pte_t rust_helper_huge_pte_mkuffd_wp(pte_t pte)
{
	return huge_pte_mkuffd_wp(pte);
}

spinlock_t *rust_helper_huge_pte_lock(struct vm_area_struct *vma, pte_t *ptep)
{
	return huge_pte_lock(hstate_vma(vma), vma->vm_mm, ptep);
}

void rust_helper_i_mmap_lock_write_vma(struct vm_area_struct *vma)
{
	i_mmap_lock_write(vma->vm_file->f_mapping);
}

void rust_helper_i_mmap_unlock_write_vma(struct vm_area_struct *vma)
{
	i_mmap_unlock_write(vma->vm_file->f_mapping);
}

void rust_helper_set_huge_pte_at(struct vm_area_struct *vma, unsigned long addr,
				 pte_t *ptep, pte_t pte)
{
	set_huge_pte_at(vma->vm_mm, addr, ptep, pte,
			huge_page_size(hstate_vma(vma)));
}

pte_t rust_helper_huge_ptep_modify_prot_start(struct vm_area_struct *vma,
					      unsigned long addr, pte_t *ptep)
{
	return huge_ptep_modify_prot_start(vma, addr, ptep);
}

void rust_helper_huge_ptep_modify_prot_commit(struct vm_area_struct *vma,
					      unsigned long addr, pte_t *ptep,
					      pte_t old_pte, pte_t pte)
{
	huge_ptep_modify_prot_commit(vma, addr, ptep, old_pte, pte);
}

void rust_helper_flush_hugetlb_tlb_range(struct vm_area_struct *vma,
					 unsigned long start, unsigned long end);
#ifndef MODULE
void rust_helper_flush_hugetlb_tlb_range(struct vm_area_struct *vma,
					 unsigned long start, unsigned long end)
{
	flush_hugetlb_tlb_range(vma, start, end);
}
#endif
#endif /* CONFIG_HUGETLB_PAGE */

vm_flags_t rust_helper_vma_flags(const struct vm_area_struct *vma)
{
	return vma->vm_flags;
}
