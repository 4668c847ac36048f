//! Heaplab: a heap allocator you can watch.
//!
//! Module wiring only; see each module's docs.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod pages;
pub mod block;
pub mod policy;
pub mod heap;
pub mod events;
pub mod stats;
pub mod check;
pub mod global;

#[cfg(feature = "bindings")]
pub mod wasm;
