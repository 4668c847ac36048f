//! The production allocators Heaplab is compared with, each over a
//! [`Region`]: talc, rlsf, dlmalloc, linked_list_allocator and
//! buddy_system_allocator behind one interface, [`Peer`].
//!
//! The same code runs in two places: in the compare page's wasm modules
//! (`crate/bench/wasm/<peer>`, through [`trace_exports!`]), where the region
//! grows with `memory.grow`, and natively (this crate's tests and the
//! `peer-replay` binary), where it grows inside a reserved range. Either way
//! the region hands out whole 4 KiB pages, one contiguous run from a base
//! aligned to [`BASE_ALIGN`], so an allocator makes the same decisions on
//! both and a trace gives the same figures (on a 32-bit target, as wasm32).
//!
//! What is known of every allocator: each live payload (its address and
//! size, kept by the caller) and the pages it took, the heap span. What
//! only some expose: their free blocks ([`Peer::free_blocks`]; rlsf walks
//! its blocks, linked_list_allocator's holes are the gaps between its
//! allocations, as it keeps no headers).

#![warn(missing_docs)]

pub mod region;
pub use region::{Region, BASE_ALIGN, PAGE};

#[cfg(feature = "buddy")]
pub mod buddy;
#[cfg(feature = "dlmalloc")]
pub mod dl;
#[cfg(feature = "lla")]
pub mod lla;
#[cfg(feature = "rlsf")]
pub mod tlsf;
#[cfg(feature = "talc")]
pub mod talc;

#[doc(hidden)]
pub mod exports;
pub mod replay;

/// One production allocator over its own [`Region`].
///
/// A value may be moved until its first allocation, never after (some keep
/// list heads inside themselves that their free blocks point to).
pub trait Peer {
    /// The name the compare page shows (the crate's name).
    const NAME: &'static str;

    /// A heap that has taken no memory yet and takes at most `limit` bytes.
    fn new(limit: usize) -> Self;

    /// `size` bytes aligned to `align` (a power of two), or null when the
    /// region is exhausted. `size` is not 0.
    fn alloc(&mut self, size: usize, align: usize) -> *mut u8;

    /// Frees an allocation.
    ///
    /// # Safety
    /// `ptr` came from this heap's `alloc` or `realloc` with this `size`
    /// and `align`, and is not freed yet.
    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize);

    /// Resizes an allocation to `new` bytes (not 0), moving it when needed;
    /// null (the old one kept) when the region is exhausted.
    ///
    /// # Safety
    /// As [`Peer::free`], with `old` the allocation's size.
    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, align: usize, new: usize) -> *mut u8;

    /// The pages this heap has taken.
    fn region(&self) -> Region;

    /// Calls `f(address, bytes)` for each free block, in address order, and
    /// returns true; false (and no call) when this allocator does not expose
    /// them. `live` is every live allocation as `(address, size)` in address
    /// order (what an allocator without headers needs to tell its gaps).
    fn free_blocks(&self, live: &[(usize, usize)], f: &mut dyn FnMut(usize, usize)) -> bool {
        let _ = (live, f);
        false
    }
}

/// A layout from a size and an alignment the caller checked.
#[inline]
pub(crate) fn layout(size: usize, align: usize) -> core::alloc::Layout {
    core::alloc::Layout::from_size_align(size, align).expect("a size and a power-of-two alignment")
}

/// Bytes rounded up to a multiple of `to` (a power of two).
#[inline]
pub(crate) const fn round_up(bytes: usize, to: usize) -> usize {
    (bytes + to - 1) & !(to - 1)
}

/// Tries `attempt` until it gives an allocation, taking more pages with
/// `grow` after each failure; null once `grow` can take no more.
pub(crate) fn until_grown<T>(heap: &mut T, size: usize, align: usize, attempt: impl Fn(&mut T) -> *mut u8, grow: impl Fn(&mut T, usize, usize) -> bool) -> *mut u8 {
    loop {
        let p = attempt(heap);
        if !p.is_null() || !grow(heap, size, align) {
            return p;
        }
    }
}

/// `realloc` for an allocator that has none (as `GlobalAlloc`'s default): a
/// new allocation, the bytes copied, then the old one freed; null (the old
/// one kept) when the new one cannot be had.
///
/// # Safety
/// As [`Peer::realloc`].
pub(crate) unsafe fn realloc_by_moving<P: Peer>(heap: &mut P, ptr: *mut u8, old: usize, align: usize, new: usize) -> *mut u8 {
    let p = heap.alloc(new, align);
    if !p.is_null() {
        // SAFETY: both are live, distinct, of at least min(old, new) bytes;
        // the old one is freed once, with its size (the caller's contract).
        unsafe {
            core::ptr::copy_nonoverlapping(ptr, p, old.min(new));
            heap.free(ptr, old, align);
        }
    }
    p
}
