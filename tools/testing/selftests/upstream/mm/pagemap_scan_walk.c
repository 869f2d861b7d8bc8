// SPDX-License-Identifier: GPL-2.0
/*
 * PAGEMAP_SCAN: what a scan reports when its walk stops and goes on, when
 * a THP's report is taken back, and what a page write-protected while it
 * was being migrated reads as afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#include "../kselftest_harness.h"

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

/* The bytes a PMD maps: 2 MiB with 4 KiB pages, 512 MiB with 64 KiB. */
static size_t pmd_size(void)
{
	size_t page = sysconf(_SC_PAGESIZE), size = 0;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");

	if (f) {
		if (fscanf(f, "%zu", &size) != 1)
			size = 0;
		fclose(f);
	}
	/* Without THP: a page of page-sized entries of 8 bytes. */
	return size ? size : page * (page / 8);
}

static long scan(int fd, struct pm_scan_arg *arg)
{
	return ioctl(fd, PAGEMAP_SCAN, arg);
}

/* A userfaultfd with asynchronous write protection, or -1. */
static int uffd_wp_async_open(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	int uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (uffd >= 0 && ioctl(uffd, UFFDIO_API, &api)) {
		close(uffd);
		return -1;
	}
	return uffd;
}

/*
 * More one-page regions than the kernel's bounce buffer holds (a PMD's
 * worth of pages: 512 with 4 KiB pages): the walk stops twice, copies out
 * and goes on to the end of the range, so walk_end must be the end of the
 * range, not the last internal stop.
 */
TEST(walk_end_after_internal_flush)
{
	const size_t page = sysconf(_SC_PAGESIZE);
	const size_t n = 2 * (pmd_size() / page) + 176, len = 2 * n * page;
	struct page_region *vec;
	struct pm_scan_arg arg;
	char *p;
	size_t i;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_EQ(madvise(p, len, MADV_NOHUGEPAGE), 0);
	for (i = 0; i < n; i++)
		p[2 * i * page] = 1;
	vec = calloc(n + 800, sizeof(*vec));
	ASSERT_NE(vec, NULL);

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)p;
	arg.end = (uintptr_t)p + len;
	arg.vec = (uintptr_t)vec;
	arg.vec_len = n + 800;
	arg.category_mask = PAGE_IS_PRESENT;
	arg.return_mask = PAGE_IS_PRESENT;
	ASSERT_EQ(scan(fd, &arg), n);
	EXPECT_EQ(vec[n - 1].start, (uintptr_t)p + 2 * (n - 1) * page);
	EXPECT_EQ(arg.walk_end, arg.end);

	free(vec);
	munmap(p, len);
	close(fd);
}

/*
 * Written small pages, then a written THP that the range ends inside of:
 * with PM_SCAN_WP_MATCHING the THP's part is reported, the THP split, its
 * report taken back and its pages reported one by one. Those pages
 * continue the small pages' region with the same categories: one region.
 */
TEST(merge_after_thp_take_back)
{
	const size_t pmd = pmd_size(), len = 2 * pmd;
	struct uffdio_register reg;
	struct page_region vec[4];
	struct pm_scan_arg arg;
	char *map, *p, *thp;
	int fd, uffd;
	long ret;

	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_GE(fd, 0);
	uffd = uffd_wp_async_open();
	if (uffd < 0)
		SKIP(return, "no userfaultfd with asynchronous write protection");

	/* A PMD of small pages, then a PMD-aligned THP. */
	map = mmap(NULL, len + pmd, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(map, MAP_FAILED);
	p = (char *)(((uintptr_t)map + pmd - 1) & ~(pmd - 1));
	thp = p + pmd;
	ASSERT_EQ(madvise(p, pmd, MADV_NOHUGEPAGE), 0);
	if (madvise(thp, pmd, MADV_HUGEPAGE))
		SKIP(return, "no THP");
	memset(p, 1, len);

	/* Registered, not protected: every page reads as written. */
	reg.range.start = (uintptr_t)p;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)thp;
	arg.end = (uintptr_t)thp + pmd;
	arg.vec = (uintptr_t)vec;
	arg.vec_len = 4;
	arg.category_mask = PAGE_IS_HUGE;
	arg.return_mask = PAGE_IS_HUGE;
	if (scan(fd, &arg) != 1)
		SKIP(return, "the range did not get a THP");

	arg.start = (uintptr_t)p;
	arg.end = (uintptr_t)thp + pmd / 2;
	arg.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	arg.category_mask = PAGE_IS_WRITTEN;
	arg.return_mask = PAGE_IS_WRITTEN | PAGE_IS_HUGE;
	ret = scan(fd, &arg);
	ASSERT_GE(ret, 1);
	EXPECT_EQ(ret, 1);
	EXPECT_EQ(vec[0].start, (uintptr_t)p);
	EXPECT_EQ(vec[0].end, (uintptr_t)thp + pmd / 2);
	EXPECT_EQ(vec[0].categories, PAGE_IS_WRITTEN);
	EXPECT_EQ(arg.walk_end, arg.end);

	munmap(map, len + pmd);
	close(uffd);
	close(fd);
}

static struct {
	char *page;
	atomic_int go, done, stop;
	int err;
} offline;

/* Soft-offlines (migrates) offline.page each time it is told to go. */
static void *offliner(void *arg)
{
	for (;;) {
		while (!atomic_load(&offline.go))
			;
		atomic_store(&offline.go, 0);
		if (atomic_load(&offline.stop))
			return NULL;
		if (madvise(offline.page, sysconf(_SC_PAGESIZE), MADV_SOFT_OFFLINE))
			offline.err = errno;
		atomic_store(&offline.done, 1);
	}
}

/* One scan of [start, end): the number of regions, or -errno. */
static long wp_scan(int fd, char *start, char *end, unsigned long flags,
		    unsigned long mask, struct page_region *vec, long vec_len)
{
	struct pm_scan_arg arg;
	long ret;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)start;
	arg.end = (uintptr_t)end;
	arg.vec = (uintptr_t)vec;
	arg.vec_len = vec_len;
	arg.flags = flags;
	arg.category_mask = mask;
	arg.return_mask = PAGE_IS_WRITTEN | PAGE_IS_SWAPPED | PAGE_IS_PRESENT;
	ret = scan(fd, &arg);
	return ret < 0 ? -errno : ret;
}

/*
 * A written page of an asynchronous uffd-wp range is migrated while a
 * harvest (PM_SCAN_WP_MATCHING) write-protects it: the harvest meets the
 * page's migration entry, which still says the page was writable. When
 * the migration ends, the page must still be write-protected, and so
 * read as not written, because nothing wrote it since. A write after it
 * must read as written. The harvest matches WRITTEN | SWAPPED pages only,
 * so it write-protects the page exactly when it meets the migration entry.
 * Needs root (MADV_SOFT_OFFLINE); runs until it met the entry 3 times, or
 * 20 seconds.
 */
TEST(wp_during_migration)
{
	const unsigned long harvest = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	const long page = sysconf(_SC_PAGESIZE), n = 64;
	long hits = 0, spurious = 0, got = 0, round, ret;
	struct uffdio_register reg;
	struct page_region vec[64];
	struct timespec t0, t;
	pthread_t thread;
	char *buf, *p;
	int fd, uffd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_GE(fd, 0);
	uffd = uffd_wp_async_open();
	if (uffd < 0)
		SKIP(return, "no userfaultfd with asynchronous write protection");
	buf = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(buf, MAP_FAILED);
	ASSERT_EQ(madvise(buf, n * page, MADV_NOHUGEPAGE), 0);
	memset(buf, 1, n * page);
	if (madvise(buf, page, MADV_SOFT_OFFLINE))
		SKIP(return, "no MADV_SOFT_OFFLINE: %s", strerror(errno));
	reg.range.start = (uintptr_t)buf;
	reg.range.len = n * page;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	ASSERT_GE(wp_scan(fd, buf, buf + n * page, harvest, PAGE_IS_WRITTEN, vec, n), 1);

	offline.err = 0;
	atomic_store(&offline.stop, 0);
	ASSERT_EQ(pthread_create(&thread, NULL, offliner, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; hits < 3 && !offline.err; round++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 20)
			break;
		p = buf + round % n * page;
		p[0]++;
		offline.page = p;
		atomic_store(&offline.done, 0);
		atomic_store(&offline.go, 1);
		got = 0;
		while (!atomic_load(&offline.done) && !got)
			got = wp_scan(fd, p, p + page, harvest,
				      PAGE_IS_WRITTEN | PAGE_IS_SWAPPED, vec, 1);
		while (!atomic_load(&offline.done))
			;
		if (got < 0) {
			TH_LOG("harvest of a migration entry: %s", strerror(-got));
			break;
		}
		if (got) {
			hits++;
			ret = wp_scan(fd, p, p + page, 0, PAGE_IS_WRITTEN, vec, 1);
			spurious += ret != 0;
			TH_LOG("round %ld: protected in migration, then %s", round,
			       ret ? "read as written" : "not written");
		}
		/* Protect the page again; then a write must show. */
		wp_scan(fd, buf, buf + n * page, harvest, PAGE_IS_WRITTEN, vec, n);
		p[8]++;
		ret = wp_scan(fd, buf, buf + n * page, harvest, PAGE_IS_WRITTEN, vec, n);
		EXPECT_EQ(ret, 1);
		EXPECT_EQ(vec[0].start, (uintptr_t)p);
	}
	atomic_store(&offline.stop, 1);
	atomic_store(&offline.go, 1);
	pthread_join(thread, NULL);

	ASSERT_EQ(offline.err, 0);
	ASSERT_GE(got, 0);
	if (!hits)
		SKIP(goto out, "no harvest met a migration entry in %ld rounds", round);
	EXPECT_EQ(spurious, 0);
out:
	munmap(buf, n * page);
	close(uffd);
	close(fd);
}

TEST_HARNESS_MAIN
