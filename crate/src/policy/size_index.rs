//! A size-ordered index of free blocks, shared by best fit and worst fit:
//! exact-size bins for small blocks, bitwise tries for large ones.
//!
//! The idea is dlmalloc's ("small bins" and "tree bins"); the code is ours.
//!
//! ```text
//!  small bins: one FIFO ring per exact size (8-byte steps below TREE_MIN)
//!
//!   small_map  0 0 0 1 0 1 1 0 ...        bit i set iff small[i] is some
//!                    |   | |
//!   small[3] --> [24 B] ring          small[6] --> [48 B] <-> [48 B] <-> (ring)
//!
//!  tree bins: sizes >= TREE_MIN, two bins per power of two, one trie each
//!
//!   tree_map   1 0 0 1 ...                bit i set iff trees[i] is some
//!              |
//!   trees[0] (sizes 256..384): a bitwise trie on size bits 6..3
//!
//!                 [304]               each node: any size with the node's
//!                /     \              path as its prefix; child 0 holds
//!            [264]     [352]          sizes whose next bit is 0, child 1
//!                \         \          sizes whose next bit is 1
//!               [280]      [376] <-> [376] <-> [376]   equal sizes: a FIFO
//!                                                      ring on the tree node
//! ```
//!
//! **Links.** Every free block uses links 0 and 1 (`NEXT`, `PREV`) for its
//! ring of equal-size blocks, so the minimum block stays at two link words.
//! Blocks of at least [`TREE_MIN`] bytes, which have room to spare, also use
//! link 2 (parent) and links 3 and 4 (child 0 and child 1) while they are
//! tree nodes. Ring members that are not tree nodes have parent `None` and
//! are not a root.
//!
//! **Order among equal sizes.** Each ring is FIFO: the block freed first
//! comes first (a tree node is always the oldest block of its ring; removing
//! it promotes the next one). So searches that tie on size take the block
//! that has been free longest.
//!
//! # Time complexity
//! With `B` = bits of a block size (32): insert, remove and a lower-bound or
//! maximum query are O(B) (a trie descent of at most `B - 5` levels plus a
//! bitmap scan); small blocks are O(1). Independent of the number of free
//! blocks. `contains` is O(B + blocks of that size).

use crate::block::{Block, FOOTER, HEADER, WORD};
use crate::errors::CheckError;
use crate::events::{Event, NoObserver, Observer, RejectReason};

/// Free blocks below this many bytes live in exact-size bins; blocks of at
/// least this size live in the tries (and use five link words).
pub const TREE_MIN: usize = 1 << TREE_MIN_LOG;
const TREE_MIN_LOG: u32 = 8;
/// Block sizes are multiples of `1 << UNIT_LOG` bytes.
const UNIT_LOG: u32 = 3;
/// The size step between two small bins.
const UNIT: usize = 1 << UNIT_LOG;
/// Number of small bins: one per 8-byte size below [`TREE_MIN`].
const SMALL_BINS: usize = TREE_MIN >> UNIT_LOG;
/// Number of tree bins: two per power of two from `2^8` up to `2^31`
/// (block sizes fit in the header's 32 bits).
const TREE_BINS: usize = 2 * (32 - TREE_MIN_LOG as usize);

/// Link index of a tree node's parent.
const PARENT: usize = 2;
/// Link index of a tree node's child 0; child 1 is the next link.
const CHILD: usize = 3;

// A tree node needs header + five links + footer.
const _: () = assert!(TREE_MIN >= HEADER + (CHILD + 2) * WORD + FOOTER);
const _: () = assert!(SMALL_BINS <= 32 && TREE_BINS <= 64);

/// Index of the highest set bit of `s` (> 0).
#[inline]
fn log2(s: usize) -> u32 {
    debug_assert!(s != 0, "log2 of zero");
    usize::BITS - 1 - s.leading_zeros()
}

/// The tree bin of a size of at least [`TREE_MIN`]: two bins per power of
/// two, split by the bit below the highest.
#[inline]
fn tree_bin(size: usize) -> usize {
    debug_assert!(size >= TREE_MIN, "size {size} below the tree range");
    let t = log2(size);
    (((t - TREE_MIN_LOG) << 1) as usize) | ((size >> (t - 1)) & 1)
}

/// The first size bit the trie of bin `idx` branches on: the bit below the
/// two bits every size in the bin shares.
#[inline]
fn top_shift(idx: usize) -> u32 {
    (idx >> 1) as u32 + TREE_MIN_LOG - 2
}

/// Smallest size in tree bin `idx`.
#[inline]
fn bin_floor(idx: usize) -> usize {
    let t = (idx >> 1) as u32 + TREE_MIN_LOG;
    (1usize << t) | ((idx & 1) << (t - 1))
}

// ---- link helpers (all through `Block` accessors) ----------------------

/// Next block of `b`'s ring (always some: a ring is circular).
///
/// # Safety
/// `b` is an indexed block.
#[inline]
unsafe fn ring_next(b: Block) -> Block {
    // SAFETY: indexed blocks have their ring links written.
    let n = unsafe { b.next_free() };
    debug_assert!(n.is_some(), "ring link missing at {b:?}");
    n.unwrap_or(b)
}

/// Previous block of `b`'s ring.
///
/// # Safety
/// `b` is an indexed block.
#[inline]
unsafe fn ring_prev(b: Block) -> Block {
    // SAFETY: indexed blocks have their ring links written.
    let p = unsafe { b.prev_free() };
    debug_assert!(p.is_some(), "ring link missing at {b:?}");
    p.unwrap_or(b)
}

/// Makes `b` a ring of one.
///
/// # Safety
/// `b` is a free block with room for two links.
#[inline]
unsafe fn ring_single(b: Block) {
    // SAFETY: forwarded to the caller.
    unsafe {
        b.set_next_free(Some(b));
        b.set_prev_free(Some(b));
    }
}

/// Inserts `b` just before `at`, i.e. at the tail of the ring whose oldest
/// block is `at`.
///
/// # Safety
/// `at` is in a ring; `b` is a free block with room for two links.
#[inline]
unsafe fn ring_push_back(at: Block, b: Block) {
    // SAFETY: `at` and its predecessor are ring members; `b` has link room.
    unsafe {
        let tail = ring_prev(at);
        b.set_next_free(Some(at));
        b.set_prev_free(Some(tail));
        tail.set_next_free(Some(b));
        at.set_prev_free(Some(b));
    }
}

/// Unlinks `b` from its ring; returns the block after it, or `None` when
/// `b` was alone.
///
/// # Safety
/// `b` is in a ring.
#[inline]
unsafe fn ring_unlink(b: Block) -> Option<Block> {
    // SAFETY: `b` and its neighbours are ring members.
    unsafe {
        let n = ring_next(b);
        if n == b {
            return None;
        }
        let p = ring_prev(b);
        p.set_next_free(Some(n));
        n.set_prev_free(Some(p));
        Some(n)
    }
}

/// A tree node's parent (`None` for a root and for ring members that are
/// not tree nodes).
///
/// # Safety
/// `b` is an indexed block of at least [`TREE_MIN`] bytes.
#[inline]
unsafe fn parent(b: Block) -> Option<Block> {
    // SAFETY: forwarded to the caller.
    unsafe { b.link(PARENT) }
}

/// A tree node's child `dir` (0 or 1).
///
/// # Safety
/// `b` is a tree node.
#[inline]
unsafe fn child(b: Block, dir: usize) -> Option<Block> {
    debug_assert!(dir < 2, "child direction {dir}");
    // SAFETY: forwarded to the caller.
    unsafe { b.link(CHILD + dir) }
}

/// Sets a tree node's child `dir`.
///
/// # Safety
/// `b` is a block of at least [`TREE_MIN`] bytes.
#[inline]
unsafe fn set_child(b: Block, dir: usize, c: Option<Block>) {
    debug_assert!(dir < 2, "child direction {dir}");
    // SAFETY: forwarded to the caller.
    unsafe { b.set_link(CHILD + dir, c) }
}

// ---- events -------------------------------------------------------------

/// Reports a block the search looked at and rejected as too small.
#[inline]
pub(super) fn report_too_small<O: Observer>(obs: &mut O, b: Block, size: usize) {
    if O::ENABLED {
        obs.event(Event::Visit { block: b.addr(), size });
        obs.event(Event::Reject { block: b.addr(), size, reason: RejectReason::TooSmall });
    }
}

/// A block the search compared and then passed over because a better one
/// (smaller for best fit, larger for worst fit) was found: counted in
/// `examined`, reported as a visit rejected with [`RejectReason::NotBest`].
#[inline]
fn passed_over<O: Observer>(obs: &mut O, b: Block, size: usize) {
    if O::ENABLED {
        obs.event(Event::Visit { block: b.addr(), size });
        obs.event(Event::Reject { block: b.addr(), size, reason: RejectReason::NotBest });
    }
}

/// A candidate: a block and its size.
type Cand = Option<(Block, usize)>;

/// Keeps the better of `best` and (`b`, `size`): the smaller when `min`,
/// else the larger; ties keep `best` (found first, so older or nearer).
#[inline]
fn keep<O: Observer>(best: &mut Cand, b: Block, size: usize, min: bool, obs: &mut O) {
    match *best {
        Some((ob, os)) if (min && size < os) || (!min && size > os) => {
            passed_over(obs, ob, os);
            *best = Some((b, size));
        }
        Some(_) => passed_over(obs, b, size),
        None => *best = Some((b, size)),
    }
}

/// Free blocks indexed by size. See the module docs.
#[derive(Debug)]
pub struct SizeIndex {
    /// Bit `i` is set iff `small[i]` is some.
    small_map: u32,
    /// `small[i]`: the oldest block of the ring of free blocks of exactly
    /// `i * 8` bytes (sizes below [`TREE_MIN`]).
    small: [Option<Block>; SMALL_BINS],
    /// Bit `i` is set iff `trees[i]` is some.
    tree_map: u64,
    /// `trees[i]`: root of the trie of free blocks whose size has bin `i`
    /// (see `tree_bin`); the root's parent link is `None`.
    trees: [Option<Block>; TREE_BINS],
    /// Number of indexed blocks (ring members included).
    len: usize,
}

impl SizeIndex {
    /// The empty index.
    pub const EMPTY: Self = SizeIndex {
        small_map: 0,
        small: [None; SMALL_BINS],
        tree_map: 0,
        trees: [None; TREE_BINS],
        len: 0,
    };

    /// Number of indexed blocks.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no block is indexed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds free block `b` (header written, not indexed).
    ///
    /// # Time complexity
    /// O(1) below [`TREE_MIN`], else O(B).
    ///
    /// # Safety
    /// `b` is a free block of this heap with room for two links (five when
    /// its size is at least [`TREE_MIN`]), not in the index.
    #[inline]
    pub unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.insert_sized(b, b.size()) }
    }

    /// Adds free block `b` under `size`, without reading its header (which
    /// may not be written yet).
    ///
    /// # Safety
    /// As [`SizeIndex::insert`]; `size` is the size `b`'s header has (or will
    /// have before any other index operation).
    #[inline]
    pub unsafe fn insert_sized(&mut self, b: Block, size: usize) {
        debug_assert!(size.is_multiple_of(UNIT) && size > 0, "bad free block size {size} at {b:?}");
        if size < TREE_MIN {
            let i = size >> UNIT_LOG;
            // SAFETY: `b` has room for two links; the bin's head is indexed.
            unsafe {
                match self.small[i] {
                    Some(h) => ring_push_back(h, b),
                    None => {
                        ring_single(b);
                        self.small[i] = Some(b);
                        self.small_map |= 1 << i;
                    }
                }
            }
        } else {
            // SAFETY: forwarded to the caller.
            unsafe { self.tree_insert(b, size) };
        }
        self.len += 1;
    }

    /// # Safety
    /// As [`SizeIndex::insert`], and `size` is `b`'s size (≥ [`TREE_MIN`]).
    unsafe fn tree_insert(&mut self, b: Block, size: usize) {
        let idx = tree_bin(size);
        // SAFETY: `b` has room for five links; every tree node reached from
        // a root is an indexed block of at least TREE_MIN bytes.
        unsafe {
            set_child(b, 0, None);
            set_child(b, 1, None);
            let Some(mut node) = self.trees[idx] else {
                b.set_link(PARENT, None);
                ring_single(b);
                self.trees[idx] = Some(b);
                self.tree_map |= 1 << idx;
                return;
            };
            let mut shift = top_shift(idx);
            loop {
                if node.size() == size {
                    // Same size: join the node's ring as a non-tree member.
                    b.set_link(PARENT, None);
                    ring_push_back(node, b);
                    return;
                }
                debug_assert!(shift >= UNIT_LOG, "trie deeper than the size bits at {node:?}");
                let dir = (size >> shift) & 1;
                match child(node, dir) {
                    Some(c) => {
                        node = c;
                        shift = shift.wrapping_sub(1);
                    }
                    None => {
                        set_child(node, dir, Some(b));
                        b.set_link(PARENT, Some(node));
                        ring_single(b);
                        return;
                    }
                }
            }
        }
    }

    /// Replaces indexed `old` by `new` of `new_size` bytes (see
    /// [`super::FreeIndex::try_replace`]): `old` is removed first, then `new`
    /// inserted under `new_size`, so the two may overlap.
    ///
    /// # Time complexity
    /// As a remove and an insert.
    ///
    /// # Safety
    /// `old` is indexed with its header unchanged; `new` is a free block with
    /// the link room `new_size` calls for, not indexed.
    #[inline]
    pub unsafe fn replace(&mut self, old: Block, new: Block, new_size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe {
            self.remove(old);
            self.insert_sized(new, new_size);
        }
    }

    /// Removes `b` (indexed, header unchanged since insert).
    ///
    /// # Time complexity
    /// O(1) below [`TREE_MIN`] or for a ring member, else O(B).
    ///
    /// # Safety
    /// `b` is in this index.
    #[inline]
    pub unsafe fn remove(&mut self, b: Block) {
        debug_assert!(self.len > 0, "remove from an empty size index");
        // SAFETY: indexed blocks have valid headers.
        let size = unsafe { b.size() };
        if size < TREE_MIN {
            let i = size >> UNIT_LOG;
            // SAFETY: `b` is in the ring of bin `i`.
            let n = unsafe { ring_unlink(b) };
            if self.small[i] == Some(b) {
                self.small[i] = n;
                if n.is_none() {
                    self.small_map &= !(1 << i);
                }
            }
        } else {
            // SAFETY: forwarded to the caller.
            unsafe { self.tree_remove(b, size) };
        }
        self.len -= 1;
    }

    /// # Safety
    /// `b` is indexed and `size` is its size (≥ [`TREE_MIN`]).
    unsafe fn tree_remove(&mut self, b: Block, size: usize) {
        let idx = tree_bin(size);
        // SAFETY: `b` and every block reached from it are indexed blocks of
        // at least TREE_MIN bytes with their links written.
        unsafe {
            let p = parent(b);
            if p.is_none() && self.trees[idx] != Some(b) {
                // A ring member that is not a tree node.
                ring_unlink(b);
                return;
            }
            // `b` is a tree node: promote the next (oldest) block of its
            // ring, or else a leaf from its subtree, into its place.
            let repl = match ring_unlink(b) {
                Some(n) => Some(n),
                None => Self::take_leaf(b),
            };
            if let Some(r) = repl {
                for dir in 0..2 {
                    let c = child(b, dir);
                    set_child(r, dir, c);
                    if let Some(c) = c {
                        c.set_link(PARENT, Some(r));
                    }
                }
                r.set_link(PARENT, p);
            }
            match p {
                Some(p) => {
                    let dir = usize::from(child(p, 1) == Some(b));
                    debug_assert!(child(p, dir) == Some(b), "tree parent does not point back to {b:?}");
                    set_child(p, dir, repl);
                }
                None => {
                    self.trees[idx] = repl;
                    if repl.is_none() {
                        self.tree_map &= !(1 << idx);
                    }
                }
            }
        }
    }

    /// Detaches and returns a leaf of `b`'s subtree (not `b`), if any. Any
    /// descendant shares the prefix of `b`'s position, so it can take `b`'s
    /// place.
    ///
    /// # Safety
    /// `b` is a tree node.
    unsafe fn take_leaf(b: Block) -> Option<Block> {
        // SAFETY: tree nodes and their descendants have five links.
        unsafe {
            let mut r = child(b, 1).or(child(b, 0))?;
            while let Some(c) = child(r, 1).or(child(r, 0)) {
                r = c;
            }
            let rp = parent(r);
            debug_assert!(rp.is_some(), "descendant without a parent");
            if let Some(rp) = rp {
                let dir = usize::from(child(rp, 1) == Some(r));
                set_child(rp, dir, None);
            }
            Some(r)
        }
    }

    /// The oldest block of the smallest size of at least `s` (a multiple of
    /// 8), with its size. Adds every block compared to `examined`; reports
    /// blocks rejected as too small on the way.
    ///
    /// # Time complexity
    /// O(B).
    ///
    /// # Safety
    /// The index is well formed.
    pub unsafe fn lower_bound<O: Observer>(&self, s: usize, obs: &mut O, examined: &mut usize) -> Cand {
        debug_assert!(s.is_multiple_of(UNIT), "lower_bound of unaligned size {s}");
        if s < TREE_MIN {
            let bits = self.small_map & (u32::MAX << (s >> UNIT_LOG));
            if bits != 0 {
                let i = bits.trailing_zeros() as usize;
                *examined += 1;
                return self.small[i].map(|b| (b, i << UNIT_LOG));
            }
            // SAFETY: forwarded to the caller.
            return unsafe { self.tree_lower_bound(TREE_MIN, obs, examined) };
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.tree_lower_bound(s, obs, examined) }
    }

    /// # Safety
    /// The index is well formed; `s >= TREE_MIN`.
    unsafe fn tree_lower_bound<O: Observer>(&self, s: usize, obs: &mut O, examined: &mut usize) -> Cand {
        let idx = tree_bin(s);
        let mut best: Cand = None;
        if let Some(root) = self.trees[idx] {
            // Walk the path of `s`. Every size >= s in this trie is either
            // on the path, or in a child-1 subtree hanging off the path where
            // `s` goes to child 0; the deepest such subtree holds the
            // smallest of those.
            let mut deeper: Option<Block> = None;
            let mut node = root;
            let mut shift = top_shift(idx);
            // SAFETY: trie nodes are indexed blocks with five links.
            unsafe {
                loop {
                    let ns = node.size();
                    *examined += 1;
                    if ns < s {
                        report_too_small(obs, node, ns);
                    } else {
                        keep(&mut best, node, ns, true, obs);
                        if ns == s {
                            return best;
                        }
                    }
                    debug_assert!(shift >= UNIT_LOG, "trie deeper than the size bits at {node:?}");
                    let dir = (s >> shift) & 1;
                    if dir == 0 {
                        if let Some(c1) = child(node, 1) {
                            deeper = Some(c1);
                        }
                    }
                    match child(node, dir) {
                        Some(c) => {
                            node = c;
                            shift = shift.wrapping_sub(1);
                        }
                        None => break,
                    }
                }
                if let Some(d) = deeper {
                    self.subtree_extreme(d, true, &mut best, obs, examined);
                }
            }
            if best.is_some() {
                return best;
            }
        }
        // Nothing here: the smallest block of the next non-empty bin.
        let above = (self.tree_map & (u64::MAX << idx)) & !(1u64 << idx);
        if above != 0 {
            let j = above.trailing_zeros() as usize;
            if let Some(root) = self.trees[j] {
                // SAFETY: as above.
                unsafe { self.subtree_extreme(root, true, &mut best, obs, examined) };
            }
        }
        best
    }

    /// Folds the smallest (`min`) or largest size of the subtree at `node`
    /// into `best`. Walks one path: the node itself, then child 0 (for
    /// `min`) when present, else child 1 (and the mirror for the maximum).
    ///
    /// # Safety
    /// `node` is a tree node of a well-formed trie.
    unsafe fn subtree_extreme<O: Observer>(&self, node: Block, min: bool, best: &mut Cand, obs: &mut O, examined: &mut usize) {
        let (first, second) = if min { (0, 1) } else { (1, 0) };
        let mut cur = Some(node);
        while let Some(n) = cur {
            // SAFETY: trie nodes are indexed blocks with five links.
            unsafe {
                *examined += 1;
                keep(best, n, n.size(), min, obs);
                cur = child(n, first).or(child(n, second));
            }
        }
    }

    /// The oldest block of the largest size, with its size.
    ///
    /// # Time complexity
    /// O(B).
    ///
    /// # Safety
    /// The index is well formed.
    pub unsafe fn max<O: Observer>(&self, obs: &mut O, examined: &mut usize) -> Cand {
        let mut best: Cand = None;
        if self.tree_map != 0 {
            let j = 63 - self.tree_map.leading_zeros() as usize;
            if let Some(root) = self.trees[j] {
                // SAFETY: forwarded to the caller.
                unsafe { self.subtree_extreme(root, false, &mut best, obs, examined) };
            }
        } else if self.small_map != 0 {
            let i = 31 - self.small_map.leading_zeros() as usize;
            *examined += 1;
            best = self.small[i].map(|b| (b, i << UNIT_LOG));
        }
        best
    }

    /// Calls `f` with every indexed block, smallest size first, blocks of
    /// one size in ring order (oldest first): the order in which a best-fit
    /// search meets them.
    ///
    /// # Time complexity
    /// O(n + distinct sizes × B).
    ///
    /// # Safety
    /// The index is well formed.
    pub unsafe fn for_each_ascending(&self, mut f: impl FnMut(Block)) {
        let (mut s, mut examined) = (UNIT, 0);
        while s <= crate::block::MAX_BLOCK {
            // SAFETY: forwarded to the caller.
            let Some((head, size)) = (unsafe { self.lower_bound(s, &mut NoObserver, &mut examined) }) else { return };
            let mut b = head;
            loop {
                f(b);
                // SAFETY: `b` is indexed (a member of `head`'s ring).
                b = unsafe { ring_next(b) };
                if b == head {
                    break;
                }
            }
            s = size + UNIT;
        }
    }

    /// The block after `b` in its ring of equal-size blocks (`b` itself when
    /// alone); following it from a search result visits every block of
    /// that size, oldest first, and comes back to the start.
    ///
    /// # Safety
    /// `b` is indexed.
    #[inline]
    pub unsafe fn ring_next(&self, b: Block) -> Block {
        // SAFETY: forwarded to the caller.
        unsafe { ring_next(b) }
    }

    /// Whether `b` is indexed.
    ///
    /// # Time complexity
    /// O(B + blocks of `b`'s size).
    ///
    /// # Safety
    /// `b` is a readable free block; the index is well formed.
    pub unsafe fn contains(&self, b: Block) -> bool {
        // SAFETY: forwarded to the caller.
        let size = unsafe { b.size() };
        if size == 0 || size % UNIT != 0 {
            return false;
        }
        let start = if size < TREE_MIN {
            self.small[size >> UNIT_LOG]
        } else {
            // SAFETY: forwarded to the caller.
            unsafe { self.find_node(size) }
        };
        let Some(start) = start else { return false };
        let mut cur = start;
        for _ in 0..self.len {
            if cur == b {
                return true;
            }
            // SAFETY: ring members are indexed.
            cur = unsafe { ring_next(cur) };
            if cur == start {
                break;
            }
        }
        false
    }

    /// The tree node of exactly `size` bytes, if any.
    ///
    /// # Safety
    /// The index is well formed; `size >= TREE_MIN`.
    unsafe fn find_node(&self, size: usize) -> Option<Block> {
        let idx = tree_bin(size);
        let mut cur = self.trees[idx];
        let mut shift = top_shift(idx);
        while let Some(n) = cur {
            // SAFETY: trie nodes are indexed blocks with five links.
            unsafe {
                if n.size() == size {
                    return Some(n);
                }
                if shift < UNIT_LOG {
                    return None;
                }
                cur = child(n, (size >> shift) & 1);
            }
            shift = shift.wrapping_sub(1);
        }
        None
    }

    /// Verifies the structure: `small_map` bit `i` is set iff `small[i]` is
    /// some, and `tree_map` bit `i` iff `trees[i]` is some; rings are
    /// symmetric, hold free blocks of their bin's exact size, and only tree
    /// nodes have a parent; every trie node sits on the path its size bits
    /// spell, with a parent link back; the block count matches `len`.
    ///
    /// # Errors
    /// The first broken invariant.
    ///
    /// # Safety
    /// Blocks `ok` accepts are readable (see [`FreeIndex::check`](super::FreeIndex::check)).
    pub unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        let mut count = 0usize;
        for i in 0..SMALL_BINS {
            if (self.small_map >> i & 1 != 0) != self.small[i].is_some() {
                return Err(CheckError::new(0, "small_map bit disagrees with its bin"));
            }
            if let Some(h) = self.small[i] {
                // SAFETY: forwarded to the caller.
                unsafe { self.check_ring(ok, h, i << UNIT_LOG, None, &mut count)? };
            }
        }
        for i in 0..TREE_BINS {
            if (self.tree_map >> i & 1 != 0) != self.trees[i].is_some() {
                return Err(CheckError::new(0, "tree_map bit disagrees with its bin"));
            }
            if let Some(root) = self.trees[i] {
                // SAFETY: forwarded to the caller.
                unsafe {
                    if !ok(root) {
                        return Err(CheckError::new(root.addr(), "size-index link points outside the heap's blocks"));
                    }
                    if root.is_used() {
                        return Err(CheckError::new(root.addr(), "size index holds a used block"));
                    }
                    let size = root.size();
                    if size < TREE_MIN || tree_bin(size) != i {
                        return Err(CheckError::new(root.addr(), "trie root in the wrong tree bin"));
                    }
                    if parent(root).is_some() {
                        return Err(CheckError::new(root.addr(), "trie root has a parent"));
                    }
                    self.check_subtree(ok, root, i, top_shift(i), bin_floor(i), &mut count, 0)?;
                }
            }
        }
        if count != self.len {
            return Err(CheckError::new(0, "size index count does not match its blocks"));
        }
        Ok(())
    }

    /// Checks the ring starting at `h`: every member free, of `size` bytes,
    /// with symmetric links; members other than `tree_node` have no parent.
    ///
    /// # Safety
    /// Blocks `ok` accepts are readable.
    unsafe fn check_ring(&self, ok: &dyn Fn(Block) -> bool, h: Block, size: usize, tree_node: Option<Block>, count: &mut usize) -> Result<(), CheckError> {
        let mut cur = h;
        loop {
            *count += 1;
            if *count > self.len {
                return Err(CheckError::new(cur.addr(), "size index longer than its count (cycle?)"));
            }
            if !ok(cur) {
                return Err(CheckError::new(cur.addr(), "size-index link points outside the heap's blocks"));
            }
            // SAFETY: forwarded to the caller; each block is read once.
            unsafe {
                if cur.is_used() {
                    return Err(CheckError::new(cur.addr(), "size index holds a used block"));
                }
                if cur.size() != size {
                    return Err(CheckError::new(cur.addr(), "block in the bin or ring of another size"));
                }
                let (Some(n), Some(_)) = (cur.next_free(), cur.prev_free()) else {
                    return Err(CheckError::new(cur.addr(), "ring link missing"));
                };
                if !ok(n) {
                    return Err(CheckError::new(n.addr(), "size-index link points outside the heap's blocks"));
                }
                if n.prev_free() != Some(cur) {
                    return Err(CheckError::new(cur.addr(), "ring links not symmetric"));
                }
                if size >= TREE_MIN && Some(cur) != tree_node && parent(cur).is_some() {
                    return Err(CheckError::new(cur.addr(), "ring member that is not a tree node has a parent"));
                }
                cur = n;
            }
            if cur == h {
                return Ok(());
            }
        }
    }

    /// Checks the subtree at `node`, whose sizes must agree with `prefix` on
    /// every bit above `shift`.
    ///
    /// # Safety
    /// Blocks `ok` accepts are readable.
    #[allow(clippy::too_many_arguments)] // the walk's state, passed down the recursion
    unsafe fn check_subtree(&self, ok: &dyn Fn(Block) -> bool, node: Block, bin: usize, shift: u32, prefix: usize, count: &mut usize, depth: u32) -> Result<(), CheckError> {
        if depth > usize::BITS {
            return Err(CheckError::new(node.addr(), "trie deeper than the size bits (cycle?)"));
        }
        if !ok(node) {
            return Err(CheckError::new(node.addr(), "size-index link points outside the heap's blocks"));
        }
        // SAFETY: forwarded to the caller.
        unsafe {
            if node.is_used() {
                return Err(CheckError::new(node.addr(), "size index holds a used block"));
            }
            let size = node.size();
            let above = !((2usize << shift) - 1);
            if size < TREE_MIN || tree_bin(size) != bin || size & above != prefix & above {
                return Err(CheckError::new(node.addr(), "trie node off the path of its size bits"));
            }
            self.check_ring(ok, node, size, Some(node), count)?;
            for dir in 0..2 {
                if let Some(c) = child(node, dir) {
                    if shift < UNIT_LOG {
                        return Err(CheckError::new(node.addr(), "trie deeper than the size bits"));
                    }
                    if !ok(c) {
                        return Err(CheckError::new(c.addr(), "size-index link points outside the heap's blocks"));
                    }
                    if parent(c) != Some(node) {
                        return Err(CheckError::new(c.addr(), "trie parent link does not point back"));
                    }
                    let p = (prefix & above) | (dir << shift);
                    self.check_subtree(ok, c, bin, shift - 1, p, count, depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_bins_cover_sizes_in_order() {
        assert_eq!(tree_bin(256), 0);
        assert_eq!(tree_bin(383), 0);
        assert_eq!(tree_bin(384), 1);
        assert_eq!(tree_bin(512), 2);
        assert_eq!(tree_bin(crate::block::MAX_BLOCK), TREE_BINS - 2);
        assert_eq!(tree_bin(0xFFFF_FFF8), TREE_BINS - 1);
        let mut last = 0;
        let mut s = TREE_MIN;
        let end = if cfg!(miri) { 1 << 12 } else { 1 << 20 };
        while s < end {
            let b = tree_bin(s);
            assert!(b == last || b == last + 1, "bins are consecutive");
            assert!(bin_floor(b) <= s && (b + 1 == TREE_BINS || s < bin_floor(b + 1)));
            // The two bits above top_shift are shared by the whole bin.
            let t = top_shift(b);
            assert_eq!(s >> (t + 1), bin_floor(b) >> (t + 1));
            last = b;
            s += 8;
        }
    }
}
