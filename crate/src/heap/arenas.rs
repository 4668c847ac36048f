//! The checked face's memory: arenas of pages as the engine's regions
//! (growth, the regions walk, giving an empty arena back), large objects
//! from page runs of their own, and the counters and events that go with
//! them.

use core::ptr::NonNull;

use super::{max, min, AllocError, Coalesce, Config, Heap};
use crate::block::{Block, Request, HEADER, MAX_BLOCK};
use crate::engine::{Grown, Hooks};
use crate::events::{Event, Observer};
use crate::pages::{PageOwner, PageSource, Pages, PAGE, WASM_PAGE};
use crate::policy::Policy;
use crate::stats::Counters;

/// The hooks of the checked face: its page source, page map and live
/// bitmap, configuration, counters and observer.
pub struct Checked<S: PageSource, O: Observer> {
    pub(super) source: S,
    /// The configuration, normalized (policy = `P::KIND` when fixed).
    pub(super) config: Config,
    /// Segments, page map, live bitmap.
    pub(super) pages: Pages,
    pub(super) observer: O,
    /// Granule (8 or 16).
    pub(super) granule: usize,
    /// Effective split threshold (≥ the minimum block, a granule multiple).
    pub(super) split_min: usize,
    /// Effective large-object threshold.
    pub(super) large_min: usize,
    /// `size + align` at or below which a request is never a large object
    /// (`large_min` less the minimum block and 7).
    pub(super) small_max: usize,
    /// The smallest block (the policy's links rounded to the granule).
    pub(super) min_block: usize,
    /// Incremental counters; `check` verifies them against a walk.
    pub(super) c: Counters,
    /// The request being served, as header bits ([`Hooks::used_bits`]):
    /// requested bytes at bit 32, log2 of the alignment at bit 60.
    pub(super) request_bits: u64,
}

impl<S: PageSource, O: Observer> Observer for Checked<S, O> {
    const ENABLED: bool = O::ENABLED;

    #[inline]
    fn event(&mut self, e: Event) {
        self.observer.event(e);
    }
}

impl<S: PageSource, O: Observer> Hooks for Checked<S, O> {
    const STALE_HEADERS: bool = true;
    const RELEASES_REGIONS: bool = true;
    const EXACT_FAILURE: bool = true;

    #[inline(always)]
    fn granule(&self) -> usize {
        self.granule
    }

    #[inline(always)]
    fn used_bits(&self) -> u64 {
        self.request_bits
    }

    #[inline(always)]
    fn min_block(&self, policy_min: usize) -> usize {
        debug_assert_eq!(self.min_block, crate::block::round_up(policy_min, self.granule));
        self.min_block
    }

    #[inline(always)]
    fn split_min(&self) -> usize {
        self.split_min
    }

    #[inline(always)]
    fn deferred(&self) -> bool {
        self.config.coalesce == Coalesce::Deferred
    }

    #[inline(always)]
    fn quick_lists(&self) -> bool {
        self.config.quick_lists
    }

    #[inline(always)]
    fn examined(&mut self, n: usize) {
        self.c.examined(n);
    }

    /// Gives the arena back to the page layer when `m` spans all of it,
    /// unless it is the last arena.
    fn region_free(&mut self, m: Block, size: usize) -> bool {
        if self.c.arenas <= 1 {
            return false;
        }
        let Some(idx) = self.pages.page_index(m.addr()) else { return false };
        if self.pages.owner(idx) != PageOwner::ArenaHead || m.addr() - self.pages.page_addr(idx) != self.granule - HEADER {
            return false;
        }
        let n = (size + self.granule) / PAGE;
        self.pages.set_owner(idx, n, PageOwner::Free);
        self.c.arena_pages -= n;
        self.c.arenas -= 1;
        let addr = self.pages.page_addr(idx);
        self.emit(Event::PagesReturned { addr, pages: n });
        true
    }

    /// Makes room for a free block of at least `bytes`: extends an arena
    /// into the free pages after it, or creates a new arena.
    fn grow(&mut self, bytes: usize, attempt: usize) -> Option<Grown> {
        let block_bytes = min(bytes.saturating_mul(1 << attempt), MAX_BLOCK - 2 * PAGE);
        let min_pages = (block_bytes + self.granule).div_ceil(PAGE);
        let want = max(min_pages, self.config.arena_pages);
        let (idx, n) = if let Some(i) = self.pages.find_free_run(want) {
            (i, want)
        } else if let Some(i) = self.pages.find_free_run(min_pages) {
            (i, min_pages)
        } else if let Some(i) = self.tail_arena_room(want) {
            (i, want)
        } else {
            match self.take_pages(want) {
                Ok(i) => (i, want),
                Err(_) => (self.take_pages(min_pages).ok()?, min_pages),
            }
        };
        // An arena that grows takes the whole run of free pages after it
        // (fresh memory, usually): one growth instead of one per request.
        let g = self.extend_arena(idx, self.free_run_len(idx, n)).unwrap_or_else(|| self.new_arena(idx, n));
        self.bump_hwm();
        Some(g)
    }

    const GROWS_IN_PLACE: bool = true;

    /// Extends the arena ending at `e` into the pages right after it: free
    /// pages, or new memory when the arena ends the memory (see
    /// `room_after`).
    fn grow_after(&mut self, e: Block, bytes: usize) -> Option<Grown> {
        let more = bytes.div_ceil(PAGE);
        let last = self.pages.page_index(e.addr())?;
        let next = last + 1;
        if e.addr() + HEADER != self.pages.page_addr(last) + PAGE || !self.room_after(last, next, more) {
            return None;
        }
        let g = self.extend_arena(next, more)?;
        self.bump_hwm();
        Some(g)
    }

    fn next_region(&self, after: Option<Block>) -> Option<(Block, usize)> {
        let from = match after {
            None => 0,
            Some(b) => self.pages.page_index(b.addr())? + 1,
        };
        let head = (from..self.pages.total_pages()).find(|&i| self.pages.owner(i) == PageOwner::ArenaHead)?;
        let n = self.arena_len(head);
        // SAFETY: page + G − 8 is inside the arena's first page.
        let first = unsafe { Block::from_header(self.pages.page_ptr(head)).add(self.granule - HEADER) };
        Some((first, self.pages.page_addr(head) + n * PAGE - HEADER))
    }
}

impl<S: PageSource, O: Observer> Checked<S, O> {
    #[inline(always)]
    pub(super) fn emit(&mut self, e: Event) {
        if O::ENABLED {
            self.observer.event(e);
        }
    }

    pub(super) fn bump_hwm(&mut self) {
        let used = (self.c.arena_pages + self.c.large_pages + self.pages.meta_pages()) * PAGE;
        if used > self.c.high_water_mark {
            self.c.high_water_mark = used;
        }
    }

    /// Counts a new allocation of `requested` bytes.
    pub(super) fn add_requested(&mut self, requested: usize) {
        self.c.live_requested += requested;
        // (A store only on a new peak, not on every allocation.)
        if self.c.live_requested > self.c.peak_live_requested {
            self.c.peak_live_requested = self.c.live_requested;
        }
    }

    /// Counts an allocation of `old` bytes that now serves `new`.
    pub(super) fn resize_requested(&mut self, old: usize, new: usize) {
        self.c.live_requested -= old;
        self.add_requested(new);
    }

    /// A run of `n` free pages: from the map, else from new memory.
    pub(super) fn take_pages(&mut self, n: usize) -> Result<usize, AllocError> {
        if let Some(i) = self.pages.find_free_run(n) {
            return Ok(i);
        }
        self.grow_memory(n, false)?;
        self.pages.find_free_run(n).ok_or(AllocError::OutOfMemory)
    }

    /// Grows large object `b` in place to hold `size` payload bytes, over
    /// the free pages right after its run (obtaining them when its run ends
    /// the memory); whether it grew.
    ///
    /// # Safety
    /// `b` is a live large object of this heap.
    pub(super) unsafe fn grow_large(&mut self, b: Block, size: usize) -> bool {
        let Some(idx) = self.pages.page_index(b.addr()) else { return false };
        let run = self.pages.page_addr(idx);
        // SAFETY: `b` is live (caller): its header is trusted.
        let bs = unsafe { b.size() };
        let n = (b.addr() + bs - run) / PAGE;
        let Some(more) = (b.addr() + HEADER + size).checked_sub(run + n * PAGE).map(|m| m.div_ceil(PAGE)) else { return true };
        let next = idx + n;
        if (n + more) * PAGE > MAX_BLOCK {
            return false;
        }
        if !self.room_after(idx, next, more) {
            return false;
        }
        self.pages.set_owner(next, more, PageOwner::Large);
        self.c.large_pages += more;
        self.bump_hwm();
        // SAFETY: as above; the header grows over the pages just taken.
        unsafe { b.set_header(b.header() + (more * PAGE) as u64) };
        self.emit(Event::PagesTaken { addr: self.pages.page_addr(next), pages: more, owner: PageOwner::Large });
        true
    }

    /// When the memory ends with an arena (then only free pages and the
    /// page map), grows the memory in place so that the arena extends into
    /// `want` pages right after it, the map moving to the new end: the
    /// first of those pages. Without it the arena would end at the map and
    /// a new one start after it, the map between the heap's blocks.
    fn tail_arena_room(&mut self, want: usize) -> Option<usize> {
        let total = self.pages.total_pages();
        let (mf, mp) = (self.pages.meta_first(), self.pages.meta_pages());
        let mut k = if mp > 0 && mf + mp == total { mf } else { total };
        let first = self.pages.segment_first_page(k.checked_sub(1)?);
        while k > first && self.pages.owner(k - 1) == PageOwner::Free {
            k -= 1;
        }
        if k == first || !self.pages.owner(k - 1).is_arena() {
            return None;
        }
        self.room_after(k - 1, k, want).then_some(k)
    }

    /// Whether pages `next..next + more` are free, right after a run that
    /// starts at page `idx`, making them so when that run ends the memory
    /// (but for free pages and the page map): the memory grows in place by
    /// what they lack, and a page map in the way, or one that must move
    /// anyway, moves to the end of the new memory (copying the map, 1/65
    /// of the heap, instead of the run's blocks). Not when the source's
    /// memory would come elsewhere (then the caller moves the run's block,
    /// and a move that fails leaves the heap as it was).
    fn room_after(&mut self, idx: usize, next: usize, more: usize) -> bool {
        let total = self.pages.total_pages();
        let free_after = (next..total).take_while(|&i| self.pages.owner(i) == PageOwner::Free).count();
        let (mf, mp) = (self.pages.meta_first(), self.pages.meta_pages());
        let map_in_way = mp > 0 && next + free_after == mf && mf + mp == total;
        if more > free_after && (next + free_after == total || map_in_way) && self.pages.segment_end_page(idx) == total {
            let have = free_after + if map_in_way { mp } else { 0 };
            let lack = more.saturating_sub(have).max(1);
            // A map moved out of the way is copied: grow by half the heap
            // at least, so that the copies cost a bounded share of the
            // growth (the pages beyond `lack` stay free, and the next
            // growths take them without moving the map). By a quarter, the
            // copies took 2.4 M of the 25.6 M instructions of a replay of
            // the malloc-lab traces; by half, 1.3 M of 24.5 M, with the same
            // utilization (a block's span, not the memory's, is counted).
            let ample = if map_in_way { max(lack, total / 2) } else { lack };
            if !self.source.grows_contiguously() || (self.grow_memory(ample, map_in_way).is_err() && (ample == lack || self.grow_memory(lack, map_in_way).is_err())) {
                return false;
            }
        }
        next + more <= self.pages.segment_end_page(idx) && (next..next + more).all(|i| self.pages.owner(i) == PageOwner::Free)
    }

    /// Obtains memory for at least `n` more pages (plus metadata growth;
    /// `move_map`: see [`Pages::add_memory`]).
    fn grow_memory(&mut self, n: usize, move_map: bool) -> Result<(), AllocError> {
        if self.pages.segments_full() {
            return Err(AllocError::OutOfMemory);
        }
        let exact = self.pages.meta_growth(n, move_map);
        // A page map that moves asks for room to grow into (twice the
        // pages it must describe), so that it moves a logarithmic number of
        // times as the heap grows, copying itself each time (sized exactly,
        // it moved on a third of a growing heap's growths: 40 % of the
        // checked heap's instructions on the malloc-lab traces), when the
        // source has that much where the heap's memory ends; else exactly
        // what it needs.
        let roomy = if exact > 0 { Pages::meta_pages_for(2 * (self.pages.total_pages() + n + exact)) } else { 0 };
        let roomy_got = if roomy > exact { self.grow_source(n, roomy, true) } else { None };
        let (ptr, len) = match roomy_got {
            Some(got) => got,
            None => self.grow_source(n, exact, false).ok_or(AllocError::OutOfMemory)?,
        };
        let added = self.pages.add_memory(ptr, len & !(PAGE - 1), n, move_map).map_err(|()| AllocError::OutOfMemory)?;
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

    /// `n + meta` pages from the source, within the memory limit; only
    /// where the memory continues the heap's when `in_place`.
    fn grow_source(&mut self, n: usize, meta: usize, in_place: bool) -> Option<(NonNull<u8>, usize)> {
        let bytes = n.checked_add(meta)?.checked_mul(PAGE)?;
        let rounded = bytes.checked_add(WASM_PAGE - 1)? & !(WASM_PAGE - 1);
        if self.pages.heap_bytes().saturating_add(rounded) > self.config.max_bytes {
            return None;
        }
        if in_place {
            self.source.grow_in_place(bytes)
        } else {
            self.source.grow(bytes)
        }
    }

    /// The free pages from page `idx` on (at least `n`, which are free), up
    /// to the end of its segment and at most 1 MiB more.
    fn free_run_len(&self, idx: usize, n: usize) -> usize {
        let end = min(self.pages.segment_end_page(idx), idx + max(n, 256));
        let mut i = idx + n;
        while i < end && self.pages.owner(i) == PageOwner::Free {
            i += 1;
        }
        i - idx
    }

    /// An arena over free pages `idx..idx + n`: its first block.
    fn new_arena(&mut self, idx: usize, n: usize) -> Grown {
        self.pages.set_owner(idx, n, PageOwner::ArenaHead);
        self.c.arena_pages += n;
        self.c.arenas += 1;
        let base = self.pages.page_ptr(idx);
        self.emit(Event::PagesTaken { addr: base.as_ptr().addr(), pages: n, owner: PageOwner::ArenaHead });
        self.emit(Event::ArenaNew { addr: base.as_ptr().addr(), pages: n });
        // SAFETY: page + G − 8 is inside the run's first page.
        let block = unsafe { Block::from_header(base).add(self.granule - HEADER) };
        Grown { block, size: n * PAGE - self.granule, prev: crate::block::PREV_USED }
    }

    /// First page of the arena owning page `idx`.
    pub(super) fn arena_head(&self, mut idx: usize) -> usize {
        if let Some(head) = self.pages.arena_head_hint(idx) {
            debug_assert_eq!(self.pages.owner(head), PageOwner::ArenaHead, "stale arena hint");
            return head;
        }
        let first = self.pages.segment_first_page(idx);
        while idx > first && self.pages.owner(idx) != PageOwner::ArenaHead {
            idx -= 1;
        }
        idx
    }

    /// Pages of the arena starting at page `head`.
    pub(super) fn arena_len(&self, head: usize) -> usize {
        let end = self.pages.segment_end_page(head);
        let mut i = head + 1;
        while i < end && self.pages.owner(i) == PageOwner::Arena {
            i += 1;
        }
        i - head
    }

    /// If page `idx − 1` ends an arena (same segment), grows that arena over
    /// free pages `idx..idx + n`: the old epilogue becomes the new block.
    fn extend_arena(&mut self, idx: usize, n: usize) -> Option<Grown> {
        if idx == 0 || idx == self.pages.segment_first_page(idx) || !self.pages.owner(idx - 1).is_arena() {
            return None;
        }
        let head = self.arena_head(idx - 1);
        if (idx - head + n) * PAGE > MAX_BLOCK {
            return None;
        }
        self.pages.set_owner(idx, n, PageOwner::Arena);
        self.c.arena_pages += n;
        let run = self.pages.page_ptr(idx);
        self.emit(Event::PagesTaken { addr: run.as_ptr().addr(), pages: n, owner: PageOwner::Arena });
        self.emit(Event::ArenaExtend { addr: run.as_ptr().addr(), pages: n });
        // SAFETY: the old epilogue is the last 8 bytes of page `idx − 1`
        // (same segment).
        unsafe {
            let e = Block::from_header(run.byte_sub(HEADER));
            debug_assert!(e.size() == 0 && e.is_used(), "arena does not end with an epilogue");
            Some(Grown { block: e, size: n * PAGE, prev: e.header() & crate::block::PREV_USED })
        }
    }
}

/// Large objects: a run of pages each, outside the engine.
impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    #[cold]
    #[inline(never)]
    pub(super) fn alloc_large(&mut self, req: &Request) -> Result<NonNull<u8>, AllocError> {
        let a = max(req.align, HEADER);
        let n = (a + req.size).div_ceil(PAGE);
        let idx = self.take_pages(n)?;
        let h = &mut self.engine.hooks;
        h.pages.set_owner(idx, n, PageOwner::LargeHead);
        h.c.large_pages += n;
        h.c.large_blocks += 1;
        h.bump_hwm();
        let run = h.pages.page_ptr(idx);
        // SAFETY: the run is `n` pages of this heap; the header at
        // `a − 8 < 4096` and the payload lie inside it.
        unsafe {
            let b = Block::from_header(run).add(a - HEADER);
            let size = n * PAGE - (a - HEADER);
            b.set_header(Block::encode(size, true, true, true, req.size));
            h.emit(Event::PagesTaken { addr: run.as_ptr().addr(), pages: n, owner: PageOwner::LargeHead });
            h.emit(Event::LargeAlloc { block: b.addr(), pages: n });
            self.mark_live(b, req.size);
            Ok(b.payload())
        }
    }

    /// A run of `n` free pages: from the map, else after releasing empty
    /// arenas (when that yields the run: a request that fails must leave
    /// the heap as it was), else from new memory.
    fn take_pages(&mut self, n: usize) -> Result<usize, AllocError> {
        if let Some(i) = self.engine.hooks.pages.find_free_run(n) {
            return Ok(i);
        }
        if self.free_run_after_release(n) {
            self.release_empty_arenas();
        }
        self.engine.hooks.take_pages(n)
    }

    /// After the engine found no room for a block of `bytes`: releases the
    /// empty arenas when that makes a run of free pages that holds it (and
    /// only then: a request that fails leaves the heap as it was). Whether
    /// it did.
    #[cold]
    #[inline(never)]
    pub(super) fn release_for(&mut self, bytes: usize) -> bool {
        let h = &self.engine.hooks;
        let n = bytes.saturating_add(h.granule).div_ceil(PAGE);
        if h.c.arenas == 0 || !self.free_run_after_release(n) {
            return false;
        }
        self.release_empty_arenas();
        true
    }

    /// Whether a run of `n` pages would be free after
    /// [`release_empty_arenas`](Self::release_empty_arenas) (O(pages)).
    fn free_run_after_release(&self, n: usize) -> bool {
        let h = &self.engine.hooks;
        let pages = &h.pages;
        let total = pages.total_pages();
        let (mut idx, mut run) = (0, 0);
        while idx < total {
            if pages.segment_first_page(idx) == idx {
                run = 0;
            }
            let len = match pages.owner(idx) {
                PageOwner::Free => 1,
                // SAFETY: `idx` is an arena head of this heap.
                PageOwner::ArenaHead if unsafe { self.arena_is_empty(idx) } => h.arena_len(idx),
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

    /// The first block of the arena at page `idx` when it is the arena's
    /// only block and free.
    ///
    /// # Safety
    /// Page `idx` is an arena head of this heap.
    unsafe fn arena_is_empty(&self, idx: usize) -> bool {
        let h = &self.engine.hooks;
        // SAFETY: the first block of an arena is at page + G − 8 (caller).
        unsafe {
            let first = Block::from_header(h.pages.page_ptr(idx)).add(h.granule - HEADER);
            !first.is_used() && first.next().size() == 0
        }
    }

    /// Releases every arena that is one free block, the last one too (slow
    /// path: O(pages)).
    fn release_empty_arenas(&mut self) {
        for idx in 0..self.engine.hooks.pages.total_pages() {
            // SAFETY: `idx` is an arena head of this heap.
            if self.engine.hooks.pages.owner(idx) != PageOwner::ArenaHead || !unsafe { self.arena_is_empty(idx) } {
                continue;
            }
            let h = &mut self.engine.hooks;
            // SAFETY: the arena's only block is free and indexed.
            unsafe {
                let first = Block::from_header(h.pages.page_ptr(idx)).add(h.granule - HEADER);
                let n = (first.size() + h.granule) / PAGE;
                self.engine.policy.remove(first);
                let h = &mut self.engine.hooks;
                h.pages.set_owner(idx, n, PageOwner::Free);
                h.c.arena_pages -= n;
                h.c.arenas -= 1;
                let addr = h.pages.page_addr(idx);
                h.emit(Event::PagesReturned { addr, pages: n });
            }
        }
    }

    /// Frees large object `b`.
    ///
    /// # Safety
    /// `b` is a live large object of this heap.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn free_large(&mut self, b: Block) {
        let h = &mut self.engine.hooks;
        let idx = h.pages.page_index(b.addr()).expect("large object outside the heap");
        let run = h.pages.page_addr(idx);
        // SAFETY: `b` is live, its header trusted.
        let (size, req) = unsafe { (b.size(), b.requested()) };
        let n = (b.addr() + size - run) / PAGE;
        h.pages.set_live(b.payload().as_ptr().addr(), false);
        // SAFETY: as above; leave a stale "free large" header for double-free detection.
        unsafe { b.set_header(Block::encode(size, false, true, true, 0)) };
        h.pages.set_owner(idx, n, PageOwner::Free);
        h.c.large_pages -= n;
        h.c.large_blocks -= 1;
        h.c.live_requested -= req;
        h.emit(Event::MarkFree { block: b.addr(), size });
        h.emit(Event::PagesReturned { addr: run, pages: n });
    }
}
