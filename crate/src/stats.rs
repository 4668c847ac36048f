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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// `total_examined` when the last operation began: that operation
    /// examined the difference. (A start, not a second count the engine
    /// adds to: the compiler added to both counts with one 16-byte load
    /// right after the 8-byte store that zeroed the first, a load that
    /// cannot be forwarded from that store; the checked heap's malloc-lab
    /// replay is 1 % faster without it.)
    pub last_op_start: u64,
    /// Blocks examined over all operations.
    pub total_examined: u64,
    /// Public operations that succeeded (a failed one changes no figure).
    pub operations: u64,
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
