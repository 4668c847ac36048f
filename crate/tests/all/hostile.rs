//! Hostile input through the Rust API, on every policy, both coalescing
//! modes and both granules, over a heap with several segments, arenas, free
//! blocks and a large object: huge sizes and alignments, addresses never
//! returned, interior pointers, headers, metadata pages, double frees,
//! realloc of freed blocks, calloc overflow, raw access out of range. Each
//! gives its own error and leaves the heap identical: stats (every figure),
//! blocks and pages, and `check()` passes.

use crate::common::TestHeap;
use heaplab::heap::{AllocError, BlockInfo, Coalesce, Config, Heap, MAX_SIZE};
use heaplab::pages::{FixedRegion, PageOwner, PAGE, WASM_PAGE};
use heaplab::policy::{AnyPolicy, PolicyKind};
use heaplab::Stats;
use AllocError::*;

type H = Heap<FixedRegion, AnyPolicy>;

#[derive(Debug, PartialEq)]
struct Full {
    stats: Stats,
    blocks: Vec<BlockInfo>,
    pages: Vec<(usize, PageOwner)>,
    segments: Vec<(usize, usize)>,
}

fn full(h: &H) -> Full {
    Full { stats: h.stats(), blocks: h.blocks().collect(), pages: h.pages().collect(), segments: h.segments().collect() }
}

/// Asserts `r` is `Err(want)` and the heap is exactly as `before`.
#[track_caller]
fn refused<T: std::fmt::Debug>(h: &H, before: &Full, want: AllocError, r: Result<T, AllocError>, what: &str) {
    assert_eq!(r.map(|_| ()), Err(want), "{what}");
    assert_eq!(&full(h), before, "{what} changed the heap");
    h.check().unwrap_or_else(|e| panic!("{what}: check failed: {e:?}"));
}

/// Live small blocks, one freed block, a freed-and-merged block, a live and a
/// freed large object, over gapped growth (two segments or more).
struct Scene {
    t: TestHeap<AnyPolicy>,
    live: Vec<(usize, usize)>,
    large: usize,
    freed: Vec<usize>,
}

fn scene(policy: PolicyKind, coalesce: Coalesce, align: usize) -> Scene {
    let config = Config { policy, coalesce, align, large_min: 16 * 1024, ..Config::DEFAULT };
    let mut t: TestHeap<AnyPolicy> = TestHeap::with_gap(32 * WASM_PAGE, PAGE, config);
    let h = &mut t.heap;
    let mut live = Vec::new();
    let mut ptrs = Vec::new();
    for i in 0..40 {
        let size = 24 + i * 37;
        ptrs.push((h.alloc(size, 8).unwrap().as_ptr(), size));
    }
    let large = h.alloc(40_000, 64).unwrap().as_ptr();
    let gone_large = h.alloc(30_000, 8).unwrap().as_ptr();
    let more = h.alloc(3000, 16).unwrap().as_ptr();
    while h.stats().segments < 2 {
        ptrs.push((h.alloc(3000, 8).unwrap().as_ptr(), 3000));
    }
    let mut freed = vec![gone_large as usize];
    h.free(gone_large).unwrap();
    // Free 3 and 4 (neighbours: 4 merges into 3 when immediate) and 10.
    for i in [3, 4, 10] {
        h.free(ptrs[i].0).unwrap();
        freed.push(ptrs[i].0 as usize);
    }
    for (i, &(p, s)) in ptrs.iter().enumerate() {
        if ![3, 4, 10].contains(&i) {
            live.push((p as usize, s));
        }
    }
    live.push((more as usize, 3000));
    // No pending sweep: a sweep on a failure path would then change nothing.
    h.sweep();
    h.check().unwrap();
    Scene { t, live, large: large as usize, freed }
}

fn each_config(f: impl Fn(Scene)) {
    for &policy in PolicyKind::ALL {
        for coalesce in [Coalesce::Immediate, Coalesce::Deferred] {
            for align in [8, 16] {
                f(scene(policy, coalesce, align));
            }
        }
    }
}

#[test]
fn huge_and_zero_sizes() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        for size in [0, MAX_SIZE + 1, usize::MAX, usize::MAX - 7, 1 << 40] {
            let r = h.alloc(size, 8);
            refused(h, &b, InvalidSize, r, &format!("alloc({size})"));
        }
        for size in [MAX_SIZE, 1 << 30, 64 * WASM_PAGE] {
            let r = h.alloc(size, 8);
            refused(h, &b, OutOfMemory, r, &format!("alloc({size})"));
        }
        let (p, _) = s.live[0];
        for size in [0, MAX_SIZE + 1, usize::MAX] {
            let r = h.realloc(p as *mut u8, size);
            refused(h, &b, InvalidSize, r, &format!("realloc(p, {size})"));
        }
        let r = h.realloc(p as *mut u8, MAX_SIZE);
        refused(h, &b, OutOfMemory, r, "realloc(p, MAX_SIZE)");
    });
}

#[test]
fn bad_alignments() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        for align in [0, 3, 6, 24, 8192, 1 << 20, 1 << 63, usize::MAX] {
            let r = h.alloc(8, align);
            refused(h, &b, InvalidAlign, r, &format!("alloc(8, {align})"));
            // Alignment is checked first, even with a bad size.
            let r = h.alloc(0, align);
            refused(h, &b, InvalidAlign, r, &format!("alloc(0, {align})"));
            let r = h.realloc_aligned(s.live[1].0 as *mut u8, 16, align);
            refused(h, &b, InvalidAlign, r, &format!("realloc_aligned(p, 16, {align})"));
        }
    });
}

#[test]
fn calloc_overflow() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        for (n, size) in [(usize::MAX, 2), (2, usize::MAX), (1 << 32, 1 << 32), (MAX_SIZE / 2 + 1, 2), (0, 8), (8, 0), (usize::MAX, usize::MAX)] {
            let r = h.calloc(n, size);
            refused(h, &b, InvalidSize, r, &format!("calloc({n}, {size})"));
        }
        let r = h.calloc(1 << 20, 1 << 10);
        refused(h, &b, OutOfMemory, r, "calloc(1M, 1K)");
    });
}

#[test]
fn addresses_never_returned() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        let local = 0u64;
        // (0 is C's NULL: `free` and `realloc` take it as C does, errors.rs.)
        let outside = [1, 8, 4096, usize::MAX, usize::MAX - 7, &raw const local as usize];
        let r = h.usable_size(std::ptr::null_mut());
        refused(h, &b, NotAllocated, r, "usable_size(NULL)");
        for a in outside {
            let r = h.free(a as *mut u8);
            refused(h, &b, NotAllocated, r, &format!("free({a:#x})"));
            let r = h.realloc(a as *mut u8, 8);
            refused(h, &b, NotAllocated, r, &format!("realloc({a:#x})"));
            let r = h.usable_size(a as *mut u8);
            refused(h, &b, NotAllocated, r, &format!("usable_size({a:#x})"));
        }
        // Headers of live blocks, and free pages at the end of each segment.
        for &(p, _) in &s.live {
            let r = h.free((p - 8) as *mut u8);
            refused(h, &b, NotAllocated, r, "free(header)");
        }
        let ends: Vec<usize> = h.segments().map(|(base, n)| base + n - 64).collect();
        for a in ends {
            if h.page_owner(a) == Some(PageOwner::Free) {
                let r = h.free(a as *mut u8);
                refused(h, &b, NotAllocated, r, "free(free page)");
            }
        }
    });
}

#[test]
fn metadata_pages() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        let meta: Vec<usize> = h.pages().filter(|p| p.1 == PageOwner::Meta).map(|p| p.0).collect();
        assert!(!meta.is_empty());
        for page in meta {
            for off in (0..PAGE).step_by(8) {
                let r = h.free((page + off) as *mut u8);
                refused(h, &b, NotAllocated, r, &format!("free(meta + {off})"));
            }
            let r = h.realloc(page as *mut u8, 8);
            refused(h, &b, NotAllocated, r, "realloc(meta)");
        }
    });
}

#[test]
fn interior_pointers() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        for &(p, size) in s.live.iter().take(6) {
            for off in 1..size {
                let r = h.free((p + off) as *mut u8);
                refused(h, &b, InteriorPointer, r, &format!("free(p + {off})"));
            }
            let r = h.realloc((p + 8) as *mut u8, 8);
            refused(h, &b, InteriorPointer, r, "realloc(p + 8)");
        }
        for off in [1, 8, 64, 4096, 39_999] {
            let r = h.free((s.large + off) as *mut u8);
            refused(h, &b, InteriorPointer, r, &format!("free(large + {off})"));
        }
        assert_ne!(InteriorPointer.to_string(), NotAllocated.to_string());
    });
}

#[test]
fn double_frees_and_realloc_of_freed_blocks() {
    each_config(|mut s| {
        let h = &mut s.t.heap;
        let b = full(h);
        // Freed blocks (one merged into its neighbour under immediate
        // coalescing) and a freed large object whose pages went back.
        for &a in &s.freed {
            let r = h.free(a as *mut u8);
            refused(h, &b, DoubleFree, r, &format!("second free of {a:#x}"));
            let r = h.realloc(a as *mut u8, 100);
            refused(h, &b, DoubleFree, r, &format!("realloc of freed {a:#x}"));
            let r = h.usable_size(a as *mut u8);
            refused(h, &b, DoubleFree, r, &format!("usable_size of freed {a:#x}"));
        }
        // Free a live one, then free it again.
        let (p, _) = s.live[5];
        h.free(p as *mut u8).unwrap();
        h.sweep();
        let b = full(h);
        let r = h.free(p as *mut u8);
        refused(h, &b, DoubleFree, r, "free after free");
    });
}

#[test]
fn raw_access_out_of_range() {
    each_config(|s| {
        let h = &s.t.heap;
        let b = full(h);
        let (base, len) = h.segments().next().unwrap();
        for (addr, n) in [(0, 1), (usize::MAX, 2), (base + len - 4, 8), (base - 1, 2), (base, usize::MAX), (usize::MAX - 3, 8)] {
            let r = h.bytes(addr, n);
            refused(h, &b, OutOfBounds, r, &format!("bytes({addr:#x}, {n})"));
        }
        assert!(h.bytes(base, len).is_ok());
    });
}

#[test]
fn every_error_has_its_own_message() {
    let all = [OutOfMemory, InvalidSize, InvalidAlign, DoubleFree, InteriorPointer, NotAllocated, OutOfBounds];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
            assert_ne!(a.to_string(), b.to_string());
        }
    }
}
