/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP output shared by the hook tests: one "ok N what" / "not ok N what"
 * line per check, counted for the kselftest totals line.
 */
#ifndef PMSCAN_TAP_H
#define PMSCAN_TAP_H

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

#endif /* PMSCAN_TAP_H */
