// expect: E0599
// The hstate of a VMA exists only for hugetlbfs: the hugetlb methods are
// on `VmaHugetlb`, which only `VmaRef::as_hugetlb_vma()` yields, not on
// every VMA a walker is lent (issue #21, item 1).
fn f(pmd: &mut PmdEntry<'_, ReadOnly>) -> usize {
    pmd.vma().huge_page_size()
}
