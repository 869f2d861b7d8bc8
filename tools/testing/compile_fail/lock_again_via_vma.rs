// expect: E0624
// uffd_wp_range() (which locks the range's page tables) is not reachable
// from a closure that holds one of them.
fn f(pmd: &mut PmdEntry<'_, Protecting>, s: usize, e: usize) {
    let Some(v) = pmd.vma().as_uffd_wp_vma() else {
        return;
    };
    pmd.with_ptes::<Classes, _>(s, e, |_t| v.uffd_wp_range(s, e - s, true));
}
