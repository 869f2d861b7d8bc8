/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pagemap_scan selftests: ioctl wrappers, userfaultfd
 * setup, aligned mappings, the guest's C/Rust implementation switch and
 * region formatting.
 */
#ifndef PMSCAN_H
#define PMSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pm_scan_abi.h"
#include "../../tree_fixes.h"	/* tree_fixes_has() */

#define P_A PAGE_IS_WPALLOWED
#define P_W PAGE_IS_WRITTEN
#define P_F PAGE_IS_FILE
#define P_P PAGE_IS_PRESENT
#define P_S PAGE_IS_SWAPPED
#define P_Z PAGE_IS_PFNZERO
#define P_H PAGE_IS_HUGE
#define P_D PAGE_IS_SOFT_DIRTY
#define P_G PAGE_IS_GUARD		/* kernels >= 6.14 */
#define P_ACC PAGE_IS_ACCESSED	/* the 7.3 tree */

#define SZ_2M (2UL << 20)
#define SZ_1G 0x40000000UL

/*
 * The running kernel's sizes, set by pm_init(): the base page (4 KiB on
 * x86_64, 4 or 64 KiB on arm64), the PMD, which is the THP size (2 MiB
 * with 4 KiB pages, 512 MiB with 64 KiB ones), and what one PMD table
 * maps (1 GiB with 4 KiB pages; 4 TiB with 64 KiB ones, where the three
 * levels of a 48-bit address space fold the PUD into the PGD).
 */
extern unsigned long pm_page_size;
extern unsigned long pm_pmd_size;
extern unsigned long pm_pud_size;
#define PS pm_page_size
#define PMD_SZ pm_pmd_size
#define PMD_PG ((long)(pm_pmd_size / pm_page_size))	/* pages per PMD */
/*
 * A page count of a layout made for 4 KiB pages, where a PMD maps 512
 * pages, kept at the same place relative to the PMDs (and to C's bounce
 * buffer, one entry per page of a PMD) on any page size: x * PMD_PG / 512.
 */
#define PMDP(x) ((long)(x) * PMD_PG / 512)

/* Result of one PAGEMAP_SCAN ioctl. */
struct pm_res {
	long ret;		/* ioctl return value (-1 on error) */
	int err;		/* errno when ret < 0, else 0 */
	uint64_t walk_end;	/* walk_end read back from the argument */
};

void pm_init(void);			/* page, PMD and PUD sizes */
int pm_fd(void);			/* /proc/self/pagemap, opened once */
int pm_open_pid(pid_t pid);

/* Issue PAGEMAP_SCAN with a fully prepared argument (size is not touched). */
struct pm_res pm_ioctl_arg(int fd, struct pm_scan_arg *arg);

/* Convenience: build the argument from the fields and issue the ioctl. */
struct pm_res pm_scan(int fd, uint64_t start, uint64_t end,
		      struct page_region *vec, uint64_t vec_len,
		      uint64_t flags, uint64_t max_pages, uint64_t inverted,
		      uint64_t mask, uint64_t anyof, uint64_t ret_mask);

/* userfaultfd */
int uffd_open(uint64_t features);	/* fd, or -errno */
int uffd_register_wp(int uffd, void *addr, size_t len);
int uffd_unregister(int uffd, void *addr, size_t len);
int uffd_wp(int uffd, void *addr, size_t len, bool protect);

/*
 * Map len bytes at an address aligned to align (a power of two). The
 * remaining parts of the over-sized reservation are unmapped. Returns
 * MAP_FAILED on error.
 */
void *map_aligned(size_t len, size_t align, int prot, int flags, int fd,
		  off_t off);
/*
 * Reserve a fresh, never touched window (PROT_NONE) aligned to the PUD size
 * (pm_pud_size) so that no page table exists below it, not even the PMD
 * table; mappings are then placed there with MAP_FIXED.
 */
void *reserve_window(size_t len);
/* The first address past the user address space (2^47, 2^48, 2^56...). */
uint64_t pm_user_end(void);

/* Implementation switch (guest only). */
bool impl_switch_present(void);
int impl_select(const char *name);	/* 0 or -errno */
int impl_current(char *buf, size_t len);
long long rust_calls(void);		/* -1 when unavailable */

/* Environment and kernel properties. */
const char *env_or(const char *name, const char *def);
bool kernel_is_612(void);		/* running kernel is 6.12.x */
bool kernel_written_gated(void);	/* WRITTEN only in uffd-wp VMAs (7.3+) */
/* Facts of the tree under test, from its source (tools/tree/facts.py). */
const char *tree_fact(const char *name);	/* NULL when not given */
const char *tree_facts_check(void);	/* NULL, or why the facts cannot be used */
int tree_unknown_ioctl_errno(void);	/* -errno; 0: no facts (host); 1: unknown */
int tree_category_bits(void);		/* 0: no facts (host) */
bool kernel_at_least(int major, int minor);	/* release >= major.minor */
const char *kernel_release(void);
long sysfs_read_long(const char *path);	/* -1 on error */
int sysfs_read_str(const char *path, char *buf, size_t len);
bool vma_has_flag(void *addr, const char *flag);	/* smaps VmFlags */
/*
 * Soft-dirty tracking, as upstream's selftests find it (vm_util.c): a new
 * anonymous mapping has "sd" in its VmFlags. arm64 has no soft-dirty bit:
 * PAGE_IS_SOFT_DIRTY is then never reported.
 */
bool softdirty_supported(void);
long hugetlb_free(unsigned long size_kb);	/* -1: no such hstate */
bool hugetlb_has_size(unsigned long size);	/* hugepages-<size>kB exists */
/* mmap() flags for a hugetlb page of @size bytes (a power of two). */
int map_hugetlb_flags(unsigned long size);
/* The byte size of a hugetlbfs mount (its block size), 0 on error. */
unsigned long hugetlbfs_page_size(const char *dir);
int clear_refs_softdirty(void);

/* Formatting */
const char *cats_str(uint64_t c, char *buf, size_t len);
void pr_regions(const char *prefix, const struct page_region *v, long n,
		uint64_t base);

/* Fill / check a region vector with a recognisable pattern. */
void vec_poison(struct page_region *v, size_t n);
bool vec_is_poison(const struct page_region *v, size_t n);
bool mem_is_byte(const void *p, size_t len, unsigned char b);

/* Real accesses that fault the page in: compilers do not optimise atomics away. */
static inline void touch_write(void *p)
{
	__atomic_store_n((char *)p, 1, __ATOMIC_RELAXED);
}

static inline char touch_read(void *p)
{
	return __atomic_load_n((char *)p, __ATOMIC_RELAXED);
}

#endif /* PMSCAN_H */
