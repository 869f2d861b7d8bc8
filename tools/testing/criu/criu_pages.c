// SPDX-License-Identifier: GPL-2.0
/*
 * criu_pages: the process the criu suite checkpoints and restores.
 *
 *   criu_pages DIR
 *   criu_pages --decode IMAGE [--only|--skip LO-HI]
 *
 * Builds, at fixed addresses, one mapping per kind of memory CRIU's
 * PAGEMAP_SCAN walk has to classify (the segments below: THP, huge zero
 * page, 4K pages with zero-page reads, untouched pages and unmapped holes,
 * swapped pages, a sparse range of page-table holes, private and shared
 * file mappings, guard regions where the kernel has MADV_GUARD_INSTALL),
 * checks that the kernel really made them (THP, swap), then writes
 * DIR/ready ("ready PID") and waits for signals:
 *
 *   SIGUSR1  phase 2: the writes made between `criu pre-dump` and
 *            `criu dump --track-mem`, which the incremental dump must
 *            carry (soft-dirty pages); then writes DIR/phase2
 *   SIGUSR2  checks every page of every segment against the content it
 *            must have after phase 2 (recomputed, not stored): a guard
 *            page must fault and be a guard in /proc/self/pagemap, any
 *            other page must not; then that PAGEMAP_SCAN reports exactly
 *            the guard regions; writes DIR/result ("ok N pages[, G guard
 *            regions]" or "FAIL N of M pages") and exits
 *
 * The restored process gets SIGUSR2. Every page's content is a function of
 * (segment, page, generation): generation 0 is a page never written
 * (zero, or the file's content), 1 the first write, 2 the phase-2 write.
 * Where the kernel has guard regions, phase 2 writes DIR/guards first:
 * the guard regions at the dump, "0xLO-0xHI" a line, as CRIU records them.
 *
 * --decode prints the entries of a CRIU image (pagemap-*.img) one per line,
 * their protobuf fields as NUMBER=VALUE, so that the suite can compare and
 * show pagemap images without crit (which needs Python); --only and --skip
 * keep or drop the entries whose field 1 (a pagemap entry's vaddr) is in
 * [LO, HI); --sub N prints instead the messages in field N of each entry
 * (the VMAs of an mm image: --sub 14). Setup writes DIR/segments:
 * "NAME LO-HI" per segment.
 *
 * The segments are a table: a new kind of memory is one more entry with
 * its setup, expectation and (if it changes more than page contents in
 * phase 2) phase-2 functions. A segment whose setup finds the kernel
 * without that kind of memory is skipped (guard regions before 6.13).
 *
 * Besides memory the process holds what ordinary processes hold (unix
 * sockets, a pipe, an eventfd, a memfd, SysV shared memory in its own IPC
 * namespace; criu_fds.c), and the check after the restore covers them.
 *
 * Sizes: pages are the kernel's base pages, huge pages its PMDs (THP):
 * 2 MiB with 4 KiB pages, where the numbers below are given; with 64 KiB
 * pages a PMD is 512 MiB, the thp segment has 2 THPs instead of 8 (5 THPs
 * in all, 2.5 GiB) and the guard segment's 4K-page parts keep their page
 * counts (see guard_state()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu_fds.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

/* PAGEMAP_SCAN: the uapi of the tree under test (built against its headers). */
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD	0x100	/* bit 8 of the uapi, where the tree has it */
#endif
/* /proc/PID/pagemap: the page is a guard (bit 58, with PAGE_IS_GUARD). */
#define PM_GUARD	0x0400000000000000ULL

/* The running kernel's page and PMD sizes (set in main()). */
static unsigned long page_size = 4096, pmd_size = 2UL << 20, seg_stride = 1UL << 30;
#define PAGE		page_size
#define WORDS		(PAGE / sizeof(uint64_t))
#define HPAGE		pmd_size
#define HPAGE_PAGES	(HPAGE / PAGE)
/*
 * Segment i lives at BASE + i * SEG_STRIDE: fixed and PMD-aligned, 1 GiB
 * apart (8 PMDs with 64 KiB pages: 4 GiB).
 */
#define BASE		0x500000000000UL
#define SEG_STRIDE	seg_stride

/* What expect() returns for a page that is not data. */
#define HOLE		(-1)	/* unmapped */
#define GUARD		(-2)	/* a guard page: access faults */
/* What setup() returns when the kernel lacks that kind of memory. */
#define SKIPPED		1

struct seg;

struct seg_ops {
	/* Map and fill; 0, SKIPPED or -1 (with a message) when the kernel did not. */
	int (*setup)(struct seg *s);
	/*
	 * Phase 2 writes generation 2 to the pages whose expect() is 2; this
	 * (optional) makes the other changes first.
	 */
	void (*phase2)(struct seg *s);
	/* The generation page @i must have after phase 2, or HOLE, or GUARD. */
	int (*expect)(struct seg *s, unsigned long i);
	/* (Guard segments) 1 if page @i is a guard in phase @ph (1 or 2). */
	int (*guard)(unsigned long i, int ph);
};

struct seg {
	const char *name;
	unsigned long npages;
	const struct seg_ops *ops;
	int file;
	unsigned int id;
	char *base;
	int fd;
};

static const char *dir;
static int phase;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* The content of page @i of segment @id at generation @gen. */
static uint64_t word(unsigned int id, unsigned long i, int gen, unsigned long w)
{
	uint64_t x = ((uint64_t)id << 48) ^ ((uint64_t)i << 12) ^ ((uint64_t)gen << 8) ^ w;

	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	return x | 1;	/* never zero: a zero page is never mistaken for data */
}

static void fill(void *page, unsigned int id, unsigned long i, int gen)
{
	uint64_t *p = page;
	unsigned long w;

	for (w = 0; w < WORDS; w++)
		p[w] = word(id, i, gen, w);
}

/* Generation 0 of a file segment is the file's content: segment id + 100. */
static uint64_t want_word(struct seg *s, unsigned long i, int gen, unsigned long w)
{
	if (gen > 0)
		return word(s->id, i, gen, w);
	return s->file ? word(s->id + 100, i, 0, w) : 0;
}

static int page_ok(struct seg *s, unsigned long i, int gen, int verbose)
{
	const uint64_t *p = (const uint64_t *)(s->base + i * PAGE);
	unsigned long w;

	for (w = 0; w < WORDS; w++) {
		uint64_t want = want_word(s, i, gen, w);

		if (p[w] == want)
			continue;
		if (verbose)
			say("# %s page %lu word %lu: %#llx, expected %#llx (generation %d)\n",
			    s->name, i, w, (unsigned long long)p[w],
			    (unsigned long long)want, gen);
		return 0;
	}
	return 1;
}

static void write_page(struct seg *s, unsigned long i, int gen)
{
	fill(s->base + i * PAGE, s->id, i, gen);
}

static void read_page(struct seg *s, unsigned long i)
{
	const char *p = s->base + i * PAGE;

	asm volatile("" : : "r" (*(const volatile char *)p) : "memory");
}

/* Write generation @gen to every page whose expect() is @want. */
static void write_expected(struct seg *s, int want, int gen)
{
	unsigned long i;

	for (i = 0; i < s->npages; i++)
		if (s->ops->expect(s, i) == want)
			write_page(s, i, gen);
}

static int map_anon(struct seg *s, int advice)
{
	void *want = (void *)(BASE + s->id * SEG_STRIDE);

	s->base = mmap(want, s->npages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (s->base != want) {
		say("# %s: mmap at %p: %s\n", s->name, want, strerror(errno));
		return -1;
	}
	if (advice >= 0 && madvise(s->base, s->npages * PAGE, advice)) {
		say("# %s: madvise %d: %s\n", s->name, advice, strerror(errno));
		return -1;
	}
	return 0;
}

/* A field (kB) of the smaps entry of the VMA that starts at @start. */
static long smaps_kb(void *start, const char *field)
{
	unsigned long lo, hi;
	char line[512];
	long kb = -1;
	int in = 0;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* Only a VMA header starts with "hex-hex". */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			if (in)
				break;
			in = lo == (unsigned long)start;
			continue;
		}
		if (in && !strncmp(line, field, n) && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	}
	fclose(f);
	return kb;
}

/* Pages of [@start, +@npages) that /proc/self/pagemap shows as swapped. */
static long swapped_pages(char *start, unsigned long npages)
{
	uint64_t e;
	unsigned long i;
	long n = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return -1;
	for (i = 0; i < npages; i++) {
		off_t off = ((unsigned long)start / PAGE + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), off) != sizeof(e)) {
			n = -1;
			break;
		}
		if (e & (1ULL << 62))
			n++;
	}
	close(fd);
	return n;
}

/*
 * thp: 8 huge pages (2 with 64 KiB pages), all written; phase 2 writes one
 * page of THP 1 and all of THP 3 (of THP 0 and 1 where there are 2).
 */
static unsigned long thp_one = 1, thp_all = 3;

static int thp_setup(struct seg *s)
{
	unsigned long i;
	long kb;

	if (map_anon(s, MADV_HUGEPAGE))
		return -1;
	for (i = 0; i < s->npages; i++)
		write_page(s, i, 1);
	kb = smaps_kb(s->base, "AnonHugePages");
	say("# %s: %ld kB AnonHugePages of %lu kB\n", s->name, kb, s->npages * PAGE / 1024);
	if (kb < (long)(HPAGE / 1024)) {
		say("# %s: no transparent huge page\n", s->name);
		return -1;
	}
	return 0;
}

static int thp_expect(struct seg *s, unsigned long i)
{
	if (i == thp_one * HPAGE_PAGES + 17 || i / HPAGE_PAGES == thp_all)
		return 2;
	return 1;
}

/* hugezero: read faults map the huge zero page; phase 2 writes one page. */
static int hugezero_setup(struct seg *s)
{
	unsigned long i;

	if (map_anon(s, MADV_HUGEPAGE))
		return -1;
	for (i = 0; i < s->npages; i += HPAGE_PAGES)
		read_page(s, i);
	return 0;
}

static int hugezero_expect(struct seg *s, unsigned long i)
{
	return i == HPAGE_PAGES + 5 ? 2 : 0;
}

/*
 * small: 4K pages (no THP), by page number modulo 8: 0-3 and 6 written,
 * 4 and 7 read (zero page), 5 untouched; two holes unmapped. Phase 2
 * rewrites some written pages, writes some zero-page and some untouched
 * ones.
 */
static int small_hole(unsigned long i)
{
	return (i >= 100 && i < 104) || i == 600;
}

static int small_expect(struct seg *s, unsigned long i)
{
	if (small_hole(i))
		return HOLE;
	if (i % 16 == 2 || i % 64 == 4 || i % 64 == 5)
		return 2;
	switch (i % 8) {
	case 4:
	case 5:
	case 7:
		return 0;
	}
	return 1;
}

static int small_setup(struct seg *s)
{
	unsigned long i;

	if (map_anon(s, MADV_NOHUGEPAGE))
		return -1;
	for (i = 0; i < s->npages; i++) {
		if (i % 8 == 4 || i % 8 == 7)
			read_page(s, i);
		else if (i % 8 != 5)
			write_page(s, i, 1);
	}
	if (munmap(s->base + 100 * PAGE, 4 * PAGE) || munmap(s->base + 600 * PAGE, PAGE)) {
		say("# %s: munmap: %s\n", s->name, strerror(errno));
		return -1;
	}
	return 0;
}

/* swap: written, then paged out; phase 2 writes every 8th page back. */
static int swap_setup(struct seg *s)
{
	unsigned long i;
	long n;

	if (map_anon(s, MADV_NOHUGEPAGE))
		return -1;
	for (i = 0; i < s->npages; i++)
		write_page(s, i, 1);
	if (madvise(s->base, s->npages * PAGE, MADV_PAGEOUT)) {
		say("# %s: MADV_PAGEOUT: %s\n", s->name, strerror(errno));
		return -1;
	}
	n = swapped_pages(s->base, s->npages);
	say("# %s: %ld of %lu pages swapped out\n", s->name, n, s->npages);
	if (n < (long)s->npages / 2) {
		say("# %s: too few pages swapped out (is swap on?)\n", s->name);
		return -1;
	}
	return 0;
}

static int swap_expect(struct seg *s, unsigned long i)
{
	return i % 8 == 1 ? 2 : 1;
}

/* sparse: one page in 97 written, in a range mostly without page tables. */
static int sparse_expect(struct seg *s, unsigned long i)
{
	if (i % 97 == 50)
		return 2;
	return i % 97 == 0 ? 1 : 0;
}

static int sparse_setup(struct seg *s)
{
	if (map_anon(s, MADV_NOHUGEPAGE))
		return -1;
	write_expected(s, 1, 1);
	return 0;
}

/*
 * File mappings: DIR/<name> holds generation 0 of segment id + 100.
 * fprivate (MAP_PRIVATE): page cache pages read (FILE, not dumped), COW
 * copies written (anonymous, dumped), pages untouched.
 * fshared (MAP_SHARED): the writes go to the file, CRIU dumps no page.
 */
static int file_map(struct seg *s, int flags)
{
	void *want = (void *)(BASE + s->id * SEG_STRIDE);
	char path[512], *buf;
	unsigned long i;

	snprintf(path, sizeof(path), "%s/%s.data", dir, s->name);
	s->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	buf = malloc(PAGE);
	if (s->fd < 0 || !buf) {
		say("# %s: %s: %s\n", s->name, path, strerror(errno));
		return -1;
	}
	for (i = 0; i < s->npages; i++) {
		fill(buf, s->id + 100, i, 0);
		if (write(s->fd, buf, PAGE) != (ssize_t)PAGE) {
			say("# %s: write %s: %s\n", s->name, path, strerror(errno));
			return -1;
		}
	}
	free(buf);
	s->base = mmap(want, s->npages * PAGE, PROT_READ | PROT_WRITE,
		       flags | MAP_FIXED_NOREPLACE, s->fd, 0);
	if (s->base != want) {
		say("# %s: mmap at %p: %s\n", s->name, want, strerror(errno));
		return -1;
	}
	/* The mapping keeps the file: no descriptor left for CRIU to dump. */
	close(s->fd);
	s->fd = -1;
	return 0;
}

static int fprivate_expect(struct seg *s, unsigned long i)
{
	if (i % 8 == 3)
		return 2;
	return i % 4 == 1 ? 1 : 0;
}

static int fprivate_setup(struct seg *s)
{
	unsigned long i;

	if (file_map(s, MAP_PRIVATE))
		return -1;
	for (i = 0; i < s->npages; i++) {
		if (i % 4 == 0)
			read_page(s, i);
		else if (i % 4 == 1)
			write_page(s, i, 1);
	}
	return 0;
}

static int fshared_expect(struct seg *s, unsigned long i)
{
	if (i % 4 == 1)
		return 2;
	return i % 2 == 0 ? 1 : 0;
}

static int fshared_setup(struct seg *s)
{
	if (file_map(s, MAP_SHARED))
		return -1;
	write_expected(s, 1, 1);
	return 0;
}

static void mark(const char *name, const char *fmt, ...)
{
	char tmp[512], path[512];
	va_list ap;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.%s", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(tmp, "w");
	if (!f) {
		say("# %s: %s\n", tmp, strerror(errno));
		exit(1);
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) || rename(tmp, path)) {
		say("# %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/*
 * guard: guard regions (MADV_GUARD_INSTALL, 6.13+), under MADV_HUGEPAGE,
 * by huge page (H*):
 *   H0    a THP, written; a guard right after it (THP/4K boundary)
 *   H1    4K pages: a guard every 8 pages, 3 written, 1 read (zero page),
 *         4 untouched; phase 2 removes every 8th guard (then writes half
 *         of those pages), installs a guard next to every 8th one over a
 *         page the pre-dump dumped, writes the pages before the guards
 *   H2    a THP, written, then split by a guard of 4 pages in its middle
 *         and one on its last page
 *   H3    a THP, written, right after that guard
 *   H4-5  a guard of 24 pages across the page-table boundary
 *   H6-13 every odd page a guard, every even one written: 2048 regions;
 *         phase 2 removes the guards of H12-13
 * (With 64 KiB pages H0-H5 are PMDs of 8192 pages, H1 with 1024 guards; the
 * 4096 pages of H6-13 stay 4096 pages, after H5, for the same 2048 regions.)
 * CRIU collects the guards at the dump (not at the pre-dump) with
 * PAGEMAP_SCAN, 1000 regions per call, continuing from walk_end until
 * walk_end is the end of the address space. Here 1595 regions: the first
 * call stops at the full vector; the second gets 595 in two passes of the
 * kernel's 512-entry bounce buffer, after which C leaves walk_end at the
 * end of the first pass (Documentation/rust-pagemap-scan.rst), so CRIU
 * asks a third time from there and records the last 83 regions twice;
 * Rust returns the end.
 * The kernels without guard regions (6.12: EINVAL) skip the segment.
 */
static int guard_state(unsigned long i, int ph)
{
	unsigned long k = i % HPAGE_PAGES, mid = HPAGE_PAGES / 2, b45 = 5 * HPAGE_PAGES;

	if (i >= 6 * HPAGE_PAGES) {
		/* H6-13: 4096 pages; phase 2 removes the guards of the last 1024. */
		if (i % 2 == 0)
			return 1;
		return ph == 2 && i >= 6 * HPAGE_PAGES + 3072 ? 0 : GUARD;
	}
	switch (i / HPAGE_PAGES) {
	case 0:
		return ph == 2 && k == HPAGE_PAGES - 1 ? 2 : 1;
	case 1:
		if (k % 8 == 0) {
			if (ph == 2 && k % 64 == 8)
				return k % 128 == 8 ? 2 : 0;
			return GUARD;
		}
		if (ph == 2 && k % 64 == 1)
			return GUARD;
		if (k % 8 <= 3)
			return 1;
		return ph == 2 && k % 8 == 7 ? 2 : 0;
	case 2:
		if ((k >= mid && k < mid + 4) || k == HPAGE_PAGES - 1)
			return GUARD;
		return ph == 2 && (k == mid - 1 || k == mid + 4) ? 2 : 1;
	case 3:
		return ph == 2 && k == 0 ? 2 : 1;
	}
	/* H4-5 */
	if (i >= b45 - 12 && i < b45 + 12)
		return GUARD;
	return i == b45 - 13 || i == b45 + 12;
}

static int guard_expect(struct seg *s, unsigned long i)
{
	return guard_state(i, 2);
}

static int guard_guard(unsigned long i, int ph)
{
	return guard_state(i, ph) == GUARD;
}

static int guard_madvise(struct seg *s, unsigned long i, unsigned long n, int advice)
{
	if (!madvise(s->base + i * PAGE, n * PAGE, advice))
		return 0;
	say("# %s: madvise(page %lu, %lu pages, %d): %s\n", s->name, i, n, advice,
	    strerror(errno));
	return -1;
}

/* Apply @advice to the runs of pages where want(i) holds. */
static int guard_runs_madvise(struct seg *s, int (*want)(unsigned long i), int advice)
{
	unsigned long i, n;

	for (i = 0; i < s->npages; i += n ? n : 1) {
		for (n = 0; i + n < s->npages && want(i + n); n++)
			;
		if (n && guard_madvise(s, i, n, advice))
			return -1;
	}
	return 0;
}

static int guard_at_setup(unsigned long i)
{
	return guard_guard(i, 1);
}

static int guard_removed(unsigned long i)
{
	return guard_guard(i, 1) && !guard_guard(i, 2);
}

static int guard_added(unsigned long i)
{
	return !guard_guard(i, 1) && guard_guard(i, 2);
}

static int guard_setup(struct seg *s)
{
	unsigned long i;
	long kb;

	if (map_anon(s, MADV_HUGEPAGE))
		return -1;
	/* The first guard, after H0: does the kernel have guard regions? */
	if (madvise(s->base + HPAGE, PAGE, MADV_GUARD_INSTALL)) {
		say("# %s: MADV_GUARD_INSTALL: %s: no guard regions, segment skipped\n",
		    s->name, strerror(errno));
		munmap(s->base, s->npages * PAGE);
		return errno == EINVAL ? SKIPPED : -1;
	}
	/* The THPs while their page tables are empty, then the guards. */
	for (i = 0; i < 4 * HPAGE_PAGES; i++)
		if (i / HPAGE_PAGES != 1)
			write_page(s, i, 1);
	kb = smaps_kb(s->base, "AnonHugePages");
	if (kb < (long)(3 * HPAGE / 1024)) {
		say("# %s: %ld kB AnonHugePages, not 3 THPs\n", s->name, kb);
		return -1;
	}
	if (guard_runs_madvise(s, guard_at_setup, MADV_GUARD_INSTALL))
		return -1;
	/* The 4K pages: their page tables exist now. */
	for (i = HPAGE_PAGES; i < s->npages; i++) {
		if (i / HPAGE_PAGES == 2 || i / HPAGE_PAGES == 3)
			continue;
		if (guard_state(i, 1) == 1)
			write_page(s, i, 1);
		else if (i / HPAGE_PAGES == 1 && i % 8 == 4)
			read_page(s, i);
	}
	kb = smaps_kb(s->base, "AnonHugePages");
	say("# %s: %ld kB AnonHugePages after the guards (THPs 0 and 3)\n", s->name, kb);
	if (kb < (long)(2 * HPAGE / 1024)) {
		say("# %s: THP 0 or 3 split\n", s->name);
		return -1;
	}
	return 0;
}

static void guard_phase2(struct seg *s)
{
	guard_runs_madvise(s, guard_removed, MADV_GUARD_REMOVE);
	guard_runs_madvise(s, guard_added, MADV_GUARD_INSTALL);
}

static const struct seg_ops thp_ops = { thp_setup, NULL, thp_expect };
static const struct seg_ops hugezero_ops = { hugezero_setup, NULL, hugezero_expect };
static const struct seg_ops small_ops = { small_setup, NULL, small_expect };
static const struct seg_ops swap_ops = { swap_setup, NULL, swap_expect };
static const struct seg_ops sparse_ops = { sparse_setup, NULL, sparse_expect };
static const struct seg_ops fprivate_ops = { fprivate_setup, NULL, fprivate_expect };
static const struct seg_ops fshared_ops = { fshared_setup, NULL, fshared_expect };
static const struct seg_ops guard_ops = { guard_setup, guard_phase2, guard_expect, guard_guard };

/* The npages of thp, hugezero and guard are set in main(): they count PMDs. */
static struct seg segs[] = {
	{ "thp", 8, &thp_ops },
	{ "hugezero", 4, &hugezero_ops },
	{ "small", 1024, &small_ops },
	{ "swap", 1024, &swap_ops },
	{ "sparse", 16384, &sparse_ops },
	{ "fprivate", 512, &fprivate_ops, 1 },
	{ "fshared", 256, &fshared_ops, 1 },
	{ "guard", 6, &guard_ops },	/* + 4096 pages */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEGS ARRAY_SIZE(segs)

/*
 * The guard regions of every segment in phase @ph (1: at the pre-dump, 2:
 * at the dump), as [lo, hi) pairs in @r (room for @max); returns how many.
 */
static unsigned long guard_regions(int ph, uint64_t *r, unsigned long max)
{
	unsigned long i, n = 0;
	unsigned int k;

	for (k = 0; k < NSEGS; k++) {
		struct seg *s = &segs[k];

		if (!s->base || !s->ops->guard)
			continue;
		for (i = 0; i < s->npages; i++) {
			uint64_t a = (uint64_t)(unsigned long)s->base + i * PAGE;

			if (!s->ops->guard(i, ph))
				continue;
			if (n && r[2 * n - 1] == a) {
				r[2 * n - 1] = a + PAGE;
			} else if (n < max) {
				r[2 * n] = a;
				r[2 * n + 1] = a + PAGE;
				n++;
			}
		}
	}
	return n;
}

#define MAX_GUARDS	4096
static uint64_t want_guards[2 * MAX_GUARDS];

/* DIR/guards: the guard regions after phase 2, "0xLO-0xHI" a line. */
static void mark_guards(void)
{
	unsigned long i, n = guard_regions(2, want_guards, MAX_GUARDS);
	char *text = malloc(n * 40 + 1);
	size_t len = 0;

	if (!text) {
		say("# out of memory\n");
		exit(1);
	}
	text[0] = 0;
	for (i = 0; i < n; i++)
		len += sprintf(text + len, "%#llx-%#llx\n", (unsigned long long)want_guards[2 * i],
			       (unsigned long long)want_guards[2 * i + 1]);
	mark("guards", "%s", text);
	free(text);
}

static sigjmp_buf fault_env;

static void on_fault(int sig)
{
	siglongjmp(fault_env, 1);
}

/* 1 if reading @p faults (SIGSEGV); the handler is on_fault(), SA_NODEFER. */
static int faults(const char *p)
{
	if (sigsetjmp(fault_env, 0))
		return 1;
	asm volatile("" : : "r" (*(const volatile char *)p) : "memory");
	return 0;
}

/* The /proc/self/pagemap entries of segment @s (malloc'd), NULL on error. */
static uint64_t *pagemap_of(struct seg *s)
{
	size_t len = s->npages * sizeof(uint64_t);
	uint64_t *e = malloc(len);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = (unsigned long)s->base / PAGE * sizeof(uint64_t);

	if (!e || fd < 0 || pread(fd, e, len, off) != (ssize_t)len) {
		say("# %s: /proc/self/pagemap: %s\n", s->name, strerror(errno));
		free(e);
		e = NULL;
	}
	if (fd >= 0)
		close(fd);
	return e;
}

/* One page: content for data, absence for holes, faults for guards. */
static int page_verify(struct seg *s, unsigned long i, uint64_t pm, int verbose)
{
	const char *p = s->base + i * PAGE;
	int gen = s->ops->expect(s, i);
	int guard = !!(pm & PM_GUARD);
	unsigned char vec;
	int fault;

	if (gen == HOLE) {
		/* A hole: mincore() fails with ENOMEM. */
		if (!mincore((void *)p, PAGE, &vec) || errno != ENOMEM) {
			if (verbose)
				say("# %s page %lu: the hole is mapped\n", s->name, i);
			return 0;
		}
		return 1;
	}
	fault = faults(p);
	if (gen == GUARD) {
		if (fault && guard)
			return 1;
		if (verbose)
			say("# %s page %lu: guard lost: access %s, pagemap guard bit %d\n",
			    s->name, i, fault ? "faults" : "does not fault", guard);
		return 0;
	}
	if (fault || guard) {
		if (verbose)
			say("# %s page %lu: not a guard, but access %s, pagemap guard bit %d\n",
			    s->name, i, fault ? "faults" : "does not fault", guard);
		return 0;
	}
	return page_ok(s, i, gen, verbose);
}

/*
 * PAGEMAP_SCAN for PAGE_IS_GUARD over the segments (the scan CRIU makes)
 * reports exactly the guard regions after phase 2 (one call, as many
 * regions as 4096 allow): 0, or -1 (with messages). Sets *@n to their
 * number.
 */
static int scan_guards(unsigned long *n)
{
	struct page_region *v = calloc(MAX_GUARDS, sizeof(*v));
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = BASE,
		.end = BASE + (NSEGS + 1) * SEG_STRIDE,	/* segment k at id k + 1 */
		.vec_len = MAX_GUARDS,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	unsigned long i;
	long got;
	int fd = open("/proc/self/pagemap", O_RDONLY), bad = 0;

	*n = guard_regions(2, want_guards, MAX_GUARDS);
	arg.vec = (uint64_t)(unsigned long)v;
	got = fd < 0 || !v ? -1 : ioctl(fd, PAGEMAP_SCAN, &arg);
	if (got < 0) {
		say("# PAGEMAP_SCAN for guards: %s\n", strerror(errno));
		bad = 1;
	} else if ((unsigned long)got != *n) {
		say("# PAGEMAP_SCAN: %ld guard regions, expected %lu\n", got, *n);
		bad = 1;
	}
	/* Not checked: C's walk_end after a flush (see guard_state()). */
	if (got >= 0 && arg.walk_end != arg.end)
		say("# PAGEMAP_SCAN for guards: walk_end %#llx, not the end\n",
		    (unsigned long long)arg.walk_end);
	for (i = 0; got > 0 && i < (unsigned long)got && i < *n; i++) {
		if (v[i].start == want_guards[2 * i] && v[i].end == want_guards[2 * i + 1] &&
		    v[i].categories == PAGE_IS_GUARD)
			continue;
		say("# PAGEMAP_SCAN region %lu: %#llx-%#llx (%#llx), expected %#llx-%#llx\n",
		    i, (unsigned long long)v[i].start, (unsigned long long)v[i].end,
		    (unsigned long long)v[i].categories, (unsigned long long)want_guards[2 * i],
		    (unsigned long long)want_guards[2 * i + 1]);
		bad = 1;
		break;
	}
	if (fd >= 0)
		close(fd);
	free(v);
	return bad ? -1 : 0;
}

/* Every page of every segment that was set up. */
static unsigned long verify(unsigned long *total)
{
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };
	unsigned long i, bad = 0, shown = 0;
	unsigned int k;

	sigaction(SIGSEGV, &sa, NULL);
	*total = 0;
	for (k = 0; k < NSEGS; k++) {
		struct seg *s = &segs[k];
		unsigned long seg_bad = 0;
		uint64_t *pm;

		if (!s->base)
			continue;
		pm = pagemap_of(s);
		for (i = 0; i < s->npages; i++) {
			(*total)++;
			if (!pm || !page_verify(s, i, pm[i], shown < 10)) {
				seg_bad++;
				shown++;
			}
		}
		free(pm);
		say("# checked %s: %lu pages, %lu bad\n", s->name, s->npages, seg_bad);
		bad += seg_bad;
	}
	signal(SIGSEGV, SIG_DFL);
	return bad;
}

static int guards_on(void)
{
	unsigned int k;

	for (k = 0; k < NSEGS; k++)
		if (segs[k].base && segs[k].ops->guard)
			return 1;
	return 0;
}

/*
 * The page and PMD sizes of the kernel (the PMD size as upstream's
 * selftests read it), and the segment sizes that count PMDs.
 */
static void set_sizes(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	unsigned int k;

	page_size = sysconf(_SC_PAGESIZE);
	if (!f || fscanf(f, "%lu", &pmd_size) != 1 || !pmd_size)
		pmd_size = page_size * (page_size / 8);
	if (f)
		fclose(f);
	seg_stride = 8 * pmd_size > 1UL << 30 ? 8 * pmd_size : 1UL << 30;
	for (k = 0; k < NSEGS; k++) {
		struct seg *s = &segs[k];

		if (s->ops == &thp_ops && pmd_size > 2UL << 20) {
			/* 512 MiB THPs: 2, phase 2 in THP 0 and 1. */
			s->npages = 2;
			thp_one = 0;
			thp_all = 1;
		}
		if (s->ops == &thp_ops || s->ops == &hugezero_ops)
			s->npages *= HPAGE_PAGES;
		else if (s->ops == &guard_ops)
			s->npages = s->npages * HPAGE_PAGES + 4096;	/* H0-H5, H6-13 */
	}
	say("# page size %lu KiB, PMD %lu KiB, segments %lu MiB apart\n", page_size >> 10,
	    pmd_size >> 10, seg_stride >> 20);
}

#define LINE 2048

/* One protobuf varint at *@p (below @end); -1 when truncated. */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/*
 * One protobuf message [@p, @end) into @line: varint fields as
 * NUMBER=0xVALUE, others by wire type and size. Sets *@in when it has a
 * field 1 in [@lo, @hi).
 */
static void message(const unsigned char *p, const unsigned char *end, char *line,
		    uint64_t lo, uint64_t hi, int *in)
{
	uint64_t key, v;
	unsigned int fld;
	int n = 0;

	line[0] = 0;
	*in = 0;
	while (p < end && n < LINE - 64) {
		if (varint(&p, end, &key))
			break;
		fld = key >> 3;
		switch (key & 7) {
		case 0:
			if (varint(&p, end, &v))
				break;
			if (fld == 1)
				*in = v >= lo && v < hi;
			n += sprintf(line + n, " %u=%#llx", fld, (unsigned long long)v);
			continue;
		case 1:
		case 5:
			n += sprintf(line + n, " %u:fixed", fld);
			p += (key & 7) == 1 ? 8 : 4;
			continue;
		case 2:
			if (varint(&p, end, &v))
				break;
			n += sprintf(line + n, " %u:bytes[%u]", fld, (unsigned int)v);
			p += v;
			continue;
		}
		n += sprintf(line + n, " (undecodable)");
		break;
	}
}

/* Print the messages in field @sub of [@p, @end), one per line. */
static void submessages(const unsigned char *p, const unsigned char *end, unsigned int sub)
{
	char line[LINE];
	uint64_t key, v;
	int in;

	while (p < end && !varint(&p, end, &key)) {
		switch (key & 7) {
		case 0:
			if (varint(&p, end, &v))
				return;
			continue;
		case 1:
		case 5:
			p += (key & 7) == 1 ? 8 : 4;
			continue;
		case 2:
			if (varint(&p, end, &v) || v > (uint64_t)(end - p))
				return;
			if (key >> 3 == sub) {
				message(p, p + v, line, 0, 0, &in);
				printf("%s\n", line);
			}
			p += v;
			continue;
		}
		return;
	}
}

/*
 * A CRIU image: two 32-bit magics, then entries, each a 32-bit size and a
 * protobuf message, printed one per line. @only: 1 keeps, 0 drops the
 * entries whose field 1 is in [@lo, @hi), -1 keeps all; @sub: print the
 * messages in field @sub of each entry instead (0: the entries).
 */
static int decode(const char *path, int only, uint64_t lo, uint64_t hi, unsigned int sub)
{
	unsigned char *buf = NULL;
	uint32_t magic[2], size;
	char line[LINE];
	int in;
	FILE *f = fopen(path, "r");

	if (!f || fread(magic, sizeof(magic), 1, f) != 1) {
		fprintf(stderr, "%s: cannot read\n", path);
		return 1;
	}
	printf("magic %#x %#x\n", magic[0], magic[1]);
	while (fread(&size, sizeof(size), 1, f) == 1) {
		free(buf);
		buf = size <= (64U << 20) ? malloc(size + 1) : NULL;
		if (!buf || fread(buf, size, 1, f) != 1) {
			printf("bad entry size %u\n", size);
			return 1;
		}
		if (sub) {
			submessages(buf, buf + size, sub);
			continue;
		}
		message(buf, buf + size, line, lo, hi, &in);
		if (only < 0 || in == only)
			printf("%s\n", line);
	}
	free(buf);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long lo, hi;
	unsigned long bad, total, nguards = 0;
	char segments[1024], fds_why[160];
	unsigned int k, n = 0;
	sigset_t set;
	int sig, rc;

	if (argc == 3 && !strcmp(argv[1], "--decode"))
		return decode(argv[2], -1, 0, 0, 0);
	if (argc == 5 && !strcmp(argv[1], "--decode") && !strcmp(argv[3], "--sub"))
		return decode(argv[2], -1, 0, 0, atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "--decode") &&
	    sscanf(argv[4], "%llx-%llx", &lo, &hi) == 2)
		return decode(argv[2], !strcmp(argv[3], "--only"), lo, hi, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR | --decode IMAGE [--only|--skip LO-HI|--sub N]\n",
			argv[0]);
		return 2;
	}
	dir = argv[1];
	set_sizes();
	/* Own session and process group: CRIU dumps a self-contained tree. */
	setsid();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (fds_setup(dir, fds_why, sizeof(fds_why))) {
		say("# setup of the files failed: %s\n", fds_why);
		return 1;
	}

	for (k = 0; k < NSEGS; k++) {
		segs[k].id = k + 1;
		segs[k].fd = -1;
		rc = segs[k].ops->setup(&segs[k]);
		if (rc == SKIPPED) {
			segs[k].base = NULL;
			say("# %s: skipped\n", segs[k].name);
			continue;
		}
		if (rc) {
			say("# setup of %s failed\n", segs[k].name);
			return 1;
		}
		say("# %s: %lu pages at %p\n", segs[k].name, segs[k].npages, segs[k].base);
		n += snprintf(segments + n, sizeof(segments) - n, "%s %p-%p\n", segs[k].name,
			      segs[k].base, segs[k].base + segs[k].npages * PAGE);
	}
	mark("segments", "%s", segments);
	phase = 1;
	mark("ready", "ready %d\n", (int)getpid());

	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig < 0) {
			/* A restored sigwaitinfo() returns EINTR: wait again. */
			if (errno == EINTR)
				continue;
			say("# sigwaitinfo: %s\n", strerror(errno));
			return 1;
		}
		if (sig == SIGUSR1 && phase == 1) {
			for (k = 0; k < NSEGS; k++) {
				if (!segs[k].base)
					continue;
				if (segs[k].ops->phase2)
					segs[k].ops->phase2(&segs[k]);
				write_expected(&segs[k], 2, 2);
			}
			if (guards_on())
				mark_guards();
			phase = 2;
			say("# phase 2 writes done\n");
			mark("phase2", "phase2 %d\n", (int)getpid());
		} else if (sig == SIGUSR2) {
			break;
		}
	}

	if (phase != 2) {
		mark("result", "FAIL phase %d, expected 2\n", phase);
		return 1;
	}
	bad = verify(&total);
	if (guards_on()) {
		if (scan_guards(&nguards))
			bad++;
		else
			say("# PAGEMAP_SCAN reports the %lu guard regions\n", nguards);
	}
	if (fds_verify(fds_why, sizeof(fds_why))) {
		say("# files after the restore: %s\n", fds_why);
		mark("result", "FAIL files: %s\n", fds_why);
		return 1;
	}
	say("# files verified: %s\n", fds_why);
	if (bad) {
		mark("result", "FAIL %lu of %lu pages%s\n", bad, total,
		     nguards ? " and guard regions" : "");
		return 1;
	}
	if (nguards)
		mark("result", "ok %lu pages, %lu guard regions, files\n", total, nguards);
	else
		mark("result", "ok %lu pages, files\n", total);
	say("# all %lu pages verified\n", total);
	return 0;
}
