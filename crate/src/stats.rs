//! The figures: one [`Stats`] for both faces of the engine.
//!
//! The block figures (blocks and bytes used, quick and free, the largest
//! free block) come from the engine's walk over every block
//! ([`Engine::figures`](crate::engine::Engine::figures), O(blocks)); the
//! checked face adds what only it keeps in O(1) per operation (requested
//! bytes and their peak, pages, the high-water mark, blocks examined,
//! operations). [`LeanHeap::stats`](crate::lean::LeanHeap::stats) leaves
//! those 0.

use crate::engine::Figures;

/// The checked face's incremental counters (checked by `check` against
/// its walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Sum of requested sizes of live allocations.
    pub live_requested: usize,
    /// Peak of `live_requested` since creation or reset.
    pub peak_live_requested: usize,
    /// Live large objects.
    pub large_blocks: usize,
    /// Pages owned by arenas.
    pub arena_pages: usize,
    /// Pages owned by large objects.
    pub large_pages: usize,
    /// Number of arenas.
    pub arenas: usize,
    /// Peak of pages in use (arena + large + meta) × 4 KiB.
    pub high_water_mark: usize,
    /// The operation that examined free blocks last, as its index in
    /// `operations` (`NO_OP`: none, or a flush since): only a search
    /// writes it, so an operation that examines nothing (a quick block,
    /// a free) stores nothing here, and the figure "examined by the last
    /// operation" is `last_examined` when that operation is the last one.
    pub examining_op: u64,
    /// Blocks `examining_op` examined.
    pub last_examined: u64,
    /// Blocks examined over all operations.
    pub total_examined: u64,
    /// `(examining_op, last_examined, total_examined)` before the current
    /// operation's first search: what a failed operation puts back.
    pub examined_before: (u64, u64, u64),
    /// Public operations that succeeded (a failed one changes no figure).
    pub operations: u64,
}

/// [`Counters::examining_op`] when no operation has examined a block.
pub(crate) const NO_OP: u64 = u64::MAX;

impl Counters {
    /// Nothing counted yet.
    pub(crate) const NEW: Counters = Counters {
        live_requested: 0,
        peak_live_requested: 0,
        large_blocks: 0,
        arena_pages: 0,
        large_pages: 0,
        arenas: 0,
        high_water_mark: 0,
        examining_op: NO_OP,
        last_examined: 0,
        total_examined: 0,
        examined_before: (NO_OP, 0, 0),
        operations: 0,
    };

    /// The current operation (the `operations`-th) examined `n` blocks.
    #[inline(always)]
    pub(crate) fn examined(&mut self, n: usize) {
        if self.examining_op != self.operations {
            self.examined_before = (self.examining_op, self.last_examined, self.total_examined);
            self.examining_op = self.operations;
            self.last_examined = 0;
        }
        self.last_examined += n as u64;
        self.total_examined += n as u64;
    }

    /// The current operation failed: its searches are not counted.
    #[inline(always)]
    pub(crate) fn unexamine(&mut self) {
        if self.examining_op == self.operations {
            (self.examining_op, self.last_examined, self.total_examined) = self.examined_before;
        }
    }

    /// Blocks the last operation examined.
    pub(crate) fn last_op_examined(&self) -> u64 {
        if self.operations > 0 && self.examining_op == self.operations - 1 {
            self.last_examined
        } else {
            0
        }
    }
}

/// A snapshot of the heap's numbers.
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Sum of the requested sizes of live allocations.
    pub live_requested: usize,
    /// Peak of `live_requested`.
    pub peak_live_requested: usize,
    /// Bytes in used blocks, headers and padding included (large objects
    /// count their whole page run).
    pub allocated_bytes: usize,
    /// Bytes in free blocks.
    pub free_bytes: usize,
    /// Size of the largest free block (0 if none). Computed by a walk.
    pub largest_free: usize,
    /// `1 − largest_free / free_bytes`, 0 when nothing is free.
    pub external_fragmentation: f64,
    /// Malloc-lab utilization: `peak_live_requested / high_water_mark`
    /// (0 before any memory is in use).
    pub utilization: f64,
    /// Pages in use: arena + large-object + metadata pages.
    pub pages_in_use: usize,
    /// Bytes over all segments (memory obtained from the source).
    pub heap_bytes: usize,
    /// Peak of `pages_in_use × 4 KiB`: the heap's high-water mark.
    pub high_water_mark: usize,
    /// Live allocations (used blocks, not counting quick blocks; large
    /// objects included).
    pub live_blocks: usize,
    /// Free blocks.
    pub free_blocks: usize,
    /// Freed blocks waiting on the quick lists (used blocks to the
    /// allocator, free to the program; merged by a flush).
    pub quick_blocks: usize,
    /// Bytes of quick blocks.
    pub quick_bytes: usize,
    /// Number of arenas.
    pub arenas: usize,
    /// Number of segments.
    pub segments: usize,
    /// Blocks examined by the last operation's search.
    pub last_examined: usize,
    /// Blocks examined over all operations.
    pub total_examined: u64,
    /// Operations that succeeded (a failed one changes no figure).
    pub operations: u64,
}

impl Stats {
    /// The block figures of a walk, every other figure 0.
    pub fn from_figures(f: &Figures) -> Stats {
        Stats {
            allocated_bytes: f.used_bytes,
            free_bytes: f.free_bytes,
            largest_free: f.largest_free,
            external_fragmentation: if f.free_bytes == 0 { 0.0 } else { 1.0 - f.largest_free as f64 / f.free_bytes as f64 },
            live_blocks: f.used_blocks,
            free_blocks: f.free_blocks,
            quick_blocks: f.quick_blocks,
            quick_bytes: f.quick_bytes,
            ..Stats::default()
        }
    }
}
