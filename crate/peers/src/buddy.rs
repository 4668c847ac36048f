//! buddy_system_allocator's `Heap`: every block a power of two, aligned to
//! its size, merged with its buddy when both are free. Over a [`Region`]:
//! when an allocation does not fit, it takes pages up to the next boundary
//! of the block's size and a block of that size after them, so the new
//! memory holds a block that fits. Its free lists are not exposed.

use crate::{layout, round_up, Peer, Region, PAGE};
use core::ptr::NonNull;

/// The buddy system over a region.
pub struct Buddy {
    heap: buddy_system_allocator::Heap<32>,
    region: Region,
}

impl Buddy {
    fn grow(&mut self, size: usize, align: usize) -> bool {
        let block = size.next_power_of_two().max(align).max(core::mem::size_of::<usize>());
        // The region's base is aligned to BASE_ALIGN, so its offsets stand for
        // addresses' alignment up to blocks of that size.
        let taken = self.region.taken();
        let bytes = if block <= PAGE { PAGE } else { round_up(taken, block) - taken + block };
        let Some((base, len)) = self.region.take(bytes) else { return false };
        // SAFETY: the pages are fresh and the heap's alone.
        unsafe { self.heap.add_to_heap(base as usize, base as usize + len) };
        true
    }
}

impl Peer for Buddy {
    const NAME: &'static str = "buddy_system_allocator";

    fn new(limit: usize) -> Self {
        Buddy { heap: buddy_system_allocator::Heap::new(), region: Region::new(limit) }
    }

    fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        crate::until_grown(self, size, align, |b| b.heap.alloc(layout(size, align)).map_or(core::ptr::null_mut(), NonNull::as_ptr), Buddy::grow)
    }

    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: the caller's contract: a live allocation of this layout.
        unsafe { self.heap.dealloc(NonNull::new_unchecked(ptr), layout(size, align)) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, align: usize, new: usize) -> *mut u8 {
        // The buddy system has no realloc: as its GlobalAlloc (the trait's default).
        // SAFETY: the caller's contract, forwarded.
        unsafe { crate::realloc_by_moving(self, ptr, old, align, new) }
    }

    fn region(&self) -> Region {
        self.region
    }
}
