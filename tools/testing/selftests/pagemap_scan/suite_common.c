// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "suite_common.h"

struct page_region *g_vec;
long g_vec_cap = 8192;
bool t_ok;
bool g_is_rust;
bool g_is_612;
bool g_written_gated;
static const char *t_name;
static bool t_skipped;
static long long calls_before = -1;
static const char *impl_req;

/* Page index of addr relative to base, for messages. */
static long long pg_of(uint64_t addr, uint64_t base)
{
	return (int64_t)(addr - base) / (int64_t)PS;
}

/* Region i of the output vector is not the expected x. */
static void pr_mismatch(const char *what, long i, uint64_t base, const struct xr *x)
{
	char b1[128], b2[128];

	ksft_print_msg("%s: %s: region %ld is [%lld,%lld) %s, expected [%ld,%ld) %s\n",
		       t_name, what, i, pg_of(g_vec[i].start, base), pg_of(g_vec[i].end, base),
		       cats_str(g_vec[i].categories, b1, sizeof(b1)),
		       x->s, x->e, cats_str(x->c, b2, sizeof(b2)));
}

bool chk_v(const char *what, void *basep, long s, long e, struct sp sp,
	   long exp_ret, long exp_we, int nx, va_list ap)
{
	uint64_t base = (uintptr_t)basep;
	uint64_t start = base + s * PS, end = base + e * PS;
	uint64_t vl = sp.vec_len == VL_ZERO ? 0 : sp.vec_len ? sp.vec_len : VEC_CAP;
	uint64_t cap = vl < VEC_CAP ? vl : VEC_CAP;
	struct xr x[64];
	struct pm_res r;
	bool ok = true;
	long i, want_ret;
	uint64_t want_we;

	if (nx > 64)
		nx = 64;
	for (i = 0; i < nx; i++)
		x[i] = va_arg(ap, struct xr);
	vec_poison(g_vec, VEC_CAP);
	r = pm_scan(pm_fd(), start, end, sp.null_vec ? NULL : g_vec, vl,
		    sp.flags, sp.max_pages, sp.inv, sp.mask, sp.anyof, sp.ret);
	want_ret = exp_ret == RET_NX ? nx : exp_ret;
	want_we = exp_we == WE_END ? ((end + PS - 1) & ~(PS - 1)) : base + exp_we * PS;

	if (want_ret >= 0 && r.ret != want_ret) {
		ksft_print_msg("%s: %s: ret %ld (errno %d), expected %ld\n",
			       t_name, what, r.ret, r.err, want_ret);
		ok = false;
	} else if (want_ret < 0 && (r.ret != -1 || r.err != -want_ret)) {
		ksft_print_msg("%s: %s: ret %ld errno %d, expected -1 errno %ld\n",
			       t_name, what, r.ret, r.err, -want_ret);
		ok = false;
	}
	if (r.walk_end != want_we) {
		ksft_print_msg("%s: %s: walk_end page %lld, expected %lld\n",
			       t_name, what,
			       (long long)((int64_t)(r.walk_end - base) / (int64_t)PS),
			       (long long)((int64_t)(want_we - base) / (int64_t)PS));
		ok = false;
	}
	if (want_ret >= 0 && r.ret >= 0) {
		for (i = 0; i < nx && i < r.ret && i < (long)cap; i++) {
			uint64_t xs = base + x[i].s * PS, xe = base + x[i].e * PS;

			if (g_vec[i].start != xs || g_vec[i].end != xe ||
			    g_vec[i].categories != x[i].c) {
				pr_mismatch(what, i, base, &x[i]);
				ok = false;
			}
		}
	}
	{
		long used = r.ret > 0 ? r.ret : 0;

		if (want_ret < 0 && exp_ret != RET_NX)
			used = nx;	/* error after partial copy-out */
		if ((uint64_t)used < cap && !vec_is_poison(g_vec + used, cap - used)) {
			ksft_print_msg("%s: %s: vector modified beyond entry %ld\n",
				       t_name, what, used);
			ok = false;
		}
	}
	if (!ok && r.ret > 0)
		pr_regions("got", g_vec,
			   r.ret < (long)cap ? (r.ret < 24 ? r.ret : 24) : (long)cap, base);
	if (!ok)
		t_ok = false;
	return ok;
}

bool chk_full(const char *what, void *base, long s, long e, struct sp sp,
	      long exp_ret, long exp_we, int nx, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, nx);
	ok = chk_v(what, base, s, e, sp, exp_ret, exp_we, nx, ap);
	va_end(ap);
	return ok;
}

void *window(void)
{
	void *w = reserve_window(pm_pud_size);

	if (w == MAP_FAILED)
		ksft_exit_fail_msg("cannot reserve an aligned range of %lu MiB: %s\n",
				   pm_pud_size >> 20, strerror(errno));
	munmap(w, pm_pud_size);
	return w;
}

void unwindow(void *w)
{
	munmap(w, pm_pud_size);
}

void *mapf(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(addr, len, prot, flags | (addr ? MAP_FIXED_NOREPLACE : 0), fd, off);

	if (p == MAP_FAILED) {
		FAILF("%s: mmap(%p, %zu) failed: %s\n", t_name, addr, len, strerror(errno));
		return NULL;
	}
	if (addr && p != addr) {
		FAILF("%s: mmap placed at %p instead of %p\n", t_name, p, addr);
		munmap(p, len);
		return NULL;
	}
	return p;
}

void test_begin(const char *name)
{
	t_name = name;
	t_ok = true;
	t_skipped = false;
}

void test_skip(const char *why)
{
	t_skipped = true;
	ksft_print_msg("%s: %s\n", t_name, why);
}

void test_end(void)
{
	if (t_skipped)
		ksft_test_result_skip("%s\n", t_name);
	else
		ksft_test_result(t_ok, "%s\n", t_name);
}

void suite_plan(unsigned int n)
{
	ksft_set_plan(n + (g_is_rust ? 1 : 0));
}

void suite_init(int argc, char **argv, const char *prog)
{
	char cur[32];
	int i;

	pm_init();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--impl") && i + 1 < argc) {
			impl_req = argv[++i];
		} else if (!strncmp(argv[i], "--impl=", 7)) {
			impl_req = argv[i] + 7;
		} else {
			fprintf(stderr, "usage: %s [--impl c|rust]\n", prog);
			exit(KSFT_FAIL);
		}
	}
	ksft_print_header();
	if (tree_facts_check())
		ksft_exit_fail_msg("%s\n", tree_facts_check());
	if (tree_fact("PMSCAN_TREE_ID"))
		ksft_print_msg("tree under test: %s\n", tree_fact("PMSCAN_TREE_ID"));
	g_is_612 = kernel_is_612();
	g_written_gated = kernel_written_gated();
	ksft_print_msg("%s on kernel %s, expectations: %s, WRITTEN %s\n", prog,
		       kernel_release(), g_is_612 ? "6.12" : "host variant where marked",
		       g_written_gated ? "in uffd-wp VMAs only (7.3)" : "in every VMA");
	if (impl_req) {
		int r;

		if (!impl_switch_present())
			ksft_exit_fail_msg("--impl %s requested but %s is missing\n",
					   impl_req, "/sys/kernel/mm/pagemap_scan/impl");
		r = impl_select(impl_req);
		if (r)
			ksft_exit_fail_msg("selecting implementation '%s' failed: %s\n",
					   impl_req, strerror(-r));
	}
	if (impl_switch_present()) {
		if (impl_current(cur, sizeof(cur)))
			ksft_exit_fail_msg("cannot read the implementation switch\n");
		g_is_rust = !strcmp(cur, "rust");
		calls_before = rust_calls();
		ksft_print_msg("implementation under test: %s (rust_calls=%lld)\n",
			       cur, calls_before);
	} else {
		ksft_print_msg("implementation under test: built-in C (no switch)\n");
	}
	if (g_vec_cap < 4 * PMD_PG)
		g_vec_cap = 4 * PMD_PG;
	ksft_print_msg("page size %lu KiB, PMD %lu KiB, PUD %lu MiB, soft-dirty %s\n",
		       PS >> 10, PMD_SZ >> 10, pm_pud_size >> 20,
		       softdirty_supported() ? "yes" : "no (PAGE_IS_SOFT_DIRTY never reported)");
	g_vec = mmap(NULL, (VEC_CAP + 1) * sizeof(*g_vec) + PS, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (g_vec == MAP_FAILED)
		ksft_exit_fail_msg("vector allocation failed\n");
	if (pm_fd() < 0)
		ksft_exit_fail_msg("open /proc/self/pagemap: %s\n", strerror(errno));
}

/* Appends the "served by Rust" check when Rust is under test. */
int suite_exit(void)
{
	if (g_is_rust) {
		long long now = rust_calls();

		test_begin("rust_handler_served_the_calls");
		if (now <= calls_before)
			FAILF("rust_calls did not increase (%lld -> %lld)\n", calls_before, now);
		else
			ksft_print_msg("rust_calls %lld -> %lld\n", calls_before, now);
		test_end();
	}
	ksft_print_cnts();
	if (ksft_get_fail_cnt() || ksft_get_xskip_cnt() || ksft_get_error_cnt() ||
	    ksft_get_pass_cnt() == 0)
		return KSFT_FAIL;
	return KSFT_PASS;
}
