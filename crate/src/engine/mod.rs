//! The block engine: the one allocator both heaps run.
//!
//! [`Engine`] owns everything that happens to blocks: carving a used block
//! from a free one (alignment gap, split), releasing a block (merging it
//! with its free neighbours), the quick lists (deferred merging of small
//! blocks), realloc (shrink, grow into the next block, slide into the
//! previous one, move; a block shrinking to half its size moves when a
//! free block is at hand), growth (new memory becomes a block and is
//! released), the integrity walk and the figures ([`Engine::check_with`], [`Engine::figures`]).
//!
//! It is generic over the fit [`Policy`] and over [`Hooks`]: what a face
//! adds. Every hook has a default that does nothing and is a constant or an
//! `#[inline(always)]` function, so a face that uses none pays for none
//! (the pattern of [`Observer::ENABLED`]).
//!
//! ```text
//!                 Engine<P, H>  (this module)
//!                /             \
//!   LeanHeap = Engine<P, Segments<S>>        Heap = Engine<P, Checked<S, O>>
//!   (crate::lean): segments written in       (crate::heap): arenas of pages,
//!   memory, no events; the                   page map, live bitmap, large
//!   #[global_allocator] face                 objects, validated frees,
//!                                            counters, events; the
//!                                            playground's face
//! ```
//!
//! # Blocks
//!
//! [`crate::block`]'s: an 8-byte header (size, used, prev-used), a footer
//! on free blocks. A face keeps blocks in *regions* (lean: segments;
//! checked: arenas), each a run of blocks ending with an epilogue; the
//! engine finds them through [`Hooks::next_region`].
//!
//! # Quick lists
//!
//! For policies with a fast index ([`Policy::fast_index`]) and when the face
//! allows ([`Hooks::quick_lists`]), a freed block of up to [`QUICK_MAX`]
//! bytes goes on a list per exact size, still marked used and [`QUICK`],
//! and serves the next request of that size with two loads and a store
//! (for best fit, unless it lies right before the wilderness,
//! which it then joins at once: [`PolicyKind::merge_before_tail`]).
//! [`Engine::flush`] merges them all back (before the heap grows, or when
//! asked).
//!
//! [`PolicyKind::merge_before_tail`]: crate::policy::PolicyKind::merge_before_tail
//!
//! # Two builds
//!
//! What the speed build and the size build (crate feature `small`) do
//! differently lives in two modules with the same items, of which one is
//! compiled: `fast.rs` (the fast path with quick lists, placement and
//! merging that keep index places, the realloc slide and shrink-move,
//! copy steering, early loads) and `small.rs` (one search, [`Policy::take`],
//! of a block of [`Request::worst_case`] bytes; a free block that changes
//! is removed and inserted again; the rest of a block split off is
//! released as a used block would be; what the speed build has beyond that
//! is nothing there). This module is the engine both run.

mod walk;

/// The paths of the build being compiled (see "Two builds" above).
#[cfg(not(feature = "small"))]
#[path = "fast.rs"]
mod build;
#[cfg(feature = "small")]
#[path = "small.rs"]
mod build;

pub(crate) use build::prefetch;

pub use walk::{Figures, Kind};

use core::ptr::{self, NonNull};

use crate::block::{round_up, Block, Request, HEADER, MAX_BLOCK, PREV_USED, SIZE_MASK, USED};
use crate::events::{Event, Observer};
use crate::pages::PAGE;
use crate::policy::Policy;

/// The granule of a face that does not choose one: payload alignment and
/// block size unit, 16 bytes (as `malloc` aligns on 64-bit targets).
pub const GRANULE: usize = 16;
/// Largest alignment either face accepts: one page (the checked face's
/// large objects are page runs, and a used block's header records log2 of
/// its alignment in four bits).
pub const MAX_ALIGN: usize = PAGE;
/// Largest request either face accepts (block sizes live in 32 header
/// bits; two pages of room for the alignment gap and the headers).
pub const MAX_SIZE: usize = MAX_BLOCK - 2 * PAGE;
/// Largest block kept on a quick list when freed.
pub const QUICK_MAX: usize = 256;
/// Number of quick lists: one per block size up to [`QUICK_MAX`], 8 bytes
/// apart (the smallest granule).
const QUICK_LISTS: usize = QUICK_MAX / 8 + 1;
/// Header bits of a block on a quick list (a used block whose header says
/// log2(alignment) = 15, which no used block records: alignments stop at
/// [`MAX_ALIGN`] = 2^12).
pub const QUICK: u64 = 0xF << 60;
/// Copies of at least this many bytes are steered away from a slow
/// distance ([`slow_copy`]).
const SLOW_COPY_MIN: usize = 1024;

/// Memory for a new block, from [`Hooks::grow`]: the engine writes a used
/// block of `size` bytes at `block` (its prev-used flag `prev`), an
/// epilogue after it, and releases it (merged with a free block before).
#[derive(Clone, Copy, Debug)]
pub struct Grown {
    /// Where the block's header goes (a region's old epilogue when the
    /// region grew, else the new region's first block).
    pub block: Block,
    /// The block's size; `block + size` is the new epilogue.
    pub size: usize,
    /// [`PREV_USED`] or 0: the flag the block's header gets.
    pub prev: u64,
}

/// What a face adds to the engine. Every hook but [`Hooks::grow`] and
/// [`Hooks::next_region`] has a default that does nothing; the engine asks
/// each one where it would act, and a default compiles to nothing. Events
/// go through the [`Observer`] supertrait (`ENABLED = false`: none built).
pub trait Hooks: Observer {
    /// Whether a released block is left as a *free* header (size, no used
    /// bit) when it merges into the free block before it, so that a second
    /// free of it is told apart from a bad address (when the header lies
    /// past the link words of that block: best effort).
    const STALE_HEADERS: bool = false;
    /// Whether [`Hooks::region_free`] is asked after every merge.
    const RELEASES_REGIONS: bool = false;
    /// Whether an allocation that fails must leave the heap as it was: the
    /// quick lists are flushed and deferred merges done only when that
    /// serves the request (else before every growth).
    const EXACT_FAILURE: bool = false;
    /// Whether [`Hooks::grow_after`] is asked when a growing block ends
    /// its region.
    const GROWS_IN_PLACE: bool = false;
    /// How many times an allocation grows the heap before it fails.
    const GROW_ATTEMPTS: usize = build::GROW_ATTEMPTS;
    /// The granule: payload alignment and block size unit (8 or 16).
    #[inline(always)]
    fn granule(&self) -> usize {
        GRANULE
    }
    /// The smallest block for a policy whose links need `policy_min` bytes:
    /// that rounded to the granule (a face with a runtime granule may keep
    /// it, as its policy is fixed).
    #[inline(always)]
    fn min_block(&self, policy_min: usize) -> usize {
        round_up(policy_min, self.granule())
    }
    /// Split a block only when the rest is at least this many bytes (raised
    /// to the minimum block).
    #[inline(always)]
    fn split_min(&self) -> usize {
        0
    }
    /// Deferred coalescing: `free` indexes a block without merging it;
    /// [`Engine::sweep`] merges.
    #[inline(always)]
    fn deferred(&self) -> bool {
        false
    }
    /// Whether small freed blocks may wait on quick lists, and a block
    /// shrinking to half its size or less may move (the fast-index extras,
    /// for policies with a fast index).
    #[inline(always)]
    fn quick_lists(&self) -> bool {
        true
    }
    /// Bits (above the size and flags) every used block the engine hands
    /// out gets in its header: the checked face's record of the request
    /// (written with the header, never read back: a load right after the
    /// store to the same word waits for it).
    #[inline(always)]
    fn used_bits(&self) -> u64 {
        0
    }
    /// A search examined `n` free blocks.
    #[inline(always)]
    fn examined(&mut self, n: usize) {
        let _ = n;
    }
    /// Free block `b` of `size` bytes (indexed) now spans a whole region;
    /// return true to take the region back (the engine then removes `b`
    /// from the index). Asked only when [`Hooks::RELEASES_REGIONS`].
    #[inline(always)]
    fn region_free(&mut self, b: Block, size: usize) -> bool {
        let _ = (b, size);
        false
    }
    /// Memory for a free block of at least `bytes` bytes; `attempt` counts
    /// the growths of this allocation so far. `None`: no more memory.
    fn grow(&mut self, bytes: usize, attempt: usize) -> Option<Grown>;
    /// Grows the region whose epilogue is `epilogue` in place by at least
    /// `bytes` bytes (for a block at its end that grows): the epilogue
    /// becomes the new block. A face whose memory may come elsewhere after
    /// all returns that memory as [`Hooks::grow`] would (a new region's
    /// block), and the engine keeps it. Asked only when
    /// [`Hooks::GROWS_IN_PLACE`].
    #[inline(always)]
    fn grow_after(&mut self, epilogue: Block, bytes: usize) -> Option<Grown> {
        let _ = (epilogue, bytes);
        None
    }
    /// The region after the one whose first block is `after` (the first
    /// region for `None`): its first block and its epilogue's address.
    fn next_region(&self, after: Option<Block>) -> Option<(Block, usize)>;
}

/// The block engine over policy `P` with hooks `H`. See the module docs.
pub struct Engine<P: Policy, H: Hooks> {
    /// Index of exactly the free blocks (not the quick ones).
    pub(crate) policy: P,
    /// Quick lists: `quick[size / 8]` holds freed blocks of exactly `size`
    /// bytes (up to [`QUICK_MAX`]), linked through link 0, still marked
    /// used (and [`QUICK`]) so that nothing merges with them.
    quick: [Option<Block>; QUICK_LISTS],
    /// Deferred coalescing: a free since the last sweep left free
    /// neighbours unmerged.
    dirty: bool,
    /// What the face adds.
    pub(crate) hooks: H,
}

// SAFETY: the engine owns its blocks exclusively (the face's memory);
// moving it moves that ownership. Block handles inside it point only into
// that memory.
unsafe impl<P: Policy + Send, H: Hooks + Send> Send for Engine<P, H> {}

impl<P: Policy, H: Hooks> Engine<P, H> {
    /// An engine with `policy`'s index (empty) and `hooks`.
    pub const fn new(policy: P, hooks: H) -> Self {
        Engine { policy, quick: [None; QUICK_LISTS], dirty: false, hooks }
    }

    /// Forgets every block (quick lists and index); the memory is not
    /// touched.
    pub fn clear(&mut self, policy: P) {
        self.policy = policy;
        self.quick = [None; QUICK_LISTS];
        self.dirty = false;
    }

    /// The granule.
    #[inline(always)]
    pub fn granule(&self) -> usize {
        self.hooks.granule()
    }

    /// Smallest block: header, the policy's links and a footer, rounded to
    /// the granule.
    #[inline(always)]
    pub fn min_block(&self) -> usize {
        self.hooks.min_block(P::MIN_BLOCK)
    }

    /// Smallest rest worth splitting off.
    #[inline(always)]
    fn split_min(&self) -> usize {
        let (s, m) = (self.hooks.split_min(), self.min_block());
        if s > m {
            s
        } else {
            m
        }
    }

    /// The block size serving `size` payload bytes.
    #[inline(always)]
    pub fn need(&self, size: usize) -> usize {
        let g = self.granule();
        let need = round_up(size + HEADER, g);
        let min = self.min_block();
        if need < min {
            min
        } else {
            need
        }
    }

    /// A request as the policies see it (`size`, `align` in range).
    #[inline(always)]
    pub fn request(&self, size: usize, align: usize) -> Request {
        Request::new(size, align, self.granule(), self.min_block())
    }

    /// Whether quick lists are in use: built in, and for a policy with a
    /// fast index and a face that allows them.
    #[inline(always)]
    fn quick_on(&self) -> bool {
        build::HAS_QUICK_LISTS && self.policy.fast_index() && self.hooks.quick_lists()
    }

    #[inline(always)]
    fn emit(&mut self, e: Event) {
        if H::ENABLED {
            self.hooks.event(e);
        }
    }

    // ----------------------------------------------------------------- alloc

    /// Allocates `size` bytes aligned to `align` (raised to the granule),
    /// growing the heap when needed. `None` when out of memory, or when
    /// `size` is above [`MAX_SIZE`] or `align` above [`MAX_ALIGN`] or not a
    /// power of two.
    #[inline]
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if !align.is_power_of_two() {
            return None;
        }
        self.alloc_pow2(size, align)
    }

    /// [`Engine::alloc`] for an `align` known to be a power of two.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub fn alloc_pow2(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        debug_assert!(align.is_power_of_two(), "alloc_pow2 needs a power-of-two alignment");
        if let Some(p) = self.alloc_fast(size, align) {
            return Some(p);
        }
        self.alloc_slow(size, align)
    }

    /// Over-aligned requests, bad arguments, and growing the heap until the
    /// request fits. The size build, which has no fast path, comes here for
    /// every request.
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc_slow(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if size > MAX_SIZE || align > MAX_ALIGN {
            return None;
        }
        let req = self.request(size, align);
        let mut grown = 0;
        loop {
            if let Some(p) = self.search_place(&req) {
                return Some(p);
            }
            if grown == H::GROW_ATTEMPTS {
                return None;
            }
            if grown == 0 && self.merge_pending(req.worst_case()) {
                // Blocks came back from the quick lists (or were merged):
                // search again before growing.
                continue;
            }
            self.grow(req.worst_case(), grown)?;
            grown += 1;
        }
    }

    /// Flushes the quick lists, and does the deferred merges if there are
    /// any; whether anything changed. For a face with
    /// [`Hooks::EXACT_FAILURE`] only if that makes a free block of `want`
    /// bytes: a request that then fails leaves the heap as it was, quick
    /// blocks included.
    fn merge_pending(&mut self, want: usize) -> bool {
        // (A face that never defers has nothing to sweep, and the size
        // build no quick lists: then none of this is compiled in.)
        let quick = build::HAS_QUICK_LISTS && self.quick.iter().any(Option::is_some);
        let sweep = self.hooks.deferred() && self.dirty;
        if !(quick || sweep) {
            return false;
        }
        // (Judged by the quick blocks' neighbours when only a flush is
        // pending: a walk over every block on each growth cost 9 % of the
        // malloc-lab traces.)
        if H::EXACT_FAILURE && !if sweep { self.largest_run() >= want } else { self.flush_reaches(want) } {
            return false;
        }
        let flushed = quick && self.flush();
        let swept = sweep && self.sweep() > 0;
        flushed || swept
    }

    /// Obtains memory for a free block of `bytes` bytes from the face.
    fn grow(&mut self, bytes: usize, attempt: usize) -> Option<()> {
        let g = self.hooks.grow(bytes, attempt)?;
        let h = g.size as u64 | USED | g.prev;
        // SAFETY: the face handed over `g.size + 8` bytes at `g.block` (the
        // old epilogue of a region or a new region's first block), and a
        // free block before it, when `g.prev` is 0, has its footer.
        unsafe {
            g.block.set_header(h);
            g.block.add(g.size).write_epilogue(true);
            self.merge_in(g.block, h, true);
        }
        Some(())
    }

    // ------------------------------------------------------------------ free

    /// Frees the block at `ptr`: onto its quick list, or merged with free
    /// neighbours.
    ///
    /// # Safety
    /// `ptr` is a live allocation of this engine, not freed yet (not
    /// validated here: the checked face validates before).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub unsafe fn free(&mut self, ptr: NonNull<u8>) {
        // SAFETY: `ptr` is a live payload of this heap (caller).
        unsafe {
            let b = Block::from_payload(ptr);
            let h = b.header();
            debug_assert!(h & USED != 0 && h & QUICK != QUICK, "free of a block that is not used");
            let size = (h & SIZE_MASK) as usize;
            // Small: onto its quick list, still used, not merged; but for
            // best fit a block right before the wilderness merges
            // into it at once, so that the heap's end stays one free block
            // (`PolicyKind::merge_before_tail`).
            if size <= QUICK_MAX && self.quick_on() && !(self.policy.merge_before_tail() && self.policy.is_tail(b.add(size))) {
                let q = &mut self.quick[size / 8];
                b.set_next_free(*q);
                *q = Some(b);
                // Size and flags only: a request recorded above them (the
                // checked face's) goes with the allocation.
                b.set_header((h & 0xFFFF_FFFF) | QUICK);
                self.emit(Event::QuickPut { block: b.addr(), size });
                return;
            }
            // The merge out of line: the quick path then saves few
            // registers. Inlined, it made the global build's free a large
            // function whose speed with 10,000 live blocks swung between
            // 57 and 100 M actions/s with the code around the benchmark's
            // loop (docs/benchmarks.md, session 9); out of line it held
            // 72-104.
            self.release_outlined(b, h);
        }
    }

    /// [`Engine::release`], out of line (see [`Engine::free`]).
    ///
    /// # Safety
    /// As [`Engine::release`].
    #[inline(never)]
    unsafe fn release_outlined(&mut self, b: Block, h: u64) {
        // SAFETY: forwarded to the caller.
        unsafe { self.release(b, h) }
    }

    /// Returns used block `b` (header `h`) to the free list, merged with
    /// free neighbours (or only indexed, under deferred coalescing); then
    /// offers a block spanning its whole region back to the face.
    ///
    /// # Safety
    /// `b` is a used block of this heap that no one uses any more.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn release(&mut self, b: Block, h: u64) {
        // SAFETY: forwarded to the caller.
        let (m, size) = unsafe { self.merge_in(b, h, false) };
        if H::RELEASES_REGIONS {
            // SAFETY: `m` is an indexed free block of `size` bytes.
            unsafe { self.offer_region(m, size) };
        }
    }

    /// Whether free block `b` of `size` bytes ends its region (the epilogue
    /// follows), for a policy that keeps such a block apart
    /// ([`FreeIndex::KEEPS_TAIL`]; false at once for the others).
    ///
    /// # Safety
    /// The header after `b + size` is valid (a block or the epilogue).
    ///
    /// [`FreeIndex::KEEPS_TAIL`]: crate::policy::FreeIndex::KEEPS_TAIL
    #[inline(always)]
    pub(super) unsafe fn ends_region(&self, b: Block, size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        build::KEEPS_TAIL && P::KEEPS_TAIL && unsafe { b.add(size).header() } & SIZE_MASK == 0
    }

    /// Files free block `b` of `size` bytes (header written) in the index:
    /// as the policy's wilderness when it ends its region.
    ///
    /// # Safety
    /// As [`FreeIndex::insert_sized`]; the header after `b + size` is valid.
    ///
    /// [`FreeIndex::insert_sized`]: crate::policy::FreeIndex::insert_sized
    #[inline(always)]
    pub(super) unsafe fn index_insert(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let ends = self.ends_region(b, size);
            self.index_insert_known(b, size, ends);
        }
    }

    /// [`Engine::index_insert`] when the caller has the header after `b`
    /// at hand: `ends` says whether it is the epilogue.
    ///
    /// # Safety
    /// As [`Engine::index_insert`]; `ends` is true iff the epilogue follows
    /// `b`.
    #[inline(always)]
    pub(super) unsafe fn index_insert_known(&mut self, b: Block, size: usize, ends: bool) {
        // SAFETY: forwarded to the caller.
        unsafe {
            if build::KEEPS_TAIL && P::KEEPS_TAIL && ends {
                self.file_tail(b, size);
            } else {
                self.policy.insert_sized(b, size);
            }
        }
    }

    /// [`Engine::index_insert`] of a block that ends its region: one copy
    /// in wasm, where code size counts.
    ///
    /// # Safety
    /// As [`Engine::index_insert`].
    #[cfg_attr(target_family = "wasm", inline(never))]
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(super) unsafe fn file_tail(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.policy.insert_tail(b, size) }
    }

    /// Gives the region back when free block `m` (indexed) spans all of it
    /// and the face takes it.
    ///
    /// # Safety
    /// `m` is an indexed free block of this heap of `size` bytes.
    unsafe fn offer_region(&mut self, m: Block, size: usize) {
        // SAFETY: `m` is a valid free block (caller): its header and the
        // header after it (a block or the epilogue) are readable.
        let whole = unsafe { m.prev_used() && m.add(size).size() == 0 };
        if whole && self.hooks.region_free(m, size) {
            // SAFETY: `m` is indexed, its header unchanged.
            unsafe { self.policy.remove(m) };
        }
    }

    /// The merge of [`Engine::release`], returning the free block that
    /// holds `b` now and its size. `merge` forces merging under deferred
    /// coalescing.
    ///
    /// # Safety
    /// As [`Engine::release`].
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn merge_in(&mut self, b: Block, h: u64, merge: bool) -> (Block, usize) {
        // `b` is a used block (caller), so its header, the next header (a
        // block or the epilogue) and, when the prev-used bit is clear, the
        // previous block's footer are valid.
        let bsize = (h & SIZE_MASK) as usize;
        if !merge && self.hooks.deferred() {
            // SAFETY: as said above.
            unsafe {
                let next = b.add(bsize);
                b.write_free(bsize, h & PREV_USED != 0);
                self.index_insert(b, bsize);
                next.set_prev_used(false);
            }
            self.dirty = true;
            return (b, bsize);
        }
        // SAFETY: as said above.
        unsafe { self.merge_free(b, h, bsize) }
    }

    /// Calls `f(block size, block)` for every block waiting on the quick
    /// lists, list by list from the smallest size, each list in the order
    /// the allocation fast path takes its blocks (most recently freed
    /// first). Nothing in the size build, which keeps no quick lists.
    ///
    /// # Safety
    /// The quick lists' links must be intact (the heap's integrity walk,
    /// or a heap not written into, guarantees it).
    pub(crate) unsafe fn for_each_quick(&self, mut f: impl FnMut(usize, Block)) {
        if cfg!(feature = "small") {
            return;
        }
        for (i, list) in self.quick.iter().enumerate() {
            let mut cur = *list;
            while let Some(b) = cur {
                f(i * 8, b);
                // SAFETY: the caller vouches for the links; link 0 of a
                // quick block is its list link.
                cur = unsafe { b.next_free() };
            }
        }
    }

    /// Returns every block on the quick lists to the free list, merged with
    /// its free neighbours; whether there were any. The engine does this by
    /// itself before the heap grows; call it to see the fully merged heap.
    /// Always false in the size build, which keeps no quick lists.
    pub fn flush(&mut self) -> bool {
        if !build::HAS_QUICK_LISTS {
            // The size build keeps no quick lists.
            return false;
        }
        let mut blocks = 0;
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
                blocks += 1;
            }
        }
        if blocks > 0 {
            self.emit(Event::Flush { blocks });
        }
        blocks > 0
    }

    // --------------------------------------------------------------- realloc

    /// Resizes the allocation at `ptr` to `new_size` bytes: in place when
    /// the block, its free successor, or a free predecessor it slides into
    /// has room, else by moving it (copying `min(old_size, new_size)`
    /// bytes) to a block aligned to `align`. A block shrinking to half its
    /// size or less moves instead when a free block for it is at hand (not
    /// for first and next fit, not in the size build; never by growing the
    /// heap). `None` (the old allocation untouched) when out of memory.
    ///
    /// # Safety
    /// As [`Engine::free`]; `old_size` is at most the size it was allocated
    /// (or last resized) with, and `align` is the alignment it was
    /// allocated with.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
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
            prefetch(next_header_guess(ptr, old_size, self.granule()));
            let again = self.policy.place_growing_again();
            if let Some(p) = self.realloc_shrink_move(ptr, old_size, new_size, align) {
                return Some(p);
            }
            if let Some(p) = self.realloc_in_place(ptr, old_size, new_size, align, !again) {
                return Some(p);
            }
            if let Some(p) = self.realloc_move(ptr, old_size, new_size, align) {
                return Some(p);
            }
            if !build::HAS_QUICK_LISTS && !again {
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
    /// the size build). `None` when none of them has room, or when the
    /// block would grow to more than twice its size and `grow` is false
    /// (the policy wants such a block placed again:
    /// [`Policy::place_growing_again`]).
    ///
    /// # Safety
    /// As [`Engine::realloc`]; `new_size <= MAX_SIZE`.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(crate) unsafe fn realloc_in_place(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize, grow: bool) -> Option<NonNull<u8>> {
        let need = self.need(new_size);
        // SAFETY: as in `free`: `b` is a used block of this heap.
        unsafe {
            let b = Block::from_payload(ptr);
            let h = b.header();
            let size = (h & SIZE_MASK) as usize;
            debug_assert!(next_header_guess(ptr, old_size, self.granule()).addr() <= b.add(size).addr(), "realloc with an old size above the allocation's");
            if need <= size {
                self.shrink(b, h, size, need);
                return Some(ptr);
            }
            if !grow && need > size.saturating_mul(2) {
                return None;
            }
            let next = b.add(size);
            let mut nh = next.header();
            // (Only the end of a region can grow: the epilogue, or a free
            // block too small before it. The call is cold.)
            let nsize = (nh & SIZE_MASK) as usize;
            if H::GROWS_IN_PLACE && (nsize == 0 || (nh & USED == 0 && size + nsize < need)) && self.grow_after(next, nh, need - size) {
                nh = next.header();
            }
            let total = size + (nh & SIZE_MASK) as usize;
            if nh & USED == 0 && total >= need {
                self.grow_into_next(b, h, next, total, need);
                return Some(ptr);
            }
            self.slide(ptr, old_size, new_size, align, h, nh)
        }
    }

    /// When the block before `next` (header `nh`) ends its region, or only
    /// a free block is between it and the end, and that is `more` bytes too
    /// few: grows the region in place ([`Hooks::grow_after`]); whether it
    /// grew (the new memory merged into the free block after the block).
    ///
    /// # Safety
    /// `next` is the header after a used block of this heap, `nh` its value.
    #[cold]
    unsafe fn grow_after(&mut self, next: Block, nh: u64, more: usize) -> bool {
        let nsize = (nh & SIZE_MASK) as usize;
        // SAFETY: `next` is a block or the epilogue (caller); a free block
        // is followed by a header.
        unsafe {
            let (e, lack) = if nsize == 0 {
                (next, more)
            } else if nh & USED == 0 && next.add(nsize).size() == 0 && nsize < more {
                (next.add(nsize), more - nsize)
            } else {
                return false;
            };
            if nsize >= more {
                return false;
            }
            let Some(g) = self.hooks.grow_after(e, lack) else { return false };
            let h = g.size as u64 | USED | g.prev;
            g.block.set_header(h);
            g.block.add(g.size).write_epilogue(true);
            self.merge_in(g.block, h, true);
            // Memory that came elsewhere is a new region's free block, for
            // the move that follows.
            g.block == e
        }
    }

    /// Gives the tail of used block `b` (header `h`, `size` bytes) beyond
    /// `need` bytes back, merged with a free block after it, when it makes
    /// a block worth splitting off.
    ///
    /// # Safety
    /// `b` is a used block of this heap with header `h` (flags) and size
    /// `size`; `need <= size`.
    #[inline]
    unsafe fn shrink(&mut self, b: Block, h: u64, size: usize, need: usize) {
        let tail = size - need;
        if tail >= self.split_min() {
            // SAFETY: forwarded to the caller.
            unsafe { self.split_tail(b, h, size, need) }
        }
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
        // faster (not in the size build).
        let to = self.unslow(ptr, to, n, new_size, align);
        // SAFETY: both are live allocations of this heap, distinct blocks,
        // each at least `min(old_size, new_size)` bytes (caller of `realloc`).
        Some(unsafe { self.move_to(ptr, to, n) })
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
pub(crate) fn next_header_guess(ptr: NonNull<u8>, size: usize, granule: usize) -> *const u8 {
    let block = size.wrapping_add(HEADER + granule - 1) & !(granule - 1);
    ptr.as_ptr().wrapping_add(block.wrapping_sub(HEADER))
}
