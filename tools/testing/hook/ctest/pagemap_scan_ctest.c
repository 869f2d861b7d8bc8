// SPDX-License-Identifier: GPL-2.0
/*
 * A PAGEMAP_SCAN handler written in C, to test the hook of the kernel patch
 * by itself (registration, dispatch, the sysfs switch, unregistration) on
 * any tree, including one where the Rust module is not built. It answers
 * every scan with -EOPNOTSUPP, which no real scan returns.
 */
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/pagemap_scan.h>

static long pagemap_scan_ctest_scan(struct mm_struct *mm, unsigned long uarg)
{
	return -EOPNOTSUPP;
}

static const struct pagemap_scan_handler pagemap_scan_ctest_handler = {
	.name = "ctest",
	.owner = THIS_MODULE,
	.scan = pagemap_scan_ctest_scan,
};

static int __init pagemap_scan_ctest_init(void)
{
	return pagemap_scan_register_handler(&pagemap_scan_ctest_handler);
}

static void __exit pagemap_scan_ctest_exit(void)
{
	pagemap_scan_unregister_handler(&pagemap_scan_ctest_handler);
}

module_init(pagemap_scan_ctest_init);
module_exit(pagemap_scan_ctest_exit);
MODULE_DESCRIPTION("PAGEMAP_SCAN hook test handler");
MODULE_LICENSE("GPL");
