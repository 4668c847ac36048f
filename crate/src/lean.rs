//! The lean heap: the same blocks, headers and fit policies as [`Heap`](crate::Heap),
//! without the teaching machinery, for use as a `#[global_allocator]`.
//!
//! [`Heap`](crate::Heap) keeps a page map, a live bitmap and exact counters so that it can
//! reject any invalid or double free, report figures and verify itself after
//! every step. Rust's `GlobalAlloc` contract makes that validation
//! unnecessary (only what `alloc` returned is ever freed, once), so
//! [`LeanHeap`] keeps only what allocation needs:
//!
//! * **Segments, no pages.** Memory from the [`PageSource`] (64 KiB wasm
//!   pages) is carved into blocks directly. Growth contiguous with the last
//!   segment extends it (its free tail block grows); anything else starts a
//!   new segment.
//! * **Blocks** are [`crate::block`]'s: an 8-byte header with the size and the
//!   used / prev-used flags, a footer on free blocks, coalescing with both
//!   neighbours on every free. The header does not record the requested
//!   size (the caller's `Layout` has it).
//! * **The free list** is any [`Policy`]; `LeanHeap<_, Segregated>` is the
//!   constant-time build. A free block that changes (split, merged, shrunk)
//!   keeps its place in the index when the policy allows
//!   ([`Policy::try_replace`]), so address-ordered lists are not walked again.
//! * **Quick lists** (deferred coalescing, for policies with a fast index:
//!   segregated, best and worst fit): a freed block of up to [`QUICK_MAX`]
//!   bytes goes on a list per exact size, still marked used (and [`QUICK`]),
//!   and serves the next request of that size with two loads and a store.
//!   Before the heap grows, [`LeanHeap::flush`] merges them all back, so
//!   they never cost memory the heap could have used.
//! * **realloc** shrinks in place, grows into a free block after it, or
//!   slides down into a free block before it (one `memmove`, no search),
//!   and only then moves (best fit moves a block growing to more than twice
//!   its size to the smallest hole that holds it:
//!   [`Policy::place_growing_again`]). A block shrinking to half its size
//!   or less moves instead when a free block for it is at hand (one search,
//!   never growing the heap), so the run it sat in comes free whole. A
//!   moving copy avoids a destination 16 bytes past the source modulo
//!   4 KiB, where `memcpy` is several times slower on AMD Zen.
//!
//! # The lean heap compiled for code size (feature `small`)
//!
//! With the crate feature `small`, [`LeanHeap`] keeps its API, its blocks,
//! segments, [`check`](LeanHeap::check) and [`stats`](LeanHeap::stats), and
//! is still complete (any alignment up to [`MAX_ALIGN`], contiguous and
//! new segments, merging on every free, realloc in place before moving,
//! `None` on out of memory with nothing changed), but takes one compact
//! path, for wasm modules where bytes count more than speed:
//!
//! * no quick lists ([`QUICK`] is never set; [`LeanHeap::flush`] returns
//!   false), no separate fast path, no slide on realloc;
//! * one search, [`Policy::take`]: a block of [`Request::worst_case`]
//!   bytes, so that the alignment gap is a subtraction (segregated fit
//!   scans the list of that size's class, then takes the head of the next
//!   non-empty class; no rounding up to a class, no separate fallback);
//! * a free block that changes is removed and inserted again (no
//!   [`Policy::try_replace`]); the rest of a block split off, and each
//!   shrunk tail, is released as a used block would be, so one merge
//!   routine does it all;
//! * growth asks the source for the whole block (and a segment head) at
//!   once, as talc does, not only for what the free tail lacks: at times a
//!   wasm page more, one try instead of two.
//!
//! A minimal wasm module (a `Vec` and a `Box<[u8]>`) with
//! `GlobalLeanHeap<WasmMemory, Segregated>` is about 2.7 KB after
//! `wasm-opt -Oz` instead of 5.3 KB (`crate/bench/wasm/heaplab-small`).
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
//! assert_eq!(heap.stats().used_blocks, 0);
//! ```

use core::ptr::{self, NonNull};

#[cfg(not(feature = "small"))]
use crate::block::Fit;
use crate::block::{round_up, Block, Request, FOOTER, HEADER, MAX_BLOCK, PREV_USED, SIZE_MASK, USED};
use crate::check::CheckError;
#[cfg(not(feature = "small"))]
use crate::events::NoObserver;
use crate::pages::PageSource;
use crate::policy::{Policy, PolicyKind};

/// Granule: payload alignment and block size unit, 16 bytes on every target
/// (as `malloc` aligns on 64-bit targets; on wasm32 it keeps 16-byte-aligned
/// types, common in Rust, on the fast path).
pub const GRANULE: usize = 16;
/// Bytes at the start of every segment: the link to the previous segment and
/// the segment's length.
const SEGMENT_HEAD: usize = 2 * core::mem::size_of::<usize>();
/// Offset of a segment's first block header from the segment base (payloads
/// are granule-aligned).
const FIRST_BLOCK: usize = round_up(SEGMENT_HEAD + HEADER, GRANULE) - HEADER;
/// Largest alignment `alloc` accepts.
pub const MAX_ALIGN: usize = 1 << 16;
/// Largest request `alloc` accepts (block sizes live in 32 header bits).
pub const MAX_SIZE: usize = MAX_BLOCK - MAX_ALIGN - 64;
/// Largest block kept on a quick list when freed.
pub const QUICK_MAX: usize = 256;
/// Copies of at least this many bytes are steered away from a slow
/// distance ([`slow_copy`]).
const SLOW_COPY_MIN: usize = 1024;
/// Number of quick lists (one per block size up to [`QUICK_MAX`]).
const QUICK_LISTS: usize = QUICK_MAX / GRANULE + 1;
/// Header flag of a block on a quick list (bit 32: the lean heap does not
/// record requested sizes, which the checked heap keeps in bits 32..64).
pub const QUICK: u64 = 1 << 32;

/// Figures from one walk over every block ([`LeanHeap::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
pub struct LeanStats {
    /// Segments obtained from the page source.
    pub segments: usize,
    /// Bytes of all segments.
    pub segment_bytes: usize,
    /// Used blocks (not counting quick blocks).
    pub used_blocks: usize,
    /// Bytes of used blocks (headers included).
    pub used_bytes: usize,
    /// Freed blocks waiting on the quick lists (see [`LeanHeap::flush`]).
    pub quick_blocks: usize,
    /// Bytes of quick blocks.
    pub quick_bytes: usize,
    /// Free blocks.
    pub free_blocks: usize,
    /// Bytes of free blocks.
    pub free_bytes: usize,
    /// The largest free block.
    pub largest_free: usize,
}

/// A heap over segments of a [`PageSource`], with fit policy `P`. See the
/// module docs.
pub struct LeanHeap<S: PageSource, P: Policy> {
    source: S,
    policy: P,
    /// Base of the newest segment (null before the first growth).
    last: *mut u8,
    /// Quick lists: `quick[size / GRANULE]` holds freed blocks of exactly
    /// `size` bytes (up to [`QUICK_MAX`]), linked through link 0, still
    /// marked used (and [`QUICK`]) so that nothing merges with them.
    quick: [Option<Block>; QUICK_LISTS],
}

// SAFETY: the heap owns its segments exclusively (page source contract);
// moving it moves that ownership. Block handles inside the policy point only
// into those segments.
unsafe impl<S: PageSource + Send, P: Policy + Send> Send for LeanHeap<S, P> {}

/// The block size serving `size` payload bytes: header plus payload rounded
/// to the granule, at least the policy's minimum block.
#[inline(always)]
const fn block_size<P: Policy>(size: usize) -> usize {
    let need = round_up(size + HEADER, GRANULE);
    let min = round_up(P::MIN_BLOCK, GRANULE);
    if need < min {
        min
    } else {
        need
    }
}

impl<S: PageSource, P: Policy> LeanHeap<S, P> {
    /// Smallest block: header, the policy's links and a footer.
    const MIN: usize = round_up(P::MIN_BLOCK, GRANULE);

    /// An empty heap over `source` with the policy type's empty index (for
    /// [`AnyPolicy`](crate::AnyPolicy) that is first fit; see
    /// [`LeanHeap::with_policy`]). Takes no memory until the first `alloc`.
    pub const fn new(source: S) -> Self {
        LeanHeap { source, policy: P::EMPTY, last: ptr::null_mut(), quick: [None; QUICK_LISTS] }
    }

    /// An empty heap using `kind` (meaningful for
    /// [`AnyPolicy`](crate::AnyPolicy)).
    pub fn with_policy(source: S, kind: PolicyKind) -> Self {
        LeanHeap { source, policy: P::new(kind), last: ptr::null_mut(), quick: [None; QUICK_LISTS] }
    }

    /// The policy in use.
    pub fn policy(&self) -> PolicyKind {
        self.policy.kind()
    }

    /// Allocates `size` bytes aligned to `align` (a power of two; raised to
    /// the granule). `None` when out of memory, or when `size` is above
    /// [`MAX_SIZE`] or `align` above [`MAX_ALIGN`] or not a power of two.
    #[inline]
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if !align.is_power_of_two() {
            return None;
        }
        self.alloc_pow2(size, align)
    }

    /// [`LeanHeap::alloc`] for an `align` known to be a power of two (a
    /// `Layout`'s): the `GlobalAlloc` path.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(crate) fn alloc_pow2(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        debug_assert!(align.is_power_of_two(), "alloc_pow2 needs a power-of-two alignment");
        #[cfg(not(feature = "small"))]
        if let Some(p) = self.alloc_fast(size, align) {
            return Some(p);
        }
        self.alloc_slow(size, align)
    }

    /// The allocation fast path: a quick block of the request's size, or
    /// (alignment up to the granule) the policy's constant-time pick; never
    /// grows the heap. `None` sends the request to the slow path.
    #[cfg(not(feature = "small"))]
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    fn alloc_fast(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if align <= MAX_ALIGN && size <= MAX_SIZE {
            // The common case, inlined.
            let need = block_size::<P>(size);
            if need <= QUICK_MAX {
                let q = &mut self.quick[need / GRANULE];
                // A quick block of that size whose payload is aligned as
                // asked (always, for alignments up to the granule; half
                // the time for 32, the commonest larger one).
                if let Some(b) = (*q).filter(|b| b.payload().as_ptr().addr() & (align - 1) == 0) {
                    // SAFETY: a quick block is a used block of exactly
                    // `need` bytes with its link 0 written by `free`.
                    unsafe {
                        *q = b.next_free();
                        b.set_header(b.header() & !QUICK);
                    }
                    return Some(b.payload());
                }
            }
            // Alignment above the granule needs a gap: the slow path.
            // SAFETY: every indexed block is a valid free block of this heap.
            if let Some((b, size)) = if align <= GRANULE { unsafe { self.policy.take_quick(need) } } else { None } {
                debug_assert_eq!(
                    // SAFETY: `b` is a free block of this heap.
                    unsafe { b.header() } & (SIZE_MASK | PREV_USED | USED),
                    size as u64 | PREV_USED,
                    "a free block of `size` bytes (a free block always follows a used one)"
                );
                // SAFETY: the policy took `b`, of `size >= need` bytes,
                // from our free blocks; a free block follows a used one.
                return Some(unsafe { self.place(b, size, need, PREV_USED) });
            }
        }
        None
    }

    /// Over-aligned requests, bad arguments, and growing the heap until the
    /// request fits: first by only what the newest segment's free tail
    /// lacks (enough when the source's memory is contiguous with it), then,
    /// if that memory turned out to be elsewhere, by the whole block. The
    /// size build, which has no fast path, comes here for every request.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if size > MAX_SIZE || align > MAX_ALIGN {
            return None;
        }
        let req = Request::new(size, align, GRANULE, Self::MIN);
        let mut grown = 0;
        loop {
            #[cfg(not(feature = "small"))]
            // SAFETY: every indexed block is a valid free block of this heap.
            if let Some(fit) = unsafe { self.policy.find(&req, &mut NoObserver) }.fit {
                // SAFETY: the policy found `fit` among our free blocks.
                return Some(unsafe { self.place_found(fit) });
            }
            // The size build asks for a block that holds the request
            // wherever it starts (over-asking when over-aligned), so that
            // the gap is simple to compute.
            #[cfg(feature = "small")]
            // SAFETY: every indexed block is a valid free block of this heap.
            if let Some(b) = unsafe { self.policy.take(req.worst_case()) } {
                // SAFETY: the policy took `b`, of at least `worst_case`
                // bytes, from our free blocks.
                return Some(unsafe { self.place_aligned(b, req.need, align) });
            }
            // The size build grows once, by the whole block (as talc does),
            // not first by what the free tail lacks: one code path, at
            // times a wasm page more.
            if grown == if cfg!(feature = "small") { 1 } else { 2 } {
                return None;
            }
            if grown == 0 && self.flush() {
                // Blocks came back from the quick lists: search again
                // before growing.
                continue;
            }
            self.grow(req.worst_case(), grown == 1 || cfg!(feature = "small"))?;
            grown += 1;
        }
    }

    /// Turns the `size` free bytes at `b`, out of the index, into a used
    /// block of `need` bytes (the rest, when big enough, becomes a free
    /// block) whose prev-used flag is `prev`, and returns its payload.
    ///
    /// # Safety
    /// `b..b + size` (`size >= need`) is free memory of this heap out of the
    /// index (a free block just taken, or what follows an alignment gap),
    /// followed by a used block or the epilogue.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn place(&mut self, b: Block, size: usize, need: usize, prev: u64) -> NonNull<u8> {
        #[cfg(feature = "small")]
        // SAFETY: forwarded to the caller; the size build makes `b` a used
        // block of all `size` bytes, then gives the tail back.
        unsafe {
            b.add(size).set_prev_used(true);
            b.set_header(size as u64 | USED | prev);
            self.shrink(b, USED | prev, size, need);
            b.payload()
        }
        #[cfg(not(feature = "small"))]
        // SAFETY: forwarded to the caller.
        unsafe {
            let tail = size - need;
            let used = if tail >= Self::MIN {
                let t = b.add(need);
                t.write_free(tail, true);
                self.policy.insert_sized(t, tail);
                need
            } else {
                b.add(size).set_prev_used(true);
                size
            };
            b.set_header(used as u64 | USED | prev);
            b.payload()
        }
    }

    /// Turns free block `b`, out of the index and of at least
    /// [`Request::worst_case`] bytes, into a used block of `need` bytes
    /// whose payload is aligned to `align`: an alignment gap before it
    /// becomes a free block, and so does the rest after it, when it makes
    /// one. The size build's only placement.
    ///
    /// # Safety
    /// `b` is a free block of this heap just taken from the index, of at
    /// least the worst case of a request of `need` bytes aligned to `align`.
    #[cfg(feature = "small")]
    unsafe fn place_aligned(&mut self, b: Block, need: usize, align: usize) -> NonNull<u8> {
        // SAFETY: as in `place`; the gap and `need` fit in `b` (the worst
        // case counts the largest gap: `Self::MIN + align - GRANULE`).
        unsafe {
            let size = b.size();
            let first = b.addr() + HEADER;
            // (Payloads are granule-aligned: no gap below that.)
            let mut gap = first.wrapping_neg() & (align - 1);
            if align <= GRANULE || gap == 0 {
                return self.place(b, size, need, PREV_USED);
            }
            if gap < Self::MIN {
                gap = round_up(first + Self::MIN, align) - first;
            }
            b.write_free(gap, true);
            self.policy.insert(b);
            // After the gap, which is a free block now.
            self.place(b.add(gap), size - gap, need, 0)
        }
    }

    /// Turns the free block of `fit`, still in the index, into a used block:
    /// the alignment gap before it keeps the block's place in the index,
    /// or else the rest after it does (so address-ordered lists need no
    /// walk), and a rest too small for a block stays in the used one.
    ///
    /// # Safety
    /// `fit` was just found by the policy among this heap's free blocks.
    #[cfg(not(feature = "small"))]
    unsafe fn place_found(&mut self, fit: Fit) -> NonNull<u8> {
        // SAFETY: as in `place`; `fit.block` is indexed.
        unsafe {
            let b = fit.block;
            let size = b.size();
            if fit.gap != 0 {
                self.replace_free(b, b, fit.gap);
                // After the gap, which is a free block now.
                return self.place(b.add(fit.gap), size - fit.gap, fit.need, 0);
            }
            let tail = size - fit.need;
            let used = if tail >= Self::MIN {
                self.replace_free(b, b.add(fit.need), tail);
                fit.need
            } else {
                self.policy.remove(b);
                b.add(size).set_prev_used(true);
                size
            };
            b.set_header(used as u64 | USED | PREV_USED);
            b.payload()
        }
    }

    /// Free block `old` (indexed, header unchanged) becomes free block `new`
    /// of `size` bytes in its place in address order (the same block, or
    /// one overlapping it with no other free block between): through
    /// [`Policy::try_replace`] when the policy can, else remove and insert.
    ///
    /// # Safety
    /// `old` is indexed; `new..new + size` is free memory of this heap that
    /// follows a used block.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    #[cfg(not(feature = "small"))]
    unsafe fn replace_free(&mut self, old: Block, new: Block, size: usize) {
        // SAFETY: forwarded to the caller; `remove` runs before the header
        // changes and `insert` after, as the policy contract requires.
        unsafe {
            if self.policy.try_replace(old, new, size) {
                new.write_free(size, true);
            } else {
                self.policy.remove(old);
                new.write_free(size, true);
                self.policy.insert_sized(new, size);
            }
        }
    }

    /// Frees the block at `ptr`, merging it with free neighbours.
    ///
    /// # Safety
    /// `ptr` was returned by this heap's `alloc` or `realloc` and is not
    /// freed yet (it is not validated: [`Heap::free`](crate::Heap::free) is
    /// the checked one).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub unsafe fn free(&mut self, ptr: NonNull<u8>) {
        // SAFETY: `ptr` is a live payload of this heap (caller).
        unsafe {
            let b = Block::from_payload(ptr);
            let h = b.header();
            debug_assert!(h & USED != 0 && h & QUICK == 0, "free of a block that is not used");
            let size = (h & SIZE_MASK) as usize;
            if size <= QUICK_MAX && self.policy.fast_index() && cfg!(not(feature = "small")) {
                // Small: onto its quick list, still used, not merged.
                let q = &mut self.quick[size / GRANULE];
                b.set_next_free(*q);
                *q = Some(b);
                b.set_header(h | QUICK);
                return;
            }
            self.release(b, h);
        }
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
            debug_assert!(next_header_guess(ptr, size).addr() <= Block::from_payload(ptr).next().addr(), "free_sized with a size above the allocation's");
            prefetch(next_header_guess(ptr, size));
            self.free(ptr)
        }
    }

    /// Returns used block `b` (header `h`) to the free list, merging it with
    /// free neighbours.
    ///
    /// # Safety
    /// `b` is a used block of this heap that no one uses any more.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn release(&mut self, b: Block, h: u64) {
        // `b` is a used block (caller), so its header, the next header (a
        // block or the epilogue) and, when the prev-used bit is clear, the
        // previous block's footer are valid.
        #[cfg(feature = "small")]
        // SAFETY: as said above; each free neighbour is removed from the
        // index before its header is overwritten, the merged block inserted
        // after its header is written.
        unsafe {
            let mut b = b;
            let mut size = (h & SIZE_MASK) as usize;
            let next = b.add(size);
            let nh = next.header();
            if nh & USED == 0 {
                self.policy.remove(next);
                size += (nh & SIZE_MASK) as usize;
            } else {
                next.set_header(nh & !PREV_USED);
            }
            if h & PREV_USED == 0 {
                b = b.prev();
                self.policy.remove(b);
                size += b.size();
            }
            b.write_free(size, true);
            self.policy.insert(b);
        }
        #[cfg(not(feature = "small"))]
        // SAFETY: as said above.
        unsafe {
            let mut size = (h & SIZE_MASK) as usize;
            let next = b.add(size);
            let nh = next.header();
            let next_free = nh & USED == 0;
            if next_free {
                size += (nh & SIZE_MASK) as usize;
            } else {
                next.set_header(nh & !PREV_USED);
            }
            if h & PREV_USED == 0 {
                // Into the free block before: it keeps its index place.
                if next_free {
                    self.policy.remove(next);
                }
                let p = b.prev();
                self.replace_free(p, p, b.addr() - p.addr() + size);
            } else if next_free {
                // The free block after gives its index place to this one.
                self.replace_free(next, b, size);
            } else {
                b.write_free(size, true);
                self.policy.insert_sized(b, size);
            }
        }
    }

    /// Resizes the allocation at `ptr` to `new_size` bytes: in place when
    /// the block, its free successor, or a free predecessor it slides into
    /// has room, else by moving it (copying `min(old_size, new_size)`
    /// bytes) to a block aligned to `align`. A block shrinking to half its
    /// size or less moves instead when a free block for it is at hand (not
    /// for first and next fit, not in the size build; never by growing the
    /// heap). `None` (the old allocation untouched) when out of memory.
    ///
    /// # Safety
    /// As [`LeanHeap::free`]; `old_size` is at most the size it was
    /// allocated (or last resized) with, and `align` is the alignment it was
    /// allocated with.
    #[inline]
    pub unsafe fn realloc(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize) -> Option<NonNull<u8>> {
        if new_size > MAX_SIZE {
            return None;
        }
        // SAFETY: forwarded to the caller.
        unsafe {
            // The next header is about `old_size` on: start loading it now,
            // so that it does not wait for this block's header to say where
            // it is (the block holds at least `old_size` bytes: caller, so
            // the guess is in the block or is the next header).
            prefetch(next_header_guess(ptr, old_size));
            let again = self.policy.place_growing_again();
            #[cfg(not(feature = "small"))]
            if let Some(p) = self.realloc_shrink_move(ptr, old_size, new_size, align) {
                return Some(p);
            }
            if let Some(p) = self.realloc_in_place(ptr, old_size, new_size, align, !again) {
                return Some(p);
            }
            if let Some(p) = self.realloc_move(ptr, old_size, new_size, align) {
                return Some(p);
            }
            if cfg!(feature = "small") && !again {
                // No quick lists to have flushed: nothing changed.
                return None;
            }
            // Out of memory; but the failed allocation flushed the quick
            // lists first, which may have freed a neighbour, and a policy
            // that wanted the block placed again takes what there is: look
            // again.
            self.realloc_in_place(ptr, old_size, new_size, align, true)
        }
    }

    /// `realloc` without a new block: shrink in place, grow into a free
    /// block after it, or slide down into a free block before it (not in
    /// the size build). `None`
    /// when none of them has room, or when the block would grow to more
    /// than twice its size and `grow` is false (the policy wants such a
    /// block placed again: [`Policy::place_growing_again`]).
    ///
    /// # Safety
    /// As [`LeanHeap::realloc`]; `new_size <= MAX_SIZE`.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    // (The size build, which does not slide, needs neither `old_size` nor `align`.)
    #[cfg_attr(feature = "small", allow(unused_variables))]
    unsafe fn realloc_in_place(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize, grow: bool) -> Option<NonNull<u8>> {
        let need = block_size::<P>(new_size);
        // SAFETY: as in `free`: `b` is a used block of this heap.
        unsafe {
            let b = Block::from_payload(ptr);
            let h = b.header();
            let size = (h & SIZE_MASK) as usize;
            debug_assert!(next_header_guess(ptr, old_size).addr() <= b.add(size).addr(), "realloc with an old size above the allocation's");
            if need <= size {
                self.shrink(b, h, size, need);
                return Some(ptr);
            }
            if !grow && need > size.saturating_mul(2) {
                return None;
            }
            let next = b.add(size);
            let nh = next.header();
            let total = size + (nh & SIZE_MASK) as usize;
            #[cfg(feature = "small")]
            if nh & USED == 0 && total >= need {
                // Grow over the free block after it, then give back what
                // is not needed.
                self.policy.remove(next);
                b.add(total).set_prev_used(true);
                b.set_header((h & !SIZE_MASK) | total as u64);
                self.shrink(b, h, total, need);
                return Some(ptr);
            }
            #[cfg(not(feature = "small"))]
            if nh & USED == 0 && total >= need {
                // Grow into the free block after it; what is left of it
                // keeps its index place.
                let tail = total - need;
                if tail >= Self::MIN {
                    self.replace_free(next, b.add(need), tail);
                    b.set_header((h & !SIZE_MASK) | need as u64);
                } else {
                    self.policy.remove(next);
                    b.add(total).set_prev_used(true);
                    b.set_header((h & !SIZE_MASK) | total as u64);
                }
                return Some(ptr);
            }
            #[cfg(not(feature = "small"))]
            if h & PREV_USED == 0 {
                // Slide down into the free block before it (and take the
                // free block after it too): the same bytes move as with a
                // new block, without searching, and the hole gets filled.
                // Its size from its footer (no read of its header, a
                // cache miss when the slide does not happen).
                let p = b.prev();
                let psize = b.addr() - p.addr();
                let avail = psize + if nh & USED == 0 { total } else { size };
                let to = p.payload();
                let n = old_size.min(new_size);
                if avail >= need && to.as_ptr().addr() & (align - 1) == 0 {
                    if slow_copy(ptr.as_ptr(), to.as_ptr(), n) {
                        // A block free right now makes the copy several
                        // times faster; without one, slide all the same.
                        if let Some(moved) = self.move_at_hand(ptr, old_size, new_size, align, None) {
                            return Some(moved);
                        }
                    }
                    self.policy.remove(p);
                    if nh & USED == 0 {
                        self.policy.remove(next);
                    }
                    ptr::copy(ptr.as_ptr(), to.as_ptr(), n);
                    let ph = p.header() & PREV_USED;
                    p.set_header(avail as u64 | USED | ph);
                    if avail - need < Self::MIN {
                        p.add(avail).set_prev_used(true);
                    }
                    self.shrink(p, USED | ph, avail, need);
                    return Some(to);
                }
            }
        }
        None
    }

    /// Gives the tail of used block `b` (header `h`, `size` bytes) beyond
    /// `need` bytes back, merged with a free block after it, when it makes
    /// a block.
    ///
    /// # Safety
    /// `b` is a used block of this heap with header `h` (flags) and size
    /// `size`; `need <= size`.
    #[inline]
    unsafe fn shrink(&mut self, b: Block, h: u64, size: usize, need: usize) {
        let tail = size - need;
        if tail < Self::MIN {
            return;
        }
        #[cfg(feature = "small")]
        // SAFETY: the tail lies inside `b`; the size build makes it a used
        // block and releases it (merged with a free block after it).
        unsafe {
            b.set_header((h & !SIZE_MASK) | need as u64);
            let h = tail as u64 | USED | PREV_USED;
            b.add(need).set_header(h);
            self.release(b.add(need), h);
        }
        #[cfg(not(feature = "small"))]
        // SAFETY: the tail lies inside `b`; the next header is valid (caller).
        unsafe {
            b.set_header((h & !SIZE_MASK) | need as u64);
            let t = b.add(need);
            let next = b.add(size);
            let nh = next.header();
            if nh & USED == 0 {
                self.replace_free(next, t, tail + (nh & SIZE_MASK) as usize);
            } else {
                next.set_header(nh & !PREV_USED);
                t.write_free(tail, true);
                self.policy.insert_sized(t, tail);
            }
        }
    }

    /// A block shrinking to half its size or less moves, when a free block
    /// for its new size is at hand (the fast path or one search of a policy
    /// with a fast index, [`Policy::fast_index`]: never by growing the
    /// heap), so that the run it sat in comes free whole
    /// instead of staying cut by a small block; else `None` (it shrinks in
    /// place). Heap efficiency (the benchmark's, best / segregated fit):
    /// 92.6 / 92.3 % → 94.6 / 94.0 %; moving every shrinking block gave
    /// 94.9 / 94.6 % but 12 % fewer random actions ≤30 KB, half or less
    /// about 5 %.
    ///
    /// # Safety
    /// As [`LeanHeap::realloc`].
    #[cfg(not(feature = "small"))]
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn realloc_shrink_move(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize) -> Option<NonNull<u8>> {
        if !self.policy.fast_index() {
            // First and next fit would walk their whole list for it.
            return None;
        }
        // SAFETY: `ptr` is a live payload of this heap (caller).
        let (b, size) = unsafe {
            let b = Block::from_payload(ptr);
            (b, b.size())
        };
        if block_size::<P>(new_size).saturating_mul(2) > size {
            return None;
        }
        // Not a block cut from the free block right after it: that would
        // split the run it is meant to free (shrinking in place merges the
        // tail into that block instead).
        // SAFETY: `b + size` is the header after `b`, compared only;
        // the rest is forwarded to the caller.
        unsafe { self.move_at_hand(ptr, old_size, new_size, align, Some(b.add(size))) }
    }

    /// A block for `size` bytes that is free right now: the fast path or
    /// one search of the policy; no flush, no growth.
    #[cfg(not(feature = "small"))]
    fn alloc_at_hand(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if let Some(p) = self.alloc_fast(size, align) {
            return Some(p);
        }
        let req = Request::new(size, align, GRANULE, Self::MIN);
        // SAFETY: every indexed block is a valid free block of this heap.
        let fit = unsafe { self.policy.find(&req, &mut NoObserver) }.fit?;
        // SAFETY: the policy found `fit` among our free blocks.
        Some(unsafe { self.place_found(fit) })
    }

    /// `to`, just allocated for `size` bytes and empty, would take a slow
    /// copy of `n` bytes from `from` ([`slow_copy`]): another block free
    /// right now that would not replaces it (`to` given back). The block to
    /// copy to.
    #[cfg(not(feature = "small"))]
    fn unslow(&mut self, from: NonNull<u8>, to: NonNull<u8>, n: usize, size: usize, align: usize) -> NonNull<u8> {
        if !slow_copy(from.as_ptr(), to.as_ptr(), n) {
            return to;
        }
        let other = self.alloc_at_hand(size, align);
        let (keep, give) = match other {
            Some(o) if !slow_copy(from.as_ptr(), o.as_ptr(), n) => (o, Some(to)),
            _ => (to, other),
        };
        if let Some(g) = give {
            // SAFETY: `g` was just allocated here and holds nothing yet.
            unsafe { self.free(g) };
        }
        keep
    }

    /// Moves the allocation at `ptr` to a block free right now
    /// ([`LeanHeap::alloc_at_hand`]) other than `not`; `None` (nothing
    /// changed) when there is none, or when the copy there would be a slow
    /// one ([`slow_copy`]).
    ///
    /// # Safety
    /// As [`LeanHeap::realloc`].
    #[cfg(not(feature = "small"))]
    unsafe fn move_at_hand(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize, not: Option<Block>) -> Option<NonNull<u8>> {
        let n = old_size.min(new_size);
        let to = self.alloc_at_hand(new_size, align)?;
        let to = self.unslow(ptr, to, n, new_size, align);
        // SAFETY: `to` is a payload of this heap.
        if slow_copy(ptr.as_ptr(), to.as_ptr(), n) || Some(unsafe { Block::from_payload(to) }) == not {
            // SAFETY: `to` was just allocated here and holds nothing yet.
            unsafe { self.free(to) };
            return None;
        }
        // SAFETY: distinct live blocks of at least `n` bytes (`old_size` is
        // at most the old one's size: caller).
        Some(unsafe { self.move_to(ptr, to, n) })
    }

    /// The end of every move: copies `n` bytes from the allocation at `ptr`
    /// to `to`, frees `ptr`'s block, returns `to`.
    ///
    /// # Safety
    /// `ptr` and `to` are distinct live allocations of this heap, each of at
    /// least `n` bytes; `ptr` is not used again.
    #[inline]
    unsafe fn move_to(&mut self, ptr: NonNull<u8>, to: NonNull<u8>, n: usize) -> NonNull<u8> {
        // SAFETY: forwarded to the caller; distinct blocks do not overlap.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), to.as_ptr(), n);
            self.free(ptr);
        }
        to
    }

    /// `realloc` that moves: allocate, copy, free.
    #[inline(never)]
    fn realloc_move(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize) -> Option<NonNull<u8>> {
        let to = self.alloc_pow2(new_size, align)?;
        let n = old_size.min(new_size);
        // Another block free right now makes a slow copy several times
        // faster (not in the size build: 49 bytes of wasm).
        #[cfg(not(feature = "small"))]
        let to = self.unslow(ptr, to, n, new_size, align);
        // SAFETY: both are live allocations of this heap, distinct blocks,
        // each at least `min(old_size, new_size)` bytes (caller of `realloc`).
        Some(unsafe { self.move_to(ptr, to, n) })
    }

    /// Returns every block on the quick lists to the free list, merged with
    /// its free neighbours; whether there were any. The heap does this by
    /// itself before it grows; call it to see the fully merged heap
    /// (`check` and `stats` are right either way). Always false in the size
    /// build (feature `small`), which keeps no quick lists.
    pub fn flush(&mut self) -> bool {
        if cfg!(feature = "small") {
            // The size build keeps no quick lists.
            return false;
        }
        let mut any = false;
        for i in 0..QUICK_LISTS {
            let mut cur = self.quick[i].take();
            while let Some(b) = cur {
                // SAFETY: quick blocks are used blocks of this heap with
                // link 0 written by `free`; it is read before `release`
                // rewrites the block.
                unsafe {
                    cur = b.next_free();
                    let h = b.header() & !QUICK;
                    b.set_header(h);
                    self.release(b, h);
                }
                any = true;
            }
        }
        any
    }

    /// The usable bytes of the allocation at `ptr` (at least what was asked).
    ///
    /// # Safety
    /// `ptr` is a live allocation of this heap.
    pub unsafe fn usable_size(&self, ptr: NonNull<u8>) -> usize {
        // SAFETY: a live payload has its header before it (caller).
        unsafe { Block::from_payload(ptr).size() - HEADER }
    }

    /// Obtains memory for a block of `bytes` bytes: extends the newest
    /// segment when the source's memory is contiguous with it, else starts
    /// a segment. Unless `whole`, asks only for what the segment's free tail
    /// lacks.
    fn grow(&mut self, bytes: usize, whole: bool) -> Option<()> {
        // SAFETY: `last`, when set, is a segment base of this heap with a
        // valid segment head; its epilogue is its last 8 bytes and, when the
        // epilogue's prev-used bit is clear, a free block with a footer is
        // before it. The source's memory is fresh and ours; the used block
        // written over it is released (merged and indexed).
        unsafe {
            let mut want = bytes;
            let mut end = ptr::null_mut();
            let mut seg_len = 0;
            if !self.last.is_null() {
                seg_len = segment_len(self.last);
                end = self.last.add(seg_len);
                let e = Block::from_header(NonNull::new_unchecked(end.sub(HEADER)));
                if !whole && !e.prev_used() {
                    want = bytes.saturating_sub(e.prev().size()).max(1);
                }
            }
            // Memory contiguous with the segment needs no room for a
            // segment head: its epilogue becomes the new block's header.
            let slack = if end.is_null() || whole { FIRST_BLOCK + HEADER } else { 0 };
            let (p, len) = self.source.grow(want.checked_add(slack)?)?;
            let p = p.as_ptr();
            let (b, size, prev) = if p == end && seg_len + len <= MAX_BLOCK {
                // Contiguous: the old epilogue becomes the header of a
                // block over the new memory.
                set_segment_len(self.last, seg_len + len);
                let e = Block::from_header(NonNull::new_unchecked(end.sub(HEADER)));
                (e, len, e.header() & PREV_USED)
            } else {
                // A new segment, linked to the one before.
                let size = (len - FIRST_BLOCK - HEADER).min(MAX_BLOCK) & !(GRANULE - 1);
                if size < Self::MIN {
                    return None;
                }
                p.cast::<*mut u8>().write(self.last);
                set_segment_len(p, FIRST_BLOCK + size + HEADER);
                self.last = p;
                (Block::from_header(NonNull::new_unchecked(p.add(FIRST_BLOCK))), size, PREV_USED)
            };
            // A used block over the new memory, then released: merged with
            // a free block before it and indexed.
            let h = size as u64 | USED | prev;
            b.set_header(h);
            b.add(size).write_epilogue(true);
            self.release(b, h);
            Some(())
        }
    }

    /// Visits every segment, newest first, with its base and length.
    fn segments(&self, mut f: impl FnMut(*mut u8, usize)) {
        let mut s = self.last;
        while !s.is_null() {
            // SAFETY: every segment head was written by `grow`.
            let (len, prev) = unsafe { (segment_len(s), s.cast::<*mut u8>().read()) };
            f(s, len);
            s = prev;
        }
    }

    /// Walks every block: `f(block, size, used)`; stops at the first error.
    fn walk(&self, mut f: impl FnMut(Block, usize, bool) -> Result<(), CheckError>) -> Result<(), CheckError> {
        let mut r = Ok(());
        self.segments(|base, len| {
            if r.is_err() {
                return;
            }
            let end = base.addr() + len - HEADER;
            // SAFETY: the segment's first block is at FIRST_BLOCK; each size
            // is checked to stay inside the segment before moving on.
            unsafe {
                let mut b = Block::from_header(NonNull::new_unchecked(base.add(FIRST_BLOCK)));
                let mut prev_used = true;
                while b.addr() < end {
                    let h = b.header();
                    let size = (h & SIZE_MASK) as usize;
                    if size < Self::MIN || !size.is_multiple_of(GRANULE) || b.addr() + size > end {
                        r = Err(CheckError::new(b.addr(), "block size out of its segment"));
                        return;
                    }
                    if (h & PREV_USED != 0) != prev_used {
                        r = Err(CheckError::new(b.addr(), "prev-used bit does not match the previous block"));
                        return;
                    }
                    let used = h & USED != 0;
                    if !used && (!prev_used || b.footer() != size as u64) {
                        r = Err(CheckError::new(b.addr(), "free block next to a free block, or without its footer"));
                        return;
                    }
                    if let Err(e) = f(b, size, used) {
                        r = Err(e);
                        return;
                    }
                    prev_used = used;
                    b = b.add(size);
                }
                let h = b.header();
                if b.addr() != end || h & SIZE_MASK != 0 || h & USED == 0 || (h & PREV_USED != 0) != prev_used {
                    r = Err(CheckError::new(b.addr(), "segment does not end with its epilogue"));
                }
            }
        });
        r
    }

    /// Walks every block and the policy's index: sizes, flags, footers, no
    /// adjacent free blocks, and the index holding exactly the free blocks.
    ///
    /// # Errors
    /// The first broken invariant.
    pub fn check(&self) -> Result<(), CheckError> {
        let (mut free, mut quick) = (0, 0);
        self.walk(|b, _, used| {
            // SAFETY: the walk hands out valid blocks.
            if used && unsafe { b.header() } & QUICK != 0 {
                quick += 1;
            }
            if !used {
                free += 1;
                // SAFETY: `b` is a valid free block (walk checked its header).
                if !unsafe { self.policy.contains(b) } {
                    return Err(CheckError::new(b.addr(), "free block missing from the free list"));
                }
            }
            Ok(())
        })?;
        if free != self.policy.len() {
            return Err(CheckError::new(0, "free list holds blocks that are not free"));
        }
        let mut listed = 0;
        for (i, list) in self.quick.iter().enumerate() {
            let mut cur = *list;
            while let Some(b) = cur {
                listed += 1;
                if listed > quick {
                    return Err(CheckError::new(b.addr(), "quick lists hold more blocks than the heap marks quick (cycle?)"));
                }
                // SAFETY: listed blocks were marked quick by the walk above
                // (so they are blocks of this heap) unless the count check
                // fails first.
                let h = unsafe { b.header() };
                if h & (USED | QUICK) != USED | QUICK || (h & SIZE_MASK) as usize != i * GRANULE {
                    return Err(CheckError::new(b.addr(), "quick list holds a block of another size or not marked quick"));
                }
                // SAFETY: as above; link 0 of a quick block is its list link.
                cur = unsafe { b.next_free() };
            }
        }
        if listed != quick {
            return Err(CheckError::new(0, "a block marked quick is on no quick list"));
        }
        // SAFETY: the index holds exactly this heap's free blocks (above).
        unsafe { self.policy.check() }
    }

    /// Figures from a walk over every block (O(blocks)).
    pub fn stats(&self) -> LeanStats {
        let mut s = LeanStats::default();
        self.segments(|_, len| {
            s.segments += 1;
            s.segment_bytes += len;
        });
        let _ = self.walk(|b, size, used| {
            // SAFETY: the walk hands out valid blocks.
            if used && unsafe { b.header() } & QUICK != 0 {
                s.quick_blocks += 1;
                s.quick_bytes += size;
            } else if used {
                s.used_blocks += 1;
                s.used_bytes += size;
            } else {
                s.free_blocks += 1;
                s.free_bytes += size;
                s.largest_free = s.largest_free.max(size);
            }
            Ok(())
        });
        s
    }
}

/// Whether copying `n` bytes from `from` to `to` is a known slow case of
/// `memcpy` worth avoiding: a destination 16 bytes past the source modulo
/// 4 KiB makes `rep movsb` several times slower on AMD Zen (measured here:
/// a 20 KB copy takes 5–7× as long, in glibc 2.36's `memcpy` and in V8's
/// `copyWithin`; 32-byte granules never produce it), for copies of at least
/// 1 KiB. `realloc` avoids such a destination when another block is free.
#[inline]
pub fn slow_copy(from: *const u8, to: *const u8, n: usize) -> bool {
    n >= SLOW_COPY_MIN && to.addr().wrapping_sub(from.addr()) % 4096 == 16
}

/// Where the header after the block of payload `ptr` is when that block is
/// just big enough for `size` bytes (the common case; any `size` is fine:
/// this only computes an address).
#[inline(always)]
fn next_header_guess(ptr: NonNull<u8>, size: usize) -> *const u8 {
    let block = size.wrapping_add(HEADER + GRANULE - 1) & !(GRANULE - 1);
    ptr.as_ptr().wrapping_add(block.wrapping_sub(HEADER))
}

/// Starts loading the cache line at `p`, for a header that will be read
/// after another load that misses the cache: both misses then overlap
/// instead of following each other. On x86_64 a prefetch instruction; in
/// wasm, which has none, a one-byte load whose value is dropped; elsewhere,
/// and in the size build, nothing.
///
/// # Safety
/// `p` is readable memory of this heap (in wasm the hint is a real load,
/// which would trap outside the memory).
#[inline(always)]
unsafe fn prefetch(p: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(feature = "small")))]
    // SAFETY: a prefetch is only a hint; it never faults, whatever `p` is.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(all(target_family = "wasm", not(feature = "small")))]
    // SAFETY: `p` is readable (caller); a `MaybeUninit` byte may hold any
    // value, and a volatile load is kept although its value is dropped.
    unsafe {
        p.cast::<core::mem::MaybeUninit<u8>>().read_volatile();
    }
    #[cfg(any(feature = "small", not(any(target_arch = "x86_64", target_family = "wasm"))))]
    let _ = p;
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
const _: () = assert!(FOOTER == HEADER);
