//! A counting allocator: how many bytes the current thread holds.
//!
//! Rhai has no memory cap of its own. Every allocation and free made on a
//! thread adjusts that thread's counter; the sandbox reads it between script
//! operations (`on_progress`) and stops a script whose thread has grown past
//! its ceiling. A free of memory allocated on another thread lowers this
//! thread's count, so the figure is a net one: good enough for a ceiling,
//! since a script allocates on its own worker thread.

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc as System;
use std::cell::Cell;

/// Wraps the system allocator and counts per thread.
pub struct CountingAllocator;

thread_local! {
    static NET_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn add(delta: i64) {
    // `try_with`: during thread teardown the slot may be gone; skip then.
    let _ = NET_BYTES.try_with(|c| c.set(c.get().wrapping_add(delta)));
}

// SAFETY: every method forwards to `System` unchanged and only updates a
// thread-local integer, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as i64));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Bytes the current thread holds (net of frees) since it started.
pub fn thread_net_bytes() -> i64 {
    NET_BYTES.try_with(|c| c.get()).unwrap_or(0)
}

/// True when this binary's global allocator is the counting one (the
/// sandbox refuses to run without a memory ceiling it can enforce).
/// Probed once per process.
pub fn counting_active() -> bool {
    static ACTIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let before = thread_net_bytes();
        let probe = std::hint::black_box(vec![0u8; 4096]);
        let grew = thread_net_bytes() - before >= 4096;
        drop(probe);
        grew
    })
}

/// mimalloc's option numbers, from `mimalloc.h` of the mimalloc version the
/// `mimalloc` crate builds (v3; the crate's own constants follow v2's
/// numbering). `footprint_options_are_the_ones_meant` checks them against
/// their defaults.
const MI_OPTION_ARENA_EAGER_COMMIT: i32 = 4;
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// Trade a little allocation speed for a smaller resident set, for a
/// long-running process (the desktop app): freed memory goes back to the
/// OS at once and arenas are committed as they are used, not up front.
/// Measured by `make bench-app`: the app process 251 MiB -> 190 MiB with
/// 100,000 contacts. Call first thing in `main`.
pub fn favour_footprint() {
    // SAFETY: plain setters on mimalloc's option table.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprint_options_are_the_ones_meant() {
        // SAFETY: plain getters on mimalloc's option table.
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            )
        };
        // mimalloc v3's defaults (`options.c`): eager commit "2" (only on
        // overcommit systems), purge delay 1000 ms.
        assert_eq!((eager, delay), (2, 1000));
        favour_footprint();
        // SAFETY: as above.
        let now = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            )
        };
        assert_eq!(now, (0, 0));
    }
}
