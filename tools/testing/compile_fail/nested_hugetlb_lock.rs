// expect: E0500
// A hugetlb entry cannot be locked again while locked.
fn f(entry: &mut HugetlbEntry<'_, ReadOnly>) {
    entry.with_lock(|_l| entry.with_lock(|_m| ()));
}
