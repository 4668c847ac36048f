//! First fit: one doubly linked free list kept in address order; a search
//! walks it from the lowest address and takes the first block that fits.
//!
//! **Time complexity:** alloc O(n) and free O(n) in the number of free
//! blocks (free walks the list to find the insertion point; merging with a
//! neighbour replaces it in place in O(1)).
//!
//! **Trade-off:** low fragmentation, and used memory packs toward low
//! addresses (the classic result), but it slows down as free blocks pile up,
//! and small splinters collect at the front of the list where every search
//! has to walk past them.

use super::{FreeIndex, FreeList, Policy, PolicyKind, Search};
use crate::block::{fits, Block, Request};
use crate::errors::CheckError;
use crate::events::{Event, Observer};

/// An address-ordered doubly linked list of free blocks (links 0 = next and
/// 1 = prev). Shared by [`FirstFit`] and [`super::NextFit`].
#[derive(Debug)]
pub struct AddrList {
    /// Lowest-addressed free block; `None` iff `len == 0`.
    pub(crate) head: Option<Block>,
    /// Number of blocks in the list.
    pub(crate) len: usize,
}

impl AddrList {
    /// The empty list.
    pub const EMPTY: Self = AddrList { head: None, len: 0 };

    /// Lowest-addressed block.
    #[inline]
    pub fn head(&self) -> Option<Block> {
        self.head
    }

    /// Inserts `b` at its address position. O(n).
    ///
    /// # Safety
    /// `b` is a free block with room for two links, not in the list.
    pub unsafe fn insert(&mut self, b: Block) {
        // SAFETY: all blocks in the list are free blocks with two links.
        unsafe {
            let mut prev: Option<Block> = None;
            let mut cur = self.head;
            while let Some(c) = cur {
                if c > b {
                    break;
                }
                prev = Some(c);
                cur = c.next_free();
            }
            self.link_between(b, prev, cur);
        }
    }

    /// Inserts `b` at its address position, walking from `hint` (a listed
    /// block) forwards or backwards instead of from the head: O(distance).
    ///
    /// # Safety
    /// As [`AddrList::insert`]; `hint` is in the list.
    pub unsafe fn insert_near(&mut self, b: Block, hint: Block) {
        // SAFETY: all blocks in the list are free blocks with two links.
        unsafe {
            let (mut prev, mut next) = (Some(hint), hint.next_free());
            if hint > b {
                // Backwards until the block before is below `b`.
                (prev, next) = (hint.prev_free(), Some(hint));
                while let Some(p) = prev.filter(|&p| p > b) {
                    (prev, next) = (p.prev_free(), Some(p));
                }
            } else {
                while let Some(n) = next.filter(|&n| n < b) {
                    (prev, next) = (Some(n), n.next_free());
                }
            }
            self.link_between(b, prev, next);
        }
    }

    /// Links `b` between `prev` (or the head) and `next`, adjacent in the
    /// list with `prev < b < next`.
    ///
    /// # Safety
    /// `b` has room for two links and is not listed; `prev` and `next` are
    /// listed (or `None` at the ends).
    #[inline]
    unsafe fn link_between(&mut self, b: Block, prev: Option<Block>, next: Option<Block>) {
        // SAFETY: forwarded to the caller.
        unsafe {
            b.set_next_free(next);
            b.set_prev_free(prev);
            match prev {
                Some(p) => p.set_next_free(Some(b)),
                None => self.head = Some(b),
            }
            if let Some(n) = next {
                n.set_prev_free(Some(b));
            }
        }
        self.len += 1;
    }

    /// Unlinks `b`. O(1).
    ///
    /// # Safety
    /// `b` is in the list.
    pub unsafe fn remove(&mut self, b: Block) {
        debug_assert!(self.len > 0, "remove from an empty free list");
        // SAFETY: `b` and its neighbours are listed free blocks.
        unsafe {
            let (p, n) = (b.prev_free(), b.next_free());
            match p {
                Some(p) => p.set_next_free(n),
                None => {
                    debug_assert_eq!(self.head, Some(b), "block without prev is not the head");
                    self.head = n;
                }
            }
            if let Some(n) = n {
                n.set_prev_free(p);
            }
        }
        self.len -= 1;
    }

    /// Puts `new` where `old` is (same address position). O(1).
    ///
    /// # Safety
    /// `old` is in the list; `new` is a free block with room for two links
    /// and no listed block lies between `old` and `new`.
    pub unsafe fn replace(&mut self, old: Block, new: Block) {
        if old == new {
            return;
        }
        // SAFETY: `old` and its neighbours are listed; `new` has link room.
        unsafe {
            let (p, n) = (old.prev_free(), old.next_free());
            new.set_prev_free(p);
            new.set_next_free(n);
            match p {
                Some(p) => p.set_next_free(Some(new)),
                None => self.head = Some(new),
            }
            if let Some(n) = n {
                n.set_prev_free(Some(new));
            }
        }
    }

    /// Walks from `start` (inclusive) up to `stop` (exclusive, or the end),
    /// returning the first fit. Adds to `examined`.
    ///
    /// # Safety
    /// `start` and `stop` are listed (or `None`).
    #[inline]
    pub unsafe fn search<O: Observer>(
        &self,
        start: Option<Block>,
        stop: Option<Block>,
        req: &Request,
        obs: &mut O,
        examined: &mut usize,
    ) -> Option<crate::block::Fit> {
        // SAFETY: forwarded to the caller.
        unsafe { first_in_list(start, stop, req, obs, examined) }
    }

    /// Calls `f` with every listed block, lowest address first.
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

    /// Whether `b` is listed. O(n).
    ///
    /// # Safety
    /// The list is well formed.
    pub unsafe fn contains(&self, b: Block) -> bool {
        let mut cur = self.head;
        let mut steps = 0;
        while let Some(c) = cur {
            if c == b {
                return true;
            }
            if c > b || steps > self.len {
                return false;
            }
            steps += 1;
            // SAFETY: listed blocks have valid links.
            cur = unsafe { c.next_free() };
        }
        false
    }

    /// Checks links, order, count and free marks.
    ///
    /// # Errors
    /// The first broken invariant.
    ///
    /// # Safety
    /// Blocks `ok` accepts are readable (see [`FreeIndex::check`]).
    pub unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        // SAFETY: forwarded to the caller.
        unsafe { check_list(self.head, self.len, ok, |p, c| (p < c).then_some(()).ok_or("free list not in address order")) }.map(|_| ())
    }
}

/// Walks a doubly linked free list from `head`: at most `len` blocks (a
/// cycle stops there), each accepted by `ok`, free, with a `prev` link to
/// the one before, and `in_order(prev, block)` for each pair (its `Err` is
/// the message); exactly `len` of them. Returns the last block.
///
/// # Errors
/// The first broken invariant.
///
/// # Safety
/// Blocks `ok` accepts are readable (see [`FreeIndex::check`]); so are
/// those `in_order` is given.
pub(super) unsafe fn check_list(head: Option<Block>, len: usize, ok: &dyn Fn(Block) -> bool, in_order: impl Fn(Block, Block) -> Result<(), &'static str>) -> Result<Option<Block>, CheckError> {
    let mut prev: Option<Block> = None;
    let mut cur = head;
    let mut n = 0;
    while let Some(c) = cur {
        n += 1;
        if n > len {
            return Err(CheckError::new(c.addr(), "free list longer than its count (cycle?)"));
        }
        if !ok(c) {
            return Err(CheckError::new(c.addr(), "free-list link points outside the heap's blocks"));
        }
        // SAFETY: listed blocks are readable (caller); checked one by one.
        unsafe {
            if c.is_used() {
                return Err(CheckError::new(c.addr(), "free list holds a used block"));
            }
            if c.prev_free() != prev {
                return Err(CheckError::new(c.addr(), "free list prev link does not match"));
            }
            if let Some(p) = prev {
                in_order(p, c).map_err(|why| CheckError::new(c.addr(), why))?;
            }
            prev = Some(c);
            cur = c.next_free();
        }
    }
    if n != len {
        return Err(CheckError::new(0, "free list count does not match its length"));
    }
    Ok(prev)
}

/// First fit over an address-ordered free list. See the module docs.
#[derive(Debug)]
pub struct FirstFit {
    list: AddrList,
}

impl FreeIndex for FirstFit {
    const LINKS: usize = 2;
    const EMPTY: Self = FirstFit {
        list: AddrList::EMPTY,
    };
    #[inline]
    fn len(&self) -> usize {
        self.list.len
    }
    fn clear(&mut self) {
        self.list = AddrList::EMPTY;
    }
    #[inline]
    unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.insert(b) }
    }
    #[inline]
    unsafe fn remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.remove(b) }
    }
    #[inline]
    unsafe fn try_replace(&mut self, old: Block, new: Block, _new_size: usize) -> bool {
        // SAFETY: the heap guarantees `new` takes `old`'s address position.
        unsafe { self.list.replace(old, new) };
        true
    }
    unsafe fn contains(&self, b: Block) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.contains(b) }
    }
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, mut f: F) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.for_each(|b| f(FreeList::ONLY, b)) }
    }
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.check(ok) }
    }
}

impl Policy for FirstFit {
    const KIND: Option<PolicyKind> = Some(PolicyKind::FirstFit);
    #[inline]
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        let mut examined = 0;
        // SAFETY: the list is well formed (trait contract).
        let fit = unsafe {
            self.list
                .search(self.list.head, None, req, obs, &mut examined)
        };
        Search { fit, examined }
    }
}

/// Walks a free list by its next links from `start` (inclusive) up to `stop`
/// (exclusive, or the end), reporting each block to the observer, and
/// returns the first fit. Adds to `examined`. Shared by every list kept in
/// some order: the address-ordered list here and [`super::Ordered`].
///
/// # Safety
/// `start` and `stop` are blocks of one well-formed list (or `None`).
#[inline]
pub(super) unsafe fn first_in_list<O: Observer>(
    start: Option<Block>,
    stop: Option<Block>,
    req: &Request,
    obs: &mut O,
    examined: &mut usize,
) -> Option<crate::block::Fit> {
    let mut cur = start;
    while let Some(c) = cur {
        if Some(c) == stop {
            break;
        }
        *examined += 1;
        // SAFETY: listed blocks are free blocks with valid headers and links.
        let size = unsafe { c.size() };
        if O::ENABLED {
            obs.event(Event::Visit {
                block: c.addr(),
                size,
            });
        }
        match fits(c, size, req) {
            Ok(fit) => {
                if O::ENABLED {
                    obs.event(Event::Choose {
                        block: c.addr(),
                        size,
                    });
                }
                return Some(fit);
            }
            Err(reason) => {
                if O::ENABLED {
                    obs.event(Event::Reject {
                        block: c.addr(),
                        size,
                        reason,
                    });
                }
            }
        }
        // SAFETY: as above.
        cur = unsafe { c.next_free() };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testkit::Rng;
    use core::ptr::NonNull;
    use std::vec;
    use std::vec::Vec;

    /// `insert_near` from any listed hint, before or after the block, builds
    /// the same address-ordered list as `insert` from the head; removing in
    /// random order keeps it well formed.
    #[test]
    fn insert_near_keeps_address_order() {
        const SLOTS: usize = 64;
        const STRIDE: usize = 64;
        let mut buf = vec![0u64; SLOTS * STRIDE / 8];
        let base = NonNull::new(buf.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: every slot lies inside `buf`, 64 bytes apart: a header and
        // two links fit.
        let block = |i: usize| Block::from_header(unsafe { base.add(i * STRIDE) });
        let mut rng = Rng::new(9);
        for round in 0..if cfg!(miri) { 3 } else { 50 } {
            let mut list = AddrList::EMPTY;
            let mut listed: Vec<usize> = Vec::new();
            let mut order: Vec<usize> = (0..SLOTS).collect();
            for i in (1..SLOTS).rev() {
                order.swap(i, rng.below(i + 1));
            }
            for &i in &order {
                let b = block(i);
                // SAFETY: slot `i` is unlisted; the header makes it a free block.
                unsafe {
                    b.set_header(Block::encode(STRIDE, false, true, false, 0));
                    match listed.len() {
                        0 => list.insert(b),
                        n => list.insert_near(b, block(listed[rng.below(n)])),
                    }
                    list.check(&|_| true)
                        .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                }
                listed.push(i);
            }
            // SAFETY: the list is well formed (checked above).
            unsafe {
                let mut cur = list.head();
                for i in 0..SLOTS {
                    assert_eq!(cur, Some(block(i)), "round {round}: slot {i} out of place");
                    cur = cur.unwrap().next_free();
                }
                while !listed.is_empty() {
                    let i = listed.swap_remove(rng.below(listed.len()));
                    list.remove(block(i));
                    list.check(&|_| true).unwrap();
                }
            }
            assert_eq!(list.len, 0);
        }
    }
}
