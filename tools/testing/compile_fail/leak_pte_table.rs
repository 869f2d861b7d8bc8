// expect: E0521
// A locked PTE table cannot leave the closure it is lent to, so it cannot
// be leaked (mem::forget) with its lock held.
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    let mut keep = None;
    pmd.with_ptes::<Classes, _>(s, e, |t| keep = Some(t));
    core::mem::forget(keep);
}
