// expect: E0599
// The hugetlb TLB flush is not offered on a VMA that is not hugetlb.
fn f(vma: &VmaRef) {
    vma.flush_hugetlb_tlb_range(0, 4096);
}
