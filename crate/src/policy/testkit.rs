//! Test helpers shared by the index policies' unit tests: a random workload
//! against a shadow list of indexed blocks, a heap round trip, and a bound on
//! blocks examined. Sizes shrink under Miri.
#![allow(clippy::unwrap_used)]

extern crate std;

use super::{Policy, Search};
use crate::block::{fits, min_block, Block, Request, MAX_BLOCK};
use crate::events::{Event, NoObserver, Recorder};
use core::ptr::NonNull;
use std::vec;
use std::vec::Vec;

/// A block the shadow model knows is indexed.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The block.
    pub block: Block,
    /// Its size.
    pub size: usize,
    /// Insertion order (larger = inserted later).
    pub seq: u64,
}

/// The size index's ascending search as a model: among `entries` of at
/// least `req.need` bytes, in (size, insertion) order, the first that fits;
/// after `ALIGNED_LOOK` rejected (alignment), the first of at least the
/// worst case (each of which fits).
pub fn smallest_fit<'a>(entries: impl Iterator<Item = &'a Entry>, req: &Request) -> Option<&'a Entry> {
    let mut order: Vec<&Entry> = entries.filter(|e| e.size >= req.need).collect();
    order.sort_by_key(|e| (e.size, e.seq));
    let mut rejected = 0;
    for e in &order {
        if fits(e.block, e.size, req).is_ok() {
            return Some(e);
        }
        rejected += 1;
        if rejected == super::ALIGNED_LOOK {
            return order.iter().find(|e| e.size >= req.worst_case()).copied();
        }
    }
    None
}

/// xorshift64*: a small deterministic generator.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Stride between the fake blocks of the index tests: room for a header and
/// five links. The index never reads a footer or payload, so a block can
/// claim any size; only its header and link words are real memory.
const STRIDE: usize = 64;

/// A block size with a spread over every bin: small, around the tree
/// threshold, popular sizes (equal-size rings), every power of two up to
/// `MAX_BLOCK`.
fn random_size(rng: &mut Rng, min: usize) -> usize {
    let s = match rng.below(10) {
        0..=2 => min + 8 * rng.below((300 - min) / 8),
        3..=4 => [min, 48, 128, 248, 256, 264, 1024, 4096, 65536][rng.below(9)],
        5..=8 => {
            let k = 8 + rng.below(14);
            (1 << k) + 8 * rng.below((1 << k) / 8)
        }
        _ => {
            let k = 22 + rng.below(9);
            (1 << k) + 8 * rng.below((1 << k) / 8)
        }
    };
    s.clamp(min, MAX_BLOCK) & !7
}

/// The handle of a block at slot `i`, `off` (0 or 8) bytes in.
fn slot_block(base: NonNull<u8>, i: usize, off: usize) -> Block {
    debug_assert!(off + 8 + 5 * 8 <= STRIDE, "links leave the slot");
    // SAFETY: slot `i` is inside the buffer (callers pass i < slots).
    Block::from_header(unsafe { base.add(i * STRIDE + off) })
}

/// Writes the header of a free block of `size` bytes at `b`.
fn write_header(b: Block, size: usize) {
    // SAFETY: `b` is a slot block: the header lies inside the buffer.
    unsafe { b.set_header(Block::encode(size, false, true, false, 0)) };
}

/// A header-only free block of `size` bytes at slot `i`.
fn fake_block(base: NonNull<u8>, i: usize, size: usize) -> Block {
    let b = slot_block(base, i, 0);
    write_header(b, size);
    b
}

/// Checks the event protocol: every `Visit` is followed by a `Reject` or
/// `Choose` of the same block; a `Choose` is the last event and names the
/// chosen block; at most `examined` visits.
fn check_events(events: &[Event], s: &Search) {
    let mut visits = 0;
    let mut i = 0;
    while i < events.len() {
        match events[i] {
            Event::Visit { block, .. } => {
                visits += 1;
                match events.get(i + 1) {
                    Some(Event::Reject { block: b, .. }) if *b == block => {}
                    Some(Event::Choose { block: b, .. }) if *b == block => {
                        assert_eq!(Some(block), s.fit.map(|f| f.block.addr()), "chose another block");
                        assert_eq!(i + 2, events.len(), "events after Choose");
                    }
                    other => panic!("Visit not followed by its verdict: {other:?}"),
                }
                i += 2;
            }
            // Segregated fit says which size class it jumped to.
            Event::SizeClass { min, max } => {
                assert!(min <= max, "size class {min}..={max}");
                i += 1;
            }
            e => panic!("unexpected event {e:?}"),
        }
    }
    assert!(visits <= s.examined, "{visits} visits but {} examined", s.examined);
    assert_eq!(s.fit.is_some(), events.iter().any(|e| matches!(e, Event::Choose { .. })), "Choose iff found");
}

/// Header-only blocks in the slots of a buffer, an index over some of
/// them, and the shadow list of those it holds.
struct Slots<P: Policy> {
    /// The blocks' memory (`STRIDE` bytes a slot).
    buf: Vec<u64>,
    index: P,
    /// The policy's minimum block.
    min: usize,
    /// `shadow[i]`: the indexed block of slot `i`, if any.
    shadow: Vec<Option<Entry>>,
    /// Insertions so far (the next entry's age).
    seq: u64,
}

impl<P: Policy> Slots<P> {
    fn new(slots: usize) -> Self {
        Slots { buf: vec![0; slots * STRIDE / 8], index: P::new(P::KIND.unwrap()), min: min_block(P::LINKS, 8), shadow: vec![None; slots], seq: 0 }
    }

    fn base(&mut self) -> NonNull<u8> {
        NonNull::new(self.buf.as_mut_ptr().cast::<u8>()).unwrap()
    }

    /// Indexes a block of a random size at slot `i` (not indexed).
    fn insert(&mut self, i: usize, rng: &mut Rng) {
        let size = random_size(rng, self.min);
        let b = fake_block(self.base(), i, size);
        // SAFETY: `b` is a free block with room for five links, not
        // indexed, of `size` bytes (either way in).
        unsafe {
            if rng.below(2) == 0 {
                self.index.insert(b);
            } else {
                self.index.insert_sized(b, size);
            }
        }
        self.seq += 1;
        self.shadow[i] = Some(Entry { block: b, size, seq: self.seq });
    }

    /// Removes the block of slot `i` from the index.
    fn remove(&mut self, i: usize) {
        let e = self.shadow[i].take().expect("slot holds an indexed block");
        // SAFETY: `e.block` is indexed with its header unchanged.
        unsafe { self.index.remove(e.block) };
    }

    /// The slot of block `b` (which starts 0 or 8 bytes into it).
    fn slot(&mut self, b: Block) -> usize {
        (b.addr() - self.base().as_ptr().addr()) / STRIDE
    }

    /// Every indexed block.
    fn entries(&self) -> Vec<Entry> {
        self.shadow.iter().flatten().copied().collect()
    }

    /// After each step: the count, and the index's own check.
    fn verify(&self, step: usize) {
        assert_eq!(self.index.len(), self.shadow.iter().flatten().count(), "len after step {step}");
        // SAFETY: every indexed block is readable.
        unsafe { self.index.check(&|_| true) }.unwrap_or_else(|e| panic!("check after step {step}: {e}"));
    }
}

/// Random inserts, removes, `try_replace`s and finds on an index of
/// header-only blocks, compared with a shadow list after every step by
/// `judge` (which knows the policy's choice rule) and by the index's own
/// `check`. `keeps_place(old, new, old_size, new_size)` says whether a
/// replacement keeps the old block's place in its list (its age).
pub fn random_index<P: Policy>(judge: fn(&[Entry], &Request, &Search), keeps_place: fn(Block, Block, usize, usize) -> bool, seed: u64) {
    let slots = if cfg!(miri) { 48 } else { 400 };
    let steps = if cfg!(miri) { 80 } else { 20_000 };
    let mut t = Slots::<P>::new(slots);
    let base = t.base();
    let min = t.min;
    let mut rng = Rng::new(seed);
    for step in 0..steps {
        let i = rng.below(slots);
        match (rng.below(10), t.shadow[i]) {
            (0..=4, None) => t.insert(i, &mut rng),
            (0..=3, Some(_)) => t.remove(i),
            (4..=6, Some(e)) => {
                // Replace by a block in the same slot (maybe the same block,
                // maybe 8 bytes on, overlapping its links) or in a free slot.
                let j = rng.below(slots);
                let (j, off) = if t.shadow[j].is_none() { (j, 0) } else { (i, 8 * rng.below(2)) };
                let new = slot_block(base, j, off);
                let new_size = if rng.below(4) == 0 { e.size } else { random_size(&mut rng, min) };
                // SAFETY: `e.block` is indexed with its header unchanged;
                // `new` has link room; the header is written after, and on
                // `false` the heap's order (remove, write, insert) is kept.
                unsafe {
                    let done = t.index.try_replace(e.block, new, new_size);
                    if !done {
                        t.index.remove(e.block);
                    }
                    write_header(new, new_size);
                    if !done {
                        t.index.insert(new);
                    }
                }
                let kept = keeps_place(e.block, new, e.size, new_size);
                if !kept {
                    t.seq += 1;
                }
                t.shadow[i] = None;
                t.shadow[j] = Some(Entry { block: new, size: new_size, seq: if kept { e.seq } else { t.seq } });
            }
            _ => {
                let size = random_size(&mut rng, min) - 8 - 8 * rng.below(3);
                let align = [8, 8, 8, 8, 16, 64, 256, 4096][rng.below(8)];
                let req = Request::new(size.max(1), align, 8, min);
                let entries = t.entries();
                let mut rec = Recorder::<4096>::new();
                // SAFETY: the index holds valid free blocks.
                let s = unsafe { t.index.find(&req, &mut rec) };
                assert_eq!(rec.dropped(), 0, "the recorder is big enough for a whole search");
                check_events(rec.events(), &s);
                // SAFETY: as above, without events.
                let quiet = unsafe { t.index.find(&req, &mut NoObserver) };
                assert_eq!(s, quiet, "the observer changed the search");
                judge(&entries, &req, &s);
                if let Some(fit) = s.fit {
                    let e = entries.iter().find(|e| e.block == fit.block).expect("found block is indexed");
                    assert_eq!(fits(e.block, e.size, &req), Ok(fit), "the fit is what `fits` says");
                    if rng.below(2) == 0 {
                        let j = t.slot(fit.block);
                        debug_assert!(t.shadow[j].is_some_and(|e| e.block == fit.block));
                        t.remove(j);
                    }
                }
            }
        }
        t.verify(step);
        if step % 64 == 0 {
            for (j, e) in t.shadow.iter().enumerate() {
                // SAFETY: every slot holds a readable header-only block or zeros.
                unsafe {
                    match e {
                        Some(e) => assert!(t.index.contains(e.block), "indexed block missing"),
                        None => {
                            let b = fake_block(base, j, random_size(&mut rng, min));
                            assert!(!t.index.contains(b), "unindexed block found");
                        }
                    }
                }
            }
        }
    }
    for e in t.entries() {
        // SAFETY: indexed, header unchanged.
        unsafe { t.index.remove(e.block) };
    }
    assert!(t.index.is_empty());
    // SAFETY: empty.
    unsafe { t.index.check(&|_| true) }.unwrap();
}

/// The size build's [`Policy::take`] (feature `small`): random inserts,
/// removes and takes on an index of header-only blocks. A take returns a
/// block iff the index holds one of at least the size asked; that block
/// is big enough, was indexed, is no longer, and is the one `judge`
/// (which knows the policy's choice rule) expects.
pub fn take_never_misses<P: Policy>(judge: fn(&[Entry], usize, Block)) {
    let slots = if cfg!(miri) { 48 } else { 400 };
    let steps = if cfg!(miri) { 80 } else { 20_000 };
    let mut t = Slots::<P>::new(slots);
    let mut rng = Rng::new(9);
    for step in 0..steps {
        let i = rng.below(slots);
        match (rng.below(3), t.shadow[i]) {
            (0..=1, None) => t.insert(i, &mut rng),
            (0, Some(_)) => t.remove(i),
            _ => {
                let size = random_size(&mut rng, t.min);
                let entries = t.entries();
                // SAFETY: the index holds valid free blocks.
                let got = unsafe { t.index.take(size) };
                assert_eq!(got.is_some(), entries.iter().any(|e| e.size >= size), "take({size}) at step {step}: {got:?}");
                if let Some(b) = got {
                    let e = entries.iter().find(|e| e.block == b).expect("the taken block was indexed");
                    assert!(e.size >= size, "take({size}) returned a block of {} bytes", e.size);
                    judge(&entries, size, b);
                    let j = t.slot(b);
                    t.shadow[j] = None;
                }
            }
        }
        t.verify(step);
    }
}

/// Many free blocks of random sizes (plus one huge block, so that every
/// request has a fit), then random requests: no search may examine more
/// than `bound` blocks.
pub fn few_examined<P: Policy>(bound: usize) {
    let n = if cfg!(miri) { 200 } else { 10_000 };
    let mut buf: Vec<u64> = vec![0; (n + 1) * STRIDE / 8];
    let base = NonNull::new(buf.as_mut_ptr().cast::<u8>()).unwrap();
    let mut p = P::new(P::KIND.unwrap());
    let min = min_block(P::LINKS, 8);
    let mut rng = Rng::new(7);
    for i in 0..n {
        let b = fake_block(base, i, random_size(&mut rng, min).min(1 << 20));
        // SAFETY: a header-only free block with link room, not indexed.
        unsafe { p.insert(b) };
    }
    let huge = fake_block(base, n, MAX_BLOCK);
    // SAFETY: as above.
    unsafe { p.insert(huge) };
    let mut worst = 0;
    for _ in 0..if cfg!(miri) { 100 } else { 5000 } {
        let req = Request::new(random_size(&mut rng, min).min(1 << 20) - 8, 8, 8, min);
        // SAFETY: the index holds valid free blocks.
        let s = unsafe { p.find(&req, &mut NoObserver) };
        assert!(s.fit.is_some());
        worst = worst.max(s.examined);
    }
    assert!(worst <= bound, "a search examined {worst} blocks (bound {bound})");
    drop(buf);
}

/// Random alloc / realloc / free through a real [`crate::heap::Heap`] with
/// this policy, in both coalescing modes: payloads keep their pattern, the
/// heap's integrity check (which runs the index's check) passes after every
/// step, and freeing everything leaves no live block.
pub fn heap_round_trip<P: Policy>() {
    use crate::heap::{Coalesce, Config, Heap};
    use crate::pages::FixedRegion;
    use std::alloc::{alloc_zeroed, dealloc, Layout};

    let len = if cfg!(miri) { 256 * 1024 } else { 4 << 20 };
    let steps = if cfg!(miri) { 40 } else { 4000 };
    for coalesce in [Coalesce::Immediate, Coalesce::Deferred] {
        let layout = Layout::from_size_align(len, 4096).unwrap();
        // SAFETY: non-zero size.
        let mem = unsafe { alloc_zeroed(layout) };
        assert!(!mem.is_null());
        {
            // SAFETY: `mem` is ours for `len` bytes until the heap is dropped.
            let src = unsafe { FixedRegion::new(mem, len) };
            let mut h: Heap<_, P> = Heap::new(src, Config { coalesce, large_min: 16 * 1024, ..Config::DEFAULT });
            let mut live: Vec<(*mut u8, usize, u8)> = Vec::new();
            let mut rng = Rng::new(11);
            for step in 0..steps {
                let r = rng.below(10);
                if r < 5 || live.is_empty() {
                    let big = if cfg!(miri) { 5000 } else { 20_000 };
                    let size = if rng.below(8) == 0 { 1 + rng.below(big) } else { 1 + rng.below(400) };
                    let shift = if rng.below(4) == 0 { 13 } else { 4 };
                    let align = 1 << rng.below(shift);
                    if let Ok(q) = h.alloc(size, align) {
                        assert_eq!(q.as_ptr().addr() % align, 0, "alignment");
                        let pat = step as u8;
                        // SAFETY: the payload has `size` bytes.
                        unsafe { q.as_ptr().write_bytes(pat, size) };
                        live.push((q.as_ptr(), size, pat));
                    }
                } else if r < 7 {
                    let k = rng.below(live.len());
                    let (q, size, pat) = live[k];
                    let new = if rng.below(2) == 0 { 1 + rng.below(600) } else { 1 + rng.below(6000) };
                    if let Ok(n) = h.realloc(q, new) {
                        // SAFETY: realloc keeps min(size, new) bytes.
                        let kept = unsafe { core::slice::from_raw_parts(n.as_ptr(), size.min(new)) };
                        assert!(kept.iter().all(|&x| x == pat), "realloc kept the payload");
                        // SAFETY: the payload has `new` bytes.
                        unsafe { n.as_ptr().write_bytes(pat, new) };
                        live[k] = (n.as_ptr(), new, pat);
                    }
                } else {
                    let (q, size, pat) = live.swap_remove(rng.below(live.len()));
                    // SAFETY: live payload of `size` bytes.
                    let bytes = unsafe { core::slice::from_raw_parts(q, size) };
                    assert!(bytes.iter().all(|&x| x == pat), "payload intact until free");
                    h.free(q).unwrap();
                }
                h.check().unwrap_or_else(|e| panic!("{coalesce:?} step {step}: {e}"));
            }
            for (q, _, _) in live.drain(..) {
                h.free(q).unwrap();
            }
            h.sweep();
            h.check().unwrap();
            let s = h.stats();
            assert_eq!((s.live_blocks, s.allocated_bytes), (0, 0), "{s:?}");
            assert!(s.free_blocks <= 1, "everything merged: {s:?}");
        }
        // SAFETY: allocated above with this layout; the heap is gone.
        unsafe { dealloc(mem, layout) };
    }
}
