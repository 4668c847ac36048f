//! linked_list_allocator through its `LockedHeap` (its `GlobalAlloc`), over
//! a [`Region`]: made over the first pages it needs and extended by more
//! when an allocation does not fit. It keeps no block headers, so its holes
//! (its free list, in address order) are exactly the gaps between its
//! allocations, each rounded as it rounds them.

use crate::{layout, round_up, Peer, Region};
use core::alloc::GlobalAlloc;
use linked_list_allocator::LockedHeap;

/// linked_list_allocator over a region.
pub struct Lla {
    heap: LockedHeap,
    region: Region,
}

/// Bytes the heap gives an allocation of `size`: at least a hole (two
/// words), a whole number of words.
fn rounded(size: usize) -> usize {
    let word = core::mem::size_of::<usize>();
    round_up(size.max(2 * word), word)
}

impl Lla {
    fn grow(&mut self, size: usize, align: usize) -> bool {
        let first = self.region.taken() == 0;
        let Some((base, len)) = self.region.take(rounded(size) + align + 4 * core::mem::size_of::<usize>()) else { return false };
        // SAFETY: the pages are fresh and the heap's alone; after the first
        // take they start where the heap ends.
        unsafe {
            if first {
                self.heap.lock().init(base, len);
            } else {
                self.heap.lock().extend(len);
            }
        }
        true
    }
}

impl Peer for Lla {
    const NAME: &'static str = "linked_list_allocator";

    fn new(limit: usize) -> Self {
        Lla { heap: LockedHeap::empty(), region: Region::new(limit) }
    }

    fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY (the closure): size is not 0; the heap is made before its first use.
        crate::until_grown(self, size, align, |l| if l.region.taken() > 0 { unsafe { l.heap.alloc(layout(size, align)) } } else { core::ptr::null_mut() }, Lla::grow)
    }

    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: the caller's contract is GlobalAlloc's.
        unsafe { self.heap.dealloc(ptr, layout(size, align)) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, align: usize, new: usize) -> *mut u8 {
        // linked_list_allocator has no realloc of its own: GlobalAlloc's
        // default moves every time, and only after the new block is had.
        // SAFETY: the caller's contract, forwarded.
        unsafe { crate::realloc_by_moving(self, ptr, old, align, new) }
    }

    fn region(&self) -> Region {
        self.region
    }

    fn free_blocks(&self, live: &[(usize, usize)], f: &mut dyn FnMut(usize, usize)) -> bool {
        let heap = self.heap.lock();
        if self.region.taken() == 0 {
            return true;
        }
        let (mut at, top) = (heap.bottom() as usize, heap.top() as usize);
        for &(address, size) in live {
            if address > at {
                f(at, address - at);
            }
            at = address + rounded(size);
        }
        // The tail too small for a hole is the heap's, not a hole.
        if top > at && top - at >= 2 * core::mem::size_of::<usize>() {
            f(at, top - at);
        }
        true
    }
}
