// expect: E0502
// The same for a hugetlb entry: its VMA is not reachable under its locks
// (where taking the mmap lock would invert mmap_lock -> i_mmap_rwsem).
fn f(entry: &mut HugetlbEntry<'_, ReadOnly>) {
    let v = entry.vma();
    entry.with_lock(|_l| v.start());
}
