//! linked_list_allocator as the global allocator: its `LockedHeap` over a
//! static array (it cannot grow memory itself), initialized on first use;
//! 128 MiB for the workload, 64 KiB for the size module.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, Ordering};
use linked_list_allocator::LockedHeap;

#[cfg(not(feature = "size"))]
const ARENA: usize = 128 << 20;
#[cfg(feature = "size")]
const ARENA: usize = 64 << 10;

static mut MEMORY: [u8; ARENA] = [0; ARENA];

struct Lla(LockedHeap, AtomicBool);

// SAFETY: forwards to `LockedHeap` after giving it MEMORY exactly once.
unsafe impl GlobalAlloc for Lla {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !self.1.swap(true, Ordering::Relaxed) {
            // SAFETY: MEMORY is used by nothing else, and given only once.
            unsafe { self.0.lock().init(core::ptr::addr_of_mut!(MEMORY).cast(), ARENA) };
        }
        // SAFETY: forwarded.
        unsafe { self.0.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.dealloc(p, l) }
    }
}

#[global_allocator]
static LLA: Lla = Lla(LockedHeap::empty(), AtomicBool::new(false));

include!("../../module.rs");

// The compare page replays traces on this allocator over its own region
// (crate/peers), through these exports.
#[cfg(not(feature = "size"))]
heaplab_peers::trace_exports!(heaplab_peers::lla::Lla);
