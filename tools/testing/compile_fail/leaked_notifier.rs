// expect: E0624
// The protection-change notifier is only started by a protecting walk,
// which ends it: a module cannot start one and leak it.
fn f(lock: &MmapReadGuard<'_>) {
    core::mem::forget(lock.protection_change(0, 4096));
}
