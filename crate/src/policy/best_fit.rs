//! Best fit: serve each request from the *smallest* free block that fits.
//!
//! The free blocks are indexed by size (see [`super::size_index`]): exact-size
//! bins for blocks below 256 bytes, found in O(1) through a bitmap, and a
//! bitwise trie per size range for larger blocks, searched in O(bits).
//!
//! ```text
//!  request need = 72 B            request need = 600 B
//!  small_map: 0..0 1 0 1 ...      tree_map -> trie of 512..767
//!                  ^ bin 72 B?          [640]           path of 600:
//!     empty, next set bit: 88 B        /     \          640 >= 600 (best so far)
//!     -> oldest 88 B block         [560]     [704]      560 <  600 (too small)
//!                                      \                then the smallest of the
//!                                      [608]            subtree right of the path:
//!                                                       608 -> chosen
//! ```
//!
//! **Ties.** Among blocks of the same size the one freed first is chosen
//! (each size's blocks form a FIFO ring).
//!
//! **The end of the heap.** The free block that ends a region is not in the
//! index but kept apart ([`Wilderness`]) and taken only when no indexed
//! block fits, even when it is the smallest that would: it is where the
//! heap grows, and cutting it while a hole would do leaves the hole unused.
//!
//! **Alignment above the granule.** Blocks are examined in increasing size
//! order (each size's ring oldest first) until one `fits` with its alignment
//! gap, so the result is the smallest block that really fits among the first
//! 32 looked at; after 32 rejected, the walk goes on from
//! [`Request::worst_case`] bytes, where every block fits.
//!
//! # Time complexity
//! alloc O(B) and free O(B), with B the bits of a size (32): independent of
//! the number of free blocks. Over-aligned requests add one step per block
//! smaller than `worst_case` rejected for alignment, 32 at most.
//!
//! # Trade-off
//! Leaves the smallest possible remainder, so large free blocks stay intact
//! for large requests; on many real workloads best fit fragments least of
//! the classic policies (Wilson, Johnstone, Neely and Boles, "Dynamic Storage
//! Allocation: A Survey and Critical Review", 1995). The cost is an exact
//! search (a trie descent instead of a list head) and tiny remainders that
//! are too small to reuse soon.
//!
//! [`Request::worst_case`]: crate::block::Request::worst_case

use super::size_index::SizeIndex;
use super::wilderness::{self, Beside};
use super::{try_block, FreeIndex, FreeList, Policy, PolicyKind, Search, Wilderness, ALIGNED_LOOK};
use crate::block::{Block, Request};
use crate::errors::CheckError;
use crate::events::Observer;

/// The size-indexed policies, best fit (`WORST = false`) and worst fit
/// (`WORST = true`): one [`SizeIndex`] as their [`FreeIndex`], written once;
/// each has only its own [`Policy::find`].
#[derive(Debug)]
pub struct BySize<const WORST: bool> {
    pub(super) index: SizeIndex,
    /// Best fit's [`Wilderness`] (worst fit keeps none: it takes the
    /// largest block, wherever it is).
    pub(super) wild: Wilderness,
}


/// Best fit over a [`SizeIndex`]. See the module docs.
pub type BestFit = BySize<false>;

/// Examines the blocks of the ring at `head` (all of `size` bytes), oldest
/// first, and returns the first that fits `req`, giving up when `budget`
/// (counted down per block rejected) runs out. The head was already
/// counted in `examined` by the index query; the others are counted here.
///
/// # Safety
/// `head` is indexed in `index`.
#[inline]
pub(super) unsafe fn first_fit_in_ring<O: Observer>(
    index: &SizeIndex,
    head: Block,
    size: usize,
    req: &Request,
    obs: &mut O,
    examined: &mut usize,
    budget: &mut usize,
) -> Option<crate::block::Fit> {
    let mut b = head;
    loop {
        if b != head {
            *examined += 1;
        }
        if let Some(fit) = try_block(b, size, req, obs) {
            return Some(fit);
        }
        *budget = budget.saturating_sub(1);
        if *budget == 0 {
            return None;
        }
        // SAFETY: `b` is indexed (a member of `head`'s ring).
        b = unsafe { index.ring_next(b) };
        if b == head {
            return None;
        }
    }
}

/// The smallest block of at least `from` bytes (and below `until`) that
/// fits `req`, walking sizes in increasing order. A request aligned above
/// the granule rejects blocks whose address does not suit; after
/// [`ALIGNED_LOOK`] of them the walk goes on from the request's worst
/// case, where every block fits (without that bound, one page-aligned
/// request among thousands of small free blocks walked them all: best
/// fit's 10k-live-blocks row spent 17 % of its time here).
///
/// # Safety
/// The index is well formed.
#[inline]
pub(super) unsafe fn ascending<O: Observer>(
    index: &SizeIndex,
    from: usize,
    until: usize,
    req: &Request,
    obs: &mut O,
    examined: &mut usize,
) -> Option<crate::block::Fit> {
    let mut s = from;
    let mut budget = ALIGNED_LOOK;
    while s < until {
        // SAFETY: forwarded to the caller.
        let (head, size) = unsafe { index.lower_bound(s, obs, examined) }?;
        if size >= until {
            return None;
        }
        // SAFETY: `head` came from the index.
        if let Some(fit) = unsafe { first_fit_in_ring(index, head, size, req, obs, examined, &mut budget) } {
            return Some(fit);
        }
        debug_assert!(size < req.worst_case(), "a block of worst_case bytes must fit");
        s = if budget == 0 { req.worst_case().max(size + 8) } else { size + 8 };
    }
    None
}

impl<const WORST: bool> Beside for BySize<WORST> {
    #[inline(always)]
    fn keeps(&self) -> bool {
        !WORST
    }
    #[inline(always)]
    fn wild(&mut self) -> &mut Wilderness {
        &mut self.wild
    }
    #[inline(always)]
    unsafe fn plain_insert(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.index.insert_sized(b, size) }
    }
    #[inline(always)]
    unsafe fn plain_remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.index.remove(b) }
    }
    #[inline(always)]
    unsafe fn plain_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller; a block whose size and place do
        // not change keeps its entry as it is.
        unsafe {
            if !(old == new && old.size() == new_size) {
                self.index.replace(old, new, new_size);
            }
        }
        true
    }
}

impl<const WORST: bool> FreeIndex for BySize<WORST> {
    const LINKS: usize = 2;
    const EMPTY: Self = BySize { index: SizeIndex::EMPTY, wild: Wilderness::EMPTY };
    #[inline(always)]
    fn is_tail(&self, b: Block) -> bool {
        self.wild.is(b)
    }
    const KEEPS_TAIL: bool = !WORST;

    #[inline]
    fn len(&self) -> usize {
        self.index.len() + self.wild.len()
    }
    fn clear(&mut self) {
        *self = Self::EMPTY;
    }
    #[inline]
    unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.index.insert(b) }
    }
    #[inline]
    unsafe fn insert_sized(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.index.insert_sized(b, size) }
    }
    #[inline]
    unsafe fn insert_tail(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::insert_tail(self, b, size) }
    }
    #[inline]
    unsafe fn remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::remove(self, b) }
    }
    #[inline]
    unsafe fn try_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::try_replace(self, old, new, new_size) }
    }
    #[inline]
    unsafe fn replace_by_tail(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::replace_by_tail(self, old, new, new_size) }
    }
    unsafe fn contains(&self, b: Block) -> bool {
        // SAFETY: forwarded to the caller.
        self.wild.is(b) || unsafe { self.index.contains(b) }
    }
    /// One list: the size index smallest first, equal sizes oldest first;
    /// then the wilderness, a list of its own.
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, mut f: F) {
        // SAFETY: forwarded to the caller.
        unsafe { self.index.for_each_ascending(|b| f(FreeList::ONLY, b)) };
        self.wild.for_each(usize::from(!self.index.is_empty()), f);
    }
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        // SAFETY: forwarded to the caller.
        unsafe {
            self.index.check(ok)?;
            self.wild.check(ok)
        }
    }
}

impl Policy for BestFit {
    const KIND: Option<PolicyKind> = Some(PolicyKind::BestFit);

    #[inline]
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        let mut examined = 0;
        // SAFETY: the index holds valid free blocks (caller).
        let fit = unsafe { ascending(&self.index, req.need, usize::MAX, req, obs, &mut examined) };
        // The wilderness only when no other block fits.
        let fit = fit.or_else(|| self.wild.fit(req, obs, &mut examined));
        Search { fit, examined }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testkit::{self, Entry};

    /// The smallest fitting size, oldest block among those that fit; for a
    /// request aligned above the granule, among the first `ALIGNED_LOOK`
    /// candidates in that order, else the smallest of at least its worst
    /// case (each of which fits).
    fn judge(entries: &[Entry], req: &Request, s: &Search) {
        let want = testkit::smallest_fit(entries.iter(), req);
        assert_eq!(s.fit.map(|f| f.block), want.map(|e| e.block), "best fit for {req:?}");
    }

    #[test]
    fn random_against_shadow() {
        testkit::random_index::<BestFit>(judge, |o, n, os, ns| o == n && os == ns, 1);
        testkit::random_index::<BestFit>(judge, |o, n, os, ns| o == n && os == ns, 2);
    }

    #[test]
    fn heap_round_trip() {
        testkit::heap_round_trip::<BestFit>();
    }

    #[test]
    fn trie_search_is_logarithmic() {
        testkit::few_examined::<BestFit>(40);
    }

    /// The size build's take, the trait's default (find, then remove): the
    /// smallest block that is big enough, the oldest of that size.
    #[test]
    fn take_is_best_fit() {
        testkit::take_never_misses::<BestFit>(|entries, size, got| {
            let want = entries.iter().filter(|e| e.size >= size).min_by_key(|e| (e.size, e.seq));
            assert_eq!(Some(got), want.map(|e| e.block), "take({size})");
        });
    }
}
