// SPDX-License-Identifier: GPL-2.0
/*
 * The user array at an internal pass boundary.
 *
 * PAGEMAP_SCAN walks in passes: after each pass, its bounce buffer (one
 * entry per page of a PMD: 512 with 4 KiB pages, 8192 with 64 KiB ones) is
 * copied to the user array with the mmap lock dropped, then the walk goes
 * on. What the array
 * does there decides the result, so both implementations must cut the
 * passes where C does:
 *
 *  1. The array faults: it ends K entries before an unmapped page. Under
 *     PM_SCAN_WP_MATCHING each pass write-protects what it reports; the
 *     scan must fail with EFAULT at the first flush that faults (pass
 *     K / 512), and no later pass may protect pages whose report is lost.
 *  2. The array lies inside the scanned range: the flushes write to pages
 *     that the walk reports and protects. Which array pages end up written
 *     depends on where each pass stops.
 *
 * The layout: nreg (1200) one-page written regions (every other page) in a uffd-wp
 * async range that is otherwise protected. The expected values are those
 * of C's pass structure; walk_end differs where the Rust module corrects
 * C's stale walk_end (Documentation/rust-pagemap-scan.rst).
 *
 * The sizes follow the bounce buffer of the running kernel; the numbers in
 * the comments are those of 4 KiB pages (512 entries). The other pages of
 * the range are populated before they are protected, or, where that would
 * take more than 64 MiB (64 KiB pages: the range is 4 GiB), left unpopulated
 * and protected by uffd-wp markers (WP_UNPOPULATED): neither reads as
 * written. nreg pages are written either way (with 64 KiB pages, 1 GiB).
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

#include "tap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Set in main() (the values with 4 KiB pages): */
static long bounce;		/* PMD_SIZE / PAGE_SIZE: 512 */
static long nreg;		/* written one-page regions: 1200 (2 * bounce + 176) */
static long npages;		/* the range: 4096 pages (8 * bounce) */
static long vpage;		/* array page in scenario 2: 2 * nreg + 16 */
static long vlen;		/* 2000 (nreg + 800) */
static long psize;
static int pagemap_fd, uffd, populate;
static char *area;
static struct page_region *wvec;	/* written_pages(): npages entries */

/* A harvest of [start, end): the WRITTEN pages, nothing else. */
static long scan(char *start, char *end, unsigned long flags, struct page_region *vec,
		 long vec_len, unsigned long *walk_end)
{
	struct scan_req req = {
		.flags = flags, .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
	};

	return pm_scan_range(pagemap_fd, start, end, vec, vec_len, req, walk_end);
}

/* A fresh area: populated, protected, every other page of [0, 2R) written. */
static int setup(void)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	long i;

	if (area)
		munmap(area, npages * psize);
	area = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || madvise(area, npages * psize, MADV_NOHUGEPAGE))
		return -1;
	if (populate)
		memset(area, 1, npages * psize);
	reg.range.start = (unsigned long)area;
	reg.range.len = npages * psize;
	wp.range = reg.range;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) || ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		return -1;
	for (i = 0; i < nreg; i++)
		area[2 * i * psize] = 2;
	return 0;
}

/* Bit p of @bits: page p of the area reads as written. */
static long written_pages(unsigned char *bits)
{
	struct page_region *v = wvec;
	long n = scan(area, area + npages * psize, 0, v, npages, NULL), i, p, count = 0;

	memset(bits, 0, npages / 8);
	for (i = 0; i < n; i++)
		for (p = (v[i].start - (unsigned long)area) / psize;
		     p < (long)((v[i].end - (unsigned long)area) / psize); p++) {
			bits[p / 8] |= 1 << (p % 8);
			count++;
		}
	return n < 0 ? n : count;
}

static int is_written(const unsigned char *bits, long p)
{
	return bits[p / 8] >> (p % 8) & 1;
}

static void faulting_array(long k)
{
	long pass = k / bounce, nprot = (pass + 1) * bounce, ret, i, bad = 0, vbytes;
	unsigned long walk_end, want_end;
	unsigned char *bits = malloc(npages / 8);
	struct page_region *vec;
	char msg[160], *m;

	if (nprot > nreg)
		nprot = nreg;
	/* k entries, then an unmapped page. */
	vbytes = (k * sizeof(*vec) + psize - 1) / psize * psize;
	m = mmap(NULL, vbytes + psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!bits || m == MAP_FAILED || setup()) {
		check(0, "setup");
		free(bits);
		return;
	}
	munmap(m + vbytes, psize);
	vec = (struct page_region *)(m + vbytes) - k;
	ret = scan(area, area + npages * psize, PM_SCAN_WP_MATCHING, vec, vlen, &walk_end);
	snprintf(msg, sizeof(msg), "K=%ld: EFAULT at the flush of pass %ld (got %ld)",
		 k, pass, ret);
	check(ret == -EFAULT, msg);

	for (i = 0; i < k; i++)
		bad += vec[i].start != (unsigned long)(area + 2 * i * psize) ||
			vec[i].end != vec[i].start + psize || vec[i].categories != PAGE_IS_WRITTEN;
	snprintf(msg, sizeof(msg), "K=%ld: the %ld entries before the fault are the first regions",
		 k, k);
	check(!bad, msg);

	/* Regions [0, nprot) are protected now; the later ones still read written. */
	written_pages(bits);
	bad = 0;
	for (i = 0; i < nreg; i++)
		bad += is_written(bits, 2 * i) != (i >= nprot);
	snprintf(msg, sizeof(msg),
		 "K=%ld: exactly the %ld regions of passes 0..%ld are write-protected (%ld differ)",
		 k, nprot, pass, bad);
	check(!bad, msg);

	/*
	 * walk_end: where the failing pass stopped; if that pass finished the
	 * walk, the stop of the pass before (C keeps it, and so does Rust on
	 * an error), or the end when there was none.
	 */
	if (nprot < nreg)
		want_end = (unsigned long)(area + 2 * nprot * psize);
	else if (pass > 0)
		want_end = (unsigned long)(area + 2 * pass * bounce * psize);
	else
		want_end = (unsigned long)(area + npages * psize);
	snprintf(msg, sizeof(msg), "K=%ld: walk_end at page %ld (want %ld)", k,
		 (long)(walk_end - (unsigned long)area) / psize,
		 (long)(want_end - (unsigned long)area) / psize);
	check(walk_end == want_end, msg);
	munmap(m, vbytes);
	free(bits);
}

static void array_in_range(int rust)
{
	struct page_region *vec;
	unsigned char *bits = malloc(npages / 8);
	unsigned long walk_end, want_end;
	long ret, i, bad = 0, vpages = (vlen * sizeof(*vec) + psize - 1) / psize;
	long last_flush_lo, last_flush_hi, n_last;
	char msg[160];

	if (!bits || setup()) {
		check(0, "setup");
		free(bits);
		return;
	}
	vec = (struct page_region *)(area + vpage * psize);
	/* The array's pages are written before the call (one region). */
	memset(vec, 0xa5, vlen * sizeof(*vec));
	ret = scan(area, area + npages * psize, PM_SCAN_WP_MATCHING, vec, vlen, &walk_end);
	snprintf(msg, sizeof(msg), "array in range: %ld regions (got %ld)", nreg + 1, ret);
	check(ret == nreg + 1, msg);
	for (i = 0; i < nreg && ret == nreg + 1; i++)
		bad += vec[i].start != (unsigned long)(area + 2 * i * psize) ||
			vec[i].end != vec[i].start + psize;
	if (ret == nreg + 1)
		bad += vec[nreg].start != (unsigned long)vec ||
			vec[nreg].end != (unsigned long)vec + vpages * psize;
	check(!bad, "array in range: the stripes, then the array's own pages as one region");

	/*
	 * The walk protected the array's pages in the last pass (it reaches
	 * them after nreg regions); that pass's flush (entries 2 * bounce to nreg)
	 * then wrote two of them again. The earlier flushes wrote pages not
	 * yet walked.
	 */
	n_last = nreg + 1 - 2 * bounce;
	last_flush_lo = 2 * bounce * sizeof(*vec) / psize;
	last_flush_hi = ((2 * bounce + n_last) * sizeof(*vec) - 1) / psize;
	written_pages(bits);
	bad = 0;
	for (i = 0; i < vpages; i++)
		bad += is_written(bits, vpage + i) != (i >= last_flush_lo && i <= last_flush_hi);
	snprintf(msg, sizeof(msg),
		 "array in range: only array pages %ld..%ld read written (%ld differ)",
		 last_flush_lo, last_flush_hi, bad);
	check(!bad, msg);

	/*
	 * C keeps the stop of pass 1 (unless it has the fix of
	 * patches/upstream, 0001); Rust reports the end of the walk.
	 */
	if (rust || tree_fixes_has("walk_end_flush"))
		want_end = (unsigned long)(area + npages * psize);
	else
		want_end = (unsigned long)(area + 2 * 2 * bounce * psize);
	snprintf(msg, sizeof(msg), "array in range: walk_end at page %ld (want %ld)",
		 (long)(walk_end - (unsigned long)area) / psize,
		 (long)(want_end - (unsigned long)area) / psize);
	check(walk_end == want_end, msg);
	free(bits);
}

int main(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	char impl[16];
	unsigned int i;
	int rust;
	long ks[6];

	psize = sysconf(_SC_PAGESIZE);
	bounce = tap_pmd_pages(psize);
	nreg = 2 * bounce + 176;
	npages = 8 * bounce;
	vpage = 2 * nreg + 16;
	vlen = nreg + 800;
	populate = npages * psize <= 64L << 20;
	/* The array faults after 100, 511, 512, 513, 1023, 1024 entries. */
	ks[0] = 100;
	ks[1] = bounce - 1;
	ks[2] = bounce;
	ks[3] = bounce + 1;
	ks[4] = 2 * bounce - 1;
	ks[5] = 2 * bounce;
	read_impl(impl, sizeof(impl));
	rust = !strcmp(impl, "rust");
	printf("TAP version 13\n1..%zu\n# implementation: %s\n",
	       4 * ARRAY_SIZE(ks) + 4, impl);
	printf("# page size %ld, bounce buffer %ld entries, %ld regions, other pages %s\n",
	       psize, bounce, nreg, populate ? "populated" : "unpopulated (markers)");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	wvec = calloc(npages, sizeof(*wvec));
	if (!wvec || pagemap_fd < 0 || uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		printf("# setup: %s (page size %ld)\n", strerror(errno), psize);
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(ks); i++)
		faulting_array(ks[i]);
	array_in_range(rust);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail ? 1 : 0;
}
