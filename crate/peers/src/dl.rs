//! dlmalloc (Rust's own allocator on wasm32) with a system layer that takes
//! pages from a [`Region`] instead of growing wasm memory: it never gives
//! memory back, as its wasm layer does not.

use crate::{Peer, Region};
use core::cell::Cell;
use core::ptr;

/// dlmalloc's system layer: a pointer to the peer's region.
pub struct Pages(*const Cell<Region>);

// SAFETY: dlmalloc asks its layer to be Send; the region it points to is
// the peer's own, used only through the peer (`&mut self`), so never from
// two threads at once.
unsafe impl Send for Pages {}

// SAFETY: `alloc` hands out pages that only dlmalloc uses; nothing is ever
// released or remapped (every other method says no).
unsafe impl dlmalloc::Allocator for Pages {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        // SAFETY: the peer that owns the region made this layer after it
        // stopped moving, and outlives it.
        let cell = unsafe { &*self.0 };
        let mut region = cell.get();
        let taken = region.take(size);
        cell.set(region);
        taken.map_or((ptr::null_mut(), 0, 0), |(p, len)| (p, len, 0))
    }
    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }
    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }
    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }
    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }
    fn allocates_zeros(&self) -> bool {
        // Pages past a restored heap's end may hold old bytes.
        false
    }
    fn page_size(&self) -> usize {
        crate::PAGE
    }
}

/// dlmalloc over a region. Its system layer points at `region`, so it is
/// made at the first allocation, once the peer has stopped moving.
pub struct Dl {
    region: Cell<Region>,
    dl: Option<dlmalloc::Dlmalloc<Pages>>,
}

impl Dl {
    fn heap(&mut self) -> &mut dlmalloc::Dlmalloc<Pages> {
        let region: *const Cell<Region> = &self.region;
        self.dl.get_or_insert_with(|| dlmalloc::Dlmalloc::new_with_allocator(Pages(region)))
    }
}

impl Peer for Dl {
    const NAME: &'static str = "dlmalloc";

    fn new(limit: usize) -> Self {
        Dl { region: Cell::new(Region::new(limit)), dl: None }
    }

    fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: as dlmalloc's GlobalDlmalloc calls it (size not 0).
        unsafe { self.heap().malloc(size, align) }
    }

    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: the caller's contract is dlmalloc's.
        unsafe { self.heap().free(ptr, size, align) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, align: usize, new: usize) -> *mut u8 {
        // SAFETY: the caller's contract is dlmalloc's.
        unsafe { self.heap().realloc(ptr, old, align, new) }
    }

    fn region(&self) -> Region {
        self.region.get()
    }
}
