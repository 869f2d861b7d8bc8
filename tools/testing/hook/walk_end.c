// SPDX-License-Identifier: GPL-2.0
/*
 * The documented difference from C: walk_end after the internal bounce
 * buffer (512 regions) was flushed and the walk went on. C leaves walk_end
 * at the internal stop point although it returned regions beyond it; Rust
 * returns the true end. Regions merge across the flush in both.
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
	const long npages = 4096, nregions = 1200;
	static struct page_region vec[2000];
	unsigned long walk_end;
	char impl[16] = "c", *buf, *end;
	int fd, rust;
	long i, ret;

	psize = sysconf(_SC_PAGESIZE);
	read_impl(impl, sizeof(impl));
	rust = !strcmp(impl, "rust");
	printf("TAP version 13\n1..6\n# implementation: %s\n", impl);

	fd = open("/proc/self/pagemap", O_RDONLY);
	buf = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || buf == MAP_FAILED)
		return 1;
	end = buf + npages * psize;
	madvise(buf, npages * psize, MADV_NOHUGEPAGE);

	/* 1200 one-page regions: every other page present. */
	for (i = 0; i < nregions; i++)
		buf[2 * i * psize] = 1;
	ret = scan(fd, buf, end, vec, 2000, &walk_end);
	check(ret == nregions, "1200 regions returned in one call");
	for (i = 0; i < ret && i < nregions; i++)
		if (vec[i].start != (unsigned long)buf + 2 * i * psize ||
		    vec[i].end != vec[i].start + psize)
			break;
	check(i == nregions, "regions are exact");
	if (rust || tree_fixes_has("walk_end_flush"))
		check(walk_end == (unsigned long)end, rust ?
		      "walk_end is the end of the range (Rust)" :
		      "walk_end is the end of the range (C with its fix)");
	else
		check(walk_end == (unsigned long)buf + 2048 * psize,
		      "walk_end is the last internal stop, start + 2048 pages (C defect)");
	printf("# walk_end = start + %ld pages\n", (long)((walk_end - (unsigned long)buf) / psize));

	/* A run of present pages across the first internal flush merges. */
	munmap(buf, npages * psize);
	buf = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(buf, npages * psize, MADV_NOHUGEPAGE);
	end = buf + npages * psize;
	for (i = 0; i < 511; i++)
		buf[2 * i * psize] = 1;		/* regions 0..510 */
	for (i = 1022; i < 1022 + 100; i++)
		buf[i * psize] = 1;		/* region 511: 100 pages */
	for (i = 1200; i < 1400; i += 2)
		buf[i * psize] = 1;		/* regions 512..611 */
	ret = scan(fd, buf, end, vec, 2000, &walk_end);
	check(ret == 612, "612 regions");
	check(ret >= 612 && vec[511].start == (unsigned long)buf + 1022 * psize &&
	      vec[511].end == (unsigned long)buf + 1122 * psize,
	      "the 100-page run is one region");
	check(ret >= 612 && vec[512].start == (unsigned long)buf + 1200 * psize,
	      "the region after the flush follows");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail != 0;
}
