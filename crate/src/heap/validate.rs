//! Validation of the checked face: every address passed to `free`,
//! `realloc` and `usable_size` is looked up in the live bitmap before any
//! header is trusted, and a bad one is told apart (double free, interior
//! pointer, never allocated).

use super::{min, AllocError, Checked, Heap, MAX_ALIGN};
use crate::block::{Block, HEADER, LARGE, USED};
use crate::engine::Engine;
use crate::events::Observer;
use crate::pages::{PageOwner, PageSource, PAGE};
use crate::policy::Policy;

impl<S: PageSource, P: Policy, O: Observer> Heap<S, P, O> {
    /// The live block whose payload starts at `ptr`, or why there is none
    /// (`NotAllocated` without looking further when `!CLASSIFY`).
    #[inline]
    pub(super) fn validate<const CLASSIFY: bool>(&self, ptr: *mut u8) -> Result<Block, AllocError> {
        match self.h().pages.live_ptr(ptr.addr()) {
            // SAFETY: a live payload starts at `p`, so its header is at p − 8.
            Some(p) => Ok(unsafe { Block::from_payload(p) }),
            None if CLASSIFY => Err(self.classify(ptr.addr())),
            None => Err(AllocError::NotAllocated),
        }
    }

    /// Slow path: why `addr` is not a live payload.
    #[cold]
    #[inline(never)]
    pub(super) fn classify(&self, addr: usize) -> AllocError {
        let Some(idx) = self.h().pages.page_index(addr) else { return AllocError::NotAllocated };
        let owner = self.h().pages.owner(idx);
        if owner.is_arena() {
            self.classify_in_arena(idx, addr)
        } else if owner.is_large() {
            let head = {
                let first = self.h().pages.segment_first_page(idx);
                let mut i = idx;
                while i > first && self.h().pages.owner(i) != PageOwner::LargeHead {
                    i -= 1;
                }
                i
            };
            let start = self.h().pages.page_addr(head);
            if let Some(p) = self.h().pages.next_live(start, start + PAGE + HEADER) {
                let b = self.h().pages.ptr_at(p - HEADER).map(Block::from_header);
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
        if !addr.is_multiple_of(self.h().granule) {
            return false;
        }
        let Some(p) = addr.checked_sub(HEADER).and_then(|h| self.h().pages.ptr_at(h)) else { return false };
        if self.h().pages.page_index(addr - HEADER).map(|i| self.h().pages.owner(i)) == Some(PageOwner::Meta) {
            return false;
        }
        // SAFETY: `p` is 8-aligned memory of this heap (initialized, see `PageSource`).
        let h = unsafe { Block::from_header(p).header() };
        let size = (h as u32 & !7) as usize;
        let in_page_layer = limit == usize::MAX;
        let shape = if h & LARGE != 0 { in_page_layer && size.is_multiple_of(8) } else { size.is_multiple_of(self.h().granule) && size >= self.engine.min_block() };
        h & USED == 0 && h >> 32 == 0 && shape && (in_page_layer || addr - HEADER + size <= limit)
    }

    fn classify_in_arena(&self, idx: usize, addr: usize) -> AllocError {
        let head = self.h().arena_head(idx);
        let end = self.h().pages.page_addr(head) + self.h().arena_len(head) * PAGE - HEADER;
        let mut b = Block::from_header(self.h().pages.page_ptr(head));
        // SAFETY: the first block is at page + G − 8; each step is bounds-checked
        // against the arena end before reading.
        unsafe {
            b = b.add(self.h().granule - HEADER);
            while b.addr() < end {
                let s = b.size();
                if s == 0 || !s.is_multiple_of(self.h().granule) || b.addr() + s > end {
                    break;
                }
                let start = b.addr();
                if addr == start + HEADER {
                    // A block on a quick list was freed: it is used to the
                    // allocator only.
                    let freed = !b.is_used() || Engine::<P, Checked<S, O>>::is_quick(b);
                    return if freed { AllocError::DoubleFree } else { AllocError::NotAllocated };
                }
                if addr > start + HEADER && addr < start + s {
                    return if b.is_used() && !Engine::<P, Checked<S, O>>::is_quick(b) {
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

    /// The alignment live block `b` was allocated with.
    pub(super) fn block_align(&self, b: Block) -> usize {
        // SAFETY: `b` is live (validated by the caller).
        if unsafe { b.is_large() } {
            // The payload sits `align` bytes (at least 8) into its first page.
            let run = self.h().pages.page_index(b.addr()).map_or(0, |i| self.h().pages.page_addr(i));
            let off = b.payload().as_ptr().addr() - run;
            min(1 << off.trailing_zeros(), MAX_ALIGN)
        } else {
            // SAFETY: as above.
            unsafe { b.align() }
        }
    }

}
