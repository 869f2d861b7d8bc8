// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap_scan_badinput: malformed PAGEMAP_SCAN arguments.
 *
 * Each table row modifies a valid request (WP_MATCHING over a 16-page
 * uffd-wp async anon region whose pages are all written) and states what the
 * 6.12 C code (fs/proc/task_mmu.c: do_pagemap_cmd, do_pagemap_scan,
 * pagemap_scan_get_args, ..._flush_buffer, ..._writeback_args) returns:
 *
 *   - validation failures (copy_from_user, size, flags, masks, alignment,
 *     access_ok) return before anything is walked: the argument, the output
 *     vector, the target memory and its write-protection are all unchanged;
 *   - walk failures (CHECK_WPASYNC -> EPERM) and copy-out failures (vec not
 *     writable -> EFAULT at flush, argument not writable -> EFAULT at the
 *     walk_end write-back) happen after the walk: pages matched so far ARE
 *     write-protected and walk_end IS written back. The table states exactly
 *     which, and the program checks it.
 *
 * Where C's answer is not the module's to give, the expectation follows
 * the tree under test (tools/tree/facts.py reads it from the tree's
 * source): an ioctl command that do_pagemap_cmd() does not know never
 * reaches a handler, and its errno changed within 6.12 (EINVAL up to
 * 6.12.117, ENOTTY since 6.12.118); the first category bit that is not
 * valid is the number of PAGE_IS_* bits of the tree's uapi.
 *
 * Tagged addresses: on x86_64 without LAM a tag makes an address
 * non-canonical (EFAULT); arm64 ignores the top byte of a user address
 * (TBI), and PAGEMAP_SCAN untags start, end and vec (untagged_addr()), so
 * there a tag gives the answer of the untagged address. A tagged argument
 * pointer is refused on both (arm64: without PR_SET_TAGGED_ADDR_CTRL).
 *
 * One TAP line per row.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "kselftest.h"
#include "pmscan.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "the tagged-address rows know x86_64 (LAM) and arm64 (TBI) only"
#endif

#define NPG 16
#define KADDR 0xffff888000000000ULL		/* kernel memory (x86: the direct map) */

enum vec_exp { V_POISON, V_ONE_REGION, V_ANY };
enum arg_exp { A_UNCHANGED, A_WALK_END, A_ANY };

struct ctx {
	struct pm_scan_arg arg;	/* the request, prepared then possibly moved */
	void *argp;		/* pointer passed to ioctl() */
	unsigned long cmd;
	int fd;
	bool reg_check;		/* compare *argp before/after */
	uint64_t exp_walk_end;	/* for A_WALK_END */
	struct page_region *vec_check;	/* vector whose content is checked */
	size_t vec_check_len;
	const char *note;
};

/* Expected: the tree's errno for an ioctl command it does not know. */
#define EXP_UNKNOWN_CMD (-100000L)

struct bcase {
	const char *name;
	void (*setup)(struct ctx *c);
	long exp;		/* >= 0: return value; < 0: -errno; EXP_UNKNOWN_CMD */
	bool wp;		/* all target pages write-protected afterwards */
	enum vec_exp vec;
	enum arg_exp arg;
};

static char *base;		/* target: 16 pages, uffd-wp async, written */
static char *other;		/* 4 pages, no uffd */
static struct page_region *vbuf;	/* 64 entries, followed by a guard page */
static char *unmapped;		/* a page known to be unmapped */
static char *ro_page;		/* a read-only page */
static uint64_t task_size_max;
/*
 * The first non-canonical user address: 2^47 with four paging levels, 2^56
 * with five (7.3 always builds five levels in, and QEMU offers LA57); on
 * arm64 2^48 (VA_BITS 48), past TASK_SIZE_MAX itself.
 */
static uint64_t noncanon = 1ULL << 47;
#define NONCANON noncanon
static int uffd;

static uint64_t B(long pg) { return (uintptr_t)base + pg * PS; }

/* ------------------------------------------------------------ setups */
#define SETUP(nm, body) static void nm(struct ctx *c) { body; }

SETUP(s_valid, (void)c)
SETUP(s_size0, c->arg.size = 0)
SETUP(s_size8, c->arg.size = 8)
SETUP(s_size95, c->arg.size = sizeof(struct pm_scan_arg) - 1)
SETUP(s_size97, c->arg.size = sizeof(struct pm_scan_arg) + 1)
SETUP(s_size192, c->arg.size = 2 * sizeof(struct pm_scan_arg))
SETUP(s_sizemax, c->arg.size = ~0ULL)
SETUP(s_flag2, c->arg.flags |= 1 << 2)
SETUP(s_flag63, c->arg.flags |= 1ULL << 63)
/*
 * The "bit 8" rows use the first category bit the tree does not define
 * (the tree fact PMSCAN_TREE_CATEGORY_BITS: 8 on 6.12, 10 on 7.3, where
 * bits 8 and 9 are PAGE_IS_GUARD and PAGE_IS_ACCESSED), the "bit 9" rows
 * the next one. Without tree facts (host) it comes from the release:
 * bit 9 from 6.14 (GUARD), bit 10 from 7.3, HOST-VARIANT.
 */
static int unk_bit = 8;
SETUP(s_inv8, c->arg.category_inverted = 1ULL << unk_bit)
SETUP(s_mask8, c->arg.category_mask |= 1ULL << unk_bit)
SETUP(s_anyof8, c->arg.category_anyof_mask = 1ULL << unk_bit)
SETUP(s_ret8, c->arg.return_mask |= 1ULL << unk_bit)
SETUP(s_inv9, c->arg.category_inverted = 1ULL << (unk_bit + 1))
SETUP(s_mask9, c->arg.category_mask |= 1ULL << (unk_bit + 1))
SETUP(s_anyof9, c->arg.category_anyof_mask = 1ULL << (unk_bit + 1))
SETUP(s_ret9, c->arg.return_mask |= 1ULL << (unk_bit + 1))
SETUP(s_inv63, c->arg.category_inverted = 1ULL << 63)
SETUP(s_mask63, c->arg.category_mask |= 1ULL << 63)
SETUP(s_anyof63, c->arg.category_anyof_mask = 1ULL << 63)
SETUP(s_ret63, c->arg.return_mask |= 1ULL << 63)
SETUP(s_start_unaligned, c->arg.start += 1)
SETUP(s_start_unaligned_end_below, { c->arg.start += 1; c->arg.end = B(0) - PS; })
SETUP(s_end_below, c->arg.end = B(0) - PS)
SETUP(s_end_below_unaligned, c->arg.end = B(0) - 1)
SETUP(s_end_tsm, { c->arg.end = task_size_max; c->exp_walk_end = task_size_max; })
SETUP(s_end_tsm1, c->arg.end = task_size_max + 1)
SETUP(s_end_noncanon, c->arg.end = NONCANON + PS)
SETUP(s_end_kernel, c->arg.end = KADDR)
SETUP(s_end_max, c->arg.end = ~0ULL)
SETUP(s_start_kernel, { c->arg.start = KADDR; c->arg.end = KADDR + PS; })
SETUP(s_start_tsm_empty, { c->arg.start = task_size_max; c->arg.end = task_size_max;
			   c->exp_walk_end = task_size_max; })
SETUP(s_start_end_zero, { c->arg.start = 0; c->arg.end = 0; c->exp_walk_end = 0; })
SETUP(s_empty, { c->arg.end = c->arg.start; c->exp_walk_end = c->arg.start; })
SETUP(s_end_unaligned, { c->arg.end = B(NPG - 1) + 1; })
SETUP(s_vec_null_len, c->arg.vec = 0)
SETUP(s_vec_null_len0, { c->arg.vec = 0; c->arg.vec_len = 0; })
SETUP(s_vec_unmapped, c->arg.vec = (uintptr_t)unmapped)
SETUP(s_vec_unmapped_nomatch, { c->arg.vec = (uintptr_t)unmapped;
				c->arg.category_mask = P_Z; })
SETUP(s_vec_readonly, { c->arg.vec = (uintptr_t)ro_page;
			c->vec_check = (struct page_region *)ro_page; })
SETUP(s_vec_kernel, c->arg.vec = KADDR)
SETUP(s_vec_kernel_len0, { c->arg.vec = KADDR; c->arg.vec_len = 0; })
SETUP(s_vec_noncanon_len0, { c->arg.vec = NONCANON; c->arg.vec_len = 0; })
SETUP(s_vec_len_huge, c->arg.vec_len = 1ULL << 60)
SETUP(s_vec_len_max, c->arg.vec_len = ~0ULL)
SETUP(s_vec_len_fits, c->arg.vec_len = (task_size_max - (uintptr_t)vbuf) /
				       sizeof(struct page_region))
SETUP(s_vec_len_fits1, c->arg.vec_len = (task_size_max - (uintptr_t)vbuf) /
					sizeof(struct page_region) + 1)
SETUP(s_vec_straddle, { c->arg.vec = (uintptr_t)unmapped - sizeof(struct page_region) + 8;
			c->vec_check = NULL; })
SETUP(s_vec_unaligned, { c->arg.vec = (uintptr_t)vbuf + 1; c->vec_check = NULL; })
SETUP(s_arg_null, c->argp = NULL)
SETUP(s_arg_kernel, c->argp = (void *)KADDR)
SETUP(s_arg_unmapped, c->argp = unmapped)
SETUP(s_arg_noncanon, c->argp = (void *)NONCANON)
SETUP(s_arg_straddle, { char *p = unmapped - 8; c->argp = p; })
SETUP(s_arg_readonly, {
	mprotect(ro_page, PS, PROT_READ | PROT_WRITE);
	memcpy(ro_page + 64, &c->arg, sizeof(c->arg));
	mprotect(ro_page, PS, PROT_READ);
	c->argp = ro_page + 64; })
SETUP(s_tag_start, c->arg.start |= 1ULL << 62)
#ifdef __x86_64__
SETUP(s_tag_start57, c->arg.start |= 0x3fULL << 57)
#elif defined(__aarch64__)
SETUP(s_tag_start57, c->arg.start |= 0xffULL << 56)
#endif
SETUP(s_tag_end, c->arg.end |= 1ULL << 62)
SETUP(s_tag_vec, c->arg.vec |= 1ULL << 62)
SETUP(s_tag_arg, c->argp = (void *)((uintptr_t)&c->arg | (1ULL << 62)))
SETUP(s_max_pages0, c->arg.max_pages = 0)
SETUP(s_max_pages_max, c->arg.max_pages = ~0ULL)
SETUP(s_cmd_size, c->cmd = _IOC(_IOC_READ | _IOC_WRITE, 'f', 16, sizeof(struct pm_scan_arg) - 8))
SETUP(s_cmd_nr, c->cmd = _IOWR('f', 17, struct pm_scan_arg))
SETUP(s_cmd_dir, c->cmd = _IOW('f', 16, struct pm_scan_arg))
SETUP(s_check_nonuffd, { c->arg.flags = PM_SCAN_CHECK_WPASYNC | PM_SCAN_WP_MATCHING;
			 c->arg.start = (uintptr_t)other; c->arg.end = (uintptr_t)other + 4 * PS;
			 c->exp_walk_end = c->arg.end; })
SETUP(s_check_span, { c->arg.flags = PM_SCAN_CHECK_WPASYNC | PM_SCAN_WP_MATCHING;
		      c->arg.end = (uintptr_t)other + 4 * PS; c->exp_walk_end = c->arg.end; })
SETUP(s_walk_end_garbage, c->arg.walk_end = 0xdeadbeef000ULL)

static const struct bcase rows[] = {
	/*
	 * { name, setup,
	 *   exp (value or -errno), wp, vec, arg }
	 */
	{ "valid request (reference)", s_valid,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "walk_end input ignored", s_walk_end_garbage,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "size 0", s_size0,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "size 8", s_size8,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "size sizeof-1", s_size95,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "size sizeof+1", s_size97,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "size 2*sizeof", s_size192,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "size ~0", s_sizemax,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "unknown flag bit 2", s_flag2,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "unknown flag bit 63", s_flag63,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_inverted bit 8", s_inv8,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_mask bit 8", s_mask8,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_anyof_mask bit 8", s_anyof8,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "return_mask bit 8", s_ret8,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_inverted bit 9", s_inv9,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_mask bit 9", s_mask9,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_anyof_mask bit 9", s_anyof9,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "return_mask bit 9", s_ret9,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_inverted bit 63", s_inv63,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_mask bit 63", s_mask63,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "category_anyof_mask bit 63", s_anyof63,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "return_mask bit 63", s_ret63,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "start unaligned", s_start_unaligned,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "start unaligned and end < start (EINVAL first)", s_start_unaligned_end_below,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "end < start", s_end_below,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "end < start, end unaligned", s_end_below_unaligned,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "end = TASK_SIZE_MAX (accepted)", s_end_tsm,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "end = TASK_SIZE_MAX + 1", s_end_tsm1,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "end non-canonical", s_end_noncanon,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "end in kernel space", s_end_kernel,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "end = ~0", s_end_max,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "start/end in kernel space", s_start_kernel,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "start = end = TASK_SIZE_MAX", s_start_tsm_empty,
	  0,       false, V_POISON,     A_WALK_END },
	{ "start = end = 0", s_start_end_zero,
	  0,       false, V_POISON,     A_WALK_END },
	{ "start = end (empty range)", s_empty,
	  0,       false, V_POISON,     A_WALK_END },
	{ "end unaligned (rounded up)", s_end_unaligned,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "vec NULL, vec_len 8", s_vec_null_len,
	  -EINVAL, false, V_POISON,     A_UNCHANGED },
	{ "vec NULL, vec_len 0 (exclusive WP)", s_vec_null_len0,
	  0,       true,  V_POISON,     A_WALK_END },
	{ "vec unmapped", s_vec_unmapped,
	  -EFAULT, true,  V_POISON,     A_WALK_END },
	{ "vec unmapped, nothing matches", s_vec_unmapped_nomatch,
	  0,       false, V_POISON,     A_WALK_END },
	{ "vec read-only", s_vec_readonly,
	  -EFAULT, true,  V_POISON,     A_WALK_END },
	{ "vec straddles into an unmapped page", s_vec_straddle,
	  -EFAULT, true,  V_ANY,        A_WALK_END },
	{ "vec unaligned (accepted)", s_vec_unaligned,
	  1,       true,  V_ANY,        A_WALK_END },
	{ "vec kernel address", s_vec_kernel,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "vec kernel address, vec_len 0", s_vec_kernel_len0,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "vec non-canonical, vec_len 0", s_vec_noncanon_len0,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "vec_len 2^60 (size_mul saturates)", s_vec_len_huge,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "vec_len ~0", s_vec_len_max,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "vec_len up to TASK_SIZE_MAX (accepted)", s_vec_len_fits,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "vec_len one past TASK_SIZE_MAX", s_vec_len_fits1,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "arg NULL", s_arg_null,
	  -EFAULT, false, V_POISON,     A_ANY },
	{ "arg kernel address", s_arg_kernel,
	  -EFAULT, false, V_POISON,     A_ANY },
	{ "arg unmapped", s_arg_unmapped,
	  -EFAULT, false, V_POISON,     A_ANY },
	{ "arg non-canonical", s_arg_noncanon,
	  -EFAULT, false, V_POISON,     A_ANY },
	{ "arg straddles into an unmapped page", s_arg_straddle,
	  -EFAULT, false, V_POISON,     A_ANY },
	{ "arg read-only (walk_end write-back fails)", s_arg_readonly,
	  -EFAULT, true,  V_ONE_REGION, A_UNCHANGED },
#ifdef __x86_64__
	{ "tagged start (bit 62, no LAM)", s_tag_start,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "tagged start (LAM_U57 bits, no LAM)", s_tag_start57,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "tagged end (bit 62, no LAM)", s_tag_end,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "tagged vec (bit 62, no LAM)", s_tag_vec,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
#elif defined(__aarch64__)
	/* TBI: the answer of the untagged request (the reference row). */
	{ "tagged start (bit 62, TBI: as untagged)", s_tag_start,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "tagged start (top byte 0xff, TBI: as untagged)", s_tag_start57,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "tagged end (bit 62, TBI: as untagged)", s_tag_end,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "tagged vec (bit 62, TBI: as untagged)", s_tag_vec,
	  1,       true,  V_ONE_REGION, A_WALK_END },
#endif
	{ "tagged arg pointer (bit 62)", s_tag_arg,
	  -EFAULT, false, V_POISON,     A_UNCHANGED },
	{ "max_pages 0 (= unlimited)", s_max_pages0,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "max_pages ~0", s_max_pages_max,
	  1,       true,  V_ONE_REGION, A_WALK_END },
	{ "ioctl cmd with a different size", s_cmd_size,
	  EXP_UNKNOWN_CMD, false, V_POISON,     A_UNCHANGED },
	{ "ioctl cmd nr 17", s_cmd_nr,
	  EXP_UNKNOWN_CMD, false, V_POISON,     A_UNCHANGED },
	{ "ioctl cmd _IOW instead of _IOWR", s_cmd_dir,
	  EXP_UNKNOWN_CMD, false, V_POISON,     A_UNCHANGED },
	{ "CHECK_WPASYNC on a non-uffd VMA", s_check_nonuffd,
	  -EPERM,  false, V_POISON,     A_WALK_END },
	{ "CHECK_WPASYNC: uffd VMA, gap, non-uffd VMA", s_check_span,
	  -EPERM,  true,  V_ONE_REGION, A_WALK_END },
};

/* ------------------------------------------------------------ checks */

/* Make every target page written (not write-protected) again. */
static void reset_target(void)
{
	for (int i = 0; i < NPG; i++)
		memset(base + i * PS, 0x40 + i, PS);
	memset(other, 0x33, 4 * PS);
}

static bool target_content_ok(void)
{
	for (int i = 0; i < NPG; i++)
		if (!mem_is_byte(base + i * PS, PS, 0x40 + i))
			return false;
	return mem_is_byte(other, 4 * PS, 0x33);
}

/* Number of write-protected target pages, -1 on error. */
static long wp_pages(void)
{
	struct page_region v[NPG];
	struct pm_res r = pm_scan(pm_fd(), B(0), B(NPG), v, NPG, 0, 0, P_W, P_W, 0, P_W);
	long n = 0;

	if (r.ret < 0)
		return -1;
	for (long i = 0; i < r.ret; i++)
		n += (v[i].end - v[i].start) / PS;
	return n;
}

/*
 * The tree's answer to an unknown ioctl command. A host run has no tree
 * facts: there either answer of the kernels this was tried on (EINVAL,
 * ENOTTY) is taken, HOST-VARIANT.
 */
static long unknown_cmd_exp(int err)
{
	int e = tree_unknown_ioctl_errno();

	if (e < 0)
		return e;
	if (e > 0)
		ksft_exit_fail_msg("PMSCAN_TREE_UNKNOWN_IOCTL=%s: unknown errno\n",
				   tree_fact("PMSCAN_TREE_UNKNOWN_IOCTL"));
	return err == ENOTTY ? -ENOTTY : -EINVAL;
}

static bool run_case(const struct bcase *bc, int idx)
{
	struct ctx c = { 0 };
	struct pm_scan_arg before;
	long ret, wp, exp;
	int err;
	bool ok = true;
	char what[256] = "";
	size_t wl = 0;

#define BAD(...) \
	do { ok = false; wl += snprintf(what + wl, sizeof(what) - wl, __VA_ARGS__); } while (0)

	reset_target();
	if (wp_pages() != 0)
		ksft_exit_fail_msg("target not reset before case %d\n", idx);
	c.arg = (struct pm_scan_arg){
		.size = sizeof(struct pm_scan_arg),
		.flags = PM_SCAN_WP_MATCHING,
		.start = B(0),
		.end = B(NPG),
		.vec = (uintptr_t)vbuf,
		.vec_len = 8,
		.category_mask = P_W,
		.return_mask = P_W,
	};
	c.argp = &c.arg;
	c.cmd = PAGEMAP_SCAN;
	c.fd = pm_fd();
	c.exp_walk_end = B(NPG);
	c.vec_check = vbuf;
	c.vec_check_len = 64;
	vec_poison(vbuf, 64);
	mprotect(ro_page, PS, PROT_READ | PROT_WRITE);
	memset(ro_page, 0xa5, PS);
	mprotect(ro_page, PS, PROT_READ);
	bc->setup(&c);
	if (c.argp == (void *)ro_page + 64)
		c.vec_check = vbuf;
	before = c.arg;
	if (c.argp == (void *)ro_page + 64)
		memcpy(&before, ro_page + 64, sizeof(before));

	errno = 0;
	ret = ioctl(c.fd, c.cmd, c.argp);
	err = ret < 0 ? errno : 0;
	exp = bc->exp == EXP_UNKNOWN_CMD ? unknown_cmd_exp(err) : bc->exp;

	if (exp >= 0 && ret != exp)
		BAD("ret %ld errno %d (%s), expected %ld; ", ret, err, strerror(err), exp);
	if (exp < 0 && (ret != -1 || err != -exp))
		BAD("ret %ld errno %d (%s), expected errno %ld (%s); ", ret, err, strerror(err),
		    -exp, strerror(-exp));

	/* Argument structure. */
	if (bc->arg == A_UNCHANGED && c.argp == &c.arg && memcmp(&before, &c.arg, sizeof(before)))
		BAD("argument modified; ");
	if (bc->arg == A_UNCHANGED && c.argp == (void *)ro_page + 64 &&
	    memcmp(&before, ro_page + 64, sizeof(before)))
		BAD("read-only argument modified; ");
	if (bc->arg == A_WALK_END) {
		struct pm_scan_arg exp = before;

		exp.walk_end = c.exp_walk_end;
		if (memcmp(&exp, &c.arg, sizeof(exp)))
			BAD("argument: walk_end %#llx (expected %#llx) or another field changed; ",
			    (unsigned long long)c.arg.walk_end, (unsigned long long)c.exp_walk_end);
	}

	/* Output vector. */
	if (c.vec_check && bc->vec == V_POISON &&
	    !vec_is_poison(c.vec_check, c.vec_check == vbuf ? 64 : PS / sizeof(*vbuf)))
		BAD("output vector modified; ");
	if (c.vec_check && bc->vec == V_ONE_REGION &&
	    (c.vec_check[0].start != B(0) || c.vec_check[0].end != B(NPG) ||
	     c.vec_check[0].categories != P_W || !vec_is_poison(c.vec_check + 1, 63)))
		BAD("output vector is not exactly [0,16) WRITTEN; ");
	if (!strcmp(bc->name, "vec unaligned (accepted)")) {
		struct page_region got;

		memcpy(&got, (char *)vbuf + 1, sizeof(got));
		if (got.start != B(0) || got.end != B(NPG) || got.categories != P_W)
			BAD("unaligned vector content wrong; ");
	}

	/* Target memory and its write-protection. */
	if (!target_content_ok())
		BAD("target memory changed; ");
	wp = wp_pages();
	if (bc->wp && wp != NPG)
		BAD("%ld pages write-protected, expected all %d; ", wp, NPG);
	if (!bc->wp && wp != 0)
		BAD("%ld pages write-protected, expected none; ", wp);
	if (!strcmp(bc->name, "CHECK_WPASYNC on a non-uffd VMA") ||
	    !strcmp(bc->name, "CHECK_WPASYNC: uffd VMA, gap, non-uffd VMA")) {
		/* The non-uffd VMA is never touched. */
		struct page_region v[2];
		struct pm_res r = pm_scan(pm_fd(), (uintptr_t)other, (uintptr_t)other + 4 * PS,
					  v, 2, 0, 0, 0, 0, 0, P_W | P_P | P_A);

		/* 7.3 reports WRITTEN only in uffd-wp VMAs. */
		uint64_t want = kernel_written_gated() ? P_P : P_W | P_P;

		if (r.ret != 1 || v[0].categories != want)
			BAD("non-uffd VMA state changed; ");
	}

	if (ok)
		ksft_test_result_pass("%s -> %s\n", bc->name,
				      exp < 0 ? strerror(-exp) : "success");
	else
		ksft_test_result_fail("%s: %s\n", bc->name, what);
	return ok;
}

/* The target process is gone: mmget_not_zero() fails before anything else. */
static void case_exited(void)
{
	int p[2], fd, status;
	pid_t pid;
	char ch;
	long ret;
	int err;

	if (pipe(p))
		ksft_exit_fail_msg("pipe\n");
	pid = fork();
	if (pid == 0) {
		/* Live until the parent has opened our pagemap. */
		close(p[1]);
		if (read(p[0], &ch, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	fd = pm_open_pid(pid);
	close(p[1]);		/* EOF: the child exits */
	waitpid(pid, &status, 0);
	errno = 0;
	ret = ioctl(fd, PAGEMAP_SCAN, NULL);
	err = errno;
	ksft_test_result(fd >= 0 && ret == -1 && err == ESRCH,
			 "target process exited (even with arg NULL) -> %s (got %ld/%s)\n",
			 strerror(ESRCH), ret, strerror(err));
	if (fd >= 0)
		close(fd);
}

/*
 * TASK_SIZE_MAX, the limit of access_ok(): x86_64 keeps the last page below
 * 2^47 (2^56 with five-level paging) out of it, arm64 has 2^VA_BITS.
 */
static uint64_t detect_task_size_max(void)
{
#ifdef __x86_64__
	return pm_user_end() - PS;
#elif defined(__aarch64__)
	return pm_user_end();
#endif
}

int main(int argc, char **argv)
{
	long long calls0 = -1;
	bool rust = false;
	char cur[32];
	unsigned int i;

	pm_init();
	ksft_print_header();
	for (i = 1; i < (unsigned int)argc; i++) {
		const char *impl = NULL;

		if (!strcmp(argv[i], "--impl") && i + 1 < (unsigned int)argc)
			impl = argv[++i];
		else if (!strncmp(argv[i], "--impl=", 7))
			impl = argv[i] + 7;
		else
			ksft_exit_fail_msg("usage: %s [--impl c|rust]\n", argv[0]);
		if (!impl_switch_present())
			ksft_exit_fail_msg("--impl given but no implementation switch\n");
		if (impl_select(impl))
			ksft_exit_fail_msg("cannot select implementation %s\n", impl);
	}
	if (impl_switch_present() && !impl_current(cur, sizeof(cur))) {
		rust = !strcmp(cur, "rust");
		calls0 = rust_calls();
		ksft_print_msg("implementation under test: %s\n", cur);
	} else {
		ksft_print_msg("implementation under test: built-in C (no switch), kernel %s\n",
			       kernel_release());
	}
	task_size_max = detect_task_size_max();
	noncanon = task_size_max + PS;
	if (tree_facts_check())
		ksft_exit_fail_msg("%s\n", tree_facts_check());
	if (tree_category_bits()) {
		unk_bit = tree_category_bits();
		ksft_print_msg("tree under test: %s; unknown ioctl commands: %s; "
			       "the 'bit 8' rows use bit %d, the first the tree does not define\n",
			       tree_fact("PMSCAN_TREE_ID"), tree_fact("PMSCAN_TREE_UNKNOWN_IOCTL"),
			       unk_bit);
	} else if (!kernel_is_612()) {
		/* PAGE_IS_ACCESSED (bit 9) on the 7.3 tree. */
		unk_bit = kernel_at_least(7, 3) ? 10 : 9;
		ksft_print_msg("HOST-VARIANT: kernel %s is not 6.12; "
			       "the 'bit 8' rows use bit %d (bit 8 is PAGE_IS_GUARD since 6.14%s)\n",
			       kernel_release(), unk_bit,
			       unk_bit == 10 ? ", bit 9 PAGE_IS_ACCESSED on 7.3" : "");
	}
	ksft_print_msg("TASK_SIZE_MAX %#llx\n", (unsigned long long)task_size_max);
	{
#ifdef __x86_64__
		/* x86 LAM: only effective after ARCH_ENABLE_TAGGED_ADDR (0x4002). */
		long r = syscall(SYS_arch_prctl, 0x4002, 6);

		ksft_print_msg("arch_prctl(ARCH_ENABLE_TAGGED_ADDR): %s; tagged pointers are %s\n",
			       r ? strerror(errno) : "enabled",
			       r ? "not untagged (expect EFAULT)" : "untagged by the kernel");
		if (!r)
			ksft_print_msg("LAM is active: the tagged rows below assume no LAM\n");
#elif defined(__aarch64__)
		/* arm64: the tagged address ABI (of pointers the kernel reads) is opt-in. */
		int r = prctl(PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0);

		ksft_print_msg("TBI: PAGEMAP_SCAN untags start, end and vec; tagged ABI %s\n",
			       r < 0 ? strerror(errno) : r & PR_TAGGED_ADDR_ENABLE ?
			       "enabled (the tagged argument pointer row assumes it is not)" :
			       "off: a tagged argument pointer faults");
#endif
	}

	uffd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	if (uffd < 0)
		ksft_exit_fail_msg("userfaultfd WP_ASYNC: %s\n", strerror(-uffd));
	/* Layout: [target 16][gap 4][other 4], all in one PMD. */
	base = map_aligned(24 * PS, PMD_SZ, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		ksft_exit_fail_msg("mmap\n");
	madvise(base, 24 * PS, MADV_NOHUGEPAGE);
	munmap(base + NPG * PS, 4 * PS);
	other = base + (NPG + 4) * PS;
	if (uffd_register_wp(uffd, base, NPG * PS))
		ksft_exit_fail_msg("uffd register\n");
	vbuf = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/*
	 * Scratch pages at a fixed address far from where mmap() places
	 * anything: [rw][unmapped][read-only][unmapped]. The holes stay holes.
	 */
	{
		char *sc = mmap((void *)0x5f0000000000ULL, 4 * PS, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (sc == MAP_FAILED)
			ksft_exit_fail_msg("scratch mmap: %s\n", strerror(errno));
		memset(sc, 0, PS);
		munmap(sc + PS, PS);
		munmap(sc + 3 * PS, PS);
		unmapped = sc + PS;
		ro_page = sc + 2 * PS;
		mprotect(ro_page, PS, PROT_READ);
	}
	if (vbuf == MAP_FAILED)
		ksft_exit_fail_msg("mmap\n");

	ksft_set_plan(ARRAY_SIZE(rows) + 1 + (rust ? 1 : 0));
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		run_case(&rows[i], i);
	case_exited();
	if (rust) {
		long long now = rust_calls();

		ksft_test_result(now > calls0, "rust handler served the calls (%lld -> %lld)\n",
				 calls0, now);
	}
	ksft_print_cnts();
	return (ksft_get_fail_cnt() || ksft_get_xskip_cnt() || ksft_get_error_cnt()) ?
		KSFT_FAIL : KSFT_PASS;
}
