// SPDX-License-Identifier: GPL-2.0
/*
 * make run demo: track which pages of a buffer a program writes, with
 * userfaultfd write-protect async mode and PAGEMAP_SCAN, and check the answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NPAGES 64

static long psize;

static int scan(int fd, char *buf, unsigned long flags, struct page_region *vec,
		int vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = (unsigned long)buf,
		.end = (unsigned long)buf + NPAGES * psize,
		.vec = (unsigned long)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};

	return ioctl(fd, PAGEMAP_SCAN, &arg);
}

int main(void)
{
	static const int written[] = { 3, 10, 11, 12, 40 };
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = { 0 };
	struct page_region vec[NPAGES];
	int uffd, fd, n, i, expect_regions = 3;
	char *buf;

	psize = sysconf(_SC_PAGESIZE);
	buf = mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (buf == MAP_FAILED || uffd < 0 || fd < 0) {
		perror("demo: setup");
		return 1;
	}
	if (ioctl(uffd, UFFDIO_API, &api)) {
		perror("demo: UFFDIO_API");
		return 1;
	}
	reg.range.start = (unsigned long)buf;
	reg.range.len = NPAGES * psize;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("demo: UFFDIO_REGISTER");
		return 1;
	}
	memset(buf, 1, NPAGES * psize);
	/* Start tracking: write-protect everything written so far. */
	if (scan(fd, buf, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, NULL, 0) < 0) {
		perror("demo: PAGEMAP_SCAN (reset)");
		return 1;
	}
	printf("demo: tracking %d pages at %p\n", NPAGES, buf);
	for (i = 0; i < (int)ARRAY_SIZE(written); i++) {
		buf[written[i] * psize] = 2;
		printf("demo: program writes page %d\n", written[i]);
	}
	n = scan(fd, buf, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, vec, NPAGES);
	if (n < 0) {
		perror("demo: PAGEMAP_SCAN");
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("demo: written pages %lu-%lu\n",
		       (unsigned long)(vec[i].start - (unsigned long)buf) / psize,
		       (unsigned long)(vec[i].end - (unsigned long)buf) / psize - 1);
	if (n != expect_regions || vec[0].start != (unsigned long)buf + 3 * psize ||
	    vec[1].start != (unsigned long)buf + 10 * psize ||
	    vec[1].end != (unsigned long)buf + 13 * psize ||
	    vec[2].start != (unsigned long)buf + 40 * psize) {
		printf("demo: FAIL: unexpected regions\n");
		return 1;
	}
	n = scan(fd, buf, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, vec, NPAGES);
	printf("demo: second harvest finds %d written regions (expected 0)\n", n);
	if (n != 0)
		return 1;
	printf("demo: OK\n");
	return 0;
}
