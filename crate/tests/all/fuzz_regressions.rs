//! Regression tests for crashes the fuzz targets (`crate/fuzz/`) found, one
//! test per crash, named after what broke.

use crate::common::{assert_all_free, TestHeap};
use heaplab::heap::Config;
use heaplab::pages::{PageOwner, PAGE};
use heaplab::policy::AnyPolicy;

/// heap_ops crash 0aa6e19f: a heap of 57..62 pages got one metadata page,
/// whose capacity (rounded down to 8 entries) held only 56 page owners, so
/// the last owner bytes overlapped the live bitmap ("metadata too small
/// after a move" in debug builds, silent corruption in release).
#[test]
fn metadata_capacity_covers_57_to_62_pages() {
    for pages in 57..=62 {
        let mut t: TestHeap<AnyPolicy> = TestHeap::new(pages * PAGE, Config::DEFAULT);
        // A large object: the first growth takes the whole (short) region.
        let p = t.heap.alloc(200_000, 8).unwrap();
        assert_eq!(t.heap.stats().heap_bytes, pages * PAGE);
        let q = t.heap.alloc(100, 8).unwrap();
        t.heap.check().unwrap();
        // Every page keeps its owner and every live bit its meaning.
        let last = t.heap.pages().last().unwrap();
        assert_ne!(last.1, PageOwner::Meta);
        assert!(t.heap.is_live(p.as_ptr().addr()) && t.heap.is_live(q.as_ptr().addr()));
        t.heap.free(p.as_ptr()).unwrap();
        t.heap.free(q.as_ptr()).unwrap();
        assert_all_free(&mut t.heap);
    }
}

/// heap_ops crash 4fa91738 (immediate-mode form): a request that cannot be
/// served released the cached empty arena before failing, so the heap
/// changed although the allocation failed with `OutOfMemory`.
#[test]
fn failed_large_alloc_keeps_the_cached_arena() {
    use crate::common::snapshot;
    use heaplab::heap::{AllocError, MAX_SIZE};
    use heaplab::pages::WASM_PAGE;
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(4 * WASM_PAGE, Config::DEFAULT);
    let p = t.heap.alloc(100, 8).unwrap();
    t.heap.free(p.as_ptr()).unwrap();
    assert_eq!(t.heap.stats().arenas, 1);
    for size in [MAX_SIZE, 8 * WASM_PAGE, 4 * WASM_PAGE] {
        let before = snapshot(&t.heap);
        assert_eq!(t.heap.alloc(size, 8), Err(AllocError::OutOfMemory));
        assert_eq!(
            snapshot(&t.heap),
            before,
            "a failed alloc of {size} changed the heap"
        );
    }
    t.heap.check().unwrap();
}

/// Deferred coalescing swept before growing, even when the allocation then
/// failed: the failure changed the heap (free neighbours merged). The sweep
/// now runs only when it serves the request; both sides are checked here.
#[test]
fn deferred_oom_does_not_sweep() {
    let config = Config {
        coalesce: heaplab::heap::Coalesce::Deferred,
        max_bytes: 64 * 1024,
        ..Config::DEFAULT
    };
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(64 * 1024, config);
    let mut ptrs = Vec::new();
    while let Ok(p) = t.heap.alloc(200, 8) {
        ptrs.push(p);
    }
    // Free pairs of neighbours: adjacent free blocks stay unmerged (deferred).
    for pair in ptrs.chunks(4) {
        for p in &pair[..2] {
            t.heap.free(p.as_ptr()).unwrap();
        }
    }
    let snapshot = |h: &heaplab::Heap<_, AnyPolicy>| {
        (
            h.stats(),
            h.blocks().collect::<Vec<_>>(),
            h.pages().collect::<Vec<_>>(),
        )
    };
    let before = snapshot(&t.heap);
    // Bigger than any merged pair and than the memory left: out of memory, nothing changed.
    assert_eq!(
        t.heap.alloc(3000, 8).unwrap_err(),
        heaplab::AllocError::OutOfMemory
    );
    assert_eq!(
        snapshot(&t.heap),
        before,
        "a failed allocation swept the heap"
    );
    t.heap.check().unwrap();
    // Fits only once a pair is merged: the sweep runs and serves it.
    let p = t.heap.alloc(300, 8).unwrap();
    t.heap.check().unwrap();
    assert!(
        t.heap.stats().free_blocks < before.0.free_blocks,
        "the sweep merged free neighbours"
    );
    t.heap.free(p.as_ptr()).unwrap();
}
