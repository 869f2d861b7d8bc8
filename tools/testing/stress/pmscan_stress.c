// SPDX-License-Identifier: GPL-2.0
/*
 * PAGEMAP_SCAN stress: harvest written pages of a uffd-wp async range while
 * writers write it and other threads mutate the address space, and check
 * that no write is lost.
 *
 * Lost-write check, per page p of the tracked range: writers bump
 * started[p] before and done[p] after each write. When harvest j reports p,
 * base[p] = started[p] read after j returned. A write that started after
 * that and finished before harvest k began hit a write-protected page, so
 * k must report p: if done[p] (read before k) > base[p] and k does not
 * report p, a write was lost.
 *
 * Usage: pmscan_stress SECONDS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../hook/tap.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define TOTALS_FAILED "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n"

#define TRACKED_PAGES 2048	/* 4 KiB pages: 8 MiB, four PMDs (64 KiB: 128 MiB) */
#define CHAOS_PAGES 4096	/* 16 MiB */

static long psize;
static int pagemap, uffd, memfd;
static char *tracked, *chaos;
static atomic_int stop;
static atomic_long started[TRACKED_PAGES], done[TRACKED_PAGES];
static long base[TRACKED_PAGES];
static atomic_long n_writes, n_scans, n_harvests, n_ops, n_checked, n_lost,
	n_errors;

static unsigned long rnd(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One PAGEMAP_SCAN of [start, end) on this process; regions or -errno. */
static long scan(char *start, char *end, struct page_region *vec, long vec_len,
		 unsigned long flags, unsigned long mask, unsigned long anyof,
		 unsigned long ret_mask, unsigned long max_pages)
{
	struct scan_req req = {
		.flags = flags, .mask = mask, .anyof = anyof, .ret = ret_mask,
		.max_pages = max_pages,
	};

	return pm_scan_range(pagemap, start, end, vec, vec_len, req, NULL);
}

static void *writer(void *arg)
{
	unsigned long s = (unsigned long)arg * 7919 + 1;

	while (!stop) {
		long p = rnd(&s) % TRACKED_PAGES;

		atomic_fetch_add(&started[p], 1);
		tracked[p * psize + rnd(&s) % psize] = (char)s;
		atomic_fetch_add(&done[p], 1);
		atomic_fetch_add(&n_writes, 1);
	}
	return NULL;
}

static void *harvester(void *unused)
{
	static struct page_region vec[TRACKED_PAGES];
	static long done_before[TRACKED_PAGES];
	static char reported[TRACKED_PAGES];
	long i, p, n;

	while (!stop) {
		for (p = 0; p < TRACKED_PAGES; p++)
			done_before[p] = atomic_load(&done[p]);
		memset(reported, 0, sizeof(reported));
		/* Small vec: exercises the walk_end restart loop. */
		char *start = tracked, *end = tracked + TRACKED_PAGES * psize;

		while (start < end) {
			struct scan_req req = {
				.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
			};
			unsigned long walk_end;

			n = pm_scan_range(pagemap, start, end, vec, 64, req, &walk_end);
			if (n < 0) {
				if (atomic_fetch_add(&n_errors, 1) < 5)
					fprintf(stderr, "# harvest: %s\n", strerror(-n));
				break;
			}
			for (i = 0; i < n; i++)
				for (p = (vec[i].start - (unsigned long)tracked) / psize;
				     p < (long)((vec[i].end - (unsigned long)tracked) / psize); p++)
					reported[p] = 1;
			start = (char *)walk_end;
			atomic_fetch_add(&n_scans, 1);
		}
#ifdef PMSCAN_STRESS_SELFTEST
		/* Pretend the kernel missed page 7: the check must notice. */
		reported[7] = 0;
#endif
		for (p = 0; p < TRACKED_PAGES; p++) {
			if (reported[p]) {
				base[p] = atomic_load(&started[p]);
			} else if (done_before[p] > base[p]) {
				if (atomic_fetch_add(&n_lost, 1) < 10)
					fprintf(stderr,
						"# LOST write: page %ld done %ld base %ld\n",
						p, done_before[p], base[p]);
				base[p] = atomic_load(&started[p]);
			}
		}
		atomic_fetch_add(&n_checked, TRACKED_PAGES);
		atomic_fetch_add(&n_harvests, 1);
	}
	return NULL;
}

static void *scanner(void *arg)
{
	static struct page_region vec[1024];
	unsigned long s = 12345 + (unsigned long)arg;
	long r;

	while (!stop) {
		char *base_addr = rnd(&s) & 1 ? chaos : tracked;
		long npages = base_addr == chaos ? CHAOS_PAGES : TRACKED_PAGES;
		long a = rnd(&s) % npages, b = a + 1 + rnd(&s) % (npages - a);
		unsigned long mask = rnd(&s) & 0xff, anyof = rnd(&s) & 0xff;

		if (rnd(&s) & 1)
			mask = 0;
		r = scan(base_addr + a * psize, base_addr + b * psize, vec,
			 1 + rnd(&s) % 1024, 0, mask & ~anyof, anyof, 0xff,
			 rnd(&s) % 4 ? 0 : rnd(&s) % 512);
		if (r < 0 && r != -EINTR && atomic_fetch_add(&n_errors, 1) < 5)
			fprintf(stderr, "# scan: %s\n", strerror(-r));
		atomic_fetch_add(&n_scans, 1);
	}
	return NULL;
}

static void register_wp(char *addr, long len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	ioctl(uffd, UFFDIO_REGISTER, &reg);
}

static void *mutator(void *arg)
{
	unsigned long s = 999 + (unsigned long)arg;

	while (!stop) {
		long a = rnd(&s) % CHAOS_PAGES, len = 1 + rnd(&s) % 1024;
		char *p = chaos + a * psize, *q;
		struct uffdio_range range;
		pid_t pid;

		if (a + len > CHAOS_PAGES)
			len = CHAOS_PAGES - a;
		switch (rnd(&s) % 12) {
		case 0:
			munmap(p, len * psize);
			mmap(p, len * psize, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 1:
			mprotect(p, len * psize, rnd(&s) & 1 ? PROT_READ :
				 PROT_READ | PROT_WRITE);
			break;
		case 2:
			madvise(p, len * psize, MADV_DONTNEED);
			break;
		case 3:
			madvise(p, len * psize, MADV_PAGEOUT);
			break;
		case 4:
			madvise(p, len * psize, MADV_HUGEPAGE);
			madvise(p, len * psize, MADV_COLLAPSE);
			break;
		case 5:
			/* Move a piece away and back. */
			q = mremap(p, len * psize, len * psize, MREMAP_MAYMOVE);
			if (q != MAP_FAILED && q != p)
				mremap(q, len * psize, len * psize,
				       MREMAP_MAYMOVE | MREMAP_FIXED, p);
			break;
		case 6:
			pid = fork();
			if (pid == 0)
				_exit(tracked[a % TRACKED_PAGES * psize] == 42);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			break;
		case 7:
			register_wp(p, len * psize);
			break;
		case 8:
			range.start = (unsigned long)p;
			range.len = len * psize;
			ioctl(uffd, UFFDIO_UNREGISTER, &range);
			break;
		case 9:
			/* Write-protect what can be, skip the rest. */
			scan(p, p + len * psize, NULL, 0, PM_SCAN_WP_MATCHING,
			     PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 0);
			break;
		case 10:
			/* Tracked range: zap and page out, never loses a write. */
			madvise(tracked + (rnd(&s) % TRACKED_PAGES) * psize, psize,
				rnd(&s) & 1 ? MADV_DONTNEED : MADV_PAGEOUT);
			break;
		default:
			/*
			 * Write through /proc/self/mem: the other mutator may
			 * have unmapped or write-protected the range meanwhile.
			 */
			for (long i = 0; i < len; i += 7)
				if (pwrite(memfd, "x", 1,
					   (off_t)(unsigned long)(p + i * psize)) < 0)
					break;
			break;
		}
		atomic_fetch_add(&n_ops, 1);
	}
	return NULL;
}

/* Append v in base to buf at n (async-signal-safe); the new length. */
static int put_num(char *buf, int n, unsigned long v, unsigned int base)
{
	char digits[24];
	int i = 0;

	do {
		digits[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		buf[n++] = digits[--i];
	return n;
}

static int put_str(char *buf, int n, const char *s)
{
	while (*s)
		buf[n++] = *s++;
	return n;
}

/*
 * A fatal signal: say which, and where or from whom, before dying, since a
 * signal's default action would end the process without a word (only
 * async-signal-safe calls here).
 */
static void on_fatal_signal(int sig, siginfo_t *si, void *uctx)
{
	char msg[160];
	int n = put_str(msg, 0, "not ok 1 fatal signal ");

	n = put_num(msg, n, sig, 10);
	n = put_str(msg, n, " code ");
	n = put_num(msg, n, (unsigned int)si->si_code, 10);
	if (si->si_code <= 0) {
		/* Sent by a process (kill(), tgkill(), sigqueue()). */
		n = put_str(msg, n, " from pid ");
		n = put_num(msg, n, si->si_pid, 10);
	} else {
		n = put_str(msg, n, " at 0x");
		n = put_num(msg, n, (unsigned long)si->si_addr, 16);
	}
	n = put_str(msg, n, "\n" TOTALS_FAILED);
	/* Nothing more to do if it cannot be written. */
	if (write(1, msg, n) < 0)
		_exit(128 + sig);
	_exit(128 + sig);
}

static void watchdog(int sig)
{
	printf("not ok 1 stalled: no progress for too long, giving up\n");
	printf(TOTALS_FAILED);
	fflush(stdout);
	_exit(1);
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 30;
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	pthread_t th[8];
	int i, nth = 0;
	char msg[128];

	struct sigaction sa = { .sa_sigaction = on_fatal_signal, .sa_flags = SA_SIGINFO };
	static const int fatal_signals[] = {
		SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTERM, SIGHUP,
		SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGXCPU, SIGXFSZ,
	};

	for (i = 0; i < (int)ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	psize = sysconf(_SC_PAGESIZE);
	printf("TAP version 13\n1..3\n");
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	memfd = open("/proc/self/mem", O_RDWR);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	tracked = mmap(NULL, TRACKED_PAGES * psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	chaos = mmap(NULL, CHAOS_PAGES * psize, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pagemap < 0 || memfd < 0 || uffd < 0 || tracked == MAP_FAILED ||
	    chaos == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api)) {
		printf("not ok 1 setup: %s\n", strerror(errno));
		printf(TOTALS_FAILED);
		return 1;
	}
	register_wp(tracked, TRACKED_PAGES * psize);
	register_wp(chaos, CHAOS_PAGES * psize);
	memset(tracked, 1, TRACKED_PAGES * psize);
	/* Start clean: everything write-protected, base[] = 0. */
	scan(tracked, tracked + TRACKED_PAGES * psize, NULL, 0,
	     PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN, 0,
	     PAGE_IS_WRITTEN, 0);

	signal(SIGALRM, watchdog);
	alarm(seconds + 120);
	pthread_create(&th[nth++], NULL, harvester, NULL);
	for (i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, writer, (void *)(long)i);
	pthread_create(&th[nth++], NULL, scanner, (void *)1L);
	for (i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, mutator, (void *)(long)i);
	sleep(seconds);
	stop = 1;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	alarm(0);

	printf("# %d s: %ld writes, %ld harvests, %ld scans, %ld mutations, ",
	       seconds, (long)n_writes, (long)n_harvests, (long)n_scans, (long)n_ops);
	printf("%ld page checks, %ld lost, %ld errors\n",
	       (long)n_checked, (long)n_lost, (long)n_errors);
	snprintf(msg, sizeof(msg), "no lost write (%ld page checks)", (long)n_checked);
	check(n_lost == 0, msg);
	check(n_errors == 0, "no harvest or scan error");
	check(n_harvests > 1 && n_writes > 0 && n_ops > 0, "all threads made progress");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", pass, fail);
	return fail != 0;
}
