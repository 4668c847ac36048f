//! The global-allocator face of the engine: [`LeanHeap`] is
//! [`Engine`] with no hooks but its memory, for use
//! as a `#[global_allocator]`.
//!
//! [`Heap`](crate::Heap), the checked face, runs the same engine with a
//! page map, a live bitmap, counters and events, so that it can reject any
//! invalid or double free, report figures and verify itself after every
//! step. Rust's `GlobalAlloc` contract makes that validation unnecessary
//! (only what `alloc` returned is ever freed, once), so [`LeanHeap`] adds
//! only where memory comes from:
//!
//! * **Segments, no pages.** Memory from the [`PageSource`] (64 KiB wasm
//!   pages) is carved into blocks directly: each segment is a region of
//!   the engine. Growth contiguous with the last segment extends it (its
//!   free tail block grows); anything else starts a new segment.
//! * **Everything else is the engine's**: blocks with boundary tags, the
//!   free list of any [`Policy`] (`LeanHeap<_, Segregated>` is the
//!   constant-time build), quick lists, realloc in place, by sliding or by
//!   moving, the integrity walk and the figures ([`Stats`], the block
//!   figures only). With the crate feature `small` the engine takes its
//!   compact path (see [`crate::engine`]): a minimal wasm module (a `Vec`
//!   and a `Box<[u8]>`) with `GlobalLeanHeap<WasmMemory, Segregated>` is
//!   about 2.8 KB after `wasm-opt -Oz` (`crate/bench/wasm/heaplab-small`).
//!
//! ```text
//!  segment:  [ prev base | length ][pad][ block ][ block ] ... [ epilogue ]
//!             16 bytes              G-8                        8 bytes
//! ```
//!
//! The segment head links each segment to the one before it, so
//! [`LeanHeap::check`] and [`LeanHeap::stats`] can walk every block (O(n);
//! the allocation paths never walk).
//!
//! ```
//! use heaplab::lean::LeanHeap;
//! use heaplab::pages::FixedRegion;
//! use heaplab::policy::Segregated;
//!
//! #[repr(align(4096))]
//! struct Region([u8; 1 << 18]);
//! let mut region = Box::new(Region([0; 1 << 18]));
//! // SAFETY: the region outlives the heap and nothing else uses it.
//! let src = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
//! let mut heap: LeanHeap<_, Segregated> = LeanHeap::new(src);
//! let p = heap.alloc(100, 8).unwrap();
//! // SAFETY: `p` came from this heap and is freed once.
//! let p = unsafe { heap.realloc(p, 100, 300, 8) }.unwrap();
//! // SAFETY: as above.
//! unsafe { heap.free(p) };
//! heap.check().unwrap();
//! assert_eq!(heap.stats().live_blocks, 0);
//! ```

use core::ptr::{self, NonNull};

use crate::block::{round_up, Block, HEADER, MAX_BLOCK, PREV_USED};
use crate::engine::{next_header_guess, prefetch, Engine, Grown, Hooks};
pub use crate::engine::{slow_copy, GRANULE, MAX_ALIGN, MAX_SIZE, QUICK, QUICK_MAX};
use crate::errors::CheckError;
use crate::events::Observer;
use crate::pages::PageSource;
use crate::policy::{Policy, PolicyKind};
use crate::stats::Stats;

/// Bytes at the start of every segment: the link to the previous segment and
/// the segment's length.
const SEGMENT_HEAD: usize = 2 * core::mem::size_of::<usize>();
/// Offset of a segment's first block header from the segment base (payloads
/// are granule-aligned).
const FIRST_BLOCK: usize = round_up(SEGMENT_HEAD + HEADER, GRANULE) - HEADER;

/// Smallest first block of a new segment: at least every policy's
/// minimum block (a header, five links and a footer, rounded).
const MIN_SEGMENT_BLOCK: usize = 4 * GRANULE;

/// The global face's hooks: segments of a [`PageSource`], written in
/// memory; no events, no validation, no counters.
pub struct Segments<S: PageSource> {
    source: S,
    /// Base of the newest segment (null before the first growth).
    last: *mut u8,
}

// SAFETY: the heap owns its segments exclusively (page source contract);
// moving the hooks moves that ownership, and `last` points only into them.
unsafe impl<S: PageSource + Send> Send for Segments<S> {}

impl<S: PageSource> Observer for Segments<S> {
    const ENABLED: bool = false;
}

impl<S: PageSource> Hooks for Segments<S> {
    /// Obtains memory for a block of `bytes` bytes: extends the newest
    /// segment when the source's memory is contiguous with it, else starts
    /// a segment. The first attempt asks only for what the segment's free
    /// tail lacks, unless it is the only one (the size build's: the whole
    /// block at once, as talc does: at times a wasm page more, one try
    /// instead of two).
    fn grow(&mut self, bytes: usize, attempt: usize) -> Option<Grown> {
        let whole = attempt > 0 || Self::GROW_ATTEMPTS == 1;
        let mut want = bytes;
        if !whole && !self.last.is_null() {
            // SAFETY: `last` is a segment base of this heap with a valid
            // head; its epilogue is its last 8 bytes and, when the
            // epilogue's prev-used bit is clear, a free block with a footer
            // is before it.
            unsafe {
                let e = Block::from_header(NonNull::new_unchecked(self.last.add(segment_len(self.last) - HEADER)));
                if !e.prev_used() {
                    want = bytes.saturating_sub(e.prev().size()).max(1);
                }
            }
        }
        self.grow_segment(want, whole)
    }

    /// Not in the size build: its minimal module stays under talc's.
    const GROWS_IN_PLACE: bool = !cfg!(feature = "small");

    /// Grows the newest segment in place for a block at its end that grows
    /// (the realloc pattern of a buffer that doubles or creeps up): when
    /// the epilogue `e` ends the newest segment and the source's memory
    /// continues there, the epilogue becomes the header of a block over the
    /// new memory. Memory that comes elsewhere after all (the source's hint
    /// was wrong) starts a segment as [`Hooks::grow`] would, and the engine
    /// uses it for the move.
    fn grow_after(&mut self, e: Block, bytes: usize) -> Option<Grown> {
        if self.last.is_null() || !self.source.grows_contiguously() {
            return None;
        }
        // SAFETY: `last` is a segment base of this heap with a valid head.
        let end = unsafe { self.last.add(segment_len(self.last)) };
        if e.addr() + HEADER != end.addr() {
            return None;
        }
        // `bytes` is what the free block before the epilogue, if any, lacks.
        self.grow_segment(bytes, false)
    }

    fn next_region(&self, after: Option<Block>) -> Option<(Block, usize)> {
        let base = match after {
            None => self.last,
            // SAFETY: `after` is the first block of a segment of this heap,
            // whose head (written by `grow`) links to the one before.
            Some(first) => unsafe { first.as_ptr().sub(FIRST_BLOCK).cast::<*mut u8>().read() },
        };
        if base.is_null() {
            return None;
        }
        // SAFETY: every segment head was written by `grow`.
        unsafe {
            let first = Block::from_header(NonNull::new_unchecked(base.add(FIRST_BLOCK)));
            Some((first, base.addr() + segment_len(base) - HEADER))
        }
    }
}

impl<S: PageSource> Segments<S> {
    /// `want` more bytes from the source: extends the newest segment when
    /// the memory is contiguous with it (then `want` is enough), else starts
    /// a segment. `whole`: room for a segment head is asked for at once.
    fn grow_segment(&mut self, want: usize, whole: bool) -> Option<Grown> {
        // SAFETY: `last`, when set, is a segment base of this heap with a
        // valid segment head; its epilogue is its last 8 bytes. The source's
        // memory is fresh and ours.
        unsafe {
            let mut end = ptr::null_mut();
            let mut seg_len = 0;
            if !self.last.is_null() {
                seg_len = segment_len(self.last);
                end = self.last.add(seg_len);
            }
            // Memory contiguous with the segment needs no room for a
            // segment head: its epilogue becomes the new block's header.
            let slack = if end.is_null() || whole { FIRST_BLOCK + HEADER } else { 0 };
            let (p, len) = self.source.grow(want.checked_add(slack)?)?;
            let p = p.as_ptr();
            if p == end && seg_len + len <= MAX_BLOCK {
                // Contiguous: the old epilogue becomes the header of a
                // block over the new memory.
                set_segment_len(self.last, seg_len + len);
                let e = Block::from_header(NonNull::new_unchecked(end.sub(HEADER)));
                return Some(Grown { block: e, size: len, prev: e.header() & PREV_USED });
            }
            // A new segment, linked to the one before.
            let size = (len - FIRST_BLOCK - HEADER).min(MAX_BLOCK) & !(GRANULE - 1);
            if size < MIN_SEGMENT_BLOCK {
                return None;
            }
            p.cast::<*mut u8>().write(self.last);
            set_segment_len(p, FIRST_BLOCK + size + HEADER);
            self.last = p;
            Some(Grown { block: Block::from_header(NonNull::new_unchecked(p.add(FIRST_BLOCK))), size, prev: PREV_USED })
        }
    }
}

/// A heap over segments of a [`PageSource`], with fit policy `P`: the
/// [`Engine`] with no hooks. See the module docs.
pub struct LeanHeap<S: PageSource, P: Policy> {
    engine: Engine<P, Segments<S>>,
}

impl<S: PageSource, P: Policy> LeanHeap<S, P> {
    /// An empty heap over `source` with the policy type's empty index (for
    /// [`AnyPolicy`](crate::AnyPolicy) that is first fit; see
    /// [`LeanHeap::with_policy`]). Takes no memory until the first `alloc`.
    pub const fn new(source: S) -> Self {
        LeanHeap { engine: Engine::new(P::EMPTY, Segments { source, last: ptr::null_mut() }) }
    }

    /// An empty heap using `kind` (meaningful for
    /// [`AnyPolicy`](crate::AnyPolicy)).
    pub fn with_policy(source: S, kind: PolicyKind) -> Self {
        LeanHeap { engine: Engine::new(P::new(kind), Segments { source, last: ptr::null_mut() }) }
    }

    /// The policy in use.
    pub fn policy(&self) -> PolicyKind {
        self.engine.policy.kind()
    }

    /// Allocates `size` bytes aligned to `align` (a power of two; raised to
    /// the granule). `None` when out of memory, or when `size` is above
    /// [`MAX_SIZE`] or `align` above [`MAX_ALIGN`] or not a power of two.
    #[inline]
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        self.engine.alloc(size, align)
    }

    /// [`LeanHeap::alloc`] for an `align` known to be a power of two (a
    /// `Layout`'s): the `GlobalAlloc` path.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(crate) fn alloc_pow2(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        self.engine.alloc_pow2(size, align)
    }

    /// Frees the block at `ptr`, merging it with free neighbours (or onto
    /// its quick list).
    ///
    /// # Safety
    /// `ptr` was returned by this heap's `alloc` or `realloc` and is not
    /// freed yet (it is not validated: [`Heap::free`](crate::Heap::free) is
    /// the checked one).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub unsafe fn free(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded to the caller.
        unsafe { self.engine.free(ptr) }
    }

    /// [`LeanHeap::free`] for an allocation of `size` bytes (what it was
    /// allocated or last resized with, as `GlobalAlloc::dealloc` knows it):
    /// the next block's header, which the merge reads, starts loading at
    /// once instead of after this block's header says where it is.
    ///
    /// # Safety
    /// As [`LeanHeap::free`], and `size` is at most the size the allocation
    /// was made or last resized with (as `GlobalAlloc`'s `Layout` is).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub unsafe fn free_sized(&mut self, ptr: NonNull<u8>, size: usize) {
        // SAFETY: the block holds at least `size` bytes (caller), so the
        // guess is in the block or is the next header.
        unsafe {
            debug_assert!(next_header_guess(ptr, size, GRANULE).addr() <= Block::from_payload(ptr).next().addr(), "free_sized with a size above the allocation's");
            prefetch(next_header_guess(ptr, size, GRANULE));
            self.engine.free(ptr)
        }
    }

    /// Resizes the allocation at `ptr` (see [`Engine::realloc`]).
    ///
    /// # Safety
    /// As [`LeanHeap::free`]; `old_size` is at most the size it was
    /// allocated (or last resized) with, and `align` is the alignment it was
    /// allocated with.
    #[inline]
    pub unsafe fn realloc(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize) -> Option<NonNull<u8>> {
        // SAFETY: forwarded to the caller.
        unsafe { self.engine.realloc(ptr, old_size, new_size, align) }
    }

    /// Returns every block on the quick lists to the free list, merged with
    /// its free neighbours; whether there were any (see [`Engine::flush`]).
    pub fn flush(&mut self) -> bool {
        self.engine.flush()
    }

    /// The usable bytes of the allocation at `ptr` (at least what was asked).
    ///
    /// # Safety
    /// `ptr` is a live allocation of this heap.
    pub unsafe fn usable_size(&self, ptr: NonNull<u8>) -> usize {
        // SAFETY: a live payload has its header before it (caller).
        unsafe { Block::from_payload(ptr).size() - HEADER }
    }

    /// Walks every block and the policy's index: sizes, flags, footers, no
    /// adjacent free blocks, the index holding exactly the free blocks and
    /// the quick lists exactly the quick ones.
    ///
    /// # Errors
    /// The first broken invariant.
    pub fn check(&self) -> Result<(), CheckError> {
        self.engine.check_with(|_, _, _| Ok(()))
    }

    /// Figures from a walk over every block (O(blocks)): the block figures
    /// of [`Stats`] and the segments; the checked face's counters are 0.
    pub fn stats(&self) -> Stats {
        let f = self.engine.figures();
        let mut heap_bytes = 0;
        self.engine.regions(|first, end| heap_bytes += end + HEADER - (first.addr() - FIRST_BLOCK));
        Stats { segments: f.regions, heap_bytes, ..Stats::from_figures(&f) }
    }
}

/// The length recorded in the head of the segment at `base`.
///
/// # Safety
/// `base` is a segment base of a lean heap.
#[inline]
unsafe fn segment_len(base: *mut u8) -> usize {
    // SAFETY: the head's second word is the length (caller).
    unsafe { base.cast::<usize>().add(1).read() }
}

/// Records `len` in the head of the segment at `base`.
///
/// # Safety
/// `base` is a segment base of a lean heap (or fresh memory being made one).
#[inline]
unsafe fn set_segment_len(base: *mut u8, len: usize) {
    // SAFETY: the head's second word is the length (caller).
    unsafe { base.cast::<usize>().add(1).write(len) }
}

const _: () = assert!(FIRST_BLOCK + HEADER >= SEGMENT_HEAD && (FIRST_BLOCK + HEADER).is_multiple_of(GRANULE));
