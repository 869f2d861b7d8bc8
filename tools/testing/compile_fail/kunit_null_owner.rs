// expect: E0432
// The kernel crate offers no public owner with a null THIS_MODULE: a
// module could pass one to the hook's registration or use it as a file's
// owner, and be unloaded while its code runs (issue #21, item 2). The test
// walkers take the owner of the crate that declares them
// (kernel::mm_test_walkers!).
use kernel::mm::pagewalk::kunit::KernelCrate;
