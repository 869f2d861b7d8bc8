// SPDX-License-Identifier: GPL-2.0

//! Serving the `PAGEMAP_SCAN` ioctl of `/proc/PID/pagemap`, and `read()` of
//! the file, from a module.
//!
//! The C code in `fs/proc/task_mmu.c` serves the ioctl unless a handler is
//! registered here, and `read()` unless the handler serves it too
//! ([`ScanHandler::READS`]). [`Registration`] registers one and unregisters it when
//! dropped. Each scan pins the registering module, so it cannot be unloaded
//! while a scan runs (rmmod fails at once); unregistering only waits for the
//! handler lookups in flight (SRCU), never for a scan. A module that goes
//! away with its handler registered (a failed init, a leaked registration)
//! is dropped by the hook, and only a live module serves.
//!
//! The ABI (`struct pm_scan_arg`, `struct page_region`, `PAGE_IS_*`) is
//! the uapi's, from the `uapi` crate: nothing of it is copied here.
//!
//! C header: [`include/linux/pagemap_scan.h`](srctree/include/linux/pagemap_scan.h)
//! and [`include/uapi/linux/fs.h`](srctree/include/uapi/linux/fs.h)

use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    ffi::{c_long, c_ulong},
    mm::{
        pagewalk::compat::{user_ptr, AsBytes, FromBytes},
        Mm,
    },
    prelude::*,
    str::CStr,
    types::Opaque,
    uaccess::UserSlice,
    uapi,
};
use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};

/// Whether `[addr, addr + size)` is a range of user addresses
/// (`access_ok()`): it does not wrap and lies below the user address limit.
#[inline]
pub fn user_access_ok(addr: usize, size: usize) -> bool {
    // SAFETY: a pure computation on two integers.
    unsafe { bindings::access_ok(addr as _, size as _) }
}

/// `addr` without the tag bits of the current task's address space (LAM).
#[inline]
pub fn untagged_addr(addr: usize) -> usize {
    // SAFETY: a pure computation on the current task's untag mask.
    unsafe { bindings::untagged_addr(addr as _) as usize }
}

/// Whether this tree's `PAGEMAP_SCAN` reports `PAGE_IS_GUARD` and
/// `PAGE_IS_ACCESSED` and reports `PAGE_IS_WRITTEN` only in uffd-wp VMAs
/// (`CONFIG_PAGEMAP_SCAN_GUARD_RWP`, set by the hook patch of such a tree).
/// A handler must report what the tree's C code reports.
pub const GUARD_RWP: bool = cfg!(CONFIG_PAGEMAP_SCAN_GUARD_RWP);

/// `struct pm_scan_arg`, the argument of `PAGEMAP_SCAN`
/// (`include/uapi/linux/fs.h`), as the `uapi` crate binds it.
pub type PmScanArg = uapi::pm_scan_arg;

/// `struct page_region`, one output region (`include/uapi/linux/fs.h`).
pub type PageRegion = uapi::page_region;

// SAFETY: `struct pm_scan_arg` is twelve `__u64`: any bit pattern is valid,
// and there is no padding.
unsafe impl FromBytes for PmScanArg {}
// SAFETY: twelve `__u64`, no padding.
unsafe impl AsBytes for PmScanArg {}
// SAFETY: `struct page_region` is three `__u64`: any bit pattern is valid,
// and there is no padding.
unsafe impl FromBytes for PageRegion {}
// SAFETY: three `__u64`, no padding.
unsafe impl AsBytes for PageRegion {}

// The byte-copy claims above hold because every field is a `u64` and the
// sizes add up (no padding): a field added to, removed from or retyped in
// the uapi stops the build at one of these literals.
const _: PmScanArg = PmScanArg {
    size: 0u64,
    flags: 0u64,
    start: 0u64,
    end: 0u64,
    walk_end: 0u64,
    vec: 0u64,
    vec_len: 0u64,
    max_pages: 0u64,
    category_inverted: 0u64,
    category_mask: 0u64,
    category_anyof_mask: 0u64,
    return_mask: 0u64,
};
const _: PageRegion = PageRegion {
    start: 0u64,
    end: 0u64,
    categories: 0u64,
};
const _: () = assert!(core::mem::size_of::<PmScanArg>() == 12 * core::mem::size_of::<u64>());
const _: () = assert!(core::mem::size_of::<PageRegion>() == 3 * core::mem::size_of::<u64>());

/// Byte offset of `walk_end` in [`PmScanArg`].
pub const PM_SCAN_ARG_WALK_END_OFFSET: usize = core::mem::offset_of!(PmScanArg, walk_end);

/// A `PAGE_IS_*` or `PM_SCAN_*` constant of the uapi (an `unsigned int` in
/// C, bound as `u32`) as the `u64` of the fields it is used with.
const fn uapi_bit(bit: u32) -> u64 {
    // Lossless: a `u32` widened.
    bit as u64
}

/// The page is in a VMA where async uffd-wp may write-protect it.
pub const PAGE_IS_WPALLOWED: u64 = uapi_bit(uapi::PAGE_IS_WPALLOWED);
/// The page was written since it was last write-protected.
pub const PAGE_IS_WRITTEN: u64 = uapi_bit(uapi::PAGE_IS_WRITTEN);
/// The page belongs to a file (page cache, shmem).
pub const PAGE_IS_FILE: u64 = uapi_bit(uapi::PAGE_IS_FILE);
/// The page is present in memory.
pub const PAGE_IS_PRESENT: u64 = uapi_bit(uapi::PAGE_IS_PRESENT);
/// The page is swapped out.
pub const PAGE_IS_SWAPPED: u64 = uapi_bit(uapi::PAGE_IS_SWAPPED);
/// The page is the zero page.
pub const PAGE_IS_PFNZERO: u64 = uapi_bit(uapi::PAGE_IS_PFNZERO);
/// The page is part of a THP or hugetlb page.
pub const PAGE_IS_HUGE: u64 = uapi_bit(uapi::PAGE_IS_HUGE);
/// The page is soft-dirty.
pub const PAGE_IS_SOFT_DIRTY: u64 = uapi_bit(uapi::PAGE_IS_SOFT_DIRTY);
/// The entry is a guard region marker (`MADV_GUARD_INSTALL`). Its bit is
/// fixed by the uapi even where the tree does not report it.
pub const PAGE_IS_GUARD: u64 = 1 << 8;
/// The page was accessed since it was last read-write protected (uffd
/// RWP). Its bit is fixed by the uapi even where the tree does not report
/// it.
pub const PAGE_IS_ACCESSED: u64 = 1 << 9;
#[cfg(CONFIG_PAGEMAP_SCAN_GUARD_RWP)]
const _: () = assert!(
    PAGE_IS_GUARD == uapi_bit(uapi::PAGE_IS_GUARD)
        && PAGE_IS_ACCESSED == uapi_bit(uapi::PAGE_IS_ACCESSED)
);
/// Write-protect the pages that match.
pub const PM_SCAN_WP_MATCHING: u64 = uapi_bit(uapi::PM_SCAN_WP_MATCHING);
/// Abort if a VMA is not registered for async uffd-wp.
pub const PM_SCAN_CHECK_WPASYNC: u64 = uapi_bit(uapi::PM_SCAN_CHECK_WPASYNC);

/// Copies `regions` to the user array at `addr` (`EFAULT` on a fault).
pub fn copy_regions_to_user(addr: usize, regions: &[PageRegion]) -> Result {
    let len = core::mem::size_of_val(regions);
    // SAFETY: `PageRegion` is `AsBytes`: the slice's memory is `len`
    // initialised bytes without padding.
    let bytes = unsafe { core::slice::from_raw_parts(regions.as_ptr().cast::<u8>(), len) };
    UserSlice::new(user_ptr(addr), len)
        .writer()
        .write_slice(bytes)
}

/// The argument of one `PAGEMAP_SCAN` ioctl: the user address of its
/// [`PmScanArg`], which a handler can only read whole and whose `walk_end`
/// it can only write.
///
/// # Invariants
///
/// `addr` is the ioctl's argument as the user passed it (not checked: the
/// copies fail with `EFAULT` on a bad address).
#[derive(Clone, Copy)]
pub struct UserArg {
    addr: usize,
}

impl UserArg {
    /// Copies the argument in from the user (`EFAULT` on a fault).
    #[inline]
    pub fn read(self) -> Result<PmScanArg> {
        UserSlice::new(user_ptr(self.addr), core::mem::size_of::<PmScanArg>())
            .reader()
            .read()
    }

    /// Writes `walk_end` back into the user's argument (`EFAULT` on a fault).
    #[inline]
    pub fn write_walk_end(self, walk_end: u64) -> Result {
        let addr = self.addr.wrapping_add(PM_SCAN_ARG_WALK_END_OFFSET);
        UserSlice::new(user_ptr(addr), core::mem::size_of::<u64>())
            .writer()
            .write(&walk_end)
    }
}

/// Heap room for a [`RegionBuffer`]: `len` uninitialised regions from
/// `kmalloc_array()`, as C allocates its bounce buffer, freed on drop.
///
/// # Invariants
///
/// `ptr` is a `kmalloc` allocation of `len` regions (or `ZERO_SIZE_PTR` if
/// `len` is 0), aligned for them, owned by this value.
pub struct RegionRoom {
    ptr: NonNull<MaybeUninit<PageRegion>>,
    len: usize,
}

impl RegionRoom {
    /// Room for `len` regions; `ENOMEM` if it cannot be allocated. May
    /// sleep.
    pub fn new(len: usize) -> Result<Self> {
        // kmalloc aligns its objects to at least `ARCH_SLAB_MINALIGN`.
        const _: () = assert!(core::mem::align_of::<PageRegion>() <= bindings::ARCH_SLAB_MINALIGN);
        // SAFETY: no precondition but a context that may sleep (documented
        // above): it returns NULL if `len` regions do not fit in a `size_t`
        // or cannot be allocated.
        let p = unsafe { bindings::pagemap_scan_alloc_regions(len) };
        let ptr = NonNull::new(p.cast()).ok_or(ENOMEM)?;
        // INVARIANT: a fresh `kmalloc` allocation of `len` regions, aligned
        // for them as asserted above (for 0, `ZERO_SIZE_PTR`: 16, aligned
        // too).
        Ok(RegionRoom { ptr, len })
    }

    /// The room, to lend to [`RegionBuffer::in_place`].
    #[inline]
    pub fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<PageRegion>] {
        // SAFETY: `ptr` is this value's allocation of `len` regions, aligned
        // (type invariant), so a successful kmalloc of at most
        // `KMALLOC_MAX_SIZE` bytes; uninitialised memory is a valid
        // `MaybeUninit`; borrowed mutably with `self`.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for RegionRoom {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `ptr` is this value's own `kmalloc` allocation or
        // `ZERO_SIZE_PTR`, both of which `kfree` takes (type invariant),
        // freed only here; no borrow of it outlives `self`.
        unsafe { bindings::kfree(self.ptr.as_ptr().cast()) };
    }
}

/// The regions a scan found and has not copied to the user yet: room for a
/// fixed number of entries, set aside before the walk (storage the caller
/// lends: a [`RegionRoom`], or its stack for a few entries), filled as the
/// walk finds regions: no allocation, no zero-filling under the walk's
/// locks.
///
/// # Invariants
///
/// `ptr` points to room for `room` regions, valid for `'a`, of which the
/// first `len <= room` are initialised.
pub struct RegionBuffer<'a> {
    ptr: NonNull<PageRegion>,
    len: usize,
    room: usize,
    _storage: PhantomData<&'a mut [MaybeUninit<PageRegion>]>,
}

impl<'a> RegionBuffer<'a> {
    /// An empty buffer using `storage` as its room.
    #[inline]
    pub fn in_place(storage: &'a mut [MaybeUninit<PageRegion>]) -> Self {
        let room = storage.len();
        // INVARIANT: `storage` is borrowed for `'a`; nothing initialised.
        RegionBuffer {
            ptr: NonNull::from(storage).cast(),
            len: 0,
            room,
            _storage: PhantomData,
        }
    }

    /// The number of regions it can hold.
    #[inline]
    pub fn room(&self) -> usize {
        self.room
    }

    /// Appends `r`; false if the buffer is full.
    #[inline]
    pub fn push(&mut self, r: PageRegion) -> bool {
        if self.len >= self.room {
            return false;
        }
        // SAFETY: `len < room`: the slot is in the room, not initialised yet.
        unsafe { self.ptr.as_ptr().add(self.len).write(r) };
        // INVARIANT: one more entry initialised, still `len <= room`.
        self.len += 1;
        true
    }
}

impl core::ops::Deref for RegionBuffer<'_> {
    type Target = [PageRegion];

    #[inline]
    fn deref(&self) -> &[PageRegion] {
        // SAFETY: the first `len` entries at `ptr` are initialised (type
        // invariant) and borrowed with `self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl core::ops::DerefMut for RegionBuffer<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [PageRegion] {
        // SAFETY: as in `deref`, borrowed mutably with `self`.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// One `read()` of a pagemap file: the user's buffer and its length, the
/// file offset, and the credentials the file was opened with.
///
/// # Invariants
///
/// `file` is the pagemap file being read, valid for `'a`; `buf` and
/// `count` are the user's buffer and length as passed (not checked: the
/// copies fail with `EFAULT`); `pos` is the file offset of this read.
pub struct PagemapRead<'a> {
    file: *mut bindings::file,
    buf: usize,
    count: usize,
    pos: &'a mut bindings::loff_t,
}

impl PagemapRead<'_> {
    /// The number of bytes asked for.
    #[inline]
    pub fn count(&self) -> usize {
        self.count
    }

    /// The file offset the read starts at, as an unsigned number (a
    /// `loff_t` read as C's `pagemap_read()` does: `read()` refuses a
    /// negative one before a handler is called).
    #[inline]
    pub fn pos(&self) -> u64 {
        *self.pos as u64
    }

    /// Moves the file offset `n` bytes on (the bytes the read returns).
    #[inline]
    pub fn advance(&mut self, n: usize) {
        *self.pos = self.pos.wrapping_add(n as i64);
    }

    /// Whether the file was opened with `CAP_SYS_ADMIN` in the initial user
    /// namespace (`file_ns_capable()`), which physical addresses are only
    /// shown to.
    #[inline]
    pub fn opener_has_sys_admin(&self) -> bool {
        // SAFETY: `file` is valid for the read (type invariant).
        unsafe { bindings::file_opener_sys_admin(self.file) }
    }

    /// Copies the first `bytes` bytes of `entries` to the user's buffer,
    /// `offset` bytes into it (`EFAULT` on a fault; `EINVAL` if `entries`
    /// has fewer bytes, or the copy would reach past the `count()` bytes of
    /// the buffer).
    pub fn write_entries(&self, offset: usize, entries: &[u64], bytes: usize) -> Result {
        if bytes > core::mem::size_of_val(entries)
            || offset.checked_add(bytes).is_none_or(|end| end > self.count)
        {
            return Err(EINVAL);
        }
        // SAFETY: `u64` has no padding and any value is initialised bytes;
        // `bytes` is within the slice (checked above).
        let b = unsafe { core::slice::from_raw_parts(entries.as_ptr().cast::<u8>(), bytes) };
        UserSlice::new(user_ptr(self.buf.wrapping_add(offset)), bytes)
            .writer()
            .write_slice(b)
    }
}

/// An implementation of `PAGEMAP_SCAN` (and, optionally, of `read()` of the
/// pagemap file).
pub trait ScanHandler {
    /// Serves one ioctl on the pagemap file of `mm`; `arg` is the user's
    /// [`PmScanArg`]. Returns the number of regions written.
    fn scan(mm: &Mm, arg: UserArg) -> Result<usize>;

    /// Whether [`ScanHandler::read`] serves `read()` of the pagemap file;
    /// if not, the C code does.
    const READS: bool = false;

    /// Serves one `read()` of the pagemap file of `mm` (grabbed for as long
    /// as the file is open, not necessarily with users). Returns the number
    /// of bytes read, and moves the file offset on by as many.
    fn read(_mm: &Mm, _read: &mut PagemapRead<'_>) -> Result<usize> {
        Err(EINVAL)
    }
}

/// A registered [`ScanHandler`].
///
/// # Invariants
///
/// `handler` is registered with the C hook, and stays at its address until
/// `drop` unregisters it.
pub struct Registration<H: ScanHandler> {
    handler: Pin<KBox<Opaque<bindings::pagemap_scan_handler>>>,
    _h: PhantomData<H>,
}

impl<H: ScanHandler> Registration<H> {
    /// # Safety
    ///
    /// Only called by the C hook, with the pagemap file's grabbed `mm`.
    unsafe extern "C" fn scan(mm: *mut bindings::mm_struct, uarg: c_ulong) -> c_long {
        // SAFETY: the hook passes the pagemap file's mm, grabbed for as long
        // as the file is open, which outlasts the ioctl.
        let mm = unsafe { Mm::from_raw(mm) };
        // INVARIANT: the ioctl's argument, as passed.
        match H::scan(
            mm,
            UserArg {
                addr: uarg as usize,
            },
        ) {
            Ok(n) => n as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// Only called by the C hook, for a `read()` of the pagemap `file`
    /// whose grabbed mm is `mm`, with the user's buffer and length and the
    /// file offset `ppos`, valid for the call.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        mm: *mut bindings::mm_struct,
        buf: *mut crate::ffi::c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: as for `scan`.
        let mm = unsafe { Mm::from_raw(mm) };
        // SAFETY: `ppos` is valid for the call, and only this read uses it
        // (caller).
        let pos = unsafe { &mut *ppos };
        // INVARIANT: the read's file, buffer, length and offset, as passed.
        let mut read = PagemapRead {
            file,
            buf: buf as usize,
            count,
            pos,
        };
        match H::read(mm, &mut read) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// Registers `H` under `name` (shown in
    /// `/sys/kernel/mm/pagemap_scan/impl`) for `module`, which each scan
    /// pins: the module cannot be unloaded while a scan runs, however long
    /// it sleeps in a user fault, and unregistering never waits for one.
    /// Fails with `EBUSY` when another handler is registered.
    pub fn new(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
        let handler = KBox::pin(
            Opaque::new(bindings::pagemap_scan_handler {
                name: name.as_char_ptr(),
                owner: module.as_ptr(),
                scan: Some(Self::scan),
                read: if H::READS { Some(Self::read) } else { None },
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the handler is pinned in memory that lives until `drop`
        // unregisters it; `name` is static.
        crate::error::to_result(unsafe { bindings::pagemap_scan_register_handler(handler.get()) })?;
        // INVARIANT: registered above.
        Ok(Registration {
            handler,
            _h: PhantomData,
        })
    }
}

impl<H: ScanHandler> Drop for Registration<H> {
    fn drop(&mut self) {
        // SAFETY: registered by the type invariant; returns once no task
        // reads the handler any more, so the memory may go afterwards. A
        // scan still running holds a reference on the module, whose code
        // (`Self::scan`) therefore stays.
        unsafe { bindings::pagemap_scan_unregister_handler(self.handler.get()) };
    }
}

// SAFETY: the registration only holds a pointer the C side reads
// concurrently; unregistering from any thread is fine.
unsafe impl<H: ScanHandler> Send for Registration<H> {}
// SAFETY: no method takes `&self`.
unsafe impl<H: ScanHandler> Sync for Registration<H> {}
