/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The list of upstream C fixes the tree under test has, shared by the hook
 * tests (hook/tap.h) and the selftest library (selftests/pagemap_scan).
 * tools/tree/facts.py reads the fixes from the tree's source when the
 * payload is built; the guest exports them as PMSCAN_TREE_C_FIXES, names
 * separated by spaces (walk_end_flush, walk_end_thp, merge_flush,
 * migration_wp; see Documentation/c-fixes.rst).
 */
#ifndef PMSCAN_TREE_FIXES_H
#define PMSCAN_TREE_FIXES_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Whether the tree's C has fix @name: C then answers as the Rust walk does. */
static inline bool tree_fixes_has(const char *name)
{
	const char *v = getenv("PMSCAN_TREE_C_FIXES");
	size_t n = strlen(name), len;

	while (v && *v) {
		len = strcspn(v, " ");
		if (len == n && !strncmp(v, name, n))
			return true;
		v += len;
		v += strspn(v, " ");
	}
	return false;
}

#endif /* PMSCAN_TREE_FIXES_H */
