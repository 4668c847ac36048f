//! buddy_system_allocator as the global allocator: its `LockedHeap` over a
//! static array (it cannot grow memory itself), given on first use; 128 MiB
//! for the workload, 64 KiB for the size module. The compare page uses its
//! trace exports (the buddy system over its own region, crate/peers).

use buddy_system_allocator::LockedHeap;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(not(feature = "size"))]
const ARENA: usize = 128 << 20;
#[cfg(feature = "size")]
const ARENA: usize = 64 << 10;

static mut MEMORY: [u8; ARENA] = [0; ARENA];

struct Buddy(LockedHeap<32>, AtomicBool);

// SAFETY: forwards to `LockedHeap` after giving it MEMORY exactly once.
unsafe impl GlobalAlloc for Buddy {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !self.1.swap(true, Ordering::Relaxed) {
            // SAFETY: MEMORY is used by nothing else, and given only once.
            unsafe { self.0.lock().init(core::ptr::addr_of_mut!(MEMORY) as usize, ARENA) };
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
static BUDDY: Buddy = Buddy(LockedHeap::empty(), AtomicBool::new(false));

include!("../../module.rs");

// The compare page replays traces on this allocator over its own region
// (crate/peers), through these exports.
#[cfg(not(feature = "size"))]
heaplab_peers::trace_exports!(heaplab_peers::buddy::Buddy);
