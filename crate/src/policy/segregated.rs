//! Segregated fit, TLSF-class: free lists per size class, found through a
//! two-level bitmap in constant time (Masmano, Ripoll, Crespo and Real,
//! "TLSF: a New Dynamic Memory Allocator for Real-Time Systems", ECRTS 2004).
//!
//! ```text
//!  fl_map          ... 0 1 0 1 1 0      bit fl set iff sl_map[fl] != 0
//!                        |   | |
//!  sl_map[fl]      16 bits per fl       bit sl set iff heads[fl][sl] is some
//!  heads[fl][sl] -> [blk] <-> [blk] <-> ...   LIFO list of free blocks
//!                                             whose size is in class (fl, sl)
//!
//!  class of a size s:
//!    s < 128:   fl = 0,          sl = s / 8                 (exact, 8 B apart)
//!    s >= 128:  t = log2(s),     fl = t - 6,
//!               sl = the 4 bits of s below bit t            (2^(t-4) B wide)
//!    e.g. s = 1000 = 0b11_1110_1000: t = 9, fl = 3, sl = 15: [992, 1024)
//! ```
//!
//! **Search.** Above the exact classes, the head of the request's own
//! class is taken when it holds the request (one header read: the closest
//! fit at hand; on the malloc-lab traces it raised utilization from 87.5 to
//! 87.9 %). Otherwise the request's block size is rounded *up* to the start
//! of the next class (1000 → 1024, class (4, 0)), so every block of that
//! class or above fits: one masked `trailing_zeros` on `sl_map[fl]`, or else
//! one on `fl_map` and one on the found `sl_map`, gives the first non-empty
//! list, and its head is taken. For alignment above the granule the search uses
//! [`Request::worst_case`] instead of the block size. Only when no list at
//! or above the rounded class is non-empty, the list of the request's own
//! class is scanned for a block that fits (so a request still succeeds when
//! such a block exists; this is the only loop, and it runs only instead of
//! growing the heap). The free block that ends a region is kept out of the
//! lists ([`Wilderness`]) and taken only when no listed block holds the
//! request.
//!
//! # Time complexity
//! alloc O(1) and free O(1): a handful of bit operations and list links,
//! independent of the number of free blocks (the fallback scan is O(blocks
//! in one class)).
//!
//! # Trade-off
//! Constant, predictable time, which is why TLSF is used in real-time
//! systems. The price is a *good* fit instead of the best: rounding up
//! skips blocks in the request's own class that would fit, so up to one
//! class width (1/16 of the size) can be passed over, and small free blocks
//! in that class wait for smaller requests. The used block itself is cut to
//! the request, so the waste is bounded and not internal to allocations.
//!
//! [`Request::worst_case`]: crate::block::Request::worst_case

use super::wilderness::{self, Beside};
use super::{try_block, FreeIndex, FreeList, Policy, PolicyKind, Search, Wilderness, ALIGNED_LOOK};
use core::ptr::NonNull;

use crate::block::{Block, Request, MAX_BLOCK};
use crate::errors::CheckError;
use crate::events::{Event, Observer};

/// What the speed build and the size build (feature `small`) do
/// differently: where the class of a block is computed and whether
/// `insert` and `remove` are inlined (`block_class`, `insert_block`,
/// `remove_block`). One of the two is compiled.
#[cfg(not(feature = "small"))]
#[path = "segregated/fast.rs"]
mod build;
#[cfg(feature = "small")]
#[path = "segregated/small.rs"]
mod build;

use build::block_class;

/// log2 of the number of second-level classes per first-level class.
const SL_LOG: u32 = 4;
/// Second-level classes per first-level class.
const SL_COUNT: usize = 1 << SL_LOG;
/// Block sizes are multiples of `1 << UNIT_LOG` bytes.
const UNIT_LOG: u32 = 3;
/// Sizes below `1 << LINEAR_LOG` (128) have exact classes, 8 bytes apart.
const LINEAR_LOG: u32 = SL_LOG + UNIT_LOG;
/// Below this size (256) classes are 8 bytes apart (first levels 0 and 1),
/// so a block's class is its size shifted.
const LINEAR_END: usize = 1 << (LINEAR_LOG + 1);
/// First-level classes: 0 for the linear range, then one per power of two
/// from `2^7` to `2^31` (block sizes fit in the header's 32 bits).
const FL_COUNT: usize = (32 - LINEAR_LOG + 1) as usize;

/// Rows of the bitmap and list-head arrays: `FL_COUNT` rounded up to a
/// power of two, so that every index is masked in range (no bounds check,
/// no panic path in the allocator).
const FL_ROWS: usize = 32;

const _: () = assert!(FL_COUNT <= FL_ROWS && SL_COUNT <= 32 && FL_ROWS.is_power_of_two() && SL_COUNT.is_power_of_two());

/// Masks a class into the arrays' range (a no-op for valid classes).
#[inline(always)]
const fn ix(fl: usize, sl: usize) -> (usize, usize) {
    (fl & (FL_ROWS - 1), sl & (SL_COUNT - 1))
}

/// The class `(fl, sl)` holding blocks of `size` bytes (< 2^32, as every
/// header size is). Branch-free: with `t = log2(size | 64)`, sizes below
/// 128 get `t = 6`, so `fl = t - 6` is 0 there, and the second-level bits
/// are taken from `max(t, 7) - 4` (3 in the linear range: `sl = size / 8`).
/// Computed in `u32`, so `fl <= 25 < FL_COUNT` is plain to the compiler.
#[inline(always)]
fn class(size: usize) -> (usize, usize) {
    debug_assert!(size <= u32::MAX as usize, "size {size} beyond a header's 32 bits");
    let s = size as u32;
    let t = 31 - (s | (1 << (LINEAR_LOG - 1))).leading_zeros();
    let fl = (t + 1 - LINEAR_LOG) as usize;
    let sl = ((s >> (t.max(LINEAR_LOG) - SL_LOG)) as usize) & (SL_COUNT - 1);
    (fl, sl)
}


/// The first class all of whose blocks are at least `size` bytes (`size`
/// a multiple of 8): the class of `size` plus one class width minus one.
/// `fl` is `FL_COUNT` when no block can be that big.
#[inline(always)]
fn class_up(size: usize) -> (usize, usize) {
    if size < LINEAR_END {
        // Small requests, the common case (and a well-predicted branch, as
        // request sizes repeat; `class` itself stays branch-free, for the
        // varied sizes of freed blocks): classes 8 bytes apart hold one
        // block size each, so no rounding, and the class is a shift.
        return (size >> LINEAR_LOG, (size >> UNIT_LOG) & (SL_COUNT - 1));
    }
    let t = (usize::BITS - 1 - (size | (1 << (LINEAR_LOG - 1))).leading_zeros()).max(LINEAR_LOG);
    let r = size.saturating_add((1 << (t - SL_LOG)) - 1);
    if r > u32::MAX as usize {
        return (FL_COUNT, 0);
    }
    class(r)
}

/// The one size of a class below [`LINEAR_END`] (`fl` 0 or 1).
#[inline(always)]
const fn class_floor_linear(fl: usize, sl: usize) -> usize {
    (fl << LINEAR_LOG) | (sl << UNIT_LOG)
}

/// Smallest size of class `(fl, sl)`.
fn class_floor(fl: usize, sl: usize) -> usize {
    if fl == 0 {
        sl << UNIT_LOG
    } else {
        let t = fl as u32 + LINEAR_LOG - 1;
        (1 << t) | (sl << (t - SL_LOG))
    }
}

/// The sizes class `(fl, sl)` holds: `(smallest, largest)`.
fn class_range(fl: usize, sl: usize) -> (usize, usize) {
    let min = class_floor(fl, sl);
    let (next_fl, next_sl) = if sl + 1 < SL_COUNT { (fl, sl + 1) } else { (fl + 1, 0) };
    let max = if next_fl < FL_COUNT { class_floor(next_fl, next_sl) - 1 } else { u32::MAX as usize };
    (min, max)
}

/// The search jumped to the list of class `(fl, sl)`: reports the size
/// range of that list as [`Event::SizeClass`].
#[inline(always)]
fn entered_class<O: Observer>(obs: &mut O, fl: usize, sl: usize) {
    if O::ENABLED {
        let (min, max) = class_range(fl, sl);
        obs.event(Event::SizeClass { min, max });
    }
}

/// Segregated fit with two-level bitmaps. See the module docs.
#[derive(Debug)]
pub struct Segregated {
    /// Bit `fl` is set iff `sl_map[fl] != 0`.
    fl_map: u32,
    /// Bit `sl` of `sl_map[fl]` is set iff `heads[fl][sl]` is some.
    sl_map: [u32; FL_ROWS],
    /// `heads[fl][sl]`: first block of the list of free blocks whose size is
    /// in class `(fl, sl)`; its `prev` link is `None`.
    heads: [[Option<Block>; SL_COUNT]; FL_ROWS],
    /// Number of listed blocks.
    len: usize,
    /// Link words of a stand-in block ([`Segregated::sink`]): a list update
    /// with no neighbour to write writes here, so it needs no branch.
    sink: [u64; 3],
    /// The free block that ends a region, taken last ([`Wilderness`]).
    wild: Wilderness,
}

impl Segregated {
    /// A stand-in block whose links are `self.sink`: where a list update
    /// has no neighbour (`prev` of the old head when there is none, ...),
    /// it writes here instead, so the hot paths have no unpredictable
    /// branch on list emptiness.
    #[inline(always)]
    fn sink(&mut self) -> Block {
        Block::from_header(NonNull::from(&mut self.sink).cast())
    }

    /// The slot of list `(fl, sl)`'s head, as a stand-in block whose `next`
    /// link is that slot (its "header" address is 8 bytes before it and
    /// never read or written).
    #[inline(always)]
    fn head_slot(&mut self, fl: usize, sl: usize) -> Block {
        let (f, s) = ix(fl, sl);
        // `Option<Block>` is a nullable pointer (`Block` is a transparent
        // `NonNull`), so the slot holds exactly what a link word holds.
        let slot = NonNull::from(&mut self.heads[f][s]).cast::<u8>().as_ptr();
        // SAFETY: 8 bytes below a field of a live struct is not address 0
        // (`wrapping_sub` keeps the slot's provenance for the link write).
        Block::from_header(unsafe { NonNull::new_unchecked(slot.wrapping_sub(crate::block::HEADER)) })
    }

    /// Clears the bits of list `(fl, sl)` if `empty` (it just became
    /// empty), without a branch.
    #[inline(always)]
    fn clear_if_empty(&mut self, fl: usize, sl: usize, empty: bool) {
        debug_assert_eq!(empty, self.head(fl, sl).is_none(), "list emptiness");
        let empty = u32::from(empty);
        *self.sl_bits_mut(fl) &= !(empty << sl);
        let fl_empty = u32::from(self.sl_bits(fl) == 0);
        self.fl_map &= !(fl_empty << (fl & 31));
    }

    /// The head of list `(fl, sl)` (masked in range: no bounds check).
    #[inline(always)]
    fn head(&self, fl: usize, sl: usize) -> Option<Block> {
        let (f, s) = ix(fl, sl);
        self.heads[f][s]
    }

    /// Sets the head of list `(fl, sl)`.
    #[inline(always)]
    fn set_head(&mut self, fl: usize, sl: usize, b: Option<Block>) {
        let (f, s) = ix(fl, sl);
        self.heads[f][s] = b;
    }

    /// The second-level bitmap of `fl`.
    #[inline(always)]
    fn sl_bits(&self, fl: usize) -> u32 {
        self.sl_map[fl & (FL_ROWS - 1)]
    }

    /// The second-level bitmap of `fl`, for update.
    #[inline(always)]
    fn sl_bits_mut(&mut self, fl: usize) -> &mut u32 {
        &mut self.sl_map[fl & (FL_ROWS - 1)]
    }
    /// Unlinks `b` from the list of class `(fl, sl)`.
    ///
    /// # Safety
    /// `b` is in that list.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn unlink(&mut self, b: Block, fl: usize, sl: usize) {
        debug_assert!(self.len > 0, "remove from an empty segregated index");
        // SAFETY: `b` and its list neighbours are listed blocks (caller); the
        // stand-ins only have their link words written.
        unsafe {
            let (p, n) = (b.prev_free(), b.next_free());
            debug_assert!(p.is_some() || self.heads[fl][sl] == Some(b), "block without prev is not its list's head");
            let sink = self.sink();
            n.unwrap_or(sink).set_prev_free(p);
            let slot = self.head_slot(fl, sl);
            p.unwrap_or(slot).set_next_free(n);
            self.clear_if_empty(fl, sl, p.is_none() && n.is_none());
        }
        self.len -= 1;
    }

    /// Pushes `b` on the front of the list of class `(fl, sl)`.
    ///
    /// # Safety
    /// `b` is a free block with room for two links, not listed, whose size
    /// is (or is about to be written as) in class `(fl, sl)`.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn push(&mut self, b: Block, fl: usize, sl: usize) {
        // SAFETY: `b` has link room (caller); the old head is listed; the
        // stand-in only has its link words written.
        unsafe {
            let head = self.head(fl, sl);
            b.set_next_free(head);
            b.set_prev_free(None);
            let sink = self.sink();
            head.unwrap_or(sink).set_prev_free(Some(b));
        }
        *self.sl_bits_mut(fl) |= 1 << sl;
        self.fl_map |= 1 << (fl & 31);
        self.set_head(fl, sl, Some(b));
        self.len += 1;
    }

    /// [`FreeIndex::insert`]: `b` pushed on the list of the class its
    /// header's size is in.
    ///
    /// # Safety
    /// As [`FreeIndex::insert`].
    #[inline(always)]
    unsafe fn insert_read(&mut self, b: Block) {
        // SAFETY: forwarded to the caller; a header is there.
        unsafe { self.insert_sized(b, b.size()) }
    }

    /// [`FreeIndex::remove`]: `b` unlinked from the list of the class its
    /// header's size is in.
    ///
    /// # Safety
    /// As [`FreeIndex::remove`].
    #[inline(always)]
    unsafe fn remove_read(&mut self, b: Block) {
        // SAFETY: forwarded to the caller; a header is there.
        unsafe {
            let (fl, sl) = block_class(b.size());
            self.unlink(b, fl, sl);
        }
    }

    /// `size`'s own class, when it is above the exact classes and its head
    /// holds `size` bytes.
    #[inline(always)]
    fn own_class_fits(&self, size: usize) -> Option<(usize, usize)> {
        if size < LINEAR_END {
            return None;
        }
        let (fl, sl) = class(size);
        // SAFETY: listed blocks have valid headers (trait contract).
        self.head(fl, sl).is_some_and(|b| unsafe { b.size() } >= size).then_some((fl, sl))
    }

    /// The head of the list of `size`'s class (`size <= MAX_BLOCK`).
    #[inline(always)]
    fn head_of_class(&self, size: usize) -> Option<Block> {
        let (fl, sl) = class(size);
        self.head(fl, sl)
    }

    /// The first non-empty class all of whose blocks hold `size` bytes.
    #[inline(always)]
    fn first_class_from_size(&self, size: usize) -> Option<(usize, usize)> {
        let (fl, sl) = class_up(size);
        self.first_class_from(fl, sl)
    }

    /// The first non-empty class at or above `(fl, sl)`.
    #[inline(always)]
    fn first_class_from(&self, fl: usize, sl: usize) -> Option<(usize, usize)> {
        if fl >= FL_COUNT {
            return None;
        }
        let sl_bits = self.sl_bits(fl) & (u32::MAX << sl);
        if sl_bits != 0 {
            return Some((fl, sl_bits.trailing_zeros() as usize));
        }
        let fl_bits = self.fl_map & (u32::MAX << (fl + 1));
        if fl_bits == 0 {
            return None;
        }
        let fl = fl_bits.trailing_zeros() as usize;
        debug_assert!(self.sl_map[fl] != 0, "fl_map bit {fl} set over an empty sl_map");
        Some((fl, self.sl_bits(fl).trailing_zeros() as usize))
    }

    /// The fallback search, when no class above the request's worst case
    /// has a block: the worst case's own class, then, for a request aligned
    /// above the granule, the classes below it down to its block size,
    /// largest first, for a block where the aligned payload happens to fit
    /// ([`ALIGNED_LOOK`] blocks at most). Without that look such a request
    /// took the end of the heap, and under a steady load with a few
    /// requests aligned to 256 bytes or more the heap grew without bound
    /// (the benchmark's 10,000 live blocks of up to 200 bytes: 704 KiB
    /// after the set-up, 1,536 KiB after 4 M actions, 1,984 KiB after 16 M,
    /// mostly free fragments; now 960 and 1,088 KiB).
    ///
    /// # Safety
    /// The lists are well formed.
    #[cold]
    unsafe fn scan_down<O: Observer>(&self, req: &Request, obs: &mut O, examined: &mut usize) -> Option<crate::block::Fit> {
        let (mut fl, mut sl) = class(req.worst_case());
        let lowest = if req.align > req.granule { class(req.need) } else { (fl, sl) };
        let mut budget = usize::MAX;
        loop {
            if self.sl_bits(fl) & (1 << sl) != 0 {
                // SAFETY: forwarded to the caller.
                if let Some(fit) = unsafe { self.scan_class(fl, sl, req, obs, examined, &mut budget) } {
                    return Some(fit);
                }
            }
            budget = budget.min(ALIGNED_LOOK);
            // The class below (an empty one is skipped by its bit).
            (fl, sl) = if sl > 0 { (fl, sl - 1) } else { (fl.checked_sub(1)?, SL_COUNT - 1) };
            if (fl, sl) < lowest || budget == 0 {
                return None;
            }
        }
    }

    /// Walks the list of class `(fl, sl)` for the first block that fits,
    /// giving up when `budget` (counted down per block rejected) runs out,
    /// as best fit's ring walk does.
    ///
    /// # Safety
    /// The lists are well formed.
    #[cold]
    unsafe fn scan_class<O: Observer>(&self, fl: usize, sl: usize, req: &Request, obs: &mut O, examined: &mut usize, budget: &mut usize) -> Option<crate::block::Fit> {
        if fl >= FL_COUNT {
            return None;
        }
        entered_class(obs, fl, sl);
        let mut cur = self.head(fl, sl);
        while let Some(b) = cur {
            *examined += 1;
            // SAFETY: listed blocks are free blocks with valid headers and links.
            if let Some(fit) = try_block(b, unsafe { b.size() }, req, obs) {
                return Some(fit);
            }
            *budget = budget.saturating_sub(1);
            if *budget == 0 {
                return None;
            }
            // SAFETY: as above.
            cur = unsafe { b.next_free() };
        }
        None
    }
}

impl Beside for Segregated {
    #[inline(always)]
    fn wild(&mut self) -> &mut Wilderness {
        &mut self.wild
    }
    #[inline(always)]
    unsafe fn plain_insert(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.insert_sized(b, size) }
    }
    #[inline(always)]
    unsafe fn plain_remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.remove_block(b) }
    }
    /// Always takes the fast path, in O(1): when `new_size` stays in
    /// `old`'s class, `new` takes `old`'s place in the list and no bitmap
    /// changes; otherwise `old` is unlinked and `new` pushed on the list of
    /// `new_size`'s class (its header is not read: it is written after).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn plain_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: `old` is listed with its header unchanged; `new` has room
        // for two links; `old`'s links are read before any of `new`'s is
        // written (the two may overlap).
        unsafe {
            let (fl, sl) = class(old.size());
            let (nfl, nsl) = class(new_size);
            if (nfl, nsl) != (fl, sl) {
                self.unlink(old, fl, sl);
                self.push(new, nfl, nsl);
            } else if old != new {
                let (p, n) = (old.prev_free(), old.next_free());
                new.set_prev_free(p);
                new.set_next_free(n);
                match p {
                    Some(p) => p.set_next_free(Some(new)),
                    None => self.set_head(fl, sl, Some(new)),
                }
                if let Some(n) = n {
                    n.set_prev_free(Some(new));
                }
            }
        }
        true
    }
}

impl FreeIndex for Segregated {
    const LINKS: usize = 2;
    const EMPTY: Self = Segregated { fl_map: 0, sl_map: [0; FL_ROWS], heads: [[None; SL_COUNT]; FL_ROWS], len: 0, sink: [0; 3], wild: Wilderness::EMPTY };
    #[inline(always)]
    fn is_tail(&self, b: Block) -> bool {
        self.wild.is(b)
    }
    const KEEPS_TAIL: bool = true;
    #[inline]
    fn len(&self) -> usize {
        self.len + self.wild.len()
    }
    fn clear(&mut self) {
        *self = Self::EMPTY;
    }
    /// Pushes `b` on the front of its class's list. O(1). (Inlined in the
    /// speed build, one out-of-line copy in the size build.)
    #[inline(always)]
    unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.insert_block(b) }
    }
    /// [`Segregated::insert`] with the class from `size`. O(1).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn insert_sized(&mut self, b: Block, size: usize) {
        // SAFETY: the header is written (caller).
        debug_assert_eq!(size, unsafe { b.size() }, "insert_sized with another size than the header's");
        let (fl, sl) = block_class(size);
        // SAFETY: forwarded to the caller.
        unsafe { self.push(b, fl, sl) }
    }
    /// Keeps `b`, which ends its region, as the wilderness (or lists it,
    /// or the one it displaces, as usual). O(1).
    #[inline(always)]
    unsafe fn insert_tail(&mut self, b: Block, size: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::insert_tail(self, b, size) }
    }
    /// Unlinks `b` from its class's list. O(1). (Inlined in the speed
    /// build, one out-of-line copy in the size build.)
    #[inline(always)]
    unsafe fn remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::remove(self, b) }
    }
    /// The wilderness resized or cut in place stays the wilderness; an
    /// ordinary block becoming one leaves its list. O(1).
    #[inline(always)]
    unsafe fn replace_by_tail(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::replace_by_tail(self, old, new, new_size) }
    }
    /// The listed blocks' replace (below), or remove and
    /// insert for the wilderness becoming an ordinary block. O(1).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn try_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { wilderness::try_replace(self, old, new, new_size) }
    }
    unsafe fn contains(&self, b: Block) -> bool {
        if self.wild.is(b) {
            return true;
        }
        // SAFETY: `b` is readable (caller).
        let (fl, sl) = class(unsafe { b.size() });
        if fl >= FL_COUNT {
            return false;
        }
        let mut cur = self.head(fl, sl);
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

    /// One list per non-empty size class, smallest class first, each from
    /// its head (newest first), with the class's size range.
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, mut f: F) {
        let mut index = 0;
        for fl in 0..FL_COUNT {
            for sl in 0..SL_COUNT {
                let Some(head) = self.heads[fl][sl] else { continue };
                let (min, max) = class_range(fl, sl);
                let list = FreeList { index, min, max };
                let mut cur = Some(head);
                for _ in 0..self.len {
                    let Some(b) = cur else { break };
                    f(list, b);
                    // SAFETY: listed blocks have valid links (caller).
                    cur = unsafe { b.next_free() };
                }
                index += 1;
            }
        }
        self.wild.for_each(index, f);
    }

    /// Verifies: `fl_map` bit `fl` is set iff `sl_map[fl] != 0`; `sl_map[fl]`
    /// bit `sl` is set iff `heads[fl][sl]` is some; every list's head has no
    /// `prev`, links are symmetric, every listed block is free and in the
    /// class of its size; the block count matches `len`.
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        if self.fl_map >> FL_COUNT != 0 {
            return Err(CheckError::new(0, "fl_map bit above the last first-level class"));
        }
        let mut count = 0usize;
        for fl in 0..FL_COUNT {
            if (self.fl_map >> fl & 1 != 0) != (self.sl_map[fl] != 0) {
                return Err(CheckError::new(0, "fl_map bit disagrees with its sl_map"));
            }
            if SL_COUNT < 32 && self.sl_map[fl] >> SL_COUNT != 0 {
                return Err(CheckError::new(0, "sl_map bit above the last second-level class"));
            }
            for sl in 0..SL_COUNT {
                let head = self.heads[fl][sl];
                if (self.sl_bits(fl) >> sl & 1 != 0) != head.is_some() {
                    return Err(CheckError::new(0, "sl_map bit disagrees with its list"));
                }
                let mut prev: Option<Block> = None;
                let mut cur = head;
                while let Some(c) = cur {
                    count += 1;
                    if count > self.len {
                        return Err(CheckError::new(c.addr(), "segregated lists longer than their count (cycle?)"));
                    }
                    if !ok(c) {
                        return Err(CheckError::new(c.addr(), "free-list link points outside the heap's blocks"));
                    }
                    // SAFETY: listed blocks are readable (trait contract).
                    unsafe {
                        if c.is_used() {
                            return Err(CheckError::new(c.addr(), "segregated list holds a used block"));
                        }
                        if class(c.size()) != (fl, sl) {
                            return Err(CheckError::new(c.addr(), "block in the list of another size class"));
                        }
                        if c.prev_free() != prev {
                            return Err(CheckError::new(c.addr(), "segregated list prev link does not match"));
                        }
                        prev = Some(c);
                        cur = c.next_free();
                    }
                }
            }
        }
        if count != self.len {
            return Err(CheckError::new(0, "segregated list count does not match its length"));
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.wild.check(ok) }
    }
}

impl Policy for Segregated {
    const KIND: Option<PolicyKind> = Some(PolicyKind::Segregated);
    /// O(1): round the request up to a class, find the first non-empty
    /// list at or above it with bit scans, take its head.
    #[inline]
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        let wc = req.worst_case();
        let mut examined = 0;
        // The head of the request's own class, when it holds the request
        // (as `take_quick`), then the head of the first non-empty class
        // above, which always does.
        let own = if (LINEAR_END..=MAX_BLOCK).contains(&wc) { Some(class(wc)) } else { None };
        for (fl, sl) in own.into_iter().chain(self.first_class_from_size(wc)) {
            entered_class(obs, fl, sl);
            if let Some(b) = self.head(fl, sl) {
                examined += 1;
                // SAFETY: listed blocks have valid headers.
                if let Some(fit) = try_block(b, unsafe { b.size() }, req, obs) {
                    return Search { fit: Some(fit), examined };
                }
                debug_assert!(Some((fl, sl)) == own, "a block of class ({fl}, {sl}) must fit {req:?}");
            }
        }
        if wc > MAX_BLOCK {
            return Search { fit: None, examined: 0 };
        }
        // SAFETY: the lists are well formed (trait contract).
        let fit = unsafe { self.scan_down(req, obs, &mut examined) };
        // The wilderness only when no other block fits.
        let fit = fit.or_else(|| self.wild.fit(req, obs, &mut examined));
        Search { fit, examined }
    }
    /// O(1): rounds `need` up to a class, finds the first non-empty list at
    /// or above it with bit scans, and pops its head.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn take_quick(&mut self, need: usize) -> Option<(Block, usize)> {
        // The head of `need`'s own class when it is big enough: the closer
        // fit (a class above wastes at least a class width, an eighth of
        // the size, when split), for one header read. Below 256 bytes the
        // classes are exact and the two are the same.
        let (fl, sl) = match self.own_class_fits(need) {
            Some(c) => c,
            None => match self.first_class_from_size(need) {
                Some(c) => c,
                // No list above `need`'s class; when its own is empty too
                // (or holds one size, below LINEAR_END, and so was asked
                // already), no listed block holds `need`: the wilderness.
                None if !(LINEAR_END..=MAX_BLOCK).contains(&need) || self.head_of_class(need).is_none() => return self.wild.take(need),
                None => return None,
            },
        };
        // SAFETY: `first_class_from` only returns classes whose sl_map bit
        // is set, so the list is not empty; its blocks are free blocks with
        // valid links (trait contract), and every block of a class at or
        // above `class_up(need)` is at least `need` bytes.
        unsafe {
            // `unlink` for a head, whose prev is known to be absent (written
            // out: this is the allocation hot path, and `unlink` costs ~1 %
            // more instructions in the random-actions benchmark).
            let b = self.head(fl, sl).unwrap_unchecked();
            let n = b.next_free();
            self.set_head(fl, sl, n);
            let sink = self.sink();
            n.unwrap_or(sink).set_prev_free(None);
            self.clear_if_empty(fl, sl, n.is_none());
            self.len -= 1;
            // A class below LINEAR_END holds one size: no header read.
            let size = if fl < 2 { class_floor_linear(fl, sl) } else { b.size() };
            debug_assert_eq!(size, b.size(), "class ({fl}, {sl}) size");
            debug_assert!(size >= need, "the block taken from class ({fl}, {sl}) must hold {need} bytes");
            Some((b, size))
        }
    }
    /// The own class's list first, for the first block of at least `size`
    /// bytes (the first one in an exact class below 256 bytes, usually
    /// one of the first few above), then the head of the first non-empty
    /// class above it, which always fits. Unlike [`find`](Policy::find)
    /// it does not round the request up to a class: one loop serves both
    /// what the rounding would skip and the fallback scan.
    unsafe fn take(&mut self, size: usize) -> Option<Block> {
        let (mut fl, mut sl) = block_class(size);
        loop {
            let mut cur = self.head(fl, sl);
            // SAFETY: listed blocks are free blocks with valid headers and
            // links (trait contract).
            unsafe {
                while let Some(b) = cur {
                    if b.size() >= size {
                        // (`remove` finds the class again: one copy of
                        // `unlink`.)
                        self.remove(b);
                        return Some(b);
                    }
                    cur = b.next_free();
                }
            }
            // Every block of a class above `size`'s is bigger: the head of
            // the next non-empty list is taken.
            (fl, sl) = self.first_class_from(fl, sl + 1)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::fits;
    use crate::policy::testkit::{self, Entry};

    #[test]
    fn classes_partition_sizes_in_order() {
        assert_eq!(class(24), (0, 3));
        assert_eq!(class(120), (0, 15));
        assert_eq!(class(128), (1, 0));
        assert_eq!(class(136), (1, 1));
        assert_eq!(class(1000), (3, 15));
        assert_eq!(class_up(1000), (4, 0));
        assert_eq!(class(crate::block::MAX_BLOCK), (FL_COUNT - 1, 0));
        assert_eq!(class(0xFFFF_FFF8), (FL_COUNT - 1, SL_COUNT - 1));
        let mut last = (0, 3);
        let mut s = 24;
        let end = if cfg!(miri) { 1 << 12 } else { 1 << 20 };
        while s < end {
            let c = class(s);
            assert!(c == last || c == (last.0, last.1 + 1) || (c == (last.0 + 1, 0) && last.1 == SL_COUNT - 1), "classes are consecutive at {s}");
            assert!(class_floor(c.0, c.1) <= s, "floor of the class of {s}");
            let u = class_up(s);
            assert!(class_floor(u.0, u.1) >= s, "every block of class_up({s}) is big enough");
            assert!(u == c || class_floor(c.0, c.1) < s, "class_up only rounds when needed");
            last = c;
            s += 8;
        }
    }

    /// [`Segregated::scan_down`] as a model.
    fn scan_down_model<'a>(entries: &'a [Entry], req: &Request) -> Option<&'a Entry> {
        let top = class(req.worst_case());
        let lowest = if req.align > req.granule { class(req.need) } else { top };
        let mut classes: std::vec::Vec<(usize, usize)> = entries.iter().map(|e| class(e.size)).filter(|c| (lowest..=top).contains(c)).collect();
        classes.sort_unstable_by(|a, b| b.cmp(a));
        classes.dedup();
        let mut rejected = 0;
        for c in classes {
            let mut list: std::vec::Vec<&Entry> = entries.iter().filter(|e| class(e.size) == c).collect();
            list.sort_by_key(|e| core::cmp::Reverse(e.seq));
            for e in list {
                if fits(e.block, e.size, req).is_ok() {
                    return Some(e);
                }
                if c != top {
                    rejected += 1;
                    if rejected == ALIGNED_LOOK {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// Fits; above the exact classes, the head (newest) of the own class
    /// when it fits; else the head of the lowest non-empty class at or
    /// above the rounded class, else the newest fitting block of the own
    /// class, else (aligned above the granule) of the classes below it down
    /// to the block size's, largest first, newest first in each, giving up
    /// after `ALIGNED_LOOK` blocks rejected there.
    fn judge(entries: &[Entry], req: &Request, s: &Search) {
        let wc = req.worst_case();
        let up = class_up(wc);
        let own_head = entries.iter().filter(|e| class(e.size) == class(wc)).max_by_key(|e| e.seq);
        let own = own_head.filter(|e| wc >= LINEAR_END && fits(e.block, e.size, req).is_ok());
        let above = entries.iter().filter(|e| class(e.size) >= up).min_by_key(|e| (class(e.size), core::cmp::Reverse(e.seq)));
        let want = match (own, above) {
            (Some(e), _) | (None, Some(e)) => Some(e),
            (None, None) => scan_down_model(entries, req),
        };
        assert_eq!(s.fit.map(|f| f.block), want.map(|e| e.block), "segregated fit for {req:?}");
        if own.is_some() || (above.is_some() && (wc < LINEAR_END || own_head.is_none())) {
            assert_eq!(s.examined, 1, "the O(1) path examines one block");
        } else if above.is_some() {
            assert_eq!(s.examined, 2, "the own class's head, then the class above's");
        }
        if entries.iter().any(|e| e.size >= wc) {
            assert!(s.fit.is_some(), "a block of worst_case bytes must be found");
        }
    }

    #[test]
    fn random_against_shadow() {
        testkit::random_index::<Segregated>(judge, |o, n, os, ns| class(os) == class(ns) || (o == n && os == ns), 5);
        testkit::random_index::<Segregated>(judge, |o, n, os, ns| class(os) == class(ns) || (o == n && os == ns), 6);
    }

    #[test]
    fn heap_round_trip() {
        testkit::heap_round_trip::<Segregated>();
    }

    #[test]
    fn search_is_constant_time() {
        // The own class's head, then the head of a class above.
        testkit::few_examined::<Segregated>(2);
    }

    /// The size build's take: the newest block of the own class that is
    /// big enough (its list is newest first), else the head (newest) of
    /// the lowest non-empty class above.
    /// An over-aligned request that no block of its worst case holds takes
    /// a smaller block whose address suits (the classes below, largest
    /// first), passing one whose address does not.
    #[test]
    fn over_aligned_looks_below_its_worst_case() {
        #[repr(C, align(4096))]
        struct Buf([u64; 1024]);
        let mut buf = Buf([0; 1024]);
        let base = NonNull::new(buf.0.as_mut_ptr().cast::<u8>()).unwrap();
        let req = Request::new(100, 256, 8, Segregated::MIN_BLOCK);
        let at = |off: usize, size: usize| {
            // SAFETY: `off + 48` is inside the 8 KiB buffer.
            let b = Block::from_header(unsafe { base.add(off) });
            // SAFETY: as above: the header and the links fit.
            unsafe { b.set_header(Block::encode(size, false, true, false, 0)) };
            b
        };
        // Both below the worst case's class; the larger one's payload is
        // 8 bytes short of a 256-byte boundary (too short a gap for a free
        // block before it, and the next boundary is past its end), the
        // smaller one's on one.
        let bad = at(0x1000 - 16, req.need + 64);
        let good = at(0x1200 - 8, req.need + 16);
        assert!(class(req.need + 16) < class(req.need + 64) && class(req.need + 64) < class(req.worst_case()));
        let mut p = Segregated::EMPTY;
        // SAFETY: both are header-only free blocks with room for two links.
        let s = unsafe {
            p.insert(good);
            p.insert(bad);
            p.find(&req, &mut crate::events::NoObserver)
        };
        assert_eq!(s.fit.map(|f| f.block), Some(good), "the smaller block whose address suits");
        assert_eq!(s.fit.map(|f| f.gap), Some(0));
        assert_eq!(s.examined, 2, "the larger block first, then the one that fits");
    }

    #[test]
    fn take_own_class_then_above() {
        testkit::take_never_misses::<Segregated>(|entries, size, got| {
            let c = class(size);
            let own = entries.iter().filter(|e| class(e.size) == c && e.size >= size).max_by_key(|e| e.seq);
            let above = || entries.iter().filter(|e| class(e.size) > c).min_by_key(|e| (class(e.size), core::cmp::Reverse(e.seq)));
            assert_eq!(Some(got), own.or_else(above).map(|e| e.block), "take({size})");
        });
    }
}
