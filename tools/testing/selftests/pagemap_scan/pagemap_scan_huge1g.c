// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_scan_huge1g: PAGEMAP_SCAN on 1 GiB hugetlb pages.
 *
 * Built only with PMSCAN_HUGE_1G=1: the guest may not have 1G pages. When
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

int main(int argc, char **argv)
{
	static const struct { const char *n; void (*f)(void); } t[] = {
		{ "hugetlb_1g_private", t_private },
		{ "hugetlb_1g_shared", t_shared },
		{ "hugetlb_1g_wp", t_wp },
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
