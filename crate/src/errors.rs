//! The errors of the allocator, in a module of their own: the policies,
//! the engine and both faces use them, and this module uses none of them
//! (no import loop through the error types).

use core::fmt;

/// Why an operation failed. Every error leaves the heap exactly as it was
/// (under [`Coalesce::Deferred`](crate::heap::Coalesce::Deferred) too: the sweep runs only when it serves the
/// request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllocError {
    /// The page source has no more memory, or the limit was reached.
    OutOfMemory,
    /// Size 0 where not allowed, an overflowing size, or above [`MAX_SIZE`](crate::engine::MAX_SIZE).
    InvalidSize,
    /// Alignment not a power of two, or above [`MAX_ALIGN`](crate::engine::MAX_ALIGN).
    InvalidAlign,
    /// The address is the payload of a block that is free now: either a free
    /// block starts right before it, or it lies inside free memory where a
    /// freed block's header is still visible at `address − 8` (the block was
    /// merged into a neighbour or its pages were returned). Best effort once
    /// the memory has been reused.
    DoubleFree,
    /// The address lies inside a live block's payload but is not its start.
    InteriorPointer,
    /// Anything else: outside the heap, metadata, never handed out.
    NotAllocated,
    /// A raw read or write ([`Heap::bytes`](crate::heap::Heap::bytes)) reaches outside the heap's segments
    /// (or, for [`Heap::write`](crate::heap::Heap::write), into its metadata pages).
    OutOfBounds,
    /// The heap's memory was written ([`Heap::write`](crate::heap::Heap::write)) and its integrity
    /// walk failed since: `alloc`, `free` and `realloc` refuse to follow
    /// its links until [`Heap::reset`](crate::heap::Heap::reset).
    CorruptHeap,
}

impl AllocError {
    /// Stable kebab-case code: `out-of-memory`, `invalid-size`,
    /// `invalid-align`, `double-free`, `invalid-free` (both
    /// `InteriorPointer` and `NotAllocated`), `out-of-bounds`, `corrupt-heap`.
    pub const fn code(&self) -> &'static str {
        match self {
            AllocError::OutOfMemory => "out-of-memory",
            AllocError::InvalidSize => "invalid-size",
            AllocError::InvalidAlign => "invalid-align",
            AllocError::DoubleFree => "double-free",
            AllocError::InteriorPointer | AllocError::NotAllocated => "invalid-free",
            AllocError::OutOfBounds => "out-of-bounds",
            AllocError::CorruptHeap => "corrupt-heap",
        }
    }
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocError::OutOfMemory => "out of memory: the page source or the memory limit refused to grow",
            AllocError::InvalidSize => "invalid size: zero, overflowing, or above the maximum",
            AllocError::InvalidAlign => "invalid alignment: must be a power of two no larger than 4096",
            AllocError::DoubleFree => "double free: this block is already free",
            AllocError::InteriorPointer => "invalid free: the address points inside a block, not at its payload start",
            AllocError::NotAllocated => "invalid free: the address was never returned by this heap",
            AllocError::OutOfBounds => "out of bounds: the bytes do not all lie inside the heap's memory",
            AllocError::CorruptHeap => "corrupt heap: the integrity check failed after a write; reset the heap",
        })
    }
}

/// The first broken invariant found by [`Heap::check`](crate::heap::Heap::check) or
/// [`LeanHeap::check`](crate::lean::LeanHeap::check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// Where (a block, page or 0 for global counts).
    pub addr: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl CheckError {
    /// A check error at `addr`.
    pub const fn new(addr: usize, what: &'static str) -> Self {
        CheckError { addr, what }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {:#x}", self.what, self.addr)
    }
}

