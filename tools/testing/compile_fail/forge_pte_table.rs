// expect: E0624
// A PTE table guard cannot be made up outside the kernel crate.
fn f(vma: &VmaRef) {
    let _t = unsafe {
        PteTable::<Classes, ReadOnly>::new(
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            vma,
            0,
            4096,
        )
    };
}
