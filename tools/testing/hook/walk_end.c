// SPDX-License-Identifier: GPL-2.0
/*
 * The documented difference from C: walk_end after the internal bounce
 * buffer (an entry per page of a PMD: 512 regions with 4 KiB pages, 8192
 * with 64 KiB ones) was flushed and the walk went on. C leaves walk_end at
 * the internal stop point although it returned regions beyond it; Rust
 * returns the true end. Regions merge across the flush in both.
 *
 * The numbers below are those of 4 KiB pages (b = 512); they follow the
 * bounce buffer b of the running kernel. The present pages are written, or
 * read-faulted (the zero page: present too, and no memory) where writing
 * them would take more than 64 MiB (64 KiB pages).
 *
 * The expected values depend on /sys/kernel/mm/pagemap_scan/impl, and for
 * C on whether the tree's C has the fix (patches/upstream, 0001).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap.h"

static long psize;
static int zero;	/* read-fault instead of writing */

static void present(char *p)
{
	if (zero)
		(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	else
		*p = 1;
}

static long scan(int fd, char *start, char *end, struct page_region *vec,
		 long vec_len, unsigned long *walk_end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (unsigned long)start,
		.end = (unsigned long)end,
		.vec = (unsigned long)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	long ret = ioctl(fd, PAGEMAP_SCAN, &arg);

	*walk_end = arg.walk_end;
	return ret;
}

int main(void)
{
	long b, npages, nregions, vec_len, i, ret;
	struct page_region *vec;
	unsigned long walk_end;
	char impl[16] = "c", *buf, *end, msg[128];
	int fd, rust;

	psize = sysconf(_SC_PAGESIZE);
	b = tap_pmd_pages(psize);
	/* 4 KiB pages: 4096 pages, 1200 regions (two flushes), 2000 entries. */
	npages = 8 * b;
	nregions = 2 * b + 176;
	vec_len = nregions + 800;
	zero = nregions * psize > 64L << 20;
	read_impl(impl, sizeof(impl));
	rust = !strcmp(impl, "rust");
	printf("TAP version 13\n1..6\n# implementation: %s\n", impl);
	printf("# page size %ld, bounce buffer %ld entries, present pages %s\n", psize, b,
	       zero ? "read (zero page)" : "written");

	fd = open("/proc/self/pagemap", O_RDONLY);
	vec = calloc(vec_len, sizeof(*vec));
	buf = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || !vec || buf == MAP_FAILED)
		return 1;
	end = buf + npages * psize;
	madvise(buf, npages * psize, MADV_NOHUGEPAGE);

	/* 1200 one-page regions: every other page present. */
	for (i = 0; i < nregions; i++)
		present(buf + 2 * i * psize);
	ret = scan(fd, buf, end, vec, vec_len, &walk_end);
	snprintf(msg, sizeof(msg), "%ld regions returned in one call", nregions);
	check(ret == nregions, msg);
	for (i = 0; i < ret && i < nregions; i++)
		if (vec[i].start != (unsigned long)buf + 2 * i * psize ||
		    vec[i].end != vec[i].start + psize)
			break;
	check(i == nregions, "regions are exact");
	if (rust || tree_fixes_has("walk_end_flush")) {
		check(walk_end == (unsigned long)end, rust ?
		      "walk_end is the end of the range (Rust)" :
		      "walk_end is the end of the range (C with its fix)");
	} else {
		/* The stop after the second flush: region 2B, page 4B. */
		snprintf(msg, sizeof(msg),
			 "walk_end is the last internal stop, start + %ld pages (C defect)", 4 * b);
		check(walk_end == (unsigned long)buf + 4 * b * psize, msg);
	}
	printf("# walk_end = start + %ld pages\n", (long)((walk_end - (unsigned long)buf) / psize));

	/* A run of present pages across the first internal flush merges. */
	munmap(buf, npages * psize);
	buf = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(buf, npages * psize, MADV_NOHUGEPAGE);
	end = buf + npages * psize;
	for (i = 0; i < b - 1; i++)
		present(buf + 2 * i * psize);		/* regions 0..510 */
	for (i = 2 * b - 2; i < 2 * b - 2 + 100; i++)
		present(buf + i * psize);		/* region 511: 100 pages */
	for (i = 2 * b + 176; i < 2 * b + 376; i += 2)
		present(buf + i * psize);		/* regions 512..611 */
	ret = scan(fd, buf, end, vec, vec_len, &walk_end);
	snprintf(msg, sizeof(msg), "%ld regions", b + 100);
	check(ret == b + 100, msg);
	check(ret >= b + 100 && vec[b - 1].start == (unsigned long)buf + (2 * b - 2) * psize &&
	      vec[b - 1].end == (unsigned long)buf + (2 * b + 98) * psize,
	      "the 100-page run is one region");
	check(ret >= b + 100 && vec[b].start == (unsigned long)buf + (2 * b + 176) * psize,
	      "the region after the flush follows");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail != 0;
}
