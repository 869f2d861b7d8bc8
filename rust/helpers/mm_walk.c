// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the page table walk abstractions in rust/kernel/mm/: thin
 * wrappers of the inline functions and macros a PAGEMAP_SCAN walk needs.
 *
 * Written against the current kernel's names (softleaf, pte_uffd(),
 * lazy_mmu_mode_enable(), __rust_helper); <linux/pagemap_scan_compat.h>
 * maps them onto an older tree's.
 */

/* Before hugetlb.h, whose generic flush_hugetlb_tlb_range() needs it. */
#include <asm/tlbflush.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagemap_scan.h>
#include <linux/pagemap_scan_compat.h>
#include <linux/pagewalk.h>
#include <linux/pte_info.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/swapops.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>
#include <linux/userfaultfd_k.h>

/* mm and mmap lock */
__rust_helper int rust_helper_mmap_read_lock_killable(struct mm_struct *mm)
{
	return mmap_read_lock_killable(mm);
}

__rust_helper bool rust_helper_fatal_signal_pending_current(void)
{
	return fatal_signal_pending(current);
}

__rust_helper void rust_helper_cond_resched(void)
{
	cond_resched();
}

__rust_helper unsigned long rust_helper_mm_task_size(struct mm_struct *mm)
{
	return mm->task_size;
}

/*
 * An address of @mm without its tag bits (LAM); the mmap lock must be held,
 * as the untag mask can change otherwise.
 */
__rust_helper unsigned long rust_helper_untagged_addr_remote(struct mm_struct *mm,
							     unsigned long addr)
{
	return untagged_addr_remote(mm, addr);
}

/* Whether the opener of @file could see physical addresses (CAP_SYS_ADMIN). */
__rust_helper bool rust_helper_file_opener_sys_admin(struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
}

/* PAGEMAP_SCAN's bounce buffer: @n regions, uninitialised, as C's. */
__rust_helper void *rust_helper_pagemap_scan_alloc_regions(size_t n)
{
	return kmalloc_array(n, sizeof(struct page_region), GFP_KERNEL);
}

/* user pointers */
__rust_helper bool rust_helper_access_ok(unsigned long addr, unsigned long size)
{
	return access_ok((void __user *)addr, size);
}

__rust_helper unsigned long rust_helper_untagged_addr(unsigned long addr)
{
	return untagged_addr(addr);
}

/* VMAs */
__rust_helper bool rust_helper_userfaultfd_wp(struct vm_area_struct *vma)
{
	return userfaultfd_wp(vma);
}

__rust_helper bool rust_helper_userfaultfd_rwp(struct vm_area_struct *vma)
{
	return userfaultfd_rwp(vma);
}

__rust_helper bool rust_helper_userfaultfd_wp_use_markers(struct vm_area_struct *vma)
{
	return userfaultfd_wp_use_markers(vma);
}

__rust_helper bool rust_helper_is_vm_hugetlb_page(struct vm_area_struct *vma)
{
	return is_vm_hugetlb_page(vma);
}

/*
 * TLB flushes. x86 keeps flush_tlb_range() from modules (#ifndef MODULE),
 * so where the helper can end up in one, the hook flushes for it:
 *  - helpers inlined into Rust code (CONFIG_RUST_INLINE_HELPERS): built into
 *    the kernel they flush directly; inlined into a module (MODULE) they
 *    call the hook's pagemap_scan_flush_tlb_range(), which only a module
 *    build of the handler gets exported;
 *  - helpers built into the kernel: such a tree exports every helper to
 *    modules (rust/exports.c lists the T, R, D and B symbols of helpers.o),
 *    which this one must not be. It is weak (W), so off that list; the hook
 *    exports it to a module build of the handler only. bindgen reads this
 *    file with MODULE defined: it sees the prototype.
 */
#ifdef CONFIG_RUST_INLINE_HELPERS
__rust_helper void rust_helper_flush_tlb_range(struct vm_area_struct *vma,
					       unsigned long start, unsigned long end)
{
#ifdef MODULE
	pagemap_scan_flush_tlb_range(vma, start, end);
#else
	flush_tlb_range(vma, start, end);
#endif
}
#else
void rust_helper_flush_tlb_range(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end);
#ifndef MODULE
__weak void rust_helper_flush_tlb_range(struct vm_area_struct *vma,
					unsigned long start, unsigned long end)
{
	flush_tlb_range(vma, start, end);
}
#endif
#endif

/* mmu notifiers */
__rust_helper void
rust_helper_mmu_notifier_range_init_protection_vma(struct mmu_notifier_range *range,
						   struct mm_struct *mm,
						   unsigned long start,
						   unsigned long end)
{
	mmu_notifier_range_init(range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, start, end);
}

__rust_helper void rust_helper_mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_start(range);
}

__rust_helper void rust_helper_mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_end(range);
}

/* PTEs: see include/linux/pte_info.h */

/* The bits of a present @pte but PTE_INFO_ZERO_PFN and PTE_INFO_FILE. */
static __always_inline u8 pte_present_classes(pte_t pte)
{
	u8 info = PTE_INFO_PRESENT;

	if (pte_uffd(pte))
		info |= PTE_INFO_UFFD;
	if (pte_soft_dirty(pte))
		info |= PTE_INFO_SOFT_DIRTY;
	return info;
}

static __always_inline u8 pte_classes(pte_t pte)
{
	u8 info;

	if (pte_none(pte))
		return 0;
	if (pte_present(pte)) {
		info = pte_present_classes(pte);
		if (is_zero_pfn(pte_pfn(pte)))
			info |= PTE_INFO_ZERO_PFN;
		return info;
	}
	info = PTE_INFO_SWAP;
	if (pte_swp_soft_dirty(pte))
		info |= PTE_INFO_SOFT_DIRTY;
	if (pte_swp_uffd_any(pte))
		info |= PTE_INFO_UFFD;
	if (softleaf_is_guard_marker(softleaf_from_pte(pte)))
		info |= PTE_INFO_GUARD;
	return info;
}

/* The softleaf entry @entry refers to a page (migration, device) of a file. */
static inline bool softleaf_is_file(softleaf_t entry)
{
	return softleaf_has_pfn(entry) &&
	       !folio_test_anon(softleaf_to_folio(entry));
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
	} else if ((info & PTE_INFO_SWAP) && !(info & PTE_INFO_GUARD) &&
		   softleaf_is_file(softleaf_from_pte(pte))) {
		info |= PTE_INFO_FILE;
	}
	return info;
}

/* Frames: see struct pte_frame in include/linux/pte_info.h. */

/*
 * Whether @page of @folio is mapped by one page table entry only, by this
 * tree's rule for /proc/PID/pagemap: the page's own mapcount where pages
 * have one (CONFIG_NO_PAGE_MAPCOUNT unset, or a tree without the option),
 * else whether the folio may be mapped more than once.
 */
static inline bool walk_page_mapped_exclusively(struct folio *folio, struct page *page)
{
#ifndef CONFIG_NO_PAGE_MAPCOUNT
	int mapcount = atomic_read(&page->_mapcount) + 1;

	if (page_mapcount_is_type(mapcount))
		mapcount = 0;
	if (folio_test_large(folio))
		mapcount += folio_entire_mapcount(folio);
	return mapcount == 1;
#else
	return !folio_maybe_mapped_shared(folio);
#endif
}

/* What @frame says of its @page (NULL: none): anonymous or not, exclusive. */
static __always_inline void frame_page(struct pte_frame *frame, struct folio *folio,
				       struct page *page)
{
	if (!page)
		return;
	frame->page |= PTE_PAGE_NORMAL;
	if (!folio_test_anon(folio))
		frame->info |= PTE_INFO_FILE;
	if ((frame->info & PTE_INFO_PRESENT) &&
	    walk_page_mapped_exclusively(folio, page))
		frame->page |= PTE_PAGE_EXCLUSIVE;
}

/* The swap fields of @frame for the softleaf entry @entry. */
static __always_inline void frame_softleaf(struct pte_frame *frame, softleaf_t entry)
{
	frame->swp_type = swp_type(entry);
	frame->swp_offset = swp_offset(entry);
	if (softleaf_has_pfn(entry)) {
		frame->pfn = softleaf_to_pfn(entry);
		frame->page |= PTE_PAGE_PFN;
	}
}

/*
 * The frame of @pte, which is not empty and maps @addr in @vma. A present
 * entry's is computed first, without pte_classes(): PTE_INFO_ZERO_PFN is not
 * evaluated (vm_normal_page() finds no page for the zero page), and the swap
 * fields are not written.
 */
static __always_inline void pte_frame(struct vm_area_struct *vma, unsigned long addr,
				      pte_t pte, struct pte_frame *frame)
{
	struct folio *folio;
	struct page *page;
	softleaf_t entry;
	u8 info, pg = 0;

	if (pte_present(pte)) {
		info = pte_present_classes(pte);
		page = vm_normal_page(vma, addr, pte);
		if (page) {
			folio = page_folio(page);
			pg = PTE_PAGE_NORMAL;
			if (!folio_test_anon(folio))
				info |= PTE_INFO_FILE;
			if (walk_page_mapped_exclusively(folio, page))
				pg |= PTE_PAGE_EXCLUSIVE;
		}
		frame->pfn = pte_pfn(pte);
		frame->info = info;
		frame->page = pg;
		return;
	}
	*frame = (struct pte_frame) { .info = pte_classes(pte) };
	entry = softleaf_from_pte(pte);
	/*
	 * The uffd bit of a swap entry whether or not the tree has uffd-wp
	 * markers (pte_swp_uffd_any() is false without
	 * CONFIG_PTE_MARKER_UFFD_WP), as pagemap_read() reads it.
	 */
	if (pte_swp_uffd(pte) || softleaf_is_uffd_wp_marker(entry))
		frame->info |= PTE_INFO_UFFD;
	frame_softleaf(frame, entry);
	if (softleaf_has_pfn(entry)) {
		page = softleaf_to_page(entry);
		frame_page(frame, page_folio(page), page);
	}
}

/*
 * Reads the @nr (at most 64) entries from @ptep, which map @addr onwards in
 * @vma: the frame of entry i into @frames[i], unless the entry is empty
 * (pte_none()): bit i of the mask returned says it is not. An empty entry
 * costs no store (a sparse table is mostly empty entries). The table lock
 * must be held.
 */
__rust_helper u64 rust_helper_ptes_frames(struct vm_area_struct *vma, unsigned long addr,
					  pte_t *ptep, unsigned int nr,
					  struct pte_frame *frames)
{
	u64 mask = 0, m;
	unsigned long i;

	/* Which entries are not empty, two a round; then only those. */
	for (i = 0; i + 1 < nr; i += 2) {
		if (!pte_none(ptep_get(ptep + i)))
			mask |= BIT_ULL(i);
		if (!pte_none(ptep_get(ptep + i + 1)))
			mask |= BIT_ULL(i + 1);
	}
	if (i < nr && !pte_none(ptep_get(ptep + i)))
		mask |= BIT_ULL(i);
	if (hweight64(mask) * 2 < nr) {
		for (m = mask; m; m &= m - 1) {
			i = __ffs64(m);
			pte_frame(vma, addr + i * PAGE_SIZE, ptep_get(ptep + i), frames + i);
		}
		return mask;
	}
	/* Mostly populated: in order. */
	for (i = 0; i < nr; i++, addr += PAGE_SIZE)
		if (mask & BIT_ULL(i))
			pte_frame(vma, addr, ptep_get(ptep + i), frames + i);
	return mask;
}

/*
 * Maps and locks the PTE table of @addr under @pmd, and enters lazy MMU mode
 * as the C walkers do around their PTE loops. NULL if there is no table any
 * more (the walk must retry the PMD).
 */
__rust_helper pte_t *rust_helper_pte_table_lock(struct mm_struct *mm, pmd_t *pmd,
						unsigned long addr, spinlock_t **ptlp)
{
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, ptlp);

	if (pte)
		lazy_mmu_mode_enable();
	return pte;
}

__rust_helper void rust_helper_pte_table_unlock(pte_t *pte, spinlock_t *ptl)
{
	lazy_mmu_mode_disable();
	pte_unmap_unlock(pte, ptl);
}

/* One entry of rust_helper_ptes_query(), PTE_QUERY_CLASSES. */
static __always_inline void pte_classes_at(pte_t *ptep, u8 *info, unsigned long i)
{
	pte_t pte = ptep_get(ptep + i);

	if (!pte_none(pte))
		info[i] = pte_classes(pte);
}

#ifdef CONFIG_X86_64
/*
 * x86-64 reads eight entries at a time where a table's entries are mostly
 * alike: they are read with one load each, their bits combined in
 * registers, and one test decides for the eight (the icount figures are in
 * Documentation/benchmark.rst, "Eight entries at a time").
 */
#define HAVE_PTE_GROUPS

/*
 * Entry @j from @ptep as ptep_get() reads it on x86 (the generic
 * READ_ONCE(*ptep)), but as a READ_ONCE() of its pteval_t: clang copies a
 * volatile pte_t through the stack, a store per entry.
 */
static __always_inline pteval_t pte_val_at(pte_t *ptep, unsigned int j)
{
	return READ_ONCE(ptep[j].pte);
}

/*
 * The OR of the eight entries from @ptep, and their AND (written out: a
 * loop over volatile loads is not unrolled; separate, so that an OR alone
 * is a load-and-or per entry). x86's pte_none() tests bits that are clear
 * in an empty entry, so all eight are none if the OR is (tested on the raw
 * value: under paravirt __pte() translates frames); all are present if the
 * AND has _PAGE_PRESENT.
 */
static __always_inline pteval_t pte_or8(pte_t *ptep)
{
	return pte_val_at(ptep, 0) | pte_val_at(ptep, 1) | pte_val_at(ptep, 2) |
	       pte_val_at(ptep, 3) | pte_val_at(ptep, 4) | pte_val_at(ptep, 5) |
	       pte_val_at(ptep, 6) | pte_val_at(ptep, 7);
}

static __always_inline bool ptes_none8(pte_t *ptep)
{
	return pte_none(native_make_pte(pte_or8(ptep)));
}

static __always_inline bool ptes_present8(pte_t *ptep)
{
	return pte_val_at(ptep, 0) & pte_val_at(ptep, 1) & pte_val_at(ptep, 2) &
	       pte_val_at(ptep, 3) & pte_val_at(ptep, 4) & pte_val_at(ptep, 5) &
	       pte_val_at(ptep, 6) & pte_val_at(ptep, 7) & _PAGE_PRESENT;
}

#ifdef CONFIG_HAVE_ARCH_USERFAULTFD_WP
#define HAVE_PTE_BITS8

/*
 * The present bit and the uffd bit of the eight entries from @ptep in one
 * word: x86 keeps them ten bits apart, so entry j's two bits moved up j
 * places land on no other's, and the eight of each bit are a byte; no test
 * and branch per bit.
 */
static __always_inline u64 pte_bits8(pte_t *ptep)
{
	const u64 keep = _PAGE_PRESENT | BIT_ULL(_PAGE_BIT_UFFD);
	u64 bits;

	BUILD_BUG_ON(_PAGE_BIT_UFFD - _PAGE_BIT_PRESENT < 8 || _PAGE_BIT_UFFD + 7 > 63);
	bits = pte_val_at(ptep, 0) & keep;
	bits |= (pte_val_at(ptep, 1) & keep) << 1;
	bits |= (pte_val_at(ptep, 2) & keep) << 2;
	bits |= (pte_val_at(ptep, 3) & keep) << 3;
	bits |= (pte_val_at(ptep, 4) & keep) << 4;
	bits |= (pte_val_at(ptep, 5) & keep) << 5;
	bits |= (pte_val_at(ptep, 6) & keep) << 6;
	bits |= (pte_val_at(ptep, 7) & keep) << 7;
	return bits;
}
#endif
#endif

/*
 * @one(@ptep, @info, i) for each i below @nr, two a round: half the loop's
 * overhead (inlined, @one a constant: no indirect call).
 */
static __always_inline void ptes_each_by_two(pte_t *ptep, u8 *info, unsigned int nr,
					     void (*one)(pte_t *, u8 *, unsigned long))
{
	unsigned long i;

	for (i = 0; i + 1 < nr; i += 2) {
		one(ptep, info, i);
		one(ptep, info, i + 1);
	}
	if (i < nr)
		one(ptep, info, i);
}

/*
 * Reads the @nr entries from @ptep, which map @addr onwards in @vma, and
 * stores what @query asks of each in @info (PTE_INFO_* bits). An empty entry
 * has info 0, which is not stored: the caller zeroes @info first (a sparse
 * table is mostly empty entries, and the store was a tenth of their cost).
 * The table lock must be held.
 *
 * A loop in a helper, not in Rust: where helpers are calls (6.12), a call
 * per predicate and entry cost anon4k 5.49M instructions per scan, one call
 * per 64 entries 1.11M (C 3.30M; Documentation/benchmark.rst, "How each
 * optimization moved the ratios", step 1). Where they are inlined (7.3)
 * the loop in Rust over a one-entry helper measured slower still (icount,
 * 7.3: anon4k 0.318 -> 0.362 of C, sparse 0.752 -> 0.928; benchmark.rst,
 * "Helpers thin where it costs nothing"), so it stays here on both trees.
 */
__rust_helper void rust_helper_ptes_query(struct vm_area_struct *vma, unsigned long addr,
					  pte_t *ptep, unsigned int nr, u8 *info,
					  enum pte_query query)
{
	unsigned long i;
	pte_t pte;

	switch (query) {
	case PTE_QUERY_FILE:
		for (i = 0; i < nr; i++) {
			pte = ptep_get(ptep + i);
			if (!pte_none(pte))
				info[i] = pte_classes_file(vma, addr + i * PAGE_SIZE, pte);
		}
		break;
	default:
		ptes_each_by_two(ptep, info, nr, pte_classes_at);
		break;
	}
}

/* Entry @i of rust_helper_ptes_presence(). */
static __always_inline void pte_presence_at(pte_t *ptep, unsigned long i,
					    u64 *not_none, u64 *present)
{
	pte_t pte = ptep_get(ptep + i);

	if (!pte_none(pte)) {
		*not_none |= BIT_ULL(i);
		if (pte_present(pte))
			*present |= BIT_ULL(i);
	}
}

/*
 * @one(@ptep, i, @a, @b) for each i in [@from, @to), two a round: as
 * ptes_each_by_two(), for the helpers that collect a bit per entry in two
 * words.
 */
static __always_inline void ptes_bits_by_two(pte_t *ptep, unsigned long from, unsigned long to,
					     void (*one)(pte_t *, unsigned long, u64 *, u64 *),
					     u64 *a, u64 *b)
{
	unsigned long i;

	for (i = from; i + 1 < to; i += 2) {
		one(ptep, i, a, b);
		one(ptep, i + 1, a, b);
	}
	if (i < to)
		one(ptep, i, a, b);
}

/*
 * One bit per entry of the @nr (at most 64) from @ptep, set if the entry is
 * not none; in *@present, if it is present. The table lock must be held.
 * Nothing else of an entry is read: a walker that only locates what is
 * mapped finds its runs in the two words. On x86-64 eight entries at a
 * time first: a group of empty entries (most of a sparse table) or of
 * present ones (a populated range) is decided by one test.
 */
__rust_helper u64 rust_helper_ptes_presence(pte_t *ptep, unsigned int nr, u64 *present)
{
	u64 not_none = 0, pres = 0;
	unsigned long i = 0;

#ifdef HAVE_PTE_GROUPS
	for (; i + 8 <= nr; i += 8) {
		if (ptes_none8(ptep + i))
			continue;
		if (ptes_present8(ptep + i)) {
			/* Not GENMASK_ULL(i + 7, i): three shifts, not one. */
			not_none |= 0xffULL << i;
			pres |= 0xffULL << i;
			continue;
		}
		/* Written out: a mixed group is most of a sparse table's cost. */
		pte_presence_at(ptep, i, &not_none, &pres);
		pte_presence_at(ptep, i + 1, &not_none, &pres);
		pte_presence_at(ptep, i + 2, &not_none, &pres);
		pte_presence_at(ptep, i + 3, &not_none, &pres);
		pte_presence_at(ptep, i + 4, &not_none, &pres);
		pte_presence_at(ptep, i + 5, &not_none, &pres);
		pte_presence_at(ptep, i + 6, &not_none, &pres);
		pte_presence_at(ptep, i + 7, &not_none, &pres);
	}
#endif
	ptes_bits_by_two(ptep, i, nr, pte_presence_at, &not_none, &pres);
	*present = pres;
	return not_none;
}

/*
 * Entry @i of rust_helper_ptes_unprotected(): its bit in *@mask if it is
 * present and not write-protected, in *@other if it is not present.
 */
static __always_inline void pte_unprotected_at(pte_t *ptep, unsigned long i,
					       u64 *mask, u64 *other)
{
	pte_t pte = ptep_get(ptep + i);

	if (!pte_present(pte))
		*other |= BIT_ULL(i);
	else if (!pte_uffd(pte))
		*mask |= BIT_ULL(i);
}

/*
 * One bit per entry of the @nr (at most 64) from @ptep, set if the entry is
 * not write-protected for userfaultfd, present or not (swap entry, marker).
 * The table lock must be held.
 *
 * A loop in a helper for the same reason as rust_helper_ptes_query(): the
 * wp harvest went from 20.0k to 13.2k instructions per PMD with it (C 13.5k;
 * benchmark.rst, step 3). A Rust loop over inlined one-entry helpers (7.3)
 * took wp from 1.061 to 1.426 of C.
 */
__rust_helper u64 rust_helper_ptes_unprotected(pte_t *ptep, unsigned int nr)
{
	u64 mask = 0, other = 0;
	unsigned long i = 0;
	pte_t pte;

#ifdef HAVE_PTE_BITS8
	/*
	 * Eight at a time: their _PAGE_PRESENT bits and uffd bits. An entry
	 * with _PAGE_PRESENT clear (empty, swap entry, marker, and PROT_NONE,
	 * which pte_present() counts as present) goes to the general test.
	 */
	u64 present = 0, uffd = 0;

	for (; i + 8 <= nr; i += 8) {
		u64 bits = pte_bits8(ptep + i);

		present |= (u64)(u8)(bits >> _PAGE_BIT_PRESENT) << i;
		uffd |= (u64)(u8)(bits >> _PAGE_BIT_UFFD) << i;
	}
	if (i) {
		mask = present & ~uffd;
		other = ~present & GENMASK_ULL(i - 1, 0);
	}
#endif
	/* Or two a round, and the rest. */
	ptes_bits_by_two(ptep, i, nr, pte_unprotected_at, &mask, &other);
	/*
	 * Then the others (empty, swap entries, markers; on x86-64 PROT_NONE
	 * entries too): under the same lock.
	 */
	while (other) {
		i = __ffs64(other);
		other &= other - 1;
		pte = ptep_get(ptep + i);
		if (pte_present(pte) ? !pte_uffd(pte) : !pte_swp_uffd_any(pte))
			mask |= BIT_ULL(i);
	}
	return mask;
}

__rust_helper bool rust_helper_pte_is_marker(pte_t pte)
{
	return softleaf_is_marker(softleaf_from_pte(pte));
}

/*
 * A swap PTE write-protected for uffd. As in change_pte_range(), a writable
 * migration or device entry becomes read-only first: an entry must not both
 * carry uffd-wp and cache write permission (page_table_check warns).
 */
static inline pte_t pte_swp_mkuffd_readonly(pte_t pte)
{
	softleaf_t entry = softleaf_from_pte(pte);
	pte_t newpte = pte;

	if (softleaf_is_migration_write(entry)) {
		if (folio_test_anon(softleaf_to_folio(entry)))
			entry = make_readable_exclusive_migration_entry(swp_offset(entry));
		else
			entry = make_readable_migration_entry(swp_offset(entry));
		newpte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(pte))
			newpte = pte_swp_mksoft_dirty(newpte);
	} else if (softleaf_is_device_private_write(entry)) {
		entry = make_readable_device_private_entry(swp_offset(entry));
		newpte = swp_entry_to_pte(entry);
	} else {
		/* A tree with writable device-exclusive entries: read-only. */
		newpte = pte_swp_device_exclusive_readonly(pte);
	}
	return pte_swp_mkuffd(newpte);
}

/* The same for a hugetlb migration entry (same swap entry encoding). */
__rust_helper pte_t rust_helper_huge_pte_swp_mkuffd_wp_readonly(pte_t pte)
{
	return pte_swp_mkuffd_readonly(pte);
}

__rust_helper pte_t rust_helper_make_pte_marker_uffd_wp(void)
{
	return make_pte_marker(PTE_MARKER_UFFD_WP);
}

/*
 * Write-protects the entry @ptep, which maps @addr in @vma, for userfaultfd:
 * a present page gets the uffd-wp bit, a swap entry its swap uffd-wp bit
 * (read-only first, see above), an empty entry a uffd-wp marker.
 */
static __always_inline void pte_make_uffd_wp(struct vm_area_struct *vma,
					     unsigned long addr, pte_t *ptep)
{
	pte_t old, pte = ptep_get(ptep);

	if (pte_present(pte)) {
		old = ptep_modify_prot_start(vma, addr, ptep);
		ptep_modify_prot_commit(vma, addr, ptep, old, pte_mkuffd(old));
	} else if (!pte_none(pte)) {
		set_pte_at(vma->vm_mm, addr, ptep, pte_swp_mkuffd_readonly(pte));
	} else {
		set_pte_at(vma->vm_mm, addr, ptep,
			   make_pte_marker(PTE_MARKER_UFFD_WP));
	}
}

/*
 * Write-protects the @nr entries from @ptep, which map @addr onwards in @vma,
 * for userfaultfd. The table lock must be held; the caller flushes the TLB.
 */
__rust_helper void rust_helper_ptes_make_uffd_wp(struct vm_area_struct *vma,
						 unsigned long addr, pte_t *ptep,
						 unsigned int nr)
{
	for (; nr; nr--, ptep++, addr += PAGE_SIZE)
		pte_make_uffd_wp(vma, addr, ptep);
}

/*
 * The same for entry i of the 64 from @ptep (mapping @addr onwards) for each
 * bit i set in @mask: a walker that protects what it finds in a batch of
 * entries (scattered pages in a write-tracking harvest) makes one call per
 * batch rather than one per run.
 */
__rust_helper void rust_helper_ptes_make_uffd_wp_mask(struct vm_area_struct *vma,
						      unsigned long addr,
						      pte_t *ptep, u64 mask)
{
	unsigned int i;

	while (mask) {
		i = __ffs64(mask);
		mask &= mask - 1;
		pte_make_uffd_wp(vma, addr + i * PAGE_SIZE, ptep + i);
	}
}

/* PMDs */
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/*
 * is_huge_zero_pmd() reads huge_zero_pfn, which is not exported: inlined
 * into a module, the helper asks the hook. Where PMD mappings can be
 * special, the huge zero folio's are (set_huge_zero_folio()), so only a
 * special one costs that call (an ordinary THP scan made none: thp was 3%
 * slower on 7.3 with a call per PMD).
 */
static __always_inline bool walk_is_huge_zero_pmd(pmd_t pmd)
{
#if defined(CONFIG_RUST_INLINE_HELPERS) && defined(MODULE)
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	if (!pmd_special(pmd))
		return false;
#endif
	return pagemap_scan_is_huge_zero_pmd(pmd);
#else
	return is_huge_zero_pmd(pmd);
#endif
}

static __always_inline u8 pmd_classes(pmd_t pmd)
{
	u8 info;

	if (pmd_none(pmd))
		return 0;
	if (pmd_present(pmd)) {
		info = PTE_INFO_PRESENT;
		if (pmd_uffd(pmd))
			info |= PTE_INFO_UFFD;
		if (pmd_soft_dirty(pmd))
			info |= PTE_INFO_SOFT_DIRTY;
		if (walk_is_huge_zero_pmd(pmd))
			info |= PTE_INFO_ZERO_PFN;
		return info;
	}
	info = PTE_INFO_SWAP;
	if (pmd_swp_uffd(pmd))
		info |= PTE_INFO_UFFD;
	if (pmd_swp_soft_dirty(pmd))
		info |= PTE_INFO_SOFT_DIRTY;
	return info;
}

/*
 * pmd_trans_huge_lock(), and if it locked a huge or swap PMD, its state in
 * *@info (PTE_INFO_* bits; ZERO_PFN for the huge zero page, FILE only if
 * @file).
 */
__rust_helper spinlock_t *rust_helper_pmd_huge_lock_info(struct vm_area_struct *vma,
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
	} else if (!pmd_none(pmd) && softleaf_is_file(softleaf_from_pmd(pmd))) {
		*info |= PTE_INFO_FILE;
	}
	return ptl;
}

/*
 * The frame of the huge PMD @pmdp (locked), which maps @addr (PMD aligned)
 * onwards in @vma, as of its first page (the PFN or swap offset of page i
 * is that plus i). Its page is the first page: PTE_PAGE_EXCLUSIVE says
 * whether that one is mapped exclusively (pmd_pages_exclusive() tells
 * each page's).
 */
__rust_helper void rust_helper_pmd_frame(struct vm_area_struct *vma, unsigned long addr,
					 pmd_t *pmdp, struct pte_frame *frame)
{
	pmd_t pmd = pmdp_get(pmdp);
	struct page *page = NULL;
	softleaf_t entry;

	*frame = (struct pte_frame) { .info = pmd_classes(pmd) };
	if (frame->info & PTE_INFO_PRESENT) {
		frame->pfn = pmd_pfn(pmd);
		page = walk_thp_page(vma, addr, pmd);
	} else if ((frame->info & PTE_INFO_SWAP) && thp_migration_supported()) {
		entry = softleaf_from_pmd(pmd);
		frame_softleaf(frame, entry);
		if (softleaf_has_pfn(entry))
			page = softleaf_to_page(entry);
	}
	if (page)
		frame_page(frame, page_folio(page), page);
}

/*
 * Bit i set if page @first + i (i below @nr, at most 64) of the present
 * huge PMD @pmdp (locked), which maps @addr (PMD aligned) onwards in @vma,
 * is mapped exclusively, by the rule of this tree's pagemap_read().
 */
__rust_helper u64 rust_helper_pmd_pages_exclusive(struct vm_area_struct *vma,
						  unsigned long addr, pmd_t *pmdp,
						  unsigned int first, unsigned int nr)
{
	pmd_t pmd = pmdp_get(pmdp);
	struct folio *folio;
	struct page *page;
	u64 mask = 0;
	unsigned int i;
	int whole;

	if (!nr || !pmd_present(pmd))
		return 0;
	page = walk_thp_page(vma, addr, pmd);
	if (!page)
		return 0;
	folio = page_folio(page);
	if (!WALK_THP_SUBPAGES)
		return walk_page_mapped_exclusively(folio, page) ? GENMASK_ULL(nr - 1, 0) : 0;
#ifndef CONFIG_NO_PAGE_MAPCOUNT
	/*
	 * Each page's mapcount, with the folio's mappings as a whole read once
	 * (walk_page_mapped_exclusively() per page reads them for each): the
	 * folio is PMD-mapped here, under this PMD's lock.
	 */
	whole = folio_test_large(folio) ? folio_entire_mapcount(folio) : 0;
	for (i = 0; i < nr; i++) {
		int mapcount = atomic_read(&walk_thp_subpage(page, first + i)->_mapcount) + 1;

		if (page_mapcount_is_type(mapcount))
			mapcount = 0;
		if (mapcount + whole == 1)
			mask |= BIT_ULL(i);
	}
#else
	for (i = 0; i < nr; i++)
		if (walk_page_mapped_exclusively(folio, walk_thp_subpage(page, first + i)))
			mask |= BIT_ULL(i);
#endif
	return mask;
}

/*
 * The state of a huge @pmd read from @pmdp without the lock (see below); out
 * of line (inline only for the rule that an inline helper calls no static
 * function that is not).
 */
static inline noinline int pmd_huge_view(struct mm_struct *mm, pmd_t *pmdp, pmd_t pmd)
{
	u8 info = pmd_classes(pmd);
	spinlock_t *ptl;	/* the PMD lock, to read a huge zero page again */
	int ret;

	if (!(info & PTE_INFO_ZERO_PFN))
		return info;
	ptl = pmd_lock(mm, pmdp);
	pmd = pmdp_get(pmdp);
	ret = pmd_is_huge(pmd) ? pmd_classes(pmd) : -1;
	spin_unlock(ptl);
	return ret;
}

/*
 * rust_helper_pte_table_lock() for a walker that changes nothing and looks
 * at no page, unless @pmdp maps a transparent huge page or is a huge swap
 * entry: then NULL, and its state in *@huge (PTE_INFO_* bits), from one
 * read of the entry (one atomic load: 64-bit only) without the PMD lock.
 * That read is a state the entry had: a split or a migration first
 * invalidates the PMD with pmdp_invalidate(), and pmd_mkinvalid() keeps it
 * pmd_present() and pmd_trans_huge() (the rule mm/debug_vm_pgtable.c
 * states) and, on x86 and arm64, its soft-dirty and uffd-wp bits, so an
 * entry read in the middle is the state before. The one thing the read
 * alone cannot tell is the huge zero page: its PFN is compared after the
 * read, and a THP freed meanwhile could be the huge zero folio by then. So
 * an entry that looks like the huge zero page is read again under the lock
 * (a mapping of the huge zero folio pins it for the mm's life, so the other
 * way round cannot happen). NULL with *@huge = -1 if there is no table any
 * more: the walk looks again (PmdView::Gone).
 */
__rust_helper pte_t *rust_helper_pte_table_lock_or_huge(struct mm_struct *mm, pmd_t *pmdp,
							unsigned long addr, spinlock_t **ptlp,
							int *huge)
{
	pmd_t pmd = pmdp_get_lockless(pmdp);

	/* Out of line: the path to a table saves no register. */
	if (pmd_is_huge(pmd)) {
		*huge = pmd_huge_view(mm, pmdp, pmd);
		return NULL;
	}
	*huge = -1;
	return rust_helper_pte_table_lock(mm, pmdp, addr, ptlp);
}

__rust_helper pmd_t rust_helper_pmdp_get(pmd_t *pmdp)
{
	return pmdp_get(pmdp);
}

__rust_helper bool rust_helper_pmd_is_migration_entry(pmd_t pmd)
{
	return pmd_is_migration_entry(pmd);
}

__rust_helper pmd_t rust_helper_pmd_mkuffd_wp(pmd_t pmd)
{
	return pmd_mkuffd(pmd);
}

/* The PMD counterpart of pte_swp_mkuffd_readonly(). */
__rust_helper pmd_t rust_helper_pmd_swp_mkuffd_wp_readonly(pmd_t pmd)
{
	softleaf_t entry = softleaf_from_pmd(pmd);
	pmd_t newpmd = pmd;

	if (softleaf_is_migration_write(entry)) {
		if (folio_test_anon(softleaf_to_folio(entry)))
			entry = make_readable_exclusive_migration_entry(swp_offset(entry));
		else
			entry = make_readable_migration_entry(swp_offset(entry));
		newpmd = swp_entry_to_pmd(entry);
		if (pmd_swp_soft_dirty(pmd))
			newpmd = pmd_swp_mksoft_dirty(newpmd);
	}
	return pmd_swp_mkuffd(newpmd);
}

__rust_helper void rust_helper_set_pmd_at(struct mm_struct *mm, unsigned long addr,
					  pmd_t *pmdp, pmd_t pmd)
{
	set_pmd_at(mm, addr, pmdp, pmd);
}

__rust_helper void rust_helper_split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
					      unsigned long addr)
{
	split_huge_pmd(vma, pmd, addr);
}
#endif /* CONFIG_TRANSPARENT_HUGEPAGE */

/*
 * Whether @pmdp maps a huge page or is a huge swap entry (no lock held);
 * never without CONFIG_TRANSPARENT_HUGEPAGE.
 */
__rust_helper bool rust_helper_pmd_maps_huge(pmd_t *pmdp)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	return pmd_is_huge(pmdp_get_lockless(pmdp));
#else
	return false;
#endif
}

/* hugetlb */
#ifdef CONFIG_HUGETLB_PAGE
__rust_helper unsigned long rust_helper_vma_huge_page_size(struct vm_area_struct *vma)
{
	return huge_page_size(hstate_vma(vma));
}

/*
 * PTE_INFO_PRESENT or PTE_INFO_SWAP of the hugetlb entry @ptep, 0 if it is
 * none: nothing else of it is read.
 */
__rust_helper u8 rust_helper_huge_ptep_presence(struct mm_struct *mm, unsigned long addr,
						pte_t *ptep)
{
	pte_t pte = huge_ptep_get(mm, addr, ptep);

	if (pte_present(pte))
		return PTE_INFO_PRESENT;
	return pte_none(pte) ? 0 : PTE_INFO_SWAP;
}

/*
 * huge_ptep_get(), and the entry's state in *@info (PTE_INFO_* bits with the
 * huge_pte_*() predicates; with @file, FILE for a present page that is not
 * anonymous).
 */
__rust_helper pte_t rust_helper_huge_ptep_get_info(struct mm_struct *mm, unsigned long addr,
						   pte_t *ptep, bool file, u8 *info)
{
	pte_t pte = huge_ptep_get(mm, addr, ptep);
	u8 i = 0;

	if (pte_present(pte)) {
		i = PTE_INFO_PRESENT;
		if (huge_pte_uffd(pte))
			i |= PTE_INFO_UFFD;
		if (file && !PageAnon(pte_page(pte)))
			i |= PTE_INFO_FILE;
		if (is_zero_pfn(pte_pfn(pte)))
			i |= PTE_INFO_ZERO_PFN;
		if (pte_soft_dirty(pte))
			i |= PTE_INFO_SOFT_DIRTY;
	} else if (!pte_none(pte)) {
		i = PTE_INFO_SWAP;
		if (pte_swp_uffd_any(pte))
			i |= PTE_INFO_UFFD;
		if (pte_swp_soft_dirty(pte))
			i |= PTE_INFO_SOFT_DIRTY;
	}
	*info = i;
	return pte;
}

/*
 * The frame of the hugetlb entry @ptep of @vma (mapping @addr), read under its
 * page table lock. The page of a present entry is mapped exclusively if its
 * folio is mapped once, through a page table no other process shares; a
 * non-present entry's page is not looked at.
 */
__rust_helper void rust_helper_huge_pte_frame(struct vm_area_struct *vma, unsigned long addr,
					      pte_t *ptep, struct pte_frame *frame)
{
	spinlock_t *ptl = huge_pte_lock(hstate_vma(vma), vma->vm_mm, ptep);
	pte_t pte = huge_ptep_get(vma->vm_mm, addr, ptep);
	struct folio *folio;

	*frame = (struct pte_frame) { };
	if (pte_present(pte)) {
		frame->info = PTE_INFO_PRESENT;
		if (huge_pte_uffd(pte))
			frame->info |= PTE_INFO_UFFD;
		if (pte_soft_dirty(pte))
			frame->info |= PTE_INFO_SOFT_DIRTY;
		frame->pfn = pte_pfn(pte);
		folio = page_folio(pte_page(pte));
		frame->page = PTE_PAGE_NORMAL;
		if (!folio_test_anon(folio))
			frame->info |= PTE_INFO_FILE;
		if (!folio_maybe_mapped_shared(folio) && !hugetlb_pmd_shared(ptep))
			frame->page |= PTE_PAGE_EXCLUSIVE;
	} else if (!huge_pte_none(pte)) {
		frame->info = PTE_INFO_SWAP;
		if (pte_swp_uffd_any(pte))
			frame->info |= PTE_INFO_UFFD;
		if (pte_swp_soft_dirty(pte))
			frame->info |= PTE_INFO_SOFT_DIRTY;
		frame_softleaf(frame, softleaf_from_pte(pte));
	}
	spin_unlock(ptl);
}

__rust_helper bool rust_helper_huge_pte_none(pte_t pte)
{
	return huge_pte_none(pte);
}

__rust_helper pte_t rust_helper_huge_pte_mkuffd_wp(pte_t pte)
{
	return huge_pte_mkuffd(pte);
}

__rust_helper bool rust_helper_huge_pte_is_migration(pte_t pte)
{
	return !huge_pte_none(pte) && !pte_present(pte) &&
	       softleaf_is_migration(softleaf_from_pte(pte));
}

__rust_helper bool rust_helper_huge_pte_is_hwpoison(pte_t pte)
{
	return !huge_pte_none(pte) && !pte_present(pte) &&
	       softleaf_is_hwpoison(softleaf_from_pte(pte));
}

__rust_helper spinlock_t *rust_helper_huge_pte_lock(struct vm_area_struct *vma, pte_t *ptep)
{
	return huge_pte_lock(hstate_vma(vma), vma->vm_mm, ptep);
}

__rust_helper void rust_helper_i_mmap_lock_write_vma(struct vm_area_struct *vma)
{
	i_mmap_lock_write(vma->vm_file->f_mapping);
}

__rust_helper void rust_helper_i_mmap_unlock_write_vma(struct vm_area_struct *vma)
{
	i_mmap_unlock_write(vma->vm_file->f_mapping);
}

/*
 * Named apart from set_huge_pte_at(): where the architecture has that one
 * out of line (arm64), bindgen binds it, and the kernel crate's bindings
 * prefer it over a helper of the same name, whose arguments differ.
 */
__rust_helper void rust_helper_set_huge_pte_at_vma(struct vm_area_struct *vma, unsigned long addr,
						   pte_t *ptep, pte_t pte)
{
	set_huge_pte_at(vma->vm_mm, addr, ptep, pte,
			huge_page_size(hstate_vma(vma)));
}

__rust_helper pte_t rust_helper_huge_ptep_modify_prot_start(struct vm_area_struct *vma,
							    unsigned long addr, pte_t *ptep)
{
	return huge_ptep_modify_prot_start(vma, addr, ptep);
}

__rust_helper void rust_helper_huge_ptep_modify_prot_commit(struct vm_area_struct *vma,
							    unsigned long addr, pte_t *ptep,
							    pte_t old_pte, pte_t pte)
{
	huge_ptep_modify_prot_commit(vma, addr, ptep, old_pte, pte);
}

/*
 * As rust_helper_flush_tlb_range(). Where the architecture has its own
 * (arm64, powerpc), a module calls it: arm64's is inline; powerpc's calls
 * functions it does not export (not handled: the project builds x86-64 and
 * arm64). The generic one is flush_tlb_range().
 */
#ifdef CONFIG_RUST_INLINE_HELPERS
__rust_helper void rust_helper_flush_hugetlb_tlb_range(struct vm_area_struct *vma,
						       unsigned long start, unsigned long end)
{
#if defined(MODULE) && !defined(__HAVE_ARCH_FLUSH_HUGETLB_TLB_RANGE)
	pagemap_scan_flush_tlb_range(vma, start, end);
#else
	flush_hugetlb_tlb_range(vma, start, end);
#endif
}
#else
void rust_helper_flush_hugetlb_tlb_range(struct vm_area_struct *vma,
					 unsigned long start, unsigned long end);
#ifndef MODULE
__weak void rust_helper_flush_hugetlb_tlb_range(struct vm_area_struct *vma,
						unsigned long start, unsigned long end)
{
	flush_hugetlb_tlb_range(vma, start, end);
}
#endif
#endif
#endif /* CONFIG_HUGETLB_PAGE */

/*
 * KUnit support (kernel::mm::pagewalk::kunit): user memory for the doctests of the
 * walk abstractions. Only the kernel crate's doctests call these (bindgen
 * reads this file with MODULE defined, so they cannot be left out of a
 * module's copy of the helpers; unused there, they are dropped).
 */
#if IS_ENABLED(CONFIG_KUNIT)
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

/*
 * Maps @len bytes of private anonymous read-write memory into the address
 * space of the running KUnit test (kunit_vm_mmap() gives its kthread one
 * first): small pages, or hugetlb pages of 1 << @huge_shift bytes; faulted
 * in at once with @populate, else (hugetlb) not even reserved. Returns the
 * address and, in @mmp, that address space with a user reference (mmget())
 * for the caller; or a negative errno (EINVAL outside a KUnit test, ESRCH
 * if the test has no address space after all).
 */
__rust_helper long rust_helper_kunit_mmap_anon(unsigned long len, unsigned int huge_shift,
					       bool populate, struct mm_struct **mmp)
{
	struct kunit *test = kunit_get_current_test();
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS;
	struct file *file = NULL;
	unsigned long addr;

	if (!test || huge_shift >= BITS_PER_LONG)
		return -EINVAL;
	if (huge_shift) {
		/*
		 * vm_mmap() does not turn MAP_HUGETLB into a hugetlbfs file as
		 * the mmap() system call does (ksys_mmap_pgoff()): set it up
		 * here the same way. The reservation, if any, is taken by the
		 * mapping.
		 */
		if (!hstate_sizelog(huge_shift))
			return -EINVAL;
		file = hugetlb_file_setup(HUGETLB_ANON_FILE, len, PAGEMAP_SCAN_VMA_NORESERVE,
					  HUGETLB_ANONHUGE_INODE, huge_shift);
		if (IS_ERR(file))
			return PTR_ERR(file);
		flags |= MAP_HUGETLB;
	}
	if (populate)
		flags |= MAP_POPULATE;
	else if (huge_shift)
		/* Walking holes needs no free huge page (none of 1G at boot). */
		flags |= MAP_NORESERVE;
	addr = kunit_vm_mmap(test, file, 0, len, PROT_READ | PROT_WRITE, flags, 0);
	if (file)
		fput(file);
	/* kunit_vm_mmap() passes vm_mmap()'s errors on, or 0 for its own. */
	if (!addr)
		return -ENOMEM;
	if (IS_ERR_VALUE(addr))
		return (long)addr;
	/* current->mm is the one kunit_vm_mmap() attached and mapped into. */
	if (!current->mm || !mmget_not_zero(current->mm))
		return -ESRCH;
	*mmp = current->mm;
	return (long)addr;
}

/*
 * The hugetlb pages of 1 << @huge_shift bytes a mapping can fault in
 * without a reservation (free, not reserved: a snapshot, read as sysfs
 * does), or -EINVAL where the kernel has no hugetlb size of that size: the
 * sizes a test can map are the architecture's, which the kernel knows
 * (x86-64: PMD and PUD; arm64: contiguous PTEs, PMD, contiguous PMDs, and
 * PUD with 4 KiB pages).
 */
__rust_helper long rust_helper_kunit_hugetlb_free(unsigned int huge_shift)
{
#ifdef CONFIG_HUGETLB_PAGE
	struct hstate *h;

	if (huge_shift >= BITS_PER_LONG)
		return -EINVAL;
	h = hstate_sizelog(huge_shift);
	if (h)
		return max_t(long, READ_ONCE(h->free_huge_pages) -
			     READ_ONCE(h->resv_huge_pages), 0);
#endif
	return -EINVAL;
}

/* The bytes a PUD entry maps (PGDIR_SIZE where the PUD level is folded). */
__rust_helper unsigned long rust_helper_kunit_pud_size(void)
{
	return PUD_SIZE;
}

/*
 * Marks the VMA at @addr of the running KUnit test's kthread as registered
 * for userfaultfd write-protection, without a userfaultfd context: the
 * abstractions' uffd-wp paths can then be tested without a user process. A
 * fault on a protected entry of such a VMA gets SIGBUS (handle_userfault()
 * without a context), so such an access fails instead of waiting. EINVAL
 * outside a KUnit test's kthread or without a VMA at @addr, EOPNOTSUPP
 * without CONFIG_USERFAULTFD.
 */
__rust_helper int rust_helper_kunit_mark_uffd_wp(unsigned long addr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret = -EINVAL;

	if (!IS_ENABLED(CONFIG_USERFAULTFD))
		return -EOPNOTSUPP;
	if (!kunit_get_current_test() || !(current->flags & PF_KTHREAD) || !mm)
		return -EINVAL;
	mmap_write_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma) {
		vm_flags_set(vma, VM_UFFD_WP);
		ret = 0;
	}
	mmap_write_unlock(mm);
	return ret;
}
#endif /* CONFIG_KUNIT */
