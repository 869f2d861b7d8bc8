// expect: E0500
// The walk cannot be told to retry (or the THP split) while the huge PMD
// is locked.
fn f(pmd: &mut PmdEntry<'_, ReadOnly>) {
    pmd.with_huge(false, |_huge| pmd.split_huge());
}
