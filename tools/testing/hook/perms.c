// SPDX-License-Identifier: GPL-2.0
/*
 * Permissions, cancellation and leaks of PAGEMAP_SCAN, on whichever
 * implementation /sys/kernel/mm/pagemap_scan/impl selects. Run as root.
 *
 *  1. an unprivileged user cannot open another user's pagemap;
 *  2. it can scan its own;
 *  3. a pagemap fd opened by root keeps working after the opener drops
 *     privileges (the check is at open time, as in C);
 *  4. a task killed in the middle of long scans dies promptly;
 *  5. many scans leave no slab memory behind (and no kmemleak report when
 *     kmemleak is there; under generic KASAN, within its quarantine).
 *
 * Usage: perms [SCANS]   (default 200000 for test 5)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static long psize;

static long scan_fd(int fd, void *start, long pages, struct page_region *vec, long vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (unsigned long)start,
		.end = (unsigned long)start + pages * psize,
		.vec = (unsigned long)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};

	return ioctl(fd, PAGEMAP_SCAN, &arg);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long proc_meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key));
	if (f)
		fclose(f);
	return v;
}

/* Run fn in a child as uid/gid 65534; its exit status is the result. */
/* Whether the kernel has generic KASAN's quarantine (its symbol). */
static bool has_kasan_quarantine(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[256];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " kasan_quarantine_put\n");
	fclose(f);
	return found;
}

static int as_nobody(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		/* Own /proc/self files again, like a process started as nobody. */
		prctl(PR_SET_DUMPABLE, 1);
		_exit(fn(arg));
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

static int open_other(void *arg)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", *(int *)arg);
	fd = open(path, O_RDONLY);
	if (fd >= 0)
		return 1;	/* must not open */
	return errno == EACCES || errno == EPERM ? 0 : 2;
}

static int scan_own(void *unused)
{
	struct page_region vec[4];
	char *buf = mmap(NULL, 4 * psize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || buf == MAP_FAILED)
		return 1;
	buf[psize] = 1;
	return scan_fd(fd, buf, 4, vec, 4) == 1 &&
	       vec[0].start == (unsigned long)buf + psize ? 0 : 1;
}

struct inherited {
	int fd;
	char *buf;
};

static int scan_inherited(void *arg)
{
	struct inherited *in = arg;
	struct page_region vec[4];

	return scan_fd(in->fd, in->buf, 4, vec, 4) == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
	long scans = argc > 1 ? atol(argv[1]) : 200000, i, slab0, slab1, bound;
	struct page_region vec[64];
	struct inherited in;
	int target_pid, status;
	pid_t target, victim;
	double t0, dt;
	char *buf;
	FILE *f;

	psize = sysconf(_SC_PAGESIZE);
	f = fopen("/sys/kernel/debug/kmemleak", "r+");
	printf("TAP version 13\n1..%d\n", f ? 6 : 5);

	/* 1: a root-owned process, probed by nobody. */
	target = fork();
	if (target == 0) {
		pause();
		_exit(0);
	}
	target_pid = target;
	check(as_nobody(open_other, &target_pid) == 0,
	      "nobody cannot open root's /proc/PID/pagemap (EACCES/EPERM)");
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);

	/* 2 */
	check(as_nobody(scan_own, NULL) == 0, "nobody scans its own pagemap");

	/* 3 */
	in.buf = mmap(NULL, 4 * psize, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	in.buf[2 * psize] = 1;
	in.fd = open("/proc/self/pagemap", O_RDONLY);
	check(in.fd >= 0 && as_nobody(scan_inherited, &in) == 0,
	      "a pagemap fd opened before dropping privileges keeps working");

	/* 4: SIGKILL a task that scans 256 MiB over and over. */
	buf = mmap(NULL, 256UL << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	victim = fork();
	if (victim == 0) {
		int fd = open("/proc/self/pagemap", O_RDONLY);

		for (;;)
			scan_fd(fd, buf, (256L << 20) / psize, vec, 64);
	}
	usleep(300000);
	t0 = now();
	kill(victim, SIGKILL);
	waitpid(victim, &status, 0);
	dt = now() - t0;
	printf("# killed scanner reaped after %.3f s\n", dt);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && dt < 5.0,
	      "a task killed while scanning dies promptly");
	munmap(buf, 256UL << 20);

	/* 5: no slab growth over many scans (bounce buffer each call). */
	buf = mmap(NULL, 1024 * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(buf, 1024 * psize, MADV_NOHUGEPAGE);
	for (i = 0; i < 1024; i += 2)
		buf[i * psize] = 1;
	for (i = 0; i < 1000; i++)	/* warm up caches */
		scan_fd(in.fd, buf, 1024, vec, 64);
	sync();
	slab0 = proc_meminfo("Slab:");
	for (i = 0; i < scans; i++)
		if (scan_fd(in.fd, buf, 1024, vec, 64) != 64)
			break;
	slab1 = proc_meminfo("Slab:");
	printf("# %ld scans, Slab %ld kB -> %ld kB\n", i, slab0, slab1);
	/*
	 * Generic KASAN (make check-debug) keeps freed objects in its
	 * quarantine, still counted in Slab, up to 1/32 of the memory: there
	 * the bound is the quarantine's, and kmemleak (test 6) is the leak
	 * check.
	 */
	bound = has_kasan_quarantine() ? proc_meminfo("MemTotal:") / 32 : 512;
	check(i == scans && slab1 - slab0 < bound, "no slab growth over many scans");

	/* 6: kmemleak, when the kernel has it (make check-debug). */
	if (f) {
		char line[256];
		int leaks = 0;

		fputs("scan", f);
		fflush(f);
		rewind(f);
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "unreferenced object"))
				leaks++;
		fclose(f);
		printf("# kmemleak: %d unreferenced objects\n", leaks);
		check(leaks == 0, "kmemleak finds no leak");
	} else {
		printf("# no kmemleak in this kernel: test 5 is the leak check\n");
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail != 0;
}
