// expect: E0599
// Nor its holes.
fn f(hole: &PteHole<'_, ReadOnly>) {
    let _ = hole.make_uffd_wp(0, 4096);
}
