// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_scan_huge1g: PAGEMAP_SCAN on the biggest hugetlb pages, 1 GiB
 * (PUD) by default.
 *
 *   pagemap_scan_huge1g [--impl c|rust] [--size SIZE]
 *
 * SIZE is the hugetlb page size under test (1G, the default; 512M, 32M,
 * 2M, 64K...): arm64 with 64 KiB pages has no PUD-sized page (three levels
 * with 48-bit addresses), its biggest is the PMD's 512 MiB. make check
 * builds it (PMSCAN_HUGE_1G=1) and boots the guest with the memory and the
 * hugetlb pages it needs. When /sys/kernel/mm/hugepages/hugepages-<SIZE>kB
 * is absent or has no free page the tests fail.
 *
 * Each page is placed alone in a fresh, aligned slot that one page table
 * maps (512 GiB for a PUD-sized page with 4 KiB pages, 4 TiB for a
 * PMD-sized one with 64 KiB pages): with a page touched elsewhere in the
 * slot, the table that holds the huge page's entry exists, and the walk
 * finds an empty entry (HUGE); without, the page is a hole (pte_hole).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "suite_common.h"

#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif
#define UFFD_ASYNC (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | \
		    UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

static unsigned long hsize = SZ_1G;	/* --size */
static char hname[16] = "1g";		/* in the test names: 1g, 512m... */
static long hpg;			/* base pages of a huge page */

/*
 * A page count of the tests written for 1 GiB pages (262144 pages of 4 KiB):
 * as is where the huge page has 4096 pages or more, else scaled down.
 */
static long at(long x)
{
	return hpg >= 4096 ? x : x * hpg / 4096;
}

static bool have_page(void)
{
	long f;

	if (!hugetlb_has_size(hsize)) {
		FAILF("no %s hstate (hugepages-%lukB absent)\n", hname, hsize >> 10);
		return false;
	}
	f = hugetlb_free(hsize >> 10);
	if (f < 1) {
		FAILF("no free %s hugetlb page (nr_hugepages)\n", hname);
		return false;
	}
	return true;
}

/*
 * The span of the page table that holds the entry of a huge page of @size:
 * the biggest of the page, PMD and PUD sizes not above @size (a
 * contiguous-PTE or contiguous-PMD page has its entries at the level
 * below), times the entries of a table (page_size / 8).
 */
static uint64_t slot_size(void)
{
	uint64_t level = PS, per = PS / 8;

	while (level * per <= hsize)
		level *= per;
	return level * per;
}

/*
 * A slot-aligned slot in which nothing is mapped (a PROT_NONE reservation
 * of the whole slot fits there), so no page table exists below its entry
 * in the table above. With @table, a page at the end of the slot is
 * touched: then the tables down to the huge page's level exist.
 */
static void *slot_alone(bool table)
{
	const uint64_t slot = slot_size();
	char *p;

	for (uint64_t a = 16 * slot; a < 200 * slot; a += slot) {
		p = mmap((void *)a, slot, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		if (p != (void *)a) {
			munmap(p, slot);
			continue;
		}
		munmap(p, slot - (table ? PS : 0));
		if (table) {
			/* The last page of the slot: far from the huge page. */
			if (mprotect(p + slot - PS, PS, PROT_READ | PROT_WRITE)) {
				munmap(p + slot - PS, PS);
				return NULL;
			}
			touch_write(p + slot - PS);
		}
		return p;
	}
	return NULL;
}

static void unslot(void *w, bool table)
{
	if (table && w)
		munmap((char *)w + slot_size() - PS, PS);
}

static void *map_huge(void *w, bool shared)
{
	if (!w) {
		FAILF("no free %llu MiB-aligned slot\n", (unsigned long long)(slot_size() >> 20));
		return NULL;
	}
	return mapf(w, hsize, PROT_READ | PROT_WRITE,
		    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | map_hugetlb_flags(hsize),
		    -1, 0);
}

static void t_private(void)
{
	void *w, *a;

	if (!have_page())
		return;
	w = slot_alone(true);
	a = map_huge(w, false);
	if (a) {
		/*
		 * The table that holds the page's entry exists (a page in the
		 * same slot), so hugetlb_walk() finds the empty entry: HUGE,
		 * not a hole.
		 */
		CHK("fresh", a, 0, hpg, SPR(), 1, R(0, hpg, P_H));
		touch_write(a);
		CHK("written", a, 0, hpg, SPR(), 1, R(0, hpg, P_H | P_P | P_WN));
		CHK("sub range", a, at(1000), at(3000), SPR(), 1,
		    R(at(1000), at(3000), P_H | P_P | P_WN));
		CHKW("max_pages", a, 0, hpg, SPR(.max_pages = at(777)), at(777), 1,
		     R(0, at(777), P_H | P_P | P_WN));
		munmap(a, hsize);
	}
	unslot(w, true);
}

static void t_shared(void)
{
	void *w, *a;

	if (!have_page())
		return;
	w = slot_alone(true);
	a = map_huge(w, true);
	if (a) {
		touch_write((char *)a + 12345 % hsize);
		CHK("shared is FILE", a, 0, hpg, SPR(), 1, R(0, hpg, P_H | P_P | P_WN | P_F));
		munmap(a, hsize);
	}
	unslot(w, true);
}

static void t_wp(void)
{
	int uffd;
	void *w, *a;

	if (!have_page())
		return;
	uffd = uffd_open(UFFD_ASYNC);
	if (uffd < 0) {
		FAILF("userfaultfd: %s\n", strerror(-uffd));
		return;
	}
	w = slot_alone(true);
	a = map_huge(w, false);
	if (a && uffd_register_wp(uffd, a, hsize) == 0) {
		touch_write(a);
		CHKW("partial WP refused", a, 0, at(1000),
		     SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 0, 0);
		CHK("still written", a, 0, hpg, SPR(), 1, R(0, hpg, P_A | P_H | P_P | P_W));
		CHK("WP whole page", a, 0, hpg, SPR(.flags = PM_SCAN_WP_MATCHING, .mask = P_W), 1,
		    R(0, hpg, P_A | P_H | P_P | P_W));
		CHK("protected", a, 0, hpg, SPR(), 1, R(0, hpg, P_A | P_H | P_P));
		touch_write((char *)a + hsize / 512);
		CHK("write unprotects", a, 0, hpg, SPR(), 1, R(0, hpg, P_A | P_H | P_P | P_W));
	} else if (a) {
		FAILF("uffd register: %s\n", strerror(errno));
	}
	if (a)
		munmap(a, hsize);
	close(uffd);
	unslot(w, true);
}

/* The one region a scan of the whole page returns, and its categories. */
static bool whole_page(void *a, uint64_t *c)
{
	struct page_region v[2];
	struct pm_res r = pm_scan(pm_fd(), (uintptr_t)a, (uintptr_t)a + hsize, v, 2, 0, 0, 0,
				  0, 0, P_W | P_H | P_P);

	if (r.ret != 1 || v[0].start != (uintptr_t)a || v[0].end != (uintptr_t)a + hsize) {
		FAILF("scan of the whole page: ret %ld (%s), expected one region [0, %s)\n",
		      r.ret, r.ret < 0 ? strerror(r.err) : "", hname);
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

	if (!have_page())
		return;
	uffd = uffd_open(UFFD_ASYNC);
	if (uffd < 0) {
		FAILF("userfaultfd: %s\n", strerror(-uffd));
		return;
	}
	/* Nothing else in the slot: no table below its entry, the page is a hole. */
	a = map_huge(slot_alone(false), false);
	if (a && uffd_register_wp(uffd, a, hsize) == 0) {
		/*
		 * A write-protecting scan of a part of the hole reports that
		 * part and protects the whole huge page (a uffd-wp marker), as
		 * C's pagemap_scan_hugetlb_hole_wp() does: success, walk_end =
		 * end. An unpopulated hugetlb page is not WRITTEN.
		 */
		CHK("hole, WP of a part", a, 0, at(1000),
		    SPR(.flags = PM_SCAN_WP_MATCHING), 1, R(0, at(1000), P_A));
		if (whole_page(a, &c) && (c & (P_H | P_W | P_P)) != P_H)
			FAILF("after the WP: categories %#llx, expected HUGE only\n",
			      (unsigned long long)c);
		touch_write((char *)a + hsize / 512);
		if (whole_page(a, &c) && (c & (P_H | P_W | P_P)) != (P_H | P_W | P_P))
			FAILF("after a write: categories %#llx, expected HUGE, WRITTEN, PRESENT\n",
			      (unsigned long long)c);
	} else if (a) {
		FAILF("uffd register: %s\n", strerror(errno));
	}
	if (a)
		munmap(a, hsize);
	close(uffd);
}

/*
 * --size SIZE: a power of two of bytes, with a K, M or G suffix. Returns
 * the arguments without it (for suite_init()).
 */
static int parse_size(int argc, char **argv)
{
	int i, o = 1;

	for (i = 1; i < argc; i++) {
		const char *v = NULL;
		char *end;

		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], "--size=", 7))
			v = argv[i] + 7;
		if (!v) {
			argv[o++] = argv[i];
			continue;
		}
		hsize = strtoul(v, &end, 10);
		switch (*end) {
		case 'G':
		case 'g':
			hsize <<= 10;
			fallthrough;
		case 'M':
		case 'm':
			hsize <<= 10;
			fallthrough;
		case 'K':
		case 'k':
			hsize <<= 10;
			end++;
		}
		if (*end || !hsize || (hsize & (hsize - 1))) {
			fprintf(stderr, "%s: --size %s: a power of two with K, M or G\n",
				argv[0], v);
			exit(KSFT_FAIL);
		}
	}
	argv[o] = NULL;
	return o;
}

int main(int argc, char **argv)
{
	static const struct { const char *what; void (*fn)(void); } t[] = {
		{ "private", t_private },
		{ "shared", t_shared },
		{ "wp", t_wp },
		{ "wp_hole", t_wp_hole },
	};
	char name[64];

	/* --size SIZE taken out of argv, the rest for the suite. */
	argc = parse_size(argc, argv);
	if (hsize >= SZ_1G)
		snprintf(hname, sizeof(hname), "%lug", hsize >> 30);
	else if (hsize >= 1UL << 20)
		snprintf(hname, sizeof(hname), "%lum", hsize >> 20);
	else
		snprintf(hname, sizeof(hname), "%luk", hsize >> 10);
	suite_init(argc, argv, "pagemap_scan_huge1g");
	hpg = hsize / PS;
	ksft_print_msg("hugetlb page size %s (%ld pages), alone in a slot of %llu MiB\n",
		       hname, hpg, (unsigned long long)(slot_size() >> 20));
	if (hsize < PS * 2)
		ksft_exit_fail_msg("--size %s: not above the page size\n", hname);
	suite_plan(ARRAY_SIZE(t));
	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(name, sizeof(name), "hugetlb_%s_%s", hname, t[i].what);
		test_begin(name);
		t[i].fn();
		test_end();
	}
	return suite_exit();
}
