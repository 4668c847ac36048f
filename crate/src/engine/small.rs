//! The engine's paths in the size build (feature `small`): one search,
//! [`Policy::take`], of a block of [`Request::worst_case`] bytes; one
//! placement, which releases the rest of a block as a freed block would be
//! (so that one merge routine serves all); a free block that changes is
//! removed and inserted again; no quick lists, no fast path, no slide or
//! shrink-move on realloc, no copy steering, no early loads. The same
//! names as in `fast.rs`, the speed build's paths; those this build lacks
//! do nothing here and compile to nothing.

use core::ptr::NonNull;

use super::{Engine, Hooks};
use crate::block::{round_up, Block, Request, HEADER, PREV_USED, SIZE_MASK, USED};
use crate::policy::Policy;

/// How many times an allocation grows the heap before it fails: once, by
/// the whole block (as talc does: at times a wasm page more, one try
/// instead of two).
pub(super) const GROW_ATTEMPTS: usize = 1;
/// No quick lists: freed blocks merge at once.
pub(super) const HAS_QUICK_LISTS: bool = false;
/// No wilderness: every free block is filed as any other (the size
/// build's search takes the first block that holds a request).
pub(super) const KEEPS_TAIL: bool = false;

impl<P: Policy, H: Hooks> Engine<P, H> {
    /// No fast path: every request takes the slow one.
    #[inline(always)]
    pub(crate) fn alloc_fast(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        let _ = (size, align);
        None
    }

    /// One search of the index for `req` and, when it finds a block, the
    /// placement. It asks for a block that holds the request wherever it
    /// starts (over-asking when over-aligned), so that the gap is simple
    /// to compute.
    #[inline]
    pub(super) fn search_place(&mut self, req: &Request) -> Option<NonNull<u8>> {
        // SAFETY: every indexed block is a valid free block of this heap;
        // the policy took `b`, of at least `worst_case` bytes.
        unsafe {
            let b = self.policy.take(req.worst_case())?;
            Some(self.place_aligned(b, req.need, req.align))
        }
    }

    /// Turns the `size` free bytes at `b`, out of the index, into a used
    /// block of `need` bytes whose prev-used flag is `prev`, and returns
    /// its payload: a used block of all `size` bytes, whose tail is then
    /// given back ([`Engine::shrink`]).
    ///
    /// # Safety
    /// `b..b + size` (`size >= need`) is free memory of this heap out of the
    /// index (a free block just taken, or what follows an alignment gap),
    /// followed by a used block or the epilogue.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(super) unsafe fn place(&mut self, b: Block, size: usize, need: usize, prev: u64) -> NonNull<u8> {
        // SAFETY: forwarded to the caller.
        unsafe {
            b.add(size).set_prev_used(true);
            b.set_header(size as u64 | USED | prev | self.hooks.used_bits());
            self.shrink(b, USED | prev, size, need);
            b.payload()
        }
    }

    /// Turns free block `b`, out of the index and of at least
    /// [`Request::worst_case`] bytes, into a used block of `need` bytes
    /// whose payload is aligned to `align`. The size build's only placement.
    ///
    /// # Safety
    /// `b` is a free block of this heap just taken from the index, of at
    /// least the worst case of a request of `need` bytes aligned to `align`.
    unsafe fn place_aligned(&mut self, b: Block, need: usize, align: usize) -> NonNull<u8> {
        // SAFETY: as in `place`; the gap and `need` fit in `b` (the worst
        // case counts the largest gap: `min_block + align - granule`).
        unsafe {
            let h = b.header();
            let size = (h & SIZE_MASK) as usize;
            let prev = h & PREV_USED;
            let first = b.addr() + HEADER;
            // (Payloads are granule-aligned: no gap below that.)
            let mut gap = first.wrapping_neg() & (align - 1);
            if align <= self.granule() || gap == 0 {
                return self.place(b, size, need, prev);
            }
            if gap < self.min_block() {
                gap = round_up(first + self.min_block(), align) - first;
            }
            b.write_free(gap, prev != 0);
            self.policy.insert(b);
            // After the gap, which is a free block now.
            self.place(b.add(gap), size - gap, need, 0)
        }
    }

    /// The merge of [`Engine::merge_in`]: each free neighbour of used block
    /// `b` (header `h`, `bsize` bytes) is removed from the index before its
    /// header is overwritten, the merged block inserted after its header is
    /// written. The merged block and its size. The header is read here
    /// again rather than passed: the one out-of-line copy then takes the
    /// block alone (22 bytes of wasm fewer).
    ///
    /// # Safety
    /// `b` is a used block of this heap that no one uses any more, `h` its
    /// header.
    #[inline(always)]
    pub(super) unsafe fn merge_free(&mut self, b: Block, h: u64, bsize: usize) -> (Block, usize) {
        // SAFETY: `b` is a used block (caller), so its header, the next
        // header (a block or the epilogue) and, when the prev-used bit is
        // clear, the previous block's footer are valid.
        unsafe {
            debug_assert_eq!(b.header(), h, "merge_in with another header than the block's");
            let _ = bsize;
            let h = b.header();
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
            let mut prev = true;
            if h & PREV_USED == 0 {
                b = b.prev();
                prev = b.prev_used();
                self.policy.remove(b);
                size += b.size();
            }
            b.write_free(size, prev);
            self.policy.insert(b);
            (b, size)
        }
    }

    /// Used block `b` (header `h`) grows over the free block `next` after
    /// it (together `total >= need` bytes), then gives back what is not
    /// needed.
    ///
    /// # Safety
    /// `b` is a used block of this heap, `next` the free block after it,
    /// indexed.
    #[inline(always)]
    pub(super) unsafe fn grow_into_next(&mut self, b: Block, h: u64, next: Block, total: usize, need: usize) {
        // SAFETY: forwarded to the caller.
        unsafe {
            self.policy.remove(next);
            b.add(total).set_prev_used(true);
            b.set_header((h & !SIZE_MASK) | total as u64);
            self.shrink(b, h, total, need);
        }
    }

    /// No slide into a free predecessor: the block moves instead.
    ///
    /// # Safety
    /// As the speed build's: as [`Engine::realloc`], with `h` and `nh` the
    /// headers as they are now (nothing is read here).
    #[inline(always)]
    pub(super) unsafe fn slide(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize, h: u64, nh: u64) -> Option<NonNull<u8>> {
        let _ = (ptr, old_size, new_size, align, h, nh);
        None
    }

    /// Gives the tail of used block `b` (`size` bytes) beyond `need` bytes,
    /// `size - need >= split_min`, back: it becomes a used block and is
    /// released (merged with a free block after it). Its flags are read
    /// from its header, not taken from `h`: the one out-of-line copy of
    /// [`Engine::shrink`] then takes no header (13 bytes of wasm fewer).
    ///
    /// # Safety
    /// As [`Engine::shrink`].
    #[inline(always)]
    pub(super) unsafe fn split_tail(&mut self, b: Block, h: u64, size: usize, need: usize) {
        // SAFETY: the tail lies inside `b` (caller).
        unsafe {
            debug_assert_eq!(b.header() & (USED | PREV_USED), h & (USED | PREV_USED), "shrink with other flags than the block's");
            let h = b.header();
            b.set_header((h & !SIZE_MASK) | need as u64);
            let h = (size - need) as u64 | USED | PREV_USED;
            b.add(need).set_header(h);
            self.merge_in(b.add(need), h, true);
        }
    }

    /// No shrink-move: a shrinking block shrinks in place.
    ///
    /// # Safety
    /// As the speed build's: as [`Engine::realloc`] (nothing is read here).
    #[inline(always)]
    pub(super) unsafe fn realloc_shrink_move(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize) -> Option<NonNull<u8>> {
        let _ = (ptr, old_size, new_size, align);
        None
    }

    /// A move copies to the block it got, at any distance (steering away
    /// from a slow one is 49 bytes of wasm).
    #[inline(always)]
    pub(super) fn unslow(&mut self, from: NonNull<u8>, to: NonNull<u8>, n: usize, size: usize, align: usize) -> NonNull<u8> {
        let _ = (from, n, size, align);
        to
    }
}

/// No early loads in the size build.
///
/// # Safety
/// As the speed build's: `p` is readable memory of this heap (nothing is
/// read here).
#[inline(always)]
pub(crate) unsafe fn prefetch(p: *const u8) {
    let _ = p;
}
