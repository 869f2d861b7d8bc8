// expect: E0502
// A VMA taken from the PMD entry before its PTE table is locked cannot be
// used inside the closure that holds the lock: its methods include ones
// that take the mmap lock (a sleeping lock) or page table locks (issue #21,
// item 4).
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    let v = pmd.vma();
    let _ = pmd.with_ptes::<Classes, _>(s, e, |_t| v.start());
}
