// expect: build
// The positive control: the prelude and the right use of the same calls
// build, so the cases above fail for their misuse alone.
fn f(pmd: &mut PmdEntry<'_, ReadOnly>, s: usize, e: usize) {
    let _ = pmd.with_ptes::<Classes, _>(s, e, |t| t.next_run().map(|r| r.addr));
    pmd.cond_resched();
    let _ = pmd.with_huge(false, |huge| huge.info());
    pmd.split_huge();
}

fn g(entry: &mut HugetlbEntry<'_, ReadOnly>) {
    let _ = entry.with_lock(|l| l.get(false).info());
}

fn h(_lock: &MmapReadGuard<'_>, _vma: &VmaRef) {}

fn hugetlb(vma: &VmaRef) -> usize {
    vma.as_hugetlb_vma().map_or(0, |h| h.huge_page_size())
}

fn p(pmd: &mut PmdEntry<'_, Protecting>, s: usize, e: usize) {
    let _ = pmd.with_ptes::<Classes, _>(s, e, |t| t.make_uffd_wp(s, e));
    let _ = pmd.with_huge(false, |huge| huge.make_uffd_wp());
}

fn q(entry: &mut HugetlbEntry<'_, Protecting>, hole: &PteHole<'_, Protecting>) {
    let _ = entry.with_lock(|l| l.make_uffd_wp());
    let _ = hole.make_uffd_wp(0, 4096);
}

// Code generic over the mode protects through `protecting()`.
fn generic<M: WalkMode>(pmd: &mut PmdEntry<'_, M>, s: usize, e: usize) {
    let _ = pmd.with_ptes::<Classes, _>(s, e, |t| {
        if let Some(t) = t.protecting() {
            t.make_uffd_wp(s, e);
        }
    });
}
