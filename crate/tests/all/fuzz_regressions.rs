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

/// heap_ops crash `known-crashes/heap_ops-large-after-free-all`: with large
/// objects off (`large_min` 1 MiB), a heap of one wasm page allocated and
/// freed 25 KB; the emptied arena stayed (the cache) in the middle of the
/// free pages, and a block as big as all of them then failed with
/// `OutOfMemory`: the engine grew only into free pages, never into the
/// cache. It now releases empty arenas when that makes room, and only then.
#[test]
fn block_as_big_as_the_free_pages_fits_after_the_cache() {
    use heaplab::heap::AllocError;
    use heaplab::pages::WASM_PAGE;
    use heaplab::policy::PolicyKind;
    for &policy in PolicyKind::ALL {
        for quick_lists in [false, true] {
            let config = Config {
                policy,
                large_min: 1 << 20,
                split_min: 1791,
                align: 16,
                quick_lists,
                ..Config::DEFAULT
            };
            let mut t: TestHeap<AnyPolicy> = TestHeap::new(WASM_PAGE, config);
            let p = t.heap.alloc(25_443, 2).unwrap();
            t.heap.free(p.as_ptr()).unwrap();
            t.heap.flush();
            assert_eq!(
                t.heap.stats().arenas,
                1,
                "{policy:?}: the emptied arena is kept"
            );
            // 15 pages after the page map: a block of 14 pages fits.
            let q = t
                .heap
                .alloc(14 * PAGE, 8)
                .unwrap_or_else(|e| panic!("{policy:?}: {e:?}"));
            t.heap.check().unwrap();
            // Too big even with the cache released: fails and changes nothing.
            let before = crate::common::snapshot(&t.heap);
            assert_eq!(t.heap.alloc(15 * PAGE, 8), Err(AllocError::OutOfMemory));
            assert_eq!(crate::common::snapshot(&t.heap), before);
            t.heap.free(q.as_ptr()).unwrap();
            assert_all_free(&mut t.heap);
        }
    }
}

/// heap_ops crash a38c154e: an allocation that failed with `OutOfMemory`
/// had flushed the quick lists on its way (the freed blocks waiting there
/// became plain free blocks), so the failure changed the heap. The flush
/// now runs before growth only when it makes room for the request.
#[cfg(not(feature = "small"))] // the size build has no quick lists
#[test]
fn failed_alloc_keeps_the_quick_lists() {
    use crate::common::snapshot;
    use heaplab::heap::AllocError;
    use heaplab::pages::WASM_PAGE;
    use heaplab::policy::PolicyKind;
    for &policy in PolicyKind::ALL {
        for coalesce in [heaplab::heap::Coalesce::Immediate, heaplab::heap::Coalesce::Deferred] {
            let config = Config { policy, large_min: 1 << 20, quick_lists: true, coalesce, ..Config::DEFAULT };
            let mut t: TestHeap<AnyPolicy> = TestHeap::new(2 * WASM_PAGE, config);
            let a = t.heap.alloc(40, 8).unwrap();
            let _pin = t.heap.alloc(40, 8).unwrap();
            t.heap.free(a.as_ptr()).unwrap();
            let quick = t.heap.stats().quick_blocks;
            let before = snapshot(&t.heap);
            assert_eq!(t.heap.alloc(200_000, 8), Err(AllocError::OutOfMemory), "{policy:?}");
            assert_eq!(snapshot(&t.heap), before, "{policy:?} {coalesce:?}: the failed alloc changed the heap");
            // Best, worst and segregated fit have quick lists.
            assert_eq!(quick > 0, !matches!(policy, PolicyKind::FirstFit | PolicyKind::NextFit), "{policy:?}");
            t.heap.check().unwrap();
        }
    }
}

/// heap_ops crash 0aacfbb0: with deferred coalescing, a `realloc` that
/// failed had swept first. The sweep runs before growth only when it makes
/// a block big enough, judged by the longest run of free blocks, and that
/// run went on from the last free block of one arena into the first free
/// block of the next (another segment): two blocks that can never merge.
#[test]
fn failed_alloc_does_not_sweep_across_arenas() {
    use crate::common::snapshot;
    use heaplab::heap::{AllocError, Coalesce};
    use heaplab::pages::WASM_PAGE;
    let config = Config { coalesce: Coalesce::Deferred, large_min: 1 << 20, max_bytes: 9 * WASM_PAGE, ..Config::DEFAULT };
    // Each growth step its own segment (a gap of 2 pages between them), so
    // each arena ends where its step does.
    let mut t: TestHeap<AnyPolicy> = TestHeap::with_gap(16 * WASM_PAGE, 2 * PAGE, config);
    let a = t.heap.alloc(100_000, 8).unwrap();
    let pin = t.heap.alloc(16, 8).unwrap();
    // Two more arenas, each freed as two free blocks left unmerged.
    let b = t.heap.alloc(100_000, 8).unwrap();
    let c = t.heap.alloc(200_000, 8).unwrap();
    t.heap.free(b.as_ptr()).unwrap();
    t.heap.free(c.as_ptr()).unwrap();
    let runs: Vec<(usize, usize)> = t.heap.segments().collect();
    assert_eq!(runs.len(), 3, "three segments");
    let arena_end_free: usize = t.heap.blocks().filter(|x| !x.used && x.addr > runs[1].0 && x.addr < runs[1].0 + runs[1].1).map(|x| x.size).sum();
    let arena_start_free: usize = t.heap.blocks().filter(|x| !x.used && x.addr > runs[2].0).map(|x| x.size).sum();
    // More than either arena's free blocks hold, less than both together.
    let want = arena_start_free + arena_end_free / 2;
    let before = snapshot(&t.heap);
    assert_eq!(t.heap.alloc(want, 8), Err(AllocError::OutOfMemory), "{arena_end_free} + {arena_start_free}");
    assert_eq!(snapshot(&t.heap), before, "the failed alloc swept");
    t.heap.check().unwrap();
    // A request the sweep serves still gets it.
    let d = t.heap.alloc(arena_start_free - 64, 8).unwrap();
    t.heap.check().unwrap();
    for p in [a, pin, d] {
        t.heap.free(p.as_ptr()).unwrap();
    }
}

/// heap_ops crash (a large realloc over a gapped source): a large object
/// that ended the memory grew it to extend in place, the memory came after
/// a gap (a new segment) and the page map moved into it, so the object had
/// to move, and the move ran out of memory: the failed realloc had grown
/// the heap. Growth in place now happens only where it can succeed.
#[test]
fn failed_large_realloc_does_not_grow_the_memory() {
    use crate::common::snapshot;
    use heaplab::heap::AllocError;
    use heaplab::pages::WASM_PAGE;
    for gap in [0, 6 * PAGE] {
        let mut t: TestHeap<AnyPolicy> = TestHeap::with_gap(32 * WASM_PAGE, gap, Config::DEFAULT);
        let p = t.heap.calloc(1, 317_058).unwrap();
        let before = snapshot(&t.heap);
        // More than the region holds: fails either way.
        assert_eq!(t.heap.realloc(p.as_ptr(), 2_100_000), Err(AllocError::OutOfMemory), "gap {gap}");
        assert_eq!(snapshot(&t.heap), before, "gap {gap}: the failed realloc changed the heap");
        // Within what the region holds: succeeds, in place when the memory
        // continues the object's (the page map, which must move, goes to
        // the end of the new memory), by moving after a gap.
        let q = t.heap.realloc(p.as_ptr(), 600_000).unwrap();
        assert_eq!(q == p, gap == 0, "gap {gap}");
        t.heap.check().unwrap();
        t.heap.free(q.as_ptr()).unwrap();
        assert_all_free(&mut t.heap);
    }
}

/// The other side of `failed_alloc_keeps_the_quick_lists`: when only a
/// flush makes room (every block freed onto the quick lists, the memory
/// full), the request gets it, judged from the quick blocks' neighbours;
/// and with more quick blocks than that judgement walks, by the full walk.
#[cfg(not(feature = "small"))] // the size build has no quick lists
#[test]
fn flush_serves_a_request_only_it_makes_room_for() {
    use heaplab::heap::{AllocError, Coalesce};
    use heaplab::pages::WASM_PAGE;
    use heaplab::policy::PolicyKind;
    for (size, pages) in [(200, 1), (24, 4)] {
        for coalesce in [Coalesce::Immediate, Coalesce::Deferred] {
            let config = Config { policy: PolicyKind::Segregated, large_min: 1 << 20, quick_lists: true, coalesce, ..Config::DEFAULT };
            let mut t: TestHeap<AnyPolicy> = TestHeap::new(pages * WASM_PAGE, config);
            let mut live = Vec::new();
            while let Ok(p) = t.heap.alloc(size, 8) {
                live.push(p);
            }
            assert!(live.len() > 40, "{}", live.len());
            for p in live.drain(..) {
                t.heap.free(p.as_ptr()).unwrap();
            }
            assert!(t.heap.stats().quick_blocks > 40);
            let p = t.heap.alloc(4000, 8).unwrap_or_else(|e| panic!("{size} B blocks, {coalesce:?}: {e:?}"));
            assert_eq!(t.heap.stats().quick_blocks, 0, "flushed");
            t.heap.check().unwrap();
            assert_eq!(t.heap.alloc(pages * WASM_PAGE, 8), Err(AllocError::OutOfMemory));
            t.heap.free(p.as_ptr()).unwrap();
        }
    }
}
