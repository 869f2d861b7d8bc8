/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replaceable PAGEMAP_SCAN implementation.
 *
 * The PAGEMAP_SCAN ioctl of /proc/PID/pagemap is served by the built-in C
 * code in fs/proc/task_mmu.c unless a module registered a handler here. The
 * active implementation is shown (and can be switched back to "c") in
 * /sys/kernel/mm/pagemap_scan/impl.
 */
#ifndef _LINUX_PAGEMAP_SCAN_H
#define _LINUX_PAGEMAP_SCAN_H

struct mm_struct;
struct module;
struct vm_area_struct;

/**
 * struct pagemap_scan_handler - an implementation of PAGEMAP_SCAN
 * @name: short name shown in /sys/kernel/mm/pagemap_scan/impl
 * @owner: the module that provides @scan, pinned while a scan runs
 * @scan: serves one ioctl. @mm is the pagemap file's mm: grabbed (mmgrab)
 *        for the lifetime of the file, not necessarily with users; @uarg is
 *        the user pointer to struct pm_scan_arg. Returns the number of
 *        regions written or a negative errno, like do_pagemap_scan().
 *
 * Each scan holds a reference on @owner, so the handler's code stays valid
 * for as long as it runs and the module cannot be unloaded meanwhile;
 * unregistering only waits for the handler lookups in flight (SRCU), never
 * for a scan.
 */
struct pagemap_scan_handler {
	const char *name;
	struct module *owner;
	long (*scan)(struct mm_struct *mm, unsigned long uarg);
};

int pagemap_scan_register_handler(const struct pagemap_scan_handler *handler);
void pagemap_scan_unregister_handler(const struct pagemap_scan_handler *handler);
#ifdef CONFIG_PAGEMAP_SCAN_GUARD_RWP
/*
 * flush_tlb_range() for handler modules: the 7.3 hook defines it, for the
 * Rust helpers that are inlined into the module (6.12 builds them into
 * vmlinux, which calls flush_tlb_range() itself).
 */
void pagemap_scan_flush_tlb_range(struct vm_area_struct *vma,
				  unsigned long start, unsigned long end);
#endif

#endif /* _LINUX_PAGEMAP_SCAN_H */
