// expect: E0277
// The walk modes are sealed: a third one (say, one that claims to protect
// without the notifier) cannot be made outside the kernel crate.
enum Mine {}

impl WalkMode for Mine {
    const PROTECTING: bool = true;
}
