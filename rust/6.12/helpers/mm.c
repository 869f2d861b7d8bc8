// SPDX-License-Identifier: GPL-2.0
/*
 * 6.12 backport of upstream's rust/helpers/mm.c (the subset kernel::mm
 * uses): the reference counts of an mm_struct and its mmap lock.
 */

#include <linux/mm.h>
#include <linux/sched/mm.h>

void rust_helper_mmgrab(struct mm_struct *mm)
{
	mmgrab(mm);
}

void rust_helper_mmdrop(struct mm_struct *mm)
{
	mmdrop(mm);
}

void rust_helper_mmget(struct mm_struct *mm)
{
	mmget(mm);
}

bool rust_helper_mmget_not_zero(struct mm_struct *mm)
{
	return mmget_not_zero(mm);
}

void rust_helper_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

/* VmaRef::flags(): 6.12's vm_flags is a const member of an anonymous union. */
vm_flags_t rust_helper_vma_flags(const struct vm_area_struct *vma)
{
	return vma->vm_flags;
}
