// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_scan_test: functional suite for the PAGEMAP_SCAN ioctl.
 *
 * Every test builds its mappings in a fresh window (window(): 1 GiB aligned
 * with 4 KiB pages) in which no page table exists yet, so whether a page is
 * covered by a page table (which decides between the pte_none and the
 * pte_hole path) is deterministic, and asserts the exact regions, return
 * value and walk_end.
 *
 * The sizes are the running kernel's (pm_init()): page counts are in base
 * pages, and what the layouts place relative to a PMD (THPs, PMD-sized
 * hugetlb pages, separate page tables, C's bounce buffer of one entry per
 * page of a PMD) is scaled from 4 KiB pages' 512 pages a PMD (PMDP()), so
 * x86_64 and arm64 with 4 KiB pages run the very same numbers; with 64 KiB
 * pages a PMD is 8192 pages (512 MiB) and the THP and hugetlb tests use one
 * or two of them.
 *
 * Semantics encoded are those of fs/proc/task_mmu.c in Debian 6.12.117:
 *  - an unpopulated pte inside an existing page table reports WRITTEN
 *    (pagemap_page_category(), pte_none case), also in VMAs without uffd;
 *    7.3 reports WRITTEN in uffd-wp VMAs only, for every kind of entry:
 *    P_WN is WRITTEN as the running tree reports it outside uffd-wp VMAs;
 *  - a page-table hole reports WRITTEN only in a uffd-wp VMA that is not
 *    hugetlb (pagemap_scan_pte_hole());
 *  - pte markers (uffd-wp on unpopulated/zapped ptes) are swap-format ptes
 *    and therefore report SWAPPED, not WRITTEN.
 * Cases where the host kernel legitimately differs are marked HOST-VARIANT.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include "suite_common.h"

#define UFFD_ASYNC (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | \
		    UFFD_FEATURE_WP_HUGETLBFS_SHMEM)
#define NP(n) ((n) * PS)

static int uffd_async;		/* WP_ASYNC | WP_UNPOPULATED | HUGETLBFS_SHMEM */

static void *page(void *base, long i) { return (char *)base + i * PS; }

static int get_uffd(void)
{
	if (uffd_async <= 0) {
		uffd_async = uffd_open(UFFD_ASYNC);
		if (uffd_async < 0)
			FAILF("userfaultfd with WP_ASYNC unavailable: %s\n",
			      strerror(-uffd_async));
	}
	return uffd_async;
}

static bool uffd_reg(int uffd, void *p, size_t len)
{
	int r = uffd_register_wp(uffd, p, len);

	if (r)
		FAILF("UFFDIO_REGISTER(WP) failed: %s\n", strerror(-r));
	return !r;
}

static void *anon(void *addr, long n)
{
	void *p = mapf(addr, NP(n), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p)
		madvise(p, NP(n), MADV_NOHUGEPAGE);
	return p;
}

/* Write-protect by PAGEMAP_SCAN itself, no output. */
static bool wp_scan(void *base, long s, long e)
{
	struct pm_res r = pm_scan(pm_fd(), (uintptr_t)page(base, s),
				  (uintptr_t)page(base, e), NULL, 0,
				  PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				  0, 0, 0, 0, 0);

	if (r.ret) {
		FAILF("WP scan failed: ret %ld errno %d\n", r.ret, r.err);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- anon */

static void t_anon_private(void)
{
	void *w = window(), *a = anon(w, 16);

	if (!a)
		goto out;
	/* No page table at all: one pte_hole, category 0. */
	CHK("fresh", a, 0, 16, SPR(), 1, R(0, 16, 0));
	for (int i = 0; i < 4; i++)
		touch_write(page(a, i));
	touch_write(page(a, 8));
	/* Now a page table exists: pte_none pages report WRITTEN (6.12). */
	CHK("populated", a, 0, 16, SPR(), 4,
	    R(0, 4, P_P | P_WN), R(4, 8, P_WN), R(8, 9, P_P | P_WN), R(9, 16, P_WN));
	CHK("mask PRESENT", a, 0, 16, SPR(.mask = P_P), 2,
	    R(0, 4, P_P | P_WN), R(8, 9, P_P | P_WN));
	CHK("inverted PRESENT", a, 0, 16, SPR(.mask = P_P, .inv = P_P), 2,
	    R(4, 8, P_WN), R(9, 16, P_WN));
	CHK("anyof PRESENT|SWAPPED, return PRESENT", a, 0, 16,
	    SPR(.anyof = P_P | P_S, .ret = P_P), 2, R(0, 4, P_P), R(8, 9, P_P));
	CHK("mask+anyof no match", a, 0, 16, SPR(.mask = P_P, .anyof = P_S), 0);
	CHK("return mask 0 merges all", a, 0, 16, SPR(.ret = 0), 1, R(0, 16, 0));
	CHK("return WRITTEN merges all", a, 0, 16, SPR(.ret = P_W), 1, R(0, 16, P_WN));
	CHK("sub range", a, 2, 10, SPR(), 4, R(2, 4, P_P | P_WN), R(4, 8, P_WN),
	    R(8, 9, P_P | P_WN), R(9, 10, P_WN));
	if (g_written_gated)
		/* 7.3: no page of a VMA without uffd-wp is WRITTEN. */
		CHK("inverted WRITTEN matches every page", a, 0, 16,
		    SPR(.mask = P_W, .inv = P_W), 4, R(0, 4, P_P), R(4, 8, 0), R(8, 9, P_P),
		    R(9, 16, 0));
	else
		CHK("inverted WRITTEN matches nothing", a, 0, 16, SPR(.mask = P_W, .inv = P_W), 0);
	CHK("inverted 0-category (HUGE) selects all", a, 0, 16,
	    SPR(.mask = P_H, .inv = P_H, .ret = P_H), 1, R(0, 16, 0));
out:
	unwindow(w);
}

static void t_shared_anon(void)
{
	void *w = window();
	void *a = mapf(w, NP(8), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (!a)
		goto out;
	CHK("fresh", a, 0, 8, SPR(), 1, R(0, 8, 0));
	touch_write(page(a, 0));
	touch_write(page(a, 1));
	touch_read(page(a, 4));	/* shmem read fault allocates a real page */
	CHK("populated", a, 0, 8, SPR(), 4, R(0, 2, P_P | P_WN | P_F), R(2, 4, P_WN),
	    R(4, 5, P_P | P_WN | P_F), R(5, 8, P_WN));
	CHK("mask FILE", a, 0, 8, SPR(.mask = P_F, .ret = P_F), 2, R(0, 2, P_F), R(4, 5, P_F));
out:
	unwindow(w);
}

static void t_memfd(void)
{
	void *w = window(), *a;
	int fd = memfd_create("pmscan", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, NP(8))) {
		FAILF("memfd: %s\n", strerror(errno));
		goto out;
	}
	a = mapf(w, NP(8), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!a)
		goto out;
	touch_write(page(a, 0));
	touch_read(page(a, 5));
	CHK("shared", a, 0, 8, SPR(), 4, R(0, 1, P_P | P_WN | P_F), R(1, 5, P_WN),
	    R(5, 6, P_P | P_WN | P_F), R(6, 8, P_WN));
	/* MAP_PRIVATE of the same memfd: read maps the shmem page, write COWs. */
	{
		void *b = mapf(page(w, PMDP(512)), NP(8), PROT_READ | PROT_WRITE, MAP_PRIVATE,
			       fd, 0);

		if (b) {
			touch_read(page(b, 0));
			touch_read(page(b, 5));
			touch_write(page(b, 5));
			CHK("private cow", b, 0, 8, SPR(), 4, R(0, 1, P_P | P_WN | P_F),
			    R(1, 5, P_WN), R(5, 6, P_P | P_WN), R(6, 8, P_WN));
		}
	}
out:
	if (fd >= 0)
		close(fd);
	unwindow(w);
}

/* ---------------------------------------------------------------- ext2 */

static int ext2_file(long npages)
{
	const char *dir = env_or("PMSCAN_EXT2_DIR", "/mnt/ext2");
	char path[512];
	struct statfs sf;
	char *buf;
	int fd;

	if (statfs(dir, &sf)) {
		FAILF("ext2 directory %s: %s (set PMSCAN_EXT2_DIR)\n", dir, strerror(errno));
		return -1;
	}
	if (sf.f_type != 0xEF53) {
		FAILF("%s is not an ext2 file system (f_type %#lx)\n", dir, (long)sf.f_type);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/pmscan-test-%d", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		FAILF("create %s: %s\n", path, strerror(errno));
		return -1;
	}
	unlink(path);
	buf = malloc(NP(npages));
	memset(buf, 0x5a, NP(npages));
	if (pwrite(fd, buf, NP(npages), 0) != (ssize_t)NP(npages)) {
		FAILF("write %s: %s\n", path, strerror(errno));
		close(fd);
		fd = -1;
	}
	free(buf);
	if (fd >= 0)
		fsync(fd);
	return fd;
}

static void t_ext2_private_cow(void)
{
	void *w = window(), *a;
	int fd = ext2_file(8);

	if (fd < 0)
		goto out;
	a = mapf(w, NP(8), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!a)
		goto out;
	for (int i = 0; i < 8; i++)
		touch_read(page(a, i));
	CHK("read: page cache", a, 0, 8, SPR(), 1, R(0, 8, P_P | P_WN | P_F));
	touch_write(page(a, 1));
	touch_write(page(a, 5));
	CHK("after cow", a, 0, 8, SPR(), 5, R(0, 1, P_P | P_WN | P_F), R(1, 2, P_P | P_WN),
	    R(2, 5, P_P | P_WN | P_F), R(5, 6, P_P | P_WN), R(6, 8, P_P | P_WN | P_F));
	CHK("FILE inverted: the anon copies", a, 0, 8, SPR(.mask = P_F, .inv = P_F), 2,
	    R(1, 2, P_P | P_WN), R(5, 6, P_P | P_WN));
	/* FILE is only computed when asked for (masks_of_interest). */
	CHK("return without FILE", a, 0, 8, SPR(.ret = P_P), 1, R(0, 8, P_P));
out:
	if (fd >= 0)
		close(fd);
	unwindow(w);
}

static void t_ext2_shared(void)
{
	void *w = window(), *a;
	int fd = ext2_file(8);

	if (fd < 0)
		goto out;
	a = mapf(w, NP(8), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!a)
		goto out;
	CHK("fresh", a, 0, 8, SPR(), 1, R(0, 8, 0));
	for (int i = 0; i < 8; i++)
		touch_read(page(a, i));
	touch_write(page(a, 6));
	CHK("file pages", a, 0, 8, SPR(), 1, R(0, 8, P_P | P_WN | P_F));
	CHK("mask FILE|PRESENT", a, 0, 8, SPR(.mask = P_F | P_P, .ret = P_F), 1, R(0, 8, P_F));
	CHK("inverted FILE", a, 0, 8, SPR(.mask = P_F, .inv = P_F), 0);
out:
	if (fd >= 0)
		close(fd);
	unwindow(w);
}

/* ---------------------------------------------------------------- zero pages */

static void t_pfnzero(void)
{
	void *w = window(), *a = anon(w, 4);

	if (!a)
		goto out;
	touch_read(page(a, 0));
	touch_read(page(a, 2));
	CHK("zero pages", a, 0, 4, SPR(), 4, R(0, 1, P_P | P_WN | P_Z), R(1, 2, P_WN),
	    R(2, 3, P_P | P_WN | P_Z), R(3, 4, P_WN));
	CHK("anyof PFNZERO", a, 0, 4, SPR(.anyof = P_Z, .ret = P_Z), 2,
	    R(0, 1, P_Z), R(2, 3, P_Z));
	touch_write(page(a, 2));
	CHK("written zero page is a real page", a, 0, 4, SPR(.mask = P_P), 2,
	    R(0, 1, P_P | P_WN | P_Z), R(2, 3, P_P | P_WN));
out:
	unwindow(w);
}

static bool thp_enabled_always(void)
{
	char buf[128];

	if (sysfs_read_str("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)))
		return false;
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

static void t_pfnzero_huge(void)
{
	void *w = window();
	void *a = mapf(w, PMD_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long zp = sysfs_read_long("/sys/kernel/mm/transparent_hugepage/use_zero_page");

	if (!a)
		goto out;
	if (!thp_enabled_always() || zp != 1) {
		FAILF("THP (enabled=always) and use_zero_page=1 expected, use_zero_page=%ld\n", zp);
		goto out;
	}
	madvise(a, PMD_SZ, MADV_HUGEPAGE);
	touch_read(a);
	CHK("huge zero page", a, 0, PMD_PG, SPR(), 1, R(0, PMD_PG, P_H | P_P | P_WN | P_Z));
	CHK("sub range of huge zero page", a, 7, 9, SPR(), 1, R(7, 9, P_H | P_P | P_WN | P_Z));
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- THP */

/* Map a PMD-aligned anon THP of n huge pages, write it, verify PAGE_IS_HUGE. */
static void *thp(void *addr, int n, int uffd)
{
	void *a = mapf(addr, n * PMD_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pm_res r;

	if (!a)
		return NULL;
	if (!thp_enabled_always()) {
		FAILF("THP is not enabled (need enabled=always or madvise)\n");
		return NULL;
	}
	madvise(a, n * PMD_SZ, MADV_HUGEPAGE);
	if (uffd >= 0 && !uffd_reg(uffd, a, n * PMD_SZ))
		return NULL;
	memset(a, 0x11, n * PMD_SZ);
	r = pm_scan(pm_fd(), (uintptr_t)a, (uintptr_t)a + n * PMD_SZ, g_vec, VEC_CAP,
		    0, 0, 0, P_H, 0, P_H);
	if (r.ret != 1 || g_vec[0].start != (uintptr_t)a ||
	    g_vec[0].end != (uintptr_t)a + n * PMD_SZ) {
		FAILF("THP expected but not obtained: PAGE_IS_HUGE scan returned %ld regions %s\n",
		      r.ret, "(check THP enabled=always, defrag, free memory)");
		if (r.ret > 0)
			pr_regions("huge", g_vec, r.ret, (uintptr_t)a);
		return NULL;
	}
	return a;
}

static void t_thp_whole(void)
{
	void *w = window(), *a = thp(w, 2, -1);

	if (!a)
		goto out;
	CHK("two THPs", a, 0, 2 * PMD_PG, SPR(), 1, R(0, 2 * PMD_PG, P_H | P_P | P_WN));
	CHK("sub range inside one THP", a, PMDP(100), PMDP(200), SPR(), 1,
	    R(PMDP(100), PMDP(200), P_H | P_P | P_WN));
	CHK("sub range across THPs", a, PMDP(500), PMDP(520), SPR(), 1,
	    R(PMDP(500), PMDP(520), P_H | P_P | P_WN));
	CHK("HUGE inverted", a, 0, 2 * PMD_PG, SPR(.mask = P_H, .inv = P_H), 0);
	CHKW("max_pages inside THP", a, 0, 2 * PMD_PG, SPR(.max_pages = 10), 10, 1,
	     R(0, 10, P_H | P_P | P_WN));
	CHKW("max_pages across THPs", a, 0, 2 * PMD_PG, SPR(.max_pages = PMDP(600)), PMDP(600),
	     1, R(0, PMDP(600), P_H | P_P | P_WN));
	/* Scans must not have split anything. */
	CHK("still huge", a, 0, 2 * PMD_PG, SPR(), 1, R(0, 2 * PMD_PG, P_H | P_P | P_WN));
out:
	unwindow(w);
}

static void t_thp_partial_wp(void)
{
	void *w = window();
	int uffd = get_uffd();
	void *a = uffd >= 0 ? thp(w, 1, uffd) : NULL;
	long half = PMD_PG / 2;

	if (!a)
		goto out;
	CHK("registered THP", a, 0, PMD_PG, SPR(), 1, R(0, PMD_PG, P_A | P_H | P_P | P_W));
	/* WP of half the THP splits the PMD and protects ptes. */
	CHK("partial WP", a, 0, half, SPR(.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
					  .mask = P_W), 1, R(0, half, P_A | P_P | P_W));
	CHK("after split", a, 0, PMD_PG, SPR(), 2, R(0, half, P_A | P_P),
	    R(half, PMD_PG, P_A | P_P | P_W));
	touch_write(page(a, 3));
	CHK("write after split", a, 0, PMD_PG, SPR(.mask = P_W, .ret = P_W), 2,
	    R(3, 4, P_W), R(half, PMD_PG, P_W));
out:
	unwindow(w);
}

static void t_thp_whole_wp(void)
{
	void *w = window();
	int uffd = get_uffd();
	void *a = uffd >= 0 ? thp(w, 1, uffd) : NULL;

	if (!a)
		goto out;
	CHK("WP whole THP", a, 0, PMD_PG, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 1,
	    R(0, PMD_PG, P_A | P_H | P_P | P_W));
	CHK("stays huge, protected", a, 0, PMD_PG, SPR(), 1, R(0, PMD_PG, P_A | P_H | P_P));
	CHK("second WP finds nothing", a, 0, PMD_PG,
	    SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 0);
	/* A write to a wp-async THP splits it and unprotects one pte. */
	touch_write(page(a, 10));
	CHK("write splits", a, 0, PMD_PG, SPR(), 3, R(0, 10, P_A | P_P),
	    R(10, 11, P_A | P_P | P_W), R(11, PMD_PG, P_A | P_P));
out:
	unwindow(w);
}

static void t_thp_max_pages_wp(void)
{
	void *w = window();
	int uffd = get_uffd();
	void *a = uffd >= 0 ? thp(w, 1, uffd) : NULL;

	if (!a)
		goto out;
	/* max_pages cuts into the THP: split, then ten ptes protected. */
	CHKW("WP max_pages 10", a, 0, PMD_PG,
	     SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W, .max_pages = 10), 10, 1,
	     R(0, 10, P_A | P_P | P_W));
	CHK("after", a, 0, PMD_PG, SPR(), 2, R(0, 10, P_A | P_P), R(10, PMD_PG, P_A | P_P | P_W));
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- hugetlb */

/*
 * The hugetlb tests use PMD-sized pages (2 MiB with 4 KiB pages, 512 MiB
 * with 64 KiB ones), asked for by size: the default hugetlb size need not
 * be the PMD's.
 */
static bool hugetlb_ok(long need)
{
	long f = hugetlb_free(PMD_SZ >> 10);

	if (f < need) {
		FAILF("need %ld free %lu KiB (PMD) hugetlb pages, have %ld (nr_hugepages)\n",
		      need, PMD_SZ >> 10, f);
		return false;
	}
	return true;
}

/* Map n PMD-sized hugetlb pages at addr: flags MAP_PRIVATE or MAP_SHARED. */
static void *hugetlb_map(void *addr, long n, int flags)
{
	return mapf(addr, n * PMD_SZ, PROT_READ | PROT_WRITE,
		    flags | MAP_ANONYMOUS | map_hugetlb_flags(PMD_SZ), -1, 0);
}

static void t_hugetlb_private(void)
{
	/*
	 * Three pages; two where a page is bigger than 2 MiB (the 64 KiB-page
	 * guest reserves two of 512 MiB). The second is never touched.
	 */
	long nh = pm_pmd_size > SZ_2M ? 2 : 3, hp = PMD_PG, end = nh * hp;
	void *w = window(), *a;

	if (!hugetlb_ok(nh))
		goto out;
	a = hugetlb_map(w, nh, MAP_PRIVATE);
	if (!a)
		goto out;
	/* No page table for the window: a hole, category 0. */
	CHK("fresh", a, 0, end, SPR(), 1, R(0, end, 0));
	touch_write(a);
	/* Now the PMD table exists: empty entries report HUGE only. */
	CHK("one page", a, 0, end, SPR(), 2, R(0, hp, P_H | P_P | P_WN), R(hp, end, P_H));
	CHK("sub range", a, 10, 20, SPR(), 1, R(10, 20, P_H | P_P | P_WN));
	CHKW("max_pages", a, 0, end, SPR(.max_pages = PMDP(700)), PMDP(700), 2,
	     R(0, hp, P_H | P_P | P_WN), R(hp, PMDP(700), P_H));
	CHK("mask PRESENT", a, 0, end, SPR(.mask = P_P), 1, R(0, hp, P_H | P_P | P_WN));
out:
	unwindow(w);
}

static void t_hugetlb_shared(void)
{
	void *w = window(), *a;
	long hp = PMD_PG;

	if (!hugetlb_ok(2))
		goto out;
	a = hugetlb_map(w, 2, MAP_SHARED);
	if (!a)
		goto out;
	touch_write(page(a, hp));
	CHK("shared hugetlb is FILE", a, 0, 2 * hp, SPR(), 2, R(0, hp, P_H),
	    R(hp, 2 * hp, P_H | P_P | P_WN | P_F));
out:
	unwindow(w);
}

static void t_hugetlb_fs(void)
{
	const char *dir = env_or("PMSCAN_HUGETLBFS", "/dev/hugepages");
	unsigned long fs_page = hugetlbfs_page_size(dir);
	char path[256];
	void *w = window(), *a;
	int fd;

	if (!hugetlb_ok(1))
		goto out;
	/* The mount's page size is its own (pagesize=, else the default size). */
	if (fs_page != PMD_SZ) {
		FAILF("%s: %s, not of PMD-sized (%lu KiB) pages (set PMSCAN_HUGETLBFS)\n", dir,
		      fs_page ? "hugetlbfs of another page size" : "not a hugetlbfs mount",
		      PMD_SZ >> 10);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/pmscan-%d", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		FAILF("hugetlbfs file %s: %s (set PMSCAN_HUGETLBFS)\n", path, strerror(errno));
		goto out;
	}
	unlink(path);
	a = mapf(w, PMD_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a && ftruncate(fd, PMD_SZ) == 0) {
		touch_write(a);
		CHK("hugetlbfs file page", a, 0, PMD_PG, SPR(), 1,
		    R(0, PMD_PG, P_H | P_P | P_WN | P_F));
	} else if (a) {
		FAILF("ftruncate: %s\n", strerror(errno));
	}
	close(fd);
out:
	unwindow(w);
}

static void t_hugetlb_wp(void)
{
	void *w = window(), *a;
	int uffd = get_uffd();
	long hp = PMD_PG;

	if (uffd < 0 || !hugetlb_ok(2))
		goto out;
	a = hugetlb_map(w, 2, MAP_PRIVATE);
	if (!a || !uffd_reg(uffd, a, 2 * PMD_SZ))
		goto out;
	touch_write(a);
	touch_write(page(a, hp));
	CHK("registered", a, 0, 2 * hp, SPR(), 1, R(0, 2 * hp, P_A | P_H | P_P | P_W));
	/* Partial WP of a hugetlb page is refused: no region, walk_end = start. */
	CHKW("partial WP refused", a, 0, 100, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W),
	     0, 0);
	/* max_pages inside the second page: first page protected, walk_end there. */
	CHKW("WP max_pages 600", a, 0, 2 * hp,
	     SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W, .max_pages = PMDP(600)), hp, 1,
	     R(0, hp, P_A | P_H | P_P | P_W));
	CHK("first protected", a, 0, 2 * hp, SPR(), 2, R(0, hp, P_A | P_H | P_P),
	    R(hp, 2 * hp, P_A | P_H | P_P | P_W));
	CHK("WP rest", a, 0, 2 * hp, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 1,
	    R(hp, 2 * hp, P_A | P_H | P_P | P_W));
	CHK("all protected", a, 0, 2 * hp, SPR(), 1, R(0, 2 * hp, P_A | P_H | P_P));
	touch_write(page(a, PMDP(700)));
	CHK("write unprotects the huge page", a, 0, 2 * hp, SPR(), 2, R(0, hp, P_A | P_H | P_P),
	    R(hp, 2 * hp, P_A | P_H | P_P | P_W));
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- swap */

static bool pageout(void *p, long n)
{
	struct pm_res r;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		if (madvise(p, NP(n), MADV_PAGEOUT)) {
			FAILF("MADV_PAGEOUT: %s\n", strerror(errno));
			return false;
		}
		r = pm_scan(pm_fd(), (uintptr_t)p, (uintptr_t)p + NP(n), g_vec, VEC_CAP,
			    0, 0, 0, P_S, 0, P_S);
		if (r.ret == 1 && g_vec[0].start == (uintptr_t)p &&
		    g_vec[0].end == (uintptr_t)p + NP(n))
			return true;
	}
	FAILF("MADV_PAGEOUT did not swap the pages out (is a swap device active?)\n");
	return false;
}

static void t_swapped(void)
{
	void *w = window(), *a = anon(w, 8);

	if (!a)
		goto out;
	memset(a, 3, NP(8));
	if (!pageout(page(a, 2), 4))
		goto out;
	CHK("swapped", a, 0, 8, SPR(), 3, R(0, 2, P_P | P_WN), R(2, 6, P_S | P_WN),
	    R(6, 8, P_P | P_WN));
	CHK("mask SWAPPED, FILE asked", a, 0, 8, SPR(.mask = P_S), 1, R(2, 6, P_S | P_WN));
	if (touch_read(page(a, 3)) != 3)
		FAILF("swapped page lost its content\n");
	CHK("one swapped in", a, 0, 8, SPR(.anyof = P_S, .ret = P_S | P_P), 2,
	    R(2, 3, P_S), R(4, 6, P_S));
out:
	unwindow(w);
}

static void t_swapped_uffd(void)
{
	void *w = window(), *a = anon(w, 8);
	int uffd = get_uffd();

	if (!a || uffd < 0 || !uffd_reg(uffd, a, NP(8)))
		goto out;
	memset(a, 4, NP(8));
	if (!pageout(a, 4))
		goto out;
	CHK("WP swapped + present", a, 0, 8, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 2,
	    R(0, 4, P_A | P_S | P_W), R(4, 8, P_A | P_P | P_W));
	CHK("after", a, 0, 8, SPR(), 2, R(0, 4, P_A | P_S), R(4, 8, P_A | P_P));
	if (touch_read(page(a, 1)) != 4)
		FAILF("content lost\n");
	CHK("swap-in keeps uffd-wp", a, 0, 8, SPR(), 4, R(0, 1, P_A | P_S), R(1, 2, P_A | P_P),
	    R(2, 4, P_A | P_S), R(4, 8, P_A | P_P));
	touch_write(page(a, 2));
	CHK("write to swapped WP page", a, 0, 8, SPR(.mask = P_W), 1, R(2, 3, P_A | P_P | P_W));
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- uffd-wp */

static void uffd_anon_common(uint64_t features, const char *tag)
{
	void *w = window(), *a = anon(w, 16);
	int uffd = uffd_open(features);
	char what[96];

	if (uffd < 0) {
		FAILF("userfaultfd(%s): %s\n", tag, strerror(-uffd));
		goto out;
	}
	if (!a || !uffd_reg(uffd, a, NP(16)))
		goto out;
	snprintf(what, sizeof(what), "%s: registered, unpopulated", tag);
	/* Hole in a uffd-wp VMA: WRITTEN (6.12 pagemap_scan_pte_hole). */
	CHK(what, a, 0, 16, SPR(), 1, R(0, 16, P_A | P_W));
	if (uffd_wp(uffd, a, NP(16), true))
		FAILF("UFFDIO_WRITEPROTECT failed\n");
	/* WP_UNPOPULATED (implied by WP_ASYNC) installs markers: SWAPPED. */
	snprintf(what, sizeof(what), "%s: markers", tag);
	CHK(what, a, 0, 16, SPR(), 1, R(0, 16, P_A | P_S));
	for (int i = 0; i < 4; i++)
		touch_write(page(a, i));
	touch_read(page(a, 6));
	snprintf(what, sizeof(what), "%s: written", tag);
	CHK(what, a, 0, 16, SPR(), 4, R(0, 4, P_A | P_P | P_W), R(4, 6, P_A | P_S),
	    R(6, 7, P_A | P_P | P_Z), R(7, 16, P_A | P_S));
	snprintf(what, sizeof(what), "%s: WP+harvest", tag);
	CHK(what, a, 0, 16, SPR(.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				.mask = P_W, .ret = P_W), 1, R(0, 4, P_W));
	snprintf(what, sizeof(what), "%s: after harvest", tag);
	CHK(what, a, 0, 16, SPR(), 4, R(0, 4, P_A | P_P), R(4, 6, P_A | P_S),
	    R(6, 7, P_A | P_P | P_Z), R(7, 16, P_A | P_S));
	touch_write(page(a, 2));
	touch_write(page(a, 9));
	snprintf(what, sizeof(what), "%s: second harvest", tag);
	CHK(what, a, 0, 16, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W, .ret = P_W), 2,
	    R(2, 3, P_W), R(9, 10, P_W));
	close(uffd);
out:
	unwindow(w);
}

static void t_uffd_async_unpopulated(void)
{
	uffd_anon_common(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
			 "WP_ASYNC|WP_UNPOPULATED");
}

static void t_uffd_async_only(void)
{
	/* The kernel turns WP_UNPOPULATED on for WP_ASYNC: same results. */
	uffd_anon_common(UFFD_FEATURE_WP_ASYNC, "WP_ASYNC");
}

static void t_uffd_sync(void)
{
	void *w = window(), *a = anon(w, 8);
	int uffd = uffd_open(0);

	if (uffd < 0) {
		FAILF("userfaultfd: %s\n", strerror(-uffd));
		goto out;
	}
	if (!a || !uffd_reg(uffd, a, NP(8)))
		goto out;
	memset(a, 1, NP(4));
	/* Sync uffd-wp is not WP-async: no WPALLOWED, WP skips, CHECK fails. */
	CHK("no WPALLOWED", a, 0, 8, SPR(), 2, R(0, 4, P_P | P_W), R(4, 8, P_W));
	CHK("WP_MATCHING skips the VMA", a, 0, 8,
	    SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 0);
	chk_full("CHECK_WPASYNC -> EPERM", a, 0, 8, SPR(.flags = PM_SCAN_CHECK_WPASYNC),
		 -EPERM, WE_END, 0);
	CHK("mask WPALLOWED skips the VMA", a, 0, 8, SPR(.mask = P_A), 0);
	close(uffd);
out:
	unwindow(w);
}

static void t_uffd_anon_dontneed(void)
{
	void *w = window(), *a = anon(w, 8);
	int uffd = get_uffd();

	if (!a || uffd < 0 || !uffd_reg(uffd, a, NP(8)))
		goto out;
	memset(a, 1, NP(8));
	wp_scan(a, 0, 8);
	madvise(page(a, 2), NP(4), MADV_DONTNEED);
	/* Anonymous zap drops everything (no marker): pte_none -> WRITTEN. */
	CHK("anon zap", a, 0, 8, SPR(), 3, R(0, 2, P_A | P_P), R(2, 6, P_A | P_W),
	    R(6, 8, P_A | P_P));
out:
	unwindow(w);
}

static void t_uffd_shmem_markers(void)
{
	void *w = window(), *a;
	int uffd = get_uffd();
	int fd = memfd_create("pmscan-m", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, NP(8)) || uffd < 0)
		goto out;
	a = mapf(w, NP(8), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!a || !uffd_reg(uffd, a, NP(8)))
		goto out;
	memset(a, 1, NP(8));
	CHK("written", a, 0, 8, SPR(), 1, R(0, 8, P_A | P_P | P_W | P_F));
	CHK("WP", a, 0, 8, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W, .ret = P_W), 1,
	    R(0, 8, P_W));
	madvise(page(a, 2), NP(4), MADV_DONTNEED);
	/* File-backed zap keeps uffd-wp as a pte marker: SWAPPED, not FILE. */
	CHK("markers", a, 0, 8, SPR(), 3, R(0, 2, P_A | P_P | P_F), R(2, 6, P_A | P_S),
	    R(6, 8, P_A | P_P | P_F));
	if (touch_read(page(a, 3)) != 1)
		FAILF("content lost\n");
	touch_write(page(a, 4));
	CHK("read keeps protection, write resolves", a, 0, 8, SPR(), 6,
	    R(0, 2, P_A | P_P | P_F), R(2, 3, P_A | P_S), R(3, 4, P_A | P_P | P_F),
	    R(4, 5, P_A | P_P | P_W | P_F), R(5, 6, P_A | P_S), R(6, 8, P_A | P_P | P_F));
	/* Unregistering drops WPALLOWED; markers stay but are no longer wp. */
	uffd_unregister(uffd, a, NP(8));
	CHK("unregistered", a, 0, 8, SPR(.mask = P_A), 0);
out:
	if (fd >= 0)
		close(fd);
	unwindow(w);
}

static void t_uffd_ext2(void)
{
	void *w = window(), *a;
	int uffd = get_uffd();
	int fd = ext2_file(8);

	if (fd < 0 || uffd < 0)
		goto out;
	a = mapf(w, NP(8), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!a || !uffd_reg(uffd, a, NP(8)))
		goto out;
	for (int i = 0; i < 8; i++)
		touch_read(page(a, i));
	CHK("registered file", a, 0, 8, SPR(), 1, R(0, 8, P_A | P_P | P_W | P_F));
	wp_scan(a, 0, 8);
	touch_write(page(a, 5));
	CHK("one written", a, 0, 8, SPR(.mask = P_W, .ret = P_W | P_F), 1, R(5, 6, P_W | P_F));
	madvise(page(a, 0), NP(2), MADV_DONTNEED);
	CHK("file markers", a, 0, 8, SPR(), 4, R(0, 2, P_A | P_S), R(2, 5, P_A | P_P | P_F),
	    R(5, 6, P_A | P_P | P_W | P_F), R(6, 8, P_A | P_P | P_F));
out:
	if (fd >= 0)
		close(fd);
	unwindow(w);
}

/* ---------------------------------------------------------------- soft-dirty */

/*
 * With soft-dirty (the x86_64 guests): a new VMA is soft-dirty, clear_refs 4
 * clears it, writes set it again. Without it (arm64 has no soft-dirty bit; a
 * host kernel without CONFIG_MEM_SOFT_DIRTY) the same steps run and no page
 * may ever be reported SOFT_DIRTY: asking for it, required (category_mask)
 * or among others (anyof), matches nothing; inverted it matches every page.
 */
static void sd_never(void *a, long n, const char *when)
{
	char what[96];

	snprintf(what, sizeof(what), "%s: mask SOFT_DIRTY matches nothing", when);
	CHK(what, a, 0, n, SPR(.mask = P_D, .ret = P_D | P_P), 0);
	snprintf(what, sizeof(what), "%s: anyof SOFT_DIRTY matches nothing", when);
	CHK(what, a, 0, n, SPR(.anyof = P_D, .ret = P_D | P_P), 0);
	snprintf(what, sizeof(what), "%s: inverted SOFT_DIRTY matches all", when);
	CHK(what, a, 0, n, SPR(.mask = P_D, .inv = P_D, .ret = P_D), 1, R(0, n, 0));
}

#ifdef __x86_64__
#define NO_SD_WHY "HOST-VARIANT: a kernel without CONFIG_MEM_SOFT_DIRTY"
#else
#define NO_SD_WHY "the architecture has no soft-dirty bit"
#endif

static void t_softdirty(void)
{
	void *w = window(), *a = anon(w, 8), *b;
	bool sd = softdirty_supported();
	const uint64_t rm = P_D | P_P | P_W, d = sd ? P_D : 0;

	if (!a)
		goto out;
#ifdef __x86_64__
	if (!sd && g_is_612) {
		FAILF("soft-dirty not supported (no 'sd' VmFlag): %s expected\n",
		      "CONFIG_MEM_SOFT_DIRTY");
		goto out;
	}
#endif
	if (!sd)
		ksft_print_msg("no soft-dirty support (%s): expecting no SOFT_DIRTY\n", NO_SD_WHY);
	memset(a, 1, NP(8));
	CHK(sd ? "fresh VMA is soft-dirty" : "fresh VMA: not soft-dirty", a, 0, 8,
	    SPR(.ret = rm), 1, R(0, 8, d | P_P | P_WN));
	if (!sd)
		sd_never(a, 8, "fresh VMA");
	if (clear_refs_softdirty()) {
		FAILF("clear_refs: %s\n", strerror(errno));
		goto out;
	}
	CHK("after clear_refs", a, 0, 8, SPR(.ret = rm), 1, R(0, 8, P_P | P_WN));
	touch_write(page(a, 1));
	touch_write(page(a, 5));
	if (sd) {
		CHK("two dirtied", a, 0, 8, SPR(.ret = rm), 5, R(0, 1, P_P | P_WN),
		    R(1, 2, P_D | P_P | P_WN), R(2, 5, P_P | P_WN), R(5, 6, P_D | P_P | P_WN),
		    R(6, 8, P_P | P_WN));
		CHK("mask SOFT_DIRTY", a, 0, 8, SPR(.mask = P_D, .ret = P_D), 2, R(1, 2, P_D),
		    R(5, 6, P_D));
		CHK("inverted SOFT_DIRTY", a, 0, 8, SPR(.mask = P_D, .inv = P_D, .ret = P_D), 3,
		    R(0, 1, 0), R(2, 5, 0), R(6, 8, 0));
	} else {
		CHK("two written: not soft-dirty", a, 0, 8, SPR(.ret = rm), 1,
		    R(0, 8, P_P | P_WN));
		sd_never(a, 8, "written after clear_refs");
	}
	/* A new VMA carries VM_SOFTDIRTY: every page, even unpopulated. */
	b = anon(page(w, PMDP(512)), 4);
	if (b) {
		touch_write(page(b, 0));
		CHK(sd ? "new VMA" : "new VMA: not soft-dirty", b, 0, 4, SPR(.ret = rm), 2,
		    R(0, 1, d | P_P | P_WN), R(1, 4, d | P_WN));
		if (!sd)
			sd_never(b, 4, "new VMA");
	}
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- protections */

static void t_prot_none(void)
{
	void *w = window(), *a = anon(w, 8), *b;

	if (!a)
		goto out;
	memset(a, 1, NP(4));
	mprotect(a, NP(8), PROT_NONE);
	CHK("PROT_NONE present pages", a, 0, 8, SPR(), 2, R(0, 4, P_P | P_WN), R(4, 8, P_WN));
	b = mapf(page(w, PMDP(1024)), NP(4), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b)
		CHK("untouched PROT_NONE VMA", b, 0, 4, SPR(), 1, R(0, 4, 0));
	mprotect(a, NP(8), PROT_READ);
	CHK("PROT_READ", a, 0, 8, SPR(.mask = P_P), 1, R(0, 4, P_P | P_WN));
out:
	unwindow(w);
}

static bool smaps_pfnmap(uintptr_t *s, uintptr_t *e)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	unsigned long cs = 0, ce = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char *tok;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			cs = a;
			ce = b;
			continue;
		}
		if (strncmp(line, "VmFlags:", 8))
			continue;
		for (tok = strtok(line + 8, "\n "); tok; tok = strtok(NULL, "\n "))
			if (!strcmp(tok, "pf")) {
				*s = cs;
				*e = ce;
				found = true;
			}
	}
	fclose(f);
	return found;
}

/* A perf event's ring buffer: mapped with remap_pfn_range(). */
static bool perf_pfnmap(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
	};
	int fd = syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	void *p;

	if (fd < 0)
		return false;
	/* The metadata page and one data page, read-only. */
	p = mmap(NULL, 2 * PS, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		close(fd);
	return p != MAP_FAILED;
}

/* A memory BAR of a PCI device: /sys/bus/pci/devices/DEV/resourceN. */
static bool pci_pfnmap(void)
{
	const char *dir = "/sys/bus/pci/devices";
	DIR *d = opendir(dir);
	struct dirent *de;
	bool done = false;

	while (d && !done && (de = readdir(d))) {
		unsigned long long lo, hi, fl;
		char path[512], line[160];
		FILE *f;
		int bar;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/resource", dir, de->d_name);
		f = fopen(path, "re");
		for (bar = 0; !done && f && bar < 6 && fgets(line, sizeof(line), f); bar++) {
			void *p;
			int fd;

			/* "start end flags": IORESOURCE_MEM is 0x200. */
			if (sscanf(line, "%llx %llx %llx", &lo, &hi, &fl) != 3 || hi <= lo ||
			    !(fl & 0x200))
				continue;
			snprintf(path, sizeof(path), "%s/%s/resource%d", dir, de->d_name, bar);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				continue;
			p = mmap(NULL, PS, PROT_READ, MAP_SHARED, fd, 0);
			close(fd);
			done = p != MAP_FAILED;
			if (done)
				ksft_print_msg("VM_PFNMAP mapping of %s\n", path);
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return done;
}

/*
 * A VM_PFNMAP mapping (VmFlags pf): x86's vDSO has one ([vvar_vclock]);
 * arm64's has none (its [vvar] is VM_MIXEDMAP), so one is made there, once:
 * the ring buffer of a perf event, else a PCI device's memory BAR.
 */
static bool find_pfnmap(uintptr_t *s, uintptr_t *e)
{
	static bool tried;

	if (smaps_pfnmap(s, e))
		return true;
	if (tried)
		return false;
	tried = true;
	return (perf_pfnmap() || pci_pfnmap()) && smaps_pfnmap(s, e);
}

static void t_pfnmap(void)
{
	struct timespec ts;
	uintptr_t s, e;
	void *base;
	long n;

	/* Fault the vDSO data pages in first. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!find_pfnmap(&s, &e)) {
		FAILF("no VM_PFNMAP mapping (VmFlags pf): no [vvar_vclock] (x86), %s\n",
		      "no perf event ring buffer, no PCI memory BAR could be mapped");
		return;
	}
	base = (void *)s;
	n = (e - s) / PS;
	ksft_print_msg("VM_PFNMAP mapping %#lx-%#lx (%ld pages)\n", (long)s, (long)e, n);
	/* A VM_PFNMAP VMA is skipped entirely, even with all-zero masks. */
	CHK("pfnmap skipped", base, 0, n, SPR(), 0);
	CHK("pfnmap inverted PRESENT", base, 0, n, SPR(.mask = P_P, .inv = P_P), 0);
	CHK("pfnmap WP_MATCHING", base, 0, n, SPR(.flags = PM_SCAN_WP_MATCHING), 0);
	/* ...but the uffd capability check comes first. */
	chk_full("pfnmap CHECK_WPASYNC", base, 0, n, SPR(.flags = PM_SCAN_CHECK_WPASYNC),
		 -EPERM, WE_END, 0);
}

/* ---------------------------------------------------------------- layouts */

static void t_multi_vma_gaps(void)
{
	void *w = window();
	char *b = w;
	int fd = memfd_create("pmscan-g", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, NP(4)))
		goto out;
	/* [0,4) anon  [4,8) gap  [8,12) shmem  [12,16) anon RO  [16,20) gap  [20,24) anon */
	if (!anon(b, 4) ||
	    !mapf(page(b, 8), NP(4), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ||
	    !mapf(page(b, 12), NP(4), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ||
	    !anon(page(b, 20), 4))
		goto out;
	memset(b, 1, NP(4));
	touch_write(page(b, 8));
	touch_write(page(b, 9));
	touch_read(page(b, 13));
	touch_write(page(b, 23));
	CHK("whole", b, 0, 24, SPR(), 7, R(0, 4, P_P | P_WN), R(8, 10, P_P | P_WN | P_F),
	    R(10, 13, P_WN), R(13, 14, P_P | P_WN | P_Z), R(14, 16, P_WN), R(20, 23, P_WN),
	    R(23, 24, P_P | P_WN));
	CHK("start in gap", b, 5, 11, SPR(), 2, R(8, 10, P_P | P_WN | P_F), R(10, 11, P_WN));
	CHK("gap only", b, 4, 8, SPR(), 0);
	CHK("end in gap", b, 14, 18, SPR(), 1, R(14, 16, P_WN));
	CHK("PRESENT only", b, 0, 24, SPR(.mask = P_P, .ret = P_P), 4, R(0, 4, P_P),
	    R(8, 10, P_P), R(13, 14, P_P), R(23, 24, P_P));
	CHK("beyond all VMAs", b, 24, 4096, SPR(), 0);
	/* Adjacent VMAs with equal categories merge into one region. */
	CHK("merge across VMA boundary", b, 8, 16, SPR(.ret = P_W), 1, R(8, 16, P_WN));
	CHK("no merge across gap", b, 0, 24, SPR(.ret = 0), 3, R(0, 4, 0), R(8, 16, 0),
	    R(20, 24, 0));
out:
	if (fd >= 0)
		close(fd);
	unwindow(w);
}

static void t_max_pages(void)
{
	void *w = window(), *a = anon(w, 16);

	if (!a)
		goto out;
	memset(a, 1, NP(6));
	CHKW("max_pages 5 in one region", a, 0, 16, SPR(.max_pages = 5), 5, 1,
	     R(0, 5, P_P | P_WN));
	CHKW("max_pages 8 across regions", a, 0, 16, SPR(.max_pages = 8), 8, 2,
	     R(0, 6, P_P | P_WN), R(6, 8, P_WN));
	/* Reaching max_pages exactly is not a stop: walk_end stays the end. */
	CHK("max_pages exactly the match", a, 0, 16, SPR(.mask = P_P, .max_pages = 6), 1,
	    R(0, 6, P_P | P_WN));
	CHK("max_pages larger", a, 0, 16, SPR(.mask = P_P, .max_pages = 7), 1, R(0, 6, P_P | P_WN));
	CHK("max_pages 0 = unlimited", a, 0, 16, SPR(.max_pages = 0), 2, R(0, 6, P_P | P_WN),
	    R(6, 16, P_WN));
	CHKW("max_pages 1", a, 3, 16, SPR(.max_pages = 1), 4, 1, R(3, 4, P_P | P_WN));
	{
		void *b = anon(page(w, PMDP(1024)), 16);

		if (b)
			CHKW("max_pages in a hole", b, 0, 16, SPR(.max_pages = 3), 3, 1,
			     R(0, 3, 0));
	}
	/* max_pages with vec_len 1: whichever limit hits first. */
	CHKW("vec_len 1 beats max_pages", a, 0, 16, SPR(.max_pages = 10, .vec_len = 1), 6, 1,
	     R(0, 6, P_P | P_WN));
out:
	unwindow(w);
}

static void t_vec_len1_restart(void)
{
	void *w = window(), *a = anon(w, 64);
	struct page_region all[64];
	long nall, got = 0, calls = 0;
	uint64_t start, end;
	struct pm_res r;

	if (!a)
		goto out;
	for (int i = 0; i < 64; i++)
		if (i % 3 == 0 || i % 7 == 0)
			touch_write(page(a, i));
	touch_read(page(a, 50));
	end = (uintptr_t)page(a, 64);
	r = pm_scan(pm_fd(), (uintptr_t)a, end, all, 64, 0, 0, 0, 0, 0, RM);
	nall = r.ret;
	if (nall < 10) {
		FAILF("reference scan gave %ld regions\n", nall);
		goto out;
	}
	for (start = (uintptr_t)a; start < end; start = r.walk_end) {
		struct page_region one;

		r = pm_scan(pm_fd(), start, end, &one, 1, 0, 0, 0, 0, 0, RM);
		calls++;
		if (r.ret < 0 || r.ret > 1 || calls > 100) {
			FAILF("call %ld: ret %ld\n", calls, r.ret);
			break;
		}
		if (r.ret == 0)
			break;
		if (got >= nall || one.start != all[got].start || one.end != all[got].end ||
		    one.categories != all[got].categories) {
			FAILF("call %ld: region differs from reference %ld\n", calls, got);
			break;
		}
		got++;
		/* walk_end is where the next region starts, or the end. */
		if (r.walk_end != (got < nall ? all[got].start : end)) {
			FAILF("call %ld: walk_end %#llx\n", calls, (unsigned long long)r.walk_end);
			break;
		}
	}
	if (got != nall)
		FAILF("collected %ld of %ld regions\n", got, nall);
	/* Same with max_pages 1: one page per call. */
	{
		long pages = 0;

		for (start = (uintptr_t)a; start < end; start = r.walk_end) {
			struct page_region one;

			r = pm_scan(pm_fd(), start, end, &one, 4, 0, 1, 0, P_P, 0, RM);
			if (r.ret != 1 || one.end != one.start + PS)
				break;
			pages++;
		}
		/* 0,3,6,..,63 (22) + 7,14,28,35,49,56 (6) + 50 (zero page) */
		if (pages != 29)
			FAILF("max_pages 1 loop found %ld present pages, expected 29\n", pages);
	}
out:
	unwindow(w);
}

/*
 * More than 512 regions (PAGEMAP_WALK_SIZE >> PAGE_SHIFT, the C bounce
 * buffer; 8192 with 64 KiB pages): the regions are the same for C and Rust.
 * walk_end differs on purpose: C leaves it at the point where it flushed its
 * bounce buffer and restarted the walk, Rust reports the true end of the
 * walk (and so does C with the fix of patches/upstream, 0001).
 *
 * 1400 one-page regions with 4 KiB pages (PMDP(): 2.7 bounce buffers),
 * every other page present: written, or read-faulted (the zero page) where
 * writing would take more than 64 MiB (64 KiB pages: 11200 pages).
 */
static void t_bounce_buffer(void)
{
	long np = PMDP(1400), nv = PMDP(600), bounce = PMD_PG, n, i;
	void *w = window(), *a = anon(w, np);
	bool zero = NP(np / 2) > (64UL << 20);
	uint64_t pc = P_P | P_WN | (zero ? P_Z : 0);
	struct pm_res r;

	if (!a)
		goto out;
	for (i = 0; i < np; i += 2)
		if (zero)
			touch_read(page(a, i));
		else
			touch_write(page(a, i));
	vec_poison(g_vec, VEC_CAP);
	r = pm_scan(pm_fd(), (uintptr_t)a, (uintptr_t)page(a, np), g_vec, VEC_CAP,
		    0, 0, 0, 0, 0, RM);
	n = r.ret;
	if (n != np) {
		FAILF("expected %ld regions, got %ld\n", np, n);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (g_vec[i].start != (uintptr_t)page(a, i) ||
		    g_vec[i].end != (uintptr_t)page(a, i + 1) ||
		    g_vec[i].categories != (i % 2 ? P_WN : pc)) {
			FAILF("region %ld wrong\n", i);
			break;
		}
	if (!vec_is_poison(g_vec + n, VEC_CAP - n))
		FAILF("vector written beyond the result\n");
	if (g_is_rust || tree_fixes_has("walk_end_flush")) {
		if (r.walk_end != (uintptr_t)page(a, np))
			FAILF("%s walk_end: page %ld, expected the end (%ld)\n",
			      g_is_rust ? "Rust" : "fixed C",
			      (long)((r.walk_end - (uintptr_t)a) / PS), np);
	} else {
		/*
		 * C: a flush after each full bounce buffer (4 KiB pages: at
		 * regions 512 and 1024); walk_end stays at the last.
		 */
		long last = (np - 1) / bounce * bounce;

		if (r.walk_end != (uintptr_t)page(a, last))
			FAILF("C walk_end: page %ld, expected %ld (last bounce-buffer restart)\n",
			      (long)((r.walk_end - (uintptr_t)a) / PS), last);
	}
	/* vec_len 600: stops after 600 regions, walk_end at region 600's start. */
	vec_poison(g_vec, VEC_CAP);
	r = pm_scan(pm_fd(), (uintptr_t)a, (uintptr_t)page(a, np), g_vec, nv,
		    0, 0, 0, 0, 0, RM);
	if (r.ret != nv || r.walk_end != (uintptr_t)page(a, nv) ||
	    g_vec[nv - 1].start != (uintptr_t)page(a, nv - 1) ||
	    g_vec[nv - 1].categories != ((nv - 1) % 2 ? P_WN : pc) ||
	    !vec_is_poison(g_vec + nv, VEC_CAP - nv))
		FAILF("vec_len %ld: ret %ld walk_end page %ld\n", nv, r.ret,
		      (long)((r.walk_end - (uintptr_t)a) / PS));
out:
	unwindow(w);
}

static void t_wp_harvest(void)
{
	void *w = window(), *a = anon(w, 256);
	int uffd = get_uffd();
	unsigned int seed = 12345;
	bool written[256];
	int round;

	if (!a || uffd < 0 || !uffd_reg(uffd, a, NP(256)))
		goto out;
	memset(a, 0, NP(256));
	wp_scan(a, 0, 256);
	for (round = 0; round < 20 && t_ok; round++) {
		struct pm_res r;
		long i, k = 0;

		memset(written, 0, sizeof(written));
		for (i = 0; i < 40; i++) {
			int pg = rand_r(&seed) % 256;

			written[pg] = true;
			__atomic_store_n((char *)page(a, pg) + rand_r(&seed) % PS, round,
					 __ATOMIC_RELAXED);
		}
		vec_poison(g_vec, VEC_CAP);
		r = pm_scan(pm_fd(), (uintptr_t)a, (uintptr_t)page(a, 256), g_vec, VEC_CAP,
			    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0, 0, P_W, 0, P_W);
		if (r.ret < 0) {
			FAILF("round %d: ret %ld errno %d\n", round, r.ret, r.err);
			break;
		}
		for (i = 0; i < 256; i++) {
			bool rep = k < r.ret && (uintptr_t)page(a, i) >= g_vec[k].start &&
				   (uintptr_t)page(a, i) < g_vec[k].end;

			if (rep != written[i]) {
				FAILF("round %d: page %ld written=%d reported=%d\n", round, i,
				      written[i], rep);
				break;
			}
			if (k < r.ret && (uintptr_t)page(a, i + 1) == g_vec[k].end)
				k++;
		}
		if (k != r.ret)
			FAILF("round %d: %ld regions not consumed\n", round, r.ret - k);
	}
	CHK("all protected at the end", a, 0, 256, SPR(.mask = P_W), 0);
out:
	unwindow(w);
}

static void t_check_wpasync(void)
{
	void *w = window(), *a = anon(w, 8), *b = anon(page(w, 8), 8);
	int uffd = get_uffd();

	if (!a || !b || uffd < 0)
		goto out;
	memset(a, 1, NP(16));
	chk_full("non-uffd VMA -> EPERM", b, 0, 8, SPR(.flags = PM_SCAN_CHECK_WPASYNC),
		 -EPERM, WE_END, 0);
	chk_full("WP|CHECK on non-uffd -> EPERM", b, 0, 8,
		 SPR(.flags = PM_SCAN_CHECK_WPASYNC | PM_SCAN_WP_MATCHING), -EPERM, WE_END, 0);
	if (!uffd_reg(uffd, a, NP(8)))
		goto out;
	/*
	 * uffd VMA then non-uffd VMA: the first VMA's regions are copied out and
	 * write-protected before the walk fails on the second.
	 */
	chk_full("uffd then non-uffd", a, 0, 16,
		 SPR(.flags = PM_SCAN_CHECK_WPASYNC | PM_SCAN_WP_MATCHING, .mask = P_W),
		 -EPERM, WE_END, 1, R(0, 8, P_A | P_P | P_W));
	CHK("first VMA protected", a, 0, 16, SPR(), 2, R(0, 8, P_A | P_P), R(8, 16, P_P | P_WN));
	/* Without WP_MATCHING no state changes, same failure. */
	chk_full("read-only CHECK", a, 0, 16, SPR(.flags = PM_SCAN_CHECK_WPASYNC),
		 -EPERM, WE_END, 1, R(0, 8, P_A | P_P));
	/* Only the uffd VMA, and a gap: fine. */
	CHK("CHECK on uffd VMA", a, 0, 8, SPR(.flags = PM_SCAN_CHECK_WPASYNC), 1,
	    R(0, 8, P_A | P_P));
	munmap(b, NP(8));
	CHK("CHECK across a gap", a, 0, 64, SPR(.flags = PM_SCAN_CHECK_WPASYNC), 1,
	    R(0, 8, P_A | P_P));
	/* WP_MATCHING alone silently skips non-uffd VMAs. */
	b = anon(page(w, 8), 8);
	if (b) {
		memset(b, 1, NP(8));
		touch_write(a);
		CHK("WP_MATCHING skips non-uffd", a, 0, 16,
		    SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 1, R(0, 1, P_A | P_P | P_W));
		CHK("non-uffd untouched", a, 0, 16, SPR(), 2, R(0, 8, P_A | P_P),
		    R(8, 16, P_P | P_WN));
	}
out:
	unwindow(w);
}

static void t_fast_paths(void)
{
	void *w = window(), *a = anon(w, 32);
	int uffd = get_uffd();

	if (!a || uffd < 0 || !uffd_reg(uffd, a, NP(32)))
		goto out;
	memset(a, 1, NP(8));
	wp_scan(a, 0, 16);
	touch_write(page(a, 2));
	touch_write(page(a, 12));
	if (!pageout(page(a, 4), 2))
		goto out;
	/* Reference (generic path: anyof makes it non-fast). */
	CHK("generic", a, 0, 32, SPR(.mask = P_W, .anyof = P_W, .ret = P_W), 3,
	    R(2, 3, P_W), R(12, 13, P_W), R(16, 32, P_W));
	/* PAGE_IS_WRITTEN fast path (mask == return == WRITTEN). */
	CHK("fast", a, 0, 32, SPR(.mask = P_W, .ret = P_W), 3, R(2, 3, P_W), R(12, 13, P_W),
	    R(16, 32, P_W));
	CHKW("fast max_pages", a, 0, 32, SPR(.mask = P_W, .ret = P_W, .max_pages = 10), 24, 3,
	     R(2, 3, P_W), R(12, 13, P_W), R(16, 24, P_W));
	CHKW("fast vec_len 1", a, 0, 32, SPR(.mask = P_W, .ret = P_W, .vec_len = 1), 12, 1,
	     R(2, 3, P_W));
	/* Fast WP with output. */
	CHK("fast WP", a, 0, 32, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W, .ret = P_W), 3,
	    R(2, 3, P_W), R(12, 13, P_W), R(16, 32, P_W));
	CHK("state", a, 0, 32, SPR(), 6, R(0, 4, P_A | P_P), R(4, 6, P_A | P_S),
	    R(6, 8, P_A | P_P), R(8, 12, P_A | P_S), R(12, 13, P_A | P_P), R(13, 32, P_A | P_S));
	/* Exclusive WP (no vector): every page gets protected, nothing reported. */
	memset(a, 2, NP(32));
	chk_full("exclusive WP, vec NULL", a, 0, 16,
		 SPR(.flags = PM_SCAN_WP_MATCHING, .null_vec = true, .vec_len = VL_ZERO),
		 0, WE_END, 0);
	chk_full("exclusive WP, vec_len 0", a, 16, 32,
		 SPR(.flags = PM_SCAN_WP_MATCHING, .vec_len = VL_ZERO), 0, WE_END, 0);
	CHK("all protected", a, 0, 32, SPR(.mask = P_W), 0);
	/* vec_len 0 without WP: a no-op that still succeeds. */
	chk_full("read-only vec_len 0", a, 0, 32, SPR(.vec_len = VL_ZERO), 0, WE_END, 0);
out:
	unwindow(w);
}

static void t_end_handling(void)
{
	void *w = window(), *a = anon(w, 8);
	uint64_t base = (uintptr_t)a;
	struct pm_res r;

	if (!a)
		goto out;
	memset(a, 1, NP(8));
	/* Unaligned end is rounded up, and walk_end reports the rounded end. */
	vec_poison(g_vec, VEC_CAP);
	r = pm_scan(pm_fd(), base, base + 2 * PS + 1, g_vec, VEC_CAP, 0, 0, 0, 0, 0, RM);
	if (r.ret != 1 || g_vec[0].end != base + 3 * PS || r.walk_end != base + 3 * PS)
		FAILF("unaligned end: ret %ld end page %lld walk_end page %lld\n", r.ret,
		      (long long)((g_vec[0].end - base) / PS),
		      (long long)((r.walk_end - base) / PS));
	/* start == end: nothing walked, walk_end = end. */
	r = pm_scan(pm_fd(), base + PS, base + PS, g_vec, VEC_CAP, 0, 0, 0, 0, 0, RM);
	if (r.ret != 0 || r.walk_end != base + PS)
		FAILF("empty range: ret %ld walk_end %#llx\n", r.ret,
		      (unsigned long long)r.walk_end);
	/* Unaligned end inside the same page as start. */
	r = pm_scan(pm_fd(), base + PS, base + PS + 10, g_vec, VEC_CAP, 0, 0, 0, 0, 0, RM);
	if (r.ret != 1 || r.walk_end != base + 2 * PS)
		FAILF("sub-page range: ret %ld\n", r.ret);
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- fork */

static int child_checks(void *a, int rfd, int wfd)
{
	struct pm_res r;
	char c;
	int bad = 0;
	int inherited = pm_fd();
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	/* The inherited pagemap fd still refers to the parent's mm. */
	r = pm_scan(inherited, (uintptr_t)a, (uintptr_t)page(a, 8), g_vec, VEC_CAP,
		    0, 0, 0, 0, 0, RM);
	if (r.ret != 2 || g_vec[0].categories != (P_A | P_P))
		bad |= 16;

	/* The child's VMA lost uffd-wp (no EVENT_FORK): no WPALLOWED, ptes written. */
	r = pm_scan(fd, (uintptr_t)a, (uintptr_t)page(a, 8), g_vec, VEC_CAP,
		    0, 0, 0, 0, 0, RM);
	if (r.ret != 1 || g_vec[0].start != (uintptr_t)a ||
	    g_vec[0].end != (uintptr_t)page(a, 8) || g_vec[0].categories != (P_P | P_WN))
		bad |= 1;
	r = pm_scan(fd, (uintptr_t)a, (uintptr_t)page(a, 8), g_vec, VEC_CAP,
		    PM_SCAN_CHECK_WPASYNC, 0, 0, 0, 0, RM);
	if (r.ret != -1 || r.err != EPERM)
		bad |= 2;
	if (write(wfd, "r", 1) != 1 || read(rfd, &c, 1) != 1)
		bad |= 4;
	/* The parent wrote its page 1: the child's copy is unaffected. */
	if (touch_read(page(a, 1)) != 7)
		bad |= 8;
	return bad;
}

static void t_fork(void)
{
	void *w = window(), *a = anon(w, 8);
	int uffd = get_uffd();
	int p2c[2], c2p[2], status, cfd;
	pid_t pid;
	char c;

	if (!a || uffd < 0 || !uffd_reg(uffd, a, NP(8)) || pipe(p2c) || pipe(c2p))
		goto out;
	memset(a, 7, NP(8));
	wp_scan(a, 0, 4);
	CHK("parent before fork", a, 0, 8, SPR(), 2, R(0, 4, P_A | P_P), R(4, 8, P_A | P_P | P_W));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child_checks(a, p2c[0], c2p[1]));
	if (pid < 0 || read(c2p[0], &c, 1) != 1) {
		FAILF("fork/sync failed\n");
		goto out;
	}
	/* Parent scans the child's address space through /proc/PID/pagemap. */
	cfd = pm_open_pid(pid);
	if (cfd < 0) {
		FAILF("open child pagemap: %s\n", strerror(errno));
	} else {
		struct pm_res r = pm_scan(cfd, (uintptr_t)a, (uintptr_t)page(a, 8), g_vec,
					  VEC_CAP, 0, 0, 0, 0, 0, RM);

		if (r.ret != 1 || g_vec[0].categories != (P_P | P_WN) ||
		    g_vec[0].end != (uintptr_t)page(a, 8))
			FAILF("remote scan of the child: ret %ld\n", r.ret);
		r = pm_scan(cfd, (uintptr_t)a, (uintptr_t)page(a, 8), NULL, 0,
			    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0, 0, 0, 0, 0);
		if (r.ret != -1 || r.err != EPERM)
			FAILF("remote CHECK_WPASYNC on the child: ret %ld errno %d\n",
			      r.ret, r.err);
	}
	/* The parent keeps its uffd-wp state. */
	CHK("parent after fork", a, 0, 8, SPR(), 2, R(0, 4, P_A | P_P), R(4, 8, P_A | P_P | P_W));
	touch_write(page(a, 1));
	CHK("parent write after fork", a, 0, 8, SPR(), 4, R(0, 1, P_A | P_P),
	    R(1, 2, P_A | P_P | P_W), R(2, 4, P_A | P_P), R(4, 8, P_A | P_P | P_W));
	if (write(p2c[1], "g", 1) != 1)
		FAILF("sync\n");
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		FAILF("child checks failed: status %#x %s\n", status,
		      "(1: categories, 2: EPERM, 8: COW, 16: inherited fd)");
	if (cfd >= 0) {
		/* The child is gone: its mm can no longer be pinned. */
		struct pm_res r = pm_scan(cfd, (uintptr_t)a, (uintptr_t)page(a, 8), g_vec,
					  VEC_CAP, 0, 0, 0, 0, 0, RM);

		if (r.ret != -1 || r.err != ESRCH)
			FAILF("scan of an exited child: ret %ld errno %d, expected ESRCH\n",
			      r.ret, r.err);
		close(cfd);
	}
	close(p2c[0]); close(p2c[1]); close(c2p[0]); close(c2p[1]);
out:
	unwindow(w);
}

/* ---------------------------------------------------------------- read() */

/* pread() of /proc/self/pagemap: the return value, or -errno. */
static long pm_pread(int fd, void *buf, size_t len, uint64_t off)
{
	long r = pread(fd, buf, len, off);

	return r < 0 ? -errno : r;
}

/*
 * read() of the pagemap file where the walk has no say: the offset and
 * length rules, the end of the address space, a VM_PFNMAP mapping (not
 * walked: its soft-dirty state only), and a process that exited. The
 * implementation under test must answer as C does: each read runs on it
 * and, where the switch exists, on C too.
 */
static void t_read_edges(void)
{
	static uint64_t a[64], b[64];
#ifdef __aarch64__
	/*
	 * Past the end of the address space, below the top byte that arm64
	 * ignores in a user address (TBI: pagemap untags the address an offset
	 * names, so 2^57 would be page 0).
	 */
	const uint64_t top = pm_user_end();
#else
	const uint64_t top = 1ULL << 57;	/* past the end of the address space */
#endif
	struct {
		const char *what;
		uint64_t off;
		size_t len;
		long want;	/* the return value, or -errno */
	} rd[] = {
		{ "offset not a multiple of 8", 8 * 100 + 3, 64, -EINVAL },
		{ "length not a multiple of 8", 8 * 100, 60, -EINVAL },
		{ "length 0", 8 * 100, 0, 0 },
		{ "the lowest pages, unmapped", 0, sizeof(a), sizeof(a) },
		{ "past the end of the address space", top / PS * 8, sizeof(a), 0 },
		{ "an offset whose page overflows", 1ULL << 60, sizeof(a), 0 },
#ifdef __aarch64__
		/* Tagged: the page at 2^56 is page 0 (unmapped), as read above. */
		{ "a tagged address (top byte 1)", (1ULL << 56) / PS * 8, sizeof(a), sizeof(a) },
#endif
	};
	int fd = pm_fd(), status, cfd;
	uintptr_t s, e;
	pid_t pid;
	long r;

	for (size_t i = 0; i < ARRAY_SIZE(rd); i++) {
		memset(a, 0xa5, sizeof(a));
		r = pm_pread(fd, a, rd[i].len, rd[i].off);
		if (r != rd[i].want)
			FAILF("read(%s): %ld, expected %ld\n", rd[i].what, r, rd[i].want);
		if (r == sizeof(a))
			for (size_t k = 0; k < 64; k++)
				if (a[k])
					FAILF("read(%s): entry %zu is %#llx, expected 0\n",
					      rd[i].what, k, (unsigned long long)a[k]);
	}

	/* The [vvar] VM_PFNMAP mapping: the same entries from C. */
	if (find_pfnmap(&s, &e)) {
		size_t n = (e - s) / PS < 64 ? (e - s) / PS : 64;

		memset(a, 0xa5, sizeof(a));
		memset(b, 0x5a, sizeof(b));
		r = pm_pread(fd, a, n * 8, s / PS * 8);
		if (r != (long)(n * 8))
			FAILF("read of the VM_PFNMAP mapping: %ld\n", r);
		if (g_is_rust && !impl_select("c")) {
			long rc = pm_pread(fd, b, n * 8, s / PS * 8);

			impl_select("rust");
			if (rc != r || memcmp(a, b, n * 8))
				FAILF("read of the VM_PFNMAP mapping: %ld, %#llx; C %ld, %#llx\n",
				      r, (unsigned long long)a[0], rc, (unsigned long long)b[0]);
		}
		for (size_t k = 0; k < n; k++)
			if (a[k] & ~(1ULL << 55))
				FAILF("VM_PFNMAP entry %zu: %#llx, expected soft-dirty or 0\n",
				      k, (unsigned long long)a[k]);
	} else {
		FAILF("no VM_PFNMAP mapping (VmFlags pf): no [vvar_vclock] (x86), %s\n",
		      "no perf event ring buffer, no PCI memory BAR could be mapped");
	}

	/* A process that exited: its pagemap reads as empty (end of file). */
	pid = fork();
	if (pid < 0) {
		FAILF("fork: %s\n", strerror(errno));
		return;
	}
	if (!pid) {
		pause();
		_exit(0);
	}
	cfd = pm_open_pid(pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (cfd < 0) {
		FAILF("open /proc/%d/pagemap: %s\n", (int)pid, strerror(errno));
		return;
	}
	r = pm_pread(cfd, a, sizeof(a), (uintptr_t)a / PS * 8);
	if (r != 0)
		FAILF("read of an exited process: %ld, expected 0 (end of file)\n", r);
	close(cfd);
}

struct test {
	const char *name;
	void (*fn)(void);
};

static const struct test tests[] = {
	{ "anon_private", t_anon_private },
	{ "shared_anon", t_shared_anon },
	{ "memfd_shmem", t_memfd },
	{ "ext2_private_cow", t_ext2_private_cow },
	{ "ext2_shared_file", t_ext2_shared },
	{ "pfnzero", t_pfnzero },
	{ "pfnzero_huge_zero_page", t_pfnzero_huge },
	{ "thp_whole", t_thp_whole },
	{ "thp_partial_wp_splits", t_thp_partial_wp },
	{ "thp_whole_wp_then_write", t_thp_whole_wp },
	{ "thp_wp_max_pages", t_thp_max_pages_wp },
	{ "hugetlb_2m_private", t_hugetlb_private },
	{ "hugetlb_2m_shared", t_hugetlb_shared },
	{ "hugetlb_2m_hugetlbfs_file", t_hugetlb_fs },
	{ "hugetlb_2m_wp", t_hugetlb_wp },
	{ "swapped", t_swapped },
	{ "swapped_uffd_wp", t_swapped_uffd },
	{ "uffd_wp_async_unpopulated", t_uffd_async_unpopulated },
	{ "uffd_wp_async_without_unpopulated", t_uffd_async_only },
	{ "uffd_wp_sync_not_wpallowed", t_uffd_sync },
	{ "uffd_wp_anon_dontneed", t_uffd_anon_dontneed },
	{ "uffd_wp_shmem_markers", t_uffd_shmem_markers },
	{ "uffd_wp_ext2_file", t_uffd_ext2 },
	{ "soft_dirty", t_softdirty },
	{ "prot_none", t_prot_none },
	{ "vm_pfnmap", t_pfnmap },
	{ "multi_vma_gaps", t_multi_vma_gaps },
	{ "max_pages", t_max_pages },
	{ "vec_len1_restart", t_vec_len1_restart },
	{ "bounce_buffer_512", t_bounce_buffer },
	{ "wp_harvest_no_write_lost", t_wp_harvest },
	{ "check_wpasync", t_check_wpasync },
	{ "fast_paths", t_fast_paths },
	{ "end_handling", t_end_handling },
	{ "fork_uffd_wp", t_fork },
	{ "read_edges", t_read_edges },
};

int main(int argc, char **argv)
{
	const char *only = getenv("PMSCAN_ONLY");
	unsigned int i, n = 0;

	suite_init(argc, argv, "pagemap_scan_test");
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		if (!only || strstr(tests[i].name, only))
			n++;
	suite_plan(n);
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (only && !strstr(tests[i].name, only))
			continue;
		test_begin(tests[i].name);
		tests[i].fn();
		test_end();
	}
	return suite_exit();
}
