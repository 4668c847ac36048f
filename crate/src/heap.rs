//! The heap: `alloc`, `free`, `realloc`, `calloc` over arenas of blocks and
//! large objects, on top of the page layer.
//!
//! ```text
//! segment: [meta][ArenaHead Arena Arena][Free][LargeHead Large][Free ...]
//! arena:   [pad G-8][block][block][free block][block] ... [epilogue 8]
//! ```
//!
//! * An **arena** is a run of pages carved into blocks. Its first block
//!   starts at `page + G − 8` (so payloads are G-aligned) with the prev-used
//!   bit set, and it ends with an 8-byte epilogue. A new arena takes at least
//!   `Config::arena_pages` pages; when the pages right after an arena are free
//!   (typically fresh memory from the source), the arena grows into them
//!   instead. When an arena becomes entirely free its pages go back to the
//!   page layer, except for the last remaining arena (kept as a cache; it too
//!   is released when a page run cannot be found otherwise).
//! * A **large object** serves a request whose block would exceed
//!   `Config::large_min` from a run of pages of its own: its header (with the
//!   large bit) sits right before the payload, so `free` is uniform.
//! * The **live bitmap** (in the page layer) marks every live payload, so
//!   `free`, `realloc` and `usable_size` validate an address in O(1) before
//!   trusting any header. See [`AllocError`] for how bad addresses are told
//!   apart.

use core::fmt;
use core::ptr::{self, NonNull};

use crate::block::{round_up, Block, Fit, Request, HEADER, LARGE, MAX_BLOCK, USED};
use crate::events::{Event, NoObserver, Observer};
use crate::pages::{PageOwner, PageSource, Pages, PAGE, WASM_PAGE};
use crate::policy::{AnyPolicy, FreeList, ListOrder, Policy, PolicyKind};
use crate::stats::{Counters, Stats};

/// Largest alignment `alloc` accepts (one page).
pub const MAX_ALIGN: usize = 4096;
/// Largest request size `alloc` accepts.
pub const MAX_SIZE: usize = MAX_BLOCK - 2 * PAGE;

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
    /// Order of the free list, used when the heap's policy type is
    /// [`AnyPolicy`]: `None` (the default) for the policy's own
    /// ([`ListOrder::default_for`]). An order the policy cannot keep (see
    /// [`ListOrder::suits`]), and any order under a single-policy type, is
    /// replaced by the policy's own.
    pub list_order: Option<ListOrder>,
}

impl Config {
    /// First fit, granule 8 on wasm32 and 16 elsewhere, immediate coalescing,
    /// large objects above 64 KiB, no memory limit, 16 KiB arenas.
    pub const DEFAULT: Config = Config {
        policy: PolicyKind::FirstFit,
        align: if cfg!(target_arch = "wasm32") { 8 } else { 16 },
        split_min: 0,
        coalesce: Coalesce::Immediate,
        large_min: 64 * 1024,
        max_bytes: usize::MAX,
        arena_pages: 4,
        list_order: None,
    };
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why an operation failed. Every error leaves the heap exactly as it was
/// (under [`Coalesce::Deferred`] too: the sweep runs only when it serves the
/// request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllocError {
    /// The page source has no more memory, or the limit was reached.
    OutOfMemory,
    /// Size 0 where not allowed, an overflowing size, or above [`MAX_SIZE`].
    InvalidSize,
    /// Alignment not a power of two, or above [`MAX_ALIGN`].
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
    /// A raw read or write ([`Heap::bytes`]) reaches outside the heap's segments.
    OutOfBounds,
}

impl AllocError {
    /// Stable kebab-case code: `out-of-memory`, `invalid-size`,
    /// `invalid-align`, `double-free`, `invalid-free` (both
    /// `InteriorPointer` and `NotAllocated`).
    pub const fn code(&self) -> &'static str {
        match self {
            AllocError::OutOfMemory => "out-of-memory",
            AllocError::InvalidSize => "invalid-size",
            AllocError::InvalidAlign => "invalid-align",
            AllocError::DoubleFree => "double-free",
            AllocError::InteriorPointer | AllocError::NotAllocated => "invalid-free",
            AllocError::OutOfBounds => "out-of-bounds",
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
        })
    }
}

/// One block (or large object) as the renderer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Header address.
    pub addr: usize,
    /// Block size (header included); for a large object, up to the end of its pages.
    pub size: usize,
    /// Payload address.
    pub payload: usize,
    /// Requested bytes (0 if free).
    pub requested: usize,
    /// Used or free.
    pub used: bool,
    /// A large object.
    pub large: bool,
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

/// A heap over page source `S`, with free-block index `P` and observer `O`.
pub struct Heap<S: PageSource, P: Policy = AnyPolicy, O: Observer = NoObserver> {
    source: S,
    /// The configuration, normalized (policy = `P::KIND` when fixed).
    config: Config,
    /// Segments, page map, live bitmap.
    pub(crate) pages: Pages,
    /// Index of exactly the free arena blocks.
    pub(crate) policy: P,
    observer: O,
    /// Granule (8 or 16).
    pub(crate) granule: usize,
    /// `round_up(P::MIN_BLOCK, granule)`: every block is at least this big.
    pub(crate) min_block: usize,
    /// Effective split threshold (≥ `min_block`, a granule multiple).
    split_min: usize,
    /// Effective large-object threshold.
    large_min: usize,
    /// Whether `policy` was built for `config.policy`.
    started: bool,
    /// `(last_examined, total_examined)` when the current operation began,
    /// restored if it fails.
    examined_before: (usize, u64),
    /// Deferred coalescing: a free happened since the last sweep.
    dirty: bool,
    /// Incremental counters; `check` verifies them against a walk.
    pub(crate) c: Counters,
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
        let min_block = round_up(P::MIN_BLOCK, g);
        let split_min = max(round_up(config.split_min, g), min_block);
        let large_min = min(max(config.large_min, PAGE), 1 << 26);
        Heap {
            source,
            config,
            pages: Pages::EMPTY,
            policy: P::EMPTY,
            observer,
            granule: g,
            min_block,
            split_min,
            large_min,
            started: false,
            examined_before: (0, 0),
            dirty: false,
            c: Counters {
                live_requested: 0,
                peak_live_requested: 0,
                used_bytes: 0,
                large_bytes: 0,
                free_bytes: 0,
                live_blocks: 0,
                free_blocks: 0,
                arena_pages: 0,
                large_pages: 0,
                arenas: 0,
                high_water_mark: 0,
                last_examined: 0,
                total_examined: 0,
                operations: 0,
            },
        }
    }

    /// The configuration (normalized: `policy` is the policy in use).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The policy in use.
    pub fn policy_kind(&self) -> PolicyKind {
        self.config.policy
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably (e.g. to clear a recorder).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// The page source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The minimum block size (header + the policy's links + footer, rounded
    /// to the granule).
    pub fn min_block(&self) -> usize {
        self.min_block
    }

    #[inline]
    fn emit(&mut self, e: Event) {
        if O::ENABLED {
            self.observer.event(e);
        }
    }

    #[inline]
    fn begin(&mut self) {
        // A single-policy type (`P::KIND` is some) is complete as `P::EMPTY`;
        // only the run-time choice must be built from the config once.
        if P::KIND.is_none() && !self.started {
            self.policy = P::with_order(self.config.policy, self.list_order());
            self.started = true;
        }
        self.examined_before = (self.c.last_examined, self.c.total_examined);
        self.c.last_examined = 0;
    }

    /// Ends a public operation: a success counts; a failure leaves every
    /// figure as it was (the heap itself is unchanged by contract).
    #[inline]
    fn finish<T>(&mut self, r: Result<T, AllocError>) -> Result<T, AllocError> {
        match &r {
            Ok(_) => self.c.operations += 1,
            Err(e) => {
                (self.c.last_examined, self.c.total_examined) = self.examined_before;
                self.emit(Event::Error { code: e.code() });
            }
        }
        r
    }

    #[inline]
    fn request(&self, size: usize, align: usize) -> Result<Request, AllocError> {
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Err(AllocError::InvalidAlign);
        }
        if size == 0 || size > MAX_SIZE {
            return Err(AllocError::InvalidSize);
        }
        Ok(Request::new(size, align, self.granule, self.min_block))
    }

    fn bump_hwm(&mut self) {
        let used = (self.c.arena_pages + self.c.large_pages + self.pages.meta_pages()) * PAGE;
        if used > self.c.high_water_mark {
            self.c.high_water_mark = used;
        }
    }

    // ----------------------------------------------------------------- alloc

    /// Allocates `size` bytes aligned to `align` (raised to the granule).
    ///
    /// # Errors
    /// `InvalidSize` if `size` is 0 or above [`MAX_SIZE`] (the `GlobalAlloc`
    /// adapter turns size 0 into 1); `InvalidAlign` if `align` is not a power
    /// of two or above 4096; `OutOfMemory` if memory cannot grow.
    ///
    /// # Time complexity
    /// The policy's search (O(n) for first and next fit), plus a sweep in
    /// deferred mode and O(pages) when memory must grow.
    pub fn alloc(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        self.begin();
        self.emit(Event::Alloc { size, align });
        let r = match self.request(size, align) {
            Ok(req) => self.alloc_req(&req),
            Err(e) => Err(e),
        };
        self.finish(r)
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
        let r = match total.ok_or(AllocError::InvalidSize).and_then(|t| self.request(t, 1)) {
            Ok(req) => self.alloc_req(&req).inspect(|p| {
                // SAFETY: the payload has at least `req.size` writable bytes.
                unsafe { p.as_ptr().write_bytes(0, req.size) };
            }),
            Err(e) => Err(e),
        };
        self.finish(r)
    }

    /// The fast path: one search of the index, then placement. Everything
    /// else (large objects, sweeping, growing) is in [`Heap::alloc_slow`].
    #[inline]
    fn alloc_req(&mut self, req: &Request) -> Result<NonNull<u8>, AllocError> {
        if req.worst_case() <= self.large_min {
            if let Some(fit) = self.search(req) {
                // SAFETY: `fit` was found by the index, so the block is free and fits.
                return Ok(unsafe { self.place(fit, req) });
            }
        }
        self.alloc_slow(req)
    }

    /// One search of the index, counted in the examined figures.
    #[inline]
    fn search(&mut self, req: &Request) -> Option<Fit> {
        // SAFETY: the index holds exactly this heap's free blocks.
        let s = unsafe { self.policy.find(req, &mut self.observer) };
        self.c.last_examined += s.examined;
        self.c.total_examined += s.examined as u64;
        s.fit
    }

    /// After a failed search (or for a large request): sweep (deferred
    /// mode) or grow, and search again, up to four growths.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&mut self, req: &Request) -> Result<NonNull<u8>, AllocError> {
        if req.worst_case() > self.large_min {
            return self.alloc_large(req);
        }
        let mut attempt = 0;
        loop {
            // Deferred coalescing sweeps only when that serves the request,
            // so that an allocation that fails leaves the heap as it was.
            if self.dirty && self.sweep_would_serve(req) {
                self.sweep_inner();
            } else {
                if attempt > 3 {
                    return Err(AllocError::OutOfMemory);
                }
                self.add_arena(req.worst_case().saturating_mul(1 << attempt))?;
                attempt += 1;
            }
            if let Some(fit) = self.search(req) {
                // SAFETY: as in `alloc_req`.
                return Ok(unsafe { self.place(fit, req) });
            }
        }
    }

    /// Replaces indexed free block `old` by a free block `new` of `new_size`
    /// bytes in the same free run (see [`Policy::try_replace`]).
    ///
    /// # Safety
    /// `old` is indexed; `new..new + new_size` is free memory of this heap
    /// that contains no other indexed block.
    #[inline]
    unsafe fn index_swap(&mut self, old: Block, new: Block, new_size: usize, prev_used: bool) {
        // SAFETY: forwarded to the caller; the header is written between
        // remove and insert as the trait requires.
        unsafe {
            let replaced = self.policy.try_replace(old, new, new_size);
            if !replaced {
                self.policy.remove(old);
            }
            new.write_free(new_size, prev_used);
            if !replaced {
                self.policy.insert(new);
            }
        }
    }

    /// Carves the used block out of a fitting free block.
    ///
    /// # Safety
    /// `fit` comes from this heap's index for `req`.
    #[inline(always)]
    unsafe fn place(&mut self, fit: Fit, req: &Request) -> NonNull<u8> {
        let c = fit.block;
        // SAFETY: `c` is an indexed free block of this heap; every address
        // written below lies inside it.
        unsafe {
            let cs = c.size();
            let c_prev_used = c.prev_used();
            let gap = fit.gap;
            let mut need = fit.need;
            debug_assert!(gap == 0 || gap >= self.min_block, "alignment gap must be 0 or a block");
            debug_assert!(gap + need <= cs, "fit larger than the block");
            let rest = cs - gap - need;
            let split = rest >= self.split_min;
            if !split {
                need = cs - gap;
            }
            let u = c.add(gap);
            if gap > 0 {
                self.index_swap(c, c, gap, c_prev_used);
                self.emit(Event::Split { block: c.addr(), size: gap, remainder: cs - gap });
                if split {
                    let r = u.add(need);
                    r.write_free(rest, true);
                    self.policy.insert(r);
                    self.c.free_blocks += 1;
                }
            } else if split {
                self.index_swap(c, u.add(need), rest, true);
            } else {
                self.policy.remove(c);
                self.c.free_blocks -= 1;
            }
            if split {
                self.emit(Event::Split { block: u.addr(), size: need, remainder: rest });
            }
            u.write_used(need, req.size, gap == 0 && c_prev_used, req.align);
            if !split {
                u.next().set_prev_used(true);
            }
            self.c.free_bytes -= need;
            self.c.used_bytes += need;
            self.mark_live(u, req.size);
            debug_assert!(u.payload().as_ptr().addr().is_multiple_of(req.align), "payload misaligned");
            u.payload()
        }
    }

    fn mark_live(&mut self, b: Block, requested: usize) {
        self.pages.set_live(b.payload().as_ptr().addr(), true);
        self.c.live_blocks += 1;
        self.c.live_requested += requested;
        if self.c.live_requested > self.c.peak_live_requested {
            self.c.peak_live_requested = self.c.live_requested;
        }
        if O::ENABLED {
            // SAFETY: `b` was just written as a used block.
            let size = unsafe { b.size() };
            self.emit(Event::MarkUsed { block: b.addr(), size, requested });
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc_large(&mut self, req: &Request) -> Result<NonNull<u8>, AllocError> {
        let a = max(req.align, HEADER);
        let n = (a + req.size).div_ceil(PAGE);
        let idx = self.take_pages(n)?;
        self.pages.set_owner(idx, n, PageOwner::LargeHead);
        self.c.large_pages += n;
        self.c.large_bytes += n * PAGE;
        self.bump_hwm();
        let run = self.pages.page_ptr(idx);
        let b = Block::from_header(run);
        // SAFETY: the run is `n` pages of this heap; the header at
        // `a − 8 < 4096` and the payload lie inside it.
        unsafe {
            let b = b.add(a - HEADER);
            let size = n * PAGE - (a - HEADER);
            b.set_header(Block::encode(size, true, true, true, req.size));
            self.emit(Event::PagesTaken { addr: run.as_ptr().addr(), pages: n, owner: PageOwner::LargeHead });
            self.emit(Event::LargeAlloc { block: b.addr(), pages: n });
            self.mark_live(b, req.size);
            Ok(b.payload())
        }
    }

    /// A run of `n` free pages: from the map, else after releasing empty
    /// arenas, else from new memory.
    fn take_pages(&mut self, n: usize) -> Result<usize, AllocError> {
        if let Some(i) = self.pages.find_free_run(n) {
            return Ok(i);
        }
        // Release empty arenas only when that yields the run: a request
        // that fails must leave the heap as it was.
        if self.free_run_after_release(n) {
            self.release_empty_arenas();
            if let Some(i) = self.pages.find_free_run(n) {
                return Ok(i);
            }
        }
        self.grow(n)?;
        self.pages.find_free_run(n).ok_or(AllocError::OutOfMemory)
    }

    /// Obtains memory for at least `n` more pages (plus metadata growth).
    fn grow(&mut self, n: usize) -> Result<(), AllocError> {
        if self.pages.segments_full() {
            return Err(AllocError::OutOfMemory);
        }
        let pages = n.checked_add(self.pages.meta_growth(n)).ok_or(AllocError::OutOfMemory)?;
        let bytes = pages.checked_mul(PAGE).ok_or(AllocError::OutOfMemory)?;
        let rounded = bytes.checked_add(WASM_PAGE - 1).ok_or(AllocError::OutOfMemory)? & !(WASM_PAGE - 1);
        if self.pages.heap_bytes().saturating_add(rounded) > self.config.max_bytes {
            return Err(AllocError::OutOfMemory);
        }
        let (ptr, len) = self.source.grow(bytes).ok_or(AllocError::OutOfMemory)?;
        let added = self.pages.add_memory(ptr, len & !(PAGE - 1)).map_err(|()| AllocError::OutOfMemory)?;
        self.emit(Event::Grow { addr: ptr.as_ptr().addr(), bytes: len, new_segment: added.new_segment });
        if let Some(((new, m), (old, om))) = added.meta_moved {
            let addr = self.pages.page_addr(new);
            self.emit(Event::MetaMoved { addr, pages: m });
            self.emit(Event::PagesTaken { addr, pages: m, owner: PageOwner::Meta });
            if om > 0 {
                let addr = self.pages.page_addr(old);
                self.emit(Event::PagesReturned { addr, pages: om });
            }
        }
        self.bump_hwm();
        Ok(())
    }

    /// Makes room for a free block of at least `block_bytes`: extends an
    /// arena into the free pages after it, or creates a new arena.
    #[cold]
    #[inline(never)]
    fn add_arena(&mut self, block_bytes: usize) -> Result<(), AllocError> {
        let block_bytes = min(block_bytes, MAX_BLOCK - 2 * PAGE);
        let min_pages = (block_bytes + self.granule).div_ceil(PAGE);
        let want = max(min_pages, self.config.arena_pages);
        let (idx, n) = if let Some(i) = self.pages.find_free_run(want) {
            (i, want)
        } else if let Some(i) = self.pages.find_free_run(min_pages) {
            (i, min_pages)
        } else {
            match self.take_pages(want) {
                Ok(i) => (i, want),
                Err(_) => (self.take_pages(min_pages)?, min_pages),
            }
        };
        // SAFETY: pages `idx..idx + n` are free pages of this heap.
        unsafe {
            if !self.try_extend_arena(idx, n) {
                self.new_arena(idx, n);
            }
        }
        self.bump_hwm();
        Ok(())
    }

    /// Creates an arena over free pages `idx..idx + n`.
    ///
    /// # Safety
    /// The pages are free pages of this heap.
    unsafe fn new_arena(&mut self, idx: usize, n: usize) {
        self.pages.set_owner(idx, n, PageOwner::ArenaHead);
        self.c.arena_pages += n;
        self.c.arenas += 1;
        let base = self.pages.page_ptr(idx);
        let g = self.granule;
        let size = n * PAGE - g;
        // SAFETY: the first block and the epilogue lie inside the run.
        unsafe {
            let first = Block::from_header(base).add(g - HEADER);
            first.write_free(size, true);
            first.next().write_epilogue(false);
            self.policy.insert(first);
        }
        self.c.free_blocks += 1;
        self.c.free_bytes += size;
        self.emit(Event::PagesTaken { addr: base.as_ptr().addr(), pages: n, owner: PageOwner::ArenaHead });
        self.emit(Event::ArenaNew { addr: base.as_ptr().addr(), pages: n });
    }

    /// First page of the arena owning page `idx`.
    fn arena_head(&self, mut idx: usize) -> usize {
        let first = self.pages.segment_first_page(idx);
        while idx > first && self.pages.owner(idx) != PageOwner::ArenaHead {
            idx -= 1;
        }
        idx
    }

    /// Pages of the arena starting at page `head`.
    fn arena_len(&self, head: usize) -> usize {
        let end = self.pages.segment_end_page(head);
        let mut i = head + 1;
        while i < end && self.pages.owner(i) == PageOwner::Arena {
            i += 1;
        }
        i - head
    }

    /// If page `idx − 1` ends an arena (same segment), grows that arena over
    /// free pages `idx..idx + n` and returns true.
    ///
    /// # Safety
    /// The pages are free pages of this heap.
    unsafe fn try_extend_arena(&mut self, idx: usize, n: usize) -> bool {
        if idx == 0 || idx == self.pages.segment_first_page(idx) || !self.pages.owner(idx - 1).is_arena() {
            return false;
        }
        let head = self.arena_head(idx - 1);
        if (idx - head + n) * PAGE > MAX_BLOCK {
            return false;
        }
        self.pages.set_owner(idx, n, PageOwner::Arena);
        self.c.arena_pages += n;
        let run = self.pages.page_ptr(idx);
        let size = n * PAGE;
        // SAFETY: the old epilogue is the last 8 bytes of page `idx − 1` (same
        // segment); the new block and epilogue lie in the new pages.
        unsafe {
            let e = Block::from_header(run.byte_sub(HEADER));
            debug_assert!(e.size() == 0 && e.is_used(), "arena does not end with an epilogue");
            e.set_header(Block::encode(size, true, e.prev_used(), false, 0));
            e.next().write_epilogue(true);
            self.c.used_bytes += size;
            self.emit(Event::PagesTaken { addr: run.as_ptr().addr(), pages: n, owner: PageOwner::Arena });
            self.emit(Event::ArenaExtend { addr: run.as_ptr().addr(), pages: n });
            // The old epilogue is now a used block of the new pages: free it.
            self.c.used_bytes -= size;
            self.release_block(e, size, true);
        }
        true
    }

    // ------------------------------------------------------------------ free

    /// Frees the allocation whose payload starts at `ptr`.
    ///
    /// # Errors
    /// `DoubleFree`, `InteriorPointer` or `NotAllocated` (see
    /// [`AllocError`]); the heap is unchanged then.
    ///
    /// # Time complexity
    /// O(1) validation (live bitmap) and merging; plus the index's insert
    /// (O(n) for first and next fit); a large object frees O(pages). The
    /// error path walks the arena holding `ptr`.
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

    #[inline]
    fn free_impl<const CLASSIFY: bool>(&mut self, ptr: *mut u8) -> Result<(), AllocError> {
        self.begin();
        self.emit(Event::Free { payload: ptr.addr() });
        // One look-up both validates the address and clears its live bit.
        let r = match self.pages.take_live(ptr.addr()) {
            Some(p) => {
                // SAFETY: a live payload started at `p` (its bit is now
                // cleared), so its header at p − 8 is trusted.
                let _: () = unsafe { self.free_taken(Block::from_payload(p)) };
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
        self.pages.set_live(b.payload().as_ptr().addr(), false);
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
            self.c.used_bytes -= size;
            self.c.live_requested -= b.requested();
            self.c.live_blocks -= 1;
            self.emit(Event::MarkFree { block: b.addr(), size });
            self.release_block(b, size, false);
        }
    }

    /// Turns used block `b` (live bit already cleared, not counted in
    /// `used_bytes`) into free space: merges it with free neighbours
    /// (immediate mode, or `force_merge`) or just indexes it (deferred).
    ///
    /// # Safety
    /// `b` is a used, non-large block of this heap of `size` bytes.
    unsafe fn release_block(&mut self, b: Block, size: usize, force_merge: bool) {
        self.c.free_bytes += size;
        // SAFETY: `b` and its physical neighbours are blocks of one arena.
        unsafe {
            let n = b.next();
            if self.config.coalesce == Coalesce::Deferred && !force_merge {
                b.write_free(size, b.prev_used());
                self.policy.insert(b);
                n.set_prev_used(false);
                self.c.free_blocks += 1;
                self.dirty = true;
                return;
            }
            let n_free = !n.is_used();
            let p_free = !b.prev_used();
            let (start, total) = match (p_free, n_free) {
                (false, false) => {
                    b.write_free(size, true);
                    self.policy.insert(b);
                    self.c.free_blocks += 1;
                    (b, size)
                }
                (false, true) => {
                    let total = size + n.size();
                    self.index_swap(n, b, total, true);
                    self.emit(Event::Merge { block: b.addr(), with: n.addr(), size: total });
                    (b, total)
                }
                (true, n_free) => {
                    let p = b.prev();
                    // Leave a stale free header so a second free is told apart.
                    b.set_header(Block::encode(size, false, false, false, 0));
                    let ns = if n_free { n.size() } else { 0 };
                    let total = p.size() + size + ns;
                    if n_free {
                        self.policy.remove(n);
                        self.c.free_blocks -= 1;
                    }
                    self.index_swap(p, p, total, p.prev_used());
                    self.emit(Event::Merge { block: p.addr(), with: b.addr(), size: total - ns });
                    if n_free {
                        self.emit(Event::Merge { block: p.addr(), with: n.addr(), size: total });
                    }
                    (p, total)
                }
            };
            start.next().set_prev_used(false);
            self.maybe_release_arena(start, total);
        }
    }

    /// Returns the arena to the page layer if `m` (free, `size` bytes) now
    /// spans all of it, unless it is the last arena.
    ///
    /// # Safety
    /// `m` is an indexed free block of this heap.
    unsafe fn maybe_release_arena(&mut self, m: Block, size: usize) {
        // SAFETY: `m` is a free block; its next header is in the arena.
        let whole = unsafe { m.prev_used() && m.next().size() == 0 };
        if !whole || self.c.arenas <= 1 {
            return;
        }
        let Some(idx) = self.pages.page_index(m.addr()) else { return };
        if self.pages.owner(idx) == PageOwner::ArenaHead && m.addr() - self.pages.page_addr(idx) == self.granule - HEADER {
            // SAFETY: `m` spans the arena starting at page `idx`.
            unsafe { self.release_arena(idx, m, size) };
        }
    }

    /// Gives the arena at page `idx`, whose only block is free block `m`,
    /// back to the page layer.
    ///
    /// # Safety
    /// As described.
    #[cold]
    #[inline(never)]
    unsafe fn release_arena(&mut self, idx: usize, m: Block, size: usize) {
        // SAFETY: `m` is indexed.
        unsafe { self.policy.remove(m) };
        self.c.free_blocks -= 1;
        self.c.free_bytes -= size;
        let n = (size + self.granule) / PAGE;
        self.pages.set_owner(idx, n, PageOwner::Free);
        self.c.arena_pages -= n;
        self.c.arenas -= 1;
        let addr = self.pages.page_addr(idx);
        self.emit(Event::PagesReturned { addr, pages: n });
    }

    /// Whether a run of `n` pages would be free after
    /// [`release_empty_arenas`](Self::release_empty_arenas) (O(pages)).
    fn free_run_after_release(&self, n: usize) -> bool {
        // SAFETY: the scan passes arena heads of this heap.
        self.free_run_if_released(n, |idx| unsafe { self.arena_is_empty(idx) })
    }

    /// Whether a run of `n` pages would be free if the arenas for which
    /// `released(head page)` says so (asked in page order) were released.
    fn free_run_if_released(&self, n: usize, mut released: impl FnMut(usize) -> bool) -> bool {
        let total = self.pages.total_pages();
        let (mut idx, mut run) = (0, 0);
        while idx < total {
            if self.pages.segment_first_page(idx) == idx {
                run = 0;
            }
            let len = match self.pages.owner(idx) {
                PageOwner::Free => 1,
                PageOwner::ArenaHead if released(idx) => self.arena_len(idx),
                _ => {
                    run = 0;
                    idx += 1;
                    continue;
                }
            };
            run += len;
            if run >= n {
                return true;
            }
            idx += len;
        }
        false
    }

    /// Deferred coalescing: whether a sweep would let `req` be served without
    /// new memory: some run of adjacent free blocks holds `worst_case` bytes,
    /// or the arenas the sweep would release (entirely free ones, in page
    /// order, keeping the last arena) leave a run of free pages for a new
    /// arena. O(blocks + pages); only on the slow path.
    fn sweep_would_serve(&self, req: &Request) -> bool {
        let want = req.worst_case();
        let mut arena_heads = (0..self.pages.total_pages()).filter(|&idx| self.pages.owner(idx) == PageOwner::ArenaHead);
        // SAFETY: each `idx` is an arena head of this heap.
        if arena_heads.any(|idx| unsafe { self.free_runs(idx) }.0 >= want) {
            return true;
        }
        let block_bytes = min(want, MAX_BLOCK - 2 * PAGE);
        let mut releases = self.c.arenas.saturating_sub(1);
        self.free_run_if_released((block_bytes + self.granule).div_ceil(PAGE), |idx| {
            // SAFETY: the scan passes arena heads of this heap.
            let all_free = unsafe { self.free_runs(idx) }.1;
            let released = all_free && releases > 0;
            releases -= usize::from(released);
            released
        })
    }

    /// The largest run of adjacent free blocks of the arena at page `idx`
    /// (its size once merged), and whether every block of it is free.
    ///
    /// # Safety
    /// Page `idx` is an arena head of this heap.
    unsafe fn free_runs(&self, idx: usize) -> (usize, bool) {
        let (mut largest, mut run, mut all_free) = (0, 0, true);
        // SAFETY: the first block of an arena is at page + G − 8 (caller);
        // the walk stops at the epilogue.
        unsafe {
            let mut b = Block::from_header(self.pages.page_ptr(idx)).add(self.granule - HEADER);
            while b.size() != 0 {
                if b.is_used() {
                    all_free = false;
                    run = 0;
                } else {
                    run += b.size();
                    largest = max(largest, run);
                }
                b = b.next();
            }
        }
        (largest, all_free)
    }

    /// Whether the arena at page `idx` is one free block.
    ///
    /// # Safety
    /// Page `idx` is an arena head of this heap.
    unsafe fn arena_is_empty(&self, idx: usize) -> bool {
        // SAFETY: the first block of an arena is at page + G − 8 (caller).
        unsafe {
            let first = Block::from_header(self.pages.page_ptr(idx)).add(self.granule - HEADER);
            !first.is_used() && first.next().size() == 0
        }
    }

    /// Releases every arena that is one free block (slow path: O(pages)).
    fn release_empty_arenas(&mut self) -> usize {
        let mut released = 0;
        for idx in 0..self.pages.total_pages() {
            if self.pages.owner(idx) != PageOwner::ArenaHead {
                continue;
            }
            // SAFETY: the first block of an arena is at page + G − 8.
            unsafe {
                let first = Block::from_header(self.pages.page_ptr(idx)).add(self.granule - HEADER);
                if !first.is_used() && first.next().size() == 0 {
                    let size = first.size();
                    self.release_arena(idx, first, size);
                    released += 1;
                }
            }
        }
        released
    }

    /// Frees large object `b`.
    ///
    /// # Safety
    /// `b` is a live large object of this heap.
    #[cold]
    #[inline(never)]
    unsafe fn free_large(&mut self, b: Block) {
        let idx = self.pages.page_index(b.addr()).expect("large object outside the heap");
        let run = self.pages.page_addr(idx);
        // SAFETY: `b` is live, its header trusted.
        let (size, req) = unsafe { (b.size(), b.requested()) };
        let n = (b.addr() + size - run) / PAGE;
        self.pages.set_live(b.payload().as_ptr().addr(), false);
        // SAFETY: as above; leave a stale "free large" header for double-free detection.
        unsafe { b.set_header(Block::encode(size, false, true, true, 0)) };
        self.pages.set_owner(idx, n, PageOwner::Free);
        self.c.large_pages -= n;
        self.c.large_bytes -= n * PAGE;
        self.c.live_requested -= req;
        self.c.live_blocks -= 1;
        self.emit(Event::MarkFree { block: b.addr(), size });
        self.emit(Event::PagesReturned { addr: run, pages: n });
    }

    /// The live block whose payload starts at `ptr`, or why there is none
    /// (`NotAllocated` without looking further when `!CLASSIFY`).
    #[inline]
    fn validate<const CLASSIFY: bool>(&self, ptr: *mut u8) -> Result<Block, AllocError> {
        match self.pages.live_ptr(ptr.addr()) {
            // SAFETY: a live payload starts at `p`, so its header is at p − 8.
            Some(p) => Ok(unsafe { Block::from_payload(p) }),
            None if CLASSIFY => Err(self.classify(ptr.addr())),
            None => Err(AllocError::NotAllocated),
        }
    }

    /// Slow path: why `addr` is not a live payload.
    #[cold]
    #[inline(never)]
    fn classify(&self, addr: usize) -> AllocError {
        let Some(idx) = self.pages.page_index(addr) else { return AllocError::NotAllocated };
        let owner = self.pages.owner(idx);
        if owner.is_arena() {
            self.classify_in_arena(idx, addr)
        } else if owner.is_large() {
            let head = {
                let first = self.pages.segment_first_page(idx);
                let mut i = idx;
                while i > first && self.pages.owner(i) != PageOwner::LargeHead {
                    i -= 1;
                }
                i
            };
            let start = self.pages.page_addr(head);
            if let Some(p) = self.pages.next_live(start, start + PAGE + HEADER) {
                let b = self.pages.ptr_at(p - HEADER).map(Block::from_header);
                // SAFETY: a live large payload's header is trusted.
                if let Some(b) = b {
                    let end = b.addr() + unsafe { b.size() };
                    if addr > p && addr < end {
                        return AllocError::InteriorPointer;
                    }
                }
            }
            AllocError::NotAllocated
        } else if owner == PageOwner::Free && self.stale_header(addr, usize::MAX) {
            AllocError::DoubleFree
        } else {
            AllocError::NotAllocated
        }
    }

    /// Whether the 8 bytes before `addr` look like the header of a freed
    /// block ending by `limit`.
    fn stale_header(&self, addr: usize, limit: usize) -> bool {
        if !addr.is_multiple_of(self.granule) {
            return false;
        }
        let Some(p) = addr.checked_sub(HEADER).and_then(|h| self.pages.ptr_at(h)) else { return false };
        if self.pages.page_index(addr - HEADER).map(|i| self.pages.owner(i)) == Some(PageOwner::Meta) {
            return false;
        }
        // SAFETY: `p` is 8-aligned memory of this heap (initialized, see `PageSource`).
        let h = unsafe { Block::from_header(p).header() };
        let size = (h as u32 & !7) as usize;
        let in_page_layer = limit == usize::MAX;
        let shape = if h & LARGE != 0 { in_page_layer && size.is_multiple_of(8) } else { size.is_multiple_of(self.granule) && size >= self.min_block };
        h & USED == 0 && h >> 32 == 0 && shape && (in_page_layer || addr - HEADER + size <= limit)
    }

    fn classify_in_arena(&self, idx: usize, addr: usize) -> AllocError {
        let head = self.arena_head(idx);
        let end = self.pages.page_addr(head) + self.arena_len(head) * PAGE - HEADER;
        let mut b = Block::from_header(self.pages.page_ptr(head));
        // SAFETY: the first block is at page + G − 8; each step is bounds-checked
        // against the arena end before reading.
        unsafe {
            b = b.add(self.granule - HEADER);
            while b.addr() < end {
                let s = b.size();
                if s == 0 || !s.is_multiple_of(self.granule) || b.addr() + s > end {
                    break;
                }
                let start = b.addr();
                if addr == start + HEADER {
                    return if b.is_used() { AllocError::NotAllocated } else { AllocError::DoubleFree };
                }
                if addr > start + HEADER && addr < start + s {
                    return if b.is_used() {
                        AllocError::InteriorPointer
                    } else if self.stale_header(addr, start + s) {
                        AllocError::DoubleFree
                    } else {
                        AllocError::NotAllocated
                    };
                }
                if addr < start + s {
                    break;
                }
                b = b.next();
            }
        }
        AllocError::NotAllocated
    }

    // --------------------------------------------------------------- realloc

    /// Resizes the allocation at `ptr` to `new_size` bytes, keeping the
    /// alignment it was allocated with (recorded in the header).
    ///
    /// Shrinks in place (splitting off the tail if it is at least
    /// `split_min`), grows in place into a free next neighbour or the free
    /// pages after the arena, else allocates, copies and frees.
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

    #[inline]
    fn realloc_impl<const CLASSIFY: bool>(&mut self, ptr: *mut u8, new_size: usize, align: Option<usize>) -> Result<NonNull<u8>, AllocError> {
        self.begin();
        self.emit(Event::Realloc { payload: ptr.addr(), size: new_size });
        let r = match self.request(new_size, align.unwrap_or(1)) {
            Ok(_) => match self.validate::<CLASSIFY>(ptr) {
                Ok(b) => {
                    let align = align.unwrap_or_else(|| self.block_align(b));
                    let req = Request::new(new_size, align, self.granule, self.min_block);
                    // SAFETY: `b` is a live block of this heap.
                    unsafe { self.realloc_block(b, &req) }
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        self.finish(r)
    }

    /// The alignment live block `b` was allocated with.
    fn block_align(&self, b: Block) -> usize {
        // SAFETY: `b` is live (validated by the caller).
        if unsafe { b.is_large() } {
            // The payload sits `align` bytes (at least 8) into its first page.
            let run = self.pages.page_index(b.addr()).map_or(0, |i| self.pages.page_addr(i));
            let off = b.payload().as_ptr().addr() - run;
            min(1 << off.trailing_zeros(), MAX_ALIGN)
        } else {
            // SAFETY: as above.
            unsafe { b.align() }
        }
    }

    /// # Safety
    /// `b` is a live block of this heap.
    unsafe fn realloc_block(&mut self, b: Block, req: &Request) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: `b` is live; all blocks touched are its arena neighbours.
        unsafe {
            let old_req = b.requested();
            let p = b.payload();
            let bs = b.size();
            if b.is_large() {
                if req.worst_case() > self.large_min && p.as_ptr().addr() + req.size <= b.addr() + bs {
                    self.resize_requested(b, old_req, req.size);
                    return Ok(p);
                }
            } else if req.worst_case() <= self.large_min {
                let need = req.need;
                if need <= bs {
                    let rest = bs - need;
                    if rest >= self.split_min {
                        b.write_used(need, old_req, b.prev_used(), b.align());
                        let r = b.add(need);
                        r.set_header(Block::encode(rest, true, true, false, 0));
                        self.c.used_bytes -= rest;
                        self.emit(Event::Split { block: b.addr(), size: need, remainder: rest });
                        self.release_block(r, rest, false);
                    }
                    self.resize_requested(b, old_req, req.size);
                    return Ok(p);
                }
                let mut n = b.next();
                let (tail_free, e) = if n.size() == 0 {
                    (0, n)
                } else if !n.is_used() && n.next().size() == 0 {
                    (n.size(), n.next())
                } else {
                    (0, n)
                };
                if e.size() == 0 && bs + tail_free < need {
                    // At the arena's end: grow into free pages after it.
                    let more = (need - bs - tail_free).div_ceil(PAGE);
                    let end = e.addr() + HEADER;
                    if let Some(idx) = self.pages.page_index(end).filter(|&i| i == self.pages.page_index(e.addr()).unwrap_or(0) + 1) {
                        let seg_end = self.pages.segment_end_page(idx);
                        if idx + more <= seg_end && (idx..idx + more).all(|i| self.pages.owner(i) == PageOwner::Free) && self.try_extend_arena(idx, more) {
                            self.bump_hwm();
                            n = b.next();
                        }
                    }
                }
                if !n.is_used() && bs + n.size() >= need {
                    let total = bs + n.size();
                    let rest = total - need;
                    self.c.free_bytes -= n.size();
                    self.emit(Event::Merge { block: b.addr(), with: n.addr(), size: total });
                    if rest >= self.split_min {
                        let r = b.add(need);
                        self.index_swap(n, r, rest, true);
                        self.c.free_bytes += rest;
                        b.write_used(need, old_req, b.prev_used(), b.align());
                        self.c.used_bytes += need - bs;
                    } else {
                        self.policy.remove(n);
                        self.c.free_blocks -= 1;
                        b.write_used(total, old_req, b.prev_used(), b.align());
                        b.next().set_prev_used(true);
                        self.c.used_bytes += total - bs;
                    }
                    self.resize_requested(b, old_req, req.size);
                    return Ok(p);
                }
            }
            // Move: allocate, copy, free. `b` stays intact until the copy.
            let q = self.alloc_req(req)?;
            ptr::copy_nonoverlapping(p.as_ptr(), q.as_ptr(), min(old_req, req.size));
            self.free_block(b);
            Ok(q)
        }
    }

    /// # Safety
    /// `b` is a live block of this heap.
    unsafe fn resize_requested(&mut self, b: Block, old: usize, new: usize) {
        // SAFETY: `b` is live.
        unsafe { b.set_requested(new) };
        self.c.live_requested = self.c.live_requested - old + new;
        if self.c.live_requested > self.c.peak_live_requested {
            self.c.peak_live_requested = self.c.live_requested;
        }
        if O::ENABLED {
            // SAFETY: as above.
            let size = unsafe { b.size() };
            self.emit(Event::Resize { block: b.addr(), size });
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
        let b = self.validate::<true>(ptr)?;
        // SAFETY: `b` is live.
        Ok(unsafe { b.size() } - HEADER)
    }

    // ----------------------------------------------------------------- sweep

    /// Deferred coalescing: merges every run of adjacent free blocks and
    /// releases arenas that became entirely free (keeping the last one). A
    /// no-op in effect under immediate coalescing.
    ///
    /// # Time complexity
    /// O(blocks + pages).
    pub fn sweep(&mut self) {
        self.begin();
        self.sweep_inner();
    }

    #[cold]
    #[inline(never)]
    fn sweep_inner(&mut self) {
        self.emit(Event::SweepStart);
        let mut merged = 0;
        for idx in 0..self.pages.total_pages() {
            if self.pages.owner(idx) != PageOwner::ArenaHead {
                continue;
            }
            // SAFETY: walks the blocks of a well-formed arena, first block at
            // page + G − 8, stopping at the epilogue.
            unsafe {
                let first = Block::from_header(self.pages.page_ptr(idx)).add(self.granule - HEADER);
                let mut b = first;
                while b.size() != 0 {
                    if !b.is_used() {
                        let mut n = b.next();
                        if !n.is_used() {
                            self.policy.remove(b);
                            let mut total = b.size();
                            while !n.is_used() {
                                self.policy.remove(n);
                                self.c.free_blocks -= 1;
                                total += n.size();
                                merged += 1;
                                self.emit(Event::Merge { block: b.addr(), with: n.addr(), size: total });
                                n = n.next();
                            }
                            b.write_free(total, b.prev_used());
                            self.policy.insert(b);
                        }
                        if b == first && b.next().size() == 0 && self.c.arenas > 1 {
                            let size = b.size();
                            self.release_arena(idx, b, size);
                            break;
                        }
                    }
                    b = b.next();
                }
            }
        }
        self.dirty = false;
        self.emit(Event::SweepEnd { merged });
    }

    // ----------------------------------------------------------------- reset

    /// Back to an empty heap, keeping the memory already obtained (segments)
    /// as free pages. Counters restart.
    ///
    /// # Time complexity
    /// O(pages).
    pub fn reset(&mut self) {
        self.pages.reset();
        self.policy = P::with_order(self.config.policy, self.list_order());
        self.started = true;
        self.dirty = false;
        self.c = Counters::default();
        self.bump_hwm();
    }

    // --------------------------------------------------------- introspection

    /// A snapshot of the counters (plus a walk for the largest free block).
    ///
    /// # Time complexity
    /// O(blocks + pages).
    pub fn stats(&self) -> Stats {
        let largest_free = self.blocks().filter(|b| !b.used).map(|b| b.size).max().unwrap_or(0);
        let c = &self.c;
        let pages_in_use = c.arena_pages + c.large_pages + self.pages.meta_pages();
        Stats {
            live_requested: c.live_requested,
            peak_live_requested: c.peak_live_requested,
            allocated_bytes: c.used_bytes + c.large_bytes,
            free_bytes: c.free_bytes,
            largest_free,
            external_fragmentation: if c.free_bytes == 0 { 0.0 } else { 1.0 - largest_free as f64 / c.free_bytes as f64 },
            utilization: if c.high_water_mark == 0 { 0.0 } else { c.peak_live_requested as f64 / c.high_water_mark as f64 },
            pages_in_use,
            heap_bytes: self.pages.heap_bytes(),
            high_water_mark: c.high_water_mark,
            live_blocks: c.live_blocks,
            free_blocks: c.free_blocks,
            arenas: c.arenas,
            segments: self.pages.segments().len(),
            last_examined: c.last_examined,
            total_examined: c.total_examined,
            operations: c.operations,
        }
    }

    /// The segments as `(base address, length in bytes)`, in the order obtained.
    pub fn segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.pages.segments().iter().map(|s| (s.base(), s.len()))
    }

    /// Every page as `(address, owner)`, segment by segment.
    pub fn pages(&self) -> impl Iterator<Item = (usize, PageOwner)> + '_ {
        (0..self.pages.total_pages()).map(|i| (self.pages.page_addr(i), self.pages.owner(i)))
    }

    /// Owner of the page holding `addr` (`None` outside the heap).
    pub fn page_owner(&self, addr: usize) -> Option<PageOwner> {
        self.pages.page_index(addr).map(|i| self.pages.owner(i))
    }

    /// Whether a live payload starts at `addr` (the live bitmap).
    pub fn is_live(&self, addr: usize) -> bool {
        self.pages.is_live(addr)
    }

    /// Every block of every arena and every large object, in page-map
    /// order (address order within a segment). Stops an arena early at a
    /// corrupted header rather than reading out of bounds.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks { pages: &self.pages, granule: self.granule, next_page: 0, cur: None, end: 0 }
    }
}

/// Iterator over blocks, see [`Heap::blocks`].
pub struct Blocks<'a> {
    pages: &'a Pages,
    granule: usize,
    next_page: usize,
    /// Next block of the current arena, and that arena's epilogue address.
    cur: Option<Block>,
    end: usize,
}

impl Iterator for Blocks<'_> {
    type Item = BlockInfo;

    fn next(&mut self) -> Option<BlockInfo> {
        loop {
            if let Some(b) = self.cur {
                // SAFETY: `b` lies inside the current arena (checked below
                // before advancing), so its header is readable.
                unsafe {
                    let s = b.size();
                    if b.addr() >= self.end || s == 0 || s % 8 != 0 || b.addr() + s > self.end {
                        self.cur = None;
                        continue;
                    }
                    self.cur = Some(b.next());
                    return Some(info(b));
                }
            }
            let total = self.pages.total_pages();
            while self.next_page < total {
                let idx = self.next_page;
                self.next_page += 1;
                match self.pages.owner(idx) {
                    PageOwner::ArenaHead => {
                        let end_page = self.pages.segment_end_page(idx);
                        let mut i = idx + 1;
                        while i < end_page && self.pages.owner(i) == PageOwner::Arena {
                            i += 1;
                        }
                        let base = self.pages.page_ptr(idx);
                        self.end = base.as_ptr().addr() + (i - idx) * PAGE - HEADER;
                        // SAFETY: page + G − 8 is inside the arena's first page.
                        self.cur = Some(unsafe { Block::from_header(base).add(self.granule - HEADER) });
                        self.next_page = i;
                        break;
                    }
                    PageOwner::LargeHead => {
                        let start = self.pages.page_addr(idx);
                        if let Some(p) = self.pages.next_live(start, start + PAGE + HEADER) {
                            if let Some(h) = self.pages.ptr_at(p - HEADER) {
                                // SAFETY: a live large payload's header is trusted.
                                return Some(unsafe { info(Block::from_header(h)) });
                            }
                        }
                    }
                    _ => {}
                }
            }
            self.cur?;
        }
    }
}

/// # Safety
/// `b`'s header is readable.
unsafe fn info(b: Block) -> BlockInfo {
    // SAFETY: forwarded to the caller.
    unsafe {
        BlockInfo {
            addr: b.addr(),
            size: b.size(),
            payload: b.payload().as_ptr().addr(),
            requested: b.requested(),
            used: b.is_used(),
            large: b.is_large(),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::pages::FixedRegion;
    use crate::policy::{FirstFit, NextFit};
    use std::alloc::{alloc_zeroed, dealloc, Layout};

    /// A zeroed, page-aligned test region, freed on drop.
    struct Region(*mut u8, usize);
    impl Region {
        fn new(len: usize) -> Self {
            // SAFETY: non-zero size.
            let p = unsafe { alloc_zeroed(Layout::from_size_align(len, 4096).unwrap()) };
            assert!(!p.is_null());
            Region(p, len)
        }
        fn source(&self) -> FixedRegion {
            // SAFETY: the region outlives the heap in every test below.
            unsafe { FixedRegion::new(self.0, self.1) }
        }
    }
    impl Drop for Region {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with this layout.
            unsafe { dealloc(self.0, Layout::from_size_align(self.1, 4096).unwrap()) }
        }
    }

    const LEN: usize = if cfg!(miri) { 4 * WASM_PAGE } else { 16 * WASM_PAGE };

    fn basic<P: Policy>(coalesce: Coalesce) {
        let r = Region::new(LEN);
        let mut h: Heap<_, P> = Heap::new(r.source(), Config { coalesce, ..Config::DEFAULT });
        let mut ptrs = [ptr::null_mut(); 24];
        for (i, p) in ptrs.iter_mut().enumerate() {
            let q = h.alloc(1 + i * 13, 1 << (i % 8)).unwrap();
            assert_eq!(q.as_ptr().addr() % (1 << (i % 8)), 0);
            // SAFETY: the payload has at least 1 + i*13 bytes.
            unsafe { q.as_ptr().write_bytes(i as u8, 1 + i * 13) };
            *p = q.as_ptr();
            h.check().unwrap();
        }
        for (i, &p) in ptrs.iter().enumerate().step_by(2) {
            // SAFETY: still live.
            assert_eq!(unsafe { p.read() }, i as u8);
            h.free(p).unwrap();
            h.check().unwrap();
        }
        let big = h.realloc(ptrs[1], 3000).unwrap();
        // SAFETY: realloc keeps the old bytes.
        assert_eq!(unsafe { big.as_ptr().add(13).read() }, 1);
        ptrs[1] = big.as_ptr();
        h.check().unwrap();
        for &p in ptrs.iter().skip(1).step_by(2) {
            h.free(p).unwrap();
            h.check().unwrap();
        }
        h.sweep();
        h.check().unwrap();
        let s = h.stats();
        assert_eq!((s.live_blocks, s.live_requested, s.allocated_bytes), (0, 0, 0));
        assert!(s.free_blocks <= 1, "everything merged: {s:?}");
    }

    #[test]
    fn basic_first_fit() {
        basic::<FirstFit>(Coalesce::Immediate);
        basic::<FirstFit>(Coalesce::Deferred);
    }

    #[test]
    fn basic_next_fit() {
        basic::<NextFit>(Coalesce::Immediate);
        basic::<NextFit>(Coalesce::Deferred);
    }

    #[test]
    fn errors_are_distinct_and_harmless() {
        let r = Region::new(LEN);
        let mut h: Heap<_> = Heap::new(r.source(), Config::DEFAULT);
        let a = h.alloc(64, 8).unwrap().as_ptr();
        let b = h.alloc(64, 8).unwrap().as_ptr();
        let c = h.alloc(64, 8).unwrap().as_ptr();
        h.free(b).unwrap();
        h.free(a).unwrap(); // merges b into a: b's header is now stale
        let before = h.stats();
        assert_eq!(h.free(a), Err(AllocError::DoubleFree));
        assert_eq!(h.free(b), Err(AllocError::DoubleFree));
        assert_eq!(h.free(c.wrapping_add(16)), Err(AllocError::InteriorPointer));
        assert_eq!(h.free(ptr::null_mut()), Err(AllocError::NotAllocated));
        assert_eq!(h.free(c.wrapping_add(3)), Err(AllocError::InteriorPointer));
        assert_eq!(h.alloc(0, 8), Err(AllocError::InvalidSize));
        assert_eq!(h.alloc(8, 3), Err(AllocError::InvalidAlign));
        assert_eq!(h.alloc(8, 8192), Err(AllocError::InvalidAlign));
        assert_eq!(h.calloc(usize::MAX, 2), Err(AllocError::InvalidSize));
        assert_eq!(h.realloc(b, 10), Err(AllocError::DoubleFree));
        let after = h.stats();
        assert_eq!((before.live_blocks, before.free_bytes, before.allocated_bytes), (after.live_blocks, after.free_bytes, after.allocated_bytes));
        h.check().unwrap();
    }

    #[test]
    fn large_objects_and_arenas_return_pages() {
        let r = Region::new(LEN);
        let mut h: Heap<_> = Heap::new(r.source(), Config { large_min: 8192, ..Config::DEFAULT });
        let l = h.alloc(20_000, 4096).unwrap();
        assert_eq!(l.as_ptr().addr() % 4096, 0);
        assert_eq!(h.page_owner(l.as_ptr().addr() - 8), Some(PageOwner::LargeHead));
        h.check().unwrap();
        h.free(l.as_ptr()).unwrap();
        assert_eq!(h.page_owner(l.as_ptr().addr()), Some(PageOwner::Free));
        assert_eq!(h.free(l.as_ptr()), Err(AllocError::DoubleFree));
        h.check().unwrap();
        // Two arenas; free all: only one (cached) arena remains.
        // A large object right after the first arena keeps it from extending.
        let mut a: std::vec::Vec<_> = (0..2).map(|_| h.alloc(7000, 8).unwrap()).collect();
        let l = h.alloc(20_000, 8).unwrap();
        a.extend((0..6).map(|_| h.alloc(7000, 8).unwrap()));
        assert!(h.stats().arenas >= 2);
        h.free(l.as_ptr()).unwrap();
        for p in a {
            h.free(p.as_ptr()).unwrap();
            h.check().unwrap();
        }
        assert_eq!(h.stats().arenas, 1);
    }

    #[test]
    fn segments_from_gapped_growth() {
        let r = Region::new(LEN);
        // SAFETY: the region outlives the heap.
        let src = unsafe { FixedRegion::with_gap(r.0, r.1, PAGE) };
        let mut h: Heap<_, NextFit> = Heap::new(src, Config { coalesce: Coalesce::Deferred, ..Config::DEFAULT });
        let mut v = std::vec::Vec::new();
        while h.stats().segments < 2 {
            v.push(h.alloc(3000, 16).unwrap());
        }
        h.check().unwrap();
        for p in v {
            h.free(p.as_ptr()).unwrap();
        }
        h.sweep();
        h.check().unwrap();
        assert!(h.stats().arenas <= 1);
    }

    #[test]
    fn overflow_into_next_header_is_detected() {
        let r = Region::new(LEN);
        let mut h: Heap<_> = Heap::new(r.source(), Config::DEFAULT);
        let a = h.alloc(24, 8).unwrap();
        let _b = h.alloc(24, 8).unwrap();
        let usable = h.usable_size(a.as_ptr()).unwrap();
        // SAFETY: deliberately corrupts the heap's own memory (the next header).
        unsafe { a.as_ptr().add(usable).write_bytes(0x41, 4) };
        assert!(h.check().is_err());
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
        let span = self.pages.span(addr, len).ok_or(AllocError::OutOfBounds)?;
        // SAFETY: the span lies inside a segment this heap owns, and the
        // shared borrow of `self` keeps the heap from changing it meanwhile.
        Ok(unsafe { span.as_ref() })
    }

    /// The `len` bytes at `addr` for writing, anywhere inside one segment:
    /// writing over a header corrupts the heap, which [`Heap::check`] reports
    /// (and [`Heap::reset`] repairs).
    ///
    /// # Errors
    /// [`AllocError::OutOfBounds`] when any byte lies outside the heap.
    pub fn bytes_mut(&mut self, addr: usize, len: usize) -> Result<&mut [u8], AllocError> {
        let mut span = self.pages.span(addr, len).ok_or(AllocError::OutOfBounds)?;
        // SAFETY: as for `bytes`; the exclusive borrow of `self` makes this
        // the only access to the heap's memory while the slice lives.
        Ok(unsafe { span.as_mut() })
    }
}

/// The free list as the picture reads it: which blocks, in which order.
impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// The order of the free list(s) (the configured order, normalized: see
    /// [`Config::list_order`]).
    pub fn list_order(&self) -> ListOrder {
        ListOrder::for_kind(self.config.list_order, self.config.policy)
    }

    /// Next fit's roving pointer: the header address of the free block the
    /// next search starts at; `None` for the other policies and when no
    /// block is free.
    pub fn rover(&self) -> Option<usize> {
        self.policy.rover().map(|b| b.addr())
    }

    /// Calls `f(list, header address)` for every free block, list by list
    /// and in each list in the order the policy's search walks it: one list
    /// for first, next, best and worst fit (address order, or the
    /// [`Config::list_order`]; the size index smallest first), one per
    /// non-empty size class for segregated fit (with the class's sizes in
    /// [`FreeList::min`]..=[`FreeList::max`]). Every free block is on
    /// exactly one list (this heap keeps no quick lists).
    ///
    /// # Time complexity
    /// O(free blocks), plus O(distinct sizes × 32) for best and worst fit.
    pub fn free_lists(&self, mut f: impl FnMut(FreeList, usize)) {
        // SAFETY: the index holds exactly this heap's free blocks, whose
        // headers and links the heap keeps valid between operations.
        unsafe { self.policy.for_each_free(|list, b| f(list, b.addr())) }
    }
}
