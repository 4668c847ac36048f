//! Page layer, segments, large objects, arenas, events, reset.

use crate::common::{assert_all_free, TestHeap};
use heaplab::events::{Event, Recorder};
use heaplab::heap::{Config, Heap};
use heaplab::pages::{FixedRegion, PageOwner, PAGE, WASM_PAGE};
use heaplab::policy::{AnyPolicy, FirstFit};

#[test]
fn non_contiguous_growth_makes_segments() {
    let mut t: TestHeap<FirstFit> = TestHeap::with_gap(64 * WASM_PAGE, PAGE, Config::DEFAULT);
    let mut ptrs = Vec::new();
    for i in 0..200 {
        ptrs.push(t.heap.alloc(1000 + i * 10, 8).unwrap());
    }
    t.heap.check().unwrap();
    let segs: Vec<_> = t.heap.segments().collect();
    assert!(segs.len() >= 2, "growth with gaps must start new segments: {segs:?}");
    for w in segs.windows(2) {
        assert!(w[0].0 + w[0].1 < w[1].0, "segments are not contiguous");
    }
    assert_eq!(t.heap.stats().segments, segs.len());
    // Blocks of every segment are reported, in order within a segment.
    let blocks: Vec<_> = t.heap.blocks().collect();
    assert_eq!(blocks.iter().filter(|b| b.used).count(), 200);
    for p in ptrs {
        t.heap.free(p.as_ptr()).unwrap();
        t.heap.check().unwrap();
    }
    assert_all_free(&mut t.heap);
}

#[test]
fn contiguous_growth_extends_one_segment_and_moves_metadata() {
    let mut t: TestHeap<FirstFit> = TestHeap::new(64 * WASM_PAGE, Config::DEFAULT);
    let mut ptrs = Vec::new();
    for _ in 0..600 {
        ptrs.push(t.heap.alloc(3000, 8).unwrap());
    }
    t.heap.check().unwrap();
    assert_eq!(t.heap.segments().count(), 1);
    // 600 × 3 KiB > 56 pages, so the metadata had to move at least once.
    let meta: Vec<_> = t.heap.pages().filter(|p| p.1 == PageOwner::Meta).collect();
    assert!(meta[0].0 > t.heap.segments().next().unwrap().0, "metadata moved to new memory");
    for p in ptrs.iter().rev() {
        t.heap.free(p.as_ptr()).unwrap();
    }
    assert_all_free(&mut t.heap);
}

#[test]
fn large_objects_take_and_return_pages() {
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(64 * WASM_PAGE, Config::DEFAULT);
    let small = t.heap.alloc(100, 8).unwrap();
    let before = t.heap.stats().pages_in_use;
    let l = t.heap.alloc(300_000, 64).unwrap();
    assert_eq!(l.as_ptr().addr() % 64, 0);
    let s = t.heap.stats();
    let large_pages = t.heap.pages().filter(|p| matches!(p.1, PageOwner::LargeHead | PageOwner::Large)).count();
    assert_eq!(large_pages, (300_000 + 64usize).div_ceil(PAGE));
    assert!(s.pages_in_use >= before + large_pages);
    let before = s.pages_in_use - large_pages;
    assert!(t.heap.blocks().any(|b| b.large && b.used && b.payload == l.as_ptr().addr()));
    assert!(t.heap.usable_size(l.as_ptr()).unwrap() >= 300_000);
    // Realloc within its pages stays in place.
    assert_eq!(t.heap.realloc(l.as_ptr(), 300_010).unwrap(), l);
    t.heap.free(l.as_ptr()).unwrap();
    assert_eq!(t.heap.stats().pages_in_use, before);
    assert_eq!(t.heap.page_owner(l.as_ptr().addr()), Some(PageOwner::Free));
    t.heap.free(small.as_ptr()).unwrap();
    t.heap.check().unwrap();
}

#[test]
fn empty_arena_pages_go_back() {
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(64 * WASM_PAGE, Config::DEFAULT);
    let first = t.heap.alloc(100, 8).unwrap();
    let pin = t.heap.alloc(200_000, 8).unwrap(); // large object after the first arena
    let more: Vec<_> = (0..40).map(|_| t.heap.alloc(2000, 8).unwrap()).collect();
    let arenas = t.heap.stats().arenas;
    assert!(arenas >= 2);
    let pages = t.heap.stats().pages_in_use;
    for p in &more {
        t.heap.free(p.as_ptr()).unwrap();
    }
    let s = t.heap.stats();
    assert!(s.arenas < arenas && s.pages_in_use < pages, "an emptied arena must return its pages: {s:?}");
    t.heap.free(pin.as_ptr()).unwrap();
    t.heap.free(first.as_ptr()).unwrap();
    assert_all_free(&mut t.heap);
}

#[test]
fn realloc_grows_in_place_into_free_neighbour_and_pages() {
    let mut t: TestHeap<FirstFit> = TestHeap::new(64 * WASM_PAGE, Config::DEFAULT);
    let a = t.heap.alloc(100, 8).unwrap();
    let b = t.heap.alloc(100, 8).unwrap();
    t.heap.free(b.as_ptr()).unwrap();
    assert_eq!(t.heap.realloc(a.as_ptr(), 1000).unwrap(), a, "grow into the free neighbour");
    assert_eq!(t.heap.realloc(a.as_ptr(), 30_000).unwrap(), a, "grow into the arena's free pages");
    assert_eq!(t.heap.realloc(a.as_ptr(), 50).unwrap(), a, "shrink in place");
    t.heap.check().unwrap();
    assert!(t.heap.stats().free_blocks == 1);
    t.heap.free(a.as_ptr()).unwrap();
    assert_all_free(&mut t.heap);
}

#[test]
fn reset_keeps_memory_as_free_pages() {
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(64 * WASM_PAGE, Config::DEFAULT);
    for _ in 0..100 {
        t.heap.alloc(700, 16).unwrap();
    }
    let bytes = t.heap.stats().heap_bytes;
    t.heap.reset();
    t.heap.check().unwrap();
    let s = t.heap.stats();
    assert_eq!((s.heap_bytes, s.live_blocks, s.arenas), (bytes, 0, 0));
    assert!(t.heap.pages().all(|p| matches!(p.1, PageOwner::Free | PageOwner::Meta)));
    t.heap.alloc(700, 16).unwrap();
    assert_eq!(t.heap.stats().heap_bytes, bytes, "reset memory is reused before growing");
}

#[cfg(not(feature = "small"))] // the size build's one search reports no visits or choices
#[test]
fn events_tell_the_story() {
    let region = crate::common::Region::new(16 * WASM_PAGE);
    let mut h: Heap<FixedRegion, FirstFit, Recorder<256>> = Heap::with_observer(region.source(), Config::DEFAULT, Recorder::new());
    let a = h.alloc(100, 8).unwrap();
    let ev = h.observer().events();
    assert!(ev.iter().any(|e| matches!(e, Event::Grow { new_segment: true, .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::PagesTaken { owner: PageOwner::ArenaHead, .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::Choose { .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::Split { .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::MarkUsed { requested: 100, .. })));
    let b = h.alloc(100, 8).unwrap();
    h.observer_mut().clear();
    h.free(a.as_ptr()).unwrap();
    h.free(b.as_ptr()).unwrap();
    let ev = h.observer().events();
    assert!(ev.iter().filter(|e| matches!(e, Event::Merge { .. })).count() >= 2);
    h.observer_mut().clear();
    let _ = h.alloc(8, 4096);
    let _ = h.free(a.as_ptr());
    let ev = h.observer().events();
    assert!(ev.iter().any(|e| matches!(e, Event::Visit { .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::Error { code: "double-free" })));
    assert!(h.stats().last_examined <= 1);
}

#[cfg(not(feature = "small"))] // the size build's one search reports no visits or choices
#[test]
fn reject_reasons_are_reported() {
    let region = crate::common::Region::new(16 * WASM_PAGE);
    let mut h: Heap<FixedRegion, FirstFit, Recorder<256>> = Heap::with_observer(region.source(), Config::DEFAULT, Recorder::new());
    let a = h.alloc(40, 8).unwrap();
    let _keep = h.alloc(40, 8).unwrap();
    h.free(a.as_ptr()).unwrap();
    h.observer_mut().clear();
    let _ = h.alloc(500, 8).unwrap();
    assert!(h.observer().events().iter().any(|e| matches!(e, Event::Reject { reason: heaplab::events::RejectReason::TooSmall, .. })));
    assert!(h.stats().last_examined >= 2);
}

#[test]
fn global_heap_over_a_fixed_region() {
    use heaplab::global::GlobalHeap;
    use std::alloc::{GlobalAlloc, Layout};
    let region = crate::common::Region::new(16 * WASM_PAGE);
    let g = GlobalHeap::new(Heap::<_, AnyPolicy>::new(region.source(), Config::DEFAULT));
    // SAFETY: standard GlobalAlloc usage with matching layouts.
    unsafe {
        let l = Layout::from_size_align(0, 1).unwrap();
        let z = g.alloc(l);
        assert!(!z.is_null());
        g.dealloc(z, l);
        let l = Layout::from_size_align(100, 256).unwrap();
        let p = g.alloc(l);
        assert_eq!(p.addr() % 256, 0);
        p.write_bytes(7, 100);
        let q = g.realloc(p, l, 5000);
        assert_eq!(q.addr() % 256, 0);
        assert_eq!(q.add(99).read(), 7);
        g.dealloc(q, Layout::from_size_align(5000, 256).unwrap());
        assert!(g.alloc(Layout::from_size_align(8, 8192).unwrap()).is_null());
    }
    g.with(|h| h.check()).unwrap();
}

#[test]
fn check_reports_a_payload_overflow_at_the_next_header() {
    let mut t: TestHeap<FirstFit> = TestHeap::new(16 * WASM_PAGE, Config::DEFAULT);
    let a = t.heap.alloc(24, 8).unwrap();
    let b = t.heap.alloc(24, 8).unwrap();
    t.heap.check().unwrap();
    let usable = t.heap.usable_size(a.as_ptr()).unwrap();
    // SAFETY: deliberately writes past the payload into the next header, as
    // the teaching UI does; the memory belongs to the test region.
    unsafe { a.as_ptr().add(usable).write_bytes(0x41, 3) };
    let e = t.heap.check().unwrap_err();
    assert_eq!(e.addr, b.as_ptr().addr() - 8, "{e}");
    assert!(!e.to_string().is_empty());
}

#[test]
fn deferred_coalescing_leaves_neighbours_until_a_sweep() {
    use heaplab::heap::Coalesce;
    let config = Config { coalesce: Coalesce::Deferred, ..Config::DEFAULT };
    let mut t: TestHeap<FirstFit> = TestHeap::new(16 * WASM_PAGE, config);
    let ptrs: Vec<_> = (0..4).map(|_| t.heap.alloc(100, 8).unwrap()).collect();
    for p in &ptrs[..3] {
        t.heap.free(p.as_ptr()).unwrap();
    }
    t.heap.check().unwrap();
    let free_before = t.heap.stats().free_blocks;
    assert!(free_before >= 3, "free only marks: {free_before}");
    t.heap.sweep();
    t.heap.check().unwrap();
    assert_eq!(t.heap.stats().free_blocks, 2, "the sweep merged the run of three");
    t.heap.free(ptrs[3].as_ptr()).unwrap();
    assert_all_free(&mut t.heap);
}

#[test]
fn realloc_keeps_the_original_alignment() {
    let mut t: TestHeap<FirstFit> = TestHeap::new(64 * WASM_PAGE, Config::DEFAULT);
    for align in [8usize, 32, 256, 4096] {
        let p = t.heap.alloc(100, align).unwrap();
        let _pin = t.heap.alloc(8, 8).unwrap(); // no room to grow in place
        let q = t.heap.realloc(p.as_ptr(), 5000).unwrap();
        assert_eq!(q.as_ptr().addr() % align, 0, "align {align}");
        let r = t.heap.realloc(q.as_ptr(), 120_000).unwrap(); // becomes a large object
        assert_eq!(r.as_ptr().addr() % align, 0, "large, align {align}");
        let s = t.heap.realloc(r.as_ptr(), 200_000).unwrap();
        assert_eq!(s.as_ptr().addr() % align, 0, "large moved, align {align}");
        t.heap.check().unwrap();
    }
}

/// A page map that moves copies itself: it takes room to grow into (twice
/// the pages it must describe) when the source has it, and when it moves
/// out of an arena's way the memory grows by a quarter of the heap at
/// least, so that a heap growing to thousands of pages copies a bounded
/// share of its size in maps (sized exactly and moved on every third
/// growth, the copies were 40 % of the checked heap's work on the
/// malloc-lab traces). And it ends the memory: the arena runs on past
/// where it was.
#[test]
fn the_page_map_copies_a_bounded_share_of_the_heap() {
    let r = crate::common::Region::new(256 * WASM_PAGE);
    let mut h: Heap<FixedRegion, AnyPolicy, Recorder<4096>> = Heap::with_observer(r.source(), Config::DEFAULT, Recorder::new());
    let mut ptrs = Vec::new();
    let (mut moves, mut copied) = (0, 0);
    for _ in 0..3000 {
        ptrs.push(h.alloc(3000, 8).unwrap());
        for e in h.observer().events() {
            if let Event::MetaMoved { pages, .. } = e {
                moves += 1;
                copied += pages;
            }
        }
        h.observer_mut().clear();
    }
    h.check().unwrap();
    let pages = h.stats().pages_in_use;
    assert!(pages > 2000, "the heap grew to {pages} pages");
    assert!(moves <= 20 && copied * 6 <= pages, "the page map moved {moves} times, {copied} pages in all, while the heap grew to {pages} pages");
    // One arena and the map at the end: the map is not between blocks.
    let owners: Vec<PageOwner> = h.pages().map(|(_, o)| o).collect();
    let last_arena = owners.iter().rposition(|o| o.is_arena()).unwrap();
    assert!(owners[..last_arena].iter().filter(|&&o| o == PageOwner::Meta).count() == 0, "a page map between arenas");
    for p in ptrs {
        h.free(p.as_ptr()).unwrap();
    }
    h.check().unwrap();
}

/// "Blocks examined by the last operation": a search's count until the
/// next operation, 0 after an operation that searched nothing (a quick
/// block, a free) or a flush, and a failed operation changes neither it
/// nor the total; the same through the inline paths of a single-policy
/// heap and the full path of `AnyPolicy`.
#[cfg(not(feature = "small"))] // the size build's one search counts no examined blocks, and it has no quick lists
#[test]
fn the_last_operations_examined_blocks() {
    use heaplab::policy::{Policy, PolicyKind, Segregated};
    fn searches<P: Policy>() {
        let config = Config { policy: PolicyKind::FirstFit, ..Config::DEFAULT };
        let mut t: TestHeap<P> = TestHeap::new(WASM_PAGE, config);
        let h = &mut t.heap;
        // Free blocks of 48 bytes between used ones, then a request that
        // none of them holds: first fit examines each.
        let blocks: Vec<_> = (0..8).map(|_| h.alloc(40, 8).unwrap()).collect();
        for b in blocks.iter().step_by(2) {
            h.free(b.as_ptr()).unwrap();
        }
        h.flush();
        assert_eq!(h.stats().last_examined, 0, "after a flush");
        let total = h.stats().total_examined;
        let big = h.alloc(300, 8).unwrap();
        let examined = h.stats().last_examined;
        assert!(examined >= 4, "first fit looked past the four small free blocks: {examined}");
        assert_eq!(h.stats().total_examined, total + examined as u64);
        // A failed request leaves every figure as it was. (An arena
        // request, not a large object: it searches, then the memory
        // cannot grow.)
        let before = h.stats();
        assert!(60_000 + 8 + h.min_block() < Config::DEFAULT.large_min, "not a large object");
        assert_eq!(h.alloc(60_000, 8), Err(heaplab::heap::AllocError::OutOfMemory), "the region holds one wasm page");
        assert_eq!(h.stats(), before, "a failed allocation changed a figure");
        // A free examines nothing.
        h.free(big.as_ptr()).unwrap();
        assert_eq!(h.stats().last_examined, 0, "after a free");
        assert_eq!(h.stats().total_examined, total + examined as u64);
    }
    fn quick<P: Policy>() {
        let config = Config { policy: PolicyKind::Segregated, ..Config::DEFAULT };
        let mut t: TestHeap<P> = TestHeap::new(WASM_PAGE, config);
        let h = &mut t.heap;
        // (A guard after it, so that it does not join the free end.)
        let q = h.alloc(40, 8).unwrap();
        let _guard = h.alloc(40, 8).unwrap();
        h.free(q.as_ptr()).unwrap();
        let _ = h.alloc(300, 8).unwrap();
        assert_eq!(h.stats().last_examined, 1, "segregated fit's pick looks at one block");
        let _ = h.alloc(40, 8).unwrap();
        assert_eq!(h.stats().last_examined, 0, "a quick block examines no free block");
        assert_eq!(h.stats().quick_blocks, 0);
    }
    searches::<FirstFit>();
    searches::<AnyPolicy>();
    quick::<Segregated>();
    quick::<AnyPolicy>();
}

/// The checked heap as a `GlobalAlloc` (its inline resize path): a resize
/// that cannot be served, or of an address that is no allocation, returns
/// null and changes nothing — the block keeps its bytes, every figure
/// stays — and the heap serves the next request.
#[test]
fn a_failed_resize_through_global_alloc_changes_nothing() {
    use heaplab::global::GlobalHeap;
    use heaplab::policy::Segregated;
    use std::alloc::{GlobalAlloc, Layout};
    let region = crate::common::Region::new(WASM_PAGE);
    let g: GlobalHeap<FixedRegion, Segregated> = GlobalHeap::new(Heap::new(region.source(), Config::DEFAULT));
    let l = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: standard use with matching layouts, except the two
    // deliberate bad calls, which this heap validates.
    unsafe {
        let p = g.alloc(l);
        assert!(!p.is_null());
        p.write_bytes(0x5A, 100);
        let _keep = g.alloc(l);
        let before = g.with(|h| h.stats());
        assert!(g.realloc(p, l, 200_000).is_null(), "more than the region");
        assert!(g.realloc(p.add(16), l, 50).is_null(), "an interior pointer");
        assert_eq!(g.with(|h| h.stats()), before, "a failed resize changed a figure");
        assert!((0..100).all(|i| p.add(i).read() == 0x5A), "a failed resize changed the block's bytes");
        g.with(|h| h.check()).unwrap();
        let q = g.realloc(p, l, 300);
        assert!(!q.is_null() && (0..100).all(|i| q.add(i).read() == 0x5A));
        g.dealloc(q, Layout::from_size_align(300, 8).unwrap());
    }
    g.with(|h| h.check()).unwrap();
}
