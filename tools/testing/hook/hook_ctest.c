// SPDX-License-Identifier: GPL-2.0
/*
 * The hook by itself, with the C test handler (ctest/pagemap_scan_ctest.ko,
 * which answers every scan with EOPNOTSUPP): the ioctl goes to C without a
 * handler, to the handler once it is loaded, back to C and to the handler
 * again through /sys/kernel/mm/pagemap_scan/impl, and to C after unloading;
 * the handler call counter follows. Run with no other handler loaded.
 *
 *   hook_ctest PATH/pagemap_scan_ctest.ko
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tap.h"

static int pm_fd;

/* One read-only scan of a page of the stack: 0 or -errno. */
static long scan(void)
{
	struct page_region vec[4];
	char page[1];
	unsigned long psize = sysconf(_SC_PAGESIZE);
	unsigned long start = (unsigned long)page & ~(psize - 1);
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = start,
		.end = start + psize,
		.vec = (unsigned long)vec,
		.vec_len = 4,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	long ret = ioctl(pm_fd, PAGEMAP_SCAN, &arg);

	return ret < 0 ? -errno : 0;
}

static long handler_calls(void)
{
	FILE *f = fopen("/sys/kernel/mm/pagemap_scan/rust_calls", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static int impl_is(const char *want)
{
	char impl[16];

	read_impl(impl, sizeof(impl));
	return !strcmp(impl, want);
}

int main(int argc, char **argv)
{
	long calls;
	int ko;

	printf("TAP version 13\n1..13\n");
	if (argc != 2) {
		fprintf(stderr, "usage: %s pagemap_scan_ctest.ko\n", argv[0]);
		return 2;
	}
	pm_fd = open("/proc/self/pagemap", O_RDONLY);
	ko = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0 || ko < 0) {
		perror("open");
		return 1;
	}

	check(access(PMSCAN_IMPL, F_OK) == 0, "the hook's sysfs files exist");
	check(impl_is("c") && scan() == 0, "no handler: C serves");
	calls = handler_calls();
	check(syscall(SYS_finit_module, ko, "", 0) == 0, "load the C test handler");
	check(impl_is("ctest"), "impl names the handler");
	check(scan() == -EOPNOTSUPP, "the handler serves");
	check(handler_calls() == calls + 1, "the handler call is counted");
	check(set_impl("c") == 0 && impl_is("c"), "switch to C with the handler loaded");
	check(scan() == 0 && handler_calls() == calls + 1, "C serves, not counted");
	check(set_impl("ctest") == 0 && scan() == -EOPNOTSUPP,
	      "switch back: the handler serves again");
	check(set_impl("nosuch") < 0 && errno == ENODEV, "an unknown name is refused");
	check(syscall(SYS_delete_module, "pagemap_scan_ctest", O_NONBLOCK) == 0,
	      "unload the handler");
	check(impl_is("c"), "impl is c again");
	check(scan() == 0 && handler_calls() == calls + 2, "C serves after unloading");

	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail ? 1 : 0;
}
