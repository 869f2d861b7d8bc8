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
 * file mappings), checks that the kernel really made them (THP, swap), then
 * writes DIR/ready ("ready PID") and waits for signals:
 *
 *   SIGUSR1  phase 2: the writes made between `criu pre-dump` and
 *            `criu dump --track-mem`, which the incremental dump must
 *            carry (soft-dirty pages); then writes DIR/phase2
 *   SIGUSR2  checks every page of every segment against the content it
 *            must have after phase 2 (recomputed, not stored), writes
 *            DIR/result ("ok N pages" or "FAIL N of M pages") and exits
 *
 * The restored process gets SIGUSR2. Every page's content is a function of
 * (segment, page, generation): generation 0 is a page never written
 * (zero, or the file's content), 1 the first write, 2 the phase-2 write.
 *
 * --decode prints the entries of a CRIU image (pagemap-*.img) one per line,
 * their protobuf fields as NUMBER=VALUE, so that the suite can compare and
 * show pagemap images without crit (which needs Python); --only and --skip
 * keep or drop the entries whose field 1 (a pagemap entry's vaddr) is in
 * [LO, HI). Setup writes DIR/segments: "NAME LO-HI" per segment.
 *
 * The segments are a table: a new kind of memory (for example guard
 * regions, MADV_GUARD_INSTALL, on kernels that have them) is one more entry
 * with its setup, phase-2 and verify functions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE		4096UL
#define WORDS		(PAGE / sizeof(uint64_t))
#define HPAGE		(2UL << 20)
#define HPAGE_PAGES	(HPAGE / PAGE)
/* Segment i lives at BASE + i * 1 GiB: fixed and 2 MiB aligned. */
#define BASE		0x500000000000UL
#define SEG_STRIDE	(512 * HPAGE)

struct seg;

struct seg_ops {
	/* Map and fill; 0 or -1 (with a message) when the kernel did not. */
	int (*setup)(struct seg *s);
	/* The writes between pre-dump and dump. */
	void (*phase2)(struct seg *s);
	/* The generation page @i must have after phase 2, -1: unmapped. */
	int (*expect)(struct seg *s, unsigned long i);
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

/* thp: 8 huge pages, all written; phase 2 writes one 4K page of THP 1 and all of THP 3. */
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
	if (i == HPAGE_PAGES + 17 || i / HPAGE_PAGES == 3)
		return 2;
	return 1;
}

static void thp_phase2(struct seg *s)
{
	unsigned long i;

	for (i = 0; i < s->npages; i++)
		if (thp_expect(s, i) == 2)
			write_page(s, i, 2);
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

static void hugezero_phase2(struct seg *s)
{
	write_page(s, HPAGE_PAGES + 5, 2);
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
		return -1;
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

static void small_phase2(struct seg *s)
{
	unsigned long i;

	for (i = 0; i < s->npages; i++)
		if (small_expect(s, i) == 2)
			write_page(s, i, 2);
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

static void swap_phase2(struct seg *s)
{
	unsigned long i;

	for (i = 1; i < s->npages; i += 8)
		write_page(s, i, 2);
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
	unsigned long i;

	if (map_anon(s, MADV_NOHUGEPAGE))
		return -1;
	for (i = 0; i < s->npages; i += 97)
		write_page(s, i, 1);
	return 0;
}

static void sparse_phase2(struct seg *s)
{
	unsigned long i;

	for (i = 50; i < s->npages; i += 97)
		write_page(s, i, 2);
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

static void fprivate_phase2(struct seg *s)
{
	unsigned long i;

	for (i = 3; i < s->npages; i += 8)
		write_page(s, i, 2);
}

static int fshared_expect(struct seg *s, unsigned long i)
{
	if (i % 4 == 1)
		return 2;
	return i % 2 == 0 ? 1 : 0;
}

static int fshared_setup(struct seg *s)
{
	unsigned long i;

	if (file_map(s, MAP_SHARED))
		return -1;
	for (i = 0; i < s->npages; i += 2)
		write_page(s, i, 1);
	return 0;
}

static void fshared_phase2(struct seg *s)
{
	unsigned long i;

	for (i = 1; i < s->npages; i += 4)
		write_page(s, i, 2);
}

static const struct seg_ops thp_ops = { thp_setup, thp_phase2, thp_expect };
static const struct seg_ops hugezero_ops = { hugezero_setup, hugezero_phase2, hugezero_expect };
static const struct seg_ops small_ops = { small_setup, small_phase2, small_expect };
static const struct seg_ops swap_ops = { swap_setup, swap_phase2, swap_expect };
static const struct seg_ops sparse_ops = { sparse_setup, sparse_phase2, sparse_expect };
static const struct seg_ops fprivate_ops = { fprivate_setup, fprivate_phase2, fprivate_expect };
static const struct seg_ops fshared_ops = { fshared_setup, fshared_phase2, fshared_expect };

static struct seg segs[] = {
	{ "thp", 8 * HPAGE_PAGES, &thp_ops },
	{ "hugezero", 4 * HPAGE_PAGES, &hugezero_ops },
	{ "small", 1024, &small_ops },
	{ "swap", 1024, &swap_ops },
	{ "sparse", 16384, &sparse_ops },
	{ "fprivate", 512, &fprivate_ops, 1 },
	{ "fshared", 256, &fshared_ops, 1 },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEGS ARRAY_SIZE(segs)

/* Every page: content for mapped pages, absence for holes. */
static unsigned long verify(unsigned long *total)
{
	unsigned long i, bad = 0, shown = 0;
	unsigned char vec;
	unsigned int k;

	*total = 0;
	for (k = 0; k < NSEGS; k++) {
		struct seg *s = &segs[k];
		unsigned long seg_bad = 0;

		for (i = 0; i < s->npages; i++) {
			int gen = s->ops->expect(s, i);
			int ok;

			(*total)++;
			if (gen < 0) {
				/* A hole: mincore() fails with ENOMEM. */
				ok = mincore(s->base + i * PAGE, PAGE, &vec) && errno == ENOMEM;
				if (!ok && shown < 10)
					say("# %s page %lu: the hole is mapped\n", s->name, i);
			} else {
				ok = page_ok(s, i, gen, shown < 10);
			}
			if (!ok) {
				seg_bad++;
				shown++;
			}
		}
		say("# checked %s: %lu pages, %lu bad\n", s->name, s->npages, seg_bad);
		bad += seg_bad;
	}
	return bad;
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
 * A CRIU image: two 32-bit magics, then entries, each a 32-bit size and a
 * protobuf message. Varint fields print as NUMBER=0xVALUE, others by wire
 * type and size. @only: 1 keeps, 0 drops the entries whose field 1 is in
 * [@lo, @hi), -1 keeps all.
 */
static int decode(const char *path, int only, uint64_t lo, uint64_t hi)
{
	unsigned char buf[4096];
	const unsigned char *p, *end;
	uint32_t magic[2], size;
	uint64_t key, v;
	char line[2048];
	unsigned int fld;
	int n, in;
	FILE *f = fopen(path, "r");

	if (!f || fread(magic, sizeof(magic), 1, f) != 1) {
		fprintf(stderr, "%s: cannot read\n", path);
		return 1;
	}
	printf("magic %#x %#x\n", magic[0], magic[1]);
	while (fread(&size, sizeof(size), 1, f) == 1) {
		if (size > sizeof(buf) || fread(buf, size, 1, f) != 1) {
			printf("bad entry size %u\n", size);
			return 1;
		}
		p = buf;
		end = buf + size;
		n = 0;
		in = 0;
		while (p < end && n < (int)sizeof(line) - 64) {
			if (varint(&p, end, &key))
				break;
			fld = key >> 3;
			switch (key & 7) {
			case 0:
				if (varint(&p, end, &v))
					break;
				if (fld == 1)
					in = v >= lo && v < hi;
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
		if (only < 0 || in == only)
			printf("%s\n", line);
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long lo, hi;
	unsigned long bad, total;
	char segments[1024];
	unsigned int k, n = 0;
	sigset_t set;
	int sig;

	if (argc == 3 && !strcmp(argv[1], "--decode"))
		return decode(argv[2], -1, 0, 0);
	if (argc == 5 && !strcmp(argv[1], "--decode") &&
	    sscanf(argv[4], "%llx-%llx", &lo, &hi) == 2)
		return decode(argv[2], !strcmp(argv[3], "--only"), lo, hi);
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR | --decode IMAGE [--only|--skip LO-HI]\n",
			argv[0]);
		return 2;
	}
	dir = argv[1];
	/* Own session and process group: CRIU dumps a self-contained tree. */
	setsid();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);

	for (k = 0; k < NSEGS; k++) {
		segs[k].id = k + 1;
		segs[k].fd = -1;
		if (segs[k].ops->setup(&segs[k])) {
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
			for (k = 0; k < NSEGS; k++)
				segs[k].ops->phase2(&segs[k]);
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
	if (bad) {
		mark("result", "FAIL %lu of %lu pages\n", bad, total);
		return 1;
	}
	mark("result", "ok %lu pages\n", total);
	say("# all %lu pages verified\n", total);
	return 0;
}
