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
	/* PTE_INFO_PRESENT and PTE_INFO_SWAP only: no other bit is read */
	PTE_QUERY_PRESENCE,
};

#endif /* _LINUX_PTE_INFO_H */
