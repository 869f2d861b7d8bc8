// expect: E0624
// A VMA is a `VmaUffdWp` only if `VmaRef::as_uffd_wp_vma()` found it
// registered for uffd-wp: the unchecked conversion is the kernel crate's.
fn f(vma: &VmaRef) {
    let _ = unsafe { kernel::mm::pagewalk::uffd::VmaUffdWp::from_vma_unchecked(vma) };
}
