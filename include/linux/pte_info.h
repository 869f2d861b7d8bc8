/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A summary of a page table entry's state in one byte, for walkers written
 * in languages that cannot inline the architecture's pte_*() helpers (Rust):
 * one helper call classifies a batch of entries instead of one call per
 * predicate and entry.
 *
 * An empty entry (pte_none()) has info 0: every other entry has
 * PTE_INFO_PRESENT or PTE_INFO_SWAP, which say how PTE_INFO_UFFD and
 * PTE_INFO_SOFT_DIRTY were computed.
 */
#ifndef _LINUX_PTE_INFO_H
#define _LINUX_PTE_INFO_H

#include <linux/types.h>

#define PTE_INFO_FILE		0x01	/* maps a file page (PTE_QUERY_FILE) */
#define PTE_INFO_PRESENT	0x02	/* pte_present() */
/* present: pte_uffd(); swap: pte_swp_uffd_any() (bit or uffd-wp marker) */
#define PTE_INFO_UFFD		0x04
#define PTE_INFO_SWAP		0x08	/* neither none nor present (softleaf) */
/* present: pte_soft_dirty(); swap: pte_swp_soft_dirty() */
#define PTE_INFO_SOFT_DIRTY	0x10
#define PTE_INFO_GUARD		0x20	/* swap and a guard marker */
#define PTE_INFO_ZERO_PFN	0x80	/* present and maps the zero page */

/* What a batch classification computes. */
enum pte_query {
	/* every bit but PTE_INFO_FILE */
	PTE_QUERY_CLASSES,
	/* every bit; PTE_INFO_FILE costs a page lookup per entry */
	PTE_QUERY_FILE,
};

/*
 * What an entry maps, for a walker that reports frames and pages rather than
 * runs of equal state (pte_frames(), pmd_frame(), huge_pte_frame()).
 */
struct pte_frame {
	/* present: the PFN; a softleaf entry that has one (migration, device) */
	u64 pfn;
	/* a softleaf entry (neither none nor present): swp_offset() */
	u64 swp_offset;
	/* a softleaf entry: swp_type() */
	u8 swp_type;
	/* PTE_INFO_* (every bit: PTE_INFO_FILE from the page) */
	u8 info;
	/* PTE_PAGE_* */
	u8 page;
};

/* The entry refers to a struct page (vm_normal_page(), or the softleaf's). */
#define PTE_PAGE_NORMAL		0x01
/* Present, and its page is mapped exclusively (this tree's /proc rule). */
#define PTE_PAGE_EXCLUSIVE	0x02
/* A softleaf entry that carries a PFN (pfn is set). */
#define PTE_PAGE_PFN		0x04

#endif /* _LINUX_PTE_INFO_H */
