// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_bench: time PAGEMAP_SCAN (whichever implementation serves it) and
 * the read(/proc/self/pagemap) / soft-dirty way of answering the same
 * question, on a set of workloads. Static binary for the test guest.
 *
 *   pagemap_bench --workload NAME [--method scan|read] [--impl-label X]
 *                 [--row ROW] [--raw] [--reps N] [--scale F] [--iters N]
 *                 [--warmup N]
 *   pagemap_bench --list
 *
 * Every rep prints one line (and nothing else goes to stdout):
 *
 *   pmbench workload=NAME impl=X rep=I iters=N pages=P ns=T wall=T calls=N check=C
 *
 * ns is the CLOCK_MONOTONIC time of the rep: `iters` repetitions of the
 * workload's operation (for the write-tracking workload only the harvest is
 * timed, not the writes; wall includes them). calls counts the ioctl() or
 * pread() calls of the rep. pages is the size of the scanned range in base
 * pages (4 KiB, or 64 KiB on arm64 with 64 KiB pages), check a result
 * digest that must be the same for every implementation of the same
 * workload and method (the bench driver compares them). --row prints ROW as
 * the workload's name (the read(pagemap) rows of C against Rust:
 * "read-NAME"); --raw times the read() calls alone, without the pass over
 * the entries that answers the workload's question (the same user-space
 * instructions on C and on Rust, which the rows leave out). The number of
 * operations of a rep is the workload's default (one for PAGEMAP_SCAN, one
 * for the read baseline, each about 1 s under TCG) times --scale (default
 * 1, or $PMBENCH_SCALE), or --iters. The read method reads 65536 entries
 * per pread() ($PMBENCH_READ_CHUNK: fewer, for a profile of one call).
 *
 * Sizes follow the running kernel: the page size, the PMD size for THP and
 * hugetlb pages (2 MiB with 4 KiB pages, 512 MiB with 64 KiB ones: the thp
 * workload maps at least two of them, the hugetlb one asks for PMD-sized
 * pages by size). Without soft-dirty (arm64) the softdirty baseline of the
 * wp workload finds nothing; it says so on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT_ULL(nr)	(1ULL << (nr))

/* The page and PMD sizes of the running kernel (main()). */
static unsigned long page_size = 4096, pmd_size = 2UL << 20;
#define PAGE		page_size
#define HPAGE		pmd_size
#define PM_PRESENT	BIT_ULL(63)
#define PM_SOFT_DIRTY	BIT_ULL(55)

static int pagemap_fd = -1;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pagemap_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: the same page sequence for every implementation. */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static char *map_anon(size_t len, size_t align, int advice)
{
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu: %s", len, strerror(errno));
	if (align) {
		char *a = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));

		if (a > p)
			munmap(p, a - p);
		munmap(a + len, p + align - a);
		p = a;
	}
	if (advice && madvise(p, len, advice))
		die("madvise %d: %s", advice, strerror(errno));
	return p;
}

static void touch(char *p, size_t len, size_t stride)
{
	for (size_t off = 0; off < len; off += stride)
		p[off] = 1;
}

/* One PAGEMAP_SCAN call. */
static long scan(struct pm_scan_arg *a)
{
	long n = ioctl(pagemap_fd, PAGEMAP_SCAN, a);

	if (n < 0)
		die("PAGEMAP_SCAN [%llx, %llx) flags %llx: %s",
		    (unsigned long long)a->start, (unsigned long long)a->end,
		    (unsigned long long)a->flags, strerror(errno));
	return n;
}

/*
 * Scan [start, end) to the end, calling again from walk_end whenever the
 * call stopped early (vec full, max_pages). Returns the digest: regions *
 * 2^32 + pages (pages counted from the regions).
 */
static struct page_region *vec;
static uint64_t scan_all(uintptr_t start, uintptr_t end, uint64_t flags,
			 uint64_t mask, uint64_t ret_mask, uint64_t vec_len,
			 uint64_t max_pages, uint64_t *calls)
{
	uint64_t regions = 0, pages = 0;
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = start, .end = end,
		.vec = vec_len ? (uintptr_t)vec : 0, .vec_len = vec_len,
		.max_pages = max_pages,
		.category_mask = mask, .return_mask = ret_mask,
	};

	for (;;) {
		long n = scan(&a);

		(*calls)++;
		regions += n;
		for (long i = 0; i < n; i++)
			pages += (vec[i].end - vec[i].start) / PAGE;
		if (a.walk_end >= end)
			break;
		if (a.walk_end <= a.start)
			die("no progress at %llx", (unsigned long long)a.start);
		a.start = a.walk_end;
	}
	return regions << 32 | pages;
}

/*
 * The baseline: pread() the 8-byte entries of [start, end), `chunk` entries
 * per call, and count the pages with `bit` set and the runs of them (the
 * same digest as scan_all() when regions are not cut).
 */
static uint64_t *pmbuf;
/* Entries per pread() of the read method. */
static size_t read_chunk = 1 << 16;
/* --raw: time read() alone, not the pass over its entries that answers. */
static int read_raw;

static uint64_t read_all(uintptr_t start, uintptr_t end, uint64_t bit,
			 size_t chunk, uint64_t *calls)
{
	uint64_t regions = 0, pages = 0;
	int in = 0;

	for (uintptr_t a = start; a < end;) {
		size_t n = (end - a) / PAGE;

		if (n > chunk)
			n = chunk;
		ssize_t r = pread(pagemap_fd, pmbuf, n * 8, a / PAGE * 8);

		if (r != (ssize_t)(n * 8))
			die("pread pagemap: %zd %s", r, strerror(errno));
		(*calls)++;
		if (read_raw) {
			/*
			 * read() alone: a digest of a few entries' flags (not their
			 * PFNs, which differ between runs), no pass over all.
			 */
			regions = regions * 31 + (pmbuf[0] >> 55) + (pmbuf[n / 2] >> 55) +
				  (pmbuf[n - 1] >> 55);
			a += n * PAGE;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			int hit = !!(pmbuf[i] & bit);

			pages += hit;
			regions += hit && !in;
			in = hit;
		}
		a += n * PAGE;
	}
	return regions << 32 | pages;
}

static void clear_soft_dirty(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);

	if (fd < 0 || write(fd, "4", 1) != 1)
		die("clear_refs: %s", strerror(errno));
	close(fd);
}

/* Soft-dirty tracking: a new mapping has "sd" in its VmFlags (vm_util.c). */
static int softdirty_supported(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi, a = (unsigned long)p;
	int in = 0, sd = 0;
	char line[256];

	if (p == MAP_FAILED || !f)
		die("%s: %s", __func__, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's line: "lo-hi ...". */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			for (char *t = strtok(line + 8, "\n "); t; t = strtok(NULL, "\n "))
				sd |= !strcmp(t, "sd");
			break;
		}
	}
	fclose(f);
	munmap(p, PAGE);
	return sd;
}

enum kind { K_PRESENT, K_WP, K_TINYVEC, K_MAXPAGES };

struct workload {
	const char *name;
	const char *what;
	enum kind kind;
	size_t len;		/* mapping size */
	size_t pages;		/* or, if not 0, size in base pages */
	int iters;		/* PAGEMAP_SCAN operations per rep at scale 1 */
	int base_iters;		/* read(pagemap) operations per rep at scale 1 */
	uint64_t vec_len;	/* PAGEMAP_SCAN vec length */
	uint64_t max_pages;
	uint64_t ret_extra;	/* extra return_mask bits */
};

/*
 * vec_len stays at most 512: above that, a scan that fills C's 512-entry
 * bounce buffer more than once reports the walk_end of an earlier internal
 * stop (the C defect Documentation/rust-pagemap-scan.rst describes), and
 * looping on walk_end would do different work on C and Rust.
 */
static const struct workload workloads[] = {
	{ .name = "anon4k", .what = "anonymous, populated, 4K pages (MADV_NOHUGEPAGE)",
	  .kind = K_PRESENT, .len = 128 << 20, .iters = 800, .base_iters = 550,
	  .vec_len = 64 },
	{ .name = "thp", .what = "anonymous, populated, THP (MADV_HUGEPAGE)",
	  .kind = K_PRESENT, .len = 256 << 20, .iters = 50000, .base_iters = 450,
	  .vec_len = 64 },
	{ .name = "sparse", .what = "anonymous 4K, 1 page in 64 populated",
	  .kind = K_PRESENT, .len = 256 << 20, .iters = 2000, .base_iters = 550,
	  .vec_len = 512 },
	{ .name = "wp", .what = "uffd-wp async: write 10% random pages, harvest+re-protect",
	  .kind = K_WP, .len = 64 << 20, .iters = 200, .base_iters = 200,
	  .vec_len = 512 },
	{ .name = "hugetlb", .what = "hugetlb 2M pages (MAP_HUGETLB), populated",
	  .kind = K_PRESENT, .len = 0, .iters = 80000, .base_iters = 1250,
	  .vec_len = 64 },
	{ .name = "vec1", .what = "sparse layout, vec_len 1, loop on walk_end",
	  .kind = K_TINYVEC, .len = 64 << 20, .iters = 1250, .base_iters = 2400,
	  .vec_len = 1 },
	{ .name = "vec32", .what = "sparse layout, vec_len 32, loop on walk_end",
	  .kind = K_TINYVEC, .len = 256 << 20, .iters = 1500, .base_iters = 500,
	  .vec_len = 32 },
	{ .name = "file", .what = "file on /mnt/ext2, MAP_SHARED, read-faulted",
	  .kind = K_PRESENT, .len = 64 << 20, .iters = 900, .base_iters = 1150,
	  .vec_len = 64, .ret_extra = PAGE_IS_FILE },
	{ .name = "ioctl1", .what = "one populated 4K page: the fixed cost of an ioctl",
	  .kind = K_PRESENT, .pages = 1, .iters = 300000, .base_iters = 300000,
	  .vec_len = 64 },
	{ .name = "maxpages", .what = "anonymous 4K populated, max_pages 256, loop on walk_end",
	  .kind = K_MAXPAGES, .len = 64 << 20, .iters = 1250, .base_iters = 1000,
	  .vec_len = 64, .max_pages = 256 },
	/*
	 * Scaling (make bench-scaling): the same scan over 2^12 to 2^20 pages,
	 * the operations per rep inversely proportional, so that the time per
	 * operation shows how the cost grows. Dense: every page read-faulted
	 * (the zero page, 4K: 2^20 pages cost only their page tables), one
	 * region. Sparse: one page in 64 written, a region each.
	 */
#define SCALE_DENSE(lg, it, bit) \
	{ .name = "scale-dense-" #lg, .what = "scaling: 2^" #lg " pages, all present (zero page)", \
	  .kind = K_PRESENT, .pages = 1UL << (lg), .iters = (it), .base_iters = (bit), \
	  .vec_len = 64 }
#define SCALE_SPARSE(lg, it, bit) \
	{ .name = "scale-sparse-" #lg, .what = "scaling: 2^" #lg " pages, 1 in 64 present", \
	  .kind = K_PRESENT, .pages = 1UL << (lg), .iters = (it), .base_iters = (bit), \
	  .vec_len = 512 }
	SCALE_DENSE(12, 6400, 4400), SCALE_DENSE(14, 1600, 1100), SCALE_DENSE(16, 400, 275),
	SCALE_DENSE(18, 100, 69), SCALE_DENSE(20, 25, 18),
	SCALE_SPARSE(12, 32000, 8800), SCALE_SPARSE(14, 8000, 2200), SCALE_SPARSE(16, 2000, 550),
	SCALE_SPARSE(18, 500, 138), SCALE_SPARSE(20, 125, 35),
};

struct state {
	const struct workload *w;
	char *p;
	size_t len;
	int uffd;
	int read;		/* baseline method */
	uint64_t nwrites;	/* wp: writes per cycle */
};

/* Free hugetlb pages of the PMD size. */
static int hugetlb_free(void)
{
	char path[96];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages",
		 HPAGE >> 10);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%d", &n) != 1)
		n = 0;
	if (f)
		fclose(f);
	return n;
}

static void setup_workload(struct state *s)
{
	const struct workload *w = s->w;

	s->len = w->pages ? w->pages * PAGE : w->len;
	/* At least two THPs (with 64 KiB pages, 1 GiB). */
	if (!strcmp(w->name, "thp") && s->len < 2 * HPAGE)
		s->len = 2 * HPAGE;
	if (!strcmp(w->name, "anon4k") || !strcmp(w->name, "maxpages") ||
	    !strcmp(w->name, "ioctl1")) {
		s->p = map_anon(s->len, 0, MADV_NOHUGEPAGE);
		touch(s->p, s->len, PAGE);
	} else if (!strcmp(w->name, "thp")) {
		s->p = map_anon(s->len, HPAGE, MADV_HUGEPAGE);
		touch(s->p, s->len, PAGE);
	} else if (!strncmp(w->name, "scale-dense-", 12)) {
		s->p = map_anon(s->len, 0, MADV_NOHUGEPAGE);
		/* Read-fault every page: the zero page (atomics stay). */
		for (size_t off = 0; off < s->len; off += PAGE)
			(void)__atomic_load_n(&s->p[off], __ATOMIC_RELAXED);
	} else if (!strcmp(w->name, "sparse") || w->kind == K_TINYVEC ||
		   !strncmp(w->name, "scale-sparse-", 13)) {
		s->p = map_anon(s->len, 0, MADV_NOHUGEPAGE);
		touch(s->p, s->len, 64 * PAGE);
	} else if (!strcmp(w->name, "hugetlb")) {
		/* 8 to 64 pages; where a page is 512 MiB (64 KiB pages), 1 GiB worth. */
		int n = hugetlb_free(), need = HPAGE > (128UL << 20) ? (1UL << 30) / HPAGE : 8;

		if (n > 64)
			n = 64;
		if (n < need)
			die("only %d free %lu kB (PMD) hugetlb pages, %d needed", n, HPAGE >> 10,
			    need);
		s->len = n * HPAGE;
		s->p = mmap(NULL, s->len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			    (__builtin_ctzl(HPAGE) << MAP_HUGE_SHIFT), -1, 0);
		if (s->p == MAP_FAILED)
			die("mmap hugetlb %zu: %s", s->len, strerror(errno));
		touch(s->p, s->len, HPAGE);
	} else if (!strcmp(w->name, "file")) {
		const char *path = getenv("PMBENCH_FILE") ?: "/mnt/ext2/pmbench.dat";
		int fd = open(path, O_RDWR | O_CREAT, 0600);
		static char buf[1 << 16];

		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		if (lseek(fd, 0, SEEK_END) != (off_t)s->len) {
			if (ftruncate(fd, 0))
				die("ftruncate: %s", strerror(errno));
			memset(buf, 0x5a, sizeof(buf));
			for (size_t off = 0; off < s->len; off += sizeof(buf))
				if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
					die("write %s: %s", path, strerror(errno));
			fsync(fd);
		}
		s->p = mmap(NULL, s->len, PROT_READ, MAP_SHARED, fd, 0);
		if (s->p == MAP_FAILED)
			die("mmap %s: %s", path, strerror(errno));
		close(fd);
		/* Read-fault every page (atomics are not optimised away). */
		for (size_t off = 0; off < s->len; off += PAGE)
			(void)__atomic_load_n(&s->p[off], __ATOMIC_RELAXED);
	} else if (w->kind == K_WP) {
		s->p = map_anon(s->len, 0, MADV_NOHUGEPAGE);
		touch(s->p, s->len, PAGE);
		s->nwrites = s->len / PAGE / 10;
		if (s->read) {
			/*
			 * Not a failure of the run: the baseline's cost (a read
			 * of pagemap and clear_refs) is still measured, it only
			 * finds no page to report.
			 */
			if (!softdirty_supported())
				fprintf(stderr, "pagemap_bench: note: wp: %s\n",
					"no soft-dirty (none on arm64): the baseline finds no page");
			clear_soft_dirty();
			return;
		}
		struct uffdio_api api = {
			.api = UFFD_API,
			.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
		};
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)s->p, .len = s->len },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		uint64_t calls = 0;

		s->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (s->uffd < 0)
			die("userfaultfd: %s", strerror(errno));
		if (ioctl(s->uffd, UFFDIO_API, &api))
			die("UFFDIO_API: %s", strerror(errno));
		if (ioctl(s->uffd, UFFDIO_REGISTER, &reg))
			die("UFFDIO_REGISTER: %s", strerror(errno));
		/* Write-protect everything (the no-vec fast path). */
		scan_all((uintptr_t)s->p, (uintptr_t)s->p + s->len,
			 PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			 PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, 0, 0, &calls);
	} else {
		die("no setup for %s", w->name);
	}
}

/* The 10% writes of one write-tracking cycle (not timed). */
static void wp_writes(struct state *s)
{
	uint64_t npages = s->len / PAGE;

	for (uint64_t i = 0; i < s->nwrites; i++)
		s->p[(rng() % npages) * PAGE] += 1;
}

/* One timed operation; *ns accumulates its time. Returns its digest. */
static uint64_t op(struct state *s, uint64_t *ns, uint64_t *calls)
{
	const struct workload *w = s->w;
	uintptr_t start = (uintptr_t)s->p, end = start + s->len;
	uint64_t t0, d;

	if (w->kind == K_WP) {
		wp_writes(s);
		t0 = now_ns();
		if (s->read) {
			d = read_all(start, end, PM_SOFT_DIRTY, read_chunk, calls);
			clear_soft_dirty();
		} else {
			d = scan_all(start, end,
				     PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				     PAGE_IS_WRITTEN, PAGE_IS_WRITTEN,
				     w->vec_len, 0, calls);
		}
		*ns += now_ns() - t0;
		return d;
	}
	t0 = now_ns();
	if (s->read)
		d = read_all(start, end, PM_PRESENT,
			     w->kind == K_MAXPAGES ? w->max_pages : read_chunk, calls);
	else
		d = scan_all(start, end, 0, PAGE_IS_PRESENT,
			     PAGE_IS_PRESENT | w->ret_extra, w->vec_len,
			     w->max_pages, calls);
	*ns += now_ns() - t0;
	return d;
}

/* With the huge page category: how much of the THP range is THP. */
static void check_thp(struct state *s)
{
	uint64_t calls = 0;
	uint64_t d = scan_all((uintptr_t)s->p, (uintptr_t)s->p + s->len, 0,
			      PAGE_IS_HUGE, PAGE_IS_HUGE, 64, 0, &calls);
	uint64_t huge = d & 0xffffffff, all = s->len / PAGE;

	fprintf(stderr, "pagemap_bench: thp: %llu of %llu pages in THPs\n",
		(unsigned long long)huge, (unsigned long long)all);
	if (huge * 10 < all * 9)
		fprintf(stderr, "pagemap_bench: WARNING: thp: under 90%% THP\n");
}

static void die_usage(void)
{
	fprintf(stderr,
		"usage: pagemap_bench --workload NAME [--method scan|read] [--impl-label X]\n"
		"                     [--row ROW] [--raw] [--reps N] [--scale F] [--iters N]\n"
		"                     [--warmup N]\n"
		"       pagemap_bench --list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workload", 1, 0, 'w' }, { "method", 1, 0, 'm' },
		{ "impl-label", 1, 0, 'l' }, { "reps", 1, 0, 'r' },
		{ "scale", 1, 0, 's' }, { "iters", 1, 0, 'i' },
		{ "warmup", 1, 0, 'W' }, { "list", 0, 0, 'L' }, { "row", 1, 0, 'R' },
		{ "raw", 0, 0, 'X' }, { 0 }
	};
	const char *name = NULL, *label = NULL, *method = "scan", *row = NULL;
	double scale = getenv("PMBENCH_SCALE") ? atof(getenv("PMBENCH_SCALE")) : 1;

	FILE *pmd_file = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");

	page_size = sysconf(_SC_PAGESIZE);
	if (!pmd_file || fscanf(pmd_file, "%lu", &pmd_size) != 1 || !pmd_size)
		pmd_size = page_size * (page_size / 8);
	if (pmd_file)
		fclose(pmd_file);
	if (getenv("PMBENCH_READ_CHUNK"))
		read_chunk = strtoul(getenv("PMBENCH_READ_CHUNK"), NULL, 0);
	if (!read_chunk || read_chunk > 1 << 16)
		read_chunk = 1 << 16;
	int reps = 5, iters = 0, warmup = 1, c;
	struct state s = { .uffd = -1 };

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			name = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 's':
			scale = atof(optarg);
			break;
		case 'i':
			iters = atoi(optarg);
			break;
		case 'W':
			warmup = atoi(optarg);
			break;
		case 'R':
			row = optarg;
			break;
		case 'X':
			read_raw = 1;
			break;
		case 'L':
			for (size_t i = 0; i < ARRAY_SIZE(workloads); i++)
				printf("%-9s %s\n", workloads[i].name, workloads[i].what);
			return 0;
		default:
			die_usage();
		}
	}
	if (!name)
		die_usage();
	for (size_t i = 0; i < ARRAY_SIZE(workloads); i++)
		if (!strcmp(workloads[i].name, name))
			s.w = &workloads[i];
	if (!s.w)
		die("unknown workload %s (--list)", name);
	if (!strcmp(method, "read"))
		s.read = 1;
	else if (strcmp(method, "scan"))
		die_usage();
	if (!label)
		label = s.read ? (s.w->kind == K_WP ? "softdirty" : "read") : "scan";
	if (!iters) {
		iters = (int)((s.read ? s.w->base_iters : s.w->iters) * scale + 0.5);
		if (iters < 1)
			iters = 1;
	}

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		die("open pagemap: %s", strerror(errno));
	vec = calloc(4096, sizeof(*vec));
	pmbuf = malloc((1 << 16) * 8);
	if (!vec || !pmbuf)
		die("out of memory");

	setup_workload(&s);
	if (!strcmp(s.w->name, "thp"))
		check_thp(&s);

	uint64_t digest = 0, calls = 0, ns, t0;

	/* Warm-up: untimed operations (caches, TLB, translated code). */
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < warmup; i++) {
		ns = 0;
		op(&s, &ns, &calls);
	}
	for (int r = 1; r <= reps; r++) {
		/* Same write sequence in every rep and every implementation. */
		rng_state = 0x9e3779b97f4a7c15ULL + r;
		ns = 0;
		calls = 0;
		digest = 0;
		t0 = now_ns();
		for (int i = 0; i < iters; i++)
			digest = digest * 31 + op(&s, &ns, &calls);
		t0 = now_ns() - t0;
		printf("pmbench workload=%s impl=%s rep=%d iters=%d pages=%zu ",
		       row ? row : s.w->name, label, r, iters, s.len / PAGE);
		printf("ns=%llu wall=%llu calls=%llu check=%llx\n",
		       (unsigned long long)ns, (unsigned long long)t0,
		       (unsigned long long)calls,
		       (unsigned long long)digest);
		fflush(stdout);
	}
	return 0;
}
