// SPDX-License-Identifier: GPL-2.0
/*
 * A replaceable PAGEMAP_SCAN: the ioctl of /proc/PID/pagemap is served by a
 * registered handler when there is one, else by the built-in C code of
 * fs/proc/task_mmu.c (see <linux/pagemap_scan.h>).
 *
 * Readers look the handler up under SRCU and pin its module for the scan,
 * so unregistering only waits for the lookups, never for a scan (which can
 * sleep in a user fault for as long as userspace wants): a module with
 * scans in flight cannot be unloaded. A handler may serve read() of the
 * pagemap file too, under the same rules. /sys/kernel/mm/pagemap_scan/impl
 * shows the active implementation and switches back to "c" (or to the
 * handler again); rust_calls counts the ioctls the handler served,
 * rust_reads the reads.
 *
 * Lock order: pagemap_scan_handler_mutex, then the SRCU grace period
 * (synchronize_srcu() under the mutex). A scan takes neither: it runs in
 * an SRCU read section only for the lookup.
 */

#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/hugetlb.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap_scan.h>
#include <linux/pagemap_scan_compat.h>
#include <linux/pagewalk.h>
#include <linux/srcu.h>
#include <linux/sysfs.h>
#include <linux/userfaultfd_k.h>
#include <asm/tlbflush.h>
/* x86's flush_tlb_range() asks hugetlb.h for a hugetlb VMA's page size. */
#include <linux/hugetlb.h>

DEFINE_STATIC_SRCU(pagemap_scan_srcu);
static DEFINE_MUTEX(pagemap_scan_handler_mutex);
static const struct pagemap_scan_handler __rcu *pagemap_scan_handler;
/* Set by writing "c" to the sysfs file: route to C with a handler loaded. */
static bool pagemap_scan_use_c;
static atomic_long_t pagemap_scan_handler_calls = ATOMIC_LONG_INIT(0);
static atomic_long_t pagemap_scan_handler_reads = ATOMIC_LONG_INIT(0);

int pagemap_scan_register_handler(const struct pagemap_scan_handler *handler)
{
	int ret = 0;

	/* A handler in a module must name it: each scan pins it. */
	if (!handler->owner &&
	    (is_module_address((unsigned long)handler->scan) ||
	     is_module_address((unsigned long)handler->read)))
		return -EINVAL;
	mutex_lock(&pagemap_scan_handler_mutex);
	if (rcu_access_pointer(pagemap_scan_handler)) {
		ret = -EBUSY;
	} else {
		WRITE_ONCE(pagemap_scan_use_c, false);
		rcu_assign_pointer(pagemap_scan_handler, handler);
	}
	mutex_unlock(&pagemap_scan_handler_mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(pagemap_scan_register_handler);

void pagemap_scan_unregister_handler(const struct pagemap_scan_handler *handler)
{
	mutex_lock(&pagemap_scan_handler_mutex);
	if (rcu_access_pointer(pagemap_scan_handler) == handler) {
		RCU_INIT_POINTER(pagemap_scan_handler, NULL);
		/* Wait until no task reads the handler any more. */
		synchronize_srcu(&pagemap_scan_srcu);
	}
	mutex_unlock(&pagemap_scan_handler_mutex);
}
EXPORT_SYMBOL_GPL(pagemap_scan_unregister_handler);

/*
 * The active handler, with its module pinned (pagemap_scan_put() unpins it),
 * or NULL if C serves. The handler's function pointers stay valid while the
 * module is pinned, and are read here, under SRCU, into *@h.
 */
static bool pagemap_scan_get(struct pagemap_scan_handler *h)
{
	const struct pagemap_scan_handler *handler;
	bool found = false;
	int idx;

	idx = srcu_read_lock(&pagemap_scan_srcu);
	handler = srcu_dereference(pagemap_scan_handler, &pagemap_scan_srcu);
	if (handler && !READ_ONCE(pagemap_scan_use_c) &&
	    try_module_get(handler->owner)) {
		/*
		 * Only a live module serves: one whose init fails after
		 * registering is freed without waiting for its references.
		 * A handler built into the kernel has no owner.
		 */
		if (!handler->owner ||
		    READ_ONCE(handler->owner->state) == MODULE_STATE_LIVE) {
			*h = *handler;
			found = true;
		} else {
			module_put(handler->owner);
		}
	}
	srcu_read_unlock(&pagemap_scan_srcu, idx);
	/* A module on its way in or out does not serve: C does. */
	return found;
}

bool pagemap_scan_call_handler(struct mm_struct *mm, unsigned long uarg,
			       long *ret)
{
	struct pagemap_scan_handler h;

	if (!pagemap_scan_get(&h))
		return false;
	atomic_long_inc(&pagemap_scan_handler_calls);
	*ret = h.scan(mm, uarg);
	module_put(h.owner);
	return true;
}

bool pagemap_scan_call_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos, ssize_t *ret)
{
	struct pagemap_scan_handler h;

	if (!pagemap_scan_get(&h))
		return false;
	if (!h.read) {
		module_put(h.owner);
		return false;
	}
	atomic_long_inc(&pagemap_scan_handler_reads);
	*ret = h.read(file, file->private_data, buf, count, ppos);
	module_put(h.owner);
	return true;
}

#ifdef CONFIG_MODULES
/*
 * A module that goes away with its handler still registered (it failed to
 * initialize, or leaked its registration) must not leave it behind.
 */
static int pagemap_scan_module_notify(struct notifier_block *nb,
				      unsigned long action, void *data)
{
	const struct pagemap_scan_handler *handler;
	struct module *mod = data;

	if (action != MODULE_STATE_GOING)
		return NOTIFY_DONE;
	mutex_lock(&pagemap_scan_handler_mutex);
	handler = rcu_dereference_protected(pagemap_scan_handler,
					    lockdep_is_held(&pagemap_scan_handler_mutex));
	if (handler && handler->owner == mod) {
		RCU_INIT_POINTER(pagemap_scan_handler, NULL);
		synchronize_srcu(&pagemap_scan_srcu);
	}
	mutex_unlock(&pagemap_scan_handler_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block pagemap_scan_module_nb = {
	.notifier_call = pagemap_scan_module_notify,
};

static int __init pagemap_scan_module_notifier_init(void)
{
	return register_module_notifier(&pagemap_scan_module_nb);
}
core_initcall(pagemap_scan_module_notifier_init);
#endif /* CONFIG_MODULES */

#ifdef CONFIG_SYSFS
static ssize_t impl_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	const struct pagemap_scan_handler *handler;
	ssize_t len;
	int idx;

	idx = srcu_read_lock(&pagemap_scan_srcu);
	handler = srcu_dereference(pagemap_scan_handler, &pagemap_scan_srcu);
	if (handler && !READ_ONCE(pagemap_scan_use_c))
		len = sysfs_emit(buf, "%s\n", handler->name);
	else
		len = sysfs_emit(buf, "c\n");
	srcu_read_unlock(&pagemap_scan_srcu, idx);
	return len;
}

static ssize_t impl_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	const struct pagemap_scan_handler *handler;
	ssize_t ret = count;

	mutex_lock(&pagemap_scan_handler_mutex);
	handler = rcu_dereference_protected(pagemap_scan_handler,
					    lockdep_is_held(&pagemap_scan_handler_mutex));
	if (sysfs_streq(buf, "c"))
		WRITE_ONCE(pagemap_scan_use_c, true);
	else if (handler && sysfs_streq(buf, handler->name))
		WRITE_ONCE(pagemap_scan_use_c, false);
	else
		ret = -ENODEV;
	mutex_unlock(&pagemap_scan_handler_mutex);
	return ret;
}

static ssize_t rust_calls_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&pagemap_scan_handler_calls));
}

static ssize_t rust_reads_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&pagemap_scan_handler_reads));
}

static struct kobj_attribute pagemap_scan_impl_attr = __ATTR_RW(impl);
static struct kobj_attribute pagemap_scan_calls_attr = __ATTR_RO(rust_calls);
static struct kobj_attribute pagemap_scan_reads_attr = __ATTR_RO(rust_reads);

static struct attribute *pagemap_scan_attrs[] = {
	&pagemap_scan_impl_attr.attr,
	&pagemap_scan_calls_attr.attr,
	&pagemap_scan_reads_attr.attr,
	NULL,
};

static const struct attribute_group pagemap_scan_attr_group = {
	.name = "pagemap_scan",
	.attrs = pagemap_scan_attrs,
};

static int __init pagemap_scan_sysfs_init(void)
{
	return sysfs_create_group(mm_kobj, &pagemap_scan_attr_group);
}
late_initcall(pagemap_scan_sysfs_init);
#endif /* CONFIG_SYSFS */

#if IS_MODULE(CONFIG_PAGEMAP_SCAN_RUST)
/*
 * The Rust handler built as a module (pagemap_scan_rs, for development:
 * load, unload, switch) calls mm functions that modules do not get,
 * directly or through walk helpers inlined into it. Such a build exports
 * them here, to that module only: the list is the whole difference between
 * the module and the handler built into the kernel (CONFIG_PAGEMAP_SCAN_RUST
 * =y), which needs no export at all. They are kept in this one block, away
 * from their definitions, because they are not an interface of the kernel
 * but of this development build (hence a name apart from EXPORT_SYMBOL*,
 * which checkpatch wants next to a definition). Each one is listed with its
 * reason in Documentation/rust-pagemap-scan.rst.
 */
#define PAGEMAP_SCAN_RS_EXPORT(sym) EXPORT_SYMBOL_FOR_PAGEMAP_SCAN_RS(sym)

#ifdef CONFIG_RUST_INLINE_HELPERS
/*
 * What the walk helpers inlined into the module call instead of a function
 * x86 keeps from modules and of mm data.
 */
void pagemap_scan_flush_tlb_range(struct vm_area_struct *vma,
				  unsigned long start, unsigned long end)
{
	flush_tlb_range(vma, start, end);
}
EXPORT_SYMBOL_FOR_PAGEMAP_SCAN_RS(pagemap_scan_flush_tlb_range);

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
bool pagemap_scan_is_huge_zero_pmd(pmd_t pmd)
{
	return is_huge_zero_pmd(pmd);
}
EXPORT_SYMBOL_FOR_PAGEMAP_SCAN_RS(pagemap_scan_is_huge_zero_pmd);
#endif
#endif /* CONFIG_RUST_INLINE_HELPERS */

/* What the handler calls itself (the rest it reaches through vmlinux). */
PAGEMAP_SCAN_RS_EXPORT(walk_page_range);
#ifdef CONFIG_USERFAULTFD
PAGEMAP_SCAN_RS_EXPORT(userfaultfd_wp_async);
#endif
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
PAGEMAP_SCAN_RS_EXPORT(pmdp_invalidate_ad);
#endif

#ifdef CONFIG_RUST_INLINE_HELPERS
/* What the walk helpers call once inlined into the module. */
PAGEMAP_SCAN_RS_EXPORT(pte_offset_map_lock);
PAGEMAP_SCAN_RS_EXPORT(vm_normal_page);
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
PAGEMAP_SCAN_RS_EXPORT(__pmd_trans_huge_lock);
PAGEMAP_SCAN_RS_EXPORT(__split_huge_pmd);
PAGEMAP_SCAN_RS_EXPORT(vm_normal_page_pmd);
#endif
#ifdef CONFIG_USERFAULTFD
PAGEMAP_SCAN_RS_EXPORT(userfaultfd_wp_unpopulated);
#endif
#ifdef CONFIG_ARM64
/*
 * arm64 keeps these out of line, for its contiguous entries: the PTE
 * transaction of write-protection (which unfolds a contiguous-PTE block)
 * and huge_ptep_get() of every hugetlb read (which gathers the access and
 * dirty bits of a hugetlb page made of contiguous entries).
 */
PAGEMAP_SCAN_RS_EXPORT(ptep_modify_prot_start);
PAGEMAP_SCAN_RS_EXPORT(ptep_modify_prot_commit);
#ifdef CONFIG_HUGETLB_PAGE
PAGEMAP_SCAN_RS_EXPORT(huge_ptep_get);
#endif
#endif /* CONFIG_ARM64 */
#else
/* The walk helper that flushes (weak in helpers.o, so not exported there). */
PAGEMAP_SCAN_RS_EXPORT(rust_helper_flush_tlb_range);
#endif /* CONFIG_RUST_INLINE_HELPERS */
#endif /* IS_MODULE(CONFIG_PAGEMAP_SCAN_RUST) */
