// expect: E0599
// Nor its hugetlb entries.
fn f(entry: &mut HugetlbEntry<'_, ReadOnly>) {
    let _ = entry.with_lock(|l| l.make_uffd_wp());
}
