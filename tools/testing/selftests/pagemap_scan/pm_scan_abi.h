/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PAGEMAP_SCAN and userfaultfd ABI used by the pagemap_scan selftests.
 *
 * The Makefile puts the installed kernel headers ($(KHDR)) first on the
 * include path when they define PAGEMAP_SCAN. Otherwise the distribution's
 * headers are used and everything they lack is defined here, each guarded so
 * it never conflicts with a header that has it. Values are those of
 * include/uapi/linux/fs.h and include/uapi/linux/userfaultfd.h (6.12).
 */
#ifndef PM_SCAN_ABI_H
#define PM_SCAN_ABI_H

#include <assert.h>
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#ifndef PAGEMAP_SCAN
#define PM_SCAN_ABI_LOCAL 1

#ifndef PROCFS_IOCTL_MAGIC
#define PROCFS_IOCTL_MAGIC 'f'
#endif

#define PAGE_IS_WPALLOWED	0x01
#define PAGE_IS_WRITTEN		0x02
#define PAGE_IS_FILE		0x04
#define PAGE_IS_PRESENT		0x08
#define PAGE_IS_SWAPPED		0x10
#define PAGE_IS_PFNZERO		0x20
#define PAGE_IS_HUGE		0x40
#define PAGE_IS_SOFT_DIRTY	0x80

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING	0x01
#define PM_SCAN_CHECK_WPASYNC	0x02

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN	_IOWR(PROCFS_IOCTL_MAGIC, 16, struct pm_scan_arg)
#endif /* PAGEMAP_SCAN */

#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM	0x1000
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	0x2000
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		0x8000
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/*
 * Newer than 6.12: the categories of kernels >= 6.14 (GUARD) and of the 7.3
 * tree (ACCESSED), guard regions (6.13) and 7.3's userfaultfd read-write
 * protection. Whether the running kernel has them is found out at run time.
 */
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		0x100
#endif
#ifndef PAGE_IS_ACCESSED
#define PAGE_IS_ACCESSED	0x200
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103
#endif
#ifndef UFFD_FEATURE_RWP
#define UFFD_FEATURE_RWP	0x20000
#endif
#ifndef UFFD_FEATURE_RWP_ASYNC
#define UFFD_FEATURE_RWP_ASYNC	0x40000
#endif
#ifndef UFFDIO_REGISTER_MODE_RWP
#define UFFDIO_REGISTER_MODE_RWP	((__u64)1 << 3)
#endif
#ifndef UFFDIO_RWPROTECT
struct uffdio_rwprotect {
	struct uffdio_range range;
	__u64 mode;
};

#define UFFDIO_RWPROTECT_MODE_RWP	((__u64)1 << 0)
#define UFFDIO_RWPROTECT	_IOWR(UFFDIO, 0x09, struct uffdio_rwprotect)
#endif

/* All categories and flags the 6.12 ABI defines. */
#define PM_ALL_CATEGORIES	0xffULL
#define PM_ALL_FLAGS		(PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)

static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg ABI size");
static_assert(sizeof(struct page_region) == 24, "page_region ABI size");

#endif /* PM_SCAN_ABI_H */
