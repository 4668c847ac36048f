//! Segregated fit in the speed build (without the feature `small`): the
//! class computed inline and the list updates inlined into their callers.
//! `small.rs` has the size build's, with the same names.

use super::{class, Segregated};
use crate::block::Block;

/// The class of a block of `size` bytes, as the list operations find it:
/// [`class`], inlined.
#[inline(always)]
pub(super) fn block_class(size: usize) -> (usize, usize) {
    class(size)
}

impl Segregated {
    /// [`FreeIndex::insert`](crate::policy::FreeIndex::insert), inlined.
    ///
    /// # Safety
    /// As [`FreeIndex::insert`](crate::policy::FreeIndex::insert).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(super) unsafe fn insert_block(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.insert_read(b) }
    }

    /// [`FreeIndex::remove`](crate::policy::FreeIndex::remove), inlined.
    ///
    /// # Safety
    /// As [`FreeIndex::remove`](crate::policy::FreeIndex::remove).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(super) unsafe fn remove_block(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.remove_read(b) }
    }
}
