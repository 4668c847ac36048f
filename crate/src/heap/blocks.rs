//! The block table the renderer reads: every block of every arena and
//! every large object, in page-map order.

use crate::block::{Block, HEADER, USED};
use crate::engine::QUICK;
use crate::pages::{PageOwner, Pages, PAGE};

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
    /// Used (an allocation) or not (free, or quick).
    pub used: bool,
    /// A freed block waiting on a quick list: free to the program, still
    /// used to the allocator (not merged, not in the free list).
    pub quick: bool,
    /// A large object.
    pub large: bool,
}

/// Iterator over blocks, see [`Heap::blocks`](super::Heap::blocks).
pub struct Blocks<'a> {
    pages: &'a Pages,
    granule: usize,
    next_page: usize,
    /// Next block of the current arena, and that arena's epilogue address.
    cur: Option<Block>,
    end: usize,
}

impl<'a> Blocks<'a> {
    pub(super) fn new(pages: &'a Pages, granule: usize) -> Self {
        Blocks { pages, granule, next_page: 0, cur: None, end: 0 }
    }
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
        let h = b.header();
        let quick = h & USED != 0 && h & QUICK == QUICK;
        BlockInfo {
            addr: b.addr(),
            size: b.size(),
            payload: b.payload().as_ptr().addr(),
            requested: b.requested(),
            used: b.is_used() && !quick,
            quick,
            large: b.is_large(),
        }
    }
}

