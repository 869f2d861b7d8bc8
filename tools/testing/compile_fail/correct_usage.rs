// expect: build
// The positive control: the prelude and the right use of the same calls
// build, so the cases above fail for their misuse alone.
fn f(pmd: &mut PmdEntry<'_>, s: usize, e: usize) {
    let _ = pmd.with_ptes::<Classes, _>(s, e, |t| t.next_run().map(|r| r.addr));
    pmd.cond_resched();
    let _ = pmd.with_huge(false, |huge| huge.info());
    pmd.split_huge();
}

fn g(entry: &mut HugetlbEntry<'_>) {
    let _ = entry.with_lock(|l| l.get(false).info());
}

fn h(_lock: &MmapReadGuard<'_>, _vma: &VmaRef) {}

fn hugetlb(vma: &VmaRef) -> usize {
    vma.as_hugetlb_vma().map_or(0, |h| h.huge_page_size())
}
