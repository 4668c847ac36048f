//! The checked face's integrity walk: every segment and page, the engine's
//! walk over every arena block and the policy's index (with the face's own
//! checks of each block), large objects and the counters; the first broken
//! invariant with its address.
//!
//! Invariants checked (see the field docs in `heap.rs`, `pages/`, `block.rs`):
//! * every page has a known owner; arena and large-object body pages follow a head;
//!   the hint of the arena last made or extended covers pages of one arena,
//!   from its head;
//!   free and metadata pages hold no live bits;
//! * in every arena: the first block starts at `page + G − 8`, sizes are
//!   granule multiples of at least the minimum block and stay inside the
//!   arena, which ends with an epilogue; each prev-used bit matches the
//!   previous block; free blocks have a matching footer, no requested size,
//!   and are in the index; no two adjacent free blocks under immediate
//!   coalescing; used blocks have their live bit and a requested size that
//!   fits; no other live bits;
//! * large objects: header with used+large bits right before the only live
//!   payload in the run, size reaching the run's end;
//! * the index holds exactly the free blocks (count and membership) and
//!   passes its own check;
//! * the counters agree with the walk.
//!
//! A payload overflow that overwrote the next block's header breaks one of
//! the arena invariants (size, flags, prev-used, footer, live bit) and is
//! reported at that header.

use super::Heap;
use crate::block::{Block, HEADER, LARGE};
use crate::engine::Kind;
use crate::errors::CheckError;
use crate::events::Observer;
use crate::pages::{PageOwner, PageSource, PAGE};
use crate::policy::Policy;

#[derive(Default)]
struct Tally {
    /// Bytes of used, quick and free arena blocks.
    block_bytes: usize,
    large_blocks: usize,
    live_requested: usize,
    arena_pages: usize,
    large_pages: usize,
    meta_pages: usize,
    free_pages: usize,
    arenas: usize,
}

fn fail<T>(addr: usize, what: &'static str) -> Result<T, CheckError> {
    Err(CheckError::new(addr, what))
}

impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// Walks every segment, page, arena, block and the policy's index.
    ///
    /// # Errors
    /// The first broken invariant, with its address and a message.
    ///
    /// # Time complexity
    /// O(pages + blocks × membership test): O(blocks²) for list policies.
    pub fn check(&self) -> Result<(), CheckError> {
        let h = self.h();
        let pages = &h.pages;
        let mut t = Tally::default();
        let total = pages.total_pages();
        let mut idx = 0;
        while idx < total {
            let addr = pages.page_addr(idx);
            let Some(owner) = PageOwner::from_u8(pages.owner_byte(idx)) else {
                return fail(addr, "page map holds an unknown owner");
            };
            let end_page = pages.segment_end_page(idx);
            let run = |body: PageOwner| {
                let mut i = idx + 1;
                while i < end_page && pages.owner(i) == body {
                    i += 1;
                }
                i - idx
            };
            match owner {
                PageOwner::Free | PageOwner::Meta => {
                    if owner == PageOwner::Meta {
                        t.meta_pages += 1;
                    } else {
                        t.free_pages += 1;
                    }
                    if let Some(x) = pages.next_live(addr, addr + PAGE) {
                        return fail(x, "live bit set in a free or metadata page");
                    }
                    idx += 1;
                }
                PageOwner::Arena => return fail(addr, "arena page without an arena head before it"),
                PageOwner::Large => return fail(addr, "large-object page without a head before it"),
                PageOwner::ArenaHead => {
                    let n = run(PageOwner::Arena);
                    // The page map's hint of the arena last made or
                    // extended (growth trusts it for the arena's first
                    // page) lies inside one arena, from its head.
                    let (hs, he) = pages.arena_run();
                    if hs < he && hs >= idx && hs < idx + n && (hs != idx || he > idx + n) {
                        return fail(addr, "the page map's hint of the last arena disagrees with the map");
                    }
                    if let Some(x) = pages.next_live(addr, addr + h.granule) {
                        return fail(x, "live bit set in an arena's padding");
                    }
                    t.arenas += 1;
                    t.arena_pages += n;
                    idx += n;
                }
                PageOwner::LargeHead => {
                    let n = run(PageOwner::Large);
                    self.check_large(addr, n, &mut t)?;
                    t.large_pages += n;
                    idx += n;
                }
            }
        }
        let (hs, he) = pages.arena_run();
        if hs < he && (he > total || pages.owner(hs) != PageOwner::ArenaHead) {
            return fail(pages.page_addr(hs.min(total.saturating_sub(1))), "the page map's hint of the last arena disagrees with the map");
        }
        if t.meta_pages != pages.meta_pages() {
            return fail(0, "metadata page count does not match the page map");
        }
        if t.free_pages != pages.free_pages() {
            return fail(0, "free page count does not match the page map");
        }
        self.engine.check_with(|b, s, kind| self.check_block(b, s, kind, &mut t))?;
        let c = &h.c;
        let pairs: [(usize, usize, &'static str); 6] = [
            (c.large_blocks, t.large_blocks, "large object count does not add up"),
            (c.live_requested, t.live_requested, "live requested bytes do not add up"),
            (c.arena_pages, t.arena_pages, "arena page count does not add up"),
            (c.large_pages, t.large_pages, "large-object page count does not add up"),
            (c.arenas, t.arenas, "arena count does not add up"),
            (t.arena_pages * PAGE, t.block_bytes + t.arenas * h.granule, "arena pages are not exactly their blocks plus padding and epilogues"),
        ];
        for (kept, walked, what) in pairs {
            if kept != walked {
                return fail(0, what);
            }
        }
        Ok(())
    }

    /// The face's checks of one arena block (the engine checked its shape):
    /// no large bit, a live bit exactly on the payload of each used block,
    /// a request that fits, the recorded alignment.
    fn check_block(&self, b: Block, s: usize, kind: Kind, t: &mut Tally) -> Result<(), CheckError> {
        let pages = &self.h().pages;
        let a = b.addr();
        let payload = a + HEADER;
        // SAFETY: the engine's walk hands out valid blocks of this heap.
        unsafe {
            if b.header() & LARGE != 0 {
                return fail(a, "large bit set on an arena block");
            }
            t.block_bytes += s;
            let from = if kind == Kind::Used {
                if !pages.is_live(payload) {
                    return fail(a, "used block without its live bit");
                }
                let r = b.requested();
                if r == 0 || r > s - HEADER {
                    return fail(a, "requested size does not fit the block");
                }
                if !payload.is_multiple_of(b.align()) {
                    return fail(a, "payload not aligned to the block's recorded alignment");
                }
                t.live_requested += r;
                payload + 8
            } else {
                if b.requested() != 0 {
                    return fail(a, "free or quick block has a requested size");
                }
                payload
            };
            if let Some(x) = pages.next_live(from, a + s + HEADER) {
                if x != a + s + HEADER {
                    return fail(x, "live bit inside a block that is not a live allocation");
                }
            }
        }
        Ok(())
    }
    fn check_large(&self, start: usize, n: usize, t: &mut Tally) -> Result<(), CheckError> {
        let end = start + n * PAGE;
        let Some(p) = self.h().pages.next_live(start, start + PAGE + HEADER) else {
            return fail(start, "large object without a live payload in its first page");
        };
        let Some(b) = self.h().pages.ptr_at(p - HEADER).map(Block::from_header) else {
            return fail(start, "large object outside the heap");
        };
        // SAFETY: `b` is inside the run's first page.
        unsafe {
            if !b.is_used() || !b.is_large() {
                return fail(b.addr(), "large object header lacks the used or large bit");
            }
            if b.addr() + b.size() != end {
                return fail(b.addr(), "large object size does not reach the end of its pages");
            }
            let r = b.requested();
            if r == 0 || r > b.size() - HEADER {
                return fail(b.addr(), "requested size does not fit the large object");
            }
            if let Some(x) = self.h().pages.next_live(p + 8, end) {
                return fail(x, "second live bit inside a large object");
            }
            t.large_blocks += 1;
            t.live_requested += r;
        }
        Ok(())
    }
}
