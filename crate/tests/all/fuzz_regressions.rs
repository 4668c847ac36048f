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
        assert_eq!(snapshot(&t.heap), before, "a failed alloc of {size} changed the heap");
    }
    t.heap.check().unwrap();
}
