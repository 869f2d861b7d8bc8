// SPDX-License-Identifier: GPL-2.0
/*
 * Scan in a loop while another task loads and unloads the Rust module:
 * every PAGEMAP_SCAN must return the exact expected regions, whichever
 * implementation serves it, and the kernel must not splat.
 *
 * Usage: unload_race SECONDS THREADS
 * Prints kselftest-style TAP.
 */
#include <errno.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NPAGES 512
#define STRIDE 3

static char *buf;
static long psize;
static int pagemap;
static time_t deadline;
static atomic_long scans, bad;

static void *scanner(void *unused)
{
	struct page_region vec[NPAGES];

	while (time(NULL) < deadline) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = (unsigned long)buf,
			.end = (unsigned long)buf + NPAGES * psize,
			.vec = (unsigned long)vec,
			.vec_len = NPAGES,
			.category_mask = PAGE_IS_PRESENT,
			.return_mask = PAGE_IS_PRESENT,
		};
		long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
		long want = (NPAGES + STRIDE - 1) / STRIDE, i;
		int ok = n == want && arg.walk_end == arg.end;

		for (i = 0; ok && i < n; i++) {
			unsigned long s = (unsigned long)buf + i * STRIDE * psize;

			ok = vec[i].start == s && vec[i].end == s + psize &&
			     vec[i].categories == PAGE_IS_PRESENT;
		}
		if (!ok) {
			if (atomic_fetch_add(&bad, 1) < 5)
				fprintf(stderr,
					"# bad scan: ret %ld (%s), walk_end %llx, end %llx\n",
					n, n < 0 ? strerror(errno) : "-",
					(unsigned long long)arg.walk_end,
					(unsigned long long)arg.end);
		}
		atomic_fetch_add(&scans, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	int nthreads = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t th[16];
	int i;

	if (nthreads < 1 || nthreads > 16)
		nthreads = 2;
	psize = sysconf(_SC_PAGESIZE);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	buf = mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pagemap < 0 || buf == MAP_FAILED) {
		printf("1..1\nnot ok 1 setup: %s\n", strerror(errno));
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	/* No THP: one region per written page. */
	madvise(buf, NPAGES * psize, MADV_NOHUGEPAGE);
	for (i = 0; i < NPAGES; i += STRIDE)
		buf[i * psize] = 1;

	deadline = time(NULL) + seconds;
	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, scanner, NULL);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);

	printf("TAP version 13\n1..1\n");
	printf("%s 1 %ld scans in %d s on %d threads, %ld wrong\n",
	       bad ? "not ok" : "ok", (long)scans, seconds, nthreads, (long)bad);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       !bad && scans, bad || !scans);
	return bad || !scans;
}
