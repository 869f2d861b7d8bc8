// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_scan_difffuzz: differential fuzzer for PAGEMAP_SCAN, C vs Rust.
 *
 * A seeded PRNG draws an address-space layout (anon, shared anon, memfd,
 * ext2 file shared/private, zero pages, THP, hugetlb, swapped pages, uffd-wp
 * async and sync ranges, pte markers, PROT_NONE, soft-dirty clearing, gaps;
 * where the kernel has them, guard regions and 7.3's uffd read-write
 * protection) and builds it twice, in two windows 16 TiB apart. The copies
 * are checked to be equivalent with a full read-only scan under
 * implementation A (re-drawn if THP/swap/etc. made them differ). Then
 * random scans run:
 *
 *  - read-only scans (no WP_MATCHING) run A then B then A again on copy 1;
 *    if the two A runs differ the layout is unstable and the case is dropped;
 *  - WP_MATCHING scans run A on copy 1 and B on copy 2; afterwards the two
 *    copies are compared with a full scan under A, identical writes are made
 *    to both, and they are compared again (the write-protect state). A state
 *    difference is re-checked a few times (pages under migration read as
 *    swapped for a moment); one that stays is a mismatch, unless the kernel
 *    changed a copy on its own outside the call's PMD-aligned window and the
 *    copies are equal inside it: then the layout is dropped as unstable (see
 *    changed_outside()). Both counts are printed; too many unstable layouts
 *    fail.
 *
 * Compared: return value, errno, the returned regions (relative to each
 * copy's base), the untouched rest of the vector, walk_end.
 *
 * Intentional differences of the Rust implementation, checked (not ignored)
 * when exactly one side is Rust (see Documentation/testing.rst):
 *  (a) walk_end: C copies out its bounce buffer (an entry per page of a PMD:
 *      512 with 4 KiB pages, 8192 with 64 KiB ones), restarts the walk
 *      and, when the restarted walk finishes without running out of space,
 *      leaves walk_end at the restart point although later regions were
 *      returned (detected as C.walk_end < end of C's last region). Rust must
 *      then report the end of the walk (the aligned end). Otherwise equal.
 *  (b) C does not merge a region with the previous one across a bounce
 *      buffer flush; Rust does. Rust's vector must equal C's vector after
 *      merging adjacent regions with equal categories, and Rust's return
 *      value is the merged count. When C's output had such a pair AND the
 *      call was truncated (ret == vec_len or walk_end < end), Rust can fit
 *      more: then C's merged regions must be a prefix of Rust's, except that
 *      C's last region may be shorter than Rust's region with the same start
 *      and categories, and Rust's walk_end must be >= C's.
 *      Regions never merge across an internal flush (both copy every
 *      entry before walking on), which only shows where memory changes
 *      between passes: with the vector inside the scanned range.
 *  (c) When max_pages cuts a THP under PM_SCAN_WP_MATCHING, C reports its
 *      part, splits it and takes the report back, but not the walk_end the
 *      cut recorded; if the walk then fails (EPERM, EFAULT), C returns that
 *      cut. Rust takes it back with the report: its walk_end must be below
 *      C's, or the end.
 * With --self (both C) everything must be identical; the program also counts
 * how often (a) and (b) would have applied. When the tree's C has the fixes
 * of patches/upstream (the tree fact PMSCAN_TREE_C_FIXES names
 * walk_end_flush, walk_end_thp and merge_flush: a CFIXED=1 build), (a), (b)
 * and (c) are switched off and C and Rust must be identical too.
 *
 * read() of the pagemap file is compared too: on each layout, before its
 * scans, random reads (offsets in and around the copies, anywhere below and
 * past the end of the address space, unaligned ones; lengths from 0 to
 * beyond two PMDs' worth, unaligned ones; buffers that end at an unmapped
 * page) run A, B, A through a privileged file (PFNs shown) and one opened
 * without CAP_SYS_ADMIN (PFNs hidden). The return value, errno and every
 * byte of the buffer must be equal; a read whose two A runs differ is
 * dropped as unstable. After half the layouts' scans, more reads run while
 * a forked child shares the layout (pages mapped twice: not exclusive).
 *
 * Vector modes besides a plain buffer, NULL and an unmapped address:
 *  (3) the vector lies inside the scanned copy (in a writable segment), so
 *      the call's own copy-out changes the pages it walks, between passes
 *      and under WP_MATCHING after they were write-protected;
 *  (4) the vector ends vec_arg entries before an unmapped page, with a
 *      vec_len above that: the copy-out faults at or near an internal
 *      bounce-buffer flush (vec_arg 511, 512, 513, 1024, ... with 4 KiB
 *      pages; around the multiples of the bounce buffer). No pass may
 *      write-protect pages after a flush failed: the write-protect state of
 *      the copies is compared as for every WP_MATCHING call.
 *
 * Page size: layouts and scans are drawn in base pages, with the huge kinds
 * (THP, PMD-sized hugetlb pages) in PMDs and everything about C's bounce
 * buffer in its entries, so that the same seed draws the same cases on any
 * kernel with 4 KiB pages. With 64 KiB pages a PMD is 512 MiB: a layout
 * then holds at most two of them (THP or hugetlb) per copy, and one hugetlb
 * page.
 *
 * Soft-dirty: where the kernel has none (arm64), no scan, state scan or
 * read may ever report a page soft-dirty; every one that does counts as a
 * mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include "kselftest.h"
#include "pmscan.h"

/* ------------------------------------------------------------ PRNG */

static uint64_t sm64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n) { return n ? sm64(s) % n : 0; }
static bool pct(uint64_t *s, int p) { return (int)rnd(s, 100) < p; }

/* ------------------------------------------------------------ layout */

enum kind { K_GAP, K_ANON, K_SHANON, K_MEMFD, K_FILE_SH, K_FILE_PRIV, K_THP, K_HUGETLB,
	    K_NR };
static const char *kind_name[K_NR] = { "gap", "anon", "shanon", "memfd", "ext2-shared",
				       "ext2-private", "thp", "hugetlb" };

/* Per-segment operations (each can be switched off by the minimizer). */
#define OP_POP		0x001u	/* populate: write/read pattern */
#define OP_STRIPE	0x002u	/* alternate written/untouched pages */
#define OP_SWAP		0x004u	/* MADV_PAGEOUT a sub-range (anon) */
#define OP_UFFD		0x008u	/* register uffd-wp async */
#define OP_UFFD_SYNC	0x010u	/* register uffd-wp sync (not WP-async) */
#define OP_WP		0x020u	/* UFFDIO_WRITEPROTECT a sub-range, rewrite some */
#define OP_ZAP		0x040u	/* MADV_DONTNEED a sub-range (markers) */
#define OP_PROTNONE	0x080u	/* mprotect(PROT_NONE) at the end */
#define OP_READ		0x100u	/* read faults (zero pages / huge zero) */
#define OP_POST		0x200u	/* writes after the soft-dirty clear */
/* Only where the kernel has them (7.3; guards also on kernels >= 6.14): */
#define OP_GUARD	0x400u	/* MADV_GUARD_INSTALL a sub-range (guard markers) */
#define OP_UNGUARD	0x800u	/* MADV_GUARD_REMOVE a part of that sub-range */
#define OP_RWP		0x1000u	/* register uffd read-write protection, async */
#define OP_RWPROT	0x2000u	/* UFFDIO_RWPROTECT a sub-range, unprotect, re-access some */
#define OP_NBITS	14
#define OP_ALL		0x3fffu

#define MAX_SEGS 16
#define MAX_SCANS 24

struct seg {
	uint8_t kind;
	uint32_t npages;	/* base pages; huge kinds: a multiple of PMD_PG */
	uint32_t ops;
	uint32_t seed;
	/* derived at layout time */
	uint64_t off;		/* page offset from the copy base */
};

struct scan {
	int64_t s, e;		/* page-relative start/end (in bytes if abs) */
	uint32_t s_off, e_off;	/* sub-page byte offsets (unaligned) */
	/*
	 * 1: s/e are absolute addresses; 2, 3: page-relative, with a tag in
	 * the top byte of the start (2) or of the end (3), which arm64 ignores
	 * (TBI): both copies' own pages, through a tagged address.
	 */
	uint8_t abs;
	uint8_t vec_mode;	/* 0 vec, 1 NULL, 2 unmapped guard, 3 in range, 4 faulting */
	uint64_t flags, vec_len, max_pages, inv, mask, anyof, ret, size;
	uint64_t vec_arg;	/* 3: byte offset in the copy; 4: entries before the fault */
};

struct layout {
	int nseg;
	struct seg seg[MAX_SEGS];
	uint8_t softdirty_clear;
	uint32_t post_seed;
	uint64_t span;		/* pages */
};

struct repro {
	struct layout L;
	int nscan;
	struct scan sc[MAX_SCANS];
};

/* ------------------------------------------------------------ globals */

#define ARENA0 0x100000000000ULL
#define COPY_STRIDE 0x100000000000ULL	/* 16 TiB */
/*
 * Set in main() from the page and PMD sizes; the values here are those of
 * 4 KiB pages. A copy spans 16 PMDs at most (32 MiB), scans reach up to
 * 1 TiB past it, the vectors hold 16384 regions or 16 bounce buffers.
 */
static long max_span_pages = 8192;
static uint64_t pad_pages = 0x10000000ULL;
static long vec_cap = 16384;
#define MAX_SPAN_PAGES max_span_pages
#define PAD_PAGES pad_pages
#define CAP vec_cap
/* C's bounce buffer: one entry per page of a PMD (PAGEMAP_WALK_SIZE). */
#define BOUNCE PMD_PG
/* 64 KiB pages: PMDs per layout (THP and hugetlb), hugetlb segments. */
static int max_pmds = 1 << 20, max_hugetlb = 2;
static bool have_sd;		/* soft-dirty tracking (softdirty_supported()) */
static long n_sd;		/* SOFT_DIRTY reports without it */

static const char *impl_a = "c", *impl_b = "c";
static bool self_mode = true, switching, pretend_b_rust;
static bool b_is_rust, a_is_rust;
/*
 * The tree's C has the fixes of the upstream series that (a) and (b) are
 * about (tools/tree/facts.py, CFIXED=1): no difference is allowed then.
 */
static bool c_fixed;
static uint64_t seed0;
static long max_cases = 5000;
static double max_time;
static int verbose;
static int uffd_async = -1, uffd_sync = -1, uffd_rwp = -1;
/*
 * What the running kernel has beyond 6.12, found out in main(): the
 * categories PAGEMAP_SCAN accepts (all_cats; n_cats bits: 8 on 6.12, 10 on
 * 7.3), guard regions (reported as GUARD) and uffd RWP (reported through
 * ACCESSED). Without them nothing is drawn differently from 6.12: the
 * draws that use them do not even consume the PRNG.
 */
static uint64_t all_cats = PM_ALL_CATEGORIES;
static int n_cats = 8;
static bool have_guard, have_rwp;
static const char *ext2_dir;
static struct page_region *vec_a, *vec_b, *vec_t;
static uint64_t guard_addr;		/* unmapped page after vec_a */
static int fds[2][MAX_SEGS];
static long long rust0;

/* statistics */
static long n_cases, n_mism, n_ro, n_wp, n_err, n_unstable, n_layouts, n_redraw, n_env;
static long n_quirk_a, n_quirk_b, n_trunc, n_bigvec;
static long n_vec_in_range, n_vec_fault, n_vec_fault_late;
static long n_lay_guard, n_lay_rwp, n_case_guard, n_case_rwp, n_ret_guard, n_ret_acc;
static uint64_t cov_pages[1024];	/* pages seen per exact category set */

/* Outcome of a scan case. */
enum { R_EQUAL, R_MISMATCH, R_UNSTABLE };

/* The first address past the user address space (set in main()). */
static uint64_t user_end = 1ULL << 47;

static uint64_t copy_base(int c) { return ARENA0 + c * COPY_STRIDE; }

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# FATAL: ");
	vprintf(fmt, ap);
	va_end(ap);
	printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
	exit(KSFT_FAIL);
}

static void use_impl(const char *name)
{
	static const char *cur;
	int r;

	if (!switching || cur == name)
		return;
	r = impl_select(name);
	if (r)
		die("selecting implementation '%s' failed: %s\n", name, strerror(-r));
	cur = name;
}

/* ------------------------------------------------------------ building */

static int make_file(int copy, int si, uint32_t npages, bool memfd)
{
	char path[512];
	static char buf[65536];
	int fd;
	uint64_t done = 0, total = (uint64_t)npages * PS;

	if (memfd) {
		fd = memfd_create("pmfuzz", MFD_CLOEXEC);
	} else {
		snprintf(path, sizeof(path), "%s/pmfuzz-%d-%d-%d", ext2_dir, (int)getpid(), copy,
			 si);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		die("file for segment: %s\n", strerror(errno));
	if (memfd) {
		if (ftruncate(fd, total))
			die("ftruncate: %s\n", strerror(errno));
		return fd;
	}
	memset(buf, 0x5a, sizeof(buf));
	while (done < total) {
		size_t n = total - done < sizeof(buf) ? total - done : sizeof(buf);

		if (pwrite(fd, buf, n, done) != (ssize_t)n)
			die("pwrite: %s\n", strerror(errno));
		done += n;
	}
	return fd;
}

/*
 * The pages OP_GUARD makes guard pages, [*a, *a + *n), of which OP_UNGUARD
 * turns [*ua, *ua + *un) back into plain holes. Drawn from the segment's seed
 * apart from its other operations, so that every later access can skip them.
 */
static void guard_range(const struct seg *sg, uint64_t *a, uint64_t *n, uint64_t *ua,
			uint64_t *un)
{
	uint64_t s = sg->seed ^ 0x6775617264ULL;

	*a = rnd(&s, sg->npages);
	*n = pct(&s, 50) ? 1 + rnd(&s, 4) : 1 + rnd(&s, sg->npages - *a);
	if (*n > sg->npages - *a)
		*n = sg->npages - *a;
	*ua = *a + rnd(&s, *n);
	*un = 1 + rnd(&s, *a + *n - *ua);
}

/* Whether page i of the segment is a guard page (an access would fault). */
static bool page_guarded(const struct seg *sg, uint64_t i)
{
	uint64_t a, n, ua, un;

	if (!(sg->ops & OP_GUARD))
		return false;
	guard_range(sg, &a, &n, &ua, &un);
	if (i < a || i >= a + n)
		return false;
	return !((sg->ops & OP_UNGUARD) && i >= ua && i < ua + un);
}

/* 7.3: userfaultfd read-write protection (async: an access resolves it). */
static int uffd_register_rwp(int uffd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_RWP,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

static int uffd_rwprotect(int uffd, void *addr, size_t len, bool protect)
{
	struct uffdio_rwprotect rwp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_RWPROTECT_MODE_RWP : 0,
	};

	return ioctl(uffd, UFFDIO_RWPROTECT, &rwp) ? -errno : 0;
}

/* Build segment si of layout L in copy c. Returns false on failure. */
static bool build_seg(const struct layout *L, int si, int c)
{
	const struct seg *sg = &L->seg[si];
	char *p = (char *)(copy_base(c) + sg->off * PS);
	uint64_t len = (uint64_t)sg->npages * PS, s = sg->seed, i;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_FIXED_NOREPLACE, fd = -1;
	bool anon_private = false, huge = false;
	void *m;

	fds[c][si] = -1;
	switch (sg->kind) {
	case K_GAP:
		return true;
	case K_ANON:
	case K_THP:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		anon_private = true;
		break;
	case K_SHANON:
		flags |= MAP_SHARED | MAP_ANONYMOUS;
		break;
	case K_MEMFD:
		fd = make_file(c, si, sg->npages, true);
		flags |= MAP_SHARED;
		break;
	case K_FILE_SH:
		fd = make_file(c, si, sg->npages, false);
		flags |= MAP_SHARED;
		break;
	case K_FILE_PRIV:
		fd = make_file(c, si, sg->npages, false);
		flags |= MAP_PRIVATE;
		break;
	case K_HUGETLB:
		/* odd seeds: shared hugetlb (FILE pages) */
		flags |= (sg->seed & 1 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
			 map_hugetlb_flags(PMD_SZ);
		huge = true;
		break;
	}
	fds[c][si] = fd;
	m = mmap(p, len, prot, flags, fd, 0);
	if (m != p) {
		if (m != MAP_FAILED)
			munmap(m, len);
		if (verbose)
			printf("# mmap %s at %p failed: %s\n", kind_name[sg->kind], p,
			       strerror(errno));
		return false;
	}
	if (sg->kind == K_THP)
		madvise(p, len, MADV_HUGEPAGE);
	else if (!huge)
		madvise(p, len, MADV_NOHUGEPAGE);

	if (sg->ops & (OP_UFFD | OP_UFFD_SYNC)) {
		int r = uffd_register_wp(sg->ops & OP_UFFD ? uffd_async : uffd_sync, p, len);

		if (r) {
			if (verbose)
				printf("# uffd register %s (%s): %s\n", kind_name[sg->kind],
				       sg->ops & OP_UFFD ? "async" : "sync", strerror(-r));
			return false;
		}
	}
	if (sg->ops & OP_RWP) {
		int r = have_rwp ? uffd_register_rwp(uffd_rwp, p, len) : -EOPNOTSUPP;

		if (r) {
			if (verbose)
				printf("# uffd register %s (rwp): %s\n", kind_name[sg->kind],
				       strerror(-r));
			return false;
		}
	}
	/* Population. */
	if (sg->kind == K_THP || huge) {
		uint64_t unit = PMD_SZ, n = len / unit;

		for (i = 0; i < n; i++) {
			uint64_t r = rnd(&s, 4);

			if ((sg->ops & OP_POP) && r < 2)
				memset(p + i * unit, 0x21, huge ? 1 : unit);
			else if ((sg->ops & OP_READ) && r == 2 && !huge)
				touch_read(p + i * unit);
		}
	} else if (sg->ops & (OP_POP | OP_READ | OP_STRIPE)) {
		int pw = rnd(&s, 101), pr = rnd(&s, 60);

		for (i = 0; i < sg->npages; i++) {
			bool w, r;

			if (sg->ops & OP_STRIPE) {
				w = (i % 2) == 0;
				r = false;
			} else {
				uint64_t x = rnd(&s, 100);

				w = (sg->ops & OP_POP) && (int)x < pw;
				r = (sg->ops & OP_READ) && !w && (int)rnd(&s, 100) < pr;
			}
			if (w)
				p[i * PS + rnd(&s, PS)] = (char)i;
			else if (r)
				touch_read(p + i * PS);
		}
	}
	if ((sg->ops & OP_SWAP) && anon_private && sg->kind == K_ANON) {
		uint64_t a = rnd(&s, sg->npages), n = 1 + rnd(&s, sg->npages - a);

		if (n > 256)
			n = 256;
		madvise(p + a * PS, n * PS, MADV_PAGEOUT);
	}
	/*
	 * Guard markers go in before any uffd-wp bit exists in the segment:
	 * installing zaps what is mapped, and a zap leaves a uffd-wp marker
	 * in place of a protected file page, which MADV_GUARD_INSTALL would
	 * then retry on for ever. The part removed again becomes a hole.
	 */
	if (sg->ops & OP_GUARD) {
		uint64_t a, n, ua, un;

		guard_range(sg, &a, &n, &ua, &un);
		if (!have_guard || madvise(p + a * PS, n * PS, MADV_GUARD_INSTALL) ||
		    ((sg->ops & OP_UNGUARD) &&
		     madvise(p + ua * PS, un * PS, MADV_GUARD_REMOVE))) {
			if (verbose)
				printf("# guard regions in %s: %s\n", kind_name[sg->kind],
				       have_guard ? strerror(errno) : "not supported");
			return false;
		}
	}
	if ((sg->ops & OP_WP) && (sg->ops & OP_UFFD)) {
		uint64_t unit = huge ? PMD_PG : 1;
		uint64_t nu = sg->npages / unit, a = rnd(&s, nu), n = 1 + rnd(&s, nu - a);

		uffd_wp(uffd_async, p + a * unit * PS, n * unit * PS, true);
		if (!huge) {
			uint64_t k = rnd(&s, 8);

			for (i = 0; i < k; i++) {
				uint64_t pg = rnd(&s, sg->npages);

				if (!page_guarded(sg, pg))
					p[pg * PS] = 7;
			}
		}
	}
	/*
	 * RWP: protect a sub-range (those pages lose ACCESSED), unprotect a
	 * part of it again without an access, then read or write a few pages
	 * (each access resolves the protection of its page: ACCESSED again).
	 */
	if ((sg->ops & OP_RWPROT) && (sg->ops & OP_RWP)) {
		uint64_t unit = huge ? PMD_PG : 1;
		uint64_t nu = sg->npages / unit, a = rnd(&s, nu), n = 1 + rnd(&s, nu - a), k;
		int r = uffd_rwprotect(uffd_rwp, p + a * unit * PS, n * unit * PS, true);

		if (!r && pct(&s, 30)) {
			uint64_t ua = a + rnd(&s, n), un = 1 + rnd(&s, a + n - ua);

			r = uffd_rwprotect(uffd_rwp, p + ua * unit * PS, un * unit * PS, false);
		}
		if (r) {
			if (verbose)
				printf("# UFFDIO_RWPROTECT %s: %s\n", kind_name[sg->kind],
				       strerror(-r));
			return false;
		}
		k = rnd(&s, 8);
		for (i = 0; i < k; i++) {
			uint64_t pg = rnd(&s, sg->npages);

			if (page_guarded(sg, pg))
				continue;
			if (pct(&s, 50))
				p[pg * PS] = 8;
			else
				touch_read(p + pg * PS);
		}
	}
	if ((sg->ops & OP_ZAP) && !huge) {
		uint64_t a = rnd(&s, sg->npages), n = 1 + rnd(&s, sg->npages - a);

		if (sg->kind == K_THP) {	/* whole huge pages only: keep it simple */
			a = 0;
			n = sg->npages;
		}
		madvise(p + a * PS, n * PS, MADV_DONTNEED);
	}
	if (sg->ops & OP_PROTNONE)
		mprotect(p, len, PROT_NONE);
	return true;
}

static void post_writes(const struct layout *L, int c)
{
	uint64_t s = L->post_seed;
	int si;

	for (si = 0; si < L->nseg; si++) {
		const struct seg *sg = &L->seg[si];
		char *p = (char *)(copy_base(c) + sg->off * PS);
		uint64_t k, i;

		if (sg->kind == K_GAP || sg->kind == K_HUGETLB || !(sg->ops & OP_POST) ||
		    (sg->ops & OP_PROTNONE))
			continue;
		k = rnd(&s, 6);
		for (i = 0; i < k; i++) {
			uint64_t pg = rnd(&s, sg->npages);

			if (!page_guarded(sg, pg))
				p[pg * PS] = 9;
		}
	}
}

static void teardown(const struct layout *L)
{
	int c, si;

	for (c = 0; c < 2; c++) {
		munmap((void *)copy_base(c), (L->span + 1024) * PS);
		for (si = 0; si < L->nseg; si++)
			if (fds[c][si] >= 0) {
				close(fds[c][si]);
				fds[c][si] = -1;
			}
	}
}

/* ------------------------------------------------------------ scanning */

struct outcome {
	long ret;
	int err;
	uint64_t walk_end;
	long nwritten;		/* entries of the vector that are not poison */
	struct page_region *v;
};

static uint64_t scan_addr(const struct scan *sc, int c, bool end)
{
	uint64_t a;

	if (sc->abs == 1)
		return end ? (uint64_t)sc->e : (uint64_t)sc->s;
	a = copy_base(c) + (end ? sc->e : sc->s) * (int64_t)PS + (end ? sc->e_off : sc->s_off);
	if (sc->abs == 2 && !end)
		a |= 1ULL << 62;
	if (sc->abs == 3 && end)
		a |= 0x3fULL << 57;
	return a;
}

/*
 * The address the kernel takes @a for: arm64 ignores the top byte of a user
 * address (untagged_addr(): bit 55 extended over it); elsewhere @a itself.
 */
static uint64_t untag(uint64_t a)
{
#ifdef __aarch64__
	return (uint64_t)((int64_t)(a << 8) >> 8);
#else
	return a;
#endif
}

/* Whether a mode-3 vector fits a writable, plain segment of the layout. */
static bool vec_in_range_ok(const struct layout *L, const struct scan *sc)
{
	uint64_t lo = sc->vec_arg, hi = lo + sc->vec_len * sizeof(struct page_region);

	for (int i = 0; i < L->nseg; i++) {
		const struct seg *sg = &L->seg[i];

		if (lo < sg->off * PS || hi > (sg->off + sg->npages) * PS)
			continue;
		/* Not where guard pages may be: poisoning the vector would fault. */
		return sg->kind != K_GAP && sg->kind != K_HUGETLB &&
			!(sg->ops & (OP_PROTNONE | OP_UFFD_SYNC | OP_GUARD));
	}
	return false;
}

/*
 * The vector the call gets: @v, or (modes 3, 4) a place elsewhere whose
 * content is copied to @v after the call. NULL: mode 3 does not fit the
 * layout (any more: the minimizer changes it), use @v.
 */
static struct page_region *user_vec(const struct layout *L, const struct scan *sc, int c,
				    struct page_region *v, size_t *n)
{
	*n = CAP;
	if (sc->vec_mode == 3 && L && vec_in_range_ok(L, sc)) {
		*n = sc->vec_len;
		return (struct page_region *)(copy_base(c) + sc->vec_arg);
	}
	if (sc->vec_mode == 4 && sc->vec_arg <= CAP / 4) {
		*n = sc->vec_arg;
		return (struct page_region *)guard_addr - sc->vec_arg;
	}
	return v;
}

static void run_scan(const struct layout *L, const struct scan *sc, int c, const char *impl,
		     struct page_region *v, struct outcome *o)
{
	size_t un;
	struct page_region *uv = user_vec(L, sc, c, v, &un);
	struct pm_scan_arg arg = {
		.size = sc->size,
		.flags = sc->flags,
		.start = scan_addr(sc, c, false),
		.end = scan_addr(sc, c, true),
		.vec = sc->vec_mode == 1 ? 0 : sc->vec_mode == 2 ? guard_addr : (uintptr_t)uv,
		.vec_len = sc->vec_len,
		.max_pages = sc->max_pages,
		.category_inverted = sc->inv,
		.category_mask = sc->mask,
		.category_anyof_mask = sc->anyof,
		.return_mask = sc->ret,
	};
	struct pm_res r;
	long i;

	vec_poison(v, CAP);
	if (uv != v)
		vec_poison(uv, un);
	use_impl(impl);
	r = pm_ioctl_arg(pm_fd(), &arg);
	if (uv != v) {
		memmove(v, uv, un * sizeof(*v));
		/* Mode 4 uses the end of vec_a (past what was just moved): clear it. */
		if (uv > v && uv < v + CAP)
			vec_poison(uv, un);
	}
	o->ret = r.ret;
	o->err = r.err;
	o->walk_end = r.walk_end;
	o->v = v;
	for (i = CAP; i > 0 && vec_is_poison(v + i - 1, 1); i--)
		;
	o->nwritten = i;
}

/* Full read-only scan of a copy under impl A: the state signature. */
static long state_scan(const struct layout *L, int c, struct page_region *v)
{
	struct pm_res r;

	use_impl(impl_a);
	r = pm_scan(pm_fd(), copy_base(c), copy_base(c) + L->span * PS, v, CAP,
		    0, 0, 0, 0, 0, all_cats);
	return r.ret;
}

/* An address relative to its copy's base when it lies near it, else as is. */
static uint64_t relv(uint64_t v, uint64_t base)
{
	/* 4 TiB: span + padding, well below the copy stride */
	const uint64_t win = 1ULL << 42;

	if (base && v - base + win < 2 * win)
		return v - base;
	/* Tag "absolute" so it never equals a relative value. */
	return v ^ (1ULL << 63);
}

static bool regions_equal_rel(const struct page_region *a, uint64_t ba,
			      const struct page_region *b, uint64_t bb, long n)
{
	for (long i = 0; i < n; i++) {
		bool pa = vec_is_poison(a + i, 1), pb = vec_is_poison(b + i, 1);

		if (pa != pb)
			return false;
		if (pa)
			continue;
		if (a[i].start - ba != b[i].start - bb || a[i].end - ba != b[i].end - bb ||
		    a[i].categories != b[i].categories)
			return false;
	}
	return true;
}

static void describe_state_diff(const struct layout *L, long na, long nb, char *why, size_t wl);

/*
 * Without soft-dirty tracking no region may carry SOFT_DIRTY: the number of
 * regions of @v[0, @n) that do, added to n_sd (the first ones printed).
 */
static long sd_reported(const struct page_region *v, long n, const char *where)
{
	long k = 0;

	if (have_sd)
		return 0;
	for (long i = 0; i < n; i++)
		k += !!(v[i].categories & P_D);
	if (k && n_sd < 5)
		printf("# %s: %ld regions SOFT_DIRTY on a kernel without soft-dirty\n", where, k);
	n_sd += k;
	return k;
}

/* Full scans of both copies into vec_a, vec_b (counts in n[0], n[1]), compared. */
static bool states_equal(const struct layout *L, long n[2], char *why, size_t wl)
{
	long na = state_scan(L, 0, vec_a), nb = state_scan(L, 1, vec_b);

	n[0] = na;
	n[1] = nb;
	sd_reported(vec_a, na, "state scan of copy 0");
	sd_reported(vec_b, nb, "state scan of copy 1");

	for (long i = 0; i < na; i++)
		cov_pages[vec_a[i].categories & (ARRAY_SIZE(cov_pages) - 1)] +=
			(vec_a[i].end - vec_a[i].start) / PS;
	if (na < 0 || nb < 0 || na != nb ||
	    !regions_equal_rel(vec_a, copy_base(0), vec_b, copy_base(1), na)) {
		char d[140];

		describe_state_diff(L, na, nb, d, sizeof(d));
		snprintf(why, wl, "state differs: %s", d);
		return false;
	}
	return true;
}

/*
 * Category set of each page of a state vector, walked in increasing page
 * order; NOT_REPORTED for a page no region covers.
 */
#define NOT_REPORTED (~0ULL)

struct cursor {
	const struct page_region *v;
	long n, i;
	uint64_t base;
};

static uint64_t cursor_cats(struct cursor *c, uint64_t pg)
{
	uint64_t a = c->base + pg * PS;

	while (c->i < c->n && c->v[c->i].end <= a)
		c->i++;
	if (c->i < c->n && c->v[c->i].start <= a)
		return c->v[c->i].categories;
	return NOT_REPORTED;
}

/*
 * First page of [from, span) outside [skip_lo, skip_hi) whose categories differ
 * between two state vectors; false if there is none.
 */
static bool state_diff(const struct page_region *va, long na, uint64_t ba,
		       const struct page_region *vb, long nb, uint64_t bb, uint64_t span,
		       uint64_t skip_lo, uint64_t skip_hi, uint64_t *pg, uint64_t *ca,
		       uint64_t *cb, uint64_t from)
{
	struct cursor x = { va, na, 0, ba }, y = { vb, nb, 0, bb };

	for (uint64_t p = from; p < span; p++) {
		uint64_t a, b;

		if (p >= skip_lo && p < skip_hi)
			continue;
		a = cursor_cats(&x, p);
		b = cursor_cats(&y, p);
		if (a != b) {
			*pg = p;
			*ca = a;
			*cb = b;
			return true;
		}
	}
	return false;
}

static const char *cats_or_none(uint64_t c, char *b, size_t bl)
{
	if (c == NOT_REPORTED)
		return "not reported";
	return cats_str(c, b, bl);
}

/* "page P: X vs Y" for the first difference between the two copies' states. */
static void describe_state_diff(const struct layout *L, long na, long nb, char *why, size_t wl)
{
	char c1[128], c2[128];
	uint64_t pg, ca, cb;

	if (na < 0 || nb < 0 ||
	    !state_diff(vec_a, na, copy_base(0), vec_b, nb, copy_base(1), L->span, 0, 0,
			&pg, &ca, &cb, 0)) {
		snprintf(why, wl, "%ld vs %ld regions", na, nb);
		return;
	}
	snprintf(why, wl, "%ld vs %ld regions, first at page %llu: %s vs %s", na, nb,
		 (unsigned long long)pg, cats_or_none(ca, c1, sizeof(c1)),
		 cats_or_none(cb, c2, sizeof(c2)));
}

/*
 * The state of both copies, compared. The copies only differ transiently when
 * the kernel is in the middle of something on one of them (a page under
 * migration reads as swapped until the migration ends), so a difference is
 * re-checked a few times before it counts. A difference an implementation
 * left behind in the page tables does not go away by waiting.
 */
static long n_transient;

/* A state difference (first) went away after t re-checks. */
static void note_transient(const char *first, int t)
{
	n_transient++;
	if (n_transient <= 5)
		printf("# transient state difference (%s), gone after %d re-check(s)\n", first, t);
}

static bool states_settle(const struct layout *L, long n[2], char *why, size_t wl)
{
	char first[160];

	for (int t = 0; t < 6; t++) {
		if (states_equal(L, n, why, wl)) {
			if (t)
				note_transient(first, t);
			return true;
		}
		if (!t)
			snprintf(first, sizeof(first), "%s", why);
		if (t < 5)
			usleep(5000 << t);
	}
	return false;
}

/*
 * Before a WP_MATCHING call the states of both copies are kept (pre[c]). The
 * call can only change pages in the PMD-aligned window around its range (a
 * partially write-protected THP is split as a whole), and only in some ways:
 * it clears WRITTEN (uffd-wp), clears HUGE (THP split) and turns a none
 * entry into a marker (SWAPPED). It never maps, unmaps, swaps, collapses or
 * migrates a page.
 *
 * A change outside the window was made by the kernel behind the test's back
 * (khugepaged, reclaim, compaction) or by a broken implementation. On the
 * copy a C implementation worked on it is taken as the kernel's. On a Rust
 * copy only what the kernel does on its own counts as that: a page swapped
 * out or a range collapsed into a THP, with its uffd-wp state kept; any
 * other change there stays a mismatch. A kernel change drops the layout as
 * unstable only if the copies are still equal inside the window, where the
 * implementations did their work.
 */
static struct page_region *pre[2];
static long npre[2];

/* The kernel changed a copy (@why says how): the layout is dropped. */
static int kernel_noise(const char *why)
{
	n_env++;
	if (n_env <= 5)
		printf("# kernel changed a copy behind the test: %s\n", why);
	return R_UNSTABLE;
}

static void take_pre_states(const struct layout *L)
{
	npre[0] = state_scan(L, 0, pre[0]);
	npre[1] = state_scan(L, 1, pre[1]);
}

/* A change of a page's categories the kernel makes on its own. */
static bool kernel_change(uint64_t was, uint64_t now)
{
	bool swapped_out, collapsed;

	if (was == NOT_REPORTED || now == NOT_REPORTED)
		return false;
	/*
	 * Reclaim: present -> swap entry, the uffd bit (uffd-wp or, on 7.3,
	 * RWP) moves along: WRITTEN and ACCESSED stay as they were.
	 */
	swapped_out = (was & P_P) && (now & P_S) && !(now & P_P) &&
		      !((was ^ now) & (P_W | P_ACC));
	/*
	 * khugepaged: never over entries with the uffd bit, so no WRITTEN
	 * (or ACCESSED) is lost; never in a VMA with guard regions.
	 */
	collapsed = !(was & P_H) && (now & P_H) && (now & P_P) &&
		    !(was & ~now & (P_W | P_ACC));
	return swapped_out || collapsed;
}

enum { OUT_NONE, OUT_KERNEL, OUT_SUSPECT };

/* The call's PMD-aligned window, in pages of the copy: [*lo, *hi). */
static void call_window(const struct scan *sc, uint64_t *lo, uint64_t *hi)
{
	int64_t e = sc->e + (sc->e_off ? 1 : 0);
	const uint64_t m = PMD_PG - 1;

	*lo = sc->s < 0 ? 0 : (uint64_t)sc->s & ~m;
	*hi = e <= 0 ? 0 : ((uint64_t)e + m) & ~m;
}

/* Changes of copy @c outside the call's window (the state after is in vec_a/vec_b). */
static int changed_outside(const struct layout *L, const struct scan *sc, int c, long npost,
			   char *why, size_t wl)
{
	const struct page_region *post = c ? vec_b : vec_a;
	bool rust = c ? b_is_rust : a_is_rust;
	uint64_t lo, hi, from = 0, pg, was, now;
	int kind = OUT_NONE;
	char c1[128], c2[128];

	if (sc->abs == 1 || npre[c] < 0 || npost < 0)
		return OUT_NONE;
	call_window(sc, &lo, &hi);
	while (from < L->span &&
	       state_diff(pre[c], npre[c], copy_base(c), post, npost, copy_base(c), L->span, lo,
			  hi, &pg, &was, &now, from)) {
		int k = rust && !kernel_change(was, now) ? OUT_SUSPECT : OUT_KERNEL;

		if (k > kind) {
			kind = k;
			snprintf(why, wl,
				 "copy %d (%s) changed outside the call's window [%llu, %llu) at page %llu: %s -> %s",
				 c, c ? impl_b : impl_a, (unsigned long long)lo,
				 (unsigned long long)hi, (unsigned long long)pg,
				 cats_or_none(was, c1, sizeof(c1)),
				 cats_or_none(now, c2, sizeof(c2)));
		}
		from = pg + 1;
	}
	return kind;
}

/*
 * The copies were equal after the last WP call; since then only read-only
 * scans ran (on copy 0). If they differ now, the kernel changed one of them
 * (both copies are scanned from a quiet state, so the calls would be
 * compared on different inputs): the layout is dropped. A difference the
 * kernel does not make on its own is a mismatch: a read-only scan changed
 * something.
 */
static int copies_diverged(const struct layout *L, char *why, size_t wl)
{
	uint64_t from = 0, pg, c0, c1;
	bool kernel = true, any = false;
	char b0[128], b1[128];

	if (npre[0] < 0 || npre[1] < 0)
		return R_EQUAL;
	while (from < L->span &&
	       state_diff(pre[0], npre[0], copy_base(0), pre[1], npre[1], copy_base(1), L->span, 0,
			  0, &pg, &c0, &c1, from)) {
		if (!any || (kernel && !kernel_change(c0, c1) && !kernel_change(c1, c0)))
			snprintf(why, wl, "copies differ before a WP call at page %llu: %s vs %s",
				 (unsigned long long)pg, cats_or_none(c0, b0, sizeof(b0)),
				 cats_or_none(c1, b1, sizeof(b1)));
		any = true;
		if (!kernel_change(c0, c1) && !kernel_change(c1, c0))
			kernel = false;
		from = pg + 1;
	}
	if (!any)
		return R_EQUAL;
	if (!kernel)
		return R_MISMATCH;
	return kernel_noise(why);
}

/* Whether the two copies' states (vec_a, vec_b) are equal inside the call's window. */
static bool equal_in_window(const struct layout *L, const struct scan *sc, long na, long nb)
{
	uint64_t lo, hi, pg, ca, cb;

	call_window(sc, &lo, &hi);
	if (hi > L->span)
		hi = L->span;
	return lo >= hi ||
	       !state_diff(vec_a, na, copy_base(0), vec_b, nb, copy_base(1), hi, 0, 0, &pg, &ca,
			   &cb, lo);
}

/*
 * Merge adjacent regions with equal categories; returns new count. With
 * @flushes, not across C's internal flushes (each non-final pass copies out
 * exactly BOUNCE entries), where neither side merges.
 */
static long merge_regions(struct page_region *v, long n, long *merges, bool flushes)
{
	long i, o = 0;

	for (i = 0; i < n; i++) {
		if (o && v[o - 1].end == v[i].start && v[o - 1].categories == v[i].categories &&
		    !(flushes && i % BOUNCE == 0)) {
			v[o - 1].end = v[i].end;
			(*merges)++;
			continue;
		}
		v[o++] = v[i];
	}
	return o;
}

static uint64_t aligned_end(const struct scan *sc, int c)
{
	return (untag(scan_addr(sc, c, true)) + PS - 1) & ~(PS - 1);
}

/*
 * Rust reports that its walk reached the end where C's walk_end says it
 * stopped at @from (C can leave walk_end at an earlier stop: defect (a)).
 * That is right when nothing at or after @from still matches the scan in
 * Rust's copy after the call: anything Rust should have reported (or
 * stopped at for lack of room) would still be there, unprotected. Checked
 * with a read-only scan under C.
 */
static bool nothing_left(const struct scan *sc, int c, uint64_t from)
{
	struct pm_res r;

	use_impl(a_is_rust ? impl_b : impl_a);
	r = pm_scan(pm_fd(), from, aligned_end(sc, c), vec_t + CAP, CAP, 0, 0,
		    sc->inv, sc->mask, sc->anyof, all_cats);
	return r.ret == 0;
}

/* The layout of the case being compared (for the hugetlb back-out rule). */
static const struct layout *cmp_layout;

/* The segment of the compared layout that addr (in copy c) is in, or NULL. */
static const struct seg *seg_at(int c, uint64_t addr)
{
	uint64_t pg;
	int i;

	if (!cmp_layout || addr < copy_base(c))
		return NULL;
	pg = (addr - copy_base(c)) / PS;
	for (i = 0; i < cmp_layout->nseg; i++) {
		const struct seg *sg = &cmp_layout->seg[i];

		if (pg >= sg->off && pg < sg->off + sg->npages)
			return sg;
	}
	return NULL;
}

/*
 * Whether one of C's huge page back-outs can have left walk_end at @addr in
 * copy @c, under PM_SCAN_WP_MATCHING, for a huge page that the scan cannot
 * write-protect whole because the scan's start or end or its max_pages
 * budget cuts it:
 *  - a PMD-sized page of a hugetlb segment is taken back and walk_end set on
 *    purpose to where the walk met it (the page's start, or the scan's
 *    start inside it), and the walk goes on;
 *  - a THP is reported, split and taken back, and its pages reported one
 *    by one: walk_end stays where the budget or the vector ran out inside
 *    that PMD.
 * Rust does the same in both. Anywhere else a walk_end short of the end is
 * C's stale one (defect (a)), which Rust corrects.
 */
static bool huge_backout_at(const struct scan *sc, int c, uint64_t addr)
{
	uint64_t pg, hp_start, hp_end, start = untag(scan_addr(sc, c, false));
	const struct seg *sg = seg_at(c, addr);

	if (!sg || !(sc->flags & PM_SCAN_WP_MATCHING) ||
	    (sg->kind != K_HUGETLB && sg->kind != K_THP))
		return false;
	pg = (addr - copy_base(c)) / PS;
	hp_start = copy_base(c) + (sg->off + ((pg - sg->off) & ~(PMD_PG - 1))) * PS;
	hp_end = hp_start + PMD_SZ;
	if (sg->kind == K_HUGETLB && addr != hp_start && addr != start)
		return false;
	return hp_start < start || aligned_end(sc, c) < hp_end || sc->max_pages;
}

/*
 * Compare outcome x (C, copy cx) with y (copy cy). model: y is Rust and the
 * documented differences apply. Returns true when equal (under the model).
 */
static bool compare(const struct scan *sc, const struct outcome *x, int cx,
		    const struct outcome *y, int cy, bool model, char *why, size_t wl)
{
	uint64_t bx = sc->abs == 1 ? 0 : copy_base(cx), by = sc->abs == 1 ? 0 : copy_base(cy);
	long nx, merges = 0, n;
	bool trunc, stale_we;

	if (verbose > 1) {
		long i;

		printf("# A: ret %ld errno %d walk_end %#llx nwritten %ld\n", x->ret, x->err,
		       (unsigned long long)(x->walk_end - bx), x->nwritten);
		for (i = 0; i < x->nwritten; i++)
			printf("#   A[%ld] %#llx-%#llx %#llx\n", i,
			       (unsigned long long)(x->v[i].start - bx),
			       (unsigned long long)(x->v[i].end - bx),
			       (unsigned long long)x->v[i].categories);
		printf("# B: ret %ld errno %d walk_end %#llx nwritten %ld\n", y->ret, y->err,
		       (unsigned long long)(y->walk_end - by), y->nwritten);
		for (i = 0; i < y->nwritten; i++)
			printf("#   B[%ld] %#llx-%#llx %#llx\n", i,
			       (unsigned long long)(y->v[i].start - by),
			       (unsigned long long)(y->v[i].end - by),
			       (unsigned long long)y->v[i].categories);
	}
	if (x->ret != y->ret && !model) {
		snprintf(why, wl, "ret %ld/%d vs %ld/%d", x->ret, x->err, y->ret, y->err);
		return false;
	}
	if ((x->ret < 0 || y->ret < 0) && (x->ret != y->ret || x->err != y->err)) {
		snprintf(why, wl, "ret %ld errno %d vs %ld errno %d", x->ret, x->err, y->ret,
			 y->err);
		return false;
	}
	/* Regions: the written prefix of the vector (covers error returns too). */
	nx = x->nwritten;
	memcpy(vec_t, x->v, nx * sizeof(*vec_t));
	/*
	 * A pass stops at a region that cannot merge with the last one, so
	 * only a vector inside the range (memory that changes between passes)
	 * can leave a mergeable pair at a flush.
	 */
	n = model ? merge_regions(vec_t, nx, &merges, sc->vec_mode == 3) : nx;
	if (merges)
		n_quirk_b++;
	/*
	 * (a) C leaves walk_end at an earlier stop point although its walk went
	 * on to the end: after an internal bounce-buffer flush (more than BOUNCE
	 * regions), or after a THP that max_pages cut and that was then split
	 * and taken back. Rust reports the end of the walk. A stop is final,
	 * and walk_end must then be equal, when C ran out of room: the vector
	 * is full or max_pages pages were reported. C's partial-hugetlb
	 * back-out, which sets walk_end on purpose and goes on, is kept by
	 * Rust (checked below).
	 */
	{
		uint64_t pages = 0;
		long i;

		for (i = 0; i < nx; i++)
			pages += (x->v[i].end - x->v[i].start) / PS;
		/*
		 * A walk_end below the end of the last returned region is
		 * always stale (C's second pass can fill the vector exactly
		 * and still finish the walk).
		 */
		stale_we = x->ret >= 0 && x->walk_end != aligned_end(sc, cx) &&
			((nx && relv(x->walk_end, bx) < relv(x->v[nx - 1].end, bx)) ||
			 ((uint64_t)x->ret != sc->vec_len &&
			  !(sc->max_pages && pages == sc->max_pages)));
	}
	if (stale_we)
		n_quirk_a++;
	trunc = (x->ret >= 0 && (uint64_t)x->ret == sc->vec_len) ||
		x->walk_end != aligned_end(sc, cx);
	if (trunc)
		n_trunc++;

	if (!model || !merges || !trunc) {
		if (model && x->ret >= 0 && y->ret != n) {
			snprintf(why, wl, "ret %ld vs %ld (C merged: %ld)", x->ret, y->ret, n);
			return false;
		}
		if (y->nwritten != n || !regions_equal_rel(vec_t, bx, y->v, by, n)) {
			snprintf(why, wl, "regions differ (%ld vs %ld entries written)", n,
				 y->nwritten);
			return false;
		}
		if (model && stale_we && x->ret >= 0) {
			/*
			 * Unless the walk's last pass backed out a huge page it
			 * could not write-protect whole (range or max_pages cut
			 * it): both leave walk_end there (huge_backout_at()).
			 */
			bool hugetlb_backout =
				relv(y->walk_end, by) == relv(x->walk_end, bx) &&
				huge_backout_at(sc, cx, x->walk_end);

			/*
			 * Or C's stale stop is after such a hugetlb back-out,
			 * which Rust keeps: a THP later in the walk that C
			 * took back left its stop (patches/upstream 0002;
			 * C with the series leaves the back-out's, as Rust).
			 */
			if (!hugetlb_backout) {
				const struct seg *sg = seg_at(cy, y->walk_end);

				hugetlb_backout = sg && sg->kind == K_HUGETLB &&
					relv(y->walk_end, by) < relv(x->walk_end, bx) &&
					huge_backout_at(sc, cy, y->walk_end);
			}

			if (!hugetlb_backout &&
			    relv(y->walk_end, by) != relv(aligned_end(sc, cx), bx)) {
				snprintf(why, wl, "walk_end %#llx vs true end %#llx (C left %#llx)",
					 (unsigned long long)(y->walk_end - by),
					 (unsigned long long)(aligned_end(sc, cx) - bx),
					 (unsigned long long)(x->walk_end - bx));
				return false;
			}
		} else if (relv(x->walk_end, bx) != relv(y->walk_end, by) &&
			   !(model && x->ret >= 0 &&
			     relv(y->walk_end, by) == relv(aligned_end(sc, cx), bx) &&
			     nothing_left(sc, cy, by + (x->walk_end - bx))) &&
			   /*
			    * (c) An error return after a THP take-back: C's
			    * walk_end is still the cut max_pages made in the THP;
			    * Rust's is the stop before it, or the end.
			    */
			   !(model && x->ret < 0 && sc->max_pages &&
			     huge_backout_at(sc, cx, x->walk_end) &&
			     (relv(y->walk_end, by) < relv(x->walk_end, bx) ||
			      relv(y->walk_end, by) == relv(aligned_end(sc, cx), bx)))) {
			snprintf(why, wl, "walk_end %#llx vs %#llx (relative to the copy base)",
				 (unsigned long long)(x->walk_end - bx),
				 (unsigned long long)(y->walk_end - by));
			return false;
		}
		return true;
	}
	/* Model (b) with truncation: C's merged regions are a prefix of Rust's. */
	if (y->nwritten < n || (n && !regions_equal_rel(vec_t, bx, y->v, by, n - 1))) {
		snprintf(why, wl, "merged prefix differs");
		return false;
	}
	if (n) {
		const struct page_region *a = &vec_t[n - 1], *b = &y->v[n - 1];

		if (a->start - bx != b->start - by || a->categories != b->categories ||
		    a->end - bx > b->end - by) {
			snprintf(why, wl, "last merged region not a prefix");
			return false;
		}
	}
	if (relv(y->walk_end, by) < relv(x->walk_end, bx)) {
		snprintf(why, wl, "Rust walk_end below C's");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ drawing */

static uint64_t draw_mask(uint64_t *s, int pzero, int maxbits)
{
	uint64_t m = 0;
	int k;

	if (pct(s, pzero))
		return 0;
	k = 1 + rnd(s, maxbits);
	while (k--)
		m |= 1ULL << rnd(s, n_cats);
	return m;
}

static void draw_layout(uint64_t *s, struct layout *L)
{
	uint64_t off = 0;
	int huge_used = 0, pmds = 0;

	memset(L, 0, sizeof(*L));
	L->nseg = 1 + rnd(s, 10);
	for (int i = 0; i < L->nseg; i++) {
		struct seg *sg = &L->seg[i];
		uint32_t r = rnd(s, 100);

		sg->seed = sm64(s);
		sg->kind = r < 12 ? K_GAP : r < 40 ? K_ANON : r < 48 ? K_SHANON : r < 56 ? K_MEMFD :
			   r < 64 ? K_FILE_SH : r < 72 ? K_FILE_PRIV : r < 86 ? K_THP : K_HUGETLB;
		if (sg->kind == K_HUGETLB && huge_used >= max_hugetlb)
			sg->kind = K_ANON;
		if ((sg->kind == K_THP || sg->kind == K_HUGETLB) && pmds >= max_pmds)
			sg->kind = K_ANON;
		if (sg->kind == K_THP || sg->kind == K_HUGETLB) {
			int n = 1 + (sg->kind == K_THP ? rnd(s, 2) : 0);

			if (n > max_pmds - pmds)
				n = max_pmds - pmds;
			pmds += n;
			sg->npages = PMD_PG * n;
			off = (off + PMD_PG - 1) & ~(uint64_t)(PMD_PG - 1);
			if (sg->kind == K_HUGETLB)
				huge_used++;
		} else {
			uint32_t q = rnd(s, 100);

			sg->npages = q < 40 ? 1 + rnd(s, 16) : q < 80 ? 1 + rnd(s, 256) :
				     1 + rnd(s, 1500);
			if (pct(s, 15))		/* sometimes start on a PMD boundary */
				off = (off + PMD_PG - 1) & ~(uint64_t)(PMD_PG - 1);
		}
		if (off + sg->npages > MAX_SPAN_PAGES) {
			L->nseg = i;
			break;
		}
		sg->off = off;
		off += sg->npages;
		/* ops */
		sg->ops = OP_POST;
		if (pct(s, 80))
			sg->ops |= OP_POP;
		if (pct(s, 30))
			sg->ops |= OP_READ;
		if (pct(s, 8))
			sg->ops |= OP_STRIPE;
		if (sg->kind == K_ANON && pct(s, 25))
			sg->ops |= OP_SWAP;
		if (pct(s, 45))
			sg->ops |= OP_UFFD;
		else if (pct(s, 10) && sg->kind != K_FILE_SH && sg->kind != K_FILE_PRIV)
			sg->ops |= OP_UFFD_SYNC;	/* sync WP cannot register files */
		if ((sg->ops & OP_UFFD) && pct(s, 60))
			sg->ops |= OP_WP;
		if (pct(s, 20))
			sg->ops |= OP_ZAP;
		if (pct(s, 7))
			sg->ops |= OP_PROTNONE;
		/* Beyond 6.12 (no draw at all without them). */
		if (have_guard && sg->kind != K_GAP && sg->kind != K_HUGETLB && pct(s, 15)) {
			sg->ops |= OP_GUARD;
			if (pct(s, 40))
				sg->ops |= OP_UNGUARD;
		}
		/*
		 * Not with uffd-wp (they share the PTE bit), nor on ext2 files
		 * (no uffd operations: only WP-async takes any memory).
		 */
		if (have_rwp && sg->kind != K_GAP && sg->kind != K_FILE_SH &&
		    sg->kind != K_FILE_PRIV && !(sg->ops & (OP_UFFD | OP_UFFD_SYNC)) &&
		    pct(s, 30)) {
			sg->ops |= OP_RWP;
			if (pct(s, 70))
				sg->ops |= OP_RWPROT;
		}
	}
	if (L->nseg == 0) {
		L->nseg = 1;
		L->seg[0] = (struct seg){ .kind = K_ANON, .npages = 8, .ops = OP_POP, .seed = 1 };
		off = 8;
	}
	L->span = off;
	L->softdirty_clear = pct(s, 15);
	L->post_seed = sm64(s);
}

static void draw_scan(uint64_t *s, const struct layout *L, struct scan *sc)
{
	int64_t span = L->span;
	uint32_t r;

	memset(sc, 0, sizeof(*sc));
	sc->size = sizeof(struct pm_scan_arg);
	r = rnd(s, 100);
	if (r < 60) {
		sc->s = rnd(s, span + 1);
	} else if (r < 75) {
		sc->s = 0;
	} else if (r < 85) {
		sc->s = -(int64_t)(1 + rnd(s, 1024));
	} else {
		const struct seg *sg = &L->seg[rnd(s, L->nseg)];

		sc->s = sg->off + (pct(s, 50) ? 0 : rnd(s, sg->npages + 1));
	}
	r = rnd(s, 100);
	if (r < 45)
		sc->e = sc->s + rnd(s, span - sc->s + 2);
	else if (r < 65)
		sc->e = span;
	else if (r < 75)
		sc->e = span + rnd(s, PAD_PAGES);
	else if (r < 80)
		sc->e = sc->s - 1 - rnd(s, 8);
	else
		sc->e = sc->s + 1 + rnd(s, 4);
	if (pct(s, 3))
		sc->s_off = 1 + rnd(s, PS - 1);
	if (pct(s, 10) && sc->e > sc->s) {
		sc->e--;
		sc->e_off = 1 + rnd(s, PS - 1);
	}
	if (pct(s, 3)) {	/* absolute out-of-range / kernel / tagged */
		/*
		 * Past the user address space, one page past its end: the end
		 * of x86's (2^47, or 2^56 with LA57) is one page past its
		 * last page, arm64's (2^48) is the end of its last page, and
		 * a range ending there is a valid one.
		 */
		const uint64_t past = user_end + PS;
		const uint64_t bad[] = { 0xffff888000000000ULL, past, ~0ULL, past };
		uint64_t b0 = copy_base(0);

		sc->abs = 1;
		switch (rnd(s, 4)) {
		case 0:
			sc->s = b0;
			sc->e = bad[rnd(s, 4)];
			break;
		case 1:
			sc->s = bad[rnd(s, 2)];
			sc->e = sc->s + PS;
			break;
		case 2:
			sc->s = b0 | (1ULL << 62);
			sc->e = b0 + PS;
			break;
		default:
			sc->s = b0;
			sc->e = (b0 + PS) | (0x3fULL << 57);
			break;
		}
		/*
		 * arm64 takes a tagged address for the untagged one: the first
		 * page of each copy, read through its own tagged address (an
		 * absolute one would make both read copy 0).
		 */
		if (untag(sc->s) != sc->s || untag(sc->e) != sc->e) {
			sc->abs = untag(sc->s) != sc->s ? 2 : 3;
			sc->s = 0;
			sc->e = 1;
		}
	}
	r = rnd(s, 100);
	sc->flags = r < 55 ? 0 : r < 80 ? PM_SCAN_WP_MATCHING : r < 90 ? PM_SCAN_CHECK_WPASYNC :
		    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	if (pct(s, 2))
		sc->flags |= 1ULL << (2 + rnd(s, 62));
	sc->mask = draw_mask(s, 45, 2);
	sc->anyof = draw_mask(s, 60, 3);
	sc->inv = pct(s, 70) ? 0 : (pct(s, 50) ? ((sc->mask | sc->anyof) & draw_mask(s, 0, 4))
					      : draw_mask(s, 0, 2));
	r = rnd(s, 100);
	sc->ret = r < 45 ? all_cats : r < 60 ? draw_mask(s, 0, 4) : r < 70 ? 0 :
		  r < 80 ? P_W : (all_cats & ~P_D);
	if (pct(s, 12)) {	/* PAGE_IS_WRITTEN fast path */
		sc->mask = P_W;
		sc->ret = P_W;
		sc->inv = 0;
		sc->anyof = 0;
	}
	if ((have_guard || have_rwp) && pct(s, 15)) {
		/* The scans these are for: RWP's hot and cold sets, the guard pages. */
		uint64_t c = have_rwp && (!have_guard || pct(s, 60)) ? P_ACC : P_G;

		sc->mask = c;
		sc->anyof = 0;
		sc->inv = pct(s, 50) ? c : 0;
		sc->ret = pct(s, 50) ? c : all_cats;
	}
	if (pct(s, 2)) {
		uint64_t *f[] = { &sc->inv, &sc->mask, &sc->anyof, &sc->ret };

		/* A category bit the kernel does not know: EINVAL. */
		*f[rnd(s, 4)] |= 1ULL << (n_cats + rnd(s, 64 - n_cats));
	}
	r = rnd(s, 100);
	if (r < 8) {
		sc->vec_len = 0;
	} else if (r < 11) {
		sc->vec_len = 0;
		sc->vec_mode = 1;
	} else if (r < 12) {
		sc->vec_len = 1 + rnd(s, 4);
		sc->vec_mode = 1;
	} else if (r < 14) {
		sc->vec_len = 1 + rnd(s, 16);
		sc->vec_mode = 2;
	} else if (r < 28) {
		sc->vec_len = 1;
	} else if (r < 38) {
		sc->vec_len = 2 + rnd(s, 7);
	} else if (r < 65) {
		sc->vec_len = CAP;
	} else if (r < 75) {
		sc->vec_len = BOUNCE - 12 + rnd(s, 31);	/* around a bounce buffer */
	} else if (r < 97) {
		sc->vec_len = 1 + rnd(s, 2000);
	} else {
		sc->vec_len = 1ULL << (40 + rnd(s, 24));
	}
	r = rnd(s, 100);
	if (r < 4) {
		/* The vector inside the copy, in a writable plain segment. */
		const struct seg *sg = &L->seg[rnd(s, L->nseg)];
		uint64_t room;

		sc->vec_mode = 3;
		sc->vec_arg = sg->off * PS + 8 * rnd(s, PS / 8);
		room = ((sg->off + sg->npages) * PS - sc->vec_arg) / sizeof(struct page_region);
		sc->vec_len = 1 + rnd(s, room < 3000 ? room : 3000);
		if (!room || !vec_in_range_ok(L, sc))
			sc->vec_mode = 0;	/* CAP >= 3000 */
	} else if (r < 7) {
		/* The vector faults at or near an internal flush. */
		const uint32_t at[] = { BOUNCE - 1, BOUNCE, BOUNCE + 1, 2 * BOUNCE - 1,
					2 * BOUNCE, 2 * BOUNCE + 1 };

		sc->vec_mode = 4;
		sc->vec_arg = pct(s, 70) ? at[rnd(s, 6)] : 1 + rnd(s, 4 * BOUNCE);
		sc->vec_len = pct(s, 90) ? sc->vec_arg + 1 + rnd(s, 1024) : 1 + rnd(s, sc->vec_arg);
	}
	r = rnd(s, 100);
	sc->max_pages = r < 55 ? 0 : r < 70 ? 1 + rnd(s, 8) : r < 85 ? 1 + rnd(s, span + 1) :
			r < 95 ? PMD_PG - 12 + rnd(s, 31) : ~0ULL;
	if (pct(s, 1))
		sc->size = rnd(s, 2) ? sizeof(struct pm_scan_arg) - 8 :
				       sizeof(struct pm_scan_arg) + 8;
}

/* ------------------------------------------------------------ describing */

static void ops_str(uint32_t ops, char *b, size_t l)
{
	static const char * const n[OP_NBITS] = { "pop", "stripe", "swap", "uffd", "uffd-sync",
						  "wp", "zap", "protnone", "read", "post",
						  "guard", "unguard", "rwp", "rwprot" };
	size_t o = 0;

	b[0] = 0;
	for (int i = 0; i < OP_NBITS; i++)
		if (ops & (1u << i))
			o += snprintf(b + o, l - o, "%s%s", o ? "+" : "", n[i]);
}

static void describe(const struct repro *R)
{
	char ob[128], c1[96], c2[96], c3[96], c4[96];

	printf("#   layout: %d segments, %llu pages%s\n", R->L.nseg,
	       (unsigned long long)R->L.span,
	       R->L.softdirty_clear ? ", clear_refs=4 then post-writes" : "");
	for (int i = 0; i < R->L.nseg; i++) {
		const struct seg *sg = &R->L.seg[i];

		ops_str(sg->ops, ob, sizeof(ob));
		printf("#     seg %d: pages [%llu, %llu) %s%s ops=%s seed=%u\n", i,
		       (unsigned long long)sg->off,
		       (unsigned long long)(sg->off + sg->npages), kind_name[sg->kind],
		       sg->kind == K_HUGETLB ? (sg->seed & 1 ? "(shared)" : "(private)") : "",
		       ob, sg->seed);
	}
	for (int i = 0; i < R->nscan; i++) {
		const struct scan *sc = &R->sc[i];

		if (sc->abs == 1)
			printf("#   scan %d%s: absolute [%#llx%s, %#llx%s) flags=%#llx",
			       i, i == R->nscan - 1 ? " (mismatch)" : "",
			       (unsigned long long)sc->s, sc->s_off ? "+unaligned" : "",
			       (unsigned long long)sc->e, sc->e_off ? "+unaligned" : "",
			       (unsigned long long)sc->flags);
		else
			printf("#   scan %d%s: pages [%lld%s, %lld%s)%s flags=%#llx",
			       i, i == R->nscan - 1 ? " (mismatch)" : "",
			       (long long)sc->s, sc->s_off ? "+unaligned" : "",
			       (long long)sc->e, sc->e_off ? "+unaligned" : "",
			       sc->abs == 2 ? " tagged start" : sc->abs == 3 ? " tagged end" : "",
			       (unsigned long long)sc->flags);
		printf(" vec=%s vec_len=%llu max_pages=%llu size=%llu\n",
		       sc->vec_mode == 0 ? "buf" : sc->vec_mode == 1 ? "NULL" :
		       sc->vec_mode == 2 ? "unmapped" : sc->vec_mode == 3 ? "in-range" : "faulting",
		       (unsigned long long)sc->vec_len, (unsigned long long)sc->max_pages,
		       (unsigned long long)sc->size);
		if (sc->vec_mode == 3)
			printf("#            vector at byte %#llx of the copy\n",
			       (unsigned long long)sc->vec_arg);
		if (sc->vec_mode == 4)
			printf("#            vector faults after %llu entries\n",
			       (unsigned long long)sc->vec_arg);
		printf("#            inverted=%s mask=%s anyof=%s return=%s\n",
		       cats_str(sc->inv, c1, sizeof(c1)), cats_str(sc->mask, c2, sizeof(c2)),
		       cats_str(sc->anyof, c3, sizeof(c3)), cats_str(sc->ret, c4, sizeof(c4)));
	}
}

/* Serialise a repro as a --repro argument. */
static void spec_str(const struct repro *R, char *b, size_t l)
{
	size_t o = snprintf(b, l, "v1;sd=%u;ps=%u", R->L.softdirty_clear, R->L.post_seed);

	for (int i = 0; i < R->L.nseg; i++) {
		const struct seg *sg = &R->L.seg[i];

		o += snprintf(b + o, l - o, ";g=%u,%u,%llu,%x,%u", sg->kind, sg->npages,
			      (unsigned long long)sg->off, sg->ops, sg->seed);
	}
	for (int i = 0; i < R->nscan; i++) {
		const struct scan *sc = &R->sc[i];

		o += snprintf(b + o, l - o,
			      ";s=%lld,%lld,%u,%u,%u,%u,%llx,%llx,%llx,%llx,%llx,%llx,%llx,%llx",
			      (long long)sc->s, (long long)sc->e, sc->s_off, sc->e_off, sc->abs,
			      sc->vec_mode, (unsigned long long)sc->flags,
			      (unsigned long long)sc->vec_len, (unsigned long long)sc->max_pages,
			      (unsigned long long)sc->inv, (unsigned long long)sc->mask,
			      (unsigned long long)sc->anyof, (unsigned long long)sc->ret,
			      (unsigned long long)sc->size);
		if (sc->vec_arg)
			o += snprintf(b + o, l - o, ",%llu", (unsigned long long)sc->vec_arg);
	}
}

static bool parse_spec(const char *str, struct repro *R)
{
	char *dup = strdup(str), *tok, *save;
	bool ok = true;

	memset(R, 0, sizeof(*R));
	for (tok = strtok_r(dup, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		unsigned int a, b, d;
		unsigned long long off;

		if (!strcmp(tok, "v1"))
			continue;
		if (sscanf(tok, "sd=%u", &a) == 1) {
			R->L.softdirty_clear = a;
		} else if (sscanf(tok, "ps=%u", &a) == 1) {
			R->L.post_seed = a;
		} else if (!strncmp(tok, "g=", 2) && R->L.nseg < MAX_SEGS) {
			struct seg *sg = &R->L.seg[R->L.nseg++];
			unsigned int ops;

			if (sscanf(tok, "g=%u,%u,%llu,%x,%u", &a, &b, &off, &ops, &d) != 5)
				ok = false;
			sg->kind = a;
			sg->npages = b;
			sg->off = off;
			sg->ops = ops;
			sg->seed = d;
			if (off + b > R->L.span)
				R->L.span = off + b;
		} else if (!strncmp(tok, "s=", 2) && R->nscan < MAX_SCANS) {
			struct scan *sc = &R->sc[R->nscan++];
			unsigned int so, eo, ab, vm;
			unsigned long long va = 0;
			long long se[2] = { 0 };
			unsigned long long f[8] = { 0 };
			int nf;

			nf = sscanf(tok,
				    "s=%lld,%lld,%u,%u,%u,%u,%llx,%llx,%llx,%llx,%llx,%llx,%llx,%llx,%llu",
				    &se[0], &se[1], &so, &eo, &ab, &vm, &f[0], &f[1], &f[2], &f[3],
				    &f[4], &f[5], &f[6], &f[7], &va);
			if (nf != 14 && nf != 15)
				ok = false;
			sc->s = se[0];
			sc->e = se[1];
			sc->flags = f[0];
			sc->vec_len = f[1];
			sc->max_pages = f[2];
			sc->inv = f[3];
			sc->mask = f[4];
			sc->anyof = f[5];
			sc->ret = f[6];
			sc->size = f[7];
			sc->vec_arg = va;
			sc->s_off = so;
			sc->e_off = eo;
			sc->abs = ab;
			sc->vec_mode = vm;
		} else {
			ok = false;
		}
	}
	free(dup);
	return ok && R->L.nseg > 0 && R->nscan > 0;
}

/* ------------------------------------------------------------ execution */

static bool build_layout(const struct layout *L, char *why, size_t wl)
{
	long n[2];

	for (int c = 0; c < 2; c++)
		for (int si = 0; si < L->nseg; si++)
			if (!build_seg(L, si, c)) {
				snprintf(why, wl, "building segment %d failed", si);
				return false;
			}
	if (L->softdirty_clear) {
		clear_refs_softdirty();
		for (int c = 0; c < 2; c++)
			post_writes(L, c);
	}
	return states_equal(L, n, why, wl);
}

static void write_both(const struct layout *L, uint64_t *s)
{
	uint64_t ps = sm64(s);

	for (int c = 0; c < 2; c++) {
		uint64_t t = ps;

		for (int si = 0; si < L->nseg; si++) {
			const struct seg *sg = &L->seg[si];
			char *p = (char *)(copy_base(c) + sg->off * PS);
			uint64_t k, i;

			if (sg->kind == K_GAP || sg->kind == K_HUGETLB || (sg->ops & OP_PROTNONE))
				continue;
			k = rnd(&t, 4);
			for (i = 0; i < k; i++) {
				uint64_t pg = rnd(&t, sg->npages);

				if (!page_guarded(sg, pg))
					p[pg * PS + 1] = 5;
			}
		}
	}
}

/*
 * Run one scan on the built layout. WP scans run A on copy 0 and B on copy 1
 * and compare the states afterwards; read-only scans run A, B, A on copy 0.
 */
static int exec_scan(const struct layout *L, const struct scan *sc, uint64_t *wseed,
		     char *why, size_t wl)
{
	struct outcome oa, ob, oa2;
	bool model = a_is_rust != b_is_rust && !c_fixed;
	bool wp = sc->flags & PM_SCAN_WP_MATCHING;
	const struct outcome *xc, *yr;
	int cx, cy;

	if (!wp) {
		run_scan(L, sc, 0, impl_a, vec_a, &oa);
		run_scan(L, sc, 0, impl_b, vec_b, &ob);
		run_scan(L, sc, 0, impl_a, vec_t + CAP, &oa2);
		oa2.v = vec_t + CAP;
		if (sc->vec_mode == 3) {
			size_t n;
			struct page_region *uv = user_vec(L, sc, 1, vec_t, &n);

			/* Copy 0's vector pages were written: keep copy 1 alike. */
			if (uv != vec_t)
				vec_poison(uv, n);
		}
		if (!compare(sc, &oa, 0, &oa2, 0, false, why, wl))
			return R_UNSTABLE;
		n_ro++;
		cx = 0;
		cy = 0;
	} else {
		int r;

		take_pre_states(L);
		r = copies_diverged(L, why, wl);
		if (r != R_EQUAL)
			return r;
		run_scan(L, sc, 0, impl_a, vec_a, &oa);
		run_scan(L, sc, 1, impl_b, vec_b, &ob);
		n_wp++;
		cx = 0;
		cy = 1;
	}
	if (oa.ret < 0)
		n_err++;
	if (oa.ret > BOUNCE || ob.ret > BOUNCE)
		n_bigvec++;
	/* Scans whose result (A's) holds a GUARD or an ACCESSED region. */
	{
		uint64_t seen = 0;

		for (long i = 0; i < oa.ret && i < oa.nwritten; i++)
			seen |= oa.v[i].categories;
		n_ret_guard += !!(seen & P_G);
		n_ret_acc += !!(seen & P_ACC);
	}
	if (sc->vec_mode == 3 && vec_in_range_ok(L, sc))
		n_vec_in_range++;
	if (sc->vec_mode == 4) {
		n_vec_fault++;
		if (oa.ret < 0 && oa.err == EFAULT && oa.nwritten >= BOUNCE)
			n_vec_fault_late++;
	}
	if (sd_reported(oa.v, oa.ret < oa.nwritten ? oa.ret : oa.nwritten, impl_a) +
	    sd_reported(ob.v, ob.ret < ob.nwritten ? ob.ret : ob.nwritten, impl_b)) {
		snprintf(why, wl, "SOFT_DIRTY reported on a kernel without soft-dirty");
		return R_MISMATCH;
	}
	cmp_layout = L;
	/* compare() uses vec_t[0..CAP) as scratch; keep C on the x side. */
	xc = a_is_rust && !b_is_rust ? &ob : &oa;
	yr = xc == &oa ? &ob : &oa;
	if (xc == &ob) {
		int t = cx;

		cx = cy;
		cy = t;
	}
	if (!compare(sc, xc, cx, yr, cy, model, why, wl))
		return R_MISMATCH;
	if (wp) {
		char w2[200], o[2][200] = { "", "" };
		const char *extra;
		long npost[2];
		int k[2];

		if (!states_settle(L, npost, w2, sizeof(w2))) {
			/* vec_a, vec_b hold the states of the last check. */
			for (int c = 0; c < 2; c++)
				k[c] = changed_outside(L, sc, c, npost[c], o[c], sizeof(o[c]));
			if (k[0] != OUT_SUSPECT && k[1] != OUT_SUSPECT &&
			    (k[0] == OUT_KERNEL || k[1] == OUT_KERNEL) &&
			    equal_in_window(L, sc, npost[0], npost[1])) {
				snprintf(why, wl, "%s", o[k[0] == OUT_KERNEL ? 0 : 1]);
				return kernel_noise(why);
			}
			extra = o[1][0] ? o[1] : o[0];
			snprintf(why, wl, "write-protect state after the call: %s%s%s", w2,
				 extra[0] ? "; " : "", extra);
			return R_MISMATCH;
		}
		write_both(L, wseed);
		if (!states_settle(L, npost, w2, sizeof(w2))) {
			snprintf(why, wl, "state after follow-up writes: %s", w2);
			return R_MISMATCH;
		}
	}
	return R_EQUAL;
}

/* Build + replay; R_MISMATCH if the last scan mismatches. */
static int exec_repro(const struct repro *R, char *why, size_t wl)
{
	uint64_t ws = 77;
	int r = R_EQUAL;

	if (!build_layout(&R->L, why, wl)) {
		teardown(&R->L);
		return R_UNSTABLE;
	}
	for (int i = 0; i < R->nscan; i++) {
		r = exec_scan(&R->L, &R->sc[i], &ws, why, wl);
		if (r != R_EQUAL)
			break;
	}
	teardown(&R->L);
	return r;
}

static bool still_fails(const struct repro *R)
{
	char why[512];

	/* Require two reproductions: the layouts can be nondeterministic. */
	return exec_repro(R, why, sizeof(why)) == R_MISMATCH &&
	       exec_repro(R, why, sizeof(why)) == R_MISMATCH;
}

static void minimize(struct repro *R)
{
	struct repro T;
	int budget = 400;
	bool progress = true;

	while (progress && budget > 0) {
		progress = false;
		/* drop earlier scans */
		for (int i = 0; i < R->nscan - 1 && budget > 0; i++, budget--) {
			T = *R;
			memmove(&T.sc[i], &T.sc[i + 1], (T.nscan - i - 1) * sizeof(T.sc[0]));
			T.nscan--;
			if (still_fails(&T)) {
				*R = T;
				progress = true;
				i--;
			}
		}
		/* turn segments into gaps, then drop trailing gaps */
		for (int i = 0; i < R->L.nseg && budget > 0; i++, budget--) {
			if (R->L.seg[i].kind == K_GAP)
				continue;
			T = *R;
			T.L.seg[i].kind = K_GAP;
			if (still_fails(&T)) {
				*R = T;
				progress = true;
			}
		}
		/* halve segment sizes (not the huge kinds: 2M granularity) */
		for (int i = 0; i < R->L.nseg && budget > 0; i++) {
			struct seg *sg = &R->L.seg[i];

			if (sg->kind == K_GAP || sg->kind == K_THP || sg->kind == K_HUGETLB ||
			    sg->npages < 2)
				continue;
			budget--;
			T = *R;
			T.L.seg[i].npages /= 2;
			if (still_fails(&T)) {
				*R = T;
				progress = true;
				i--;
			}
		}
		/* switch ops off one by one */
		for (int i = 0; i < R->L.nseg && budget > 0; i++)
			for (int b = 0; b < OP_NBITS && budget > 0; b++) {
				if (!(R->L.seg[i].ops & (1u << b)))
					continue;
				budget--;
				T = *R;
				T.L.seg[i].ops &= ~(1u << b);
				if (still_fails(&T)) {
					*R = T;
					progress = true;
				}
			}
		if (R->L.softdirty_clear && budget-- > 0) {
			T = *R;
			T.L.softdirty_clear = 0;
			if (still_fails(&T)) {
				*R = T;
				progress = true;
			}
		}
		/* simplify the failing scan */
		{
			struct scan *sc;
			uint64_t *fld[] = { NULL, NULL, NULL, NULL, NULL };

			T = *R;
			sc = &T.sc[T.nscan - 1];
			fld[0] = &sc->max_pages;
			fld[1] = &sc->inv;
			fld[2] = &sc->anyof;
			fld[3] = &sc->mask;
			for (int f = 0; f < 4 && budget > 0; f++, budget--) {
				if (!*fld[f])
					continue;
				T = *R;
				sc = &T.sc[T.nscan - 1];
				fld[0] = &sc->max_pages;
				fld[1] = &sc->inv;
				fld[2] = &sc->anyof;
				fld[3] = &sc->mask;
				*fld[f] = 0;
				if (still_fails(&T)) {
					*R = T;
					progress = true;
				}
			}
			if (R->sc[R->nscan - 1].ret != all_cats && budget-- > 0) {
				T = *R;
				T.sc[T.nscan - 1].ret = all_cats;
				if (still_fails(&T)) {
					*R = T;
					progress = true;
				}
			}
		}
	}
	/*
	 * Gap segments map nothing: drop them from the list (offsets of the
	 * others are explicit), then shrink the span to the last segment.
	 * Only accept the result if it still reproduces.
	 */
	T = *R;
	{
		int o = 0;

		for (int i = 0; i < T.L.nseg; i++)
			if (T.L.seg[i].kind != K_GAP)
				T.L.seg[o++] = T.L.seg[i];
		if (o) {
			T.L.nseg = o;
			T.L.span = T.L.seg[o - 1].off + T.L.seg[o - 1].npages;
			if (still_fails(&T))
				*R = T;
		}
	}
}

static void report_mismatch(struct repro *R, long caseno, const char *why)
{
	char spec[8192];
	static int minimized;
	long save[] = { n_ro, n_wp, n_err, n_quirk_a, n_quirk_b, n_trunc, n_bigvec,
			n_transient, n_env };

	printf("# MISMATCH seed=%llu case=%ld: %s\n", (unsigned long long)seed0, caseno, why);
	if (n_mism > 10) {	/* keep the log readable: details for the first ten */
		spec_str(R, spec, sizeof(spec));
		printf("#   repro: --repro '%s'\n", spec);
		return;
	}
	printf("# original reproduction (%d scans on this layout):\n", R->nscan);
	describe(R);
	if (minimized < 3) {
		minimized++;
		if (still_fails(R)) {
			minimize(R);
			printf("# minimized reproduction:\n");
		} else {
			puts("# (did not reproduce on replay: nondeterministic; not minimized)");
		}
		describe(R);
	}
	n_ro = save[0]; n_wp = save[1]; n_err = save[2]; n_quirk_a = save[3];
	n_quirk_b = save[4]; n_trunc = save[5]; n_bigvec = save[6];
	n_transient = save[7]; n_env = save[8];
	spec_str(R, spec, sizeof(spec));
	printf("# rerun: pagemap_scan_difffuzz --impl-a %s --impl-b %s%s --repro '%s'\n",
	       impl_a, impl_b, pretend_b_rust ? " --pretend-b-rust" : "", spec);
	fflush(stdout);
}

/* ------------------------------------------------------------ read() */

/* The longest read drawn, in entries: 2.5 PMDs' worth (1280 with 4 KiB pages). */
static long rd_entries = 1280;
#define RD_ENTRIES rd_entries
static int rd_fd[2] = { -1, -1 };	/* [0] privileged, [1] without CAP_SYS_ADMIN */
static uint64_t *rd_buf[3];
static long n_rd, n_rd_unstable, n_rd_err, n_rd_fault, n_rd_mism, n_rd_shared;
static long long reads0;
static int reads_per_layout = 12;
static uint64_t rd_bits[9];	/* entries read with each of bits 55-63 */

/* /proc/self/pagemap opened with CAP_SYS_ADMIN dropped from the effective set. */
static int open_unprivileged(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct saved[2], d[2];
	int fd;

	if (syscall(SYS_capget, &h, saved))
		die("capget: %s\n", strerror(errno));
	memcpy(d, saved, sizeof(d));
	d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	if (syscall(SYS_capset, &h, d))
		die("capset: %s\n", strerror(errno));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (syscall(SYS_capset, &h, saved))
		die("capset (restore): %s\n", strerror(errno));
	if (fd < 0)
		die("open /proc/self/pagemap: %s\n", strerror(errno));
	return fd;
}

static long long rust_read_count(void)
{
	char buf[64];
	FILE *f = fopen("/sys/kernel/mm/pagemap_scan/rust_reads", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtoll(buf, NULL, 0);
}

/*
 * The two files, and a check that they differ as they must: a populated
 * page's entry shows its PFN through the first only.
 */
static void read_setup(void)
{
	char *p = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t e[2];

	rd_fd[0] = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	rd_fd[1] = open_unprivileged();
	for (int i = 0; i < 3; i++) {
		rd_buf[i] = mmap(NULL, RD_ENTRIES * 8, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (rd_buf[i] == MAP_FAILED)
			die("mmap: %s\n", strerror(errno));
	}
	if (rd_fd[0] < 0 || p == MAP_FAILED)
		die("read setup: %s\n", strerror(errno));
	p[0] = 1;
	use_impl(a_is_rust && !b_is_rust ? impl_b : impl_a);
	for (int i = 0; i < 2; i++)
		if (pread(rd_fd[i], &e[i], 8, (uintptr_t)p / PS * 8) != 8)
			die("pagemap read: %s\n", strerror(errno));
	munmap(p, PS);
	if (!(e[0] >> 63) || !(e[0] & ((1ULL << 55) - 1)) || !(e[1] >> 63) ||
	    (e[1] & ((1ULL << 55) - 1)))
		die("a present page reads %#llx privileged, %#llx without CAP_SYS_ADMIN\n",
		    (unsigned long long)e[0], (unsigned long long)e[1]);
	reads0 = rust_read_count();
}

struct rd {
	int fd;			/* 0 or 1: rd_fd[] */
	uint64_t off;
	size_t len;
	size_t room;		/* entries before an unmapped page, 0: RD_ENTRIES */
};

struct rd_out {
	ssize_t ret;
	int err;
};

/* Draws a read: mostly of the copies and around them. */
static void draw_read(uint64_t *s, const struct layout *L, struct rd *r)
{
	uint64_t pg, n;

	r->fd = rnd(s, 2);
	switch (rnd(s, 12)) {
	case 0:		/* anywhere, and past the end of the address space */
		pg = rnd(s, user_end / PS + 4096);
		break;
	case 1:		/* the last pages below the end */
		pg = user_end / PS - rnd(s, 1100);
		break;
	case 2:		/* the lowest pages (nothing mapped) */
		pg = rnd(s, 2048);
		break;
	default:	/* a copy, from a little before it */
		pg = copy_base(rnd(s, 2)) / PS + rnd(s, L->span + 1);
		if (pct(s, 20))
			pg -= rnd(s, 600);
		break;
	}
	r->off = pg * 8;
	n = pct(s, 10) ? rnd(s, 3) : 1 + rnd(s, pct(s, 70) ? 600 : RD_ENTRIES);
	r->len = n * 8;
	if (pct(s, 4))
		r->off += 1 + rnd(s, 7);
	if (pct(s, 4))
		r->len += 1 + rnd(s, 7);
	if (r->len > RD_ENTRIES * 8)
		r->len = RD_ENTRIES * 8;
	r->room = pct(s, 5) ? 1 + rnd(s, 700) : 0;
}

static struct rd_out do_read(const struct rd *r, int i)
{
	/* A buffer that ends at an unmapped page: the guard after vec_a. */
	uint64_t *buf = r->room ? (uint64_t *)(guard_addr - r->room * 8) : rd_buf[i];
	size_t n = r->room ? r->room : RD_ENTRIES;
	struct rd_out o;

	memset(buf, 0xa5, n * 8);
	errno = 0;
	o.ret = pread(rd_fd[r->fd], buf, r->len, r->off);
	o.err = o.ret < 0 ? errno : 0;
	if (r->room)
		memcpy(rd_buf[i], buf, n * 8);
	return o;
}

static bool rd_equal(const struct rd *r, const struct rd_out *a, int ia,
		     const struct rd_out *b, int ib, char *why, size_t wl)
{
	size_t n = r->room ? r->room : RD_ENTRIES;

	if (a->ret != b->ret || a->err != b->err) {
		snprintf(why, wl, "returned %zd (%s) vs %zd (%s)", a->ret, strerror(a->err),
			 b->ret, strerror(b->err));
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (rd_buf[ia][i] != rd_buf[ib][i]) {
			snprintf(why, wl, "entry %zu (page %#llx): %#llx vs %#llx", i,
				 (unsigned long long)(r->off / 8 + i),
				 (unsigned long long)rd_buf[ia][i],
				 (unsigned long long)rd_buf[ib][i]);
			return false;
		}
	return true;
}

/* @n reads of the layout: the number of mismatches. */
static int read_cases(struct repro *R, uint64_t *s, int n)
{
	int mism = 0;

	for (int k = 0; k < n; k++) {
		struct rd_out oa, ob, oa2;
		char why[256];
		struct rd r;

		draw_read(s, &R->L, &r);
		use_impl(impl_a);
		oa = do_read(&r, 0);
		use_impl(impl_b);
		ob = do_read(&r, 1);
		use_impl(impl_a);
		oa2 = do_read(&r, 2);
		if (!rd_equal(&r, &oa, 0, &oa2, 2, why, sizeof(why))) {
			n_rd_unstable++;
			if (verbose)
				printf("# unstable read: %s\n", why);
			continue;
		}
		n_rd++;
		n_rd_err += oa.ret < 0;
		n_rd_fault += oa.err == EFAULT;
		for (ssize_t i = 0; i < oa.ret / 8; i++)
			for (int b = 55; b < 64; b++)
				rd_bits[b - 55] += rd_buf[0][i] >> b & 1;
		if (rd_equal(&r, &oa, 0, &ob, 1, why, sizeof(why)))
			continue;
		mism++;
		n_rd_mism++;
		printf("# MISMATCH read seed=%llu: pread(%s, len %zu, offset %#llx%s): %s\n",
		       (unsigned long long)seed0, r.fd ? "unprivileged" : "privileged", r.len,
		       (unsigned long long)r.off, r.room ? ", buffer ends at a hole" : "", why);
		if (n_rd_mism <= 3) {
			R->nscan = 0;
			describe(R);
		}
	}
	return mism;
}

/*
 * Reads of the layout while a child shares it (fork()): anonymous pages,
 * THPs and private hugetlb pages are mapped twice, so not exclusively.
 * Run after the layout's scans (the child's copy-on-write sharing would
 * change what they see), right before the teardown.
 */
static int shared_read_cases(struct repro *R, uint64_t *s)
{
	pid_t pid;
	int mism;

	n_rd_shared++;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s\n", strerror(errno));
	if (!pid) {
		for (;;)
			pause();
	}
	mism = read_cases(R, s, reads_per_layout);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return mism;
}

/* ------------------------------------------------------------ main */

/* Pages seen in the category sets c with (c & mask) == val. */
static unsigned long long cov_sum(int mask, int val)
{
	uint64_t t = 0;

	for (int c = 0; c < (int)ARRAY_SIZE(cov_pages); c++)
		if ((c & mask) == val)
			t += cov_pages[c];
	return t;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * What the kernel has beyond 6.12: the category bits PAGEMAP_SCAN accepts
 * (asked of C), guard regions (MADV_GUARD_INSTALL: EINVAL on 6.12) where
 * PAGE_IS_GUARD reports them, uffd RWP (UFFD_FEATURE_RWP, 7.3) where
 * PAGE_IS_ACCESSED reports it.
 */
static void detect_features(void)
{
	const char *c = a_is_rust && !b_is_rust ? impl_b : impl_a;
	int guard_err = 0, rwp_err = 0;
	char *m;

	use_impl(c);
	for (int b = 8; b < 16; b++) {
		struct pm_res r = pm_scan(pm_fd(), copy_base(0), copy_base(0), NULL, 0, 0, 0,
					  0, 0, 0, 1ULL << b);

		if (r.ret < 0)
			break;
		all_cats |= 1ULL << b;
		n_cats = b + 1;
	}
	m = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap: %s\n", strerror(errno));
	if (madvise(m, PS, MADV_GUARD_INSTALL))
		guard_err = errno;
	munmap(m, PS);
	have_guard = !guard_err && (all_cats & P_G);
	if (all_cats & P_ACC) {
		uffd_rwp = uffd_open(UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC);
		if (uffd_rwp < 0)
			rwp_err = -uffd_rwp;
		have_rwp = uffd_rwp >= 0;
	}
	printf("# categories %#llx; guard regions %s (%s); uffd RWP %s (%s)\n",
	       (unsigned long long)all_cats, have_guard ? "drawn" : "not drawn",
	       guard_err ? strerror(guard_err) : all_cats & P_G ? "GUARD" : "no GUARD category",
	       have_rwp ? "drawn" : "not drawn",
	       rwp_err ? strerror(rwp_err) : all_cats & P_ACC ? "ACCESSED" :
	       "no ACCESSED category");
}

static void die_usage(const char *p)
{
	fprintf(stderr,
		"usage: %s [--self | --impl-a c|rust --impl-b c|rust] [--seed S] [--cases N]\n"
		"          [--time SECONDS] [--repro SPEC] [--reads PER_LAYOUT] [--verbose]\n"
		"          [--pretend-b-rust]\n", p);
	exit(KSFT_FAIL);
}

int main(int argc, char **argv)
{
	const char *repro_spec = NULL;
	bool explicit_impl = false;
	struct statfs sf;
	double t0;
	uint64_t s;
	long hfree;

	pm_init();
	seed0 = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--self")) {
			self_mode = true;
			impl_a = "c";
			impl_b = "c";
		} else if (!strcmp(a, "--impl-a") && v) {
			impl_a = v; i++; explicit_impl = true; self_mode = false;
		} else if (!strcmp(a, "--impl-b") && v) {
			impl_b = v; i++; explicit_impl = true; self_mode = false;
		} else if (!strcmp(a, "--seed") && v) {
			seed0 = strtoull(v, NULL, 0); i++;
		} else if (!strcmp(a, "--cases") && v) {
			max_cases = strtol(v, NULL, 0); i++;
		} else if (!strcmp(a, "--time") && v) {
			max_time = strtod(v, NULL); i++;
		} else if (!strcmp(a, "--repro") && v) {
			repro_spec = v; i++;
		} else if (!strcmp(a, "--pretend-b-rust")) {
			/* Developer check of the model: B runs C but is judged as Rust. */
			pretend_b_rust = true;
		} else if (!strcmp(a, "--reads") && v) {
			reads_per_layout = strtol(v, NULL, 0); i++;
		} else if (!strcmp(a, "--verbose")) {
			verbose++;
		} else {
			die_usage(argv[0]);
		}
	}
	ksft_print_header();
	if (strcmp(impl_a, "c") && strcmp(impl_a, "rust"))
		die_usage(argv[0]);
	if (strcmp(impl_b, "c") && strcmp(impl_b, "rust"))
		die_usage(argv[0]);
	a_is_rust = !strcmp(impl_a, "rust");
	b_is_rust = !strcmp(impl_b, "rust") || pretend_b_rust;
	switching = impl_switch_present();
	if (explicit_impl && !switching && (a_is_rust || b_is_rust))
		die("--impl rust needs /sys/kernel/mm/pagemap_scan/impl\n");
	rust0 = rust_calls();
	c_fixed = tree_fixes_has("walk_end_flush") && tree_fixes_has("walk_end_thp") &&
		tree_fixes_has("merge_flush");
	printf("# difffuzz: impl-a=%s impl-b=%s%s seed=%llu cases=%ld time=%g kernel=%s\n",
	       impl_a, impl_b, self_mode ? " (--self)" : "", (unsigned long long)seed0,
	       max_cases, max_time,
	       kernel_release());
	if (c_fixed)
		printf("# the tree's C has the fix series: (a)-(c) off, C == Rust\n");

	ext2_dir = env_or("PMSCAN_EXT2_DIR", "/mnt/ext2");
	if (statfs(ext2_dir, &sf) || sf.f_type != 0xEF53)
		die("%s is not an ext2 file system (set PMSCAN_EXT2_DIR)\n", ext2_dir);
	/* Page-size dependent limits (their values with 4 KiB pages above). */
	max_span_pages = 16 * PMD_PG;
	pad_pages = (1ULL << 40) / PS;
	if (vec_cap < 16 * BOUNCE)
		vec_cap = 16 * BOUNCE;
	rd_entries = PMDP(1280);
	if (PMD_SZ > SZ_2M) {
		/* 512 MiB PMDs: two per copy, one hugetlb page per copy. */
		max_pmds = 2;
		max_hugetlb = 1;
	}
	have_sd = softdirty_supported();
	printf("# page size %lu KiB, PMD %lu KiB (%ld-entry bounce buffer), soft-dirty %s\n",
	       PS >> 10, PMD_SZ >> 10, BOUNCE,
	       have_sd ? "yes" : "no: SOFT_DIRTY and pagemap bit 55 must never be reported");
	hfree = hugetlb_free(PMD_SZ >> 10);
	if (hfree < 2 * max_hugetlb)
		die("need >= %d free %lu kB (PMD) hugetlb pages, have %ld\n", 2 * max_hugetlb,
		    PMD_SZ >> 10, hfree);
	/* 2^47, 2^56 with five-level paging (LA57), 2^48 on arm64. */
	user_end = pm_user_end();
	uffd_async = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED |
			       UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	uffd_sync = uffd_open(0);
	if (uffd_async < 0 || uffd_sync < 0)
		die("userfaultfd unavailable\n");
	detect_features();

	/* Vectors: A, B, scratch (2*CAP); A is followed by an unmapped guard. */
	{
		size_t vb = CAP * sizeof(struct page_region);
		char *m = mmap(NULL, 4 * vb + 2 * PS, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (m == MAP_FAILED)
			die("vector mmap\n");
		vec_a = (struct page_region *)m;
		guard_addr = (uintptr_t)m + vb;
		munmap(m + vb, PS);
		vec_b = (struct page_region *)(m + vb + PS);
		vec_t = (struct page_region *)(m + 2 * vb + PS);
		m = mmap(NULL, 2 * vb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			die("vector mmap\n");
		pre[0] = (struct page_region *)m;
		pre[1] = (struct page_region *)(m + vb);
	}
	memset(fds, -1, sizeof(fds));
	read_setup();

	if (repro_spec) {
		struct repro R;
		char why[512] = "";
		int r;

		if (!parse_spec(repro_spec, &R))
			die("cannot parse --repro spec\n");
		describe(&R);
		r = exec_repro(&R, why, sizeof(why));
		printf("# repro: %s %s\n", r == R_EQUAL ? "EQUAL" : r == R_MISMATCH ? "MISMATCH" :
		       "UNSTABLE", why);
		printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:%d\n",
		       r == R_EQUAL, r == R_MISMATCH, r == R_UNSTABLE);
		return r == R_EQUAL ? KSFT_PASS : KSFT_FAIL;
	}

	t0 = now_s();
	s = seed0;
	while (n_cases < max_cases && (!max_time || now_s() - t0 < max_time) && n_mism < 1000) {
		struct repro R = { 0 };
		char why[512];
		uint64_t ws = 77;
		bool lay_guard, lay_rwp;
		long cases0, quirk_b0;
		int nsc, i;

		draw_layout(&s, &R.L);
		n_layouts++;
		if (!build_layout(&R.L, why, sizeof(why))) {
			if (verbose)
				printf("# redraw layout %ld: %s\n", n_layouts, why);
			n_redraw++;
			teardown(&R.L);
			continue;
		}
		n_mism += read_cases(&R, &s, reads_per_layout);
		nsc = 8 + rnd(&s, MAX_SCANS - 8);
		lay_guard = false;
		lay_rwp = false;
		for (i = 0; i < R.L.nseg; i++) {
			lay_guard |= R.L.seg[i].kind != K_GAP && (R.L.seg[i].ops & OP_GUARD);
			lay_rwp |= R.L.seg[i].kind != K_GAP && (R.L.seg[i].ops & OP_RWP);
		}
		n_lay_guard += lay_guard;
		n_lay_rwp += lay_rwp;
		cases0 = n_cases;
		for (i = 0; i < nsc && n_cases < max_cases; i++) {
			int r;

			draw_scan(&s, &R.L, &R.sc[i]);
			R.nscan = i + 1;
			quirk_b0 = n_quirk_b;
			r = exec_scan(&R.L, &R.sc[i], &ws, why, sizeof(why));
			if (verbose && n_quirk_b != quirk_b0 && r == R_EQUAL) {
				char spec[8192];

				/* Where (b) applied: the only outputs C and Rust may differ in. */
				spec_str(&R, spec, sizeof(spec));
				printf("# (b) applied at case %ld: --repro '%s'\n", n_cases + 1,
				       spec);
			}
			if (r == R_UNSTABLE) {
				n_unstable++;
				if (verbose)
					printf("# unstable layout %ld: %s\n", n_layouts, why);
				break;
			}
			n_cases++;
			if (r == R_MISMATCH) {
				n_mism++;
				teardown(&R.L);
				report_mismatch(&R, n_cases, why);
				goto next;
			}
		}
		if (reads_per_layout > 0 && pct(&s, 50))
			n_mism += shared_read_cases(&R, &s);
		teardown(&R.L);
next:
		if (lay_guard)
			n_case_guard += n_cases - cases0;
		if (lay_rwp)
			n_case_rwp += n_cases - cases0;
		if (n_layouts % 200 == 0)
			printf("# progress: %ld cases, %ld mismatches, %.1fs\n", n_cases, n_mism,
			       now_s() - t0);
	}
	printf("# layouts %ld (redrawn %ld, unstable %ld), cases %ld: read-only %ld, wp %ld, ",
	       n_layouts, n_redraw, n_unstable, n_cases, n_ro, n_wp);
	printf("error returns %ld, >%ld regions %ld\n", n_err, BOUNCE, n_bigvec);
	printf("# kernel noise: transient state differences %ld, ", n_transient);
	printf("copies changed by the kernel %ld\n", n_env);
	printf("# model triggers (C side): stale walk_end (a) %ld, mergeable pairs (b) %ld, ",
	       n_quirk_a, n_quirk_b);
	printf("truncated %ld\n", n_trunc);
	printf("# vectors: inside the range %ld, faulting %ld (EFAULT after a flush %ld)\n",
	       n_vec_in_range, n_vec_fault, n_vec_fault_late);
	{
		/* Coverage: pages seen in each category (summed over state scans). */
		uint64_t per[10] = { 0 }, combos = 0;
		char cb[128];

		for (int c = 0; c < (int)ARRAY_SIZE(cov_pages); c++) {
			if (cov_pages[c])
				combos++;
			for (int b = 0; b < n_cats; b++)
				if (c & (1 << b))
					per[b] += cov_pages[c];
		}
		printf("# coverage: %llu distinct category sets; pages per category:",
		       (unsigned long long)combos);
		for (int b = 0; b < n_cats; b++)
			printf(" %s=%llu", cats_str(1ULL << b, cb, sizeof(cb)),
			       (unsigned long long)per[b]);
		printf("\n# coverage: SWAPPED&!WPALLOWED=%llu (swap) HUGE&PRESENT&!FILE=%llu",
		       cov_sum(P_S | P_A, P_S), cov_sum(P_H | P_P | P_F, P_H | P_P));
		printf(" HUGE&FILE=%llu SWAPPED&WPALLOWED&!WRITTEN=%llu (markers/wp swap)\n",
		       cov_sum(P_H | P_F, P_H | P_F), cov_sum(P_S | P_A | P_W, P_S | P_A));
		if (have_guard || have_rwp) {
			printf("# beyond 6.12: layouts with guard regions %ld (cases %ld), ",
			       n_lay_guard, n_case_guard);
			printf("with RWP ranges %ld (cases %ld); ", n_lay_rwp, n_case_rwp);
			printf("results with GUARD %ld, with ACCESSED %ld\n", n_ret_guard,
			       n_ret_acc);
			printf("# coverage: GUARD&WPALLOWED=%llu GUARD&!WRITTEN&WPALLOWED=%llu",
			       cov_sum(P_G | P_A, P_G | P_A), cov_sum(P_G | P_A | P_W, P_G | P_A));
			printf(" ACCESSED&PRESENT=%llu", cov_sum(P_ACC | P_P, P_ACC | P_P));
			printf(" ACCESSED&SWAPPED=%llu", cov_sum(P_ACC | P_S, P_ACC | P_S));
			printf(" ACCESSED&HUGE=%llu\n", cov_sum(P_ACC | P_H, P_ACC | P_H));
		}
	}
	printf("# reads: %ld compared (errors %ld, EFAULT %ld; %ld layouts shared with a child),",
	       n_rd, n_rd_err, n_rd_fault, n_rd_shared);
	printf(" unstable %ld, mismatches %ld\n", n_rd_unstable, n_rd_mism);
	printf("# read coverage: soft-dirty %llu exclusive %llu uffd-wp %llu guard %llu",
	       (unsigned long long)rd_bits[0], (unsigned long long)rd_bits[1],
	       (unsigned long long)rd_bits[2], (unsigned long long)rd_bits[3]);
	printf(" file %llu swap %llu present %llu\n", (unsigned long long)rd_bits[6],
	       (unsigned long long)rd_bits[7], (unsigned long long)rd_bits[8]);
	if ((a_is_rust || b_is_rust) && !pretend_b_rust && reads_per_layout > 0) {
		long long r1 = rust_read_count();

		printf("# rust_reads %lld -> %lld\n", reads0, r1);
		if (r1 <= reads0) {
			printf("# rust handler served no read\n");
			n_mism++;
		}
	}
	if (!have_sd && (n_sd || rd_bits[0])) {
		printf("# no soft-dirty on this kernel, yet %ld regions and %llu read entries %s\n",
		       n_sd, (unsigned long long)rd_bits[0], "were soft-dirty");
		n_mism++;
	}
	if (n_rd_unstable * 20 > n_rd + n_rd_unstable) {
		printf("# %ld of %ld reads unstable: too many\n", n_rd_unstable,
		       n_rd + n_rd_unstable);
		n_mism++;
	}
	if ((a_is_rust || b_is_rust) && !pretend_b_rust) {
		long long r1 = rust_calls();

		printf("# rust_calls %lld -> %lld\n", rust0, r1);
		if (r1 <= rust0) {
			printf("# rust handler served no call\n");
			n_mism++;
		}
	}
	if (n_cases < max_cases && n_mism < 1000) {
		/* The count asked for is the count that runs, or the run fails. */
		printf("# time budget of %gs ran out after %ld of %ld cases\n", max_time,
		       n_cases, max_cases);
		n_mism++;
	}
	if (n_unstable * 10 > n_layouts - n_redraw) {
		/* Dropped layouts are not tested: a run made mostly of them proves nothing. */
		printf("# %ld of %ld layouts unstable: too many\n", n_unstable,
		       n_layouts - n_redraw);
		n_mism++;
	}
	printf("# cases: %ld, mismatches: %ld, seed %llu, %.1fs\n", n_cases, n_mism,
	       (unsigned long long)seed0, now_s() - t0);
	printf("# Totals: pass:%ld fail:%ld xfail:0 xpass:0 skip:0 error:0\n",
	       n_cases + n_rd - n_mism, n_mism);
	return n_mism || !n_cases ? KSFT_FAIL : KSFT_PASS;
}
