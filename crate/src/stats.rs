//! Counters, utilization and fragmentation.
//!
//! The heap keeps its counters up to date in O(1) per operation. [`Stats`]
//! is a snapshot built from them by [`Heap::stats`](crate::heap::Heap::stats);
//! only `largest_free` (and so `external_fragmentation`) needs a walk over the
//! blocks, which `stats()` does (O(blocks)).

/// Incremental counters (kept by the heap, checked by `check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Sum of requested sizes of live allocations.
    pub live_requested: usize,
    /// Peak of `live_requested` since creation or reset.
    pub peak_live_requested: usize,
    /// Sum of sizes of used arena blocks (headers and padding included).
    pub used_bytes: usize,
    /// Bytes of the page runs of large objects.
    pub large_bytes: usize,
    /// Sum of sizes of free arena blocks.
    pub free_bytes: usize,
    /// Live allocations (arena blocks and large objects).
    pub live_blocks: usize,
    /// Free arena blocks.
    pub free_blocks: usize,
    /// Pages owned by arenas.
    pub arena_pages: usize,
    /// Pages owned by large objects.
    pub large_pages: usize,
    /// Number of arenas.
    pub arenas: usize,
    /// Peak of pages in use (arena + large + meta) × 4 KiB.
    pub high_water_mark: usize,
    /// Blocks examined by the last operation.
    pub last_examined: usize,
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
    /// Bytes in free blocks of arenas.
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
    /// Live allocations.
    pub live_blocks: usize,
    /// Free blocks in arenas.
    pub free_blocks: usize,
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
