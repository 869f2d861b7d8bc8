// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading the module while a scan sleeps for as long as a user wants.
 *
 * A PAGEMAP_SCAN whose output array is a userfaultfd-missing page sleeps in
 * copy_to_user() until the fault is resolved, which only this program
 * decides. Meanwhile rmmod must fail at once (the scan pins the module, as
 * file_operations' owner does) and switching the implementation in sysfs
 * must not wait either. After the fault is resolved the scan returns its
 * regions and the module can be unloaded.
 *
 * Usage: unload_blocked MODULE_NAME (with the module loaded and selected).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define SYSFS "/sys/kernel/mm/pagemap_scan/"

static long psize;
static char *data, *vec_page;
static long scan_ret = -1;
static int scan_errno, scan_done;

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return atol(buf);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, s, strlen(s)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void *scanner(void *unused)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (unsigned long)data,
		.end = (unsigned long)data + 4 * psize,
		.vec = (unsigned long)vec_page,
		.vec_len = 4,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	int fd = open("/proc/self/pagemap", O_RDONLY);

	scan_ret = ioctl(fd, PAGEMAP_SCAN, &arg);
	scan_errno = errno;
	__atomic_store_n(&scan_done, 1, __ATOMIC_SEQ_CST);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zp = { 0 };
	const char *mod = argc > 1 ? argv[1] : "pagemap_scan_rs";
	long calls0, r;
	double t;
	pthread_t th;
	int uffd, err;
	struct page_region *vec;

	psize = sysconf(_SC_PAGESIZE);
	printf("TAP version 13\n1..7\n");
	data = mmap(NULL, 4 * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vec_page = mmap(NULL, psize, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (data == MAP_FAILED || vec_page == MAP_FAILED || uffd < 0 ||
	    ioctl(uffd, UFFDIO_API, &api)) {
		printf("# setup: %s\n", strerror(errno));
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	memset(data, 1, psize);			/* one present page */
	reg.range.start = (unsigned long)vec_page;
	reg.range.len = psize;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		printf("# register: %s\n", strerror(errno));
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}

	calls0 = read_long(SYSFS "rust_calls");
	pthread_create(&th, NULL, scanner, NULL);
	/* The scan is in the module and sleeps in the fault on vec_page. */
	{
		struct pollfd p = { .fd = uffd, .events = POLLIN };

		poll(&p, 1, 10000);
		usleep(100000);
	}
	check(read_long(SYSFS "rust_calls") > calls0 &&
	      !__atomic_load_n(&scan_done, __ATOMIC_SEQ_CST),
	      "a Rust scan sleeps in a userfaultfd fault on its output array");

	t = now_s();
	r = syscall(__NR_delete_module, mod, O_NONBLOCK);
	err = errno;
	printf("# rmmod while the scan sleeps: %ld (%s) after %.3fs\n", r,
	       r ? strerror(err) : "unloaded", now_s() - t);
	check(r == -1 && (err == EWOULDBLOCK || err == EBUSY) && now_s() - t < 1,
	      "rmmod fails at once while a scan runs");

	t = now_s();
	err = write_str(SYSFS "impl", "c");
	err = err ? err : write_str(SYSFS "impl", "rust");
	check(!err && now_s() - t < 1, "switching the implementation does not wait for it");

	/* Let the scan go on: resolve the fault with a zero page. */
	zp.range.start = (unsigned long)vec_page;
	zp.range.len = psize;
	check(!ioctl(uffd, UFFDIO_ZEROPAGE, &zp), "fault resolved");
	pthread_join(th, NULL);
	vec = (struct page_region *)vec_page;
	check(scan_ret == 1 && vec[0].start == (unsigned long)data &&
	      vec[0].end == (unsigned long)data + psize,
	      "the scan returns its region after the fault");
	if (scan_ret != 1)
		printf("# scan returned %ld (%s)\n", scan_ret, strerror(scan_errno));

	r = syscall(__NR_delete_module, mod, O_NONBLOCK);
	err = errno;
	check(r == 0, "rmmod succeeds once no scan runs");
	if (r)
		printf("# rmmod: %s\n", strerror(err));
	check(read_long(SYSFS "rust_calls") >= 0 && r == 0 &&
	      write_str(SYSFS "impl", "rust") == -ENODEV,
	      "the module is gone, C serves PAGEMAP_SCAN again");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail ? 1 : 0;
}
