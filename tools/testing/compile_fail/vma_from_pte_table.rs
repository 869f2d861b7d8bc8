// expect: E0599
// A locked PTE table lends no VMA (whose methods could take the mmap lock
// or the same page table lock while it is held).
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    let _ = pmd.with_ptes::<Classes, _>(s, e, |t| t.vma().start());
}
