//! Test regions and helpers shared by the suites.

use heaplab::heap::{BlockInfo, Config, Heap};
use heaplab::pages::{FixedRegion, PageOwner};
use heaplab::policy::Policy;
use std::alloc::{alloc_zeroed, dealloc, Layout};

/// A zeroed, 4 KiB-aligned region, freed on drop.
pub struct Region {
    ptr: *mut u8,
    len: usize,
}

impl Region {
    pub fn new(len: usize) -> Self {
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc_zeroed(Layout::from_size_align(len, 4096).unwrap()) };
        assert!(!ptr.is_null(), "test region allocation failed");
        Region { ptr, len }
    }

    /// A source over the whole region.
    ///
    /// The caller keeps `self` alive as long as the heap (see [`TestHeap`]).
    pub fn source(&self) -> FixedRegion {
        // SAFETY: the region is zeroed, exclusively used by this source, and
        // outlives it (TestHeap drops the heap first).
        unsafe { FixedRegion::new(self.ptr, self.len) }
    }

    /// A source that skips `gap` bytes between growth steps.
    pub fn source_with_gap(&self, gap: usize) -> FixedRegion {
        // SAFETY: as in `source`.
        unsafe { FixedRegion::with_gap(self.ptr, self.len, gap) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, Layout::from_size_align(self.len, 4096).unwrap()) }
    }
}

/// A heap and the region under it (the heap is dropped first).
pub struct TestHeap<P: Policy> {
    pub heap: Heap<FixedRegion, P>,
    _region: Region,
}

impl<P: Policy> TestHeap<P> {
    pub fn new(len: usize, config: Config) -> Self {
        let region = Region::new(len);
        TestHeap { heap: Heap::new(region.source(), config), _region: region }
    }

    pub fn with_gap(len: usize, gap: usize, config: Config) -> Self {
        let region = Region::new(len);
        TestHeap { heap: Heap::new(region.source_with_gap(gap), config), _region: region }
    }
}

/// Everything observable about a heap's state, for "unchanged" checks.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub blocks: Vec<BlockInfo>,
    pub pages: Vec<(usize, PageOwner)>,
    pub counts: [usize; 9],
}

pub fn snapshot<P: Policy>(h: &Heap<FixedRegion, P>) -> Snapshot {
    let s = h.stats();
    Snapshot {
        blocks: h.blocks().collect(),
        pages: h.pages().collect(),
        counts: [
            s.live_requested,
            s.allocated_bytes,
            s.free_bytes,
            s.largest_free,
            s.pages_in_use,
            s.heap_bytes,
            s.live_blocks,
            s.free_blocks,
            s.arenas,
        ],
    }
}

/// After everything was freed: no used block, every arena is one free
/// block, and a large object as big as the largest free page run (plus
/// the cached arena) can be allocated.
pub fn assert_all_free<P: Policy>(h: &mut Heap<FixedRegion, P>) {
    h.sweep();
    h.check().unwrap();
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_requested, s.allocated_bytes), (0, 0, 0), "{s:?}");
    assert_eq!(s.free_blocks, s.arenas, "each arena must be one free block: {s:?}");
    assert!(s.arenas <= 1, "empty arenas go back to the page layer: {s:?}");
    // The longest run of pages that are free or owned by the empty arena.
    let mut best = 0;
    let mut run = 0;
    let mut last_end = 0;
    for (addr, o) in h.pages() {
        if addr != last_end {
            run = 0;
        }
        last_end = addr + 4096;
        if matches!(o, PageOwner::Free | PageOwner::ArenaHead | PageOwner::Arena) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    if best >= 2 {
        let size = (best - 1) * 4096;
        let p = h.alloc(size, 8).expect("a block as big as the free pages must fit after freeing everything");
        h.check().unwrap();
        h.free(p.as_ptr()).unwrap();
        h.check().unwrap();
    }
}
