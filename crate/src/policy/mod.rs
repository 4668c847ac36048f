//! Fit policies: which free block serves a request.
//!
//! A policy is an *index over the free blocks* behind the [`Policy`] trait.
//! Choose one at compile time (`Heap<S, FirstFit>`) or at run time
//! ([`AnyPolicy`], picked by [`PolicyKind`] in the heap's config).
//!
//! | policy | index | alloc | free |
//! |---|---|---|---|
//! | [`FirstFit`] | address-ordered list | O(n) | O(n) |
//! | [`NextFit`] | address-ordered list + roving pointer | O(n) | O(n) |
//! | [`BestFit`] | exact-size bins + size tries | O(log size) | O(log size) |
//! | [`WorstFit`] | exact-size bins + size tries | O(log size) | O(log size) |
//! | [`Segregated`] | two-level bitmap of size-class lists | O(1) | O(1) |
//! | [`Ordered`] | first, next, best or worst fit over a list in a chosen [`ListOrder`] | O(n) | O(1) to O(n) |
//!
//! Best fit (over its index or a list) and segregated fit keep the free
//! block that ends a region apart, as their [`Wilderness`]: it is taken only
//! when no other free block holds a request, so holes are reused before the
//! heap's end moves out (dlmalloc's *top* chunk).

pub mod best_fit;
pub mod first_fit;
pub mod next_fit;
pub mod ordered;
pub mod segregated;
pub mod size_index;
pub mod wilderness;

/// How many free blocks an over-aligned request rejects for their address
/// before it looks where every block fits (segregated fit: the end of the
/// heap; best and worst fit: blocks of its worst case).
pub(crate) const ALIGNED_LOOK: usize = 32;

/// Tries free block `b` of `size` bytes for `req` and reports it to `obs`
/// (visited, then chosen or rejected with the reason): the fit, if any.
#[inline(always)]
pub(crate) fn try_block<O: Observer>(b: Block, size: usize, req: &Request, obs: &mut O) -> Option<Fit> {
    if O::ENABLED {
        obs.event(Event::Visit { block: b.addr(), size });
    }
    match crate::block::fits(b, size, req) {
        Ok(fit) => {
            if O::ENABLED {
                obs.event(Event::Choose { block: b.addr(), size });
            }
            Some(fit)
        }
        Err(reason) => {
            if O::ENABLED {
                obs.event(Event::Reject { block: b.addr(), size, reason });
            }
            None
        }
    }
}

#[cfg(test)]
mod testkit;
pub mod worst_fit;

pub use best_fit::{BestFit, BySize};
pub use first_fit::FirstFit;
pub use next_fit::NextFit;
pub use ordered::{FreeList, ListOrder, Ordered};
pub use segregated::Segregated;
pub use wilderness::Wilderness;
pub use worst_fit::WorstFit;

use crate::block::{Block, Fit, Request};
use crate::errors::CheckError;
use crate::events::{Event, Observer};

/// The fit policies, for a run-time choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PolicyKind {
    /// Address-ordered free list, first block that fits.
    FirstFit = 0,
    /// Address-ordered free list, search resumes where the last one ended.
    NextFit = 1,
    /// Size-ordered index, smallest block that fits.
    BestFit = 2,
    /// Size-ordered index, largest block.
    WorstFit = 3,
    /// Two-level bitmap of size classes (TLSF), constant time.
    Segregated = 4,
}

impl PolicyKind {
    /// Every policy, in a stable order.
    pub const ALL: &'static [PolicyKind] = &[
        PolicyKind::FirstFit,
        PolicyKind::NextFit,
        PolicyKind::BestFit,
        PolicyKind::WorstFit,
        PolicyKind::Segregated,
    ];

    /// Stable kebab-case name (used by the bindings and the UI).
    pub const fn name(self) -> &'static str {
        match self {
            PolicyKind::FirstFit => "first-fit",
            PolicyKind::NextFit => "next-fit",
            PolicyKind::BestFit => "best-fit",
            PolicyKind::WorstFit => "worst-fit",
            PolicyKind::Segregated => "segregated",
        }
    }

    /// Whether this policy files and finds blocks without walking a list
    /// (a size index: segregated, best and worst fit). The engine then
    /// keeps small freed blocks on quick lists in front of it (deferring
    /// their merge until it needs memory) and lets a block shrinking to half
    /// its size or less move to a block that fits; on address-ordered
    /// lists, whose every insert and search is a walk and whose teaching
    /// point is the order, both would cost more than they save.
    pub const fn fast_index(self) -> bool {
        matches!(self, PolicyKind::BestFit | PolicyKind::WorstFit | PolicyKind::Segregated)
    }

    /// Whether the engine, when a block grows to more than twice its size,
    /// places it again (a new block, the bytes copied) instead of extending
    /// it into its free neighbours. Best fit says yes: its point is to put
    /// every block in the smallest hole that holds it, and a block extended
    /// far beyond its size where it happens to lie undoes that (talc's
    /// efficiency benchmark: 94.1 % of the heap in use at the first failure
    /// instead of 93.0 %). Growth up to twice the size (a vector doubling,
    /// the malloc-lab realloc traces) stays in place, and in place is the
    /// fallback when memory runs out. The others say no: extending is
    /// cheaper, and for segregated fit it also packs better.
    pub const fn place_growing_again(self) -> bool {
        matches!(self, PolicyKind::BestFit)
    }

    /// Whether a small block freed right before the wilderness (the free
    /// block that ends its region) skips the quick lists and merges into
    /// it at once, so that the heap's end stays one free block. Best fit
    /// says yes (its malloc-lab utilization 88.12 → 88.1452 %).
    /// Segregated fit says no: it does worse with it (88.0415 % against
    /// 88.0510 % without; cccp-bal 99.28 against 99.51 %, while
    /// realloc2-bal gains, 87.24 against 87.16): the block kept on its
    /// quick list is what the next request of its size takes, where the
    /// wilderness would be cut. (Worst fit keeps no
    /// wilderness; the address-ordered fits no quick lists.)
    pub const fn merge_before_tail(self) -> bool {
        matches!(self, PolicyKind::BestFit)
    }

    /// The policy named `name` (see [`PolicyKind::name`]).
    pub fn from_name(name: &str) -> Option<PolicyKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// What a search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Search {
    /// The chosen block and where in it the request goes, if any.
    pub fit: Option<Fit>,
    /// Number of free blocks examined.
    pub examined: usize,
}

/// An index over the free blocks of a heap: what a policy keeps.
///
/// # What an implementation must do
///
/// * Hold exactly the free blocks the heap inserted and has not removed:
///   [`insert`](FreeIndex::insert) adds one, [`remove`](FreeIndex::remove)
///   takes one out, [`len`](FreeIndex::len) counts them,
///   [`contains`](FreeIndex::contains) answers membership. The heap never
///   inserts a block twice.
/// * Keep its own data **only** in the link words of the indexed blocks
///   ([`Block::link`] / [`Block::set_link`], at most `LINKS` of them) and in
///   `self` (heads, bitmaps, counters). Never write a header, footer or payload
///   byte outside the links.
/// * Key only on what the header said at insert time: when the heap changes a
///   free block it calls `remove` *before* rewriting the header and `insert`
///   *after* writing the new one. The optional
///   [`try_replace`](FreeIndex::try_replace) fast path is the one exception.
/// * [`check`](FreeIndex::check): verify the index's own structure (link
///   symmetry, ordering, counts, every entry marked free) and return the
///   first broken invariant.
///
/// All `unsafe` methods require that the blocks passed in (and those already
/// indexed) are valid free blocks of at least `MIN_BLOCK` bytes in memory the
/// heap owns.
pub trait FreeIndex: Sized {
    /// Number of link words used in a free block.
    const LINKS: usize;
    /// Smallest block this index can hold: header + `LINKS` words + footer,
    /// before rounding to the granule.
    const MIN_BLOCK: usize = crate::block::HEADER + Self::LINKS * crate::block::WORD + crate::block::FOOTER;
    /// An empty index usable in `const` contexts (a `static` heap).
    const EMPTY: Self;

    /// Number of blocks in the index.
    fn len(&self) -> usize;
    /// Whether the index is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Forgets every block (used by `reset`; the memory is not touched).
    fn clear(&mut self);

    /// Whether `b` is the free block kept apart at the end of its region
    /// (the wilderness; always false for an index that keeps none).
    #[inline(always)]
    fn is_tail(&self, b: Block) -> bool {
        let _ = b;
        false
    }

    /// Calls `f(list, block)` for every indexed block, list by list (only
    /// non-empty lists, in increasing [`FreeList::index`]) and within a list
    /// in the order a search walks it (see [`ListOrder`]). Reads links and
    /// headers only. O(n) (O(n + sizes × B) for the size index).
    ///
    /// # Safety
    /// See the trait docs.
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, f: F);

    /// Adds a free block whose header (and footer) are already written.
    ///
    /// # Safety
    /// See the trait docs; `b` is not in the index.
    unsafe fn insert(&mut self, b: Block);

    /// [`FreeIndex::insert`] for a block whose size the caller knows because
    /// it has just written the header: a policy that files blocks by size
    /// uses `size` instead of loading the header straight back. That load,
    /// right after the store to the same word, cost about 380 cycles per
    /// allocation in the lean heap's large-block benchmark (the header's
    /// value waits on a cache miss; AMD EPYC), where passing the size cost
    /// none.
    ///
    /// # Safety
    /// As [`FreeIndex::insert`]; `size` is the size in `b`'s header.
    #[inline(always)]
    unsafe fn insert_sized(&mut self, b: Block, size: usize) {
        let _ = size;
        // SAFETY: forwarded to the caller.
        unsafe { self.insert(b) }
    }

    /// Whether the index keeps a free block that ends a region apart, as
    /// its [`Wilderness`], taken only when no other block holds a request:
    /// the engine then reads the header after each free block it files
    /// and files a block that ends a region through
    /// [`FreeIndex::insert_tail`] and [`FreeIndex::replace_by_tail`].
    const KEEPS_TAIL: bool = false;

    /// [`FreeIndex::insert_sized`] for a free block that ends its region
    /// (the epilogue follows it): the default indexes it as any other.
    ///
    /// # Safety
    /// As [`FreeIndex::insert_sized`].
    #[inline(always)]
    unsafe fn insert_tail(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.insert_sized(b, size) }
    }

    /// [`FreeIndex::try_replace`] when `new` ends its region: the default
    /// is `try_replace`.
    ///
    /// # Safety
    /// As [`FreeIndex::try_replace`].
    #[inline(always)]
    unsafe fn replace_by_tail(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { self.try_replace(old, new, new_size) }
    }

    /// Removes a block that is in the index, its header unchanged since insert.
    ///
    /// # Safety
    /// See the trait docs.
    unsafe fn remove(&mut self, b: Block);

    /// Optional fast path: `old` (indexed, header unchanged) is about to be
    /// replaced by a free block at `new` of `new_size` bytes that takes its
    /// place in address order (no other indexed block lies between them).
    /// `new` may equal `old` (the block changed size). The heap writes `new`'s
    /// header *after* this call. Return `true` if the index was updated, or
    /// `false` (the default) and the heap does `remove(old)`, writes the
    /// header, then `insert(new)`.
    ///
    /// # Safety
    /// See the trait docs.
    #[inline]
    unsafe fn try_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        let _ = (old, new, new_size);
        false
    }

    /// Whether `b` is in the index (may be O(n); used by `check`).
    ///
    /// # Safety
    /// See the trait docs.
    unsafe fn contains(&self, b: Block) -> bool;

    /// Verifies the index's own structure, reading a block only after
    /// `ok(block)` said it is safe to read (its header, links and footer
    /// lie inside the heap's memory): a forged link is reported, never
    /// followed, and a cycle ends at the count.
    ///
    /// # Errors
    /// The first broken invariant, or the first block `ok` refused.
    ///
    /// # Safety
    /// See the trait docs; blocks `ok` accepts are readable (the blocks
    /// need not be valid free blocks).
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError>;
}

/// A fit policy: a [`FreeIndex`] and the decision which of its blocks
/// serves a request.
///
/// * [`find`](Policy::find): return a block that can serve the request
///   (check with [`crate::block::fits`], which also computes the alignment
///   gap), without removing it; report each block examined to the observer
///   (`Visit`, then `Reject` with the reason or `Choose`) when `O::ENABLED`,
///   and count them in [`Search::examined`]. If the index holds a free block
///   of at least [`Request::worst_case`] bytes, `find` must succeed (the heap
///   relies on it after growing memory).
///
/// What the heap does around the policy (quick lists, placing a growing
/// block again) is a fact of the policy's kind, not a method:
/// [`PolicyKind::fast_index`], [`PolicyKind::place_growing_again`].
pub trait Policy: FreeIndex {
    /// The policy this type always is, or `None` when chosen at run time.
    const KIND: Option<PolicyKind>;

    /// An empty index for `kind` (ignored by single-policy types, for which
    /// it is [`FreeIndex::EMPTY`]: the heap then skips calling it).
    fn new(kind: PolicyKind) -> Self {
        let _ = kind;
        Self::EMPTY
    }
    /// Which policy this is ([`Policy::KIND`] for a single-policy type; a
    /// type chosen at run time says it).
    #[inline]
    fn kind(&self) -> PolicyKind {
        match Self::KIND {
            Some(k) => k,
            None => PolicyKind::FirstFit,
        }
    }

    /// An empty index for `kind` keeping its free list in `order` (see
    /// [`ListOrder::suits`]). Types with one order ignore `order`: the
    /// default is [`Policy::new`].
    fn with_order(kind: PolicyKind, order: ListOrder) -> Self {
        let _ = order;
        Self::new(kind)
    }

    /// The order of this index's free list(s); the default is the kind's
    /// own ([`ListOrder::default_for`]).
    fn list_order(&self) -> ListOrder {
        ListOrder::default_for(self.kind())
    }

    /// Next fit's roving pointer: the listed block the next search starts
    /// at (`None` for the other policies, and when nothing is listed).
    fn rover(&self) -> Option<Block> {
        None
    }

    /// Finds a free block for `req` (see the trait docs). Does not remove it.
    ///
    /// # Safety
    /// As the [`FreeIndex`] methods.
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search;

    /// Optional constant-time fast path of the engine: a free block of at
    /// least `need` bytes (a granule multiple) that can hold a payload with
    /// no alignment beyond the granule, removed from the index, with its
    /// size (which the policy may know without reading the header); or
    /// `None` (the default) when the policy has no such quick answer, and
    /// the engine falls back to [`find`](Policy::find).
    ///
    /// # Safety
    /// As the [`FreeIndex`] methods.
    #[inline(always)]
    unsafe fn take_quick(&mut self, need: usize) -> Option<(Block, usize)> {
        let _ = need;
        None
    }

    /// The one search of the engine compiled for code size (feature
    /// `small`): removes a free block of at least `size` bytes (a granule
    /// multiple) from the index and returns it, or `None` when the index
    /// holds none (it must not miss one). The default asks
    /// [`find`](Policy::find) for a block of exactly that size with no
    /// alignment gap.
    ///
    /// # Safety
    /// As the [`FreeIndex`] methods.
    unsafe fn take(&mut self, size: usize) -> Option<Block> {
        // Alignment 8 with granule 8: `fits` needs no gap, so `min_block`
        // is never used, and the block size needed is `size` itself.
        let req = Request::new(size - crate::block::HEADER, 1, 8, 0);
        // SAFETY: forwarded to the caller.
        unsafe {
            let b = self.find(&req, &mut crate::events::NoObserver).fit?.block;
            self.remove(b);
            Some(b)
        }
    }

    /// [`PolicyKind::fast_index`] of this policy.
    #[inline(always)]
    fn fast_index(&self) -> bool {
        match Self::KIND {
            Some(k) => k.fast_index(),
            None => self.kind().fast_index(),
        }
    }

    /// [`PolicyKind::place_growing_again`] of this policy.
    #[inline(always)]
    fn place_growing_again(&self) -> bool {
        match Self::KIND {
            Some(k) => k.place_growing_again(),
            None => self.kind().place_growing_again(),
        }
    }

    /// [`PolicyKind::merge_before_tail`] of this policy.
    #[inline(always)]
    fn merge_before_tail(&self) -> bool {
        match Self::KIND {
            Some(k) => k.merge_before_tail(),
            None => self.kind().merge_before_tail(),
        }
    }
}

/// A policy chosen at run time: dispatches each call with one `match`.
///
/// As large as its largest index (segregated fit's list heads); a heap holds
/// one, and `no_std` has no `Box` to shrink it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyPolicy {
    /// First fit.
    FirstFit(FirstFit),
    /// Next fit.
    NextFit(NextFit),
    /// Best fit.
    BestFit(BestFit),
    /// Worst fit.
    WorstFit(WorstFit),
    /// Segregated fit.
    Segregated(Segregated),
    /// First, next, best or worst fit over a free list in an order other
    /// than the policy's own ([`AnyPolicy::with_order`]).
    Ordered(Ordered),
}

macro_rules! dispatch {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            AnyPolicy::FirstFit($p) => $e,
            AnyPolicy::NextFit($p) => $e,
            AnyPolicy::BestFit($p) => $e,
            AnyPolicy::WorstFit($p) => $e,
            AnyPolicy::Segregated($p) => $e,
            AnyPolicy::Ordered($p) => $e,
        }
    };
}

/// Largest of two numbers, in const context.
const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

impl FreeIndex for AnyPolicy {
    /// The most links any policy needs, so every runtime choice shares one
    /// block layout (and comparisons between policies are fair).
    const LINKS: usize = max(
        max(max(FirstFit::LINKS, NextFit::LINKS), Ordered::LINKS),
        max(max(BestFit::LINKS, WorstFit::LINKS), Segregated::LINKS),
    );
    const EMPTY: Self = AnyPolicy::FirstFit(FirstFit::EMPTY);
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, f: F) {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.for_each_free(f) })
    }
    #[inline]
    fn len(&self) -> usize {
        dispatch!(self, p => p.len())
    }
    fn clear(&mut self) {
        dispatch!(self, p => p.clear())
    }
    #[inline(always)]
    fn is_tail(&self, b: Block) -> bool {
        dispatch!(self, p => p.is_tail(b))
    }
    #[inline]
    unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.insert(b) })
    }
    #[inline]
    unsafe fn insert_sized(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.insert_sized(b, size) })
    }
    const KEEPS_TAIL: bool = true;
    #[inline]
    unsafe fn insert_tail(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.insert_tail(b, size) })
    }
    #[inline]
    unsafe fn replace_by_tail(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.replace_by_tail(old, new, new_size) })
    }
    #[inline]
    unsafe fn remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.remove(b) })
    }
    #[inline]
    unsafe fn try_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.try_replace(old, new, new_size) })
    }
    unsafe fn contains(&self, b: Block) -> bool {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.contains(b) })
    }
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.check(ok) })
    }
}

impl Policy for AnyPolicy {
    const KIND: Option<PolicyKind> = None;
    fn new(kind: PolicyKind) -> Self {
        match kind {
            PolicyKind::FirstFit => AnyPolicy::FirstFit(FirstFit::EMPTY),
            PolicyKind::NextFit => AnyPolicy::NextFit(NextFit::EMPTY),
            PolicyKind::BestFit => AnyPolicy::BestFit(BestFit::EMPTY),
            PolicyKind::WorstFit => AnyPolicy::WorstFit(WorstFit::EMPTY),
            PolicyKind::Segregated => AnyPolicy::Segregated(Segregated::EMPTY),
        }
    }
    /// The policy's own index for its default order, else [`Ordered`].
    fn with_order(kind: PolicyKind, order: ListOrder) -> Self {
        if order == ListOrder::default_for(kind) || !order.suits(kind) {
            Self::new(kind)
        } else {
            AnyPolicy::Ordered(Ordered::with(kind, order))
        }
    }
    #[inline]
    fn list_order(&self) -> ListOrder {
        dispatch!(self, p => p.list_order())
    }
    #[inline]
    fn rover(&self) -> Option<Block> {
        dispatch!(self, p => p.rover())
    }
    #[inline]
    fn kind(&self) -> PolicyKind {
        dispatch!(self, p => p.kind())
    }
    #[inline]
    fn fast_index(&self) -> bool {
        dispatch!(self, p => p.fast_index())
    }
    #[inline]
    fn place_growing_again(&self) -> bool {
        dispatch!(self, p => p.place_growing_again())
    }
    #[inline]
    fn merge_before_tail(&self) -> bool {
        dispatch!(self, p => p.merge_before_tail())
    }
    #[inline]
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.find(req, obs) })
    }
    #[inline]
    unsafe fn take_quick(&mut self, need: usize) -> Option<(Block, usize)> {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.take_quick(need) })
    }
    #[inline]
    unsafe fn take(&mut self, size: usize) -> Option<Block> {
        // SAFETY: forwarded to the caller.
        dispatch!(self, p => unsafe { p.take(size) })
    }
}
