// expect: E0500
// A scheduling point cannot be reached while a PTE table lock is held.
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    pmd.with_ptes::<Classes, _>(s, e, |_table| pmd.cond_resched());
}
