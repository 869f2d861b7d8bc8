// SPDX-License-Identifier: GPL-2.0
/*
 * The documented difference from C: write-protecting a page while it is a
 * writable migration entry.
 *
 * A written page of a uffd-wp async range is migrated (MADV_SOFT_OFFLINE
 * moves exactly that page). While the migration entry is in place, a
 * harvest (PM_SCAN_WP_MATCHING) reports the page and write-protects the
 * entry. When the migration ends, C's remove_migration_pte() rebuilds a
 * writable entry as writable and drops its uffd-wp bit: the page reads as
 * written again although nothing wrote it. The Rust module makes the
 * migration entry read-only as it protects it, so the restored page stays
 * protected. Either way no write may be lost: a write after the migration
 * must be reported.
 *
 * To hit the migration entry, a harvest that only matches swap-like entries
 * (category_mask = WRITTEN | SWAPPED) runs in a tight loop while another
 * thread soft-offlines the page; it is a no-op on a present page and
 * reports the page exactly when it write-protects the migration entry.
 *
 * The expected values depend on /sys/kernel/mm/pagemap_scan/impl, and for
 * C on whether the tree's C has the fix (patches/upstream, 0004).
 * Usage: migrate_wp [SECONDS] (default 300: the most time to get HITS races;
 * the default kernel needs a few rounds, the debug kernel about 10 s).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif

#define NPAGES	64
#define HITS	5

static long psize;
static int pagemap_fd;
static char *buf;
static atomic_int go, done;
static atomic_long target;
static int offline_err;

/* One PAGEMAP_SCAN of [start, end); returns regions or -errno. */
static long scan(char *start, char *end, unsigned long flags,
		 unsigned long mask, struct page_region *vec, long vec_len)
{
	struct scan_req req = {
		.flags = flags, .mask = mask,
		.ret = PAGE_IS_WRITTEN | PAGE_IS_SWAPPED | PAGE_IS_PRESENT,
	};

	return pm_scan_range(pagemap_fd, start, end, vec, vec_len, req, NULL);
}

/* Report written pages of the whole buffer and write-protect them. */
static long harvest(struct page_region *vec, long vec_len)
{
	return scan(buf, buf + NPAGES * psize,
		    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN,
		    vec, vec_len);
}

static int written(long page)
{
	struct page_region r;
	char *p = buf + page * psize;

	return scan(p, p + psize, 0, PAGE_IS_WRITTEN, &r, 1) == 1;
}

static void *offliner(void *unused)
{
	for (;;) {
		long t;

		while (!atomic_load(&go))
			;
		atomic_store(&go, 0);
		t = atomic_load(&target);
		if (t < 0)
			return NULL;
		if (madvise(buf + t * psize, psize, MADV_SOFT_OFFLINE))
			offline_err = errno;
		atomic_store(&done, 1);
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 300, t0;
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	long hits = 0, rounds = 0, spurious = 0, lost = 0, wrong = 0;
	struct page_region vec[NPAGES];
	char impl[16] = "c", msg[200];
	pthread_t th;
	int uffd, rust;

	psize = sysconf(_SC_PAGESIZE);
	read_impl(impl, sizeof(impl));
	rust = !strcmp(impl, "rust");
	printf("TAP version 13\n1..6\n# implementation: %s\n", impl);

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	buf = mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (pagemap_fd < 0 || buf == MAP_FAILED || uffd < 0 ||
	    ioctl(uffd, UFFDIO_API, &api)) {
		printf("# setup: %s\n", strerror(errno));
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	madvise(buf, NPAGES * psize, MADV_NOHUGEPAGE);
	memset(buf, 1, NPAGES * psize);
	reg.range.start = (unsigned long)buf;
	reg.range.len = NPAGES * psize;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		printf("# register: %s\n", strerror(errno));
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	check(harvest(vec, NPAGES) >= 1 && harvest(vec, NPAGES) == 0,
	      "a harvest protects every page, a second finds nothing");

	pthread_create(&th, NULL, offliner, NULL);
	t0 = now_s();
	while (hits < HITS && now_s() - t0 < seconds && !offline_err) {
		long page = rounds++ % NPAGES, got = 0, r;
		char *p = buf + page * psize;

		p[0]++;				/* written: writable, not protected */
		atomic_store(&done, 0);
		atomic_store(&target, page);
		atomic_store(&go, 1);
		/* Harvest only the page's migration entry, while it exists. */
		while (!atomic_load(&done) && !got) {
			r = scan(p, p + psize,
				 PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				 PAGE_IS_WRITTEN | PAGE_IS_SWAPPED, vec, 1);
			if (r < 0) {
				printf("# harvest of a migration entry: %s\n", strerror(-r));
				wrong++;
				break;
			}
			got = r;
		}
		while (!atomic_load(&done))
			;
		if (got) {
			int w = written(page);

			hits++;
			printf("# round %ld page %ld: protected in migration, then written: %s\n",
			       rounds, page, w ? "yes" : "no");
			spurious += w;
		}
		/* Protect everything again; then a write must show. */
		harvest(vec, NPAGES);
		p[8]++;
		r = harvest(vec, NPAGES);
		if (r != 1 || vec[0].start != (unsigned long)p ||
		    vec[0].end != (unsigned long)p + psize)
			lost++;
	}
	atomic_store(&target, -1);
	atomic_store(&go, 1);
	pthread_join(th, NULL);

	printf("# %ld rounds in %.1fs, %ld races hit, %ld spurious WRITTEN, %ld lost\n",
	       rounds, now_s() - t0, hits, spurious, lost);
	if (offline_err)
		printf("# MADV_SOFT_OFFLINE: %s (needs CONFIG_MEMORY_FAILURE and root)\n",
		       strerror(offline_err));
	snprintf(msg, sizeof(msg), "migration raced with a harvest %d times", HITS);
	check(hits >= HITS && !offline_err, msg);
	check(!wrong, "harvest of a migration entry succeeds");
	if (rust || tree_fixes_has("migration_wp"))
		check(hits && !spurious, rust ?
		      "rust: the page stays write-protected after the migration" :
		      "c with its fix: the page stays write-protected after the migration");
	else
		check(hits && spurious == hits,
		      "c: remove_migration_pte() drops uffd-wp, the page reads as written");
	check(!lost, "no write lost after a migration");
	check(harvest(vec, NPAGES) == 0, "nothing written at the end");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail ? 1 : 0;
}
