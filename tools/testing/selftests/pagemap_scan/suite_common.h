/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Expectation helpers for pagemap_scan_test and pagemap_scan_huge1g: run one
 * PAGEMAP_SCAN and compare return value, errno, walk_end, every returned
 * region and the untouched tail of the output vector with exact values.
 */
#ifndef SUITE_COMMON_H
#define SUITE_COMMON_H

#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include "kselftest.h"
#include "pmscan.h"

/* Expected region, in pages relative to the scan base. */
struct xr {
	long s, e;
	uint64_t c;
};

#define R(s, e, c) ((struct xr){ (s), (e), (c) })

/* Scan parameters; vec_len 0 means "the default large vector". */
struct sp {
	uint64_t flags, max_pages, inv, mask, anyof, ret;
	uint64_t vec_len;
	bool null_vec;
};

#define VL_ZERO (~0ULL)		/* really pass vec_len = 0 (vec non-NULL) */
#define RM (P_A | P_W | P_F | P_P | P_S | P_Z | P_H)	/* all but soft-dirty */
#define SPR(...) ((struct sp){ .ret = RM, __VA_ARGS__ })

/*
 * The default output vector: 8192 entries, or room for 4 PMDs of one-page
 * regions where a PMD has more pages (8192 with 64 KiB pages).
 */
extern long g_vec_cap;
#define VEC_CAP g_vec_cap
#define WE_END LONG_MIN		/* expected walk_end: the (aligned) end */
#define RET_NX (-1000)		/* expected return: number of regions */

extern struct page_region *g_vec;
extern bool t_ok;
extern bool g_is_rust;		/* the implementation under test is Rust */
extern bool g_is_612;
extern bool g_written_gated;	/* the tree reports WRITTEN in uffd-wp VMAs only */

/*
 * PAGE_IS_WRITTEN as the tree reports it for a page of a VMA that is not
 * registered for uffd-wp: 6.12 does (such a page is never write-protected),
 * 7.3 does not (the category is about uffd-wp only).
 */
#define P_WN (g_written_gated ? 0 : P_W)

#define FAILF(...) do { ksft_print_msg(__VA_ARGS__); t_ok = false; } while (0)

/*
 * Run a scan over [base + s pages, base + e pages) and check it.
 * exp_ret: RET_NX for "number of expected regions", else the value (a
 * negative value -E means ioctl() == -1 with errno E).
 */
bool chk_v(const char *what, void *base, long s, long e, struct sp sp,
	   long exp_ret, long exp_we, int nx, va_list ap);
bool chk_full(const char *what, void *base, long s, long e, struct sp sp,
	      long exp_ret, long exp_we, int nx, ...);
#define CHK(what, base, s, e, sp, nx, ...) \
	chk_full(what, base, s, e, sp, RET_NX, WE_END, nx, ##__VA_ARGS__)
#define CHKW(what, base, s, e, sp, we, nx, ...) \
	chk_full(what, base, s, e, sp, RET_NX, we, nx, ##__VA_ARGS__)

/*
 * A fresh, unmapped, table-free range of pm_pud_size (1 GiB with 4 KiB
 * pages, 4 TiB with 64 KiB ones) aligned to its size: no PMD table exists
 * for it, so neither a PTE table nor an empty PMD entry.
 */
void *window(void);
void unwindow(void *w);
void *mapf(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void test_begin(const char *name);
void test_end(void);
void test_skip(const char *why);
void suite_init(int argc, char **argv, const char *prog);
int suite_exit(void);
void suite_plan(unsigned int n);

#endif
