// expect: E0599
// A read-only walk's PTE tables have no write-protect method: a walker
// that only looks cannot protect by mistake (issue #22, item 5).
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    let _ = pmd.with_ptes::<Classes, _>(s, e, |t| t.make_uffd_wp(s, e));
}
