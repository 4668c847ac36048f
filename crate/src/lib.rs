//! Heaplab: a heap allocator you can watch.
//!
//! A `no_std` allocator core in two layers: the **page layer** ([`pages`])
//! obtains memory in 64 KiB wasm pages from a [`pages::PageSource`] and hands
//! out runs of 4 KiB pages; the **block layer** is one [`engine`]: blocks
//! with boundary tags ([`block`]) split and merged, quick lists, realloc in
//! place, by sliding or by moving, a fit [`policy`] choosing which free block
//! serves each request.
//!
//! The engine has two faces. [`Heap`] (the playground's) gives it arenas of
//! pages, large objects from page runs, a live bitmap that validates every
//! free, counters and [`events`]; [`lean::LeanHeap`] (the global
//! allocator's) gives it only segments of memory and trusts frees as Rust's
//! `GlobalAlloc` contract allows. What the playground runs is what ships.
//! The [`global`] adapters make either a `#[global_allocator]`
//! ([`global::GlobalLeanHeap`] for speed and size, [`global::GlobalHeap`]
//! for a checked heap).
//!
//! ```
//! use heaplab::heap::{Config, Heap};
//! use heaplab::pages::FixedRegion;
//! use heaplab::policy::AnyPolicy;
//!
//! #[repr(align(4096))]
//! struct Region([u8; 1 << 18]);
//! let mut region = Box::new(Region([0; 1 << 18]));
//! // SAFETY: the region outlives the heap and nothing else uses it.
//! let src = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
//! let mut heap: Heap<_, AnyPolicy> = Heap::new(src, Config::DEFAULT);
//! let p = heap.alloc(100, 8).unwrap();
//! assert!(heap.usable_size(p.as_ptr()).unwrap() >= 100);
//! heap.free(p.as_ptr()).unwrap();
//! assert_eq!(heap.free(p.as_ptr()).unwrap_err().code(), "double-free");
//! heap.check().unwrap();
//! ```
#![no_std]
#![warn(missing_docs)]
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

/// The integrity walk's error, where it has always been importable from.
pub mod check {
    pub use crate::errors::CheckError;
}


pub use errors::{AllocError, CheckError};
pub use heap::{BlockInfo, Coalesce, Config, Heap};
pub use policy::{AnyPolicy, ListOrder, PolicyKind};
pub use stats::Stats;
