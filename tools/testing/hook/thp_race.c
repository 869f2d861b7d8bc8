// SPDX-License-Identifier: GPL-2.0
/*
 * Read-only scans of THPs while other threads split, migrate and collapse
 * them: what a scan reports is a state the memory had.
 *
 * The Rust walk reads a THP's PMD once, without the PMD lock that C takes
 * (Documentation/rust-pagemap-scan.rst): a split or a migration first
 * invalidates the PMD, which stays present and huge. Every page of the
 * range is populated and stays so; the chaos threads only change how it
 * is mapped:
 *  - MADV_COLD on one page of a THP splits the folio (under the mmap read
 *    lock, like the scan): the PMD becomes PTE migration entries, then
 *    present PTEs;
 *  - MADV_SOFT_OFFLINE on one page splits the THP and migrates that page
 *    (no mmap lock at all); at most SOFT_OFFLINES times a run, as each
 *    one poisons a page frame for good;
 *  - MADV_COLLAPSE makes a split PMD range a THP again.
 * So each page must read as present and huge (within a whole, aligned
 * PMD region), present, or swapped (a migration entry of a page), never
 * swapped and huge (nothing migrates a THP whole here: that takes a
 * second NUMA node, and compaction skips folios of pageblock order) and
 * never missing.
 *
 * The expected values are the same on C and Rust. Usage: thp_race
 * [SECONDS] (default 20). Fails if the scans did not see THPs split and
 * collapsed (a PMD range huge in one scan and not in the next, and the
 * other way round), no page was soft-offlined, or no scan saw a THP and a
 * migration entry: then it did not test its subject.
 *
 * The THPs are PMD-sized: 8 of 2 MiB with 4 KiB pages; 2 of 512 MiB with
 * 64 KiB pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif

#define MAX_HUGE	8
#define SOFT_OFFLINES	16
#define CATS	(PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_HUGE)

/* The THP (PMD) size and how many of them: set in main(). */
static unsigned long hpage;
static int nhuge;
static long psize;
static char *buf;
static atomic_int stop;
static atomic_long n_ops[3], n_errs[3], n_tries;

static unsigned long rnd(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *chaos(void *arg)
{
	static const int advice[3] = { MADV_COLD, MADV_SOFT_OFFLINE, MADV_COLLAPSE };
	unsigned long s = 0x9e3779b97f4a7c15ULL + (uintptr_t)arg;

	while (!atomic_load(&stop)) {
		int op = rnd(&s) % 3;
		char *thp = buf + rnd(&s) % nhuge * hpage;
		char *p = thp + (1 + rnd(&s) % (hpage / psize - 1)) * psize;

		if (op == 1 && (rnd(&s) % 16 ||
				atomic_fetch_add(&n_tries, 1) >= SOFT_OFFLINES))
			continue;
		if (op == 2 ? madvise(thp, hpage, advice[op]) : madvise(p, psize, advice[op]))
			atomic_fetch_add(&n_errs[op], 1);
		else
			atomic_fetch_add(&n_ops[op], 1);
	}
	return NULL;
}

/*
 * One read-only scan of the whole buffer; 0 if what it reports is a state
 * the memory can have, else a description in @why.
 */
static int scan_once(int fd, struct page_region *vec, long vec_len, long *huge,
		     long *swapped, char is_huge[MAX_HUGE], char *why, size_t wl)
{
	uintptr_t start = (uintptr_t)buf, end = start + nhuge * hpage, at = start, a;
	long n, i;

	memset(is_huge, 0, nhuge);

	n = pm_scan_range(fd, buf, buf + nhuge * hpage, vec, vec_len,
			  (struct scan_req){ .anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
					     .ret = CATS },
			  NULL);
	if (n < 0) {
		snprintf(why, wl, "scan: %s", strerror(-n));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct page_region *r = &vec[i];

		if (r->start != at) {
			snprintf(why, wl, "pages %#lx-%#lx not reported",
				 (unsigned long)(at - start), (unsigned long)(r->start - start));
			return -1;
		}
		at = r->end;
		if (r->categories == (PAGE_IS_PRESENT | PAGE_IS_HUGE)) {
			if ((r->start - start) % hpage || (r->end - start) % hpage) {
				snprintf(why, wl, "huge region %#lx-%#lx not whole THPs",
					 (unsigned long)(r->start - start),
					 (unsigned long)(r->end - start));
				return -1;
			}
			for (a = r->start; a < r->end; a += hpage)
				is_huge[(a - start) / hpage] = 1;
			(*huge)++;
		} else if (r->categories == PAGE_IS_SWAPPED) {
			(*swapped)++;
		} else if (r->categories != PAGE_IS_PRESENT) {
			snprintf(why, wl, "region %#lx-%#lx: categories %#llx",
				 (unsigned long)(r->start - start), (unsigned long)(r->end - start),
				 (unsigned long long)r->categories);
			return -1;
		}
	}
	if (at != end) {
		snprintf(why, wl, "%ld regions end at %#lx, not %#lx (vector full?)", n,
			 (unsigned long)(at - start), (unsigned long)(end - start));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 20, t0;
	long scans = 0, bad = 0, huge = 0, swapped = 0, vec_len;
	char impl[16] = "c", why[200] = "", msg[300];
	struct page_region *vec;
	long splits = 0, collapses = 0, i;
	char was_huge[MAX_HUGE], is_huge[MAX_HUGE];
	pthread_t th[2];
	FILE *f;
	int fd;

	psize = sysconf(_SC_PAGESIZE);
	/* The PMD size as upstream's selftests read it, else what a PMD maps. */
	f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	if (!f || fscanf(f, "%lu", &hpage) != 1 || !hpage)
		hpage = psize * (psize / 8);
	if (f)
		fclose(f);
	/* 16 MiB of THPs, at least two (64 KiB pages: 1 GiB). */
	nhuge = (16UL << 20) / hpage;
	if (nhuge < 2)
		nhuge = 2;
	if (nhuge > MAX_HUGE)
		nhuge = MAX_HUGE;
	vec_len = nhuge * hpage / psize;
	read_impl(impl, sizeof(impl));
	printf("TAP version 13\n1..4\n# implementation: %s\n", impl);
	printf("# %d THPs of %lu KiB\n", nhuge, hpage >> 10);

	fd = open("/proc/self/pagemap", O_RDONLY);
	vec = calloc(vec_len, sizeof(*vec));
	buf = mmap(NULL, (nhuge + 1) * hpage, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || !vec || buf == MAP_FAILED) {
		printf("# setup: %s\n", strerror(errno));
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	buf = (char *)(((uintptr_t)buf + hpage - 1) & ~(hpage - 1));
	madvise(buf, nhuge * hpage, MADV_HUGEPAGE);
	memset(buf, 1, nhuge * hpage);
	check(scan_once(fd, vec, vec_len, &huge, &swapped, was_huge, why, sizeof(why)) == 0 &&
	      huge,
	      "the buffer is populated, with THPs");

	pthread_create(&th[0], NULL, chaos, (void *)1);
	pthread_create(&th[1], NULL, chaos, (void *)2);
	t0 = now_s();
	huge = 0;
	swapped = 0;
	while (now_s() - t0 < seconds) {
		char w[200];

		scans++;
		if (scan_once(fd, vec, vec_len, &huge, &swapped, is_huge, w, sizeof(w))) {
			if (!bad++)
				snprintf(why, sizeof(why), "%s", w);
			continue;
		}
		/* What the scans saw happen to each THP since the last one. */
		for (i = 0; i < nhuge; i++) {
			splits += was_huge[i] && !is_huge[i];
			collapses += !was_huge[i] && is_huge[i];
			was_huge[i] = is_huge[i];
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);

	printf("# %ld scans in %.1fs: %ld huge and %ld migration-entry regions seen\n",
	       scans, now_s() - t0, huge, swapped);
	printf("# ops: cold %ld (%ld failed), soft offline %ld (%ld failed), ",
	       atomic_load(&n_ops[0]), atomic_load(&n_errs[0]), atomic_load(&n_ops[1]),
	       atomic_load(&n_errs[1]));
	printf("collapse %ld (%ld failed); scans saw %ld splits, %ld collapses\n",
	       atomic_load(&n_ops[2]), atomic_load(&n_errs[2]), splits, collapses);
	check(splits > 0 && collapses > 0 && atomic_load(&n_ops[1]) > 0,
	      "the THPs were split, migrated and collapsed meanwhile");
	check(huge && swapped, "scans saw THPs and migration entries");
	snprintf(msg, sizeof(msg),
		 "every scan reported a state the memory had (%ld of %ld not%s%s)",
		 bad, scans, bad ? ": " : "", why);
	check(!bad, msg);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail ? 1 : 0;
}
