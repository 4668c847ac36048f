//! What an operation did, for step-through views: blocks visited, rejected
//! and why, chosen, split, merged; memory grown; pages taken and returned.
//!
//! An [`Observer`] receives [`Event`]s. The default [`NoObserver`] has
//! `ENABLED = false`, and the heap only builds an event inside
//! `if O::ENABLED { .. }`, so a heap without an observer (the
//! `GlobalAlloc` build) has no event code at all.

pub use crate::block::RejectReason;
use crate::pages::PageOwner;
use crate::slab::SlabList;

/// One step of an operation. Addresses are plain numbers (header addresses
/// for blocks, payload addresses where named `payload`).
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "camelCase")
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `alloc` started.
    Alloc {
        /// Requested bytes.
        size: usize,
        /// Requested alignment.
        align: usize,
    },
    /// `free` started.
    Free {
        /// The address passed in.
        payload: usize,
    },
    /// `realloc` started.
    Realloc {
        /// The address passed in.
        payload: usize,
        /// New requested size.
        size: usize,
    },
    /// A search looked at a free block.
    Visit {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
    },
    /// A visited block could not serve the request.
    Reject {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
        /// Why.
        reason: RejectReason,
    },
    /// A segregated-fit search went straight to the free list of the size
    /// class holding blocks of `min..=max` bytes.
    SizeClass {
        /// Smallest block size of the class.
        min: usize,
        /// Largest block size of the class.
        max: usize,
    },
    /// The search chose this block.
    Choose {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
    },
    /// A block was split: the first `size` bytes at `block` and a free
    /// remainder of `remainder` bytes right after.
    Split {
        /// Address of the first part.
        block: usize,
        /// Size of the first part.
        size: usize,
        /// Size of the second part (starts at `block + size`).
        remainder: usize,
    },
    /// Two adjacent free blocks became one.
    Merge {
        /// Address of the merged block.
        block: usize,
        /// Address of the neighbour absorbed into it.
        with: usize,
        /// Size of the merged block.
        size: usize,
    },
    /// A block was marked used.
    MarkUsed {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
        /// Requested bytes.
        requested: usize,
    },
    /// A block was marked free.
    MarkFree {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
    },
    /// A used block changed size in place (realloc).
    Resize {
        /// Block address.
        block: usize,
        /// New block size.
        size: usize,
    },
    /// Memory was obtained from the page source.
    Grow {
        /// Start of the new memory.
        addr: usize,
        /// Its length.
        bytes: usize,
        /// Whether it started a new segment (false: extended the last one).
        new_segment: bool,
    },
    /// A run of pages was given an owner.
    PagesTaken {
        /// First page address.
        addr: usize,
        /// Number of 4 KiB pages.
        pages: usize,
        /// New owner.
        owner: PageOwner,
    },
    /// A run of pages went back to the page layer (owner Free).
    PagesReturned {
        /// First page address.
        addr: usize,
        /// Number of 4 KiB pages.
        pages: usize,
    },
    /// The page map and live bitmap moved to a bigger run of pages.
    MetaMoved {
        /// New address.
        addr: usize,
        /// New size in pages.
        pages: usize,
    },
    /// A large object was placed.
    LargeAlloc {
        /// Its header address.
        block: usize,
        /// Pages it spans.
        pages: usize,
    },
    /// A new arena was created.
    ArenaNew {
        /// First page address.
        addr: usize,
        /// Pages.
        pages: usize,
    },
    /// An arena grew into the free pages after it.
    ArenaExtend {
        /// Address of the first added page.
        addr: usize,
        /// Pages added.
        pages: usize,
    },
    /// A freed block went onto the quick list of its size: free to the
    /// program, still used to the allocator (not merged, not indexed).
    QuickPut {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
    },
    /// A request was served from the quick list of its block size (taken
    /// from the quick list for `size` bytes), without a search.
    QuickTake {
        /// Block address.
        block: usize,
        /// Block size.
        size: usize,
    },
    /// The quick lists were flushed: every block on them went back to the
    /// free list, merged with its free neighbours (the `Merge` events of
    /// each come before this one).
    Flush {
        /// Blocks that were on the quick lists.
        blocks: usize,
    },
    /// realloc slid a block down into the free block before it (the bytes
    /// copied, no search), taking the free block after it too when there
    /// was one.
    Slide {
        /// The block's old address.
        block: usize,
        /// Its new address (the free block before it).
        to: usize,
        /// The bytes the block spans now, before any tail is split off.
        size: usize,
    },
    /// A deferred-coalescing sweep started.
    SweepStart,
    /// The sweep ended.
    SweepEnd {
        /// Number of merges it did.
        merged: usize,
    },
    /// Buddy allocator: a free block of `order` at `addr` was split into
    /// two of `order − 1`, the second (its buddy) at `addr + 2^(order−1)`
    /// pages.
    BuddySplit {
        /// Address of the block split.
        addr: usize,
        /// Its order before the split.
        order: usize,
    },
    /// Buddy allocator: the free block at `addr` and its free buddy at
    /// `with` became one block of `order` (at the lower of the two).
    BuddyMerge {
        /// Address of the block being freed or merged upwards.
        addr: usize,
        /// Address of its buddy.
        with: usize,
        /// Order of the merged block.
        order: usize,
    },
    /// Buddy allocator: a block of 2^`order` pages was handed out.
    BuddyAlloc {
        /// Its address.
        addr: usize,
        /// Its order.
        order: usize,
    },
    /// Buddy allocator: a block of 2^`order` pages came back.
    BuddyFree {
        /// Its address.
        addr: usize,
        /// Its order.
        order: usize,
    },
    /// Slab allocator: cache `cache` took a new slab of 2^`order` pages
    /// from the buddy allocator.
    SlabNew {
        /// The cache's index.
        cache: usize,
        /// The slab's address.
        addr: usize,
        /// Its order.
        order: usize,
    },
    /// Slab allocator: an empty slab went back to the buddy allocator.
    SlabFree {
        /// The cache's index.
        cache: usize,
        /// The slab's address.
        addr: usize,
        /// Its order.
        order: usize,
    },
    /// Slab allocator: a slab moved to another list of its cache.
    SlabMoved {
        /// The cache's index.
        cache: usize,
        /// The slab's address.
        addr: usize,
        /// The list it is on now.
        list: SlabList,
    },
    /// Slab allocator: an object was taken from a slab's free list.
    ObjectAlloc {
        /// The cache's index.
        cache: usize,
        /// The object's address.
        addr: usize,
    },
    /// Slab allocator: an object went back onto its slab's free list.
    ObjectFree {
        /// The cache's index.
        cache: usize,
        /// The object's address.
        addr: usize,
    },
    /// The operation failed with this error code (see
    /// [`AllocError::code`](crate::errors::AllocError::code)).
    Error {
        /// Stable kebab-case code.
        code: &'static str,
    },
}

/// Receives events. Implement `event`; leave `ENABLED` true.
pub trait Observer {
    /// Whether events are built at all. `false` compiles them away.
    const ENABLED: bool = true;
    /// One event.
    #[inline]
    fn event(&mut self, e: Event) {
        let _ = e;
    }
}

/// The observer that ignores everything, at no cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoObserver;

impl Observer for NoObserver {
    const ENABLED: bool = false;
}

/// Records up to `N` events in a fixed buffer (no allocation). Events past
/// the capacity are dropped and counted in [`Recorder::dropped`].
#[derive(Clone, Debug)]
pub struct Recorder<const N: usize> {
    buf: [Event; N],
    /// Number of valid events in `buf`; invariant `len <= N`.
    len: usize,
    dropped: usize,
}

impl<const N: usize> Recorder<N> {
    /// An empty recorder.
    pub const fn new() -> Self {
        Recorder { buf: [Event::SweepStart; N], len: 0, dropped: 0 }
    }

    /// The recorded events, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.buf[..self.len]
    }

    /// Events dropped because the buffer was full.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Forgets all events (and the dropped count).
    pub fn clear(&mut self) {
        self.len = 0;
        self.dropped = 0;
    }
}

impl<const N: usize> Default for Recorder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Observer for Recorder<N> {
    #[inline]
    fn event(&mut self, e: Event) {
        if self.len < N {
            self.buf[self.len] = e;
            self.len += 1;
        } else {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_four_words() {
        // Recorders hold thousands of events (the wasm heap's 4096): a
        // variant with more fields makes every one larger.
        assert!(size_of::<Event>() <= 4 * size_of::<usize>(), "Event is {} bytes", size_of::<Event>());
    }

    #[test]
    fn recorder_drops_and_counts_overflow() {
        let mut r = Recorder::<2>::new();
        for i in 0..5 {
            r.event(Event::Free { payload: i });
        }
        assert_eq!(r.events().len(), 2);
        assert_eq!(r.dropped(), 3);
        r.clear();
        assert!(r.events().is_empty());
    }
}
