//! One model-based property suite over both faces of the engine: the
//! global-allocator face (`LeanHeap`) and the checked face (`Heap`, called
//! directly and as a `GlobalAlloc`) under both coalescing modes with quick
//! lists on and off, for every policy.
//! Each random program runs against a shadow of the live ranges (no two
//! overlap, every payload keeps its bytes, alignment holds), with the
//! face's integrity walk after every step, and ends by freeing everything
//! and checking that the heap merged back into one free block per region.

use crate::common::Region;
use crate::suites::{ops, Op, SLOTS};
use heaplab::global::GlobalHeap;
use heaplab::heap::{Coalesce, Config, Heap};
use heaplab::lean::LeanHeap;
use heaplab::pages::FixedRegion;
use heaplab::policy::Policy;
use heaplab::Stats;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::ptr::NonNull;

/// What the suite needs of a face.
pub trait Face {
    fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>>;
    /// # Safety
    /// `p` is live with `old` requested bytes and alignment `align`.
    unsafe fn realloc(&mut self, p: NonNull<u8>, old: usize, size: usize, align: usize) -> Option<NonNull<u8>>;
    /// # Safety
    /// `p` is live with `size` requested bytes and alignment `align`.
    unsafe fn free(&mut self, p: NonNull<u8>, size: usize, align: usize);
    fn check(&self) -> Result<(), String>;
    /// Flushes the quick lists (and sweeps, under deferred coalescing).
    fn merge_all(&mut self);
    fn stats(&self) -> Stats;
}

impl<P: Policy> Face for LeanHeap<FixedRegion, P> {
    fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        LeanHeap::alloc(self, size, align)
    }
    unsafe fn realloc(&mut self, p: NonNull<u8>, old: usize, size: usize, align: usize) -> Option<NonNull<u8>> {
        // SAFETY: forwarded to the caller.
        unsafe { LeanHeap::realloc(self, p, old, size, align) }
    }
    unsafe fn free(&mut self, p: NonNull<u8>, size: usize, _align: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.free_sized(p, size) }
    }
    fn check(&self) -> Result<(), String> {
        LeanHeap::check(self).map_err(|e| e.to_string())
    }
    fn merge_all(&mut self) {
        self.flush();
    }
    fn stats(&self) -> Stats {
        LeanHeap::stats(self)
    }
}

impl<P: Policy> Face for Heap<FixedRegion, P> {
    fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        Heap::alloc(self, size, align).ok()
    }
    unsafe fn realloc(&mut self, p: NonNull<u8>, _old: usize, size: usize, align: usize) -> Option<NonNull<u8>> {
        self.realloc_aligned(p.as_ptr(), size, align).ok()
    }
    unsafe fn free(&mut self, p: NonNull<u8>, _size: usize, _align: usize) {
        Heap::free(self, p.as_ptr()).expect("free of a live allocation");
        // A second free is refused and changes nothing, quick lists or not
        // (told apart as a double free where the freed header survives:
        // `quick_lists_in_the_checked_face`, `errors.rs`).
        let code = Heap::free(self, p.as_ptr()).unwrap_err().code();
        assert!(code == "double-free" || code == "invalid-free", "second free: {code}");
    }
    fn check(&self) -> Result<(), String> {
        Heap::check(self).map_err(|e| e.to_string())
    }
    fn merge_all(&mut self) {
        self.sweep();
    }
    fn stats(&self) -> Stats {
        Heap::stats(self)
    }
}

/// The checked face as a program's `#[global_allocator]` has it: the heap
/// behind its lock, called through `GlobalAlloc` with `Layout`s (its own
/// allocation, resize and free paths: `Heap::alloc_layout` and kin).
impl<P: Policy + Send> Face for GlobalHeap<FixedRegion, P> {
    fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        // SAFETY: any layout (size 0 is served as 1 byte).
        NonNull::new(unsafe { GlobalAlloc::alloc(self, Layout::from_size_align(size, align).ok()?) })
    }
    unsafe fn realloc(&mut self, p: NonNull<u8>, old: usize, size: usize, align: usize) -> Option<NonNull<u8>> {
        // SAFETY: `p` is live with this layout (caller).
        NonNull::new(unsafe { GlobalAlloc::realloc(self, p.as_ptr(), Layout::from_size_align(old, align).ok()?, size) })
    }
    unsafe fn free(&mut self, p: NonNull<u8>, size: usize, align: usize) {
        let l = Layout::from_size_align(size, align).expect("a live allocation's layout");
        // SAFETY: `p` is live with this layout (caller).
        unsafe { GlobalAlloc::dealloc(self, p.as_ptr(), l) };
        self.with(|h| assert!(!h.is_live(p.as_ptr().addr()), "dealloc left {p:p} live"));
    }
    fn check(&self) -> Result<(), String> {
        self.with(|h| h.check().map_err(|e| e.to_string()))
    }
    fn merge_all(&mut self) {
        // SAFETY: `sweep` only merges free blocks; every live one stays.
        unsafe { self.with_mut(|h| h.sweep()) }.expect("not in use");
    }
    fn stats(&self) -> Stats {
        self.with(|h| h.stats())
    }
}

#[derive(Clone, Copy)]
struct Live {
    ptr: NonNull<u8>,
    size: usize,
    align: usize,
    seed: u8,
}

fn pattern(seed: u8, i: usize) -> u8 {
    seed.wrapping_add((i as u8).wrapping_mul(31))
}

/// Bytes of a payload patterned and verified (its start and its end).
fn spots(size: usize) -> impl Iterator<Item = usize> {
    (0..size.min(512)).chain(size.saturating_sub(64).max(512)..size)
}

/// Runs `ops` on `face` against the shadow model.
pub fn run(face: &mut impl Face, ops: &[Op]) {
    let mut live: Vec<Option<Live>> = vec![None; SLOTS];
    let mut ranges: BTreeMap<usize, usize> = BTreeMap::new();
    let add = |ranges: &mut BTreeMap<usize, usize>, l: &Live| {
        let a = l.ptr.as_ptr().addr();
        assert_eq!(a % l.align, 0, "payload {a:#x} not aligned to {}", l.align);
        if let Some((&s, &e)) = ranges.range(..a + l.size).next_back() {
            assert!(e <= a, "payload {a:#x}+{} overlaps live {s:#x}..{e:#x}", l.size);
        }
        ranges.insert(a, a + l.size);
    };
    // The first `n` bytes of what was filled for `l.size` bytes.
    let verify = |l: &Live, n: usize| {
        for i in spots(l.size).filter(|&i| i < n) {
            // SAFETY: the payload is live with at least `n` bytes.
            assert_eq!(unsafe { l.ptr.as_ptr().add(i).read() }, pattern(l.seed, i), "byte {i} of {:p} changed", l.ptr);
        }
    };
    let fill = |l: &Live| {
        for i in spots(l.size) {
            // SAFETY: as above.
            unsafe { l.ptr.as_ptr().add(i).write(pattern(l.seed, i)) };
        }
    };
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Alloc { slot, size, align_log } => {
                if let Some(l) = live[slot].take() {
                    verify(&l, l.size);
                    ranges.remove(&l.ptr.as_ptr().addr());
                    // SAFETY: `l` is live.
                    unsafe { face.free(l.ptr, l.size, l.align) };
                }
                let align = 1 << align_log;
                let p = face.alloc(size, align).expect("the region is large enough");
                let l = Live { ptr: p, size, align, seed: (step as u8).wrapping_mul(7) };
                add(&mut ranges, &l);
                fill(&l);
                live[slot] = Some(l);
            }
            Op::Realloc { slot, size } => {
                let l = match live[slot].take() {
                    None => {
                        let p = face.alloc(size, 8).expect("the region is large enough");
                        Live { ptr: p, size, align: 8, seed: (step as u8).wrapping_mul(7) }
                    }
                    Some(old) => {
                        verify(&old, old.size);
                        ranges.remove(&old.ptr.as_ptr().addr());
                        // SAFETY: `old` is live with its size and alignment.
                        let p = unsafe { face.realloc(old.ptr, old.size, size, old.align) }.expect("the region is large enough");
                        verify(&Live { ptr: p, ..old }, old.size.min(size));
                        Live { ptr: p, size, align: old.align, seed: old.seed.wrapping_add(1) }
                    }
                };
                add(&mut ranges, &l);
                fill(&l);
                live[slot] = Some(l);
            }
            Op::Free { slot } => {
                if let Some(l) = live[slot].take() {
                    verify(&l, l.size);
                    ranges.remove(&l.ptr.as_ptr().addr());
                    // SAFETY: `l` is live.
                    unsafe { face.free(l.ptr, l.size, l.align) };
                }
            }
        }
        if let Err(e) = face.check() {
            panic!("check failed after step {step} ({op:?}): {e}");
        }
        assert_eq!(face.stats().live_blocks, ranges.len(), "live blocks after step {step}");
    }
    for l in live.iter_mut().filter_map(Option::take) {
        // SAFETY: `l` is live.
        unsafe { face.free(l.ptr, l.size, l.align) };
    }
    face.merge_all();
    face.check().unwrap();
    let s = face.stats();
    assert_eq!((s.live_blocks, s.quick_blocks, s.quick_bytes), (0, 0, 0), "{s:?}");
    assert!(s.free_blocks <= s.segments.max(s.arenas).max(1), "freed everything, yet not merged: {s:?}");
}

/// The configurations of the checked face: both coalescing modes, quick
/// lists on and off, granule 8 and 16, split and large-object thresholds.
pub fn checked_configs() -> impl Strategy<Value = Config> {
    let thresholds = (prop_oneof![Just(0usize), Just(64), Just(256)], prop_oneof![Just(64 * 1024), Just(8192)]);
    (any::<bool>(), any::<bool>(), any::<bool>(), thresholds).prop_map(|(deferred, quick_lists, g16, (split_min, large_min))| Config {
        coalesce: if deferred { Coalesce::Deferred } else { Coalesce::Immediate },
        quick_lists,
        align: if g16 { 16 } else { 8 },
        split_min,
        large_min,
        ..Config::DEFAULT
    })
}

/// The region each random program runs in (Miri runs shorter programs of
/// smaller blocks, see `suites::ops`, in a smaller region).
const REGION: usize = if cfg!(miri) { 1 << 20 } else { 16 << 20 };

macro_rules! faces_suite {
    ($name:ident, $policy:ty) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 2 } else { 64 }, ..ProptestConfig::default() })]
                #[test]
                fn lean_face(ops in ops()) {
                    let r = Region::new(REGION);
                    let mut h: LeanHeap<FixedRegion, $policy> = LeanHeap::new(r.source());
                    run(&mut h, &ops);
                }

                #[test]
                fn checked_face(ops in ops(), config in checked_configs()) {
                    let r = Region::new(REGION);
                    let mut h: Heap<FixedRegion, $policy> = Heap::new(r.source(), config);
                    run(&mut h, &ops);
                }

                #[test]
                fn checked_face_as_global_allocator(ops in ops(), config in checked_configs()) {
                    let r = Region::new(REGION);
                    let mut h: GlobalHeap<FixedRegion, $policy> = GlobalHeap::new(Heap::new(r.source(), config));
                    run(&mut h, &ops);
                }
            }
        }
    };
}

faces_suite!(first_fit, heaplab::policy::FirstFit);
faces_suite!(next_fit, heaplab::policy::NextFit);
faces_suite!(best_fit, heaplab::policy::BestFit);
faces_suite!(worst_fit, heaplab::policy::WorstFit);
faces_suite!(segregated, heaplab::policy::Segregated);

/// The region of each face in [`every_kind_through_both_faces`]: Miri
/// zeroes and tracks every byte, so it gets a smaller one.
const KINDS_REGION: usize = if cfg!(miri) { 1 << 20 } else { 8 << 20 };

/// Coalescing mode and quick lists: every combination.
const MODES: [(Coalesce, bool); 4] = [(Coalesce::Immediate, false), (Coalesce::Immediate, true), (Coalesce::Deferred, false), (Coalesce::Deferred, true)];

/// `AnyPolicy` chosen at run time, every kind, through both faces.
#[test]
fn every_kind_through_both_faces() {
    use heaplab::policy::{AnyPolicy, PolicyKind};
    let ops: Vec<Op> = (0..if cfg!(miri) { 24 } else { 300 })
        .map(|i| match i % 5 {
            0 | 1 => Op::Alloc { slot: i % SLOTS, size: 1 + (i * 37) % 900, align_log: (i % 5) as u32 },
            2 => Op::Realloc { slot: (i * 7) % SLOTS, size: 1 + (i * 53) % 3000 },
            _ => Op::Free { slot: (i * 3) % SLOTS },
        })
        .collect();
    for &kind in PolicyKind::ALL {
        let r = Region::new(KINDS_REGION);
        let mut lean: LeanHeap<FixedRegion, AnyPolicy> = LeanHeap::with_policy(r.source(), kind);
        run(&mut lean, &ops);
        // (Miri, slow, takes two of the four: each mode and each quick-list
        // setting once.)
        for (coalesce, quick_lists) in MODES.iter().copied().step_by(if cfg!(miri) { 3 } else { 1 }) {
            let r = Region::new(KINDS_REGION);
            let mut h: Heap<FixedRegion, AnyPolicy> = Heap::new(r.source(), Config { policy: kind, coalesce, quick_lists, ..Config::DEFAULT });
            run(&mut h, &ops);
        }
    }
}

/// The quick lists run in the checked face as in the lean one: a freed
/// small block is taken back by the next request of its size, and a flush
/// merges it.
#[cfg(not(feature = "small"))] // the size build has no quick lists
#[test]
fn quick_lists_in_the_checked_face() {
    use heaplab::events::{Event, Recorder};
    use heaplab::policy::Segregated;
    let r = Region::new(1 << 20);
    let mut h: Heap<FixedRegion, Segregated, Recorder<64>> = Heap::with_observer(r.source(), Config::DEFAULT, Recorder::new());
    let a = h.alloc(40, 8).unwrap();
    let _pin = h.alloc(40, 8).unwrap();
    h.free(a.as_ptr()).unwrap();
    assert!(h.blocks().any(|b| b.quick && !b.used && b.payload == a.as_ptr().addr()), "the freed block waits on its quick list");
    assert_eq!(h.stats().quick_blocks, 1);
    assert_eq!(h.free(a.as_ptr()).unwrap_err().code(), "double-free");
    h.observer_mut().clear();
    let b = h.alloc(40, 8).unwrap();
    assert_eq!(b, a, "the quick block serves the next request of its size");
    assert!(h.observer().events().iter().any(|e| matches!(e, Event::QuickTake { block, .. } if *block == a.as_ptr().addr() - 8)));
    h.free(b.as_ptr()).unwrap();
    h.observer_mut().clear();
    assert!(h.flush());
    assert_eq!(h.observer().events().last(), Some(&Event::Flush { blocks: 1 }));
    assert_eq!(h.stats().quick_blocks, 0);
    h.check().unwrap();
}

/// For best fit, a small block freed right before the wilderness
/// merges into it at once in both faces (a quick list would keep the
/// heap's end cut); one between used blocks waits on its quick list.
/// Segregated fit keeps both on their quick list, as worst fit, which keeps
/// no wilderness (`PolicyKind::merge_before_tail`).
#[cfg(not(feature = "small"))] // the size build has no quick lists
#[test]
fn a_block_before_the_wilderness_skips_the_quick_list() {
    use heaplab::lean::LeanHeap;
    use heaplab::policy::{BestFit, Segregated, WorstFit};
    fn expected<P: heaplab::policy::Policy>() -> (usize, &'static str) {
        if P::KIND.unwrap().merge_before_tail() {
            (1, "b, before the wilderness, merged into it")
        } else {
            (2, "b, before the wilderness, waits on its quick list too")
        }
    }
    fn lean<P: heaplab::policy::Policy>() {
        let r = Region::new(1 << 20);
        let mut h: LeanHeap<FixedRegion, P> = LeanHeap::new(r.source());
        let a = h.alloc(40, 8).unwrap();
        let b = h.alloc(40, 8).unwrap();
        // SAFETY: `a` and `b` are live allocations of this heap, freed once.
        unsafe {
            h.free(a);
            assert_eq!(h.stats().quick_blocks, 1, "a, before b, waits on its quick list");
            h.free(b);
        }
        let (quick, why) = expected::<P>();
        assert_eq!(h.stats().quick_blocks, quick, "{why}");
        h.check().unwrap();
    }
    fn checked<P: heaplab::policy::Policy>() {
        let r = Region::new(1 << 20);
        let mut h: Heap<FixedRegion, P> = Heap::new(r.source(), Config::DEFAULT);
        let a = h.alloc(40, 8).unwrap();
        let b = h.alloc(40, 8).unwrap();
        h.free(a.as_ptr()).unwrap();
        assert_eq!(h.stats().quick_blocks, 1, "a, before b, waits on its quick list");
        h.free(b.as_ptr()).unwrap();
        let (quick, why) = expected::<P>();
        assert_eq!(h.stats().quick_blocks, quick, "{why}");
        let b_block = h.blocks().find(|x| x.payload == b.as_ptr().addr());
        let merged = b_block.is_some_and(|x| !x.used && !x.quick);
        assert_eq!(merged, quick == 1, "b starts the free block at the heap's end iff it merged");
        assert_eq!(b_block.is_some_and(|x| x.quick), quick == 2, "b is a quick block iff it did not merge");
        h.check().unwrap();
    }
    lean::<Segregated>();
    lean::<BestFit>();
    lean::<WorstFit>();
    checked::<Segregated>();
    checked::<BestFit>();
    checked::<WorstFit>();
}

/// The checked face slides a growing block into the free block before it,
/// as the lean face does (no search, the hole filled).
#[cfg(not(feature = "small"))] // the size build has no realloc slide
#[test]
fn realloc_slides_in_the_checked_face() {
    use heaplab::events::{Event, Recorder};
    use heaplab::policy::FirstFit;
    let r = Region::new(1 << 20);
    let mut h: Heap<FixedRegion, FirstFit, Recorder<64>> = Heap::with_observer(r.source(), Config::DEFAULT, Recorder::new());
    let a = h.alloc(200, 8).unwrap();
    let b = h.alloc(100, 8).unwrap();
    let _pin = h.alloc(100, 8).unwrap();
    // SAFETY: `b` has 100 bytes.
    unsafe { b.as_ptr().write_bytes(0x5a, 100) };
    h.free(a.as_ptr()).unwrap();
    h.observer_mut().clear();
    let c = h.realloc(b.as_ptr(), 250).unwrap();
    assert_eq!(c, a, "slid down into the free block before it");
    assert!(h.observer().events().iter().any(|e| matches!(e, Event::Slide { .. })));
    // SAFETY: `c` has 250 bytes, the first 100 copied.
    assert!(unsafe { std::slice::from_raw_parts(c.as_ptr(), 100) }.iter().all(|&x| x == 0x5a));
    assert!(h.is_live(c.as_ptr().addr()) && !h.is_live(b.as_ptr().addr()));
    h.check().unwrap();
}

/// malloc-lab's realloc-bal pattern, built here: a buffer grows by 128
/// bytes at a time while a small block comes and goes beside it. Returns
/// the peak of live bytes over the span of the payloads, and how many
/// times the buffer moved.
#[cfg(not(feature = "small"))]
fn growing_buffer(face: &mut impl Face, steps: usize) -> (f64, usize) {
    let mut buf = face.alloc(512, 8).unwrap();
    let mut size = 512;
    let mut small = face.alloc(128, 8).unwrap();
    let (mut lo, mut hi, mut peak, mut moves) = (usize::MAX, 0, 0, 0);
    for _ in 0..steps {
        // SAFETY: `buf` is live with `size` bytes; `small` with 128.
        let next = unsafe { face.realloc(buf, size, size + 128, 8) }.unwrap();
        moves += usize::from(next != buf);
        (buf, size) = (next, size + 128);
        let other = face.alloc(128, 8).unwrap();
        // SAFETY: as above.
        unsafe { face.free(small, 128, 8) };
        small = other;
        for (p, n) in [(buf, size), (small, 128)] {
            lo = lo.min(p.as_ptr().addr());
            hi = hi.max(p.as_ptr().addr() + n);
        }
        peak = peak.max(size + 256);
    }
    face.check().unwrap();
    (peak as f64 / (hi - lo) as f64, moves)
}

/// A block that ends its region grows into new memory in place, on both
/// faces and with every policy: realloc-bal's buffer keeps its span within
/// a few percent of the live bytes (58 % on the lean face when it moved
/// whenever the region ended; the checked face moved it again when it
/// crossed `large_min`, and when the page map moved in its way). With
/// memory that comes after a gap it moves, and the heap stays whole.
#[cfg(not(feature = "small"))] // the size build grows a segment's last block by moving it
#[test]
fn a_buffer_growing_at_the_end_grows_in_place() {
    use heaplab::policy::{AnyPolicy, PolicyKind};
    let steps = if cfg!(miri) { 40 } else { 3000 };
    for &kind in PolicyKind::ALL {
        // Next fit puts the small block wherever its rover is, often after
        // the buffer, and worst fit into the largest free block: the one
        // at the end. Both then move the buffer by design; their heaps
        // must stay whole (the walk in `growing_buffer`).
        let in_place = !matches!(kind, PolicyKind::NextFit | PolicyKind::WorstFit);
        let r = Region::new(KINDS_REGION);
        let mut lean: LeanHeap<FixedRegion, AnyPolicy> = LeanHeap::with_policy(r.source(), kind);
        // (Under Miri's 40 steps the first move's hole weighs more.)
        let floor = if cfg!(miri) { 0.9 } else { 0.97 };
        let (u, moves) = growing_buffer(&mut lean, steps);
        assert!((u > floor && moves <= 2) || !in_place, "lean {kind:?}: utilization {u:.3}, {moves} moves");
        let r = Region::new(KINDS_REGION);
        let mut h: Heap<FixedRegion, AnyPolicy> = Heap::new(r.source(), Config { policy: kind, ..Config::DEFAULT });
        let (u, moves) = growing_buffer(&mut h, steps);
        assert!((u > floor && moves <= 2) || !in_place, "checked {kind:?}: utilization {u:.3}, {moves} moves");
        assert!(h.blocks().all(|b| !b.large) || !in_place, "checked {kind:?}: the buffer became a large object by moving");
    }
    // Memory after a gap: the buffer moves, the heaps stay whole.
    let r = Region::new(KINDS_REGION);
    let mut lean: LeanHeap<FixedRegion, heaplab::policy::Segregated> = LeanHeap::new(r.source_with_gap(8 * 4096));
    let (_, moves) = growing_buffer(&mut lean, steps / 4);
    assert!(moves > 0);
    let r = Region::new(KINDS_REGION);
    let mut h: Heap<FixedRegion, AnyPolicy> = Heap::new(r.source_with_gap(8 * 4096), Config::DEFAULT);
    let (_, moves) = growing_buffer(&mut h, steps / 4);
    assert!(moves > 0);
}

/// A page-aligned request among many small free blocks whose addresses do
/// not suit it: best and worst fit look at a bounded number of them, then
/// where every block fits (they walked every one: best fit's 10k-live
/// benchmark spent 17 % of its time there).
#[test]
fn an_over_aligned_request_looks_at_a_bounded_number_of_blocks() {
    use heaplab::policy::{BestFit, WorstFit};
    fn run<P: Policy>() {
        let r = Region::new(8 << 20);
        let mut h: Heap<FixedRegion, P> = Heap::new(r.source(), Config { quick_lists: false, ..Config::DEFAULT });
        // 400 free blocks of exactly the request's size, 144 bytes apart
        // (so that one in 256 at most starts a page), and one of 8 KiB.
        let mut keep = Vec::new();
        let mut holes = Vec::new();
        for _ in 0..400 {
            holes.push(h.alloc(88, 8).unwrap());
            keep.push(h.alloc(40, 8).unwrap());
        }
        let big = h.alloc(8192, 8).unwrap();
        keep.push(h.alloc(24, 8).unwrap());
        for p in holes {
            h.free(p.as_ptr()).unwrap();
        }
        h.free(big.as_ptr()).unwrap();
        let p = h.alloc(88, 4096).unwrap();
        assert!(p.as_ptr().addr().is_multiple_of(4096));
        let examined = h.stats().last_examined;
        assert!(examined <= 32 + 40, "{examined} blocks examined for one request");
        h.check().unwrap();
    }
    run::<BestFit>();
    run::<WorstFit>();
}
