/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A summary of a page table entry's state in one byte, for walkers written
 * in languages that cannot inline the architecture's pte_*() helpers (Rust):
 * one helper call classifies a batch of entries instead of one call per
 * predicate and entry.
 *
 * An empty entry (pte_none()) has info 0: every other entry has
 * PTE_INFO_PRESENT or PTE_INFO_SWAP.
 */
#ifndef _LINUX_PTE_INFO_H
#define _LINUX_PTE_INFO_H

#define PTE_INFO_FILE		0x01	/* maps a file page (PTE_QUERY_FILE) */
#define PTE_INFO_PRESENT	0x02	/* pte_present() */
#define PTE_INFO_UFFD_WP	0x04	/* present and pte_uffd_wp() */
#define PTE_INFO_SWAP		0x08	/* is_swap_pte() */
#define PTE_INFO_SWP_UFFD_WP	0x10	/* pte_swp_uffd_wp_any() */
#define PTE_INFO_SOFT_DIRTY	0x20	/* present and pte_soft_dirty() */
#define PTE_INFO_SWP_SOFT_DIRTY	0x40	/* swap and pte_swp_soft_dirty() */
#define PTE_INFO_ZERO_PFN	0x80	/* present and maps the zero page */

/* What a batch classification computes. */
enum pte_query {
	/* every bit but PTE_INFO_FILE */
	PTE_QUERY_CLASSES,
	/* every bit; PTE_INFO_FILE costs a page lookup per entry */
	PTE_QUERY_FILE,
};

#endif /* _LINUX_PTE_INFO_H */
