//! The page layer: where memory comes from ([`PageSource`]), the segments it
//! forms, and the page map that knows the owner of every 4 KiB page.
//!
//! * A *wasm page* is 64 KiB, the unit of `memory.grow`.
//! * A *page* is a 4 KiB logical page; the page map has one owner byte per
//!   page ([`PageOwner`]).
//! * A *segment* is a contiguous run of memory from the source; growth that is
//!   contiguous with the last segment extends it, anything else starts a new
//!   one (at most [`MAX_SEGMENTS`]).
//!
//! The page map and the *live bitmap* (one bit per 8 bytes of every page, set
//! iff a live payload starts at that address) are the *metadata*. They live
//! in pages taken from the heap's own memory (owner [`PageOwner::Meta`]):
//!
//! ```text
//! meta run:  [ owner byte × cap ][ bitmap: 8 × u64 per page × cap ]
//! ```
//!
//! When growth brings the page count past `cap`, the metadata moves to the
//! first pages of the new memory (copied), and its old pages become free.

pub mod fixed;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use fixed::FixedRegion;
#[cfg(target_arch = "wasm32")]
pub use wasm::WasmMemory;

use core::ptr::{self, NonNull};

/// Logical page size (4 KiB).
pub const PAGE: usize = 4096;
/// Wasm page size (64 KiB), the unit of `memory.grow`.
pub const WASM_PAGE: usize = 65536;
/// Capacity of the segment table.
pub const MAX_SEGMENTS: usize = 64;
/// Live-bitmap words per page (one bit per 8 bytes).
const WORDS_PER_PAGE: usize = PAGE / 8 / 64;
/// Metadata bytes per page: one owner byte + the bitmap words.
const META_PER_PAGE: usize = 1 + WORDS_PER_PAGE * 8;

/// Where the heap's memory comes from.
///
/// The heap writes headers, links and its page map wherever `grow` says, so
/// implementing this trait is `unsafe` (as talc's `Source`): a safe
/// implementation returning a made-up pointer must not compile.
///
/// ```compile_fail
/// use core::ptr::NonNull;
/// use heaplab::pages::PageSource;
///
/// struct Forged;
/// impl PageSource for Forged {
///     fn grow(&mut self, _: usize) -> Option<(NonNull<u8>, usize)> {
///         Some((NonNull::new(0x1000 as *mut u8).unwrap(), 65536))
///     }
/// }
/// ```
///
/// # Safety
/// Every `Some((start, len))` that `grow` returns is memory that:
/// * is valid for reads and writes for `len` bytes from `start`, with
///   `start` aligned to 4 KiB and `len` a non-zero multiple of 4 KiB of at
///   least `min_bytes`;
/// * is initialized (any bytes) and stays valid as long as the source or a
///   heap built on it exists;
/// * is used by nothing else meanwhile, and overlaps no memory an earlier
///   call returned.
pub unsafe trait PageSource {
    /// Obtains at least `min_bytes` more bytes, returning their start (4 KiB
    /// aligned) and length (a multiple of 4 KiB, usually of 64 KiB). `None`
    /// when no more memory is available; never traps.
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)>;

    /// Whether the next `grow` returns memory that starts where the last
    /// one ended; the heap then grows a large object that ends the memory
    /// in place. A hint, harmless when wrong: memory that comes elsewhere
    /// makes the heap move the object instead, and if that fails too, the
    /// memory obtained stays as free pages. The default, `true`, is what
    /// `memory.grow` does when nothing else grows the memory.
    fn grows_contiguously(&self) -> bool {
        true
    }

    /// [`PageSource::grow`] where the memory would continue the last
    /// memory returned, else `None` with nothing obtained: for a growth
    /// that is worth making only in place (a page map taking room to grow
    /// into). The default grows when [`PageSource::grows_contiguously`]
    /// says the memory will continue; a source that knows better (one
    /// that would otherwise start a new run elsewhere) overrides it. The
    /// same contract as `grow` for what it returns.
    fn grow_in_place(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        if self.grows_contiguously() {
            self.grow(min_bytes)
        } else {
            None
        }
    }
}

/// The owner of a 4 KiB page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "kebab-case"))]
#[repr(u8)]
pub enum PageOwner {
    /// Not in use; available for arenas, large objects or metadata.
    Free = 0,
    /// Page map and live bitmap.
    Meta = 1,
    /// First page of an arena (a run of pages carved into blocks).
    ArenaHead = 2,
    /// Further page of an arena.
    Arena = 3,
    /// First page of a large object.
    LargeHead = 4,
    /// Further page of a large object.
    Large = 5,
}

impl PageOwner {
    /// Decodes an owner byte (unknown values read as `None`).
    #[inline]
    pub const fn from_u8(v: u8) -> Option<PageOwner> {
        Some(match v {
            0 => PageOwner::Free,
            1 => PageOwner::Meta,
            2 => PageOwner::ArenaHead,
            3 => PageOwner::Arena,
            4 => PageOwner::LargeHead,
            5 => PageOwner::Large,
            _ => return None,
        })
    }

    /// Stable kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            PageOwner::Free => "free",
            PageOwner::Meta => "meta",
            PageOwner::ArenaHead => "arena-head",
            PageOwner::Arena => "arena",
            PageOwner::LargeHead => "large-head",
            PageOwner::Large => "large",
        }
    }

    /// Arena head or body.
    #[inline]
    pub const fn is_arena(self) -> bool {
        matches!(self, PageOwner::ArenaHead | PageOwner::Arena)
    }

    /// Large-object head or body.
    #[inline]
    pub const fn is_large(self) -> bool {
        matches!(self, PageOwner::LargeHead | PageOwner::Large)
    }

    /// The owner of the pages after the first one in a run.
    #[inline]
    const fn body(self) -> PageOwner {
        match self {
            PageOwner::ArenaHead => PageOwner::Arena,
            PageOwner::LargeHead => PageOwner::Large,
            o => o,
        }
    }
}

/// One contiguous run of memory from the source.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Start (4 KiB aligned), with the provenance of the whole segment.
    pub(crate) base: *mut u8,
    /// Length in pages.
    pub(crate) pages: usize,
    /// Global index of its first page in the page map.
    pub(crate) first: usize,
}

impl Segment {
    const EMPTY: Segment = Segment { base: ptr::null_mut(), pages: 0, first: 0 };

    /// Start address.
    pub fn base(&self) -> usize {
        self.base.addr()
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.pages * PAGE
    }
    /// Whether it is empty (never, once recorded).
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }
    #[inline]
    fn contains(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.base.addr()) < self.pages * PAGE
    }
}

/// What [`Pages::add_memory`] did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Added {
    pub new_segment: bool,
    /// New metadata (first page index, pages) and the old run freed, if moved.
    pub meta_moved: Option<((usize, usize), (usize, usize))>,
}

/// The live-bitmap word and mask of the byte at offset `off` (8-aligned)
/// into a segment whose bitmap words start at `words`: one bit per 8
/// bytes, one word per 512.
///
/// # Safety
/// `off` lies inside that segment.
#[inline(always)]
unsafe fn bit_at(words: *mut u64, off: usize) -> (*mut u64, u64) {
    // SAFETY: forwarded to the caller: the word is inside the bitmap.
    (unsafe { words.add(off / 512) }, 1 << (off / 8 % 64))
}

/// Segments, page map and live bitmap.
#[derive(Debug)]
pub struct Pages {
    /// Segments `segs[..nsegs]`, in the order obtained; their page ranges
    /// `first..first + pages` tile `0..total` in order.
    segs: [Segment; MAX_SEGMENTS],
    nsegs: usize,
    /// Pages over all segments.
    total: usize,
    /// Metadata run (null iff `total == 0`): `cap` owner bytes, then
    /// `cap × WORDS_PER_PAGE` bitmap words. Invariant: `total <= cap`.
    meta: *mut u8,
    meta_first: usize,
    meta_pages: usize,
    cap: usize,
    /// Pages whose owner is [`PageOwner::Free`]: a search for a run of more
    /// pages than that answers at once (the growth path asks three times
    /// per growth, and a growing heap has none).
    free: usize,
    /// The last segment as the live-bit look-ups on every `alloc` and `free`
    /// use it: its base (with provenance), its length in bytes, and its
    /// first bitmap word. Written by `add_memory`, the only place segments
    /// and the map change; a look-up outside it takes the segment table.
    hot_base: *mut u8,
    hot_len: usize,
    hot_words: *mut u64,
    /// Pages `start..end` of the arena last made or extended, kept while no
    /// other change of owner touches them: growing the arena at the end of
    /// the memory finds its first page at once instead of walking back over
    /// every page of it (an arena grows page by page). `(0, 0)`: none.
    arena_run: (usize, usize),
}

// SAFETY: `Pages` owns the memory its pointers reach (the segments); moving
// it to another thread moves that ownership.
unsafe impl Send for Pages {}

impl Pages {
    /// No memory yet.
    pub const EMPTY: Pages = Pages {
        segs: [Segment::EMPTY; MAX_SEGMENTS],
        nsegs: 0,
        total: 0,
        meta: ptr::null_mut(),
        meta_first: 0,
        meta_pages: 0,
        cap: 0,
        free: 0,
        hot_base: ptr::null_mut(),
        hot_len: 0,
        hot_words: ptr::null_mut(),
        arena_run: (0, 0),
    };

    /// The segments, in the order obtained.
    #[inline]
    pub fn segments(&self) -> &[Segment] {
        &self.segs[..self.nsegs]
    }

    /// Pages over all segments.
    #[inline]
    pub fn total_pages(&self) -> usize {
        self.total
    }

    /// Bytes over all segments.
    #[inline]
    pub fn heap_bytes(&self) -> usize {
        self.total * PAGE
    }

    /// Pages holding metadata.
    #[inline]
    pub fn meta_pages(&self) -> usize {
        self.meta_pages
    }

    /// The first page of the metadata run.
    #[inline]
    pub(crate) fn meta_first(&self) -> usize {
        self.meta_first
    }

    /// Whether one more segment can be recorded.
    pub(crate) fn segments_full(&self) -> bool {
        self.nsegs == MAX_SEGMENTS
    }

    /// Metadata pages needed to describe `total` pages.
    pub const fn meta_pages_for(total: usize) -> usize {
        // `add_memory` rounds the capacity down to a multiple of 8 (so the
        // bitmap after the owner bytes is 8-aligned): size for `total`
        // rounded up to 8, or the capacity can fall short of `total`.
        (total.next_multiple_of(8) * META_PER_PAGE).div_ceil(PAGE)
    }

    /// Extra pages a growth by `pages` may need for moving the metadata
    /// (`map_moves`: it moves in any case, see [`Pages::add_memory`]).
    pub(crate) fn meta_growth(&self, pages: usize, map_moves: bool) -> usize {
        // The source may round up to a wasm page, so leave room for that.
        let mut m = 0;
        loop {
            let t = self.total + pages + m + WASM_PAGE / PAGE;
            if t <= self.cap && !map_moves {
                return 0;
            }
            let need = Self::meta_pages_for(t);
            if need <= m {
                return m;
            }
            m = need;
        }
    }

    /// The segment holding `addr`.
    #[inline]
    pub(crate) fn segment_of(&self, addr: usize) -> Option<&Segment> {
        // The last segment is the likeliest (the heap grows at the end, and
        // most heaps have one segment): test it before any loop.
        let segs = self.segments();
        match segs.last() {
            Some(last) if last.contains(addr) => Some(last),
            Some(_) => segs[..segs.len() - 1].iter().rev().find(|s| s.contains(addr)),
            None => None,
        }
    }

    /// A pointer to `addr` with the provenance of its segment.
    #[inline]
    pub(crate) fn ptr_at(&self, addr: usize) -> Option<NonNull<u8>> {
        let s = self.segment_of(addr)?;
        NonNull::new(s.base.with_addr(addr))
    }

    /// The bytes `addr..addr + len` as a raw slice, when they all lie in one
    /// segment (the teaching API reads and writes raw heap memory with it).
    pub(crate) fn span(&self, addr: usize, len: usize) -> Option<NonNull<[u8]>> {
        let s = self.segment_of(addr)?;
        let end = addr.checked_add(len)?;
        if end > s.base.addr() + s.pages * PAGE {
            return None;
        }
        let start = NonNull::new(s.base.with_addr(addr))?;
        Some(NonNull::slice_from_raw_parts(start, len))
    }

    /// A pointer to `addr` if a live payload starts there.
    #[inline]
    pub(crate) fn live_ptr(&self, addr: usize) -> Option<NonNull<u8>> {
        let (w, m, p) = self.live_bit(addr)?;
        // SAFETY: `live_bit` gives a word inside the bitmap.
        (unsafe { w.read() } & m != 0).then_some(p)
    }

    /// If a live payload starts at `addr`, clears its live bit and returns a
    /// pointer to it (one segment look-up for `free`'s check and clear);
    /// otherwise changes nothing.
    #[inline]
    pub(crate) fn take_live(&mut self, addr: usize) -> Option<NonNull<u8>> {
        let (w, m, p) = self.live_bit(addr)?;
        // SAFETY: `live_bit` gives a word inside the bitmap.
        unsafe {
            let v = w.read();
            if v & m == 0 {
                return None;
            }
            w.write(v & !m);
        }
        Some(p)
    }

    /// The live-bitmap word and mask of 8-aligned address `addr` in a
    /// segment, and a pointer to `addr` with its segment's provenance;
    /// `None` outside every segment or for an address not 8-aligned. The
    /// last segment answers without the table.
    #[inline(always)]
    fn live_bit(&self, addr: usize) -> Option<(*mut u64, u64, NonNull<u8>)> {
        let off = addr.wrapping_sub(self.hot_base.addr());
        let (words, base, off) = if off < self.hot_len { (self.hot_words, self.hot_base, off) } else { self.cold_segment(addr)? };
        // (Segments start on a page, so `off` is 8-aligned iff `addr` is.)
        if !off.is_multiple_of(8) {
            return None;
        }
        // SAFETY: `off` is inside the segment, whose bitmap words follow
        // `words`.
        let (w, m) = unsafe { bit_at(words, off) };
        Some((w, m, NonNull::new(base.with_addr(addr))?))
    }

    /// [`Pages::live_bit`] outside the last segment: the segment holding
    /// `addr` (its first bitmap word, base and `addr`'s offset), out of line
    /// so that the common case keeps few registers.
    #[cold]
    #[inline(never)]
    fn cold_segment(&self, addr: usize) -> Option<(*mut u64, *mut u8, usize)> {
        let s = self.segment_of(addr)?;
        // SAFETY: segment `s`'s words start at its first page's entry,
        // inside the bitmap (`first < total <= cap`).
        Some((unsafe { self.bitmap().add(s.first * WORDS_PER_PAGE) }, s.base, addr - s.base.addr()))
    }

    /// Re-reads the last segment into the look-up cache (`hot_*`).
    fn refresh_hot(&mut self) {
        if let Some(&s) = self.segments().last() {
            self.hot_base = s.base;
            self.hot_len = s.pages * PAGE;
            // SAFETY: the segment's first page's words are inside the bitmap.
            self.hot_words = unsafe { self.bitmap().add(s.first * WORDS_PER_PAGE) };
        }
    }

    /// Global page index of `addr`.
    #[inline]
    pub fn page_index(&self, addr: usize) -> Option<usize> {
        let s = self.segment_of(addr)?;
        Some(s.first + (addr - s.base.addr()) / PAGE)
    }

    fn seg_of_page(&self, idx: usize) -> &Segment {
        debug_assert!(idx < self.total, "page index {idx} out of range");
        let i = self.segments().partition_point(|s| s.first + s.pages <= idx);
        &self.segs[i]
    }

    /// Pointer to the start of page `idx`.
    #[inline]
    pub fn page_ptr(&self, idx: usize) -> NonNull<u8> {
        let s = self.seg_of_page(idx);
        // SAFETY: the page lies inside segment `s`; its base is non-null.
        unsafe { NonNull::new_unchecked(s.base.add((idx - s.first) * PAGE)) }
    }

    /// Address of page `idx`.
    #[inline]
    pub fn page_addr(&self, idx: usize) -> usize {
        self.page_ptr(idx).as_ptr().addr()
    }

    /// One past the last page index of the segment holding page `idx`.
    pub(crate) fn segment_end_page(&self, idx: usize) -> usize {
        let s = self.seg_of_page(idx);
        s.first + s.pages
    }

    /// First page index of the segment holding page `idx`.
    pub(crate) fn segment_first_page(&self, idx: usize) -> usize {
        self.seg_of_page(idx).first
    }

    /// Owner of page `idx`.
    #[inline]
    pub fn owner(&self, idx: usize) -> PageOwner {
        debug_assert!(idx < self.total, "page index {idx} out of range");
        // SAFETY: `idx < total <= cap`, inside the map.
        let v = unsafe { self.meta.add(idx).read() };
        PageOwner::from_u8(v).unwrap_or(PageOwner::Meta)
    }

    /// Raw owner byte of page `idx` (for `check`).
    pub(crate) fn owner_byte(&self, idx: usize) -> u8 {
        // SAFETY: `idx < total <= cap`, inside the map.
        unsafe { self.meta.add(idx).read() }
    }

    /// Gives pages `idx..idx + n` to `owner` (the first page gets it, the
    /// others its body variant).
    pub(crate) fn set_owner(&mut self, idx: usize, n: usize, owner: PageOwner) {
        debug_assert!(idx + n <= self.total, "page run out of range");
        let (start, end) = self.arena_run;
        self.arena_run = match owner {
            PageOwner::ArenaHead => (idx, idx + n),
            PageOwner::Arena if idx == end && start < end => (start, idx + n),
            _ if idx < end && idx + n > start => (0, 0),
            _ => (start, end),
        };
        let free = PageOwner::Free as u8;
        for i in 0..n {
            let o = if i == 0 { owner } else { owner.body() };
            // SAFETY: `idx + i < total <= cap`, inside the map.
            unsafe {
                let at = self.meta.add(idx + i);
                match (at.read() == free, o == PageOwner::Free) {
                    (true, false) => self.free = self.free.saturating_sub(1),
                    (false, true) => self.free += 1,
                    _ => {}
                }
                at.write(o as u8);
            }
        }
    }

    /// The first page of the arena holding page `idx`, when that is the
    /// arena last made or extended (see `arena_run`); `None`: unknown.
    #[inline]
    pub(crate) fn arena_head_hint(&self, idx: usize) -> Option<usize> {
        let (start, end) = self.arena_run;
        (start <= idx && idx < end).then_some(start)
    }

    /// The hint behind [`Pages::arena_head_hint`], for the integrity walk:
    /// `(start, end)` of the arena last made or extended, or `(0, 0)`.
    pub(crate) fn arena_run(&self) -> (usize, usize) {
        self.arena_run
    }

    /// Pages whose owner is free (kept by every change of owner).
    pub(crate) fn free_pages(&self) -> usize {
        self.free
    }

    /// First fit over the page map: the first run of `n` free pages within
    /// one segment. O(pages).
    pub(crate) fn find_free_run(&self, n: usize) -> Option<usize> {
        if n > self.free {
            return None;
        }
        let free = PageOwner::Free as u8;
        for s in self.segments() {
            let end = s.first + s.pages;
            let mut start = s.first;
            // Each window is read from its end backwards: a page in use at
            // `j` rules out every window holding it, so the next one starts
            // at `j + 1` (large runs skip most of the map).
            'window: while start + n <= end {
                let mut j = start + n;
                while j > start {
                    j -= 1;
                    if self.owner_byte(j) != free {
                        start = j + 1;
                        continue 'window;
                    }
                }
                return Some(start);
            }
        }
        None
    }

    #[inline]
    fn bitmap(&self) -> *mut u64 {
        // SAFETY: the bitmap follows the `cap` owner bytes inside the meta run.
        unsafe { self.meta.add(self.cap).cast::<u64>() }
    }

    /// Whether a live payload starts at `addr` (false outside the heap).
    #[inline]
    pub fn is_live(&self, addr: usize) -> bool {
        self.live_ptr(addr).is_some()
    }

    /// Sets the live bit of `payload`, a payload the engine just handed
    /// out (8-aligned, in a segment: no alignment test).
    #[inline(always)]
    pub(crate) fn mark_live(&mut self, payload: NonNull<u8>) {
        let addr = payload.as_ptr().addr();
        let off = addr.wrapping_sub(self.hot_base.addr());
        let Some((words, off)) = (if off < self.hot_len { Some((self.hot_words, off)) } else { self.cold_segment(addr).map(|(w, _, o)| (w, o)) }) else {
            debug_assert!(false, "live bit outside the heap at {addr:#x}");
            return;
        };
        debug_assert!(off.is_multiple_of(8), "payload {addr:#x} not 8-aligned");
        // SAFETY: `off` is inside the segment, whose bitmap words follow
        // from `words`.
        unsafe {
            let (w, m) = bit_at(words, off);
            w.write(w.read() | m);
        }
    }

    /// Moves a live bit from payload `from` to payload `to` (both in a
    /// segment, 8-aligned): a resize that moved its block. One look-up when
    /// both are in the last segment.
    #[inline(always)]
    pub(crate) fn move_live(&mut self, from: usize, to: usize) {
        let (f, t) = (from.wrapping_sub(self.hot_base.addr()), to.wrapping_sub(self.hot_base.addr()));
        if f < self.hot_len && t < self.hot_len {
            debug_assert!(f.is_multiple_of(8) && t.is_multiple_of(8), "payloads {from:#x}, {to:#x} not 8-aligned");
            // SAFETY: both offsets are inside the last segment, whose
            // bitmap words follow from `hot_words`.
            unsafe {
                let (w, m) = bit_at(self.hot_words, f);
                w.write(w.read() & !m);
                let (w, m) = bit_at(self.hot_words, t);
                w.write(w.read() | m);
            }
        } else {
            self.move_live_cold(from, to);
        }
    }

    #[cold]
    #[inline(never)]
    fn move_live_cold(&mut self, from: usize, to: usize) {
        self.set_live(from, false);
        self.set_live(to, true);
    }

    /// Sets or clears the live bit of `addr` (which must be in a segment).
    #[inline]
    pub(crate) fn set_live(&mut self, addr: usize, live: bool) {
        let Some((w, m, _)) = self.live_bit(addr) else {
            debug_assert!(false, "live bit outside the heap at {addr:#x}");
            return;
        };
        // SAFETY: `live_bit` gives a word inside the bitmap.
        unsafe { w.write(if live { w.read() | m } else { w.read() & !m }) };
    }

    /// The first live address in `from..to` (same segment, 8-aligned), if any.
    pub(crate) fn next_live(&self, from: usize, to: usize) -> Option<usize> {
        let s = self.segment_of(from)?;
        let base_bit = s.first * PAGE / 8;
        let mut bit = (from - s.base.addr()) / 8;
        let end = (to.min(s.base.addr() + s.pages * PAGE) - s.base.addr()).div_ceil(8);
        while bit < end {
            let g = base_bit + bit;
            // SAFETY: `g / 64` is inside the bitmap (bit < segment end).
            let w = unsafe { self.bitmap().add(g / 64).read() } >> (g % 64);
            if w == 0 {
                bit += 64 - g % 64;
                continue;
            }
            let hit = bit + w.trailing_zeros() as usize;
            return (hit < end).then(|| s.base.addr() + hit * 8);
        }
        None
    }

    /// The highest live payload address in `[floor, at]` (both in one
    /// segment), or `None`: the bitmap read word by word, downwards.
    pub(crate) fn prev_live(&self, at: usize, floor: usize) -> Option<usize> {
        let s = self.segment_of(at)?;
        let seg = s.base.addr();
        let base_bit = s.first * PAGE / 8;
        let low = (floor.max(seg) - seg) / 8;
        let mut bit = (at - seg) / 8;
        loop {
            let g = base_bit + bit;
            // SAFETY: `g / 64` is inside the bitmap (bit is inside the segment).
            let w = unsafe { self.bitmap().add(g / 64).read() };
            // The bits of this word at or below `g`.
            let masked = w & (u64::MAX >> (63 - g % 64));
            if masked != 0 {
                let hit = bit - (g % 64) + (63 - masked.leading_zeros() as usize);
                return (hit >= low).then(|| seg + hit * 8);
            }
            let step = g % 64 + 1;
            if bit < low + step {
                return None;
            }
            bit -= step;
        }
    }

    /// Records new memory from the source, of which `want` pages are for the
    /// caller (the rest may hold a page map that moves, to the end of the
    /// new memory). `move_map`: the page map moves there even if it has
    /// room, so that its old pages (right before the new memory) are free:
    /// what ends the memory before it then continues through them. On `Err`
    /// nothing was recorded (the segment table is full, or the memory
    /// cannot hold the metadata).
    pub(crate) fn add_memory(&mut self, ptr: NonNull<u8>, len: usize, want: usize, move_map: bool) -> Result<Added, ()> {
        let n = len / PAGE;
        let addr = ptr.as_ptr().addr();
        if n == 0 || !addr.is_multiple_of(PAGE) {
            return Err(());
        }
        let new_total = self.total + n;
        let moving = new_total > self.cap || move_map;
        // A page map that moves takes room to grow into (as many pages
        // again) when the new memory has it beside the `want` pages: sized
        // exactly, it moved on more than half of a growing heap's growths,
        // copying the whole map each time (6 % of the checked heap's
        // instructions on the malloc-lab traces), and each move cut an
        // arena. The heap asks for that room when it grows (`grow_memory`).
        let exact = Self::meta_pages_for(new_total);
        let roomy = Self::meta_pages_for(new_total.saturating_mul(2));
        let m = match moving {
            false => 0,
            true if roomy.saturating_add(want) <= n => roomy,
            true => exact,
        };
        if m > n {
            return Err(());
        }
        let contiguous = self.nsegs > 0 && {
            let l = &self.segs[self.nsegs - 1];
            l.base.addr() + l.pages * PAGE == addr
        };
        if contiguous {
            self.segs[self.nsegs - 1].pages += n;
        } else {
            if self.nsegs == MAX_SEGMENTS {
                return Err(());
            }
            self.segs[self.nsegs] = Segment { base: ptr.as_ptr(), pages: n, first: self.total };
            self.nsegs += 1;
        }
        let old_total = self.total;
        self.total = new_total;
        let mut moved = None;
        if moving {
            // The first map goes first, before every block; a map that
            // moves goes to the end of the new memory: what ended the
            // memory before continues into the new pages (an arena extends,
            // a large object grows in place), and the map stays after the
            // heap's blocks, outside the span they cover.
            let at = if self.meta.is_null() { old_total } else { new_total - m };
            let new_meta = self.page_ptr(at).as_ptr();
            let new_cap = (m * PAGE / META_PER_PAGE) & !7;
            debug_assert!(new_cap >= new_total, "metadata too small after a move");
            // SAFETY: the new run is `m` fresh pages; the old run (if any)
            // holds `old_total` owner bytes and bitmap words; they do not overlap.
            unsafe {
                let new_bitmap = new_meta.add(new_cap).cast::<u64>();
                if !self.meta.is_null() {
                    ptr::copy_nonoverlapping(self.meta, new_meta, old_total);
                    ptr::copy_nonoverlapping(self.bitmap(), new_bitmap, old_total * WORDS_PER_PAGE);
                }
                // The new pages' entries; those beyond them are written
                // when memory comes to them (the branch below).
                ptr::write_bytes(new_meta.add(old_total), PageOwner::Free as u8, n);
                ptr::write_bytes(new_bitmap.add(old_total * WORDS_PER_PAGE), 0, n * WORDS_PER_PAGE);
            }
            let old = (self.meta_first, self.meta_pages);
            self.meta = new_meta;
            self.cap = new_cap;
            self.free += n;
            if old.1 > 0 {
                self.set_owner(old.0, old.1, PageOwner::Free);
            }
            self.set_owner(at, m, PageOwner::Meta);
            self.meta_first = at;
            self.meta_pages = m;
            moved = Some(((at, m), old));
        } else {
            // SAFETY: entries `old_total..new_total` are inside the map and bitmap.
            unsafe {
                ptr::write_bytes(self.meta.add(old_total), PageOwner::Free as u8, n);
                ptr::write_bytes(self.bitmap().add(old_total * WORDS_PER_PAGE), 0, n * WORDS_PER_PAGE);
            }
            self.free += n;
        }
        self.refresh_hot();
        Ok(Added { new_segment: !contiguous, meta_moved: moved })
    }

    /// Every page not holding metadata becomes free; the bitmap is cleared.
    pub(crate) fn reset(&mut self) {
        for idx in 0..self.total {
            if self.owner_byte(idx) != PageOwner::Meta as u8 {
                // SAFETY: `idx < total <= cap`, inside the map (written
                // directly: after a write into the map the count is not
                // to be trusted; it is recounted below).
                unsafe { self.meta.add(idx).write(PageOwner::Free as u8) };
            }
        }
        self.free = self.total - self.meta_pages;
        self.arena_run = (0, 0);
        if self.total > 0 {
            // SAFETY: the bitmap has `cap × WORDS_PER_PAGE` words.
            unsafe { ptr::write_bytes(self.bitmap(), 0, self.cap * WORDS_PER_PAGE) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(4096))]
    struct Region([u8; 4 * WASM_PAGE]);

    #[test]
    fn fixed_region_steps_and_gaps() {
        let mut r = Region([0; 4 * WASM_PAGE]);
        // SAFETY: the region outlives the source and nothing else uses it.
        let mut src = unsafe { FixedRegion::with_gap(r.0.as_mut_ptr(), r.0.len(), PAGE) };
        let (a, la) = src.grow(1).unwrap();
        assert_eq!(la, WASM_PAGE);
        let (b, _) = src.grow(1).unwrap();
        assert_eq!(b.as_ptr().addr(), a.as_ptr().addr() + WASM_PAGE + PAGE);
        let (_, lc) = src.grow(1).unwrap();
        assert_eq!(lc, WASM_PAGE);
        // What is left (64 KiB minus two gaps) cannot serve 64 KiB.
        assert!(src.grow(WASM_PAGE).is_none());
        assert!(src.grow(PAGE).is_some());
    }

    #[test]
    fn map_segments_meta_and_bitmap() {
        let mut r = Region([0; 4 * WASM_PAGE]);
        // SAFETY: as above.
        let mut src = unsafe { FixedRegion::with_gap(r.0.as_mut_ptr(), r.0.len(), WASM_PAGE) };
        let mut pages = Pages::EMPTY;
        let (p, l) = src.grow(1).unwrap();
        let added = pages.add_memory(p, l, 0, false).unwrap();
        assert!(added.new_segment && added.meta_moved.is_some());
        assert_eq!(pages.owner(0), PageOwner::Meta);
        assert_eq!(pages.owner(1), PageOwner::Free);
        let run = pages.find_free_run(3).unwrap();
        pages.set_owner(run, 3, PageOwner::ArenaHead);
        assert_eq!(pages.owner(run + 2), PageOwner::Arena);
        let a = pages.page_addr(run) + 24;
        pages.set_live(a, true);
        assert!(pages.is_live(a) && !pages.is_live(a + 8));
        assert_eq!(pages.next_live(pages.page_addr(run), a + 100), Some(a));
        let (q, lq) = src.grow(1).unwrap();
        assert!(pages.add_memory(q, lq, 0, false).unwrap().new_segment);
        assert_eq!(pages.segments().len(), 2);
        assert!(pages.is_live(a));
        assert_eq!(pages.page_index(q.as_ptr().addr()), Some(16));
        assert_eq!(pages.owner(16), PageOwner::Free);
    }
}
