// expect: E0499
// A walker cannot hold the mmap lock guard its walk runs under, so no
// callback can start another walk over the same (locked) page tables.
struct Nested<'a, 'b> {
    lock: &'a mut MmapReadGuard<'b>,
}

#[vtable]
impl kernel::mm::pagewalk::PageWalk for Nested<'_, '_> {
    type Mode = ReadOnly;

    fn pte_hole(&mut self, s: usize, e: usize, _h: Option<&PteHole<'_, ReadOnly>>) -> WalkResult {
        let mut inner = Nested {
            lock: &mut *self.lock,
        };
        let _ = &mut inner;
        let _ = (s, e);
        Ok(core::ops::ControlFlow::Continue(()))
    }
}

fn f(lock: &mut MmapReadGuard<'_>) {
    let mut w = Nested { lock: &mut *lock };
    let _ = lock.walk_page_range(0, 4096, &mut w);
}
