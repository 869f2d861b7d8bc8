/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PAGEMAP_SCAN and userfaultfd ABI used by the pagemap_scan selftests.
 *
 * The PAGEMAP_SCAN uapi comes from the headers of the tree under test
 * ($(KHDR), first on the include path): it is not copied here. What only
 * newer trees define is defined here, each guarded so it never conflicts
 * with a header that has it; values are those of include/uapi/linux/fs.h
 * and include/uapi/linux/userfaultfd.h.
 */
#ifndef PM_SCAN_ABI_H
#define PM_SCAN_ABI_H

#include <assert.h>
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#ifndef PAGEMAP_SCAN
#error "build against the headers of the tree under test (KHDR): its linux/fs.h has PAGEMAP_SCAN"
#endif

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
