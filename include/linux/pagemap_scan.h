/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replaceable PAGEMAP_SCAN implementation.
 *
 * The PAGEMAP_SCAN ioctl of /proc/PID/pagemap, and its read() if the handler
 * serves that too, are served by the built-in C code in fs/proc/task_mmu.c
 * unless a handler is registered here (by a module, or by code built into
 * the kernel: CONFIG_PAGEMAP_SCAN_RUST). The active implementation is shown
 * (and can be switched back to "c") in /sys/kernel/mm/pagemap_scan/impl. The
 * hook is fs/proc/pagemap_scan.c.
 */
#ifndef _LINUX_PAGEMAP_SCAN_H
#define _LINUX_PAGEMAP_SCAN_H

#include <linux/types.h>

struct file;
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
 * @read: serves read() of the pagemap file @file, whose mm is @mm (as for
 *        @scan), like pagemap_read(); NULL if the handler leaves read() to
 *        the built-in code.
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
	ssize_t (*read)(struct file *file, struct mm_struct *mm, char __user *buf,
			size_t count, loff_t *ppos);
};

int pagemap_scan_register_handler(const struct pagemap_scan_handler *handler);
void pagemap_scan_unregister_handler(const struct pagemap_scan_handler *handler);

/*
 * Called by do_pagemap_cmd(): true if a registered handler served the
 * ioctl, with its result in *@ret; false if the built-in code must.
 */
bool pagemap_scan_call_handler(struct mm_struct *mm, unsigned long uarg,
			       long *ret);

/*
 * Called by pagemap_read(): true if a registered handler served the read,
 * with its result in *@ret; false if the built-in code must.
 */
bool pagemap_scan_call_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos, ssize_t *ret);

#endif /* _LINUX_PAGEMAP_SCAN_H */
