/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP output shared by the hook tests: one "ok N what" / "not ok N what"
 * line per check, counted for the kselftest totals line.
 */
#ifndef PMSCAN_TAP_H
#define PMSCAN_TAP_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

static int tap_n, pass, fail;

static inline void check(int ok, const char *what)
{
	printf("%s %d %s\n", ok ? "ok" : "not ok", ++tap_n, what);
	if (ok)
		pass++;
	else
		fail++;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define PMSCAN_IMPL "/sys/kernel/mm/pagemap_scan/impl"

/* The implementation that serves PAGEMAP_SCAN now: "c" without the hook. */
static inline void read_impl(char *impl, size_t len)
{
	FILE *f = fopen(PMSCAN_IMPL, "r");

	snprintf(impl, len, "c");
	if (!f)
		return;
	if (fscanf(f, "%15s", impl) != 1)
		snprintf(impl, len, "c");
	fclose(f);
}

/* Routes PAGEMAP_SCAN to @impl; 0 on success. */
static inline int set_impl(const char *impl)
{
	FILE *f = fopen(PMSCAN_IMPL, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%s\n", impl) < 0;
	return fclose(f) || ret ? -1 : 0;
}

#endif /* PMSCAN_TAP_H */
