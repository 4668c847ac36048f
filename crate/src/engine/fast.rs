//! The engine's paths in the speed build (without the feature `small`):
//! the allocation fast path (quick blocks, the policy's constant-time
//! pick), placement that keeps a split block's index place, merging through
//! [`Policy::try_replace`], the realloc slide into a free predecessor and
//! the shrink-move, copies steered away from a slow distance, and early
//! loads of the next header. `small.rs` has the size build's counterparts,
//! with the same names; `mod.rs` compiles one of the two.

use core::ptr::{self, NonNull};

use super::{slow_copy, Engine, Hooks, MAX_ALIGN, MAX_SIZE, QUICK, QUICK_MAX};
use crate::block::{Block, Fit, Request, HEADER, PREV_USED, SIZE_MASK, USED};
use crate::events::Event;
use crate::policy::Policy;

/// How many times an allocation grows the heap before it fails: the first
/// growth asks only for what the last region's free tail lacks.
pub(super) const GROW_ATTEMPTS: usize = 2;
/// Quick lists are built in (and used for a policy with a fast index and
/// a face that allows them).
pub(super) const HAS_QUICK_LISTS: bool = true;
/// A policy that keeps the free block ending a region apart (its
/// wilderness) has it filed so.
pub(super) const KEEPS_TAIL: bool = true;

impl<P: Policy, H: Hooks> Engine<P, H> {
    /// The allocation fast path: a quick block of the request's size, or
    /// (alignment up to the granule) the policy's constant-time pick; never
    /// grows the heap. `None` sends the request to the slow path.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(crate) fn alloc_fast(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if align <= MAX_ALIGN && size <= MAX_SIZE {
            let need = self.need(size);
            if need <= QUICK_MAX {
                let q = &mut self.quick[need / 8];
                // A quick block of that size whose payload is aligned as
                // asked (always, for alignments up to the granule; half
                // the time for 32, the commonest larger one).
                if let Some(b) = (*q).filter(|b| b.payload().as_ptr().addr() & (align - 1) == 0) {
                    // SAFETY: a quick block is a used block of exactly
                    // `need` bytes with its link 0 written by `free`.
                    unsafe {
                        *q = b.next_free();
                        b.set_header((b.header() & !QUICK) | self.hooks.used_bits());
                    }
                    self.emit(Event::QuickTake { block: b.addr(), size: need });
                    return Some(b.payload());
                }
            }
            // Alignment above the granule needs a gap: the slow path.
            // SAFETY: every indexed block is a valid free block of this heap.
            if let Some((b, bsize)) = if align <= self.granule() { unsafe { self.policy.take_quick(need) } } else { None } {
                // SAFETY: `b` is a free block of this heap, just taken.
                let prev = if self.hooks.deferred() { (unsafe { b.header() }) & PREV_USED } else { PREV_USED };
                debug_assert_eq!(
                    // SAFETY: as above.
                    unsafe { b.header() } & (SIZE_MASK | USED),
                    bsize as u64,
                    "a free block of `size` bytes"
                );
                self.hooks.examined(1);
                self.emit(Event::Choose { block: b.addr(), size: bsize });
                // SAFETY: the policy took `b`, of `bsize >= need` bytes,
                // from our free blocks.
                return Some(unsafe { self.place(b, bsize, need, prev) });
            }
        }
        None
    }

    /// One search of the index for `req` ([`Policy::find`]) and, when it
    /// finds a block, the placement.
    #[inline]
    pub(super) fn search_place(&mut self, req: &Request) -> Option<NonNull<u8>> {
        // SAFETY: every indexed block is a valid free block of this heap.
        let s = unsafe { self.policy.find(req, &mut self.hooks) };
        self.hooks.examined(s.examined);
        // SAFETY: the policy found `fit` among our free blocks.
        s.fit.map(|fit| unsafe { self.place_found(fit) })
    }

    /// Turns the `size` free bytes at `b`, out of the index, into a used
    /// block of `need` bytes (the rest, when big enough, becomes a free
    /// block) whose prev-used flag is `prev`, and returns its payload.
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
            let tail = size - need;
            let used = if tail >= self.split_min() {
                let t = b.add(need);
                t.write_free(tail, true);
                self.index_insert(t, tail);
                self.emit(Event::Split { block: b.addr(), size: need, remainder: tail });
                need
            } else {
                b.add(size).set_prev_used(true);
                size
            };
            b.set_header(used as u64 | USED | prev | self.hooks.used_bits());
            b.payload()
        }
    }

    /// Turns the free block of `fit`, still in the index, into a used block:
    /// the alignment gap before it keeps the block's place in the index,
    /// or else the rest after it does (so address-ordered lists need no
    /// walk), and a rest too small for a block stays in the used one.
    ///
    /// # Safety
    /// `fit` was just found by the policy among this heap's free blocks.
    unsafe fn place_found(&mut self, fit: Fit) -> NonNull<u8> {
        // SAFETY: as in `place`; `fit.block` is indexed.
        unsafe {
            let b = fit.block;
            let h = b.header();
            let size = (h & SIZE_MASK) as usize;
            let prev = if self.hooks.deferred() { h & PREV_USED } else { PREV_USED };
            if fit.gap != 0 {
                // (A used block follows the gap: it never ends the region.)
                self.replace_free_within(b, b, fit.gap, prev != 0);
                self.emit(Event::Split { block: b.addr(), size: fit.gap, remainder: size - fit.gap });
                // After the gap, which is a free block now.
                return self.place(b.add(fit.gap), size - fit.gap, fit.need, 0);
            }
            let tail = size - fit.need;
            let used = if tail >= self.split_min() {
                self.replace_free(b, b.add(fit.need), tail, true);
                self.emit(Event::Split { block: b.addr(), size: fit.need, remainder: tail });
                fit.need
            } else {
                self.index_remove(b);
                b.add(size).set_prev_used(true);
                size
            };
            b.set_header(used as u64 | USED | prev | self.hooks.used_bits());
            b.payload()
        }
    }

    /// Takes free block `b` (indexed, header unchanged) out of the index:
    /// inlined natively; in wasm one copy (of the policy's remove, with its
    /// wilderness check) that every caller shares at `opt-level = "z"`
    /// (117 bytes of the minimal module), while the `#[inline]` hint still
    /// inlines it at `opt-level = 3`.
    ///
    /// # Safety
    /// As [`FreeIndex::remove`](crate::policy::FreeIndex::remove).
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn index_remove(&mut self, b: Block) {
        // SAFETY: forwarded to the caller.
        unsafe { self.policy.remove(b) }
    }

    /// Makes the `size` bytes at `b` a free block after a used one (its
    /// header and footer written) and files it in the index; `ends` says
    /// whether the epilogue follows. One copy in wasm, as
    /// [`Engine::index_remove`].
    ///
    /// # Safety
    /// `b..b + size` is free memory of this heap out of the index, after a
    /// used block; `ends` is true iff the epilogue follows it.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn file_free(&mut self, b: Block, size: usize, ends: bool) {
        // SAFETY: forwarded to the caller.
        unsafe {
            b.write_free(size, true);
            self.index_insert_known(b, size, ends);
        }
    }

    /// Free block `old` (indexed, header unchanged) becomes free block `new`
    /// of `size` bytes in its place in address order (the same block, or
    /// one overlapping it with no other free block between), its prev-used
    /// flag `prev`: through [`Policy::try_replace`] when the policy can,
    /// else remove and insert.
    ///
    /// # Safety
    /// `old` is indexed; `new..new + size` is free memory of this heap.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn replace_free(&mut self, old: Block, new: Block, size: usize, prev: bool) {
        // SAFETY: forwarded to the caller; `remove` runs before the header
        // changes and `insert` after, as the policy contract requires; the
        // header after `new` is valid (a block or the epilogue).
        unsafe {
            if self.ends_region(new, size) {
                return self.replace_by_tail(old, new, size, prev);
            }
            self.replace_free_within(old, new, size, prev);
        }
    }

    /// [`Engine::replace_free`] for a `new` that ends its region: one copy
    /// in wasm, where code size counts.
    ///
    /// # Safety
    /// As [`Engine::replace_free`].
    #[cfg_attr(target_family = "wasm", inline(never))]
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    unsafe fn replace_by_tail(&mut self, old: Block, new: Block, size: usize, prev: bool) {
        // SAFETY: as in `replace_free`.
        unsafe {
            if self.policy.replace_by_tail(old, new, size) {
                new.write_free(size, prev);
            } else {
                self.index_remove(old);
                new.write_free(size, prev);
                self.file_tail(new, size);
            }
        }
    }

    /// [`Engine::replace_free`] for a `new` that a block not yet written
    /// follows (an alignment gap before the block being placed), which
    /// therefore never ends its region.
    ///
    /// # Safety
    /// As [`Engine::replace_free`], but the header after `new` need not be
    /// valid.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    unsafe fn replace_free_within(&mut self, old: Block, new: Block, size: usize, prev: bool) {
        // SAFETY: as in `replace_free`.
        unsafe {
            if self.policy.try_replace(old, new, size) {
                new.write_free(size, prev);
            } else {
                self.index_remove(old);
                new.write_free(size, prev);
                self.policy.insert_sized(new, size);
            }
        }
    }

    /// The merge of [`Engine::merge_in`] (not deferred): used block `b`
    /// (header `h`, `bsize` bytes) joins its free neighbours, a free block
    /// before it keeping its index place (or else the one after it giving
    /// its place to `b`). The free block that holds `b` now and its size.
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
            let mut size = bsize;
            let next = b.add(size);
            let nh = next.header();
            let next_free = nh & USED == 0;
            if next_free {
                size += (nh & SIZE_MASK) as usize;
            } else {
                next.set_header(nh & !PREV_USED);
            }
            if h & PREV_USED == 0 {
                // Into the free block before: it keeps its index place.
                if next_free {
                    self.index_remove(next);
                }
                let p = b.prev();
                let total = b.addr() - p.addr() + size;
                let prev = !self.hooks.deferred() || p.prev_used();
                self.replace_free(p, p, total, prev);
                // Past the link words the index may write in `p` (a size
                // index's tree node uses all five), the freed header stays
                // readable as a free one.
                if H::STALE_HEADERS && b.addr() - p.addr() >= HEADER + crate::block::MAX_LINKS * crate::block::WORD {
                    b.set_header(bsize as u64);
                }
                if H::ENABLED {
                    self.emit(Event::Merge { block: p.addr(), with: b.addr(), size: b.addr() - p.addr() + bsize });
                    if next_free {
                        self.emit(Event::Merge { block: p.addr(), with: next.addr(), size: total });
                    }
                }
                (p, total)
            } else if next_free {
                // The free block after gives its index place to this one.
                self.replace_free(next, b, size, true);
                self.emit(Event::Merge { block: b.addr(), with: next.addr(), size });
                (b, size)
            } else {
                // (The header after `b` is `nh`: the epilogue has size 0.)
                self.file_free(b, size, nh & SIZE_MASK == 0);
                (b, size)
            }
        }
    }

    /// Used block `b` (header `h`, `size` bytes) grows into the free block
    /// `next` after it (header `nh`, together `total >= need` bytes); what
    /// is left of that block keeps its index place.
    ///
    /// # Safety
    /// As said: `b` a used block of this heap, `next` the free block after
    /// it, indexed.
    #[inline(always)]
    pub(super) unsafe fn grow_into_next(&mut self, b: Block, h: u64, next: Block, total: usize, need: usize) {
        let tail = total - need;
        self.emit(Event::Merge { block: b.addr(), with: next.addr(), size: total });
        // SAFETY: forwarded to the caller; the tail lies inside `next`.
        unsafe {
            if tail >= self.split_min() {
                self.replace_free(next, b.add(need), tail, true);
                b.set_header((h & !SIZE_MASK) | need as u64);
                self.emit(Event::Split { block: b.addr(), size: need, remainder: tail });
            } else {
                self.index_remove(next);
                b.add(total).set_prev_used(true);
                b.set_header((h & !SIZE_MASK) | total as u64);
            }
        }
    }

    /// `realloc` sliding down into the free block before the block at `ptr`
    /// (header `h`; the header after it `nh`), taking the free block after
    /// it too: the same bytes move as with a new block, without searching,
    /// and the hole gets filled. `None` when that has no room.
    ///
    /// # Safety
    /// As [`Engine::realloc`]; `new_size <= MAX_SIZE`; `h` and `nh` are the
    /// headers as they are now.
    #[inline(always)]
    pub(super) unsafe fn slide(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize, h: u64, nh: u64) -> Option<NonNull<u8>> {
        let need = self.need(new_size);
        // SAFETY: `b` is a used block of this heap; when its prev-used bit
        // is clear, a free block with a footer is before it (caller).
        unsafe {
            let b = Block::from_payload(ptr);
            let size = (h & SIZE_MASK) as usize;
            let next = b.add(size);
            let total = size + (nh & SIZE_MASK) as usize;
            if h & PREV_USED == 0 {
                // Its size from its footer (no read of its header, a cache
                // miss when the slide does not happen).
                let p = b.prev();
                let psize = b.addr() - p.addr();
                let avail = psize + if nh & USED == 0 { total } else { size };
                let to = p.payload();
                let n = old_size.min(new_size);
                if avail >= need && to.as_ptr().addr() & (align - 1) == 0 {
                    if slow_copy(ptr.as_ptr(), to.as_ptr(), n) {
                        // A block free right now makes the copy several
                        // times faster; without one, slide all the same.
                        if let Some(moved) = self.move_at_hand(ptr, old_size, new_size, align, None) {
                            return Some(moved);
                        }
                    }
                    self.index_remove(p);
                    if nh & USED == 0 {
                        self.index_remove(next);
                    }
                    ptr::copy(ptr.as_ptr(), to.as_ptr(), n);
                    // (With the face's bits, as every block the engine
                    // hands out: the slid block serves the new request.)
                    let ph = (p.header() & PREV_USED) | USED | self.hooks.used_bits();
                    p.set_header(avail as u64 | ph);
                    if avail - need < self.split_min() {
                        p.add(avail).set_prev_used(true);
                    }
                    self.emit(Event::Slide { block: b.addr(), to: p.addr(), size: avail });
                    self.shrink(p, ph, avail, need);
                    return Some(to);
                }
            }
        }
        None
    }

    /// Gives the tail of used block `b` (header `h`, `size` bytes) beyond
    /// `need` bytes, `size - need >= split_min`, back: merged into the free
    /// block after it (which keeps its index place), or a free block of
    /// its own.
    ///
    /// # Safety
    /// As [`Engine::shrink`].
    #[inline(always)]
    pub(super) unsafe fn split_tail(&mut self, b: Block, h: u64, size: usize, need: usize) {
        let tail = size - need;
        // SAFETY: the tail lies inside `b`; the next header is valid (caller).
        unsafe {
            b.set_header((h & !SIZE_MASK) | need as u64);
            self.emit(Event::Split { block: b.addr(), size: need, remainder: tail });
            let t = b.add(need);
            let next = b.add(size);
            let nh = next.header();
            if nh & USED == 0 {
                let total = tail + (nh & SIZE_MASK) as usize;
                self.replace_free(next, t, total, true);
                self.emit(Event::Merge { block: t.addr(), with: next.addr(), size: total });
            } else {
                next.set_header(nh & !PREV_USED);
                self.file_free(t, tail, nh & SIZE_MASK == 0);
            }
        }
    }

    /// A block shrinking to half its size or less moves, when a free block
    /// for its new size is at hand (the fast path or one search of a policy
    /// with a fast index, [`Policy::fast_index`]: never by growing the
    /// heap), so that the run it sat in comes free whole instead of staying
    /// cut by a small block; else `None` (it shrinks in place). Heap
    /// efficiency (the benchmark's, best / segregated fit): 92.6 / 92.3 % →
    /// 94.6 / 94.0 %; moving every shrinking block gave 94.9 / 94.6 % but
    /// 12 % fewer random actions ≤30 KB, half or less about 5 %.
    ///
    /// # Safety
    /// As [`Engine::realloc`].
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    #[cfg_attr(target_family = "wasm", inline)]
    pub(super) unsafe fn realloc_shrink_move(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize) -> Option<NonNull<u8>> {
        if !self.quick_on() {
            // First and next fit would walk their whole list for it (and a
            // face without quick lists keeps to the plain policy).
            return None;
        }
        // SAFETY: `ptr` is a live payload of this heap (caller).
        let (b, size) = unsafe {
            let b = Block::from_payload(ptr);
            (b, b.size())
        };
        if self.need(new_size).saturating_mul(2) > size {
            return None;
        }
        // Not a block cut from the free block right after it: that would
        // split the run it is meant to free (shrinking in place merges the
        // tail into that block instead).
        // SAFETY: `b + size` is the header after `b`, compared only;
        // the rest is forwarded to the caller.
        unsafe { self.move_at_hand(ptr, old_size, new_size, align, Some(b.add(size))) }
    }

    /// A block for `size` bytes that is free right now: the fast path or
    /// one search of the policy; no flush, no growth.
    fn alloc_at_hand(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        if let Some(p) = self.alloc_fast(size, align) {
            return Some(p);
        }
        let req = self.request(size, align);
        self.search_place(&req)
    }

    /// `to`, just allocated for `size` bytes and empty, would take a slow
    /// copy of `n` bytes from `from` ([`slow_copy`]): another block free
    /// right now that would not replaces it (`to` given back). The block to
    /// copy to.
    pub(super) fn unslow(&mut self, from: NonNull<u8>, to: NonNull<u8>, n: usize, size: usize, align: usize) -> NonNull<u8> {
        if !slow_copy(from.as_ptr(), to.as_ptr(), n) {
            return to;
        }
        let other = self.alloc_at_hand(size, align);
        let (keep, give) = match other {
            Some(o) if !slow_copy(from.as_ptr(), o.as_ptr(), n) => (o, Some(to)),
            _ => (to, other),
        };
        if let Some(g) = give {
            // SAFETY: `g` was just allocated here and holds nothing yet.
            unsafe { self.free(g) };
        }
        keep
    }

    /// Moves the allocation at `ptr` to a block free right now
    /// ([`Engine::alloc_at_hand`]) other than `not`; `None` (nothing
    /// changed) when there is none, or when the copy there would be a slow
    /// one ([`slow_copy`]).
    ///
    /// # Safety
    /// As [`Engine::realloc`].
    unsafe fn move_at_hand(&mut self, ptr: NonNull<u8>, old_size: usize, new_size: usize, align: usize, not: Option<Block>) -> Option<NonNull<u8>> {
        let n = old_size.min(new_size);
        let to = self.alloc_at_hand(new_size, align)?;
        let to = self.unslow(ptr, to, n, new_size, align);
        // SAFETY: `to` is a payload of this heap.
        if slow_copy(ptr.as_ptr(), to.as_ptr(), n) || Some(unsafe { Block::from_payload(to) }) == not {
            // SAFETY: `to` was just allocated here and holds nothing yet.
            unsafe { self.free(to) };
            return None;
        }
        // SAFETY: distinct live blocks of at least `n` bytes (`old_size` is
        // at most the old one's size: caller).
        Some(unsafe { self.move_to(ptr, to, n) })
    }
}

/// Starts loading the cache line at `p`, for a header that will be read
/// after another load that misses the cache: both misses then overlap
/// instead of following each other. On x86_64 a prefetch instruction; in
/// wasm, which has none, a one-byte load whose value is dropped; elsewhere
/// nothing.
///
/// # Safety
/// `p` is readable memory of this heap (in wasm the hint is a real load,
/// which would trap outside the memory).
#[inline(always)]
pub(crate) unsafe fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, whatever `p` is.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(target_family = "wasm")]
    // SAFETY: `p` is readable (caller); a `MaybeUninit` byte may hold any
    // value, and a volatile load is kept although its value is dropped.
    unsafe {
        p.cast::<core::mem::MaybeUninit<u8>>().read_volatile();
    }
    #[cfg(not(any(target_arch = "x86_64", target_family = "wasm")))]
    let _ = p;
}
