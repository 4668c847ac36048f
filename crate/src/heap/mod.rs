//! The checked heap: the [`Engine`] with the hooks of the playground's face
//! ([`Checked`]): arenas of pages from a page map, large objects, a live
//! bitmap that validates every `free`, counters and events.
//!
//! ```text
//! segment: [meta][ArenaHead Arena Arena][Free][LargeHead Large][Free ...]
//! arena:   [pad G-8][block][block][free block][block] ... [epilogue 8]
//! ```
//!
//! * An **arena** is a run of pages carved into blocks: a region of the
//!   engine. Its first block starts at `page + G − 8` (so payloads are
//!   G-aligned) with the prev-used bit set, and it ends with an 8-byte
//!   epilogue. A new arena takes at least `Config::arena_pages` pages; when
//!   the pages right after an arena are free (typically fresh memory from
//!   the source), the arena grows into them instead. When an arena becomes
//!   entirely free its pages go back to the page layer, except for the last
//!   remaining arena (kept as a cache).
//! * A **large object** serves a request whose block would exceed
//!   `Config::large_min` from a run of pages of its own: its header (with the
//!   large bit) sits right before the payload, so `free` is uniform.
//! * The **live bitmap** (in the page layer) marks every live payload, so
//!   `free`, `realloc` and `usable_size` validate an address in O(1) before
//!   trusting any header ([`AllocError`] says how bad addresses are told
//!   apart).
//! * Everything that happens to blocks (carving, merging, the quick lists,
//!   realloc in place, by sliding or by moving) is the engine's, the same
//!   code the `#[global_allocator]` face runs.

mod arenas;
mod blocks;
mod check;
#[cfg(test)]
mod tests;
mod validate;

pub use arenas::Checked;
pub use blocks::{BlockInfo, Blocks};
pub use crate::engine::{MAX_ALIGN, MAX_SIZE};
pub use crate::errors::AllocError;

use core::ptr::{self, NonNull};

use crate::block::{Block, HEADER};
use crate::engine::Engine;
use crate::events::{Event, NoObserver, Observer};
use crate::pages::{PageOwner, PageSource, Pages, PAGE};
use crate::policy::{AnyPolicy, FreeList, ListOrder, Policy, PolicyKind};
use crate::stats::{Counters, Stats};

/// When free blocks merge with their free neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Coalesce {
    /// `free` merges with both neighbours at once (O(1) with boundary tags).
    /// Invariant: no two adjacent free blocks.
    Immediate = 0,
    /// `free` only marks the block free and indexes it; adjacent free blocks
    /// may exist until a sweep merges them (run when a search fails, before
    /// growing memory, or by [`Heap::sweep`]).
    Deferred = 1,
}

/// Heap configuration. Start from [`Config::DEFAULT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Fit policy, used when the heap's policy type is [`AnyPolicy`]
    /// (otherwise replaced by the type's own kind).
    pub policy: PolicyKind,
    /// Granule: minimum payload alignment and block size unit, 8 or 16.
    pub align: usize,
    /// Split a block only if the remainder is at least this many bytes
    /// (raised to the minimum block; 0 means "the minimum block").
    pub split_min: usize,
    /// Immediate or deferred coalescing.
    pub coalesce: Coalesce,
    /// Requests whose block (with alignment slack) would exceed this many
    /// bytes become large objects (default 64 KiB; clamped to
    /// `[4 KiB, 64 MiB]`).
    pub large_min: usize,
    /// Memory limit: the heap never grows past this many bytes of segments.
    pub max_bytes: usize,
    /// Pages a new arena takes at least (default 4 = 16 KiB).
    pub arena_pages: usize,
    /// Quick lists: a freed block of up to 256 bytes waits on a list per
    /// size for the next request of that size, merged only when the heap
    /// needs memory; and a block shrinking to half its size or less moves
    /// to a free block at hand (for policies with a fast index: best, worst
    /// and segregated fit; first and next fit never use them). Off, the
    /// heap is the plain policy.
    pub quick_lists: bool,
    /// Order of the free list, used when the heap's policy type is
    /// [`AnyPolicy`]: `None` (the default) for the policy's own
    /// ([`ListOrder::default_for`]). An order the policy cannot keep (see
    /// [`ListOrder::suits`]), and any order under a single-policy type, is
    /// replaced by the policy's own.
    pub list_order: Option<ListOrder>,
}

impl Config {
    /// First fit, granule 8 on wasm32 and 16 elsewhere, immediate coalescing,
    /// large objects above 64 KiB, no memory limit, 16 KiB arenas, quick
    /// lists on.
    pub const DEFAULT: Config = Config {
        policy: PolicyKind::FirstFit,
        align: if cfg!(target_arch = "wasm32") { 8 } else { 16 },
        split_min: 0,
        coalesce: Coalesce::Immediate,
        large_min: 64 * 1024,
        max_bytes: usize::MAX,
        arena_pages: 4,
        quick_lists: true,
        list_order: None,
    };
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

const fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

/// The header bits recording a request of `size` bytes aligned to `align`
/// in a used arena block (see [`crate::block`]).
#[inline(always)]
const fn request_bits(size: usize, align: usize) -> u64 {
    ((size as u64) << 32) | ((align.trailing_zeros() as u64) << crate::block::ALIGN_SHIFT)
}

/// A heap over page source `S`, with free-block index `P` and observer `O`:
/// the engine with the checked face's hooks.
pub struct Heap<S: PageSource, P: Policy = AnyPolicy, O: Observer = NoObserver> {
    engine: Engine<P, Checked<S, O>>,
    /// Whether the policy was built for `config.policy`.
    started: bool,
    /// Whether the heap's memory may differ from what its operations left
    /// there ([`Heap::write`]): the next operation runs the integrity walk
    /// first, and a failed walk makes the heap refuse every operation that
    /// follows links until [`Heap::reset`].
    integrity: Integrity,
}

/// What the heap knows about its memory (see [`Heap::write`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Integrity {
    /// Only the heap's own operations wrote headers and links.
    Kept,
    /// Bytes were written through [`Heap::write`] since the last walk.
    Written,
    /// The walk after a write failed: corrupt until `reset`.
    Corrupt,
}

impl<S: PageSource, P: Policy> Heap<S, P, NoObserver> {
    /// A heap that has no memory yet (it grows on first use).
    ///
    /// # Panics
    /// If `config.align` is not 8 or 16 (at compile time in a `static`).
    pub const fn new(source: S, config: Config) -> Self {
        Self::with_observer(source, config, NoObserver)
    }
}

impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// A heap reporting its events to `observer`.
    ///
    /// # Panics
    /// If `config.align` is not 8 or 16.
    pub const fn with_observer(source: S, mut config: Config, observer: O) -> Self {
        assert!(config.align == 8 || config.align == 16, "Config::align must be 8 or 16");
        if let Some(k) = P::KIND {
            config.policy = k;
            config.list_order = None;
        }
        config.list_order = Some(ListOrder::for_kind(config.list_order, config.policy));
        let g = config.align;
        let min_block = crate::block::round_up(P::MIN_BLOCK, g);
        let split_min = max(crate::block::round_up(config.split_min, g), min_block);
        let large_min = min(max(config.large_min, PAGE), 1 << 26);
        let hooks = Checked {
            source,
            config,
            pages: Pages::EMPTY,
            observer,
            granule: g,
            split_min,
            large_min,
            small_max: large_min.saturating_sub(min_block + 7),
            min_block,
            c: Counters::NEW,
            request_bits: 0,
        };
        Heap { engine: Engine::new(P::EMPTY, hooks), started: false, integrity: Integrity::Kept }
    }

    #[inline(always)]
    fn h(&self) -> &Checked<S, O> {
        &self.engine.hooks
    }

    #[inline(always)]
    fn h_mut(&mut self) -> &mut Checked<S, O> {
        &mut self.engine.hooks
    }

    /// The configuration (normalized: `policy` is the policy in use).
    pub fn config(&self) -> &Config {
        &self.h().config
    }

    /// The policy in use.
    pub fn policy_kind(&self) -> PolicyKind {
        self.h().config.policy
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.h().observer
    }

    /// The observer, mutably (e.g. to clear a recorder).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.h_mut().observer
    }

    /// The page source.
    pub fn source(&self) -> &S {
        &self.h().source
    }

    /// The minimum block size (header + the policy's links + footer, rounded
    /// to the granule).
    pub fn min_block(&self) -> usize {
        self.engine.min_block()
    }

    #[inline]
    fn emit(&mut self, e: Event) {
        self.h_mut().emit(e);
    }

    #[inline]
    fn begin(&mut self) {
        // A single-policy type (`P::KIND` is some) is complete as `P::EMPTY`;
        // only the run-time choice must be built from the config once.
        if P::KIND.is_none() && !self.started {
            self.engine.policy = P::with_order(self.h().config.policy, self.list_order());
            self.started = true;
        }
    }

    /// Before an operation that follows links: after a [`Heap::write`],
    /// the integrity walk (once); a heap found corrupt stays refused.
    ///
    /// # Errors
    /// [`AllocError::CorruptHeap`].
    #[inline(always)]
    fn trust(&mut self) -> Result<(), AllocError> {
        if self.integrity == Integrity::Kept {
            return Ok(());
        }
        self.trust_slow()
    }

    #[cold]
    #[inline(never)]
    fn trust_slow(&mut self) -> Result<(), AllocError> {
        if self.integrity == Integrity::Written {
            self.integrity = if self.check().is_ok() { Integrity::Kept } else { Integrity::Corrupt };
        }
        match self.integrity {
            Integrity::Corrupt => Err(AllocError::CorruptHeap),
            _ => Ok(()),
        }
    }

    /// [`Heap::trust`] for a read-only look that follows links: whether the
    /// links can be followed now.
    fn trusted(&self) -> bool {
        match self.integrity {
            Integrity::Kept => true,
            Integrity::Written => self.check().is_ok(),
            Integrity::Corrupt => false,
        }
    }

    /// Ends a public operation: a success counts; a failure leaves every
    /// figure as it was (the heap itself is unchanged by contract).
    #[inline]
    fn finish<T>(&mut self, r: Result<T, AllocError>) -> Result<T, AllocError> {
        match &r {
            Ok(_) => self.h_mut().c.operations += 1,
            Err(e) => {
                self.h_mut().c.unexamine();
                self.emit(Event::Error { code: e.code() });
            }
        }
        r
    }

    /// Checks a request's arguments.
    #[inline]
    fn check_request(size: usize, align: usize) -> Result<(), AllocError> {
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Err(AllocError::InvalidAlign);
        }
        if size == 0 || size > MAX_SIZE {
            return Err(AllocError::InvalidSize);
        }
        Ok(())
    }

    // ----------------------------------------------------------------- alloc

    /// Allocates `size` bytes aligned to `align` (raised to the granule).
    ///
    /// # Errors
    /// `InvalidSize` if `size` is 0 or above [`MAX_SIZE`] (the `GlobalAlloc`
    /// adapter turns size 0 into 1); `InvalidAlign` if `align` is not a power
    /// of two or above [`MAX_ALIGN`]; `OutOfMemory` if memory cannot grow.
    ///
    /// # Time complexity
    /// A quick list's head, or the policy's search (O(n) for first and next
    /// fit), plus a flush or a sweep and O(pages) when memory must grow.
    #[inline(always)]
    pub fn alloc(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        if let Some(p) = self.alloc_hot(size, align) {
            return Ok(p);
        }
        self.alloc_general(size, align)
    }

    /// The common allocation, inline: a heap with no observer whose memory
    /// only its own operations wrote, and a request that is not a large
    /// object, served by the engine (its fast path, a quick list or the
    /// policy's constant-time pick, else its search and growth). The same
    /// engine, marks and counters as [`Heap::alloc_general`]; `None`, with
    /// nothing changed, sends the request there.
    #[inline(always)]
    fn alloc_hot(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        // (`size - 1 < small_max` also rules out 0; with it `size + align`
        // cannot overflow below.)
        if !align.is_power_of_two() || align > MAX_ALIGN || size.wrapping_sub(1) >= self.h().small_max {
            return None;
        }
        self.alloc_hot_valid(size, align)
    }

    /// [`Heap::alloc`] for a `Layout`'s arguments: `align` a power of two
    /// (at most [`MAX_ALIGN`] is checked here), `size` from 1 up with
    /// `size + align` not overflowing (a `Layout` rounds its size to its
    /// alignment within `isize::MAX`). The `GlobalAlloc` path: the checks
    /// the layout already made are not made again.
    ///
    /// # Errors
    /// As [`Heap::alloc`].
    #[inline(always)]
    pub(crate) fn alloc_layout(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        debug_assert!(align.is_power_of_two() && size > 0 && size.checked_add(align).is_some(), "not a layout's size and alignment");
        if align <= MAX_ALIGN {
            if let Some(p) = self.alloc_hot_valid(size, align) {
                return Ok(p);
            }
        }
        self.alloc_general(size, align)
    }

    /// [`Heap::alloc_hot`] for valid arguments (`align` a power of two up
    /// to [`MAX_ALIGN`], `size` at least 1, `size + align` no overflow).
    #[inline(always)]
    fn alloc_hot_valid(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        // At most `small_max` means not a large object: see `Heap::is_large`.
        if O::ENABLED || P::KIND.is_none() || self.integrity != Integrity::Kept || size + align > self.h().small_max {
            return None;
        }
        let h = self.h_mut();
        h.request_bits = request_bits(size, max(align, h.granule));
        // (The engine's `examined` hook counts what its search examined.)
        let Some(p) = self.engine.alloc_fast(size, align).or_else(|| self.engine.alloc_slow(size, align)) else {
            self.h_mut().c.unexamine();
            return None;
        };
        // SAFETY: the engine just handed out `p`, a used arena block whose
        // header records the request.
        unsafe { self.mark_live(Block::from_payload(p), size) };
        self.h_mut().c.operations += 1;
        Some(p)
    }

    /// [`Heap::alloc`] in full: validation, events, large objects, growth.
    #[inline(never)]
    fn alloc_general(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        self.begin();
        self.emit(Event::Alloc { size, align });
        let r = self.trust().and_then(|()| Self::check_request(size, align)).and_then(|()| self.alloc_req(size, align));
        self.finish(r)
    }

    /// C's `malloc(size)`, as glibc documents it: aligned to the granule,
    /// and `malloc(0)` returns a unique minimum-size block (one that `free`
    /// takes back), not NULL.
    ///
    /// # Errors
    /// As [`Heap::alloc`] (never `InvalidSize` for 0).
    pub fn malloc(&mut self, size: usize) -> Result<NonNull<u8>, AllocError> {
        let align = self.h().config.align;
        self.alloc(size.max(1), align)
    }

    /// C's `realloc(ptr, size)`, as glibc documents it: `realloc(NULL, n)`
    /// is `malloc(n)`; `realloc(p, 0)` frees `p` and returns `None` (C's
    /// NULL); otherwise [`Heap::realloc`].
    ///
    /// # Errors
    /// As [`Heap::realloc`], or [`Heap::free`] for `realloc(p, 0)`.
    pub fn c_realloc(&mut self, ptr: *mut u8, size: usize) -> Result<Option<NonNull<u8>>, AllocError> {
        match (ptr.is_null(), size) {
            (true, n) => self.malloc(n).map(Some),
            (false, 0) => self.free(ptr).map(|()| None),
            (false, n) => self.realloc(ptr, n).map(Some),
        }
    }

    /// Allocates `count × size` zeroed bytes (alignment = the granule).
    ///
    /// # Errors
    /// `InvalidSize` if the product overflows or is 0 or above the maximum;
    /// `OutOfMemory`.
    ///
    /// # Time complexity
    /// As [`Heap::alloc`], plus O(size) to zero.
    pub fn calloc(&mut self, count: usize, size: usize) -> Result<NonNull<u8>, AllocError> {
        self.begin();
        let total = count.checked_mul(size);
        self.emit(Event::Alloc { size: total.unwrap_or(usize::MAX), align: 1 });
        let r = match self.trust().and_then(|()| total.ok_or(AllocError::InvalidSize)).and_then(|t| Self::check_request(t, 1).map(|()| t)) {
            Ok(t) => self.alloc_req(t, 1).inspect(|p| {
                // SAFETY: the payload has at least `t` writable bytes.
                unsafe { p.as_ptr().write_bytes(0, t) };
            }),
            Err(e) => Err(e),
        };
        self.finish(r)
    }

    /// Whether a request of valid arguments is a large object: its worst
    /// case block is above `large_min`. The common case, far below it, is
    /// told without building the request (the worst case is at most
    /// `size + align + 7 +` the minimum block: see `Checked::small_max`).
    #[inline(always)]
    fn is_large(&self, size: usize, align: usize) -> bool {
        let h = self.h();
        size + align > h.small_max && self.engine.request(size, align).worst_case() > h.large_min
    }

    /// An allocation of valid arguments: from the engine, or a large object.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    fn alloc_req(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        if self.is_large(size, align) {
            let req = self.engine.request(size, align);
            return self.alloc_large(&req);
        }
        self.h_mut().request_bits = request_bits(size, max(align, self.h().granule));
        let p = match self.engine.alloc_pow2(size, align) {
            Some(p) => p,
            // Empty arenas kept for reuse may stand between free pages that
            // together would hold the block: release them and try again.
            None if self.release_for(self.engine.request(size, align).worst_case()) => self.engine.alloc_pow2(size, align).ok_or(AllocError::OutOfMemory)?,
            None => return Err(AllocError::OutOfMemory),
        };
        // SAFETY: the engine just handed out `p`, a used arena block whose
        // header records the request.
        unsafe { self.mark_live(Block::from_payload(p), size) };
        Ok(p)
    }

    /// Records a new allocation of `requested` bytes in block `b` (its
    /// header records the request already): its live bit, the counters.
    ///
    /// # Safety
    /// `b` is a used block of this heap just handed out.
    unsafe fn mark_live(&mut self, b: Block, requested: usize) {
        let h = self.h_mut();
        h.pages.mark_live(b.payload());
        h.add_requested(requested);
        if O::ENABLED {
            // SAFETY: `b` was just written as a used block.
            let size = unsafe { b.size() };
            self.emit(Event::MarkUsed { block: b.addr(), size, requested });
        }
    }

    // ------------------------------------------------------------------ free

    /// Frees the allocation whose payload starts at `ptr`. As C's
    /// `free(NULL)`, a null `ptr` does nothing.
    ///
    /// # Errors
    /// `DoubleFree`, `InteriorPointer` or `NotAllocated` (see
    /// [`AllocError`]); the heap is unchanged then.
    ///
    /// # Time complexity
    /// O(1) validation (live bitmap); onto a quick list, or merging plus the
    /// index's insert (O(n) for first and next fit); a large object frees
    /// O(pages). The error path walks the arena holding `ptr`.
    pub fn free(&mut self, ptr: *mut u8) -> Result<(), AllocError> {
        self.free_impl::<true>(ptr)
    }

    /// [`Heap::free`] without telling bad addresses apart: an address that
    /// is not a live payload fails with [`AllocError::NotAllocated`] and
    /// changes nothing. For callers that discard the reason (the
    /// `GlobalAlloc` adapter), so the classification code is not linked in.
    ///
    /// # Errors
    /// `NotAllocated` for any address that is not a live payload.
    ///
    /// # Time complexity
    /// As [`Heap::free`], and O(1) on the error path.
    pub fn free_unclassified(&mut self, ptr: *mut u8) -> Result<(), AllocError> {
        self.free_impl::<false>(ptr)
    }

    /// [`Heap::free_unclassified`] for an allocation said to be `size`
    /// bytes (`GlobalAlloc::dealloc`'s layout): on x86-64 the header after
    /// the block, which the merge reads, starts loading at once (a
    /// prefetch, harmless whatever the address; a wrong size only makes it
    /// useless).
    ///
    /// # Errors
    /// As [`Heap::free_unclassified`].
    #[inline(always)]
    pub(crate) fn free_layout(&mut self, ptr: *mut u8, size: usize) -> Result<(), AllocError> {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = NonNull::new(ptr) {
            let at = crate::engine::next_header_guess(p, size, self.h().granule);
            // SAFETY: `prefetcht0` is a hint: it never faults and reads or
            // writes nothing architecturally, whatever the address (`at`
            // may be outside the heap when `ptr` is not an allocation).
            unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at.cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = size;
        self.free_impl::<false>(ptr)
    }

    #[inline(always)]
    fn free_impl<const CLASSIFY: bool>(&mut self, ptr: *mut u8) -> Result<(), AllocError> {
        // As C's `free(NULL)`: nothing to do.
        if ptr.is_null() {
            return Ok(());
        }
        // The common free, inline: no observer and memory only the heap's
        // own operations wrote; a live payload (the same validation, engine
        // and counters as `free_general`, whose extra work is for events
        // and failures).
        if !O::ENABLED && P::KIND.is_some() && self.integrity == Integrity::Kept {
            if let Some(p) = self.h_mut().pages.take_live(ptr.addr()) {
                // SAFETY: a live payload started at `p` (its bit is now
                // cleared), so its header at p − 8 is trusted.
                unsafe { self.free_taken(Block::from_payload(p)) };
                self.h_mut().c.operations += 1;
                return Ok(());
            }
        }
        self.free_general::<CLASSIFY>(ptr)
    }

    #[inline(never)]
    fn free_general<const CLASSIFY: bool>(&mut self, ptr: *mut u8) -> Result<(), AllocError> {
        self.begin();
        self.emit(Event::Free { payload: ptr.addr() });
        if let Err(e) = self.trust() {
            return self.finish(Err(e));
        }
        // One look-up both validates the address and clears its live bit.
        let r = match self.h_mut().pages.take_live(ptr.addr()) {
            Some(p) => {
                // SAFETY: a live payload started at `p` (its bit is now
                // cleared), so its header at p − 8 is trusted.
                unsafe { self.free_taken(Block::from_payload(p)) };
                Ok(())
            }
            None if CLASSIFY => Err(self.classify(ptr.addr())),
            None => Err(AllocError::NotAllocated),
        };
        self.finish(r)
    }

    /// Frees live block `b`.
    ///
    /// # Safety
    /// `b` is a live block of this heap.
    unsafe fn free_block(&mut self, b: Block) {
        self.h_mut().pages.set_live(b.payload().as_ptr().addr(), false);
        // SAFETY: forwarded to the caller.
        unsafe { self.free_taken(b) }
    }

    /// Frees block `b`, which was live until its live bit was just cleared.
    ///
    /// # Safety
    /// As described: `b`'s header is that of a live block of this heap.
    #[inline(always)]
    unsafe fn free_taken(&mut self, b: Block) {
        // SAFETY: `b` was live (caller), so its header is trusted.
        unsafe {
            if b.is_large() {
                return self.free_large(b);
            }
            let size = b.size();
            self.h_mut().c.live_requested -= b.requested();
            self.emit(Event::MarkFree { block: b.addr(), size });
            self.engine.free(b.payload());
            // The size build merges a freed block into a free predecessor
            // without rewriting the block's own header: write it as a free
            // one's, so that a second free of it still reads as a double
            // free (`classify`), as in the speed build.
            #[cfg(feature = "small")]
            if b.header() & crate::block::USED != 0 {
                b.set_header(size as u64);
            }
        }
    }

    // --------------------------------------------------------------- realloc

    /// Resizes the allocation at `ptr` to `new_size` bytes, keeping the
    /// alignment it was allocated with (recorded in the header).
    ///
    /// The engine's realloc: shrinks in place (a block shrinking to half its
    /// size or less moves when a free block is at hand, for policies with a
    /// fast index), grows in place into a free next neighbour, slides into a
    /// free previous one, else allocates, copies and frees.
    ///
    /// As in C, `realloc(NULL, n)` is an allocation of `n` bytes (aligned to
    /// the granule); for C's `realloc(p, 0)` see [`Heap::c_realloc`].
    ///
    /// # Errors
    /// `InvalidSize` (0 or too big), the errors of [`Heap::free`] for a bad
    /// `ptr`, `OutOfMemory`. On error the old allocation is untouched.
    ///
    /// # Time complexity
    /// O(1) in place; otherwise as [`Heap::alloc`] + O(size) copy + [`Heap::free`].
    pub fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> Result<NonNull<u8>, AllocError> {
        self.realloc_impl::<true>(ptr, new_size, None)
    }

    /// [`Heap::realloc`] with the alignment stated (as `GlobalAlloc` does);
    /// a moved block gets this alignment.
    ///
    /// # Errors
    /// As [`Heap::realloc`], and `InvalidAlign`.
    ///
    /// # Time complexity
    /// As [`Heap::realloc`].
    pub fn realloc_aligned(&mut self, ptr: *mut u8, new_size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        self.realloc_impl::<true>(ptr, new_size, Some(align))
    }

    /// [`Heap::realloc_aligned`] without telling bad addresses apart (see
    /// [`Heap::free_unclassified`]), for the `GlobalAlloc` adapter.
    ///
    /// # Errors
    /// As [`Heap::realloc_aligned`], but `NotAllocated` for every bad address.
    ///
    /// # Time complexity
    /// As [`Heap::realloc`].
    pub fn realloc_unclassified(&mut self, ptr: *mut u8, new_size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        self.realloc_impl::<false>(ptr, new_size, Some(align))
    }

    /// [`Heap::realloc_unclassified`] for a `Layout`'s arguments (`align`
    /// a power of two, `new_size` from 1 up, `new_size + align` no
    /// overflow): the `GlobalAlloc` path. The common resize, inline: no
    /// observer, memory only the heap's own operations wrote, a live arena
    /// block that stays one, resized by the engine (the same validation,
    /// engine and counters as the full path, which does the rest).
    ///
    /// # Errors
    /// As [`Heap::realloc_unclassified`].
    #[inline(always)]
    pub(crate) fn realloc_layout(&mut self, ptr: *mut u8, new_size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        debug_assert!(align.is_power_of_two() && new_size > 0 && new_size.checked_add(align).is_some(), "not a layout's size and alignment");
        if !O::ENABLED && P::KIND.is_some() && self.integrity == Integrity::Kept && align <= MAX_ALIGN && new_size <= MAX_SIZE {
            if let Some(p) = self.h().pages.live_ptr(ptr.addr()) {
                // SAFETY: a live payload starts at `p`, so its header is trusted.
                let b = unsafe { Block::from_payload(p) };
                // SAFETY: as above.
                if !unsafe { b.is_large() } {
                    // SAFETY: `b` is a live arena block of this heap, and
                    // `align` the alignment it was allocated with (the
                    // `GlobalAlloc` contract: `realloc` gets the block's
                    // layout).
                    let (old_req, bs) = unsafe { (b.requested(), b.size()) };
                    // SAFETY: as above.
                    let q = unsafe { self.resize_in_arena(b, new_size, align, self.is_large(new_size, align)) };
                    if let Some(q) = q {
                        // SAFETY: the engine resized `b` to `q`.
                        unsafe { self.arena_resized(b, bs, old_req, q, new_size, align) };
                        self.h_mut().c.operations += 1;
                        return Ok(q);
                    }
                    // Failed, the heap as it was: the full path decides.
                    self.h_mut().c.unexamine();
                }
            }
        }
        self.realloc_impl::<false>(ptr, new_size, Some(align))
    }

    #[inline]
    fn realloc_impl<const CLASSIFY: bool>(&mut self, ptr: *mut u8, new_size: usize, align: Option<usize>) -> Result<NonNull<u8>, AllocError> {
        // As C's `realloc(NULL, n)`: `malloc(n)`.
        if ptr.is_null() {
            let align = align.unwrap_or(self.h().config.align);
            return self.alloc(new_size, align);
        }
        self.begin();
        self.emit(Event::Realloc { payload: ptr.addr(), size: new_size });
        let r = self.trust().and_then(|()| Self::check_request(new_size, align.unwrap_or(1))).and_then(|()| self.validate::<CLASSIFY>(ptr)).and_then(|b| {
            let align = align.unwrap_or_else(|| self.block_align(b));
            // SAFETY: `b` is a live block of this heap.
            unsafe { self.realloc_block(b, new_size, align) }
        });
        self.finish(r)
    }

    /// # Safety
    /// `b` is a live block of this heap; `size` and `align` are valid.
    unsafe fn realloc_block(&mut self, b: Block, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        let large_new = self.is_large(size, align);
        // SAFETY: `b` is live; all blocks touched are its arena neighbours.
        unsafe {
            let old_req = b.requested();
            let p = b.payload();
            let bs = b.size();
            if b.is_large() {
                if large_new && (p.as_ptr().addr() + size <= b.addr() + bs || self.h_mut().grow_large(b, size)) {
                    let bs = b.size();
                    b.set_requested(size);
                    self.h_mut().resize_requested(old_req, size);
                    self.emit(Event::Resize { block: b.addr(), size: bs });
                    return Ok(p);
                }
            } else {
                let q = match self.resize_in_arena(b, size, align, large_new) {
                    Some(q) => Some(q),
                    None if large_new => None,
                    // Empty arenas kept for reuse may stand in the way:
                    // release them and try again.
                    None if self.release_for(self.engine.request(size, align).worst_case()) => {
                        Some(self.engine.realloc(p, old_req, size, align).ok_or(AllocError::OutOfMemory)?)
                    }
                    None => return Err(AllocError::OutOfMemory),
                };
                if let Some(q) = q {
                    self.arena_resized(b, bs, old_req, q, size, align);
                    return Ok(q);
                }
            }
            // Between an arena and a large object: allocate, copy, free.
            // `b` stays intact until the copy.
            let q = self.alloc_req(size, align)?;
            ptr::copy_nonoverlapping(p.as_ptr(), q.as_ptr(), min(old_req, size));
            self.free_block(b);
            Ok(q)
        }
    }

    /// The engine's resize of arena block `b` to `size` bytes aligned to
    /// `align`, the request recorded in the header it writes: in place
    /// only when the new size is a large object's (`large`: an arena block
    /// growing past `large_min` stays where it is when its arena has room
    /// or can grow, as in the global face; a buffer that creeps up is not
    /// copied into a page run of its own, leaving its arena's pages
    /// behind), else any way the engine has. `None`: the engine could not,
    /// and nothing changed.
    ///
    /// # Safety
    /// `b` is a live arena block of this heap allocated with alignment
    /// `align`; `size` is valid.
    #[inline(always)]
    unsafe fn resize_in_arena(&mut self, b: Block, size: usize, align: usize, large: bool) -> Option<NonNull<u8>> {
        let h = self.h_mut();
        h.request_bits = request_bits(size, max(align, h.granule));
        // SAFETY: forwarded to the caller; the block records what it serves.
        unsafe {
            let (p, old_req) = (b.payload(), b.requested());
            if large {
                self.engine.realloc_in_place(p, old_req, size, align, true)
            } else {
                self.engine.realloc(p, old_req, size, align)
            }
        }
    }

    /// Records that arena block `b` (`bs` bytes, `old_req` requested),
    /// resized by the engine, now serves `size` bytes aligned to `align` at
    /// payload `q` (moved when `q` is not `b`'s payload).
    ///
    /// # Safety
    /// `q` is the payload of a used arena block of this heap, the engine's
    /// answer to resizing `b`.
    unsafe fn arena_resized(&mut self, b: Block, bs: usize, old_req: usize, q: NonNull<u8>, size: usize, align: usize) {
        // SAFETY: `q`'s block is a used arena block (caller).
        unsafe {
            let qb = Block::from_payload(q);
            let moved = q != b.payload();
            if moved {
                // A block the engine handed out records the request already
                // (`Hooks::used_bits`).
                debug_assert_eq!(qb.header() >> 32, request_bits(size, align.max(self.h().granule)) >> 32, "a moved block's request");
            } else {
                qb.record_request(size, align.max(self.h().granule));
            }
            let h = self.h_mut();
            h.resize_requested(old_req, size);
            if moved {
                h.pages.move_live(b.payload().as_ptr().addr(), q.as_ptr().addr());
                if O::ENABLED {
                    self.emit(Event::MarkFree { block: b.addr(), size: bs });
                    self.emit(Event::MarkUsed { block: qb.addr(), size: qb.size(), requested: size });
                }
            } else if O::ENABLED {
                self.emit(Event::Resize { block: b.addr(), size: qb.size() });
            }
        }
    }

    /// Usable bytes of the allocation at `ptr` (at least what was requested).
    ///
    /// # Errors
    /// As [`Heap::free`] for a bad `ptr`.
    ///
    /// # Time complexity
    /// O(1) (O(arena) on the error path).
    pub fn usable_size(&self, ptr: *mut u8) -> Result<usize, AllocError> {
        if !self.trusted() {
            return Err(AllocError::CorruptHeap);
        }
        let b = self.validate::<true>(ptr)?;
        // SAFETY: `b` is live.
        Ok(unsafe { b.size() } - HEADER)
    }

    // ------------------------------------------------------- flush and sweep

    /// Returns every block on the quick lists to the free list, merged with
    /// its free neighbours (a `flush` event); whether there were any. The
    /// heap does this by itself when it needs the memory.
    ///
    /// # Time complexity
    /// O(quick blocks).
    pub fn flush(&mut self) -> bool {
        self.begin();
        // (Not an operation: the figure of the last one's search goes.)
        self.h_mut().c.examining_op = crate::stats::NO_OP;
        self.trust().is_ok() && self.engine.flush()
    }

    /// Merges everything: flushes the quick lists, then (deferred
    /// coalescing) merges every run of adjacent free blocks and releases
    /// arenas that became entirely free (keeping the last one).
    ///
    /// # Time complexity
    /// O(blocks + pages).
    pub fn sweep(&mut self) {
        self.begin();
        self.h_mut().c.examining_op = crate::stats::NO_OP;
        if self.trust().is_err() {
            return;
        }
        self.engine.flush();
        self.engine.sweep();
    }

    // ----------------------------------------------------------------- reset

    /// Back to an empty heap, keeping the memory already obtained (segments)
    /// as free pages. Counters restart.
    ///
    /// # Time complexity
    /// O(pages).
    pub fn reset(&mut self) {
        self.integrity = Integrity::Kept;
        let kind = self.h().config.policy;
        self.engine.clear(P::with_order(kind, self.list_order()));
        self.started = true;
        let h = self.h_mut();
        h.pages.reset();
        h.c = Counters::NEW;
        h.bump_hwm();
    }

    // --------------------------------------------------------- introspection

    /// A snapshot of the figures: the engine's walk over every block plus
    /// the counters (O(blocks + pages)).
    pub fn stats(&self) -> Stats {
        let f = self.engine.figures();
        let h = self.h();
        let c = &h.c;
        let large_bytes = c.large_pages * PAGE;
        let pages_in_use = c.arena_pages + c.large_pages + h.pages.meta_pages();
        Stats {
            live_requested: c.live_requested,
            peak_live_requested: c.peak_live_requested,
            allocated_bytes: f.used_bytes + large_bytes,
            utilization: if c.high_water_mark == 0 { 0.0 } else { c.peak_live_requested as f64 / c.high_water_mark as f64 },
            pages_in_use,
            heap_bytes: h.pages.heap_bytes(),
            high_water_mark: c.high_water_mark,
            live_blocks: f.used_blocks + c.large_blocks,
            arenas: c.arenas,
            segments: h.pages.segments().len(),
            last_examined: c.last_op_examined() as usize,
            total_examined: c.total_examined,
            operations: c.operations,
            ..Stats::from_figures(&f)
        }
    }

    /// The segments as `(base address, length in bytes)`, in the order obtained.
    pub fn segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.h().pages.segments().iter().map(|s| (s.base(), s.len()))
    }

    /// Every page as `(address, owner)`, segment by segment.
    pub fn pages(&self) -> impl Iterator<Item = (usize, PageOwner)> + '_ {
        let pages = &self.h().pages;
        (0..pages.total_pages()).map(|i| (pages.page_addr(i), pages.owner(i)))
    }

    /// Owner of the page holding `addr` (`None` outside the heap).
    pub fn page_owner(&self, addr: usize) -> Option<PageOwner> {
        let pages = &self.h().pages;
        pages.page_index(addr).map(|i| pages.owner(i))
    }

    /// Whether a live payload starts at `addr` (the live bitmap).
    pub fn is_live(&self, addr: usize) -> bool {
        self.h().pages.is_live(addr)
    }

    /// Every block of every arena and every large object, in page-map
    /// order (address order within a segment). Stops an arena early at a
    /// corrupted header rather than reading out of bounds.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks::new(&self.h().pages, self.h().granule)
    }
}

/// Time travel, for teaching: the timeline saves the heap at checkpoints and
/// jumps back to them instead of replaying a long trace from the start.
impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// A bitwise copy of the heap's bookkeeping (segment table, page map
    /// pointer, policy heads, counters, observer), not of its memory.
    ///
    /// # Safety
    /// The copy describes the heap's memory as it is now. Only replace this
    /// heap with it (dropping neither twice: `Heap` owns no resources that a
    /// drop would release) after putting back every byte of every non-free
    /// page of the segments it lists, as they are now; never use both.
    pub unsafe fn duplicate(&self) -> Self {
        // SAFETY: `Heap` has no `Drop` and holds only plain data and raw
        // pointers; the caller keeps the copy and `self` from being used together.
        unsafe { ptr::read(self) }
    }
}

/// Raw access to heap memory, for teaching: inspect headers and payloads, and
/// overflow a payload on purpose to watch [`Heap::check`] catch it.
impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// The `len` bytes at `addr`, which must all lie inside one segment of
    /// this heap (headers, payloads, free space and metadata alike).
    ///
    /// # Errors
    /// [`AllocError::OutOfBounds`] when any byte lies outside the heap.
    pub fn bytes(&self, addr: usize, len: usize) -> Result<&[u8], AllocError> {
        let span = self.h().pages.span(addr, len).ok_or(AllocError::OutOfBounds)?;
        // SAFETY: the span lies inside a segment this heap owns, and the
        // shared borrow of `self` keeps the heap from changing it meanwhile.
        Ok(unsafe { span.as_ref() })
    }

    /// The `len` bytes at `addr` for writing, anywhere inside one segment,
    /// metadata pages included. For putting back bytes the heap wrote
    /// (a saved copy of its memory); to overflow a payload on purpose, use
    /// [`Heap::write`].
    ///
    /// ```compile_fail
    /// # use heaplab::heap::{Config, Heap};
    /// # use heaplab::pages::FixedRegion;
    /// # fn f(heap: &mut Heap<FixedRegion>) {
    /// heap.bytes_mut(0x1000, 8).unwrap().fill(0xff); // unsafe: forged headers and links
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`AllocError::OutOfBounds`] when any byte lies outside the heap.
    ///
    /// # Safety
    /// Before the heap's next operation, its memory holds again what its
    /// operations wrote there (headers, footers, links, the page map and
    /// live bits): the heap follows links without checking them.
    pub unsafe fn bytes_mut(&mut self, addr: usize, len: usize) -> Result<&mut [u8], AllocError> {
        let mut span = self.h().pages.span(addr, len).ok_or(AllocError::OutOfBounds)?;
        // SAFETY: as for `bytes`; the exclusive borrow of `self` makes this
        // the only access to the heap's memory while the slice lives.
        Ok(unsafe { span.as_mut() })
    }

    /// Writes `bytes` at `addr`, anywhere inside the heap's block and
    /// large-object pages: over a payload, or past it into the next header,
    /// footer or free-list links, to watch [`Heap::check`] catch it. The
    /// page map and live bits (metadata pages) are out of reach. The next
    /// `alloc`, `calloc`, `free`, `realloc`, `flush` or `sweep` runs the
    /// integrity walk first (the walk checks every link before following
    /// it); if it fails they return [`AllocError::CorruptHeap`] until
    /// [`Heap::reset`], and never follow a forged link.
    ///
    /// # Errors
    /// [`AllocError::OutOfBounds`] when any byte lies outside the heap or in
    /// a metadata page.
    pub fn write(&mut self, addr: usize, bytes: &[u8]) -> Result<(), AllocError> {
        let pages = &self.h().pages;
        let mut span = pages.span(addr, bytes.len()).ok_or(AllocError::OutOfBounds)?;
        let last = addr + bytes.len().max(1) - 1;
        let (Some(from), Some(to)) = (pages.page_index(addr), pages.page_index(last)) else {
            return Err(AllocError::OutOfBounds);
        };
        if (from..=to).any(|i| pages.owner(i) == PageOwner::Meta) {
            return Err(AllocError::OutOfBounds);
        }
        // A write that stays inside one live block's payload cannot touch a
        // header, footer or link: the heap stays trusted without a walk (a
        // program writing its data, as mdriver does after every operation).
        let inside_payload = self.integrity == Integrity::Kept && self.inside_live_payload(addr, bytes.len());
        // SAFETY: the span lies inside a segment of this heap, outside its
        // metadata; the exclusive borrow of `self` makes it the only access.
        unsafe { span.as_mut() }.copy_from_slice(bytes);
        if !bytes.is_empty() && !inside_payload && self.integrity == Integrity::Kept {
            self.integrity = Integrity::Written;
        }
        Ok(())
    }
}

impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// Whether `[addr, addr + len)` lies inside the payload of one live block
    /// (looked up in the live bitmap, at most 1 MiB below `addr`; further
    /// than that, or anything uncertain, says no). Called only while the heap
    /// is trusted, so the block's header can be read.
    fn inside_live_payload(&self, addr: usize, len: usize) -> bool {
        const REACH: usize = 1 << 20;
        let pages = &self.h().pages;
        let Some(p) = pages.prev_live(addr, addr.saturating_sub(REACH)) else { return false };
        let Some(header) = pages.ptr_at(p - HEADER) else { return false };
        let b = Block::from_header(header);
        // SAFETY: `p` is a live payload of a trusted heap: its header is valid.
        let end = b.addr() + unsafe { b.size() };
        addr >= p && addr.saturating_add(len) <= end
    }
}

/// The free list as the picture reads it: which blocks, in which order.
impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// The order of the free list(s) (the configured order, normalized: see
    /// [`Config::list_order`]).
    pub fn list_order(&self) -> ListOrder {
        let c = &self.h().config;
        ListOrder::for_kind(c.list_order, c.policy)
    }

    /// Next fit's roving pointer: the header address of the free block the
    /// next search starts at; `None` for the other policies and when no
    /// block is free.
    pub fn rover(&self) -> Option<usize> {
        self.engine.policy.rover().map(|b| b.addr())
    }

    /// Calls `f(list, header address)` for every free block, list by list
    /// and in each list in the order the policy's search walks it: one list
    /// for first, next, best and worst fit (address order, or the
    /// [`Config::list_order`]; the size index smallest first), one per
    /// non-empty size class for segregated fit (with the class's sizes in
    /// [`FreeList::min`]..=[`FreeList::max`]). Every free block is on
    /// exactly one list; blocks waiting on the quick lists are not free
    /// blocks (see [`BlockInfo::quick`]).
    ///
    /// # Time complexity
    /// O(free blocks), plus O(distinct sizes × 32) for best and worst fit.
    pub fn free_lists(&self, mut f: impl FnMut(FreeList, usize)) {
        if !self.trusted() {
            return;
        }
        // SAFETY: the index holds exactly this heap's free blocks, whose
        // headers and links the heap keeps valid between operations.
        unsafe { self.engine.policy.for_each_free(|list, b| f(list, b.addr())) }
    }

    /// Calls `f(block size, header address)` for every block waiting on a
    /// quick list (heaps with [`Config::quick_lists`]), smallest size
    /// first, each list in the order `malloc` takes its blocks back. These
    /// are the blocks [`free_lists`](Self::free_lists) leaves out: free to
    /// the program, not yet merged.
    ///
    /// # Time complexity
    /// O(quick blocks + quick lists).
    pub fn quick_lists(&self, mut f: impl FnMut(usize, usize)) {
        if !self.trusted() {
            return;
        }
        // SAFETY: a trusted heap's quick-list links are those `free` wrote.
        unsafe { self.engine.for_each_quick(|size, b| f(size, b.addr())) }
    }
}
