//! The wilderness: the free block that ends the heap is taken only when no
//! other free block holds a request (best fit and segregated fit, on both
//! faces of the engine), so a hole in the middle is reused before the
//! heap's end moves out.

use crate::common::{Region, TestHeap};
use heaplab::heap::{Config, Heap};
use heaplab::lean::LeanHeap;
use heaplab::pages::FixedRegion;
use heaplab::policy::{BestFit, Policy, Segregated};
use heaplab::stats::Stats;
use std::ptr::NonNull;

/// The two faces behind one interface: allocate, free, the figures.
pub(crate) trait Face {
    fn alloc(&mut self, size: usize) -> usize;
    fn free(&mut self, p: usize, size: usize);
    fn stats(&self) -> Stats;
    fn check(&self);
}

impl<P: Policy> Face for Heap<FixedRegion, P> {
    fn alloc(&mut self, size: usize) -> usize {
        Heap::alloc(self, size, 8).unwrap().as_ptr().addr()
    }
    fn free(&mut self, p: usize, _: usize) {
        Heap::free(self, std::ptr::with_exposed_provenance_mut(p)).unwrap();
    }
    fn stats(&self) -> Stats {
        Heap::stats(self)
    }
    fn check(&self) {
        Heap::check(self).unwrap();
    }
}

impl<P: Policy> Face for LeanHeap<FixedRegion, P> {
    fn alloc(&mut self, size: usize) -> usize {
        LeanHeap::alloc(self, size, 8).unwrap().as_ptr().expose_provenance()
    }
    fn free(&mut self, p: usize, size: usize) {
        // SAFETY: `p` came from `alloc` with `size` bytes and is live.
        unsafe { self.free_sized(NonNull::new(std::ptr::with_exposed_provenance_mut(p)).unwrap(), size) }
    }
    fn stats(&self) -> Stats {
        LeanHeap::stats(self)
    }
    fn check(&self) {
        LeanHeap::check(self).unwrap();
    }
}

/// A hole of `hole` bytes, a fence after it, and a wilderness of about
/// 3,000 bytes after a filler; returns the hole's payload address and the
/// fence's.
fn hole_and_wilderness(h: &mut dyn Face, hole: usize) -> (usize, usize) {
    let a = h.alloc(hole);
    let fence = h.alloc(24);
    // Everything free is now the block that ends the heap.
    let end = h.stats().largest_free;
    let filler = end - 3_000;
    h.alloc(filler);
    h.free(a, hole);
    h.check();
    (a, fence)
}

#[cfg(not(feature = "small"))]
fn reuses_the_hole_first(h: &mut dyn Face, name: &str) {
    // Best fit by size alone would take the ~3,000-byte block at the end
    // for 2,500 bytes; the 8,000-byte hole is taken instead.
    let (a, fence) = hole_and_wilderness(h, 8_000);
    let p = h.alloc(2_500);
    assert_eq!(p, a, "{name}: 2,500 bytes come from the hole, not from the end of the heap");
    let q = h.alloc(2_500);
    assert!(q < fence, "{name}: the hole's rest serves the next request too");
    h.check();
}

fn takes_the_wilderness_last(h: &mut dyn Face, name: &str) {
    // The 1,000-byte hole cannot hold 2,500 bytes: the end of the heap can.
    let (_, fence) = hole_and_wilderness(h, 1_000);
    let span = h.stats().heap_bytes;
    let p = h.alloc(2_500);
    assert!(p > fence, "{name}: 2,500 bytes come from the end of the heap");
    assert_eq!(h.stats().heap_bytes, span, "{name}: without growing the heap");
    h.check();
}

pub(crate) fn checked<P: Policy>() -> TestHeap<P> {
    TestHeap::<P>::new(1 << 20, Config::DEFAULT)
}

pub(crate) fn lean<P: Policy>(r: &Region) -> LeanHeap<FixedRegion, P> {
    LeanHeap::new(r.source())
}

/// Runs `case` on best fit and segregated fit, on both faces.
fn on_both_faces(case: fn(&mut dyn Face, &str)) {
    case(&mut checked::<BestFit>().heap, "checked best fit");
    case(&mut checked::<Segregated>().heap, "checked segregated fit");
    let r = Region::new(1 << 20);
    case(&mut lean::<BestFit>(&r), "lean best fit");
    let r = Region::new(1 << 20);
    case(&mut lean::<Segregated>(&r), "lean segregated fit");
}

#[cfg(not(feature = "small"))] // the size build keeps no wilderness
#[test]
fn a_hole_is_reused_before_the_end_of_the_heap() {
    on_both_faces(reuses_the_hole_first);
}

#[test]
fn the_end_of_the_heap_serves_what_no_hole_holds() {
    on_both_faces(takes_the_wilderness_last);
}

/// The wilderness is listed last, in a list of its own, and counted as a
/// free block; first fit keeps none.
#[cfg(not(feature = "small"))] // the size build keeps no wilderness
#[test]
fn the_wilderness_is_a_list_of_its_own() {
    let mut t = checked::<BestFit>();
    let (a, _) = hole_and_wilderness(&mut t.heap, 8_000);
    let mut lists: Vec<(usize, usize, usize)> = Vec::new();
    t.heap.free_lists(|l, b| lists.push((l.index, l.max, b)));
    let last = *lists.last().unwrap();
    assert_eq!((last.0, last.1), (1, 0), "the wilderness is list 1, of max size 0: {lists:?}");
    assert!(last.2 > a, "the wilderness is the block at the end: {lists:?}");
    assert_eq!(lists.len(), t.heap.stats().free_blocks, "every free block is listed once");
    let mut t = checked::<heaplab::policy::FirstFit>();
    hole_and_wilderness(&mut t.heap, 8_000);
    let mut n = 0;
    t.heap.free_lists(|l, _| {
        assert_eq!(l.index, 0, "first fit has one list");
        n += 1;
    });
    assert_eq!(n, t.heap.stats().free_blocks);
}
