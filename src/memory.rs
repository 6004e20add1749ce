//! How freed memory is kept: training allocates and frees the same large arrays every step;
//! a server's memory goes up with a burst of requests and should come down after it.

/// Asks the C library's `malloc` (glibc) to keep freed memory for the next step rather than
/// hand it back to the system. By default glibc returns large blocks at once, and every step
/// then pays a page fault and a page clearing per 4 KiB it allocates again, a good share of
/// the conv nets' CPU time (docs/performance.md). Memory stays bounded by the largest step's need.
/// Does nothing on other platforms. Call it once, before the work starts.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's tuning parameters; values out of range are refused
    // (it returns 0) and leave the defaults in place.
    unsafe {
        // blocks up to 32 MiB (glibc's largest) from the heap rather than their own mapping;
        // never trim the heap's top, and grow it 64 MiB at a time
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Asks `malloc` (glibc) to hand freed memory back to the system, for a server: blocks of 128
/// KiB and more (request bodies, decoded pictures) get mappings of their own, unmapped when
/// freed, and the heaps are trimmed past 1 MiB free; at most 4 heaps (one per thread by
/// default), so that freed memory is not kept in many. Without it, the memory of a burst of
/// requests stayed the process's for good. Does nothing on other platforms. Call it once,
/// before the server starts.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as in `keep_freed_memory`.
    unsafe {
        // a fixed threshold (which also turns off glibc's raising of it as blocks are freed)
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}
