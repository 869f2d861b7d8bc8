// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include "pmscan.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* Until pm_init(): the sizes of x86_64. */
unsigned long pm_page_size = 4096;
unsigned long pm_pmd_size = SZ_2M;
unsigned long pm_pud_size = SZ_1G;
static int pm_self_fd = -1;

#define SYSFS_IMPL "/sys/kernel/mm/pagemap_scan/impl"
#define SYSFS_CALLS "/sys/kernel/mm/pagemap_scan/rust_calls"

#define PMD_SIZE_FILE "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"

/*
 * The page size from sysconf(); the PMD size as upstream's selftests read it
 * (vm_util.c: read_pmd_pagesize()), else what a PMD maps with 8-byte
 * entries; the PUD size likewise: a table holds page_size / 8 entries.
 */
void pm_init(void)
{
	long pmd;

	pm_page_size = sysconf(_SC_PAGESIZE);
	pmd = sysfs_read_long(PMD_SIZE_FILE);
	pm_pmd_size = pmd > 0 ? (unsigned long)pmd : pm_page_size * (pm_page_size / 8);
	pm_pud_size = pm_pmd_size * (pm_page_size / 8);
}

int pm_fd(void)
{
	if (pm_self_fd < 0)
		pm_self_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return pm_self_fd;
}

int pm_open_pid(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

struct pm_res pm_ioctl_arg(int fd, struct pm_scan_arg *arg)
{
	struct pm_res r;

	errno = 0;
	r.ret = ioctl(fd, PAGEMAP_SCAN, arg);
	r.err = r.ret < 0 ? errno : 0;
	r.walk_end = arg->walk_end;
	return r;
}

struct pm_res pm_scan(int fd, uint64_t start, uint64_t end,
		      struct page_region *vec, uint64_t vec_len,
		      uint64_t flags, uint64_t max_pages, uint64_t inverted,
		      uint64_t mask, uint64_t anyof, uint64_t ret_mask)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = start,
		.end = end,
		.vec = (uint64_t)(uintptr_t)vec,
		.vec_len = vec_len,
		.max_pages = max_pages,
		.category_inverted = inverted,
		.category_mask = mask,
		.category_anyof_mask = anyof,
		.return_mask = ret_mask,
	};

	return pm_ioctl_arg(fd, &arg);
}

int uffd_open(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int uffd_register_wp(int uffd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

int uffd_unregister(int uffd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	return ioctl(uffd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

int uffd_wp(int uffd, void *addr, size_t len, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

void *map_aligned(size_t len, size_t align, int prot, int flags, int fd,
		  off_t off)
{
	size_t span = len + align;
	char *res, *p;

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	p = (char *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	if (p > res)
		munmap(res, p - res);
	if (res + span > p + len)
		munmap(p + len, res + span - (p + len));
	if (mmap(p, len, prot, flags | MAP_FIXED, fd, off) == MAP_FAILED) {
		munmap(p, len);
		return MAP_FAILED;
	}
	return p;
}

void *reserve_window(size_t len)
{
	size_t span = (len + pm_pud_size - 1) & ~(pm_pud_size - 1);

	return map_aligned(span, pm_pud_size, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

/* Whether @addr is a user address: a page can be mapped there (or is). */
static bool user_addr_ok(uint64_t addr)
{
	void *p = mmap((void *)(uintptr_t)addr, PS, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return errno == EEXIST;
	munmap(p, PS);
	return p == (void *)(uintptr_t)addr;
}

/*
 * The user address space ends at 2^56 with x86's five-level paging (LA57),
 * at 2^52 or 2^48 on arm64 (VA_BITS), at 2^47 with x86's four levels: the
 * first of those whose upper half takes a mapping (a hint above 2^47 or
 * 2^48 is what lets a mapping go there).
 */
uint64_t pm_user_end(void)
{
	static const int bits[] = { 56, 52, 48, 47, 42, 39, 0 };
	static uint64_t end;

	for (int i = 0; !end && bits[i]; i++)
		if (user_addr_ok(1ULL << (bits[i] - 1)))
			end = 1ULL << bits[i];
	return end ? end : 1ULL << 39;
}

int sysfs_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

long sysfs_read_long(const char *path)
{
	char buf[64];

	if (sysfs_read_str(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

bool impl_switch_present(void)
{
	return access(SYSFS_IMPL, F_OK) == 0;
}

int impl_select(const char *name)
{
	int fd = open(SYSFS_IMPL, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, name, strlen(name));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return 0;
}

int impl_current(char *buf, size_t len)
{
	return sysfs_read_str(SYSFS_IMPL, buf, len);
}

long long rust_calls(void)
{
	char buf[64];

	if (sysfs_read_str(SYSFS_CALLS, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static struct utsname uts;

const char *kernel_release(void)
{
	if (!uts.release[0])
		uname(&uts);
	return uts.release;
}

bool kernel_is_612(void)
{
	const char *o = getenv("PMSCAN_EXPECT");

	/* PMSCAN_EXPECT=6.12 forces the 6.12 expectations on any kernel. */
	if (o && !strcmp(o, "6.12"))
		return true;
	if (o && !strcmp(o, "host"))
		return false;
	return !strncmp(kernel_release(), "6.12.", 5) ||
	       !strcmp(kernel_release(), "6.12");
}

/*
 * Facts of the tree under test: what its C answers where a stable update
 * may change the answer. tools/tree/facts.py reads them from the tree's
 * source when the payload is built; the guest exports them
 * (PMSCAN_TREE_*). Without them (a host run) the expectations fall back to
 * the kernel release, marked HOST-VARIANT where it matters.
 */
const char *tree_fact(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *tree_facts_check(void)
{
	static char why[160];
	const char *rel = tree_fact("PMSCAN_TREE_RELEASE");
	size_t n;

	if (!rel)
		return impl_switch_present() ?
			"the guest has no tree facts (PMSCAN_TREE_*, tools/tree/facts.py)" : NULL;
	n = strlen(rel);
	if (strncmp(kernel_release(), rel, n) ||
	    (kernel_release()[n] && kernel_release()[n] != '-' && kernel_release()[n] != '+')) {
		snprintf(why, sizeof(why), "tree facts of %s, but the kernel is %s",
			 rel, kernel_release());
		return why;
	}
	return NULL;
}

int tree_unknown_ioctl_errno(void)
{
	const char *v = tree_fact("PMSCAN_TREE_UNKNOWN_IOCTL");

	if (!v)
		return 0;
	if (!strcmp(v, "ENOTTY"))
		return -ENOTTY;
	if (!strcmp(v, "EINVAL"))
		return -EINVAL;
	return 1;
}

int tree_category_bits(void)
{
	const char *v = tree_fact("PMSCAN_TREE_CATEGORY_BITS");

	return v ? atoi(v) : 0;
}

/*
 * Since 7.3, fs/proc/task_mmu.c reports PAGE_IS_WRITTEN only in VMAs
 * registered for uffd-wp: present, swapped and unpopulated ptes, THPs and
 * hugetlb pages of any other VMA carry no WRITTEN bit. 6.12 reports it
 * everywhere. The tree fact decides; PMSCAN_EXPECT=6.12 or =7.3 forces one.
 */
bool kernel_written_gated(void)
{
	const char *o = getenv("PMSCAN_EXPECT");
	const char *f = tree_fact("PMSCAN_TREE_WRITTEN_GATED");

	if (o && !strcmp(o, "7.3"))
		return true;
	if (o)
		return false;
	if (f)
		return !strcmp(f, "1");
	return kernel_at_least(7, 3);
}

bool kernel_at_least(int major, int minor)
{
	int ma = 0, mi = 0;

	if (sscanf(kernel_release(), "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

bool vma_has_flag(void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false, found = false;
	uintptr_t a = (uintptr_t)addr;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= s && a < e;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			char *tok = strtok(line + 8, "\n ");

			for (; tok; tok = strtok(NULL, "\n "))
				if (!strcmp(tok, flag))
					found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

bool softdirty_supported(void)
{
	void *p = mmap(NULL, PS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool sd;

	if (p == MAP_FAILED)
		return false;
	sd = vma_has_flag(p, "sd");
	munmap(p, PS);
	return sd;
}

long hugetlb_free(unsigned long size_kb)
{
	char path[128];

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages", size_kb);
	return sysfs_read_long(path);
}

bool hugetlb_has_size(unsigned long size)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%lukB", size >> 10);
	return access(path, F_OK) == 0;
}

int map_hugetlb_flags(unsigned long size)
{
	return MAP_HUGETLB | (__builtin_ctzl(size) << MAP_HUGE_SHIFT);
}

unsigned long hugetlbfs_page_size(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf) || sf.f_type != 0x958458f6)	/* HUGETLBFS_MAGIC */
		return 0;
	return sf.f_bsize;
}

int clear_refs_softdirty(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "4", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

const char *cats_str(uint64_t c, char *buf, size_t len)
{
	static const char * const names[] = { "WPALLOWED", "WRITTEN", "FILE", "PRESENT",
					      "SWAPPED", "PFNZERO", "HUGE", "SOFT_DIRTY",
					      "GUARD", "ACCESSED" };
	size_t o = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < 64 && o < len; i++) {
		if (!(c & (1ULL << i)))
			continue;
		if (i < 10)
			o += snprintf(buf + o, len - o, "%s%s", o ? "|" : "", names[i]);
		else
			o += snprintf(buf + o, len - o, "%sbit%d", o ? "|" : "", i);
	}
	if (!c)
		snprintf(buf, len, "0");
	return buf;
}

void pr_regions(const char *prefix, const struct page_region *v, long n,
		uint64_t base)
{
	char cb[128];
	long i;

	for (i = 0; i < n; i++)
		printf("# %s[%ld] pages [%lld, %lld) %s\n", prefix, i,
		       (long long)((int64_t)(v[i].start - base) / (int64_t)PS),
		       (long long)((int64_t)(v[i].end - base) / (int64_t)PS),
		       cats_str(v[i].categories, cb, sizeof(cb)));
}

#define POISON 0xa5a5a5a5a5a5a5a5ULL

void vec_poison(struct page_region *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].start = POISON;
		v[i].end = POISON;
		v[i].categories = POISON;
	}
}

bool vec_is_poison(const struct page_region *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].start != POISON || v[i].end != POISON ||
		    v[i].categories != POISON)
			return false;
	return true;
}

bool mem_is_byte(const void *p, size_t len, unsigned char b)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != b)
			return false;
	return true;
}
