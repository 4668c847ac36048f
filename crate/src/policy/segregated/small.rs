//! Segregated fit in the size build (feature `small`): one out-of-line
//! copy each of the class computation, of `insert` and of `remove`, so
//! that each caller pays only a call. `fast.rs` has the speed build's,
//! with the same names.

use super::{class, Segregated, SL_COUNT, SL_LOG};
use crate::block::Block;

/// [`class`] in one out-of-line copy, its result packed in one word
/// (`fl << SL_LOG | sl`).
#[inline(never)]
fn class_packed(size: usize) -> usize {
    let (fl, sl) = class(size);
    fl << SL_LOG | sl
}

/// The class of a block of `size` bytes, as the list operations find it:
/// a call of [`class_packed`].
#[inline(always)]
pub(super) fn block_class(size: usize) -> (usize, usize) {
    let c = class_packed(size);
    (c >> SL_LOG, c & (SL_COUNT - 1))
}

impl Segregated {
    /// [`FreeIndex::insert`](crate::policy::FreeIndex::insert), out of line.
    ///
    /// # Safety
    /// As [`FreeIndex::insert`](crate::policy::FreeIndex::insert).
    #[inline(never)]
    pub(super) unsafe fn insert_block(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.insert_read(b) }
    }

    /// [`FreeIndex::remove`](crate::policy::FreeIndex::remove), out of line.
    ///
    /// # Safety
    /// As [`FreeIndex::remove`](crate::policy::FreeIndex::remove).
    #[inline(never)]
    pub(super) unsafe fn remove_block(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.remove_read(b) }
    }
}
