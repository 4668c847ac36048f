// The crate's documentation is its README (crate/README.md), so that
// crates.io and docs.rs show the same text and its examples run as doctests.
// How the modules fit together:
//
// A `no_std` allocator core in two layers: the page layer (`pages`) obtains
// memory from a `pages::PageSource` and hands out runs of 4 KiB pages; the
// block layer is one `engine`: blocks with boundary tags (`block`) split and
// merged, quick lists, realloc in place, by sliding or by moving, a fit
// `policy` choosing which free block serves each request. The engine has two
// faces: `Heap` (the playground's: arenas of pages, large objects, a live
// bitmap that validates every free, counters and `events`) and
// `lean::LeanHeap` (the global allocator's: segments only, trusting frees as
// `GlobalAlloc` allows). The `global` adapters make either a
// `#[global_allocator]`.
//
// Beside them, the kernel's allocators: `buddy`, a buddy page allocator
// (blocks of 2^k pages, split and merged with their buddy), and over it
// `slab`, a kernel heap of slab caches and `kmalloc`.
#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod errors;
pub mod pages;
pub mod block;
pub mod policy;
pub mod engine;
pub mod heap;
pub mod events;
pub mod stats;
pub mod global;
pub mod lean;
pub mod buddy;
pub mod slab;
pub mod machine;

/// The integrity walk's error, where it has always been importable from.
pub mod check {
    pub use crate::errors::CheckError;
}


pub use errors::{AllocError, CheckError};
pub use heap::{BlockInfo, Coalesce, Config, Heap};
pub use policy::{AnyPolicy, ListOrder, PolicyKind};
pub use stats::Stats;
