//! dlmalloc as the global allocator (its `GlobalDlmalloc`, over
//! memory.grow: the allocator of Rust's own wasm32 std).

#[global_allocator]
static DL: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

include!("../../module.rs");
