// expect: E0599
// Nor its huge PMDs.
fn f(pmd: &mut PmdEntry<'_, ReadOnly>) {
    let _ = pmd.with_huge(false, |huge| huge.make_uffd_wp());
}
