//! The lean heap (`heaplab::lean::LeanHeap`) and its `GlobalAlloc` adapter
//! (`heaplab::global::GlobalLeanHeap`), on every policy type and on
//! `AnyPolicy` with every kind.
//!
//! The lean heap validates nothing on free, so these tests only ever free
//! what it handed out, once; what they check is what it hands out:
//!
//! * a property test per policy against a shadow model: every payload
//!   aligned, inside the region, overlapping no other live block, at least
//!   as big as asked; contents survive until freed or resized; `check()`
//!   and the figures of `stats()` agree with the model after every step;
//!   after freeing everything each segment is one free block, and that
//!   block serves a request of its whole size without growing;
//! * growth that is not contiguous (`FixedRegion::with_gap`), out of
//!   memory (only when no free block could serve the request), impossible
//!   sizes and alignments (refused, nothing changed), a failing realloc
//!   (old block intact), the documented in-place realloc, realloc between
//!   free neighbours, blocks of `MAX_SIZE` (64-bit hosts, not under Miri);
//! * `GlobalLeanHeap` through `GlobalAlloc`, over a boxed region per policy
//!   and over a static region from several threads.

use heaplab::block::{round_up, Request, HEADER};
use heaplab::global::GlobalLeanHeap;
use heaplab::lean::{LeanHeap, GRANULE, MAX_ALIGN, MAX_SIZE, QUICK_MAX};
use heaplab::pages::{FixedRegion, PAGE, WASM_PAGE};
use heaplab::policy::{AnyPolicy, BestFit, FirstFit, NextFit, Policy, PolicyKind, Segregated, WorstFit};
use heaplab::Stats;
use proptest::prelude::*;
use std::alloc::{alloc, alloc_zeroed, dealloc, GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::ptr::NonNull;

type Lean<P> = LeanHeap<FixedRegion, P>;

/// Bytes at most lost per segment to its head, padding and epilogue.
const SEGMENT_OVERHEAD_MAX: usize = 64;

/// Runs `$f::<P>(kind)` for every policy type, then for `AnyPolicy` with
/// every kind.
macro_rules! each_policy {
    ($f:ident) => {{
        $f::<FirstFit>(PolicyKind::FirstFit);
        $f::<NextFit>(PolicyKind::NextFit);
        $f::<BestFit>(PolicyKind::BestFit);
        $f::<WorstFit>(PolicyKind::WorstFit);
        $f::<Segregated>(PolicyKind::Segregated);
        for &kind in PolicyKind::ALL {
            $f::<AnyPolicy>(kind);
        }
    }};
}

/// A region from the system allocator, freed on drop. Unlike
/// `common::Region` it can be filled with junk (the lean heap must not
/// rely on zeroed memory) and tells its bounds.
struct Mem {
    ptr: *mut u8,
    len: usize,
    layout: Layout,
}

impl Mem {
    /// `len` bytes, every one `junk`.
    fn new(len: usize, junk: u8) -> Self {
        let layout = Layout::from_size_align(len, PAGE).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc(layout) };
        assert!(!ptr.is_null(), "test region allocation failed");
        // SAFETY: `len` bytes were just allocated.
        unsafe { ptr.write_bytes(junk, len) };
        Mem { ptr, len, layout }
    }

    /// `len` zeroed bytes, or `None` when the system refuses that much.
    /// Only the pages the heap writes are ever touched, so gigabytes cost
    /// nothing; hence alignment 16, not 4 KiB (the source rounds the start
    /// up): above 16 the system allocator would zero every byte itself.
    fn zeroed(len: usize) -> Option<Self> {
        let layout = Layout::from_size_align(len, 16).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(Mem { ptr, len, layout })
    }

    /// A source over the whole region, skipping `gap` bytes between growth
    /// steps when `gap > 0`. The caller drops the heap before `self`.
    fn source(&self, gap: usize) -> FixedRegion {
        // SAFETY: the region is initialized, used only by this source and
        // outlives the heap built on it (every test drops the heap first).
        unsafe {
            if gap == 0 {
                FixedRegion::new(self.ptr, self.len)
            } else {
                FixedRegion::with_gap(self.ptr, self.len, gap)
            }
        }
    }

    fn contains(&self, start: usize, len: usize) -> bool {
        start >= self.ptr.addr() && start.checked_add(len).is_some_and(|end| end <= self.ptr.addr() + self.len)
    }
}

impl Drop for Mem {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// A heap of policy type `P` using `kind`, checked to report it.
fn heap<P: Policy>(mem: &Mem, kind: PolicyKind, gap: usize) -> Lean<P> {
    let h = LeanHeap::with_policy(mem.source(gap), kind);
    assert_eq!(h.policy(), kind);
    assert_eq!(h.stats(), Stats::default(), "a new heap takes no memory");
    h.check().unwrap();
    h
}

fn pattern(seed: u8, i: usize) -> u8 {
    seed.wrapping_add((i as u8).wrapping_mul(31)) ^ (i >> 8) as u8
}

fn fill(p: NonNull<u8>, seed: u8, from: usize, to: usize) {
    for i in from..to {
        // SAFETY: callers pass a live payload of at least `to` bytes.
        unsafe { p.add(i).write(pattern(seed, i)) };
    }
}

#[track_caller]
fn verify(p: NonNull<u8>, seed: u8, from: usize, to: usize) {
    for i in from..to {
        // SAFETY: callers pass a live payload of at least `to` bytes.
        let v = unsafe { p.add(i).read() };
        assert_eq!(v, pattern(seed, i), "byte {i} of the payload at {p:p} changed");
    }
}

/// One live allocation of the model.
#[derive(Clone, Copy, Debug)]
struct Live {
    ptr: NonNull<u8>,
    size: usize,
    align: usize,
    /// Derived from the allocation's id; kept across reallocs.
    seed: u8,
}

/// A lean heap and a shadow model of what it handed out.
struct Model<'a, P: Policy> {
    heap: Lean<P>,
    mem: &'a Mem,
    slots: Vec<Option<Live>>,
    /// Live blocks' usable ranges: payload start → payload + usable size.
    ranges: BTreeMap<usize, usize>,
    next_id: usize,
    steps: usize,
}

impl<'a, P: Policy> Model<'a, P> {
    fn new(heap: Lean<P>, mem: &'a Mem, slots: usize) -> Self {
        Model { heap, mem, slots: vec![None; slots], ranges: BTreeMap::new(), next_id: 0, steps: 0 }
    }

    fn live(&self) -> impl Iterator<Item = &Live> {
        self.slots.iter().flatten()
    }

    /// Checks a payload just handed out (fresh or resized), records it and
    /// fills its bytes `from..size` with its pattern.
    #[track_caller]
    fn add(&mut self, l: Live, from: usize) {
        let a = l.ptr.addr().get();
        assert_eq!(a % l.align.max(GRANULE), 0, "payload {a:#x} not aligned to {} ({:?})", l.align, self.heap.policy());
        // SAFETY: a live payload of this heap.
        let usable = unsafe { self.heap.usable_size(l.ptr) };
        assert!(usable >= l.size, "usable size {usable} below the request {}", l.size);
        assert!(self.mem.contains(a - HEADER, usable + HEADER), "block {a:#x}+{usable} outside the region");
        let end = a + usable;
        if let Some((&s, &e)) = self.ranges.range(..end).next_back() {
            assert!(e <= a || s >= end, "payload {a:#x}..{end:#x} overlaps live {s:#x}..{e:#x}");
        }
        self.ranges.insert(a, end);
        fill(l.ptr, l.seed, from, l.size);
    }

    /// Verifies a live allocation's bytes and forgets it.
    fn forget(&mut self, l: &Live) {
        verify(l.ptr, l.seed, 0, l.size);
        self.ranges.remove(&l.ptr.addr().get()).expect("the model holds every live payload");
    }

    /// After every step: `check()`, and `stats()` agreeing with the model.
    #[track_caller]
    fn step(&mut self) {
        self.steps += 1;
        if let Err(e) = self.heap.check() {
            panic!("check failed after step {} ({:?}): {e}", self.steps, self.heap.policy());
        }
        let s = self.heap.stats();
        let live = self.live().count();
        assert_eq!(s.live_blocks, live, "used blocks after step {}: {s:?}", self.steps);
        // SAFETY: live payloads of this heap.
        let used: usize = self.live().map(|l| unsafe { self.heap.usable_size(l.ptr) } + HEADER).sum();
        assert_eq!(s.allocated_bytes, used, "used bytes = the live blocks' usable sizes + headers: {s:?}");
        assert_stats_consistent(&s);
        // The bytes around every block boundary are intact.
        for l in self.live() {
            let n = l.size.min(16);
            verify(l.ptr, l.seed, 0, n);
            verify(l.ptr, l.seed, l.size - n, l.size);
        }
    }

    fn free_slot(&mut self, slot: usize) {
        if let Some(l) = self.slots[slot].take() {
            self.forget(&l);
            // SAFETY: handed out by this heap and freed once.
            unsafe { self.heap.free(l.ptr) };
        }
    }

    fn alloc(&mut self, slot: usize, size: usize, align: usize) {
        self.free_slot(slot);
        let p = self.heap.alloc(size, align).unwrap_or_else(|| panic!("alloc({size}, {align}) failed in a big region ({:?})", self.heap.policy()));
        self.next_id += 1;
        let l = Live { ptr: p, size, align, seed: (self.next_id as u8).wrapping_mul(151).wrapping_add(7) };
        self.add(l, 0);
        self.slots[slot] = Some(l);
        self.step();
    }

    fn realloc(&mut self, slot: usize, size: usize) {
        let Some(old) = self.slots[slot] else { return self.alloc(slot, size, 8) };
        verify(old.ptr, old.seed, 0, old.size);
        // SAFETY: a live payload.
        let usable = unsafe { self.heap.usable_size(old.ptr) };
        // SAFETY: handed out by this heap with `old.size` and `old.align`.
        let p = unsafe { self.heap.realloc(old.ptr, old.size, size, old.align) };
        let p = p.unwrap_or_else(|| panic!("realloc({}, {size}) failed in a big region", old.size));
        // In place, unless it shrinks to half its block or less with a
        // fast-index policy: then it may move to a free block that fits
        // (not in the size build).
        let need = round_up(size + HEADER, GRANULE).max(round_up(P::MIN_BLOCK, GRANULE));
        let fast_index = matches!(self.heap.policy(), PolicyKind::Segregated | PolicyKind::BestFit | PolicyKind::WorstFit);
        let may_move = cfg!(not(feature = "small")) && fast_index && 2 * need <= usable + HEADER;
        if size <= usable && !may_move {
            assert_eq!(p, old.ptr, "realloc to {size} within the usable {usable} bytes must stay in place");
        }
        self.ranges.remove(&old.ptr.addr().get());
        let kept = old.size.min(size);
        verify(p, old.seed, 0, kept);
        let l = Live { ptr: p, size, ..old };
        self.add(l, kept);
        self.slots[slot] = Some(l);
        self.step();
    }

    fn free(&mut self, slot: usize) {
        self.free_slot(slot);
        self.step();
    }

    /// Frees everything, then asserts each segment merged back into one
    /// free block that serves a request of its whole size without growing.
    fn free_all(&mut self) {
        for slot in 0..self.slots.len() {
            self.free_slot(slot);
        }
        self.step();
        assert_all_free(&mut self.heap);
    }
}

/// Figures that must agree with each other in any state.
#[track_caller]
fn assert_stats_consistent(s: &Stats) {
    let held = s.allocated_bytes + s.quick_bytes + s.free_bytes;
    assert!(held <= s.heap_bytes, "{s:?}");
    assert!(s.heap_bytes - held <= s.segments * SEGMENT_OVERHEAD_MAX, "bytes lost outside blocks: {s:?}");
    assert_eq!(s.quick_bytes % GRANULE, 0, "{s:?}");
    assert!(s.quick_bytes <= s.quick_blocks * QUICK_MAX, "quick blocks are small: {s:?}");
    assert!(s.largest_free <= s.free_bytes, "{s:?}");
    assert_eq!(s.free_blocks == 0, s.free_bytes == 0, "{s:?}");
    assert_eq!(s.segments == 0, s.heap_bytes == 0, "{s:?}");
    assert_eq!(s.allocated_bytes % GRANULE, 0, "{s:?}");
    assert_eq!(s.free_bytes % GRANULE, 0, "{s:?}");
}

/// Nothing live: every segment is exactly one free block, and the largest
/// one serves a request of its whole size without taking more memory.
#[track_caller]
fn assert_all_free<P: Policy>(h: &mut Lean<P>) {
    h.check().unwrap();
    // Small freed blocks wait on the quick lists until the heap needs them
    // merged; flush puts them back.
    let q = h.stats();
    assert_eq!(h.flush(), q.quick_blocks > 0, "flush reports whether it had quick blocks: {q:?}");
    h.check().unwrap();
    let s = h.stats();
    assert_eq!(s.quick_blocks, 0, "flush empties the quick lists: {s:?}");
    assert_eq!((s.live_blocks, s.allocated_bytes), (0, 0), "{s:?}");
    assert_eq!(s.free_blocks, s.segments, "each segment must have merged into one free block: {s:?}");
    assert_stats_consistent(&s);
    if s.largest_free > 0 {
        // (A whole fresh segment can hold a block above MAX_SIZE.)
        let size = (s.largest_free - HEADER).min(MAX_SIZE);
        let p = h.alloc(size, 1).unwrap_or_else(|| panic!("the largest free block ({} bytes) did not serve {size} bytes ({:?})", s.largest_free, h.policy()));
        let t = h.stats();
        assert_eq!((t.segments, t.heap_bytes), (s.segments, s.heap_bytes), "the heap grew to serve {size} bytes it had");
        assert_eq!(t.live_blocks, 1);
        if size < MAX_SIZE {
            assert_eq!(t.allocated_bytes, s.largest_free, "a request of a free block's whole size takes all of it");
        }
        h.check().unwrap();
        // SAFETY: just allocated.
        unsafe { h.free(p) };
        assert_eq!(h.stats(), s, "free of the whole block restores the heap");
        h.check().unwrap();
    }
}

// ---------------------------------------------------------------------------
// The model property test.

// The program steps and slot count are the checked heap's suite's; the
// sizes and alignments below reach further (MAX_ALIGN, 200 KB blocks).
use crate::suites::{Op, SLOTS};

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 1usize..=64,
        6 => 65usize..=1024,
        4 => 1025usize..=5000,
        1 => 5001usize..=200_000,
    ]
}

fn align_log() -> impl Strategy<Value = u32> {
    prop_oneof![
        12 => 0u32..=4,
        6 => 5u32..=12,
        1 => Just(MAX_ALIGN.trailing_zeros()),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..SLOTS, size(), align_log()).prop_map(|(slot, size, align_log)| Op::Alloc { slot, size, align_log }),
        3 => (0..SLOTS, size()).prop_map(|(slot, size)| Op::Realloc { slot, size }),
        3 => (0..SLOTS).prop_map(|slot| Op::Free { slot }),
    ];
    proptest::collection::vec(op, 1..if cfg!(miri) { 12 } else { 100 })
}

/// Contiguous growth, or gaps of a page or a wasm page between steps.
fn gap() -> impl Strategy<Value = usize> {
    prop_oneof![2 => Just(0usize), 1 => Just(PAGE), 1 => Just(WASM_PAGE)]
}

/// Big enough that no sequence of `ops()` runs out of memory.
const MODEL_REGION: usize = if cfg!(miri) { 4 << 20 } else { 24 << 20 };

thread_local! {
    /// One region per test thread, reused by every case: filled with junk
    /// once, then holding whatever the previous cases left (old headers
    /// and patterns), which is junk the heap must not trust either.
    static MODEL_MEM: Mem = Mem::new(MODEL_REGION, 0xA5);
}

fn run_model<P: Policy>(kind: PolicyKind, ops: &[Op], gap: usize) {
    MODEL_MEM.with(|mem| run_model_in::<P>(mem, kind, ops, gap));
}

fn run_model_in<P: Policy>(mem: &Mem, kind: PolicyKind, ops: &[Op], gap: usize) {
    let mut m = Model::new(heap::<P>(mem, kind, gap), mem, SLOTS);
    for op in ops {
        match *op {
            Op::Alloc { slot, size, align_log } => m.alloc(slot, size, 1 << align_log),
            Op::Realloc { slot, size } => m.realloc(slot, size),
            Op::Free { slot } => m.free(slot),
        }
    }
    if gap == 0 {
        assert!(m.heap.stats().segments <= 1, "contiguous growth must extend the one segment: {:?}", m.heap.stats());
    }
    m.free_all();
}

macro_rules! lean_model {
    ($name:ident, $policy:ty, $kind:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 2 } else { 64 }, ..ProptestConfig::default() })]
            #[test]
            fn $name(ops in ops(), gap in gap()) {
                run_model::<$policy>($kind, &ops, gap);
            }
        }
    };
}

mod model {
    use super::*;

    lean_model!(first_fit, FirstFit, PolicyKind::FirstFit);
    lean_model!(next_fit, NextFit, PolicyKind::NextFit);
    lean_model!(best_fit, BestFit, PolicyKind::BestFit);
    lean_model!(worst_fit, WorstFit, PolicyKind::WorstFit);
    lean_model!(segregated, Segregated, PolicyKind::Segregated);
    lean_model!(any_first_fit, AnyPolicy, PolicyKind::FirstFit);
    lean_model!(any_next_fit, AnyPolicy, PolicyKind::NextFit);
    lean_model!(any_best_fit, AnyPolicy, PolicyKind::BestFit);
    lean_model!(any_worst_fit, AnyPolicy, PolicyKind::WorstFit);
    lean_model!(any_segregated, AnyPolicy, PolicyKind::Segregated);
}

/// A fixed program through every policy: the paths a short random one may
/// miss (long runs of neighbours freed in both orders, reallocs that grow
/// into a free successor, over-aligned blocks next to small ones).
fn fixed_program<P: Policy>(kind: PolicyKind) {
    let mem = Mem::new(8 << 20, 0x3C);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 64);
    let n = if cfg!(miri) { 120 } else { 1500 };
    for i in 0..n {
        let slot = (i * 17 + i / 64) % 64;
        match i % 7 {
            0..=2 => m.alloc(slot, 1 + (i * 97) % 3000, 1 << ((i / 7) % 13)),
            3 => m.realloc(slot, 1 + (i * 211) % 6000),
            4 => m.realloc(slot, 1 + (i * 13) % 200),
            _ => m.free((slot + 1) % 64),
        }
    }
    // Free in address order, then in reverse, half at a time.
    let mut live: Vec<usize> = (0..64).filter(|&s| m.slots[s].is_some()).collect();
    live.sort_by_key(|&s| m.slots[s].unwrap().ptr);
    for (i, &s) in live.iter().enumerate() {
        if i % 2 == 0 {
            m.free(s);
        }
    }
    for &s in live.iter().rev() {
        m.free(s);
    }
    m.free_all();
}

#[test]
fn fixed_program_every_policy() {
    each_policy!(fixed_program);
}

#[test]
fn any_policy_new_is_first_fit() {
    let mem = Mem::new(1 << 20, 0);
    let mut h: Lean<AnyPolicy> = LeanHeap::new(mem.source(0));
    assert_eq!(h.policy(), PolicyKind::FirstFit);
    let p = h.alloc(100, 8).unwrap();
    h.check().unwrap();
    // SAFETY: just allocated.
    unsafe { h.free(p) };
    assert_all_free(&mut h);
}

// ---------------------------------------------------------------------------
// Growth that is not contiguous.

fn gapped_growth<P: Policy>(kind: PolicyKind) {
    for gap in [PAGE, 3 * PAGE, WASM_PAGE] {
        let mem = Mem::new(16 << 20, 0x5A);
        let mut m = Model::new(heap::<P>(&mem, kind, gap), &mem, 96);
        // Mostly small blocks, now and then one bigger than a growth step.
        for i in 0..96 {
            let size = if i % 16 == 15 { 100_000 + i * 1000 } else { 500 + (i * 331) % 9000 };
            m.alloc(i, size, 1 << (i % 8));
        }
        let s = m.heap.stats();
        assert!(s.segments > 1, "gapped growth must start new segments (gap {gap}): {s:?}");
        // Free every other one, then grow some of the rest across segments.
        for i in (0..96).step_by(2) {
            m.free(i);
        }
        for i in (1..96).step_by(4) {
            m.realloc(i, 70_000);
        }
        // New requests are served from the holes and from new segments.
        for i in (0..96).step_by(2) {
            m.alloc(i, 2000 + i * 10, 16);
        }
        assert!(m.heap.stats().segments >= s.segments);
        m.free_all();
    }
}

#[test]
fn gapped_growth_every_policy() {
    each_policy!(gapped_growth);
}

// ---------------------------------------------------------------------------
// Out of memory, impossible requests.

/// (size, align) pairs that must be refused on any heap: impossible sizes,
/// alignments above `MAX_ALIGN` or that are not powers of two (including
/// those below the granule, which the inlined fast path must refuse too).
fn impossible() -> Vec<(usize, usize)> {
    let mut v = vec![
        (MAX_SIZE + 1, 1),
        (MAX_SIZE + 1, GRANULE),
        (MAX_SIZE + 1, 4096),
        (usize::MAX, 1),
        (usize::MAX, 8),
        (usize::MAX - GRANULE, 16),
        (usize::MAX - HEADER, 8),
        (usize::MAX / 2, 8),
        (u32::MAX as usize, 8),
        (16, MAX_ALIGN * 2),
        (16, MAX_ALIGN + GRANULE),
        (16, 1 << (usize::BITS - 1)),
        (16, usize::MAX),
        (MAX_SIZE, MAX_ALIGN * 2),
        (16, GRANULE * 3),
        (16, 4097),
        (16, 4096 + 2048),
        (16, MAX_ALIGN - 1),
    ];
    v.push((usize::MAX, usize::MAX));
    for align in (0..=2 * GRANULE).filter(|a| !a.is_power_of_two()) {
        v.push((16, align));
        v.push((1, align));
    }
    v
}

/// A free block of this many bytes serves `alloc(size, align)` wherever it
/// lies (the policies' contract), so running out of memory is only right
/// when the largest free block is smaller.
fn worst_case<P: Policy>(size: usize, align: usize) -> usize {
    Request::new(size, align, GRANULE, round_up(P::MIN_BLOCK, GRANULE)).worst_case()
}

/// Every refused request leaves the heap exactly as it was.
#[track_caller]
fn assert_refused<P: Policy>(h: &mut Lean<P>, reqs: &[(usize, usize)]) {
    for &(size, align) in reqs {
        let before = h.stats();
        assert_eq!(h.alloc(size, align), None, "alloc({size:#x}, {align:#x}) must fail ({:?})", h.policy());
        assert_eq!(h.stats(), before, "refused alloc({size:#x}, {align:#x}) changed the heap");
        h.check().unwrap();
    }
}

fn out_of_memory<P: Policy>(kind: PolicyKind) {
    const LEN: usize = 256 * 1024;
    let mem = Mem::new(LEN, 0xEE);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 1024);
    assert_refused(&mut m.heap, &impossible());
    assert_eq!(m.heap.stats(), Stats::default(), "refused requests took memory");

    // Fill the region until an allocation fails.
    let sizes = [24, 700, 3000, 130, 9000, 56, 1500];
    let mut n = 0;
    let mut requested = 0;
    let failed = loop {
        let size = sizes[n % sizes.len()];
        let before = m.heap.stats();
        let Some(p) = m.heap.alloc(size, 8) else {
            assert!(before.largest_free < worst_case::<P>(size, 8), "alloc({size}) failed with a free block of {} bytes", before.largest_free);
            break size;
        };
        m.next_id += 1;
        let l = Live { ptr: p, size, align: 8, seed: m.next_id as u8 };
        m.add(l, 0);
        m.slots[n] = Some(l);
        m.step();
        requested += size;
        n += 1;
        assert!(n < m.slots.len(), "a 256 KiB region never ran out");
    };
    assert!(requested > LEN / 2, "only {requested} of {LEN} bytes served before running out ({kind:?})");
    m.heap.check().unwrap();
    let s = m.heap.stats();
    assert_eq!(s.segments, 1, "{s:?}");
    assert!(s.heap_bytes <= LEN && s.heap_bytes > LEN - WASM_PAGE, "{s:?}");

    // Out of memory now: failing again changes nothing.
    for size in [failed, 4 * failed, LEN, MAX_SIZE] {
        let before = m.heap.stats();
        assert!(before.largest_free < worst_case::<P>(size, 8), "{before:?}");
        assert_eq!(m.heap.alloc(size, 8), None, "{size} bytes in a full heap");
        assert_eq!(m.heap.stats(), before);
        m.heap.check().unwrap();
    }
    assert_refused(&mut m.heap, &impossible());

    // A realloc that cannot be served leaves the block and its bytes.
    let victim = (0..n).find(|&i| m.slots[i].unwrap().size == 3000).unwrap();
    let old = m.slots[victim].unwrap();
    // SAFETY: live.
    let usable = unsafe { m.heap.usable_size(old.ptr) };
    for new_size in [LEN, 8 * 3000, MAX_SIZE, MAX_SIZE + 1, usize::MAX] {
        let before = m.heap.stats();
        // SAFETY: a live payload allocated with (3000, 8).
        assert_eq!(unsafe { m.heap.realloc(old.ptr, old.size, new_size, 8) }, None, "realloc to {new_size} in a full heap");
        assert_eq!(m.heap.stats(), before, "a failed realloc to {new_size} changed the heap");
        // SAFETY: still live.
        assert_eq!(unsafe { m.heap.usable_size(old.ptr) }, usable);
        verify(old.ptr, old.seed, 0, old.size);
        m.step();
    }

    // Freeing a block at least as big makes the failed request succeed.
    let i = (0..n).rev().find(|&i| i != victim && m.slots[i].unwrap().size >= failed).unwrap();
    m.free(i);
    m.alloc(i, failed, 8);
    // And a realloc that shrinks always succeeds: in place when it keeps
    // more than half (to less it may move to a free block that fits).
    m.realloc(victim, 2000);
    assert_eq!(m.slots[victim].unwrap().ptr, old.ptr);
    m.realloc(victim, 100);
    m.free_all();
    assert_eq!(m.heap.stats().segments, 1);
}

#[test]
fn out_of_memory_every_policy() {
    each_policy!(out_of_memory);
}

/// Impossible requests on a heap with live and free blocks of all sizes.
fn impossible_requests<P: Policy>(kind: PolicyKind) {
    let mem = Mem::new(4 << 20, 0x11);
    let mut m = Model::new(heap::<P>(&mem, kind, PAGE), &mem, 64);
    for i in 0..64 {
        m.alloc(i, 16 + i * 700, 1 << (i % 13));
    }
    for i in (0..64).step_by(3) {
        m.free(i);
    }
    assert_refused(&mut m.heap, &impossible());
    // Resizing to an impossible size fails and keeps the block.
    for i in (1..64).step_by(3) {
        let l = m.slots[i].unwrap();
        for new_size in [MAX_SIZE + 1, usize::MAX, usize::MAX - 7] {
            let before = m.heap.stats();
            // SAFETY: live, allocated with (l.size, l.align).
            assert_eq!(unsafe { m.heap.realloc(l.ptr, l.size, new_size, l.align) }, None);
            assert_eq!(m.heap.stats(), before);
            m.step();
        }
    }
    m.free_all();
}

#[test]
fn impossible_requests_every_policy() {
    each_policy!(impossible_requests);
}

/// `MAX_SIZE` and `MAX_ALIGN` themselves are accepted (not refused as bad
/// arguments): out of memory in a small region, served when memory allows.
fn limits<P: Policy>(kind: PolicyKind) {
    let mem = Mem::new(2 << 20, 0x77);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 8);
    let before = m.heap.stats();
    assert_eq!(m.heap.alloc(MAX_SIZE, 8), None, "MAX_SIZE in 2 MiB");
    assert_eq!(m.heap.stats(), before);
    m.alloc(0, 1, MAX_ALIGN);
    m.alloc(1, 3 * MAX_ALIGN, MAX_ALIGN);
    m.alloc(2, 8, 1);
    m.alloc(3, 5000, MAX_ALIGN);
    m.realloc(0, 200_000);
    m.free_all();
}

#[test]
fn limits_every_policy() {
    each_policy!(limits);
}

/// A realloc that must move, in a region too small for the new block: it
/// fails and the old block keeps its bytes; with room it moves and copies.
fn realloc_oom<P: Policy>(kind: PolicyKind) {
    const LEN: usize = 256 * 1024;
    let mem = Mem::new(LEN, 0x99);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
    m.alloc(0, 100_000, 8);
    m.alloc(1, 100, 8); // right after 0: no in-place growth
    let a = m.slots[0].unwrap();
    // SAFETY: live.
    let usable = unsafe { m.heap.usable_size(a.ptr) };
    // SAFETY: live, allocated with (100_000, 8).
    assert_eq!(unsafe { m.heap.realloc(a.ptr, a.size, 200_000, 8) }, None, "200 KB more in a 256 KiB region");
    // SAFETY: still live.
    assert_eq!(unsafe { m.heap.usable_size(a.ptr) }, usable);
    verify(a.ptr, a.seed, 0, a.size);
    m.step();
    // Room for a moved copy of 120 KB: it moves (block 1 is in the way).
    m.realloc(0, 120_000);
    assert_ne!(m.slots[0].unwrap().ptr, a.ptr);
    m.free_all();
}

#[test]
fn realloc_oom_every_policy() {
    each_policy!(realloc_oom);
}

/// The documented in-place cases: shrinking, and growing into a free
/// successor; and growing past a used successor moves.
fn realloc_in_place<P: Policy>(kind: PolicyKind) {
    let mem = Mem::new(1 << 20, 0x42);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
    m.alloc(0, 1000, 8);
    m.alloc(1, 3000, 8);
    m.alloc(2, 500, 8);
    let (a, b) = (m.slots[0].unwrap(), m.slots[1].unwrap());
    // SAFETY: live.
    let (ua, ub) = unsafe { (m.heap.usable_size(a.ptr), m.heap.usable_size(b.ptr)) };
    assert_eq!(b.ptr.addr().get(), a.ptr.addr().get() + ua + HEADER, "blocks in order from a fresh heap");
    m.free(1);
    // Grows into the freed successor, all of it or part of it.
    m.realloc(0, ua + 1000);
    assert_eq!(m.slots[0].unwrap().ptr, a.ptr, "growing into a free successor stays in place");
    m.realloc(0, ua + ub + HEADER);
    assert_eq!(m.slots[0].unwrap().ptr, a.ptr, "growing over the whole free successor stays in place");
    assert_eq!(m.heap.stats().live_blocks, 2);
    // Shrinks in place to more than half; the tail becomes free.
    let free_before = m.heap.stats().free_bytes;
    let kept = (ua + ub) * 2 / 3;
    m.realloc(0, kept);
    assert_eq!(m.slots[0].unwrap().ptr, a.ptr);
    assert!(m.heap.stats().free_bytes > free_before);
    // Block 0 is now followed by a free block, then the used block 2:
    // growing into the free block stays in place (at most twice its size,
    // for every policy); growing past both must move.
    m.realloc(0, kept + 100);
    assert_eq!(m.slots[0].unwrap().ptr, a.ptr);
    m.realloc(0, ua + ub + 1000);
    assert_ne!(m.slots[0].unwrap().ptr, a.ptr, "block 2 is in the way");
    m.free_all();
}

/// A block shrinking to half its size or less moves to a free block that
/// fits (one search of a policy with a fast index: segregated, best and
/// worst fit; never growing the heap), so the large run it sat in comes
/// free whole; with nothing free to take, for first and next fit, or in
/// the size build, it shrinks in place. Either way the bytes stay.
fn realloc_shrinking_to_half<P: Policy>(kind: PolicyKind) {
    let mem = Mem::new(1 << 20, 0x44);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
    m.alloc(0, 64, 8);
    m.alloc(1, 20_000, 8);
    m.alloc(2, 64, 8);
    let big = m.slots[1].unwrap().ptr;
    m.realloc(1, 500);
    let moved = m.slots[1].unwrap().ptr != big;
    let fast_index = matches!(kind, PolicyKind::Segregated | PolicyKind::BestFit | PolicyKind::WorstFit);
    assert_eq!(moved, fast_index && cfg!(not(feature = "small")), "{kind:?}: moved {moved}");
    if moved {
        // The 20 KB run came free whole, between the two small blocks.
        assert!(m.heap.stats().largest_free >= 20_000, "{:?}", m.heap.stats());
    }
    // A free block after it takes the tail in place: one free run, no copy.
    let mem = Mem::new(1 << 20, 0x46);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
    m.alloc(0, 64, 8);
    m.alloc(1, 20_000, 8);
    let at = m.slots[1].unwrap().ptr;
    m.realloc(1, 500);
    assert_eq!(m.slots[1].unwrap().ptr, at, "{kind:?}: the free tail after it takes the rest");
    let s = m.heap.stats();
    assert_eq!((s.free_blocks, s.largest_free), (1, s.free_bytes), "{kind:?}: one free run");
    // Nothing free to take in a heap that could grow: in place, no growth.
    let mem = Mem::new(1 << 20, 0x47);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
    m.alloc(0, 20_000, 8);
    m.alloc(1, 64, 8);
    m.alloc(2, m.heap.stats().largest_free - HEADER, 8);
    let (at, before) = (m.slots[0].unwrap().ptr, m.heap.stats().heap_bytes);
    m.realloc(0, 100);
    assert_eq!(m.slots[0].unwrap().ptr, at, "{kind:?}: nothing free, so in place");
    assert_eq!(m.heap.stats().heap_bytes, before, "{kind:?}: a shrink grew the heap");
    // Nothing free to take: fill the heap, then shrink in place.
    let mem = Mem::new(PAGE * 16, 0x45);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
    m.alloc(0, PAGE * 16 - 1024, 8);
    m.alloc(1, m.heap.stats().largest_free - HEADER, 8);
    assert_eq!(m.heap.stats().free_blocks, 0, "the heap is full");
    let at = m.slots[0].unwrap().ptr;
    m.realloc(0, 100);
    assert_eq!(m.slots[0].unwrap().ptr, at, "{kind:?}: nothing free, so in place");
}

#[test]
fn realloc_shrinking_to_half_every_policy() {
    each_policy!(realloc_shrinking_to_half);
}

#[test]
fn realloc_in_place_every_policy() {
    each_policy!(realloc_in_place);
}

/// Growing a block whose neighbours are free: the previous one, the next
/// one, both, one too small, a previous one whose payload is not aligned
/// as the block must be; contents, alignment and the heap stay right.
fn realloc_between_free_neighbours<P: Policy>(kind: PolicyKind) {
    for align in [1, 16, 64, 4096] {
        for (prev, next, grow) in [(true, false, 600), (true, false, 1100), (false, true, 600), (true, true, 1500), (true, true, 2600), (true, true, 5000), (true, false, 40)] {
            let mem = Mem::new(1 << 20, 0x6B);
            let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 5);
            // [guard][before 1000][block 500][after 700][guard]
            m.alloc(0, 64, 8);
            m.alloc(1, 1000, 8);
            m.alloc(2, 500, align);
            m.alloc(3, 700, 8);
            m.alloc(4, 64, 8);
            if prev {
                m.free(1);
            }
            if next {
                m.free(3);
            }
            let before = m.heap.stats();
            m.realloc(2, 500 + grow);
            let after = m.heap.stats();
            assert_eq!(after.live_blocks, before.live_blocks);
            // Shrink again and grow back: the neighbours have changed.
            m.realloc(2, 200);
            m.realloc(2, 500 + 2 * grow);
            m.free_all();
        }
    }
}

#[test]
fn realloc_between_free_neighbours_every_policy() {
    each_policy!(realloc_between_free_neighbours);
}

/// Blocks of `MAX_SIZE` bytes (about 2 GiB), over a region of zero pages
/// of which only those the heap writes are ever touched. A small block
/// first leaves a free tail, so growing for an over-aligned `MAX_SIZE`
/// block would make a free block bigger than a header can hold (the heap
/// must start a new segment instead).
#[cfg(all(target_pointer_width = "64", not(miri)))]
fn huge_blocks<P: Policy>(kind: PolicyKind) {
    use heaplab::block::MAX_BLOCK;
    let Some(mem) = Mem::zeroed(3 * MAX_BLOCK) else {
        eprintln!("huge_blocks: skipped, the system refused a {} GiB region", (3 * MAX_BLOCK) >> 30);
        return;
    };
    let mut h = heap::<P>(&mem, kind, 0);
    let mut live = Vec::new();
    for (i, (size, align)) in [(100, 8), (MAX_SIZE, MAX_ALIGN), (MAX_SIZE, 8), (100, 4096), (100, MAX_ALIGN), (MAX_SIZE / 3, 16)].into_iter().enumerate() {
        let p = h.alloc(size, align).unwrap_or_else(|| panic!("alloc({size:#x}, {align:#x}) ({kind:?}): {:?}", h.stats()));
        assert_eq!(p.addr().get() % align, 0);
        // SAFETY: live.
        assert!(unsafe { h.usable_size(p) } >= size);
        assert!(mem.contains(p.addr().get(), size));
        let seed = i as u8 + 1;
        // SAFETY: the payload has `size` bytes.
        unsafe {
            p.write(seed);
            p.add(size - 1).write(!seed);
        }
        live.push((p, size, seed));
        h.check().unwrap_or_else(|e| panic!("after alloc({size:#x}, {align:#x}) ({kind:?}): {e}"));
        let s = h.stats();
        assert_eq!(s.live_blocks, live.len());
        assert_stats_consistent(&s);
    }
    assert_refused(&mut h, &impossible());
    for &(p, size, seed) in &live {
        // SAFETY: the payload has `size` bytes.
        unsafe { assert_eq!((p.read(), p.add(size - 1).read()), (seed, !seed)) };
    }
    // Free the huge ones first, then the rest.
    live.sort_by_key(|&(_, size, _)| std::cmp::Reverse(size));
    for (p, _, _) in live {
        // SAFETY: live, freed once.
        unsafe { h.free(p) };
        h.check().unwrap();
    }
    assert_all_free(&mut h);
}

#[test]
#[cfg(all(target_pointer_width = "64", not(miri)))]
fn huge_blocks_every_policy() {
    each_policy!(huge_blocks);
}

// ---------------------------------------------------------------------------
// GlobalLeanHeap through GlobalAlloc.

/// Checks a pointer from `GlobalAlloc` and fills it.
#[track_caller]
fn got(mem: &Mem, p: *mut u8, layout: Layout, seed: u8) -> NonNull<u8> {
    let p = NonNull::new(p).unwrap_or_else(|| panic!("{layout:?} not served"));
    assert_eq!(p.addr().get() % layout.align(), 0, "{layout:?} misaligned at {p:p}");
    assert!(mem.contains(p.addr().get(), layout.size()), "{layout:?} outside the region");
    fill(p, seed, 0, layout.size());
    p
}

fn global_alloc<P: Policy + Send>(kind: PolicyKind) {
    const LEN: usize = 1 << 20;
    let mem = Mem::new(LEN, 0xFF);
    let g: GlobalLeanHeap<FixedRegion, P> = GlobalLeanHeap::new(heap::<P>(&mem, kind, 0));
    let used = || g.with(|h| h.stats().live_blocks);
    // SAFETY: every pointer given back came from `g` with the layout used.
    unsafe {
        let l1 = Layout::from_size_align(100, 8).unwrap();
        let a = got(&mem, g.alloc(l1), l1, 1);

        // alloc_zeroed zeroes even over memory just dirtied.
        let l2 = Layout::from_size_align(5000, 64).unwrap();
        let dirty = got(&mem, g.alloc(l2), l2, 2);
        g.dealloc(dirty.as_ptr(), l2);
        for layout in [l2, Layout::from_size_align(4000, 8).unwrap(), Layout::from_size_align(1, 1).unwrap()] {
            let z = g.alloc_zeroed(layout);
            assert!(!z.is_null());
            assert!(std::slice::from_raw_parts(z, layout.size()).iter().all(|&b| b == 0), "alloc_zeroed({layout:?}) not zeroed");
            g.dealloc(z, layout);
        }

        // realloc grows and shrinks keeping the bytes (and the alignment).
        let l3 = Layout::from_size_align(300, 256).unwrap();
        let b = got(&mem, g.alloc(l3), l3, 3);
        let b2 = g.realloc(b.as_ptr(), l3, 20_000);
        let b2 = NonNull::new(b2).expect("realloc to 20 KB");
        assert_eq!(b2.addr().get() % 256, 0, "realloc lost the alignment");
        verify(b2, 3, 0, 300);
        fill(b2, 3, 300, 20_000);
        let l3b = Layout::from_size_align(20_000, 256).unwrap();
        let b3 = NonNull::new(g.realloc(b2.as_ptr(), l3b, 15_000)).expect("realloc shrinking");
        assert_eq!(b3, b2, "shrinking to more than half stays in place");
        let l3c = Layout::from_size_align(15_000, 256).unwrap();
        let b3 = NonNull::new(g.realloc(b3.as_ptr(), l3c, 50)).expect("realloc shrinking");
        assert_eq!(b3.addr().get() % 256, 0, "realloc lost the alignment");
        verify(b3, 3, 0, 50);
        assert_eq!(used(), 2);

        // Over-aligned up to MAX_ALIGN; above it, null and nothing changed.
        let l4 = Layout::from_size_align(10, MAX_ALIGN).unwrap();
        let c = got(&mem, g.alloc(l4), l4, 4);
        let before = g.with(|h| h.stats());
        for layout in [
            Layout::from_size_align(10, MAX_ALIGN * 2).unwrap(),
            Layout::from_size_align(MAX_SIZE + 1, 8).unwrap(),
            Layout::from_size_align(isize::MAX as usize - 4095, 4096).unwrap(),
        ] {
            assert!(g.alloc(layout).is_null(), "{layout:?} served");
            assert!(g.alloc_zeroed(layout).is_null(), "{layout:?} served zeroed");
            assert_eq!(g.with(|h| h.stats()), before);
        }

        // Out of memory: null, and a failed realloc keeps the block.
        let big = Layout::from_size_align(2 * LEN, 8).unwrap();
        assert!(g.alloc(big).is_null());
        assert!(g.realloc(a.as_ptr(), l1, 2 * LEN).is_null());
        verify(a, 1, 0, 100);
        assert_eq!(used(), 3);
        g.with(|h| h.check()).unwrap();

        g.dealloc(a.as_ptr(), l1);
        g.dealloc(b3.as_ptr(), Layout::from_size_align(50, 256).unwrap());
        g.dealloc(c.as_ptr(), l4);
    }
    // SAFETY: every allocation is freed; the check frees nothing more.
    unsafe { g.with_mut(|h| assert_all_free(h)) }.expect("not in use");
}

#[test]
fn global_alloc_every_policy() {
    each_policy!(global_alloc);
}

const STATIC_LEN: usize = if cfg!(miri) { 1 << 20 } else { 8 << 20 };

#[repr(C, align(4096))]
struct StaticRegion([u8; STATIC_LEN]);

static mut STATIC_REGION: StaticRegion = StaticRegion([0; STATIC_LEN]);

// SAFETY: STATIC_REGION is used by nothing else.
static GLOBAL: GlobalLeanHeap<FixedRegion, Segregated> = unsafe { GlobalLeanHeap::fixed(&raw mut STATIC_REGION as *mut u8, STATIC_LEN) };

/// The static, `const`-built heap shared by several threads (the lock):
/// each thread's blocks keep their bytes, and everything merges back.
#[test]
fn global_static_threads() {
    let threads = if cfg!(miri) { 2 } else { 4 };
    let steps = if cfg!(miri) { 100 } else { 4000 };
    let base = (&raw const STATIC_REGION).addr();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut live: Vec<(usize, Layout, u8)> = Vec::new();
                for i in 0..steps {
                    let r = (i * 7919 + t * 104_729) % 1000;
                    if live.is_empty() || (r < 550 && live.len() < 150) {
                        let layout = Layout::from_size_align(1 + (r * 37) % 4000, 1 << (r % 10)).unwrap();
                        // SAFETY: non-zero size.
                        let p = unsafe { GLOBAL.alloc(layout) };
                        let p = NonNull::new(p).expect("static region out of memory");
                        assert_eq!(p.addr().get() % layout.align(), 0);
                        assert!(p.addr().get() >= base && p.addr().get() + layout.size() <= base + STATIC_LEN);
                        let seed = (i + t * 64) as u8;
                        fill(p, seed, 0, layout.size());
                        live.push((p.addr().get(), layout, seed));
                    } else if r < 750 {
                        let (p, layout, seed) = live.swap_remove(r % live.len());
                        let p = NonNull::new(p as *mut u8).unwrap();
                        verify(p, seed, 0, layout.size());
                        let new_size = 1 + (r * 53) % 9000;
                        // SAFETY: allocated by GLOBAL with `layout`.
                        let q = NonNull::new(unsafe { GLOBAL.realloc(p.as_ptr(), layout, new_size) }).expect("realloc");
                        verify(q, seed, 0, layout.size().min(new_size));
                        fill(q, seed, 0, new_size);
                        live.push((q.addr().get(), Layout::from_size_align(new_size, layout.align()).unwrap(), seed));
                    } else {
                        let (p, layout, seed) = live.swap_remove(r % live.len());
                        let p = NonNull::new(p as *mut u8).unwrap();
                        verify(p, seed, 0, layout.size());
                        // SAFETY: allocated by GLOBAL with `layout`.
                        unsafe { GLOBAL.dealloc(p.as_ptr(), layout) };
                    }
                }
                for (p, layout, seed) in live {
                    let p = NonNull::new(p as *mut u8).unwrap();
                    verify(p, seed, 0, layout.size());
                    // SAFETY: allocated by GLOBAL with `layout`.
                    unsafe { GLOBAL.dealloc(p.as_ptr(), layout) };
                }
            });
        }
    });
    // SAFETY: the threads are done and freed all they allocated; the
    // check only merges free blocks.
    unsafe {
        GLOBAL.with_mut(|h| {
            assert_eq!(h.policy(), PolicyKind::Segregated);
            assert_all_free(h);
            assert_eq!(h.stats().segments, 1);
        })
    }
    .expect("not in use");
}

/// A block growing to more than twice its size: best fit places it again,
/// in the smallest hole that holds it (`Policy::place_growing_again`); the
/// other policies extend it into the free block after it.
fn realloc_growing_twice<P: Policy>(kind: PolicyKind) {
    let mem = Mem::new(1 << 20, 0x17);
    let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 5);
    m.alloc(0, 1000, 8);
    m.alloc(1, 5000, 8);
    m.alloc(2, 500, 8);
    m.alloc(3, 3000, 8);
    m.alloc(4, 500, 8);
    let (a, hole) = (m.slots[0].unwrap().ptr, m.slots[3].unwrap().ptr);
    m.free(1);
    m.free(3);
    m.realloc(0, 2500);
    let at = m.slots[0].unwrap().ptr;
    if m.heap.policy() == PolicyKind::BestFit {
        assert_eq!(at, hole, "best fit: the 3000-byte hole, the smallest that holds 2500 bytes");
    } else {
        assert_eq!(at, a, "{:?}: grows into the 5000-byte hole after it", m.heap.policy());
    }
    m.free_all();
}

#[test]
fn realloc_growing_twice_every_policy() {
    each_policy!(realloc_growing_twice);
}

/// A moving realloc never copies to a destination 16 bytes past the source
/// modulo 4 KiB (a slow `memcpy` distance on AMD Zen): neither to a free
/// block found there (it takes another one) nor by sliding into a free
/// block before it (it moves instead).
#[cfg(not(feature = "small"))]
fn realloc_avoids_slow_copy_distance<P: Policy>(kind: PolicyKind) {
    let slow = |to: NonNull<u8>, from: NonNull<u8>| to.addr().get().wrapping_sub(from.addr().get()) % 4096 == 16;
    // (sizes of blocks 0..4 from a fresh heap, the block to free, the
    // block to grow, its new size)
    let cases = [
        // Moving: [A 1200][filler][X 3000, freed][guard], X's payload 4112
        // bytes past A's; every policy but worst fit would pick X.
        ([1200, 4096 + 16 - round_up(1200 + HEADER, GRANULE) - HEADER, 3000, 64], 2, 0, 2500),
        // Sliding: [guard][P, a 4080-byte block, freed][A 1200][guard]:
        // sliding A down into P would copy to 4080 bytes before it.
        ([64, 4080 - HEADER, 1200, 64], 1, 2, 4000),
    ];
    for (sizes, freed, grown, new_size) in cases {
        let mem = Mem::new(1 << 20, 0x5C);
        let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 4);
        for (slot, size) in sizes.into_iter().enumerate() {
            m.alloc(slot, size, 8);
        }
        let (a, x) = (m.slots[grown].unwrap().ptr, m.slots[freed].unwrap().ptr);
        assert!(slow(x, a), "the block to free sits at the slow distance");
        m.free(freed);
        m.realloc(grown, new_size);
        let to = m.slots[grown].unwrap().ptr;
        assert!(to != a && to != x && !slow(to, a), "{kind:?}: moved to {to:p}, not {x:p}");
        m.free_all();
    }
}

// The size build (feature `small`) leaves the steering out.
#[cfg(not(feature = "small"))]
#[test]
fn realloc_avoids_slow_copy_distance_every_policy() {
    each_policy!(realloc_avoids_slow_copy_distance);
}

/// The slow copy distance is avoided only with a block free right now:
/// never by growing the heap, and a realloc whose only room is at that
/// distance still succeeds there (sliding or moving).
fn slow_copy_distance_never_costs_memory<P: Policy>(kind: PolicyKind) {
    // (sizes of blocks 0..4, the block to free, the block to grow, its new
    // size); block 4 then takes the rest of the segment, so the only free
    // block is the freed one, at the slow distance; the region has room
    // to grow.
    let cases = [
        ([1200, 4096 + 16 - round_up(1200 + HEADER, GRANULE) - HEADER, 3000, 64], 2, 0, 2500),
        ([64, 4080 - HEADER, 1200, 64], 1, 2, 4000),
    ];
    for (sizes, freed, grown, new_size) in cases {
        let mem = Mem::new(1 << 20, 0x5E);
        let mut m = Model::new(heap::<P>(&mem, kind, 0), &mem, 5);
        for (slot, size) in sizes.into_iter().enumerate() {
            m.alloc(slot, size, 8);
        }
        m.alloc(4, m.heap.stats().largest_free - HEADER, 8);
        let x = m.slots[freed].unwrap().ptr;
        m.free(freed);
        let before = m.heap.stats().heap_bytes;
        m.realloc(grown, new_size);
        assert_eq!(m.slots[grown].unwrap().ptr, x, "{kind:?}: the only room, slow or not");
        assert_eq!(m.heap.stats().heap_bytes, before, "{kind:?}: grew the heap to avoid a slow copy");
        m.free_all();
    }
}

#[test]
fn slow_copy_distance_never_costs_memory_every_policy() {
    each_policy!(slow_copy_distance_never_costs_memory);
}

/// `free_sized` takes the allocation's size, or any smaller one, as a
/// hint only: each frees the same block and leaves a sound heap.
#[test]
fn free_sized_takes_any_smaller_size() {
    let mem = Mem::new(1 << 20, 0x33);
    let mut h = heap::<Segregated>(&mem, PolicyKind::Segregated, 0);
    let sizes = [100, 5000, 300, 20_000, 1];
    let ps: Vec<_> = sizes.into_iter().map(|s| h.alloc(s, 8).unwrap()).collect();
    for (p, hint) in ps.into_iter().zip([100, 1, 299, 0, 1]) {
        // SAFETY: `p` came from this heap and is freed once; the hint is
        // at most its size.
        unsafe { h.free_sized(p, hint) };
        h.check().unwrap();
    }
    h.flush();
    assert_eq!(h.stats().live_blocks, 0);
    assert_eq!(h.stats().free_blocks, 1, "everything merged back into one block");
}

/// In debug builds `free_sized` checks its contract: a size above the
/// allocation's is caught before anything is read or freed.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "free_sized with a size above the allocation's")]
fn free_sized_checks_its_size_in_debug_builds() {
    let mem = Mem::new(1 << 20, 0x34);
    let mut h = heap::<Segregated>(&mem, PolicyKind::Segregated, 0);
    let p = h.alloc(100, 8).unwrap();
    // SAFETY: deliberately breaks the size contract; the debug check stops
    // it before anything is read through the guess or freed.
    unsafe { h.free_sized(p, 10_000) };
}

/// `with` releases the global heap's lock when its closure panics: the
/// heap serves the next allocation instead of waiting forever.
#[test]
fn with_releases_the_lock_on_panic() {
    let mem = Mem::new(1 << 20, 0);
    let g: GlobalLeanHeap<FixedRegion, Segregated> = GlobalLeanHeap::new(heap::<Segregated>(&mem, PolicyKind::Segregated, 0));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.with(|_| panic!("inside with"))));
    assert!(r.is_err());
    let layout = Layout::from_size_align(64, 8).unwrap();
    // SAFETY: a valid layout; the block is freed with it right after.
    unsafe {
        let p = g.alloc(layout);
        assert!(!p.is_null(), "the lock was released");
        g.dealloc(p, layout);
    }
    assert_eq!(g.with(|h| h.stats().live_blocks), 0);
}

/// A steady load whose requests are now and then aligned above the
/// granule (up to 2 KiB, as the benchmark's draw: 8 << (trailing zeros of
/// a 16-bit number) / 2): the heap reaches its size and stays there. Until
/// segregated fit looked at the blocks below an over-aligned request's
/// worst case, such requests took the end of the heap and it grew without
/// bound (2,000 live blocks: 448 KiB after 100,000 replacements, 576 KiB
/// after 800,000 and still growing; now 320 KiB throughout).
#[cfg(not(feature = "small"))] // the size build searches by worst case only
#[test]
fn over_aligned_requests_keep_the_heap_bounded() {
    const LIVE: usize = 2000;
    let mem = Mem::new(16 << 20, 0xA5);
    let mut h: Lean<Segregated> = heap(&mem, PolicyKind::Segregated, 0);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut draw = move || {
        let r = next();
        let size = 1 + (r % 200) as usize;
        let align = (8usize << (((r >> 32) as u16).trailing_zeros() / 2)).min(MAX_ALIGN);
        (size, align)
    };
    let mut live: Vec<(NonNull<u8>, usize)> = Vec::with_capacity(LIVE);
    for _ in 0..LIVE {
        let (size, align) = draw();
        live.push((h.alloc(size, align).expect("room"), size));
    }
    let mut heap_after = Vec::new();
    for round in 0..8 {
        for i in 0..100_000 {
            let slot = (i * 7919 + round * 31) % LIVE;
            let (p, size) = live[slot];
            // SAFETY: `p` is live, allocated with at least `size` bytes.
            unsafe { h.free_sized(p, size) };
            let (size, align) = draw();
            let q = h.alloc(size, align).expect("room");
            assert!(q.as_ptr().addr().is_multiple_of(align), "payload aligned to {align}");
            live[slot] = (q, size);
        }
        heap_after.push(h.stats().heap_bytes);
    }
    h.check().unwrap();
    // Once warm, at most one more wasm page over the last 600,000 actions.
    assert!(heap_after[7] <= heap_after[1] + WASM_PAGE, "the heap kept growing: {heap_after:?} bytes after each 100,000 replacements");
}
