//! dlmalloc as the global allocator (its `GlobalDlmalloc`, over
//! memory.grow: the allocator of Rust's own wasm32 std).

#[global_allocator]
static DL: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

include!("../../module.rs");

// The compare page replays traces on this allocator over its own region
// (crate/peers), through these exports.
#[cfg(not(feature = "size"))]
heaplab_peers::trace_exports!(heaplab_peers::dl::Dl);
