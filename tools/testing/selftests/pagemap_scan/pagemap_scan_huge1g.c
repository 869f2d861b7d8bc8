// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_scan_huge1g: PAGEMAP_SCAN on 1 GiB hugetlb pages.
 *
 * make check builds it (PMSCAN_HUGE_1G=1) and boots the guest with the
 * memory a gigantic page needs. When
 * /sys/kernel/mm/hugepages/hugepages-1048576kB is absent or has no free page
 * the tests report SKIP, which the runner counts as a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "suite_common.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define MAP_HUGE_1G (30 << MAP_HUGE_SHIFT)
#define PG1G (SZ_1G / PS)
#define UFFD_ASYNC (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | \
		    UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

static bool have_1g(void)
{
	long f;

	if (access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK)) {
		test_skip("no 1G hstate (hugepages-1048576kB absent)");
		return false;
	}
	f = hugetlb_free(1048576);
	if (f < 1) {
		test_skip("no free 1G hugetlb page (nr_hugepages)");
		return false;
	}
	return true;
}

static void *map1g(void *w, bool shared)
{
	return mapf(w, SZ_1G, PROT_READ | PROT_WRITE,
		    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1G,
		    -1, 0);
}

static void t_private(void)
{
	void *w, *a;

	if (!have_1g())
		return;
	w = window();
	a = map1g(w, false);
	if (a) {
		/*
		 * The PUD table (512 GiB) already exists for the mmap area, so
		 * hugetlb_walk() finds the empty entry: HUGE, not a hole.
		 */
		CHK("fresh", a, 0, PG1G, SPR(), 1, R(0, PG1G, P_H));
		touch_write(a);
		CHK("written", a, 0, PG1G, SPR(), 1, R(0, PG1G, P_H | P_P | P_WN));
		CHK("sub range", a, 1000, 3000, SPR(), 1, R(1000, 3000, P_H | P_P | P_WN));
		CHKW("max_pages", a, 0, PG1G, SPR(.max_pages = 777), 777, 1,
		     R(0, 777, P_H | P_P | P_WN));
		munmap(a, SZ_1G);
	}
	unwindow(w);
}

static void t_shared(void)
{
	void *w, *a;

	if (!have_1g())
		return;
	w = window();
	a = map1g(w, true);
	if (a) {
		touch_write((char *)a + 12345);
		CHK("shared is FILE", a, 0, PG1G, SPR(), 1, R(0, PG1G, P_H | P_P | P_WN | P_F));
		munmap(a, SZ_1G);
	}
	unwindow(w);
}

static void t_wp(void)
{
	int uffd;
	void *w, *a;

	if (!have_1g())
		return;
	uffd = uffd_open(UFFD_ASYNC);
	if (uffd < 0) {
		FAILF("userfaultfd: %s\n", strerror(-uffd));
		return;
	}
	w = window();
	a = map1g(w, false);
	if (a && uffd_register_wp(uffd, a, SZ_1G) == 0) {
		touch_write(a);
		CHKW("partial WP refused", a, 0, 1000,
		     SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 0, 0);
		CHK("still written", a, 0, PG1G, SPR(), 1, R(0, PG1G, P_A | P_H | P_P | P_W));
		CHK("WP whole page", a, 0, PG1G, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 1,
		    R(0, PG1G, P_A | P_H | P_P | P_W));
		CHK("protected", a, 0, PG1G, SPR(), 1, R(0, PG1G, P_A | P_H | P_P));
		touch_write((char *)a + SZ_2M);
		CHK("write unprotects", a, 0, PG1G, SPR(), 1, R(0, PG1G, P_A | P_H | P_P | P_W));
	} else if (a) {
		FAILF("uffd register: %s\n", strerror(errno));
	}
	if (a)
		munmap(a, SZ_1G);
	close(uffd);
	unwindow(w);
}

/*
 * A 512 GiB-aligned slot in which nothing is mapped (a 512 GiB PROT_NONE
 * reservation fits there), so no page table exists below its top-level
 * entry: a 1 GiB page placed there alone is reported to the walk as a
 * hole (pte_hole), not as an empty hugetlb entry.
 */
static void *slot_alone(void)
{
	const uint64_t slot = 512ULL << 30;

	for (uint64_t a = 16 * slot; a < 200 * slot; a += slot) {
		void *p = mmap((void *)a, slot, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (p == MAP_FAILED)
			continue;
		munmap(p, slot);
		if (p == (void *)a)
			return p;
	}
	return NULL;
}

/* The one region a scan of the whole page returns, and its categories. */
static bool whole_page(void *a, uint64_t *c)
{
	struct page_region v[2];
	struct pm_res r = pm_scan(pm_fd(), (uintptr_t)a, (uintptr_t)a + SZ_1G, v, 2, 0, 0, 0,
				  0, 0, P_W | P_H | P_P);

	if (r.ret != 1 || v[0].start != (uintptr_t)a || v[0].end != (uintptr_t)a + SZ_1G) {
		FAILF("scan of the whole page: ret %ld (%s), expected one region [0, 1G)\n",
		      r.ret, r.ret < 0 ? strerror(r.err) : "");
		return false;
	}
	*c = v[0].categories;
	return true;
}

static void t_wp_hole(void)
{
	uint64_t c = 0;
	void *a;
	int uffd;

	if (!have_1g())
		return;
	uffd = uffd_open(UFFD_ASYNC);
	if (uffd < 0) {
		FAILF("userfaultfd: %s\n", strerror(-uffd));
		return;
	}
	a = slot_alone();
	if (!a) {
		FAILF("no free 512 GiB-aligned slot\n");
		close(uffd);
		return;
	}
	a = map1g(a, false);
	if (a && uffd_register_wp(uffd, a, SZ_1G) == 0) {
		/*
		 * A write-protecting scan of a part of the hole reports that
		 * part and protects the whole huge page (a uffd-wp marker), as
		 * C's pagemap_scan_hugetlb_hole_wp() does: success, walk_end =
		 * end. An unpopulated hugetlb page is not WRITTEN.
		 */
		CHK("hole, WP of a part", a, 0, 1000,
		    SPR(.flags = PM_SCAN_WP_MATCHING), 1, R(0, 1000, P_A));
		if (whole_page(a, &c) && (c & (P_H | P_W | P_P)) != P_H)
			FAILF("after the WP: categories %#llx, expected HUGE only\n",
			      (unsigned long long)c);
		touch_write((char *)a + SZ_2M);
		if (whole_page(a, &c) && (c & (P_H | P_W | P_P)) != (P_H | P_W | P_P))
			FAILF("after a write: categories %#llx, expected HUGE, WRITTEN, PRESENT\n",
			      (unsigned long long)c);
	} else if (a) {
		FAILF("uffd register: %s\n", strerror(errno));
	}
	if (a)
		munmap(a, SZ_1G);
	close(uffd);
}

int main(int argc, char **argv)
{
	static const struct { const char *n; void (*f)(void); } t[] = {
		{ "hugetlb_1g_private", t_private },
		{ "hugetlb_1g_shared", t_shared },
		{ "hugetlb_1g_wp", t_wp },
		{ "hugetlb_1g_wp_hole", t_wp_hole },
	};

	suite_init(argc, argv, "pagemap_scan_huge1g");
	suite_plan(ARRAY_SIZE(t));
	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		test_begin(t[i].n);
		t[i].f();
		test_end();
	}
	return suite_exit();
}
