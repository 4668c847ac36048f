//! Free lists in a chosen order, as OSTEP's `malloc.py -l` offers them:
//! address order, insert at front (LIFO), insert at back (FIFO), size
//! ascending, size descending.
//!
//! ```text
//!  order      where a freed, split-off or merged block goes
//!  address    between the listed blocks below and above it
//!  lifo       the front:  [new] -> [b] -> [a]        (a stack)
//!  fifo       the back:   [a] -> [b] -> [new]        (a queue)
//!  size-asc   before the first bigger block:  [16] -> [new 32] -> [48]
//!  size-desc  before the first smaller block: [48] -> [new 32] -> [16]
//! ```
//!
//! [`Ordered`] is first, next, best or worst fit over one such list; the
//! heap chooses it at run time (through [`AnyPolicy`](super::AnyPolicy))
//! when [`Config::list_order`](crate::heap::Config::list_order) asks for an
//! order other than the policy's own. The default orders keep their own
//! types: [`FirstFit`](super::FirstFit) and [`NextFit`](super::NextFit)
//! over an address-ordered list, [`BestFit`](super::BestFit) and
//! [`WorstFit`](super::WorstFit) over the size index (ascending),
//! [`Segregated`](super::Segregated) over lists per size class.
//!
//! **Searches** (the fit decides, the order only says where to look first):
//! * first fit takes the first block in list order that fits;
//! * next fit starts at its roving pointer, walks to the end of the list and
//!   wraps around to the front; the rover then points at the block chosen,
//!   and when that block leaves the list, at the block after it;
//! * best fit walks the whole list and takes the smallest block that fits,
//!   the first in list order among equal sizes (as `malloc.py` does);
//! * worst fit walks the whole list and takes the largest block that fits,
//!   the first in list order among equal sizes.
//!
//! Coalescing is by boundary tags and does not care about the order; a
//! merged block (like a split-off remainder) is taken out of the list and
//! inserted again by the order. Under address order it keeps its place.
//!
//! # Time complexity
//! Insert O(1) for LIFO and FIFO, O(n) for address and size orders; remove
//! O(1); a search O(n) (best and worst fit always walk all n blocks).
//!
//! # Trade-off
//! The classic measurements (Wilson et al. 1995): address order keeps first
//! fit's fragmentation low; LIFO is the cheapest to maintain and reuses the
//! block freed last (warm in the cache) but scatters allocations and
//! fragments more; FIFO behaves much like address order on many traces;
//! first fit over a size-ascending list *is* best fit, and over a
//! size-descending list it is worst fit.

use super::first_fit::{check_list, first_in_list};
use super::next_fit::roving_search;
use super::wilderness::{self, Beside};
use super::{FreeIndex, Policy, PolicyKind, Search, Wilderness};
use crate::block::{fits, Block, Fit, Request};
use crate::errors::CheckError;
use crate::events::{Event, Observer, RejectReason};

/// The order of a policy's free list(s): where a free block is inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ListOrder {
    /// By address, lowest first. First and next fit's default.
    Address = 0,
    /// Insert at front: the block freed (or split off, or merged) last comes first.
    Lifo = 1,
    /// Insert at back: the block freed first comes first.
    Fifo = 2,
    /// By size, smallest first; equal sizes in the order inserted. Best and
    /// worst fit's default (their size index holds the blocks in this order).
    SizeAsc = 3,
    /// By size, largest first; equal sizes in the order inserted.
    SizeDesc = 4,
    /// One list per size class, each LIFO: segregated fit's only order.
    SizeClass = 5,
}

impl ListOrder {
    /// Every order, in a stable order.
    pub const ALL: &'static [ListOrder] = &[
        ListOrder::Address,
        ListOrder::Lifo,
        ListOrder::Fifo,
        ListOrder::SizeAsc,
        ListOrder::SizeDesc,
        ListOrder::SizeClass,
    ];

    /// Stable kebab-case name (used by the bindings and the UI).
    pub const fn name(self) -> &'static str {
        match self {
            ListOrder::Address => "address",
            ListOrder::Lifo => "lifo",
            ListOrder::Fifo => "fifo",
            ListOrder::SizeAsc => "size-asc",
            ListOrder::SizeDesc => "size-desc",
            ListOrder::SizeClass => "size-class",
        }
    }

    /// The order named `name` (see [`ListOrder::name`]).
    pub fn from_name(name: &str) -> Option<ListOrder> {
        Self::ALL.iter().copied().find(|o| o.name() == name)
    }

    /// The order `kind` keeps when none is asked for: address for first and
    /// next fit, size ascending (the size index) for best and worst fit,
    /// size classes for segregated fit.
    pub const fn default_for(kind: PolicyKind) -> ListOrder {
        match kind {
            PolicyKind::FirstFit | PolicyKind::NextFit => ListOrder::Address,
            PolicyKind::BestFit | PolicyKind::WorstFit => ListOrder::SizeAsc,
            PolicyKind::Segregated => ListOrder::SizeClass,
        }
    }

    /// Whether `kind` can keep its free list in this order: every order but
    /// size classes for the four one-list policies; only size classes for
    /// segregated fit.
    pub const fn suits(self, kind: PolicyKind) -> bool {
        matches!(kind, PolicyKind::Segregated) == matches!(self, ListOrder::SizeClass)
    }

    /// This order if `kind` can keep it, else `kind`'s default.
    pub const fn for_kind(order: Option<ListOrder>, kind: PolicyKind) -> ListOrder {
        match order {
            Some(o) if o.suits(kind) => o,
            _ => ListOrder::default_for(kind),
        }
    }
}

/// One free list of a policy, as [`FreeIndex::for_each_free`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreeList {
    /// Position of the list among the policy's non-empty lists (0, 1, ...).
    pub index: usize,
    /// Smallest block size the list may hold (0 for a policy's one list).
    pub min: usize,
    /// Largest block size the list may hold (`u32::MAX`, a header's largest
    /// size, for a policy's one list).
    pub max: usize,
}

impl FreeList {
    /// The one list of a one-list policy.
    pub const ONLY: FreeList = FreeList {
        index: 0,
        min: 0,
        max: u32::MAX as usize,
    };
}

/// A doubly linked list of free blocks (link 0 = next, link 1 = prev) kept in
/// one [`ListOrder`] (not [`ListOrder::SizeClass`]).
#[derive(Debug)]
pub struct OrderedList {
    /// First block in list order; `None` iff `len == 0`.
    head: Option<Block>,
    /// Last block in list order; `None` iff `len == 0`.
    tail: Option<Block>,
    /// Number of listed blocks.
    len: usize,
    /// Where blocks are inserted.
    order: ListOrder,
}

impl OrderedList {
    /// An empty list kept in `order`.
    pub const fn new(order: ListOrder) -> Self {
        OrderedList {
            head: None,
            tail: None,
            len: 0,
            order,
        }
    }

    /// The list's order.
    pub const fn order(&self) -> ListOrder {
        self.order
    }

    /// First block in list order.
    pub const fn head(&self) -> Option<Block> {
        self.head
    }

    /// Number of listed blocks.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts `b`, a free block of `size` bytes, where the order puts it.
    ///
    /// # Time complexity
    /// O(1) for LIFO and FIFO; O(n) for address and size orders.
    ///
    /// # Safety
    /// `b` is a free block with room for two links, not listed; every listed
    /// block is a free block with a readable header and links.
    pub unsafe fn insert(&mut self, b: Block, size: usize) {
        // SAFETY: listed blocks are readable (caller); the walk stops at
        // the first block that belongs after `b`.
        let next = unsafe {
            match self.order {
                ListOrder::Lifo => self.head,
                ListOrder::Fifo | ListOrder::SizeClass => None,
                ListOrder::Address => self.first_after(|c| c > b),
                ListOrder::SizeAsc => self.first_after(|c| c.size() > size),
                ListOrder::SizeDesc => self.first_after(|c| c.size() < size),
            }
        };
        // SAFETY: `next` is listed (or None); `b` has link room (caller).
        unsafe { self.link_before(b, next) }
    }

    /// The first listed block for which `after_b` holds.
    ///
    /// # Safety
    /// Listed blocks are readable.
    #[inline]
    unsafe fn first_after(&self, mut after_b: impl FnMut(Block) -> bool) -> Option<Block> {
        let mut cur = self.head;
        while let Some(c) = cur {
            if after_b(c) {
                return Some(c);
            }
            // SAFETY: listed blocks have valid links (caller).
            cur = unsafe { c.next_free() };
        }
        None
    }

    /// Links `b` right before `next` (at the end when `next` is `None`).
    ///
    /// # Safety
    /// `b` has room for two links and is not listed; `next` is listed.
    unsafe fn link_before(&mut self, b: Block, next: Option<Block>) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let prev = match next {
                Some(n) => n.prev_free(),
                None => self.tail,
            };
            b.set_next_free(next);
            b.set_prev_free(prev);
            match prev {
                Some(p) => p.set_next_free(Some(b)),
                None => self.head = Some(b),
            }
            match next {
                Some(n) => n.set_prev_free(Some(b)),
                None => self.tail = Some(b),
            }
        }
        self.len += 1;
    }

    /// Unlinks `b`. O(1).
    ///
    /// # Safety
    /// `b` is listed.
    pub unsafe fn remove(&mut self, b: Block) {
        debug_assert!(self.len > 0, "remove from an empty free list");
        // SAFETY: `b` and its neighbours are listed blocks (caller).
        unsafe {
            let (p, n) = (b.prev_free(), b.next_free());
            match p {
                Some(p) => p.set_next_free(n),
                None => {
                    debug_assert_eq!(self.head, Some(b), "block without prev is not the head");
                    self.head = n;
                }
            }
            match n {
                Some(n) => n.set_prev_free(p),
                None => {
                    debug_assert_eq!(self.tail, Some(b), "block without next is not the tail");
                    self.tail = p;
                }
            }
        }
        self.len -= 1;
    }

    /// Puts `new` in `old`'s place. Keeps the order only when `new` sorts
    /// where `old` did (address order, `new` and `old` in one free run with
    /// no listed block between them). O(1).
    ///
    /// # Safety
    /// `old` is listed; `new` is a free block with room for two links, not
    /// listed; `old`'s links are read before `new`'s are written.
    unsafe fn replace(&mut self, old: Block, new: Block) {
        if old == new {
            return;
        }
        // SAFETY: `old` and its neighbours are listed (caller).
        unsafe {
            let (p, n) = (old.prev_free(), old.next_free());
            new.set_prev_free(p);
            new.set_next_free(n);
            match p {
                Some(p) => p.set_next_free(Some(new)),
                None => self.head = Some(new),
            }
            match n {
                Some(n) => n.set_prev_free(Some(new)),
                None => self.tail = Some(new),
            }
        }
    }

    /// Whether `b` is listed. O(n).
    ///
    /// # Safety
    /// The list is well formed.
    pub unsafe fn contains(&self, b: Block) -> bool {
        let mut cur = self.head;
        for _ in 0..self.len {
            match cur {
                Some(c) if c == b => return true,
                // SAFETY: listed blocks have valid links.
                Some(c) => cur = unsafe { c.next_free() },
                None => return false,
            }
        }
        false
    }

    /// Calls `f` with every listed block, in list order.
    ///
    /// # Safety
    /// The list is well formed.
    pub unsafe fn for_each(&self, mut f: impl FnMut(Block)) {
        let mut cur = self.head;
        for _ in 0..self.len {
            let Some(c) = cur else { return };
            f(c);
            // SAFETY: listed blocks have valid links.
            cur = unsafe { c.next_free() };
        }
    }

    /// Checks the links both ways, the head and tail, the count, the free
    /// marks, and the order's invariant: addresses strictly increasing
    /// (address order), sizes not decreasing (size ascending) or not
    /// increasing (size descending); LIFO and FIFO lists only need
    /// consistent links.
    ///
    /// # Errors
    /// The first broken invariant.
    ///
    /// # Safety
    /// Blocks `ok` accepts are readable (see [`FreeIndex::check`]).
    pub unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        let order = self.order;
        let in_order = |p: Block, c: Block| {
            // SAFETY: both are listed blocks `ok` accepted (caller).
            let sorted = unsafe {
                match order {
                    ListOrder::Address => p < c,
                    ListOrder::SizeAsc => p.size() <= c.size(),
                    ListOrder::SizeDesc => p.size() >= c.size(),
                    ListOrder::Lifo | ListOrder::Fifo | ListOrder::SizeClass => true,
                }
            };
            sorted.then_some(()).ok_or(order_broken(order))
        };
        // SAFETY: forwarded to the caller.
        let last = unsafe { check_list(self.head, self.len, ok, in_order) }?;
        if self.tail != last {
            return Err(CheckError::new(last.map_or(0, Block::addr), "free list tail is not its last block"));
        }
        Ok(())
    }
}

/// What `check` says when a list is out of its order.
const fn order_broken(order: ListOrder) -> &'static str {
    match order {
        ListOrder::Address => "free list not in address order",
        ListOrder::SizeAsc => "free list not in ascending size order",
        _ => "free list not in descending size order",
    }
}

/// First, next, best or worst fit over one [`OrderedList`]. See the module
/// docs.
#[derive(Debug)]
pub struct Ordered {
    /// Which block a search takes (never [`PolicyKind::Segregated`]).
    fit: PolicyKind,
    list: OrderedList,
    /// Next fit: where the next search starts, a listed block or `None`
    /// (the head). Always `None` for the other fits.
    rover: Option<Block>,
    /// Best fit's [`Wilderness`] (the other fits over a list keep none).
    wild: Wilderness,
}

impl Ordered {
    /// An empty index: `kind`'s search over a list kept in `order`. Segregated
    /// fit has no one list: asked for it, this is first fit; size classes
    /// are not a one-list order: asked for it, the list is address-ordered.
    pub const fn with(kind: PolicyKind, order: ListOrder) -> Self {
        let fit = match kind {
            PolicyKind::Segregated => PolicyKind::FirstFit,
            k => k,
        };
        let order = match order {
            ListOrder::SizeClass => ListOrder::Address,
            o => o,
        };
        Ordered {
            fit,
            list: OrderedList::new(order),
            rover: None,
            wild: Wilderness::EMPTY,
        }
    }

    /// Walks the whole list for the smallest (`smallest`) or largest block
    /// that fits, the first in list order among equal sizes. Each block is
    /// visited in list order; one that fits but is beaten (then or later) is
    /// rejected as [`RejectReason::NotBest`], as the size index reports it.
    ///
    /// # Safety
    /// The list is well formed.
    unsafe fn extreme<O: Observer>(
        &self,
        smallest: bool,
        req: &Request,
        obs: &mut O,
        examined: &mut usize,
    ) -> Option<Fit> {
        let mut best: Option<(Fit, usize)> = None;
        let mut cur = self.list.head;
        while let Some(c) = cur {
            *examined += 1;
            // SAFETY: listed blocks have valid headers and links.
            let size = unsafe { c.size() };
            if O::ENABLED {
                obs.event(Event::Visit {
                    block: c.addr(),
                    size,
                });
            }
            match fits(c, size, req) {
                Err(reason) => {
                    if O::ENABLED {
                        obs.event(Event::Reject {
                            block: c.addr(),
                            size,
                            reason,
                        });
                    }
                }
                Ok(fit) => {
                    let better = match best {
                        None => true,
                        Some((_, bs)) => (smallest && size < bs) || (!smallest && size > bs),
                    };
                    let loser = if better {
                        best.replace((fit, size)).map(|(f, s)| (f.block, s))
                    } else {
                        Some((c, size))
                    };
                    if let (true, Some((lb, ls))) = (O::ENABLED, loser) {
                        obs.event(Event::Reject {
                            block: lb.addr(),
                            size: ls,
                            reason: RejectReason::NotBest,
                        });
                    }
                }
            }
            // SAFETY: as above.
            cur = unsafe { c.next_free() };
        }
        let (fit, size) = best?;
        if O::ENABLED {
            obs.event(Event::Choose {
                block: fit.block.addr(),
                size,
            });
        }
        Some(fit)
    }
}

impl Beside for Ordered {
    #[inline(always)]
    fn keeps(&self) -> bool {
        self.fit == PolicyKind::BestFit
    }
    #[inline(always)]
    fn wild(&mut self) -> &mut Wilderness {
        &mut self.wild
    }
    #[inline]
    unsafe fn plain_insert(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.insert(b, size) }
    }
    #[inline]
    unsafe fn plain_remove(&mut self, b: Block) {
        if self.rover == Some(b) {
            // SAFETY: `b` is listed, so its links are valid.
            self.rover = unsafe { b.next_free() };
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.list.remove(b) }
    }
    /// Under address order, `new` takes `old`'s place in O(1) (and next
    /// fit's rover follows it, as in [`NextFit`](super::NextFit)); under
    /// the other orders the heap removes `old` and inserts `new` where the
    /// order puts it.
    #[inline]
    unsafe fn plain_replace(&mut self, old: Block, new: Block, _new_size: usize) -> bool {
        if self.list.order != ListOrder::Address {
            return false;
        }
        if self.rover == Some(old) {
            self.rover = Some(new);
        }
        // SAFETY: the heap guarantees `new` takes `old`'s address position;
        // `replace` reads `old`'s links before writing `new`'s.
        unsafe { self.list.replace(old, new) };
        true
    }
}

impl FreeIndex for Ordered {
    const LINKS: usize = 2;
    const EMPTY: Self = Ordered::with(PolicyKind::FirstFit, ListOrder::Address);
    const KEEPS_TAIL: bool = true;
    #[inline]
    fn len(&self) -> usize {
        self.list.len + self.wild.len()
    }
    fn clear(&mut self) {
        *self = Self::with(self.fit, self.list.order);
    }
    #[inline(always)]
    fn is_tail(&self, b: Block) -> bool {
        self.wild.is(b)
    }
    #[inline]
    unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller; the header is written.
        unsafe { self.list.insert(b, b.size()) }
    }
    #[inline]
    unsafe fn insert_sized(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.insert(b, size) }
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
        self.wild.is(b) || unsafe { self.list.contains(b) }
    }
    /// The list in its order, then the wilderness, a list of its own.
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, mut f: F) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.for_each(|b| f(FreeList::ONLY, b)) };
        self.wild.for_each(usize::from(self.list.len > 0), f);
    }
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        // SAFETY: forwarded to the caller.
        unsafe {
            self.list.check(ok)?;
            self.wild.check(ok)?;
        }
        if !self.wild.is_empty() && self.fit != PolicyKind::BestFit {
            return Err(CheckError::new(0, "a wilderness kept by a fit other than best fit"));
        }
        if matches!(self.fit, PolicyKind::Segregated) {
            return Err(CheckError::new(
                0,
                "an ordered list policy set to segregated fit",
            ));
        }
        if let Some(r) = self.rover {
            // SAFETY: as above.
            if self.fit != PolicyKind::NextFit || !unsafe { self.list.contains(r) } {
                return Err(CheckError::new(
                    r.addr(),
                    "next-fit rover is not a listed free block",
                ));
            }
        }
        Ok(())
    }
}

impl Policy for Ordered {
    const KIND: Option<PolicyKind> = None;
    fn new(kind: PolicyKind) -> Self {
        Self::with(kind, ListOrder::default_for(kind))
    }
    fn with_order(kind: PolicyKind, order: ListOrder) -> Self {
        Self::with(kind, order)
    }
    #[inline]
    fn kind(&self) -> PolicyKind {
        self.fit
    }
    #[inline]
    fn list_order(&self) -> ListOrder {
        self.list.order
    }
    /// An ordered list is walked to insert and to search: no quick lists
    /// in front of it, whatever the fit.
    #[inline(always)]
    fn fast_index(&self) -> bool {
        false
    }
    #[inline]
    fn rover(&self) -> Option<Block> {
        match self.fit {
            PolicyKind::NextFit => self.rover.or(self.list.head),
            _ => None,
        }
    }
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        let mut examined = 0;
        let head = self.list.head;
        // SAFETY: the list is well formed and the rover listed or None
        // (trait contract).
        let fit = unsafe {
            match self.fit {
                PolicyKind::BestFit => self.extreme(true, req, obs, &mut examined),
                PolicyKind::WorstFit => self.extreme(false, req, obs, &mut examined),
                PolicyKind::NextFit => {
                    roving_search(head, &mut self.rover, req, obs, &mut examined)
                }
                _ => first_in_list(head, None, req, obs, &mut examined),
            }
        };
        // Best fit's wilderness only when no other block fits.
        let fit = fit.or_else(|| self.wild.fit(req, obs, &mut examined));
        Search { fit, examined }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testkit::Rng;
    use core::ptr::NonNull;
    use std::vec;
    use std::vec::Vec;

    const SLOTS: usize = 48;
    const STRIDE: usize = 64;

    /// Fake free blocks in a buffer: a header (any size: the list never
    /// reads past its links) and two link words per slot.
    struct Slots(Vec<u64>);

    impl Slots {
        fn new() -> Self {
            Slots(vec![0u64; SLOTS * STRIDE / 8])
        }
        fn block(&mut self, i: usize, size: usize) -> Block {
            let base = NonNull::new(self.0.as_mut_ptr().cast::<u8>()).unwrap();
            // SAFETY: slot `i` lies inside the buffer; a header and two
            // links fit in its 64 bytes.
            let b = Block::from_header(unsafe { base.add(i * STRIDE) });
            // SAFETY: as above.
            unsafe { b.set_header(Block::encode(size, false, true, false, 0)) };
            b
        }
    }

    /// Where the model puts a new block: the position in `model` (blocks
    /// with their sizes, in list order) before which it goes.
    fn model_position(order: ListOrder, model: &[(Block, usize)], b: Block, size: usize) -> usize {
        let after = |&(c, s): &(Block, usize)| match order {
            ListOrder::Lifo => true,
            ListOrder::Fifo | ListOrder::SizeClass => false,
            ListOrder::Address => c > b,
            ListOrder::SizeAsc => s > size,
            ListOrder::SizeDesc => s < size,
        };
        model.iter().position(after).unwrap_or(model.len())
    }

    /// Random inserts and removes in every order against a model list:
    /// after each step the list walks exactly the model, and `check` holds.
    #[test]
    fn every_order_matches_a_model() {
        for &order in &ListOrder::ALL[..5] {
            let mut rng = Rng::new(7 + order as u64);
            let mut slots = Slots::new();
            let mut list = OrderedList::new(order);
            let mut model: Vec<(Block, usize)> = Vec::new();
            let mut unlisted: Vec<usize> = (0..SLOTS).collect();
            for step in 0..if cfg!(miri) { 80 } else { 2000 } {
                if !unlisted.is_empty() && (model.is_empty() || rng.below(3) != 0) {
                    let i = unlisted.swap_remove(rng.below(unlisted.len()));
                    // Few distinct sizes: many ties.
                    let size = 32 + 16 * rng.below(6);
                    let b = slots.block(i, size);
                    let at = model_position(order, &model, b, size);
                    model.insert(at, (b, size));
                    // SAFETY: `b` is an unlisted slot block; listed blocks are slot blocks.
                    unsafe { list.insert(b, size) };
                } else {
                    let (b, _) = model.remove(rng.below(model.len()));
                    unlisted.push((b.addr() - slots.0.as_ptr().addr()) / STRIDE);
                    // SAFETY: `b` is listed.
                    unsafe { list.remove(b) };
                }
                let mut walked = Vec::new();
                // SAFETY: the list is well formed (checked next).
                unsafe {
                    list.check(&|_| true)
                        .unwrap_or_else(|e| panic!("{order:?} step {step}: {e:?}"));
                    list.for_each(|b| walked.push(b));
                }
                let want: Vec<Block> = model.iter().map(|&(b, _)| b).collect();
                assert_eq!(walked, want, "{order:?} step {step}");
                assert_eq!(list.len(), model.len());
            }
        }
    }

    /// `check` reports a list out of its order, and a wrong tail.
    #[test]
    fn check_catches_a_broken_order() {
        for (order, broken) in [
            (ListOrder::Address, "address order"),
            (ListOrder::SizeAsc, "ascending size"),
            (ListOrder::SizeDesc, "descending size"),
        ] {
            let mut slots = Slots::new();
            let mut list = OrderedList::new(order);
            let blocks = [slots.block(0, 32), slots.block(1, 64), slots.block(2, 96)];
            // SAFETY: slot blocks, each inserted once.
            unsafe {
                for b in blocks {
                    list.insert(b, b.size());
                }
                list.check(&|_| true).unwrap();
                // Move the head to the back: out of every sorted order.
                let head = list.head().unwrap();
                list.remove(head);
                list.link_before(head, None);
                let e = list.check(&|_| true).unwrap_err();
                assert!(std::format!("{e:?}").contains(broken), "{order:?}: {e:?}");
            }
        }
        let mut slots = Slots::new();
        let mut list = OrderedList::new(ListOrder::Fifo);
        let (a, b) = (slots.block(0, 32), slots.block(1, 32));
        // SAFETY: slot blocks.
        unsafe {
            list.insert(a, 32);
            list.insert(b, 32);
            list.check(&|_| true).unwrap();
            list.tail = Some(a);
            assert!(
                list.check(&|_| true).is_err(),
                "a tail that is not the last block"
            );
        }
    }
}
