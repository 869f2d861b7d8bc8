/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the hook tests and the stress test: TAP output (one "ok N what"
 * / "not ok N what" line per check, counted for the kselftest totals line),
 * the implementation switch and one PAGEMAP_SCAN call.
 */
#ifndef PMSCAN_TAP_H
#define PMSCAN_TAP_H

#include <errno.h>
#include <linux/fs.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "../tree_fixes.h"

static int tap_n, pass, fail;

static inline void check(int ok, const char *what)
{
	printf("%s %d %s\n", ok ? "ok" : "not ok", ++tap_n, what);
	if (ok)
		pass++;
	else
		fail++;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define PMSCAN_IMPL "/sys/kernel/mm/pagemap_scan/impl"

/* The implementation that serves PAGEMAP_SCAN now: "c" without the hook. */
static inline void read_impl(char *impl, size_t len)
{
	FILE *f = fopen(PMSCAN_IMPL, "r");

	snprintf(impl, len, "c");
	if (!f)
		return;
	if (fscanf(f, "%15s", impl) != 1)
		snprintf(impl, len, "c");
	fclose(f);
}

/* Routes PAGEMAP_SCAN to @impl; 0 on success. */
static inline int set_impl(const char *impl)
{
	FILE *f = fopen(PMSCAN_IMPL, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%s\n", impl) < 0;
	return fclose(f) || ret ? -1 : 0;
}

/* What one PAGEMAP_SCAN asks for, besides its range and output vector. */
struct scan_req {
	unsigned long flags, mask, anyof, ret, max_pages;
};

/*
 * One PAGEMAP_SCAN of [@start, @end) through the pagemap file @fd, with
 * category_inverted 0: the number of regions written to @vec, or -errno.
 * The kernel's walk_end is stored in *@walk_end when that is not NULL.
 */
static inline long pm_scan_range(int fd, void *start, void *end, struct page_region *vec,
				 long vec_len, struct scan_req req, unsigned long *walk_end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = req.flags,
		.start = (unsigned long)start,
		.end = (unsigned long)end,
		.vec = (unsigned long)vec,
		.vec_len = vec_len,
		.max_pages = req.max_pages,
		.category_mask = req.mask,
		.category_anyof_mask = req.anyof,
		.return_mask = req.ret,
	};
	long ret = ioctl(fd, PAGEMAP_SCAN, &arg);

	if (walk_end)
		*walk_end = arg.walk_end;
	return ret < 0 ? -errno : ret;
}

/*
 * Pages of @psize bytes per PMD, the entries of C's bounce buffer
 * (PAGEMAP_WALK_SIZE): hpage_pmd_size, or without THP a page of 8-byte
 * entries.
 */
static inline long tap_pmd_pages(long psize)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	long pmd = 0;

	if (f) {
		if (fscanf(f, "%ld", &pmd) != 1)
			pmd = 0;
		fclose(f);
	}
	if (pmd <= 0)
		pmd = psize * (psize / 8);
	return pmd / psize;
}

#endif /* PMSCAN_TAP_H */
