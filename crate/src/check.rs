//! The integrity walk: every segment, page, arena, block and the policy's
//! index, returning the first broken invariant with its address.
//!
//! Invariants checked (see the field docs in `heap.rs`, `pages/`, `block.rs`):
//! * every page has a known owner; arena and large-object body pages follow a head;
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

use core::fmt;

use crate::block::{Block, HEADER, LARGE};
use crate::heap::{Coalesce, Heap};
use crate::events::Observer;
use crate::pages::{PageOwner, PageSource, PAGE};
use crate::policy::Policy;

/// The first broken invariant found by [`Heap::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// Where (a block, page or 0 for global counts).
    pub addr: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl CheckError {
    /// A check error at `addr`.
    pub const fn new(addr: usize, what: &'static str) -> Self {
        CheckError { addr, what }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {:#x}", self.what, self.addr)
    }
}

#[derive(Default)]
struct Tally {
    used_bytes: usize,
    free_bytes: usize,
    large_bytes: usize,
    free_blocks: usize,
    live_blocks: usize,
    live_requested: usize,
    arena_pages: usize,
    large_pages: usize,
    meta_pages: usize,
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
        let mut t = Tally::default();
        let total = self.pages.total_pages();
        let mut idx = 0;
        while idx < total {
            let addr = self.pages.page_addr(idx);
            let Some(owner) = PageOwner::from_u8(self.pages.owner_byte(idx)) else {
                return fail(addr, "page map holds an unknown owner");
            };
            let end_page = self.pages.segment_end_page(idx);
            let run = |body: PageOwner| {
                let mut i = idx + 1;
                while i < end_page && self.pages.owner(i) == body {
                    i += 1;
                }
                i - idx
            };
            match owner {
                PageOwner::Free | PageOwner::Meta => {
                    if owner == PageOwner::Meta {
                        t.meta_pages += 1;
                    }
                    if let Some(x) = self.pages.next_live(addr, addr + PAGE) {
                        return fail(x, "live bit set in a free or metadata page");
                    }
                    idx += 1;
                }
                PageOwner::Arena => return fail(addr, "arena page without an arena head before it"),
                PageOwner::Large => return fail(addr, "large-object page without a head before it"),
                PageOwner::ArenaHead => {
                    let n = run(PageOwner::Arena);
                    self.check_arena(addr, n, &mut t)?;
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
        if t.meta_pages != self.pages.meta_pages() {
            return fail(0, "metadata page count does not match the page map");
        }
        // SAFETY: the index holds this heap's free blocks (just walked).
        unsafe { self.policy.check()? };
        if self.policy.len() != t.free_blocks {
            return fail(0, "the policy's index does not hold exactly the free blocks");
        }
        let c = &self.c;
        let pairs: [(usize, usize, &'static str); 10] = [
            (c.used_bytes, t.used_bytes, "allocated bytes do not add up"),
            (c.free_bytes, t.free_bytes, "free bytes do not add up"),
            (c.large_bytes, t.large_bytes, "large-object bytes do not add up"),
            (c.free_blocks, t.free_blocks, "free block count does not add up"),
            (c.live_blocks, t.live_blocks, "live block count does not add up"),
            (c.live_requested, t.live_requested, "live requested bytes do not add up"),
            (c.arena_pages, t.arena_pages, "arena page count does not add up"),
            (c.large_pages, t.large_pages, "large-object page count does not add up"),
            (c.arenas, t.arenas, "arena count does not add up"),
            (
                t.arena_pages * PAGE,
                t.used_bytes + t.free_bytes + t.arenas * self.granule,
                "arena pages are not exactly their blocks plus padding and epilogues",
            ),
        ];
        for (kept, walked, what) in pairs {
            if kept != walked {
                return fail(0, what);
            }
        }
        Ok(())
    }

    fn check_arena(&self, start: usize, n: usize, t: &mut Tally) -> Result<(), CheckError> {
        let g = self.granule;
        let end = start + n * PAGE - HEADER;
        let Some(first) = self.pages.ptr_at(start + g - HEADER).map(Block::from_header) else {
            return fail(start, "arena outside the heap");
        };
        if let Some(x) = self.pages.next_live(start, first.addr() + HEADER) {
            return fail(x, "live bit set in an arena's padding");
        }
        let mut b = first;
        let mut prev_used = true;
        // SAFETY: every header read below lies in `start..end + 8`, inside the
        // arena's pages, because each size is checked before stepping.
        unsafe {
            loop {
                let a = b.addr();
                if a == end {
                    if b.size() != 0 || !b.is_used() {
                        return fail(a, "arena does not end with an epilogue");
                    }
                    if b.prev_used() != prev_used {
                        return fail(a, "epilogue's prev-used bit does not match the last block");
                    }
                    return Ok(());
                }
                let s = b.size();
                if s == 0 {
                    return fail(a, "zero-size block before the arena's end (header overwritten?)");
                }
                if s % g != 0 {
                    return fail(a, "block size is not a multiple of the granule");
                }
                if a + s > end {
                    return fail(a, "block runs past the end of its arena");
                }
                if s < self.min_block {
                    return fail(a, "block smaller than the minimum block");
                }
                if b.prev_used() != prev_used {
                    return fail(a, "prev-used bit does not match the previous block");
                }
                if b.header() & LARGE != 0 {
                    return fail(a, "large bit set on an arena block");
                }
                let payload = a + HEADER;
                if b.is_used() {
                    if !self.pages.is_live(payload) {
                        return fail(a, "used block without its live bit");
                    }
                    let r = b.requested();
                    if r == 0 || r > s - HEADER {
                        return fail(a, "requested size does not fit the block");
                    }
                    if !payload.is_multiple_of(b.align()) {
                        return fail(a, "payload not aligned to the block's recorded alignment");
                    }
                    if let Some(x) = self.pages.next_live(payload + 8, a + s + HEADER) {
                        if x != a + s + HEADER {
                            return fail(x, "live bit inside a used block");
                        }
                    }
                    t.used_bytes += s;
                    t.live_blocks += 1;
                    t.live_requested += r;
                } else {
                    if let Some(x) = self.pages.next_live(payload, a + s + HEADER) {
                        if x != a + s + HEADER {
                            return fail(x, "live bit set inside a free block");
                        }
                    }
                    if b.requested() != 0 {
                        return fail(a, "free block has a requested size");
                    }
                    if b.footer() != s as u64 {
                        return fail(a, "footer does not match the header");
                    }
                    if self.config().coalesce == Coalesce::Immediate && !prev_used {
                        return fail(a, "two adjacent free blocks under immediate coalescing");
                    }
                    if !self.policy.contains(b) {
                        return fail(a, "free block missing from the policy's index");
                    }
                    t.free_bytes += s;
                    t.free_blocks += 1;
                }
                prev_used = b.is_used();
                b = b.next();
            }
        }
    }

    fn check_large(&self, start: usize, n: usize, t: &mut Tally) -> Result<(), CheckError> {
        let end = start + n * PAGE;
        let Some(p) = self.pages.next_live(start, start + PAGE + HEADER) else {
            return fail(start, "large object without a live payload in its first page");
        };
        let Some(b) = self.pages.ptr_at(p - HEADER).map(Block::from_header) else {
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
            if let Some(x) = self.pages.next_live(p + 8, end) {
                return fail(x, "second live bit inside a large object");
            }
            t.large_bytes += n * PAGE;
            t.live_blocks += 1;
            t.live_requested += r;
        }
        Ok(())
    }
}
