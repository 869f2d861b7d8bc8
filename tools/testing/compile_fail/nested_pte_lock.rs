// expect: E0500
// The same PTE table cannot be locked twice (a self-deadlock).
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    pmd.with_ptes::<Classes, _>(s, e, |_t| {
        pmd.with_ptes::<Classes, _>(s, e, |_u| ());
    });
}
