//! Unit tests of the checked face.

extern crate std;
use super::*;
use crate::pages::{PageOwner, WASM_PAGE, PAGE};
use crate::pages::FixedRegion;
use crate::policy::{FirstFit, NextFit};
use std::alloc::{alloc_zeroed, dealloc, Layout};

/// A zeroed, page-aligned test region, freed on drop.
struct Region(*mut u8, usize);
impl Region {
    fn new(len: usize) -> Self {
        // SAFETY: non-zero size.
        let p = unsafe { alloc_zeroed(Layout::from_size_align(len, 4096).unwrap()) };
        assert!(!p.is_null());
        Region(p, len)
    }
    fn source(&self) -> FixedRegion {
        // SAFETY: the region outlives the heap in every test below.
        unsafe { FixedRegion::new(self.0, self.1) }
    }
}
impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.0, Layout::from_size_align(self.1, 4096).unwrap()) }
    }
}

const LEN: usize = if cfg!(miri) { 4 * WASM_PAGE } else { 16 * WASM_PAGE };

fn basic<P: Policy>(coalesce: Coalesce) {
    let r = Region::new(LEN);
    let mut h: Heap<_, P> = Heap::new(r.source(), Config { coalesce, ..Config::DEFAULT });
    let mut ptrs = [ptr::null_mut(); 24];
    for (i, p) in ptrs.iter_mut().enumerate() {
        let q = h.alloc(1 + i * 13, 1 << (i % 8)).unwrap();
        assert_eq!(q.as_ptr().addr() % (1 << (i % 8)), 0);
        // SAFETY: the payload has at least 1 + i*13 bytes.
        unsafe { q.as_ptr().write_bytes(i as u8, 1 + i * 13) };
        *p = q.as_ptr();
        h.check().unwrap();
    }
    for (i, &p) in ptrs.iter().enumerate().step_by(2) {
        // SAFETY: still live.
        assert_eq!(unsafe { p.read() }, i as u8);
        h.free(p).unwrap();
        h.check().unwrap();
    }
    let big = h.realloc(ptrs[1], 3000).unwrap();
    // SAFETY: realloc keeps the old bytes.
    assert_eq!(unsafe { big.as_ptr().add(13).read() }, 1);
    ptrs[1] = big.as_ptr();
    h.check().unwrap();
    for &p in ptrs.iter().skip(1).step_by(2) {
        h.free(p).unwrap();
        h.check().unwrap();
    }
    h.sweep();
    h.check().unwrap();
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_requested, s.allocated_bytes), (0, 0, 0));
    assert!(s.free_blocks <= 1, "everything merged: {s:?}");
}

#[test]
fn basic_first_fit() {
    basic::<FirstFit>(Coalesce::Immediate);
    basic::<FirstFit>(Coalesce::Deferred);
}

#[test]
fn basic_next_fit() {
    basic::<NextFit>(Coalesce::Immediate);
    basic::<NextFit>(Coalesce::Deferred);
}

#[test]
fn errors_are_distinct_and_harmless() {
    let r = Region::new(LEN);
    let mut h: Heap<_> = Heap::new(r.source(), Config::DEFAULT);
    let a = h.alloc(64, 8).unwrap().as_ptr();
    let b = h.alloc(64, 8).unwrap().as_ptr();
    let c = h.alloc(64, 8).unwrap().as_ptr();
    h.free(b).unwrap();
    h.free(a).unwrap(); // merges b into a: b's header is now stale
    let before = h.stats();
    assert_eq!(h.free(a), Err(AllocError::DoubleFree));
    assert_eq!(h.free(b), Err(AllocError::DoubleFree));
    assert_eq!(h.free(c.wrapping_add(16)), Err(AllocError::InteriorPointer));
    assert_eq!(h.free(c.wrapping_add(3)), Err(AllocError::InteriorPointer));
    assert_eq!(h.alloc(0, 8), Err(AllocError::InvalidSize));
    assert_eq!(h.alloc(8, 3), Err(AllocError::InvalidAlign));
    assert_eq!(h.alloc(8, 8192), Err(AllocError::InvalidAlign));
    assert_eq!(h.calloc(usize::MAX, 2), Err(AllocError::InvalidSize));
    assert_eq!(h.realloc(b, 10), Err(AllocError::DoubleFree));
    let after = h.stats();
    assert_eq!((before.live_blocks, before.free_bytes, before.allocated_bytes), (after.live_blocks, after.free_bytes, after.allocated_bytes));
    h.check().unwrap();
}

#[test]
fn large_objects_and_arenas_return_pages() {
    let r = Region::new(LEN);
    let mut h: Heap<_> = Heap::new(r.source(), Config { large_min: 8192, ..Config::DEFAULT });
    let l = h.alloc(20_000, 4096).unwrap();
    assert_eq!(l.as_ptr().addr() % 4096, 0);
    assert_eq!(h.page_owner(l.as_ptr().addr() - 8), Some(PageOwner::LargeHead));
    h.check().unwrap();
    h.free(l.as_ptr()).unwrap();
    assert_eq!(h.page_owner(l.as_ptr().addr()), Some(PageOwner::Free));
    assert_eq!(h.free(l.as_ptr()), Err(AllocError::DoubleFree));
    h.check().unwrap();
    // Two arenas; free all: only one (cached) arena remains.
    // A large object right after the first arena keeps it from extending.
    let mut a: std::vec::Vec<_> = (0..2).map(|_| h.alloc(7000, 8).unwrap()).collect();
    let l = h.alloc(20_000, 8).unwrap();
    a.extend((0..6).map(|_| h.alloc(7000, 8).unwrap()));
    assert!(h.stats().arenas >= 2);
    h.free(l.as_ptr()).unwrap();
    for p in a {
        h.free(p.as_ptr()).unwrap();
        h.check().unwrap();
    }
    assert_eq!(h.stats().arenas, 1);
}

#[test]
fn segments_from_gapped_growth() {
    let r = Region::new(LEN);
    // SAFETY: the region outlives the heap.
    let src = unsafe { FixedRegion::with_gap(r.0, r.1, PAGE) };
    let mut h: Heap<_, NextFit> = Heap::new(src, Config { coalesce: Coalesce::Deferred, ..Config::DEFAULT });
    let mut v = std::vec::Vec::new();
    while h.stats().segments < 2 {
        v.push(h.alloc(3000, 16).unwrap());
    }
    h.check().unwrap();
    for p in v {
        h.free(p.as_ptr()).unwrap();
    }
    h.sweep();
    h.check().unwrap();
    assert!(h.stats().arenas <= 1);
}

#[test]
fn overflow_into_next_header_is_detected() {
    let r = Region::new(LEN);
    let mut h: Heap<_> = Heap::new(r.source(), Config::DEFAULT);
    let a = h.alloc(24, 8).unwrap();
    let _b = h.alloc(24, 8).unwrap();
    let usable = h.usable_size(a.as_ptr()).unwrap();
    // SAFETY: deliberately corrupts the heap's own memory (the next header).
    unsafe { a.as_ptr().add(usable).write_bytes(0x41, 4) };
    assert!(h.check().is_err());
}

#[test]
fn a_write_inside_a_live_payload_keeps_the_heap_trusted_one_past_it_does_not() {
    let r = Region::new(LEN);
    let mut h: Heap<_, FirstFit> = Heap::new(r.source(), Config::DEFAULT);
    let a = h.alloc(40, 8).unwrap().as_ptr().addr();
    let b = h.alloc(40, 8).unwrap().as_ptr().addr();
    let big = h.alloc(100_000, 8).unwrap().as_ptr().addr();
    // Inside a payload, anywhere in it (a large object's too): no walk needed.
    h.write(a, &[7; 40]).unwrap();
    h.write(big + 99_000, &[1; 1000]).unwrap();
    assert!(h.integrity == Integrity::Kept, "payload writes keep the heap trusted");
    // Over the end of a's block, into b's header: the next operation walks first.
    let a_end = b - HEADER;
    h.write(a_end - 4, &[0xff; 8]).unwrap();
    assert!(h.integrity == Integrity::Written, "a write over a header must be checked");
    assert_eq!(h.alloc(8, 8).err(), Some(AllocError::CorruptHeap));
}
