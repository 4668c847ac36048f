//! Arbitrary sequences of operations on the lean heap
//! (`LeanHeap<FixedRegion, AnyPolicy>`), with any policy kind, over a fixed
//! region (contiguous or gapped, so several segments appear).
//!
//! After every operation: `check()` passes; `stats()` counts the live
//! blocks of a model, its used bytes are exactly their usable sizes plus
//! headers, and its figures agree with each other; new payloads are
//! aligned, inside the region, overlap no live block and are at least as
//! big as asked; payload patterns survive until freed or resized; a
//! realloc within the usable size stays in place (unless it shrinks to
//! half its block or less). Impossible requests
//! (size above `MAX_SIZE`, alignment above `MAX_ALIGN` or not a power of
//! two) return `None` and change nothing; running out of memory happens
//! only when no free block could have served the request, and a failed
//! realloc leaves the old block intact. At the end everything is freed,
//! every segment must be one free block, and the largest one must serve a
//! request of its whole size without growing the heap.
//!
//! The lean heap does not validate frees (`GlobalAlloc` contract), so only
//! live payloads are ever freed or resized.
#![no_main]

use std::collections::BTreeMap;
use std::ptr::NonNull;

use arbitrary::Arbitrary;
use heaplab::block::{round_up, Request, HEADER};
use heaplab::lean::{LeanHeap, GRANULE, MAX_ALIGN, MAX_SIZE};
use heaplab::pages::{FixedRegion, PAGE, WASM_PAGE};
use heaplab::policy::{AnyPolicy, FreeIndex, PolicyKind};
use heaplab::Stats;
use libfuzzer_sys::fuzz_target;

#[path = "shared.rs"]
mod shared;
use shared::Size;

#[derive(Arbitrary, Debug)]
struct Input {
    policy: u8,
    /// Region size in wasm pages (1..=32).
    region_wasm_pages: u8,
    /// Gap between growth steps in pages (0: contiguous).
    gap_pages: u8,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    /// Alignment `1 << (align_log % 18)`: up to twice `MAX_ALIGN`.
    Alloc { size: Size, align_log: u8 },
    /// Any alignment at all.
    AllocAnyAlign { size: Size, align: u64 },
    Realloc { index: u16, size: Size },
    Free { index: u16 },
    Write { index: u16, seed: u8 },
}

#[derive(Debug, Clone, Copy)]
struct Live {
    ptr: NonNull<u8>,
    size: usize,
    align: usize,
    seed: u8,
}

type H = LeanHeap<FixedRegion, AnyPolicy>;

fn pattern(seed: u8, i: usize) -> u8 {
    seed ^ (i as u8) ^ ((i >> 8) as u8).wrapping_mul(31)
}

fn fill(l: &Live, from: usize) {
    // SAFETY: the payload has `size` bytes; the model owns it while live.
    let s = unsafe { std::slice::from_raw_parts_mut(l.ptr.as_ptr(), l.size) };
    for (i, b) in s.iter_mut().enumerate().skip(from) {
        *b = pattern(l.seed, i);
    }
}

fn verify(l: &Live, upto: usize) {
    // SAFETY: as in `fill`.
    let s = unsafe { std::slice::from_raw_parts(l.ptr.as_ptr(), upto) };
    for (i, &b) in s.iter().enumerate() {
        assert_eq!(b, pattern(l.seed, i), "payload byte {i} of {l:?} changed");
    }
}

/// Whether `alloc(size, align)` must be refused as an impossible request.
fn impossible(size: usize, align: usize) -> bool {
    size > MAX_SIZE || align > MAX_ALIGN || !align.is_power_of_two()
}

/// A free block of this many bytes serves `alloc(size, align)` wherever it
/// lies (the policies' contract).
fn worst_case(size: usize, align: usize) -> usize {
    Request::new(size, align, GRANULE, round_up(<AnyPolicy as FreeIndex>::MIN_BLOCK, GRANULE)).worst_case()
}

fn usable(h: &H, p: NonNull<u8>) -> usize {
    // SAFETY: callers pass live payloads of `h`.
    unsafe { h.usable_size(p) }
}

struct Model {
    base: usize,
    len: usize,
    live: Vec<Live>,
    /// Usable ranges of live payloads: start → end.
    ranges: BTreeMap<usize, usize>,
}

impl Model {
    fn add(&mut self, h: &H, l: Live, from: usize) {
        let a = l.ptr.as_ptr() as usize;
        assert_eq!(a % l.align.max(GRANULE), 0, "misaligned payload {l:?}");
        let u = usable(h, l.ptr);
        assert!(u >= l.size, "usable size {u} below the request {l:?}");
        assert!(a - HEADER >= self.base && a + u <= self.base + self.len, "block outside the region {l:?}");
        if let Some((&s, &e)) = self.ranges.range(..a + u).next_back() {
            assert!(e <= a || s >= a + u, "{l:?} (usable {u}) overlaps live {s:#x}..{e:#x}");
        }
        self.ranges.insert(a, a + u);
        fill(&l, from);
        self.live.push(l);
    }

    fn remove(&mut self, i: usize) -> Live {
        let l = self.live.swap_remove(i);
        self.ranges.remove(&(l.ptr.as_ptr() as usize)).expect("the model holds every live payload");
        l
    }

    fn pick(&self, index: u16) -> Option<usize> {
        (!self.live.is_empty()).then(|| index as usize % self.live.len())
    }
}

fn assert_consistent(s: &Stats) {
    let held = s.allocated_bytes + s.quick_bytes + s.free_bytes;
    assert!(held <= s.heap_bytes, "{s:?}");
    assert!(s.heap_bytes - held <= s.segments * 64, "bytes lost outside blocks: {s:?}");
    assert!(s.largest_free <= s.free_bytes, "{s:?}");
    assert_eq!(s.free_blocks == 0, s.free_bytes == 0, "{s:?}");
    assert_eq!(s.segments == 0, s.heap_bytes == 0, "{s:?}");
}

fn check_model(h: &H, m: &Model) {
    if let Err(e) = h.check() {
        panic!("check failed: {e}");
    }
    let s = h.stats();
    assert_eq!(s.live_blocks, m.live.len(), "used blocks: {s:?}");
    let used: usize = m.live.iter().map(|l| usable(h, l.ptr) + HEADER).sum();
    assert_eq!(s.allocated_bytes, used, "used bytes = usable sizes + headers: {s:?}");
    assert_consistent(&s);
}

/// An allocation failed with valid arguments: nothing live changed, and no
/// free block could have served it.
fn assert_oom(h: &H, before: &Stats, size: usize, align: usize, what: &str) {
    let after = h.stats();
    assert_eq!((after.live_blocks, after.allocated_bytes), (before.live_blocks, before.allocated_bytes), "failed {what} changed the used blocks");
    assert!(
        before.largest_free < worst_case(size, align),
        "{what}({size}, {align}) failed with a free block of {} bytes (>= {})",
        before.largest_free,
        worst_case(size, align)
    );
}

fn run(input: Input) {
    let kind = PolicyKind::ALL[input.policy as usize % PolicyKind::ALL.len()];
    let len = (input.region_wasm_pages as usize % 32 + 1) * WASM_PAGE;
    // One run at a time uses the region; any bytes (earlier runs' headers
    // and patterns) are initialized.
    let base = shared::region_base();
    let source = if input.gap_pages % 8 == 0 {
        // SAFETY: as above.
        unsafe { FixedRegion::new(base, len) }
    } else {
        // SAFETY: as above.
        unsafe { FixedRegion::with_gap(base, len, (input.gap_pages as usize % 8) * PAGE) }
    };
    let mut h: H = LeanHeap::with_policy(source, kind);
    assert_eq!(h.policy(), kind);
    let mut m = Model { base: base as usize, len, live: Vec::new(), ranges: BTreeMap::new() };
    let mut next_seed = 0u8;

    for a in &input.actions {
        match a {
            Action::Alloc { .. } | Action::AllocAnyAlign { .. } => {
                let (size, align) = match a {
                    Action::Alloc { size, align_log } => (size.get(MAX_SIZE), 1usize << (align_log % 18)),
                    Action::AllocAnyAlign { size, align } => (size.get(MAX_SIZE), *align as usize),
                    _ => unreachable!(),
                };
                let before = h.stats();
                match h.alloc(size, align) {
                    Some(p) => {
                        assert!(!impossible(size, align), "alloc({size:#x}, {align:#x}) must be refused");
                        next_seed = next_seed.wrapping_add(1);
                        m.add(&h, Live { ptr: p, size, align, seed: next_seed }, 0);
                    }
                    None if impossible(size, align) => assert_eq!(h.stats(), before, "refused alloc({size:#x}, {align:#x}) changed the heap"),
                    None => assert_oom(&h, &before, size, align, "alloc"),
                }
            }
            Action::Realloc { index, size } => {
                let Some(i) = m.pick(*index) else { continue };
                let size = size.get(MAX_SIZE);
                let old = m.live[i];
                verify(&old, old.size);
                let old_usable = usable(&h, old.ptr);
                let before = h.stats();
                // SAFETY: a live payload, allocated (or last resized) with
                // `old.size` and `old.align`.
                match unsafe { h.realloc(old.ptr, old.size, size, old.align) } {
                    Some(p) => {
                        assert!(size <= MAX_SIZE, "realloc to {size:#x} must be refused");
                        // In place, unless it shrinks to half its block
                        // or less with a fast-index policy (then it may
                        // move to a free block that fits).
                        let need = round_up(size + HEADER, GRANULE).max(round_up(AnyPolicy::MIN_BLOCK, GRANULE));
                        let fast_index = matches!(h.policy(), PolicyKind::Segregated | PolicyKind::BestFit | PolicyKind::WorstFit);
                        let may_move = fast_index && 2 * need <= old_usable + HEADER;
                        if size <= old_usable && !may_move {
                            assert_eq!(p, old.ptr, "realloc within the usable size must stay in place");
                        }
                        let old = m.remove(i);
                        let l = Live { ptr: p, size, ..old };
                        verify(&l, old.size.min(size));
                        m.add(&h, l, old.size.min(size));
                    }
                    None => {
                        if size > MAX_SIZE {
                            assert_eq!(h.stats(), before, "refused realloc to {size:#x} changed the heap");
                        } else {
                            assert_oom(&h, &before, size, old.align, "realloc");
                        }
                        assert_eq!(usable(&h, old.ptr), old_usable, "a failed realloc changed the block");
                        verify(&old, old.size);
                    }
                }
            }
            Action::Free { index } => {
                let Some(i) = m.pick(*index) else { continue };
                let l = m.remove(i);
                verify(&l, l.size);
                // SAFETY: live, freed once.
                unsafe { h.free(l.ptr) };
            }
            Action::Write { index, seed } => {
                let Some(i) = m.pick(*index) else { continue };
                verify(&m.live[i], m.live[i].size);
                m.live[i].seed = *seed;
                fill(&m.live[i], 0);
            }
        }
        check_model(&h, &m);
    }

    // Free everything (patterns intact): every segment must have merged
    // back into one free block.
    while let Some(l) = m.live.pop() {
        verify(&l, l.size);
        m.ranges.remove(&(l.ptr.as_ptr() as usize));
        // SAFETY: live, freed once.
        unsafe { h.free(l.ptr) };
    }
    check_model(&h, &m);
    // Small freed blocks wait on the quick lists; flush merges them back.
    let q = h.stats();
    assert_eq!(h.flush(), q.quick_blocks > 0, "flush reports whether it had quick blocks: {q:?}");
    check_model(&h, &m);
    let s = h.stats();
    assert_eq!(s.quick_blocks, 0, "{s:?}");
    assert_eq!((s.live_blocks, s.allocated_bytes), (0, 0), "{s:?}");
    assert_eq!(s.free_blocks, s.segments, "each segment must be one free block: {s:?}");
    if s.largest_free > 0 {
        let size = (s.largest_free - HEADER).min(MAX_SIZE);
        let p = h.alloc(size, 1).unwrap_or_else(|| panic!("the largest free block ({} bytes) did not serve {size}", s.largest_free));
        let t = h.stats();
        assert_eq!((t.segments, t.heap_bytes), (s.segments, s.heap_bytes), "the heap grew to serve {size} bytes it had");
        h.check().unwrap();
        // SAFETY: just allocated.
        unsafe { h.free(p) };
        assert_eq!(h.stats(), s, "freeing the whole block restores the heap");
        h.check().unwrap();
    }
}

fuzz_target!(|input: Input| run(input));
